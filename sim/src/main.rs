//! The `ksim` command line: run a scenario for one seed, list the scenario gallery, sweep a
//! range of seeds into a results file, or merge results files (`campaign/sweep/`). Exit codes: 0 the
//! contract held, 1 a finding (violation, panic, stall), 2 bad input, 3 vacuous (nothing
//! acknowledged, or an asked-for fault never happened).

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use ksim::check::check;
use ksim::cluster::ctx::lock;
use ksim::cluster::run::{run, run_for_report};
use ksim::report::output;
use ksim::report::write_history;
use ksim::scenario::parse::{apply_set, gallery, load, validate_overrides, InputError};
use ksim::scenario::properties::{apply_properties_file, apply_set_or_ignore, PropertiesKind};
use ksim::scenario::Scenario;

#[derive(Parser)]
#[command(name = "ksim", version = output::VERSION, about = "Deterministic simulation testbed for Kafka-style replication")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What decides a scenario: the file (or gallery name), Kafka properties files, and overrides.
#[derive(Args)]
struct ScenarioArgs {
    /// A name under scenarios/ or a path to a TOML file.
    scenario: String,
    /// Override a scenario key, e.g. `--set acks=1 --set min.insync.replicas=2`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Apply a Kafka server.properties file (before the `--set` overrides).
    #[arg(long, value_name = "FILE")]
    server_properties: Option<std::path::PathBuf>,
    /// Apply a Kafka producer.properties file (before the `--set` overrides).
    #[arg(long, value_name = "FILE")]
    producer_properties: Option<std::path::PathBuf>,
    /// Apply a Kafka consumer.properties file (before the `--set` overrides); the workload's
    /// `consumers` sets how many members the group has.
    #[arg(long, value_name = "FILE")]
    consumer_properties: Option<std::path::PathBuf>,
    /// Apply a ZooKeeper zoo.cfg (before the `--set` overrides): its `server.N` lines make the
    /// ensemble and choose ZooKeeper mode; tickTime, initLimit, syncLimit, min/maxSessionTimeout
    /// and forceSync are modelled, ports and paths listed as ignored.
    #[arg(long, value_name = "FILE")]
    zookeeper_properties: Option<std::path::PathBuf>,
    /// For a gallery story: apply its `fix` (the rule Kafka adopted), before the `--set`
    /// overrides.
    #[arg(long)]
    fixed: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run one seed of a scenario (a name under scenarios/ or a path to a TOML file).
    Run {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// The run's seed; drawn at random and printed when absent.
        #[arg(long)]
        seed: Option<u64>,
        /// Run twice and compare the trace hashes.
        #[arg(long)]
        check_determinism: bool,
        /// Print one JSON object instead of the text report.
        #[arg(long)]
        json: bool,
        /// Write the client history as JSON lines to this file.
        #[arg(long, value_name = "FILE")]
        history: Option<std::path::PathBuf>,
        /// Where run reports go: each run writes DIR/<scenario>/<seed>/ (index.html,
        /// results.json, history.jsonl, history.txt, replicas.txt, replay.sh).
        #[arg(long, value_name = "DIR", default_value = "reports")]
        report_dir: std::path::PathBuf,
        /// Write no run report.
        #[arg(long, conflicts_with = "report_dir")]
        no_report: bool,
    },
    /// List the scenario gallery.
    Scenarios,
    /// Run a range of seeds on worker threads, append each result to a JSON-lines file as it
    /// finishes, and summarise the whole file. `--resume` continues a killed sweep.
    Sweep {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// How many seeds.
        #[arg(long, default_value_t = 100)]
        seeds: u64,
        /// The first seed.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Seeds run at once, each on its own thread and runtime [default: available cores].
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only the seeds with (seed - from) % N == K - 1 (K counts from 1); `auto` takes
        /// K and N from a batch engine's environment (Slurm job array, Kubernetes Indexed Job,
        /// AWS Batch array job, CI_NODE_INDEX/CI_NODE_TOTAL).
        #[arg(long, value_name = "K/N|auto")]
        shard: Option<String>,
        /// With --shard auto on an engine that names only the task's index (Kubernetes, AWS
        /// Batch): how many shards there are [default: $KSIM_SHARDS].
        #[arg(long, value_name = "N")]
        shards: Option<u64>,
        /// The results file [default: reports/sweeps/<scenario>-<from>-<last>[-shard-K-of-N].jsonl];
        /// a directory (`results/`) holds the file of that default name.
        #[arg(long, value_name = "FILE|DIR/")]
        out: Option<std::path::PathBuf>,
        /// Continue the sweep in an existing results file: run only the seeds it lacks.
        #[arg(long)]
        resume: bool,
        /// Run every seed divisible by M twice and compare trace hashes (0: never).
        #[arg(long, value_name = "M", default_value_t = 100)]
        determinism_sample: u64,
        /// A seed still running after this many seconds of wall time is a `hang` finding (0: wait forever).
        #[arg(long, value_name = "SECS", default_value_t = 300)]
        seed_timeout: u64,
        /// Stop at the first finding (the seeds running finish) and print its seed, how many
        /// seeds of the range it took and the wall time.
        #[arg(long)]
        until_first: bool,
    },
    /// Measure ksim against madsim's own floor: messages per second, seeds per second,
    /// simulated time per wall second, memory, and scaling with records, brokers, partitions.
    Bench {
        /// Seeds of the `default` scenario per measurement.
        #[arg(long, default_value_t = 50)]
        seeds: u64,
        /// Smaller sizes, for a quick look.
        #[arg(long)]
        quick: bool,
        /// Instead: how fast the random swarm finds each historical switch (seeds and seconds
        /// to the first seed the old rule fails and the modern rules pass).
        #[arg(long)]
        search: bool,
        /// With --search: campaigns per switch, each from its own seed range.
        #[arg(long, default_value_t = 5)]
        campaigns: u64,
        /// With --search: the wall-time budget of one campaign, in seconds.
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        budget: u64,
        /// With --search: seeds run at once [default: available cores].
        #[arg(long)]
        jobs: Option<usize>,
        /// With --search: only the switches whose label contains this.
        #[arg(long)]
        only: Option<String>,
        /// With --search: guided campaigns (coverage marks as feedback, fault schedules
        /// mutated) instead of the random swarm; two runs at a time.
        #[arg(long)]
        guided: bool,
    },
    /// A guided fault search on one scenario: fault schedules mutated toward new coverage
    /// marks and protocol states until a checker flags a run (exit 1, with a reproduce line
    /// that runs without the search) or the budget runs out (exit 0). `ksim sweep
    /// --until-first` is the same question asked of the random swarm.
    Search {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Wall-time budget, in seconds.
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        budget: u64,
        /// The campaign's seed: its first fresh swarm seed and its choices (one seed, one
        /// campaign, on any machine, up to the budget).
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Where a found fault schedule is written as a scripted scenario
        /// [default: reports/search/<scenario>-<seed>.toml].
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
    /// Narrate one run as the KIPs do: at each significant step, what happened and a table
    /// of every replica's log (offsets:epoch), LEO, HW and role, with the controllers' ISR;
    /// the step that breaks an invariant is marked.
    Explain {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// The seed to narrate (the one a run or a sweep printed); without it, the scenario's
        /// own `seed` (a found story carries one), else 1.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Shrink a failing seed to a minimal scripted story: its faults replayed as a script,
    /// then removed one at a time while the same checker still fails, delays and workload
    /// shortened; written as a scenario file that carries its seed.
    Shrink {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// The failing seed to shrink, as a run's or a sweep's `reproduce:` line gives it.
        #[arg(long)]
        seed: u64,
        /// The scenario file to write [default: scenarios/found/<scenario>-seed-<N>.toml].
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
    /// The replication tradeoff matrix: acks x min.insync.replicas x unclean election x flush
    /// policy, each cell over the same seeds of one fault distribution; writes README.md,
    /// index.html and cells.json. With properties files, your configuration is one more row.
    Tradeoffs {
        /// The fault distribution: a name under scenarios/ or a path to a TOML file [default:
        /// default; with --coordinator, coordinator-failover].
        scenario: Option<String>,
        /// Compare the coordinators instead: KRaft and ZooKeeper mode at each of --partitions,
        /// under the scenario's scripted faults (takeover, leaders back, metadata lag).
        #[arg(long)]
        coordinator: bool,
        /// Partition counts of the coordinator comparison.
        #[arg(
            long,
            value_delimiter = ',',
            value_name = "LIST",
            default_value = "1,100,1000"
        )]
        partitions: Vec<u32>,
        /// Seeds 1..=N in every cell.
        #[arg(long, default_value_t = 50)]
        seeds: u64,
        /// Replication factors of the grid, e.g. `--rf 2,3` [default: the scenario's].
        #[arg(long, value_delimiter = ',', value_name = "LIST")]
        rf: Vec<i32>,
        /// Override a scenario key in every cell, e.g. `--set faults.random.max_down=2`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Your Kafka server.properties: applied to every cell, and run as its own row.
        #[arg(long, value_name = "FILE")]
        server_properties: Option<std::path::PathBuf>,
        /// Your Kafka producer.properties: applied to every cell, and run as its own row.
        #[arg(long, value_name = "FILE")]
        producer_properties: Option<std::path::PathBuf>,
        /// Runs at once, each on its own thread and runtime [default: available cores].
        #[arg(long)]
        jobs: Option<usize>,
        /// Where to write README.md, index.html and cells.json [default: reports/tradeoffs;
        /// with --coordinator, reports/coordinator].
        #[arg(long, value_name = "DIR")]
        out: Option<std::path::PathBuf>,
    },
    /// Combine results files (e.g. shards): one line per seed, sorted; conflicting results for
    /// a seed exit 1. Prints the sweep summary of the union.
    Merge {
        /// The results files to combine: each a `ksim sweep --out` file (one JSON line per
        /// seed), e.g. the shards of one sweep.
        #[arg(required = true, value_name = "FILES")]
        files: Vec<std::path::PathBuf>,
        /// Write the merged file here (atomically).
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
}

/// Rust ignores SIGPIPE, so `ksim run ... | head` would panic on the first write after `head`
/// exits; the default action ends the process quietly, as `cat` does.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    if let Err(e) = ksim::cluster::log::init() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let code = match cli.command {
        Command::Run {
            scenario,
            seed,
            check_determinism,
            json,
            history,
            report_dir,
            no_report,
        } => with_scenario(&scenario, |sc| {
            let report_dir = (!no_report).then_some(report_dir);
            run_one(sc, seed, check_determinism, json, history, report_dir)
        }),
        Command::Scenarios => list_gallery(),
        Command::Sweep {
            scenario,
            seeds,
            from,
            jobs,
            shard,
            shards,
            out,
            resume,
            determinism_sample,
            seed_timeout,
            until_first,
        } => {
            let shard = match shard_of(shard.as_deref(), shards) {
                Ok(shard) => shard,
                Err(e) => {
                    eprintln!("error: --shard: {e}");
                    return ExitCode::from(2);
                }
            };
            let opts = ksim::campaign::sweep::Options {
                from,
                seeds,
                jobs: jobs_or_cores(jobs),
                shard,
                out,
                resume,
                determinism_sample,
                seed_timeout: (seed_timeout > 0)
                    .then(|| std::time::Duration::from_secs(seed_timeout)),
                until_first,
            };
            with_scenario(&scenario, |sc| ksim::campaign::sweep::sweep(sc, &opts))
        }
        Command::Search {
            scenario,
            budget,
            from,
            out,
        } => {
            let opts = ksim::campaign::hunt::Options {
                from,
                budget: std::time::Duration::from_secs(budget),
                out,
            };
            with_scenario(&scenario, |sc| ksim::campaign::hunt::search(sc, &opts))
        }
        Command::Merge { files, out } => ksim::campaign::sweep::merge(&files, out.as_deref()),
        cmd @ Command::Tradeoffs { .. } => tradeoffs(cmd),
        Command::Explain { scenario, seed } => with_scenario(&scenario, |sc| explain_one(sc, seed)),
        Command::Shrink {
            scenario,
            seed,
            out,
        } => with_scenario(&scenario, |sc| shrink_one(sc, seed, out)),
        Command::Bench {
            search: true,
            campaigns,
            budget,
            jobs,
            only,
            guided,
            ..
        } => {
            let opts = ksim::campaign::search::Options {
                campaigns,
                budget: std::time::Duration::from_secs(budget),
                jobs: jobs_or_cores(jobs),
                only,
                guided,
            };
            let emit = |text: &str| {
                println!("{text}");
                let _ = std::io::stdout().flush();
            };
            match ksim::campaign::search::report(&opts, emit) {
                Ok(()) => 0,
                Err(e) => bad_input(e),
            }
        }
        Command::Bench { seeds, quick, .. } => bench(seeds, quick),
    };
    ExitCode::from(code as u8)
}

/// Read the scenario and run `f` on it, or report bad input (exit 2).
fn with_scenario(args: &ScenarioArgs, f: impl FnOnce(&Scenario) -> i32) -> i32 {
    match prepare(args) {
        Ok(sc) => f(&sc),
        Err(e) => bad_input(e),
    }
}

fn list_gallery() -> i32 {
    for (name, line) in gallery() {
        println!("{name:<28} {line}");
    }
    0
}

fn bench(seeds: u64, quick: bool) -> i32 {
    match load("default") {
        Ok(sc) => {
            print!("{}", ksim::campaign::bench::report(&sc, seeds, quick));
            0
        }
        Err(e) => bad_input(e),
    }
}

/// `--jobs`, or one job per core.
fn jobs_or_cores(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

fn explain_one(sc: &Scenario, seed: Option<u64>) -> i32 {
    let seed = seed.or(sc.run.seed).unwrap_or(1);
    print!("{}", output::banner(sc, seed));
    let out = ksim::cluster::run::run_explained(seed, sc);
    let report = check(&out);
    print!("{}", output::explain(&out, &report));
    report.verdict.exit_code()
}

/// `--shard K/N`, or `auto`: the shard the batch engine's environment names.
fn shard_of(
    arg: Option<&str>,
    shards: Option<u64>,
) -> Result<Option<ksim::campaign::sweep::Shard>, String> {
    match arg {
        None if shards.is_some() => Err("--shards goes with --shard auto".into()),
        None => Ok(None),
        Some("auto") => {
            let get = |name: &str| std::env::var(name).ok();
            ksim::campaign::sweep::shard_from_env(&get, shards).map(Some)
        }
        Some(_) if shards.is_some() => Err("--shards goes with --shard auto".into()),
        Some(k_n) => k_n.parse().map(Some),
    }
}

fn bad_input(e: InputError) -> i32 {
    eprintln!("error: {e}");
    2
}

fn prepare(args: &ScenarioArgs) -> Result<Scenario, InputError> {
    let mut sc = load(&args.scenario)?;
    sc.origin = args.scenario.clone();
    if let Some(path) = &args.server_properties {
        apply_properties_file(&mut sc, path, PropertiesKind::Server)?;
    }
    if let Some(path) = &args.producer_properties {
        apply_properties_file(&mut sc, path, PropertiesKind::Producer)?;
    }
    if let Some(path) = &args.consumer_properties {
        apply_properties_file(&mut sc, path, PropertiesKind::Consumer)?;
    }
    if let Some(path) = &args.zookeeper_properties {
        apply_properties_file(&mut sc, path, PropertiesKind::ZooKeeper)?;
    }
    if args.fixed {
        if sc.fix.is_empty() {
            return Err(InputError {
                file: sc.origin.clone(),
                line: None,
                column: None,
                key: Some("fix".into()),
                message:
                    "--fixed needs a scenario with a `fix` (a gallery story); this one has none"
                        .into(),
            });
        }
        for a in sc.fix.clone() {
            apply_set(&mut sc, &a)?;
        }
    }
    for s in &args.sets {
        apply_set_or_ignore(&mut sc, s)?;
    }
    validate_overrides(&sc)?;
    Ok(sc)
}

fn shrink_one(sc: &Scenario, seed: u64, out: Option<std::path::PathBuf>) -> i32 {
    let shrunk = match ksim::campaign::shrink::shrink(sc, seed, |line| eprintln!("shrink: {line}"))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let default_name = format!("{}-seed-{seed}", sc.name);
    let path = out.unwrap_or_else(|| {
        std::path::PathBuf::from(format!("scenarios/found/{default_name}.toml"))
    });
    // The file's stem names the story (`--out` may give it a better name than the seed).
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or(default_name);
    let mut found = shrunk.scenario.clone();
    found.name = name;
    let mut how = format!("ksim shrink {} --seed {seed}", sc.origin);
    for (k, v) in &sc.overrides {
        how.push_str(&format!(" --set {k}={v}"));
    }
    found.description = format!(
        "Found by `{how}` ({} faults, shrunk to {} in {} runs). The run trips {}: {}",
        shrunk.faults_before, shrunk.faults_after, shrunk.runs, shrunk.checker, shrunk.message
    );
    let text = ksim::scenario::parse::to_toml(&found);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("error: cannot create {}: {e}", dir.display());
            return 2;
        }
    }
    if let Err(e) = std::fs::write(&path, text) {
        eprintln!("error: cannot write {}: {e}", path.display());
        return 2;
    }
    println!(
        "wrote {} ({} fault(s), {} ms of workload): {} — {}",
        path.display(),
        shrunk.faults_after,
        found.workload.duration_ms,
        shrunk.checker,
        shrunk.message
    );
    println!(
        "replay: {} run {}",
        ksim::report::output::ksim_command(),
        path.display()
    );
    0
}

fn run_one(
    sc: &Scenario,
    seed: Option<u64>,
    check_determinism: bool,
    json: bool,
    history: Option<std::path::PathBuf>,
    report_dir: Option<std::path::PathBuf>,
) -> i32 {
    // The scenario's own seed (a shrunk story carries one), else one drawn outside any
    // simulation; printed in the banner and the reproduce line.
    let seed = seed
        .or(sc.run.seed)
        .unwrap_or_else(|| rand::random::<u32>() as u64);
    if !json {
        print!("{}", output::banner(sc, seed));
        let _ = std::io::stdout().flush();
    }
    // The timeline the report draws is kept only when a report is wanted.
    let out = if report_dir.is_some() {
        run_for_report(seed, sc)
    } else {
        run(seed, sc)
    };
    let report = check(&out);
    let mut code = report.verdict.exit_code();
    let mut determinism = None;
    if check_determinism {
        let again = run(seed, sc);
        let (a, b) = (
            lock(&out.ctx.observer).trace_hash(),
            lock(&again.ctx.observer).trace_hash(),
        );
        determinism = Some(a == b);
        if a != b {
            code = 1;
            eprintln!("NONDETERMINISM: seed {seed} gave trace {a:016x} then {b:016x}");
        } else if !json {
            println!("determinism: two runs gave trace {a:016x}");
        }
    }
    if let Some(path) = history {
        if let Err(e) = write_history(&lock(&out.ctx.observer), &out.ctx.sc, &path) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return 2;
        }
    }
    if !json {
        print!("{}", output::summary(&out, &report));
    }
    let written = report_dir.map(|dir| ksim::report::write(&dir, &out, &report, determinism));
    if json {
        let mut v = output::json(&out, &report, determinism);
        if let Some(Ok(index)) = &written {
            v["report"] = index.display().to_string().into();
        }
        println!("{v}");
    }
    match written {
        Some(Ok(index)) if !json => println!("report     {}", index.display()),
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return 2;
        }
        _ => {}
    }
    code
}

/// `ksim tradeoffs`: the replication grid, or with `--coordinator` the coordinator comparison
/// (which takes neither `--rf` nor properties files: saying so beats ignoring them).
fn tradeoffs(cmd: Command) -> i32 {
    match cmd {
        Command::Tradeoffs {
            coordinator: true,
            ref rf,
            ref server_properties,
            ref producer_properties,
            ..
        } if !rf.is_empty() || server_properties.is_some() || producer_properties.is_some() => {
            eprintln!("error: --coordinator compares the coordinators under one scenario: it takes no --rf, --server-properties or --producer-properties (give settings with --set)");
            2
        }
        Command::Tradeoffs {
            scenario,
            coordinator: true,
            partitions,
            seeds,
            sets,
            jobs,
            out,
            ..
        } => {
            let opts = ksim::campaign::coordinator::Options {
                params: ksim::campaign::coordinator::Params {
                    scenario: scenario.unwrap_or_else(|| "coordinator-failover".into()),
                    sets,
                    seeds,
                    partitions,
                },
                jobs: jobs_or_cores(jobs),
                out: out.unwrap_or_else(|| "reports/coordinator".into()),
            };
            ksim::campaign::coordinator::main(&opts)
        }
        Command::Tradeoffs {
            scenario,
            seeds,
            rf,
            sets,
            server_properties,
            producer_properties,
            jobs,
            out,
            ..
        } => {
            let path = |p: Option<std::path::PathBuf>| p.map(|p| p.display().to_string());
            let opts = ksim::campaign::tradeoffs::Options {
                params: ksim::campaign::tradeoffs::Params {
                    scenario: scenario.unwrap_or_else(|| "default".into()),
                    sets,
                    seeds,
                    rf,
                    server_properties: path(server_properties),
                    producer_properties: path(producer_properties),
                },
                jobs: jobs_or_cores(jobs),
                out: out.unwrap_or_else(|| "reports/tradeoffs".into()),
            };
            ksim::campaign::tradeoffs::main(&opts)
        }
        _ => unreachable!("called with Command::Tradeoffs only"),
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// `ksim CMD --help` explains every argument it lists (a bare `--seed <SEED>` tells a
    /// newcomer nothing).
    #[test]
    fn every_argument_of_every_command_has_help() {
        let cli = Cli::command();
        let mut bare = Vec::new();
        for cmd in cli.get_subcommands() {
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                if arg.get_help().is_none() && arg.get_id() != "help" {
                    bare.push(format!("{} {}", cmd.get_name(), arg.get_id()));
                }
            }
        }
        assert!(bare.is_empty(), "arguments without help: {bare:?}");
    }
}
