//! A batch's attempts and how each record's operation ends: the Produce request, `acks`,
//! `retries` with `retry.backoff.ms`, `delivery.timeout.ms`, and the idempotent session that
//! ends when a record's fate is unknown (KIP-360).

use super::requests::Answer;
use super::{Batch, InFlight, Producer, Retry};
use crate::client::Effect;
use crate::config::Acks;
use crate::history::{value_with_id, Op, OpType};
use crate::ids::*;
use crate::messages::{ProduceRecord, Request};
use crate::selftest::Flaw;

impl Producer {
    /// One attempt of `batch` to `leader`. Each value carries the record's id in its first 8
    /// bytes; with acks=0 the record is done once sent.
    pub(super) fn send(&mut self, mut batch: Batch, leader: BrokerId) {
        let value_bytes = self.setup.value_bytes;
        let records = batch
            .records
            .iter()
            .map(|rec| ProduceRecord {
                key: rec.key.clone(),
                value: value_with_id(rec.value, value_bytes).into(),
            })
            .collect();
        self.correlation += 1;
        let pc = self.cfg();
        let request = Request::Produce {
            correlation_id: self.correlation,
            partition: batch.partition,
            acks: pc.acks,
            timeout_ms: pc.request_timeout_ms,
            producer_id: batch.producer_id,
            base_sequence: batch.sequence,
            records,
        };
        let (acks, deadline_ms) = (pc.acks, self.now() + pc.request_timeout_ms);
        self.send_to(NodeId::Broker(leader), request);
        batch.attempts += 1;
        if acks == Acks::None {
            // acks=0: the client counts the send as done; no offset is known.
            self.complete(&batch, OpType::Ok, None, None);
        } else {
            let f = InFlight {
                batch,
                broker: leader,
                deadline_ms,
            };
            self.in_flight.insert(self.correlation, f);
        }
    }

    /// Send the retries that are due, oldest first per partition, while the leader has room.
    pub(super) fn send_retries(&mut self) {
        let partitions: Vec<PartitionId> = self.retries.keys().copied().collect();
        for p in partitions {
            self.give_up_expired(p);
            while let Some(&leader) = self.leaders.get(&p) {
                // A retry given up may have ended the idempotent session, and the retries
                // with it.
                let front = self.retries.get(&p).and_then(|q| q.front());
                let due = front.is_some_and(|r| r.due_ms <= self.now());
                if !due || !self.room(leader) {
                    break;
                }
                let r = self
                    .retries
                    .get_mut(&p)
                    .and_then(|q| q.pop_front())
                    .expect("due");
                self.send(r.batch, leader);
            }
        }
        self.retries.retain(|_, q| !q.is_empty());
    }

    /// Waiting retries past `delivery.timeout.ms` (no leader to send them to) are given up.
    fn give_up_expired(&mut self, p: PartitionId) {
        let (now, limit) = (self.now(), self.cfg().delivery_timeout_ms);
        let Some(q) = self.retries.get_mut(&p) else {
            return;
        };
        let (expired, kept): (Vec<Retry>, Vec<Retry>) =
            q.drain(..).partition(|r| now >= r.batch.created_ms + limit);
        *q = kept.into();
        for r in expired {
            let kind = if r.batch.maybe_appended {
                OpType::Info
            } else {
                OpType::Fail
            };
            self.give_up(&r.batch, kind, "delivery.timeout.ms expired");
        }
    }

    /// An attempt failed: send it again if `retries` and `delivery.timeout.ms` allow, else
    /// complete the operation (`info` if any attempt may have been appended).
    pub(super) fn failed(&mut self, mut batch: Batch, kind: OpType, why: &str) {
        let pc = self.cfg();
        batch.maybe_appended |= kind == OpType::Info;
        let due_ms = self.now() + pc.retry_backoff_ms;
        let session = batch.producer_id < 0 || Some(batch.producer_id) == self.producer_id;
        if batch.attempts <= pc.retries
            && due_ms < batch.created_ms + pc.delivery_timeout_ms
            && session
        {
            let newest_first = self.setup.selftest.planted(Flaw::ReorderRetries);
            let q = self.retries.entry(batch.partition).or_default();
            // In the order the records were first sent: an idempotent leader takes them only
            // in sequence order.
            let at = q
                .iter()
                .position(|r| (r.batch.first_value() > batch.first_value()) != newest_first)
                .unwrap_or(q.len());
            q.insert(at, Retry { batch, due_ms });
            return;
        }
        let kind = if batch.maybe_appended {
            OpType::Info
        } else {
            kind
        };
        self.give_up(&batch, kind, why);
    }

    /// Complete an operation that failed for good. An idempotent producer that gives up a
    /// record whose sequence number the leader may or may not hold can no longer continue
    /// that sequence: it ends the session, as Kafka's producer bumps its epoch (KIP-360).
    /// Whatever else waits for a retry in that session is given up with it, so that a record
    /// is only ever sent under one producer id.
    pub(super) fn give_up(&mut self, batch: &Batch, kind: OpType, why: &str) {
        self.complete(batch, kind, None, Some(why.to_string()));
        if batch.producer_id < 0 || Some(batch.producer_id) != self.producer_id {
            return;
        }
        self.producer_id = None;
        self.next_sequence.clear();
        let waiting: Vec<Batch> = std::mem::take(&mut self.retries)
            .into_values()
            .flatten()
            .map(|r| r.batch)
            .chain(
                std::mem::take(&mut self.accumulator)
                    .into_values()
                    .flatten(),
            )
            .collect();
        for b in waiting {
            let kind = if b.maybe_appended {
                OpType::Info
            } else {
                OpType::Fail
            };
            self.complete(&b, kind, None, Some("idempotent session ended".into()));
        }
    }

    /// Complete every record of `batch`; on an acknowledgement record i has offset
    /// `answer.offset + i`.
    pub(super) fn complete(
        &mut self,
        batch: &Batch,
        kind: OpType,
        answer: Option<Answer>,
        error: Option<String>,
    ) {
        for (i, rec) in batch.records.iter().enumerate() {
            self.out.push(Effect::Record(Op {
                time_ms: self.now(),
                process: self.setup.idx,
                kind,
                f: "send",
                value: rec.value,
                partition: batch.partition,
                offset: answer.map(|a| a.offset + i as i64),
                error: error.clone(),
                producer_id: (batch.producer_id >= 0).then_some(batch.producer_id),
                leader_epoch: answer.map(|a| a.leader_epoch),
                broker: answer.and_then(|a| a.broker),
            }));
        }
    }

    /// Every attempt in flight to `peer` failed (its connection closed): each is retried or
    /// completed, and the partitions it led are looked up again.
    pub(super) fn fail_all_to(&mut self, peer: NodeId, kind: OpType, why: &str) {
        let NodeId::Broker(b) = peer else { return };
        let gone: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.broker == b)
            .map(|(c, _)| *c)
            .collect();
        for c in gone {
            let f = self.in_flight.remove(&c).expect("listed above");
            self.failed(f.batch, kind, why);
        }
        self.leaders.retain(|_, l| *l != b);
    }
}
