//! The simulator router's one extra job: read the caller's OTS credentials the way OTS does, so
//! `ots-gateway simulate` authenticates clients like a real server.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, header};
use ots_gateway_core::model::Credentials;

use crate::errors::LocalRefusal;

/// `None` for an anonymous request (no `Authorization` header). Present-but-unusable credentials
/// are refused exactly as OTS refuses them (§2): a non-Basic scheme, undecodable Basic, or an
/// empty user or token. Whether the account exists is the simulator's decision.
pub fn credentials_from_headers(headers: &HeaderMap) -> Result<Option<Credentials>, LocalRefusal> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let refused = LocalRefusal::SimulatorNotAuthorized;
    let value = value.to_str().map_err(|_| refused.clone())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or(refused.clone())?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(refused);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| refused.clone())?;
    let decoded = String::from_utf8(decoded).map_err(|_| refused.clone())?;
    let (user, token) = decoded.split_once(':').ok_or(refused.clone())?;
    if user.is_empty() || token.is_empty() {
        return Err(refused);
    }
    Ok(Some(Credentials::new(user, token)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use secrecy::ExposeSecret;

    fn creds(value: Option<&str>) -> Result<Option<Credentials>, LocalRefusal> {
        let mut headers = HeaderMap::new();
        if let Some(v) = value {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        credentials_from_headers(&headers)
    }

    #[test]
    fn no_header_is_anonymous() {
        assert!(creds(None).unwrap().is_none());
    }

    #[test]
    fn basic_credentials_are_read() {
        let encoded = STANDARD.encode("team@example.com:tok:en");
        let c = creds(Some(&format!("Basic {encoded}"))).unwrap().unwrap();
        assert_eq!(c.username, "team@example.com");
        assert_eq!(c.api_key.expose_secret(), "tok:en");
        let c = creds(Some(&format!("basic  {encoded}"))).unwrap();
        assert!(c.is_some());
    }

    #[test]
    fn anything_else_is_not_authorized() {
        let no_colon = format!("Basic {}", STANDARD.encode("user"));
        let empty_token = format!("Basic {}", STANDARD.encode("user:"));
        let empty_user = format!("Basic {}", STANDARD.encode(":token"));
        for bad in [
            "Bearer abc",
            "Basic",
            "Basic !!!",
            no_colon.as_str(),
            empty_token.as_str(),
            empty_user.as_str(),
        ] {
            assert_eq!(
                creds(Some(bad)).unwrap_err(),
                LocalRefusal::SimulatorNotAuthorized,
                "{bad:?}"
            );
        }
    }
}
