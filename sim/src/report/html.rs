//! `index.html`: one offline page (inline CSS and SVG, no script, parses as XML) with the
//! verdict, the counts, the faults, the steps and a timeline per partition.

use super::*;

/// Escape text for HTML and XML alike (the page parses as XML too).
pub(super) fn esc(s: &str) -> String {
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

pub(super) const STYLE: &str = "\
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
pre.banner{white-space:pre-wrap;overflow-wrap:anywhere}
pre.banner span{display:block;padding-left:11ch;text-indent:-11ch}
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
pub(super) fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "valid",
        Verdict::Invalid => "invalid",
        Verdict::Vacuous => "vacuous",
    }
}

/// How many violations the page lists and draws; results.json has them all.
pub(super) const VIOLATIONS_SHOWN: usize = 30;
/// Steps listed at most (a long random run has thousands).
pub(super) const STEPS_SHOWN: usize = 600;

pub fn html(out: &RunOutput, report: &Report) -> String {
    let sc = &out.ctx.sc;
    let obs = lock(&out.ctx.observer);
    let mut s = String::new();
    head(&mut s, out, report);
    timeline(&mut s, out, report, &obs);
    s.push_str("<h2>Scenario</h2>\n");
    // Each banner line wraps within the page, its continuation under its value.
    let lines: String = output::banner(sc, out.seed)
        .lines()
        .map(|l| format!("<span>{}</span>", esc(l)))
        .collect();
    let _ = writeln!(s, "<pre class=\"banner\">{lines}</pre>");
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

/// The document head, the verdict, the violations listed and the reproduce line.
fn head(s: &mut String, out: &RunOutput, report: &Report) {
    let sc = &out.ctx.sc;
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
                "<li><a href=\"#v{i}\">[{}] {}</a>: {}</li>",
                esc(v.checker),
                v.when(),
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
}

/// One drawing per partition: replicas, leaders, HW, faults and operations over time.
fn timeline(s: &mut String, out: &RunOutput, report: &Report, obs: &Observer) {
    s.push_str("<h2>Timeline</h2>\n");
    s.push_str(LEGEND);
    match &obs.timeline {
        None => s.push_str("<p>This run kept no timeline.</p>\n"),
        Some(_) => {
            let draw = Draw::new(out, report, obs);
            s.push_str(DEFS);
            for p in 0..out.ctx.sc.total_partitions() {
                let _ = writeln!(s, "<h3 id=\"p{p}\">partition {p}</h3>");
                s.push_str(&draw.partition(p));
            }
        }
    }
}

pub(super) fn counts_table(s: &mut String, report: &Report, obs: &Observer, end_ms: u64) {
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
                c.injected.crashes, c.injected.power_losses, c.injected.pauses, c.injected.restarts, c.injected.partitions, c.truncations, c.flushes
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

pub(super) fn faults_table(s: &mut String, obs: &Observer) {
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

pub(super) fn steps_list(s: &mut String, obs: &Observer, open: bool) {
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

pub(super) const LEGEND: &str = "<div class=\"legend\">\
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
