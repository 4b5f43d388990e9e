//! The simulated disk of each broker, held by the harness so that it outlives a killed
//! process. Appends land in the page cache; `Flush` (from `log.flush.interval.*`) makes them
//! durable. A process crash keeps the page cache; a power loss drops everything not flushed.
//! Checkpoint files (HW, leader epochs) are written with fsync, as Kafka does.

use std::collections::BTreeMap;

use ksim_model::quorum::{PersistOp, Persistent};
use ksim_model::{
    BrokerId, Command, DiskOp, EpochEntry, Offset, PartitionId, PartitionLog, Record,
};

#[derive(Clone, Debug, Default)]
struct PartitionDisk {
    records: Vec<Record>,
    /// Records below this index are on stable storage.
    flushed: usize,
    epochs: Vec<EpochEntry>,
    hw_checkpoint: Offset,
}

/// Every broker's disk.
#[derive(Debug, Default)]
pub struct Disks {
    brokers: BTreeMap<BrokerId, BTreeMap<PartitionId, PartitionDisk>>,
    /// Each controller's term, vote and metadata log. Controllers fsync every write before
    /// they send (unlike brokers), so a power loss takes nothing from them.
    controllers: BTreeMap<u32, Persistent<Command>>,
    pub flushes: u64,
}

/// What a power loss took from one partition's log.
#[derive(Debug, Clone)]
pub struct LostSuffix {
    pub partition: PartitionId,
    pub from_offset: Offset,
    pub records: Vec<Record>,
}

impl Disks {
    pub fn apply(&mut self, broker: BrokerId, ops: &[DiskOp]) {
        let disk = self.brokers.entry(broker).or_default();
        for op in ops {
            match op {
                DiskOp::Append { partition, records } => {
                    let d = disk.entry(*partition).or_default();
                    assert_eq!(
                        records.first().map(|r| r.offset),
                        Some(d.records.len() as Offset),
                        "disk append must continue the log"
                    );
                    d.records.extend(records.iter().cloned());
                }
                DiskOp::Truncate { partition, offset } => {
                    let d = disk.entry(*partition).or_default();
                    let keep = (*offset).max(0) as usize;
                    d.records.truncate(keep);
                    d.flushed = d.flushed.min(keep);
                }
                DiskOp::Flush { partition } => {
                    let d = disk.entry(*partition).or_default();
                    d.flushed = d.records.len();
                    self.flushes += 1;
                }
                DiskOp::CheckpointHw { partition, hw } => {
                    disk.entry(*partition).or_default().hw_checkpoint = *hw
                }
                DiskOp::CheckpointEpochs { partition, epochs } => {
                    disk.entry(*partition).or_default().epochs = epochs.clone()
                }
            }
        }
    }

    pub fn apply_controller(&mut self, controller: u32, ops: &[PersistOp<Command>]) {
        let disk = self.controllers.entry(controller).or_default();
        for op in ops {
            disk.apply(op);
        }
    }

    /// What a restarting controller reads back.
    pub fn recover_controller(&self, controller: u32) -> Persistent<Command> {
        self.controllers
            .get(&controller)
            .cloned()
            .unwrap_or_default()
    }

    /// Drop every unflushed record of `broker` and say what was lost. `lying` is the planted
    /// flaw `disk-keeps-unflushed`: the disk keeps its page cache, and says so.
    pub fn power_loss(&mut self, broker: BrokerId, lying: bool) -> Vec<LostSuffix> {
        let mut lost = Vec::new();
        for (p, d) in self.brokers.entry(broker).or_default().iter_mut() {
            if d.flushed < d.records.len() && !lying {
                let records = d.records.split_off(d.flushed);
                lost.push(LostSuffix {
                    partition: *p,
                    from_offset: d.flushed as Offset,
                    records,
                });
            }
        }
        lost
    }

    /// What a restarting broker reads back: its logs, epoch caches and HW checkpoints.
    pub fn recover(&self, broker: BrokerId) -> BTreeMap<PartitionId, PartitionLog> {
        let Some(disk) = self.brokers.get(&broker) else {
            return BTreeMap::new();
        };
        disk.iter()
            .map(|(p, d)| {
                (
                    *p,
                    PartitionLog::recover(d.records.clone(), d.epochs.clone(), d.hw_checkpoint),
                )
            })
            .collect()
    }

    /// The log of `broker`'s replica of `partition` as its disk holds it (the page cache
    /// included), and how many of its records are flushed; `None` if it never wrote to it.
    pub fn log(&self, broker: BrokerId, partition: PartitionId) -> Option<(&[Record], usize)> {
        let d = self.brokers.get(&broker)?.get(&partition)?;
        Some((&d.records, d.flushed))
    }

    /// Records on the page cache only, over all partitions of `broker`.
    pub fn unflushed(&self, broker: BrokerId) -> usize {
        self.brokers
            .get(&broker)
            .map(|d| d.values().map(|p| p.records.len() - p.flushed).sum())
            .unwrap_or(0)
    }
}
