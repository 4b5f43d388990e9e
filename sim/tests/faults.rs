//! Each network and clock fault does what it says, shown by a contrast: the same run with the
//! fault strong enough to matter and with it too weak to (or absent) must differ in the one
//! count the fault should move. A fault that silently did nothing would fail here.

mod common;

use common::{run_check, scenario};
use ksim::check::{Report, Verdict};
use ksim::scenario::{FaultAction, Scenario, ScriptedFault, Target};

/// `default` (RF 3, min.insync.replicas=2, acks=all, 20 s of writes) without its random
/// faults, and one scripted fault from 3 s to 17 s on `target`: longer than the 9 s
/// broker.session.timeout.ms, so that a fault that stops heartbeats gets a broker fenced.
/// `parameter` goes under the fault's own key (`latency_ms`, `loss_percent`, `clock_percent`).
fn with_fault(action: FaultAction, target: Target, parameter: u64) -> Scenario {
    let mut sc = scenario("default", &[]);
    sc.faults.random = None;
    sc.faults.script = vec![ScriptedFault::lasting(
        3_000, action, target, 14_000, parameter,
    )];
    sc
}

fn valid(r: &Report) -> &Report {
    assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.violations.first());
    r
}

#[test]
fn a_leader_too_slow_to_reach_the_controllers_is_fenced_and_replaced_and_a_slightly_slow_one_is_not(
) {
    // Heartbeats go one at a time: 2 x latency is the heartbeat round trip, against the 9 s
    // broker.session.timeout.ms.
    let slow = |ms| with_fault(FaultAction::SlowToController, Target::LeaderOf(0), ms);
    for seed in 1..=3 {
        let fenced = run_check(&slow(6_000), seed);
        let kept = run_check(&slow(1_000), seed);
        assert!(
            valid(&fenced).counts.leader_changes >= 1,
            "seed {seed}: a 12 s heartbeat round trip did not fence the leader"
        );
        assert_eq!(valid(&kept).counts.leader_changes, 0, "seed {seed}");
        assert_eq!(fenced.counts.injected.link_faults, 1);
    }
}

#[test]
fn a_slow_leader_delays_acknowledgements() {
    // Every message to and from the leader waits 500 ms: the producer's requests and the
    // followers' fetches both. Fewer writes are acknowledged within the workload.
    let slow = with_fault(FaultAction::Slow, Target::LeaderOf(0), 500);
    let none = with_fault(FaultAction::Slow, Target::LeaderOf(0), 1);
    let (a, b) = (run_check(&slow, 1), run_check(&none, 1));
    assert!(
        valid(&a).counts.acked + 100 < valid(&b).counts.acked,
        "slow {} vs {}",
        a.counts.acked,
        b.counts.acked
    );
}

#[test]
fn lossy_links_reset_connections_and_leave_writes_of_unknown_outcome() {
    let lossy = |pct| with_fault(FaultAction::Lossy, Target::LeaderOf(0), pct);
    let (a, b) = (run_check(&lossy(40), 1), run_check(&lossy(1), 1));
    assert!(
        valid(&a).counts.unknown > valid(&b).counts.unknown + 10,
        "40% loss: {} unknown, 1% loss: {}",
        a.counts.unknown,
        b.counts.unknown
    );
}

#[test]
fn a_split_that_leaves_the_leader_in_the_minority_moves_leadership_to_the_majority() {
    let split = with_fault(FaultAction::Split, Target::LeaderOf(0), 0);
    let r = run_check(&split, 1);
    assert!(valid(&r).counts.leader_changes >= 1);
    assert_eq!(r.counts.injected.partitions, 1);
    // The same split led by a follower leaves the leader with the majority.
    let split = with_fault(FaultAction::Split, Target::FollowerOf(0), 0);
    let r = run_check(&split, 1);
    assert_eq!(valid(&r).counts.leader_changes, 0);
}

#[test]
fn a_bridge_keeps_the_cluster_writable_through_the_one_node_that_reaches_both_sides() {
    let bridge = with_fault(FaultAction::Bridge, Target::LeaderOf(0), 0);
    let isolate = with_fault(FaultAction::Isolate, Target::LeaderOf(0), 0);
    let (a, b) = (run_check(&bridge, 1), run_check(&isolate, 1));
    assert_eq!(valid(&a).counts.injected.partitions, 1);
    assert!(
        valid(&b).counts.leader_changes > a.counts.leader_changes,
        "bridge {} leader changes, isolation {}",
        a.counts.leader_changes,
        b.counts.leader_changes
    );
}

#[test]
fn a_leader_whose_clock_runs_slow_heartbeats_too_rarely_and_is_fenced() {
    // broker.heartbeat.interval.ms = 2000 on a clock at 20% is 10 s of the controllers' time,
    // past the 9 s session; at 50% it is 4 s, well within.
    let drift = |pct| with_fault(FaultAction::ClockDrift, Target::LeaderOf(0), pct);
    let (a, b) = (run_check(&drift(20), 1), run_check(&drift(50), 1));
    assert!(valid(&a).counts.leader_changes >= 1);
    assert_eq!(valid(&b).counts.leader_changes, 0);
    assert_eq!(a.counts.injected.clock_drifts, 1);
}

#[test]
fn a_slow_alter_partition_keeps_a_caught_up_follower_out_of_the_isr_while_heartbeats_flow() {
    // A follower crashes at 3 s and restarts at 5 s; it is fenced when its old session expires
    // (about 11 s), registers again, catches up, and its leader asks to add it back. With the
    // leader's AlterPartition requests 15 s slow, the request lands after the run, and the
    // leader is never fenced (its heartbeats are not delayed).
    let rejoin = |ms| {
        let mut sc = with_fault(FaultAction::SlowAlterPartition, Target::LeaderOf(0), ms);
        sc.faults.script.push(ScriptedFault::lasting(
            3_000,
            FaultAction::Crash,
            Target::FollowerOf(0),
            2_000,
            0,
        ));
        run_check(&sc, 1)
    };
    let (slow, fast) = (rejoin(15_000), rejoin(1));
    let answers = |r: &Report| {
        r.messages_by_kind
            .get("alter_partition_response")
            .copied()
            .unwrap_or(0)
    };
    assert!(answers(valid(&fast)) >= 1);
    assert_eq!(answers(valid(&slow)), 0);
    assert_eq!(slow.counts.leader_changes, 0);
}

#[test]
fn a_follower_whose_metadata_stalls_is_elected_without_knowing_and_answers_unknown_leader_epoch() {
    // The leader is cut off from the controllers at 4 s and fenced about 9 s later; the
    // follower elected in its place has its metadata stalled from 3 s to 17 s. It goes on
    // following the old leader, and the other follower, which moved to it, is answered
    // UNKNOWN_LEADER_EPOCH (Kafka's answer to a fetch from an epoch the leader has not heard
    // of) until the stall ends. Without the stall the new leader knows at once.
    let replaced = |stall: bool| {
        let mut sc = with_fault(FaultAction::StaleMetadata, Target::FollowerOf(0), 0);
        if !stall {
            sc.faults.script.clear();
        }
        sc.faults.script.push(ScriptedFault::lasting(
            4_000,
            FaultAction::IsolateFromController,
            Target::LeaderOf(0),
            16_000,
            0,
        ));
        sc
    };
    let unknown_epoch = |r: &Report| r.errors.get("UNKNOWN_LEADER_EPOCH").copied().unwrap_or(0);
    for seed in 1..=3 {
        let (stalled, moved) = (
            run_check(&replaced(true), seed),
            run_check(&replaced(false), seed),
        );
        assert!(valid(&stalled).counts.leader_changes >= 1, "seed {seed}");
        assert!(valid(&moved).counts.leader_changes >= 1, "seed {seed}");
        assert_eq!(stalled.counts.injected.metadata_stalls, 1);
        assert!(
            unknown_epoch(&stalled) >= 1,
            "seed {seed}: {:?}",
            stalled.errors
        );
        assert_eq!(unknown_epoch(&moved), 0, "seed {seed}: {:?}", moved.errors);
    }
}

/// Random faults aimed every time at a leader, or drawn from a kind written twice, are still
/// injected (both were once reported as "no fault injected").
#[test]
fn aimed_random_faults_and_a_kind_written_twice_are_injected() {
    for sets in [&["aim_percent=100"][..], &["kinds=[\"crash\", \"crash\"]"]] {
        for seed in 1..=3 {
            let report = run_check(&scenario("default", sets), seed);
            assert!(
                report.counts.injected.any() >= 1,
                "{sets:?} seed {seed}: {:?}",
                report.counts.injected
            );
            assert_ne!(report.verdict, Verdict::Vacuous, "{sets:?} seed {seed}");
        }
    }
}
