//! `--set` and the cross-key checks on built scenarios.

use super::*;

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
    assert_eq!(sc.selftest.flaw, Flaw::HwRegress);
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
            show: |_| None,
        },
        KeySpec {
            section: "b",
            key: "x",
            apply: |_, _| Ok(()),
            show: |_| None,
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
        session_expiry: true,
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
