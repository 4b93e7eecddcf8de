//! The real process environment and filesystem behind the core's `Environment` trait.

use ots_gateway_core::config::Environment;

pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn vars_with_prefix(&self, prefix: &str) -> Vec<(String, String)> {
        std::env::vars()
            .filter(|(name, _)| name.starts_with(prefix))
            .collect()
    }

    fn read_secret_file(&self, path: &str) -> Result<String, String> {
        // The io error says why (missing, permission) without echoing any content.
        std::fs::read_to_string(path).map_err(|error| format!("cannot read {path}: {error}"))
    }
}
