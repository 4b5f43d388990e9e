//! Ten thousand generated bad scenario files: each must be rejected with a located error
//! (file, line, and the key where there is one), never a panic; a sample goes through the
//! `ksim` binary, which must exit 2 and print the location.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use ksim::scenario::parse::parse;

const BASE: &str = r#"name = "gen"

[cluster]
brokers = 3

[server]
num.partitions = 1
default.replication.factor = 3
min.insync.replicas = 2
replica.lag.time.max.ms = 30000

[producer]
acks = "all"
request.timeout.ms = 30000

[workload]
producers = 1
rate_per_sec = 100
duration_ms = 20000

[[faults.script]]
at_ms = 5000
action = "crash"
target = "leader:0"
restart_after_ms = 1000
"#;

/// Insert `line` right after the header of `section`.
fn in_section(section: &str, line: &str) -> String {
    BASE.replacen(
        &format!("[{section}]\n"),
        &format!("[{section}]\n{line}\n"),
        1,
    )
}

/// Replace the first line starting with `prefix`.
fn replace_line(prefix: &str, line: &str) -> String {
    BASE.lines()
        .map(|l| {
            if l.starts_with(prefix) {
                line.to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One bad file, and the key its error must name (None for syntax errors).
fn generate(rng: &mut ChaCha8Rng) -> (String, Option<&'static str>) {
    let n: u32 = rng.gen_range(0..1_000_000);
    match rng.gen_range(0..12) {
        k @ 0..=5 => first_half(k, n),
        k => second_half(k, n),
    }
}

/// Misspelt keys, wrong types, out-of-range counts.
fn first_half(k: u32, n: u32) -> (String, Option<&'static str>) {
    match k {
        0 => (
            in_section(
                "server",
                &format!(
                    "min.insync.replica{} = 2",
                    ["", "z", "_s", "ss"][n as usize % 4]
                ),
            ),
            Some("min.insync.replica"),
        ),
        1 => (
            in_section(
                "producer",
                &format!("ack{} = \"all\"", ["", "z", "_"][n as usize % 3]),
            ),
            Some("ack"),
        ),
        2 => (
            replace_line("brokers", &format!("brokers = \"{n}\"")),
            Some("brokers"),
        ),
        3 => (
            replace_line(
                "brokers",
                &format!(
                    "brokers = {}",
                    [0, 65 + n as i64, -(n as i64) - 1][n as usize % 3]
                ),
            ),
            Some("brokers"),
        ),
        4 => (
            replace_line(
                "min.insync.replicas",
                &format!("min.insync.replicas = {}", 4 + n % 10),
            ),
            Some("min.insync.replicas"),
        ),
        5 => (
            replace_line(
                "default.replication.factor",
                &format!("default.replication.factor = {}", 4 + n % 60),
            ),
            Some("default.replication.factor"),
        ),
        _ => unreachable!("first_half takes 0..=5"),
    }
}

/// Unknown enum names, misspelt sections, syntax errors, quoted keys.
fn second_half(k: u32, n: u32) -> (String, Option<&'static str>) {
    match k {
        6 => (
            replace_line(
                "acks",
                &format!("acks = \"{}\"", ["2", "most", "-2", "al"][n as usize % 4]),
            ),
            Some("acks"),
        ),
        7 => (
            replace_line(
                "action",
                &format!("action = \"{}\"", ["explode", "crashh", ""][n as usize % 3]),
            ),
            Some("action"),
        ),
        8 => (
            replace_line(
                "target",
                &format!(
                    "target = \"{}\"",
                    ["leader:x", "broker:9", "leader:7", "nobody"][n as usize % 4]
                ),
            ),
            Some("target"),
        ),
        9 => (
            BASE.replacen(
                "[workload]",
                &format!("[workload{}]", ["z", "s", "_x"][n as usize % 3]),
                1,
            ),
            Some("workload"),
        ),
        10 => (
            replace_line(
                "duration_ms",
                [
                    "duration_ms = ",
                    "duration_ms = [1,",
                    "duration_ms = \"12",
                    "duration_ms 12",
                ][n as usize % 4],
            ),
            None,
        ),
        _ => (
            in_section(
                "server",
                &format!("\"min.insync.replicas\" = {}", 1 + n % 2),
            ),
            Some("min.insync.replicas"),
        ),
    }
}

#[test]
fn ten_thousand_bad_scenarios_are_rejected_with_a_location_and_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut by_kind = std::collections::BTreeMap::new();
    for i in 0..10_000 {
        let (text, key) = generate(&mut rng);
        let result = std::panic::catch_unwind(|| parse(&text, "gen.toml"));
        let parsed = result.unwrap_or_else(|_| panic!("input {i} panicked:\n{text}"));
        let err = match parsed {
            Ok(_) => panic!("input {i} was accepted:\n{text}"),
            Err(e) => e,
        };
        assert_eq!(err.file, "gen.toml");
        assert!(err.line.is_some(), "input {i}: no line in `{err}`:\n{text}");
        assert!(!err.message.is_empty());
        if let Some(k) = key {
            let named = err.key.clone().unwrap_or_default();
            assert!(
                named.contains(k),
                "input {i}: expected key `{k}` in `{err}`:\n{text}"
            );
        }
        *by_kind.entry(key.unwrap_or("syntax")).or_insert(0u32) += 1;
    }
    assert!(by_kind.len() >= 10, "{by_kind:?}");
}

#[test]
fn the_binary_exits_2_with_the_location_for_a_sample_of_bad_files() {
    let dir = std::env::temp_dir().join(format!("ksim-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for i in 0..24 {
        let (text, _) = generate(&mut rng);
        let path = dir.join(format!("gen-{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ksim"))
            .args(["run", path.to_str().unwrap(), "--seed", "1"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!("gen-{i}.toml:")), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Every key a scenario file writes (the default scenario written back, key by key), given a
/// value of the wrong type through the binary: exit 2, naming the file, the line and the key.
#[test]
fn the_binary_refuses_a_wrong_type_for_every_written_key_with_exit_2_and_its_line() {
    let sc = ksim::scenario::parse::load("default").unwrap();
    let text = ksim::scenario::parse::to_toml(&sc);
    let dir = std::env::temp_dir().join(format!("ksim-every-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut tried = 0;
    for (i, line) in text.lines().enumerate() {
        let Some((key, value)) = line.split_once(" = ") else {
            continue;
        };
        // A value of another type: text for a number or a boolean, a table for text.
        let wrong = if value.starts_with('"') {
            "{}"
        } else {
            "\"abc\""
        };
        let mut lines: Vec<&str> = text.lines().collect();
        let bad = format!("{key} = {wrong}");
        lines[i] = &bad;
        let path = dir.join(format!("k{i}.toml"));
        std::fs::write(&path, lines.join("\n")).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ksim"))
            .args(["run", path.to_str().unwrap(), "--seed", "1", "--no-report"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        let at = format!("k{i}.toml:{}:", i + 1);
        assert!(
            err.contains(&at) && err.contains(key.trim_matches('"')),
            "{bad}: {err}"
        );
        tried += 1;
    }
    assert!(tried >= 40, "{tried} keys");
    let _ = std::fs::remove_dir_all(&dir);
}
