//! Reads scenario files (TOML written with Kafka's own server.properties and producer.properties
//! keys) into a `Scenario`, applies `--set KEY=VALUE` overrides and checks the result. One table
//! of key specs serves the file parser and `--set` alike, and every error names the file, line,
//! column and key so that a typo points at itself.

mod files;
mod keys;
mod read;
mod set;
mod show;
mod suggest;
mod validate;
mod values;
mod write;

pub use files::*;
pub use keys::Role;
pub(crate) use keys::*;
pub use read::*;
pub use set::*;
pub(crate) use show::*;
pub(crate) use suggest::*;
pub use validate::*;
use values::*;
pub use write::*;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ksim_model::{Acks, Named, Protocol, VariantArray};
use toml_edit::{ImDocument, Item, Key, TableLike, Value};

use crate::scenario::{
    Coordinator, FaultAction, Outcome, RandomFaults, Scenario, ScriptedFault, Target,
};

/// A problem with a scenario file or a `--set` override, located as precisely as known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for InputError {}

/// A byte range in the file text; `None` where toml_edit kept no position.
type Span = Option<Range<usize>>;

/// 1-based line and column (in characters) of a byte offset. Safe for any offset, even one
/// past the end or inside a multi-byte character.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let prefix = &bytes[..offset.min(bytes.len())];
    let line = prefix.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = prefix
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    // Count UTF-8 lead bytes only, so a column is a character count.
    let column = prefix[line_start..]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count()
        + 1;
    (line, column)
}

fn error_at(file: &str, text: &str, key: Option<&str>, at: &Span, message: String) -> InputError {
    let (line, column) = match at {
        Some(r) => {
            let (l, c) = line_col(text, r.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    InputError {
        file: file.to_string(),
        line,
        column,
        key: key.map(String::from),
        message,
    }
}

#[cfg(test)]
mod tests;
