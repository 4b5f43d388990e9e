//! The consumer group coordinator: generations and the JoinGroup barrier, assignment, session
//! expiry and generation fencing of offset commits, applied as metadata-log commands.

use ksim_model::GroupRequest;
use ksim_model::*;

fn controller(partitions: i32) -> Controller {
    Controller::new(BrokerConfig::default(), 3, partitions, 3)
}

fn ask(c: &mut Controller, now: TimeMs, request: Request) -> Response {
    let origin = Origin {
        controller: 1,
        incarnation: 1,
        conn: 7,
    };
    let ready = c.apply(&Command::Group {
        now,
        origin,
        request: GroupRequest(request),
    });
    match ready.sends.as_slice() {
        [Envelope::Reply { conn: 7, response }] => response.clone(),
        other => panic!("one answer expected: {other:?}"),
    }
}

fn join(
    c: &mut Controller,
    now: TimeMs,
    member: MemberId,
) -> Result<(i32, Vec<PartitionId>), ErrorCode> {
    let request = Request::JoinGroup {
        correlation_id: 1,
        member,
        assignor: Assignor::Range,
        session_timeout_ms: 10_000,
    };
    match ask(c, now, request) {
        Response::JoinGroup { result, .. } => result,
        other => panic!("{other:?}"),
    }
}

fn heartbeat(
    c: &mut Controller,
    now: TimeMs,
    member: MemberId,
    generation: i32,
) -> Result<(), ErrorCode> {
    let request = Request::GroupHeartbeat {
        correlation_id: 2,
        member,
        generation,
    };
    match ask(c, now, request) {
        Response::GroupHeartbeat { result, .. } => result,
        other => panic!("{other:?}"),
    }
}

fn commit(
    c: &mut Controller,
    member: MemberId,
    generation: i32,
    offsets: Vec<(PartitionId, Offset)>,
) -> Result<(), ErrorCode> {
    let request = Request::OffsetCommit {
        correlation_id: 3,
        member,
        generation,
        offsets,
    };
    match ask(c, 0, request) {
        Response::OffsetCommit { result, .. } => result,
        other => panic!("{other:?}"),
    }
}

fn committed(c: &mut Controller) -> Vec<(PartitionId, Offset)> {
    match ask(c, 0, Request::OffsetFetch { correlation_id: 4 }) {
        Response::OffsetFetch { result: Ok(o), .. } => o,
        other => panic!("{other:?}"),
    }
}

#[test]
fn members_share_the_partitions_and_a_member_whose_session_expires_leaves_a_new_generation() {
    let mut c = controller(6);
    let (a, b, m) = ((1, 1), (2, 1), (3, 1));
    const WAIT: Result<(i32, Vec<PartitionId>), ErrorCode> = Err(ErrorCode::RebalanceInProgress);
    assert_eq!(join(&mut c, 0, a), Ok((1, vec![0, 1, 2, 3, 4, 5])));
    // b's join starts a rebalance, which waits for a (the JoinGroup barrier).
    assert_eq!(join(&mut c, 0, b), WAIT);
    assert_eq!(
        heartbeat(&mut c, 100, a, 1),
        Err(ErrorCode::RebalanceInProgress)
    );
    assert_eq!(join(&mut c, 100, a), Ok((2, vec![0, 1, 2])));
    assert_eq!(join(&mut c, 150, b), Ok((2, vec![3, 4, 5])));
    // m joins: a and b must join again before generation 3 starts.
    assert_eq!(join(&mut c, 200, m), WAIT);
    assert_eq!(
        heartbeat(&mut c, 250, a, 2),
        Err(ErrorCode::RebalanceInProgress)
    );
    assert_eq!(join(&mut c, 300, a), WAIT);
    assert_eq!(join(&mut c, 300, b), Ok((3, vec![2, 3])));
    assert_eq!(join(&mut c, 300, a), Ok((3, vec![0, 1])));
    assert_eq!(join(&mut c, 300, m), Ok((3, vec![4, 5])));
    // m stops heartbeating: after session.timeout.ms it leaves, and the others rebalance.
    assert_eq!(heartbeat(&mut c, 9_000, a, 3), Ok(()));
    assert_eq!(heartbeat(&mut c, 9_000, b, 3), Ok(()));
    assert!(!c.sessions_expired(10_300));
    assert!(c.sessions_expired(10_301));
    c.apply(&Command::ExpireSessions { now: 10_301 });
    assert_eq!(
        heartbeat(&mut c, 10_400, m, 3),
        Err(ErrorCode::UnknownMemberId)
    );
    assert_eq!(
        heartbeat(&mut c, 10_400, b, 3),
        Err(ErrorCode::RebalanceInProgress)
    );
    assert_eq!(join(&mut c, 10_400, b), WAIT);
    assert_eq!(join(&mut c, 10_500, a), Ok((4, vec![0, 1, 2])));
    assert_eq!(join(&mut c, 10_600, b), Ok((4, vec![3, 4, 5])));
}

#[test]
fn a_commit_from_an_ended_generation_is_refused_and_the_committed_offsets_are_kept() {
    let mut c = controller(2);
    let (a, b) = ((1, 1), (2, 1));
    assert_eq!(join(&mut c, 0, a), Ok((1, vec![0, 1])));
    assert_eq!(commit(&mut c, a, 1, vec![(0, 10), (1, 4)]), Ok(()));
    assert_eq!(join(&mut c, 0, b), Err(ErrorCode::RebalanceInProgress));
    // While the rebalance waits for a, generation 1 still stands: a commits what it polled
    // before it gives its partitions up, as Kafka's eager consumer does.
    assert_eq!(commit(&mut c, a, 1, vec![(0, 10), (1, 5)]), Ok(()));
    assert_eq!(join(&mut c, 0, a), Ok((2, vec![0])));
    assert_eq!(join(&mut c, 0, b), Ok((2, vec![1])));
    // Generation 1 has ended: its commit would move b's partition.
    assert_eq!(
        commit(&mut c, a, 1, vec![(1, 9)]),
        Err(ErrorCode::IllegalGeneration)
    );
    assert_eq!(
        commit(&mut c, (9, 9), 2, vec![(1, 9)]),
        Err(ErrorCode::UnknownMemberId)
    );
    assert_eq!(commit(&mut c, b, 2, vec![(1, 6)]), Ok(()));
    assert_eq!(committed(&mut c), vec![(0, 10), (1, 6)]);
}

#[test]
fn round_robin_deals_partitions_in_turn() {
    let members = [(1, 1), (2, 1), (3, 1)];
    assert_eq!(
        Assignor::RoundRobin.assign(&members, 1, 7, (2, 1)),
        vec![1, 4]
    );
    assert_eq!(
        Assignor::Range.assign(&members, 1, 7, (1, 1)),
        vec![0, 1, 2]
    );
    assert_eq!(Assignor::Range.assign(&members, 1, 7, (3, 1)), vec![5, 6]);
    assert!(Assignor::Range.assign(&members, 1, 7, (4, 1)).is_empty());
    // Two topics of 4 (partitions 0..4 and 4..8): the range assignor works per topic, so the
    // first member takes the extra partition of each; round-robin deals all 8 in turn.
    assert_eq!(
        Assignor::Range.assign(&members, 2, 4, (1, 1)),
        vec![0, 1, 4, 5]
    );
    assert_eq!(Assignor::Range.assign(&members, 2, 4, (3, 1)), vec![3, 7]);
    assert_eq!(
        Assignor::RoundRobin.assign(&members, 2, 4, (2, 1)),
        vec![1, 4, 7]
    );
}

#[test]
fn the_group_coordinator_assigns_per_topic() {
    // Six partitions as two topics of three: the range assignor gives the first member the
    // first two of each topic.
    let mut c = controller(6).with_topics(2);
    let (a, b) = ((1, 1), (2, 1));
    assert_eq!(join(&mut c, 0, a), Ok((1, vec![0, 1, 2, 3, 4, 5])));
    assert_eq!(join(&mut c, 0, b), Err(ErrorCode::RebalanceInProgress));
    assert_eq!(join(&mut c, 0, a), Ok((2, vec![0, 1, 3, 4])));
    assert_eq!(join(&mut c, 0, b), Ok((2, vec![2, 5])));
}

#[test]
fn a_member_stays_until_its_session_timeout_has_passed_and_an_emptied_group_moves_on() {
    let mut c = controller(2);
    let a = (1, 1);
    assert_eq!(join(&mut c, 0, a), Ok((1, vec![0, 1])));
    // Nobody left: no rebalance.
    c.apply(&Command::ExpireSessions { now: 10_000 });
    assert_eq!(heartbeat(&mut c, 10_000, a, 1), Ok(()));
    c.apply(&Command::ExpireSessions { now: 20_001 });
    assert_eq!(
        heartbeat(&mut c, 20_001, a, 1),
        Err(ErrorCode::UnknownMemberId)
    );
    // The empty group started generation 2 at once; the next member starts generation 3.
    assert_eq!(join(&mut c, 20_100, (2, 1)), Ok((3, vec![0, 1])));
}

#[test]
fn a_new_active_controller_renews_the_members_sessions() {
    let mut c = controller(2);
    let a = (1, 1);
    assert_eq!(join(&mut c, 0, a), Ok((1, vec![0, 1])));
    c.apply(&Command::RenewSessions { now: 5_000 });
    assert!(!c.sessions_expired(15_000));
    assert!(c.sessions_expired(15_001));
}
