//! Consumer groups: a member that crashes hands its partitions to the others, who re-read
//! from the committed offsets (re-deliveries, counted) and skip nothing. Each consumer checker
//! is shown to flag a deliberately broken variant.
//!
//! The acceptance sweep is `ksim sweep consumer-group-crash --seeds 1000` (README); the test
//! below runs a prefix of it (KSIM_CONSUMER_SEEDS raises it).

mod common;

use common::{run_check, scenario};
use ksim::check::{Report, Verdict};

fn seeds() -> u64 {
    std::env::var("KSIM_CONSUMER_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6)
}

fn checkers(r: &Report) -> Vec<&'static str> {
    let mut c: Vec<&'static str> = r.violations.iter().map(|v| v.checker).collect();
    c.dedup();
    c
}

#[test]
fn a_group_member_that_crashes_hands_its_partitions_over_without_a_skip() {
    let sc = scenario("consumer-group-crash", &[]);
    let mut redelivered = 0;
    for seed in 1..=seeds() {
        let r = run_check(&sc, seed);
        assert_eq!(
            r.verdict,
            Verdict::Valid,
            "seed {seed}: {:?}",
            r.violations.first()
        );
        assert_eq!(
            r.counts.injected.crashes, 1,
            "seed {seed}: the consumer crashed"
        );
        // Every acknowledged write in the committed log was polled: the drain and `unseen`.
        let unseen = r
            .coverage
            .iter()
            .find(|c| c.checker == "unseen")
            .expect("ran");
        assert_eq!(
            unseen.compared,
            r.counts.acked - r.counts.lost_allowed,
            "seed {seed}"
        );
        assert!(r.counts.polled >= r.counts.acked, "seed {seed}");
        redelivered += r.counts.redelivered;
    }
    assert!(redelivered > 0, "the crash and the rebalances re-deliver");
}

#[test]
fn poll_skip_and_unseen_flag_a_consumer_that_skips_a_record() {
    let r = run_check(
        &scenario("consumer-group-crash", &["flaw=consumer-skips-a-record"]),
        1,
    );
    assert_eq!(r.verdict, Verdict::Invalid);
    let c = checkers(&r);
    assert!(c.contains(&"poll-skip"), "{c:?}");
    assert!(c.contains(&"unseen"), "{c:?}");
    let skip = r
        .violations
        .iter()
        .find(|v| v.checker == "poll-skip")
        .expect("found");
    assert!(skip.message.contains("skipped offsets"), "{}", skip.message);
}

#[test]
fn inconsistent_offsets_flags_consumers_served_above_the_hw() {
    // acks=1 with a leader crash: records the leader alone held are lost in the failover. A
    // consumer reading below the HW never sees them; one served up to the LEO does.
    let sets = ["consumers=3", "auto.offset.reset=earliest"];
    let plain = run_check(&scenario("acks-1-failover", &sets), 1);
    assert_eq!(
        plain.verdict,
        Verdict::Valid,
        "{:?}",
        plain.violations.first()
    );
    assert!(plain.counts.polled > 0);
    let flawed = [sets[0], sets[1], "flaw=read-above-hw"];
    let r = run_check(&scenario("acks-1-failover", &flawed), 1);
    let c = checkers(&r);
    assert!(c.contains(&"inconsistent-offsets"), "{c:?}");
}

/// Several topics: the producers write each topic in turn, the group reads them all, and the
/// range assignor splits each topic's partitions on its own. The history names each line's
/// topic.
#[test]
fn a_group_reads_several_topics_and_the_history_names_them() {
    let sets = ["topics=[\"orders\", \"payments\"]", "num.partitions=3"];
    let sc = scenario("consumer-group-crash", &sets);
    assert_eq!(sc.total_partitions(), 6);
    let out = ksim::cluster::run::run(1, &sc);
    assert!(out.panic.is_none(), "{:?}", out.panic);
    let r = ksim::check::check(&out);
    assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.violations.first());
    let obs = ksim::cluster::ctx::lock(&out.ctx.observer);
    for part in 0..6 {
        assert!(
            obs.history.iter().any(|op| op.partition == part),
            "partition {part} written"
        );
        assert!(
            obs.polls.iter().any(|p| p.partition == part),
            "partition {part} polled"
        );
    }
    let dir = std::env::temp_dir().join(format!("ksim-topics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("history.jsonl");
    ksim::report::write_history(&obs, &sc, &path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    // Every line names its partition's topic, and both topics have sends and polls.
    let mut seen = std::collections::BTreeSet::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let p = v["partition"].as_i64().unwrap();
        let topic = if p < 3 { "orders" } else { "payments" };
        assert_eq!(v["topic"], topic, "{line}");
        seen.insert((topic, v["f"].as_str().unwrap().to_string()));
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(sc.partition_name(4), "payments-1");
}
