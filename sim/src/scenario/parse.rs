//! Reads scenario files (TOML written with Kafka's own server.properties and producer.properties
//! keys) into a `Scenario`, applies `--set KEY=VALUE` overrides and checks the result. One table
//! of key specs serves the file parser and `--set` alike, and every error names the file, line,
//! column and key so that a typo points at itself.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ksim_model::quorum::QuorumFlaw;
use ksim_model::{Acks, Flaw, Protocol, Truncation};
use toml_edit::{ImDocument, Item, Key, TableLike, Value};

use crate::scenario::{FaultAction, Outcome, RandomFaults, Scenario, ScriptedFault, Target};

/// A problem with a scenario file or a `--set` override, located as precisely as known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for InputError {}

/// A byte range in the file text; `None` where toml_edit kept no position.
type Span = Option<Range<usize>>;

/// 1-based line and column (in characters) of a byte offset. Safe for any offset, even one
/// past the end or inside a multi-byte character.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let prefix = &bytes[..offset.min(bytes.len())];
    let line = prefix.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = prefix
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    // Count UTF-8 lead bytes only, so a column is a character count.
    let column = prefix[line_start..]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count()
        + 1;
    (line, column)
}

fn error_at(file: &str, text: &str, key: Option<&str>, at: &Span, message: String) -> InputError {
    let (line, column) = match at {
        Some(r) => {
            let (l, c) = line_col(text, r.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    InputError {
        file: file.to_string(),
        line,
        column,
        key: key.map(String::from),
        message,
    }
}

// ---------------------------------------------------------------------------------------------
// The key table: one entry per settable key, shared by the file parser and `--set`.

type Apply = fn(&mut Scenario, &Value) -> Result<(), String>;

/// A key of a section (`""` is the top level), and how to read its value into a scenario.
struct KeySpec {
    section: &'static str,
    key: &'static str,
    apply: Apply,
}

impl KeySpec {
    fn qualified(&self) -> String {
        qualify(self.section, self.key)
    }
}

fn qualify(section: &str, key: &str) -> String {
    if section.is_empty() {
        key.to_string()
    } else {
        format!("{section}.{key}")
    }
}

/// Kafka's "no limit" for longs (`Long.MAX_VALUE`), which also serves as "unbounded" below.
const MAX: i64 = i64::MAX;

/// `key!(section, key, |sc, v| PLACE => VALUE)`: parse VALUE first (it may fail with `?`), and
/// only then assign, so a failed `--set` leaves the scenario untouched.
macro_rules! key {
    ($section:literal, $key:literal, |$sc:ident, $v:ident| $place:expr => $value:expr) => {
        KeySpec {
            section: $section,
            key: $key,
            apply: |$sc, $v| {
                let parsed = $value;
                $place = parsed;
                Ok(())
            },
        }
    };
}

static KEYS: &[KeySpec] = &[
    key!("", "name", |sc, v| sc.name => non_empty_string(v)?),
    key!("", "description", |sc, v| sc.description => string(v)?.to_string()),
    key!("", "fix", |sc, v| sc.fix => assignments(v)?),
    key!("", "fixed_in", |sc, v| sc.fixed_in => string(v)?.to_string()),
    key!("cluster", "brokers", |sc, v| sc.brokers => int_in(v, 1, 64)?),
    key!("cluster", "controllers", |sc, v| sc.controllers => int_in(v, 1, 9)?),
    key!("server", "num.partitions", |sc, v| sc.partitions => int_in(v, 1, 1000)?),
    key!("server", "default.replication.factor", |sc, v| sc.replication_factor => int_in(v, 1, 64)?),
    key!("server", "min.insync.replicas", |sc, v| sc.broker.min_insync_replicas => int_in(v, 1, MAX)?),
    key!("server", "unclean.leader.election.enable", |sc, v| sc.broker.unclean_leader_election_enable => boolean(v)?),
    key!("server", "replica.lag.time.max.ms", |sc, v| sc.broker.replica_lag_time_max_ms => int_in(v, 1, MAX)?),
    key!("server", "log.flush.interval.messages", |sc, v| sc.broker.log_flush_interval_messages => at_least_1_or_never(v)?),
    key!("server", "log.flush.interval.ms", |sc, v| sc.broker.log_flush_interval_ms => at_least_1_or_never(v)?),
    key!("server", "replica.high.watermark.checkpoint.interval.ms", |sc, v| sc.broker.replica_high_watermark_checkpoint_interval_ms => int_in(v, 1, MAX)?),
    key!("server", "broker.heartbeat.interval.ms", |sc, v| sc.broker.broker_heartbeat_interval_ms => int_in(v, 1, MAX)?),
    key!("server", "broker.session.timeout.ms", |sc, v| sc.broker.broker_session_timeout_ms => int_in(v, 1, MAX)?),
    key!("server", "replica.fetch.wait.max.ms", |sc, v| sc.broker.replica_fetch_wait_max_ms => int_in(v, 0, MAX)?),
    key!("server", "replica.fetch.backoff.ms", |sc, v| sc.broker.replica_fetch_backoff_ms => int_in(v, 0, MAX)?),
    key!("server", "controller.quorum.election.timeout.ms", |sc, v| sc.broker.controller_quorum_election_timeout_ms => int_in(v, 100, 600_000)?),
    key!("producer", "acks", |sc, v| sc.producer.acks => acks(v)?),
    key!("producer", "request.timeout.ms", |sc, v| sc.producer.request_timeout_ms => int_in(v, 1, MAX)?),
    key!("producer", "max.in.flight.requests.per.connection", |sc, v| sc.producer.max_in_flight => int_in(v, 1, 1000)?),
    key!("producer", "enable.idempotence", |sc, v| sc.producer.enable_idempotence => boolean(v)?),
    key!("producer", "retries", |sc, v| sc.producer.retries => int_in(v, 0, i64::from(i32::MAX))?),
    key!("producer", "retry.backoff.ms", |sc, v| sc.producer.retry_backoff_ms => int_in(v, 0, MAX)?),
    key!("producer", "delivery.timeout.ms", |sc, v| sc.producer.delivery_timeout_ms => int_in(v, 1, MAX)?),
    key!("producer", "batch.size", |sc, v| sc.producer.batch_size => int_in(v, 0, 1 << 30)?),
    key!("producer", "linger.ms", |sc, v| sc.producer.linger_ms => int_in(v, 0, MAX)?),
    key!("producer", "partitioner.class", |sc, v| sc.producer.partitioner => partitioner(v)?),
    key!("consumer", "session.timeout.ms", |sc, v| sc.consumer.session_timeout_ms => int_in(v, 1, MAX)?),
    key!("consumer", "heartbeat.interval.ms", |sc, v| sc.consumer.heartbeat_interval_ms => int_in(v, 1, MAX)?),
    key!("consumer", "enable.auto.commit", |sc, v| sc.consumer.enable_auto_commit => boolean(v)?),
    key!("consumer", "auto.commit.interval.ms", |sc, v| sc.consumer.auto_commit_interval_ms => int_in(v, 1, MAX)?),
    key!("consumer", "auto.offset.reset", |sc, v| sc.consumer.auto_offset_reset_earliest => offset_reset(v)?),
    key!("consumer", "partition.assignment.strategy", |sc, v| sc.consumer.assignor => assignor(v)?),
    key!("workload", "producers", |sc, v| sc.workload.producers => int_in(v, 1, 64)?),
    key!("workload", "consumers", |sc, v| sc.workload.consumers => int_in(v, 0, 64)?),
    key!("workload", "keys", |sc, v| sc.workload.keys => int_in(v, 0, 1_000_000)?),
    key!("workload", "topics", |sc, v| sc.workload.topics => topics(v)?),
    key!("workload", "rate_per_sec", |sc, v| sc.workload.rate_per_sec => int_in(v, 1, 100_000)?),
    key!("workload", "duration_ms", |sc, v| sc.workload.duration_ms => int_in(v, 1, 86_400_000)?),
    key!("workload", "value_bytes", |sc, v| sc.workload.value_bytes => int_in(v, 8, 1_048_576)?),
    key!("faults.random", "kinds", |sc, v| random(sc).kinds => fault_kinds(v)?),
    key!("faults.random", "interval_ms", |sc, v| random(sc).interval_ms => min_max(v, 1)?),
    key!("faults.random", "down_ms", |sc, v| random(sc).down_ms => min_max(v, 0)?),
    key!("faults.random", "max_down", |sc, v| random(sc).max_down => int_in(v, 1, MAX)?),
    key!("faults.random", "aim_percent", |sc, v| random(sc).aim_percent => int_in(v, 0, 100)?),
    key!("faults.random", "hit_controllers", |sc, v| random(sc).controllers => boolean(v)?),
    key!("faults.random", "swarm", |sc, v| random(sc).swarm => boolean(v)?),
    key!("faults.random", "wait_for_first_ack", |sc, v| random(sc).wait_for_first_ack => boolean(v)?),
    key!("run", "settle_ms", |sc, v| sc.run.settle_ms => int_in(v, 1000, 600_000)?),
    key!("run", "seed", |sc, v| sc.run.seed => Some(int_in(v, 0, MAX)?)),
    KeySpec {
        section: "protocol",
        key: "preset",
        apply: |sc, v| {
            match choice(v, PRESETS)? {
                Preset::Modern => sc.broker.protocol = Protocol::default(),
                // Kafka 0.8 had no min.insync.replicas and always allowed unclean election.
                Preset::Kafka08 => {
                    sc.broker.protocol = Protocol::kafka_0_8();
                    sc.broker.min_insync_replicas = 1;
                    sc.broker.unclean_leader_election_enable = true;
                }
            }
            Ok(())
        },
    },
    key!("protocol", "truncation", |sc, v| sc.broker.protocol.truncation => choice(v, TRUNCATIONS)?),
    key!("protocol", "fetch_epoch_fencing", |sc, v| sc.broker.protocol.fetch_epoch_fencing => boolean(v)?),
    key!("protocol", "hw_requires_current_epoch", |sc, v| sc.broker.protocol.hw_requires_current_epoch => boolean(v)?),
    key!("protocol", "isr_expand_requires_epoch_start", |sc, v| sc.broker.protocol.isr_expand_requires_epoch_start => boolean(v)?),
    key!("protocol", "hw_over_maximal_isr", |sc, v| sc.broker.protocol.hw_over_maximal_isr => boolean(v)?),
    key!("protocol", "strict_min_isr", |sc, v| sc.broker.protocol.strict_min_isr => boolean(v)?),
    key!("protocol", "isr_add_checks_broker_epoch", |sc, v| sc.broker.protocol.isr_add_checks_broker_epoch => boolean(v)?),
    key!("protocol", "refusal_bumps_partition_epoch", |sc, v| sc.broker.protocol.refusal_bumps_partition_epoch => boolean(v)?),
    key!("expect", "verdict", |sc, v| outcome(&mut sc.expect).invalid => Some(choice(v, VERDICTS)?)),
    key!("expect", "violation", |sc, v| outcome(&mut sc.expect).violation => Some(checker_name(v)?)),
    key!("expect", "allowed_loss", |sc, v| outcome(&mut sc.expect).allowed_loss => Some(non_empty_string(v)?)),
    key!("expect", "marks", |sc, v| outcome(&mut sc.expect).marks => mark_names(v)?),
    key!("expect", "loses_nothing", |sc, v| outcome(&mut sc.expect).loses_nothing => boolean(v)?),
    key!("expect", "seeds", |sc, v| sc.expect_seeds => seed_list(v)?),
    key!("expect", "sweep_marks", |sc, v| sc.sweep_marks => mark_names(v)?),
    key!("expect.swarm", "sweep_marks", |sc, v| sc.swarm_marks => mark_names(v)?),
    key!("expect", "within_seeds", |sc, v| sc.sweep_marks_within => int_in(v, 0, MAX)?),
    key!("expect.swarm", "within_seeds", |sc, v| sc.swarm_marks_within => int_in(v, 0, MAX)?),
    key!("expect.fixed", "loses_nothing", |sc, v| outcome(&mut sc.expect_fixed).loses_nothing => boolean(v)?),
    key!("expect.fixed", "verdict", |sc, v| outcome(&mut sc.expect_fixed).invalid => Some(choice(v, VERDICTS)?)),
    key!("expect.fixed", "violation", |sc, v| outcome(&mut sc.expect_fixed).violation => Some(checker_name(v)?)),
    key!("expect.fixed", "allowed_loss", |sc, v| outcome(&mut sc.expect_fixed).allowed_loss => Some(non_empty_string(v)?)),
    key!("expect.fixed", "marks", |sc, v| outcome(&mut sc.expect_fixed).marks => mark_names(v)?),
    key!("selftest", "flaw", |sc, v| sc.broker.flaw => choice(v, FLAWS)?),
    key!("selftest", "quorum_flaw", |sc, v| sc.quorum_flaw => choice(v, QUORUM_FLAWS)?),
];

/// The section that holds `[[faults.script]]` entries: listed for suggestions, never settable.
const SCRIPT_SECTION: &str = "faults.script";

/// Every section name, in table order, for "unknown section" suggestions.
fn sections() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for spec in KEYS {
        if !spec.section.is_empty() && !out.contains(&spec.section) {
            out.push(spec.section);
        }
    }
    out.push(SCRIPT_SECTION);
    out
}

fn is_section(name: &str) -> bool {
    sections().contains(&name)
}

fn outcome(slot: &mut Option<Outcome>) -> &mut Outcome {
    slot.get_or_insert_with(Outcome::default)
}

/// `[expect] verdict`: whether the story must break (`invalid`) or hold (`valid`).
const VERDICTS: &[(&str, bool)] = &[("valid", false), ("invalid", true)];

/// `[expect] violation`: one of the checkers' names.
fn checker_name(v: &Value) -> Result<String, String> {
    let name = non_empty_string(v)?;
    if crate::scenario::vocabulary::CHECKERS.contains(&name.as_str()) {
        return Ok(name);
    }
    Err(unknown_name(
        "checker",
        &name,
        crate::scenario::vocabulary::CHECKERS,
    ))
}

fn unknown_name(what: &str, name: &str, known: &[&str]) -> String {
    let mut msg = format!(
        "unknown {what} `{name}`: must be one of: {}",
        known.join(", ")
    );
    if let Some(best) = suggest(name, known.iter().copied()) {
        msg.push_str(&format!("; did you mean `{best}`?"));
    }
    msg
}

/// `[expect] seeds`: a list of seeds.
fn seed_list(v: &Value) -> Result<Vec<u64>, String> {
    let Some(list) = v.as_array() else {
        return Err(format!("expected a list of seeds, found {}", type_name(v)));
    };
    list.iter().map(|s| int_in(s, 0, MAX)).collect()
}

/// `[expect] marks` and `sweep_marks`: a list of coverage mark names.
fn mark_names(v: &Value) -> Result<Vec<String>, String> {
    let Some(list) = v.as_array() else {
        return Err(format!(
            "expected a list of mark names, found {}",
            type_name(v)
        ));
    };
    let known = crate::scenario::vocabulary::marks();
    let mut out = Vec::new();
    for item in list.iter() {
        let name = non_empty_string(item)?;
        if !known.contains(&name.as_str()) {
            return Err(unknown_name("coverage mark", &name, &known));
        }
        out.push(name);
    }
    Ok(out)
}

/// `[expect.fixed]` and `[expect.swarm]` flatten to `fixed.*` and `swarm.*` keys of [expect]:
/// each becomes a section of its own.
fn collect_expect<'d>(leaves: Vec<Leaf<'d>>, sections: &mut Vec<(String, Vec<Leaf<'d>>)>) {
    let mut by_section: BTreeMap<&str, Vec<Leaf<'d>>> = BTreeMap::new();
    for l in leaves {
        let (section, key) = match l.key.split_once('.') {
            Some(("fixed", rest)) => ("expect.fixed", rest.to_string()),
            Some(("swarm", rest)) => ("expect.swarm", rest.to_string()),
            _ => ("expect", l.key.clone()),
        };
        by_section
            .entry(section)
            .or_default()
            .push(Leaf { key, ..l });
    }
    for (section, leaves) in by_section {
        sections.push((section.to_string(), leaves));
    }
}

/// `[faults.random]` without some keys gets these (the section's documented example).
fn random(sc: &mut Scenario) -> &mut RandomFaults {
    sc.faults.random.get_or_insert_with(|| RandomFaults {
        kinds: vec![FaultAction::Crash, FaultAction::PowerLoss],
        interval_ms: (2_000, 8_000),
        down_ms: (1_000, 15_000),
        max_down: 1,
        aim_percent: 0,
        controllers: false,
        swarm: false,
        wait_for_first_ack: true,
    })
}

/// The scenario-file name of a planted flaw.
pub fn flaw_name(flaw: Flaw) -> &'static str {
    FLAWS
        .iter()
        .find(|(_, f)| *f == flaw)
        .map_or("none", |(n, _)| n)
}

/// The scenario-file name of a planted quorum flaw.
pub fn quorum_flaw_name(flaw: QuorumFlaw) -> &'static str {
    QUORUM_FLAWS
        .iter()
        .find(|(_, f)| *f == flaw)
        .map_or("none", |(n, _)| n)
}

const FLAWS: &[(&str, Flaw)] = &[
    ("none", Flaw::None),
    ("ack-before-replication", Flaw::AckBeforeReplication),
    ("hw-regress", Flaw::HwRegress),
    ("elect-without-epoch-bump", Flaw::ElectWithoutEpochBump),
    ("skip-truncation", Flaw::SkipTruncation),
    ("followers-never-fetch", Flaw::FollowersNeverFetch),
    ("panic-on-restart", Flaw::PanicOnRestart),
    ("elect-outside-isr", Flaw::ElectOutsideIsr),
    ("skip-duplicate-check", Flaw::SkipDuplicateCheck),
    ("reorder-retries", Flaw::ReorderRetries),
    ("consumer-skips-a-record", Flaw::ConsumerSkipsARecord),
    ("read-above-hw", Flaw::ReadAboveHw),
    ("follower-hw-above-leo", Flaw::FollowerHwAboveLeo),
    ("never-shrink-isr", Flaw::NeverShrinkIsr),
    ("disk-keeps-unflushed", Flaw::DiskKeepsUnflushed),
    ("unclean-when-disabled", Flaw::UncleanWhenDisabled),
];

#[derive(Clone, Copy)]
enum Preset {
    Modern,
    Kafka08,
}

const PRESETS: &[(&str, Preset)] = &[("modern", Preset::Modern), ("kafka-0.8", Preset::Kafka08)];

const TRUNCATIONS: &[(&str, Truncation)] = &[
    ("high-watermark", Truncation::HighWatermark),
    ("kip-101", Truncation::Kip101),
    ("leader-epoch", Truncation::LeaderEpoch),
];

const QUORUM_FLAWS: &[(&str, QuorumFlaw)] = &[
    ("none", QuorumFlaw::None),
    ("double-vote", QuorumFlaw::DoubleVote),
    ("commit-without-majority", QuorumFlaw::CommitWithoutMajority),
    ("forget-vote-on-restart", QuorumFlaw::ForgetVoteOnRestart),
];

/// `[[faults.script]] action`: every fault, by its name.
fn script_actions() -> Vec<(&'static str, FaultAction)> {
    FaultAction::ALL.iter().map(|a| (a.name(), *a)).collect()
}

/// `[faults.random] kinds`: every fault but `restart` and `heal` (random faults restart and heal
/// themselves).
fn random_kinds() -> Vec<(&'static str, FaultAction)> {
    script_actions()
        .into_iter()
        .filter(|(_, a)| !matches!(a, FaultAction::Restart | FaultAction::Heal))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Value readers: each checks one value's type and range and says what was wrong.

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::InlineTable(_) => "a table",
    }
}

fn item_type_name(item: &Item) -> &'static str {
    match item {
        Item::Value(v) => type_name(v),
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::None => "nothing",
    }
}

fn expected(what: &str, v: &Value) -> String {
    let mut msg = format!("expected {what}, found {}", type_name(v));
    // A quoted number is the most common slip; say how to write it.
    if let Some(n) = v.as_str().and_then(|s| s.trim().parse::<i64>().ok()) {
        if what.contains("integer") {
            msg.push_str(&format!(" (write {n} without quotes)"));
        }
    }
    msg
}

fn int_in<T: TryFrom<i64>>(v: &Value, lo: i64, hi: i64) -> Result<T, String> {
    let n = v.as_integer().ok_or_else(|| expected("an integer", v))?;
    // Worded like Kafka's ConfigDef.Range ("Value must be at least 1").
    if n < lo {
        return Err(format!("invalid value {n}: value must be at least {lo}"));
    }
    if n > hi {
        return Err(format!(
            "invalid value {n}: value must be no more than {hi}"
        ));
    }
    T::try_from(n).map_err(|_| format!("invalid value {n}: too large"))
}

/// `log.flush.interval.*`: Kafka's default, Long.MAX_VALUE, means "never flush on this trigger".
fn at_least_1_or_never(v: &Value) -> Result<Option<u64>, String> {
    let n: u64 = int_in(v, 1, MAX)?;
    Ok((n != MAX as u64).then_some(n))
}

fn boolean(v: &Value) -> Result<bool, String> {
    v.as_bool()
        .ok_or_else(|| expected("a boolean (true or false)", v))
}

fn string(v: &Value) -> Result<&str, String> {
    v.as_str().ok_or_else(|| expected("a string", v))
}

fn non_empty_string(v: &Value) -> Result<String, String> {
    match string(v)?.trim() {
        "" => Err("must not be empty".into()),
        s => Ok(s.to_string()),
    }
}

fn choice<T: Copy>(v: &Value, choices: &[(&str, T)]) -> Result<T, String> {
    let s = string(v)?;
    if let Some(&(_, t)) = choices.iter().find(|(name, _)| *name == s) {
        return Ok(t);
    }
    let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
    let mut msg = format!("invalid value `{s}`: must be one of: {}", names.join(", "));
    if let Some(best) = suggest(s, names.iter().copied()) {
        msg.push_str(&format!("; did you mean `{best}`?"));
    }
    Err(msg)
}

/// `acks` as Kafka takes it: the string "all", "-1", "0" or "1"; integers are accepted too
/// because TOML users naturally write `acks = 1`.
fn acks(v: &Value) -> Result<Acks, String> {
    let text = match v {
        Value::String(s) => s.value().trim().to_string(),
        Value::Integer(i) => i.value().to_string(),
        _ => return Err(expected("a string or an integer", v)),
    };
    match text.as_str() {
        "-1" => Ok(Acks::All),
        "0" => Ok(Acks::None),
        "1" => Ok(Acks::Leader),
        all if all.eq_ignore_ascii_case("all") => Ok(Acks::All),
        other => Err(format!(
            "invalid value `{other}`: must be one of: all, -1, 0, 1"
        )),
    }
}

/// `auto.offset.reset`: true for earliest.
fn offset_reset(v: &Value) -> Result<bool, String> {
    match string(v)? {
        "earliest" => Ok(true),
        "latest" => Ok(false),
        other => Err(format!(
            "invalid value `{other}`: must be one of: earliest, latest (`none`, which fails \
             instead, is not modelled)"
        )),
    }
}

/// `partition.assignment.strategy`: the assignor's short name or Kafka's class name.
fn assignor(v: &Value) -> Result<ksim_model::Assignor, String> {
    let s = string(v)?;
    match s.rsplit('.').next().unwrap_or(s) {
        "range" | "RangeAssignor" => Ok(ksim_model::Assignor::Range),
        "roundrobin" | "RoundRobinAssignor" => Ok(ksim_model::Assignor::RoundRobin),
        _ => Err(format!(
            "invalid value `{s}`: must be one of: range, roundrobin (or Kafka's RangeAssignor, \
             RoundRobinAssignor class names)"
        )),
    }
}

/// `topics`: a list of topic names (Kafka's legal characters, distinct), or how many topics
/// (named `topic-0`, `topic-1`, ...).
fn topics(v: &Value) -> Result<Vec<String>, String> {
    let names: Vec<String> = match (v.as_integer(), v.as_array()) {
        (Some(n), _) if (1..=100).contains(&n) => (0..n).map(|i| format!("topic-{i}")).collect(),
        (_, Some(items)) if !items.is_empty() => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| expected("a topic name (a string)", item))
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(expected(
                "a list of topic names, or a number of topics from 1 to 100",
                v,
            ))
        }
    };
    for (i, name) in names.iter().enumerate() {
        let legal = !name.is_empty()
            && name.len() <= 249
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            && name != "."
            && name != "..";
        if !legal {
            return Err(format!(
                "invalid topic name `{name}`: Kafka allows 1 to 249 of [a-zA-Z0-9._-], not `.` or `..`"
            ));
        }
        if names[..i].contains(name) {
            return Err(format!("topic `{name}` is listed twice"));
        }
    }
    Ok(names)
}

/// `partitioner.class`: a short name, or Kafka's class name for the round-robin one.
fn partitioner(v: &Value) -> Result<crate::scenario::Partitioner, String> {
    use crate::scenario::Partitioner;
    let s = string(v)?;
    match s.rsplit('.').next().unwrap_or(s) {
        "keyed-round-robin" => Ok(Partitioner::KeyedRoundRobin),
        "sticky" | "built-in" => Ok(Partitioner::Sticky),
        "round-robin" | "RoundRobinPartitioner" => Ok(Partitioner::RoundRobin),
        _ => Err(format!(
            "invalid value `{s}`: must be one of: keyed-round-robin (the default here), sticky \
             (Kafka's built-in one), round-robin (or Kafka's RoundRobinPartitioner class name)"
        )),
    }
}

/// `fix`: an array of `KEY=VALUE` strings (each checked as a `--set` by `validate`).
fn assignments(v: &Value) -> Result<Vec<String>, String> {
    let array = v
        .as_array()
        .ok_or_else(|| expected("an array of \"KEY=VALUE\" strings", v))?;
    array
        .iter()
        .map(|item| {
            let s = item
                .as_str()
                .ok_or_else(|| expected("a \"KEY=VALUE\" string", item))?;
            if !s.contains('=') {
                return Err(format!("expected KEY=VALUE, found `{s}`"));
            }
            Ok(s.to_string())
        })
        .collect()
}

fn fault_kinds(v: &Value) -> Result<Vec<FaultAction>, String> {
    let array = v
        .as_array()
        .ok_or_else(|| expected("an array of strings", v))?;
    let mut kinds = Vec::new();
    for item in array.iter() {
        let kind = choice(item, &random_kinds())?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        let names: Vec<&str> = random_kinds().iter().map(|(n, _)| *n).collect();
        return Err(format!("must name at least one of: {}", names.join(", ")));
    }
    Ok(kinds)
}

/// `[min, max]` with `lo <= min <= max`.
fn min_max(v: &Value, lo: i64) -> Result<(u64, u64), String> {
    let array = v
        .as_array()
        .ok_or_else(|| expected("an array [min, max]", v))?;
    let items: Vec<&Value> = array.iter().collect();
    let [min, max] = items.as_slice() else {
        return Err(format!(
            "expected an array of two integers [min, max], found {} elements",
            items.len()
        ));
    };
    let min: u64 = int_in(min, lo, MAX).map_err(|e| format!("min: {e}"))?;
    let max: u64 = int_in(max, lo, MAX).map_err(|e| format!("max: {e}"))?;
    if min > max {
        return Err(format!("min ({min}) is larger than max ({max})"));
    }
    Ok((min, max))
}

fn target(v: &Value) -> Result<Target, String> {
    let s = string(v)?;
    parse_target(s.trim()).ok_or_else(|| {
        format!("invalid target `{s}`: expected broker:N, leader:P, follower:P, replicas:P, all, controller:N, controller:leader or consumer:N")
    })
}

fn parse_target(s: &str) -> Option<Target> {
    if s == "all" {
        return Some(Target::All);
    }
    if s == "controller:leader" {
        return Some(Target::ControllerLeader);
    }
    let (kind, number) = s.split_once(':')?;
    // Digits only: Rust's integer parser would also take "+3".
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i32 = number.parse().ok()?;
    match kind {
        "broker" => Some(Target::Broker(n)),
        "leader" => Some(Target::LeaderOf(n)),
        "follower" => Some(Target::FollowerOf(n)),
        "replicas" => Some(Target::ReplicasOf(n)),
        "controller" => u32::try_from(n).ok().map(Target::Controller),
        "consumer" => u32::try_from(n).ok().map(Target::Consumer),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Suggestions.

/// Edit distance in characters, a swap of two neighbours counting as one edit (optimal string
/// alignment), so `min.insync.replcias` is one edit from `min.insync.replicas`.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut above: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let substitute = above[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            row[j] = (above[j] + 1).min(row[j - 1] + 1).min(substitute);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut above, row);
    }
    above[b.len()]
}

/// Longer input is not a typo of any key; skipping it keeps hostile input cheap.
const MAX_SUGGEST_LEN: usize = 64;

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word = word.to_lowercase();
    let length = word.chars().count();
    if length > MAX_SUGGEST_LEN {
        return None;
    }
    let limit = (length / 3).clamp(1, 4);
    // A missing unit suffix (`duration` for `duration_ms`) is a typo too, however long.
    let close = |d: usize, c: &str| d <= limit || (length >= 2 && c.starts_with(word.as_str()));
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word, c), c))
        .filter(|&(d, c)| close(d, c))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

fn where_is(section: &str) -> String {
    if section.is_empty() {
        "at the top level".into()
    } else {
        format!("in [{section}]")
    }
}

/// Why `key` is unknown in `section`: it belongs elsewhere, or it is a typo of a known key.
fn unknown_key_message(section: &str, key: &str) -> String {
    if let Some(spec) = KEYS.iter().find(|s| s.key == key) {
        let home = match spec.section {
            "" => "at the top level, before any [section]".to_string(),
            other => format!("in [{other}]"),
        };
        return format!(
            "unknown key `{key}` {}; it belongs {home}",
            where_is(section)
        );
    }
    let mut msg = format!("unknown key `{key}` {}", where_is(section));
    let here: Vec<&str> = KEYS
        .iter()
        .filter(|s| s.section == section)
        .map(|s| s.key)
        .collect();
    let all: Vec<String> = KEYS.iter().map(KeySpec::qualified).collect();
    if let Some(best) = suggest(key, here.iter().copied()) {
        msg.push_str(&format!("; did you mean `{best}`?"));
    } else if let Some(best) = suggest(&qualify(section, key), all.iter().map(String::as_str)) {
        msg.push_str(&format!("; did you mean `{best}`?"));
    } else if !here.is_empty() {
        msg.push_str(&format!("; the keys here are: {}", here.join(", ")));
    }
    msg
}

fn unknown_section_message(name: &str) -> String {
    let mut msg = format!("unknown section [{name}]");
    if let Some(best) = suggest(name, sections()) {
        msg.push_str(&format!("; did you mean [{best}]?"));
    } else {
        msg.push_str(&format!("; the sections are: {}", sections().join(", ")));
    }
    msg
}

// ---------------------------------------------------------------------------------------------
// Reading a file.

/// A value found in the file under its key flattened within its section (`min.insync.replicas`
/// whether written dotted, quoted or as nested tables).
struct Leaf<'d> {
    key: String,
    item: &'d Item,
    /// Where the key starts (for a dotted key, its first part).
    at: Span,
}

/// Deeper nesting than any real key; stops recursion on hostile input.
const MAX_DEPTH: usize = 16;

/// Where the dotted key whose last part starts at `start` begins. toml_edit shares the `Key`
/// of a common prefix between lines (`replica.` in `replica.lag.time.max.ms` and
/// `replica.fetch.wait.max.ms`), so only the last part's position belongs to its own line; walk
/// back from it over `part.` (bare or quoted) to where the user started typing the key.
fn dotted_key_start(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let is_bare = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let skip_blanks = |mut p: usize| {
        while p > 0 && matches!(bytes[p - 1], b' ' | b'\t') {
            p -= 1;
        }
        p
    };
    let mut pos = start.min(bytes.len());
    loop {
        let mut p = skip_blanks(pos);
        if p == 0 || bytes[p - 1] != b'.' {
            return pos;
        }
        p = skip_blanks(p - 1);
        match p.checked_sub(1).map(|i| bytes[i]) {
            Some(quote @ (b'"' | b'\'')) => {
                // A quoted part: its opening quote, on the same line.
                match bytes[..p - 1]
                    .iter()
                    .rposition(|&b| b == quote || b == b'\n')
                {
                    Some(i) if bytes[i] == quote => p = i,
                    _ => return pos,
                }
            }
            Some(b) if is_bare(b) => {
                while p > 0 && is_bare(bytes[p - 1]) {
                    p -= 1;
                }
            }
            _ => return pos,
        }
        pos = p;
    }
}

/// Collect the leaves of `table`, each located where its key starts in `text`.
fn flatten<'d>(
    table: &'d dyn TableLike,
    text: &str,
    prefix: &str,
    depth: usize,
    out: &mut Vec<Leaf<'d>>,
) {
    for (k, item) in table.iter() {
        let key = if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        };
        match item.as_table_like() {
            Some(sub) if depth < MAX_DEPTH => flatten(sub, text, &key, depth + 1, out),
            _ => {
                let at = table
                    .key(k)
                    .and_then(Key::span)
                    .map(|r| dotted_key_start(text, r.start)..r.end);
                out.push(Leaf { key, item, at });
            }
        }
    }
}

fn leaves_of<'d>(table: &'d dyn TableLike, text: &str) -> Vec<Leaf<'d>> {
    let mut out = Vec::new();
    flatten(table, text, "", 0, &mut out);
    // File order, so the first problem in the file is the one reported.
    out.sort_by_key(|l| l.at.as_ref().map_or(usize::MAX, |r| r.start));
    out
}

/// One `[[faults.script]]` entry as read, before its keys are checked.
struct ScriptEntry<'d> {
    at: Span,
    leaves: Vec<Leaf<'d>>,
}

#[derive(Default)]
struct ScriptDraft {
    at_ms: Option<u64>,
    action: Option<FaultAction>,
    target: Option<Target>,
    restart_after_ms: Option<u64>,
    heal_after_ms: Option<u64>,
    latency_ms: Option<u64>,
    loss_percent: Option<u32>,
    clock_percent: Option<u32>,
}

type ScriptApply = fn(&mut ScriptDraft, &Value) -> Result<(), String>;

/// Where each key of one script entry was written.
type ScriptSpans = Vec<(&'static str, Span)>;

static SCRIPT_KEYS: &[(&str, ScriptApply)] = &[
    ("at_ms", |d, v| {
        d.at_ms = Some(int_in(v, 0, MAX)?);
        Ok(())
    }),
    ("action", |d, v| {
        d.action = Some(choice(v, &script_actions())?);
        Ok(())
    }),
    ("target", |d, v| {
        d.target = Some(target(v)?);
        Ok(())
    }),
    ("restart_after_ms", |d, v| {
        d.restart_after_ms = Some(int_in(v, 0, MAX)?);
        Ok(())
    }),
    ("heal_after_ms", |d, v| {
        d.heal_after_ms = Some(int_in(v, 0, MAX)?);
        Ok(())
    }),
    ("latency_ms", |d, v| {
        d.latency_ms = Some(int_in(v, 1, MAX)?);
        Ok(())
    }),
    ("loss_percent", |d, v| {
        d.loss_percent = Some(int_in(v, 1, 100)?);
        Ok(())
    }),
    // 1% to 10000%: a clock may run slow or fast, never stop or run backwards.
    ("clock_percent", |d, v| {
        d.clock_percent = Some(int_in(v, 1, 10_000)?);
        Ok(())
    }),
];

impl ScriptDraft {
    /// The entry, or the name of the first required key it lacks.
    fn finish(self) -> Result<ScriptedFault, &'static str> {
        Ok(ScriptedFault {
            at_ms: self.at_ms.ok_or("at_ms")?,
            action: self.action.ok_or("action")?,
            target: self.target.ok_or("target")?,
            restart_after_ms: self.restart_after_ms,
            heal_after_ms: self.heal_after_ms,
            latency_ms: self.latency_ms,
            loss_percent: self.loss_percent,
            clock_percent: self.clock_percent,
        })
    }
}

/// Parse state: the scenario being filled and where each key was written (so that errors
/// found later by `validate` can still point into the file).
struct Reader<'t> {
    text: &'t str,
    file: &'t str,
    sc: Scenario,
    spans: BTreeMap<String, Span>,
}

impl<'t> Reader<'t> {
    fn error(&self, key: &str, at: &Span, message: String) -> InputError {
        error_at(self.file, self.text, Some(key), at, message)
    }

    fn read(&mut self, root: &dyn TableLike) -> Result<(), InputError> {
        let mut sections: Vec<(String, Vec<Leaf<'_>>)> = Vec::new();
        let mut scripts = Vec::new();
        self.collect_root(root, &mut sections, &mut scripts)?;
        // The section alone turns random faults on, with the defaults for keys it leaves out.
        if sections.iter().any(|(name, _)| name == "faults.random") {
            random(&mut self.sc);
        }
        let mut leaves: Vec<(String, Leaf<'_>)> = sections
            .into_iter()
            .flat_map(|(section, leaves)| leaves.into_iter().map(move |l| (section.clone(), l)))
            .collect();
        leaves.sort_by_key(|(_, l)| l.at.as_ref().map_or(usize::MAX, |r| r.start));
        for (section, leaf) in &leaves {
            self.apply_leaf(section, leaf)?;
        }
        self.read_scripts(&scripts)
    }

    /// Sort the top level into sections (each flattened) and script entries.
    fn collect_root<'d>(
        &self,
        root: &'d dyn TableLike,
        sections: &mut Vec<(String, Vec<Leaf<'d>>)>,
        scripts: &mut Vec<ScriptEntry<'d>>,
    ) -> Result<(), InputError> {
        let mut top = Vec::new();
        for (k, item) in root.iter() {
            let at = root.key(k).and_then(Key::span);
            let Some(table) = item.as_table_like() else {
                if k == "faults" || is_section(k) {
                    let msg = format!("expected a table ([{k}]), found {}", item_type_name(item));
                    return Err(self.error(k, &at, msg));
                }
                top.push(Leaf {
                    key: k.to_string(),
                    item,
                    at,
                });
                continue;
            };
            if k == "faults" {
                self.collect_faults(table, sections, scripts)?;
            } else if k == "expect" {
                collect_expect(leaves_of(table, self.text), sections);
            } else if is_section(k) && k != SCRIPT_SECTION {
                sections.push((k.to_string(), leaves_of(table, self.text)));
            } else {
                return Err(self.error(k, &at, unknown_section_message(k)));
            }
        }
        sections.push((String::new(), top));
        Ok(())
    }

    fn collect_faults<'d>(
        &self,
        faults: &'d dyn TableLike,
        sections: &mut Vec<(String, Vec<Leaf<'d>>)>,
        scripts: &mut Vec<ScriptEntry<'d>>,
    ) -> Result<(), InputError> {
        let mut stray = Vec::new();
        for (k, item) in faults.iter() {
            let at = faults.key(k).and_then(Key::span);
            let name = format!("faults.{k}");
            match (k, item.as_table_like()) {
                ("script", _) => scripts.extend(self.script_entries(item, &at)?),
                ("random", Some(t)) => {
                    sections.push((name, leaves_of(t, self.text)));
                }
                ("random", None) => {
                    let msg = format!(
                        "expected a table ([faults.random]), found {}",
                        item_type_name(item)
                    );
                    return Err(self.error(&name, &at, msg));
                }
                (_, Some(_)) => return Err(self.error(&name, &at, unknown_section_message(&name))),
                // A plain key directly under [faults]: reported as unknown when applied.
                (_, None) => {
                    let at = at.map(|r| dotted_key_start(self.text, r.start)..r.end);
                    stray.push(Leaf {
                        key: k.to_string(),
                        item,
                        at,
                    });
                }
            }
        }
        sections.push(("faults".into(), stray));
        Ok(())
    }

    /// `[[faults.script]]` tables, or the inline form `script = [{ ... }, ...]`.
    fn script_entries<'d>(
        &self,
        item: &'d Item,
        at: &Span,
    ) -> Result<Vec<ScriptEntry<'d>>, InputError> {
        if let Some(tables) = item.as_array_of_tables() {
            return Ok(tables
                .iter()
                .map(|t| ScriptEntry {
                    at: t.span().or_else(|| at.clone()),
                    leaves: leaves_of(t, self.text),
                })
                .collect());
        }
        let wrong = |found: &str, at: &Span| {
            let msg =
                format!("expected [[faults.script]] entries (an array of tables), found {found}");
            self.error(SCRIPT_SECTION, at, msg)
        };
        let Some(array) = item.as_array() else {
            return Err(wrong(item_type_name(item), at));
        };
        let mut entries = Vec::new();
        for v in array.iter() {
            let Some(t) = v.as_inline_table() else {
                return Err(wrong(
                    &format!("an array holding {}", type_name(v)),
                    &v.span().or_else(|| at.clone()),
                ));
            };
            entries.push(ScriptEntry {
                at: v.span().or_else(|| at.clone()),
                leaves: leaves_of(t, self.text),
            });
        }
        Ok(entries)
    }

    fn apply_leaf(&mut self, section: &str, leaf: &Leaf<'_>) -> Result<(), InputError> {
        let qualified = qualify(section, &leaf.key);
        let Some(spec) = KEYS
            .iter()
            .find(|s| s.section == section && s.key == leaf.key)
        else {
            return Err(self.error(
                &qualified,
                &leaf.at,
                unknown_key_message(section, &leaf.key),
            ));
        };
        if let Some(first) = self.spans.get(&qualified) {
            return Err(self.error(&qualified, &leaf.at, self.twice(first)));
        }
        let value = self.value_of(&qualified, leaf)?;
        (spec.apply)(&mut self.sc, value)
            .map_err(|m| self.error(&qualified, &value.span().or_else(|| leaf.at.clone()), m))?;
        self.spans.insert(qualified, leaf.at.clone());
        Ok(())
    }

    fn value_of<'d>(&self, key: &str, leaf: &Leaf<'d>) -> Result<&'d Value, InputError> {
        leaf.item.as_value().ok_or_else(|| {
            self.error(
                key,
                &leaf.at,
                format!("expected a value, found {}", item_type_name(leaf.item)),
            )
        })
    }

    fn twice(&self, first: &Span) -> String {
        match first {
            Some(r) => format!(
                "key given twice (first at line {})",
                line_col(self.text, r.start).0
            ),
            None => "key given twice".into(),
        }
    }

    /// Read every entry, then order them by time (stable, so same-time entries keep file order).
    fn read_scripts(&mut self, entries: &[ScriptEntry<'_>]) -> Result<(), InputError> {
        let mut read = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            read.push(self.read_script_entry(i, entry)?);
        }
        read.sort_by_key(|(fault, _)| fault.at_ms);
        for (i, (fault, spans)) in read.into_iter().enumerate() {
            for (key, span) in spans {
                self.spans
                    .insert(format!("{SCRIPT_SECTION}[{i}].{key}"), span);
            }
            self.sc.faults.script.push(fault);
        }
        Ok(())
    }

    fn read_script_entry(
        &self,
        i: usize,
        entry: &ScriptEntry<'_>,
    ) -> Result<(ScriptedFault, ScriptSpans), InputError> {
        let mut draft = ScriptDraft::default();
        let mut spans: ScriptSpans = Vec::new();
        for leaf in &entry.leaves {
            let key = format!("{SCRIPT_SECTION}[{i}].{}", leaf.key);
            let Some(&(name, apply)) = SCRIPT_KEYS.iter().find(|(n, _)| *n == leaf.key) else {
                return Err(self.error(&key, &leaf.at, unknown_script_key(&leaf.key)));
            };
            if let Some((_, first)) = spans.iter().find(|(n, _)| *n == name) {
                return Err(self.error(&key, &leaf.at, self.twice(first)));
            }
            let value = self.value_of(&key, leaf)?;
            apply(&mut draft, value)
                .map_err(|m| self.error(&key, &value.span().or_else(|| leaf.at.clone()), m))?;
            spans.push((name, leaf.at.clone()));
        }
        let fault = draft.finish().map_err(|missing| {
            let key = format!("{SCRIPT_SECTION}[{i}].{missing}");
            self.error(&key, &entry.at, format!("missing required key `{missing}`"))
        })?;
        Ok((fault, spans))
    }
}

fn unknown_script_key(key: &str) -> String {
    let names = SCRIPT_KEYS.iter().map(|(n, _)| *n);
    let mut msg = format!("unknown key `{key}` in [[faults.script]]");
    match suggest(key, names.clone()) {
        Some(best) => msg.push_str(&format!("; did you mean `{best}`?")),
        None => msg.push_str(&format!(
            "; the keys are: {}",
            names.collect::<Vec<_>>().join(", ")
        )),
    }
    msg
}

/// Parse without the cross-key checks; also returns where each key was written.
fn parse_unvalidated(
    text: &str,
    origin: &str,
) -> Result<(Scenario, BTreeMap<String, Span>), InputError> {
    let doc = ImDocument::parse(text).map_err(|e| {
        // toml_edit's messages span lines ("invalid string\nexpected `\"`"); keep ours on one.
        let parts: Vec<&str> = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let message = match parts.as_slice() {
            [] => "invalid TOML".to_string(),
            parts => format!("invalid TOML: {}", parts.join("; ")),
        };
        error_at(origin, text, None, &e.span(), message)
    })?;
    let mut sc = Scenario {
        origin: origin.to_string(),
        ..Scenario::default()
    };
    if let Some(stem) = Path::new(origin)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
    {
        sc.name = stem.to_string();
    }
    let mut reader = Reader {
        text,
        file: origin,
        sc,
        spans: BTreeMap::new(),
    };
    reader.read(doc.as_table())?;
    Ok((reader.sc, reader.spans))
}

/// Parse a scenario file's text. `origin` is its path, used in messages and as the default name.
pub fn parse(text: &str, origin: &str) -> Result<Scenario, InputError> {
    let (sc, spans) = parse_unvalidated(text, origin)?;
    validate(&sc, origin).map_err(|mut e| {
        // Point at the offending key when the file wrote it.
        if let Some(Some(r)) = e.key.as_ref().and_then(|k| spans.get(k)) {
            let (line, column) = line_col(text, r.start);
            e.line = Some(line);
            e.column = Some(column);
        }
        e
    })?;
    Ok(sc)
}

// ---------------------------------------------------------------------------------------------
// `--set KEY=VALUE`

/// The spec `key` names: `section.key`, or a bare key found in exactly one section.
fn resolve<'a>(table: &'a [KeySpec], key: &str) -> Result<&'a KeySpec, String> {
    let is_script = key == SCRIPT_SECTION
        || key.starts_with("faults.script.")
        || key.starts_with("faults.script[")
        || SCRIPT_KEYS.iter().any(|(n, _)| *n == key);
    if is_script {
        return Err(
            "[[faults.script]] entries cannot be set with --set; write them in the scenario file"
                .into(),
        );
    }
    if let Some(spec) = table.iter().find(|s| s.qualified() == key) {
        return Ok(spec);
    }
    let bare: Vec<&KeySpec> = table.iter().filter(|s| s.key == key).collect();
    match bare.as_slice() {
        [one] => Ok(one),
        [] => Err(unknown_set_key(table, key)),
        many => {
            let names: Vec<String> = many
                .iter()
                .map(|s| format!("`{}`", s.qualified()))
                .collect();
            Err(format!(
                "ambiguous key `{key}`: write one of {}",
                names.join(", ")
            ))
        }
    }
}

fn unknown_set_key(table: &[KeySpec], key: &str) -> String {
    let qualified: Vec<String> = table.iter().map(KeySpec::qualified).collect();
    let names = qualified
        .iter()
        .map(String::as_str)
        .chain(table.iter().map(|s| s.key));
    match suggest(key, names) {
        Some(best) => format!("unknown key `{key}`; did you mean `{best}`?"),
        None => format!("unknown key `{key}` (keys are written `section.key`, e.g. `server.min.insync.replicas`, or bare, e.g. `acks`)"),
    }
}

/// Apply `text` as the value of `spec`: as TOML if it parses, else as a plain string, so that
/// `acks=all`, `flaw=hw-regress` and `name=2024` all work.
fn apply_text(spec: &KeySpec, sc: &mut Scenario, text: &str) -> Result<(), String> {
    let plain = Value::from(text);
    match text.parse::<Value>() {
        Ok(v) if !v.is_str() => {
            (spec.apply)(sc, &v).or_else(|e| (spec.apply)(sc, &plain).map_err(|_| e))
        }
        Ok(v) => (spec.apply)(sc, &v),
        Err(_) => (spec.apply)(sc, &plain),
    }
}

/// Apply one `--set KEY=VALUE` override and record it in `sc.overrides`. Checks the key and
/// this one value; the caller runs `validate` after all overrides.
pub fn apply_set(sc: &mut Scenario, assignment: &str) -> Result<(), InputError> {
    let fail = |key: Option<&str>, message: String| InputError {
        file: "--set".into(),
        line: None,
        column: None,
        key: key.map(String::from),
        message,
    };
    let Some((key, value)) = assignment.split_once('=') else {
        return Err(fail(
            None,
            format!("expected KEY=VALUE, found `{assignment}`"),
        ));
    };
    let (key, value) = (key.trim(), value.trim());
    if key.is_empty() {
        return Err(fail(
            None,
            format!("missing the key before '=' in `{assignment}`"),
        ));
    }
    let spec = resolve(KEYS, key).map_err(|m| fail(Some(key), m))?;
    apply_text(spec, sc, value).map_err(|m| fail(Some(key), m))?;
    sc.overrides.push((key.to_string(), value.to_string()));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Cross-key checks.

type Problem = (String, String);

/// Check what no single key can: sizes against each other and fault targets against the cluster.
pub fn validate(sc: &Scenario, file: &str) -> Result<(), InputError> {
    let problem = check_topic(sc)
        .or_else(|| check_fix(sc))
        .or_else(|| check_replication_timing(sc))
        .or_else(|| check_producer(sc))
        .or_else(|| check_random(sc))
        .or_else(|| check_script(sc));
    match problem {
        None => Ok(()),
        Some((key, message)) => Err(InputError {
            file: file.to_string(),
            line: None,
            column: None,
            key: Some(key),
            message,
        }),
    }
}

/// Every `fix` assignment must be a valid `--set` for this scenario.
fn check_fix(sc: &Scenario) -> Option<Problem> {
    let mut fixed = sc.clone();
    for a in &sc.fix {
        if let Err(e) = apply_set(&mut fixed, a) {
            return Some(("fix".into(), format!("`{a}`: {}", e.message)));
        }
    }
    None
}

fn check_topic(sc: &Scenario) -> Option<Problem> {
    let rf = sc.replication_factor;
    if rf > sc.brokers {
        return Some((
            "server.default.replication.factor".into(),
            format!(
                "default.replication.factor ({rf}) is larger than the number of brokers ({}); Kafka \
                 refuses to create the topic: \"Replication factor: {rf} larger than available brokers: {}.\"",
                sc.brokers, sc.brokers
            ),
        ));
    }
    let min_isr = sc.broker.min_insync_replicas;
    if i64::try_from(min_isr).unwrap_or(MAX) > i64::from(rf) {
        return Some((
            "server.min.insync.replicas".into(),
            format!(
                "min.insync.replicas ({min_isr}) is larger than default.replication.factor ({rf}): \
                 Kafka accepts this, but every acks=all produce would fail with NOT_ENOUGH_REPLICAS"
            ),
        ));
    }
    None
}

/// The producer settings Kafka's client refuses together (its ConfigException texts).
fn check_producer(sc: &Scenario) -> Option<Problem> {
    let p = &sc.producer;
    if !p.enable_idempotence {
        return None;
    }
    let bad = |key: &str, msg: String| Some((format!("producer.{key}"), msg));
    if p.max_in_flight > 5 {
        return bad(
            "max.in.flight.requests.per.connection",
            format!(
                "max.in.flight.requests.per.connection ({}) must be at most 5 with \
                 enable.idempotence=true: Kafka's client refuses it (\"Must set \
                 max.in.flight.requests.per.connection to at most 5 when using the idempotent \
                 producer.\"); the broker remembers only the last 5 batches of a producer",
                p.max_in_flight
            ),
        );
    }
    if p.acks != Acks::All {
        return bad(
            "acks",
            format!(
                "acks={} with enable.idempotence=true: Kafka's client refuses it (\"Must set \
                 acks to all in order to use the idempotent producer.\")",
                p.acks.name()
            ),
        );
    }
    if p.retries == 0 {
        return bad(
            "retries",
            "retries=0 with enable.idempotence=true: Kafka's client refuses it (\"Must set \
             retries to non-zero when using the idempotent producer.\")"
                .into(),
        );
    }
    None
}

fn check_replication_timing(sc: &Scenario) -> Option<Problem> {
    let b = &sc.broker;
    // KafkaConfig refuses to start with this (the text is Kafka's).
    (b.replica_fetch_wait_max_ms > b.replica_lag_time_max_ms).then(|| {
        (
            "server.replica.fetch.wait.max.ms".into(),
            format!(
                "replica.fetch.wait.max.ms ({}) should always be less than or equal to \
                 replica.lag.time.max.ms ({}) to prevent frequent changes in ISR",
                b.replica_fetch_wait_max_ms, b.replica_lag_time_max_ms
            ),
        )
    })
}

fn check_random(sc: &Scenario) -> Option<Problem> {
    let r = sc.faults.random.as_ref()?;
    let bad = |key: &str, msg: String| Some((format!("faults.random.{key}"), msg));
    if r.max_down < 1 {
        return bad("max_down", "max_down must be at least 1".into());
    }
    if r.kinds.is_empty()
        || r.kinds
            .iter()
            .any(|k| !random_kinds().iter().any(|(_, a)| a == k))
    {
        let names: Vec<&str> = random_kinds().iter().map(|(n, _)| *n).collect();
        return bad(
            "kinds",
            format!(
                "must name at least one of {}, and nothing else",
                names.join(", ")
            ),
        );
    }
    let (lo, hi) = r.interval_ms;
    if lo < 1 || lo > hi {
        return bad(
            "interval_ms",
            format!("[{lo}, {hi}] must satisfy 1 <= min <= max"),
        );
    }
    let (lo, hi) = r.down_ms;
    if lo > hi {
        return bad("down_ms", format!("min ({lo}) is larger than max ({hi})"));
    }
    None
}

fn check_script(sc: &Scenario) -> Option<Problem> {
    sc.faults.script.iter().enumerate().find_map(|(i, f)| {
        let key = |k: &str| format!("{SCRIPT_SECTION}[{i}].{k}");
        if !f.action.stops_a_node() && f.restart_after_ms.is_some() {
            let msg = format!("restart_after_ms is not allowed with action = \"{}\" (only crash, power-loss and pause stop a node)", f.action.name());
            return Some((key("restart_after_ms"), msg));
        }
        if !f.action.is_healed() && f.heal_after_ms.is_some() {
            let msg = format!("heal_after_ms is not allowed with action = \"{}\" (only network and clock faults are healed)", f.action.name());
            return Some((key("heal_after_ms"), msg));
        }
        let given = [
            ("latency_ms", f.latency_ms.is_some()),
            ("loss_percent", f.loss_percent.is_some()),
            ("clock_percent", f.clock_percent.is_some()),
        ];
        for (name, is_given) in given {
            let wanted = f.action.parameter() == Some(name);
            if wanted && !is_given {
                let msg = format!("action = \"{}\" needs {name}", f.action.name());
                return Some((key("action"), msg));
            }
            if is_given && !wanted {
                let msg = format!("{name} is not allowed with action = \"{}\"", f.action.name());
                return Some((key(name), msg));
            }
        }
        check_target(&f.target, sc).map(|msg| (key("target"), msg))
    })
}

fn check_target(target: &Target, sc: &Scenario) -> Option<String> {
    match *target {
        Target::Broker(b) if b < 1 || b > sc.brokers => Some(format!(
            "target `{target}` names broker {b}, but the cluster's brokers are 1..={}",
            sc.brokers
        )),
        Target::Controller(c) if c < 1 || c > sc.controllers => Some(format!(
            "target `{target}` names controller {c}, but the quorum's controllers are 1..={}",
            sc.controllers
        )),
        Target::Consumer(c) if c < 1 || c > sc.workload.consumers => Some(format!(
            "target `{target}` names consumer {c}, but the workload's consumers are 1..={}",
            sc.workload.consumers
        )),
        Target::LeaderOf(p) | Target::FollowerOf(p) | Target::ReplicasOf(p)
            if p < 0 || p >= sc.total_partitions() =>
        {
            Some(format!(
                "target `{target}` names partition {p}, but num.partitions is {} over {} topic(s) \
                 (partitions 0..={}); Kafka would answer UNKNOWN_TOPIC_OR_PARTITION",
                sc.partitions,
                sc.workload.topics.len(),
                sc.total_partitions() - 1
            ))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Finding scenario files.

/// Where named scenarios are looked for, in order.
fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("KSIM_SCENARIOS").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    dirs.push(PathBuf::from("scenarios"));
    dirs.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("scenarios"),
    );
    dirs
}

/// Every `NAME.toml` in `dirs`; an earlier directory wins a name.
fn available_in(dirs: &[PathBuf]) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
            let stem = path.file_stem().and_then(|s| s.to_str()).map(String::from);
            if let (Some(stem), true) = (stem, path.extension().is_some_and(|x| x == "toml")) {
                found.entry(stem).or_insert(path);
            }
        }
    }
    found
}

fn load_file(path: &Path) -> Result<Scenario, InputError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| InputError {
        file: origin.clone(),
        line: None,
        column: None,
        key: None,
        message: format!("cannot read the scenario: {e}"),
    })?;
    parse(&text, &origin)
}

fn load_from(name_or_path: &str, dirs: &[PathBuf]) -> Result<Scenario, InputError> {
    let path = Path::new(name_or_path);
    if path.is_file() {
        return load_file(path);
    }
    let fail = |message: String| InputError {
        file: name_or_path.to_string(),
        line: None,
        column: None,
        key: None,
        message,
    };
    // Something that looks like a path is never taken as a name.
    if name_or_path.contains(['/', '\\']) || name_or_path.ends_with(".toml") {
        return Err(fail("no such scenario file".into()));
    }
    let available = available_in(dirs);
    if let Some(path) = available.get(name_or_path) {
        return load_file(path);
    }
    Err(fail(unknown_scenario_message(
        name_or_path,
        &available,
        dirs,
    )))
}

fn unknown_scenario_message(
    name: &str,
    available: &BTreeMap<String, PathBuf>,
    dirs: &[PathBuf],
) -> String {
    if available.is_empty() {
        let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return format!(
            "unknown scenario `{name}`: no scenario files found (looked in {})",
            looked.join(", ")
        );
    }
    let names: Vec<&str> = available.keys().map(String::as_str).collect();
    let mut msg = format!("unknown scenario `{name}`; available: {}", names.join(", "));
    if let Some(best) = suggest(name, names.iter().copied()) {
        msg.push_str(&format!(" (did you mean `{best}`?)"));
    }
    msg
}

/// Load a scenario from a file path, or by name from the scenarios directories.
pub fn load(name_or_path: &str) -> Result<Scenario, InputError> {
    load_from(name_or_path, &candidate_dirs())
}

fn gallery_from(dirs: &[PathBuf]) -> Vec<(String, String)> {
    available_in(dirs)
        .into_iter()
        .map(|(name, path)| {
            let summary = match load_file(&path) {
                Ok(sc) => first_sentence(&sc.description),
                Err(e) => format!("(invalid: {e})"),
            };
            (name, summary)
        })
        .collect()
}

/// The first sentence of a description (its first line if that is shorter).
fn first_sentence(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    match line.find(". ") {
        Some(i) => line[..=i].to_string(),
        None => line.to_string(),
    }
}

/// Every named scenario with the first sentence of its description, sorted by name.
pub fn gallery() -> Vec<(String, String)> {
    gallery_from(&candidate_dirs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FULL: &str = r#"
name = "acks-1-leader-crash"
description = """
Leader crashes with acks=1.
Second line."""

[cluster]
brokers = 5

[server]
num.partitions = 2
"default.replication.factor" = 3
min.insync.replicas = 2
unclean.leader.election.enable = true
replica.lag.time.max.ms = 10000
log.flush.interval.messages = 1
log.flush.interval.ms = 9223372036854775807
replica.high.watermark.checkpoint.interval.ms = 4000
broker.heartbeat.interval.ms = 1000
"broker.session.timeout.ms" = 6000
replica.fetch.wait.max.ms = 0
replica.fetch.backoff.ms = 200

[producer]
acks = "1"
request.timeout.ms = 15000
max.in.flight.requests.per.connection = 1
enable.idempotence = false

[workload]
producers = 2
rate_per_sec = 50
duration_ms = 10000
value_bytes = 32

[faults.random]
kinds = ["power-loss"]
interval_ms = [100, 200]
down_ms = [0, 50]
max_down = 2

[[faults.script]]
at_ms = 7000
action = "restart"
target = "broker:2"

[[faults.script]]
at_ms = 5000
action = "crash"
target = "leader:1"
restart_after_ms = 3000

[[faults.script]]
at_ms = 7000
action = "power-loss"
target = "all"

[run]
settle_ms = 1000

[selftest]
flaw = "hw-regress"
"#;

    fn parse_err(text: &str) -> InputError {
        match parse(text, "t.toml") {
            Ok(sc) => panic!("expected an error, parsed {sc:?}"),
            Err(e) => e,
        }
    }

    fn assert_err(e: &InputError, line: usize, column: usize, key: &str, fragment: &str) {
        assert_eq!((e.line, e.column), (Some(line), Some(column)), "{e}");
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert!(e.message.contains(fragment), "`{fragment}` not in: {e}");
    }

    #[test]
    fn full_file_parses() {
        let sc = parse(FULL, "scenarios/x.toml").unwrap();
        assert_eq!(sc.name, "acks-1-leader-crash");
        assert_eq!(sc.description, "Leader crashes with acks=1.\nSecond line.");
        assert_eq!(sc.origin, "scenarios/x.toml");
        assert_eq!(
            (sc.brokers, sc.partitions, sc.replication_factor),
            (5, 2, 3)
        );
        let b = &sc.broker;
        assert_eq!(b.min_insync_replicas, 2);
        assert!(b.unclean_leader_election_enable);
        assert_eq!(b.replica_lag_time_max_ms, 10_000);
        assert_eq!(b.log_flush_interval_messages, Some(1));
        assert_eq!(b.log_flush_interval_ms, None);
        assert_eq!(b.replica_high_watermark_checkpoint_interval_ms, 4_000);
        assert_eq!(
            (b.broker_heartbeat_interval_ms, b.broker_session_timeout_ms),
            (1_000, 6_000)
        );
        assert_eq!(
            (b.replica_fetch_wait_max_ms, b.replica_fetch_backoff_ms),
            (0, 200)
        );
        assert_eq!(b.flaw, Flaw::HwRegress);
        assert_eq!(sc.flaw(), Flaw::HwRegress);
        assert_eq!(sc.producer.acks, Acks::Leader);
        assert_eq!(
            (sc.producer.request_timeout_ms, sc.producer.max_in_flight),
            (15_000, 1)
        );
        let w = &sc.workload;
        assert_eq!(
            (w.producers, w.rate_per_sec, w.duration_ms, w.value_bytes),
            (2, 50, 10_000, 32)
        );
        let random = RandomFaults {
            kinds: vec![FaultAction::PowerLoss],
            interval_ms: (100, 200),
            down_ms: (0, 50),
            max_down: 2,
            aim_percent: 0,
            controllers: false,
            swarm: false,
            wait_for_first_ack: true,
        };
        assert_eq!(sc.faults.random, Some(random));
        assert_eq!(sc.run.settle_ms, 1_000);
        assert!(sc.overrides.is_empty());
    }

    #[test]
    fn script_entries_are_sorted_by_time_keeping_file_order_for_ties() {
        let sc = parse(FULL, "x.toml").unwrap();
        let got: Vec<(u64, FaultAction, Target, Option<u64>)> = sc
            .faults
            .script
            .iter()
            .map(|f| (f.at_ms, f.action, f.target.clone(), f.restart_after_ms))
            .collect();
        assert_eq!(
            got,
            vec![
                (5000, FaultAction::Crash, Target::LeaderOf(1), Some(3000)),
                (7000, FaultAction::Restart, Target::Broker(2), None),
                (7000, FaultAction::PowerLoss, Target::All, None),
            ]
        );
    }

    #[test]
    fn empty_file_gives_defaults_and_the_file_stem_as_name() {
        let sc = parse("", "dir/quiet-run.toml").unwrap();
        let d = Scenario::default();
        assert_eq!(sc.name, "quiet-run");
        assert_eq!(
            (sc.brokers, sc.partitions, sc.replication_factor),
            (d.brokers, d.partitions, d.replication_factor)
        );
        assert_eq!(sc.broker.min_insync_replicas, 1);
        assert_eq!(sc.producer.acks, Acks::All);
        assert!(sc.faults.random.is_none() && sc.faults.script.is_empty());
        assert_eq!(sc.broker.flaw, Flaw::None);
    }

    #[test]
    fn nested_and_inline_forms_of_kafka_keys_work() {
        let text = "[server.min]\ninsync.replicas = 2\n[producer]\nacks = -1\n[faults]\nrandom = { max_down = 1 }\nscript = [{ at_ms = 1, action = \"crash\", target = \"follower:0\" }]\n";
        let sc = parse(text, "x.toml").unwrap();
        assert_eq!(sc.broker.min_insync_replicas, 2);
        assert_eq!(sc.producer.acks, Acks::All);
        assert_eq!(sc.faults.random.as_ref().map(|r| r.max_down), Some(1));
        assert_eq!(
            sc.faults.script.first().map(|f| f.target.clone()),
            Some(Target::FollowerOf(0))
        );
        let sc = parse("server.num.partitions = 4\n", "x.toml").unwrap();
        assert_eq!(sc.partitions, 4);
    }

    #[test]
    fn empty_random_section_turns_random_faults_on_with_defaults() {
        let sc = parse("[faults.random]\n", "x.toml").unwrap();
        let r = sc.faults.random.unwrap();
        assert_eq!(
            (r.kinds.len(), r.interval_ms, r.down_ms, r.max_down),
            (2, (2_000, 8_000), (1_000, 15_000), 1)
        );
    }

    #[test]
    fn every_acks_spelling() {
        for (text, acks) in [
            ("\"all\"", Acks::All),
            ("\"-1\"", Acks::All),
            ("-1", Acks::All),
            ("0", Acks::None),
            ("\"0\"", Acks::None),
            ("1", Acks::Leader),
            ("\"1\"", Acks::Leader),
        ] {
            let sc = parse(&format!("[producer]\nacks = {text}\n"), "x.toml").unwrap();
            assert_eq!(sc.producer.acks, acks, "{text}");
        }
    }

    #[test]
    fn bad_acks() {
        let e = parse_err("[producer]\nacks = 2\n");
        assert_err(&e, 2, 8, "producer.acks", "must be one of: all, -1, 0, 1");
        let e = parse_err("[producer]\nacks = true\n");
        assert_err(
            &e,
            2,
            8,
            "producer.acks",
            "expected a string or an integer, found a boolean",
        );
    }

    #[test]
    fn unknown_key_suggests_the_close_one() {
        let e = parse_err("[cluster]\nbrokers = 3\n[server]\nmin.insync.replica = 2\n");
        assert_err(
            &e,
            4,
            1,
            "server.min.insync.replica",
            "did you mean `min.insync.replicas`?",
        );
        let e = parse_err("[workload]\nduration = 5\n");
        assert_err(&e, 2, 1, "workload.duration", "did you mean `duration_ms`?");
    }

    #[test]
    fn key_in_the_wrong_section_says_where_it_belongs() {
        let e = parse_err("[server]\n  acks = 1\n");
        assert_err(&e, 2, 3, "server.acks", "belongs in [producer]");
        let e = parse_err("brokers = 3\n");
        assert_err(&e, 1, 1, "brokers", "belongs in [cluster]");
        let e = parse_err("[cluster]\nname = \"x\"\n");
        assert_err(&e, 2, 1, "cluster.name", "belongs at the top level");
        let e = parse_err("[faults]\nmax_down = 3\n");
        assert_err(&e, 2, 1, "faults.max_down", "belongs in [faults.random]");
    }

    #[test]
    fn unknown_section() {
        let e = parse_err("[cluster]\nbrokers = 3\n\n[sever]\nx = 1\n");
        assert_err(&e, 4, 2, "sever", "did you mean [server]?");
        let e = parse_err("[faults.randm]\nmax_down = 1\n");
        assert_err(&e, 1, 9, "faults.randm", "did you mean [faults.random]?");
        let e = parse_err("cluster = 3\n");
        assert_err(
            &e,
            1,
            1,
            "cluster",
            "expected a table ([cluster]), found an integer",
        );
    }

    #[test]
    fn wrong_type() {
        let e = parse_err("[cluster]\nbrokers = \"3\"\n");
        assert_err(
            &e,
            2,
            11,
            "cluster.brokers",
            "expected an integer, found a string (write 3 without quotes)",
        );
        let e = parse_err("[server]\nunclean.leader.election.enable = 1\n");
        assert_err(
            &e,
            2,
            34,
            "server.unclean.leader.election.enable",
            "expected a boolean",
        );
        let e = parse_err("[workload]\nrate_per_sec = 1.5\n");
        assert_err(&e, 2, 16, "workload.rate_per_sec", "found a float");
    }

    #[test]
    fn out_of_range() {
        let e = parse_err("[cluster]\nbrokers = 65\n");
        assert_err(
            &e,
            2,
            11,
            "cluster.brokers",
            "invalid value 65: value must be no more than 64",
        );
        let e = parse_err("[server]\nmin.insync.replicas = 0\n");
        assert_err(
            &e,
            2,
            23,
            "server.min.insync.replicas",
            "value must be at least 1",
        );
        let e = parse_err("[faults.random]\ninterval_ms = [5, 3]\n");
        assert_err(
            &e,
            2,
            15,
            "faults.random.interval_ms",
            "min (5) is larger than max (3)",
        );
        let e = parse_err("[faults.random]\ndown_ms = [1]\n");
        assert_err(&e, 2, 11, "faults.random.down_ms", "two integers");
        let e = parse_err("[faults.random]\nkinds = []\n");
        assert_err(&e, 2, 9, "faults.random.kinds", "at least one");
        let e = parse_err("[faults.random]\nkinds = [\"restart\"]\n");
        assert_err(
            &e,
            2,
            9,
            "faults.random.kinds",
            "must be one of: crash, power-loss",
        );
    }

    #[test]
    fn syntax_error_has_a_position() {
        let e = parse_err("[cluster]\nbrokers = = 3\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(2), None), "{e}");
        assert!(
            e.column.is_some() && e.message.starts_with("invalid TOML"),
            "{e}"
        );
        assert!(!e.message.contains('\n'), "{e}");
        // toml_edit itself rejects a key written twice in the same form.
        let e = parse_err("[producer]\nacks = 1\nacks = 0\n");
        assert_eq!(e.line, Some(3), "{e}");
    }

    #[test]
    fn duplicate_key_in_dotted_and_quoted_form() {
        let e = parse_err("[server]\nmin.insync.replicas = 2\n\"min.insync.replicas\" = 2\n");
        assert_err(
            &e,
            3,
            1,
            "server.min.insync.replicas",
            "key given twice (first at line 2)",
        );
        let e = parse_err(
            "[[faults.script]]\nat_ms = 1\naction = \"crash\"\ntarget = \"all\"\n\"at_ms\" = 2\n",
        );
        // The TOML parser itself catches this one (same key, same table).
        assert_eq!(e.line, Some(5), "{e}");
    }

    #[test]
    fn replication_factor_larger_than_brokers() {
        let e = parse_err("[cluster]\nbrokers = 2\n[server]\ndefault.replication.factor = 3\n");
        assert_err(
            &e,
            4,
            1,
            "server.default.replication.factor",
            "default.replication.factor (3) is larger than the number of brokers (2)",
        );
        // When the file does not write the key there is no line to point at.
        let e = parse_err("[cluster]\nbrokers = 2\n");
        assert_eq!(
            (e.line, e.key.as_deref()),
            (None, Some("server.default.replication.factor"))
        );
    }

    #[test]
    fn min_insync_larger_than_replication_factor() {
        let e = parse_err("[server]\nmin.insync.replicas = 4\n");
        assert_err(
            &e,
            2,
            1,
            "server.min.insync.replicas",
            "NOT_ENOUGH_REPLICAS",
        );
    }

    #[test]
    fn fetch_wait_longer_than_lag_time_uses_kafkas_words() {
        let e =
            parse_err("[server]\nreplica.lag.time.max.ms = 100\nreplica.fetch.wait.max.ms = 500\n");
        assert_err(
            &e,
            3,
            1,
            "server.replica.fetch.wait.max.ms",
            "to prevent frequent changes in ISR",
        );
    }

    #[test]
    fn dotted_keys_sharing_a_prefix_point_at_their_own_line() {
        let e = parse_err(
            "[server]\nreplica.lag.time.max.ms = 100\n  replica . \"fetch\".wait.max.ms = 500\n",
        );
        assert_err(
            &e,
            3,
            3,
            "server.replica.fetch.wait.max.ms",
            "to prevent frequent changes in ISR",
        );
        let e =
            parse_err("[server]\nreplica.lag.time.max.ms = 100\nreplica.lag.time.max.ms2 = 1\n");
        assert_err(&e, 3, 1, "server.replica.lag.time.max.ms2", "unknown key");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let key = vec!["a"; 3000].join(".");
        check_parse(&format!("[server]\n{key} = 1\n"));
        check_parse(&format!("{key} = 1\n"));
        check_parse(&format!("x = {}", "[".repeat(3000)));
        check_parse(&format!("x = {}", "{a=".repeat(3000)));
        check_parse(&format!("[{}]\n", key));
    }

    #[test]
    fn bad_target_strings() {
        for bad in [
            "leder:0",
            "broker:",
            "broker:x",
            "broker:+1",
            "leader",
            "all:1",
            "",
        ] {
            let text =
                format!("[[faults.script]]\nat_ms = 1\naction = \"crash\"\ntarget = \"{bad}\"\n");
            let e = parse_err(&text);
            assert_err(&e, 4, 10, "faults.script[0].target", "invalid target");
        }
    }

    #[test]
    fn targets_outside_the_cluster() {
        let script = |t: &str| {
            format!("[[faults.script]]\nat_ms = 1\naction = \"crash\"\ntarget = \"{t}\"\n")
        };
        let e = parse_err(&script("leader:1"));
        assert_err(&e, 4, 1, "faults.script[0].target", "num.partitions is 1");
        let e = parse_err(&script("broker:4"));
        assert_err(&e, 4, 1, "faults.script[0].target", "brokers are 1..=3");
        let e = parse_err(&script("broker:0"));
        assert_err(&e, 4, 1, "faults.script[0].target", "broker 0");
        assert!(parse(&script("broker:3"), "x.toml").is_ok());
    }

    #[test]
    fn network_and_clock_faults_need_their_own_parameter_and_no_other() {
        let entry = |action: &str, extra: &str| {
            format!("[[faults.script]]\nat_ms = 1\naction = \"{action}\"\ntarget = \"broker:1\"\n{extra}")
        };
        let e = parse_err(&entry("slow", "heal_after_ms = 5\n"));
        assert_err(&e, 3, 1, "faults.script[0].action", "needs latency_ms");
        let e = parse_err(&entry("lossy", ""));
        assert_err(&e, 3, 1, "faults.script[0].action", "needs loss_percent");
        let e = parse_err(&entry("lossy", "loss_percent = 5\nlatency_ms = 5\n"));
        assert_err(
            &e,
            6,
            1,
            "faults.script[0].latency_ms",
            "not allowed with action = \"lossy\"",
        );
        let e = parse_err(&entry("crash", "clock_percent = 50\n"));
        assert_err(
            &e,
            5,
            1,
            "faults.script[0].clock_percent",
            "not allowed with action = \"crash\"",
        );
        let e = parse_err(&entry("lossy", "loss_percent = 101\n"));
        assert_err(
            &e,
            5,
            16,
            "faults.script[0].loss_percent",
            "no more than 100",
        );
        let e = parse_err(&entry("clock-drift", "clock_percent = 0\n"));
        assert_err(&e, 5, 17, "faults.script[0].clock_percent", "at least 1");
        for (action, extra) in [
            ("slow", "latency_ms = 4000\n"),
            (
                "slow-to-controller",
                "latency_ms = 4000\nheal_after_ms = 10\n",
            ),
            ("lossy", "loss_percent = 30\n"),
            ("split", "heal_after_ms = 10\n"),
            ("bridge", ""),
            ("clock-drift", "clock_percent = 250\n"),
        ] {
            let sc = parse(&entry(action, extra), "x.toml").unwrap();
            let f = &sc.faults.script[0];
            assert_eq!(f.action.name(), action);
            assert!(f.action.is_healed());
            assert_eq!(f.parameter().is_some(), f.action.parameter().is_some());
        }
    }

    #[test]
    fn script_entry_problems() {
        let e =
            parse_err("[[faults.script]]\nat_ms = 1\naction = \"restart\"\ntarget = \"all\"\nrestart_after_ms = 5\n");
        assert_err(
            &e,
            5,
            1,
            "faults.script[0].restart_after_ms",
            "not allowed with action = \"restart\"",
        );
        let e = parse_err("\n[[faults.script]]\nat_ms = 1\ntarget = \"all\"\n");
        assert_err(
            &e,
            2,
            1,
            "faults.script[0].action",
            "missing required key `action`",
        );
        let e = parse_err("[[faults.script]]\nat_ms = 1\naction = \"explode\"\ntarget = \"all\"\n");
        assert_err(
            &e,
            3,
            10,
            "faults.script[0].action",
            "must be one of: crash, power-loss, restart",
        );
        let e = parse_err("[[faults.script]]\nat = 1\n");
        assert_err(&e, 2, 1, "faults.script[0].at", "did you mean `at_ms`?");
        let e = parse_err("[faults.script]\nat_ms = 1\n");
        assert_err(&e, 1, 9, "faults.script", "an array of tables");
    }

    #[test]
    fn idempotence_refuses_what_kafkas_client_refuses() {
        let ok = "[producer]\nacks = \"all\"\nretries = 10\nenable.idempotence = true\n";
        assert!(parse(ok, "t.toml").unwrap().producer.enable_idempotence);
        let e = parse_err("[producer]\nacks = \"all\"\nenable.idempotence = true\n");
        // retries is not in the file: the error names the key, without a line.
        assert_eq!(e.key.as_deref(), Some("producer.retries"), "{e}");
        assert!(
            e.message.contains("retries=0 with enable.idempotence=true"),
            "{e}"
        );
        let e = parse_err("[producer]\nacks = 1\nretries = 3\nenable.idempotence = true\n");
        assert_err(&e, 2, 1, "producer.acks", "Must set acks to all");
        let e = parse_err("[producer]\nretries = 3\nenable.idempotence = true\nmax.in.flight.requests.per.connection = 6\n");
        assert_err(
            &e,
            4,
            1,
            "producer.max.in.flight.requests.per.connection",
            "must be at most 5",
        );
    }

    #[test]
    fn bad_flaw_suggests() {
        let e = parse_err("[selftest]\nflaw = \"hw-regres\"\n");
        assert_err(&e, 2, 8, "selftest.flaw", "did you mean `hw-regress`?");
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(line_col("é\nab", 4), (2, 2));
        assert_eq!(line_col("éa", 2), (1, 2));
        assert_eq!(line_col("éa", 1), (1, 2));
        assert_eq!(line_col("ab", 99), (1, 3));
        let e = parse_err("name = \"é\"; brokers = 1\n");
        assert_eq!(e.line, Some(1));
        let e = parse_err("[producer]\n\"é\" = 1\n");
        assert_err(&e, 2, 1, "producer.é", "unknown key");
    }

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("replcias", "replicas"), 1);
        assert_eq!(edit_distance("é", "e"), 1);
        assert_eq!(
            suggest("min.insync.replcias", ["min.insync.replicas", "acks"]),
            Some("min.insync.replicas")
        );
        assert_eq!(suggest("zzz", ["acks"]), None);
        assert_eq!(suggest(&"a".repeat(1000), ["acks"]), None);
    }

    #[test]
    fn display_format() {
        let e = InputError {
            file: "f.toml".into(),
            line: Some(3),
            column: Some(7),
            key: Some("cluster.brokers".into()),
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "f.toml:3:7: key `cluster.brokers`: bad");
        let e = InputError {
            file: "--set".into(),
            line: None,
            column: None,
            key: Some("acks".into()),
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "--set: key `acks`: bad");
        let e = InputError {
            file: "f.toml".into(),
            line: Some(1),
            column: None,
            key: None,
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "f.toml:1: bad");
    }

    #[test]
    fn set_happy_paths() {
        let mut sc = Scenario::default();
        for a in [
            "acks=all",
            "producer.acks = 0",
            "server.min.insync.replicas=2",
            "brokers=5",
            "workload.duration_ms=1000",
            "flaw=hw-regress",
            "faults.random.max_down=2",
            "interval_ms=[10, 20]",
            "name=2024",
            "description=\"two words\"",
            "log.flush.interval.ms=9223372036854775807",
            "unclean.leader.election.enable=true",
        ] {
            apply_set(&mut sc, a).unwrap_or_else(|e| panic!("{a}: {e}"));
        }
        assert_eq!(sc.producer.acks, Acks::None);
        assert_eq!(sc.broker.min_insync_replicas, 2);
        assert_eq!(sc.brokers, 5);
        assert_eq!(sc.workload.duration_ms, 1000);
        assert_eq!(sc.broker.flaw, Flaw::HwRegress);
        let r = sc.faults.random.clone().unwrap();
        assert_eq!((r.max_down, r.interval_ms), (2, (10, 20)));
        assert_eq!(sc.name, "2024");
        assert_eq!(sc.description, "two words");
        assert_eq!(sc.broker.log_flush_interval_ms, None);
        assert!(sc.broker.unclean_leader_election_enable);
        assert_eq!(sc.overrides.len(), 12);
        assert_eq!(
            sc.overrides[1],
            ("producer.acks".to_string(), "0".to_string())
        );
        validate(&sc, "--set").unwrap();
    }

    fn set_err(assignment: &str) -> InputError {
        let mut sc = Scenario::default();
        let e = apply_set(&mut sc, assignment).unwrap_err();
        assert!(sc.overrides.is_empty());
        assert_eq!((e.file.as_str(), e.line), ("--set", None));
        e
    }

    #[test]
    fn set_errors() {
        let e = set_err("acks");
        assert!(e.message.contains("expected KEY=VALUE"), "{e}");
        let e = set_err("=3");
        assert!(e.message.contains("missing the key"), "{e}");
        let e = set_err("min.insync.replica=2");
        assert_eq!(e.key.as_deref(), Some("min.insync.replica"));
        assert!(
            e.message.contains("did you mean `min.insync.replicas`?"),
            "{e}"
        );
        let e = set_err("brokers=abc");
        assert!(
            e.message.contains("expected an integer, found a string"),
            "{e}"
        );
        let e = set_err("cluster.brokers=0");
        assert!(e.message.contains("at least 1"), "{e}");
        let e = set_err("acks=2");
        assert!(e.message.contains("must be one of"), "{e}");
        let e = set_err("faults.script.at_ms=5");
        assert!(e.message.contains("cannot be set"), "{e}");
        let e = set_err("target=all");
        assert!(e.message.contains("cannot be set"), "{e}");
        let e = set_err("retries=-1");
        assert!(e.message.contains("at least 0"), "{e}");
    }

    #[test]
    fn failed_set_leaves_the_scenario_alone() {
        let mut sc = Scenario::default();
        assert!(apply_set(&mut sc, "faults.random.max_down=0").is_err());
        assert!(sc.faults.random.is_none());
    }

    #[test]
    fn ambiguous_bare_key() {
        // No key of the real table is ambiguous today; check the rule on a table that has one.
        let table = [
            KeySpec {
                section: "a",
                key: "x",
                apply: |_, _| Ok(()),
            },
            KeySpec {
                section: "b",
                key: "x",
                apply: |_, _| Ok(()),
            },
        ];
        let e = resolve(&table, "x").err().unwrap();
        assert!(
            e.contains("ambiguous") && e.contains("`a.x`") && e.contains("`b.x`"),
            "{e}"
        );
        assert!(resolve(&table, "b.x").is_ok());
        // `[expect]` and `[expect.fixed]` share their keys: those are set qualified only.
        let bare: Vec<&str> = KEYS
            .iter()
            .filter(|s| !s.section.starts_with("expect"))
            .map(|s| s.key)
            .collect();
        for k in &bare {
            assert_eq!(
                bare.iter().filter(|b| *b == k).count(),
                1,
                "{k} is ambiguous"
            );
        }
    }

    #[test]
    fn validate_on_built_scenarios() {
        let mut sc = Scenario::default();
        validate(&sc, "x").unwrap();
        sc.faults.random = Some(RandomFaults {
            kinds: vec![FaultAction::Crash],
            interval_ms: (1, 2),
            down_ms: (0, 0),
            max_down: 0,
            aim_percent: 0,
            controllers: false,
            swarm: false,
            wait_for_first_ack: true,
        });
        let e = validate(&sc, "x").unwrap_err();
        assert_eq!(
            (e.key.as_deref(), e.line),
            (Some("faults.random.max_down"), None)
        );
        sc.faults.random = None;
        sc.brokers = 2;
        let e = validate(&sc, "x").unwrap_err();
        assert_eq!(e.message, "default.replication.factor (3) is larger than the number of brokers (2); Kafka refuses to create the topic: \"Replication factor: 3 larger than available brokers: 2.\"");
    }

    /// A scratch directory under the system temp dir, unique per test.
    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ksim-scenario-parse-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn load_by_name_and_path_and_gallery() {
        let first = scratch("first");
        let second = scratch("second");
        std::fs::write(
            first.join("alpha.toml"),
            "description = \"\"\"\n\nAlpha story.\nMore.\"\"\"\n",
        )
        .unwrap();
        std::fs::write(
            second.join("alpha.toml"),
            "[cluster]\nbrokers = 1\n[server]\ndefault.replication.factor = 1\n",
        )
        .unwrap();
        std::fs::write(second.join("broken.toml"), "[cluster]\nbrokers = 0\n").unwrap();
        std::fs::write(second.join("notes.txt"), "ignored").unwrap();
        let dirs = vec![first.clone(), second.clone()];

        let sc = load_from("alpha", &dirs).unwrap();
        assert_eq!(
            (sc.name.as_str(), sc.brokers),
            ("alpha", 3),
            "the first directory wins"
        );
        let path = second.join("alpha.toml");
        let sc = load_from(path.to_str().unwrap(), &dirs).unwrap();
        assert_eq!(sc.brokers, 1);
        assert!(sc.origin.ends_with("alpha.toml"));

        let e = load_from("alpah", &dirs).unwrap_err();
        assert!(
            e.message.contains("available: alpha, broken")
                && e.message.contains("did you mean `alpha`?"),
            "{e}"
        );
        let e = load_from("broken", &dirs).unwrap_err();
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(2), Some("cluster.brokers"))
        );
        let e = load_from("nowhere/x.toml", &dirs).unwrap_err();
        assert!(e.message.contains("no such scenario file"), "{e}");

        let g = gallery_from(&dirs);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0], ("alpha".to_string(), "Alpha story.".to_string()));
        assert!(
            g[1].0 == "broken" && g[1].1.starts_with("(invalid: ") && g[1].1.contains(":2:11:"),
            "{:?}",
            g[1]
        );

        let e = load_from("x", &[first.join("none")]).unwrap_err();
        assert!(e.message.contains("no scenario files found"), "{e}");
        let _ = std::fs::remove_dir_all(first);
        let _ = std::fs::remove_dir_all(second);
    }

    #[test]
    fn shipped_scenarios_are_valid() {
        for (name, summary) in gallery() {
            assert!(
                !summary.starts_with("(invalid"),
                "scenarios/{name}.toml: {summary}"
            );
        }
    }

    /// The properties every parse result must have, whatever the input.
    fn check_parse(text: &str) {
        match parse(text, "p.toml") {
            Ok(sc) => assert!(validate(&sc, "p.toml").is_ok()),
            Err(e) => {
                assert!(!e.message.is_empty());
                let _ = e.to_string();
                if let Some(line) = e.line {
                    assert!(line <= text.lines().count() + 1, "{e}");
                } else {
                    // Only cross-key problems may lack a line.
                    assert!(parse_unvalidated(text, "p.toml").is_ok(), "{e}");
                }
            }
        }
        if let Err(e) = parse_unvalidated(text, "p.toml") {
            assert!(e.line.is_some(), "{e}");
        }
    }

    fn mutate(edits: &[(usize, u8, u8)]) -> String {
        let mut bytes = FULL.as_bytes().to_vec();
        for &(pos, byte, op) in edits {
            let at = pos % (bytes.len() + 1);
            match op {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                2 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, b"=[]\"'.\n#,{}"[usize::from(byte) % 11]),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn mutate_lines(edits: &[(usize, usize, u8)], insert: &str) -> String {
        let mut lines: Vec<String> = FULL.lines().map(String::from).collect();
        for &(a, b, op) in edits {
            let n = lines.len().max(1);
            let (a, b) = (a % n, b % n);
            match op {
                0 if a < lines.len() => {
                    lines.remove(a);
                }
                1 if a < lines.len() => {
                    let line = lines[a].clone();
                    lines.insert(b.min(lines.len()), line);
                }
                2 if a < lines.len() && b < lines.len() => lines.swap(a, b),
                _ => lines.insert(a.min(lines.len()), insert.to_string()),
            }
        }
        lines.join("\n")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            check_parse(&text);
        }

        #[test]
        fn tomlish_text_never_panics(text in "[\\[\\]a-z._=\"' 0-9\n,{}#-]{0,200}") {
            check_parse(&text);
        }

        #[test]
        fn byte_mutations_never_panic(edits in prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..4), 1..8)) {
            check_parse(&mutate(&edits));
        }

        #[test]
        fn line_mutations_never_panic(
            edits in prop::collection::vec((any::<usize>(), any::<usize>(), 0u8..4), 1..6),
            insert in "[a-z._=\"\\[\\] 0-9-]{0,30}",
        ) {
            check_parse(&mutate_lines(&edits, &insert));
        }

        #[test]
        fn arbitrary_set_never_panics(assignment in any::<String>()) {
            let mut sc = Scenario::default();
            if let Err(e) = apply_set(&mut sc, &assignment) {
                prop_assert!(!e.message.is_empty());
                prop_assert_eq!(e.file.as_str(), "--set");
            }
        }

        #[test]
        fn known_keys_with_arbitrary_values_never_panic(
            spec in prop::sample::select(KEYS.iter().map(KeySpec::qualified).collect::<Vec<_>>()),
            value in prop_oneof![any::<String>(), "-?[0-9]{1,20}", "\\[[0-9, -]{0,12}\\]", "\"[a-z:0-9-]{0,12}\""],
        ) {
            let mut sc = Scenario::default();
            match apply_set(&mut sc, &format!("{spec}={value}")) {
                Ok(()) => prop_assert_eq!(sc.overrides.len(), 1),
                Err(e) => {
                    prop_assert!(!e.message.is_empty());
                    prop_assert!(sc.overrides.is_empty());
                }
            }
        }
    }

    #[test]
    fn topics_take_names_or_a_count_and_refuse_what_kafka_refuses() {
        let sc = parse(
            "[workload]\ntopics = [\"orders\", \"payments\"]\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(sc.workload.topics, vec!["orders", "payments"]);
        let sc = parse("[workload]\ntopics = 3\n", "t.toml").unwrap();
        assert_eq!(sc.workload.topics, vec!["topic-0", "topic-1", "topic-2"]);
        let e = parse_err("[workload]\ntopics = [\"a b\"]\n");
        assert_err(&e, 2, 10, "workload.topics", "invalid topic name `a b`");
        let e = parse_err("[workload]\ntopics = [\"x\", \"x\"]\n");
        assert_err(&e, 2, 10, "workload.topics", "listed twice");
        let e = parse_err("[workload]\ntopics = 0\n");
        assert_err(
            &e,
            2,
            10,
            "workload.topics",
            "a number of topics from 1 to 100",
        );
        let e = parse_err("[producer]\npartitioner.class = \"murmur\"\n");
        assert_err(&e, 2, 21, "producer.partitioner.class", "keyed-round-robin");
    }
}
