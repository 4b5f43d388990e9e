//! The simulator's gate for a change to the protocol (and for `just mutants`, which runs the
//! survivors of model/'s own tests against it): a short swarm sweep of the safe configuration
//! must have no finding, and reach the protocol branches it always reaches.

mod common;

use common::scenario;
use ksim::check::{check, Verdict};
use ksim::cluster::run::run;

#[test]
fn a_short_swarm_sweep_of_the_safe_configuration_has_no_finding() {
    let sc = scenario("default", &["faults.random.swarm=true"]);
    let mut valid = 0;
    let mut marks = std::collections::BTreeSet::new();
    for seed in 1..=40 {
        let out = run(seed, &sc);
        let r = check(&out);
        assert!(out.panic.is_none(), "seed {seed}: {:?}", out.panic);
        assert_ne!(
            r.verdict,
            Verdict::Invalid,
            "seed {seed}: {:?}",
            r.violations.first()
        );
        valid += u64::from(r.verdict == Verdict::Valid);
        marks.extend(r.marks.into_keys());
    }
    assert!(valid >= 38, "{valid} of 40 seeds valid");
    for m in [
        "isr-expand",
        "broker-fenced",
        "truncate:diverging-epoch",
        "diverging-epoch",
    ] {
        assert!(marks.contains(m), "no seed reached {m}: {marks:?}");
    }
}
