//! One broker driven by hand: the test writes every request and answer, and reads what the
//! broker sends (`Hand`), with builders for partition states, logs and requests. The cluster
//! harness (`mod.rs`) always has one answering controller and real followers; these tests need
//! a broker whose answers they choose.

use std::collections::BTreeMap;

use ksim_model::*;

use super::P;

pub const ME: BrokerId = 2;

pub fn three_voters() -> BrokerConfig {
    BrokerConfig {
        controller_quorum_voters: vec![1, 2, 3],
        ..Default::default()
    }
}

pub fn tick(b: &mut Broker, now: TimeMs) -> Ready {
    b.step(now, Input::Tick)
}

/// The controllers the broker's heartbeats in `ready` go to.
pub fn heartbeats(ready: &Ready) -> Vec<NodeId> {
    let is_heartbeat = |r: &Request| matches!(r, Request::BrokerHeartbeat { .. });
    ready
        .sends
        .iter()
        .filter_map(|e| match e {
            Envelope::To { node, request } if is_heartbeat(request) => Some(*node),
            _ => None,
        })
        .collect()
}

pub fn answer(b: &mut Broker, now: TimeMs, from: u32, result: Result<HeartbeatData, ErrorCode>) {
    let response = Response::BrokerHeartbeat { result };
    let ready = b.step(
        now,
        Input::Response {
            from: NodeId::Controller(from),
            response,
        },
    );
    assert!(
        heartbeats(&ready).is_empty(),
        "an answer sends no heartbeat"
    );
}

pub fn registered(partitions: Vec<PartitionState>) -> Result<HeartbeatData, ErrorCode> {
    Ok(HeartbeatData {
        broker_epoch: 7,
        fenced: false,
        partitions,
    })
}

pub fn state(leader: BrokerId, leader_epoch: Epoch, partition_epoch: Epoch) -> PartitionState {
    PartitionState {
        partition: P,
        replicas: vec![1, 2, 3],
        leader: Some(leader),
        leader_epoch,
        partition_epoch,
        isr: vec![1, 2, 3],
        elr: vec![],
        last_known_elr: vec![],
    }
}

/// A broker driven by hand: the test writes every request and answer, and reads what the
/// broker sends. Its controller is `controller.quorum.voters = [1]`.
pub struct Hand {
    pub b: Broker,
    pub now: TimeMs,
    pub conn: ConnId,
}

/// Partition 0 on brokers 0, 1 and 2 (Kafka numbers brokers from 0).
pub fn on_012(leader: BrokerId, leader_epoch: Epoch, isr: &[BrokerId]) -> PartitionState {
    PartitionState {
        replicas: vec![0, 1, 2],
        isr: isr.to_vec(),
        ..state(leader, leader_epoch, leader_epoch)
    }
}

pub fn records(from: Offset, epoch: Epoch, n: usize) -> Vec<Record> {
    (0..n as Offset)
        .map(|i| Record {
            offset: from + i,
            leader_epoch: epoch,
            producer_id: -1,
            sequence: -1,
            base_offset: from + i,
            key: bytes::Bytes::new(),
            value: bytes::Bytes::from(format!("v{}", from + i)),
        })
        .collect()
}

pub fn log_of(records: &[Record], hw: Offset) -> PartitionLog {
    let mut log = PartitionLog::default();
    log.append(records);
    log.set_hw(hw);
    log
}

impl Hand {
    /// Broker `id` (epoch `broker_epoch`, unfenced) with `log` for partition 0, given `st`.
    pub fn with(id: BrokerId, cfg: BrokerConfig, log: PartitionLog, st: PartitionState) -> Hand {
        let b = Broker::new(id, cfg, 1, 0, BTreeMap::from([(P, log)]));
        let mut h = Hand { b, now: 0, conn: 0 };
        h.tick();
        h.heartbeat_answer(Ok(HeartbeatData {
            broker_epoch: 7,
            fenced: false,
            partitions: vec![st],
        }));
        h
    }

    /// This hand's broker with `flaw` planted.
    pub fn planted(mut self, flaw: Flaw) -> Hand {
        self.b = self.b.with_selftest(SelfTest {
            flaw,
            ..SelfTest::default()
        });
        self
    }

    /// Broker 1 leading epoch 1 of partition 0 (ISR 0, 1, 2) with four records of epoch 1.
    pub fn leader(cfg: BrokerConfig) -> Hand {
        let log = log_of(&records(0, 1, 4), 0);
        Hand::with(1, cfg, log, on_012(1, 1, &[0, 1, 2]))
    }

    pub fn tick(&mut self) -> Ready {
        self.b.step(self.now, Input::Tick)
    }

    /// Tick every 50 ms for `ms`, keeping what was sent.
    pub fn run(&mut self, ms: TimeMs) -> Vec<Envelope> {
        let end = self.now + ms;
        let mut sent = Vec::new();
        while self.now < end {
            self.now += 50;
            sent.extend(self.tick().sends);
        }
        sent
    }

    pub fn heartbeat_answer(&mut self, result: Result<HeartbeatData, ErrorCode>) -> Ready {
        let response = Response::BrokerHeartbeat { result };
        let from = NodeId::Controller(1);
        self.b.step(self.now, Input::Response { from, response })
    }

    pub fn request(&mut self, from: NodeId, request: Request) -> (ConnId, Ready) {
        self.conn += 1;
        let conn = self.conn;
        let input = Input::Request {
            conn,
            from,
            request,
        };
        (conn, self.b.step(self.now, input))
    }

    /// A fetch from `replica` (-1: a consumer) in leader epoch `current`.
    pub fn fetch(
        &mut self,
        replica: BrokerId,
        offset: Offset,
        last: Epoch,
        current: Epoch,
    ) -> Reply {
        let request = Request::Fetch {
            replica_id: replica,
            broker_epoch: 30 + replica as i64,
            partition: P,
            fetch_offset: offset,
            last_fetched_epoch: last,
            current_leader_epoch: current,
        };
        let from = if replica < 0 {
            NodeId::Client(0)
        } else {
            NodeId::Broker(replica)
        };
        let (conn, ready) = self.request(from, request);
        Reply { conn, ready }
    }

    pub fn response(&mut self, from: NodeId, response: Response) -> Ready {
        self.b.step(self.now, Input::Response { from, response })
    }
}

/// What a request made the broker send, and the connection it came on.
pub struct Reply {
    pub conn: ConnId,
    pub ready: Ready,
}

impl Reply {
    /// The fetch answer on this request's connection, if the broker answered at once.
    pub fn fetch(&self) -> Option<Result<FetchData, ErrorCode>> {
        fetch_answer(&self.ready.sends, self.conn)
    }
}

pub fn fetch_answer(sends: &[Envelope], on: ConnId) -> Option<Result<FetchData, ErrorCode>> {
    sends.iter().find_map(|e| match e {
        Envelope::Reply {
            conn,
            response: Response::Fetch { result, .. },
        } if *conn == on => Some(result.clone()),
        _ => None,
    })
}

pub fn offsets(
    result: Option<Result<FetchData, ErrorCode>>,
) -> Result<(Offset, Vec<Offset>), ErrorCode> {
    let data = result.expect("answered at once")?;
    Ok((
        data.high_watermark,
        data.records.iter().map(|r| r.offset).collect(),
    ))
}

/// The ISRs proposed in AlterPartition requests among `sends`, with each member's broker epoch.
pub fn alters(sends: &[Envelope]) -> Vec<Vec<(BrokerId, i64)>> {
    sends
        .iter()
        .filter_map(|e| match e {
            Envelope::To {
                request: Request::AlterPartition(a),
                ..
            } => Some(a.new_isr.clone()),
            _ => None,
        })
        .collect()
}

/// Followers 0 and 2 fetch at `offset`: the leader's HW becomes `offset`.
pub fn both_fetch(h: &mut Hand, offset: Offset) {
    for f in [0, 2] {
        h.fetch(f, offset, 1, 1);
    }
}

pub fn produce(values: &[&str]) -> Request {
    Request::Produce {
        correlation_id: 1,
        partition: P,
        acks: Acks::Leader,
        timeout_ms: 30_000,
        producer_id: -1,
        base_sequence: -1,
        records: values
            .iter()
            .map(|v| ProduceRecord {
                key: bytes::Bytes::new(),
                value: bytes::Bytes::from(v.to_string()),
            })
            .collect(),
    }
}

/// Broker 2 following broker 1 in `leader_epoch` with `log`.
pub fn follower(cfg: BrokerConfig, log: PartitionLog, leader_epoch: Epoch) -> (Hand, Ready) {
    let b = Broker::new(2, cfg, 1, 0, BTreeMap::from([(P, log)]));
    let mut h = Hand { b, now: 0, conn: 0 };
    h.tick();
    let became = h.heartbeat_answer(Ok(HeartbeatData {
        broker_epoch: 7,
        fenced: false,
        partitions: vec![on_012(1, leader_epoch, &[0, 1, 2])],
    }));
    (h, became)
}

/// The fetches in `sends`: (leader, fetch offset, last fetched epoch, current leader epoch).
pub fn fetches(sends: &[Envelope]) -> Vec<(NodeId, Offset, Epoch, Epoch)> {
    sends
        .iter()
        .filter_map(|e| match e {
            Envelope::To {
                node,
                request:
                    Request::Fetch {
                        fetch_offset,
                        last_fetched_epoch,
                        current_leader_epoch,
                        ..
                    },
            } => Some((
                *node,
                *fetch_offset,
                *last_fetched_epoch,
                *current_leader_epoch,
            )),
            _ => None,
        })
        .collect()
}

pub fn data(hw: Offset, records: Vec<Record>) -> FetchData {
    FetchData {
        high_watermark: hw,
        log_end_offset: hw,
        diverging_epoch: None,
        truncate_to: None,
        records,
    }
}

pub fn answer_fetch(
    h: &mut Hand,
    leader_epoch: Epoch,
    result: Result<FetchData, ErrorCode>,
) -> Ready {
    let response = Response::Fetch {
        partition: P,
        leader_epoch,
        result,
    };
    h.response(NodeId::Broker(1), response)
}

pub fn produce_as(
    acks: Acks,
    values: &[&str],
    (producer_id, base_sequence): (i64, i32),
) -> Request {
    let Request::Produce { records, .. } = produce(values) else {
        unreachable!()
    };
    Request::Produce {
        correlation_id: 1,
        partition: P,
        acks,
        timeout_ms: 30_000,
        producer_id,
        base_sequence,
        records,
    }
}

pub fn produce_answer(
    sends: &[Envelope],
    on: ConnId,
) -> Option<(Epoch, Result<Offset, ErrorCode>)> {
    sends.iter().find_map(|e| match e {
        Envelope::Reply {
            conn,
            response:
                Response::Produce {
                    leader_epoch,
                    result,
                    ..
                },
        } if *conn == on => Some((*leader_epoch, *result)),
        _ => None,
    })
}

/// Followers 0 and 2 fetch at `offset`; what the leader answered to the producer meanwhile.
pub fn commit_to(h: &mut Hand, offset: Offset) -> Vec<Envelope> {
    [0, 2]
        .iter()
        .flat_map(|f| h.fetch(*f, offset, 1, 1).ready.sends)
        .collect()
}
