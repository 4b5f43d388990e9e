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
mod brokers;
mod controllers;
mod leadership;
mod losses;
mod metadata;
pub use metadata::Client;
mod replicas;
mod states;
mod timeline;
mod votes;
mod zookeeper;

pub use availability::{Availability, Health, Stall, UNAVAILABLE_FROM_MS};
pub use leadership::Leadership;
pub use timeline::{ControllerSample, ReplicaSample, Timeline};
pub use votes::VoteLedger;

pub use ksim_model::history::{value_id, Op, OpType, Poll};

use ksim_model::Named;
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

/// The faults a run injected, by kind: what the observer counts as they fire, and what the
/// report's counts show.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct FaultCounts {
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
    /// ZooKeeper sessions expired (fault `session-expiry`); left out of results at 0, as
    /// in every KRaft run.
    #[serde(skip_serializing_if = "is_zero")]
    pub session_expiries: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl FaultCounts {
    /// Faults injected of any kind (a restart is the end of one, not a fault).
    pub fn any(&self) -> u64 {
        self.crashes
            + self.power_losses
            + self.partitions
            + self.pauses
            + self.link_faults
            + self.clock_drifts
            + self.metadata_stalls
            + self.session_expiries
    }
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

/// A violated invariant, in Kafka's words.
#[derive(Clone, Debug, Serialize)]
pub struct Violation {
    pub checker: &'static str,
    /// When it happened (a lost write: when its last copy was cut).
    pub time_ms: u64,
    pub message: String,
    /// The acknowledgement of the write a violation is about, when that is not `time_ms`: a
    /// lost write is drawn where it was lost and linked to where it was acknowledged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_ms: Option<u64>,
}

impl Violation {
    /// `at T ms`, and for a write lost after its acknowledgement when that was.
    pub fn when(&self) -> String {
        match self.write_ms {
            Some(w) if w != self.time_ms => {
                format!("at {} ms (acknowledged at {w} ms)", self.time_ms)
            }
            _ => format!("at {} ms", self.time_ms),
        }
    }
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
    /// The metadata quorum is a ZooKeeper ensemble (`coordinator = "zookeeper"`): its members
    /// are ZooKeeper servers, their term the ensemble's epoch.
    pub zookeeper: bool,
    /// `min.insync.replicas` under KIP-966 (`strict_min_isr`), else 1: an ISR smaller than
    /// this commits nothing (the leader's HW stands), so a record it alone holds is not
    /// committed.
    pub min_insync_replicas: usize,
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
#[derive(Clone, Debug, PartialEq)]
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
    /// Per leader and partition, the brokers its AlterPartition in flight would add to the ISR
    /// (for the `state:*` marks of `states.rs`).
    pending_adds: BTreeMap<(BrokerId, PartitionId), Vec<BrokerId>>,
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
    leader_hw: BTreeMap<(PartitionId, Epoch, BrokerId, u64), Offset>,
    pub hw_observations: u64,
    /// The controller's view: partition -> (leader, leader epoch, ISR).
    pub controller: BTreeMap<PartitionId, (Option<BrokerId>, Epoch, Vec<BrokerId>)>,
    /// Stretches without a leader and how fast decisions reach the brokers.
    pub leadership: Leadership,
    /// When a controller took over: a controller became the quorum leader (KRaft), or one
    /// bumped `/controller_epoch` (ZooKeeper mode).
    pub controller_activations: Vec<u64>,
    /// The faults injected so far, by kind.
    pub injected: FaultCounts,
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
    /// The values of committed records a loss the configuration allows cut from the log
    /// (acknowledged or not): a consumer that read one is not at fault.
    pub allowed_cut: BTreeSet<u64>,
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
    /// ZooKeeper mode: the ensemble's invariants (`ZkObserver`), how many committed
    /// transactions have been looked at, and the controller broker `/controller` names.
    pub zk: ksim_model::zookeeper::ZkObserver,
    zk_seen: usize,
    pub zk_controller: Option<BrokerId>,
    /// ZooKeeper mode: the brokers' Metadata answers, as the clients received them.
    pub metadata_answers: metadata::MetadataAnswers,
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
        if let NodeId::Broker(b) = node {
            self.broker_process(now, b, true);
        }
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
        let before = self.controller.insert(p, (leader, epoch, isr));
        match before {
            Some((_, e, _)) if e == epoch => self.leadership_changed(now, &[p]),
            _ => self.decided(now, p, epoch),
        }
    }

    fn step_note(&mut self, now: u64, what: String) {
        tracing::info!("{what}");
        self.steps.push((now, what));
        if self.explain {
            let table = self.state_table();
            self.tables.push(table);
        }
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
            write_ms: None,
        });
    }

    pub fn crashed(&mut self, now: u64, b: BrokerId) {
        self.injected.crashes += 1;
        self.metadata_answers.forget(b);
        for ((broker, _), v) in self.views.iter_mut() {
            if *broker == b {
                v.alive = false;
            }
        }
        self.broker_process(now, b, false);
    }

    /// `b` lost power: each of its logs keeps the prefix its broker had flushed, by the
    /// observer's own count of the flushes asked for. The disk model's account is not trusted
    /// here; the broker's recovered log is compared with this when it restarts.
    pub fn power_lost(&mut self, now: u64, b: BrokerId) {
        self.injected.power_losses += 1;
        self.metadata_answers.forget(b);
        for ((broker, _), v) in self.views.iter_mut() {
            if *broker == b {
                v.alive = false;
            }
        }
        self.broker_process(now, b, false);
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
            zookeeper: false,
            min_insync_replicas: 2,
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
        assert_eq!(
            series.len(),
            2,
            "an unchanged replica gets no second last sample"
        );
    }

    #[test]
    fn what_lies_below_a_leaders_hw_is_committed_and_nothing_above_it() {
        let mut obs = observer();
        obs.mirrors
            .insert((1, 0), vec![(0, 11), (0, 12), (0, 13), (0, 14)]);
        obs.mark_committed(1, 0, 1);
        obs.mark_committed(1, 0, 2);
        assert_eq!(obs.committed, BTreeSet::from([11, 12]));
        obs.mark_committed(1, 0, 2);
        assert_eq!(obs.committed, BTreeSet::from([11, 12]));
    }

    #[test]
    fn a_recovery_excuses_a_loss_only_when_every_elr_member_lacked_or_lost_it() {
        let mut obs = observer();
        obs.recoveries.insert(0, vec![(500, vec![2, 3])]);
        // Broker 2 held value 7 and lost it in a power loss; broker 3 never held it.
        obs.held_by.insert(7, BTreeSet::from([2]));
        obs.power_lost_by.insert(7, BTreeSet::from([2]));
        assert!(obs.recovered_without(0, &[7], 100).is_some());
        // A recovery before the write excuses nothing.
        assert!(obs.recovered_without(0, &[7], 600).is_none());
        // Broker 3 holds it and kept it: the recovery could have elected it.
        obs.held_by.insert(7, BTreeSet::from([2, 3]));
        assert!(obs.recovered_without(0, &[7], 100).is_none());
    }

    #[test]
    fn a_missing_record_is_blamed_on_the_cut_that_removed_it() {
        let mut obs = observer();
        let diverging = Cut::Truncated(TruncateReason::DivergingEpoch);
        // A cut from LEO 5 to 3 removed offsets 3 and 4, not offset 5.
        obs.cuts.insert((1, 0), vec![(100, 5, 3, diverging)]);
        assert!(obs
            .why_missing(1, 0, 4)
            .starts_with("at 100 ms it cut its log from LEO 5 to 3"));
        assert_eq!(obs.why_missing(1, 0, 5), "it never held them");
        assert_eq!(obs.why_missing(1, 0, 2), "it never held them");
    }
}
