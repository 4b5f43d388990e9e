//! Reading a scenario file: its TOML flattened to dotted keys with their spans, each applied
//! through the key table, the `[[faults.script]]` entries, the `[expect]` outcome.

use super::*;

/// A value found in the file under its key flattened within its section (`min.insync.replicas`
/// whether written dotted, quoted or as nested tables).
pub(super) struct Leaf<'d> {
    pub(super) key: String,
    pub(super) item: &'d Item,
    /// Where the key starts (for a dotted key, its first part).
    pub(super) at: Span,
}

/// Deeper nesting than any real key; stops recursion on hostile input.
pub(super) const MAX_DEPTH: usize = 16;

/// Where the dotted key whose last part starts at `start` begins. toml_edit shares the `Key`
/// of a common prefix between lines (`replica.` in `replica.lag.time.max.ms` and
/// `replica.fetch.wait.max.ms`), so only the last part's position belongs to its own line; walk
/// back from it over `part.` (bare or quoted) to where the user started typing the key.
pub(super) fn dotted_key_start(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let is_bare = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let skip_blanks = |mut p: usize| {
        while p > 0 && matches!(bytes[p - 1], b' ' | b'\t') {
            p -= 1;
        }
        p
    };
    let mut pos = start.min(bytes.len());
    loop {
        let mut p = skip_blanks(pos);
        if p == 0 || bytes[p - 1] != b'.' {
            return pos;
        }
        p = skip_blanks(p - 1);
        match p.checked_sub(1).map(|i| bytes[i]) {
            Some(quote @ (b'"' | b'\'')) => {
                // A quoted part: its opening quote, on the same line.
                match bytes[..p - 1]
                    .iter()
                    .rposition(|&b| b == quote || b == b'\n')
                {
                    Some(i) if bytes[i] == quote => p = i,
                    _ => return pos,
                }
            }
            Some(b) if is_bare(b) => {
                while p > 0 && is_bare(bytes[p - 1]) {
                    p -= 1;
                }
            }
            _ => return pos,
        }
        pos = p;
    }
}

/// Whether `key` of `section` names a value: a key of the table, or of a script entry.
fn is_key(section: &str, key: &str) -> bool {
    if section == SCRIPT_SECTION {
        return SCRIPT_KEYS.iter().any(|(n, _)| *n == key);
    }
    let qualified = qualify(section, key);
    KEYS.iter().any(|s| s.qualified() == qualified)
}

/// Collect the leaves of `table` in `section`, each located where its key starts in `text`.
/// A table written where a key's value belongs (`brokers = {}`), or an empty one, is a leaf:
/// its value is then refused with the type the key expects, never skipped.
pub(super) fn flatten<'d>(
    table: &'d dyn TableLike,
    text: &str,
    (section, prefix): (&str, &str),
    depth: usize,
    out: &mut Vec<Leaf<'d>>,
) {
    for (k, item) in table.iter() {
        let key = if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        };
        match item.as_table_like() {
            Some(sub) if depth < MAX_DEPTH && !sub.is_empty() && !is_key(section, &key) => {
                flatten(sub, text, (section, &key), depth + 1, out)
            }
            _ => {
                let at = table
                    .key(k)
                    .and_then(Key::span)
                    .map(|r| dotted_key_start(text, r.start)..r.end);
                out.push(Leaf { key, item, at });
            }
        }
    }
}

pub(super) fn leaves_of<'d>(table: &'d dyn TableLike, text: &str, section: &str) -> Vec<Leaf<'d>> {
    let mut out = Vec::new();
    flatten(table, text, (section, ""), 0, &mut out);
    // File order, so the first problem in the file is the one reported.
    out.sort_by_key(|l| l.at.as_ref().map_or(usize::MAX, |r| r.start));
    out
}

/// One `[[faults.script]]` entry as read, before its keys are checked.
pub(super) struct ScriptEntry<'d> {
    pub(super) at: Span,
    pub(super) leaves: Vec<Leaf<'d>>,
}

#[derive(Default)]
pub(super) struct ScriptDraft {
    pub(super) at_ms: Option<u64>,
    pub(super) action: Option<FaultAction>,
    pub(super) target: Option<Target>,
    pub(super) restart_after_ms: Option<u64>,
    pub(super) heal_after_ms: Option<u64>,
    pub(super) latency_ms: Option<u64>,
    pub(super) loss_percent: Option<u32>,
    pub(super) clock_percent: Option<u32>,
}

pub(super) type ScriptApply = fn(&mut ScriptDraft, &Value) -> Result<(), String>;

/// Where each key of one script entry was written.
pub(super) type ScriptSpans = Vec<(&'static str, Span)>;

pub(super) static SCRIPT_KEYS: &[(&str, ScriptApply)] = &[
    ("at_ms", |d, v| {
        d.at_ms = Some(int_in(v, 0, MAX)?);
        Ok(())
    }),
    ("action", |d, v| {
        d.action = Some(choice(v, &script_actions())?);
        Ok(())
    }),
    ("target", |d, v| {
        d.target = Some(target(v)?);
        Ok(())
    }),
    ("restart_after_ms", |d, v| {
        d.restart_after_ms = Some(int_in(v, 1, MAX)?);
        Ok(())
    }),
    ("heal_after_ms", |d, v| {
        d.heal_after_ms = Some(int_in(v, 1, MAX)?);
        Ok(())
    }),
    ("latency_ms", |d, v| {
        d.latency_ms = Some(int_in(v, 1, MAX)?);
        Ok(())
    }),
    ("loss_percent", |d, v| {
        d.loss_percent = Some(int_in(v, 1, 100)?);
        Ok(())
    }),
    // 1% to 10000%: a clock may run slow or fast, never stop or run backwards.
    ("clock_percent", |d, v| {
        // A clock between a tenth and four times real speed (the swarm draws 25 to 400).
        d.clock_percent = Some(int_in(v, 10, 400)?);
        Ok(())
    }),
];

impl ScriptDraft {
    /// The entry, or the name of the first required key it lacks.
    pub(super) fn finish(self) -> Result<ScriptedFault, &'static str> {
        Ok(ScriptedFault {
            at_ms: self.at_ms.ok_or("at_ms")?,
            action: self.action.ok_or("action")?,
            target: self.target.ok_or("target")?,
            restart_after_ms: self.restart_after_ms,
            heal_after_ms: self.heal_after_ms,
            latency_ms: self.latency_ms,
            loss_percent: self.loss_percent,
            clock_percent: self.clock_percent,
        })
    }
}

/// Parse state: the scenario being filled and where each key was written (so that errors
/// found later by `validate` can still point into the file).
pub(super) struct Reader<'t> {
    pub(super) text: &'t str,
    pub(super) file: &'t str,
    pub(super) sc: Scenario,
    pub(super) spans: BTreeMap<String, Span>,
}

impl<'t> Reader<'t> {
    pub(super) fn error(&self, key: &str, at: &Span, message: String) -> InputError {
        error_at(self.file, self.text, Some(key), at, message)
    }

    pub(super) fn read(&mut self, root: &dyn TableLike) -> Result<(), InputError> {
        let mut sections: Vec<(String, Vec<Leaf<'_>>)> = Vec::new();
        let mut scripts = Vec::new();
        self.collect_root(root, &mut sections, &mut scripts)?;
        // The section alone turns random faults on, with the defaults for keys it leaves out.
        if sections.iter().any(|(name, _)| name == "faults.random") {
            random(&mut self.sc);
        }
        let mut leaves: Vec<(String, Leaf<'_>)> = sections
            .into_iter()
            .flat_map(|(section, leaves)| leaves.into_iter().map(move |l| (section.clone(), l)))
            .collect();
        leaves.sort_by_key(|(_, l)| l.at.as_ref().map_or(usize::MAX, |r| r.start));
        for (section, leaf) in &leaves {
            self.apply_leaf(section, leaf)?;
        }
        self.read_scripts(&scripts)
    }

    /// Sort the top level into sections (each flattened) and script entries.
    pub(super) fn collect_root<'d>(
        &self,
        root: &'d dyn TableLike,
        sections: &mut Vec<(String, Vec<Leaf<'d>>)>,
        scripts: &mut Vec<ScriptEntry<'d>>,
    ) -> Result<(), InputError> {
        let mut top = Vec::new();
        for (k, item) in root.iter() {
            let at = root.key(k).and_then(Key::span);
            let Some(table) = item.as_table_like() else {
                if k == "faults" || is_section(k) {
                    let msg = format!("expected a table ([{k}]), found {}", item_type_name(item));
                    return Err(self.error(k, &at, msg));
                }
                top.push(Leaf {
                    key: k.to_string(),
                    item,
                    at,
                });
                continue;
            };
            if k == "faults" {
                self.collect_faults(table, sections, scripts)?;
            } else if k == "expect" {
                collect_expect(leaves_of(table, self.text, "expect"), sections);
            } else if is_section(k) && k != SCRIPT_SECTION {
                sections.push((k.to_string(), leaves_of(table, self.text, k)));
            } else {
                return Err(self.error(k, &at, unknown_section_message(k)));
            }
        }
        sections.push((String::new(), top));
        Ok(())
    }

    pub(super) fn collect_faults<'d>(
        &self,
        faults: &'d dyn TableLike,
        sections: &mut Vec<(String, Vec<Leaf<'d>>)>,
        scripts: &mut Vec<ScriptEntry<'d>>,
    ) -> Result<(), InputError> {
        let mut stray = Vec::new();
        for (k, item) in faults.iter() {
            let at = faults.key(k).and_then(Key::span);
            let name = format!("faults.{k}");
            match (k, item.as_table_like()) {
                ("script", _) => scripts.extend(self.script_entries(item, &at)?),
                ("random", Some(t)) => {
                    sections.push((name.clone(), leaves_of(t, self.text, &name)));
                }
                ("random", None) => {
                    let msg = format!(
                        "expected a table ([faults.random]), found {}",
                        item_type_name(item)
                    );
                    return Err(self.error(&name, &at, msg));
                }
                (_, Some(_)) => return Err(self.error(&name, &at, unknown_section_message(&name))),
                // A plain key directly under [faults]: reported as unknown when applied.
                (_, None) => {
                    let at = at.map(|r| dotted_key_start(self.text, r.start)..r.end);
                    stray.push(Leaf {
                        key: k.to_string(),
                        item,
                        at,
                    });
                }
            }
        }
        sections.push(("faults".into(), stray));
        Ok(())
    }

    /// `[[faults.script]]` tables, or the inline form `script = [{ ... }, ...]`.
    pub(super) fn script_entries<'d>(
        &self,
        item: &'d Item,
        at: &Span,
    ) -> Result<Vec<ScriptEntry<'d>>, InputError> {
        if let Some(tables) = item.as_array_of_tables() {
            return Ok(tables
                .iter()
                .map(|t| ScriptEntry {
                    at: t.span().or_else(|| at.clone()),
                    leaves: leaves_of(t, self.text, SCRIPT_SECTION),
                })
                .collect());
        }
        let wrong = |found: &str, at: &Span| {
            let msg =
                format!("expected [[faults.script]] entries (an array of tables), found {found}");
            self.error(SCRIPT_SECTION, at, msg)
        };
        let Some(array) = item.as_array() else {
            return Err(wrong(item_type_name(item), at));
        };
        let mut entries = Vec::new();
        for v in array.iter() {
            let Some(t) = v.as_inline_table() else {
                return Err(wrong(
                    &format!("an array holding {}", type_name(v)),
                    &v.span().or_else(|| at.clone()),
                ));
            };
            entries.push(ScriptEntry {
                at: v.span().or_else(|| at.clone()),
                leaves: leaves_of(t, self.text, SCRIPT_SECTION),
            });
        }
        Ok(entries)
    }

    pub(super) fn apply_leaf(&mut self, section: &str, leaf: &Leaf<'_>) -> Result<(), InputError> {
        let qualified = qualify(section, &leaf.key);
        let Some(spec) = KEYS
            .iter()
            .find(|s| s.section == section && s.key == leaf.key)
        else {
            return Err(self.error(
                &qualified,
                &leaf.at,
                unknown_key_message(section, &leaf.key),
            ));
        };
        if let Some(first) = self.spans.get(&qualified) {
            return Err(self.error(&qualified, &leaf.at, self.twice(first)));
        }
        let value = self.value_of(&qualified, leaf)?;
        (spec.apply)(&mut self.sc, value)
            .map_err(|m| self.error(&qualified, &value.span().or_else(|| leaf.at.clone()), m))?;
        self.spans.insert(qualified, leaf.at.clone());
        Ok(())
    }

    pub(super) fn value_of<'d>(&self, key: &str, leaf: &Leaf<'d>) -> Result<&'d Value, InputError> {
        leaf.item.as_value().ok_or_else(|| {
            self.error(
                key,
                &leaf.at,
                format!("expected a value, found {}", item_type_name(leaf.item)),
            )
        })
    }

    pub(super) fn twice(&self, first: &Span) -> String {
        match first {
            Some(r) => format!(
                "key given twice (first at line {})",
                line_col(self.text, r.start).0
            ),
            None => "key given twice".into(),
        }
    }

    /// Read every entry, then order them by time (stable, so same-time entries keep file order).
    pub(super) fn read_scripts(&mut self, entries: &[ScriptEntry<'_>]) -> Result<(), InputError> {
        let mut read = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            read.push(self.read_script_entry(i, entry)?);
        }
        read.sort_by_key(|(fault, _)| fault.at_ms);
        for (i, (fault, spans)) in read.into_iter().enumerate() {
            for (key, span) in spans {
                self.spans
                    .insert(format!("{SCRIPT_SECTION}[{i}].{key}"), span);
            }
            self.sc.faults.script.push(fault);
        }
        Ok(())
    }

    pub(super) fn read_script_entry(
        &self,
        i: usize,
        entry: &ScriptEntry<'_>,
    ) -> Result<(ScriptedFault, ScriptSpans), InputError> {
        let mut draft = ScriptDraft::default();
        let mut spans: ScriptSpans = Vec::new();
        for leaf in &entry.leaves {
            let key = format!("{SCRIPT_SECTION}[{i}].{}", leaf.key);
            let Some(&(name, apply)) = SCRIPT_KEYS.iter().find(|(n, _)| *n == leaf.key) else {
                return Err(self.error(&key, &leaf.at, unknown_script_key(&leaf.key)));
            };
            if let Some((_, first)) = spans.iter().find(|(n, _)| *n == name) {
                return Err(self.error(&key, &leaf.at, self.twice(first)));
            }
            let value = self.value_of(&key, leaf)?;
            apply(&mut draft, value)
                .map_err(|m| self.error(&key, &value.span().or_else(|| leaf.at.clone()), m))?;
            spans.push((name, leaf.at.clone()));
        }
        let fault = draft.finish().map_err(|missing| {
            let key = format!("{SCRIPT_SECTION}[{i}].{missing}");
            self.error(&key, &entry.at, format!("missing required key `{missing}`"))
        })?;
        Ok((fault, spans))
    }
}

pub(super) fn unknown_script_key(key: &str) -> String {
    let names = SCRIPT_KEYS.iter().map(|(n, _)| *n);
    let mut msg = format!("unknown key `{key}` in [[faults.script]]");
    match suggest(key, names.clone()) {
        Some(best) => msg.push_str(&format!("; did you mean `{best}`?")),
        None => msg.push_str(&format!(
            "; the keys are: {}",
            names.collect::<Vec<_>>().join(", ")
        )),
    }
    msg
}

/// The key (`section.key`) whose value starts at byte `at` of a `key = value` line, and the
/// value's bytes up to a space or comment: what a TOML error inside a value is about.
fn key_of_value(text: &str, at: usize) -> Option<(String, Range<usize>)> {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let key = text[start..at]
        .strip_suffix(' ')
        .unwrap_or(&text[start..at]);
    let key = key.trim().strip_suffix('=')?.trim();
    // A plain or dotted key only: inside an inline table or an array, say nothing.
    let plain = |c: char| c.is_ascii_alphanumeric() || "._-\"".contains(c);
    if key.is_empty() || !key.chars().all(plain) {
        return None;
    }
    let section = text[..start].lines().rev().find_map(|l| {
        let l = l.trim();
        l.starts_with('[')
            .then(|| l.trim_matches(['[', ']']).trim().to_string())
    });
    let len = text[at..]
        .find([' ', '\t', '\n', '#'])
        .unwrap_or(text.len() - at);
    let key = section.map_or(key.to_string(), |s| format!("{s}.{key}"));
    Some((key, at..at + len))
}

/// Parse without the cross-key checks; also returns where each key was written.
pub(super) fn parse_unvalidated(
    text: &str,
    origin: &str,
) -> Result<(Scenario, BTreeMap<String, Span>), InputError> {
    let doc = ImDocument::parse(text).map_err(|e| {
        // toml_edit's messages span lines ("invalid string\nexpected `\"`"); keep ours on one.
        let parts: Vec<&str> = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let message = match parts.as_slice() {
            [] => "invalid TOML".to_string(),
            parts => format!("invalid TOML: {}", parts.join("; ")),
        };
        if let Some((key, range)) = e.span().and_then(|r| key_of_value(text, r.start)) {
            let message = super::set::out_of_range(&text[range]).unwrap_or(message);
            return error_at(origin, text, Some(&key), &e.span(), message);
        }
        error_at(origin, text, None, &e.span(), message)
    })?;
    if doc
        .as_table()
        .iter()
        .all(|(k, _)| k == "name" || k == "description")
    {
        return Err(InputError {
            file: origin.to_string(),
            line: Some(1),
            column: Some(1),
            key: None,
            message: "the file sets nothing a run depends on (no [cluster], [server], \
                      [producer], [workload] or [faults] key): it would run a fault-free cluster \
                      of defaults and call it VALID; start from a copy of scenarios/default.toml"
                .into(),
        });
    }
    let mut sc = Scenario {
        origin: origin.to_string(),
        ..Scenario::default()
    };
    if let Some(stem) = Path::new(origin)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
    {
        sc.name = stem.to_string();
    }
    let mut reader = Reader {
        text,
        file: origin,
        sc,
        spans: BTreeMap::new(),
    };
    reader.read(doc.as_table())?;
    Ok((reader.sc, reader.spans))
}

/// Parse a scenario file's text. `origin` is its path, used in messages and as the default name.
pub fn parse(text: &str, origin: &str) -> Result<Scenario, InputError> {
    let (sc, spans) = parse_unvalidated(text, origin)?;
    validate(&sc, origin).map_err(|mut e| {
        // Point at the offending key when the file wrote it.
        if let Some(Some(r)) = e.key.as_ref().and_then(|k| spans.get(k)) {
            let (line, column) = line_col(text, r.start);
            e.line = Some(line);
            e.column = Some(column);
        }
        e
    })?;
    Ok(sc)
}
