//! The clients' configuration, with Kafka's names and defaults (the simulator's key table
//! reads them from `[producer]` and `[consumer]` or from .properties files).

use strum::{IntoStaticStr, VariantArray};

use crate::assignor::Assignor;
use crate::config::Acks;

/// `[producer]`: the producer's keys, as producer.properties names them.
#[derive(Clone, Debug)]
pub struct ProducerConfig {
    pub acks: Acks,
    /// `request.timeout.ms`: a request without an answer by then fails with an unknown outcome.
    pub request_timeout_ms: u64,
    /// `max.in.flight.requests.per.connection`
    pub max_in_flight: usize,
    /// `retries`: how many times a failed send is tried again. 0 here by default, unlike
    /// Kafka's client (2147483647 since 2.1), so that each write is one attempt unless a
    /// scenario asks for retries.
    pub retries: u32,
    /// `retry.backoff.ms`
    pub retry_backoff_ms: u64,
    /// `delivery.timeout.ms`: a record not acknowledged this long after it was sent is given
    /// up, whatever `retries` says.
    pub delivery_timeout_ms: u64,
    /// `enable.idempotence`: a producer id from the cluster and a sequence number per record
    /// and partition, so that the leader answers a retry of a batch it holds instead of
    /// appending it again. false here by default (Kafka's client: true since 3.0).
    pub enable_idempotence: bool,
    /// `batch.size`: the bytes a partition's batch may hold before it goes (Kafka's default
    /// 16384).
    pub batch_size: usize,
    /// `linger.ms`: how long a batch waits for more records before it goes. With 0 (the
    /// default here, Kafka's before 4.0) a record goes at once or, when it cannot (no leader,
    /// `max.in.flight.requests.per.connection` reached), is not offered: the workload's rate
    /// is a ceiling. With more, records wait in their partition's open batch.
    pub linger_ms: u64,
    /// `partitioner.class`
    pub partitioner: Partitioner,
    /// `max.request.size`: a record whose batch would be larger fails in `send` at once with
    /// RECORD_TOO_LARGE, definite (Kafka's `RecordTooLargeException`; default 1048576).
    pub max_request_size: usize,
}

impl Default for ProducerConfig {
    /// Kafka's client defaults, but for `retries`, `enable.idempotence`, `linger.ms` and
    /// `partitioner.class` (see each field).
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            request_timeout_ms: 30_000,
            max_in_flight: 5,
            retries: 0,
            retry_backoff_ms: 100,
            delivery_timeout_ms: 120_000,
            enable_idempotence: false,
            batch_size: 16_384,
            max_request_size: 1_048_576,
            linger_ms: 0,
            partitioner: Partitioner::KeyedRoundRobin,
        }
    }
}

crate::serialize_by_name!(Partitioner);

/// Where a record goes (`partitioner.class`), by its short name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "kebab-case")]
pub enum Partitioner {
    /// The default here: a keyed record by murmur2 of its key, the others to each partition
    /// in turn, as the Java client's DefaultPartitioner did before 2.4 (so that every
    /// partition is written from the first second).
    KeyedRoundRobin,
    /// Kafka's built-in partitioner since 3.3, what it uses when `partitioner.class` is unset:
    /// a keyed record by murmur2, the others stick to one partition until `batch.size` bytes
    /// went to it, then move to another partition with a known leader, drawn at random
    /// (KIP-794's uniform sticky partitioner).
    Sticky,
    /// `RoundRobinPartitioner`: every record to the next partition, keys ignored.
    RoundRobin,
}

/// `[consumer]`: the consumer's keys, as consumer.properties names them.
#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    /// `session.timeout.ms` (Kafka's default since 3.0: 45000).
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms`
    pub heartbeat_interval_ms: u64,
    /// `enable.auto.commit`: commit the position every `auto.commit.interval.ms`, and before
    /// rejoining the group; false commits after every poll instead (a manual `commitSync`).
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms`
    pub auto_commit_interval_ms: u64,
    /// `auto.offset.reset`: where a partition without a committed offset starts.
    pub auto_offset_reset_earliest: bool,
    /// `partition.assignment.strategy`
    pub assignor: Assignor,
}

impl ConsumerConfig {
    /// `auto.offset.reset` as written.
    pub fn auto_offset_reset(&self) -> &'static str {
        if self.auto_offset_reset_earliest {
            "earliest"
        } else {
            "latest"
        }
    }
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            enable_auto_commit: true,
            auto_commit_interval_ms: 5_000,
            auto_offset_reset_earliest: false,
            assignor: Assignor::Range,
        }
    }
}
