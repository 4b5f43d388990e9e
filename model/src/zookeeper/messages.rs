//! What ZooKeeper's clients and servers say: the client requests and answers (with
//! ZooKeeper's error codes), the transactions of the replicated log, and the messages between
//! servers.

use bytes::Bytes;

use super::{SessionId, Zxid};
use crate::ids::ConnId;
use crate::quorum::{NodeIndex, RaftMessage};

/// A client's operation on the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkOp {
    Create {
        path: String,
        data: Bytes,
        ephemeral: bool,
        /// Append the parent's 10-digit sequence number to the name.
        sequential: bool,
    },
    /// Delete if the znode's version is `version` (-1: any version).
    Delete {
        path: String,
        version: i32,
    },
    /// Replace the data if the znode's version is `version` (-1: any version).
    SetData {
        path: String,
        data: Bytes,
        version: i32,
    },
    GetData {
        path: String,
        watch: bool,
    },
    Exists {
        path: String,
        watch: bool,
    },
    GetChildren {
        path: String,
        watch: bool,
    },
    /// Make this server as fresh as the leader was when the sync reached it.
    Sync {
        path: String,
    },
    /// Keep the session alive.
    Ping,
    /// A client that moved its session to this server sets its watches again (the Java
    /// client's SetWatches): each fires at once if its znode changed after `relative_zxid`.
    SetWatches {
        relative_zxid: Zxid,
        data: Vec<String>,
        exist: Vec<String>,
        child: Vec<String>,
    },
    /// End the session now: its ephemerals go.
    CloseSession,
}

impl ZkOp {
    /// Whether the operation goes through the leader as a transaction.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            ZkOp::Create { .. } | ZkOp::Delete { .. } | ZkOp::SetData { .. } | ZkOp::CloseSession
        )
    }
}

/// From a client to the server it is connected to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkRequest {
    /// Open a new session (`session: None`) or move an existing one to this server. A server
    /// that has applied less than `last_zxid_seen` refuses, so a client never goes back in
    /// time.
    Connect {
        session: Option<SessionId>,
        timeout_ms: u64,
        last_zxid_seen: Zxid,
    },
    Op {
        xid: u64,
        op: ZkOp,
    },
}

/// A znode's metadata, as ZooKeeper's `Stat`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stat {
    pub czxid: Zxid,
    pub mzxid: Zxid,
    /// The zxid of the last change to the children.
    pub pzxid: Zxid,
    pub version: i32,
    pub cversion: i32,
    pub ephemeral_owner: Option<SessionId>,
    pub num_children: usize,
}

/// A successful operation's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkAnswer {
    Created { path: String, stat: Stat },
    Deleted,
    SetData(Stat),
    Data { data: Bytes, stat: Stat },
    Exists(Option<Stat>),
    Children(Vec<String>),
    Synced,
    Pong,
    WatchesSet,
    Closed,
}

/// ZooKeeper's error codes (`KeeperException.Code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ZkError {
    NoNode,
    NodeExists,
    BadVersion,
    NotEmpty,
    NoChildrenForEphemerals,
    SessionExpired,
    BadArguments,
}

impl ZkError {
    pub fn name(self) -> &'static str {
        match self {
            ZkError::NoNode => "NONODE",
            ZkError::NodeExists => "NODEEXISTS",
            ZkError::BadVersion => "BADVERSION",
            ZkError::NotEmpty => "NOTEMPTY",
            ZkError::NoChildrenForEphemerals => "NOCHILDRENFOREPHEMERALS",
            ZkError::SessionExpired => "SESSIONEXPIRED",
            ZkError::BadArguments => "BADARGUMENTS",
        }
    }
}

/// What a one-shot watch reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    NodeCreated,
    NodeDeleted,
    NodeDataChanged,
    NodeChildrenChanged,
}

/// From a server to a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkResponse {
    Connected {
        session: SessionId,
        timeout_ms: u64,
    },
    /// The answer to `Op { xid }`; `zxid` is the server's last applied transaction (the
    /// operation's own, for a write).
    Reply {
        xid: u64,
        zxid: Zxid,
        result: Result<ZkAnswer, ZkError>,
    },
    /// A watch fired (and is gone).
    Watch {
        path: String,
        kind: EventKind,
    },
    /// The session is gone; the server closes the connection after this.
    Expired {
        session: SessionId,
    },
}

/// An entry of the replicated transaction log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Txn {
    /// A new leader's first transaction (Zab's NEWLEADER): once a quorum has it, the epoch
    /// may commit.
    NewLeader,
    /// A client asked for a session on server `origin`, connection `conn`.
    CreateSession {
        origin: NodeIndex,
        conn: ConnId,
        timeout_ms: u64,
    },
    /// The leader expired the session, or its client closed it.
    CloseSession { session: SessionId },
    /// A client's write, answered by `origin` on `conn` once applied.
    Op {
        origin: NodeIndex,
        conn: ConnId,
        session: SessionId,
        xid: u64,
        op: ZkOp,
    },
}

/// Between servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerMessage {
    /// The broadcast itself: election, proposals, acknowledgements and commits.
    Zab(RaftMessage<Txn>),
    /// A follower hands a client's write to the leader (Zab's REQUEST).
    Forward(Txn),
    /// A follower relays the sessions its clients were heard from (ZooKeeper's ping reply).
    Touch(Vec<SessionId>),
    /// A follower's client asked to sync.
    Sync { id: u64 },
    /// The leader's answer: every proposal up to `index` had been made when the sync came.
    SyncDone { id: u64, index: u64 },
}

impl PeerMessage {
    /// A short name for counting messages by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            PeerMessage::Zab(m) => m.kind(),
            PeerMessage::Forward(_) => "forward",
            PeerMessage::Touch(_) => "touch",
            PeerMessage::Sync { .. } => "sync",
            PeerMessage::SyncDone { .. } => "sync_done",
        }
    }
}
