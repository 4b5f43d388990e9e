//! Protocol stories as data: each file of `model/testdata/cluster/` is a sequence of commands run on
//! the harness's `Cluster` (one partition, brokers `1..=N`, one controller), each followed by
//! what the cluster shows after it: the controller's partition state, every replica's role,
//! leader epoch, LEO, HW, ISR and log, and the client's produce answers. The format is the
//! `datadriven` crate's (etcd's raft uses the Go original): a command line, `----`, the
//! expected output. When the output changes on purpose, rewrite the files with
//! `REWRITE=1 cargo test -p ksim-model --test stories` and review the diff.
//!
//! Commands (`name=value` arguments; a list is `(a,b)`):
//! - `cluster brokers=N min_isr=N lag_ms=MS`: a started cluster (every broker registered).
//! - `produce acks=0|1|all values=(a,b) [timeout_ms=MS] [settle]`: the client sends one
//!   request to the current leader; `settle` delivers until nothing is in flight.
//! - `deliver [n=N]`: deliver the next N messages (1); `deliver-all`: until none is left.
//! - `run ms=MS`: tick every 50 ms, delivering in between.
//! - `run-until [leader=B] [isr=(..)] [replica_isr=(..)] within=MS`: tick until the controller
//!   (or the leader's own view, `replica_isr`) shows that state; prints when it did.
//! - `crash broker=B [power-loss]`, `restart broker=B`, `isolate broker=B`, `heal broker=B`.
//! - `mark`: later `requests` list only what was delivered after it.
//! - `requests from=(B,..) kind=(fetch,alter)`: the requests of those kinds those brokers
//!   sent since the mark, in delivery order (a fetch with its offset, an AlterPartition with
//!   the ISR it asked for); repeats as one line.
//! - `queue`: the messages in flight, in delivery order.

mod common;

use common::*;
use datadriven::TestCase;
use ksim_model::*;

/// The story being told: the cluster, and where `mark` was.
#[derive(Default)]
struct Story {
    cluster: Option<Cluster>,
    mark: usize,
}

#[test]
fn stories() {
    let mut commands = 0;
    datadriven::walk("testdata/cluster", |f| {
        let mut story = Story::default();
        f.run(|tc| {
            commands += 1;
            story.command(tc)
        });
    });
    // A missing or empty folder would pass without telling a story.
    assert!(
        commands > 50,
        "only {commands} commands in testdata/cluster"
    );
}

type Outcome = Result<String, datadriven::DataDrivenError>;

fn brokers(
    tc: &mut TestCase,
    key: &str,
) -> Result<Option<Vec<BrokerId>>, datadriven::DataDrivenError> {
    tc.try_take_args(key)
}

impl Story {
    fn command(&mut self, tc: &mut TestCase) -> Outcome {
        let note = match tc.directive.as_str() {
            "cluster" => self.start(tc)?,
            "mark" => {
                self.mark = self.c().trace.len();
                return Ok(String::new());
            }
            "requests" => return self.requests(tc),
            "queue" => return Ok(queue(self.c())),
            _ => self.act(tc)?,
        };
        tc.expect_empty()?;
        Ok(note + &show(self.c()))
    }

    fn c(&mut self) -> &mut Cluster {
        self.cluster.as_mut().expect("a `cluster` command first")
    }

    fn start(&mut self, tc: &mut TestCase) -> Result<String, datadriven::DataDrivenError> {
        let n: i32 = tc.take_arg("brokers")?;
        let min_isr = tc.try_take_arg("min_isr")?.unwrap_or(1);
        let lag_ms = tc.try_take_arg("lag_ms")?.unwrap_or(30_000);
        self.cluster = Some(Cluster::started(cfg(min_isr, lag_ms), n));
        self.mark = 0;
        Ok(String::new())
    }

    /// A command that changes the cluster.
    fn act(&mut self, tc: &mut TestCase) -> Result<String, datadriven::DataDrivenError> {
        let directive = tc.directive.clone();
        let broker = |tc: &mut TestCase| tc.take_arg::<BrokerId>("broker");
        match directive.as_str() {
            "produce" => self.produce(tc)?,
            "deliver" => {
                let n: usize = tc.try_take_arg("n")?.unwrap_or(1);
                for _ in 0..n {
                    if !self.c().deliver_one() {
                        return Ok("nothing to deliver\n".into());
                    }
                }
            }
            "deliver-all" => self.c().deliver_all(),
            "run" => {
                let ms = tc.take_arg("ms")?;
                self.c().run(ms);
            }
            "run-until" => return self.run_until(tc),
            "crash" => {
                let (b, power_loss) = (broker(tc)?, tc.take_flag("power-loss")?);
                self.c().crash(b, power_loss);
            }
            "restart" => self.c().restart(broker(tc)?),
            "isolate" => self.c().isolate(broker(tc)?),
            "heal" => self.c().heal(broker(tc)?),
            other => {
                return Err(datadriven::DataDrivenError::Argument(format!(
                    "unknown command {other}"
                )))
            }
        }
        Ok(String::new())
    }

    fn produce(&mut self, tc: &mut TestCase) -> Result<(), datadriven::DataDrivenError> {
        let written: String = tc.take_arg("acks")?;
        let acks = Acks::from_name(&written).ok_or_else(|| {
            let names = Acks::names().join(", ");
            datadriven::DataDrivenError::Argument(format!(
                "acks={written}: expected one of {names}"
            ))
        })?;
        let values: Vec<String> = tc.take_args("values")?;
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let timeout_ms = tc.try_take_arg("timeout_ms")?.unwrap_or(30_000);
        let settle = tc.take_flag("settle")?;
        self.c().produce_t(acks, &values, timeout_ms);
        if settle {
            self.c().deliver_all();
        }
        Ok(())
    }

    fn run_until(&mut self, tc: &mut TestCase) -> Result<String, datadriven::DataDrivenError> {
        let leader: Option<BrokerId> = tc.try_take_arg("leader")?;
        let isr = brokers(tc, "isr")?;
        let replica_isr = brokers(tc, "replica_isr")?;
        let within = tc.take_arg("within")?;
        let start = self.c().now;
        let at = self.c().run_until(within, |c| {
            let s = c.state();
            leader.is_none_or(|l| s.leader == Some(l))
                && isr.as_ref().is_none_or(|i| s.isr == *i)
                && replica_isr.as_ref().is_none_or(|i| {
                    s.leader
                        .is_some_and(|l| c.is_up(l) && c.replica(l).isr == *i)
                })
        });
        Ok(format!("reached after {} ms\n", at - start))
    }

    /// The requests of some kinds that brokers sent since the mark, in delivery order; a
    /// repeated one (a follower fetching at one offset) as one line with its first and last
    /// times and how many.
    fn requests(&mut self, tc: &mut TestCase) -> Outcome {
        let from: Vec<BrokerId> = tc.take_args("from")?;
        let kinds: Vec<String> = tc.take_args("kind")?;
        tc.expect_empty()?;
        let mark = self.mark;
        let c = self.c();
        // (what, first time, last time, how many)
        let mut lines: Vec<(String, TimeMs, TimeMs, usize)> = Vec::new();
        for (t, sender, _, m) in &c.trace[mark..] {
            let (Message::Request(r), NodeId::Broker(b)) = (m, sender) else {
                continue;
            };
            let Some(what) = from.contains(b).then(|| describe(r, &kinds)).flatten() else {
                continue;
            };
            let what = format!("{b}: {what}");
            match lines.last_mut() {
                Some((w, _, last, n)) if *w == what => (*last, *n) = (*t, *n + 1),
                _ => lines.push((what, *t, *t, 1)),
            }
        }
        let out: String = lines
            .iter()
            .map(|(what, first, last, n)| match n {
                1 => format!("t={first} {what}\n"),
                _ => format!("t={first}..{last} {what} (x{n})\n"),
            })
            .collect();
        Ok(if out.is_empty() { "none\n".into() } else { out })
    }
}

/// A request as `requests` lists it, if it is of one of `kinds`.
fn describe(r: &Request, kinds: &[String]) -> Option<String> {
    let kind = |k: &str| kinds.iter().any(|x| x == k);
    match r {
        Request::Fetch { fetch_offset, .. } if kind("fetch") => {
            Some(format!("fetch offset {fetch_offset}"))
        }
        Request::AlterPartition(a) if kind("alter") => {
            let isr: Vec<String> = a
                .new_isr
                .iter()
                .map(|(b, e)| format!("{b}(broker epoch {e})"))
                .collect();
            Some(format!("alter-partition isr {}", isr.join(",")))
        }
        _ => None,
    }
}

/// What the cluster shows now.
fn show(c: &Cluster) -> String {
    let s = c.state();
    let mut out = format!(
        "t={} controller: leader {} leader-epoch {} partition-epoch {} isr {}\n",
        c.now,
        s.leader.map_or("none".into(), |l| l.to_string()),
        s.leader_epoch,
        s.partition_epoch,
        list(&s.isr),
    );
    for b in c.slots.keys() {
        out += &format!("  {}\n", replica_line(c, *b));
    }
    if !c.sent.is_empty() {
        let answers: Vec<String> = c.sent.keys().map(|corr| answer(c, *corr)).collect();
        out += &format!("answers: {}\n", answers.join(" "));
    }
    out
}

fn replica_line(c: &Cluster, b: BrokerId) -> String {
    if !c.is_up(b) {
        return format!("{b} down");
    }
    let r = c.replica(b);
    let role = match r.role {
        Role::Leader { leader_epoch } => format!("leader   e{leader_epoch}"),
        Role::Follower { leader_epoch, .. } => format!("follower e{leader_epoch}"),
        Role::Offline => "offline    ".into(),
    };
    let isr = match r.role {
        Role::Leader { .. } => format!(" isr {}", list(&r.isr)),
        _ => String::new(),
    };
    let epochs: Vec<String> = r
        .log
        .epochs()
        .iter()
        .map(|e| format!("{}@{}", e.epoch, e.start_offset))
        .collect();
    let log: Vec<String> = values_of(r.log.records())
        .into_iter()
        .map(|(e, v)| format!("{v}/{e}"))
        .collect();
    format!(
        "{b} {role} LEO {} HW {}{isr} log [{}] epochs [{}]",
        r.log.leo(),
        r.log.hw(),
        log.join(" "),
        epochs.join(" ")
    )
}

fn answer(c: &Cluster, corr: u64) -> String {
    let (acks, _) = &c.sent[&corr];
    let got = match c.results.get(&corr) {
        Some(Ok(offset)) => format!("ok@{offset}"),
        Some(Err(e)) => e.name().to_string(),
        None if *acks == Acks::None => "sent".into(),
        None => "waiting".into(),
    };
    format!("#{corr}={got}")
}

fn list(bs: &[BrokerId]) -> String {
    let s: Vec<String> = bs.iter().map(|b| b.to_string()).collect();
    format!("[{}]", s.join(","))
}

/// The messages in flight, in delivery order.
fn queue(c: &Cluster) -> String {
    let out: String = c
        .queue
        .iter()
        .map(|m| {
            let what = match &m.msg {
                Message::Request(r) => r.kind(),
                Message::Response(r) => r.kind(),
            };
            format!("{:?} -> {:?} {what}\n", m.from, m.to)
        })
        .collect();
    if out.is_empty() {
        "empty\n".into()
    } else {
        out
    }
}
