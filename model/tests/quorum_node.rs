//! One Raft node driven by hand: the test writes every message and tick time, and reads what
//! the node sends (`sends`), writes (`persist`) and commits (`committed`). Unlike the random
//! network of `tests/quorum.rs`, every deadline here is exact, so each test pins one rule of
//! Raft (and of KRaft's controller quorum) to the millisecond.
//!
//! Randomness: `low()` is a `StepRng` that always yields 0, so every election timeout is drawn
//! at its shortest, exactly `T`: a node reset at `now` times out at `now + T`.

use ksim_model::quorum::*;
use ksim_model::SelfTest;
use rand::rngs::mock::StepRng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Election timeout and heartbeat interval of every test config.
const T: u64 = 1_000;
const HB: u64 = 300;

type Node = QuorumNode<u32>;
type Ready = QuorumReady<u32>;
type Msg = RaftMessage<u32>;

// ------------------------------------------------------------------------------ helpers

fn cfg(voters: &[NodeIndex]) -> QuorumConfig {
    QuorumConfig {
        voters: voters.to_vec(),
        election_timeout_ms: T,
        heartbeat_interval_ms: HB,
        eager_commit: false,
        looking_timeout_ms: None,
        pipeline: false,
    }
}

/// Draws every timeout at its shortest (and every incarnation as 0).
fn low() -> StepRng {
    StepRng::new(0, 0)
}

/// An entry whose payload is its index, so proposals of `i` at index `i` compare equal.
fn e(term: Term, index: u64) -> Entry<u32> {
    Entry {
        term,
        index,
        payload: index as u32,
    }
}

fn log_of(term: Term, n: u64) -> Vec<Entry<u32>> {
    (1..=n).map(|i| e(term, i)).collect()
}

fn disk(term: Term, log: Vec<Entry<u32>>) -> Persistent<u32> {
    Persistent {
        term,
        voted_for: None,
        log,
    }
}

/// Node `id` of `voters`, started at time 0 from `persisted`: its deadline is `T`.
fn start(id: NodeIndex, voters: &[NodeIndex], persisted: Persistent<u32>) -> Node {
    QuorumNode::new(id, cfg(voters), persisted, 0, &mut low())
}

fn tick(n: &mut Node, now: u64) -> Ready {
    n.step(now, QuorumInput::Tick, &mut low())
}

fn deliver(n: &mut Node, now: u64, from: NodeIndex, msg: Msg) -> Ready {
    n.step(now, QuorumInput::Message { from, msg }, &mut low())
}

fn propose(n: &mut Node, now: u64, payload: u32) -> Ready {
    n.step(now, QuorumInput::Propose(payload), &mut low())
}

fn vote_request(term: Term, candidate: NodeIndex, last_index: u64, last_term: Term) -> Msg {
    RaftMessage::RequestVote {
        term,
        candidate,
        last_log_index: last_index,
        last_log_term: last_term,
    }
}

fn grant(term: Term) -> Msg {
    RaftMessage::Vote {
        term,
        granted: true,
    }
}

fn append(term: Term, leader: NodeIndex, prev: (u64, Term), entries: Vec<Entry<u32>>) -> Msg {
    append_committing(term, leader, prev, entries, 0)
}

fn append_committing(
    term: Term,
    leader: NodeIndex,
    prev: (u64, Term),
    entries: Vec<Entry<u32>>,
    leader_commit: u64,
) -> Msg {
    RaftMessage::Append {
        term,
        leader,
        prev_index: prev.0,
        prev_term: prev.1,
        entries,
        leader_commit,
    }
}

fn append_result(term: Term, success: bool, match_index: u64) -> Msg {
    RaftMessage::AppendResult {
        term,
        success,
        match_index,
    }
}

/// Who got a RequestVote in `r`, and for which term.
fn vote_requests(r: &Ready) -> Vec<(NodeIndex, Term)> {
    r.sends
        .iter()
        .filter(|(_, m)| matches!(m, RaftMessage::RequestVote { .. }))
        .map(|(to, m)| (*to, m.term()))
        .collect()
}

/// Who got an Append in `r`.
fn appends_to(r: &Ready) -> Vec<NodeIndex> {
    r.sends
        .iter()
        .filter(|(_, m)| matches!(m, RaftMessage::Append { .. }))
        .map(|(to, _)| *to)
        .collect()
}

fn nothing(r: &Ready) -> bool {
    r.sends.is_empty() && r.persist.is_empty() && r.committed.is_empty()
}

/// Node 1 of [1, 2, 3], started from `persisted` (term below 2), made leader of term
/// `persisted.term + 1` at time `T` by node 2's vote. Returns the node and its announcement.
fn leader_from(persisted: Persistent<u32>) -> (Node, Ready) {
    let mut n = start(1, &[1, 2, 3], persisted);
    tick(&mut n, T);
    let term = n.term();
    let r = deliver(&mut n, T, 2, grant(term));
    assert_eq!(n.role(), Role::Leader);
    (n, r)
}

// ------------------------------------------------------------------------------ configuration

#[test]
#[should_panic(expected = "a quorum needs at least one voter")]
fn a_config_without_voters_is_refused() {
    // Checked before "node 1 is not a voter", which would also fire.
    start(1, &[], Persistent::default());
}

#[test]
#[should_panic(expected = "voters are distinct")]
fn a_config_naming_a_voter_twice_is_refused() {
    // A repeated voter would count twice towards every majority.
    start(1, &[1, 2, 2], Persistent::default());
}

#[test]
#[should_panic(expected = "the election timeout must be positive")]
fn a_config_with_a_zero_election_timeout_is_refused() {
    let c = QuorumConfig {
        election_timeout_ms: 0,
        heartbeat_interval_ms: 1,
        ..cfg(&[1])
    };
    QuorumNode::<u32>::new(1, c, Persistent::default(), 0, &mut low());
}

#[test]
#[should_panic(expected = "the heartbeat interval must be positive")]
fn a_config_with_a_zero_heartbeat_interval_is_refused() {
    let c = QuorumConfig {
        heartbeat_interval_ms: 0,
        ..cfg(&[1])
    };
    QuorumNode::<u32>::new(1, c, Persistent::default(), 0, &mut low());
}

#[test]
#[should_panic(expected = "heartbeats must be faster than elections")]
fn a_config_whose_heartbeat_is_not_faster_than_the_election_timeout_is_refused() {
    // With heartbeat == timeout a follower may time out just before each heartbeat arrives.
    let c = QuorumConfig {
        heartbeat_interval_ms: T,
        ..cfg(&[1])
    };
    QuorumNode::<u32>::new(1, c, Persistent::default(), 0, &mut low());
}

#[test]
#[should_panic(expected = "node 4 is not a voter")]
fn a_node_outside_the_voters_is_refused() {
    start(4, &[1, 2, 3], Persistent::default());
}

#[test]
fn the_defaults_are_kraft_s_and_a_majority_is_more_than_half() {
    let c = QuorumConfig::new(vec![1, 2, 3]);
    assert_eq!(
        (c.election_timeout_ms, c.heartbeat_interval_ms),
        (1_000, 500)
    );
    let majority = |n: u32| QuorumConfig::new((1..=n).collect()).majority();
    assert_eq!(
        [1, 2, 3, 4, 5].map(majority),
        [1, 2, 2, 3, 3],
        "n/2 + 1 voters"
    );
}

#[test]
fn message_kinds_have_their_names() {
    let names = [
        vote_request(1, 2, 0, 0),
        grant(1),
        append(1, 2, (0, 0), vec![]),
        append_result(1, true, 0),
    ]
    .map(|m| m.kind());
    assert_eq!(names, ["request_vote", "vote", "append", "append_result"]);
}

// ------------------------------------------------------------------------------ persisted state

#[test]
#[should_panic(expected = "persisted entry indexes are positions")]
fn a_persisted_log_with_a_gap_in_its_indexes_is_refused() {
    start(1, &[1], disk(1, vec![e(1, 1), e(1, 3)]));
}

#[test]
#[should_panic(expected = "persisted terms never decrease")]
fn a_persisted_log_whose_terms_go_back_is_refused() {
    start(1, &[1], disk(2, vec![e(2, 1), e(1, 2)]));
}

#[test]
#[should_panic(expected = "the persisted term covers the log")]
fn a_persisted_term_below_its_last_entry_s_term_is_refused() {
    start(1, &[1], disk(1, vec![e(2, 1)]));
}

// ------------------------------------------------------------------------------ elections

#[test]
fn a_follower_stands_for_election_exactly_at_its_deadline_with_the_next_term() {
    let mut n = start(1, &[1, 2, 3], Persistent::default());
    assert!(
        nothing(&tick(&mut n, T - 1)),
        "one ms early: still a follower"
    );
    let r = tick(&mut n, T);
    // The self-vote is written in the same step the requests leave in.
    let self_vote = PersistOp::SetTermVote {
        term: 1,
        voted_for: Some(1),
    };
    assert_eq!(r.persist, vec![self_vote]);
    assert_eq!(
        r.sends,
        vec![(2, vote_request(1, 1, 0, 0)), (3, vote_request(1, 1, 0, 0))]
    );
    assert_eq!(
        (n.role(), n.term(), n.voted_for()),
        (Role::Candidate, 1, Some(1))
    );
}

/// The first tick at which a fresh follower (rng `seed`) stands for election.
fn first_election_ms(seed: u64) -> u64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut n = QuorumNode::<u32>::new(1, cfg(&[1, 2, 3]), Persistent::default(), 0, &mut rng);
    (0..3 * T)
        .find(|now| !n.step(*now, QuorumInput::Tick, &mut rng).sends.is_empty())
        .expect("a follower that hears nothing stands for election")
}

#[test]
fn election_timeouts_are_drawn_from_timeout_up_to_twice_timeout() {
    let draws: Vec<u64> = (0..200).map(first_election_ms).collect();
    assert!(draws.iter().all(|d| (T..2 * T).contains(d)), "{draws:?}");
    // Spread over the whole range, so that split votes resolve.
    assert!(draws.iter().any(|d| *d < T + T / 4), "{draws:?}");
    assert!(draws.iter().any(|d| *d >= 2 * T - T / 4), "{draws:?}");
}

#[test]
fn the_longest_election_timeout_is_one_ms_short_of_twice_the_timeout() {
    // A step value just above (T-1)/T of 2^64 makes the uniform draw land on its top value.
    let top = ((((T - 1) as u128) << 64) / T as u128 + 1) as u64;
    let mut rng = StepRng::new(top, 0);
    let mut n = QuorumNode::<u32>::new(1, cfg(&[1, 2, 3]), Persistent::default(), 0, &mut rng);
    assert!(nothing(&n.step(2 * T - 2, QuorumInput::Tick, &mut rng)));
    let r = n.step(2 * T - 1, QuorumInput::Tick, &mut rng);
    assert_eq!(vote_requests(&r), vec![(2, 1), (3, 1)]);
}

/// Node 1 of five, candidate of term 1 since time `T` (so its deadline is `2T`), granted by 2.
fn candidate_of_five_granted_by_2() -> Node {
    let mut n = start(1, &[1, 2, 3, 4, 5], Persistent::default());
    let r = tick(&mut n, T);
    assert_eq!(vote_requests(&r), vec![(2, 1), (3, 1), (4, 1), (5, 1)]);
    deliver(&mut n, T + 100, 2, grant(1));
    assert_eq!(n.role(), Role::Candidate, "two of five votes do not elect");
    n
}

#[test]
fn a_candidate_asks_again_every_heartbeat_interval_only_the_voters_that_have_not_granted() {
    // Raft retries an unanswered RequestVote; node 2 already granted, so it is not asked again.
    let mut n = candidate_of_five_granted_by_2();
    let again = vec![(3, 1), (4, 1), (5, 1)];
    assert!(nothing(&tick(&mut n, T + 1)));
    assert!(nothing(&tick(&mut n, T + HB - 1)));
    assert_eq!(vote_requests(&tick(&mut n, T + HB)), again);
    assert!(
        nothing(&tick(&mut n, T + HB + 1)),
        "the next retry is an interval later"
    );
    assert!(nothing(&tick(&mut n, T + 2 * HB - 1)));
    assert_eq!(vote_requests(&tick(&mut n, T + 2 * HB)), again);
    assert_eq!(vote_requests(&tick(&mut n, T + 3 * HB)), again);
    assert_eq!((n.role(), n.term()), (Role::Candidate, 1));
}

#[test]
fn a_candidate_not_elected_by_its_deadline_starts_over_with_the_next_term() {
    let mut n = candidate_of_five_granted_by_2();
    // The last retry at T + 3HB puts the next one after the deadline 2T: only the deadline acts.
    tick(&mut n, T + 3 * HB);
    assert!(nothing(&tick(&mut n, 2 * T - 1)));
    let r = tick(&mut n, 2 * T);
    let self_vote = PersistOp::SetTermVote {
        term: 2,
        voted_for: Some(1),
    };
    assert_eq!(r.persist, vec![self_vote]);
    // A new election asks everyone, node 2 included: its term-1 grant is void in term 2.
    assert_eq!(vote_requests(&r), vec![(2, 2), (3, 2), (4, 2), (5, 2)]);
    // Late grants of term 1 do not count towards term 2.
    deliver(&mut n, 2 * T + 1, 3, grant(1));
    deliver(&mut n, 2 * T + 1, 4, grant(1));
    assert_eq!((n.role(), n.term()), (Role::Candidate, 2));
}

#[test]
fn a_new_leader_announces_itself_at_once_then_heartbeats_every_interval() {
    let mut n = start(1, &[1, 2, 3], Persistent::default());
    tick(&mut n, T);
    let won = T + 10;
    let r = deliver(&mut n, won, 2, grant(1));
    assert_eq!(r.became_leader, Some(1));
    assert_eq!(
        r.sends,
        vec![
            (2, append(1, 1, (0, 0), vec![])),
            (3, append(1, 1, (0, 0), vec![]))
        ]
    );
    assert!(nothing(&tick(&mut n, won + 1)));
    assert!(nothing(&tick(&mut n, won + HB - 1)));
    assert_eq!(appends_to(&tick(&mut n, won + HB)), vec![2, 3]);
    assert!(nothing(&tick(&mut n, won + HB + 1)));
    assert!(nothing(&tick(&mut n, won + 2 * HB - 1)));
    assert_eq!(appends_to(&tick(&mut n, won + 2 * HB)), vec![2, 3]);
    // A leader never times out into an election of its own.
    assert!(vote_requests(&tick(&mut n, won + 10 * T)).is_empty());
    assert_eq!((n.role(), n.term()), (Role::Leader, 1));
}

#[test]
fn a_proposal_s_append_doubles_as_the_heartbeat_so_the_next_comes_an_interval_later() {
    let (mut n, _) = leader_from(Persistent::default());
    let at = T + 100;
    let r = propose(&mut n, at, 1);
    assert_eq!(r.proposed, Some(Ok(1)));
    assert_eq!(r.persist, vec![PersistOp::Append(vec![e(1, 1)])]);
    let sent = append(1, 1, (0, 0), vec![e(1, 1)]);
    assert_eq!(r.sends, vec![(2, sent.clone()), (3, sent.clone())]);
    assert!(nothing(&tick(&mut n, at + 1)));
    assert!(nothing(&tick(&mut n, at + HB - 1)));
    // Unacknowledged, the entry goes again with the heartbeat.
    assert_eq!(
        tick(&mut n, at + HB).sends,
        vec![(2, sent.clone()), (3, sent)]
    );
}

// ------------------------------------------------------------------------------ voting

#[test]
fn a_vote_is_granted_once_per_term_and_written_in_the_step_that_sends_it() {
    let mut n = start(1, &[1, 2, 3], Persistent::default());
    let r = deliver(&mut n, 100, 2, vote_request(1, 2, 0, 0));
    let vote = PersistOp::SetTermVote {
        term: 1,
        voted_for: Some(2),
    };
    assert_eq!(r.persist, vec![vote]);
    assert_eq!(r.sends, vec![(2, grant(1))]);
    // Another candidate of the same term is refused, and nothing is written.
    let r = deliver(&mut n, 101, 3, vote_request(1, 3, 0, 0));
    assert_eq!(
        r.sends,
        vec![(
            3,
            RaftMessage::Vote {
                term: 1,
                granted: false
            }
        )]
    );
    assert!(r.persist.is_empty());
    // The same candidate asking again (a retry) is granted again, with nothing new to write.
    let r = deliver(&mut n, 102, 2, vote_request(1, 2, 0, 0));
    assert_eq!((r.sends, r.persist), (vec![(2, grant(1))], vec![]));
    assert_eq!(n.voted_for(), Some(2));
}

#[test]
fn granting_a_vote_defers_the_voter_s_own_election_by_a_full_timeout() {
    let mut n = start(1, &[1, 2, 3], Persistent::default());
    deliver(&mut n, 600, 2, vote_request(1, 2, 0, 0));
    assert!(
        nothing(&tick(&mut n, T)),
        "the deadline moved from T to 600 + T"
    );
    assert!(nothing(&tick(&mut n, 600 + T - 1)));
    assert_eq!(vote_requests(&tick(&mut n, 600 + T)), vec![(2, 2), (3, 2)]);
}

#[test]
fn a_request_of_an_older_term_is_refused_with_our_term() {
    let mut n = start(1, &[1, 2, 3], disk(3, vec![]));
    let r = deliver(&mut n, 100, 2, vote_request(2, 2, 0, 0));
    assert_eq!(
        r.sends,
        vec![(
            2,
            RaftMessage::Vote {
                term: 3,
                granted: false
            }
        )]
    );
    assert!(r.persist.is_empty());
}

#[test]
fn a_vote_goes_only_to_a_log_at_least_as_up_to_date_last_term_first_then_length() {
    // Our log ends (index 2, term 2).
    let mut n = start(1, &[1, 2, 3, 4, 5], disk(2, vec![e(1, 1), e(2, 2)]));
    let refused = |term| RaftMessage::Vote {
        term,
        granted: false,
    };
    // Longer, but ending in an older term: refused; the higher term is adopted all the same.
    let r = deliver(&mut n, 100, 2, vote_request(5, 2, 9, 1));
    let adopt = PersistOp::SetTermVote {
        term: 5,
        voted_for: None,
    };
    assert_eq!((r.persist, r.sends), (vec![adopt], vec![(2, refused(5))]));
    // Same last term, shorter: refused.
    let r = deliver(&mut n, 100, 3, vote_request(5, 3, 1, 2));
    assert_eq!(r.sends, vec![(3, refused(5))]);
    // Exactly as up to date: granted.
    let r = deliver(&mut n, 100, 4, vote_request(5, 4, 2, 2));
    assert_eq!(r.sends, vec![(4, grant(5))]);
    assert_eq!((n.term(), n.voted_for()), (5, Some(4)));
}

#[test]
fn a_higher_term_that_brings_no_granted_vote_leaves_the_follower_s_deadline_alone() {
    // Raft resets the election timer on a granted vote or a current leader's Append only; a
    // stale candidate with a higher term must not keep a follower from standing itself.
    let mut n = start(1, &[1, 2, 3], disk(1, vec![e(1, 1)]));
    let r = deliver(&mut n, 900, 2, vote_request(5, 2, 0, 0));
    assert_eq!(
        r.sends,
        vec![(
            2,
            RaftMessage::Vote {
                term: 5,
                granted: false
            }
        )]
    );
    assert_eq!(vote_requests(&tick(&mut n, T)), vec![(2, 6), (3, 6)]);
}

#[test]
fn a_leader_that_sees_a_higher_term_steps_down_and_gets_a_full_election_timeout() {
    let (mut n, _) = leader_from(Persistent::default());
    let at = 5 * T;
    let r = deliver(&mut n, at, 2, append_result(2, false, 0));
    let adopt = PersistOp::SetTermVote {
        term: 2,
        voted_for: None,
    };
    assert_eq!((r.persist, r.sends), (vec![adopt], vec![]));
    assert_eq!(
        (n.role(), n.leader()),
        (Role::Follower { leader: None }, None)
    );
    // Its deadline from the old candidacy (2T) has long passed; a fresh one runs from `at`.
    assert!(nothing(&tick(&mut n, at + 1)), "no heartbeat, no election");
    assert!(nothing(&tick(&mut n, at + T - 1)));
    assert_eq!(vote_requests(&tick(&mut n, at + T)), vec![(2, 3), (3, 3)]);
}

#[test]
fn a_candidate_that_hears_a_leader_of_its_term_follows_it() {
    let mut n = start(1, &[1, 2, 3], Persistent::default());
    tick(&mut n, T);
    let r = deliver(&mut n, T + 1, 2, append(1, 2, (0, 0), vec![]));
    assert_eq!(r.sends, vec![(2, append_result(1, true, 0))]);
    assert_eq!(
        (n.role(), n.leader()),
        (Role::Follower { leader: Some(2) }, Some(2))
    );
    // The Append also reset its deadline: no retry, no election before T + 1 + T.
    assert!(nothing(&tick(&mut n, T + HB)));
    assert!(nothing(&tick(&mut n, 2 * T)));
    assert_eq!(
        vote_requests(&tick(&mut n, 2 * T + 1)),
        vec![(2, 2), (3, 2)]
    );
}

// ------------------------------------------------------------------------------ proposals

#[test]
fn a_proposal_off_the_leader_is_refused_naming_the_leader_if_known() {
    let mut n = start(1, &[1, 2, 3], Persistent::default());
    let r = propose(&mut n, 10, 7);
    assert_eq!(
        r.proposed,
        Some(Err(None)),
        "a fresh follower knows no leader"
    );
    deliver(&mut n, 20, 3, append(1, 3, (0, 0), vec![]));
    let r = propose(&mut n, 30, 7);
    assert_eq!(r.proposed, Some(Err(Some(3))));
    assert!(
        nothing(&r) && n.log().is_empty(),
        "a refused proposal writes and sends nothing"
    );
    tick(&mut n, 30 + T);
    assert_eq!(
        propose(&mut n, 30 + T, 7).proposed,
        Some(Err(None)),
        "a candidate"
    );
}

// ------------------------------------------------------------------------------ follower's log

#[test]
fn a_follower_appends_new_entries_writes_them_and_acknowledges_the_last() {
    let mut n = start(1, &[1, 2, 3], Persistent::default());
    let r = deliver(&mut n, 10, 2, append(1, 2, (0, 0), log_of(1, 2)));
    let adopt = PersistOp::SetTermVote {
        term: 1,
        voted_for: None,
    };
    assert_eq!(r.persist, vec![adopt, PersistOp::Append(log_of(1, 2))]);
    assert_eq!(r.sends, vec![(2, append_result(1, true, 2))]);
    // The same Append again (a retransmission) is acknowledged without writing anything.
    let r = deliver(&mut n, 20, 2, append(1, 2, (0, 0), log_of(1, 2)));
    assert!(r.persist.is_empty());
    assert_eq!(r.sends, vec![(2, append_result(1, true, 2))]);
    assert_eq!(n.log(), log_of(1, 2));
}

#[test]
fn a_follower_commits_the_leader_s_commit_index_capped_at_the_last_entry_vouched_for() {
    let mut n = start(1, &[1, 2, 3], Persistent::default());
    deliver(&mut n, 10, 2, append(1, 2, (0, 0), log_of(1, 3)));
    // A heartbeat vouching only for index 1: entries 2 and 3 might still be replaced.
    let r = deliver(&mut n, 20, 2, append_committing(1, 2, (1, 1), vec![], 3));
    assert_eq!(r.committed, vec![e(1, 1)]);
    assert_eq!(r.sends, vec![(2, append_result(1, true, 1))]);
    let r = deliver(&mut n, 30, 2, append_committing(1, 2, (3, 1), vec![], 3));
    assert_eq!((r.committed, n.commit_index()), (vec![e(1, 2), e(1, 3)], 3));
    // The commit index never moves back, and what committed is not reported again.
    let r = deliver(&mut n, 40, 2, append_committing(1, 2, (3, 1), vec![], 2));
    assert_eq!((r.committed, n.commit_index()), (vec![], 3));
}

#[test]
fn a_follower_cuts_a_conflicting_suffix_and_takes_the_new_leader_s_entries() {
    let mut n = start(1, &[1, 2, 3], disk(1, log_of(1, 3)));
    let r = deliver(&mut n, 10, 3, append(2, 3, (1, 1), vec![e(2, 2)]));
    let adopt = PersistOp::SetTermVote {
        term: 2,
        voted_for: None,
    };
    let expected = vec![
        adopt,
        PersistOp::TruncateFrom(2),
        PersistOp::Append(vec![e(2, 2)]),
    ];
    assert_eq!(r.persist, expected);
    assert_eq!(r.sends, vec![(3, append_result(2, true, 2))]);
    assert_eq!(n.log(), [e(1, 1), e(2, 2)]);
}

#[test]
fn a_follower_missing_the_previous_entry_refuses_with_a_hint_where_it_may_match() {
    let mut n = start(1, &[1, 2, 3], disk(1, vec![e(1, 1)]));
    // Too far ahead: we hold only index 1.
    let r = deliver(&mut n, 10, 2, append(2, 2, (5, 2), vec![]));
    assert_eq!(r.sends, vec![(2, append_result(2, false, 1))]);
    // Index 1 of another term: nothing before it is known to match.
    let r = deliver(&mut n, 20, 2, append(2, 2, (1, 2), vec![]));
    assert_eq!(r.sends, vec![(2, append_result(2, false, 0))]);
    assert_eq!(n.log(), [e(1, 1)], "a refused Append changes no entry");
}

#[test]
fn an_append_of_an_older_term_is_refused_with_our_term() {
    let mut n = start(1, &[1, 2, 3], disk(3, vec![]));
    let r = deliver(&mut n, 10, 2, append(2, 2, (0, 0), vec![e(2, 1)]));
    assert_eq!(r.sends, vec![(2, append_result(3, false, 0))]);
    assert!(r.persist.is_empty() && n.log().is_empty());
    assert_eq!(n.leader(), None, "a deposed leader is not followed");
}

#[test]
#[should_panic(expected = "terms never decrease along a log")]
fn an_append_whose_first_entry_is_older_than_the_entry_before_it_is_refused_untouched() {
    // No correct leader sends this. It must be diagnosed by the rule it breaks, checked
    // against the entry before it, and not by the committed entry it would otherwise cut.
    let mut n = start(1, &[1, 2, 3], Persistent::default());
    deliver(
        &mut n,
        10,
        2,
        append_committing(2, 2, (0, 0), log_of(2, 2), 2),
    );
    assert_eq!(n.commit_index(), 2);
    deliver(&mut n, 20, 2, append(2, 2, (1, 2), vec![e(1, 2)]));
}

/// A follower under `flaw` holding [1, 2, 3] of term 1, all committed by leader 2.
fn committed_follower(flaw: QuorumFlaw) -> Node {
    let selftest = SelfTest {
        quorum_flaw: flaw,
        ..SelfTest::default()
    };
    let mut n = QuorumNode::new(1, cfg(&[1, 2, 3]), Persistent::default(), 0, &mut low())
        .with_selftest(selftest);
    deliver(
        &mut n,
        10,
        2,
        append_committing(1, 2, (0, 0), log_of(1, 3), 3),
    );
    assert_eq!(n.commit_index(), 3);
    n
}

#[test]
#[should_panic(expected = "truncates committed index 2")]
fn a_correct_follower_never_overwrites_a_committed_entry() {
    let mut n = committed_follower(QuorumFlaw::None);
    deliver(&mut n, 20, 3, append(2, 3, (1, 1), vec![e(2, 2)]));
}

#[test]
fn under_a_flaw_overwriting_committed_entries_drops_the_commit_index_before_the_cut() {
    // Only a broken quorum gets here; the commit index must then stay inside the log, pointing
    // just before the cut, so the observer can report the overwrite instead of a crash.
    let mut n = committed_follower(QuorumFlaw::DoubleVote);
    let r = deliver(&mut n, 20, 3, append(2, 3, (1, 1), vec![e(2, 2)]));
    assert_eq!(r.persist[1], PersistOp::TruncateFrom(2));
    assert_eq!((n.commit_index(), n.log()), (1, &[e(1, 1), e(2, 2)][..]));
}

// ------------------------------------------------------------------------------ leader's log

#[test]
fn a_leader_does_not_commit_an_earlier_term_s_entries_by_counting_replicas() {
    // Raft §5.4.2 (Figure 8): an entry of term 1 on a majority may still be overwritten.
    let (mut n, _) = leader_from(disk(1, log_of(1, 4)));
    assert_eq!(n.term(), 2);
    let r = deliver(&mut n, T + 10, 2, append_result(2, true, 4));
    assert!(r.committed.is_empty() && n.commit_index() == 0, "{r:?}");
    // Once an entry of term 2 is on a majority, everything before it commits with it.
    let r = propose(&mut n, T + 20, 5);
    assert_eq!(r.sends[0], (2, append(2, 1, (4, 1), vec![e(2, 5)])));
    let r = deliver(&mut n, T + 30, 2, append_result(2, true, 5));
    let mut all = log_of(1, 4);
    all.push(e(2, 5));
    assert_eq!((r.committed, n.commit_index()), (all, 5));
}

#[test]
fn a_leader_sends_the_rest_at_once_to_a_follower_that_acknowledged_only_part() {
    let (mut n, _) = leader_from(Persistent::default());
    propose(&mut n, T + 10, 1);
    propose(&mut n, T + 20, 2);
    // Node 2 answers the first Append (entry 1) after the leader already holds entry 2.
    let r = deliver(&mut n, T + 30, 2, append_result(1, true, 1));
    assert_eq!(
        r.committed,
        vec![e(1, 1)],
        "leader and node 2 are a majority"
    );
    let rest = append_committing(1, 1, (1, 1), vec![e(1, 2)], 1);
    assert_eq!(r.sends, vec![(2, rest)]);
    // Caught up: nothing more to send until the next heartbeat.
    let r = deliver(&mut n, T + 40, 2, append_result(1, true, 2));
    assert_eq!((r.committed, r.sends), (vec![e(1, 2)], vec![]));
}

#[test]
fn a_refused_append_backs_off_to_just_after_the_follower_s_hint() {
    let (mut n, _) = leader_from(disk(1, log_of(1, 4)));
    // The announcement went with prev index 4; node 2 says it may match up to 2 at most.
    let r = deliver(&mut n, T + 10, 2, append_result(2, false, 2));
    let retry = append(2, 1, (2, 1), vec![e(1, 3), e(1, 4)]);
    assert_eq!(r.sends, vec![(2, retry)]);
}

#[test]
fn every_refused_append_backs_off_at_least_one_entry_whatever_its_hint() {
    let (mut n, _) = leader_from(disk(1, log_of(1, 4)));
    // Two Appends with prev index 4 went out (the announcement and a heartbeat) and both are
    // refused with hint 3. The first moves next to 4; the second must still move it to 3, or
    // the leader would wait a heartbeat for a retry it already knows fails.
    let r = tick(&mut n, T + HB);
    assert_eq!(appends_to(&r), vec![2, 3]);
    let r = deliver(&mut n, T + HB + 1, 2, append_result(2, false, 3));
    assert_eq!(r.sends, vec![(2, append(2, 1, (3, 1), vec![e(1, 4)]))]);
    let r = deliver(&mut n, T + HB + 2, 2, append_result(2, false, 3));
    let retry = append(2, 1, (2, 1), vec![e(1, 3), e(1, 4)]);
    assert_eq!(r.sends, vec![(2, retry)]);
}

#[test]
fn a_stale_refusal_from_a_follower_that_already_matched_changes_nothing() {
    let (mut n, _) = leader_from(disk(1, log_of(1, 4)));
    deliver(&mut n, T + 10, 2, append_result(2, true, 4));
    // A refusal overtaken by the acknowledgement: backing off below 4 would resend for nothing.
    let r = deliver(&mut n, T + 20, 2, append_result(2, false, 0));
    assert!(nothing(&r), "{r:?}");
    // The next heartbeat still starts after index 4.
    let r = tick(&mut n, T + HB);
    assert_eq!(r.sends[0], (2, append(2, 1, (4, 1), vec![])));
}

// ------------------------------------------------------------------------------ observer

#[test]
fn the_observer_counts_one_check_per_comparison() {
    let mut n = start(1, &[1], Persistent::default());
    let mut obs = QuorumObserver::new();
    obs.observe(&[&n]);
    // A follower: its term (MonotonicEpoch) and its commit index (MonotonicHighWatermark).
    assert_eq!(obs.checks(), 2);
    tick(&mut n, T);
    let r = propose(&mut n, T, 1);
    assert_eq!(r.committed, vec![e(1, 1)], "a single voter commits alone");
    obs.observe(&[&n]);
    // Now also SingleLeader, ConsistentCommittedData for index 1, MajorityCommitted for index 1.
    assert_eq!(obs.checks(), 2 + 5);
    obs.observe(&[&n]);
    // Nothing changed: leader, term, commit index; index 1 is neither re-compared nor recounted.
    assert_eq!(obs.checks(), 2 + 5 + 3);
    assert_eq!(obs.committed(), [e(1, 1)]);
}

#[test]
fn the_observer_notices_a_voter_that_restarted_with_its_log_lost() {
    // Node 1 leads term 1 and commits entry 1 with node 2; node 3 never heard of it.
    let (mut n1, _) = leader_from(Persistent::default());
    let mut n2 = start(2, &[1, 2, 3], Persistent::default());
    let n3 = start(3, &[1, 2, 3], Persistent::default());
    let r = propose(&mut n1, T + 10, 1);
    let (to, msg) = r.sends[0].clone();
    assert_eq!(to, 2);
    let ack = deliver(&mut n2, T + 11, 1, msg).sends.remove(0).1;
    deliver(&mut n1, T + 12, 2, ack);
    assert_eq!(n1.commit_index(), 1);
    let mut obs = QuorumObserver::new();
    assert_eq!(obs.observe(&[&n1, &n2, &n3]), Vec::<String>::new());
    // Node 2 comes back with an empty disk: entry 1 is now held by node 1 alone.
    let mut other_incarnation = StepRng::new(1, 0);
    let n2 = QuorumNode::new(
        2,
        cfg(&[1, 2, 3]),
        Persistent::default(),
        T + 20,
        &mut other_incarnation,
    );
    let found = obs.observe(&[&n1, &n2, &n3]);
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("MajorityCommitted: index 1")),
        "{found:?}"
    );
}
