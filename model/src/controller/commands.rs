//! Which requests become metadata commands, who asked for each, and the answer a controller
//! that is not active gives instead.

use super::*;

impl Command {
    /// The command for a broker's request, if it changes metadata.
    pub fn for_request(now: TimeMs, origin: Origin, request: &Request) -> Option<Command> {
        match request {
            Request::BrokerHeartbeat {
                broker,
                broker_epoch,
                incarnation,
                log_ends,
            } => Some(Command::Heartbeat {
                now,
                origin,
                broker: *broker,
                broker_epoch: *broker_epoch,
                incarnation: *incarnation,
                log_ends: log_ends.clone(),
            }),
            Request::AlterPartition(request) => Some(Command::AlterPartition {
                now,
                origin,
                request: request.clone(),
            }),
            Request::InitProducerId { correlation_id } => Some(Command::AllocateProducerId {
                origin,
                correlation_id: *correlation_id,
            }),
            Request::JoinGroup { .. }
            | Request::GroupHeartbeat { .. }
            | Request::OffsetCommit { .. }
            | Request::OffsetFetch { .. } => Some(Command::Group {
                now,
                origin,
                request: GroupRequest(request.clone()),
            }),
            _ => None,
        }
    }

    pub fn origin(&self) -> Option<Origin> {
        match self {
            Command::Heartbeat { origin, .. }
            | Command::AlterPartition { origin, .. }
            | Command::AllocateProducerId { origin, .. }
            | Command::Group { origin, .. } => Some(*origin),
            Command::ExpireSessions { .. } | Command::RenewSessions { .. } => None,
        }
    }

    /// The answer a controller gives when it cannot apply this command (not the active one,
    /// or its proposal was lost with its leadership).
    pub fn not_controller(&self) -> Option<(ConnId, Response)> {
        match self {
            Command::Heartbeat { origin, .. } => Some((
                origin.conn,
                Response::BrokerHeartbeat {
                    result: Err(ErrorCode::NotController),
                },
            )),
            Command::AlterPartition {
                origin, request, ..
            } => Some((
                origin.conn,
                Response::AlterPartition {
                    partition: request.partition,
                    proposal: request.proposal(),
                    result: Err(ErrorCode::NotController),
                },
            )),
            Command::AllocateProducerId {
                origin,
                correlation_id,
            } => Some((
                origin.conn,
                Response::InitProducerId {
                    correlation_id: *correlation_id,
                    result: Err(ErrorCode::NotController),
                },
            )),
            Command::Group {
                origin, request, ..
            } => Some((origin.conn, request.refused(ErrorCode::NotController))),
            _ => None,
        }
    }
}
