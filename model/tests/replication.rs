//! Replication stories for the sans-IO model alone (no madsim): the partition log, produce with
//! acks 0/1/all, ISR shrink and expansion, epoch fencing, leader-epoch truncation, the
//! controller's fencing and elections, checkpoints and flushes, and a proptest of random faults.
//! The harness (`Cluster`) is in `common/mod.rs`.

mod common;

use std::collections::BTreeMap;

use common::*;
use ksim_model::*;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

// ------------------------------------------------------------------------------ PartitionLog

#[test]
fn log_keeps_one_epoch_entry_per_leader_and_answers_end_offset_for_epoch() {
    let mut log = PartitionLog::default();
    assert_eq!(
        (
            log.leo(),
            log.hw(),
            log.last_epoch(),
            log.latest_cached_epoch()
        ),
        (0, 0, -1, -1)
    );
    assert_eq!(log.end_offset_for_epoch(7), None);
    log.append(&[rec(0, 1, "a"), rec(1, 1, "b")]);
    log.assign_epoch_start(3); // a leader of epoch 3 takes over at LEO 2 and has not appended yet
    assert_eq!(
        (
            log.last_epoch(),
            log.latest_cached_epoch(),
            log.epoch_start(3)
        ),
        (1, 3, Some(2))
    );
    assert_eq!(
        log.end_offset_for_epoch(3),
        Some((3, 2)),
        "an empty latest epoch ends at the LEO"
    );
    log.append(&[rec(2, 3, "c")]);
    log.append(&[rec(3, 5, "d"), rec(4, 5, "e")]);
    assert_eq!(log.epochs(), &[ee(1, 0), ee(3, 2), ee(5, 3)]);
    // Below every cached epoch: None (truncate to 0); else the largest epoch <= asked and where it ends.
    let answers: Vec<_> = [0, 1, 2, 4, 5, 99]
        .iter()
        .map(|e| log.end_offset_for_epoch(*e))
        .collect();
    assert_eq!(
        answers,
        vec![
            None,
            Some((1, 2)),
            Some((1, 2)),
            Some((3, 3)),
            Some((5, 5)),
            Some((5, 5))
        ]
    );
    assert_eq!(
        (
            log.epoch_start(4),
            log.get(4).map(|r| r.leader_epoch),
            log.get(5)
        ),
        (None, Some(5), None)
    );
    assert_eq!(
        values_of(&log.read(3, 10)),
        vec![(5, "d".into()), (5, "e".into())]
    );
    assert_eq!(log.read(1, 1)[0].offset, 1);
    assert!(log.read(5, 10).is_empty() && log.read(42, 1).is_empty());
    log.assign_epoch_start(5); // same epoch again: no new entry
    assert_eq!(log.epochs().len(), 3);
}

#[test]
fn log_truncation_drops_records_and_epoch_entries_and_caps_the_hw() {
    let mut log = PartitionLog::default();
    log.append(&[
        rec(0, 1, "a"),
        rec(1, 1, "b"),
        rec(2, 3, "c"),
        rec(3, 5, "d"),
        rec(4, 5, "e"),
    ]);
    log.set_hw(4);
    log.truncate_to(3);
    assert_eq!((log.leo(), log.hw(), log.last_epoch()), (3, 3, 3));
    assert_eq!(log.epochs(), &[ee(1, 0), ee(3, 2)]);
    log.truncate_to(10); // beyond the LEO: nothing happens
    assert_eq!((log.leo(), log.epochs().len()), (3, 2));
    log.truncate_to(2);
    assert_eq!((log.leo(), log.hw(), log.epochs()), (2, 2, &[ee(1, 0)][..]));
    log.append(&[rec(2, 6, "x")]); // a new epoch may follow after the truncation
    assert_eq!(log.epochs(), &[ee(1, 0), ee(6, 2)]);
    log.truncate_to(-5);
    assert_eq!(
        (log.leo(), log.hw(), log.epochs().len(), log.last_epoch()),
        (0, 0, 0, -1)
    );
}

#[test]
#[should_panic(expected = "append must continue at the LEO")]
fn log_refuses_an_append_that_leaves_a_gap() {
    PartitionLog::default().append(&[rec(1, 0, "gap")]);
}

#[test]
fn log_keeps_a_record_from_an_epoch_older_than_its_cache_without_touching_the_cache() {
    let mut log = PartitionLog::default();
    log.append(&[rec(0, 2, "a")]);
    log.append(&[rec(1, 1, "old")]);
    assert_eq!(log.leo(), 2);
    assert_eq!(log.epochs(), &[ee(2, 0)]);
}

#[test]
#[should_panic(expected = "above LEO")]
fn log_refuses_an_hw_above_its_leo() {
    let mut log = PartitionLog::default();
    log.append(&[rec(0, 0, "a")]);
    log.set_hw(2);
}

#[test]
fn log_recovery_rebuilds_epochs_from_records_and_clamps_both_checkpoints_to_the_log() {
    // The epoch checkpoint missed epoch 2 (records carry it) and still names epoch 4, whose
    // records a power loss took; the HW checkpoint (7) is above the surviving LEO (3).
    let log = PartitionLog::recover(
        vec![rec(0, 0, "a"), rec(1, 2, "b"), rec(2, 2, "c")],
        vec![ee(0, 0), ee(4, 3)],
        7,
    );
    assert_eq!(
        (log.leo(), log.hw(), log.epochs()),
        (3, 3, &[ee(0, 0), ee(2, 1)][..])
    );
    // An HW checkpoint below the LEO is kept: a restarted broker starts from the stale value.
    assert_eq!(
        PartitionLog::recover(vec![rec(0, 0, "a"), rec(1, 0, "b")], vec![ee(0, 0)], 1).hw(),
        1
    );
    // An empty epoch starting exactly at the LEO is cut, as Kafka's truncateFromEnd(LEO) does.
    let log = PartitionLog::recover(vec![rec(0, 0, "a")], vec![ee(0, 0), ee(1, 1)], 1);
    assert_eq!(log.epochs(), &[ee(0, 0)]);
    let empty = PartitionLog::recover(Vec::new(), vec![ee(3, 0)], 5);
    assert_eq!((empty.leo(), empty.hw(), empty.epochs().len()), (0, 0, 0));
}

#[test]
#[should_panic(expected = "dense")]
fn log_recovery_refuses_a_log_with_a_hole() {
    PartitionLog::recover(vec![rec(0, 0, "a"), rec(2, 0, "c")], Vec::new(), 0);
}

// The produce and ISR stories (acks, min.insync.replicas, ISR shrink and expansion) are told
// as data in `model/testdata/cluster/acks.txt` and `isr.txt` (run by `stories.rs`).

// ------------------------------------------------------------------------------ epochs

fn fetch_error(r: &Response) -> Option<ErrorCode> {
    let Response::Fetch { result, .. } = r else {
        panic!("not a fetch response")
    };
    result.as_ref().err().copied()
}

#[test]
fn fetch_with_a_stale_leader_epoch_is_fenced_and_with_a_newer_one_is_unknown() {
    let mut c = Cluster::started(BrokerConfig::default(), 3);
    c.crash(1, false);
    c.run_until(12_000, |c| {
        c.state().leader == Some(2) && c.replica(2).role == Role::Leader { leader_epoch: 1 }
    });
    let s = c.state();
    assert_eq!(
        (s.leader_epoch, s.partition_epoch, s.isr.clone()),
        (1, 1, vec![2, 3])
    );
    c.run(200);
    assert_eq!(c.produce_settled(Acks::All, &["z"]), Some(Ok(0)));
    let (now, be3) = (c.now, c.broker(3).broker_epoch);
    let fetch = |epoch| Request::Fetch {
        replica_id: 3,
        broker_epoch: be3,
        partition: P,
        fetch_offset: 0,
        last_fetched_epoch: -1,
        current_leader_epoch: epoch,
    };
    let leader = c.slots.get_mut(&2).unwrap().broker.as_mut().unwrap();
    let mut ask = |epoch, conn| {
        fetch_error(&reply_on(
            &leader.step(
                now,
                Input::Request {
                    conn,
                    from: NodeId::Broker(3),
                    request: fetch(epoch),
                },
            ),
            conn,
        ))
    };
    assert_eq!(ask(0, 901), Some(ErrorCode::FencedLeaderEpoch));
    assert_eq!(ask(2, 902), Some(ErrorCode::UnknownLeaderEpoch));
    assert_eq!(
        ask(1, 903),
        None,
        "the current epoch is served (offset 0 < LEO 1: answered at once)"
    );
    let follower = c.slots.get_mut(&3).unwrap().broker.as_mut().unwrap();
    let r = follower.step(
        now,
        Input::Request {
            conn: 904,
            from: NodeId::Broker(2),
            request: fetch(1),
        },
    );
    assert_eq!(
        fetch_error(&reply_on(&r, 904)),
        Some(ErrorCode::NotLeaderOrFollower)
    );
}

#[test]
fn follower_with_a_divergent_suffix_from_an_old_epoch_truncates_to_the_epoch_end_and_matches_the_leader(
) {
    let mut c = Cluster::started(BrokerConfig::default(), 3);
    assert_eq!(c.produce_settled(Acks::All, &["a", "b"]), Some(Ok(0)));
    // Leader 1 takes c and d with acks=1 and dies before any follower fetched them.
    let _ = (
        c.produce(Acks::Leader, &["c"]),
        c.produce(Acks::Leader, &["d"]),
    );
    assert!(c.deliver_one() && c.deliver_one());
    c.crash(1, false);
    assert_eq!(
        values_of(&c.slots[&1].disk[&P].records),
        vals(0, &["a", "b", "c", "d"])
    );
    c.run_until(12_000, |c| c.state().leader == Some(2));
    assert_eq!((c.state().leader_epoch, c.state().isr), (1, vec![2, 3]));
    c.run(200);
    assert_eq!(c.produce_settled(Acks::All, &["x", "y"]), Some(Ok(2)));
    c.restart(1);
    c.run_until(5000, |c| {
        c.is_up(1) && c.log(1).leo() == 4 && c.log(1).last_epoch() == 1
    });
    let cuts: Vec<&Note> = c
        .notes
        .iter()
        .map(|(_, n)| n)
        .filter(|n| matches!(n, Note::Truncated { broker: 1, .. }))
        .collect();
    assert_eq!(
        cuts,
        vec![&Note::Truncated {
            broker: 1,
            partition: P,
            from_leo: 4,
            to: 2,
            reason: TruncateReason::DivergingEpoch,
        }]
    );
    let told = c.trace.iter().any(|(_, fr, to, m)| {
        *fr == NodeId::Broker(2)
            && *to == NodeId::Broker(1)
            && matches!(
                m,
                Message::Response(Response::Fetch {
                    result: Ok(FetchData {
                        diverging_epoch: Some((Some(0), 2)),
                        ..
                    }),
                    ..
                })
            )
    });
    assert!(told, "leader 2 answered: epoch 0 ends at offset 2 here");
    let expected = [vals(0, &["a", "b"]), vals(1, &["x", "y"])].concat();
    assert_eq!(
        (c.values(1), c.log(1).epochs()),
        (expected.clone(), &[ee(0, 0), ee(1, 2)][..])
    );
    assert_eq!(
        (c.values(2), c.log(2).epochs()),
        (expected.clone(), &[ee(0, 0), ee(1, 2)][..])
    );
    assert_eq!(
        values_of(&c.slots[&1].disk[&P].records),
        expected,
        "the disk followed the truncation"
    );
    c.run_until(5000, |c| c.state().isr == vec![1, 2, 3]);
}

/// BUG (see the report): a broker elected leader that wrote nothing in its epoch keeps an empty
/// epoch entry at its LEO. Deposed without a restart, it fetches from the next leader with
/// `last_fetched_epoch` = its last *record's* epoch (0), so the leader, whose epoch 0 runs
/// further, sends epoch-0 records and `PartitionLog::append` panics ("record epoch 0 below
/// cached epoch 1"). Kafka sends the cache's latest epoch and cuts such an entry on
/// truncateTo(>= LEO) (UnifiedLog.truncateTo's comment describes exactly this case).
#[test]
fn deposed_leader_that_wrote_nothing_in_its_epoch_catches_up_from_a_longer_log() {
    let mut c = Cluster::started(BrokerConfig::default(), 3);
    assert_eq!(c.produce_settled(Acks::All, &["a", "b", "c"]), Some(Ok(0)));
    c.run(200);
    c.isolate(2);
    c.produce_settled(Acks::Leader, &["d", "e"]);
    c.run(200);
    assert_eq!((c.log(1).leo(), c.log(2).leo(), c.log(3).leo()), (5, 3, 5));
    c.heal(2);
    c.crash(1, false);
    // Tick until the controller elects 2; let only 2 hear it, then cut 2 off before 3 fetches.
    while c.state().leader != Some(2) && c.now < 20_000 {
        c.now += TICK;
        c.step(NodeId::Controller(1), Input::Tick);
        if c.state().leader != Some(2) {
            [2, 3]
                .into_iter()
                .for_each(|b| c.step(NodeId::Broker(b), Input::Tick));
            c.deliver_all();
        }
    }
    let pos = c.queue.iter().position(|m| {
        m.to == NodeId::Broker(2) && matches!(m.msg, Message::Request(Request::LeaderAndIsr { .. }))
    });
    let m = c.queue.remove(pos.expect("push to 2")).unwrap();
    c.deliver(m);
    c.isolate(2);
    assert_eq!(c.replica(2).role, Role::Leader { leader_epoch: 1 });
    assert_eq!(c.log(2).epochs(), &[ee(0, 0), ee(1, 3)]);
    c.run_until(15_000, |c| c.state().leader == Some(3));
    assert_eq!((c.state().leader_epoch, c.log(3).leo()), (2, 5));
    c.heal(2);
    c.run(3000);
    assert_eq!(c.values(2), vals(0, &["a", "b", "c", "d", "e"]));
    assert_eq!(c.values(2), c.values(3));
}

// ------------------------------------------------------------------------------ controller

fn call(ctl: &mut Controller, now: TimeMs, request: Request) -> (Response, Ready) {
    let ready = ctl.step(
        now,
        Input::Request {
            conn: 1,
            from: NodeId::Broker(0),
            request,
        },
    );
    (reply_on(&ready, 1), ready)
}

fn hb(
    ctl: &mut Controller,
    now: TimeMs,
    broker: BrokerId,
    broker_epoch: i64,
    incarnation: u64,
) -> Result<HeartbeatData, ErrorCode> {
    let Response::BrokerHeartbeat { result } = call(
        ctl,
        now,
        Request::BrokerHeartbeat {
            broker,
            broker_epoch,
            incarnation,
            log_ends: Vec::new(),
        },
    )
    .0
    else {
        panic!()
    };
    result
}

fn register(ctl: &mut Controller, now: TimeMs, b: BrokerId) -> i64 {
    let data = hb(ctl, now, b, -1, 0).expect("registration");
    assert!(data.fenced, "registered fenced");
    assert!(
        !hb(ctl, now, b, data.broker_epoch, 0)
            .expect("heartbeat")
            .fenced
    );
    data.broker_epoch
}

fn alter(
    ctl: &mut Controller,
    now: TimeMs,
    leader: BrokerId,
    be: i64,
    le: Epoch,
    pe: Epoch,
    isr: &[(BrokerId, i64)],
) -> Result<PartitionState, ErrorCode> {
    let request = Request::AlterPartition(AlterPartitionRequest {
        leader,
        broker_epoch: be,
        partition: P,
        leader_epoch: le,
        partition_epoch: pe,
        new_isr: isr.to_vec(),
    });
    let Response::AlterPartition { result, .. } = call(ctl, now, request).0 else {
        panic!("not an AlterPartition answer")
    };
    result
}

fn summary(s: &PartitionState) -> (Option<BrokerId>, Epoch, Epoch, Vec<BrokerId>) {
    (s.leader, s.leader_epoch, s.partition_epoch, s.isr.clone())
}

#[test]
fn controller_fences_a_silent_broker_after_the_session_timeout_and_elects_the_first_live_isr_member_in_assignment_order(
) {
    let mut ctl = Controller::new(BrokerConfig::default(), 3, 3, 3);
    assert_eq!(part(&ctl, 1).replicas, vec![2, 3, 1]);
    let e: Vec<i64> = (1..=3).map(|b| register(&mut ctl, 0, b)).collect();
    assert_eq!(e, vec![1, 2, 3]);
    hb(&mut ctl, 6000, 1, e[0], 0).unwrap();
    hb(&mut ctl, 6000, 3, e[2], 0).unwrap();
    assert!(
        ctl.step(9000, Input::Tick).notes.is_empty(),
        "9000 ms of silence is still a valid session"
    );
    assert!(!ctl.is_fenced(2));
    let ready = ctl.step(9001, Input::Tick);
    assert!(ctl.is_fenced(2));
    assert_eq!(ready.notes[0], Note::BrokerFenced { broker: 2 });
    // Partition 1 ([2,3,1]) was led by 2: broker 3 wins over 1 by assignment order.
    assert_eq!(summary(&part(&ctl, 1)), (Some(3), 1, 1, vec![3, 1]));
    assert!(ready.notes.contains(&Note::Elected {
        partition: 1,
        leader: Some(3),
        leader_epoch: 1,
        unclean: false,
        isr: vec![3, 1]
    }));
    assert_eq!(
        summary(&part(&ctl, 0)),
        (Some(1), 0, 1, vec![1, 3]),
        "2 leaves the ISR, no election"
    );
    assert_eq!(summary(&part(&ctl, 2)), (Some(3), 0, 1, vec![3, 1]));
    let pushes_p1: Vec<NodeId> = (ready.sends.iter())
        .filter_map(|s| match s {
            Envelope::To {
                node,
                request: Request::LeaderAndIsr { partitions },
            } if partitions[0].partition == 1 => Some(*node),
            _ => None,
        })
        .collect();
    assert_eq!(
        pushes_p1,
        vec![NodeId::Broker(2), NodeId::Broker(3), NodeId::Broker(1)]
    );
}

#[test]
fn controller_with_no_live_isr_member_leaves_the_partition_leaderless_unless_unclean_election_is_enabled(
) {
    for unclean in [false, true] {
        // The rules before KIP-966 (the last ISR member stays in the ISR); the eligible leader
        // replicas have their own tests.
        let cfg = BrokerConfig {
            unclean_leader_election_enable: unclean,
            protocol: Protocol {
                strict_min_isr: false,
                ..Protocol::default()
            },
            ..Default::default()
        };
        let mut ctl = Controller::new(cfg, 3, 1, 3);
        let e: Vec<i64> = (1..=3).map(|b| register(&mut ctl, 0, b)).collect();
        assert_eq!(
            summary(&alter(&mut ctl, 100, 1, e[0], 0, 0, &[(1, e[0])]).unwrap()),
            (Some(1), 0, 1, vec![1])
        );
        hb(&mut ctl, 6000, 2, e[1], 0).unwrap();
        hb(&mut ctl, 6000, 3, e[2], 0).unwrap();
        let ready = ctl.step(9001, Input::Tick);
        assert!(ctl.is_fenced(1));
        let s = part(&ctl, 0);
        if !unclean {
            assert_eq!(
                summary(&s),
                (None, 1, 2, vec![1]),
                "the last ISR member stays in the ISR"
            );
            assert!(ready.notes.contains(&Note::Elected {
                partition: P,
                leader: None,
                leader_epoch: 1,
                unclean: false,
                isr: vec![1]
            }));
            // The last ISR member comes back (a new incarnation) and is re-elected cleanly.
            let reg = hb(&mut ctl, 9100, 1, -1, 1).unwrap();
            assert_eq!((reg.broker_epoch, reg.fenced), (4, true));
            hb(&mut ctl, 9150, 1, 4, 1).unwrap();
            assert_eq!(summary(&part(&ctl, 0)), (Some(1), 2, 3, vec![1]));
        } else {
            assert_eq!(
                summary(&s),
                (Some(2), 1, 2, vec![2]),
                "an out-of-sync live replica, ISR := {{it}}"
            );
            assert!(ready.notes.contains(&Note::Elected {
                partition: P,
                leader: Some(2),
                leader_epoch: 1,
                unclean: true,
                isr: vec![2]
            }));
        }
    }
}

#[test]
fn controller_rejects_alter_partition_with_a_stale_partition_epoch_or_an_ineligible_replica() {
    let mut ctl = Controller::new(BrokerConfig::default(), 3, 1, 3);
    let e: Vec<i64> = (1..=3).map(|b| register(&mut ctl, 0, b)).collect();
    let (e1, e2, e3) = (e[0], e[1], e[2]);
    assert_eq!(
        summary(&alter(&mut ctl, 100, 1, e1, 0, 0, &[(1, e1), (2, e2)]).unwrap()),
        (Some(1), 0, 1, vec![1, 2])
    );
    assert_eq!(
        alter(&mut ctl, 200, 1, e1, 0, 0, &[(1, e1)]),
        Err(ErrorCode::InvalidUpdateVersion),
        "partition epoch 0 is stale"
    );
    assert_eq!(
        alter(&mut ctl, 200, 1, e1, 5, 1, &[(1, e1)]),
        Err(ErrorCode::FencedLeaderEpoch)
    );
    assert_eq!(
        alter(&mut ctl, 200, 1, e1, 0, 1, &[(1, e1), (2, e2), (3, e3 + 7)]),
        Err(ErrorCode::IneligibleReplica),
        "KIP-903"
    );
    hb(&mut ctl, 6000, 1, e1, 0).unwrap();
    hb(&mut ctl, 6000, 2, e2, 0).unwrap();
    ctl.step(9001, Input::Tick);
    assert!(ctl.is_fenced(3));
    assert_eq!(
        summary(&part(&ctl, 0)),
        (Some(1), 0, 1, vec![1, 2]),
        "3 was not in the ISR: nothing changes"
    );
    assert_eq!(
        alter(&mut ctl, 9050, 1, e1, 0, 1, &[(1, e1), (2, e2), (3, e3)]),
        Err(ErrorCode::IneligibleReplica),
        "3 is fenced"
    );
    assert!(
        !hb(&mut ctl, 9100, 3, e3, 0).unwrap().fenced,
        "a heartbeat with its epoch unfences 3"
    );
    assert_eq!(
        summary(&alter(&mut ctl, 9150, 1, e1, 0, 1, &[(1, e1), (2, e2), (3, e3)]).unwrap()),
        (Some(1), 0, 2, vec![1, 2, 3])
    );
}

#[test]
fn restarted_broker_is_refused_registration_until_its_old_session_expires() {
    let mut c = Cluster::started(BrokerConfig::default(), 3);
    assert_eq!(
        (1..=3)
            .map(|b| c.broker(b).broker_epoch)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    c.run(1000);
    let last_hb = c
        .requests_from(2, |r| matches!(r, Request::BrokerHeartbeat { .. }))
        .last()
        .unwrap()
        .0;
    c.crash(2, false);
    c.restart(2);
    c.run(3000);
    assert_eq!(c.broker(2).broker_epoch, -1);
    let refused = |m: &Message| {
        matches!(
            m,
            Message::Response(Response::BrokerHeartbeat {
                result: Err(ErrorCode::DuplicateBrokerRegistration)
            })
        )
    };
    assert!(
        c.trace
            .iter()
            .any(|(_, _, to, m)| *to == NodeId::Broker(2) && refused(m)),
        "refused while the old session was valid"
    );
    c.run_until(10_000, |c| c.broker(2).broker_epoch > 0);
    let fenced_at = c
        .notes
        .iter()
        .find(|(_, n)| *n == Note::BrokerFenced { broker: 2 })
        .expect("old session fenced")
        .0;
    assert_eq!(fenced_at, last_hb + 9000 + TICK);
    assert_eq!(c.broker(2).broker_epoch, 4);
    c.run_until(5000, |c| {
        c.state().isr == vec![1, 2, 3] && !c.ctl.is_fenced(2)
    });
}

// ------------------------------------------------------------------------------ checkpoints

#[test]
fn hw_is_checkpointed_every_interval_when_it_moved_and_logs_flush_every_n_messages() {
    let cfg = BrokerConfig {
        log_flush_interval_messages: Some(3),
        ..Default::default()
    };
    let mut c = Cluster::started(cfg, 3);
    for i in 0..7 {
        assert_eq!(
            c.produce_settled(Acks::Leader, &[&format!("m{i}")]),
            Some(Ok(i))
        );
    }
    c.run(11_000 - c.now);
    c.produce_settled(Acks::Leader, &["m7"]);
    c.run(6000);
    for b in 1..=3 {
        let cps: Vec<(TimeMs, Offset)> = (c.disk_ops.iter())
            .filter_map(|(t, br, op)| match op {
                DiskOp::CheckpointHw { hw, .. } if *br == b => Some((*t, *hw)),
                _ => None,
            })
            .collect();
        assert_eq!(
            cps,
            vec![(5000, 7), (15_000, 8)],
            "broker {b}: nothing at 10000, the HW had not moved"
        );
        assert_eq!(c.slots[&b].disk[&P].hw, 8);
    }
    let pattern: String = (c.disk_ops.iter().filter(|(_, b, _)| *b == 1))
        .filter_map(|(_, _, op)| match op {
            DiskOp::Append { .. } => Some('A'),
            DiskOp::Flush { .. } => Some('F'),
            _ => None,
        })
        .collect();
    assert_eq!(
        pattern, "AAAFAAAFAA",
        "leader 1 flushes after every third message"
    );
    c.crash(1, true);
    let log = &c.recovered(1)[&P];
    assert_eq!(
        (log.leo(), log.hw()),
        (6, 6),
        "power loss took the two unflushed records; HW clamped from 8"
    );
}

// ------------------------------------------------------------------------------ proptest

/// Produce with acks 0/1/all; tick n times (random cross-connection order, sometimes leaving
/// messages in flight); deliver n messages now; break the connection of a random in-flight
/// message; crash (no power loss) or restart a broker.
#[derive(Clone, Debug)]
enum Op {
    Produce(u8),
    Tick(u8),
    Deliver(u8),
    Drop(u16),
    Crash(BrokerId),
    Restart(BrokerId),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..3).prop_map(Op::Produce),
        4 => (1u8..100).prop_map(Op::Tick),
        2 => (1u8..8).prop_map(Op::Deliver),
        1 => any::<u16>().prop_map(Op::Drop),
        1 => (1..=3).prop_map(Op::Crash),
        1 => (1..=3).prop_map(Op::Restart),
    ]
}

/// What the invariants remember: produce requests sent (corr -> acks, value) and the highest HW
/// each leader epoch's leader showed.
#[derive(Default)]
struct Watch {
    sent: BTreeMap<u64, (Acks, String)>,
    leader_hw: BTreeMap<Epoch, Offset>,
}

fn check(c: &Cluster, w: &mut Watch) {
    let up: Vec<BrokerId> = (1..=3)
        .filter(|b| c.is_up(*b) && c.broker(*b).replica(P).is_some())
        .collect();
    let mut leaders: BTreeMap<Epoch, BrokerId> = BTreeMap::new();
    for &b in &up {
        let (log, role) = (c.log(b), c.replica(b).role);
        assert!(
            log.hw() <= log.leo(),
            "broker {b}: HW {} above LEO {}",
            log.hw(),
            log.leo()
        );
        let disk = c.slots[&b]
            .disk
            .get(&P)
            .map(|d| &d.records[..])
            .unwrap_or(&[]);
        assert_eq!(
            log.records(),
            disk,
            "broker {b}: disk does not mirror the log"
        );
        if let Role::Leader { leader_epoch } = role {
            assert_eq!(
                leaders.insert(leader_epoch, b),
                None,
                "two leaders in epoch {leader_epoch}"
            );
            let prev = w.leader_hw.entry(leader_epoch).or_insert(0);
            assert!(
                log.hw() >= *prev,
                "leader {b} HW went back from {prev} to {} in epoch {leader_epoch}",
                log.hw()
            );
            *prev = log.hw();
        }
        for &o in up.iter().filter(|o| **o > b) {
            let other = c.log(o);
            for off in 0..log.hw().min(other.hw()) {
                let (x, y) = (log.get(off).unwrap(), other.get(off).unwrap());
                assert!(
                    x.leader_epoch == y.leader_epoch && x.value == y.value,
                    "brokers {b} and {o} differ at {off} below both HWs"
                );
            }
        }
    }
    if let Some(l) = c.state().leader.filter(|l| up.contains(l)) {
        let acked = c
            .results
            .iter()
            .filter_map(|(corr, r)| match (r, w.sent.get(corr)) {
                (Ok(off), Some((Acks::All, v))) => Some((off, v)),
                _ => None,
            });
        for (off, v) in acked {
            let got = c
                .log(l)
                .get(*off)
                .map(|r| String::from_utf8_lossy(&r.value).into_owned());
            assert_eq!(
                got.as_deref(),
                Some(v.as_str()),
                "leader {l} lost acks=all value {v} at offset {off}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(64) })]

    #[test]
    fn random_faults_keep_logs_matching_hws_sane_and_acks_all_writes_in_the_leader(seed: u64, ops in proptest::collection::vec(op(), 1..100)) {
        // Short sessions and lag windows so that fencing, elections and ISR changes are frequent.
        let cfg = BrokerConfig { broker_session_timeout_ms: 3000, broker_heartbeat_interval_ms: 500, ..cfg(2, 1500) };
        let mut c = Cluster::new(cfg, 3);
        c.tracing = false;
        c.rng = Some(ChaCha8Rng::seed_from_u64(seed));
        c.run(1000);
        let mut w = Watch::default();
        for op in ops {
            match op {
                Op::Produce(a) => {
                    let acks = [Acks::None, Acks::Leader, Acks::All][a as usize];
                    let v = format!("v{}", c.next_corr + 1);
                    let corr = c.produce(acks, &[&v]);
                    w.sent.insert(corr, (acks, v));
                }
                Op::Tick(n) => for _ in 0..n {
                    c.tick_nodes();
                    check(&c, &mut w);
                    c.deliver_all();
                    check(&c, &mut w);
                },
                Op::Deliver(n) => for _ in 0..n { c.deliver_one(); },
                Op::Drop(i) => if !c.queue.is_empty() {
                    let conn = c.queue[i as usize % c.queue.len()].conn;
                    c.close(conn);
                },
                Op::Crash(b) => if c.is_up(b) { c.crash(b, false) },
                Op::Restart(b) => if !c.is_up(b) { c.restart(b) },
            }
            check(&c, &mut w);
        }
        // Quiet ending: everyone back, FIFO delivery; the cluster converges on the leader's log.
        for b in 1..=3 {
            if !c.is_up(b) { c.restart(b) }
        }
        c.rng = None;
        c.run(40_000);
        check(&c, &mut w);
        let l = c.state().leader.expect("a leader after the quiet period");
        for b in 1..=3 {
            prop_assert_eq!(c.values(b), c.values(l), "broker {} differs from leader {}", b, l);
            prop_assert_eq!(c.log(b).hw(), c.log(l).leo());
        }
        prop_assert_eq!(c.state().isr, vec![1, 2, 3]);
    }
}
