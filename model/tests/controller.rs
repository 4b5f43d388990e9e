//! The controller's state machine driven by hand, one command at a time: requests become
//! commands, registration and heartbeats, session expiry at its exact boundary, fencing, the
//! answers a controller that cannot apply gives, producer ids, and KIP-966's unclean shutdown
//! and balanced recovery.

use ksim_model::GroupRequest;
use ksim_model::*;

const TIMEOUT: TimeMs = 9_000;

fn origin(conn: ConnId) -> Origin {
    Origin {
        controller: 2,
        incarnation: 5,
        conn,
    }
}

fn strict(min_isr: usize) -> BrokerConfig {
    let mut cfg = BrokerConfig {
        min_insync_replicas: min_isr,
        ..Default::default()
    };
    cfg.protocol.strict_min_isr = true;
    cfg
}

/// A BrokerHeartbeat (a registration when `epoch` is -1) with the broker's log ends.
fn beat(
    c: &mut Controller,
    now: TimeMs,
    broker: BrokerId,
    epoch: i64,
    incarnation: u64,
    log_ends: Vec<(PartitionId, Epoch, Offset)>,
) -> (Result<HeartbeatData, ErrorCode>, Ready) {
    let ready = c.apply(&Command::Heartbeat {
        now,
        origin: origin(9),
        broker,
        broker_epoch: epoch,
        incarnation,
        log_ends,
    });
    let result = match ready.sends.iter().find_map(|e| match e {
        Envelope::Reply {
            conn: 9,
            response: Response::BrokerHeartbeat { result },
        } => Some(result.clone()),
        _ => None,
    }) {
        Some(r) => r,
        None => panic!("no heartbeat answer: {:?}", ready.sends),
    };
    (result, ready)
}

/// Register `broker` and heartbeat once at `now`: it is unfenced. Returns its broker epoch.
fn up(c: &mut Controller, now: TimeMs, broker: BrokerId, incarnation: u64) -> i64 {
    let epoch = beat(c, now, broker, -1, incarnation, vec![])
        .0
        .unwrap()
        .broker_epoch;
    let data = beat(c, now, broker, epoch, incarnation, vec![]).0.unwrap();
    assert!(!data.fenced);
    epoch
}

fn fenced_notes(ready: &Ready) -> Vec<BrokerId> {
    ready
        .notes
        .iter()
        .filter_map(|n| match n {
            Note::BrokerFenced { broker } => Some(*broker),
            _ => None,
        })
        .collect()
}

fn state(c: &Controller, p: PartitionId) -> PartitionState {
    c.partitions().find(|s| s.partition == p).unwrap().clone()
}

#[test]
fn each_metadata_request_becomes_its_command_and_others_none() {
    let o = origin(3);
    let hb = Request::BrokerHeartbeat {
        broker: 2,
        broker_epoch: 7,
        incarnation: 4,
        log_ends: vec![(0, 1, 5)],
    };
    assert_eq!(
        Command::for_request(100, o, &hb),
        Some(Command::Heartbeat {
            now: 100,
            origin: o,
            broker: 2,
            broker_epoch: 7,
            incarnation: 4,
            log_ends: vec![(0, 1, 5)],
        })
    );
    let request = AlterPartitionRequest {
        leader: 1,
        broker_epoch: 3,
        partition: 2,
        leader_epoch: 4,
        partition_epoch: 6,
        new_isr: vec![(1, 3), (2, 8)],
    };
    let alter = Request::AlterPartition(request.clone());
    assert_eq!(
        Command::for_request(100, o, &alter),
        Some(Command::AlterPartition {
            now: 100,
            origin: o,
            request,
        })
    );
    let init = Request::InitProducerId { correlation_id: 11 };
    assert_eq!(
        Command::for_request(100, o, &init),
        Some(Command::AllocateProducerId {
            origin: o,
            correlation_id: 11
        })
    );
    let fetch = Request::OffsetFetch { correlation_id: 12 };
    assert_eq!(
        Command::for_request(100, o, &fetch),
        Some(Command::Group {
            now: 100,
            origin: o,
            request: GroupRequest(fetch.clone()),
        })
    );
    let metadata = Request::Metadata { correlation_id: 1 };
    assert_eq!(Command::for_request(100, o, &metadata), None);
}

#[test]
fn commands_from_a_request_have_its_origin_and_timers_none() {
    let o = origin(3);
    let init = Command::AllocateProducerId {
        origin: o,
        correlation_id: 1,
    };
    assert_eq!(init.origin(), Some(o));
    let group = Command::Group {
        now: 0,
        origin: o,
        request: GroupRequest(Request::OffsetFetch { correlation_id: 1 }),
    };
    assert_eq!(group.origin(), Some(o));
    assert_eq!(Command::ExpireSessions { now: 1 }.origin(), None);
    assert_eq!(Command::RenewSessions { now: 1 }.origin(), None);
}

/// What a controller that cannot apply `cmd` answers: (connection, kind, error).
fn refusal(cmd: &Command) -> Option<(ConnId, &'static str, Option<ErrorCode>)> {
    cmd.not_controller()
        .map(|(conn, r)| (conn, r.kind(), r.error()))
}

#[test]
fn a_controller_that_cannot_apply_answers_not_controller_on_the_origin_connection() {
    let o = origin(4);
    let heartbeat = Command::Heartbeat {
        now: 0,
        origin: o,
        broker: 1,
        broker_epoch: 1,
        incarnation: 1,
        log_ends: vec![],
    };
    let request = AlterPartitionRequest {
        leader: 1,
        broker_epoch: 1,
        partition: 2,
        leader_epoch: 3,
        partition_epoch: 6,
        new_isr: vec![(1, 1), (3, 2)],
    };
    let proposed = request.proposal();
    let alter = Command::AlterPartition {
        now: 0,
        origin: o,
        request,
    };
    let init = Command::AllocateProducerId {
        origin: o,
        correlation_id: 8,
    };
    let group = Command::Group {
        now: 0,
        origin: o,
        request: GroupRequest(Request::OffsetFetch { correlation_id: 9 }),
    };
    let not_controller = Some(ErrorCode::NotController);
    for (cmd, kind) in [
        (&heartbeat, "heartbeat_response"),
        (&alter, "alter_partition_response"),
        (&init, "init_producer_id_response"),
        (&group, "offset_fetch_response"),
    ] {
        assert_eq!(refusal(cmd), Some((4, kind, not_controller)), "{cmd:?}");
    }
    // The answers name what they answer: the proposal, the correlation id.
    assert!(matches!(
        alter.not_controller(),
        Some((_, Response::AlterPartition { partition: 2, proposal, .. })) if proposal == (6, vec![1, 3])
    ));
    assert!(matches!(
        init.not_controller(),
        Some((
            _,
            Response::InitProducerId {
                correlation_id: 8,
                ..
            }
        ))
    ));
    assert!(matches!(
        group.not_controller(),
        Some((
            _,
            Response::OffsetFetch {
                correlation_id: 9,
                ..
            }
        ))
    ));
    assert_eq!(refusal(&Command::ExpireSessions { now: 0 }), None);
    assert_eq!(proposed, (6, vec![1, 3]));
}

#[test]
fn producer_ids_count_up_from_zero_and_answer_the_asker() {
    let mut c = Controller::new(BrokerConfig::default(), 3, 1, 3);
    let ids: Vec<i64> = (0..3)
        .map(|i| {
            let ready = c.apply(&Command::AllocateProducerId {
                origin: origin(6),
                correlation_id: i,
            });
            match ready.sends.as_slice() {
                [Envelope::Reply {
                    conn: 6,
                    response:
                        Response::InitProducerId {
                            correlation_id,
                            result: Ok(id),
                        },
                }] if *correlation_id == i => *id,
                other => panic!("{other:?}"),
            }
        })
        .collect();
    assert_eq!(ids, vec![0, 1, 2]);
}

#[test]
fn a_broker_session_expires_strictly_after_the_session_timeout() {
    let mut c = Controller::new(BrokerConfig::default(), 3, 1, 3);
    up(&mut c, 0, 1, 1);
    assert!(!c.sessions_expired(TIMEOUT));
    assert!(c.sessions_expired(TIMEOUT + 1));
    let ready = c.apply(&Command::ExpireSessions { now: TIMEOUT });
    assert!(fenced_notes(&ready).is_empty() && !c.is_fenced(1));
    let ready = c.apply(&Command::ExpireSessions { now: TIMEOUT + 1 });
    assert_eq!(fenced_notes(&ready), vec![1]);
    assert!(c.is_fenced(1));
    // A fenced broker's session cannot expire again.
    assert!(!c.sessions_expired(10 * TIMEOUT));
}

#[test]
fn a_heartbeat_renews_the_session() {
    let mut c = Controller::new(BrokerConfig::default(), 3, 1, 3);
    let epoch = up(&mut c, 0, 1, 1);
    beat(&mut c, 5_000, 1, epoch, 1, vec![]).0.unwrap();
    assert!(!c.sessions_expired(TIMEOUT + 1));
    assert!(c.sessions_expired(5_000 + TIMEOUT + 1));
}

#[test]
fn a_new_active_controller_renews_live_sessions_only() {
    let mut c = Controller::new(BrokerConfig::default(), 3, 1, 3);
    up(&mut c, 0, 1, 1);
    up(&mut c, 0, 2, 1);
    c.apply(&Command::ExpireSessions { now: TIMEOUT + 1 });
    assert!(c.is_fenced(1) && c.is_fenced(2));
    let epoch = beat(&mut c, 20_000, 1, -1, 2, vec![])
        .0
        .unwrap()
        .broker_epoch;
    beat(&mut c, 20_000, 1, epoch, 2, vec![]).0.unwrap();
    c.apply(&Command::RenewSessions { now: 25_000 });
    // Broker 1 (live) counts from 25 000; broker 2 stays fenced and expires nothing.
    assert!(!c.sessions_expired(25_000 + TIMEOUT));
    assert!(c.sessions_expired(25_000 + TIMEOUT + 1));
    assert!(c.is_fenced(2));
}

#[test]
fn registration_fences_until_the_first_heartbeat_and_epochs_count_up() {
    let mut c = Controller::new(BrokerConfig::default(), 3, 1, 3);
    let (first, ready) = beat(&mut c, 0, 1, -1, 1, vec![]);
    let first = first.unwrap();
    assert!(first.fenced && c.is_fenced(1));
    assert!(!ready
        .notes
        .iter()
        .any(|n| matches!(n, Note::BrokerUnfenced { .. })));
    assert_eq!(first.partitions.len(), 1);
    // The same incarnation registering again learns the same epoch.
    let again = beat(&mut c, 10, 1, -1, 1, vec![]).0.unwrap();
    assert_eq!(again.broker_epoch, first.broker_epoch);
    let (data, ready) = beat(&mut c, 20, 1, first.broker_epoch, 1, vec![]);
    assert!(!data.unwrap().fenced && !c.is_fenced(1));
    assert!(ready.notes.iter().any(|n| matches!(
        n,
        Note::BrokerUnfenced {
            broker: 1,
            incarnation: 1
        }
    )));
    let second = beat(&mut c, 30, 2, -1, 1, vec![]).0.unwrap();
    assert_eq!(second.broker_epoch, first.broker_epoch + 1);
}

#[test]
fn a_heartbeat_with_another_epoch_or_from_a_stranger_is_stale() {
    let mut c = Controller::new(BrokerConfig::default(), 3, 1, 3);
    let epoch = up(&mut c, 0, 1, 1);
    let stale = beat(&mut c, 10, 1, epoch + 1, 1, vec![]).0;
    assert_eq!(stale.err(), Some(ErrorCode::StaleBrokerEpoch));
    let stranger = beat(&mut c, 10, 3, epoch, 1, vec![]).0;
    assert_eq!(stranger.err(), Some(ErrorCode::StaleBrokerEpoch));
    // Only -1 asks to register; broker epochs count from 1, so 0 is no one's.
    let zero = beat(&mut c, 10, 2, 0, 1, vec![]).0;
    assert_eq!(zero.err(), Some(ErrorCode::StaleBrokerEpoch));
}

#[test]
fn a_new_incarnation_waits_out_the_old_session_and_fences_it_once() {
    let mut c = Controller::new(BrokerConfig::default(), 3, 1, 3);
    let old = up(&mut c, 0, 1, 1);
    let early = beat(&mut c, TIMEOUT, 1, -1, 2, vec![]).0;
    assert_eq!(early.err(), Some(ErrorCode::DuplicateBrokerRegistration));
    let (late, ready) = beat(&mut c, TIMEOUT + 1, 1, -1, 2, vec![]);
    assert!(late.unwrap().broker_epoch > old);
    assert_eq!(fenced_notes(&ready), vec![1]);
    // Fenced already: the next incarnation is not fenced a second time.
    let (third, ready) = beat(&mut c, TIMEOUT + 2, 1, -1, 3, vec![]);
    assert!(
        third.is_ok(),
        "a fenced registration holds no session: {third:?}"
    );
    assert!(fenced_notes(&ready).is_empty());
}

#[test]
fn metadata_names_unfenced_brokers_and_every_partition() {
    let mut c = Controller::new(BrokerConfig::default(), 3, 2, 3);
    beat(&mut c, 0, 1, -1, 1, vec![]).0.unwrap();
    up(&mut c, 0, 2, 1);
    match c.metadata(42) {
        Response::Metadata {
            correlation_id: 42,
            brokers,
            partitions,
        } => {
            assert_eq!(brokers, vec![2]);
            assert_eq!(partitions.len(), 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unclean_restart_leaves_isrs_only_under_kip_966() {
    for strict_rules in [false, true] {
        let mut cfg = strict(2);
        cfg.protocol.strict_min_isr = strict_rules;
        let mut c = Controller::new(cfg, 3, 3, 3);
        // Broker 3 registers, never heartbeats, and registers again: a restart.
        let (_, first) = beat(&mut c, 0, 3, -1, 1, vec![]);
        assert!(!first
            .notes
            .iter()
            .any(|n| matches!(n, Note::UncleanShutdown { .. })));
        let (_, ready) = beat(&mut c, 10, 3, -1, 2, vec![]);
        let notes = ready
            .notes
            .iter()
            .filter(|n| matches!(n, Note::UncleanShutdown { broker: 3 }))
            .count();
        assert_eq!(
            notes,
            usize::from(strict_rules),
            "strict_min_isr={strict_rules}"
        );
        for p in 0..3 {
            let s = state(&c, p);
            assert_eq!(s.isr.contains(&3), !strict_rules);
            // Two members left: not below min.insync.replicas=2, no last known ELR.
            assert!(s.last_known_elr.is_empty());
        }
    }
}

#[test]
fn an_unclean_restart_below_min_isr_is_remembered_and_re_elects_its_leaderships() {
    let mut c = Controller::new(strict(3), 3, 3, 3);
    beat(&mut c, 0, 3, -1, 1, vec![]).0.unwrap();
    let (_, ready) = beat(&mut c, 10, 3, -1, 2, vec![]);
    for p in 0..3 {
        let s = state(&c, p);
        assert_eq!(s.isr.len(), 2);
        assert_eq!(s.last_known_elr, vec![3]);
        assert_eq!(s.partition_epoch, 1);
    }
    // Partition 2 ([3, 1, 2]) was led by broker 3: no live ISR member, so no leader.
    let elected: Vec<_> = ready
        .notes
        .iter()
        .filter_map(|n| match n {
            Note::Elected {
                partition, leader, ..
            } => Some((*partition, *leader)),
            _ => None,
        })
        .collect();
    assert_eq!(elected, vec![(2, None)]);
    assert_eq!(state(&c, 2).leader_epoch, 1);
}

/// The partition the recovery tests watch: replicas [2, 3, 1], led by broker 2.
const P: PartitionId = 1;

/// Brokers 2 and 3 restart uncleanly before anyone heartbeats, with min.insync.replicas=3:
/// partition 1 has no leader, ISR {1} and last known ELR {2, 3}.
fn two_unclean_restarts() -> Controller {
    let mut c = Controller::new(strict(3), 3, 2, 3);
    for b in [2, 3] {
        beat(&mut c, 0, b, -1, 1, vec![]).0.unwrap();
        beat(&mut c, 10, b, -1, 2, vec![]).0.unwrap();
    }
    let s = state(&c, P);
    assert_eq!(s.replicas, vec![2, 3, 1]);
    assert_eq!((s.leader, s.isr.clone()), (None, vec![1]));
    assert_eq!(s.last_known_elr, vec![2, 3]);
    c
}

/// Broker 1 restarts uncleanly too: partition 1 has no ISR and no ELR.
fn three_unclean_restarts() -> Controller {
    let mut c = two_unclean_restarts();
    beat(&mut c, 0, 1, -1, 1, vec![]).0.unwrap();
    beat(&mut c, 10, 1, -1, 2, vec![]).0.unwrap();
    let s = state(&c, P);
    assert!(s.isr.is_empty() && s.elr.is_empty());
    assert_eq!(s.last_known_elr, vec![2, 3, 1]);
    c
}

/// The restarted incarnation's first heartbeat, reporting its log end for partition 1.
fn unfence(c: &mut Controller, b: BrokerId, log_end: (Epoch, Offset)) -> Ready {
    let epoch = beat(c, 20, b, -1, 2, vec![]).0.unwrap().broker_epoch;
    beat(c, 30, b, epoch, 2, vec![(P, log_end.0, log_end.1)]).1
}

#[test]
fn recovery_waits_while_an_isr_member_may_return() {
    let mut c = two_unclean_restarts();
    unfence(&mut c, 2, (0, 5));
    unfence(&mut c, 3, (0, 7));
    assert_eq!(
        state(&c, P).leader,
        None,
        "broker 1 (the ISR) may still come back"
    );
}

#[test]
fn recovery_elects_the_longest_log_once_every_last_known_member_is_back() {
    let mut c = three_unclean_restarts();
    unfence(&mut c, 1, (1, 2));
    unfence(&mut c, 3, (0, 9));
    assert_eq!(state(&c, P).leader, None, "broker 2 is not back yet");
    let ready = unfence(&mut c, 2, (0, 9));
    let recovered = ready.notes.iter().find_map(|n| match n {
        Note::Recovered {
            partition: P,
            leader,
            candidates,
        } => Some((*leader, candidates.clone())),
        _ => None,
    });
    // Last epoch first: broker 1's epoch 1 beats LEO 9 in epoch 0.
    assert_eq!(recovered, Some((1, vec![(2, 0, 9), (3, 0, 9), (1, 1, 2)])));
    let s = state(&c, P);
    assert_eq!((s.leader, s.isr.clone()), (Some(1), vec![1]));
    assert!(s.last_known_elr.is_empty());
}

#[test]
fn recovery_ties_go_to_the_first_in_assignment_order() {
    let mut c = three_unclean_restarts();
    unfence(&mut c, 1, (0, 9));
    unfence(&mut c, 2, (0, 4));
    unfence(&mut c, 3, (0, 9));
    assert_eq!(state(&c, P).leader, Some(3));
}

#[test]
fn recovery_counts_a_replica_that_reported_no_log_end_as_empty() {
    let mut c = three_unclean_restarts();
    unfence(&mut c, 1, (0, 0));
    unfence(&mut c, 3, (0, 0));
    // Broker 2 heartbeats without a log end for the partition: epoch -1, LEO 0, last.
    let epoch = beat(&mut c, 20, 2, -1, 2, vec![]).0.unwrap().broker_epoch;
    let ready = beat(&mut c, 30, 2, epoch, 2, vec![]).1;
    let candidates = ready.notes.iter().find_map(|n| match n {
        Note::Recovered {
            partition: P,
            candidates,
            ..
        } => Some(candidates.clone()),
        _ => None,
    });
    assert_eq!(candidates, Some(vec![(2, -1, 0), (3, 0, 0), (1, 0, 0)]));
    assert_eq!(state(&c, P).leader, Some(3));
}
