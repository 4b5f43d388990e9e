//! The minimal controller: one node that registers brokers, fences those whose session
//! expired (`broker.session.timeout.ms`), elects partition leaders (clean from the ISR, unclean
//! only when `unclean.leader.election.enable`), validates AlterPartition and tells brokers and
//! clients. It is a single node with no replication; a quorum can replace it behind the same
//! messages (BrokerHeartbeat, AlterPartition, Metadata, LeaderAndIsr).

use std::collections::BTreeMap;

use crate::types::*;

#[derive(Clone, Debug)]
struct Registration {
    broker_epoch: i64,
    incarnation: u64,
    last_heartbeat_ms: TimeMs,
    fenced: bool,
}

/// The controller's state machine.
#[derive(Debug)]
pub struct Controller {
    cfg: BrokerConfig,
    brokers: BTreeMap<BrokerId, Registration>,
    partitions: BTreeMap<PartitionId, PartitionState>,
    next_broker_epoch: i64,
    elections: u64,
}

impl Controller {
    /// A controller for a topic of `partitions` partitions over brokers `1..=brokers`, created
    /// as if every broker was up: each partition led by its first replica in epoch 0, with a
    /// full ISR. Replicas are assigned round-robin, as Kafka's default assignor does.
    pub fn new(cfg: BrokerConfig, brokers: i32, partitions: i32, replication_factor: i32) -> Self {
        assert!(brokers >= 1, "at least one broker");
        assert!(replication_factor >= 1, "replication factor >= 1");
        assert!(replication_factor <= brokers, "replication factor above broker count");
        let mut parts = BTreeMap::new();
        for p in 0..partitions {
            let replicas: Vec<BrokerId> = (0..replication_factor).map(|i| (p + i) % brokers + 1).collect();
            let state = PartitionState {
                partition: p,
                leader: Some(replicas[0]),
                leader_epoch: 0,
                partition_epoch: 0,
                isr: replicas.clone(),
                replicas,
            };
            parts.insert(p, state);
        }
        Controller { cfg, brokers: BTreeMap::new(), partitions: parts, next_broker_epoch: 1, elections: 0 }
    }

    pub fn partitions(&self) -> impl Iterator<Item = &PartitionState> {
        self.partitions.values()
    }

    pub fn is_fenced(&self, broker: BrokerId) -> bool {
        self.brokers.get(&broker).map(|r| r.fenced).unwrap_or(true)
    }

    pub fn step(&mut self, now: TimeMs, input: Input) -> Ready {
        let mut ready = Ready::default();
        match input {
            Input::Tick => self.expire_sessions(now, &mut ready),
            Input::Request { conn, request, .. } => self.on_request(now, conn, request, &mut ready),
            // The controller opens connections only to push LeaderAndIsr; brokers converge
            // through heartbeats if a push is lost.
            Input::Response { .. } | Input::Disconnected { .. } => {}
        }
        ready
    }

    fn on_request(&mut self, now: TimeMs, conn: ConnId, request: Request, ready: &mut Ready) {
        let response = match request {
            Request::BrokerHeartbeat { broker, broker_epoch, incarnation } => {
                Response::BrokerHeartbeat { result: self.heartbeat(now, broker, broker_epoch, incarnation, ready) }
            }
            Request::AlterPartition { leader, broker_epoch, partition, leader_epoch, partition_epoch, new_isr } => {
                let result = self.alter_partition(leader, broker_epoch, partition, leader_epoch, partition_epoch, new_isr, ready);
                Response::AlterPartition { partition, result }
            }
            Request::Metadata { correlation_id } => Response::Metadata {
                correlation_id,
                brokers: self.brokers.iter().filter(|(_, r)| !r.fenced).map(|(b, _)| *b).collect(),
                partitions: self.partitions.values().cloned().collect(),
            },
            Request::Produce { .. } | Request::Fetch { .. } | Request::LeaderAndIsr { .. } => return,
        };
        ready.sends.push(Envelope::Reply { conn, response });
    }

    /// Registration (broker_epoch -1) or heartbeat. As in KRaft, a new incarnation of a broker
    /// is refused while the previous one's session is still valid: the old one must be fenced
    /// (and lose its leaderships) first.
    fn heartbeat(&mut self, now: TimeMs, broker: BrokerId, broker_epoch: i64, incarnation: u64, ready: &mut Ready) -> Result<HeartbeatData, ErrorCode> {
        if broker_epoch < 0 {
            if let Some(reg) = self.brokers.get(&broker) {
                let session_valid = !reg.fenced && now.saturating_sub(reg.last_heartbeat_ms) <= self.cfg.broker_session_timeout_ms;
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
            let epoch = self.next_broker_epoch;
            self.next_broker_epoch += 1;
            self.brokers.insert(broker, Registration { broker_epoch: epoch, incarnation, last_heartbeat_ms: now, fenced: true });
            return Ok(self.heartbeat_data(broker));
        }
        let Some(reg) = self.brokers.get_mut(&broker) else { return Err(ErrorCode::StaleBrokerEpoch) };
        if reg.broker_epoch != broker_epoch {
            return Err(ErrorCode::StaleBrokerEpoch);
        }
        reg.last_heartbeat_ms = now;
        if reg.fenced {
            // Unfence on the first heartbeat after registration (KRaft waits for the broker
            // to catch up with the metadata log; here metadata arrives with the response).
            reg.fenced = false;
            self.elect_leaderless(ready);
        }
        Ok(self.heartbeat_data(broker))
    }

    fn heartbeat_data(&self, broker: BrokerId) -> HeartbeatData {
        let reg = &self.brokers[&broker];
        HeartbeatData {
            broker_epoch: reg.broker_epoch,
            fenced: reg.fenced,
            partitions: self.partitions.values().filter(|p| p.replicas.contains(&broker)).cloned().collect(),
        }
    }

    fn expire_sessions(&mut self, now: TimeMs, ready: &mut Ready) {
        let expired: Vec<BrokerId> = self
            .brokers
            .iter()
            .filter(|(_, r)| !r.fenced && now.saturating_sub(r.last_heartbeat_ms) > self.cfg.broker_session_timeout_ms)
            .map(|(b, _)| *b)
            .collect();
        for b in expired {
            self.fence(b, ready);
        }
    }

    /// Fence a broker: it leaves every ISR (but the last member stays, so that it can be
    /// re-elected cleanly when it returns) and loses its leaderships.
    fn fence(&mut self, broker: BrokerId, ready: &mut Ready) {
        self.brokers.get_mut(&broker).expect("fencing an unregistered broker").fenced = true;
        ready.notes.push(Note::BrokerFenced { broker });
        let ids: Vec<PartitionId> = self.partitions.keys().copied().collect();
        for p in ids {
            let state = self.partitions.get_mut(&p).expect("partition exists");
            if !state.replicas.contains(&broker) {
                continue;
            }
            let mut changed = false;
            if state.isr.contains(&broker) && state.isr.len() > 1 {
                state.isr.retain(|b| *b != broker);
                changed = true;
            }
            if state.leader == Some(broker) {
                self.elect(p, ready);
            } else if changed {
                let state = self.partitions.get_mut(&p).expect("partition exists");
                state.partition_epoch += 1;
                ready.notes.push(Note::IsrChanged { partition: p, isr: state.isr.clone(), partition_epoch: state.partition_epoch });
                self.push(p, ready);
            }
        }
    }

    fn elect_leaderless(&mut self, ready: &mut Ready) {
        let leaderless: Vec<PartitionId> = self.partitions.values().filter(|p| p.leader.is_none()).map(|p| p.partition).collect();
        for p in leaderless {
            self.elect(p, ready);
        }
    }

    fn eligible(&self, b: BrokerId) -> bool {
        self.brokers.get(&b).map(|r| !r.fenced).unwrap_or(false)
    }

    /// Elect a leader for `p`: the first live ISR member in assignment order; failing that,
    /// any live replica if unclean election is enabled (ISR := {it}); failing that, none.
    fn elect(&mut self, p: PartitionId, ready: &mut Ready) {
        let state = self.partitions[&p].clone();
        let clean = state.replicas.iter().copied().find(|b| state.isr.contains(b) && self.eligible(*b));
        let (leader, unclean) = match clean {
            Some(b) => (Some(b), false),
            None if self.cfg.unclean_leader_election_enable => {
                (state.replicas.iter().copied().find(|b| self.eligible(*b)), true)
            }
            None => (None, false),
        };
        if leader == state.leader {
            return;
        }
        let flaw = self.cfg.flaw == Flaw::ElectWithoutEpochBump && state.leader.is_some() && leader.is_some();
        let s = self.partitions.get_mut(&p).expect("partition exists");
        s.leader = leader;
        if !flaw {
            s.leader_epoch += 1;
        }
        s.partition_epoch += 1;
        if let (Some(b), true) = (leader, unclean) {
            s.isr = vec![b];
        }
        self.elections += 1;
        ready.notes.push(Note::Elected { partition: p, leader, leader_epoch: s.leader_epoch, unclean: unclean && leader.is_some(), isr: s.isr.clone() });
        self.push(p, ready);
    }

    /// Tell every registered replica of `p` its new state (the ZooKeeper-era LeaderAndIsr;
    /// KRaft brokers would read the same change from the metadata log).
    fn push(&self, p: PartitionId, ready: &mut Ready) {
        let state = &self.partitions[&p];
        for b in &state.replicas {
            if self.brokers.contains_key(b) {
                ready.sends.push(Envelope::To { node: NodeId::Broker(*b), request: Request::LeaderAndIsr { partitions: vec![state.clone()] } });
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn alter_partition(&mut self, leader: BrokerId, broker_epoch: i64, p: PartitionId, leader_epoch: Epoch, partition_epoch: Epoch, new_isr: Vec<(BrokerId, i64)>, ready: &mut Ready) -> Result<PartitionState, ErrorCode> {
        let Some(state) = self.partitions.get(&p) else { return Err(ErrorCode::UnknownTopicOrPartition) };
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
        for (b, epoch) in &new_isr {
            if state.isr.contains(b) {
                continue;
            }
            // KIP-903: a replica joins the ISR only if it is unfenced and the broker epoch it
            // fetched with is its current one.
            let ok = self.brokers.get(b).map(|r| !r.fenced && r.broker_epoch == *epoch).unwrap_or(false);
            if !ok || !state.replicas.contains(b) {
                return Err(ErrorCode::IneligibleReplica);
            }
        }
        let s = self.partitions.get_mut(&p).expect("partition exists");
        s.isr = s.replicas.iter().copied().filter(|r| new_isr.iter().any(|(b, _)| b == r)).collect();
        s.partition_epoch += 1;
        ready.notes.push(Note::IsrChanged { partition: p, isr: s.isr.clone(), partition_epoch: s.partition_epoch });
        let result = s.clone();
        self.push(p, ready);
        Ok(result)
    }
}
