//! `ksim sweep` and `ksim merge` as CI uses them: a sweep killed with SIGKILL at arbitrary
//! points and resumed loses and duplicates nothing; jobs and shards do not change results;
//! damaged or foreign results files are refused; `merge` dedupes and rejects conflicts; a
//! stalled or panicking seed is a finding and does not stop the sweep.
//! Each seed takes a fraction of a second in a debug build. Temp dirs are removed on success.

mod common;

use common::ksim_in as ksim;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A scenario short enough for dozens of seeds per test: acks=1, the leader crashes at 5 s.
const QUICK: [&str; 5] = [
    "acks-1-failover",
    "--set",
    "duration_ms=6000",
    "--set",
    "settle_ms=20000",
];

/// A fresh, empty directory for one test.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ksim-sweep-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `sweep QUICK --out FILE --seeds N` plus `extra`.
fn sweep_args<'a>(out: &'a Path, seeds: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["sweep"];
    args.extend(QUICK);
    args.extend(["--out", out.to_str().unwrap(), "--seeds", seeds]);
    args.extend(extra);
    args
}

/// Every line of a results file as JSON; panics on a torn or unparsable line.
fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "torn last line in {}",
        path.display()
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("unparsable line {l:?}: {e}")))
        .collect()
}

/// Seed -> the line without its wall time (the one field allowed to differ between sweeps).
/// Panics if a seed appears twice.
fn by_seed(lines: &[Value]) -> BTreeMap<u64, Value> {
    let mut map = BTreeMap::new();
    for l in lines {
        let mut l = l.clone();
        l.as_object_mut().unwrap().remove("wall_ms");
        let seed = l["seed"].as_u64().unwrap();
        assert!(map.insert(seed, l).is_none(), "seed {seed} appears twice");
    }
    map
}

/// (seed, verdict, trace_hash), sorted by seed.
fn results(lines: &[Value]) -> Vec<(u64, String, String)> {
    let mut r: Vec<_> = lines
        .iter()
        .map(|l| {
            (
                l["seed"].as_u64().unwrap(),
                l["verdict"].as_str().unwrap().to_string(),
                l["trace_hash"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    r.sort();
    r
}

/// The summary table without this invocation's own lines (wall time, the file's path).
fn summary(stdout: &str) -> String {
    let table = stdout.lines().skip_while(|l| !l.starts_with("== ")).skip(1);
    assert!(
        stdout.lines().any(|l| l.starts_with("== ")),
        "no summary in {stdout}"
    );
    table
        .filter(|l| !l.starts_with("this invocation") && !l.starts_with("results file"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A deterministic stream of kill delays (Knuth's MMIX LCG).
struct Lcg(u64);

impl Lcg {
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        lo + (self.0 >> 33) % (hi - lo + 1)
    }
}

/// The complete lines of a possibly torn file parse, and no seed appears twice.
fn assert_prefix_sound(path: &Path) {
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let text = std::str::from_utf8(&bytes[..keep]).unwrap();
    let parsed: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    by_seed(&parsed);
}

#[test]
fn kill_9_at_random_points_then_resume_loses_and_duplicates_nothing() {
    let started = Instant::now();
    let dir = temp_dir("kill");
    let reference = dir.join("reference.jsonl");
    let (code, ref_out, err) = ksim(
        &dir,
        &sweep_args(
            &reference,
            "120",
            &["--jobs", "2", "--determinism-sample", "10"],
        ),
    );
    assert_eq!(code, 0, "{ref_out}{err}");
    let killed = dir.join("killed.jsonl");
    let args = sweep_args(
        &killed,
        "120",
        &["--jobs", "2", "--determinism-sample", "10", "--resume"],
    );
    // Enough seeds that 24 kills at these delays (about 3 s of running in all) land inside
    // the sweep, not after it finished.
    let mut delays = Lcg(0x6b73_696d);
    let mut interrupted = 0;
    for _ in 0..24 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ksim"))
            .args(&args)
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delays.between(20, 250)));
        interrupted += u32::from(child.try_wait().unwrap().is_none());
        child.kill().unwrap();
        child.wait().unwrap();
        assert_prefix_sound(&killed);
    }
    assert!(
        interrupted >= 20,
        "only {interrupted} kills hit a running sweep"
    );
    let before_last = std::fs::read(&killed)
        .unwrap()
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    let (code, out, err) = ksim(&dir, &args);
    assert_eq!(code, 0, "{out}{err}");
    let (got, want) = (lines(&killed), lines(&reference));
    assert_eq!(got.len(), 120, "{out}");
    assert_eq!(by_seed(&got), by_seed(&want));
    assert_eq!(summary(&out), summary(&ref_out));
    assert!(
        by_seed(&got)
            .values()
            .filter(|l| l["determinism"] == true)
            .count()
            == 12,
        "seeds 10, 20, ..., 120 re-run"
    );
    eprintln!("{interrupted} kills interrupted the sweep, {before_last} seeds were done before the last resume; {:.1} s", started.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn jobs_1_jobs_2_and_shards_agree() {
    let dir = temp_dir("agree");
    let file = |n: &str| dir.join(n);
    let (one, two, s1, s2, merged) = (
        file("one.jsonl"),
        file("two.jsonl"),
        file("s1.jsonl"),
        file("s2.jsonl"),
        file("merged.jsonl"),
    );
    let (code, out_one, err) = ksim(
        &dir,
        &sweep_args(&one, "12", &["--from", "100", "--jobs", "1"]),
    );
    assert_eq!(code, 0, "{out_one}{err}");
    for (path, extra) in [
        (&two, ["--jobs", "2"]),
        (&s1, ["--shard", "1/2"]),
        (&s2, ["--shard", "2/2"]),
    ] {
        let (code, out, err) = ksim(
            &dir,
            &sweep_args(path, "12", &[&["--from", "100"][..], &extra[..]].concat()),
        );
        assert_eq!(code, 0, "{out}{err}");
    }
    let seeds = |p: &Path| {
        results(&lines(p))
            .into_iter()
            .map(|r| r.0)
            .collect::<Vec<_>>()
    };
    assert_eq!(seeds(&s1), vec![100, 102, 104, 106, 108, 110]);
    assert_eq!(seeds(&s2), vec![101, 103, 105, 107, 109, 111]);
    let (code, out_merged, err) = ksim(
        &dir,
        &[
            "merge",
            s2.to_str().unwrap(),
            s1.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out_merged}{err}");
    assert_eq!(results(&lines(&one)), results(&lines(&two)));
    assert_eq!(results(&lines(&one)), results(&lines(&merged)));
    assert_eq!(
        seeds(&merged),
        (100..112).collect::<Vec<_>>(),
        "merged file sorted by seed"
    );
    assert_eq!(summary(&out_merged), summary(&out_one));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merge_dedupes_identical_copies_and_rejects_conflicting_results() {
    let dir = temp_dir("merge");
    let line = |seed: u64, verdict: &str, trace: &str| {
        let finding = if verdict == "valid" {
            Value::Null
        } else {
            "liveness".into()
        };
        serde_json::json!({"seed": seed, "scenario": "s", "verdict": verdict, "exit_code": 0, "finding": finding, "message": "", "trace_hash": trace,
            "acked": 5, "lost_allowed": 0, "lost_violating": 0, "simulated_ms": 1, "wall_ms": seed, "determinism": null,
            "reproduce": format!("cargo run --release -- run s --seed {seed}")})
        .to_string()
            + "\n"
    };
    let (a, b, c, out) = (
        dir.join("a.jsonl"),
        dir.join("b.jsonl"),
        dir.join("c.jsonl"),
        dir.join("out.jsonl"),
    );
    std::fs::write(
        &a,
        line(3, "valid", "00000000000000aa") + &line(1, "valid", "00000000000000bb"),
    )
    .unwrap();
    std::fs::write(
        &b,
        line(1, "valid", "00000000000000bb") + &line(2, "invalid", "00000000000000cc"),
    )
    .unwrap();
    std::fs::write(&c, line(2, "valid", "00000000000000cc")).unwrap();
    let (code, stdout, err) = ksim(
        &dir,
        &[
            "merge",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "seed 2 is invalid: {stdout}{err}");
    assert_eq!(
        results(&lines(&out))
            .iter()
            .map(|r| r.0)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(stdout.contains("seeds run                  3"), "{stdout}");
    let (code, _, err) = ksim(
        &dir,
        &[
            "merge",
            b.to_str().unwrap(),
            c.to_str().unwrap(),
            "--out",
            dir.join("x.jsonl").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("seed 2"), "{err}");
    assert!(
        !dir.join("x.jsonl").exists(),
        "nothing written on a conflict"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resume_repairs_a_torn_tail_and_refuses_damaged_or_foreign_files() {
    let dir = temp_dir("resume");
    let path = dir.join("r.jsonl");
    let p = path.to_str().unwrap();
    let (code, out, err) = ksim(&dir, &sweep_args(&path, "4", &["--jobs", "2"]));
    assert_eq!(code, 0, "{out}{err}");
    let whole = std::fs::read_to_string(&path).unwrap();
    // A kill in the middle of the last append: half a line, no newline.
    let last = whole.trim_end().rfind('\n').unwrap() + 1;
    std::fs::write(&path, &whole[..last + (whole.len() - last) / 2]).unwrap();
    let (code, out, err) = ksim(&dir, &sweep_args(&path, "4", &["--resume"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("torn last line"), "{err}");
    assert_eq!(
        by_seed(&lines(&path)),
        by_seed(
            &whole
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<_>>()
        )
    );

    let (code, _, err) = ksim(&dir, &sweep_args(&path, "4", &[]));
    assert_eq!(code, 2, "an existing file without --resume: {err}");
    assert!(err.contains("--resume"), "{err}");
    let (code, _, err) = ksim(&dir, &sweep_args(&path, "4", &["--resume", "--from", "2"]));
    assert_eq!(code, 2, "seed 1 is not in 2..=5: {err}");
    assert!(err.contains("seed 1 is not one of"), "{err}");
    let (code, _, err) = ksim(
        &dir,
        &[
            "sweep",
            "acks-1-failover",
            "--out",
            p,
            "--seeds",
            "4",
            "--resume",
        ],
    );
    assert_eq!(code, 2, "other overrides are another sweep: {err}");
    assert!(err.contains("different sweep"), "{err}");

    let mut damaged: Vec<&str> = whole.lines().collect();
    damaged[1] = "{\"seed\": 2, \"verdict\": ";
    std::fs::write(&path, damaged.join("\n") + "\n").unwrap();
    let (code, _, err) = ksim(&dir, &sweep_args(&path, "4", &["--resume"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("{p} line 2")), "{err}");

    for bad in ["0/2", "3/2", "1/0", "x", "1-2", "1/2/3", "/2"] {
        let (code, _, err) = ksim(
            &dir,
            &sweep_args(&dir.join("s.jsonl"), "4", &["--shard", bad]),
        );
        assert_eq!(code, 2, "--shard {bad}: {err}");
        assert!(err.contains("K/N"), "{err}");
    }
    let (code, _, err) = ksim(&dir, &sweep_args(&dir.join("z.jsonl"), "0", &[]));
    assert_eq!(code, 2, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sweep 6 seeds of acks-1-failover with a planted flaw that makes every seed fail with
/// `kind`; every seed must be in the file and printed with its reproduce line. Returns stderr.
fn every_seed_fails(test: &str, flaw: &str, settle_ms: &str, kind: &str) -> String {
    let dir = temp_dir(test);
    let path = dir.join("f.jsonl");
    let (flaw, settle) = (format!("flaw={flaw}"), format!("settle_ms={settle_ms}"));
    let args = [
        "sweep",
        "acks-1-failover",
        "--set",
        &flaw,
        "--set",
        "duration_ms=6000",
        "--set",
        &settle,
        "--seeds",
        "6",
        "--jobs",
        "2",
        "--out",
        path.to_str().unwrap(),
    ];
    let (code, out, err) = ksim(&dir, &args);
    assert_eq!(code, 1, "{out}{err}");
    let got = lines(&path);
    assert_eq!(
        by_seed(&got).keys().copied().collect::<Vec<_>>(),
        (1..=6).collect::<Vec<_>>()
    );
    for l in &got {
        assert_eq!(
            (
                l["verdict"].as_str(),
                l["finding"].as_str(),
                l["exit_code"].as_i64()
            ),
            (Some("invalid"), Some(kind), Some(1)),
            "{l}"
        );
        let seed = l["seed"].as_u64().unwrap();
        assert!(out.contains(&format!("seed {seed}: {kind}: ")), "{out}");
        assert!(out.contains(&format!("  reproduce: cargo run --release -- run acks-1-failover --seed {seed} --set {flaw}")), "{out}");
    }
    assert!(
        out.contains(&format!("  {kind:<18}       6  1, 2, 3")),
        "{out}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "no progress bar when stderr is not a terminal: {err:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    err
}

#[test]
fn a_stalled_seed_is_a_finding_and_the_sweep_goes_on() {
    every_seed_fails("stall", "followers-never-fetch", "3000", "liveness");
}

#[test]
fn a_panicking_seed_is_a_finding_and_the_sweep_goes_on() {
    let err = every_seed_fails("panic", "panic-on-restart", "20000", "panic");
    assert_eq!(
        err.matches("panic in ksim-seed-").count(),
        6,
        "one line per panic: {err}"
    );
    assert!(
        !err.contains("RUST_BACKTRACE") && !err.contains("stack backtrace"),
        "{err}"
    );
}

/// Two runs of one seed give one trace even while other seeds run on other threads of the same
/// process. Swarm seeds, which stop, pause and cut nodes at random, caught a run that left
/// tasks behind when it ended (node loops noticed the end only at their next tick): 5 of these
/// 20 seeds differed between their two runs.
#[test]
fn every_seed_twice_under_jobs_2_gives_the_same_trace() {
    let dir = temp_dir("twice");
    let out = dir.join("twice.jsonl");
    let (code, stdout, err) = ksim(
        &dir,
        &[
            "sweep",
            "default",
            "--set",
            "faults.random.swarm=true",
            "--from",
            "1190",
            "--seeds",
            "20",
            "--jobs",
            "2",
            "--determinism-sample",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(!stdout.contains("nondeterminism"), "{stdout}{err}");
    let checked = lines(&out)
        .iter()
        .filter(|l| l["determinism"] == Value::Bool(true))
        .count();
    assert_eq!(checked, 20, "every seed ran twice and agreed: {stdout}");
    assert!(code == 0 || code == 3, "{stdout}{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A short acks=1 story with one crash, whose sweep must reach the marks `required`.
fn marks_scenario(dir: &Path, required: &str) -> PathBuf {
    let path = dir.join("marks.toml");
    let body = format!(
        "name = \"marks\"\n[server]\nmin.insync.replicas = 1\n[producer]\nacks = \"1\"\n[workload]\nduration_ms = 6000\n[run]\nsettle_ms = 20000\n[[faults.script]]\nat_ms = 3000\naction = \"crash\"\ntarget = \"leader:0\"\nrestart_after_ms = 1000\n[expect]\nsweep_marks = [{required}]\n"
    );
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn a_sweep_counts_the_seeds_per_mark_and_fails_when_a_required_mark_is_never_reached() {
    let dir = temp_dir("marks");
    let out = dir.join("m.jsonl");
    let sc = marks_scenario(&dir, "\"fault:crash\", \"unclean-election\"");
    let args = [
        "sweep",
        sc.to_str().unwrap(),
        "--seeds",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    let (code, stdout, err) = ksim(&dir, &args);
    assert_eq!(code, 1, "{stdout}{err}");
    assert!(
        stdout.contains("unclean-election                     0  REQUIRED, reached by no seed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("fault:crash                          2"),
        "{stdout}"
    );
    assert!(lines(&out)
        .iter()
        .all(|l| l["marks"].as_array().is_some_and(|m| !m.is_empty())));
    // The same sweep asked only for the mark it reaches passes.
    marks_scenario(&dir, "\"fault:crash\"");
    let _ = std::fs::remove_file(&out);
    let (code, stdout, _) = ksim(&dir, &args);
    assert_eq!(code, 0, "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The sweep's exit code: 1 if any seed has a finding, 3 if no seed was valid (all vacuous),
/// else 0: vacuous seeds beside valid ones are counted, not the verdict.
#[test]
fn vacuous_seeds_are_counted_not_the_sweeps_verdict() {
    let line = |seed: u64, verdict: &str| {
        format!("{{\"seed\":{seed},\"scenario\":\"s\",\"verdict\":\"{verdict}\",\"exit_code\":0,\"finding\":null,\"message\":\"\",\"trace_hash\":\"0000000000000000\",\"acked\":0,\"lost_allowed\":0,\"lost_violating\":0,\"simulated_ms\":0,\"wall_ms\":0,\"determinism\":null,\"reproduce\":\"r\"}}\n")
    };
    let summary = |verdicts: &[&str]| {
        let text: String = verdicts
            .iter()
            .enumerate()
            .map(|(i, v)| line(i as u64 + 1, v))
            .collect();
        let lines = ksim::campaign::sweep::parse_lines(Path::new("x"), text.as_bytes()).unwrap();
        ksim::campaign::sweep::Summary::of(&lines).exit_code()
    };
    assert_eq!(summary(&["valid", "vacuous", "valid"]), 0);
    assert_eq!(summary(&["vacuous", "vacuous"]), 3);
    assert_eq!(summary(&["valid", "invalid", "vacuous"]), 1);
}

/// A panicking seed leaves nothing behind: madsim frees no pending task when its runtime is
/// dropped, so a run that panics kills its nodes first (each task held the run's history and
/// logs: about 1 MB a seed before).
#[test]
fn panicking_seeds_do_not_grow_the_sweeps_memory() {
    let dir = temp_dir("panic-rss");
    let out = dir.join("p.jsonl");
    let args = [
        "sweep",
        "acks-all-leader-crash",
        "--set",
        "flaw=panic-on-restart",
        "--set",
        // Past the first restart (17 s, where the flaw panics) and the second crash's time.
        "duration_ms=24500",
        "--seeds",
        "120",
        "--jobs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    let (code, stdout, err) = ksim(&dir, &args);
    assert_eq!(code, 1, "{stdout}{err}");
    let quarters: Vec<f64> = stdout
        .split("MB after each quarter")
        .next()
        .and_then(|s| s.rsplit("at start, ").next())
        .unwrap()
        .split(" / ")
        .map(|mb| mb.trim().parse().unwrap())
        .collect();
    assert_eq!(quarters.len(), 4, "{stdout}");
    assert!(
        quarters[3] < quarters[0] + 30.0,
        "RSS grew over the sweep: {quarters:?} MB"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--until-first` stops the queue at the first finding, and its answer (the lowest seed with
/// a finding, every seed before it run) is the same with one job or two. Under
/// `truncation=high-watermark` the quick scenario first fails at seed 110 of 100..130.
#[test]
fn until_first_stops_at_the_lowest_failing_seed_whatever_the_jobs() {
    let dir = temp_dir("until-first");
    for jobs in ["1", "2"] {
        let out = dir.join(format!("jobs-{jobs}.jsonl"));
        let extra = [
            "--from",
            "100",
            "--jobs",
            jobs,
            "--until-first",
            "--set",
            "truncation=high-watermark",
        ];
        let (code, stdout, err) = ksim(&dir, &sweep_args(&out, "30", &extra));
        assert_eq!(code, 1, "{stdout}{err}");
        assert!(
            stdout.contains("first finding        seed 110 (")
                && stdout.contains("11 seed(s) of the range to it"),
            "jobs {jobs}: {stdout}"
        );
        let ran: Vec<u64> = results(&lines(&out)).into_iter().map(|r| r.0).collect();
        assert!(
            (100..=110).all(|s| ran.contains(&s)),
            "every seed before it ran: {ran:?}"
        );
        // Besides the seeds up to the finding, the few the other job took while the finding
        // was being judged (on a loaded machine, two or three): the queue stops, it does not
        // run on through the range.
        assert!(ran.len() <= 11 + 4, "the queue stopped: {ran:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A vacuous seed showed nothing: it is counted, its first seeds and reason are shown, and it
/// is listed under no finding (the sweep exits 3 when every seed is vacuous).
#[test]
fn a_vacuous_seed_is_no_finding_in_the_summary_or_the_stream() {
    let dir = std::env::temp_dir().join(format!("ksim-vacuous-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("v.jsonl");
    let out = out.to_str().unwrap();
    // Writes end before the first random fault (3 s at the earliest): none is injected.
    let args = [
        "sweep",
        "default",
        "--seeds",
        "4",
        "--set",
        "duration_ms=2500",
        "--out",
        out,
    ];
    let (code, stdout, stderr) = ksim(&dir, &args);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(stdout.contains("findings                none"), "{stdout}");
    assert!(
        stdout.contains("showed nothing, no finding; first seeds 1, 2, 3: the scenario asked for faults but none was injected"),
        "{stdout}"
    );
    assert!(!stdout.contains("seed 1: vacuous"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
