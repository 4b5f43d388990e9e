//! Finding and loading scenario files, the shipped gallery, and properties of the parser over
//! edited files.

use super::*;

/// A scratch directory under the system temp dir, unique per test.
pub(super) fn scratch(tag: &str) -> PathBuf {
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
        "description = \"\"\"\n\nAlpha story.\nMore.\"\"\"\n[cluster]\nbrokers = 3\n",
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
pub(super) fn check_parse(text: &str) {
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

pub(super) fn mutate(edits: &[(usize, u8, u8)]) -> String {
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

pub(super) fn mutate_lines(edits: &[(usize, usize, u8)], insert: &str) -> String {
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
