//! A Kafka broker of the ZooKeeper era, sans-IO: the replication machine (`Broker`, the same
//! rules as in KRaft mode), its ZooKeeper session (`ZkClient`) and its controller
//! (`ZkController`, active on one broker at a time). What KRaft does through the controller
//! quorum, this broker does through ZooKeeper:
//!
//! - registration: the ephemeral `/brokers/ids/<id>`, whose czxid is the broker epoch
//!   (KIP-380); the replication machine's heartbeats are answered here, from it;
//! - an ISR change (the machine's AlterPartition) is a conditional write of the partition's
//!   state znode at the version the broker last learnt, then a sequential
//!   `/isr_change_notification/isr_change_`; a version conflict leaves the change pending until
//!   the controller's next LeaderAndIsr, as Kafka's "cached zkVersion not equal" does;
//! - LeaderAndIsr is obeyed only from the highest controller epoch seen (KAFKA-532) and only
//!   when it names this incarnation's broker epoch (KIP-380);
//! - a broker whose session expires registers again in a new one (a new broker epoch); until
//!   the controller tells it otherwise, a leader keeps leading.

use std::collections::BTreeMap;

use super::controller::{ControllerOut, Purpose, ZkController, ZkControllerConfig};
use super::group::{GroupOp, GroupOut, ZkGroup};
use super::producer_ids::{Claim, IdsOut, ProducerIds};
use super::*;
use crate::broker::Broker;
use crate::ids::{ConnId, TimeMs};
use crate::messages::{
    AlterPartitionRequest, ErrorCode, HeartbeatData, PartitionState, Request, Response,
};
use crate::step::{Envelope, Input, Ready};
use crate::zookeeper::{ZkAnswer, ZkClient, ZkClientInput, ZkError, ZkEvent, ZkOp, ZkSend, Zxid};
use crate::NodeId;

/// The ZooKeeper-era switches: each `true` is the rule Kafka has had since its fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZkRules {
    /// A broker refuses LeaderAndIsr from a controller epoch older than one it has seen
    /// (KAFKA-532): without it a zombie controller's orders are obeyed.
    pub controller_epoch_fencing: bool,
    /// A broker refuses LeaderAndIsr meant for another incarnation (KIP-380, KAFKA-7235).
    pub broker_epoch_fencing: bool,
    /// A leader writes its ISR only if the state znode is at the version it knows; without
    /// the check it overwrites the controller's newer state and the two drift apart.
    pub conditional_isr_update: bool,
}

impl From<&crate::config::Protocol> for ZkRules {
    fn from(p: &crate::config::Protocol) -> Self {
        ZkRules {
            controller_epoch_fencing: p.controller_epoch_fencing,
            broker_epoch_fencing: p.broker_epoch_fencing,
            conditional_isr_update: p.conditional_isr_update,
        }
    }
}

impl Default for ZkRules {
    fn default() -> Self {
        ZkRules {
            controller_epoch_fencing: true,
            broker_epoch_fencing: true,
            conditional_isr_update: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkBrokerConfig {
    pub controller: ZkControllerConfig,
    /// `zookeeper.connect`: the ensemble's servers.
    pub zookeeper: Vec<u32>,
    /// `zookeeper.session.timeout.ms` (18 s in Kafka 2.8).
    pub session_timeout_ms: u64,
    /// The listener's port (`localhost:9092` for broker 1 of the seed cluster).
    pub port: u16,
    pub rules: ZkRules,
    /// How many topics the partitions make (the group's assignor deals them topic by topic).
    pub topics: i32,
}

/// Whose answer a ZooKeeper reply is.
#[derive(Clone, Debug)]
enum Owner {
    /// A persistent path made sure of at startup.
    Setup,
    Register,
    /// After a lost connection: is our registration there?
    CheckRegistration,
    Controller(Purpose),
    /// An ISR change, and the controller node the replication machine addressed it to.
    Alter(AlterPartitionRequest, NodeId),
    /// After a version conflict: is the state znode already what that change wrote?
    AlterCheck(AlterPartitionRequest, NodeId),
    IsrNotice,
    /// A claim of a block of producer ids.
    ProducerIds(Claim),
    /// The group coordinator's reads and writes of the committed offsets.
    Group(GroupOp),
}

/// What a ZooKeeper-mode broker's step may be fed.
#[derive(Clone, Debug)]
pub enum ZkBrokerInput {
    Kafka(Input),
    Zk(ZkClientInput),
}

/// The output of one step.
#[derive(Debug, Default)]
pub struct ZkBrokerReady {
    pub kafka: Ready,
    pub zk: Vec<ZkSend>,
    /// The zxid of every ZooKeeper answer, for the client-order check.
    pub zk_answered_at: Vec<Zxid>,
}

#[derive(Debug)]
pub struct ZkBroker {
    pub broker: Broker,
    pub zk: ZkClient,
    pub controller: ZkController,
    cfg: ZkBrokerConfig,
    owners: BTreeMap<u64, Owner>,
    /// The czxid of this session's registration: the broker epoch.
    registered: Option<i64>,
    /// The highest controller epoch a LeaderAndIsr came with.
    controller_epoch: i32,
    /// The controller epoch of each partition's last applied state, written back with an
    /// ISR change as Kafka's leader does.
    state_epochs: BTreeMap<PartitionId, i32>,
    /// The metadata cache, from the controller's UpdateMetadata: live brokers, partitions.
    metadata: (Vec<BrokerId>, Vec<PartitionState>),
    /// Brokers whose connection from this broker broke, and when the controller sends them
    /// their state again.
    resend_due: BTreeMap<BrokerId, TimeMs>,
    /// The controller's requests that came before this session's registration completed.
    held: Vec<Input>,
    /// When to try registering again after finding another session's registration.
    register_due: Option<TimeMs>,
    /// The producer ids this broker hands out (idempotent producers' InitProducerId).
    producer_ids: ProducerIds,
    /// The consumer group, while this broker is the controller and so its coordinator.
    group: ZkGroup,
}

/// How long a broker that found its id registered by an earlier session takes to try again:
/// Kafka exits and is restarted by its supervisor (a JVM start and a log load: seconds).
const REGISTRATION_RETRY_MS: TimeMs = 3_000;

/// LeaderAndIsr or UpdateMetadata: what a broker hears from the controller, as (whether it
/// is a LeaderAndIsr, its controller epoch, the partitions it tells of).
fn from_controller(input: &Input) -> Option<(bool, i32, Vec<PartitionId>)> {
    let Input::Request { request, .. } = input else {
        return None;
    };
    match request {
        Request::ZkLeaderAndIsr {
            controller_epoch,
            partitions,
            ..
        } => Some((
            true,
            *controller_epoch,
            partitions.iter().map(|s| s.partition).collect(),
        )),
        Request::UpdateMetadata {
            controller_epoch, ..
        } => Some((false, *controller_epoch, Vec::new())),
        _ => None,
    }
}

/// Whether held request `new` makes held request `old` moot: a LeaderAndIsr for the same
/// partitions, or an UpdateMetadata (each carries the whole view), from the same controller
/// epoch or a newer one.
fn supersedes(new: &(bool, i32, Vec<PartitionId>), old: &(bool, i32, Vec<PartitionId>)) -> bool {
    new.0 == old.0 && new.1 >= old.1 && old.2.iter().all(|p| new.2.contains(p))
}

/// How long the controller's channel to a broker waits before it sends again after a broken
/// connection (Kafka's RequestSendThread backs off 100 ms).
const RESEND_BACKOFF_MS: TimeMs = 100;

impl ZkBroker {
    pub fn new(broker: Broker, mut cfg: ZkBrokerConfig) -> Self {
        cfg.controller.detect_bounced_brokers = cfg.rules.broker_epoch_fencing;
        let first = broker.id.unsigned_abs() as usize;
        let zk = ZkClient::new(cfg.zookeeper.clone(), first, cfg.session_timeout_ms);
        let group = ZkGroup::new(cfg.topics, cfg.controller.assignment.len() as i32);
        ZkBroker {
            broker,
            zk,
            controller: ZkController::new(cfg.controller.clone()),
            cfg,
            owners: BTreeMap::new(),
            registered: None,
            controller_epoch: 0,
            state_epochs: BTreeMap::new(),
            metadata: (Vec::new(), Vec::new()),
            resend_due: BTreeMap::new(),
            held: Vec::new(),
            register_due: None,
            producer_ids: ProducerIds::default(),
            group,
        }
    }

    /// This broker with the planted flaws of a self-test run, in its replication machine and
    /// its controller.
    pub fn with_selftest(mut self, selftest: crate::SelfTest) -> Self {
        self.controller = self.controller.with_selftest(selftest);
        self
    }

    /// The broker epoch, once registered in this session.
    pub fn registered(&self) -> Option<i64> {
        self.registered
    }

    pub fn step(&mut self, now: TimeMs, input: ZkBrokerInput) -> ZkBrokerReady {
        let mut ready = ZkBrokerReady::default();
        match input {
            ZkBrokerInput::Kafka(input) => self.kafka_input(now, input, &mut ready),
            ZkBrokerInput::Zk(input) => {
                let zk = self.zk.step(now, input);
                self.zk_ready(now, zk, &mut ready);
            }
        }
        ready
    }

    /// A Kafka input: the controller's requests are answered here (fenced LeaderAndIsr,
    /// UpdateMetadata, and Metadata from its cache), the rest go to the replication machine;
    /// a tick also ticks the ZooKeeper client.
    fn kafka_input(&mut self, now: TimeMs, input: Input, ready: &mut ZkBrokerReady) {
        if let (None, Some(new)) = (self.registered, from_controller(&input)) {
            // Kafka starts processing requests only once it has registered: a controller that
            // saw the registration first is heard after it (then fenced as any other). What a
            // newer request supersedes goes, so the queue stays within one request per
            // partition and one metadata view.
            self.held
                .retain(|old| from_controller(old).is_none_or(|old| !supersedes(&new, &old)));
            self.held.push(input);
            return;
        }
        match input {
            Input::Request {
                conn,
                from,
                request:
                    Request::ZkLeaderAndIsr {
                        controller_epoch,
                        broker_epoch,
                        partitions,
                    },
            } => self.leader_and_isr(
                now,
                (conn, from),
                controller_epoch,
                broker_epoch,
                partitions,
                ready,
            ),
            Input::Request {
                request:
                    Request::UpdateMetadata {
                        controller_epoch,
                        brokers,
                        partitions,
                    },
                ..
            } => self.update_metadata(controller_epoch, brokers, partitions, ready),
            Input::Request {
                conn,
                request: Request::InitProducerId { correlation_id },
                ..
            } => {
                let mut out = IdsOut::default();
                self.producer_ids.request(conn, correlation_id, &mut out);
                self.ids_out(now, out, ready);
            }
            Input::Request { conn, request, .. } if crate::group::is_group_request(&request) => {
                let mut out = GroupOut::default();
                let epoch = self.coordinator_epoch();
                self.group.request(now, epoch, conn, request, &mut out);
                self.group_out(now, out, ready);
            }
            Input::Request {
                conn,
                request: Request::Metadata { correlation_id },
                ..
            } => {
                let (brokers, partitions) = self.metadata.clone();
                let response = Response::Metadata {
                    correlation_id,
                    brokers,
                    partitions,
                };
                ready.kafka.sends.push(Envelope::Reply { conn, response });
            }
            Input::Disconnected {
                peer: NodeId::Broker(b),
            } => {
                self.kafka_step(now, input, ready);
                self.resend_due.entry(b).or_insert(now + RESEND_BACKOFF_MS);
            }
            Input::Tick => {
                let mut out = GroupOut::default();
                self.group.tick(now, self.coordinator_epoch(), &mut out);
                self.group_out(now, out, ready);
                self.resend(now, ready);
                if self.register_due.is_some_and(|at| at <= now) {
                    self.register_due = None;
                    self.register(now, ready);
                }
                self.kafka_step(now, Input::Tick, ready);
                let zk = self.zk.step(now, ZkClientInput::Tick);
                self.zk_ready(now, zk, ready);
            }
            input => self.kafka_step(now, input, ready),
        }
    }

    /// Step the replication machine; answer its controller traffic from ZooKeeper.
    fn kafka_step(&mut self, now: TimeMs, input: Input, ready: &mut ZkBrokerReady) {
        let mut out = self.broker.step(now, input);
        let mut local = Vec::new();
        for send in std::mem::take(&mut out.sends) {
            match send {
                Envelope::To {
                    node: node @ NodeId::Controller(_),
                    request: Request::BrokerHeartbeat { .. },
                } => {
                    let data = HeartbeatData {
                        broker_epoch: self.registered.unwrap_or(-1),
                        fenced: self.registered.is_none(),
                        partitions: Vec::new(),
                    };
                    let response = Response::BrokerHeartbeat { result: Ok(data) };
                    local.push(Input::Response {
                        from: node,
                        response,
                    });
                }
                Envelope::To {
                    node,
                    request: Request::AlterPartition(request),
                } => self.write_isr(now, request, node, ready),
                send => out.sends.push(send),
            }
        }
        ready.kafka.extend(out);
        for input in local {
            self.kafka_step(now, input, ready);
        }
    }

    /// The controller sends again what a broken connection may have lost.
    fn resend(&mut self, now: TimeMs, ready: &mut ZkBrokerReady) {
        let due: Vec<BrokerId> = self
            .resend_due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(b, _)| *b)
            .collect();
        for b in due {
            self.resend_due.remove(&b);
            let mut out = ControllerOut::default();
            self.controller.connection_lost(b, &mut out);
            self.controller_out(now, out, ready);
        }
    }

    fn leader_and_isr(
        &mut self,
        now: TimeMs,
        (conn, from): (ConnId, NodeId),
        controller_epoch: i32,
        broker_epoch: i64,
        partitions: Vec<PartitionState>,
        ready: &mut ZkBrokerReady,
    ) {
        let rules = self.cfg.rules;
        if controller_epoch < self.controller_epoch {
            if rules.controller_epoch_fencing {
                return;
            }
            stale_epoch_applied(ready);
        }
        if rules.broker_epoch_fencing && Some(broker_epoch) != self.registered {
            return;
        }
        self.controller_epoch = self.controller_epoch.max(controller_epoch);
        for state in &partitions {
            self.state_epochs.insert(state.partition, controller_epoch);
        }
        let request = Request::LeaderAndIsr { partitions };
        self.kafka_step(
            now,
            Input::Request {
                conn,
                from,
                request,
            },
            ready,
        );
    }

    /// The controller's view, cached unless it comes from an older controller epoch.
    fn update_metadata(
        &mut self,
        epoch: i32,
        brokers: Vec<BrokerId>,
        partitions: Vec<PartitionState>,
        ready: &mut ZkBrokerReady,
    ) {
        if epoch < self.controller_epoch {
            if self.cfg.rules.controller_epoch_fencing {
                return;
            }
            stale_epoch_applied(ready);
        }
        self.controller_epoch = self.controller_epoch.max(epoch);
        self.metadata = (brokers, partitions);
    }

    /// The leader's ISR change, written to the state znode.
    fn write_isr(
        &mut self,
        now: TimeMs,
        request: AlterPartitionRequest,
        to: NodeId,
        ready: &mut ZkBrokerReady,
    ) {
        let state = LeaderIsr {
            controller_epoch: self
                .state_epochs
                .get(&request.partition)
                .copied()
                .unwrap_or(0),
            leader: request.leader,
            version: 1,
            leader_epoch: request.leader_epoch,
            isr: request.proposal().1,
        };
        let version = if self.cfg.rules.conditional_isr_update {
            request.partition_epoch
        } else {
            -1
        };
        let op = ZkOp::SetData {
            path: state_path(&self.cfg.controller.topic, request.partition),
            data: state.to_bytes(),
            version,
        };
        self.submit(now, Owner::Alter(request, to), op, ready);
    }

    fn submit(&mut self, now: TimeMs, owner: Owner, op: ZkOp, ready: &mut ZkBrokerReady) {
        let (xid, zk) = self.zk.submit(now, op);
        self.owners.insert(xid, owner);
        self.zk_ready(now, zk, ready);
    }

    fn zk_ready(
        &mut self,
        now: TimeMs,
        zk: crate::zookeeper::ZkClientReady,
        ready: &mut ZkBrokerReady,
    ) {
        ready.zk.extend(zk.sends);
        ready.zk_answered_at.extend(zk.answered_at);
        for event in zk.events {
            self.zk_event(now, event, ready);
        }
    }

    fn zk_event(&mut self, now: TimeMs, event: ZkEvent, ready: &mut ZkBrokerReady) {
        let mut out = ControllerOut::default();
        match event {
            ZkEvent::Connected {
                fresh: true,
                session,
                ..
            } => {
                self.registered = None;
                self.register_due = None;
                for path in PERSISTENT_PATHS {
                    self.submit(now, Owner::Setup, persistent(path), ready);
                }
                self.register(now, ready);
                self.controller.on_session(session, &mut out);
            }
            ZkEvent::Connected { .. } => {}
            ZkEvent::Expired { .. } => {
                self.registered = None;
                self.controller.on_expired();
                self.zk.renew();
            }
            ZkEvent::Watch { path, kind } => self.controller.on_watch(&path, kind, &mut out),
            ZkEvent::Answer { xid, result, .. } => {
                let result = result.map_err(Some);
                self.answered(now, xid, result, &mut out, ready);
            }
            ZkEvent::ConnectionLoss { xid, op } => self.lost(now, xid, op, &mut out, ready),
        }
        self.controller_out(now, out, ready);
    }

    fn register(&mut self, now: TimeMs, ready: &mut ZkBrokerReady) {
        let op = ZkOp::Create {
            path: broker_path(self.broker.id),
            data: registration_data(self.cfg.port),
            ephemeral: true,
            sequential: false,
        };
        self.submit(now, Owner::Register, op, ready);
    }

    /// Registered: the replication machine learns its broker epoch at once (as from KRaft's
    /// registration answer), so that the controller's LeaderAndIsr, which may follow at once,
    /// is not dropped as meant for an unregistered incarnation.
    fn now_registered(&mut self, now: TimeMs, broker_epoch: i64, ready: &mut ZkBrokerReady) {
        self.registered = Some(broker_epoch);
        let data = HeartbeatData {
            broker_epoch,
            fenced: false,
            partitions: Vec::new(),
        };
        let input = Input::Response {
            from: self.broker.controller(),
            response: Response::BrokerHeartbeat { result: Ok(data) },
        };
        self.kafka_step(now, input, ready);
        for held in std::mem::take(&mut self.held) {
            self.kafka_input(now, held, ready);
        }
    }

    /// Kafka's ZooKeeper client retries a request until connected: a read, or a write whose
    /// repetition is harmless (a persistent path, an ISR-change notification), is asked again
    /// unseen by its asker; any other write is told its outcome is unknown.
    fn lost(
        &mut self,
        now: TimeMs,
        xid: u64,
        op: ZkOp,
        out: &mut ControllerOut,
        ready: &mut ZkBrokerReady,
    ) {
        let read = matches!(
            op,
            ZkOp::GetData { .. } | ZkOp::GetChildren { .. } | ZkOp::Exists { .. }
        );
        match self.owners.get(&xid) {
            Some(Owner::Controller(_)) if read => {}
            // The controller's conditional or create-once writes, as Kafka's controller asks
            // them again: a read after the loss may come before the lost write commits, and
            // the controller then acted on a state that changed behind it.
            Some(Owner::Controller(
                Purpose::WriteState(..) | Purpose::CreateState(..) | Purpose::CreatePath,
            )) => {}
            // A conditional write, so asking again is harmless: Kafka's
            // retryRequestsUntilConnected.
            Some(
                Owner::Setup
                | Owner::IsrNotice
                | Owner::Alter(..)
                | Owner::AlterCheck(..)
                | Owner::ProducerIds(_)
                | Owner::Group(_),
            ) => {}
            _ => return self.answered(now, xid, Err(None), out, ready),
        }
        if let Some(owner) = self.owners.remove(&xid) {
            self.submit(now, owner, op, ready);
        }
    }

    fn answered(
        &mut self,
        now: TimeMs,
        xid: u64,
        result: Result<ZkAnswer, Option<ZkError>>,
        out: &mut ControllerOut,
        ready: &mut ZkBrokerReady,
    ) {
        let Some(owner) = self.owners.remove(&xid) else {
            return;
        };
        match (owner, result) {
            (Owner::Setup | Owner::IsrNotice, _) => {}
            (Owner::Register, Ok(ZkAnswer::Created { stat, .. })) => {
                self.now_registered(now, stat.czxid.as_u64() as i64, ready);
            }
            // Asked by an expired session: the next session registers afresh.
            (Owner::Register | Owner::CheckRegistration, Err(Some(ZkError::SessionExpired))) => {}
            // The previous session's registration is still there until that session expires;
            // or the connection went and the outcome is unknown: look.
            (Owner::Register, Err(_)) => {
                let op = ZkOp::Exists {
                    path: broker_path(self.broker.id),
                    watch: false,
                };
                self.submit(now, Owner::CheckRegistration, op, ready);
            }
            (Owner::CheckRegistration, Ok(ZkAnswer::Exists(Some(stat)))) => {
                if stat.ephemeral_owner == self.zk.session() {
                    self.now_registered(now, stat.czxid.as_u64() as i64, ready);
                } else {
                    // Another session's registration: Kafka's broker fails its startup
                    // ("node already exists and owner does not match current session") and
                    // its supervisor starts it again, a process start and log load later.
                    self.register_due = Some(now + REGISTRATION_RETRY_MS);
                }
            }
            (Owner::CheckRegistration, _) => self.register(now, ready),
            (Owner::Controller(purpose), result) => self.controller.on_answer(purpose, result, out),
            (Owner::ProducerIds(claim), result) => {
                let mut ids = IdsOut::default();
                self.producer_ids
                    .on_answer(self.broker.id, claim, result, &mut ids);
                self.ids_out(now, ids, ready);
            }
            (Owner::Group(op), result) => {
                let mut out = GroupOut::default();
                let epoch = self.coordinator_epoch();
                self.group.on_answer(now, epoch, op, result, &mut out);
                self.group_out(now, out, ready);
            }
            (Owner::Alter(request, to), Err(Some(ZkError::BadVersion)))
                if self.cfg.rules.conditional_isr_update =>
            {
                let op = ZkOp::GetData {
                    path: state_path(&self.cfg.controller.topic, request.partition),
                    watch: false,
                };
                self.submit(now, Owner::AlterCheck(request, to), op, ready);
            }
            (Owner::Alter(request, to), result) => {
                self.isr_written(now, (request, to), result, ready)
            }
            (Owner::AlterCheck(request, to), result) => {
                let result = already_written(&request, result);
                self.isr_written(now, (request, to), result, ready)
            }
            (_, _) => {}
        }
    }

    /// Tell the replication machine how its ISR change went, and the controller that it
    /// happened.
    fn isr_written(
        &mut self,
        now: TimeMs,
        (request, from): (AlterPartitionRequest, NodeId),
        result: Result<ZkAnswer, Option<ZkError>>,
        ready: &mut ZkBrokerReady,
    ) {
        let p = request.partition;
        let result = match result {
            Ok(ZkAnswer::SetData(stat)) => Ok(PartitionState {
                partition: p,
                replicas: self.controller.replicas(p),
                leader: Some(request.leader),
                leader_epoch: request.leader_epoch,
                partition_epoch: stat.version,
                isr: request.proposal().1,
                elr: Vec::new(),
                last_known_elr: Vec::new(),
            }),
            Err(Some(ZkError::BadVersion)) => Err(ErrorCode::InvalidUpdateVersion),
            _ => Err(ErrorCode::RequestTimedOut),
        };
        if result.is_ok() {
            let op = ZkOp::Create {
                path: format!("{ISR_CHANGE_NOTIFICATION}/isr_change_"),
                data: bytes::Bytes::from(p.to_string()),
                ephemeral: false,
                sequential: true,
            };
            self.submit(now, Owner::IsrNotice, op, ready);
        }
        let response = Response::AlterPartition {
            partition: p,
            proposal: request.proposal(),
            result,
        };
        self.kafka_step(now, Input::Response { from, response }, ready);
    }

    /// A producer-id claim's operations go to ZooKeeper, its answers to the producers.
    fn ids_out(&mut self, now: TimeMs, out: IdsOut, ready: &mut ZkBrokerReady) {
        for (claim, op) in out.ops {
            self.submit(now, Owner::ProducerIds(claim), op, ready);
        }
        for (conn, correlation_id, id) in out.answers {
            let response = Response::InitProducerId {
                correlation_id,
                result: Ok(id),
            };
            ready.kafka.sends.push(Envelope::Reply { conn, response });
        }
    }

    /// The controller epoch this broker coordinates the group in: it does while it is the
    /// controller.
    fn coordinator_epoch(&self) -> Option<i32> {
        self.controller.is_active().then(|| self.controller.epoch())
    }

    /// The group coordinator's operations go to ZooKeeper, its answers to the consumers.
    fn group_out(&mut self, now: TimeMs, out: GroupOut, ready: &mut ZkBrokerReady) {
        for (op, zk) in out.ops {
            self.submit(now, Owner::Group(op), zk, ready);
        }
        for (conn, response) in out.answers {
            ready.kafka.sends.push(Envelope::Reply { conn, response });
        }
    }

    /// The controller's operations go to ZooKeeper; its LeaderAndIsr to brokers, this one's
    /// own obeyed at once.
    fn controller_out(&mut self, now: TimeMs, out: ControllerOut, ready: &mut ZkBrokerReady) {
        ready.kafka.notes.extend(out.notes);
        for (purpose, op) in out.ops {
            self.submit(now, Owner::Controller(purpose), op, ready);
        }
        for send in out.sends {
            match send {
                // This broker's own controller: obeyed as if it had come over the network.
                Envelope::To {
                    node: from @ NodeId::Broker(b),
                    request,
                } if b == self.broker.id => {
                    let input = Input::Request {
                        conn: 0,
                        from,
                        request,
                    };
                    self.kafka_input(now, input, ready);
                }
                send => ready.kafka.sends.push(send),
            }
        }
    }
}

/// KAFKA-1382 (Kafka's checkLeaderAndIsrZkData): a conditional ISR write that meets a newer
/// version may be its own earlier copy whose answer was lost with the connection. If the
/// znode holds what it wrote, it succeeded at that version; else the conflict stands, and the
/// leader waits for the controller's word. Without this a leader kept retrying with a
/// version that could never match and its HW stayed below an ISR it had itself written
/// (ZooKeeper-mode swarm seeds 2047 and 3031 of default).
fn already_written(
    request: &AlterPartitionRequest,
    read: Result<ZkAnswer, Option<ZkError>>,
) -> Result<ZkAnswer, Option<ZkError>> {
    let Ok(ZkAnswer::Data { data, stat }) = read else {
        return Err(Some(ZkError::BadVersion));
    };
    match LeaderIsr::from_bytes(&data) {
        Some(state)
            if state.leader == request.leader
                && state.leader_epoch == request.leader_epoch
                && state.isr == request.proposal().1 =>
        {
            Ok(ZkAnswer::SetData(stat))
        }
        _ => Err(Some(ZkError::BadVersion)),
    }
}

fn persistent(path: &str) -> ZkOp {
    ZkOp::Create {
        path: path.into(),
        data: bytes::Bytes::new(),
        ephemeral: false,
        sequential: false,
    }
}

/// The coverage mark of a request from an older controller epoch applied (no fencing).
fn stale_epoch_applied(ready: &mut ZkBrokerReady) {
    let mark = crate::Note::Mark(crate::Mark::StaleControllerEpochApplied);
    ready.kafka.notes.push(mark);
}
