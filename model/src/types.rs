//! Identifiers, configuration and the messages nodes exchange. Names follow Kafka's protocol
//! (Produce, Fetch, BrokerHeartbeat, AlterPartition, Metadata) and its error codes.

use bytes::Bytes;
use serde::{Serialize, Serializer};

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

/// As written in producer.properties: `"0"`, `"1"` or `"all"`.
impl Serialize for Acks {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
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
    /// The leader appends an idempotent producer's retried batch again instead of answering
    /// with the offset it already holds: the duplicate checker must catch it.
    SkipDuplicateCheck,
    /// The producer resends its waiting retries newest first, and the leader appends an
    /// idempotent producer's batch whatever its sequence number (no
    /// OUT_OF_ORDER_SEQUENCE_NUMBER): the producer-order checker must catch it.
    ReorderRetries,
    /// The consumer moves its position one record too far after its first poll of each
    /// partition it is assigned: poll-skip and unseen must catch it.
    ConsumerSkipsARecord,
    /// The leader serves consumers up to its LEO instead of its HW: they read records that
    /// are not committed yet, and read-above-hw must catch it.
    ReadAboveHw,
    /// A follower takes the leader's HW without capping it by its own LEO: the replica
    /// check (HW <= LEO) must catch it.
    FollowerHwAboveLeo,
    /// The leader never asks to drop a lagging follower from the ISR
    /// (`replica.lag.time.max.ms` is ignored): a follower cut off from the leader but not from
    /// the controllers holds the HW back for good, and the unavailability check must report it.
    NeverShrinkIsr,
    /// The simulated disk keeps unflushed records through a power loss (a disk model that
    /// lies): the disk check must catch it.
    DiskKeepsUnflushed,
    /// The controller falls back to an unclean election although
    /// `unclean.leader.election.enable=false`: the election check must catch it.
    UncleanWhenDisabled,
}

/// How a replica finds where its log stops matching the leader's, when it follows a new
/// leader epoch (or restarts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Truncation {
    /// Before KIP-101 (Kafka < 0.11): truncate to the replica's own HW, then fetch from there.
    /// A follower that has not yet heard the HW that acknowledged a record cuts that record.
    HighWatermark,
    /// KIP-101 (Kafka 0.11): one OffsetForLeaderEpoch round; the leader answers the start of
    /// the first epoch above the follower's latest (its LEO for its own epoch), and the
    /// follower truncates there once. Logs that diverge over several epochs stay diverged
    /// (the cases KIP-279 lists).
    Kip101,
    /// KIP-279 (Kafka 2.0), folded into fetch by KIP-320 (2.1): the leader answers the
    /// largest epoch <= the follower's and where it ends; the follower truncates and asks again
    /// until the logs match.
    #[default]
    LeaderEpoch,
}

impl Truncation {
    pub fn name(self) -> &'static str {
        match self {
            Truncation::HighWatermark => "high-watermark",
            Truncation::Kip101 => "kip-101",
            Truncation::LeaderEpoch => "leader-epoch",
        }
    }
}

/// As the scenario file's `[protocol] truncation` names it.
impl Serialize for Truncation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Kafka's replication protocol is a series of fixes; each switch turns one fix off to show
/// what it prevents. Every field defaults to the modern rule (`Protocol::default()`).
/// Serialized with the scenario file's `[protocol]` keys (the field names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Protocol {
    pub truncation: Truncation,
    /// KIP-320 (2.1): fetches carry `current_leader_epoch` (a stale or newer one is fenced) and
    /// `last_fetched_epoch` (the leader checks divergence on every fetch). Off: a follower
    /// fetches from whoever it believes leads, and divergence is looked for only when it
    /// learns of a new epoch.
    pub fetch_epoch_fencing: bool,
    /// Only a follower that fetched in the leader's current epoch counts towards the HW. Off:
    /// a re-elected leader counts the LEOs its followers reported when it led before.
    pub hw_requires_current_epoch: bool,
    /// KAFKA-7128 (2.1): a follower joins the ISR only once its LEO reaches the start offset of
    /// the leader's epoch as well as the HW. Off: LEO >= HW is enough, so a replica can join
    /// while the new leader's HW still lags what the previous leader committed.
    pub isr_expand_requires_epoch_start: bool,
    /// KIP-497 (2.7): the HW is computed over the maximal ISR, the current ISR plus replicas
    /// the leader has asked to add. Off: over the committed ISR only, so the HW can pass a
    /// replica that is about to become a member.
    pub hw_over_maximal_isr: bool,
    /// KIP-966 (4.0): the HW waits while the ISR is below `min.insync.replicas`, members that
    /// leave then become eligible leader replicas (ELR), and a broker that restarts after an
    /// unclean shutdown leaves the ISR and ELR. Off: the HW advances over whatever ISR is left,
    /// and the last ISR member is re-elected even after losing data in a power loss.
    pub strict_min_isr: bool,
    /// KIP-903 (3.5): AlterPartition adds a replica only if the broker epoch it fetched with is
    /// its current one. Off: a fetch from before a restart (which lost data) can re-add it.
    pub isr_add_checks_broker_epoch: bool,
    /// Not in Kafka (a proposed fix; off is Kafka's rule). Kafka's leader, refused with
    /// INELIGIBLE_REPLICA, drops its pending ISR change (`Partition.handleAlterPartitionError`)
    /// on the reasoning that no controller can apply that request later. A copy of it still in
    /// flight on a connection the leader gave up can be applied later, with the same partition
    /// epoch, once the replica is eligible again, while the HW has passed it
    /// (`scenarios/found/long-faults-seed-1638.toml`). On: the refusal itself bumps the
    /// partition epoch, so every older copy is refused with INVALID_UPDATE_VERSION.
    pub refusal_bumps_partition_epoch: bool,
}

impl Default for Protocol {
    fn default() -> Self {
        Protocol {
            truncation: Truncation::LeaderEpoch,
            fetch_epoch_fencing: true,
            hw_requires_current_epoch: true,
            isr_expand_requires_epoch_start: true,
            hw_over_maximal_isr: true,
            strict_min_isr: true,
            isr_add_checks_broker_epoch: true,
            refusal_bumps_partition_epoch: false,
        }
    }
}

impl Protocol {
    /// Every historical rule at once, as in Kafka 0.8 (which also had no
    /// `min.insync.replicas` and always allowed unclean election; the scenario preset sets
    /// those).
    pub fn kafka_0_8() -> Self {
        Protocol {
            truncation: Truncation::HighWatermark,
            fetch_epoch_fencing: false,
            hw_requires_current_epoch: false,
            isr_expand_requires_epoch_start: false,
            hw_over_maximal_isr: false,
            strict_min_isr: false,
            isr_add_checks_broker_epoch: false,
            refusal_bumps_partition_epoch: false,
        }
    }

    /// The switches that differ from the modern rule, as `key=value` (for banners).
    pub fn old_rules(&self) -> Vec<String> {
        let m = Protocol::default();
        let mut out = Vec::new();
        if self.truncation != m.truncation {
            out.push(format!("truncation={}", self.truncation.name()));
        }
        let flags = [
            (
                "fetch_epoch_fencing",
                self.fetch_epoch_fencing,
                m.fetch_epoch_fencing,
            ),
            (
                "hw_requires_current_epoch",
                self.hw_requires_current_epoch,
                m.hw_requires_current_epoch,
            ),
            (
                "isr_expand_requires_epoch_start",
                self.isr_expand_requires_epoch_start,
                m.isr_expand_requires_epoch_start,
            ),
            (
                "hw_over_maximal_isr",
                self.hw_over_maximal_isr,
                m.hw_over_maximal_isr,
            ),
            ("strict_min_isr", self.strict_min_isr, m.strict_min_isr),
            (
                "isr_add_checks_broker_epoch",
                self.isr_add_checks_broker_epoch,
                m.isr_add_checks_broker_epoch,
            ),
        ];
        for (name, v, modern) in flags {
            if v != modern {
                out.push(format!("{name}={v}"));
            }
        }
        out
    }

    /// The fixes beyond Kafka's rules in force, as `key=value` (for banners).
    pub fn proposed_rules(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.refusal_bumps_partition_epoch {
            out.push("refusal_bumps_partition_epoch=true".to_string());
        }
        out
    }
}

/// Broker-side configuration, with Kafka's names and defaults. Serialized as server.properties
/// keys; `protocol` and `flaw` are left to the sections of their own (`[protocol]`,
/// `[selftest]`), as in a scenario file.
#[derive(Clone, Debug, Serialize)]
pub struct BrokerConfig {
    #[serde(rename = "min.insync.replicas")]
    pub min_insync_replicas: usize,
    #[serde(rename = "unclean.leader.election.enable")]
    pub unclean_leader_election_enable: bool,
    #[serde(rename = "replica.lag.time.max.ms")]
    pub replica_lag_time_max_ms: TimeMs,
    /// `log.flush.interval.messages`; `None` is Kafka's default (Long.MAX_VALUE: never).
    #[serde(rename = "log.flush.interval.messages")]
    pub log_flush_interval_messages: Option<u64>,
    /// `log.flush.interval.ms`; `None` is Kafka's default (never).
    #[serde(rename = "log.flush.interval.ms")]
    pub log_flush_interval_ms: Option<TimeMs>,
    #[serde(rename = "replica.high.watermark.checkpoint.interval.ms")]
    pub replica_high_watermark_checkpoint_interval_ms: TimeMs,
    #[serde(rename = "broker.heartbeat.interval.ms")]
    pub broker_heartbeat_interval_ms: TimeMs,
    #[serde(rename = "broker.session.timeout.ms")]
    pub broker_session_timeout_ms: TimeMs,
    #[serde(rename = "replica.fetch.wait.max.ms")]
    pub replica_fetch_wait_max_ms: TimeMs,
    #[serde(rename = "replica.fetch.backoff.ms")]
    pub replica_fetch_backoff_ms: TimeMs,
    /// Records returned by one fetch at most (stands in for `replica.fetch.max.bytes`).
    #[serde(rename = "replica.fetch.max.records")]
    pub replica_fetch_max_records: usize,
    /// `controller.quorum.voters`: the controllers' ids (brokers try them in turn until one
    /// answers as the active controller).
    #[serde(rename = "controller.quorum.voters")]
    pub controller_quorum_voters: Vec<u32>,
    /// `controller.quorum.election.timeout.ms`
    #[serde(rename = "controller.quorum.election.timeout.ms")]
    pub controller_quorum_election_timeout_ms: TimeMs,
    /// The historical switches (`[protocol]`); modern rules by default.
    #[serde(skip)]
    pub protocol: Protocol,
    #[serde(skip)]
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
            protocol: Protocol::default(),
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
        msg: crate::quorum::RaftMessage<crate::controller::Command>,
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
}

/// A consumer group member: its client and that client's incarnation (a restarted consumer
/// joins as a new member, as Kafka's does without a static group.instance.id).
pub type MemberId = (u32, u64);

/// `partition.assignment.strategy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignor {
    /// RangeAssignor: in each topic, each member a contiguous range of its partitions, members
    /// in id order (so with several topics the first members get the extra partitions of
    /// every topic).
    Range,
    /// RoundRobinAssignor: every topic's partitions, topic by topic, dealt to members in turn.
    RoundRobin,
}

/// As `partition.assignment.strategy` names it.
impl Serialize for Assignor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Assignor {
    /// The short name `partition.assignment.strategy` takes.
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
        }
    }

    /// The partitions of `member` when `members` (sorted) share `topics` topics of
    /// `per_topic` partitions each; topic t's partition i is partition `t * per_topic + i`.
    pub fn assign(
        self,
        members: &[MemberId],
        topics: i32,
        per_topic: i32,
        member: MemberId,
    ) -> Vec<PartitionId> {
        let Some(i) = members.iter().position(|m| *m == member) else {
            return Vec::new();
        };
        let n = members.len() as i32;
        match self {
            Assignor::Range => {
                let (per, extra) = (per_topic / n, per_topic % n);
                let i = i as i32;
                let start = i * per + i.min(extra);
                let len = per + i32::from(i < extra);
                (0..topics)
                    .flat_map(|t| (start..start + len).map(move |p| t * per_topic + p))
                    .collect()
            }
            Assignor::RoundRobin => (0..topics * per_topic)
                .filter(|p| p % n == i as i32)
                .collect(),
        }
    }
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
            Request::AlterPartition { .. } => "alter_partition",
            Request::Metadata { .. } => "metadata",
            Request::InitProducerId { .. } => "init_producer_id",
            Request::JoinGroup { .. } => "join_group",
            Request::GroupHeartbeat { .. } => "group_heartbeat",
            Request::OffsetCommit { .. } => "offset_commit",
            Request::OffsetFetch { .. } => "offset_fetch",
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
            Response::InitProducerId { result, .. } => result.as_ref().err().copied(),
            Response::JoinGroup { result, .. } => result.as_ref().err().copied(),
            Response::GroupHeartbeat { result, .. } => result.as_ref().err().copied(),
            Response::OffsetCommit { result, .. } => result.as_ref().err().copied(),
            Response::OffsetFetch { result, .. } => result.as_ref().err().copied(),
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
    /// The controller unfenced a registered broker: it may lead and join ISRs again.
    BrokerUnfenced { broker: BrokerId, incarnation: u64 },
    /// A broker registered after an unclean shutdown, so it left every ISR and ELR it was in
    /// (KIP-966; `strict_min_isr` only).
    UncleanShutdown { broker: BrokerId },
    /// No ISR or ELR member was left: the controller elected the replica with the longest log
    /// among the last known ELR, once all of them had registered (KIP-966's recovery).
    Recovered {
        partition: PartitionId,
        leader: BrokerId,
        candidates: Vec<(BrokerId, Epoch, Offset)>,
    },
    /// The controller changed an ISR (AlterPartition or fencing).
    IsrChanged {
        partition: PartitionId,
        isr: Vec<BrokerId>,
        partition_epoch: Epoch,
    },
    /// A broker truncated its log.
    Truncated {
        broker: BrokerId,
        partition: PartitionId,
        from_leo: Offset,
        to: Offset,
        reason: TruncateReason,
    },
    /// A broker started acting as leader of `partition` in `leader_epoch`.
    BecameLeader {
        broker: BrokerId,
        partition: PartitionId,
        leader_epoch: Epoch,
    },
    /// The step took a protocol branch worth counting (a coverage mark).
    Mark(Mark),
}

/// A protocol branch that matters, counted when taken (FoundationDB's code probes): a sweep
/// reports how many seeds reached each, and a scenario may require some. Truncations, fencing
/// of brokers, unclean elections and KIP-966 recoveries are counted from their notes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mark {
    /// A leader asks to drop a follower that lagged `replica.lag.time.max.ms`.
    IsrShrinkForLag,
    /// A leader asks to add a follower that caught up.
    IsrExpand,
    /// A leader refused a fetch from an older leader epoch (KIP-320's FENCED_LEADER_EPOCH).
    FencedLeaderEpoch,
    /// A leader answered a fetch with a diverging epoch (KIP-320).
    DivergingEpoch,
    /// A leader answered an idempotent producer's retry of a batch it holds with its offset.
    IdempotentDuplicate,
    /// A leader refused an idempotent batch with a sequence gap (OUT_OF_ORDER_SEQUENCE_NUMBER).
    OutOfOrderSequence,
    /// The controller elected a leader from the ELR, the ISR being empty (KIP-966).
    ElrElection,
}

impl Mark {
    pub const ALL: [Mark; 7] = [
        Mark::IsrShrinkForLag,
        Mark::IsrExpand,
        Mark::FencedLeaderEpoch,
        Mark::DivergingEpoch,
        Mark::IdempotentDuplicate,
        Mark::OutOfOrderSequence,
        Mark::ElrElection,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mark::IsrShrinkForLag => "isr-shrink-for-lag",
            Mark::IsrExpand => "isr-expand",
            Mark::FencedLeaderEpoch => "fenced-leader-epoch",
            Mark::DivergingEpoch => "diverging-epoch",
            Mark::IdempotentDuplicate => "idempotent-duplicate",
            Mark::OutOfOrderSequence => "out-of-order-sequence",
            Mark::ElrElection => "elr-election",
        }
    }
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
