//! Abstract states as coverage marks (`state:*`), the guided search's feedback beyond the
//! protocol's branches: situations the historical rules mishandle, such as a follower two leader
//! epochs behind, a replica fetching from a deposed leader, or an AlterPartition in flight when
//! the broker it adds restarts. They are read from the same outside view the checkers use (the
//! replicas' views, the mirrors of their logs, the controllers' partition state); they steer
//! the search, no checker reads them, and none enters the trace hash.

use super::*;
use crate::scenario::vocabulary::StateMark;

/// The leader epoch a replica's role is in, if it has one.
fn role_epoch(role: Role) -> Option<Epoch> {
    match role {
        Role::Leader { leader_epoch } | Role::Follower { leader_epoch, .. } => Some(leader_epoch),
        Role::Offline => None,
    }
}

impl Observer {
    /// After `broker`'s step (its views and mirrors updated): the states of the partitions it
    /// changed, and, on its first step in a new process, of the ISRs and AlterPartitions that
    /// counted on its previous one.
    pub(super) fn note_states(
        &mut self,
        broker: &Broker,
        changed: &[PartitionId],
        restarted: bool,
        hw_before: &BTreeMap<PartitionId, Offset>,
    ) {
        let b = broker.id;
        if restarted {
            self.restart_states(b);
        }
        self.track_pending_adds(broker);
        for &p in changed {
            let hw_moved = hw_before
                .get(&p)
                .is_some_and(|h| self.views.get(&(b, p)).is_some_and(|v| v.hw > *h));
            self.replica_states(b, p, hw_moved);
        }
    }

    /// `b` restarted while the controllers' ISR counted it, or while a leader's AlterPartition
    /// proposed to add it (KIP-903's race: the proposal rests on the old process's fetches).
    fn restart_states(&mut self, b: BrokerId) {
        if self.controller.values().any(|(_, _, isr)| isr.contains(&b)) {
            self.mark(StateMark::IsrMemberRestarted.name());
        }
        if self.pending_adds.values().any(|adds| adds.contains(&b)) {
            self.mark(StateMark::AlterPartitionInFlightAcrossRestart.name());
        }
    }

    /// Which brokers each of `broker`'s AlterPartitions in flight would add to the ISR. Only
    /// a leader has one in flight, and rarely: most steps touch nothing here.
    fn track_pending_adds(&mut self, broker: &Broker) {
        for r in broker.replicas() {
            let key = (broker.id, r.partition);
            let Some(pending) = r.pending_isr() else {
                if !self.pending_adds.is_empty() {
                    self.pending_adds.remove(&key);
                }
                continue;
            };
            let adds: Vec<BrokerId> = pending
                .iter()
                .filter(|m| !r.isr.contains(m))
                .copied()
                .collect();
            if adds.is_empty() {
                self.pending_adds.remove(&key);
            } else {
                self.pending_adds.insert(key, adds);
            }
        }
    }

    /// The states of `b`'s replica of `p` against the controllers' latest leader epoch.
    fn replica_states(&mut self, b: BrokerId, p: PartitionId, hw_moved: bool) {
        let (Some((_, epoch, _)), Some(view)) = (self.controller.get(&p), self.views.get(&(b, p)))
        else {
            return;
        };
        let (epoch, role) = (*epoch, view.role);
        match role {
            Role::Follower {
                leader,
                leader_epoch,
            } => self.follower_states(p, epoch, leader, leader_epoch),
            Role::Leader { leader_epoch } => {
                if leader_epoch < epoch {
                    self.mark(StateMark::DeposedLeader.name());
                    if hw_moved {
                        self.mark(StateMark::DeposedLeaderMovedHw.name());
                    }
                }
                let (older, below_start) = self.isr_lag(b, p, leader_epoch);
                if older && hw_moved {
                    self.mark(StateMark::HwMovedWithIsrMemberOnOlderEpoch.name());
                }
                if below_start {
                    self.mark(StateMark::IsrMemberBelowEpochStart.name());
                }
            }
            Role::Offline => {}
        }
    }

    /// A follower in `leader_epoch` when the controllers are at `epoch`.
    fn follower_states(
        &mut self,
        p: PartitionId,
        epoch: Epoch,
        leader: BrokerId,
        leader_epoch: Epoch,
    ) {
        match epoch - leader_epoch {
            1 => self.mark(StateMark::FollowerOneEpochBehind.name()),
            gap if gap >= 2 => self.mark(StateMark::FollowerTwoEpochsBehind.name()),
            _ => {}
        }
        match self.views.get(&(leader, p)).cloned() {
            Some(v) if !v.alive => self.mark(StateMark::FollowingADeadLeader.name()),
            Some(v) if matches!(v.role, Role::Leader { leader_epoch } if leader_epoch < epoch) => {
                self.mark(StateMark::FetchingFromDeposedLeader.name())
            }
            _ => {}
        }
    }

    /// Whether leader `b`'s ISR members (in the controllers' state) lag its `leader_epoch`:
    /// one still in an older epoch, one whose log ends before the leader's epoch began.
    fn isr_lag(&self, b: BrokerId, p: PartitionId, leader_epoch: Epoch) -> (bool, bool) {
        let start =
            self.mirrors
                .get(&(b, p))
                .map_or(0, |m| m.partition_point(|(e, _)| *e < leader_epoch)) as Offset;
        let isr = self.controller.get(&p).map_or(&[][..], |c| &c.2[..]);
        let (mut older, mut below_start) = (false, false);
        for m in isr.iter().filter(|m| **m != b) {
            let Some(v) = self.views.get(&(*m, p)).filter(|v| v.alive) else {
                continue;
            };
            older |= role_epoch(v.role).is_some_and(|e| e < leader_epoch);
            below_start |= v.leo < start;
        }
        (older, below_start)
    }
}
