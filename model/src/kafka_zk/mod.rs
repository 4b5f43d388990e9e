//! Kafka as it ran on ZooKeeper (2.8 and before): the znodes Kafka keeps there, in Kafka's own
//! paths and JSON, the controller elected through `/controller` (`controller.rs`), and the
//! broker's side of the bargain: registration, the ISR written by conditional update, and
//! controller-epoch fencing of LeaderAndIsr (`broker.rs`).

pub mod broker;
pub mod controller;
pub mod group;
#[cfg(test)]
mod one_znode;
pub mod producer_ids;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::ids::{BrokerId, Epoch, PartitionId};

/// The ephemeral znode of the active controller.
pub const CONTROLLER: &str = "/controller";
/// The controller epoch, bumped by each new controller with a conditional write.
pub const CONTROLLER_EPOCH: &str = "/controller_epoch";
/// The parent of the brokers' ephemeral registrations.
pub const BROKER_IDS: &str = "/brokers/ids";
/// Where partition leaders tell the controller that an ISR changed.
pub const ISR_CHANGE_NOTIFICATION: &str = "/isr_change_notification";

/// The persistent paths every broker makes sure exist at startup, parents first.
pub const PERSISTENT_PATHS: [&str; 4] = [
    "/brokers",
    BROKER_IDS,
    "/brokers/topics",
    ISR_CHANGE_NOTIFICATION,
];

pub fn broker_path(id: BrokerId) -> String {
    format!("{BROKER_IDS}/{id}")
}

/// `/brokers/topics/<topic>/partitions/<p>/state` and its parents, parents first.
pub fn state_paths(topic: &str, p: PartitionId) -> [String; 4] {
    let topic = format!("/brokers/topics/{topic}");
    let partitions = format!("{topic}/partitions");
    let partition = format!("{partitions}/{p}");
    let state = format!("{partition}/state");
    [topic, partitions, partition, state]
}

pub fn state_path(topic: &str, p: PartitionId) -> String {
    let [.., state] = state_paths(topic, p);
    state
}

/// A partition's state znode, as Kafka writes it:
/// `{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2,3]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderIsr {
    pub controller_epoch: i32,
    /// -1: no leader.
    pub leader: BrokerId,
    pub version: i32,
    pub leader_epoch: Epoch,
    pub isr: Vec<BrokerId>,
}

impl LeaderIsr {
    pub fn leader(&self) -> Option<BrokerId> {
        (self.leader >= 0).then_some(self.leader)
    }

    pub fn to_bytes(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).expect("plain fields serialize"))
    }

    pub fn from_bytes(data: &[u8]) -> Option<LeaderIsr> {
        serde_json::from_slice(data).ok()
    }
}

/// `/controller`'s data: `{"version":1,"brokerid":1}`.
pub fn controller_data(broker: BrokerId) -> Bytes {
    Bytes::from(format!("{{\"version\":1,\"brokerid\":{broker}}}"))
}

/// The broker named by `/controller`'s data.
pub fn controller_of(data: &[u8]) -> Option<BrokerId> {
    #[derive(Deserialize)]
    struct Controller {
        brokerid: BrokerId,
    }
    serde_json::from_slice::<Controller>(data)
        .ok()
        .map(|c| c.brokerid)
}

/// A broker's registration, as the seed cluster's brokers wrote it (`localhost:9092` on).
pub fn registration_data(port: u16) -> Bytes {
    Bytes::from(format!(
        "{{\"version\":4,\"host\":\"localhost\",\"port\":{port},\"endpoints\":[\"PLAINTEXT://localhost:{port}\"]}}"
    ))
}
