//! After a controller's step: its Raft state against the quorum invariants, its votes, and
//! the controllers' availability; the metadata it applied (elections, fencing, ISR changes).

use super::*;

impl Observer {
    /// After a controller's step: its Raft state, checked with the quorum invariants.
    /// A controller's writes and sends of one step, before they leave: its votes.
    pub fn quorum_writes(
        &mut self,
        now: u64,
        voter: u32,
        persist: &[PersistOp<Command>],
        sends: &[(u32, RaftMessage<Command>)],
    ) {
        for v in self.votes.observe(voter, persist, sends) {
            self.violate("quorum", now, format!("controller quorum: {v}"));
        }
    }

    pub fn after_quorum_step(
        &mut self,
        now: u64,
        node: &QuorumNode<Command>,
        input: &'static str,
        sends: usize,
        became_leader: bool,
    ) {
        self.now_ms = now;
        self.trace((
            now,
            "controller",
            node.id(),
            input,
            sends,
            node.term(),
            node.commit_index(),
        ));
        if became_leader {
            self.quorum_elections += 1;
            self.controller_activations.push(now);
        }
        self.quorum.insert(
            node.id(),
            ControllerState {
                role: node.role(),
                term: node.term(),
                commit_index: node.commit_index(),
                last_index: node.last_index(),
                majority: node.config().majority(),
            },
        );
        self.track_controller_availability(now);
        // Only this node changed: the checker keeps every other node's last state.
        for v in self.quorum_checker.observe(&[node]) {
            self.violate("quorum", now, format!("controller quorum: {v}"));
        }
    }

    /// A controller left the quorum's live set (crash or power loss).
    pub fn controller_down(&mut self, c: u32) {
        self.quorum.remove(&c);
        let now = self.now_ms;
        self.track_controller_availability(now);
    }

    /// A leader exists and a majority of voters is up, so metadata changes can commit.
    pub(super) fn quorum_available(&self) -> Option<u32> {
        let leader = self.quorum_leader()?;
        let majority = self
            .quorum
            .get(&leader)
            .map(|n| n.majority)
            .unwrap_or(usize::MAX);
        (self.quorum.len() >= majority).then_some(leader)
    }

    pub(super) fn track_controller_availability(&mut self, now: u64) {
        match (self.quorum_available(), self.leaderless_since) {
            (Some(_), Some(since)) => {
                self.controller_unavailable_ms += now.saturating_sub(since);
                self.leaderless_since = None;
            }
            (None, None) => self.leaderless_since = Some(now),
            _ => {}
        }
    }

    /// Unavailability up to `end`, including a leaderless stretch still open.
    pub fn controller_unavailable_until(&self, end: u64) -> u64 {
        self.controller_unavailable_ms
            + self
                .leaderless_since
                .map(|s| end.saturating_sub(s))
                .unwrap_or(0)
    }

    /// The active controller, as the controllers themselves claim it (highest term).
    pub fn quorum_leader(&self) -> Option<u32> {
        self.quorum
            .iter()
            .filter(|(_, n)| n.role == ksim_model::quorum::Role::Leader)
            .max_by_key(|(_, n)| n.term)
            .map(|(id, _)| *id)
    }

    /// Notes of the metadata command at `index`; recorded only the first time any controller
    /// applies that index.
    pub fn after_apply(&mut self, now: u64, index: u64, ready: &Ready) {
        if index <= self.applied_index {
            return;
        }
        self.applied_index = index;
        self.after_controller_step(now, "apply", ready);
    }

    pub fn after_controller_step(&mut self, now: u64, input: &'static str, ready: &Ready) {
        self.now_ms = now;
        self.trace((now, "controller", input, ready.sends.len()));
        for note in &ready.notes {
            match note {
                Note::Elected {
                    partition,
                    leader,
                    leader_epoch,
                    unclean,
                    isr,
                } => self.elected(now, *partition, *leader, *leader_epoch, *unclean, isr),
                Note::IsrChanged { partition, isr, .. } => self.isr_changed(now, *partition, isr),
                Note::BrokerFenced { broker } => {
                    self.mark("broker-fenced");
                    self.unfenced.remove(broker);
                    self.step_note(now, format!("controller: broker {broker} fenced (its session expired)"));
                }
                Note::BrokerUnfenced {
                    broker,
                    incarnation,
                } => {
                    self.unfenced.insert(*broker, *incarnation);
                    let parts: Vec<PartitionId> = self.controller.keys().copied().collect();
                    for p in parts {
                        self.check_strong_isr(now, p);
                    }
                }
                Note::Recovered {
                    partition,
                    leader,
                    candidates,
                } => self.recovered(now, *partition, *leader, candidates),
                Note::UncleanShutdown { broker } => self.step_note(
                    now,
                    format!("controller: broker {broker} registered after an unclean shutdown and leaves every ISR and ELR (KIP-966)"),
                ),
                Note::Mark(m) => self.mark(m.name()),
                _ => {}
            }
        }
    }

    /// The controller changed a partition's ISR (same leader, same epoch).
    pub(super) fn isr_changed(&mut self, now: u64, partition: PartitionId, isr: &[BrokerId]) {
        if let Some((leader, epoch, _)) = self.controller.get(&partition).cloned() {
            self.set_controller_view(now, partition, leader, epoch, isr.to_vec());
        }
        let leader = self.controller.get(&partition).and_then(|c| c.0);
        self.check_leader_in_isr(now, partition, leader, isr);
        self.step_note(
            now,
            format!("controller: partition {partition} ISR {isr:?}"),
        );
        self.check_strong_isr(now, partition);
    }

    /// The controller elected `leader` (or nobody): the leader must be in the ISR, an unclean
    /// election must be allowed, and the ISR must still hold what was committed.
    pub(super) fn elected(
        &mut self,
        now: u64,
        partition: PartitionId,
        leader: Option<BrokerId>,
        leader_epoch: Epoch,
        unclean: bool,
        isr: &[BrokerId],
    ) {
        self.elections += 1;
        self.check_leader_in_isr(now, partition, leader, isr);
        self.check_election_allowed(now, partition, leader, unclean);
        if unclean && leader.is_some() {
            self.mark("unclean-election");
        }
        if unclean {
            self.unclean_elections
                .entry(partition)
                .or_default()
                .push(now);
            self.unclean_epochs.insert((partition, leader_epoch));
        }
        self.set_controller_view(now, partition, leader, leader_epoch, isr.to_vec());
        self.trace((now, "elected", partition, leader, leader_epoch, unclean));
        let who = match leader {
            Some(l) => format!("broker {l}"),
            None => "no leader (no eligible replica is live)".to_string(),
        };
        self.step_note(
            now,
            format!(
                "controller: partition {partition} leader epoch {leader_epoch}: {who}{}, ISR {isr:?}",
                if unclean { ", UNCLEAN election" } else { "" }
            ),
        );
        self.check_strong_isr(now, partition);
    }

    /// KIP-966's recovery elected the longest log among the last known ELR.
    fn recovered(
        &mut self,
        now: u64,
        partition: PartitionId,
        leader: BrokerId,
        candidates: &[(BrokerId, Epoch, Offset)],
    ) {
        self.mark("kip-966-recovery");
        let members: Vec<BrokerId> = candidates.iter().map(|c| c.0).collect();
        self.recoveries
            .entry(partition)
            .or_default()
            .push((now, members.clone()));
        self.step_note(
            now,
            format!("controller: no ISR or ELR member left; KIP-966's recovery elects broker {leader}, the longest log among the last known ELR {members:?} (log ends {candidates:?})"),
        );
    }
}
