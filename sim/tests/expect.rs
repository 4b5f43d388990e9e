//! Stories state what they must show: every gallery story and found scenario with an
//! `[expect]` shows it for its seeds, as written and with `--fixed`; one that no longer shows
//! it fails with a `story` violation.

mod common;

use common::run_check;
use ksim::check::Verdict;
use ksim::scenario::parse::{apply_set, gallery, load};
use ksim::scenario::Scenario;

fn seeds(sc: &Scenario) -> Vec<u64> {
    match (&sc.expect_seeds, sc.run.seed) {
        (s, _) if !s.is_empty() => s.clone(),
        (_, Some(seed)) => vec![seed],
        _ => vec![1, 2, 3],
    }
}

fn shows(sc: &Scenario, what: &str) -> usize {
    let mut judged = 0;
    for seed in seeds(sc) {
        let r = run_check(sc, seed);
        let story = r.violations.iter().find(|v| v.checker == "story");
        assert!(
            story.is_none(),
            "{} {what} seed {seed}: {}",
            sc.name,
            story.unwrap().message
        );
        if r.story.is_some() {
            judged += 1;
        }
    }
    judged
}

fn every_story() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/found");
    let mut names: Vec<String> = gallery().into_iter().map(|(n, _)| n).collect();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            names.push(path.to_string_lossy().into_owned());
        }
    }
    names
}

#[test]
fn every_story_shows_what_it_declares_as_written_and_fixed() {
    let mut judged = 0;
    for name in every_story() {
        let sc = load(&name).unwrap();
        if sc.expect.is_some() {
            judged += shows(&sc, "as written");
        }
        if let Some(fixed) = fixed(&sc) {
            judged += shows(&fixed, "--fixed");
        }
    }
    assert!(judged >= 30, "only {judged} story runs judged");
}

fn fixed(sc: &Scenario) -> Option<Scenario> {
    sc.expect_fixed.as_ref()?;
    let mut f = sc.clone();
    for a in &sc.fix {
        apply_set(&mut f, a).unwrap();
    }
    Some(f)
}

#[test]
fn every_gallery_story_declares_its_outcome() {
    for (name, _) in gallery() {
        let sc = load(&name).unwrap();
        let random = sc.faults.random.is_some();
        assert!(
            sc.expect.is_some() || random,
            "{name}: a scripted story must declare [expect]"
        );
        assert!(
            sc.fix.is_empty() || sc.expect_fixed.is_some(),
            "{name}: a story with a fix must declare [expect.fixed]"
        );
    }
}

#[test]
fn a_story_that_no_longer_shows_its_loss_fails_with_a_clear_message() {
    // As if a change made every record durable: the power-loss story's point is gone.
    let mut sc = load("power-loss-without-fsync").unwrap();
    sc.broker.log_flush_interval_messages = Some(1);
    let r = run_check(&sc, 1);
    assert_eq!(r.verdict, Verdict::Invalid);
    let v = r.violations.iter().find(|v| v.checker == "story").unwrap();
    assert!(
        v.message.contains("allowed reason \"power loss\""),
        "{}",
        v.message
    );
    // A user's own override is an experiment: the story's outcome is not judged then.
    let mut sc = load("power-loss-without-fsync").unwrap();
    apply_set(&mut sc, "log.flush.interval.messages=1").unwrap();
    assert_eq!(run_check(&sc, 1).verdict, Verdict::Valid);
}

#[test]
fn an_expectation_names_real_checkers_and_marks() {
    let dir = std::env::temp_dir().join(format!("ksim-expect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (body, what) in [
        (
            "[expect]\nviolation = \"acked-durabilty\"\n",
            "did you mean `acked-durability`",
        ),
        (
            "[expect]\nmarks = [\"isr-shrink\"]\n",
            "unknown coverage mark `isr-shrink`",
        ),
        (
            "[expect]\nverdict = \"ok\"\n",
            "must be one of: valid, invalid",
        ),
    ] {
        let path = dir.join("bad.toml");
        std::fs::write(&path, body).unwrap();
        let e = load(path.to_str().unwrap()).unwrap_err().to_string();
        assert!(e.contains(what), "{e}");
        assert!(e.contains("bad.toml:2"), "{e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
