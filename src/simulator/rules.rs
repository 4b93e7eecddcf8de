//! Request validation and TTL clamping, in the order and wording current OTS uses (ots-api.md
//! §4, §5, §8). Pure functions: nothing here touches the store.

use crate::error::{Error, Result};
use crate::model::{CreateOptions, GenerateRequest, Passphrase, ShareRequest};

use super::keys;

pub(crate) const MAX_SECRET_BYTES: usize = 10_000;
const DEFAULT_TTL: u64 = 604_800;
const MIN_TTL: u64 = 60;
const MAX_TTL_ANONYMOUS: u64 = 604_800;
const MAX_TTL_AUTHENTICATED: u64 = 2_592_000;
const PASSPHRASE_MIN_CHARS: usize = 4;
const PASSPHRASE_MAX_CHARS: usize = 128;
const DEFAULT_PASSWORD_LENGTH: i64 = 12;
const MAX_PASSWORD_LENGTH: i64 = 128;

/// What a valid create request boils down to, whichever route it came through.
pub(crate) struct Draft {
    pub ttl: u64,
    pub passphrase: Option<Passphrase>,
    pub recipients: Vec<String>,
}

/// A refusal carrying OTS's `X-OTS-Intended-Status: 400`, as every v1 validation failure does.
pub(crate) fn refused(message: impl Into<String>) -> Error {
    Error::Refused {
        message: message.into(),
        intended_status: Some(400),
    }
}

/// OTS's answer to anything it did not anticipate (an exception in the request).
pub(crate) fn unexpected() -> Error {
    refused("An unexpected error occurred :[")
}

/// Clients send `passphrase=` and `recipient=` with nothing in them; OTS treats that as absent.
fn non_empty(value: Option<&String>) -> Option<&str> {
    value.map(String::as_str).filter(|v| !v.is_empty())
}

pub(crate) fn given_passphrase(value: Option<&Passphrase>) -> Option<&Passphrase> {
    value.filter(|p| !p.expose().is_empty())
}

pub(crate) fn clamp_ttl(requested: Option<i64>, authenticated: bool) -> u64 {
    let max = if authenticated {
        MAX_TTL_AUTHENTICATED
    } else {
        MAX_TTL_ANONYMOUS
    };
    match requested {
        None => DEFAULT_TTL.min(max),
        Some(secs) => u64::try_from(secs).unwrap_or(0).clamp(MIN_TTL, max),
    }
}

/// Validates `/share` in OTS's order: size, recipient, share_domain, passphrase, empty secret.
pub(crate) fn check_share(request: &ShareRequest, authenticated: bool) -> Result<Draft> {
    if request.secret.byte_len() > MAX_SECRET_BYTES {
        return Err(Error::SecretTooLarge {
            max_bytes: MAX_SECRET_BYTES as u64,
        });
    }
    let draft = check_options(&request.options, authenticated)?;
    if request.secret.is_empty() {
        return Err(refused("You did not provide anything to share"));
    }
    Ok(draft)
}

/// Validates `/generate`: the shared rules first, then the length, whose failures OTS only hits
/// when it comes to generating.
pub(crate) fn check_generate(
    request: &GenerateRequest,
    authenticated: bool,
) -> Result<(Draft, usize)> {
    let draft = check_options(&request.options, authenticated)?;
    let length = request.length.unwrap_or(DEFAULT_PASSWORD_LENGTH);
    if length > MAX_PASSWORD_LENGTH {
        return Err(refused(
            "Generated password length must be no more than 128 characters",
        ));
    }
    // Ruby's generator raises ArgumentError on a length ≤ 0, which v1 reports as unexpected.
    let length = usize::try_from(length)
        .ok()
        .filter(|l| *l > 0)
        .ok_or_else(unexpected)?;
    Ok((draft, length))
}

/// The rules share and generate have in common, in OTS's order: recipient, share_domain,
/// passphrase.
fn check_options(options: &CreateOptions, authenticated: bool) -> Result<Draft> {
    let recipients = check_recipient(non_empty(options.recipient.as_ref()), authenticated)?;
    check_share_domain(non_empty(options.share_domain.as_ref()), authenticated)?;
    let passphrase = given_passphrase(options.passphrase.as_ref());
    if let Some(passphrase) = passphrase {
        check_passphrase_length(passphrase)?;
    }
    Ok(Draft {
        ttl: clamp_ttl(options.ttl, authenticated),
        passphrase: passphrase.cloned(),
        recipients,
    })
}

fn check_recipient(recipient: Option<&str>, authenticated: bool) -> Result<Vec<String>> {
    let Some(recipient) = recipient else {
        return Ok(Vec::new());
    };
    if !authenticated {
        return Err(refused("An account is required to send emails."));
    }
    if !keys::is_deliverable(recipient) {
        return Err(refused(format!("Undeliverable email address: {recipient}")));
    }
    Ok(vec![keys::obscure_email(recipient)])
}

/// The simulator owns no custom domains, so any share_domain is one the caller does not own.
fn check_share_domain(domain: Option<&str>, authenticated: bool) -> Result<()> {
    match domain {
        None => Ok(()),
        Some(domain) if authenticated => Err(refused(format!("Unknown domain: {domain}"))),
        Some(domain) => Err(refused(format!(
            "You do not have permission to use domain: {domain}"
        ))),
    }
}

fn check_passphrase_length(passphrase: &Passphrase) -> Result<()> {
    let chars = passphrase.char_len();
    if chars < PASSPHRASE_MIN_CHARS {
        return Err(refused(format!(
            "Passphrase must be at least {PASSPHRASE_MIN_CHARS} characters long"
        )));
    }
    if chars > PASSPHRASE_MAX_CHARS {
        return Err(refused(format!(
            "Passphrase must be no more than {PASSPHRASE_MAX_CHARS} characters long"
        )));
    }
    Ok(())
}
