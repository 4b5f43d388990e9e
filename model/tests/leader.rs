//! One leader, driven by hand: what it serves to consumers and followers, how it tracks its
//! followers for the ISR and the HW, how it answers produce requests by `acks`, its flush
//! timer, and the planted flaws of its code.

mod common;

use common::hand::*;
use common::P;
use ksim_model::*;

#[test]
fn a_consumer_reads_below_the_hw_and_an_offset_outside_the_log_is_out_of_range() {
    let mut h = Hand::leader(BrokerConfig::default());
    both_fetch(&mut h, 2);
    let consumer = |h: &mut Hand, offset| offsets(h.fetch(-1, offset, -1, 1).fetch());
    assert_eq!(
        consumer(&mut h, 0),
        Ok((2, vec![0, 1])),
        "follower 0 counts too"
    );
    assert_eq!(consumer(&mut h, 1), Ok((2, vec![1])));
    assert_eq!(
        consumer(&mut h, 3),
        Ok((2, vec![])),
        "above the HW: nothing yet"
    );
    assert_eq!(consumer(&mut h, 4), Ok((2, vec![])), "at the LEO");
    for outside in [5, -1] {
        assert_eq!(consumer(&mut h, outside), Err(ErrorCode::OffsetOutOfRange));
    }
    let no_epoch = offsets(h.fetch(-1, 0, -1, -1).fetch());
    assert_eq!(
        no_epoch,
        Ok((2, vec![0, 1])),
        "a fetch without an epoch reaches the leader"
    );
}

#[test]
fn planted_read_above_hw_serves_a_consumer_up_to_the_leo() {
    let flaw = Flaw::ReadAboveHw;
    let mut h = Hand::leader(BrokerConfig::default()).planted(flaw);
    let read = offsets(h.fetch(-1, 0, -1, 1).fetch());
    assert_eq!(read, Ok((4, vec![0, 1, 2, 3])));
}

#[test]
fn a_fetch_in_an_older_epoch_is_fenced_a_newer_one_unknown_and_a_stranger_refused() {
    let mut h = Hand::leader(BrokerConfig::default());
    let fenced = h.fetch(0, 4, 1, 0);
    assert_eq!(
        fenced.fetch().map(|r| r.err()),
        Some(Some(ErrorCode::FencedLeaderEpoch))
    );
    assert!(fenced
        .ready
        .notes
        .contains(&Note::Mark(Mark::FencedLeaderEpoch)));
    let newer = h.fetch(0, 4, 1, 2);
    assert_eq!(
        newer.fetch().map(|r| r.err()),
        Some(Some(ErrorCode::UnknownLeaderEpoch))
    );
    assert!(
        newer.ready.notes.is_empty(),
        "only a fenced fetch is marked"
    );
    let stranger = h.fetch(5, 0, -1, 1);
    assert_eq!(
        stranger.fetch().map(|r| r.err()),
        Some(Some(ErrorCode::NotLeaderOrFollower))
    );
}

#[test]
fn a_follower_fetching_at_the_leo_stays_in_the_isr_however_seldom_it_fetches_within_the_lag() {
    // replica.lag.time.max.ms = 1000; follower 2 fetches at the LEO every 800 ms: each fetch
    // is caught up as of now. Follower 0 fetches one record behind a leader that appends
    // between its fetches: caught up as of its previous fetch.
    let cfg = BrokerConfig {
        replica_lag_time_max_ms: 1000,
        ..Default::default()
    };
    let mut h = Hand::leader(cfg);
    let mut sent = Vec::new();
    for round in 0..8 {
        h.fetch(2, 4 + round, 1, 1);
        h.fetch(0, 4 + round, 1, 1);
        let (_, ready) = h.request(NodeId::Client(0), produce(&["x"]));
        sent.extend(ready.sends);
        sent.extend(h.run(400));
        h.fetch(0, 5 + round, 1, 1);
        sent.extend(h.run(400));
    }
    assert_eq!(
        alters(&sent),
        Vec::<Vec<_>>::new(),
        "no shrink in {} ms",
        h.now
    );
    // Then follower 0 stops while 2 goes on: 0 leaves the ISR once 1000 ms passed since it
    // was last caught up (its fetch at the LEO, 400 ms before the loop ended).
    let caught_up = h.now - 400;
    let mut after = Vec::new();
    while alters(&after).is_empty() && h.now < 5_000 + caught_up {
        h.fetch(2, 12, 1, 1);
        after.extend(h.run(50));
    }
    assert_eq!(alters(&after), vec![vec![(1, 7), (2, 32)]]);
    assert!(
        (caught_up + 1_001..=caught_up + 1_050).contains(&h.now),
        "at {}",
        h.now
    );
}

#[test]
fn a_follower_that_stops_fetching_leaves_the_isr_after_the_lag_and_not_before() {
    let cfg = BrokerConfig {
        replica_lag_time_max_ms: 1000,
        ..Default::default()
    };
    let mut h = Hand::leader(cfg);
    both_fetch(&mut h, 4);
    let mut sent = Vec::new();
    while h.now < 1_000 {
        h.fetch(2, 4, 1, 1);
        sent.extend(h.run(100));
    }
    assert!(alters(&sent).is_empty(), "caught up as of {} ms", h.now);
    h.fetch(2, 4, 1, 1);
    let after = h.run(100);
    assert_eq!(alters(&after), vec![vec![(1, 7), (2, 32)]]);
}

#[test]
fn a_held_fetch_is_answered_when_replica_fetch_wait_max_ms_runs_out() {
    let mut h = Hand::leader(BrokerConfig::default());
    both_fetch(&mut h, 4);
    h.fetch(0, 4, 1, 1); // answered at once: the HW moved since 0's first fetch
    let held = h.fetch(0, 4, 1, 1);
    assert!(held.fetch().is_none(), "nothing new: held");
    let early = h.run(450);
    assert!(fetch_answer(&early, held.conn).is_none());
    let due = h.run(50); // replica.fetch.wait.max.ms = 500
    assert_eq!(offsets(fetch_answer(&due, held.conn)), Ok((4, vec![])));
}

#[test]
fn a_new_leaders_followers_count_towards_the_hw_only_once_they_fetched_in_its_epoch() {
    // Even under the old rule that remembers LEOs across epochs: none is remembered here.
    let mut protocol = Protocol::default();
    protocol.hw_requires_current_epoch = false;
    let cfg = BrokerConfig {
        protocol,
        ..Default::default()
    };
    let mut h = Hand::leader(cfg);
    h.run(1_000);
    let read = offsets(h.fetch(-1, 0, -1, 1).fetch());
    assert_eq!(read, Ok((0, vec![])), "no follower fetched yet");
}

#[test]
fn a_new_leader_answers_a_followers_first_fetch_at_once_to_tell_it_the_hw() {
    let log = log_of(&records(0, 1, 1), 1);
    let mut h = Hand::with(1, BrokerConfig::default(), log, on_012(1, 2, &[0, 1, 2]));
    let first = h.fetch(0, 1, 2, 2);
    assert_eq!(offsets(first.fetch()), Ok((1, vec![])));
}

#[test]
fn an_isr_expansion_names_a_member_that_has_not_fetched_with_broker_epoch_minus_one() {
    let log = log_of(&records(0, 1, 2), 0);
    let mut h = Hand::with(1, BrokerConfig::default(), log, on_012(1, 1, &[1, 0]));
    let joined = h.fetch(2, 2, 1, 1);
    assert_eq!(
        alters(&joined.ready.sends),
        vec![vec![(1, 7), (0, -1), (2, 32)]]
    );
}

#[test]
fn acks_all_answers_each_batch_once_the_hw_passes_its_last_record() {
    let mut h = Hand::leader(BrokerConfig::default());
    commit_to(&mut h, 4);
    let (b1, _) = h.request(
        NodeId::Client(0),
        produce_as(Acks::All, &["a", "b"], (-1, -1)),
    );
    let (b2, _) = h.request(
        NodeId::Client(0),
        produce_as(Acks::All, &["c", "d"], (-1, -1)),
    );
    let at_6 = commit_to(&mut h, 6);
    assert_eq!(produce_answer(&at_6, b1), Some((1, Ok(4))));
    assert_eq!(produce_answer(&at_6, b2), None);
    let at_8 = commit_to(&mut h, 8);
    assert_eq!(produce_answer(&at_8, b2), Some((1, Ok(6))));
    let log = &h.b.replica(P).expect("hosted").log;
    assert!(
        log.records().iter().all(|r| r.sequence == -1),
        "not idempotent"
    );
}

#[test]
fn an_acks_all_retry_of_an_idempotent_batch_waits_for_its_commit_or_is_answered_at_once() {
    let mut h = Hand::leader(BrokerConfig::default());
    commit_to(&mut h, 4);
    let batch = || produce_as(Acks::All, &["e", "f"], (9, 0));
    let (first, _) = h.request(NodeId::Client(0), batch());
    let (retry, sent) = h.request(NodeId::Client(0), batch());
    assert_eq!(
        produce_answer(&sent.sends, retry),
        None,
        "not committed yet"
    );
    let log = &h.b.replica(P).expect("hosted").log;
    let seqs: Vec<i32> = log.records()[4..].iter().map(|r| r.sequence).collect();
    assert_eq!(seqs, vec![0, 1], "appended once");
    let committed = commit_to(&mut h, 6);
    for conn in [first, retry] {
        assert_eq!(produce_answer(&committed, conn), Some((1, Ok(4))));
    }
    let (late, sent) = h.request(NodeId::Client(0), batch());
    assert_eq!(
        produce_answer(&sent.sends, late),
        Some((1, Ok(4))),
        "at once"
    );
}

#[test]
fn a_produce_to_a_follower_or_a_stranger_is_refused_unless_acks_is_0() {
    let (mut h, _) = follower(BrokerConfig::default(), log_of(&records(0, 1, 2), 2), 3);
    let (c, sent) = h.request(
        NodeId::Client(0),
        produce_as(Acks::Leader, &["x"], (-1, -1)),
    );
    let refused = Some((3, Err(ErrorCode::NotLeaderOrFollower)));
    assert_eq!(produce_answer(&sent.sends, c), refused);
    let (c, sent) = h.request(NodeId::Client(0), produce_as(Acks::None, &["x"], (-1, -1)));
    assert_eq!(produce_answer(&sent.sends, c), None, "acks=0 hears nothing");
    let Request::Produce { records, .. } = produce(&["x"]) else {
        unreachable!()
    };
    let elsewhere = Request::Produce {
        correlation_id: 2,
        partition: 7,
        acks: Acks::Leader,
        timeout_ms: 1_000,
        producer_id: -1,
        base_sequence: -1,
        records,
    };
    let (c, sent) = h.request(NodeId::Client(0), elsewhere);
    assert_eq!(
        produce_answer(&sent.sends, c),
        Some((-1, Err(ErrorCode::NotLeaderOrFollower)))
    );
}

#[test]
fn planted_hw_regress_moves_the_leaders_hw_back_one_record_a_tick_down_to_zero() {
    let flaw = Flaw::HwRegress;
    let log = log_of(&records(0, 1, 4), 2);
    let mut h = Hand::with(1, BrokerConfig::default(), log, on_012(1, 1, &[1])).planted(flaw);
    let hw = |h: &Hand| h.b.replica(P).map(|r| r.log.hw());
    assert_eq!(
        hw(&h),
        Some(4),
        "the leader alone in the ISR commits its log"
    );
    let mut seen = Vec::new();
    for _ in 0..6 {
        h.run(50);
        seen.push(hw(&h).expect("hosted"));
    }
    assert_eq!(seen, vec![3, 2, 1, 0, 0, 0]);
}

#[test]
fn log_flush_interval_ms_flushes_what_is_unflushed_once_the_interval_passed() {
    let cfg = BrokerConfig {
        log_flush_interval_ms: Some(1_000),
        ..Default::default()
    };
    let mut h = Hand::leader(cfg);
    let flushes = |sent: &[DiskOp]| {
        sent.iter()
            .filter(|op| matches!(op, DiskOp::Flush { .. }))
            .count()
    };
    let mut disk = Vec::new();
    let run = |h: &mut Hand, ms: TimeMs| {
        let end = h.now + ms;
        let mut n = 0;
        while h.now < end {
            h.now += 50;
            n += flushes(&h.tick().disk);
        }
        n
    };
    assert_eq!(run(&mut h, 2_000), 0, "nothing unflushed");
    disk.extend(h.request(NodeId::Client(0), produce(&["a"])).1.disk);
    assert_eq!(flushes(&disk), 0);
    assert_eq!(run(&mut h, 50), 1, "the interval passed long ago");
    h.now += 50;
    h.request(NodeId::Client(0), produce(&["b"]));
    assert_eq!(run(&mut h, 900), 0, "950 ms after the last flush");
    assert_eq!(run(&mut h, 50), 1);
}

#[test]
fn a_follower_falling_behind_the_leo_of_its_previous_fetch_is_not_caught_up() {
    // Follower 0 keeps fetching at offset 2 while the leader's LEO is 4: no fetch of it reaches
    // the LEO the leader had at its previous fetch, so it is never caught up again.
    let cfg = BrokerConfig {
        replica_lag_time_max_ms: 1000,
        ..Default::default()
    };
    let mut h = Hand::leader(cfg);
    let mut sent = Vec::new();
    while alters(&sent).is_empty() && h.now < 3_000 {
        h.fetch(2, 4, 1, 1);
        h.fetch(0, 2, 1, 1);
        sent.extend(h.run(100));
    }
    assert_eq!(alters(&sent), vec![vec![(1, 7), (2, 32)]]);
    assert!(h.now <= 1_200, "dropped after the lag, at {} ms", h.now);
}

#[test]
fn planted_ack_before_replication_answers_acks_all_at_once() {
    for (flaw, at_once) in [(Flaw::None, false), (Flaw::AckBeforeReplication, true)] {
        let mut h = Hand::leader(BrokerConfig::default()).planted(flaw);
        let (conn, ready) = h.request(NodeId::Client(0), produce_as(Acks::All, &["a"], (-1, -1)));
        let answer = produce_answer(&ready.sends, conn);
        assert_eq!(answer.is_some(), at_once, "{flaw:?}");
    }
}

#[test]
fn planted_skip_truncation_never_tells_a_diverged_follower() {
    for (flaw, told) in [(Flaw::None, true), (Flaw::SkipTruncation, false)] {
        let mut h = Hand::leader(BrokerConfig::default()).planted(flaw);
        // Follower 0's last fetched epoch 0 at offset 6: the leader's log has epoch 1 from 0.
        let data = h.fetch(0, 6, 0, 1).fetch();
        let data = data.expect("answered").expect("no error");
        let diverged = data.diverging_epoch.is_some() || data.truncate_to.is_some();
        assert_eq!(diverged, told, "{flaw:?}");
    }
}
