//! ksim-model: Kafka replication as sans-IO state machines. Nothing here reads a clock, a
//! socket or an unseeded random number generator: time arrives as an argument, a random
//! stream as a seeded one the caller hands over, and every effect leaves as data in a `Ready`
//! (disk writes, messages, notes for the observer). The simulator in
//! `sim/` runs these machines under madsim; the unit tests and proptests here run them alone.
//! The clients are machines too (`client/`): the producer and the consumer.

pub mod assignor;
pub mod broker;
pub mod client;
pub mod config;
pub mod controller;
pub mod group;
pub mod history;
pub mod ids;
pub mod kafka_zk;
pub mod log;
pub mod messages;
pub mod named;
pub mod partitioner;
pub mod policy;
pub mod quorum;
pub mod selftest;
pub mod step;
pub mod zookeeper;

pub use assignor::Assignor;
pub use broker::{Broker, Replica, Role};
pub use config::*;
pub use controller::{assignment, Controller};
pub use ids::*;
pub use log::{EpochEntry, PartitionLog, Record};
pub use messages::*;
pub use named::{Named, VariantArray};
pub use selftest::{Flaw, SelfTest, ZkFlaw};
pub use step::*;
