//! Scenario: everything that decides a run besides the seed, read from a TOML file with
//! Kafka's own config keys and overridden by `--set KEY=VALUE`. Parsing and validation live in
//! `parse/`; this file holds the types and their defaults.

pub mod parse;
pub mod properties;
pub mod streams;
pub mod vocabulary;

pub use ksim_model::client::{ConsumerConfig, Partitioner, ProducerConfig};
use ksim_model::zookeeper::ZkConfig;
use ksim_model::{BrokerConfig, BrokerId, PartitionId, SelfTest};
use serde::{Serialize, Serializer};

/// A parsed, validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Name shown in the banner (the file stem when the file does not set it).
    pub name: String,
    /// The story the scenario tells (printed with `--verbose` and listed by `ksim scenarios`).
    pub description: String,
    /// Where the scenario came from (path), for the reproduce line.
    pub origin: String,
    /// `[cluster] brokers`
    pub brokers: i32,
    /// `[cluster] controllers`: the voters of the controller quorum (ids 1..=N).
    pub controllers: u32,
    /// `[cluster] coordinator`: who keeps the cluster's metadata, a KRaft controller quorum
    /// (the default) or, as before Kafka 3.x, a ZooKeeper ensemble and a controller broker.
    pub coordinator: Coordinator,
    /// `[cluster] zookeepers`: the ensemble's servers (`server.1`..`server.N`) in ZooKeeper
    /// mode.
    pub zookeepers: u32,
    /// `[zookeeper]`: the ensemble's `zoo.cfg` keys; its `server.N` list is `zookeepers`'
    /// (`Scenario::zk_config`).
    pub zookeeper: ZkConfig,
    /// `[server] zookeeper.session.timeout.ms`: each broker's ZooKeeper session (18 s in
    /// Kafka 2.8, negotiated within the ensemble's limits).
    pub zookeeper_session_timeout_ms: u64,
    /// `[server] num.partitions`
    pub partitions: i32,
    /// `[server] default.replication.factor`
    pub replication_factor: i32,
    /// `[server]` keys that the brokers and the controller read.
    pub broker: BrokerConfig,
    pub producer: ProducerConfig,
    pub consumer: ConsumerConfig,
    pub workload: Workload,
    pub faults: Faults,
    pub run: RunLimits,
    /// The `--set` overrides applied, in order, as written (for the reproduce line).
    pub overrides: Vec<(String, String)>,
    /// Who set each overridden key (qualified), in order: a properties file and its line, or
    /// `--set` (no line), so a cross-key error names the source that wrote the key.
    pub set_by: Vec<(String, String, Option<usize>)>,
    /// Keys read from properties files that the simulation does not use, with why.
    pub ignored: Vec<String>,
    /// `[selftest]`: the flaws planted to show a checker catches its violation (none in a
    /// real run), handed to the machines apart from their configuration.
    pub selftest: SelfTest,
    /// `fix`: for a gallery story, the `--set` assignments that turn on the rule that fixed it
    /// (`ksim run NAME --fixed` applies them).
    pub fix: Vec<String>,
    /// `fixed_in`: the Kafka release (and KIP) that shipped the fix.
    pub fixed_in: String,
    /// `[expect]`: what the story, run as written, must show.
    pub expect: Option<Outcome>,
    /// `[expect.fixed]`: what it must show with `--fixed`.
    pub expect_fixed: Option<Outcome>,
    /// `[expect] seeds`: the seeds the outcomes are promised for (empty: every seed).
    pub expect_seeds: Vec<u64>,
    /// `[expect] sweep_marks`: coverage marks that a sweep of this scenario must reach in at
    /// least one seed.
    pub sweep_marks: Vec<String>,
    /// `[expect.swarm] sweep_marks`: the same for a sweep with `faults.random.swarm=true` (and
    /// no other override).
    pub swarm_marks: Vec<String>,
    /// `within_seeds` of `[expect]` and `[expect.swarm]`: the marks are required of sweeps of
    /// at least this many seeds (0: of every sweep).
    pub sweep_marks_within: u64,
    pub swarm_marks_within: u64,
}

/// `[cluster] coordinator`: who keeps the metadata and elects partition leaders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
pub enum Coordinator {
    /// A KRaft controller quorum (`controllers` voters).
    #[strum(serialize = "kraft")]
    Kraft,
    /// A ZooKeeper ensemble (`zookeepers` servers) and the controller broker it elects.
    #[strum(serialize = "zookeeper")]
    ZooKeeper,
}

/// What a story must show: its verdict, the checker it breaks with, the allowed loss it
/// shows, the protocol branches it takes. A story that no longer shows it fails.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `verdict`: "valid" or "invalid".
    pub invalid: Option<bool>,
    /// `violation`: the checker that must flag the run.
    pub violation: Option<String>,
    /// `allowed_loss`: acknowledged writes must be lost, each for a reason containing this.
    pub allowed_loss: Option<String>,
    /// `loses_nothing`: no acknowledged write may be lost, not even for an allowed reason.
    pub loses_nothing: bool,
    /// `marks`: coverage marks the run must reach.
    pub marks: Vec<String>,
}

/// `[workload]`.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Producer clients, each its own simulated node.
    pub producers: u32,
    /// Records each producer tries to send per simulated second.
    pub rate_per_sec: u32,
    /// How long producers write, from the start of the run.
    pub duration_ms: u64,
    /// Size of each record value (its first bytes carry the unique value id).
    pub value_bytes: usize,
    /// Consumers, one consumer group, each its own simulated node (0: none).
    pub consumers: u32,
    /// Distinct record keys, "key-0".."key-<keys-1>", placed by Kafka's partitioner (0: no
    /// keys, partitions in turn).
    pub keys: u32,
    /// `topics`: the topics the producers write to and the group reads, each created with
    /// `num.partitions` partitions. Partition ids run over all of them, topic by topic:
    /// topic t's partition i is partition `t * num.partitions + i` of the cluster.
    pub topics: Vec<String>,
}

/// `[faults]`
#[derive(Clone, Debug, Default, Serialize)]
pub struct Faults {
    pub script: Vec<ScriptedFault>,
    pub random: Option<RandomFaults>,
}

/// One `[[faults.script]]` entry, serialized with its keys (an absent one as null).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScriptedFault {
    pub at_ms: u64,
    pub action: FaultAction,
    pub target: Target,
    /// Restart the target this long after a crash or power loss, or resume it this long
    /// after a pause (none: it stays down until the heal phase).
    pub restart_after_ms: Option<u64>,
    /// Undo a network or clock fault this long after it (none: it lasts until the heal
    /// phase).
    pub heal_after_ms: Option<u64>,
    /// `slow`, `slow-to-controller`: what every message on the affected links waits beyond
    /// the network's own latency.
    pub latency_ms: Option<u64>,
    /// `lossy`: the share of messages on the affected links that are lost (each loss resets
    /// its connection, as a TCP connection that stops getting acknowledgements does).
    pub loss_percent: Option<u32>,
    /// `clock-drift`: how fast the target's clock runs, in percent of real time.
    pub clock_percent: Option<u32>,
}

impl ScriptedFault {
    /// A fault at `at_ms` that ends by itself `duration_ms` later (a restart or a resume for
    /// one that stops a node, a heal for the others), with `parameter` under its own key
    /// (`latency_ms`, `loss_percent` or `clock_percent`) when it has one.
    pub fn lasting(
        at_ms: u64,
        action: FaultAction,
        target: Target,
        duration_ms: u64,
        parameter: u64,
    ) -> ScriptedFault {
        let stops = action.stops_a_node();
        let key = action.parameter();
        ScriptedFault {
            at_ms,
            action,
            target,
            restart_after_ms: stops.then_some(duration_ms),
            heal_after_ms: (!stops).then_some(duration_ms),
            latency_ms: (key == Some("latency_ms")).then_some(parameter),
            loss_percent: (key == Some("loss_percent")).then_some(parameter as u32),
            clock_percent: (key == Some("clock_percent")).then_some(parameter as u32),
        }
    }

    /// The fault's own parameter (`latency_ms`, `loss_percent` or `clock_percent`), by key.
    pub fn parameter(&self) -> Option<(&'static str, u64)> {
        let value = match self.action.parameter()? {
            "latency_ms" => self.latency_ms,
            "loss_percent" => self.loss_percent.map(u64::from),
            _ => self.clock_percent.map(u64::from),
        };
        Some((self.action.parameter()?, value?))
    }
}

/// Named as `[[faults.script]] action` writes it; declared in the order the documentation
/// lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "kebab-case")]
pub enum FaultAction {
    /// Kill the broker process: the page cache survives.
    Crash,
    /// Kill the broker and drop its page cache: unflushed records are lost.
    PowerLoss,
    /// Start a broker that is down.
    Restart,
    /// Stop the node's process without killing it (a long GC pause, SIGSTOP): it does
    /// nothing, its timers do not fire, messages to it wait; it resumes where it stopped.
    Pause,
    /// Cut every link between the target and every other node, both ways (a partition).
    Isolate,
    /// Cut the target off from the other replicas of the partition only (it still reaches the
    /// controller and the clients): the first half of Jepsen's 2013 Kafka story.
    IsolateFromReplicas,
    /// Cut the target off from the controller only (it still reaches brokers and clients).
    IsolateFromController,
    /// A one-way partition: nothing the target sends arrives anywhere, while it still
    /// receives everything (an asymmetric network failure).
    IsolateOutbound,
    /// A majority/minority partition: the target and the nodes after it in the ring
    /// (broker 1, controller 1, broker 2, controller 2, ...) form the minority, (N-1)/2 nodes;
    /// the two sides cannot reach each other. Clients reach both.
    Split,
    /// Jepsen's bridge: the other nodes are split in two sides that cannot reach each other,
    /// and the target alone reaches both.
    Bridge,
    /// Every message to or from the target waits `latency_ms` more (a congested NIC or
    /// switch port): requests time out, heartbeats and LeaderAndIsr arrive late.
    Slow,
    /// Only the links between the target and the controller quorum are slow: its
    /// heartbeats, AlterPartition requests and the LeaderAndIsr it is sent arrive late.
    SlowToController,
    /// Only the target's AlterPartition requests are slow, `latency_ms` each (Kafka sends them
    /// on a controller channel of their own): its ISR changes land late, while its heartbeats
    /// keep it unfenced.
    SlowAlterPartition,
    /// Messages to or from the target are lost (`loss_percent` of them); each loss surfaces
    /// as a reset of its connection, and what was in flight on it has an unknown outcome.
    Lossy,
    /// The target's clock runs at `clock_percent` of real time: its timeouts, heartbeats
    /// and fetch waits fire early or late (a drifting or steal-starved clock).
    ClockDrift,
    /// The target broker's metadata replay stalls: the partition states the controller
    /// publishes (LeaderAndIsr, the states in heartbeat answers) wait until the fault ends,
    /// while its heartbeats keep it unfenced. It keeps following a replaced leader, or leading
    /// an epoch that ended, on the last state it applied. Brokers only.
    StaleMetadata,
    /// ZooKeeper mode: the ensemble expires the target broker's session at once, as a test
    /// harness kills a session (what a GC pause or a partition from ZooKeeper alone longer
    /// than `zookeeper.session.timeout.ms` does). Its ephemeral registration goes and watches
    /// fire; the broker learns it on its next contact, and until told otherwise a leader
    /// keeps serving (the setting of Jepsen's 2013 Kafka test). Brokers only.
    SessionExpiry,
    /// Restore every link cut so far.
    Heal,
}

ksim_model::serialize_by_name!(FaultAction);

impl FaultAction {
    /// A fault that stops a node until a restart (or, for a pause, a resume).
    pub fn stops_a_node(self) -> bool {
        matches!(
            self,
            FaultAction::Crash | FaultAction::PowerLoss | FaultAction::Pause
        )
    }

    /// A fault that a heal undoes (a network or clock fault, as opposed to a process or
    /// power fault): it takes `heal_after_ms`.
    pub fn is_healed(self) -> bool {
        matches!(
            self,
            FaultAction::Isolate
                | FaultAction::IsolateFromReplicas
                | FaultAction::IsolateFromController
                | FaultAction::IsolateOutbound
                | FaultAction::Slow
                | FaultAction::SlowToController
                | FaultAction::SlowAlterPartition
                | FaultAction::Lossy
                | FaultAction::Split
                | FaultAction::Bridge
                | FaultAction::ClockDrift
                | FaultAction::StaleMetadata
                | FaultAction::SessionExpiry
        )
    }

    /// The parameter this fault needs besides its target and duration, by its key.
    pub fn parameter(self) -> Option<&'static str> {
        match self {
            FaultAction::Slow | FaultAction::SlowToController | FaultAction::SlowAlterPartition => {
                Some("latency_ms")
            }
            FaultAction::Lossy => Some("loss_percent"),
            FaultAction::ClockDrift => Some("clock_percent"),
            _ => None,
        }
    }
}

/// Whom a fault hits. Roles are resolved when the fault fires, from the observer's view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `broker:N`
    Broker(BrokerId),
    /// `leader:P`: the broker that currently leads partition P.
    LeaderOf(PartitionId),
    /// `follower:P`: the first ISR follower of partition P.
    FollowerOf(PartitionId),
    /// `replicas:P`: every replica of partition P at once.
    ReplicasOf(PartitionId),
    /// `all`: every broker.
    All,
    /// `controller:N`
    Controller(u32),
    /// `controller:leader`: the active controller when the fault fires (the quorum leader; in
    /// ZooKeeper mode the broker `/controller` names).
    ControllerLeader,
    /// `zookeeper:N`: server N of the ZooKeeper ensemble (ZooKeeper mode).
    ZooKeeper(u32),
    /// `zookeeper:leader`: the ensemble's leader when the fault fires.
    ZooKeeperLeader,
    /// `consumer:N`: consumer N of the workload's group (crash, restart, pause and network
    /// faults; it has no disk to lose).
    Consumer(u32),
}

/// As the scenario file's `target` names it (`broker:1`, `leader:0`, ...).
impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Broker(b) => write!(f, "broker:{b}"),
            Target::LeaderOf(p) => write!(f, "leader:{p}"),
            Target::FollowerOf(p) => write!(f, "follower:{p}"),
            Target::ReplicasOf(p) => write!(f, "replicas:{p}"),
            Target::All => write!(f, "all"),
            Target::Controller(c) => write!(f, "controller:{c}"),
            Target::ControllerLeader => write!(f, "controller:leader"),
            Target::ZooKeeper(z) => write!(f, "zookeeper:{z}"),
            Target::ZooKeeperLeader => write!(f, "zookeeper:leader"),
            Target::Consumer(n) => write!(f, "consumer:{n}"),
        }
    }
}

/// `[faults.random]`: faults drawn from the run's fault stream. Serialized with its keys;
/// ranges as `[min, max]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RandomFaults {
    /// Which faults may be drawn: crash, power-loss, pause, isolate, isolate-from-replicas,
    /// isolate-from-controller, isolate-outbound, slow, slow-to-controller,
    /// slow-alter-partition, lossy, split, bridge, clock-drift.
    pub kinds: Vec<FaultAction>,
    /// Gap between two faults, drawn uniformly from this range.
    pub interval_ms: (u64, u64),
    /// How long a node stays down, paused or cut off, drawn uniformly from this range.
    pub down_ms: (u64, u64),
    /// At most this many brokers down or paused at once (isolations do not count: a network
    /// partition costs availability, never acknowledged data).
    pub max_down: usize,
    /// Percent of faults aimed at a role (partition 0's leader, one of its ISR followers, the
    /// active controller) rather than at a node drawn at random.
    pub aim_percent: u32,
    /// `hit_controllers`: whether faults may hit controllers as well as brokers.
    #[serde(rename = "hit_controllers")]
    pub controllers: bool,
    /// Swarm testing: each seed draws its own kinds, rates, durations, `max_down`,
    /// `aim_percent` and `controllers` (printed in the banner), instead of the values above.
    pub swarm: bool,
    /// `wait_for_first_ack` (swarm only, default true): the faults drawn before the first
    /// write is acknowledged are dropped, so that the cluster forms before it is faulted.
    /// `false` replays the swarm's runs from before this rule.
    pub wait_for_first_ack: bool,
    /// `session_expiry` (swarm only, default true): in ZooKeeper mode half the seeds add
    /// `session-expiry` to their mix. `false` replays the swarm's runs from before it.
    pub session_expiry: bool,
}

impl RandomFaults {
    /// The faults this seed runs with: these, or with `swarm` the seed's own draw
    /// (TigerBeetle's swarm testing, FoundationDB's buggify: a fault mix that varies per
    /// seed finds bugs that one fixed mix hides).
    pub fn for_seed(&self, seed: u64, brokers: i32, coordinator: Coordinator) -> RandomFaults {
        if !self.swarm {
            return self.clone();
        }
        use rand::Rng;
        let mut rng =
            crate::scenario::streams::stream(seed, crate::scenario::streams::StreamId::Swarm);
        let all = [
            FaultAction::Crash,
            FaultAction::PowerLoss,
            FaultAction::Pause,
            FaultAction::Isolate,
            FaultAction::IsolateFromReplicas,
            FaultAction::IsolateFromController,
        ];
        // The first six kinds are drawn first, so that a seed keeps the draws below when
        // kinds are added; the later kinds are drawn after them.
        let mut kinds: Vec<FaultAction> =
            all.iter().copied().filter(|_| rng.gen_bool(0.5)).collect();
        if kinds.is_empty() {
            kinds.push(all[rng.gen_range(0..all.len())]);
        }
        let lo = rng.gen_range(200..=5_000);
        let interval_ms = (lo, lo * rng.gen_range(1..=4));
        let lo = rng.gen_range(50..=3_000);
        let down_ms = (lo, lo * rng.gen_range(1..=6));
        let max_down = rng.gen_range(1..=(brokers.max(2) - 1) as usize);
        let aim_percent = [0, 30, 70][rng.gen_range(0..3)];
        let controllers = rng.gen_bool(0.5);
        let later = [
            FaultAction::IsolateOutbound,
            FaultAction::Slow,
            FaultAction::SlowToController,
            FaultAction::Lossy,
            FaultAction::Split,
            FaultAction::Bridge,
            FaultAction::ClockDrift,
            FaultAction::SlowAlterPartition,
        ];
        kinds.extend(later.iter().copied().filter(|_| rng.gen_bool(0.5)));
        // Draws added since, on their own stream (see `StreamId::SwarmLater`).
        let mut rng =
            crate::scenario::streams::stream(seed, crate::scenario::streams::StreamId::SwarmLater);
        if rng.gen_bool(0.5) {
            kinds.push(FaultAction::StaleMetadata);
        }
        // ZooKeeper mode's own fault, on a stream of its own so that KRaft seeds keep theirs.
        let mut zk =
            crate::scenario::streams::stream(seed, crate::scenario::streams::StreamId::SwarmZk);
        if self.session_expiry && coordinator == Coordinator::ZooKeeper && zk.gen_bool(0.5) {
            kinds.push(FaultAction::SessionExpiry);
        }
        // A quarter of the seeds draw long faults, 3 to 30 s: long enough for a replica to
        // miss two leader changes (each takes a 9 s broker session) while it still fetches,
        // which is what KIP-320's fetch fencing and KIP-101's leader epochs are for.
        let down_ms = if rng.gen_bool(0.25) {
            let lo = rng.gen_range(3_000..=10_000);
            (lo, lo * rng.gen_range(1..=3))
        } else {
            down_ms
        };
        RandomFaults {
            kinds,
            interval_ms,
            down_ms,
            max_down,
            aim_percent,
            controllers,
            swarm: true,
            wait_for_first_ack: self.wait_for_first_ack,
            session_expiry: self.session_expiry,
        }
    }
}

/// `[run]`.
#[derive(Clone, Debug)]
pub struct RunLimits {
    /// The seed `ksim run` uses when none is given (scenarios written by `ksim shrink` carry
    /// the seed they were found with).
    pub seed: Option<u64>,
    /// After the workload and faults stop, every broker is restarted and the cluster gets this
    /// long to elect leaders and bring the HW up to the LEO before the final check.
    pub settle_ms: u64,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "unnamed".into(),
            description: String::new(),
            fix: Vec::new(),
            fixed_in: String::new(),
            origin: String::new(),
            brokers: 3,
            controllers: 3,
            coordinator: Coordinator::Kraft,
            zookeepers: 3,
            zookeeper: ZkConfig::new(vec![1, 2, 3]),
            zookeeper_session_timeout_ms: 18_000,
            partitions: 1,
            replication_factor: 3,
            broker: BrokerConfig {
                min_insync_replicas: 1,
                ..BrokerConfig::default()
            },
            producer: ProducerConfig::default(),
            consumer: ConsumerConfig::default(),
            workload: Workload {
                producers: 1,
                rate_per_sec: 100,
                duration_ms: 20_000,
                value_bytes: 16,
                consumers: 0,
                keys: 0,
                topics: vec!["events".to_string()],
            },
            faults: Faults::default(),
            run: RunLimits {
                seed: None,
                // Above the 30 s request timeout: a fetch swallowed by a partition is retried
                // only when it times out, as Kafka's replica.socket.timeout.ms.
                settle_ms: 60_000,
            },
            overrides: Vec::new(),
            set_by: Vec::new(),
            ignored: Vec::new(),
            selftest: SelfTest::default(),
            expect: None,
            expect_fixed: None,
            expect_seeds: Vec::new(),
            sweep_marks: Vec::new(),
            swarm_marks: Vec::new(),
            sweep_marks_within: 0,
            swarm_marks_within: 0,
        }
    }
}

impl Scenario {
    /// How long a dead broker keeps its place: its KRaft session, or its ZooKeeper session as
    /// the ensemble negotiates it.
    pub fn session_timeout_ms(&self) -> u64 {
        match self.coordinator {
            Coordinator::Kraft => self.broker.broker_session_timeout_ms,
            Coordinator::ZooKeeper => self.zookeeper.negotiate(self.zookeeper_session_timeout_ms),
        }
    }

    /// The ensemble's `zoo.cfg`: the `[zookeeper]` keys, with `server.1`..`server.N` from
    /// `[cluster] zookeepers`.
    pub fn zk_config(&self) -> ZkConfig {
        ZkConfig {
            servers: (1..=self.zookeepers).collect(),
            ..self.zookeeper.clone()
        }
    }

    /// Every partition of every topic: the partitions the cluster holds.
    pub fn total_partitions(&self) -> i32 {
        self.partitions * self.workload.topics.len().max(1) as i32
    }

    /// Kafka's name of cluster partition `p`: `topic-i`.
    pub fn partition_name(&self, p: i32) -> String {
        let t = (p / self.partitions.max(1)) as usize;
        let topic = self.workload.topics.get(t).map_or("?", String::as_str);
        format!("{topic}-{}", p % self.partitions.max(1))
    }

    /// The scenario's name as one file-name component: characters other than ASCII letters,
    /// digits, `-`, `_` and `.` become `_`, and a name that is empty or starts with a dot
    /// gets a `scenario` prefix (report and sweep paths are built from it).
    pub fn path_component(&self) -> String {
        let mut name: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if name.is_empty() || name.starts_with('.') {
            name.insert_str(0, "scenario");
        }
        name
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_scenario_name_becomes_one_file_name_component() {
        let named = |n: &str| super::Scenario {
            name: n.into(),
            ..Default::default()
        };
        assert_eq!(named("kip-101_x.y").path_component(), "kip-101_x.y");
        assert_eq!(named("a/b c").path_component(), "a_b_c");
        assert_eq!(named("..").path_component(), "scenario..");
        assert_eq!(named("").path_component(), "scenario");
    }
}
