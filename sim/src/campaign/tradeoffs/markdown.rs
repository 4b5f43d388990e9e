//! The report as Markdown (the headline, the loss and cost tables, the findings), and the
//! tables the HTML page shares.

use super::*;

pub(super) fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

pub(super) fn ci_pct(ci: [f64; 2]) -> String {
    format!("{:.1}–{:.1}%", 100.0 * ci[0], 100.0 * ci[1])
}

pub(super) fn num(x: f64) -> String {
    format!("{x:.2}")
}

pub(super) fn secs(ms: f64) -> String {
    format!("{:.1} s", ms / 1000.0)
}

/// The grid cell with these settings (clean election, no flush, the first replication factor).
pub(super) fn find<'t>(t: &'t Tradeoffs, acks: &str, min_isr: usize) -> Option<&'t Cell> {
    t.cells.iter().find(|c| {
        let k = &c.config;
        !k.yours
            && k.acks == acks
            && k.min_insync_replicas == min_isr
            && !k.unclean_leader_election_enable
            && k.flush == "never"
    })
}

pub(super) fn loss_sentence(c: &Cell) -> String {
    let s = &c.summary;
    format!(
        "lost acknowledged writes in {} of {} runs ({}, 95% CI {}), {} per run on average (95% CI {}–{}), at most {} in one run",
        s.runs_with_loss,
        s.runs,
        pct(s.loss_share),
        ci_pct(s.loss_share_ci),
        num(s.lost_mean),
        num(s.lost_mean_ci[0]),
        num(s.lost_mean_ci[1]),
        s.lost_max
    )
}

/// The answer in a few lines: the two classic settings, and the user's own.
pub fn headline(t: &Tradeoffs) -> String {
    let mut s = String::new();
    if let Some(c) = t.cells.iter().find(|c| c.config.yours) {
        let _ = writeln!(
            s,
            "yours      {} {}",
            c.config.label.trim_start_matches("yours: "),
            loss_sentence(c)
        );
        let _ = writeln!(
            s,
            "           unavailable {} per run on average ({} of the workload); produce latency p50 {} ms, p99 {} ms; {} invalid run(s)",
            secs(c.summary.unavailable_ms_mean),
            pct(c.summary.unavailable_share),
            c.summary.latency.p50_ms,
            c.summary.latency.p99_ms,
            c.summary.invalid_runs
        );
    }
    for (acks, min_isr) in [("1", 1), ("all", 2)] {
        if let Some(c) = find(t, acks, min_isr) {
            let _ = writeln!(
                s,
                "grid       acks={acks} min.insync.replicas={min_isr} (clean election, no flush) {}",
                loss_sentence(c)
            );
        }
    }
    s
}

/// A table both renderers draw: header, and rows with a flag for the user's row.
pub(super) struct Table {
    header: Vec<&'static str>,
    rows: Vec<(bool, Vec<String>)>,
}

impl Table {
    /// The first column marks your configuration's row; without one it would stand empty.
    fn first(&self) -> usize {
        let unmarked = self
            .rows
            .iter()
            .all(|(_, r)| r.first().is_none_or(String::is_empty));
        usize::from(self.header.first() == Some(&"") && unmarked)
    }

    pub(super) fn markdown(&self) -> String {
        let skip = self.first();
        let header = &self.header[skip..];
        let mut s = String::new();
        let _ = writeln!(s, "| {} |", header.join(" | "));
        let _ = writeln!(s, "|{}", header.iter().map(|_| "---|").collect::<String>());
        for (yours, row) in &self.rows {
            let cells: Vec<String> = row[skip..]
                .iter()
                .map(|c| {
                    if *yours && !c.is_empty() {
                        format!("**{c}**")
                    } else {
                        c.clone()
                    }
                })
                .collect();
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        }
        s
    }

    pub(super) fn html(&self) -> String {
        let skip = self.first();
        let mut s = String::from("<table>\n<thead><tr>");
        for h in &self.header[skip..] {
            let _ = write!(s, "<th>{}</th>", esc(h));
        }
        s.push_str("</tr></thead>\n<tbody>\n");
        for (yours, row) in &self.rows {
            s.push_str(if *yours {
                "<tr class=\"yours\">"
            } else {
                "<tr>"
            });
            for c in &row[skip..] {
                let _ = write!(s, "<td>{}</td>", esc(c));
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody>\n</table>\n");
        s
    }
}

pub(super) fn config_columns(c: &CellConfig, with_rf: bool) -> Vec<String> {
    let mut v = vec![if c.yours {
        "yours".to_string()
    } else {
        String::new()
    }];
    if with_rf {
        v.push(c.replication_factor.to_string());
    }
    v.extend([
        c.acks.clone(),
        c.min_insync_replicas.to_string(),
        if c.unclean_leader_election_enable {
            "on"
        } else {
            "off"
        }
        .to_string(),
        c.flush.clone(),
    ]);
    v
}

pub(super) fn several_rf(t: &Tradeoffs) -> bool {
    let first = t.cells.first().map(|c| c.config.replication_factor);
    t.cells
        .iter()
        .any(|c| Some(c.config.replication_factor) != first)
}

pub(super) fn header(with_rf: bool, rest: &[&'static str]) -> Vec<&'static str> {
    let mut h = vec![""];
    if with_rf {
        h.push("RF");
    }
    h.extend(["acks", "min.insync.replicas", "unclean election", "flush"]);
    h.extend(rest);
    h
}

pub(super) fn loss_table(t: &Tradeoffs) -> Table {
    let with_rf = several_rf(t);
    let rows = t
        .cells
        .iter()
        .map(|c| {
            let s = &c.summary;
            let mut row = config_columns(&c.config, with_rf);
            let checkers: Vec<String> = s
                .invalid_by_checker
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            row.extend([
                format!("{} / {}", s.runs_with_loss, s.runs),
                format!("{} ({})", pct(s.loss_share), ci_pct(s.loss_share_ci)),
                format!(
                    "{} ({}–{})",
                    num(s.lost_mean),
                    num(s.lost_mean_ci[0]),
                    num(s.lost_mean_ci[1])
                ),
                s.lost_max.to_string(),
                s.unclean_elections.to_string(),
                if s.invalid_runs == 0 {
                    "0".to_string()
                } else {
                    format!("{} ({})", s.invalid_runs, checkers.join(", "))
                },
            ]);
            (c.config.yours, row)
        })
        .collect();
    Table {
        header: header(
            with_rf,
            &[
                "runs with loss",
                "share (95% CI)",
                "lost per run (95% CI)",
                "max lost",
                "unclean elections",
                "invalid runs",
            ],
        ),
        rows,
    }
}

pub(super) fn cost_table(t: &Tradeoffs) -> Table {
    let with_rf = several_rf(t);
    let rows = t
        .cells
        .iter()
        .map(|c| {
            let s = &c.summary;
            let mut row = config_columns(&c.config, with_rf);
            row.extend([
                secs(s.unavailable_ms_mean),
                pct(s.unavailable_share),
                secs(s.unavailable_ms_max as f64),
                format!("{} ms", s.latency.p50_ms),
                format!("{} ms", s.latency.p99_ms),
                format!("{} ms", s.latency.max_ms),
                format!("{:.1}", s.acked_per_sec),
            ]);
            (c.config.yours, row)
        })
        .collect();
    Table {
        header: header(
            with_rf,
            &[
                "unavailable per run",
                "of the workload",
                "worst run",
                "latency p50",
                "p99",
                "max",
                "acked/s",
            ],
        ),
        rows,
    }
}

pub(super) fn summary_lines(t: &Tradeoffs) -> Vec<String> {
    let mut lines = Vec::new();
    let (a1, all2) = (find(t, "1", 1), find(t, "all", 2));
    if let Some(c) = t.cells.iter().find(|c| c.config.yours) {
        lines.push(format!(
            "**Your configuration** ({}) {}; it was unavailable {} per run on average and its produce latency p99 was {} ms.",
            c.config.label.trim_start_matches("yours: "),
            loss_sentence(c),
            secs(c.summary.unavailable_ms_mean),
            c.summary.latency.p99_ms
        ));
    }
    if let Some(c) = a1 {
        lines.push(format!(
            "`acks=1` with `min.insync.replicas=1` (clean election, no flush) {}.",
            loss_sentence(c)
        ));
    }
    if let Some(c) = all2 {
        lines.push(format!(
            "`acks=all` with `min.insync.replicas=2` (clean election, no flush) {}.",
            loss_sentence(c)
        ));
    }
    if let (Some(a), Some(b)) = (a1, all2) {
        lines.push(format!(
            "The price of `acks=all` with `min.insync.replicas=2`: no acknowledgement for {} per run on average ({} of the workload) against {} ({}) for `acks=1`; produce latency p50 {} ms against {} ms, p99 {} ms against {} ms; {:.1} against {:.1} acknowledged writes per second.",
            secs(b.summary.unavailable_ms_mean),
            pct(b.summary.unavailable_share),
            secs(a.summary.unavailable_ms_mean),
            pct(a.summary.unavailable_share),
            b.summary.latency.p50_ms,
            a.summary.latency.p50_ms,
            b.summary.latency.p99_ms,
            a.summary.latency.p99_ms,
            b.summary.acked_per_sec,
            a.summary.acked_per_sec,
        ));
    }
    let safe: Vec<&str> = t
        .cells
        .iter()
        .filter(|c| !c.config.yours && c.summary.runs_with_loss == 0)
        .map(|c| c.config.label.as_str())
        .collect();
    if !safe.is_empty() {
        lines.push(format!(
            "Lost nothing in any run: {}.",
            safe.iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let same = identical_rows(t);
    if !same.is_empty() {
        lines.push(format!(
            "Rows whose runs gave the same numbers, seed for seed (the setting that differs between them changed nothing these faults could show): {}.",
            same.iter()
                .map(|g| g.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(" = "))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    let invalid: u64 = t.cells.iter().map(|c| c.summary.invalid_runs).sum();
    lines.push(if invalid == 0 {
        "No run broke a promise Kafka makes for its configuration: every loss above is one the configuration allows (the checker's `lost-but-allowed`).".to_string()
    } else {
        format!("{invalid} run(s) broke a promise Kafka makes for their configuration: see Findings.")
    });
    lines
}

/// Groups of two or more rows whose runs gave the same numbers, seed for seed (the trace
/// hashes may differ: the configuration is part of some traced events).
pub(super) fn identical_rows(t: &Tradeoffs) -> Vec<Vec<&str>> {
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for c in &t.cells {
        let numbers: Vec<SeedResult> = c
            .runs
            .iter()
            .map(|r| SeedResult {
                trace_hash: String::new(),
                ..r.clone()
            })
            .collect();
        let key = serde_json::to_string(&numbers).expect("serializable");
        groups.entry(key).or_default().push(c.config.label.as_str());
    }
    let mut same: Vec<Vec<&str>> = groups.into_values().filter(|g| g.len() > 1).collect();
    // In the order of the rows.
    let position = |l: &str| t.cells.iter().position(|c| c.config.label == l);
    same.sort_by_key(|g| position(g[0]));
    same
}

/// The definitions, shared by both renderers (Markdown with backticks; HTML strips them).
pub(super) fn definitions(t: &Tradeoffs) -> Vec<(&'static str, String)> {
    vec![
        ("Lost", "acknowledged writes (an `ok` in the client history) that are not in the final committed log after the workload stopped, every broker was restarted and the cluster settled: the checker's lost-but-allowed plus lost-violating. A loss is allowed when the configuration permits it (`acks=1` and the leader failed before followers fetched; every replica holding the write lost power before flushing; an unclean election); any other loss is a violation.".into()),
        ("Runs with loss", "the share of runs that lost at least one acknowledged write, with a 95% Wilson score interval (it stays honest at 0 and at the number of runs: 0 of n runs still gives an upper bound).".into()),
        ("Lost per run", format!("the mean over runs of acknowledged writes lost, with a 95% percentile-bootstrap interval: {BOOTSTRAP_RESAMPLES} resamples of the runs with replacement, drawn from ChaCha8 seeded with {BOOTSTRAP_SEED} (so the interval is the same on every regeneration). With no loss in any run the interval is 0–0; read the Wilson interval of the share for an upper bound.")),
        ("Invalid runs", "runs whose verdict is INVALID (a violated invariant, a panic, or a stall), by the checker that found them; a run may count under several checkers.".into()),
        ("Unavailable", format!("simulated time within the {:.0} s workload during which the producer got no acknowledgement for more than {UNAVAILABLE_GAP_MS} ms: each such stretch between two acknowledgements (or from the last one to the end of the workload) counts in full. This covers the three ways a Kafka partition is unavailable to a producer: no partition leader (the producer's metadata names none, so it has nowhere to send), produce errors (`NOT_ENOUGH_REPLICAS`, `NOT_LEADER_OR_FOLLOWER`, a connection reset by a crashed leader), and `acks=all` writes held until the HW passes them while a dead follower is still in the ISR (until `replica.lag.time.max.ms` removes it) or timed out by `request.timeout.ms`. The stretch before the first acknowledgement (the cluster starting) does not count. Measured over all producers and partitions together.", t.workload_ms as f64 / 1000.0)),
        ("Latency", "from a write's invoke to its `ok` in the client history, in simulated ms, pooled over every acknowledged write of every run of the cell (nearest-rank percentiles). Failed and unknown writes are not in it: they show up as unavailability.".into()),
        ("Acked/s", format!("acknowledged writes per simulated second of workload, mean over runs. The producers offer {} writes/s, so this measures how much of the offered load got through, not the cluster's capacity.", t.offered_per_sec)),
    ]
}

pub(super) fn findings(t: &Tradeoffs) -> Vec<(&Cell, &Finding)> {
    t.cells
        .iter()
        .flat_map(|c| c.summary.findings.iter().map(move |f| (c, f)))
        .collect()
}

/// README.md.
pub fn markdown(t: &Tradeoffs) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# What each replication setting can lose: `{}`\n",
        t.scenario_name
    );
    let _ = writeln!(
        s,
        "Generated by `ksim tradeoffs` (`index.html` has the same numbers with charts; `cells.json` has every number, per seed):\n\n```\n{}\n```\n",
        t.command
    );
    let _ = writeln!(
        s,
        "Each row ran seeds 1 to {} of the same fault distribution. Every number is measured in simulated time and depends only on the seeds and the code: regenerating gives the same files, byte for byte, with any `--jobs`. Any run replays with the line under Replay.\n",
        t.params.seeds
    );
    s.push_str("## In short\n\n");
    for l in summary_lines(t) {
        let _ = writeln!(s, "- {l}");
    }
    s.push_str("\n## The fault distribution\n\n");
    let _ = writeln!(
        s,
        "Scenario `{}`: {}\n",
        t.scenario_name, t.scenario_description
    );
    s.push_str(
        "Every row runs this scenario with the row's settings in place of its own:\n\n```\n",
    );
    for l in &t.distribution {
        let _ = writeln!(s, "{l}");
    }
    s.push_str("```\n\n");
    if !t.params.sets.is_empty() {
        let _ = writeln!(
            s,
            "Overrides applied to every row: {}.\n",
            t.params.sets_listed()
        );
    }
    if !t.skipped.is_empty() {
        let _ = writeln!(s, "Not run: {}.\n", t.skipped.join("; "));
    }
    write_yours_md(t, &mut s);
    s.push_str("## What it can lose\n\n");
    s.push_str(&loss_table(t).markdown());
    s.push_str("\n## What it costs\n\n");
    s.push_str(&cost_table(t).markdown());
    let found = findings(t);
    if !found.is_empty() {
        s.push_str("\n## Findings\n\n");
        for (c, f) in found {
            let _ = writeln!(
                s,
                "- `{}` seed {}: **{}**: {}\n  `{}`",
                c.config.label, f.seed, f.checker, f.message, f.reproduce
            );
        }
    }
    s.push_str("\n## What is measured\n\n");
    for (term, text) in definitions(t) {
        let _ = writeln!(s, "- **{term}**: {text}");
    }
    s.push_str("\n## Replay\n\nAny run of a row (replace N by its seed):\n\n");
    for c in &t.cells {
        let _ = writeln!(s, "- `{}`: `{}`", c.config.label, c.config.replay);
    }
    s
}

pub(super) fn write_yours_md(t: &Tradeoffs, s: &mut String) {
    if !t.cells.iter().any(|c| c.config.yours) {
        return;
    }
    s.push_str("## Your configuration\n\n");
    s.push_str("The first row (**yours**) runs your properties files on the same faults. Where your files do not set `acks`, `min.insync.replicas`, `unclean.leader.election.enable` or a flush interval, Kafka's defaults apply (`acks=all`, `min.insync.replicas=1`, unclean election off, no flush), not the scenario's. The grid rows use your files too, with the grid's settings in place of those keys.\n\n");
    if !t.applied.is_empty() {
        let _ = writeln!(
            s,
            "Applied from your files: {}.\n",
            t.applied
                .iter()
                .map(|x| format!("`{x}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !t.ignored.is_empty() {
        s.push_str("Ignored (the simulation does not model them):\n\n");
        for i in &t.ignored {
            // "key=value (file: why)": the setting as code, the reason as text.
            match i.split_once(" (") {
                Some((kv, why)) => {
                    let _ = writeln!(s, "- `{kv}` ({why}");
                }
                None => {
                    let _ = writeln!(s, "- `{i}`");
                }
            }
        }
        s.push('\n');
    }
}

pub(crate) fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Markdown's `code` and **bold** as HTML, after escaping.
pub(super) fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in esc(text).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            for (j, p) in part.split("**").enumerate() {
                if j % 2 == 1 {
                    let _ = write!(out, "<strong>{p}</strong>");
                } else {
                    out.push_str(p);
                }
            }
        }
    }
    out
}
