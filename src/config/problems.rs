//! Collecting configuration problems: every one is reported, each naming its key and where the
//! value came from, never the value itself (a misplaced secret must not reach a terminal).

use std::fmt;

use super::sources::{Origin, Origins};

/// One thing wrong with the configuration: where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The file's name, `environment`, `command line` or `defaults`.
    pub source: String,
    /// Dotted key, e.g. `server.listen`, or empty when the problem is not about one key.
    pub key: String,
    /// What was expected, and a hint where one helps.
    pub reason: String,
    /// Exactly where within the source: `line 3`, the environment variable's name, the flag.
    pub location: Option<String>,
}

impl ConfigProblem {
    /// A problem with no more precise location than its source.
    pub fn new(
        source: impl Into<String>,
        key: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        ConfigProblem {
            source: source.into(),
            key: key.into(),
            reason: reason.into(),
            location: None,
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.source)?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        write!(f, "{}", self.reason)?;
        match &self.location {
            Some(location) => write!(f, " (set {location})"),
            None => Ok(()),
        }
    }
}

/// Every problem found; loading does not stop at the first one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The one problem collector: validators name a key, and the collector adds where that key's
/// value came from.
pub(super) struct Problems<'a> {
    origins: &'a Origins,
    found: Vec<ConfigProblem>,
}

impl<'a> Problems<'a> {
    pub(super) fn new(origins: &'a Origins) -> Self {
        Problems {
            origins,
            found: Vec::new(),
        }
    }

    /// A problem with the value of `key`, wherever it was set.
    pub(super) fn at(&mut self, key: &str, reason: impl Into<String>) {
        let origin = self.origins.of(key);
        self.found.push(ConfigProblem {
            source: origin.source_name(self.origins.file_name()),
            key: key.to_owned(),
            reason: reason.into(),
            location: origin.location(),
        });
    }

    /// A problem with a value read from a fixed environment variable rather than a key.
    pub(super) fn at_variable(&mut self, key: &str, variable: &str, reason: impl Into<String>) {
        self.in_source(
            &Origin::Environment {
                variable: variable.to_owned(),
            },
            key,
            reason,
        );
    }

    /// A problem found while reading a source itself (unknown keys, TOML syntax).
    pub(super) fn in_source(&mut self, origin: &Origin, key: &str, reason: impl Into<String>) {
        self.found.push(ConfigProblem {
            source: origin.source_name(self.origins.file_name()),
            key: key.to_owned(),
            reason: reason.into(),
            location: origin.location(),
        });
    }

    pub(super) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    pub(super) fn into_error(self) -> ConfigError {
        ConfigError {
            problems: self.found,
        }
    }
}
