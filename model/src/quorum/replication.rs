//! Log replication: AppendEntries sent and answered, the follower's log matched, truncated and
//! appended, and the leader's commit index advanced over a majority.

use super::*;

impl<E: Clone + Debug + PartialEq> QuorumNode<E> {
    pub(super) fn on_append<R: Rng + ?Sized>(
        &mut self,
        now_ms: u64,
        leader: NodeIndex,
        a: AppendArgs<E>,
        rng: &mut R,
        ready: &mut QuorumReady<E>,
    ) {
        if a.term < self.term {
            // A deposed leader: our term in the answer makes it step down.
            self.answer_append(leader, false, 0, ready);
            return;
        }
        if self.role == Role::Leader {
            // Two leaders in one term: Election Safety makes this impossible in Raft.
            assert!(
                self.selftest.quorum_flawed(),
                "nodes {} and {leader} both lead term {}",
                self.id,
                self.term
            );
            self.answer_append(leader, false, 0, ready);
            return;
        }
        if let Role::Follower {
            leader: Some(known),
        } = self.role
        {
            // Election Safety again: a term's leader, once known, never changes.
            assert!(
                self.selftest.quorum_flawed() || known == leader,
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
            self.answer_append(leader, false, hint, ready);
            return;
        }
        let last_new = self.merge_entries(a.term, a.prev_index, a.entries, ready);
        // Entries past `last_new` may be stale; only what the leader just vouched for commits.
        self.commit_to(a.leader_commit.min(last_new), ready);
        self.answer_append(leader, true, last_new, ready);
    }

    /// The answer to leader `leader`'s Append, in this node's term.
    fn answer_append(
        &self,
        leader: NodeIndex,
        success: bool,
        match_index: u64,
        ready: &mut QuorumReady<E>,
    ) {
        let answer = RaftMessage::AppendResult {
            term: self.term,
            success,
            match_index,
        };
        ready.sends.push((leader, answer));
    }

    pub(super) fn log_matches(&self, prev_index: u64, prev_term: Term) -> bool {
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
    pub(super) fn merge_entries(
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

    pub(super) fn truncate_from(&mut self, index: u64, ready: &mut QuorumReady<E>) {
        assert!(index >= 1, "index 0 is before the log");
        assert!(
            index <= self.last_index(),
            "truncation point inside the log"
        );
        if index <= self.commit_index {
            // Leader Completeness: no leader lacks a committed entry, so none overwrites one.
            assert!(
                self.selftest.quorum_flawed(),
                "node {} truncates committed index {index}",
                self.id
            );
            self.commit_index = index - 1;
        }
        self.log.truncate(index as usize - 1);
        ready.persist.push(PersistOp::TruncateFrom(index));
    }

    pub(super) fn append(&mut self, entries: Vec<Entry<E>>, ready: &mut QuorumReady<E>) {
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
    pub(super) fn commit_to(&mut self, index: u64, ready: &mut QuorumReady<E>) {
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

    pub(super) fn on_propose(&mut self, now_ms: u64, payload: E, ready: &mut QuorumReady<E>) {
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
        if self.cfg.pipeline {
            self.send_new(index, ready);
        } else {
            self.broadcast_append(ready);
        }
        // The Append just sent doubles as the heartbeat.
        self.heartbeat_due_ms = now_ms + self.cfg.heartbeat_interval_ms;
        // Alone (a single voter, or the flaw) the entry may already be committed.
        self.advance_commit(ready);
    }

    pub(super) fn on_append_result(
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
            // Pipelined, what was sent beyond the match is in flight: not sent again.
            p.next_index = match self.cfg.pipeline {
                true => p.next_index.max(p.match_index + 1),
                false => p.match_index + 1,
            };
            let lagging = p.next_index <= last;
            self.advance_commit(ready);
            if lagging {
                self.send_append(from, ready);
                self.sent_window(from);
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
            self.sent_window(from);
        }
    }

    /// Zab's proposal: entry `index` (just appended) to every follower that has all before
    /// it; the others are behind and get it when their acks catch them up.
    fn send_new(&mut self, index: u64, ready: &mut QuorumReady<E>) {
        let entry = self.log[index as usize - 1].clone();
        let prev_term = self.term_at(index - 1);
        let peers: Vec<NodeIndex> = self.peers().collect();
        for peer in peers {
            let p = self
                .progress
                .get_mut(&peer)
                .expect("a leader tracks every peer");
            if p.next_index != index {
                continue;
            }
            p.next_index = index + 1;
            let msg = RaftMessage::Append {
                term: self.term,
                leader: self.id,
                prev_index: index - 1,
                prev_term,
                entries: vec![entry.clone()],
                leader_commit: self.commit_index,
            };
            ready.sends.push((peer, msg));
        }
    }

    /// Pipelined, the window `send_append` just sent is in flight: the next send starts past it.
    fn sent_window(&mut self, peer: NodeIndex) {
        let last = self.last_index();
        if !self.cfg.pipeline {
            return;
        }
        let p = self
            .progress
            .get_mut(&peer)
            .expect("a leader tracks every peer");
        p.next_index = last.min(p.next_index - 1 + MAX_APPEND_ENTRIES as u64) + 1;
    }

    /// Commit up to the highest index a majority holds, if that entry is of our own term.
    pub(super) fn advance_commit(&mut self, ready: &mut QuorumReady<E>) {
        assert_eq!(
            self.role,
            Role::Leader,
            "only the leader decides commitment"
        );
        let target = if self
            .selftest
            .planted_in_quorum(QuorumFlaw::CommitWithoutMajority)
        {
            self.last_index()
        } else {
            self.majority_match()
        };
        // §5.4.2: replica counting commits only an entry of the current term; earlier
        // terms' entries commit with it, by Log Matching.
        if target <= self.commit_index || self.term_at(target) != self.term {
            return;
        }
        self.commit_to(target, ready);
        if self.cfg.eager_commit {
            self.broadcast_append(ready);
        }
    }

    /// The highest index held by a majority of voters, the leader included.
    pub(super) fn majority_match(&self) -> u64 {
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

    pub(super) fn broadcast_append(&self, ready: &mut QuorumReady<E>) {
        for peer in self.peers() {
            self.send_append(peer, ready);
        }
    }

    /// Send `peer` everything from its next index (at most `MAX_APPEND_ENTRIES`), or a bare
    /// heartbeat when it has everything.
    pub(super) fn send_append(&self, peer: NodeIndex, ready: &mut QuorumReady<E>) {
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
}

/// The fields of an Append, once its sender is checked.
pub(super) struct AppendArgs<E> {
    pub(super) term: Term,
    pub(super) prev_index: u64,
    pub(super) prev_term: Term,
    pub(super) entries: Vec<Entry<E>>,
    pub(super) leader_commit: u64,
}
