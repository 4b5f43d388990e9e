//! `ksim shrink`: a failing seed becomes a short scripted story. The run's faults (random or
//! scripted, each resolved to one node when it fired) are replayed as `[[faults.script]]`
//! without the fault stream; then faults are removed one at a time while the run still fails
//! with the same checker, to a fixpoint (a 1-minimal schedule, as delta debugging), their
//! restart and heal delays and the workload are shortened, and the result is written as a
//! scenario file that carries its seed (`[run] seed`), so `ksim run FILE` replays it and a
//! test can keep it as a regression.

use ksim_model::Named;

use crate::check::{check, Verdict};
use crate::cluster::run::run;
use crate::scenario::{Scenario, ScriptedFault};

/// A shrunk failure.
pub struct Shrunk {
    pub scenario: Scenario,
    pub seed: u64,
    /// The checker whose violation the shrunk scenario keeps.
    pub checker: &'static str,
    /// The first violation of the shrunk run.
    pub message: String,
    /// Faults injected by the original run, and left after shrinking.
    pub faults_before: usize,
    pub faults_after: usize,
    /// Simulation runs spent.
    pub runs: u64,
}

/// Re-runs a candidate and tells whether it still fails with the original checker.
struct Trial {
    seed: u64,
    checker: &'static str,
    /// Simulation runs spent.
    runs: u64,
}

impl Trial {
    fn fails(&mut self, cand: &Scenario) -> bool {
        self.runs += 1;
        let out = run(self.seed, cand);
        out.panic.is_none()
            && check(&out)
                .violations
                .iter()
                .any(|v| v.checker == self.checker)
            || (self.checker == "panic" && out.panic.is_some())
    }
}

/// Shrink seed `seed` of `sc`; `progress` hears each step. Fails when the seed does not fail,
/// or when its faults replayed as a script no longer make it fail.
pub fn shrink(sc: &Scenario, seed: u64, mut progress: impl FnMut(&str)) -> Result<Shrunk, String> {
    let (mut best, mut trial, faults_before) = as_script(sc, seed, &mut progress)?;
    drop_faults(&mut best, &mut trial, &mut progress);
    halve_delays(&mut best, &mut trial);
    shorten_workload(&mut best, &mut trial);
    let out = run(seed, &best);
    trial.runs += 1;
    let message = check(&out)
        .violations
        .iter()
        .find(|v| v.checker == trial.checker)
        .map(|v| v.message.clone())
        .ok_or("the shrunk scenario no longer fails: shrinking is not deterministic")?;
    progress(&format!(
        "done: {} fault(s) left of {faults_before}, workload {} ms, {} runs",
        best.faults.script.len(),
        best.workload.duration_ms,
        trial.runs
    ));
    Ok(Shrunk {
        faults_after: best.faults.script.len(),
        scenario: best,
        seed,
        checker: trial.checker,
        message,
        faults_before,
        runs: trial.runs,
    })
}

/// The failing run's faults as a script, without the fault stream, still failing.
fn as_script(
    sc: &Scenario,
    seed: u64,
    progress: &mut impl FnMut(&str),
) -> Result<(Scenario, Trial, usize), String> {
    let out = run(seed, sc);
    let report = check(&out);
    if report.verdict != Verdict::Invalid {
        return Err(format!(
            "seed {seed} of {} does not fail (verdict {:?}): nothing to shrink",
            sc.name, report.verdict
        ));
    }
    let checker = report.violations[0].checker;
    let faults_before = out.outcome.injected.len();
    progress(&format!(
        "seed {seed} fails with {checker} after {faults_before} faults; replaying them as a script"
    ));
    let mut trial = Trial {
        seed,
        checker,
        runs: 1,
    };
    let mut best = sc.clone();
    best.faults.random = None;
    best.faults.script = out.outcome.injected.clone();
    best.run.seed = Some(seed);
    best.overrides.clear();
    if !trial.fails(&best) {
        return Err(format!(
            "seed {seed}'s {faults_before} faults, replayed as a script, no longer trip {checker}: \
             the failure depends on the fault stream itself"
        ));
    }
    Ok((best, trial, faults_before))
}

/// Drop faults one at a time until none can go (a 1-minimal schedule).
fn drop_faults(best: &mut Scenario, trial: &mut Trial, progress: &mut impl FnMut(&str)) {
    loop {
        let mut changed = false;
        let mut i = best.faults.script.len();
        while i > 0 {
            i -= 1;
            let mut cand = best.clone();
            cand.faults.script.remove(i);
            if trial.fails(&cand) {
                progress(&format!(
                    "dropped fault {}; {} left",
                    describe(&best.faults.script[i]),
                    cand.faults.script.len()
                ));
                *best = cand;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Halve each restart / heal delay while it still fails.
fn halve_delays(best: &mut Scenario, trial: &mut Trial) {
    for i in 0..best.faults.script.len() {
        for heal in [false, true] {
            loop {
                let f = &best.faults.script[i];
                let delay = if heal {
                    f.heal_after_ms
                } else {
                    f.restart_after_ms
                };
                let Some(d) = delay.filter(|d| *d >= 200) else {
                    break;
                };
                let mut cand = best.clone();
                let g = &mut cand.faults.script[i];
                if heal {
                    g.heal_after_ms = Some(d / 2);
                } else {
                    g.restart_after_ms = Some(d / 2);
                }
                if !trial.fails(&cand) {
                    break;
                }
                *best = cand;
            }
        }
    }
}

/// Stop the workload as early as still fails (after the last fault), then slow it while it
/// still fails. A shorter run fails differently, not less often, so the durations are tried
/// from the shortest up: the first that still trips the checker wins.
fn shorten_workload(best: &mut Scenario, trial: &mut Trial) {
    let last = best
        .faults
        .script
        .iter()
        .map(|f| f.at_ms)
        .max()
        .unwrap_or(0);
    let d = best.workload.duration_ms;
    let step = ((d.saturating_sub(last)) / 8).max(500);
    let mut shorter = last + 500;
    while shorter + step / 2 < d {
        let mut cand = best.clone();
        cand.workload.duration_ms = shorter;
        if trial.fails(&cand) {
            *best = cand;
            break;
        }
        shorter += step;
    }
    while best.workload.rate_per_sec >= 20 {
        let mut cand = best.clone();
        cand.workload.rate_per_sec /= 2;
        if !trial.fails(&cand) {
            break;
        }
        *best = cand;
    }
}

fn describe(f: &ScriptedFault) -> String {
    format!("{} {} at {} ms", f.action.name(), f.target, f.at_ms)
}
