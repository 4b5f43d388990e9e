//! What a run exports for a checker written apart from ksim, from Kafka's semantics alone:
//! the configuration in force (`results.json`'s `config`), every replica's final state with
//! each record it holds (`replicas.json`), and the faults as intervals with their parameters
//! (`faults.jsonl`). The acknowledgements are in `history.jsonl` (`report::write_history`).
//! Each format is documented in `reports/README.md` and has a JSON Schema in `reports/schema/`.
//! Nothing here enters the trace hash: it reads the run once it is over.

use ksim_model::{BrokerId, Epoch, NodeId, Offset, PartitionId, Role};
use serde::Serialize;
use serde_json::Value;

use crate::cluster::disk::Disks;
use crate::cluster::net::CONSUMER_BASE;
use crate::observer::{value_id, FaultSpan, Observer};
use crate::scenario::parse::{section_json, shown_json};
use crate::scenario::{FaultAction, Faults, RandomFaults, Scenario, ScriptedFault};

/// The topic of cluster partition `p` (topic t's partition i is `t * num.partitions + i`).
pub fn topic_of(sc: &Scenario, p: PartitionId) -> &str {
    sc.workload
        .topics
        .get((p / sc.partitions.max(1)) as usize)
        .map_or("", String::as_str)
}

// ------------------------------------------------------------------------ the configuration

/// The sections of `results.json`'s `config`, each with every key of the key table.
const CONFIG_SECTIONS: [&str; 9] = [
    "cluster",
    "zookeeper",
    "server",
    "protocol",
    "producer",
    "consumer",
    "workload",
    "run",
    "selftest",
];

/// `[faults]` as written (`script`, `random`), and the random faults this seed ran with
/// (`random_drawn`: with `swarm` the seed's own draw, else `random` itself).
#[derive(Serialize)]
struct FaultPlan<'a> {
    #[serde(flatten)]
    faults: &'a Faults,
    random_drawn: Option<RandomFaults>,
}

/// The configuration seed `seed` of `sc` runs with, as `results.json`'s `config`: the sections
/// of a scenario file with every key as the key table shows it (`null` when unset), plus the
/// brokers' settings the cluster's shape decides (`controller.quorum.voters`,
/// `replica.fetch.max.records`).
pub fn config(sc: &Scenario, seed: u64) -> Value {
    let mut c = serde_json::Map::new();
    for key in ["name", "description", "fix", "fixed_in"] {
        c.insert(key.into(), shown_json(sc, "", key));
    }
    for section in CONFIG_SECTIONS {
        c.insert(section.into(), section_json(sc, section));
    }
    if let Some(Value::Object(server)) = c.get_mut("server") {
        let b = &sc.broker;
        let voters = serde_json::json!(b.controller_quorum_voters);
        server.insert("controller.quorum.voters".into(), voters);
        let max_records = serde_json::json!(b.replica_fetch_max_records);
        server.insert("replica.fetch.max.records".into(), max_records);
    }
    let plan = FaultPlan {
        faults: &sc.faults,
        random_drawn: sc
            .faults
            .random
            .as_ref()
            .map(|r| r.for_seed(seed, sc.brokers, sc.coordinator)),
    };
    c.insert(
        "faults".into(),
        serde_json::to_value(plan).unwrap_or(Value::Null),
    );
    c.insert("ignored".into(), serde_json::json!(sc.ignored));
    Value::Object(c)
}

// ------------------------------------------------------------------------- replicas.json

#[derive(Serialize)]
struct Replicas<'a> {
    scenario: &'a str,
    seed: u64,
    end_ms: u64,
    replicas: Vec<Replica<'a>>,
    partitions: Vec<Partition<'a>>,
}

/// One replica at the end of the run: its state as of its broker's last step, and its log as
/// the broker's disk holds it.
#[derive(Serialize)]
struct Replica<'a> {
    broker: BrokerId,
    partition: PartitionId,
    topic: &'a str,
    role: &'static str,
    leader: Option<BrokerId>,
    leader_epoch: Option<Epoch>,
    leo: Offset,
    hw: Offset,
    alive: bool,
    flushed: usize,
    records: Vec<Rec>,
}

#[derive(Serialize)]
struct Rec {
    offset: Offset,
    leader_epoch: Epoch,
    base_offset: Offset,
    producer_id: Option<i64>,
    sequence: Option<i32>,
    key: Option<String>,
    value: u64,
}

/// The controllers' last word on a partition, and how far it was committed.
#[derive(Serialize)]
struct Partition<'a> {
    partition: PartitionId,
    topic: &'a str,
    leader: Option<BrokerId>,
    leader_epoch: Epoch,
    isr: &'a [BrokerId],
    committed: usize,
}

/// `replicas.json`: every replica's final state with each record of its log, and the
/// controllers' view of each partition.
pub fn replicas(obs: &Observer, disks: &Disks, sc: &Scenario, seed: u64, end_ms: u64) -> Value {
    let replicas = obs
        .views
        .iter()
        .map(|(&(broker, partition), v)| {
            let (role, leader, leader_epoch) = match v.role {
                Role::Leader { leader_epoch } => ("leader", Some(broker), Some(leader_epoch)),
                Role::Follower {
                    leader,
                    leader_epoch,
                } => ("follower", Some(leader), Some(leader_epoch)),
                Role::Offline => ("offline", None, None),
            };
            let (log, flushed) = disks.log(broker, partition).unwrap_or((&[], 0));
            let records = log
                .iter()
                .map(|r| Rec {
                    offset: r.offset,
                    leader_epoch: r.leader_epoch,
                    base_offset: r.base_offset,
                    producer_id: (r.producer_id >= 0).then_some(r.producer_id),
                    sequence: (r.sequence >= 0).then_some(r.sequence),
                    key: (!r.key.is_empty()).then(|| String::from_utf8_lossy(&r.key).into()),
                    value: value_id(&r.value),
                })
                .collect();
            Replica {
                broker,
                partition,
                topic: topic_of(sc, partition),
                role,
                leader,
                leader_epoch,
                leo: v.leo,
                hw: v.hw,
                alive: v.alive,
                flushed,
                records,
            }
        })
        .collect();
    let partitions = obs
        .controller
        .iter()
        .map(|(&partition, (leader, leader_epoch, isr))| Partition {
            partition,
            topic: topic_of(sc, partition),
            leader: *leader,
            leader_epoch: *leader_epoch,
            isr,
            committed: obs.committed_log.get(&partition).map_or(0, Vec::len),
        })
        .collect();
    let r = Replicas {
        scenario: &sc.name,
        seed,
        end_ms,
        replicas,
        partitions,
    };
    serde_json::to_value(r).expect("the replicas serialize")
}

// -------------------------------------------------------------------------- faults.jsonl

/// One fault as an interval: the node it hit, from its injection to the restart, resume or
/// heal that ended it.
#[derive(Serialize)]
struct FaultLine {
    node: String,
    node_kind: &'static str,
    node_id: i64,
    kind: FaultAction,
    start_ms: u64,
    end_ms: Option<u64>,
    parameters: Parameters,
}

/// A fault's parameters as it was injected (scripted, or drawn from the fault stream).
#[derive(Serialize, Default)]
struct Parameters {
    restart_after_ms: Option<u64>,
    heal_after_ms: Option<u64>,
    latency_ms: Option<u64>,
    loss_percent: Option<u32>,
    clock_percent: Option<u32>,
}

/// A node's kind and number, and its name as a scenario's `target` writes it.
fn node_name(node: NodeId) -> (String, &'static str, i64) {
    let (kind, id) = match node {
        NodeId::Broker(b) => ("broker", i64::from(b)),
        NodeId::Controller(c) => ("controller", i64::from(c)),
        NodeId::ZooKeeper(z) => ("zookeeper", i64::from(z)),
        NodeId::Client(c) if c > CONSUMER_BASE => ("consumer", i64::from(c - CONSUMER_BASE)),
        NodeId::Client(c) => ("producer", i64::from(c)),
    };
    (format!("{kind}:{id}"), kind, id)
}

/// `faults.jsonl`'s lines: one per fault span of the observer, in the order they began, each
/// with the parameters of the injected fault it is. `injected` lists every fault injected,
/// each resolved to one node; the heals and restarts among them end spans instead of opening
/// one, so the others are the spans, in the same order.
pub fn fault_lines(spans: &[FaultSpan], injected: &[ScriptedFault]) -> Vec<Value> {
    let opened: Vec<&ScriptedFault> = injected
        .iter()
        .filter(|f| !matches!(f.action, FaultAction::Heal | FaultAction::Restart))
        .collect();
    // Matched by action, time and node from where the last match left off, so that a span
    // without its injected fault (a run that panicked midway) cannot shift the others.
    let mut next = 0;
    spans
        .iter()
        .map(|s| {
            let (node, node_kind, node_id) = node_name(s.node);
            let found = opened[next.min(opened.len())..].iter().position(|f| {
                f.action == s.action && f.at_ms == s.from_ms && f.target.to_string() == node
            });
            let parameters = found
                .map(|i| {
                    let f = opened[next + i];
                    next += i + 1;
                    f
                })
                .map(|f| Parameters {
                    restart_after_ms: f.restart_after_ms,
                    heal_after_ms: f.heal_after_ms,
                    latency_ms: f.latency_ms,
                    loss_percent: f.loss_percent,
                    clock_percent: f.clock_percent,
                })
                .unwrap_or_default();
            let line = FaultLine {
                node,
                node_kind,
                node_id,
                kind: s.action,
                start_ms: s.from_ms,
                end_ms: s.to_ms,
                parameters,
            };
            serde_json::to_value(line).expect("a fault serializes")
        })
        .collect()
}
