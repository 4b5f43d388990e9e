//! Many runs: sweeps over seeds, shrinking a failure, the tradeoff grid, the benchmark and the
//! search benchmark.

pub mod bench;
pub mod coordinator;
pub mod hunt;
pub mod search;
pub mod shrink;
pub mod sweep;
pub mod tradeoffs;
