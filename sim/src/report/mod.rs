//! The run report `ksim run` writes: one directory per run, `<root>/<scenario>/<seed>/`, with
//! the verdict and the configuration in force (`results.json`), the client history as JSON
//! lines and as text with the faults interleaved, the final replica states as text and with
//! every record as JSON (`replicas.json`), the faults as JSON lines (`faults.jsonl`),
//! `replay.sh`, and `index.html`, one offline page with the verdict and a timeline per
//! partition drawn from the observer's `Timeline`. Nothing in these files depends on the wall
//! clock or on where they were written, so one seed always gives the same bytes.

pub mod export;
pub mod output;

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

// ------------------------------------------------------------------------------ index.html

/// Escape text for HTML and XML alike (the page parses as XML too).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:16px 24px;color:#222;max-width:1320px}
h1{font-size:20px;margin:0 0 10px}
h2{font-size:16px;margin:24px 0 6px;border-bottom:1px solid #ddd;padding-bottom:2px}
h3{font-size:14px;margin:14px 0 2px}
.verdict{padding:10px 14px;border-radius:4px;font-size:18px;font-weight:bold}
.valid{background:#e3f4e6;color:#145a27;border:1px solid #7cc48c}
.invalid{background:#fde5e5;color:#8a0e0e;border:1px solid #e08080}
.vacuous{background:#fff3d6;color:#7a5200;border:1px solid #e7c26b}
ol.violations{margin:6px 0;padding-left:24px;font-size:13px}
ol.violations li{margin:3px 0}
ol.violations a{color:#a00;font-weight:bold}
pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:12px;margin:4px 0}
code{font-size:12px;background:#f6f6f6;padding:1px 4px}
.legend{font-size:12px;margin:4px 0 8px;line-height:20px}
.legend span{display:inline-block;margin-right:16px}
.sw{display:inline-block;width:16px;height:10px;vertical-align:middle;margin-right:4px;border:1px solid #888}
table{border-collapse:collapse;font-size:12px}
td,th{padding:2px 10px 2px 0;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
td.n{text-align:right}
tr.bad td{color:#a00;font-weight:bold}
svg.timeline{display:block;margin:2px 0 10px;border:1px solid #ddd}
.note{font-size:12px;color:#555}
";

/// The page's colours for a verdict.
fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "valid",
        Verdict::Invalid => "invalid",
        Verdict::Vacuous => "vacuous",
    }
}

/// How many violations the page lists and draws; results.json has them all.
const VIOLATIONS_SHOWN: usize = 30;
/// Steps listed at most (a long random run has thousands).
const STEPS_SHOWN: usize = 600;

pub fn html(out: &RunOutput, report: &Report) -> String {
    let sc = &out.ctx.sc;
    let obs = lock(&out.ctx.observer);
    let mut s = String::new();
    let verdict = output::verdict_words(report);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n\
         <meta charset=\"utf-8\"/>\n<title>ksim {} seed {}: {}</title>\n<style>\n{STYLE}</style>\n\
         </head>\n<body>\n",
        esc(&sc.name),
        out.seed,
        esc(verdict.split(':').next().unwrap_or_default())
    );
    let _ = writeln!(
        s,
        "<h1>ksim run report: {} (seed {})</h1>",
        esc(&sc.name),
        out.seed
    );
    let _ = writeln!(
        s,
        "<div id=\"verdict\" class=\"verdict {}\">{}</div>",
        verdict_class(report.verdict),
        esc(&verdict)
    );
    let shown: Vec<(usize, &Violation)> = report
        .violations
        .iter()
        .take(VIOLATIONS_SHOWN)
        .enumerate()
        .collect();
    if !shown.is_empty() {
        s.push_str("<ol class=\"violations\">\n");
        for (i, v) in &shown {
            let _ = writeln!(
                s,
                "<li><a href=\"#v{i}\">[{}] at {} ms</a>: {}</li>",
                esc(v.checker),
                v.time_ms,
                esc(&v.message)
            );
        }
        s.push_str("</ol>\n");
        if report.violations.len() > shown.len() {
            let _ = writeln!(
                s,
                "<p class=\"note\">{} more in results.json.</p>",
                report.violations.len() - shown.len()
            );
        }
    }
    if let Some(p) = &out.panic {
        let _ = writeln!(s, "<p><b>panic:</b> {}</p>", esc(p));
    }
    let _ = writeln!(
        s,
        "<p>reproduce: <code>{}</code> (or <code>./replay.sh</code>)</p>",
        esc(&output::reproduce_line(sc, out.seed))
    );

    s.push_str("<h2>Timeline</h2>\n");
    s.push_str(LEGEND);
    match &obs.timeline {
        None => s.push_str("<p>This run kept no timeline.</p>\n"),
        Some(_) => {
            let draw = Draw::new(out, report, &obs);
            s.push_str(DEFS);
            for p in 0..sc.total_partitions() {
                let _ = writeln!(s, "<h3 id=\"p{p}\">partition {p}</h3>");
                s.push_str(&draw.partition(p));
            }
        }
    }

    s.push_str("<h2>Scenario</h2>\n");
    let _ = writeln!(
        s,
        "<pre class=\"banner\">{}</pre>",
        esc(output::banner(sc, out.seed).trim_end())
    );
    counts_table(&mut s, report, &obs, out.outcome.end_ms);
    faults_table(&mut s, &obs);
    steps_list(&mut s, &obs, !sc.fix.is_empty());
    let _ = writeln!(
        s,
        "<h2>Final replica states</h2>\n<pre>{}</pre>",
        esc(obs.state_table().trim_end())
    );
    s.push_str("<h2>Files</h2>\n<p>");
    for f in FILES {
        let _ = write!(s, "<a href=\"{f}\">{f}</a> ");
    }
    s.push_str("</p>\n</body>\n</html>\n");
    s
}

fn counts_table(s: &mut String, report: &Report, obs: &Observer, end_ms: u64) {
    let c = &report.counts;
    let rows = [
        (
            "writes",
            format!(
                "invoked {}, acknowledged {}, failed {}, unknown outcome {}, lost but allowed {}, lost violating {}",
                c.invoked, c.acked, c.failed, c.unknown, c.lost_allowed, c.lost_violating
            ),
        ),
        (
            "cluster",
            format!(
                "leader changes {}, unclean elections {}, controller elections {}, no active controller for {} ms",
                c.leader_changes, c.unclean_elections, c.controller_elections, c.controller_unavailable_ms
            ),
        ),
        (
            "faults",
            format!(
                "crashes {}, power losses {}, pauses {}, restarts {}, network partitions {}; truncations {}, flushes {}",
                c.crashes, c.power_losses, c.pauses, c.restarts, c.partitions, c.truncations, c.flushes
            ),
        ),
        (
            "true HW",
            obs.true_hw
                .iter()
                .map(|(p, (e, hw))| format!("partition {p}: {hw} (leader epoch {e})"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "time",
            format!(
                "{end_ms} ms simulated, {} events, trace {:016x}",
                obs.events,
                obs.trace_hash()
            ),
        ),
    ];
    s.push_str("<h2>Counts</h2>\n<table>\n");
    for (k, v) in rows {
        let _ = writeln!(s, "<tr><th>{k}</th><td>{}</td></tr>", esc(&v));
    }
    for cov in &report.coverage {
        let _ = writeln!(
            s,
            "<tr><th>checked</th><td>{}: {} {}</td></tr>",
            esc(cov.checker),
            cov.compared,
            esc(cov.unit)
        );
    }
    s.push_str("</table>\n");
}

fn faults_table(s: &mut String, obs: &Observer) {
    s.push_str("<h2>Faults</h2>\n");
    if obs.faults.is_empty() {
        s.push_str("<p>None injected.</p>\n");
        return;
    }
    s.push_str("<table>\n<tr><th>ms</th><th>fault</th></tr>\n");
    for (t, what) in &obs.faults {
        let _ = writeln!(s, "<tr><td class=\"n\">{t}</td><td>{}</td></tr>", esc(what));
    }
    s.push_str("</table>\n");
}

fn steps_list(s: &mut String, obs: &Observer, open: bool) {
    let _ = writeln!(
        s,
        "<h2>Steps</h2>\n<details{}><summary>{} significant steps (faults, elections, ISR changes, fencing, truncations below the committed offset, violations)</summary>\n<table>",
        if open { " open=\"open\"" } else { "" },
        obs.steps.len()
    );
    for (t, what) in obs.steps.iter().take(STEPS_SHOWN) {
        let bad = if what.starts_with("VIOLATION") {
            " class=\"bad\""
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "<tr{bad}><td class=\"n\">{t}</td><td>{}</td></tr>",
            esc(what)
        );
    }
    s.push_str("</table>\n");
    if obs.steps.len() > STEPS_SHOWN {
        let _ = writeln!(
            s,
            "<p class=\"note\">{} more steps; <code>ksim run</code> and <code>ksim explain</code> tell them.</p>",
            obs.steps.len() - STEPS_SHOWN
        );
    }
    s.push_str("</details>\n");
}

const LEGEND: &str = "<div class=\"legend\">\
<span><i class=\"sw\" style=\"background:#1f5fbf\"></i>leader</span>\
<span><i class=\"sw\" style=\"background:#a9c8ee\"></i>follower</span>\
<span><i class=\"sw\" style=\"background:#d4d4d4\"></i>offline</span>\
<span><i class=\"sw\" style=\"background:#3a3a3a\"></i>down</span>\
<span><i class=\"sw\" style=\"background:#3a9d5d\"></i>in the ISR (controllers' view)</span>\
<span><i class=\"sw\" style=\"background:#1b3f8f;height:2px\"></i>LEO</span>\
<span><i class=\"sw\" style=\"background:#0f9d8a;height:2px\"></i>HW</span>\
<span><i class=\"sw\" style=\"background:#bbbbbb;height:4px\"></i>committed (true HW)</span>\
<span style=\"color:#c00\">▼ log truncated</span><br/>\
<span><i class=\"sw\" style=\"background:rgba(214,39,40,0.3)\"></i>crash</span>\
<span><i class=\"sw\" style=\"background:rgba(120,0,0,0.45)\"></i>power loss</span>\
<span><i class=\"sw\" style=\"background:rgba(255,127,14,0.35)\"></i>pause</span>\
<span><i class=\"sw\" style=\"background:repeating-linear-gradient(45deg,#7b3fa0 0,#7b3fa0 2px,#fff 2px,#fff 5px)\"></i>isolated (network)</span>\
<span><i class=\"sw\" style=\"background:#59b86a\"></i>ok</span>\
<span><i class=\"sw\" style=\"background:#f28cb1\"></i>fail</span>\
<span><i class=\"sw\" style=\"background:#f0a830\"></i>info (unknown outcome)</span>\
<span style=\"color:#d00\">│ violation</span>\
</div>\n";

// ------------------------------------------------------------------------------ timeline SVG

/// Shared by every timeline (one id per page): the hatching of network faults.
const DEFS: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"0\" height=\"0\" style=\"position:absolute\">\
<defs><pattern id=\"hatch\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" patternTransform=\"rotate(45)\">\
<rect width=\"6\" height=\"6\" fill=\"rgba(123,63,160,0.08)\"/><rect width=\"2.2\" height=\"6\" fill=\"rgba(123,63,160,0.55)\"/></pattern></defs></svg>\n";

const WIDTH: f64 = 1300.0;
const LEFT: f64 = 140.0;
const RIGHT: f64 = 16.0;
/// Time buckets for client operations (about 4 px each).
const BUCKETS: u64 = 286;
const LABEL_ROWS: usize = 3;

/// What every partition's timeline draws from.
struct Draw<'a> {
    sc: &'a Scenario,
    obs: &'a Observer,
    end_ms: u64,
    violations: Vec<(usize, &'a Violation, Option<PartitionId>)>,
}

/// The controllers' leader, leader epoch and ISR of a partition.
type PartitionState = (Option<BrokerId>, Epoch, Vec<BrokerId>);

/// A step of a state series: [from, to) with the state at `from`.
struct Segment<T> {
    from: u64,
    to: u64,
    state: T,
}

fn segments<T: Clone + PartialEq>(points: &[(u64, T)], end: u64) -> Vec<Segment<T>> {
    let mut out: Vec<Segment<T>> = Vec::new();
    for (i, (t, state)) in points.iter().enumerate() {
        let to = points.get(i + 1).map_or(end, |n| n.0).max(*t);
        match out.last_mut() {
            Some(last) if last.state == *state => last.to = to,
            _ => out.push(Segment {
                from: *t,
                to,
                state: state.clone(),
            }),
        }
    }
    out
}

/// The partition a violation's message names (`partition N: ...` or `(partition N, ...`).
fn partition_of(message: &str) -> Option<PartitionId> {
    let rest = message
        .strip_prefix("partition ")
        .or_else(|| message.split_once("(partition ").map(|(_, r)| r))?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

impl<'a> Draw<'a> {
    fn new(out: &'a RunOutput, report: &'a Report, obs: &'a Observer) -> Self {
        let violations = report
            .violations
            .iter()
            .take(VIOLATIONS_SHOWN)
            .enumerate()
            .map(|(i, v)| (i, v, partition_of(&v.message)))
            .collect();
        Draw {
            sc: &out.ctx.sc,
            obs,
            end_ms: out.outcome.end_ms.max(obs.now_ms).max(1),
            violations,
        }
    }

    fn x(&self, t: u64) -> f64 {
        LEFT + t.min(self.end_ms) as f64 * (WIDTH - LEFT - RIGHT) / self.end_ms as f64
    }

    fn w(&self, from: u64, to: u64) -> f64 {
        (self.x(to) - self.x(from)).max(1.0)
    }

    fn partition(&self, p: PartitionId) -> String {
        let tl = self.obs.timeline.as_ref().expect("checked by the caller");
        let brokers = assignment(p, self.sc.brokers, self.sc.replication_factor);
        let processes: Vec<u32> = {
            let mut v: Vec<u32> = self.obs.history.iter().map(|o| o.process).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let mine: Vec<&(usize, &Violation, Option<PartitionId>)> = self
            .violations
            .iter()
            .filter(|(_, _, vp)| vp.is_none_or(|vp| vp == p))
            .collect();
        let labels = self.violation_labels(&mine);
        let label_rows = labels.iter().map(|l| l.0 + 1).max().unwrap_or(0);
        // Vertical layout: violation labels, the controllers' lane, a block per replica, the
        // producers' rows, the completions histogram, the time axis.
        let top = 6.0 + 13.0 * label_rows as f64;
        let ctrl_y = top;
        let ctrl_h = 18.0;
        let block_y0 = ctrl_y + ctrl_h + 4.0;
        let block_h = 88.0;
        let ops_y = block_y0 + block_h * brokers.len() as f64 + 6.0;
        let proc_h = 12.0;
        let hist_y = ops_y + (proc_h + 3.0) * processes.len() as f64 + 4.0;
        let hist_h = 30.0;
        let axis_y = hist_y + hist_h + 4.0;
        let height = axis_y + 32.0;

        let mut s = String::new();
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" id=\"timeline-p{p}\" width=\"{WIDTH}\" height=\"{height:.0}\" viewBox=\"0 0 {WIDTH} {height:.0}\" font-family=\"sans-serif\" font-size=\"11\">"
        );
        let _ = writeln!(
            s,
            "<rect width=\"{WIDTH}\" height=\"{height:.0}\" fill=\"#fff\"/>"
        );
        self.grid(&mut s, ctrl_y, axis_y);
        self.controller_lane(&mut s, p, tl.controller.get(&p), ctrl_y, ctrl_h);
        let leo_max = brokers
            .iter()
            .flat_map(|b| tl.replicas.get(&(*b, p)).into_iter().flatten())
            .map(|r| r.leo)
            .chain(tl.committed.get(&p).into_iter().flatten().map(|c| c.1))
            .max()
            .unwrap_or(0)
            .max(1);
        for (i, b) in brokers.iter().enumerate() {
            let y = block_y0 + block_h * i as f64;
            self.replica_block(&mut s, *b, p, y, leo_max);
        }
        self.ops(&mut s, p, &processes, ops_y, proc_h, hist_y, hist_h);
        self.axis(&mut s, axis_y);
        self.violation_marks(&mut s, p, &mine, &labels, top - 4.0, axis_y);
        s.push_str("</svg>\n");
        s
    }

    /// Time gridlines and the end of the workload.
    fn grid(&self, s: &mut String, y0: f64, y1: f64) {
        for t in self.ticks() {
            let x = self.x(t);
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{y0:.1}\" x2=\"{x:.1}\" y2=\"{y1:.1}\" stroke=\"#eee\"/>"
            );
        }
        let end = self.sc.workload.duration_ms;
        if end < self.end_ms {
            let x = self.x(end);
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{y0:.1}\" x2=\"{x:.1}\" y2=\"{y1:.1}\" stroke=\"#888\" stroke-dasharray=\"4 3\"><title>the workload ends at {end} ms; then every fault is healed and the cluster must settle</title></line>"
            );
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"#666\" text-anchor=\"end\">workload ends</text>",
                x - 3.0,
                y1 + 26.0
            );
        }
    }

    fn ticks(&self) -> Vec<u64> {
        let step = [
            100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000,
        ]
        .into_iter()
        .find(|s| self.end_ms / s <= 16)
        .unwrap_or(600_000);
        (0..=self.end_ms / step).map(|i| i * step).collect()
    }

    fn axis(&self, s: &mut String, y: f64) {
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#444\"/>",
            WIDTH - RIGHT
        );
        let ticks = self.ticks();
        let step = ticks.get(1).copied().unwrap_or(1_000);
        for t in ticks {
            let x = self.x(t);
            let label = if step >= 1_000 {
                format!("{} s", t / 1_000)
            } else {
                format!("{:.1} s", t as f64 / 1_000.0)
            };
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{y:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#444\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
                y + 4.0,
                y + 15.0
            );
        }
        let _ = writeln!(
            s,
            "<text x=\"8\" y=\"{:.1}\" fill=\"#555\">simulated time</text>",
            y + 15.0
        );
    }

    /// The controllers' leader, leader epoch and ISR for the partition, and faults that hit
    /// controllers.
    fn controller_lane(
        &self,
        s: &mut String,
        p: PartitionId,
        series: Option<&Vec<ControllerSample>>,
        y: f64,
        h: f64,
    ) {
        let _ = writeln!(
            s,
            "<text x=\"8\" y=\"{:.1}\" font-weight=\"bold\">controllers</text>",
            y + 13.0
        );
        let points: Vec<(u64, PartitionState)> = series
            .into_iter()
            .flatten()
            .map(|(t, l, e, isr)| (*t, (*l, *e, isr.clone())))
            .collect();
        for (i, seg) in segments(&points, self.end_ms).iter().enumerate() {
            let (leader, epoch, isr) = &seg.state;
            let (x, w) = (self.x(seg.from), self.w(seg.from, seg.to));
            let fill = match (leader, i % 2) {
                (None, _) => "#f6d0d0",
                (Some(_), 0) => "#ececec",
                _ => "#dfdfdf",
            };
            let who = leader.map_or("no leader".to_string(), |l| format!("leader {l}"));
            let isr_text = isr
                .iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(",");
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h}\" fill=\"{fill}\" stroke=\"#fff\"><title>partition {p}, from {} to {} ms: leader epoch {epoch}, {who}, ISR [{isr_text}]</title></rect>",
                seg.from, seg.to
            );
            let text = [
                format!("leader epoch {epoch} · {who} · ISR [{isr_text}]"),
                format!("epoch {epoch} · {who}"),
                format!("e{epoch}"),
            ]
            .into_iter()
            .find(|t| text_width(t, 10.0) + 6.0 < w);
            if let Some(t) = text {
                let _ = write!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{}</text>",
                    x + 3.0,
                    y + 12.5,
                    esc(&t)
                );
            }
            s.push('\n');
        }
        let mut label_end = f64::MIN;
        for span in &self.obs.fault_spans {
            if let NodeId::Controller(c) = span.node {
                self.fault_shade(s, span, y, h, &format!("controller {c}: "), &mut label_end);
            }
        }
    }

    /// One replica: its role with leader epochs, its ISR membership, its LEO and HW against
    /// the committed offset, its log truncations, and the faults that hit its broker.
    fn replica_block(&self, s: &mut String, b: BrokerId, p: PartitionId, y0: f64, leo_max: Offset) {
        let tl = self.obs.timeline.as_ref().expect("checked by the caller");
        let samples: &[ReplicaSample] = tl.replicas.get(&(b, p)).map_or(&[], Vec::as_slice);
        let role_y = y0 + 12.0;
        let role_h = 16.0;
        let isr_y = role_y + role_h + 2.0;
        let isr_h = 7.0;
        let chart_y = isr_y + isr_h + 4.0;
        let chart_h = 40.0;
        let last = samples.last();
        let _ = writeln!(
            s,
            "<g class=\"replica\" id=\"p{p}-b{b}\">\n<text x=\"8\" y=\"{:.1}\" font-weight=\"bold\">broker {b}</text>\
<text x=\"8\" y=\"{:.1}\" font-size=\"9\" fill=\"#555\">ISR</text>\
<text x=\"8\" y=\"{:.1}\" font-size=\"10\" fill=\"#1b3f8f\">LEO {}</text>\
<text x=\"8\" y=\"{:.1}\" font-size=\"10\" fill=\"#0f9d8a\">HW {}</text>",
            role_y + 12.0,
            isr_y + 7.0,
            chart_y + 14.0,
            last.map_or("?".into(), |l| l.leo.to_string()),
            chart_y + 28.0,
            last.map_or("?".into(), |l| l.hw.to_string()),
        );
        // Role, with the leader epoch.
        let points: Vec<(u64, (bool, Role))> = samples
            .iter()
            .map(|r| (r.time_ms, (r.alive, r.role)))
            .collect();
        for seg in segments(&points, self.end_ms) {
            let (alive, role) = seg.state;
            let (fill, color, long, short) = match (alive, role) {
                (false, _) => ("#3a3a3a", "#fff", "down".to_string(), "down".to_string()),
                (true, Role::Leader { leader_epoch }) => (
                    "#1f5fbf",
                    "#fff",
                    format!("leader · leader epoch {leader_epoch}"),
                    format!("L e{leader_epoch}"),
                ),
                (
                    true,
                    Role::Follower {
                        leader,
                        leader_epoch,
                    },
                ) => (
                    "#a9c8ee",
                    "#123",
                    format!("follower of {leader} · leader epoch {leader_epoch}"),
                    format!("F e{leader_epoch}"),
                ),
                (true, Role::Offline) => {
                    ("#d4d4d4", "#333", "offline".to_string(), "off".to_string())
                }
            };
            let (x, w) = (self.x(seg.from), self.w(seg.from, seg.to));
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{role_y:.1}\" width=\"{w:.1}\" height=\"{role_h}\" fill=\"{fill}\"><title>broker {b}, partition {p}, {} to {} ms: {long}</title></rect>",
                seg.from, seg.to
            );
            if let Some(t) = [long, short]
                .into_iter()
                .find(|t| text_width(t, 10.0) + 6.0 < w)
            {
                let _ = write!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"{color}\">{}</text>",
                    x + 3.0,
                    role_y + 12.0,
                    esc(&t)
                );
            }
            s.push('\n');
        }
        // ISR membership as the controllers see it.
        let _ = writeln!(
            s,
            "<rect x=\"{LEFT}\" y=\"{isr_y:.1}\" width=\"{:.1}\" height=\"{isr_h}\" fill=\"#f3f3f3\"/>",
            WIDTH - LEFT - RIGHT
        );
        let isr: Vec<(u64, bool)> = tl
            .controller
            .get(&p)
            .into_iter()
            .flatten()
            .map(|(t, _, _, isr)| (*t, isr.contains(&b)))
            .collect();
        for seg in segments(&isr, self.end_ms).iter().filter(|g| g.state) {
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{isr_y:.1}\" width=\"{:.1}\" height=\"{isr_h}\" fill=\"#3a9d5d\"><title>broker {b} in the ISR of partition {p} from {} to {} ms</title></rect>",
                self.x(seg.from),
                self.w(seg.from, seg.to),
                seg.from,
                seg.to
            );
        }
        // LEO and HW against the committed offset, on one scale for the partition.
        let _ = writeln!(
            s,
            "<rect x=\"{LEFT}\" y=\"{chart_y:.1}\" width=\"{:.1}\" height=\"{chart_h}\" fill=\"#fafafa\" stroke=\"#e4e4e4\"/>\
<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"#777\" text-anchor=\"end\">{leo_max}</text>\
<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"#777\" text-anchor=\"end\">0</text>",
            WIDTH - LEFT - RIGHT,
            LEFT - 3.0,
            chart_y + 8.0,
            LEFT - 3.0,
            chart_y + chart_h
        );
        let y_of =
            |v: Offset| chart_y + chart_h - (v.max(0) as f64 / leo_max as f64) * (chart_h - 2.0);
        let committed: Vec<(u64, Option<Offset>)> = tl
            .committed
            .get(&p)
            .into_iter()
            .flatten()
            .map(|(t, c)| (*t, Some(*c)))
            .collect();
        let path = self.step_path(&committed, y_of);
        let _ = writeln!(
            s,
            "<path d=\"{path}\" fill=\"none\" stroke=\"#bbb\" stroke-width=\"4\"/>"
        );
        for (stroke, dash, pick) in [
            ("#0f9d8a", " stroke-dasharray=\"5 2\"", 1),
            ("#1b3f8f", "", 0),
        ] {
            let points: Vec<(u64, Option<Offset>)> = samples
                .iter()
                .map(|r| {
                    let v = if pick == 0 { r.leo } else { r.hw };
                    (r.time_ms, r.alive.then_some(v))
                })
                .collect();
            let path = self.step_path(&points, y_of);
            let _ = writeln!(
                s,
                "<path d=\"{path}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"1.4\"{dash}/>"
            );
        }
        // Truncations (and power-loss cuts): the log got shorter here.
        for (t, from, to, why) in self.obs.cuts.get(&(b, p)).into_iter().flatten() {
            let x = self.x(*t);
            let _ = writeln!(
                s,
                "<path class=\"cut\" d=\"M{:.1} {:.1} L{:.1} {:.1} L{x:.1} {:.1} Z\" fill=\"#c00\"><title>{t} ms: broker {b} cut its log from LEO {from} to {to}: {}</title></path>",
                x - 4.5,
                chart_y,
                x + 4.5,
                chart_y,
                chart_y + 8.0,
                esc(why.describe())
            );
        }
        let mut label_end = f64::MIN;
        for span in &self.obs.fault_spans {
            if span.node == NodeId::Broker(b) {
                let h = chart_y + chart_h - role_y;
                self.fault_shade(s, span, role_y, h, "", &mut label_end);
            }
        }
        s.push_str("</g>\n");
    }

    /// A step plot of `points` (None: no value, e.g. the broker is down) up to the end.
    fn step_path(&self, points: &[(u64, Option<Offset>)], y_of: impl Fn(Offset) -> f64) -> String {
        let mut d = String::new();
        let mut drawing = false;
        for (i, (t, v)) in points.iter().enumerate() {
            let next = points.get(i + 1).map_or(self.end_ms, |n| n.0);
            let Some(v) = v else {
                drawing = false;
                continue;
            };
            let y = y_of(*v);
            if drawing {
                let _ = write!(d, "V{y:.1}");
            } else {
                let _ = write!(d, "M{:.1} {y:.1}", self.x(*t));
                drawing = true;
            }
            let _ = write!(d, "H{:.1}", self.x(next));
        }
        if d.is_empty() {
            d.push_str("M0 0");
        }
        d
    }

    /// A fault as a shaded interval over a lane, labelled at its start unless the lane's
    /// previous label (ending at `label_end`) is in the way.
    fn fault_shade(
        &self,
        s: &mut String,
        span: &FaultSpan,
        y: f64,
        h: f64,
        prefix: &str,
        label_end: &mut f64,
    ) {
        let to = span.to_ms.unwrap_or(self.end_ms);
        // No wildcard: a new kind of fault chooses its colour here.
        let (fill, label) = match span.action {
            FaultAction::Crash => ("rgba(214,39,40,0.3)", "crash"),
            FaultAction::PowerLoss => ("rgba(120,0,0,0.45)", "power loss"),
            FaultAction::Pause => ("rgba(255,127,14,0.35)", "paused"),
            FaultAction::Isolate => ("url(#hatch)", "isolated"),
            FaultAction::IsolateFromReplicas => ("url(#hatch)", "cut from replicas"),
            FaultAction::IsolateFromController => ("url(#hatch)", "cut from controllers"),
            FaultAction::IsolateOutbound => ("url(#hatch)", "outbound cut"),
            FaultAction::Split => ("url(#hatch)", "split (minority)"),
            FaultAction::Bridge => ("url(#hatch)", "bridge"),
            FaultAction::Slow | FaultAction::SlowToController | FaultAction::SlowAlterPartition => {
                ("rgba(31,119,180,0.25)", span.action.name())
            }
            FaultAction::Lossy => ("rgba(148,103,189,0.3)", "lossy links"),
            FaultAction::ClockDrift => ("rgba(188,189,34,0.35)", "clock drift"),
            FaultAction::StaleMetadata => ("rgba(23,190,207,0.3)", "stale metadata"),
            // Neither starts a span.
            FaultAction::Restart | FaultAction::Heal => {
                ("rgba(120,120,120,0.3)", span.action.name())
            }
        };
        let (x, w) = (self.x(span.from_ms), self.w(span.from_ms, to));
        let until = match span.to_ms {
            Some(t) => format!("until {t} ms"),
            None => "to the end".to_string(),
        };
        let _ = write!(
            s,
            "<g class=\"fault\" data-kind=\"{}\"><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{fill}\" stroke=\"#7a1010\" stroke-opacity=\"0.5\" stroke-width=\"0.8\"><title>{}{label} from {} ms {until}</title></rect>",
            span.action.name(),
            esc(prefix),
            span.from_ms,
        );
        let text = format!("{prefix}{label}");
        if x > *label_end + 3.0 {
            *label_end = x + text_width(&text, 9.0);
            let _ = write!(
                s,
                "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"#7a1010\">{}</text>",
                y - 2.0,
                esc(&text)
            );
        }
        s.push_str("</g>\n");
    }

    /// Client operations as Jepsen's timeline draws them, one row per producer: ok in green
    /// (aggregated into time buckets), fail in pink and info in orange from invoke to
    /// completion; below, completions per bucket stacked by outcome.
    #[allow(clippy::too_many_arguments)]
    fn ops(
        &self,
        s: &mut String,
        p: PartitionId,
        processes: &[u32],
        y0: f64,
        row_h: f64,
        hist_y: f64,
        hist_h: f64,
    ) {
        let bucket_ms = self.end_ms.div_ceil(BUCKETS).max(1);
        let nb = (self.end_ms / bucket_ms + 1) as usize;
        let mut invoked: BTreeMap<(u32, u64), u64> = BTreeMap::new();
        // Per process: ok count per bucket, fail and info intervals.
        let mut ok: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        let mut spans: BTreeMap<(u32, u8), Vec<(u64, u64)>> = BTreeMap::new();
        let mut hist = vec![[0u32; 3]; nb];
        for op in self.obs.history.iter().filter(|o| o.partition == p) {
            let key = (op.process, op.value);
            let k = match op.kind {
                OpType::Invoke => {
                    invoked.insert(key, op.time_ms);
                    continue;
                }
                OpType::Ok => 0,
                OpType::Fail => 1,
                OpType::Info => 2,
            };
            let from = invoked.remove(&key).unwrap_or(op.time_ms);
            let bucket = (op.time_ms / bucket_ms) as usize;
            hist[bucket.min(nb - 1)][k] += 1;
            if k == 0 {
                ok.entry(op.process).or_insert_with(|| vec![0; nb])[bucket.min(nb - 1)] += 1;
            } else {
                spans
                    .entry((op.process, k as u8))
                    .or_default()
                    .push((from, op.time_ms));
            }
        }
        // Never completed: the outcome is unknown, as for info.
        for ((process, _), from) in invoked {
            spans
                .entry((process, 2))
                .or_default()
                .push((from, self.end_ms));
        }
        let ok_max = ok.values().flatten().copied().max().unwrap_or(1).max(1);
        for (i, proc_id) in processes.iter().enumerate() {
            let y = y0 + (row_h + 3.0) * i as f64;
            let _ = writeln!(
                s,
                "<text x=\"8\" y=\"{:.1}\" font-size=\"10\">producer {proc_id}</text>\
<rect x=\"{LEFT}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{row_h}\" fill=\"#f7f7f7\"/>",
                y + 10.0,
                WIDTH - LEFT - RIGHT
            );
            if let Some(counts) = ok.get(proc_id) {
                for (j, n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
                    let from = j as u64 * bucket_ms;
                    let opacity = 0.35 + 0.65 * f64::from(*n) / f64::from(ok_max);
                    let _ = writeln!(
                        s,
                        "<rect class=\"op-ok\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{row_h}\" fill=\"#59b86a\" fill-opacity=\"{opacity:.2}\"><title>producer {proc_id}: {n} ok from {from} to {} ms</title></rect>",
                        self.x(from),
                        self.w(from, from + bucket_ms),
                        from + bucket_ms
                    );
                }
            }
            for (k, class, fill) in [(1u8, "op-fail", "#f28cb1"), (2, "op-info", "#f0a830")] {
                let Some(list) = spans.get(&(*proc_id, k)) else {
                    continue;
                };
                for (from, to, n) in merge(list) {
                    let what = if k == 1 {
                        "fail (did not happen)"
                    } else {
                        "info (unknown outcome)"
                    };
                    let _ = writeln!(
                        s,
                        "<rect class=\"{class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\" fill-opacity=\"0.9\"><title>producer {proc_id}: {n} {what}, invoked from {from} ms, completed by {to} ms</title></rect>",
                        self.x(from),
                        y + if k == 1 { 0.0 } else { row_h / 2.0 },
                        self.w(from, to).max(1.5),
                        row_h / 2.0
                    );
                }
            }
        }
        let max = hist
            .iter()
            .map(|c| c.iter().sum::<u32>())
            .max()
            .unwrap_or(0)
            .max(1);
        let _ = writeln!(
            s,
            "<text x=\"8\" y=\"{:.1}\" font-size=\"10\">completions</text>\
<text x=\"8\" y=\"{:.1}\" font-size=\"9\" fill=\"#777\">max {max} per {bucket_ms} ms</text>\
<rect x=\"{LEFT}\" y=\"{hist_y:.1}\" width=\"{:.1}\" height=\"{hist_h}\" fill=\"#fafafa\"/>",
            hist_y + 11.0,
            hist_y + 23.0,
            WIDTH - LEFT - RIGHT
        );
        for (j, counts) in hist.iter().enumerate() {
            let from = j as u64 * bucket_ms;
            let mut base = hist_y + hist_h;
            for (k, fill) in ["#59b86a", "#f28cb1", "#f0a830"].iter().enumerate() {
                if counts[k] == 0 {
                    continue;
                }
                let h = f64::from(counts[k]) / f64::from(max) * hist_h;
                base -= h;
                let _ = write!(
                    s,
                    "<rect x=\"{:.1}\" y=\"{base:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{fill}\"/>",
                    self.x(from),
                    (self.w(from, from + bucket_ms) - 0.6).max(0.6)
                );
            }
        }
        s.push('\n');
    }

    /// A vertical red line at each violation of this partition (or of no one partition),
    /// with its message as tooltip, and the labels above.
    fn violation_marks(
        &self,
        s: &mut String,
        p: PartitionId,
        mine: &[&(usize, &Violation, Option<PartitionId>)],
        labels: &[(usize, f64, bool, String)],
        y0: f64,
        y1: f64,
    ) {
        for (i, v, _) in mine {
            let x = self.x(v.time_ms);
            // The first partition that draws a violation carries its anchor.
            let id = if self.first_partition_of(*i) == Some(p) {
                format!("v{i}")
            } else {
                format!("v{i}-p{p}")
            };
            let _ = writeln!(
                s,
                "<g class=\"violation\" id=\"{id}\" data-checker=\"{}\"><title>{} ms: [{}] {}</title>\
<line x1=\"{x:.1}\" y1=\"{y0:.1}\" x2=\"{x:.1}\" y2=\"{y1:.1}\" stroke=\"#d00\" stroke-width=\"1.6\"/></g>",
                esc(v.checker),
                v.time_ms,
                esc(v.checker),
                esc(&v.message),
            );
        }
        for (row, lx, right, label) in labels {
            let _ = writeln!(
                s,
                "<text class=\"violation-label\" x=\"{lx:.1}\" y=\"{:.1}\" font-size=\"10\" font-weight=\"bold\" fill=\"#d00\" text-anchor=\"{}\">{}</text>",
                15.0 + 13.0 * *row as f64,
                if *right { "end" } else { "start" },
                esc(label)
            );
        }
    }

    /// Labels for the violation lines: violations of one checker a few pixels apart share one
    /// (checker, how many, when), in the first row where it fits; as (row, x, anchored at its
    /// right end, text). A violation without a free row keeps its line and tooltip.
    fn violation_labels(
        &self,
        mine: &[&(usize, &Violation, Option<PartitionId>)],
    ) -> Vec<(usize, f64, bool, String)> {
        let mut by_time: Vec<&Violation> = mine.iter().map(|(_, v, _)| *v).collect();
        by_time.sort_by_key(|v| v.time_ms);
        // (checker, first time, last time, how many)
        let mut clusters: Vec<(&str, u64, u64, usize)> = Vec::new();
        for v in by_time {
            match clusters.last_mut() {
                Some(c) if c.0 == v.checker && self.x(v.time_ms) - self.x(c.1) < 12.0 => {
                    c.2 = v.time_ms;
                    c.3 += 1;
                }
                _ => clusters.push((v.checker, v.time_ms, v.time_ms, 1)),
            }
        }
        let mut row_end = [f64::MIN; LABEL_ROWS];
        let mut labels = Vec::new();
        for (checker, from, to, n) in clusters {
            let x = self.x(from);
            let label = if n == 1 {
                format!("✖ {checker} {from} ms")
            } else {
                format!("✖ {checker} ×{n} {from}–{to} ms")
            };
            let w = text_width(&label, 10.0);
            let right = x + 3.0 + w > WIDTH - 2.0;
            let (lx, l0, l1) = if right {
                (x - 3.0, x - 3.0 - w, x)
            } else {
                (x + 3.0, x, x + 3.0 + w)
            };
            if let Some(row) = (0..LABEL_ROWS).find(|r| l0 > row_end[*r] + 4.0) {
                row_end[row] = l1;
                labels.push((row, lx, right, label));
            }
        }
        labels
    }

    fn first_partition_of(&self, i: usize) -> Option<PartitionId> {
        let (_, _, vp) = self.violations.iter().find(|(j, _, _)| *j == i)?;
        Some(vp.unwrap_or(0))
    }
}

/// Overlapping intervals merged: (from, to, how many).
fn merge(list: &[(u64, u64)]) -> Vec<(u64, u64, usize)> {
    let mut sorted = list.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<(u64, u64, usize)> = Vec::new();
    for (from, to) in sorted {
        match out.last_mut() {
            Some(last) if from <= last.1 => {
                last.1 = last.1.max(to);
                last.2 += 1;
            }
            _ => out.push((from, to, 1)),
        }
    }
    out
}

/// About how wide `text` is in a sans-serif font of `size` px.
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.56
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
