//! The simulated disk of each broker, held by the harness so that it outlives a killed
//! process. Appends land in the page cache; `Flush` (from `log.flush.interval.*`) makes them
//! durable. A process crash keeps the page cache; a power loss drops everything not flushed.
//! Checkpoint files (HW, leader epochs) are written with fsync, as Kafka does.

use std::collections::BTreeMap;

use ksim_model::quorum::{PersistOp, Persistent};
use ksim_model::zookeeper::Txn;
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
    /// Each ZooKeeper server's transaction log and epoch files.
    zookeepers: BTreeMap<u32, ZkDisk>,
    pub flushes: u64,
}

/// A ZooKeeper server's disk: what it wrote, and what of it an fsync made durable when that is
/// less (`forceSync=no` leaves writes in the page cache).
#[derive(Debug, Default)]
struct ZkDisk {
    written: Persistent<Txn>,
    /// `None`: everything written is durable.
    durable: Option<Persistent<Txn>>,
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

    /// A ZooKeeper server's writes of one step, fsynced or left in the page cache.
    pub fn apply_zookeeper(&mut self, server: u32, ops: &[PersistOp<Txn>], fsync: bool) {
        let disk = self.zookeepers.entry(server).or_default();
        if !fsync && !ops.is_empty() && disk.durable.is_none() {
            disk.durable = Some(disk.written.clone());
        }
        for op in ops {
            disk.written.apply(op);
        }
        if fsync {
            disk.durable = None;
        }
    }

    /// What a restarting ZooKeeper server reads back.
    pub fn recover_zookeeper(&self, server: u32) -> Persistent<Txn> {
        self.zookeepers
            .get(&server)
            .map(|d| d.written.clone())
            .unwrap_or_default()
    }

    /// A ZooKeeper server loses power: its disk keeps what was fsynced. How many log entries
    /// were lost.
    pub fn zookeeper_power_loss(&mut self, server: u32) -> usize {
        let disk = self.zookeepers.entry(server).or_default();
        match disk.durable.take() {
            Some(durable) => {
                let lost = disk.written.log.len().saturating_sub(durable.log.len());
                disk.written = durable;
                lost
            }
            None => 0,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use ksim_model::quorum::Entry;

    fn records(from: Offset, n: usize) -> Vec<Record> {
        (from..from + n as Offset)
            .map(|offset| Record {
                offset,
                leader_epoch: 1,
                producer_id: -1,
                sequence: -1,
                base_offset: offset,
                key: bytes::Bytes::new(),
                value: bytes::Bytes::from(format!("v{offset}")),
            })
            .collect()
    }

    fn append(partition: PartitionId, from: Offset, n: usize) -> DiskOp {
        DiskOp::Append {
            partition,
            records: records(from, n),
        }
    }

    fn offsets(disks: &Disks, broker: BrokerId, p: PartitionId) -> (Vec<Offset>, usize) {
        let (log, flushed) = disks.log(broker, p).expect("written");
        (log.iter().map(|r| r.offset).collect(), flushed)
    }

    #[test]
    fn a_power_loss_takes_exactly_the_unflushed_suffix_of_each_partition() {
        let mut d = Disks::default();
        d.apply(1, &[append(0, 0, 3), DiskOp::Flush { partition: 0 }]);
        d.apply(1, &[append(0, 3, 2), append(1, 0, 1)]);
        // Partition 2 is flushed to its end: it loses nothing, and no loss is reported for it.
        d.apply(1, &[append(2, 0, 2), DiskOp::Flush { partition: 2 }]);
        assert_eq!((d.flushes, d.unflushed(1)), (2, 3));
        assert_eq!(offsets(&d, 1, 0), (vec![0, 1, 2, 3, 4], 3));
        let lost = d.power_loss(1, false);
        let lost: Vec<_> = lost
            .iter()
            .map(|l| (l.partition, l.from_offset, l.records.len()))
            .collect();
        assert_eq!(lost, vec![(0, 3, 2), (1, 0, 1)]);
        assert_eq!(offsets(&d, 1, 0), (vec![0, 1, 2], 3));
        assert_eq!(d.unflushed(1), 0);
        assert_eq!(d.recover(1)[&0].leo(), 3);
        assert_eq!(d.recover(1)[&1].leo(), 0);
    }

    #[test]
    fn a_lying_disk_keeps_its_page_cache_and_a_crash_keeps_it_too() {
        let mut d = Disks::default();
        d.apply(2, &[append(0, 0, 2)]);
        assert!(d.power_loss(2, true).is_empty());
        assert_eq!(offsets(&d, 2, 0), (vec![0, 1], 0));
        // A crash is no power loss: the restarted broker reads the page cache back.
        assert_eq!(d.recover(2)[&0].leo(), 2);
        assert!(d.recover(3).is_empty(), "a broker that never wrote");
        assert_eq!(d.unflushed(3), 0);
        assert!(d.log(3, 0).is_none());
    }

    #[test]
    fn a_truncation_below_the_flushed_offset_unflushes_nothing_it_kept() {
        let mut d = Disks::default();
        d.apply(1, &[append(0, 0, 4), DiskOp::Flush { partition: 0 }]);
        d.apply(
            1,
            &[DiskOp::Truncate {
                partition: 0,
                offset: 2,
            }],
        );
        assert_eq!(offsets(&d, 1, 0), (vec![0, 1], 2));
        // The record written at offset 2 after the cut is in the page cache only.
        d.apply(1, &[append(0, 2, 1)]);
        let lost = d.power_loss(1, false);
        assert_eq!(lost.len(), 1);
        assert_eq!((lost[0].from_offset, lost[0].records.len()), (2, 1));
        d.apply(
            1,
            &[DiskOp::Truncate {
                partition: 0,
                offset: -1,
            }],
        );
        assert_eq!(offsets(&d, 1, 0), (vec![], 0));
    }

    #[test]
    fn a_restart_reads_back_the_hw_checkpoint_within_the_log() {
        let mut d = Disks::default();
        d.apply(
            1,
            &[
                append(0, 0, 4),
                DiskOp::CheckpointHw {
                    partition: 0,
                    hw: 3,
                },
            ],
        );
        assert_eq!(d.recover(1)[&0].hw(), 3);
        d.apply(
            1,
            &[DiskOp::CheckpointHw {
                partition: 0,
                hw: 9,
            }],
        );
        assert_eq!(d.recover(1)[&0].hw(), 4, "never above the LEO");
    }

    #[test]
    fn a_controller_reads_back_every_write() {
        let mut d = Disks::default();
        assert_eq!(d.recover_controller(1), Persistent::default());
        let entry = Entry {
            term: 2,
            index: 1,
            payload: Command::ExpireSessions { now: 5 },
        };
        d.apply_controller(
            1,
            &[
                PersistOp::SetTermVote {
                    term: 2,
                    voted_for: Some(1),
                },
                PersistOp::Append(vec![entry.clone()]),
            ],
        );
        let back = d.recover_controller(1);
        assert_eq!(
            (back.term, back.voted_for, back.log),
            (2, Some(1), vec![entry])
        );
        assert_eq!(d.recover_controller(2), Persistent::default());
    }
}
