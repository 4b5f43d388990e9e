//! The consumer group as its coordinator keeps it: members, generations and the JoinGroup
//! barrier, assignment, heartbeats and session expiry, committed offsets. Whoever
//! coordinates holds one: the active controller in KRaft mode (every change a command of the
//! metadata log), the controller broker in ZooKeeper mode (commits written to ZooKeeper).

use std::collections::{BTreeMap, BTreeSet};

use crate::assignor::Assignor;
use crate::ids::*;
use crate::messages::{ErrorCode, Request, Response};

/// The consumer group's coordinator state.
#[derive(Clone, Debug, Default)]
pub struct Group {
    pub generation: i32,
    /// Each member's last heartbeat (the coordinator's time), session timeout and assignor.
    pub members: BTreeMap<MemberId, (TimeMs, TimeMs, Assignor)>,
    pub committed: BTreeMap<PartitionId, Offset>,
    /// A rebalance in progress (Kafka's PreparingRebalance): the generation stays, its members
    /// may still commit, and the next generation starts once every member has joined again
    /// (the JoinGroup barrier); `joined` are those that have.
    pub rebalancing: bool,
    pub joined: BTreeSet<MemberId>,
}

impl Group {
    /// Start a rebalance, or finish the one in progress once every member has joined: the
    /// next generation. A group left without members starts a new generation at once.
    pub fn rebalance(&mut self) {
        if self.members.is_empty() {
            self.generation += 1;
            self.rebalancing = false;
            self.joined.clear();
            return;
        }
        self.rebalancing = true;
        let members = &self.members;
        self.joined.retain(|m| members.contains_key(m));
        if self.members.keys().all(|m| self.joined.contains(m)) {
            self.generation += 1;
            self.rebalancing = false;
            self.joined.clear();
        }
    }

    /// A member joins. A new member starts a rebalance; the generation moves on once every
    /// member has joined again. Until then a joining member is told REBALANCE_IN_PROGRESS and
    /// asks again (Kafka holds the JoinGroup instead). A member that joins when no rebalance
    /// is on learns the current generation.
    fn join(
        &mut self,
        now: TimeMs,
        member: MemberId,
        assignor: Assignor,
        session_timeout_ms: TimeMs,
    ) -> Result<i32, ErrorCode> {
        let new = self
            .members
            .insert(member, (now, session_timeout_ms, assignor))
            .is_none();
        if new || self.rebalancing {
            self.joined.insert(member);
            self.rebalance();
        }
        if self.rebalancing {
            Err(ErrorCode::RebalanceInProgress)
        } else {
            Ok(self.generation)
        }
    }

    /// A member's heartbeat renews its session, and tells it whether its generation is still
    /// the group's.
    fn heartbeat(
        &mut self,
        now: TimeMs,
        member: MemberId,
        generation: i32,
    ) -> Result<(), ErrorCode> {
        let m = self
            .members
            .get_mut(&member)
            .ok_or(ErrorCode::UnknownMemberId)?;
        m.0 = m.0.max(now);
        if generation == self.generation && !self.rebalancing {
            Ok(())
        } else {
            Err(ErrorCode::RebalanceInProgress)
        }
    }

    /// Kafka's coordinator refuses a commit from a member that is not in the current
    /// generation: a member that lost its partitions in a rebalance cannot move their
    /// committed offsets.
    pub fn may_commit(&self, member: MemberId, generation: i32) -> Result<(), ErrorCode> {
        if !self.members.contains_key(&member) {
            Err(ErrorCode::UnknownMemberId)
        } else if generation != self.generation {
            Err(ErrorCode::IllegalGeneration)
        } else {
            Ok(())
        }
    }

    fn commit(
        &mut self,
        member: MemberId,
        generation: i32,
        offsets: &[(PartitionId, Offset)],
    ) -> Result<(), ErrorCode> {
        self.may_commit(member, generation)?;
        self.committed.extend(offsets.iter().copied());
        Ok(())
    }

    /// Drop the members whose session expired by `now`; a rebalance follows if any did.
    pub fn expire(&mut self, now: TimeMs) {
        let before = self.members.len();
        self.members
            .retain(|_, (last, timeout, _)| now.saturating_sub(*last) <= *timeout);
        if self.members.len() != before {
            self.rebalance();
        }
    }

    /// Whether some member's session expired by `now`.
    pub fn members_expired(&self, now: TimeMs) -> bool {
        self.members
            .values()
            .any(|(last, timeout, _)| now.saturating_sub(*last) > *timeout)
    }

    /// Apply a group request (`topics` topics of `per_topic` partitions to assign): the
    /// answer the coordinator gives.
    pub fn answer(
        &mut self,
        now: TimeMs,
        request: &Request,
        topics: i32,
        per_topic: i32,
    ) -> Response {
        match request {
            Request::JoinGroup {
                correlation_id,
                member,
                assignor,
                session_timeout_ms,
            } => Response::JoinGroup {
                correlation_id: *correlation_id,
                result: self
                    .join(now, *member, *assignor, *session_timeout_ms)
                    .map(|generation| {
                        let members: Vec<MemberId> = self.members.keys().copied().collect();
                        let assigned = assignor.assign(&members, topics, per_topic, *member);
                        (generation, assigned)
                    }),
            },
            Request::GroupHeartbeat {
                correlation_id,
                member,
                generation,
            } => Response::GroupHeartbeat {
                correlation_id: *correlation_id,
                result: self.heartbeat(now, *member, *generation),
            },
            Request::OffsetCommit {
                correlation_id,
                member,
                generation,
                offsets,
            } => Response::OffsetCommit {
                correlation_id: *correlation_id,
                result: self.commit(*member, *generation, offsets),
            },
            Request::OffsetFetch { correlation_id } => Response::OffsetFetch {
                correlation_id: *correlation_id,
                result: Ok(self.committed.iter().map(|(p, o)| (*p, *o)).collect()),
            },
            other => unreachable!("not a group request: {other:?}"),
        }
    }
}

/// Whether `request` is one of the group protocol's.
pub fn is_group_request(request: &Request) -> bool {
    matches!(
        request,
        Request::JoinGroup { .. }
            | Request::GroupHeartbeat { .. }
            | Request::OffsetCommit { .. }
            | Request::OffsetFetch { .. }
    )
}

/// The answer refusing a group request with `e`.
pub fn refused(request: &Request, e: ErrorCode) -> Response {
    match request {
        Request::JoinGroup { correlation_id, .. } => Response::JoinGroup {
            correlation_id: *correlation_id,
            result: Err(e),
        },
        Request::GroupHeartbeat { correlation_id, .. } => Response::GroupHeartbeat {
            correlation_id: *correlation_id,
            result: Err(e),
        },
        Request::OffsetCommit { correlation_id, .. } => Response::OffsetCommit {
            correlation_id: *correlation_id,
            result: Err(e),
        },
        Request::OffsetFetch { correlation_id } => Response::OffsetFetch {
            correlation_id: *correlation_id,
            result: Err(e),
        },
        other => unreachable!("not a group request: {other:?}"),
    }
}
