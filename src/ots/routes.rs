//! Where each operation lives on an OTS server, and how share links are built.
//!
//! Paths carry keys, which are bearer capabilities, so nothing here is ever logged; log lines name
//! the operation instead (see [`Route::operation`]).

use reqwest::Method;
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
    /// The URLs of the routes without a key, built once: parsing a URL for every request was a
    /// twentieth of a status call's work.
    v1_fixed: FixedRoutes,
    v2_fixed: FixedRoutes,
}

#[derive(Debug)]
struct FixedRoutes {
    status: Url,
    authcheck: Url,
    share: Url,
    generate: Url,
    recent: Url,
}

impl Endpoints {
    pub(super) fn new(base_url: &Url) -> Result<Self> {
        check_base_url(base_url)?;
        let mut site_root = base_url.clone();
        if !site_root.path().ends_with('/') {
            let with_slash = format!("{}/", site_root.path());
            site_root.set_path(&with_slash);
        }
        let fixed = |api| FixedRoutes {
            status: build_url(&site_root, Route::Status, api),
            authcheck: build_url(&site_root, Route::Authcheck, api),
            share: build_url(&site_root, Route::Share, api),
            generate: build_url(&site_root, Route::Generate, api),
            recent: build_url(&site_root, Route::Recent, api),
        };
        Ok(Endpoints {
            v1_fixed: fixed(ApiVersion::V1),
            v2_fixed: fixed(ApiVersion::V2),
            site_root,
        })
    }

    pub(super) fn url(&self, route: Route<'_>, api: ApiVersion) -> Url {
        let fixed = match api {
            ApiVersion::V1 => &self.v1_fixed,
            ApiVersion::V2 => &self.v2_fixed,
        };
        match route {
            Route::Status => fixed.status.clone(),
            Route::Authcheck => fixed.authcheck.clone(),
            Route::Share => fixed.share.clone(),
            Route::Generate => fixed.generate.clone(),
            Route::Recent => fixed.recent.clone(),
            Route::Reveal(_) | Route::Receipt(_) | Route::Burn(_) => {
                build_url(&self.site_root, route, api)
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

fn build_url(site_root: &Url, route: Route<'_>, api: ApiVersion) -> Url {
    let path = route.path_below_api_root(api);
    join_below(site_root, &format!("api/{api}/{path}"))
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

    fn secret_key() -> SecretKey {
        SecretKey::parse("abc123").expect("valid key")
    }

    #[test]
    fn api_urls_keep_a_sub_path_with_or_without_trailing_slash() {
        for base in ["https://ots.example/team", "https://ots.example/team/"] {
            let url = endpoints(base).url(Route::Status, ApiVersion::V1);
            assert_eq!(url.as_str(), "https://ots.example/team/api/v1/status");
        }
        for base in ["http://127.0.0.1:3000", "http://127.0.0.1:3000/"] {
            let url = endpoints(base).url(Route::Recent, ApiVersion::V1);
            assert_eq!(url.as_str(), "http://127.0.0.1:3000/api/v1/private/recent");
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
            assert_eq!(e.url(route, ApiVersion::V1).path(), path);
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
            assert_eq!(e.url(route, ApiVersion::V2).path(), path);
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
