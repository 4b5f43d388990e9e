//! The clients run alone: a producer and a consumer fed events by hand, and what each sends,
//! closes and writes to the history in answer.

use std::time::Duration;

use bytes::Bytes;
use ksim_model::client::*;
use ksim_model::history::{Op, OpType, Poll};
use ksim_model::*;
use rand::SeedableRng;

const LEADER: BrokerId = 2;

fn producer(config: ProducerConfig, flaw: Flaw) -> Producer {
    Producer::new(ProducerSetup {
        idx: 1,
        config,
        partitions: 1,
        topics: 1,
        value_bytes: 16,
        bootstrap: (1..=3).map(NodeId::Controller).collect(),
        selftest: SelfTest {
            flaw,
            ..SelfTest::default()
        },
        rng: rand_chacha::ChaCha8Rng::seed_from_u64(1),
    })
}

fn at(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn step(p: &mut Producer, ms: u64, event: Event, send: Option<u64>) -> ProducerReady {
    let send = send.map(|value| ProducerRecord {
        key: Bytes::new(),
        value,
    });
    p.step(at(ms), ProducerInput { event, send })
}

fn answer(from: NodeId, response: Response) -> Event {
    Event::Response { from, response }
}

fn metadata(leader: BrokerId) -> Event {
    let state = PartitionState {
        partition: 0,
        replicas: vec![1, 2, 3],
        leader: Some(leader),
        leader_epoch: 4,
        partition_epoch: 0,
        isr: vec![1, 2, 3],
        elr: vec![],
        last_known_elr: vec![],
    };
    let response = Response::Metadata {
        correlation_id: 1,
        brokers: vec![1, 2, 3],
        partitions: vec![state],
    };
    answer(NodeId::Controller(1), response)
}

fn sends(ready: &ProducerReady) -> Vec<(NodeId, Request)> {
    sent(&ready.effects)
}

fn sent(effects: &[Effect]) -> Vec<(NodeId, Request)> {
    let to = |e: &Effect| match e {
        Effect::Send { to, request } => Some((*to, request.clone())),
        _ => None,
    };
    effects.iter().filter_map(to).collect()
}

fn ops(ready: &ProducerReady) -> Vec<Op> {
    let op = |e: &Effect| match e {
        Effect::Record(op) => Some(op.clone()),
        _ => None,
    };
    ready.effects.iter().filter_map(op).collect()
}

/// The values (their 8-byte ids) and base sequence of a Produce request.
fn produced(request: &Request) -> (Vec<u64>, i32) {
    let Request::Produce {
        records,
        base_sequence,
        ..
    } = request
    else {
        panic!("not a Produce request: {request:?}");
    };
    let id = |r: &ProduceRecord| u64::from_be_bytes(r.value[..8].try_into().unwrap());
    (records.iter().map(id).collect(), *base_sequence)
}

/// A producer that knows partition 0's leader, at 5 ms.
fn ready_producer(config: ProducerConfig, flaw: Flaw) -> Producer {
    let mut p = producer(config, flaw);
    let first = step(&mut p, 0, Event::Woken, None);
    assert!(matches!(
        sends(&first)[..],
        [(NodeId::Controller(1), Request::Metadata { .. })]
    ));
    step(&mut p, 5, metadata(LEADER), None);
    p
}

#[test]
fn a_record_waits_for_metadata_then_goes_to_its_leader_and_is_acknowledged() {
    let mut p = producer(ProducerConfig::default(), Flaw::None);
    step(&mut p, 0, Event::Woken, None);
    // linger.ms=0 and no leader known: the record is not taken, and its id stays free.
    let early = step(&mut p, 1, Event::Woken, Some(7));
    assert!(!early.accepted && ops(&early).is_empty());
    step(&mut p, 5, metadata(LEADER), None);
    let sent = step(&mut p, 6, Event::Woken, Some(7));
    assert!(sent.accepted);
    let (to, request) = sends(&sent).pop().expect("a Produce request");
    assert_eq!(
        (to, produced(&request)),
        (NodeId::Broker(LEADER), (vec![7], -1))
    );
    assert_eq!(ops(&sent)[0].kind, OpType::Invoke);
    let ack = Response::Produce {
        correlation_id: 2,
        partition: 0,
        leader_epoch: 4,
        result: Ok(40),
    };
    let done = ops(&step(&mut p, 9, answer(NodeId::Broker(LEADER), ack), None));
    assert_eq!(done.len(), 1);
    let ok = &done[0];
    assert_eq!((ok.kind, ok.value, ok.offset), (OpType::Ok, 7, Some(40)));
    assert_eq!((ok.leader_epoch, ok.broker), (Some(4), Some(LEADER)));
}

#[test]
fn a_request_past_its_timeout_closes_the_connection_with_an_unknown_outcome() {
    let mut p = ready_producer(ProducerConfig::default(), Flaw::None);
    let sent = step(&mut p, 6, Event::Woken, Some(1));
    assert_eq!(sent.wake, Some(at(6 + 30_000)));
    let expired = step(&mut p, 30_006, Event::Woken, None);
    assert!(matches!(
        expired.effects[0],
        Effect::Close(NodeId::Broker(LEADER))
    ));
    let info = &ops(&expired)[0];
    assert_eq!(info.kind, OpType::Info);
    assert_eq!(info.error.as_deref(), Some("request.timeout.ms expired"));
}

/// Two records in flight to the leader when its connection resets: both are retried to the
/// new leader after `retry.backoff.ms`, in the order they were first sent (the planted
/// `reorder-retries` flaw sends the newest first).
fn retried_order(flaw: Flaw) -> Vec<u64> {
    let config = ProducerConfig {
        retries: 3,
        ..ProducerConfig::default()
    };
    let mut p = ready_producer(config, flaw);
    step(&mut p, 6, Event::Woken, Some(10));
    step(&mut p, 7, Event::Woken, Some(11));
    let reset = Event::Disconnected {
        peer: NodeId::Broker(LEADER),
        refused: false,
    };
    let failed = step(&mut p, 8, reset, None);
    assert!(ops(&failed).is_empty(), "retried, not completed");
    step(&mut p, 106, metadata(3), None);
    let retried = step(&mut p, 108, Event::Woken, None);
    let mut order = Vec::new();
    for (to, request) in sends(&retried) {
        assert_eq!(to, NodeId::Broker(3));
        order.extend(produced(&request).0);
    }
    order
}

#[test]
fn retries_go_in_the_order_their_records_were_first_sent() {
    assert_eq!(retried_order(Flaw::None), vec![10, 11]);
    assert_eq!(retried_order(Flaw::ReorderRetries), vec![11, 10]);
}

#[test]
fn linger_holds_records_in_one_batch_until_it_has_waited() {
    let config = ProducerConfig {
        linger_ms: 10,
        ..ProducerConfig::default()
    };
    let mut p = ready_producer(config, Flaw::None);
    let first = step(&mut p, 6, Event::Woken, Some(1));
    assert!(first.accepted && sends(&first).is_empty());
    assert_eq!(first.wake, Some(at(16)));
    assert!(sends(&step(&mut p, 8, Event::Woken, Some(2))).is_empty());
    let lingered = step(&mut p, 16, Event::Woken, None);
    let batches: Vec<_> = sends(&lingered).iter().map(|(_, r)| produced(r)).collect();
    assert_eq!(batches, vec![(vec![1, 2], -1)]);
}

/// KIP-360: an idempotent producer that gives up a record whose fate is unknown ends its
/// session and asks for a new producer id.
#[test]
fn an_idempotent_producer_that_gives_up_an_unknown_record_starts_a_new_session() {
    let config = ProducerConfig {
        enable_idempotence: true,
        ..ProducerConfig::default()
    };
    let mut p = producer(config, Flaw::None);
    let first = step(&mut p, 0, Event::Woken, None);
    let init = sends(&first)
        .into_iter()
        .filter(|(_, r)| matches!(r, Request::InitProducerId { .. }))
        .count();
    assert_eq!(init, 1);
    let id = Response::InitProducerId {
        correlation_id: 2,
        result: Ok(42),
    };
    step(&mut p, 2, answer(NodeId::Controller(1), id), None);
    step(&mut p, 5, metadata(LEADER), None);
    let a = step(&mut p, 6, Event::Woken, Some(1));
    let b = step(&mut p, 7, Event::Woken, Some(2));
    assert_eq!(produced(&sends(&a)[0].1), (vec![1], 0));
    assert_eq!(produced(&sends(&b)[0].1), (vec![2], 1));
    assert_eq!(ops(&a)[0].producer_id, Some(42));
    let expired = step(&mut p, 30_006, Event::Woken, None);
    let asks_again = sends(&expired)
        .iter()
        .any(|(_, r)| matches!(r, Request::InitProducerId { .. }));
    assert!(asks_again, "the session ended: {:?}", expired.effects);
    // Without a producer id it takes no record.
    assert!(!step(&mut p, 30_008, Event::Woken, Some(3)).accepted);
}

// ------------------------------------------------------------------------------ consumer

fn consumer(enable_auto_commit: bool, flaw: Flaw) -> Consumer {
    Consumer::new(ConsumerSetup {
        n: 1,
        incarnation: 1,
        config: ConsumerConfig {
            enable_auto_commit,
            ..ConsumerConfig::default()
        },
        coordinators: (1..=3).map(NodeId::Controller).collect(),
        selftest: SelfTest {
            flaw,
            ..SelfTest::default()
        },
    })
}

fn group_answer(response: Response) -> Event {
    answer(NodeId::Controller(1), response)
}

fn polls(ready: &ConsumerReady) -> Vec<Poll> {
    let poll = |e: &Effect| match e {
        Effect::Polled { poll, .. } => Some(poll.clone()),
        _ => None,
    };
    ready.effects.iter().filter_map(poll).collect()
}

fn record(offset: Offset, value: u64) -> log::Record {
    log::Record {
        offset,
        leader_epoch: 4,
        producer_id: -1,
        sequence: -1,
        base_offset: offset,
        key: Bytes::new(),
        value: Bytes::from(value.to_be_bytes().to_vec()),
    }
}

/// A consumer joins, starts from the group's committed offset 3, fetches from the leader in
/// its epoch and polls what the fetch returned; without auto-commit it commits after the poll.
/// Returns the offsets it committed.
fn consume(flaw: Flaw) -> Vec<(PartitionId, Offset)> {
    let mut c = consumer(false, flaw);
    let join = c.step(0, Event::Woken);
    assert!(matches!(
        sent(&join.effects)[0].1,
        Request::JoinGroup { .. }
    ));
    let joined = Response::JoinGroup {
        correlation_id: 1,
        result: Ok((1, vec![0])),
    };
    let asks = sent(&c.step(2, group_answer(joined)).effects);
    assert!(matches!(
        asks[..],
        [
            (_, Request::Metadata { .. }),
            (_, Request::OffsetFetch { .. })
        ]
    ));
    let committed = Response::OffsetFetch {
        correlation_id: 3,
        result: Ok(vec![(0, 3)]),
    };
    c.step(3, group_answer(committed));
    let fetch = sent(&c.step(4, metadata(LEADER)).effects);
    let Request::Fetch {
        fetch_offset,
        current_leader_epoch,
        ..
    } = fetch[0].1
    else {
        panic!("not a fetch: {fetch:?}");
    };
    assert_eq!(
        (fetch[0].0, fetch_offset, current_leader_epoch),
        (NodeId::Broker(LEADER), 3, 4)
    );
    let data = FetchData {
        high_watermark: 5,
        log_end_offset: 5,
        diverging_epoch: None,
        truncate_to: None,
        records: vec![record(3, 30), record(4, 40)],
    };
    let fetched = Response::Fetch {
        partition: 0,
        leader_epoch: 4,
        result: Ok(data),
    };
    let polled = c.step(6, answer(NodeId::Broker(LEADER), fetched));
    let seen: Vec<(Offset, u64)> = polls(&polled).iter().map(|p| (p.offset, p.value)).collect();
    assert_eq!(seen, vec![(3, 30), (4, 40)]);
    sent(&polled.effects)
        .into_iter()
        .find_map(|(_, r)| match r {
            Request::OffsetCommit { offsets, .. } => Some(offsets),
            _ => None,
        })
        .expect("a commit after the poll")
}

#[test]
fn a_consumer_polls_from_its_committed_offset_and_commits_what_it_polled() {
    assert_eq!(consume(Flaw::None), vec![(0, 5)]);
    // The planted flaw skips a record past the poll: the commit shows it.
    assert_eq!(consume(Flaw::ConsumerSkipsARecord), vec![(0, 6)]);
}
