//! A consumer of the workload's consumer group, as Kafka's client behaves with the eager
//! rebalance protocol: it joins the group at the coordinator, takes the partitions the
//! assignor gives it for that generation, starts each from the group's committed offset (or
//! `auto.offset.reset`), fetches from the partition leaders below the HW, heartbeats every
//! `heartbeat.interval.ms` and rejoins when told the generation moved on, and commits its
//! positions every `auto.commit.interval.ms` (or after every poll without auto-commit).
//! Each record a poll returns leaves as `Effect::Polled`, for the application and for the
//! history the consumer checkers read.
//!
//! The coordinator here is the active controller (see `Controller`'s group state) in KRaft
//! mode and the controller broker in ZooKeeper mode (`kafka_zk::group`), found the way
//! producers find a controller: ask one, move on when it answers NOT_CONTROLLER or
//! NOT_COORDINATOR.

use std::collections::{BTreeMap, BTreeSet};

mod group;

use super::config::ConsumerConfig;
use super::{Effect, Event};
use crate::history::{value_id, Poll};
use crate::ids::*;
use crate::messages::{ErrorCode, FetchData, Request, Response};
use crate::selftest::{Flaw, SelfTest};

/// Kafka's consumer defaults: `retry.backoff.ms`, `request.timeout.ms` (which the connection
/// applies), and how long a fetch that returned nothing waits before the next
/// (`fetch.max.wait.ms`).
const RETRY_BACKOFF_MS: u64 = 100;
pub const REQUEST_TIMEOUT_MS: u64 = 30_000;
const EMPTY_FETCH_WAIT_MS: u64 = 500;

/// Where a partition's consumption stands.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Position {
    /// Waiting for the group's committed offsets.
    Unknown,
    /// `auto.offset.reset=latest` without a committed offset: the next fetch's HW.
    Latest,
    At(Offset),
}

/// What the consumer is built from besides its configuration.
#[derive(Clone, Debug)]
pub struct ConsumerSetup {
    /// The consumer's number in the group (1-based), and which start of it this is: a
    /// restarted consumer joins as a new member.
    pub n: u32,
    pub incarnation: u64,
    pub config: ConsumerConfig,
    /// The nodes one of which coordinates the group and which answer Metadata: the
    /// controllers in KRaft mode, the brokers in ZooKeeper mode.
    pub coordinators: Vec<NodeId>,
    pub selftest: SelfTest,
}

/// What a step did: its effects, in order, and when the consumer wants its next step.
#[derive(Debug, Default)]
pub struct ConsumerReady {
    pub effects: Vec<Effect>,
    pub wake_ms: u64,
}

/// The consumer client's state.
pub struct Consumer {
    setup: ConsumerSetup,
    out: Vec<Effect>,
    correlation: u64,
    /// Which of `setup.coordinators` (1-based) is asked for the group and for metadata.
    coordinator: u32,
    leaders: BTreeMap<PartitionId, (BrokerId, Epoch)>,
    metadata_in_flight: bool,
    next_metadata_ms: u64,
    generation: Option<i32>,
    assigned: Vec<PartitionId>,
    positions: BTreeMap<PartitionId, Position>,
    /// The group request in flight (one at a time: join, offset fetch, heartbeat, commit).
    group_in_flight: Option<(u64, &'static str)>,
    next_group_ms: u64,
    next_heartbeat_ms: u64,
    next_commit_ms: u64,
    /// A commit is owed (manual commit after a poll).
    commit_owed: bool,
    /// Told a rebalance is on: commit the positions (with auto-commit, as Kafka's eager
    /// consumer does before it gives its partitions up), then rejoin.
    rejoin_after_commit: bool,
    /// Per partition: the fetch in flight (broker, offset), and when the next may go.
    fetching: BTreeMap<PartitionId, (BrokerId, Offset)>,
    next_fetch_ms: BTreeMap<PartitionId, u64>,
    /// Flaw::ConsumerSkipsARecord: the partitions of this assignment it skipped in already.
    skipped: BTreeSet<PartitionId>,
}

impl Consumer {
    pub fn new(setup: ConsumerSetup) -> Consumer {
        Consumer {
            coordinator: (setup.n - 1) % setup.coordinators.len().max(1) as u32 + 1,
            setup,
            out: Vec::new(),
            correlation: 0,
            leaders: BTreeMap::new(),
            metadata_in_flight: false,
            next_metadata_ms: 0,
            generation: None,
            assigned: Vec::new(),
            positions: BTreeMap::new(),
            group_in_flight: None,
            next_group_ms: 0,
            next_heartbeat_ms: 0,
            next_commit_ms: 0,
            commit_owed: false,
            rejoin_after_commit: false,
            fetching: BTreeMap::new(),
            next_fetch_ms: BTreeMap::new(),
            skipped: BTreeSet::new(),
        }
    }

    /// One step at `now`: take the event, then send what is due.
    pub fn step(&mut self, now: u64, event: Event) -> ConsumerReady {
        self.on_event(now, event);
        self.act(now);
        ConsumerReady {
            effects: std::mem::take(&mut self.out),
            wake_ms: self.next_wake(now),
        }
    }

    fn send(&mut self, to: NodeId, request: Request) {
        self.out.push(Effect::Send { to, request });
    }

    fn next_correlation(&mut self) -> u64 {
        self.correlation += 1;
        self.correlation
    }

    /// Send what is due: metadata when a partition's leader is unknown, the group request
    /// that is due, and a fetch for each assigned partition without one in flight.
    fn act(&mut self, now: u64) {
        self.ask_metadata(now);
        self.group_request(now);
        self.fetch_assigned(now);
    }

    fn ask_metadata(&mut self, now: u64) {
        let want_metadata = self.assigned.iter().any(|p| !self.leaders.contains_key(p));
        if want_metadata && !self.metadata_in_flight && now >= self.next_metadata_ms {
            let correlation_id = self.next_correlation();
            self.send(
                self.coordinator_node(),
                Request::Metadata { correlation_id },
            );
            self.metadata_in_flight = true;
        }
    }

    fn fetch_assigned(&mut self, now: u64) {
        // Giving the partitions up: no more fetches in this generation.
        let assigned = if self.rejoin_after_commit {
            Vec::new()
        } else {
            self.assigned.clone()
        };
        for p in assigned {
            let offset = match self.positions.get(&p) {
                Some(Position::At(o)) => *o,
                Some(Position::Latest) => 0,
                _ => continue,
            };
            let Some(&(leader, epoch)) = self.leaders.get(&p) else {
                continue;
            };
            if self.fetching.contains_key(&p)
                || now < self.next_fetch_ms.get(&p).copied().unwrap_or(0)
            {
                continue;
            }
            self.fetching.insert(p, (leader, offset));
            self.send(
                NodeId::Broker(leader),
                Request::Fetch {
                    replica_id: -1,
                    broker_epoch: -1,
                    partition: p,
                    fetch_offset: offset,
                    last_fetched_epoch: -1,
                    current_leader_epoch: epoch,
                },
            );
        }
    }

    fn next_wake(&self, now: u64) -> u64 {
        let mut wake = now + 1_000;
        if self.group_in_flight.is_none() {
            let group = match self.generation {
                None => self.next_group_ms,
                Some(_) if self.commit_owed || self.rejoin_after_commit => self.next_group_ms,
                Some(_) if self.setup.config.enable_auto_commit => self
                    .next_heartbeat_ms
                    .min(self.next_commit_ms)
                    .max(self.next_group_ms),
                Some(_) => self.next_heartbeat_ms.max(self.next_group_ms),
            };
            wake = wake.min(group);
        }
        let want_metadata = self.assigned.iter().any(|p| !self.leaders.contains_key(p));
        if want_metadata && !self.metadata_in_flight {
            wake = wake.min(self.next_metadata_ms);
        }
        for p in self.assigned.iter().filter(|_| !self.rejoin_after_commit) {
            let fetchable = matches!(
                self.positions.get(p),
                Some(Position::At(_) | Position::Latest)
            );
            if fetchable && !self.fetching.contains_key(p) && self.leaders.contains_key(p) {
                wake = wake.min(self.next_fetch_ms.get(p).copied().unwrap_or(now));
            }
        }
        wake.max(now + 1)
    }

    fn on_event(&mut self, now: u64, event: Event) {
        match event {
            Event::Response { from, response } => self.on_response(now, from, response),
            Event::Disconnected { peer, .. } => match peer {
                peer if peer == self.coordinator_node() => {
                    self.next_coordinator(now);
                    if let NodeId::Broker(b) = peer {
                        self.broker_gone(now, b);
                    }
                }
                NodeId::Broker(b) => self.broker_gone(now, b),
                _ => {}
            },
            Event::Woken => {}
        }
    }

    /// The connection to broker `b` broke: its fetches are over, and its leaderships are to
    /// learn again.
    fn broker_gone(&mut self, now: u64, b: BrokerId) {
        self.fetching.retain(|_, (leader, _)| *leader != b);
        self.leaders.retain(|_, (leader, _)| *leader != b);
        self.next_metadata_ms = now + RETRY_BACKOFF_MS;
    }

    fn on_response(&mut self, now: u64, from: NodeId, response: Response) {
        match response {
            Response::Metadata { partitions, .. } => {
                self.metadata_in_flight = false;
                self.next_metadata_ms = now + RETRY_BACKOFF_MS;
                self.leaders = partitions
                    .iter()
                    .filter_map(|s| s.leader.map(|l| (s.partition, (l, s.leader_epoch))))
                    .collect();
            }
            Response::Fetch {
                partition, result, ..
            } => {
                let NodeId::Broker(b) = from else { return };
                let Some((leader, offset)) = self.fetching.get(&partition).copied() else {
                    return;
                };
                if leader != b {
                    return;
                }
                self.fetching.remove(&partition);
                self.on_fetch(now, partition, offset, result);
            }
            other => self.on_group_answer(now, other),
        }
    }

    fn on_fetch(
        &mut self,
        now: u64,
        p: PartitionId,
        offset: Offset,
        result: Result<FetchData, ErrorCode>,
    ) {
        let Some(position) = self.positions.get(&p).copied() else {
            return;
        };
        match result {
            Ok(data) => {
                let at = match position {
                    Position::Latest => {
                        self.positions.insert(p, Position::At(data.high_watermark));
                        self.next_fetch_ms.insert(p, now);
                        return;
                    }
                    Position::At(o) if o == offset => o,
                    // The position moved since this fetch was sent (a rebalance).
                    _ => return,
                };
                let mut next = at;
                for r in data.records.iter().filter(|r| r.offset >= at) {
                    let n = r.value.len().min(8);
                    let poll = Poll {
                        time_ms: now,
                        consumer: self.setup.n,
                        incarnation: self.setup.incarnation,
                        generation: self.generation.unwrap_or(-1),
                        partition: p,
                        offset: r.offset,
                        value: value_id(&r.value),
                    };
                    let payload = r.value.slice(n..);
                    self.out.push(Effect::Polled { poll, payload });
                    next = r.offset + 1;
                }
                let polled = next > at;
                if polled
                    && self.setup.selftest.planted(Flaw::ConsumerSkipsARecord)
                    && self.skipped.insert(p)
                {
                    next += 1;
                }
                self.positions.insert(p, Position::At(next));
                if polled && !self.setup.config.enable_auto_commit {
                    self.commit_owed = true;
                }
                let wait = if polled { 0 } else { EMPTY_FETCH_WAIT_MS };
                self.next_fetch_ms.insert(p, now + wait);
            }
            Err(ErrorCode::OffsetOutOfRange) => {
                let reset = if self.setup.config.auto_offset_reset_earliest {
                    Position::At(0)
                } else {
                    Position::Latest
                };
                self.positions.insert(p, reset);
            }
            Err(_) => {
                // Not the leader (any more), or an epoch it has not heard of: look it up again.
                self.leaders.remove(&p);
                self.next_fetch_ms.insert(p, now + RETRY_BACKOFF_MS);
                self.next_metadata_ms = self.next_metadata_ms.min(now + RETRY_BACKOFF_MS);
            }
        }
    }
}
