//! `ksim tradeoffs --coordinator`: why Kafka moved from ZooKeeper to KRaft, measured. The same
//! workload and scripted faults under both coordinators, at several partition counts, each
//! cell over the same seeds: how long until another controller takes over, how long until
//! every partition has a leader again after each fault, how long a leader decision takes to
//! reach the brokers, how long producers got no acknowledgement, and what was lost or
//! duplicated, with 95% confidence intervals. Writes `README.md`, `index.html` (SVG charts) and
//! `cells.json`; none depends on `--jobs` or the wall clock.

mod measure;
mod report;

pub use measure::*;
pub use report::*;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use ksim_model::Named;
use serde::{Deserialize, Serialize};

use crate::campaign::tradeoffs::{bootstrap_mean, wilson, write_files, Finding};
use crate::check::check;
use crate::cluster::ctx::lock;
use crate::cluster::run::run;
use crate::report::output::reproduce_line;
use crate::scenario::parse::{apply_set, load, validate, InputError};
use crate::scenario::Scenario;

/// The version of the `cells.json` layout.
pub const FORMAT: u32 = 1;
/// The coordinators compared, in the report's order.
pub const COORDINATORS: [&str; 2] = ["kraft", "zookeeper"];

/// What decides the numbers (stored in `cells.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub scenario: String,
    pub sets: Vec<String>,
    pub seeds: u64,
    pub partitions: Vec<u32>,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub params: Params,
    pub jobs: usize,
    pub out: PathBuf,
}

/// A mean over runs with its 95% percentile-bootstrap interval and the largest run; `runs`
/// says how many runs had the value (a takeover that never came is not a zero).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub mean: f64,
    pub ci: [f64; 2],
    pub max: u64,
    pub runs: u64,
}

impl Metric {
    pub fn of(xs: &[u64]) -> Metric {
        let n = xs.len() as f64;
        Metric {
            mean: if xs.is_empty() {
                0.0
            } else {
                xs.iter().sum::<u64>() as f64 / n
            },
            ci: bootstrap_mean(xs),
            max: xs.iter().copied().max().unwrap_or(0),
            runs: xs.len() as u64,
        }
    }
}

/// A cell's numbers over its runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub runs: u64,
    pub invalid_runs: u64,
    /// Per scripted fault.
    pub takeover: Vec<Metric>,
    pub leaders_back: Vec<Metric>,
    pub metadata_lag_p50: Metric,
    pub metadata_lag_max: Metric,
    pub metadata_unreached: u64,
    pub unavailable: Metric,
    pub lost: Metric,
    pub runs_with_loss: u64,
    pub loss_share_ci: [f64; 2],
    pub duplicates: Metric,
    pub findings: Vec<Finding>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub coordinator: String,
    pub partitions: u32,
    /// How to replay one of its runs (replace N by the seed).
    pub replay: String,
    pub summary: Summary,
    pub runs: Vec<CoordRun>,
}

/// Everything the report shows; `cells.json` is this.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coordinators {
    pub format: u32,
    pub command: String,
    pub params: Params,
    pub scenario_name: String,
    pub scenario_description: String,
    /// Each scripted fault: its time and what it does.
    pub faults: Vec<(u64, String)>,
    pub workload_ms: u64,
    pub cells: Vec<Cell>,
}

/// The cells: every coordinator at every partition count, the `--set` keys applied first.
fn plan(p: &Params) -> Result<Vec<(String, u32, Scenario)>, InputError> {
    let base = load(&p.scenario)?;
    if base.faults.script.is_empty() {
        return Err(InputError {
            file: p.scenario.clone(),
            line: None,
            column: None,
            key: Some("faults.script".into()),
            message: "the coordinator comparison measures each scripted fault: give at least one `[[faults.script]]`".into(),
        });
    }
    let mut cells = Vec::new();
    for coordinator in COORDINATORS {
        for &n in &p.partitions {
            let mut sc = base.clone();
            for s in &p.sets {
                apply_set(&mut sc, s)?;
            }
            apply_set(&mut sc, &format!("coordinator={coordinator}"))?;
            apply_set(&mut sc, &format!("num.partitions={n}"))?;
            validate(&sc, &p.scenario)?;
            cells.push((coordinator.to_string(), n, sc));
        }
    }
    Ok(cells)
}

/// Run every (cell, seed) on `jobs` threads; results in task order, whatever finished first.
fn run_all(
    cells: &[(String, u32, Scenario)],
    seeds: &[u64],
    jobs: usize,
) -> Vec<Vec<(CoordRun, Option<Finding>)>> {
    let tasks: Vec<(usize, u64)> = (0..cells.len())
        .flat_map(|c| seeds.iter().map(move |s| (c, *s)))
        .collect();
    let slots: Vec<Mutex<Option<(CoordRun, Option<Finding>)>>> =
        tasks.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, tasks.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(c, seed)) = tasks.get(i) else {
                    return;
                };
                *lock(&slots[i]) = Some(run_one(&cells[c].2, seed));
            });
        }
    });
    let mut out: Vec<Vec<_>> = cells.iter().map(|_| Vec::new()).collect();
    for ((c, _), slot) in tasks.iter().zip(slots) {
        let done = slot.into_inner().unwrap_or_else(|e| e.into_inner());
        out[*c].push(done.expect("every task ran"));
    }
    out
}

fn run_one(sc: &Scenario, seed: u64) -> (CoordRun, Option<Finding>) {
    let faults: Vec<u64> = sc.faults.script.iter().map(|f| f.at_ms).collect();
    let out = run(seed, sc);
    let report = check(&out);
    let measured = measure(&out, &report, &faults);
    let finding = report.violations.first().map(|v| Finding {
        seed,
        checker: v.checker.to_string(),
        message: v.message.chars().take(400).collect(),
        reproduce: reproduce_line(sc, seed),
    });
    (measured, finding)
}

fn summarize(runs: &[CoordRun], findings: Vec<Finding>, faults: usize) -> Summary {
    let col = |f: &dyn Fn(&CoordRun) -> u64| runs.iter().map(f).collect::<Vec<u64>>();
    let per_fault = |i: usize, f: &dyn Fn(&CoordRun, usize) -> Option<u64>| {
        Metric::of(&runs.iter().filter_map(|r| f(r, i)).collect::<Vec<u64>>())
    };
    let with_loss = runs.iter().filter(|r| r.lost > 0).count() as u64;
    Summary {
        runs: runs.len() as u64,
        invalid_runs: runs.iter().filter(|r| r.verdict == "invalid").count() as u64,
        takeover: (0..faults)
            .map(|i| per_fault(i, &|r, i| r.takeover_ms[i]))
            .collect(),
        leaders_back: (0..faults)
            .map(|i| per_fault(i, &|r, i| Some(r.leaders_back_ms[i])))
            .collect(),
        metadata_lag_p50: Metric::of(&col(&|r| r.metadata_lag_p50_ms)),
        metadata_lag_max: Metric::of(&col(&|r| r.metadata_lag_max_ms)),
        metadata_unreached: runs.iter().map(|r| r.metadata_unreached).sum(),
        unavailable: Metric::of(&col(&|r| r.unavailable_ms)),
        lost: Metric::of(&col(&|r| r.lost)),
        runs_with_loss: with_loss,
        loss_share_ci: wilson(with_loss, runs.len() as u64),
        duplicates: Metric::of(&col(&|r| r.duplicates)),
        findings: findings.into_iter().take(3).collect(),
    }
}

pub fn generate(opts: &Options) -> Result<Coordinators, InputError> {
    let p = &opts.params;
    if p.seeds == 0 || p.partitions.is_empty() {
        return Err(InputError {
            file: if p.seeds == 0 {
                "--seeds"
            } else {
                "--partitions"
            }
            .into(),
            line: None,
            column: None,
            key: None,
            message: "needs at least one".into(),
        });
    }
    let cells = plan(p)?;
    let seeds: Vec<u64> = (1..=p.seeds).collect();
    let results = run_all(&cells, &seeds, opts.jobs);
    let base = &cells[0].2;
    let faults: Vec<(u64, String)> = base
        .faults
        .script
        .iter()
        .map(|f| (f.at_ms, format!("{} {}", f.action.name(), f.target)))
        .collect();
    let out = cells
        .iter()
        .zip(results)
        .map(|((coordinator, n, sc), measured)| {
            let (runs, findings): (Vec<CoordRun>, Vec<Option<Finding>>) =
                measured.into_iter().unzip();
            Cell {
                coordinator: coordinator.clone(),
                partitions: *n,
                replay: reproduce_line(sc, 0).replace("--seed 0", "--seed N"),
                summary: summarize(
                    &runs,
                    findings.into_iter().flatten().collect(),
                    faults.len(),
                ),
                runs,
            }
        })
        .collect();
    Ok(Coordinators {
        format: FORMAT,
        command: command(p, &opts.out),
        params: p.clone(),
        scenario_name: base.name.clone(),
        scenario_description: base
            .description
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        faults,
        workload_ms: base.workload.duration_ms,
        cells: out,
    })
}

fn command(p: &Params, out: &Path) -> String {
    let parts: Vec<String> = p.partitions.iter().map(|n| n.to_string()).collect();
    let mut c = format!(
        "cargo run --release -- tradeoffs {} --coordinator --partitions {} --seeds {}",
        p.scenario,
        parts.join(","),
        p.seeds
    );
    for s in &p.sets {
        c.push_str(&format!(" --set {s}"));
    }
    c.push_str(&format!(" --out {}", out.display()));
    c
}

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
    print!("{}", headline(&t));
    let runs: u64 = t.cells.iter().map(|c| c.summary.runs).sum();
    println!(
        "wrote      {dir}/README.md, {dir}/index.html, {dir}/cells.json ({} cells, {runs} runs, {:.1} s wall)",
        t.cells.len(),
        started.elapsed().as_secs_f64(),
        dir = opts.out.display(),
    );
    let invalid: u64 = t.cells.iter().map(|c| c.summary.invalid_runs).sum();
    if invalid > 0 {
        println!("findings   {invalid} invalid run(s); each cell's first ones are listed with their reproduce line in README.md");
        return 1;
    }
    0
}

/// Write README.md, index.html and cells.json into `dir`, each atomically.
pub fn write(t: &Coordinators, dir: &Path) -> std::io::Result<()> {
    let json = serde_json::to_string_pretty(t).expect("serializable") + "\n";
    let files = [
        ("README.md", markdown(t)),
        ("index.html", html(t)),
        ("cells.json", json),
    ];
    write_files(dir, &files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_seed(jobs: usize) -> Coordinators {
        let params = Params {
            scenario: "coordinator-failover".into(),
            sets: Vec::new(),
            seeds: 1,
            partitions: vec![1],
        };
        let out = PathBuf::from("reports/coordinator");
        generate(&Options { params, jobs, out }).expect("the scenario loads")
    }

    #[test]
    fn the_comparison_measures_each_fault_and_does_not_depend_on_jobs() {
        let t = one_seed(2);
        assert_eq!(
            t,
            one_seed(1),
            "the numbers depend on nothing but the seeds"
        );
        let [kraft, zookeeper] = [&t.cells[0], &t.cells[1]];
        assert_eq!(
            (kraft.coordinator.as_str(), zookeeper.coordinator.as_str()),
            ("kraft", "zookeeper")
        );
        for c in [kraft, zookeeper] {
            let run = &c.runs[0];
            assert_eq!(
                run.verdict, "valid",
                "{}: {:?}",
                c.coordinator, run.violated
            );
            assert!(
                run.takeover_ms[0].is_some(),
                "{}: a controller took over after the crash",
                c.coordinator
            );
            assert!(
                run.leaders_back_ms[1] > 0,
                "{}: the broker crash left partitions without a leader",
                c.coordinator
            );
            assert!(
                run.metadata_lag_max_ms > 0,
                "{}: a decision took time to reach the brokers",
                c.coordinator
            );
        }
        // ZooKeeper mode waits for the dead controller's session to expire; KRaft elects.
        let take = |c: &Cell| c.runs[0].takeover_ms[0].unwrap_or(0);
        assert!(
            take(kraft) < 3_000 && take(zookeeper) > 10_000,
            "{} vs {}",
            take(kraft),
            take(zookeeper)
        );
        let md = markdown(&t);
        assert!(
            md.contains("| ZooKeeper | 1 |") && md.contains("## Replay"),
            "{md}"
        );
    }

    /// The committed report in reports/coordinator/ is what this code writes: its README and
    /// page from its own numbers, and seed 1 of each one-partition cell run again.
    #[test]
    fn the_committed_report_is_what_the_code_gives() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../reports/coordinator");
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("committed");
        let t: Coordinators = serde_json::from_str(&read("cells.json")).expect("cells.json parses");
        assert_eq!(
            markdown(&t),
            read("README.md"),
            "regenerate with `just coordinator`"
        );
        assert_eq!(
            html(&t),
            read("index.html"),
            "regenerate with `just coordinator`"
        );
        for cell in t.cells.iter().filter(|c| c.partitions == 1) {
            let mut sc = load(&t.params.scenario).expect("the scenario loads");
            apply_set(&mut sc, &format!("coordinator={}", cell.coordinator)).expect("a key");
            let (run, _) = run_one(&sc, 1);
            assert_eq!(
                run, cell.runs[0],
                "{}: regenerate with `just coordinator`",
                cell.coordinator
            );
        }
    }
}
