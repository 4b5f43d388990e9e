//! `ksim tradeoffs`: what each replication setting can lose and what it costs, under one fault
//! distribution. A grid over `acks` x `min.insync.replicas` x `unclean.leader.election.enable` x
//! flush policy (x replication factor), every cell run over the same seeds; per cell the
//! acknowledged writes lost with 95% confidence intervals, violations, unavailability, produce
//! latency and throughput, all in simulated time. Optionally the user's own Kafka properties as
//! one more row. Writes `README.md`, a self-contained `index.html` with SVG charts (plotters) and
//! `cells.json` (every number, per seed), none of which depends on `--jobs` or the wall clock.

mod html;
mod markdown;
mod measure;

pub use html::*;
pub use markdown::*;
pub use measure::*;

use ksim_model::Named;
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
use crate::scenario::parse::{load, set, validate_overrides, InputError};
use crate::scenario::properties::apply_set_or_ignore;
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
const NEVER: i64 = i64::MAX;

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

impl Params {
    /// The `--set` overrides as the report lists them: `` `k=v`, `k=v` ``.
    pub fn sets_listed(&self) -> String {
        let quoted: Vec<String> = self.sets.iter().map(|x| format!("`{x}`")).collect();
        quoted.join(", ")
    }
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

/// Set `key` only where it changes the scenario, so replay lines stay short.
fn set_if_changed(
    sc: &mut Scenario,
    key: &str,
    value: impl Into<toml_edit::Value>,
) -> Result<(), InputError> {
    let mut probe = sc.clone();
    set(&mut probe, key, value)?;
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
    kafka_defaults(&mut yours)?;
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
        apply_set_or_ignore(&mut base, s)?;
        apply_set_or_ignore(&mut yours, s)?;
    }
    let rfs = if p.rf.is_empty() {
        vec![base.replication_factor]
    } else {
        p.rf.clone()
    };
    let mut cells = Vec::new();
    if with_props {
        validate_overrides(&yours)?;
        let config = describe(&yours, true, false);
        cells.push(Planned {
            config,
            scenario: yours,
        });
    }
    let mut skipped = Vec::new();
    grid(&base, p, &rfs, &mut cells, &mut skipped)?;
    Ok(Plan {
        cells,
        skipped,
        base,
        ignored,
        applied,
    })
}

/// Kafka's defaults for the grid's keys.
fn kafka_defaults(sc: &mut Scenario) -> Result<(), InputError> {
    set_if_changed(sc, "acks", "all")?;
    set_if_changed(sc, "min.insync.replicas", 1)?;
    set_if_changed(sc, "unclean.leader.election.enable", false)?;
    set_if_changed(sc, "log.flush.interval.messages", NEVER)?;
    set_if_changed(sc, "log.flush.interval.ms", NEVER)
}

/// One cell per replication factor, acks, min.insync.replicas, unclean election and flush
/// policy; a min.insync.replicas above the replication factor is skipped and said so.
fn grid(
    base: &Scenario,
    p: &Params,
    rfs: &[i32],
    cells: &mut Vec<Planned>,
    skipped: &mut Vec<String>,
) -> Result<(), InputError> {
    for &rf in rfs {
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
                            set_if_changed(&mut sc, "default.replication.factor", i64::from(rf))?;
                        }
                        set_if_changed(&mut sc, "acks", acks.name())?;
                        set_if_changed(&mut sc, "min.insync.replicas", min_isr as i64)?;
                        set_if_changed(&mut sc, "unclean.leader.election.enable", unclean)?;
                        let flush = if every { 1 } else { NEVER };
                        set_if_changed(&mut sc, "log.flush.interval.messages", flush)?;
                        validate_overrides(&sc)?;
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
    Ok(())
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
    let files = [
        ("README.md", markdown(t)),
        ("index.html", html(t)),
        ("cells.json", json(t)),
    ];
    write_files(dir, &files)
}

/// Write each (name, text) into `dir`, each atomically (a temporary file, then a rename).
pub fn write_files(dir: &Path, files: &[(&str, String)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in files {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, dir.join(name))?;
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
