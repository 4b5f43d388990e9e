//! The per-event checks that judge each replica and each read from outside the model: a
//! replica's HW within its LEO, its log below the HW equal to the committed log, a restarted
//! broker's log equal to what its disk was asked to keep, consumers reading committed records
//! only, elections within `unclean.leader.election.enable`, and progress where Kafka owes it.

use std::collections::BTreeMap;

use ksim_model::{Broker, BrokerId, Epoch, NodeId, Offset, PartitionId, Record, Replica};

use super::{Health, Observer, Poll};
use crate::scenario::FaultAction;

impl Observer {
    /// After a broker's step: each replica's HW is within its LEO, and a replica whose HW
    /// moved up holds the committed log below it (log matching below the HW, on every event).
    pub(super) fn check_replicas(
        &mut self,
        now: u64,
        b: BrokerId,
        replicas: &[&Replica],
        hw_before: &BTreeMap<PartitionId, Offset>,
    ) {
        for r in replicas {
            let (p, hw, leo) = (r.partition, r.log.hw(), r.log.leo());
            self.hw_leo_checks += 1;
            if hw > leo {
                let msg = format!("partition {p}: broker {b} has HW {hw} above its LEO {leo}: it would let consumers read offsets it does not hold");
                self.violate("hw-within-leo", now, msg);
            }
            if hw_before.get(&p).is_some_and(|before| hw > *before) {
                self.check_below_hw(now, b, p, hw);
            }
        }
    }

    /// `b`'s log below its HW `hw` equals the committed log as far as both go.
    fn check_below_hw(&mut self, now: u64, b: BrokerId, p: PartitionId, hw: Offset) {
        self.matching_checks += 1;
        let committed = self.committed_log.get(&p).map_or(0, Vec::len);
        let held = self.mirrors.get(&(b, p)).map_or(0, Vec::len);
        let upto = (hw.max(0) as usize).min(committed).min(held);
        let have = self.matching_prefix(b, p);
        if have >= upto || !self.matching_reported.insert((b, p, have)) {
            return;
        }
        let (he, hv) = self.mirrors[&(b, p)][have];
        let (ce, cv, _) = self.committed_log[&p][have];
        let msg = format!("partition {p}: broker {b} moved its HW to {hw}, but its log differs from the committed log at offset {have}, below that HW: it holds value {hv} (leader epoch {he}) where the committed log holds value {cv} (leader epoch {ce}); replicas must agree on everything below the HW");
        self.step_note(now, format!("VIOLATION log-matching: {msg}"));
        self.violate("log-matching", now, msg);
    }

    /// A broker's first step in a new process: each log it recovered is exactly what its disk
    /// was asked to keep (all of it after a crash, the flushed prefix after a power loss).
    pub(super) fn check_recovered_logs(&mut self, now: u64, broker: &Broker) {
        let b = broker.id;
        for p in self.mirrored_partitions(b) {
            let expected = &self.mirrors[&(b, p)];
            let got = broker.replica(p).map(|r| r.log.records()).unwrap_or(&[]);
            // A log compared counts once, and so does each record in it.
            self.disk_checks += 1 + got.len().max(expected.len()) as u64;
            if log_differs(got, expected) {
                let msg = format!("partition {p}: broker {b} restarted with {} record(s) in its log, but its disk was asked to keep {} (everything after a crash, the flushed prefix after a power loss)", got.len(), expected.len());
                self.violate("disk", now, msg);
            }
        }
    }

    /// A record a consumer polled was committed when it was read: it is in the committed log
    /// at that offset (or was, before a loss cut it).
    pub(super) fn check_read_committed(&mut self, poll: &Poll) {
        self.read_checks += 1;
        if poll.generation > self.group_generation {
            if self.group_generation > 0 {
                self.mark("group-rebalance");
            }
            self.group_generation = poll.generation;
        }
        let (p, o, v) = (poll.partition, poll.offset, poll.value);
        let in_log = self
            .committed_log
            .get(&p)
            .and_then(|c| c.get(o.max(0) as usize))
            .is_some_and(|(_, cv, _)| *cv == v);
        if in_log || self.cut_committed.contains(&(p, o, v)) {
            return;
        }
        if self.held_by_isr(p, o, v) {
            self.mark("read-held-by-isr");
            return;
        }
        let committed = self.committed_log.get(&p).map_or(0, Vec::len);
        let msg = format!("consumer {} polled value {v} at partition {p} offset {o}, which was not committed when it read it (the committed log then ended at offset {committed}): consumers read below the HW only", poll.consumer);
        self.violate("read-above-hw", poll.time_ms, msg);
    }

    /// Kafka's own definition of committed: every member of the controllers' ISR holds the
    /// record at that offset, and the ISR is not below `min.insync.replicas`. A leader that
    /// was replaced and has not heard yet may serve such a record (its HW moved with its old
    /// ISR's fetches) before the new leader's HW reaches it.
    fn held_by_isr(&self, p: PartitionId, o: Offset, v: u64) -> bool {
        let Some((_, _, isr)) = self.controller.get(&p) else {
            return false;
        };
        let holds = |b: &BrokerId| {
            self.mirrors
                .get(&(*b, p))
                .and_then(|m| m.get(o.max(0) as usize))
                .is_some_and(|(_, mv)| *mv == v)
        };
        !isr.is_empty() && isr.len() >= self.rules.min_insync_replicas && isr.iter().all(holds)
    }

    /// An unclean election (a leader from outside the ISR) happens only when
    /// `unclean.leader.election.enable=true`.
    pub(super) fn check_election_allowed(
        &mut self,
        now: u64,
        p: PartitionId,
        leader: Option<BrokerId>,
        unclean: bool,
    ) {
        self.election_checks += 1;
        if let (Some(l), true) = (leader, unclean) {
            if !self.rules.unclean_leader_election_enable {
                let msg = format!("partition {p}: the controllers elected broker {l} from outside the ISR although unclean.leader.election.enable=false");
                self.violate("unclean-election", now, msg);
            }
        }
    }

    /// Every partition with a waiting write: a stall where Kafka owes progress is a finding.
    pub(super) fn check_progress(&mut self, now: u64) {
        let parts: Vec<PartitionId> = self.controller.keys().copied().collect();
        for p in parts {
            if self.availability.idle(p) {
                continue;
            }
            let health = self.health(p);
            let Some(stall) = self.availability.evaluate(now, p, &health) else {
                continue;
            };
            let msg = format!(
                "partition {p} committed nothing for {} ms while a write waited, although its leader and brokers {:?} (a majority of its replicas, with ISR {:?}) were up, registered and touched by no fault, and the controller quorum had a leader; Kafka owes progress within replica.lag.time.max.ms + broker.session.timeout.ms = {} ms",
                now - stall.since_ms,
                stall.healthy,
                stall.isr,
                self.availability.bound_ms()
            );
            self.step_note(now, format!("VIOLATION unavailability: {msg}"));
            self.violate("unavailability", now, msg);
        }
    }

    /// What the observer knows of `p`'s health now.
    pub(super) fn health(&self, p: PartitionId) -> Health {
        let faulty = |node: NodeId| {
            self.fault_spans
                .iter()
                .any(|s| s.to_ms.is_none() && s.node == node)
        };
        let muddled = self.fault_spans.iter().any(|s| {
            s.to_ms.is_none() && matches!(s.action, FaultAction::Split | FaultAction::Bridge)
        });
        let controllers_faulty = self.quorum.keys().any(|c| faulty(NodeId::Controller(*c)));
        let replicas: Vec<BrokerId> = self
            .views
            .keys()
            .filter(|(_, x)| *x == p)
            .map(|(b, _)| *b)
            .collect();
        let healthy = replicas
            .iter()
            .copied()
            .filter(|b| {
                let alive = self.views[&(*b, p)].alive;
                let registered = self
                    .unfenced
                    .get(b)
                    .is_some_and(|i| self.process.get(b) == Some(i));
                alive && registered && !faulty(NodeId::Broker(*b))
            })
            .collect();
        let (leader, _, isr) = self.controller.get(&p).cloned().unwrap_or_default();
        Health {
            healthy,
            replicas: replicas.len(),
            leader,
            isr,
            controllers_ok: self.quorum_available().is_some() && !muddled && !controllers_faulty,
        }
    }
}

/// A recovered log against what its disk was asked to keep: another length, or a record of
/// another leader epoch or value at some offset.
fn log_differs(got: &[Record], expected: &[(Epoch, u64)]) -> bool {
    got.len() != expected.len()
        || got
            .iter()
            .zip(expected)
            .any(|(r, (e, v))| r.leader_epoch != *e || super::value_id(&r.value) != *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(offset: Offset, leader_epoch: Epoch, value: u64) -> Record {
        Record {
            offset,
            leader_epoch,
            producer_id: -1,
            sequence: -1,
            base_offset: offset,
            key: bytes::Bytes::new(),
            value: bytes::Bytes::copy_from_slice(&value.to_be_bytes()),
        }
    }

    #[test]
    fn a_recovered_log_differs_in_length_epoch_or_value() {
        let got = [record(0, 0, 11), record(1, 1, 12)];
        assert!(!log_differs(&got, &[(0, 11), (1, 12)]));
        assert!(log_differs(&got, &[(0, 11)]));
        assert!(
            log_differs(&got, &[(0, 11), (0, 12)]),
            "another leader epoch"
        );
        assert!(log_differs(&got, &[(0, 11), (1, 13)]), "another value");
    }
}
