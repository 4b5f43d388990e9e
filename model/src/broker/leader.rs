//! A partition's leader (Kafka's `Partition` and `ReplicaManager` on the leader side):
//! produce with `acks` and `min.insync.replicas`, follower and consumer fetches with epoch
//! fencing and KIP-320 divergence, the HW over the ISR, and ISR shrink and expand through
//! AlterPartition.

use super::*;

impl Broker {
    pub(super) fn leader_tick(&mut self, now: TimeMs, p: PartitionId, ready: &mut Ready) {
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
        if self.selftest.planted(Flaw::HwRegress) {
            let r = self.replicas.get_mut(&p).expect("replica exists");
            if r.log.hw() > 0 {
                let hw = r.log.hw() - 1;
                r.log.set_hw(hw);
            }
        }
        self.maybe_shrink_isr(now, p, ready);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_produce(
        &mut self,
        now: TimeMs,
        p: PartitionId,
        req: ProduceReq,
        records: Vec<ProduceRecord>,
        ready: &mut Ready,
    ) {
        let leader_epoch = match self.produce_refusal(p, req.acks) {
            Ok(leader_epoch) => leader_epoch,
            Err(Some((epoch, e))) => {
                ready.sends.push(req.reply(p, epoch, Err(e)));
                return;
            }
            Err(None) => return,
        };
        assert!(!records.is_empty(), "empty produce");
        let selftest = self.selftest;
        let r = self
            .replicas
            .get_mut(&p)
            .expect("checked by produce_refusal");
        let Ok(duplicate) = idempotent_check(r, &req, records.len(), selftest, ready) else {
            let e = Err(ErrorCode::OutOfOrderSequenceNumber);
            ready.sends.push(req.reply(p, leader_epoch, e));
            return;
        };
        let (base_offset, required_hw) = match duplicate {
            Some(offset) => (offset, (offset + records.len() as Offset).min(r.log.leo())),
            None => {
                let base_offset = r.log.leo();
                let batch = batch_of(&req, base_offset, leader_epoch, records);
                let required_hw = base_offset + batch.len() as Offset;
                append(r, now, &self.cfg, batch, ready);
                (base_offset, required_hw)
            }
        };
        match selftest.answered_acks(req.acks) {
            Acks::None => {}
            Acks::Leader => ready
                .sends
                .push(req.reply(p, leader_epoch, Ok(base_offset))),
            Acks::All => r.pending_produce.push(PendingProduce {
                conn: req.conn,
                correlation_id: req.correlation_id,
                base_offset,
                required_hw,
                deadline_ms: now + req.timeout_ms,
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

    /// This broker's leader epoch for `p` if it may take a produce with `acks`; otherwise the
    /// error to answer with (and the epoch to answer in), or none for acks=0 to a non-leader.
    fn produce_refusal(
        &self,
        p: PartitionId,
        acks: Acks,
    ) -> Result<Epoch, Option<(Epoch, ErrorCode)>> {
        let Some(r) = self.replicas.get(&p) else {
            return Err(Some((-1, ErrorCode::NotLeaderOrFollower)));
        };
        let Role::Leader { leader_epoch } = r.role else {
            let refusal = (r.leader_epoch(), ErrorCode::NotLeaderOrFollower);
            return Err((acks != Acks::None).then_some(refusal));
        };
        // Checked before the append: a definite failure.
        if acks == Acks::All && r.isr.len() < self.cfg.min_insync_replicas {
            return Err(Some((leader_epoch, ErrorCode::NotEnoughReplicas)));
        }
        Ok(leader_epoch)
    }

    pub(super) fn on_fetch(&mut self, now: TimeMs, p: PartitionId, f: FetchReq, ready: &mut Ready) {
        let Some(r) = self.replicas.get_mut(&p) else {
            let refusal = Err(ErrorCode::NotLeaderOrFollower);
            ready
                .sends
                .push(fetch_reply(f.conn, p, f.current_leader_epoch, refusal));
            return;
        };
        let my_epoch = r.leader_epoch();
        let proto = self.cfg.protocol;
        if let Some(e) = fetch_epoch_error(r.role, my_epoch, f.current_leader_epoch) {
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
            let result = consumer_fetch(r, &self.cfg, self.selftest, &f);
            ready.sends.push(fetch_reply(f.conn, p, my_epoch, result));
            return;
        }
        let diverging = check_follower_log(
            &r.log,
            proto.truncation,
            f.fetch_offset,
            f.last_fetched_epoch,
        );
        // `skip-truncation` drops the answer, so a diverged follower never truncates.
        let diverging = diverging.filter(|_| !self.selftest.planted(Flaw::SkipTruncation));
        if let Some(diverging) = diverging {
            let data = diverging_data(r, diverging, ready);
            ready.sends.push(fetch_reply(f.conn, p, my_epoch, Ok(data)));
            return;
        }
        // Kafka's followerReplicaOrThrow: a fetch from a broker that is not a replica of this
        // partition is refused.
        if !follower_fetched(r, &f, now, proto) {
            let refusal = Err(ErrorCode::NotLeaderOrFollower);
            ready.sends.push(fetch_reply(f.conn, p, my_epoch, refusal));
            return;
        }
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
    pub(super) fn complete_fetches(
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
    pub(super) fn maybe_advance_hw(&mut self, now: TimeMs, p: PartitionId, ready: &mut Ready) {
        let min_isr = self.cfg.min_insync_replicas;
        let proto = self.cfg.protocol;
        let me = self.id;
        let r = self.replicas.get_mut(&p).expect("replica exists");
        if !matches!(r.role, Role::Leader { .. }) {
            return;
        }
        if proto.hw_waits_for_min_isr(r.isr.len(), min_isr) {
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
        let mut remembered = false;
        for b in maximal.iter().filter(|b| **b != me) {
            // A follower that has not fetched in this epoch holds the HW back (LEO -1), unless
            // hw_requires_current_epoch = false remembered its LEO from an earlier epoch.
            match r.followers.get(b) {
                Some(fs) => {
                    candidate = candidate.min(fs.leo);
                    remembered |= fs.remembered;
                }
                None => return,
            }
        }
        if candidate > r.log.hw() {
            if remembered {
                ready.notes.push(Note::Mark(Mark::HwFromEarlierEpoch));
            }
            r.log.set_hw(candidate);
            self.complete_produces(now, p, ready);
        }
    }

    pub(super) fn complete_produces(&mut self, _now: TimeMs, p: PartitionId, ready: &mut Ready) {
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
    pub(super) fn maybe_shrink_isr(&mut self, now: TimeMs, p: PartitionId, ready: &mut Ready) {
        let lag_max = self.cfg.replica_lag_time_max_ms;
        let me = self.id;
        let r = &self.replicas[&p];
        if r.pending_isr.is_some() || self.selftest.planted(Flaw::NeverShrinkIsr) {
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
    pub(super) fn maybe_expand_isr(
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
            if fs.leo < r.log.epoch_start(leader_epoch).unwrap_or(0) {
                ready.notes.push(Note::Mark(Mark::IsrExpandBelowEpochStart));
            }
            let mut new_isr = r.isr.clone();
            new_isr.push(follower);
            self.send_alter_partition(now, p, new_isr, ready);
        }
    }

    pub(super) fn send_alter_partition(
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
        let request = Request::AlterPartition(AlterPartitionRequest {
            leader: me,
            broker_epoch,
            partition: p,
            leader_epoch,
            partition_epoch: state.partition_epoch,
            new_isr: with_epochs,
        });
        r.pending_isr = Some(new_isr);
        r.pending_alter = Some(request.clone());
        r.resend_alter = false;
        let node = self.controller();
        ready.sends.push(Envelope::To { node, request });
    }
}

/// A produce request's own fields, beside its partition and records.
pub(super) struct ProduceReq {
    pub(super) conn: ConnId,
    pub(super) correlation_id: u64,
    pub(super) acks: Acks,
    pub(super) timeout_ms: TimeMs,
    /// The idempotent producer's id (-1 when it is not idempotent) and its first sequence.
    pub(super) producer_id: i64,
    pub(super) base_sequence: i32,
}

impl ProduceReq {
    pub(super) fn reply(
        &self,
        p: PartitionId,
        leader_epoch: Epoch,
        result: Result<Offset, ErrorCode>,
    ) -> Envelope {
        produce_reply(self.conn, self.correlation_id, p, leader_epoch, result)
    }
}

/// An idempotent producer's batch against the producer state: `Ok(Some(offset))` for a retry
/// of a batch this log holds (answered with its offset once committed), `Err` for a gap
/// (OUT_OF_ORDER_SEQUENCE_NUMBER), `Ok(None)` to append.
fn idempotent_check(
    r: &Replica,
    req: &ProduceReq,
    len: usize,
    selftest: SelfTest,
    ready: &mut Ready,
) -> Result<Option<Offset>, ()> {
    if req.producer_id < 0 {
        return Ok(None);
    }
    let last = req.base_sequence.wrapping_add(len as i32 - 1);
    let check = r
        .log
        .check_sequence(req.producer_id, req.base_sequence, last);
    match selftest.sequence_check(check) {
        SequenceCheck::OutOfOrder { .. } => {
            ready.notes.push(Note::Mark(Mark::OutOfOrderSequence));
            Err(())
        }
        SequenceCheck::Duplicate(offset) => {
            ready.notes.push(Note::Mark(Mark::IdempotentDuplicate));
            Ok(Some(offset))
        }
        _ => Ok(None),
    }
}

/// A produce's records as the leader appends them: offsets from `base_offset`, this leader
/// epoch, and the idempotent producer's id and sequence numbers (-1 without idempotence).
fn batch_of(
    req: &ProduceReq,
    base_offset: Offset,
    leader_epoch: Epoch,
    records: Vec<ProduceRecord>,
) -> Vec<Record> {
    let idempotent = req.producer_id >= 0;
    records
        .into_iter()
        .enumerate()
        .map(|(i, pr)| Record {
            offset: base_offset + i as Offset,
            leader_epoch,
            producer_id: req.producer_id,
            sequence: if idempotent {
                req.base_sequence.wrapping_add(i as i32)
            } else {
                -1
            },
            base_offset,
            key: pr.key,
            value: pr.value,
        })
        .collect()
}

/// Epoch fencing (KIP-320): a stale requester is fenced, a newer one means this broker has not
/// heard of the new epoch yet. A fetch without an epoch (-1, as before Kafka 2.1) is served by
/// whoever believes it leads.
fn fetch_epoch_error(role: Role, my_epoch: Epoch, requested: Epoch) -> Option<ErrorCode> {
    let leads = matches!(role, Role::Leader { .. });
    if requested < 0 {
        (!leads).then_some(ErrorCode::NotLeaderOrFollower)
    } else if requested < my_epoch {
        Some(ErrorCode::FencedLeaderEpoch)
    } else if requested > my_epoch {
        Some(ErrorCode::UnknownLeaderEpoch)
    } else if !leads {
        Some(ErrorCode::NotLeaderOrFollower)
    } else {
        None
    }
}

/// A consumer's fetch: the records from its offset below the HW (the LEO under the
/// `read-above-hw` flaw), or OFFSET_OUT_OF_RANGE.
fn consumer_fetch(
    r: &Replica,
    cfg: &BrokerConfig,
    selftest: SelfTest,
    f: &FetchReq,
) -> Result<FetchData, ErrorCode> {
    let hw = if selftest.planted(Flaw::ReadAboveHw) {
        r.log.leo()
    } else {
        r.log.hw()
    };
    if f.fetch_offset > r.log.leo() || f.fetch_offset < 0 {
        return Err(ErrorCode::OffsetOutOfRange);
    }
    let records = r.log.read(f.fetch_offset, cfg.replica_fetch_max_records);
    Ok(FetchData {
        high_watermark: hw,
        log_end_offset: r.log.leo(),
        diverging_epoch: None,
        truncate_to: None,
        records: records.into_iter().filter(|rec| rec.offset < hw).collect(),
    })
}

/// The answer to a follower whose log diverges: where to truncate, and no records.
fn diverging_data(r: &Replica, diverging: Divergence, ready: &mut Ready) -> FetchData {
    let (diverging_epoch, truncate_to) = match diverging {
        Divergence::Epoch(epoch, end) => {
            ready.notes.push(Note::Mark(Mark::DivergingEpoch));
            (Some((epoch, end)), None)
        }
        Divergence::TruncateTo(offset, why) => (None, Some((offset, why))),
    };
    FetchData {
        high_watermark: r.log.hw(),
        log_end_offset: r.log.leo(),
        diverging_epoch,
        truncate_to,
        records: Vec::new(),
    }
}

/// A follower's fetch updates what the leader knows of it (its LEO, broker epoch, when it was
/// last caught up); false when the fetcher is not a replica of this partition.
fn follower_fetched(r: &mut Replica, f: &FetchReq, now: TimeMs, proto: Protocol) -> bool {
    let leo = r.log.leo();
    let Some(fs) = r.followers.get_mut(&f.replica) else {
        return false;
    };
    // Kafka's lastCaughtUpTimeMs: caught up now if at our LEO; caught up as of the previous
    // fetch if it reached the LEO we had then.
    if f.fetch_offset >= leo {
        fs.last_caught_up_ms = now;
    } else if f.fetch_offset >= fs.leader_leo_at_last_fetch {
        fs.last_caught_up_ms = fs.last_caught_up_ms.max(fs.last_fetch_ms);
    }
    fs.leo = f.fetch_offset;
    fs.remembered = false;
    fs.broker_epoch = f.broker_epoch;
    fs.last_fetch_ms = now;
    fs.leader_leo_at_last_fetch = leo;
    if !proto.hw_requires_current_epoch {
        r.remembered_leos.insert(f.replica, f.fetch_offset);
    }
    true
}

pub(super) struct FetchReq {
    pub(super) conn: ConnId,
    pub(super) replica: BrokerId,
    pub(super) broker_epoch: i64,
    pub(super) fetch_offset: Offset,
    pub(super) last_fetched_epoch: Epoch,
    pub(super) current_leader_epoch: Epoch,
}

/// KIP-320: does a follower that fetches at `fetch_offset` after `last_fetched_epoch` diverge
/// from this leader's log? If so, the largest epoch <= its epoch here and where it ends.
pub(super) fn divergence(
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
pub(super) enum Divergence {
    /// KIP-279/KIP-320: the largest epoch <= the follower's and where it ends here.
    Epoch(Option<Epoch>, Offset),
    /// The older answers: an offset to truncate to.
    TruncateTo(Offset, TruncateReason),
}

/// KIP-101's OffsetForLeaderEpoch answer (Kafka 0.11): the LEO if the follower's epoch is the
/// leader's latest, else the start offset of the first epoch above it. It does not say which
/// epoch the answer belongs to, so a follower whose log diverged inside an older epoch keeps
/// the divergent records (the cases KIP-279 fixed).
pub(super) fn kip101_end_offset(log: &PartitionLog, requested: Epoch) -> Offset {
    if requested == log.latest_cached_epoch() {
        return log.leo();
    }
    log.epochs()
        .iter()
        .find(|e| e.epoch > requested)
        .map(|e| e.start_offset)
        .unwrap_or_else(|| log.leo())
}

pub(super) fn append(
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

pub(super) fn flush(r: &mut Replica, now: TimeMs, ready: &mut Ready) {
    r.unflushed = 0;
    r.last_flush_ms = now;
    ready.disk.push(DiskOp::Flush {
        partition: r.partition,
    });
}

pub(super) fn produce_reply(
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

pub(super) fn fetch_reply(
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
