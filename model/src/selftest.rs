//! The checkers' self-test: the planted flaws, kept apart from every configuration. A run
//! carries a `SelfTest` (none in every real run); each place a flaw acts asks it through one
//! hook (`planted`, or a hook named after what the flaw bends), outside the protocol's own
//! branches, so each Kafka rule reads as Kafka has it.

use crate::config::Acks;
use crate::log::SequenceCheck;

/// A deliberately broken protocol variant, used only to show that each checker catches the
/// violation it exists for. `None` in every real run. Named as `[selftest] flaw` writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "kebab-case")]
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

/// A deliberately broken variant of the protocol, used only to show that `QuorumObserver`
/// catches the violation it exists for. `None` in every real run. Named as
/// `[selftest] quorum_flaw` writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "kebab-case")]
pub enum QuorumFlaw {
    #[default]
    None,
    /// Grants a vote to every candidate of a term (up-to-date logs still required).
    DoubleVote,
    /// The leader commits an entry of its term as soon as it alone has it.
    CommitWithoutMajority,
    /// `voted_for` is never written to stable storage, so a restarted node may vote again.
    ForgetVoteOnRestart,
}

/// A deliberately broken variant of the ZooKeeper ensemble, used only to show that
/// `ZkObserver` catches the violation it exists for. `None` in every real run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "kebab-case")]
pub enum ZkFlaw {
    #[default]
    None,
    /// Closing a session (expiry or the client's close) leaves its ephemeral znodes behind.
    KeepEphemeralsOnClose,
    /// A server takes back a session whose client has seen a later zxid than the server has
    /// applied: the client sees the tree go back in time.
    AcceptStaleReconnect,
}

/// The planted flaws of one run, handed to the machines they act in (`with_selftest`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SelfTest {
    pub flaw: Flaw,
    pub quorum_flaw: QuorumFlaw,
    pub zk_flaw: ZkFlaw,
}

impl SelfTest {
    /// Whether `flaw` is planted in this run.
    pub fn planted(self, flaw: Flaw) -> bool {
        self.flaw == flaw
    }

    /// Whether `flaw` is planted in the controller quorum.
    pub fn planted_in_quorum(self, flaw: QuorumFlaw) -> bool {
        self.quorum_flaw == flaw
    }

    /// Whether `flaw` is planted in the ZooKeeper ensemble.
    pub fn planted_in_zookeeper(self, flaw: ZkFlaw) -> bool {
        self.zk_flaw == flaw
    }

    /// Whether the quorum carries any flaw (its own consistency assertions are then off: the
    /// observer must be the one to report).
    pub fn quorum_flawed(self) -> bool {
        self.quorum_flaw != QuorumFlaw::None
    }

    /// The `acks` the leader answers by: `ack-before-replication` answers acks=all as acks=1.
    pub fn answered_acks(self, acks: Acks) -> Acks {
        match acks {
            Acks::All if self.planted(Flaw::AckBeforeReplication) => Acks::Leader,
            acks => acks,
        }
    }

    /// The sequence check the leader acts on: `reorder-retries` takes a gap for the next
    /// batch, `skip-duplicate-check` a retry for a new batch.
    pub fn sequence_check(self, check: SequenceCheck) -> SequenceCheck {
        match check {
            SequenceCheck::OutOfOrder { .. } if self.planted(Flaw::ReorderRetries) => {
                SequenceCheck::Next
            }
            SequenceCheck::Duplicate(_) if self.planted(Flaw::SkipDuplicateCheck) => {
                SequenceCheck::Next
            }
            check => check,
        }
    }
}
