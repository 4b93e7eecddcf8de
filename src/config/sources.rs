//! Where values come from, lowest precedence first: built-in defaults, the file, the environment,
//! command-line flags. Each source becomes a TOML table laid over the previous ones, and each key
//! remembers which source set it last ([`Origins`]), so a problem can say where to look.

use std::collections::BTreeMap;

use toml::de::{DeTable, DeValue};

use super::{CommandLineOverrides, ENV_OVERRIDE_PREFIX, ENV_USERNAME, Environment};

/// Where one key's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Origin {
    Default,
    /// The file, at this line (1-based).
    File {
        line: usize,
    },
    Environment {
        variable: String,
    },
    Flag {
        flag: &'static str,
    },
}

impl Origin {
    /// The coarse source, which starts every problem line.
    pub(super) fn source_name(&self, file_name: &str) -> String {
        match self {
            Origin::Default | Origin::File { .. } => file_name.to_owned(),
            Origin::Environment { .. } => "environment".to_owned(),
            Origin::Flag { .. } => "command line".to_owned(),
        }
    }

    /// The precise place within the source.
    pub(super) fn location(&self) -> Option<String> {
        match self {
            Origin::Default => None,
            Origin::File { line } => Some(format!("at line {line}")),
            Origin::Environment { variable } => Some(format!("by {variable}")),
            Origin::Flag { flag } => Some(format!("by {flag}")),
        }
    }
}

/// The source of every key that did not keep its default.
#[derive(Debug)]
pub(super) struct Origins {
    file_name: String,
    by_key: BTreeMap<String, Origin>,
}

impl Origins {
    pub(super) fn new(file_name: &str) -> Self {
        Origins {
            file_name: file_name.to_owned(),
            by_key: BTreeMap::new(),
        }
    }

    pub(super) fn file_name(&self) -> &str {
        &self.file_name
    }

    fn set(&mut self, key: String, origin: Origin) {
        self.by_key.insert(key, origin);
    }

    /// The origin of `key`, or of the nearest enclosing key that was set (`rest.quota_create`
    /// for `rest.quota_create.burst`), or the defaults.
    pub(super) fn of(&self, key: &str) -> Origin {
        let mut candidate = key.split('[').next().unwrap_or(key);
        loop {
            if let Some(origin) = self.by_key.get(candidate) {
                return origin.clone();
            }
            match candidate.rsplit_once('.') {
                Some((parent, _)) => candidate = parent,
                None => return Origin::Default,
            }
        }
    }
}

/// Parses the file, recording the line of every section and key. On a syntax error, the reason
/// names the line but never quotes it: the line could hold a misplaced secret.
pub(super) fn read_file(text: &str, origins: &mut Origins) -> Result<toml::Table, String> {
    let spanned = DeTable::parse(text).map_err(|error| describe_toml_error(&error, text))?;
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    for (section, value) in spanned.get_ref() {
        let section_name = section.get_ref().to_string();
        match value.get_ref() {
            DeValue::Table(keys) => {
                for (key, _) in keys {
                    origins.set(
                        format!("{section_name}.{}", key.get_ref()),
                        Origin::File {
                            line: line_of(key.span().start),
                        },
                    );
                }
            }
            // `server = 5`: the whole section is one (wrong) value.
            _ => origins.set(
                section_name,
                Origin::File {
                    line: line_of(section.span().start),
                },
            ),
        }
    }
    text.parse::<toml::Table>()
        .map_err(|error| describe_toml_error(&error, text))
}

/// TOML's own `Display` quotes the offending source line, so only its message and the line
/// number are kept.
pub(super) fn describe_toml_error(error: &toml::de::Error, text: &str) -> String {
    let message = error.message().trim_end();
    match error.span() {
        Some(span) if !text.is_empty() => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        _ => message.to_owned(),
    }
}

/// `OTS_GATEWAY__<SECTION>__<KEY>=value` overrides, plus the fixed `OTS_GATEWAY_USERNAME`.
/// Malformed names come back as `(variable, reason)`.
pub(super) fn read_environment(
    env: &dyn Environment,
    origins: &mut Origins,
) -> (toml::Table, Vec<(String, String)>) {
    let mut table = toml::Table::new();
    let mut malformed = Vec::new();
    let mut overrides = env.vars_with_prefix(ENV_OVERRIDE_PREFIX);
    // Deterministic order, so the same environment always yields the same result and messages.
    overrides.sort();
    for (name, value) in overrides {
        let path: Vec<String> = name[ENV_OVERRIDE_PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        let [section, key] = path.as_slice() else {
            malformed.push((
                name.clone(),
                format!("expected {ENV_OVERRIDE_PREFIX}<SECTION>__<KEY>"),
            ));
            continue;
        };
        set_key(&mut table, section, key, env_value(&value));
        origins.set(
            format!("{section}.{key}"),
            Origin::Environment { variable: name },
        );
    }
    if let Some(username) = env.var(ENV_USERNAME) {
        set_key(
            &mut table,
            "upstream",
            "username",
            toml::Value::String(username),
        );
        origins.set(
            "upstream.username".to_owned(),
            Origin::Environment {
                variable: ENV_USERNAME.to_owned(),
            },
        );
    }
    (table, malformed)
}

/// Environment values are typed the way TOML would read them (`8080`, `true`, `["a", "b"]`),
/// and anything that is not valid TOML is taken as a plain string.
fn env_value(raw: &str) -> toml::Value {
    let document = format!("value = {raw}");
    match document.parse::<toml::Table>() {
        Ok(mut parsed) => parsed
            .remove("value")
            .unwrap_or_else(|| toml::Value::String(raw.to_owned())),
        Err(_) => toml::Value::String(raw.to_owned()),
    }
}

/// Flags, as `(key, flag, value)`.
pub(super) fn flag_values(
    flags: &CommandLineOverrides,
) -> Vec<(&'static str, &'static str, String)> {
    let mut values = Vec::new();
    if let Some(listen) = &flags.listen {
        values.push(("server.listen", "--listen", listen.clone()));
    }
    if let Some(upstream) = &flags.upstream {
        values.push(("upstream.url", "--upstream", upstream.clone()));
    }
    values
}

pub(super) fn apply_flags(
    table: &mut toml::Table,
    flags: &CommandLineOverrides,
    origins: &mut Origins,
) {
    for (key, flag, value) in flag_values(flags) {
        if let Some((section, name)) = key.split_once('.') {
            set_key(table, section, name, toml::Value::String(value));
            origins.set(key.to_owned(), Origin::Flag { flag });
        }
    }
}

fn set_key(table: &mut toml::Table, section: &str, key: &str, value: toml::Value) {
    let entry = table
        .entry(section.to_owned())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    // A section given as a plain value is left to the deserializer's type error.
    if let toml::Value::Table(section_table) = entry {
        section_table.insert(key.to_owned(), value);
    }
}

/// Lays `overlay` over `base`, key by key within each section.
pub(super) fn merge_tables(base: &mut toml::Table, overlay: toml::Table) {
    for (section, value) in overlay {
        match (base.get_mut(&section), value) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(keys)) => existing.extend(keys),
            (_, value) => {
                base.insert(section, value);
            }
        }
    }
}

/// Dotted names of keys in `table` that the schema does not know.
pub(super) fn unknown_keys(table: &toml::Table, schema: &toml::Table) -> Vec<String> {
    let mut unknown = Vec::new();
    for (section, value) in table {
        match (schema.get(section), value) {
            (Some(toml::Value::Table(known)), toml::Value::Table(keys)) => {
                unknown.extend(
                    keys.keys()
                        .filter(|key| !known.contains_key(*key))
                        .map(|key| format!("{section}.{key}")),
                );
            }
            (Some(_), _) => {}
            (None, _) => unknown.push(section.clone()),
        }
    }
    unknown
}

pub(super) fn hint_for_unknown_key(key: &str, schema: &toml::Table) -> String {
    let known: Vec<String> = match key.split_once('.') {
        Some((section, _)) => schema
            .get(section)
            .and_then(toml::Value::as_table)
            .map(|keys| keys.keys().cloned().collect())
            .unwrap_or_default(),
        None => schema.keys().map(|s| format!("[{s}]")).collect(),
    };
    format!("unknown key; expected one of: {}", known.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_keys_remember_their_lines() {
        let mut origins = Origins::new("f.toml");
        read_file(
            "# comment\n[server]\nlisten = 1\n\n[rest]\nquota_create = { per_minute = 1 }\n",
            &mut origins,
        )
        .expect("valid TOML");
        assert_eq!(origins.of("server.listen"), Origin::File { line: 3 });
        assert_eq!(
            origins.of("rest.quota_create.burst"),
            Origin::File { line: 6 }
        );
        assert_eq!(origins.of("server.max_body_bytes"), Origin::Default);
        assert_eq!(origins.of("log.level"), Origin::Default);
    }
}
