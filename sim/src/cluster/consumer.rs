//! A consumer's node: it pumps the consumer machine (`ksim_model::client::Consumer`), one of
//! the workload's consumer group, and joins as a new member each time it starts.

use std::sync::Arc;
use std::time::Duration;

use ksim_model::client::consumer::REQUEST_TIMEOUT_MS;
use ksim_model::client::{Consumer, ConsumerSetup, Event};
use ksim_model::NodeId;
use madsim::time::Instant;

use crate::cluster::client::{apply, event_of};
use crate::cluster::ctx::{lock, now_ms, Ctx};
use crate::cluster::net::{NodeNet, CONSUMER_BASE};
use crate::cluster::timer::Timer;
use crate::scenario::Coordinator;

pub(crate) async fn consumer_node(ctx: Arc<Ctx>, n: u32) {
    let incarnation = {
        let mut inc = lock(&ctx.consumer_incarnations);
        let i = inc.entry(n).or_default();
        *i += 1;
        *i
    };
    let mut shutdown = ctx.shutdown.subscribe();
    let mut net = NodeNet::bind(
        NodeId::Client(CONSUMER_BASE + n),
        Duration::from_millis(REQUEST_TIMEOUT_MS),
        ctx.stats.clone(),
        ctx.links.clone(),
        shutdown.clone(),
    )
    .await;
    let mut consumer = Consumer::new(ConsumerSetup {
        n,
        incarnation,
        config: ctx.sc.consumer.clone(),
        // The group's coordinator is the active controller in KRaft mode and the controller
        // broker in ZooKeeper mode; each is found by asking in turn.
        coordinators: match ctx.sc.coordinator {
            Coordinator::Kraft => (1..=ctx.sc.controllers).map(NodeId::Controller).collect(),
            Coordinator::ZooKeeper => (1..=ctx.sc.brokers).map(NodeId::Broker).collect(),
        },
        selftest: ctx.sc.selftest,
    });
    let mut wake_timer = Timer::new(Instant::now());
    let mut event = Event::Woken;
    loop {
        let now = now_ms();
        let ready = consumer.step(now, event);
        apply(&ctx, &mut net, CONSUMER_BASE + n, ready.effects);
        let wait = Duration::from_millis(ready.wake_ms.saturating_sub(now));
        wake_timer.reset(Instant::now() + wait);
        event = tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            _ = wake_timer.wait() => Event::Woken,
            m = net.recv() => event_of(&ctx, ("consumer", n), m),
        };
    }
}
