//! The run's random streams: each named stream is derived from the seed alone, so that adding
//! a draw to one stream never shifts another (and an old seed keeps its meaning).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Named random streams derived from the run seed. New streams are appended, never inserted,
/// so that an old seed keeps its meaning.
#[derive(Clone, Copy)]
pub(crate) enum StreamId {
    Faults = 1,
    /// One stream per controller incarnation (election timeouts); `sub` = id << 32 | incarnation.
    Controller = 2,
    /// The swarm's per-seed fault mix (`RandomFaults::for_seed`).
    Swarm = 3,
    /// Which messages a lossy link loses (`net::LinkFaults`).
    Loss = 4,
    /// The swarm's later draws (stalled metadata, long faults): a stream of their own, so that
    /// a seed that draws neither keeps the mix and the trace it had before they existed.
    SwarmLater = 5,
    /// The sticky partitioner's draws; `sub` = the producer's index.
    Partitioner = 6,
    /// One stream per ZooKeeper server incarnation (election timeouts); `sub` = id << 32 |
    /// incarnation.
    ZooKeeper = 7,
    /// The swarm's ZooKeeper-mode draws (session expiry).
    SwarmZk = 8,
}

pub(crate) fn stream(seed: u64, id: StreamId) -> ChaCha8Rng {
    stream_of(seed, id, 0)
}

pub(crate) fn stream_of(seed: u64, id: StreamId, sub: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(id as u64).to_le_bytes());
    key[16..24].copy_from_slice(&sub.to_le_bytes());
    ChaCha8Rng::from_seed(key)
}
