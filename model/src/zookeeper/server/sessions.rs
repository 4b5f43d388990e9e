//! Sessions: created and closed by transactions; kept alive by their clients' requests, which
//! followers relay to the leader every tick; expired by the leader when it has not heard of
//! one within its timeout. A new leader gives every session a fresh timeout, as ZooKeeper's
//! does, since it cannot know when the old leader last heard of each.

use rand::Rng;

use super::{ZkReady, ZkServer};
use crate::ids::ConnId;
use crate::quorum::{NodeIndex, Role};
use crate::zookeeper::{PeerMessage, SessionId, Txn, ZkResponse};

impl ZkServer {
    pub(super) fn on_tick<R: Rng + ?Sized>(
        &mut self,
        now_ms: u64,
        rng: &mut R,
        ready: &mut ZkReady,
    ) {
        match self.quorum.role() {
            Role::Leader if self.serving.is_some() => self.expire_sessions(now_ms, rng, ready),
            Role::Follower {
                leader: Some(leader),
            } if !self.touched.is_empty() => {
                let sessions = std::mem::take(&mut self.touched).into_iter().collect();
                ready.peers.push((leader, PeerMessage::Touch(sessions)));
            }
            _ => {}
        }
    }

    /// The session was heard from: the leader moves its deadline, a follower relays it.
    pub(super) fn touch(&mut self, now_ms: u64, session: SessionId) {
        if self.quorum.role() != Role::Leader {
            self.touched.insert(session);
            return;
        }
        let timeout = self.tree.sessions().get(&session).copied();
        if let (Some(deadline), Some(timeout)) = (self.expiry.get_mut(&session), timeout) {
            *deadline = now_ms + timeout;
        }
    }

    pub(super) fn start_leading(&mut self, now_ms: u64) {
        self.closing.clear();
        self.expiry = self
            .tree
            .sessions()
            .iter()
            .map(|(s, timeout)| (*s, now_ms + timeout))
            .collect();
    }

    /// Expire the session owning the ephemeral `path` at once (a serving leader only: it
    /// alone tracks deadlines).
    pub(super) fn expire_owner_of<R: Rng + ?Sized>(
        &mut self,
        now_ms: u64,
        path: &str,
        rng: &mut R,
        ready: &mut ZkReady,
    ) {
        if !matches!(self.quorum.role(), Role::Leader) || self.serving.is_none() {
            return;
        }
        let owner = self.tree.get(path).and_then(|n| n.stat.ephemeral_owner);
        if let Some(deadline) = owner.and_then(|s| self.expiry.get_mut(&s)) {
            *deadline = now_ms;
            self.expire_sessions(now_ms, rng, ready);
        }
    }

    /// Propose closing every session past its deadline.
    fn expire_sessions<R: Rng + ?Sized>(&mut self, now_ms: u64, rng: &mut R, ready: &mut ZkReady) {
        let due: Vec<SessionId> = self
            .expiry
            .iter()
            .filter(|(s, deadline)| **deadline <= now_ms && !self.closing.contains(*s))
            .map(|(s, _)| *s)
            .collect();
        for session in due {
            self.closing.insert(session);
            self.submit(now_ms, Txn::CloseSession { session }, rng, ready);
        }
    }

    pub(super) fn session_created(
        &mut self,
        now_ms: u64,
        session: SessionId,
        (origin, conn): (NodeIndex, ConnId),
        ready: &mut ZkReady,
    ) {
        let timeout_ms = self.tree.sessions()[&session];
        if self.quorum.role() == Role::Leader {
            self.expiry.insert(session, now_ms + timeout_ms);
        }
        if origin == self.id && self.conns.get(&conn) == Some(&None) {
            self.conns.insert(conn, Some(session));
            let answer = ZkResponse::Connected {
                session,
                timeout_ms,
            };
            ready.clients.push((conn, answer));
        }
    }

    /// The session is gone: its connections here hear it (but `answered`, whose close this
    /// was and got its reply) and are closed.
    pub(super) fn session_closed(
        &mut self,
        session: SessionId,
        answered: Option<ConnId>,
        ready: &mut ZkReady,
    ) {
        self.expiry.remove(&session);
        self.closing.remove(&session);
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, s)| **s == Some(session))
            .map(|(c, _)| *c)
            .collect();
        for conn in conns {
            if Some(conn) != answered {
                ready.clients.push((conn, ZkResponse::Expired { session }));
            }
            ready.close.push(conn);
            self.forget_conn(conn);
        }
    }
}
