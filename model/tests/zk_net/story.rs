//! The ZooKeeper stories as data (`model/testdata/zookeeper/*.txt`, run by `zookeeper.rs`).
//!
//! Commands (`name=value`; a list is `(a,b)`):
//! - `ensemble servers=(1,2,3) seed=S [tick=MS] [sync=TICKS] [forceSync=yes|no] [flaw=NAME]`:
//!   a new ensemble (`tickTime`, `syncLimit`, `forceSync`; ZooKeeper's defaults otherwise),
//!   delays drawn from `S`.
//! - `client name=N [server=I] [timeout=MS]`: a client that first tries server I (the
//!   first listed), then the next ones in turn, and asks for that session timeout (4000).
//! - `create client=N [data=D] [mode=persistent|ephemeral|persistent-sequential|
//!   ephemeral-sequential]`, `delete client=N [version=V]`, `set client=N data=D
//!   [version=V]`, `get|exists|ls client=N [watch=true]`, `sync client=N`, each with the
//!   znode's path on the next line, and `close client=N`: the client issues the operation,
//!   then time runs `then=MS` (300).
//! - `run ms=MS`; `crash server=I`, `restart server=I`, `power-loss servers=(I,..)` (a crash
//!   that keeps only what was fsynced), `isolate servers=(I,..)`, `heal`;
//!   `pause client=N`, `resume client=N` (a paused client sends nothing).
//! - `tree server=I`: that server's znodes.
//! - `brokers ids=(1,2,3) [partitions=N] [session=MS] [old=controller-epoch|broker-epoch|
//!   conditional-isr]`: ZooKeeper-mode Kafka brokers, every partition on each of them, with
//!   `zookeeper.session.timeout.ms` (4000) and one ZooKeeper-era rule as it was before its
//!   fix; `crash-broker id=B`, `restart-broker id=B`, `cut-broker id=B` (from ZooKeeper
//!   only; `heal` mends it).
//!
//! After each command: what happened since the last one (elections, answers, watches,
//! expiries), each server and client, and the observer's count of checks and findings.

use bytes::Bytes;
use datadriven::{DataDrivenError, TestCase};
use ksim_model::kafka_zk::broker::ZkRules;
use ksim_model::quorum::{NodeIndex, Role};
use ksim_model::zookeeper::*;
use ksim_model::{BrokerId, Named, SelfTest, ZkFlaw};

use super::client::{self, Client};
use super::Net;

#[derive(Default)]
pub struct ZkStory {
    net: Option<Net>,
}

fn arg_err(msg: String) -> DataDrivenError {
    DataDrivenError::Argument(msg)
}

impl ZkStory {
    pub fn command(&mut self, tc: &mut TestCase) -> Result<String, DataDrivenError> {
        let mut out = String::new();
        match tc.directive.as_str() {
            "ensemble" => self.ensemble(tc)?,
            "client" => {
                let name: String = tc.take_arg("name")?;
                let servers = self.net().cfg.servers.clone();
                let first = match tc.try_take_arg::<NodeIndex>("server")? {
                    Some(id) => servers
                        .iter()
                        .position(|s| *s == id)
                        .ok_or_else(|| arg_err(format!("no server {id}")))?,
                    None => 0,
                };
                let timeout = tc.try_take_arg("timeout")?.unwrap_or(4_000);
                let client = Client::new(&name, servers, first, timeout);
                self.net().clients.push(client);
            }
            "run" => {
                let ms = tc.take_arg("ms")?;
                self.net().run_for(ms);
            }
            "crash" => {
                let id = tc.take_arg("server")?;
                self.net().crash(id);
            }
            "restart" => {
                let id = tc.take_arg("server")?;
                self.net().restart(id);
            }
            "power-loss" => {
                let ids: Vec<NodeIndex> = tc.take_args("servers")?;
                for id in ids {
                    self.net().power_loss(id);
                }
            }
            "isolate" => {
                let side: Vec<NodeIndex> = tc.take_args("servers")?;
                self.net().isolate(&side);
            }
            "heal" => self.net().heal(),
            "brokers" => self.brokers(tc)?,
            "crash-broker" => {
                let id = tc.take_arg("id")?;
                self.net().crash_broker(id);
            }
            "restart-broker" => {
                let id = tc.take_arg("id")?;
                self.net().restart_broker(id);
            }
            "cut-broker" => {
                let id = tc.take_arg("id")?;
                self.net().isolate_broker_from_zookeeper(id);
            }
            "pause" | "resume" => {
                let k = self.client(tc)?;
                self.net().clients[k].paused = tc.directive == "pause";
            }
            "tree" => {
                let id = tc.take_arg("server")?;
                out = self.tree(id);
            }
            _ => {
                let k = self.client(tc)?;
                let op = op(tc)?;
                let then = tc.try_take_arg("then")?.unwrap_or(300);
                client::submit(self.net(), k, op);
                self.net().run_for(then);
            }
        }
        tc.expect_empty()?;
        Ok(out + &show(self.net()))
    }

    fn ensemble(&mut self, tc: &mut TestCase) -> Result<(), DataDrivenError> {
        let servers: Vec<NodeIndex> = tc.take_args("servers")?;
        let seed = tc.take_arg("seed")?;
        let mut cfg = ZkConfig::new(servers);
        if let Some(tick) = tc.try_take_arg("tick")? {
            cfg.tick_time_ms = tick;
        }
        if let Some(sync) = tc.try_take_arg("sync")? {
            cfg.sync_limit = sync;
        }
        if let Some(force) = tc.try_take_arg::<String>("forceSync")? {
            cfg.force_sync = match force.as_str() {
                "yes" => true,
                "no" => false,
                other => return Err(arg_err(format!("forceSync={other}: yes or no"))),
            };
        }
        let mut selftest = SelfTest::default();
        if let Some(name) = tc.try_take_arg::<String>("flaw")? {
            selftest.zk_flaw =
                ZkFlaw::from_name(&name).ok_or_else(|| arg_err(format!("unknown flaw {name}")))?;
        }
        self.net = Some(Net::new(seed, cfg, selftest));
        Ok(())
    }

    fn brokers(&mut self, tc: &mut TestCase) -> Result<(), DataDrivenError> {
        let ids: Vec<BrokerId> = tc.take_args("ids")?;
        let partitions = tc.try_take_arg("partitions")?.unwrap_or(1);
        let session = tc.try_take_arg("session")?.unwrap_or(4_000);
        let mut rules = ZkRules::default();
        if let Some(off) = tc.try_take_arg::<String>("old")? {
            match off.as_str() {
                "controller-epoch" => rules.controller_epoch_fencing = false,
                "broker-epoch" => rules.broker_epoch_fencing = false,
                "conditional-isr" => rules.conditional_isr_update = false,
                other => return Err(arg_err(format!("unknown old rule {other}"))),
            }
        }
        self.net().add_brokers(&ids, partitions, session, rules);
        Ok(())
    }

    fn net(&mut self) -> &mut Net {
        self.net.as_mut().expect("an `ensemble` command first")
    }

    fn client(&mut self, tc: &mut TestCase) -> Result<usize, DataDrivenError> {
        let name: String = tc.take_arg("client")?;
        self.net()
            .clients
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| arg_err(format!("no client {name}")))
    }

    fn tree(&mut self, id: NodeIndex) -> String {
        let Some(server) = self.net().server(id) else {
            return format!("server {id} is down\n");
        };
        let mut s = format!("server {id}'s tree at {}:\n", server.tree().last_zxid());
        for (path, node) in server.tree().znodes() {
            let owner = node
                .stat
                .ephemeral_owner
                .map(|o| format!(" ephemeral of 0x{o:x}"))
                .unwrap_or_default();
            s += &format!(
                "  {path} '{}' v{} czxid {}{owner}\n",
                String::from_utf8_lossy(&node.data),
                node.stat.version,
                node.stat.czxid
            );
        }
        s
    }
}

/// The operation a client command names.
fn op(tc: &mut TestCase) -> Result<ZkOp, DataDrivenError> {
    let directive = tc.directive.clone();
    if directive == "close" {
        return Ok(ZkOp::CloseSession);
    }
    let path = tc.input.trim().to_string();
    if path.is_empty() {
        return Err(arg_err(format!(
            "{directive}: the znode's path on the next line"
        )));
    }
    let data = |tc: &mut TestCase| -> Result<Bytes, DataDrivenError> {
        Ok(Bytes::from(
            tc.try_take_arg::<String>("data")?.unwrap_or_default(),
        ))
    };
    let version = |tc: &mut TestCase| -> Result<i32, DataDrivenError> {
        Ok(tc.try_take_arg("version")?.unwrap_or(-1))
    };
    let watch = |tc: &mut TestCase| -> Result<bool, DataDrivenError> {
        Ok(tc.try_take_arg("watch")?.unwrap_or(false))
    };
    Ok(match directive.as_str() {
        "create" => {
            let mode: String = tc.try_take_arg("mode")?.unwrap_or("persistent".into());
            ZkOp::Create {
                path,
                data: data(tc)?,
                ephemeral: mode.starts_with("ephemeral"),
                sequential: mode.ends_with("sequential"),
            }
        }
        "delete" => ZkOp::Delete {
            path,
            version: version(tc)?,
        },
        "set" => ZkOp::SetData {
            path,
            data: data(tc)?,
            version: version(tc)?,
        },
        "get" => ZkOp::GetData {
            path,
            watch: watch(tc)?,
        },
        "exists" => ZkOp::Exists {
            path,
            watch: watch(tc)?,
        },
        "ls" => ZkOp::GetChildren {
            path,
            watch: watch(tc)?,
        },
        "sync" => ZkOp::Sync { path },
        other => return Err(arg_err(format!("unknown command {other}"))),
    })
}

/// What happened since the last command, then every server and client.
fn show(net: &mut Net) -> String {
    let mut s = format!("t={}\n", net.now_ms);
    for line in std::mem::take(&mut net.log) {
        s += &format!("  {line}\n");
    }
    for (id, server) in &net.servers {
        let Some(server) = server else {
            s += &format!("  server {id} down\n");
            continue;
        };
        let role = match server.quorum().role() {
            Role::Leader => "leader",
            Role::Follower { .. } => "follower",
            Role::Candidate => "looking",
        };
        let tree = server.tree();
        s += &format!(
            "  server {id} {role:<8} epoch {} {} zxid {} sessions {} znodes {}\n",
            server.quorum().term(),
            if server.serving() {
                "serving"
            } else {
                "not serving"
            },
            tree.last_zxid(),
            tree.sessions().len(),
            tree.znodes().count(),
        );
    }
    for (b, zb) in &net.brokers {
        s += &super::brokers::show_broker(*b, zb.as_ref());
    }
    for c in &net.clients {
        let session =
            c.zk.session()
                .map(|x| format!("session 0x{x:x}"))
                .unwrap_or_else(|| "no session".into());
        let server = match (c.conn, c.zk.server()) {
            (Some(_), Some(id)) => format!("on server {id}"),
            _ => "disconnected".into(),
        };
        let last = c.zk.last_zxid();
        s += &format!(
            "  client {}: {server}, {session}, last zxid {last}\n",
            c.name
        );
    }
    if net.violations.is_empty() {
        s += &format!(
            "observer: {} checks, found nothing\n",
            net.observer.checks()
        );
    } else {
        s += &format!("observer: {} checks, found:\n", net.observer.checks());
        for v in &net.violations {
            s += &format!("  {v}\n");
        }
    }
    s
}
