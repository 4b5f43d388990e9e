//! The god's-eye view: every node reports to it synchronously after each step (the run is
//! single threaded, so this is safe and deterministic). It keeps a mirror of every replica's
//! log, the truth log (acknowledged values, lossy crashes, elections, what was ever committed),
//! the client history, message counts and the trace hash, and checks the cheap invariants
//! after every event: one leader per partition epoch, and a leader's HW never decreasing
//! within its epoch.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use ksim_model::quorum::{QuorumNode, QuorumObserver};
use ksim_model::{
    Broker, BrokerId, Command, DiskOp, Epoch, Note, Offset, PartitionId, Ready, Role,
};
use serde::Serialize;

use crate::disk::LostSuffix;

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
}

/// A violated invariant, in Kafka's words.
#[derive(Clone, Debug, Serialize)]
pub struct Violation {
    pub checker: &'static str,
    pub time_ms: u64,
    pub message: String,
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
    committed_marked: BTreeMap<(BrokerId, PartitionId), Offset>,
    /// Unclean elections per partition, with their time.
    pub unclean_elections: BTreeMap<PartitionId, Vec<u64>>,
    pub elections: u64,
    pub truncations: u64,
    leaders_by_epoch: BTreeMap<(PartitionId, Epoch), BrokerId>,
    pub leader_claims: u64,
    leader_hw: BTreeMap<(PartitionId, Epoch), Offset>,
    pub hw_observations: u64,
    /// The controller's view: partition -> (leader, leader epoch, ISR).
    pub controller: BTreeMap<PartitionId, (Option<BrokerId>, Epoch, Vec<BrokerId>)>,
    pub crashes: u64,
    pub power_losses: u64,
    pub restarts: u64,
    /// Isolation faults injected (network partitions).
    pub partitions: u64,
    pub faults: Vec<(u64, String)>,
    pub history: Vec<Op>,
    pub violations: Vec<Violation>,
    /// The live controllers' Raft state as of their last step.
    pub quorum: BTreeMap<u32, QuorumNode<Command>>,
    /// Kafka's RaftEventSimulationTest invariants over the quorum.
    pub quorum_checker: QuorumObserver<Command>,
    /// The highest metadata-log index whose notes were recorded (every controller applies the
    /// same commands; their notes are recorded once).
    applied_index: u64,
    /// Times a controller became the quorum leader.
    pub quorum_elections: u64,
    /// Leader-in-ISR checks made (every election and ISR change).
    pub isr_checks: u64,
    /// Since when no controller has been the quorum leader (None while one is).
    leaderless_since: Option<u64>,
    /// Simulated time without an active controller, summed (unavailability of metadata).
    pub controller_unavailable_ms: u64,
}

impl Observer {
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
        self.faults.push((now, what));
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
        self.quorum.insert(node.id(), node.clone());
        self.track_controller_availability(now);
        let nodes: Vec<&QuorumNode<Command>> = self.quorum.values().collect();
        for v in self.quorum_checker.observe(&nodes) {
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
            .map(|n| n.config().majority())
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
            .values()
            .filter(|n| n.role() == ksim_model::quorum::Role::Leader)
            .max_by_key(|n| n.term())
            .map(|n| n.id())
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
                    if *unclean {
                        self.unclean_elections
                            .entry(*partition)
                            .or_default()
                            .push(now);
                    }
                    self.controller
                        .insert(*partition, (*leader, *leader_epoch, isr.clone()));
                    self.trace((now, "elected", partition, leader, leader_epoch, unclean));
                }
                Note::IsrChanged { partition, isr, .. } => {
                    if let Some(entry) = self.controller.get_mut(partition) {
                        entry.2 = isr.clone();
                    }
                    let leader = self.controller.get(partition).and_then(|c| c.0);
                    self.check_leader_in_isr(now, *partition, leader, isr);
                }
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
        for op in &ready.disk {
            self.apply_disk_op(b, op);
        }
        for note in &ready.notes {
            match note {
                Note::BecameLeader {
                    broker,
                    partition,
                    leader_epoch,
                } => self.claim_leadership(now, *broker, *partition, *leader_epoch),
                Note::Truncated { .. } => self.truncations += 1,
                _ => {}
            }
        }
        for r in broker.replicas() {
            let key = (b, r.partition);
            self.views.insert(
                key,
                ReplicaView {
                    role: r.role,
                    leo: r.log.leo(),
                    hw: r.log.hw(),
                    alive: true,
                },
            );
            if let Role::Leader { leader_epoch } = r.role {
                self.check_leader_hw(now, b, r.partition, leader_epoch, r.log.hw());
                let t = self.true_hw.entry(r.partition).or_insert((leader_epoch, 0));
                if (leader_epoch, r.log.hw()) > *t {
                    *t = (leader_epoch, r.log.hw());
                }
                self.mark_committed(b, r.partition, r.log.hw());
            }
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
            DiskOp::Flush { .. }
            | DiskOp::CheckpointHw { .. }
            | DiskOp::CheckpointEpochs { .. } => {}
        }
    }

    fn cut_mirror(&mut self, b: BrokerId, p: PartitionId, offset: Offset) {
        let mirror = self.mirrors.entry((b, p)).or_default();
        mirror.truncate(offset.max(0) as usize);
        let marked = self.committed_marked.entry((b, p)).or_default();
        *marked = (*marked).min(offset);
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

    pub fn power_lost(&mut self, b: BrokerId, lost: &[LostSuffix]) {
        self.power_losses += 1;
        for ((broker, _), v) in self.views.iter_mut() {
            if *broker == b {
                v.alive = false;
            }
        }
        for suffix in lost {
            for r in &suffix.records {
                self.power_lost_by
                    .entry(value_id(&r.value))
                    .or_default()
                    .insert(b);
            }
            self.cut_mirror(b, suffix.partition, suffix.from_offset);
        }
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
