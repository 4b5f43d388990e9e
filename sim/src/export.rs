//! What a run exports for a checker written apart from ksim, from Kafka's semantics alone:
//! the configuration in force (`results.json`'s `config`). The acknowledgements are in
//! `history.jsonl` (`report::write_history`). Nothing here enters the trace hash: it reads the
//! run once it is over.

use ksim_model::{BrokerConfig, PartitionId, Protocol};
use serde::Serialize;
use serde_json::Value;

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
