//! The verdict of a run. Reads the history, the truth log and the final replica states kept by
//! the observer, and applies the allowed-loss rules of each `acks` setting: acks=0 and acks=1
//! may lose what was never committed; a committed record may be lost only if every replica
//! that held it lost it in a power loss, or after an unclean leader election. Every checker
//! says how much it compared, so an empty comparison cannot pass silently.

mod consumer;
pub mod story;

use ksim_model::Named;
use std::collections::BTreeMap;

use ksim_model::{Acks, BrokerId, Offset, PartitionId};
use serde::Serialize;

use crate::cluster::ctx::lock;
use crate::cluster::run::RunOutput;
use crate::observer::{FaultCounts, Observer, OpType, Violation};
pub use crate::scenario::vocabulary::{marks, CHECKERS};
use crate::scenario::Coordinator;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every contract held (exit 0).
    Valid,
    /// A violation, a panic or a stall (exit 1).
    Invalid,
    /// The run proves nothing: nothing acknowledged, or an asked-for fault never happened
    /// (exit 3).
    Vacuous,
}

impl Verdict {
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Valid => 0,
            Verdict::Invalid => 1,
            Verdict::Vacuous => 3,
        }
    }
}

/// What one checker compared.
#[derive(Clone, Debug, Serialize)]
pub struct Coverage {
    pub checker: &'static str,
    pub compared: u64,
    pub unit: &'static str,
}

/// An acknowledged record that is gone, with the reason it was allowed to go.
#[derive(Clone, Debug, Serialize)]
pub struct AllowedLoss {
    pub value: u64,
    pub partition: PartitionId,
    pub offset: Option<Offset>,
    pub reason: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub invoked: u64,
    pub acked: u64,
    pub failed: u64,
    pub unknown: u64,
    pub lost_allowed: u64,
    pub lost_violating: u64,
    /// Values the final committed logs hold more than once (Jepsen's duplicates).
    pub duplicates: u64,
    /// Records a producer sent after another to the same partition that the final committed
    /// log holds before it.
    pub reordered: u64,
    /// Records consumers' polls returned, and how many of them the group had seen before
    /// (re-deliveries, which at-least-once allows).
    pub polled: u64,
    pub redelivered: u64,
    pub leader_changes: u64,
    /// Times a controller became the quorum leader (the active controller).
    pub controller_elections: u64,
    /// Simulated time with no active controller (including the first election).
    pub controller_unavailable_ms: u64,
    /// Simulated time, summed over partitions, in stretches of at least 1 s in which a write
    /// waited and the partition committed nothing.
    pub unavailable_ms: u64,
    pub unclean_elections: u64,
    /// The faults injected, by kind (flattened: each is a count of its own in results.json).
    #[serde(flatten)]
    pub injected: FaultCounts,
    pub truncations: u64,
    pub flushes: u64,
    pub messages: u64,
}

impl Counts {
    /// Acknowledged writes lost, allowed or not.
    pub fn lost(&self) -> u64 {
        self.lost_allowed + self.lost_violating
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    pub counts: Counts,
    pub coverage: Vec<Coverage>,
    pub violations: Vec<Violation>,
    pub allowed_losses: Vec<AllowedLoss>,
    /// Why the run was vacuous, when it was.
    pub vacuous: Vec<String>,
    pub messages_by_kind: BTreeMap<String, u64>,
    /// Error responses by Kafka error name.
    pub errors: BTreeMap<String, u64>,
    /// Coverage marks: how often the run took each protocol branch that matters.
    pub marks: BTreeMap<String, u64>,
    /// For a story run as written (or with its fix): what it showed of its `[expect]`.
    pub story: Option<String>,
}

pub fn check(out: &RunOutput) -> Report {
    let ctx = &out.ctx;
    let obs = lock(&ctx.observer);
    let mut t = Tally {
        violations: obs.violations.clone(),
        coverage: online_coverage(&obs, ctx.sc.coordinator),
        counts: history_counts(&obs),
    };
    t.violations.extend(run_end_violation(out, &obs));
    let lost_allowed = final_log_checks(out, &obs, &mut t);
    fault_counts(&mut t.counts, out, &obs);
    let stats = lock(&ctx.stats);
    t.counts.messages = stats.total();
    let by_name = |m: &BTreeMap<&'static str, u64>| -> BTreeMap<String, u64> {
        m.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    let vacuous = vacuity(out, &obs, &t.counts);
    let mut report = Report {
        verdict: verdict_of(&t.violations, &vacuous),
        counts: t.counts,
        coverage: t.coverage,
        violations: t.violations,
        allowed_losses: lost_allowed,
        vacuous,
        messages_by_kind: by_name(&stats.messages),
        errors: by_name(&stats.errors),
        marks: obs.marks.clone(),
        story: None,
    };
    judge_story(out, &mut report);
    report
}

/// What the checks found so far, what they compared and the run's counts.
struct Tally {
    violations: Vec<Violation>,
    coverage: Vec<Coverage>,
    counts: Counts,
}

/// The checks of the final committed logs (each partition's leader's log below the HW)
/// against the history: durability, duplicates, producer order, the consumers' polls, log
/// matching. Returns the losses the configuration allowed.
fn final_log_checks(out: &RunOutput, obs: &Observer, t: &mut Tally) -> Vec<AllowedLoss> {
    // Final logs: the committed log of each partition is its leader's log below the HW.
    let finals = final_logs(out, obs);
    let (lost_allowed, lost_violations, compared) = durability(out, obs, &finals);
    t.coverage.push(Coverage {
        checker: "acked-durability",
        compared,
        unit: "acknowledged writes",
    });
    t.counts.lost_allowed = lost_allowed.len() as u64;
    t.counts.lost_violating = lost_violations.len() as u64;
    t.violations.extend(lost_violations);
    let (duplicated, duplicate_violations, records) = duplicates(out, obs, &finals);
    t.coverage.push(Coverage {
        checker: "duplicate",
        compared: records,
        unit: "committed records",
    });
    t.counts.duplicates = duplicated;
    t.violations.extend(duplicate_violations);
    let (reordered, order_violations, pairs) = producer_order(obs, &finals);
    t.coverage.push(Coverage {
        checker: "producer-order",
        compared: pairs,
        unit: "pairs of one producer's committed records",
    });
    t.counts.reordered = reordered;
    t.violations.extend(order_violations);
    if out.ctx.sc.workload.consumers > 0 {
        let c = consumer::consumer_checks(out, obs, &finals, &lost_allowed);
        t.coverage.extend(c.coverage);
        t.coverage.push(Coverage {
            checker: "read-above-hw",
            compared: obs.read_checks,
            unit: "polled records, committed when read",
        });
        t.counts.polled = obs.polls.len() as u64;
        t.counts.redelivered = c.redelivered;
        t.violations.extend(c.violations);
    }
    let (matching, offsets) = log_matching(out, obs);
    t.coverage.push(Coverage {
        checker: "log-matching",
        compared: offsets,
        unit: "offsets below both HWs",
    });
    t.violations.extend(matching);
    lost_allowed
}

/// What the observer's checkers compared during the run, each in its own unit.
fn online_coverage(obs: &Observer, coordinator: Coordinator) -> Vec<Coverage> {
    let mut all = kafka_coverage(obs);
    if coordinator == Coordinator::ZooKeeper {
        // The quorum lines count the KRaft controllers' Raft; the ensemble has its own.
        all.retain(|c| c.checker != "quorum");
        all.push(Coverage {
            checker: "zookeeper",
            compared: obs.zk.checks(),
            unit: "ZooKeeper ensemble observations (broadcast, zxid order, trees, ephemerals, client order)",
        });
        all.push(Coverage {
            checker: "metadata-monotonic",
            compared: obs.metadata_answers.checks,
            unit: "brokers' Metadata answers against their earlier ones",
        });
    }
    all
}

fn kafka_coverage(obs: &Observer) -> Vec<Coverage> {
    vec![
        Coverage {
            checker: "one-leader-per-epoch",
            compared: obs.leader_claims,
            unit: "leadership claims",
        },
        Coverage {
            checker: "leader-hw-monotonic",
            compared: obs.hw_observations,
            unit: "leader HW observations",
        },
        Coverage {
            checker: "quorum",
            compared: obs.quorum_checker.checks(),
            unit: "controller quorum observations",
        },
        Coverage {
            checker: "leader-in-isr",
            compared: obs.isr_checks,
            unit: "elections and ISR changes",
        },
        Coverage {
            checker: "leader-completeness",
            compared: obs.completeness_checks,
            unit: "new leaders against the committed log",
        },
        Coverage {
            checker: "strong-isr",
            compared: obs.strong_isr_checks,
            unit: "ISR members against the committed log",
        },
        Coverage {
            checker: "hw-within-leo",
            compared: obs.hw_leo_checks,
            unit: "replica HWs against their LEO",
        },
        Coverage {
            checker: "log-matching",
            compared: obs.matching_checks,
            unit: "replica HW advances against the committed log",
        },
        Coverage {
            checker: "disk",
            compared: obs.disk_checks,
            unit: "restarted logs and their records against what their disk was asked to keep",
        },
        Coverage {
            checker: "quorum",
            compared: obs.votes.checks,
            unit: "controller votes written and granted",
        },
        Coverage {
            checker: "unclean-election",
            compared: obs.election_checks,
            unit: "elections against unclean.leader.election.enable",
        },
        Coverage {
            checker: "unavailability",
            compared: obs.availability.checks,
            unit: "health checks of partitions with a waiting write",
        },
    ]
}

/// The client history's operations by type.
fn history_counts(obs: &Observer) -> Counts {
    let mut counts = Counts::default();
    for op in &obs.history {
        match op.kind {
            OpType::Invoke => counts.invoked += 1,
            OpType::Ok => counts.acked += 1,
            OpType::Fail => counts.failed += 1,
            OpType::Info => counts.unknown += 1,
        }
    }
    counts
}

/// A run that panicked, or did not settle: the finding its end is.
fn run_end_violation(out: &RunOutput, obs: &Observer) -> Option<Violation> {
    let sc = &out.ctx.sc;
    if let Some(panic) = &out.panic {
        Some(Violation {
            checker: "panic",
            write_ms: None,
            time_ms: out.outcome.end_ms,
            message: format!(
                "the simulation stopped: {panic}; last known state: {}",
                describe_state(obs)
            ),
        })
    } else if !out.outcome.settled {
        let unpolled = if sc.workload.consumers > 0 {
            format!(
                ", or records the consumer group has not polled (polled up to: {:?})",
                obs.drained
            )
        } else {
            String::new()
        };
        Some(Violation {
            checker: "liveness",
            write_ms: None,
            time_ms: out.outcome.end_ms,
            message: format!(
                "stall: {} ms after the workload ended, some partition still has no leader, unreplicated records{unpolled}; {}",
                sc.run.settle_ms,
                describe_state(obs)
            ),
        })
    } else {
        None
    }
}

/// The run's elections, unavailability, faults and flushes.
fn fault_counts(counts: &mut Counts, out: &RunOutput, obs: &Observer) {
    counts.leader_changes = obs.elections;
    counts.controller_elections = obs.quorum_elections;
    counts.controller_unavailable_ms = obs.controller_unavailable_until(out.outcome.end_ms);
    counts.unavailable_ms = obs.availability.unavailable_until(out.outcome.end_ms);
    counts.unclean_elections = obs.unclean_elections.values().map(|v| v.len() as u64).sum();
    counts.injected = obs.injected;
    counts.truncations = obs.truncations;
    counts.flushes = lock(&out.ctx.disks).flushes;
}

/// Why a run showed nothing: nothing acknowledged, a scripted fault that never happened, or
/// faults asked for and none injected.
fn vacuity(out: &RunOutput, obs: &Observer, counts: &Counts) -> Vec<String> {
    let sc = &out.ctx.sc;
    let mut vacuous = Vec::new();
    if counts.acked == 0 {
        vacuous.push("no write was acknowledged".to_string());
    }
    for s in &out.outcome.skipped_faults {
        vacuous.push(format!("scripted fault never happened: {s}"));
    }
    let asked_for_faults = !sc.faults.script.is_empty() || sc.faults.random.is_some();
    if asked_for_faults && obs.injected.any() == 0 {
        vacuous.push("the scenario asked for faults but none was injected".to_string());
    }
    vacuous
}

fn verdict_of(violations: &[Violation], vacuous: &[String]) -> Verdict {
    if !violations.is_empty() {
        Verdict::Invalid
    } else if !vacuous.is_empty() {
        Verdict::Vacuous
    } else {
        Verdict::Valid
    }
}

/// A story run as written (or with exactly its fix) must show its `[expect]`; one that does
/// not is a `story` violation.
fn judge_story(out: &RunOutput, report: &mut Report) {
    let Some(outcome) = crate::check::story::outcome_in_force(&out.ctx.sc, out.seed) else {
        return;
    };
    let shown = crate::check::story::Shown {
        invalid: report.verdict == Verdict::Invalid,
        violations: report.violations.iter().map(|v| v.checker).collect(),
        allowed_losses: report
            .allowed_losses
            .iter()
            .map(|l| l.reason.as_str())
            .collect(),
        lost: report.counts.lost(),
        marks: &report.marks,
    };
    let judged = crate::check::story::judge(outcome, &shown);
    match judged {
        Ok(shown) => report.story = Some(shown),
        Err(missing) => {
            report.violations.push(Violation {
                checker: "story",
                write_ms: None,
                time_ms: out.outcome.end_ms,
                message: format!("the story no longer shows what it must: {missing}"),
            });
            report.verdict = Verdict::Invalid;
        }
    }
}

/// Partition -> (value -> its offsets) over the final committed log (the controller's
/// leader's log below its HW). A value has more than one offset when a retry appended it again.
pub(crate) type FinalLogs = BTreeMap<PartitionId, BTreeMap<u64, Vec<Offset>>>;

fn final_logs(out: &RunOutput, obs: &Observer) -> FinalLogs {
    let mut finals = BTreeMap::new();
    for p in 0..out.ctx.sc.total_partitions() {
        let mut map = BTreeMap::new();
        let leader = obs.controller.get(&p).and_then(|c| c.0);
        if let Some(l) = leader {
            let hw = obs.views.get(&(l, p)).map(|v| v.hw).unwrap_or(0);
            if let Some(mirror) = obs.mirrors.get(&(l, p)) {
                for (offset, (_, v)) in mirror.iter().enumerate().take(hw.max(0) as usize) {
                    map.entry(*v)
                        .or_insert_with(Vec::new)
                        .push(offset as Offset);
                }
            }
        }
        finals.insert(p, map);
    }
    finals
}

/// When the last copy of offset `o` of partition `p` went: the latest cut, after `since`, of a
/// log that held it. None if no log was cut there (an election chose a log that never held it).
fn lost_at(obs: &Observer, p: PartitionId, o: Offset, since: u64) -> Option<u64> {
    obs.cuts
        .iter()
        .filter(|((_, q), _)| *q == p)
        .flat_map(|(_, cuts)| cuts)
        .filter(|(t, from, to, _)| *t >= since && *to <= o && o < *from)
        .map(|(t, ..)| *t)
        .max()
}

/// Every acknowledged write must be in the final committed log at the offset it was
/// acknowledged with, unless the configuration allows its loss.
fn durability(
    out: &RunOutput,
    obs: &Observer,
    finals: &FinalLogs,
) -> (Vec<AllowedLoss>, Vec<Violation>, u64) {
    let acks = out.ctx.sc.producer.acks;
    let mut allowed = Vec::new();
    let mut violations = Vec::new();
    let mut compared = 0;
    for op in obs.history.iter().filter(|op| op.kind == OpType::Ok) {
        compared += 1;
        let found = finals.get(&op.partition).and_then(|m| m.get(&op.value));
        match (found, op.offset) {
            (Some(at), Some(acked)) if !at.contains(&acked) => violations.push(Violation {
                checker: "acked-durability",
                write_ms: None,
                time_ms: op.time_ms,
                message: format!("value {} was acknowledged at partition {} offset {acked} but the committed log holds it at offset {}", op.value, op.partition, offsets(at)),
            }),
            (Some(_), _) => {}
            (None, _) => {
                let holders = obs.held_by.get(&op.value).cloned().unwrap_or_default();
                let power_lost = obs.power_lost_by.get(&op.value).cloned().unwrap_or_default();
                let committed = obs.committed.contains(&op.value);
                // Losses follow from what happened after the record was committed (the leader
                // may answer long before the producer hears it), and an unclean election
                // excuses a loss only where the configuration allows one.
                let since = obs.committed_at.get(&op.value).map_or(op.time_ms, |t| (*t).min(op.time_ms));
                let unclean_after = obs.rules.unclean_leader_election_enable
                    && obs.unclean_elections.get(&op.partition).is_some_and(|v| v.iter().any(|t| *t >= since));
                let reason = if !committed && acks == Acks::None {
                    Some("acks=0: sent without waiting for any answer, and never committed (never below a leader's HW)".to_string())
                } else if !committed && acks != Acks::All {
                    Some(format!("acks={}: acknowledged by the leader alone and never committed (never below a leader's HW) before the leader failed over", acks.name()))
                } else if !holders.is_empty() && holders.iter().all(|b| power_lost.contains(b)) {
                    Some(format!("every replica that held it ({}) lost it in a power loss before flushing it", list(&holders)))
                } else if unclean_after {
                    Some("an unclean leader election (unclean.leader.election.enable=true) chose a replica without it".to_string())
                } else {
                    obs.recovered_without(op.partition, &[op.value], since)
                };
                match reason {
                    Some(reason) => allowed.push(AllowedLoss { value: op.value, partition: op.partition, offset: op.offset, reason }),
                    None => violations.push(Violation {
                        checker: "acked-durability",
                        write_ms: Some(op.time_ms),
                        time_ms: op.offset.and_then(|o| lost_at(obs, op.partition, o, since)).unwrap_or(op.time_ms),
                        message: format!(
                            "acknowledged write lost: value {} (partition {}, offset {}) was acknowledged with acks={} {}, yet it is not in the final committed log; it was held by broker(s) {} and lost in a power loss by {}; no unclean election happened",
                            op.value,
                            op.partition,
                            op.offset.map(|o| o.to_string()).unwrap_or_else(|| "?".into()),
                            acks.name(),
                            if committed { "and was committed" } else { "but never committed" },
                            list(&holders),
                            if power_lost.is_empty() { "none".to_string() } else { list(&power_lost) },
                        ),
                    }),
                }
            }
        }
    }
    (allowed, violations, compared)
}

fn offsets(at: &[Offset]) -> String {
    at.iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Jepsen's duplicate check over the final committed logs: a value at more than one offset.
/// A retry of an attempt whose outcome was unknown appends the record again when the producer
/// is not idempotent: allowed, and counted. An idempotent producer sends a record under one
/// producer id only, and the leader answers a retry of a batch it holds with its offset, so a
/// duplicate there is a violation. Returns (duplicated values, violations, records compared).
fn duplicates(out: &RunOutput, obs: &Observer, finals: &FinalLogs) -> (u64, Vec<Violation>, u64) {
    let idempotent = out.ctx.sc.producer.enable_idempotence;
    let mut violations = Vec::new();
    let (mut duplicated, mut records) = (0, 0);
    for (p, log) in finals {
        for (value, at) in log {
            records += at.len() as u64;
            if at.len() < 2 {
                continue;
            }
            duplicated += 1;
            if idempotent {
                let sent_ms = obs
                    .history
                    .iter()
                    .find(|op| op.value == *value && op.kind == OpType::Invoke)
                    .map_or(out.outcome.end_ms, |op| op.time_ms);
                violations.push(Violation {
                    checker: "duplicate",
                    write_ms: None,
                    time_ms: sent_ms,
                    message: format!(
                        "value {value} is in the committed log of partition {p} {} times, at offsets {}; its producer is idempotent (enable.idempotence=true), so the leader must answer a retry of a batch it holds with that batch's offset instead of appending it again",
                        at.len(),
                        offsets(at)
                    ),
                });
            }
        }
    }
    (duplicated, violations, records)
}

/// Order within one producer: the records a producer sent to a partition, in the order it first
/// sent them, must sit at increasing offsets of the final committed log. A retry without
/// idempotence can land after records sent later (allowed, counted); an idempotent session's
/// sequence numbers make the leader refuse a batch out of order, so there it is a violation.
/// Returns (reordered records, violations, pairs compared).
fn producer_order(obs: &Observer, finals: &FinalLogs) -> (u64, Vec<Violation>, u64) {
    // (process, partition, producer id) -> values in the order they were first sent.
    let mut sent: BTreeMap<(u32, PartitionId, Option<i64>), Vec<(u64, u64)>> = BTreeMap::new();
    for op in obs.history.iter().filter(|op| op.kind == OpType::Invoke) {
        sent.entry((op.process, op.partition, op.producer_id))
            .or_default()
            .push((op.value, op.time_ms));
    }
    let mut violations = Vec::new();
    let (mut reordered, mut pairs) = (0, 0);
    for ((process, p, producer_id), values) in &sent {
        let Some(log) = finals.get(p) else { continue };
        let mut last: Option<(u64, Offset)> = None;
        for (value, time_ms) in values {
            let Some(&offset) = log.get(value).and_then(|at| at.first()) else {
                continue;
            };
            if let Some((before, before_at)) = last {
                pairs += 1;
                if offset < before_at {
                    reordered += 1;
                    if let Some(id) = producer_id {
                        violations.push(Violation {
                            checker: "producer-order",
                            write_ms: None,
                            time_ms: *time_ms,
                            message: format!(
                                "producer {process} (idempotent, producer id {id}) sent value {before} before value {value} to partition {p}, but the committed log holds {value} at offset {offset}, before {before} at offset {before_at}"
                            ),
                        });
                    }
                    continue;
                }
            }
            last = Some((*value, offset));
        }
    }
    (reordered, violations, pairs)
}

fn list(set: &std::collections::BTreeSet<BrokerId>) -> String {
    if set.is_empty() {
        return "none".into();
    }
    set.iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Log matching: two replicas never hold different records (epoch or value) at an offset
/// below both of their HWs.
fn log_matching(out: &RunOutput, obs: &Observer) -> (Vec<Violation>, u64) {
    let mut violations = Vec::new();
    let mut compared = 0u64;
    for p in 0..out.ctx.sc.total_partitions() {
        let replicas: Vec<BrokerId> = obs
            .views
            .keys()
            .filter(|(_, part)| *part == p)
            .map(|(b, _)| *b)
            .collect();
        for (i, a) in replicas.iter().enumerate() {
            for b in &replicas[i + 1..] {
                let hw = obs.views[&(*a, p)].hw.min(obs.views[&(*b, p)].hw).max(0) as usize;
                let la = obs
                    .mirrors
                    .get(&(*a, p))
                    .map(|m| m.as_slice())
                    .unwrap_or(&[]);
                let lb = obs
                    .mirrors
                    .get(&(*b, p))
                    .map(|m| m.as_slice())
                    .unwrap_or(&[]);
                let n = hw.min(la.len()).min(lb.len());
                compared += n as u64;
                if let Some(off) = (0..n).find(|o| la[*o] != lb[*o]) {
                    violations.push(Violation {
                        checker: "log-matching",
                        write_ms: None,
                        time_ms: out.outcome.end_ms,
                        message: format!(
                            "partition {p}: brokers {a} and {b} diverge at offset {off}, below both HWs: broker {a} has value {} (epoch {}), broker {b} has value {} (epoch {})",
                            la[off].1, la[off].0, lb[off].1, lb[off].0
                        ),
                    });
                }
            }
        }
    }
    (violations, compared)
}

/// A replica's role in Kafka's words.
fn replica_role(role: ksim_model::Role) -> String {
    match role {
        ksim_model::Role::Leader { leader_epoch } => {
            format!("leader in leader epoch {leader_epoch}")
        }
        ksim_model::Role::Follower {
            leader,
            leader_epoch,
        } => format!("follower of broker {leader} in leader epoch {leader_epoch}"),
        ksim_model::Role::Offline => "offline (no leader known, or fenced)".into(),
    }
}

/// A quorum member's role in words: `member` is "server" or "controller".
fn quorum_role(role: ksim_model::quorum::Role, member: &str) -> String {
    match role {
        ksim_model::quorum::Role::Leader => "leader".into(),
        ksim_model::quorum::Role::Candidate => "candidate (electing)".into(),
        ksim_model::quorum::Role::Follower { leader: Some(l) } => {
            format!("follower of {member} {l}")
        }
        ksim_model::quorum::Role::Follower { leader: None } => "follower, no leader known".into(),
    }
}

/// Each replica's state, for stall reports.
pub fn describe_state(obs: &Observer) -> String {
    let mut parts = Vec::new();
    for ((b, p), v) in &obs.views {
        parts.push(format!(
            "broker {b} p{p}: {} LEO {} HW {}{}",
            replica_role(v.role),
            v.leo,
            v.hw,
            if v.alive { "" } else { " (down)" }
        ));
    }
    for (p, (l, e, isr)) in &obs.controller {
        let leader = l.map_or("none".to_string(), |l| format!("broker {l}"));
        parts.push(format!(
            "controllers' view of p{p}: leader {leader}, leader epoch {e}, ISR {isr:?}"
        ));
    }
    for (c, n) in &obs.quorum {
        parts.push(if obs.rules.zookeeper {
            format!(
                "zookeeper {c}: {}, epoch {}, committed {}, logged {}",
                quorum_role(n.role, "server"),
                n.term,
                n.commit_index,
                n.last_index
            )
        } else {
            format!(
                "controller {c}: {}, term {}, commit index {}, log length {}",
                quorum_role(n.role, "controller"),
                n.term,
                n.commit_index,
                n.last_index
            )
        });
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn lost_counts_allowed_and_violating_losses_alike() {
        let counts = |lost_allowed, lost_violating| Counts {
            lost_allowed,
            lost_violating,
            ..Counts::default()
        };
        assert_eq!(counts(0, 0).lost(), 0);
        assert_eq!(counts(3, 0).lost(), 3);
        assert_eq!(counts(0, 2).lost(), 2);
        assert_eq!(counts(3, 2).lost(), 5);
    }
}
