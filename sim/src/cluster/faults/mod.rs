//! Faults: the fault phase of a run (scripted faults, the random fault stream, and the
//! restarts and heals they schedule), whom each fault hits, and how. madsim kills, restarts,
//! pauses nodes and clogs links; latency and loss on links go through `net::LinkFaults`, clock
//! drift through `clock::Clocks`.

use ksim_model::Named;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ksim_model::{assignment, BrokerId, NodeId, PartitionId};
use madsim::time::sleep;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::cluster::ctx::{lock, now_ms, Ctx, Outcome};
use crate::cluster::net::CONSUMER_BASE;
use crate::scenario::streams::{stream, StreamId};
use crate::scenario::{Coordinator, FaultAction, RandomFaults, ScriptedFault, Target};

mod effects;
use effects::{degraded_links, isolation, local_fault, split};

/// The madsim node ids of the run's nodes, which are down, and the faults in force.
#[derive(Default)]
pub(crate) struct Cluster {
    /// Brokers and controllers: what faults hit.
    pub(crate) nodes: BTreeMap<NodeId, madsim::task::NodeId>,
    pub(crate) down: BTreeMap<NodeId, bool>,
    pub(crate) clients: BTreeMap<NodeId, madsim::task::NodeId>,
    /// Network and clock faults in force, in the order they began (two faults may cut the same
    /// link: healing one leaves it cut by the other).
    imposed: Vec<Imposed>,
    /// Nodes paused (also marked down): they resume instead of restarting.
    paused: BTreeSet<NodeId>,
}

/// One network or clock fault's effect on one link or node, as a heal undoes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Undo {
    /// A clogged link, one direction (madsim clogs one direction).
    Clog(NodeId, NodeId),
    /// Latency added to a link, one direction (to one kind of message only, if named).
    Latency(NodeId, NodeId, u64, Option<&'static str>),
    /// Loss on a link, one direction.
    Loss(NodeId, NodeId, u32),
    /// A drifting clock.
    Clock(NodeId),
    /// A broker's stalled metadata replay.
    Metadata(BrokerId),
}

impl Cluster {
    fn brokers(&self) -> impl Iterator<Item = BrokerId> + '_ {
        self.nodes.keys().filter_map(|n| match n {
            NodeId::Broker(b) => Some(*b),
            _ => None,
        })
    }

    /// The metadata quorum: the KRaft controllers, or in ZooKeeper mode the ensemble's servers
    /// (what `isolate-from-controller`, `slow-to-controller` and the ring's other half are).
    fn controllers(&self) -> Vec<NodeId> {
        self.nodes
            .keys()
            .filter(|n| matches!(n, NodeId::Controller(_) | NodeId::ZooKeeper(_)))
            .copied()
            .collect()
    }

    /// The controllers other than `v`.
    fn other_controllers(&self, v: NodeId) -> Vec<NodeId> {
        self.controllers().into_iter().filter(|c| *c != v).collect()
    }

    /// Every node of the run except `v`, clients included.
    fn others(&self, v: NodeId) -> Vec<NodeId> {
        let nodes = self.nodes.keys().filter(|n| **n != v).copied();
        nodes.chain(self.clients.keys().copied()).collect()
    }

    fn sim_id(&self, v: NodeId) -> madsim::task::NodeId {
        match self.nodes.get(&v) {
            Some(id) => *id,
            None => self.clients[&v],
        }
    }

    /// Brokers and controllers interleaved (broker 1, controller 1, broker 2, ...): the ring
    /// `split` and `bridge` cut, so that each side has brokers and controllers.
    fn ring(&self) -> Vec<NodeId> {
        let brokers: Vec<NodeId> = self.brokers().map(NodeId::Broker).collect();
        let controllers = self.controllers();
        let mut ring = Vec::new();
        for i in 0..brokers.len().max(controllers.len()) {
            ring.extend(brokers.get(i));
            ring.extend(controllers.get(i));
        }
        ring
    }

    /// The ring, starting at `v`.
    fn ring_from(&self, v: NodeId) -> Vec<NodeId> {
        let mut ring = self.ring();
        let at = ring.iter().position(|n| *n == v).unwrap_or(0);
        ring.rotate_left(at);
        ring
    }

    pub(crate) fn down_list(&self, brokers_only: bool) -> Vec<NodeId> {
        self.down
            .iter()
            .filter(|(n, d)| **d && (!brokers_only || matches!(n, NodeId::Broker(_))))
            .map(|(n, _)| *n)
            .collect()
    }
}

pub(crate) fn describe(v: NodeId) -> String {
    match v {
        NodeId::Broker(b) => format!("broker {b}"),
        NodeId::Controller(c) => format!("controller {c}"),
        NodeId::ZooKeeper(z) => format!("zookeeper {z}"),
        NodeId::Client(c) if c > CONSUMER_BASE => format!("consumer {}", c - CONSUMER_BASE),
        NodeId::Client(c) => format!("producer {c}"),
    }
}

fn describe_all(vs: &[NodeId]) -> String {
    let names: Vec<String> = vs.iter().map(|v| describe(*v)).collect();
    names.join(", ")
}

/// Scripted faults at their times, random faults drawn from the fault stream, and the
/// restarts they schedule, until the workload ends.
pub(crate) async fn fault_phase(
    ctx: &Arc<Ctx>,
    handle: &madsim::runtime::Handle,
    cluster: &mut Cluster,
    outcome: &mut Outcome,
) {
    let sc = ctx.sc.clone();
    let mut rng = stream(ctx.seed, StreamId::Faults);
    let mut script: Vec<ScriptedFault> = sc.faults.script.clone();
    script.sort_by_key(|f| f.at_ms);
    let mut script = script.into_iter().peekable();
    let mut pending = Pending::default();
    let random = sc
        .faults
        .random
        .as_ref()
        .map(|r| r.for_seed(ctx.seed, sc.brokers, sc.coordinator));
    let mut next_random = random
        .as_ref()
        .map(|r| rng.gen_range(r.interval_ms.0..=r.interval_ms.1));
    loop {
        let next_script = script.peek().map(|f| f.at_ms);
        let next_restart = pending.restarts.iter().map(|(t, _)| *t).min();
        let next_heal = pending.heals.iter().map(|(t, _)| *t).min();
        let next = [next_script, next_restart, next_heal, next_random]
            .into_iter()
            .flatten()
            .min();
        let Some(at) = next.filter(|t| *t < sc.workload.duration_ms) else {
            sleep_until_ms(sc.workload.duration_ms).await;
            return;
        };
        sleep_until_ms(at).await;
        let mut now = Now {
            ctx,
            handle,
            cluster,
            outcome,
            at,
        };
        if next_heal == Some(at) {
            pending.heal_due(&mut now);
        } else if next_restart == Some(at) {
            pending.restart_due(&mut now);
        } else if next_script == Some(at) {
            pending.scripted(&mut now, script.next().expect("peeked"));
        } else if let Some(random) = &random {
            next_random = Some(at + rng.gen_range(random.interval_ms.0..=random.interval_ms.1));
            pending.random(&mut now, random, &mut rng);
        }
    }
}

/// Where the fault phase is: the run, and the moment a fault is due.
struct Now<'a> {
    ctx: &'a Arc<Ctx>,
    handle: &'a madsim::runtime::Handle,
    cluster: &'a mut Cluster,
    outcome: &'a mut Outcome,
    at: u64,
}

/// What the faults injected so far still owe: each timed restart (when, whom), and each timed
/// heal (when, the fault it ends by its observer span).
#[derive(Default)]
struct Pending {
    restarts: Vec<(u64, NodeId)>,
    heals: Vec<(u64, usize)>,
}

impl Pending {
    fn heal_due(&mut self, now: &mut Now) {
        let at = now.at;
        for (_, span) in self.heals.iter().filter(|(t, _)| *t == at) {
            heal(now.ctx, now.cluster, Some(*span));
        }
        self.heals.retain(|(t, _)| *t != at);
    }

    fn restart_due(&mut self, now: &mut Now) {
        let at = now.at;
        let due: Vec<NodeId> = self
            .restarts
            .iter()
            .filter(|(t, _)| *t == at)
            .map(|(_, v)| *v)
            .collect();
        self.restarts.retain(|(t, _)| *t != at);
        for v in due {
            restart(now.ctx, now.handle, now.cluster, v);
        }
    }

    /// A scripted fault, on every node its target resolves to now.
    fn scripted(&mut self, now: &mut Now, f: ScriptedFault) {
        let (ctx, at) = (now.ctx, now.at);
        if f.action == FaultAction::Heal {
            heal(ctx, now.cluster, None);
            now.outcome.injected.push(f.clone());
            return;
        }
        let targets = resolve(ctx, now.cluster, &f.action, &f.target);
        if targets.is_empty() {
            now.outcome.skipped_faults.push(format!(
                "{} {} at {} ms: no such node up",
                f.action.name(),
                f.target,
                f.at_ms
            ));
        }
        for v in targets {
            now.outcome.injected.push(ScriptedFault {
                at_ms: at,
                target: concrete(v),
                ..f.clone()
            });
            if f.action.is_healed() {
                let span = impose(ctx, now.cluster, &f, v);
                if let Some(after) = f.heal_after_ms {
                    self.heals.push((at + after, span));
                }
                continue;
            }
            strike(ctx, now.handle, now.cluster, f.action, v);
            if let Some(after) = f.restart_after_ms {
                self.restarts.push((at + after, v));
            }
        }
    }

    /// The random stream's next fault, if it has a target now.
    fn random(&mut self, now: &mut Now, random: &RandomFaults, rng: &mut ChaCha8Rng) {
        let (ctx, at) = (now.ctx, now.at);
        let draw = RandomDraw::draw(random, rng);
        // A swarm run faults a cluster that has served: until a first write is acknowledged
        // its faults are drawn and dropped, so that a mix of fast, many-sided faults cannot
        // keep the cluster from ever forming (a vacuous run that proves nothing).
        if random.swarm && random.wait_for_first_ack && ctx.observe().first_ok_ms.is_none() {
            return;
        }
        let Some(v) = random_target(ctx, now.cluster, random, draw.action, draw.aimed, draw.pick)
        else {
            return;
        };
        let (action, down_for) = (draw.action, draw.down_for);
        let fault = ScriptedFault::lasting(at, action, concrete(v), down_for, draw.parameter);
        if action.stops_a_node() {
            strike(ctx, now.handle, now.cluster, action, v);
            self.restarts.push((at + down_for, v));
        } else {
            let span = impose(ctx, now.cluster, &fault, v);
            self.heals.push((at + down_for, span));
        }
        now.outcome.injected.push(fault);
    }
}

/// One random fault as drawn: its kind, how long it lasts, whether it is aimed at a role,
/// which node, and its own parameter.
struct RandomDraw {
    action: FaultAction,
    down_for: u64,
    aimed: bool,
    pick: u64,
    parameter: u64,
}

impl RandomDraw {
    /// A fixed number of draws per fault, whatever happens, keeps later faults of the stream
    /// where they were when an earlier one is skipped.
    fn draw(random: &RandomFaults, rng: &mut ChaCha8Rng) -> RandomDraw {
        let action = random.kinds[rng.gen_range(0..random.kinds.len())];
        let down_for = rng.gen_range(random.down_ms.0..=random.down_ms.1);
        let aimed = rng.gen_range(0..100) < random.aim_percent;
        let pick: u64 = rng.gen();
        // The fault's own parameter, drawn for the kinds that have one (loss and clock rate
        // as u32: the stream's values depend on the type drawn).
        let parameter: u64 = match action {
            FaultAction::Slow | FaultAction::SlowToController => rng.gen_range(100..=8_000),
            // Up to the 30 s request timeout: past it the request fails and is resent.
            FaultAction::SlowAlterPartition => rng.gen_range(1_000..=25_000),
            FaultAction::Lossy => u64::from(rng.gen_range(5u32..=50)),
            FaultAction::ClockDrift if rng.gen_bool(0.5) => u64::from(rng.gen_range(25u32..=90)),
            FaultAction::ClockDrift => u64::from(rng.gen_range(110u32..=400)),
            _ => 0,
        };
        RandomDraw {
            action,
            down_for,
            aimed,
            pick,
            parameter,
        }
    }
}

/// A node as a script target.
fn concrete(v: NodeId) -> Target {
    match v {
        NodeId::Broker(b) => Target::Broker(b),
        NodeId::Controller(c) => Target::Controller(c),
        NodeId::ZooKeeper(z) => Target::ZooKeeper(z),
        NodeId::Client(c) if c > CONSUMER_BASE => Target::Consumer(c - CONSUMER_BASE),
        NodeId::Client(_) => unreachable!("faults do not target producers"),
    }
}

/// The node a random fault hits: a role (partition 0's leader or an ISR follower, or the
/// active controller) when `aimed`, else a live node drawn with `pick`; brokers only for
/// `isolate-from-replicas`, controllers only when the faults may hit them. Process faults
/// respect `max_down` (per kind of node); `None` skips this fault.
fn random_target(
    ctx: &Ctx,
    cluster: &Cluster,
    random: &RandomFaults,
    action: FaultAction,
    aimed: bool,
    pick: u64,
) -> Option<NodeId> {
    let up = |v: &NodeId| cluster.down.get(v) == Some(&false);
    let zookeeper = ctx.sc.coordinator == Coordinator::ZooKeeper;
    // Faults of brokers alone; a ZooKeeper server sends no AlterPartition either.
    let brokers_only = matches!(
        action,
        FaultAction::IsolateFromReplicas | FaultAction::StaleMetadata | FaultAction::SessionExpiry
    ) || (zookeeper && action == FaultAction::SlowAlterPartition);
    let controllers_ok = random.controllers && !brokers_only;
    let candidates: Vec<NodeId> = if aimed {
        let mut roles: Vec<NodeId> = resolve(ctx, cluster, &action, &Target::LeaderOf(0));
        roles.extend(resolve(ctx, cluster, &action, &Target::FollowerOf(0)));
        if controllers_ok {
            roles.extend(resolve(ctx, cluster, &action, &Target::ControllerLeader));
            roles.extend(resolve(ctx, cluster, &action, &Target::ZooKeeperLeader));
        } else if zookeeper && action == FaultAction::SessionExpiry {
            // ZooKeeper mode's controller is a broker: its session's expiry makes a zombie
            // controller, what controller-epoch fencing is for.
            roles.extend(resolve(ctx, cluster, &action, &Target::ControllerLeader));
        }
        roles
    } else {
        cluster
            .nodes
            .keys()
            .copied()
            .filter(|v| matches!(v, NodeId::Broker(_)) || controllers_ok)
            .filter(up)
            .collect()
    };
    let candidates: Vec<NodeId> = candidates.into_iter().filter(up).collect();
    if candidates.is_empty() {
        return None;
    }
    let v = candidates[(pick % candidates.len() as u64) as usize];
    if action.stops_a_node() {
        let same_kind = cluster
            .down_list(false)
            .into_iter()
            .filter(|d| matches!(d, NodeId::Broker(_)) == matches!(v, NodeId::Broker(_)))
            .count();
        if same_kind >= random.max_down {
            return None;
        }
    }
    Some(v)
}

async fn sleep_until_ms(ms: u64) {
    let now = now_ms();
    if ms > now {
        sleep(Duration::from_millis(ms - now)).await;
    }
}

/// Which nodes a fault hits, decided when it fires: live ones, or down ones for a restart.
fn resolve(ctx: &Ctx, cluster: &Cluster, action: &FaultAction, target: &Target) -> Vec<NodeId> {
    let sc = &ctx.sc;
    let replicas = |p: PartitionId| assignment(p, sc.brokers, sc.replication_factor);
    let brokers =
        |bs: Vec<BrokerId>| -> Vec<NodeId> { bs.into_iter().map(NodeId::Broker).collect() };
    let candidates: Vec<NodeId> = match target {
        Target::Broker(b) => vec![NodeId::Broker(*b)],
        Target::All => brokers(cluster.brokers().collect()),
        Target::ReplicasOf(p) => brokers(replicas(*p)),
        Target::LeaderOf(p) => brokers(ctx.observe().leader_of(*p).into_iter().collect()),
        Target::FollowerOf(p) => {
            let obs = ctx.observe();
            let leader = obs.leader_of(*p);
            let isr = obs
                .controller
                .get(p)
                .map(|c| c.2.clone())
                .unwrap_or_default();
            brokers(
                replicas(*p)
                    .into_iter()
                    .filter(|b| Some(*b) != leader && isr.contains(b))
                    .take(1)
                    .collect(),
            )
        }
        Target::Controller(c) => vec![NodeId::Controller(*c)],
        Target::Consumer(n) => vec![NodeId::Client(CONSUMER_BASE + n)],
        Target::ControllerLeader => active_controller(ctx).into_iter().collect(),
        Target::ZooKeeper(z) => vec![NodeId::ZooKeeper(*z)],
        Target::ZooKeeperLeader if sc.coordinator == Coordinator::ZooKeeper => ctx
            .observe()
            .quorum_leader()
            .map(NodeId::ZooKeeper)
            .into_iter()
            .collect(),
        Target::ZooKeeperLeader => Vec::new(),
    };
    let want_down = *action == FaultAction::Restart;
    candidates
        .into_iter()
        .filter(|v| cluster.down.get(v).copied() == Some(want_down))
        .collect()
}

/// The active controller: the quorum leader, or in ZooKeeper mode the broker `/controller`
/// names.
fn active_controller(ctx: &Ctx) -> Option<NodeId> {
    let obs = ctx.observe();
    match ctx.sc.coordinator {
        Coordinator::Kraft => obs.quorum_leader().map(NodeId::Controller),
        Coordinator::ZooKeeper => obs.zk_controller.map(NodeId::Broker),
    }
}

/// A network or clock fault in force: what a heal undoes.
struct Imposed {
    /// How the trace names its end.
    what: String,
    undo: Vec<Undo>,
    /// The observer's fault span.
    span: usize,
}

/// Impose a network or clock fault on `v`; returns its observer span, which names it to `heal`.
fn impose(ctx: &Ctx, cluster: &mut Cluster, f: &ScriptedFault, v: NodeId) -> usize {
    let (undo, what) = match f.action {
        FaultAction::Isolate
        | FaultAction::IsolateOutbound
        | FaultAction::IsolateFromController
        | FaultAction::IsolateFromReplicas => isolation(&ctx.sc, cluster, f.action, v),
        FaultAction::Split | FaultAction::Bridge => split(cluster, f.action, v),
        FaultAction::Slow
        | FaultAction::SlowToController
        | FaultAction::SlowAlterPartition
        | FaultAction::Lossy => degraded_links(cluster, f, v),
        _ => local_fault(ctx, f, v),
    };
    for u in &undo {
        apply(ctx, cluster, *u);
    }
    let mut obs = ctx.observe();
    match f.action {
        FaultAction::Slow
        | FaultAction::SlowToController
        | FaultAction::SlowAlterPartition
        | FaultAction::Lossy => obs.injected.link_faults += 1,
        FaultAction::ClockDrift => obs.injected.clock_drifts += 1,
        FaultAction::StaleMetadata => obs.injected.metadata_stalls += 1,
        FaultAction::SessionExpiry => obs.injected.session_expiries += 1,
        _ => obs.injected.partitions += 1,
    }
    let now = now_ms();
    obs.fault(now, what);
    let span = obs.fault_began(now, v, f.action);
    cluster.imposed.push(Imposed {
        what: format!("end of {} on {}", f.action.name(), describe(v)),
        undo,
        span,
    });
    span
}

/// Put one effect in force (the clock is set by `impose` itself: it needs the rate).
fn apply(ctx: &Ctx, cluster: &Cluster, u: Undo) {
    match u {
        Undo::Clog(a, b) => {
            madsim::net::NetSim::current().clog_link(cluster.sim_id(a), cluster.sim_id(b))
        }
        Undo::Latency(a, b, ms, only) => lock(&ctx.links).add_latency((a, b), ms, only),
        Undo::Loss(a, b, pct) => lock(&ctx.links).add_loss((a, b), pct),
        Undo::Clock(_) => {}
        Undo::Metadata(b) => {
            lock(&ctx.stalled_metadata).insert(b);
        }
    }
}

/// Undo network and clock faults: the one with observer span `which` (if still in force), or
/// every one in force.
pub(crate) fn heal(ctx: &Ctx, cluster: &mut Cluster, which: Option<usize>) {
    let now = now_ms();
    let ending: Vec<Imposed> = match which {
        Some(span) => match cluster.imposed.iter().position(|f| f.span == span) {
            Some(i) => vec![cluster.imposed.remove(i)],
            None => return,
        },
        None => std::mem::take(&mut cluster.imposed),
    };
    let mut healed = false;
    for (i, f) in ending.iter().enumerate() {
        ctx.observe().fault_ended(now, f.span);
        // A link cut or a clock drifted by another fault still in force stays so.
        let still = |u: &Undo| {
            cluster
                .imposed
                .iter()
                .chain(&ending[i + 1..])
                .any(|g| g.undo.contains(u))
        };
        for u in &f.undo {
            healed = true;
            match *u {
                Undo::Clog(a, b) if !still(u) => {
                    madsim::net::NetSim::current().unclog_link(cluster.sim_id(a), cluster.sim_id(b))
                }
                Undo::Clog(..) => {}
                Undo::Latency(a, b, ms, only) => lock(&ctx.links).remove_latency((a, b), ms, only),
                Undo::Loss(a, b, pct) => lock(&ctx.links).remove_loss((a, b), pct),
                Undo::Clock(v) if !still(u) => lock(&ctx.clocks).set_rate(v, now, 100),
                Undo::Clock(_) => {}
                Undo::Metadata(b) if !still(u) => {
                    lock(&ctx.stalled_metadata).remove(&b);
                }
                Undo::Metadata(_) => {}
            }
        }
    }
    if healed {
        let what = match which {
            Some(_) => ending[0].what.clone(),
            None => "heal every network and clock fault".to_string(),
        };
        ctx.observe().fault(now, what);
    }
}

fn strike(
    ctx: &Ctx,
    handle: &madsim::runtime::Handle,
    cluster: &mut Cluster,
    action: FaultAction,
    v: NodeId,
) {
    let now = now_ms();
    if action == FaultAction::Restart {
        restart(ctx, handle, cluster, v);
        return;
    }
    assert!(
        action.stops_a_node(),
        "network and clock faults go through impose() and heal()"
    );
    ctx.observe().fault_began(now, v, action);
    if action == FaultAction::Pause {
        handle.pause(cluster.sim_id(v));
        cluster.down.insert(v, true);
        cluster.paused.insert(v);
        let mut obs = ctx.observe();
        obs.injected.pauses += 1;
        obs.fault(
            now,
            format!(
                "pause {} (its process stops; timers and messages wait)",
                describe(v)
            ),
        );
        return;
    }
    handle.kill(cluster.sim_id(v));
    cluster.down.insert(v, true);
    record_stop(ctx, now, v, action == FaultAction::PowerLoss);
}

/// What a crash or power loss of `v` did, told to the observer: a broker's power loss drops
/// its disks' unflushed records (unless the planted flaw keeps them); a controller's metadata
/// log is fsynced.
fn record_stop(ctx: &Ctx, now: u64, v: NodeId, power: bool) {
    match v {
        NodeId::Broker(b) if power => {
            let lying = ctx
                .sc
                .selftest
                .planted(ksim_model::Flaw::DiskKeepsUnflushed);
            let lost = lock(&ctx.disks).power_loss(b, lying);
            let n: usize = lost.iter().map(|l| l.records.len()).sum();
            let mut obs = ctx.observe();
            obs.power_lost(now, b);
            obs.fault(
                now,
                format!("power loss on broker {b} ({n} unflushed records dropped)"),
            );
        }
        NodeId::Broker(b) => {
            let mut obs = ctx.observe();
            obs.crashed(now, b);
            obs.fault(
                now,
                format!("crash broker {b} (process killed; page cache kept)"),
            );
        }
        NodeId::Controller(c) => {
            let mut obs = ctx.observe();
            obs.controller_down(c);
            if power {
                obs.injected.power_losses += 1;
            } else {
                obs.injected.crashes += 1;
            }
            let how = if power { "power loss on" } else { "crash" };
            obs.fault(
                now,
                format!("{how} controller {c} (its metadata log is fsynced: nothing lost)"),
            );
        }
        NodeId::ZooKeeper(z) => zookeeper_stop(ctx, now, z, power),
        NodeId::Client(_) => {
            let mut obs = ctx.observe();
            obs.injected.crashes += 1;
            obs.fault(
                now,
                format!(
                    "crash {} (it rejoins the group as a new member when it restarts)",
                    describe(v)
                ),
            );
        }
    }
}

/// A ZooKeeper server stopped: it leaves the ensemble's live set; a power loss drops what its
/// transaction log had not fsynced (nothing, with `forceSync`).
fn zookeeper_stop(ctx: &Ctx, now: u64, z: u32, power: bool) {
    let lost = if power {
        lock(&ctx.disks).zookeeper_power_loss(z)
    } else {
        0
    };
    let mut obs = ctx.observe();
    obs.controller_down(z);
    let what = if power {
        obs.injected.power_losses += 1;
        format!("power loss on zookeeper {z} ({lost} transaction log entries not fsynced dropped)")
    } else {
        obs.injected.crashes += 1;
        format!("crash zookeeper {z} (process killed; page cache kept)")
    };
    obs.fault(now, what);
}

pub(crate) fn restart(
    ctx: &Ctx,
    handle: &madsim::runtime::Handle,
    cluster: &mut Cluster,
    v: NodeId,
) {
    if cluster.down.get(&v) != Some(&true) {
        return;
    }
    cluster.down.insert(v, false);
    ctx.observe().node_back(now_ms(), v);
    if cluster.paused.remove(&v) {
        handle.resume(cluster.sim_id(v));
        ctx.observe()
            .fault(now_ms(), format!("resume {}", describe(v)));
        return;
    }
    handle.restart(cluster.sim_id(v));
    let mut obs = ctx.observe();
    obs.injected.restarts += 1;
    obs.fault(now_ms(), format!("restart {}", describe(v)));
}
