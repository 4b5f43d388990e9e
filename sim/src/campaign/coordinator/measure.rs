//! One run's numbers for the coordinator comparison, read from the observer (what it saw of
//! the controllers and the brokers from outside) and the checker's report.

use serde::{Deserialize, Serialize};

use crate::campaign::tradeoffs::{percentile, unavailable_ms, verdict_name};
use crate::check::Report;
use crate::cluster::ctx::lock;
use crate::cluster::run::RunOutput;
use crate::observer::OpType;

/// What one run gave; every field an integer or a word, so runs compare exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoordRun {
    pub seed: u64,
    pub verdict: String,
    /// The checkers that reported a violation (sorted, each once).
    pub violated: Vec<String>,
    pub acked: u64,
    /// Acknowledged writes lost, allowed or not.
    pub lost: u64,
    pub lost_violating: u64,
    pub duplicates: u64,
    /// Per scripted fault: from the fault to the next controller's takeover, if one took
    /// over before the next fault.
    pub takeover_ms: Vec<Option<u64>>,
    /// Per scripted fault: from the fault until every partition had a leader again (0 when
    /// none lost its leader).
    pub leaders_back_ms: Vec<u64>,
    /// From a leader decision after the first fault to every running replica acting on it.
    pub metadata_lag_p50_ms: u64,
    pub metadata_lag_max_ms: u64,
    /// Decisions the run ended before every running replica acted on.
    pub metadata_unreached: u64,
    /// Time without any acknowledgement while writes waited (stretches of 1 s or more).
    pub unavailable_ms: u64,
    pub trace_hash: String,
}

/// The window of each scripted fault: from its time to the next one's (or the run's end).
fn windows(faults: &[u64], end_ms: u64) -> Vec<(u64, u64)> {
    let ends = faults.iter().skip(1).copied().chain([end_ms]);
    faults.iter().copied().zip(ends).collect()
}

pub fn measure(out: &RunOutput, report: &Report, faults: &[u64]) -> CoordRun {
    let obs = lock(&out.ctx.observer);
    let end = out.outcome.end_ms;
    let windows = windows(faults, end);
    let takeover_ms = windows
        .iter()
        .map(|&(from, to)| {
            let t = obs.controller_activations.iter().find(|t| **t >= from)?;
            (*t < to).then(|| t - from)
        })
        .collect();
    let stretches = obs.leadership.stretches_until(end);
    let leaders_back_ms = windows
        .iter()
        .map(|&(from, to)| {
            let within = stretches.iter().filter(|(s, _)| (from..to).contains(s));
            within.map(|(_, e)| e - from).max().unwrap_or(0)
        })
        .collect();
    let first_fault = faults.first().copied().unwrap_or(0);
    let mut lags: Vec<u64> = obs
        .leadership
        .lags
        .iter()
        .filter(|(at, _)| *at >= first_fault)
        .map(|(_, lag)| *lag)
        .collect();
    lags.sort_unstable();
    let ok_times: Vec<u64> = obs
        .history
        .iter()
        .filter(|op| op.kind == OpType::Ok)
        .map(|op| op.time_ms)
        .collect();
    let mut violated: Vec<String> = report.violations.iter().map(|v| v.checker.into()).collect();
    violated.sort();
    violated.dedup();
    let c = &report.counts;
    CoordRun {
        seed: out.seed,
        verdict: verdict_name(report.verdict).into(),
        violated,
        acked: c.acked,
        lost: c.lost_allowed + c.lost_violating,
        lost_violating: c.lost_violating,
        duplicates: c.duplicates,
        takeover_ms,
        leaders_back_ms,
        metadata_lag_p50_ms: percentile(&lags, 50.0),
        metadata_lag_max_ms: lags.last().copied().unwrap_or(0),
        metadata_unreached: obs.leadership.unreached() as u64,
        unavailable_ms: unavailable_ms(&ok_times, out.ctx.sc.workload.duration_ms),
        trace_hash: format!("{:016x}", obs.trace_hash()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fault_owns_the_time_until_the_next() {
        assert_eq!(windows(&[10, 45], 90), [(10, 45), (45, 90)]);
        assert_eq!(windows(&[], 90), []);
    }
}
