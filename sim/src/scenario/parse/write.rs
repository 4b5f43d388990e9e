//! Writing a scenario back as a file `parse` reads to the same run, and its settings as the
//! banner lists them: both generated from the key table.

use std::fmt::Write;

use super::*;

/// Whether `to_toml` writes `spec`: every key that decides the run; flaws and fixes beyond
/// Kafka only when set; never the story, the expectation or a shorthand.
fn written(spec: &KeySpec, sc: &Scenario) -> bool {
    match spec.role() {
        Role::Ksim | Role::Kafka | Role::History => true,
        Role::Beyond | Role::SelfTest => spec.changed(sc),
        Role::Story | Role::Alias => false,
    }
}

/// The scenario as a file `parse` reads back to the same run: every key that decides it, then
/// its `[[faults.script]]` entries.
pub fn to_toml(sc: &Scenario) -> String {
    let mut s = String::new();
    let mut section = None;
    for spec in KEYS.iter().filter(|spec| written(spec, sc)) {
        let Some(value) = (spec.show)(sc) else {
            continue;
        };
        if section != Some(spec.section) {
            if !spec.section.is_empty() {
                let _ = writeln!(s, "\n[{}]", spec.section);
            }
            section = Some(spec.section);
        }
        let _ = writeln!(s, "{} = {}", spec.key, value.decorated("", ""));
    }
    for f in &sc.faults.script {
        write_script_entry(&mut s, f);
    }
    s
}

fn write_script_entry(s: &mut String, f: &ScriptedFault) {
    let _ = writeln!(s, "\n[[faults.script]]");
    let _ = writeln!(s, "at_ms = {}", f.at_ms);
    let _ = writeln!(s, "action = {}", Value::from(f.action.name()));
    let _ = writeln!(s, "target = {}", Value::from(f.target.to_string()));
    if let Some(d) = f.restart_after_ms {
        let _ = writeln!(s, "restart_after_ms = {d}");
    }
    if let Some(d) = f.heal_after_ms {
        let _ = writeln!(s, "heal_after_ms = {d}");
    }
    if let Some((key, value)) = f.parameter() {
        let _ = writeln!(s, "{key} = {value}");
    }
}

/// `key=value` for each key of `section` `sc` shows, as the banner lists them; a key left
/// unset (Kafka's "never" for the `log.flush.interval.*` keys) shows as `never`.
pub fn settings(sc: &Scenario, section: &str) -> Vec<String> {
    keys_of(section)
        .filter(|spec| !matches!(spec.role(), Role::Alias | Role::Story))
        .filter(|spec| spec.applies(sc))
        .map(|spec| {
            let value = (spec.show)(sc).map_or_else(|| "never".into(), |v| plain(&v));
            format!("{}={value}", spec.key)
        })
        .collect()
}

/// `key=value` for each key of `role` that `sc` sets away from its default (the historical
/// switches turned back to an old rule, the fixes beyond Kafka turned on).
pub fn changed_settings(sc: &Scenario, role: Role) -> Vec<String> {
    KEYS.iter()
        .filter(|spec| spec.role() == role && spec.changed(sc) && spec.applies(sc))
        .filter_map(|spec| Some(format!("{}={}", spec.key, plain(&(spec.show)(sc)?))))
        .collect()
}
