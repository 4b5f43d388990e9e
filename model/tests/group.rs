//! The consumer group coordinator: generations, assignment, session expiry and generation
//! fencing of offset commits, applied as metadata-log commands.

use ksim_model::controller::GroupRequest;
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

fn join(c: &mut Controller, now: TimeMs, member: MemberId) -> (i32, Vec<PartitionId>) {
    let request = Request::JoinGroup {
        correlation_id: 1,
        member,
        assignor: Assignor::Range,
        session_timeout_ms: 10_000,
    };
    match ask(c, now, request) {
        Response::JoinGroup { result: Ok(r), .. } => r,
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
    assert_eq!(join(&mut c, 0, a), (1, vec![0, 1, 2, 3, 4, 5]));
    assert_eq!(join(&mut c, 0, b), (2, vec![3, 4, 5]));
    // a hears of generation 2 from its heartbeat and rejoins for its new share.
    assert_eq!(
        heartbeat(&mut c, 100, a, 1),
        Err(ErrorCode::RebalanceInProgress)
    );
    assert_eq!(join(&mut c, 100, a), (2, vec![0, 1, 2]));
    assert_eq!(join(&mut c, 200, m), (3, vec![4, 5]));
    assert_eq!(join(&mut c, 300, a), (3, vec![0, 1]));
    // m stops heartbeating: after session.timeout.ms it leaves, and a new generation starts.
    assert_eq!(heartbeat(&mut c, 9_000, a, 3), Ok(()));
    assert_eq!(heartbeat(&mut c, 9_000, b, 3), Ok(()));
    assert!(!c.sessions_expired(10_000));
    assert!(c.sessions_expired(10_300));
    c.apply(&Command::ExpireSessions { now: 10_300 });
    assert_eq!(
        heartbeat(&mut c, 10_400, m, 3),
        Err(ErrorCode::UnknownMemberId)
    );
    assert_eq!(join(&mut c, 10_400, b), (4, vec![3, 4, 5]));
}

#[test]
fn a_commit_from_an_ended_generation_is_refused_and_the_committed_offsets_are_kept() {
    let mut c = controller(2);
    let (a, b) = ((1, 1), (2, 1));
    join(&mut c, 0, a);
    assert_eq!(commit(&mut c, a, 1, vec![(0, 10), (1, 4)]), Ok(()));
    join(&mut c, 0, b);
    // a has not rejoined: its commit of generation 1 would move b's partition.
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
