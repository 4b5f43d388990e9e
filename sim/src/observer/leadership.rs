//! How long partitions went without a leader, and how long the controllers' decisions took to
//! reach the brokers, judged from outside: a partition is led when the broker the controllers
//! name as its leader runs and its replica leads in the controllers' leader epoch; a decision
//! (a new leader epoch) has reached the brokers when every running broker that hosts the
//! partition acts in that epoch or a later one. What the coordinator tradeoffs measure.

use super::*;

/// The measurements of one run.
#[derive(Clone, Debug, Default)]
pub struct Leadership {
    /// Brokers whose process is down (crashed or powered off, not yet restarted).
    down: BTreeSet<BrokerId>,
    /// Partitions without a leader now.
    unled: BTreeSet<PartitionId>,
    /// Whether every partition has had a leader at once: stretches count from then on, so a
    /// cluster's first elections are not counted as an outage.
    settled: bool,
    open_since: Option<u64>,
    /// (from, to) of each closed stretch in which some partition had no leader.
    stretches: Vec<(u64, u64)>,
    /// Per (partition, leader epoch) decided and not yet acted on by every running replica:
    /// when the controllers decided it.
    pending: BTreeMap<(PartitionId, Epoch), u64>,
    /// Each decision reached by every running replica: when it was decided, and how long it
    /// took, in ms.
    pub lags: Vec<(u64, u64)>,
}

impl Leadership {
    /// The stretches without a leader, one still open at `end_ms` closed then.
    pub fn stretches_until(&self, end_ms: u64) -> Vec<(u64, u64)> {
        let open = self.open_since.map(|from| (from, end_ms));
        self.stretches.iter().copied().chain(open).collect()
    }

    /// Decisions the run ended before every running replica acted on.
    pub fn unreached(&self) -> usize {
        self.pending.len()
    }
}

/// The leader epoch a replica acts in (None while it is offline).
fn epoch_of(role: Role) -> Option<Epoch> {
    match role {
        Role::Leader { leader_epoch } | Role::Follower { leader_epoch, .. } => Some(leader_epoch),
        _ => None,
    }
}

impl Observer {
    /// Whether the controllers' leader of `p` runs and leads `p` in their epoch.
    fn led(&self, p: PartitionId) -> bool {
        let Some((Some(l), epoch, _)) = self.controller.get(&p) else {
            return false;
        };
        !self.leadership.down.contains(l)
            && self.views.get(&(*l, p)).is_some_and(|v| {
                v.alive
                    && v.role
                        == Role::Leader {
                            leader_epoch: *epoch,
                        }
            })
    }

    /// Whether every running replica of `p` acts in `epoch` or later.
    fn reached(&self, p: PartitionId, epoch: Epoch) -> bool {
        self.process
            .keys()
            .filter(|b| !self.leadership.down.contains(b))
            .filter_map(|b| self.views.get(&(*b, p)))
            .filter(|v| v.alive)
            .all(|v| epoch_of(v.role).is_some_and(|e| e >= epoch))
    }

    /// Judge partitions `ps` again at `now`.
    pub(super) fn leadership_changed(&mut self, now: u64, ps: &[PartitionId]) {
        for &p in ps {
            if self.led(p) {
                self.leadership.unled.remove(&p);
            } else {
                self.leadership.unled.insert(p);
            }
            let decided: Vec<(Epoch, u64)> = self
                .leadership
                .pending
                .range((p, Epoch::MIN)..=(p, Epoch::MAX))
                .map(|((_, e), t)| (*e, *t))
                .collect();
            for (e, t) in decided {
                if self.reached(p, e) {
                    self.leadership.pending.remove(&(p, e));
                    self.leadership.lags.push((t, now - t));
                }
            }
        }
        self.close_or_open(now);
    }

    fn close_or_open(&mut self, now: u64) {
        let l = &mut self.leadership;
        let all_led = l.unled.is_empty() && !self.controller.is_empty();
        match (all_led, l.open_since) {
            (true, Some(from)) => {
                l.stretches.push((from, now));
                l.open_since = None;
            }
            (true, None) => l.settled = true,
            (false, None) if l.settled => l.open_since = Some(now),
            _ => {}
        }
    }

    /// The controllers decided leader epoch `epoch` for `p`.
    pub(super) fn decided(&mut self, now: u64, p: PartitionId, epoch: Epoch) {
        self.leadership.pending.entry((p, epoch)).or_insert(now);
        self.leadership_changed(now, &[p]);
    }

    /// Broker `b`'s process went down (`up` false) or came back.
    pub(super) fn broker_process(&mut self, now: u64, b: BrokerId, up: bool) {
        if up {
            self.leadership.down.remove(&b);
        } else {
            self.leadership.down.insert(b);
        }
        let hosted: Vec<PartitionId> = self
            .views
            .range((b, PartitionId::MIN)..=(b, PartitionId::MAX))
            .map(|((_, p), _)| *p)
            .collect();
        self.leadership_changed(now, &hosted);
    }
}
