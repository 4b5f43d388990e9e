//! Jepsen's consumer checks, over every record the consumers' polls returned:
//! - `poll-skip` and `nonmonotonic-poll`: within one stint of a consumer on a partition (one
//!   start of the consumer, one generation of the group), each poll continues at the offset
//!   after the last one. A skip loses records for this consumer; going back re-reads them.
//!   A new stint may start anywhere the group committed: re-reading is at-least-once.
//! - `inconsistent-offsets`: a polled record must be the committed log's record at that
//!   offset (consumers read below the HW only), unless the configuration allowed losing it.
//! - `unseen`: every acknowledged write in the final committed log was polled by some
//!   consumer of the group by the end of the run (the consumers drain while it settles).
//!
//! Records polled more than once by the group are counted as re-deliveries.

use std::collections::{BTreeMap, BTreeSet};

use ksim_model::{Offset, PartitionId};

use super::{AllowedLoss, Coverage, FinalLogs};
use crate::cluster::run::RunOutput;
use crate::observer::{Observer, OpType, Poll, Violation};

pub(super) struct ConsumerChecks {
    pub coverage: Vec<Coverage>,
    pub violations: Vec<Violation>,
    pub redelivered: u64,
}

pub(super) fn consumer_checks(
    out: &RunOutput,
    obs: &Observer,
    finals: &FinalLogs,
    allowed: &[AllowedLoss],
) -> ConsumerChecks {
    let mut violations = Vec::new();
    let mut order = PollOrder::default();
    let mut consistency = Consistency::new(obs, finals, allowed);
    let mut seen: BTreeMap<(PartitionId, Offset), u64> = BTreeMap::new();
    for poll in &obs.polls {
        violations.extend(order.check(poll, &consistency.allowed_values));
        *seen.entry((poll.partition, poll.offset)).or_default() += 1;
        violations.extend(consistency.check(obs, poll));
    }
    let unseen_compared = unseen(
        out,
        obs,
        finals,
        &consistency.allowed_values,
        &mut violations,
    );
    let redelivered = seen.values().map(|n| n - 1).sum();
    ConsumerChecks {
        coverage: vec![
            Coverage {
                checker: "poll-order",
                compared: order.pairs,
                unit: "consecutive polls of one consumer's assignment",
            },
            Coverage {
                checker: "inconsistent-offsets",
                compared: consistency.compared,
                unit: "polled records against the committed log",
            },
            Coverage {
                checker: "unseen",
                compared: unseen_compared,
                unit: "committed acknowledged writes looked for in the polls",
            },
        ],
        violations,
        redelivered,
    }
}

/// `poll-skip` and `nonmonotonic-poll`: each consumer stint's last polled offset and value,
/// and how many consecutive pairs of polls were compared.
#[derive(Default)]
struct PollOrder {
    /// (consumer, incarnation, generation, partition) -> last polled offset and value.
    stints: BTreeMap<(u32, u64, i32, PartitionId), (Offset, u64)>,
    pairs: u64,
}

impl PollOrder {
    /// `allowed`: the committed values whose loss the configuration allowed. When the last
    /// record polled is one of them, the log was cut below the consumer's position; Kafka's
    /// consumer is told OFFSET_OUT_OF_RANGE and moves as `auto.offset.reset` says, back to
    /// the earliest offset or on to the latest: not a fault of the consumer's.
    fn check(&mut self, poll: &Poll, allowed: &BTreeSet<u64>) -> Option<Violation> {
        let key = (
            poll.consumer,
            poll.incarnation,
            poll.generation,
            poll.partition,
        );
        let (last, last_value) = self.stints.insert(key, (poll.offset, poll.value))?;
        self.pairs += 1;
        if allowed.contains(&last_value) {
            return None;
        }
        out_of_order(poll, last)
    }
}

/// A poll that does not continue right after `last` within its stint.
fn out_of_order(poll: &Poll, last: Offset) -> Option<Violation> {
    let (checker, what) = if poll.offset > last + 1 {
        (
            "poll-skip",
            format!("skipped offsets {}..{}", last + 1, poll.offset - 1),
        )
    } else if poll.offset <= last {
        ("nonmonotonic-poll", "went back".to_string())
    } else {
        return None;
    };
    Some(Violation {
        checker,
        write_ms: None,
        time_ms: poll.time_ms,
        message: format!(
            "consumer {} (start {}, generation {}) polled partition {} offset {} right after offset {last}: it {what} within one assignment",
            poll.consumer, poll.incarnation, poll.generation, poll.partition, poll.offset
        ),
    })
}

/// `inconsistent-offsets`: the committed log by offset, per partition; the values whose loss
/// was allowed; how many polled records were compared.
struct Consistency {
    by_offset: BTreeMap<PartitionId, BTreeMap<Offset, u64>>,
    allowed_values: BTreeSet<u64>,
    compared: u64,
}

impl Consistency {
    fn new(obs: &Observer, finals: &FinalLogs, allowed: &[AllowedLoss]) -> Consistency {
        let by_offset = finals
            .iter()
            .map(|(p, log)| {
                let at = log
                    .iter()
                    .flat_map(|(v, offsets)| offsets.iter().map(move |o| (*o, *v)))
                    .collect();
                (*p, at)
            })
            .collect();
        // A committed record's loss may be allowed (a power loss of every holder, an unclean
        // election): a consumer that read it before is not at fault. A record lost because it
        // was never committed (acks=1) must never have reached a consumer at all.
        let mut allowed_values: BTreeSet<u64> = allowed
            .iter()
            .map(|a| a.value)
            .filter(|v| obs.committed.contains(v))
            .collect();
        // Records never acknowledged (their write's outcome unknown) are committed and cut
        // by the same allowed losses.
        allowed_values.extend(obs.allowed_cut.iter().copied());
        Consistency {
            by_offset,
            allowed_values,
            compared: 0,
        }
    }

    fn check(&mut self, obs: &Observer, poll: &Poll) -> Option<Violation> {
        self.compared += 1;
        let committed = self
            .by_offset
            .get(&poll.partition)
            .and_then(|m| m.get(&poll.offset));
        let unclean = obs.rules.unclean_leader_election_enable
            && obs.unclean_elections.contains_key(&poll.partition);
        if committed == Some(&poll.value) || unclean || self.allowed_values.contains(&poll.value) {
            return None;
        }
        Some(Violation {
            checker: "inconsistent-offsets",
            write_ms: None,
            time_ms: poll.time_ms,
            message: format!(
                "consumer {} polled value {} at partition {} offset {}, but the committed log holds {} there",
                poll.consumer,
                poll.value,
                poll.partition,
                poll.offset,
                committed.map_or("nothing".to_string(), |v| format!("value {v}"))
            ),
        })
    }
}

/// `unseen`; how many committed acknowledged writes it looked for.
fn unseen(
    out: &RunOutput,
    obs: &Observer,
    finals: &FinalLogs,
    allowed: &BTreeSet<u64>,
    violations: &mut Vec<Violation>,
) -> u64 {
    let polled_values: BTreeSet<u64> = obs.polls.iter().map(|p| p.value).collect();
    // After an allowed loss of committed records the partition's offsets are used again: a
    // consumer that had read into the lost stretch goes on from its position (Kafka's
    // consumer cannot tell), and what was written since below it is never polled.
    let mut passed: BTreeMap<PartitionId, Offset> = BTreeMap::new();
    for poll in obs.polls.iter().filter(|p| allowed.contains(&p.value)) {
        let o = passed.entry(poll.partition).or_insert(poll.offset);
        *o = (*o).max(poll.offset);
    }
    let mut unseen_compared = 0;
    // With auto.offset.reset=latest a group may rightly never read what came before it.
    let drains = out.ctx.sc.consumer.auto_offset_reset_earliest;
    for op in obs
        .history
        .iter()
        .filter(|op| op.kind == OpType::Ok && drains)
    {
        let in_log = finals
            .get(&op.partition)
            .is_some_and(|m| m.contains_key(&op.value));
        if !in_log {
            continue;
        }
        unseen_compared += 1;
        let passed_by_loss = op
            .offset
            .zip(passed.get(&op.partition))
            .is_some_and(|(o, reached)| o <= *reached);
        if !polled_values.contains(&op.value) && !passed_by_loss {
            violations.push(Violation {
                checker: "unseen",
                write_ms: None,
                time_ms: out.outcome.end_ms,
                message: format!(
                    "value {} was acknowledged at partition {} offset {} and is in the committed log, but no consumer of the group polled it by the end of the run",
                    op.value,
                    op.partition,
                    op.offset.map_or("?".to_string(), |o| o.to_string())
                ),
            });
        }
    }
    unseen_compared
}
