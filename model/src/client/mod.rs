//! Kafka's clients as sans-IO machines: the producer (`producer/`: accumulator, partitioner,
//! retries, the idempotent session, delivery timeout) and the consumer of the workload's group
//! (`consumer.rs`: membership, assignment, positions, commits). Like the servers, each is fed
//! time and one event per step, and leaves what it does as data, in the order it did it: the
//! requests it sends, the connections it closes and the lines of the client history.

pub mod config;
pub mod consumer;
pub mod producer;

pub use config::{ConsumerConfig, Partitioner, ProducerConfig};
pub use consumer::{Consumer, ConsumerReady, ConsumerSetup};
pub use producer::{Producer, ProducerInput, ProducerReady, ProducerRecord, ProducerSetup};

use bytes::Bytes;

use crate::history::{Op, Poll};
use crate::ids::NodeId;
use crate::messages::{Request, Response};

/// What a client's step is fed besides the time.
#[derive(Clone, Debug)]
pub enum Event {
    /// Its timer fired (or a message it does not read arrived).
    Woken,
    /// A response to a request it sent to `from`.
    Response { from: NodeId, response: Response },
    /// The connection to `peer` closed. `refused`: it never opened, so nothing was sent on it.
    Disconnected { peer: NodeId, refused: bool },
}

/// One thing a client did in a step; a step's effects are applied in order.
#[derive(Clone, Debug)]
pub enum Effect {
    /// A request on the client's connection to `to` (opened on demand).
    Send { to: NodeId, request: Request },
    /// Close the connection to `peer`, as Kafka's client does when a request on it timed out.
    Close(NodeId),
    /// A line of the producer's history.
    Record(Op),
    /// A record a consumer's poll handed to the application, and its payload (the value after
    /// its 8-byte id).
    Polled { poll: Poll, payload: Bytes },
}
