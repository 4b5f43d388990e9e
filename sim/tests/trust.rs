//! Verdicts that earn trust: each protocol bug that once passed every check, planted as a
//! `Flaw`, is flagged by the checker that exists for it (never by an assertion inside the
//! model), and the same run without the flaw holds.

mod common;

use common::{run_check, scenario};
use ksim::check::{check, Report, Verdict};
use ksim::cluster::run::run;

fn checkers(r: &Report) -> Vec<&'static str> {
    r.violations.iter().map(|v| v.checker).collect()
}

/// Run `seed` of `name` with `sets`, allowing a panic after the violation (a flawed protocol
/// may trip a model assertion later in the run): the report of what the checkers saw.
fn flawed(name: &str, sets: &[&str], seed: u64) -> Report {
    check(&run(seed, &scenario(name, sets)))
}

fn assert_flagged(r: &Report, checker: &str) {
    assert!(
        r.violations.iter().any(|v| v.checker == checker),
        "expected a {checker} violation, got {:?}",
        checkers(r)
    );
}

#[test]
fn read_above_hw_flags_consumers_served_up_to_the_leo() {
    for name in ["default", "consumer-group-crash", "orders-and-payments"] {
        let consumers: &[&str] = if name == "default" {
            &["consumers=1"]
        } else {
            &[]
        };
        let plain = run_check(&scenario(name, consumers), 1);
        assert_eq!(
            plain.verdict,
            Verdict::Valid,
            "{name}: {:?}",
            checkers(&plain)
        );
        let cov = plain.coverage.iter().find(|c| c.checker == "read-above-hw");
        assert!(
            cov.is_some_and(|c| c.compared > 0),
            "{name}: reads compared"
        );
        let mut sets = consumers.to_vec();
        sets.push("flaw=read-above-hw");
        assert_flagged(&flawed(name, &sets, 1), "read-above-hw");
    }
}

#[test]
fn a_leader_that_never_shrinks_the_isr_is_an_unavailability_finding() {
    let plain = run_check(&scenario("follower-cut-off", &[]), 1);
    assert_eq!(
        plain.verdict,
        Verdict::Valid,
        "{:?}",
        plain.violations.first()
    );
    assert!(plain.marks.contains_key("isr-shrink-for-lag"));
    // The partition waits about replica.lag.time.max.ms (5 s) before the ISR shrinks.
    let waited = plain.counts.unavailable_ms;
    assert!((3_000..=9_000).contains(&waited), "unavailable {waited} ms");
    let r = flawed("follower-cut-off", &["flaw=never-shrink-isr"], 1);
    assert_flagged(&r, "unavailability");
    assert!(
        r.counts.unavailable_ms > 14_000,
        "{}",
        r.counts.unavailable_ms
    );
}

#[test]
fn a_disk_that_keeps_unflushed_data_through_power_loss_is_caught() {
    let r = flawed(
        "power-loss-without-fsync",
        &["flaw=disk-keeps-unflushed"],
        1,
    );
    assert_flagged(&r, "disk");
    let plain = run_check(&scenario("power-loss-without-fsync", &[]), 1);
    let disk = plain.coverage.iter().find(|c| c.checker == "disk").unwrap();
    assert!(disk.compared > 0, "restarted logs compared");
}

#[test]
fn an_unclean_election_the_configuration_forbids_is_a_violation_and_excuses_no_loss() {
    let sets = ["faults.random.swarm=true", "flaw=unclean-when-disabled"];
    let r = flawed("default", &sets, 11);
    assert_flagged(&r, "unclean-election");
    assert!(
        r.allowed_losses
            .iter()
            .all(|l| !l.reason.contains("unclean")),
        "{:?}",
        r.allowed_losses.first()
    );
    let plain = run_check(&scenario("default", &sets[..1]), 11);
    assert_eq!(plain.counts.unclean_elections, 0);
}

#[test]
fn votes_are_judged_from_what_each_voter_wrote_and_sent() {
    let r = flawed("controller-failover", &["quorum_flaw=double-vote"], 20);
    assert_flagged(&r, "quorum");
    assert!(r
        .violations
        .iter()
        .any(|v| v.message.contains("votes once per term")));
    let r = flawed(
        "controller-failover",
        &["quorum_flaw=forget-vote-on-restart"],
        1,
    );
    assert!(r
        .violations
        .iter()
        .any(|v| v.message.contains("without that vote on its disk")));
    let plain = run_check(&scenario("controller-failover", &[]), 20);
    let votes = plain.coverage.iter().find(|c| c.unit.contains("votes"));
    assert!(votes.is_some_and(|c| c.compared > 0));
}

#[test]
fn a_follower_hw_above_its_leo_is_caught_by_the_replica_check() {
    assert_flagged(
        &flawed("default", &["flaw=follower-hw-above-leo"], 1),
        "hw-within-leo",
    );
}

#[test]
fn a_follower_that_never_truncates_breaks_log_matching_when_it_happens() {
    let r = flawed("default", &["flaw=skip-truncation"], 3);
    let end = r.violations.iter().map(|v| v.time_ms).max().unwrap();
    let first = r
        .violations
        .iter()
        .find(|v| v.checker == "log-matching")
        .expect("log-matching flags it");
    assert!(
        first.time_ms < end,
        "flagged at {} ms, not only at the end",
        first.time_ms
    );
}

#[test]
fn a_loss_counts_from_its_commit_not_from_the_late_acknowledgement() {
    // The leader committed value 296 at 4987 ms and answered at once, but its links were cut:
    // the answer arrived at 21378 ms, after KIP-966's recovery among a last known ELR that had
    // all lost it in power losses. Kafka promises it no more than the 274 records before it.
    let r = run_check(&scenario("default", &["faults.random.swarm=true"]), 9002339);
    assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.violations.first());
    assert_eq!(r.counts.lost_allowed, 275);
}
