//! One replica's partition log: records, the leader-epoch cache, LEO and HW, and truncation.
//! Pure data; the broker decides when to append or truncate, and reports each change as a
//! `DiskOp` so the harness can mirror it onto the simulated disk.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

use crate::ids::{Epoch, Offset};

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
    /// The offset of the first record of the batch it was appended with (Kafka's
    /// `RecordBatch` base offset): an idempotent producer's retry is matched by batch.
    pub base_offset: Offset,
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

/// How many of an idempotent producer's latest batches a replica remembers (Kafka's
/// `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`): a retry of any of them is answered with the
/// offset it already has, which is why the producer may keep at most 5 requests in flight.
pub const PRODUCER_BATCHES_RETAINED: usize = 5;

/// One batch of an idempotent producer in the producer state (Kafka's `BatchMetadata`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ProducerBatch {
    first_sequence: i32,
    last_sequence: i32,
    base_offset: Offset,
}

/// Where an idempotent producer's batch stands against what this log holds for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    /// No record of this producer here: any sequence is accepted (Kafka accepts a producer
    /// it has no state for, e.g. after its records were truncated away).
    Unknown,
    /// The next sequence: append.
    Next,
    /// A retry of a batch this log holds, at this offset: answer with it, append nothing.
    Duplicate(Offset),
    /// A gap, or a batch older than the retained ones: OUT_OF_ORDER_SEQUENCE_NUMBER.
    OutOfOrder { last: i32 },
}

/// A partition log with its leader-epoch cache and high watermark.
#[derive(Clone, Debug, Default)]
pub struct PartitionLog {
    records: Vec<Record>,
    epochs: Vec<EpochEntry>,
    hw: Offset,
    /// Each idempotent producer's last batches, oldest first: Kafka's producer state. It is
    /// derived from the records, and rebuilt from them after a truncation or a recovery, as
    /// Kafka rebuilds it from the log's batches.
    producers: BTreeMap<i64, VecDeque<ProducerBatch>>,
}

impl PartitionLog {
    /// Rebuild a log from what survived on disk. As a broker does on recovery, the epoch
    /// cache is cut back to the log end and the HW checkpoint to the LEO: a power loss may have
    /// dropped records that the (separately fsynced) checkpoint files still mention.
    ///
    /// The epoch checkpoint is read but not trusted: the cache is rebuilt from the records'
    /// epochs (`rebuild_missing_epochs`), so an epoch a replica led without writing is not
    /// kept across a restart.
    pub fn recover(
        records: Vec<Record>,
        _epoch_checkpoint: Vec<EpochEntry>,
        hw_checkpoint: Offset,
    ) -> Self {
        let leo = records.len() as Offset;
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.offset, i as Offset, "log offsets must be dense from 0");
        }
        let mut log = PartitionLog {
            records,
            epochs: Vec::new(),
            hw: 0,
            producers: BTreeMap::new(),
        };
        log.rebuild_missing_epochs();
        log.rebuild_producers();
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
            remember_batch(&mut self.producers, r);
            self.records.push(r.clone());
        }
    }

    fn rebuild_producers(&mut self) {
        let mut producers = BTreeMap::new();
        for r in &self.records {
            remember_batch(&mut producers, r);
        }
        self.producers = producers;
    }

    /// Kafka's `ProducerAppendInfo.checkSequence` for a batch of `producer_id` with sequence
    /// numbers `sequence..=last_sequence`: a duplicate is a retained batch with both the same
    /// first and last sequence number (`ProducerStateEntry.findDuplicateBatch`).
    pub fn check_sequence(
        &self,
        producer_id: i64,
        sequence: i32,
        last_sequence: i32,
    ) -> SequenceCheck {
        let Some(batches) = self.producers.get(&producer_id) else {
            return SequenceCheck::Unknown;
        };
        if let Some(b) = batches
            .iter()
            .find(|b| b.first_sequence == sequence && b.last_sequence == last_sequence)
        {
            return SequenceCheck::Duplicate(b.base_offset);
        }
        let last = batches.back().map(|b| b.last_sequence).unwrap_or(-1);
        if sequence == last.wrapping_add(1) {
            SequenceCheck::Next
        } else {
            SequenceCheck::OutOfOrder { last }
        }
    }

    /// Drop every record at or above `offset` and the cache entries that start there.
    pub fn truncate_to(&mut self, offset: Offset) {
        let offset = offset.clamp(0, self.leo());
        let cut_idempotent = self.records[offset as usize..]
            .iter()
            .any(|r| r.producer_id >= 0);
        self.records.truncate(offset as usize);
        self.epochs.retain(|e| e.start_offset < offset);
        self.hw = self.hw.min(offset);
        if cut_idempotent {
            self.rebuild_producers();
        }
    }

    /// Set the HW. A replica's HW never passes its own LEO.
    pub fn set_hw(&mut self, hw: Offset) {
        assert!(hw >= 0, "negative HW");
        assert!(hw <= self.leo(), "HW {hw} above LEO {}", self.leo());
        self.hw = hw;
    }

    /// Set the HW without the LEO check: only the planted flaw `FollowerHwAboveLeo` does
    /// this, so that the simulator's replica check (not this assertion) must catch it.
    pub fn set_hw_unchecked(&mut self, hw: Offset) {
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

    /// Up to `max` records from `offset`, and on to the end of the last batch read: like
    /// Kafka's fetch, which returns whole batches, so that a follower's log (and so the HW)
    /// ends on a batch boundary.
    pub fn read(&self, offset: Offset, max: usize) -> Vec<Record> {
        let start = (offset.max(0) as usize).min(self.records.len());
        let mut end = (start + max).min(self.records.len());
        while end > start
            && end < self.records.len()
            && self.records[end].base_offset < end as Offset
        {
            end += 1;
        }
        self.records[start..end].to_vec()
    }
}

/// Remember an idempotent producer's record: the first record of a batch opens a batch entry,
/// the others extend it.
fn remember_batch(producers: &mut BTreeMap<i64, VecDeque<ProducerBatch>>, r: &Record) {
    if r.producer_id < 0 {
        return;
    }
    let batches = producers.entry(r.producer_id).or_default();
    match batches.back_mut() {
        Some(b) if r.offset != r.base_offset && b.base_offset == r.base_offset => {
            b.last_sequence = r.sequence;
        }
        _ => {
            batches.push_back(ProducerBatch {
                first_sequence: r.sequence,
                last_sequence: r.sequence,
                base_offset: r.base_offset,
            });
            if batches.len() > PRODUCER_BATCHES_RETAINED {
                batches.pop_front();
            }
        }
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
            base_offset: offset,
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

    fn idem(offset: Offset, producer_id: i64, sequence: i32) -> Record {
        Record {
            producer_id,
            sequence,
            ..rec(offset, 0)
        }
    }

    #[test]
    fn the_last_five_batches_of_each_producer_answer_retries_and_a_gap_is_out_of_order() {
        let mut log = PartitionLog::default();
        assert_eq!(log.check_sequence(7, 3, 3), SequenceCheck::Unknown);
        let records: Vec<Record> = (0..7).map(|i| idem(i, 7, i as i32)).collect();
        log.append(&records);
        log.append(&[rec(7, 0)]);
        assert_eq!(log.check_sequence(7, 7, 7), SequenceCheck::Next);
        assert_eq!(log.check_sequence(7, 6, 6), SequenceCheck::Duplicate(6));
        assert_eq!(log.check_sequence(7, 2, 2), SequenceCheck::Duplicate(2));
        // Older than the five retained batches: Kafka cannot tell, and answers out of order.
        assert_eq!(
            log.check_sequence(7, 1, 1),
            SequenceCheck::OutOfOrder { last: 6 }
        );
        assert_eq!(
            log.check_sequence(7, 9, 9),
            SequenceCheck::OutOfOrder { last: 6 }
        );
        assert_eq!(log.check_sequence(8, 5, 5), SequenceCheck::Unknown);
        // A truncation forgets the batches it cut; a recovery rebuilds them from the records.
        log.truncate_to(5);
        assert_eq!(log.check_sequence(7, 5, 5), SequenceCheck::Next);
        assert_eq!(log.check_sequence(7, 0, 0), SequenceCheck::Duplicate(0));
        let recovered = PartitionLog::recover(log.records().to_vec(), Vec::new(), 0);
        assert_eq!(
            recovered.check_sequence(7, 4, 4),
            SequenceCheck::Duplicate(4)
        );
        assert_eq!(recovered.check_sequence(7, 5, 5), SequenceCheck::Next);
    }

    /// Batches of several records: a retry is matched by its first sequence number, and the
    /// next batch must start right after the last record of the previous one.
    #[test]
    fn a_batch_of_several_records_is_one_entry_of_the_producer_state() {
        let mut log = PartitionLog::default();
        let batch = |base: Offset, seqs: std::ops::Range<i32>| -> Vec<Record> {
            seqs.enumerate()
                .map(|(i, seq)| Record {
                    base_offset: base,
                    ..idem(base + i as Offset, 7, seq)
                })
                .collect()
        };
        log.append(&batch(0, 0..3));
        log.append(&batch(3, 3..5));
        assert_eq!(log.check_sequence(7, 0, 2), SequenceCheck::Duplicate(0));
        assert_eq!(log.check_sequence(7, 3, 4), SequenceCheck::Duplicate(3));
        assert_eq!(log.check_sequence(7, 5, 9), SequenceCheck::Next);
        // A sequence inside a batch is no batch's start, and a batch that only starts like a
        // retained one is not a retry of it.
        assert_eq!(
            log.check_sequence(7, 1, 1),
            SequenceCheck::OutOfOrder { last: 4 }
        );
        assert_eq!(
            log.check_sequence(7, 0, 1),
            SequenceCheck::OutOfOrder { last: 4 }
        );
        // A read ends on a batch boundary, whatever its limit.
        assert_eq!(log.read(0, 1).len(), 3);
        assert_eq!(log.read(1, 1).len(), 2);
        assert_eq!(log.read(0, 4).len(), 5);
        log.truncate_to(3);
        assert_eq!(log.check_sequence(7, 3, 4), SequenceCheck::Next);
        assert_eq!(log.check_sequence(7, 0, 2), SequenceCheck::Duplicate(0));
    }

    #[test]
    fn a_read_returns_whole_batches_and_nothing_when_asked_for_none() {
        let mut log = PartitionLog::default();
        let batch = |offset, base| Record {
            base_offset: base,
            ..rec(offset, 1)
        };
        log.append(&[batch(0, 0), batch(1, 0), batch(2, 0), batch(3, 3)]);
        let offsets = |v: Vec<Record>| v.iter().map(|r| r.offset).collect::<Vec<_>>();
        assert_eq!(
            offsets(log.read(0, 1)),
            vec![0, 1, 2],
            "rounded up to the batch"
        );
        assert_eq!(offsets(log.read(1, 0)), Vec::<Offset>::new());
        assert_eq!(offsets(log.read(3, 5)), vec![3]);
    }

    /// Producer ids count from 0 (the controller's first InitProducerId answer): producer 0's
    /// batches are remembered like any other's.
    #[test]
    fn the_first_producer_id_is_zero_and_is_remembered() {
        let mut log = PartitionLog::default();
        log.append(&[idem(0, 0, 0), idem(1, 0, 1)]);
        assert_eq!(log.check_sequence(0, 1, 1), SequenceCheck::Duplicate(1));
        assert_eq!(log.check_sequence(0, 2, 2), SequenceCheck::Next);
    }
}
