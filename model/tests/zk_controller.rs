//! The ZooKeeper-era controller's claim of `/controller`, and the ZooKeeper client's expiry,
//! stepped by hand: what each does when an answer is lost with its connection or comes for a
//! session that has expired. Each of these once left a cluster with no controller for good.

use bytes::Bytes;
use ksim_model::kafka_zk::controller::{ControllerOut, Purpose, ZkController, ZkControllerConfig};
use ksim_model::kafka_zk::{CONTROLLER, CONTROLLER_EPOCH};
use ksim_model::zookeeper::*;

const SESSION: SessionId = 7;

fn controller() -> ZkController {
    ZkController::new(ZkControllerConfig {
        broker: 1,
        topic: "events".into(),
        assignment: vec![(0, vec![1, 2, 3])],
        unclean_leader_election: false,
        detect_bounced_brokers: true,
    })
}

/// Feed one answer; the purposes of the operations it asks for next.
fn answer(
    c: &mut ZkController,
    purpose: Purpose,
    result: Result<ZkAnswer, Option<ZkError>>,
) -> Vec<Purpose> {
    let mut out = ControllerOut::default();
    c.on_answer(purpose, result, &mut out);
    out.ops.into_iter().map(|(p, _)| p).collect()
}

fn controller_znode(owner: SessionId) -> Result<ZkAnswer, Option<ZkError>> {
    Ok(ZkAnswer::Exists(Some(Stat {
        ephemeral_owner: Some(owner),
        ..Stat::default()
    })))
}

fn epoch(value: &str) -> Result<ZkAnswer, Option<ZkError>> {
    let data = Bytes::from(value.to_string());
    Ok(ZkAnswer::Data {
        data,
        stat: Stat::default(),
    })
}

/// A claim that lost its answer with the connection, judged by `/controller`'s owner.
fn claim_lost(c: &mut ZkController) {
    let mut out = ControllerOut::default();
    c.on_session(SESSION, &mut out);
    assert!(
        matches!(&out.ops[..], [(Purpose::Claim, ZkOp::Create { path, .. })] if path == CONTROLLER)
    );
    assert_eq!(
        answer(c, Purpose::Claim, Err(None)),
        [Purpose::WatchController]
    );
}

#[test]
fn a_claim_whose_answer_was_lost_is_won_when_the_controller_znode_is_ours() {
    let mut c = controller();
    claim_lost(&mut c);
    assert_eq!(
        answer(&mut c, Purpose::WatchController, controller_znode(SESSION)),
        [Purpose::ReadEpoch],
        "our own session owns /controller: the claim won, go on to the epoch"
    );
    assert_eq!(
        answer(&mut c, Purpose::ReadEpoch, epoch("3")),
        [Purpose::BumpEpoch(4)]
    );
    let bumped = Ok(ZkAnswer::SetData(Stat::default()));
    assert_eq!(
        answer(&mut c, Purpose::BumpEpoch(4), bumped),
        [
            Purpose::ListBrokers,
            Purpose::ListIsrChanges,
            Purpose::ReadState(0)
        ]
    );
    assert!(c.is_active());
    assert_eq!(c.epoch(), 4);
}

#[test]
fn a_claim_lost_to_another_session_keeps_watching() {
    let mut c = controller();
    claim_lost(&mut c);
    assert_eq!(
        answer(
            &mut c,
            Purpose::WatchController,
            controller_znode(SESSION + 1)
        ),
        []
    );
    assert!(!c.is_active());
    assert_eq!(
        answer(&mut c, Purpose::WatchController, Err(None)),
        [Purpose::WatchController],
        "a look lost with the connection is asked again, else nothing would watch /controller"
    );
}

#[test]
fn an_epoch_bump_whose_answer_was_lost_reads_the_epoch_again() {
    let mut c = controller();
    let mut out = ControllerOut::default();
    c.on_session(SESSION, &mut out);
    let created = Ok(ZkAnswer::Created {
        path: CONTROLLER.into(),
        stat: Stat::default(),
    });
    assert_eq!(
        answer(&mut c, Purpose::Claim, created),
        [Purpose::ReadEpoch]
    );
    assert_eq!(
        answer(&mut c, Purpose::ReadEpoch, Err(None)),
        [Purpose::ReadEpoch]
    );
    assert_eq!(
        answer(&mut c, Purpose::ReadEpoch, epoch("3")),
        [Purpose::BumpEpoch(4)]
    );
    assert_eq!(
        answer(&mut c, Purpose::BumpEpoch(4), Err(None)),
        [Purpose::ReadEpoch]
    );
    // The lost bump had landed: this controller skips an epoch, and still becomes active.
    assert_eq!(
        answer(&mut c, Purpose::ReadEpoch, epoch("4")),
        [Purpose::BumpEpoch(5)]
    );
    answer(
        &mut c,
        Purpose::BumpEpoch(5),
        Ok(ZkAnswer::SetData(Stat::default())),
    );
    assert!(c.is_active());
    assert_eq!(c.epoch(), 5);
}

#[test]
fn answers_for_an_expired_session_are_ignored() {
    let mut c = controller();
    let mut out = ControllerOut::default();
    c.on_session(SESSION, &mut out);
    c.on_expired();
    let created = Ok(ZkAnswer::Created {
        path: CONTROLLER.into(),
        stat: Stat::default(),
    });
    assert_eq!(answer(&mut c, Purpose::Claim, created), []);
    assert_eq!(answer(&mut c, Purpose::ReadEpoch, epoch("3")), []);
    assert!(!c.is_active());
}

#[test]
fn what_was_queued_under_an_expired_session_fails_with_session_expired() {
    let mut client = ZkClient::new(vec![1], 0, 6_000);
    client.step(0, ZkClientInput::Tick);
    let connected = ZkResponse::Connected {
        session: SESSION,
        timeout_ms: 6_000,
    };
    client.step(1, ZkClientInput::Response(connected));
    client.step(2, ZkClientInput::Closed);
    let op = ZkOp::GetData {
        path: CONTROLLER_EPOCH.into(),
        watch: false,
    };
    let (xid, ready) = client.submit(3, op.clone());
    assert!(ready.sends.is_empty(), "queued while disconnected");
    client.step(4, ZkClientInput::Tick);
    let ready = client.step(
        5,
        ZkClientInput::Response(ZkResponse::Expired { session: SESSION }),
    );
    let failed = ZkEvent::Answer {
        xid,
        op,
        zxid: Zxid::default(),
        result: Err(ZkError::SessionExpired),
    };
    assert_eq!(
        ready.events,
        [ZkEvent::Expired { session: SESSION }, failed],
        "the queued read is failed, never sent under the next session"
    );
}
