//! What a run exports for a checker written apart from ksim, from Kafka's semantics alone:
//! the configuration in force (`results.json`'s `config`) and every replica's final state with
//! each record it holds (`replicas.json`). The acknowledgements are in `history.jsonl` (`report::write_history`).
//! Each format is documented in `reports/README.md` and has a JSON Schema in `reports/schema/`.
//! Nothing here enters the trace hash: it reads the run once it is over.

use ksim_model::{BrokerConfig, BrokerId, Epoch, Offset, PartitionId, Protocol, Role};
use serde::Serialize;
use serde_json::Value;

use crate::disk::Disks;
use crate::observer::{value_id, Observer};
use crate::scenario::{
    ConsumerConfig, Faults, ProducerConfig, RandomFaults, RunLimits, Scenario, Workload,
};
use crate::scenario_parse::{flaw_name, quorum_flaw_name};

/// The topic of cluster partition `p` (topic t's partition i is `t * num.partitions + i`).
pub fn topic_of(sc: &Scenario, p: PartitionId) -> &str {
    sc.workload
        .topics
        .get((p / sc.partitions.max(1)) as usize)
        .map_or("", String::as_str)
}

// ------------------------------------------------------------------------ the configuration

/// The configuration a run was in force with, in the sections of a scenario file. The
/// sections borrow the scenario's own structs, which serialize with the file's keys.
#[derive(Serialize)]
struct Config<'a> {
    name: &'a str,
    description: &'a str,
    fix: &'a [String],
    fixed_in: &'a str,
    cluster: Cluster,
    server: Server<'a>,
    protocol: &'a Protocol,
    producer: &'a ProducerConfig,
    consumer: &'a ConsumerConfig,
    workload: &'a Workload,
    run: &'a RunLimits,
    selftest: Selftest,
    faults: FaultPlan<'a>,
    /// Keys of properties files the simulation does not use, with why.
    ignored: &'a [String],
}

#[derive(Serialize)]
struct Cluster {
    brokers: i32,
    controllers: u32,
}

/// `[server]`: the topic defaults and the brokers' and controllers' server.properties keys.
#[derive(Serialize)]
struct Server<'a> {
    #[serde(rename = "num.partitions")]
    partitions: i32,
    #[serde(rename = "default.replication.factor")]
    replication_factor: i32,
    #[serde(flatten)]
    broker: &'a BrokerConfig,
}

#[derive(Serialize)]
struct Selftest {
    flaw: &'static str,
    quorum_flaw: &'static str,
}

/// `[faults]` as written (`script`, `random`), and the random faults this seed ran with
/// (`random_drawn`: with `swarm` the seed's own draw, else `random` itself).
#[derive(Serialize)]
struct FaultPlan<'a> {
    #[serde(flatten)]
    faults: &'a Faults,
    random_drawn: Option<RandomFaults>,
}

/// The configuration seed `seed` of `sc` runs with, as `results.json`'s `config`.
pub fn config(sc: &Scenario, seed: u64) -> Value {
    let c = Config {
        name: &sc.name,
        description: &sc.description,
        fix: &sc.fix,
        fixed_in: &sc.fixed_in,
        cluster: Cluster {
            brokers: sc.brokers,
            controllers: sc.controllers,
        },
        server: Server {
            partitions: sc.partitions,
            replication_factor: sc.replication_factor,
            broker: &sc.broker,
        },
        protocol: &sc.broker.protocol,
        producer: &sc.producer,
        consumer: &sc.consumer,
        workload: &sc.workload,
        run: &sc.run,
        selftest: Selftest {
            flaw: flaw_name(sc.broker.flaw),
            quorum_flaw: quorum_flaw_name(sc.quorum_flaw),
        },
        faults: FaultPlan {
            faults: &sc.faults,
            random_drawn: sc
                .faults
                .random
                .as_ref()
                .map(|r| r.for_seed(seed, sc.brokers)),
        },
        ignored: &sc.ignored,
    };
    serde_json::to_value(c).expect("the configuration serializes")
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
