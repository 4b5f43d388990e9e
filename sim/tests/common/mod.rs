//! Helpers shared by the integration tests: load a gallery scenario with overrides, run one
//! seed and check it, or run the `ksim` binary. Each test crate uses some of them.
#![allow(dead_code)]

use ksim::check::{check, Report};
use ksim::cluster::run::run;
use ksim::scenario::parse::{apply_set, load};
use ksim::scenario::Scenario;

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

/// Run and check one seed that must be VALID; its report.
pub fn valid_run(sc: &Scenario, seed: u64) -> Report {
    let report = run_check(sc, seed);
    assert_eq!(
        report.verdict,
        ksim::check::Verdict::Valid,
        "seed {seed}: {:?}",
        report.violations
    );
    report
}

/// Run the `ksim` binary in `dir`: (exit code, stdout, stderr).
pub fn ksim_in(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ksim"))
        .args(args)
        .env_remove("RUST_LOG")
        .current_dir(dir)
        .output()
        .expect("run ksim");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Run the `ksim` binary in the `sim/` directory. A `run` there writes no report (it would
/// land in the source tree); tests of reports use `ksim_in` with `--report-dir`.
pub fn ksim(args: &[&str]) -> (i32, String, String) {
    let mut args = args.to_vec();
    if args.first() == Some(&"run") && !args.contains(&"--report-dir") {
        args.push("--no-report");
    }
    ksim_in(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), &args)
}
