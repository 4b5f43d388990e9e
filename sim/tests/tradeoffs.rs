//! The committed tradeoff report (`reports/tradeoffs/`, made by `just tradeoffs`) is what the
//! code computes: its README.md and index.html render from its cells.json byte for byte, every
//! cell's summary follows from its per-seed rows, and re-running a subset of the seeds of every
//! cell gives the committed rows exactly (the full grid is too slow for a debug build). Also:
//! your own properties files become a highlighted row, `--jobs` changes no byte, and bad input
//! exits 2 with a located message.

mod common;

use common::ksim;

use std::path::{Path, PathBuf};

use ksim::campaign::tradeoffs::{self, Tradeoffs};

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/tradeoffs")
}

fn committed() -> Tradeoffs {
    tradeoffs::read(&committed_dir().join("cells.json")).unwrap_or_else(|e| panic!("{e}"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ksim-tradeoffs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn committed_report_renders_from_its_cells_json_byte_for_byte() {
    let t = committed();
    let dir = committed_dir();
    // KSIM_BLESS=1 renders the pages again from the committed numbers (a change of layout
    // only; new numbers come from `just tradeoffs`).
    if std::env::var_os("KSIM_BLESS").is_some() {
        std::fs::write(dir.join("README.md"), tradeoffs::markdown(&t)).unwrap();
        std::fs::write(dir.join("index.html"), tradeoffs::html(&t)).unwrap();
    }
    assert_eq!(tradeoffs::json(&t), read(&dir.join("cells.json")));
    assert_eq!(tradeoffs::markdown(&t), read(&dir.join("README.md")));
    assert_eq!(tradeoffs::html(&t), read(&dir.join("index.html")));
    assert_eq!(
        t.command,
        tradeoffs::command(&t.params, Path::new("reports/tradeoffs")),
        "the report names the command that made it"
    );
}

#[test]
fn committed_summaries_follow_from_their_per_seed_rows() {
    let t = committed();
    for cell in &t.cells {
        let seeds: Vec<u64> = cell.runs.iter().map(|r| r.seed).collect();
        assert_eq!(
            seeds,
            (1..=t.params.seeds).collect::<Vec<_>>(),
            "{}",
            cell.config.label
        );
        let again = tradeoffs::summarize(
            &cell.runs,
            cell.summary.latency.clone(),
            cell.summary.findings.clone(),
            t.workload_ms,
        );
        assert_eq!(again, cell.summary, "{}", cell.config.label);
        for f in &cell.summary.findings {
            assert_eq!(cell.runs[f.seed as usize - 1].verdict, "invalid");
        }
    }
}

/// What the issue asks the report to show, for the same fault distribution.
#[test]
fn committed_report_shows_acks_1_losing_and_acks_all_min_isr_2_not() {
    let t = committed();
    let find = |acks: &str, min_isr: usize, flush: &str| {
        t.cells
            .iter()
            .find(|c| {
                c.config.acks == acks
                    && c.config.min_insync_replicas == min_isr
                    && !c.config.unclean_leader_election_enable
                    && c.config.flush == flush
            })
            .unwrap_or_else(|| panic!("no cell acks={acks} min.isr={min_isr} flush={flush}"))
    };
    let lossy = &find("1", 1, "never").summary;
    assert!(lossy.runs_with_loss > 0 && lossy.loss_share_ci[0] > 0.0);
    for flush in ["never", "every message"] {
        let safe = &find("all", 2, flush).summary;
        assert_eq!(
            (safe.lost_total, safe.invalid_runs),
            (0, 0),
            "flush={flush}"
        );
        assert!(safe.loss_share_ci[1] < lossy.loss_share_ci[0]);
    }
}

/// The first two seeds of every cell, and each cell's first run that lost writes: run again,
/// each must give the committed row exactly (numbers and trace hash).
#[test]
fn regenerating_a_subset_of_every_cell_gives_the_committed_rows() {
    let t = committed();
    let plan = tradeoffs::plan(&t.params).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.cells.len(), t.cells.len());
    let mut checked = 0;
    for (planned, cell) in plan.cells.iter().zip(&t.cells) {
        assert_eq!(planned.config, cell.config);
        let mut seeds: Vec<u64> = vec![1, 2];
        if let Some(r) = cell.runs.iter().find(|r| r.lost() > 0) {
            seeds.push(r.seed);
        }
        seeds.sort_unstable();
        seeds.dedup();
        let again = tradeoffs::run_cell(planned, &seeds, 2);
        for r in &again.runs {
            let want = &cell.runs[r.seed as usize - 1];
            assert_eq!(r, want, "{} seed {}", cell.config.label, r.seed);
            checked += 1;
        }
    }
    assert!(checked >= 2 * t.cells.len());
}

#[test]
fn your_properties_become_a_highlighted_row_and_jobs_change_no_byte() {
    let dir = temp_dir("yours");
    let server = dir.join("server.properties");
    let producer = dir.join("producer.properties");
    std::fs::write(
        &server,
        "broker.id=1\nlog.dirs=/var/lib/kafka\nmin.insync.replicas=1\nlog.retention.hours=168\n",
    )
    .unwrap();
    std::fs::write(&producer, "bootstrap.servers=localhost:9092\nacks=1\n").unwrap();
    let mut outputs = Vec::new();
    // The same --out both times: the report names its command, --jobs excepted.
    let out = dir.join("report");
    for jobs in ["1", "2"] {
        let (code, stdout, stderr) = ksim(&[
            "tradeoffs",
            "--seeds",
            "1",
            "--server-properties",
            server.to_str().unwrap(),
            "--producer-properties",
            producer.to_str().unwrap(),
            "--jobs",
            jobs,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert!(stdout.contains("yours      acks=1 min.isr=1"), "{stdout}");
        assert!(
            stdout.contains("ignored    log.retention.hours=168"),
            "{stdout}"
        );
        outputs.push(["README.md", "index.html", "cells.json"].map(|f| read(&out.join(f))));
    }
    assert!(outputs[0] == outputs[1], "--jobs changed the report");
    let [md, html, _] = &outputs[0];
    assert!(
        md.contains("| **yours** | **1** | **1** | **off** | **never** |"),
        "{md}"
    );
    assert!(md.contains("- `log.retention.hours=168` ("), "{md}");
    assert!(html.contains("<tr class=\"yours\">"));
    // Self-contained: inline SVG, no script, no stylesheet or image to fetch.
    assert!(html.contains("<svg"));
    for external in ["<script", "<link", "src=", "@import"] {
        assert!(!html.contains(external), "{external}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_exits_2_with_a_located_message_and_writes_nothing() {
    let dir = temp_dir("bad");
    let bad = dir.join("server.properties");
    std::fs::write(&bad, "broker.id=1\n\nmin.insync.replica=2\n").unwrap();
    let out = dir.join("out");
    let out_s = out.to_str().unwrap();
    let bad_s = bad.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["tradeoffs", "--seeds", "1", "--server-properties", bad_s, "--out", out_s],
            ":3:1: key `min.insync.replica`: unknown server key `min.insync.replica`; did you mean `min.insync.replicas`?",
        ),
        (
            &["tradeoffs", "--seeds", "1", "--bogus", "--out", out_s],
            "unexpected argument '--bogus'",
        ),
        (
            &["tradeoffs", "--seeds", "1", "--rf", "4", "--out", out_s],
            "--rf: key `default.replication.factor`: replication factor 4 must be between 1 and the number of brokers (3)",
        ),
        (
            &["tradeoffs", "--seeds", "1", "--set", "acks=most", "--out", out_s],
            "--set: key `acks`: invalid value `most`",
        ),
    ];
    for (args, message) in cases {
        let (code, stdout, stderr) = ksim(args);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    assert!(!out.exists(), "bad input wrote a report");
    let _ = std::fs::remove_dir_all(&dir);
}

/// No table of the committed report has a column with nothing in it (the column that marks
/// your configuration's row stands only when there is one).
#[test]
fn no_table_of_the_committed_report_has_an_empty_column() {
    let text = read(&committed_dir().join("README.md"));
    let mut tables: Vec<Vec<Vec<String>>> = vec![vec![]];
    for line in text.lines() {
        if line.starts_with('|') && !line.starts_with("|---") {
            let cells = line
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string());
            tables.last_mut().unwrap().push(cells.collect());
        } else if !tables.last().unwrap().is_empty() {
            tables.push(vec![]);
        }
    }
    let tables: Vec<_> = tables.into_iter().filter(|t| t.len() > 1).collect();
    assert!(tables.len() >= 2, "{tables:?}");
    for table in &tables {
        for col in 0..table[0].len() {
            let filled = table
                .iter()
                .any(|row| row.get(col).is_some_and(|c| !c.is_empty()));
            assert!(filled, "column {col} of a table is empty: {:?}", table[0]);
            assert!(
                !table[0][col].is_empty(),
                "column {col} has no header: {:?}",
                table[0]
            );
        }
    }
}
