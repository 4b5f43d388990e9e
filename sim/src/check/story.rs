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

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome() -> Outcome {
        Outcome {
            invalid: Some(true),
            violation: Some("strong-isr".into()),
            allowed_loss: Some("power loss".into()),
            loses_nothing: false,
            marks: vec!["isr-expand".into()],
        }
    }

    fn shown<'a>(marks: &'a BTreeMap<String, u64>) -> Shown<'a> {
        Shown {
            invalid: true,
            violations: vec!["log-matching", "strong-isr"],
            allowed_losses: vec!["lost it in a power loss", "a power loss before flushing"],
            lost: 2,
            marks,
        }
    }

    #[test]
    fn a_run_that_shows_everything_is_judged_shown() {
        let marks = BTreeMap::from([("isr-expand".to_string(), 3)]);
        let got = judge(&outcome(), &shown(&marks));
        assert_eq!(
            got,
            Ok(
                "INVALID, a strong-isr violation, 2 allowed loss(es): power loss, isr-expand x3"
                    .into()
            )
        );
    }

    #[test]
    fn each_missing_part_is_named() {
        let marks = BTreeMap::new();
        let mut run = shown(&marks);
        run.invalid = false;
        run.violations = vec!["log-matching"];
        run.allowed_losses.push("an unclean leader election");
        let got = judge(&outcome(), &run).unwrap_err();
        assert_eq!(
            got,
            "the verdict INVALID; a strong-isr violation; acknowledged writes lost for the \
             allowed reason \"power loss\" (lost: 3); the protocol branch isr-expand"
        );
        // No allowed loss at all is missing the loss too.
        run.allowed_losses.clear();
        let want = Outcome {
            invalid: None,
            violation: None,
            marks: vec![],
            ..outcome()
        };
        assert!(judge(&want, &run).unwrap_err().contains("(lost: 0)"));
        // A valid verdict is shown as VALID.
        let valid = Outcome {
            invalid: Some(false),
            ..Outcome::default()
        };
        assert_eq!(judge(&valid, &run), Ok("VALID".into()));
    }

    #[test]
    fn loses_nothing_counts_every_loss() {
        let marks = BTreeMap::new();
        let mut run = shown(&marks);
        let want = Outcome {
            loses_nothing: true,
            ..Outcome::default()
        };
        assert_eq!(
            judge(&want, &run),
            Err("no acknowledged write lost (2 were)".into())
        );
        run.lost = 0;
        assert_eq!(judge(&want, &run), Ok("no acknowledged write lost".into()));
    }

    fn story() -> Scenario {
        Scenario {
            expect: Some(outcome()),
            expect_fixed: Some(Outcome {
                invalid: Some(false),
                ..Outcome::default()
            }),
            fix: vec!["min.insync.replicas=2".into()],
            ..Scenario::default()
        }
    }

    #[test]
    fn the_outcome_in_force_follows_the_overrides_and_the_promised_seeds() {
        let mut sc = story();
        assert_eq!(outcome_in_force(&sc, 7), sc.expect.as_ref());
        sc.expect_seeds = vec![3];
        assert_eq!(outcome_in_force(&sc, 7), None, "a seed not promised");
        assert_eq!(outcome_in_force(&sc, 3), sc.expect.as_ref());
        sc.overrides = vec![("min.insync.replicas".into(), "2".into())];
        assert_eq!(
            outcome_in_force(&sc, 3),
            sc.expect_fixed.as_ref(),
            "exactly the fix"
        );
        sc.overrides.push(("acks".into(), "1".into()));
        assert_eq!(outcome_in_force(&sc, 3), None, "the fix and more");
        sc.overrides = vec![("acks".into(), "1".into())];
        assert_eq!(outcome_in_force(&sc, 3), None, "an experiment");
        sc.fix.clear();
        sc.overrides.clear();
        assert_eq!(outcome_in_force(&sc, 3), sc.expect.as_ref());
        sc.overrides = vec![("acks".into(), "1".into())];
        assert_eq!(
            outcome_in_force(&sc, 3),
            None,
            "no fix: any override is an experiment"
        );
    }

    #[test]
    fn sweep_marks_are_required_once_the_sweep_is_long_enough() {
        let mut sc = story();
        sc.sweep_marks = vec!["isr-expand".into()];
        sc.sweep_marks_within = 100;
        sc.swarm_marks = vec!["fault:pause".into()];
        sc.swarm_marks_within = 1000;
        assert_eq!(marks_required(&sc, 100), &sc.sweep_marks[..]);
        assert!(marks_required(&sc, 99).is_empty());
        let swarm = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        sc.overrides = swarm("faults.random.swarm", "true");
        assert_eq!(marks_required(&sc, 1000), &sc.swarm_marks[..]);
        assert!(marks_required(&sc, 999).is_empty());
        sc.overrides = swarm("faults.random.swarm", "false");
        assert!(marks_required(&sc, 1000).is_empty());
        sc.overrides = swarm("faults.random.kinds", "true");
        assert!(marks_required(&sc, 1000).is_empty());
        sc.overrides = swarm("faults.random.swarm", "true");
        sc.overrides
            .extend(swarm("faults.random.kinds", "[\"crash\"]"));
        assert!(marks_required(&sc, 1000).is_empty(), "swarm and more");
    }
}
