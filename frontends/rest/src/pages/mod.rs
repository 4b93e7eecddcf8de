//! Browser pages behind the links the gateway hands out, for when the gateway itself is the
//! server those links name (`serve --dev`, whose simulator builds links on the gateway's own
//! address): `/secret/{key}` reveals a secret, `/receipt/{key}` (and OTS's older `/private/{key}`)
//! shows a receipt's state and expiry and can burn it.
//!
//! The pages hold no data. Their scripts, served from the same origin, call the gateway's own v1
//! API with same-origin `fetch`, so they pass the cross-site checks that stop every other web
//! page. Nothing from the URL is written into markup; the scripts read the key from
//! `location` and show answers with `textContent` only. The content security policy allows
//! scripts, styles and connections from this origin alone.

mod receipt;
mod reveal;

use axum::Router;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, header};

/// Where the pages' shared style and scripts are served.
const ASSETS: &str = "/gateway/pages";

const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = "body{font-family:sans-serif;max-width:40em;margin:3em auto;padding:0 1em}\
pre{background:#eee;padding:1em;white-space:pre-wrap;word-break:break-all}\
dt{font-weight:bold}dd{margin:0 0 .6em 0}";

pub fn routes() -> Router {
    Router::new()
        .route("/secret/{key}", get(|| page(reveal::PAGE)))
        .route("/receipt/{key}", get(|| page(receipt::PAGE)))
        .route("/private/{key}", get(|| page(receipt::PAGE)))
        .route(
            &format!("{ASSETS}/page.css"),
            get(|| asset("text/css", STYLE)),
        )
        .route(
            &format!("{ASSETS}/reveal.js"),
            get(|| asset("text/javascript", reveal::SCRIPT)),
        )
        .route(
            &format!("{ASSETS}/receipt.js"),
            get(|| asset("text/javascript", receipt::SCRIPT)),
        )
}

async fn page(html: &'static str) -> Response {
    let mut response = Html(html).into_response();
    harden(&mut response);
    response
}

async fn asset(content_type: &'static str, text: &'static str) -> Response {
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    harden(&mut response);
    response
}

/// The page's URL holds a key: keep it out of `Referer`, out of caches and out of frames.
fn harden(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn get_page(uri: &str) -> (http::StatusCode, http::HeaderMap, String) {
        let response = routes()
            .oneshot(
                Request::builder()
                    .uri(uri)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn pages_never_echo_the_key_into_markup() {
        let hostile = "%3Cscript%3Ealert(1)%3C%2Fscript%3Eaaaaaaaaaaaaaaaaaa";
        for (prefix, expected) in [
            ("/secret/", "Reveal the secret"),
            ("/receipt/", "Burn the secret"),
            ("/private/", "Burn the secret"),
        ] {
            let (status, headers, html) = get_page(&format!("{prefix}{hostile}")).await;
            assert_eq!(status, 200, "{prefix}");
            assert_eq!(
                headers.get(header::CONTENT_SECURITY_POLICY),
                Some(&HeaderValue::from_static(POLICY))
            );
            assert!(html.contains(expected), "{prefix}: {html}");
            assert!(
                !html.contains("alert(1)"),
                "{prefix}: the key reached the markup"
            );
            assert!(
                !html.contains("<script>"),
                "{prefix}: inline scripts are not allowed by the policy"
            );
        }
    }

    #[tokio::test]
    async fn every_script_a_page_names_is_served() {
        for page in ["/secret/x", "/receipt/x"] {
            let (_, _, html) = get_page(page).await;
            let sources: Vec<&str> = html
                .split("src=\"")
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .chain(
                    html.split("href=\"")
                        .skip(1)
                        .filter_map(|rest| rest.split('"').next()),
                )
                .collect();
            assert!(!sources.is_empty(), "{page} names its assets");
            for source in sources {
                let (status, headers, _) = get_page(source).await;
                assert_eq!(status, 200, "{page} names {source}");
                assert!(headers.contains_key(header::CONTENT_TYPE));
            }
        }
    }
}
