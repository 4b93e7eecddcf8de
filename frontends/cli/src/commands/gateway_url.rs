//! The `--url` of a running gateway, as people type it: `127.0.0.1:7143` and `localhost:7143`
//! mean `http://...`, the way a browser's address bar reads them.

use anyhow::Context as _;
use url::Url;

/// `given` as an http(s) URL, with `http://` assumed when no scheme is written.
pub fn parse(given: &str) -> anyhow::Result<Url> {
    let trimmed = given.trim();
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("http://{trimmed}")
    };
    let url = Url::parse(&with_scheme).with_context(|| {
        format!("--url {given}: expected the gateway's address, e.g. http://127.0.0.1:7143")
    })?;
    anyhow::ensure!(
        matches!(url.scheme(), "http" | "https") && url.host().is_some(),
        "--url {given}: expected an http:// or https:// address, e.g. http://127.0.0.1:7143"
    );
    Ok(url)
}

/// `path` (without a leading slash) under the gateway at `base`, keeping any path prefix the
/// gateway is mounted under.
pub fn join(base: &Url, path: &str) -> String {
    format!("{}/{path}", base.as_str().trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_address_means_http() {
        for given in ["127.0.0.1:7143", "localhost:7143", " 127.0.0.1:7143/ "] {
            let url = parse(given).expect(given);
            assert_eq!(
                join(&url, "readyz"),
                format!("http://{}/readyz", given.trim().trim_end_matches('/'))
            );
        }
    }

    #[test]
    fn written_schemes_and_prefixes_are_kept() {
        let url = parse("https://gw.example:8443/ots/").expect("url");
        assert_eq!(
            join(&url, "gateway/status"),
            "https://gw.example:8443/ots/gateway/status"
        );
    }

    #[test]
    fn other_schemes_and_garbage_are_refused_with_an_example() {
        for given in ["ftp://127.0.0.1:7143", "http://", "127.0.0.1:notaport"] {
            let error = parse(given).expect_err(given).to_string();
            assert!(error.contains(given.trim()), "{error}");
            assert!(error.contains("http://127.0.0.1:7143"), "{error}");
        }
    }
}
