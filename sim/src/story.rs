//! What a story must show. A gallery story or found scenario declares its outcome in
//! `[expect]` (and `[expect.fixed]` for `--fixed`): the verdict, the checker it breaks with, the
//! allowed loss it shows, the coverage marks it reaches. A run of the story as written (or with
//! exactly its fix) that no longer shows it is a `story` violation, never a quiet VALID.

use std::collections::BTreeMap;

use crate::scenario::{Outcome, Scenario};

/// What a run showed, as the story's judge needs it.
pub struct Shown<'a> {
    pub invalid: bool,
    /// The checker of each violation.
    pub violations: Vec<&'a str>,
    /// The reason of each allowed loss.
    pub allowed_losses: Vec<&'a str>,
    /// Acknowledged writes lost, allowed or not.
    pub lost: u64,
    pub marks: &'a BTreeMap<String, u64>,
}

/// The outcome a run of `sc` with `seed` must show: `[expect]` with no overrides, `[expect.fixed]` with
/// exactly the story's fix; none once anything else was changed (a user's experiment).
pub fn outcome_in_force(sc: &Scenario, seed: u64) -> Option<&Outcome> {
    if !sc.expect_seeds.is_empty() && !sc.expect_seeds.contains(&seed) {
        return None;
    }
    let applied: Vec<String> = sc
        .overrides
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if applied.is_empty() {
        sc.expect.as_ref()
    } else if !sc.fix.is_empty() && applied == sc.fix {
        sc.expect_fixed.as_ref()
    } else {
        None
    }
}

/// Whether `run` shows `o`: Ok with what it showed, or Err with what it did not.
pub fn judge(o: &Outcome, run: &Shown) -> Result<String, String> {
    let mut shown = Vec::new();
    let mut missing = Vec::new();
    let invalid = run.invalid;
    if let Some(want) = o.invalid {
        let word = if want { "INVALID" } else { "VALID" };
        if invalid == want {
            shown.push(word.to_string());
        } else {
            missing.push(format!("the verdict {word}"));
        }
    }
    if let Some(c) = &o.violation {
        if run.violations.contains(&c.as_str()) {
            shown.push(format!("a {c} violation"));
        } else {
            missing.push(format!("a {c} violation"));
        }
    }
    if let Some(why) = &o.allowed_loss {
        let lost = &run.allowed_losses;
        if !lost.is_empty() && lost.iter().all(|l| l.contains(why.as_str())) {
            shown.push(format!("{} allowed loss(es): {why}", lost.len()));
        } else {
            missing.push(format!(
                "acknowledged writes lost for the allowed reason \"{why}\" (lost: {})",
                lost.len()
            ));
        }
    }
    if o.loses_nothing {
        match run.lost {
            0 => shown.push("no acknowledged write lost".to_string()),
            n => missing.push(format!("no acknowledged write lost ({n} were)")),
        }
    }
    for m in &o.marks {
        match run.marks.get(m) {
            Some(n) => shown.push(format!("{m} x{n}")),
            None => missing.push(format!("the protocol branch {m}")),
        }
    }
    if missing.is_empty() {
        Ok(shown.join(", "))
    } else {
        Err(missing.join("; "))
    }
}

/// The coverage marks a sweep of `sc` over `seeds` seeds must reach: `[expect] sweep_marks` as
/// written, `[expect.swarm] sweep_marks` with only `faults.random.swarm=true`, each once the
/// sweep has its `within_seeds`; none with other overrides (an experiment may rightly reach
/// less).
pub fn marks_required(sc: &Scenario, seeds: u64) -> &[String] {
    let swarm_only = sc.overrides.len() == 1
        && sc.overrides[0].0 == "faults.random.swarm"
        && sc.overrides[0].1 == "true";
    if sc.overrides.is_empty() && seeds >= sc.sweep_marks_within {
        &sc.sweep_marks
    } else if swarm_only && seeds >= sc.swarm_marks_within {
        &sc.swarm_marks
    } else {
        &[]
    }
}
