//! The key table: the one schema of a scenario. Each key's entry says how to read its value
//! (type, range, validation) into a scenario and how to show it back; the file parser, `--set`,
//! the properties files, `to_toml`, the banner and the exported configuration all go through
//! it, so adding a key is one line here.

use super::*;

pub(crate) type Apply = fn(&mut Scenario, &Value) -> Result<(), String>;
pub(crate) type ShowFn = fn(&Scenario) -> Option<Value>;

/// A key of a section (`""` is the top level), and how to read its value into a scenario and
/// show it back.
pub(crate) struct KeySpec {
    pub(crate) section: &'static str,
    pub(crate) key: &'static str,
    pub(crate) apply: Apply,
    /// The value in a scenario, as the file writes it; `None` when unset or not written back.
    pub(crate) show: ShowFn,
}

/// What a key is, for the writers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// ksim's own: the name, the cluster's shape, the workload, the random faults, the run.
    Ksim,
    /// A key of Kafka's server, producer or consumer configuration: its name and meaning are
    /// Kafka's, and a `.properties` file may set it.
    Kafka,
    /// A switch of Kafka's history (`[protocol]`): its default is the modern rule.
    History,
    /// A fix beyond Kafka's rules: off (the default) is Kafka's rule.
    Beyond,
    /// The story and what the run must show (`fix`, `fixed_in`, `[expect]`): never written back.
    Story,
    /// A planted flaw of the checkers' self-test.
    SelfTest,
    /// A shorthand that sets other keys (`preset`): never written back.
    Alias,
}

impl KeySpec {
    pub(crate) fn qualified(&self) -> String {
        qualify(self.section, self.key)
    }

    pub(crate) fn role(&self) -> Role {
        match (self.section, self.key) {
            ("protocol", "preset") => Role::Alias,
            ("protocol", "refusal_bumps_partition_epoch") => Role::Beyond,
            ("protocol", _) => Role::History,
            // ZooKeeper's own `zoo.cfg` keys count with Kafka's: their names and meaning are
            // the system's, and a properties file (`--zookeeper-properties`) may set them.
            ("server" | "producer" | "consumer" | "zookeeper", _) => Role::Kafka,
            ("selftest", _) => Role::SelfTest,
            ("", "fix" | "fixed_in") => Role::Story,
            (section, _) if section.starts_with("expect") => Role::Story,
            _ => Role::Ksim,
        }
    }

    /// Whether the key means anything under `sc`'s coordinator: the controller quorum's and
    /// the broker heartbeat's keys in KRaft mode, the ensemble's and the ZooKeeper session's
    /// in ZooKeeper mode (the banner lists only those; files still take every key).
    pub(crate) fn applies(&self, sc: &Scenario) -> bool {
        let zookeeper = sc.coordinator == Coordinator::ZooKeeper;
        match (self.section, self.key) {
            ("cluster", "controllers")
            | ("server", "broker.heartbeat.interval.ms")
            | ("server", "broker.session.timeout.ms")
            | ("server", "controller.quorum.election.timeout.ms") => !zookeeper,
            ("cluster", "coordinator" | "zookeepers")
            | ("server", "zookeeper.session.timeout.ms")
            | ("zookeeper", _)
            | (
                "protocol",
                "controller_epoch_fencing" | "broker_epoch_fencing" | "conditional_isr_update",
            ) => zookeeper,
            // The KRaft controller's AlterPartition checks: a ZooKeeper-era leader writes its
            // ISR itself.
            ("protocol", "isr_add_checks_broker_epoch" | "refusal_bumps_partition_epoch") => {
                !zookeeper
            }
            _ => true,
        }
    }

    /// Whether `sc` sets this key to something else than the default scenario does.
    pub(crate) fn changed(&self, sc: &Scenario) -> bool {
        (self.show)(sc).map(|v| plain(&v)) != (self.show)(&Scenario::default()).map(|v| plain(&v))
    }
}

/// The keys of `section`, in table order.
pub(crate) fn keys_of(section: &str) -> impl Iterator<Item = &'static KeySpec> + '_ {
    KEYS.iter().filter(move |s| s.section == section)
}

pub(super) fn qualify(section: &str, key: &str) -> String {
    if section.is_empty() {
        key.to_string()
    } else {
        format!("{section}.{key}")
    }
}

/// Kafka's "no limit" for longs (`Long.MAX_VALUE`), which also serves as "unbounded" below.
pub(super) const MAX: i64 = i64::MAX;

/// `key!(section, key, |sc, v| PLACE => VALUE)`: parse VALUE first (it may fail with `?`), and
/// only then assign, so a failed `--set` leaves the scenario untouched; PLACE, read, is what the
/// key shows. `; show |sc| EXPR` gives the shown value where PLACE cannot be read as it is.
macro_rules! key {
    ($section:literal, $key:literal, |$sc:ident, $v:ident| $place:expr => $value:expr) => {
        key!($section, $key, |$sc, $v| $place => $value; show |$sc| Show::show(&$place))
    };
    ($section:literal, $key:literal, |$sc:ident, $v:ident| $place:expr => $value:expr;
     show |$r:ident| $show:expr) => {
        KeySpec {
            section: $section,
            key: $key,
            apply: |$sc, $v| {
                let parsed = $value;
                $place = parsed;
                Ok(())
            },
            show: |$r| $show,
        }
    };
}

/// Shown for keys that are never written back.
fn unshown(_: &Scenario) -> Option<Value> {
    None
}

pub(crate) static KEYS: &[KeySpec] = &[
    key!("", "name", |sc, v| sc.name => non_empty_string(v)?),
    key!("", "description", |sc, v| sc.description => string(v)?.to_string()),
    key!("", "fix", |sc, v| sc.fix => assignments(v)?),
    key!("", "fixed_in", |sc, v| sc.fixed_in => string(v)?.to_string()),
    key!("cluster", "brokers", |sc, v| sc.brokers => int_in(v, 1, 64)?),
    key!("cluster", "controllers", |sc, v| sc.controllers => int_in(v, 1, 9)?),
    key!("cluster", "coordinator", |sc, v| sc.coordinator => named(v)?),
    key!("cluster", "zookeepers", |sc, v| sc.zookeepers => int_in(v, 1, 9)?),
    key!("zookeeper", "tickTime", |sc, v| sc.zookeeper.tick_time_ms => int_in(v, 1, 600_000)?),
    key!("zookeeper", "initLimit", |sc, v| sc.zookeeper.init_limit => int_in(v, 1, 1_000)?),
    key!("zookeeper", "syncLimit", |sc, v| sc.zookeeper.sync_limit => int_in(v, 1, 1_000)?),
    // Unset, each is ZooKeeper's default in ticks (2 and 20), shown as the ms it comes to.
    key!("zookeeper", "minSessionTimeout", |sc, v| sc.zookeeper.min_session_timeout_ms => Some(int_in(v, 1, MAX)?); show |sc| sc.zookeeper.min_session_timeout().show()),
    key!("zookeeper", "maxSessionTimeout", |sc, v| sc.zookeeper.max_session_timeout_ms => Some(int_in(v, 1, MAX)?); show |sc| sc.zookeeper.max_session_timeout().show()),
    key!("zookeeper", "forceSync", |sc, v| sc.zookeeper.force_sync => boolean(v)?),
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
    key!("server", "zookeeper.session.timeout.ms", |sc, v| sc.zookeeper_session_timeout_ms => int_in(v, 1, MAX)?),
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
    key!("producer", "max.request.size", |sc, v| sc.producer.max_request_size => int_in(v, 1, 1 << 30)?),
    key!("producer", "partitioner.class", |sc, v| sc.producer.partitioner => partitioner(v)?),
    key!("consumer", "session.timeout.ms", |sc, v| sc.consumer.session_timeout_ms => int_in(v, 1, MAX)?),
    key!("consumer", "heartbeat.interval.ms", |sc, v| sc.consumer.heartbeat_interval_ms => int_in(v, 1, MAX)?),
    key!("consumer", "enable.auto.commit", |sc, v| sc.consumer.enable_auto_commit => boolean(v)?),
    key!("consumer", "auto.commit.interval.ms", |sc, v| sc.consumer.auto_commit_interval_ms => int_in(v, 1, MAX)?),
    key!("consumer", "auto.offset.reset", |sc, v| sc.consumer.auto_offset_reset_earliest => offset_reset(v)?;
        show |sc| Some(Value::from(sc.consumer.auto_offset_reset()))),
    key!("consumer", "partition.assignment.strategy", |sc, v| sc.consumer.assignor => assignor(v)?),
    key!("workload", "producers", |sc, v| sc.workload.producers => int_in(v, 1, 64)?),
    key!("workload", "consumers", |sc, v| sc.workload.consumers => int_in(v, 0, 64)?),
    key!("workload", "keys", |sc, v| sc.workload.keys => int_in(v, 0, 1_000_000)?),
    key!("workload", "topics", |sc, v| sc.workload.topics => topics(v)?),
    key!("workload", "rate_per_sec", |sc, v| sc.workload.rate_per_sec => int_in(v, 1, 100_000)?),
    key!("workload", "duration_ms", |sc, v| sc.workload.duration_ms => int_in(v, 1, 86_400_000)?),
    key!("workload", "value_bytes", |sc, v| sc.workload.value_bytes => int_in(v, 8, 1_048_576)?),
    key!("faults.random", "kinds", |sc, v| random(sc).kinds => fault_kinds(v)?; show |sc| sc.faults.random.as_ref().and_then(|r| r.kinds.show())),
    key!("faults.random", "interval_ms", |sc, v| random(sc).interval_ms => min_max(v, 1)?; show |sc| sc.faults.random.as_ref().and_then(|r| r.interval_ms.show())),
    key!("faults.random", "down_ms", |sc, v| random(sc).down_ms => min_max(v, 0)?; show |sc| sc.faults.random.as_ref().and_then(|r| r.down_ms.show())),
    key!("faults.random", "max_down", |sc, v| random(sc).max_down => int_in(v, 1, MAX)?; show |sc| sc.faults.random.as_ref().and_then(|r| r.max_down.show())),
    key!("faults.random", "aim_percent", |sc, v| random(sc).aim_percent => int_in(v, 0, 100)?; show |sc| sc.faults.random.as_ref().and_then(|r| r.aim_percent.show())),
    key!("faults.random", "hit_controllers", |sc, v| random(sc).controllers => boolean(v)?; show |sc| sc.faults.random.as_ref().and_then(|r| r.controllers.show())),
    key!("faults.random", "swarm", |sc, v| random(sc).swarm => boolean(v)?; show |sc| sc.faults.random.as_ref().and_then(|r| r.swarm.show())),
    key!("faults.random", "wait_for_first_ack", |sc, v| random(sc).wait_for_first_ack => boolean(v)?; show |sc| sc.faults.random.as_ref().and_then(|r| r.wait_for_first_ack.show())),
    key!("faults.random", "session_expiry", |sc, v| random(sc).session_expiry => boolean(v)?; show |sc| sc.faults.random.as_ref().and_then(|r| r.session_expiry.show())),
    key!("run", "settle_ms", |sc, v| sc.run.settle_ms => int_in(v, 1000, 600_000)?),
    key!("run", "seed", |sc, v| sc.run.seed => Some(int_in(v, 0, MAX)?)),
    KeySpec {
        section: "protocol",
        key: "preset",
        apply: |sc, v| {
            match named::<Preset>(v)? {
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
        show: unshown,
    },
    key!("protocol", "truncation", |sc, v| sc.broker.protocol.truncation => named(v)?),
    key!("protocol", "fetch_epoch_fencing", |sc, v| sc.broker.protocol.fetch_epoch_fencing => boolean(v)?),
    key!("protocol", "hw_requires_current_epoch", |sc, v| sc.broker.protocol.hw_requires_current_epoch => boolean(v)?),
    key!("protocol", "isr_expand_requires_epoch_start", |sc, v| sc.broker.protocol.isr_expand_requires_epoch_start => boolean(v)?),
    key!("protocol", "hw_over_maximal_isr", |sc, v| sc.broker.protocol.hw_over_maximal_isr => boolean(v)?),
    key!("protocol", "strict_min_isr", |sc, v| sc.broker.protocol.strict_min_isr => boolean(v)?),
    key!("protocol", "isr_add_checks_broker_epoch", |sc, v| sc.broker.protocol.isr_add_checks_broker_epoch => boolean(v)?),
    key!("protocol", "controller_epoch_fencing", |sc, v| sc.broker.protocol.controller_epoch_fencing => boolean(v)?),
    key!("protocol", "broker_epoch_fencing", |sc, v| sc.broker.protocol.broker_epoch_fencing => boolean(v)?),
    key!("protocol", "conditional_isr_update", |sc, v| sc.broker.protocol.conditional_isr_update => boolean(v)?),
    key!("protocol", "refusal_bumps_partition_epoch", |sc, v| sc.broker.protocol.refusal_bumps_partition_epoch => boolean(v)?),
    key!("expect", "verdict", |sc, v| outcome(&mut sc.expect).invalid => Some(choice(v, VERDICTS)?); show |sc| unshown(sc)),
    key!("expect", "violation", |sc, v| outcome(&mut sc.expect).violation => Some(checker_name(v)?); show |sc| unshown(sc)),
    key!("expect", "allowed_loss", |sc, v| outcome(&mut sc.expect).allowed_loss => Some(non_empty_string(v)?); show |sc| unshown(sc)),
    key!("expect", "marks", |sc, v| outcome(&mut sc.expect).marks => mark_names(v)?; show |sc| unshown(sc)),
    key!("expect", "loses_nothing", |sc, v| outcome(&mut sc.expect).loses_nothing => boolean(v)?; show |sc| unshown(sc)),
    key!("expect", "seeds", |sc, v| sc.expect_seeds => seed_list(v)?),
    key!("expect", "sweep_marks", |sc, v| sc.sweep_marks => mark_names(v)?),
    key!("expect.swarm", "sweep_marks", |sc, v| sc.swarm_marks => mark_names(v)?),
    key!("expect", "within_seeds", |sc, v| sc.sweep_marks_within => int_in(v, 0, MAX)?),
    key!("expect.swarm", "within_seeds", |sc, v| sc.swarm_marks_within => int_in(v, 0, MAX)?),
    key!("expect.fixed", "loses_nothing", |sc, v| outcome(&mut sc.expect_fixed).loses_nothing => boolean(v)?; show |sc| unshown(sc)),
    key!("expect.fixed", "verdict", |sc, v| outcome(&mut sc.expect_fixed).invalid => Some(choice(v, VERDICTS)?); show |sc| unshown(sc)),
    key!("expect.fixed", "violation", |sc, v| outcome(&mut sc.expect_fixed).violation => Some(checker_name(v)?); show |sc| unshown(sc)),
    key!("expect.fixed", "allowed_loss", |sc, v| outcome(&mut sc.expect_fixed).allowed_loss => Some(non_empty_string(v)?); show |sc| unshown(sc)),
    key!("expect.fixed", "marks", |sc, v| outcome(&mut sc.expect_fixed).marks => mark_names(v)?; show |sc| unshown(sc)),
    key!("selftest", "flaw", |sc, v| sc.selftest.flaw => named(v)?),
    key!("selftest", "quorum_flaw", |sc, v| sc.selftest.quorum_flaw => named(v)?),
    key!("selftest", "zk_flaw", |sc, v| sc.selftest.zk_flaw => named(v)?),
];

/// The section that holds `[[faults.script]]` entries: listed for suggestions, never settable.
pub(super) const SCRIPT_SECTION: &str = "faults.script";

/// Every section name, in table order, for "unknown section" suggestions.
pub(super) fn sections() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for spec in KEYS {
        if !spec.section.is_empty() && !out.contains(&spec.section) {
            out.push(spec.section);
        }
    }
    out.push(SCRIPT_SECTION);
    out
}

pub(super) fn is_section(name: &str) -> bool {
    sections().contains(&name)
}

pub(super) fn outcome(slot: &mut Option<Outcome>) -> &mut Outcome {
    slot.get_or_insert_with(Outcome::default)
}

/// `[expect] verdict`: whether the story must break (`invalid`) or hold (`valid`).
pub(super) const VERDICTS: &[(&str, bool)] = &[("valid", false), ("invalid", true)];

/// `[expect] violation`: one of the checkers' names.
pub(super) fn checker_name(v: &Value) -> Result<String, String> {
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

pub(super) fn unknown_name(what: &str, name: &str, known: &[&str]) -> String {
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
pub(super) fn seed_list(v: &Value) -> Result<Vec<u64>, String> {
    let Some(list) = v.as_array() else {
        return Err(format!("expected a list of seeds, found {}", type_name(v)));
    };
    list.iter().map(|s| int_in(s, 0, MAX)).collect()
}

/// `[expect] marks` and `sweep_marks`: a list of coverage mark names.
pub(super) fn mark_names(v: &Value) -> Result<Vec<String>, String> {
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
pub(super) fn collect_expect<'d>(
    leaves: Vec<Leaf<'d>>,
    sections: &mut Vec<(String, Vec<Leaf<'d>>)>,
) {
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
pub(super) fn random(sc: &mut Scenario) -> &mut RandomFaults {
    sc.faults.random.get_or_insert_with(|| RandomFaults {
        kinds: vec![FaultAction::Crash, FaultAction::PowerLoss],
        interval_ms: (2_000, 8_000),
        down_ms: (1_000, 15_000),
        max_down: 1,
        aim_percent: 0,
        controllers: false,
        swarm: false,
        wait_for_first_ack: true,
        session_expiry: true,
    })
}

/// `[protocol] preset`: every switch at once.
#[derive(Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
pub(super) enum Preset {
    #[strum(serialize = "modern")]
    Modern,
    #[strum(serialize = "kafka-0.8")]
    Kafka08,
}

/// `[[faults.script]] action`: every fault, by its name.
pub(super) fn script_actions() -> Vec<(&'static str, FaultAction)> {
    FaultAction::VARIANTS
        .iter()
        .map(|a| (a.name(), *a))
        .collect()
}

/// `[faults.random] kinds`: every fault but `restart` and `heal` (random faults restart and heal
/// themselves).
pub(super) fn random_kinds() -> Vec<(&'static str, FaultAction)> {
    script_actions()
        .into_iter()
        .filter(|(_, a)| !matches!(a, FaultAction::Restart | FaultAction::Heal))
        .collect()
}
