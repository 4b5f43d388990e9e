//! The quorum's stories as data (`model/testdata/quorum/*.txt`, run by `quorum.rs`): each
//! command is run on a `Net`, and the output shows every voter after it.
//!
//! Commands (`name=value`; a list is `(a,b)`):
//! - `voters ids=(1,2,3) seed=S`: a new network of those voters, its delays drawn from `S`.
//! - `run ms=MS`: deliver and tick for that long.
//! - `propose [n=N]`: the leader of the highest term takes N new values (1); prints each
//!   value and its index.
//! - `crash node=I`, `restart node=I`, `isolate nodes=(I,..)` (from the rest), `heal`.
//!
//! After each command: the time, each voter's role, term, leader, commit index, log length and
//! the values it applied; and how many of the observer's checks ran and what it found.

use datadriven::{DataDrivenError, TestCase};
use ksim_model::quorum::*;

use super::Net;

#[derive(Default)]
pub struct QuorumStory {
    net: Option<Net>,
}

impl QuorumStory {
    pub fn command(&mut self, tc: &mut TestCase) -> Result<String, DataDrivenError> {
        let mut note = String::new();
        match tc.directive.as_str() {
            "voters" => {
                let ids: Vec<NodeIndex> = tc.take_args("ids")?;
                let seed = tc.take_arg("seed")?;
                self.net = Some(Net::new(seed, QuorumConfig::new(ids)));
            }
            "run" => {
                let ms = tc.take_arg("ms")?;
                self.net().run_for(ms);
            }
            "propose" => note = self.propose(tc.try_take_arg("n")?.unwrap_or(1)),
            "crash" => {
                let id = tc.take_arg("node")?;
                self.net().crash(id);
            }
            "restart" => {
                let id = tc.take_arg("node")?;
                self.net().restart(id);
            }
            "isolate" => {
                let side: Vec<NodeIndex> = tc.take_args("nodes")?;
                self.net().isolate(&side);
            }
            "heal" => self.net().heal(),
            other => {
                return Err(DataDrivenError::Argument(format!(
                    "unknown command {other}"
                )))
            }
        }
        tc.expect_empty()?;
        Ok(note + &show(self.net()))
    }

    fn net(&mut self) -> &mut Net {
        self.net.as_mut().expect("a `voters` command first")
    }

    fn propose(&mut self, n: usize) -> String {
        let taken: Vec<String> = (0..n)
            .map(|_| match self.net().propose() {
                Some((value, index)) => format!("{value}@{index}"),
                None => "nothing (no leader)".into(),
            })
            .collect();
        format!("proposed {}\n", taken.join(" "))
    }
}

fn show(net: &Net) -> String {
    let mut out = format!("t={}\n", net.now_ms);
    for id in net.cfg.voters.clone() {
        let Some(node) = net.nodes[&id].as_ref() else {
            out += &format!("  {id} down\n");
            continue;
        };
        let role = match node.role() {
            Role::Leader => "leader   ",
            Role::Candidate => "candidate",
            Role::Follower { .. } => "follower ",
        };
        let leader = node.leader().map_or("none".into(), |l| l.to_string());
        let applied: Vec<String> = net.applied_values(id).iter().map(u64::to_string).collect();
        out += &format!(
            "  {id} {role} term {} leader {leader} commit {} log {} applied [{}]\n",
            node.term(),
            node.commit_index(),
            node.log().len(),
            applied.join(" ")
        );
    }
    let found = match net.violations.len() {
        0 => "nothing".to_string(),
        n => format!("{n} violations: {}", net.violations.join("; ")),
    };
    out + &format!(
        "observer: {} checks, found {found}\n",
        net.observer.checks()
    )
}
