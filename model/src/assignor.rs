//! `partition.assignment.strategy`: how a consumer group's partitions are dealt to members.

use crate::ids::*;

/// `partition.assignment.strategy`, by the short name it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "lowercase")]
pub enum Assignor {
    /// RangeAssignor: in each topic, each member a contiguous range of its partitions, members
    /// in id order (so with several topics the first members get the extra partitions of
    /// every topic).
    Range,
    /// RoundRobinAssignor: every topic's partitions, topic by topic, dealt to members in turn.
    RoundRobin,
}

crate::serialize_by_name!(Assignor);

impl Assignor {
    /// The partitions of `member` when `members` (sorted) share `topics` topics of
    /// `per_topic` partitions each; topic t's partition i is partition `t * per_topic + i`.
    pub fn assign(
        self,
        members: &[MemberId],
        topics: i32,
        per_topic: i32,
        member: MemberId,
    ) -> Vec<PartitionId> {
        let Some(i) = members.iter().position(|m| *m == member) else {
            return Vec::new();
        };
        let n = members.len() as i32;
        match self {
            Assignor::Range => {
                let (per, extra) = (per_topic / n, per_topic % n);
                let i = i as i32;
                let start = i * per + i.min(extra);
                let len = per + i32::from(i < extra);
                (0..topics)
                    .flat_map(|t| (start..start + len).map(move |p| t * per_topic + p))
                    .collect()
            }
            Assignor::RoundRobin => (0..topics * per_topic)
                .filter(|p| p % n == i as i32)
                .collect(),
        }
    }
}
