//! The idempotent producer's rules on the broker side (Kafka's producer state): a retried batch
//! is answered with the offset it already has, a gap is OUT_OF_ORDER_SEQUENCE_NUMBER, the log
//! remembers the last five batches of a producer, and a truncation forgets what it cut. The
//! planted flaws `skip-duplicate-check` and `reorder-retries` each undo one of these rules.

mod common;

use bytes::Bytes;
use common::*;
use ksim_model::log::SequenceCheck;
use ksim_model::*;

const PID: i64 = 9;

/// Record `offset` of an idempotent batch starting at `base` with sequence `seq`.
fn prec(offset: Offset, base: Offset, seq: i32) -> Record {
    Record {
        offset,
        leader_epoch: 0,
        producer_id: PID,
        sequence: seq,
        base_offset: base,
        key: Bytes::new(),
        value: Bytes::from(format!("s{seq}")),
    }
}

#[test]
fn the_log_knows_a_producers_next_sequence_its_retained_batches_and_gaps() {
    let mut log = PartitionLog::default();
    assert_eq!(log.check_sequence(PID, 7, 7), SequenceCheck::Unknown);
    // One batch of three records, sequences 0..=2, at offsets 0..=2.
    log.append(&[prec(0, 0, 0), prec(1, 0, 1), prec(2, 0, 2)]);
    assert_eq!(log.check_sequence(PID, 0, 2), SequenceCheck::Duplicate(0));
    assert_eq!(
        log.check_sequence(PID, 0, 1),
        SequenceCheck::OutOfOrder { last: 2 },
        "a duplicate has the same first and last sequence"
    );
    assert_eq!(log.check_sequence(PID, 3, 3), SequenceCheck::Next);
    assert_eq!(
        log.check_sequence(PID, 4, 4),
        SequenceCheck::OutOfOrder { last: 2 }
    );
    assert_eq!(log.check_sequence(PID + 1, 0, 0), SequenceCheck::Unknown);
    // Five more one-record batches: the first batch is no longer retained.
    for seq in 3..8 {
        log.append(&[prec(seq as Offset, seq as Offset, seq)]);
    }
    assert_eq!(log.check_sequence(PID, 3, 3), SequenceCheck::Duplicate(3));
    assert_eq!(
        log.check_sequence(PID, 0, 2),
        SequenceCheck::OutOfOrder { last: 7 }
    );
    // A truncation rebuilds the producer state from what is left.
    log.truncate_to(5);
    assert_eq!(log.check_sequence(PID, 5, 5), SequenceCheck::Next);
    assert_eq!(log.check_sequence(PID, 0, 2), SequenceCheck::Duplicate(0));
    log.truncate_to(0);
    assert_eq!(log.check_sequence(PID, 5, 5), SequenceCheck::Unknown);
}

/// A cluster of 3 whose leader 1 holds batch 0 (`a`, `b`) of the idempotent producer.
fn cluster_with_one_batch(flaw: Flaw) -> Cluster {
    let mut c = Cluster::planted(BrokerConfig::default(), 3, flaw);
    let first = c.produce_as(Acks::Leader, &["a", "b"], 30_000, (PID, 0));
    c.deliver_all();
    assert_eq!(c.results[&first], Ok(0));
    c
}

fn send(c: &mut Cluster, values: &[&str], seq: i32) -> Result<Offset, ErrorCode> {
    let corr = c.produce_as(Acks::Leader, values, 30_000, (PID, seq));
    c.deliver_all();
    c.results[&corr]
}

#[test]
fn a_retried_batch_is_answered_with_its_first_offset_and_not_appended_again() {
    let mut c = cluster_with_one_batch(Flaw::None);
    assert_eq!(send(&mut c, &["a", "b"], 0), Ok(0));
    assert_eq!(c.log(1).leo(), 2);
    let marks = c
        .notes
        .iter()
        .filter(|(_, n)| *n == Note::Mark(Mark::IdempotentDuplicate));
    assert_eq!(marks.count(), 1);
    assert_eq!(send(&mut c, &["c"], 2), Ok(2), "the next sequence appends");
}

#[test]
fn a_batch_after_a_gap_is_refused_as_out_of_order() {
    let mut c = cluster_with_one_batch(Flaw::None);
    assert_eq!(
        send(&mut c, &["d"], 3),
        Err(ErrorCode::OutOfOrderSequenceNumber)
    );
    assert_eq!(c.log(1).leo(), 2, "nothing appended");
    let marks = c
        .notes
        .iter()
        .filter(|(_, n)| *n == Note::Mark(Mark::OutOfOrderSequence));
    assert_eq!(marks.count(), 1);
}

#[test]
fn planted_skip_duplicate_check_appends_a_retry_twice() {
    let mut c = cluster_with_one_batch(Flaw::SkipDuplicateCheck);
    assert_eq!(send(&mut c, &["a", "b"], 0), Ok(2));
    assert_eq!(c.log(1).leo(), 4);
}

#[test]
fn planted_reorder_retries_appends_after_a_gap() {
    let mut c = cluster_with_one_batch(Flaw::ReorderRetries);
    assert_eq!(send(&mut c, &["d"], 3), Ok(2));
    assert_eq!(c.log(1).leo(), 3);
}

#[test]
fn a_retry_of_a_batch_not_yet_committed_waits_for_the_hw_to_pass_it() {
    use common::hand::{commit_to, produce_answer, produce_as, Hand};
    // Leader 1 holds offsets 0..4; the idempotent batch lands at offset 4.
    let mut h = Hand::leader(BrokerConfig::default());
    let (first, ready) = h.request(CLIENT, produce_as(Acks::All, &["x"], (PID, 0)));
    assert_eq!(produce_answer(&ready.sends, first), None);
    let sent = commit_to(&mut h, 4);
    assert_eq!(
        produce_answer(&sent, first),
        None,
        "HW 4 is below the batch"
    );
    let (retry, ready) = h.request(CLIENT, produce_as(Acks::All, &["x"], (PID, 0)));
    assert_eq!(
        produce_answer(&ready.sends, retry),
        None,
        "offset 4 is not committed"
    );
    let sent = commit_to(&mut h, 5);
    assert_eq!(produce_answer(&sent, retry), Some((1, Ok(4))));
    assert_eq!(produce_answer(&sent, first), Some((1, Ok(4))));
}
