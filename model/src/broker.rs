//! A broker as a sans-IO state machine: for each partition it hosts, the replica's log and its
//! role. As leader it handles produce (`acks` 0, 1, all, `min.insync.replicas`), answers
//! follower fetches (with epoch fencing and KIP-320 divergence detection), advances the HW over
//! the ISR and asks the controller to shrink or expand the ISR. As follower it fetches and
//! truncates by leader epoch (KIP-279). It also registers and heartbeats with the controller.

use std::collections::BTreeMap;

use crate::config::*;
use crate::ids::*;
use crate::log::{PartitionLog, Record, SequenceCheck};
use crate::messages::*;
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
        assert!(
            !(cfg.flaw == Flaw::PanicOnRestart && incarnation > 1),
            "planted panic: broker {id} restarted (flaw panic-on-restart)"
        );
        let replicas = logs
            .into_iter()
            .map(|(p, log)| (p, Replica::new(p, log, now)))
            .collect();
        Broker {
            id,
            cfg,
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
    fn controller(&self) -> NodeId {
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

    fn leader_tick(&mut self, now: TimeMs, p: PartitionId, ready: &mut Ready) {
        let flaw = self.cfg.flaw;
        let r = self.replicas.get_mut(&p).expect("replica exists");
        // Produce requests that waited too long for the HW: the record is in the log, so the
        // outcome is unknown to the producer.
        let (expired, kept): (Vec<_>, Vec<_>) = r
            .pending_produce
            .drain(..)
            .partition(|pp| now >= pp.deadline_ms);
        r.pending_produce = kept;
        let epoch = r.leader_epoch();
        for pp in expired {
            ready.sends.push(produce_reply(
                pp.conn,
                pp.correlation_id,
                p,
                epoch,
                Err(ErrorCode::RequestTimedOut),
            ));
        }
        self.complete_fetches(now, p, true, ready);
        let r = self.replicas.get_mut(&p).expect("replica exists");
        if r.resend_alter {
            if let Some(request) = r.pending_alter.clone() {
                r.resend_alter = false;
                let node = self.controller();
                ready.sends.push(Envelope::To { node, request });
            }
        }
        if flaw == Flaw::HwRegress {
            let r = self.replicas.get_mut(&p).expect("replica exists");
            if r.log.hw() > 0 {
                let hw = r.log.hw() - 1;
                r.log.set_hw(hw);
            }
        }
        self.maybe_shrink_isr(now, p, ready);
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
            } => self.on_produce(
                now,
                conn,
                correlation_id,
                partition,
                acks,
                timeout_ms,
                (producer_id, base_sequence),
                records,
                ready,
            ),
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
            | Request::AlterPartition { .. }
            | Request::Metadata { .. }
            | Request::InitProducerId { .. }
            | Request::JoinGroup { .. }
            | Request::GroupHeartbeat { .. }
            | Request::OffsetCommit { .. }
            | Request::OffsetFetch { .. }
            | Request::Raft { .. } => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_produce(
        &mut self,
        now: TimeMs,
        conn: ConnId,
        correlation_id: u64,
        p: PartitionId,
        acks: Acks,
        timeout_ms: TimeMs,
        (producer_id, base_sequence): (i64, i32),
        records: Vec<ProduceRecord>,
        ready: &mut Ready,
    ) {
        let min_isr = self.cfg.min_insync_replicas;
        let flaw = self.cfg.flaw;
        let Some(r) = self.replicas.get_mut(&p) else {
            ready.sends.push(produce_reply(
                conn,
                correlation_id,
                p,
                -1,
                Err(ErrorCode::NotLeaderOrFollower),
            ));
            return;
        };
        let Role::Leader { leader_epoch } = r.role else {
            if acks != Acks::None {
                ready.sends.push(produce_reply(
                    conn,
                    correlation_id,
                    p,
                    r.leader_epoch(),
                    Err(ErrorCode::NotLeaderOrFollower),
                ));
            }
            return;
        };
        // Checked before the append: a definite failure.
        if acks == Acks::All && r.isr.len() < min_isr {
            ready.sends.push(produce_reply(
                conn,
                correlation_id,
                p,
                leader_epoch,
                Err(ErrorCode::NotEnoughReplicas),
            ));
            return;
        }
        assert!(!records.is_empty(), "empty produce");
        // An idempotent producer's batch: a retry of one this log holds is answered with its
        // offset once it is committed, and a gap is refused (Kafka's producer state).
        let duplicate = match (producer_id >= 0).then(|| {
            let last = base_sequence.wrapping_add(records.len() as i32 - 1);
            r.log.check_sequence(producer_id, base_sequence, last)
        }) {
            Some(SequenceCheck::OutOfOrder { .. }) if flaw != Flaw::ReorderRetries => {
                ready.notes.push(Note::Mark(Mark::OutOfOrderSequence));
                ready.sends.push(produce_reply(
                    conn,
                    correlation_id,
                    p,
                    leader_epoch,
                    Err(ErrorCode::OutOfOrderSequenceNumber),
                ));
                return;
            }
            Some(SequenceCheck::Duplicate(offset)) if flaw != Flaw::SkipDuplicateCheck => {
                ready.notes.push(Note::Mark(Mark::IdempotentDuplicate));
                Some(offset)
            }
            _ => None,
        };
        let (base_offset, required_hw) = match duplicate {
            Some(offset) => (offset, (offset + records.len() as Offset).min(r.log.leo())),
            None => {
                let base_offset = r.log.leo();
                let batch: Vec<Record> = records
                    .into_iter()
                    .enumerate()
                    .map(|(i, pr)| Record {
                        offset: base_offset + i as Offset,
                        leader_epoch,
                        producer_id,
                        sequence: if producer_id >= 0 {
                            base_sequence.wrapping_add(i as i32)
                        } else {
                            -1
                        },
                        base_offset,
                        key: pr.key,
                        value: pr.value,
                    })
                    .collect();
                let required_hw = base_offset + batch.len() as Offset;
                append(r, now, &self.cfg, batch, ready);
                (base_offset, required_hw)
            }
        };
        match acks {
            Acks::None => {}
            Acks::Leader => ready.sends.push(produce_reply(
                conn,
                correlation_id,
                p,
                leader_epoch,
                Ok(base_offset),
            )),
            Acks::All if flaw == Flaw::AckBeforeReplication => ready.sends.push(produce_reply(
                conn,
                correlation_id,
                p,
                leader_epoch,
                Ok(base_offset),
            )),
            Acks::All => r.pending_produce.push(PendingProduce {
                conn,
                correlation_id,
                base_offset,
                required_hw,
                deadline_ms: now + timeout_ms,
            }),
        }
        if duplicate.is_some() {
            // The retried batch may be committed already: answer now rather than at the next
            // HW advance.
            self.complete_produces(now, p, ready);
        }
        self.maybe_advance_hw(now, p, ready);
        self.complete_fetches(now, p, false, ready);
    }

    fn on_fetch(&mut self, now: TimeMs, p: PartitionId, f: FetchReq, ready: &mut Ready) {
        let Some(r) = self.replicas.get_mut(&p) else {
            ready.sends.push(fetch_reply(
                f.conn,
                p,
                f.current_leader_epoch,
                Err(ErrorCode::NotLeaderOrFollower),
            ));
            return;
        };
        let my_epoch = r.leader_epoch();
        let proto = self.cfg.protocol;
        // Epoch fencing (KIP-320): a stale requester is fenced, a newer one means this broker
        // has not heard of the new epoch yet. A fetch without an epoch (-1, as before Kafka 2.1)
        // is served by whoever believes it leads.
        let error = if f.current_leader_epoch < 0 {
            (!matches!(r.role, Role::Leader { .. })).then_some(ErrorCode::NotLeaderOrFollower)
        } else if f.current_leader_epoch < my_epoch {
            Some(ErrorCode::FencedLeaderEpoch)
        } else if f.current_leader_epoch > my_epoch {
            Some(ErrorCode::UnknownLeaderEpoch)
        } else if !matches!(r.role, Role::Leader { .. }) {
            Some(ErrorCode::NotLeaderOrFollower)
        } else {
            None
        };
        if let Some(e) = error {
            if e == ErrorCode::FencedLeaderEpoch {
                ready.notes.push(Note::Mark(Mark::FencedLeaderEpoch));
            }
            ready
                .sends
                .push(fetch_reply(f.conn, p, f.current_leader_epoch, Err(e)));
            return;
        }
        // A consumer (replica id -1): records below the HW only, answered at once. Its fetches
        // change nothing of the leader's follower state.
        if f.replica < 0 {
            let hw = if self.cfg.flaw == Flaw::ReadAboveHw {
                r.log.leo()
            } else {
                r.log.hw()
            };
            let result = if f.fetch_offset > r.log.leo() || f.fetch_offset < 0 {
                Err(ErrorCode::OffsetOutOfRange)
            } else {
                let max = self.cfg.replica_fetch_max_records;
                Ok(FetchData {
                    high_watermark: hw,
                    log_end_offset: r.log.leo(),
                    diverging_epoch: None,
                    truncate_to: None,
                    records: r
                        .log
                        .read(f.fetch_offset, max)
                        .into_iter()
                        .filter(|rec| rec.offset < hw)
                        .collect(),
                })
            };
            ready.sends.push(fetch_reply(f.conn, p, my_epoch, result));
            return;
        }
        // Flaw::SkipTruncation drops the check, so a diverged follower never truncates.
        let diverging = match self.cfg.flaw {
            Flaw::SkipTruncation => None,
            _ => check_follower_log(
                &r.log,
                proto.truncation,
                f.fetch_offset,
                f.last_fetched_epoch,
            ),
        };
        if let Some(diverging) = diverging {
            let (diverging_epoch, truncate_to) = match diverging {
                Divergence::Epoch(epoch, end) => {
                    ready.notes.push(Note::Mark(Mark::DivergingEpoch));
                    (Some((epoch, end)), None)
                }
                Divergence::TruncateTo(offset, why) => (None, Some((offset, why))),
            };
            let data = FetchData {
                high_watermark: r.log.hw(),
                log_end_offset: r.log.leo(),
                diverging_epoch,
                truncate_to,
                records: Vec::new(),
            };
            ready.sends.push(fetch_reply(f.conn, p, my_epoch, Ok(data)));
            return;
        }
        let leo = r.log.leo();
        // Kafka's followerReplicaOrThrow: a fetch from a broker that is not a replica of this
        // partition is refused.
        let Some(fs) = r.followers.get_mut(&f.replica) else {
            let refusal = Err(ErrorCode::NotLeaderOrFollower);
            ready.sends.push(fetch_reply(f.conn, p, my_epoch, refusal));
            return;
        };
        // Kafka's lastCaughtUpTimeMs: caught up now if at our LEO; caught up as of the
        // previous fetch if it reached the LEO we had then.
        if f.fetch_offset >= leo {
            fs.last_caught_up_ms = now;
        } else if f.fetch_offset >= fs.leader_leo_at_last_fetch {
            fs.last_caught_up_ms = fs.last_caught_up_ms.max(fs.last_fetch_ms);
        }
        fs.leo = f.fetch_offset;
        fs.broker_epoch = f.broker_epoch;
        if !proto.hw_requires_current_epoch {
            r.remembered_leos.insert(f.replica, f.fetch_offset);
        }
        fs.last_fetch_ms = now;
        fs.leader_leo_at_last_fetch = leo;
        r.pending_fetch.retain(|pf| pf.replica != f.replica);
        let wait = self.cfg.replica_fetch_wait_max_ms;
        r.pending_fetch.push(PendingFetch {
            conn: f.conn,
            replica: f.replica,
            fetch_offset: f.fetch_offset,
            deadline_ms: now + wait,
        });
        self.maybe_expand_isr(now, p, f.replica, ready);
        self.maybe_advance_hw(now, p, ready);
        self.complete_fetches(now, p, false, ready);
    }

    /// Answer held fetches (a long poll of up to `replica.fetch.wait.max.ms`) that have
    /// something new: records, or an HW the follower has not been told. Telling followers the
    /// HW promptly is what lets them serve it after a failover.
    fn complete_fetches(
        &mut self,
        now: TimeMs,
        p: PartitionId,
        force_expired: bool,
        ready: &mut Ready,
    ) {
        let max = self.cfg.replica_fetch_max_records;
        let r = self.replicas.get_mut(&p).expect("replica exists");
        let Role::Leader { leader_epoch } = r.role else {
            return;
        };
        let hw = r.log.hw();
        let leo = r.log.leo();
        let mut kept = Vec::new();
        for pf in std::mem::take(&mut r.pending_fetch) {
            let fs = r
                .followers
                .get_mut(&pf.replica)
                .expect("a held fetch has follower state");
            let answer = pf.fetch_offset < leo
                || fs.hw_sent != hw
                || (force_expired && now >= pf.deadline_ms);
            if !answer {
                kept.push(pf);
                continue;
            }
            fs.hw_sent = hw;
            let records = r.log.read(pf.fetch_offset, max);
            let data = FetchData {
                high_watermark: hw,
                log_end_offset: leo,
                diverging_epoch: None,
                truncate_to: None,
                records,
            };
            ready
                .sends
                .push(fetch_reply(pf.conn, p, leader_epoch, Ok(data)));
        }
        r.pending_fetch = kept;
    }

    /// Leader HW: the smallest LEO over the maximal ISR (ISR plus replicas being added,
    /// KIP-497); only followers that fetched in this epoch count, and it does not move while
    /// the ISR is smaller than `min.insync.replicas` (KIP-966). Each of the three is a
    /// protocol switch.
    fn maybe_advance_hw(&mut self, now: TimeMs, p: PartitionId, ready: &mut Ready) {
        let min_isr = self.cfg.min_insync_replicas;
        let proto = self.cfg.protocol;
        let me = self.id;
        let r = self.replicas.get_mut(&p).expect("replica exists");
        if !matches!(r.role, Role::Leader { .. }) {
            return;
        }
        // strict_min_isr = false: before KIP-966 the HW advanced over whatever ISR was left.
        if proto.strict_min_isr && r.isr.len() < min_isr {
            return;
        }
        let mut maximal: Vec<BrokerId> = r.isr.clone();
        // hw_over_maximal_isr = false: before KIP-497 a replica being added did not hold the
        // HW back, so it could join the ISR already behind it.
        if proto.hw_over_maximal_isr {
            if let Some(pending) = &r.pending_isr {
                maximal.extend(pending.iter().filter(|b| !r.isr.contains(b)));
            }
        }
        let mut candidate = r.log.leo();
        for b in maximal.iter().filter(|b| **b != me) {
            // A follower that has not fetched in this epoch holds the HW back (LEO -1), unless
            // hw_requires_current_epoch = false remembered its LEO from an earlier epoch.
            match r.followers.get(b) {
                Some(fs) => candidate = candidate.min(fs.leo),
                None => return,
            }
        }
        if candidate > r.log.hw() {
            r.log.set_hw(candidate);
            self.complete_produces(now, p, ready);
        }
    }

    fn complete_produces(&mut self, _now: TimeMs, p: PartitionId, ready: &mut Ready) {
        let min_isr = self.cfg.min_insync_replicas;
        let r = self.replicas.get_mut(&p).expect("replica exists");
        let hw = r.log.hw();
        let isr_ok = r.isr.len() >= min_isr;
        let epoch = r.leader_epoch();
        let (done, kept): (Vec<_>, Vec<_>) = r
            .pending_produce
            .drain(..)
            .partition(|pp| pp.required_hw <= hw);
        r.pending_produce = kept;
        for pp in done {
            // The record is committed, but the ISR shrank below the minimum meanwhile: Kafka
            // answers with an error although the record is in the log (ambiguous outcome).
            let result = if isr_ok {
                Ok(pp.base_offset)
            } else {
                Err(ErrorCode::NotEnoughReplicasAfterAppend)
            };
            ready
                .sends
                .push(produce_reply(pp.conn, pp.correlation_id, p, epoch, result));
        }
    }

    /// Ask the controller to drop followers that have not caught up within
    /// `replica.lag.time.max.ms`.
    fn maybe_shrink_isr(&mut self, now: TimeMs, p: PartitionId, ready: &mut Ready) {
        let lag_max = self.cfg.replica_lag_time_max_ms;
        let me = self.id;
        let r = &self.replicas[&p];
        if r.pending_isr.is_some() || self.cfg.flaw == Flaw::NeverShrinkIsr {
            return;
        }
        let lagging: Vec<BrokerId> = r
            .isr
            .iter()
            .copied()
            .filter(|b| *b != me)
            .filter(|b| {
                r.followers
                    .get(b)
                    .map(|fs| now.saturating_sub(fs.last_caught_up_ms) > lag_max)
                    .unwrap_or(true)
            })
            .collect();
        if lagging.is_empty() {
            return;
        }
        ready.notes.push(Note::Mark(Mark::IsrShrinkForLag));
        let new_isr: Vec<BrokerId> = r
            .isr
            .iter()
            .copied()
            .filter(|b| !lagging.contains(b))
            .collect();
        self.send_alter_partition(now, p, new_isr, ready);
    }

    /// Ask the controller to add a follower that caught up: LEO >= leader HW and >= the start
    /// of the leader's epoch.
    fn maybe_expand_isr(
        &mut self,
        now: TimeMs,
        p: PartitionId,
        follower: BrokerId,
        ready: &mut Ready,
    ) {
        let r = &self.replicas[&p];
        let Role::Leader { leader_epoch } = r.role else {
            return;
        };
        if r.pending_isr.is_some() || r.isr.contains(&follower) {
            return;
        }
        let Some(state) = &r.state else { return };
        if !state.replicas.contains(&follower) {
            return;
        }
        let fs = &r.followers[&follower];
        // isr_expand_requires_epoch_start = false: before KAFKA-7128, LEO >= HW was enough;
        // a new leader's HW may still lag what the previous leader committed.
        let epoch_start = if self.cfg.protocol.isr_expand_requires_epoch_start {
            r.log.epoch_start(leader_epoch).unwrap_or(0)
        } else {
            0
        };
        if fs.leo >= r.log.hw() && fs.leo >= epoch_start {
            ready.notes.push(Note::Mark(Mark::IsrExpand));
            let mut new_isr = r.isr.clone();
            new_isr.push(follower);
            self.send_alter_partition(now, p, new_isr, ready);
        }
    }

    fn send_alter_partition(
        &mut self,
        now: TimeMs,
        p: PartitionId,
        new_isr: Vec<BrokerId>,
        ready: &mut Ready,
    ) {
        let me = self.id;
        let broker_epoch = self.broker_epoch;
        let r = self.replicas.get_mut(&p).expect("replica exists");
        let (Role::Leader { leader_epoch }, Some(state)) = (r.role, &r.state) else {
            return;
        };
        if now < r.next_alter_ms {
            return;
        }
        let with_epochs = new_isr
            .iter()
            .map(|b| {
                (
                    *b,
                    if *b == me {
                        broker_epoch
                    } else {
                        // Every replica but the leader has a follower state.
                        r.followers[b].broker_epoch
                    },
                )
            })
            .collect();
        let request = Request::AlterPartition {
            leader: me,
            broker_epoch,
            partition: p,
            leader_epoch,
            partition_epoch: state.partition_epoch,
            new_isr: with_epochs,
        };
        r.pending_isr = Some(new_isr);
        r.pending_alter = Some(request.clone());
        r.resend_alter = false;
        let node = self.controller();
        ready.sends.push(Envelope::To { node, request });
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
                    Some(Request::AlterPartition { partition_epoch, new_isr, .. })
                        if crate::controller::proposal(*partition_epoch, new_isr) == proposal);
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
            | Response::OffsetFetch { .. } => {}
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

    fn on_fetch_response(
        &mut self,
        now: TimeMs,
        from: NodeId,
        p: PartitionId,
        epoch: Epoch,
        result: Result<FetchData, ErrorCode>,
        ready: &mut Ready,
    ) {
        let backoff = self.cfg.replica_fetch_backoff_ms;
        let fencing = self.cfg.protocol.fetch_epoch_fencing;
        let me = self.id;
        let Some(r) = self.replicas.get_mut(&p) else {
            return;
        };
        let Role::Follower {
            leader,
            leader_epoch,
        } = r.role
        else {
            return;
        };
        // An answer from an older role is dropped; without epochs on fetches, any answer from
        // the broker this replica follows is taken.
        let current = if fencing {
            epoch == leader_epoch
        } else {
            from == NodeId::Broker(leader)
        };
        if !current {
            return;
        }
        r.fetch_in_flight = false;
        let data = match result {
            Ok(data) => data,
            Err(_) => {
                r.next_fetch_ms = now + backoff;
                return;
            }
        };
        if let Some((offset, why)) = data.truncate_to {
            // The older rules: cut where the leader said, once (KIP-101 asks only one round).
            let target = offset.min(r.log.leo());
            truncate(r, me, target, why, ready);
            r.needs_epoch_check = false;
            r.next_fetch_ms = now;
            self.maybe_fetch(now, p, ready);
            return;
        }
        if let Some((div_epoch, leader_end)) = data.diverging_epoch {
            // KIP-279: truncate to the smaller of where that epoch ends here and on the
            // leader, then fetch again; the leader checks again until the logs match.
            let own_end = match div_epoch {
                Some(e) => r
                    .log
                    .end_offset_for_epoch(e)
                    .map(|(_, end)| end)
                    .unwrap_or(0),
                None => 0,
            };
            truncate(
                r,
                me,
                own_end.min(leader_end),
                TruncateReason::DivergingEpoch,
                ready,
            );
            r.next_fetch_ms = now;
            self.maybe_fetch(now, p, ready);
            return;
        }
        // The leader found no divergence: the logs match as far as it can tell.
        r.needs_epoch_check = false;
        if let Some(first) = data.records.first() {
            if first.offset != r.log.leo() {
                r.next_fetch_ms = now;
                return; // stale answer after a truncation
            }
            append(r, now, &self.cfg, data.records, ready);
        }
        // Follower HW: the leader's HW, capped by its own LEO.
        if self.cfg.flaw == Flaw::FollowerHwAboveLeo {
            r.log.set_hw_unchecked(data.high_watermark);
        } else {
            r.log.set_hw(data.high_watermark.min(r.log.leo()));
        }
        r.next_fetch_ms = now;
        self.maybe_fetch(now, p, ready);
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
            NodeId::Client(_) => {}
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

    fn maybe_fetch(&mut self, now: TimeMs, p: PartitionId, ready: &mut Ready) {
        let r = self.replicas.get_mut(&p).expect("replica exists");
        let Role::Follower {
            leader,
            leader_epoch,
        } = r.role
        else {
            return;
        };
        if self.cfg.flaw == Flaw::FollowersNeverFetch || r.fetch_in_flight || now < r.next_fetch_ms
        {
            return;
        }
        r.fetch_in_flight = true;
        let proto = self.cfg.protocol;
        // KIP-320 puts the epochs on every fetch. Without it the follower asks about its epoch
        // only after it learned of a new leader epoch (KIP-101's OffsetForLeaderEpoch,
        // modelled as that first fetch), and before KIP-101 never.
        let validate = proto.truncation != Truncation::HighWatermark
            && (proto.fetch_epoch_fencing || r.needs_epoch_check);
        // Kafka sends the latest epoch of the leader-epoch cache, which may be newer than the
        // last record's (an epoch this replica led without writing).
        let last_fetched_epoch = if validate {
            r.log.latest_cached_epoch()
        } else {
            -1
        };
        let current_leader_epoch = if proto.fetch_epoch_fencing {
            leader_epoch
        } else {
            -1
        };
        ready.sends.push(Envelope::To {
            node: NodeId::Broker(leader),
            request: Request::Fetch {
                replica_id: self.id,
                broker_epoch: self.broker_epoch,
                partition: p,
                fetch_offset: r.log.leo(),
                last_fetched_epoch,
                current_leader_epoch,
            },
        });
    }
}

struct FetchReq {
    conn: ConnId,
    replica: BrokerId,
    broker_epoch: i64,
    fetch_offset: Offset,
    last_fetched_epoch: Epoch,
    current_leader_epoch: Epoch,
}

/// KIP-320: does a follower that fetches at `fetch_offset` after `last_fetched_epoch` diverge
/// from this leader's log? If so, the largest epoch <= its epoch here and where it ends.
fn divergence(
    log: &PartitionLog,
    fetch_offset: Offset,
    last_fetched_epoch: Epoch,
) -> Option<(Option<Epoch>, Offset)> {
    // Only asked with an epoch: check_follower_log answers a fetch without one.
    match log.end_offset_for_epoch(last_fetched_epoch) {
        None => Some((None, 0)),
        Some((epoch, end)) if epoch < last_fetched_epoch || end < fetch_offset => {
            Some((Some(epoch), end))
        }
        Some(_) => None,
    }
}

/// What a leader tells a follower whose log may not match its own.
enum Divergence {
    /// KIP-279/KIP-320: the largest epoch <= the follower's and where it ends here.
    Epoch(Option<Epoch>, Offset),
    /// The older answers: an offset to truncate to.
    TruncateTo(Offset, TruncateReason),
}

/// The leader's check of a fetch under the configured truncation rule. A fetch without an
/// epoch (`last_fetched_epoch` -1: before KIP-101, or a plain fetch without KIP-320) can only
/// be caught fetching beyond the LEO.
fn check_follower_log(
    log: &PartitionLog,
    truncation: Truncation,
    fetch_offset: Offset,
    last_fetched_epoch: Epoch,
) -> Option<Divergence> {
    if last_fetched_epoch < 0 || truncation == Truncation::HighWatermark {
        return (fetch_offset > log.leo())
            .then(|| Divergence::TruncateTo(log.leo(), TruncateReason::OffsetOutOfRange));
    }
    match truncation {
        Truncation::Kip101 => {
            let end = kip101_end_offset(log, last_fetched_epoch);
            (end < fetch_offset).then_some(Divergence::TruncateTo(end, TruncateReason::Kip101))
        }
        _ => divergence(log, fetch_offset, last_fetched_epoch)
            .map(|(epoch, end)| Divergence::Epoch(epoch, end)),
    }
}

/// KIP-101's OffsetForLeaderEpoch answer (Kafka 0.11): the LEO if the follower's epoch is the
/// leader's latest, else the start offset of the first epoch above it. It does not say which
/// epoch the answer belongs to, so a follower whose log diverged inside an older epoch keeps
/// the divergent records (the cases KIP-279 fixed).
fn kip101_end_offset(log: &PartitionLog, requested: Epoch) -> Offset {
    if requested == log.latest_cached_epoch() {
        return log.leo();
    }
    log.epochs()
        .iter()
        .find(|e| e.epoch > requested)
        .map(|e| e.start_offset)
        .unwrap_or_else(|| log.leo())
}

fn append(
    r: &mut Replica,
    now: TimeMs,
    cfg: &BrokerConfig,
    records: Vec<Record>,
    ready: &mut Ready,
) {
    let new_epoch = records.last().map(|rec| rec.leader_epoch) != Some(r.log.latest_cached_epoch());
    r.log.append(&records);
    r.unflushed += records.len() as u64;
    ready.disk.push(DiskOp::Append {
        partition: r.partition,
        records,
    });
    if new_epoch {
        ready.disk.push(DiskOp::CheckpointEpochs {
            partition: r.partition,
            epochs: r.log.epochs().to_vec(),
        });
    }
    if let Some(n) = cfg.log_flush_interval_messages {
        if r.unflushed >= n {
            flush(r, now, ready);
        }
    }
}

fn flush(r: &mut Replica, now: TimeMs, ready: &mut Ready) {
    r.unflushed = 0;
    r.last_flush_ms = now;
    ready.disk.push(DiskOp::Flush {
        partition: r.partition,
    });
}

/// Truncate to `target`. Even at the LEO this may cut epoch-cache entries that have no
/// records (an epoch this replica led without writing), as Kafka's `truncateTo` does; without
/// that the follower would keep announcing an epoch the leader does not know.
fn truncate(
    r: &mut Replica,
    me: BrokerId,
    target: Offset,
    reason: TruncateReason,
    ready: &mut Ready,
) {
    let from_leo = r.log.leo();
    let epochs_before = r.log.epochs().len();
    r.log.truncate_to(target);
    if target < from_leo {
        ready.disk.push(DiskOp::Truncate {
            partition: r.partition,
            offset: target,
        });
        ready.notes.push(Note::Truncated {
            broker: me,
            partition: r.partition,
            from_leo,
            to: target,
            reason,
        });
    }
    if target < from_leo || r.log.epochs().len() != epochs_before {
        ready.disk.push(DiskOp::CheckpointEpochs {
            partition: r.partition,
            epochs: r.log.epochs().to_vec(),
        });
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

fn produce_reply(
    conn: ConnId,
    correlation_id: u64,
    partition: PartitionId,
    leader_epoch: Epoch,
    result: Result<Offset, ErrorCode>,
) -> Envelope {
    Envelope::Reply {
        conn,
        response: Response::Produce {
            correlation_id,
            partition,
            leader_epoch,
            result,
        },
    }
}

fn fetch_reply(
    conn: ConnId,
    partition: PartitionId,
    leader_epoch: Epoch,
    result: Result<FetchData, ErrorCode>,
) -> Envelope {
    Envelope::Reply {
        conn,
        response: Response::Fetch {
            partition,
            leader_epoch,
            result,
        },
    }
}
