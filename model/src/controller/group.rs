//! The consumer group's coordinator: members, generations and the JoinGroup barrier,
//! assignment, heartbeats and session expiry, committed offsets; every change a command of the
//! metadata log.

use super::*;

impl GroupRequest {
    /// The answer refusing this request with `e`.
    pub(super) fn refused(&self, e: ErrorCode) -> Response {
        match &self.0 {
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
}

/// The consumer group's coordinator state. Kafka's coordinator is the broker leading the
/// group's `__consumer_offsets` partition, and commits are records of that replicated
/// partition; here the active controller coordinates and commits are entries of the
/// replicated metadata log: durable in the same sense (a majority holds them before the
/// commit is answered), with one replication path.
#[derive(Clone, Debug, Default)]
pub(super) struct Group {
    pub(super) generation: i32,
    /// Each member's last heartbeat (the proposer's time), session timeout and assignor.
    pub(super) members: BTreeMap<MemberId, (TimeMs, TimeMs, Assignor)>,
    pub(super) committed: BTreeMap<PartitionId, Offset>,
    /// A rebalance in progress (Kafka's PreparingRebalance): the generation stays, its members
    /// may still commit, and the next generation starts once every member has joined again
    /// (the JoinGroup barrier); `joined` are those that have.
    pub(super) rebalancing: bool,
    pub(super) joined: std::collections::BTreeSet<MemberId>,
}

impl Group {
    /// Start a rebalance, or finish the one in progress once every member has joined: the
    /// next generation. A group left without members starts a new generation at once.
    pub(super) fn rebalance(&mut self) {
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
        assignor: crate::Assignor,
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
    fn commit(
        &mut self,
        member: MemberId,
        generation: i32,
        offsets: &[(PartitionId, Offset)],
    ) -> Result<(), ErrorCode> {
        if !self.members.contains_key(&member) {
            Err(ErrorCode::UnknownMemberId)
        } else if generation != self.generation {
            Err(ErrorCode::IllegalGeneration)
        } else {
            self.committed.extend(offsets.iter().copied());
            Ok(())
        }
    }
}

impl Controller {
    /// Apply a group request: the answer the coordinator gives.
    pub(super) fn group_request(&mut self, now: TimeMs, request: &Request) -> Response {
        let (topics, per_topic) = (self.topics, self.partitions.len() as i32 / self.topics);
        let g = &mut self.group;
        match request {
            Request::JoinGroup {
                correlation_id,
                member,
                assignor,
                session_timeout_ms,
            } => Response::JoinGroup {
                correlation_id: *correlation_id,
                result: g
                    .join(now, *member, *assignor, *session_timeout_ms)
                    .map(|generation| {
                        let members: Vec<MemberId> = g.members.keys().copied().collect();
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
                result: g.heartbeat(now, *member, *generation),
            },
            Request::OffsetCommit {
                correlation_id,
                member,
                generation,
                offsets,
            } => Response::OffsetCommit {
                correlation_id: *correlation_id,
                result: g.commit(*member, *generation, offsets),
            },
            Request::OffsetFetch { correlation_id } => Response::OffsetFetch {
                correlation_id: *correlation_id,
                result: Ok(g.committed.iter().map(|(p, o)| (*p, *o)).collect()),
            },
            other => unreachable!("not a group request: {other:?}"),
        }
    }

    /// Whether some group member's session expired by `now`.
    pub(super) fn members_expired(&self, now: TimeMs) -> bool {
        self.group
            .members
            .values()
            .any(|(last, timeout, _)| now.saturating_sub(*last) > *timeout)
    }
}
