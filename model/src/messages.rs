//! The messages nodes exchange, named as Kafka's protocol names them (Produce, Fetch,
//! BrokerHeartbeat, AlterPartition, Metadata, the group requests) with its error codes, and the
//! metadata log's commands that the controllers' Raft messages carry.

use bytes::Bytes;

use crate::assignor::Assignor;
use crate::config::*;
use crate::ids::*;
use crate::log::Record;
use crate::quorum::NodeIndex;
use crate::zookeeper::{PeerMessage, ZkRequest, ZkResponse};

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
    /// An idempotent producer's batch does not follow the last sequence number the leader
    /// holds for it: an earlier batch is missing (it failed, and is being retried).
    OutOfOrderSequenceNumber,
    /// A consumer fetched past the log end.
    OffsetOutOfRange,
    /// The group's generation moved on: the member must join again.
    RebalanceInProgress,
    /// A request from a generation that is over (an offset commit from a member that has
    /// not rejoined yet).
    IllegalGeneration,
    /// The coordinator does not know the member (its session expired).
    UnknownMemberId,
    /// The group request reached a broker that does not coordinate the group (ZooKeeper
    /// mode: the group's coordinator is the controller broker).
    NotCoordinator,
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
            ErrorCode::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            ErrorCode::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE",
            ErrorCode::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            ErrorCode::IllegalGeneration => "ILLEGAL_GENERATION",
            ErrorCode::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            ErrorCode::NotCoordinator => "NOT_COORDINATOR",
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
    /// Eligible leader replicas (KIP-966): members that left the ISR while it was below
    /// `min.insync.replicas`. The HW has not moved since, so they hold everything committed
    /// and may be elected cleanly. Always empty with `strict_min_isr = false`.
    pub elr: Vec<BrokerId>,
    /// KIP-966's LastKnownElr: members that left the ISR or ELR because they restarted after
    /// an unclean shutdown while the ISR was below the minimum. When no ISR or ELR member is
    /// left, the controller waits for all of them and elects the one with the longest log.
    pub last_known_elr: Vec<BrokerId>,
}

/// A partition leader's proposal to change its ISR (AlterPartition, KIP-497).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlterPartitionRequest {
    pub leader: BrokerId,
    pub broker_epoch: i64,
    pub partition: PartitionId,
    pub leader_epoch: Epoch,
    pub partition_epoch: Epoch,
    /// Proposed ISR with each member's broker epoch (KIP-903).
    pub new_isr: Vec<(BrokerId, i64)>,
}

impl AlterPartitionRequest {
    /// What an answer names of the proposal it answers: the partition epoch it was based on
    /// and the ISR it proposed.
    pub fn proposal(&self) -> (Epoch, Vec<BrokerId>) {
        let isr = self.new_isr.iter().map(|(b, _)| *b).collect();
        (self.partition_epoch, isr)
    }
}

/// A record a producer sends (the broker assigns offset and epoch).
#[derive(Clone, Debug, PartialEq)]
pub struct ProduceRecord {
    pub key: Bytes,
    pub value: Bytes,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Produce {
        correlation_id: u64,
        partition: PartitionId,
        acks: Acks,
        /// How long the leader may hold an acks=all request (Kafka's produce `timeout_ms`).
        timeout_ms: TimeMs,
        /// The idempotent producer's id (Kafka's NO_PRODUCER_ID, -1, when it is not
        /// idempotent) and the sequence number of the first record; the others follow on.
        producer_id: i64,
        base_sequence: i32,
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
        /// Each hosted partition's last epoch and LEO, for KIP-966's recovery (which asks the
        /// replicas for their log ends when it needs them).
        log_ends: Vec<(PartitionId, Epoch, Offset)>,
    },
    /// The controller pushes partition state to a replica (no response).
    LeaderAndIsr {
        partitions: Vec<PartitionState>,
    },
    AlterPartition(AlterPartitionRequest),
    /// The ZooKeeper-era controller's LeaderAndIsr: fenced by the controller epoch, and by
    /// the broker epoch the controller knows the receiving broker by (KIP-380).
    ZkLeaderAndIsr {
        controller_epoch: i32,
        broker_epoch: i64,
        partitions: Vec<PartitionState>,
    },
    /// The ZooKeeper-era controller's UpdateMetadata: the live brokers and every partition's
    /// state, cached by each broker to answer Metadata requests.
    UpdateMetadata {
        controller_epoch: i32,
        brokers: Vec<BrokerId>,
        partitions: Vec<PartitionState>,
    },
    Metadata {
        correlation_id: u64,
    },
    /// An idempotent producer asks for its producer id (Kafka's InitProducerId; KRaft's
    /// controller hands out ids through the metadata log, so an id is never given twice).
    InitProducerId {
        correlation_id: u64,
    },
    /// The consumer group protocol (one group, the workload's consumers), answered by the
    /// group coordinator; see `controller.rs` for where it lives here. A member joins (or
    /// rejoins after REBALANCE_IN_PROGRESS) and gets its partitions for the new generation.
    JoinGroup {
        correlation_id: u64,
        member: MemberId,
        /// The range assignor or round-robin.
        assignor: Assignor,
        /// `session.timeout.ms`: the member leaves the group when no heartbeat arrives for
        /// this long.
        session_timeout_ms: TimeMs,
    },
    /// A member's heartbeat: it stays in the group while these arrive within the session
    /// timeout (`session.timeout.ms`).
    GroupHeartbeat {
        correlation_id: u64,
        member: MemberId,
        generation: i32,
    },
    /// Commit positions (the next offset to read) for partitions the member owns in
    /// `generation`.
    OffsetCommit {
        correlation_id: u64,
        member: MemberId,
        generation: i32,
        offsets: Vec<(PartitionId, Offset)>,
    },
    /// The group's committed positions.
    OffsetFetch {
        correlation_id: u64,
    },
    /// Raft traffic between controllers (one-way messages; answers are messages too).
    Raft {
        from: u32,
        msg: crate::quorum::RaftMessage<Command>,
    },
    /// A ZooKeeper client's request to its server (a broker's session in ZooKeeper mode).
    Zk(ZkRequest),
    /// Traffic between ZooKeeper servers (one-way, as `Raft`).
    ZkPeer {
        from: NodeIndex,
        msg: PeerMessage,
    },
}

#[derive(Clone, Debug)]
pub enum Response {
    Produce {
        correlation_id: u64,
        partition: PartitionId,
        /// The leader epoch the answering broker's replica was in when it answered (-1 when
        /// it holds no replica of the partition). Kafka's ProduceResponse carries it only with
        /// NOT_LEADER_OR_FOLLOWER (KIP-951's `CurrentLeader`); here every answer does, so that
        /// the history can say in which epoch a write was acknowledged.
        leader_epoch: Epoch,
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
        /// The proposal answered (its partition epoch and ISR), so a leader can tell an answer
        /// to an older copy from one to its pending proposal, as Kafka's broker does by
        /// answering only its one request in flight.
        proposal: (Epoch, Vec<BrokerId>),
        result: Result<PartitionState, ErrorCode>,
    },
    Metadata {
        correlation_id: u64,
        brokers: Vec<BrokerId>,
        partitions: Vec<PartitionState>,
    },
    InitProducerId {
        correlation_id: u64,
        result: Result<i64, ErrorCode>,
    },
    JoinGroup {
        correlation_id: u64,
        /// The generation and this member's partitions in it.
        result: Result<(i32, Vec<PartitionId>), ErrorCode>,
    },
    GroupHeartbeat {
        correlation_id: u64,
        result: Result<(), ErrorCode>,
    },
    OffsetCommit {
        correlation_id: u64,
        result: Result<(), ErrorCode>,
    },
    OffsetFetch {
        correlation_id: u64,
        result: Result<Vec<(PartitionId, Offset)>, ErrorCode>,
    },
    /// A ZooKeeper server's answer, event or session news to a client.
    Zk(ZkResponse),
}

#[derive(Clone, Debug)]
pub struct FetchData {
    pub high_watermark: Offset,
    pub log_end_offset: Offset,
    /// Set when the follower's log diverges: the largest epoch <= its `last_fetched_epoch` and
    /// where that epoch ends on the leader (KIP-320). `None` as the epoch means "below all".
    pub diverging_epoch: Option<(Option<Epoch>, Offset)>,
    /// Set by the older rules: truncate to this offset (or keep the LEO if shorter). The KIP-101
    /// OffsetForLeaderEpoch answer, or the leader's LEO when the fetch offset was beyond it
    /// (OFFSET_OUT_OF_RANGE).
    pub truncate_to: Option<(Offset, TruncateReason)>,
    pub records: Vec<Record>,
}

/// Why a replica cut its log, in the words of the rule that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TruncateReason {
    /// It became a follower and cut its log to its own HW (`truncation = high-watermark`).
    HighWatermark,
    /// The leader's one-round OffsetForLeaderEpoch answer (`truncation = kip-101`).
    Kip101,
    /// The leader reported a diverging epoch and where it ends (KIP-279 / KIP-320).
    DivergingEpoch,
    /// It fetched beyond the leader's LEO (OFFSET_OUT_OF_RANGE) and reset to that LEO.
    OffsetOutOfRange,
}

impl TruncateReason {
    /// The coverage mark of this kind of truncation.
    pub fn mark(self) -> &'static str {
        match self {
            TruncateReason::HighWatermark => "truncate:high-watermark",
            TruncateReason::Kip101 => "truncate:kip-101",
            TruncateReason::DivergingEpoch => "truncate:diverging-epoch",
            TruncateReason::OffsetOutOfRange => "truncate:offset-out-of-range",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            TruncateReason::HighWatermark => {
                "it became a follower and truncated to its own HW (truncation=high-watermark, the rule before KIP-101)"
            }
            TruncateReason::Kip101 => {
                "the leader's OffsetForLeaderEpoch answer, one round only (truncation=kip-101)"
            }
            TruncateReason::DivergingEpoch => {
                "the leader reported a diverging epoch (KIP-279/KIP-320)"
            }
            TruncateReason::OffsetOutOfRange => {
                "it fetched beyond the leader's LEO and reset to it (OFFSET_OUT_OF_RANGE)"
            }
        }
    }
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
            Request::AlterPartition(_) => "alter_partition",
            Request::ZkLeaderAndIsr { .. } => "leader_and_isr",
            Request::UpdateMetadata { .. } => "update_metadata",
            Request::Metadata { .. } => "metadata",
            Request::InitProducerId { .. } => "init_producer_id",
            Request::JoinGroup { .. } => "join_group",
            Request::GroupHeartbeat { .. } => "group_heartbeat",
            Request::OffsetCommit { .. } => "offset_commit",
            Request::OffsetFetch { .. } => "offset_fetch",
            Request::LeaderAndIsr { .. } => "leader_and_isr",
            Request::Raft { msg, .. } => msg.kind(),
            Request::Zk(ZkRequest::Connect { .. }) => "zk_connect",
            Request::Zk(ZkRequest::Op { .. }) => "zk_request",
            Request::ZkPeer { msg, .. } => msg.kind(),
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
            Response::InitProducerId { result, .. } => result.as_ref().err().copied(),
            Response::JoinGroup { result, .. } => result.as_ref().err().copied(),
            Response::GroupHeartbeat { result, .. } => result.as_ref().err().copied(),
            Response::OffsetCommit { result, .. } => result.as_ref().err().copied(),
            Response::OffsetFetch { result, .. } => result.as_ref().err().copied(),
            Response::Zk(_) => None,
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
            Response::InitProducerId { .. } => "init_producer_id_response",
            Response::JoinGroup { .. } => "join_group_response",
            Response::GroupHeartbeat { .. } => "group_heartbeat_response",
            Response::OffsetCommit { .. } => "offset_commit_response",
            Response::OffsetFetch { .. } => "offset_fetch_response",
            Response::Zk(ZkResponse::Connected { .. }) => "zk_connected",
            Response::Zk(ZkResponse::Reply { .. }) => "zk_reply",
            Response::Zk(ZkResponse::Watch { .. }) => "zk_watch",
            Response::Zk(ZkResponse::Expired { .. }) => "zk_expired",
        }
    }

    /// A message a server sends unasked (a ZooKeeper watch or session expiry): it answers no
    /// request, so it does not restart the connection's request timeout.
    pub fn unsolicited(&self) -> bool {
        matches!(
            self,
            Response::Zk(ZkResponse::Watch { .. } | ZkResponse::Expired { .. })
        )
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

/// Who asked: the controller (and its incarnation) holding the connection the answer goes
/// back on. Only that controller sends the answer once the command is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    pub controller: u32,
    pub incarnation: u64,
    pub conn: ConnId,
}

/// A replicated change to the metadata, with the active controller's time when it was
/// proposed (every controller applies the same time, so session expiry is decided the same).
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// BrokerRegistration (broker epoch -1) or BrokerHeartbeat.
    Heartbeat {
        now: TimeMs,
        origin: Origin,
        broker: BrokerId,
        broker_epoch: i64,
        incarnation: u64,
        log_ends: Vec<(PartitionId, Epoch, Offset)>,
    },
    AlterPartition {
        now: TimeMs,
        origin: Origin,
        request: AlterPartitionRequest,
    },
    /// InitProducerId: hand out the next producer id. It goes through the metadata log (KRaft
    /// writes ProducerIdsRecord there), so a new active controller never hands out an id again.
    AllocateProducerId { origin: Origin, correlation_id: u64 },
    /// The consumer group protocol: the coordinator's state changes through the metadata log
    /// too, so a new active controller knows the group's members, generation and committed
    /// offsets.
    Group {
        now: TimeMs,
        origin: Origin,
        request: GroupRequest,
    },
    /// Fence every broker whose session expired by `now`.
    ExpireSessions { now: TimeMs },
    /// A new active controller starts every live broker's session afresh (KRaft does the same:
    /// heartbeat times are the active controller's own, not replicated).
    RenewSessions { now: TimeMs },
}

/// A group request carried by a command (one of `JoinGroup`, `GroupHeartbeat`,
/// `OffsetCommit`, `OffsetFetch`).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRequest(pub Request);
