//! Identifiers, configuration and the messages nodes exchange. Names follow Kafka's protocol
//! (Produce, Fetch, BrokerHeartbeat, AlterPartition, Metadata) and its error codes.

use bytes::Bytes;

use crate::log::Record;

pub type BrokerId = i32;
pub type PartitionId = i32;
pub type Epoch = i32;
pub type Offset = i64;
/// Simulated milliseconds since the start of the run; the model never reads a clock.
pub type TimeMs = u64;

/// Where a message goes: a node of the simulated cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeId {
    /// A controller of the quorum, by its `node.id` (1-based).
    Controller(u32),
    Broker(BrokerId),
    Client(u32),
}

/// A connection accepted by a node; responses to a request go back on it.
pub type ConnId = u64;

/// Producer `acks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    /// acks=0: the producer does not wait for any answer.
    None,
    /// acks=1: the leader answers once the record is in its own log.
    Leader,
    /// acks=all (-1): the leader answers once the HW passed the record.
    All,
}

impl Acks {
    /// The value as written in producer.properties.
    pub fn name(self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

/// A deliberately broken protocol variant, used only to show that each checker catches the
/// violation it exists for. `None` in every real run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Flaw {
    #[default]
    None,
    /// The leader acknowledges acks=all as soon as the record is in its own log.
    AckBeforeReplication,
    /// The leader lowers its HW by one after every advance.
    HwRegress,
    /// The controller elects a new leader without bumping the leader epoch.
    ElectWithoutEpochBump,
    /// The leader skips the divergence check, so a diverged follower never truncates.
    SkipTruncation,
    /// Followers never fetch: a planted livelock the liveness check must report as a stall.
    FollowersNeverFetch,
    /// The controller elects the first live replica, in the ISR or not, and leaves the ISR as
    /// it was: the leader-in-ISR invariant must catch it.
    ElectOutsideIsr,
    /// A restarted broker panics while recovering: a planted crash of the simulation itself,
    /// which must be reported as a finding with its seed, never take down a sweep.
    PanicOnRestart,
}

/// Broker-side configuration, with Kafka's names and defaults.
#[derive(Clone, Debug)]
pub struct BrokerConfig {
    pub min_insync_replicas: usize,
    pub unclean_leader_election_enable: bool,
    pub replica_lag_time_max_ms: TimeMs,
    /// `log.flush.interval.messages`; `None` is Kafka's default (Long.MAX_VALUE: never).
    pub log_flush_interval_messages: Option<u64>,
    /// `log.flush.interval.ms`; `None` is Kafka's default (never).
    pub log_flush_interval_ms: Option<TimeMs>,
    pub replica_high_watermark_checkpoint_interval_ms: TimeMs,
    pub broker_heartbeat_interval_ms: TimeMs,
    pub broker_session_timeout_ms: TimeMs,
    pub replica_fetch_wait_max_ms: TimeMs,
    pub replica_fetch_backoff_ms: TimeMs,
    /// Records returned by one fetch at most (stands in for `replica.fetch.max.bytes`).
    pub replica_fetch_max_records: usize,
    /// `controller.quorum.voters`: the controllers' ids (brokers try them in turn until one
    /// answers as the active controller).
    pub controller_quorum_voters: Vec<u32>,
    /// `controller.quorum.election.timeout.ms`
    pub controller_quorum_election_timeout_ms: TimeMs,
    pub flaw: Flaw,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            replica_lag_time_max_ms: 30_000,
            log_flush_interval_messages: None,
            log_flush_interval_ms: None,
            replica_high_watermark_checkpoint_interval_ms: 5_000,
            broker_heartbeat_interval_ms: 2_000,
            broker_session_timeout_ms: 9_000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_backoff_ms: 1_000,
            replica_fetch_max_records: 500,
            controller_quorum_voters: vec![1],
            controller_quorum_election_timeout_ms: 1_000,
            flaw: Flaw::None,
        }
    }
}

/// Kafka error codes used by the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    NotLeaderOrFollower,
    FencedLeaderEpoch,
    UnknownLeaderEpoch,
    NotEnoughReplicas,
    NotEnoughReplicasAfterAppend,
    RequestTimedOut,
    InvalidUpdateVersion,
    IneligibleReplica,
    DuplicateBrokerRegistration,
    StaleBrokerEpoch,
    UnknownTopicOrPartition,
    /// The request reached a controller that is not the active one (KRaft's NOT_CONTROLLER).
    NotController,
}

impl ErrorCode {
    /// Kafka's name for the code, as the client would log it.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            ErrorCode::FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            ErrorCode::UnknownLeaderEpoch => "UNKNOWN_LEADER_EPOCH",
            ErrorCode::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            ErrorCode::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            ErrorCode::RequestTimedOut => "REQUEST_TIMED_OUT",
            ErrorCode::InvalidUpdateVersion => "INVALID_UPDATE_VERSION",
            ErrorCode::IneligibleReplica => "INELIGIBLE_REPLICA",
            ErrorCode::DuplicateBrokerRegistration => "DUPLICATE_BROKER_REGISTRATION",
            ErrorCode::StaleBrokerEpoch => "STALE_BROKER_EPOCH",
            ErrorCode::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            ErrorCode::NotController => "NOT_CONTROLLER",
        }
    }
}

/// A partition's state as the controller decides it (KRaft's PartitionRecord).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    pub partition: PartitionId,
    /// Assignment order; clean election picks the first eligible replica in this order.
    pub replicas: Vec<BrokerId>,
    pub leader: Option<BrokerId>,
    pub leader_epoch: Epoch,
    pub partition_epoch: Epoch,
    pub isr: Vec<BrokerId>,
}

/// A record a producer sends (the broker assigns offset and epoch).
#[derive(Clone, Debug)]
pub struct ProduceRecord {
    pub key: Bytes,
    pub value: Bytes,
}

#[derive(Clone, Debug)]
pub enum Request {
    Produce {
        correlation_id: u64,
        partition: PartitionId,
        acks: Acks,
        /// How long the leader may hold an acks=all request (Kafka's produce `timeout_ms`).
        timeout_ms: TimeMs,
        records: Vec<ProduceRecord>,
    },
    Fetch {
        replica_id: BrokerId,
        broker_epoch: i64,
        partition: PartitionId,
        fetch_offset: Offset,
        last_fetched_epoch: Epoch,
        current_leader_epoch: Epoch,
    },
    /// BrokerRegistration when `broker_epoch` is -1, BrokerHeartbeat otherwise.
    BrokerHeartbeat {
        broker: BrokerId,
        broker_epoch: i64,
        incarnation: u64,
    },
    /// The controller pushes partition state to a replica (no response).
    LeaderAndIsr {
        partitions: Vec<PartitionState>,
    },
    AlterPartition {
        leader: BrokerId,
        broker_epoch: i64,
        partition: PartitionId,
        leader_epoch: Epoch,
        partition_epoch: Epoch,
        /// Proposed ISR with each member's broker epoch (KIP-903).
        new_isr: Vec<(BrokerId, i64)>,
    },
    Metadata {
        correlation_id: u64,
    },
    /// Raft traffic between controllers (one-way messages; answers are messages too).
    Raft {
        from: u32,
        msg: crate::quorum::RaftMessage<crate::controller::Command>,
    },
}

#[derive(Clone, Debug)]
pub enum Response {
    Produce {
        correlation_id: u64,
        partition: PartitionId,
        /// Base offset on success.
        result: Result<Offset, ErrorCode>,
    },
    Fetch {
        partition: PartitionId,
        leader_epoch: Epoch,
        result: Result<FetchData, ErrorCode>,
    },
    BrokerHeartbeat {
        result: Result<HeartbeatData, ErrorCode>,
    },
    AlterPartition {
        partition: PartitionId,
        result: Result<PartitionState, ErrorCode>,
    },
    Metadata {
        correlation_id: u64,
        brokers: Vec<BrokerId>,
        partitions: Vec<PartitionState>,
    },
}

#[derive(Clone, Debug)]
pub struct FetchData {
    pub high_watermark: Offset,
    pub log_end_offset: Offset,
    /// Set when the follower's log diverges: the largest epoch <= its `last_fetched_epoch` and
    /// where that epoch ends on the leader (KIP-320). `None` as the epoch means "below all".
    pub diverging_epoch: Option<(Option<Epoch>, Offset)>,
    pub records: Vec<Record>,
}

#[derive(Clone, Debug)]
pub struct HeartbeatData {
    pub broker_epoch: i64,
    pub fenced: bool,
    /// Every partition with this broker among its replicas.
    pub partitions: Vec<PartitionState>,
}

#[derive(Clone, Debug)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Request {
    /// A short name for counting messages by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Produce { .. } => "produce",
            Request::Fetch { .. } => "fetch",
            Request::BrokerHeartbeat { .. } => "heartbeat",
            Request::AlterPartition { .. } => "alter_partition",
            Request::Metadata { .. } => "metadata",
            Request::LeaderAndIsr { .. } => "leader_and_isr",
            Request::Raft { msg, .. } => msg.kind(),
        }
    }
}

impl Response {
    /// The error this response carries, if any.
    pub fn error(&self) -> Option<ErrorCode> {
        match self {
            Response::Produce { result, .. } => result.as_ref().err().copied(),
            Response::Fetch { result, .. } => result.as_ref().err().copied(),
            Response::BrokerHeartbeat { result } => result.as_ref().err().copied(),
            Response::AlterPartition { result, .. } => result.as_ref().err().copied(),
            Response::Metadata { .. } => None,
        }
    }

    /// A short name for counting messages by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Response::Produce { .. } => "produce_response",
            Response::Fetch { .. } => "fetch_response",
            Response::BrokerHeartbeat { .. } => "heartbeat_response",
            Response::AlterPartition { .. } => "alter_partition_response",
            Response::Metadata { .. } => "metadata_response",
        }
    }
}

impl Message {
    /// A short name for counting messages by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Request(r) => r.kind(),
            Message::Response(r) => r.kind(),
        }
    }
}

/// What a node's step may be fed.
#[derive(Clone, Debug)]
pub enum Input {
    /// A request arrived on connection `conn`, opened by `from`.
    Request {
        conn: ConnId,
        from: NodeId,
        request: Request,
    },
    /// A response to a request this node sent to `from`.
    Response { from: NodeId, response: Response },
    /// The connection to `peer` broke; requests in flight on it have an unknown outcome.
    Disconnected { peer: NodeId },
    /// Time passed (the harness ticks each node on a fixed period).
    Tick,
}

/// Where an outgoing message goes.
#[derive(Clone, Debug)]
pub enum Envelope {
    /// A request to a node, on this node's connection to it (opened on demand).
    To { node: NodeId, request: Request },
    /// A response on the connection the request came in on.
    Reply { conn: ConnId, response: Response },
}

/// A change to a broker's disk. The harness applies these in order before any send of the
/// same `Ready` leaves.
#[derive(Clone, Debug)]
pub enum DiskOp {
    /// Append to the page cache.
    Append {
        partition: PartitionId,
        records: Vec<Record>,
    },
    /// Cut the log file at `offset` (a metadata operation the harness treats as durable).
    Truncate {
        partition: PartitionId,
        offset: Offset,
    },
    /// fsync the partition's log (`log.flush.interval.*`).
    Flush { partition: PartitionId },
    /// Write the replication-offset-checkpoint file (fsynced, as Kafka does).
    CheckpointHw { partition: PartitionId, hw: Offset },
    /// Write the leader-epoch-checkpoint file (fsynced).
    CheckpointEpochs {
        partition: PartitionId,
        epochs: Vec<crate::log::EpochEntry>,
    },
}

/// What the god's-eye observer is told after a step, beyond the replica snapshots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// The controller elected `leader` for `partition` in `leader_epoch`.
    Elected {
        partition: PartitionId,
        leader: Option<BrokerId>,
        leader_epoch: Epoch,
        unclean: bool,
        isr: Vec<BrokerId>,
    },
    /// The controller fenced a broker whose session expired.
    BrokerFenced { broker: BrokerId },
    /// The controller changed an ISR (AlterPartition or fencing).
    IsrChanged {
        partition: PartitionId,
        isr: Vec<BrokerId>,
        partition_epoch: Epoch,
    },
    /// A broker truncated its log (leader-epoch truncation).
    Truncated {
        broker: BrokerId,
        partition: PartitionId,
        from_leo: Offset,
        to: Offset,
    },
    /// A broker started acting as leader of `partition` in `leader_epoch`.
    BecameLeader {
        broker: BrokerId,
        partition: PartitionId,
        leader_epoch: Epoch,
    },
}

/// The output of one step.
#[derive(Debug, Default)]
pub struct Ready {
    /// Disk changes, applied (and flushed where asked) before any message below leaves.
    pub disk: Vec<DiskOp>,
    /// Messages to send once `disk` is applied.
    pub sends: Vec<Envelope>,
    /// Facts for the observer's truth log.
    pub notes: Vec<Note>,
}
