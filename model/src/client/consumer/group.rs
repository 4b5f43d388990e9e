//! The consumer's side of the group protocol (eager rebalance), with the coordinator: join,
//! the committed offsets of the assignment, heartbeats, commits, and rejoining when the
//! generation moved on.

use std::collections::BTreeMap;

use super::{Consumer, Position, RETRY_BACKOFF_MS};
use crate::ids::*;
use crate::messages::{ErrorCode, Request, Response};

impl Consumer {
    fn ask_coordinator(&mut self, request: Request, what: &'static str, correlation: u64) {
        self.group_in_flight = Some((correlation, what));
        self.send(self.coordinator_node(), request);
    }

    /// The node asked for the group and for metadata.
    pub(super) fn coordinator_node(&self) -> NodeId {
        self.setup.coordinators[self.coordinator as usize - 1]
    }

    /// The coordinator is gone, or not the active controller (KRaft) or the group's
    /// coordinator (ZooKeeper mode): try the next one.
    pub(super) fn next_coordinator(&mut self, now: u64) {
        let nodes = self.setup.coordinators.len().max(1) as u32;
        self.coordinator = self.coordinator % nodes + 1;
        self.group_in_flight = None;
        self.metadata_in_flight = false;
        self.next_group_ms = now + RETRY_BACKOFF_MS;
    }

    /// The group request that is due: join without a generation, then the committed offsets
    /// of the assignment, then a commit when one is owed or due, else a heartbeat.
    pub(super) fn group_request(&mut self, now: u64) {
        let cc = self.setup.config.clone();
        if self.group_in_flight.is_some() || now < self.next_group_ms {
            return;
        }
        let correlation_id = self.next_correlation();
        let member = (self.setup.n, self.setup.incarnation);
        match self.generation {
            None => self.ask_coordinator(
                Request::JoinGroup {
                    correlation_id,
                    member,
                    assignor: cc.assignor,
                    session_timeout_ms: cc.session_timeout_ms,
                },
                "join",
                correlation_id,
            ),
            Some(_) if self.positions.values().any(|p| *p == Position::Unknown) => self
                .ask_coordinator(
                    Request::OffsetFetch { correlation_id },
                    "offset fetch",
                    correlation_id,
                ),
            Some(generation)
                if self.commit_owed
                    || self.rejoin_after_commit
                    || (cc.enable_auto_commit && now >= self.next_commit_ms) =>
            {
                let offsets: Vec<(PartitionId, Offset)> = self
                    .positions
                    .iter()
                    .filter_map(|(p, pos)| match pos {
                        Position::At(o) => Some((*p, *o)),
                        _ => None,
                    })
                    .collect();
                self.commit_owed = false;
                self.next_commit_ms = now + cc.auto_commit_interval_ms;
                self.ask_coordinator(
                    Request::OffsetCommit {
                        correlation_id,
                        member,
                        generation,
                        offsets,
                    },
                    "commit",
                    correlation_id,
                );
            }
            Some(generation) if now >= self.next_heartbeat_ms => {
                self.next_heartbeat_ms = now + cc.heartbeat_interval_ms;
                self.ask_coordinator(
                    Request::GroupHeartbeat {
                        correlation_id,
                        member,
                        generation,
                    },
                    "heartbeat",
                    correlation_id,
                );
            }
            Some(_) => {}
        }
    }

    fn group_answer(&mut self, correlation_id: u64) -> bool {
        match self.group_in_flight {
            Some((c, _)) if c == correlation_id => {
                self.group_in_flight = None;
                true
            }
            _ => false,
        }
    }

    /// Leave the generation: drop the assignment, and join again.
    fn rejoin(&mut self) {
        self.rejoin_after_commit = false;
        self.generation = None;
        self.assigned.clear();
        self.positions.clear();
        self.fetching.clear();
        self.commit_owed = false;
        self.skipped.clear();
    }

    /// An answer of the coordinator to the group request in flight (others are stale).
    pub(super) fn on_group_answer(&mut self, now: u64, response: Response) {
        let cc = self.setup.config.clone();
        match response {
            Response::JoinGroup {
                correlation_id,
                result,
            } if self.group_answer(correlation_id) => match result {
                Ok((generation, partitions)) => {
                    self.generation = Some(generation);
                    self.positions = partitions.iter().map(|p| (*p, Position::Unknown)).collect();
                    self.assigned = partitions;
                    self.next_heartbeat_ms = now + cc.heartbeat_interval_ms;
                    self.next_commit_ms = now + cc.auto_commit_interval_ms;
                }
                // The rebalance waits for other members: ask again.
                Err(ErrorCode::RebalanceInProgress) => self.next_group_ms = now + RETRY_BACKOFF_MS,
                Err(_) => self.next_coordinator(now),
            },
            Response::OffsetFetch {
                correlation_id,
                result,
            } if self.group_answer(correlation_id) => match result {
                Ok(committed) => {
                    let committed: BTreeMap<PartitionId, Offset> = committed.into_iter().collect();
                    for (p, pos) in self.positions.iter_mut() {
                        *pos = match committed.get(p) {
                            Some(o) => Position::At(*o),
                            None if cc.auto_offset_reset_earliest => Position::At(0),
                            None => Position::Latest,
                        };
                    }
                }
                Err(_) => self.next_coordinator(now),
            },
            Response::GroupHeartbeat {
                correlation_id,
                result,
            } if self.group_answer(correlation_id) => match result {
                Ok(()) => {}
                Err(ErrorCode::NotController | ErrorCode::NotCoordinator) => {
                    self.next_coordinator(now)
                }
                // The generation's last commit first (with auto-commit; without, each poll
                // was committed), then join again.
                Err(ErrorCode::RebalanceInProgress)
                    if cc.enable_auto_commit
                        && self
                            .positions
                            .values()
                            .any(|p| matches!(p, Position::At(_))) =>
                {
                    self.rejoin_after_commit = true;
                }
                // REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID (the session expired).
                Err(_) => self.rejoin(),
            },
            Response::OffsetCommit {
                correlation_id,
                result,
            } if self.group_answer(correlation_id) => match result {
                Ok(()) if self.rejoin_after_commit => self.rejoin(),
                Ok(()) => {}
                Err(ErrorCode::NotController | ErrorCode::NotCoordinator) => {
                    self.next_coordinator(now)
                }
                Err(_) if self.rejoin_after_commit => self.rejoin(),
                // ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID: the partitions may be another
                // member's by now; the heartbeat tells, and the consumer rejoins.
                Err(_) => self.next_heartbeat_ms = now,
            },
            _ => {}
        }
    }
}
