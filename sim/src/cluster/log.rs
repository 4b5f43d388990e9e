//! Logs as madsim and turmoil users expect them: `tracing` events on stderr, filtered by
//! `RUST_LOG` (per module: `RUST_LOG=ksim::observer=info`), each stamped with the simulated
//! time and inside madsim's span of the node that took the step (`node{id=3 name=broker-1}`).
//! Without `RUST_LOG` nothing is installed and nothing is formatted.
//!
//! - `info`: the run's significant steps, as `ksim explain` tells them (faults, elections,
//!   ISR changes, truncations, fencing).
//! - `debug`: besides, every write and its outcome as the producer saw it.
//! - `trace`: besides, every message each broker and controller handled.

use std::fmt;

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::EnvFilter;

/// The simulated time since the run began (`12.345s`); `-` outside a run.
struct SimTime;

impl FormatTime for SimTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        match madsim::time::TimeHandle::try_current() {
            Some(t) => write!(w, "{:>9.3}s", t.elapsed().as_secs_f64()),
            None => write!(w, "{:>10}", "-"),
        }
    }
}

/// Install the stderr subscriber when `RUST_LOG` is set; a bad filter is named, not ignored.
pub fn init() -> Result<(), String> {
    let Ok(spec) = std::env::var("RUST_LOG") else {
        return Ok(());
    };
    let mut filter = EnvFilter::try_new(&spec).map_err(|e| format!("RUST_LOG={spec}: {e}"))?;
    // madsim's node spans are its own (target `madsim`, level error): a filter that names only
    // ksim's modules (`ksim=debug`) would drop them and with them which node logged what.
    let only_targets = spec.split(',').all(|d| d.contains('='));
    if only_targets && !spec.contains("madsim") {
        filter = filter.add_directive("madsim=error".parse().expect("a valid directive"));
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(SimTime)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    Ok(())
}
