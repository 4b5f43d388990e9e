//! A guided campaign, the greybox half of `ksim bench --search`: fault schedules as inputs,
//! coverage marks as feedback. A schedule is what a swarm seed injected (`outcome.injected`),
//! replayed as a script with the same seed. A run's features are its marks (the protocol's
//! branches, the old rules acting where the modern one would not, and the observer's abstract
//! `state:*` marks), each also with its count in powers of two. The corpus keeps every schedule
//! that reached a new feature, or a pair of marks no earlier run reached. Each round is either
//! a fresh swarm seed or a mutation of a corpus entry: most often one whose run made an old rule
//! act (`old-rule:*`, the only runs that can differ from the modern rules), else one chosen for
//! a rare feature. A mutation shifts, stretches, shortens, duplicates or drops a fault, swaps two
//! faults' targets, turns a fault into a kindred one (a crash into a power loss or a pause), or
//! splices two schedules. Deterministic from the campaign's seed: rounds run two at a time and are
//! judged in order. A finding counts, as in `first.rs`, when the modern rules pass the same
//! scripted run.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::first::{violation, First};
use super::Line;
use crate::check::check;
use crate::cluster::run::run;
use crate::scenario::{FaultAction, Scenario, ScriptedFault, Target};

/// One input: the seed (its workload and network randomness) and the faults to inject.
#[derive(Clone, Debug)]
struct Input {
    seed: u64,
    script: Option<Vec<ScriptedFault>>,
}

/// A schedule the corpus keeps, with the features its run reached.
struct Entry {
    seed: u64,
    schedule: Vec<ScriptedFault>,
    features: Vec<String>,
    /// How often an old rule acted where the modern one would not (`old-rule:*` marks).
    divergences: u64,
}

/// The corpus and what it covers: pairs of marks, and how many runs reached each feature.
#[derive(Default)]
struct Corpus {
    entries: Vec<Entry>,
    covered: BTreeSet<(String, String)>,
    hits: BTreeMap<String, u64>,
}

/// A run's features: each mark, and each mark with its count in powers of two (a branch
/// taken 8 times is another input than one taken once, as in AFL's hit counts).
fn features(marks: &BTreeMap<String, u64>) -> Vec<String> {
    let mut out: Vec<String> = marks.keys().cloned().collect();
    for (m, n) in marks.iter().filter(|(_, n)| **n > 1) {
        out.push(format!("{m}#{}", (64 - n.leading_zeros()).min(5)));
    }
    out
}

/// The marks of an old rule acting where the modern rule would decide otherwise: only a run
/// with one can be a finding, so these are the search's target (directed fuzzing toward the
/// difference between two versions, as AFLGo aims at a patch).
fn divergences(marks: &BTreeMap<String, u64>) -> u64 {
    marks
        .iter()
        .filter(|(m, _)| m.starts_with("old-rule:"))
        .map(|(_, n)| n)
        .sum()
}

/// One of `items`, drawn with probability proportional to its weight.
fn weighted<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, f64)]) -> T {
    let mut x = rng.gen::<f64>() * items.iter().map(|(_, w)| w).sum::<f64>();
    for (t, w) in items {
        if x < *w {
            return *t;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

impl Corpus {
    /// Keep `(seed, schedule)` when its run diverged from the modern rules, or when its
    /// features, or pairs of marks, are new.
    fn offer(&mut self, seed: u64, schedule: &[ScriptedFault], marks: &BTreeMap<String, u64>) {
        let features = features(marks);
        let divergences = divergences(marks);
        let mut new = divergences > 0;
        for f in &features {
            let n = self.hits.entry(f.clone()).or_default();
            new |= *n == 0;
            *n += 1;
        }
        for a in marks.keys() {
            for b in marks.keys().filter(|b| *b >= a) {
                new |= self.covered.insert((a.clone(), b.clone()));
            }
        }
        if new && !schedule.is_empty() {
            self.entries.push(Entry {
                seed,
                schedule: schedule.to_vec(),
                features,
                divergences,
            });
        }
    }

    /// An entry to mutate: most often one whose run diverged (weighted by how often, up to
    /// 16), else one aimed at a rare feature (FairFuzz's rare branches): a feature drawn with
    /// weight 1/(runs that reached it), then an entry that reached it.
    fn pick(&self, rng: &mut ChaCha8Rng) -> &Entry {
        let diverged: Vec<(usize, f64)> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.divergences > 0)
            .map(|(i, e)| (i, e.divergences.min(16) as f64))
            .collect();
        if !diverged.is_empty() && rng.gen_bool(0.8) {
            return &self.entries[weighted(rng, &diverged)];
        }
        let mut held: BTreeSet<&str> = BTreeSet::new();
        for e in &self.entries {
            held.extend(e.features.iter().map(String::as_str));
        }
        let items: Vec<(&str, f64)> = held
            .into_iter()
            .map(|f| (f, 1.0 / self.hits[f] as f64))
            .collect();
        let target = weighted(rng, &items);
        let with: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.features.iter().any(|f| f == target))
            .collect();
        with[rng.gen_range(0..with.len())]
    }
}

/// Run one guided campaign of `old` against `modern` (a finding counts only where `modern`
/// passes the same input; with none, any finding counts), with fresh seeds from `from`.
pub fn guided_first(
    old: &Scenario,
    modern: Option<&Scenario>,
    from: u64,
    budget: Duration,
) -> First {
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(from);
    let mut corpus = Corpus::default();
    let (mut fresh, mut runs) = (from, 0u64);
    while started.elapsed() < budget {
        let inputs: Vec<Input> = (0..2)
            .map(|_| next_input(&mut rng, &corpus, &mut fresh, old.workload.duration_ms))
            .collect();
        let lines = run_both(old, &inputs);
        for (input, (line, injected, marks)) in inputs.iter().zip(lines) {
            runs += 1;
            if let Some(kind) = violation(&line) {
                if modern.is_none_or(|m| passes(m, input)) {
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
            corpus.offer(input.seed, &injected, &marks);
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

/// A fresh swarm seed (always while the corpus is empty), else a mutant.
fn next_input(rng: &mut ChaCha8Rng, corpus: &Corpus, fresh: &mut u64, end_ms: u64) -> Input {
    // Fresh seeds half the time; a fifth once some run diverged, to work on those.
    let diverged = corpus.entries.iter().any(|e| e.divergences > 0);
    let fresh_share = if diverged { 0.2 } else { 0.5 };
    if corpus.entries.is_empty() || rng.gen_bool(fresh_share) {
        *fresh += 1;
        return Input {
            seed: *fresh - 1,
            script: None,
        };
    }
    let base = corpus.pick(rng);
    let other = &corpus.entries[rng.gen_range(0..corpus.entries.len())].schedule;
    let mut script = base.schedule.clone();
    mutate(rng, &mut script, other, end_ms);
    script.sort_by_key(|f| f.at_ms);
    Input {
        seed: base.seed,
        script: Some(script),
    }
}

/// One mutation of `script` (never empty: a schedule it would empty is left as it was; every
/// fault stays before `end_ms`, the end of the writes, after which faults no longer fire).
fn mutate(
    rng: &mut ChaCha8Rng,
    script: &mut Vec<ScriptedFault>,
    other: &[ScriptedFault],
    end_ms: u64,
) {
    let i = rng.gen_range(0..script.len());
    match rng.gen_range(0..7) {
        0 => {
            let shift = rng.gen_range(0..=4_000) as i64 - 2_000;
            let at = (script[i].at_ms as i64 + shift).clamp(0, end_ms as i64 - 1);
            script[i].at_ms = at as u64;
        }
        1 => {
            let f = &mut script[i];
            let scale =
                |d: &mut Option<u64>, k: f64| *d = d.map(|d| ((d as f64 * k) as u64).max(1));
            let k = if rng.gen_bool(0.5) { 2.0 } else { 0.5 };
            scale(&mut f.restart_after_ms, k);
            scale(&mut f.heal_after_ms, k);
            scale(&mut f.latency_ms, k);
        }
        2 => {
            let mut copy = script[i].clone();
            copy.at_ms = rng.gen_range(0..end_ms);
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
        5 if matches!(script[i].target, Target::Broker(_)) => {
            let kin = kindred(script[i].action);
            if !kin.is_empty() {
                script[i].action = kin[rng.gen_range(0..kin.len())];
            }
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

/// The fault kinds that take the same settings as `action`, so that one can stand for
/// another in a schedule: a crash, a power loss or a pause (restarted or resumed after a
/// while); the partitions of one node (healed after a while); the slow links.
fn kindred(action: FaultAction) -> &'static [FaultAction] {
    use FaultAction::*;
    const DOWN: &[FaultAction] = &[Crash, PowerLoss, Pause];
    const CUT: &[FaultAction] = &[
        Isolate,
        IsolateFromReplicas,
        IsolateFromController,
        IsolateOutbound,
    ];
    const SLOW: &[FaultAction] = &[Slow, SlowToController, SlowAlterPartition];
    [DOWN, CUT, SLOW]
        .into_iter()
        .find(|kin| kin.contains(&action))
        .unwrap_or(&[])
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

type Judged = (Line, Vec<ScriptedFault>, BTreeMap<String, u64>);

/// Both inputs under `old`, at once: each run's line, the faults it injected and its marks.
fn run_both(old: &Scenario, inputs: &[Input]) -> Vec<Judged> {
    std::thread::scope(|s| {
        let handles: Vec<_> = inputs
            .iter()
            .map(|input| {
                s.spawn(move || {
                    let sc = with_input(old, input);
                    let out = run(input.seed, &sc);
                    let report = check(&out);
                    let line = Line::from_report(&out, &sc, &report);
                    (line, out.outcome.injected.clone(), report.marks)
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
        let a = guided_first(&old, Some(&modern), 100, budget);
        let b = guided_first(&old, Some(&modern), 100, budget);
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
            assert!(!s.is_empty() && s.iter().all(|f| f.at_ms < 6_000), "{s:?}");
        }
    }
}
