//! The consumer group's coordinator in ZooKeeper mode. Kafka 2.8's coordinator is the broker
//! leading the group's `__consumer_offsets` partition; here it is the controller broker (one
//! at a time, found through `/controller` as that partition's leader is found through its
//! state znode), and the committed offsets live in ZooKeeper, where Kafka's consumers kept
//! them before `__consumer_offsets` (`/consumers/<group>/offsets`), as one znode written by
//! conditional update: a commit is answered once ZooKeeper's quorum has it, and a coordinator
//! whose view is stale (another coordinator wrote since it read) reads again before it
//! commits. Membership is the coordinator's own, as in Kafka: members join a new coordinator
//! afresh, in a generation above every earlier coordinator's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::group::{refused, Group};
use crate::ids::{ConnId, Offset, PartitionId, TimeMs};
use crate::messages::{ErrorCode, Request, Response};
use crate::zookeeper::{ZkAnswer, ZkError, ZkOp};

/// The workload group's committed offsets, and the paths above them, parents first.
pub const GROUP_PATHS: [&str; 3] = ["/consumers", "/consumers/workload", GROUP_OFFSETS];
pub const GROUP_OFFSETS: &str = "/consumers/workload/offsets";

/// How far apart two coordinators' generations start: the coordinator of controller epoch E
/// counts from E × 1,000, above any generation of an earlier one, so that no generation
/// number means two assignments (Kafka reads the last generation back from
/// `__consumer_offsets`; a run does not rebalance a thousand times under one controller).
const GENERATIONS_PER_EPOCH: i32 = 1_000;

/// The offsets znode's data: `{"version":1,"generation":3,"offsets":{"0":12,"1":40}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    version: i32,
    generation: i32,
    offsets: BTreeMap<PartitionId, Offset>,
}

/// What an operation's answer is for.
#[derive(Clone, Debug)]
pub enum GroupOp {
    /// Read the committed offsets before serving.
    Load,
    /// A parent path, created once (its answer does not matter).
    CreatePath,
    /// The offsets znode, created empty; then read.
    CreateOffsets,
    /// A commit's conditional write, and the request it answers.
    Commit(ConnId, Request),
}

/// What a step asks: ZooKeeper operations, and answers on the connections they came on.
#[derive(Debug, Default)]
pub struct GroupOut {
    pub ops: Vec<(GroupOp, ZkOp)>,
    pub answers: Vec<(ConnId, Response)>,
}

/// The coordinator's side: the group once loaded, and the requests waiting for it.
#[derive(Clone, Debug, Default)]
pub struct ZkGroup {
    group: Group,
    /// The offsets znode's version this coordinator last read or wrote (`None`: to read).
    version: Option<i32>,
    loading: bool,
    /// Requests that came while loading, or behind the commit being written.
    waiting: Vec<(ConnId, Request)>,
    writing: bool,
    /// How many topics the partitions make, and how many each has.
    topics: i32,
    per_topic: i32,
}

impl ZkGroup {
    pub fn new(topics: i32, partitions: i32) -> Self {
        let topics = topics.max(1);
        ZkGroup {
            topics,
            per_topic: partitions / topics,
            ..ZkGroup::default()
        }
    }

    /// A group request, at a broker that coordinates the group (`epoch`: its controller
    /// epoch) or not (`None`: refused with NOT_COORDINATOR).
    pub fn request(
        &mut self,
        now: TimeMs,
        epoch: Option<i32>,
        conn: ConnId,
        request: Request,
        out: &mut GroupOut,
    ) {
        if epoch.is_none() {
            self.resign(out);
            out.answers
                .push((conn, refused(&request, ErrorCode::NotCoordinator)));
            return;
        }
        self.waiting.push((conn, request));
        self.serve(now, out);
    }

    /// Every tick: members whose session expired leave; a broker no longer controller lets
    /// the group go.
    pub fn tick(&mut self, now: TimeMs, epoch: Option<i32>, out: &mut GroupOut) {
        match epoch {
            Some(_) if self.version.is_some() => self.group.expire(now),
            Some(_) => {}
            None => self.resign(out),
        }
    }

    /// No longer the coordinator: the group goes, and who waits is told to look elsewhere.
    fn resign(&mut self, out: &mut GroupOut) {
        if self.version.is_none() && !self.loading && self.waiting.is_empty() {
            return;
        }
        self.refuse_waiting(out);
        *self = ZkGroup::new(self.topics, self.topics * self.per_topic);
    }

    fn refuse_waiting(&mut self, out: &mut GroupOut) {
        for (conn, request) in self.waiting.drain(..) {
            out.answers
                .push((conn, refused(&request, ErrorCode::NotCoordinator)));
        }
    }

    /// Answer what waits, in order: all of it once loaded, up to the next commit to write.
    fn serve(&mut self, now: TimeMs, out: &mut GroupOut) {
        let Some(version) = self.version else {
            if !self.loading {
                self.loading = true;
                out.ops.push((GroupOp::Load, read()));
            }
            return;
        };
        while !self.writing && !self.waiting.is_empty() {
            let (conn, request) = self.waiting.remove(0);
            let Request::OffsetCommit {
                member,
                generation,
                offsets,
                ..
            } = &request
            else {
                let response = self
                    .group
                    .answer(now, &request, self.topics, self.per_topic);
                out.answers.push((conn, response));
                continue;
            };
            if let Err(e) = self.group.may_commit(*member, *generation) {
                out.answers.push((conn, refused(&request, e)));
                continue;
            }
            let mut stored = self.stored();
            stored.offsets.extend(offsets.iter().copied());
            self.writing = true;
            let op = ZkOp::SetData {
                path: GROUP_OFFSETS.into(),
                data: to_bytes(&stored),
                version,
            };
            out.ops.push((GroupOp::Commit(conn, request), op));
        }
    }

    fn stored(&self) -> Stored {
        Stored {
            version: 1,
            generation: self.group.generation,
            offsets: self.group.committed.clone(),
        }
    }

    /// The answer of one of the coordinator's operations.
    pub fn on_answer(
        &mut self,
        now: TimeMs,
        epoch: Option<i32>,
        op: GroupOp,
        result: Result<ZkAnswer, Option<ZkError>>,
        out: &mut GroupOut,
    ) {
        let Some(epoch) = epoch else {
            if let GroupOp::Commit(conn, request) = op {
                self.waiting.insert(0, (conn, request));
            }
            return self.resign(out);
        };
        match (op, result) {
            (GroupOp::Load, Ok(ZkAnswer::Data { data, stat })) => {
                self.load(epoch, &data, stat.version)
            }
            (GroupOp::Load, Err(Some(ZkError::NoNode))) => {
                for path in &GROUP_PATHS[..2] {
                    out.ops
                        .push((GroupOp::CreatePath, create(path, Vec::new().into())));
                }
                let empty = to_bytes(&Stored {
                    version: 1,
                    ..Stored::default()
                });
                out.ops
                    .push((GroupOp::CreateOffsets, create(GROUP_OFFSETS, empty)));
                return;
            }
            (GroupOp::CreatePath, _) => return,
            (GroupOp::CreateOffsets, Ok(_) | Err(Some(ZkError::NodeExists))) => {
                out.ops.push((GroupOp::Load, read()));
                return;
            }
            // ZooKeeper cannot be read now: who waits looks elsewhere, and comes back.
            (GroupOp::Load | GroupOp::CreateOffsets, _) => {
                self.loading = false;
                return self.refuse_waiting(out);
            }
            (GroupOp::Commit(conn, request), Ok(ZkAnswer::SetData(stat))) => {
                self.writing = false;
                self.version = Some(stat.version);
                if let Request::OffsetCommit { offsets, .. } = &request {
                    self.group.committed.extend(offsets.iter().copied());
                }
                out.answers.push((conn, ok_commit(&request)));
            }
            // Another coordinator wrote since this one read, or the outcome is unknown: read
            // again, and judge the commit against what is there then.
            (GroupOp::Commit(conn, request), _) => {
                self.writing = false;
                self.version = None;
                self.waiting.insert(0, (conn, request));
            }
        }
        self.serve(now, out);
    }

    /// The offsets read: this coordinator's generations start above every earlier one's.
    fn load(&mut self, epoch: i32, data: &[u8], version: i32) {
        self.loading = false;
        self.version = Some(version);
        // Only coordinators write this znode, always as JSON: anything else is a broken model,
        // and the run stops on it as a finding rather than forget the committed offsets.
        let stored: Stored = serde_json::from_slice(data)
            .unwrap_or_else(|e| panic!("{GROUP_OFFSETS} holds what no coordinator wrote: {e}"));
        if self.group.members.is_empty() {
            let floor = epoch.saturating_mul(GENERATIONS_PER_EPOCH);
            self.group.generation = self.group.generation.max(stored.generation).max(floor);
        }
        self.group.committed = stored.offsets;
    }
}

fn read() -> ZkOp {
    ZkOp::GetData {
        path: GROUP_OFFSETS.into(),
        watch: false,
    }
}

fn create(path: &str, data: bytes::Bytes) -> ZkOp {
    ZkOp::Create {
        path: path.into(),
        data,
        ephemeral: false,
        sequential: false,
    }
}

fn to_bytes(stored: &Stored) -> bytes::Bytes {
    bytes::Bytes::from(serde_json::to_vec(stored).expect("plain fields serialize"))
}

fn ok_commit(request: &Request) -> Response {
    let Request::OffsetCommit { correlation_id, .. } = request else {
        unreachable!("a commit's answer for {request:?}")
    };
    Response::OffsetCommit {
        correlation_id: *correlation_id,
        result: Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assignor::Assignor;
    use crate::kafka_zk::one_znode::apply;

    fn join(g: &mut ZkGroup, epoch: i32, member: (u32, u64), out: &mut GroupOut) {
        let request = Request::JoinGroup {
            correlation_id: 1,
            member,
            assignor: Assignor::Range,
            session_timeout_ms: 10_000,
        };
        g.request(0, Some(epoch), 1, request, out);
    }

    /// Run every operation both coordinators asked, round by round (both write before
    /// either hears back), on one offsets znode; the answers they gave.
    fn run(
        groups: &mut [(ZkGroup, i32); 2],
        outs: &mut [GroupOut; 2],
        znode: &mut Option<(bytes::Bytes, i32)>,
    ) -> Vec<Response> {
        let mut answers = Vec::new();
        while outs.iter().any(|o| !o.ops.is_empty()) {
            let ops: Vec<_> = outs
                .iter_mut()
                .map(|o| std::mem::take(&mut o.ops))
                .collect();
            let results: Vec<Vec<_>> = ops
                .iter()
                .map(|ops| ops.iter().map(|(_, op)| apply(znode, op)).collect())
                .collect();
            for (i, (ops, results)) in ops.into_iter().zip(results).enumerate() {
                let (g, epoch) = &mut groups[i];
                for ((op, _), r) in ops.into_iter().zip(results) {
                    g.on_answer(0, Some(*epoch), op, r, &mut outs[i]);
                }
                answers.extend(outs[i].answers.drain(..).map(|(_, r)| r));
            }
        }
        answers
    }

    /// Two coordinators at once (a controller that does not know yet that it was replaced,
    /// and its successor) each commit for their own member: neither commit, once answered,
    /// is overwritten by the other. With the write made unconditional, the second writer
    /// puts back the offsets it read before the first wrote, and an answered commit is gone.
    #[test]
    fn two_coordinators_committing_at_once_keep_both_commits() {
        let empty = to_bytes(&Stored {
            version: 1,
            ..Stored::default()
        });
        let mut znode = Some((empty, 0));
        let mut groups = [(ZkGroup::new(1, 2), 1), (ZkGroup::new(1, 2), 2)];
        let mut outs = [GroupOut::default(), GroupOut::default()];
        for (i, member) in [(1, 1), (2, 1)].into_iter().enumerate() {
            let (g, epoch) = &mut groups[i];
            join(g, *epoch, member, &mut outs[i]);
        }
        let joined = run(&mut groups, &mut outs, &mut znode);
        let generations: Vec<i32> = joined
            .iter()
            .map(|r| match r {
                Response::JoinGroup {
                    result: Ok((g, _)), ..
                } => *g,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(
            generations[0] < generations[1],
            "a later coordinator's generations are above: {generations:?}"
        );
        for (i, (member, partition, offset)) in
            [((1, 1), 0, 10), ((2, 1), 1, 50)].into_iter().enumerate()
        {
            let commit = Request::OffsetCommit {
                correlation_id: 2,
                member,
                generation: generations[i],
                offsets: vec![(partition, offset)],
            };
            let (g, epoch) = &mut groups[i];
            g.request(0, Some(*epoch), 1, commit, &mut outs[i]);
        }
        let answers = run(&mut groups, &mut outs, &mut znode);
        assert!(
            answers
                .iter()
                .all(|r| matches!(r, Response::OffsetCommit { result: Ok(()), .. })),
            "{answers:?}"
        );
        assert_eq!(answers.len(), 2);
        let (data, _) = znode.expect("the offsets znode");
        let stored: Stored = serde_json::from_slice(&data).expect("Kafka-style JSON");
        assert_eq!(stored.offsets, BTreeMap::from([(0, 10), (1, 50)]));
    }

    #[test]
    fn a_broker_that_is_not_the_controller_refuses_with_not_coordinator() {
        let mut g = ZkGroup::new(1, 1);
        let mut out = GroupOut::default();
        g.request(
            0,
            None,
            7,
            Request::OffsetFetch { correlation_id: 3 },
            &mut out,
        );
        assert!(out.ops.is_empty());
        assert!(matches!(
            out.answers[..],
            [(
                7,
                Response::OffsetFetch {
                    result: Err(ErrorCode::NotCoordinator),
                    ..
                }
            )]
        ));
    }
}
