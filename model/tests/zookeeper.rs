//! Stories for the ZooKeeper ensemble (`ksim_model::zookeeper`) alone, without madsim:
//! elections by (epoch, last zxid), sessions and their expiry, ephemerals, one-shot watches,
//! conditional writes, `sync`; a run over random crashes and partitions that must stay clean;
//! and one test per planted flaw showing that `ZkObserver` catches it.

use bytes::Bytes;
use ksim_model::quorum::QuorumFlaw;
use ksim_model::zookeeper::*;
use ksim_model::{SelfTest, ZkFlaw};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod zk_net;

use zk_net::client::{self, Client};
use zk_net::story::ZkStory;
use zk_net::Net;

/// The step-by-step stories, told as data in `model/testdata/zookeeper/` (`REWRITE=1`
/// rewrites them after a deliberate change).
#[test]
fn stories() {
    let mut commands = 0;
    datadriven::walk("testdata/zookeeper", |f| {
        let mut story = ZkStory::default();
        f.run(|tc| {
            commands += 1;
            story.command(tc)
        });
    });
    // A missing or empty folder would pass without telling a story.
    assert!(
        commands > 30,
        "only {commands} commands in testdata/zookeeper"
    );
}

// ------------------------------------------------------------------------------ storms

/// What a storm did, so that a clean one is seen to have tested something.
#[derive(Debug, Default)]
struct Tally {
    answered: usize,
    connection_losses: usize,
    expired: usize,
    elections: usize,
}

impl Tally {
    fn add(&mut self, net: &Net) {
        for line in &net.log {
            if line.contains("CONNECTIONLOSS") {
                self.connection_losses += 1;
            } else if line.contains(" -> ") {
                self.answered += 1;
            } else if line.ends_with(" expired") {
                self.expired += 1;
            } else if line.contains(" leads epoch ") {
                self.elections += 1;
            }
        }
    }
}

/// One client's next operation: on a few shared znodes, and its own ephemeral.
fn random_op(rng: &mut ChaCha8Rng, k: usize) -> ZkOp {
    let shared = format!("/k{}", rng.gen_range(0..3));
    let data = Bytes::from(format!("{}", rng.gen_range(0..100)));
    match rng.gen_range(0..8) {
        0 => ZkOp::Create {
            path: shared,
            data,
            ephemeral: false,
            sequential: false,
        },
        1 => ZkOp::Create {
            path: format!("/e{k}"),
            data,
            ephemeral: true,
            sequential: false,
        },
        2 => ZkOp::SetData {
            path: shared,
            data,
            version: rng.gen_range(-1..3),
        },
        3 => ZkOp::Delete {
            path: shared,
            version: rng.gen_range(-1..3),
        },
        4 => ZkOp::Exists {
            path: format!("/e{}", rng.gen_range(0..4)),
            watch: true,
        },
        5 => ZkOp::Sync { path: shared },
        _ => ZkOp::GetData {
            path: shared,
            watch: rng.gen_bool(0.5),
        },
    }
}

/// One fault, or none: crash or restart a server, cut one off or heal, pause or resume a
/// client (long enough, its session expires).
fn random_fault(net: &mut Net, rng: &mut ChaCha8Rng) {
    let id = rng.gen_range(1..=3);
    let k = rng.gen_range(0..net.clients.len());
    match rng.gen_range(0..12) {
        0 if net.server(id).is_some() => net.crash(id),
        1 if net.server(id).is_none() => net.restart(id),
        2 => net.isolate(&[id]),
        3 => net.heal(),
        4 => net.clients[k].paused = true,
        5 => net.clients[k].paused = false,
        _ => {}
    }
}

/// Three servers, four clients, 60 rounds of operations and faults. Stops at the first
/// violation.
fn storm(seed: u64, selftest: SelfTest, tally: &mut Tally) -> Vec<String> {
    let mut cfg = ZkConfig::new(vec![1, 2, 3]);
    cfg.tick_time_ms = 200;
    let mut net = Net::new(seed, cfg, selftest);
    net.run_for(3_000);
    for k in 0..4 {
        net.clients
            .push(Client::new(&format!("c{k}"), vec![1, 2, 3], k % 3, 2_000));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x570_0000);
    for _ in 0..60 {
        for k in 0..net.clients.len() {
            // An expired client starts a new session, as an application would.
            net.clients[k].zk.renew();
            let op = random_op(&mut rng, k);
            client::submit(&mut net, k, op);
        }
        random_fault(&mut net, &mut rng);
        net.run_for(rng.gen_range(100..1_500));
        tally.add(&net);
        net.log.clear();
        if !net.violations.is_empty() {
            break;
        }
    }
    // Heal everything and let the ensemble settle, so a flaw gets its chance to show.
    net.heal();
    for id in 1..=3 {
        if net.server(id).is_none() {
            net.restart(id);
        }
    }
    net.run_for(5_000);
    tally.add(&net);
    net.violations
}

#[test]
fn storms_keep_every_invariant_and_do_real_work() {
    let mut tally = Tally::default();
    for seed in 1..=20 {
        let found = storm(seed, SelfTest::default(), &mut tally);
        assert!(found.is_empty(), "seed {seed}: {found:#?}");
    }
    eprintln!("20 storms: {tally:?}");
    // A storm in which nothing was answered, nothing expired or nobody was elected again
    // would pass without testing anything.
    assert!(tally.answered > 2_000, "{tally:?}");
    assert!(tally.expired > 10, "{tally:?}");
    assert!(tally.elections > 40, "{tally:?}");
    assert!(tally.connection_losses > 10, "{tally:?}");
}

/// The first seed of 1..=`seeds` whose storm under `selftest` finds a violation containing
/// `expected`.
fn caught(selftest: SelfTest, expected: &str, seeds: u64) -> u64 {
    for seed in 1..=seeds {
        let found = storm(seed, selftest, &mut Tally::default());
        if found.iter().any(|v| v.contains(expected)) {
            return seed;
        }
    }
    panic!("no storm of {seeds} under {selftest:?} found {expected:?}");
}

#[test]
fn the_observer_catches_ephemerals_kept_after_their_session() {
    let selftest = SelfTest {
        zk_flaw: ZkFlaw::KeepEphemeralsOnClose,
        ..SelfTest::default()
    };
    caught(selftest, "still holds ephemeral", 10);
}

/// Client a writes through server 2 while server 3 is cut off and behind; then server 2
/// crashes and a moves its session to server 3, which still serves (it has not yet gone
/// `syncLimit` ticks without its leader). Returns what the observer and the clients found,
/// and the log.
fn move_to_a_lagging_server(selftest: SelfTest) -> (Vec<String>, Vec<String>) {
    let mut cfg = ZkConfig::new(vec![1, 2, 3]);
    cfg.tick_time_ms = 200;
    let mut net = Net::new(5, cfg, selftest);
    net.run_for(3_000);
    net.clients.push(Client::new("a", vec![1, 2, 3], 1, 4_000));
    net.run_for(500);
    let create = |data: &str| ZkOp::Create {
        path: format!("/{data}"),
        data: Bytes::new(),
        ephemeral: false,
        sequential: false,
    };
    client::submit(&mut net, 0, create("old"));
    net.run_for(300);
    net.isolate(&[3]);
    client::submit(&mut net, 0, create("new"));
    net.run_for(100);
    net.crash(2);
    net.run_for(100);
    let get = ZkOp::GetData {
        path: "/old".into(),
        watch: false,
    };
    client::submit(&mut net, 0, get);
    net.run_for(300);
    (net.violations, net.log)
}

#[test]
fn a_client_catches_a_server_that_takes_it_back_in_time() {
    let (found, log) = move_to_a_lagging_server(SelfTest::default());
    assert!(found.is_empty(), "{found:#?}");
    // The story is the one intended: the session moved on, but not to server 3.
    assert!(
        log.iter()
            .any(|l| l.contains("connected to server 1, session")),
        "{log:#?}"
    );
    let selftest = SelfTest {
        zk_flaw: ZkFlaw::AcceptStaleReconnect,
        ..SelfTest::default()
    };
    let (found, log) = move_to_a_lagging_server(selftest);
    assert!(
        log.iter()
            .any(|l| l.contains("connected to server 3, session")),
        "{log:#?}"
    );
    assert!(
        found.iter().any(|v| v.contains("went back in time")),
        "{found:#?}"
    );
}

#[test]
fn the_observer_catches_a_commit_without_a_quorum() {
    let selftest = SelfTest {
        quorum_flaw: QuorumFlaw::CommitWithoutMajority,
        ..SelfTest::default()
    };
    caught(selftest, "is committed but only voters", 10);
}

/// The zxid-order check on its own: two servers that apply different transactions as the
/// same committed zxid, or one that applies a zxid out of order, are flagged.
#[test]
fn the_observer_catches_a_reordered_or_changed_commit() {
    let cfg = ZkConfig::new(vec![1, 2, 3]);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let server =
        |id, rng: &mut ChaCha8Rng| ZkServer::new(id, cfg.clone(), Default::default(), 0, rng);
    let (one, two) = (server(1, &mut rng), server(2, &mut rng));
    let z = |counter| Zxid { epoch: 1, counter };
    let close = |session| Txn::CloseSession { session };
    let mut obs = ZkObserver::new();
    assert!(obs
        .applied(&one, &[(z(0), Txn::NewLeader), (z(1), close(7))])
        .is_empty());
    assert!(obs.applied(&two, &[(z(0), Txn::NewLeader)]).is_empty());
    let changed = obs.applied(&two, &[(z(1), close(8))]);
    assert!(
        changed[0].contains("as committed transaction #1"),
        "{changed:?}"
    );
    let reordered = obs.applied(&one, &[(z(1), close(9))]);
    assert!(
        reordered[0].contains("committed 0x100000001 after 0x100000001"),
        "{reordered:?}"
    );
}
