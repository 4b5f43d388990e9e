//! Committed records a leader or an ISR member lacks, and when Kafka allows the loss: judged
//! from the configuration and the history of power losses, unclean elections and recoveries.

use super::*;

impl Observer {
    /// Why committed values are allowed to be missing: every broker that held each lost it in
    /// a power loss, or an unclean election chose a replica without them.
    pub(super) fn loss_allowed(
        &self,
        p: PartitionId,
        from: usize,
        unclean: bool,
    ) -> Option<String> {
        let committed = self.committed_log.get(&p)?;
        // An unclean election since they were committed put a replica without them in the ISR;
        // whatever follows from it is the price unclean.leader.election.enable names.
        let committed_at = committed.get(from).map_or(u64::MAX, |c| c.2);
        let unclean_since = self
            .unclean_elections
            .get(&p)
            .is_some_and(|ts| ts.iter().any(|t| *t >= committed_at));
        if self.rules.unclean_leader_election_enable && (unclean || unclean_since) {
            return Some("an unclean election (unclean.leader.election.enable=true) chose a replica without them".into());
        }
        let all_lost = committed[from..].iter().all(|(_, v, _)| {
            let holders = self.held_by.get(v);
            let lost = self.power_lost_by.get(v);
            match (holders, lost) {
                (Some(h), Some(l)) => h.iter().all(|b| l.contains(b)),
                _ => false,
            }
        });
        if all_lost {
            return Some(
                "every replica that held them lost them in a power loss (Kafka promises n-1 failures)"
                    .into(),
            );
        }
        let values: Vec<u64> = committed[from..].iter().map(|(_, v, _)| *v).collect();
        self.recovered_without(p, &values, committed_at)
    }

    /// A KIP-966 recovery since `since_ms` chose among a last known ELR of which no member
    /// still held any of `values`: each had lost them in a power loss (or never had them). The
    /// last known ELR are the replicas in the ISR when the last records were committed, and
    /// Kafka elects among them only; a replica outside the ISR that still holds the values is
    /// not a candidate. Kafka promises nothing once every ISR member lost unflushed data.
    pub fn recovered_without(
        &self,
        p: PartitionId,
        values: &[u64],
        since_ms: u64,
    ) -> Option<String> {
        let recoveries = self.recoveries.get(&p)?;
        let (_, members) = recoveries.iter().find(|(t, members)| {
            *t >= since_ms
                && values.iter().all(|v| {
                    members.iter().all(|b| {
                        let held = self.held_by.get(v).is_some_and(|h| h.contains(b));
                        let lost = self.power_lost_by.get(v).is_some_and(|l| l.contains(b));
                        !held || lost
                    })
                })
        })?;
        Some(format!(
            "KIP-966's recovery elected among the last known ELR {members:?}, the replicas in the ISR when they were committed, and each of them had lost them in a power loss (Kafka promises nothing once every ISR member lost unflushed data; a replica outside the ISR is no candidate)"
        ))
    }

    /// Where `b` lost offset `at`: its latest cut below it, in words.
    pub(super) fn why_missing(&self, b: BrokerId, p: PartitionId, at: usize) -> String {
        let cut = self.cuts.get(&(b, p)).and_then(|cuts| {
            cuts.iter()
                .rev()
                .find(|(_, from, to, _)| (*to as usize) <= at && at < *from as usize)
        });
        let cut = match cut {
            Some((t, from, to, why)) => format!(
                "at {t} ms it cut its log from LEO {from} to {to} because {}",
                why.describe()
            ),
            None => String::new(),
        };
        let held = self.mirrors.get(&(b, p)).and_then(|m| m.get(at));
        let committed = self.committed_log.get(&p).and_then(|c| c.get(at));
        match (held, committed) {
            (Some((he, hv)), Some((ce, cv, _))) => format!(
                "its log diverges from the committed log at offset {at}: it holds value {hv} (leader epoch {he}) where the committed log holds value {cv} (leader epoch {ce}){}",
                if cut.is_empty() { String::new() } else { format!("; {cut}") }
            ),
            _ if cut.is_empty() => "it never held them".into(),
            _ => cut,
        }
    }

    /// Leader completeness: a new leader holds everything committed. Where it does not, the
    /// committed log is cut to what it holds (the loss is reported once, as allowed or as a
    /// violation naming the step that lost it).
    pub(super) fn check_leader_completeness(
        &mut self,
        now: u64,
        b: BrokerId,
        p: PartitionId,
        epoch: Epoch,
    ) {
        let latest = self.latest_epoch.entry(p).or_insert(epoch);
        if epoch < *latest {
            // A deposed leader acting on a stale epoch (it was paused or cut off): fencing
            // keeps it from committing anything, and completeness is owed by the latest one.
            return;
        }
        *latest = epoch;
        self.completeness_checks += 1;
        let have = self.matching_prefix(b, p);
        let committed_len = self.committed_log.get(&p).map_or(0, Vec::len);
        self.step_note(
            now,
            format!(
                "broker {b}: leads partition {p} in leader epoch {epoch} with LEO {}, committed offsets {committed_len}",
                self.mirrors.get(&(b, p)).map_or(0, Vec::len)
            ),
        );
        if have >= committed_len {
            return;
        }
        let unclean = self.unclean_epochs.contains(&(p, epoch));
        let (_, first_value, committed_at) = self.committed_log[&p][have];
        let what = format!(
            "offsets {have}..{committed_len} ({} record(s); the first, value {first_value}, committed at {committed_at} ms)",
            committed_len - have
        );
        match self.loss_allowed(p, have, unclean) {
            Some(reason) => {
                self.step_note(now, format!("committed records lost, allowed: broker {b} leads partition {p} without {what}: {reason}"));
                let cut = self.committed_log[&p][have..].iter().map(|(_, v, _)| *v);
                self.allowed_cut.extend(cut.collect::<Vec<_>>());
            }
            None => {
                let why = self.why_missing(b, p, have);
                let msg = format!("partition {p}: broker {b} became leader in leader epoch {epoch} without the committed {what}: {why}");
                self.step_note(now, format!("VIOLATION leader-completeness: {msg}"));
                self.violate("leader-completeness", now, msg);
            }
        }
        let log = self.committed_log.get_mut(&p).expect("checked");
        for (o, (_, v, _)) in log.iter().enumerate().skip(have) {
            self.cut_committed.insert((p, o as Offset, *v));
        }
        log.truncate(have);
        for ((_, part), m) in self.matched.iter_mut() {
            if *part == p {
                *m = (*m).min(have);
            }
        }
    }

    /// Strong ISR: every live, unfenced member of the controllers' ISR holds everything
    /// committed (so any of them can be elected without a loss). Reported once per member
    /// and gap.
    pub(super) fn check_strong_isr(&mut self, now: u64, p: PartitionId) {
        let Some((_, epoch, isr)) = self.controller.get(&p).cloned() else {
            return;
        };
        let committed_len = self.committed_log.get(&p).map_or(0, Vec::len);
        for b in isr {
            let alive = self.views.get(&(b, p)).is_some_and(|v| v.alive);
            let serving = self
                .unfenced
                .get(&b)
                .is_some_and(|i| self.process.get(&b) == Some(i));
            if !alive || !serving {
                continue;
            }
            self.strong_isr_checks += 1;
            let have = self.matching_prefix(b, p);
            let unclean = self.unclean_epochs.contains(&(p, epoch));
            if have >= committed_len || self.loss_allowed(p, have, unclean).is_some() {
                continue;
            }
            if !self.strong_isr_reported.insert((b, p, have)) {
                continue;
            }
            let why = self.why_missing(b, p, have);
            let (_, v, at) = self.committed_log[&p][have];
            let msg = format!("partition {p}: broker {b} is in the ISR (leader epoch {epoch}) but lacks committed offsets {have}..{committed_len} (the first, value {v}, committed at {at} ms): {why}");
            self.step_note(now, format!("VIOLATION strong-isr: {msg}"));
            self.violate("strong-isr", now, msg);
        }
    }
}
