//! Secrets: each comes from its fixed environment variable, else from the file its `*_file` key
//! names. Problems name the key and the path, never the content.

use secrecy::SecretString;

use super::Environment;
use super::problems::Problems;
use crate::model::{CallerId, ClientToken, check_token_strength};

pub(super) fn resolve_secret(
    env: &dyn Environment,
    env_name: &str,
    file_key: &str,
    file_path: &str,
    problems: &mut Problems<'_>,
) -> Option<SecretString> {
    if let Some(value) = env.var(env_name).filter(|v| !v.is_empty()) {
        return Some(SecretString::from(value));
    }
    if file_path.is_empty() {
        return None;
    }
    match env.read_secret_file(file_path) {
        Ok(content) => {
            // Files written by editors and `echo` end in a newline that is not part of the secret.
            let trimmed = content.trim_end_matches(['\n', '\r']);
            if trimmed.is_empty() {
                problems.at(file_key, format!("{file_path} is empty"));
                None
            } else {
                Some(SecretString::from(trimmed.to_owned()))
            }
        }
        Err(reason) => {
            problems.at(file_key, reason);
            None
        }
    }
}

/// Reads `label:token` lines (blank lines and `#` comments skipped). Problems name the line,
/// never its content.
pub(super) fn client_tokens(
    env: &dyn Environment,
    path: &str,
    problems: &mut Problems<'_>,
) -> Vec<ClientToken> {
    if path.is_empty() {
        return Vec::new();
    }
    let key = "server.client_tokens_file";
    let text = match env.read_secret_file(path) {
        Ok(text) => text,
        Err(reason) => {
            problems.at(key, reason);
            return Vec::new();
        }
    };
    let mut tokens: Vec<ClientToken> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let number = index + 1;
        let Some((label, token)) = line.split_once(':') else {
            problems.at(key, format!("{path} line {number}: expected LABEL:TOKEN"));
            continue;
        };
        if CallerId::parse(label).is_none() {
            problems.at(
                key,
                format!(
                    "{path} line {number}: the label must be 1-64 characters of A-Z a-z 0-9 . _ -"
                ),
            );
        } else if let Err(weakness) = check_token_strength(token) {
            problems.at(key, format!("{path} line {number}: {weakness}"));
        } else if tokens.iter().any(|t| t.label == label) {
            problems.at(
                key,
                format!("{path} line {number}: the label {label} appears twice"),
            );
        } else {
            tokens.push(ClientToken {
                label: label.to_owned(),
                token: SecretString::from(token.to_owned()),
            });
        }
    }
    tokens
}
