//! The parser's tests: every error names its file, line, column and key.

mod every_key;
mod files;
mod set;
mod write;

use super::*;
use files::*;
use ksim_model::Flaw;
use ksim_model::Named;
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
    assert_eq!(sc.selftest.flaw, Flaw::HwRegress);
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
        session_expiry: true,
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

/// A file that sets nothing would run a fault-free cluster of defaults and say VALID: it is
/// refused, as are one of blanks and one with a name alone.
#[test]
fn a_file_that_sets_nothing_is_refused() {
    for text in [
        "",
        "  \n\n",
        "name = \"x\"\n",
        "name = \"x\"\ndescription = \"y\"\n",
    ] {
        let e = parse(text, "dir/quiet-run.toml").unwrap_err();
        assert_eq!(e.file, "dir/quiet-run.toml");
        assert!(e.message.contains("sets nothing"), "{text:?}: {e}");
    }
}

#[test]
fn a_file_with_one_key_gives_defaults_for_the_rest_and_the_file_stem_as_name() {
    let sc = parse("[cluster]\nbrokers = 3\n", "dir/quiet-run.toml").unwrap();
    let d = Scenario::default();
    assert_eq!(sc.name, "quiet-run");
    assert_eq!(
        (sc.brokers, sc.partitions, sc.replication_factor),
        (d.brokers, d.partitions, d.replication_factor)
    );
    assert_eq!(sc.broker.min_insync_replicas, 1);
    assert_eq!(sc.producer.acks, Acks::All);
    assert!(sc.faults.random.is_none() && sc.faults.script.is_empty());
    assert_eq!(sc.selftest.flaw, Flaw::None);
}

/// Values that parse but mean nothing: a fault that lasts 0 ms, a clock ten times too fast, a
/// fault after the writes end, more brokers down than exist, acks with a stray newline.
#[test]
fn nonsense_values_are_refused_with_their_key() {
    let fault =
        |extra: &str| format!("[[faults.script]]\nat_ms = 1000\ntarget = \"broker:1\"\n{extra}");
    for (text, key) in [
        (
            fault("action = \"crash\"\nrestart_after_ms = 0\n"),
            "faults.script[0].restart_after_ms",
        ),
        (
            fault("action = \"isolate\"\nheal_after_ms = 0\n"),
            "faults.script[0].heal_after_ms",
        ),
        (
            fault("action = \"clock-drift\"\nclock_percent = 1000\n"),
            "faults.script[0].clock_percent",
        ),
        (
            "[workload]\nduration_ms = 500\n".to_string() + &fault("action = \"crash\"\n"),
            "faults.script[0].at_ms",
        ),
        (
            "[faults.random]\nmax_down = 4\n".into(),
            "faults.random.max_down",
        ),
        ("[producer]\nacks = \"all\\n\"\n".into(), "producer.acks"),
    ] {
        let e = parse(&text, "x.toml").unwrap_err();
        assert_eq!(e.key.as_deref(), Some(key), "{text}: {e}");
        assert!(e.line.is_some(), "{text}: {e}");
    }
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
fn a_table_where_a_value_belongs_is_a_wrong_type_never_the_default() {
    for table in ["{}", "{ count = 3 }"] {
        let e = parse_err(&format!("[cluster]\nbrokers = {table}\n"));
        let found = "expected an integer, found a table";
        assert_err(&e, 2, 11, "cluster.brokers", found);
    }
    let e = parse_err("[server]\nmin.insync = {}\n");
    assert_err(&e, 2, 1, "server.min.insync", "unknown key `min.insync`");
    let e = parse_err("[[faults.script]]\nat_ms = {}\naction = \"crash\"\ntarget = \"all\"\n");
    assert_err(&e, 2, 9, "faults.script[0].at_ms", "found a table");
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
    // Inside an inline table the line names no one key: none is guessed.
    let e = parse_err("[cluster]\nbrokers = { b = 99999999999999999999 }\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(2), None), "{e}");
    let e = parse_err("[cluster]\nbrokers = = 3\n");
    // An error inside a value names the key it belongs to.
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(2), Some("cluster.brokers")),
        "{e}"
    );
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
fn suggestions_count_a_swap_as_one_edit() {
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
