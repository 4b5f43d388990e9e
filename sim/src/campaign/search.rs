//! `ksim bench --search`: how fast an unscripted search finds each historical rule. For
//! every switch, `campaigns` campaigns of the random swarm from fresh seed ranges (never the
//! project's test seeds), each run until the first seed that the old rule fails and the
//! modern rules pass at the same seed; the table gives seeds and seconds per campaign and
//! their medians. Wall times depend on the machine; compare them within one run.

use std::fmt::Write as _;
use std::time::Duration;

use super::sweep::first::{first_finding, First};
use super::sweep::guided::guided_first;
use crate::scenario::parse::{apply_set, load, validate, InputError};
use crate::scenario::Scenario;

/// Each historical switch: its label, the scenario it is searched in, and its settings (the
/// ZooKeeper era's own need `coordinator=zookeeper`, set for both sides).
pub const SWITCHES: &[(&str, &str, &[&str])] = &[
    ("preset=kafka-0.8", "default", &["preset=kafka-0.8"]),
    (
        "truncation=high-watermark",
        "default",
        &["truncation=high-watermark"],
    ),
    (
        "hw_over_maximal_isr=false",
        "default",
        &["hw_over_maximal_isr=false"],
    ),
    ("strict_min_isr=false", "default", &["strict_min_isr=false"]),
    ("truncation=kip-101", "default", &["truncation=kip-101"]),
    (
        "isr_expand_requires_epoch_start=false",
        "long-faults",
        &["isr_expand_requires_epoch_start=false"],
    ),
    (
        "fetch_epoch_fencing=false",
        "long-faults",
        &["fetch_epoch_fencing=false"],
    ),
    (
        "hw_requires_current_epoch=false",
        "long-faults",
        &["hw_requires_current_epoch=false"],
    ),
    (
        "isr_add_checks_broker_epoch=false",
        "long-faults",
        &["isr_add_checks_broker_epoch=false"],
    ),
    (
        "broker_epoch_fencing=false (ZooKeeper)",
        "default",
        &["coordinator=zookeeper", "broker_epoch_fencing=false"],
    ),
    (
        "controller_epoch_fencing=false (ZooKeeper)",
        "default",
        &["coordinator=zookeeper", "controller_epoch_fencing=false"],
    ),
    (
        "conditional_isr_update=false (ZooKeeper)",
        "default",
        &["coordinator=zookeeper", "conditional_isr_update=false"],
    ),
];

/// What the benchmark was asked for.
#[derive(Clone, Debug)]
pub struct Options {
    pub campaigns: u64,
    pub budget: Duration,
    pub jobs: usize,
    /// Only the switches whose label contains this.
    pub only: Option<String>,
    /// Guided campaigns (`guided.rs`, two runs at a time) instead of the random swarm.
    pub guided: bool,
}

/// A campaign's seed range starts here times its number: far from every seed the project's
/// tests and stories use.
const RANGE_STRIDE: u64 = 10_000_000;

/// The scenario with the swarm on and `sets` applied; `old` adds the switch's own last.
fn scenario(name: &str, sets: &[&str], old: bool) -> Result<Scenario, InputError> {
    let mut sc = load(name)?;
    apply_set(&mut sc, "faults.random.swarm=true")?;
    let (context, switch) = sets.split_at(sets.len() - 1);
    for s in context.iter().chain(if old { switch } else { &[] }) {
        apply_set(&mut sc, s)?;
    }
    validate(&sc, "--search")?;
    Ok(sc)
}

/// Run every campaign of every switch and hand the table to `emit`, a row as each switch is
/// done (a full table takes many minutes).
pub fn report(opts: &Options, mut emit: impl FnMut(&str)) -> Result<(), InputError> {
    let only = opts.only.as_deref().unwrap_or("");
    let chosen: Vec<_> = SWITCHES.iter().filter(|(l, ..)| l.contains(only)).collect();
    if chosen.is_empty() {
        let labels: Vec<&str> = SWITCHES.iter().map(|(l, ..)| *l).collect();
        return Err(InputError {
            file: "--only".into(),
            line: None,
            column: None,
            key: Some("only".into()),
            message: format!(
                "no switch's label contains {only:?}; the switches: {}",
                labels.join(", ")
            ),
        });
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "search     {}, {} campaign(s) per switch from seeds {}·k, jobs {}, budget {} s each; a finding counts when the modern rules pass the same seed",
        if opts.guided { "guided by coverage marks" } else { "random swarm" },
        opts.campaigns,
        RANGE_STRIDE,
        opts.jobs,
        opts.budget.as_secs()
    );
    let _ = writeln!(s, "| switch | scenario | seeds to the first finding, per campaign | median seeds | median s |");
    let _ = write!(s, "|---|---|---|---|---|");
    emit(&s);
    let mut found = Vec::new();
    for (label, name, sets) in chosen {
        let (old, modern) = (scenario(name, sets, true)?, scenario(name, sets, false)?);
        let runs: Vec<First> = (1..=opts.campaigns)
            .map(|k| match opts.guided {
                true => guided_first(&old, Some(&modern), k * RANGE_STRIDE, opts.budget),
                false => first_finding(&old, &modern, k * RANGE_STRIDE, opts.jobs, opts.budget),
            })
            .collect();
        emit(&row(label, name, &runs));
        for (k, r) in runs.iter().enumerate() {
            found.extend(replay_line(label, k + 1, r));
        }
    }
    // After the table, so that it stays one piece: each finding and how to replay it.
    for line in found {
        emit(&line);
    }
    Ok(())
}

/// Where a guided finding's scenario is written.
const FOUND_DIR: &str = "reports/search";

/// A campaign's finding, `seed S (kind)`, and the command that replays it without the search
/// (a guided finding's scenario is written under `reports/search/` first).
fn replay_line(label: &str, k: usize, r: &First) -> Option<String> {
    let (seed, kind) = r.found.as_ref()?;
    let reproduce = match (&r.reproduce, &r.script) {
        (Some(line), _) => line.clone(),
        (None, Some(sc)) => {
            let slug: String = label
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let path = format!("{FOUND_DIR}/{slug}-campaign-{k}.toml");
            super::hunt::write_found(sc, std::path::Path::new(&path), *seed)
        }
        (None, None) => "(no replay recorded)".into(),
    };
    Some(format!(
        "`{label}` campaign {k}: seed {seed} ({kind})\n  reproduce: {reproduce}"
    ))
}

/// One switch's row: each campaign as `seeds (s, finding)` or `none in N (> s)`, and the
/// medians, a campaign without a finding counting as above every one with.
fn row(label: &str, name: &str, runs: &[First]) -> String {
    let cells: Vec<String> = runs
        .iter()
        .map(|r| match &r.found {
            Some((_, kind)) => format!("{} ({:.1} s, {kind})", r.seeds, r.secs),
            None => format!("none in {} (> {:.0} s)", r.seeds, r.secs),
        })
        .collect();
    let median_seeds = median(runs, |r| r.seeds as f64).map_or("-".into(), |(v, found)| {
        format!("{}{v:.0}", if found { "" } else { "> " })
    });
    let median_secs = median(runs, |r| r.secs).map_or("-".into(), |(v, found)| {
        format!("{}{v:.1}", if found { "" } else { "> " })
    });
    format!(
        "| `{label}` | {name} | {} | {median_seeds} | {median_secs} |",
        cells.join("; ")
    )
}

/// The median campaign by `of`, a campaign without a finding above every one with; and
/// whether that median campaign found something.
fn median(runs: &[First], of: impl Fn(&First) -> f64) -> Option<(f64, bool)> {
    let mut sorted: Vec<(bool, f64)> = runs.iter().map(|r| (r.found.is_none(), of(r))).collect();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    sorted.get(sorted.len() / 2).map(|(none, v)| (*v, !*none))
}
