//! The model's words are Kafka's: `acks` as producer.properties writes it, the error codes as a
//! client logs them, the assignors as `partition.assignment.strategy` names them, and the
//! protocol switches as the scenario file's `[protocol]` keys. Banners, exports and scenario
//! files are written with these names, so each is pinned here.

use ksim_model::*;

#[test]
fn acks_truncation_and_assignors_have_their_kafka_names() {
    let acks: Vec<_> = [Acks::None, Acks::Leader, Acks::All]
        .map(Acks::name)
        .to_vec();
    assert_eq!(acks, ["0", "1", "all"]);
    let truncations = [
        Truncation::HighWatermark,
        Truncation::Kip101,
        Truncation::LeaderEpoch,
    ]
    .map(Truncation::name);
    assert_eq!(truncations, ["high-watermark", "kip-101", "leader-epoch"]);
    let assignors = [Assignor::Range, Assignor::RoundRobin].map(Assignor::name);
    assert_eq!(assignors, ["range", "roundrobin"]);
}

#[test]
fn error_codes_are_named_as_kafka_logs_them() {
    let codes = [
        (ErrorCode::NotLeaderOrFollower, "NOT_LEADER_OR_FOLLOWER"),
        (ErrorCode::FencedLeaderEpoch, "FENCED_LEADER_EPOCH"),
        (ErrorCode::UnknownLeaderEpoch, "UNKNOWN_LEADER_EPOCH"),
        (ErrorCode::NotEnoughReplicas, "NOT_ENOUGH_REPLICAS"),
        (
            ErrorCode::NotEnoughReplicasAfterAppend,
            "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        ),
        (ErrorCode::RequestTimedOut, "REQUEST_TIMED_OUT"),
        (ErrorCode::InvalidUpdateVersion, "INVALID_UPDATE_VERSION"),
        (ErrorCode::IneligibleReplica, "INELIGIBLE_REPLICA"),
        (
            ErrorCode::DuplicateBrokerRegistration,
            "DUPLICATE_BROKER_REGISTRATION",
        ),
        (ErrorCode::StaleBrokerEpoch, "STALE_BROKER_EPOCH"),
        (
            ErrorCode::UnknownTopicOrPartition,
            "UNKNOWN_TOPIC_OR_PARTITION",
        ),
        (ErrorCode::NotController, "NOT_CONTROLLER"),
        (
            ErrorCode::OutOfOrderSequenceNumber,
            "OUT_OF_ORDER_SEQUENCE_NUMBER",
        ),
        (ErrorCode::OffsetOutOfRange, "OFFSET_OUT_OF_RANGE"),
        (ErrorCode::RebalanceInProgress, "REBALANCE_IN_PROGRESS"),
        (ErrorCode::IllegalGeneration, "ILLEGAL_GENERATION"),
        (ErrorCode::UnknownMemberId, "UNKNOWN_MEMBER_ID"),
    ];
    for (code, name) in codes {
        assert_eq!(code.name(), name);
    }
}

#[test]
fn messages_are_counted_and_matched_by_their_kind() {
    // The simulator counts messages by kind, and a slow link may delay one kind only.
    let fetch = Request::OffsetFetch { correlation_id: 1 };
    assert_eq!(fetch.kind(), "offset_fetch");
    assert_eq!(Request::Metadata { correlation_id: 1 }.kind(), "metadata");
    let answer = Response::OffsetFetch {
        correlation_id: 1,
        result: Ok(vec![]),
    };
    assert_eq!(answer.kind(), "offset_fetch_response");
    assert_eq!(Message::Request(fetch).kind(), "offset_fetch");
    assert_eq!(Message::Response(answer).kind(), "offset_fetch_response");
}

#[test]
fn coverage_marks_have_the_names_scenarios_require_them_by() {
    let names: Vec<_> = Mark::ALL.iter().map(|m| m.name()).collect();
    assert_eq!(
        names,
        [
            "isr-shrink-for-lag",
            "isr-expand",
            "fenced-leader-epoch",
            "diverging-epoch",
            "idempotent-duplicate",
            "out-of-order-sequence",
            "elr-election",
            "old-rule:fetch-answer-from-another-epoch",
            "old-rule:hw-from-an-earlier-epoch",
            "old-rule:isr-expand-below-epoch-start",
            "old-rule:isr-add-with-stale-broker-epoch",
            "old-rule:stale-controller-epoch-applied",
        ]
    );
    let truncations = [
        TruncateReason::HighWatermark,
        TruncateReason::Kip101,
        TruncateReason::DivergingEpoch,
        TruncateReason::OffsetOutOfRange,
    ]
    .map(TruncateReason::mark);
    assert_eq!(
        truncations,
        [
            "truncate:high-watermark",
            "truncate:kip-101",
            "truncate:diverging-epoch",
            "truncate:offset-out-of-range",
        ]
    );
}
