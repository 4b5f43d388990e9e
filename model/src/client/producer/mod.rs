//! The producer client: records handed to it by the application (`ProducerInput::send`),
//! placed by `partitioner.class`, sent in batches to the leader it learned from metadata. Each
//! record is one operation of the history: `invoke` when the producer takes it, then `ok`,
//! `fail` or `info` once, whatever happens to its batch's attempts in between.
//!
//! With `linger.ms = 0` a record is sent at once in a batch of its own, or, when it cannot be
//! (no leader known, `max.in.flight.requests.per.connection` reached), it is not taken: the
//! workload's rate is a ceiling. With `linger.ms > 0` records wait in their partition's
//! accumulator (Kafka's `RecordAccumulator`, `accumulator.rs`): a batch goes when it holds
//! `batch.size` bytes or has waited `linger.ms`, once its leader is known and has room.
//!
//! With `retries` a failed attempt is sent again after `retry.backoff.ms`, until it succeeds,
//! the retries run out or `delivery.timeout.ms` passes (`delivery.rs`). A retry of an attempt
//! whose outcome was unknown (a lost answer, a timeout) may append the batch a second time:
//! duplicates, which Kafka allows without idempotence. With `enable.idempotence` the producer
//! first asks the cluster for a producer id, numbers its records per partition, and the leader
//! answers a retry of a batch it already holds with that batch's offset (see
//! `PartitionLog::check_sequence`).
//!
//! Time arrives at full precision (`Duration` since the run began): a metadata refresh waits
//! `retry.backoff.ms` from the instant the last answer came, which is finer than a millisecond.
//! Every other deadline counts whole milliseconds, as the Java client's do.

mod accumulator;
mod delivery;
mod requests;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use rand_chacha::ChaCha8Rng;

use super::config::ProducerConfig;
use super::{Effect, Event};
use crate::ids::*;
use crate::selftest::SelfTest;

/// What the producer is built from besides its configuration.
#[derive(Clone, Debug)]
pub struct ProducerSetup {
    /// The producer's client number (1-based): its history's `process`.
    pub idx: u32,
    pub config: ProducerConfig,
    /// `num.partitions` of each topic, and how many topics it writes to in turn.
    pub partitions: i32,
    pub topics: usize,
    /// Each record's value size (its first 8 bytes carry the record's unique id).
    pub value_bytes: usize,
    /// `bootstrap.servers`: the nodes it asks for metadata and a producer id, in turn (the
    /// KRaft controllers, or the brokers of a ZooKeeper-mode cluster).
    pub bootstrap: Vec<NodeId>,
    pub selftest: SelfTest,
    /// The sticky partitioner's draws.
    pub rng: ChaCha8Rng,
}

/// A record the application hands over (`KafkaProducer.send`): its key (empty: none) and its
/// unique id, written in the value's first 8 bytes.
#[derive(Clone, Debug)]
pub struct ProducerRecord {
    pub key: Bytes,
    pub value: u64,
}

/// One step's input: what happened, and the record the application sends now, if any.
#[derive(Clone, Debug)]
pub struct ProducerInput {
    pub event: Event,
    pub send: Option<ProducerRecord>,
}

/// What a step did.
#[derive(Debug, Default)]
pub struct ProducerReady {
    pub effects: Vec<Effect>,
    /// The producer took the record it was handed (it is in the history); a record it did
    /// not take was never sent, and its id is free for the next.
    pub accepted: bool,
    /// When the producer wants its next step without an event (since the run began).
    pub wake: Option<Duration>,
}

/// One record of a batch.
#[derive(Clone, Debug)]
struct Rec {
    value: u64,
    key: Bytes,
}

/// A batch of one partition's records on its way: created at `created_ms`, sent `attempts`
/// times so far.
#[derive(Clone, Debug)]
struct Batch {
    records: Vec<Rec>,
    /// Its size as `batch.size` counts it.
    bytes: usize,
    partition: PartitionId,
    /// The idempotent session it belongs to and its first record's sequence number (-1, -1
    /// without).
    producer_id: i64,
    sequence: i32,
    attempts: u32,
    created_ms: u64,
    /// Whether an earlier attempt may have been appended (its outcome was unknown).
    maybe_appended: bool,
}

impl Batch {
    fn new(partition: PartitionId, created_ms: u64) -> Batch {
        Batch {
            records: Vec::new(),
            bytes: accumulator::BATCH_OVERHEAD,
            partition,
            producer_id: -1,
            sequence: -1,
            attempts: 0,
            created_ms,
            maybe_appended: false,
        }
    }

    /// The first record's value: batches keep the order their records were handed over in.
    fn first_value(&self) -> u64 {
        self.records[0].value
    }
}

/// An attempt the producer is waiting on.
struct InFlight {
    batch: Batch,
    broker: BrokerId,
    deadline_ms: u64,
}

/// A batch waiting to be sent again.
struct Retry {
    batch: Batch,
    due_ms: u64,
}

/// The producer client's state.
pub struct Producer {
    setup: ProducerSetup,
    /// The step's time, and the effects it has left so far.
    at: Duration,
    out: Vec<Effect>,
    leaders: BTreeMap<PartitionId, BrokerId>,
    in_flight: BTreeMap<u64, InFlight>,
    /// Per partition, in the order the records were first sent (so in sequence order).
    retries: BTreeMap<PartitionId, VecDeque<Retry>>,
    correlation: u64,
    /// The controller asked for metadata and the producer id; the Metadata request in flight
    /// (sent at `metadata_sent_ms`), and when the next may go.
    /// Which of `bootstrap` it asks now.
    metadata_from: usize,
    metadata_in_flight: bool,
    metadata_sent_ms: u64,
    next_metadata: Duration,
    /// The idempotent session: its producer id once the cluster gave one, the next sequence
    /// number per partition, and the InitProducerId request in flight.
    producer_id: Option<i64>,
    next_sequence: BTreeMap<PartitionId, i32>,
    init_in_flight: Option<u64>,
    init_sent_ms: u64,
    next_init_ms: u64,
    /// With `linger.ms > 0`: per partition, the batches not sent yet, oldest first; the last
    /// one may still take records.
    accumulator: BTreeMap<PartitionId, VecDeque<Batch>>,
    /// Per topic, the sticky partitioner's partition for records without a key, and the bytes
    /// sent to it since it was drawn.
    sticky: BTreeMap<usize, (PartitionId, usize)>,
    /// Per topic, the round-robin partitioner's next partition (within the topic).
    next_partition: Vec<i32>,
    /// The topic of the next record: the producer writes to its topics in turn.
    next_topic: usize,
}

impl Producer {
    pub fn new(setup: ProducerSetup) -> Producer {
        assert!(
            !setup.bootstrap.is_empty(),
            "bootstrap.servers names a node"
        );
        Producer {
            // Producers spread over the bootstrap servers.
            metadata_from: (setup.idx as usize - 1) % setup.bootstrap.len(),
            next_partition: vec![setup.idx as i32 % setup.partitions; setup.topics],
            setup,
            at: Duration::ZERO,
            out: Vec::new(),
            leaders: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            retries: BTreeMap::new(),
            correlation: 0,
            metadata_in_flight: false,
            metadata_sent_ms: 0,
            next_metadata: Duration::ZERO,
            producer_id: None,
            next_sequence: BTreeMap::new(),
            init_in_flight: None,
            init_sent_ms: 0,
            next_init_ms: 0,
            accumulator: BTreeMap::new(),
            sticky: BTreeMap::new(),
            next_topic: 0,
        }
    }

    /// One step at `at` (since the run began): take the event, give up what timed out, send
    /// the retries that are due, take the application's record, send the batches that are
    /// ready, and ask the cluster for what the producer lacks.
    pub fn step(&mut self, at: Duration, input: ProducerInput) -> ProducerReady {
        self.at = at;
        self.on_event(input.event);
        self.expire_requests();
        self.send_retries();
        let accepted = input.send.is_some_and(|r| self.offer(r));
        self.send_accumulated();
        self.ask_cluster();
        ProducerReady {
            effects: std::mem::take(&mut self.out),
            accepted,
            wake: self.next_wake(),
        }
    }

    /// The step's time in whole milliseconds, as the producer's deadlines count it.
    fn now(&self) -> u64 {
        self.at.as_millis() as u64
    }

    fn cfg(&self) -> &ProducerConfig {
        &self.setup.config
    }

    fn total_partitions(&self) -> i32 {
        self.setup.partitions * self.setup.topics.max(1) as i32
    }

    fn send_to(&mut self, to: NodeId, request: crate::messages::Request) {
        self.out.push(Effect::Send { to, request });
    }

    /// Whether `leader` may take another request (`max.in.flight.requests.per.connection`).
    fn room(&self, leader: BrokerId) -> bool {
        let to_leader = self
            .in_flight
            .values()
            .filter(|f| f.broker == leader)
            .count();
        to_leader < self.cfg().max_in_flight
    }

    /// When the producer must step again on its own: a request's timeout, a retry or a batch
    /// that can go then, the next InitProducerId, the next metadata refresh.
    fn next_wake(&self) -> Option<Duration> {
        let deadline = self
            .in_flight
            .values()
            .map(|f| f.deadline_ms)
            // A retry wakes the producer only when it can be sent then; one waiting for a
            // leader or for room is woken by the answer that brings either.
            .chain(
                self.retries
                    .iter()
                    .filter(|(p, _)| self.leaders.get(p).is_some_and(|l| self.room(*l)))
                    .filter_map(|(_, q)| q.front())
                    .map(|r| r.due_ms),
            )
            .chain(self.wants_producer_id().then_some(self.next_init_ms))
            // Likewise a batch of the accumulator, once linger.ms has passed.
            .chain(
                self.accumulator
                    .iter()
                    .filter(|(p, _)| self.sendable(**p))
                    .filter_map(|(_, q)| self.ready_at(q)),
            )
            .min()
            .map(|d| self.at + Duration::from_millis(d.saturating_sub(self.now())));
        let metadata = self.wants_metadata().then_some(self.next_metadata);
        [deadline, metadata].into_iter().flatten().min()
    }
}
