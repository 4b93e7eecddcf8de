//! Where each operation lives on an OTS server, and how share links are built.
//!
//! Paths carry keys, which are bearer capabilities, so nothing here is ever logged; log lines name
//! the operation instead (see [`Route::operation`]).

use http::{HeaderValue, Method, Uri};
use url::Url;

use super::api::ApiVersion;
use crate::base_url::BaseUrl;
use crate::error::{Error, Result};
use crate::model::{ReceiptKey, SecretKey};

/// The receipt id v2's credential check asks for; no real receipt id has dashes.
pub(super) const CREDENTIAL_PROBE_ID: &str = "ots-gateway-credential-check";

/// One operation's route, on either API. Keys are already limited to `[A-Za-z0-9_-]` by their `parse`, so they can be put
/// into a path without escaping.
#[derive(Clone, Copy)]
pub(super) enum Route<'a> {
    Status,
    Authcheck,
    Share,
    Generate,
    Reveal(&'a SecretKey),
    Receipt(&'a ReceiptKey),
    Burn(&'a ReceiptKey),
    Recent,
}

impl Route<'_> {
    pub(super) fn method(self) -> Method {
        match self {
            Route::Status | Route::Authcheck | Route::Receipt(_) | Route::Recent => Method::GET,
            Route::Share | Route::Generate | Route::Reveal(_) | Route::Burn(_) => Method::POST,
        }
    }

    /// The longest answer the gateway reads for this route. OTS answers one receipt or secret in
    /// a few KiB, so anything much longer is not OTS, and reading it all could exhaust memory.
    /// Recent is the exception: OTS lists every receipt of the account from the last 30 days,
    /// with no limit and no pages, and v2 sends each one twice (in `records` and again in
    /// `details`), about 2 KiB a receipt. 32 MiB holds some 16 000 receipts, over 500 a day;
    /// 1 MiB, the limit before, held about 500, which a team sharing through one account
    /// passes within weeks (docs/ots-api-v2-notes.md).
    pub(super) fn answer_limit(self) -> usize {
        const MIB: usize = 1024 * 1024;
        match self {
            Route::Recent => 32 * MIB,
            Route::Status
            | Route::Authcheck
            | Route::Share
            | Route::Generate
            | Route::Reveal(_)
            | Route::Receipt(_)
            | Route::Burn(_) => MIB,
        }
    }

    /// A name that is safe to log, unlike the path.
    pub(super) fn operation(self) -> &'static str {
        match self {
            Route::Status => "status",
            Route::Authcheck => "authcheck",
            Route::Share => "share",
            Route::Generate => "generate",
            Route::Reveal(_) => "retrieve",
            Route::Receipt(_) => "receipt",
            Route::Burn(_) => "burn",
            Route::Recent => "recent",
        }
    }

    fn path_below_api_root(self, api: ApiVersion) -> String {
        match api {
            ApiVersion::V1 => self.v1_path(),
            ApiVersion::V2 => self.v2_path(),
        }
    }

    fn v1_path(self) -> String {
        match self {
            Route::Status => "status".to_owned(),
            Route::Authcheck => "authcheck".to_owned(),
            Route::Share => "share".to_owned(),
            Route::Generate => "generate".to_owned(),
            Route::Reveal(key) => format!("secret/{}", key.as_str()),
            Route::Receipt(key) => format!("private/{}", key.as_str()),
            Route::Burn(key) => format!("private/{}/burn", key.as_str()),
            Route::Recent => "private/recent".to_owned(),
        }
    }

    /// v2 has no authcheck, and its status ignores credentials. A receipt lookup of an id no
    /// receipt has is the cheapest call that checks them: 401 for refused credentials (v0.26.3
    /// and later), 404 `RecordNotFound` for accepted ones.
    fn v2_path(self) -> String {
        match self {
            Route::Status => "status".to_owned(),
            Route::Authcheck => format!("receipt/{CREDENTIAL_PROBE_ID}"),
            Route::Recent => "receipt/recent".to_owned(),
            Route::Share => "secret/conceal".to_owned(),
            Route::Generate => "secret/generate".to_owned(),
            Route::Reveal(key) => format!("secret/{}/reveal", key.as_str()),
            Route::Receipt(key) => format!("receipt/{}", key.as_str()),
            Route::Burn(key) => format!("receipt/{}/burn", key.as_str()),
        }
    }
}

/// The configured base URL, normalised once so every request and link is joined the same way.
#[derive(Debug)]
pub(super) struct Endpoints {
    /// The base URL with its path ending in `/`: self-hosted servers may live under a sub-path,
    /// and a missing trailing slash would make a relative join drop that sub-path.
    site_root: Url,
    /// The request URIs of the routes without a key, parsed once: a `Uri` clone shares its
    /// bytes, where parsing one for every request was a measurable share of a status call.
    v1_fixed: FixedRoutes,
    v2_fixed: FixedRoutes,
}

#[derive(Debug)]
struct FixedRoutes {
    status: Uri,
    authcheck: Uri,
    share: Uri,
    generate: Uri,
    recent: Uri,
}

impl FixedRoutes {
    fn new(site_root: &Url, api: ApiVersion) -> Result<Self> {
        Ok(FixedRoutes {
            status: request_uri(site_root, Route::Status, api)?,
            authcheck: request_uri(site_root, Route::Authcheck, api)?,
            share: request_uri(site_root, Route::Share, api)?,
            generate: request_uri(site_root, Route::Generate, api)?,
            recent: request_uri(site_root, Route::Recent, api)?,
        })
    }
}

impl Endpoints {
    pub(super) fn new(base_url: &Url) -> Result<Self> {
        check_base_url(base_url)?;
        let mut site_root = base_url.clone();
        if !site_root.path().ends_with('/') {
            let with_slash = format!("{}/", site_root.path());
            site_root.set_path(&with_slash);
        }
        Ok(Endpoints {
            v1_fixed: FixedRoutes::new(&site_root, ApiVersion::V1)?,
            v2_fixed: FixedRoutes::new(&site_root, ApiVersion::V2)?,
            site_root,
        })
    }

    /// The absolute URI a route's request goes to. Fails only if the base URL and a key cannot
    /// form a URI, which the checks on both rule out; it is not assumed.
    pub(super) fn uri(&self, route: Route<'_>, api: ApiVersion) -> Result<Uri> {
        let fixed = match api {
            ApiVersion::V1 => &self.v1_fixed,
            ApiVersion::V2 => &self.v2_fixed,
        };
        match route {
            Route::Status => Ok(fixed.status.clone()),
            Route::Authcheck => Ok(fixed.authcheck.clone()),
            Route::Share => Ok(fixed.share.clone()),
            Route::Generate => Ok(fixed.generate.clone()),
            Route::Recent => Ok(fixed.recent.clone()),
            Route::Reveal(_) | Route::Receipt(_) | Route::Burn(_) => {
                request_uri(&self.site_root, route, api)
            }
        }
    }

    /// The receipt page, which v1 reports as `metadata_url` and v2 leaves out of most answers.
    pub(super) fn receipt_link(&self, key: &ReceiptKey) -> String {
        self.link_below_site_root("receipt/", key.as_str())
    }

    /// Scheme, host and port: what may be shown to humans and written to logs.
    pub(super) fn origin(&self) -> String {
        self.site_root.origin().ascii_serialization()
    }

    /// Scheme and authority, the one place every request's connection goes.
    pub(super) fn origin_uri(&self) -> Result<Uri> {
        Uri::try_from(self.origin()).map_err(|_| unusable_base_url())
    }

    /// What `Host` says on every request: the host, and the port unless it is the scheme's
    /// default (`Url::port` leaves a default port out), as browsers and hyper-util send it.
    pub(super) fn host_header(&self) -> Result<HeaderValue> {
        let host = self.site_root.host_str().ok_or_else(unusable_base_url)?;
        let value = match self.site_root.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        HeaderValue::try_from(value).map_err(|_| unusable_base_url())
    }

    /// The link a recipient opens. A secret made for a custom domain is served from that domain;
    /// anything else from the server we talk to.
    pub(super) fn share_link(&self, share_domain: &str, key: &SecretKey) -> String {
        match custom_domain_root(share_domain) {
            Some(root) => join_below(&root, &format!("secret/{}", key.as_str())).to_string(),
            None => self.link_below_site_root("secret/", key.as_str()),
        }
    }

    /// Keys are `[A-Za-z0-9_-]` and the site root has no query or fragment (see [`BaseUrl`]),
    /// so appending to its text gives the URL a parse-and-join would, without the parse.
    fn link_below_site_root(&self, prefix: &str, key: &str) -> String {
        let root = self.site_root.as_str();
        let mut link = String::with_capacity(root.len() + prefix.len() + key.len());
        link.push_str(root);
        link.push_str(prefix);
        link.push_str(key);
        link
    }
}

/// The site root's text plus the route's path, parsed once into a `Uri`. Appending gives what
/// joining would (the root's path ends in `/` and it has no query or fragment, see [`BaseUrl`]);
/// `Url` has already percent-encoded the root, and route paths are `[A-Za-z0-9_/-]`.
fn request_uri(site_root: &Url, route: Route<'_>, api: ApiVersion) -> Result<Uri> {
    let path = route.path_below_api_root(api);
    let root = site_root.as_str();
    let mut text = String::with_capacity(root.len() + "api/v1/".len() + path.len());
    text.push_str(root);
    text.push_str("api/");
    text.push_str(api.as_str());
    text.push('/');
    text.push_str(&path);
    Uri::try_from(text).map_err(|_| unusable_base_url())
}

fn unusable_base_url() -> Error {
    Error::InvalidInput {
        field: "base_url",
        reason: "the base URL cannot form an HTTP request URI".to_owned(),
    }
}

/// `root` must have a path ending in `/`. `set_path` cannot fail, unlike `Url::join`, and keeps
/// the query-free, fragment-free shape the base was checked for.
fn join_below(root: &Url, relative: &str) -> Url {
    let mut url = root.clone();
    let path = format!("{}{relative}", root.path());
    url.set_path(&path);
    url
}

/// Only a bare host (optionally with a port) counts as a custom domain. OTS reports `""` for
/// none; the reveal response uses `https://host`, so that form is accepted too.
fn custom_domain_root(share_domain: &str) -> Option<Url> {
    let host = share_domain.trim();
    let host = host.strip_prefix("https://").unwrap_or(host);
    let host = host.strip_suffix('/').unwrap_or(host);
    let looks_like_host = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !looks_like_host {
        return None;
    }
    let root = Url::parse(&format!("https://{host}/")).ok()?;
    root.host_str().is_some().then_some(root)
}

/// The one base URL rule is [`BaseUrl`]'s; the configuration has applied it already, and this
/// applies it to clients built by other means.
fn check_base_url(base_url: &Url) -> Result<()> {
    BaseUrl::try_from(base_url.clone())
        .map(drop)
        .map_err(|problem| Error::InvalidInput {
            field: "base_url",
            reason: problem.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(base: &str) -> Endpoints {
        let url = Url::parse(base).expect("test base URL parses");
        Endpoints::new(&url).expect("test base URL is accepted")
    }

    #[test]
    fn host_header_and_origin_name_the_port_only_when_it_is_not_the_schemes_default() {
        for (base, host, origin) in [
            (
                "https://onetimesecret.com",
                "onetimesecret.com",
                "https://onetimesecret.com/",
            ),
            (
                "https://onetimesecret.com:443/",
                "onetimesecret.com",
                "https://onetimesecret.com/",
            ),
            (
                "http://ots.internal:80/ots/",
                "ots.internal",
                "http://ots.internal/",
            ),
            (
                "https://eu.example:8443",
                "eu.example:8443",
                "https://eu.example:8443/",
            ),
            (
                "http://127.0.0.1:7143",
                "127.0.0.1:7143",
                "http://127.0.0.1:7143/",
            ),
            (
                "http://[::1]:7143/sub/path/",
                "[::1]:7143",
                "http://[::1]:7143/",
            ),
        ] {
            let e = endpoints(base);
            assert_eq!(e.host_header().expect("host"), host, "{base}");
            assert_eq!(
                e.origin_uri().expect("origin").to_string(),
                origin,
                "{base}"
            );
        }
    }

    fn secret_key() -> SecretKey {
        SecretKey::parse("abc123").expect("valid key")
    }

    #[test]
    fn api_urls_keep_a_sub_path_with_or_without_trailing_slash() {
        for base in ["https://ots.example/team", "https://ots.example/team/"] {
            let uri = endpoints(base).uri(Route::Status, ApiVersion::V1);
            assert_eq!(
                uri.expect("uri").to_string(),
                "https://ots.example/team/api/v1/status"
            );
        }
        for base in ["http://127.0.0.1:3000", "http://127.0.0.1:3000/"] {
            let uri = endpoints(base).uri(Route::Recent, ApiVersion::V1);
            assert_eq!(
                uri.expect("uri").to_string(),
                "http://127.0.0.1:3000/api/v1/private/recent"
            );
        }
    }

    #[test]
    fn every_route_has_its_v1_method_and_path() {
        let secret = secret_key();
        let receipt = ReceiptKey::parse("def456").expect("valid key");
        let e = endpoints("https://ots.example");
        let cases = [
            (Route::Status, "GET", "/api/v1/status"),
            (Route::Authcheck, "GET", "/api/v1/authcheck"),
            (Route::Share, "POST", "/api/v1/share"),
            (Route::Generate, "POST", "/api/v1/generate"),
            (Route::Reveal(&secret), "POST", "/api/v1/secret/abc123"),
            (Route::Receipt(&receipt), "GET", "/api/v1/private/def456"),
            (Route::Burn(&receipt), "POST", "/api/v1/private/def456/burn"),
            (Route::Recent, "GET", "/api/v1/private/recent"),
        ];
        for (route, method, path) in cases {
            assert_eq!(route.method().as_str(), method);
            assert_eq!(e.uri(route, ApiVersion::V1).expect("uri").path(), path);
        }
    }

    #[test]
    fn every_route_has_its_v2_method_and_path() {
        let secret = secret_key();
        let receipt = ReceiptKey::parse("def456").expect("valid key");
        let e = endpoints("https://ots.example/sub");
        let cases = [
            (Route::Status, "GET", "/sub/api/v2/status"),
            (
                Route::Authcheck,
                "GET",
                "/sub/api/v2/receipt/ots-gateway-credential-check",
            ),
            (Route::Share, "POST", "/sub/api/v2/secret/conceal"),
            (Route::Generate, "POST", "/sub/api/v2/secret/generate"),
            (
                Route::Reveal(&secret),
                "POST",
                "/sub/api/v2/secret/abc123/reveal",
            ),
            (
                Route::Receipt(&receipt),
                "GET",
                "/sub/api/v2/receipt/def456",
            ),
            (
                Route::Burn(&receipt),
                "POST",
                "/sub/api/v2/receipt/def456/burn",
            ),
            (Route::Recent, "GET", "/sub/api/v2/receipt/recent"),
        ];
        for (route, method, path) in cases {
            assert_eq!(route.method().as_str(), method);
            assert_eq!(e.uri(route, ApiVersion::V2).expect("uri").path(), path);
        }
        assert_eq!(
            e.receipt_link(&receipt),
            "https://ots.example/sub/receipt/def456"
        );
    }

    #[test]
    fn share_links_prefer_a_custom_domain_and_fall_back_to_the_base() {
        let e = endpoints("https://ots.example/team");
        let key = secret_key();
        assert_eq!(
            e.share_link("", &key),
            "https://ots.example/team/secret/abc123"
        );
        assert_eq!(
            e.share_link("secrets.acme.test", &key),
            "https://secrets.acme.test/secret/abc123"
        );
        assert_eq!(
            e.share_link("https://secrets.acme.test", &key),
            "https://secrets.acme.test/secret/abc123"
        );
        assert_eq!(
            e.share_link("evil.test/x?y", &key),
            "https://ots.example/team/secret/abc123"
        );
    }

    /// Links are appended to the root's text; they must equal what joining and parsing gives.
    #[test]
    fn links_match_a_parsed_join_for_every_base_shape() {
        let receipt_key = ReceiptKey::parse("receiptkey123").expect("valid key");
        for base in [
            "https://ots.example",
            "https://ots.example/",
            "http://127.0.0.1:3000/team",
            "https://ots.example:8443/a/b/",
            "https://xn--bcher-kva.example/",
        ] {
            let e = endpoints(base);
            let joined = |relative: &str| join_below(&e.site_root, relative).to_string();
            assert_eq!(e.share_link("", &secret_key()), joined("secret/abc123"));
            assert_eq!(
                e.receipt_link(&receipt_key),
                joined("receipt/receiptkey123")
            );
        }
    }

    /// Request URIs are appended to the root's text too; they must equal the parsed join,
    /// whatever the base looks like (IDN host, IPv6, a port, an escaped sub-path).
    #[test]
    fn request_uris_match_a_parsed_join_for_every_base_shape() {
        let receipt_key = ReceiptKey::parse("receiptkey123").expect("valid key");
        for base in [
            "https://ots.example",
            "http://127.0.0.1:3000/team",
            "https://ots.example:8443/a/b/",
            "https://bücher.example/",
            "http://[::1]:8080/x",
            "https://ots.example/a%20team/ü/",
        ] {
            let e = endpoints(base);
            for api in [ApiVersion::V1, ApiVersion::V2] {
                for route in [Route::Status, Route::Receipt(&receipt_key)] {
                    let path = route.path_below_api_root(api);
                    let joined = join_below(&e.site_root, &format!("api/{api}/{path}"));
                    let uri = e.uri(route, api).expect("uri");
                    assert_eq!(uri.to_string(), joined.as_str(), "{base}");
                }
            }
        }
    }

    #[test]
    fn base_urls_that_would_leak_or_misroute_are_rejected() {
        for base in [
            "ftp://ots.example",
            "https://user:pw@ots.example",
            "https://ots.example/?x=1",
            "https://ots.example/#frag",
            "mailto:team@example.com",
        ] {
            let url = Url::parse(base).expect("test URL parses");
            assert!(Endpoints::new(&url).is_err(), "{base} accepted");
        }
    }

    #[test]
    fn origin_has_no_path() {
        assert_eq!(
            endpoints("https://ots.example:8443/team/").origin(),
            "https://ots.example:8443"
        );
    }
}
