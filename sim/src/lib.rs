//! ksim: a deterministic simulation testbed for Kafka-style replication. The protocol lives in
//! `ksim-model` as sans-IO state machines; this crate runs them as madsim nodes on a seeded
//! network, clock and disk, injects faults, and checks what Kafka promises.

#[cfg(not(madsim))]
compile_error!(
    "ksim must be built with `--cfg madsim` (set in .cargo/config.toml). An exported RUSTFLAGS \
     replaces that setting: unset it, or add `--cfg madsim` to it."
);

// The layers, each importing only those listed before it.
pub mod campaign;
pub mod check;
pub mod cluster;
pub mod embedded;
pub mod observer;
pub mod report;
pub mod scenario;
#[cfg(test)]
mod verdict_table;
