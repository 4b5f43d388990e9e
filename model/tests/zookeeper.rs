//! Stories for the ZooKeeper ensemble (`ksim_model::zookeeper`) alone, without madsim:
//! elections by (epoch, last zxid), sessions and their expiry, ephemerals, one-shot watches,
//! conditional writes, `sync`; a run over random crashes and partitions that must stay clean;
//! and one test per planted flaw showing that `ZkObserver` catches it.

use bytes::Bytes;
use ksim_model::kafka_zk::broker::{ZkBrokerInput, ZkRules};
use ksim_model::quorum::QuorumFlaw;
use ksim_model::zookeeper::*;
use ksim_model::{
    BrokerId, Envelope, Input, NodeId, PartitionState, Request, Response, Role, SelfTest, ZkFlaw,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod zk_net;

use zk_net::brokers::TOPIC;
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
        assert!(
            found.is_empty(),
            "seed {seed}: {found:#?}\n{}",
            reproduce("storms_keep_every_invariant_and_do_real_work")
        );
    }
    eprintln!("20 storms: {tally:?}");
    // A storm in which nothing was answered, nothing expired or nobody was elected again
    // would pass without testing anything.
    assert!(tally.answered > 2_000, "{tally:?}");
    assert!(tally.expired > 10, "{tally:?}");
    assert!(tally.elections > 40, "{tally:?}");
    assert!(tally.connection_losses > 10, "{tally:?}");
}

/// The command that replays a failing test (its seeds are fixed, so it fails the same way).
fn reproduce(test: &str) -> String {
    format!("reproduce: cargo test -p ksim-model --test zookeeper {test} -- --exact")
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

// ------------------------------------------------------------------------------ Kafka on ZooKeeper

/// Three servers and three brokers with one partition, settled: broker 3 is the controller
/// (controller epoch 1) and broker 1 leads partition 0 with the ISR [1, 2, 3].
fn settled_cluster(rules: ZkRules) -> Net {
    let mut cfg = ZkConfig::new(vec![1, 2, 3]);
    cfg.tick_time_ms = 200;
    let mut net = Net::new(1, cfg, SelfTest::default());
    net.run_for(3_000);
    net.add_brokers(&[1, 2, 3], 1, 4_000, rules);
    net.run_for(3_000);
    assert_eq!(
        role(&net, 1),
        Role::Leader { leader_epoch: 0 },
        "{:?}",
        net.log
    );
    assert!(net.broker(3).unwrap().controller.is_active());
    net
}

fn role(net: &Net, b: BrokerId) -> Role {
    net.broker(b).unwrap().broker.replica(0).unwrap().role
}

/// An order for broker 2 to lead partition 0 in leader epoch 9 (newer than any it has seen,
/// so that only the fencing under test can refuse it).
fn lead_order(controller_epoch: i32, broker_epoch: i64) -> Input {
    let state = PartitionState {
        partition: 0,
        replicas: vec![1, 2, 3],
        leader: Some(2),
        leader_epoch: 9,
        partition_epoch: 9,
        isr: vec![1, 2, 3],
        elr: Vec::new(),
        last_known_elr: Vec::new(),
    };
    Input::Request {
        conn: 999,
        from: NodeId::Broker(3),
        request: Request::ZkLeaderAndIsr {
            controller_epoch,
            broker_epoch,
            partitions: vec![state],
        },
    }
}

#[test]
fn a_broker_obeys_a_zombie_controller_only_without_controller_epoch_fencing() {
    for fencing in [true, false] {
        let rules = ZkRules {
            controller_epoch_fencing: fencing,
            ..ZkRules::default()
        };
        let mut net = settled_cluster(rules);
        let epoch = net.broker(2).unwrap().registered().unwrap();
        // A LeaderAndIsr from controller epoch 0, older than the 1 in force (KAFKA-532).
        net.step_broker(2, ZkBrokerInput::Kafka(lead_order(0, epoch)));
        let obeyed = role(&net, 2) == Role::Leader { leader_epoch: 9 };
        assert_eq!(obeyed, !fencing, "controller_epoch_fencing={fencing}");
    }
}

#[test]
fn a_restarted_broker_obeys_an_order_for_its_old_incarnation_only_without_kip_380() {
    for fencing in [true, false] {
        let rules = ZkRules {
            broker_epoch_fencing: fencing,
            ..ZkRules::default()
        };
        let mut net = settled_cluster(rules);
        let old = net.broker(2).unwrap().registered().unwrap();
        net.crash_broker(2);
        net.run_for(6_000);
        net.restart_broker(2);
        net.run_for(6_000);
        let new = net.broker(2).unwrap().registered().unwrap();
        assert!(new > old, "a new registration, a new broker epoch");
        // An order sent to the previous incarnation, delivered late (KIP-380).
        net.step_broker(2, ZkBrokerInput::Kafka(lead_order(1, old)));
        let obeyed = role(&net, 2) == Role::Leader { leader_epoch: 9 };
        assert_eq!(obeyed, !fencing, "broker_epoch_fencing={fencing}");
    }
}

#[test]
fn a_leader_overwrites_a_newer_state_znode_only_without_the_conditional_update() {
    for conditional in [true, false] {
        let rules = ZkRules {
            conditional_isr_update: conditional,
            ..ZkRules::default()
        };
        let mut net = settled_cluster(rules);
        // Someone else (the controller, in the story this stands for) writes the state znode
        // behind the leader's back: its cached version is now stale.
        let path = ksim_model::kafka_zk::state_path(TOPIC, 0);
        let theirs =
            br#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,3]}"#;
        net.clients
            .push(Client::new("admin", vec![1, 2, 3], 0, 4_000));
        net.run_for(500);
        let set = ZkOp::SetData {
            path: path.clone(),
            data: Bytes::from_static(theirs),
            version: 0,
        };
        client::submit(&mut net, 0, set);
        net.run_for(500);
        // Broker 3 stops fetching: leader 1 drops it from the ISR after
        // replica.lag.time.max.ms, by writing the state znode.
        net.cut_kafka(3, 1);
        net.run_for(40_000);
        let data = net
            .server(1)
            .unwrap()
            .tree()
            .get(&path)
            .unwrap()
            .data
            .clone();
        let state = ksim_model::kafka_zk::LeaderIsr::from_bytes(&data).unwrap();
        // With the check the write fails (BADVERSION) and the znode keeps the newer state;
        // without it the leader's view replaces it.
        assert_eq!(
            state.isr == vec![1, 3],
            conditional,
            "{state:?}, conditional={conditional}"
        );
    }
}

#[test]
fn every_broker_answers_metadata_from_the_controllers_update_metadata() {
    let mut net = settled_cluster(ZkRules::default());
    for b in [1, 2, 3] {
        let ask = Input::Request {
            conn: 77,
            from: NodeId::Client(1),
            request: Request::Metadata { correlation_id: 5 },
        };
        let now = net.now_ms;
        let ready = net.broker_mut(b).step(now, ZkBrokerInput::Kafka(ask));
        let answer = ready.kafka.sends.iter().find_map(|e| match e {
            Envelope::Reply {
                conn: 77,
                response:
                    Response::Metadata {
                        brokers,
                        partitions,
                        ..
                    },
            } => Some((brokers.clone(), partitions[0].leader)),
            _ => None,
        });
        assert_eq!(answer, Some((vec![1, 2, 3], Some(1))), "broker {b}");
    }
}

/// Every server loses power right after an acknowledged create; what is left of it.
fn power_loss_after_an_ack(force_sync: bool) -> (Vec<String>, bool) {
    let mut cfg = ZkConfig::new(vec![1, 2, 3]);
    cfg.tick_time_ms = 200;
    cfg.force_sync = force_sync;
    let mut net = Net::new(6, cfg, SelfTest::default());
    net.run_for(3_000);
    net.clients.push(Client::new("a", vec![1, 2, 3], 0, 4_000));
    net.run_for(500);
    let create = ZkOp::Create {
        path: "/kept".into(),
        data: Bytes::from_static(b"acked"),
        ephemeral: false,
        sequential: false,
    };
    client::submit(&mut net, 0, create);
    net.run_for(300);
    assert!(
        net.log.iter().any(|l| l.contains("created /kept")),
        "{:?}",
        net.log
    );
    for id in [1, 2, 3] {
        net.power_loss(id);
    }
    for id in [1, 2, 3] {
        net.restart(id);
    }
    net.clients.push(Client::new("b", vec![1, 2, 3], 1, 4_000));
    net.run_for(4_000);
    let kept = net.server(1).unwrap().tree().get("/kept").is_some();
    (net.violations, kept)
}

#[test]
fn an_acknowledged_write_survives_a_power_loss_only_with_force_sync() {
    let (found, kept) = power_loss_after_an_ack(true);
    assert!(found.is_empty() && kept, "forceSync=yes: {found:#?}");
    let (found, kept) = power_loss_after_an_ack(false);
    assert!(!kept, "forceSync=no keeps nothing unsynced");
    assert!(
        found.iter().any(|v| v.contains("ConsistentCommittedData")),
        "{found:#?}"
    );
    assert!(
        found.iter().any(|v| v.contains("went back in time")),
        "{found:#?}"
    );
}

/// Kafka on ZooKeeper under random faults: brokers crash and return, a ZooKeeper server
/// crashes and returns, a broker is cut off from ZooKeeper (its session expires while it keeps
/// its Kafka links), while a producer writes with acks=all (min.insync.replicas=2). Returns
/// what was found and how many writes were acknowledged.
fn kafka_storm(seed: u64, selftest: SelfTest) -> (Vec<String>, usize) {
    kafka_storm_with(seed, selftest, ZkRules::default())
}

fn kafka_storm_with(seed: u64, selftest: SelfTest, rules: ZkRules) -> (Vec<String>, usize) {
    let mut cfg = ZkConfig::new(vec![1, 2, 3]);
    cfg.tick_time_ms = 200;
    let mut net = Net::new(seed, cfg, selftest);
    net.run_for(3_000);
    net.add_brokers(&[1, 2, 3], 1, 4_000, rules);
    net.run_for(4_000);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4afa_0000);
    let mut value = 0;
    for _ in 0..30 {
        kafka_fault(&mut net, &mut rng);
        for _ in 0..rng.gen_range(3..12) {
            value += 1;
            net.produce(value);
            net.run_for(200);
        }
    }
    net.heal();
    for id in 1..=3 {
        if net.server(id).is_none() {
            net.restart(id);
        }
        if net.broker(id as BrokerId).is_none() {
            net.restart_broker(id as BrokerId);
        }
    }
    net.run_for(30_000);
    let mut found = net.violations.clone();
    found.extend(acked_kept(&net));
    (found, net.acked.len())
}

fn kafka_fault(net: &mut Net, rng: &mut ChaCha8Rng) {
    let b: BrokerId = rng.gen_range(1..=3);
    let s = rng.gen_range(1..=3);
    let brokers_down = (1..=3).filter(|b| net.broker(*b).is_none()).count();
    let servers_down = (1..=3).filter(|s| net.server(*s).is_none()).count();
    match rng.gen_range(0..8) {
        0 if brokers_down == 0 => net.crash_broker(b),
        1 if net.broker(b).is_none() => net.restart_broker(b),
        2 if servers_down == 0 => net.crash(s),
        3 if net.server(s).is_none() => net.restart(s),
        4 => net.isolate_broker_from_zookeeper(b),
        5 => net.heal(),
        _ => {}
    }
}

/// Every acknowledged value is in the log of the final leader of partition 0.
fn acked_kept(net: &Net) -> Vec<String> {
    let leader = (1..=3)
        .filter_map(|b| net.broker(b))
        .filter_map(|zb| match zb.broker.replica(0)?.role {
            Role::Leader { leader_epoch } => Some((leader_epoch, zb)),
            _ => None,
        })
        .max_by_key(|(e, _)| *e);
    let Some((_, zb)) = leader else {
        return vec!["no leader of partition 0 after healing".into()];
    };
    let log: std::collections::BTreeSet<u64> = zb
        .broker
        .replica(0)
        .unwrap()
        .log
        .records()
        .iter()
        .map(|r| u64::from_be_bytes(r.value[..8].try_into().unwrap()))
        .collect();
    net.acked
        .iter()
        .filter(|v| !log.contains(v))
        .map(|v| {
            format!(
                "acknowledged value {v} is not in leader {}'s log",
                zb.broker.id
            )
        })
        .collect()
}

#[test]
fn kafka_on_zookeeper_keeps_every_acknowledged_write_and_one_leader_per_epoch() {
    let mut acked = 0;
    for seed in 1..=12 {
        let (found, n) = kafka_storm(seed, SelfTest::default());
        assert!(
            found.is_empty(),
            "seed {seed}: {found:#?}\n{}",
            reproduce("kafka_on_zookeeper_keeps_every_acknowledged_write_and_one_leader_per_epoch")
        );
        acked += n;
    }
    eprintln!("12 storms: {acked} writes acknowledged");
    assert!(acked > 500, "only {acked} writes acknowledged in 12 storms");
}

#[test]
fn the_kafka_storm_catches_a_leader_that_acknowledges_before_replicating() {
    let selftest = SelfTest {
        flaw: ksim_model::Flaw::AckBeforeReplication,
        ..SelfTest::default()
    };
    let seed = (1..=12).find(|seed| {
        let (found, _) = kafka_storm(*seed, selftest);
        found.iter().any(|v| v.contains("is not in leader"))
    });
    assert!(
        seed.is_some(),
        "no storm lost an acknowledged write under ack-before-replication"
    );
}

/// The storm finds the ZooKeeper-era conditional-update switch on its own: a leader that
/// writes its ISR without the version check overwrites the controller's election, and an
/// acknowledged write is lost.
#[test]
fn the_kafka_storm_finds_an_isr_written_without_the_conditional_update() {
    let rules = ZkRules {
        conditional_isr_update: false,
        ..ZkRules::default()
    };
    let seed = (1..=12).find(|seed| {
        let (found, _) = kafka_storm_with(*seed, SelfTest::default(), rules);
        found.iter().any(|v| v.contains("is not in leader"))
    });
    assert!(seed.is_some(), "no storm of 12 lost an acknowledged write");
}

#[test]
fn the_kafka_storm_catches_two_leaders_in_one_leader_epoch() {
    let selftest = SelfTest {
        flaw: ksim_model::Flaw::ElectWithoutEpochBump,
        ..SelfTest::default()
    };
    let seed = (1..=12).find(|seed| {
        let (found, _) = kafka_storm(*seed, selftest);
        found.iter().any(|v| v.contains("both led partition"))
    });
    assert!(
        seed.is_some(),
        "no storm of 12 saw two leaders of one leader epoch"
    );
}

/// Fault `session-expiry`: the serving leader expires the session that owns a broker's
/// registration at once; a follower told the same does nothing. The broker hears it, and
/// registers again with a new broker epoch (the czxid of its new registration).
#[test]
fn the_leader_expires_the_session_owning_a_registration_and_the_broker_registers_again() {
    let mut net = settled_cluster(ZkRules::default());
    let path = ksim_model::kafka_zk::broker_path(2);
    let owner = |net: &Net| -> Option<SessionId> {
        let s = (1..=3).find_map(|z| net.server(z))?;
        s.tree().get(&path).and_then(|n| n.stat.ephemeral_owner)
    };
    let leader = (1..=3)
        .find(|z| {
            net.server(*z)
                .is_some_and(|s| s.quorum().leader() == Some(*z))
        })
        .expect("a leader");
    let before = (owner(&net), net.broker(2).unwrap().registered());
    for z in (1..=3).filter(|z| *z != leader) {
        net.step(z, ZkInput::ExpireOwnerOf { path: path.clone() });
    }
    net.run_for(500);
    assert_eq!(owner(&net), before.0, "a follower expired a session");
    net.step(leader, ZkInput::ExpireOwnerOf { path: path.clone() });
    net.run_for(3_000);
    let after = (owner(&net), net.broker(2).unwrap().registered());
    assert!(
        after.0.is_some() && after.0 != before.0,
        "{before:?} {after:?}"
    );
    assert!(
        after.1.is_some() && after.1 != before.1,
        "{before:?} {after:?}"
    );
}
