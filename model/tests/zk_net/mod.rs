//! The ZooKeeper stories' harness: `Net`, a tiny deterministic network of `ZkServer`s and
//! test clients (see `zookeeper.rs`). Messages on one link arrive in order after a random
//! delay (TCP); a crash drops the server and its connections; a restart rebuilds it from the
//! transaction log the harness fsynced (`persist` applied before the step's messages leave).

// The stories use their own parts of the harness.
#![allow(dead_code)]

pub mod brokers;
pub mod client;
pub mod story;

use std::collections::{BTreeMap, BTreeSet};

use ksim_model::kafka_zk::broker::{ZkBroker, ZkBrokerConfig, ZkBrokerInput};
use ksim_model::quorum::{NodeIndex, Persistent};
use ksim_model::zookeeper::*;
use ksim_model::{
    BrokerConfig, BrokerId, ConnId, Input, PartitionId, PartitionLog, Request, Response, SelfTest,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use client::Client;

pub const TICK_MS: u64 = 10;

/// An end of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Addr {
    Server(NodeIndex),
    Client(usize),
    Broker(BrokerId),
}

/// The ZooKeeper client end of a connection: a story's client, or a broker's session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    Client(usize),
    Broker(BrokerId),
}

impl Endpoint {
    fn addr(self) -> Addr {
        match self {
            Endpoint::Client(k) => Addr::Client(k),
            Endpoint::Broker(b) => Addr::Broker(b),
        }
    }
}

/// A Kafka message between brokers, on the connection its requester opened.
#[derive(Clone, Debug)]
pub enum KafkaMsg {
    Request(ConnId, Request),
    Response(Response),
}

/// A message in flight.
#[derive(Clone, Debug)]
pub enum Msg {
    Peer(NodeIndex, NodeIndex, PeerMessage),
    Request(ConnId, NodeIndex, ZkRequest),
    Response(ConnId, Endpoint, ZkResponse),
    /// The server closed the connection.
    Closed(ConnId, Endpoint),
    /// The client closed the connection.
    Gone(ConnId, NodeIndex),
    Kafka(BrokerId, BrokerId, KafkaMsg),
}

impl Msg {
    fn link(&self, net: &Net) -> Option<(Addr, Addr)> {
        Some(match self {
            Msg::Peer(a, b, _) => (Addr::Server(*a), Addr::Server(*b)),
            Msg::Request(c, s, _) | Msg::Gone(c, s) => {
                (net.conns.get(c)?.0.addr(), Addr::Server(*s))
            }
            Msg::Response(c, e, _) | Msg::Closed(c, e) => {
                (Addr::Server(net.conns.get(c)?.1), e.addr())
            }
            Msg::Kafka(a, b, _) => (Addr::Broker(*a), Addr::Broker(*b)),
        })
    }
}

pub struct Net {
    pub cfg: ZkConfig,
    pub selftest: SelfTest,
    pub now_ms: u64,
    pub net_rng: ChaCha8Rng,
    pub node_rng: ChaCha8Rng,
    /// None while crashed.
    pub servers: BTreeMap<NodeIndex, Option<ZkServer>>,
    /// What each server wrote, and what of it is durable (fsynced): a power loss keeps only
    /// the second.
    pub disks: BTreeMap<NodeIndex, Persistent<Txn>>,
    pub durable: BTreeMap<NodeIndex, Persistent<Txn>>,
    pub clients: Vec<Client>,
    /// Open ZooKeeper connections: client end, server.
    pub conns: BTreeMap<ConnId, (Endpoint, NodeIndex)>,
    /// ZooKeeper-mode Kafka brokers (None while crashed), their configs, the logs a crashed
    /// one restarts with, and how often each has started.
    pub brokers: BTreeMap<BrokerId, Option<ZkBroker>>,
    pub broker_cfgs: BTreeMap<BrokerId, (BrokerConfig, ZkBrokerConfig)>,
    pub broker_logs: BTreeMap<BrokerId, BTreeMap<PartitionId, PartitionLog>>,
    pub incarnations: BTreeMap<BrokerId, u64>,
    /// Each broker's ZooKeeper connection.
    pub broker_zk: BTreeMap<BrokerId, ConnId>,
    /// Kafka connections: (requester, server), by id; and by pair.
    pub kconns: BTreeMap<ConnId, (BrokerId, BrokerId)>,
    pub kconn_of: BTreeMap<(BrokerId, BrokerId), ConnId>,
    /// The values the producer had acknowledged (acks=all).
    pub acked: Vec<u64>,
    /// Which broker led each (partition, leader epoch) first.
    pub leaders: BTreeMap<(PartitionId, ksim_model::Epoch), BrokerId>,
    pub next_conn: ConnId,
    pub queue: BTreeMap<(u64, u64), Msg>,
    /// The last delivery time per link, so one link stays in order.
    pub link_at: BTreeMap<(Addr, Addr), u64>,
    pub seq: u64,
    pub delay_ms: (u64, u64),
    /// Links that lose everything, both directions listed.
    pub cut: BTreeSet<(Addr, Addr)>,
    pub observer: ZkObserver,
    pub violations: Vec<String>,
    /// What happened, for the stories: elections, client answers, watches, expiries.
    pub log: Vec<String>,
}

impl Net {
    pub fn new(seed: u64, cfg: ZkConfig, selftest: SelfTest) -> Net {
        cfg.validate().expect("a valid ensemble");
        let mut net = Net {
            cfg: cfg.clone(),
            selftest,
            now_ms: 0,
            net_rng: ChaCha8Rng::seed_from_u64(seed),
            node_rng: ChaCha8Rng::seed_from_u64(seed ^ 0x2c5e_ed00),
            servers: BTreeMap::new(),
            disks: BTreeMap::new(),
            durable: BTreeMap::new(),
            clients: Vec::new(),
            conns: BTreeMap::new(),
            brokers: BTreeMap::new(),
            broker_cfgs: BTreeMap::new(),
            broker_logs: BTreeMap::new(),
            incarnations: BTreeMap::new(),
            broker_zk: BTreeMap::new(),
            kconns: BTreeMap::new(),
            kconn_of: BTreeMap::new(),
            acked: Vec::new(),
            leaders: BTreeMap::new(),
            next_conn: 1,
            queue: BTreeMap::new(),
            link_at: BTreeMap::new(),
            seq: 0,
            delay_ms: (1, 5),
            cut: BTreeSet::new(),
            observer: ZkObserver::new(),
            violations: Vec::new(),
            log: Vec::new(),
        };
        for id in cfg.servers.clone() {
            net.disks.insert(id, Persistent::default());
            net.durable.insert(id, Persistent::default());
            net.servers.insert(id, None);
            net.restart(id);
        }
        net
    }

    pub fn server(&self, id: NodeIndex) -> Option<&ZkServer> {
        self.servers[&id].as_ref()
    }

    pub fn crash(&mut self, id: NodeIndex) {
        self.servers.insert(id, None);
        let gone: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, (_, s))| *s == id)
            .map(|(c, _)| *c)
            .collect();
        for conn in gone {
            let (end, _) = self.conns.remove(&conn).expect("listed");
            self.closed(end, conn);
        }
    }

    /// The server loses power: it crashes, and its disk keeps only what was fsynced.
    pub fn power_loss(&mut self, id: NodeIndex) {
        self.crash(id);
        let durable = self.durable[&id].clone();
        self.disks.insert(id, durable);
    }

    pub fn restart(&mut self, id: NodeIndex) {
        assert!(self.servers[&id].is_none(), "restart only a crashed server");
        let persisted = self.disks[&id].clone();
        let server = ZkServer::new(
            id,
            self.cfg.clone(),
            persisted,
            self.now_ms,
            &mut self.node_rng,
        )
        .with_selftest(self.selftest);
        self.servers.insert(id, Some(server));
    }

    /// Cut `side` off from the other servers (clients keep their links).
    pub fn isolate(&mut self, side: &[NodeIndex]) {
        for a in side {
            for b in self.cfg.servers.clone() {
                if !side.contains(&b) {
                    self.cut.insert((Addr::Server(*a), Addr::Server(b)));
                    self.cut.insert((Addr::Server(b), Addr::Server(*a)));
                }
            }
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Step server `id` and carry out its ready.
    pub fn step(&mut self, id: NodeIndex, input: ZkInput) {
        let Some(server) = self.servers.get_mut(&id).and_then(|s| s.as_mut()) else {
            return;
        };
        let ready = server.step(self.now_ms, input, &mut self.node_rng);
        let disk = self.disks.get_mut(&id).expect("every server has a disk");
        for op in &ready.persist {
            disk.apply(op);
        }
        if ready.fsync {
            self.durable.insert(id, disk.clone());
        }
        if let Some(epoch) = ready.became_leader {
            self.log.push(format!("server {id} leads epoch {epoch}"));
        }
        for (to, msg) in ready.peers {
            self.send(Msg::Peer(id, to, msg));
        }
        for (conn, resp) in ready.clients {
            if let Some((end, _)) = self.conns.get(&conn).copied() {
                self.send(Msg::Response(conn, end, resp));
            }
        }
        for conn in ready.close {
            if let Some((end, _)) = self.conns.get(&conn).copied() {
                self.send(Msg::Closed(conn, end));
            }
        }
        let server = self.servers[&id].as_ref().expect("stepped");
        let found = self.observer.applied(server, &ready.applied);
        self.violations.extend(found);
        let live: Vec<&ZkServer> = self.servers.values().flatten().collect();
        let found = self.observer.observe(&live);
        self.violations.extend(found);
    }

    pub fn send(&mut self, msg: Msg) {
        let Some(link) = msg.link(self) else { return };
        if self.cut.contains(&link) {
            self.lost(&msg);
            return;
        }
        let delay = self.net_rng.gen_range(self.delay_ms.0..=self.delay_ms.1);
        let last = self.link_at.get(&link).copied().unwrap_or(0);
        let at = (self.now_ms + delay).max(last);
        self.link_at.insert(link, at);
        self.seq += 1;
        self.queue.insert((at, self.seq), msg);
    }

    /// A message lost on a cut link. Between servers (and between brokers) it is just gone;
    /// on a client's connection to a server, as on TCP, the connection breaks and both ends
    /// hear it, rather than going on with a hole in its stream.
    fn lost(&mut self, msg: &Msg) {
        let conn = match msg {
            Msg::Request(c, ..) | Msg::Response(c, ..) | Msg::Closed(c, _) | Msg::Gone(c, _) => *c,
            Msg::Peer(..) | Msg::Kafka(..) => return,
        };
        if let Some((end, server)) = self.conns.remove(&conn) {
            self.step(server, ZkInput::ClientGone { conn });
            self.closed(end, conn);
        }
    }

    /// Open a connection from `client` to `server`.
    pub fn connect(&mut self, end: Endpoint, server: NodeIndex, request: ZkRequest) -> ConnId {
        let conn = self.next_conn;
        self.next_conn += 1;
        self.conns.insert(conn, (end, server));
        self.send(Msg::Request(conn, server, request));
        conn
    }

    fn deliver(&mut self, msg: Msg) {
        match msg {
            Msg::Peer(from, to, msg) => self.step(to, ZkInput::Peer { from, msg }),
            Msg::Request(conn, server, request) => {
                if self.conns.contains_key(&conn) {
                    self.step(server, ZkInput::Client { conn, request });
                }
            }
            Msg::Gone(conn, server) => self.step(server, ZkInput::ClientGone { conn }),
            Msg::Response(conn, end, resp) => {
                if !self.conns.contains_key(&conn) {
                    return;
                }
                match end {
                    Endpoint::Client(k) => client::receive(self, k, conn, resp),
                    Endpoint::Broker(b) => {
                        let input = ZkBrokerInput::Zk(ZkClientInput::Response(resp));
                        self.step_broker(b, input);
                    }
                }
            }
            Msg::Closed(conn, end) => {
                if self.conns.remove(&conn).is_some() {
                    self.closed(end, conn);
                }
            }
            Msg::Kafka(from, to, msg) => self.deliver_kafka(from, to, msg),
        }
    }

    /// Deliver and tick for `ms` of simulated time.
    pub fn run_for(&mut self, ms: u64) {
        let end = self.now_ms + ms;
        while self.now_ms < end {
            let next_tick = (self.now_ms / TICK_MS + 1) * TICK_MS;
            while let Some((&(at, seq), _)) = self.queue.first_key_value() {
                if at > next_tick {
                    break;
                }
                let msg = self.queue.remove(&(at, seq)).expect("first");
                self.now_ms = self.now_ms.max(at);
                self.deliver(msg);
            }
            self.now_ms = next_tick;
            for id in self.cfg.servers.clone() {
                self.step(id, ZkInput::Tick);
            }
            for k in 0..self.clients.len() {
                client::tick(self, k);
            }
            for b in self.brokers.keys().copied().collect::<Vec<_>>() {
                self.step_broker(b, ZkBrokerInput::Kafka(Input::Tick));
            }
        }
    }
}

impl Net {
    /// A ZooKeeper connection closed under `end`.
    fn closed(&mut self, end: Endpoint, conn: ConnId) {
        match end {
            Endpoint::Client(k) => client::closed(self, k, conn),
            Endpoint::Broker(b) => {
                if self.broker_zk.get(&b) == Some(&conn) {
                    self.broker_zk.remove(&b);
                    self.step_broker(b, ZkBrokerInput::Zk(ZkClientInput::Closed));
                }
            }
        }
    }
}
