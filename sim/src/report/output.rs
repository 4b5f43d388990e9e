//! What a run prints: the banner with every parameter that decides the run, the counts, the
//! verdict with the first violation in Kafka's words, and one line that reproduces the run.
//! Also the single JSON object of `--json`.

use ksim_model::Named;
use std::fmt::Write;

use ksim_model::{Acks, Flaw};
use serde_json::json;

use crate::check::{Report, Verdict};
use crate::cluster::ctx::lock;
use crate::cluster::run::RunOutput;
use crate::observer::Observer;
use crate::scenario::parse::{changed_settings, settings, Role};
use crate::scenario::{Coordinator, Scenario};

pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("KSIM_GIT"), ")");

/// Quote a word for a POSIX shell when it needs it.
pub(crate) fn sh(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The one command that replays this run.
/// How to run ksim again the way it was run now: through cargo in a checkout (cargo sets
/// `CARGO` for what it runs), else the binary as it was invoked (`ksim`, or its path).
pub fn ksim_command() -> String {
    if std::env::var_os("CARGO").is_some() {
        return "cargo run --release --".into();
    }
    match std::env::args().next() {
        Some(argv0) if argv0.contains('/') => sh(&argv0),
        _ => "ksim".into(),
    }
}

pub fn reproduce_line(sc: &Scenario, seed: u64) -> String {
    let mut line = format!("{} run {} --seed {seed}", ksim_command(), sh(&sc.origin));
    for (k, v) in &sc.overrides {
        let _ = write!(line, " --set {}", sh(&format!("{k}={v}")));
    }
    line
}

/// Wrap `text` at `width` columns, each line prefixed with `indent`.
fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    for para in text.split("\n\n") {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > width {
                let _ = writeln!(out, "{indent}{line}");
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            let _ = writeln!(out, "{indent}{line}");
        }
    }
    out
}

pub fn banner(sc: &Scenario, seed: u64) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "ksim {VERSION}");
    let _ = writeln!(s, "scenario   {} ({})", sc.name, sc.origin);
    if !sc.fix.is_empty() {
        banner_story(&mut s, sc);
    }
    let _ = writeln!(s, "seed       {seed}");
    banner_settings(&mut s, sc);
    banner_faults(&mut s, sc, seed);
    if sc.selftest.flaw != Flaw::None {
        let _ = writeln!(
            s,
            "selftest   flaw={:?} (a deliberately broken protocol: a violation is expected)",
            sc.selftest.flaw
        );
    }
    if sc.selftest.quorum_flawed() {
        let _ = writeln!(s, "selftest   quorum_flaw={:?} (a deliberately broken controller quorum: a violation is expected)", sc.selftest.quorum_flaw);
    }
    for (k, v) in &sc.overrides {
        let _ = writeln!(s, "override   {k}={v}");
    }
    for i in &sc.ignored {
        let _ = writeln!(s, "ignored    {i}");
    }
    s
}

/// A gallery story's description, and the fix that Kafka shipped for it.
fn banner_story(s: &mut String, sc: &Scenario) {
    s.push_str(&wrap(&sc.description, "  | ", 100));
    let applied = sc
        .fix
        .iter()
        .all(|f| sc.overrides.iter().any(|(k, v)| format!("{k}={v}") == *f));
    let _ = writeln!(
        s,
        "  | fixed in {}; {}",
        if sc.fixed_in.is_empty() {
            "a later Kafka"
        } else {
            &sc.fixed_in
        },
        if applied {
            "this run has the fix on".to_string()
        } else {
            format!(
                "run with --fixed (= --set {}) to see it hold",
                sc.fix.join(" --set ")
            )
        }
    );
}

/// ZooKeeper mode's nodes as the seed cluster's files name them: each server's client port
/// (`myid` N at 2181 + N - 1) and each broker's listener (`broker.id` N at 9092 + N - 1).
fn addresses(sc: &Scenario) -> String {
    let zk: Vec<String> = (1..=sc.zookeepers)
        .map(|z| format!("localhost:{}", 2180 + z))
        .collect();
    let last = crate::cluster::net::PORT as i32 + sc.brokers - 1;
    format!(
        "zookeeper.connect={} (myid 1..{}); brokers at localhost:9092..{last} (broker.id 1..{})",
        zk.join(","),
        sc.zookeepers,
        sc.brokers
    )
}

/// The settings of each section, as the key table shows them, and the topics' partitions.
fn banner_settings(s: &mut String, sc: &Scenario) {
    let line = |section: &str| settings(sc, section).join(" ");
    match sc.coordinator {
        Coordinator::Kraft => {
            let _ = writeln!(s, "cluster    {} (Raft quorum)", line("cluster"));
        }
        Coordinator::ZooKeeper => {
            let _ = writeln!(
                s,
                "cluster    {} (ZooKeeper ensemble; the controller is a broker)",
                line("cluster")
            );
            let _ = writeln!(s, "zookeeper  {}", line("zookeeper"));
            let _ = writeln!(s, "addresses  {}", addresses(sc));
        }
    }
    let _ = writeln!(s, "server     {}", line("server"));
    let _ = writeln!(s, "protocol   {}", protocol_line(sc));
    let _ = writeln!(s, "producer   {}", line("producer"));
    let _ = writeln!(
        s,
        "workload   {} settle_ms={}",
        line("workload"),
        sc.run.settle_ms
    );
    if sc.workload.topics.len() > 1 {
        let n = sc.partitions;
        let topics: Vec<String> = sc
            .workload
            .topics
            .iter()
            .enumerate()
            .map(|(t, name)| {
                let first = t as i32 * n;
                format!("{name} (p{first}..p{})", first + n - 1)
            })
            .collect();
        let _ = writeln!(s, "topics     {}", topics.join(", "));
    }
    if sc.workload.consumers > 0 {
        let _ = writeln!(s, "consumer   (one group) {}", line("consumer"));
    }
}

/// The scripted faults and the random stream's mix (a swarm's as drawn for this seed).
fn banner_faults(s: &mut String, sc: &Scenario, seed: u64) {
    for f in &sc.faults.script {
        let restart = f
            .restart_after_ms
            .map(|r| format!(", restart after {r} ms"))
            .unwrap_or_default()
            + &f.heal_after_ms
                .map(|r| format!(", heal after {r} ms"))
                .unwrap_or_default()
            + &f.parameter()
                .map(|(k, v)| format!(", {k}={v}"))
                .unwrap_or_default();
        let _ = writeln!(
            s,
            "fault      at {} ms: {} {}{restart}",
            f.at_ms,
            f.action.name(),
            f.target
        );
    }
    if let Some(r) = &sc.faults.random {
        let r = r.for_seed(seed, sc.brokers, sc.coordinator);
        let kinds: Vec<&str> = r.kinds.iter().map(|k| k.name()).collect();
        let _ = writeln!(
            s,
            "faults     {} kinds={} interval_ms={}..{} down_ms={}..{} max_down={} aim_percent={} hit_controllers={}{}",
            if r.swarm { "swarm (drawn for this seed):" } else { "random" },
            kinds.join(","),
            r.interval_ms.0,
            r.interval_ms.1,
            r.down_ms.0,
            r.down_ms.1,
            r.max_down,
            r.aim_percent,
            r.controllers,
            if r.swarm && r.wait_for_first_ack {
                " (faults wait for the first acknowledged write)"
            } else {
                ""
            }
        );
    }
}

/// The rules in force: modern, or the historical switches turned back, and the fixes beyond
/// Kafka turned on.
fn protocol_line(sc: &Scenario) -> String {
    let old = changed_settings(sc, Role::History);
    let beyond = changed_settings(sc, Role::Beyond);
    let mut line = if old.is_empty() {
        "modern rules (every fix of Kafka's history on)".to_string()
    } else {
        format!("OLD RULES {}", old.join(" "))
    };
    if !beyond.is_empty() {
        line.push_str(&format!(" + BEYOND KAFKA {}", beyond.join(" ")));
    }
    line
}

/// The verdict line's words: VALID, INVALID with the number of violations, or VACUOUS with why.
pub fn verdict_words(report: &Report) -> String {
    match report.verdict {
        Verdict::Valid => "VALID: the contract held".to_string(),
        Verdict::Invalid => format!("INVALID: {} violation(s)", report.violations.len()),
        Verdict::Vacuous => format!("VACUOUS: {}", report.vacuous.join("; ")),
    }
}

pub fn summary(out: &RunOutput, report: &Report) -> String {
    let obs = lock(&out.ctx.observer);
    let mut s = String::new();
    summary_counts(&mut s, out, report, &obs);
    summary_traffic(&mut s, out, report, &obs);
    summary_checked(&mut s, out, report);
    let verdict = verdict_words(report);
    summary_steps(&mut s, out, report, &obs);
    let sc = &out.ctx.sc;
    let _ = writeln!(s, "verdict    {verdict}");
    if let Some(shown) = &report.story {
        let _ = writeln!(s, "story      shows what it must: {shown}");
    }
    summary_violations(&mut s, report);
    let _ = writeln!(s, "reproduce: {}", reproduce_line(sc, out.seed));
    s
}

/// The first violations, each with its checker and time, and where the rest are.
fn summary_violations(s: &mut String, report: &Report) {
    const SHOWN: usize = 5;
    for (i, v) in report.violations.iter().take(SHOWN).enumerate() {
        let label = if i == 0 { "first" } else { "then" };
        let _ = writeln!(s, "{label:<10} [{}] {}: {}", v.checker, v.when(), v.message);
    }
    if report.violations.len() > SHOWN {
        let _ = writeln!(
            s,
            "           and {} more: every one is in the run report's results.json (or `--json`)",
            report.violations.len() - SHOWN
        );
    }
}

/// The faults injected, and what the run counted: writes, reads, the cluster's events.
fn summary_counts(s: &mut String, out: &RunOutput, report: &Report, obs: &Observer) {
    let sc = &out.ctx.sc;
    let c = &report.counts;
    let _ = writeln!(
        s,
        "faults     {}",
        match obs.faults.len() {
            0 => "none injected".to_string(),
            n => format!("{n} injected:"),
        }
    );
    for (t, f) in &obs.faults {
        let _ = writeln!(s, "  {t:>8} ms  {f}");
    }
    let _ = writeln!(
        s,
        "writes     invoked={} {} failed={} unknown={} lost-but-allowed={} lost-violating={} duplicated={} reordered={}",
        c.invoked, acked_words(sc, c.acked), c.failed, c.unknown, c.lost_allowed, c.lost_violating, c.duplicates, c.reordered
    );
    if sc.workload.consumers > 0 {
        let _ = writeln!(
            s,
            "reads      polled={} redelivered={} (re-reads after a restart or a rebalance: at-least-once)",
            c.polled, c.redelivered
        );
    }
    let _ = writeln!(
        s,
        "cluster    leader changes={} unclean elections={} controller elections={} no active controller for {} ms; crashes={} power losses={} restarts={} partitions={} slow/lossy links={} clock drifts={} metadata stalls={}{} truncations={} flushes={}",
        c.leader_changes, c.unclean_elections, c.controller_elections, c.controller_unavailable_ms, c.injected.crashes, c.injected.power_losses, c.injected.restarts, c.injected.partitions, c.injected.link_faults, c.injected.clock_drifts, c.injected.metadata_stalls,
        match c.injected.session_expiries {
            0 => String::new(),
            n => format!(" session expiries={n}"),
        },
        c.truncations, c.flushes
    );
    let _ = writeln!(
        s,
        "unavail.   {} ms (summed over partitions: stretches of 1 s or more in which a write waited and nothing was committed)",
        c.unavailable_ms
    );
}

/// The true HW, the messages and errors, and the run's time and trace hash.
fn summary_traffic(s: &mut String, out: &RunOutput, report: &Report, obs: &Observer) {
    let c = &report.counts;
    let true_hw: Vec<String> = obs
        .true_hw
        .iter()
        .map(|(p, (e, hw))| format!("p{p}={hw} (leader epoch {e})"))
        .collect();
    let _ = writeln!(s, "true HW    {}", true_hw.join(" "));
    let kinds: Vec<String> = report
        .messages_by_kind
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let _ = writeln!(s, "messages   total={} {}", c.messages, kinds.join(" "));
    let errors: Vec<String> = report
        .errors
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let _ = writeln!(
        s,
        "errors     {}",
        if errors.is_empty() {
            "none".to_string()
        } else {
            errors.join(" ")
        }
    );
    let _ = writeln!(
        s,
        "time       simulated={} ms wall={:.3} s events={} trace={:016x}",
        out.outcome.end_ms,
        out.wall.as_secs_f64(),
        obs.events,
        obs.trace_hash()
    );
}

/// What each checker compared, the losses the configuration allowed, the coverage marks.
fn summary_checked(s: &mut String, out: &RunOutput, report: &Report) {
    let sc = &out.ctx.sc;
    for cov in &report.coverage {
        let _ = writeln!(
            s,
            "checked    {:<22} {} {}",
            cov.checker, cov.compared, cov.unit
        );
    }
    if let Some(first) = report.allowed_losses.first() {
        // acks=0 hears no answer: its writes are sent, never acknowledged, and have no offset.
        let (what, config) = match sc.producer.acks {
            Acks::None => ("sent", "acks=0".to_string()),
            _ => ("acknowledged", config_words(sc)),
        };
        let at = first
            .offset
            .map(|o| format!(", offset {o}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "allowed    {} {what} write(s) lost, as {config} allows; e.g. value {} (partition {}{at}): {}",
            report.allowed_losses.len(),
            first.value,
            first.partition,
            first.reason
        );
    }
    let marks: Vec<String> = report
        .marks
        .iter()
        .map(|(m, n)| format!("{m}={n}"))
        .collect();
    let _ = writeln!(
        s,
        "marks      {}",
        if marks.is_empty() {
            "none".to_string()
        } else {
            marks.join(" ")
        }
    );
}

/// The story: every significant step for a gallery story; for another failing run, the
/// steps that led to the first violation.
fn summary_steps(s: &mut String, out: &RunOutput, report: &Report, obs: &Observer) {
    let sc = &out.ctx.sc;
    let first_bad = report.violations.first().map(|v| v.time_ms);
    let steps: Vec<&(u64, String)> = if !sc.fix.is_empty() {
        obs.steps.iter().collect()
    } else if let Some(t) = first_bad {
        let upto: Vec<&(u64, String)> = obs.steps.iter().filter(|(at, _)| *at <= t).collect();
        upto[upto.len().saturating_sub(15)..].to_vec()
    } else {
        Vec::new()
    };
    if !steps.is_empty() {
        let _ = writeln!(s, "steps      (simulated ms)");
        const MAX: usize = 60;
        for (t, what) in steps.iter().take(MAX) {
            let _ = writeln!(s, "  {t:>8}  {what}");
        }
        if steps.len() > MAX {
            let _ = writeln!(s, "  ... {} more steps", steps.len() - MAX);
        }
    }
}

/// `ksim explain`: the run as a KIP tells it. At each significant step (fault, election, ISR
/// change, fencing, a truncation below the committed offset, a new leader, a violation) the
/// sentence of what happened and a table of every replica's log, LEO, HW and role with the
/// controllers' view. Cut to the steps that matter to the finding: the last 30 before the
/// first violation, through the violations that follow within 20 steps; a run without one
/// shows its last 30 steps.
pub fn explain(out: &RunOutput, report: &Report) -> String {
    let obs = lock(&out.ctx.observer);
    let mut s = String::new();
    let n = obs.steps.len();
    let first_bad = obs
        .steps
        .iter()
        .position(|(_, what)| what.starts_with("VIOLATION"));
    // Up to the last violation within 20 steps of the first, and one step after it.
    let last_bad = obs
        .steps
        .iter()
        .enumerate()
        .rev()
        .find(|(j, (_, what))| {
            what.starts_with("VIOLATION") && first_bad.is_some_and(|i| *j <= i + 20)
        })
        .map(|(j, _)| j);
    let (from, to) = match (first_bad, last_bad) {
        (Some(i), Some(k)) => (i.saturating_sub(30), (k + 2).min(n)),
        _ => (n.saturating_sub(30), n),
    };
    if from > 0 {
        let _ = writeln!(
            s,
            "({from} earlier steps omitted; `ksim run` lists them all)\n"
        );
    }
    for i in from..to {
        let (t, what) = &obs.steps[i];
        let mark = if Some(i) == first_bad { ">>" } else { "  " };
        let _ = writeln!(s, "{mark}{t:>8} ms  {what}");
        if let Some(table) = obs.tables.get(i) {
            s.push_str(table);
        }
        s.push('\n');
    }
    if to < n {
        let _ = writeln!(s, "({} later steps omitted)", n - to);
    }
    let verdict = match report.verdict {
        Verdict::Valid => "VALID: the contract held".to_string(),
        Verdict::Invalid => format!(
            "INVALID: {} violation(s); the first is marked >>",
            report.violations.len()
        ),
        Verdict::Vacuous => format!("VACUOUS: {}", report.vacuous.join("; ")),
    };
    let _ = writeln!(s, "verdict    {verdict}");
    let _ = writeln!(s, "reproduce: {}", reproduce_line(&out.ctx.sc, out.seed));
    s
}

/// The writes the producer counts as done: acknowledged, or with acks=0 only sent (it waits for
/// no answer, so nothing is acknowledged).
fn acked_words(sc: &Scenario, acked: u64) -> String {
    match sc.producer.acks {
        Acks::None => format!("sent={acked} (acks=0: none acknowledged)"),
        _ => format!("acked={acked}"),
    }
}

fn config_words(sc: &Scenario) -> String {
    format!(
        "acks={} with min.insync.replicas={}",
        sc.producer.acks.name(),
        sc.broker.min_insync_replicas
    )
}

pub fn json(out: &RunOutput, report: &Report, determinism: Option<bool>) -> serde_json::Value {
    let sc = &out.ctx.sc;
    let obs = lock(&out.ctx.observer);
    json!({
        "seed": out.seed,
        "scenario": sc.name,
        "origin": sc.origin,
        "version": VERSION,
        "verdict": report.verdict,
        "exit_code": report.verdict.exit_code(),
        "trace_hash": format!("{:016x}", obs.trace_hash()),
        "determinism_checked": determinism,
        "counts": report.counts,
        "errors": report.errors,
        "coverage": report.coverage,
        "violations": report.violations,
        "allowed_losses": report.allowed_losses.len(),
        "allowed_loss_reasons": report.allowed_losses.iter().take(10).collect::<Vec<_>>(),
        "vacuous": report.vacuous,
        "marks": report.marks,
        "story": report.story,
        "true_hw": obs.true_hw.iter().map(|(p, (e, hw))| json!({"partition": p, "leader_epoch": e, "hw": hw})).collect::<Vec<_>>(),
        "simulated_ms": out.outcome.end_ms,
        "wall_s": out.wall.as_secs_f64(),
        "overrides": sc.overrides,
        "reproduce": reproduce_line(sc, out.seed),
        "config": crate::report::export::config(sc, out.seed),
    })
}
