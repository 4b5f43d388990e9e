//! The producer client: records at the workload's rate, placed by `partitioner.class`, sent in
//! batches to the leader it learned from metadata. Each record is one operation of the
//! history: `invoke` when it is handed to the producer, then `ok`, `fail` or `info` once,
//! whatever happens to its batch's attempts in between.
//!
//! With `linger.ms = 0` a record is sent at once in a batch of its own, or, when it cannot be
//! (no leader known, `max.in.flight.requests.per.connection` reached), it is not offered: the
//! workload's rate is a ceiling. With `linger.ms > 0` records wait in their partition's
//! accumulator (Kafka's `RecordAccumulator`): a batch goes when it holds `batch.size` bytes or
//! has waited `linger.ms`, once its leader is known and has room.
//!
//! With `retries` a failed attempt is sent again after `retry.backoff.ms`, until it succeeds,
//! the retries run out or `delivery.timeout.ms` passes. A retry of an attempt whose outcome was
//! unknown (a lost answer, a timeout) may append the batch a second time: duplicates, which
//! Kafka allows without idempotence. With `enable.idempotence` the producer first asks the
//! cluster for a producer id, numbers its records per partition, and the leader answers a retry
//! of a batch it already holds with that batch's offset (see `PartitionLog::check_sequence`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use ksim_model::{
    Acks, BrokerId, Epoch, ErrorCode, Flaw, NodeId, PartitionId, ProduceRecord, Request, Response,
};
use madsim::time::Instant;
use rand::Rng;

use crate::cluster::ctx::{lock, now_ms, Ctx};
use crate::cluster::net::{Inbound, NodeNet};
use crate::cluster::timer::Timer;
use crate::observer::{Op, OpType};
use crate::scenario::Partitioner;

/// Kafka's `DefaultRecord` framing around a record's key and value (length, attributes,
/// timestamp and offset deltas, header count, for small records), and a batch's header
/// (`RECORD_BATCH_OVERHEAD`): what counts towards `batch.size`.
const RECORD_OVERHEAD: usize = 7;
const BATCH_OVERHEAD: usize = 61;

/// One record of a batch.
#[derive(Clone, Debug)]
struct Rec {
    value: u64,
    /// The record's key (empty: no key).
    key: bytes::Bytes,
}

/// A batch of one partition's records on its way: created at `created_ms`, sent `attempts`
/// times so far.
#[derive(Clone, Debug)]
struct Batch {
    records: Vec<Rec>,
    /// Its size as `batch.size` counts it.
    bytes: usize,
    partition: PartitionId,
    /// The idempotent session it belongs to and its first record's sequence number (-1, -1
    /// without).
    producer_id: i64,
    sequence: i32,
    attempts: u32,
    created_ms: u64,
    /// Whether an earlier attempt may have been appended (its outcome was unknown).
    maybe_appended: bool,
}

impl Batch {
    /// The first record's value: batches keep the order their records were handed over in.
    fn first_value(&self) -> u64 {
        self.records[0].value
    }
}

/// An attempt the producer is waiting on.
struct InFlight {
    batch: Batch,
    broker: BrokerId,
    deadline_ms: u64,
}

/// What an acknowledgement carried: the batch's base offset, the leader epoch it was answered
/// in, and who answered.
#[derive(Clone, Copy, Debug)]
struct Answer {
    offset: i64,
    leader_epoch: Epoch,
    broker: Option<BrokerId>,
}

fn broker_of(node: NodeId) -> Option<BrokerId> {
    match node {
        NodeId::Broker(b) => Some(b),
        _ => None,
    }
}

/// A batch waiting to be sent again.
struct Retry {
    batch: Batch,
    due_ms: u64,
}

struct Producer {
    ctx: Arc<Ctx>,
    idx: u32,
    net: NodeNet,
    leaders: BTreeMap<PartitionId, BrokerId>,
    in_flight: BTreeMap<u64, InFlight>,
    /// Per partition, in the order the records were first sent (so in sequence order).
    retries: BTreeMap<PartitionId, VecDeque<Retry>>,
    correlation: u64,
    /// The idempotent session: its producer id once the cluster gave one, the next sequence
    /// number per partition, and the InitProducerId request in flight.
    producer_id: Option<i64>,
    next_sequence: BTreeMap<PartitionId, i32>,
    init_in_flight: Option<u64>,
    init_sent_ms: u64,
    next_init_ms: u64,
    /// With `linger.ms > 0`: per partition, the batches not sent yet, oldest first; the last
    /// one may still take records.
    accumulator: BTreeMap<PartitionId, VecDeque<Batch>>,
    /// Per topic, the sticky partitioner's partition for records without a key, and the bytes
    /// sent to it since it was drawn.
    sticky: BTreeMap<usize, (PartitionId, usize)>,
    sticky_rng: rand_chacha::ChaCha8Rng,
    /// Per topic, the round-robin partitioner's next partition (within the topic).
    next_partition: Vec<i32>,
    /// The topic of the next record: the producer writes to its topics in turn.
    next_topic: usize,
}

pub(crate) async fn producer_node(ctx: Arc<Ctx>, idx: u32) {
    let sc = ctx.sc.clone();
    let pc = sc.producer.clone();
    let me = NodeId::Client(idx);
    // The producer applies request.timeout.ms itself, per request.
    let mut shutdown = ctx.shutdown.subscribe();
    let net = NodeNet::bind(
        me,
        Duration::from_secs(86_400),
        ctx.stats.clone(),
        ctx.links.clone(),
        shutdown.clone(),
    )
    .await;
    let mut pr = Producer {
        ctx: ctx.clone(),
        idx,
        net,
        leaders: BTreeMap::new(),
        in_flight: BTreeMap::new(),
        retries: BTreeMap::new(),
        correlation: 0,
        producer_id: None,
        next_sequence: BTreeMap::new(),
        init_in_flight: None,
        init_sent_ms: 0,
        next_init_ms: 0,
        accumulator: BTreeMap::new(),
        sticky: BTreeMap::new(),
        sticky_rng: crate::scenario::streams::stream_of(
            ctx.seed,
            crate::scenario::streams::StreamId::Partitioner,
            u64::from(idx),
        ),
        next_partition: vec![idx as i32 % sc.partitions; sc.workload.topics.len()],
        next_topic: 0,
    };
    let interval = Duration::from_micros(1_000_000 / sc.workload.rate_per_sec.max(1) as u64);
    let end_ms = sc.workload.duration_ms;
    let mut metadata_in_flight = false;
    let mut metadata_sent_ms = 0u64;
    // Any controller answers Metadata; a producer moves to the next one when its current one
    // fails or does not answer within request.timeout.ms. InitProducerId goes to the same one,
    // and moves on when it is not the active controller.
    let controllers = sc.controllers.max(1);
    let mut metadata_from: u32 = (idx - 1) % controllers + 1;
    // retry.backoff.ms between metadata refreshes.
    let mut next_metadata = Instant::now();
    let mut next_send = Instant::now();
    // Keyed records (`[workload] keys`): the producer's n-th send slot writes key "key-<n mod
    // keys>", placed by the Java client's partitioner (murmur2 of the key bytes).
    let mut slot: u64 = 0;
    let mut wake_timer = Timer::new(Instant::now());
    loop {
        if !metadata_in_flight
            && (pr.leaders.len() as i32) < sc.total_partitions()
            && Instant::now() >= next_metadata
        {
            pr.correlation += 1;
            pr.net.send(
                NodeId::Controller(metadata_from),
                Request::Metadata {
                    correlation_id: pr.correlation,
                },
            );
            metadata_in_flight = true;
            metadata_sent_ms = now_ms();
        }
        if pc.enable_idempotence
            && pr.producer_id.is_none()
            && pr.init_in_flight.is_none()
            && now_ms() >= pr.next_init_ms
        {
            pr.correlation += 1;
            pr.init_in_flight = Some(pr.correlation);
            pr.init_sent_ms = now_ms();
            pr.net.send(
                NodeId::Controller(metadata_from),
                Request::InitProducerId {
                    correlation_id: pr.correlation,
                },
            );
        }
        let wake = pr
            .in_flight
            .values()
            .map(|f| f.deadline_ms)
            // A retry wakes the producer only when it can be sent then; one waiting for a
            // leader or for room is woken by the answer that brings either.
            .chain(
                pr.retries
                    .iter()
                    .filter(|(p, _)| pr.leaders.get(p).is_some_and(|l| pr.room(*l)))
                    .filter_map(|(_, q)| q.front())
                    .map(|r| r.due_ms),
            )
            .chain(
                (pc.enable_idempotence && pr.producer_id.is_none() && pr.init_in_flight.is_none())
                    .then_some(pr.next_init_ms),
            )
            // Likewise a batch of the accumulator, once linger.ms has passed.
            .chain(
                pr.accumulator
                    .iter()
                    .filter(|(p, _)| pr.sendable(**p))
                    .filter_map(|(_, q)| pr.ready_at(q)),
            )
            .min()
            .map(|d| Instant::now() + Duration::from_millis(d.saturating_sub(now_ms())));
        let want_metadata =
            !metadata_in_flight && (pr.leaders.len() as i32) < sc.total_partitions();
        let wake = [
            Some(next_send),
            wake,
            want_metadata.then_some(next_metadata),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(next_send);
        wake_timer.reset(wake);
        tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            _ = wake_timer.wait() => {}
            m = pr.net.recv() => {
                match m {
                    Inbound::Response { response: Response::Metadata { partitions, .. }, .. } => {
                        metadata_in_flight = false;
                        next_metadata = Instant::now() + Duration::from_millis(pc.retry_backoff_ms);
                        pr.leaders = partitions.iter().filter_map(|p| p.leader.map(|l| (p.partition, l))).collect();
                    }
                    Inbound::Response { response: Response::InitProducerId { correlation_id, result }, .. } => {
                        if pr.init_in_flight == Some(correlation_id) {
                            pr.init_in_flight = None;
                            match result {
                                Ok(id) => pr.producer_id = Some(id),
                                Err(_) => {
                                    metadata_from = metadata_from % controllers + 1;
                                    pr.next_init_ms = now_ms() + pc.retry_backoff_ms;
                                }
                            }
                        }
                    }
                    Inbound::Response { from, response: Response::Produce { correlation_id, leader_epoch, result, .. } } => {
                        if let Some(f) = pr.in_flight.remove(&correlation_id) {
                            match result {
                                Ok(offset) => {
                                    let answer = Answer { offset, leader_epoch, broker: broker_of(from) };
                                    pr.complete(&f.batch, OpType::Ok, Some(answer), None)
                                }
                                Err(e) => {
                                    pr.leaders.remove(&f.batch.partition);
                                    // NOT_ENOUGH_REPLICAS is decided before the append, and an
                                    // out-of-order batch is refused; the other errors may
                                    // follow an append the client cannot see.
                                    let definite = matches!(e, ErrorCode::NotEnoughReplicas | ErrorCode::OutOfOrderSequenceNumber);
                                    let kind = if definite { OpType::Fail } else { OpType::Info };
                                    pr.failed(f.batch, kind, e.name());
                                }
                            }
                        }
                    }
                    Inbound::Disconnected { peer, refused, .. } => {
                        if let NodeId::Controller(c) = peer {
                            if c == metadata_from {
                                metadata_in_flight = false;
                                pr.init_in_flight = None;
                                metadata_from = metadata_from % controllers + 1;
                            }
                        }
                        // A connection that never opened sent nothing: a definite failure.
                        let (kind, why) = if refused { (OpType::Fail, "connection refused") } else { (OpType::Info, "connection reset") };
                        pr.fail_all_to(peer, kind, why);
                    }
                    _ => {}
                }
            }
        }
        let now = now_ms();
        let init_expired = pr.init_in_flight.is_some()
            && now.saturating_sub(pr.init_sent_ms) >= sc.producer.request_timeout_ms;
        if init_expired
            || (metadata_in_flight
                && now.saturating_sub(metadata_sent_ms) >= sc.producer.request_timeout_ms)
        {
            pr.net.close(NodeId::Controller(metadata_from));
            metadata_in_flight = false;
            pr.init_in_flight = None;
            metadata_from = metadata_from % controllers + 1;
        }
        // request.timeout.ms: the request is abandoned with an unknown outcome, and, as Kafka's
        // client does, the connection is closed (failing whatever else was in flight on it).
        let expired: Vec<BrokerId> = pr
            .in_flight
            .values()
            .filter(|f| f.deadline_ms <= now)
            .map(|f| f.broker)
            .collect();
        for b in expired {
            pr.net.close(NodeId::Broker(b));
            pr.fail_all_to(
                NodeId::Broker(b),
                OpType::Info,
                "request.timeout.ms expired",
            );
        }
        pr.send_retries(now);
        if Instant::now() >= next_send {
            next_send += interval;
            if now < end_ms {
                let key = (sc.workload.keys > 0).then(|| {
                    slot += 1;
                    bytes::Bytes::from(format!("key-{}", (slot - 1) % u64::from(sc.workload.keys)))
                });
                pr.offer(now, key.unwrap_or_default());
            }
        }
        pr.send_accumulated(now);
    }
}

impl Producer {
    fn room(&self, leader: BrokerId) -> bool {
        let to_leader = self
            .in_flight
            .values()
            .filter(|f| f.broker == leader)
            .count();
        to_leader < self.ctx.sc.producer.max_in_flight
    }

    /// The workload hands the producer one record (with `key`, maybe empty).
    fn offer(&mut self, now: u64, key: bytes::Bytes) {
        let ctx = self.ctx.clone();
        let pc = &ctx.sc.producer;
        let size = RECORD_OVERHEAD + key.len() + self.ctx.sc.workload.value_bytes;
        let topic = self.next_topic;
        self.next_topic = (topic + 1) % ctx.sc.workload.topics.len();
        let p = self.partition_for(topic, &key);
        // An idempotent producer numbers records only once it has its producer id.
        if pc.enable_idempotence && self.producer_id.is_none() {
            return;
        }
        if pc.linger_ms == 0 {
            // Sent at once or not offered. Retries of this partition go first.
            let waiting = self.retries.get(&p).is_some_and(|q| !q.is_empty());
            let Some(&leader) = self.leaders.get(&p).filter(|_| !waiting) else {
                return;
            };
            if !self.room(leader) {
                return;
            }
            self.sent_to_partition(p, size);
            let mut batch = self.new_batch(p, now);
            self.append(&mut batch, now, key, size);
            self.send(batch, leader);
            return;
        }
        self.sent_to_partition(p, size);
        let batch_size = pc.batch_size;
        let full = |b: &Batch| !b.records.is_empty() && b.bytes + size > batch_size;
        let open = self
            .accumulator
            .get(&p)
            .and_then(|q| q.back())
            .is_some_and(|b| !full(b));
        if !open {
            let batch = self.new_batch(p, now);
            self.accumulator.entry(p).or_default().push_back(batch);
        }
        let mut batch = self
            .accumulator
            .get_mut(&p)
            .and_then(|q| q.pop_back())
            .expect("an open batch");
        self.append(&mut batch, now, key, size);
        self.accumulator
            .get_mut(&p)
            .expect("listed")
            .push_back(batch);
    }

    /// The partition (of the cluster) for a record of `topic` with `key` (empty: none), by
    /// `partitioner.class`.
    fn partition_for(&mut self, topic: usize, key: &[u8]) -> PartitionId {
        let ctx = self.ctx.clone();
        let n = ctx.sc.partitions;
        let first = topic as i32 * n;
        let pc = &ctx.sc.producer;
        if !key.is_empty() && pc.partitioner != Partitioner::RoundRobin {
            return first + ksim_model::partitioner::partition_for_key(key, n);
        }
        if pc.partitioner == Partitioner::Sticky {
            match self.sticky.get(&topic) {
                Some((p, bytes)) if *bytes < pc.batch_size.max(1) => return *p,
                _ => {}
            }
            // KIP-794: the next partition is drawn among the topic's partitions whose leader
            // is known (all of them when none is).
            let known: Vec<PartitionId> = self
                .leaders
                .keys()
                .copied()
                .filter(|p| (first..first + n).contains(p))
                .collect();
            let p = if known.is_empty() {
                first + self.sticky_rng.gen_range(0..n)
            } else {
                known[self.sticky_rng.gen_range(0..known.len())]
            };
            self.sticky.insert(topic, (p, 0));
            return p;
        }
        let i = self.next_partition[topic];
        self.next_partition[topic] = (i + 1) % n;
        first + i
    }

    /// `size` bytes went to partition `p`: the sticky partitioner counts them.
    fn sent_to_partition(&mut self, p: PartitionId, size: usize) {
        for (sp, bytes) in self.sticky.values_mut() {
            if *sp == p {
                *bytes += size;
            }
        }
    }

    fn new_batch(&mut self, p: PartitionId, now: u64) -> Batch {
        Batch {
            records: Vec::new(),
            bytes: BATCH_OVERHEAD,
            partition: p,
            producer_id: -1,
            sequence: -1,
            attempts: 0,
            created_ms: now,
            maybe_appended: false,
        }
    }

    /// Add a new record to `batch`: its value, and its sequence number in the idempotent
    /// session (a batch's records are numbered in a row).
    fn append(&mut self, batch: &mut Batch, now: u64, key: bytes::Bytes, size: usize) {
        let value = {
            let mut v = lock(&self.ctx.next_value);
            *v += 1;
            *v - 1
        };
        if let Some(id) = self.producer_id {
            let seq = self.next_sequence.entry(batch.partition).or_insert(0);
            if batch.records.is_empty() {
                batch.producer_id = id;
                batch.sequence = *seq;
            }
            *seq += 1;
        }
        self.ctx.observe().record(Op {
            time_ms: now,
            process: self.idx,
            kind: OpType::Invoke,
            f: "send",
            value,
            partition: batch.partition,
            offset: None,
            error: None,
            producer_id: (batch.producer_id >= 0).then_some(batch.producer_id),
            leader_epoch: None,
            broker: None,
        });
        batch.records.push(Rec { value, key });
        batch.bytes += size;
    }

    /// Whether a batch of partition `p` can go now: its leader is known and has room, and
    /// no retry of `p` waits (those are older).
    fn sendable(&self, p: PartitionId) -> bool {
        self.leaders.get(&p).is_some_and(|l| self.room(*l))
            && self.retries.get(&p).is_none_or(|q| q.is_empty())
    }

    /// When the oldest batch of a partition's accumulator may go: at once when a newer batch
    /// follows it (it is full), else when it is full or has waited `linger.ms`.
    fn ready_at(&self, q: &VecDeque<Batch>) -> Option<u64> {
        let pc = &self.ctx.sc.producer;
        let b = q.front()?;
        let full = q.len() > 1 || b.bytes >= pc.batch_size;
        Some(if full {
            b.created_ms
        } else {
            b.created_ms + pc.linger_ms
        })
    }

    /// Send the accumulated batches that are ready, oldest first per partition, while their
    /// leader has room; give up those past `delivery.timeout.ms`.
    fn send_accumulated(&mut self, now: u64) {
        let limit = self.ctx.sc.producer.delivery_timeout_ms;
        let partitions: Vec<PartitionId> = self.accumulator.keys().copied().collect();
        for p in partitions {
            let q = self.accumulator.get_mut(&p).expect("listed");
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

    fn send(&mut self, mut batch: Batch, leader: BrokerId) {
        let sc = &self.ctx.sc;
        let records = batch
            .records
            .iter()
            .map(|rec| {
                let mut bytes = vec![0u8; sc.workload.value_bytes.max(8)];
                bytes[..8].copy_from_slice(&rec.value.to_be_bytes());
                if let Some(payload) = &self.ctx.hooks.payload {
                    bytes.truncate(8);
                    bytes.extend(payload(self.idx, rec.value));
                }
                ProduceRecord {
                    key: rec.key.clone(),
                    value: bytes::Bytes::from(bytes),
                }
            })
            .collect();
        self.correlation += 1;
        let request = Request::Produce {
            correlation_id: self.correlation,
            partition: batch.partition,
            acks: sc.producer.acks,
            timeout_ms: sc.producer.request_timeout_ms,
            producer_id: batch.producer_id,
            base_sequence: batch.sequence,
            records,
        };
        self.net.send(NodeId::Broker(leader), request);
        batch.attempts += 1;
        if sc.producer.acks == Acks::None {
            // acks=0: the client counts the send as done; no offset is known.
            self.complete(&batch, OpType::Ok, None, None);
        } else {
            let deadline_ms = now_ms() + sc.producer.request_timeout_ms;
            self.in_flight.insert(
                self.correlation,
                InFlight {
                    batch,
                    broker: leader,
                    deadline_ms,
                },
            );
        }
    }

    /// Send the retries that are due, oldest first per partition, while the leader has room.
    fn send_retries(&mut self, now: u64) {
        let partitions: Vec<PartitionId> = self.retries.keys().copied().collect();
        for p in partitions {
            self.give_up_expired(p, now);
            while let Some(&leader) = self.leaders.get(&p) {
                let due = self.retries[&p].front().is_some_and(|r| r.due_ms <= now);
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
    fn give_up_expired(&mut self, p: PartitionId, now: u64) {
        let limit = self.ctx.sc.producer.delivery_timeout_ms;
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
    fn failed(&mut self, mut batch: Batch, kind: OpType, why: &str) {
        let pc = &self.ctx.sc.producer;
        let now = now_ms();
        batch.maybe_appended |= kind == OpType::Info;
        let due_ms = now + pc.retry_backoff_ms;
        let session = batch.producer_id < 0 || Some(batch.producer_id) == self.producer_id;
        if batch.attempts <= pc.retries
            && due_ms < batch.created_ms + pc.delivery_timeout_ms
            && session
        {
            let newest_first = self.ctx.sc.selftest.planted(Flaw::ReorderRetries);
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
    fn give_up(&mut self, batch: &Batch, kind: OpType, why: &str) {
        self.complete(batch, kind, None, Some(why.to_string()));
        if batch.producer_id >= 0 && Some(batch.producer_id) == self.producer_id {
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
    }

    /// Complete every record of `batch`; on an acknowledgement record i has offset
    /// `answer.offset + i`.
    fn complete(
        &mut self,
        batch: &Batch,
        kind: OpType,
        answer: Option<Answer>,
        error: Option<String>,
    ) {
        let now = now_ms();
        let mut obs = self.ctx.observe();
        for (i, rec) in batch.records.iter().enumerate() {
            obs.record(Op {
                time_ms: now,
                process: self.idx,
                kind,
                f: "send",
                value: rec.value,
                partition: batch.partition,
                offset: answer.map(|a| a.offset + i as i64),
                error: error.clone(),
                producer_id: (batch.producer_id >= 0).then_some(batch.producer_id),
                leader_epoch: answer.map(|a| a.leader_epoch),
                broker: answer.and_then(|a| a.broker),
            });
        }
    }

    /// Every attempt in flight to `peer` failed (its connection closed): each is retried or
    /// completed, and the partitions it led are looked up again.
    fn fail_all_to(&mut self, peer: NodeId, kind: OpType, why: &str) {
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
