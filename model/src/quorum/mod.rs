//! The controller quorum's consensus core: a sans-IO Raft node (Ongaro's Raft, the algorithm
//! KRaft runs for the metadata log in place of ZooKeeper), and `QuorumObserver`, the god's-eye
//! invariant checker a harness runs over all nodes after every step. Time arrives as `now_ms`,
//! randomness as an `&mut impl Rng`; every effect (writes to fsync, messages, newly committed
//! entries) leaves as data in a `QuorumReady`.
//!
//! Integration notes:
//! - Apply `QuorumReady::persist` to stable storage (fsynced) before any of `sends` leaves;
//!   `Persistent::apply` does exactly what the node expects. A restart is `QuorumNode::new` from
//!   that `Persistent`.
//! - The commit index is volatile: a restarted node reports `committed` again from index 1 as
//!   it learns the commit point, so its state machine must be rebuilt from scratch.
//! - A leader commits earlier terms' entries only through an entry of its own term (Raft
//!   §5.4.2). When a step reports `became_leader`, propose a no-op-like entry at once, so the
//!   new leader can commit (and report) everything before it without waiting for a client.
//! - Deadlines are checked on `QuorumInput::Tick` only; tick every node often (a tenth of the
//!   election timeout or finer).

mod observer;
mod replication;

pub use observer::QuorumObserver;
use replication::*;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use rand::Rng;

/// A controller's id (KRaft's `node.id` of a voter).
pub type NodeIndex = u32;
/// Raft's term; Kafka calls it the quorum epoch.
pub type Term = u64;

/// Entries per Append at most, so one message to a lagging follower stays bounded.
pub const MAX_APPEND_ENTRIES: usize = 64;

pub use crate::selftest::QuorumFlaw;
use crate::selftest::SelfTest;

/// The quorum's configuration, with KRaft's names where it has them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumConfig {
    /// `controller.quorum.voters`: every voter's id, the node itself included.
    pub voters: Vec<NodeIndex>,
    /// `controller.quorum.election.timeout.ms`; each timeout is drawn uniformly from [t, 2t).
    pub election_timeout_ms: u64,
    /// How often an idle leader sends Append (heartbeats, which also retransmit unacknowledged
    /// entries), and how often a candidate asks again the voters that have not granted.
    pub heartbeat_interval_ms: u64,
    /// Tell the followers of each new commit point at once (Zab's COMMIT), rather than with
    /// the next Append or heartbeat (Raft's, and KRaft's, way).
    pub eager_commit: bool,
    /// How long a node that knows no leader (starting, candidate, or having just voted) waits
    /// before it stands: ZooKeeper's LOOKING state, which elects at once (its fast leader
    /// election settles within a finalize wait of 200 ms), where Raft waits a full election
    /// timeout. `None`: the election timeout, as Raft and KRaft do.
    pub looking_timeout_ms: Option<u64>,
    /// Send each new entry once to each follower that has all before it, without waiting for
    /// acks (Zab's proposals, in order on one channel); a follower behind is caught up from
    /// its acks. Off: every proposal resends the follower's whole unacknowledged window (up to
    /// `MAX_APPEND_ENTRIES`), as this Raft does for KRaft.
    pub pipeline: bool,
}

impl QuorumConfig {
    /// The defaults: election timeout 1000 ms (KRaft's), heartbeat 500 ms, commits told with
    /// the next Append.
    pub fn new(voters: Vec<NodeIndex>) -> Self {
        QuorumConfig {
            voters,
            election_timeout_ms: 1_000,
            heartbeat_interval_ms: 500,
            eager_commit: false,
            looking_timeout_ms: None,
            pipeline: false,
        }
    }

    /// How many voters make a majority.
    pub fn majority(&self) -> usize {
        self.voters.len() / 2 + 1
    }

    fn validate(&self) {
        assert!(!self.voters.is_empty(), "a quorum needs at least one voter");
        let distinct: BTreeSet<NodeIndex> = self.voters.iter().copied().collect();
        assert_eq!(distinct.len(), self.voters.len(), "voters are distinct");
        assert!(
            self.election_timeout_ms > 0,
            "the election timeout must be positive"
        );
        assert!(
            self.heartbeat_interval_ms > 0,
            "the heartbeat interval must be positive"
        );
        // A follower must hear a heartbeat before its shortest possible timeout fires.
        assert!(
            self.heartbeat_interval_ms < self.election_timeout_ms,
            "heartbeats must be faster than elections"
        );
    }
}

/// One log entry. Indexes start at 1; index 0 with term 0 stands for "before the log".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<E> {
    pub term: Term,
    pub index: u64,
    pub payload: E,
}

/// What survives a restart: what the harness fsynced from `QuorumReady::persist`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Persistent<E> {
    pub term: Term,
    pub voted_for: Option<NodeIndex>,
    pub log: Vec<Entry<E>>,
}

impl<E> Default for Persistent<E> {
    fn default() -> Self {
        Persistent {
            term: 0,
            voted_for: None,
            log: Vec::new(),
        }
    }
}

impl<E: Clone> Persistent<E> {
    /// Apply one write, as stable storage must (the node assumes exactly this behaviour).
    pub fn apply(&mut self, op: &PersistOp<E>) {
        match op {
            PersistOp::SetTermVote { term, voted_for } => {
                assert!(*term >= self.term, "the persisted term never goes back");
                self.term = *term;
                self.voted_for = *voted_for;
            }
            PersistOp::Append(entries) => {
                for e in entries {
                    assert_eq!(
                        e.index,
                        self.log.len() as u64 + 1,
                        "a persisted append continues the log"
                    );
                    self.log.push(e.clone());
                }
            }
            PersistOp::TruncateFrom(index) => {
                assert!(*index >= 1, "index 0 is before the log");
                assert!(
                    *index <= self.log.len() as u64,
                    "truncation point inside the log"
                );
                self.log.truncate(*index as usize - 1);
            }
        }
    }
}

/// A write to stable storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersistOp<E> {
    SetTermVote {
        term: Term,
        voted_for: Option<NodeIndex>,
    },
    /// Append these entries (contiguous, continuing the log).
    Append(Vec<Entry<E>>),
    /// Remove the entry at this index and everything after it.
    TruncateFrom(u64),
}

/// Raft's four messages. A `Vote` or `AppendResult` goes back to whoever sent the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftMessage<E> {
    RequestVote {
        term: Term,
        candidate: NodeIndex,
        last_log_index: u64,
        last_log_term: Term,
    },
    Vote {
        term: Term,
        granted: bool,
    },
    Append {
        term: Term,
        leader: NodeIndex,
        prev_index: u64,
        prev_term: Term,
        entries: Vec<Entry<E>>,
        leader_commit: u64,
    },
    /// On success `match_index` is the last index known to match the leader's log; on failure
    /// it is a hint: the follower may match up to there at most.
    AppendResult {
        term: Term,
        success: bool,
        match_index: u64,
    },
}

impl<E> RaftMessage<E> {
    pub fn term(&self) -> Term {
        match self {
            RaftMessage::RequestVote { term, .. }
            | RaftMessage::Vote { term, .. }
            | RaftMessage::Append { term, .. }
            | RaftMessage::AppendResult { term, .. } => *term,
        }
    }

    /// A short name for counting messages by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            RaftMessage::RequestVote { .. } => "request_vote",
            RaftMessage::Vote { .. } => "vote",
            RaftMessage::Append { .. } => "append",
            RaftMessage::AppendResult { .. } => "append_result",
        }
    }
}

/// What a quorum node's step may be fed.
#[derive(Clone, Debug)]
pub enum QuorumInput<E> {
    /// Time passed: the node checks its election or heartbeat deadline.
    Tick,
    Message {
        from: NodeIndex,
        msg: RaftMessage<E>,
    },
    /// Append a payload to the replicated log (leader only).
    Propose(E),
}

/// The output of one step.
#[derive(Debug)]
pub struct QuorumReady<E> {
    /// Writes to stable storage; the harness fsyncs them before any of `sends` leaves (Raft's
    /// persistence rule: a vote or an acknowledgement must never overtake its write).
    pub persist: Vec<PersistOp<E>>,
    pub sends: Vec<(NodeIndex, RaftMessage<E>)>,
    /// Entries that became committed in this step, in order, for the state machine to apply.
    pub committed: Vec<Entry<E>>,
    /// Result of a Propose: Ok(index) on the leader, Err(leader hint) elsewhere.
    pub proposed: Option<Result<u64, Option<NodeIndex>>>,
    /// The node became leader of this term in this step: propose a no-op-like entry now, so
    /// that earlier terms' entries commit (§5.4.2).
    pub became_leader: Option<Term>,
}

impl<E> Default for QuorumReady<E> {
    fn default() -> Self {
        QuorumReady {
            persist: Vec::new(),
            sends: Vec::new(),
            committed: Vec::new(),
            proposed: None,
            became_leader: None,
        }
    }
}

/// A node's role in its current term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Follower { leader: Option<NodeIndex> },
    Candidate,
    Leader,
}

/// The leader's view of one follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Progress {
    /// The next index to send; only ever moved by answers, never optimistically.
    next_index: u64,
    /// The highest index known to be on the follower's disk and matching ours.
    match_index: u64,
}

/// One voter of the controller quorum.
#[derive(Clone, Debug)]
pub struct QuorumNode<E> {
    id: NodeIndex,
    cfg: QuorumConfig,
    /// The planted flaws of the checkers' self-test (none in a real run).
    selftest: SelfTest,
    /// Drawn at start, so an observer can tell a restart from a regression.
    incarnation: u64,
    // Persistent state; equal to what the harness persisted once a step's ops are applied.
    term: Term,
    voted_for: Option<NodeIndex>,
    log: Vec<Entry<E>>,
    // Volatile state.
    role: Role,
    commit_index: u64,
    election_deadline_ms: u64,
    /// Leader: next heartbeat. Candidate: next RequestVote retry.
    heartbeat_due_ms: u64,
    votes: BTreeSet<NodeIndex>,
    progress: BTreeMap<NodeIndex, Progress>,
}

impl<E: Clone + Debug + PartialEq> QuorumNode<E> {
    /// Start (or restart) a voter from what it persisted. Volatile state starts fresh: a
    /// follower with no known leader and commit index 0.
    pub fn new<R: Rng + ?Sized>(
        id: NodeIndex,
        cfg: QuorumConfig,
        persisted: Persistent<E>,
        now_ms: u64,
        rng: &mut R,
    ) -> Self {
        cfg.validate();
        assert!(cfg.voters.contains(&id), "node {id} is not a voter");
        check_persisted_log(&persisted);
        let mut node = QuorumNode {
            id,
            selftest: SelfTest::default(),
            incarnation: rng.gen(),
            term: persisted.term,
            voted_for: persisted.voted_for,
            log: persisted.log,
            role: Role::Follower { leader: None },
            commit_index: 0,
            election_deadline_ms: 0,
            heartbeat_due_ms: 0,
            votes: BTreeSet::new(),
            progress: BTreeMap::new(),
            cfg,
        };
        node.reset_election_deadline(now_ms, rng);
        node.check_invariants();
        node
    }

    /// This node with the planted flaws of a self-test run. `forget-vote-on-restart` acts
    /// here too: the vote was never written, so the restarted node has forgotten it.
    pub fn with_selftest(mut self, selftest: SelfTest) -> Self {
        if selftest.planted_in_quorum(QuorumFlaw::ForgetVoteOnRestart) {
            self.voted_for = None;
        }
        self.selftest = selftest;
        self
    }

    pub fn step<R: Rng + ?Sized>(
        &mut self,
        now_ms: u64,
        input: QuorumInput<E>,
        rng: &mut R,
    ) -> QuorumReady<E> {
        let mut ready = QuorumReady::default();
        match input {
            QuorumInput::Tick => self.on_tick(now_ms, rng, &mut ready),
            QuorumInput::Message { from, msg } => {
                self.on_message(now_ms, from, msg, rng, &mut ready)
            }
            QuorumInput::Propose(payload) => self.on_propose(now_ms, payload, &mut ready),
        }
        self.check_invariants();
        ready
    }

    pub fn id(&self) -> NodeIndex {
        self.id
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn term(&self) -> Term {
        self.term
    }
    pub fn voted_for(&self) -> Option<NodeIndex> {
        self.voted_for
    }
    pub fn commit_index(&self) -> u64 {
        self.commit_index
    }
    pub fn log(&self) -> &[Entry<E>] {
        &self.log
    }
    pub fn config(&self) -> &QuorumConfig {
        &self.cfg
    }
    /// A random number drawn at start; differs between incarnations of one node.
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }
    /// The leader as this node knows it: itself when leading.
    pub fn leader(&self) -> Option<NodeIndex> {
        match self.role {
            Role::Leader => Some(self.id),
            Role::Follower { leader } => leader,
            Role::Candidate => None,
        }
    }
    pub fn last_index(&self) -> u64 {
        self.log.len() as u64
    }
    pub fn last_term(&self) -> Term {
        self.log.last().map(|e| e.term).unwrap_or(0)
    }

    // ------------------------------------------------------------------ time

    fn on_tick<R: Rng + ?Sized>(&mut self, now_ms: u64, rng: &mut R, ready: &mut QuorumReady<E>) {
        match self.role {
            Role::Leader => {
                if now_ms >= self.heartbeat_due_ms {
                    self.broadcast_append(ready);
                    self.heartbeat_due_ms = now_ms + self.cfg.heartbeat_interval_ms;
                }
            }
            Role::Candidate if now_ms < self.election_deadline_ms => {
                // Raft retries an unanswered RPC: ask again those who have not granted yet.
                if now_ms >= self.heartbeat_due_ms {
                    self.request_votes(|peer| !self.votes.contains(&peer), ready);
                    self.heartbeat_due_ms = now_ms + self.cfg.heartbeat_interval_ms;
                }
            }
            Role::Follower { .. } | Role::Candidate => {
                if now_ms >= self.election_deadline_ms {
                    self.start_election(now_ms, rng, ready);
                }
            }
        }
    }

    fn reset_election_deadline<R: Rng + ?Sized>(&mut self, now_ms: u64, rng: &mut R) {
        let t = match (self.cfg.looking_timeout_ms, self.role) {
            (Some(looking), Role::Follower { leader: None } | Role::Candidate) => looking.max(1),
            _ => self.cfg.election_timeout_ms,
        };
        self.election_deadline_ms = now_ms + rng.gen_range(t..2 * t);
    }

    // ------------------------------------------------------------------ elections

    fn start_election<R: Rng + ?Sized>(
        &mut self,
        now_ms: u64,
        rng: &mut R,
        ready: &mut QuorumReady<E>,
    ) {
        assert!(
            self.role != Role::Leader,
            "a leader does not stand for election"
        );
        let term = self.term + 1;
        // The self-vote is persisted like any other: a restart must not vote again in this term.
        self.set_term_vote(term, Some(self.id), ready);
        self.role = Role::Candidate;
        self.votes = BTreeSet::from([self.id]);
        self.progress.clear();
        self.reset_election_deadline(now_ms, rng);
        if self.votes.len() >= self.cfg.majority() {
            self.become_leader(now_ms, ready);
            return;
        }
        self.request_votes(|_| true, ready);
        self.heartbeat_due_ms = now_ms + self.cfg.heartbeat_interval_ms;
    }

    fn request_votes(&self, ask: impl Fn(NodeIndex) -> bool, ready: &mut QuorumReady<E>) {
        assert_eq!(
            self.role,
            Role::Candidate,
            "only a candidate asks for votes"
        );
        let (last_log_index, last_log_term) = (self.last_index(), self.last_term());
        for peer in self.peers().filter(|p| ask(*p)) {
            let msg = RaftMessage::RequestVote {
                term: self.term,
                candidate: self.id,
                last_log_index,
                last_log_term,
            };
            ready.sends.push((peer, msg));
        }
    }

    fn on_request_vote<R: Rng + ?Sized>(
        &mut self,
        now_ms: u64,
        from: NodeIndex,
        term: Term,
        last: (u64, Term),
        rng: &mut R,
        ready: &mut QuorumReady<E>,
    ) {
        let (last_log_index, last_log_term) = last;
        // §5.4.1: vote only for a log at least as up-to-date as ours (last term, then length).
        let up_to_date = (last_log_term, last_log_index) >= (self.last_term(), self.last_index());
        let granted = term == self.term && self.may_vote_for(from) && up_to_date;
        if granted {
            self.set_term_vote(term, Some(from), ready);
            // Granting a vote defers our own candidacy, as Raft prescribes.
            self.reset_election_deadline(now_ms, rng);
        }
        ready.sends.push((
            from,
            RaftMessage::Vote {
                term: self.term,
                granted,
            },
        ));
    }

    fn may_vote_for(&self, candidate: NodeIndex) -> bool {
        if self.selftest.planted_in_quorum(QuorumFlaw::DoubleVote) {
            return true;
        }
        self.voted_for.is_none() || self.voted_for == Some(candidate)
    }

    fn on_vote(
        &mut self,
        now_ms: u64,
        from: NodeIndex,
        term: Term,
        granted: bool,
        ready: &mut QuorumReady<E>,
    ) {
        // A vote from an earlier election, or one that came after we already won or lost.
        if self.role != Role::Candidate || term != self.term || !granted {
            return;
        }
        self.votes.insert(from);
        if self.votes.len() >= self.cfg.majority() {
            self.become_leader(now_ms, ready);
        }
    }

    fn become_leader(&mut self, now_ms: u64, ready: &mut QuorumReady<E>) {
        assert_eq!(
            self.role,
            Role::Candidate,
            "only a candidate wins an election"
        );
        assert!(
            self.votes.len() >= self.cfg.majority(),
            "a leader holds a majority of votes"
        );
        self.role = Role::Leader;
        let next_index = self.last_index() + 1;
        self.progress = self
            .peers()
            .map(|p| {
                (
                    p,
                    Progress {
                        next_index,
                        match_index: 0,
                    },
                )
            })
            .collect();
        ready.became_leader = Some(self.term);
        // Announce the leadership at once, so the other candidates step down.
        self.broadcast_append(ready);
        self.heartbeat_due_ms = now_ms + self.cfg.heartbeat_interval_ms;
    }

    /// Adopt a higher term seen in a message: forget the vote and leadership of the old term.
    fn step_down<R: Rng + ?Sized>(
        &mut self,
        now_ms: u64,
        term: Term,
        rng: &mut R,
        ready: &mut QuorumReady<E>,
    ) {
        assert!(term > self.term, "stepping down needs a higher term");
        let was_leader = self.role == Role::Leader;
        self.set_term_vote(term, None, ready);
        self.role = Role::Follower { leader: None };
        self.votes.clear();
        self.progress.clear();
        // A leader kept no election deadline; give it a full one now.
        if was_leader {
            self.reset_election_deadline(now_ms, rng);
        }
    }

    /// Change the persistent term and vote, and queue the write.
    fn set_term_vote(
        &mut self,
        term: Term,
        voted_for: Option<NodeIndex>,
        ready: &mut QuorumReady<E>,
    ) {
        assert!(term >= self.term, "the term never goes back");
        if term == self.term && voted_for == self.voted_for {
            return;
        }
        if term == self.term && !self.selftest.planted_in_quorum(QuorumFlaw::DoubleVote) {
            // Within a term a vote is cast once: from none to someone, never changed.
            assert!(
                self.voted_for.is_none(),
                "node {} votes twice in term {term}",
                self.id
            );
            assert!(
                voted_for.is_some(),
                "a vote is never withdrawn within a term"
            );
        }
        self.term = term;
        self.voted_for = voted_for;
        let persisted_vote = if self
            .selftest
            .planted_in_quorum(QuorumFlaw::ForgetVoteOnRestart)
        {
            None
        } else {
            voted_for
        };
        // Two term/vote writes in one step: only the last matters, and nothing sits between.
        if let Some(PersistOp::SetTermVote { .. }) = ready.persist.last() {
            ready.persist.pop();
        }
        ready.persist.push(PersistOp::SetTermVote {
            term,
            voted_for: persisted_vote,
        });
    }

    // ------------------------------------------------------------------ messages

    fn on_message<R: Rng + ?Sized>(
        &mut self,
        now_ms: u64,
        from: NodeIndex,
        msg: RaftMessage<E>,
        rng: &mut R,
        ready: &mut QuorumReady<E>,
    ) {
        assert_ne!(from, self.id, "a node never messages itself");
        assert!(
            self.cfg.voters.contains(&from),
            "message from {from}, who is not a voter"
        );
        if msg.term() > self.term {
            self.step_down(now_ms, msg.term(), rng, ready);
        }
        match msg {
            RaftMessage::RequestVote {
                term,
                candidate,
                last_log_index,
                last_log_term,
            } => {
                assert_eq!(candidate, from, "a candidate asks for itself");
                self.on_request_vote(
                    now_ms,
                    from,
                    term,
                    (last_log_index, last_log_term),
                    rng,
                    ready,
                );
            }
            RaftMessage::Vote { term, granted } => self.on_vote(now_ms, from, term, granted, ready),
            RaftMessage::Append {
                term,
                leader,
                prev_index,
                prev_term,
                entries,
                leader_commit,
            } => {
                assert_eq!(leader, from, "Append comes from its leader");
                let append = AppendArgs {
                    term,
                    prev_index,
                    prev_term,
                    entries,
                    leader_commit,
                };
                self.on_append(now_ms, from, append, rng, ready);
            }
            RaftMessage::AppendResult {
                term,
                success,
                match_index,
            } => {
                self.on_append_result(from, term, success, match_index, ready);
            }
        }
    }

    // ------------------------------------------------------------------ follower side

    // ------------------------------------------------------------------ leader side

    // ------------------------------------------------------------------ helpers

    fn peers(&self) -> impl Iterator<Item = NodeIndex> + '_ {
        self.cfg
            .voters
            .iter()
            .copied()
            .filter(move |v| *v != self.id)
    }

    fn entry(&self, index: u64) -> Option<&Entry<E>> {
        if index == 0 {
            return None;
        }
        self.log.get(index as usize - 1)
    }

    /// The term of the entry at `index`; 0 for index 0.
    fn term_at(&self, index: u64) -> Term {
        if index == 0 {
            return 0;
        }
        self.entry(index).expect("term_at inside the log").term
    }

    /// Cheap invariants, after every step.
    fn check_invariants(&self) {
        assert!(
            self.commit_index <= self.last_index(),
            "commit index beyond the log"
        );
        if let Some(last) = self.log.last() {
            assert_eq!(last.index, self.last_index(), "entry indexes are positions");
            assert!(last.term <= self.term, "no entry from a future term");
        }
        // DoubleVote lets a leader or candidate vote again, overwriting its self-vote.
        let votes_once = !self.selftest.planted_in_quorum(QuorumFlaw::DoubleVote);
        match self.role {
            Role::Leader => {
                assert_eq!(
                    self.progress.len(),
                    self.cfg.voters.len() - 1,
                    "a leader tracks every peer"
                );
                for p in self.progress.values() {
                    assert!(
                        p.match_index < p.next_index,
                        "next index beyond match index"
                    );
                    assert!(
                        p.next_index <= self.last_index() + 1,
                        "next index at most one past our end"
                    );
                }
                assert!(
                    !votes_once || self.voted_for == Some(self.id),
                    "a leader voted for itself"
                );
            }
            Role::Candidate => {
                assert!(
                    self.votes.contains(&self.id),
                    "a candidate votes for itself"
                );
                assert!(self.progress.is_empty(), "only a leader tracks progress");
                assert!(
                    !votes_once || self.voted_for == Some(self.id),
                    "a candidate voted for itself"
                );
            }
            Role::Follower { leader } => {
                assert_ne!(leader, Some(self.id), "a follower does not follow itself");
                assert!(self.progress.is_empty(), "only a leader tracks progress");
            }
        }
    }
}

fn check_persisted_log<E>(p: &Persistent<E>) {
    let mut prev_term = 0;
    for (i, e) in p.log.iter().enumerate() {
        assert_eq!(
            e.index,
            i as u64 + 1,
            "persisted entry indexes are positions"
        );
        assert!(e.term >= prev_term, "persisted terms never decrease");
        prev_term = e.term;
    }
    assert!(prev_term <= p.term, "the persisted term covers the log");
}
