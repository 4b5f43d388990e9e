//! Helpers shared by the integration tests: load a gallery scenario with overrides, run one
//! seed and check it.

use ksim::checker::{check, Report};
use ksim::run::run;
use ksim::scenario::Scenario;
use ksim::scenario_parse::{apply_set, load};

pub fn scenario(name: &str, sets: &[&str]) -> Scenario {
    let mut sc = load(name).unwrap_or_else(|e| panic!("{e}"));
    for s in sets {
        apply_set(&mut sc, s).unwrap_or_else(|e| panic!("{e}"));
    }
    sc
}

/// Run and check one seed; a panic inside the simulation fails the test with its message.
pub fn run_check(sc: &Scenario, seed: u64) -> Report {
    let out = run(seed, sc);
    assert!(out.panic.is_none(), "seed {seed}: {:?}", out.panic);
    check(&out)
}
