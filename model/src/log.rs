//! One replica's partition log: records, the leader-epoch cache, LEO and HW, and truncation.
//! Pure data; the broker decides when to append or truncate, and reports each change as a
//! `DiskOp` so the harness can mirror it onto the simulated disk.

use bytes::Bytes;

use crate::types::{Epoch, Offset};

/// One record as stored in the log. Each record carries the leader epoch it was written in,
/// which is what leader-epoch truncation (KIP-101/KIP-279) compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub offset: Offset,
    pub leader_epoch: Epoch,
    /// Idempotent producer id; -1 when the producer is not idempotent (Kafka's NO_PRODUCER_ID).
    pub producer_id: i64,
    /// Per-partition sequence number; -1 without idempotence.
    pub sequence: i32,
    pub key: Bytes,
    pub value: Bytes,
}

/// An entry of the leader-epoch cache (Kafka's leader-epoch-checkpoint file): the first
/// offset written in `epoch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: Epoch,
    pub start_offset: Offset,
}

/// A partition log with its leader-epoch cache and high watermark.
#[derive(Clone, Debug, Default)]
pub struct PartitionLog {
    records: Vec<Record>,
    epochs: Vec<EpochEntry>,
    hw: Offset,
}

impl PartitionLog {
    /// Rebuild a log from what survived on disk. As a broker does on recovery, the epoch
    /// cache is cut back to the log end and the HW checkpoint to the LEO: a power loss may have
    /// dropped records that the (separately fsynced) checkpoint files still mention.
    pub fn recover(
        records: Vec<Record>,
        mut epochs: Vec<EpochEntry>,
        hw_checkpoint: Offset,
    ) -> Self {
        let leo = records.len() as Offset;
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.offset, i as Offset, "log offsets must be dense from 0");
        }
        epochs.retain(|e| e.start_offset < leo);
        let mut log = PartitionLog {
            records,
            epochs,
            hw: 0,
        };
        log.rebuild_missing_epochs();
        log.hw = hw_checkpoint.clamp(0, leo);
        log
    }

    /// The cache is derived from the surviving records' epochs, as Kafka's log recovery does
    /// when it reads batch epochs: entries the checkpoint had beyond the log are gone (Kafka's
    /// `truncateFromEnd(logEndOffset)`), and entries it lost are rebuilt.
    fn rebuild_missing_epochs(&mut self) {
        let mut rebuilt: Vec<EpochEntry> = Vec::new();
        for r in &self.records {
            if rebuilt.last().map(|e| e.epoch) != Some(r.leader_epoch) {
                rebuilt.push(EpochEntry {
                    epoch: r.leader_epoch,
                    start_offset: r.offset,
                });
            }
        }
        self.epochs = rebuilt;
    }

    pub fn leo(&self) -> Offset {
        self.records.len() as Offset
    }

    pub fn hw(&self) -> Offset {
        self.hw
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }

    pub fn epochs(&self) -> &[EpochEntry] {
        &self.epochs
    }

    pub fn get(&self, offset: Offset) -> Option<&Record> {
        usize::try_from(offset)
            .ok()
            .and_then(|i| self.records.get(i))
    }

    /// The epoch of the last record, or of the latest cache entry: what a follower sends as
    /// `last_fetched_epoch`.
    pub fn last_epoch(&self) -> Epoch {
        self.records.last().map(|r| r.leader_epoch).unwrap_or(-1)
    }

    /// The latest epoch in the cache (may be newer than the last record's epoch).
    pub fn latest_cached_epoch(&self) -> Epoch {
        self.epochs.last().map(|e| e.epoch).unwrap_or(-1)
    }

    /// Start offset of `epoch` in the cache, if it is there.
    pub fn epoch_start(&self, epoch: Epoch) -> Option<Offset> {
        self.epochs
            .iter()
            .find(|e| e.epoch == epoch)
            .map(|e| e.start_offset)
    }

    /// Record that `epoch` starts at the current LEO (a leader does this when it takes over).
    /// An epoch older than the cache's latest leaves the cache alone, as Kafka's
    /// `LeaderEpochFileCache.assign` does (it logs a warning): without KIP-320's fencing
    /// (`fetch_epoch_fencing = false`) a follower can fetch a newer epoch's records before it
    /// hears that it leads an older one. With the modern rules it cannot happen.
    pub fn assign_epoch_start(&mut self, epoch: Epoch) {
        let last = self.latest_cached_epoch();
        if epoch > last {
            self.epochs.push(EpochEntry {
                epoch,
                start_offset: self.leo(),
            });
        }
    }

    /// Append records; their offsets must continue the log. Returns nothing: the caller
    /// reports the append as a disk write.
    pub fn append(&mut self, records: &[Record]) {
        for r in records {
            assert_eq!(r.offset, self.leo(), "append must continue at the LEO");
            // A record from an epoch older than the cache's latest is kept, and the cache is
            // left alone, as Kafka's LeaderEpochFileCache does ("lower than the latest epoch:
            // ignoring"). Only a log that diverged gets one (the older truncation rules allow
            // that); the checkers report the divergence.
            let last = self.latest_cached_epoch();
            if r.leader_epoch > last {
                self.epochs.push(EpochEntry {
                    epoch: r.leader_epoch,
                    start_offset: r.offset,
                });
            }
            self.records.push(r.clone());
        }
    }

    /// Drop every record at or above `offset` and the cache entries that start there.
    pub fn truncate_to(&mut self, offset: Offset) {
        let offset = offset.clamp(0, self.leo());
        self.records.truncate(offset as usize);
        self.epochs.retain(|e| e.start_offset < offset);
        self.hw = self.hw.min(offset);
    }

    /// Set the HW. A replica's HW never passes its own LEO.
    pub fn set_hw(&mut self, hw: Offset) {
        assert!(hw >= 0, "negative HW");
        assert!(hw <= self.leo(), "HW {hw} above LEO {}", self.leo());
        self.hw = hw;
    }

    /// Kafka's OffsetsForLeaderEpoch answer (KIP-279): the largest epoch <= `epoch` in this
    /// log's cache and the offset where it ends (the start of the next epoch, or the LEO).
    /// `None` when every cached epoch is larger: the requester must truncate to 0.
    pub fn end_offset_for_epoch(&self, epoch: Epoch) -> Option<(Epoch, Offset)> {
        let idx = self.epochs.iter().rposition(|e| e.epoch <= epoch)?;
        let end = self
            .epochs
            .get(idx + 1)
            .map(|e| e.start_offset)
            .unwrap_or(self.leo());
        Some((self.epochs[idx].epoch, end))
    }

    /// Records from `offset`, at most `max` of them.
    pub fn read(&self, offset: Offset, max: usize) -> Vec<Record> {
        let start = (offset.max(0) as usize).min(self.records.len());
        let end = (start + max).min(self.records.len());
        self.records[start..end].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(offset: Offset, epoch: Epoch) -> Record {
        Record {
            offset,
            leader_epoch: epoch,
            producer_id: -1,
            sequence: -1,
            key: Bytes::new(),
            value: Bytes::from(format!("v{offset}")),
        }
    }

    #[test]
    fn leading_an_epoch_older_than_the_cache_leaves_the_cache_alone() {
        let mut log = PartitionLog::default();
        log.append(&[rec(0, 0), rec(1, 3)]);
        log.assign_epoch_start(2);
        assert_eq!(log.latest_cached_epoch(), 3);
        assert_eq!(log.epochs().len(), 2);
        log.assign_epoch_start(4);
        assert_eq!(log.epoch_start(4), Some(2));
    }

    #[test]
    fn epoch_cache_follows_appends_and_truncation() {
        let mut log = PartitionLog::default();
        log.append(&[rec(0, 0), rec(1, 0), rec(2, 2)]);
        assert_eq!(log.epochs().len(), 2);
        assert_eq!(log.end_offset_for_epoch(0), Some((0, 2)));
        assert_eq!(log.end_offset_for_epoch(1), Some((0, 2)));
        assert_eq!(log.end_offset_for_epoch(2), Some((2, 3)));
        log.truncate_to(2);
        assert_eq!(log.epochs().len(), 1);
        assert_eq!(log.end_offset_for_epoch(5), Some((0, 2)));
    }

    #[test]
    fn recovery_clamps_checkpoints_to_surviving_log() {
        let epochs = vec![
            EpochEntry {
                epoch: 0,
                start_offset: 0,
            },
            EpochEntry {
                epoch: 3,
                start_offset: 5,
            },
        ];
        let log = PartitionLog::recover(vec![rec(0, 0), rec(1, 0)], epochs, 4);
        assert_eq!(log.leo(), 2);
        assert_eq!(log.hw(), 2);
        assert_eq!(
            log.epochs(),
            &[EpochEntry {
                epoch: 0,
                start_offset: 0
            }]
        );
    }
}
