//! One broker and its controller, driven by hand: which voter it talks to and when it moves
//! on, its heartbeats and registration, a stalled metadata replay, the partition states it
//! applies, and the answers to its AlterPartition requests.

mod common;

use std::collections::BTreeMap;

use common::hand::*;
use common::P;
use ksim_model::*;

#[test]
fn a_broker_tries_each_voter_in_turn_and_waits_a_quarter_election_timeout_after_a_full_round() {
    let c = NodeId::Controller;
    let mut b = Broker::new(ME, three_voters(), 1, 0, BTreeMap::new());
    // Broker 2 starts at voters[2 % 3], spreading the brokers over the voters.
    assert_eq!(heartbeats(&tick(&mut b, 0)), vec![c(3)]);
    // A late NOT_CONTROLLER from a voter it does not send to moves nothing.
    answer(&mut b, 10, 1, Err(ErrorCode::NotController));
    assert!(heartbeats(&tick(&mut b, 20)).is_empty());
    let mut now = 20;
    for (from, next) in [(3, 1), (1, 2)] {
        answer(&mut b, now, from, Err(ErrorCode::NotController));
        assert_eq!(heartbeats(&tick(&mut b, now)), vec![c(next)], "at once");
        now += 10;
    }
    // The third miss in a row completes a round: wait 1000 / 4 ms before the next try.
    answer(&mut b, now, 2, Err(ErrorCode::NotController));
    assert!(heartbeats(&tick(&mut b, now + 249)).is_empty());
    assert_eq!(heartbeats(&tick(&mut b, now + 250)), vec![c(3)]);
    // The round count starts again: one more miss moves on at once.
    answer(&mut b, now + 260, 3, Err(ErrorCode::NotController));
    assert_eq!(heartbeats(&tick(&mut b, now + 260)), vec![c(1)]);
}

#[test]
fn an_answered_heartbeat_resets_the_misses_and_the_next_one_waits_the_heartbeat_interval() {
    let c = NodeId::Controller;
    let mut b = Broker::new(ME, three_voters(), 1, 0, BTreeMap::new());
    assert_eq!(heartbeats(&tick(&mut b, 0)), vec![c(3)]);
    answer(&mut b, 5, 3, Err(ErrorCode::NotController));
    assert_eq!(heartbeats(&tick(&mut b, 5)), vec![c(1)]);
    answer(&mut b, 10, 1, Err(ErrorCode::NotController));
    assert_eq!(heartbeats(&tick(&mut b, 10)), vec![c(2)]);
    answer(&mut b, 15, 2, registered(vec![])); // two misses forgotten
    assert!(heartbeats(&tick(&mut b, 2_009)).is_empty());
    assert_eq!(heartbeats(&tick(&mut b, 2_010)), vec![c(2)]);
    answer(&mut b, 2_020, 2, Err(ErrorCode::NotController));
    assert_eq!(heartbeats(&tick(&mut b, 2_020)), vec![c(3)]);
    answer(&mut b, 2_030, 3, Err(ErrorCode::NotController));
    assert_eq!(
        heartbeats(&tick(&mut b, 2_030)),
        vec![c(1)],
        "two misses since the answer: no round yet, no wait"
    );
}

#[test]
fn a_heartbeat_unanswered_for_half_a_session_moves_on_to_the_next_voter() {
    let c = NodeId::Controller;
    let mut b = Broker::new(ME, three_voters(), 1, 0, BTreeMap::new());
    assert_eq!(heartbeats(&tick(&mut b, 0)), vec![c(3)]);
    // broker.session.timeout.ms = 9000: the broker waits 4500 ms, then no longer.
    for now in (50..=4_500).step_by(50) {
        assert!(heartbeats(&tick(&mut b, now)).is_empty(), "at {now} ms");
    }
    assert_eq!(heartbeats(&tick(&mut b, 4_501)), vec![c(1)]);
}

#[test]
fn a_stalled_metadata_replay_holds_the_newest_state_and_applies_it_on_resuming() {
    let mut b = Broker::new(ME, three_voters(), 1, 0, BTreeMap::new());
    tick(&mut b, 0);
    assert!(!b.metadata_stalled());
    assert!(b.set_metadata_stalled(1, true).sends.is_empty());
    assert!(b.metadata_stalled());
    // Broker 2 leads epoch 3, then follows 1 in epoch 4; a late copy of epoch 3 comes last.
    let published = vec![state(ME, 3, 5), state(1, 4, 6), state(ME, 3, 5)];
    answer(&mut b, 10, 3, registered(published));
    assert!(b.replica(P).is_none(), "nothing applied while stalled");
    let resumed = b.set_metadata_stalled(20, false);
    assert!(!b.metadata_stalled());
    assert_eq!(b.replica(P).map(|r| r.leader_epoch()), Some(4));
    let fetches_from_1 = resumed.sends.iter().any(|e| {
        matches!(
            e,
            Envelope::To {
                node: NodeId::Broker(1),
                request: Request::Fetch { .. }
            }
        )
    });
    assert!(fetches_from_1, "following broker 1: {:?}", resumed.sends);
    assert!(
        b.set_metadata_stalled(30, false).sends.is_empty(),
        "resumed twice"
    );
}

#[test]
fn a_restarted_broker_counts_its_starts_and_knows_its_recovered_logs_before_any_state() {
    let logs = BTreeMap::from([(P, PartitionLog::default()), (1, PartitionLog::default())]);
    let b = Broker::new(ME, BrokerConfig::default(), 3, 0, logs);
    assert_eq!(b.incarnation(), 3);
    assert_eq!(b.replicas().count(), 2);
    // Offline and without a partition state: no leader epoch yet.
    assert_eq!(b.replica(P).map(|r| r.leader_epoch()), Some(-1));
}

/// Broker 1 leading with follower 0 gone quiet: after the lag it proposes ISR [1, 2].
fn shrinking(cfg: BrokerConfig) -> (Hand, Request) {
    let cfg = BrokerConfig {
        replica_lag_time_max_ms: 1000,
        ..cfg
    };
    let mut h = Hand::leader(cfg);
    loop {
        h.fetch(2, 4, 1, 1);
        let sent = h.run(50);
        let alter = sent.into_iter().find_map(|e| match e {
            Envelope::To { request, .. } if matches!(request, Request::AlterPartition(_)) => {
                Some(request)
            }
            _ => None,
        });
        if let Some(alter) = alter {
            return (h, alter);
        }
        assert!(h.now < 5_000, "no shrink");
    }
}

fn alter_answer(h: &mut Hand, from: u32, proposal: (Epoch, Vec<BrokerId>), e: ErrorCode) -> Ready {
    let response = Response::AlterPartition {
        partition: P,
        proposal,
        result: Err(e),
    };
    h.response(NodeId::Controller(from), response)
}

fn proposal_of(alter: &Request) -> (Epoch, Vec<BrokerId>) {
    let Request::AlterPartition(a) = alter else {
        panic!("not an AlterPartition: {alter:?}");
    };
    a.proposal()
}

#[test]
fn an_alter_partition_already_applied_stays_pending_until_the_next_partition_state() {
    let (mut h, alter) = shrinking(BrokerConfig::default());
    alter_answer(
        &mut h,
        1,
        proposal_of(&alter),
        ErrorCode::InvalidUpdateVersion,
    );
    h.fetch(2, 4, 1, 1);
    assert!(alters(&h.run(3_000)).is_empty(), "no second proposal");
}

#[test]
fn a_refused_alter_partition_is_proposed_again_after_replica_fetch_backoff_ms() {
    let (mut h, alter) = shrinking(BrokerConfig::default());
    alter_answer(&mut h, 1, proposal_of(&alter), ErrorCode::IneligibleReplica);
    let refused_at = h.now;
    let mut sent = Vec::new();
    while alters(&sent).is_empty() {
        h.fetch(2, 4, 1, 1);
        sent = h.run(50);
        assert!(h.now < refused_at + 3_000, "never proposed again");
    }
    // replica.fetch.backoff.ms = 1000, on a 50 ms tick.
    assert_eq!(h.now, refused_at + 1_000);
}

#[test]
fn a_refusal_of_an_older_proposal_leaves_the_pending_one_alone() {
    let (mut h, alter) = shrinking(BrokerConfig::default());
    let (epoch, _) = proposal_of(&alter);
    alter_answer(&mut h, 1, (epoch, vec![1]), ErrorCode::IneligibleReplica);
    h.fetch(2, 4, 1, 1);
    assert!(
        alters(&h.run(3_000)).is_empty(),
        "still waiting for its own answer"
    );
}

#[test]
fn an_alter_partition_answered_not_controller_goes_to_the_next_voter() {
    let cfg = BrokerConfig {
        controller_quorum_voters: vec![1, 2, 3],
        replica_lag_time_max_ms: 1000,
        ..Default::default()
    };
    // Broker 1 starts at voters[1 % 3] = 2.
    let log = log_of(&records(0, 1, 4), 0);
    let b = Broker::new(1, cfg.clone(), 1, 0, BTreeMap::from([(P, log)]));
    let mut h = Hand { b, now: 0, conn: 0 };
    h.tick();
    let registered = Response::BrokerHeartbeat {
        result: Ok(HeartbeatData {
            broker_epoch: 7,
            fenced: false,
            partitions: vec![on_012(1, 1, &[0, 1, 2])],
        }),
    };
    h.response(NodeId::Controller(2), registered);
    let sent = loop {
        h.fetch(2, 4, 1, 1);
        let sent = h.run(50);
        if !alters(&sent).is_empty() {
            break sent;
        }
        assert!(h.now < 5_000, "no shrink");
    };
    let to = |sent: &[Envelope]| {
        sent.iter().find_map(|e| match e {
            Envelope::To {
                node,
                request: Request::AlterPartition(_),
            } => Some(*node),
            _ => None,
        })
    };
    assert_eq!(to(&sent), Some(NodeId::Controller(2)));
    let Some(Envelope::To { request, .. }) =
        sent.iter().find(|e| to(std::slice::from_ref(e)).is_some())
    else {
        unreachable!()
    };
    let proposal = proposal_of(request);
    alter_answer(&mut h, 2, proposal, ErrorCode::NotController);
    assert_eq!(
        to(&h.run(50)),
        Some(NodeId::Controller(3)),
        "sent again to the next voter"
    );
}

fn hb(broker_epoch: i64, fenced: bool) -> Result<HeartbeatData, ErrorCode> {
    Ok(HeartbeatData {
        broker_epoch,
        fenced,
        partitions: vec![],
    })
}

/// Whether the broker's next heartbeat leaves on the next tick (rather than a heartbeat
/// interval later).
fn heartbeats_at_once(h: &mut Hand) -> bool {
    h.now += 50;
    !heartbeats(&h.tick()).is_empty()
}

#[test]
fn a_registering_broker_heartbeats_again_at_once_until_it_is_unfenced() {
    let b = Broker::new(ME, BrokerConfig::default(), 1, 0, BTreeMap::new());
    let mut h = Hand { b, now: 0, conn: 0 };
    h.tick();
    h.heartbeat_answer(hb(0, true)); // registered with broker epoch 0, still fenced
    assert!(heartbeats_at_once(&mut h));
    h.heartbeat_answer(hb(0, true)); // registered, fenced: still registering
    assert!(heartbeats_at_once(&mut h));
    h.heartbeat_answer(hb(0, false));
    assert!(!heartbeats_at_once(&mut h), "unfenced: the interval");
    h.now += 2_000;
    h.tick();
    h.heartbeat_answer(hb(0, true)); // fenced again while registered: no hurry
    assert!(!heartbeats_at_once(&mut h));
}

#[test]
fn a_stale_broker_epoch_makes_the_broker_register_again_at_once() {
    let b = Broker::new(ME, BrokerConfig::default(), 1, 0, BTreeMap::new());
    let mut h = Hand { b, now: 0, conn: 0 };
    h.tick();
    h.heartbeat_answer(hb(4, false));
    h.now += 2_000;
    h.tick();
    h.heartbeat_answer(Err(ErrorCode::StaleBrokerEpoch));
    h.now += 50;
    let again = h.tick();
    let epochs: Vec<i64> = again
        .sends
        .iter()
        .filter_map(|e| match e {
            Envelope::To {
                request: Request::BrokerHeartbeat { broker_epoch, .. },
                ..
            } => Some(*broker_epoch),
            _ => None,
        })
        .collect();
    assert_eq!(epochs, vec![-1], "a registration");
    h.heartbeat_answer(hb(9, true)); // registered afresh, fenced
    assert!(heartbeats_at_once(&mut h));
}

#[test]
fn a_broker_applies_partition_states_only_once_registered_and_only_its_own() {
    let b = Broker::new(ME, BrokerConfig::default(), 1, 0, BTreeMap::new());
    let mut h = Hand { b, now: 0, conn: 0 };
    let push = |h: &mut Hand, st| {
        h.request(
            NodeId::Controller(1),
            Request::LeaderAndIsr {
                partitions: vec![st],
            },
        )
    };
    push(&mut h, state(1, 1, 1));
    assert!(h.b.replica(P).is_none(), "not registered yet");
    h.tick();
    h.heartbeat_answer(hb(0, false));
    let elsewhere = PartitionState {
        replicas: vec![1, 3],
        ..state(1, 2, 2)
    };
    push(&mut h, elsewhere);
    assert!(h.b.replica(P).is_none(), "not a replica of it");
    push(&mut h, state(1, 3, 3));
    assert_eq!(
        h.b.replica(P).map(|r| r.leader_epoch()),
        Some(3),
        "broker epoch 0 counts"
    );
}

#[test]
fn a_lost_connection_to_the_controller_moves_on_only_when_it_is_the_current_one() {
    let cfg = three_voters();
    let mut b = Broker::new(ME, cfg, 1, 0, BTreeMap::new());
    assert_eq!(heartbeats(&tick(&mut b, 0)), vec![NodeId::Controller(3)]);
    b.step(
        10,
        Input::Disconnected {
            peer: NodeId::Controller(1),
        },
    );
    assert!(
        heartbeats(&tick(&mut b, 20)).is_empty(),
        "another voter: nothing"
    );
    b.step(
        30,
        Input::Disconnected {
            peer: NodeId::Controller(3),
        },
    );
    assert_eq!(heartbeats(&tick(&mut b, 30)), vec![NodeId::Controller(1)]);
}
