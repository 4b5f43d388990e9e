//! The verdict table: one short run per row (a gallery scenario, its overrides, one seed), and
//! everything the checkers said of it compared with the record in `sim/testdata/verdicts/`:
//! the verdict, each checker's count of what it compared, every violation and allowed loss
//! with its message, the counts, the marks, the state table and the trace hash.
//!
//! Rows with a planted `Flaw` (or an old rule) also name the checker that must fire, so a
//! record can never bless a run that stopped flagging its bug; clean rows must stay VALID.
//! This is the test set that catches the checkers' own mutants (`just mutants-checkers`):
//! it builds with the library alone and runs in seconds.
//!
//! After a deliberate change of what a run shows, rewrite the records with
//! `KSIM_BLESS=1 cargo test -p ksim --lib verdict_table` and read the diff before committing.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::check::{check, describe_state, Report, Verdict};
use crate::cluster::ctx::lock;
use crate::cluster::run::{run, run_keeping_all, RunOutput};
use crate::report::output::{explain, summary};
use crate::scenario::parse::{apply_set, load};

/// What a row's run must show besides matching its record.
enum Expect {
    /// No violation: the contract held.
    Valid,
    /// Invalid, with at least one violation from this checker.
    Flagged(&'static str),
    /// The run showed nothing (exit 3): what it was asked to show never happened.
    Vacuous,
}

fn run_row(scenario: &str, sets: &[&str], seed: u64, keep_all: bool) -> (RunOutput, Report) {
    // The found stories are files, not gallery names.
    let path = match scenario.strip_prefix("found/") {
        Some(f) => format!("{}/../scenarios/found/{f}.toml", env!("CARGO_MANIFEST_DIR")),
        None => scenario.to_string(),
    };
    let mut sc = load(&path).unwrap_or_else(|e| panic!("{e}"));
    for s in sets {
        apply_set(&mut sc, s).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = if keep_all {
        run_keeping_all(seed, &sc)
    } else {
        run(seed, &sc)
    };
    let report = check(&out);
    (out, report)
}

/// The summary's `time` line carries the wall time, the one figure a rerun does not repeat.
fn without_wall_time(summary: &str) -> String {
    summary
        .lines()
        .map(|l| match (l.find(" wall="), l.find(" events=")) {
            (Some(a), Some(b)) if l.starts_with("time ") => format!("{}{}", &l[..a], &l[b..]),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Everything a run's checkers said, as text that diffs well.
fn record(out: &RunOutput, report: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "== verdict {:?} exit {}",
        report.verdict,
        report.verdict.exit_code()
    );
    let _ = writeln!(s, "== panic {}", out.panic.is_some());
    let _ = writeln!(
        s,
        "== summary\n{}",
        without_wall_time(&summary(out, report))
    );
    let _ = writeln!(s, "== explain\n{}", explain(out, report));
    let _ = writeln!(s, "== state\n{}", describe_state(&lock(&out.ctx.observer)));
    let _ = writeln!(s, "== report");
    let _ = writeln!(s, "counts {}", one(&report.counts));
    let _ = writeln!(s, "coverage {}", one(&report.coverage));
    let _ = writeln!(s, "marks {}", one(&report.marks));
    let _ = writeln!(s, "errors {}", one(&report.errors));
    let _ = writeln!(s, "messages {}", one(&report.messages_by_kind));
    let _ = writeln!(s, "vacuous {}", one(&report.vacuous));
    let _ = writeln!(s, "story {}", one(&report.story));
    listed(&mut s, "violations", &report.violations);
    listed(&mut s, "allowed_losses", &report.allowed_losses);
    kept(&mut s, out);
    // Reproduce lines name the scenario file by its path: the same record on every checkout.
    without_panic_lines(&s.replace(env!("CARGO_MANIFEST_DIR"), "<sim>"))
}

/// A panic's place as `(at file)`, without its line and column: moving code is not a change
/// of what a run shows.
fn without_panic_lines(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(" (at ") {
        let (head, tail) = rest.split_at(i + 5);
        out.push_str(head);
        let end = tail.find(')').unwrap_or(tail.len());
        let place = &tail[..end];
        let file = place.split(':').next().unwrap_or(place);
        out.push_str(file);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// What a row run with everything kept adds: the fault spans as `faults.jsonl` has them, and
/// the report's timeline, series by series (its count, first and last samples, a hash).
fn kept(s: &mut String, out: &RunOutput) {
    let obs = lock(&out.ctx.observer);
    let Some(tl) = &obs.timeline else {
        return;
    };
    let faults = crate::report::export::fault_lines(&obs.fault_spans, &out.outcome.injected);
    listed(s, "fault_lines", &faults);
    let _ = writeln!(
        s,
        "tables {} (hash {:016x})",
        obs.tables.len(),
        hash_of(&obs.tables)
    );
    for ((b, p), series) in &tl.replicas {
        series_line(s, &format!("replica {b} p{p}"), series);
    }
    for (p, series) in &tl.controller {
        series_line(s, &format!("controllers p{p}"), series);
    }
    for (p, series) in &tl.committed {
        series_line(s, &format!("committed p{p}"), series);
    }
}

fn series_line<T: std::fmt::Debug>(s: &mut String, what: &str, series: &[T]) {
    let text: Vec<String> = series.iter().map(|x| format!("{x:?}")).collect();
    let _ = writeln!(
        s,
        "timeline {what}: {} (hash {:016x})",
        text.len(),
        hash_of(&text)
    );
    for x in text.iter().take(3).chain(text.iter().skip(3).last()) {
        let _ = writeln!(s, "  {x}");
    }
}

/// Hashed as the trace hash is: `DefaultHasher::new()` has fixed keys.
fn hash_of<T: std::hash::Hash + ?Sized>(x: &T) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    x.hash(&mut h);
    std::hash::Hasher::finish(&h)
}

/// The first few entries of a long list as they are, and a hash of the whole list, so that a
/// change anywhere in it shows while the record stays short. A panic's line and column are
/// left out of the hash as out of the text.
fn listed<T: serde::Serialize>(s: &mut String, what: &str, all: &[T]) {
    let hash = hash_of(&without_panic_lines(&one(&all)));
    let _ = writeln!(s, "{what} {} (hash {hash:016x})", all.len());
    for item in all.iter().take(12) {
        let _ = writeln!(s, "  {}", one(item));
    }
}

/// One compact JSON line of a part of a report.
fn one<T: serde::Serialize>(part: &T) -> String {
    serde_json::to_string(part).expect("serializes")
}

fn record_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/verdicts")
        .join(format!("{name}.txt"))
}

fn check_row(name: &str, scenario: &str, sets: &[&str], seed: u64, keep_all: bool, expect: Expect) {
    let (out, report) = run_row(scenario, sets, seed, keep_all);
    let fired: Vec<_> = report.violations.iter().map(|v| v.checker).collect();
    let repro = crate::report::output::reproduce_line(&out.ctx.sc, seed);
    match expect {
        Expect::Valid => assert_eq!(report.verdict, Verdict::Valid, "{name}: {fired:?}\n{repro}"),
        Expect::Vacuous => assert_eq!(report.verdict, Verdict::Vacuous, "{name}\n{repro}"),
        Expect::Flagged(checker) => {
            assert_eq!(report.verdict, Verdict::Invalid, "{name}\n{repro}");
            assert!(
                fired.contains(&checker),
                "{name}: {checker} in {fired:?}\n{repro}"
            );
        }
    }
    assert!(
        report.coverage.iter().any(|c| c.compared > 0),
        "{name}: no checker compared anything"
    );
    let got = record(&out, &report);
    let path = record_path(name);
    if std::env::var_os("KSIM_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("a directory")).expect("mkdir");
        std::fs::write(&path, &got).expect("write the record");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (KSIM_BLESS=1 writes it)", path.display()));
    if got != want {
        let line = got.lines().zip(want.lines()).position(|(g, w)| g != w);
        panic!(
            "{name}: the run differs from {} (first at line {}):\n got: {:?}\nwant: {:?}\n\
             reproduce: {}\n       or: cargo test -p ksim --lib verdict_table::{name}",
            path.display(),
            line.map_or(0, |l| l + 1),
            line.and_then(|l| got.lines().nth(l)),
            line.and_then(|l| want.lines().nth(l)),
            repro,
        );
    }
}

/// `name: "scenario" ["key=value", ...] seed N => Valid | Flagged("checker");`, with `keep`
/// after the seed for a row that also records the explain tables, fault spans and timeline.
macro_rules! rows {
    ($($name:ident: $scenario:literal [$($set:literal),*] seed $seed:literal $($keep:ident)? => $expect:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let keep_all: &[&str] = &[$(stringify!($keep)),*];
                let keep_all = keep_all == ["keep"];
                check_row(stringify!($name), $scenario, &[$($set),*], $seed, keep_all, $expect);
            }
        )*
    };
}

use Expect::{Flagged, Vacuous, Valid};

rows! {
    // Clean runs: every checker compares and none fires; the losses each setting allows.
    default_1: "default" [] seed 1 => Valid;
    default_consumers_1: "default" ["consumers=1"] seed 1 => Valid;
    default_swarm_11: "default" ["faults.random.swarm=true"] seed 11 => Valid;
    default_swarm_9002339: "default" ["faults.random.swarm=true"] seed 9002339 => Valid;
    acks_1_failover_1: "acks-1-failover" [] seed 1 => Valid;
    acks_all_leader_crash_1: "acks-all-leader-crash" [] seed 1 => Valid;
    power_loss_without_fsync_1: "power-loss-without-fsync" [] seed 1 => Valid;
    controller_failover_20: "controller-failover" [] seed 20 => Valid;
    zombie_leader_1: "zombie-leader" [] seed 1 => Valid;
    consumer_group_crash_1: "consumer-group-crash" [] seed 1 => Valid;
    orders_and_payments_1: "orders-and-payments" [] seed 1 => Valid;
    producer_retry_duplicates_1: "producer-retry-duplicates" [] seed 1 => Valid;
    producer_retry_idempotent_1: "producer-retry-duplicates" ["enable.idempotence=true"] seed 1 => Valid;
    // Once reported stalled with partition 15 at ISR [1]; every partition commits now.
    producer_retry_16_partitions_1: "producer-retry-duplicates" ["num.partitions=16"] seed 1 => Valid;
    jepsen_2013_1: "jepsen-2013" [] seed 1 => Valid;
    jepsen_2013_clean_only_1: "jepsen-2013" ["unclean.leader.election.enable=false"] seed 1 => Valid;
    follower_cut_off_1: "follower-cut-off" [] seed 1 => Valid;
    long_faults_563: "long-faults" [] seed 563 => Valid;
    acks_1_consumers_1: "acks-1-failover" ["consumers=3", "auto.offset.reset=earliest"] seed 1 => Valid;
    jepsen_2013_consumers_1: "jepsen-2013" ["consumers=1", "auto.offset.reset=earliest"] seed 1 => Valid;
    // One fault kind alone: the run counts it as injected (never vacuous).
    only_crash_1: "default" ["faults.random.kinds=[\"crash\"]"] seed 1 => Valid;
    only_power_loss_1: "default" ["faults.random.kinds=[\"power-loss\"]"] seed 1 => Valid;
    only_pause_1: "default" ["faults.random.kinds=[\"pause\"]"] seed 1 => Valid;
    only_isolate_1: "default" ["faults.random.kinds=[\"isolate\"]"] seed 1 => Valid;
    only_slow_1: "default" ["faults.random.kinds=[\"slow\"]"] seed 1 => Valid;
    only_clock_drift_1: "default" ["faults.random.kinds=[\"clock-drift\"]"] seed 1 => Valid;
    only_stale_metadata_1: "default" ["faults.random.kinds=[\"stale-metadata\"]"] seed 1 => Valid;
    // Old rules: the checker that exists for each loss fires.
    kip_101_truncate_to_hw_3: "kip-101-truncate-to-hw" [] seed 3 => Flagged("strong-isr");
    kafka_0_8_1: "jepsen-2013" ["preset=kafka-0.8"] seed 1 => Valid;
    no_fetch_fencing_563: "long-faults" ["fetch_epoch_fencing=false"] seed 563 => Flagged("log-matching");
    kip_101_divergence_1: "kip-101-divergence" [] seed 1 => Flagged("log-matching");
    hw_over_committed_isr_37: "found/hw-over-committed-isr" [] seed 37 => Flagged("strong-isr");
    hw_from_an_earlier_epoch_13192: "found/hw-from-an-earlier-epoch" [] seed 13192 => Flagged("strong-isr");
    alter_partition_copy_1638: "found/alter-partition-copy-after-refusal" [] seed 1638 => Flagged("strong-isr");
    // Planted flaws: each is caught by the checker that exists for it.
    ack_before_replication_3: "acks-all-leader-crash" ["flaw=ack-before-replication"] seed 3 => Flagged("acked-durability");
    hw_regress_1: "acks-all-leader-crash" ["flaw=hw-regress"] seed 1 => Flagged("leader-hw-monotonic");
    elect_without_epoch_bump_1: "acks-all-leader-crash" ["flaw=elect-without-epoch-bump"] seed 1 => Flagged("one-leader-per-epoch");
    skip_truncation_1: "acks-1-failover" ["flaw=skip-truncation"] seed 1 => Flagged("log-matching");
    skip_truncation_default_3: "default" ["flaw=skip-truncation"] seed 3 => Flagged("log-matching");
    followers_never_fetch_1: "default" ["flaw=followers-never-fetch", "duration_ms=6000", "settle_ms=5000"] seed 1 => Flagged("liveness");
    elect_outside_isr_1: "jepsen-2013" ["unclean.leader.election.enable=false", "flaw=elect-outside-isr"] seed 1 => Flagged("leader-in-isr");
    panic_on_restart_4: "acks-all-leader-crash" ["flaw=panic-on-restart"] seed 4 => Flagged("panic");
    skip_duplicate_check_1: "producer-retry-duplicates" ["enable.idempotence=true", "flaw=skip-duplicate-check"] seed 1 => Flagged("duplicate");
    reorder_retries_2: "producer-retry-duplicates" ["enable.idempotence=true", "flaw=reorder-retries"] seed 2 => Flagged("producer-order");
    consumer_skips_a_record_1: "consumer-group-crash" ["flaw=consumer-skips-a-record"] seed 1 => Flagged("poll-skip");
    read_above_hw_1: "default" ["consumers=1", "flaw=read-above-hw"] seed 1 => Flagged("read-above-hw");
    read_above_hw_orders_1: "orders-and-payments" ["flaw=read-above-hw"] seed 1 => Flagged("read-above-hw");
    follower_hw_above_leo_1: "default" ["flaw=follower-hw-above-leo"] seed 1 => Flagged("hw-within-leo");
    never_shrink_isr_1: "follower-cut-off" ["flaw=never-shrink-isr"] seed 1 => Flagged("unavailability");
    disk_keeps_unflushed_1: "power-loss-without-fsync" ["flaw=disk-keeps-unflushed"] seed 1 => Flagged("disk");
    read_above_hw_acks_1_1: "acks-1-failover" ["consumers=3", "auto.offset.reset=earliest", "flaw=read-above-hw"] seed 1 => Flagged("inconsistent-offsets");
    unclean_when_disabled_jepsen_1: "jepsen-2013" ["unclean.leader.election.enable=false", "flaw=unclean-when-disabled", "acks=all", "consumers=1", "auto.offset.reset=earliest"] seed 1 => Flagged("acked-durability");
    unclean_when_disabled_11: "default" ["faults.random.swarm=true", "flaw=unclean-when-disabled"] seed 11 => Flagged("unclean-election");
    // Everything kept: what a run report draws and `ksim explain` tabulates.
    default_swarm_11_kept: "default" ["faults.random.swarm=true"] seed 11 keep => Valid;
    acks_1_failover_1_kept: "acks-1-failover" [] seed 1 keep => Valid;
    zombie_leader_1_kept: "zombie-leader" [] seed 1 keep => Valid;
    follower_cut_off_1_kept: "follower-cut-off" [] seed 1 keep => Valid;
    power_loss_without_fsync_1_kept: "power-loss-without-fsync" [] seed 1 keep => Valid;
    kip_101_divergence_1_kept: "kip-101-divergence" [] seed 1 keep => Flagged("log-matching");
    skip_truncation_1_kept: "acks-1-failover" ["flaw=skip-truncation"] seed 1 keep => Flagged("log-matching");
    followers_never_fetch_1_kept: "default" ["flaw=followers-never-fetch", "duration_ms=6000", "settle_ms=5000"] seed 1 keep => Flagged("liveness");
    panic_on_restart_4_kept: "acks-all-leader-crash" ["flaw=panic-on-restart"] seed 4 keep => Flagged("panic");
    // Asked for faults, none injected: every scripted fault falls after the writes end. A file
    // or `--set` saying so is refused before running (exit 2); this row, built without that
    // check, shows the vacuity check that stands behind it.
    script_past_the_end_1: "acks-1-failover" ["duration_ms=3000"] seed 1 => Vacuous;
    double_vote_20: "controller-failover" ["quorum_flaw=double-vote"] seed 20 => Flagged("quorum");
    // ZooKeeper mode: the same checkers, and the ensemble's own, over the ZooKeeper-era cluster.
    zk_default_2: "default" ["coordinator=zookeeper"] seed 2 => Valid;
    // ZooKeeper-mode swarm rows keep the mix from before `session-expiry` (its own row below).
    zk_session_expiry_swarm_5: "default" ["coordinator=zookeeper", "faults.random.swarm=true"] seed 5 => Valid;
    zk_swarm_1: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "faults.random.session_expiry=false"] seed 1 => Valid;
    zk_power_loss_fsynced_4: "default" ["coordinator=zookeeper", "faults.random.kinds=[\"power-loss\"]", "faults.random.hit_controllers=true", "faults.random.max_down=2"] seed 4 => Valid;
    zk_power_loss_no_force_sync_4: "default" ["coordinator=zookeeper", "faults.random.kinds=[\"power-loss\"]", "faults.random.hit_controllers=true", "faults.random.max_down=2", "forceSync=false"] seed 4 => Flagged("zookeeper");
    zk_ack_before_replication_5: "acks-all-leader-crash" ["coordinator=zookeeper", "flaw=ack-before-replication"] seed 5 => Flagged("acked-durability");
    zk_elect_without_epoch_bump_2: "acks-all-leader-crash" ["coordinator=zookeeper", "flaw=elect-without-epoch-bump"] seed 2 => Flagged("one-leader-per-epoch");
    zk_hw_regress_1: "acks-all-leader-crash" ["coordinator=zookeeper", "flaw=hw-regress"] seed 1 => Flagged("leader-hw-monotonic");
    zk_keep_ephemerals_on_close_2: "default" ["coordinator=zookeeper", "zk_flaw=keep-ephemerals-on-close"] seed 2 => Flagged("zookeeper");
    zk_unconditional_isr_update_12: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "faults.random.session_expiry=false", "conditional_isr_update=false"] seed 12 => Flagged("liveness");
    zk_conditional_isr_update_12: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "faults.random.session_expiry=false"] seed 12 => Valid;
    zk_bounce_while_no_controller_21: "found/zk-bounce-while-no-controller" [] seed 21 => Flagged("leader-completeness");
    zk_kip_380_bounced_leader_793: "found/kip-380-bounced-leader" [] seed 793 => Flagged("leader-completeness");
    zk_kip_380_fixed_793: "found/kip-380-bounced-leader" ["broker_epoch_fencing=true"] seed 793 => Valid;
    zk_isr_overwritten_527: "found/zk-isr-overwritten" [] seed 527 => Flagged("one-leader-per-epoch");
    zk_isr_overwritten_fixed_527: "found/zk-isr-overwritten" ["conditional_isr_update=true"] seed 527 => Valid;
    zk_zombie_controller_4: "found/zk-zombie-controller" [] seed 4 => Flagged("metadata-monotonic");
    zk_zombie_controller_fixed_4: "found/zk-zombie-controller" ["controller_epoch_fencing=true"] seed 4 => Valid;
    // Found by a 3,000-seed swarm sweep with the fence off: a zombie controller, behind on a
    // lagging ZooKeeper server, sends UpdateMetadata from an older controller epoch.
    zk_no_controller_epoch_fencing_33: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "controller_epoch_fencing=false"] seed 33 => Flagged("metadata-monotonic");
    zk_controller_epoch_fencing_33: "default" ["coordinator=zookeeper", "faults.random.swarm=true"] seed 33 => Valid;
    zk_default_2_kept: "default" ["coordinator=zookeeper"] seed 2 keep => Valid;
    // Once liveness stalls, each with no controller for good: a claim of /controller whose
    // answer was lost (358), a listing of /brokers/ids lost with the connection (1410), a
    // deposed ZooKeeper leader synced by its successor in one step keeping its clients and
    // their unanswered writes (572).
    zk_claim_answer_lost_358: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "faults.random.session_expiry=false"] seed 358 => Valid;
    zk_listing_lost_1410: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "faults.random.session_expiry=false"] seed 1410 => Valid;
    zk_deposed_leader_572: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "faults.random.session_expiry=false"] seed 572 => Valid;
    // A restarted broker held 100 partitions' LeaderAndIsr and many UpdateMetadata until it
    // registered; a cap of 64 held requests dropped every LeaderAndIsr, and it never followed.
    zk_held_requests_100_partitions_1: "default" ["coordinator=zookeeper", "num.partitions=100"] seed 1 => Valid;
    forget_vote_on_restart_1: "controller-failover" ["quorum_flaw=forget-vote-on-restart"] seed 1 => Flagged("quorum");
    // The 35 stalls of 100,000 ZooKeeper-mode swarm seeds, one row per cause: an ISR write
    // whose answer was lost, then refused for its stale version (KAFKA-1382: 2047 needs the
    // read-back or the retry, 3031 both); a controller write lost with the connection that
    // forgot a bounced leader (10067); a watch event sent after its reply (71530) or after
    // SetWatches' reply (72375); a standby whose `/controller` watch was spent on a change
    // (2436). Each fails with its fix taken out.
    zk_isr_write_answer_lost_2047: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "faults.random.session_expiry=false"] seed 2047 => Valid;
    zk_isr_write_retried_and_read_back_3031: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "faults.random.session_expiry=false"] seed 3031 => Valid;
    zk_bounce_during_lost_write_10067: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "faults.random.session_expiry=false"] seed 10067 => Valid;
    zk_event_after_reply_71530: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "faults.random.session_expiry=false"] seed 71530 => Valid;
    zk_event_after_set_watches_72375: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "faults.random.session_expiry=false"] seed 72375 => Valid;
    zk_controller_watch_spent_2436: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "faults.random.session_expiry=false"] seed 2436 => Valid;
    // Idempotent producers in ZooKeeper mode take their producer id from a block claimed by a
    // conditional write of /latest_producer_id_block; the broker drops a retried batch.
    zk_producer_retry_duplicates_1: "producer-retry-duplicates" ["coordinator=zookeeper"] seed 1 => Valid;
    zk_producer_retry_idempotent_1: "producer-retry-duplicates" ["coordinator=zookeeper", "enable.idempotence=true"] seed 1 => Valid;
    zk_skip_duplicate_check_1: "producer-retry-duplicates" ["coordinator=zookeeper", "enable.idempotence=true", "flaw=skip-duplicate-check"] seed 1 => Flagged("duplicate");
    // Seed 253 with three producers once tripped metadata-monotonic falsely: two clients' answers
    // from one broker arrived out of order on different connections. The checker is per client.
    zk_idempotent_three_producers_253: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "enable.idempotence=true", "retries=2147483647", "workload.producers=3"] seed 253 => Valid;
    // Consumer groups in ZooKeeper mode: the controller broker coordinates, the committed
    // offsets are written to ZooKeeper by conditional update; the consumer checkers judge.
    zk_consumer_group_crash_1: "consumer-group-crash" ["coordinator=zookeeper"] seed 1 => Valid;
    zk_consumer_skips_a_record_1: "consumer-group-crash" ["coordinator=zookeeper", "flaw=consumer-skips-a-record"] seed 1 => Flagged("poll-skip");
    zk_read_above_hw_1: "default" ["coordinator=zookeeper", "consumers=1", "flaw=read-above-hw"] seed 1 => Flagged("read-above-hw");
    // A consumer's connection broke and a new one was opened before it heard: it waited
    // forever for the Metadata answer lost with the old one (a stall, until connections
    // replaced after breaking still report it).
    zk_consumer_replaced_connection_1665: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "consumers=3", "auto.offset.reset=earliest"] seed 1665 => Valid;
    // A deposed leader that has not heard moves its HW with the followers still fetching from
    // it and serves a consumer with stale metadata: under KIP-966 the new leader's ISR [3] is
    // below min.insync.replicas, so the record was not committed when read. Without KIP-966
    // an ISR of one commits, and the read is of a record every ISR member held.
    zk_deposed_leader_read_259: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "consumers=3", "auto.offset.reset=earliest"] seed 259 => Flagged("read-above-hw");
    zk_deposed_leader_read_before_kip_966_259: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "consumers=3", "auto.offset.reset=earliest", "strict_min_isr=false"] seed 259 => Valid;
    // The same read where the new leader's ISR [2, 3] holds the record: committed by Kafka's
    // definition before the new leader's HW reaches it (marked read-held-by-isr).
    deposed_leader_read_held_by_isr_222: "default" ["faults.random.swarm=true", "consumers=3", "auto.offset.reset=earliest"] seed 222 => Valid;
    // Every holder of offsets 0..95 lost them (allowed): the consumer's position is out of
    // range and auto.offset.reset takes it back to 0, within one assignment.
    reset_after_allowed_loss_1663: "default" ["faults.random.swarm=true", "consumers=3", "auto.offset.reset=earliest"] seed 1663 => Valid;
    // After an allowed loss new records reuse offsets a consumer had passed: never polled.
    offsets_reused_after_allowed_loss_322: "default" ["faults.random.swarm=true", "consumers=3", "auto.offset.reset=earliest"] seed 322 => Valid;
    // An unacknowledged record a consumer read, then lost with every replica's power: allowed.
    zk_unacknowledged_read_lost_643: "default" ["coordinator=zookeeper", "faults.random.swarm=true", "consumers=3", "auto.offset.reset=earliest"] seed 643 => Valid;
}
