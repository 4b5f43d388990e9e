//! ksim: a deterministic simulation testbed for Kafka-style replication. The protocol lives in
//! `ksim-model` as sans-IO state machines; this crate runs them as madsim nodes on a seeded
//! network, clock and disk, injects faults, and checks what Kafka promises.

#[cfg(not(madsim))]
compile_error!(
    "ksim must be built with `--cfg madsim` (set in .cargo/config.toml). An exported RUSTFLAGS \
     replaces that setting: unset it, or add `--cfg madsim` to it."
);

pub mod bench;
pub mod checker;
pub mod clock;
pub mod consumer;
pub mod disk;
pub mod embedded;
pub mod export;
pub mod faults;
pub mod net;
pub mod observer;
pub mod output;
pub mod producer;
pub mod properties;
pub mod report;
pub mod run;
pub mod scenario;
pub mod scenario_parse;
pub mod shrink;
pub mod story;
pub mod sweep;
pub mod timer;
pub mod tradeoffs;
#[cfg(test)]
mod verdict_table;
pub mod vocabulary;
