//! A sweep spread over a batch engine: `--shard auto` reads the engine's environment, each
//! shard writes its own file into one directory, and `ksim merge DIR` checks the files cover
//! the range exactly once (a missing, doubled or partial shard, or a mix of versions, is an
//! error naming the files) before it prints the summary a local sweep prints.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ksim::campaign::sweep::{shard_from_env, Shard};

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name: &str| map.get(name).cloned()
}

fn shard(pairs: &[(&str, &str)], shards: Option<u64>) -> Result<Shard, String> {
    shard_from_env(&env(pairs), shards)
}

#[test]
fn each_engine_names_the_shard_in_its_own_variables() {
    let slurm = [
        ("SLURM_ARRAY_TASK_ID", "3"),
        ("SLURM_ARRAY_TASK_MIN", "1"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ];
    assert_eq!(shard(&slurm, None), Ok(Shard { k: 3, n: 4 }));
    let zero_based = [
        ("SLURM_ARRAY_TASK_ID", "0"),
        ("SLURM_ARRAY_TASK_MIN", "0"),
        ("SLURM_ARRAY_TASK_MAX", "7"),
    ];
    assert_eq!(shard(&zero_based, None), Ok(Shard { k: 1, n: 8 }));
    let stepped = [
        ("SLURM_ARRAY_TASK_ID", "2"),
        ("SLURM_ARRAY_TASK_COUNT", "5"),
        ("SLURM_ARRAY_TASK_STEP", "2"),
    ];
    assert!(shard(&stepped, None).unwrap_err().contains("step"));
    let k8s = [("JOB_COMPLETION_INDEX", "0")];
    assert_eq!(shard(&k8s, Some(4)), Ok(Shard { k: 1, n: 4 }));
    assert_eq!(
        shard(&[("JOB_COMPLETION_INDEX", "3"), ("KSIM_SHARDS", "4")], None),
        Ok(Shard { k: 4, n: 4 })
    );
    assert!(shard(&k8s, None).unwrap_err().contains("--shards N"));
    assert!(
        shard(&[("JOB_COMPLETION_INDEX", "4")], Some(4)).is_err(),
        "index past the count"
    );
    assert_eq!(
        shard(&[("AWS_BATCH_JOB_ARRAY_INDEX", "1")], Some(2)),
        Ok(Shard { k: 2, n: 2 })
    );
    assert_eq!(
        shard(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")], None),
        Ok(Shard { k: 2, n: 3 })
    );
    let none = shard(&[("CI_NODE_INDEX", "2")], None).unwrap_err();
    assert!(
        none.contains("SLURM_ARRAY_TASK_ID") && none.contains("JOB_COMPLETION_INDEX"),
        "{none}"
    );
    assert!(shard(&[("SLURM_ARRAY_TASK_ID", "x")], None)
        .unwrap_err()
        .contains("not a number"));
}

/// `ksim` in `dir` with extra environment variables.
fn ksim_env(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ksim"));
    cmd.args(args).current_dir(dir).env_remove("RUST_LOG");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

const SWEEP: [&str; 9] = [
    "sweep",
    "default",
    "--seeds",
    "9",
    "--set",
    "duration_ms=5000",
    "--shard",
    "auto",
    "--out",
];

fn run_shard(dir: &Path, k: &str) -> (i32, String, String) {
    let mut args = SWEEP.to_vec();
    args.push("results/");
    ksim_env(dir, &args, &[("CI_NODE_INDEX", k), ("CI_NODE_TOTAL", "3")])
}

fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ksim-shards-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn shards_in_one_directory_merge_to_the_local_sweeps_summary_and_gaps_are_named() {
    let dir = fresh("merge");
    for k in ["1", "2", "3"] {
        let (code, out, err) = run_shard(&dir, k);
        assert!(code == 0 || code == 1 || code == 3, "{out}{err}");
    }
    let file = |k: u32| format!("results/default-1-9-shard-{k}-of-3.jsonl");
    assert!(dir.join(file(2)).exists());
    let (code, merged, err) = ksim_env(&dir, &["merge", "results"], &[]);
    assert!(code != 2, "{merged}{err}");
    assert!(merged.contains("seeds run                  9"), "{merged}");
    // The same summary as one local sweep of the nine seeds.
    let mut local = SWEEP[..6].to_vec();
    local.extend(["--out", "local.jsonl"]);
    let (_, swept, _) = ksim_env(&dir, &local, &[]);
    let table = |s: &str| {
        s.lines()
            .skip_while(|l| !l.starts_with("seeds run"))
            .take_while(|l| !l.starts_with("this invocation") && !l.starts_with("results file"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(table(&merged), table(&swept));
    // A glob the shell did not expand works as the directory does.
    let (code, _, err) = ksim_env(&dir, &["merge", "results/*.jsonl"], &[]);
    assert!(code != 2, "{err}");

    // A shard that died part way: its seeds are named, and --resume finishes them.
    let full = std::fs::read_to_string(dir.join(file(2))).unwrap();
    let first_line: String = full.lines().take(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join(file(2)), first_line).unwrap();
    let (code, _, err) = ksim_env(&dir, &["merge", "results"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&file(2))
            && err.contains("shard 2/3 lacks 2 of its 3 seeds")
            && err.contains("--resume"),
        "{err}"
    );
    let mut resume = SWEEP.to_vec();
    resume.extend(["results/", "--resume"]);
    let (code, out, err) = ksim_env(
        &dir,
        &resume,
        &[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")],
    );
    assert!(code != 2, "{out}{err}");
    let (code, _, err) = ksim_env(&dir, &["merge", "results"], &[]);
    assert!(code != 2, "{err}");

    // A missing shard, a doubled one, a mix of versions: each an error naming the files.
    std::fs::rename(dir.join(file(3)), dir.join("shard-3.saved")).unwrap();
    let (code, _, err) = ksim_env(&dir, &["merge", "results"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("shard(s) 3/3 of seeds 1..=9 are in no file"),
        "{err}"
    );
    std::fs::copy(dir.join("shard-3.saved"), dir.join(file(3))).unwrap();
    std::fs::copy(dir.join(file(1)), dir.join("results/copy-of-1.jsonl")).unwrap();
    let (code, _, err) = ksim_env(&dir, &["merge", "results"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("shard 1/3 is in two files"), "{err}");
    let other = std::fs::read_to_string(dir.join(file(1)))
        .unwrap()
        .replace("\"version\":\"", "\"version\":\"0.0.9 ");
    std::fs::write(dir.join("results/copy-of-1.jsonl"), other).unwrap();
    std::fs::remove_file(dir.join(file(1))).unwrap();
    let (code, _, err) = ksim_env(&dir, &["merge", "results"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("was written by ksim 0.0.9") && err.contains("copy-of-1.jsonl"),
        "{err}"
    );
    let (code, _, err) = ksim_env(&dir, &["sweep", "default", "--shard", "auto"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no batch engine"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A sweep that stopped at its first finding is whole as it is: its merge judges it (exit 1)
/// instead of asking for the seeds it never meant to run.
#[test]
fn an_until_first_sweep_merges_without_its_unrun_seeds() {
    let dir = fresh("until-first");
    let sweep = [
        "sweep",
        "default",
        "--seeds",
        "40",
        "--set",
        "truncation=high-watermark",
        "--until-first",
        "--out",
        "uf.jsonl",
    ];
    let (code, out, err) = ksim_env(&dir, &sweep, &[]);
    assert_eq!(code, 1, "{out}{err}");
    let (code, merged, err) = ksim_env(&dir, &["merge", "uf.jsonl"], &[]);
    assert_eq!(code, 1, "{merged}{err}");
    assert!(merged.contains("findings by kind"), "{merged}");
    let _ = std::fs::remove_dir_all(&dir);
}
