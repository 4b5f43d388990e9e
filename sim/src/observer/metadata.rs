//! The brokers' Metadata answers, as the clients received them (ZooKeeper mode, where each
//! broker answers from the cache the controller's UpdateMetadata fills): a broker's answer for
//! a partition never names an older leader epoch than an earlier answer of the same process to
//! the same client. (Per client: answers to two clients travel on two connections, and one
//! sent later may arrive first.)
//! A cache that went back sends producers to a leader that was replaced; Kafka fences the
//! UpdateMetadata of an older controller epoch for this (KAFKA-532), so a zombie controller
//! cannot roll a broker's cache back.

use std::collections::{BTreeMap, BTreeSet};

use ksim_model::{BrokerId, Epoch, PartitionId, PartitionState};

use super::Observer;

/// The newest leader epoch each broker process has answered each client for each partition,
/// and when.
#[derive(Clone, Debug, Default)]
pub struct MetadataAnswers {
    newest: BTreeMap<(Client, BrokerId, PartitionId), (Epoch, u64)>,
    /// A cache that went back is told once per newest epoch it went back from (a producer
    /// asks again every `retry.backoff.ms`).
    reported: BTreeSet<(Client, BrokerId, PartitionId, Epoch)>,
    /// Partition entries of Metadata answers compared with the same broker's earlier ones.
    pub checks: u64,
}

impl MetadataAnswers {
    /// A broker process ended: the next one starts with an empty cache.
    pub fn forget(&mut self, b: BrokerId) {
        self.newest.retain(|(_, broker, _), _| *broker != b);
    }
}

/// A client as the run names it: ("producer", 1), ("consumer", 0).
pub type Client = (&'static str, u32);

impl Observer {
    /// Client `client` received broker `b`'s Metadata answer.
    pub fn metadata_answered(
        &mut self,
        now: u64,
        (client, b): (Client, BrokerId),
        partitions: &[PartitionState],
    ) {
        let mut back = Vec::new();
        let answers = &mut self.metadata_answers;
        for s in partitions {
            answers.checks += 1;
            let newest = answers
                .newest
                .entry((client, b, s.partition))
                .or_insert((s.leader_epoch, now));
            if s.leader_epoch < newest.0
                && answers.reported.insert((client, b, s.partition, newest.0))
            {
                back.push(format!(
                    "broker {b} answered {} {}'s Metadata with partition {} in leader epoch {} (leader {}), after answering it leader epoch {} at {} ms: its metadata cache went back",
                    client.0,
                    client.1,
                    s.partition,
                    s.leader_epoch,
                    s.leader.map_or("none".to_string(), |l| format!("broker {l}")),
                    newest.0,
                    newest.1
                ));
            } else if s.leader_epoch > newest.0 {
                *newest = (s.leader_epoch, now);
            }
        }
        for message in back {
            self.violate("metadata-monotonic", now, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observer::{Keep, Rules};

    fn state(partition: PartitionId, leader: BrokerId, leader_epoch: Epoch) -> PartitionState {
        PartitionState {
            partition,
            replicas: vec![1, 2, 3],
            leader: Some(leader),
            leader_epoch,
            partition_epoch: 0,
            isr: vec![1, 2, 3],
            elr: Vec::new(),
            last_known_elr: Vec::new(),
        }
    }

    fn flagged(obs: &Observer) -> usize {
        obs.violations
            .iter()
            .filter(|v| v.checker == "metadata-monotonic")
            .count()
    }

    #[test]
    fn a_broker_answering_an_older_leader_epoch_is_flagged_once() {
        let mut obs = Observer::new(Keep::default(), Rules::default());
        obs.metadata_answered(10, (("producer", 1), 1), &[state(0, 1, 0), state(1, 2, 0)]);
        obs.metadata_answered(20, (("producer", 1), 1), &[state(0, 2, 1), state(1, 2, 0)]);
        // Another broker's cache may lag behind, and another client may hear an older answer
        // later: only a broker going back for one client is flagged.
        obs.metadata_answered(25, (("producer", 1), 2), &[state(0, 1, 0)]);
        obs.metadata_answered(26, (("producer", 2), 1), &[state(0, 1, 0)]);
        assert_eq!(flagged(&obs), 0);
        obs.metadata_answered(30, (("producer", 1), 1), &[state(0, 1, 0)]);
        obs.metadata_answered(40, (("producer", 1), 1), &[state(0, 1, 0)]);
        assert_eq!(flagged(&obs), 1, "{:?}", obs.violations);
        assert!(obs.violations[0]
            .message
            .contains("producer 1's Metadata with partition 0 in leader epoch 0 (leader broker 1), after answering it leader epoch 1 at 20 ms"));
        assert_eq!(obs.metadata_answers.checks, 8);
    }

    #[test]
    fn a_restarted_broker_starts_with_an_empty_cache() {
        let mut obs = Observer::new(Keep::default(), Rules::default());
        obs.metadata_answered(10, (("producer", 1), 1), &[state(0, 2, 3)]);
        obs.crashed(15, 1);
        obs.metadata_answered(20, (("producer", 1), 1), &[state(0, 2, 2)]);
        assert_eq!(flagged(&obs), 0);
    }
}
