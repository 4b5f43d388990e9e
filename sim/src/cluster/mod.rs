//! The simulated cluster: madsim nodes pumping the model's machines on a seeded network,
//! clock and disk, the workload's clients, and the faults injected into them.

pub mod client;
pub mod clock;
pub mod consumer;
pub mod ctx;
pub mod disk;
pub mod faults;
pub mod log;
pub mod net;
pub mod node;
pub mod producer;
pub mod run;
pub mod timer;
pub mod zookeeper;
