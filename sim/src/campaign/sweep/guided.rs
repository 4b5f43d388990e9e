//! A guided campaign, the greybox half of `ksim bench --search`: fault schedules as inputs,
//! the protocol's coverage marks as feedback. A schedule is what a swarm seed injected
//! (`outcome.injected`), replayed as a script with the same seed. The corpus keeps every
//! schedule that reached a mark, or a pair of marks, no earlier run reached. Each round is
//! either a fresh swarm seed or a mutation of a corpus entry: a fault shifted, stretched,
//! shortened, duplicated, dropped, two faults' targets swapped, or two schedules spliced.
//! Deterministic from the campaign's seed: rounds run two at a time and are judged in order.
//! A finding counts, as in `first.rs`, when the modern rules pass the same scripted run.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::first::First;
use super::Line;
use crate::cluster::run::run;
use crate::scenario::{Scenario, ScriptedFault};

/// One input: the seed (its workload and network randomness) and the faults to inject.
#[derive(Clone, Debug)]
struct Input {
    seed: u64,
    script: Option<Vec<ScriptedFault>>,
}

/// The corpus and what it covers.
struct Corpus {
    entries: Vec<(u64, Vec<ScriptedFault>)>,
    covered: BTreeSet<(String, String)>,
}

impl Corpus {
    /// Keep `(seed, schedule)` when its marks or pairs of marks are new.
    fn offer(&mut self, seed: u64, schedule: &[ScriptedFault], marks: &[String]) {
        let mut new = false;
        for a in marks {
            for b in marks.iter().filter(|b| *b >= a) {
                new |= self.covered.insert((a.clone(), b.clone()));
            }
        }
        if new && !schedule.is_empty() {
            self.entries.push((seed, schedule.to_vec()));
        }
    }
}

/// Run one guided campaign of `old` against `modern`, with fresh seeds from `from`.
pub fn guided_first(old: &Scenario, modern: &Scenario, from: u64, budget: Duration) -> First {
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(from);
    let mut corpus = Corpus {
        entries: Vec::new(),
        covered: BTreeSet::new(),
    };
    let (mut fresh, mut runs) = (from, 0u64);
    while started.elapsed() < budget {
        let inputs: Vec<Input> = (0..2)
            .map(|_| next_input(&mut rng, &corpus, &mut fresh, old.workload.duration_ms))
            .collect();
        let lines = run_both(old, &inputs);
        for (input, (line, injected)) in inputs.iter().zip(lines) {
            runs += 1;
            if let Some(kind) = line.finding.clone() {
                if passes(modern, input) {
                    let secs = started.elapsed().as_secs_f64();
                    return First {
                        found: Some((input.seed, kind)),
                        // A fresh swarm seed replays as itself; a mutant as its script.
                        reproduce: input.script.is_none().then(|| line.reproduce.clone()),
                        script: input
                            .script
                            .as_ref()
                            .map(|script| Box::new(replayable(old, input.seed, script))),
                        seeds: runs,
                        secs,
                    };
                }
            }
            corpus.offer(input.seed, &injected, &line.marks);
        }
    }
    First {
        found: None,
        reproduce: None,
        script: None,
        seeds: runs,
        secs: started.elapsed().as_secs_f64(),
    }
}

/// A fresh swarm seed half the time (always while the corpus is empty), else a mutant.
fn next_input(rng: &mut ChaCha8Rng, corpus: &Corpus, fresh: &mut u64, end_ms: u64) -> Input {
    if corpus.entries.is_empty() || rng.gen_bool(0.5) {
        *fresh += 1;
        return Input {
            seed: *fresh - 1,
            script: None,
        };
    }
    let (seed, base) = &corpus.entries[rng.gen_range(0..corpus.entries.len())];
    let other = &corpus.entries[rng.gen_range(0..corpus.entries.len())].1;
    let mut script = base.clone();
    mutate(rng, &mut script, other, end_ms);
    script.sort_by_key(|f| f.at_ms);
    Input {
        seed: *seed,
        script: Some(script),
    }
}

/// One mutation of `script` (never empty: a schedule it would empty is left as it was).
fn mutate(
    rng: &mut ChaCha8Rng,
    script: &mut Vec<ScriptedFault>,
    other: &[ScriptedFault],
    end_ms: u64,
) {
    let i = rng.gen_range(0..script.len());
    match rng.gen_range(0..6) {
        0 => {
            let shift = rng.gen_range(0..=4_000) as i64 - 2_000;
            let at = (script[i].at_ms as i64 + shift).clamp(0, end_ms as i64);
            script[i].at_ms = at as u64;
        }
        1 => {
            let f = &mut script[i];
            let scale =
                |d: &mut Option<u64>, k: f64| *d = d.map(|d| ((d as f64 * k) as u64).max(1));
            let k = if rng.gen_bool(0.5) { 2.0 } else { 0.5 };
            scale(&mut f.restart_after_ms, k);
            scale(&mut f.heal_after_ms, k);
        }
        2 => {
            let mut copy = script[i].clone();
            copy.at_ms = rng.gen_range(0..=end_ms);
            script.push(copy);
        }
        3 if script.len() > 1 => {
            script.remove(i);
        }
        4 if script.len() > 1 => {
            let j = rng.gen_range(0..script.len());
            let target = script[j].target.clone();
            script[j].target = std::mem::replace(&mut script[i].target, target);
        }
        _ => {
            let cut = rng.gen_range(0..=end_ms);
            script.retain(|f| f.at_ms < cut);
            script.extend(other.iter().filter(|f| f.at_ms >= cut).cloned());
            if script.is_empty() {
                script.extend(other.iter().cloned());
            }
        }
    }
}

/// `sc` with the input's faults: its own swarm, or the schedule as a script.
fn with_input(sc: &Scenario, input: &Input) -> Scenario {
    let mut sc = sc.clone();
    if let Some(script) = &input.script {
        sc.faults.random = None;
        sc.faults.script = script.clone();
    }
    sc
}

/// Both inputs under `old`, at once: each run's line and the faults it injected.
fn run_both(old: &Scenario, inputs: &[Input]) -> Vec<(Line, Vec<ScriptedFault>)> {
    std::thread::scope(|s| {
        let handles: Vec<_> = inputs
            .iter()
            .map(|input| {
                s.spawn(move || {
                    let sc = with_input(old, input);
                    let out = run(input.seed, &sc);
                    (Line::from_run(&out, &sc), out.outcome.injected.clone())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a run catches its own panics"))
            .collect()
    })
}

/// The finding as a scenario of its own: the schedule that ran as its script, its seed set,
/// so that `ksim run` replays it without the search.
fn replayable(old: &Scenario, seed: u64, script: &[ScriptedFault]) -> Scenario {
    let mut sc = old.clone();
    sc.faults.random = None;
    sc.faults.script = script.to_vec();
    sc.run.seed = Some(seed);
    sc.overrides.clear();
    sc
}

/// Whether the modern rules hold for the same input.
fn passes(modern: &Scenario, input: &Input) -> bool {
    let sc = with_input(modern, input);
    Line::from_run(&run(input.seed, &sc), &sc).finding.is_none()
}

#[cfg(test)]
mod tests {
    use super::super::first::tests::quick;
    use super::*;

    /// One campaign seed, one answer: the same finding after the same number of runs, twice
    /// (the budget is far away, so only the campaign's own choices decide).
    #[test]
    fn a_guided_campaign_is_deterministic_from_its_seed() {
        let (old, modern) = (quick(&["truncation=high-watermark"]), quick(&[]));
        let budget = Duration::from_secs(600);
        let a = guided_first(&old, &modern, 100, budget);
        let b = guided_first(&old, &modern, 100, budget);
        assert!(a.found.is_some(), "{a:?}");
        assert_eq!((a.found, a.seeds), (b.found, b.seeds));
    }

    /// Every mutation leaves a non-empty schedule inside the run.
    #[test]
    fn mutants_stay_within_the_run_and_never_empty() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let one = vec![ScriptedFault::lasting(
            1_000,
            crate::scenario::FaultAction::Crash,
            crate::scenario::Target::Broker(1),
            2_000,
            0,
        )];
        for _ in 0..500 {
            let mut s = one.clone();
            mutate(&mut rng, &mut s, &one, 6_000);
            assert!(!s.is_empty() && s.iter().all(|f| f.at_ms <= 6_000), "{s:?}");
        }
    }
}
