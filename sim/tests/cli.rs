//! The command line as a user meets it: exit codes, located errors for bad input, the
//! reproduce line, and the `--json` object.

mod common;

use common::ksim;

fn temp_scenario(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("ksim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn acks_1_run_reports_allowed_loss_and_how_to_reproduce() {
    let (code, out, _) = ksim(&["run", "acks-1-failover", "--seed", "1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("seed       1"), "{out}");
    assert!(out.contains("lost-but-allowed="), "{out}");
    assert!(!out.contains("lost-but-allowed=0 "), "{out}");
    assert!(out.contains("verdict    VALID"), "{out}");
    assert!(
        out.contains("reproduce: cargo run --release -- run acks-1-failover --seed 1"),
        "{out}"
    );
}

#[test]
fn a_violation_exits_1_and_json_carries_the_verdict() {
    let (code, out, _) = ksim(&[
        "run",
        "acks-all-leader-crash",
        "--seed",
        "3",
        "--set",
        "flaw=ack-before-replication",
        "--json",
    ]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["verdict"], "invalid");
    assert_eq!(v["seed"], 3);
    assert!(v["trace_hash"].as_str().unwrap().len() == 16);
    assert!(v["counts"]["acked"].as_u64().unwrap() > 0);
    assert!(v["violations"][0]["message"]
        .as_str()
        .unwrap()
        .contains("acknowledged write lost"));
    assert!(v["reproduce"]
        .as_str()
        .unwrap()
        .contains("--set flaw=ack-before-replication"));
}

#[test]
fn check_determinism_runs_twice_and_agrees() {
    let (code, out, err) = ksim(&["run", "default", "--seed", "5", "--check-determinism"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("determinism: two runs gave trace"), "{out}");
}

#[test]
fn a_run_without_a_seed_draws_one_and_prints_it() {
    let (code, out, _) = ksim(&["run", "default", "--set", "duration_ms=4000"]);
    assert!(code == 0 || code == 3, "{out}");
    let seed_line = out
        .lines()
        .find(|l| l.starts_with("seed "))
        .expect("a seed line");
    let seed: u64 = seed_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(out.contains(&format!("--seed {seed}")), "{out}");
}

#[test]
fn a_vacuous_run_exits_3() {
    // Random faults asked for, the first due after the writes end: none is injected.
    let (code, out, _) = ksim(&[
        "run",
        "default",
        "--seed",
        "1",
        "--set",
        "faults.random.interval_ms=[25000, 25000]",
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("VACUOUS"), "{out}");
    // A scripted fault after the writes end is refused before running.
    let (code, _, err) = ksim(&[
        "run",
        "acks-all-leader-crash",
        "--seed",
        "1",
        "--set",
        "duration_ms=3000",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("faults.script[0].at_ms"), "{err}");
}

#[test]
fn malformed_scenario_file_exits_2_naming_file_and_line() {
    let path = temp_scenario(
        "broken.toml",
        "[server]\nmin.insync.replicas = 2\nacks = [\n",
    );
    let (code, _, err) = ksim(&["run", &path, "--seed", "1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&path), "{err}");
    assert!(err.contains(":3:") || err.contains(":4:"), "{err}");
}

#[test]
fn unknown_key_exits_2_naming_file_line_and_key_with_a_suggestion() {
    let path = temp_scenario(
        "typo.toml",
        "[cluster]\nbrokers = 3\n\n[server]\nmin.insync.replica = 2\n",
    );
    let (code, _, err) = ksim(&["run", &path, "--seed", "1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("{path}:5:")), "{err}");
    assert!(err.contains("min.insync.replica"), "{err}");
    assert!(err.contains("min.insync.replicas"), "did you mean: {err}");
}

#[test]
fn impossible_cluster_and_bad_set_exit_2() {
    let (code, _, err) = ksim(&["run", "default", "--set", "brokers=2"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("replication.factor"), "{err}");
    let (code, _, err) = ksim(&["run", "default", "--set", "no.such.key=1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no.such.key"), "{err}");
    let (code, _, err) = ksim(&["run", "no-such-scenario"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn scenarios_lists_the_gallery() {
    let (code, out, _) = ksim(&["scenarios"]);
    assert_eq!(code, 0);
    for name in [
        "default",
        "acks-1-failover",
        "acks-all-leader-crash",
        "power-loss-without-fsync",
    ] {
        assert!(out.contains(name), "{out}");
    }
}

#[test]
fn server_and_producer_properties_apply_with_located_errors() {
    let server = temp_scenario(
        "server.properties",
        "broker.id=1\nlog.dirs=/var/kafka\nmin.insync.replicas=2\nacks=all\n",
    );
    let (code, _, err) = ksim(&[
        "run",
        "acks-1-failover",
        "--seed",
        "1",
        "--server-properties",
        &server,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("{server}:4:")) && err.contains("`acks`"),
        "{err}"
    );
    let server = temp_scenario("server2.properties", "broker.id=1\nmin.insync.replicas=2\n");
    let producer = temp_scenario(
        "producer.properties",
        "bootstrap.servers=localhost:9092\nacks=1\nlinger.ms=5\ncompression.type=gzip\n",
    );
    let (code, out, err) = ksim(&[
        "run",
        "acks-1-failover",
        "--seed",
        "1",
        "--server-properties",
        &server,
        "--producer-properties",
        &producer,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("min.insync.replicas=2 "), "{out}");
    assert!(
        out.contains("ignored    compression.type=gzip") && out.contains("not modelled yet"),
        "{out}"
    );
    assert!(
        out.contains(
            "--set server.min.insync.replicas=2 --set producer.acks=1 --set producer.linger.ms=5"
        ),
        "{out}"
    );
}

#[test]
fn heal_after_only_goes_with_isolation_and_restart_after_only_with_a_stop() {
    let path = temp_scenario("mixed.toml", "[[faults.script]]\nat_ms = 1000\naction = \"crash\"\ntarget = \"broker:1\"\nheal_after_ms = 5\n");
    let (code, _, err) = ksim(&["run", &path, "--seed", "1"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("heal_after_ms") && err.contains(":5:"),
        "{err}"
    );
    let path = temp_scenario("mixed2.toml", "[[faults.script]]\nat_ms = 1000\naction = \"isolate\"\ntarget = \"leader:0\"\nrestart_after_ms = 5\n");
    let (code, _, err) = ksim(&["run", &path, "--seed", "1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("restart_after_ms"), "{err}");
}

/// Run what a reproduce line says (minus the `cargo run --release --` prefix).
fn replay(reproduce: &str) -> (i32, String, String) {
    let args = reproduce
        .trim()
        .strip_prefix("cargo run --release -- ")
        .expect("a cargo run line");
    let words: Vec<String> = args
        .split_whitespace()
        .map(|w| w.trim_matches('\'').to_string())
        .collect();
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    ksim(&refs)
}

#[test]
fn a_planted_panic_and_a_planted_livelock_are_findings_whose_reproduce_lines_replay_them() {
    for (args, checker) in [
        (
            vec![
                "run",
                "acks-all-leader-crash",
                "--seed",
                "4",
                "--set",
                "flaw=panic-on-restart",
            ],
            "[panic]",
        ),
        (
            vec![
                "run",
                "default",
                "--seed",
                "2",
                "--set",
                "flaw=followers-never-fetch",
                "--set",
                "duration_ms=6000",
                "--set",
                "settle_ms=3000",
            ],
            "[liveness]",
        ),
    ] {
        let (code, out, _) = ksim(&args);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains(&format!("first      {checker}")), "{out}");
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix("reproduce: "))
            .expect("a reproduce line");
        let trace = |o: &str| {
            o.lines()
                .find(|l| l.starts_with("time "))
                .and_then(|l| l.split("trace=").nth(1))
                .map(str::to_string)
        };
        let (again, replayed, _) = replay(line);
        assert_eq!(again, 1, "{replayed}");
        assert!(
            replayed.contains(&format!("first      {checker}")),
            "{replayed}"
        );
        assert_eq!(
            trace(&out),
            trace(&replayed),
            "the replay must be the same run"
        );
    }
}

/// acks=0 hears no answer: its writes are counted as sent, never as acknowledged, and a lost
/// one is described without an offset it never had or a min.insync.replicas that played no part.
#[test]
fn acks_0_writes_are_sent_not_acknowledged() {
    let (code, out, err) = ksim(&["run", "default", "--seed", "2", "--set", "acks=0"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("sent=") && out.contains("none acknowledged"),
        "{out}"
    );
    assert!(!out.contains(" acked="), "{out}");
    assert!(
        out.contains("sent write(s) lost, as acks=0 allows"),
        "{out}"
    );
    assert!(
        !out.contains("offset ?") && !out.contains("acks=0 with min.insync"),
        "{out}"
    );
}

/// Outside a cargo checkout the reproduce line is the binary's own invocation; through cargo
/// (which sets `CARGO` for what it runs) it is the `cargo run` line.
#[test]
fn the_reproduce_line_runs_the_binary_it_was_printed_by() {
    let bin = env!("CARGO_BIN_EXE_ksim");
    let out = std::process::Command::new(bin)
        .args(["run", "default", "--seed", "1", "--no-report"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CARGO")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("reproduce: {bin} run default --seed 1")),
        "{stdout}"
    );
    let (_, stdout, _) = ksim(&["run", "default", "--seed", "1"]);
    assert!(
        stdout.contains("reproduce: cargo run --release -- run default --seed 1"),
        "{stdout}"
    );
}

#[test]
fn a_cross_key_error_names_the_properties_file_and_line_that_set_the_key() {
    let server = temp_scenario("cross.properties", "# ours\nmin.insync.replicas=5\n");
    let (code, _, err) = ksim(&["run", "default", "--server-properties", &server]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("{server}:2: key `min.insync.replicas`")),
        "{err}"
    );
    let (code, _, err) = ksim(&["run", "default", "--set", "min.insync.replicas=5"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--set: key `server.min.insync.replicas`"),
        "{err}"
    );
}

#[test]
fn a_key_kafka_has_and_a_run_ignores_is_listed_as_ignored_from_set_as_from_a_file() {
    let server = temp_scenario("ids.properties", "broker.id=1\nzookeeper.connect=zk:2181\n");
    let (code, from_file, err) = ksim(&[
        "run",
        "default",
        "--seed",
        "1",
        "--server-properties",
        &server,
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, from_set, err) = ksim(&[
        "run",
        "default",
        "--seed",
        "1",
        "--set",
        "broker.id=1",
        "--set",
        "zookeeper.connect=zk:2181",
    ]);
    assert_eq!(code, 0, "{err}");
    for out in [&from_file, &from_set] {
        assert!(out.contains("ignored    broker.id=1 ("), "{out}");
        assert!(
            out.contains("this run's coordinator is the KRaft controller quorum"),
            "{out}"
        );
    }
}

#[test]
fn idempotence_alone_says_which_default_refuses_it_and_how_to_change_it() {
    let (code, _, err) = ksim(&["run", "default", "--set", "enable.idempotence=true"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("retries=0 is ksim's default") && err.contains("--set retries="),
        "{err}"
    );
    let (code, _, err) = ksim(&[
        "run",
        "default",
        "--seed",
        "1",
        "--set",
        "enable.idempotence=true",
        "--set",
        "retries=2147483647",
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn an_integer_past_64_bits_is_out_of_range_not_a_string() {
    let (code, _, err) = ksim(&["run", "default", "--set", "retries=18446744073709551615"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("key `retries`") && err.contains("out of range"),
        "{err}"
    );
    let file = temp_scenario("huge.toml", "[cluster]\nbrokers = 18446744073709551615\n");
    let (code, _, err) = ksim(&["run", &file]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("{file}:2:11: key `cluster.brokers`"))
            && err.contains("out of range"),
        "{err}"
    );
}

#[test]
fn output_piped_into_a_reader_that_quits_ends_without_a_panic() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ksim"))
        .args(["run", "default", "--seed", "1", "--no-report"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closed before the banner is written, as `| head -0` closes it.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}

/// `ksim run` with RUST_LOG set and the stderr it wrote.
fn logged(filter: &str) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ksim"))
        .args(["run", "default", "--seed", "1", "--no-report", "--json"])
        .env("RUST_LOG", filter)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn rust_log_prints_each_nodes_steps_in_simulated_time_filtered_per_module() {
    let (_, quiet, _) = ksim(&["run", "default", "--seed", "1", "--json"]);
    let (code, out, err) = logged("info");
    assert_eq!(code, 0, "{err}");
    // A fault and an election, each in its node's span, stamped with simulated seconds.
    assert!(
        err.contains("INFO node{id=0 name=\"madsim-main\"}"),
        "{err}"
    );
    assert!(
        err.contains("ksim::observer: fault: crash broker 1"),
        "{err}"
    );
    assert!(
        err.lines().any(|l| l
            .trim_start()
            .starts_with("14.406s  INFO node{id=1 name=\"controller-1\"}")),
        "{err}"
    );
    // Logging changes nothing the run does.
    let hash = |s: &str| {
        s.split("\"trace_hash\":")
            .nth(1)
            .map(|h| h[..18].to_string())
    };
    assert_eq!(hash(&out), hash(&quiet));
    let (_, _, debug) = logged("ksim::cluster=debug");
    assert!(
        debug.contains("node{id=7 name=\"producer-1\"}")
            && debug.contains("acknowledged at offset"),
        "{debug}"
    );
    assert!(!debug.contains("ksim::observer"), "{debug}");
    let (code, _, err) = logged("ksim=[");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("RUST_LOG=ksim=["), "{err}");
    let (_, _, none) = ksim(&["run", "default", "--seed", "1"]);
    assert!(!none.contains("INFO"), "{none}");
}
