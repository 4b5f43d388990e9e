//! One simulated run: a fresh madsim runtime on a fresh OS thread, the controller, the brokers
//! and the producers as nodes, and the supervisor that injects the scenario's faults, heals the
//! cluster and waits for it to settle. Each node runs receive -> `step` -> disk -> observer ->
//! send; the model never sees madsim.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ksim_model::{Acks, Broker, BrokerId, Controller, Input, NodeId, PartitionId, ProduceRecord, Request, Response, Role};
use madsim::time::{sleep, sleep_until, Instant, TimeHandle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::disk::Disks;
use crate::net::{addr_of, Inbound, NodeNet};
use crate::observer::{Observer, Op, OpType, Stats};
use crate::scenario::{FaultAction, Scenario, ScriptedFault, Target};

/// How often every node's state machine is ticked.
const TICK_MS: u64 = 50;
/// Broker-to-broker and broker-to-controller requests time out after this
/// (`replica.socket.timeout.ms` and `request.timeout.ms` both default to 30 s).
const INTERNAL_REQUEST_TIMEOUT_MS: u64 = 30_000;
/// The producer's `retry.backoff.ms` (Kafka's default), between metadata refreshes.
const RETRY_BACKOFF_MS: u64 = 100;

/// Named random streams derived from the run seed. New streams are appended, never inserted,
/// so that an old seed keeps its meaning.
#[derive(Clone, Copy)]
enum StreamId {
    Faults = 1,
}

fn stream(seed: u64, id: StreamId) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(id as u64).to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// State shared by the supervisor and every node of one run.
pub struct Ctx {
    pub sc: Scenario,
    pub seed: u64,
    pub observer: Mutex<Observer>,
    pub disks: Mutex<Disks>,
    pub stats: Arc<Mutex<Stats>>,
    incarnations: Mutex<BTreeMap<BrokerId, u64>>,
    next_value: Mutex<u64>,
    /// Set when the run is over: every task returns, so that nothing of the run outlives its
    /// runtime (madsim frees no task that is still pending when the runtime is dropped, and a
    /// pending task would keep this context, and its history, alive).
    shutdown: tokio::sync::watch::Sender<bool>,
}

/// A lock that survives a panic elsewhere in the run: after a finding we still want to
/// report what the observer saw.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_ms() -> u64 {
    TimeHandle::current().elapsed().as_millis() as u64
}

impl Ctx {
    fn observe(&self) -> MutexGuard<'_, Observer> {
        lock(&self.observer)
    }
}

/// What the supervisor saw, beside the observer.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Every partition had a leader and fully replicated logs before the settle time ran out.
    pub settled: bool,
    pub end_ms: u64,
    /// Scripted faults whose target did not exist when they fired.
    pub skipped_faults: Vec<String>,
}

/// Everything a run produced.
pub struct RunOutput {
    pub seed: u64,
    pub ctx: Arc<Ctx>,
    pub outcome: Outcome,
    /// A panic inside the simulation (a failed assertion in the model is a finding), or
    /// madsim's "all tasks blocked" / time limit.
    pub panic: Option<String>,
    pub wall: Duration,
}

/// Where the last panic of each run thread happened, so that a finding can say where.
static PANIC_LOCATIONS: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());
static PANIC_HOOK: std::sync::Once = std::sync::Once::new();

/// Wrap the panic hook once: record the location of panics on run threads, then defer to the
/// previous hook (which prints the message).
fn record_panic_locations() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let (Some(name), Some(loc)) = (std::thread::current().name(), info.location()) {
                if name.starts_with("ksim-seed-") {
                    lock(&PANIC_LOCATIONS).insert(name.to_string(), loc.to_string());
                }
            }
            previous(info);
        }));
    });
}

/// Run one seed of a scenario on a fresh thread (std `HashMap` order is only deterministic
/// for the first madsim runtime of a thread).
pub fn run(seed: u64, sc: &Scenario) -> RunOutput {
    let ctx = Arc::new(Ctx {
        sc: sc.clone(),
        seed,
        observer: Mutex::default(),
        disks: Mutex::default(),
        stats: Arc::default(),
        incarnations: Mutex::default(),
        next_value: Mutex::new(1),
        shutdown: tokio::sync::watch::channel(false).0,
    });
    record_panic_locations();
    let started = std::time::Instant::now();
    let thread_ctx = ctx.clone();
    let joined = std::thread::Builder::new()
        .name(format!("ksim-seed-{seed}"))
        .spawn(move || run_in_runtime(thread_ctx))
        .expect("spawn run thread")
        .join();
    let (outcome, panic) = match joined {
        Ok(outcome) => (outcome, None),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic".into());
            let at = lock(&PANIC_LOCATIONS).remove(&format!("ksim-seed-{seed}")).map(|l| format!(" (at {l})")).unwrap_or_default();
            let end_ms = lock(&ctx.observer).now_ms;
            (Outcome { end_ms, ..Outcome::default() }, Some(format!("{msg}{at}")))
        }
    };
    RunOutput { seed, ctx, outcome, panic, wall: started.elapsed() }
}

fn run_in_runtime(ctx: Arc<Ctx>) -> Outcome {
    let mut rt = madsim::runtime::Runtime::with_seed_and_config(ctx.seed, madsim::Config::default());
    let sc = &ctx.sc;
    let limit_ms = sc.workload.duration_ms + sc.run.settle_ms + 60_000;
    rt.set_time_limit(Duration::from_millis(limit_ms));
    let sup_ctx = ctx.clone();
    rt.block_on(async move { supervise(sup_ctx).await })
}

// -------------------------------------------------------------------- nodes

fn to_input(m: Inbound) -> (Input, &'static str) {
    match m {
        Inbound::Request { conn, from, request } => (Input::Request { conn, from, request }, "request"),
        Inbound::Response { from, response } => (Input::Response { from, response }, "response"),
        Inbound::Disconnected { peer, .. } => (Input::Disconnected { peer }, "disconnected"),
    }
}

async fn dispatch(net: &mut NodeNet, sends: Vec<ksim_model::Envelope>) {
    for e in sends {
        match e {
            ksim_model::Envelope::To { node, request } => net.send(node, request),
            ksim_model::Envelope::Reply { conn, response } => net.reply(conn, response).await,
        }
    }
}

async fn broker_node(ctx: Arc<Ctx>, id: BrokerId) {
    let incarnation = {
        let mut inc = lock(&ctx.incarnations);
        let n = inc.entry(id).or_default();
        *n += 1;
        *n
    };
    // A (re)starting broker recovers its log, leader-epoch cache and HW from its disk.
    let logs = lock(&ctx.disks).recover(id);
    let mut broker = Broker::new(id, ctx.sc.broker.clone(), incarnation, now_ms(), logs);
    let timeout = Duration::from_millis(INTERNAL_REQUEST_TIMEOUT_MS);
    let mut shutdown = ctx.shutdown.subscribe();
    let mut net = NodeNet::bind(NodeId::Broker(id), timeout, ctx.stats.clone(), shutdown.clone()).await;
    let mut next_tick = Instant::now();
    loop {
        let (input, kind) = tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            _ = sleep_until(next_tick) => {
                next_tick += Duration::from_millis(TICK_MS);
                (Input::Tick, "tick")
            }
            m = net.recv() => to_input(m),
        };
        let now = now_ms();
        let ready = broker.step(now, input);
        lock(&ctx.disks).apply(id, &ready.disk);
        ctx.observe().after_broker_step(now, &broker, kind, &ready);
        dispatch(&mut net, ready.sends).await;
    }
}

async fn controller_node(ctx: Arc<Ctx>) {
    let sc = &ctx.sc;
    let mut controller = Controller::new(sc.broker.clone(), sc.brokers, sc.partitions, sc.replication_factor);
    {
        let mut obs = ctx.observe();
        for p in controller.partitions() {
            obs.controller.insert(p.partition, (p.leader, p.leader_epoch, p.isr.clone()));
        }
    }
    let timeout = Duration::from_millis(INTERNAL_REQUEST_TIMEOUT_MS);
    let mut shutdown = ctx.shutdown.subscribe();
    let mut net = NodeNet::bind(NodeId::Controller, timeout, ctx.stats.clone(), shutdown.clone()).await;
    let mut next_tick = Instant::now();
    loop {
        let (input, kind) = tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            _ = sleep_until(next_tick) => {
                next_tick += Duration::from_millis(TICK_MS);
                (Input::Tick, "tick")
            }
            m = net.recv() => to_input(m),
        };
        let now = now_ms();
        let ready = controller.step(now, input);
        ctx.observe().after_controller_step(now, kind, &ready);
        dispatch(&mut net, ready.sends).await;
    }
}

/// A request the producer is waiting on.
struct InFlight {
    value: u64,
    partition: PartitionId,
    broker: BrokerId,
    deadline_ms: u64,
}

/// A producer client: sends one record per request at the configured rate, round-robin over
/// partitions, to the leader it learned from metadata; records `invoke` and then `ok`, `fail`
/// or `info` for each. It does not retry (retries come with the producer of its own issue).
async fn producer_node(ctx: Arc<Ctx>, idx: u32) {
    let sc = ctx.sc.clone();
    let me = NodeId::Client(idx);
    // The producer applies request.timeout.ms itself, per request.
    let mut shutdown = ctx.shutdown.subscribe();
    let mut net = NodeNet::bind(me, Duration::from_secs(86_400), ctx.stats.clone(), shutdown.clone()).await;
    let interval = Duration::from_micros(1_000_000 / sc.workload.rate_per_sec.max(1) as u64);
    let end_ms = sc.workload.duration_ms;
    let mut leaders: BTreeMap<PartitionId, BrokerId> = BTreeMap::new();
    let mut in_flight: BTreeMap<u64, InFlight> = BTreeMap::new();
    let mut correlation: u64 = 0;
    let mut metadata_in_flight = false;
    // retry.backoff.ms between metadata refreshes.
    let mut next_metadata = Instant::now();
    let mut next_send = Instant::now();
    let mut next_partition = idx as i32 % sc.partitions;
    loop {
        if !metadata_in_flight && (leaders.len() as i32) < sc.partitions && Instant::now() >= next_metadata {
            correlation += 1;
            net.send(NodeId::Controller, Request::Metadata { correlation_id: correlation });
            metadata_in_flight = true;
        }
        let wake = in_flight.values().map(|f| f.deadline_ms).min().map(|d| Instant::now() + Duration::from_millis(d.saturating_sub(now_ms())));
        let want_metadata = !metadata_in_flight && (leaders.len() as i32) < sc.partitions;
        let wake = [Some(next_send), wake, want_metadata.then_some(next_metadata)].into_iter().flatten().min().unwrap_or(next_send);
        tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            _ = sleep_until(wake) => {}
            m = net.recv() => {
                match m {
                    Inbound::Response { response: Response::Metadata { partitions, .. }, .. } => {
                        metadata_in_flight = false;
                        next_metadata = Instant::now() + Duration::from_millis(RETRY_BACKOFF_MS);
                        leaders = partitions.iter().filter_map(|p| p.leader.map(|l| (p.partition, l))).collect();
                    }
                    Inbound::Response { response: Response::Produce { correlation_id, result, .. }, .. } => {
                        if let Some(f) = in_flight.remove(&correlation_id) {
                            let (kind, offset, error) = match result {
                                Ok(offset) => (OpType::Ok, Some(offset), None),
                                Err(e) => {
                                    leaders.remove(&f.partition);
                                    // NOT_ENOUGH_REPLICAS is decided before the append; the other
                                    // errors may follow an append the client cannot see.
                                    let kind = if e == ksim_model::ErrorCode::NotEnoughReplicas { OpType::Fail } else { OpType::Info };
                                    (kind, None, Some(e.name().to_string()))
                                }
                            };
                            complete(&ctx, idx, &f, kind, offset, error);
                        }
                    }
                    Inbound::Disconnected { peer, refused, .. } => {
                        if peer == NodeId::Controller {
                            metadata_in_flight = false;
                        }
                        // A connection that never opened sent nothing: a definite failure.
                        let (kind, why) = if refused { (OpType::Fail, "connection refused") } else { (OpType::Info, "connection reset") };
                        fail_all_to(&ctx, idx, &mut in_flight, &mut leaders, peer, kind, why);
                    }
                    _ => {}
                }
            }
        }
        let now = now_ms();
        // request.timeout.ms: the request is abandoned with an unknown outcome, and, as Kafka's
        // client does, the connection is closed (failing whatever else was in flight on it).
        let expired: Vec<BrokerId> = in_flight.values().filter(|f| f.deadline_ms <= now).map(|f| f.broker).collect();
        for b in expired {
            net.close(NodeId::Broker(b));
            fail_all_to(&ctx, idx, &mut in_flight, &mut leaders, NodeId::Broker(b), OpType::Info, "request.timeout.ms expired");
        }
        if Instant::now() >= next_send {
            next_send += interval;
            if now < end_ms {
                let p = next_partition;
                next_partition = (next_partition + 1) % sc.partitions;
                if let Some(&leader) = leaders.get(&p) {
                    let to_leader = in_flight.values().filter(|f| f.broker == leader).count();
                    if to_leader < sc.producer.max_in_flight {
                        correlation += 1;
                        send_one(&ctx, &mut net, idx, correlation, p, leader, &mut in_flight);
                    }
                }
            }
        }
    }
}

fn send_one(ctx: &Ctx, net: &mut NodeNet, idx: u32, correlation: u64, p: PartitionId, leader: BrokerId, in_flight: &mut BTreeMap<u64, InFlight>) {
    let sc = &ctx.sc;
    let value = {
        let mut v = lock(&ctx.next_value);
        *v += 1;
        *v - 1
    };
    let mut bytes = vec![0u8; sc.workload.value_bytes.max(8)];
    bytes[..8].copy_from_slice(&value.to_be_bytes());
    let now = now_ms();
    ctx.observe().record(Op { time_ms: now, process: idx, kind: OpType::Invoke, f: "send", value, partition: p, offset: None, error: None });
    let request = Request::Produce {
        correlation_id: correlation,
        partition: p,
        acks: sc.producer.acks,
        timeout_ms: sc.producer.request_timeout_ms,
        records: vec![ProduceRecord { key: bytes::Bytes::new(), value: bytes::Bytes::from(bytes) }],
    };
    net.send(NodeId::Broker(leader), request);
    let f = InFlight { value, partition: p, broker: leader, deadline_ms: now + sc.producer.request_timeout_ms };
    if sc.producer.acks == Acks::None {
        // acks=0: the client counts the send as done; no offset is known.
        complete(ctx, idx, &f, OpType::Ok, None, None);
    } else {
        in_flight.insert(correlation, f);
    }
}

fn complete(ctx: &Ctx, idx: u32, f: &InFlight, kind: OpType, offset: Option<i64>, error: Option<String>) {
    let op = Op { time_ms: now_ms(), process: idx, kind, f: "send", value: f.value, partition: f.partition, offset, error };
    ctx.observe().record(op);
}

fn fail_all_to(ctx: &Ctx, idx: u32, in_flight: &mut BTreeMap<u64, InFlight>, leaders: &mut BTreeMap<PartitionId, BrokerId>, peer: NodeId, kind: OpType, why: &str) {
    let NodeId::Broker(b) = peer else { return };
    let gone: Vec<u64> = in_flight.iter().filter(|(_, f)| f.broker == b).map(|(c, _)| *c).collect();
    for c in gone {
        let f = in_flight.remove(&c).expect("listed above");
        complete(ctx, idx, &f, kind, None, Some(why.to_string()));
    }
    leaders.retain(|_, l| *l != b);
}

// -------------------------------------------------------------------- supervisor

/// The madsim node ids of the cluster's nodes.
struct Cluster {
    brokers: BTreeMap<BrokerId, madsim::task::NodeId>,
    down: BTreeMap<BrokerId, bool>,
    controller: Option<madsim::task::NodeId>,
    clients: Vec<madsim::task::NodeId>,
    /// Links cut by isolation faults, one direction each (madsim clogs one direction).
    cut: std::collections::BTreeSet<(madsim::task::NodeId, madsim::task::NodeId)>,
}

impl Cluster {
    /// Every node of the cluster except broker `b`, by role.
    fn others(&self, b: BrokerId) -> Vec<madsim::task::NodeId> {
        let brokers = self.brokers.iter().filter(|(id, _)| **id != b).map(|(_, n)| *n);
        brokers.chain(self.controller).chain(self.clients.iter().copied()).collect()
    }
}

async fn supervise(ctx: Arc<Ctx>) -> Outcome {
    let handle = madsim::runtime::Handle::current();
    let sc = ctx.sc.clone();
    // Node closures hold the context weakly: madsim keeps them as long as its runtime lives.
    let c = Arc::downgrade(&ctx);
    let controller = handle.create_node().name("controller").ip(addr_of(NodeId::Controller).ip()).init(move || controller_node(c.upgrade().expect("run context"))).build();
    let mut cluster = Cluster { brokers: BTreeMap::new(), down: BTreeMap::new(), controller: Some(controller.id()), clients: Vec::new(), cut: Default::default() };
    for b in 1..=sc.brokers {
        let c = Arc::downgrade(&ctx);
        let node = handle.create_node().name(format!("broker-{b}")).ip(addr_of(NodeId::Broker(b)).ip()).init(move || broker_node(c.upgrade().expect("run context"), b)).build();
        cluster.brokers.insert(b, node.id());
        cluster.down.insert(b, false);
    }
    for i in 1..=sc.workload.producers {
        let c = Arc::downgrade(&ctx);
        let client = handle.create_node().name(format!("producer-{i}")).ip(addr_of(NodeId::Client(i)).ip()).init(move || producer_node(c.upgrade().expect("run context"), i)).build();
        cluster.clients.push(client.id());
    }
    let mut outcome = Outcome::default();
    fault_phase(&ctx, &handle, &mut cluster, &mut outcome).await;
    // Heal: every cut link is restored and every broker that is down comes back, then the
    // cluster must converge.
    heal(&ctx, &mut cluster, None);
    for b in down_brokers(&cluster) {
        restart(&ctx, &handle, &mut cluster, b);
    }
    let deadline = sc.workload.duration_ms + sc.run.settle_ms;
    loop {
        sleep(Duration::from_millis(100)).await;
        if settled(&ctx) {
            outcome.settled = true;
            break;
        }
        if now_ms() >= deadline {
            break;
        }
    }
    outcome.end_ms = now_ms();
    // End every task (see `Ctx::shutdown`); a killed node's pending tasks are woken too, and
    // madsim drops them. The hash is already final: nothing is observed after this.
    let _ = ctx.shutdown.send(true);
    sleep(Duration::from_millis(100)).await;
    outcome
}

fn down_brokers(cluster: &Cluster) -> Vec<BrokerId> {
    cluster.down.iter().filter(|(_, d)| **d).map(|(b, _)| *b).collect()
}

/// Scripted faults at their times, random faults drawn from the fault stream, and the
/// restarts they schedule, until the workload ends.
async fn fault_phase(ctx: &Arc<Ctx>, handle: &madsim::runtime::Handle, cluster: &mut Cluster, outcome: &mut Outcome) {
    let sc = ctx.sc.clone();
    let mut rng = stream(ctx.seed, StreamId::Faults);
    let mut script: Vec<ScriptedFault> = sc.faults.script.clone();
    script.sort_by_key(|f| f.at_ms);
    let mut script = script.into_iter().peekable();
    let mut restarts: Vec<(u64, BrokerId)> = Vec::new();
    let mut heals: Vec<(u64, Vec<(madsim::task::NodeId, madsim::task::NodeId)>)> = Vec::new();
    let mut next_random = sc.faults.random.as_ref().map(|r| rng.gen_range(r.interval_ms.0..=r.interval_ms.1));
    loop {
        let next_script = script.peek().map(|f| f.at_ms);
        let next_restart = restarts.iter().map(|(t, _)| *t).min();
        let next_heal = heals.iter().map(|(t, _)| *t).min();
        let next = [next_script, next_restart, next_heal, next_random].into_iter().flatten().min();
        let Some(at) = next.filter(|t| *t < sc.workload.duration_ms) else {
            sleep_until_ms(sc.workload.duration_ms).await;
            return;
        };
        sleep_until_ms(at).await;
        if next_heal == Some(at) {
            let due: Vec<_> = heals.iter().filter(|(t, _)| *t == at).flat_map(|(_, links)| links.clone()).collect();
            heals.retain(|(t, _)| *t != at);
            heal(ctx, cluster, Some(&due));
        } else if next_restart == Some(at) {
            let due: Vec<BrokerId> = restarts.iter().filter(|(t, _)| *t == at).map(|(_, b)| *b).collect();
            restarts.retain(|(t, _)| *t != at);
            for b in due {
                restart(ctx, handle, cluster, b);
            }
        } else if next_script == Some(at) {
            let f = script.next().expect("peeked");
            let targets = resolve(ctx, cluster, &f.action, &f.target);
            if targets.is_empty() {
                outcome.skipped_faults.push(format!("{} {} at {} ms: no such broker up", f.action.name(), f.target, f.at_ms));
            }
            if f.action == FaultAction::Heal {
                heal(ctx, cluster, None);
            }
            for b in targets {
                if f.action.is_network() {
                    let links = isolate(ctx, cluster, f.action, b);
                    if let Some(after) = f.heal_after_ms {
                        heals.push((at + after, links));
                    }
                    continue;
                }
                strike(ctx, handle, cluster, f.action, b);
                if let Some(after) = f.restart_after_ms {
                    restarts.push((at + after, b));
                }
            }
        } else if let Some(random) = &sc.faults.random {
            next_random = Some(at + rng.gen_range(random.interval_ms.0..=random.interval_ms.1));
            let up: Vec<BrokerId> = cluster.down.iter().filter(|(_, d)| !**d).map(|(b, _)| *b).collect();
            if down_brokers(cluster).len() < random.max_down && !up.is_empty() {
                let b = up[rng.gen_range(0..up.len())];
                let action = random.kinds[rng.gen_range(0..random.kinds.len())];
                let down_for = rng.gen_range(random.down_ms.0..=random.down_ms.1);
                strike(ctx, handle, cluster, action, b);
                restarts.push((at + down_for, b));
            }
        }
    }
}

async fn sleep_until_ms(ms: u64) {
    let now = now_ms();
    if ms > now {
        sleep(Duration::from_millis(ms - now)).await;
    }
}

/// Which live brokers a fault hits, decided when it fires.
fn resolve(ctx: &Ctx, cluster: &Cluster, action: &FaultAction, target: &Target) -> Vec<BrokerId> {
    let sc = &ctx.sc;
    let replicas = |p: PartitionId| -> Vec<BrokerId> { (0..sc.replication_factor).map(|i| (p + i) % sc.brokers + 1).collect() };
    let candidates: Vec<BrokerId> = match target {
        Target::Broker(b) => vec![*b],
        Target::All => cluster.brokers.keys().copied().collect(),
        Target::ReplicasOf(p) => replicas(*p),
        Target::LeaderOf(p) => ctx.observe().leader_of(*p).into_iter().collect(),
        Target::FollowerOf(p) => {
            let obs = ctx.observe();
            let leader = obs.leader_of(*p);
            let isr = obs.controller.get(p).map(|c| c.2.clone()).unwrap_or_default();
            replicas(*p).into_iter().filter(|b| Some(*b) != leader && isr.contains(b)).take(1).collect()
        }
    };
    if *action == FaultAction::Heal {
        return Vec::new();
    }
    let want_down = *action == FaultAction::Restart;
    candidates.into_iter().filter(|b| cluster.down.get(b).copied() == Some(want_down)).collect()
}

/// Cut the links an isolation action names, both directions; returns them (for a timed heal).
fn isolate(ctx: &Ctx, cluster: &mut Cluster, action: FaultAction, b: BrokerId) -> Vec<(madsim::task::NodeId, madsim::task::NodeId)> {
    let sc = &ctx.sc;
    let me = cluster.brokers[&b];
    let (peers, what): (Vec<madsim::task::NodeId>, String) = match action {
        FaultAction::Isolate => (cluster.others(b), format!("isolate broker {b} from every other node")),
        FaultAction::IsolateFromController => (cluster.controller.into_iter().collect(), format!("isolate broker {b} from the controller")),
        _ => {
            // The other replicas of every partition this broker hosts.
            let mut peers = std::collections::BTreeSet::new();
            for p in 0..sc.partitions {
                let replicas: Vec<BrokerId> = (0..sc.replication_factor).map(|i| (p + i) % sc.brokers + 1).collect();
                if replicas.contains(&b) {
                    peers.extend(replicas.into_iter().filter(|r| *r != b));
                }
            }
            let names: Vec<String> = peers.iter().map(|r| r.to_string()).collect();
            let nodes = peers.iter().map(|r| cluster.brokers[r]).collect();
            (nodes, format!("isolate broker {b} from the other replicas ({}); it still reaches the controller and clients", names.join(", ")))
        }
    };
    let net = madsim::net::NetSim::current();
    let mut links = Vec::new();
    for peer in peers {
        for link in [(me, peer), (peer, me)] {
            net.clog_link(link.0, link.1);
            cluster.cut.insert(link);
            links.push(link);
        }
    }
    let mut obs = ctx.observe();
    obs.partitions += 1;
    obs.fault(now_ms(), what);
    links
}

/// Restore cut links: the given ones, or all of them.
fn heal(ctx: &Ctx, cluster: &mut Cluster, links: Option<&[(madsim::task::NodeId, madsim::task::NodeId)]>) {
    let todo: Vec<_> = match links {
        Some(l) => l.iter().copied().filter(|x| cluster.cut.contains(x)).collect(),
        None => cluster.cut.iter().copied().collect(),
    };
    if todo.is_empty() {
        return;
    }
    let net = madsim::net::NetSim::current();
    for link in &todo {
        net.unclog_link(link.0, link.1);
        cluster.cut.remove(link);
    }
    ctx.observe().fault(now_ms(), format!("heal {} cut link(s)", todo.len() / 2));
}

fn strike(ctx: &Ctx, handle: &madsim::runtime::Handle, cluster: &mut Cluster, action: FaultAction, b: BrokerId) {
    let now = now_ms();
    match action {
        FaultAction::Isolate | FaultAction::IsolateFromReplicas | FaultAction::IsolateFromController | FaultAction::Heal => {
            unreachable!("network faults go through isolate() and heal()")
        }
        FaultAction::Restart => restart(ctx, handle, cluster, b),
        FaultAction::Crash => {
            handle.kill(cluster.brokers[&b]);
            cluster.down.insert(b, true);
            let mut obs = ctx.observe();
            obs.crashed(b);
            obs.fault(now, format!("crash broker {b} (process killed; page cache kept)"));
        }
        FaultAction::PowerLoss => {
            handle.kill(cluster.brokers[&b]);
            cluster.down.insert(b, true);
            let lost = lock(&ctx.disks).power_loss(b);
            let n: usize = lost.iter().map(|l| l.records.len()).sum();
            let mut obs = ctx.observe();
            obs.power_lost(b, &lost);
            obs.fault(now, format!("power loss on broker {b} ({n} unflushed records dropped)"));
        }
    }
}

fn restart(ctx: &Ctx, handle: &madsim::runtime::Handle, cluster: &mut Cluster, b: BrokerId) {
    if cluster.down.get(&b) != Some(&true) {
        return;
    }
    handle.restart(cluster.brokers[&b]);
    cluster.down.insert(b, false);
    let mut obs = ctx.observe();
    obs.restarts += 1;
    obs.fault(now_ms(), format!("restart broker {b}"));
}

/// Every partition has the leader the controller chose, acting in that epoch, and every
/// replica has the leader's full log and HW.
fn settled(ctx: &Ctx) -> bool {
    let obs = ctx.observe();
    let sc = &ctx.sc;
    for p in 0..sc.partitions {
        let Some((Some(leader), epoch, _)) = obs.controller.get(&p).cloned() else { return false };
        let Some(lv) = obs.views.get(&(leader, p)) else { return false };
        if !lv.alive || lv.role != (Role::Leader { leader_epoch: epoch }) || lv.hw != lv.leo {
            return false;
        }
        for i in 0..sc.replication_factor {
            let r = (p + i) % sc.brokers + 1;
            match obs.views.get(&(r, p)) {
                Some(v) if v.alive && v.leo == lv.leo && v.hw == lv.hw => {}
                _ => return false,
            }
        }
    }
    true
}
