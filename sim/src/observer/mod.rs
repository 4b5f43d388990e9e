//! The god's-eye view: every node reports to it synchronously after each step (the run is
//! single threaded, so this is safe and deterministic). It keeps a mirror of every replica's
//! log, the truth log (acknowledged values, lossy crashes, elections, what was ever committed),
//! the client history, message counts and the trace hash, and checks the cheap invariants
//! after every event: one leader per partition epoch, a leader's HW never decreasing within
//! its epoch, every replica's HW within its LEO and its log below the HW matching the committed
//! log, a restarted broker's log equal to what its disk was asked to keep, a consumer reading
//! only committed records, one vote per voter and term, and progress where Kafka owes it.
//! What is allowed is read from the configuration (`Rules`), never from the model's labels.

mod availability;
mod replicas;
mod votes;

pub use availability::{Availability, Health, Stall, UNAVAILABLE_FROM_MS};
pub use votes::VoteLedger;

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use ksim_model::quorum::{PersistOp, QuorumNode, QuorumObserver, RaftMessage};
use ksim_model::{
    Broker, BrokerId, Command, DiskOp, Epoch, NodeId, Note, Offset, PartitionId, Ready, Role,
    TruncateReason,
};
use serde::Serialize;

use crate::scenario::FaultAction;

/// Message counts by kind.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub messages: BTreeMap<&'static str, u64>,
    /// Error responses sent, by Kafka error name (fenced requests show up here).
    pub errors: BTreeMap<&'static str, u64>,
}

impl Stats {
    pub fn count(&mut self, kind: &'static str) {
        *self.messages.entry(kind).or_default() += 1;
    }

    pub fn error(&mut self, name: &'static str) {
        *self.errors.entry(name).or_default() += 1;
    }

    pub fn total(&self) -> u64 {
        self.messages.values().sum()
    }
}

/// The unique id a producer writes in the first 8 bytes of each value.
pub fn value_id(value: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = value.len().min(8);
    b[..n].copy_from_slice(&value[..n]);
    u64::from_be_bytes(b)
}

/// Jepsen's operation types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    Invoke,
    Ok,
    /// Definitely did not happen.
    Fail,
    /// May or may not have happened.
    Info,
}

/// One line of the client history.
#[derive(Clone, Debug, Serialize)]
pub struct Op {
    pub time_ms: u64,
    pub process: u32,
    #[serde(rename = "type")]
    pub kind: OpType,
    pub f: &'static str,
    pub value: u64,
    pub partition: PartitionId,
    pub offset: Option<Offset>,
    pub error: Option<String>,
    /// The idempotent producer's id the record was sent under (one per session); null when
    /// the producer is not idempotent.
    pub producer_id: Option<i64>,
    /// An acknowledgement's leader epoch: the epoch the answering broker led the partition in
    /// when it answered (null for everything but an `ok` with an answer). Not in the trace
    /// hash, as `producer_id` is not: it only tells what the answer carried.
    pub leader_epoch: Option<Epoch>,
    /// The broker that answered an `ok` (null otherwise, and for acks=0).
    pub broker: Option<BrokerId>,
}

/// A controller's Raft state after its last step.
#[derive(Clone, Copy, Debug)]
pub struct ControllerState {
    pub role: ksim_model::quorum::Role,
    pub term: u64,
    pub commit_index: u64,
    pub last_index: u64,
    /// How many voters make a majority.
    pub majority: usize,
}

/// A record a consumer's poll returned: which consumer (and which start of it, and which
/// generation of the group it polled in), where the record was and what it held.
#[derive(Clone, Debug, Serialize)]
pub struct Poll {
    pub time_ms: u64,
    pub consumer: u32,
    pub incarnation: u64,
    pub generation: i32,
    pub partition: PartitionId,
    pub offset: Offset,
    pub value: u64,
}

/// A violated invariant, in Kafka's words.
#[derive(Clone, Debug, Serialize)]
pub struct Violation {
    pub checker: &'static str,
    pub time_ms: u64,
    pub message: String,
}

/// One cut of a replica's log: (time, LEO before, cut to, why).
pub type LogCut = (u64, Offset, Offset, Cut);

/// Why a replica's log got shorter.
#[derive(Clone, Copy, Debug)]
pub enum Cut {
    Truncated(TruncateReason),
    PowerLoss,
}

impl Cut {
    pub fn describe(self) -> &'static str {
        match self {
            Cut::Truncated(r) => r.describe(),
            Cut::PowerLoss => "it lost power before flushing them (its page cache was gone)",
        }
    }
}

/// What the configuration allows, read from the scenario: the checkers judge losses and
/// elections by it, never by the model's own account of what it did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rules {
    /// `unclean.leader.election.enable`: only then may a replica outside the ISR lead.
    pub unclean_leader_election_enable: bool,
    /// `replica.lag.time.max.ms` + `broker.session.timeout.ms` when `acks=all`: how long a
    /// partition with a healthy majority may go without a commit; 0 for other `acks`.
    pub stall_bound_ms: u64,
}

/// What an observer keeps beyond what the checkers need. None of it enters the trace hash, so
/// a run is the same run whatever is kept.
#[derive(Clone, Copy, Debug, Default)]
pub struct Keep {
    /// `ksim explain`: a state table at every significant step.
    pub tables: bool,
    /// A run report: each replica's state over time (`Timeline`).
    pub timeline: bool,
}

/// One replica's state at a moment, for the report's timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplicaSample {
    pub time_ms: u64,
    pub alive: bool,
    pub role: Role,
    pub leo: Offset,
    pub hw: Offset,
}

/// The controllers' view of a partition from a moment on: leader, leader epoch, ISR.
pub type ControllerSample = (u64, Option<BrokerId>, Epoch, Vec<BrokerId>);

/// LEO moves with every append; sampling it this often per replica is enough to draw it.
const LEO_SAMPLE_MS: u64 = 100;

/// Each replica's state over the run, compact: a sample when its role, leader epoch, liveness
/// or HW changes, and when its LEO changed at least `LEO_SAMPLE_MS` after the last sample;
/// the controllers' view and the committed offset (the true HW) when they change.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    pub replicas: BTreeMap<(BrokerId, PartitionId), Vec<ReplicaSample>>,
    pub controller: BTreeMap<PartitionId, Vec<ControllerSample>>,
    /// (time, committed offsets) per partition.
    pub committed: BTreeMap<PartitionId, Vec<(u64, Offset)>>,
}

impl Timeline {
    fn sample(&mut self, b: BrokerId, p: PartitionId, now: u64, v: &ReplicaView) {
        let s = ReplicaSample {
            time_ms: now,
            alive: v.alive,
            role: v.role,
            leo: v.leo,
            hw: v.hw,
        };
        let series = self.replicas.entry((b, p)).or_default();
        let due = match series.last() {
            None => true,
            Some(l) => {
                (l.alive, l.role, l.hw) != (s.alive, s.role, s.hw)
                    || (l.leo != s.leo && now >= l.time_ms + LEO_SAMPLE_MS)
            }
        };
        if due {
            series.push(s);
        }
    }

    fn committed(&mut self, p: PartitionId, now: u64, offsets: usize) {
        let series = self.committed.entry(p).or_default();
        if series.last().map(|l| l.1) != Some(offsets as Offset) {
            series.push((now, offsets as Offset));
        }
    }
}

/// A fault as an interval: from its injection to the restart, resume or heal that ended it
/// (`to_ms` is None while it lasts).
#[derive(Clone, Debug)]
pub struct FaultSpan {
    pub node: NodeId,
    pub action: FaultAction,
    pub from_ms: u64,
    pub to_ms: Option<u64>,
}

/// What the observer believes about one replica.
#[derive(Clone, Debug)]
pub struct ReplicaView {
    pub role: Role,
    pub leo: Offset,
    pub hw: Offset,
    pub alive: bool,
}

#[derive(Debug, Default)]
pub struct Observer {
    trace: u64,
    pub events: u64,
    /// Simulated time of the latest event seen (where a run stopped, if it panicked).
    pub now_ms: u64,
    /// Each replica's log as (leader epoch, value id), rebuilt from its disk writes.
    pub mirrors: BTreeMap<(BrokerId, PartitionId), Vec<(Epoch, u64)>>,
    pub views: BTreeMap<(BrokerId, PartitionId), ReplicaView>,
    /// Brokers whose log ever held a value.
    pub held_by: BTreeMap<u64, BTreeSet<BrokerId>>,
    /// Brokers that lost a value in a power loss (unflushed page cache).
    pub power_lost_by: BTreeMap<u64, BTreeSet<BrokerId>>,
    /// The true HW of each partition: the HW of the leader in the latest leader epoch (the
    /// TLA+ models' `inv_trueHw`), as (leader epoch, HW).
    pub true_hw: BTreeMap<PartitionId, (Epoch, Offset)>,
    /// Values that were ever below a leader's HW at their offset.
    pub committed: BTreeSet<u64>,
    /// When each value was first below a leader's HW.
    pub committed_at: BTreeMap<u64, u64>,
    committed_marked: BTreeMap<(BrokerId, PartitionId), Offset>,
    /// Unclean elections per partition, with their time.
    pub unclean_elections: BTreeMap<PartitionId, Vec<u64>>,
    /// KIP-966 recoveries per partition: when, and the last known ELR they chose among.
    pub recoveries: BTreeMap<PartitionId, Vec<(u64, Vec<BrokerId>)>>,
    pub elections: u64,
    pub truncations: u64,
    leaders_by_epoch: BTreeMap<(PartitionId, Epoch), BrokerId>,
    pub leader_claims: u64,
    leader_hw: BTreeMap<(PartitionId, Epoch), Offset>,
    pub hw_observations: u64,
    /// The controller's view: partition -> (leader, leader epoch, ISR).
    pub controller: BTreeMap<PartitionId, (Option<BrokerId>, Epoch, Vec<BrokerId>)>,
    pub crashes: u64,
    /// Pauses injected (a stopped process that later resumes).
    pub pauses: u64,
    pub power_losses: u64,
    pub restarts: u64,
    /// Isolation faults injected (network partitions).
    pub partitions: u64,
    /// Slow and lossy link faults injected.
    pub link_faults: u64,
    /// Clock drift faults injected.
    pub clock_drifts: u64,
    /// Metadata stalls (fault `stale-metadata`) injected.
    pub metadata_stalls: u64,
    pub faults: Vec<(u64, String)>,
    /// The same faults as intervals, for drawing them.
    pub fault_spans: Vec<FaultSpan>,
    pub history: Vec<Op>,
    /// Every record a consumer's poll returned, in the order they were returned.
    pub polls: Vec<Poll>,
    /// Per partition, the offsets polled by some consumer above `drained`, the first offset no
    /// consumer has polled yet: the consumers have drained a partition when it reaches its HW.
    polled_offsets: BTreeMap<PartitionId, std::collections::BTreeSet<Offset>>,
    pub drained: BTreeMap<PartitionId, Offset>,
    pub violations: Vec<Violation>,
    /// The live controllers' Raft state as of their last step (what the availability and the
    /// stall report need; the quorum checker keeps its own copy of each log).
    pub quorum: BTreeMap<u32, ControllerState>,
    /// Kafka's RaftEventSimulationTest invariants over the quorum.
    pub quorum_checker: QuorumObserver<Command>,
    /// The highest metadata-log index whose notes were recorded (every controller applies the
    /// same commands; their notes are recorded once).
    applied_index: u64,
    /// Times a controller became the quorum leader.
    pub quorum_elections: u64,
    /// Leader-in-ISR checks made (every election and ISR change).
    pub isr_checks: u64,
    /// Strong-ISR gaps already reported, as (broker, partition, offset).
    strong_isr_reported: BTreeSet<(BrokerId, PartitionId, usize)>,
    /// Since when no controller has been the quorum leader (None while one is).
    leaderless_since: Option<u64>,
    /// The committed log of each partition, as (leader epoch, value) with the time each offset
    /// was committed: what the highest HW of a leader in the latest epoch covered (the true
    /// HW of the TLA+ models). It only grows, except where a new leader lacked part of it (a
    /// loss, reported as allowed or as a violation).
    pub committed_log: BTreeMap<PartitionId, Vec<(Epoch, u64, u64)>>,
    /// For each replica, how long a prefix of its log is known to equal the committed log.
    matched: BTreeMap<(BrokerId, PartitionId), usize>,
    /// Each replica's log cuts: (time, LEO before, cut to, why).
    pub cuts: BTreeMap<(BrokerId, PartitionId), Vec<LogCut>>,
    /// The newest leader epoch any broker claimed, per partition.
    latest_epoch: BTreeMap<PartitionId, Epoch>,
    /// (partition, leader epoch) of unclean elections.
    unclean_epochs: BTreeSet<(PartitionId, Epoch)>,
    /// Brokers the controllers currently count as unfenced, with the incarnation they
    /// registered: a heartbeat of a dead process, delivered late when a partition heals, can
    /// unfence its old registration while the new process has not registered yet.
    unfenced: BTreeMap<BrokerId, u64>,
    /// Each broker's running process (its incarnation), from its latest step.
    process: BTreeMap<BrokerId, u64>,
    /// Leader-completeness checks made (every new leader against the committed log).
    pub completeness_checks: u64,
    /// Strong-ISR checks made (an ISR member against the committed log).
    pub strong_isr_checks: u64,
    /// The significant steps of the run, in order, for the story a run tells: faults,
    /// elections, ISR changes, fencing, truncations, committed records lost.
    pub steps: Vec<(u64, String)>,
    /// `ksim explain`: keep `tables`, one per step.
    pub explain: bool,
    /// With `explain`: the state of every replica after each step (same order as `steps`).
    pub tables: Vec<String>,
    /// With `Keep::timeline`: each replica's state over time, for a run report.
    pub timeline: Option<Timeline>,
    /// Simulated time without an active controller, summed (unavailability of metadata).
    pub controller_unavailable_ms: u64,
    pub rules: Rules,
    /// Each replica's flushed prefix, from the flushes its broker asked for: what a power loss
    /// must leave, judged without the disk model's own account.
    flushed: BTreeMap<(BrokerId, PartitionId), usize>,
    /// Committed entries a loss cut from the committed log, as (partition, offset, value):
    /// a consumer that read one before the cut read a committed record.
    cut_committed: BTreeSet<(PartitionId, Offset, u64)>,
    /// Replica HWs compared with their LEO.
    pub hw_leo_checks: u64,
    /// Replica HW advances whose log below the HW was compared with the committed log.
    pub matching_checks: u64,
    /// Records of restarted brokers compared with what their disk was asked to keep.
    pub disk_checks: u64,
    /// Polled records checked to be committed when they were read.
    pub read_checks: u64,
    /// Elections checked against `unclean.leader.election.enable`.
    pub election_checks: u64,
    /// (broker, partition, offset) of log-matching gaps already reported.
    matching_reported: BTreeSet<(BrokerId, PartitionId, usize)>,
    pub votes: VoteLedger,
    pub availability: Availability,
    /// Coverage marks: how often each protocol branch that matters was taken.
    pub marks: BTreeMap<String, u64>,
    /// When the first write was acknowledged.
    pub first_ok_ms: Option<u64>,
    /// The newest group generation a poll was made in.
    group_generation: i32,
}

impl Observer {
    /// An observer that also keeps what `keep` asks for.
    pub fn new(keep: Keep, rules: Rules) -> Self {
        Observer {
            explain: keep.tables,
            timeline: keep.timeline.then(Timeline::default),
            rules,
            availability: Availability::new(rules.stall_bound_ms),
            ..Observer::default()
        }
    }

    /// Count a pass through a protocol branch (a coverage mark).
    pub fn mark(&mut self, name: &str) {
        match self.marks.get_mut(name) {
            Some(n) => *n += 1,
            None => {
                self.marks.insert(name.to_string(), 1);
            }
        }
    }

    pub fn trace_hash(&self) -> u64 {
        self.trace
    }

    /// Fold an event into the trace hash. `DefaultHasher::new()` has fixed keys, so the hash
    /// depends only on the events (and the code version).
    pub fn trace(&mut self, event: impl Hash) {
        let mut h = DefaultHasher::new();
        self.trace.hash(&mut h);
        event.hash(&mut h);
        self.trace = h.finish();
        self.events += 1;
    }

    pub fn fault(&mut self, now: u64, what: String) {
        self.trace((now, "fault", &what));
        // A crash or power loss marks its replicas down just before this.
        self.sample_replicas(now, None);
        self.step_note(now, format!("fault: {what}"));
        self.faults.push((now, what));
    }

    /// A fault on `node` began (`kind` is the scenario's action name); returns its span's index.
    pub fn fault_began(&mut self, now: u64, node: NodeId, action: FaultAction) -> usize {
        self.mark(&format!("fault:{}", action.name()));
        self.fault_spans.push(FaultSpan {
            node,
            action,
            from_ms: now,
            to_ms: None,
        });
        self.fault_spans.len() - 1
    }

    /// The fault of span `i` ended (a heal).
    pub fn fault_ended(&mut self, now: u64, i: usize) {
        if let Some(s) = self.fault_spans.get_mut(i) {
            s.to_ms.get_or_insert(now);
        }
    }

    /// `node` restarted or resumed: its crash, power loss or pause is over.
    pub fn node_back(&mut self, now: u64, node: NodeId) {
        for s in &mut self.fault_spans {
            if s.node == node && s.to_ms.is_none() && s.action.stops_a_node() {
                s.to_ms = Some(now);
            }
        }
    }

    /// The controllers' view of partition `p` changed.
    pub fn set_controller_view(
        &mut self,
        now: u64,
        p: PartitionId,
        leader: Option<BrokerId>,
        epoch: Epoch,
        isr: Vec<BrokerId>,
    ) {
        if let Some(t) = &mut self.timeline {
            t.controller
                .entry(p)
                .or_default()
                .push((now, leader, epoch, isr.clone()));
        }
        self.controller.insert(p, (leader, epoch, isr));
    }

    /// Sample every replica of broker `b` (or every replica, for `None`) into the timeline.
    fn sample_replicas(&mut self, now: u64, b: Option<BrokerId>) {
        let Some(t) = &mut self.timeline else {
            return;
        };
        for ((broker, p), v) in &self.views {
            if b.is_none_or(|b| b == *broker) {
                t.sample(*broker, *p, now, v);
            }
        }
    }

    fn sample_committed(&mut self, now: u64, p: PartitionId) {
        if let Some(t) = &mut self.timeline {
            t.committed(p, now, self.committed_log.get(&p).map_or(0, Vec::len));
        }
    }

    /// The last sample of every replica, at the end of the run (LEO sampling may have
    /// skipped the final value).
    pub fn close_timeline(&mut self, end_ms: u64) {
        let Some(t) = &mut self.timeline else {
            return;
        };
        for ((b, p), v) in &self.views {
            let s = ReplicaSample {
                time_ms: end_ms,
                alive: v.alive,
                role: v.role,
                leo: v.leo,
                hw: v.hw,
            };
            let series = t.replicas.entry((*b, *p)).or_default();
            if series
                .last()
                .is_none_or(|l| (l.alive, l.role, l.leo, l.hw) != (s.alive, s.role, s.leo, s.hw))
            {
                series.push(s);
            }
        }
    }

    fn step_note(&mut self, now: u64, what: String) {
        self.steps.push((now, what));
        if self.explain {
            let table = self.state_table();
            self.tables.push(table);
        }
    }

    /// Each replica's log as runs of leader epochs (`offsets:epoch`), its LEO, HW and role,
    /// where its log departs from the committed log, and the controllers' view: the table a
    /// KIP draws at each step of its story.
    pub fn state_table(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let parts: BTreeSet<PartitionId> = self.views.keys().map(|(_, p)| *p).collect();
        for p in parts {
            let committed = self.committed_log.get(&p).map(Vec::as_slice).unwrap_or(&[]);
            let _ = writeln!(
                s,
                "    partition {p}   {:<9} {:<24} {:>6} {:>6}  log (offsets:leader epoch)",
                "replica", "role", "LEO", "HW"
            );
            for ((b, part), v) in &self.views {
                if *part != p {
                    continue;
                }
                let role = match (v.alive, v.role) {
                    (false, _) => "down".to_string(),
                    (true, Role::Leader { leader_epoch }) => {
                        format!("leader, epoch {leader_epoch}")
                    }
                    (
                        true,
                        Role::Follower {
                            leader,
                            leader_epoch,
                        },
                    ) => {
                        format!("follows {leader}, epoch {leader_epoch}")
                    }
                    (true, Role::Offline) => "offline".to_string(),
                };
                let mirror = self.mirrors.get(&(*b, p)).map(Vec::as_slice).unwrap_or(&[]);
                let mut runs: Vec<String> = Vec::new();
                let mut start = 0;
                for i in 1..=mirror.len() {
                    if i == mirror.len() || mirror[i].0 != mirror[start].0 {
                        runs.push(format!("{}-{}:{}", start, i - 1, mirror[start].0));
                        start = i;
                    }
                }
                let differs = (0..mirror.len().min(committed.len()))
                    .find(|o| (committed[*o].0, committed[*o].1) != mirror[*o]);
                let note = match differs {
                    Some(o) => format!("  differs from the committed log at {o}"),
                    None if mirror.len() < committed.len() => {
                        format!("  lacks committed {}..{}", mirror.len(), committed.len())
                    }
                    None => String::new(),
                };
                let _ = writeln!(
                    s,
                    "                  broker {b:<3} {role:<24} {:>6} {:>6}  {}{note}",
                    v.leo,
                    v.hw,
                    if runs.is_empty() {
                        "empty".to_string()
                    } else {
                        runs.join(" ")
                    }
                );
            }
            if let Some((leader, epoch, isr)) = self.controller.get(&p) {
                let _ = writeln!(
                    s,
                    "                  controllers: leader {}, leader epoch {epoch}, ISR {isr:?}; committed (true HW) {}",
                    leader.map_or("none".to_string(), |l| l.to_string()),
                    committed.len()
                );
            }
        }
        s
    }

    pub fn polled(&mut self, p: Poll) {
        self.trace((
            p.time_ms,
            p.consumer,
            p.incarnation,
            p.generation,
            p.partition,
            p.offset,
            p.value,
        ));
        self.check_read_committed(&p);
        let drained = self.drained.entry(p.partition).or_default();
        let above = self.polled_offsets.entry(p.partition).or_default();
        if p.offset >= *drained {
            above.insert(p.offset);
        }
        while above.remove(drained) {
            *drained += 1;
        }
        self.polls.push(p);
    }

    pub fn record(&mut self, op: Op) {
        self.trace((
            op.time_ms,
            op.process,
            op.kind as u8,
            op.value,
            op.offset,
            &op.error,
        ));
        self.availability
            .write(op.time_ms, op.partition, op.kind == OpType::Invoke);
        if op.kind == OpType::Ok {
            self.first_ok_ms.get_or_insert(op.time_ms);
        }
        self.history.push(op);
    }

    fn violate(&mut self, checker: &'static str, now: u64, message: String) {
        self.violations.push(Violation {
            checker,
            time_ms: now,
            message,
        });
    }

    /// After a controller's step: its Raft state, checked with the quorum invariants.
    /// A controller's writes and sends of one step, before they leave: its votes.
    pub fn quorum_writes(
        &mut self,
        now: u64,
        voter: u32,
        persist: &[PersistOp<Command>],
        sends: &[(u32, RaftMessage<Command>)],
    ) {
        for v in self.votes.observe(voter, persist, sends) {
            self.violate("quorum", now, format!("controller quorum: {v}"));
        }
    }

    pub fn after_quorum_step(
        &mut self,
        now: u64,
        node: &QuorumNode<Command>,
        input: &'static str,
        sends: usize,
        became_leader: bool,
    ) {
        self.now_ms = now;
        self.trace((
            now,
            "controller",
            node.id(),
            input,
            sends,
            node.term(),
            node.commit_index(),
        ));
        if became_leader {
            self.quorum_elections += 1;
        }
        self.quorum.insert(
            node.id(),
            ControllerState {
                role: node.role(),
                term: node.term(),
                commit_index: node.commit_index(),
                last_index: node.last_index(),
                majority: node.config().majority(),
            },
        );
        self.track_controller_availability(now);
        // Only this node changed: the checker keeps every other node's last state.
        for v in self.quorum_checker.observe(&[node]) {
            self.violate("quorum", now, format!("controller quorum: {v}"));
        }
    }

    /// A controller left the quorum's live set (crash or power loss).
    pub fn controller_down(&mut self, c: u32) {
        self.quorum.remove(&c);
        let now = self.now_ms;
        self.track_controller_availability(now);
    }

    /// A leader exists and a majority of voters is up, so metadata changes can commit.
    fn quorum_available(&self) -> Option<u32> {
        let leader = self.quorum_leader()?;
        let majority = self
            .quorum
            .get(&leader)
            .map(|n| n.majority)
            .unwrap_or(usize::MAX);
        (self.quorum.len() >= majority).then_some(leader)
    }

    fn track_controller_availability(&mut self, now: u64) {
        match (self.quorum_available(), self.leaderless_since) {
            (Some(_), Some(since)) => {
                self.controller_unavailable_ms += now.saturating_sub(since);
                self.leaderless_since = None;
            }
            (None, None) => self.leaderless_since = Some(now),
            _ => {}
        }
    }

    /// Unavailability up to `end`, including a leaderless stretch still open.
    pub fn controller_unavailable_until(&self, end: u64) -> u64 {
        self.controller_unavailable_ms
            + self
                .leaderless_since
                .map(|s| end.saturating_sub(s))
                .unwrap_or(0)
    }

    /// The active controller, as the controllers themselves claim it (highest term).
    pub fn quorum_leader(&self) -> Option<u32> {
        self.quorum
            .iter()
            .filter(|(_, n)| n.role == ksim_model::quorum::Role::Leader)
            .max_by_key(|(_, n)| n.term)
            .map(|(id, _)| *id)
    }

    /// Notes of the metadata command at `index`; recorded only the first time any controller
    /// applies that index.
    pub fn after_apply(&mut self, now: u64, index: u64, ready: &Ready) {
        if index <= self.applied_index {
            return;
        }
        self.applied_index = index;
        self.after_controller_step(now, "apply", ready);
    }

    pub fn after_controller_step(&mut self, now: u64, input: &'static str, ready: &Ready) {
        self.now_ms = now;
        self.trace((now, "controller", input, ready.sends.len()));
        for note in &ready.notes {
            match note {
                Note::Elected {
                    partition,
                    leader,
                    leader_epoch,
                    unclean,
                    isr,
                } => {
                    self.elections += 1;
                    self.check_leader_in_isr(now, *partition, *leader, isr);
                    self.check_election_allowed(now, *partition, *leader, *unclean);
                    if *unclean && leader.is_some() {
                        self.mark("unclean-election");
                    }
                    if *unclean {
                        self.unclean_elections
                            .entry(*partition)
                            .or_default()
                            .push(now);
                        self.unclean_epochs.insert((*partition, *leader_epoch));
                    }
                    self.set_controller_view(now, *partition, *leader, *leader_epoch, isr.clone());
                    self.trace((now, "elected", partition, leader, leader_epoch, unclean));
                    let who = match leader {
                        Some(l) => format!("broker {l}"),
                        None => "no leader (no eligible replica is live)".to_string(),
                    };
                    self.step_note(
                        now,
                        format!(
                            "controller: partition {partition} leader epoch {leader_epoch}: {who}{}, ISR {isr:?}",
                            if *unclean { ", UNCLEAN election" } else { "" }
                        ),
                    );
                    self.check_strong_isr(now, *partition);
                }
                Note::IsrChanged { partition, isr, .. } => {
                    if let Some((leader, epoch, _)) = self.controller.get(partition).cloned() {
                        self.set_controller_view(now, *partition, leader, epoch, isr.clone());
                    }
                    let leader = self.controller.get(partition).and_then(|c| c.0);
                    self.check_leader_in_isr(now, *partition, leader, isr);
                    self.step_note(now, format!("controller: partition {partition} ISR {isr:?}"));
                    self.check_strong_isr(now, *partition);
                }
                Note::BrokerFenced { broker } => {
                    self.mark("broker-fenced");
                    self.unfenced.remove(broker);
                    self.step_note(now, format!("controller: broker {broker} fenced (its session expired)"));
                }
                Note::BrokerUnfenced {
                    broker,
                    incarnation,
                } => {
                    self.unfenced.insert(*broker, *incarnation);
                    let parts: Vec<PartitionId> = self.controller.keys().copied().collect();
                    for p in parts {
                        self.check_strong_isr(now, p);
                    }
                }
                Note::Recovered {
                    partition,
                    leader,
                    candidates,
                } => {
                    self.mark("kip-966-recovery");
                    let members: Vec<BrokerId> = candidates.iter().map(|c| c.0).collect();
                    self.recoveries
                        .entry(*partition)
                        .or_default()
                        .push((now, members.clone()));
                    self.step_note(
                        now,
                        format!("controller: no ISR or ELR member left; KIP-966's recovery elects broker {leader}, the longest log among the last known ELR {members:?} (log ends {candidates:?})"),
                    );
                }
                Note::UncleanShutdown { broker } => self.step_note(
                    now,
                    format!("controller: broker {broker} registered after an unclean shutdown and leaves every ISR and ELR (KIP-966)"),
                ),
                Note::Mark(m) => self.mark(m.name()),
                _ => {}
            }
        }
    }

    pub fn after_broker_step(
        &mut self,
        now: u64,
        broker: &Broker,
        input: &'static str,
        ready: &Ready,
    ) {
        let b = broker.id;
        self.now_ms = now;
        self.trace((now, b, input, ready.disk.len(), ready.sends.len()));
        let restarted = self.process.insert(b, broker.incarnation()) != Some(broker.incarnation());
        // Each replica's HW before this step (within one process: a restart reads its HW
        // from a checkpoint, which may lag or lead).
        let hw_before: BTreeMap<PartitionId, Offset> = if restarted {
            BTreeMap::new()
        } else {
            broker
                .replicas()
                .filter_map(|r| Some((r.partition, self.views.get(&(b, r.partition))?.hw)))
                .collect()
        };
        // The views first, so that a step's notes (and `explain`'s tables) see this step.
        for r in broker.replicas() {
            self.views.insert(
                (b, r.partition),
                ReplicaView {
                    role: r.role,
                    leo: r.log.leo(),
                    hw: r.log.hw(),
                    alive: true,
                },
            );
        }
        self.sample_replicas(now, Some(b));
        for op in &ready.disk {
            self.apply_disk_op(b, op);
        }
        if restarted {
            self.check_recovered_logs(now, broker);
        }
        let mut advanced = Vec::new();
        for note in &ready.notes {
            self.broker_note(now, note, &mut advanced);
        }
        self.after_leader_hw(now, broker, &mut advanced);
        for p in advanced {
            self.check_strong_isr(now, p);
        }
        self.check_replicas(now, broker, &hw_before);
        if input == "tick" {
            self.check_progress(now);
        }
        if self.timeline.is_some() {
            // A new leader may also have cut the committed log (leader completeness).
            for r in broker.replicas() {
                self.sample_committed(now, r.partition);
            }
        }
    }

    /// A broker's note: a leadership claim, a mark, or a truncation (`cut_below_committed`
    /// collects the partitions whose committed records it cut).
    fn broker_note(&mut self, now: u64, note: &Note, cut_below_committed: &mut Vec<PartitionId>) {
        match note {
            Note::BecameLeader {
                broker,
                partition,
                leader_epoch,
            } => {
                self.claim_leadership(now, *broker, *partition, *leader_epoch);
                self.check_leader_completeness(now, *broker, *partition, *leader_epoch);
            }
            Note::Truncated {
                broker,
                partition,
                from_leo,
                to,
                reason,
            } => {
                self.truncations += 1;
                self.mark(reason.mark());
                let cut = (now, *from_leo, *to, Cut::Truncated(*reason));
                self.cuts
                    .entry((*broker, *partition))
                    .or_default()
                    .push(cut);
                let committed = self.committed_log.get(partition).map_or(0, |c| c.len());
                if (*to as usize) < committed {
                    self.step_note(now, format!("broker {broker}: truncated partition {partition} from LEO {from_leo} to {to}, below the committed offset {committed}: {}", reason.describe()));
                    cut_below_committed.push(*partition);
                }
            }
            Note::Mark(m) => self.mark(m.name()),
            _ => {}
        }
    }

    /// After a broker's step, each partition it leads: its HW is checked, and what lies below
    /// it joins the committed log (`advanced` collects the partitions whose committed log grew).
    fn after_leader_hw(&mut self, now: u64, broker: &Broker, advanced: &mut Vec<PartitionId>) {
        let b = broker.id;
        for r in broker.replicas() {
            if let Role::Leader { leader_epoch } = r.role {
                self.check_leader_hw(now, b, r.partition, leader_epoch, r.log.hw());
                let t = self.true_hw.entry(r.partition).or_insert((leader_epoch, 0));
                if (leader_epoch, r.log.hw()) > *t {
                    *t = (leader_epoch, r.log.hw());
                }
                self.mark_committed(b, r.partition, r.log.hw());
                if self.extend_committed(now, b, r.partition, leader_epoch, r.log.hw()) {
                    self.availability.progress(now, r.partition);
                    advanced.push(r.partition);
                }
            }
        }
    }

    /// A leader of the latest epoch moved its HW past the committed log's end: what lies
    /// below is committed now. Returns whether the committed log grew.
    fn extend_committed(
        &mut self,
        now: u64,
        b: BrokerId,
        p: PartitionId,
        epoch: Epoch,
        hw: Offset,
    ) -> bool {
        if self.latest_epoch.get(&p).is_some_and(|e| epoch < *e) {
            return false; // a deposed leader that has not heard yet: its HW commits nothing
        }
        let committed = self.committed_log.entry(p).or_default();
        let hw = hw.max(0) as usize;
        if hw <= committed.len() {
            return false;
        }
        let Some(mirror) = self.mirrors.get(&(b, p)) else {
            return false;
        };
        let from = committed.len();
        for (e, v) in mirror.iter().take(hw).skip(from) {
            committed.push((*e, *v, now));
        }
        committed.len() > from
    }

    /// How long a prefix of `b`'s log equals the committed log (cached per replica, so each
    /// committed entry is compared about once per replica).
    fn matching_prefix(&mut self, b: BrokerId, p: PartitionId) -> usize {
        let committed = self.committed_log.get(&p).map(Vec::as_slice).unwrap_or(&[]);
        let mirror = self.mirrors.get(&(b, p)).map(Vec::as_slice).unwrap_or(&[]);
        let m = self.matched.entry((b, p)).or_default();
        *m = (*m).min(committed.len()).min(mirror.len());
        while *m < committed.len()
            && *m < mirror.len()
            && (committed[*m].0, committed[*m].1) == mirror[*m]
        {
            *m += 1;
        }
        *m
    }

    /// Why committed values are allowed to be missing: every broker that held each lost it in
    /// a power loss, or an unclean election chose a replica without them.
    fn loss_allowed(&self, p: PartitionId, from: usize, unclean: bool) -> Option<String> {
        let committed = self.committed_log.get(&p)?;
        // An unclean election since they were committed put a replica without them in the ISR;
        // whatever follows from it is the price unclean.leader.election.enable names.
        let committed_at = committed.get(from).map_or(u64::MAX, |c| c.2);
        let unclean_since = self
            .unclean_elections
            .get(&p)
            .is_some_and(|ts| ts.iter().any(|t| *t >= committed_at));
        if self.rules.unclean_leader_election_enable && (unclean || unclean_since) {
            return Some("an unclean election (unclean.leader.election.enable=true) chose a replica without them".into());
        }
        let all_lost = committed[from..].iter().all(|(_, v, _)| {
            let holders = self.held_by.get(v);
            let lost = self.power_lost_by.get(v);
            match (holders, lost) {
                (Some(h), Some(l)) => h.iter().all(|b| l.contains(b)),
                _ => false,
            }
        });
        if all_lost {
            return Some(
                "every replica that held them lost them in a power loss (Kafka promises n-1 failures)"
                    .into(),
            );
        }
        let values: Vec<u64> = committed[from..].iter().map(|(_, v, _)| *v).collect();
        self.recovered_without(p, &values, committed_at)
    }

    /// A KIP-966 recovery since `since_ms` chose among a last known ELR of which no member
    /// still held any of `values`: each had lost them in a power loss (or never had them). The
    /// last known ELR are the replicas in the ISR when the last records were committed, and
    /// Kafka elects among them only; a replica outside the ISR that still holds the values is
    /// not a candidate. Kafka promises nothing once every ISR member lost unflushed data.
    pub fn recovered_without(
        &self,
        p: PartitionId,
        values: &[u64],
        since_ms: u64,
    ) -> Option<String> {
        let recoveries = self.recoveries.get(&p)?;
        let (_, members) = recoveries.iter().find(|(t, members)| {
            *t >= since_ms
                && values.iter().all(|v| {
                    members.iter().all(|b| {
                        let held = self.held_by.get(v).is_some_and(|h| h.contains(b));
                        let lost = self.power_lost_by.get(v).is_some_and(|l| l.contains(b));
                        !held || lost
                    })
                })
        })?;
        Some(format!(
            "KIP-966's recovery elected among the last known ELR {members:?}, the replicas in the ISR when they were committed, and each of them had lost them in a power loss (Kafka promises nothing once every ISR member lost unflushed data; a replica outside the ISR is no candidate)"
        ))
    }

    /// Where `b` lost offset `at`: its latest cut below it, in words.
    fn why_missing(&self, b: BrokerId, p: PartitionId, at: usize) -> String {
        let cut = self.cuts.get(&(b, p)).and_then(|cuts| {
            cuts.iter()
                .rev()
                .find(|(_, from, to, _)| (*to as usize) <= at && at < *from as usize)
        });
        let cut = match cut {
            Some((t, from, to, why)) => format!(
                "at {t} ms it cut its log from LEO {from} to {to} because {}",
                why.describe()
            ),
            None => String::new(),
        };
        let held = self.mirrors.get(&(b, p)).and_then(|m| m.get(at));
        let committed = self.committed_log.get(&p).and_then(|c| c.get(at));
        match (held, committed) {
            (Some((he, hv)), Some((ce, cv, _))) => format!(
                "its log diverges from the committed log at offset {at}: it holds value {hv} (leader epoch {he}) where the committed log holds value {cv} (leader epoch {ce}){}",
                if cut.is_empty() { String::new() } else { format!("; {cut}") }
            ),
            _ if cut.is_empty() => "it never held them".into(),
            _ => cut,
        }
    }

    /// Leader completeness: a new leader holds everything committed. Where it does not, the
    /// committed log is cut to what it holds (the loss is reported once, as allowed or as a
    /// violation naming the step that lost it).
    fn check_leader_completeness(&mut self, now: u64, b: BrokerId, p: PartitionId, epoch: Epoch) {
        let latest = self.latest_epoch.entry(p).or_insert(epoch);
        if epoch < *latest {
            // A deposed leader acting on a stale epoch (it was paused or cut off): fencing
            // keeps it from committing anything, and completeness is owed by the latest one.
            return;
        }
        *latest = epoch;
        self.completeness_checks += 1;
        let have = self.matching_prefix(b, p);
        let committed_len = self.committed_log.get(&p).map_or(0, Vec::len);
        self.step_note(
            now,
            format!(
                "broker {b}: leads partition {p} in leader epoch {epoch} with LEO {}, committed offsets {committed_len}",
                self.mirrors.get(&(b, p)).map_or(0, Vec::len)
            ),
        );
        if have >= committed_len {
            return;
        }
        let unclean = self.unclean_epochs.contains(&(p, epoch));
        let (_, first_value, committed_at) = self.committed_log[&p][have];
        let what = format!(
            "offsets {have}..{committed_len} ({} record(s); the first, value {first_value}, committed at {committed_at} ms)",
            committed_len - have
        );
        match self.loss_allowed(p, have, unclean) {
            Some(reason) => {
                self.step_note(now, format!("committed records lost, allowed: broker {b} leads partition {p} without {what}: {reason}"));
            }
            None => {
                let why = self.why_missing(b, p, have);
                let msg = format!("partition {p}: broker {b} became leader in leader epoch {epoch} without the committed {what}: {why}");
                self.step_note(now, format!("VIOLATION leader-completeness: {msg}"));
                self.violate("leader-completeness", now, msg);
            }
        }
        let log = self.committed_log.get_mut(&p).expect("checked");
        for (o, (_, v, _)) in log.iter().enumerate().skip(have) {
            self.cut_committed.insert((p, o as Offset, *v));
        }
        log.truncate(have);
        for ((_, part), m) in self.matched.iter_mut() {
            if *part == p {
                *m = (*m).min(have);
            }
        }
    }

    /// Strong ISR: every live, unfenced member of the controllers' ISR holds everything
    /// committed (so any of them can be elected without a loss). Reported once per member
    /// and gap.
    fn check_strong_isr(&mut self, now: u64, p: PartitionId) {
        let Some((_, epoch, isr)) = self.controller.get(&p).cloned() else {
            return;
        };
        let committed_len = self.committed_log.get(&p).map_or(0, Vec::len);
        for b in isr {
            let alive = self.views.get(&(b, p)).is_some_and(|v| v.alive);
            let serving = self
                .unfenced
                .get(&b)
                .is_some_and(|i| self.process.get(&b) == Some(i));
            if !alive || !serving {
                continue;
            }
            self.strong_isr_checks += 1;
            let have = self.matching_prefix(b, p);
            let unclean = self.unclean_epochs.contains(&(p, epoch));
            if have >= committed_len || self.loss_allowed(p, have, unclean).is_some() {
                continue;
            }
            if !self.strong_isr_reported.insert((b, p, have)) {
                continue;
            }
            let why = self.why_missing(b, p, have);
            let (_, v, at) = self.committed_log[&p][have];
            let msg = format!("partition {p}: broker {b} is in the ISR (leader epoch {epoch}) but lacks committed offsets {have}..{committed_len} (the first, value {v}, committed at {at} ms): {why}");
            self.step_note(now, format!("VIOLATION strong-isr: {msg}"));
            self.violate("strong-isr", now, msg);
        }
    }

    fn apply_disk_op(&mut self, b: BrokerId, op: &DiskOp) {
        match op {
            DiskOp::Append { partition, records } => {
                let mirror = self.mirrors.entry((b, *partition)).or_default();
                for r in records {
                    let v = value_id(&r.value);
                    mirror.push((r.leader_epoch, v));
                    self.held_by.entry(v).or_default().insert(b);
                }
            }
            DiskOp::Truncate { partition, offset } => self.cut_mirror(b, *partition, *offset),
            DiskOp::Flush { partition } => {
                let len = self.mirrors.get(&(b, *partition)).map_or(0, Vec::len);
                self.flushed.insert((b, *partition), len);
            }
            DiskOp::CheckpointHw { .. } | DiskOp::CheckpointEpochs { .. } => {}
        }
    }

    fn cut_mirror(&mut self, b: BrokerId, p: PartitionId, offset: Offset) {
        let mirror = self.mirrors.entry((b, p)).or_default();
        mirror.truncate(offset.max(0) as usize);
        let m = self.matched.entry((b, p)).or_default();
        *m = (*m).min(offset.max(0) as usize);
        let marked = self.committed_marked.entry((b, p)).or_default();
        *marked = (*marked).min(offset);
        let flushed = self.flushed.entry((b, p)).or_default();
        *flushed = (*flushed).min(offset.max(0) as usize);
    }

    /// The partition leader the controllers chose is a member of the ISR: only an ISR member is
    /// known to hold everything committed.
    fn check_leader_in_isr(
        &mut self,
        now: u64,
        p: PartitionId,
        leader: Option<BrokerId>,
        isr: &[BrokerId],
    ) {
        self.isr_checks += 1;
        if let Some(l) = leader {
            if !isr.contains(&l) {
                self.violate("leader-in-isr", now, format!("partition {p}: the controllers made broker {l} leader, but the ISR is {isr:?}"));
            }
        }
    }

    /// One leader per partition epoch: a second broker claiming the same epoch means two
    /// brokers could accept writes that each believe are in the same history.
    fn claim_leadership(&mut self, now: u64, b: BrokerId, p: PartitionId, epoch: Epoch) {
        self.leader_claims += 1;
        match self.leaders_by_epoch.get(&(p, epoch)) {
            Some(other) if *other != b => {
                let msg = format!("partition {p}: broker {b} became leader in leader epoch {epoch}, which broker {other} already led");
                self.violate("one-leader-per-epoch", now, msg);
            }
            _ => {
                self.leaders_by_epoch.insert((p, epoch), b);
            }
        }
    }

    /// The leader's HW never decreases within its epoch: consumers may already have read
    /// below it.
    fn check_leader_hw(&mut self, now: u64, b: BrokerId, p: PartitionId, epoch: Epoch, hw: Offset) {
        self.hw_observations += 1;
        let prev = self.leader_hw.get(&(p, epoch)).copied();
        if let Some(prev) = prev {
            if hw < prev {
                let msg = format!("partition {p}: leader broker {b} lowered its HW from {prev} to {hw} within leader epoch {epoch}");
                self.violate("leader-hw-monotonic", now, msg);
            }
        }
        if prev.map(|x| hw > x).unwrap_or(true) {
            self.leader_hw.insert((p, epoch), hw);
        }
    }

    /// Everything below a leader's HW is committed: remember the values there.
    fn mark_committed(&mut self, b: BrokerId, p: PartitionId, hw: Offset) {
        let marked = self.committed_marked.entry((b, p)).or_default();
        if hw <= *marked {
            return;
        }
        let from = *marked;
        *marked = hw;
        if let Some(mirror) = self.mirrors.get(&(b, p)) {
            for (_, v) in mirror.iter().skip(from as usize).take((hw - from) as usize) {
                self.committed.insert(*v);
                self.committed_at.entry(*v).or_insert(self.now_ms);
            }
        }
    }

    pub fn crashed(&mut self, b: BrokerId) {
        self.crashes += 1;
        for ((broker, _), v) in self.views.iter_mut() {
            if *broker == b {
                v.alive = false;
            }
        }
    }

    /// `b` lost power: each of its logs keeps the prefix its broker had flushed, by the
    /// observer's own count of the flushes asked for. The disk model's account is not trusted
    /// here; the broker's recovered log is compared with this when it restarts.
    pub fn power_lost(&mut self, b: BrokerId) {
        self.power_losses += 1;
        for ((broker, _), v) in self.views.iter_mut() {
            if *broker == b {
                v.alive = false;
            }
        }
        for p in self.mirrored_partitions(b) {
            let keep = self.flushed.get(&(b, p)).copied().unwrap_or(0);
            let mirror = &self.mirrors[&(b, p)];
            if keep >= mirror.len() {
                continue;
            }
            for (_, v) in &mirror[keep..] {
                self.power_lost_by.entry(*v).or_default().insert(b);
            }
            let leo = mirror.len() as Offset;
            let cut = (self.now_ms, leo, keep as Offset, Cut::PowerLoss);
            self.cuts.entry((b, p)).or_default().push(cut);
            self.cut_mirror(b, p, keep as Offset);
        }
    }

    /// The partitions whose log the observer mirrors for broker `b`.
    fn mirrored_partitions(&self, b: BrokerId) -> Vec<PartitionId> {
        self.mirrors
            .keys()
            .filter(|(broker, _)| *broker == b)
            .map(|(_, p)| *p)
            .collect()
    }

    /// The broker currently leading `p`, as the brokers themselves claim it (a live broker
    /// in the Leader role with the highest epoch).
    pub fn leader_of(&self, p: PartitionId) -> Option<BrokerId> {
        self.views
            .iter()
            .filter(|((_, part), v)| *part == p && v.alive)
            .filter_map(|((b, _), v)| match v.role {
                Role::Leader { leader_epoch } => Some((leader_epoch, *b)),
                _ => None,
            })
            .max()
            .map(|(_, b)| b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observer() -> Observer {
        let rules = Rules {
            unclean_leader_election_enable: false,
            stall_bound_ms: 39_000,
        };
        Observer::new(Keep::default(), rules)
    }

    #[test]
    fn controller_unavailability_counts_a_leaderless_stretch_still_open() {
        let mut obs = observer();
        obs.controller_unavailable_ms = 700;
        assert_eq!(obs.controller_unavailable_until(5_000), 700);
        obs.leaderless_since = Some(4_000);
        assert_eq!(obs.controller_unavailable_until(5_000), 1_700);
        assert_eq!(obs.controller_unavailable_until(3_000), 700);
    }

    #[test]
    fn no_progress_is_owed_without_a_controller_quorum() {
        let obs = observer();
        assert!(obs.quorum_available().is_none());
        assert!(!obs.health(0).controllers_ok);
    }

    #[test]
    fn the_timeline_ends_with_each_replicas_last_state() {
        let mut obs = Observer::new(
            Keep {
                timeline: true,
                ..Keep::default()
            },
            observer().rules,
        );
        let view = |leo| ReplicaView {
            role: Role::Leader { leader_epoch: 0 },
            leo,
            hw: 0,
            alive: true,
        };
        obs.views.insert((1, 0), view(10));
        obs.sample_replicas(1_000, None);
        // An append sooner than LEO_SAMPLE_MS after the last sample is not sampled...
        obs.views.insert((1, 0), view(12));
        obs.sample_replicas(1_050, None);
        // ... so closing the timeline adds it.
        obs.close_timeline(1_060);
        let series = &obs.timeline.as_ref().expect("kept").replicas[&(1, 0)];
        let leos: Vec<_> = series.iter().map(|x| (x.time_ms, x.leo)).collect();
        assert_eq!(leos, [(1_000, 10), (1_060, 12)]);
        obs.close_timeline(1_070);
        let series = &obs.timeline.as_ref().expect("kept").replicas[&(1, 0)];
        assert_eq!(series.len(), 2, "an unchanged replica gets no second last sample");
    }
}
