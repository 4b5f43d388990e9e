//! Many runs: sweeps over seeds, shrinking a failure, the tradeoff grid and the benchmark.

pub mod bench;
pub mod coordinator;
pub mod shrink;
pub mod sweep;
pub mod tradeoffs;
