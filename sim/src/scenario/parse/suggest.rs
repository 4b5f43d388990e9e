//! "Did you mean": the nearest known key, section or name for a typo.

use super::*;

/// Longer input is not a typo of any key; skipping it keeps hostile input cheap.
pub(super) const MAX_SUGGEST_LEN: usize = 64;

/// The candidate closest to `word`, if it is close enough to be a plausible typo. Distance is
/// in characters, a swap of two neighbours counting as one edit (optimal string alignment), so
/// `min.insync.replcias` is one edit from `min.insync.replicas`.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word = word.to_lowercase();
    let length = word.chars().count();
    if length > MAX_SUGGEST_LEN {
        return None;
    }
    let limit = (length / 3).clamp(1, 4);
    // A missing unit suffix (`duration` for `duration_ms`) is a typo too, however long.
    let close = |d: usize, c: &str| d <= limit || (length >= 2 && c.starts_with(word.as_str()));
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(&word, c), c))
        .filter(|&(d, c)| close(d, c))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

pub(super) fn where_is(section: &str) -> String {
    if section.is_empty() {
        "at the top level".into()
    } else {
        format!("in [{section}]")
    }
}

/// Why `key` is unknown in `section`: it belongs elsewhere, or it is a typo of a known key.
pub(super) fn unknown_key_message(section: &str, key: &str) -> String {
    if let Some(spec) = KEYS.iter().find(|s| s.key == key) {
        let home = match spec.section {
            "" => "at the top level, before any [section]".to_string(),
            other => format!("in [{other}]"),
        };
        return format!(
            "unknown key `{key}` {}; it belongs {home}",
            where_is(section)
        );
    }
    let mut msg = format!("unknown key `{key}` {}", where_is(section));
    let here: Vec<&str> = KEYS
        .iter()
        .filter(|s| s.section == section)
        .map(|s| s.key)
        .collect();
    let all: Vec<String> = KEYS.iter().map(KeySpec::qualified).collect();
    if let Some(best) = suggest(key, here.iter().copied()) {
        msg.push_str(&format!("; did you mean `{best}`?"));
    } else if let Some(best) = suggest(&qualify(section, key), all.iter().map(String::as_str)) {
        msg.push_str(&format!("; did you mean `{best}`?"));
    } else if !here.is_empty() {
        msg.push_str(&format!("; the keys here are: {}", here.join(", ")));
    }
    msg
}

pub(super) fn unknown_section_message(name: &str) -> String {
    let mut msg = format!("unknown section [{name}]");
    if let Some(best) = suggest(name, sections()) {
        msg.push_str(&format!("; did you mean [{best}]?"));
    } else {
        msg.push_str(&format!("; the sections are: {}", sections().join(", ")));
    }
    msg
}
