//! The timeline of a partition as SVG: each replica's role, LEO and HW over time, the
//! controllers' view, the committed offset, the faults and the violations.

use super::*;
use ksim_model::Named;

mod violations;

/// Shared by every timeline (one id per page): the hatching of network faults.
pub(super) const DEFS: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"0\" height=\"0\" style=\"position:absolute\">\
<defs><pattern id=\"hatch\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" patternTransform=\"rotate(45)\">\
<rect width=\"6\" height=\"6\" fill=\"rgba(123,63,160,0.08)\"/><rect width=\"2.2\" height=\"6\" fill=\"rgba(123,63,160,0.55)\"/></pattern></defs></svg>\n";

pub(super) const WIDTH: f64 = 1300.0;
pub(super) const LEFT: f64 = 140.0;
pub(super) const RIGHT: f64 = 16.0;
/// Time buckets for client operations (about 4 px each).
pub(super) const BUCKETS: u64 = 286;
pub(super) const LABEL_ROWS: usize = 3;

/// What every partition's timeline draws from.
pub(super) struct Draw<'a> {
    sc: &'a Scenario,
    obs: &'a Observer,
    end_ms: u64,
    violations: Vec<(usize, &'a Violation, Option<PartitionId>)>,
}

/// The controllers' leader, leader epoch and ISR of a partition.
type PartitionState = (Option<BrokerId>, Epoch, Vec<BrokerId>);

/// Where one replica's lanes sit in its block: the role lane, the ISR strip below it, and
/// the LEO/HW chart below that.
struct ReplicaRows {
    role_y: f64,
    role_h: f64,
    isr_y: f64,
    isr_h: f64,
    chart_y: f64,
    chart_h: f64,
}

impl ReplicaRows {
    /// The lanes of a replica block whose top is at `y0`.
    fn at(y0: f64) -> Self {
        let role_y = y0 + 12.0;
        let role_h = 16.0;
        let isr_y = role_y + role_h + 2.0;
        let isr_h = 7.0;
        let chart_y = isr_y + isr_h + 4.0;
        let chart_h = 40.0;
        ReplicaRows {
            role_y,
            role_h,
            isr_y,
            isr_h,
            chart_y,
            chart_h,
        }
    }
}

/// A partition's client operations, counted for drawing.
struct OpTally {
    bucket_ms: u64,
    /// Per producer: ok completions per time bucket.
    ok: BTreeMap<u32, Vec<u32>>,
    /// The most ok completions of one producer in one bucket (at least 1).
    ok_max: u32,
    /// Per producer and outcome (1 fail, 2 info): invoke-to-completion intervals.
    spans: BTreeMap<(u32, u8), Vec<(u64, u64)>>,
    /// Completions per bucket: ok, fail, info.
    hist: Vec<[u32; 3]>,
}

/// A step of a state series: [from, to) with the state at `from`.
pub(super) struct Segment<T> {
    from: u64,
    to: u64,
    state: T,
}

pub(super) fn segments<T: Clone + PartialEq>(points: &[(u64, T)], end: u64) -> Vec<Segment<T>> {
    let mut out: Vec<Segment<T>> = Vec::new();
    for (i, (t, state)) in points.iter().enumerate() {
        let to = points.get(i + 1).map_or(end, |n| n.0).max(*t);
        match out.last_mut() {
            Some(last) if last.state == *state => last.to = to,
            _ => out.push(Segment {
                from: *t,
                to,
                state: state.clone(),
            }),
        }
    }
    out
}

/// The partition a violation's message names (`partition N: ...` or `(partition N, ...`).
pub(super) fn partition_of(message: &str) -> Option<PartitionId> {
    let rest = message
        .strip_prefix("partition ")
        .or_else(|| message.split_once("(partition ").map(|(_, r)| r))?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

impl<'a> Draw<'a> {
    pub(super) fn new(out: &'a RunOutput, report: &'a Report, obs: &'a Observer) -> Self {
        let violations = report
            .violations
            .iter()
            .take(VIOLATIONS_SHOWN)
            .enumerate()
            .map(|(i, v)| (i, v, partition_of(&v.message)))
            .collect();
        Draw {
            sc: &out.ctx.sc,
            obs,
            end_ms: out.outcome.end_ms.max(obs.now_ms).max(1),
            violations,
        }
    }

    fn x(&self, t: u64) -> f64 {
        LEFT + t.min(self.end_ms) as f64 * (WIDTH - LEFT - RIGHT) / self.end_ms as f64
    }

    fn w(&self, from: u64, to: u64) -> f64 {
        (self.x(to) - self.x(from)).max(1.0)
    }

    pub(super) fn partition(&self, p: PartitionId) -> String {
        let tl = self.obs.timeline.as_ref().expect("checked by the caller");
        let brokers = assignment(p, self.sc.brokers, self.sc.replication_factor);
        let processes: Vec<u32> = {
            let mut v: Vec<u32> = self.obs.history.iter().map(|o| o.process).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let mine: Vec<&(usize, &Violation, Option<PartitionId>)> = self
            .violations
            .iter()
            .filter(|(_, _, vp)| vp.is_none_or(|vp| vp == p))
            .collect();
        let labels = self.violation_labels(&mine);
        let label_rows = labels.iter().map(|l| l.0 + 1).max().unwrap_or(0);
        // Vertical layout: violation labels, the controllers' lane, a block per replica, the
        // producers' rows, the completions histogram, the time axis.
        let top = 6.0 + 13.0 * label_rows as f64;
        let ctrl_y = top;
        let ctrl_h = 18.0;
        let block_y0 = ctrl_y + ctrl_h + 4.0;
        let block_h = 88.0;
        let ops_y = block_y0 + block_h * brokers.len() as f64 + 6.0;
        let proc_h = 12.0;
        let hist_y = ops_y + (proc_h + 3.0) * processes.len() as f64 + 4.0;
        let hist_h = 30.0;
        let axis_y = hist_y + hist_h + 4.0;
        let height = axis_y + 32.0;

        let mut s = String::new();
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" id=\"timeline-p{p}\" width=\"{WIDTH}\" height=\"{height:.0}\" viewBox=\"0 0 {WIDTH} {height:.0}\" font-family=\"sans-serif\" font-size=\"11\">"
        );
        let _ = writeln!(
            s,
            "<rect width=\"{WIDTH}\" height=\"{height:.0}\" fill=\"#fff\"/>"
        );
        self.grid(&mut s, ctrl_y, axis_y);
        self.controller_lane(&mut s, p, tl.controller.get(&p), ctrl_y, ctrl_h);
        let leo_max = brokers
            .iter()
            .flat_map(|b| tl.replicas.get(&(*b, p)).into_iter().flatten())
            .map(|r| r.leo)
            .chain(tl.committed.get(&p).into_iter().flatten().map(|c| c.1))
            .max()
            .unwrap_or(0)
            .max(1);
        for (i, b) in brokers.iter().enumerate() {
            let y = block_y0 + block_h * i as f64;
            self.replica_block(&mut s, *b, p, y, leo_max);
        }
        self.ops(&mut s, p, &processes, ops_y, proc_h, hist_y, hist_h);
        self.axis(&mut s, axis_y);
        self.violation_marks(&mut s, p, &mine, &labels, top - 4.0, axis_y);
        s.push_str("</svg>\n");
        s
    }

    /// Time gridlines and the end of the workload.
    fn grid(&self, s: &mut String, y0: f64, y1: f64) {
        for t in self.ticks() {
            let x = self.x(t);
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{y0:.1}\" x2=\"{x:.1}\" y2=\"{y1:.1}\" stroke=\"#eee\"/>"
            );
        }
        let end = self.sc.workload.duration_ms;
        if end < self.end_ms {
            let x = self.x(end);
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{y0:.1}\" x2=\"{x:.1}\" y2=\"{y1:.1}\" stroke=\"#888\" stroke-dasharray=\"4 3\"><title>the workload ends at {end} ms; then every fault is healed and the cluster must settle</title></line>"
            );
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"#666\" text-anchor=\"end\">workload ends</text>",
                x - 3.0,
                y1 + 26.0
            );
        }
    }

    fn ticks(&self) -> Vec<u64> {
        let step = [
            100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000,
        ]
        .into_iter()
        .find(|s| self.end_ms / s <= 16)
        .unwrap_or(600_000);
        (0..=self.end_ms / step).map(|i| i * step).collect()
    }

    fn axis(&self, s: &mut String, y: f64) {
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#444\"/>",
            WIDTH - RIGHT
        );
        let ticks = self.ticks();
        let step = ticks.get(1).copied().unwrap_or(1_000);
        for t in ticks {
            let x = self.x(t);
            let label = if step >= 1_000 {
                format!("{} s", t / 1_000)
            } else {
                format!("{:.1} s", t as f64 / 1_000.0)
            };
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{y:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#444\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
                y + 4.0,
                y + 15.0
            );
        }
        let _ = writeln!(
            s,
            "<text x=\"8\" y=\"{:.1}\" fill=\"#555\">simulated time</text>",
            y + 15.0
        );
    }

    /// The controllers' leader, leader epoch and ISR for the partition, and faults that hit
    /// controllers.
    fn controller_lane(
        &self,
        s: &mut String,
        p: PartitionId,
        series: Option<&Vec<ControllerSample>>,
        y: f64,
        h: f64,
    ) {
        let _ = writeln!(
            s,
            "<text x=\"8\" y=\"{:.1}\" font-weight=\"bold\">controllers</text>",
            y + 13.0
        );
        let points: Vec<(u64, PartitionState)> = series
            .into_iter()
            .flatten()
            .map(|(t, l, e, isr)| (*t, (*l, *e, isr.clone())))
            .collect();
        for (i, seg) in segments(&points, self.end_ms).iter().enumerate() {
            let (leader, epoch, isr) = &seg.state;
            let (x, w) = (self.x(seg.from), self.w(seg.from, seg.to));
            let fill = match (leader, i % 2) {
                (None, _) => "#f6d0d0",
                (Some(_), 0) => "#ececec",
                _ => "#dfdfdf",
            };
            let who = leader.map_or("no leader".to_string(), |l| format!("leader {l}"));
            let isr_text = isr
                .iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(",");
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h}\" fill=\"{fill}\" stroke=\"#fff\"><title>partition {p}, from {} to {} ms: leader epoch {epoch}, {who}, ISR [{isr_text}]</title></rect>",
                seg.from, seg.to
            );
            let text = [
                format!("leader epoch {epoch} · {who} · ISR [{isr_text}]"),
                format!("epoch {epoch} · {who}"),
                format!("e{epoch}"),
            ]
            .into_iter()
            .find(|t| text_width(t, 10.0) + 6.0 < w);
            if let Some(t) = text {
                let _ = write!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{}</text>",
                    x + 3.0,
                    y + 12.5,
                    esc(&t)
                );
            }
            s.push('\n');
        }
        let mut label_end = f64::MIN;
        for span in &self.obs.fault_spans {
            if let NodeId::Controller(c) = span.node {
                self.fault_shade(s, span, y, h, &format!("controller {c}: "), &mut label_end);
            }
        }
    }

    /// One replica: its role with leader epochs, its ISR membership, its LEO and HW against
    /// the committed offset, its log truncations, and the faults that hit its broker.
    fn replica_block(&self, s: &mut String, b: BrokerId, p: PartitionId, y0: f64, leo_max: Offset) {
        let tl = self.obs.timeline.as_ref().expect("checked by the caller");
        let samples: &[ReplicaSample] = tl.replicas.get(&(b, p)).map_or(&[], Vec::as_slice);
        let rows = ReplicaRows::at(y0);
        self.replica_legend(s, b, p, &rows, samples.last());
        self.role_lane(s, b, p, samples, &rows);
        self.isr_strip(s, b, p, tl.controller.get(&p), &rows);
        let committed = tl.committed.get(&p);
        self.offset_chart(s, samples, committed, &rows, leo_max);
        self.log_cuts(s, b, p, &rows);
        let mut label_end = f64::MIN;
        for span in &self.obs.fault_spans {
            if span.node == NodeId::Broker(b) {
                let h = rows.chart_y + rows.chart_h - rows.role_y;
                self.fault_shade(s, span, rows.role_y, h, "", &mut label_end);
            }
        }
        s.push_str("</g>\n");
    }

    /// Opens the replica's group and labels its lanes: the broker, ISR, and its last LEO and HW.
    fn replica_legend(
        &self,
        s: &mut String,
        b: BrokerId,
        p: PartitionId,
        rows: &ReplicaRows,
        last: Option<&ReplicaSample>,
    ) {
        let _ = writeln!(
            s,
            "<g class=\"replica\" id=\"p{p}-b{b}\">\n<text x=\"8\" y=\"{:.1}\" font-weight=\"bold\">broker {b}</text>\
<text x=\"8\" y=\"{:.1}\" font-size=\"9\" fill=\"#555\">ISR</text>\
<text x=\"8\" y=\"{:.1}\" font-size=\"10\" fill=\"#1b3f8f\">LEO {}</text>\
<text x=\"8\" y=\"{:.1}\" font-size=\"10\" fill=\"#0f9d8a\">HW {}</text>",
            rows.role_y + 12.0,
            rows.isr_y + 7.0,
            rows.chart_y + 14.0,
            last.map_or("?".into(), |l| l.leo.to_string()),
            rows.chart_y + 28.0,
            last.map_or("?".into(), |l| l.hw.to_string()),
        );
    }

    /// The replica's role over time (down, leader, follower, offline), with the leader epoch.
    fn role_lane(
        &self,
        s: &mut String,
        b: BrokerId,
        p: PartitionId,
        samples: &[ReplicaSample],
        rows: &ReplicaRows,
    ) {
        let (role_y, role_h) = (rows.role_y, rows.role_h);
        let points: Vec<(u64, (bool, Role))> = samples
            .iter()
            .map(|r| (r.time_ms, (r.alive, r.role)))
            .collect();
        for seg in segments(&points, self.end_ms) {
            let (alive, role) = seg.state;
            let (fill, color, long, short) = role_style(alive, role);
            let (x, w) = (self.x(seg.from), self.w(seg.from, seg.to));
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{role_y:.1}\" width=\"{w:.1}\" height=\"{role_h}\" fill=\"{fill}\"><title>broker {b}, partition {p}, {} to {} ms: {long}</title></rect>",
                seg.from, seg.to
            );
            if let Some(t) = [long, short]
                .into_iter()
                .find(|t| text_width(t, 10.0) + 6.0 < w)
            {
                let _ = write!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"{color}\">{}</text>",
                    x + 3.0,
                    role_y + 12.0,
                    esc(&t)
                );
            }
            s.push('\n');
        }
    }

    /// The replica's ISR membership as the controllers see it.
    fn isr_strip(
        &self,
        s: &mut String,
        b: BrokerId,
        p: PartitionId,
        controller: Option<&Vec<ControllerSample>>,
        rows: &ReplicaRows,
    ) {
        let (isr_y, isr_h) = (rows.isr_y, rows.isr_h);
        let _ = writeln!(
            s,
            "<rect x=\"{LEFT}\" y=\"{isr_y:.1}\" width=\"{:.1}\" height=\"{isr_h}\" fill=\"#f3f3f3\"/>",
            WIDTH - LEFT - RIGHT
        );
        let isr: Vec<(u64, bool)> = controller
            .into_iter()
            .flatten()
            .map(|(t, _, _, isr)| (*t, isr.contains(&b)))
            .collect();
        for seg in segments(&isr, self.end_ms).iter().filter(|g| g.state) {
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{isr_y:.1}\" width=\"{:.1}\" height=\"{isr_h}\" fill=\"#3a9d5d\"><title>broker {b} in the ISR of partition {p} from {} to {} ms</title></rect>",
                self.x(seg.from),
                self.w(seg.from, seg.to),
                seg.from,
                seg.to
            );
        }
    }

    /// The replica's LEO and HW against the committed offset, on one scale for the partition.
    fn offset_chart(
        &self,
        s: &mut String,
        samples: &[ReplicaSample],
        committed: Option<&Vec<(u64, Offset)>>,
        rows: &ReplicaRows,
        leo_max: Offset,
    ) {
        let (chart_y, chart_h) = (rows.chart_y, rows.chart_h);
        let _ = writeln!(
            s,
            "<rect x=\"{LEFT}\" y=\"{chart_y:.1}\" width=\"{:.1}\" height=\"{chart_h}\" fill=\"#fafafa\" stroke=\"#e4e4e4\"/>\
<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"#777\" text-anchor=\"end\">{leo_max}</text>\
<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"#777\" text-anchor=\"end\">0</text>",
            WIDTH - LEFT - RIGHT,
            LEFT - 3.0,
            chart_y + 8.0,
            LEFT - 3.0,
            chart_y + chart_h
        );
        let y_of =
            |v: Offset| chart_y + chart_h - (v.max(0) as f64 / leo_max as f64) * (chart_h - 2.0);
        let committed: Vec<(u64, Option<Offset>)> = committed
            .into_iter()
            .flatten()
            .map(|(t, c)| (*t, Some(*c)))
            .collect();
        let path = self.step_path(&committed, y_of);
        let _ = writeln!(
            s,
            "<path d=\"{path}\" fill=\"none\" stroke=\"#bbb\" stroke-width=\"4\"/>"
        );
        for (stroke, dash, pick) in [
            ("#0f9d8a", " stroke-dasharray=\"5 2\"", 1),
            ("#1b3f8f", "", 0),
        ] {
            let points: Vec<(u64, Option<Offset>)> = samples
                .iter()
                .map(|r| {
                    let v = if pick == 0 { r.leo } else { r.hw };
                    (r.time_ms, r.alive.then_some(v))
                })
                .collect();
            let path = self.step_path(&points, y_of);
            let _ = writeln!(
                s,
                "<path d=\"{path}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"1.4\"{dash}/>"
            );
        }
    }

    /// A red wedge where the replica's log got shorter: a truncation or a power-loss cut.
    fn log_cuts(&self, s: &mut String, b: BrokerId, p: PartitionId, rows: &ReplicaRows) {
        let chart_y = rows.chart_y;
        for (t, from, to, why) in self.obs.cuts.get(&(b, p)).into_iter().flatten() {
            let x = self.x(*t);
            let _ = writeln!(
                s,
                "<g class=\"cut\"><title>{t} ms: broker {b} cut its log from LEO {from} to {to}: {}</title>\
<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#c00\" stroke-width=\"1\" stroke-dasharray=\"2 2\"/>\
<path d=\"M{:.1} {:.1} L{:.1} {:.1} L{x:.1} {:.1} Z\" fill=\"#c00\"/>\
<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"#c00\">-{}</text></g>",
                esc(why.describe()),
                chart_y,
                chart_y + rows.chart_h,
                x - 4.5,
                chart_y,
                x + 4.5,
                chart_y,
                chart_y + 8.0,
                x + 5.5,
                chart_y + 8.0,
                from - to
            );
        }
    }

    /// A step plot of `points` (None: no value, e.g. the broker is down) up to the end.
    fn step_path(&self, points: &[(u64, Option<Offset>)], y_of: impl Fn(Offset) -> f64) -> String {
        let mut d = String::new();
        let mut drawing = false;
        for (i, (t, v)) in points.iter().enumerate() {
            let next = points.get(i + 1).map_or(self.end_ms, |n| n.0);
            let Some(v) = v else {
                drawing = false;
                continue;
            };
            let y = y_of(*v);
            if drawing {
                let _ = write!(d, "V{y:.1}");
            } else {
                let _ = write!(d, "M{:.1} {y:.1}", self.x(*t));
                drawing = true;
            }
            let _ = write!(d, "H{:.1}", self.x(next));
        }
        if d.is_empty() {
            d.push_str("M0 0");
        }
        d
    }

    /// A fault as a shaded interval over a lane, labelled at its start unless the lane's
    /// previous label (ending at `label_end`) is in the way.
    fn fault_shade(
        &self,
        s: &mut String,
        span: &FaultSpan,
        y: f64,
        h: f64,
        prefix: &str,
        label_end: &mut f64,
    ) {
        let to = span.to_ms.unwrap_or(self.end_ms);
        // No wildcard: a new kind of fault chooses its colour here.
        let (fill, label) = match span.action {
            FaultAction::Crash => ("rgba(214,39,40,0.3)", "crash"),
            FaultAction::PowerLoss => ("rgba(120,0,0,0.45)", "power loss"),
            FaultAction::Pause => ("rgba(255,127,14,0.35)", "paused"),
            FaultAction::Isolate => ("url(#hatch)", "isolated"),
            FaultAction::IsolateFromReplicas => ("url(#hatch)", "cut from replicas"),
            FaultAction::IsolateFromController => ("url(#hatch)", "cut from controllers"),
            FaultAction::IsolateOutbound => ("url(#hatch)", "outbound cut"),
            FaultAction::Split => ("url(#hatch)", "split (minority)"),
            FaultAction::Bridge => ("url(#hatch)", "bridge"),
            FaultAction::Slow | FaultAction::SlowToController | FaultAction::SlowAlterPartition => {
                ("rgba(31,119,180,0.25)", span.action.name())
            }
            FaultAction::Lossy => ("rgba(148,103,189,0.3)", "lossy links"),
            FaultAction::ClockDrift => ("rgba(188,189,34,0.35)", "clock drift"),
            FaultAction::StaleMetadata => ("rgba(23,190,207,0.3)", "stale metadata"),
            FaultAction::SessionExpiry => ("url(#hatch)", "session expired"),
            // Neither starts a span.
            FaultAction::Restart | FaultAction::Heal => {
                ("rgba(120,120,120,0.3)", span.action.name())
            }
        };
        let (x, w) = (self.x(span.from_ms), self.w(span.from_ms, to));
        let until = match span.to_ms {
            Some(t) => format!("until {t} ms"),
            None => "to the end".to_string(),
        };
        let _ = write!(
            s,
            "<g class=\"fault\" data-kind=\"{}\"><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{fill}\" stroke=\"#7a1010\" stroke-opacity=\"0.5\" stroke-width=\"0.8\"><title>{}{label} from {} ms {until}</title></rect>",
            span.action.name(),
            esc(prefix),
            span.from_ms,
        );
        let text = format!("{prefix}{label}");
        if x > *label_end + 3.0 {
            *label_end = x + text_width(&text, 9.0);
            let _ = write!(
                s,
                "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"#7a1010\">{}</text>",
                y - 2.0,
                esc(&text)
            );
        }
        s.push_str("</g>\n");
    }

    /// Client operations as Jepsen's timeline draws them, one row per producer: ok in green
    /// (aggregated into time buckets), fail in pink and info in orange from invoke to
    /// completion; below, completions per bucket stacked by outcome.
    #[allow(clippy::too_many_arguments)]
    fn ops(
        &self,
        s: &mut String,
        p: PartitionId,
        processes: &[u32],
        y0: f64,
        row_h: f64,
        hist_y: f64,
        hist_h: f64,
    ) {
        let tally = self.op_tally(p);
        for (i, proc_id) in processes.iter().enumerate() {
            let y = y0 + (row_h + 3.0) * i as f64;
            self.producer_row(s, &tally, *proc_id, y, row_h);
        }
        self.completions(s, &tally, hist_y, hist_h);
        s.push('\n');
    }

    /// The partition's client operations counted into time buckets and outcome intervals.
    fn op_tally(&self, p: PartitionId) -> OpTally {
        let bucket_ms = self.end_ms.div_ceil(BUCKETS).max(1);
        let nb = (self.end_ms / bucket_ms + 1) as usize;
        let mut invoked: BTreeMap<(u32, u64), u64> = BTreeMap::new();
        let mut ok: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        let mut spans: BTreeMap<(u32, u8), Vec<(u64, u64)>> = BTreeMap::new();
        let mut hist = vec![[0u32; 3]; nb];
        for op in self.obs.history.iter().filter(|o| o.partition == p) {
            let key = (op.process, op.value);
            let k = match op.kind {
                OpType::Invoke => {
                    invoked.insert(key, op.time_ms);
                    continue;
                }
                OpType::Ok => 0,
                OpType::Fail => 1,
                OpType::Info => 2,
            };
            let from = invoked.remove(&key).unwrap_or(op.time_ms);
            let bucket = (op.time_ms / bucket_ms) as usize;
            hist[bucket.min(nb - 1)][k] += 1;
            if k == 0 {
                ok.entry(op.process).or_insert_with(|| vec![0; nb])[bucket.min(nb - 1)] += 1;
            } else {
                spans
                    .entry((op.process, k as u8))
                    .or_default()
                    .push((from, op.time_ms));
            }
        }
        // Never completed: the outcome is unknown, as for info.
        for ((process, _), from) in invoked {
            spans
                .entry((process, 2))
                .or_default()
                .push((from, self.end_ms));
        }
        let ok_max = ok.values().flatten().copied().max().unwrap_or(1).max(1);
        OpTally {
            bucket_ms,
            ok,
            ok_max,
            spans,
            hist,
        }
    }

    /// One producer's row: its ok completions per bucket, then its fail and info intervals.
    fn producer_row(&self, s: &mut String, tally: &OpTally, proc_id: u32, y: f64, row_h: f64) {
        let bucket_ms = tally.bucket_ms;
        let _ = writeln!(
            s,
            "<text x=\"8\" y=\"{:.1}\" font-size=\"10\">producer {proc_id}</text>\
<rect x=\"{LEFT}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{row_h}\" fill=\"#f7f7f7\"/>",
            y + 10.0,
            WIDTH - LEFT - RIGHT
        );
        if let Some(counts) = tally.ok.get(&proc_id) {
            for (j, n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
                let from = j as u64 * bucket_ms;
                let opacity = 0.35 + 0.65 * f64::from(*n) / f64::from(tally.ok_max);
                let _ = writeln!(
                    s,
                    "<rect class=\"op-ok\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{row_h}\" fill=\"#59b86a\" fill-opacity=\"{opacity:.2}\"><title>producer {proc_id}: {n} ok from {from} to {} ms</title></rect>",
                    self.x(from),
                    self.w(from, from + bucket_ms),
                    from + bucket_ms
                );
            }
        }
        for (k, class, fill) in [(1u8, "op-fail", "#f28cb1"), (2, "op-info", "#f0a830")] {
            let Some(list) = tally.spans.get(&(proc_id, k)) else {
                continue;
            };
            for (from, to, n) in merge(list) {
                let what = if k == 1 {
                    "fail (did not happen)"
                } else {
                    "info (unknown outcome)"
                };
                let _ = writeln!(
                    s,
                    "<rect class=\"{class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\" fill-opacity=\"0.9\"><title>producer {proc_id}: {n} {what}, invoked from {from} ms, completed by {to} ms</title></rect>",
                    self.x(from),
                    y + if k == 1 { 0.0 } else { row_h / 2.0 },
                    self.w(from, to).max(1.5),
                    row_h / 2.0
                );
            }
        }
    }

    /// The completions histogram: completions per bucket, stacked ok, fail, info.
    fn completions(&self, s: &mut String, tally: &OpTally, hist_y: f64, hist_h: f64) {
        let (bucket_ms, hist) = (tally.bucket_ms, &tally.hist);
        let max = hist
            .iter()
            .map(|c| c.iter().sum::<u32>())
            .max()
            .unwrap_or(0)
            .max(1);
        let _ = writeln!(
            s,
            "<text x=\"8\" y=\"{:.1}\" font-size=\"10\">completions</text>\
<text x=\"8\" y=\"{:.1}\" font-size=\"9\" fill=\"#777\">max {max} per {bucket_ms} ms</text>\
<rect x=\"{LEFT}\" y=\"{hist_y:.1}\" width=\"{:.1}\" height=\"{hist_h}\" fill=\"#fafafa\"/>",
            hist_y + 11.0,
            hist_y + 23.0,
            WIDTH - LEFT - RIGHT
        );
        for (j, counts) in hist.iter().enumerate() {
            let from = j as u64 * bucket_ms;
            let mut base = hist_y + hist_h;
            for (k, fill) in ["#59b86a", "#f28cb1", "#f0a830"].iter().enumerate() {
                if counts[k] == 0 {
                    continue;
                }
                let h = f64::from(counts[k]) / f64::from(max) * hist_h;
                base -= h;
                let _ = write!(
                    s,
                    "<rect x=\"{:.1}\" y=\"{base:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{fill}\"/>",
                    self.x(from),
                    (self.w(from, from + bucket_ms) - 0.6).max(0.6)
                );
            }
        }
    }
}

/// How a replica's role is drawn: (fill, text colour, long label, short label).
fn role_style(alive: bool, role: Role) -> (&'static str, &'static str, String, String) {
    match (alive, role) {
        (false, _) => ("#3a3a3a", "#fff", "down".to_string(), "down".to_string()),
        (true, Role::Leader { leader_epoch }) => (
            "#1f5fbf",
            "#fff",
            format!("leader · leader epoch {leader_epoch}"),
            format!("L e{leader_epoch}"),
        ),
        (
            true,
            Role::Follower {
                leader,
                leader_epoch,
            },
        ) => (
            "#a9c8ee",
            "#123",
            format!("follower of {leader} · leader epoch {leader_epoch}"),
            format!("F e{leader_epoch}"),
        ),
        (true, Role::Offline) => ("#d4d4d4", "#333", "offline".to_string(), "off".to_string()),
    }
}

/// Overlapping intervals merged: (from, to, how many).
pub(super) fn merge(list: &[(u64, u64)]) -> Vec<(u64, u64, usize)> {
    let mut sorted = list.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<(u64, u64, usize)> = Vec::new();
    for (from, to) in sorted {
        match out.last_mut() {
            Some(last) if from <= last.1 => {
                last.1 = last.1.max(to);
                last.2 += 1;
            }
            _ => out.push((from, to, 1)),
        }
    }
    out
}

/// About how wide `text` is in a sans-serif font of `size` px.
pub(super) fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.56
}
