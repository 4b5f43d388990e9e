//! The quorum stories' harness: `Net`, a tiny deterministic network of `QuorumNode`s (see
//! `quorum.rs`).

// The stories use their own parts of the harness.
#![allow(dead_code)]

pub mod story;

use std::collections::{BTreeMap, BTreeSet};

use ksim_model::quorum::*;
use ksim_model::SelfTest;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const TICK_MS: u64 = 10;

/// The replicated state machine's commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// What a new leader proposes so that earlier terms' entries commit.
    NoOp,
    Put(u64),
}

// ------------------------------------------------------------------------------ harness

pub struct Net {
    pub cfg: QuorumConfig,
    pub selftest: SelfTest,
    pub now_ms: u64,
    pub next_tick_ms: u64,
    pub net_rng: ChaCha8Rng,
    pub node_rng: ChaCha8Rng,
    /// None while crashed.
    pub nodes: BTreeMap<NodeIndex, Option<QuorumNode<Cmd>>>,
    /// What each node fsynced; outlives crashes.
    pub disks: BTreeMap<NodeIndex, Persistent<Cmd>>,
    /// In flight: (deliver at, sequence) -> (from, to, message).
    pub queue: BTreeMap<(u64, u64), (NodeIndex, NodeIndex, RaftMessage<Cmd>)>,
    pub seq: u64,
    pub drop_rate: f64,
    pub delay_ms: (u64, u64),
    /// Links that lose everything, both directions listed.
    pub cut: BTreeSet<(NodeIndex, NodeIndex)>,
    /// What each node's current incarnation applied, in order.
    pub applied: BTreeMap<NodeIndex, Vec<Entry<Cmd>>>,
    /// Chance that a node crashes and restarts right after a step that granted a vote: the
    /// moment that tests whether the vote was really persisted.
    pub restart_after_vote: f64,
    pub observer: QuorumObserver<Cmd>,
    pub violations: Vec<String>,
    pub next_put: u64,
}

impl Net {
    pub fn new(seed: u64, cfg: QuorumConfig) -> Net {
        Net::planted(seed, cfg, SelfTest::default())
    }

    /// A net whose nodes carry `selftest`'s planted quorum flaw.
    pub fn planted(seed: u64, cfg: QuorumConfig, selftest: SelfTest) -> Net {
        let mut net = Net {
            cfg: cfg.clone(),
            selftest,
            now_ms: 0,
            next_tick_ms: TICK_MS,
            net_rng: ChaCha8Rng::seed_from_u64(seed),
            node_rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_0000_0000_0001),
            nodes: BTreeMap::new(),
            disks: BTreeMap::new(),
            queue: BTreeMap::new(),
            seq: 0,
            drop_rate: 0.0,
            delay_ms: (1, 20),
            cut: BTreeSet::new(),
            applied: BTreeMap::new(),
            restart_after_vote: 0.0,
            observer: QuorumObserver::new(),
            violations: Vec::new(),
            next_put: 1,
        };
        for id in cfg.voters.clone() {
            net.disks.insert(id, Persistent::default());
            net.nodes.insert(id, None);
            net.restart(id);
        }
        net
    }

    pub fn three(seed: u64) -> Net {
        Net::new(seed, QuorumConfig::new(vec![1, 2, 3]))
    }

    pub fn node(&self, id: NodeIndex) -> &QuorumNode<Cmd> {
        self.nodes[&id].as_ref().expect("node is up")
    }

    pub fn live(&self) -> Vec<NodeIndex> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.is_some())
            .map(|(id, _)| *id)
            .collect()
    }

    /// The live leader of the highest term, if any.
    pub fn leader(&self) -> Option<NodeIndex> {
        self.nodes
            .values()
            .flatten()
            .filter(|n| n.role() == Role::Leader)
            .max_by_key(|n| n.term())
            .map(|n| n.id())
    }

    pub fn leaders(&self) -> Vec<NodeIndex> {
        self.nodes
            .values()
            .flatten()
            .filter(|n| n.role() == Role::Leader)
            .map(|n| n.id())
            .collect()
    }

    pub fn crash(&mut self, id: NodeIndex) {
        self.nodes.insert(id, None);
        self.applied.insert(id, Vec::new());
    }

    pub fn restart(&mut self, id: NodeIndex) {
        assert!(self.nodes[&id].is_none(), "restart only a crashed node");
        let persisted = self.disks[&id].clone();
        let node = QuorumNode::new(
            id,
            self.cfg.clone(),
            persisted,
            self.now_ms,
            &mut self.node_rng,
        )
        .with_selftest(self.selftest);
        self.nodes.insert(id, Some(node));
        self.applied.insert(id, Vec::new());
        self.observe();
    }

    pub fn isolate(&mut self, side: &[NodeIndex]) {
        for a in side {
            for b in self.cfg.voters.clone() {
                if !side.contains(&b) {
                    self.cut.insert((*a, b));
                    self.cut.insert((b, *a));
                }
            }
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
        self.drop_rate = 0.0;
    }

    /// Step `id` (which must be up) and carry out its `Ready`.
    pub fn step(&mut self, id: NodeIndex, input: QuorumInput<Cmd>) -> QuorumReady<Cmd> {
        let node = self
            .nodes
            .get_mut(&id)
            .and_then(|n| n.as_mut())
            .expect("stepping a live node");
        let ready = node.step(self.now_ms, input, &mut self.node_rng);
        self.persist(id, &ready);
        self.apply(id, &ready);
        self.send(id, &ready);
        self.observe();
        if ready.became_leader.is_some() {
            // The integrator's duty: a no-op of the new term, so earlier entries commit.
            let noop = self.step(id, QuorumInput::Propose(Cmd::NoOp));
            assert!(
                matches!(noop.proposed, Some(Ok(_))),
                "a fresh leader accepts a proposal"
            );
        }
        let voted = ready
            .sends
            .iter()
            .any(|(_, m)| matches!(m, RaftMessage::Vote { granted: true, .. }));
        if voted && self.restart_after_vote > 0.0 && self.net_rng.gen_bool(self.restart_after_vote)
        {
            self.crash(id);
            self.restart(id);
        }
        ready
    }

    pub fn persist(&mut self, id: NodeIndex, ready: &QuorumReady<Cmd>) {
        let disk = self.disks.get_mut(&id).expect("every voter has a disk");
        for op in &ready.persist {
            disk.apply(op);
        }
        let node = self.nodes[&id].as_ref().expect("live");
        assert_eq!(
            node.log(),
            disk.log.as_slice(),
            "node {id}'s log equals its disk after the step"
        );
        assert_eq!(node.term(), disk.term, "node {id}'s term equals its disk");
        if !self
            .selftest
            .planted_in_quorum(QuorumFlaw::ForgetVoteOnRestart)
        {
            assert_eq!(
                node.voted_for(),
                disk.voted_for,
                "node {id}'s vote equals its disk"
            );
        }
    }

    pub fn apply(&mut self, id: NodeIndex, ready: &QuorumReady<Cmd>) {
        let applied = self.applied.get_mut(&id).expect("live");
        for e in &ready.committed {
            assert_eq!(
                e.index,
                applied.len() as u64 + 1,
                "committed entries arrive in order, once"
            );
            applied.push(e.clone());
        }
        assert_eq!(
            applied.len() as u64,
            self.nodes[&id].as_ref().expect("live").commit_index(),
            "applied = commit index"
        );
    }

    pub fn send(&mut self, from: NodeIndex, ready: &QuorumReady<Cmd>) {
        for (to, msg) in &ready.sends {
            if self.cut.contains(&(from, *to)) || self.net_rng.gen_bool(self.drop_rate) {
                continue;
            }
            let at = self.now_ms + self.net_rng.gen_range(self.delay_ms.0..=self.delay_ms.1);
            self.seq += 1;
            self.queue.insert((at, self.seq), (from, *to, msg.clone()));
        }
    }

    pub fn observe(&mut self) {
        let live: Vec<&QuorumNode<Cmd>> = self.nodes.values().flatten().collect();
        let found = self.observer.observe(&live);
        self.violations.extend(found);
    }

    /// Run the network (messages and ticks) until `until_ms`.
    pub fn run_until(&mut self, until_ms: u64) {
        loop {
            let next_msg = self
                .queue
                .first_key_value()
                .map(|(k, _)| k.0)
                .unwrap_or(u64::MAX);
            let t = next_msg.min(self.next_tick_ms);
            if t > until_ms {
                break;
            }
            self.now_ms = t;
            if next_msg <= self.next_tick_ms {
                let (_, (from, to, msg)) = self.queue.pop_first().expect("a message is due");
                // A crashed node's mail is lost; a restarted node may get its predecessor's.
                if self.nodes[&to].is_some() {
                    self.step(to, QuorumInput::Message { from, msg });
                }
            } else {
                for id in self.live() {
                    self.step(id, QuorumInput::Tick);
                }
                self.next_tick_ms += TICK_MS;
            }
        }
        self.now_ms = until_ms;
    }

    pub fn run_for(&mut self, ms: u64) {
        self.run_until(self.now_ms + ms);
    }

    /// Propose a fresh value at the current leader; its value and index if accepted.
    pub fn propose(&mut self) -> Option<(u64, u64)> {
        let leader = self.leader()?;
        let value = self.next_put;
        self.next_put += 1;
        match self
            .step(leader, QuorumInput::Propose(Cmd::Put(value)))
            .proposed
        {
            Some(Ok(index)) => Some((value, index)),
            other => panic!("the leader refused a proposal: {other:?}"),
        }
    }

    pub fn applied_values(&self, id: NodeIndex) -> Vec<u64> {
        self.applied[&id]
            .iter()
            .filter_map(|e| {
                if let Cmd::Put(v) = e.payload {
                    Some(v)
                } else {
                    None
                }
            })
            .collect()
    }

    pub fn has_applied(&self, id: NodeIndex, value: u64) -> bool {
        self.applied[&id]
            .iter()
            .any(|e| e.payload == Cmd::Put(value))
    }

    pub fn assert_clean(&self) {
        assert!(
            self.violations.is_empty(),
            "violations: {:#?}",
            self.violations
        );
        assert!(self.observer.checks() > 0, "the observer checked nothing");
    }

    /// Every live node applied the same sequence, and it is the observer's committed prefix.
    pub fn assert_converged(&self) {
        let committed = self.observer.committed();
        for id in self.live() {
            let applied = &self.applied[&id];
            assert_eq!(
                applied.as_slice(),
                &committed[..applied.len()],
                "node {id} applied the committed prefix"
            );
            assert_eq!(
                applied.len(),
                committed.len(),
                "node {id} applied everything committed"
            );
        }
    }
}
