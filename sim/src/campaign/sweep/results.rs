//! The results file: one JSON line per seed, appended and fsynced as each finishes; read
//! whole, or again to resume after a kill.

use super::*;

/// Parse complete lines (each ended by `\n`); an error names the file and the 1-based line.
pub fn parse_lines(path: &Path, bytes: &[u8]) -> Result<Vec<Line>, String> {
    let mut lines = Vec::new();
    for (i, raw) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let line = std::str::from_utf8(raw)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Line>(t).map_err(|e| e.to_string()))
            .map_err(|e| format!("{} line {}: not a results line: {e}", path.display(), i + 1))?;
        lines.push(line);
    }
    Ok(lines)
}

/// A results file that must be whole: a missing final `\n` means a sweep was cut short.
pub fn read_whole(path: &Path) -> Result<Vec<Line>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.last().is_some_and(|b| *b != b'\n') {
        return Err(format!(
            "{}: the last line is torn (no newline): finish that sweep with --resume first",
            path.display()
        ));
    }
    parse_lines(path, &bytes)
}

/// Open the results file for appending and lock it. A new sweep refuses an existing file; a
/// resumed one reads it, cutting off a torn last line.
pub(super) fn open_results(path: &Path, resume: bool) -> Result<(File, Vec<Line>), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut options = OpenOptions::new();
    options.read(true).append(true);
    if resume {
        options.create(true)
    } else {
        options.create_new(true)
    };
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => format!(
            "{} already exists: use --resume to continue that sweep, or remove the file",
            path.display()
        ),
        _ => format!("cannot open {}: {e}", path.display()),
    })?;
    file.try_lock().map_err(|e| match e {
        std::fs::TryLockError::WouldBlock => {
            format!("{} is locked: another sweep is writing it", path.display())
        }
        std::fs::TryLockError::Error(e) => format!("cannot lock {}: {e}", path.display()),
    })?;
    let lines = if resume {
        read_for_resume(&mut file, path)?
    } else {
        Vec::new()
    };
    Ok((file, lines))
}

/// Read everything, cut a torn last line (a kill in the middle of an append) off the file.
pub(super) fn read_for_resume(file: &mut File, path: &Path) -> Result<Vec<Line>, String> {
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io)?;
    let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if keep < bytes.len() {
        file.set_len(keep as u64).map_err(io)?;
        file.sync_data().map_err(io)?;
        eprintln!(
            "note: {}: removed a torn last line ({} bytes) left by an interrupted sweep",
            path.display(),
            bytes.len() - keep
        );
    }
    parse_lines(path, &bytes[..keep])
}

/// The seeds already done; every line must belong to this sweep and appear once.
pub(super) fn check_resumed(
    path: &Path,
    lines: &[Line],
    sc: &Scenario,
    opts: &Options,
) -> Result<BTreeSet<u64>, String> {
    let mut done = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let at = format!("{} line {}", path.display(), i + 1);
        if !in_sweep(line.seed, opts) {
            return Err(format!(
                "{at}: seed {} is not one of this sweep's {}",
                line.seed,
                describe_range(opts)
            ));
        }
        let ours = reproduce_line(sc, line.seed);
        if line.reproduce != ours {
            return Err(format!(
                "{at}: written by a different sweep: `{}`; this sweep would run `{ours}`",
                line.reproduce
            ));
        }
        let ours = SweepOf::of(opts);
        if line
            .sweep
            .as_ref()
            .is_some_and(|of| of.version != ours.version)
        {
            return Err(format!(
                "{at}: written by ksim {}; this is ksim {}: finish a sweep with the version that began it",
                line.sweep.as_ref().map_or("", |o| o.version.as_str()),
                ours.version
            ));
        }
        if let Some(first) = done.insert(line.seed, i + 1) {
            return Err(format!("{at}: seed {} already appears on line {first}; a seed must appear once (`ksim merge --out` dedupes identical copies)", line.seed));
        }
    }
    Ok(done.into_keys().collect())
}

/// One line, one `write_all`, one `sync_data`. Syncing every line is cheap next to a seed
/// (milliseconds against tens of milliseconds or more), and it means a finding printed on the
/// terminal is on the disk even if the machine dies right after.
pub(super) fn append(file: &mut File, line: &Line) -> std::io::Result<()> {
    let mut text = serde_json::to_string(line)?;
    text.push('\n');
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

/// Write sorted lines to a temporary file beside `path`, sync it, rename it over `path` and
/// sync the directory, so a reader sees the old file or the whole new one.
pub(super) fn write_atomically(path: &Path, lines: &[Line]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut text = String::new();
    for line in lines {
        text.push_str(&serde_json::to_string(line)?);
        text.push('\n');
    }
    let written = File::create(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|_| f.sync_all()));
    if let Err(e) = written.and_then(|_| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    File::open(dir)?.sync_all()
}
