//! Finding scenario files: a gallery name or a path, and the gallery's one-line descriptions.

use super::*;

/// Where named scenarios are looked for, in order.
pub(super) fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("KSIM_SCENARIOS").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    dirs.push(PathBuf::from("scenarios"));
    dirs.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("scenarios"),
    );
    dirs
}

/// Every `NAME.toml` in `dirs`; an earlier directory wins a name.
pub(super) fn available_in(dirs: &[PathBuf]) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
            let stem = path.file_stem().and_then(|s| s.to_str()).map(String::from);
            if let (Some(stem), true) = (stem, path.extension().is_some_and(|x| x == "toml")) {
                found.entry(stem).or_insert(path);
            }
        }
    }
    found
}

pub(super) fn load_file(path: &Path) -> Result<Scenario, InputError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| InputError {
        file: origin.clone(),
        line: None,
        column: None,
        key: None,
        message: format!("cannot read the scenario: {e}"),
    })?;
    parse(&text, &origin)
}

pub(super) fn load_from(name_or_path: &str, dirs: &[PathBuf]) -> Result<Scenario, InputError> {
    let path = Path::new(name_or_path);
    if path.is_file() {
        return load_file(path);
    }
    let fail = |message: String| InputError {
        file: name_or_path.to_string(),
        line: None,
        column: None,
        key: None,
        message,
    };
    // Something that looks like a path is never taken as a name.
    if name_or_path.contains(['/', '\\']) || name_or_path.ends_with(".toml") {
        return Err(fail("no such scenario file".into()));
    }
    let available = available_in(dirs);
    if let Some(path) = available.get(name_or_path) {
        return load_file(path);
    }
    Err(fail(unknown_scenario_message(
        name_or_path,
        &available,
        dirs,
    )))
}

pub(super) fn unknown_scenario_message(
    name: &str,
    available: &BTreeMap<String, PathBuf>,
    dirs: &[PathBuf],
) -> String {
    if available.is_empty() {
        let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return format!(
            "unknown scenario `{name}`: no scenario files found (looked in {})",
            looked.join(", ")
        );
    }
    let names: Vec<&str> = available.keys().map(String::as_str).collect();
    let mut msg = format!("unknown scenario `{name}`; available: {}", names.join(", "));
    if let Some(best) = suggest(name, names.iter().copied()) {
        msg.push_str(&format!(" (did you mean `{best}`?)"));
    }
    msg
}

/// Load a scenario from a file path, or by name from the scenarios directories.
pub fn load(name_or_path: &str) -> Result<Scenario, InputError> {
    load_from(name_or_path, &candidate_dirs())
}

pub(super) fn gallery_from(dirs: &[PathBuf]) -> Vec<(String, String)> {
    available_in(dirs)
        .into_iter()
        .map(|(name, path)| {
            let summary = match load_file(&path) {
                Ok(sc) => first_sentence(&sc.description),
                Err(e) => format!("(invalid: {e})"),
            };
            (name, summary)
        })
        .collect()
}

/// The first sentence of a description (its first line if that is shorter).
pub(super) fn first_sentence(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    match line.find(". ") {
        Some(i) => line[..=i].to_string(),
        None => line.to_string(),
    }
}

/// Every named scenario with the first sentence of its description, sorted by name.
pub fn gallery() -> Vec<(String, String)> {
    gallery_from(&candidate_dirs())
}
