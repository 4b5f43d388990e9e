//! The summary of a results file: counts by verdict and finding kind, the coverage marks,
//! the sweep's exit code and the table it prints.

use super::*;

/// Counts over a whole results file, independent of the order its lines were written in.
#[derive(Debug, Default, PartialEq)]
pub struct Summary {
    pub seeds: u64,
    pub valid: u64,
    pub invalid: u64,
    pub vacuous: u64,
    /// Finding kind -> (count, seeds in ascending order, reproduce line of the first). A
    /// vacuous seed is none.
    pub findings: BTreeMap<String, (u64, Vec<u64>, String)>,
    /// The vacuous seeds in ascending order, and why the first showed nothing.
    pub vacuous_seeds: (Vec<u64>, String),
    pub acked: u64,
    pub lost_allowed: u64,
    /// Duplicated values, and the seeds that had any.
    pub duplicates: u64,
    pub seeds_with_duplicates: u64,
    /// Coverage mark -> how many seeds reached it.
    pub marks: BTreeMap<String, u64>,
    /// The marks the scenario requires (`[expect] sweep_marks`) that no seed reached.
    pub unreached: Vec<String>,
}

impl Summary {
    pub fn of(lines: &[Line]) -> Summary {
        let mut sorted: Vec<&Line> = lines.iter().collect();
        sorted.sort_by_key(|l| l.seed);
        let mut s = Summary::default();
        for l in sorted {
            s.seeds += 1;
            match l.verdict {
                SeedVerdict::Valid => s.valid += 1,
                SeedVerdict::Invalid => s.invalid += 1,
                SeedVerdict::Vacuous => s.vacuous += 1,
            }
            if l.verdict == SeedVerdict::Vacuous && first::violation(l).is_none() {
                if s.vacuous_seeds.0.is_empty() {
                    s.vacuous_seeds.1 = l.message.clone();
                }
                s.vacuous_seeds.0.push(l.seed);
            } else if let Some(kind) = &l.finding {
                let entry = s
                    .findings
                    .entry(kind.clone())
                    .or_insert_with(|| (0, Vec::new(), l.reproduce.clone()));
                entry.0 += 1;
                entry.1.push(l.seed);
            }
            s.acked += l.acked;
            s.lost_allowed += l.lost_allowed;
            s.duplicates += l.duplicates;
            s.seeds_with_duplicates += u64::from(l.duplicates > 0);
            for m in &l.marks {
                *s.marks.entry(m.clone()).or_default() += 1;
            }
        }
        s
    }

    /// Note the marks `required` that no seed reached: each fails the sweep.
    pub fn require(&mut self, required: &[String]) {
        self.unreached = required
            .iter()
            .filter(|m| !self.marks.contains_key(*m))
            .cloned()
            .collect();
        for m in &self.unreached {
            self.marks.insert(m.clone(), 0);
        }
    }

    /// 1 if any seed has a finding (nondeterminism included) or a required mark was reached by
    /// no seed; else 3 if no seed was valid (every seed vacuous); else 0. Vacuous seeds beside
    /// valid ones are counted and shown, not the sweep's verdict.
    pub fn exit_code(&self) -> i32 {
        if self.invalid > 0 || !self.unreached.is_empty() {
            1
        } else if self.valid == 0 {
            3
        } else {
            0
        }
    }

    /// How many seeds reached each coverage mark; a required mark that none reached is named.
    fn render_marks(&self, s: &mut String) {
        let _ = writeln!(s, "{:<20}{:>8}", "coverage marks", "seeds");
        for (m, n) in &self.marks {
            let missing = if *n == 0 {
                "  REQUIRED, reached by no seed"
            } else {
                ""
            };
            let _ = writeln!(s, "  {m:<30}{n:>8}{missing}");
        }
    }

    /// The table; `invocation` is this invocation's own line (wall time, rate), if any.
    pub fn render(&self, title: &str, invocation: Option<String>, results: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "== {title} ==");
        for (label, n) in [
            ("seeds run", self.seeds),
            ("valid", self.valid),
            ("invalid", self.invalid),
            ("vacuous", self.vacuous),
        ] {
            let _ = writeln!(s, "{label:<20}{n:>8}");
        }
        let (vacuous, why) = &self.vacuous_seeds;
        if !vacuous.is_empty() {
            let first: Vec<String> = vacuous.iter().take(3).map(u64::to_string).collect();
            let _ = writeln!(
                s,
                "  showed nothing, no finding; first seeds {}: {why}",
                first.join(", ")
            );
        }
        if self.findings.is_empty() {
            let _ = writeln!(s, "{:<20}{:>8}", "findings", "none");
        } else {
            let _ = writeln!(s, "{:<20}{:>8}  first seeds", "findings by kind", "count");
        }
        for (kind, (count, seeds, reproduce)) in &self.findings {
            let first: Vec<String> = seeds.iter().take(3).map(u64::to_string).collect();
            let _ = writeln!(s, "  {kind:<18}{count:>8}  {}", first.join(", "));
            let _ = writeln!(s, "    reproduce: {reproduce}");
        }
        self.render_marks(&mut s);
        let _ = writeln!(s, "{:<20}{:>8}", "acked total", self.acked);
        let _ = writeln!(s, "{:<20}{:>8}", "lost-but-allowed", self.lost_allowed);
        let _ = writeln!(
            s,
            "{:<20}{:>8}  in {} seeds",
            "duplicated", self.duplicates, self.seeds_with_duplicates
        );
        if let Some(line) = invocation {
            let _ = writeln!(s, "{:<20}{line}", "this invocation");
        }
        let _ = writeln!(s, "{:<20}{results}", "results file");
        s
    }
}
