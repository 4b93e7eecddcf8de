//! `serve --dev` only: a minimal page at `/secret/{key}`, so the share links the simulator hands
//! out open in a browser the way OTS links do. It reveals through the same v1 API (same origin,
//! so the cross-site checks let it through) and holds no secret itself.

use axum::Router;
use axum::extract::Path;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, header};

pub fn routes() -> Router {
    Router::new().route("/secret/{key}", get(page))
}

async fn page(Path(key): Path<String>) -> Response {
    // The key is only ever read back by the script from the URL; it is not interpolated into
    // the HTML, so nothing in it can become markup.
    let _ = key;
    let mut response = Html(PAGE).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
        ),
    );
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>One-time secret (ots-gateway dev)</title>
<style>body{font-family:sans-serif;max-width:40em;margin:3em auto}pre{background:#eee;padding:1em;white-space:pre-wrap}</style>
</head><body>
<h1>One-time secret</h1>
<p>This secret can be viewed once. Served by <code>ots-gateway serve --dev</code> (simulator).</p>
<p><label>Passphrase (if any): <input id="passphrase" type="password" autocomplete="off"></label></p>
<p><button id="reveal">Reveal the secret</button></p>
<pre id="out" hidden></pre>
<script>
document.getElementById("reveal").addEventListener("click", async () => {
  const key = location.pathname.split("/").pop();
  const body = new URLSearchParams();
  const passphrase = document.getElementById("passphrase").value;
  if (passphrase) body.set("passphrase", passphrase);
  const out = document.getElementById("out");
  try {
    const response = await fetch("/api/v1/secret/" + encodeURIComponent(key), { method: "POST", body });
    const data = await response.json();
    out.textContent = response.ok ? data.value : (data.message || "Unknown secret");
  } catch (error) {
    out.textContent = "The gateway did not answer.";
  }
  out.hidden = false;
  document.getElementById("reveal").disabled = true;
});
</script>
</body></html>
"#;

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::Request;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn the_page_never_echoes_the_key_into_markup() {
        let response = routes()
            .oneshot(
                Request::builder()
                    .uri("/secret/%3Cscript%3Ealert(1)%3C%2Fscript%3Eaaaaaaaaaaaaaaaaaa")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(response.status(), 200);
        assert!(
            response
                .headers()
                .contains_key(header::CONTENT_SECURITY_POLICY)
        );
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains("Reveal the secret"));
        assert!(
            !html.contains("alert(1)"),
            "the key must not reach the markup"
        );
    }
}
