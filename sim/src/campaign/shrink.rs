//! `ksim shrink`: a failing seed becomes a short scripted story. The run's faults (random or
//! scripted, each resolved to one node when it fired) are replayed as `[[faults.script]]`
//! without the fault stream; then faults are removed one at a time while the run still fails
//! with the same checker, to a fixpoint (a 1-minimal schedule, as delta debugging), their
//! restart and heal delays and the workload are shortened, and the result is written as a
//! scenario file that carries its seed (`[run] seed`), so `ksim run FILE` replays it and a
//! test can keep it as a regression.

use ksim_model::Named;
use std::fmt::Write;

use crate::check::{check, Verdict};
use crate::cluster::run::run;
use crate::scenario::{Scenario, ScriptedFault};

/// A shrunk failure.
pub struct Shrunk {
    pub scenario: Scenario,
    pub seed: u64,
    /// The checker whose violation the shrunk scenario keeps.
    pub checker: &'static str,
    /// The first violation of the shrunk run.
    pub message: String,
    /// Faults injected by the original run, and left after shrinking.
    pub faults_before: usize,
    pub faults_after: usize,
    /// Simulation runs spent.
    pub runs: u64,
}

/// Shrink seed `seed` of `sc`; `progress` hears each step. Fails when the seed does not fail,
/// or when its faults replayed as a script no longer make it fail.
pub fn shrink(sc: &Scenario, seed: u64, mut progress: impl FnMut(&str)) -> Result<Shrunk, String> {
    let out = run(seed, sc);
    let report = check(&out);
    if report.verdict != Verdict::Invalid {
        return Err(format!(
            "seed {seed} of {} does not fail (verdict {:?}): nothing to shrink",
            sc.name, report.verdict
        ));
    }
    let checker = report.violations[0].checker;
    let faults_before = out.outcome.injected.len();
    progress(&format!(
        "seed {seed} fails with {checker} after {faults_before} faults; replaying them as a script"
    ));
    let mut runs = 1u64;
    let mut fails = |cand: &Scenario| -> bool {
        runs += 1;
        let out = run(seed, cand);
        out.panic.is_none() && check(&out).violations.iter().any(|v| v.checker == checker)
            || (checker == "panic" && out.panic.is_some())
    };
    let mut best = sc.clone();
    best.faults.random = None;
    best.faults.script = out.outcome.injected.clone();
    best.run.seed = Some(seed);
    best.overrides.clear();
    if !fails(&best) {
        return Err(format!(
            "seed {seed}'s {faults_before} faults, replayed as a script, no longer trip {checker}: \
             the failure depends on the fault stream itself"
        ));
    }
    // 1. Drop faults one at a time until none can go.
    loop {
        let mut changed = false;
        let mut i = best.faults.script.len();
        while i > 0 {
            i -= 1;
            let mut cand = best.clone();
            cand.faults.script.remove(i);
            if fails(&cand) {
                progress(&format!(
                    "dropped fault {}; {} left",
                    describe(&best.faults.script[i]),
                    cand.faults.script.len()
                ));
                best = cand;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // 2. Halve each restart / heal delay while it still fails.
    for i in 0..best.faults.script.len() {
        for heal in [false, true] {
            loop {
                let f = &best.faults.script[i];
                let delay = if heal {
                    f.heal_after_ms
                } else {
                    f.restart_after_ms
                };
                let Some(d) = delay.filter(|d| *d >= 200) else {
                    break;
                };
                let mut cand = best.clone();
                let g = &mut cand.faults.script[i];
                if heal {
                    g.heal_after_ms = Some(d / 2);
                } else {
                    g.restart_after_ms = Some(d / 2);
                }
                if !fails(&cand) {
                    break;
                }
                best = cand;
            }
        }
    }
    // 3. Stop the workload as early as still fails (not before the last fault).
    let last = best
        .faults
        .script
        .iter()
        .map(|f| f.at_ms)
        .max()
        .unwrap_or(0);
    loop {
        let d = best.workload.duration_ms;
        let shorter = ((d + last) / 2).max(last + 1000);
        if shorter + 500 >= d {
            break;
        }
        let mut cand = best.clone();
        cand.workload.duration_ms = shorter;
        if !fails(&cand) {
            break;
        }
        best = cand;
    }
    let out = run(seed, &best);
    runs += 1;
    let report = check(&out);
    let message = report
        .violations
        .iter()
        .find(|v| v.checker == checker)
        .map(|v| v.message.clone())
        .ok_or("the shrunk scenario no longer fails: shrinking is not deterministic")?;
    progress(&format!(
        "done: {} fault(s) left of {faults_before}, workload {} ms, {runs} runs",
        best.faults.script.len(),
        best.workload.duration_ms
    ));
    Ok(Shrunk {
        faults_after: best.faults.script.len(),
        scenario: best,
        seed,
        checker,
        message,
        faults_before,
        runs,
    })
}

fn describe(f: &ScriptedFault) -> String {
    format!("{} {} at {} ms", f.action.name(), f.target, f.at_ms)
}

fn toml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The scenario as a file `parse` reads back to the same run: every key that decides it.
pub fn to_toml(sc: &Scenario) -> String {
    let b = &sc.broker;
    let p = &b.protocol;
    let mut s = String::new();
    let _ = writeln!(s, "name = {}", toml_str(&sc.name));
    let _ = writeln!(s, "description = {}", toml_str(&sc.description));
    let _ = writeln!(
        s,
        "\n[cluster]\nbrokers = {}\ncontrollers = {}",
        sc.brokers, sc.controllers
    );
    let _ = writeln!(s, "\n[server]");
    let _ = writeln!(s, "num.partitions = {}", sc.partitions);
    let _ = writeln!(s, "default.replication.factor = {}", sc.replication_factor);
    let _ = writeln!(s, "min.insync.replicas = {}", b.min_insync_replicas);
    let _ = writeln!(
        s,
        "unclean.leader.election.enable = {}",
        b.unclean_leader_election_enable
    );
    let _ = writeln!(s, "replica.lag.time.max.ms = {}", b.replica_lag_time_max_ms);
    if let Some(n) = b.log_flush_interval_messages {
        let _ = writeln!(s, "log.flush.interval.messages = {n}");
    }
    if let Some(n) = b.log_flush_interval_ms {
        let _ = writeln!(s, "log.flush.interval.ms = {n}");
    }
    let _ = writeln!(
        s,
        "replica.high.watermark.checkpoint.interval.ms = {}",
        b.replica_high_watermark_checkpoint_interval_ms
    );
    let _ = writeln!(
        s,
        "broker.heartbeat.interval.ms = {}",
        b.broker_heartbeat_interval_ms
    );
    let _ = writeln!(
        s,
        "broker.session.timeout.ms = {}",
        b.broker_session_timeout_ms
    );
    let _ = writeln!(
        s,
        "replica.fetch.wait.max.ms = {}",
        b.replica_fetch_wait_max_ms
    );
    let _ = writeln!(
        s,
        "replica.fetch.backoff.ms = {}",
        b.replica_fetch_backoff_ms
    );
    let _ = writeln!(
        s,
        "controller.quorum.election.timeout.ms = {}",
        b.controller_quorum_election_timeout_ms
    );
    let _ = writeln!(s, "\n[protocol]");
    let _ = writeln!(s, "truncation = {}", toml_str(p.truncation.name()));
    let _ = writeln!(s, "fetch_epoch_fencing = {}", p.fetch_epoch_fencing);
    let _ = writeln!(
        s,
        "hw_requires_current_epoch = {}",
        p.hw_requires_current_epoch
    );
    let _ = writeln!(
        s,
        "isr_expand_requires_epoch_start = {}",
        p.isr_expand_requires_epoch_start
    );
    let _ = writeln!(s, "hw_over_maximal_isr = {}", p.hw_over_maximal_isr);
    let _ = writeln!(s, "strict_min_isr = {}", p.strict_min_isr);
    let _ = writeln!(
        s,
        "isr_add_checks_broker_epoch = {}",
        p.isr_add_checks_broker_epoch
    );
    if p.refusal_bumps_partition_epoch {
        let _ = writeln!(s, "refusal_bumps_partition_epoch = true");
    }
    let _ = writeln!(s, "\n[producer]");
    let _ = writeln!(s, "acks = {}", toml_str(sc.producer.acks.name()));
    let _ = writeln!(s, "request.timeout.ms = {}", sc.producer.request_timeout_ms);
    let _ = writeln!(
        s,
        "max.in.flight.requests.per.connection = {}",
        sc.producer.max_in_flight
    );
    let pc = &sc.producer;
    let _ = writeln!(
        s,
        "retries = {}\nretry.backoff.ms = {}\ndelivery.timeout.ms = {}\nenable.idempotence = {}\nbatch.size = {}\nlinger.ms = {}\npartitioner.class = {}",
        pc.retries,
        pc.retry_backoff_ms,
        pc.delivery_timeout_ms,
        pc.enable_idempotence,
        pc.batch_size,
        pc.linger_ms,
        toml_str(pc.partitioner.name())
    );
    let c = &sc.consumer;
    let _ = writeln!(
        s,
        "\n[consumer]\nsession.timeout.ms = {}\nheartbeat.interval.ms = {}\nenable.auto.commit = {}\nauto.commit.interval.ms = {}\nauto.offset.reset = {}\npartition.assignment.strategy = {}",
        c.session_timeout_ms,
        c.heartbeat_interval_ms,
        c.enable_auto_commit,
        c.auto_commit_interval_ms,
        toml_str(c.auto_offset_reset()),
        toml_str(c.assignor.name())
    );
    let w = &sc.workload;
    let _ = writeln!(
        s,
        "\n[workload]\nproducers = {}\nconsumers = {}\nkeys = {}\ntopics = [{}]\nrate_per_sec = {}\nduration_ms = {}\nvalue_bytes = {}",
        w.producers,
        w.consumers,
        w.keys,
        w.topics
            .iter()
            .map(|t| toml_str(t))
            .collect::<Vec<_>>()
            .join(", "),
        w.rate_per_sec,
        w.duration_ms,
        w.value_bytes
    );
    let _ = writeln!(s, "\n[run]\nsettle_ms = {}", sc.run.settle_ms);
    if let Some(seed) = sc.run.seed {
        let _ = writeln!(s, "seed = {seed}");
    }
    if b.flaw != Default::default() || sc.quorum_flaw != Default::default() {
        let _ = writeln!(
            s,
            "\n[selftest]\nflaw = {}\nquorum_flaw = {}",
            toml_str(b.flaw.name()),
            toml_str(sc.quorum_flaw.name())
        );
    }
    for f in &sc.faults.script {
        let _ = writeln!(s, "\n[[faults.script]]");
        let _ = writeln!(s, "at_ms = {}", f.at_ms);
        let _ = writeln!(s, "action = {}", toml_str(f.action.name()));
        let _ = writeln!(s, "target = {}", toml_str(&f.target.to_string()));
        if let Some(d) = f.restart_after_ms {
            let _ = writeln!(s, "restart_after_ms = {d}");
        }
        if let Some(d) = f.heal_after_ms {
            let _ = writeln!(s, "heal_after_ms = {d}");
        }
        if let Some((key, value)) = f.parameter() {
            let _ = writeln!(s, "{key} = {value}");
        }
    }
    s
}
