//! After a broker's step: its replicas mirrored, leaders' claims and HWs checked, and what
//! lies below a leader's HW joined to the committed log.

use super::*;
use ksim_model::Replica;

impl Observer {
    pub fn after_broker_step(
        &mut self,
        now: u64,
        broker: &Broker,
        input: &'static str,
        ready: &Ready,
    ) {
        let b = broker.id;
        self.now_ms = now;
        self.trace((now, b, input, ready.disk.len(), ready.sends.len()));
        let before = self.process.insert(b, broker.incarnation());
        // A new process: the first step of a broker's first one too (its views start here).
        let restarted = before != Some(broker.incarnation());
        // The views first, so that a step's notes (and `explain`'s tables) see this step.
        let (changed, hw_before) = self.update_views(broker, restarted);
        let touched: Vec<PartitionId> = changed.iter().map(|r| r.partition).collect();
        self.sample_step(now, b, &touched);
        self.leadership_changed(now, &touched);
        for op in &ready.disk {
            self.apply_disk_op(b, op);
        }
        if restarted {
            self.check_recovered_logs(now, broker);
        }
        // A state of a restart needs an earlier process: the first start is none.
        self.note_states(broker, &touched, restarted && before.is_some(), &hw_before);
        let mut advanced = Vec::new();
        for note in &ready.notes {
            self.broker_note(now, note, &mut advanced);
        }
        self.after_leader_hw(now, b, &changed, &mut advanced);
        for p in advanced {
            self.check_strong_isr(now, p);
        }
        self.check_replicas(now, b, &changed, &hw_before);
        if input == "tick" {
            self.check_progress(now);
        }
        if self.timeline.is_some() {
            // A new leader may also have cut the committed log (leader completeness).
            for r in &changed {
                self.sample_committed(now, r.partition);
            }
        }
    }

    /// Mirror `broker`'s replicas; returns those this step changed (every one after a
    /// restart) and, for those, their HW before the step within one process (a restart reads
    /// its HW from a checkpoint, which may lag or lead). A replica the step left as it was
    /// cannot break a rule its last check kept, so only the changed ones are checked again:
    /// with many partitions, checking every replica on every step made runs quadratic.
    fn update_views<'b>(
        &mut self,
        broker: &'b Broker,
        restarted: bool,
    ) -> (Vec<&'b Replica>, BTreeMap<PartitionId, Offset>) {
        let b = broker.id;
        let mut changed = Vec::new();
        let mut hw_before = BTreeMap::new();
        let mut added = Vec::new();
        // Both walk in partition order: one pass, no lookups.
        let mut views = self
            .views
            .range_mut((b, PartitionId::MIN)..=(b, PartitionId::MAX))
            .peekable();
        for r in broker.replicas() {
            let view = ReplicaView {
                role: r.role,
                leo: r.log.leo(),
                hw: r.log.hw(),
                alive: true,
            };
            while views.next_if(|((_, p), _)| *p < r.partition).is_some() {}
            match views.next_if(|((_, p), _)| *p == r.partition) {
                Some((_, v)) if *v == view && !restarted => continue,
                Some((_, v)) => {
                    let old = std::mem::replace(v, view);
                    if !restarted {
                        hw_before.insert(r.partition, old.hw);
                    }
                }
                None => added.push((r.partition, view)),
            }
            changed.push(r);
        }
        for (p, view) in added {
            self.views.insert((b, p), view);
        }
        (changed, hw_before)
    }

    /// A broker's note: a leadership claim, a mark, or a truncation (`cut_below_committed`
    /// collects the partitions whose committed records it cut).
    pub(super) fn broker_note(
        &mut self,
        now: u64,
        note: &Note,
        cut_below_committed: &mut Vec<PartitionId>,
    ) {
        match note {
            Note::BecameLeader {
                broker,
                partition,
                leader_epoch,
            } => {
                self.claim_leadership(now, *broker, *partition, *leader_epoch);
                self.check_leader_completeness(now, *broker, *partition, *leader_epoch);
            }
            Note::Truncated {
                broker,
                partition,
                from_leo,
                to,
                reason,
            } => {
                self.truncations += 1;
                self.mark(reason.mark());
                let cut = (now, *from_leo, *to, Cut::Truncated(*reason));
                self.cuts
                    .entry((*broker, *partition))
                    .or_default()
                    .push(cut);
                let committed = self.committed_log.get(partition).map_or(0, |c| c.len());
                if (*to as usize) < committed {
                    self.step_note(now, format!("broker {broker}: truncated partition {partition} from LEO {from_leo} to {to}, below the committed offset {committed}: {}", reason.describe()));
                    cut_below_committed.push(*partition);
                }
            }
            Note::Mark(m) => self.mark(m.name()),
            _ => {}
        }
    }

    /// After a broker's step, each partition it leads: its HW is checked, and what lies below
    /// it joins the committed log (`advanced` collects the partitions whose committed log grew).
    pub(super) fn after_leader_hw(
        &mut self,
        now: u64,
        b: BrokerId,
        replicas: &[&Replica],
        advanced: &mut Vec<PartitionId>,
    ) {
        for r in replicas {
            if let Role::Leader { leader_epoch } = r.role {
                self.check_leader_hw(now, b, r.partition, leader_epoch, r.log.hw());
                let t = self.true_hw.entry(r.partition).or_insert((leader_epoch, 0));
                if (leader_epoch, r.log.hw()) > *t {
                    *t = (leader_epoch, r.log.hw());
                }
                self.mark_committed(b, r.partition, r.log.hw());
                if self.extend_committed(now, b, r.partition, leader_epoch, r.log.hw()) {
                    self.availability.progress(now, r.partition);
                    advanced.push(r.partition);
                }
            }
        }
    }

    /// A leader of the latest epoch moved its HW past the committed log's end: what lies
    /// below is committed now. Returns whether the committed log grew.
    pub(super) fn extend_committed(
        &mut self,
        now: u64,
        b: BrokerId,
        p: PartitionId,
        epoch: Epoch,
        hw: Offset,
    ) -> bool {
        if self.latest_epoch.get(&p).is_some_and(|e| epoch < *e) {
            return false; // a deposed leader that has not heard yet: its HW commits nothing
        }
        let committed = self.committed_log.entry(p).or_default();
        let hw = hw.max(0) as usize;
        if hw <= committed.len() {
            return false;
        }
        let Some(mirror) = self.mirrors.get(&(b, p)) else {
            return false;
        };
        let from = committed.len();
        for (e, v) in mirror.iter().take(hw).skip(from) {
            committed.push((*e, *v, now));
        }
        committed.len() > from
    }

    /// How long a prefix of `b`'s log equals the committed log (cached per replica, so each
    /// committed entry is compared about once per replica).
    pub(super) fn matching_prefix(&mut self, b: BrokerId, p: PartitionId) -> usize {
        let committed = self.committed_log.get(&p).map(Vec::as_slice).unwrap_or(&[]);
        let mirror = self.mirrors.get(&(b, p)).map(Vec::as_slice).unwrap_or(&[]);
        let m = self.matched.entry((b, p)).or_default();
        *m = (*m).min(committed.len()).min(mirror.len());
        while *m < committed.len()
            && *m < mirror.len()
            && (committed[*m].0, committed[*m].1) == mirror[*m]
        {
            *m += 1;
        }
        *m
    }

    pub(super) fn apply_disk_op(&mut self, b: BrokerId, op: &DiskOp) {
        match op {
            DiskOp::Append { partition, records } => {
                let mirror = self.mirrors.entry((b, *partition)).or_default();
                for r in records {
                    let v = value_id(&r.value);
                    mirror.push((r.leader_epoch, v));
                    self.held_by.entry(v).or_default().insert(b);
                }
            }
            DiskOp::Truncate { partition, offset } => self.cut_mirror(b, *partition, *offset),
            DiskOp::Flush { partition } => {
                let len = self.mirrors.get(&(b, *partition)).map_or(0, Vec::len);
                self.flushed.insert((b, *partition), len);
            }
            DiskOp::CheckpointHw { .. } | DiskOp::CheckpointEpochs { .. } => {}
        }
    }

    pub(super) fn cut_mirror(&mut self, b: BrokerId, p: PartitionId, offset: Offset) {
        let mirror = self.mirrors.entry((b, p)).or_default();
        mirror.truncate(offset.max(0) as usize);
        let m = self.matched.entry((b, p)).or_default();
        *m = (*m).min(offset.max(0) as usize);
        let marked = self.committed_marked.entry((b, p)).or_default();
        *marked = (*marked).min(offset);
        let flushed = self.flushed.entry((b, p)).or_default();
        *flushed = (*flushed).min(offset.max(0) as usize);
    }

    /// One leader per partition epoch: a second broker claiming the same epoch means two
    /// brokers could accept writes that each believe are in the same history.
    pub(super) fn claim_leadership(&mut self, now: u64, b: BrokerId, p: PartitionId, epoch: Epoch) {
        self.leader_claims += 1;
        match self.leaders_by_epoch.get(&(p, epoch)) {
            Some(other) if *other != b => {
                let msg = format!("partition {p}: broker {b} became leader in leader epoch {epoch}, which broker {other} already led");
                self.violate("one-leader-per-epoch", now, msg);
            }
            _ => {
                self.leaders_by_epoch.insert((p, epoch), b);
            }
        }
    }

    /// The leader's HW never decreases within its epoch: consumers may already have read
    /// below it.
    pub(super) fn check_leader_hw(
        &mut self,
        now: u64,
        b: BrokerId,
        p: PartitionId,
        epoch: Epoch,
        hw: Offset,
    ) {
        self.hw_observations += 1;
        // One leader process's HW: a restarted process starts from its (lazily written) HW
        // checkpoint. KRaft gives every restarted leader a new epoch; a ZooKeeper-era
        // controller that missed the bounce (it failed over meanwhile, KIP-380's fourth
        // assumption broken) tells the new process it leads in the old epoch.
        let process = self.process.get(&b).copied().unwrap_or(0);
        let key = (p, epoch, b, process);
        let prev = self.leader_hw.get(&key).copied();
        if let Some(prev) = prev {
            if hw < prev {
                let msg = format!("partition {p}: leader broker {b} lowered its HW from {prev} to {hw} within leader epoch {epoch}");
                self.violate("leader-hw-monotonic", now, msg);
            }
        }
        if prev.map(|x| hw > x).unwrap_or(true) {
            self.leader_hw.insert(key, hw);
        }
    }

    /// Everything below a leader's HW is committed: remember the values there.
    pub(super) fn mark_committed(&mut self, b: BrokerId, p: PartitionId, hw: Offset) {
        let marked = self.committed_marked.entry((b, p)).or_default();
        if hw <= *marked {
            return;
        }
        let from = *marked;
        *marked = hw;
        if let Some(mirror) = self.mirrors.get(&(b, p)) {
            for (_, v) in mirror.iter().skip(from as usize).take((hw - from) as usize) {
                self.committed.insert(*v);
                self.committed_at.entry(*v).or_insert(self.now_ms);
            }
        }
    }

    /// The partition leader the controllers chose is a member of the ISR: only an ISR member is
    /// known to hold everything committed.
    pub(super) fn check_leader_in_isr(
        &mut self,
        now: u64,
        p: PartitionId,
        leader: Option<BrokerId>,
        isr: &[BrokerId],
    ) {
        self.isr_checks += 1;
        if let Some(l) = leader {
            if !isr.contains(&l) {
                self.violate("leader-in-isr", now, format!("partition {p}: the controllers made broker {l} leader, but the ISR is {isr:?}"));
            }
        }
    }
}
