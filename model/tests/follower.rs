//! One follower, driven by hand: its fetches and their epochs, its back-off, the HW it takes
//! from its leader, its truncations, and what a leader tells a follower whose log diverged
//! under each truncation rule (KIP-101, KIP-279/320).

mod common;

use common::hand::*;
use common::P;
use ksim_model::*;

#[test]
fn a_follower_fetches_at_once_with_its_epochs_and_after_an_error_waits_the_backoff() {
    let (mut h, became) = follower(BrokerConfig::default(), log_of(&records(0, 1, 2), 2), 3);
    assert_eq!(fetches(&became.sends), vec![(NodeId::Broker(1), 2, 1, 3)]);
    answer_fetch(&mut h, 3, Err(ErrorCode::NotLeaderOrFollower));
    assert!(fetches(&h.run(950)).is_empty());
    assert_eq!(
        fetches(&h.run(50)).len(),
        1,
        "replica.fetch.backoff.ms = 1000"
    );
}

#[test]
fn a_follower_cut_off_from_its_leader_waits_the_backoff_before_fetching_again() {
    let (mut h, _) = follower(BrokerConfig::default(), PartitionLog::default(), 1);
    h.b.step(
        h.now,
        Input::Disconnected {
            peer: NodeId::Broker(1),
        },
    );
    assert!(fetches(&h.run(950)).is_empty());
    assert_eq!(fetches(&h.run(50)).len(), 1);
}

#[test]
fn before_kip_101_a_follower_fetches_without_an_epoch_even_with_fencing_on() {
    let mut protocol = Protocol::default();
    protocol.truncation = Truncation::HighWatermark;
    let cfg = BrokerConfig {
        protocol,
        ..Default::default()
    };
    let (_, became) = follower(cfg, log_of(&records(0, 1, 2), 2), 3);
    assert_eq!(fetches(&became.sends), vec![(NodeId::Broker(1), 2, -1, 3)]);
}

#[test]
fn a_follower_caps_the_leaders_hw_at_its_own_leo_and_checkpoints_each_new_epoch() {
    let (mut h, _) = follower(BrokerConfig::default(), PartitionLog::default(), 2);
    let first = answer_fetch(&mut h, 2, Ok(data(5, records(0, 1, 2))));
    let checkpoints = |r: &Ready| {
        r.disk
            .iter()
            .filter(|op| matches!(op, DiskOp::CheckpointEpochs { .. }))
            .count()
    };
    assert_eq!(checkpoints(&first), 1, "epoch 1 is new to its cache");
    assert_eq!(
        h.b.replica(P).map(|r| (r.log.leo(), r.log.hw())),
        Some((2, 2))
    );
    let second = answer_fetch(&mut h, 2, Ok(data(5, records(2, 1, 1))));
    assert_eq!(checkpoints(&second), 0, "epoch 1 again");
    let third = answer_fetch(&mut h, 2, Ok(data(5, records(3, 2, 1))));
    assert_eq!(checkpoints(&third), 1);
}

#[test]
fn planted_follower_hw_above_leo_takes_the_leaders_hw_as_it_is() {
    let flaw = Flaw::FollowerHwAboveLeo;
    let (h, _) = follower(BrokerConfig::default(), PartitionLog::default(), 2);
    let mut h = h.planted(flaw);
    answer_fetch(&mut h, 2, Ok(data(5, records(0, 1, 2))));
    assert_eq!(
        h.b.replica(P).map(|r| (r.log.leo(), r.log.hw())),
        Some((2, 5))
    );
}

/// A follower's cut: the disk operations and notes it wrote.
fn cut(ready: &Ready) -> (usize, usize, usize) {
    let count = |f: &dyn Fn(&DiskOp) -> bool| ready.disk.iter().filter(|op| f(op)).count();
    (
        count(&|op| matches!(op, DiskOp::Truncate { .. })),
        count(&|op| matches!(op, DiskOp::CheckpointEpochs { .. })),
        ready
            .notes
            .iter()
            .filter(|n| matches!(n, Note::Truncated { .. }))
            .count(),
    )
}

#[test]
fn a_truncation_at_the_leo_cuts_nothing_but_an_empty_epoch_entry() {
    let told = |offset| FetchData {
        truncate_to: Some((offset, TruncateReason::OffsetOutOfRange)),
        ..data(0, vec![])
    };
    let (mut h, _) = follower(BrokerConfig::default(), log_of(&records(0, 1, 3), 0), 2);
    assert_eq!(
        cut(&answer_fetch(&mut h, 2, Ok(told(3)))),
        (0, 0, 0),
        "at the LEO"
    );
    assert_eq!(cut(&answer_fetch(&mut h, 2, Ok(told(2)))), (1, 1, 1));
    // A log whose cache ends with an epoch it led without writing (3 at offset 3).
    let mut log = log_of(&records(0, 1, 3), 0);
    log.assign_epoch_start(3);
    let (mut h, _) = follower(BrokerConfig::default(), log, 4);
    assert_eq!(
        cut(&answer_fetch(&mut h, 4, Ok(told(3)))),
        (0, 1, 0),
        "epoch 3 goes"
    );
    assert_eq!(h.b.replica(P).map(|r| r.log.latest_cached_epoch()), Some(1));
}

/// Leader 1's answer to a follower's fetch at `offset` after `last_epoch`, its log holding
/// epochs 1 at 0, 3 at 2 and 5 at 3 (LEO 5).
fn leader_check(truncation: Truncation, offset: Offset, last_epoch: Epoch) -> FetchData {
    let mut protocol = Protocol::default();
    protocol.truncation = truncation;
    let cfg = BrokerConfig {
        protocol,
        ..Default::default()
    };
    let mut recs = records(0, 1, 2);
    recs.extend(records(2, 3, 1));
    recs.extend(records(3, 5, 2));
    let mut h = Hand::with(1, cfg, log_of(&recs, 0), on_012(1, 6, &[0, 1, 2]));
    h.fetch(0, offset, last_epoch, 6)
        .fetch()
        .expect("answered at once")
        .expect("no error")
}

#[test]
fn kip_101s_answer_is_the_start_of_the_first_epoch_above_the_followers_or_the_leo() {
    let kip101 = |offset, epoch| leader_check(Truncation::Kip101, offset, epoch).truncate_to;
    let told = |to| Some((to, TruncateReason::Kip101));
    assert_eq!(kip101(6, 6), told(5), "the latest epoch ends at the LEO");
    assert_eq!(kip101(4, 3), told(3), "epoch 3 ends where 5 starts");
    assert_eq!(
        kip101(4, 2),
        told(2),
        "epoch 2 is not cached: 3 starts at 2"
    );
    assert_eq!(kip101(3, 3), None, "the follower's log matches");
}

#[test]
fn kip_320_a_follower_that_led_an_epoch_without_writing_learns_where_the_logs_part() {
    let diverging =
        |offset, epoch| leader_check(Truncation::LeaderEpoch, offset, epoch).diverging_epoch;
    assert_eq!(
        diverging(0, 0),
        Some((None, 0)),
        "epoch 0 is below every cached epoch"
    );
    assert_eq!(diverging(0, 2), Some((Some(1), 2)));
    assert_eq!(diverging(3, 3), None);
    assert_eq!(diverging(4, 3), Some((Some(3), 3)));
}

#[test]
fn with_kip_320_every_fetch_carries_the_last_fetched_epoch_not_only_the_first() {
    let (mut h, became) = follower(BrokerConfig::default(), PartitionLog::default(), 2);
    assert_eq!(fetches(&became.sends), vec![(NodeId::Broker(1), 0, -1, 2)]);
    let next = answer_fetch(&mut h, 2, Ok(data(2, records(0, 1, 2))));
    assert_eq!(fetches(&next.sends), vec![(NodeId::Broker(1), 2, 1, 2)]);
    let next = answer_fetch(&mut h, 2, Ok(data(3, records(2, 2, 1))));
    assert_eq!(fetches(&next.sends), vec![(NodeId::Broker(1), 3, 2, 2)]);
}
