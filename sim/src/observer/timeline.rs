//! What a run report draws and `ksim explain` tabulates: each replica's state over time
//! (`Timeline`, kept only when asked for) and the state table of a moment.

use super::*;

/// One replica's state at a moment, for the report's timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplicaSample {
    pub time_ms: u64,
    pub alive: bool,
    pub role: Role,
    pub leo: Offset,
    pub hw: Offset,
}

/// The controllers' view of a partition from a moment on: leader, leader epoch, ISR.
pub type ControllerSample = (u64, Option<BrokerId>, Epoch, Vec<BrokerId>);

/// LEO moves with every append; sampling it this often per replica is enough to draw it.
const LEO_SAMPLE_MS: u64 = 100;

/// Each replica's state over the run, compact: a sample when its role, leader epoch, liveness
/// or HW changes, and when its LEO changed at least `LEO_SAMPLE_MS` after the last sample;
/// the controllers' view and the committed offset (the true HW) when they change.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    pub replicas: BTreeMap<(BrokerId, PartitionId), Vec<ReplicaSample>>,
    pub controller: BTreeMap<PartitionId, Vec<ControllerSample>>,
    /// (time, committed offsets) per partition.
    pub committed: BTreeMap<PartitionId, Vec<(u64, Offset)>>,
    /// Replicas whose LEO moved too soon after their last sample: sampled again at their
    /// broker's next steps until it is recorded, changed or not.
    leo_pending: BTreeSet<(BrokerId, PartitionId)>,
}

impl Timeline {
    fn sample(&mut self, b: BrokerId, p: PartitionId, now: u64, v: &ReplicaView) {
        let s = ReplicaSample {
            time_ms: now,
            alive: v.alive,
            role: v.role,
            leo: v.leo,
            hw: v.hw,
        };
        let series = self.replicas.entry((b, p)).or_default();
        let due = match series.last() {
            None => true,
            Some(l) => {
                (l.alive, l.role, l.hw) != (s.alive, s.role, s.hw)
                    || (l.leo != s.leo && now >= l.time_ms + LEO_SAMPLE_MS)
            }
        };
        let leo_behind = series.last().is_some_and(|l| l.leo != s.leo);
        if due {
            series.push(s);
            self.leo_pending.remove(&(b, p));
        } else if leo_behind {
            self.leo_pending.insert((b, p));
        }
    }

    fn committed(&mut self, p: PartitionId, now: u64, offsets: usize) {
        let series = self.committed.entry(p).or_default();
        if series.last().map(|l| l.1) != Some(offsets as Offset) {
            series.push((now, offsets as Offset));
        }
    }
}

impl Observer {
    /// Sample every replica of broker `b` (or every replica, for `None`) into the timeline.
    pub(super) fn sample_replicas(&mut self, now: u64, b: Option<BrokerId>) {
        let Some(t) = &mut self.timeline else {
            return;
        };
        for ((broker, p), v) in &self.views {
            if b.is_none_or(|b| b == *broker) {
                t.sample(*broker, *p, now, v);
            }
        }
    }

    /// Sample broker `b`'s replicas that its step changed, and those whose LEO is yet to be
    /// recorded (as sampling all of them on every step would).
    pub(super) fn sample_step(&mut self, now: u64, b: BrokerId, changed: &[PartitionId]) {
        let Some(t) = &mut self.timeline else {
            return;
        };
        let pending: Vec<PartitionId> = t
            .leo_pending
            .range((b, PartitionId::MIN)..=(b, PartitionId::MAX))
            .map(|(_, p)| *p)
            .collect();
        for p in changed.iter().chain(&pending) {
            if let Some(v) = self.views.get(&(b, *p)) {
                t.sample(b, *p, now, v);
            }
        }
    }

    pub(super) fn sample_committed(&mut self, now: u64, p: PartitionId) {
        if let Some(t) = &mut self.timeline {
            t.committed(p, now, self.committed_log.get(&p).map_or(0, Vec::len));
        }
    }

    /// The last sample of every replica, at the end of the run (LEO sampling may have
    /// skipped the final value).
    pub fn close_timeline(&mut self, end_ms: u64) {
        let Some(t) = &mut self.timeline else {
            return;
        };
        for ((b, p), v) in &self.views {
            let s = ReplicaSample {
                time_ms: end_ms,
                alive: v.alive,
                role: v.role,
                leo: v.leo,
                hw: v.hw,
            };
            let series = t.replicas.entry((*b, *p)).or_default();
            if series
                .last()
                .is_none_or(|l| (l.alive, l.role, l.leo, l.hw) != (s.alive, s.role, s.leo, s.hw))
            {
                series.push(s);
            }
        }
    }

    /// Each replica's log as runs of leader epochs (`offsets:epoch`), its LEO, HW and role,
    /// where its log departs from the committed log, and the controllers' view: the table a
    /// KIP draws at each step of its story.
    pub fn state_table(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let parts: BTreeSet<PartitionId> = self.views.keys().map(|(_, p)| *p).collect();
        for p in parts {
            let committed = self.committed_log.get(&p).map(Vec::as_slice).unwrap_or(&[]);
            let _ = writeln!(
                s,
                "    partition {p}   {:<9} {:<24} {:>6} {:>6}  log (offsets:leader epoch)",
                "replica", "role", "LEO", "HW"
            );
            for ((b, part), v) in &self.views {
                if *part != p {
                    continue;
                }
                let role = match (v.alive, v.role) {
                    (false, _) => "down".to_string(),
                    (true, Role::Leader { leader_epoch }) => {
                        format!("leader, epoch {leader_epoch}")
                    }
                    (
                        true,
                        Role::Follower {
                            leader,
                            leader_epoch,
                        },
                    ) => {
                        format!("follows {leader}, epoch {leader_epoch}")
                    }
                    (true, Role::Offline) => "offline".to_string(),
                };
                let mirror = self.mirrors.get(&(*b, p)).map(Vec::as_slice).unwrap_or(&[]);
                let mut runs: Vec<String> = Vec::new();
                let mut start = 0;
                for i in 1..=mirror.len() {
                    if i == mirror.len() || mirror[i].0 != mirror[start].0 {
                        runs.push(format!("{}-{}:{}", start, i - 1, mirror[start].0));
                        start = i;
                    }
                }
                let differs = (0..mirror.len().min(committed.len()))
                    .find(|o| (committed[*o].0, committed[*o].1) != mirror[*o]);
                let note = match differs {
                    Some(o) => format!("  differs from the committed log at {o}"),
                    None if mirror.len() < committed.len() => {
                        format!("  lacks committed {}..{}", mirror.len(), committed.len())
                    }
                    None => String::new(),
                };
                let _ = writeln!(
                    s,
                    "                  broker {b:<3} {role:<24} {:>6} {:>6}  {}{note}",
                    v.leo,
                    v.hw,
                    if runs.is_empty() {
                        "empty".to_string()
                    } else {
                        runs.join(" ")
                    }
                );
            }
            if let Some((leader, epoch, isr)) = self.controller.get(&p) {
                let _ = writeln!(
                    s,
                    "                  controllers: leader {}, leader epoch {epoch}, ISR {isr:?}; committed (true HW) {}",
                    leader.map_or("none".to_string(), |l| l.to_string()),
                    committed.len()
                );
            }
        }
        s
    }
}
