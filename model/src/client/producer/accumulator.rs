//! Where a record goes and when its batch leaves: `partitioner.class`, and the accumulator
//! (Kafka's `RecordAccumulator`) that holds batches for `linger.ms` or until `batch.size`.

use std::collections::VecDeque;

use rand::Rng;

use super::{Batch, Producer, ProducerRecord, Rec};
use crate::client::config::Partitioner;
use crate::client::Effect;
use crate::history::{Op, OpType};
use crate::ids::*;

/// Kafka's `DefaultRecord` framing around a record's key and value (length, attributes,
/// timestamp and offset deltas, header count, for small records), and a batch's header
/// (`RECORD_BATCH_OVERHEAD`): what counts towards `batch.size`.
const RECORD_OVERHEAD: usize = 7;
pub(super) const BATCH_OVERHEAD: usize = 61;

impl Producer {
    /// The application hands the producer one record; whether it took it.
    pub(super) fn offer(&mut self, record: ProducerRecord) -> bool {
        let size = RECORD_OVERHEAD + record.key.len() + self.setup.value_bytes;
        let topic = self.next_topic;
        self.next_topic = (topic + 1) % self.setup.topics;
        let p = self.partition_for(topic, &record.key);
        if BATCH_OVERHEAD + size > self.cfg().max_request_size {
            self.too_large(p, record.value, BATCH_OVERHEAD + size);
            return true;
        }
        // An idempotent producer numbers records only once it has its producer id.
        if self.cfg().enable_idempotence && self.producer_id.is_none() {
            return false;
        }
        if self.cfg().linger_ms == 0 {
            // Sent at once or not taken. Retries of this partition go first.
            let waiting = self.retries.get(&p).is_some_and(|q| !q.is_empty());
            let Some(&leader) = self.leaders.get(&p).filter(|_| !waiting) else {
                return false;
            };
            if !self.room(leader) {
                return false;
            }
            self.sent_to_partition(p, size);
            let mut batch = Batch::new(p, self.now());
            self.append(&mut batch, record, size);
            self.send(batch, leader);
            return true;
        }
        self.sent_to_partition(p, size);
        let now = self.now();
        let batch_size = self.cfg().batch_size;
        let full = |b: &Batch| !b.records.is_empty() && b.bytes + size > batch_size;
        let q = self.accumulator.entry(p).or_default();
        let mut batch = match q.pop_back() {
            Some(b) if !full(&b) => b,
            Some(b) => {
                q.push_back(b);
                Batch::new(p, now)
            }
            None => Batch::new(p, now),
        };
        self.append(&mut batch, record, size);
        self.accumulator.entry(p).or_default().push_back(batch);
        true
    }

    /// The partition (of the cluster) for a record of `topic` with `key` (empty: none), by
    /// `partitioner.class`.
    fn partition_for(&mut self, topic: usize, key: &[u8]) -> PartitionId {
        let n = self.setup.partitions;
        let first = topic as i32 * n;
        let partitioner = self.cfg().partitioner;
        if !key.is_empty() && partitioner != Partitioner::RoundRobin {
            return first + crate::partitioner::partition_for_key(key, n);
        }
        if partitioner == Partitioner::Sticky {
            return self.sticky_partition(topic, first, n);
        }
        let i = self.next_partition[topic];
        self.next_partition[topic] = (i + 1) % n;
        first + i
    }

    /// KIP-794: a record without a key sticks to the topic's partition until `batch.size`
    /// bytes went to it; the next is drawn among the topic's partitions whose leader is known
    /// (all of them when none is).
    fn sticky_partition(&mut self, topic: usize, first: PartitionId, n: i32) -> PartitionId {
        match self.sticky.get(&topic) {
            Some((p, bytes)) if *bytes < self.cfg().batch_size.max(1) => return *p,
            _ => {}
        }
        let known: Vec<PartitionId> = self
            .leaders
            .keys()
            .copied()
            .filter(|p| (first..first + n).contains(p))
            .collect();
        let p = if known.is_empty() {
            first + self.setup.rng.gen_range(0..n)
        } else {
            known[self.setup.rng.gen_range(0..known.len())]
        };
        self.sticky.insert(topic, (p, 0));
        p
    }

    /// `size` bytes went to partition `p`: the sticky partitioner counts them.
    fn sent_to_partition(&mut self, p: PartitionId, size: usize) {
        for (sp, bytes) in self.sticky.values_mut() {
            if *sp == p {
                *bytes += size;
            }
        }
    }

    /// `send` refuses a record larger than `max.request.size` before it is batched: taken, and
    /// failed at once (it never left the client, so the failure is definite).
    fn too_large(&mut self, p: PartitionId, value: u64, bytes: usize) {
        let limit = self.cfg().max_request_size;
        for (kind, error) in [
            (OpType::Invoke, None),
            (OpType::Fail, Some(format!("RECORD_TOO_LARGE: {bytes} bytes serialized, larger than max.request.size={limit}"))),
        ] {
            self.out.push(Effect::Record(Op {
                time_ms: self.now(),
                process: self.setup.idx,
                kind,
                f: "send",
                value,
                partition: p,
                offset: None,
                error,
                producer_id: None,
                leader_epoch: None,
                broker: None,
            }));
        }
    }

    /// Add a new record to `batch`, with its sequence number in the idempotent session (a
    /// batch's records are numbered in a row): the record's `invoke`.
    fn append(&mut self, batch: &mut Batch, record: ProducerRecord, size: usize) {
        if let Some(id) = self.producer_id {
            let seq = self.next_sequence.entry(batch.partition).or_insert(0);
            if batch.records.is_empty() {
                batch.producer_id = id;
                batch.sequence = *seq;
            }
            *seq += 1;
        }
        self.out.push(Effect::Record(Op {
            time_ms: self.now(),
            process: self.setup.idx,
            kind: OpType::Invoke,
            f: "send",
            value: record.value,
            partition: batch.partition,
            offset: None,
            error: None,
            producer_id: (batch.producer_id >= 0).then_some(batch.producer_id),
            leader_epoch: None,
            broker: None,
        }));
        batch.records.push(Rec {
            value: record.value,
            key: record.key,
        });
        batch.bytes += size;
    }

    /// Whether a batch of partition `p` can go now: its leader is known and has room, and
    /// no retry of `p` waits (those are older).
    pub(super) fn sendable(&self, p: PartitionId) -> bool {
        self.leaders.get(&p).is_some_and(|l| self.room(*l))
            && self.retries.get(&p).is_none_or(|q| q.is_empty())
    }

    /// When the oldest batch of a partition's accumulator may go: at once when a newer batch
    /// follows it (it is full), else when it is full or has waited `linger.ms`.
    pub(super) fn ready_at(&self, q: &VecDeque<Batch>) -> Option<u64> {
        let b = q.front()?;
        let full = q.len() > 1 || b.bytes >= self.cfg().batch_size;
        Some(if full {
            b.created_ms
        } else {
            b.created_ms + self.cfg().linger_ms
        })
    }

    /// Send the accumulated batches that are ready, oldest first per partition, while their
    /// leader has room; give up those past `delivery.timeout.ms`.
    pub(super) fn send_accumulated(&mut self) {
        let now = self.now();
        let limit = self.cfg().delivery_timeout_ms;
        let partitions: Vec<PartitionId> = self.accumulator.keys().copied().collect();
        for p in partitions {
            // A batch given up may have ended the idempotent session, and the accumulator
            // with it.
            let Some(q) = self.accumulator.get_mut(&p) else {
                continue;
            };
            let (expired, kept): (Vec<Batch>, Vec<Batch>) =
                q.drain(..).partition(|b| now >= b.created_ms + limit);
            *q = kept.into();
            for b in expired {
                // Never sent: a definite failure.
                self.give_up(&b, OpType::Fail, "delivery.timeout.ms expired");
            }
            while self.sendable(p)
                && self
                    .accumulator
                    .get(&p)
                    .and_then(|q| self.ready_at(q))
                    .is_some_and(|t| t <= now)
            {
                let leader = self.leaders[&p];
                let batch = self
                    .accumulator
                    .get_mut(&p)
                    .and_then(|q| q.pop_front())
                    .expect("ready");
                self.send(batch, leader);
            }
        }
        self.accumulator.retain(|_, q| !q.is_empty());
    }
}
