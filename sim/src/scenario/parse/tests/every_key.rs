//! Every key of the table given what it cannot hold (another type, an inline table, an integer
//! past 64 bits), in a scenario file, with `--set`, and for Kafka's keys in a properties file:
//! each is refused with its source named (the file and line, or `--set`) and its key, never
//! taken as the default. Empty and name-only files are refused as well.

use super::*;
use crate::scenario::properties::{apply_properties, PropertiesKind};

/// TOML values no key of `kind` takes (its default's type, as the table shows it).
fn hostile(kind: &str) -> &'static [&'static str] {
    const ALWAYS: [&str; 2] = ["{}", "18446744073709551615"];
    match kind {
        "integer" => &[
            "{}",
            "18446744073709551615",
            "-18446744073709551616",
            "\"abc\"",
            "true",
            "1.5",
            "[1]",
        ],
        "boolean" => &[
            "{}",
            "18446744073709551615",
            "\"maybe\"",
            "7",
            "1.5",
            "[true]",
        ],
        "float" => &["{}", "18446744073709551615", "\"abc\"", "true", "[1.0]"],
        _ => &ALWAYS,
    }
}

fn type_of(spec: &KeySpec) -> &'static str {
    (spec.show)(&Scenario::default()).map_or("unknown", |v| v.type_name())
}

/// A file holding `spec = value` and a broker count (so it sets something a run depends on);
/// the 1-based line of the key.
fn file_with(spec: &KeySpec, value: &str) -> (String, usize) {
    match spec.section {
        "" => (
            format!("{} = {value}\n[cluster]\nbrokers = 3\n", spec.key),
            1,
        ),
        "cluster" => (format!("[cluster]\n{} = {value}\n", spec.key), 2),
        s => (
            format!("[cluster]\nbrokers = 3\n[{s}]\n{} = {value}\n", spec.key),
            4,
        ),
    }
}

fn names_key(e: &InputError, spec: &KeySpec) -> bool {
    e.key
        .as_deref()
        .is_some_and(|k| k.ends_with(spec.key) || spec.key.ends_with(k))
}

#[test]
fn every_key_in_a_file_refuses_what_it_cannot_hold_with_file_line_and_key() {
    let mut tried = 0;
    for spec in KEYS {
        for value in hostile(type_of(spec)) {
            let (text, line) = file_with(spec, value);
            let e = match parse(&text, "fuzz.toml") {
                Ok(_) => panic!("{} = {value} was accepted:\n{text}", spec.qualified()),
                Err(e) => e,
            };
            let at = format!("{} = {value}: {e}", spec.qualified());
            assert_eq!((e.file.as_str(), e.line), ("fuzz.toml", Some(line)), "{at}");
            assert!(names_key(&e, spec), "{at}");
            tried += 1;
        }
    }
    assert!(
        tried > 3 * KEYS.len(),
        "{tried} values over {} keys",
        KEYS.len()
    );
}

#[test]
fn every_key_with_set_refuses_what_it_cannot_hold_naming_set_and_the_key() {
    let mut tried = 0;
    let mut accepted = vec![];
    // A string key takes any text from `--set` (`name={}` names the run `{}`).
    for spec in KEYS
        .iter()
        .filter(|s| !matches!(type_of(s), "string" | "unknown"))
    {
        for value in hostile(type_of(spec)) {
            let mut sc = Scenario::default();
            let assignment = format!("{}={value}", spec.qualified());
            let Err(e) = apply_set(&mut sc, &assignment) else {
                accepted.push(format!("{assignment} ({})", type_of(spec)));
                continue;
            };
            assert_eq!(e.file, "--set", "{assignment}: {e}");
            assert!(names_key(&e, spec), "{assignment}: {e}");
            assert!(sc.overrides.is_empty(), "{assignment}");
            tried += 1;
        }
    }
    assert!(accepted.is_empty(), "{accepted:#?}");
    assert!(tried > 100, "{tried}");
}

#[test]
fn every_kafka_key_in_a_properties_file_refuses_a_wrong_type_naming_file_line_and_key() {
    let kinds = [
        ("server", PropertiesKind::Server),
        ("producer", PropertiesKind::Producer),
        ("consumer", PropertiesKind::Consumer),
        ("zookeeper", PropertiesKind::ZooKeeper),
    ];
    let mut tried = 0;
    for (section, kind) in kinds {
        for spec in keys_of(section).filter(|s| s.role() == Role::Kafka) {
            let Some(bad) = hostile(type_of(spec)).iter().find(|v| v.starts_with('"')) else {
                continue;
            };
            let text = format!("# ours\n{}={}\n", spec.key, bad.trim_matches('"'));
            let mut sc = Scenario::default();
            let e = apply_properties(&mut sc, &text, "our.properties", kind).expect_err(&text);
            assert_eq!(
                (e.file.as_str(), e.line),
                ("our.properties", Some(2)),
                "{text}: {e}"
            );
            assert_eq!(e.key.as_deref(), Some(spec.key), "{text}: {e}");
            // In a properties file's words: every value there is text, none a TOML string.
            assert!(!e.message.contains("found a"), "{text}: {e}");
            tried += 1;
        }
    }
    assert!(tried >= 30, "{tried}");
}

#[test]
fn empty_blank_comment_and_name_only_files_are_refused_at_line_1() {
    for text in [
        "",
        "   \n\t\n",
        "# nothing\n",
        "name = \"x\"\n",
        "name = \"x\"\ndescription = \"y\"\n",
    ] {
        let e = parse(text, "empty.toml").expect_err(text);
        assert_eq!(
            (e.file.as_str(), e.line),
            ("empty.toml", Some(1)),
            "{text:?}: {e}"
        );
    }
}
