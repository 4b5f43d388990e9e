//! The sans-IO face every machine shares: what a step is fed (`Input`), and what it leaves
//! as data (`Ready`): disk writes, messages, notes for the observer and coverage marks.

use crate::ids::*;
use crate::log::{EpochEntry, Record};
use crate::messages::*;

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
        epochs: Vec<EpochEntry>,
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
    // The old rules acting where the modern rule would decide otherwise. Feedback for the
    // guided search (it steers toward what an old rule does differently); no checker reads them.
    /// `fetch_epoch_fencing = false`: a follower took records from a fetch answer of another
    /// leader epoch.
    FetchAnswerFromAnotherEpoch,
    /// `hw_requires_current_epoch = false`: the HW moved on a LEO remembered from an earlier
    /// leader epoch.
    HwFromEarlierEpoch,
    /// `isr_expand_requires_epoch_start = false`: a follower below the start of the leader's
    /// epoch was proposed for the ISR.
    IsrExpandBelowEpochStart,
    /// `isr_add_checks_broker_epoch = false`: the controller added a replica whose fetch came
    /// from an earlier broker epoch.
    IsrAddWithStaleBrokerEpoch,
    /// `controller_epoch_fencing = false`: a broker applied a request of an older controller
    /// epoch.
    StaleControllerEpochApplied,
}

impl Mark {
    pub const ALL: [Mark; 12] = [
        Mark::IsrShrinkForLag,
        Mark::IsrExpand,
        Mark::FencedLeaderEpoch,
        Mark::DivergingEpoch,
        Mark::IdempotentDuplicate,
        Mark::OutOfOrderSequence,
        Mark::ElrElection,
        Mark::FetchAnswerFromAnotherEpoch,
        Mark::HwFromEarlierEpoch,
        Mark::IsrExpandBelowEpochStart,
        Mark::IsrAddWithStaleBrokerEpoch,
        Mark::StaleControllerEpochApplied,
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
            Mark::FetchAnswerFromAnotherEpoch => "old-rule:fetch-answer-from-another-epoch",
            Mark::HwFromEarlierEpoch => "old-rule:hw-from-an-earlier-epoch",
            Mark::IsrExpandBelowEpochStart => "old-rule:isr-expand-below-epoch-start",
            Mark::IsrAddWithStaleBrokerEpoch => "old-rule:isr-add-with-stale-broker-epoch",
            Mark::StaleControllerEpochApplied => "old-rule:stale-controller-epoch-applied",
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

impl Ready {
    /// Append a later step's output, keeping each list in order (disk writes still all
    /// apply before any send leaves).
    pub fn extend(&mut self, later: Ready) {
        self.disk.extend(later.disk);
        self.sends.extend(later.sends);
        self.notes.extend(later.notes);
    }
}
