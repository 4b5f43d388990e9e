//! The invariants the harness checks after every step and delivery (`Checker`), judged from
//! the cluster's state and the client's answers: acknowledged writes survive, logs match below
//! the HW, the ISR holds what was committed, a new leader holds every committed record.

use std::collections::BTreeMap;

use ksim_model::*;

use super::{values_of, Cluster, P};

/// The invariants `violations` checks; each message starts with one of these.
pub const DURABILITY: &str = "acked-write durability";
pub const LOG_MATCHING: &str = "log matching";
pub const STRONG_ISR: &str = "strong ISR";
pub const LEADER_COMPLETENESS: &str = "leader completeness";

/// A record as the invariants compare it: the epoch it was written in and its value.
pub type Entry = (Epoch, String);

fn show(e: Option<&Entry>) -> String {
    match e {
        Some((epoch, v)) => format!("{v} (epoch {epoch})"),
        None => "nothing".to_string(),
    }
}

/// The up brokers that host the partition.
pub fn live(c: &Cluster) -> Vec<BrokerId> {
    (c.slots.keys().copied())
        .filter(|b| c.is_up(*b) && c.broker(*b).replica(P).is_some())
        .collect()
}

/// The controller's leader, if it is up and acts as leader in the controller's epoch.
pub fn acting_leader(c: &Cluster) -> Option<(BrokerId, Epoch)> {
    let s = c.state();
    let l = s.leader.filter(|l| live(c).contains(l))?;
    (c.replica(l).role
        == Role::Leader {
            leader_epoch: s.leader_epoch,
        })
    .then_some((l, s.leader_epoch))
}

/// The acks=all writes the client was told succeeded, as (offset, value).
pub fn acked_writes(c: &Cluster) -> Vec<(Offset, String)> {
    let mut out = Vec::new();
    for (corr, result) in &c.results {
        if let (Ok(base), Some((Acks::All, values))) = (result, c.sent.get(corr)) {
            for (i, v) in values.iter().enumerate() {
                out.push((base + i as Offset, v.clone()));
            }
        }
    }
    out
}

/// The invariants that must hold at every instant, given what each leader epoch committed
/// (`committed[e]`: the longest prefix of epoch `e`'s leader's log that was below its HW).
///
/// - acked-write durability: the acting leader holds every acknowledged acks=all write at its
///   offset (below its HW only at the end, see `final_violations`: a new leader learns its HW
///   late);
/// - log matching: two live replicas agree on every offset below both their HWs (a restarted
///   follower's HW counts once a leader answered its fetch);
/// - strong ISR: every live, registered, unfenced member of the controller's ISR holds the
///   acting leader's records below the leader's HW;
/// - leader completeness: the acting leader holds every record committed in an earlier epoch.
pub fn violations(c: &Cluster, committed: &BTreeMap<Epoch, Vec<Entry>>) -> Vec<String> {
    let mut out = Vec::new();
    let up = live(c);
    let checked: Vec<BrokerId> = up
        .iter()
        .copied()
        .filter(|b| {
            !c.unvalidated.contains(b)
                || matches!(
                    c.broker(*b).replica(P).map(|r| r.role),
                    Some(Role::Leader { .. })
                )
        })
        .collect();
    for (i, &a) in checked.iter().enumerate() {
        for &b in &checked[i + 1..] {
            let (la, lb) = (c.log(a), c.log(b));
            let below = la.hw().min(lb.hw());
            let diff = (0..below).find(|o| {
                let (x, y) = (la.get(*o).unwrap(), lb.get(*o).unwrap());
                (x.leader_epoch, &x.value) != (y.leader_epoch, &y.value)
            });
            if let Some(o) = diff {
                let (x, y) = (values_of(la.records()), values_of(lb.records()));
                out.push(format!(
                    "{LOG_MATCHING}: at offset {o}, below both HWs ({} and {}), broker {a} holds {} and broker {b} holds {}",
                    la.hw(),
                    lb.hw(),
                    show(x.get(o as usize)),
                    show(y.get(o as usize)),
                ));
            }
        }
    }
    let Some((l, epoch)) = acting_leader(c) else {
        return out;
    };
    let leader = values_of(c.log(l).records());
    let at = |log: &[Entry], o: Offset| log.get(o as usize).cloned();
    for (o, v) in acked_writes(c) {
        if at(&leader, o).map(|e| e.1) != Some(v.clone()) {
            out.push(format!(
                "{DURABILITY}: {v}@{o} was acknowledged, but leader {l} of epoch {epoch} holds {} there",
                show(leader.get(o as usize))
            ));
        }
    }
    let hw = c.log(l).hw();
    let state = c.state();
    for &b in state.isr.iter().filter(|b| **b != l && up.contains(b)) {
        if c.broker(b).broker_epoch < 0 || c.ctl.is_fenced(b) {
            continue;
        }
        let theirs = values_of(c.log(b).records());
        if let Some(o) = (0..hw).find(|o| at(&theirs, *o) != at(&leader, *o)) {
            out.push(format!(
                "{STRONG_ISR}: broker {b}, in the ISR {:?}, holds {} at offset {o} where leader {l} of epoch {epoch} holds {} below its HW {hw}",
                state.isr,
                show(theirs.get(o as usize)),
                show(leader.get(o as usize)),
            ));
        }
    }
    for (e, prefix) in committed.range(..epoch) {
        if let Some(o) = (0..prefix.len()).find(|o| leader.get(*o) != prefix.get(*o)) {
            out.push(format!(
                "{LEADER_COMPLETENESS}: leader {l} of epoch {epoch} holds {} at offset {o}, where the leader of epoch {e} had committed {}",
                show(leader.get(o)),
                show(prefix.get(o)),
            ));
        }
    }
    out
}

/// At the end of a run (after a quiet period): the invariants above, every acknowledged write
/// below the final leader's HW, and a final leader at all.
pub fn final_violations(c: &Cluster, committed: &BTreeMap<Epoch, Vec<Entry>>) -> Vec<String> {
    let mut out = violations(c, committed);
    let Some((l, epoch)) = acting_leader(c) else {
        out.push(format!(
            "{DURABILITY}: no acting leader at the end, so no acknowledged write can be read"
        ));
        return out;
    };
    let hw = c.log(l).hw();
    for (o, v) in acked_writes(c) {
        if o >= hw {
            out.push(format!(
                "{DURABILITY}: {v}@{o} was acknowledged, but the final leader {l} of epoch {epoch} has HW {hw}"
            ));
        }
    }
    out
}

/// Watches a run: remembers what each leader epoch committed and every violation seen, once,
/// with the time it was first seen.
#[derive(Clone, Debug, Default)]
pub struct Checker {
    pub committed: BTreeMap<Epoch, Vec<Entry>>,
    pub violations: Vec<(TimeMs, String)>,
}

impl Checker {
    pub fn observe(&mut self, c: &Cluster) {
        for b in live(c) {
            let r = c.replica(b);
            if let Role::Leader { leader_epoch } = r.role {
                let below = values_of(&r.log.records()[..r.log.hw() as usize]);
                let seen = self.committed.entry(leader_epoch).or_default();
                if below.len() > seen.len() {
                    *seen = below;
                }
            }
        }
        let found = violations(c, &self.committed);
        self.record(c.now, found);
    }

    /// Check the end state (see `final_violations`).
    pub fn finish(&mut self, c: &Cluster) {
        let found = final_violations(c, &self.committed);
        self.record(c.now, found);
    }

    fn record(&mut self, now: TimeMs, found: Vec<String>) {
        for v in found {
            if !self.violations.iter().any(|(_, seen)| *seen == v) {
                self.violations.push((now, v));
            }
        }
    }

    /// Every replica crashed at once. Kafka guarantees a committed record only while one
    /// in-sync replica stays up (it does not fsync), so leader completeness starts afresh
    /// from what survived; the other invariants still hold.
    pub fn forget_committed(&mut self) {
        self.committed.clear();
    }

    /// The violations seen, without their times.
    pub fn messages(&self) -> Vec<String> {
        self.violations.iter().map(|(_, v)| v.clone()).collect()
    }
}
