//! The parser's tests: every error names its file, line, column and key.

use super::*;
use proptest::prelude::*;

const FULL: &str = r#"
name = "acks-1-leader-crash"
description = """
Leader crashes with acks=1.
Second line."""

[cluster]
brokers = 5

[server]
num.partitions = 2
"default.replication.factor" = 3
min.insync.replicas = 2
unclean.leader.election.enable = true
replica.lag.time.max.ms = 10000
log.flush.interval.messages = 1
log.flush.interval.ms = 9223372036854775807
replica.high.watermark.checkpoint.interval.ms = 4000
broker.heartbeat.interval.ms = 1000
"broker.session.timeout.ms" = 6000
replica.fetch.wait.max.ms = 0
replica.fetch.backoff.ms = 200

[producer]
acks = "1"
request.timeout.ms = 15000
max.in.flight.requests.per.connection = 1
enable.idempotence = false

[workload]
producers = 2
rate_per_sec = 50
duration_ms = 10000
value_bytes = 32

[faults.random]
kinds = ["power-loss"]
interval_ms = [100, 200]
down_ms = [0, 50]
max_down = 2

[[faults.script]]
at_ms = 7000
action = "restart"
target = "broker:2"

[[faults.script]]
at_ms = 5000
action = "crash"
target = "leader:1"
restart_after_ms = 3000

[[faults.script]]
at_ms = 7000
action = "power-loss"
target = "all"

[run]
settle_ms = 1000

[selftest]
flaw = "hw-regress"
"#;

fn parse_err(text: &str) -> InputError {
    match parse(text, "t.toml") {
        Ok(sc) => panic!("expected an error, parsed {sc:?}"),
        Err(e) => e,
    }
}

fn assert_err(e: &InputError, line: usize, column: usize, key: &str, fragment: &str) {
    assert_eq!((e.line, e.column), (Some(line), Some(column)), "{e}");
    assert_eq!(e.key.as_deref(), Some(key), "{e}");
    assert!(e.message.contains(fragment), "`{fragment}` not in: {e}");
}

#[test]
fn full_file_parses() {
    let sc = parse(FULL, "scenarios/x.toml").unwrap();
    assert_eq!(sc.name, "acks-1-leader-crash");
    assert_eq!(sc.description, "Leader crashes with acks=1.\nSecond line.");
    assert_eq!(sc.origin, "scenarios/x.toml");
    assert_eq!(
        (sc.brokers, sc.partitions, sc.replication_factor),
        (5, 2, 3)
    );
    let b = &sc.broker;
    assert_eq!(b.min_insync_replicas, 2);
    assert!(b.unclean_leader_election_enable);
    assert_eq!(b.replica_lag_time_max_ms, 10_000);
    assert_eq!(b.log_flush_interval_messages, Some(1));
    assert_eq!(b.log_flush_interval_ms, None);
    assert_eq!(b.replica_high_watermark_checkpoint_interval_ms, 4_000);
    assert_eq!(
        (b.broker_heartbeat_interval_ms, b.broker_session_timeout_ms),
        (1_000, 6_000)
    );
    assert_eq!(
        (b.replica_fetch_wait_max_ms, b.replica_fetch_backoff_ms),
        (0, 200)
    );
    assert_eq!(b.flaw, Flaw::HwRegress);
    assert_eq!(sc.flaw(), Flaw::HwRegress);
    assert_eq!(sc.producer.acks, Acks::Leader);
    assert_eq!(
        (sc.producer.request_timeout_ms, sc.producer.max_in_flight),
        (15_000, 1)
    );
    let w = &sc.workload;
    assert_eq!(
        (w.producers, w.rate_per_sec, w.duration_ms, w.value_bytes),
        (2, 50, 10_000, 32)
    );
    let random = RandomFaults {
        kinds: vec![FaultAction::PowerLoss],
        interval_ms: (100, 200),
        down_ms: (0, 50),
        max_down: 2,
        aim_percent: 0,
        controllers: false,
        swarm: false,
        wait_for_first_ack: true,
    };
    assert_eq!(sc.faults.random, Some(random));
    assert_eq!(sc.run.settle_ms, 1_000);
    assert!(sc.overrides.is_empty());
}

#[test]
fn script_entries_are_sorted_by_time_keeping_file_order_for_ties() {
    let sc = parse(FULL, "x.toml").unwrap();
    let got: Vec<(u64, FaultAction, Target, Option<u64>)> = sc
        .faults
        .script
        .iter()
        .map(|f| (f.at_ms, f.action, f.target.clone(), f.restart_after_ms))
        .collect();
    assert_eq!(
        got,
        vec![
            (5000, FaultAction::Crash, Target::LeaderOf(1), Some(3000)),
            (7000, FaultAction::Restart, Target::Broker(2), None),
            (7000, FaultAction::PowerLoss, Target::All, None),
        ]
    );
}

#[test]
fn empty_file_gives_defaults_and_the_file_stem_as_name() {
    let sc = parse("", "dir/quiet-run.toml").unwrap();
    let d = Scenario::default();
    assert_eq!(sc.name, "quiet-run");
    assert_eq!(
        (sc.brokers, sc.partitions, sc.replication_factor),
        (d.brokers, d.partitions, d.replication_factor)
    );
    assert_eq!(sc.broker.min_insync_replicas, 1);
    assert_eq!(sc.producer.acks, Acks::All);
    assert!(sc.faults.random.is_none() && sc.faults.script.is_empty());
    assert_eq!(sc.broker.flaw, Flaw::None);
}

#[test]
fn nested_and_inline_forms_of_kafka_keys_work() {
    let text = "[server.min]\ninsync.replicas = 2\n[producer]\nacks = -1\n[faults]\nrandom = { max_down = 1 }\nscript = [{ at_ms = 1, action = \"crash\", target = \"follower:0\" }]\n";
    let sc = parse(text, "x.toml").unwrap();
    assert_eq!(sc.broker.min_insync_replicas, 2);
    assert_eq!(sc.producer.acks, Acks::All);
    assert_eq!(sc.faults.random.as_ref().map(|r| r.max_down), Some(1));
    assert_eq!(
        sc.faults.script.first().map(|f| f.target.clone()),
        Some(Target::FollowerOf(0))
    );
    let sc = parse("server.num.partitions = 4\n", "x.toml").unwrap();
    assert_eq!(sc.partitions, 4);
}

#[test]
fn empty_random_section_turns_random_faults_on_with_defaults() {
    let sc = parse("[faults.random]\n", "x.toml").unwrap();
    let r = sc.faults.random.unwrap();
    assert_eq!(
        (r.kinds.len(), r.interval_ms, r.down_ms, r.max_down),
        (2, (2_000, 8_000), (1_000, 15_000), 1)
    );
}

#[test]
fn every_acks_spelling() {
    for (text, acks) in [
        ("\"all\"", Acks::All),
        ("\"-1\"", Acks::All),
        ("-1", Acks::All),
        ("0", Acks::None),
        ("\"0\"", Acks::None),
        ("1", Acks::Leader),
        ("\"1\"", Acks::Leader),
    ] {
        let sc = parse(&format!("[producer]\nacks = {text}\n"), "x.toml").unwrap();
        assert_eq!(sc.producer.acks, acks, "{text}");
    }
}

#[test]
fn bad_acks() {
    let e = parse_err("[producer]\nacks = 2\n");
    assert_err(&e, 2, 8, "producer.acks", "must be one of: all, -1, 0, 1");
    let e = parse_err("[producer]\nacks = true\n");
    assert_err(
        &e,
        2,
        8,
        "producer.acks",
        "expected a string or an integer, found a boolean",
    );
}

#[test]
fn unknown_key_suggests_the_close_one() {
    let e = parse_err("[cluster]\nbrokers = 3\n[server]\nmin.insync.replica = 2\n");
    assert_err(
        &e,
        4,
        1,
        "server.min.insync.replica",
        "did you mean `min.insync.replicas`?",
    );
    let e = parse_err("[workload]\nduration = 5\n");
    assert_err(&e, 2, 1, "workload.duration", "did you mean `duration_ms`?");
}

#[test]
fn key_in_the_wrong_section_says_where_it_belongs() {
    let e = parse_err("[server]\n  acks = 1\n");
    assert_err(&e, 2, 3, "server.acks", "belongs in [producer]");
    let e = parse_err("brokers = 3\n");
    assert_err(&e, 1, 1, "brokers", "belongs in [cluster]");
    let e = parse_err("[cluster]\nname = \"x\"\n");
    assert_err(&e, 2, 1, "cluster.name", "belongs at the top level");
    let e = parse_err("[faults]\nmax_down = 3\n");
    assert_err(&e, 2, 1, "faults.max_down", "belongs in [faults.random]");
}

#[test]
fn unknown_section() {
    let e = parse_err("[cluster]\nbrokers = 3\n\n[sever]\nx = 1\n");
    assert_err(&e, 4, 2, "sever", "did you mean [server]?");
    let e = parse_err("[faults.randm]\nmax_down = 1\n");
    assert_err(&e, 1, 9, "faults.randm", "did you mean [faults.random]?");
    let e = parse_err("cluster = 3\n");
    assert_err(
        &e,
        1,
        1,
        "cluster",
        "expected a table ([cluster]), found an integer",
    );
}

#[test]
fn wrong_type() {
    let e = parse_err("[cluster]\nbrokers = \"3\"\n");
    assert_err(
        &e,
        2,
        11,
        "cluster.brokers",
        "expected an integer, found a string (write 3 without quotes)",
    );
    let e = parse_err("[server]\nunclean.leader.election.enable = 1\n");
    assert_err(
        &e,
        2,
        34,
        "server.unclean.leader.election.enable",
        "expected a boolean",
    );
    let e = parse_err("[workload]\nrate_per_sec = 1.5\n");
    assert_err(&e, 2, 16, "workload.rate_per_sec", "found a float");
}

#[test]
fn out_of_range() {
    let e = parse_err("[cluster]\nbrokers = 65\n");
    assert_err(
        &e,
        2,
        11,
        "cluster.brokers",
        "invalid value 65: value must be no more than 64",
    );
    let e = parse_err("[server]\nmin.insync.replicas = 0\n");
    assert_err(
        &e,
        2,
        23,
        "server.min.insync.replicas",
        "value must be at least 1",
    );
    let e = parse_err("[faults.random]\ninterval_ms = [5, 3]\n");
    assert_err(
        &e,
        2,
        15,
        "faults.random.interval_ms",
        "min (5) is larger than max (3)",
    );
    let e = parse_err("[faults.random]\ndown_ms = [1]\n");
    assert_err(&e, 2, 11, "faults.random.down_ms", "two integers");
    let e = parse_err("[faults.random]\nkinds = []\n");
    assert_err(&e, 2, 9, "faults.random.kinds", "at least one");
    let e = parse_err("[faults.random]\nkinds = [\"restart\"]\n");
    assert_err(
        &e,
        2,
        9,
        "faults.random.kinds",
        "must be one of: crash, power-loss",
    );
}

#[test]
fn syntax_error_has_a_position() {
    let e = parse_err("[cluster]\nbrokers = = 3\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(2), None), "{e}");
    assert!(
        e.column.is_some() && e.message.starts_with("invalid TOML"),
        "{e}"
    );
    assert!(!e.message.contains('\n'), "{e}");
    // toml_edit itself rejects a key written twice in the same form.
    let e = parse_err("[producer]\nacks = 1\nacks = 0\n");
    assert_eq!(e.line, Some(3), "{e}");
}

#[test]
fn duplicate_key_in_dotted_and_quoted_form() {
    let e = parse_err("[server]\nmin.insync.replicas = 2\n\"min.insync.replicas\" = 2\n");
    assert_err(
        &e,
        3,
        1,
        "server.min.insync.replicas",
        "key given twice (first at line 2)",
    );
    let e = parse_err(
        "[[faults.script]]\nat_ms = 1\naction = \"crash\"\ntarget = \"all\"\n\"at_ms\" = 2\n",
    );
    // The TOML parser itself catches this one (same key, same table).
    assert_eq!(e.line, Some(5), "{e}");
}

#[test]
fn replication_factor_larger_than_brokers() {
    let e = parse_err("[cluster]\nbrokers = 2\n[server]\ndefault.replication.factor = 3\n");
    assert_err(
        &e,
        4,
        1,
        "server.default.replication.factor",
        "default.replication.factor (3) is larger than the number of brokers (2)",
    );
    // When the file does not write the key there is no line to point at.
    let e = parse_err("[cluster]\nbrokers = 2\n");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (None, Some("server.default.replication.factor"))
    );
}

#[test]
fn min_insync_larger_than_replication_factor() {
    let e = parse_err("[server]\nmin.insync.replicas = 4\n");
    assert_err(
        &e,
        2,
        1,
        "server.min.insync.replicas",
        "NOT_ENOUGH_REPLICAS",
    );
}

#[test]
fn fetch_wait_longer_than_lag_time_uses_kafkas_words() {
    let e = parse_err("[server]\nreplica.lag.time.max.ms = 100\nreplica.fetch.wait.max.ms = 500\n");
    assert_err(
        &e,
        3,
        1,
        "server.replica.fetch.wait.max.ms",
        "to prevent frequent changes in ISR",
    );
}

#[test]
fn dotted_keys_sharing_a_prefix_point_at_their_own_line() {
    let e = parse_err(
        "[server]\nreplica.lag.time.max.ms = 100\n  replica . \"fetch\".wait.max.ms = 500\n",
    );
    assert_err(
        &e,
        3,
        3,
        "server.replica.fetch.wait.max.ms",
        "to prevent frequent changes in ISR",
    );
    let e = parse_err("[server]\nreplica.lag.time.max.ms = 100\nreplica.lag.time.max.ms2 = 1\n");
    assert_err(&e, 3, 1, "server.replica.lag.time.max.ms2", "unknown key");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let key = vec!["a"; 3000].join(".");
    check_parse(&format!("[server]\n{key} = 1\n"));
    check_parse(&format!("{key} = 1\n"));
    check_parse(&format!("x = {}", "[".repeat(3000)));
    check_parse(&format!("x = {}", "{a=".repeat(3000)));
    check_parse(&format!("[{}]\n", key));
}

#[test]
fn bad_target_strings() {
    for bad in [
        "leder:0",
        "broker:",
        "broker:x",
        "broker:+1",
        "leader",
        "all:1",
        "",
    ] {
        let text =
            format!("[[faults.script]]\nat_ms = 1\naction = \"crash\"\ntarget = \"{bad}\"\n");
        let e = parse_err(&text);
        assert_err(&e, 4, 10, "faults.script[0].target", "invalid target");
    }
}

#[test]
fn targets_outside_the_cluster() {
    let script =
        |t: &str| format!("[[faults.script]]\nat_ms = 1\naction = \"crash\"\ntarget = \"{t}\"\n");
    let e = parse_err(&script("leader:1"));
    assert_err(&e, 4, 1, "faults.script[0].target", "num.partitions is 1");
    let e = parse_err(&script("broker:4"));
    assert_err(&e, 4, 1, "faults.script[0].target", "brokers are 1..=3");
    let e = parse_err(&script("broker:0"));
    assert_err(&e, 4, 1, "faults.script[0].target", "broker 0");
    assert!(parse(&script("broker:3"), "x.toml").is_ok());
}

#[test]
fn network_and_clock_faults_need_their_own_parameter_and_no_other() {
    let entry = |action: &str, extra: &str| {
        format!(
            "[[faults.script]]\nat_ms = 1\naction = \"{action}\"\ntarget = \"broker:1\"\n{extra}"
        )
    };
    let e = parse_err(&entry("slow", "heal_after_ms = 5\n"));
    assert_err(&e, 3, 1, "faults.script[0].action", "needs latency_ms");
    let e = parse_err(&entry("lossy", ""));
    assert_err(&e, 3, 1, "faults.script[0].action", "needs loss_percent");
    let e = parse_err(&entry("lossy", "loss_percent = 5\nlatency_ms = 5\n"));
    assert_err(
        &e,
        6,
        1,
        "faults.script[0].latency_ms",
        "not allowed with action = \"lossy\"",
    );
    let e = parse_err(&entry("crash", "clock_percent = 50\n"));
    assert_err(
        &e,
        5,
        1,
        "faults.script[0].clock_percent",
        "not allowed with action = \"crash\"",
    );
    let e = parse_err(&entry("lossy", "loss_percent = 101\n"));
    assert_err(
        &e,
        5,
        16,
        "faults.script[0].loss_percent",
        "no more than 100",
    );
    let e = parse_err(&entry("clock-drift", "clock_percent = 0\n"));
    assert_err(&e, 5, 17, "faults.script[0].clock_percent", "at least 1");
    for (action, extra) in [
        ("slow", "latency_ms = 4000\n"),
        (
            "slow-to-controller",
            "latency_ms = 4000\nheal_after_ms = 10\n",
        ),
        ("lossy", "loss_percent = 30\n"),
        ("split", "heal_after_ms = 10\n"),
        ("bridge", ""),
        ("clock-drift", "clock_percent = 250\n"),
    ] {
        let sc = parse(&entry(action, extra), "x.toml").unwrap();
        let f = &sc.faults.script[0];
        assert_eq!(f.action.name(), action);
        assert!(f.action.is_healed());
        assert_eq!(f.parameter().is_some(), f.action.parameter().is_some());
    }
}

#[test]
fn script_entry_problems() {
    let e =
        parse_err("[[faults.script]]\nat_ms = 1\naction = \"restart\"\ntarget = \"all\"\nrestart_after_ms = 5\n");
    assert_err(
        &e,
        5,
        1,
        "faults.script[0].restart_after_ms",
        "not allowed with action = \"restart\"",
    );
    let e = parse_err("\n[[faults.script]]\nat_ms = 1\ntarget = \"all\"\n");
    assert_err(
        &e,
        2,
        1,
        "faults.script[0].action",
        "missing required key `action`",
    );
    let e = parse_err("[[faults.script]]\nat_ms = 1\naction = \"explode\"\ntarget = \"all\"\n");
    assert_err(
        &e,
        3,
        10,
        "faults.script[0].action",
        "must be one of: crash, power-loss, restart",
    );
    let e = parse_err("[[faults.script]]\nat = 1\n");
    assert_err(&e, 2, 1, "faults.script[0].at", "did you mean `at_ms`?");
    let e = parse_err("[faults.script]\nat_ms = 1\n");
    assert_err(&e, 1, 9, "faults.script", "an array of tables");
}

#[test]
fn idempotence_refuses_what_kafkas_client_refuses() {
    let ok = "[producer]\nacks = \"all\"\nretries = 10\nenable.idempotence = true\n";
    assert!(parse(ok, "t.toml").unwrap().producer.enable_idempotence);
    let e = parse_err("[producer]\nacks = \"all\"\nenable.idempotence = true\n");
    // retries is not in the file: the error names the key, without a line.
    assert_eq!(e.key.as_deref(), Some("producer.retries"), "{e}");
    assert!(
        e.message.contains("retries=0 with enable.idempotence=true"),
        "{e}"
    );
    let e = parse_err("[producer]\nacks = 1\nretries = 3\nenable.idempotence = true\n");
    assert_err(&e, 2, 1, "producer.acks", "Must set acks to all");
    let e = parse_err("[producer]\nretries = 3\nenable.idempotence = true\nmax.in.flight.requests.per.connection = 6\n");
    assert_err(
        &e,
        4,
        1,
        "producer.max.in.flight.requests.per.connection",
        "must be at most 5",
    );
}

#[test]
fn bad_flaw_suggests() {
    let e = parse_err("[selftest]\nflaw = \"hw-regres\"\n");
    assert_err(&e, 2, 8, "selftest.flaw", "did you mean `hw-regress`?");
}

#[test]
fn columns_count_characters() {
    assert_eq!(line_col("é\nab", 4), (2, 2));
    assert_eq!(line_col("éa", 2), (1, 2));
    assert_eq!(line_col("éa", 1), (1, 2));
    assert_eq!(line_col("ab", 99), (1, 3));
    let e = parse_err("name = \"é\"; brokers = 1\n");
    assert_eq!(e.line, Some(1));
    let e = parse_err("[producer]\n\"é\" = 1\n");
    assert_err(&e, 2, 1, "producer.é", "unknown key");
}

#[test]
fn edit_distance_counts_swaps_as_one() {
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(edit_distance("abc", ""), 3);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("replcias", "replicas"), 1);
    assert_eq!(edit_distance("é", "e"), 1);
    assert_eq!(
        suggest("min.insync.replcias", ["min.insync.replicas", "acks"]),
        Some("min.insync.replicas")
    );
    assert_eq!(suggest("zzz", ["acks"]), None);
    assert_eq!(suggest(&"a".repeat(1000), ["acks"]), None);
}

#[test]
fn display_format() {
    let e = InputError {
        file: "f.toml".into(),
        line: Some(3),
        column: Some(7),
        key: Some("cluster.brokers".into()),
        message: "bad".into(),
    };
    assert_eq!(e.to_string(), "f.toml:3:7: key `cluster.brokers`: bad");
    let e = InputError {
        file: "--set".into(),
        line: None,
        column: None,
        key: Some("acks".into()),
        message: "bad".into(),
    };
    assert_eq!(e.to_string(), "--set: key `acks`: bad");
    let e = InputError {
        file: "f.toml".into(),
        line: Some(1),
        column: None,
        key: None,
        message: "bad".into(),
    };
    assert_eq!(e.to_string(), "f.toml:1: bad");
}

#[test]
fn set_happy_paths() {
    let mut sc = Scenario::default();
    for a in [
        "acks=all",
        "producer.acks = 0",
        "server.min.insync.replicas=2",
        "brokers=5",
        "workload.duration_ms=1000",
        "flaw=hw-regress",
        "faults.random.max_down=2",
        "interval_ms=[10, 20]",
        "name=2024",
        "description=\"two words\"",
        "log.flush.interval.ms=9223372036854775807",
        "unclean.leader.election.enable=true",
    ] {
        apply_set(&mut sc, a).unwrap_or_else(|e| panic!("{a}: {e}"));
    }
    assert_eq!(sc.producer.acks, Acks::None);
    assert_eq!(sc.broker.min_insync_replicas, 2);
    assert_eq!(sc.brokers, 5);
    assert_eq!(sc.workload.duration_ms, 1000);
    assert_eq!(sc.broker.flaw, Flaw::HwRegress);
    let r = sc.faults.random.clone().unwrap();
    assert_eq!((r.max_down, r.interval_ms), (2, (10, 20)));
    assert_eq!(sc.name, "2024");
    assert_eq!(sc.description, "two words");
    assert_eq!(sc.broker.log_flush_interval_ms, None);
    assert!(sc.broker.unclean_leader_election_enable);
    assert_eq!(sc.overrides.len(), 12);
    assert_eq!(
        sc.overrides[1],
        ("producer.acks".to_string(), "0".to_string())
    );
    validate(&sc, "--set").unwrap();
}

fn set_err(assignment: &str) -> InputError {
    let mut sc = Scenario::default();
    let e = apply_set(&mut sc, assignment).unwrap_err();
    assert!(sc.overrides.is_empty());
    assert_eq!((e.file.as_str(), e.line), ("--set", None));
    e
}

#[test]
fn set_errors() {
    let e = set_err("acks");
    assert!(e.message.contains("expected KEY=VALUE"), "{e}");
    let e = set_err("=3");
    assert!(e.message.contains("missing the key"), "{e}");
    let e = set_err("min.insync.replica=2");
    assert_eq!(e.key.as_deref(), Some("min.insync.replica"));
    assert!(
        e.message.contains("did you mean `min.insync.replicas`?"),
        "{e}"
    );
    let e = set_err("brokers=abc");
    assert!(
        e.message.contains("expected an integer, found a string"),
        "{e}"
    );
    let e = set_err("cluster.brokers=0");
    assert!(e.message.contains("at least 1"), "{e}");
    let e = set_err("acks=2");
    assert!(e.message.contains("must be one of"), "{e}");
    let e = set_err("faults.script.at_ms=5");
    assert!(e.message.contains("cannot be set"), "{e}");
    let e = set_err("target=all");
    assert!(e.message.contains("cannot be set"), "{e}");
    let e = set_err("retries=-1");
    assert!(e.message.contains("at least 0"), "{e}");
}

#[test]
fn failed_set_leaves_the_scenario_alone() {
    let mut sc = Scenario::default();
    assert!(apply_set(&mut sc, "faults.random.max_down=0").is_err());
    assert!(sc.faults.random.is_none());
}

#[test]
fn ambiguous_bare_key() {
    // No key of the real table is ambiguous today; check the rule on a table that has one.
    let table = [
        KeySpec {
            section: "a",
            key: "x",
            apply: |_, _| Ok(()),
        },
        KeySpec {
            section: "b",
            key: "x",
            apply: |_, _| Ok(()),
        },
    ];
    let e = resolve(&table, "x").err().unwrap();
    assert!(
        e.contains("ambiguous") && e.contains("`a.x`") && e.contains("`b.x`"),
        "{e}"
    );
    assert!(resolve(&table, "b.x").is_ok());
    // `[expect]` and `[expect.fixed]` share their keys: those are set qualified only.
    let bare: Vec<&str> = KEYS
        .iter()
        .filter(|s| !s.section.starts_with("expect"))
        .map(|s| s.key)
        .collect();
    for k in &bare {
        assert_eq!(
            bare.iter().filter(|b| *b == k).count(),
            1,
            "{k} is ambiguous"
        );
    }
}

#[test]
fn validate_on_built_scenarios() {
    let mut sc = Scenario::default();
    validate(&sc, "x").unwrap();
    sc.faults.random = Some(RandomFaults {
        kinds: vec![FaultAction::Crash],
        interval_ms: (1, 2),
        down_ms: (0, 0),
        max_down: 0,
        aim_percent: 0,
        controllers: false,
        swarm: false,
        wait_for_first_ack: true,
    });
    let e = validate(&sc, "x").unwrap_err();
    assert_eq!(
        (e.key.as_deref(), e.line),
        (Some("faults.random.max_down"), None)
    );
    sc.faults.random = None;
    sc.brokers = 2;
    let e = validate(&sc, "x").unwrap_err();
    assert_eq!(e.message, "default.replication.factor (3) is larger than the number of brokers (2); Kafka refuses to create the topic: \"Replication factor: 3 larger than available brokers: 2.\"");
}

/// A scratch directory under the system temp dir, unique per test.
fn scratch(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("ksim-scenario-parse-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn load_by_name_and_path_and_gallery() {
    let first = scratch("first");
    let second = scratch("second");
    std::fs::write(
        first.join("alpha.toml"),
        "description = \"\"\"\n\nAlpha story.\nMore.\"\"\"\n",
    )
    .unwrap();
    std::fs::write(
        second.join("alpha.toml"),
        "[cluster]\nbrokers = 1\n[server]\ndefault.replication.factor = 1\n",
    )
    .unwrap();
    std::fs::write(second.join("broken.toml"), "[cluster]\nbrokers = 0\n").unwrap();
    std::fs::write(second.join("notes.txt"), "ignored").unwrap();
    let dirs = vec![first.clone(), second.clone()];

    let sc = load_from("alpha", &dirs).unwrap();
    assert_eq!(
        (sc.name.as_str(), sc.brokers),
        ("alpha", 3),
        "the first directory wins"
    );
    let path = second.join("alpha.toml");
    let sc = load_from(path.to_str().unwrap(), &dirs).unwrap();
    assert_eq!(sc.brokers, 1);
    assert!(sc.origin.ends_with("alpha.toml"));

    let e = load_from("alpah", &dirs).unwrap_err();
    assert!(
        e.message.contains("available: alpha, broken")
            && e.message.contains("did you mean `alpha`?"),
        "{e}"
    );
    let e = load_from("broken", &dirs).unwrap_err();
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(2), Some("cluster.brokers"))
    );
    let e = load_from("nowhere/x.toml", &dirs).unwrap_err();
    assert!(e.message.contains("no such scenario file"), "{e}");

    let g = gallery_from(&dirs);
    assert_eq!(g.len(), 2);
    assert_eq!(g[0], ("alpha".to_string(), "Alpha story.".to_string()));
    assert!(
        g[1].0 == "broken" && g[1].1.starts_with("(invalid: ") && g[1].1.contains(":2:11:"),
        "{:?}",
        g[1]
    );

    let e = load_from("x", &[first.join("none")]).unwrap_err();
    assert!(e.message.contains("no scenario files found"), "{e}");
    let _ = std::fs::remove_dir_all(first);
    let _ = std::fs::remove_dir_all(second);
}

#[test]
fn shipped_scenarios_are_valid() {
    for (name, summary) in gallery() {
        assert!(
            !summary.starts_with("(invalid"),
            "scenarios/{name}.toml: {summary}"
        );
    }
}

/// The properties every parse result must have, whatever the input.
fn check_parse(text: &str) {
    match parse(text, "p.toml") {
        Ok(sc) => assert!(validate(&sc, "p.toml").is_ok()),
        Err(e) => {
            assert!(!e.message.is_empty());
            let _ = e.to_string();
            if let Some(line) = e.line {
                assert!(line <= text.lines().count() + 1, "{e}");
            } else {
                // Only cross-key problems may lack a line.
                assert!(parse_unvalidated(text, "p.toml").is_ok(), "{e}");
            }
        }
    }
    if let Err(e) = parse_unvalidated(text, "p.toml") {
        assert!(e.line.is_some(), "{e}");
    }
}

fn mutate(edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = FULL.as_bytes().to_vec();
    for &(pos, byte, op) in edits {
        let at = pos % (bytes.len() + 1);
        match op {
            0 if at < bytes.len() => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => bytes.insert(at, b"=[]\"'.\n#,{}"[usize::from(byte) % 11]),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn mutate_lines(edits: &[(usize, usize, u8)], insert: &str) -> String {
    let mut lines: Vec<String> = FULL.lines().map(String::from).collect();
    for &(a, b, op) in edits {
        let n = lines.len().max(1);
        let (a, b) = (a % n, b % n);
        match op {
            0 if a < lines.len() => {
                lines.remove(a);
            }
            1 if a < lines.len() => {
                let line = lines[a].clone();
                lines.insert(b.min(lines.len()), line);
            }
            2 if a < lines.len() && b < lines.len() => lines.swap(a, b),
            _ => lines.insert(a.min(lines.len()), insert.to_string()),
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check_parse(&text);
    }

    #[test]
    fn tomlish_text_never_panics(text in "[\\[\\]a-z._=\"' 0-9\n,{}#-]{0,200}") {
        check_parse(&text);
    }

    #[test]
    fn byte_mutations_never_panic(edits in prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..4), 1..8)) {
        check_parse(&mutate(&edits));
    }

    #[test]
    fn line_mutations_never_panic(
        edits in prop::collection::vec((any::<usize>(), any::<usize>(), 0u8..4), 1..6),
        insert in "[a-z._=\"\\[\\] 0-9-]{0,30}",
    ) {
        check_parse(&mutate_lines(&edits, &insert));
    }

    #[test]
    fn arbitrary_set_never_panics(assignment in any::<String>()) {
        let mut sc = Scenario::default();
        if let Err(e) = apply_set(&mut sc, &assignment) {
            prop_assert!(!e.message.is_empty());
            prop_assert_eq!(e.file.as_str(), "--set");
        }
    }

    #[test]
    fn known_keys_with_arbitrary_values_never_panic(
        spec in prop::sample::select(KEYS.iter().map(KeySpec::qualified).collect::<Vec<_>>()),
        value in prop_oneof![any::<String>(), "-?[0-9]{1,20}", "\\[[0-9, -]{0,12}\\]", "\"[a-z:0-9-]{0,12}\""],
    ) {
        let mut sc = Scenario::default();
        match apply_set(&mut sc, &format!("{spec}={value}")) {
            Ok(()) => prop_assert_eq!(sc.overrides.len(), 1),
            Err(e) => {
                prop_assert!(!e.message.is_empty());
                prop_assert!(sc.overrides.is_empty());
            }
        }
    }
}

#[test]
fn topics_take_names_or_a_count_and_refuse_what_kafka_refuses() {
    let sc = parse(
        "[workload]\ntopics = [\"orders\", \"payments\"]\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(sc.workload.topics, vec!["orders", "payments"]);
    let sc = parse("[workload]\ntopics = 3\n", "t.toml").unwrap();
    assert_eq!(sc.workload.topics, vec!["topic-0", "topic-1", "topic-2"]);
    let e = parse_err("[workload]\ntopics = [\"a b\"]\n");
    assert_err(&e, 2, 10, "workload.topics", "invalid topic name `a b`");
    let e = parse_err("[workload]\ntopics = [\"x\", \"x\"]\n");
    assert_err(&e, 2, 10, "workload.topics", "listed twice");
    let e = parse_err("[workload]\ntopics = 0\n");
    assert_err(
        &e,
        2,
        10,
        "workload.topics",
        "a number of topics from 1 to 100",
    );
    let e = parse_err("[producer]\npartitioner.class = \"murmur\"\n");
    assert_err(&e, 2, 21, "producer.partitioner.class", "keyed-round-robin");
}
