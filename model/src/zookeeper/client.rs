//! A ZooKeeper client, sans-IO, as ZooKeeper's Java client behaves: it connects to the
//! servers of its connect string in turn, pings every third of its session timeout, gives a
//! connection up after two thirds of it without hearing anything, and moves its session to the
//! next server, presenting the last zxid it saw. Operations in flight when a connection goes
//! fail with CONNECTIONLOSS (their outcome is unknown); operations asked for while
//! disconnected wait for the next connection. A session the ensemble expired is told once
//! (`Expired`), and the client stays without one until `renew`.

use std::collections::{BTreeMap, BTreeSet};

use super::{EventKind, SessionId, ZkAnswer, ZkError, ZkOp, ZkRequest, ZkResponse, Zxid};
use crate::quorum::NodeIndex;

/// What a client's step may be fed.
#[derive(Clone, Debug)]
pub enum ZkClientInput {
    /// Time passed.
    Tick,
    /// A message on the current connection.
    Response(ZkResponse),
    /// The current connection closed.
    Closed,
}

/// What the client asks its connection to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkSend {
    /// Open a connection to `server` and send `request` on it.
    Connect {
        server: NodeIndex,
        request: ZkRequest,
    },
    /// Send on the current connection.
    Request(ZkRequest),
    /// Close the current connection.
    Close,
}

/// What the application hears.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkEvent {
    Connected {
        server: NodeIndex,
        session: SessionId,
        timeout_ms: u64,
        /// A new session, rather than one moved to this server.
        fresh: bool,
    },
    Answer {
        xid: u64,
        op: ZkOp,
        zxid: Zxid,
        result: Result<ZkAnswer, ZkError>,
    },
    /// The connection went with the operation in flight: it may or may not have happened.
    ConnectionLoss {
        xid: u64,
        op: ZkOp,
    },
    Watch {
        path: String,
        kind: EventKind,
    },
    Expired {
        session: SessionId,
    },
}

/// The output of one step.
#[derive(Debug, Default)]
pub struct ZkClientReady {
    pub sends: Vec<ZkSend>,
    pub events: Vec<ZkEvent>,
    /// The zxid of every answer received (pings included), for a checker that the client
    /// never sees the tree go back.
    pub answered_at: Vec<Zxid>,
}

#[derive(Clone, Debug)]
pub struct ZkClient {
    /// The connect string's servers, in the order tried.
    servers: Vec<NodeIndex>,
    next_server: usize,
    /// The server of the current connection.
    server: Option<NodeIndex>,
    session: Option<SessionId>,
    /// Asked for, then as negotiated.
    timeout_ms: u64,
    last_zxid: Zxid,
    next_xid: u64,
    /// Sent on the current connection, by xid.
    pending: BTreeMap<u64, ZkOp>,
    /// Waiting for a connection with a session, with their xids.
    queued: Vec<(u64, ZkOp)>,
    last_heard_ms: u64,
    last_sent_ms: u64,
    expired: bool,
    /// The watches set and not yet fired, as (kind, path): set again on every server the
    /// session moves to.
    watches: BTreeSet<(WatchOn, String)>,
}

/// What a watch was set by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum WatchOn {
    /// getData, or exists on a znode that exists.
    Data,
    /// exists on a znode that does not.
    Exist,
    /// getChildren.
    Child,
}

impl ZkClient {
    /// A client of `servers` that tries `servers[first]` first and asks for `timeout_ms`.
    pub fn new(servers: Vec<NodeIndex>, first: usize, timeout_ms: u64) -> Self {
        assert!(!servers.is_empty(), "a connect string names a server");
        ZkClient {
            servers,
            next_server: first,
            server: None,
            session: None,
            timeout_ms,
            last_zxid: Zxid::default(),
            next_xid: 1,
            pending: BTreeMap::new(),
            queued: Vec::new(),
            last_heard_ms: 0,
            last_sent_ms: 0,
            expired: false,
            watches: BTreeSet::new(),
        }
    }

    pub fn session(&self) -> Option<SessionId> {
        self.session
    }
    /// The server of the current connection, if any.
    pub fn server(&self) -> Option<NodeIndex> {
        self.server
    }
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }
    pub fn expired(&self) -> bool {
        self.expired
    }

    /// After an expiry: open a new session at the next connection.
    pub fn renew(&mut self) {
        self.expired = false;
    }

    /// Ask for `op`: sent now when connected with a session, else at the next connection.
    /// Its answer (or its CONNECTIONLOSS) carries the xid returned, as the Java client
    /// numbers a request when it is queued.
    pub fn submit(&mut self, now_ms: u64, op: ZkOp) -> (u64, ZkClientReady) {
        let mut ready = ZkClientReady::default();
        let xid = self.queue(op);
        self.flush(now_ms, &mut ready);
        (xid, ready)
    }

    fn queue(&mut self, op: ZkOp) -> u64 {
        let xid = self.next_xid;
        self.next_xid += 1;
        self.queued.push((xid, op));
        xid
    }

    pub fn step(&mut self, now_ms: u64, input: ZkClientInput) -> ZkClientReady {
        let mut ready = ZkClientReady::default();
        match input {
            ZkClientInput::Tick => self.tick(now_ms, &mut ready),
            ZkClientInput::Response(resp) => self.receive(now_ms, resp, &mut ready),
            ZkClientInput::Closed => self.lost(&mut ready),
        }
        ready
    }

    fn flush(&mut self, now_ms: u64, ready: &mut ZkClientReady) {
        if self.server.is_none() || self.session.is_none() {
            return;
        }
        for (xid, op) in std::mem::take(&mut self.queued) {
            self.pending.insert(xid, op.clone());
            self.last_sent_ms = now_ms;
            ready.sends.push(ZkSend::Request(ZkRequest::Op { xid, op }));
        }
    }

    fn tick(&mut self, now_ms: u64, ready: &mut ZkClientReady) {
        if self.expired {
            return;
        }
        if self.server.is_none() {
            let server = self.servers[self.next_server % self.servers.len()];
            self.next_server += 1;
            self.server = Some(server);
            self.last_heard_ms = now_ms;
            self.last_sent_ms = now_ms;
            let request = ZkRequest::Connect {
                session: self.session,
                timeout_ms: self.timeout_ms,
                last_zxid_seen: self.last_zxid,
            };
            ready.sends.push(ZkSend::Connect { server, request });
        } else if now_ms.saturating_sub(self.last_heard_ms) > self.timeout_ms * 2 / 3 {
            ready.sends.push(ZkSend::Close);
            self.lost(ready);
        } else if self.session.is_some() && now_ms - self.last_sent_ms >= self.timeout_ms / 3 {
            self.queue(ZkOp::Ping);
            self.flush(now_ms, ready);
        }
    }

    /// The connection is gone: what was in flight on it has an unknown outcome.
    fn lost(&mut self, ready: &mut ZkClientReady) {
        if self.server.take().is_none() {
            return;
        }
        for (xid, op) in std::mem::take(&mut self.pending) {
            if op != ZkOp::Ping {
                ready.events.push(ZkEvent::ConnectionLoss { xid, op });
            }
        }
    }

    fn receive(&mut self, now_ms: u64, resp: ZkResponse, ready: &mut ZkClientReady) {
        let Some(server) = self.server else {
            return;
        };
        self.last_heard_ms = now_ms;
        match resp {
            ZkResponse::Connected {
                session,
                timeout_ms,
            } => {
                let fresh = self.session != Some(session);
                self.session = Some(session);
                self.timeout_ms = timeout_ms;
                if !fresh && !self.watches.is_empty() {
                    self.set_watches_again();
                }
                ready.events.push(ZkEvent::Connected {
                    server,
                    session,
                    timeout_ms,
                    fresh,
                });
                self.flush(now_ms, ready);
            }
            ZkResponse::Reply { xid, zxid, result } => {
                self.last_zxid = self.last_zxid.max(zxid);
                ready.answered_at.push(zxid);
                let op = self.pending.remove(&xid);
                if let (Some(op), Ok(answer)) = (&op, &result) {
                    self.watch_set(op, answer);
                }
                match op {
                    Some(ZkOp::Ping | ZkOp::SetWatches { .. }) | None => {}
                    Some(op) => ready.events.push(ZkEvent::Answer {
                        xid,
                        op,
                        zxid,
                        result,
                    }),
                }
            }
            ZkResponse::Watch { path, kind } => {
                self.watch_fired(&path, kind);
                ready.events.push(ZkEvent::Watch { path, kind })
            }
            ZkResponse::Expired { session } => {
                self.expired = true;
                self.session = None;
                self.watches.clear();
                ready.events.push(ZkEvent::Expired { session });
                self.fail_queued(ready);
            }
        }
    }

    /// The Java client fails what was queued on an expired handle with SESSIONEXPIRED: nothing
    /// asked under one session is sent under the next.
    fn fail_queued(&mut self, ready: &mut ZkClientReady) {
        for (xid, op) in std::mem::take(&mut self.queued) {
            if !matches!(op, ZkOp::Ping | ZkOp::SetWatches { .. }) {
                ready.events.push(ZkEvent::Answer {
                    xid,
                    op,
                    zxid: self.last_zxid,
                    result: Err(ZkError::SessionExpired),
                });
            }
        }
    }

    /// A read that asked for a watch succeeded: the watch is set.
    fn watch_set(&mut self, op: &ZkOp, answer: &ZkAnswer) {
        let (on, path) = match (op, answer) {
            (ZkOp::GetData { path, watch: true }, _) => (WatchOn::Data, path),
            (ZkOp::Exists { path, watch: true }, ZkAnswer::Exists(Some(_))) => {
                (WatchOn::Data, path)
            }
            (ZkOp::Exists { path, watch: true }, _) => (WatchOn::Exist, path),
            (ZkOp::GetChildren { path, watch: true }, _) => (WatchOn::Child, path),
            _ => return,
        };
        self.watches.insert((on, path.clone()));
    }

    /// A watch fired: it is gone.
    fn watch_fired(&mut self, path: &str, kind: EventKind) {
        let gone: &[WatchOn] = match kind {
            EventKind::NodeChildrenChanged => &[WatchOn::Child],
            EventKind::NodeDeleted => &[WatchOn::Data, WatchOn::Exist, WatchOn::Child],
            EventKind::NodeCreated | EventKind::NodeDataChanged => &[WatchOn::Data, WatchOn::Exist],
        };
        for on in gone {
            self.watches.remove(&(*on, path.to_string()));
        }
    }

    /// The session moved to another server: set the watches there again, first of all.
    fn set_watches_again(&mut self) {
        let paths = |on: WatchOn| -> Vec<String> {
            self.watches
                .iter()
                .filter(|(o, _)| *o == on)
                .map(|(_, p)| p.clone())
                .collect()
        };
        let op = ZkOp::SetWatches {
            relative_zxid: self.last_zxid,
            data: paths(WatchOn::Data),
            exist: paths(WatchOn::Exist),
            child: paths(WatchOn::Child),
        };
        self.queue(op);
        let set = self.queued.pop().expect("just queued");
        self.queued.insert(0, set);
    }
}
