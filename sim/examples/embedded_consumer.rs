//! Embedded Kafka for tests: an application's consumer handler and producer payloads run inside
//! a simulated cluster (3 brokers, 3 controllers, a group of 3 consumers, one of which crashes
//! and comes back), and the test asserts on what the handler saw.
//!
//! `cargo run --release --example embedded_consumer` runs seeds 1..=5 and prints what each saw;
//! `cargo test --example embedded_consumer` (part of `cargo test --workspace`) runs seed 1.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ksim::embedded::{Delivery, EmbeddedCluster};

/// The application's state: how many times each order was processed, and by whom.
#[derive(Default)]
struct Orders {
    processed: BTreeMap<u64, u32>,
    wrong_payload: Vec<u64>,
}

/// What one seed showed the application.
struct Seen {
    acknowledged: usize,
    processed: usize,
    reprocessed: usize,
}

fn check_seed(seed: u64) -> Seen {
    let orders: Arc<Mutex<Orders>> = Arc::default();
    let app = orders.clone();
    let cluster = EmbeddedCluster::scenario("consumer-group-crash")
        .expect("the gallery scenario")
        .set("topics=[\"orders\"]")
        .expect("a topic name Kafka accepts")
        // The producer side: each record carries an order, in the application's format.
        .produce_with(|producer, id| format!("order-{id} by producer-{producer}").into_bytes())
        // The consumer side: the application's handler, as it would run behind poll().
        .consume_with(move |d: &Delivery| {
            let mut o = app.lock().unwrap();
            *o.processed.entry(d.value).or_default() += 1;
            let text = String::from_utf8_lossy(&d.payload);
            if &*d.topic != "orders"
                || !text.starts_with(&format!("order-{} by producer-", d.value))
            {
                o.wrong_payload.push(d.value);
            }
        });
    let run = cluster.run(seed);
    assert!(
        run.valid(),
        "seed {seed}: {:?}\nreproduce: {}",
        run.report.violations.first(),
        run.reproduce
    );
    let o = orders.lock().unwrap();
    // Every order the producers were told was written was processed at least once...
    for (partition, offset, value) in &run.acknowledged {
        assert!(
            o.processed.contains_key(value),
            "seed {seed}: order {value} (partition {partition} offset {offset}) was acknowledged but never processed"
        );
    }
    // ...with the payload its producer wrote.
    assert!(
        o.wrong_payload.is_empty(),
        "seed {seed}: {:?}",
        o.wrong_payload
    );
    Seen {
        acknowledged: run.acknowledged.len(),
        processed: o.processed.len(),
        // At-least-once: after the crash and each rebalance, records polled but not yet
        // committed are processed again. An idempotent handler must tolerate this.
        reprocessed: o.processed.values().filter(|n| **n > 1).count(),
    }
}

fn main() {
    for seed in 1..=5 {
        let s = check_seed(seed);
        println!(
            "seed {seed}: {} orders acknowledged, {} processed at least once, {} processed more than once (at-least-once re-deliveries)",
            s.acknowledged, s.processed, s.reprocessed
        );
    }
}

#[test]
fn every_acknowledged_order_is_processed_at_least_once() {
    let s = check_seed(1);
    assert!(s.acknowledged > 1000);
    assert!(s.processed >= s.acknowledged);
}
