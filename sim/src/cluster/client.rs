//! What the two client pumps share: a message from the network as the machine's event, and a
//! step's effects carried out in the order the machine left them.

use std::sync::Arc;

use ksim_model::client::{Effect, Event};
use ksim_model::{NodeId, Request, Response};

use crate::cluster::ctx::{now_ms, Ctx, Delivery};
use crate::cluster::net::{Inbound, NodeNet};
use crate::observer::{value_id, Client};

/// A client reads responses and closed connections; a request to it means nothing. A
/// broker's Metadata answer is shown to the observer as client `client` received it.
pub(crate) fn event_of(ctx: &Ctx, client: Client, m: Inbound) -> Event {
    if let Inbound::Response {
        from: NodeId::Broker(b),
        response: Response::Metadata { partitions, .. },
    } = &m
    {
        ctx.observe()
            .metadata_answered(now_ms(), (client, *b), partitions);
    }
    match m {
        Inbound::Response { from, response } => Event::Response { from, response },
        Inbound::Disconnected { peer, refused, .. } => Event::Disconnected { peer, refused },
        Inbound::Request { .. } | Inbound::Closed { .. } => Event::Woken,
    }
}

/// Carry out a step's effects: requests go out (a producer's values with the embedded
/// application's payload, if it gave one), the history is told, and each polled record is
/// handed to the application's handler before the observer sees it.
pub(crate) fn apply(ctx: &Ctx, net: &mut NodeNet, process: u32, effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::Send { to, request } => net.send(to, with_payload(ctx, process, request)),
            Effect::Close(peer) => net.close(peer),
            Effect::Record(op) => {
                log_op(&op);
                ctx.observe().record(op);
            }
            Effect::Polled { poll, payload } => {
                if let Some(handler) = &ctx.hooks.on_record {
                    let topic = (poll.partition / ctx.sc.partitions.max(1)) as usize;
                    handler(&Delivery {
                        poll: poll.clone(),
                        topic: Arc::from(ctx.sc.workload.topics[topic].as_str()),
                        payload,
                    });
                }
                ctx.observe().polled(poll);
            }
        }
    }
}

/// A write as the producer saw it, at `debug`: sent, acknowledged at an offset, failed.
fn log_op(op: &ksim_model::history::Op) {
    use ksim_model::history::OpType;
    let (v, p) = (op.value, op.partition);
    match (op.kind, op.offset, &op.error) {
        (OpType::Invoke, _, _) => tracing::debug!("send value {v} to partition {p}"),
        (OpType::Ok, Some(o), _) => {
            tracing::debug!("value {v} acknowledged at offset {o} of partition {p}")
        }
        (OpType::Ok, None, _) => {
            tracing::debug!("value {v} sent to partition {p} (acks=0: no answer)")
        }
        (OpType::Fail, _, e) => {
            tracing::debug!("value {v} failed: {}", e.as_deref().unwrap_or("-"))
        }
        (OpType::Info, _, e) => {
            tracing::debug!("value {v} outcome unknown: {}", e.as_deref().unwrap_or("-"))
        }
    }
}

/// The producer hook's payload after each value's 8-byte id, in place of the padding.
fn with_payload(ctx: &Ctx, process: u32, mut request: Request) -> Request {
    let (Some(payload), Request::Produce { records, .. }) = (&ctx.hooks.payload, &mut request)
    else {
        return request;
    };
    for r in records.iter_mut() {
        let mut bytes = r.value[..8].to_vec();
        bytes.extend(payload(process, value_id(&r.value)));
        r.value = bytes::Bytes::from(bytes);
    }
    request
}
