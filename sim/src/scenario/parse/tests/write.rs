//! `to_toml` and the settings lists, generated from the key table, against the parser.

use super::*;

/// Every key the scenario decides, as the key table shows it (the random faults included).
fn shown(sc: &Scenario) -> Vec<(String, Option<String>)> {
    KEYS.iter()
        .filter(|s| !matches!(s.role(), Role::Story | Role::Alias))
        .map(|s| (s.qualified(), (s.show)(sc).map(|v| plain(&v))))
        .collect()
}

#[test]
fn every_shipped_scenario_written_back_reads_to_the_same_settings() {
    let gallery = gallery();
    assert!(gallery.len() >= 10, "the gallery is read: {gallery:?}");
    for (name, _) in gallery {
        let sc = load(&name).unwrap_or_else(|e| panic!("{e}"));
        let text = to_toml(&sc);
        let back = parse(&text, "back.toml").unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        assert_eq!(shown(&back), shown(&sc), "{name}:\n{text}");
        assert_eq!(back.faults.script, sc.faults.script, "{name}");
        assert_eq!(to_toml(&back), text, "{name}");
    }
}

#[test]
fn a_changed_key_is_written_and_an_unset_one_is_left_out() {
    let mut sc = Scenario::default();
    let text = to_toml(&sc);
    assert!(!text.contains("log.flush.interval.ms"), "{text}");
    assert!(!text.contains("[selftest]"), "{text}");
    assert!(!text.contains("refusal_bumps_partition_epoch"), "{text}");
    assert!(!text.contains("[faults.random]"), "{text}");
    for a in [
        "log.flush.interval.ms=7",
        "flaw=hw-regress",
        "refusal_bumps_partition_epoch=true",
        "faults.random.max_down=2",
        "acks=1",
    ] {
        apply_set(&mut sc, a).unwrap();
    }
    let text = to_toml(&sc);
    for line in [
        "log.flush.interval.ms = 7",
        "[selftest]\nflaw = \"hw-regress\"",
        "refusal_bumps_partition_epoch = true",
        "[faults.random]\nkinds = [\"crash\", \"power-loss\"]",
        "max_down = 2",
        "acks = \"1\"",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    let back = parse(&text, "back.toml").unwrap();
    assert_eq!(shown(&back), shown(&sc));
}

#[test]
fn settings_list_a_section_and_the_rules_changed_from_the_default() {
    let mut sc = Scenario::default();
    assert!(changed_settings(&sc, Role::History).is_empty());
    apply_set(&mut sc, "preset=kafka-0.8").unwrap();
    apply_set(&mut sc, "refusal_bumps_partition_epoch=true").unwrap();
    let old = changed_settings(&sc, Role::History);
    assert_eq!(
        old.first().map(String::as_str),
        Some("truncation=high-watermark")
    );
    assert!(old.contains(&"strict_min_isr=false".to_string()), "{old:?}");
    assert_eq!(
        changed_settings(&sc, Role::Beyond),
        ["refusal_bumps_partition_epoch=true"]
    );
    let server = settings(&sc, "server");
    assert!(server.contains(&"log.flush.interval.messages=never".to_string()));
    assert!(server.contains(&"unclean.leader.election.enable=true".to_string()));
    assert_eq!(settings(&sc, "cluster"), ["brokers=3", "controllers=3"]);
}
