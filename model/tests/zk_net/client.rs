//! The stories' clients: a `ZkClient` each, its connection carried by the `Net`, and what it
//! hears written to the story's log.

use bytes::Bytes;
use ksim_model::zookeeper::*;
use ksim_model::ConnId;

use super::{Msg, Net};

pub struct Client {
    pub name: String,
    pub zk: ZkClient,
    /// The connection the client's `ZkClient` is on, as the net names it.
    pub conn: Option<ConnId>,
    /// Sends nothing and hears no time pass (a long GC pause): its session expires.
    pub paused: bool,
}

impl Client {
    pub fn new(name: &str, servers: Vec<u32>, first_server: usize, timeout_ms: u64) -> Client {
        Client {
            name: name.to_string(),
            zk: ZkClient::new(servers, first_server, timeout_ms),
            conn: None,
            paused: false,
        }
    }
}

/// Issue `op` now if connected with a session, else once connected.
pub fn submit(net: &mut Net, k: usize, op: ZkOp) {
    let now = net.now_ms;
    let (_, ready) = net.clients[k].zk.submit(now, op);
    carry(net, k, ready);
}

pub fn tick(net: &mut Net, k: usize) {
    if net.clients[k].paused {
        return;
    }
    let now = net.now_ms;
    let ready = net.clients[k].zk.step(now, ZkClientInput::Tick);
    carry(net, k, ready);
}

pub fn closed(net: &mut Net, k: usize, conn: ConnId) {
    if net.clients[k].conn == Some(conn) {
        net.clients[k].conn = None;
        let now = net.now_ms;
        let ready = net.clients[k].zk.step(now, ZkClientInput::Closed);
        carry(net, k, ready);
    }
}

pub fn receive(net: &mut Net, k: usize, conn: ConnId, resp: ZkResponse) {
    if net.clients[k].conn != Some(conn) {
        return;
    }
    let session = net.clients[k].zk.session();
    let now = net.now_ms;
    let ready = net.clients[k].zk.step(now, ZkClientInput::Response(resp));
    if let Some(session) = session {
        for zxid in &ready.answered_at {
            if let Some(v) = net.observer.client_saw(session, *zxid) {
                net.violations.push(v);
            }
        }
    }
    carry(net, k, ready);
}

/// Carry out what the client asked of its connection, and log what it heard.
fn carry(net: &mut Net, k: usize, ready: ZkClientReady) {
    for send in ready.sends {
        match send {
            ZkSend::Connect { server, request } => {
                let conn = net.connect(super::Endpoint::Client(k), server, request);
                net.clients[k].conn = Some(conn);
            }
            ZkSend::Request(request) => {
                let conn = net.clients[k].conn.expect("a request goes on a connection");
                let server = net.conns[&conn].1;
                net.send(Msg::Request(conn, server, request));
            }
            ZkSend::Close => {
                if let Some(conn) = net.clients[k].conn.take() {
                    // Sent while the net still knows the connection's link, then forgotten.
                    let server = net.conns[&conn].1;
                    net.send(Msg::Gone(conn, server));
                    net.conns.remove(&conn);
                }
            }
        }
    }
    let name = net.clients[k].name.clone();
    for event in ready.events {
        net.log.push(format!("{name}: {}", heard(&event)));
    }
}

fn heard(event: &ZkEvent) -> String {
    match event {
        ZkEvent::Connected {
            server,
            session,
            timeout_ms,
            fresh,
        } => {
            let what = if *fresh { "new session" } else { "session" };
            format!("connected to server {server}, {what} 0x{session:x}, timeout {timeout_ms} ms")
        }
        ZkEvent::Answer {
            xid,
            op,
            zxid,
            result,
        } => format!(
            "xid {xid} {} -> {} at {zxid}",
            describe(op),
            outcome(result)
        ),
        ZkEvent::ConnectionLoss { xid, op } => {
            format!("xid {xid} {} -> CONNECTIONLOSS", describe(op))
        }
        ZkEvent::Watch { path, kind } => format!("watch {kind:?} {path}"),
        ZkEvent::Expired { session } => format!("session 0x{session:x} expired"),
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
        ZkOp::SetWatches { .. } => "setWatches".into(),
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
        Ok(ZkAnswer::WatchesSet) => "watches set".into(),
        Ok(ZkAnswer::Closed) => "closed".into(),
    }
}
