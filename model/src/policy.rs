//! The historical switches that act in more than one place, each as named policies of
//! `Protocol`: the rule (with its KIP) reads here once, and the broker and the controller ask
//! it where it acts.

use crate::config::{Protocol, Truncation};
use crate::ids::*;

impl Protocol {
    // ---------------------------------------------------------------- KIP-320: fetch epochs

    /// Whether a fetch answer belongs to the role this follower has now. KIP-320: the answer
    /// of a fetch sent in this leader epoch; before it (no epochs on fetches), any answer from
    /// the broker this replica follows.
    pub fn takes_fetch_answer(
        self,
        (answer_epoch, from): (Epoch, NodeId),
        (leader_epoch, leader): (Epoch, BrokerId),
    ) -> bool {
        if self.fetch_epoch_fencing {
            answer_epoch == leader_epoch
        } else {
            from == NodeId::Broker(leader)
        }
    }

    /// The epochs a follower's fetch carries, `(last_fetched_epoch, current_leader_epoch)`,
    /// -1 for none. KIP-320 puts both on every fetch. Without it the follower asks about its
    /// epoch only after it learned of a new leader epoch (KIP-101's OffsetForLeaderEpoch,
    /// modelled as that first fetch), and before KIP-101 never; the leader epoch is not sent.
    pub fn fetch_epochs(
        self,
        needs_epoch_check: bool,
        latest_cached_epoch: Epoch,
        leader_epoch: Epoch,
    ) -> (Epoch, Epoch) {
        let validate = self.truncation != Truncation::HighWatermark
            && (self.fetch_epoch_fencing || needs_epoch_check);
        let last_fetched = if validate { latest_cached_epoch } else { -1 };
        let current = if self.fetch_epoch_fencing {
            leader_epoch
        } else {
            -1
        };
        (last_fetched, current)
    }

    // ------------------------------------------------- KIP-966: strict min.insync.replicas

    /// Whether the leader's HW waits while the ISR is below `min.insync.replicas`. KIP-966:
    /// it does; before it the HW advanced over whatever ISR was left.
    pub fn hw_waits_for_min_isr(self, isr_len: usize, min_isr: usize) -> bool {
        self.strict_min_isr && isr_len < min_isr
    }

    /// Whether fencing a broker removes it from an ISR of `isr_len` members. KIP-966: always
    /// (the last member leaves too, and stays eligible in the ELR); before it, never the last.
    pub fn fence_leaves_isr(self, isr_len: usize) -> bool {
        self.strict_min_isr || isr_len > 1
    }

    /// Whether the controller keeps eligible leader replicas (ELR, the last known ELR and the
    /// balanced recovery among them). KIP-966 only.
    pub fn keeps_elr(self) -> bool {
        self.strict_min_isr
    }

    /// Whether a broker's restart counts as an unclean shutdown that takes it out of every ISR
    /// and ELR. KIP-966: ksim has no controlled shutdown, so every restart does; before it, a
    /// restarted last ISR member was elected again even after losing data.
    pub fn restart_leaves_isr(self) -> bool {
        self.strict_min_isr
    }
}
