//! Producer ids in ZooKeeper mode, as Kafka 2.8's `ProducerIdManager` hands them out: each
//! broker claims a block of 1,000 ids by a conditional write of `/latest_producer_id_block`
//! (`{"version":1,"broker":B,"block_start":"S","block_end":"E"}`), the block after the one
//! written there, and answers InitProducerId from it. Two brokers never hold the same block:
//! a write at a version someone else moved on is refused, and the claim reads again. A block
//! outlives the session it was claimed in (it is written down), so a broker keeps using it.

use serde::{Deserialize, Serialize};

use crate::ids::{BrokerId, ConnId};
use crate::zookeeper::{ZkAnswer, ZkError, ZkOp};

/// The znode holding the last block any broker claimed.
pub const PRODUCER_ID_BLOCK: &str = "/latest_producer_id_block";

/// How many ids a claim takes (Kafka's `PidBlockSize`).
pub const BLOCK_SIZE: i64 = 1_000;

/// `/latest_producer_id_block`'s data, in Kafka's JSON (its ids as strings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Block {
    version: i32,
    broker: BrokerId,
    block_start: String,
    block_end: String,
}

/// What a claim's operation is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    Read,
    /// Write the block starting at this id, at the version read (`None`: create the znode).
    Write(i64, Option<i32>),
}

/// One broker's producer ids: the block in hand and the InitProducerId requests waiting for
/// one.
#[derive(Clone, Debug, Default)]
pub struct ProducerIds {
    /// The next id to hand out and the end of the block (inclusive).
    block: Option<(i64, i64)>,
    /// InitProducerId requests waiting for a block: (connection, correlation id).
    waiting: Vec<(ConnId, u64)>,
    claiming: bool,
}

/// What a step asks: ZooKeeper operations, and answers (connection, correlation id, id).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct IdsOut {
    pub ops: Vec<(Claim, ZkOp)>,
    pub answers: Vec<(ConnId, u64, i64)>,
}

impl ProducerIds {
    /// An InitProducerId: answered from the block in hand, or once a block is claimed.
    pub fn request(&mut self, conn: ConnId, correlation_id: u64, out: &mut IdsOut) {
        self.waiting.push((conn, correlation_id));
        self.serve(out);
    }

    /// The answer of a claim's operation, for broker `me`.
    pub fn on_answer(
        &mut self,
        me: BrokerId,
        claim: Claim,
        result: Result<ZkAnswer, Option<ZkError>>,
        out: &mut IdsOut,
    ) {
        match (claim, result) {
            (Claim::Read, Ok(ZkAnswer::Data { data, stat })) => {
                let Some(end) = block_end(&data) else {
                    // Not Kafka's JSON: nothing safe to claim after it.
                    self.claiming = false;
                    return;
                };
                self.write(me, end + 1, Some(stat.version), out);
            }
            (Claim::Read, Err(Some(ZkError::NoNode))) => self.write(me, 0, None, out),
            (Claim::Write(start, _), Ok(ZkAnswer::SetData(_) | ZkAnswer::Created { .. })) => {
                self.claiming = false;
                self.block = Some((start, start + BLOCK_SIZE - 1));
                self.serve(out);
            }
            // Another broker claimed meanwhile, or the outcome is unknown: read again (a block
            // this broker did claim but never heard of is skipped, never handed out twice).
            _ => {
                self.claiming = false;
                self.serve(out);
            }
        }
    }

    fn serve(&mut self, out: &mut IdsOut) {
        while let Some((next, end)) = self.block {
            if self.waiting.is_empty() {
                return;
            }
            let (conn, correlation_id) = self.waiting.remove(0);
            out.answers.push((conn, correlation_id, next));
            self.block = (next < end).then_some((next + 1, end));
        }
        if !self.waiting.is_empty() && !self.claiming {
            self.claiming = true;
            let op = ZkOp::GetData {
                path: PRODUCER_ID_BLOCK.into(),
                watch: false,
            };
            out.ops.push((Claim::Read, op));
        }
    }

    fn write(&mut self, me: BrokerId, start: i64, version: Option<i32>, out: &mut IdsOut) {
        let block = Block {
            version: 1,
            broker: me,
            block_start: start.to_string(),
            block_end: (start + BLOCK_SIZE - 1).to_string(),
        };
        let data = bytes::Bytes::from(serde_json::to_vec(&block).expect("plain fields"));
        let op = match version {
            Some(version) => ZkOp::SetData {
                path: PRODUCER_ID_BLOCK.into(),
                data,
                version,
            },
            None => ZkOp::Create {
                path: PRODUCER_ID_BLOCK.into(),
                data,
                ephemeral: false,
                sequential: false,
            },
        };
        out.ops.push((Claim::Write(start, version), op));
    }
}

fn block_end(data: &[u8]) -> Option<i64> {
    let block: Block = serde_json::from_slice(data).ok()?;
    block.block_end.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka_zk::one_znode::apply;

    /// Brokers 1 and 2 each asked for an id at once, every operation of one round applied
    /// in turn: the ids they answer with.
    fn claim_both(mut znode: Option<(bytes::Bytes, i32)>) -> Vec<(ConnId, u64, i64)> {
        let mut brokers = [ProducerIds::default(), ProducerIds::default()];
        let mut outs = [IdsOut::default(), IdsOut::default()];
        brokers[0].request(1, 10, &mut outs[0]);
        brokers[1].request(2, 20, &mut outs[1]);
        let mut answers = Vec::new();
        while outs.iter().any(|o| !o.ops.is_empty()) {
            // Each round both read (or both write) before either hears back.
            let ops: Vec<Vec<(Claim, ZkOp)>> = outs
                .iter_mut()
                .map(|o| std::mem::take(&mut o.ops))
                .collect();
            let results: Vec<Vec<_>> = ops
                .iter()
                .map(|ops| ops.iter().map(|(_, op)| apply(&mut znode, op)).collect())
                .collect();
            for (i, (ops, results)) in ops.into_iter().zip(results).enumerate() {
                for ((claim, _), r) in ops.into_iter().zip(results) {
                    brokers[i].on_answer(i as BrokerId + 1, claim, r, &mut outs[i]);
                }
                answers.append(&mut outs[i].answers);
            }
        }
        answers.sort();
        answers
    }

    #[test]
    fn two_brokers_claiming_at_once_get_disjoint_blocks() {
        // The first claims of a cluster race to create the znode.
        assert_eq!(claim_both(None), vec![(1, 10, 0), (2, 20, BLOCK_SIZE)]);
        // Later ones race to write the block after the last one, at the version both read.
        let last = br#"{"version":1,"broker":3,"block_start":"0","block_end":"999"}"#;
        let znode = Some((bytes::Bytes::from_static(last), 4));
        assert_eq!(
            claim_both(znode),
            vec![(1, 10, BLOCK_SIZE), (2, 20, 2 * BLOCK_SIZE)]
        );
    }

    #[test]
    fn a_broker_answers_from_its_block_until_it_is_spent() {
        let mut ids = ProducerIds {
            block: Some((998, 999)),
            ..ProducerIds::default()
        };
        let mut out = IdsOut::default();
        ids.request(1, 1, &mut out);
        ids.request(1, 2, &mut out);
        assert_eq!(out.answers, vec![(1, 1, 998), (1, 2, 999)]);
        assert!(out.ops.is_empty());
        ids.request(1, 3, &mut out);
        assert_eq!(out.ops.len(), 1, "a spent block is followed by a claim");
    }
}
