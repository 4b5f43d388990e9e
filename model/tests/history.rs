//! Historical replication bugs, each replayed twice from the same fault schedule: once with
//! the old rule of one `Protocol` switch and once with the modern rule (`Protocol::default()`).
//! The invariant checker of the harness (`common::violations`, checked after every step and
//! every delivery, and `common::final_violations` after a quiet period) must report a concrete
//! violation under the old rule and nothing under the modern one.
//!
//! Partition 0 has replicas [1, 2, 3]; clean election picks the first live ISR member in that
//! order. Leader epochs start at 0 (the stories in the KIPs start at 1).
//!
//! `KSIM_HISTORY_TRACE=1 cargo test -p ksim-model --test history -- --nocapture` prints every
//! violation each run saw, with the simulated time it was first seen.

mod common;

use common::*;
use ksim_model::*;

const CTL: NodeId = NodeId::Controller(1);

fn node(b: BrokerId) -> NodeId {
    NodeId::Broker(b)
}

fn config(protocol: Protocol, min_isr: usize, lag_ms: TimeMs) -> BrokerConfig {
    BrokerConfig {
        min_insync_replicas: min_isr,
        replica_lag_time_max_ms: lag_ms,
        protocol,
        ..Default::default()
    }
}

fn request(m: &Msg, from: NodeId, to: NodeId, f: impl Fn(&Request) -> bool) -> bool {
    m.from == from && m.to == to && matches!(&m.msg, Message::Request(r) if f(r))
}
fn response(m: &Msg, from: NodeId, to: NodeId, f: impl Fn(&Response) -> bool) -> bool {
    m.from == from && m.to == to && matches!(&m.msg, Message::Response(r) if f(r))
}
fn fetch_req(r: &Request) -> bool {
    matches!(r, Request::Fetch { .. })
}
fn fetch_resp(r: &Response) -> bool {
    matches!(r, Response::Fetch { .. })
}
fn alter_req(r: &Request) -> bool {
    matches!(r, Request::AlterPartition(_))
}
fn leader_and_isr(r: &Request) -> bool {
    matches!(r, Request::LeaderAndIsr { .. })
}
fn heartbeat_resp(r: &Response) -> bool {
    matches!(r, Response::BrokerHeartbeat { .. })
}

fn leads(c: &Cluster, b: BrokerId, epoch: Epoch) -> bool {
    c.is_up(b)
        && c.broker(b).replica(P).map(|r| r.role)
            == Some(Role::Leader {
                leader_epoch: epoch,
            })
}

/// The switches of `p` that differ from the modern rules, as `field: value`.
fn old_rules(p: &Protocol) -> Vec<String> {
    let fields = |p: &Protocol| -> Vec<String> {
        let text = format!("{p:?}");
        let inner = text.trim_start_matches("Protocol {").trim_end_matches('}');
        inner.split(", ").map(|f| f.trim().to_string()).collect()
    };
    let modern = fields(&Protocol::default());
    fields(p)
        .into_iter()
        .filter(|f| !modern.contains(f))
        .collect()
}

/// The end of every story: every link mended, every filter lifted (what it held is delivered),
/// every broker restarted (no power loss), 30 quiet seconds, then the final checks.
fn finish(mut c: Cluster) -> Cluster {
    c.mend_all();
    let names: Vec<&'static str> = c.filters.iter().map(|f| f.name).collect();
    names.into_iter().for_each(|n| c.lift(n));
    let down: Vec<BrokerId> = (c.slots.keys().copied()).filter(|b| !c.is_up(*b)).collect();
    down.into_iter().for_each(|b| c.restart(b));
    c.run(30_000);
    let mut checker = c.checker.take().expect("a checked cluster");
    checker.finish(&c);
    if std::env::var_os("KSIM_HISTORY_TRACE").is_some() {
        eprintln!("--- {:?}", old_rules(&c.cfg.protocol));
        for (t, v) in &checker.violations {
            eprintln!("  t={t}: {v}");
        }
    }
    c.checker = Some(checker);
    c
}

fn seen(c: &Cluster) -> Vec<String> {
    c.checker.as_ref().expect("a checked cluster").messages()
}

/// Both runs of a story. Under `old` the checker must report each of `expected` (verbatim);
/// under the modern rules nothing at all. `old_path` and `modern_path` check that each run
/// went the way the story says (so that a quiet modern run is not quiet by accident).
fn compare(
    story: impl Fn(BrokerConfig) -> Cluster,
    old: BrokerConfig,
    modern: BrokerConfig,
    expected: &[&str],
    old_path: impl Fn(&Cluster),
    modern_path: impl Fn(&Cluster),
) {
    let broken = story(old.clone());
    let found = seen(&broken);
    for e in expected {
        assert!(
            found.iter().any(|v| v == e),
            "old rules {:?}: expected the violation\n  {e}\nbut the checker saw\n  {}",
            old_rules(&old.protocol),
            found.join("\n  ")
        );
    }
    old_path(&broken);
    let held = story(modern);
    let found = seen(&held);
    assert!(
        found.is_empty(),
        "modern rules ({:?}): expected no violation, the checker saw\n  {}",
        old_rules(&held.cfg.protocol),
        found.join("\n  ")
    );
    modern_path(&held);
}

/// `compare` for one switch: the same configuration but for `old`.
fn compare_switch(
    story: impl Fn(BrokerConfig) -> Cluster,
    base: BrokerConfig,
    old: Protocol,
    expected: &[&str],
    old_path: impl Fn(&Cluster),
    modern_path: impl Fn(&Cluster),
) {
    assert_eq!(old_rules(&old).len(), 1, "one switch at a time");
    let modern = BrokerConfig {
        protocol: Protocol::default(),
        ..base.clone()
    };
    let old = BrokerConfig {
        protocol: old,
        ..base
    };
    compare(story, old, modern, expected, old_path, modern_path);
}

fn noted(c: &Cluster, n: &Note) -> bool {
    c.notes.iter().any(|(_, x)| x == n)
}

fn truncated(broker: BrokerId, from_leo: Offset, to: Offset, reason: TruncateReason) -> Note {
    Note::Truncated {
        broker,
        partition: P,
        from_leo,
        to,
        reason,
    }
}

fn delivered(c: &Cluster, f: impl Fn(NodeId, NodeId, &Message) -> bool) -> bool {
    c.trace.iter().any(|(_, from, to, m)| f(*from, *to, m))
}

// ------------------------------------------------------------------------------ 1

fn hw_truncation_story(cfg: BrokerConfig) -> Cluster {
    let mut c = Cluster::checked(cfg, 3);
    assert_eq!(c.produce_settled(Acks::All, &["m0"]), Some(Ok(0)));
    c.run(200);
    // 1 acknowledges m1 once 2 and 3 fetched it, and dies before they hear HW 2.
    let m1 = c.produce(Acks::All, &["m1"]);
    c.step_until(1000, |c| c.results.contains_key(&m1));
    assert_eq!(c.results[&m1], Ok(1));
    assert_eq!((c.log(2).leo(), c.log(2).hw(), c.log(3).hw()), (2, 1, 1));
    c.crash(1, false);
    // 2 is elected (epoch 1); 3 follows it but cannot reach it.
    c.cut(node(2), node(3));
    c.run_until(15_000, |c| leads(c, 2, 1));
    c.run_until(2000, |c| {
        c.replica(3).role
            == Role::Follower {
                leader: 2,
                leader_epoch: 1,
            }
    });
    c.run(500);
    // 2 dies; 3 is elected (epoch 2).
    c.crash(2, false);
    c.run_until(15_000, |c| leads(c, 3, 2));
    finish(c)
}

/// KIP-101 (Kafka 0.11) scenario 1, truncation to the high watermark, RF3:
/// 1. Epoch 0: leader 1 has m0 committed; it takes m1 (acks=all), 2 and 3 fetch it and report
///    LEO 2, 1 acknowledges m1@1 with HW 2 and dies before 2 or 3 hears HW 2 (their HW: 1).
/// 2. Epoch 1: 2 is elected. 3, cut off from 2, becomes its follower and, under the old rule,
///    truncates to its own HW 1: m1 is gone from 3.
/// 3. Epoch 2: 2 dies, 3 is elected without m1: the acknowledged m1@1 is lost.
///
/// With leader-epoch truncation 3 keeps m1 until a leader tells it where the logs diverge.
#[test]
fn follower_truncating_to_its_stale_hw_loses_an_acked_write_when_it_is_elected() {
    compare_switch(
        hw_truncation_story,
        config(Protocol::default(), 1, 60_000),
        Protocol {
            truncation: Truncation::HighWatermark,
            ..Protocol::default()
        },
        &[
            "acked-write durability: m1@1 was acknowledged, but leader 3 of epoch 2 holds nothing there",
            "leader completeness: leader 3 of epoch 2 holds nothing at offset 1, where the leader of epoch 0 had committed m1 (epoch 0)",
            "acked-write durability: m1@1 was acknowledged, but the final leader 3 of epoch 2 has HW 1",
        ],
        |c| assert!(noted(c, &truncated(3, 2, 1, TruncateReason::HighWatermark))),
        |c| assert_eq!(c.values(3), vals(0, &["m0", "m1"])),
    );
}

// ------------------------------------------------------------------------------ 2

fn double_power_loss_story(cfg: BrokerConfig) -> Cluster {
    let mut c = Cluster::checked(cfg, 2);
    assert_eq!(c.produce_settled(Acks::All, &["m0"]), Some(Ok(0)));
    c.run(200);
    c.writeback(1);
    c.writeback(2);
    assert_eq!(c.produce_settled(Acks::Leader, &["m1"]), Some(Ok(1)));
    c.run(6000); // both HW checkpoints say 2
    assert_eq!((c.slots[&1].disk[&P].hw, c.slots[&2].disk[&P].hw), (2, 2));
    c.writeback(1); // only 1's page cache reached the disk
    c.crash(1, true);
    c.crash(2, true);
    c.checker.as_mut().unwrap().forget_committed();
    // 1 fetches only once the new leader wrote at offset 1.
    c.hold("1-fetch", |m| request(m, node(1), node(2), fetch_req));
    c.restart(1);
    c.restart(2);
    c.run_until(20_000, |c| leads(c, 2, 3));
    assert_eq!((c.log(1).leo(), c.log(1).hw(), c.log(2).leo()), (2, 2, 1));
    assert_eq!(c.produce_settled(Acks::Leader, &["x"]), Some(Ok(1)));
    c.lift("1-fetch");
    c.run(3000);
    finish(c)
}

/// KIP-101 (Kafka 0.11) scenario 2, truncation to the high watermark, RF2,
/// min.insync.replicas=2, in the Kafka of that time (before KIP-966: the last ISR member
/// stays in the ISR and is elected whatever it lost; with KIP-966's recovery the longer log
/// would win and hide the story):
/// 1. Epoch 0: m0 and m1 are on both replicas and below both HWs (checkpointed); only 1's
///    page cache reached its disk.
/// 2. Both lose power: 1 keeps m0, m1 (HW 2), 2 keeps m0 (HW 1). 2, the last ISR member, is
///    elected (epoch 3) and writes x@1 (acks=1: its ISR {2} is below the minimum).
/// 3. 1 follows 2 and, under the old rule, truncates to its own HW 2: it keeps m1@1, rejoins
///    the ISR, and the HW passes offset 1 where the logs differ.
///
/// With leader-epoch truncation 1 learns that epoch 0 ends at offset 1 on 2 and cuts m1. m1
/// itself is lost either way: it was committed, but every replica crashed at once and Kafka
/// promises nothing then (the checker forgets what was committed at that point).
#[test]
fn replicas_that_lost_different_suffixes_in_a_power_loss_diverge_below_the_hw() {
    let before_kip_966 = Protocol {
        strict_min_isr: false,
        ..Protocol::default()
    };
    compare(
        double_power_loss_story,
        config(
            Protocol {
                truncation: Truncation::HighWatermark,
                ..before_kip_966
            },
            2,
            60_000,
        ),
        config(before_kip_966, 2, 60_000),
        &[
            "log matching: at offset 1, below both HWs (2 and 2), broker 1 holds m1 (epoch 0) and broker 2 holds x (epoch 3)",
            "strong ISR: broker 1, in the ISR [1, 2], holds m1 (epoch 0) at offset 1 where leader 2 of epoch 3 holds x (epoch 3) below its HW 2",
        ],
        |c| assert_eq!(c.values(1), vals(0, &["m0", "m1"])),
        |c| {
            assert!(noted(c, &truncated(1, 2, 1, TruncateReason::DivergingEpoch)));
            let expected = [vals(0, &["m0"]), vals(3, &["x"])].concat();
            assert_eq!((c.values(1), c.values(2)), (expected.clone(), expected));
        },
    );
}

// ------------------------------------------------------------------------------ 3

fn kip279_story(cfg: BrokerConfig) -> Cluster {
    let (a, b) = (1, 2);
    let mut c = Cluster::checked(cfg, 2);
    assert_eq!(c.produce_settled(Acks::All, &["x"]), Some(Ok(0)));
    c.run(200);
    // Epoch 1: b leads and writes z@1; a, cut off, never fetches it.
    c.isolate(a);
    c.run_until(15_000, |c| leads(c, b, 1));
    assert_eq!(c.produce_settled(Acks::Leader, &["z"]), Some(Ok(1)));
    // Epoch 2: a is elected (from the ELR) and writes y@1; b, cut off, never hears of it.
    c.heal(a);
    c.cut(node(a), node(b));
    c.run_until(5000, |c| !c.ctl.is_fenced(a));
    c.cut(node(b), CTL);
    c.run_until(15_000, |c| leads(c, a, 2));
    assert_eq!(c.produce_settled(Acks::Leader, &["y"]), Some(Ok(1)));
    // Epoch 3: b is elected and writes w@2; then a follows it.
    c.mend(node(b), CTL);
    c.run_until(5000, |c| !c.ctl.is_fenced(b));
    c.cut(node(a), CTL);
    c.run_until(15_000, |c| leads(c, b, 3));
    assert_eq!(c.produce_settled(Acks::Leader, &["w"]), Some(Ok(2)));
    finish(c)
}

/// KIP-279 (Kafka 2.0), against KIP-101's single OffsetForLeaderEpoch round, RF2,
/// min.insync.replicas=2 (so nothing after x is committed until the end):
/// 1. Epoch 0: 1 leads, writes x@0; 2 replicates.
/// 2. Epoch 1: 1 is cut off and fenced; 2 is elected and writes z@1; 1 never fetches it.
/// 3. Epoch 2: 2 is cut off from the controller and fenced; 1 is elected from the ELR and
///    writes y@1; 2 never hears of epoch 2 while it could fetch.
/// 4. Epoch 3: 1 is fenced; 2 is elected from the ELR and writes w@2. 1 follows: its latest
///    epoch is 2, which 2 does not have. KIP-101 answers the start of the first epoch above
///    2, offset 2 = 1's LEO, so 1 keeps y@1 while 2 holds z@1; 1 fetches w, rejoins the ISR,
///    and the HW (3) passes offset 1.
///
/// KIP-279 answers "epoch 1 ends at 2"; 1's own epoch 0 ends at 1, so it truncates to 1. The
/// old rule diverges with KIP-320's fencing on as well: turning `fetch_epoch_fencing` off too
/// is not needed.
#[test]
fn one_round_offset_for_leader_epoch_keeps_a_suffix_that_diverged_over_several_epochs() {
    compare_switch(
        kip279_story,
        config(Protocol::default(), 2, 60_000),
        Protocol {
            truncation: Truncation::Kip101,
            ..Protocol::default()
        },
        &[
            "strong ISR: broker 1, in the ISR [1, 2], holds y (epoch 2) at offset 1 where leader 2 of epoch 3 holds z (epoch 1) below its HW 2",
            "log matching: at offset 1, below both HWs (3 and 3), broker 1 holds y (epoch 2) and broker 2 holds z (epoch 1)",
        ],
        |c| {
            let a = [vals(0, &["x"]), vals(2, &["y"]), vals(3, &["w"])].concat();
            assert_eq!(c.values(1), a);
        },
        |c| {
            assert!(noted(c, &truncated(1, 2, 1, TruncateReason::DivergingEpoch)));
            let b = [vals(0, &["x"]), vals(1, &["z"]), vals(3, &["w"])].concat();
            assert_eq!((c.values(1), c.values(2)), (b.clone(), b));
        },
    );
}

// ------------------------------------------------------------------------------ 4

fn unfenced_fetch_story(cfg: BrokerConfig) -> Cluster {
    let (a, b, cc) = (1, 2, 3);
    let mut c = Cluster::checked(cfg, 3);
    c.cut(node(a), node(b));
    assert_eq!(c.produce_settled(Acks::Leader, &["m0"]), Some(Ok(0)));
    c.run(500);
    assert_eq!((c.log(cc).leo(), c.log(b).leo()), (1, 0));
    // cc never learns of a new epoch: the controller's pushes and answers to it are lost.
    c.lose("cc-metadata", move |m| {
        request(m, CTL, node(cc), leader_and_isr) || response(m, CTL, node(cc), heartbeat_resp)
    });
    // Epoch 1: b is elected with an empty log; a follows it and truncates m0.
    c.cut(node(a), CTL);
    c.run_until(15_000, |c| leads(c, b, 1));
    c.mend(node(a), CTL);
    c.mend(node(a), node(b));
    c.run_until(10_000, |c| {
        c.log(a).leo() == 0 && c.state().isr.contains(&a)
    });
    // Epoch 2: a is elected and writes m1@0, m2@1; cc's fetches wait until then.
    c.hold("cc-fetch", move |m| {
        request(m, node(cc), node(a), fetch_req)
    });
    c.cut(node(b), CTL);
    c.run_until(15_000, |c| leads(c, a, 2));
    c.produce(Acks::All, &["m1", "m2"]);
    c.deliver_all();
    c.lift("cc-fetch");
    c.run(3000);
    finish(c)
}

/// KAFKA-6880 / KAFKA-7164, fixed by KIP-320 (Kafka 2.1), RF3:
/// 1. Epoch 0: 1 leads and writes m0@0 (acks=1); 3 replicates, 2 (cut off from 1) does not.
///    From here on 3 hears nothing from the controller (its LeaderAndIsr and heartbeat
///    answers are lost) and follows 1 in epoch 0 for the rest of the story.
/// 2. Epoch 1: 1 is fenced; 2 is elected with an empty log; 1 follows it and truncates m0.
/// 3. Epoch 2: 2 is fenced; 1 is elected and writes m1@0, m2@1 (acks=all).
/// 4. 3 fetches from offset 1 without a leader epoch: the old rule serves it m2 and counts
///    it towards the HW. 3 holds m0, m2, 1 holds m1, m2, HW 2; m1 and m2 are acknowledged.
///
/// With KIP-320 the fetch carries epoch 0 and is answered FENCED_LEADER_EPOCH.
#[test]
fn fetch_without_leader_epoch_lets_a_stale_follower_append_after_a_divergent_prefix() {
    compare_switch(
        unfenced_fetch_story,
        config(Protocol::default(), 1, 120_000),
        Protocol {
            fetch_epoch_fencing: false,
            ..Protocol::default()
        },
        &[
            "strong ISR: broker 3, in the ISR [1, 3], holds m0 (epoch 0) at offset 0 where leader 1 of epoch 2 holds m1 (epoch 2) below its HW 1",
            "log matching: at offset 0, below both HWs (2 and 2), broker 1 holds m1 (epoch 2) and broker 3 holds m0 (epoch 0)",
        ],
        |c| {
            assert_eq!(c.values(3), [vals(0, &["m0"]), vals(2, &["m2"])].concat());
            assert_eq!(c.values(1), vals(2, &["m1", "m2"]));
        },
        |c| {
            assert!(delivered(c, |from, to, m| {
                from == node(1)
                    && to == node(3)
                    && matches!(m, Message::Response(r) if r.error() == Some(ErrorCode::FencedLeaderEpoch))
            }));
            assert_eq!(c.values(3), vals(2, &["m1", "m2"]));
        },
    );
}

// ------------------------------------------------------------------------------ 5

fn remembered_leo_story(cfg: BrokerConfig) -> Cluster {
    let (a, l1, f) = (1, 2, 3);
    let mut c = Cluster::checked(cfg, 3);
    assert_eq!(c.produce_settled(Acks::All, &["m0"]), Some(Ok(0)));
    c.run(200);
    c.cut(node(a), node(l1));
    assert_eq!(c.produce_settled(Acks::Leader, &["m1"]), Some(Ok(1)));
    c.run(500);
    assert_eq!((c.log(f).leo(), c.log(l1).leo(), c.log(a).hw()), (2, 1, 1));
    // Epoch 1: l1 leads; f truncates m1; a comes back, truncates m1 and rejoins the ISR.
    c.isolate(a);
    c.run_until(15_000, |c| leads(c, l1, 1));
    c.run_until(2000, |c| c.log(f).leo() == 1);
    c.cut(node(f), node(l1));
    c.heal(a);
    c.mend(node(a), node(l1));
    c.run_until(10_000, |c| {
        c.state().isr == vec![1, 2, 3] && c.log(a).leo() == 1
    });
    assert_eq!(c.produce_settled(Acks::Leader, &["l1", "l2"]), Some(Ok(1)));
    c.run(500);
    assert_eq!((c.log(a).leo(), c.log(f).leo(), c.log(l1).hw()), (3, 1, 1));
    // Epoch 2: a is re-elected and dies before f fetches from it.
    c.isolate(l1);
    c.step_until(15_000, |c| leads(c, a, 2));
    c.crash(a, false);
    c.run_until(15_000, |c| leads(c, f, 3));
    finish(c)
}

/// A re-elected leader counting follower LEOs from its earlier leadership
/// (`hw_requires_current_epoch = false`; KIP-101/KIP-279's leader epoch made "fetched in this
/// epoch" the rule), RF3:
/// 1. Epoch 0: 1 leads, m0 is committed. 3 fetches m1 (acks=1) and reports LEO 2; 2, cut off
///    from 1, does not.
/// 2. Epoch 1: 1 is cut off; 2 is elected; 3 truncates m1 (LEO 1) and is then cut off from 2.
///    1 returns, truncates m1, rejoins the ISR and fetches l1@1, l2@2 from 2 (HW stays 1: 3 is
///    an ISR member at LEO 1).
/// 3. Epoch 2: 2 is cut off; 1 is elected and counts 3's LEO 2 from epoch 0: HW 2 passes l1@1,
///    which 3, in the ISR, lacks.
/// 4. Epoch 3: 1 dies before 3 fetched from it; 3 is elected without l1, which epoch 2
///    committed.
///
/// The modern rule waits for 3's first fetch in epoch 2, so 1's HW stays 1.
#[test]
fn re_elected_leader_counting_a_stale_follower_leo_commits_what_the_follower_lacks() {
    compare_switch(
        remembered_leo_story,
        config(Protocol::default(), 1, 120_000),
        Protocol {
            hw_requires_current_epoch: false,
            ..Protocol::default()
        },
        &[
            "strong ISR: broker 3, in the ISR [1, 3], holds nothing at offset 1 where leader 1 of epoch 2 holds l1 (epoch 1) below its HW 2",
            "leader completeness: leader 3 of epoch 3 holds nothing at offset 1, where the leader of epoch 2 had committed l1 (epoch 1)",
        ],
        |c| assert_eq!(c.checker.as_ref().unwrap().committed[&2].len(), 2),
        |c| assert_eq!(c.checker.as_ref().unwrap().committed[&2].len(), 1),
    );
}

// ------------------------------------------------------------------------------ 6

fn epoch_start_story(cfg: BrokerConfig) -> Cluster {
    let (a, b, cc) = (1, 2, 3);
    let mut c = Cluster::checked(cfg, 3);
    c.isolate(cc);
    c.run_until(3000, |c| c.state().isr == vec![1, 2]);
    // 1 acknowledges m1 once 2 fetched it, and dies before 2 hears HW 1.
    let m1 = c.produce(Acks::All, &["m1"]);
    c.step_until(1000, |c| c.results.contains_key(&m1));
    assert_eq!(c.results[&m1], Ok(0));
    assert_eq!((c.log(b).leo(), c.log(b).hw()), (1, 0));
    c.crash(a, false);
    c.run_until(15_000, |c| leads(c, b, 1));
    assert_eq!(
        c.log(b).hw(),
        0,
        "ISR {{2}} below min.insync.replicas freezes the HW"
    );
    // cc (empty) follows b; b's answers to it are held back.
    c.hold("to-cc", move |m| response(m, node(b), node(cc), fetch_resp));
    c.heal(cc);
    c.run(3000);
    c.crash(b, false);
    c.run(15_000);
    finish(c)
}

/// KAFKA-7128 (Kafka 2.1), RF3, min.insync.replicas=2:
/// 1. Epoch 0: 1 leads with ISR {1,2} (3 is cut off and out). 2 fetches m1, 1 acknowledges it
///    with HW 1 and dies before 2 hears HW 1.
/// 2. Epoch 1: 2 leads with the stale HW 0 (ISR {2}). 3 (empty) returns and fetches from 2
///    (the answers are delayed): the old rule sees LEO 0 >= HW 0 and adds it, ISR {2,3}.
/// 3. Epoch 2: 2 dies before 3 got m1; 3 is elected: the acknowledged m1@0 is lost.
///
/// The modern rule also waits for 3 to reach the start of epoch 1 (offset 1): 3 stays out,
/// the partition stays offline until 1 and 2 come back, and m1 survives.
#[test]
fn replica_joining_the_isr_at_a_new_leaders_stale_hw_loses_an_acked_write() {
    compare_switch(
        epoch_start_story,
        config(Protocol::default(), 2, 1000),
        Protocol {
            isr_expand_requires_epoch_start: false,
            ..Protocol::default()
        },
        &[
            "acked-write durability: m1@0 was acknowledged, but leader 3 of epoch 2 holds nothing there",
            "leader completeness: leader 3 of epoch 2 holds nothing at offset 0, where the leader of epoch 0 had committed m1 (epoch 0)",
            "acked-write durability: m1@0 was acknowledged, but the final leader 3 of epoch 2 has HW 0",
        ],
        |c| assert!(noted(c, &Note::IsrChanged { partition: P, isr: vec![2, 3], partition_epoch: 3 })),
        |c| {
            let elected_3 = Note::Elected { partition: P, leader: Some(3), leader_epoch: 2, unclean: false, isr: vec![3] };
            assert!(!noted(c, &elected_3));
            assert_eq!(c.values(3), vals(0, &["m1"]));
        },
    );
}

// ------------------------------------------------------------------------------ 7

fn maximal_isr_story(cfg: BrokerConfig) -> Cluster {
    let (a, b, cc) = (1, 2, 3);
    let mut c = Cluster::checked(cfg, 3);
    c.isolate(cc);
    c.run_until(3000, |c| c.state().isr == vec![1, 2]);
    // cc returns, is caught up, and a's request to add it is delayed.
    c.hold("expand", move |m| request(m, node(a), CTL, alter_req));
    c.heal(cc);
    c.run_until(3000, |c| c.held_by("expand") == 1);
    c.hold("cc-fetch", move |m| {
        request(m, node(cc), node(a), fetch_req) || response(m, node(a), node(cc), fetch_resp)
    });
    c.produce(Acks::All, &["m1", "m2"]);
    c.run(500);
    c.lift("expand");
    c.deliver_all();
    c.crash(a, false);
    c.crash(b, false);
    c.run(15_000);
    finish(c)
}

/// KIP-497 (Kafka 2.7), RF3:
/// 1. 1 leads with ISR {1,2}; 3 returns, catches up (LEO 0 = HW 0) and 1 sends the
///    AlterPartition that adds it, which is delayed. 3's fetches stall from here on.
/// 2. 1 takes m1, m2 (acks=all) and 2 fetches them: the old rule computes the HW over {1,2}
///    only, HW 2, acknowledged.
/// 3. The controller applies ISR {1,2,3}, with 3 still empty below HW 2.
/// 4. 1 and 2 die; 3 is elected: m1, m2 are lost.
///
/// The modern rule computes the HW over the maximal ISR {1,2,3} and waits for 3: nothing is
/// acknowledged.
#[test]
fn hw_over_the_committed_isr_passes_a_replica_whose_addition_is_in_flight() {
    compare_switch(
        maximal_isr_story,
        config(Protocol::default(), 1, 1000),
        Protocol {
            hw_over_maximal_isr: false,
            ..Protocol::default()
        },
        &[
            "strong ISR: broker 3, in the ISR [1, 2, 3], holds nothing at offset 0 where leader 1 of epoch 0 holds m1 (epoch 0) below its HW 2",
            "acked-write durability: m1@0 was acknowledged, but leader 3 of epoch 2 holds nothing there",
            "acked-write durability: m2@1 was acknowledged, but the final leader 3 of epoch 2 has HW 0",
        ],
        |c| assert_eq!(acked_writes(c).len(), 2),
        |c| {
            assert!(acked_writes(c).is_empty());
            assert!(leads(c, 3, 2), "3 was elected all the same");
        },
    );
}

// ------------------------------------------------------------------------------ 8

fn last_replica_story(cfg: BrokerConfig) -> Cluster {
    let (a, b, cc) = (1, 2, 3);
    let mut c = Cluster::checked(cfg, 3);
    c.isolate(a);
    c.run_until(15_000, |c| leads(c, b, 1));
    assert_eq!(c.produce_settled(Acks::All, &["m1"]), Some(Ok(0)));
    c.run(200);
    c.isolate(cc);
    c.run_until(3000, |c| c.state().isr == vec![b]);
    c.crash(b, true);
    c.heal(a);
    c.heal(cc);
    c.restart(b);
    c.run(20_000);
    finish(c)
}

/// KIP-966 (Kafka 4.0), the last replica standing, RF3, min.insync.replicas=2:
/// 1. Epoch 1: 1 is cut off and fenced; 2 leads with ISR {2,3}; m1@0 is acknowledged.
/// 2. 3 is cut off: 2 shrinks the ISR to {2}.
/// 3. 2 loses power, and m1 with it (never flushed). Everyone comes back.
/// 4. The old rule kept 2 in the ISR as its last member and re-elects it (epoch 3) with an
///    empty log; 1 and 3 follow and truncate m1: lost.
///
/// The modern rule put 3 in the ELR when the ISR fell below 2, took 2 out of the ISR when it
/// was fenced and out of the ELR when it registered after an unclean shutdown: 3 is elected
/// and m1 survives.
#[test]
fn last_isr_member_re_elected_after_a_power_loss_loses_an_acked_write() {
    compare_switch(
        last_replica_story,
        config(Protocol::default(), 2, 1000),
        Protocol {
            strict_min_isr: false,
            ..Protocol::default()
        },
        &[
            "acked-write durability: m1@0 was acknowledged, but leader 2 of epoch 3 holds nothing there",
            "leader completeness: leader 2 of epoch 3 holds nothing at offset 0, where the leader of epoch 1 had committed m1 (epoch 1)",
            "acked-write durability: m1@0 was acknowledged, but the final leader 2 of epoch 3 has HW 0",
        ],
        |c| assert!(c.values(3).is_empty()),
        |c| {
            assert_eq!(c.state().leader, Some(3));
            assert!((1..=3).all(|b| c.values(b) == vals(1, &["m1"])));
        },
    );
}

// ------------------------------------------------------------------------------ 9

fn broker_epoch_story(cfg: BrokerConfig) -> Cluster {
    let (a, b, cc) = (1, 2, 3);
    let mut c = Cluster::checked(cfg, 3);
    c.isolate(b);
    c.isolate(cc);
    c.run_until(3000, |c| c.state().isr == vec![a]);
    assert_eq!(
        c.produce_settled(Acks::All, &["m0", "m1", "m2"]),
        Some(Ok(0))
    );
    // b returns and catches up; a's request to add it is delayed.
    c.hold("expand", move |m| request(m, node(a), CTL, alter_req));
    c.heal(b);
    c.run_until(5000, |c| c.held_by("expand") == 1);
    assert_eq!(c.log(b).leo(), 3);
    // b loses power, is fenced, restarts with a new broker epoch; it cannot fetch from a.
    let old_epoch = c.broker(b).broker_epoch;
    c.cut(node(a), node(b));
    c.crash(b, true);
    c.run_until(15_000, |c| c.ctl.is_fenced(b));
    c.restart(b);
    c.run_until(15_000, |c| {
        c.broker(b).broker_epoch > old_epoch && !c.ctl.is_fenced(b)
    });
    c.lift("expand");
    c.deliver_all(); // no tick: a has no time to shrink the ISR again
    c.crash(a, false);
    c.run(15_000);
    finish(c)
}

/// KIP-903 (Kafka 3.5), RF3:
/// 1. 1 leads alone (ISR {1}) and acknowledges m0..m2.
/// 2. 2 returns and catches up under its broker epoch e; 1 asks to add it, and the
///    AlterPartition is delayed.
/// 3. 2 loses power (empty log), is fenced, restarts and registers with a new broker epoch,
///    and is unfenced.
/// 4. The delayed request arrives: the old rule checks only that 2 is unfenced, ISR {1,2},
///    with 2 empty below HW 3.
/// 5. 1 dies; 2 is elected with an empty log: m0..m2 are lost.
///
/// The modern rule answers INELIGIBLE_REPLICA (2's broker epoch is no longer e).
#[test]
fn isr_addition_from_a_fetch_before_a_restart_readmits_a_replica_that_lost_its_log() {
    compare_switch(
        broker_epoch_story,
        config(Protocol::default(), 1, 1000),
        Protocol {
            isr_add_checks_broker_epoch: false,
            ..Protocol::default()
        },
        &[
            "strong ISR: broker 2, in the ISR [1, 2], holds nothing at offset 0 where leader 1 of epoch 0 holds m0 (epoch 0) below its HW 3",
            "acked-write durability: m0@0 was acknowledged, but leader 2 of epoch 1 holds nothing there",
            "acked-write durability: m2@2 was acknowledged, but the final leader 2 of epoch 1 has HW 0",
        ],
        |c| assert!(c.values(2).is_empty()),
        |c| {
            assert!(delivered(c, |from, to, m| {
                from == CTL
                    && to == node(1)
                    && matches!(m, Message::Response(r) if r.error() == Some(ErrorCode::IneligibleReplica))
            }));
            assert_eq!(c.values(2), vals(0, &["m0", "m1", "m2"]));
        },
    );
}

// ------------------------------------------------------------------------------ Kafka 0.8

fn jepsen_story(cfg: BrokerConfig) -> Cluster {
    let (a, b, cc) = (1, 2, 3);
    let mut c = Cluster::checked(cfg, 3);
    assert_eq!(c.produce_settled(Acks::All, &["m0"]), Some(Ok(0)));
    c.run(200);
    c.cut(node(a), node(b));
    c.cut(node(a), node(cc));
    c.run_until(3000, |c| c.state().isr == vec![a]);
    for v in ["m1", "m2", "m3"] {
        c.produce_settled(Acks::All, &[v]);
    }
    c.cut(node(a), CTL);
    c.run(15_000);
    finish(c)
}

/// Jepsen's analysis of Kafka 0.8 (Kingsbury, 2013), RF3. Old: `Protocol::kafka_0_8()`,
/// min.insync.replicas=1, unclean leader election on. Modern: `Protocol::default()`,
/// min.insync.replicas=2, unclean leader election off.
/// 1. Leader 1 has m0 on every replica; it is cut off from 2 and 3 but not from the
///    controller: the ISR shrinks to {1}.
/// 2. The old leader keeps acknowledging acks=all alone: m1@1, m2@2, m3@3.
/// 3. 1 is cut off from the controller too and fenced; no live ISR member is left, and 2, out
///    of sync, is elected uncleanly: m1..m3 are lost.
///
/// The modern configuration answers NOT_ENOUGH_REPLICAS to m1..m3, keeps 2 and 3 as eligible
/// leader replicas when the ISR shrinks, and elects 2 cleanly from them.
#[test]
fn kafka_0_8_isr_of_the_leader_alone_acks_writes_that_an_unclean_election_loses() {
    compare(
        jepsen_story,
        BrokerConfig {
            unclean_leader_election_enable: true,
            ..config(Protocol::kafka_0_8(), 1, 1000)
        },
        config(Protocol::default(), 2, 1000),
        &[
            "acked-write durability: m1@1 was acknowledged, but leader 2 of epoch 1 holds nothing there",
            "leader completeness: leader 2 of epoch 1 holds nothing at offset 1, where the leader of epoch 0 had committed m1 (epoch 0)",
            "acked-write durability: m3@3 was acknowledged, but the final leader 2 of epoch 1 has HW 1",
        ],
        |c| {
            let unclean = Note::Elected { partition: P, leader: Some(2), leader_epoch: 1, unclean: true, isr: vec![2] };
            assert!(noted(c, &unclean));
        },
        |c| {
            let refused = (2..=4).all(|corr| c.results[&corr] == Err(ErrorCode::NotEnoughReplicas));
            assert!(refused, "{:?}", c.results);
            let clean = Note::Elected { partition: P, leader: Some(2), leader_epoch: 1, unclean: false, isr: vec![2] };
            assert!(noted(c, &clean));
        },
    );
}

// ------------------------------------------------------------------------------ KIP-966 recovery

fn every_isr_member_restarts_story(cfg: BrokerConfig) -> Cluster {
    let mut c = Cluster::checked(cfg, 3);
    assert_eq!(c.produce_settled(Acks::All, &["m0"]), Some(Ok(0)));
    c.run(200);
    // 1 crashes (its page cache survives): 2 leads with ISR {2,3}.
    c.crash(1, false);
    c.run_until(15_000, |c| leads(c, 2, 1));
    // 3 crashes too and comes back cut off from 2: out of the ISR and, after its unclean
    // shutdown, out of the ELR; it still holds m0.
    c.cut(node(3), node(2));
    c.crash(3, false);
    c.run_until(15_000, |c| c.state().isr == vec![2]);
    c.restart(3);
    c.run_until(15_000, |c| !c.ctl.is_fenced(3));
    // 2, the last ISR member, loses power and with it m0 (never flushed).
    c.crash(2, true);
    c.restart(2);
    c.restart(1);
    c.mend(node(3), node(2));
    c.run(20_000);
    finish(c)
}

/// KIP-966's recovery when every ISR member restarted after an unclean shutdown, RF3,
/// min.insync.replicas=2: 1 and 3 crash (keeping their page caches), 2 is the last ISR member
/// and loses power. Before KIP-966, 2 stays in the ISR and is re-elected with an empty log: the
/// acknowledged m0 is lost although 1 and 3 hold it. With it, 2 leaves the ISR and the ELR when
/// it registers; with no ISR or ELR member left the controller waits for the last known ELR
/// (3, which left the ELR when it restarted, and 2) and elects the one with the longest log, 3,
/// and m0 survives. 1 left the ISR while it still had two members: it is no candidate.
#[test]
fn recovery_elects_the_longest_log_when_every_isr_member_restarted_uncleanly() {
    compare_switch(
        every_isr_member_restarts_story,
        config(Protocol::default(), 2, 60_000),
        Protocol {
            strict_min_isr: false,
            ..Protocol::default()
        },
        &["acked-write durability: m0@0 was acknowledged, but the final leader 2 of epoch 3 has HW 0"],
        |c| assert_eq!(c.state().leader, Some(2)),
        |c| {
            let recovered = c.notes.iter().any(|(_, n)| {
                matches!(n, Note::Recovered { partition: P, leader: 3, candidates } if candidates.len() == 2)
            });
            assert!(recovered, "{:?}", c.notes);
            assert_eq!(c.values(3), vals(0, &["m0"]));
        },
    );
}
