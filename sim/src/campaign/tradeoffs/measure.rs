//! One cell of the grid measured: each seed run and reduced to its figures, and the
//! figures of a cell summarized with their confidence intervals.

use super::*;

/// Nearest-rank percentile of sorted values (0 when empty).
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Simulated time within the workload during which nothing was acknowledged for longer than
/// `UNAVAILABLE_GAP_MS`: every such stretch between two acknowledgements (or from the last
/// one to the end of the workload) counts in full. The stretch before the first
/// acknowledgement (the cluster starting) does not count; a run that acknowledged nothing
/// within the workload was unavailable for all of it.
pub fn unavailable_ms(ok_times: &[u64], workload_ms: u64) -> u64 {
    let inside: Vec<u64> = ok_times
        .iter()
        .copied()
        .filter(|t| *t <= workload_ms)
        .collect();
    let Some(&first) = inside.first() else {
        return workload_ms;
    };
    let mut total = 0;
    let mut prev = first;
    for t in inside[1..].iter().copied().chain([workload_ms]) {
        let gap = t.saturating_sub(prev);
        if gap > UNAVAILABLE_GAP_MS {
            total += gap;
        }
        prev = t;
    }
    total
}

pub(crate) fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "valid",
        Verdict::Invalid => "invalid",
        Verdict::Vacuous => "vacuous",
    }
}

/// One run's numbers, and its produce latencies (sorted) for the cell's pooled percentiles.
pub fn measure(out: &RunOutput, report: &Report) -> (SeedResult, Vec<u64>) {
    let obs = lock(&out.ctx.observer);
    let mut invoked_at: BTreeMap<u64, u64> = BTreeMap::new();
    let mut latencies = Vec::new();
    let mut ok_times = Vec::new();
    for op in &obs.history {
        match op.kind {
            OpType::Invoke => {
                invoked_at.insert(op.value, op.time_ms);
            }
            OpType::Ok => {
                if let Some(t0) = invoked_at.get(&op.value) {
                    latencies.push(op.time_ms.saturating_sub(*t0));
                }
                ok_times.push(op.time_ms);
            }
            OpType::Fail | OpType::Info => {}
        }
    }
    latencies.sort_unstable();
    ok_times.sort_unstable();
    let mut violated: Vec<String> = report
        .violations
        .iter()
        .map(|v| v.checker.to_string())
        .collect();
    violated.sort();
    violated.dedup();
    let c = &report.counts;
    let result = SeedResult {
        seed: out.seed,
        verdict: verdict_name(report.verdict).into(),
        violated,
        acked: c.acked,
        failed: c.failed,
        unknown: c.unknown,
        lost_allowed: c.lost_allowed,
        lost_violating: c.lost_violating,
        unclean_elections: c.unclean_elections,
        unavailable_ms: unavailable_ms(&ok_times, out.ctx.sc.workload.duration_ms),
        latency_p50_ms: percentile(&latencies, 50.0),
        latency_p99_ms: percentile(&latencies, 99.0),
        latency_max_ms: latencies.last().copied().unwrap_or(0),
        trace_hash: format!("{:016x}", obs.trace_hash()),
    };
    (result, latencies)
}

/// Produce latencies as (ms, how many writes), so a cell's pool stays small however many
/// seeds it runs.
pub type Histogram = BTreeMap<u64, u64>;

/// Nearest-rank percentile of a histogram (0 when empty).
pub fn percentile_of(hist: &Histogram, p: f64) -> u64 {
    let total: u64 = hist.values().sum();
    if total == 0 {
        return 0;
    }
    let rank = (((p / 100.0) * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (ms, count) in hist {
        seen += count;
        if seen >= rank {
            return *ms;
        }
    }
    unreachable!("rank {rank} is at most the total {total}")
}

/// What a run left for its cell besides its latencies: its numbers and its first violation.
pub type Measured = (SeedResult, Option<Finding>);

pub(super) fn run_and_measure(sc: &Scenario, seed: u64) -> (Measured, Vec<u64>) {
    let out = run(seed, sc);
    let report = check(&out);
    let (result, latencies) = measure(&out, &report);
    let finding = report.violations.first().map(|v| Finding {
        seed,
        checker: v.checker.to_string(),
        message: v.message.chars().take(400).collect(),
        reproduce: reproduce_line(sc, seed),
    });
    ((result, finding), latencies)
}

/// Run `seeds` of every scenario on `jobs` worker threads. Results come back in task order
/// (scenario, then seed), whatever order they finished in, each scenario's with the histogram
/// of its runs' produce latencies (a sum, so the order of merging does not matter).
pub fn run_tasks(
    scenarios: &[&Scenario],
    seeds: &[u64],
    jobs: usize,
) -> Vec<(Vec<Measured>, Histogram)> {
    let tasks: Vec<(usize, u64)> = (0..scenarios.len())
        .flat_map(|c| seeds.iter().map(move |s| (c, *s)))
        .collect();
    let slots: Vec<Mutex<Option<Measured>>> = tasks.iter().map(|_| Mutex::new(None)).collect();
    let histograms: Vec<Mutex<Histogram>> = scenarios.iter().map(|_| Mutex::default()).collect();
    let next = AtomicUsize::new(0);
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(tasks.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} runs")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(tasks.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(c, seed)) = tasks.get(i) else {
                    return;
                };
                let (measured, latencies) = run_and_measure(scenarios[c], seed);
                let mut hist = lock(&histograms[c]);
                for ms in latencies {
                    *hist.entry(ms).or_insert(0) += 1;
                }
                drop(hist);
                *lock(&slots[i]) = Some(measured);
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    let mut out: Vec<(Vec<Measured>, Histogram)> = histograms
        .into_iter()
        .map(|h| {
            (
                Vec::new(),
                h.into_inner().unwrap_or_else(|e| e.into_inner()),
            )
        })
        .collect();
    for ((c, _), slot) in tasks.iter().zip(slots) {
        let measured = slot
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .expect("every task ran");
        out[*c].0.push(measured);
    }
    out
}

// ------------------------------------------------------------------------------- statistics

/// The 95% Wilson score interval of a proportion k/n.
pub fn wilson(k: u64, n: u64) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    let (k_f, n_f) = (k as f64, n as f64);
    let p = k_f / n_f;
    let z2 = Z_95 * Z_95;
    let denom = 1.0 + z2 / n_f;
    let center = (p + z2 / (2.0 * n_f)) / denom;
    let half = Z_95 * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    let lo = if k == 0 {
        0.0
    } else {
        (center - half).max(0.0)
    };
    let hi = if k == n {
        1.0
    } else {
        (center + half).min(1.0)
    };
    [lo, hi]
}

/// The 95% percentile-bootstrap interval of the mean: `BOOTSTRAP_RESAMPLES` resamples with
/// replacement, drawn from ChaCha8 seeded with `BOOTSTRAP_SEED`.
pub fn bootstrap_mean(xs: &[u64]) -> [f64; 2] {
    if xs.is_empty() {
        return [0.0, 0.0];
    }
    let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
    let n = xs.len() as u64;
    let mut means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            let sum: u64 = (0..n).map(|_| xs[rng.gen_range(0..n) as usize]).sum();
            sum as f64 / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let r = BOOTSTRAP_RESAMPLES as f64;
    let lo = (0.025 * r).floor() as usize;
    let hi = ((0.975 * r).ceil() as usize).saturating_sub(1);
    [means[lo], means[hi.min(means.len() - 1)]]
}

/// A cell's numbers from its runs (in seed order) and its pooled latency.
pub fn summarize(
    runs: &[SeedResult],
    latency: Latency,
    findings: Vec<Finding>,
    workload_ms: u64,
) -> Summary {
    let n = runs.len() as u64;
    let per_run = |f: fn(&SeedResult) -> u64| runs.iter().map(f).collect::<Vec<u64>>();
    let mean = |xs: &[u64]| {
        if xs.is_empty() {
            0.0
        } else {
            xs.iter().sum::<u64>() as f64 / xs.len() as f64
        }
    };
    let lost = per_run(SeedResult::lost);
    let runs_with_loss = lost.iter().filter(|l| **l > 0).count() as u64;
    let mut invalid_by_checker = BTreeMap::new();
    for r in runs.iter().filter(|r| r.verdict == "invalid") {
        for c in &r.violated {
            *invalid_by_checker.entry(c.clone()).or_insert(0) += 1;
        }
    }
    let unavailable = per_run(|r| r.unavailable_ms);
    let unavailable_ms_mean = mean(&unavailable);
    let secs = workload_ms as f64 / 1000.0;
    Summary {
        runs: n,
        runs_with_loss,
        loss_share: if n == 0 {
            0.0
        } else {
            runs_with_loss as f64 / n as f64
        },
        loss_share_ci: wilson(runs_with_loss, n),
        lost_total: lost.iter().sum(),
        lost_allowed: runs.iter().map(|r| r.lost_allowed).sum(),
        lost_violating: runs.iter().map(|r| r.lost_violating).sum(),
        lost_mean: mean(&lost),
        lost_mean_ci: bootstrap_mean(&lost),
        lost_max: lost.iter().copied().max().unwrap_or(0),
        invalid_runs: runs.iter().filter(|r| r.verdict == "invalid").count() as u64,
        invalid_by_checker,
        vacuous_runs: runs.iter().filter(|r| r.verdict == "vacuous").count() as u64,
        unclean_elections: runs.iter().map(|r| r.unclean_elections).sum(),
        unavailable_ms_mean,
        unavailable_ms_max: unavailable.iter().copied().max().unwrap_or(0),
        unavailable_share: if workload_ms == 0 {
            0.0
        } else {
            unavailable_ms_mean / workload_ms as f64
        },
        latency,
        acked_per_sec: if secs > 0.0 {
            mean(&per_run(|r| r.acked)) / secs
        } else {
            0.0
        },
        findings,
    }
}

/// Invalid runs kept per cell with their reproduce line.
pub(super) const FINDINGS_KEPT: usize = 5;

pub(super) fn cell_from(
    config: CellConfig,
    (measured, latencies): (Vec<Measured>, Histogram),
    workload_ms: u64,
) -> Cell {
    let mut runs = Vec::new();
    let mut findings = Vec::new();
    for (result, finding) in measured {
        if findings.len() < FINDINGS_KEPT {
            findings.extend(finding);
        }
        runs.push(result);
    }
    let latency = Latency {
        p50_ms: percentile_of(&latencies, 50.0),
        p99_ms: percentile_of(&latencies, 99.0),
        max_ms: latencies.keys().next_back().copied().unwrap_or(0),
    };
    let summary = summarize(&runs, latency, findings, workload_ms);
    Cell {
        config,
        summary,
        runs,
    }
}

/// Run one planned cell over `seeds` (the test regenerates subsets with this).
pub fn run_cell(cell: &Planned, seeds: &[u64], jobs: usize) -> Cell {
    let measured = run_tasks(&[&cell.scenario], seeds, jobs)
        .pop()
        .expect("one cell");
    cell_from(
        cell.config.clone(),
        measured,
        cell.scenario.workload.duration_ms,
    )
}
