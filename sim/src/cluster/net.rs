//! Kafka-like connections over madsim: each node listens on one address; a request to a peer
//! goes over this node's single connection to it, opened on demand. madsim's reliable
//! connection channel (`Endpoint::connect1`) carries boxed messages without serializing them
//! and keeps them in order; a killed peer resets the connection. A request that gets no answer
//! within the timeout (a clogged link delays, it never fails) closes the connection, as
//! Kafka's `request.timeout.ms` does; the node then hears `Disconnected` and must treat what
//! it had in flight as of unknown outcome.
//!
//! `LinkFaults` adds what madsim's clog cannot: latency on chosen links (each message waits,
//! in order, at its sender) and lost messages (a loss resets the connection it was sent on,
//! as a TCP connection whose retransmissions go unanswered does).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ksim_model::{ConnId, Message, NodeId, Request, Response};
use madsim::net::{Endpoint, Sender};
use madsim::time::{sleep_until, Instant};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::{mpsc, watch};

use crate::cluster::timer::Timer;
use crate::observer::Stats;

/// Consumer N is client `CONSUMER_BASE + N` (producers are clients 1..=64).
pub(crate) const CONSUMER_BASE: u32 = 100;

pub const PORT: u16 = 9092;

/// The address of a simulated node.
pub fn addr_of(node: NodeId) -> SocketAddr {
    let ip = match node {
        NodeId::Controller(c) => Ipv4Addr::new(10, 0, 0, c as u8),
        NodeId::Broker(b) => Ipv4Addr::new(10, 0, 1, b as u8),
        NodeId::Client(c) => Ipv4Addr::new(10, 0, 2, c as u8),
        NodeId::ZooKeeper(z) => Ipv4Addr::new(10, 0, 3, z as u8),
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
        (10, 0, 3) => Some(NodeId::ZooKeeper(d as u32)),
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
    /// An accepted connection closed (told only to a node that asked, `NodeNet::tell_closed`:
    /// a ZooKeeper server's sessions outlive their connections, so it must know).
    Closed {
        conn: ConnId,
        from: NodeId,
    },
}

/// Latency and loss on directed links (from, to), shared by every node of a run. Each fault
/// adds one entry; a link under several faults gets the largest latency and loss. A latency
/// may apply to one kind of message only (`Request::kind`): a backlogged controller queue
/// delays AlterPartition requests while heartbeats go through.
pub struct LinkFaults {
    latency_ms: BTreeMap<(NodeId, NodeId), Vec<Latency>>,
    loss_percent: BTreeMap<(NodeId, NodeId), Vec<u32>>,
    /// Which messages are lost (the run's loss stream).
    rng: ChaCha8Rng,
}

/// Extra latency in ms, on every message or only on one kind.
type Latency = (u64, Option<&'static str>);

/// What happens to one message.
#[derive(Debug, PartialEq, Eq)]
pub enum Fate {
    /// Delivered after this much extra latency, in order with the connection's other messages.
    Deliver(Duration),
    /// Delivered after this much extra latency, apart from the connection's other messages: a
    /// latency on one kind of request stands for that request's own channel (a Kafka broker
    /// sends AlterPartition on a controller channel of its own, apart from its heartbeats).
    Aside(Duration),
    /// Lost: its connection resets.
    Lose,
}

impl LinkFaults {
    pub fn new(rng: ChaCha8Rng) -> LinkFaults {
        LinkFaults {
            latency_ms: BTreeMap::new(),
            loss_percent: BTreeMap::new(),
            rng,
        }
    }

    /// Every message on `link` (or only those of kind `only`) waits `ms` more.
    pub fn add_latency(&mut self, link: (NodeId, NodeId), ms: u64, only: Option<&'static str>) {
        self.latency_ms.entry(link).or_default().push((ms, only));
    }

    pub fn add_loss(&mut self, link: (NodeId, NodeId), percent: u32) {
        self.loss_percent.entry(link).or_default().push(percent);
    }

    /// Undo one `add_latency(link, ms)`.
    pub fn remove_latency(&mut self, link: (NodeId, NodeId), ms: u64, only: Option<&'static str>) {
        remove_one(&mut self.latency_ms, link, (ms, only));
    }

    /// Undo one `add_loss(link, percent)`.
    pub fn remove_loss(&mut self, link: (NodeId, NodeId), percent: u32) {
        remove_one(&mut self.loss_percent, link, percent);
    }

    /// The fate of the next message from `from` to `to`, of kind `kind`.
    pub fn fate(&mut self, from: NodeId, to: NodeId, kind: &str) -> Fate {
        if self.latency_ms.is_empty() && self.loss_percent.is_empty() {
            return Fate::Deliver(Duration::ZERO);
        }
        let loss = self
            .loss_percent
            .get(&(from, to))
            .and_then(|v| v.iter().max().copied());
        if let Some(p) = loss {
            if self.rng.gen_range(0..100) < p {
                return Fate::Lose;
            }
        }
        let latency = |of_kind: bool| {
            self.latency_ms
                .get(&(from, to))
                .and_then(|v| {
                    v.iter()
                        .filter(|(_, only)| match only {
                            Some(k) => of_kind && *k == kind,
                            None => !of_kind,
                        })
                        .map(|(ms, _)| *ms)
                        .max()
                })
                .unwrap_or(0)
        };
        let (all, own) = (latency(false), latency(true));
        if own > all {
            Fate::Aside(Duration::from_millis(own))
        } else {
            Fate::Deliver(Duration::from_millis(all))
        }
    }
}

fn remove_one<T: PartialEq>(
    map: &mut BTreeMap<(NodeId, NodeId), Vec<T>>,
    link: (NodeId, NodeId),
    x: T,
) {
    if let Some(v) = map.get_mut(&link) {
        if let Some(i) = v.iter().position(|y| *y == x) {
            v.remove(i);
        }
        if v.is_empty() {
            map.remove(&link);
        }
    }
}

/// A handle on the run's link faults.
pub type SharedLinkFaults = Arc<Mutex<LinkFaults>>;

fn fate(links: &SharedLinkFaults, from: NodeId, to: NodeId, kind: &str) -> Fate {
    links
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .fate(from, to, kind)
}

struct Outgoing {
    generation: u64,
    tx: mpsc::UnboundedSender<Request>,
}

/// One node's connections.
pub struct NodeNet {
    me: NodeId,
    ep: Arc<Endpoint>,
    inbox_tx: mpsc::UnboundedSender<Inbound>,
    inbox: mpsc::UnboundedReceiver<Inbound>,
    /// Accepted connections: who opened each, and its sending half.
    accepted: Arc<Mutex<BTreeMap<ConnId, (NodeId, Sender)>>>,
    /// Accepted connections whose answers wait for latency: each has a task that sends them
    /// in order when they are due (the connection's sending half moved there).
    delayed: BTreeMap<ConnId, (NodeId, mpsc::UnboundedSender<(Instant, Message)>)>,
    links: SharedLinkFaults,
    outgoing: BTreeMap<NodeId, Outgoing>,
    /// Connections that broke and were replaced by a new one before the node heard of it:
    /// their `Disconnected` still reaches the node, since the requests on them are lost.
    replaced: BTreeSet<(NodeId, u64)>,
    /// Whether the accept loop reports each accepted connection's end (`Inbound::Closed`).
    tell_closed: Arc<std::sync::atomic::AtomicBool>,
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
        links: SharedLinkFaults,
        shutdown: watch::Receiver<bool>,
    ) -> NodeNet {
        let ep = Arc::new(
            Endpoint::bind(addr_of(me))
                .await
                .expect("bind node address"),
        );
        let (inbox_tx, inbox) = mpsc::unbounded_channel();
        let accepted: Arc<Mutex<BTreeMap<ConnId, (NodeId, Sender)>>> = Arc::default();
        let tell_closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        madsim::task::spawn(accept_loop(
            ep.clone(),
            (inbox_tx.clone(), tell_closed.clone()),
            accepted.clone(),
            shutdown,
        ));
        NodeNet {
            me,
            ep,
            inbox_tx,
            inbox,
            accepted,
            delayed: BTreeMap::new(),
            links,
            outgoing: BTreeMap::new(),
            replaced: BTreeSet::new(),
            tell_closed,
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
                // The current connection's failure, or that of one replaced after it broke;
                // one the node closed itself says nothing.
                match self.outgoing.get(peer) {
                    Some(o) if o.generation == *generation => {
                        self.outgoing.remove(peer);
                    }
                    _ if self.replaced.remove(&(*peer, *generation)) => {}
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
                // The connection task has ended: open a new connection below. Its
                // `Disconnected` may still wait in the inbox, and must not be lost.
                Err(mpsc::error::SendError(request)) => {
                    self.replaced.insert((node, out.generation));
                    request
                }
            },
            None => request,
        };
        let generation = self.next_generation;
        self.next_generation += 1;
        let (tx, rx) = mpsc::unbounded_channel();
        tx.send(request).expect("fresh channel");
        madsim::task::spawn(outgoing_loop(
            Link {
                ep: self.ep.clone(),
                me: self.me,
                peer: node,
                generation,
                faults: self.links.clone(),
            },
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
        let kind = response.kind();
        let msg = Message::Response(response);
        if let Some(pump) = self.delayed.get(&conn) {
            // Answers on this connection already wait in line: this one goes after them.
            let peer = pump.0;
            match fate(&self.links, self.me, peer, kind) {
                Fate::Lose => {
                    self.delayed.remove(&conn);
                }
                Fate::Deliver(d) | Fate::Aside(d) => {
                    if pump.1.send((Instant::now() + d, msg)).is_err() {
                        self.delayed.remove(&conn);
                    }
                }
            }
            return;
        }
        let taken = self.accepted.lock().expect("accepted lock").remove(&conn);
        let Some((peer, tx)) = taken else { return };
        match fate(&self.links, self.me, peer, kind) {
            // Dropping the sending half resets the connection: the peer hears it closed.
            Fate::Lose => {}
            Fate::Deliver(d) if d.is_zero() => {
                if tx.send(Box::new(msg)).await.is_ok() {
                    self.accepted
                        .lock()
                        .expect("accepted lock")
                        .insert(conn, (peer, tx));
                }
            }
            Fate::Deliver(d) | Fate::Aside(d) => {
                let (pump_tx, mut pump_rx) = mpsc::unbounded_channel::<(Instant, Message)>();
                pump_tx
                    .send((Instant::now() + d, msg))
                    .expect("fresh channel");
                madsim::task::spawn(async move {
                    while let Some((due, msg)) = pump_rx.recv().await {
                        sleep_until(due).await;
                        if tx.send(Box::new(msg)).await.is_err() {
                            return;
                        }
                    }
                });
                self.delayed.insert(conn, (peer, pump_tx));
            }
        }
    }

    /// Close the connection to `peer` (a client whose request timed out does this).
    pub fn close(&mut self, peer: NodeId) {
        self.outgoing.remove(&peer);
    }

    /// Report the end of every accepted connection from now on (`Inbound::Closed`).
    pub fn tell_closed(&mut self) {
        self.tell_closed
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Close an accepted connection once what was answered on it has left (a ZooKeeper server
    /// closing a client's connection): dropping its sending half resets it, and the peer hears
    /// it closed.
    pub fn close_accepted(&mut self, conn: ConnId) {
        self.delayed.remove(&conn);
        self.accepted.lock().expect("accepted lock").remove(&conn);
    }
}

async fn accept_loop(
    ep: Arc<Endpoint>,
    (inbox, tell_closed): (
        mpsc::UnboundedSender<Inbound>,
        Arc<std::sync::atomic::AtomicBool>,
    ),
    accepted: Arc<Mutex<BTreeMap<ConnId, (NodeId, Sender)>>>,
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
        accepted
            .lock()
            .expect("accepted lock")
            .insert(conn, (from, tx));
        let inbox = inbox.clone();
        let accepted = accepted.clone();
        let tell_closed = tell_closed.clone();
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
            if tell_closed.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = inbox.send(Inbound::Closed { conn, from });
            }
        });
    }
}

/// Whether the peer answers this request (LeaderAndIsr and acks=0 produce get no answer).
fn expects_response(request: &Request) -> bool {
    match request {
        Request::LeaderAndIsr { .. }
        | Request::ZkLeaderAndIsr { .. }
        | Request::UpdateMetadata { .. }
        | Request::Raft { .. }
        | Request::ZkPeer { .. } => false,
        Request::Produce { acks, .. } => *acks != ksim_model::Acks::None,
        _ => true,
    }
}

/// One connection's ends, and the link faults that apply to what it sends.
struct Link {
    ep: Arc<Endpoint>,
    me: NodeId,
    peer: NodeId,
    generation: u64,
    faults: SharedLinkFaults,
}

async fn outgoing_loop(
    link: Link,
    mut requests: mpsc::UnboundedReceiver<Request>,
    inbox: mpsc::UnboundedSender<Inbound>,
    timeout: Duration,
) {
    let connected = link.ep.connect1(addr_of(link.peer)).await;
    let refused = connected.is_err();
    if let Ok((tx, rx)) = connected {
        let mut conn = Connection::new(&link, tx, timeout);
        if conn.carry(rx, &mut requests, &inbox).await == Closed::Quietly {
            return;
        }
    }
    let _ = inbox.send(Inbound::Disconnected {
        peer: link.peer,
        generation: link.generation,
        refused,
    });
}

/// How a connection ended: broken (the node hears `Disconnected`), or quietly (the node
/// dropped it, or is gone).
#[derive(PartialEq, Eq)]
enum Closed {
    Broken,
    Quietly,
}

/// One open connection's sending side: requests held back by link latency, in order, with
/// when each is due; requests on their own channel (`Fate::Aside`), in order among
/// themselves; how many answers are outstanding and when the oldest times out.
struct Connection {
    tx: Sender,
    me: NodeId,
    peer: NodeId,
    faults: SharedLinkFaults,
    timeout: Duration,
    outstanding: usize,
    deadline: Option<Instant>,
    held: VecDeque<(Instant, Request)>,
    aside: VecDeque<(Instant, Request)>,
}

impl Connection {
    fn new(link: &Link, tx: Sender, timeout: Duration) -> Connection {
        Connection {
            tx,
            me: link.me,
            peer: link.peer,
            faults: link.faults.clone(),
            timeout,
            outstanding: 0,
            deadline: None,
            held: VecDeque::new(),
            aside: VecDeque::new(),
        }
    }

    async fn carry(
        &mut self,
        mut rx: madsim::net::Receiver,
        requests: &mut mpsc::UnboundedReceiver<Request>,
        inbox: &mpsc::UnboundedSender<Inbound>,
    ) -> Closed {
        let far = Instant::now() + Duration::from_secs(86_400 * 365);
        // The request timeout moves with every answer; its timer is moved only when it fires
        // (then to the current deadline), so that it arms one madsim timer per timeout period.
        let mut watchdog = Timer::new(far);
        let (mut held_timer, mut aside_timer) = (Timer::new(far), Timer::new(far));
        loop {
            if let Some(d) = self.deadline {
                if watchdog.deadline() > d {
                    watchdog.reset(d);
                }
            }
            let due = self.held.front().map(|(at, _)| *at);
            let due_aside = self.aside.front().map(|(at, _)| *at);
            held_timer.reset(due.unwrap_or(far));
            aside_timer.reset(due_aside.unwrap_or(far));
            let sent = tokio::select! {
                biased;
                r = rx.recv() => {
                    let Ok(payload) = r else { return Closed::Broken };
                    let Ok(msg) = payload.downcast::<Message>() else { continue };
                    let Message::Response(response) = *msg else { continue };
                    if !self.answered(response, inbox) {
                        return Closed::Quietly;
                    }
                    true
                }
                _ = held_timer.wait(), if due.is_some() => {
                    let (_, request) = self.held.pop_front().expect("a held request is due");
                    self.send(request).await
                }
                _ = aside_timer.wait(), if due_aside.is_some() => {
                    let (_, request) = self.aside.pop_front().expect("a request aside is due");
                    self.send(request).await
                }
                q = requests.recv() => {
                    // The node dropped this connection: close it without a Disconnected.
                    let Some(request) = q else { return Closed::Quietly };
                    self.offer(request).await
                }
                _ = watchdog.wait(), if self.deadline.is_some() => {
                    match self.deadline {
                        Some(d) if Instant::now() >= d => false,
                        Some(d) => {
                            watchdog.reset(d);
                            true
                        }
                        None => true,
                    }
                }
            };
            if !sent {
                return Closed::Broken;
            }
        }
    }

    /// An answer: the timeout restarts for the next outstanding request. False when the node
    /// is gone.
    fn answered(&mut self, response: Response, inbox: &mpsc::UnboundedSender<Inbound>) -> bool {
        if !response.unsolicited() {
            self.outstanding = self.outstanding.saturating_sub(1);
            self.deadline = (self.outstanding > 0).then(|| Instant::now() + self.timeout);
        }
        let from = self.peer;
        inbox.send(Inbound::Response { from, response }).is_ok()
    }

    /// A request from the node, sent now, held back by latency, or lost (which resets the
    /// connection: false).
    async fn offer(&mut self, request: Request) -> bool {
        if expects_response(&request) {
            self.outstanding += 1;
            let timeout = self.timeout;
            self.deadline
                .get_or_insert_with(|| Instant::now() + timeout);
        }
        match fate(&self.faults, self.me, self.peer, request.kind()) {
            Fate::Lose => false,
            Fate::Deliver(d) if d.is_zero() && self.held.is_empty() => self.send(request).await,
            Fate::Deliver(d) => {
                self.held.push_back((Instant::now() + d, request));
                true
            }
            Fate::Aside(d) => {
                self.aside.push_back((Instant::now() + d, request));
                true
            }
        }
    }

    async fn send(&mut self, request: Request) -> bool {
        let msg = Box::new(Message::Request(request));
        self.tx.send(msg).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn link_faults_delay_lose_and_set_one_kind_aside_until_removed() {
        let (a, b) = (NodeId::Broker(1), NodeId::Controller(1));
        let mut f = LinkFaults::new(ChaCha8Rng::seed_from_u64(1));
        let ms = Duration::from_millis;
        assert_eq!(f.fate(a, b, "fetch"), Fate::Deliver(Duration::ZERO));
        f.add_latency((a, b), 300, None);
        f.add_latency((a, b), 5_000, Some("alter_partition"));
        assert_eq!(f.fate(a, b, "heartbeat"), Fate::Deliver(ms(300)));
        assert_eq!(f.fate(a, b, "alter_partition"), Fate::Aside(ms(5_000)));
        // One direction only.
        assert_eq!(f.fate(b, a, "heartbeat"), Fate::Deliver(Duration::ZERO));
        f.add_loss((a, b), 100);
        assert_eq!(f.fate(a, b, "heartbeat"), Fate::Lose);
        f.remove_loss((a, b), 100);
        f.remove_latency((a, b), 5_000, Some("alter_partition"));
        assert_eq!(f.fate(a, b, "alter_partition"), Fate::Deliver(ms(300)));
        f.remove_latency((a, b), 300, None);
        assert_eq!(
            f.fate(a, b, "alter_partition"),
            Fate::Deliver(Duration::ZERO)
        );
        // A 30% loss loses about 30% of messages.
        f.add_loss((a, b), 30);
        let lost = (0..1000)
            .filter(|_| f.fate(a, b, "fetch") == Fate::Lose)
            .count();
        assert!((250..350).contains(&lost), "{lost} of 1000 lost");
    }
}
