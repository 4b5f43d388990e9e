//! A server's answers to its clients: connecting (a new session, or one moved here), reads
//! answered from the local tree with their watches, writes handed to the leader, and `sync`.

use rand::Rng;

use super::{ZkReady, ZkServer};
use crate::ids::ConnId;
use crate::quorum::Role;
use crate::selftest::ZkFlaw;
use crate::zookeeper::{
    PeerMessage, SessionId, Txn, ZkAnswer, ZkError, ZkOp, ZkRequest, ZkResponse, Zxid,
};

impl ZkServer {
    pub(super) fn on_client<R: Rng + ?Sized>(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        request: ZkRequest,
        rng: &mut R,
        ready: &mut ZkReady,
    ) {
        if self.serving.is_none() {
            ready.close.push(conn);
            return;
        }
        match request {
            ZkRequest::Connect {
                session,
                timeout_ms,
                last_zxid_seen,
            } => self.connect(
                now_ms,
                conn,
                session,
                timeout_ms,
                last_zxid_seen,
                rng,
                ready,
            ),
            ZkRequest::Op { xid, op } => {
                let Some(Some(session)) = self.conns.get(&conn).copied() else {
                    ready.close.push(conn);
                    return;
                };
                self.touch(now_ms, session);
                self.op(now_ms, conn, session, xid, op, rng, ready);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn connect<R: Rng + ?Sized>(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        session: Option<SessionId>,
        timeout_ms: u64,
        last_zxid_seen: Zxid,
        rng: &mut R,
        ready: &mut ZkReady,
    ) {
        // A client never goes back in time: a server behind what it has seen refuses it, and
        // the client tries another.
        let stale = last_zxid_seen > self.tree.last_zxid();
        if stale
            && !self
                .selftest
                .planted_in_zookeeper(ZkFlaw::AcceptStaleReconnect)
        {
            ready.close.push(conn);
            return;
        }
        match session {
            None => {
                self.conns.insert(conn, None);
                let timeout_ms = self.cfg.negotiate(timeout_ms);
                let origin = self.id;
                let txn = Txn::CreateSession {
                    origin,
                    conn,
                    timeout_ms,
                };
                self.submit(now_ms, txn, rng, ready);
            }
            Some(s) => match self.tree.sessions().get(&s).copied() {
                Some(timeout_ms) => {
                    self.conns.insert(conn, Some(s));
                    self.touch(now_ms, s);
                    let answer = ZkResponse::Connected {
                        session: s,
                        timeout_ms,
                    };
                    ready.clients.push((conn, answer));
                }
                None => {
                    ready
                        .clients
                        .push((conn, ZkResponse::Expired { session: s }));
                    ready.close.push(conn);
                }
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn op<R: Rng + ?Sized>(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        session: SessionId,
        xid: u64,
        op: ZkOp,
        rng: &mut R,
        ready: &mut ZkReady,
    ) {
        if op.is_write() {
            let origin = self.id;
            let txn = Txn::Op {
                origin,
                conn,
                session,
                xid,
                op,
            };
            self.submit(now_ms, txn, rng, ready);
            return;
        }
        if let ZkOp::Sync { .. } = op {
            self.sync(conn, xid, ready);
            return;
        }
        let result = self.read(conn, &op);
        // The events SetWatches fires go before its reply, as ZooKeeper's FinalRequestProcessor
        // sends them: the reply's zxid moves the client's last seen zxid past the changes, so
        // an event lost after it would never fire again (swarm seed 72375).
        if let ZkOp::SetWatches {
            relative_zxid,
            data,
            exist,
            child,
        } = &op
        {
            let paths = (data.clone(), exist.clone(), child.clone());
            self.set_watches(conn, *relative_zxid, paths, ready);
        }
        let zxid = self.tree.last_zxid();
        ready
            .clients
            .push((conn, ZkResponse::Reply { xid, zxid, result }));
    }

    /// ZooKeeper's `DataTree.setWatches`: a watch whose znode changed since the client last
    /// saw the tree fires now; the others are set on this connection.
    fn set_watches(
        &mut self,
        conn: ConnId,
        since: Zxid,
        (data, exist, child): (Vec<String>, Vec<String>, Vec<String>),
        ready: &mut ZkReady,
    ) {
        use crate::zookeeper::EventKind::*;
        let mut fire = |path: String, kind| {
            ready.clients.push((conn, ZkResponse::Watch { path, kind }));
        };
        for path in data {
            match self.tree.get(&path) {
                None => fire(path, NodeDeleted),
                Some(n) if n.stat.mzxid > since => fire(path, NodeDataChanged),
                Some(_) => {
                    self.data_watches.entry(path).or_default().insert(conn);
                }
            }
        }
        for path in exist {
            if self.tree.get(&path).is_some() {
                fire(path, NodeCreated);
            } else {
                self.data_watches.entry(path).or_default().insert(conn);
            }
        }
        for path in child {
            match self.tree.get(&path) {
                None => fire(path, NodeDeleted),
                Some(n) if n.stat.pzxid > since => fire(path, NodeChildrenChanged),
                Some(_) => {
                    self.child_watches.entry(path).or_default().insert(conn);
                }
            }
        }
    }

    /// A read from the local tree; a watch asked for is set on this connection.
    fn read(&mut self, conn: ConnId, op: &ZkOp) -> Result<ZkAnswer, ZkError> {
        match op {
            ZkOp::GetData { path, watch } => {
                let node = self.tree.get(path).ok_or(ZkError::NoNode)?.clone();
                if *watch {
                    self.data_watches
                        .entry(path.clone())
                        .or_default()
                        .insert(conn);
                }
                Ok(ZkAnswer::Data {
                    data: node.data,
                    stat: node.stat,
                })
            }
            // An exists watch is set whether or not the znode is there: it hears the creation.
            ZkOp::Exists { path, watch } => {
                if *watch {
                    self.data_watches
                        .entry(path.clone())
                        .or_default()
                        .insert(conn);
                }
                Ok(ZkAnswer::Exists(self.tree.get(path).map(|n| n.stat)))
            }
            ZkOp::GetChildren { path, watch } => {
                self.tree.get(path).ok_or(ZkError::NoNode)?;
                if *watch {
                    self.child_watches
                        .entry(path.clone())
                        .or_default()
                        .insert(conn);
                }
                Ok(ZkAnswer::Children(self.tree.children(path)))
            }
            ZkOp::Ping => Ok(ZkAnswer::Pong),
            ZkOp::SetWatches { .. } => Ok(ZkAnswer::WatchesSet),
            _ => Err(ZkError::BadArguments),
        }
    }

    /// A sync is answered once this server has applied everything the leader had proposed
    /// when the sync reached it.
    fn sync(&mut self, conn: ConnId, xid: u64, ready: &mut ZkReady) {
        if self.quorum.role() == Role::Leader {
            self.syncs_waiting
                .push((self.quorum.last_index(), conn, xid));
            self.answer_syncs(ready);
        } else if let Some(leader) = self.quorum.leader() {
            let id = self.next_sync;
            self.next_sync += 1;
            self.syncs_out.insert(id, (conn, xid));
            ready.peers.push((leader, PeerMessage::Sync { id }));
        }
    }
}
