//! A key's value as the scenario file writes it: what `to_toml`, the banner and the exported
//! configuration read through each key's `show`, so that every writer agrees with the parser.

use super::*;

/// A setting's value as TOML; `None` when unset (an optional key left out, or Kafka's "never").
pub(crate) trait Show {
    fn show(&self) -> Option<Value>;
}

macro_rules! show_integer {
    ($($t:ty),*) => {
        $(impl Show for $t {
            fn show(&self) -> Option<Value> {
                i64::try_from(*self).ok().map(Value::from)
            }
        })*
    };
}
show_integer!(i32, u32, u64, usize);

impl Show for bool {
    fn show(&self) -> Option<Value> {
        Some(Value::from(*self))
    }
}

impl Show for String {
    fn show(&self) -> Option<Value> {
        Some(Value::from(self.as_str()))
    }
}

impl<T: Show> Show for Option<T> {
    fn show(&self) -> Option<Value> {
        self.as_ref().and_then(Show::show)
    }
}

impl<T: Show> Show for Vec<T> {
    fn show(&self) -> Option<Value> {
        let items: Option<toml_edit::Array> = self.iter().map(Show::show).collect();
        items.map(Value::Array)
    }
}

/// `[min, max]`.
impl Show for (u64, u64) {
    fn show(&self) -> Option<Value> {
        vec![self.0, self.1].show()
    }
}

macro_rules! show_by_name {
    ($($t:ty),*) => {
        $(impl Show for $t {
            fn show(&self) -> Option<Value> {
                Some(Value::from(self.name()))
            }
        })*
    };
}
show_by_name!(
    Acks,
    ksim_model::Truncation,
    ksim_model::Flaw,
    ksim_model::quorum::QuorumFlaw,
    ksim_model::ZkFlaw,
    ksim_model::Assignor,
    crate::scenario::Partitioner,
    crate::scenario::Coordinator,
    FaultAction
);

/// A value as a banner prints it after `key=`: strings bare, lists joined with commas.
pub(crate) fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.value().clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(","),
        other => other.clone().decorated("", "").to_string(),
    }
}

/// A shown value as JSON (for the exported configuration).
fn json_of(v: &Value) -> serde_json::Value {
    match v {
        Value::String(s) => serde_json::Value::from(s.value().as_str()),
        Value::Integer(i) => serde_json::Value::from(*i.value()),
        Value::Float(f) => serde_json::Value::from(*f.value()),
        Value::Boolean(b) => serde_json::Value::from(*b.value()),
        Value::Array(items) => items.iter().map(json_of).collect(),
        Value::Datetime(d) => serde_json::Value::from(d.value().to_string()),
        Value::InlineTable(_) => serde_json::Value::Null,
    }
}

/// `spec`'s value in `sc` as JSON; `null` when unset.
fn spec_json(spec: &KeySpec, sc: &Scenario) -> serde_json::Value {
    (spec.show)(sc).map_or(serde_json::Value::Null, |v| json_of(&v))
}

/// `section.key` of `sc` as JSON; `null` when unset.
pub fn shown_json(sc: &Scenario, section: &str, key: &str) -> serde_json::Value {
    keys_of(section)
        .find(|s| s.key == key)
        .map_or(serde_json::Value::Null, |s| spec_json(s, sc))
}

/// Every key of `section` but the story and the shorthands, as a JSON object.
pub fn section_json(sc: &Scenario, section: &str) -> serde_json::Value {
    let map = keys_of(section)
        .filter(|s| !matches!(s.role(), Role::Story | Role::Alias))
        .map(|s| (s.key.to_string(), spec_json(s, sc)))
        .collect();
    serde_json::Value::Object(map)
}
