//! `ots-gateway simulate` only: the pages behind the links the simulator hands out, as a real
//! OTS server has them. `/secret/{key}` reveals (once, on a click) and `/receipt/{key}` shows the
//! receipt's state and expiry with a burn button. Both talk to the simulator's own API from the
//! same origin, through whichever API it serves.
//!
//! Safe against cross-site use: nothing happens on load except a receipt read; revealing and
//! burning need a click on the page itself, which no other site can frame (`frame-ancestors
//! 'none'`); the key is read by the script from the address bar and only ever written with
//! `textContent`, never into markup; the pages send no referrer, so a key in the address does not
//! leak to links.

use axum::Router;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::{HeaderName, HeaderValue, header};

/// Which API the page scripts call: the pages are the same, the requests differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageApi {
    V1,
    V2,
}

pub fn routes(api: PageApi) -> Router {
    let (reveal, receipt) = match api {
        PageApi::V1 => (REVEAL_V1, RECEIPT_V1),
        PageApi::V2 => (REVEAL_V2, RECEIPT_V2),
    };
    Router::new()
        .route("/secret/{key}", get(move || page(REVEAL_PAGE, reveal)))
        .route("/receipt/{key}", get(move || page(RECEIPT_PAGE, receipt)))
        .route("/private/{key}", get(move || page(RECEIPT_PAGE, receipt)))
}

async fn page(template: &'static str, calls: &'static str) -> Response {
    // Both inputs are constants of this module; nothing from the request reaches the markup.
    let mut response = Html(template.replace("/*API_CALLS*/", calls)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    response
}

const REVEAL_V1: &str = r#"
async function revealSecret(key, passphrase) {
  const body = new URLSearchParams();
  if (passphrase) body.set("passphrase", passphrase);
  const r = await fetch("/api/v1/secret/" + encodeURIComponent(key), { method: "POST", body });
  const data = await r.json();
  return r.ok ? { value: data.value } : { error: data.message || "Unknown secret" };
}"#;

const REVEAL_V2: &str = r#"
async function revealSecret(key, passphrase) {
  const body = { continue: true };
  if (passphrase) body.passphrase = passphrase;
  const r = await fetch("/api/v2/secret/" + encodeURIComponent(key) + "/reveal", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const data = await r.json();
  if (r.ok && data.record && typeof data.record.secret_value === "string") {
    return { value: data.record.secret_value };
  }
  return { error: data.error || (r.status === 404 ? "Unknown secret" : "Not revealed") };
}"#;

const RECEIPT_V1: &str = r#"
async function loadReceipt(key) {
  const r = await fetch("/api/v1/receipt/" + encodeURIComponent(key));
  const d = await r.json();
  if (!r.ok) return { error: d.message || "Unknown receipt" };
  return { state: d.state, expires: d.created + d.ttl, protected: d.passphrase_required === true };
}
async function burnSecret(key, passphrase) {
  const body = new URLSearchParams();
  if (passphrase) body.set("passphrase", passphrase);
  const r = await fetch("/api/v1/receipt/" + encodeURIComponent(key) + "/burn", { method: "POST", body });
  const d = await r.json();
  return r.ok ? {} : { error: d.message || "Not burned" };
}"#;

const RECEIPT_V2: &str = r#"
async function loadReceipt(key) {
  const r = await fetch("/api/v2/receipt/" + encodeURIComponent(key));
  const d = await r.json();
  if (!r.ok) return { error: d.error || "Unknown receipt" };
  return { state: d.record.state, expires: d.record.expiration, protected: d.record.has_passphrase === true };
}
async function burnSecret(key, passphrase) {
  const body = { continue: true };
  if (passphrase) body.passphrase = passphrase;
  const r = await fetch("/api/v2/receipt/" + encodeURIComponent(key) + "/burn", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const d = await r.json();
  return r.ok && d.success !== false ? {} : { error: d.error || "Not burned" };
}"#;

const REVEAL_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>One-time secret (OTS simulator)</title>
<style>body{font-family:sans-serif;max-width:40em;margin:3em auto}pre{background:#eee;padding:1em;white-space:pre-wrap}</style>
</head><body>
<h1>One-time secret</h1>
<p>This secret can be viewed once. Served by <code>ots-gateway simulate</code>.</p>
<p><label>Passphrase (if any): <input id="passphrase" type="password" autocomplete="off"></label></p>
<p><button id="reveal">Reveal the secret</button></p>
<pre id="out" hidden></pre>
<script>
/*API_CALLS*/
document.getElementById("reveal").addEventListener("click", async () => {
  const key = location.pathname.split("/").pop();
  const out = document.getElementById("out");
  try {
    const result = await revealSecret(key, document.getElementById("passphrase").value);
    out.textContent = result.error === undefined ? result.value : result.error;
  } catch (error) {
    out.textContent = "The server did not answer.";
  }
  out.hidden = false;
  document.getElementById("reveal").disabled = true;
});
</script>
</body></html>"#;

const RECEIPT_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Secret receipt (OTS simulator)</title>
<style>body{font-family:sans-serif;max-width:40em;margin:3em auto}dt{font-weight:bold}</style>
</head><body>
<h1>Secret receipt</h1>
<dl><dt>State</dt><dd id="state">…</dd><dt>Expires</dt><dd id="expires">…</dd></dl>
<p><label>Passphrase (if any): <input id="passphrase" type="password" autocomplete="off"></label></p>
<p><button id="burn" disabled>Burn the secret</button></p>
<p id="message"></p>
<script>
/*API_CALLS*/
const key = location.pathname.split("/").pop();
async function show() {
  const message = document.getElementById("message");
  try {
    const receipt = await loadReceipt(key);
    if (receipt.error !== undefined) { message.textContent = receipt.error; return; }
    document.getElementById("state").textContent = receipt.state;
    document.getElementById("expires").textContent =
      new Date(receipt.expires * 1000).toISOString();
    document.getElementById("burn").disabled = !(receipt.state === "new" || receipt.state === "viewed" || receipt.state === "previewed");
  } catch (error) {
    message.textContent = "The server did not answer.";
  }
}
document.getElementById("burn").addEventListener("click", async () => {
  const message = document.getElementById("message");
  const result = await burnSecret(key, document.getElementById("passphrase").value);
  message.textContent = result.error === undefined ? "Burned." : result.error;
  await show();
});
show();
</script>
</body></html>"#;
