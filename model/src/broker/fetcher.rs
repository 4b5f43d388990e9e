//! A follower's replica fetcher (Kafka's `ReplicaFetcherThread`): fetch from the leader, and
//! truncate by leader epoch (KIP-279 / KIP-320, or an older rule) before appending.

use super::*;

impl Broker {
    pub(super) fn on_fetch_response(
        &mut self,
        now: TimeMs,
        from: NodeId,
        p: PartitionId,
        epoch: Epoch,
        result: Result<FetchData, ErrorCode>,
        ready: &mut Ready,
    ) {
        let backoff = self.cfg.replica_fetch_backoff_ms;
        let proto = self.cfg.protocol;
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
        // An answer from an older role is dropped.
        if !proto.takes_fetch_answer((epoch, from), (leader_epoch, leader)) {
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
        if epoch != leader_epoch && !data.records.is_empty() {
            ready
                .notes
                .push(Note::Mark(Mark::FetchAnswerFromAnotherEpoch));
        }
        if truncate_as_told(r, me, &data, ready) {
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
        if self.selftest.planted(Flaw::FollowerHwAboveLeo) {
            r.log.set_hw_unchecked(data.high_watermark);
        } else {
            r.log.set_hw(data.high_watermark.min(r.log.leo()));
        }
        r.next_fetch_ms = now;
        self.maybe_fetch(now, p, ready);
    }

    pub(super) fn maybe_fetch(&mut self, now: TimeMs, p: PartitionId, ready: &mut Ready) {
        let r = self.replicas.get_mut(&p).expect("replica exists");
        let Role::Follower {
            leader,
            leader_epoch,
        } = r.role
        else {
            return;
        };
        if self.selftest.planted(Flaw::FollowersNeverFetch)
            || r.fetch_in_flight
            || now < r.next_fetch_ms
        {
            return;
        }
        r.fetch_in_flight = true;
        // Kafka sends the latest epoch of the leader-epoch cache, which may be newer than the
        // last record's (an epoch this replica led without writing).
        let (last_fetched_epoch, current_leader_epoch) = self.cfg.protocol.fetch_epochs(
            r.needs_epoch_check,
            r.log.latest_cached_epoch(),
            leader_epoch,
        );
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

/// The leader's check of a fetch under the configured truncation rule. A fetch without an
/// epoch (`last_fetched_epoch` -1: before KIP-101, or a plain fetch without KIP-320) can only
/// be caught fetching beyond the LEO.
pub(super) fn check_follower_log(
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

/// Truncate to `target`. Even at the LEO this may cut epoch-cache entries that have no
/// records (an epoch this replica led without writing), as Kafka's `truncateTo` does; without
/// that the follower would keep announcing an epoch the leader does not know.
pub(super) fn truncate(
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

/// The leader's answer to a diverged log: cut where it said (the older rules: once, as KIP-101
/// asks only one round) or, by KIP-279, to the smaller of where the diverging epoch ends here
/// and on the leader (the leader checks again until the logs match). False when it reported no
/// divergence.
fn truncate_as_told(r: &mut Replica, me: BrokerId, data: &FetchData, ready: &mut Ready) -> bool {
    if let Some((offset, why)) = data.truncate_to {
        let target = offset.min(r.log.leo());
        truncate(r, me, target, why, ready);
        r.needs_epoch_check = false;
        return true;
    }
    let Some((div_epoch, leader_end)) = data.diverging_epoch else {
        return false;
    };
    let own_end = match div_epoch {
        Some(e) => r
            .log
            .end_offset_for_epoch(e)
            .map(|(_, end)| end)
            .unwrap_or(0),
        None => 0,
    };
    let reason = TruncateReason::DivergingEpoch;
    truncate(r, me, own_end.min(leader_end), reason, ready);
    true
}
