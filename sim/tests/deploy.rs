//! The files under deploy/ hold together: the Kubernetes Indexed Job and the GitHub Actions
//! workflow parse as YAML and agree with themselves on the shard count, every shard runs
//! `ksim sweep --shard auto`, a finding (1) or an all-vacuous shard (3) is left to the merge,
//! and the merge fails on a finding; the sbatch script is valid bash; the Dockerfile is a
//! multi-stage build of the release binary. (kubeconform and actionlint are not installable
//! here; this is their parse.) The Slurm script runs on a real Slurm in deploy/slurm/test.sh.

use std::path::PathBuf;

use yaml_rust2::{Yaml, YamlLoader};

fn deploy(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn yaml(path: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&deploy(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn strings(y: &Yaml) -> Vec<String> {
    y.as_vec()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}

#[test]
fn the_indexed_job_runs_one_shard_per_completion_and_says_how_many_there_are() {
    let docs = yaml("kubernetes/sweep-job.yaml");
    let job = &docs[0];
    assert_eq!(job["kind"].as_str(), Some("Job"));
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let completions = spec["completions"].as_i64().unwrap();
    let container = &spec["template"]["spec"]["containers"][0];
    let args = strings(&container["args"]);
    assert!(
        args.windows(2).any(|w| w == ["--shard", "auto"]),
        "{args:?}"
    );
    assert_eq!(args.first().map(String::as_str), Some("sweep"));
    let env = container["env"].as_vec().unwrap();
    let shards = env
        .iter()
        .find(|e| e["name"].as_str() == Some("KSIM_SHARDS"))
        .unwrap();
    assert_eq!(
        shards["value"].as_str().and_then(|v| v.parse().ok()),
        Some(completions)
    );
    let ignored = &spec["podFailurePolicy"]["rules"][0];
    assert_eq!(ignored["action"].as_str(), Some("Ignore"));
    let codes: Vec<i64> = ignored["onExitCodes"]["values"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_i64)
        .collect();
    assert_eq!(codes, [1, 3]);
    let claim =
        spec["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"].as_str();
    assert_eq!(
        claim,
        docs[1]["metadata"]["name"].as_str(),
        "the shards share one volume"
    );
}

#[test]
fn the_workflow_runs_a_matrix_of_shards_and_a_merge_that_fails_on_a_finding() {
    let w = &yaml("github/sweep.yml")[0];
    let sweep = &w["jobs"]["sweep"];
    let matrix: Vec<i64> = sweep["strategy"]["matrix"]["shard"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_i64)
        .collect();
    let total = sweep["env"]["CI_NODE_TOTAL"].as_i64().unwrap();
    assert_eq!(matrix, (1..=total).collect::<Vec<_>>());
    assert_eq!(
        sweep["env"]["CI_NODE_INDEX"].as_str(),
        Some("${{ matrix.shard }}")
    );
    let runs: Vec<String> = sweep["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str().map(String::from))
        .collect();
    assert!(
        runs.iter()
            .any(|r| r.contains("ksim sweep") && r.contains("--shard auto")),
        "{runs:?}"
    );
    let merge = &w["jobs"]["merge"];
    assert_eq!(merge["needs"].as_str(), Some("sweep"));
    let merged = merge["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .find(|r| r.contains("ksim merge"))
        .unwrap();
    assert!(
        merged.contains("| tee") && w["defaults"]["run"]["shell"].as_str() == Some("bash"),
        "pipefail: the merge's exit code must fail the job"
    );
}

#[test]
fn the_sbatch_script_is_valid_bash_that_sweeps_its_array_task_as_a_shard() {
    let script = deploy("slurm/sweep.sbatch");
    assert!(script.contains("--shard auto") && script.contains("#SBATCH"));
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/slurm");
    for file in ["sweep.sbatch", "test.sh"] {
        let out = std::process::Command::new("bash")
            .arg("-n")
            .arg(path.join(file))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_dockerfile_builds_the_release_binary_in_one_stage_and_ships_it_in_another() {
    let text = deploy("Dockerfile");
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].ends_with(" AS build"));
    assert!(text.contains("cargo build --release"));
    assert!(text.contains("COPY --from=build /src/target/release/ksim"));
}
