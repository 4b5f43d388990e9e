//! A broker as a sans-IO state machine: for each partition it hosts, the replica's log and its
//! role. As leader it handles produce (`acks` 0, 1, all, `min.insync.replicas`), answers
//! follower fetches (with epoch fencing and KIP-320 divergence detection), advances the HW over
//! the ISR and asks the controller to shrink or expand the ISR. As follower it fetches and
//! truncates by leader epoch (KIP-279). It also registers and heartbeats with the controller.

mod fetcher;
mod leader;

use fetcher::*;
use leader::*;

use std::collections::BTreeMap;

use crate::config::*;
use crate::ids::*;
use crate::log::{PartitionLog, Record, SequenceCheck};
use crate::messages::*;
use crate::selftest::{Flaw, SelfTest};
use crate::step::*;

/// What a replica is doing for its partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// No leader known, or this broker is fenced out of the partition.
    Offline,
    Leader {
        leader_epoch: Epoch,
    },
    Follower {
        leader: BrokerId,
        leader_epoch: Epoch,
    },
}

/// The leader's view of one follower.
#[derive(Clone, Debug)]
struct FollowerState {
    /// -1 until the follower fetches in this leader epoch (only such fetches count towards
    /// the HW), unless the old rule remembers it from an earlier epoch.
    leo: Offset,
    /// `leo` is remembered from an earlier leader epoch (the follower has not fetched in
    /// this one yet).
    remembered: bool,
    broker_epoch: i64,
    last_caught_up_ms: TimeMs,
    last_fetch_ms: TimeMs,
    leader_leo_at_last_fetch: Offset,
    /// The HW this leader last told the follower; a held fetch is answered when it moved.
    hw_sent: Offset,
}

#[derive(Clone, Debug)]
struct PendingProduce {
    conn: ConnId,
    correlation_id: u64,
    base_offset: Offset,
    /// The HW must reach this (last offset + 1) before the producer is answered.
    required_hw: Offset,
    deadline_ms: TimeMs,
}

#[derive(Clone, Debug)]
struct PendingFetch {
    conn: ConnId,
    replica: BrokerId,
    fetch_offset: Offset,
    deadline_ms: TimeMs,
}

/// One partition as hosted by this broker.
#[derive(Clone, Debug)]
pub struct Replica {
    pub partition: PartitionId,
    pub log: PartitionLog,
    pub role: Role,
    /// The latest partition state learned from the controller.
    pub state: Option<PartitionState>,
    /// The ISR this leader works with (from the controller, or the last AlterPartition answer).
    pub isr: Vec<BrokerId>,
    followers: BTreeMap<BrokerId, FollowerState>,
    /// An AlterPartition in flight: the proposed ISR.
    pending_isr: Option<Vec<BrokerId>>,
    /// The AlterPartition of `pending_isr`, kept to send again to the next controller. Its
    /// outcome is unknown until an answer or a newer partition state arrives, and until then
    /// the HW must hold back for it (KIP-497's maximal ISR).
    pending_alter: Option<Request>,
    /// `pending_alter` must go out again (its controller stopped answering).
    resend_alter: bool,
    /// After a rejected AlterPartition, the leader waits this long before proposing again
    /// (the controller's view, e.g. a fenced follower, changes on its own schedule).
    next_alter_ms: TimeMs,
    pending_produce: Vec<PendingProduce>,
    pending_fetch: Vec<PendingFetch>,
    fetch_in_flight: bool,
    next_fetch_ms: TimeMs,
    unflushed: u64,
    last_flush_ms: TimeMs,
    checkpointed_hw: Offset,
    /// A follower that learned of a new leader epoch and has not yet checked where its log
    /// stops matching the leader's (only without KIP-320, which checks on every fetch).
    needs_epoch_check: bool,
    /// Followers' LEOs as last reported to this broker while it led, kept across leader
    /// epochs (only with `hw_requires_current_epoch = false`, the rule that uses them).
    remembered_leos: BTreeMap<BrokerId, Offset>,
}

impl Replica {
    fn new(partition: PartitionId, log: PartitionLog, now: TimeMs) -> Self {
        let checkpointed_hw = log.hw();
        Replica {
            partition,
            log,
            role: Role::Offline,
            state: None,
            isr: Vec::new(),
            followers: BTreeMap::new(),
            pending_isr: None,
            pending_alter: None,
            resend_alter: false,
            next_alter_ms: now,
            pending_produce: Vec::new(),
            pending_fetch: Vec::new(),
            fetch_in_flight: false,
            next_fetch_ms: now,
            unflushed: 0,
            last_flush_ms: now,
            checkpointed_hw,
            needs_epoch_check: false,
            remembered_leos: BTreeMap::new(),
        }
    }

    /// The ISR of the AlterPartition this leader has in flight, if any (KIP-497's maximal ISR
    /// is this with the committed ISR).
    pub fn pending_isr(&self) -> Option<&[BrokerId]> {
        self.pending_isr.as_deref()
    }

    pub fn leader_epoch(&self) -> Epoch {
        match self.role {
            Role::Leader { leader_epoch } | Role::Follower { leader_epoch, .. } => leader_epoch,
            Role::Offline => self.state.as_ref().map(|s| s.leader_epoch).unwrap_or(-1),
        }
    }
}

/// A broker's state machine.
#[derive(Debug)]
pub struct Broker {
    pub id: BrokerId,
    cfg: BrokerConfig,
    /// The planted flaws of the checkers' self-test (none in a real run).
    selftest: SelfTest,
    incarnation: u64,
    /// -1 until registered with the controller.
    pub broker_epoch: i64,
    pub fenced: bool,
    replicas: BTreeMap<PartitionId, Replica>,
    heartbeat_in_flight: bool,
    heartbeat_sent_ms: TimeMs,
    next_heartbeat_ms: TimeMs,
    last_hw_checkpoint_ms: TimeMs,
    /// Which of `controller.quorum.voters` this broker talks to; it moves on when that one is
    /// not the active controller, or does not answer.
    controller_idx: usize,
    /// Voters tried in a row without finding the active controller.
    controller_misses: usize,
    /// While `Some`, this broker's metadata replay is stalled (a fault): the partition states
    /// the controller publishes (LeaderAndIsr, heartbeat answers) wait here, newest per
    /// partition, and are applied when it resumes. Its heartbeats, its fetches and the answers
    /// to its own AlterPartition requests go on as before.
    stalled_metadata: Option<BTreeMap<PartitionId, PartitionState>>,
}

impl Broker {
    /// A broker starting (or restarting: `incarnation` counts starts) with the logs it
    /// recovered from its disk.
    pub fn new(
        id: BrokerId,
        cfg: BrokerConfig,
        incarnation: u64,
        now: TimeMs,
        logs: BTreeMap<PartitionId, PartitionLog>,
    ) -> Self {
        let replicas = logs
            .into_iter()
            .map(|(p, log)| (p, Replica::new(p, log, now)))
            .collect();
        Broker {
            id,
            cfg,
            selftest: SelfTest::default(),
            incarnation,
            broker_epoch: -1,
            fenced: true,
            replicas,
            heartbeat_in_flight: false,
            heartbeat_sent_ms: now,
            next_heartbeat_ms: now,
            last_hw_checkpoint_ms: now,
            // Spread the brokers over the voters for their first attempt.
            controller_idx: id.unsigned_abs() as usize,
            controller_misses: 0,
            stalled_metadata: None,
        }
    }

    /// This broker with the planted flaws of a self-test run. `panic-on-restart` acts here: a
    /// restarted broker panics while it recovers.
    pub fn with_selftest(mut self, selftest: SelfTest) -> Self {
        assert!(
            !(selftest.planted(Flaw::PanicOnRestart) && self.incarnation > 1),
            "planted panic: broker {} restarted (flaw panic-on-restart)",
            self.id
        );
        self.selftest = selftest;
        self
    }

    /// Whether this broker's metadata replay is stalled.
    pub fn metadata_stalled(&self) -> bool {
        self.stalled_metadata.is_some()
    }

    /// Stall or resume this broker's metadata replay. A KRaft broker learns leaders and ISRs
    /// by replaying the metadata log; when that replay stalls while its heartbeats go on, it
    /// stays unfenced and keeps acting on the last state it applied: it follows a leader that
    /// was replaced, or leads an epoch that ended. On resuming it applies what it missed.
    pub fn set_metadata_stalled(&mut self, now: TimeMs, stalled: bool) -> Ready {
        let mut ready = Ready::default();
        match (stalled, self.stalled_metadata.take()) {
            (true, held) => self.stalled_metadata = Some(held.unwrap_or_default()),
            (false, Some(held)) => {
                for state in held.into_values() {
                    self.apply_state(now, state, &mut ready);
                }
            }
            (false, None) => {}
        }
        ready
    }

    /// A partition state published by the controller: applied, or held while the metadata
    /// replay is stalled.
    fn published_state(&mut self, now: TimeMs, state: PartitionState, ready: &mut Ready) {
        let Some(held) = &mut self.stalled_metadata else {
            return self.apply_state(now, state, ready);
        };
        let newer = |old: &PartitionState| {
            (state.leader_epoch, state.partition_epoch) > (old.leader_epoch, old.partition_epoch)
        };
        if held.get(&state.partition).is_none_or(newer) {
            held.insert(state.partition, state);
        }
    }

    /// How many times this broker has started (1 for its first process).
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    pub fn replicas(&self) -> impl Iterator<Item = &Replica> {
        self.replicas.values()
    }

    pub fn replica(&self, p: PartitionId) -> Option<&Replica> {
        self.replicas.get(&p)
    }

    pub fn step(&mut self, now: TimeMs, input: Input) -> Ready {
        let mut ready = Ready::default();
        match input {
            Input::Tick => self.on_tick(now, &mut ready),
            Input::Request { conn, request, .. } => self.on_request(now, conn, request, &mut ready),
            Input::Response { from, response } => self.on_response(now, from, response, &mut ready),
            Input::Disconnected { peer } => self.on_disconnected(now, peer),
        }
        ready
    }

    // ---------------------------------------------------------------- timers

    /// The controller this broker currently sends to.
    pub fn controller(&self) -> NodeId {
        let voters = &self.cfg.controller_quorum_voters;
        assert!(!voters.is_empty(), "controller.quorum.voters is empty");
        NodeId::Controller(voters[self.controller_idx % voters.len()])
    }

    /// Try the next voter: the current one is not the active controller or does not answer.
    fn next_controller(&mut self, now: TimeMs) {
        let voters = self.cfg.controller_quorum_voters.len().max(1);
        // `controller()` takes the index modulo the voters.
        self.controller_idx += 1;
        self.heartbeat_in_flight = false;
        // After a full round without an active controller (an election is under way), wait a
        // little instead of spinning through the voters.
        self.controller_misses += 1;
        let backoff = if self.controller_misses >= voters {
            self.cfg.controller_quorum_election_timeout_ms / 4
        } else {
            0
        };
        if self.controller_misses >= voters {
            self.controller_misses = 0;
        }
        self.next_heartbeat_ms = now + backoff;
        // An AlterPartition in flight may or may not have been applied: keep it pending (the
        // HW keeps holding back for it) and send it again to the next controller; a controller
        // that already applied it answers INVALID_UPDATE_VERSION, and the new state arrives
        // with the next heartbeat.
        for r in self.replicas.values_mut() {
            r.resend_alter = r.pending_alter.is_some();
        }
    }

    fn on_tick(&mut self, now: TimeMs, ready: &mut Ready) {
        // A heartbeat unanswered for half a session: the controller is gone or cut off; move
        // on before the session expires at the active one.
        if self.heartbeat_in_flight
            && now.saturating_sub(self.heartbeat_sent_ms) > self.cfg.broker_session_timeout_ms / 2
        {
            self.next_controller(now);
        }
        if !self.heartbeat_in_flight && now >= self.next_heartbeat_ms {
            self.send_heartbeat(now, ready);
        }
        let checkpoint = now.saturating_sub(self.last_hw_checkpoint_ms)
            >= self.cfg.replica_high_watermark_checkpoint_interval_ms;
        if checkpoint {
            self.last_hw_checkpoint_ms = now;
        }
        let ids: Vec<PartitionId> = self.replicas.keys().copied().collect();
        for p in ids {
            match self.replicas[&p].role {
                Role::Leader { .. } => self.leader_tick(now, p, ready),
                Role::Follower { .. } => self.maybe_fetch(now, p, ready),
                Role::Offline => {}
            }
            let r = self.replicas.get_mut(&p).expect("replica exists");
            if let Some(ms) = self.cfg.log_flush_interval_ms {
                if r.unflushed > 0 && now.saturating_sub(r.last_flush_ms) >= ms {
                    flush(r, now, ready);
                }
            }
            if checkpoint && r.checkpointed_hw != r.log.hw() {
                r.checkpointed_hw = r.log.hw();
                ready.disk.push(DiskOp::CheckpointHw {
                    partition: p,
                    hw: r.log.hw(),
                });
            }
        }
    }

    fn send_heartbeat(&mut self, now: TimeMs, ready: &mut Ready) {
        self.heartbeat_in_flight = true;
        self.heartbeat_sent_ms = now;
        self.next_heartbeat_ms = now + self.cfg.broker_heartbeat_interval_ms;
        ready.sends.push(Envelope::To {
            node: self.controller(),
            request: Request::BrokerHeartbeat {
                broker: self.id,
                broker_epoch: self.broker_epoch,
                incarnation: self.incarnation,
                log_ends: self
                    .replicas
                    .values()
                    .map(|r| (r.partition, r.log.last_epoch(), r.log.leo()))
                    .collect(),
            },
        });
    }

    // ---------------------------------------------------------------- requests

    fn on_request(&mut self, now: TimeMs, conn: ConnId, request: Request, ready: &mut Ready) {
        match request {
            Request::Produce {
                correlation_id,
                partition,
                acks,
                timeout_ms,
                producer_id,
                base_sequence,
                records,
            } => {
                let req = ProduceReq {
                    conn,
                    correlation_id,
                    acks,
                    timeout_ms,
                    producer_id,
                    base_sequence,
                };
                self.on_produce(now, partition, req, records, ready)
            }
            Request::Fetch {
                replica_id,
                broker_epoch,
                partition,
                fetch_offset,
                last_fetched_epoch,
                current_leader_epoch,
            } => {
                let fetch = FetchReq {
                    conn,
                    replica: replica_id,
                    broker_epoch,
                    fetch_offset,
                    last_fetched_epoch,
                    current_leader_epoch,
                };
                self.on_fetch(now, partition, fetch, ready)
            }
            Request::LeaderAndIsr { partitions } => {
                for state in partitions {
                    self.published_state(now, state, ready);
                }
            }
            Request::BrokerHeartbeat { .. }
            | Request::AlterPartition(_)
            // A ZooKeeper-mode broker's fencing passes it on as LeaderAndIsr.
            | Request::ZkLeaderAndIsr { .. }
            | Request::UpdateMetadata { .. }
            | Request::Metadata { .. }
            | Request::InitProducerId { .. }
            | Request::JoinGroup { .. }
            | Request::GroupHeartbeat { .. }
            | Request::OffsetCommit { .. }
            | Request::OffsetFetch { .. }
            | Request::Raft { .. }
            | Request::Zk(_)
            | Request::ZkPeer { .. } => {}
        }
    }

    // ---------------------------------------------------------------- responses

    fn on_response(&mut self, now: TimeMs, from: NodeId, response: Response, ready: &mut Ready) {
        match response {
            Response::BrokerHeartbeat { result } => {
                self.on_heartbeat_response(now, from, result, ready)
            }
            Response::Fetch {
                partition,
                leader_epoch,
                result,
            } => self.on_fetch_response(now, from, partition, leader_epoch, result, ready),
            Response::AlterPartition {
                partition,
                proposal,
                result,
            } => {
                if result.as_ref().err() == Some(&ErrorCode::NotController) {
                    self.not_controller(now, from);
                    return;
                }
                let Some(r) = self.replicas.get_mut(&partition) else {
                    return;
                };
                // Kafka ignores an answer to a proposal that is no longer its pending one: a
                // refusal of an older copy must not drop a newer proposal (its HW would pass
                // the replicas that one adds).
                let current = matches!(&r.pending_alter,
                    Some(Request::AlterPartition(a)) if a.proposal() == proposal);
                match result {
                    Ok(state) => {
                        if current {
                            clear_pending_alter(r);
                        }
                        self.apply_state(now, state, ready)
                    }
                    _ if !current => {}
                    // Applied already, or overtaken by another change: the outcome shows in
                    // the next partition state, until which the request stays pending.
                    Err(ErrorCode::InvalidUpdateVersion) => {}
                    Err(_) => {
                        clear_pending_alter(r);
                        r.next_alter_ms = now + self.cfg.replica_fetch_backoff_ms;
                    }
                }
            }
            Response::Produce { .. }
            | Response::Metadata { .. }
            | Response::InitProducerId { .. }
            | Response::JoinGroup { .. }
            | Response::GroupHeartbeat { .. }
            | Response::OffsetCommit { .. }
            | Response::OffsetFetch { .. }
            | Response::Zk(_) => {}
        }
    }

    /// `from` answered NOT_CONTROLLER. Only an answer from the controller this broker sends to
    /// now moves it on: a late answer from one it already left would skip the next one, and a
    /// broker with a heartbeat and an AlterPartition in flight skipped the active controller
    /// round after round (a swarm seed stalled for 60 s with 1759 NOT_CONTROLLER answers).
    fn not_controller(&mut self, now: TimeMs, from: NodeId) {
        if from == self.controller() {
            self.next_controller(now);
        }
    }

    fn on_heartbeat_response(
        &mut self,
        now: TimeMs,
        from: NodeId,
        result: Result<HeartbeatData, ErrorCode>,
        ready: &mut Ready,
    ) {
        self.heartbeat_in_flight = false;
        if result.is_ok() {
            self.controller_misses = 0;
        }
        match result {
            Ok(data) => {
                let was_registering = self.broker_epoch < 0 || self.fenced;
                self.broker_epoch = data.broker_epoch;
                self.fenced = data.fenced;
                for state in data.partitions {
                    self.published_state(now, state, ready);
                }
                // A freshly registered broker heartbeats again at once to be unfenced.
                if was_registering && self.fenced {
                    self.next_heartbeat_ms = now;
                }
            }
            Err(ErrorCode::StaleBrokerEpoch) => {
                self.broker_epoch = -1;
                self.next_heartbeat_ms = now;
            }
            Err(ErrorCode::NotController) => self.not_controller(now, from),
            Err(_) => {}
        }
    }

    fn on_disconnected(&mut self, now: TimeMs, peer: NodeId) {
        match peer {
            NodeId::Controller(_) if peer == self.controller() => self.next_controller(now),
            NodeId::Controller(_) => {}
            NodeId::Broker(b) => {
                for r in self.replicas.values_mut() {
                    if matches!(r.role, Role::Follower { leader, .. } if leader == b) {
                        r.fetch_in_flight = false;
                        r.next_fetch_ms = now + self.cfg.replica_fetch_backoff_ms;
                    }
                }
            }
            NodeId::Client(_) | NodeId::ZooKeeper(_) => {}
        }
    }

    // ---------------------------------------------------------------- roles

    /// Apply a partition state from the controller, ignoring stale ones.
    fn apply_state(&mut self, now: TimeMs, state: PartitionState, ready: &mut Ready) {
        let me = self.id;
        // Like a KRaft broker, which applies metadata only after it registered: a restarted
        // incarnation must not act on a state meant for the previous one (the controller
        // fences the old incarnation and re-elects before it accepts the new registration).
        if self.broker_epoch < 0 || !state.replicas.contains(&me) {
            return;
        }
        let p = state.partition;
        let r = self
            .replicas
            .entry(p)
            .or_insert_with(|| Replica::new(p, PartitionLog::default(), now));
        if let Some(old) = &r.state {
            let newer = (state.leader_epoch, state.partition_epoch)
                > (old.leader_epoch, old.partition_epoch);
            if !newer {
                return;
            }
        }
        r.state = Some(state.clone());
        // A newer partition state settles any AlterPartition in flight: applied (it shows
        // here) or rejected (its partition epoch is stale now).
        clear_pending_alter(r);
        match state.leader {
            Some(l) if l == me => {
                if r.role
                    == (Role::Leader {
                        leader_epoch: state.leader_epoch,
                    })
                {
                    // An ISR change can move the HW at once (a shrink removes a lagging
                    // member from the minimum), as Kafka's handleAlterPartitionUpdate does.
                    r.isr = state.isr.clone();
                    self.maybe_advance_hw(now, p, ready);
                    self.complete_fetches(now, p, false, ready);
                    return;
                }
                self.become_leader(now, state, ready);
            }
            Some(l) => {
                if r.role
                    == (Role::Follower {
                        leader: l,
                        leader_epoch: state.leader_epoch,
                    })
                {
                    return;
                }
                abandon_leadership(r, ready);
                r.role = Role::Follower {
                    leader: l,
                    leader_epoch: state.leader_epoch,
                };
                r.fetch_in_flight = false;
                r.next_fetch_ms = now;
                match self.cfg.protocol.truncation {
                    // Before KIP-101: cut to the own HW, which may lag the leader's, so a
                    // committed record this replica held can go.
                    Truncation::HighWatermark => {
                        let hw = r.log.hw();
                        truncate(r, me, hw, TruncateReason::HighWatermark, ready);
                    }
                    Truncation::Kip101 | Truncation::LeaderEpoch => r.needs_epoch_check = true,
                }
                self.maybe_fetch(now, p, ready);
            }
            None => {
                abandon_leadership(r, ready);
                r.role = Role::Offline;
            }
        }
    }

    fn become_leader(&mut self, now: TimeMs, state: PartitionState, ready: &mut Ready) {
        let me = self.id;
        let p = state.partition;
        let r = self.replicas.get_mut(&p).expect("replica exists");
        abandon_leadership(r, ready);
        r.role = Role::Leader {
            leader_epoch: state.leader_epoch,
        };
        r.isr = state.isr.clone();
        r.needs_epoch_check = false;
        r.log.assign_epoch_start(state.leader_epoch);
        ready.disk.push(DiskOp::CheckpointEpochs {
            partition: p,
            epochs: r.log.epochs().to_vec(),
        });
        // Followers in the ISR get a full lag window from now, as Kafka resets
        // lastCaughtUpTimeMs when a replica becomes leader. Their LEOs are unknown until they
        // fetch in this epoch, unless the old rule remembers them from an earlier one.
        let remembered = if self.cfg.protocol.hw_requires_current_epoch {
            BTreeMap::new()
        } else {
            r.remembered_leos.clone()
        };
        r.followers = state
            .replicas
            .iter()
            .filter(|b| **b != me)
            .map(|b| {
                let caught_up = if state.isr.contains(b) { now } else { 0 };
                (
                    *b,
                    FollowerState {
                        leo: remembered.get(b).copied().unwrap_or(-1),
                        remembered: remembered.contains_key(b),
                        broker_epoch: -1,
                        last_caught_up_ms: caught_up,
                        last_fetch_ms: now,
                        leader_leo_at_last_fetch: r.log.leo(),
                        hw_sent: -1,
                    },
                )
            })
            .collect();
        ready.notes.push(Note::BecameLeader {
            broker: me,
            partition: p,
            leader_epoch: state.leader_epoch,
        });
        self.maybe_advance_hw(now, p, ready);
    }
}

/// A leader that steps down answers what it held: produce requests with an unknown outcome
/// (the records are in its log but may not survive), fetches with NOT_LEADER_OR_FOLLOWER.
fn abandon_leadership(r: &mut Replica, ready: &mut Ready) {
    let epoch = r.leader_epoch();
    for pp in r.pending_produce.drain(..) {
        ready.sends.push(produce_reply(
            pp.conn,
            pp.correlation_id,
            r.partition,
            epoch,
            Err(ErrorCode::NotLeaderOrFollower),
        ));
    }
    for pf in r.pending_fetch.drain(..) {
        ready.sends.push(fetch_reply(
            pf.conn,
            r.partition,
            epoch,
            Err(ErrorCode::NotLeaderOrFollower),
        ));
    }
    clear_pending_alter(r);
    r.followers.clear();
}

fn clear_pending_alter(r: &mut Replica) {
    r.pending_isr = None;
    r.pending_alter = None;
    r.resend_alter = false;
}
