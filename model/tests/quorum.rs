//! Stories for the controller quorum's Raft core (`ksim_model::quorum`) alone, without madsim:
//! elections, commitment, crashes and partitions, a proptest over random fault schedules, and
//! one test per planted flaw showing that `QuorumObserver` catches it.
//!
//! `Net` is a tiny deterministic network: voters ticked every 10 ms, messages delivered after a
//! random delay (so reordered), dropped at a given rate or on cut links, crash = drop the node,
//! restart = `QuorumNode::new` from the disk the harness keeps by applying `persist` ops. The
//! observer runs after every step; a new leader proposes a no-op at once, as the integrator must.

use std::collections::BTreeMap;

use ksim_model::quorum::*;
use ksim_model::SelfTest;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod quorum_net;

use quorum_net::story::QuorumStory;
use quorum_net::*;

// ------------------------------------------------------------------------------ stories

/// The step-by-step stories, told as data in `model/testdata/quorum/` (see `quorum_net/story.rs`;
/// `REWRITE=1` rewrites them after a deliberate change).
#[test]
fn stories() {
    let mut commands = 0;
    datadriven::walk("testdata/quorum", |f| {
        let mut story = QuorumStory::default();
        f.run(|tc| {
            commands += 1;
            story.command(tc)
        });
    });
    // A missing or empty folder would pass without telling a story.
    assert!(commands > 30, "only {commands} commands in testdata/quorum");
}

#[test]
fn a_follower_refuses_a_proposal_and_names_the_leader() {
    let mut net = Net::three(2);
    net.run_for(3_000);
    let leader = net.leader().expect("a leader");
    let follower = [1, 2, 3]
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower");
    let ready = net.step(follower, QuorumInput::Propose(Cmd::Put(99)));
    assert_eq!(
        ready.proposed,
        Some(Err(Some(leader))),
        "the follower points at the leader"
    );
    assert!(
        ready.persist.is_empty(),
        "a refused proposal writes nothing"
    );
}

#[test]
fn a_vote_is_persisted_in_the_ready_that_sends_it() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut node: QuorumNode<Cmd> = QuorumNode::new(
        1,
        QuorumConfig::new(vec![1, 2, 3]),
        Persistent::default(),
        0,
        &mut rng,
    );
    let ask = |candidate| QuorumInput::Message {
        from: candidate,
        msg: RaftMessage::RequestVote {
            term: 5,
            candidate,
            last_log_index: 0,
            last_log_term: 0,
        },
    };
    let ready = node.step(10, ask(2), &mut rng);
    assert_eq!(
        ready.persist,
        vec![PersistOp::SetTermVote {
            term: 5,
            voted_for: Some(2)
        }],
        "term and vote in one write"
    );
    assert_eq!(
        ready.sends,
        vec![(
            2,
            RaftMessage::Vote {
                term: 5,
                granted: true
            }
        )],
        "the vote leaves with it"
    );
    // A restart from that write remembers the vote: no second vote in term 5.
    let persisted = Persistent {
        term: 5,
        voted_for: Some(2),
        log: Vec::new(),
    };
    let mut restarted: QuorumNode<Cmd> =
        QuorumNode::new(1, QuorumConfig::new(vec![1, 2, 3]), persisted, 20, &mut rng);
    let ready = restarted.step(30, ask(3), &mut rng);
    assert_eq!(
        ready.sends,
        vec![(
            3,
            RaftMessage::Vote {
                term: 5,
                granted: false
            }
        )],
        "one vote per term, across restarts"
    );
    assert!(ready.persist.is_empty(), "nothing changed");
}

#[test]
fn a_stale_candidate_with_a_shorter_log_gets_no_vote() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let log = vec![Entry {
        term: 2,
        index: 1,
        payload: Cmd::NoOp,
    }];
    let persisted = Persistent {
        term: 2,
        voted_for: None,
        log,
    };
    let mut node: QuorumNode<Cmd> =
        QuorumNode::new(1, QuorumConfig::new(vec![1, 2, 3]), persisted, 0, &mut rng);
    let msg = RaftMessage::RequestVote {
        term: 3,
        candidate: 2,
        last_log_index: 5,
        last_log_term: 1,
    };
    let ready = node.step(10, QuorumInput::Message { from: 2, msg }, &mut rng);
    assert_eq!(
        ready.sends,
        vec![(
            2,
            RaftMessage::Vote {
                term: 3,
                granted: false
            }
        )],
        "last term 1 < 2: not up to date"
    );
    assert_eq!(
        ready.persist,
        vec![PersistOp::SetTermVote {
            term: 3,
            voted_for: None
        }],
        "the higher term is adopted"
    );
}

// ------------------------------------------------------------------------------ random faults

/// A crash of voter `node % n` at `at_ms`, back after `down_ms`.
#[derive(Clone, Debug)]
struct Crash {
    node: u32,
    at_ms: u64,
    down_ms: u64,
}

const FAULT_PHASE_MS: u64 = 20_000;
/// After faults stop: a leader and a commit on every voter within this bound (over 1000 cases
/// the slowest recovery took 2.4 s: a few election rounds).
const LIVENESS_BOUND_MS: u64 = 10_000;
const STEP_MS: u64 = 100;

/// Run a fault phase (drops, crashes, proposals every 300 ms), then heal everything and
/// return how long it took until a value proposed after the heal was applied on every voter.
fn run_with_faults(net: &mut Net, crashes: &[Crash]) -> Option<u64> {
    let n = net.cfg.voters.len() as u32;
    let mut restarts: Vec<(u64, NodeIndex)> = Vec::new();
    while net.now_ms < FAULT_PHASE_MS {
        let now = net.now_ms;
        for c in crashes
            .iter()
            .filter(|c| c.at_ms >= now && c.at_ms < now + STEP_MS)
        {
            let id = net.cfg.voters[(c.node % n) as usize];
            if net.nodes[&id].is_some() {
                net.crash(id);
                restarts.push((c.at_ms + c.down_ms, id));
            }
        }
        restarts.retain(|(at, id)| {
            let due = *at < now + STEP_MS;
            if due {
                net.restart(*id);
            }
            !due
        });
        if now.is_multiple_of(300) {
            net.propose();
        }
        net.run_for(STEP_MS);
    }
    heal_and_wait_for_commit(net)
}

fn heal_and_wait_for_commit(net: &mut Net) -> Option<u64> {
    net.heal();
    for id in net.cfg.voters.clone() {
        if net.nodes[&id].is_none() {
            net.restart(id);
        }
    }
    let healed_ms = net.now_ms;
    let mut markers: BTreeMap<Term, u64> = BTreeMap::new();
    while net.now_ms < healed_ms + LIVENESS_BOUND_MS {
        net.run_for(STEP_MS);
        if let Some(leader) = net.leader() {
            let term = net.node(leader).term();
            markers.entry(term).or_insert_with(|| {
                let (value, _) = net.propose().expect("accepted");
                value
            });
        }
        let voters = net.cfg.voters.clone();
        if markers
            .values()
            .any(|v| voters.iter().all(|id| net.has_applied(*id, *v)))
        {
            return Some(net.now_ms - healed_ms);
        }
    }
    None
}

fn crash_strategy() -> impl Strategy<Value = Vec<Crash>> {
    let crash =
        (0..5u32, 0..FAULT_PHASE_MS, 50..5_000u64).prop_map(|(node, at_ms, down_ms)| Crash {
            node,
            at_ms,
            down_ms,
        });
    prop::collection::vec(crash, 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(64) })]

    #[test]
    fn random_faults_keep_the_quorum_safe_and_live(
        seed in any::<u64>(),
        five in any::<bool>(),
        drop_rate in 0.0..0.3f64,
        crashes in crash_strategy(),
    ) {
        let voters = if five { vec![1, 2, 3, 4, 5] } else { vec![1, 2, 3] };
        let mut net = Net::new(seed, QuorumConfig::new(voters));
        net.drop_rate = drop_rate;
        net.delay_ms = (1, 50);
        let recovered = run_with_faults(&mut net, &crashes);
        prop_assert!(net.violations.is_empty(), "violations: {:#?}", net.violations);
        prop_assert!(recovered.is_some(), "no commit on every voter within {LIVENESS_BOUND_MS} ms of healing");
        prop_assert!(net.observer.checks() > 0);
        net.run_for(2_000);
        net.assert_converged();
    }
}

// ------------------------------------------------------------------------------ planted flaws

/// A stormy run for flaw hunting: 3 voters, slow lossy links, a crash every ~half second with
/// short downtimes, a quick restart after a third of the granted votes, proposals every
/// 100 ms. Stops at the first violation.
fn stormy_run(seed: u64, flaw: QuorumFlaw) -> Vec<String> {
    let selftest = SelfTest {
        quorum_flaw: flaw,
        ..SelfTest::default()
    };
    let mut net = Net::planted(seed, QuorumConfig::new(vec![1, 2, 3]), selftest);
    net.drop_rate = 0.05;
    net.delay_ms = (1, 150);
    net.restart_after_vote = 0.3;
    let mut storm = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(31));
    let mut restarts: Vec<(u64, NodeIndex)> = Vec::new();
    while net.now_ms < 15_000 && net.violations.is_empty() {
        let now = net.now_ms;
        if storm.gen_bool(0.2) {
            let id = storm.gen_range(1..=3);
            if net.nodes[&id].is_some() {
                net.crash(id);
                restarts.push((now + storm.gen_range(10..300), id));
            }
        }
        restarts.retain(|(at, id)| {
            let due = *at <= now;
            if due {
                net.restart(*id);
            }
            !due
        });
        net.propose();
        net.run_for(STEP_MS);
    }
    net.violations
}

/// Search seeds 1..=`seeds` for a run where the observer reports `invariant`; the first seed.
fn find_violation(flaw: QuorumFlaw, invariant: &str, seeds: u64) -> Option<(u64, String)> {
    for seed in 1..=seeds {
        if let Some(v) = stormy_run(seed, flaw)
            .into_iter()
            .find(|v| v.starts_with(invariant))
        {
            println!("{flaw:?}: seed {seed}: {v}");
            return Some((seed, v));
        }
    }
    None
}

#[test]
fn double_vote_is_caught_as_two_leaders_in_one_term() {
    let found = find_violation(QuorumFlaw::DoubleVote, "SingleLeader", 300);
    assert!(
        found.is_some(),
        "no seed in 1..=300 showed two leaders in one term"
    );
}

#[test]
fn commit_without_majority_is_caught() {
    let found = find_violation(QuorumFlaw::CommitWithoutMajority, "MajorityCommitted", 300);
    assert!(
        found.is_some(),
        "no seed in 1..=300 showed an entry committed without a majority"
    );
}

#[test]
fn forgetting_the_vote_on_restart_is_caught_as_two_leaders_in_one_term() {
    let found = find_violation(QuorumFlaw::ForgetVoteOnRestart, "SingleLeader", 300);
    assert!(
        found.is_some(),
        "no seed in 1..=300 showed two leaders in one term"
    );
}

#[test]
fn the_flawless_protocol_survives_the_same_storms() {
    for seed in 1..=20 {
        let violations = stormy_run(seed, QuorumFlaw::None);
        assert!(violations.is_empty(), "seed {seed}: {violations:#?}");
    }
}

// ------------------------------------------------------------------------------ the observer alone

fn follower(id: NodeIndex, log: Vec<Entry<Cmd>>, rng: &mut ChaCha8Rng) -> QuorumNode<Cmd> {
    let persisted = Persistent {
        term: 1,
        voted_for: None,
        log,
    };
    QuorumNode::new(id, QuorumConfig::new(vec![1, 2, 3]), persisted, 0, rng)
}

/// Node 2, leader of term 1, tells `node` that index 1 is committed.
fn commit_first(node: &mut QuorumNode<Cmd>, rng: &mut ChaCha8Rng) {
    let msg = RaftMessage::Append {
        term: 1,
        leader: 2,
        prev_index: 1,
        prev_term: 1,
        entries: Vec::new(),
        leader_commit: 1,
    };
    let ready = node.step(10, QuorumInput::Message { from: 2, msg }, rng);
    assert_eq!(ready.committed.len(), 1, "index 1 committed");
}

#[test]
fn observer_reports_two_different_entries_committed_at_one_index() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut a = follower(
        1,
        vec![Entry {
            term: 1,
            index: 1,
            payload: Cmd::Put(1),
        }],
        &mut rng,
    );
    let mut b = follower(
        3,
        vec![Entry {
            term: 1,
            index: 1,
            payload: Cmd::Put(2),
        }],
        &mut rng,
    );
    let mut observer = QuorumObserver::new();
    commit_first(&mut a, &mut rng);
    commit_first(&mut b, &mut rng);
    let found = observer.observe(&[&a, &b]);
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("ConsistentCommittedData")),
        "{found:#?}"
    );
    assert!(
        found.iter().any(|v| v.starts_with("MajorityCommitted")),
        "one holder each: {found:#?}"
    );
    assert!(
        observer.observe(&[&a, &b]).is_empty(),
        "each violation is reported once"
    );
}

#[test]
fn observer_reports_a_commit_index_going_back_within_an_incarnation() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let mut a = follower(
        1,
        vec![Entry {
            term: 1,
            index: 1,
            payload: Cmd::Put(1),
        }],
        &mut rng,
    );
    let before = a.clone();
    commit_first(&mut a, &mut rng);
    let mut observer = QuorumObserver::new();
    observer.observe(&[&a]);
    let found = observer.observe(&[&before]);
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("MonotonicHighWatermark")),
        "{found:#?}"
    );
    // A restart (new incarnation) legitimately starts from commit index 0.
    let restarted = follower(1, a.log().to_vec(), &mut rng);
    let mut observer = QuorumObserver::new();
    observer.observe(&[&a]);
    assert!(
        observer
            .observe(&[&restarted])
            .iter()
            .all(|v| !v.starts_with("MonotonicHighWatermark")),
        "a restart is no regression"
    );
}

#[test]
fn observer_reports_a_term_going_back() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let newer: QuorumNode<Cmd> = QuorumNode::new(
        1,
        QuorumConfig::new(vec![1, 2, 3]),
        Persistent {
            term: 5,
            ..Persistent::default()
        },
        0,
        &mut rng,
    );
    let older: QuorumNode<Cmd> = QuorumNode::new(
        1,
        QuorumConfig::new(vec![1, 2, 3]),
        Persistent {
            term: 3,
            ..Persistent::default()
        },
        0,
        &mut rng,
    );
    let mut observer = QuorumObserver::new();
    assert!(observer.observe(&[&newer]).is_empty(), "nothing wrong yet");
    let found = observer.observe(&[&older]);
    assert_eq!(
        found,
        vec!["MonotonicEpoch: node 1's term went from 5 back to 3".to_string()]
    );
}
