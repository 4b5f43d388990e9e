//! What every server node's loop shares: its event source (connections, a tick on its own
//! clock, the end of the run), a message as the machine's input, a step's sends carried out,
//! and the count of a node's (re)starts.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use ksim_model::{Broker, BrokerId, Envelope, Input, NodeId, Ready};
use madsim::time::Instant;

use crate::cluster::ctx::{lock, Ctx};
use crate::cluster::net::{Inbound, NodeNet};
use crate::cluster::timer::Timer;

/// How often every node's state machine is ticked.
pub(crate) const TICK_MS: u64 = 50;
/// Broker-to-broker and broker-to-controller requests time out after this
/// (`replica.socket.timeout.ms` and `request.timeout.ms` both default to 30 s).
pub(crate) const INTERNAL_REQUEST_TIMEOUT_MS: u64 = 30_000;

/// A message as a Kafka server's input, and its kind for the trace; `None` for the end of an
/// accepted connection, which only a ZooKeeper server asks to hear.
pub(crate) fn to_input(m: Inbound) -> Option<(Input, &'static str)> {
    Some(match m {
        Inbound::Request {
            conn,
            from,
            request,
        } => (
            Input::Request {
                conn,
                from,
                request,
            },
            "request",
        ),
        Inbound::Response { from, response } => (Input::Response { from, response }, "response"),
        Inbound::Disconnected { peer, .. } => (Input::Disconnected { peer }, "disconnected"),
        Inbound::Closed { .. } => return None,
    })
}

pub(crate) async fn dispatch(net: &mut NodeNet, sends: Vec<Envelope>) {
    for e in sends {
        match e {
            Envelope::To { node, request } => net.send(node, request),
            Envelope::Reply { conn, response } => net.reply(conn, response).await,
        }
    }
}

/// What wakes a server node.
pub(crate) enum Wake {
    Tick,
    Net(Inbound),
}

/// A server's event source: its connections, a tick every `TICK_MS` of its own clock, and the
/// end of the run.
pub(crate) struct ServerLoop {
    me: NodeId,
    pub(crate) net: NodeNet,
    shutdown: tokio::sync::watch::Receiver<bool>,
    tick: Timer,
}

impl ServerLoop {
    pub(crate) async fn bind(ctx: &Ctx, me: NodeId) -> ServerLoop {
        let timeout = Duration::from_millis(INTERNAL_REQUEST_TIMEOUT_MS);
        let shutdown = ctx.shutdown.subscribe();
        let net = NodeNet::bind(
            me,
            timeout,
            ctx.stats.clone(),
            ctx.links.clone(),
            shutdown.clone(),
        )
        .await;
        ServerLoop {
            me,
            net,
            shutdown,
            tick: Timer::new(Instant::now()),
        }
    }

    /// The next wake-up, or `None` when the run is over.
    pub(crate) async fn wake(&mut self, ctx: &Ctx) -> Option<Wake> {
        tokio::select! {
            biased;
            // Every task must end with the run: one left pending outlives its runtime and made
            // runs on other threads differ (see tests/sweep.rs).
            _ = self.shutdown.changed() => None,
            _ = self.tick.wait() => {
                let percent = u64::from(lock(&ctx.clocks).percent(self.me));
                let next = self.tick.deadline() + Duration::from_micros(TICK_MS * 100_000 / percent);
                self.tick.reset(next);
                Some(Wake::Tick)
            }
            m = self.net.recv() => Some(Wake::Net(m)),
        }
    }

    /// The next input and its kind (for the trace), or `None` when the run is over.
    pub(crate) async fn next(&mut self, ctx: &Ctx) -> Option<(Input, &'static str)> {
        loop {
            match self.wake(ctx).await? {
                Wake::Tick => return Some((Input::Tick, "tick")),
                Wake::Net(m) => {
                    if let Some(input) = to_input(m) {
                        return Some(input);
                    }
                }
            }
        }
    }
}

/// A (re)starting broker's replication machine, in both modes: its next incarnation, its log,
/// leader-epoch cache and HW recovered from its disk.
pub(crate) fn broker_machine(ctx: &Ctx, id: BrokerId) -> Broker {
    let incarnation = next_incarnation(&ctx.incarnations, id);
    let logs = lock(&ctx.disks).recover(id);
    let now = ctx.local_ms(NodeId::Broker(id));
    Broker::new(id, ctx.sc.broker.clone(), incarnation, now, logs).with_selftest(ctx.sc.selftest)
}

/// The fault `stale-metadata` began or ended for this broker: what the machine did about it.
pub(crate) fn metadata_stall_change(ctx: &Ctx, broker: &mut Broker) -> Option<Ready> {
    let stalled = lock(&ctx.stalled_metadata).contains(&broker.id);
    if stalled == broker.metadata_stalled() {
        return None;
    }
    let now = ctx.local_ms(NodeId::Broker(broker.id));
    Some(broker.set_metadata_stalled(now, stalled))
}

/// Count a (re)start of node `id`: its incarnation number, from 1.
pub(crate) fn next_incarnation<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, id: K) -> u64 {
    let mut inc = lock(map);
    let n = inc.entry(id).or_default();
    *n += 1;
    *n
}
