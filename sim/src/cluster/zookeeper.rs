//! ZooKeeper mode's nodes: a ZooKeeper server (`server.N`) pumping `ZkServer` over its
//! transaction log on the simulated disk, and a ZooKeeper-era broker pumping `ZkBroker` (the
//! replication machine, its ZooKeeper session and its controller) over the same network.

use std::sync::Arc;

use ksim_model::kafka_zk::broker::{ZkBroker, ZkBrokerConfig, ZkBrokerInput, ZkBrokerReady};
use ksim_model::kafka_zk::controller::ZkControllerConfig;
use ksim_model::zookeeper::{ZkClientInput, ZkInput, ZkSend, ZkServer};
use ksim_model::{assignment, BrokerId, Input, NodeId, Request, Response};
use rand_chacha::ChaCha8Rng;

use crate::cluster::ctx::{lock, now_ms, Ctx};
use crate::cluster::net::{Inbound, NodeNet};
use crate::cluster::node::{
    broker_machine, dispatch, metadata_stall_change, next_incarnation, ServerLoop, Wake,
};
use crate::scenario::streams::{stream_of, StreamId};
use crate::scenario::Scenario;

/// One ZooKeeper server: it recovers its transaction log from its disk, writes each step's
/// log and epoch changes before its messages leave (fsynced with `forceSync`), and hears when
/// a client's connection closes.
pub(crate) async fn zookeeper_node(ctx: Arc<Ctx>, id: u32) {
    let incarnation = next_incarnation(&ctx.zookeeper_incarnations, id);
    let me = NodeId::ZooKeeper(id);
    let sub = (u64::from(id) << 32) | incarnation;
    let mut rng = stream_of(ctx.seed, StreamId::ZooKeeper, sub);
    let persisted = lock(&ctx.disks).recover_zookeeper(id);
    let now = ctx.local_ms(me);
    let mut server = ZkServer::new(id, ctx.sc.zk_config(), persisted, now, &mut rng)
        .with_selftest(ctx.sc.selftest);
    let mut node = ServerLoop::bind(&ctx, me).await;
    node.net.tell_closed();
    // An expiry meant for the process that died is not this one's to act on later.
    lock(&ctx.zk_expiries).remove(&id);
    while let Some(wake) = node.wake(&ctx).await {
        let expiries = lock(&ctx.zk_expiries).remove(&id).unwrap_or_default();
        for path in expiries {
            let input = ZkInput::ExpireOwnerOf { path };
            zk_step(
                &ctx,
                (&mut server, &mut node.net),
                input,
                "expire",
                &mut rng,
            )
            .await;
        }
        let Some((input, kind)) = zk_input(wake) else {
            continue;
        };
        zk_step(&ctx, (&mut server, &mut node.net), input, kind, &mut rng).await;
    }
}

/// One step of server `server`: its log to disk, then its messages.
async fn zk_step(
    ctx: &Ctx,
    (server, net): (&mut ZkServer, &mut NodeNet),
    input: ZkInput,
    kind: &'static str,
    rng: &mut ChaCha8Rng,
) {
    let id = server.id();
    let me = NodeId::ZooKeeper(id);
    // Ticks and session deadlines are measured on this server's clock.
    let ready = server.step(ctx.local_ms(me), input, rng);
    lock(&ctx.disks).apply_zookeeper(id, &ready.persist, ready.fsync);
    ctx.observe().after_zk_step(now_ms(), server, kind, &ready);
    for (to, msg) in ready.peers {
        net.send(NodeId::ZooKeeper(to), Request::ZkPeer { from: id, msg });
    }
    for (conn, response) in ready.clients {
        net.reply(conn, Response::Zk(response)).await;
    }
    for conn in ready.close {
        net.close_accepted(conn);
    }
}

/// What a ZooKeeper server hears, and its kind for the trace; nothing for Kafka traffic. A
/// broken link with a peer, either way, is told: a follower that loses its leader's link drops
/// its clients.
fn zk_input(wake: Wake) -> Option<(ZkInput, &'static str)> {
    Some(match wake {
        Wake::Tick => (ZkInput::Tick, "tick"),
        Wake::Net(Inbound::Request {
            conn,
            request: Request::Zk(request),
            ..
        }) => (ZkInput::Client { conn, request }, "client"),
        Wake::Net(Inbound::Request {
            request: Request::ZkPeer { from, msg },
            ..
        }) => (ZkInput::Peer { from, msg }, "peer"),
        Wake::Net(Inbound::Closed {
            from: NodeId::ZooKeeper(peer),
            ..
        })
        | Wake::Net(Inbound::Disconnected {
            peer: NodeId::ZooKeeper(peer),
            ..
        }) => (ZkInput::PeerLost { peer }, "peer_lost"),
        Wake::Net(Inbound::Closed { conn, .. }) => (ZkInput::ClientGone { conn }, "client_gone"),
        Wake::Net(_) => return None,
    })
}

/// A ZooKeeper-era broker's configuration: `zookeeper.connect` is the whole ensemble, the
/// controller knows every partition's replicas (all topics' partitions under the first
/// topic's znodes, numbered as the cluster numbers them).
fn zk_broker_config(sc: &Scenario, id: BrokerId) -> ZkBrokerConfig {
    let assignment = (0..sc.total_partitions())
        .map(|p| (p, assignment(p, sc.brokers, sc.replication_factor)))
        .collect();
    let topic = sc.workload.topics.first().cloned().unwrap_or_default();
    ZkBrokerConfig {
        controller: ZkControllerConfig {
            broker: id,
            topic,
            assignment,
            unclean_leader_election: sc.broker.unclean_leader_election_enable,
            detect_bounced_brokers: true,
        },
        zookeeper: (1..=sc.zookeepers).collect(),
        session_timeout_ms: sc.zookeeper_session_timeout_ms,
        port: crate::cluster::net::PORT + id as u16 - 1,
        rules: (&sc.broker.protocol).into(),
        topics: sc.workload.topics.len().max(1) as i32,
    }
}

/// One ZooKeeper-era broker: its logs recovered from its disk, its session opened on the
/// ensemble, and each step's ZooKeeper traffic on its one connection to a server.
pub(crate) async fn zk_broker_node(ctx: Arc<Ctx>, id: BrokerId) {
    let me = NodeId::Broker(id);
    let broker = broker_machine(&ctx, id);
    let mut zb =
        ZkBroker::new(broker, zk_broker_config(&ctx.sc, id)).with_selftest(ctx.sc.selftest);
    let mut node = ServerLoop::bind(&ctx, me).await;
    let mut server: Option<u32> = None;
    while let Some(wake) = node.next_zk(&ctx).await {
        let (input, kind) = match wake {
            ZkWake::Kafka(input, kind) => (ZkBrokerInput::Kafka(input), kind),
            ZkWake::Zk(from, input) if Some(from) == server => {
                if matches!(input, ZkClientInput::Closed) {
                    server = None;
                }
                (ZkBrokerInput::Zk(input), "zookeeper")
            }
            ZkWake::Zk(..) => continue,
        };
        if kind == "tick" {
            stall_metadata(&ctx, &mut zb, &mut node.net, &mut server).await;
        }
        let ready = zb.step(ctx.local_ms(me), input);
        after_zk_broker_step(&ctx, &mut node.net, &zb, kind, ready, &mut server).await;
    }
}

/// The fault `stale-metadata`: the broker stops applying the controller's partition states
/// (and catches up when it ends), as in KRaft mode.
async fn stall_metadata(ctx: &Ctx, zb: &mut ZkBroker, net: &mut NodeNet, server: &mut Option<u32>) {
    if let Some(kafka) = metadata_stall_change(ctx, &mut zb.broker) {
        let ready = ZkBrokerReady {
            kafka,
            ..ZkBrokerReady::default()
        };
        after_zk_broker_step(ctx, net, zb, "metadata", ready, server).await;
    }
}

async fn after_zk_broker_step(
    ctx: &Ctx,
    net: &mut NodeNet,
    zb: &ZkBroker,
    kind: &'static str,
    ready: ZkBrokerReady,
    server: &mut Option<u32>,
) {
    lock(&ctx.disks).apply(zb.broker.id, &ready.kafka.disk);
    {
        let mut obs = ctx.observe();
        obs.after_broker_step(now_ms(), &zb.broker, kind, &ready.kafka);
        obs.zk_client_saw(zb.zk.session(), &ready.zk_answered_at);
    }
    for send in ready.zk {
        match send {
            ZkSend::Connect {
                server: to,
                request,
            } => {
                *server = Some(to);
                net.send(NodeId::ZooKeeper(to), Request::Zk(request));
            }
            ZkSend::Request(request) => {
                if let Some(to) = *server {
                    net.send(NodeId::ZooKeeper(to), Request::Zk(request));
                }
            }
            ZkSend::Close => {
                if let Some(to) = server.take() {
                    net.close(NodeId::ZooKeeper(to));
                }
            }
        }
    }
    dispatch(net, ready.kafka.sends).await;
}

/// What wakes a ZooKeeper-era broker: Kafka traffic and ticks, or news on a connection to a
/// ZooKeeper server.
enum ZkWake {
    Kafka(Input, &'static str),
    Zk(u32, ZkClientInput),
}

impl ServerLoop {
    /// The next input of a ZooKeeper-era broker, or `None` when the run is over.
    async fn next_zk(&mut self, ctx: &Ctx) -> Option<ZkWake> {
        loop {
            let m = match self.wake(ctx).await? {
                Wake::Tick => return Some(ZkWake::Kafka(Input::Tick, "tick")),
                Wake::Net(m) => m,
            };
            return Some(match m {
                Inbound::Response {
                    from: NodeId::ZooKeeper(z),
                    response: Response::Zk(r),
                } => ZkWake::Zk(z, ZkClientInput::Response(r)),
                Inbound::Disconnected {
                    peer: NodeId::ZooKeeper(z),
                    ..
                } => ZkWake::Zk(z, ZkClientInput::Closed),
                m => match crate::cluster::node::to_input(m) {
                    Some((input, kind)) => ZkWake::Kafka(input, kind),
                    None => continue,
                },
            });
        }
    }
}
