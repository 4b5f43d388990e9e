//! The deterministic harness shared by the sans-IO model tests (`replication.rs`,
//! `history.rs`).
//!
//! `Cluster` is a tiny deterministic network: one `Controller`, brokers `1..=N`, a queue of
//! in-flight messages, one connection per (requester, target) pair (a reply goes back to whoever
//! opened its connection), a clock ticked every 50 ms, per-broker disks fed from `Ready::disk`
//! (a power loss drops what was not flushed), crash/restart, isolation, and a client. Delivery is
//! FIFO, or, with an rng, in random order across connections but FIFO within one.

// Each test crate uses its own part of the harness.
#![allow(dead_code)]

pub mod hand;
mod invariants;

pub use invariants::*;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;
use ksim_model::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub const TICK: TimeMs = 50;
pub const P: PartitionId = 0;
pub const CLIENT: NodeId = NodeId::Client(0);

pub fn rec(offset: Offset, leader_epoch: Epoch, v: &str) -> Record {
    Record {
        offset,
        leader_epoch,
        producer_id: -1,
        sequence: -1,
        base_offset: offset,
        key: Bytes::new(),
        value: Bytes::from(v.to_string()),
    }
}

pub fn ee(epoch: Epoch, start_offset: Offset) -> EpochEntry {
    EpochEntry {
        epoch,
        start_offset,
    }
}

pub fn cfg(min_isr: usize, lag_ms: TimeMs) -> BrokerConfig {
    BrokerConfig {
        min_insync_replicas: min_isr,
        replica_lag_time_max_ms: lag_ms,
        ..Default::default()
    }
}

// ------------------------------------------------------------------------------ harness

/// One partition on one broker's disk; records below `flushed` survive a power loss.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Disk {
    pub records: Vec<Record>,
    pub flushed: usize,
    pub epochs: Vec<EpochEntry>,
    pub hw: Offset,
}

pub fn apply_disk(disks: &mut BTreeMap<PartitionId, Disk>, op: &DiskOp) {
    match op {
        DiskOp::Append { partition, records } => {
            let d = disks.entry(*partition).or_default();
            assert_eq!(
                records[0].offset,
                d.records.len() as Offset,
                "disk append must continue the log"
            );
            d.records.extend(records.iter().cloned());
        }
        DiskOp::Truncate { partition, offset } => {
            let d = disks.entry(*partition).or_default();
            d.records.truncate((*offset).max(0) as usize);
            d.flushed = d.flushed.min(d.records.len());
        }
        DiskOp::Flush { partition } => {
            let d = disks.entry(*partition).or_default();
            d.flushed = d.records.len();
        }
        DiskOp::CheckpointHw { partition, hw } => disks.entry(*partition).or_default().hw = *hw,
        DiskOp::CheckpointEpochs { partition, epochs } => {
            disks.entry(*partition).or_default().epochs = epochs.clone()
        }
    }
}

/// A broker process (None while crashed) and the disk that outlives it.
pub struct Slot {
    pub broker: Option<Broker>,
    pub incarnation: u64,
    pub disk: BTreeMap<PartitionId, Disk>,
}

pub struct Msg {
    pub conn: ConnId,
    pub from: NodeId,
    pub to: NodeId,
    pub msg: Message,
}

pub struct Cluster {
    pub now: TimeMs,
    pub cfg: BrokerConfig,
    /// The flaw planted in every broker and the controller (none unless `planted`).
    pub selftest: SelfTest,
    pub ctl: Controller,
    pub slots: BTreeMap<BrokerId, Slot>,
    /// conn -> (requester, target).
    pub conns: BTreeMap<ConnId, (NodeId, NodeId)>,
    pub open: BTreeMap<(NodeId, NodeId), ConnId>,
    pub next_conn: ConnId,
    pub queue: VecDeque<Msg>,
    pub isolated: BTreeSet<BrokerId>,
    pub rng: Option<ChaCha8Rng>,
    /// Keep `trace` and `disk_ops` (off in the proptest).
    pub tracing: bool,
    /// Every delivered message: (time, from, to, message).
    pub trace: Vec<(TimeMs, NodeId, NodeId, Message)>,
    pub disk_ops: Vec<(TimeMs, BrokerId, DiskOp)>,
    pub notes: Vec<(TimeMs, Note)>,
    /// The client's produce results by correlation id.
    pub results: BTreeMap<u64, Result<Offset, ErrorCode>>,
    pub next_corr: u64,
    /// Every produce request the client made: correlation id -> (acks, values).
    pub sent: BTreeMap<u64, (Acks, Vec<String>)>,
    /// Links cut between two nodes (either direction), on top of `isolated`.
    pub cuts: BTreeSet<(NodeId, NodeId)>,
    /// Messages that match a filter are held back or lost when they come up for delivery.
    pub filters: Vec<Filter>,
    /// Messages held back, with the name of the filter that held them.
    pub held: Vec<(&'static str, Msg)>,
    /// Restarted brokers that have not had a fetch answered since: their HW is the stale one
    /// of their checkpoint file, which log matching does not hold them to (Kafka's follower
    /// takes its HW from the leader's answer).
    pub unvalidated: BTreeSet<BrokerId>,
    /// When set, the invariants are checked after every step and every delivery.
    pub checker: Option<Checker>,
}

/// What happens to a message a filter matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Kept out of the queue until the filter is lifted (a delay; it may overtake nothing on
    /// its connection, later messages may overtake it).
    Hold,
    /// Lost; the connection stays up.
    Drop,
}

pub struct Filter {
    pub name: &'static str,
    pub fate: Fate,
    pub pred: Box<dyn Fn(&Msg) -> bool>,
}

impl Cluster {
    pub fn new(cfg: BrokerConfig, n: i32) -> Self {
        let slots = (1..=n)
            .map(|id| {
                (
                    id,
                    Slot {
                        broker: Some(Broker::new(id, cfg.clone(), 0, 0, BTreeMap::new())),
                        incarnation: 0,
                        disk: BTreeMap::new(),
                    },
                )
            })
            .collect();
        let (conns, open, queue, isolated, trace, disk_ops, notes, results) = Default::default();
        let ctl = Controller::new(cfg.clone(), n, 1, n.min(3));
        Cluster {
            now: 0,
            cfg,
            selftest: SelfTest::default(),
            ctl,
            slots,
            conns,
            open,
            next_conn: 0,
            queue,
            isolated,
            rng: None,
            tracing: true,
            trace,
            disk_ops,
            notes,
            results,
            next_corr: 0,
            sent: BTreeMap::new(),
            cuts: BTreeSet::new(),
            filters: Vec::new(),
            held: Vec::new(),
            unvalidated: BTreeSet::new(),
            checker: None,
        }
    }

    /// A cluster after one second: every broker registered, unfenced, and following.
    pub fn started(cfg: BrokerConfig, n: i32) -> Self {
        let mut c = Cluster::new(cfg, n);
        c.run(1000);
        assert!(
            (1..=n).all(|b| !c.ctl.is_fenced(b)),
            "every broker registered and was unfenced"
        );
        c
    }

    /// Like `started`, with `flaw` planted in every broker and the controller.
    pub fn planted(cfg: BrokerConfig, n: i32, flaw: Flaw) -> Self {
        let mut c = Cluster::new(cfg, n);
        c.selftest = SelfTest {
            flaw,
            ..SelfTest::default()
        };
        for slot in c.slots.values_mut() {
            slot.broker = slot.broker.take().map(|b| b.with_selftest(c.selftest));
        }
        c.ctl = c.ctl.with_selftest(c.selftest);
        c.run(1000);
        c
    }

    /// Like `started`, with the invariant checker watching from the first step.
    pub fn checked(cfg: BrokerConfig, n: i32) -> Self {
        let mut c = Cluster::new(cfg, n);
        c.checker = Some(Checker::default());
        c.run(1000);
        assert!(
            (1..=n).all(|b| !c.ctl.is_fenced(b)),
            "every broker registered and was unfenced"
        );
        c
    }

    pub fn is_up(&self, b: BrokerId) -> bool {
        self.slots[&b].broker.is_some()
    }
    pub fn broker(&self, b: BrokerId) -> &Broker {
        self.slots[&b].broker.as_ref().expect("broker is up")
    }
    pub fn replica(&self, b: BrokerId) -> &Replica {
        self.broker(b)
            .replica(P)
            .expect("broker hosts the partition")
    }
    pub fn log(&self, b: BrokerId) -> &PartitionLog {
        &self.replica(b).log
    }
    pub fn values(&self, b: BrokerId) -> Vec<(Epoch, String)> {
        values_of(self.log(b).records())
    }
    pub fn state(&self) -> PartitionState {
        part(&self.ctl, P)
    }

    pub fn step(&mut self, node: NodeId, input: Input) {
        let now = self.now;
        let ready = match node {
            NodeId::Controller(_) => self.ctl.step(now, input),
            NodeId::Broker(b) => match self.slots.get_mut(&b).and_then(|s| s.broker.as_mut()) {
                Some(broker) => broker.step(now, input),
                None => return,
            },
            NodeId::Client(_) | NodeId::ZooKeeper(_) => return,
        };
        self.apply(node, ready);
        self.observe();
    }

    /// Run the checker, if any, on the current state.
    pub fn observe(&mut self) {
        if let Some(mut checker) = self.checker.take() {
            checker.observe(self);
            self.checker = Some(checker);
        }
    }

    /// Apply a node's `Ready` like a real harness: disk first, then the sends.
    pub fn apply(&mut self, node: NodeId, ready: Ready) {
        if let NodeId::Broker(b) = node {
            let disk = &mut self.slots.get_mut(&b).expect("known broker").disk;
            for op in ready.disk {
                apply_disk(disk, &op);
                if self.tracing {
                    self.disk_ops.push((self.now, b, op));
                }
            }
        }
        self.notes
            .extend(ready.notes.into_iter().map(|n| (self.now, n)));
        for env in ready.sends {
            match env {
                Envelope::To { node: to, request } => {
                    let next = &mut self.next_conn;
                    let conn = *self.open.entry((node, to)).or_insert_with(|| {
                        *next += 1; // a fresh connection per (requester, target)
                        *next
                    });
                    self.conns.insert(conn, (node, to));
                    self.queue.push_back(Msg {
                        conn,
                        from: node,
                        to,
                        msg: Message::Request(request),
                    });
                }
                // A reply on a connection that closed meanwhile is lost.
                Envelope::Reply { conn, response } => {
                    if let Some(&(requester, target)) = self.conns.get(&conn) {
                        assert_eq!(
                            target, node,
                            "a reply must leave from the node that accepted the connection"
                        );
                        self.queue.push_back(Msg {
                            conn,
                            from: node,
                            to: requester,
                            msg: Message::Response(response),
                        });
                    }
                }
            }
        }
    }

    /// Break a connection: what was in flight on it is lost and the requester hears about it.
    pub fn close(&mut self, conn: ConnId) {
        self.queue.retain(|m| m.conn != conn);
        self.held.retain(|(_, m)| m.conn != conn);
        if let Some((requester, target)) = self.conns.remove(&conn) {
            self.open.remove(&(requester, target));
            self.step(requester, Input::Disconnected { peer: target });
        }
    }

    pub fn close_all_of(&mut self, b: BrokerId) {
        let me = NodeId::Broker(b);
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, (r, t))| *r == me || *t == me)
            .map(|(c, _)| *c)
            .collect();
        conns.into_iter().for_each(|c| self.close(c));
    }

    pub fn deliver(&mut self, m: Msg) {
        let cut = |n: NodeId| matches!(n, NodeId::Broker(b) if self.isolated.contains(&b) || !self.is_up(b));
        if cut(m.from) || cut(m.to) || self.is_cut(m.from, m.to) {
            self.close(m.conn); // refused, or reset by a crash or a cut link
            return;
        }
        if let Some(f) = self.filters.iter().find(|f| (f.pred)(&m)) {
            if f.fate == Fate::Hold {
                self.held.push((f.name, m));
            }
            return;
        }
        if self.tracing {
            self.trace.push((self.now, m.from, m.to, m.msg.clone()));
        }
        if let (NodeId::Broker(b), Message::Response(Response::Fetch { result: Ok(_), .. })) =
            (m.to, &m.msg)
        {
            self.unvalidated.remove(&b);
        }
        match m.msg {
            Message::Request(request) => self.step(
                m.to,
                Input::Request {
                    conn: m.conn,
                    from: m.from,
                    request,
                },
            ),
            Message::Response(Response::Produce {
                correlation_id,
                result,
                ..
            }) if m.to == CLIENT => {
                self.results.insert(correlation_id, result);
                self.observe();
            }
            Message::Response(response) => self.step(
                m.to,
                Input::Response {
                    from: m.from,
                    response,
                },
            ),
        }
    }

    /// Deliver one message: the oldest (FIFO), or with an rng the oldest of a random connection.
    pub fn deliver_one(&mut self) -> bool {
        let conn = match (self.rng.as_mut(), self.queue.len()) {
            (_, 0) => return false,
            (None, _) => self.queue[0].conn,
            (Some(rng), n) => self.queue[rng.gen_range(0..n)].conn,
        };
        let m = self
            .queue
            .remove(
                self.queue
                    .iter()
                    .position(|m| m.conn == conn)
                    .expect("present"),
            )
            .expect("present");
        self.deliver(m);
        true
    }

    /// Deliver until nothing is in flight; with an rng, sometimes stop early (a delay).
    pub fn deliver_all(&mut self) {
        for _ in 0..100_000 {
            if self.rng.as_mut().is_some_and(|r| r.gen_ratio(1, 64)) || !self.deliver_one() {
                return;
            }
        }
        panic!("messages never settle");
    }

    /// Advance the clock by one tick and tick every node, without delivering.
    pub fn tick_nodes(&mut self) {
        self.now += TICK;
        self.step(NodeId::Controller(1), Input::Tick);
        let ids: Vec<BrokerId> = self.slots.keys().copied().collect();
        ids.into_iter()
            .for_each(|b| self.step(NodeId::Broker(b), Input::Tick));
    }
    pub fn tick(&mut self) {
        self.tick_nodes();
        self.deliver_all();
    }

    pub fn run(&mut self, ms: TimeMs) {
        (0..ms / TICK).for_each(|_| self.tick())
    }

    /// Tick until `cond` holds; returns the time it first held.
    pub fn run_until(&mut self, max_ms: TimeMs, cond: impl Fn(&Cluster) -> bool) -> TimeMs {
        let end = self.now + max_ms;
        while !cond(self) {
            assert!(
                self.now < end,
                "condition not reached within {max_ms} ms (now {})",
                self.now
            );
            self.tick();
        }
        self.now
    }

    /// The process dies; its disk stays (minus the unflushed suffix on a power loss).
    pub fn crash(&mut self, b: BrokerId, power_loss: bool) {
        let slot = self.slots.get_mut(&b).expect("known broker");
        slot.broker = None;
        if power_loss {
            slot.disk
                .values_mut()
                .for_each(|d| d.records.truncate(d.flushed));
        }
        self.close_all_of(b);
    }

    pub fn recovered(&self, b: BrokerId) -> BTreeMap<PartitionId, PartitionLog> {
        self.slots[&b]
            .disk
            .iter()
            .map(|(p, d)| {
                (
                    *p,
                    PartitionLog::recover(d.records.clone(), d.epochs.clone(), d.hw),
                )
            })
            .collect()
    }

    pub fn restart(&mut self, b: BrokerId) {
        let logs = self.recovered(b);
        let slot = self.slots.get_mut(&b).expect("known broker");
        assert!(slot.broker.is_none(), "restart of a live broker");
        slot.incarnation += 1;
        self.unvalidated.insert(b);
        slot.broker = Some(
            Broker::new(b, self.cfg.clone(), slot.incarnation, self.now, logs)
                .with_selftest(self.selftest),
        );
    }

    /// Cut every link of `b` (its connections reset, new ones are refused) until `heal`.
    pub fn isolate(&mut self, b: BrokerId) {
        self.isolated.insert(b);
        self.close_all_of(b);
    }
    pub fn heal(&mut self, b: BrokerId) {
        self.isolated.remove(&b);
    }

    /// Cut the link between `a` and `b` only: their connections reset, new ones are refused.
    pub fn cut(&mut self, a: NodeId, b: NodeId) {
        self.cuts.insert((a.min(b), a.max(b)));
        let conns: Vec<ConnId> = (self.conns.iter())
            .filter(|(_, (r, t))| (*r == a && *t == b) || (*r == b && *t == a))
            .map(|(c, _)| *c)
            .collect();
        conns.into_iter().for_each(|c| self.close(c));
    }
    pub fn mend(&mut self, a: NodeId, b: NodeId) {
        self.cuts.remove(&(a.min(b), a.max(b)));
    }
    pub fn is_cut(&self, a: NodeId, b: NodeId) -> bool {
        self.cuts.contains(&(a.min(b), a.max(b)))
    }
    /// Mend every cut link and heal every isolated broker.
    pub fn mend_all(&mut self) {
        self.cuts.clear();
        self.isolated.clear();
    }

    /// From now on, hold back the messages matching `pred` until `lift(name)`.
    pub fn hold(&mut self, name: &'static str, pred: impl Fn(&Msg) -> bool + 'static) {
        self.filters.push(Filter {
            name,
            fate: Fate::Hold,
            pred: Box::new(pred),
        });
    }
    /// From now on, lose the messages matching `pred` until `lift(name)`.
    pub fn lose(&mut self, name: &'static str, pred: impl Fn(&Msg) -> bool + 'static) {
        self.filters.push(Filter {
            name,
            fate: Fate::Drop,
            pred: Box::new(pred),
        });
    }
    /// Remove the filter `name`; what it held goes back to the end of the queue, in order.
    pub fn lift(&mut self, name: &'static str) {
        self.filters.retain(|f| f.name != name);
        let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|(n, _)| *n == name);
        self.held = others;
        self.queue.extend(mine.into_iter().map(|(_, m)| m));
    }
    /// How many messages the filter `name` holds.
    pub fn held_by(&self, name: &str) -> usize {
        self.held.iter().filter(|(n, _)| *n == name).count()
    }

    /// The OS writes `b`'s page cache back: everything on its disk survives a power loss.
    pub fn writeback(&mut self, b: BrokerId) {
        let slot = self.slots.get_mut(&b).expect("known broker");
        slot.disk
            .values_mut()
            .for_each(|d| d.flushed = d.records.len());
    }

    /// Like `run_until`, but `cond` is checked after every single delivery, so the run stops
    /// at the message that made it hold and the rest stay in flight.
    pub fn step_until(&mut self, max_ms: TimeMs, cond: impl Fn(&Cluster) -> bool) -> TimeMs {
        let end = self.now + max_ms;
        while !cond(self) {
            if !self.deliver_one() {
                assert!(
                    self.now < end,
                    "condition not reached within {max_ms} ms (now {})",
                    self.now
                );
                self.tick_nodes();
            }
        }
        self.now
    }

    /// The client sends one produce request to the controller's current leader.
    pub fn produce_t(&mut self, acks: Acks, values: &[&str], timeout_ms: TimeMs) -> u64 {
        self.produce_as(acks, values, timeout_ms, (-1, -1))
    }

    /// Like `produce_t`, as an idempotent producer: `(producer id, first sequence number)`.
    pub fn produce_as(
        &mut self,
        acks: Acks,
        values: &[&str],
        timeout_ms: TimeMs,
        (producer_id, base_sequence): (i64, i32),
    ) -> u64 {
        self.next_corr += 1;
        let corr = self.next_corr;
        let sent = values.iter().map(|v| v.to_string()).collect();
        self.sent.insert(corr, (acks, sent));
        if let Some(l) = self.state().leader {
            let records = values
                .iter()
                .map(|v| ProduceRecord {
                    key: Bytes::new(),
                    value: Bytes::from(v.to_string()),
                })
                .collect();
            let request = Request::Produce {
                correlation_id: corr,
                partition: P,
                acks,
                timeout_ms,
                producer_id,
                base_sequence,
                records,
            };
            self.apply(
                CLIENT,
                Ready {
                    sends: vec![Envelope::To {
                        node: NodeId::Broker(l),
                        request,
                    }],
                    ..Default::default()
                },
            );
        }
        corr
    }
    pub fn produce(&mut self, acks: Acks, values: &[&str]) -> u64 {
        self.produce_t(acks, values, 30_000)
    }
    /// Produce and deliver until nothing is in flight.
    pub fn produce_settled(
        &mut self,
        acks: Acks,
        values: &[&str],
    ) -> Option<Result<Offset, ErrorCode>> {
        let corr = self.produce(acks, values);
        self.deliver_all();
        self.results.get(&corr).copied()
    }

    /// The requests from `from` matching `f` that were delivered, with their delivery times.
    pub fn requests_from(
        &self,
        from: BrokerId,
        f: impl Fn(&Request) -> bool,
    ) -> Vec<(TimeMs, Request)> {
        let mine = self
            .trace
            .iter()
            .filter(|(_, fr, _, _)| *fr == NodeId::Broker(from));
        mine.filter_map(|(t, _, _, m)| match m {
            Message::Request(r) if f(r) => Some((*t, r.clone())),
            _ => None,
        })
        .collect()
    }
}

pub fn values_of(records: &[Record]) -> Vec<(Epoch, String)> {
    records
        .iter()
        .map(|r| {
            (
                r.leader_epoch,
                String::from_utf8_lossy(&r.value).into_owned(),
            )
        })
        .collect()
}

pub fn vals(epoch: Epoch, vs: &[&str]) -> Vec<(Epoch, String)> {
    vs.iter().map(|v| (epoch, v.to_string())).collect()
}

pub fn is_fetch(r: &Request) -> bool {
    matches!(r, Request::Fetch { .. })
}
pub fn is_alter(r: &Request) -> bool {
    matches!(r, Request::AlterPartition(_))
}
pub fn fetch_offset(r: &Request) -> Offset {
    let Request::Fetch { fetch_offset, .. } = r else {
        panic!("not a fetch")
    };
    *fetch_offset
}
pub fn new_isr_of(r: &Request) -> Vec<(BrokerId, i64)> {
    let Request::AlterPartition(a) = r else {
        panic!("not an AlterPartition")
    };
    a.new_isr.clone()
}
/// Trace index of the first request from `sender` matching `f` delivered at or after index `from`.
pub fn first_request(
    c: &Cluster,
    from: usize,
    sender: BrokerId,
    f: impl Fn(&Request) -> bool,
) -> usize {
    let found = c.trace[from..].iter().position(|(_, fr, _, m)| {
        *fr == NodeId::Broker(sender) && matches!(m, Message::Request(r) if f(r))
    });
    from + found.expect("such a request was delivered")
}

pub fn reply_on(ready: &Ready, conn: ConnId) -> Response {
    let found = ready.sends.iter().find_map(|e| match e {
        Envelope::Reply { conn: c, response } if *c == conn => Some(response.clone()),
        _ => None,
    });
    found.expect("a reply on the connection")
}

pub fn part(ctl: &Controller, p: PartitionId) -> PartitionState {
    ctl.partitions()
        .find(|s| s.partition == p)
        .expect("partition")
        .clone()
}
