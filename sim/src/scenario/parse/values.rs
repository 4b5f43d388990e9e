//! Value readers: each checks one value's type and range and says what was wrong.

use super::*;

pub(super) fn type_name(v: &Value) -> &'static str {
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

pub(super) fn item_type_name(item: &Item) -> &'static str {
    match item {
        Item::Value(v) => type_name(v),
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::None => "nothing",
    }
}

pub(super) fn expected(what: &str, v: &Value) -> String {
    let mut msg = format!("expected {what}, found {}", type_name(v));
    // A quoted number is the most common slip; say how to write it.
    if let Some(n) = v.as_str().and_then(|s| s.trim().parse::<i64>().ok()) {
        if what.contains("integer") {
            msg.push_str(&format!(" (write {n} without quotes)"));
        }
    }
    msg
}

pub(super) fn int_in<T: TryFrom<i64>>(v: &Value, lo: i64, hi: i64) -> Result<T, String> {
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
pub(super) fn at_least_1_or_never(v: &Value) -> Result<Option<u64>, String> {
    let n: u64 = int_in(v, 1, MAX)?;
    Ok((n != MAX as u64).then_some(n))
}

pub(super) fn boolean(v: &Value) -> Result<bool, String> {
    v.as_bool()
        .ok_or_else(|| expected("a boolean (true or false)", v))
}

pub(super) fn string(v: &Value) -> Result<&str, String> {
    v.as_str().ok_or_else(|| expected("a string", v))
}

pub(super) fn non_empty_string(v: &Value) -> Result<String, String> {
    match string(v)?.trim() {
        "" => Err("must not be empty".into()),
        s => Ok(s.to_string()),
    }
}

pub(super) fn choice<T: Copy>(v: &Value, choices: &[(&str, T)]) -> Result<T, String> {
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

/// One of the names of an enum that derives them (`Named`).
pub(super) fn named<T: Named>(v: &Value) -> Result<T, String> {
    let table: Vec<(&str, T)> = T::VARIANTS.iter().map(|t| (t.name(), *t)).collect();
    choice(v, &table)
}

/// `acks` as Kafka takes it: the string "all", "-1", "0" or "1"; integers are accepted too
/// because TOML users naturally write `acks = 1`.
pub(super) fn acks(v: &Value) -> Result<Acks, String> {
    let text = match v {
        // Written exactly: `"all\n"` or `" 1"` is a slip, not a spelling of acks.
        Value::String(s) => s.value().to_string(),
        Value::Integer(i) => i.value().to_string(),
        _ => return Err(expected("a string or an integer", v)),
    };
    match text.as_str() {
        "-1" => Ok(Acks::All),
        "0" => Ok(Acks::None),
        "1" => Ok(Acks::Leader),
        all if all.eq_ignore_ascii_case("all") => Ok(Acks::All),
        other => Err(format!(
            "invalid value `{}`: must be one of: all, -1, 0, 1",
            other.escape_debug()
        )),
    }
}

/// `auto.offset.reset`: true for earliest.
pub(super) fn offset_reset(v: &Value) -> Result<bool, String> {
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
pub(super) fn assignor(v: &Value) -> Result<ksim_model::Assignor, String> {
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
pub(super) fn topics(v: &Value) -> Result<Vec<String>, String> {
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
pub(super) fn partitioner(v: &Value) -> Result<crate::scenario::Partitioner, String> {
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
pub(super) fn assignments(v: &Value) -> Result<Vec<String>, String> {
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

pub(super) fn fault_kinds(v: &Value) -> Result<Vec<FaultAction>, String> {
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
pub(super) fn min_max(v: &Value, lo: i64) -> Result<(u64, u64), String> {
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

pub(super) fn target(v: &Value) -> Result<Target, String> {
    let s = string(v)?;
    parse_target(s.trim()).ok_or_else(|| {
        format!("invalid target `{s}`: expected broker:N, leader:P, follower:P, replicas:P, all, controller:N, controller:leader, zookeeper:N, zookeeper:leader or consumer:N")
    })
}

pub(super) fn parse_target(s: &str) -> Option<Target> {
    if s == "all" {
        return Some(Target::All);
    }
    if s == "controller:leader" {
        return Some(Target::ControllerLeader);
    }
    if s == "zookeeper:leader" {
        return Some(Target::ZooKeeperLeader);
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
        "zookeeper" => u32::try_from(n).ok().map(Target::ZooKeeper),
        _ => None,
    }
}
