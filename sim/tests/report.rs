//! The run report `ksim run` writes: every file there, the violation marked on the timeline,
//! a page that parses as XML and needs nothing from the network, the same bytes for the same
//! seed, and a run that keeping the timeline does not change.

mod common;

use std::path::{Path, PathBuf};

use common::{ksim_in, scenario};
use ksim::cluster::ctx::lock;
use ksim::cluster::run::{run, run_for_report};

/// A fresh directory for one test under cargo's temporary directory.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `report` line ends the output and names the page.
fn report_line(stdout: &str) -> &str {
    let last = stdout.lines().last().expect("some output");
    last.strip_prefix("report     ")
        .unwrap_or_else(|| panic!("no report line at the end: {stdout}"))
}

/// Run story 3 (`kip-101-truncate-to-hw`, its seed 3) in `dir`, writing its report under
/// `report_dir`; it must fail. Returns its output.
fn story_3(dir: &Path, report_dir: &str) -> String {
    let args = [
        "run",
        "kip-101-truncate-to-hw",
        "--seed",
        "3",
        "--report-dir",
        report_dir,
    ];
    let (code, out, err) = ksim_in(dir, &args);
    assert_eq!(code, 1, "{out}{err}");
    out
}

#[test]
fn a_failing_story_marks_its_violations_on_one_timeline_per_partition() {
    let dir = fresh_dir("kip-101");
    let out = story_3(&dir, "out");
    assert_eq!(report_line(&out), "out/kip-101-truncate-to-hw/3/index.html");
    let report = dir.join("out/kip-101-truncate-to-hw/3");
    let html = read(&report.join("index.html"));
    assert!(html.contains("id=\"verdict\" class=\"verdict invalid\""));
    assert!(html.contains("INVALID: 4 violation(s)"));
    assert!(html.contains("<g class=\"violation\" id=\"v0\" data-checker=\"strong-isr\">"));
    assert!(html.contains("data-checker=\"leader-completeness\""));
    assert_eq!(
        html.matches("class=\"timeline\"").count(),
        1,
        "one partition"
    );
    // The faults of the story as intervals: broker 3 cut from the replicas, then two crashes.
    assert!(html.contains("data-kind=\"isolate-from-replicas\""));
    assert_eq!(html.matches("data-kind=\"crash\"").count(), 2);
    // Broker 3's truncation to its HW is marked where it happened.
    assert!(html.contains("13118 ms: broker 3 cut its log from LEO 635 to 629"));
    // The scenario block wraps inside the page, each line's continuation under its value.
    assert!(html.contains("pre.banner{white-space:pre-wrap"));
    assert!(html.contains("<pre class=\"banner\"><span>ksim "));

    let results: serde_json::Value =
        serde_json::from_str(&read(&report.join("results.json"))).expect("results.json parses");
    assert_eq!(results["verdict"], "invalid");
    assert_eq!(results["violations"][0]["checker"], "strong-isr");
    assert!(
        results.get("wall_s").is_none(),
        "no wall-clock time in a report"
    );

    let text = read(&report.join("history.txt"));
    assert!(
        text.contains("FAULT     crash broker 1"),
        "faults interleaved"
    );
    assert!(text.contains("VIOLATION [strong-isr]"));
}

#[test]
fn the_page_parses_as_xml_and_needs_nothing_from_the_network() {
    let dir = fresh_dir("xml");
    story_3(&dir, ".");
    let html = read(&dir.join("kip-101-truncate-to-hw/3/index.html"));
    // `<!DOCTYPE html>` is a DTD to an XML parser.
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&html, opts)
        .expect("index.html is well-formed XML");
    let svg = "http://www.w3.org/2000/svg";
    let timelines: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name((svg, "svg")) && n.attribute("class") == Some("timeline"))
        .collect();
    assert_eq!(timelines.len(), 1);
    let marks = timelines[0]
        .descendants()
        .filter(|n| n.attribute("class") == Some("violation"))
        .count();
    assert_eq!(marks, 4, "one mark per violation");
    // A lost write is drawn where it was lost (the last truncation, 28142 ms) and linked by a
    // dashed line and an arrow to its acknowledgement (5000 ms), to the left of it.
    let x1 = |n: roxmltree::Node| {
        n.attribute("x1")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap()
    };
    let lost = timelines[0]
        .descendants()
        .find(|n| n.attribute("data-checker") == Some("acked-durability"))
        .unwrap();
    assert!(lost.descendants().any(|n| n
        .text()
        .is_some_and(|t| t.starts_with("at 28142 ms (acknowledged at 5000 ms)"))));
    let lines: Vec<_> = lost
        .children()
        .filter(|n| n.has_tag_name((svg, "line")))
        .collect();
    assert_eq!(lines.len(), 2, "the loss and the acknowledgement");
    assert_eq!(lines[1].attribute("class"), Some("acked"));
    assert!(x1(lines[1]) < x1(lines[0]));
    assert!(lost
        .children()
        .any(|n| n.attribute("class") == Some("lost-after")));
    // Every truncation says how many records it cut, readable at any LEO scale.
    let cuts: Vec<_> = timelines[0]
        .descendants()
        .filter(|n| n.attribute("class") == Some("cut"))
        .collect();
    assert!(!cuts.is_empty());
    for cut in cuts {
        let label = cut
            .descendants()
            .filter_map(|n| n.text())
            .find(|t| t.starts_with('-'));
        assert!(
            label.is_some_and(|t| t[1..].parse::<u64>().is_ok_and(|n| n > 0)),
            "{label:?}"
        );
    }
    for n in doc.descendants() {
        assert!(
            !(n.has_tag_name("script") || n.has_tag_name("link") || n.has_tag_name("img")),
            "nothing loaded from elsewhere"
        );
        for a in n.attributes() {
            assert!(
                a.name() != "src" && !(a.name() == "href" && a.value().contains("://")),
                "{}={}",
                a.name(),
                a.value()
            );
        }
    }
}

#[test]
fn a_valid_run_writes_every_file_and_the_same_bytes_for_the_same_seed() {
    let dir = fresh_dir("default");
    for out_dir in ["a", "b"] {
        let (code, out, err) = ksim_in(
            &dir,
            &["run", "default", "--seed", "1", "--report-dir", out_dir],
        );
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(report_line(&out), format!("{out_dir}/default/1/index.html"));
    }
    let (a, b) = (dir.join("a/default/1"), dir.join("b/default/1"));
    for f in ksim::report::FILES {
        let bytes = std::fs::read(a.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(!bytes.is_empty(), "{f} is empty");
        assert!(bytes == std::fs::read(b.join(f)).unwrap(), "{f} differs");
    }
    let html = read(&a.join("index.html"));
    assert!(html.contains("class=\"verdict valid\""));
    assert!(!html.contains("class=\"violation\""));

    let replay = a.join("replay.sh");
    assert!(read(&replay).contains("cargo run --release -- run default --seed 1\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&replay).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "replay.sh is executable");
    }
    let history = read(&a.join("history.jsonl"));
    let first: serde_json::Value = serde_json::from_str(history.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "invoke");
    let replicas = read(&a.join("replicas.txt"));
    assert!(replicas.contains("controllers: leader"), "{replicas}");
}

#[test]
fn a_report_directory_that_cannot_be_written_exits_2_with_the_path() {
    let dir = fresh_dir("unwritable");
    std::fs::write(dir.join("a-file"), "").unwrap();
    let (code, out, err) = ksim_in(
        &dir,
        &["run", "default", "--seed", "1", "--report-dir", "a-file"],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("error: cannot write the run report at a-file/default/1"),
        "{err}"
    );
}

#[test]
fn keeping_the_timeline_leaves_the_run_unchanged() {
    let sc = scenario("default", &[]);
    let plain = run(1, &sc);
    let kept = run_for_report(1, &sc);
    let (plain, kept) = (lock(&plain.ctx.observer), lock(&kept.ctx.observer));
    assert_eq!(plain.trace_hash(), kept.trace_hash());
    assert_eq!(plain.events, kept.events);
    assert!(plain.timeline.is_none(), "a plain run keeps no timeline");
    let tl = kept.timeline.as_ref().expect("a timeline");
    for (key, view) in &kept.views {
        let series = &tl.replicas[key];
        let last = series.last().unwrap();
        assert_eq!(
            (last.leo, last.hw),
            (view.leo, view.hw),
            "{key:?} ends in its final state"
        );
        assert!(series.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
    }
    assert!(
        tl.controller[&0].len() >= 2,
        "elections after the first state"
    );
    assert!(!tl.committed[&0].is_empty());
    // The faults as intervals, each one ended by its restart.
    assert!(!kept.fault_spans.is_empty());
    assert!(kept.fault_spans.iter().all(|s| s.to_ms.is_some()));
}
