//! `ZkObserver`: the ensemble's invariants, checked by a harness after every step from what
//! the servers applied and what their clients saw.
//!
//! - the broadcast core's (one leader per epoch, commit points never go back, committed
//!   transactions never change, a majority holds every committed one): `QuorumObserver`;
//! - committed zxids never change or reorder: every server applies the same transactions in
//!   the same zxid order, from the start after each restart;
//! - servers that applied the same transactions hold the same tree (equal digests);
//! - a session's ephemerals vanish with it: no tree holds an ephemeral of a session it has
//!   closed;
//! - a client never sees the tree go back: the zxids of the answers a session receives never
//!   decrease, across reconnections to other servers.

use std::collections::BTreeMap;

use super::{SessionId, Txn, ZkOp, ZkServer, Zxid};
use crate::quorum::{NodeIndex, QuorumObserver};

#[derive(Debug, Default)]
pub struct ZkObserver {
    quorum: QuorumObserver<Txn>,
    /// Every committed transaction in zxid order, as first applied anywhere.
    history: Vec<(Zxid, Txn)>,
    /// The tree's digest after each zxid, as first seen.
    digests: BTreeMap<Zxid, u64>,
    /// Per server: the incarnation and how far into `history` it has applied.
    cursor: BTreeMap<NodeIndex, (u64, usize)>,
    /// The highest zxid each session has been answered with.
    seen: BTreeMap<SessionId, Zxid>,
    checks: u64,
}

impl ZkObserver {
    pub fn new() -> Self {
        ZkObserver::default()
    }

    /// How many comparisons were made.
    pub fn checks(&self) -> u64 {
        self.checks + self.quorum.checks()
    }

    /// Committed transactions, in zxid order.
    pub fn history(&self) -> &[(Zxid, Txn)] {
        &self.history
    }

    /// The consensus invariants over every live server.
    pub fn observe(&mut self, servers: &[&ZkServer]) -> Vec<String> {
        let nodes: Vec<_> = servers.iter().map(|s| s.quorum()).collect();
        self.quorum.observe(&nodes)
    }

    /// What `server` applied in its last step, and the tree it holds after it.
    pub fn applied(&mut self, server: &ZkServer, applied: &[(Zxid, Txn)]) -> Vec<String> {
        let mut out = Vec::new();
        let id = server.id();
        let incarnation = server.quorum().incarnation();
        let cursor = self.cursor.entry(id).or_insert((incarnation, 0));
        let restarted = cursor.0 != incarnation;
        if restarted {
            *cursor = (incarnation, 0);
        }
        for (zxid, txn) in applied {
            self.checks += 1;
            let k = cursor.1;
            cursor.1 += 1;
            match self.history.get(k) {
                Some((z, t)) if (z, t) == (zxid, txn) => {}
                Some((z, t)) => out.push(format!(
                    "server {id} applied {zxid} {txn:?} as committed transaction #{k}, which is {z} {t:?}"
                )),
                None => {
                    if let Some((last, _)) = self.history.last() {
                        if zxid <= last {
                            out.push(format!("server {id} committed {zxid} after {last}"));
                        }
                    }
                    self.history.push((*zxid, txn.clone()));
                }
            }
        }
        // Only a closed session can leave an ephemeral behind: the tree is searched for them
        // after a close (or a restart's recovery), not after every write.
        let closes = restarted
            || applied.iter().any(|(_, txn)| {
                matches!(
                    txn,
                    Txn::CloseSession { .. }
                        | Txn::Op {
                            op: ZkOp::CloseSession,
                            ..
                        }
                )
            });
        self.check_tree(server, closes, &mut out);
        out
    }

    fn check_tree(&mut self, server: &ZkServer, closes: bool, out: &mut Vec<String>) {
        let id = server.id();
        let tree = server.tree();
        let z = tree.last_zxid();
        let digest = tree.digest();
        self.checks += 1;
        let first = *self.digests.entry(z).or_insert(digest);
        if first != digest {
            out.push(format!(
                "server {id}'s tree at {z} differs from another server's at the same zxid"
            ));
        }
        if !closes {
            return;
        }
        for (path, node) in tree.znodes() {
            if let Some(owner) = node.stat.ephemeral_owner {
                self.checks += 1;
                if !tree.sessions().contains_key(&owner) {
                    out.push(format!(
                        "server {id} at {z} still holds ephemeral {path} of closed session 0x{owner:x}"
                    ));
                }
            }
        }
    }

    /// A client of `session` was answered at `zxid`.
    pub fn client_saw(&mut self, session: SessionId, zxid: Zxid) -> Option<String> {
        self.checks += 1;
        let last = self.seen.entry(session).or_default();
        if zxid < *last {
            return Some(format!(
                "session 0x{session:x} saw {zxid} after {last}: the tree went back in time"
            ));
        }
        *last = zxid;
        None
    }
}
