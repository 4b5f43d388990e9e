//! `ksim tradeoffs`: what each replication setting can lose and what it costs, under one fault
//! distribution. A grid over `acks` x `min.insync.replicas` x `unclean.leader.election.enable` x
//! flush policy (x replication factor), every cell run over the same seeds; per cell the
//! acknowledged writes lost with 95% confidence intervals, violations, unavailability, produce
//! latency and throughput, all in simulated time. Optionally the user's own Kafka properties as
//! one more row. Writes `README.md`, a self-contained `index.html` with SVG charts (plotters) and
//! `cells.json` (every number, per seed), none of which depends on `--jobs` or the wall clock.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use ksim_model::{Acks, BrokerConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::check::{check, Report, Verdict};
use crate::cluster::ctx::lock;
use crate::cluster::run::{run, RunOutput};
use crate::observer::OpType;
use crate::report::output::sh;
use crate::report::output::{banner, reproduce_line};
use crate::scenario::parse::{apply_set, load, validate, InputError};
use crate::scenario::properties::{apply_properties_file, PropertiesKind};
use crate::scenario::Scenario;

/// The version of the `cells.json` layout.
pub const FORMAT: u32 = 1;
/// The 97.5% quantile of the standard normal distribution.
const Z_95: f64 = 1.959_963_984_540_054;
/// Resamples of the percentile bootstrap for the mean loss per run.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;
/// The bootstrap's own random stream (ChaCha8), the same for every cell.
pub const BOOTSTRAP_SEED: u64 = 1;
/// A stretch of the workload longer than this without any acknowledgement counts, in full, as
/// unavailable (at 100 writes/s it is 100 send intervals).
pub const UNAVAILABLE_GAP_MS: u64 = 1000;
/// Kafka's "never" for `log.flush.interval.messages` (`Long.MAX_VALUE`).
const NEVER: &str = "9223372036854775807";

/// The grid: acks, then min.insync.replicas, then unclean election, then flush every message.
const GRID_ACKS: [Acks; 2] = [Acks::Leader, Acks::All];
const GRID_MIN_ISR: [usize; 2] = [1, 2];
const GRID_UNCLEAN: [bool; 2] = [false, true];
const GRID_FLUSH_EVERY_MESSAGE: [bool; 2] = [false, true];

/// What decides the numbers: stored in `cells.json`, so the report can be regenerated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// A name under scenarios/ or a path to a TOML file: the fault distribution.
    pub scenario: String,
    /// `--set` overrides, applied to every cell before the grid's own keys.
    pub sets: Vec<String>,
    /// Seeds 1..=seeds in every cell.
    pub seeds: u64,
    /// Replication factors of the grid; empty: the scenario's.
    pub rf: Vec<i32>,
    pub server_properties: Option<String>,
    pub producer_properties: Option<String>,
}

/// Everything `ksim tradeoffs` was asked for.
#[derive(Clone, Debug)]
pub struct Options {
    pub params: Params,
    /// Runs at once, each on its own thread and runtime; changes no number.
    pub jobs: usize,
    pub out: PathBuf,
}

/// One row of the report: a configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellConfig {
    pub label: String,
    /// The user's own configuration (`--server-properties` / `--producer-properties`).
    pub yours: bool,
    pub replication_factor: i32,
    pub acks: String,
    pub min_insync_replicas: usize,
    pub unclean_leader_election_enable: bool,
    /// `never`, `every message`, `every N messages`, `every N ms`, or both.
    pub flush: String,
    /// How to replay one of its runs (replace N by the seed).
    pub replay: String,
}

/// The columns of a run's row in `cells.json`, in order (`SeedResult`'s fields).
pub const RUN_COLUMNS: [&str; 14] = [
    "seed",
    "verdict",
    "violated",
    "acked",
    "failed",
    "unknown",
    "lost_allowed",
    "lost_violating",
    "unclean_elections",
    "unavailable_ms",
    "latency_p50_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "trace_hash",
];

/// What one run gave. Every field is an integer or a word, so that two runs compare exactly.
/// In `cells.json` it is one array, in the order of `RUN_COLUMNS`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SeedRow", into = "SeedRow")]
pub struct SeedResult {
    pub seed: u64,
    /// `valid`, `invalid` or `vacuous`.
    pub verdict: String,
    /// The checkers that reported a violation (sorted, each once).
    pub violated: Vec<String>,
    pub acked: u64,
    pub failed: u64,
    pub unknown: u64,
    pub lost_allowed: u64,
    pub lost_violating: u64,
    pub unclean_elections: u64,
    pub unavailable_ms: u64,
    pub latency_p50_ms: u64,
    pub latency_p99_ms: u64,
    pub latency_max_ms: u64,
    /// The run's trace hash: equal hashes mean the same run, event for event.
    pub trace_hash: String,
}

/// `SeedResult` as a row (see `RUN_COLUMNS`): a tenth of the size of an object per run.
#[derive(Serialize, Deserialize)]
struct SeedRow(
    u64,
    String,
    Vec<String>,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    String,
);

impl From<SeedResult> for SeedRow {
    fn from(r: SeedResult) -> Self {
        SeedRow(
            r.seed,
            r.verdict,
            r.violated,
            r.acked,
            r.failed,
            r.unknown,
            r.lost_allowed,
            r.lost_violating,
            r.unclean_elections,
            r.unavailable_ms,
            r.latency_p50_ms,
            r.latency_p99_ms,
            r.latency_max_ms,
            r.trace_hash,
        )
    }
}

impl From<SeedRow> for SeedResult {
    fn from(r: SeedRow) -> Self {
        SeedResult {
            seed: r.0,
            verdict: r.1,
            violated: r.2,
            acked: r.3,
            failed: r.4,
            unknown: r.5,
            lost_allowed: r.6,
            lost_violating: r.7,
            unclean_elections: r.8,
            unavailable_ms: r.9,
            latency_p50_ms: r.10,
            latency_p99_ms: r.11,
            latency_max_ms: r.12,
            trace_hash: r.13,
        }
    }
}

impl SeedResult {
    pub fn lost(&self) -> u64 {
        self.lost_allowed + self.lost_violating
    }
}

/// Produce latency over every acknowledged write of a cell's runs, pooled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p50_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
}

/// A run with a violation, to replay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub seed: u64,
    pub checker: String,
    pub message: String,
    pub reproduce: String,
}

/// The numbers of one cell, over its runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub runs: u64,
    pub runs_with_loss: u64,
    /// runs_with_loss / runs, with its 95% Wilson score interval.
    pub loss_share: f64,
    pub loss_share_ci: [f64; 2],
    pub lost_total: u64,
    pub lost_allowed: u64,
    pub lost_violating: u64,
    /// Acknowledged writes lost per run, with a 95% percentile-bootstrap interval.
    pub lost_mean: f64,
    pub lost_mean_ci: [f64; 2],
    pub lost_max: u64,
    pub invalid_runs: u64,
    /// Invalid runs by the checker that found them (a run may count under several).
    pub invalid_by_checker: BTreeMap<String, u64>,
    pub vacuous_runs: u64,
    pub unclean_elections: u64,
    pub unavailable_ms_mean: f64,
    pub unavailable_ms_max: u64,
    /// unavailable_ms_mean / the workload's duration.
    pub unavailable_share: f64,
    pub latency: Latency,
    /// Acknowledged writes per simulated second of workload, mean over runs.
    pub acked_per_sec: f64,
    /// The first few invalid runs.
    pub findings: Vec<Finding>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub config: CellConfig,
    pub summary: Summary,
    pub runs: Vec<SeedResult>,
}

/// Everything the report shows; `cells.json` is this, serialized.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tradeoffs {
    pub format: u32,
    /// The columns of each cell's `runs` rows.
    pub run_columns: Vec<String>,
    /// The command that made the report.
    pub command: String,
    pub params: Params,
    pub scenario_name: String,
    pub scenario_description: String,
    /// The base scenario as the run banner prints it (cluster, server, producer, workload,
    /// faults), without the grid's keys' effect.
    pub distribution: Vec<String>,
    pub workload_ms: u64,
    /// Writes the producers try per simulated second.
    pub offered_per_sec: u64,
    /// Properties keys that the simulation does not use.
    pub ignored: Vec<String>,
    /// The user's properties that were applied, as KEY=VALUE.
    pub applied: Vec<String>,
    /// Grid cells not run, and why.
    pub skipped: Vec<String>,
    pub cells: Vec<Cell>,
}

// ------------------------------------------------------------------------------- the grid

/// A cell to run: its description and the scenario it runs.
pub struct Planned {
    pub config: CellConfig,
    pub scenario: Scenario,
}

/// The cells of a report (the user's configuration first, when given) and the grid cells
/// that cannot exist (min.insync.replicas above the replication factor).
pub struct Plan {
    pub cells: Vec<Planned>,
    pub skipped: Vec<String>,
    pub base: Scenario,
    pub ignored: Vec<String>,
    pub applied: Vec<String>,
}

fn flush_policy(b: &BrokerConfig) -> String {
    match (b.log_flush_interval_messages, b.log_flush_interval_ms) {
        (None, None) => "never".into(),
        (Some(1), _) => "every message".into(),
        (Some(n), None) => format!("every {n} messages"),
        (None, Some(ms)) => format!("every {ms} ms"),
        (Some(n), Some(ms)) => format!("every {n} messages or {ms} ms"),
    }
}

fn describe(sc: &Scenario, yours: bool, with_rf: bool) -> CellConfig {
    let b = &sc.broker;
    let flush = flush_policy(b);
    let mut label = String::new();
    if yours {
        label.push_str("yours: ");
    }
    if with_rf {
        let _ = write!(label, "rf={} ", sc.replication_factor);
    }
    let _ = write!(
        label,
        "acks={} min.isr={} unclean={} flush={}",
        sc.producer.acks.name(),
        b.min_insync_replicas,
        if b.unclean_leader_election_enable {
            "on"
        } else {
            "off"
        },
        flush
    );
    CellConfig {
        label,
        yours,
        replication_factor: sc.replication_factor,
        acks: sc.producer.acks.name().into(),
        min_insync_replicas: b.min_insync_replicas,
        unclean_leader_election_enable: b.unclean_leader_election_enable,
        flush,
        replay: reproduce_line(sc, 1).replacen(" --seed 1", " --seed N", 1),
    }
}

/// Apply `KEY=VALUE` only where it changes the scenario, so replay lines stay short.
fn set_if_changed(sc: &mut Scenario, assignment: &str) -> Result<(), InputError> {
    let mut probe = sc.clone();
    apply_set(&mut probe, assignment)?;
    if format!("{:?}", probe.broker) != format!("{:?}", sc.broker)
        || probe.producer.acks != sc.producer.acks
        || probe.replication_factor != sc.replication_factor
    {
        *sc = probe;
    }
    Ok(())
}

fn grid_error(message: String) -> InputError {
    InputError {
        file: "--rf".into(),
        line: None,
        column: None,
        key: Some("default.replication.factor".into()),
        message,
    }
}

/// Load the scenario, apply the properties files and `--set`s, and lay out the cells.
pub fn plan(p: &Params) -> Result<Plan, InputError> {
    let mut base = load(&p.scenario)?;
    base.origin = p.scenario.clone();
    let with_props = p.server_properties.is_some() || p.producer_properties.is_some();
    // The user's row starts from Kafka's defaults for the grid's keys, not the scenario's, so
    // that it answers for their files alone.
    let mut yours = base.clone();
    for a in [
        "acks=all",
        "min.insync.replicas=1",
        "unclean.leader.election.enable=false",
    ] {
        set_if_changed(&mut yours, a)?;
    }
    set_if_changed(&mut yours, &format!("log.flush.interval.messages={NEVER}"))?;
    set_if_changed(&mut yours, &format!("log.flush.interval.ms={NEVER}"))?;
    let before = base.overrides.len();
    let files = [
        (&p.server_properties, PropertiesKind::Server),
        (&p.producer_properties, PropertiesKind::Producer),
    ];
    for (path, kind) in files {
        if let Some(path) = path {
            apply_properties_file(&mut base, Path::new(path), kind)?;
            apply_properties_file(&mut yours, Path::new(path), kind)?;
        }
    }
    let applied = base.overrides[before..]
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let ignored = base.ignored.clone();
    for s in &p.sets {
        apply_set(&mut base, s)?;
        apply_set(&mut yours, s)?;
    }
    let rfs = if p.rf.is_empty() {
        vec![base.replication_factor]
    } else {
        p.rf.clone()
    };
    let mut cells = Vec::new();
    if with_props {
        validate(&yours, "your configuration")?;
        let config = describe(&yours, true, false);
        cells.push(Planned {
            config,
            scenario: yours,
        });
    }
    let mut skipped = Vec::new();
    for &rf in &rfs {
        if rf < 1 || rf > base.brokers {
            return Err(grid_error(format!(
                "replication factor {rf} must be between 1 and the number of brokers ({})",
                base.brokers
            )));
        }
        for acks in GRID_ACKS {
            for min_isr in GRID_MIN_ISR {
                if min_isr > rf as usize {
                    skipped.push(format!(
                        "rf={rf} acks={} min.insync.replicas={min_isr}: more than the replication factor",
                        acks.name()
                    ));
                    continue;
                }
                for unclean in GRID_UNCLEAN {
                    for every in GRID_FLUSH_EVERY_MESSAGE {
                        let mut sc = base.clone();
                        if !p.rf.is_empty() {
                            set_if_changed(&mut sc, &format!("default.replication.factor={rf}"))?;
                        }
                        set_if_changed(&mut sc, &format!("acks={}", acks.name()))?;
                        set_if_changed(&mut sc, &format!("min.insync.replicas={min_isr}"))?;
                        set_if_changed(
                            &mut sc,
                            &format!("unclean.leader.election.enable={unclean}"),
                        )?;
                        let flush = if every { "1" } else { NEVER };
                        set_if_changed(&mut sc, &format!("log.flush.interval.messages={flush}"))?;
                        validate(&sc, "--set")?;
                        let config = describe(&sc, false, rfs.len() > 1);
                        cells.push(Planned {
                            config,
                            scenario: sc,
                        });
                    }
                }
            }
        }
    }
    Ok(Plan {
        cells,
        skipped,
        base,
        ignored,
        applied,
    })
}

// ------------------------------------------------------------------------------- measuring

/// Nearest-rank percentile of sorted values (0 when empty).
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Simulated time within the workload during which nothing was acknowledged for longer than
/// `UNAVAILABLE_GAP_MS`: every such stretch between two acknowledgements (or from the last
/// one to the end of the workload) counts in full. The stretch before the first
/// acknowledgement (the cluster starting) does not count; a run that acknowledged nothing
/// within the workload was unavailable for all of it.
pub fn unavailable_ms(ok_times: &[u64], workload_ms: u64) -> u64 {
    let inside: Vec<u64> = ok_times
        .iter()
        .copied()
        .filter(|t| *t <= workload_ms)
        .collect();
    let Some(&first) = inside.first() else {
        return workload_ms;
    };
    let mut total = 0;
    let mut prev = first;
    for t in inside[1..].iter().copied().chain([workload_ms]) {
        let gap = t.saturating_sub(prev);
        if gap > UNAVAILABLE_GAP_MS {
            total += gap;
        }
        prev = t;
    }
    total
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "valid",
        Verdict::Invalid => "invalid",
        Verdict::Vacuous => "vacuous",
    }
}

/// One run's numbers, and its produce latencies (sorted) for the cell's pooled percentiles.
pub fn measure(out: &RunOutput, report: &Report) -> (SeedResult, Vec<u64>) {
    let obs = lock(&out.ctx.observer);
    let mut invoked_at: BTreeMap<u64, u64> = BTreeMap::new();
    let mut latencies = Vec::new();
    let mut ok_times = Vec::new();
    for op in &obs.history {
        match op.kind {
            OpType::Invoke => {
                invoked_at.insert(op.value, op.time_ms);
            }
            OpType::Ok => {
                if let Some(t0) = invoked_at.get(&op.value) {
                    latencies.push(op.time_ms.saturating_sub(*t0));
                }
                ok_times.push(op.time_ms);
            }
            OpType::Fail | OpType::Info => {}
        }
    }
    latencies.sort_unstable();
    ok_times.sort_unstable();
    let mut violated: Vec<String> = report
        .violations
        .iter()
        .map(|v| v.checker.to_string())
        .collect();
    violated.sort();
    violated.dedup();
    let c = &report.counts;
    let result = SeedResult {
        seed: out.seed,
        verdict: verdict_name(report.verdict).into(),
        violated,
        acked: c.acked,
        failed: c.failed,
        unknown: c.unknown,
        lost_allowed: c.lost_allowed,
        lost_violating: c.lost_violating,
        unclean_elections: c.unclean_elections,
        unavailable_ms: unavailable_ms(&ok_times, out.ctx.sc.workload.duration_ms),
        latency_p50_ms: percentile(&latencies, 50.0),
        latency_p99_ms: percentile(&latencies, 99.0),
        latency_max_ms: latencies.last().copied().unwrap_or(0),
        trace_hash: format!("{:016x}", obs.trace_hash()),
    };
    (result, latencies)
}

/// Produce latencies as (ms, how many writes), so a cell's pool stays small however many
/// seeds it runs.
pub type Histogram = BTreeMap<u64, u64>;

/// Nearest-rank percentile of a histogram (0 when empty).
pub fn percentile_of(hist: &Histogram, p: f64) -> u64 {
    let total: u64 = hist.values().sum();
    if total == 0 {
        return 0;
    }
    let rank = (((p / 100.0) * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (ms, count) in hist {
        seen += count;
        if seen >= rank {
            return *ms;
        }
    }
    unreachable!("rank {rank} is at most the total {total}")
}

/// What a run left for its cell besides its latencies: its numbers and its first violation.
pub type Measured = (SeedResult, Option<Finding>);

fn run_and_measure(sc: &Scenario, seed: u64) -> (Measured, Vec<u64>) {
    let out = run(seed, sc);
    let report = check(&out);
    let (result, latencies) = measure(&out, &report);
    let finding = report.violations.first().map(|v| Finding {
        seed,
        checker: v.checker.to_string(),
        message: v.message.chars().take(400).collect(),
        reproduce: reproduce_line(sc, seed),
    });
    ((result, finding), latencies)
}

/// Run `seeds` of every scenario on `jobs` worker threads. Results come back in task order
/// (scenario, then seed), whatever order they finished in, each scenario's with the histogram
/// of its runs' produce latencies (a sum, so the order of merging does not matter).
pub fn run_tasks(
    scenarios: &[&Scenario],
    seeds: &[u64],
    jobs: usize,
) -> Vec<(Vec<Measured>, Histogram)> {
    let tasks: Vec<(usize, u64)> = (0..scenarios.len())
        .flat_map(|c| seeds.iter().map(move |s| (c, *s)))
        .collect();
    let slots: Vec<Mutex<Option<Measured>>> = tasks.iter().map(|_| Mutex::new(None)).collect();
    let histograms: Vec<Mutex<Histogram>> = scenarios.iter().map(|_| Mutex::default()).collect();
    let next = AtomicUsize::new(0);
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(tasks.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} runs")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(tasks.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(c, seed)) = tasks.get(i) else {
                    return;
                };
                let (measured, latencies) = run_and_measure(scenarios[c], seed);
                let mut hist = lock(&histograms[c]);
                for ms in latencies {
                    *hist.entry(ms).or_insert(0) += 1;
                }
                drop(hist);
                *lock(&slots[i]) = Some(measured);
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    let mut out: Vec<(Vec<Measured>, Histogram)> = histograms
        .into_iter()
        .map(|h| {
            (
                Vec::new(),
                h.into_inner().unwrap_or_else(|e| e.into_inner()),
            )
        })
        .collect();
    for ((c, _), slot) in tasks.iter().zip(slots) {
        let measured = slot
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .expect("every task ran");
        out[*c].0.push(measured);
    }
    out
}

// ------------------------------------------------------------------------------- statistics

/// The 95% Wilson score interval of a proportion k/n.
pub fn wilson(k: u64, n: u64) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    let (k_f, n_f) = (k as f64, n as f64);
    let p = k_f / n_f;
    let z2 = Z_95 * Z_95;
    let denom = 1.0 + z2 / n_f;
    let center = (p + z2 / (2.0 * n_f)) / denom;
    let half = Z_95 * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    let lo = if k == 0 {
        0.0
    } else {
        (center - half).max(0.0)
    };
    let hi = if k == n {
        1.0
    } else {
        (center + half).min(1.0)
    };
    [lo, hi]
}

/// The 95% percentile-bootstrap interval of the mean: `BOOTSTRAP_RESAMPLES` resamples with
/// replacement, drawn from ChaCha8 seeded with `BOOTSTRAP_SEED`.
pub fn bootstrap_mean(xs: &[u64]) -> [f64; 2] {
    if xs.is_empty() {
        return [0.0, 0.0];
    }
    let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
    let n = xs.len() as u64;
    let mut means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            let sum: u64 = (0..n).map(|_| xs[rng.gen_range(0..n) as usize]).sum();
            sum as f64 / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let r = BOOTSTRAP_RESAMPLES as f64;
    let lo = (0.025 * r).floor() as usize;
    let hi = ((0.975 * r).ceil() as usize).saturating_sub(1);
    [means[lo], means[hi.min(means.len() - 1)]]
}

/// A cell's numbers from its runs (in seed order) and its pooled latency.
pub fn summarize(
    runs: &[SeedResult],
    latency: Latency,
    findings: Vec<Finding>,
    workload_ms: u64,
) -> Summary {
    let n = runs.len() as u64;
    let per_run = |f: fn(&SeedResult) -> u64| runs.iter().map(f).collect::<Vec<u64>>();
    let mean = |xs: &[u64]| {
        if xs.is_empty() {
            0.0
        } else {
            xs.iter().sum::<u64>() as f64 / xs.len() as f64
        }
    };
    let lost = per_run(SeedResult::lost);
    let runs_with_loss = lost.iter().filter(|l| **l > 0).count() as u64;
    let mut invalid_by_checker = BTreeMap::new();
    for r in runs.iter().filter(|r| r.verdict == "invalid") {
        for c in &r.violated {
            *invalid_by_checker.entry(c.clone()).or_insert(0) += 1;
        }
    }
    let unavailable = per_run(|r| r.unavailable_ms);
    let unavailable_ms_mean = mean(&unavailable);
    let secs = workload_ms as f64 / 1000.0;
    Summary {
        runs: n,
        runs_with_loss,
        loss_share: if n == 0 {
            0.0
        } else {
            runs_with_loss as f64 / n as f64
        },
        loss_share_ci: wilson(runs_with_loss, n),
        lost_total: lost.iter().sum(),
        lost_allowed: runs.iter().map(|r| r.lost_allowed).sum(),
        lost_violating: runs.iter().map(|r| r.lost_violating).sum(),
        lost_mean: mean(&lost),
        lost_mean_ci: bootstrap_mean(&lost),
        lost_max: lost.iter().copied().max().unwrap_or(0),
        invalid_runs: runs.iter().filter(|r| r.verdict == "invalid").count() as u64,
        invalid_by_checker,
        vacuous_runs: runs.iter().filter(|r| r.verdict == "vacuous").count() as u64,
        unclean_elections: runs.iter().map(|r| r.unclean_elections).sum(),
        unavailable_ms_mean,
        unavailable_ms_max: unavailable.iter().copied().max().unwrap_or(0),
        unavailable_share: if workload_ms == 0 {
            0.0
        } else {
            unavailable_ms_mean / workload_ms as f64
        },
        latency,
        acked_per_sec: if secs > 0.0 {
            mean(&per_run(|r| r.acked)) / secs
        } else {
            0.0
        },
        findings,
    }
}

/// Invalid runs kept per cell with their reproduce line.
const FINDINGS_KEPT: usize = 5;

fn cell_from(
    config: CellConfig,
    (measured, latencies): (Vec<Measured>, Histogram),
    workload_ms: u64,
) -> Cell {
    let mut runs = Vec::new();
    let mut findings = Vec::new();
    for (result, finding) in measured {
        if findings.len() < FINDINGS_KEPT {
            findings.extend(finding);
        }
        runs.push(result);
    }
    let latency = Latency {
        p50_ms: percentile_of(&latencies, 50.0),
        p99_ms: percentile_of(&latencies, 99.0),
        max_ms: latencies.keys().next_back().copied().unwrap_or(0),
    };
    let summary = summarize(&runs, latency, findings, workload_ms);
    Cell {
        config,
        summary,
        runs,
    }
}

/// Run one planned cell over `seeds` (the test regenerates subsets with this).
pub fn run_cell(cell: &Planned, seeds: &[u64], jobs: usize) -> Cell {
    let measured = run_tasks(&[&cell.scenario], seeds, jobs)
        .pop()
        .expect("one cell");
    cell_from(
        cell.config.clone(),
        measured,
        cell.scenario.workload.duration_ms,
    )
}

/// The command line that makes this report.
pub fn command(p: &Params, out: &Path) -> String {
    let mut line = format!(
        "cargo run --release -- tradeoffs {} --seeds {}",
        sh(&p.scenario),
        p.seeds
    );
    if !p.rf.is_empty() {
        let rf: Vec<String> = p.rf.iter().map(|r| r.to_string()).collect();
        let _ = write!(line, " --rf {}", rf.join(","));
    }
    for s in &p.sets {
        let _ = write!(line, " --set {}", sh(s));
    }
    if let Some(f) = &p.server_properties {
        let _ = write!(line, " --server-properties {}", sh(f));
    }
    if let Some(f) = &p.producer_properties {
        let _ = write!(line, " --producer-properties {}", sh(f));
    }
    let _ = write!(line, " --out {}", sh(&out.display().to_string()));
    line
}

/// Plan, run every cell over every seed, and gather the numbers.
pub fn generate(opts: &Options) -> Result<Tradeoffs, InputError> {
    let p = &opts.params;
    if p.seeds == 0 {
        return Err(InputError {
            file: "--seeds".into(),
            line: None,
            column: None,
            key: None,
            message: "needs at least one seed".into(),
        });
    }
    let plan = plan(p)?;
    let seeds: Vec<u64> = (1..=p.seeds).collect();
    let scenarios: Vec<&Scenario> = plan.cells.iter().map(|c| &c.scenario).collect();
    let measured = run_tasks(&scenarios, &seeds, opts.jobs);
    let cells = plan
        .cells
        .iter()
        .zip(measured)
        .map(|(c, m)| cell_from(c.config.clone(), m, c.scenario.workload.duration_ms))
        .collect();
    let base = &plan.base;
    Ok(Tradeoffs {
        format: FORMAT,
        run_columns: RUN_COLUMNS.iter().map(|c| c.to_string()).collect(),
        command: command(p, &opts.out),
        params: p.clone(),
        scenario_name: base.name.clone(),
        scenario_description: base
            .description
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        distribution: distribution(base),
        workload_ms: base.workload.duration_ms,
        offered_per_sec: u64::from(base.workload.producers) * u64::from(base.workload.rate_per_sec),
        ignored: plan.ignored,
        applied: plan.applied,
        skipped: plan.skipped,
        cells,
    })
}

/// The banner's lines that describe the scenario (not the version, seed or overrides).
fn distribution(sc: &Scenario) -> Vec<String> {
    let mut sc = sc.clone();
    sc.overrides.clear();
    sc.ignored.clear();
    banner(&sc, 1)
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("seed ") && !l.starts_with("  |") && !l.starts_with("scenario "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

// ------------------------------------------------------------------------------- the CLI

/// `ksim tradeoffs`: exit 0 when the report is written, 1 when some run was invalid (the
/// report is written all the same), 2 for bad input or an unwritable `--out`.
pub fn main(opts: &Options) -> i32 {
    let started = std::time::Instant::now();
    let t = match generate(opts) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if let Err(e) = write(&t, &opts.out) {
        eprintln!("error: cannot write {}: {e}", opts.out.display());
        return 2;
    }
    let runs: u64 = t.cells.iter().map(|c| c.summary.runs).sum();
    print!("{}", headline(&t));
    for i in &t.ignored {
        println!("ignored    {i}");
    }
    println!(
        "wrote      {dir}/README.md, {dir}/index.html, {dir}/cells.json ({} cells, {runs} runs, {:.1} s wall)",
        t.cells.len(),
        started.elapsed().as_secs_f64(),
        dir = opts.out.display(),
    );
    let invalid: u64 = t.cells.iter().map(|c| c.summary.invalid_runs).sum();
    if invalid > 0 {
        println!("findings   {invalid} invalid run(s); each is listed with its reproduce line in README.md");
        1
    } else {
        0
    }
}

/// Write README.md, index.html and cells.json into `dir`, each atomically.
pub fn write(t: &Tradeoffs, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in [
        ("README.md", markdown(t)),
        ("index.html", html(t)),
        ("cells.json", json(t)),
    ] {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, path)?;
    }
    Ok(())
}

/// `cells.json`: pretty-printed, except that each run is one line.
pub fn json(t: &Tradeoffs) -> String {
    let mut head = t.clone();
    let mut runs = Vec::new();
    for c in &mut head.cells {
        runs.push(std::mem::take(&mut c.runs));
    }
    let mut value = serde_json::to_value(&head).expect("serializable");
    // Pretty-print the rest, then put each cell's runs back, one compact line per run.
    for (i, cell) in value["cells"]
        .as_array_mut()
        .expect("cells")
        .iter_mut()
        .enumerate()
    {
        cell["runs"] = serde_json::Value::String(format!("@RUNS{i}@"));
    }
    let mut out = serde_json::to_string_pretty(&value).expect("serializable");
    for (i, cell_runs) in runs.iter().enumerate() {
        let lines: Vec<String> = cell_runs
            .iter()
            .map(|r| {
                format!(
                    "        {}",
                    serde_json::to_string(r).expect("serializable")
                )
            })
            .collect();
        let block = if lines.is_empty() {
            "[]".to_string()
        } else {
            format!("[\n{}\n      ]", lines.join(",\n"))
        };
        out = out.replacen(&format!("\"@RUNS{i}@\""), &block, 1);
    }
    out.push('\n');
    out
}

/// Read a `cells.json`.
pub fn read(path: &Path) -> Result<Tradeoffs, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

// ------------------------------------------------------------------------------- rendering

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn ci_pct(ci: [f64; 2]) -> String {
    format!("{:.1}–{:.1}%", 100.0 * ci[0], 100.0 * ci[1])
}

fn num(x: f64) -> String {
    format!("{x:.2}")
}

fn secs(ms: f64) -> String {
    format!("{:.1} s", ms / 1000.0)
}

/// The grid cell with these settings (clean election, no flush, the first replication factor).
fn find<'t>(t: &'t Tradeoffs, acks: &str, min_isr: usize) -> Option<&'t Cell> {
    t.cells.iter().find(|c| {
        let k = &c.config;
        !k.yours
            && k.acks == acks
            && k.min_insync_replicas == min_isr
            && !k.unclean_leader_election_enable
            && k.flush == "never"
    })
}

fn loss_sentence(c: &Cell) -> String {
    let s = &c.summary;
    format!(
        "lost acknowledged writes in {} of {} runs ({}, 95% CI {}), {} per run on average (95% CI {}–{}), at most {} in one run",
        s.runs_with_loss,
        s.runs,
        pct(s.loss_share),
        ci_pct(s.loss_share_ci),
        num(s.lost_mean),
        num(s.lost_mean_ci[0]),
        num(s.lost_mean_ci[1]),
        s.lost_max
    )
}

/// The answer in a few lines: the two classic settings, and the user's own.
pub fn headline(t: &Tradeoffs) -> String {
    let mut s = String::new();
    if let Some(c) = t.cells.iter().find(|c| c.config.yours) {
        let _ = writeln!(
            s,
            "yours      {} {}",
            c.config.label.trim_start_matches("yours: "),
            loss_sentence(c)
        );
        let _ = writeln!(
            s,
            "           unavailable {} per run on average ({} of the workload); produce latency p50 {} ms, p99 {} ms; {} invalid run(s)",
            secs(c.summary.unavailable_ms_mean),
            pct(c.summary.unavailable_share),
            c.summary.latency.p50_ms,
            c.summary.latency.p99_ms,
            c.summary.invalid_runs
        );
    }
    for (acks, min_isr) in [("1", 1), ("all", 2)] {
        if let Some(c) = find(t, acks, min_isr) {
            let _ = writeln!(
                s,
                "grid       acks={acks} min.insync.replicas={min_isr} (clean election, no flush) {}",
                loss_sentence(c)
            );
        }
    }
    s
}

/// A table both renderers draw: header, and rows with a flag for the user's row.
struct Table {
    header: Vec<&'static str>,
    rows: Vec<(bool, Vec<String>)>,
}

impl Table {
    fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "| {} |", self.header.join(" | "));
        let _ = writeln!(
            s,
            "|{}",
            self.header.iter().map(|_| "---|").collect::<String>()
        );
        for (yours, row) in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|c| {
                    if *yours && !c.is_empty() {
                        format!("**{c}**")
                    } else {
                        c.clone()
                    }
                })
                .collect();
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        }
        s
    }

    fn html(&self) -> String {
        let mut s = String::from("<table>\n<thead><tr>");
        for h in &self.header {
            let _ = write!(s, "<th>{}</th>", esc(h));
        }
        s.push_str("</tr></thead>\n<tbody>\n");
        for (yours, row) in &self.rows {
            s.push_str(if *yours {
                "<tr class=\"yours\">"
            } else {
                "<tr>"
            });
            for c in row {
                let _ = write!(s, "<td>{}</td>", esc(c));
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody>\n</table>\n");
        s
    }
}

fn config_columns(c: &CellConfig, with_rf: bool) -> Vec<String> {
    let mut v = vec![if c.yours {
        "yours".to_string()
    } else {
        String::new()
    }];
    if with_rf {
        v.push(c.replication_factor.to_string());
    }
    v.extend([
        c.acks.clone(),
        c.min_insync_replicas.to_string(),
        if c.unclean_leader_election_enable {
            "on"
        } else {
            "off"
        }
        .to_string(),
        c.flush.clone(),
    ]);
    v
}

fn several_rf(t: &Tradeoffs) -> bool {
    let first = t.cells.first().map(|c| c.config.replication_factor);
    t.cells
        .iter()
        .any(|c| Some(c.config.replication_factor) != first)
}

fn header(with_rf: bool, rest: &[&'static str]) -> Vec<&'static str> {
    let mut h = vec![""];
    if with_rf {
        h.push("RF");
    }
    h.extend(["acks", "min.insync.replicas", "unclean election", "flush"]);
    h.extend(rest);
    h
}

fn loss_table(t: &Tradeoffs) -> Table {
    let with_rf = several_rf(t);
    let rows = t
        .cells
        .iter()
        .map(|c| {
            let s = &c.summary;
            let mut row = config_columns(&c.config, with_rf);
            let checkers: Vec<String> = s
                .invalid_by_checker
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            row.extend([
                format!("{} / {}", s.runs_with_loss, s.runs),
                format!("{} ({})", pct(s.loss_share), ci_pct(s.loss_share_ci)),
                format!(
                    "{} ({}–{})",
                    num(s.lost_mean),
                    num(s.lost_mean_ci[0]),
                    num(s.lost_mean_ci[1])
                ),
                s.lost_max.to_string(),
                s.unclean_elections.to_string(),
                if s.invalid_runs == 0 {
                    "0".to_string()
                } else {
                    format!("{} ({})", s.invalid_runs, checkers.join(", "))
                },
            ]);
            (c.config.yours, row)
        })
        .collect();
    Table {
        header: header(
            with_rf,
            &[
                "runs with loss",
                "share (95% CI)",
                "lost per run (95% CI)",
                "max lost",
                "unclean elections",
                "invalid runs",
            ],
        ),
        rows,
    }
}

fn cost_table(t: &Tradeoffs) -> Table {
    let with_rf = several_rf(t);
    let rows = t
        .cells
        .iter()
        .map(|c| {
            let s = &c.summary;
            let mut row = config_columns(&c.config, with_rf);
            row.extend([
                secs(s.unavailable_ms_mean),
                pct(s.unavailable_share),
                secs(s.unavailable_ms_max as f64),
                format!("{} ms", s.latency.p50_ms),
                format!("{} ms", s.latency.p99_ms),
                format!("{} ms", s.latency.max_ms),
                format!("{:.1}", s.acked_per_sec),
            ]);
            (c.config.yours, row)
        })
        .collect();
    Table {
        header: header(
            with_rf,
            &[
                "unavailable per run",
                "of the workload",
                "worst run",
                "latency p50",
                "p99",
                "max",
                "acked/s",
            ],
        ),
        rows,
    }
}

fn summary_lines(t: &Tradeoffs) -> Vec<String> {
    let mut lines = Vec::new();
    let (a1, all2) = (find(t, "1", 1), find(t, "all", 2));
    if let Some(c) = t.cells.iter().find(|c| c.config.yours) {
        lines.push(format!(
            "**Your configuration** ({}) {}; it was unavailable {} per run on average and its produce latency p99 was {} ms.",
            c.config.label.trim_start_matches("yours: "),
            loss_sentence(c),
            secs(c.summary.unavailable_ms_mean),
            c.summary.latency.p99_ms
        ));
    }
    if let Some(c) = a1 {
        lines.push(format!(
            "`acks=1` with `min.insync.replicas=1` (clean election, no flush) {}.",
            loss_sentence(c)
        ));
    }
    if let Some(c) = all2 {
        lines.push(format!(
            "`acks=all` with `min.insync.replicas=2` (clean election, no flush) {}.",
            loss_sentence(c)
        ));
    }
    if let (Some(a), Some(b)) = (a1, all2) {
        lines.push(format!(
            "The price of `acks=all` with `min.insync.replicas=2`: no acknowledgement for {} per run on average ({} of the workload) against {} ({}) for `acks=1`; produce latency p50 {} ms against {} ms, p99 {} ms against {} ms; {:.1} against {:.1} acknowledged writes per second.",
            secs(b.summary.unavailable_ms_mean),
            pct(b.summary.unavailable_share),
            secs(a.summary.unavailable_ms_mean),
            pct(a.summary.unavailable_share),
            b.summary.latency.p50_ms,
            a.summary.latency.p50_ms,
            b.summary.latency.p99_ms,
            a.summary.latency.p99_ms,
            b.summary.acked_per_sec,
            a.summary.acked_per_sec,
        ));
    }
    let safe: Vec<&str> = t
        .cells
        .iter()
        .filter(|c| !c.config.yours && c.summary.runs_with_loss == 0)
        .map(|c| c.config.label.as_str())
        .collect();
    if !safe.is_empty() {
        lines.push(format!(
            "Lost nothing in any run: {}.",
            safe.iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let same = identical_rows(t);
    if !same.is_empty() {
        lines.push(format!(
            "Rows whose runs gave the same numbers, seed for seed (the setting that differs between them changed nothing these faults could show): {}.",
            same.iter()
                .map(|g| g.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(" = "))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    let invalid: u64 = t.cells.iter().map(|c| c.summary.invalid_runs).sum();
    lines.push(if invalid == 0 {
        "No run broke a promise Kafka makes for its configuration: every loss above is one the configuration allows (the checker's `lost-but-allowed`).".to_string()
    } else {
        format!("{invalid} run(s) broke a promise Kafka makes for their configuration: see Findings.")
    });
    lines
}

/// Groups of two or more rows whose runs gave the same numbers, seed for seed (the trace
/// hashes may differ: the configuration is part of some traced events).
fn identical_rows(t: &Tradeoffs) -> Vec<Vec<&str>> {
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for c in &t.cells {
        let numbers: Vec<SeedResult> = c
            .runs
            .iter()
            .map(|r| SeedResult {
                trace_hash: String::new(),
                ..r.clone()
            })
            .collect();
        let key = serde_json::to_string(&numbers).expect("serializable");
        groups.entry(key).or_default().push(c.config.label.as_str());
    }
    let mut same: Vec<Vec<&str>> = groups.into_values().filter(|g| g.len() > 1).collect();
    // In the order of the rows.
    let position = |l: &str| t.cells.iter().position(|c| c.config.label == l);
    same.sort_by_key(|g| position(g[0]));
    same
}

/// The definitions, shared by both renderers (Markdown with backticks; HTML strips them).
fn definitions(t: &Tradeoffs) -> Vec<(&'static str, String)> {
    vec![
        ("Lost", "acknowledged writes (an `ok` in the client history) that are not in the final committed log after the workload stopped, every broker was restarted and the cluster settled: the checker's lost-but-allowed plus lost-violating. A loss is allowed when the configuration permits it (`acks=1` and the leader failed before followers fetched; every replica holding the write lost power before flushing; an unclean election); any other loss is a violation.".into()),
        ("Runs with loss", "the share of runs that lost at least one acknowledged write, with a 95% Wilson score interval (it stays honest at 0 and at the number of runs: 0 of n runs still gives an upper bound).".into()),
        ("Lost per run", format!("the mean over runs of acknowledged writes lost, with a 95% percentile-bootstrap interval: {BOOTSTRAP_RESAMPLES} resamples of the runs with replacement, drawn from ChaCha8 seeded with {BOOTSTRAP_SEED} (so the interval is the same on every regeneration). With no loss in any run the interval is 0–0; read the Wilson interval of the share for an upper bound.")),
        ("Invalid runs", "runs whose verdict is INVALID (a violated invariant, a panic, or a stall), by the checker that found them; a run may count under several checkers.".into()),
        ("Unavailable", format!("simulated time within the {:.0} s workload during which the producer got no acknowledgement for more than {UNAVAILABLE_GAP_MS} ms: each such stretch between two acknowledgements (or from the last one to the end of the workload) counts in full. This covers the three ways a Kafka partition is unavailable to a producer: no partition leader (the producer's metadata names none, so it has nowhere to send), produce errors (`NOT_ENOUGH_REPLICAS`, `NOT_LEADER_OR_FOLLOWER`, a connection reset by a crashed leader), and `acks=all` writes held until the HW passes them while a dead follower is still in the ISR (until `replica.lag.time.max.ms` removes it) or timed out by `request.timeout.ms`. The stretch before the first acknowledgement (the cluster starting) does not count. Measured over all producers and partitions together.", t.workload_ms as f64 / 1000.0)),
        ("Latency", "from a write's invoke to its `ok` in the client history, in simulated ms, pooled over every acknowledged write of every run of the cell (nearest-rank percentiles). Failed and unknown writes are not in it: they show up as unavailability.".into()),
        ("Acked/s", format!("acknowledged writes per simulated second of workload, mean over runs. The producers offer {} writes/s, so this measures how much of the offered load got through, not the cluster's capacity.", t.offered_per_sec)),
    ]
}

fn findings(t: &Tradeoffs) -> Vec<(&Cell, &Finding)> {
    t.cells
        .iter()
        .flat_map(|c| c.summary.findings.iter().map(move |f| (c, f)))
        .collect()
}

/// README.md.
pub fn markdown(t: &Tradeoffs) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# What each replication setting can lose: `{}`\n",
        t.scenario_name
    );
    let _ = writeln!(
        s,
        "Generated by `ksim tradeoffs` (`index.html` has the same numbers with charts; `cells.json` has every number, per seed):\n\n```\n{}\n```\n",
        t.command
    );
    let _ = writeln!(
        s,
        "Each row ran seeds 1 to {} of the same fault distribution. Every number is measured in simulated time and depends only on the seeds and the code: regenerating gives the same files, byte for byte, with any `--jobs`. Any run replays with the line under Replay.\n",
        t.params.seeds
    );
    s.push_str("## In short\n\n");
    for l in summary_lines(t) {
        let _ = writeln!(s, "- {l}");
    }
    s.push_str("\n## The fault distribution\n\n");
    let _ = writeln!(
        s,
        "Scenario `{}`: {}\n",
        t.scenario_name, t.scenario_description
    );
    s.push_str(
        "Every row runs this scenario with the row's settings in place of its own:\n\n```\n",
    );
    for l in &t.distribution {
        let _ = writeln!(s, "{l}");
    }
    s.push_str("```\n\n");
    if !t.params.sets.is_empty() {
        let _ = writeln!(
            s,
            "Overrides applied to every row: {}.\n",
            t.params
                .sets
                .iter()
                .map(|x| format!("`{x}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !t.skipped.is_empty() {
        let _ = writeln!(s, "Not run: {}.\n", t.skipped.join("; "));
    }
    write_yours_md(t, &mut s);
    s.push_str("## What it can lose\n\n");
    s.push_str(&loss_table(t).markdown());
    s.push_str("\n## What it costs\n\n");
    s.push_str(&cost_table(t).markdown());
    let found = findings(t);
    if !found.is_empty() {
        s.push_str("\n## Findings\n\n");
        for (c, f) in found {
            let _ = writeln!(
                s,
                "- `{}` seed {}: **{}**: {}\n  `{}`",
                c.config.label, f.seed, f.checker, f.message, f.reproduce
            );
        }
    }
    s.push_str("\n## What is measured\n\n");
    for (term, text) in definitions(t) {
        let _ = writeln!(s, "- **{term}**: {text}");
    }
    s.push_str("\n## Replay\n\nAny run of a row (replace N by its seed):\n\n");
    for c in &t.cells {
        let _ = writeln!(s, "- `{}`: `{}`", c.config.label, c.config.replay);
    }
    s
}

fn write_yours_md(t: &Tradeoffs, s: &mut String) {
    if !t.cells.iter().any(|c| c.config.yours) {
        return;
    }
    s.push_str("## Your configuration\n\n");
    s.push_str("The first row (**yours**) runs your properties files on the same faults. Where your files do not set `acks`, `min.insync.replicas`, `unclean.leader.election.enable` or a flush interval, Kafka's defaults apply (`acks=all`, `min.insync.replicas=1`, unclean election off, no flush), not the scenario's. The grid rows use your files too, with the grid's settings in place of those keys.\n\n");
    if !t.applied.is_empty() {
        let _ = writeln!(
            s,
            "Applied from your files: {}.\n",
            t.applied
                .iter()
                .map(|x| format!("`{x}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !t.ignored.is_empty() {
        s.push_str("Ignored (the simulation does not model them):\n\n");
        for i in &t.ignored {
            // "key=value (file: why)": the setting as code, the reason as text.
            match i.split_once(" (") {
                Some((kv, why)) => {
                    let _ = writeln!(s, "- `{kv}` ({why}");
                }
                None => {
                    let _ = writeln!(s, "- `{i}`");
                }
            }
        }
        s.push('\n');
    }
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Markdown's `code` and **bold** as HTML, after escaping.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in esc(text).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            for (j, p) in part.split("**").enumerate() {
                if j % 2 == 1 {
                    let _ = write!(out, "<strong>{p}</strong>");
                } else {
                    out.push_str(p);
                }
            }
        }
    }
    out
}

const CSS: &str = "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}\
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 7px;text-align:left}\
th{background:#f0f0f0}tr.yours td{background:#fff3c4;font-weight:bold}code,pre{background:#f6f6f6;font-size:13px}\
pre{padding:.6em;overflow-x:auto}.chart{margin:1em 0}";

/// index.html: self-contained, no script, no external resource.
pub fn html(t: &Tradeoffs) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>ksim tradeoffs: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&t.scenario_name)
    );
    let _ = writeln!(
        s,
        "<h1>What each replication setting can lose: <code>{}</code></h1>",
        esc(&t.scenario_name)
    );
    let _ = writeln!(
        s,
        "<p>Generated by <code>ksim tradeoffs</code>; each row ran seeds 1 to {} of the same fault distribution, in simulated time:</p>\n<pre>{}</pre>",
        t.params.seeds,
        esc(&t.command)
    );
    s.push_str("<h2>In short</h2>\n<ul>\n");
    for l in summary_lines(t) {
        let _ = writeln!(s, "<li>{}</li>", inline(&l));
    }
    s.push_str("</ul>\n");
    for chart in charts(t) {
        let _ = writeln!(s, "<div class=\"chart\">{chart}</div>");
    }
    s.push_str("<h2>The fault distribution</h2>\n");
    let _ = writeln!(
        s,
        "<p>Scenario <code>{}</code>: {}</p>\n<pre>{}</pre>",
        esc(&t.scenario_name),
        esc(&t.scenario_description),
        esc(&t.distribution.join("\n"))
    );
    if !t.params.sets.is_empty() {
        let _ = writeln!(
            s,
            "<p>Overrides applied to every row: {}</p>",
            inline(
                &t.params
                    .sets
                    .iter()
                    .map(|x| format!("`{x}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        );
    }
    if !t.skipped.is_empty() {
        let _ = writeln!(s, "<p>Not run: {}</p>", esc(&t.skipped.join("; ")));
    }
    let mut yours = String::new();
    write_yours_md(t, &mut yours);
    for para in yours.split("\n\n").filter(|p| !p.trim().is_empty()) {
        if let Some(h) = para.strip_prefix("## ") {
            let _ = writeln!(s, "<h2>{}</h2>", esc(h));
        } else if para.starts_with("- ") {
            s.push_str("<ul>\n");
            for item in para.lines() {
                let _ = writeln!(s, "<li>{}</li>", inline(item.trim_start_matches("- ")));
            }
            s.push_str("</ul>\n");
        } else {
            let _ = writeln!(s, "<p>{}</p>", inline(para));
        }
    }
    s.push_str("<h2>What it can lose</h2>\n");
    s.push_str(&loss_table(t).html());
    s.push_str("<h2>What it costs</h2>\n");
    s.push_str(&cost_table(t).html());
    let found = findings(t);
    if !found.is_empty() {
        s.push_str("<h2>Findings</h2>\n<ul>\n");
        for (c, f) in found {
            let _ = writeln!(
                s,
                "<li><code>{}</code> seed {}: <strong>{}</strong>: {}<br><code>{}</code></li>",
                esc(&c.config.label),
                f.seed,
                esc(&f.checker),
                esc(&f.message),
                esc(&f.reproduce)
            );
        }
        s.push_str("</ul>\n");
    }
    s.push_str("<h2>What is measured</h2>\n<ul>\n");
    for (term, text) in definitions(t) {
        let _ = writeln!(
            s,
            "<li><strong>{}</strong>: {}</li>",
            esc(term),
            inline(&text)
        );
    }
    s.push_str("</ul>\n<h2>Replay</h2>\n<p>Any run of a row (replace N by its seed):</p>\n<ul>\n");
    for c in &t.cells {
        let _ = writeln!(
            s,
            "<li><code>{}</code>: <code>{}</code></li>",
            esc(&c.config.label),
            esc(&c.config.replay)
        );
    }
    s.push_str("</ul>\n</body>\n</html>\n");
    s
}

// ------------------------------------------------------------------------------- charts

/// One horizontal bar: its value, an optional interval (whisker) and whether it is the
/// user's row.
struct Bar {
    value: f64,
    whisker: Option<[f64; 2]>,
    yours: bool,
    text: String,
}

/// A bar's value, whisker and text, from a cell's summary.
type BarValue = (f64, Option<[f64; 2]>, String);

fn charts(t: &Tradeoffs) -> Vec<String> {
    let labels: Vec<String> = t.cells.iter().map(|c| c.config.label.clone()).collect();
    let bars = |f: &dyn Fn(&Summary) -> BarValue| -> Vec<Bar> {
        t.cells
            .iter()
            .map(|c| {
                let (value, whisker, text) = f(&c.summary);
                Bar {
                    value,
                    whisker,
                    yours: c.config.yours,
                    text,
                }
            })
            .collect()
    };
    vec![
        bar_chart(
            "Runs that lost acknowledged writes (95% Wilson interval)",
            "% of runs",
            &labels,
            &bars(&|s| {
                (
                    100.0 * s.loss_share,
                    Some([100.0 * s.loss_share_ci[0], 100.0 * s.loss_share_ci[1]]),
                    format!("{}/{}", s.runs_with_loss, s.runs),
                )
            }),
        ),
        bar_chart(
            "Acknowledged writes lost per run, mean (95% bootstrap interval)",
            "writes per run",
            &labels,
            &bars(&|s| (s.lost_mean, Some(s.lost_mean_ci), num(s.lost_mean))),
        ),
        bar_chart(
            &format!("Unavailable per run, mean: no acknowledgement for more than {UNAVAILABLE_GAP_MS} ms"),
            "simulated seconds per run",
            &labels,
            &bars(&|s| {
                (
                    s.unavailable_ms_mean / 1000.0,
                    None,
                    secs(s.unavailable_ms_mean),
                )
            }),
        ),
        bar_chart(
            "Produce latency p99 (simulated ms; the label adds p50)",
            "ms",
            &labels,
            &bars(&|s| {
                (
                    s.latency.p99_ms as f64,
                    None,
                    format!("p99 {} / p50 {}", s.latency.p99_ms, s.latency.p50_ms),
                )
            }),
        ),
    ]
}

/// A horizontal bar chart as an SVG string (plotters' SVG backend; text is left to the
/// browser's sans-serif font, so no font library is needed to draw it).
fn bar_chart(title: &str, x_desc: &str, labels: &[String], bars: &[Bar]) -> String {
    use plotters::prelude::*;
    let n = bars.len();
    let height = 70 + 24 * n as u32;
    let top = bars
        .iter()
        .map(|b| b.whisker.map_or(b.value, |w| w[1].max(b.value)))
        .fold(0.0f64, f64::max);
    let x_max = if top > 0.0 { top * 1.25 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, height)).into_drawing_area();
        let drawn: Result<(), Box<dyn std::error::Error>> = (|| {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 16))
                .margin(8)
                .x_label_area_size(36)
                .y_label_area_size(270)
                .build_cartesian_2d(0f64..x_max, (0..n as i32).into_segmented())?;
            let label_of = |v: &SegmentValue<i32>| match v {
                SegmentValue::CenterOf(i) if (*i as usize) < n => {
                    labels[n - 1 - *i as usize].clone()
                }
                _ => String::new(),
            };
            chart
                .configure_mesh()
                .disable_y_mesh()
                .light_line_style(RGBColor(242, 242, 242))
                .y_labels(n)
                .y_label_formatter(&label_of)
                .x_desc(x_desc)
                .label_style(("sans-serif", 12))
                .draw()?;
            let row = |i: usize| (n - 1 - i) as i32;
            chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
                let color = if b.yours {
                    RGBColor(214, 120, 0)
                } else {
                    RGBColor(70, 110, 170)
                };
                let mut r = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(row(i))),
                        (b.value, SegmentValue::Exact(row(i) + 1)),
                    ],
                    color.filled(),
                );
                r.set_margin(4, 4, 0, 0);
                r
            }))?;
            for (i, b) in bars.iter().enumerate() {
                let y = SegmentValue::CenterOf(row(i));
                if let Some([lo, hi]) = b.whisker {
                    let style = BLACK.stroke_width(1);
                    chart.draw_series([PathElement::new(
                        vec![(lo, y.clone()), (hi, y.clone())],
                        style,
                    )])?;
                    for x in [lo, hi] {
                        chart.draw_series([EmptyElement::at((x, y.clone()))
                            + PathElement::new(vec![(0, -5), (0, 5)], style)])?;
                    }
                }
                let end = b.whisker.map_or(b.value, |w| w[1].max(b.value));
                chart.draw_series([EmptyElement::at((end, y))
                    + Text::new(b.text.clone(), (6, -6), ("sans-serif", 11))])?;
            }
            root.present()?;
            Ok(())
        })();
        if let Err(e) = drawn {
            // Drawing into a string cannot fail for lack of resources; say so if it ever does.
            return format!("<p>chart not drawn: {}</p>", esc(&e.to_string()));
        }
    }
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_interval_matches_known_values() {
        let [lo, hi] = wilson(0, 50);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.0713).abs() < 1e-3, "{hi}");
        let [lo, hi] = wilson(11, 50);
        assert!((lo - 0.1275).abs() < 1e-3, "{lo}");
        assert!((hi - 0.3522).abs() < 1e-3, "{hi}");
        assert_eq!(wilson(5, 5)[1], 1.0);
    }

    #[test]
    fn bootstrap_is_deterministic_and_brackets_the_mean() {
        let xs = [0, 0, 1, 3, 0, 2, 0, 0, 5, 0];
        let a = bootstrap_mean(&xs);
        assert_eq!(a, bootstrap_mean(&xs));
        assert!(a[0] <= 1.1 && 1.1 <= a[1], "{a:?}");
        assert_eq!(bootstrap_mean(&[0; 20]), [0.0, 0.0]);
    }

    #[test]
    fn unavailability_counts_only_long_silences() {
        // Acks every 10 ms, then a 3 s silence, then acks again until 10 s.
        let mut oks: Vec<u64> = (100..2000).step_by(10).collect();
        oks.extend((4990..10_000).step_by(10));
        assert_eq!(unavailable_ms(&oks, 10_000), 4990 - 1990);
        // Nothing after 8 s: the last 2 s count.
        let oks: Vec<u64> = (100..8000).step_by(10).collect();
        assert_eq!(unavailable_ms(&oks, 10_000), 10_000 - 7990);
        assert_eq!(unavailable_ms(&[], 10_000), 10_000);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let xs: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&xs, 50.0), 50);
        assert_eq!(percentile(&xs, 99.0), 99);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
        let hist: Histogram = xs.iter().map(|x| (*x, 1)).collect();
        assert_eq!(percentile_of(&hist, 50.0), 50);
        assert_eq!(percentile_of(&hist, 99.0), 99);
        let skewed: Histogram = [(10, 98), (500, 1), (9000, 1)].into();
        assert_eq!(percentile_of(&skewed, 99.0), 500);
        assert_eq!(percentile_of(&Histogram::new(), 50.0), 0);
    }
}
