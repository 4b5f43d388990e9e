//! The producer's node: it pumps the producer machine (`ksim_model::client::Producer`) and
//! plays the application that hands it records, at the workload's rate, to its topics in
//! turn, each with the run's next unique value id.

use std::sync::Arc;
use std::time::Duration;

use ksim_model::client::{Event, Producer, ProducerInput, ProducerRecord, ProducerSetup};
use ksim_model::NodeId;
use madsim::time::{Instant, TimeHandle};

use crate::cluster::client::{apply, event_of};
use crate::cluster::ctx::{lock, now_ms, Ctx};
use crate::cluster::net::NodeNet;
use crate::cluster::timer::Timer;
use crate::scenario::streams::{stream_of, StreamId};
use crate::scenario::Coordinator;

fn setup(ctx: &Ctx, idx: u32) -> ProducerSetup {
    let sc = &ctx.sc;
    ProducerSetup {
        idx,
        config: sc.producer.clone(),
        partitions: sc.partitions,
        topics: sc.workload.topics.len(),
        value_bytes: sc.workload.value_bytes,
        // Metadata comes from the controllers in KRaft mode; in ZooKeeper mode every broker
        // answers it from its cache (`bootstrap.servers`).
        bootstrap: match sc.coordinator {
            Coordinator::Kraft => (1..=sc.controllers).map(NodeId::Controller).collect(),
            Coordinator::ZooKeeper => (1..=sc.brokers).map(NodeId::Broker).collect(),
        },
        selftest: sc.selftest,
        rng: stream_of(ctx.seed, StreamId::Partitioner, u64::from(idx)),
    }
}

pub(crate) async fn producer_node(ctx: Arc<Ctx>, idx: u32) {
    let sc = ctx.sc.clone();
    let mut shutdown = ctx.shutdown.subscribe();
    // The producer applies request.timeout.ms itself, per request.
    let mut net = NodeNet::bind(
        NodeId::Client(idx),
        Duration::from_secs(86_400),
        ctx.stats.clone(),
        ctx.links.clone(),
        shutdown.clone(),
    )
    .await;
    let mut producer = Producer::new(setup(&ctx, idx));
    // The machine counts time from the run's start; the timer wants instants.
    let start = Instant::now() - TimeHandle::current().elapsed();
    let interval = Duration::from_micros(1_000_000 / sc.workload.rate_per_sec.max(1) as u64);
    let mut next_send = Instant::now();
    // Keyed records (`[workload] keys`): the producer's n-th send slot writes key "key-<n mod
    // keys>", placed by the Java client's partitioner (murmur2 of the key bytes).
    let mut slot: u64 = 0;
    let mut wake_timer = Timer::new(Instant::now());
    let mut input = ProducerInput {
        event: Event::Woken,
        send: None,
    };
    loop {
        let ready = producer.step(TimeHandle::current().elapsed(), input);
        if ready.accepted {
            *lock(&ctx.next_value) += 1;
        }
        apply(&ctx, &mut net, idx, ready.effects);
        let wake = ready.wake.map_or(next_send, |w| next_send.min(start + w));
        wake_timer.reset(wake);
        let event = tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            _ = wake_timer.wait() => Event::Woken,
            m = net.recv() => event_of(&ctx, ("producer", idx), m),
        };
        let mut send = None;
        if Instant::now() >= next_send {
            next_send += interval;
            if now_ms() < sc.workload.duration_ms {
                let keys = u64::from(sc.workload.keys);
                let key = (keys > 0).then(|| {
                    slot += 1;
                    bytes::Bytes::from(format!("key-{}", (slot - 1) % keys))
                });
                let value = *lock(&ctx.next_value);
                send = Some(ProducerRecord {
                    key: key.unwrap_or_default(),
                    value,
                });
            }
        }
        input = ProducerInput { event, send };
    }
}
