//! Unavailability, measured from outside the brokers: how long each partition went without
//! committing anything while a write to it was waiting, and the liveness finding Kafka's
//! design owes. A partition whose leader and a majority of its replicas are up, registered and
//! touched by no fault, with an ISR member among them and a controller quorum that has a
//! leader, must commit again within `replica.lag.time.max.ms` (the time the leader waits before
//! dropping a lagging follower from the ISR) plus `broker.session.timeout.ms` (the time the
//! controllers wait before fencing a silent broker and electing another leader).

use std::collections::BTreeMap;

use ksim_model::{BrokerId, PartitionId};

/// A stretch without a commit counts as unavailable from this long on: shorter pauses are the
/// ordinary rhythm of fetches and batches.
pub const UNAVAILABLE_FROM_MS: u64 = 1_000;

/// What the observer knows of one partition's health at a moment.
pub struct Health {
    /// Replicas that are up, registered with the controllers (their running process) and
    /// touched by no fault in force.
    pub healthy: Vec<BrokerId>,
    pub replicas: usize,
    /// The controllers' leader, if any, and ISR.
    pub leader: Option<BrokerId>,
    pub isr: Vec<BrokerId>,
    /// A controller leads the quorum with a majority up, and no fault in force that no single
    /// node names (a split, a bridge) muddies who reaches whom.
    pub controllers_ok: bool,
}

impl Health {
    /// Kafka owes progress: a majority of the replicas (and the leader, if there is one) are
    /// healthy, and one of them is in the ISR, so a clean leader can be had.
    fn owes_progress(&self) -> bool {
        let healthy = |b: &BrokerId| self.healthy.contains(b);
        self.controllers_ok
            && self.healthy.len() * 2 > self.replicas
            && self.leader.is_none_or(|l| healthy(&l))
            && self.isr.iter().any(healthy)
    }
}

#[derive(Debug, Default)]
struct PartitionClock {
    /// Writes invoked and not yet completed.
    waiting: u64,
    /// The latest commit, or the moment a write started waiting on an idle partition.
    last_progress_ms: u64,
    /// Since when Kafka owes progress (None while it does not).
    owed_since: Option<u64>,
    reported: bool,
}

/// A partition that made no progress although Kafka owed it.
#[derive(Clone, Debug)]
pub struct Stall {
    pub partition: PartitionId,
    pub since_ms: u64,
    pub healthy: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
}

#[derive(Debug, Default)]
pub struct Availability {
    /// `replica.lag.time.max.ms` + `broker.session.timeout.ms`; 0 turns the finding off
    /// (acks other than all: the leader alone answers).
    bound_ms: u64,
    partitions: BTreeMap<PartitionId, PartitionClock>,
    /// Simulated time, summed over partitions, spent in stretches of at least
    /// `UNAVAILABLE_FROM_MS` without a commit while a write waited.
    pub unavailable_ms: u64,
    /// Health evaluations made while a write waited.
    pub checks: u64,
}

impl Availability {
    pub fn new(bound_ms: u64) -> Self {
        Availability {
            bound_ms,
            ..Availability::default()
        }
    }

    pub fn bound_ms(&self) -> u64 {
        self.bound_ms
    }

    /// A write to `p` was invoked (`started`) or completed.
    pub fn write(&mut self, now: u64, p: PartitionId, started: bool) {
        let c = self.partitions.entry(p).or_default();
        if started {
            if c.waiting == 0 {
                c.last_progress_ms = now;
            }
            c.waiting += 1;
        } else {
            c.waiting = c.waiting.saturating_sub(1);
        }
    }

    /// `p` committed more records.
    pub fn progress(&mut self, now: u64, p: PartitionId) {
        let c = self.partitions.entry(p).or_default();
        if c.waiting > 0 {
            self.unavailable_ms += gap(c.last_progress_ms, now);
        }
        c.last_progress_ms = now;
        c.reported = false;
    }

    /// Look at `p` now; returns a stall the first time progress has been owed for longer than
    /// the bound.
    /// Whether no write waits on `p` (then nothing is owed, and its health need not be
    /// judged).
    pub fn idle(&mut self, p: PartitionId) -> bool {
        let c = self.partitions.entry(p).or_default();
        if c.waiting == 0 {
            c.owed_since = None;
        }
        c.waiting == 0
    }

    pub fn evaluate(&mut self, now: u64, p: PartitionId, health: &Health) -> Option<Stall> {
        let bound = self.bound_ms;
        let c = self.partitions.entry(p).or_default();
        if c.waiting == 0 {
            c.owed_since = None;
            return None;
        }
        self.checks += 1;
        if !health.owes_progress() {
            c.owed_since = None;
            return None;
        }
        let since = (*c.owed_since.get_or_insert(now)).max(c.last_progress_ms);
        if bound == 0 || c.reported || now.saturating_sub(since) <= bound {
            return None;
        }
        c.reported = true;
        Some(Stall {
            partition: p,
            since_ms: since,
            healthy: health.healthy.clone(),
            isr: health.isr.clone(),
        })
    }

    /// Unavailability up to `end_ms`, including the stretches still open.
    pub fn unavailable_until(&self, end_ms: u64) -> u64 {
        let open: u64 = self
            .partitions
            .values()
            .filter(|c| c.waiting > 0)
            .map(|c| gap(c.last_progress_ms, end_ms))
            .sum();
        self.unavailable_ms + open
    }
}

fn gap(from: u64, to: u64) -> u64 {
    let d = to.saturating_sub(from);
    if d >= UNAVAILABLE_FROM_MS {
        d
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(
        replicas: usize,
        healthy: &[BrokerId],
        leader: Option<BrokerId>,
        isr: &[BrokerId],
    ) -> Health {
        Health {
            healthy: healthy.to_vec(),
            replicas,
            leader,
            isr: isr.to_vec(),
            controllers_ok: true,
        }
    }

    #[test]
    fn progress_is_owed_only_to_a_strict_majority_of_healthy_replicas() {
        // Replication factor 2: one healthy replica is half, not a majority.
        assert!(!health(2, &[1], Some(1), &[1]).owes_progress());
        assert!(health(2, &[1, 2], Some(1), &[1, 2]).owes_progress());
        // Replication factor 4: two of four are not a majority, three are.
        assert!(!health(4, &[1, 2], Some(1), &[1, 2]).owes_progress());
        assert!(health(4, &[1, 2, 3], Some(1), &[1]).owes_progress());
    }

    #[test]
    fn progress_needs_a_healthy_leader_and_a_healthy_isr_member() {
        assert!(!health(3, &[2, 3], Some(1), &[1, 2, 3]).owes_progress());
        assert!(health(3, &[2, 3], None, &[1, 2]).owes_progress());
        assert!(!health(3, &[2, 3], None, &[1]).owes_progress());
        let mut h = health(3, &[1, 2, 3], Some(1), &[1]);
        h.controllers_ok = false;
        assert!(!h.owes_progress());
    }
}
