//! ZooKeeper-mode Kafka brokers on the stories' net: each a `ZkBroker` with its ZooKeeper
//! session on the net's servers and Kafka connections to the other brokers (one per
//! requester and server; a reply goes back on the connection its request came on).

use std::collections::BTreeMap;

use ksim_model::kafka_zk::broker::{
    ZkBroker, ZkBrokerConfig, ZkBrokerInput, ZkBrokerReady, ZkRules,
};
use ksim_model::kafka_zk::controller::ZkControllerConfig;
use ksim_model::zookeeper::{ZkClientInput, ZkSend};
use ksim_model::*;

use super::{Addr, Endpoint, KafkaMsg, Msg, Net};

pub const TOPIC: &str = "t";
/// The stories' producer sends as broker id 0 (it is `NodeId::Client(1)` to the brokers).
pub const PRODUCER: BrokerId = 0;

impl Net {
    /// Brokers `ids`, `partitions` partitions each on every broker (replication factor = the
    /// broker count), the preferred leader rotating.
    pub fn add_brokers(
        &mut self,
        ids: &[BrokerId],
        partitions: i32,
        session_ms: u64,
        rules: ZkRules,
    ) {
        let assignment: Vec<(PartitionId, Vec<BrokerId>)> = (0..partitions)
            .map(|p| {
                let mut replicas = ids.to_vec();
                replicas.rotate_left(p as usize % ids.len());
                (p, replicas)
            })
            .collect();
        for &b in ids {
            let controller = ZkControllerConfig {
                broker: b,
                topic: TOPIC.into(),
                assignment: assignment.clone(),
                unclean_leader_election: false,
                detect_bounced_brokers: rules.broker_epoch_fencing,
            };
            let zk = ZkBrokerConfig {
                controller,
                zookeeper: self.cfg.servers.clone(),
                session_timeout_ms: session_ms,
                port: 9091 + b as u16,
                rules,
                topics: 1,
            };
            let logs = (0..partitions)
                .map(|p| (p, PartitionLog::default()))
                .collect();
            let cfg = BrokerConfig {
                min_insync_replicas: 2,
                replica_lag_time_max_ms: 5_000,
                ..BrokerConfig::default()
            };
            self.broker_cfgs.insert(b, (cfg, zk));
            self.broker_logs.insert(b, logs);
            self.brokers.insert(b, None);
            self.restart_broker(b);
        }
    }

    pub fn broker(&self, b: BrokerId) -> Option<&ZkBroker> {
        self.brokers.get(&b)?.as_ref()
    }

    pub fn broker_mut(&mut self, b: BrokerId) -> &mut ZkBroker {
        self.brokers
            .get_mut(&b)
            .and_then(|zb| zb.as_mut())
            .expect("a live broker")
    }

    pub fn restart_broker(&mut self, b: BrokerId) {
        let (cfg, zk) = self.broker_cfgs[&b].clone();
        let incarnation = {
            let n = self.incarnations.entry(b).or_insert(0);
            *n += 1;
            *n
        };
        let logs = self.broker_logs[&b].clone();
        let broker =
            Broker::new(b, cfg, incarnation, self.now_ms, logs).with_selftest(self.selftest);
        let zb = ZkBroker::new(broker, zk).with_selftest(self.selftest);
        self.brokers.insert(b, Some(zb));
    }

    /// The process dies (its page cache survives): its connections close.
    pub fn crash_broker(&mut self, b: BrokerId) {
        let Some(Some(zb)) = self.brokers.insert(b, None) else {
            return;
        };
        // What a restarted broker recovers: every record (the page cache survived) and the
        // HW it last checkpointed at most.
        let logs: BTreeMap<PartitionId, PartitionLog> = zb
            .broker
            .replicas()
            .map(|r| {
                let records = r.log.records().to_vec();
                (
                    r.partition,
                    PartitionLog::recover(records, Vec::new(), r.log.hw()),
                )
            })
            .collect();
        self.broker_logs.insert(b, logs);
        if let Some(conn) = self.broker_zk.remove(&b) {
            let server = self.conns[&conn].1;
            self.send(Msg::Gone(conn, server));
            self.conns.remove(&conn);
        }
        let gone: Vec<_> = self
            .kconns
            .iter()
            .filter(|(_, (x, y))| *x == b || *y == b)
            .map(|(c, pair)| (*c, *pair))
            .collect();
        for (conn, (x, y)) in gone {
            self.kconns.remove(&conn);
            self.kconn_of.remove(&(x, y));
            let (peer, dead) = if x == b { (y, x) } else { (x, y) };
            let input = Input::Disconnected {
                peer: NodeId::Broker(dead),
            };
            self.step_broker(peer, ZkBrokerInput::Kafka(input));
        }
    }

    /// Cut broker `b` off from every ZooKeeper server (its Kafka links stay).
    pub fn isolate_broker_from_zookeeper(&mut self, b: BrokerId) {
        for s in self.cfg.servers.clone() {
            self.cut.insert((Addr::Broker(b), Addr::Server(s)));
            self.cut.insert((Addr::Server(s), Addr::Broker(b)));
        }
    }

    /// Cut the Kafka links between brokers `a` and `b`, both ways.
    pub fn cut_kafka(&mut self, a: BrokerId, b: BrokerId) {
        self.cut.insert((Addr::Broker(a), Addr::Broker(b)));
        self.cut.insert((Addr::Broker(b), Addr::Broker(a)));
    }

    pub fn step_broker(&mut self, b: BrokerId, input: ZkBrokerInput) {
        let now = self.now_ms;
        let Some(Some(zb)) = self.brokers.get_mut(&b) else {
            return;
        };
        let ready = zb.step(now, input);
        self.carry_broker(b, ready);
        self.check_leaders();
    }

    fn carry_broker(&mut self, b: BrokerId, ready: ZkBrokerReady) {
        let session = self.broker(b).and_then(|zb| zb.zk.session());
        if let Some(session) = session {
            for zxid in &ready.zk_answered_at {
                if let Some(v) = self.observer.client_saw(session, *zxid) {
                    self.violations.push(v);
                }
            }
        }
        for send in ready.zk {
            self.broker_zk_send(b, send);
        }
        for note in &ready.kafka.notes {
            if let Note::Elected {
                partition,
                leader,
                leader_epoch,
                isr,
                unclean,
            } = note
            {
                let how = if *unclean { " (unclean)" } else { "" };
                self.log.push(format!(
                    "controller {b}: partition {partition} leader {leader:?} epoch {leader_epoch} isr {isr:?}{how}"
                ));
            }
        }
        for send in ready.kafka.sends {
            match send {
                Envelope::To {
                    node: NodeId::Broker(to),
                    request,
                } => {
                    let conn = self.kafka_conn(b, to);
                    self.send(Msg::Kafka(b, to, KafkaMsg::Request(conn, request)));
                }
                Envelope::Reply { conn, response } => {
                    if let Some(&(requester, _)) = self.kconns.get(&conn) {
                        self.send(Msg::Kafka(b, requester, KafkaMsg::Response(response)));
                    }
                }
                // No producers or KRaft controllers in these stories.
                Envelope::To { .. } => {}
            }
        }
    }

    fn broker_zk_send(&mut self, b: BrokerId, send: ZkSend) {
        match send {
            ZkSend::Connect { server, request } => {
                let conn = self.connect(Endpoint::Broker(b), server, request);
                if self.conns.contains_key(&conn) {
                    self.broker_zk.insert(b, conn);
                } else {
                    // Broken at once (its first message was lost on a cut link).
                    self.step_broker(b, ZkBrokerInput::Zk(ZkClientInput::Closed));
                }
            }
            ZkSend::Request(request) => {
                if let Some(&conn) = self.broker_zk.get(&b) {
                    let server = self.conns[&conn].1;
                    self.send(Msg::Request(conn, server, request));
                }
            }
            ZkSend::Close => {
                if let Some(conn) = self.broker_zk.remove(&b) {
                    if let Some(&(_, server)) = self.conns.get(&conn) {
                        self.send(Msg::Gone(conn, server));
                        self.conns.remove(&conn);
                    }
                }
            }
        }
    }

    /// The producer writes `value` (acks=all) to whichever live broker claims the highest
    /// leader epoch of partition 0.
    pub fn produce(&mut self, value: u64) {
        let leader = self
            .brokers
            .values()
            .flatten()
            .filter_map(|zb| match zb.broker.replica(0)?.role {
                Role::Leader { leader_epoch } => Some((leader_epoch, zb.broker.id)),
                _ => None,
            })
            .max();
        let Some((_, b)) = leader else { return };
        let request = Request::Produce {
            correlation_id: value,
            partition: 0,
            acks: Acks::All,
            timeout_ms: 5_000,
            producer_id: -1,
            base_sequence: -1,
            records: vec![ProduceRecord {
                key: bytes::Bytes::new(),
                value: bytes::Bytes::from(value.to_be_bytes().to_vec()),
            }],
        };
        let conn = self.kafka_conn(PRODUCER, b);
        self.send(Msg::Kafka(PRODUCER, b, KafkaMsg::Request(conn, request)));
    }

    /// Each (partition, leader epoch) has one leader: a second broker acting as leader of the
    /// same epoch is a split brain.
    pub fn check_leaders(&mut self) {
        for zb in self.brokers.values().flatten() {
            for r in zb.broker.replicas() {
                if let Role::Leader { leader_epoch } = r.role {
                    let first = *self
                        .leaders
                        .entry((r.partition, leader_epoch))
                        .or_insert(zb.broker.id);
                    if first != zb.broker.id {
                        self.violations.push(format!(
                            "brokers {first} and {} both led partition {} in leader epoch {leader_epoch}",
                            zb.broker.id, r.partition
                        ));
                    }
                }
            }
        }
    }

    fn kafka_conn(&mut self, from: BrokerId, to: BrokerId) -> ConnId {
        if let Some(&c) = self.kconn_of.get(&(from, to)) {
            return c;
        }
        let conn = self.next_conn;
        self.next_conn += 1;
        self.kconn_of.insert((from, to), conn);
        self.kconns.insert(conn, (from, to));
        conn
    }

    pub(super) fn deliver_kafka(&mut self, from: BrokerId, to: BrokerId, msg: KafkaMsg) {
        if to == PRODUCER {
            if let KafkaMsg::Response(Response::Produce {
                correlation_id,
                result: Ok(_),
                ..
            }) = msg
            {
                self.acked.push(correlation_id);
            }
            return;
        }
        let from_node = if from == PRODUCER {
            NodeId::Client(1)
        } else {
            NodeId::Broker(from)
        };
        let input = match msg {
            KafkaMsg::Request(conn, request) => {
                if !self.kconns.contains_key(&conn) {
                    return;
                }
                Input::Request {
                    conn,
                    from: from_node,
                    request,
                }
            }
            KafkaMsg::Response(response) => Input::Response {
                from: from_node,
                response,
            },
        };
        self.step_broker(to, ZkBrokerInput::Kafka(input));
    }
}

/// A broker's one-line state for the stories: registration, controller, and each replica.
pub fn show_broker(b: BrokerId, zb: Option<&ZkBroker>) -> String {
    let Some(zb) = zb else {
        return format!("  broker {b} down\n");
    };
    let registered = match zb.registered() {
        Some(e) => format!("broker epoch 0x{e:x}"),
        None => "unregistered".into(),
    };
    let controller = if zb.controller.is_active() {
        format!(", controller epoch {}", zb.controller.epoch())
    } else {
        String::new()
    };
    let mut s = format!("  broker {b} {registered}{controller}:");
    for r in zb.broker.replicas() {
        let role = match r.role {
            Role::Leader { leader_epoch } => format!("leader e{leader_epoch} isr {:?}", r.isr),
            Role::Follower {
                leader,
                leader_epoch,
            } => format!("follower of {leader} e{leader_epoch}"),
            Role::Offline => "offline".into(),
        };
        s += &format!(" p{} {role};", r.partition);
    }
    s + "\n"
}
