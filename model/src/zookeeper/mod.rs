//! The ZooKeeper ensemble, sans-IO: the coordinator of ZooKeeper-era Kafka (2.8 and before).
//!
//! Each `ZkServer` (one `server.N` of `zoo.cfg`) keeps a replicated transaction log and the
//! data tree it builds. The atomic broadcast is the controller quorum's core (`quorum/`) run
//! as Zab's phases map onto it: an election picks the server with the highest (epoch, last
//! zxid), a new leader's first transaction (`Txn::NewLeader`, Zab's NEWLEADER) must reach a
//! quorum before anything of its epoch commits, proposals are acknowledged by a quorum after
//! each follower fsynced them, and commits follow in zxid order. On top of it sits what a
//! ZooKeeper client sees, with ZooKeeper's own rules:
//!
//! - a server serves clients only once it has applied its leader's NEWLEADER (a follower
//!   syncs from the leader before serving), and drops every client when it loses the leader;
//! - writes go to the leader and are answered by the server the client is connected to once it
//!   applied them; reads are answered locally; `sync` makes the next read as fresh as the
//!   leader was when the sync arrived;
//! - sessions are created and closed by transactions; the leader expires a session it has not
//!   heard of (pings, relayed by followers every tick) within its negotiated timeout, and the
//!   session's ephemeral znodes vanish in that same transaction;
//! - watches are one-shot and local to the server that set them;
//! - `setData` and `delete` are conditional on a version (`-1`: any).
//!
//! zxids are (epoch, counter) as ZooKeeper writes them (`0x{epoch}{counter:08x}`): the epoch
//! is the quorum's term, the counter counts the epoch's transactions from its NEWLEADER (0).
//! Not modelled: snapshots (the transaction log is never compacted, so a restart replays all
//! of it), observers, dynamic reconfiguration, ACLs, read-only mode, `multi`.

mod client;
mod messages;
mod observer;
mod server;
mod tree;

pub use client::{ZkClient, ZkClientInput, ZkClientReady, ZkEvent, ZkSend};
pub use messages::*;
pub use observer::ZkObserver;
pub use server::{ZkInput, ZkReady, ZkServer};
pub use tree::{DataTree, Znode};

use std::fmt;

use crate::quorum::{NodeIndex, QuorumConfig, Term};

/// A session's id: the zxid of the transaction that created it, so every server names it the
/// same.
pub type SessionId = u64;

/// Fast leader election's `finalizeWait`: how long a LOOKING server waits for more votes
/// before it settles.
pub const FINALIZE_WAIT_MS: u64 = 200;

/// The ensemble's configuration, with `zoo.cfg`'s names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkConfig {
    /// `server.N`: every server's id (its `myid`).
    pub servers: Vec<NodeIndex>,
    /// `tickTime`: ZooKeeper's unit of time, in ms.
    pub tick_time_ms: u64,
    /// `initLimit`: ticks a follower may take to connect to and sync with a new leader.
    pub init_limit: u64,
    /// `syncLimit`: ticks a follower may go without hearing from its leader (and the leader
    /// without hearing from a quorum) before it gives up on it.
    pub sync_limit: u64,
    /// `minSessionTimeout` (default 2 ticks) and `maxSessionTimeout` (default 20 ticks).
    pub min_session_timeout_ms: Option<u64>,
    pub max_session_timeout_ms: Option<u64>,
    /// `forceSync` (`zookeeper.forceSync`): fsync the transaction log before acknowledging a
    /// proposal. `no` acknowledges from the page cache: a power loss of a quorum can take
    /// committed transactions with it.
    pub force_sync: bool,
}

impl ZkConfig {
    /// ZooKeeper's defaults: `tickTime=2000`, `initLimit=10`, `syncLimit=5`.
    pub fn new(servers: Vec<NodeIndex>) -> Self {
        ZkConfig {
            servers,
            tick_time_ms: 2_000,
            init_limit: 10,
            sync_limit: 5,
            min_session_timeout_ms: None,
            max_session_timeout_ms: None,
            force_sync: true,
        }
    }

    pub fn min_session_timeout(&self) -> u64 {
        self.min_session_timeout_ms.unwrap_or(2 * self.tick_time_ms)
    }

    pub fn max_session_timeout(&self) -> u64 {
        self.max_session_timeout_ms
            .unwrap_or(20 * self.tick_time_ms)
    }

    /// The timeout a server grants for the one a client asks: clamped to the bounds.
    pub fn negotiate(&self, requested_ms: u64) -> u64 {
        requested_ms.clamp(self.min_session_timeout(), self.max_session_timeout())
    }

    /// How long a follower waits for its leader, and a leader for a quorum.
    pub fn sync_timeout_ms(&self) -> u64 {
        self.sync_limit * self.tick_time_ms
    }

    /// The broadcast core's timing: a follower that heard nothing from its leader for
    /// `syncLimit` ticks starts an election; the leader pings every half tick and sends each
    /// commit at once, as ZooKeeper's does.
    pub fn quorum(&self) -> QuorumConfig {
        QuorumConfig {
            voters: self.servers.clone(),
            election_timeout_ms: self.sync_timeout_ms(),
            heartbeat_interval_ms: (self.tick_time_ms / 2).max(1),
            eager_commit: true,
            looking_timeout_ms: Some(FINALIZE_WAIT_MS),
            pipeline: true,
        }
    }

    /// An impossible ensemble, in `zoo.cfg`'s words.
    pub fn validate(&self) -> Result<(), String> {
        if self.servers.is_empty() {
            return Err("an ensemble needs at least one server.N".into());
        }
        let mut ids = self.servers.clone();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != self.servers.len() {
            return Err("server.N ids must be distinct".into());
        }
        if self.tick_time_ms < 2 {
            return Err(format!(
                "tickTime={} must be at least 2 ms",
                self.tick_time_ms
            ));
        }
        if self.init_limit == 0 || self.sync_limit == 0 {
            return Err("initLimit and syncLimit must be at least 1 tick".into());
        }
        if self.min_session_timeout() > self.max_session_timeout() {
            return Err(format!(
                "minSessionTimeout={} is above maxSessionTimeout={}",
                self.min_session_timeout(),
                self.max_session_timeout()
            ));
        }
        Ok(())
    }
}

/// A ZooKeeper transaction id: the leader's epoch and the transaction's place in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Zxid {
    pub epoch: Term,
    pub counter: u64,
}

impl Zxid {
    /// The 64-bit value ZooKeeper stores: epoch in the high 32 bits.
    pub fn as_u64(self) -> u64 {
        (self.epoch << 32) | (self.counter & 0xffff_ffff)
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.as_u64())
    }
}
