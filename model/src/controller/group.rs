//! The consumer group's coordinator in KRaft mode: the active controller, every change a
//! command of the metadata log. Kafka's coordinator is the broker leading the group's
//! `__consumer_offsets` partition, and commits are records of that replicated partition; here
//! commits are entries of the replicated metadata log: durable in the same sense (a majority
//! holds them before the commit is answered), with one replication path.

use super::*;

impl GroupRequest {
    /// The answer refusing this request with `e`.
    pub(super) fn refused(&self, e: ErrorCode) -> Response {
        crate::group::refused(&self.0, e)
    }
}

impl Controller {
    /// Apply a group request: the answer the coordinator gives.
    pub(super) fn group_request(&mut self, now: TimeMs, request: &Request) -> Response {
        let (topics, per_topic) = (self.topics, self.partitions.len() as i32 / self.topics);
        self.group.answer(now, request, topics, per_topic)
    }

    /// Whether some group member's session expired by `now`.
    pub(super) fn members_expired(&self, now: TimeMs) -> bool {
        self.group.members_expired(now)
    }
}
