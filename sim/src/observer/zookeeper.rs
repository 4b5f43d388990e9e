//! After a ZooKeeper server's step: the ensemble's invariants (`ZkObserver`), the ensemble as
//! the run's metadata quorum (its leader, its availability), and the controller's view of
//! each partition read from the state znodes as they commit: an election is a state with a
//! newer leader epoch, unclean when its leader was not in the ISR the previous state named,
//! judged here from the znodes, not from what the controller says it did.

use ksim_model::kafka_zk::{controller_of, LeaderIsr, CONTROLLER, CONTROLLER_EPOCH};
use ksim_model::zookeeper::{SessionId, Txn, ZkOp, ZkReady, ZkServer, Zxid};

use super::*;

impl Observer {
    pub fn after_zk_step(
        &mut self,
        now: u64,
        server: &ZkServer,
        input: &'static str,
        ready: &ZkReady,
    ) {
        self.now_ms = now;
        let q = server.quorum();
        let sends = (ready.peers.len(), ready.clients.len());
        self.trace((
            now,
            "zookeeper",
            server.id(),
            input,
            sends,
            q.term(),
            q.commit_index(),
        ));
        if ready.became_leader.is_some() {
            self.quorum_elections += 1;
        }
        self.quorum.insert(
            server.id(),
            ControllerState {
                role: q.role(),
                term: q.term(),
                commit_index: q.commit_index(),
                last_index: q.last_index(),
                majority: q.config().majority(),
            },
        );
        self.track_controller_availability(now);
        let mut found = self.zk.observe(&[server]);
        if !ready.applied.is_empty() {
            found.extend(self.zk.applied(server, &ready.applied));
        }
        for v in found {
            self.violate("zookeeper", now, format!("ZooKeeper ensemble: {v}"));
        }
        self.newly_committed(now, server);
    }

    /// The transactions committed for the first time (this server is the first to apply
    /// them): the state znodes and `/controller` they wrote, as this server's tree holds them.
    fn newly_committed(&mut self, now: u64, server: &ZkServer) {
        let history = self.zk.history();
        if history.len() <= self.zk_seen {
            return;
        }
        let fresh: Vec<(Zxid, String)> = history[self.zk_seen..]
            .iter()
            .filter_map(|(zxid, txn)| Some((*zxid, written_path(txn)?)))
            .collect();
        self.zk_seen = history.len();
        let tree = server.tree();
        self.zk_controller = tree.get(CONTROLLER).and_then(|n| controller_of(&n.data));
        for (zxid, path) in fresh {
            if path == CONTROLLER_EPOCH {
                // A controller bumped the epoch: it acts from now on.
                self.controller_activations.push(now);
            }
            let Some(p) = partition_of_state(&path) else {
                continue;
            };
            // A conditional write that lost its race changed nothing; a later write of the same
            // step is read at its own zxid.
            let Some(node) = tree.get(&path).filter(|n| n.stat.mzxid == zxid) else {
                continue;
            };
            if let Some(state) = LeaderIsr::from_bytes(&node.data) {
                self.state_znode(now, p, &state);
            }
        }
    }

    /// A partition's state znode changed: an election (a newer leader epoch) or an ISR change.
    fn state_znode(&mut self, now: u64, p: PartitionId, state: &LeaderIsr) {
        match self.controller.get(&p).cloned() {
            Some((leader, epoch, isr)) if state.leader_epoch == epoch && state.leader() == leader => {
                if state.isr != isr {
                    self.isr_changed(now, p, &state.isr);
                }
            }
            // An unconditional write of an older state (the ISR update without its version
            // check): the znode went back; what follows is judged by the other checkers.
            Some((_, epoch, _)) if state.leader_epoch <= epoch => self.step_note(
                now,
                format!(
                    "ZooKeeper: partition {p}'s state znode overwritten with leader epoch {} (it was at {epoch})",
                    state.leader_epoch
                ),
            ),
            before => {
                let unclean = match (&before, state.leader()) {
                    (Some((_, _, isr)), Some(l)) => !isr.contains(&l),
                    _ => false,
                };
                let (leader, epoch) = (state.leader(), state.leader_epoch);
                self.elected(now, p, leader, epoch, unclean, &state.isr);
            }
        }
    }

    /// A ZooKeeper client of `session` was answered at these zxids: never back in time.
    pub fn zk_client_saw(&mut self, session: Option<SessionId>, zxids: &[Zxid]) {
        let Some(session) = session else { return };
        for zxid in zxids {
            if let Some(v) = self.zk.client_saw(session, *zxid) {
                let now = self.now_ms;
                self.violate("zookeeper", now, format!("ZooKeeper client: {v}"));
            }
        }
    }
}

/// The znode a committed write names, if it creates or sets one.
fn written_path(txn: &Txn) -> Option<String> {
    match txn {
        Txn::Op {
            op: ZkOp::Create { path, .. } | ZkOp::SetData { path, .. },
            ..
        } => Some(path.clone()),
        _ => None,
    }
}

/// The partition of `/brokers/topics/<t>/partitions/<p>/state`.
fn partition_of_state(path: &str) -> Option<PartitionId> {
    let rest = path.strip_prefix("/brokers/topics/")?;
    let (_, rest) = rest.split_once("/partitions/")?;
    rest.strip_suffix("/state")?.parse().ok()
}
