//! Configuration with Kafka's names and defaults: the producer's `acks`, the historical
//! switches of the replication protocol (`Protocol`) and the broker's settings.

use strum::{IntoStaticStr, VariantArray};

use crate::ids::*;

/// Producer `acks`, named as written in producer.properties.
#[derive(Clone, Copy, Debug, PartialEq, Eq, IntoStaticStr, VariantArray)]
pub enum Acks {
    /// acks=0: the producer does not wait for any answer.
    #[strum(serialize = "0")]
    None,
    /// acks=1: the leader answers once the record is in its own log.
    #[strum(serialize = "1")]
    Leader,
    /// acks=all (-1): the leader answers once the HW passed the record.
    #[strum(serialize = "all")]
    All,
}

crate::serialize_by_name!(Acks, Truncation);

/// How a replica finds where its log stops matching the leader's, when it follows a new
/// leader epoch (or restarts). Named as `[protocol] truncation` writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "kebab-case")]
pub enum Truncation {
    /// Before KIP-101 (Kafka < 0.11): truncate to the replica's own HW, then fetch from there.
    /// A follower that has not yet heard the HW that acknowledged a record cuts that record.
    HighWatermark,
    /// KIP-101 (Kafka 0.11): one OffsetForLeaderEpoch round; the leader answers the start of
    /// the first epoch above the follower's latest (its LEO for its own epoch), and the
    /// follower truncates there once. Logs that diverge over several epochs stay diverged
    /// (the cases KIP-279 lists).
    #[strum(serialize = "kip-101")]
    Kip101,
    /// KIP-279 (Kafka 2.0), folded into fetch by KIP-320 (2.1): the leader answers the
    /// largest epoch <= the follower's and where it ends; the follower truncates and asks again
    /// until the logs match.
    #[default]
    LeaderEpoch,
}

/// Kafka's replication protocol is a series of fixes; each switch turns one fix off to show
/// what it prevents. Every field defaults to the modern rule (`Protocol::default()`).
/// A scenario file's `[protocol]` keys are the field names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// ZooKeeper mode, KAFKA-532 (0.8.0): a broker refuses LeaderAndIsr and UpdateMetadata
    /// from a controller epoch older than one it has seen. Off: a zombie controller (paused,
    /// or cut off from ZooKeeper until its session expired) is obeyed after its successor.
    pub controller_epoch_fencing: bool,
    /// ZooKeeper mode, KIP-380 (2.2, KAFKA-7235): LeaderAndIsr names the broker epoch (the
    /// czxid of the receiver's registration) and a broker refuses one meant for another
    /// incarnation; the controller reads every registration's czxid to see a bounced broker.
    /// Off: a request sent to the previous incarnation is applied by the new one.
    pub broker_epoch_fencing: bool,
    /// ZooKeeper mode: a leader writes its ISR to the partition's state znode only at the
    /// version it knows (a conflict: re-read). Off: it overwrites whatever is there, the
    /// controller's newer leader and ISR included, and the two views drift apart.
    pub conditional_isr_update: bool,
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
            controller_epoch_fencing: true,
            broker_epoch_fencing: true,
            conditional_isr_update: true,
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
            // 0.8.0 shipped KAFKA-532's fencing and wrote the ISR conditionally; KIP-380 came
            // with 2.2.
            controller_epoch_fencing: true,
            broker_epoch_fencing: false,
            conditional_isr_update: true,
        }
    }
}

/// Broker-side configuration, with Kafka's defaults; each field is the server.properties key of
/// its name (`min_insync_replicas` is `min.insync.replicas`). `protocol` and `flaw` have
/// sections of their own (`[protocol]`, `[selftest]`), as in a scenario file.
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
    /// The historical switches (`[protocol]`); modern rules by default.
    pub protocol: Protocol,
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
        }
    }
}
