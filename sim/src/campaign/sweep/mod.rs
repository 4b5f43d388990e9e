//! `ksim sweep` and `ksim merge`: run many seeds of one scenario and keep every result in a
//! JSON-lines results file that survives being killed at any instant, then summarise it.
//!
//! # The results file
//!
//! One JSON object per line, one line per seed, in the order the seeds finished (`ksim merge`
//! writes them sorted by seed). A line is appended as soon as its seed finishes. Fields:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `seed` | u64 | the run's seed |
//! | `scenario` | string | the scenario's `name` |
//! | `verdict` | `"valid"` \| `"invalid"` \| `"vacuous"` | the checker's verdict; `"invalid"` also for nondeterminism, a panic outside the simulation, a hang |
//! | `exit_code` | 0 \| 1 \| 3 | what `ksim run` would exit with for this seed |
//! | `finding` | string \| null | the checker name of the first violation (`acked-durability`, `liveness`, `panic`, ...), `"nondeterminism"`, `"hang"`, `"vacuous"`, or null when valid |
//! | `message` | string | the finding's message (for `vacuous`, its reasons joined by `; `); empty when valid |
//! | `trace_hash` | string | 16 lowercase hex digits; all zeros when the seed produced no run (`hang`, a panic outside the simulation) |
//! | `acked` | u64 | acknowledged writes |
//! | `lost_allowed` | u64 | acknowledged writes lost as the configuration allows |
//! | `lost_violating` | u64 | acknowledged writes lost against the contract |
//! | `duplicates` | u64 | values the final committed logs hold more than once (allowed without idempotence; absent in files written before it was added, read as 0) |
//! | `simulated_ms` | u64 | simulated time at the end of the run |
//! | `wall_ms` | u64 | wall time of the (first) run; the only field that differs between two sweeps with the same options |
//! | `determinism` | bool \| null | null when not re-run; else whether the second run's trace hash matched |
//! | `reproduce` | string | the `ksim run` command line that replays the seed |
//! | `marks` | list of strings | the coverage marks the run reached (protocol branches and faults taking effect; absent in files written before it was added, read as none) |
//! | `sweep` | object | the sweep the line belongs to: `from`, `seeds`, `shard` (`"K/N"`, `"1/1"` unsharded) and `version` (ksim's, with its commit); what `ksim merge` checks the shards against (absent in files written before it was added: not checked) |
//!
//! # Guarantees
//!
//! - One writer: worker threads only compute; the main thread appends each line with one
//!   `write_all` (line and `\n` together) on an `O_APPEND` handle, then `sync_data`. The file
//!   is `flock`ed for the whole sweep, so two sweeps cannot write it at once.
//! - A kill can at worst leave a torn last line (no `\n`). `--resume` cuts it off, checks that
//!   every other line parses, belongs to this sweep (seed in range and shard, same reproduce
//!   line) and appears once, and runs only the missing seeds. A seed is printed as a finding
//!   only after its line is durable, so nothing printed can be lost.
//! - A panic inside a seed is the checker's `panic` finding (`run` catches it); a panic in
//!   the sweep's own code for a seed is a `panic` finding too, and a seed still running after
//!   `--seed-timeout` is a `hang` finding: either way the sweep goes on. While sweeping, a
//!   panic prints one line on stderr, not a backtrace.
//! - The summary is computed from the whole file, sorted by seed, so a resumed sweep prints the
//!   same summary as an uninterrupted one (except this invocation's wall time).

pub mod first;
pub mod guided;
mod results;
mod shards;
mod summary;

pub use results::*;
pub use shards::*;
pub use summary::*;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::check::{check, Report, Verdict};
use crate::cluster::ctx::lock;
use crate::cluster::run::{run, RunOutput};
use crate::report::output::reproduce_line;
use crate::scenario::Scenario;

/// The placeholder trace hash of a seed that produced no run.
const NO_TRACE: &str = "0000000000000000";

/// `--shard K/N`: the seeds whose index in the range is K-1 modulo N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub k: u64,
    pub n: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("expected K/N with 1 <= K <= N (e.g. 2/4), got '{s}'");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: u64 = k.trim().parse().map_err(|_| bad())?;
        let n: u64 = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

/// Everything `ksim sweep` was asked for, besides the scenario.
#[derive(Clone, Debug)]
pub struct Options {
    pub from: u64,
    pub seeds: u64,
    pub jobs: usize,
    pub shard: Option<Shard>,
    pub out: Option<PathBuf>,
    pub resume: bool,
    /// Re-run every seed divisible by this and compare trace hashes; 0 never.
    pub determinism_sample: u64,
    /// A seed still running after this much wall time is a `hang` finding; None waits forever.
    pub seed_timeout: Option<Duration>,
    /// Stop at the first finding: no new seed starts, the ones running finish.
    pub until_first: bool,
}

impl Options {
    /// `seeds` seeds from `from` (in `shard`), on one job, with no file, re-run or timeout:
    /// what the campaigns and the merge's checks start from.
    pub fn range(from: u64, seeds: u64, shard: Option<Shard>) -> Options {
        Options {
            from,
            seeds,
            jobs: 1,
            shard,
            out: None,
            resume: false,
            determinism_sample: 0,
            seed_timeout: None,
            until_first: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedVerdict {
    Valid,
    Invalid,
    Vacuous,
}

impl From<Verdict> for SeedVerdict {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Valid => SeedVerdict::Valid,
            Verdict::Invalid => SeedVerdict::Invalid,
            Verdict::Vacuous => SeedVerdict::Vacuous,
        }
    }
}

/// One line of the results file (the schema is in this module's header).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub seed: u64,
    pub scenario: String,
    pub verdict: SeedVerdict,
    pub exit_code: i32,
    pub finding: Option<String>,
    pub message: String,
    pub trace_hash: String,
    pub acked: u64,
    pub lost_allowed: u64,
    pub lost_violating: u64,
    #[serde(default)]
    pub duplicates: u64,
    pub simulated_ms: u64,
    pub wall_ms: u64,
    pub determinism: Option<bool>,
    pub reproduce: String,
    #[serde(default)]
    pub marks: Vec<String>,
    /// The sweep the line belongs to (range, shard, version), for `ksim merge`'s checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepOf>,
}

impl Line {
    fn from_run(out: &RunOutput, sc: &Scenario) -> Line {
        Line::from_report(out, sc, &check(out))
    }

    /// The line of a run already judged (`report` is `check(out)`).
    fn from_report(out: &RunOutput, sc: &Scenario, report: &Report) -> Line {
        let (finding, message) = match (report.violations.first(), report.verdict) {
            (Some(v), _) => (Some(v.checker.to_string()), v.message.clone()),
            (None, Verdict::Vacuous) => (Some("vacuous".to_string()), report.vacuous.join("; ")),
            (None, _) => (None, String::new()),
        };
        Line {
            seed: out.seed,
            scenario: sc.name.clone(),
            verdict: report.verdict.into(),
            exit_code: report.verdict.exit_code(),
            finding,
            message,
            trace_hash: trace_hash(out),
            acked: report.counts.acked,
            lost_allowed: report.counts.lost_allowed,
            lost_violating: report.counts.lost_violating,
            duplicates: report.counts.duplicates,
            simulated_ms: out.outcome.end_ms,
            wall_ms: out.wall.as_millis() as u64,
            determinism: None,
            reproduce: reproduce_line(sc, out.seed),
            marks: report.marks.keys().cloned().collect(),
            sweep: None,
        }
    }

    /// An invalid line for a seed whose evaluation itself failed (no run to report on).
    fn failed(seed: u64, sc: &Scenario, finding: &str, message: String) -> Line {
        Line {
            seed,
            scenario: sc.name.clone(),
            verdict: SeedVerdict::Invalid,
            exit_code: 1,
            finding: Some(finding.to_string()),
            message,
            trace_hash: NO_TRACE.to_string(),
            acked: 0,
            lost_allowed: 0,
            lost_violating: 0,
            duplicates: 0,
            simulated_ms: 0,
            wall_ms: 0,
            determinism: None,
            reproduce: reproduce_line(sc, seed),
            marks: Vec::new(),
            sweep: None,
        }
    }

    /// Nondeterminism outranks the run's own finding: that finding cannot be trusted to replay.
    fn mark_nondeterministic(&mut self, second: &str) {
        let before = if self.message.is_empty() {
            String::new()
        } else {
            format!(" (first run: {})", self.message)
        };
        self.message = format!(
            "two runs of the seed gave trace {} then {second}{before}",
            self.trace_hash
        );
        self.finding = Some("nondeterminism".to_string());
        self.verdict = SeedVerdict::Invalid;
        self.exit_code = 1;
    }

    /// The sweep a line belongs to: its reproduce line without the seed.
    fn sweep_identity(&self) -> String {
        let seed = format!(" --seed {}", self.seed);
        match self.reproduce.find(&seed) {
            Some(i) => format!(
                "{} --seed _{}",
                &self.reproduce[..i],
                &self.reproduce[i + seed.len()..]
            ),
            None => self.reproduce.clone(),
        }
    }
}

fn trace_hash(out: &RunOutput) -> String {
    format!("{:016x}", lock(&out.ctx.observer).trace_hash())
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "non-string panic".into())
}

// -------------------------------------------------------------------- seeds and paths

/// The seeds of this sweep, in order: `from..from+seeds`, narrowed to the shard.
pub fn seed_set(opts: &Options) -> Result<Vec<u64>, String> {
    if opts.seeds == 0 {
        return Err("--seeds must be at least 1".into());
    }
    let last = opts
        .from
        .checked_add(opts.seeds - 1)
        .ok_or("--from + --seeds overflows u64")?;
    Ok((opts.from..=last).filter(|s| in_sweep(*s, opts)).collect())
}

/// Whether `seed` is in the range and in the shard.
fn in_sweep(seed: u64, opts: &Options) -> bool {
    let in_range = seed >= opts.from && seed - opts.from < opts.seeds;
    in_range
        && opts
            .shard
            .is_none_or(|sh| (seed - opts.from) % sh.n == sh.k - 1)
}

/// `--out FILE`; `--out DIR/` (or an existing directory) for the default file name in it, as
/// the shards of one engine job write side by side; else the default path.
pub fn results_path(sc: &Scenario, opts: &Options) -> PathBuf {
    let default = default_path(sc, opts);
    match &opts.out {
        Some(dir) if dir.is_dir() || dir.to_string_lossy().ends_with('/') => {
            dir.join(default.file_name().unwrap_or_default())
        }
        Some(file) => file.clone(),
        None => default,
    }
}

/// `reports/sweeps/<scenario>-<from>-<last>[-shard-K-of-N].jsonl`.
pub fn default_path(sc: &Scenario, opts: &Options) -> PathBuf {
    let name = sc.path_component();
    let last = opts.from.saturating_add(opts.seeds.saturating_sub(1));
    let shard = opts
        .shard
        .map(|s| format!("-shard-{}-of-{}", s.k, s.n))
        .unwrap_or_default();
    PathBuf::from("reports")
        .join("sweeps")
        .join(format!("{name}-{}-{last}{shard}.jsonl", opts.from))
}

fn describe_range(opts: &Options) -> String {
    let last = opts.from.saturating_add(opts.seeds.saturating_sub(1));
    let shard = opts
        .shard
        .map(|s| format!(", shard {}/{}", s.k, s.n))
        .unwrap_or_default();
    format!("seeds {}..={last}{shard}", opts.from)
}

// -------------------------------------------------------------------- running seeds

/// Run one seed (twice when sampled for determinism) and judge it.
fn evaluate(seed: u64, sc: &Scenario, sample: u64) -> Line {
    let out = run(seed, sc);
    let mut line = Line::from_run(&out, sc);
    drop(out);
    if sample != 0 && seed.is_multiple_of(sample) {
        let second = trace_hash(&run(seed, sc));
        line.determinism = Some(second == line.trace_hash);
        if second != line.trace_hash {
            line.mark_nondeterministic(&second);
        }
    }
    line
}

/// `evaluate` on its own thread, so that a panic outside the simulation (in the checker, say)
/// and a seed that never returns are findings instead of a dead or stuck worker. A hung
/// thread is abandoned: it cannot be stopped, and the process exit ends it.
fn evaluate_guarded(seed: u64, sc: &Arc<Scenario>, opts: &Options) -> Result<Line, String> {
    let (tx, rx) = mpsc::channel();
    let (shared, sample) = (sc.clone(), opts.determinism_sample);
    std::thread::Builder::new()
        .name(format!("ksim-sweep-{seed}"))
        .spawn(move || {
            let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                evaluate(seed, &shared, sample)
            }));
            let _ = tx.send(got.map_err(|p| panic_text(&*p)));
        })
        .map_err(|e| format!("cannot start a thread for seed {seed}: {e}"))?;
    let got = match opts.seed_timeout {
        Some(t) => rx.recv_timeout(t),
        None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
    };
    Ok(match got {
        Ok(Ok(line)) => line,
        Ok(Err(p)) => Line::failed(
            seed,
            sc,
            "panic",
            format!("the sweep's evaluation of the seed panicked: {p}"),
        ),
        Err(mpsc::RecvTimeoutError::Disconnected) => Line::failed(
            seed,
            sc,
            "panic",
            "the seed's thread died without a result".into(),
        ),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let secs = opts.seed_timeout.unwrap_or_default().as_secs();
            Line::failed(seed, sc, "hang", format!("no result after {secs} s of wall time (--seed-timeout); the seed's thread was abandoned"))
        }
    })
}

/// Pull seeds from the shared queue until it is empty or the sweep stops.
fn worker(
    todo: &[u64],
    next: &AtomicUsize,
    stop: &AtomicBool,
    sc: &Arc<Scenario>,
    opts: &Options,
    tx: mpsc::Sender<Result<Line, String>>,
) {
    while !stop.load(Ordering::Relaxed) {
        let Some(&seed) = todo.get(next.fetch_add(1, Ordering::Relaxed)) else {
            return;
        };
        let got = evaluate_guarded(seed, sc, opts);
        // --until-first: no new seed after a finding (the other workers finish theirs).
        if opts.until_first && got.as_ref().is_ok_and(|l| first::violation(l).is_some()) {
            stop.store(true, Ordering::Relaxed);
        }
        let fatal = got.is_err();
        if tx.send(got).is_err() || fatal {
            return;
        }
    }
}

/// Run `todo` on `opts.jobs` workers and hand each line to `sink` on this thread, as it
/// finishes. The first error (from a worker or from `sink`) stops the queue; seeds in flight
/// finish, and are not written. `sink` answering false (`--until-first`) stops the queue too,
/// and the seeds in flight are still handed over: every seed before a finding has then run.
fn run_workers(
    todo: &[u64],
    sc: &Arc<Scenario>,
    opts: &Options,
    mut sink: impl FnMut(Line) -> Result<bool, String>,
) -> Result<(), String> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.clamp(1, todo.len().max(1)) {
            let (tx, next, stop) = (tx.clone(), &next, &stop);
            s.spawn(move || worker(todo, next, stop, sc, opts, tx));
        }
        drop(tx);
        for got in rx {
            match got.and_then(&mut sink) {
                Ok(true) => {}
                Ok(false) => stop.store(true, Ordering::Relaxed),
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        Ok(())
    })
}

// -------------------------------------------------------------------- progress and panics

/// The progress bar: drawn on stderr only when stderr is a terminal, never into logs.
struct Progress {
    bar: ProgressBar,
    started: Instant,
    ran: u64,
    findings: u64,
    /// Seeds that showed nothing (no fault injected, no write acknowledged): no finding.
    vacuous: u64,
}

impl Progress {
    fn new(total: usize, done: &[Line]) -> Progress {
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::new(total as u64)
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) =
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} seeds  {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_position(done.len() as u64);
        if !bar.is_hidden() {
            // Keeps the clock moving while every worker is inside a long seed.
            bar.enable_steady_tick(Duration::from_millis(250));
        }
        let mut p = Progress {
            bar,
            started: Instant::now(),
            ran: 0,
            findings: 0,
            vacuous: 0,
        };
        done.iter().for_each(|l| p.count(l));
        p.refresh();
        p
    }

    fn refresh(&mut self) {
        let rate = self.ran as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let (findings, vacuous) = (self.findings, self.vacuous);
        self.bar.set_message(format!(
            "{findings} findings  {vacuous} vacuous  {rate:.1} seeds/s"
        ));
    }

    fn record(&mut self, line: &Line) {
        self.ran += 1;
        self.count(line);
        self.bar.inc(1);
        self.refresh();
    }

    /// A finding, or a vacuous seed (which is none).
    fn count(&mut self, line: &Line) {
        let finding = first::violation(line).is_some();
        self.findings += u64::from(finding);
        self.vacuous += u64::from(!finding && line.finding.is_some());
    }
}

/// While alive, a panic prints one line on stderr (thread, message, place) instead of the
/// default hook's text and backtrace note: a sweep with a panicking seed stays readable.
/// (madsim adds its own `context:` line for a panic inside a simulated task.)
struct QuietPanics {
    previous: Option<PanicHook>,
}

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

impl QuietPanics {
    fn install(bar: ProgressBar) -> QuietPanics {
        let previous = Some(std::panic::take_hook());
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current()
                .name()
                .unwrap_or("<unnamed>")
                .to_string();
            let at = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let text = panic_text(info.payload());
            bar.suspend(|| eprintln!("panic in {thread}: {}{at}", one_line(&text)));
        }));
        QuietPanics { previous }
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            std::panic::set_hook(previous);
        }
    }
}

/// A finding as it comes in; a vacuous seed is no finding (the summary counts it and says why).
fn print_finding(line: &Line) {
    if let Some(kind) = first::violation(line) {
        println!(
            "seed {}: {kind}: {}\n  reproduce: {}",
            line.seed,
            one_line(&line.message),
            line.reproduce
        );
    }
}

/// A multi-line message (an `assert_eq!` panic, say) on one line, so each finding stays two lines.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

// -------------------------------------------------------------------- the commands

/// `ksim sweep`: returns the exit code (2 for bad input or an unusable results file).
pub fn sweep(sc: &Scenario, opts: &Options) -> i32 {
    sweep_inner(sc, opts).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        2
    })
}

fn sweep_inner(sc: &Scenario, opts: &Options) -> Result<i32, String> {
    let seeds = seed_set(opts)?;
    let path = results_path(sc, opts);
    let (mut file, old) = open_results(&path, opts.resume)?;
    let done = check_resumed(&path, &old, sc, opts)?;
    let todo: Vec<u64> = seeds
        .iter()
        .copied()
        .filter(|s| !done.contains(s))
        .collect();
    println!(
        "sweep {} ({}): {}: {} to run, {} already in {}, jobs {}",
        sc.name,
        sc.origin,
        describe_range(opts),
        todo.len(),
        done.len(),
        path.display(),
        opts.jobs
    );
    let started = Instant::now();
    // Memory must stay flat over a long sweep: report RSS before and after.
    let (_, rss_start) = crate::campaign::bench::memory();
    let mut progress = Progress::new(seeds.len(), &old);
    let quiet = QuietPanics::install(progress.bar.clone());
    let sc_arc = Arc::new(sc.clone());
    // RSS at each quarter of the seeds: flat is the contract, growth is a leak.
    let quarters: Vec<usize> = (1..=4).map(|q| (todo.len() * q).div_ceil(4)).collect();
    let mut rss_at: Vec<u64> = Vec::new();
    let mut done_now = 0usize;
    let mut first_at: Option<Duration> = None;
    let sweep_of = SweepOf::of(opts);
    let ran = run_workers(&todo, &sc_arc, opts, |mut line| {
        line.sweep = Some(sweep_of.clone());
        append(&mut file, &line).map_err(|e| {
            format!(
                "cannot append to {}: {e}; the sweep stopped, --resume continues it",
                path.display()
            )
        })?;
        progress.bar.suspend(|| print_finding(&line));
        progress.record(&line);
        done_now += 1;
        if quarters.contains(&done_now) {
            rss_at.push(crate::campaign::bench::memory().1);
        }
        let finding = first::violation(&line).is_some();
        if finding && first_at.is_none() {
            first_at = Some(started.elapsed());
        }
        Ok(!(opts.until_first && finding))
    });
    drop(quiet);
    progress.bar.finish_and_clear();
    ran?;
    let (peak_running, _) = crate::campaign::bench::memory();
    let secs = started.elapsed().as_secs_f64();
    let all = read_whole(&path)?;
    let mut summary = Summary::of(&all);
    summary.require(crate::check::story::marks_required(sc, summary.seeds));
    let mb = |b: u64| format!("{:.1}", b as f64 / 1_048_576.0);
    let quarters: Vec<String> = rss_at.iter().map(|b| mb(*b)).collect();
    let invocation = format!(
        "{secs:.1} s wall, {} seeds, {:.1} seeds/s, jobs {}; RSS {} MB at start, {} MB after each quarter of the seeds, peak {} MB",
        progress.ran,
        progress.ran as f64 / secs.max(1e-9),
        opts.jobs,
        mb(rss_start),
        if quarters.is_empty() { "-".to_string() } else { quarters.join(" / ") },
        mb(peak_running)
    );
    print!(
        "{}",
        summary.render(
            &format!("sweep {}: {}", sc.name, describe_range(opts)),
            Some(invocation),
            &path.display().to_string()
        )
    );
    if opts.until_first {
        println!("{}", until_first_line(&seeds, &all, first_at));
    }
    Ok(summary.exit_code())
}

/// `--until-first`'s answer: the lowest seed with a finding (every seed before it ran, so the
/// answer does not depend on which worker finished first), how many seeds of the range lead
/// to it, and the wall time until a finding first came in.
fn until_first_line(seeds: &[u64], lines: &[Line], at: Option<Duration>) -> String {
    let first = lines
        .iter()
        .filter(|l| first::violation(l).is_some())
        .min_by_key(|l| l.seed);
    match first {
        Some(l) => {
            let nth = seeds.iter().position(|s| *s == l.seed).map_or(0, |i| i + 1);
            let secs = at.map_or("-".to_string(), |d| format!("{:.1} s", d.as_secs_f64()));
            format!(
                "first finding        seed {} ({}): {nth} seed(s) of the range to it, {secs} of wall time\n  reproduce: {}",
                l.seed,
                l.finding.as_deref().unwrap_or(""),
                l.reproduce
            )
        }
        None => format!("first finding        none in {} seeds", lines.len()),
    }
}

/// `ksim merge`: 0/1/3 as a sweep of the union would exit; 1 for a conflicting seed, 2 for an
/// unreadable file or files of different sweeps.
pub fn merge(files: &[PathBuf], out: Option<&Path>) -> i32 {
    merge_inner(files, out).unwrap_or_else(|(code, e)| {
        eprintln!("error: {e}");
        code
    })
}

fn merge_inner(args: &[PathBuf], out: Option<&Path>) -> Result<i32, (i32, String)> {
    let files = expand(args).map_err(|e| (2, e))?;
    let mut read = Vec::new();
    for path in &files {
        read.push((path.clone(), read_whole(path).map_err(|e| (2, e))?));
    }
    check_cover(&read).map_err(|e| (2, e))?;
    let mut by_seed: BTreeMap<u64, (Line, &Path)> = BTreeMap::new();
    let mut identity: Option<(String, &Path)> = None;
    for (path, lines) in &read {
        for line in lines.clone() {
            match &identity {
                Some((id, first)) if *id != line.sweep_identity() => {
                    return Err((
                        2,
                        format!(
                            "{} and {} are results of different sweeps: `{}` vs `{}`",
                            first.display(),
                            path.display(),
                            id,
                            line.sweep_identity()
                        ),
                    ));
                }
                _ => identity = Some((line.sweep_identity(), path)),
            }
            add_unique(&mut by_seed, line, path)?;
        }
    }
    let lines: Vec<Line> = by_seed.into_values().map(|(l, _)| l).collect();
    let results = match out {
        Some(p) => {
            write_atomically(p, &lines)
                .map_err(|e| (2, format!("cannot write {}: {e}", p.display())))?;
            p.display().to_string()
        }
        None => "(not written: no --out)".to_string(),
    };
    let summary = Summary::of(&lines);
    let title = format!(
        "merge of {} file(s): {}",
        files.len(),
        lines
            .first()
            .map(|l| l.scenario.as_str())
            .unwrap_or("no results")
    );
    print!("{}", summary.render(&title, None, &results));
    Ok(summary.exit_code())
}

/// Keep one line per seed: an identical copy (same verdict and trace hash) is dropped, a
/// different one is a conflict (exit 1): the same seed cannot have two results.
fn add_unique<'a>(
    by_seed: &mut BTreeMap<u64, (Line, &'a Path)>,
    line: Line,
    path: &'a Path,
) -> Result<(), (i32, String)> {
    match by_seed.get(&line.seed) {
        None => {
            by_seed.insert(line.seed, (line, path));
            Ok(())
        }
        Some((kept, _)) if kept.verdict == line.verdict && kept.trace_hash == line.trace_hash => {
            Ok(())
        }
        Some((kept, first)) => Err((
            1,
            format!(
                "seed {} has two different results: {:?} trace {} in {}, {:?} trace {} in {}",
                line.seed,
                kept.verdict,
                kept.trace_hash,
                first.display(),
                line.verdict,
                line.trace_hash,
                path.display()
            ),
        )),
    }
}
