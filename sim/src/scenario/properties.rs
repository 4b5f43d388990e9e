//! Reads Kafka's own `server.properties`, `producer.properties` and `consumer.properties`
//! files, and ZooKeeper's `zoo.cfg`, onto a scenario, so a
//! user can test the configuration they run. Keys the simulation models go through the same key
//! table and checks as scenario files; keys that cannot change replication (listeners, paths,
//! threads, serializers, ...) are accepted and listed as ignored; keys with an effect that is not
//! modelled yet are accepted and listed as such; anything else is an error naming file, line,
//! column and key, with a suggestion.

use std::path::Path;

use java_properties::{LineContent, PropertiesIter};

use crate::scenario::parse::{kafka_keys, set_text, suggest, InputError};
use crate::scenario::Scenario;

/// Which file this is: its keys go to `[server]`, `[producer]`, `[consumer]` or
/// `[zookeeper]` (a `zoo.cfg`, whose `server.N` lines also make the ensemble and choose
/// ZooKeeper mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropertiesKind {
    Server,
    Producer,
    Consumer,
    ZooKeeper,
}

impl PropertiesKind {
    fn section(self) -> &'static str {
        match self {
            PropertiesKind::Server => "server",
            PropertiesKind::Producer => "producer",
            PropertiesKind::Consumer => "consumer",
            PropertiesKind::ZooKeeper => "zookeeper",
        }
    }

    /// The keys the key table has for this file's section.
    fn modelled(self) -> Vec<&'static str> {
        kafka_keys(self.section())
    }

    fn inert(self) -> Vec<&'static str> {
        match self {
            PropertiesKind::Server => SERVER_INERT.to_vec(),
            PropertiesKind::Producer => [CLIENT_INERT, PRODUCER_INERT].concat(),
            PropertiesKind::Consumer => [CLIENT_INERT, CONSUMER_INERT].concat(),
            PropertiesKind::ZooKeeper => ZOOKEEPER_INERT.to_vec(),
        }
    }

    fn not_modelled(self) -> &'static [&'static str] {
        match self {
            PropertiesKind::Server => SERVER_NOT_MODELLED,
            PropertiesKind::Producer => PRODUCER_NOT_MODELLED,
            PropertiesKind::Consumer => CONSUMER_NOT_MODELLED,
            PropertiesKind::ZooKeeper => &[],
        }
    }
}

/// `zoo.cfg` keys that cannot change what the ensemble does in the simulation: ports, paths,
/// connection limits, housekeeping.
const ZOOKEEPER_INERT: &[&str] = &[
    "dataDir",
    "dataLogDir",
    "clientPort",
    "clientPortAddress",
    "secureClientPort",
    "maxClientCnxns",
    "admin.enableServer",
    "admin.serverPort",
    "autopurge.snapRetainCount",
    "autopurge.purgeInterval",
    "4lw.commands.whitelist",
    "snapCount",
    "preAllocSize",
    "standaloneEnabled",
    "reconfigEnabled",
    "quorumListenOnAllIPs",
    "electionAlg",
    "metricsProvider.className",
    "jute.maxbuffer",
];

/// Server keys that cannot change what replication does in the simulation.
const SERVER_INERT: &[&str] = &[
    "broker.id",
    "node.id",
    "process.roles",
    "controller.quorum.voters",
    "controller.quorum.bootstrap.servers",
    "controller.listener.names",
    "listeners",
    "advertised.listeners",
    "inter.broker.listener.name",
    "listener.security.protocol.map",
    "security.inter.broker.protocol",
    "num.network.threads",
    "num.io.threads",
    "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes",
    "socket.request.max.bytes",
    "log.dirs",
    "log.dir",
    "metadata.log.dir",
    "num.recovery.threads.per.data.dir",
    "num.replica.fetchers",
    "replica.socket.receive.buffer.bytes",
    "zookeeper.connect",
    "zookeeper.connection.timeout.ms",
    "group.initial.rebalance.delay.ms",
    "auto.create.topics.enable",
    "delete.topic.enable",
    "log.cleaner.enable",
    "log.cleanup.policy",
    "log.message.format.version",
    "inter.broker.protocol.version",
    "log.retention.check.interval.ms",
];

/// Server keys with an effect the simulation does not model yet.
const SERVER_NOT_MODELLED: &[&str] = &[
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "share.coordinator.state.topic.replication.factor",
    "share.coordinator.state.topic.min.isr",
    "log.retention.hours",
    "log.retention.minutes",
    "log.retention.ms",
    "log.retention.bytes",
    "log.segment.bytes",
    "log.roll.ms",
    "log.roll.hours",
    "compression.type",
    "message.max.bytes",
    "replica.fetch.max.bytes",
    "replica.fetch.min.bytes",
    "replica.socket.timeout.ms",
    "auto.leader.rebalance.enable",
    "leader.imbalance.check.interval.seconds",
    "controlled.shutdown.enable",
];

/// Client keys with no effect on replication, for producers and consumers alike.
const CLIENT_INERT: &[&str] = &[
    "bootstrap.servers",
    "client.id",
    "security.protocol",
    "send.buffer.bytes",
    "receive.buffer.bytes",
    "metadata.max.age.ms",
    "reconnect.backoff.ms",
    "reconnect.backoff.max.ms",
    "connections.max.idle.ms",
];

const CONSUMER_INERT: &[&str] = &["group.id", "key.deserializer", "value.deserializer"];

const CONSUMER_NOT_MODELLED: &[&str] = &[
    "group.instance.id",
    "group.protocol",
    "isolation.level",
    "max.poll.records",
    "max.poll.interval.ms",
    "fetch.min.bytes",
    "fetch.max.bytes",
    "fetch.max.wait.ms",
    "max.partition.fetch.bytes",
    "request.timeout.ms",
    "retry.backoff.ms",
    "client.rack",
];

const PRODUCER_INERT: &[&str] = &["key.serializer", "value.serializer"];

/// Producer keys whose effect under failover ksim does not model yet: a full accumulator
/// blocking `send` (`buffer.memory`, `max.block.ms`), compressed batches, oversized records.
const PRODUCER_NOT_MODELLED: &[&str] = &[
    "buffer.memory",
    "max.block.ms",
    "compression.type",
    "transactional.id",
    "transaction.timeout.ms",
];

/// Read `path` and apply it to `sc`. The applied keys are recorded like `--set` overrides (so
/// the reproduce line replays them without the file); the others land in `sc.ignored`.
pub fn apply_properties_file(
    sc: &mut Scenario,
    path: &Path,
    kind: PropertiesKind,
) -> Result<(), InputError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| InputError {
        file: file.clone(),
        line: None,
        column: None,
        key: None,
        message: format!("cannot read: {e}"),
    })?;
    apply_properties(sc, &text, &file, kind)
}

pub fn apply_properties(
    sc: &mut Scenario,
    text: &str,
    file: &str,
    kind: PropertiesKind,
) -> Result<(), InputError> {
    let mut servers: Vec<(u32, usize)> = Vec::new();
    for entry in PropertiesIter::new(text.as_bytes()) {
        let entry = entry.map_err(|e| InputError {
            file: file.to_string(),
            line: e.line_number(),
            column: None,
            key: None,
            message: e.to_string(),
        })?;
        let line = entry.line_number();
        let LineContent::KVPair(key, value) = entry.consume_content() else {
            continue;
        };
        let value_col = text.lines().nth(line - 1).map_or(1, value_column);
        let at = |column: usize, key: Option<&str>, message: String| InputError {
            file: file.to_string(),
            line: Some(line),
            column: Some(column),
            key: key.map(String::from),
            message,
        };
        if key.is_empty() {
            let msg = format!("a value (`={value}`) with no key before it");
            return Err(at(1, None, msg));
        }
        if kind == PropertiesKind::ZooKeeper {
            if let Some(id) = key.strip_prefix("server.") {
                let id = id.parse().map_err(|_| {
                    at(
                        1,
                        Some(&key),
                        format!("`{key}`: N of server.N must be a number"),
                    )
                })?;
                servers.push((id, line));
                continue;
            }
        }
        let value = kafka_boolean(zoo_cfg_boolean(kind, &key, value));
        if kind.modelled().contains(&key.as_str()) {
            set_text(sc, &format!("{}.{key}", kind.section()), &value).map_err(|e| {
                at(
                    value_col,
                    Some(&key),
                    in_properties_words(&e.message, &value),
                )
            })?;
            if let Some(by) = sc.set_by.last_mut() {
                (by.1, by.2) = (file.to_string(), Some(line));
            }
        } else if let Some(note) = ignored_note(sc, kind, &key, file) {
            sc.ignored.push(format!("{key}={value} ({note})"));
        } else {
            let (modelled, inert) = (kind.modelled(), kind.inert());
            let known = modelled
                .iter()
                .chain(&inert)
                .chain(kind.not_modelled())
                .copied();
            let hint = suggest(&key, known)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(at(
                1,
                Some(&key),
                format!("unknown {} key `{key}`{hint}", kind.section()),
            ));
        }
    }
    apply_ensemble(sc, file, &servers)
}

/// Why `key` of a `kind` file, written in `source`, is not used, or `None` when the key is
/// not one a run may ignore. One rule for a properties file and `--set`.
fn ignored_note(sc: &Scenario, kind: PropertiesKind, key: &str, source: &str) -> Option<String> {
    if key == "zookeeper.connect" {
        let mode = match sc.coordinator {
            crate::scenario::Coordinator::ZooKeeper => {
                "the brokers connect to the simulated ensemble, [cluster] zookeepers servers, as \
                 cluster.coordinator = \"zookeeper\" says"
            }
            crate::scenario::Coordinator::Kraft => {
                "this run's coordinator is the KRaft controller quorum, cluster.coordinator = \
                 \"kraft\"; set cluster.coordinator = \"zookeeper\" to run the brokers against \
                 a simulated ZooKeeper ensemble"
            }
        };
        return Some(format!("{source}: {mode}"));
    }
    if kind.inert().contains(&key) || key.starts_with("ssl.") || key.starts_with("sasl.") {
        return Some(format!(
            "{source}: no effect on replication in the simulation"
        ));
    }
    if kind.not_modelled().contains(&key) {
        return Some(format!("{source}: not modelled yet"));
    }
    None
}

/// One `--set KEY=VALUE`: a key of Kafka's that a run ignores (`broker.id`, `listeners`,
/// `zookeeper.connect`, ...) is listed as ignored, as a properties file lists it; any other goes
/// through the key table.
pub fn apply_set_or_ignore(sc: &mut Scenario, assignment: &str) -> Result<(), InputError> {
    if let Some((key, value)) = assignment.split_once('=') {
        let (key, value) = (key.trim(), value.trim());
        for kind in [
            PropertiesKind::Server,
            PropertiesKind::Producer,
            PropertiesKind::Consumer,
        ] {
            let prefix = format!("{}.", kind.section());
            let bare = key.strip_prefix(&prefix).unwrap_or(key);
            let modelled = kind.modelled().contains(&bare);
            if let Some(note) = ignored_note(sc, kind, bare, "--set").filter(|_| !modelled) {
                sc.ignored.push(format!("{bare}={value} ({note})"));
                return Ok(());
            }
        }
    }
    crate::scenario::parse::apply_set(sc, assignment)
}

/// A properties value is text, never a TOML string, boolean or array: the key table's "found
/// a string (write 5 without quotes)" becomes "found `"5"`", as the file wrote it.
fn in_properties_words(message: &str, value: &str) -> String {
    let Some(at) = message.find(", found ") else {
        return message.to_string();
    };
    let found = match value.trim() {
        "" => "nothing after the `=`".to_string(),
        v if v.starts_with('"') => format!("`{v}` (a properties value takes no quotes)"),
        v => format!("`{v}`"),
    };
    format!("{}, found {found}", &message[..at])
}

/// Kafka reads a boolean in any case (`ConfigDef` compares with `equalsIgnoreCase`), so `TRUE`
/// is `true`; the key table reads the lower-case TOML spelling.
fn kafka_boolean(value: String) -> String {
    match value.trim() {
        v if v.eq_ignore_ascii_case("true") => "true".into(),
        v if v.eq_ignore_ascii_case("false") => "false".into(),
        _ => value,
    }
}

/// ZooKeeper writes its booleans `yes` / `no` (`forceSync=no`); the key table reads
/// `true` / `false`.
fn zoo_cfg_boolean(kind: PropertiesKind, key: &str, value: String) -> String {
    match (kind, key, value.trim()) {
        (PropertiesKind::ZooKeeper, "forceSync", "yes") => "true".into(),
        (PropertiesKind::ZooKeeper, "forceSync", "no") => "false".into(),
        _ => value,
    }
}

/// A `zoo.cfg`'s `server.N` lines make the ensemble: ids 1..N, each once, and ZooKeeper mode.
fn apply_ensemble(
    sc: &mut Scenario,
    file: &str,
    servers: &[(u32, usize)],
) -> Result<(), InputError> {
    let Some(&(_, first_line)) = servers.first() else {
        return Ok(());
    };
    let mut ids: Vec<u32> = servers.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    let n = ids.len() as u32;
    if ids != (1..=n).collect::<Vec<_>>() {
        return Err(InputError {
            file: file.to_string(),
            line: Some(first_line),
            column: Some(1),
            key: Some("server.N".into()),
            message: format!(
                "the ensemble's server ids are {ids:?}: here they must be 1..={n}, each once"
            ),
        });
    }
    let fail = |e: InputError| InputError {
        file: file.to_string(),
        line: Some(first_line),
        ..e
    };
    set_text(sc, "cluster.zookeepers", &n.to_string()).map_err(fail)?;
    set_text(sc, "cluster.coordinator", "zookeeper").map_err(fail)
}

/// The 1-based column where the value of the entry starting on `raw` starts: after the key,
/// the blanks and one `=` or `:` separator, as Java's `Properties.load` reads it.
fn value_column(raw: &str) -> usize {
    let chars: Vec<char> = raw.chars().collect();
    let mut i = chars.iter().take_while(|c| c.is_whitespace()).count();
    while i < chars.len() && !matches!(chars[i], '=' | ':') && !chars[i].is_whitespace() {
        i += if chars[i] == '\\' { 2 } else { 1 };
    }
    let blanks = |i: usize| {
        i + chars[i.min(chars.len())..]
            .iter()
            .take_while(|c| c.is_whitespace())
            .count()
    };
    i = blanks(i);
    if i < chars.len() && matches!(chars[i], '=' | ':') {
        i = blanks(i + 1);
    }
    i.min(chars.len()) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str, kind: PropertiesKind) -> Result<Scenario, InputError> {
        let mut sc = Scenario::default();
        apply_properties(&mut sc, text, "server.properties", kind).map(|_| sc)
    }

    #[test]
    fn a_real_looking_server_properties_applies_and_lists_what_it_ignores() {
        let text = "# Kafka\nbroker.id=0\nlisteners=PLAINTEXT://:9092\nmin.insync.replicas=2\nunclean.leader.election.enable = true\nlog.flush.interval.messages: 1\nlog.retention.hours 168\n";
        let sc = apply(text, PropertiesKind::Server).unwrap();
        assert_eq!(sc.broker.min_insync_replicas, 2);
        assert!(sc.broker.unclean_leader_election_enable);
        assert_eq!(sc.broker.log_flush_interval_messages, Some(1));
        assert_eq!(sc.ignored.len(), 3, "{:?}", sc.ignored);
        assert!(sc
            .ignored
            .iter()
            .any(|i| i.contains("log.retention.hours=168") && i.contains("not modelled yet")));
        assert_eq!(
            sc.overrides[0],
            ("server.min.insync.replicas".to_string(), "2".to_string())
        );
    }

    #[test]
    fn booleans_in_any_case_as_kafka_reads_them_and_a_value_without_a_key_is_refused() {
        let sc = apply(
            "unclean.leader.election.enable=TRUE\n",
            PropertiesKind::Server,
        )
        .unwrap();
        assert!(sc.broker.unclean_leader_election_enable);
        let sc = apply(
            "unclean.leader.election.enable = False\n",
            PropertiesKind::Server,
        )
        .unwrap();
        assert!(!sc.broker.unclean_leader_election_enable);
        let e = apply("min.insync.replicas=2\n=1\n", PropertiesKind::Server).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("no key"), "{e}");
    }

    #[test]
    fn continuation_lines_and_comments() {
        let sc = apply(
            "! comment\nmin.insync.\\\n   replicas=3\n",
            PropertiesKind::Server,
        )
        .unwrap();
        assert_eq!(sc.broker.min_insync_replicas, 3);
    }

    #[test]
    fn unknown_key_names_file_line_and_suggests() {
        let err = apply(
            "broker.id=1\n\nmin.insync.replica=2\n",
            PropertiesKind::Server,
        )
        .unwrap_err();
        assert_eq!(
            (err.file.as_str(), err.line, err.key.as_deref()),
            ("server.properties", Some(3), Some("min.insync.replica"))
        );
        assert!(
            err.message.contains("did you mean `min.insync.replicas`"),
            "{err}"
        );
    }

    #[test]
    fn bad_value_names_the_value_column() {
        let err = apply("acks=most\n", PropertiesKind::Producer).unwrap_err();
        assert_eq!(
            (err.line, err.column, err.key.as_deref()),
            (Some(1), Some(6), Some("acks"))
        );
        let err = apply("min.insync.replicas = zero\n", PropertiesKind::Server).unwrap_err();
        assert_eq!(err.column, Some(23));
    }

    #[test]
    fn escapes_are_read_as_java_reads_them() {
        let sc = apply("min.insync.replicas=\\u0032\n", PropertiesKind::Server).unwrap();
        assert_eq!(sc.broker.min_insync_replicas, 2);
        let err = apply("min.insync.replicas=\\u00zz\n", PropertiesKind::Server).unwrap_err();
        assert_eq!(err.line, Some(1), "{err}");
    }

    #[test]
    fn producer_keys_do_not_belong_in_server_properties() {
        let err = apply("acks=all\n", PropertiesKind::Server).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("acks"));
    }

    #[test]
    fn a_zoo_cfg_makes_the_ensemble_and_chooses_zookeeper_mode() {
        let text = "tickTime=3000\ninitLimit=5\nsyncLimit=2\nforceSync=no\ndataDir=/var/zk\n\
                    clientPort=2181\nserver.1=a:2888:3888\nserver.2=b:2888:3888\n\
                    server.3=c:2888:3888\nserver.4=d:2888:3888\nserver.5=e:2888:3888\n";
        let sc = apply(text, PropertiesKind::ZooKeeper).unwrap();
        assert_eq!(sc.coordinator, crate::scenario::Coordinator::ZooKeeper);
        assert_eq!(sc.zookeepers, 5);
        let zk = &sc.zookeeper;
        assert_eq!(
            (zk.tick_time_ms, zk.init_limit, zk.sync_limit),
            (3000, 5, 2)
        );
        assert!(!zk.force_sync);
        assert!(
            sc.ignored.iter().any(|i| i.starts_with("dataDir=/var/zk")),
            "{:?}",
            sc.ignored
        );
    }

    #[test]
    fn a_zoo_cfg_with_a_gap_in_its_server_ids_or_a_bad_value_names_the_line() {
        let err = apply(
            "tickTime=2000\nserver.1=a:1:2\nserver.3=c:1:2\n",
            PropertiesKind::ZooKeeper,
        )
        .unwrap_err();
        assert_eq!(
            (err.line, err.key.as_deref()),
            (Some(2), Some("server.N")),
            "{err}"
        );
        let err = apply("syncLimit=two\n", PropertiesKind::ZooKeeper).unwrap_err();
        assert_eq!(
            (err.line, err.key.as_deref()),
            (Some(1), Some("syncLimit")),
            "{err}"
        );
        let err = apply("tickTim=2000\n", PropertiesKind::ZooKeeper).unwrap_err();
        assert!(err.message.contains("tickTime"), "{err}");
    }
}
