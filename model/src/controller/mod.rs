//! The controller's metadata state machine: it registers brokers, fences those whose session
//! expired (`broker.session.timeout.ms`), elects partition leaders (clean from the ISR, unclean
//! only when `unclean.leader.election.enable`), validates AlterPartition and tells brokers and
//! clients. Every change comes from a `Command`, and `apply` is deterministic, so the quorum
//! replicates the commands in its Raft log and every controller applies the committed ones in
//! the same order (KRaft's metadata log plays this role). `step` runs it as a single node,
//! applying each command at once (for tests of the broker protocol alone).

mod commands;
mod group;

use crate::group::Group;

use std::collections::BTreeMap;

use crate::config::*;
use crate::ids::*;
use crate::messages::*;
use crate::selftest::{Flaw, SelfTest};
use crate::step::*;

/// A replica's log end as it reported it: (broker, last epoch, LEO).
type LogEnd = (BrokerId, Epoch, Offset);

#[derive(Clone, Debug)]
struct Registration {
    broker_epoch: i64,
    incarnation: u64,
    last_heartbeat_ms: TimeMs,
    fenced: bool,
}

/// The replicas of partition `p`, in assignment order: round-robin over brokers `1..=brokers`,
/// as Kafka's default assignor places them. Clean election prefers the first.
pub fn assignment(p: PartitionId, brokers: i32, replication_factor: i32) -> Vec<BrokerId> {
    (0..replication_factor)
        .map(|i| (p + i) % brokers + 1)
        .collect()
}

/// The controller's state machine.
#[derive(Debug)]
pub struct Controller {
    cfg: BrokerConfig,
    /// The planted flaws of the checkers' self-test (none in a real run).
    selftest: SelfTest,
    /// How many topics the partitions make (each of `partitions.len() / topics`).
    topics: i32,
    brokers: BTreeMap<BrokerId, Registration>,
    partitions: BTreeMap<PartitionId, PartitionState>,
    next_broker_epoch: i64,
    /// Each replica's last epoch and LEO as of its latest heartbeat.
    log_ends: BTreeMap<(BrokerId, PartitionId), (Epoch, Offset)>,
    /// The producer id InitProducerId hands out next.
    next_producer_id: i64,
    /// The consumer group.
    group: Group,
}

impl Controller {
    /// The partitions make `topics` topics of equal size, topic by topic (the group
    /// coordinator's assignors work per topic).
    pub fn with_topics(mut self, topics: i32) -> Self {
        assert!(
            topics >= 1 && self.partitions.len() as i32 % topics == 0,
            "every topic has num.partitions partitions"
        );
        self.topics = topics;
        self
    }

    /// A controller for a topic of `partitions` partitions over brokers `1..=brokers`, created
    /// as if every broker was up: each partition led by its first replica in epoch 0, with a
    /// full ISR. Replicas are assigned round-robin, as Kafka's default assignor does.
    pub fn new(cfg: BrokerConfig, brokers: i32, partitions: i32, replication_factor: i32) -> Self {
        assert!(brokers >= 1, "at least one broker");
        assert!(replication_factor >= 1, "replication factor >= 1");
        assert!(
            replication_factor <= brokers,
            "replication factor above broker count"
        );
        let mut parts = BTreeMap::new();
        for p in 0..partitions {
            let replicas = assignment(p, brokers, replication_factor);
            let state = PartitionState {
                partition: p,
                leader: Some(replicas[0]),
                leader_epoch: 0,
                partition_epoch: 0,
                isr: replicas.clone(),
                elr: Vec::new(),
                last_known_elr: Vec::new(),
                replicas,
            };
            parts.insert(p, state);
        }
        Controller {
            cfg,
            selftest: SelfTest::default(),
            topics: 1,
            brokers: BTreeMap::new(),
            partitions: parts,
            next_broker_epoch: 1,
            log_ends: BTreeMap::new(),
            next_producer_id: 0,
            group: Group::default(),
        }
    }

    /// This controller with the planted flaws of a self-test run.
    pub fn with_selftest(mut self, selftest: SelfTest) -> Self {
        self.selftest = selftest;
        self
    }

    pub fn partitions(&self) -> impl Iterator<Item = &PartitionState> {
        self.partitions.values()
    }

    pub fn is_fenced(&self, broker: BrokerId) -> bool {
        self.brokers.get(&broker).map(|r| r.fenced).unwrap_or(true)
    }

    /// Run as a single node: every command is applied at once.
    pub fn step(&mut self, now: TimeMs, input: Input) -> Ready {
        match input {
            Input::Tick if self.sessions_expired(now) => {
                self.apply(&Command::ExpireSessions { now })
            }
            Input::Request {
                conn,
                request: Request::Metadata { correlation_id },
                ..
            } => {
                let mut ready = Ready::default();
                ready.sends.push(Envelope::Reply {
                    conn,
                    response: self.metadata(correlation_id),
                });
                ready
            }
            Input::Request { conn, request, .. } => {
                let origin = Origin {
                    controller: 1,
                    incarnation: 0,
                    conn,
                };
                match Command::for_request(now, origin, &request) {
                    Some(cmd) => self.apply(&cmd),
                    None => Ready::default(),
                }
            }
            // The controller opens connections only to push LeaderAndIsr; brokers converge
            // through heartbeats if a push is lost.
            Input::Tick | Input::Response { .. } | Input::Disconnected { .. } => Ready::default(),
        }
    }

    /// Apply one committed command. Answers to the command's origin are `Envelope::Reply`s on
    /// `origin.conn`; only the origin controller may send them.
    pub fn apply(&mut self, cmd: &Command) -> Ready {
        let mut ready = Ready::default();
        let reply = match cmd {
            Command::Heartbeat {
                now,
                origin,
                broker,
                broker_epoch,
                incarnation,
                log_ends,
            } => {
                for (p, epoch, leo) in log_ends {
                    self.log_ends.insert((*broker, *p), (*epoch, *leo));
                }
                let result = self.heartbeat(*now, *broker, *broker_epoch, *incarnation, &mut ready);
                Some((origin, Response::BrokerHeartbeat { result }))
            }
            Command::AlterPartition {
                origin, request, ..
            } => {
                // Answered with the proposal it decided.
                let answer = Response::AlterPartition {
                    partition: request.partition,
                    proposal: request.proposal(),
                    result: self.alter_partition(request, &mut ready),
                };
                Some((origin, answer))
            }
            Command::AllocateProducerId {
                origin,
                correlation_id,
            } => Some((origin, self.allocate_producer_id(*correlation_id))),
            Command::Group {
                now,
                origin,
                request,
            } => Some((origin, self.group_request(*now, &request.0))),
            Command::ExpireSessions { now } => {
                self.expire_sessions(*now, &mut ready);
                None
            }
            Command::RenewSessions { now } => {
                self.renew_sessions(*now);
                None
            }
        };
        if let Some((origin, response)) = reply {
            let conn = origin.conn;
            ready.sends.push(Envelope::Reply { conn, response });
        }
        ready
    }

    /// The next producer id, for InitProducerId: ids are handed out in the order the
    /// metadata log commits the requests, so every controller hands out the same ones.
    fn allocate_producer_id(&mut self, correlation_id: u64) -> Response {
        let id = self.next_producer_id;
        self.next_producer_id += 1;
        Response::InitProducerId {
            correlation_id,
            result: Ok(id),
        }
    }

    /// A new active controller renews every unfenced broker's and group member's session, so
    /// that the time it was not active does not count against them.
    fn renew_sessions(&mut self, now: TimeMs) {
        for reg in self.brokers.values_mut().filter(|r| !r.fenced) {
            reg.last_heartbeat_ms = reg.last_heartbeat_ms.max(now);
        }
        for (last, _, _) in self.group.members.values_mut() {
            *last = (*last).max(now);
        }
    }

    /// Whether some unfenced broker's session has expired by `now` (the active controller
    /// then proposes `ExpireSessions`).
    pub fn sessions_expired(&self, now: TimeMs) -> bool {
        self.members_expired(now)
            || self.brokers.values().any(|r| {
                !r.fenced
                    && now.saturating_sub(r.last_heartbeat_ms) > self.cfg.broker_session_timeout_ms
            })
    }

    /// The answer to a Metadata request, from the state applied so far.
    pub fn metadata(&self, correlation_id: u64) -> Response {
        Response::Metadata {
            correlation_id,
            brokers: self
                .brokers
                .iter()
                .filter(|(_, r)| !r.fenced)
                .map(|(b, _)| *b)
                .collect(),
            partitions: self.partitions.values().cloned().collect(),
        }
    }

    /// Registration (broker_epoch -1) or heartbeat. As in KRaft, a new incarnation of a broker
    /// is refused while the previous one's session is still valid: the old one must be fenced
    /// (and lose its leaderships) first.
    fn heartbeat(
        &mut self,
        now: TimeMs,
        broker: BrokerId,
        broker_epoch: i64,
        incarnation: u64,
        ready: &mut Ready,
    ) -> Result<HeartbeatData, ErrorCode> {
        if broker_epoch < 0 {
            if let Some(reg) = self.brokers.get(&broker) {
                let session_valid = !reg.fenced
                    && now.saturating_sub(reg.last_heartbeat_ms)
                        <= self.cfg.broker_session_timeout_ms;
                if reg.incarnation == incarnation {
                    return Ok(self.heartbeat_data(broker));
                }
                if session_valid {
                    return Err(ErrorCode::DuplicateBrokerRegistration);
                }
                if !reg.fenced {
                    self.fence(broker, ready);
                }
            }
            let restarted = self.brokers.contains_key(&broker);
            let epoch = self.next_broker_epoch;
            self.next_broker_epoch += 1;
            self.brokers.insert(
                broker,
                Registration {
                    broker_epoch: epoch,
                    incarnation,
                    last_heartbeat_ms: now,
                    fenced: true,
                },
            );
            // Every restart here is an unclean shutdown (ksim has no controlled shutdown): the
            // broker cannot tell whether its page cache survived.
            if restarted && self.cfg.protocol.restart_leaves_isr() {
                self.unclean_shutdown(broker, ready);
            }
            return Ok(self.heartbeat_data(broker));
        }
        let Some(reg) = self.brokers.get_mut(&broker) else {
            return Err(ErrorCode::StaleBrokerEpoch);
        };
        if reg.broker_epoch != broker_epoch {
            return Err(ErrorCode::StaleBrokerEpoch);
        }
        reg.last_heartbeat_ms = now;
        if reg.fenced {
            // Unfence on the first heartbeat after registration (KRaft waits for the broker
            // to catch up with the metadata log; here metadata arrives with the response).
            reg.fenced = false;
            ready.notes.push(Note::BrokerUnfenced {
                broker,
                incarnation: reg.incarnation,
            });
            self.elect_leaderless(ready);
        }
        Ok(self.heartbeat_data(broker))
    }

    fn heartbeat_data(&self, broker: BrokerId) -> HeartbeatData {
        let reg = &self.brokers[&broker];
        HeartbeatData {
            broker_epoch: reg.broker_epoch,
            fenced: reg.fenced,
            partitions: self
                .partitions
                .values()
                .filter(|p| p.replicas.contains(&broker))
                .cloned()
                .collect(),
        }
    }

    fn expire_sessions(&mut self, now: TimeMs, ready: &mut Ready) {
        self.group.expire(now);
        let expired: Vec<BrokerId> = self
            .brokers
            .iter()
            .filter(|(_, r)| {
                !r.fenced
                    && now.saturating_sub(r.last_heartbeat_ms) > self.cfg.broker_session_timeout_ms
            })
            .map(|(b, _)| *b)
            .collect();
        for b in expired {
            self.fence(b, ready);
        }
    }

    /// Fence a broker: it leaves every ISR and loses its leaderships. Before KIP-966 the last
    /// member stays, so that it can be re-elected cleanly when it returns; with
    /// `strict_min_isr` the ISR may empty, and members that leave an ISR below
    /// `min.insync.replicas` become eligible leader replicas.
    fn fence(&mut self, broker: BrokerId, ready: &mut Ready) {
        self.brokers
            .get_mut(&broker)
            .expect("fencing an unregistered broker")
            .fenced = true;
        ready.notes.push(Note::BrokerFenced { broker });
        let proto = self.cfg.protocol;
        let min_isr = self.cfg.min_insync_replicas;
        let ids: Vec<PartitionId> = self.partitions.keys().copied().collect();
        for p in ids {
            let state = self.partitions.get_mut(&p).expect("partition exists");
            if !state.replicas.contains(&broker) {
                continue;
            }
            let mut changed = false;
            if state.isr.contains(&broker) && proto.fence_leaves_isr(state.isr.len()) {
                let new_isr: Vec<BrokerId> =
                    state.isr.iter().copied().filter(|b| *b != broker).collect();
                set_isr(state, new_isr, proto.keeps_elr(), min_isr);
                changed = true;
            }
            if state.leader == Some(broker) {
                self.elect(p, ready);
            } else if changed {
                self.isr_changed(p, ready);
            }
        }
    }

    /// An ISR (or ELR) change without an election: a new partition epoch, told to the
    /// observer and pushed to the replicas.
    fn isr_changed(&mut self, p: PartitionId, ready: &mut Ready) {
        let state = self.partitions.get_mut(&p).expect("partition exists");
        state.partition_epoch += 1;
        ready.notes.push(Note::IsrChanged {
            partition: p,
            isr: state.isr.clone(),
            partition_epoch: state.partition_epoch,
        });
        self.push(p, ready);
    }

    fn elect_leaderless(&mut self, ready: &mut Ready) {
        let leaderless: Vec<PartitionId> = self
            .partitions
            .values()
            .filter(|p| p.leader.is_none())
            .map(|p| p.partition)
            .collect();
        for p in leaderless {
            self.elect(p, ready);
        }
    }

    fn eligible(&self, b: BrokerId) -> bool {
        self.brokers.get(&b).map(|r| !r.fenced).unwrap_or(false)
    }

    /// A broker that registered after an unclean shutdown may have lost any suffix of its
    /// logs, committed records included (a killed process and a power loss look alike to
    /// it): KIP-966 takes it out of every ISR and ELR, so that a replica that kept the data is
    /// elected instead, and remembers it in the last known ELR for when none is left.
    fn unclean_shutdown(&mut self, broker: BrokerId, ready: &mut Ready) {
        let mut noted = false;
        let ids: Vec<PartitionId> = self.partitions.keys().copied().collect();
        for p in ids {
            let state = self.partitions.get_mut(&p).expect("partition exists");
            let member = state.isr.contains(&broker) || state.elr.contains(&broker);
            if !member {
                continue;
            }
            state.isr.retain(|b| *b != broker);
            state.elr.retain(|b| *b != broker);
            if state.isr.len() < self.cfg.min_insync_replicas
                && !state.last_known_elr.contains(&broker)
            {
                state.last_known_elr.push(broker);
            }
            if !noted {
                ready.notes.push(Note::UncleanShutdown { broker });
                noted = true;
            }
            // A broker that never got to heartbeat after registering can still lead in the
            // controller's state (the initial assignment): it must not stay leader outside
            // the ISR.
            if state.leader == Some(broker) {
                self.elect(p, ready);
            } else {
                self.isr_changed(p, ready);
            }
        }
    }

    /// KIP-966's balanced recovery: with no ISR or ELR member left after unclean shutdowns,
    /// once every member of the last known ELR is registered and unfenced, the one of them
    /// with the longest log (last epoch, then LEO, as of its latest heartbeat; ties in
    /// assignment order). Only they were in the ISR when the last records were committed: a
    /// replica outside it may carry a later leader epoch on records that were never committed
    /// (a zombie leader's), and the longest-log rule over every replica elected one whose log
    /// diverged below the committed offset (a swarm seed, 5786). Waiting for all of them
    /// keeps a member that lost data in a power loss from winning over one that was only down.
    fn recovery_candidate(&self, state: &PartitionState) -> Option<(BrokerId, Vec<LogEnd>)> {
        if !self.cfg.protocol.keeps_elr()
            || !state.isr.is_empty()
            || !state.elr.is_empty()
            || state.last_known_elr.is_empty()
            || !state.last_known_elr.iter().all(|b| self.eligible(*b))
        {
            return None;
        }
        let p = state.partition;
        let candidates: Vec<LogEnd> = state
            .replicas
            .iter()
            .filter(|b| state.last_known_elr.contains(b))
            .map(|b| {
                let (e, leo) = self.log_ends.get(&(*b, p)).copied().unwrap_or((-1, 0));
                (*b, e, leo)
            })
            .collect();
        // `max_by_key` keeps the last maximum: reversed, that is the first in assignment order.
        let best = candidates
            .iter()
            .rev()
            .max_by_key(|(_, e, leo)| (*e, *leo))
            .map(|(b, _, _)| *b)?;
        Some((best, candidates))
    }

    /// Elect a leader for `p`: the first live ISR member in assignment order; failing that,
    /// the first live eligible leader replica (KIP-966, ISR := {it}); failing that, KIP-966's
    /// recovery among the last known ELR; failing that, any live replica if unclean election is
    /// enabled (ISR := {it}); failing that, none.
    fn elect(&mut self, p: PartitionId, ready: &mut Ready) {
        let state = self.partitions[&p].clone();
        let outside_isr = self.selftest.planted(Flaw::ElectOutsideIsr);
        let clean = state
            .replicas
            .iter()
            .copied()
            .find(|b| (outside_isr || state.isr.contains(b)) && self.eligible(*b));
        let from_elr = state
            .replicas
            .iter()
            .copied()
            .find(|b| state.elr.contains(b) && self.eligible(*b));
        let recovery = self.recovery_candidate(&state);
        let unclean_pick = || state.replicas.iter().copied().find(|b| self.eligible(*b));
        // Whether the new leader's ISR becomes {it}: on every path but a plain ISR member (and
        // the planted flaw, which must leave the ISR as it was).
        let (leader, unclean, reset_isr, recovered) = match (clean, from_elr, &recovery) {
            (Some(b), _, _) => (Some(b), false, false, false),
            (None, Some(b), _) => {
                ready.notes.push(Note::Mark(Mark::ElrElection));
                (Some(b), false, true, false)
            }
            (None, None, Some((b, _))) => (Some(*b), false, true, true),
            _ if self.cfg.unclean_leader_election_enable
                || self.selftest.planted(Flaw::UncleanWhenDisabled) =>
            {
                (unclean_pick(), true, true, false)
            }
            _ => (None, false, false, false),
        };
        if leader == state.leader {
            return;
        }
        if let (Some((b, candidates)), true) = (&recovery, recovered) {
            ready.notes.push(Note::Recovered {
                partition: p,
                leader: *b,
                candidates: candidates.clone(),
            });
        }
        let flaw = self.selftest.planted(Flaw::ElectWithoutEpochBump)
            && state.leader.is_some()
            && leader.is_some();
        let s = self.partitions.get_mut(&p).expect("partition exists");
        s.leader = leader;
        if !flaw {
            s.leader_epoch += 1;
        }
        s.partition_epoch += 1;
        if let (Some(b), true) = (leader, reset_isr) {
            s.isr = vec![b];
            s.elr.retain(|x| *x != b);
            if unclean {
                s.elr.clear();
            }
            s.last_known_elr.clear();
        }
        ready.notes.push(Note::Elected {
            partition: p,
            leader,
            leader_epoch: s.leader_epoch,
            unclean: unclean && leader.is_some(),
            isr: s.isr.clone(),
        });
        self.push(p, ready);
    }

    /// Tell every registered replica of `p` its new state (the ZooKeeper-era LeaderAndIsr;
    /// KRaft brokers would read the same change from the metadata log).
    fn push(&self, p: PartitionId, ready: &mut Ready) {
        let state = &self.partitions[&p];
        for b in &state.replicas {
            if self.brokers.contains_key(b) {
                ready.sends.push(Envelope::To {
                    node: NodeId::Broker(*b),
                    request: Request::LeaderAndIsr {
                        partitions: vec![state.clone()],
                    },
                });
            }
        }
    }

    fn alter_partition(
        &mut self,
        request: &AlterPartitionRequest,
        ready: &mut Ready,
    ) -> Result<PartitionState, ErrorCode> {
        let AlterPartitionRequest {
            leader,
            broker_epoch,
            partition: p,
            leader_epoch,
            partition_epoch,
            new_isr,
        } = request.clone();
        let Some(state) = self.partitions.get(&p) else {
            return Err(ErrorCode::UnknownTopicOrPartition);
        };
        if state.leader != Some(leader) || leader_epoch != state.leader_epoch {
            return Err(ErrorCode::FencedLeaderEpoch);
        }
        if self.brokers.get(&leader).map(|r| r.broker_epoch) != Some(broker_epoch) {
            return Err(ErrorCode::StaleBrokerEpoch);
        }
        if partition_epoch != state.partition_epoch {
            return Err(ErrorCode::InvalidUpdateVersion);
        }
        if !new_isr.iter().any(|(b, _)| *b == leader) {
            return Err(ErrorCode::InvalidUpdateVersion);
        }
        let check_epoch = self.cfg.protocol.isr_add_checks_broker_epoch;
        // KIP-903: a replica joins the ISR only if it is unfenced and the broker epoch it
        // fetched with is its current one (off: a fetch from before a restart counts).
        let ineligible = new_isr.iter().any(|(b, epoch)| {
            !state.isr.contains(b)
                && (!state.replicas.contains(b)
                    || !self
                        .brokers
                        .get(b)
                        .map(|r| !r.fenced && (!check_epoch || r.broker_epoch == *epoch))
                        .unwrap_or(false))
        });
        if ineligible {
            if self.cfg.protocol.refusal_bumps_partition_epoch {
                // The refusal is a command of the metadata log like any change, so every
                // controller bumps alike, and a copy of this request still in flight meets
                // the new partition epoch wherever it lands.
                self.isr_changed(p, ready);
            }
            return Err(ErrorCode::IneligibleReplica);
        }
        let stale = new_isr.iter().any(|(b, epoch)| {
            !state.isr.contains(b)
                && self
                    .brokers
                    .get(b)
                    .is_some_and(|r| r.broker_epoch != *epoch)
        });
        if stale {
            ready
                .notes
                .push(Note::Mark(Mark::IsrAddWithStaleBrokerEpoch));
        }
        let keeps_elr = self.cfg.protocol.keeps_elr();
        let min_isr = self.cfg.min_insync_replicas;
        let s = self.partitions.get_mut(&p).expect("partition exists");
        let isr = s
            .replicas
            .iter()
            .copied()
            .filter(|r| new_isr.iter().any(|(b, _)| b == r))
            .collect();
        set_isr(s, isr, keeps_elr, min_isr);
        s.partition_epoch += 1;
        ready.notes.push(Note::IsrChanged {
            partition: p,
            isr: s.isr.clone(),
            partition_epoch: s.partition_epoch,
        });
        let result = s.clone();
        self.push(p, ready);
        Ok(result)
    }
}

/// Change an ISR, keeping KIP-966's eligible leader replicas: a member that leaves while the
/// ISR is below `min.insync.replicas` stays eligible (the HW has not moved since, so it holds
/// everything committed); a member that rejoins leaves the ELR; once the ISR is back at the
/// minimum the ELR is no longer needed.
fn set_isr(state: &mut PartitionState, isr: Vec<BrokerId>, keeps_elr: bool, min_isr: usize) {
    if keeps_elr {
        if isr.len() >= min_isr {
            state.last_known_elr.clear();
        }
        if isr.len() < min_isr {
            for b in state.isr.iter().filter(|b| !isr.contains(b)) {
                if !state.elr.contains(b) {
                    state.elr.push(*b);
                }
            }
            state.elr.retain(|b| !isr.contains(b));
        } else {
            state.elr.clear();
        }
    }
    state.isr = isr;
}
