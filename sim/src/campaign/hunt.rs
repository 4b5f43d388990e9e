//! `ksim search`: a guided fault search on one scenario as the user configured it. Fault
//! schedules are the inputs (a fresh swarm seed's faults, replayed as a script), the protocol's
//! coverage marks and abstract states the feedback, until a checker flags a run or the budget
//! runs out. The finding is written as a scripted scenario and printed with the command that
//! replays it without the search, and the one that shrinks it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::sweep::guided::guided_first;
use crate::report::output::ksim_command;
use crate::scenario::Scenario;

/// What `ksim search` was asked for, besides the scenario.
pub struct Options {
    /// The campaign's seed: its first fresh swarm seed, and its choices.
    pub from: u64,
    pub budget: Duration,
    /// Where a mutant's scripted scenario goes [default: reports/search/<name>-<seed>.toml].
    pub out: Option<PathBuf>,
}

/// Run the search; 1 with a finding, 0 without one in the budget.
pub fn search(sc: &Scenario, opts: &Options) -> i32 {
    let first = guided_first(sc, None, opts.from, opts.budget);
    let Some((seed, kind)) = &first.found else {
        println!(
            "search     no finding in {} runs ({:.1} s of the {} s budget), from campaign seed {}",
            first.seeds,
            first.secs,
            opts.budget.as_secs(),
            opts.from
        );
        return 0;
    };
    println!(
        "search     {kind} after {} runs, {:.1} s",
        first.seeds, first.secs
    );
    let reproduce = match (&first.reproduce, &first.script) {
        (Some(line), _) => line.clone(),
        (None, Some(script)) => {
            let default = format!("reports/search/{}-{seed}.toml", sc.path_component());
            let path = opts.out.clone().unwrap_or_else(|| PathBuf::from(default));
            write_found(script, &path, *seed)
        }
        (None, None) => "(no replay recorded)".into(),
    };
    println!("reproduce: {reproduce}");
    if let Some(run) = reproduce.strip_prefix(&format!("{} run ", ksim_command())) {
        println!("shrink:    {} shrink {run}", ksim_command());
    }
    1
}

/// Write a guided finding's scenario (its schedule as the script) to `path`; the command that
/// replays it, or why it could not be written.
pub fn write_found(sc: &Scenario, path: &Path, seed: u64) -> String {
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(path, crate::scenario::parse::to_toml(sc)));
    match written {
        Ok(()) => format!("{} run {} --seed {seed}", ksim_command(), path.display()),
        Err(e) => format!("(cannot write {}: {e})", path.display()),
    }
}
