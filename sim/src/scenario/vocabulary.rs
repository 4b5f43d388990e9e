//! The names a scenario file, a report and a sweep share: every checker's and every coverage
//! mark's. They sit below every stage, so that the scenario reader can check `[expect]`
//! against them without importing the checkers.

/// Every checker's name, as violations and `[expect] violation` name them.
pub const CHECKERS: &[&str] = &[
    "acked-durability",
    "log-matching",
    "leader-hw-monotonic",
    "one-leader-per-epoch",
    "leader-in-isr",
    "leader-completeness",
    "strong-isr",
    "hw-within-leo",
    "disk",
    "quorum",
    "zookeeper",
    "metadata-monotonic",
    "unclean-election",
    "duplicate",
    "producer-order",
    "poll-skip",
    "nonmonotonic-poll",
    "inconsistent-offsets",
    "read-above-hw",
    "unseen",
    "unavailability",
    "liveness",
    "panic",
    "story",
];

/// Every coverage mark: the model's protocol branches, the facts the observer counts, and
/// each fault kind taking effect.
pub fn marks() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = ksim_model::Mark::ALL.iter().map(|m| m.name()).collect();
    out.extend([
        "truncate:high-watermark",
        "truncate:kip-101",
        "truncate:diverging-epoch",
        "truncate:offset-out-of-range",
        "broker-fenced",
        "unclean-election",
        "kip-966-recovery",
        "group-rebalance",
        "read-held-by-isr",
    ]);
    out.extend(FAULT_MARKS);
    out.extend(
        <StateMark as strum::VariantArray>::VARIANTS
            .iter()
            .map(|m| m.name()),
    );
    out
}

/// `state:<situation>`: an abstract state the run reached (the observer's `states.rs` marks
/// them by these names), the guided search's feedback beside the protocol's branches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
pub enum StateMark {
    #[strum(serialize = "state:isr-member-restarted")]
    IsrMemberRestarted,
    #[strum(serialize = "state:alter-partition-in-flight-across-restart")]
    AlterPartitionInFlightAcrossRestart,
    #[strum(serialize = "state:deposed-leader")]
    DeposedLeader,
    #[strum(serialize = "state:deposed-leader-moved-hw")]
    DeposedLeaderMovedHw,
    #[strum(serialize = "state:follower-one-epoch-behind")]
    FollowerOneEpochBehind,
    #[strum(serialize = "state:follower-two-epochs-behind")]
    FollowerTwoEpochsBehind,
    #[strum(serialize = "state:following-a-dead-leader")]
    FollowingADeadLeader,
    #[strum(serialize = "state:fetching-from-deposed-leader")]
    FetchingFromDeposedLeader,
    #[strum(serialize = "state:hw-moved-with-isr-member-on-older-epoch")]
    HwMovedWithIsrMemberOnOlderEpoch,
    #[strum(serialize = "state:isr-member-below-epoch-start")]
    IsrMemberBelowEpochStart,
}

impl StateMark {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// `fault:<kind>`: a fault of that kind took effect.
const FAULT_MARKS: [&str; 16] = [
    "fault:crash",
    "fault:power-loss",
    "fault:pause",
    "fault:isolate",
    "fault:isolate-from-replicas",
    "fault:isolate-from-controller",
    "fault:isolate-outbound",
    "fault:slow",
    "fault:slow-to-controller",
    "fault:slow-alter-partition",
    "fault:lossy",
    "fault:split",
    "fault:bridge",
    "fault:clock-drift",
    "fault:stale-metadata",
    "fault:session-expiry",
];
