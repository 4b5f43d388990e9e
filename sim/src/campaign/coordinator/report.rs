//! The coordinator comparison as a README (tables and the short story), an offline HTML page
//! with SVG bar charts, and the one-line headline the command prints.

use std::fmt::Write as _;

use super::{Cell, Coordinators, Metric};
use crate::campaign::tradeoffs::{bar_chart, esc, Bar};

fn mode(c: &Cell) -> &'static str {
    match c.coordinator.as_str() {
        "zookeeper" => "ZooKeeper",
        _ => "KRaft",
    }
}

fn secs(ms: f64) -> String {
    format!("{:.1} s", ms / 1000.0)
}

/// `mean (95% CI lo–hi), max` in seconds; `none` when no run had the value.
fn metric_s(m: &Metric) -> String {
    if m.runs == 0 {
        return "none".into();
    }
    format!(
        "{} ({:.1}–{:.1}), max {}",
        secs(m.mean),
        m.ci[0] / 1000.0,
        m.ci[1] / 1000.0,
        secs(m.max as f64)
    )
}

fn metric_ms(m: &Metric) -> String {
    format!(
        "{:.0} ms ({:.0}–{:.0}), max {}",
        m.mean, m.ci[0], m.ci[1], m.max
    )
}

fn cell<'a>(t: &'a Coordinators, coordinator: &str, n: u32) -> Option<&'a Cell> {
    t.cells
        .iter()
        .find(|c| c.coordinator == coordinator && c.partitions == n)
}

/// What the command prints: one line per partition count.
pub fn headline(t: &Coordinators) -> String {
    let mut s = String::new();
    for &n in &t.params.partitions {
        let (Some(k), Some(z)) = (cell(t, "kraft", n), cell(t, "zookeeper", n)) else {
            continue;
        };
        let back = |c: &Cell| c.summary.leaders_back.last().map_or(0.0, |m| m.mean);
        let _ = writeln!(
            s,
            "{n:>5} partitions  takeover KRaft {} / ZooKeeper {}; leaders back after the last fault {} / {}; metadata lag p50 {:.0} / {:.0} ms; invalid runs {} / {}",
            secs(k.summary.takeover.first().map_or(0.0, |m| m.mean)),
            secs(z.summary.takeover.first().map_or(0.0, |m| m.mean)),
            secs(back(k)),
            secs(back(z)),
            k.summary.metadata_lag_p50.mean,
            z.summary.metadata_lag_p50.mean,
            k.summary.invalid_runs,
            z.summary.invalid_runs,
        );
    }
    s
}

fn in_short(s: &mut String, t: &Coordinators) {
    let _ = writeln!(s, "## In short\n");
    for &n in &t.params.partitions {
        let (Some(k), Some(z)) = (cell(t, "kraft", n), cell(t, "zookeeper", n)) else {
            continue;
        };
        let take = |c: &Cell| c.summary.takeover.first().map(metric_s).unwrap_or_default();
        let back = |c: &Cell| {
            c.summary
                .leaders_back
                .last()
                .map(metric_s)
                .unwrap_or_default()
        };
        let _ = writeln!(
            s,
            "- **{n} partition(s)**: after the active controller's crash another controller took over in {} with KRaft against {} with ZooKeeper; after the last fault every partition had a leader again in {} against {}; a leader decision reached every running replica in {} (median per run, mean over runs) against {}; acknowledged writes lost: {} of {} runs against {} of {}.",
            take(k),
            take(z),
            back(k),
            back(z),
            metric_ms(&k.summary.metadata_lag_p50),
            metric_ms(&z.summary.metadata_lag_p50),
            k.summary.runs_with_loss,
            k.summary.runs,
            z.summary.runs_with_loss,
            z.summary.runs,
        );
    }
    let invalid: u64 = t.cells.iter().map(|c| c.summary.invalid_runs).sum();
    let _ = writeln!(
        s,
        "- {}\n",
        match invalid {
            0 => "No run broke a promise Kafka makes for its configuration.".to_string(),
            n => format!("{n} run(s) broke a promise Kafka makes: see Findings."),
        }
    );
}

fn tables(s: &mut String, t: &Coordinators) {
    let faults: Vec<String> = t
        .faults
        .iter()
        .map(|(at, f)| format!("`{f}` at {}", secs(*at as f64)))
        .collect();
    let _ = writeln!(s, "## Failover\n");
    let mut head = String::from("| coordinator | partitions |");
    for f in &faults {
        let _ = write!(head, " takeover after {f} | leaders back after {f} |");
    }
    let _ = writeln!(s, "{head}");
    let _ = writeln!(s, "|---|---|{}", "---|---|".repeat(faults.len()));
    for c in &t.cells {
        let mut row = format!("| {} | {} |", mode(c), c.partitions);
        for (take, back) in c.summary.takeover.iter().zip(&c.summary.leaders_back) {
            let _ = write!(
                row,
                " {} ({} runs) | {} |",
                metric_s(take),
                take.runs,
                metric_s(back)
            );
        }
        let _ = writeln!(s, "{row}");
    }
    let _ = writeln!(s, "\n## What the brokers and producers saw\n");
    let _ = writeln!(s, "| coordinator | partitions | metadata lag p50 | metadata lag max | decisions never reached | no acknowledgement | acknowledged writes lost | runs with loss (95% CI) | duplicates | invalid runs |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    for c in &t.cells {
        let m = &c.summary;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {:.2} (max {}) | {} / {} ({:.1}–{:.1}%) | {:.2} (max {}) | {} |",
            mode(c),
            c.partitions,
            metric_ms(&m.metadata_lag_p50),
            metric_ms(&m.metadata_lag_max),
            m.metadata_unreached,
            metric_s(&m.unavailable),
            m.lost.mean,
            m.lost.max,
            m.runs_with_loss,
            m.runs,
            m.loss_share_ci[0] * 100.0,
            m.loss_share_ci[1] * 100.0,
            m.duplicates.mean,
            m.duplicates.max,
            m.invalid_runs,
        );
    }
    s.push('\n');
}

const DEFINITIONS: &str = "## What each number is\n
Every number is in simulated time and judged from outside the nodes, by the observer:\n
- **takeover**: from the fault to the first moment after it that a controller takes over: a controller becomes the quorum leader (KRaft), or one bumps `/controller_epoch` (ZooKeeper mode). `none` when no controller took over before the next fault (a broker crash that did not hit the controller needs none).
- **leaders back**: from the fault until every partition again has a leader: the broker the controllers name runs and its replica leads in the controllers' leader epoch. 0 when no partition lost its leader.
- **metadata lag**: for every leader decision committed after the first fault (a new leader epoch in the metadata log, or in a state znode), the time until every running broker hosting the partition acts in that epoch or a later one; per run its median and its maximum, then the mean over runs. Decisions never reached: the run ended first.
- **no acknowledgement**: the workload's stretches of 1 s or more without any acknowledged write.
- **lost**, **duplicates**: acknowledged writes missing from the committed log, and records committed twice (the producer retries, without idempotence, which ZooKeeper mode does not offer here).
- Intervals are 95% percentile-bootstrap intervals of the mean over runs (2,000 resamples), and the Wilson score interval for a share of runs.\n";

const WHY: &str = "## Why the two differ\n
- In ZooKeeper mode a crashed controller is noticed only when its ZooKeeper session expires (`zookeeper.session.timeout.ms`), since `/controller` is an ephemeral znode of that session; then every broker races to create it, and the winner reads every partition's state znode before it acts. A KRaft controller quorum elects a new leader within `controller.quorum.election.timeout.ms`, and the new leader already holds the whole metadata log.
- A crashed broker is declared dead when its ZooKeeper session expires (ZooKeeper mode) or when it misses `broker.session.timeout.ms` of heartbeats (KRaft); then the ZooKeeper-era controller writes each affected partition's state znode by its own conditional update and sends LeaderAndIsr per partition, where a KRaft controller appends the leader changes to the metadata log that every broker replays.
- The metadata lag is about the same in both: in this model both controllers push each decision to the partition's replicas as soon as it is committed (here KRaft brokers do not fetch the metadata log continuously, as Kafka's do), so the difference lies in how long each takes to decide, not to tell.
- The numbers are this model's, with the scenario's settings; change the timeouts with `--set` to see how each bound moves.\n";

pub fn markdown(t: &Coordinators) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Why Kafka moved from ZooKeeper to KRaft, measured: `{}`\n",
        t.scenario_name
    );
    let _ = writeln!(s, "Generated by `ksim tradeoffs --coordinator` (`index.html` has the same numbers as charts; `cells.json` has every number, per seed):\n\n```\n{}\n```\n", t.command);
    let _ = writeln!(s, "Each cell ran seeds 1 to {} of scenario `{}` with the cell's coordinator and partition count. Regenerating gives the same files, byte for byte, with any `--jobs`; any run replays with the line under Replay.\n", t.params.seeds, t.scenario_name);
    let _ = writeln!(s, "{}\n", t.scenario_description);
    in_short(&mut s, t);
    tables(&mut s, t);
    s.push_str(WHY);
    s.push('\n');
    s.push_str(DEFINITIONS);
    findings(&mut s, t);
    let _ = writeln!(s, "\n## Replay\n");
    for c in &t.cells {
        let _ = writeln!(
            s,
            "- {} with {} partition(s): `{}`",
            mode(c),
            c.partitions,
            c.replay
        );
    }
    s
}

fn findings(s: &mut String, t: &Coordinators) {
    let found: Vec<_> = t
        .cells
        .iter()
        .flat_map(|c| c.summary.findings.iter().map(move |f| (c, f)))
        .collect();
    if found.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Findings\n");
    for (c, f) in found {
        let _ = writeln!(
            s,
            "- {} with {} partition(s), seed {}: `{}`: {}\n  reproduce: `{}`",
            mode(c),
            c.partitions,
            f.seed,
            f.checker,
            f.message,
            f.reproduce
        );
    }
}

fn chart(t: &Coordinators, title: &str, pick: &dyn Fn(&Cell) -> Option<&Metric>) -> String {
    let labels: Vec<String> = t
        .cells
        .iter()
        .map(|c| format!("{}, {} partition(s)", mode(c), c.partitions))
        .collect();
    let bars: Vec<Bar> = t
        .cells
        .iter()
        .map(|c| {
            let m = pick(c);
            let (mean, ci) = m.map_or((0.0, [0.0, 0.0]), |m| {
                (m.mean / 1000.0, [m.ci[0] / 1000.0, m.ci[1] / 1000.0])
            });
            Bar {
                value: mean,
                whisker: Some(ci),
                yours: c.coordinator == "zookeeper",
                text: format!("{mean:.2} s"),
            }
        })
        .collect();
    bar_chart(title, "seconds (mean over runs, 95% CI)", &labels, &bars)
}

pub fn html(t: &Coordinators) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "<!doctype html><html><head><meta charset=\"utf-8\"><title>KRaft and ZooKeeper: {}</title></head><body style=\"font-family:sans-serif;max-width:1000px;margin:auto\">", esc(&t.scenario_name));
    let _ = writeln!(
        s,
        "<h1>Why Kafka moved from ZooKeeper to KRaft, measured: {}</h1><p>{}</p><pre>{}</pre>",
        esc(&t.scenario_name),
        esc(&t.scenario_description),
        esc(&t.command)
    );
    let first = t.faults.first().map(|(_, f)| f.clone()).unwrap_or_default();
    let last = t.faults.last().map(|(_, f)| f.clone()).unwrap_or_default();
    s.push_str(&chart(t, &format!("Takeover after {first}"), &|c| {
        c.summary.takeover.first()
    }));
    for (i, (_, f)) in t.faults.iter().enumerate() {
        s.push_str(&chart(
            t,
            &format!("Every partition led again after {f}"),
            &|c| c.summary.leaders_back.get(i),
        ));
    }
    s.push_str(&chart(t, "Metadata lag, median per run", &|c| {
        Some(&c.summary.metadata_lag_p50)
    }));
    s.push_str(&chart(t, "No acknowledgement", &|c| {
        Some(&c.summary.unavailable)
    }));
    let _ = writeln!(s, "<p>Orange: ZooKeeper mode; blue: KRaft. Faults: {}, then {}. The README has the tables, the definitions and the replay lines.</p></body></html>", esc(&first), esc(&last));
    s
}
