//! One ZooKeeper server (`server.N`): the broadcast core, the data tree it applies committed
//! transactions to, and the clients connected to it. `clients.rs` answers client requests,
//! `sessions.rs` keeps sessions alive and expires them.

mod clients;
mod sessions;

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;

use super::tree::DataTree;
use super::{EventKind, PeerMessage, SessionId, Txn, ZkConfig, ZkRequest, ZkResponse, Zxid};
use crate::ids::ConnId;
use crate::quorum::{Entry, NodeIndex, PersistOp, Persistent, QuorumInput, QuorumNode, Role, Term};
use crate::selftest::SelfTest;

/// What a server's step may be fed.
#[derive(Clone, Debug)]
pub enum ZkInput {
    /// Time passed: deadlines are checked (tick often: a tenth of `tickTime` or finer).
    Tick,
    Peer {
        from: NodeIndex,
        msg: PeerMessage,
    },
    /// A client's request on connection `conn`.
    Client {
        conn: ConnId,
        request: ZkRequest,
    },
    /// The client's connection closed.
    ClientGone {
        conn: ConnId,
    },
    /// A connection to or from peer server `peer` broke: what was on it is lost.
    PeerLost {
        peer: NodeIndex,
    },
    /// The session that owns the ephemeral `path` expires now, as a test harness kills a
    /// session (Curator's KillSession): only a serving leader acts on it.
    ExpireOwnerOf {
        path: String,
    },
}

/// The output of one step.
#[derive(Debug, Default)]
pub struct ZkReady {
    /// The transaction log and epoch files to write before any message below leaves.
    pub persist: Vec<PersistOp<Txn>>,
    /// Whether `persist` is fsynced before the messages leave (`forceSync`); without it the
    /// writes sit in the page cache, and a power loss drops them.
    pub fsync: bool,
    pub peers: Vec<(NodeIndex, PeerMessage)>,
    pub clients: Vec<(ConnId, ZkResponse)>,
    /// Client connections this server closes (after sending what `clients` holds for them).
    pub close: Vec<ConnId>,
    /// The committed transactions applied in this step, in zxid order.
    pub applied: Vec<(Zxid, Txn)>,
    /// The server became leader of this epoch.
    pub became_leader: Option<Term>,
}

/// A client connection and the session it carries once it has one.
type Conns = BTreeMap<ConnId, Option<SessionId>>;

#[derive(Clone, Debug)]
pub struct ZkServer {
    id: NodeIndex,
    cfg: ZkConfig,
    selftest: SelfTest,
    quorum: QuorumNode<Txn>,
    tree: DataTree,
    /// The index of the last applied entry, and the epoch and index where its epoch began
    /// (the NEWLEADER, counter 0).
    applied: u64,
    epoch_start: (Term, u64),
    /// The role and epoch this server serves clients in; None while it does not.
    serving: Option<(Role, u64)>,
    conns: Conns,
    data_watches: BTreeMap<String, BTreeSet<ConnId>>,
    child_watches: BTreeMap<String, BTreeSet<ConnId>>,
    /// When each peer was last heard from (a leader serves only while a quorum is heard).
    last_heard: BTreeMap<NodeIndex, u64>,
    /// Follower: sessions heard from since the last relay to the leader.
    touched: BTreeSet<SessionId>,
    /// Leader: each open session's expiry deadline, and those whose close is proposed.
    expiry: BTreeMap<SessionId, u64>,
    closing: BTreeSet<SessionId>,
    /// Syncs sent to the leader, by id: the connection and xid to answer.
    syncs_out: BTreeMap<u64, (ConnId, u64)>,
    next_sync: u64,
    /// Syncs answered once this server has applied up to the index.
    syncs_waiting: Vec<(u64, ConnId, u64)>,
}

impl ZkServer {
    /// Start (or restart) server `id` from its transaction log; the tree is rebuilt as the
    /// committed transactions are learnt again.
    pub fn new<R: Rng + ?Sized>(
        id: NodeIndex,
        cfg: ZkConfig,
        persisted: Persistent<Txn>,
        now_ms: u64,
        rng: &mut R,
    ) -> Self {
        let quorum = QuorumNode::new(id, cfg.quorum(), persisted, now_ms, rng);
        ZkServer {
            id,
            cfg,
            selftest: SelfTest::default(),
            quorum,
            tree: DataTree::default(),
            applied: 0,
            epoch_start: (0, 0),
            serving: None,
            conns: Conns::new(),
            data_watches: BTreeMap::new(),
            child_watches: BTreeMap::new(),
            last_heard: BTreeMap::new(),
            touched: BTreeSet::new(),
            expiry: BTreeMap::new(),
            closing: BTreeSet::new(),
            syncs_out: BTreeMap::new(),
            next_sync: 1,
            syncs_waiting: Vec::new(),
        }
    }

    /// This server with the planted flaws of a self-test run.
    pub fn with_selftest(mut self, selftest: SelfTest) -> Self {
        self.quorum = self.quorum.with_selftest(selftest);
        self.tree = DataTree::new(selftest);
        self.selftest = selftest;
        self
    }

    pub fn id(&self) -> NodeIndex {
        self.id
    }
    pub fn tree(&self) -> &DataTree {
        &self.tree
    }
    pub fn quorum(&self) -> &QuorumNode<Txn> {
        &self.quorum
    }
    /// Whether clients may connect: synced with a leader that a quorum follows.
    pub fn serving(&self) -> bool {
        self.serving.is_some()
    }

    pub fn step<R: Rng + ?Sized>(&mut self, now_ms: u64, input: ZkInput, rng: &mut R) -> ZkReady {
        let mut ready = ZkReady {
            fsync: self.cfg.force_sync,
            ..ZkReady::default()
        };
        match input {
            ZkInput::Tick => {
                self.quorum_step(now_ms, QuorumInput::Tick, rng, &mut ready);
                self.on_tick(now_ms, rng, &mut ready);
            }
            ZkInput::ExpireOwnerOf { path } => self.expire_owner_of(now_ms, &path, rng, &mut ready),
            ZkInput::Peer { from, msg } => {
                self.last_heard.insert(from, now_ms);
                self.on_peer(now_ms, from, msg, rng, &mut ready);
            }
            ZkInput::Client { conn, request } => {
                self.on_client(now_ms, conn, request, rng, &mut ready)
            }
            ZkInput::ClientGone { conn } => self.forget_conn(conn),
            ZkInput::PeerLost { peer } => self.peer_lost(peer, &mut ready),
        }
        self.update_serving(now_ms, &mut ready);
        ready
    }

    fn on_peer<R: Rng + ?Sized>(
        &mut self,
        now_ms: u64,
        from: NodeIndex,
        msg: PeerMessage,
        rng: &mut R,
        ready: &mut ZkReady,
    ) {
        let leading = self.quorum.role() == Role::Leader;
        match msg {
            PeerMessage::Zab(msg) => {
                self.quorum_step(now_ms, QuorumInput::Message { from, msg }, rng, ready);
            }
            PeerMessage::Forward(txn) if leading => self.submit(now_ms, txn, rng, ready),
            PeerMessage::Touch(sessions) if leading => {
                for s in sessions {
                    self.touch(now_ms, s);
                }
            }
            PeerMessage::Sync { id } if leading => {
                let index = self.quorum.last_index();
                ready
                    .peers
                    .push((from, PeerMessage::SyncDone { id, index }));
            }
            PeerMessage::SyncDone { id, index } => {
                if let Some((conn, xid)) = self.syncs_out.remove(&id) {
                    self.syncs_waiting.push((index, conn, xid));
                    self.answer_syncs(ready);
                }
            }
            // A follower's request that reached a server no longer leading is lost, as in
            // ZooKeeper: its client sees the connection drop when its server loses the leader.
            PeerMessage::Forward(_) | PeerMessage::Touch(_) | PeerMessage::Sync { .. } => {}
        }
    }

    /// Step the broadcast core and carry out what it decided.
    fn quorum_step<R: Rng + ?Sized>(
        &mut self,
        now_ms: u64,
        input: QuorumInput<Txn>,
        rng: &mut R,
        ready: &mut ZkReady,
    ) -> Option<Result<u64, Option<NodeIndex>>> {
        let q = self.quorum.step(now_ms, input, rng);
        ready.persist.extend(q.persist);
        ready
            .peers
            .extend(q.sends.into_iter().map(|(to, m)| (to, PeerMessage::Zab(m))));
        for entry in q.committed {
            self.apply_entry(now_ms, entry, ready);
        }
        self.answer_syncs(ready);
        if let Some(term) = q.became_leader {
            ready.became_leader = Some(term);
            self.start_leading(now_ms);
            let r = self.quorum_step(now_ms, QuorumInput::Propose(Txn::NewLeader), rng, ready);
            assert!(
                matches!(r, Some(Ok(_))),
                "a fresh leader accepts its NEWLEADER"
            );
        }
        q.proposed
    }

    /// A write goes to the leader: proposed here when leading, else forwarded.
    fn submit<R: Rng + ?Sized>(&mut self, now_ms: u64, txn: Txn, rng: &mut R, ready: &mut ZkReady) {
        if self.quorum.role() == Role::Leader {
            self.quorum_step(now_ms, QuorumInput::Propose(txn), rng, ready);
        } else if let Some(leader) = self.quorum.leader() {
            ready.peers.push((leader, PeerMessage::Forward(txn)));
        }
    }

    /// Apply one committed entry to the tree, answer its client if connected here, and fire
    /// the watches it triggers.
    fn apply_entry(&mut self, now_ms: u64, entry: Entry<Txn>, ready: &mut ZkReady) {
        if entry.term != self.epoch_start.0 {
            self.epoch_start = (entry.term, entry.index);
        }
        self.applied = entry.index;
        let zxid = Zxid {
            epoch: entry.term,
            counter: entry.index - self.epoch_start.1,
        };
        let done = self.tree.apply(zxid, &entry.payload);
        // ZooKeeper's FinalRequestProcessor: the watches a txn triggers are sent before its
        // reply, so a client that saw the reply saw the event too. Sent after, a connection
        // reset between the two lost the event while the reply's zxid told SetWatches that
        // nothing had changed (a controller never heard its own broker register, swarm seed
        // 71530).
        for (path, kind) in &done.events {
            self.fire(path, *kind, ready);
        }
        match &entry.payload {
            Txn::CreateSession { origin, conn, .. } => {
                let session = done.session.expect("a created session");
                self.session_created(now_ms, session, (*origin, *conn), ready);
            }
            Txn::CloseSession { session } => self.session_closed(*session, None, ready),
            Txn::Op {
                origin,
                conn,
                session,
                xid,
                op,
            } => {
                let result = done.result.clone().expect("an op has a result");
                let answer = ZkResponse::Reply {
                    xid: *xid,
                    zxid,
                    result,
                };
                let mine = *origin == self.id && self.conns.get(conn) == Some(&Some(*session));
                if mine {
                    ready.clients.push((*conn, answer));
                }
                if *op == super::ZkOp::CloseSession {
                    self.session_closed(*session, mine.then_some(*conn), ready);
                }
            }
            Txn::NewLeader => {}
        }
        ready.applied.push((zxid, entry.payload));
    }

    /// One-shot watches: each watcher of `path` hears `kind` once, and the watch is gone.
    fn fire(&mut self, path: &str, kind: EventKind, ready: &mut ZkReady) {
        let mut hear = BTreeSet::new();
        if kind != EventKind::NodeChildrenChanged {
            hear.extend(self.data_watches.remove(path).unwrap_or_default());
        }
        if matches!(
            kind,
            EventKind::NodeChildrenChanged | EventKind::NodeDeleted
        ) {
            hear.extend(self.child_watches.remove(path).unwrap_or_default());
        }
        for conn in hear {
            let path = path.to_string();
            ready.clients.push((conn, ZkResponse::Watch { path, kind }));
        }
    }

    /// Serve while synced with a leader a quorum follows; otherwise drop every client, as a
    /// ZooKeeper server does when it goes back to looking for a leader. A server that serves
    /// in another role or epoch than before went through LOOKING too, even within one step
    /// (a deposed leader synced by its successor at once): its clients' uncommitted writes
    /// died with the old epoch, so they are dropped as well, to hear CONNECTIONLOSS.
    fn update_serving(&mut self, now_ms: u64, ready: &mut ZkReady) {
        let synced = self.epoch_start.0 == self.quorum.term();
        let serve = match self.quorum.role() {
            Role::Leader => synced && self.quorum_heard(now_ms),
            Role::Follower { leader: Some(_) } => synced,
            _ => false,
        };
        if self.quorum.role() != Role::Leader {
            self.expiry.clear();
            self.closing.clear();
        }
        let now_serving = serve.then(|| (self.quorum.role(), self.quorum.term()));
        if self.serving.is_some() && self.serving != now_serving {
            ready.close.extend(self.conns.keys().copied());
            self.conns.clear();
            self.data_watches.clear();
            self.child_watches.clear();
            self.syncs_out.clear();
            self.syncs_waiting.clear();
        }
        self.serving = now_serving;
    }

    /// Whether a quorum (this server included) was heard within `syncLimit` ticks.
    fn quorum_heard(&self, now_ms: u64) -> bool {
        let window = self.cfg.sync_timeout_ms();
        let heard = self
            .last_heard
            .iter()
            .filter(|(p, t)| **p != self.id && now_ms.saturating_sub(**t) <= window)
            .count();
        heard + 1 >= self.cfg.quorum().majority()
    }

    /// A follower whose link with its leader broke drops its clients, as ZooKeeper's does
    /// when its learner socket dies: the writes and syncs they had in flight through it may be
    /// lost with the link, and end as CONNECTIONLOSS instead of waiting forever.
    fn peer_lost(&mut self, peer: NodeIndex, ready: &mut ZkReady) {
        if self.quorum.role() != (Role::Follower { leader: Some(peer) }) {
            return;
        }
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            self.forget_conn(conn);
            ready.close.push(conn);
        }
    }

    fn forget_conn(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
        for w in self
            .data_watches
            .values_mut()
            .chain(self.child_watches.values_mut())
        {
            w.remove(&conn);
        }
        self.syncs_out.retain(|_, (c, _)| *c != conn);
        self.syncs_waiting.retain(|(_, c, _)| *c != conn);
    }

    /// Answer the syncs whose index this server has applied.
    fn answer_syncs(&mut self, ready: &mut ZkReady) {
        let applied = self.applied;
        let zxid = self.tree.last_zxid();
        self.syncs_waiting.retain(|&(index, conn, xid)| {
            if index > applied {
                return true;
            }
            let result = Ok(super::ZkAnswer::Synced);
            ready
                .clients
                .push((conn, ZkResponse::Reply { xid, zxid, result }));
            false
        });
    }
}
