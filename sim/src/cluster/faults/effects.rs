//! What each network, clock and metadata fault does to the cluster: the links it cuts or
//! degrades and the node-local state it sets, with the words the trace gives it; `impose`
//! applies them and `heal` undoes them.

use super::*;

/// What an isolation fault clogs: `v`'s links to everyone, to the controllers, to the other
/// replicas of its partitions, or only its outbound ones; and how the fault reads.
pub(super) fn isolation(
    sc: &crate::scenario::Scenario,
    cluster: &Cluster,
    action: FaultAction,
    v: NodeId,
) -> (Vec<Undo>, String) {
    let both = |peers: &[NodeId]| -> Vec<(NodeId, NodeId)> {
        peers.iter().flat_map(|p| [(v, *p), (*p, v)]).collect()
    };
    match (action, v) {
        (FaultAction::Isolate, _) => (
            both(&cluster.others(v))
                .into_iter()
                .map(|(a, b)| Undo::Clog(a, b))
                .collect(),
            format!("isolate {} from every other node", describe(v)),
        ),
        (FaultAction::IsolateOutbound, _) => (
            cluster
                .others(v)
                .into_iter()
                .map(|p| Undo::Clog(v, p))
                .collect(),
            format!(
                "cut every link out of {} (one way: it still hears everyone, nobody hears it)",
                describe(v)
            ),
        ),
        (FaultAction::IsolateFromController, _) => {
            let controllers: Vec<NodeId> = cluster.other_controllers(v);
            (
                both(&controllers)
                    .into_iter()
                    .map(|(a, b)| Undo::Clog(a, b))
                    .collect(),
                format!("isolate {} from the controller quorum", describe(v)),
            )
        }
        (FaultAction::IsolateFromReplicas, NodeId::Broker(b)) => {
            // The other replicas of every partition this broker hosts.
            let mut peers = BTreeSet::new();
            for p in 0..sc.total_partitions() {
                let replicas = assignment(p, sc.brokers, sc.replication_factor);
                if replicas.contains(&b) {
                    peers.extend(replicas.into_iter().filter(|r| *r != b));
                }
            }
            let names: Vec<String> = peers.iter().map(|r| r.to_string()).collect();
            let peers: Vec<NodeId> = peers.into_iter().map(NodeId::Broker).collect();
            (
                both(&peers).into_iter().map(|(a, b)| Undo::Clog(a, b)).collect(),
                format!("isolate broker {b} from the other replicas ({}); it still reaches the controllers and clients", names.join(", ")),
            )
        }
        (FaultAction::IsolateFromReplicas, other) => (
            Vec::new(),
            format!(
                "isolate-from-replicas does not apply to {}",
                describe(other)
            ),
        ),
        (action, _) => unreachable!("{} is not an isolation", action.name()),
    }
}

/// A split into a minority and a majority from `v` on the ring, or a bridge: two sides that
/// only `v` reaches.
pub(super) fn split(cluster: &Cluster, action: FaultAction, v: NodeId) -> (Vec<Undo>, String) {
    match (action, v) {
        (FaultAction::Split, _) => {
            let ring = cluster.ring_from(v);
            let minority = (ring.len().saturating_sub(1) / 2).max(1);
            let (a, b) = ring.split_at(minority);
            (
                cut_between(a, b),
                format!(
                    "split the cluster: {} | {}",
                    describe_all(a),
                    describe_all(b)
                ),
            )
        }
        (FaultAction::Bridge, _) => {
            let ring = cluster.ring_from(v);
            let rest = &ring[1.min(ring.len())..];
            let (a, b) = rest.split_at(rest.len().div_ceil(2));
            (
                cut_between(a, b),
                format!(
                    "bridge: {} | {}, and only {} reaches both sides",
                    describe_all(a),
                    describe_all(b),
                    describe(v)
                ),
            )
        }
        (action, _) => unreachable!("{} is not a split", action.name()),
    }
}

/// Slow or lossy links around `v`: latency on every message (or only on its AlterPartition
/// requests), or a share of messages lost.
pub(super) fn degraded_links(
    cluster: &Cluster,
    f: &ScriptedFault,
    v: NodeId,
) -> (Vec<Undo>, String) {
    let both = |peers: &[NodeId]| -> Vec<(NodeId, NodeId)> {
        peers.iter().flat_map(|p| [(v, *p), (*p, v)]).collect()
    };
    match (f.action, v) {
        (FaultAction::Slow | FaultAction::SlowToController, _) => {
            let ms = f.latency_ms.unwrap_or(0);
            let to_controller = f.action == FaultAction::SlowToController;
            let peers: Vec<NodeId> = if to_controller {
                cluster.other_controllers(v)
            } else {
                cluster.others(v)
            };
            let whom = if to_controller {
                "the controller quorum"
            } else {
                "every node"
            };
            (
                both(&peers)
                    .into_iter()
                    .map(|(a, b)| Undo::Latency(a, b, ms, None))
                    .collect(),
                format!(
                    "slow links between {} and {whom}: +{ms} ms per message",
                    describe(v)
                ),
            )
        }
        (FaultAction::SlowAlterPartition, _) => {
            let ms = f.latency_ms.unwrap_or(0);
            let controllers: Vec<NodeId> = cluster.other_controllers(v);
            (
                controllers
                    .into_iter()
                    .map(|c| Undo::Latency(v, c, ms, Some("alter_partition")))
                    .collect(),
                format!(
                    "{}'s AlterPartition requests wait {ms} ms on the way to the controllers (its heartbeats go through)",
                    describe(v)
                ),
            )
        }
        (FaultAction::Lossy, _) => {
            let pct = f.loss_percent.unwrap_or(0);
            (
                both(&cluster.others(v)).into_iter().map(|(a, b)| Undo::Loss(a, b, pct)).collect(),
                format!(
                    "lossy links to and from {}: {pct}% of messages lost, each loss resets its connection",
                    describe(v)
                ),
            )
        }
        (action, _) => unreachable!("{} is not a link fault", action.name()),
    }
}

/// A fault of `v` alone: its clock's rate, its metadata replay stalled, or its ZooKeeper
/// session expired by the ensemble.
pub(super) fn local_fault(ctx: &Ctx, f: &ScriptedFault, v: NodeId) -> (Vec<Undo>, String) {
    match (f.action, v) {
        (FaultAction::ClockDrift, _) => {
            let pct = f.clock_percent.unwrap_or(100);
            lock(&ctx.clocks).set_rate(v, now_ms(), pct);
            (
                vec![Undo::Clock(v)],
                format!("{}'s clock runs at {pct}% of real time", describe(v)),
            )
        }
        (FaultAction::StaleMetadata, NodeId::Broker(b)) => (
            vec![Undo::Metadata(b)],
            format!(
                "broker {b}'s metadata replay stalls: it applies no new leader or ISR until the fault ends, and keeps heartbeating and fetching"
            ),
        ),
        (FaultAction::SessionExpiry, NodeId::Broker(b))
            if ctx.sc.coordinator == Coordinator::ZooKeeper =>
        {
            let path = ksim_model::kafka_zk::broker_path(b);
            let mut queues = lock(&ctx.zk_expiries);
            for z in 1..=ctx.sc.zookeepers {
                queues.entry(z).or_default().push(path.clone());
            }
            (
                Vec::new(),
                format!("ZooKeeper expires broker {b}'s session (as a test harness kills one): its registration goes, and it hears SESSIONEXPIRED when it next reaches the ensemble"),
            )
        }
        (FaultAction::SessionExpiry, other) => (
            Vec::new(),
            format!(
                "session-expiry applies to a broker in ZooKeeper mode, not to {}",
                describe(other)
            ),
        ),
        (FaultAction::StaleMetadata, other) => (
            Vec::new(),
            format!("stale-metadata does not apply to {}", describe(other)),
        ),
        (action, _) => unreachable!("{} is not a network or clock fault", action.name()),
    }
}

/// Every link between side `a` and side `b`, both ways, clogged.
fn cut_between(a: &[NodeId], b: &[NodeId]) -> Vec<Undo> {
    let mut undo = Vec::new();
    for x in a {
        for y in b {
            undo.push(Undo::Clog(*x, *y));
            undo.push(Undo::Clog(*y, *x));
        }
    }
    undo
}
