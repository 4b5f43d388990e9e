//! Kafka-like connections over madsim: each node listens on one address; a request to a peer
//! goes over this node's single connection to it, opened on demand. madsim's reliable
//! connection channel (`Endpoint::connect1`) carries boxed messages without serializing them
//! and keeps them in order; a killed peer resets the connection. A request that gets no answer
//! within the timeout (a clogged link delays, it never fails) closes the connection, as
//! Kafka's `request.timeout.ms` does; the node then hears `Disconnected` and must treat what
//! it had in flight as of unknown outcome.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ksim_model::{ConnId, Message, NodeId, Request, Response};
use madsim::net::{Endpoint, Sender};
use madsim::time::{sleep_until, Instant};
use tokio::sync::{mpsc, watch};

use crate::observer::Stats;

pub const PORT: u16 = 9092;

/// The address of a simulated node.
pub fn addr_of(node: NodeId) -> SocketAddr {
    let ip = match node {
        NodeId::Controller(c) => Ipv4Addr::new(10, 0, 0, c as u8),
        NodeId::Broker(b) => Ipv4Addr::new(10, 0, 1, b as u8),
        NodeId::Client(c) => Ipv4Addr::new(10, 0, 2, c as u8),
    };
    SocketAddr::new(IpAddr::V4(ip), PORT)
}

/// The node behind an address (the inverse of `addr_of`).
pub fn node_of(addr: SocketAddr) -> Option<NodeId> {
    let IpAddr::V4(ip) = addr.ip() else {
        return None;
    };
    let [a, b, c, d] = ip.octets();
    match (a, b, c) {
        (10, 0, 0) => Some(NodeId::Controller(d as u32)),
        (10, 0, 1) => Some(NodeId::Broker(d as i32)),
        (10, 0, 2) => Some(NodeId::Client(d as u32)),
        _ => None,
    }
}

/// What a node's network hands it.
#[derive(Debug)]
pub enum Inbound {
    Request {
        conn: ConnId,
        from: NodeId,
        request: Request,
    },
    Response {
        from: NodeId,
        response: Response,
    },
    /// The connection (generation `generation`) to `peer` broke or timed out. `refused`: it
    /// never opened, so nothing queued on it was sent.
    Disconnected {
        peer: NodeId,
        generation: u64,
        refused: bool,
    },
}

struct Outgoing {
    generation: u64,
    tx: mpsc::UnboundedSender<Request>,
}

/// One node's connections.
pub struct NodeNet {
    ep: Arc<Endpoint>,
    inbox_tx: mpsc::UnboundedSender<Inbound>,
    inbox: mpsc::UnboundedReceiver<Inbound>,
    accepted: Arc<Mutex<BTreeMap<ConnId, Sender>>>,
    outgoing: BTreeMap<NodeId, Outgoing>,
    next_generation: u64,
    request_timeout: Duration,
    stats: Arc<Mutex<Stats>>,
}

impl NodeNet {
    /// Bind this node's address and start accepting connections.
    /// `shutdown` ends the accept loop at the end of a run (see `run::Ctx::shutdown`).
    pub async fn bind(
        me: NodeId,
        request_timeout: Duration,
        stats: Arc<Mutex<Stats>>,
        shutdown: watch::Receiver<bool>,
    ) -> NodeNet {
        let ep = Arc::new(
            Endpoint::bind(addr_of(me))
                .await
                .expect("bind node address"),
        );
        let (inbox_tx, inbox) = mpsc::unbounded_channel();
        let accepted: Arc<Mutex<BTreeMap<ConnId, Sender>>> = Arc::default();
        madsim::task::spawn(accept_loop(
            ep.clone(),
            inbox_tx.clone(),
            accepted.clone(),
            shutdown,
        ));
        NodeNet {
            ep,
            inbox_tx,
            inbox,
            accepted,
            outgoing: BTreeMap::new(),
            next_generation: 1,
            request_timeout,
            stats,
        }
    }

    /// The next inbound event; `None` never happens while the node lives (we hold a sender).
    pub async fn recv(&mut self) -> Inbound {
        loop {
            let msg = self
                .inbox
                .recv()
                .await
                .expect("inbox sender held by the node itself");
            if let Inbound::Disconnected {
                peer, generation, ..
            } = &msg
            {
                // Only the current connection's failure matters; an older one was replaced.
                match self.outgoing.get(peer) {
                    Some(o) if o.generation == *generation => {
                        self.outgoing.remove(peer);
                    }
                    _ => continue,
                }
            }
            return msg;
        }
    }

    /// Send a request to `node` on this node's connection to it.
    pub fn send(&mut self, node: NodeId, request: Request) {
        self.stats.lock().expect("stats lock").count(request.kind());
        let request = match self.outgoing.get(&node) {
            Some(out) => match out.tx.send(request) {
                Ok(()) => return,
                // The connection task has ended: open a new connection below.
                Err(mpsc::error::SendError(request)) => request,
            },
            None => request,
        };
        let generation = self.next_generation;
        self.next_generation += 1;
        let (tx, rx) = mpsc::unbounded_channel();
        tx.send(request).expect("fresh channel");
        madsim::task::spawn(outgoing_loop(
            self.ep.clone(),
            node,
            generation,
            rx,
            self.inbox_tx.clone(),
            self.request_timeout,
        ));
        self.outgoing.insert(node, Outgoing { generation, tx });
    }

    /// Answer on the connection the request came in on (dropped if it has closed).
    pub async fn reply(&mut self, conn: ConnId, response: Response) {
        {
            let mut stats = self.stats.lock().expect("stats lock");
            stats.count(response.kind());
            if let Some(e) = response.error() {
                stats.error(e.name());
            }
        }
        let msg = Message::Response(response);
        let sender = self.accepted.lock().expect("accepted lock").remove(&conn);
        if let Some(tx) = sender {
            if tx.send(Box::new(msg)).await.is_ok() {
                self.accepted
                    .lock()
                    .expect("accepted lock")
                    .insert(conn, tx);
            }
        }
    }

    /// Close the connection to `peer` (a client whose request timed out does this).
    pub fn close(&mut self, peer: NodeId) {
        self.outgoing.remove(&peer);
    }
}

async fn accept_loop(
    ep: Arc<Endpoint>,
    inbox: mpsc::UnboundedSender<Inbound>,
    accepted: Arc<Mutex<BTreeMap<ConnId, Sender>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut next_conn: ConnId = 1;
    loop {
        let accepted_conn = tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            a = ep.accept1() => a,
        };
        let Ok((tx, mut rx, addr)) = accepted_conn else {
            return;
        };
        let conn = next_conn;
        next_conn += 1;
        let Some(from) = node_of(addr) else { continue };
        accepted.lock().expect("accepted lock").insert(conn, tx);
        let inbox = inbox.clone();
        let accepted = accepted.clone();
        madsim::task::spawn(async move {
            while let Ok(payload) = rx.recv().await {
                let Ok(msg) = payload.downcast::<Message>() else {
                    continue;
                };
                if let Message::Request(request) = *msg {
                    if inbox
                        .send(Inbound::Request {
                            conn,
                            from,
                            request,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
            }
            accepted.lock().expect("accepted lock").remove(&conn);
        });
    }
}

/// Whether the peer answers this request (LeaderAndIsr and acks=0 produce get no answer).
fn expects_response(request: &Request) -> bool {
    match request {
        Request::LeaderAndIsr { .. } | Request::Raft { .. } => false,
        Request::Produce { acks, .. } => *acks != ksim_model::Acks::None,
        _ => true,
    }
}

async fn outgoing_loop(
    ep: Arc<Endpoint>,
    peer: NodeId,
    generation: u64,
    mut requests: mpsc::UnboundedReceiver<Request>,
    inbox: mpsc::UnboundedSender<Inbound>,
    timeout: Duration,
) {
    let connected = ep.connect1(addr_of(peer)).await;
    let refused = connected.is_err();
    if let Ok((tx, mut rx)) = connected {
        let mut outstanding: usize = 0;
        let mut deadline: Option<Instant> = None;
        loop {
            let far = Instant::now() + Duration::from_secs(86_400);
            tokio::select! {
                biased;
                r = rx.recv() => {
                    let Ok(payload) = r else { break };
                    let Ok(msg) = payload.downcast::<Message>() else { continue };
                    let Message::Response(response) = *msg else { continue };
                    outstanding = outstanding.saturating_sub(1);
                    deadline = (outstanding > 0).then(|| Instant::now() + timeout);
                    if inbox.send(Inbound::Response { from: peer, response }).is_err() {
                        return;
                    }
                }
                q = requests.recv() => {
                    // The node dropped this connection: close it without a Disconnected.
                    let Some(request) = q else { return };
                    if expects_response(&request) {
                        outstanding += 1;
                        deadline.get_or_insert_with(|| Instant::now() + timeout);
                    }
                    if tx.send(Box::new(Message::Request(request))).await.is_err() {
                        break;
                    }
                }
                _ = sleep_until(deadline.unwrap_or(far)), if deadline.is_some() => break,
            }
        }
    }
    let _ = inbox.send(Inbound::Disconnected {
        peer,
        generation,
        refused,
    });
}
