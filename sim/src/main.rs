//! The `ksim` command line: run a scenario for one seed, list the scenario gallery, or sweep a
//! range of seeds. Exit codes: 0 the contract held, 1 a finding (violation, panic, stall),
//! 2 bad input, 3 vacuous (nothing acknowledged, or an asked-for fault never happened).

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ksim::checker::{check, Verdict};
use ksim::output;
use ksim::run::{lock, run};
use ksim::scenario::Scenario;
use ksim::scenario_parse::{apply_set, gallery, load, validate, InputError};

#[derive(Parser)]
#[command(name = "ksim", version = output::VERSION, about = "Deterministic simulation testbed for Kafka-style replication")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one seed of a scenario (a name under scenarios/ or a path to a TOML file).
    Run {
        scenario: String,
        /// The run's seed; drawn at random and printed when absent.
        #[arg(long)]
        seed: Option<u64>,
        /// Override a scenario key, e.g. `--set acks=1 --set min.insync.replicas=2`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Run twice and compare the trace hashes.
        #[arg(long)]
        check_determinism: bool,
        /// Print one JSON object instead of the text report.
        #[arg(long)]
        json: bool,
        /// Write the client history as JSON lines to this file.
        #[arg(long, value_name = "FILE")]
        history: Option<std::path::PathBuf>,
    },
    /// List the scenario gallery.
    Scenarios,
    /// Run a range of seeds and summarise the findings.
    Sweep {
        scenario: String,
        /// How many seeds.
        #[arg(long, default_value_t = 100)]
        seeds: u64,
        /// The first seed.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Seeds run at once, each on its own thread and runtime.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run { scenario, seed, sets, check_determinism, json, history } => {
            match prepare(&scenario, &sets) {
                Ok(sc) => run_one(&sc, seed, check_determinism, json, history),
                Err(e) => bad_input(e),
            }
        }
        Command::Scenarios => {
            for (name, line) in gallery() {
                println!("{name:<28} {line}");
            }
            0
        }
        Command::Sweep { scenario, seeds, from, jobs, sets } => match prepare(&scenario, &sets) {
            Ok(sc) => sweep(&sc, from, seeds, jobs.max(1)),
            Err(e) => bad_input(e),
        },
    };
    ExitCode::from(code as u8)
}

fn bad_input(e: InputError) -> i32 {
    eprintln!("error: {e}");
    2
}

fn prepare(name: &str, sets: &[String]) -> Result<Scenario, InputError> {
    let mut sc = load(name)?;
    sc.origin = name.to_string();
    for s in sets {
        apply_set(&mut sc, s)?;
    }
    validate(&sc, "--set")?;
    Ok(sc)
}

fn run_one(sc: &Scenario, seed: Option<u64>, check_determinism: bool, json: bool, history: Option<std::path::PathBuf>) -> i32 {
    // A seed drawn outside any simulation; printed in the banner and the reproduce line.
    let seed = seed.unwrap_or_else(|| rand::random::<u32>() as u64);
    if !json {
        print!("{}", output::banner(sc, seed));
        let _ = std::io::stdout().flush();
    }
    let out = run(seed, sc);
    let report = check(&out);
    let mut code = report.verdict.exit_code();
    let mut determinism = None;
    if check_determinism {
        let again = run(seed, sc);
        let (a, b) = (lock(&out.ctx.observer).trace_hash(), lock(&again.ctx.observer).trace_hash());
        determinism = Some(a == b);
        if a != b {
            code = 1;
            eprintln!("NONDETERMINISM: seed {seed} gave trace {a:016x} then {b:016x}");
        } else if !json {
            println!("determinism: two runs gave trace {a:016x}");
        }
    }
    if let Some(path) = history {
        if let Err(e) = write_history(&out, &path) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return 2;
        }
    }
    if json {
        println!("{}", output::json(&out, &report, determinism));
    } else {
        print!("{}", output::summary(&out, &report));
    }
    code
}

/// JSON lines, one operation per line; written to a temporary file and renamed.
fn write_history(out: &ksim::run::RunOutput, path: &std::path::Path) -> std::io::Result<()> {
    let obs = lock(&out.ctx.observer);
    let tmp = path.with_extension("tmp");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    for op in &obs.history {
        serde_json::to_writer(&mut f, op)?;
        f.write_all(b"\n")?;
    }
    f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(tmp, path)
}

fn sweep(sc: &Scenario, from: u64, count: u64, jobs: usize) -> i32 {
    let started = std::time::Instant::now();
    let seeds: Vec<u64> = (from..from + count).collect();
    let mut findings: Vec<(u64, Verdict, String)> = Vec::new();
    let mut acked = 0u64;
    let mut lost_allowed = 0u64;
    for chunk in seeds.chunks(jobs) {
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk.iter().map(|seed| s.spawn(move || { let out = run(*seed, sc); let r = check(&out); (*seed, r) })).collect();
            handles.into_iter().map(|h| h.join().expect("a run reports panics as findings")).collect()
        });
        for (seed, r) in results {
            acked += r.counts.acked;
            lost_allowed += r.counts.lost_allowed;
            if r.verdict != Verdict::Valid {
                let why = r.violations.first().map(|v| format!("[{}] {}", v.checker, v.message)).unwrap_or_else(|| r.vacuous.join("; "));
                println!("seed {seed}: {:?}: {why}\n  reproduce: {}", r.verdict, output::reproduce_line(sc, seed));
                findings.push((seed, r.verdict, why));
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let invalid = findings.iter().filter(|f| f.1 == Verdict::Invalid).count();
    let vacuous = findings.iter().filter(|f| f.1 == Verdict::Vacuous).count();
    println!(
        "sweep {}: seeds {}..={} ran={} invalid={} vacuous={} acked={} lost-but-allowed={} wall={:.1} s ({:.1} seeds/s, jobs={jobs})",
        sc.name, from, from + count - 1, count, invalid, vacuous, acked, lost_allowed, secs, count as f64 / secs
    );
    if invalid > 0 { 1 } else if vacuous > 0 { 3 } else { 0 }
}
