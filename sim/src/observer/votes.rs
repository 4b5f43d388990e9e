//! Raft's election safety judged from outside the controllers: what each voter wrote to its
//! disk and which votes it sent. At most one candidate gets a voter's vote in a term, and a
//! granted vote is on stable storage before it leaves (so a restart cannot forget it). The
//! quorum checker compares leaders and logs; this compares the votes themselves.

use std::collections::BTreeMap;

use ksim_model::quorum::{NodeIndex, PersistOp, RaftMessage, Term};

/// Every vote each controller persisted and granted, over all its restarts.
#[derive(Debug, Default)]
pub struct VoteLedger {
    /// Each voter's (term, vote) as on its disk now.
    on_disk: BTreeMap<NodeIndex, (Term, Option<NodeIndex>)>,
    /// (voter, term) -> the candidate it granted its vote to.
    granted: BTreeMap<(NodeIndex, Term), NodeIndex>,
    /// (voter, term) -> the candidate its disk first named in that term.
    persisted: BTreeMap<(NodeIndex, Term), NodeIndex>,
    /// Votes compared: each persisted vote and each granted vote.
    pub checks: u64,
}

impl VoteLedger {
    /// One step of `voter`: its writes (applied before its sends leave) and its sends. Returns
    /// the violations, in Kafka's (Raft's) words.
    pub fn observe<E>(
        &mut self,
        voter: NodeIndex,
        persist: &[PersistOp<E>],
        sends: &[(NodeIndex, RaftMessage<E>)],
    ) -> Vec<String> {
        let mut found = Vec::new();
        for op in persist {
            if let PersistOp::SetTermVote { term, voted_for } = op {
                self.on_disk.insert(voter, (*term, *voted_for));
                if let Some(c) = voted_for {
                    self.checks += 1;
                    let first = *self.persisted.entry((voter, *term)).or_insert(*c);
                    if first != *c {
                        found.push(format!("controller {voter} wrote a vote for controller {c} in term {term} after it had written one for controller {first}: a voter votes once per term"));
                    }
                }
            }
        }
        for (to, msg) in sends {
            let RaftMessage::Vote {
                term,
                granted: true,
            } = msg
            else {
                continue;
            };
            self.checks += 1;
            let first = *self.granted.entry((voter, *term)).or_insert(*to);
            if first != *to {
                found.push(format!("controller {voter} granted its vote in term {term} to controller {to} after granting it to controller {first}: two candidates can win one term"));
            }
            if self.on_disk.get(&voter) != Some(&(*term, Some(*to))) {
                found.push(format!("controller {voter} granted its vote in term {term} to controller {to} without that vote on its disk (it has {:?}): a restart would forget it", self.on_disk.get(&voter)));
            }
        }
        found
    }
}
