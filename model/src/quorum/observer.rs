//! `QuorumObserver`: the quorum invariants checked from outside every node (one leader per term,
//! terms and commit indexes never go back, committed entries never change, a majority holds every
//! committed entry), as Kafka's RaftEventSimulationTest checks them.

use super::*;

/// What the observer remembers of one node.
#[derive(Clone, Debug)]
struct NodeView<E> {
    incarnation: u64,
    commit_index: u64,
    /// The node's log as last seen: its persisted log, also while it is down.
    log: Vec<Entry<E>>,
    /// Its committed prefix is verified against the global one up to here.
    checked_upto: u64,
}

/// The god's-eye invariant checker for a quorum, with the invariants of Kafka's
/// `RaftEventSimulationTest`. Call `observe` with every live node after every step of any node
/// (and after every restart): a node it never saw counts as holding nothing, and a crashed node
/// as holding what it held when last seen. Each violation is reported once; messages start with
/// the invariant's name: `SingleLeader`, `MonotonicEpoch`, `MonotonicHighWatermark`,
/// `ConsistentCommittedData`, `MajorityCommitted`.
///
/// Cost: each call compares every live node's log with its last-seen copy (linear in the log);
/// the committed-entry checks are incremental.
#[derive(Clone, Debug)]
pub struct QuorumObserver<E> {
    voters: Vec<NodeIndex>,
    /// SingleLeader: who led each term, ever.
    leaders: BTreeMap<Term, NodeIndex>,
    /// MonotonicEpoch: each node's highest term seen.
    terms: BTreeMap<NodeIndex, Term>,
    views: BTreeMap<NodeIndex, NodeView<E>>,
    /// Entry i-1 is the first entry seen committed at index i, anywhere.
    committed: Vec<Entry<E>>,
    reported: BTreeSet<String>,
    checks: u64,
}

impl<E> Default for QuorumObserver<E> {
    fn default() -> Self {
        QuorumObserver {
            voters: Vec::new(),
            leaders: BTreeMap::new(),
            terms: BTreeMap::new(),
            views: BTreeMap::new(),
            committed: Vec::new(),
            reported: BTreeSet::new(),
            checks: 0,
        }
    }
}

impl<E: Clone + PartialEq + Debug> QuorumObserver<E> {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many individual comparisons were made so far (a run that checked nothing proves nothing).
    pub fn checks(&self) -> u64 {
        self.checks
    }

    /// Every entry ever seen committed, by index.
    pub fn committed(&self) -> &[Entry<E>] {
        &self.committed
    }

    /// Check the live `nodes` now; returns the violations not reported before.
    pub fn observe(&mut self, nodes: &[&QuorumNode<E>]) -> Vec<String> {
        let mut found = Vec::new();
        for node in nodes {
            self.learn_voters(node);
            self.check_leader(node, &mut found);
            self.check_term(node, &mut found);
        }
        // Holder counts can change only at or after the earliest log change seen now.
        let mut recheck_from = self.committed.len() as u64 + 1;
        for node in nodes {
            recheck_from = recheck_from.min(self.update_view(node, &mut found));
        }
        for node in nodes {
            self.check_committed(node, &mut found);
        }
        self.check_majority(recheck_from, &mut found);
        found.retain(|v| self.reported.insert(v.clone()));
        found
    }

    fn learn_voters(&mut self, node: &QuorumNode<E>) {
        if self.voters.is_empty() {
            self.voters = node.config().voters.clone();
        }
        assert_eq!(
            self.voters,
            node.config().voters,
            "all nodes share one voter set"
        );
    }

    fn check_leader(&mut self, node: &QuorumNode<E>, found: &mut Vec<String>) {
        if node.role() != Role::Leader {
            return;
        }
        self.checks += 1;
        let first = *self.leaders.entry(node.term()).or_insert(node.id());
        if first != node.id() {
            found.push(format!(
                "SingleLeader: nodes {first} and {} both led term {}",
                node.id(),
                node.term()
            ));
        }
    }

    fn check_term(&mut self, node: &QuorumNode<E>, found: &mut Vec<String>) {
        self.checks += 1;
        let seen = self.terms.entry(node.id()).or_insert(node.term());
        if node.term() < *seen {
            found.push(format!(
                "MonotonicEpoch: node {}'s term went from {} back to {}",
                node.id(),
                seen,
                node.term()
            ));
        }
        *seen = (*seen).max(node.term());
    }

    /// Refresh the remembered view of `node`; check its commit index within an incarnation.
    /// Returns the first log index that differs from the last-seen log.
    fn update_view(&mut self, node: &QuorumNode<E>, found: &mut Vec<String>) -> u64 {
        let view = self.views.entry(node.id()).or_insert_with(|| NodeView {
            incarnation: node.incarnation(),
            commit_index: 0,
            log: Vec::new(),
            checked_upto: 0,
        });
        self.checks += 1;
        if view.incarnation == node.incarnation() && node.commit_index() < view.commit_index {
            found.push(format!(
                "MonotonicHighWatermark: node {}'s commit index went from {} back to {}",
                node.id(),
                view.commit_index,
                node.commit_index()
            ));
        }
        let log = node.log();
        // Raft's log matching: an entry is known by its (term, index), since a leader makes
        // one entry per index of its term and what replaces an entry comes from a later term.
        // Comparing whole entries on every step made runs with long metadata logs quadratic;
        // each entry is still compared whole against the committed log once, when committed
        // (`check_committed`), and a second leader of a term is SingleLeader's to catch.
        // By the same property, a log whose entry at the view's end is the view's last entry
        // holds the whole view: an append, the common step, costs nothing to compare.
        let key = |e: &Entry<E>| (e.term, e.index);
        let extends = view
            .log
            .last()
            .is_some_and(|l| log.get(view.log.len() - 1).map(key) == Some(key(l)));
        let same = if extends {
            view.log.len()
        } else {
            view.log
                .iter()
                .zip(log)
                .take_while(|(a, b)| key(a) == key(b))
                .count()
        };
        let changed = same < view.log.len() || same < log.len();
        if changed {
            view.log.truncate(same);
            view.log.extend_from_slice(&log[same..]);
        }
        view.incarnation = node.incarnation();
        view.commit_index = node.commit_index();
        view.checked_upto = view.checked_upto.min(same as u64).min(node.commit_index());
        // An unchanged log changes no holder count (a short one would otherwise have every
        // entry past its end counted again on every step).
        match changed {
            true => same as u64 + 1,
            false => u64::MAX,
        }
    }

    /// ConsistentCommittedData: the node's committed prefix agrees with every earlier commit.
    fn check_committed(&mut self, node: &QuorumNode<E>, found: &mut Vec<String>) {
        let view = self.views.get_mut(&node.id()).expect("view updated first");
        for index in view.checked_upto + 1..=node.commit_index() {
            self.checks += 1;
            let mine = &node.log()[index as usize - 1];
            match self.committed.get(index as usize - 1) {
                None => self.committed.push(mine.clone()),
                Some(first) if first == mine => {}
                Some(first) => found.push(format!(
                    "ConsistentCommittedData: index {index} was committed as (term {}, {:?}), but node {} commits (term {}, {:?})",
                    first.term,
                    first.payload,
                    node.id(),
                    mine.term,
                    mine.payload
                )),
            }
        }
        view.checked_upto = node.commit_index();
    }

    /// MajorityCommitted: every committed entry is on the disks of a majority of voters.
    fn check_majority(&mut self, from: u64, found: &mut Vec<String>) {
        let majority = self.voters.len() / 2 + 1;
        for index in from.max(1)..=self.committed.len() as u64 {
            self.checks += 1;
            let entry = &self.committed[index as usize - 1];
            let holders: Vec<NodeIndex> = self
                .voters
                .iter()
                .copied()
                .filter(|v| {
                    self.views
                        .get(v)
                        .and_then(|view| view.log.get(index as usize - 1))
                        == Some(entry)
                })
                .collect();
            if holders.len() < majority {
                found.push(format!(
                    "MajorityCommitted: index {index} (term {}, {:?}) is committed but only voters {holders:?} of {} hold it",
                    entry.term,
                    entry.payload,
                    self.voters.len()
                ));
            }
        }
    }
}
