//! `ksim bench`: ksim's cost held against madsim's own floor, measured in one process on one
//! machine so the ratios mean something on a noisy host. The floor is a bare request/response
//! exchange over the same madsim connection channel ksim's transport uses; ksim's cost is the
//! wall time of whole runs divided by the messages they sent.

use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use madsim::net::Endpoint;

use crate::check::check;
use crate::cluster::ctx::lock;
use crate::cluster::run::run;
use crate::scenario::Scenario;

/// Peak and current resident memory of this process, from /proc (Linux), in bytes.
pub fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// madsim's floor: a client node and 3 server nodes; the client keeps one request in flight
/// to each server over a connection channel, `round_trips` in all. Returns (messages, wall).
pub fn floor(round_trips: u64) -> (u64, Duration) {
    let started = Instant::now();
    std::thread::spawn(move || {
        let rt = madsim::runtime::Runtime::with_seed_and_config(1, madsim::Config::default());
        rt.block_on(async move {
            let handle = madsim::runtime::Handle::current();
            let servers: Vec<std::net::SocketAddr> = (1..=3)
                .map(|i| format!("10.9.0.{i}:1").parse().expect("addr"))
                .collect();
            for addr in &servers {
                let addr = *addr;
                handle
                    .create_node()
                    .ip(addr.ip())
                    .init(move || echo_server(addr))
                    .build();
            }
            let client = handle
                .create_node()
                .ip("10.9.1.1".parse().expect("ip"))
                .build();
            client
                .spawn(async move { echo_client(servers, round_trips).await })
                .await
                .expect("client task");
        })
    })
    .join()
    .expect("floor thread");
    (round_trips * 2, started.elapsed())
}

async fn echo_server(addr: std::net::SocketAddr) {
    let ep = Arc::new(Endpoint::bind(addr).await.expect("bind"));
    while let Ok((tx, mut rx, _)) = ep.accept1().await {
        madsim::task::spawn(async move {
            while let Ok(msg) = rx.recv().await {
                if tx.send(msg).await.is_err() {
                    break;
                }
            }
        });
    }
}

async fn echo_client(servers: Vec<std::net::SocketAddr>, round_trips: u64) {
    madsim::time::sleep(Duration::from_millis(10)).await;
    let ep = Endpoint::bind("10.9.1.1:1").await.expect("bind client");
    let mut conns = Vec::new();
    for s in &servers {
        conns.push(ep.connect1(*s).await.expect("connect"));
    }
    let per_server = round_trips / servers.len() as u64;
    let mut tasks = Vec::new();
    for (tx, mut rx) in conns {
        tasks.push(madsim::task::spawn(async move {
            for i in 0..per_server {
                tx.send(Box::new(i)).await.expect("send");
                rx.recv().await.expect("echo");
            }
        }));
    }
    for t in tasks {
        t.await.expect("client connection task");
    }
}

/// One scenario measured over `seeds` seeds on `jobs` threads.
pub struct Measure {
    pub seeds: u64,
    pub wall: Duration,
    pub messages: u64,
    pub simulated_ms: u64,
    pub records: u64,
}

impl Measure {
    /// Wall nanoseconds per simulated message (meaningful for jobs=1).
    pub fn ns_per_message(&self) -> f64 {
        self.wall.as_nanos() as f64 / self.messages.max(1) as f64
    }
}

pub fn measure(sc: &Scenario, seeds: u64, jobs: usize) -> Measure {
    let started = Instant::now();
    let mut m = Measure {
        seeds,
        wall: Duration::ZERO,
        messages: 0,
        simulated_ms: 0,
        records: 0,
    };
    let all: Vec<u64> = (1..=seeds).collect();
    for chunk in all.chunks(jobs.max(1)) {
        let results: Vec<(u64, u64, u64)> = std::thread::scope(|s| {
            let hs: Vec<_> = chunk
                .iter()
                .map(|seed| {
                    s.spawn(move || {
                        let out = run(*seed, sc);
                        let report = check(&out);
                        let msgs = lock(&out.ctx.stats).total();
                        (msgs, out.outcome.end_ms, report.counts.acked)
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().expect("bench run"))
                .collect()
        });
        for (msgs, sim, acked) in results {
            m.messages += msgs;
            m.simulated_ms += sim;
            m.records += acked;
        }
    }
    m.wall = started.elapsed();
    m
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// The `default` scenario as the benchmark runs it: 2 producers, 30 simulated seconds of
/// writes, and the swarm's faults (each seed its own mix), as issue-free runs are not what a
/// sweep spends its time on.
pub fn bench_scenario(default: &Scenario) -> Scenario {
    let mut sc = default.clone();
    sc.workload.producers = 2;
    sc.workload.duration_ms = 30_000;
    if let Some(r) = sc.faults.random.as_mut() {
        r.swarm = true;
    }
    sc
}

/// The whole benchmark as a printed table.
pub fn report(default: &Scenario, seeds: u64, quick: bool) -> String {
    let mut s = String::new();
    let default = &bench_scenario(default);
    machine(&mut s);
    let floor_ns = floor_line(&mut s, quick);
    default_lines(&mut s, default, seeds, floor_ns);
    scaling_lines(&mut s, default, quick);
    s
}

/// The machine the figures were measured on.
fn machine(s: &mut String) {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let _ = writeln!(
        s,
        "machine    {cpu}, {cores} cores; ksim {}",
        crate::report::output::VERSION
    );
}

/// madsim's own request/response cost: the floor ksim's cost per message is compared with.
fn floor_line(s: &mut String, quick: bool) -> f64 {
    let trips = if quick { 30_000 } else { 300_000 };
    let (msgs, wall) = floor(trips);
    let floor_ns = wall.as_nanos() as f64 / msgs as f64;
    let _ = writeln!(s, "floor      madsim request/response, 3 servers: {msgs} messages in {:.3} s = {:.0} messages/s ({floor_ns:.0} ns/message)", wall.as_secs_f64(), msgs as f64 / wall.as_secs_f64());
    floor_ns
}

/// Seeds per second of `default` on one and two jobs, and the ratio to the floor.
fn default_lines(s: &mut String, default: &Scenario, seeds: u64, floor_ns: f64) {
    let _ = writeln!(
        s,
        "scenario   default: {} brokers, {} controllers, RF {}, min.insync.replicas={}, acks=all, {} producers, {} s of writes, swarm faults",
        default.brokers,
        default.controllers,
        default.replication_factor,
        default.broker.min_insync_replicas,
        default.workload.producers,
        default.workload.duration_ms / 1000
    );
    let one = measure(default, seeds, 1);
    let two = measure(default, seeds, 2);
    let per_msg = one.ns_per_message();
    let _ = writeln!(
        s,
        "default    jobs=1: {} seeds in {:.2} s = {:.1} seeds/s; jobs=2: {:.1} seeds/s; {:.0} messages/s; simulated/wall = {:.0}x",
        one.seeds,
        one.wall.as_secs_f64(),
        one.seeds as f64 / one.wall.as_secs_f64(),
        two.seeds as f64 / two.wall.as_secs_f64(),
        one.messages as f64 / one.wall.as_secs_f64(),
        one.simulated_ms as f64 / 1000.0 / one.wall.as_secs_f64(),
    );
    let _ = writeln!(s, "ratio      ksim cost per simulated message / madsim floor = {per_msg:.0} / {floor_ns:.0} ns = {:.2}x (target <= 2x)", per_msg / floor_ns);
    let (peak, _) = memory();
    let _ = writeln!(
        s,
        "memory     peak RSS after the default runs {:.1} MB",
        mb(peak)
    );
}

/// Cost per record and memory as records, brokers and partitions grow.
fn scaling_lines(s: &mut String, default: &Scenario, quick: bool) {
    let sizes: &[(u64, i32, i32)] = if quick {
        &[(2_000, 3, 1), (20_000, 3, 1), (2_000, 9, 1), (2_000, 3, 10)]
    } else {
        &[
            (10_000, 3, 1),
            (100_000, 3, 1),
            (1_000_000, 3, 1),
            (10_000, 9, 1),
            (10_000, 27, 1),
            (10_000, 3, 100),
        ]
    };
    let _ = writeln!(s, "scaling    (no faults, RF 3, acks=all, 100-byte values; peak RSS grows with the largest case so far)");
    let mut first_cost: Option<f64> = None;
    for &(records, brokers, partitions) in sizes {
        let sc = scaling_case(default, records, brokers, partitions);
        let m = measure(&sc, 1, 1);
        let (peak, _) = memory();
        let cost = m.wall.as_nanos() as f64 / m.records.max(1) as f64;
        let base = *first_cost.get_or_insert(cost);
        let _ = writeln!(
            s,
            "  records={records:>8} brokers={brokers:>2} partitions={partitions:>3}: acked {:>8} in {:>7.2} s wall = {:>6.0} ns/record ({:.2}x the first), {:>6.0} ns/message, peak RSS {:.0} MB ({:.0} bytes/record)",
            m.records,
            m.wall.as_secs_f64(),
            cost,
            cost / base,
            m.ns_per_message(),
            mb(peak),
            peak as f64 / m.records.max(1) as f64,
        );
    }
}

/// A fault-free scenario that writes `records` records: 10 producers at 1,000 records per
/// simulated second each, for as long as that takes after the controllers' first election (a
/// fixed rate that the cluster keeps up with, so that the record count, not the load, grows).
fn scaling_case(base: &Scenario, records: u64, brokers: i32, partitions: i32) -> Scenario {
    let mut sc = base.clone();
    sc.name = format!("scaling-{records}-{brokers}-{partitions}");
    sc.brokers = brokers;
    sc.partitions = partitions;
    sc.replication_factor = 3;
    sc.broker.min_insync_replicas = 2;
    sc.faults = Default::default();
    sc.workload.producers = 10;
    sc.workload.rate_per_sec = 1_000;
    // Plus the first 2 s, in which the controllers elect a leader and nothing is written.
    sc.workload.duration_ms = 2_000 + records / 10;
    sc.workload.value_bytes = 100;
    sc.producer.max_in_flight = 100;
    sc.run.settle_ms = 10_000;
    sc
}
