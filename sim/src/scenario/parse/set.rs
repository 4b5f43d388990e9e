//! `--set KEY=VALUE`: one override through the same key table as the file.

use super::*;

/// The spec `key` names: `section.key`, or a bare key found in exactly one section.
pub(super) fn resolve<'a>(table: &'a [KeySpec], key: &str) -> Result<&'a KeySpec, String> {
    let is_script = key == SCRIPT_SECTION
        || key.starts_with("faults.script.")
        || key.starts_with("faults.script[")
        || SCRIPT_KEYS.iter().any(|(n, _)| *n == key);
    if is_script {
        return Err(
            "[[faults.script]] entries cannot be set with --set; write them in the scenario file"
                .into(),
        );
    }
    if let Some(spec) = table.iter().find(|s| s.qualified() == key) {
        return Ok(spec);
    }
    let bare: Vec<&KeySpec> = table.iter().filter(|s| s.key == key).collect();
    match bare.as_slice() {
        [one] => Ok(one),
        [] => Err(unknown_set_key(table, key)),
        many => {
            let names: Vec<String> = many
                .iter()
                .map(|s| format!("`{}`", s.qualified()))
                .collect();
            Err(format!(
                "ambiguous key `{key}`: write one of {}",
                names.join(", ")
            ))
        }
    }
}

pub(super) fn unknown_set_key(table: &[KeySpec], key: &str) -> String {
    let qualified: Vec<String> = table.iter().map(KeySpec::qualified).collect();
    let names = qualified
        .iter()
        .map(String::as_str)
        .chain(table.iter().map(|s| s.key));
    match suggest(key, names) {
        Some(best) => format!("unknown key `{key}`; did you mean `{best}`?"),
        None => format!("unknown key `{key}` (keys are written `section.key`, e.g. `server.min.insync.replicas`, or bare, e.g. `acks`)"),
    }
}

/// Apply `text` as the value of `spec`: as TOML if it parses, else as a plain string, so that
/// `acks=all`, `flaw=hw-regress` and `name=2024` all work.
pub(super) fn apply_text(spec: &KeySpec, sc: &mut Scenario, text: &str) -> Result<(), String> {
    let plain = Value::from(text);
    if let Some(e) = out_of_range(text) {
        // A string key (`name`) takes digits as text.
        return (spec.apply)(sc, &plain).map_err(|_| e);
    }
    match text.parse::<Value>() {
        Ok(v) if !v.is_str() => {
            (spec.apply)(sc, &v).or_else(|e| (spec.apply)(sc, &plain).map_err(|_| e))
        }
        Ok(v) => (spec.apply)(sc, &v),
        Err(_) => (spec.apply)(sc, &plain),
    }
}

/// An integer written past what TOML (and every key) holds, 64-bit signed: `None` for any
/// other text.
pub(super) fn out_of_range(text: &str) -> Option<String> {
    let digits = text.trim().trim_start_matches(['-', '+']).replace('_', "");
    let integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    (integer && text.trim().replace('_', "").parse::<i64>().is_err()).then(|| {
        format!(
            "value {} is out of range: an integer is 64-bit signed, {}..={}",
            text.trim(),
            i64::MIN,
            i64::MAX
        )
    })
}

/// A problem with an override, named by its key when it has one.
fn set_error(key: Option<&str>, message: String) -> InputError {
    InputError {
        file: "--set".into(),
        line: None,
        column: None,
        key: key.map(String::from),
        message,
    }
}

/// Set `key` (`section.key` or a bare key) to a typed `value`, as a file holding it would, and
/// record it in `sc.overrides` like a `--set`.
pub fn set(sc: &mut Scenario, key: &str, value: impl Into<Value>) -> Result<(), InputError> {
    let value = value.into();
    let fail = |message| set_error(Some(key), message);
    let spec = resolve(KEYS, key).map_err(fail)?;
    (spec.apply)(sc, &value).map_err(fail)?;
    sc.overrides.push((key.to_string(), plain(&value)));
    sc.set_by.push((spec.qualified(), "--set".into(), None));
    Ok(())
}

/// Apply one `--set KEY=VALUE` override and record it in `sc.overrides`. Checks the key and
/// this one value; the caller runs `validate` after all overrides.
pub fn apply_set(sc: &mut Scenario, assignment: &str) -> Result<(), InputError> {
    let fail = set_error;
    let Some((key, value)) = assignment.split_once('=') else {
        return Err(fail(
            None,
            format!("expected KEY=VALUE, found `{assignment}`"),
        ));
    };
    let (key, value) = (key.trim(), value.trim());
    if key.is_empty() {
        return Err(fail(
            None,
            format!("missing the key before '=' in `{assignment}`"),
        ));
    }
    set_text(sc, key, value)
}

/// Set `key` to `text` as a `--set` or a `.properties` file writes it (TOML if it parses, else
/// a plain string), and record it in `sc.overrides`.
pub fn set_text(sc: &mut Scenario, key: &str, text: &str) -> Result<(), InputError> {
    let fail = |message| set_error(Some(key), message);
    let spec = resolve(KEYS, key).map_err(fail)?;
    apply_text(spec, sc, text).map_err(fail)?;
    sc.overrides.push((key.to_string(), text.to_string()));
    sc.set_by.push((spec.qualified(), "--set".into(), None));
    Ok(())
}

/// The keys of Kafka's own configuration in `section` (`server`, `producer`, `consumer`): what
/// its `.properties` file may set.
pub fn kafka_keys(section: &str) -> Vec<&'static str> {
    keys_of(section)
        .filter(|s| s.role() == Role::Kafka)
        .map(|s| s.key)
        .collect()
}
