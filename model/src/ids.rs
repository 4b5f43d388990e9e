//! Identifiers and simulated time, shared by every machine of the model.

pub type BrokerId = i32;
pub type PartitionId = i32;
pub type Epoch = i32;
pub type Offset = i64;
/// Simulated milliseconds since the start of the run; the model never reads a clock.
pub type TimeMs = u64;

/// Where a message goes: a node of the simulated cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeId {
    /// A controller of the quorum, by its `node.id` (1-based).
    Controller(u32),
    Broker(BrokerId),
    Client(u32),
    /// A server of the ZooKeeper ensemble, by its `myid` (`server.N`, 1-based).
    ZooKeeper(u32),
}

/// A connection accepted by a node; responses to a request go back on it.
pub type ConnId = u64;

/// A consumer group member: its client and that client's incarnation (a restarted consumer
/// joins as a new member, as Kafka's does without a static group.instance.id).
pub type MemberId = (u32, u64);
