//! The run report `ksim run` writes: one directory per run, `<root>/<scenario>/<seed>/`, with
//! the verdict and the configuration in force (`results.json`), the client history as JSON
//! lines and as text with the faults interleaved, the final replica states as text and with
//! every record as JSON (`replicas.json`), the faults as JSON lines (`faults.jsonl`),
//! `replay.sh`, and `index.html`, one offline page with the verdict and a timeline per
//! partition drawn from the observer's `Timeline`. Nothing in these files depends on the wall
//! clock or on where they were written, so one seed always gives the same bytes.

pub mod export;
pub mod output;

mod html;
mod svg;

pub use html::html;
use html::*;
use svg::*;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use ksim_model::{assignment, BrokerId, Epoch, NodeId, Offset, PartitionId, Role};

use crate::check::{Report, Verdict};
use crate::cluster::ctx::lock;
use crate::cluster::run::RunOutput;
use crate::observer::{ControllerSample, FaultSpan, Observer, OpType, ReplicaSample, Violation};
use crate::scenario::FaultAction;
use crate::scenario::Scenario;

/// The files of a report, in the order the page lists them.
pub const FILES: [&str; 8] = [
    "index.html",
    "results.json",
    "history.jsonl",
    "history.txt",
    "replicas.txt",
    "replicas.json",
    "faults.jsonl",
    "replay.sh",
];

/// A report file or directory that could not be written.
#[derive(Debug)]
pub struct ReportError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot write the run report at {}: {}",
            self.path.display(),
            self.error
        )
    }
}

/// Where a run's report goes: `<root>/<scenario>/<seed>/`.
pub fn dir_for(root: &Path, sc: &Scenario, seed: u64) -> PathBuf {
    root.join(sc.path_component()).join(seed.to_string())
}

/// Write the report of `out` under `root`; returns the path of its `index.html`.
pub fn write(
    root: &Path,
    out: &RunOutput,
    report: &Report,
    determinism: Option<bool>,
) -> Result<PathBuf, ReportError> {
    let sc = &out.ctx.sc;
    let dir = dir_for(root, sc, out.seed);
    std::fs::create_dir_all(&dir).map_err(|error| ReportError {
        path: dir.clone(),
        error,
    })?;
    let results = results_json(out, report, determinism);
    put(&dir.join("results.json"), format!("{results:#}\n"))?;
    {
        let obs = lock(&out.ctx.observer);
        let jsonl = dir.join("history.jsonl");
        write_history(&obs, sc, &jsonl).map_err(|error| ReportError { path: jsonl, error })?;
        put(&dir.join("history.txt"), history_text(&obs, sc, out.seed))?;
        put(
            &dir.join("replicas.txt"),
            replicas_text(&obs, sc, out.seed, out.outcome.end_ms),
        )?;
        let replicas = {
            let disks = lock(&out.ctx.disks);
            export::replicas(&obs, &disks, sc, out.seed, out.outcome.end_ms)
        };
        put(&dir.join("replicas.json"), format!("{replicas}\n"))?;
        let mut faults = String::new();
        for line in export::fault_lines(&obs.fault_spans, &out.outcome.injected) {
            faults.push_str(&line.to_string());
            faults.push('\n');
        }
        put(&dir.join("faults.jsonl"), faults)?;
    }
    let replay = dir.join("replay.sh");
    put(&replay, replay_script(sc, out.seed))?;
    set_executable(&replay).map_err(|error| ReportError {
        path: replay.clone(),
        error,
    })?;
    let index = dir.join("index.html");
    put(&index, html(out, report))?;
    Ok(index)
}

/// Written to a temporary file and renamed, so that a reader never sees half a file.
fn put(path: &Path, text: String) -> Result<(), ReportError> {
    let tmp = tmp_path(path);
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|error| ReportError {
            path: path.to_path_buf(),
            error,
        })
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(unix)]
fn set_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> std::io::Result<()> {
    Ok(())
}

/// The client history as JSON lines, one operation per line (the format documented in
/// `reports/README.md`); written to a temporary file and renamed.
pub fn write_history(obs: &Observer, sc: &Scenario, path: &Path) -> std::io::Result<()> {
    let topic = |p: i32| {
        sc.workload
            .topics
            .get((p / sc.partitions.max(1)) as usize)
            .cloned()
            .unwrap_or_default()
    };
    let tmp = tmp_path(path);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    // The producers' operations and the consumers' polls, merged in time order (each list is
    // in time order already; at equal times the sends come first).
    let (mut ops, mut polls) = (obs.history.iter().peekable(), obs.polls.iter().peekable());
    loop {
        let send_first = match (ops.peek(), polls.peek()) {
            (None, None) => break,
            (Some(o), Some(p)) => o.time_ms <= p.time_ms,
            (o, _) => o.is_some(),
        };
        if send_first {
            let op = ops.next().expect("peeked");
            let mut line = serde_json::to_value(op)?;
            line["topic"] = topic(op.partition).into();
            serde_json::to_writer(&mut f, &line)?;
        } else {
            let p = polls.next().expect("peeked");
            let line = serde_json::json!({
                "time_ms": p.time_ms,
                "process": crate::cluster::net::CONSUMER_BASE + p.consumer,
                "type": "ok",
                "f": "poll",
                "value": p.value,
                "partition": p.partition,
                "topic": topic(p.partition),
                "offset": p.offset,
                "consumer": p.consumer,
                "incarnation": p.incarnation,
                "generation": p.generation,
            });
            serde_json::to_writer(&mut f, &line)?;
        }
        f.write_all(b"\n")?;
    }
    f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(tmp, path)
}

/// `--json`'s object without the wall time, which would make two reports of one seed differ.
fn results_json(out: &RunOutput, report: &Report, determinism: Option<bool>) -> serde_json::Value {
    let mut v = output::json(out, report, determinism);
    if let Some(o) = v.as_object_mut() {
        o.remove("wall_s");
    }
    v
}

/// One line per operation and per fault (and violation), in time order.
fn history_text(obs: &Observer, sc: &Scenario, seed: u64) -> String {
    let mut lines: Vec<(u64, u8, usize, String)> = Vec::new();
    for (i, (t, what)) in obs.faults.iter().enumerate() {
        lines.push((*t, 0, i, format!("{t:>9}  FAULT     {what}")));
    }
    for (i, op) in obs.history.iter().enumerate() {
        let kind = match op.kind {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        };
        let offset = op.offset.map(|o| o.to_string()).unwrap_or_default();
        let line = format!(
            "{:>9}  p{:<8} {kind:<6} {:>8}  {:>9}  {offset:>7}  {}",
            op.time_ms,
            op.process,
            op.value,
            op.partition,
            op.error.as_deref().unwrap_or("")
        );
        lines.push((op.time_ms, 1, i, line.trim_end().to_string()));
    }
    for (i, v) in obs.violations.iter().enumerate() {
        let line = format!("{:>9}  VIOLATION [{}] {}", v.time_ms, v.checker, v.message);
        lines.push((v.time_ms, 2, i, line));
    }
    lines.sort_by_key(|(t, class, i, _)| (*t, *class, *i));
    let mut s = format!(
        "# ksim history: {} seed {seed}. Times in simulated ms. Jepsen's types: invoke, then ok,\n\
         # fail (did not happen) or info (may have happened). Faults interleaved.\n\
         #    time  process   type      value  partition   offset  error\n",
        sc.name
    );
    for (_, _, _, line) in lines {
        s.push_str(&line);
        s.push('\n');
    }
    s
}

fn replicas_text(obs: &Observer, sc: &Scenario, seed: u64, end_ms: u64) -> String {
    format!(
        "# ksim final replica states: {} seed {seed}, at {end_ms} ms (simulated).\n\
         # Per partition and broker: role and leader epoch, LEO, HW, the log as offsets:leader\n\
         # epoch runs; then the controllers' leader, leader epoch and ISR, and the committed\n\
         # offset (the true HW).\n{}",
        sc.name,
        obs.state_table()
    )
}

fn replay_script(sc: &Scenario, seed: u64) -> String {
    format!(
        "#!/bin/sh\n\
         # Replays {} seed {seed}, run by ksim {}; another commit may run differently.\n\
         # It runs from the root of the repository this report lies in, else from the current\n\
         # directory (run it from the ksim repository then).\n\
         set -e\n\
         here=$(cd \"$(dirname \"$0\")\" && pwd)\n\
         cd \"$(git -C \"$here\" rev-parse --show-toplevel 2>/dev/null || pwd)\"\n\
         exec {}\n",
        sc.name,
        output::VERSION,
        output::reproduce_line(sc, seed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_violation_names_its_partition_at_the_start_or_in_parentheses() {
        assert_eq!(partition_of("partition 2: broker 3 is in the ISR"), Some(2));
        assert_eq!(
            partition_of("acknowledged write lost: value 5 (partition 1, offset 7)"),
            Some(1)
        );
        assert_eq!(partition_of("controller quorum: two leaders"), None);
    }

    #[test]
    fn overlapping_operations_merge_into_one_interval() {
        assert_eq!(
            merge(&[(5, 9), (0, 3), (2, 4), (10, 12)]),
            vec![(0, 4, 2), (5, 9, 1), (10, 12, 1)]
        );
    }

    #[test]
    fn escaping_leaves_nothing_that_breaks_markup() {
        assert_eq!(
            esc("a<b & 'c' \"d\">"),
            "a&lt;b &amp; &#39;c&#39; &quot;d&quot;&gt;"
        );
    }
}
