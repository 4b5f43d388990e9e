//! The client history, in Jepsen's shape: each record a producer is handed is one operation
//! (`invoke`, then `ok`, `fail` or `info` once), and each record a consumer's poll returns is a
//! `Poll`. The client machines write these lines; the simulator's checkers read them.

use serde::Serialize;

use crate::ids::*;

/// Jepsen's operation types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    Invoke,
    Ok,
    /// Definitely did not happen.
    Fail,
    /// May or may not have happened.
    Info,
}

/// One line of the client history.
#[derive(Clone, Debug, Serialize)]
pub struct Op {
    pub time_ms: u64,
    pub process: u32,
    #[serde(rename = "type")]
    pub kind: OpType,
    pub f: &'static str,
    pub value: u64,
    pub partition: PartitionId,
    pub offset: Option<Offset>,
    pub error: Option<String>,
    /// The idempotent producer's id the record was sent under (one per session); null when
    /// the producer is not idempotent.
    pub producer_id: Option<i64>,
    /// An acknowledgement's leader epoch: the epoch the answering broker led the partition in
    /// when it answered (null for everything but an `ok` with an answer). Not in the trace
    /// hash, as `producer_id` is not: it only tells what the answer carried.
    pub leader_epoch: Option<Epoch>,
    /// The broker that answered an `ok` (null otherwise, and for acks=0).
    pub broker: Option<BrokerId>,
}

/// A record a consumer's poll returned: which consumer (and which start of it, and which
/// generation of the group it polled in), where the record was and what it held.
#[derive(Clone, Debug, Serialize)]
pub struct Poll {
    pub time_ms: u64,
    pub consumer: u32,
    pub incarnation: u64,
    pub generation: i32,
    pub partition: PartitionId,
    pub offset: Offset,
    pub value: u64,
}

/// The unique id a producer writes in the first 8 bytes of each value.
pub fn value_id(value: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = value.len().min(8);
    b[..n].copy_from_slice(&value[..n]);
    u64::from_be_bytes(b)
}

/// A record's value of `len` bytes (at least 8) carrying `id` in its first 8.
pub fn value_with_id(id: u64, len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len.max(8)];
    bytes[..8].copy_from_slice(&id.to_be_bytes());
    bytes
}
