//! Cross-key checks: what no single key can say is wrong (an impossible cluster, a fault that
//! names a node that is not there).

use super::*;
use ksim_model::Named;

pub(super) type Problem = (String, String);

/// Check what no single key can: sizes against each other and fault targets against the cluster.
pub fn validate(sc: &Scenario, file: &str) -> Result<(), InputError> {
    let problem = check_topic(sc)
        .or_else(|| check_fix(sc))
        .or_else(|| check_replication_timing(sc))
        .or_else(|| check_producer(sc))
        .or_else(|| check_zookeeper_mode(sc))
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

/// `validate` after the overrides: an error names the source that set its key (a properties
/// file and line, or `--set`); a key no override set is wrong only with what the overrides
/// changed, so the error names the last of them.
pub fn validate_overrides(sc: &Scenario) -> Result<(), InputError> {
    validate(sc, &sc.origin).map_err(|mut e| {
        let mut by = sc.set_by.iter().rev();
        let by = by
            .find(|b| Some(&b.0) == e.key.as_ref())
            .or(sc.set_by.last());
        if let Some((_, file, line)) = by {
            (e.file, e.line) = (file.clone(), *line);
            // A properties file writes its keys bare (`min.insync.replicas`).
            if line.is_some() {
                e.key = e
                    .key
                    .map(|k| k.split_once('.').map_or(k.clone(), |(_, b)| b.into()));
            }
        }
        e
    })
}

/// ZooKeeper mode: the ensemble's `zoo.cfg` must hold together, and what the mode does not run
/// yet is refused rather than run without it.
pub(super) fn check_zookeeper_mode(sc: &Scenario) -> Option<Problem> {
    if sc.coordinator != Coordinator::ZooKeeper {
        let p = &sc.broker.protocol;
        for (key, on) in [
            ("controller_epoch_fencing", p.controller_epoch_fencing),
            ("conditional_isr_update", p.conditional_isr_update),
        ] {
            if !on {
                let msg = format!(
                    "{key} is a rule of the ZooKeeper-era controller; it does nothing with \
                     coordinator = \"kraft\" (set cluster.coordinator = \"zookeeper\")"
                );
                return Some((format!("protocol.{key}"), msg));
            }
        }
        return None;
    }
    if let Err(e) = sc.zk_config().validate() {
        return Some(("zookeeper".into(), e));
    }
    None
}

/// Every `fix` assignment must be a valid `--set` for this scenario.
pub(super) fn check_fix(sc: &Scenario) -> Option<Problem> {
    let mut fixed = sc.clone();
    for a in &sc.fix {
        if let Err(e) = apply_set(&mut fixed, a) {
            return Some(("fix".into(), format!("`{a}`: {}", e.message)));
        }
    }
    None
}

pub(super) fn check_topic(sc: &Scenario) -> Option<Problem> {
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
pub(super) fn check_producer(sc: &Scenario) -> Option<Problem> {
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
             retries to non-zero when using the idempotent producer.\"); retries=0 is ksim's \
             default, chosen so a lost write shows, where Kafka's client defaults to 2147483647: \
             set it too, e.g. --set retries=2147483647"
                .into(),
        );
    }
    None
}

pub(super) fn check_replication_timing(sc: &Scenario) -> Option<Problem> {
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

pub(super) fn check_random(sc: &Scenario) -> Option<Problem> {
    let r = sc.faults.random.as_ref()?;
    let bad = |key: &str, msg: String| Some((format!("faults.random.{key}"), msg));
    if r.max_down < 1 {
        return bad("max_down", "max_down must be at least 1".into());
    }
    if r.max_down > sc.brokers.max(0) as usize {
        let msg = format!(
            "max_down = {} is more than the cluster's {} broker(s)",
            r.max_down, sc.brokers
        );
        return bad("max_down", msg);
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

pub(super) fn check_script(sc: &Scenario) -> Option<Problem> {
    sc.faults.script.iter().enumerate().find_map(|(i, f)| {
        let key = |k: &str| format!("{SCRIPT_SECTION}[{i}].{k}");
        let end = sc.workload.duration_ms;
        if f.at_ms >= end {
            let msg = format!("at_ms = {} is not before the end of the writes (workload.duration_ms = {end}): faults fire only while the workload runs, so this one never would", f.at_ms);
            return Some((key("at_ms"), msg));
        }
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

pub(super) fn check_target(target: &Target, sc: &Scenario) -> Option<String> {
    let zookeeper = sc.coordinator == Coordinator::ZooKeeper;
    match *target {
        Target::Controller(_) if zookeeper => Some(format!(
            "target `{target}` names a KRaft controller, but coordinator = \"zookeeper\": the \
             controller is a broker (`controller:leader`), the ensemble's servers are \
             zookeeper:1..={}",
            sc.zookeepers
        )),
        Target::ZooKeeper(_) | Target::ZooKeeperLeader if !zookeeper => Some(format!(
            "target `{target}` names a ZooKeeper server, but coordinator = \"kraft\" (set \
             [cluster] coordinator = \"zookeeper\")"
        )),
        Target::ZooKeeper(z) if z < 1 || z > sc.zookeepers => Some(format!(
            "target `{target}` names ZooKeeper server {z}, but the ensemble's servers are 1..={}",
            sc.zookeepers
        )),
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
