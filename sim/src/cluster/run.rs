//! One simulated run: a fresh madsim runtime on a fresh OS thread, the controller, the brokers
//! and the producers as nodes, and the supervisor that injects the scenario's faults, heals the
//! cluster and waits for it to settle. Each node runs receive -> `step` -> disk -> observer ->
//! send; the model never sees madsim.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ksim_model::quorum::{QuorumConfig, QuorumInput, QuorumNode, QuorumReady, Role as QuorumRole};
use ksim_model::{
    assignment, Broker, BrokerId, Command, Controller, Envelope, Input, NodeId, Origin, Request,
    Role,
};
use madsim::time::sleep;
use rand_chacha::ChaCha8Rng;

use crate::cluster::ctx::{lock, now_ms, Ctx, Hooks, Outcome};
use crate::cluster::faults::{fault_phase, heal, restart, Cluster};
use crate::cluster::net::{addr_of, LinkFaults, NodeNet};
use crate::cluster::node::{
    broker_machine, dispatch, metadata_stall_change, next_incarnation, ServerLoop,
};
use crate::cluster::zookeeper::{zk_broker_node, zookeeper_node};
use crate::observer::{Keep, Observer, Rules};
use crate::scenario::streams::{stream, stream_of, StreamId};
use crate::scenario::{Coordinator, Scenario};

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

/// Runs started in this process, to name each run's thread apart.
static RUNS: AtomicU64 = AtomicU64::new(0);
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
    run_with(seed, sc, Keep::default(), Hooks::default())
}

/// `run` with user hooks.
pub fn run_hooked(seed: u64, sc: &Scenario, hooks: Hooks) -> RunOutput {
    run_with(seed, sc, Keep::default(), hooks)
}

/// `run`, with the observer keeping a table of every replica's state at each significant
/// step (`ksim explain`).
pub fn run_explained(seed: u64, sc: &Scenario) -> RunOutput {
    run_with(
        seed,
        sc,
        Keep {
            tables: true,
            ..Keep::default()
        },
        Hooks::default(),
    )
}

/// `run`, with the observer keeping each replica's state over time for the run report
/// (only then: sweeps of thousands of seeds need none of it).
pub fn run_for_report(seed: u64, sc: &Scenario) -> RunOutput {
    run_with(
        seed,
        sc,
        Keep {
            timeline: true,
            ..Keep::default()
        },
        Hooks::default(),
    )
}

/// `run`, keeping both the explain tables and the report's timeline (the verdict table's
/// rows that check what a report and `ksim explain` draw).
#[cfg(test)]
pub(crate) fn run_keeping_all(seed: u64, sc: &Scenario) -> RunOutput {
    let keep = Keep {
        tables: true,
        timeline: true,
    };
    run_with(seed, sc, keep, Hooks::default())
}

/// What the configuration allows, for the observer's checkers.
fn rules_of(sc: &Scenario) -> Rules {
    let b = &sc.broker;
    let acks_all = sc.producer.acks == ksim_model::Acks::All;
    Rules {
        zookeeper: sc.coordinator == Coordinator::ZooKeeper,
        // The HW waits for min.insync.replicas only under KIP-966; before it any ISR commits.
        min_insync_replicas: if b.protocol.strict_min_isr {
            b.min_insync_replicas
        } else {
            1
        },
        unclean_leader_election_enable: b.unclean_leader_election_enable,
        stall_bound_ms: if acks_all {
            b.replica_lag_time_max_ms + sc.session_timeout_ms()
        } else {
            0
        },
    }
}

fn run_with(seed: u64, sc: &Scenario, keep: Keep, hooks: Hooks) -> RunOutput {
    let mut sc = sc.clone();
    sc.broker.controller_quorum_voters = (1..=sc.controllers).collect();
    let rules = rules_of(&sc);
    let ctx = Arc::new(Ctx {
        sc,
        seed,
        observer: Mutex::new(Observer::new(keep, rules)),
        disks: Mutex::default(),
        stats: Arc::default(),
        links: Arc::new(Mutex::new(LinkFaults::new(stream(seed, StreamId::Loss)))),
        clocks: Mutex::default(),
        stalled_metadata: Mutex::default(),
        zk_expiries: Mutex::default(),
        incarnations: Mutex::default(),
        consumer_incarnations: Mutex::default(),
        controller_incarnations: Mutex::default(),
        zookeeper_incarnations: Mutex::default(),
        next_value: Mutex::new(1),
        shutdown: tokio::sync::watch::channel(false).0,
        hooks,
        sim_nodes: Mutex::default(),
    });
    record_panic_locations();
    let started = std::time::Instant::now();
    let thread_ctx = ctx.clone();
    // Runs of one seed may go on at once (the cells of a tradeoffs grid, parallel tests): the
    // thread's name is unique per run, so each finds its own panic's location.
    let thread_name = format!(
        "ksim-seed-{seed}-run-{}",
        RUNS.fetch_add(1, Ordering::Relaxed)
    );
    let joined = std::thread::Builder::new()
        .name(thread_name.clone())
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
            let at = lock(&PANIC_LOCATIONS)
                .remove(&thread_name)
                .map(|l| format!(" (at {l})"))
                .unwrap_or_default();
            let end_ms = lock(&ctx.observer).now_ms;
            (
                Outcome {
                    end_ms,
                    ..Outcome::default()
                },
                Some(format!("{msg}{at}")),
            )
        }
    };
    RunOutput {
        seed,
        ctx,
        outcome,
        panic,
        wall: started.elapsed(),
    }
}

fn run_in_runtime(ctx: Arc<Ctx>) -> Outcome {
    let mut rt =
        madsim::runtime::Runtime::with_seed_and_config(ctx.seed, madsim::Config::default());
    let sc = &ctx.sc;
    let limit_ms = sc.workload.duration_ms + sc.run.settle_ms + 60_000;
    rt.set_time_limit(Duration::from_millis(limit_ms));
    let sup_ctx = ctx.clone();
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async move { supervise(sup_ctx).await })
    }));
    match ran {
        Ok(outcome) => outcome,
        Err(panic) => {
            free_tasks(&rt, &ctx);
            std::panic::resume_unwind(panic)
        }
    }
}

/// After a panic: kill every node and let the executor drop their tasks. madsim frees no task
/// still pending when its runtime is dropped, and each holds the run's context (history, logs,
/// the brokers' state): without this a sweep of panicking seeds grew by about 1 MB a seed.
fn free_tasks(rt: &madsim::runtime::Runtime, ctx: &Ctx) {
    for id in lock(&ctx.sim_nodes).iter() {
        rt.handle().kill(*id);
    }
    // Killed nodes' tasks are woken; the executor drops them when it next runs them.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(async {})));
}

// -------------------------------------------------------------------- nodes

async fn broker_node(ctx: Arc<Ctx>, id: BrokerId) {
    let me = NodeId::Broker(id);
    let mut broker = broker_machine(&ctx, id);
    let mut node = ServerLoop::bind(&ctx, me).await;
    while let Some((input, kind)) = node.next(&ctx).await {
        // The broker measures its timeouts on its own clock; the observer on the run's.
        let now = ctx.local_ms(me);
        if kind == "tick" {
            if let Some(ready) = metadata_stall_change(&ctx, &mut broker) {
                after_broker_step(&ctx, &mut node, &broker, "metadata", ready).await;
            }
        }
        let ready = broker.step(now, input);
        after_broker_step(&ctx, &mut node, &broker, kind, ready).await;
    }
}

async fn after_broker_step(
    ctx: &Ctx,
    node: &mut ServerLoop,
    broker: &Broker,
    kind: &'static str,
    ready: ksim_model::Ready,
) {
    lock(&ctx.disks).apply(broker.id, &ready.disk);
    ctx.observe()
        .after_broker_step(now_ms(), broker, kind, &ready);
    tracing::trace!(input = kind, sends = ready.sends.len(), "broker step");
    dispatch(&mut node.net, ready.sends).await;
}

/// A controller incarnation's machines: its Raft node, recovered from its fsynced log, with
/// its own election-timeout stream; and the metadata state machine, empty until the log's
/// entries are (re)committed.
fn controller_machines(
    ctx: &Ctx,
    id: u32,
    incarnation: u64,
) -> (QuorumNode<Command>, Controller, ChaCha8Rng) {
    let sc = &ctx.sc;
    let mut rng = stream_of(
        ctx.seed,
        StreamId::Controller,
        (u64::from(id) << 32) | incarnation,
    );
    let mut qcfg = QuorumConfig::new((1..=sc.controllers).collect());
    qcfg.election_timeout_ms = sc.broker.controller_quorum_election_timeout_ms;
    qcfg.heartbeat_interval_ms = (qcfg.election_timeout_ms / 2).max(1);
    let persisted = lock(&ctx.disks).recover_controller(id);
    let now = ctx.local_ms(NodeId::Controller(id));
    let raft = QuorumNode::new(id, qcfg, persisted, now, &mut rng).with_selftest(sc.selftest);
    let metadata = Controller::new(
        sc.broker.clone(),
        sc.brokers,
        sc.total_partitions(),
        sc.replication_factor,
    )
    .with_topics(sc.workload.topics.len() as i32)
    .with_selftest(sc.selftest);
    (raft, metadata, rng)
}

/// One voter of the controller quorum: a Raft node replicating metadata commands, and the
/// metadata state machine (`Controller`) applying the committed ones. Only the active
/// controller (the Raft leader) accepts heartbeats and AlterPartition; it proposes each as a
/// command and answers once the command is committed and applied. Metadata is answered by any
/// controller from what it has applied.
async fn controller_node(ctx: Arc<Ctx>, id: u32) {
    let incarnation = next_incarnation(&ctx.controller_incarnations, id);
    let me_node = NodeId::Controller(id);
    let (mut raft, mut metadata, mut rng) = controller_machines(&ctx, id, incarnation);
    let mut me = ControllerNode {
        id,
        incarnation,
        pending: BTreeMap::new(),
        expire_pending: false,
    };
    let mut node = ServerLoop::bind(&ctx, me_node).await;
    while let Some((input, kind)) = node.next(&ctx).await {
        let net = &mut node.net;
        // Election timeouts and broker sessions are measured on this controller's clock.
        let now = ctx.local_ms(me_node);
        let qinput = match input {
            Input::Tick => {
                let q = QuorumInput::Tick;
                let ready = raft.step(now, q, &mut rng);
                me.handle(&ctx, net, &mut raft, &mut metadata, ready, &mut rng, kind)
                    .await;
                // The active controller fences brokers whose session expired.
                if raft.role() == QuorumRole::Leader
                    && !me.expire_pending
                    && metadata.sessions_expired(now)
                {
                    me.expire_pending = true;
                    QuorumInput::Propose(Command::ExpireSessions { now })
                } else {
                    continue;
                }
            }
            Input::Request {
                request: Request::Raft { from, msg },
                ..
            } => QuorumInput::Message { from, msg },
            Input::Request {
                conn,
                request: Request::Metadata { correlation_id },
                ..
            } => {
                net.reply(conn, metadata.metadata(correlation_id)).await;
                continue;
            }
            Input::Request { conn, request, .. } => {
                let origin = Origin {
                    controller: id,
                    incarnation,
                    conn,
                };
                let Some(cmd) = Command::for_request(now, origin, &request) else {
                    continue;
                };
                if raft.role() != QuorumRole::Leader {
                    if let Some((conn, response)) = cmd.not_controller() {
                        net.reply(conn, response).await;
                    }
                    continue;
                }
                QuorumInput::Propose(cmd)
            }
            Input::Response { .. } | Input::Disconnected { .. } => continue,
        };
        let proposal = match &qinput {
            QuorumInput::Propose(cmd) => Some(cmd.clone()),
            _ => None,
        };
        let ready = raft.step(now, qinput, &mut rng);
        if let (Some(cmd), Some(Ok(index))) = (proposal, ready.proposed) {
            me.pending.insert(index, cmd);
        }
        me.handle(&ctx, net, &mut raft, &mut metadata, ready, &mut rng, kind)
            .await;
    }
}

/// A controller's bookkeeping beside its Raft node.
struct ControllerNode {
    id: u32,
    incarnation: u64,
    /// Commands this controller proposed and has not seen committed, by log index.
    pending: BTreeMap<u64, Command>,
    expire_pending: bool,
}

impl ControllerNode {
    #[allow(clippy::too_many_arguments)]
    async fn handle(
        &mut self,
        ctx: &Ctx,
        net: &mut NodeNet,
        raft: &mut QuorumNode<Command>,
        metadata: &mut Controller,
        ready: QuorumReady<Command>,
        rng: &mut ChaCha8Rng,
        kind: &'static str,
    ) {
        let local = ctx.local_ms(NodeId::Controller(self.id));
        // Raft's persistence rule: term, vote and log are on stable storage before any message
        // that depends on them leaves. Controllers fsync (the harness applies at once).
        lock(&ctx.disks).apply_controller(self.id, &ready.persist);
        ctx.observe()
            .quorum_writes(now_ms(), self.id, &ready.persist, &ready.sends);
        let sends = ready.sends.len();
        for (to, msg) in ready.sends {
            net.send(NodeId::Controller(to), Request::Raft { from: self.id, msg });
        }
        for entry in ready.committed {
            self.apply(ctx, net, raft, metadata, entry.index, &entry.payload)
                .await;
        }
        let became_leader = ready.became_leader.is_some();
        ctx.observe()
            .after_quorum_step(now_ms(), raft, kind, sends, became_leader);
        tracing::trace!(input = kind, sends, "controller step");
        if became_leader {
            // A new active controller renews every session (its predecessor's heartbeat times
            // are not its own); committing this entry also commits everything before it.
            self.expire_pending = false;
            let renew = Command::RenewSessions { now: local };
            let ready = raft.step(local, QuorumInput::Propose(renew), rng);
            Box::pin(self.handle(ctx, net, raft, metadata, ready, rng, "renew")).await;
        } else if raft.role() != QuorumRole::Leader && !self.pending.is_empty() {
            // Leadership lost: what we proposed may never commit. The requester retries
            // elsewhere; if the command does commit later, its answer follows.
            for (_, cmd) in std::mem::take(&mut self.pending) {
                if let Some((conn, response)) = cmd.not_controller() {
                    net.reply(conn, response).await;
                }
            }
        }
    }

    async fn apply(
        &mut self,
        ctx: &Ctx,
        net: &mut NodeNet,
        raft: &QuorumNode<Command>,
        metadata: &mut Controller,
        index: u64,
        cmd: &Command,
    ) {
        let now = now_ms();
        if let Some(mine) = self.pending.remove(&index) {
            if &mine != cmd {
                // Our proposal at this index was overwritten by another leader's.
                if let Some((conn, response)) = mine.not_controller() {
                    net.reply(conn, response).await;
                }
            }
        }
        if matches!(cmd, Command::ExpireSessions { .. }) {
            self.expire_pending = false;
        }
        let ready = metadata.apply(cmd);
        ctx.observe().after_apply(now, index, &ready);
        let mine = cmd
            .origin()
            .map(|o| o.controller == self.id && o.incarnation == self.incarnation)
            .unwrap_or(false);
        let active = raft.role() == QuorumRole::Leader;
        for e in ready.sends {
            match e {
                Envelope::Reply { conn, response } if mine => net.reply(conn, response).await,
                Envelope::To { node, request } if active => net.send(node, request),
                _ => {}
            }
        }
    }
}

// -------------------------------------------------------------------- supervisor

async fn supervise(ctx: Arc<Ctx>) -> Outcome {
    let handle = madsim::runtime::Handle::current();
    let mut cluster = Cluster::default();
    show_initial_assignment(&ctx);
    start_servers(&ctx, &handle, &mut cluster);
    start_clients(&ctx, &handle, &mut cluster);
    let mut outcome = Outcome::default();
    fault_phase(&ctx, &handle, &mut cluster, &mut outcome).await;
    outcome.settled = heal_and_settle(&ctx, &handle, &mut cluster).await;
    outcome.end_ms = now_ms();
    ctx.observe().close_timeline(outcome.end_ms);
    // End every task (see `Ctx::shutdown`); a killed node's pending tasks are woken too, and
    // madsim drops them. The hash is already final: nothing is observed after this.
    let _ = ctx.shutdown.send(true);
    sleep(Duration::from_millis(100)).await;
    outcome
}

/// The controllers' view before any of them ran: the initial assignment's leaders and ISRs.
fn show_initial_assignment(ctx: &Ctx) {
    let sc = &ctx.sc;
    if sc.coordinator == Coordinator::ZooKeeper {
        // The controller writes each partition's first state znode; the view starts there.
        return;
    }
    let mut obs = ctx.observe();
    let initial = Controller::new(
        sc.broker.clone(),
        sc.brokers,
        sc.total_partitions(),
        sc.replication_factor,
    );
    for p in initial.partitions() {
        obs.set_controller_view(0, p.partition, p.leader, p.leader_epoch, p.isr.clone());
    }
}

/// The controllers' and brokers' madsim nodes.
fn start_servers(ctx: &Arc<Ctx>, handle: &madsim::runtime::Handle, cluster: &mut Cluster) {
    if ctx.sc.coordinator == Coordinator::ZooKeeper {
        return start_zookeeper_mode(ctx, handle, cluster);
    }
    let sc = &ctx.sc;
    // Node closures hold the context weakly: madsim keeps them as long as its runtime lives.
    for c in 1..=sc.controllers {
        let w = Arc::downgrade(ctx);
        let init = move || controller_node(w.upgrade().expect("run context"), c);
        add_server(ctx, handle, cluster, NodeId::Controller(c), init);
    }
    for b in 1..=sc.brokers {
        let w = Arc::downgrade(ctx);
        let init = move || broker_node(w.upgrade().expect("run context"), b);
        add_server(ctx, handle, cluster, NodeId::Broker(b), init);
    }
}

/// ZooKeeper mode's madsim nodes: the ensemble's servers and the ZooKeeper-era brokers.
fn start_zookeeper_mode(ctx: &Arc<Ctx>, handle: &madsim::runtime::Handle, cluster: &mut Cluster) {
    let sc = &ctx.sc;
    for z in 1..=sc.zookeepers {
        let w = Arc::downgrade(ctx);
        let init = move || zookeeper_node(w.upgrade().expect("run context"), z);
        add_server(ctx, handle, cluster, NodeId::ZooKeeper(z), init);
    }
    for b in 1..=sc.brokers {
        let w = Arc::downgrade(ctx);
        let init = move || zk_broker_node(w.upgrade().expect("run context"), b);
        add_server(ctx, handle, cluster, NodeId::Broker(b), init);
    }
}

/// A server's madsim node, named and addressed after `v`, up from the start.
fn add_server<F, Fut>(
    ctx: &Ctx,
    handle: &madsim::runtime::Handle,
    cluster: &mut Cluster,
    v: NodeId,
    init: F,
) where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let name = crate::cluster::faults::describe(v).replace(' ', "-");
    let node = handle
        .create_node()
        .name(name)
        .ip(addr_of(v).ip())
        .init(init)
        .build();
    cluster.nodes.insert(v, node.id());
    lock(&ctx.sim_nodes).push(node.id());
    cluster.down.insert(v, false);
}

/// The workload's producers and consumers.
fn start_clients(ctx: &Arc<Ctx>, handle: &madsim::runtime::Handle, cluster: &mut Cluster) {
    let sc = &ctx.sc;
    for i in 1..=sc.workload.producers {
        let w = Arc::downgrade(ctx);
        let client = handle
            .create_node()
            .name(format!("producer-{i}"))
            .ip(addr_of(NodeId::Client(i)).ip())
            .init(move || {
                crate::cluster::producer::producer_node(w.upgrade().expect("run context"), i)
            })
            .build();
        cluster.clients.insert(NodeId::Client(i), client.id());
        lock(&ctx.sim_nodes).push(client.id());
    }
    for n in 1..=sc.workload.consumers {
        let w = Arc::downgrade(ctx);
        let v = NodeId::Client(crate::cluster::net::CONSUMER_BASE + n);
        let client = handle
            .create_node()
            .name(format!("consumer-{n}"))
            .ip(addr_of(v).ip())
            .init(move || {
                crate::cluster::consumer::consumer_node(w.upgrade().expect("run context"), n)
            })
            .build();
        cluster.clients.insert(v, client.id());
        lock(&ctx.sim_nodes).push(client.id());
        cluster.down.insert(v, false);
    }
}

/// Heal: every cut link is restored and every node that is down comes back, then the cluster
/// must converge within `settle_ms`; whether it did.
async fn heal_and_settle(
    ctx: &Ctx,
    handle: &madsim::runtime::Handle,
    cluster: &mut Cluster,
) -> bool {
    let sc = &ctx.sc;
    heal(ctx, cluster, None);
    for v in cluster.down_list(false) {
        restart(ctx, handle, cluster, v);
    }
    let deadline = sc.workload.duration_ms + sc.run.settle_ms;
    loop {
        sleep(Duration::from_millis(100)).await;
        if settled(ctx) {
            return true;
        }
        if now_ms() >= deadline {
            return false;
        }
    }
}

/// A quorum leader exists, and every partition has the leader the controllers chose, acting
/// in that epoch, with every replica at the leader's full log and HW; consumers that start at
/// the earliest offset have polled every partition up to its HW (the final drain).
fn settled(ctx: &Ctx) -> bool {
    let obs = ctx.observe();
    let sc = &ctx.sc;
    if obs.quorum_leader().is_none() {
        return false;
    }
    if sc.workload.consumers > 0 && sc.consumer.auto_offset_reset_earliest {
        for p in 0..sc.total_partitions() {
            let hw = obs
                .controller
                .get(&p)
                .and_then(|c| c.0)
                .and_then(|l| obs.views.get(&(l, p)))
                .map_or(0, |v| v.hw);
            if obs.drained.get(&p).copied().unwrap_or(0) < hw {
                return false;
            }
        }
    }
    for p in 0..sc.total_partitions() {
        let Some((Some(leader), epoch, _)) = obs.controller.get(&p).cloned() else {
            return false;
        };
        let Some(lv) = obs.views.get(&(leader, p)) else {
            return false;
        };
        if !lv.alive
            || lv.role
                != (Role::Leader {
                    leader_epoch: epoch,
                })
            || lv.hw != lv.leo
        {
            return false;
        }
        for r in assignment(p, sc.brokers, sc.replication_factor) {
            match obs.views.get(&(r, p)) {
                Some(v) if v.alive && v.leo == lv.leo && v.hw == lv.hw => {}
                _ => return false,
            }
        }
    }
    true
}
