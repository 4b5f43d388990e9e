//! The ZooKeeper-era Kafka controller (`KafkaController` of Kafka 2.8), sans-IO. Every broker
//! runs one; they race to create the ephemeral `/controller`, and the winner bumps
//! `/controller_epoch` by a conditional write before it acts, so two controllers never share
//! an epoch. The active controller watches `/brokers/ids` (a registration's czxid is the
//! broker's epoch, KIP-380) and `/isr_change_notification`, reads every partition's state
//! znode, elects leaders from the ISR (or, with `unclean.leader.election.enable`, from any
//! live replica) when a leader's broker is gone, drops dead brokers from ISRs, writes each
//! change by a conditional update of the state znode (a version conflict means re-read), and
//! sends LeaderAndIsr with its controller epoch to the replicas.
//!
//! The machine never sees a ZooKeeper connection: it asks for operations (`ControllerOut::ops`,
//! each with the `Purpose` its answer serves) and is told their answers, the watches that fire
//! and what happened to the session.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use super::*;
use crate::messages::{PartitionState, Request};
use crate::selftest::{Flaw, SelfTest};
use crate::step::{Envelope, Note};
use crate::zookeeper::{EventKind, SessionId, Stat, ZkAnswer, ZkError, ZkOp};
use crate::NodeId;

/// What a controller is configured with: who it is, and the topic's assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkControllerConfig {
    pub broker: BrokerId,
    pub topic: String,
    /// Each partition's replicas, in assignment order (the preferred leader first).
    pub assignment: Vec<(PartitionId, Vec<BrokerId>)>,
    /// `unclean.leader.election.enable`.
    pub unclean_leader_election: bool,
    /// KIP-380's controller side: at every change of `/brokers/ids` read every registration's
    /// czxid, so that a broker that restarted within its session timeout (still listed, but
    /// registered anew) is seen as bounced: its leaderships move on and it is told its
    /// replicas' state again. Before KIP-380 only new ids were read, and a bounced leader's
    /// partitions stayed without a live leader.
    pub detect_bounced_brokers: bool,
}

/// What an operation's answer is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// `create -e /controller`.
    Claim,
    /// `exists -w /controller`, after losing the race.
    WatchController,
    ReadEpoch,
    /// `/controller_epoch` was missing: create it as 1 (ours).
    CreateEpoch,
    /// `set /controller_epoch` to this epoch, conditional on the version read.
    BumpEpoch(i32),
    ListBrokers,
    /// The registration's stat, for its czxid (the broker epoch).
    BrokerEpoch(BrokerId),
    ReadState(PartitionId),
    /// A parent of a state znode (NODEEXISTS is fine).
    CreatePath,
    CreateState(PartitionId, LeaderIsr),
    /// A new leader or ISR; `unclean` when the leader came from outside the ISR.
    WriteState(PartitionId, LeaderIsr, bool),
    ListIsrChanges,
    DeleteIsrChange,
}

/// The output of one call.
#[derive(Debug, Default)]
pub struct ControllerOut {
    pub ops: Vec<(Purpose, ZkOp)>,
    /// LeaderAndIsr to brokers.
    pub sends: Vec<Envelope>,
    pub notes: Vec<Note>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No session, or not yet trying.
    Idle,
    /// Racing for `/controller`, or bumping the epoch after winning it.
    Claiming,
    /// Another broker is controller; `/controller` is watched.
    Standby,
    Active,
}

#[derive(Clone, Debug)]
pub struct ZkController {
    cfg: ZkControllerConfig,
    phase: Phase,
    /// The ZooKeeper session this controller claims `/controller` with.
    session: Option<SessionId>,
    /// Ours once active; the last one read otherwise.
    epoch: i32,
    /// Registered brokers and their epochs (the czxid of their registration).
    live: BTreeMap<BrokerId, i64>,
    /// Whether `/brokers/ids` has been listed, and every listed broker's epoch learnt, since
    /// this controller became active: until then no broker is judged gone.
    brokers_known: bool,
    /// Listed brokers whose epoch is being read.
    epochs_to_learn: BTreeSet<BrokerId>,
    /// Each partition's state znode and its version.
    states: BTreeMap<PartitionId, (LeaderIsr, i32)>,
    /// Partitions with no state znode yet: created once all their replicas have registered,
    /// as a topic is created on a running cluster.
    to_create: BTreeSet<PartitionId>,
    /// Partitions whose new state is being written: a broker that registers meanwhile is told
    /// the state once written, not the one it replaces (a bounced leader told it still leads
    /// in the old epoch served again from its recovered log, below the HW it had reached).
    writing: BTreeSet<PartitionId>,
    /// Per partition, the brokers that registered anew while its state still names their
    /// previous incarnation: judged dead there until a state is written without them (Kafka
    /// retries onBrokerFailure's election until it lands; a write lost with the connection
    /// left a bounced leader leading an empty log, swarm seed 10067).
    bounced: BTreeMap<PartitionId, BTreeSet<BrokerId>>,
    /// Partitions whose replicas were not told a state because a write was in flight that
    /// then failed: the state read next is sent even if unchanged.
    untold: BTreeSet<PartitionId>,
    /// The planted flaws of the checkers' self-test (none in a real run).
    selftest: SelfTest,
}

impl ZkController {
    pub fn new(cfg: ZkControllerConfig) -> Self {
        ZkController {
            cfg,
            phase: Phase::Idle,
            session: None,
            epoch: 0,
            live: BTreeMap::new(),
            brokers_known: false,
            epochs_to_learn: BTreeSet::new(),
            states: BTreeMap::new(),
            to_create: BTreeSet::new(),
            writing: BTreeSet::new(),
            bounced: BTreeMap::new(),
            untold: BTreeSet::new(),
            selftest: SelfTest::default(),
        }
    }

    /// This controller with the planted flaws of a self-test run (`elect-without-epoch-bump`
    /// acts here as in the KRaft controller).
    pub fn with_selftest(mut self, selftest: SelfTest) -> Self {
        self.selftest = selftest;
        self
    }

    pub fn is_active(&self) -> bool {
        self.phase == Phase::Active
    }

    /// The controller epoch this controller acts in (once active).
    pub fn epoch(&self) -> i32 {
        self.epoch
    }

    /// A new session: race for `/controller`.
    pub fn on_session(&mut self, session: SessionId, out: &mut ControllerOut) {
        self.session = Some(session);
        self.claim(out);
    }

    /// The session expired: resign, as Kafka's controller does when it learns of it. Until
    /// then it may still act (the zombie controller of the ZooKeeper era).
    pub fn on_expired(&mut self) {
        self.phase = Phase::Idle;
        self.session = None;
        self.brokers_known = false;
        self.epochs_to_learn.clear();
        self.live.clear();
        self.states.clear();
    }

    fn claim(&mut self, out: &mut ControllerOut) {
        self.phase = Phase::Claiming;
        let op = ZkOp::Create {
            path: CONTROLLER.into(),
            data: controller_data(self.cfg.broker),
            ephemeral: true,
            sequential: false,
        };
        out.ops.push((Purpose::Claim, op));
    }

    pub fn on_watch(&mut self, path: &str, kind: EventKind, out: &mut ControllerOut) {
        match (path, kind) {
            (CONTROLLER, EventKind::NodeDeleted) if self.phase != Phase::Idle => self.claim(out),
            // A one-shot watch spent on another change (SetWatches after a reconnect reports
            // a `/controller` replaced meanwhile as changed): watch again, as Kafka's
            // ControllerChangeHandler re-reads it. Left unwatched, no standby claimed when
            // that controller died (swarm seed 2436).
            (CONTROLLER, EventKind::NodeDataChanged | EventKind::NodeCreated)
                if self.phase == Phase::Standby =>
            {
                self.stand_by(out)
            }
            (BROKER_IDS, EventKind::NodeChildrenChanged) if self.is_active() => {
                out.ops.push((Purpose::ListBrokers, ls(BROKER_IDS)));
            }
            (ISR_CHANGE_NOTIFICATION, EventKind::NodeChildrenChanged) if self.is_active() => {
                out.ops
                    .push((Purpose::ListIsrChanges, ls(ISR_CHANGE_NOTIFICATION)));
            }
            _ => {}
        }
    }

    /// The answer to an operation this controller asked for (`Err(None)`: the connection
    /// went, outcome unknown).
    pub fn on_answer(
        &mut self,
        purpose: Purpose,
        result: Result<ZkAnswer, Option<ZkError>>,
        out: &mut ControllerOut,
    ) {
        // Answers to what an expired session asked: its successor claims afresh.
        if self.phase == Phase::Idle {
            return;
        }
        match (purpose, result) {
            (Purpose::Claim, Ok(_)) => self.read_epoch(out),
            // Another broker is controller (NODEEXISTS), or the answer was lost with the
            // connection: whether we won then shows in `/controller`.
            (Purpose::Claim, Err(_)) => self.stand_by(out),
            (Purpose::WatchController, Ok(ZkAnswer::Exists(None))) => self.claim(out),
            // Our own claim, whose answer was lost: we won (Kafka's checkControllerAndEpoch).
            (Purpose::WatchController, Ok(ZkAnswer::Exists(Some(stat))))
                if self.phase == Phase::Standby && stat.ephemeral_owner == self.session =>
            {
                self.phase = Phase::Claiming;
                self.read_epoch(out)
            }
            // The look was lost with the connection: look again (queued until reconnected).
            (Purpose::WatchController, Err(None)) if self.phase == Phase::Standby => {
                self.stand_by(out)
            }
            (Purpose::ReadEpoch, Ok(ZkAnswer::Data { data, stat })) => {
                let epoch = parse_epoch(&data) + 1;
                let op = ZkOp::SetData {
                    path: CONTROLLER_EPOCH.into(),
                    data: Bytes::from(epoch.to_string()),
                    version: stat.version,
                };
                out.ops.push((Purpose::BumpEpoch(epoch), op));
            }
            (Purpose::ReadEpoch, Err(None)) => self.read_epoch(out),
            (Purpose::ReadEpoch, Err(Some(ZkError::NoNode))) => {
                let op = create(CONTROLLER_EPOCH, Bytes::from("1"));
                out.ops.push((Purpose::CreateEpoch, op));
            }
            (Purpose::CreateEpoch, Ok(_)) => self.become_active(1, out),
            (Purpose::BumpEpoch(epoch), Ok(_)) => self.become_active(epoch, out),
            // `/controller` is ours, so no other controller can have bumped the epoch: the
            // answer was lost with the connection (the bump may have landed, then this one
            // skips an epoch) or the epoch znode was created meanwhile: read it again.
            (Purpose::CreateEpoch | Purpose::BumpEpoch(_), Err(_)) => self.read_epoch(out),
            (p, r) if self.is_active() => self.on_active_answer(p, r, out),
            _ => {}
        }
    }

    fn read_epoch(&self, out: &mut ControllerOut) {
        out.ops.push((Purpose::ReadEpoch, get(CONTROLLER_EPOCH)));
    }

    fn read_state(&self, p: PartitionId, out: &mut ControllerOut) {
        out.ops
            .push((Purpose::ReadState(p), get(&state_path(&self.cfg.topic, p))));
    }

    fn stand_by(&mut self, out: &mut ControllerOut) {
        self.phase = Phase::Standby;
        let op = ZkOp::Exists {
            path: CONTROLLER.into(),
            watch: true,
        };
        out.ops.push((Purpose::WatchController, op));
    }

    fn become_active(&mut self, epoch: i32, out: &mut ControllerOut) {
        self.phase = Phase::Active;
        self.epoch = epoch;
        self.brokers_known = false;
        self.epochs_to_learn.clear();
        self.live.clear();
        self.states.clear();
        self.to_create.clear();
        self.writing.clear();
        self.bounced.clear();
        self.untold.clear();
        out.ops.push((Purpose::ListBrokers, ls(BROKER_IDS)));
        out.ops
            .push((Purpose::ListIsrChanges, ls(ISR_CHANGE_NOTIFICATION)));
        for (p, _) in self.cfg.assignment.clone() {
            self.read_state(p, out);
        }
    }

    fn on_active_answer(
        &mut self,
        purpose: Purpose,
        result: Result<ZkAnswer, Option<ZkError>>,
        out: &mut ControllerOut,
    ) {
        match (purpose, result) {
            (Purpose::ListBrokers, Ok(ZkAnswer::Children(names))) => {
                self.brokers_listed(&names, out)
            }
            (Purpose::BrokerEpoch(b), Ok(ZkAnswer::Exists(Some(stat)))) => {
                self.epochs_to_learn.remove(&b);
                self.broker_started(b, stat, out);
                self.learnt(out);
            }
            // Gone again before it could be read: the next listing tells.
            (Purpose::BrokerEpoch(b), _) => {
                self.epochs_to_learn.remove(&b);
                self.learnt(out);
            }
            (Purpose::ReadState(p), Ok(ZkAnswer::Data { data, stat })) => {
                if let Some(state) = LeaderIsr::from_bytes(&data) {
                    let known = self.states.get(&p).cloned();
                    let changed = known != Some((state.clone(), stat.version));
                    self.states.insert(p, (state, stat.version));
                    self.reconcile(p, out);
                    // A state this controller has not told the replicas (its own write whose
                    // answer was lost, a leader's ISR change, or every state after a
                    // failover): tell them, unless a newer write is on its way.
                    let owed = self.untold.remove(&p);
                    if (changed || owed) && !self.writing.contains(&p) {
                        self.send_leader_and_isr(p, out);
                    }
                    self.update_metadata(out);
                }
            }
            (Purpose::ReadState(p), Err(Some(ZkError::NoNode))) => {
                self.to_create.insert(p);
                self.create_partitions(out);
            }
            (Purpose::CreateState(p, state), Ok(_)) => {
                self.states.insert(p, (state, 0));
                self.elected(p, false, out);
                self.send_leader_and_isr(p, out);
                self.update_metadata(out);
            }
            (Purpose::WriteState(p, state, unclean), Ok(ZkAnswer::SetData(stat))) => {
                self.writing.remove(&p);
                self.states.insert(p, (state, stat.version));
                self.elected(p, unclean, out);
                self.send_leader_and_isr(p, out);
                self.update_metadata(out);
                // Brokers may have come or gone while the write was in flight (a bounced
                // leader left without a leader by it, back already): judge again.
                self.reconcile(p, out);
            }
            // Someone else wrote it (a partition leader changing its ISR): read it again.
            (Purpose::WriteState(p, ..) | Purpose::CreateState(p, _), Err(_)) => {
                self.writing.remove(&p);
                self.untold.insert(p);
                self.read_state(p, out);
            }
            (Purpose::ListIsrChanges, Ok(ZkAnswer::Children(names))) => {
                self.isr_changes(&names, out)
            }
            _ => {}
        }
    }

    fn brokers_listed(&mut self, names: &[String], out: &mut ControllerOut) {
        let listed: BTreeSet<BrokerId> = names.iter().filter_map(|n| n.parse().ok()).collect();
        let gone: Vec<BrokerId> = self
            .live
            .keys()
            .filter(|b| !listed.contains(b))
            .copied()
            .collect();
        for b in gone {
            self.live.remove(&b);
        }
        for b in &listed {
            let read = self.cfg.detect_bounced_brokers || !self.live.contains_key(b);
            if read && self.epochs_to_learn.insert(*b) {
                let op = ZkOp::Exists {
                    path: broker_path(*b),
                    watch: false,
                };
                out.ops.push((Purpose::BrokerEpoch(*b), op));
            }
        }
        self.epochs_to_learn.retain(|b| listed.contains(b));
        self.learnt(out);
    }

    /// Once every listed broker's epoch is known, judge the partitions.
    fn learnt(&mut self, out: &mut ControllerOut) {
        if !self.epochs_to_learn.is_empty() {
            return;
        }
        self.brokers_known = true;
        for p in self.states.keys().copied().collect::<Vec<_>>() {
            self.reconcile(p, out);
        }
        self.update_metadata(out);
    }

    /// UpdateMetadata to every live broker: who is alive and every partition's state, for
    /// the brokers to answer their clients' Metadata requests from.
    fn update_metadata(&self, out: &mut ControllerOut) {
        let brokers: Vec<BrokerId> = self.live.keys().copied().collect();
        self.update_metadata_to(&brokers, out);
    }

    /// UpdateMetadata to `to` only.
    fn update_metadata_to(&self, to: &[BrokerId], out: &mut ControllerOut) {
        if !self.brokers_known {
            return;
        }
        let partitions: Vec<PartitionState> = self
            .states
            .keys()
            .filter_map(|p| self.partition_state(*p))
            .collect();
        let brokers: Vec<BrokerId> = self.live.keys().copied().collect();
        for b in to {
            let request = Request::UpdateMetadata {
                controller_epoch: self.epoch,
                brokers: brokers.clone(),
                partitions: partitions.clone(),
            };
            out.sends.push(Envelope::To {
                node: NodeId::Broker(*b),
                request,
            });
        }
    }

    fn broker_started(&mut self, b: BrokerId, stat: Stat, out: &mut ControllerOut) {
        let epoch = stat.czxid.as_u64() as i64;
        let previous = self.live.insert(b, epoch);
        if previous == Some(epoch) {
            return;
        }
        if previous.is_some() {
            self.bounced(b);
        }
        self.create_partitions(out);
        for p in self.states.keys().copied().collect::<Vec<_>>() {
            self.reconcile(p, out);
            if self.replicas(p).contains(&b) && !self.writing.contains(&p) {
                self.send_leader_and_isr_to(p, b, out);
            }
        }
    }

    /// A broker registered anew while still listed: its old incarnation is gone, so it is
    /// judged dead for its leaderships and ISR places first (KIP-380), then told its state.
    fn bounced(&mut self, b: BrokerId) {
        for (p, (state, _)) in &self.states {
            if state.leader == b || state.isr.contains(&b) {
                self.bounced.entry(*p).or_default().insert(b);
            }
        }
    }

    /// Each notification names a partition whose leader changed its ISR: read them all again
    /// and delete the notifications.
    fn isr_changes(&mut self, names: &[String], out: &mut ControllerOut) {
        if names.is_empty() {
            return;
        }
        for name in names {
            let op = ZkOp::Delete {
                path: format!("{ISR_CHANGE_NOTIFICATION}/{name}"),
                version: -1,
            };
            out.ops.push((Purpose::DeleteIsrChange, op));
        }
        for (p, _) in self.cfg.assignment.clone() {
            self.read_state(p, out);
        }
    }

    /// A partition's replicas, in assignment order.
    pub fn replicas(&self, p: PartitionId) -> Vec<BrokerId> {
        self.cfg
            .assignment
            .iter()
            .find(|(q, _)| *q == p)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    }

    /// Create the partitions whose replicas have all registered.
    fn create_partitions(&mut self, out: &mut ControllerOut) {
        let ready: Vec<PartitionId> = self
            .to_create
            .iter()
            .copied()
            .filter(|p| self.replicas(*p).iter().all(|b| self.live.contains_key(b)))
            .collect();
        for p in ready {
            self.to_create.remove(&p);
            self.create_partition(p, out);
        }
    }

    /// A new topic's partition: its parents, then its state with the live replicas as ISR
    /// and the first of them as leader.
    fn create_partition(&mut self, p: PartitionId, out: &mut ControllerOut) {
        let paths = state_paths(&self.cfg.topic, p);
        for parent in &paths[..3] {
            out.ops
                .push((Purpose::CreatePath, create(parent, Bytes::new())));
        }
        let isr: Vec<BrokerId> = self
            .replicas(p)
            .into_iter()
            .filter(|b| self.live.contains_key(b))
            .collect();
        let state = LeaderIsr {
            controller_epoch: self.epoch,
            leader: isr.first().copied().unwrap_or(-1),
            version: 1,
            leader_epoch: 0,
            isr,
        };
        let op = create(&paths[3], state.to_bytes());
        out.ops.push((Purpose::CreateState(p, state), op));
    }

    /// Elect a leader if the leader's broker is gone, and drop dead brokers from the ISR;
    /// write the change by a conditional update.
    fn reconcile(&mut self, p: PartitionId, out: &mut ControllerOut) {
        if !self.brokers_known {
            return;
        }
        let Some((state, version)) = self.states.get(&p).cloned() else {
            return;
        };
        let bounced = self.still_bounced(p, &state);
        let alive = |b: &BrokerId| self.live.contains_key(b) && !bounced.contains(b);
        let isr_alive: Vec<BrokerId> = state.isr.iter().copied().filter(alive).collect();
        let leader_alive = state.leader().is_some_and(|l| alive(&l));
        if leader_alive && isr_alive.len() == state.isr.len() {
            return;
        }
        let (leader, isr, unclean) = if leader_alive {
            (state.leader, isr_alive, false)
        } else {
            self.elect(p, &state, isr_alive, &bounced)
        };
        if leader == state.leader && isr == state.isr {
            return;
        }
        let bump = i32::from(!self.selftest.planted(Flaw::ElectWithoutEpochBump));
        let next = LeaderIsr {
            controller_epoch: self.epoch,
            leader,
            version: 1,
            leader_epoch: state.leader_epoch + bump,
            isr,
        };
        let op = ZkOp::SetData {
            path: state_path(&self.cfg.topic, p),
            data: next.to_bytes(),
            version,
        };
        self.writing.insert(p);
        out.ops.push((Purpose::WriteState(p, next, unclean), op));
    }

    /// The bounced brokers partition `p`'s state still names as they were: its leader, or an
    /// ISR member under a leader. A state without a leader has failed them over already (the
    /// last ISR member stays in the ISR, so that its new incarnation may lead again).
    fn still_bounced(&mut self, p: PartitionId, state: &LeaderIsr) -> BTreeSet<BrokerId> {
        let Some(set) = self.bounced.get_mut(&p) else {
            return BTreeSet::new();
        };
        set.retain(|b| state.leader == *b || (state.leader >= 0 && state.isr.contains(b)));
        let set = set.clone();
        if set.is_empty() {
            self.bounced.remove(&p);
        }
        set
    }

    /// The first live ISR member in assignment order; else, if unclean election is enabled,
    /// the first live replica, with an ISR of itself alone (unclean); else no leader.
    fn elect(
        &self,
        p: PartitionId,
        state: &LeaderIsr,
        isr_alive: Vec<BrokerId>,
        bounced: &BTreeSet<BrokerId>,
    ) -> (BrokerId, Vec<BrokerId>, bool) {
        let replicas = self.replicas(p);
        if let Some(l) = replicas.iter().find(|b| isr_alive.contains(b)) {
            return (*l, isr_alive, false);
        }
        if self.cfg.unclean_leader_election {
            let alive = |b: &&BrokerId| self.live.contains_key(b) && !bounced.contains(b);
            if let Some(l) = replicas.iter().find(alive) {
                return (*l, vec![*l], true);
            }
        }
        // No leader: the ISR is kept, so a member that returns can lead again.
        (-1, state.isr.clone(), false)
    }

    fn elected(&self, p: PartitionId, unclean: bool, out: &mut ControllerOut) {
        let (state, _) = &self.states[&p];
        out.notes.push(Note::Elected {
            partition: p,
            leader: state.leader(),
            leader_epoch: state.leader_epoch,
            unclean,
            isr: state.isr.clone(),
        });
    }

    /// The partition's state as the broker's replica applies it.
    pub fn partition_state(&self, p: PartitionId) -> Option<PartitionState> {
        let (state, version) = self.states.get(&p)?;
        Some(PartitionState {
            partition: p,
            replicas: self.replicas(p),
            leader: state.leader(),
            leader_epoch: state.leader_epoch,
            partition_epoch: *version,
            isr: state.isr.clone(),
            elr: Vec::new(),
            last_known_elr: Vec::new(),
        })
    }

    fn send_leader_and_isr(&self, p: PartitionId, out: &mut ControllerOut) {
        for b in self.replicas(p) {
            self.send_leader_and_isr_to(p, b, out);
        }
    }

    /// The connection to broker `b` broke: what was sent on it may be lost. Kafka's
    /// controller channel keeps each request and sends it again once it reconnects; here the
    /// active controller sends `b` its partitions' current state and the metadata again.
    pub fn connection_lost(&self, b: BrokerId, out: &mut ControllerOut) {
        if self.phase != Phase::Active || !self.brokers_known || !self.live.contains_key(&b) {
            return;
        }
        for p in self.states.keys() {
            if self.replicas(*p).contains(&b) && !self.writing.contains(p) {
                self.send_leader_and_isr_to(*p, b, out);
            }
        }
        self.update_metadata_to(&[b], out);
    }

    /// LeaderAndIsr to a live replica, with this controller's epoch and the broker epoch it
    /// knows the replica by.
    fn send_leader_and_isr_to(&self, p: PartitionId, b: BrokerId, out: &mut ControllerOut) {
        let (Some(&broker_epoch), Some(state)) = (self.live.get(&b), self.partition_state(p))
        else {
            return;
        };
        let request = Request::ZkLeaderAndIsr {
            controller_epoch: self.epoch,
            broker_epoch,
            partitions: vec![state],
        };
        out.sends.push(Envelope::To {
            node: NodeId::Broker(b),
            request,
        });
    }
}

fn ls(path: &str) -> ZkOp {
    ZkOp::GetChildren {
        path: path.into(),
        watch: true,
    }
}

fn get(path: &str) -> ZkOp {
    ZkOp::GetData {
        path: path.into(),
        watch: false,
    }
}

fn create(path: &str, data: Bytes) -> ZkOp {
    ZkOp::Create {
        path: path.into(),
        data,
        ephemeral: false,
        sequential: false,
    }
}

fn parse_epoch(data: &[u8]) -> i32 {
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}
