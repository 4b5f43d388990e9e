//! What the producer asks the cluster and how it reads the answers: metadata (who leads each
//! partition), its producer id (`enable.idempotence`), the answers to its Produce requests and
//! the connections that close under them.

use std::time::Duration;

use super::Producer;
use crate::client::Event;
use crate::history::OpType;
use crate::ids::*;
use crate::messages::{ErrorCode, Request, Response};

/// What an acknowledgement carried: the batch's base offset, the leader epoch it was answered
/// in, and who answered.
#[derive(Clone, Copy, Debug)]
pub(super) struct Answer {
    pub offset: i64,
    pub leader_epoch: Epoch,
    pub broker: Option<BrokerId>,
}

impl Producer {
    pub(super) fn on_event(&mut self, event: Event) {
        match event {
            Event::Response { from, response } => self.on_response(from, response),
            Event::Disconnected { peer, refused } => {
                if peer == self.cluster_node() {
                    self.metadata_in_flight = false;
                    self.init_in_flight = None;
                    self.next_controller();
                }
                // A connection that never opened sent nothing: a definite failure.
                let (kind, why) = if refused {
                    (OpType::Fail, "connection refused")
                } else {
                    (OpType::Info, "connection reset")
                };
                self.fail_all_to(peer, kind, why);
            }
            Event::Woken => {}
        }
    }

    fn on_response(&mut self, from: NodeId, response: Response) {
        match response {
            Response::Metadata { partitions, .. } => {
                self.metadata_in_flight = false;
                self.next_metadata = self.at + Duration::from_millis(self.cfg().retry_backoff_ms);
                self.leaders = partitions
                    .iter()
                    .filter_map(|p| p.leader.map(|l| (p.partition, l)))
                    .collect();
            }
            Response::InitProducerId {
                correlation_id,
                result,
            } if self.init_in_flight == Some(correlation_id) => {
                self.init_in_flight = None;
                match result {
                    Ok(id) => self.producer_id = Some(id),
                    Err(_) => {
                        self.next_controller();
                        self.next_init_ms = self.now() + self.cfg().retry_backoff_ms;
                    }
                }
            }
            Response::Produce {
                correlation_id,
                leader_epoch,
                result,
                ..
            } => self.on_produce_answer(from, correlation_id, leader_epoch, result),
            _ => {}
        }
    }

    fn on_produce_answer(
        &mut self,
        from: NodeId,
        correlation_id: u64,
        leader_epoch: Epoch,
        result: Result<Offset, ErrorCode>,
    ) {
        let Some(f) = self.in_flight.remove(&correlation_id) else {
            return;
        };
        match result {
            Ok(offset) => {
                let broker = match from {
                    NodeId::Broker(b) => Some(b),
                    _ => None,
                };
                let answer = Answer {
                    offset,
                    leader_epoch,
                    broker,
                };
                self.complete(&f.batch, OpType::Ok, Some(answer), None)
            }
            Err(e) => {
                self.leaders.remove(&f.batch.partition);
                // NOT_ENOUGH_REPLICAS is decided before the append, and an out-of-order batch
                // is refused; the other errors may follow an append the client cannot see.
                let definite = matches!(
                    e,
                    ErrorCode::NotEnoughReplicas | ErrorCode::OutOfOrderSequenceNumber
                );
                let kind = if definite { OpType::Fail } else { OpType::Info };
                self.failed(f.batch, kind, e.name());
            }
        }
    }

    /// The node it asks the cluster through now.
    fn cluster_node(&self) -> NodeId {
        self.setup.bootstrap[self.metadata_from]
    }

    /// The node asked is gone, slow or not the active controller: ask the next.
    fn next_controller(&mut self) {
        self.metadata_from = (self.metadata_from + 1) % self.setup.bootstrap.len();
    }

    /// `request.timeout.ms`, which the producer applies itself, per request. An expired
    /// Produce request is abandoned with an unknown outcome and, as Kafka's client does, its
    /// connection is closed (failing whatever else was in flight on it).
    pub(super) fn expire_requests(&mut self) {
        let now = self.now();
        let timeout = self.cfg().request_timeout_ms;
        let init_expired =
            self.init_in_flight.is_some() && now.saturating_sub(self.init_sent_ms) >= timeout;
        let metadata_expired =
            self.metadata_in_flight && now.saturating_sub(self.metadata_sent_ms) >= timeout;
        if init_expired || metadata_expired {
            self.out
                .push(crate::client::Effect::Close(self.cluster_node()));
            self.metadata_in_flight = false;
            self.init_in_flight = None;
            self.next_controller();
        }
        let expired: Vec<BrokerId> = self
            .in_flight
            .values()
            .filter(|f| f.deadline_ms <= now)
            .map(|f| f.broker)
            .collect();
        for b in expired {
            self.out
                .push(crate::client::Effect::Close(NodeId::Broker(b)));
            self.fail_all_to(
                NodeId::Broker(b),
                OpType::Info,
                "request.timeout.ms expired",
            );
        }
    }

    pub(super) fn wants_metadata(&self) -> bool {
        !self.metadata_in_flight && (self.leaders.len() as i32) < self.total_partitions()
    }

    pub(super) fn wants_producer_id(&self) -> bool {
        self.cfg().enable_idempotence && self.producer_id.is_none() && self.init_in_flight.is_none()
    }

    /// Any controller answers Metadata; InitProducerId goes to the same one (and moves on when
    /// it is not the active controller). Metadata is asked until every partition's leader is
    /// known, `retry.backoff.ms` apart.
    pub(super) fn ask_cluster(&mut self) {
        let to = self.cluster_node();
        if self.wants_metadata() && self.at >= self.next_metadata {
            self.correlation += 1;
            let correlation_id = self.correlation;
            self.send_to(to, Request::Metadata { correlation_id });
            self.metadata_in_flight = true;
            self.metadata_sent_ms = self.now();
        }
        if self.wants_producer_id() && self.now() >= self.next_init_ms {
            self.correlation += 1;
            let correlation_id = self.correlation;
            self.init_in_flight = Some(correlation_id);
            self.init_sent_ms = self.now();
            self.send_to(to, Request::InitProducerId { correlation_id });
        }
    }
}
