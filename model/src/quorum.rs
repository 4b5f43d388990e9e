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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use rand::Rng;

/// A controller's id (KRaft's `node.id` of a voter).
pub type NodeIndex = u32;
/// Raft's term; Kafka calls it the quorum epoch.
pub type Term = u64;

/// Entries per Append at most, so one message to a lagging follower stays bounded.
pub const MAX_APPEND_ENTRIES: usize = 64;

/// A deliberately broken variant of the protocol, used only to show that `QuorumObserver`
/// catches the violation it exists for. `None` in every real run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum QuorumFlaw {
    #[default]
    None,
    /// Grants a vote to every candidate of a term (up-to-date logs still required).
    DoubleVote,
    /// The leader commits an entry of its term as soon as it alone has it.
    CommitWithoutMajority,
    /// `voted_for` is never written to stable storage, so a restarted node may vote again.
    ForgetVoteOnRestart,
}

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
    pub flaw: QuorumFlaw,
}

impl QuorumConfig {
    /// The defaults: election timeout 1000 ms (KRaft's), heartbeat 500 ms, no flaw.
    pub fn new(voters: Vec<NodeIndex>) -> Self {
        QuorumConfig {
            voters,
            election_timeout_ms: 1_000,
            heartbeat_interval_ms: 500,
            flaw: QuorumFlaw::None,
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
        // The flaw: the vote was never written, so the restarted node has forgotten it.
        let voted_for = if cfg.flaw == QuorumFlaw::ForgetVoteOnRestart {
            None
        } else {
            persisted.voted_for
        };
        let mut node = QuorumNode {
            id,
            incarnation: rng.gen(),
            term: persisted.term,
            voted_for,
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
        let t = self.cfg.election_timeout_ms;
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
        if self.cfg.flaw == QuorumFlaw::DoubleVote {
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
        if term == self.term && self.cfg.flaw != QuorumFlaw::DoubleVote {
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
        let persisted_vote = if self.cfg.flaw == QuorumFlaw::ForgetVoteOnRestart {
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

    fn on_append<R: Rng + ?Sized>(
        &mut self,
        now_ms: u64,
        leader: NodeIndex,
        a: AppendArgs<E>,
        rng: &mut R,
        ready: &mut QuorumReady<E>,
    ) {
        if a.term < self.term {
            // A deposed leader: our term in the answer makes it step down.
            ready.sends.push((
                leader,
                RaftMessage::AppendResult {
                    term: self.term,
                    success: false,
                    match_index: 0,
                },
            ));
            return;
        }
        if self.role == Role::Leader {
            // Two leaders in one term: Election Safety makes this impossible in Raft.
            assert!(
                self.cfg.flaw != QuorumFlaw::None,
                "nodes {} and {leader} both lead term {}",
                self.id,
                self.term
            );
            ready.sends.push((
                leader,
                RaftMessage::AppendResult {
                    term: self.term,
                    success: false,
                    match_index: 0,
                },
            ));
            return;
        }
        if let Role::Follower {
            leader: Some(known),
        } = self.role
        {
            // Election Safety again: a term's leader, once known, never changes.
            assert!(
                self.cfg.flaw != QuorumFlaw::None || known == leader,
                "term {} led by {known} and {leader}",
                self.term
            );
        }
        self.role = Role::Follower {
            leader: Some(leader),
        };
        self.votes.clear();
        self.reset_election_deadline(now_ms, rng);
        if !self.log_matches(a.prev_index, a.prev_term) {
            // We may match at most up to our end, or up to just before the mismatch.
            let hint = self.last_index().min(a.prev_index.saturating_sub(1));
            ready.sends.push((
                leader,
                RaftMessage::AppendResult {
                    term: self.term,
                    success: false,
                    match_index: hint,
                },
            ));
            return;
        }
        let last_new = self.merge_entries(a.term, a.prev_index, a.entries, ready);
        // Entries past `last_new` may be stale; only what the leader just vouched for commits.
        self.commit_to(a.leader_commit.min(last_new), ready);
        ready.sends.push((
            leader,
            RaftMessage::AppendResult {
                term: self.term,
                success: true,
                match_index: last_new,
            },
        ));
    }

    fn log_matches(&self, prev_index: u64, prev_term: Term) -> bool {
        if prev_index == 0 {
            assert_eq!(prev_term, 0, "nothing precedes index 1");
            return true;
        }
        self.entry(prev_index)
            .map(|e| e.term == prev_term)
            .unwrap_or(false)
    }

    /// Merge the leader's entries after `prev_index` (which matches): skip what we already
    /// have, cut our log at the first conflict, append the rest. Returns the last index the
    /// leader vouched for.
    fn merge_entries(
        &mut self,
        term: Term,
        prev_index: u64,
        entries: Vec<Entry<E>>,
        ready: &mut QuorumReady<E>,
    ) -> u64 {
        let mut expected = prev_index + 1;
        let mut prev_term = if prev_index == 0 {
            0
        } else {
            self.term_at(prev_index)
        };
        let mut fresh = Vec::new();
        for e in entries {
            assert_eq!(
                e.index, expected,
                "Append entries are contiguous after prev_index"
            );
            assert!(e.term >= prev_term, "terms never decrease along a log");
            assert!(
                e.term <= term,
                "a leader's log holds no entry of a later term"
            );
            expected += 1;
            prev_term = e.term;
            match self.entry(e.index).map(|mine| mine.term) {
                // Log Matching: same index and term means the same entry (and prefix).
                Some(t) if t == e.term => continue,
                Some(_) => self.truncate_from(e.index, ready),
                None => {}
            }
            assert!(
                self.entry(e.index).is_none(),
                "after a conflict our log ends before the new entries"
            );
            fresh.push(e);
        }
        self.append(fresh, ready);
        expected - 1
    }

    fn truncate_from(&mut self, index: u64, ready: &mut QuorumReady<E>) {
        assert!(index >= 1, "index 0 is before the log");
        assert!(
            index <= self.last_index(),
            "truncation point inside the log"
        );
        if index <= self.commit_index {
            // Leader Completeness: no leader lacks a committed entry, so none overwrites one.
            assert!(
                self.cfg.flaw != QuorumFlaw::None,
                "node {} truncates committed index {index}",
                self.id
            );
            self.commit_index = index - 1;
        }
        self.log.truncate(index as usize - 1);
        ready.persist.push(PersistOp::TruncateFrom(index));
    }

    fn append(&mut self, entries: Vec<Entry<E>>, ready: &mut QuorumReady<E>) {
        if entries.is_empty() {
            return;
        }
        for e in &entries {
            assert_eq!(e.index, self.last_index() + 1, "appends continue the log");
            assert!(
                e.term >= self.last_term(),
                "terms never decrease along a log"
            );
            assert!(
                e.term <= self.term,
                "no entry from a term we have not reached"
            );
            self.log.push(e.clone());
        }
        ready.persist.push(PersistOp::Append(entries));
    }

    /// Advance the commit index to `index` (never back) and report the newly committed entries.
    fn commit_to(&mut self, index: u64, ready: &mut QuorumReady<E>) {
        if index <= self.commit_index {
            return;
        }
        assert!(
            index <= self.last_index(),
            "only entries we hold can commit"
        );
        let from = self.commit_index as usize;
        ready
            .committed
            .extend(self.log[from..index as usize].iter().cloned());
        self.commit_index = index;
    }

    // ------------------------------------------------------------------ leader side

    fn on_propose(&mut self, now_ms: u64, payload: E, ready: &mut QuorumReady<E>) {
        if self.role != Role::Leader {
            ready.proposed = Some(Err(self.leader()));
            return;
        }
        let index = self.last_index() + 1;
        self.append(
            vec![Entry {
                term: self.term,
                index,
                payload,
            }],
            ready,
        );
        ready.proposed = Some(Ok(index));
        self.broadcast_append(ready);
        // The Append just sent doubles as the heartbeat.
        self.heartbeat_due_ms = now_ms + self.cfg.heartbeat_interval_ms;
        // Alone (a single voter, or the flaw) the entry may already be committed.
        self.advance_commit(ready);
    }

    fn on_append_result(
        &mut self,
        from: NodeIndex,
        term: Term,
        success: bool,
        match_index: u64,
        ready: &mut QuorumReady<E>,
    ) {
        // An answer to an earlier term's Append, or we are no longer the leader.
        if self.role != Role::Leader || term != self.term {
            return;
        }
        let last = self.last_index();
        let p = self
            .progress
            .get_mut(&from)
            .expect("a leader tracks every peer");
        if success {
            // A follower matches only what we sent it, and a leader's log only grows.
            assert!(
                match_index <= last,
                "follower {from} matches {match_index}, beyond our end {last}"
            );
            // Answers may arrive out of order: keep the highest.
            p.match_index = p.match_index.max(match_index);
            p.next_index = p.match_index + 1;
            let lagging = p.match_index < last;
            self.advance_commit(ready);
            if lagging {
                self.send_append(from, ready);
            }
            return;
        }
        // Back off towards the follower's hint, never below what it already matches.
        let next = (p.next_index - 1)
            .min(match_index + 1)
            .max(p.match_index + 1);
        if next < p.next_index {
            p.next_index = next;
            self.send_append(from, ready);
        }
    }

    /// Commit up to the highest index a majority holds, if that entry is of our own term.
    fn advance_commit(&mut self, ready: &mut QuorumReady<E>) {
        assert_eq!(
            self.role,
            Role::Leader,
            "only the leader decides commitment"
        );
        let target = match self.cfg.flaw {
            QuorumFlaw::CommitWithoutMajority => self.last_index(),
            _ => self.majority_match(),
        };
        // §5.4.2: replica counting commits only an entry of the current term; earlier
        // terms' entries commit with it, by Log Matching.
        if target <= self.commit_index || self.term_at(target) != self.term {
            return;
        }
        self.commit_to(target, ready);
    }

    /// The highest index held by a majority of voters, the leader included.
    fn majority_match(&self) -> u64 {
        let mut matches: Vec<u64> = self.progress.values().map(|p| p.match_index).collect();
        matches.push(self.last_index());
        assert_eq!(
            matches.len(),
            self.cfg.voters.len(),
            "one match index per voter"
        );
        matches.sort_unstable_by(|a, b| b.cmp(a));
        matches[self.cfg.majority() - 1]
    }

    fn broadcast_append(&self, ready: &mut QuorumReady<E>) {
        for peer in self.peers() {
            self.send_append(peer, ready);
        }
    }

    /// Send `peer` everything from its next index (at most `MAX_APPEND_ENTRIES`), or a bare
    /// heartbeat when it has everything.
    fn send_append(&self, peer: NodeIndex, ready: &mut QuorumReady<E>) {
        let p = self.progress[&peer];
        assert!(p.next_index >= 1, "indexes start at 1");
        assert!(
            p.next_index <= self.last_index() + 1,
            "next index at most one past our end"
        );
        let prev_index = p.next_index - 1;
        let end = (self.last_index()).min(prev_index + MAX_APPEND_ENTRIES as u64);
        let entries = self.log[prev_index as usize..end as usize].to_vec();
        let msg = RaftMessage::Append {
            term: self.term,
            leader: self.id,
            prev_index,
            prev_term: self.term_at(prev_index),
            entries,
            leader_commit: self.commit_index,
        };
        ready.sends.push((peer, msg));
    }

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
        let votes_once = self.cfg.flaw != QuorumFlaw::DoubleVote;
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

/// The fields of an Append, once its sender is checked.
struct AppendArgs<E> {
    term: Term,
    prev_index: u64,
    prev_term: Term,
    entries: Vec<Entry<E>>,
    leader_commit: u64,
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

// ====================================================================== the observer

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
        let same = view.log.iter().zip(log).take_while(|(a, b)| a == b).count();
        if same < view.log.len() || same < log.len() {
            view.log.truncate(same);
            view.log.extend_from_slice(&log[same..]);
        }
        view.incarnation = node.incarnation();
        view.commit_index = node.commit_index();
        view.checked_upto = view.checked_upto.min(same as u64).min(node.commit_index());
        same as u64 + 1
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
