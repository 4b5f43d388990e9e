//! A test client as ZooKeeper's Java client behaves: it connects to the servers in turn, pings
//! every third of its session timeout, gives a connection up after two thirds of it without
//! an answer and moves its session to the next server, presenting the last zxid it saw.

use std::collections::BTreeMap;

use bytes::Bytes;
use ksim_model::quorum::NodeIndex;
use ksim_model::zookeeper::*;
use ksim_model::ConnId;

use super::{Msg, Net};

pub struct Client {
    pub name: String,
    pub conn: Option<ConnId>,
    pub server: Option<NodeIndex>,
    pub session: Option<SessionId>,
    /// Asked for, then as negotiated.
    pub timeout_ms: u64,
    pub last_zxid: Zxid,
    pub next_xid: u64,
    /// Sent on the current connection, by xid.
    pub pending: BTreeMap<u64, ZkOp>,
    /// Waiting for a connection with a session.
    pub queued: Vec<ZkOp>,
    pub last_heard_ms: u64,
    pub last_sent_ms: u64,
    /// Which server to try next, as an index into the ensemble's list.
    pub next_server: usize,
    /// Sends nothing (a long GC pause): its session expires.
    pub paused: bool,
    pub expired: bool,
}

impl Client {
    pub fn new(name: &str, first_server: usize, timeout_ms: u64) -> Client {
        Client {
            name: name.to_string(),
            conn: None,
            server: None,
            session: None,
            timeout_ms,
            last_zxid: Zxid::default(),
            next_xid: 1,
            pending: BTreeMap::new(),
            queued: Vec::new(),
            last_heard_ms: 0,
            last_sent_ms: 0,
            next_server: first_server,
            paused: false,
            expired: false,
        }
    }
}

/// Issue `op` now if connected with a session, else once connected.
pub fn submit(net: &mut Net, k: usize, op: ZkOp) {
    net.clients[k].queued.push(op);
    flush(net, k);
}

fn flush(net: &mut Net, k: usize) {
    let now = net.now_ms;
    let c = &mut net.clients[k];
    let (Some(conn), Some(_), Some(server)) = (c.conn, c.session, c.server) else {
        return;
    };
    let mut sends = Vec::new();
    for op in std::mem::take(&mut c.queued) {
        let xid = c.next_xid;
        c.next_xid += 1;
        c.pending.insert(xid, op.clone());
        c.last_sent_ms = now;
        sends.push(ZkRequest::Op { xid, op });
    }
    for request in sends {
        net.send(Msg::Request(conn, server, request));
    }
}

pub fn tick(net: &mut Net, k: usize) {
    let now = net.now_ms;
    let c = &net.clients[k];
    if c.paused || c.expired {
        return;
    }
    match c.conn {
        None => {
            let ids = net.cfg.servers.clone();
            let c = &mut net.clients[k];
            let server = ids[c.next_server % ids.len()];
            c.next_server += 1;
            c.server = Some(server);
            c.last_heard_ms = now;
            c.last_sent_ms = now;
            let request = ZkRequest::Connect {
                session: c.session,
                timeout_ms: c.timeout_ms,
                last_zxid_seen: c.last_zxid,
            };
            let conn = net.connect(k, server, request);
            net.clients[k].conn = Some(conn);
        }
        Some(conn) if now.saturating_sub(c.last_heard_ms) > c.timeout_ms * 2 / 3 => {
            let server = c.server.expect("connected");
            net.conns.remove(&conn);
            net.send(Msg::Gone(conn, server));
            lost(net, k);
        }
        Some(_) if c.session.is_some() && now - c.last_sent_ms >= c.timeout_ms / 3 => {
            submit(net, k, ZkOp::Ping)
        }
        Some(_) => {}
    }
}

/// The connection is gone: what was in flight on it has an unknown outcome.
fn lost(net: &mut Net, k: usize) {
    let c = &mut net.clients[k];
    c.conn = None;
    let pending = std::mem::take(&mut c.pending);
    let name = c.name.clone();
    for (xid, op) in pending {
        if op != ZkOp::Ping {
            net.log.push(format!(
                "{name}: xid {xid} {} -> CONNECTIONLOSS",
                describe(&op)
            ));
        }
    }
}

pub fn closed(net: &mut Net, k: usize, conn: ConnId) {
    if net.clients[k].conn == Some(conn) {
        lost(net, k);
    }
}

pub fn receive(net: &mut Net, k: usize, conn: ConnId, resp: ZkResponse) {
    let now = net.now_ms;
    let c = &mut net.clients[k];
    if c.conn != Some(conn) {
        return;
    }
    c.last_heard_ms = now;
    let name = c.name.clone();
    match resp {
        ZkResponse::Connected {
            session,
            timeout_ms,
        } => {
            let fresh = c.session != Some(session);
            c.session = Some(session);
            c.timeout_ms = timeout_ms;
            let server = c.server.expect("connecting");
            let what = if fresh { "new session" } else { "session" };
            net.log.push(format!(
                "{name}: connected to server {server}, {what} 0x{session:x}, timeout {timeout_ms} ms"
            ));
            flush(net, k);
        }
        ZkResponse::Reply { xid, zxid, result } => {
            let session = c.session.expect("answers come with a session");
            c.last_zxid = c.last_zxid.max(zxid);
            let op = c.pending.remove(&xid);
            if let Some(v) = net.observer.client_saw(session, zxid) {
                net.violations.push(v);
            }
            match op {
                Some(ZkOp::Ping) | None => {}
                Some(op) => net.log.push(format!(
                    "{name}: xid {xid} {} -> {} at {zxid}",
                    describe(&op),
                    outcome(&result)
                )),
            }
        }
        ZkResponse::Watch { path, kind } => {
            net.log.push(format!("{name}: watch {kind:?} {path}"));
        }
        ZkResponse::Expired { session } => {
            c.expired = true;
            c.session = None;
            net.log
                .push(format!("{name}: session 0x{session:x} expired"));
        }
    }
}

pub fn describe(op: &ZkOp) -> String {
    match op {
        ZkOp::Create {
            path,
            ephemeral,
            sequential,
            data,
        } => {
            let flags = match (ephemeral, sequential) {
                (true, true) => " -e -s",
                (true, false) => " -e",
                (false, true) => " -s",
                (false, false) => "",
            };
            format!("create{flags} {path} '{}'", text(data))
        }
        ZkOp::Delete { path, version } => format!("delete {path} v{version}"),
        ZkOp::SetData {
            path,
            data,
            version,
        } => format!("set {path} '{}' v{version}", text(data)),
        ZkOp::GetData { path, watch } => format!("get{} {path}", watch_flag(*watch)),
        ZkOp::Exists { path, watch } => format!("exists{} {path}", watch_flag(*watch)),
        ZkOp::GetChildren { path, watch } => format!("ls{} {path}", watch_flag(*watch)),
        ZkOp::Sync { path } => format!("sync {path}"),
        ZkOp::Ping => "ping".into(),
        ZkOp::CloseSession => "close".into(),
    }
}

fn watch_flag(watch: bool) -> &'static str {
    if watch {
        " -w"
    } else {
        ""
    }
}

fn text(b: &Bytes) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn outcome(result: &Result<ZkAnswer, ZkError>) -> String {
    match result {
        Err(e) => e.name().to_string(),
        Ok(ZkAnswer::Created { path, stat }) => match stat.ephemeral_owner {
            Some(s) => format!("created {path} (ephemeral of 0x{s:x})"),
            None => format!("created {path}"),
        },
        Ok(ZkAnswer::Deleted) => "deleted".into(),
        Ok(ZkAnswer::SetData(stat)) => format!("version {}", stat.version),
        Ok(ZkAnswer::Data { data, stat }) => {
            format!(
                "'{}' version {} mzxid {}",
                text(data),
                stat.version,
                stat.mzxid
            )
        }
        Ok(ZkAnswer::Exists(Some(stat))) => format!("exists, version {}", stat.version),
        Ok(ZkAnswer::Exists(None)) => "absent".into(),
        Ok(ZkAnswer::Children(names)) => format!("[{}]", names.join(", ")),
        Ok(ZkAnswer::Synced) => "synced".into(),
        Ok(ZkAnswer::Pong) => "pong".into(),
        Ok(ZkAnswer::Closed) => "closed".into(),
    }
}
