//! Embedded Kafka for tests: run your own producer payloads and your own consumer handler
//! inside a simulated cluster under faults, then assert on what your handler saw.
//!
//! ```no_run
//! use std::sync::{Arc, Mutex};
//! use ksim::embedded::{Delivery, EmbeddedCluster};
//!
//! let seen: Arc<Mutex<Vec<(i32, i64)>>> = Arc::default();
//! let log = seen.clone();
//! let cluster = EmbeddedCluster::scenario("consumer-group-crash")
//!     .unwrap()
//!     .produce_with(|producer, id| format!("order {id} from {producer}").into_bytes())
//!     .consume_with(move |d: &Delivery| log.lock().unwrap().push((d.partition, d.offset)));
//! let run = cluster.run(7);
//! assert!(run.valid(), "{}", run.reproduce);
//! ```
//!
//! The handler runs on the consumer's simulated node as each record is polled, before the
//! consumer moves on, so it sees exactly what the application behind a Kafka consumer would:
//! re-deliveries after a rebalance or a restart included. The run itself is the same as
//! `ksim run` (same seed, same trace); its checkers' report comes back with it.

use std::sync::Arc;

use ksim_model::{Offset, PartitionId};

use crate::check::{check, Report, Verdict};
pub use crate::cluster::ctx::Delivery;
use crate::cluster::ctx::{lock, Hooks};
use crate::cluster::run::run_hooked;
use crate::observer::OpType;
use crate::scenario::parse::{load, InputError};
use crate::scenario::Scenario;

/// A simulated cluster with user code: a scenario (brokers, controllers, producers,
/// consumers, faults) plus the hooks.
#[derive(Clone)]
pub struct EmbeddedCluster {
    scenario: Scenario,
    hooks: Hooks,
}

/// What one run gave.
pub struct EmbeddedRun {
    pub report: Report,
    /// Every acknowledged write: (partition, offset, value id).
    pub acknowledged: Vec<(PartitionId, Offset, u64)>,
    /// The command that replays this run with `ksim` (without the hooks).
    pub reproduce: String,
}

impl EmbeddedRun {
    /// The cluster kept Kafka's contract (the checkers found nothing, and writes happened).
    pub fn valid(&self) -> bool {
        self.report.verdict == Verdict::Valid
    }
}

impl EmbeddedCluster {
    /// A gallery scenario by name, or a scenario file by path.
    pub fn scenario(name: &str) -> Result<EmbeddedCluster, InputError> {
        Ok(EmbeddedCluster::from(load(name)?))
    }

    /// Override a key as `--set` does, with Kafka's names: `"acks=all"`,
    /// `"enable.auto.commit=false"`, `"consumers=3"`.
    pub fn set(mut self, assignment: &str) -> Result<EmbeddedCluster, InputError> {
        crate::scenario::properties::apply_set_or_ignore(&mut self.scenario, assignment)?;
        crate::scenario::parse::validate_overrides(&self.scenario)?;
        Ok(self)
    }

    /// Each record's payload: called with the producer (1-based) and the record's id.
    pub fn produce_with(
        mut self,
        payload: impl Fn(u32, u64) -> Vec<u8> + Send + Sync + 'static,
    ) -> EmbeddedCluster {
        self.hooks.payload = Some(Arc::new(payload));
        self
    }

    /// The consumer application: called for every record a consumer of the group polls.
    pub fn consume_with(
        mut self,
        handler: impl Fn(&Delivery) + Send + Sync + 'static,
    ) -> EmbeddedCluster {
        self.hooks.on_record = Some(Arc::new(handler));
        self
    }

    pub fn scenario_ref(&self) -> &Scenario {
        &self.scenario
    }

    /// Run one seed (on a fresh thread and runtime, as `ksim run` does) and check it.
    pub fn run(&self, seed: u64) -> EmbeddedRun {
        let out = run_hooked(seed, &self.scenario, self.hooks.clone());
        let report = check(&out);
        let acknowledged = lock(&out.ctx.observer)
            .history
            .iter()
            .filter(|op| op.kind == OpType::Ok)
            .filter_map(|op| op.offset.map(|o| (op.partition, o, op.value)))
            .collect();
        EmbeddedRun {
            report,
            acknowledged,
            reproduce: crate::report::output::reproduce_line(&self.scenario, seed),
        }
    }
}

impl From<Scenario> for EmbeddedCluster {
    fn from(scenario: Scenario) -> EmbeddedCluster {
        EmbeddedCluster {
            scenario,
            hooks: Hooks::default(),
        }
    }
}
