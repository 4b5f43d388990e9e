//! A consumer of the workload's consumer group, as Kafka's client behaves with the eager
//! rebalance protocol: it joins the group at the coordinator, takes the partitions the
//! assignor gives it for that generation, starts each from the group's committed offset (or
//! `auto.offset.reset`), fetches from the partition leaders below the HW, heartbeats every
//! `heartbeat.interval.ms` and rejoins when told the generation moved on, and commits its
//! positions every `auto.commit.interval.ms` (or after every poll without auto-commit).
//! Each record a poll returns goes to the observer (`Observer::polled`), which the consumer
//! checkers read.
//!
//! The coordinator here is the active controller (see `Controller`'s group state), found the
//! way producers find a controller: ask one, move on when it answers NOT_CONTROLLER.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ksim_model::{BrokerId, Epoch, ErrorCode, NodeId, Offset, PartitionId, Request, Response};
use madsim::time::Instant;

use crate::cluster::ctx::{lock, now_ms, Ctx};
use crate::cluster::net::CONSUMER_BASE;
use crate::cluster::net::{Inbound, NodeNet};
use crate::cluster::timer::Timer;
use crate::observer::Poll;

/// Kafka's consumer defaults: `retry.backoff.ms`, `request.timeout.ms`, and how long a fetch
/// that returned nothing waits before the next (`fetch.max.wait.ms`).
const RETRY_BACKOFF_MS: u64 = 100;
const REQUEST_TIMEOUT_MS: u64 = 30_000;
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

struct Consumer {
    ctx: Arc<Ctx>,
    n: u32,
    incarnation: u64,
    net: NodeNet,
    correlation: u64,
    /// The controller asked for the group and for metadata.
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
    skipped: std::collections::BTreeSet<PartitionId>,
    /// The workload's topic names, shared with each delivery to an embedded handler.
    topics: Vec<Arc<str>>,
}

pub(crate) async fn consumer_node(ctx: Arc<Ctx>, n: u32) {
    let incarnation = {
        let mut inc = lock(&ctx.consumer_incarnations);
        let i = inc.entry(n).or_default();
        *i += 1;
        *i
    };
    let me = NodeId::Client(CONSUMER_BASE + n);
    let mut shutdown = ctx.shutdown.subscribe();
    let net = NodeNet::bind(
        me,
        Duration::from_millis(REQUEST_TIMEOUT_MS),
        ctx.stats.clone(),
        ctx.links.clone(),
        shutdown.clone(),
    )
    .await;
    let controllers = ctx.sc.controllers.max(1);
    let ctx_topics: Vec<Arc<str>> = ctx
        .sc
        .workload
        .topics
        .iter()
        .map(|t| Arc::from(t.as_str()))
        .collect();
    let mut c = Consumer {
        coordinator: (n - 1) % controllers + 1,
        ctx,
        n,
        incarnation,
        net,
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
        skipped: Default::default(),
        topics: ctx_topics,
    };
    let mut wake_timer = Timer::new(Instant::now());
    loop {
        let now = now_ms();
        c.act(now);
        let wake = c.next_wake(now);
        wake_timer.reset(Instant::now() + Duration::from_millis(wake.saturating_sub(now)));
        tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            _ = wake_timer.wait() => {}
            m = c.net.recv() => c.on_inbound(m),
        }
    }
}

impl Consumer {
    fn next_correlation(&mut self) -> u64 {
        self.correlation += 1;
        self.correlation
    }

    fn to_coordinator(&mut self, request: Request, what: &'static str, correlation: u64) {
        self.group_in_flight = Some((correlation, what));
        self.net.send(NodeId::Controller(self.coordinator), request);
    }

    /// The coordinator is gone or not the active controller: try the next one.
    fn next_coordinator(&mut self, now: u64) {
        let controllers = self.ctx.sc.controllers.max(1);
        self.coordinator = self.coordinator % controllers + 1;
        self.group_in_flight = None;
        self.metadata_in_flight = false;
        self.next_group_ms = now + RETRY_BACKOFF_MS;
    }

    /// Send what is due.
    fn act(&mut self, now: u64) {
        let cc = self.ctx.sc.consumer.clone();
        let want_metadata = self.assigned.iter().any(|p| !self.leaders.contains_key(p));
        if want_metadata && !self.metadata_in_flight && now >= self.next_metadata_ms {
            let correlation_id = self.next_correlation();
            self.net.send(
                NodeId::Controller(self.coordinator),
                Request::Metadata { correlation_id },
            );
            self.metadata_in_flight = true;
        }
        if self.group_in_flight.is_none() && now >= self.next_group_ms {
            let correlation_id = self.next_correlation();
            let member = (self.n, self.incarnation);
            match self.generation {
                None => self.to_coordinator(
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
                    .to_coordinator(
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
                    self.to_coordinator(
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
                    self.to_coordinator(
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
            self.net.send(
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
                Some(_) if self.ctx.sc.consumer.enable_auto_commit => self
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

    fn on_inbound(&mut self, m: Inbound) {
        let now = now_ms();
        match m {
            Inbound::Response { from, response } => self.on_response(now, from, response),
            Inbound::Disconnected { peer, .. } => match peer {
                NodeId::Controller(c) if c == self.coordinator => self.next_coordinator(now),
                NodeId::Broker(b) => {
                    self.fetching.retain(|_, (leader, _)| *leader != b);
                    self.leaders.retain(|_, (leader, _)| *leader != b);
                    self.next_metadata_ms = now + RETRY_BACKOFF_MS;
                }
                _ => {}
            },
            Inbound::Request { .. } => {}
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

    fn on_response(&mut self, now: u64, from: NodeId, response: Response) {
        let cc = self.ctx.sc.consumer.clone();
        match response {
            Response::Metadata { partitions, .. } => {
                self.metadata_in_flight = false;
                self.next_metadata_ms = now + RETRY_BACKOFF_MS;
                self.leaders = partitions
                    .iter()
                    .filter_map(|s| s.leader.map(|l| (s.partition, (l, s.leader_epoch))))
                    .collect();
            }
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
                Err(ErrorCode::NotController) => self.next_coordinator(now),
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
                Err(ErrorCode::NotController) => self.next_coordinator(now),
                Err(_) if self.rejoin_after_commit => self.rejoin(),
                // ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID: the partitions may be another
                // member's by now; the heartbeat tells, and the consumer rejoins.
                Err(_) => self.next_heartbeat_ms = now,
            },
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
            _ => {}
        }
    }

    fn on_fetch(
        &mut self,
        now: u64,
        p: PartitionId,
        offset: Offset,
        result: Result<ksim_model::FetchData, ErrorCode>,
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
                    let mut id = [0u8; 8];
                    let n = r.value.len().min(8);
                    id[..n].copy_from_slice(&r.value[..n]);
                    let poll = Poll {
                        time_ms: now,
                        consumer: self.n,
                        incarnation: self.incarnation,
                        generation: self.generation.unwrap_or(-1),
                        partition: p,
                        offset: r.offset,
                        value: u64::from_be_bytes(id),
                    };
                    if let Some(handler) = &self.ctx.hooks.on_record {
                        handler(&crate::cluster::ctx::Delivery {
                            poll: poll.clone(),
                            topic: self.topics[(p / self.ctx.sc.partitions.max(1)) as usize]
                                .clone(),
                            payload: r.value.slice(n..),
                        });
                    }
                    self.ctx.observe().polled(poll);
                    next = r.offset + 1;
                }
                let polled = next > at;
                if polled
                    && self
                        .ctx
                        .sc
                        .selftest
                        .planted(ksim_model::Flaw::ConsumerSkipsARecord)
                    && self.skipped.insert(p)
                {
                    next += 1;
                }
                self.positions.insert(p, Position::At(next));
                if polled && !self.ctx.sc.consumer.enable_auto_commit {
                    self.commit_owed = true;
                }
                let wait = if polled { 0 } else { EMPTY_FETCH_WAIT_MS };
                self.next_fetch_ms.insert(p, now + wait);
            }
            Err(ErrorCode::OffsetOutOfRange) => {
                let reset = if self.ctx.sc.consumer.auto_offset_reset_earliest {
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
