//! The violations on the timeline: a red line at each, its label above, and for a lost
//! write the link back to its acknowledgement.

use super::*;

impl Draw<'_> {
    /// A vertical red line at each violation of this partition (or of no one partition),
    /// with its message as tooltip, and the labels above.
    pub(super) fn violation_marks(
        &self,
        s: &mut String,
        p: PartitionId,
        mine: &[&(usize, &Violation, Option<PartitionId>)],
        labels: &[(usize, f64, bool, String)],
        y0: f64,
        y1: f64,
    ) {
        for (i, v, _) in mine {
            let x = self.x(v.time_ms);
            // The first partition that draws a violation carries its anchor.
            let id = if self.first_partition_of(*i) == Some(p) {
                format!("v{i}")
            } else {
                format!("v{i}-p{p}")
            };
            let _ = writeln!(
                s,
                "<g class=\"violation\" id=\"{id}\" data-checker=\"{}\"><title>{}: [{}] {}</title>\
<line x1=\"{x:.1}\" y1=\"{y0:.1}\" x2=\"{x:.1}\" y2=\"{y1:.1}\" stroke=\"#d00\" stroke-width=\"1.6\"/>{}</g>",
                esc(v.checker),
                v.when(),
                esc(v.checker),
                esc(&v.message),
                self.write_link(v, x, y0, y1),
            );
        }
        for (row, lx, right, label) in labels {
            let _ = writeln!(
                s,
                "<text class=\"violation-label\" x=\"{lx:.1}\" y=\"{:.1}\" font-size=\"10\" font-weight=\"bold\" fill=\"#d00\" text-anchor=\"{}\">{}</text>",
                15.0 + 13.0 * *row as f64,
                if *right { "end" } else { "start" },
                esc(label)
            );
        }
    }

    /// For a write lost after its acknowledgement: a dashed line where it was acknowledged and
    /// an arrow from there to the loss, so the two read as one story.
    fn write_link(&self, v: &Violation, x: f64, y0: f64, y1: f64) -> String {
        let Some(w) = v.write_ms.filter(|w| *w < v.time_ms) else {
            return String::new();
        };
        let (wx, ay) = (self.x(w), y0 + 6.0);
        format!(
            "<line class=\"acked\" x1=\"{wx:.1}\" y1=\"{y0:.1}\" x2=\"{wx:.1}\" y2=\"{y1:.1}\" stroke=\"#d00\" stroke-width=\"1\" stroke-dasharray=\"3 3\"/>\
<path class=\"lost-after\" d=\"M{wx:.1} {ay:.1} H{:.1} M{:.1} {:.1} L{x:.1} {ay:.1} L{:.1} {:.1}\" stroke=\"#d00\" stroke-width=\"1\" fill=\"none\"/>",
            x - 1.0,
            x - 5.0,
            ay - 3.0,
            x - 5.0,
            ay + 3.0
        )
    }

    /// Labels for the violation lines: violations of one checker a few pixels apart share one
    /// (checker, how many, when), in the first row where it fits; as (row, x, anchored at its
    /// right end, text). A violation without a free row keeps its line and tooltip.
    pub(super) fn violation_labels(
        &self,
        mine: &[&(usize, &Violation, Option<PartitionId>)],
    ) -> Vec<(usize, f64, bool, String)> {
        let mut by_time: Vec<&Violation> = mine.iter().map(|(_, v, _)| *v).collect();
        by_time.sort_by_key(|v| v.time_ms);
        // (checker, first time, last time, how many)
        let mut clusters: Vec<(&str, u64, u64, usize)> = Vec::new();
        for v in by_time {
            match clusters.last_mut() {
                Some(c) if c.0 == v.checker && self.x(v.time_ms) - self.x(c.1) < 12.0 => {
                    c.2 = v.time_ms;
                    c.3 += 1;
                }
                _ => clusters.push((v.checker, v.time_ms, v.time_ms, 1)),
            }
        }
        let mut row_end = [f64::MIN; LABEL_ROWS];
        let mut labels = Vec::new();
        for (checker, from, to, n) in clusters {
            let x = self.x(from);
            let label = if n == 1 {
                format!("✖ {checker} {from} ms")
            } else {
                format!("✖ {checker} ×{n} {from}–{to} ms")
            };
            let w = text_width(&label, 10.0);
            let right = x + 3.0 + w > WIDTH - 2.0;
            let (lx, l0, l1) = if right {
                (x - 3.0, x - 3.0 - w, x)
            } else {
                (x + 3.0, x, x + 3.0 + w)
            };
            if let Some(row) = (0..LABEL_ROWS).find(|r| l0 > row_end[*r] + 4.0) {
                row_end[row] = l1;
                labels.push((row, lx, right, label));
            }
        }
        labels
    }

    fn first_partition_of(&self, i: usize) -> Option<PartitionId> {
        let (_, _, vp) = self.violations.iter().find(|(j, _, _)| *j == i)?;
        Some(vp.unwrap_or(0))
    }
}
