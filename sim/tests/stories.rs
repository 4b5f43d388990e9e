//! The foundation's promises, each as a story: what acks=1 may lose, what acks=all with
//! min.insync.replicas=2 may not, what a power loss of every replica costs, that a run is a
//! pure function of its seed, and that every checker flags the broken protocol it exists for.

mod common;

use common::{run_check, scenario, valid_run};
use ksim::check::{check, Verdict};
use ksim::cluster::ctx::lock;
use ksim::cluster::run::run;
use ksim::scenario::parse::gallery;

#[test]
fn acks_1_failover_loses_unreplicated_write() {
    let report = run_check(&scenario("acks-1-failover", &[]), 1);
    assert_eq!(report.verdict, Verdict::Valid, "{:?}", report.violations);
    assert!(
        report.counts.lost_allowed > 0,
        "the crashed leader's unreplicated acks must be lost"
    );
    assert!(
        report
            .allowed_losses
            .iter()
            .all(|l| l.reason.starts_with("acks=1")),
        "{:?}",
        report.allowed_losses
    );
    assert!(report.counts.acked > 1000);
}

#[test]
fn acks_all_leader_crash_loses_nothing_acknowledged() {
    let sc = scenario("acks-all-leader-crash", &[]);
    for seed in 1..=12 {
        let report = valid_run(&sc, seed);
        assert_eq!(report.counts.lost_allowed, 0, "seed {seed}");
        assert_eq!(
            report.counts.injected.crashes, 2,
            "seed {seed}: both scripted crashes must happen"
        );
        assert!(report.counts.leader_changes >= 2, "seed {seed}");
    }
}

#[test]
fn power_loss_of_every_replica_loses_unflushed_acks_and_says_why() {
    let report = run_check(&scenario("power-loss-without-fsync", &[]), 1);
    assert_eq!(report.verdict, Verdict::Valid, "{:?}", report.violations);
    assert!(report.counts.lost_allowed > 100);
    assert!(report
        .allowed_losses
        .iter()
        .all(|l| l.reason.contains("power loss")));
}

#[test]
fn flushing_every_message_survives_the_same_power_loss() {
    let report = run_check(
        &scenario(
            "power-loss-without-fsync",
            &["log.flush.interval.messages=1"],
        ),
        1,
    );
    assert_eq!(report.verdict, Verdict::Valid, "{:?}", report.violations);
    assert_eq!(report.counts.lost_allowed, 0);
    assert!(report.counts.flushes > 1000);
}

#[test]
fn the_same_seed_gives_the_same_trace_for_every_scenario() {
    let names = gallery();
    assert!(names.len() >= 4, "{names:?}");
    for (name, _) in names {
        let sc = scenario(&name, &["duration_ms=12000"]);
        let a = run(7, &sc);
        let b = run(7, &sc);
        let c = run(8, &sc);
        let (ha, hb, hc) = (
            lock(&a.ctx.observer).trace_hash(),
            lock(&b.ctx.observer).trace_hash(),
            lock(&c.ctx.observer).trace_hash(),
        );
        assert_eq!(ha, hb, "{name}: seed 7 twice gave different traces");
        assert_ne!(
            ha, hc,
            "{name}: seeds 7 and 8 gave the same trace: the hash compares nothing"
        );
        assert_eq!(
            lock(&a.ctx.observer).history.len(),
            lock(&b.ctx.observer).history.len()
        );
    }
}

/// Each checker must flag the deliberately broken protocol it exists for; the same scenario
/// passes without the flaw (the tests above).
/// A flaw shows only when a fault meets records it mishandled (an ack-before-replication loses
/// writes only if the leader crashes while some are not yet fetched): the first of seeds 1..=5
/// that shows it must be flagged by `checker`, and some seed must show it.
fn flagged_by(name: &str, flaw: &str, checker: &str) {
    let sc = scenario(name, &[&format!("flaw={flaw}")]);
    let report = (1..=5)
        .map(|seed| run_check(&sc, seed))
        .find(|r| r.verdict == Verdict::Invalid)
        .unwrap_or_else(|| panic!("{flaw} went unnoticed in seeds 1..=5"));
    assert!(
        report.violations.iter().any(|v| v.checker == checker),
        "{flaw}: expected a {checker} violation, got {:?}",
        report.violations.first()
    );
}

#[test]
fn durability_checker_flags_a_leader_that_acks_before_replication() {
    flagged_by(
        "acks-all-leader-crash",
        "ack-before-replication",
        "acked-durability",
    );
}

#[test]
fn hw_checker_flags_a_leader_whose_hw_goes_backwards() {
    flagged_by("acks-all-leader-crash", "hw-regress", "leader-hw-monotonic");
}

#[test]
fn leader_checker_flags_an_election_without_an_epoch_bump() {
    flagged_by(
        "acks-all-leader-crash",
        "elect-without-epoch-bump",
        "one-leader-per-epoch",
    );
}

#[test]
fn log_matching_checker_flags_a_follower_that_never_truncates() {
    flagged_by("acks-1-failover", "skip-truncation", "log-matching");
}

#[test]
fn a_run_without_its_faults_is_vacuous() {
    // The scripted crash at 5 s never fires when the workload stops at 3 s.
    let report = run_check(&scenario("acks-all-leader-crash", &["duration_ms=3000"]), 1);
    assert_eq!(report.verdict, Verdict::Vacuous);
    assert!(
        report.vacuous.iter().any(|v| v.contains("faults")),
        "{:?}",
        report.vacuous
    );
}

#[test]
fn liveness_check_reports_a_planted_livelock_as_a_stall_with_each_replica_state() {
    let report = run_check(
        &scenario(
            "default",
            &[
                "flaw=followers-never-fetch",
                "duration_ms=6000",
                "settle_ms=5000",
            ],
        ),
        1,
    );
    assert_eq!(report.verdict, Verdict::Invalid);
    let stall = report
        .violations
        .iter()
        .find(|v| v.checker == "liveness")
        .expect("a stall finding");
    assert!(stall.message.contains("broker 2 p0"), "{}", stall.message);
}

#[test]
fn a_panic_inside_the_simulation_is_a_finding_with_its_seed() {
    let sc = scenario("acks-all-leader-crash", &["flaw=panic-on-restart"]);
    let out = run(4, &sc);
    let panic = out.panic.clone().expect("the planted panic must surface");
    assert!(panic.contains("planted panic"), "{panic}");
    let report = check(&out);
    assert_eq!(report.verdict, Verdict::Invalid);
    assert_eq!(report.violations[0].checker, "panic");
    assert!(ksim::report::output::reproduce_line(&sc, 4)
        .contains("--seed 4 --set flaw=panic-on-restart"));
}

#[test]
fn jepsen_2013_unclean_election_loses_writes_the_isolated_leader_acknowledged_alone() {
    let report = run_check(&scenario("jepsen-2013", &[]), 1);
    assert_eq!(report.verdict, Verdict::Valid, "{:?}", report.violations);
    assert_eq!(report.counts.unclean_elections, 1);
    assert!(report.counts.lost_allowed > 100, "{:?}", report.counts);
    assert!(report
        .allowed_losses
        .iter()
        .all(|l| l.reason.contains("unclean leader election")));
}

#[test]
fn jepsen_2013_with_min_insync_2_and_clean_election_loses_nothing() {
    let sc = scenario(
        "jepsen-2013",
        &[
            "min.insync.replicas=2",
            "unclean.leader.election.enable=false",
        ],
    );
    for seed in 1..=3 {
        let report = valid_run(&sc, seed);
        assert_eq!(report.counts.lost_allowed, 0, "seed {seed}");
        assert_eq!(report.counts.unclean_elections, 0, "seed {seed}");
        assert_eq!(report.counts.injected.partitions, 2, "seed {seed}");
    }
}
