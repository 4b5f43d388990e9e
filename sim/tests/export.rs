//! The exports a checker written apart from ksim reads: results.json (with the configuration
//! in force), replicas.json, history.jsonl and faults.jsonl, of a passing and of a failing
//! run, each validated against its JSON Schema in reports/schema/, and cross-checked against
//! one another where Kafka's semantics tie them (an acknowledged write is in the final leader's
//! log at its offset, in the leader epoch it was acknowledged in).

mod common;

use std::path::{Path, PathBuf};

use common::ksim_in;
use ksim_model::{Named, VariantArray};
use serde_json::{json, Value};

fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("export-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(path: &Path, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The schema `name` of reports/schema/, itself checked against its meta-schema.
fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../reports/schema")
        .join(name);
    let schema = parse(&path, &read(&path));
    assert!(
        jsonschema::meta::is_valid(&schema),
        "{name} is not a valid JSON Schema"
    );
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every error of `doc` against `validator`, each with where it is.
fn errors(validator: &jsonschema::Validator, doc: &Value, what: &str) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{what} at {}: {e}", e.instance_path()))
        .collect()
}

struct Schemas {
    results: jsonschema::Validator,
    replicas: jsonschema::Validator,
    history: jsonschema::Validator,
    fault: jsonschema::Validator,
}

impl Schemas {
    fn load() -> Schemas {
        Schemas {
            results: schema("results.schema.json"),
            replicas: schema("replicas.schema.json"),
            history: schema("history-line.schema.json"),
            fault: schema("fault-line.schema.json"),
        }
    }
}

/// One run's exports, parsed.
struct Exports {
    results: Value,
    replicas: Value,
    history: Vec<Value>,
    faults: Vec<Value>,
}

/// Run `scenario` seed `seed` in `dir` (expecting exit code `code`), validate every exported
/// file against its schema, and return them parsed.
fn run_and_validate(dir: &Path, scenario: &str, seed: u64, code: i32) -> Exports {
    let (got, out, err) = ksim_in(
        dir,
        &[
            "run",
            scenario,
            "--seed",
            &seed.to_string(),
            "--report-dir",
            ".",
        ],
    );
    assert_eq!(got, code, "{out}{err}");
    let report = dir.join(scenario).join(seed.to_string());
    let s = Schemas::load();
    let mut bad = Vec::new();
    let path = report.join("results.json");
    let results = parse(&path, &read(&path));
    bad.extend(errors(&s.results, &results, "results.json"));
    let path = report.join("replicas.json");
    let replicas = parse(&path, &read(&path));
    bad.extend(errors(&s.replicas, &replicas, "replicas.json"));
    let lines = |name: &str, validator: &jsonschema::Validator, bad: &mut Vec<String>| {
        let path = report.join(name);
        let text = read(&path);
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{name} ends a line"
        );
        text.lines()
            .enumerate()
            .map(|(i, line)| {
                let v = parse(&path, line);
                bad.extend(errors(validator, &v, &format!("{name} line {}", i + 1)));
                v
            })
            .collect::<Vec<Value>>()
    };
    let history = lines("history.jsonl", &s.history, &mut bad);
    let faults = lines("faults.jsonl", &s.fault, &mut bad);
    assert!(
        bad.is_empty(),
        "{scenario} seed {seed}: {} schema errors, the first ones:\n{}",
        bad.len(),
        bad[..bad.len().min(20)].join("\n")
    );
    Exports {
        results,
        replicas,
        history,
        faults,
    }
}

/// The final leader's replica of `partition`.
fn leader_replica(replicas: &Value, partition: u64) -> &Value {
    let leader = replicas["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["partition"] == partition)
        .map(|p| p["leader"].clone())
        .expect("the partition is listed");
    replicas["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["partition"] == partition && r["broker"] == leader)
        .expect("the leader's replica is listed")
}

/// What holds of every replica whatever the run: offsets from 0 in a row, HW <= LEO, the log of
/// a live replica as long as its LEO, epochs that never go down along the log.
fn check_replicas(replicas: &Value) {
    for r in replicas["replicas"].as_array().unwrap() {
        let records = r["records"].as_array().unwrap();
        let (leo, hw) = (r["leo"].as_u64().unwrap(), r["hw"].as_u64().unwrap());
        assert!(hw <= leo, "{}", r["broker"]);
        if r["alive"] == true {
            assert_eq!(
                records.len() as u64,
                leo,
                "broker {}'s log ends at its LEO",
                r["broker"]
            );
        }
        for (i, rec) in records.iter().enumerate() {
            assert_eq!(rec["offset"], i as u64);
            assert!(rec["base_offset"].as_u64().unwrap() <= i as u64);
        }
        let epochs: Vec<i64> = records
            .iter()
            .map(|rec| rec["leader_epoch"].as_i64().unwrap())
            .collect();
        assert!(epochs.windows(2).all(|w| w[0] <= w[1]), "{}", r["broker"]);
    }
}

#[test]
fn a_passing_run_exports_what_a_checker_needs_and_every_file_matches_its_schema() {
    let dir = fresh_dir("default");
    let e = run_and_validate(&dir, "default", 2, 0);
    assert_eq!(e.results["verdict"], "valid");

    // The configuration in force, with Kafka's keys.
    let config = &e.results["config"];
    assert_eq!(config["name"], "default");
    assert_eq!(config["producer"]["acks"], "all");
    assert_eq!(config["server"]["min.insync.replicas"], 2);
    assert_eq!(config["server"]["unclean.leader.election.enable"], false);
    assert_eq!(
        config["server"]["controller.quorum.voters"],
        json!([1, 2, 3])
    );
    assert_eq!(config["protocol"]["truncation"], "leader-epoch");
    assert_eq!(config["selftest"]["flaw"], "none");
    let random = &config["faults"]["random"];
    assert_eq!(random["kinds"], json!(["crash", "power-loss"]));
    assert_eq!(config["faults"]["random_drawn"], *random, "no swarm");

    // Every acknowledgement names its broker and leader epoch, and the final leader holds the
    // write at the acknowledged offset, appended in that epoch (no retries here, so the
    // record was appended by the leader that answered). Seed 2 acknowledges writes on both
    // sides of a failover.
    check_replicas(&e.replicas);
    let acks: Vec<&Value> = e
        .history
        .iter()
        .filter(|op| op["f"] == "send" && op["type"] == "ok")
        .collect();
    assert_eq!(
        acks.len() as u64,
        e.results["counts"]["acked"].as_u64().unwrap()
    );
    let leader = leader_replica(&e.replicas, 0);
    let log = leader["records"].as_array().unwrap();
    for op in &acks {
        let offset = op["offset"].as_u64().expect("an offset") as usize;
        let rec = &log[offset];
        assert_eq!(rec["value"], op["value"], "offset {offset}");
        assert_eq!(rec["leader_epoch"], op["leader_epoch"], "offset {offset}");
        assert!(op["broker"].as_i64().is_some_and(|b| (1..=3).contains(&b)));
    }
    assert!(
        acks.iter()
            .any(|op| op["leader_epoch"] != acks[0]["leader_epoch"]),
        "the run acknowledged in more than one leader epoch"
    );

    // The random faults as intervals, each ended by its restart.
    assert_eq!(e.faults.len() as u64, {
        let c = &e.results["counts"];
        c["crashes"].as_u64().unwrap() + c["power_losses"].as_u64().unwrap()
    });
    for f in &e.faults {
        let (start, end) = (
            f["start_ms"].as_u64().unwrap(),
            f["end_ms"].as_u64().unwrap(),
        );
        assert!(["crash", "power-loss"].contains(&f["kind"].as_str().unwrap()));
        let after = f["parameters"]["restart_after_ms"].as_u64().unwrap();
        assert!(
            start + after >= end,
            "restarted when planned, or at the heal phase"
        );
    }
}

#[test]
fn a_failing_run_exports_every_file_to_its_schema_with_its_scripted_faults() {
    let dir = fresh_dir("kip-101");
    let e = run_and_validate(&dir, "kip-101-truncate-to-hw", 3, 1);
    assert_eq!(e.results["verdict"], "invalid");
    let config = &e.results["config"];
    assert_eq!(config["protocol"]["truncation"], "high-watermark");
    assert_eq!(config["server"]["replica.lag.time.max.ms"], 10000);
    assert_eq!(config["run"]["seed"], 3);
    assert_eq!(config["fix"], json!(["protocol.truncation=leader-epoch"]));
    assert_eq!(config["faults"]["random"], Value::Null);
    check_replicas(&e.replicas);

    // Each scripted fault is one line, with the node it hit and its parameters.
    let script = config["faults"]["script"].as_array().unwrap();
    assert_eq!(e.faults.len(), script.len());
    for (f, s) in e.faults.iter().zip(script) {
        assert_eq!(f["kind"], s["action"]);
        assert_eq!(f["node"], s["target"]);
        assert_eq!(f["start_ms"], s["at_ms"]);
        for key in ["restart_after_ms", "heal_after_ms", "latency_ms"] {
            assert_eq!(f["parameters"][key], s[key], "{key}");
        }
        assert!(f["end_ms"].as_u64().unwrap() > f["start_ms"].as_u64().unwrap());
    }
    assert_eq!(e.faults[0]["kind"], "isolate-from-replicas");
    assert_eq!(e.faults[0]["end_ms"], 5000 + 22000, "healed when planned");

    // The finding shows in the exports alone: a write acknowledged under acks=all is not in
    // the final leader's log at its offset.
    let leader = leader_replica(&e.replicas, 0);
    let log = leader["records"].as_array().unwrap();
    let lost = e
        .history
        .iter()
        .filter(|op| op["type"] == "ok" && op["f"] == "send")
        .filter(|op| {
            let at = op["offset"].as_u64().unwrap() as usize;
            log.get(at).is_none_or(|rec| rec["value"] != op["value"])
        })
        .count();
    assert!(lost > 0, "an acknowledged write is gone");
}

#[test]
fn the_schemas_are_strict() {
    let s = Schemas::load();
    let dir = fresh_dir("strict");
    let e = run_and_validate(&dir, "default", 2, 0);
    let rejects = |validator: &jsonschema::Validator, doc: &Value, change: &str| {
        assert!(!validator.is_valid(doc), "the schema accepts {change}");
    };
    // An unknown field, a missing one, a wrong type, anywhere in the tree.
    let mut doc = e.results.clone();
    doc["extra"] = json!(1);
    rejects(&s.results, &doc, "an unknown top-level field");
    let mut doc = e.results.clone();
    doc["config"]["server"]
        .as_object_mut()
        .unwrap()
        .remove("min.insync.replicas");
    rejects(&s.results, &doc, "a config without min.insync.replicas");
    let mut doc = e.results.clone();
    doc["config"]["producer"]["linger.ms"] = json!("5");
    rejects(&s.results, &doc, "a string for linger.ms");
    let mut doc = e.replicas.clone();
    doc["replicas"][0]["records"][0]["producer_epoch"] = json!(0);
    rejects(&s.replicas, &doc, "an unknown record field");
    let mut doc = e.replicas.clone();
    doc["replicas"][0].as_object_mut().unwrap().remove("hw");
    rejects(&s.replicas, &doc, "a replica without its HW");
    let ok = e
        .history
        .iter()
        .find(|op| op["type"] == "ok")
        .unwrap()
        .clone();
    let mut doc = ok.clone();
    doc["broker"] = Value::Null;
    rejects(&s.history, &doc, "an acknowledgement without its broker");
    let mut doc = ok.clone();
    doc["type"] = json!("invoke");
    rejects(&s.history, &doc, "an invoke with an offset");
    let mut doc = e.faults[0].clone();
    doc["parameters"]
        .as_object_mut()
        .unwrap()
        .remove("latency_ms");
    rejects(&s.fault, &doc, "fault parameters without latency_ms");
}

#[test]
fn the_schemas_name_every_fault_action() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/schema/results.schema.json");
    let results = parse(&path, &read(&path));
    let names: Vec<Value> = ksim::scenario::FaultAction::VARIANTS
        .iter()
        .map(|a| json!(a.name()))
        .collect();
    let listed = results["$defs"]["fault_action"]["enum"].as_array().unwrap();
    assert_eq!(listed.len(), names.len());
    assert!(names.iter().all(|n| listed.contains(n)));
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/schema/fault-line.schema.json");
    let line = parse(&path, &read(&path));
    let kinds = line["properties"]["kind"]["enum"].as_array().unwrap();
    let opened: Vec<&Value> = names
        .iter()
        .filter(|n| *n != "restart" && *n != "heal")
        .collect();
    assert_eq!(kinds.len(), opened.len());
    assert!(opened.iter().all(|n| kinds.contains(n)));
}

#[test]
fn a_run_with_a_consumer_group_exports_its_polls_and_a_consumer_fault_to_the_schemas() {
    let dir = fresh_dir("consumers");
    let e = run_and_validate(&dir, "consumer-group-crash", 1, 0);
    let polls: Vec<&Value> = e.history.iter().filter(|op| op["f"] == "poll").collect();
    assert_eq!(
        polls.len() as u64,
        e.results["counts"]["polled"].as_u64().unwrap()
    );
    assert!(
        e.results["config"]["workload"]["consumers"]
            .as_u64()
            .unwrap()
            > 0
    );
    // A polled record is the one the final log holds at its offset (the run lost nothing).
    for p in &polls {
        let log = leader_replica(&e.replicas, p["partition"].as_u64().unwrap())["records"]
            .as_array()
            .unwrap();
        assert_eq!(
            log[p["offset"].as_u64().unwrap() as usize]["value"],
            p["value"]
        );
    }
    assert!(e
        .faults
        .iter()
        .any(|f| f["node_kind"] == "consumer" && f["kind"] == "crash"));
}
