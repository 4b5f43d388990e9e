//! What every node of one run shares: the scenario, the observer, the disks, the links and
//! clocks, the user's hooks; and simulated time as the nodes read it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use ksim_model::{BrokerId, NodeId};
use madsim::time::TimeHandle;

use crate::cluster::clock::Clocks;
use crate::cluster::disk::Disks;
use crate::cluster::net::SharedLinkFaults;
use crate::observer::{Observer, Poll, Stats};
use crate::scenario::{Scenario, ScriptedFault};

/// State shared by the supervisor and every node of one run.
pub struct Ctx {
    pub sc: Scenario,
    pub seed: u64,
    pub observer: Mutex<Observer>,
    pub disks: Mutex<Disks>,
    pub stats: Arc<Mutex<Stats>>,
    /// Latency and loss on links (faults `slow`, `slow-to-controller`, `lossy`).
    pub links: SharedLinkFaults,
    /// Each server's clock (fault `clock-drift`).
    pub clocks: Mutex<Clocks>,
    /// Brokers whose metadata replay is stalled (fault `stale-metadata`); each broker checks
    /// at its tick.
    pub stalled_metadata: Mutex<BTreeSet<BrokerId>>,
    /// Per ZooKeeper server, the ephemerals whose sessions to expire (fault
    /// `session-expiry`); each server takes its own at its next step.
    pub zk_expiries: Mutex<BTreeMap<u32, Vec<String>>>,
    pub(crate) incarnations: Mutex<BTreeMap<BrokerId, u64>>,
    /// Each consumer's starts: a restarted consumer joins its group as a new member.
    pub(crate) consumer_incarnations: Mutex<BTreeMap<u32, u64>>,
    pub(crate) controller_incarnations: Mutex<BTreeMap<u32, u64>>,
    pub(crate) zookeeper_incarnations: Mutex<BTreeMap<u32, u64>>,
    pub(crate) next_value: Mutex<u64>,
    /// Set when the run is over: every task returns, so that nothing of the run outlives its
    /// runtime (madsim frees no task that is still pending when the runtime is dropped, and a
    /// pending task would keep this context, and its history, alive).
    pub(crate) shutdown: tokio::sync::watch::Sender<bool>,
    pub(crate) hooks: Hooks,
    /// Every madsim node of the run, to kill after a panic (see `free_tasks`).
    pub(crate) sim_nodes: Mutex<Vec<madsim::task::NodeId>>,
}

/// A lock that survives a panic elsewhere in the run: after a finding we still want to
/// report what the observer saw.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn now_ms() -> u64 {
    TimeHandle::current().elapsed().as_millis() as u64
}

impl Ctx {
    pub(crate) fn observe(&self) -> MutexGuard<'_, Observer> {
        lock(&self.observer)
    }

    /// What `node`'s own clock reads now (see `clock.rs`).
    pub(crate) fn local_ms(&self, node: NodeId) -> u64 {
        lock(&self.clocks).local_ms(node, now_ms())
    }
}

/// What the supervisor saw, beside the observer.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Every partition had a leader and fully replicated logs before the settle time ran out.
    pub settled: bool,
    pub end_ms: u64,
    /// Scripted faults whose target did not exist when they fired.
    pub skipped_faults: Vec<String>,
    /// Every fault injected, scripted or random, with its target resolved to one node and its
    /// restart or heal delay: a script that replays the run's faults without the fault stream
    /// (what `ksim shrink` starts from).
    pub injected: Vec<ScriptedFault>,
}

/// User code run inside a simulated run (the embedded API, `crate::embedded`): what each
/// producer writes, and a handler for each record a consumer polls.
#[derive(Clone, Default)]
pub struct Hooks {
    /// (producer, the record's value id) -> its payload, after the 8-byte value id.
    pub payload: Option<Arc<dyn Fn(u32, u64) -> Vec<u8> + Send + Sync>>,
    /// Called for every record a consumer's poll returns, on the consumer's node, in order.
    pub on_record: Option<Arc<dyn Fn(&Delivery) + Send + Sync>>,
}

/// One record as a consumer's poll handed it to the application: the poll as the checkers
/// see it (time, consumer, its start and generation, partition, offset, the record's unique
/// id `value`; reachable as `d.offset`, `d.value`, ...) and its payload.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub poll: Poll,
    /// The topic of `poll.partition` (which numbers partitions over all topics).
    pub topic: std::sync::Arc<str>,
    /// What the producer hook wrote for it (empty without one).
    pub payload: Bytes,
}

impl std::ops::Deref for Delivery {
    type Target = Poll;
    fn deref(&self) -> &Poll {
        &self.poll
    }
}
