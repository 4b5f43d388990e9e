//! Each server's own clock. madsim has one simulated clock for the whole run; a `clock-drift`
//! fault makes one node's clock run faster or slower than it, from the moment of the fault,
//! without a jump. Brokers and controllers read their time here (it is what their timeouts,
//! heartbeat intervals and session expiries are measured with), while the observer, the
//! faults and the trace keep the run's time: a finding is told on one time line.

use std::collections::BTreeMap;

use ksim_model::NodeId;

/// Every drifted clock of a run; a node not listed runs at the run's time.
#[derive(Debug, Default)]
pub struct Clocks {
    drifted: BTreeMap<NodeId, Drift>,
}

/// A clock that read `local_ms` at run time `since_ms`, and runs at `percent` since.
#[derive(Clone, Copy, Debug)]
struct Drift {
    since_ms: u64,
    local_ms: u64,
    percent: u32,
}

impl Clocks {
    /// `node`'s clock at run time `now_ms`.
    pub fn local_ms(&self, node: NodeId, now_ms: u64) -> u64 {
        match self.drifted.get(&node) {
            None => now_ms,
            Some(d) => d.local_ms + now_ms.saturating_sub(d.since_ms) * u64::from(d.percent) / 100,
        }
    }

    /// How fast `node`'s clock runs, in percent of the run's time.
    pub fn percent(&self, node: NodeId) -> u32 {
        self.drifted.get(&node).map_or(100, |d| d.percent)
    }

    /// From run time `now_ms` on, `node`'s clock runs at `percent`; it keeps what it has
    /// gained or lost so far (a clock that drifted is not set back when it is healed).
    pub fn set_rate(&mut self, node: NodeId, now_ms: u64, percent: u32) {
        let local_ms = self.local_ms(node, now_ms);
        self.drifted.insert(
            node,
            Drift {
                since_ms: now_ms,
                local_ms,
                percent: percent.max(1),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drifted_clock_runs_at_its_rate_without_jumps_and_keeps_its_offset_when_healed() {
        let mut c = Clocks::default();
        let b = NodeId::Broker(1);
        assert_eq!(c.local_ms(b, 1_000), 1_000);
        c.set_rate(b, 1_000, 200);
        assert_eq!(c.local_ms(b, 1_000), 1_000);
        assert_eq!(c.local_ms(b, 2_000), 3_000);
        c.set_rate(b, 2_000, 100);
        assert_eq!(c.local_ms(b, 2_000), 3_000);
        assert_eq!(c.local_ms(b, 5_000), 6_000);
        c.set_rate(b, 5_000, 50);
        assert_eq!(c.local_ms(b, 7_000), 7_000);
        assert_eq!(c.percent(b), 50);
        assert_eq!(c.local_ms(NodeId::Broker(2), 7_000), 7_000);
    }
}
