//! The entry page itself: a form on GET, the share on POST.
//!
//! Only the gateway's own origin may use it: the `Host` must be the pages' own authority (no
//! DNS rebinding), and a submission must come from exactly that origin with `Sec-Fetch-Site`
//! `same-origin` or `none`, so no other site or other local port can post into it. Nothing from
//! the request is written into the HTML, and the answer never shows the secret or the link.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use ots_gateway_core::Error;
use ots_gateway_core::model::{CreateOptions, Passphrase, SecretText, ShareRequest};
use serde::Deserialize;

use super::{EntryDesk, EntryState};

/// A secret is at most 10 000 bytes; form encoding can triple that.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The page's routes, relative to where the MCP service is mounted (`/mcp`).
pub fn routes(desk: EntryDesk) -> Router {
    Router::new()
        .route("/compose/{id}", get(show).post(submit))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .with_state(desk)
}

/// The form's fields. No `Debug`: it holds the secret.
#[derive(Deserialize)]
struct Submission {
    secret: String,
    #[serde(default)]
    passphrase: String,
}

async fn show(
    State(desk): State<EntryDesk>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !own_host(&desk, &headers) {
        return page(
            StatusCode::MISDIRECTED_REQUEST,
            GONE_TITLE,
            "This address is not the gateway's.",
        );
    }
    if !desk.is_waiting(&id) {
        return page(StatusCode::GONE, GONE_TITLE, GONE_TEXT);
    }
    with_headers(Html(FORM).into_response())
}

async fn submit(
    State(desk): State<EntryDesk>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(submission): Form<Submission>,
) -> Response {
    if !own_host(&desk, &headers) || !same_origin(&desk, &headers) {
        return page(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form only accepts submissions from its own page.",
        );
    }
    let Some((caller, ttl)) = desk.claim(&id) else {
        return page(StatusCode::GONE, GONE_TITLE, GONE_TEXT);
    };
    let secret = SecretText::new(submission.secret);
    let passphrase =
        (!submission.passphrase.is_empty()).then(|| Passphrase::new(submission.passphrase));
    let has_passphrase = passphrase.is_some();
    let request = ShareRequest {
        secret,
        options: CreateOptions {
            ttl: ttl.map(i64::from),
            passphrase,
            ..CreateOptions::default()
        },
    };
    match desk.gateway().share(&caller, request).await {
        Ok(receipt) => {
            desk.settle(
                &id,
                EntryState::Shared {
                    receipt: Box::new(receipt),
                    has_passphrase,
                },
            );
            page(
                StatusCode::OK,
                "Shared",
                "The secret is stored as a one-time link, and the assistant that asked will \
                 receive the link. It never saw what you typed. You can close this page.",
            )
        }
        Err(error) => {
            // Nothing was stored, so the person may correct the value and send it again.
            desk.settle(&id, EntryState::Waiting);
            tracing::debug!(code = error.kind(), "secret entry refused");
            page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Not shared",
                &refusal(&error),
            )
        }
    }
}

/// What the person is told when the share fails: never the value, only what to change.
fn refusal(error: &Error) -> String {
    let what = match error {
        Error::SecretTooLarge { .. } => "The secret is too long (at most 10 000 bytes).",
        Error::Refused { .. } | Error::InvalidInput { .. } => {
            "The OTS server refused it (an empty secret, or a passphrase under 4 characters?)."
        }
        Error::RateLimited { .. } => "Too many secrets were shared just now; wait a minute.",
        Error::NotAuthorized
        | Error::Upstream(_)
        | Error::Ledger
        | Error::NotAllowed { .. }
        | Error::NotOwned
        | Error::UnknownSecret
        | Error::IncorrectPassphrase
        | Error::PassphraseLocked { .. } => "The gateway could not share it right now.",
    };
    format!(
        "{what} Go back to correct it and send it again; this page stays usable until it expires."
    )
}

fn own_host(desk: &EntryDesk, headers: &HeaderMap) -> bool {
    let origin = &desk.pages().origin;
    let Some(host) = origin.host_str() else {
        return false;
    };
    let own = match origin.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case(&own))
}

/// A browser sends `Origin` on every POST; it must be exactly ours. `Sec-Fetch-Site`, where
/// sent, must say the request came from this origin or straight from the person.
fn same_origin(desk: &EntryDesk, headers: &HeaderMap) -> bool {
    let own = desk.pages().origin.origin().ascii_serialization();
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value == own);
    let fetch_site_ok = headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
        .is_none_or(|value| value == "same-origin" || value == "none");
    origin_ok && fetch_site_ok
}

const GONE_TITLE: &str = "Page not available";
const GONE_TEXT: &str = "This secret entry page was already used, has expired, or never \
                         existed. Ask the assistant for a new one if you still need to share \
                         something.";

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    // Both strings are fixed text from this file, never from the request.
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>{STYLE}</style></head><body><h1>{title}</h1><p id=\"outcome\">{text}</p>\
         </body></html>"
    );
    with_headers((status, Html(html)).into_response())
}

fn with_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'",
        ),
    );
    // Not `no-referrer`: with it, browsers send `Origin: null` on the form's POST, and the origin
    // check above could not tell the page's own submission from anyone else's.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

const STYLE: &str = "body{font-family:sans-serif;max-width:40em;margin:3em auto}\
                     textarea{width:100%;height:8em}";

const FORM: &str = concat!(
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
    "<title>Share a secret (ots-gateway)</title>",
    "<style>body{font-family:sans-serif;max-width:40em;margin:3em auto}",
    "textarea{width:100%;height:8em}</style></head><body>",
    "<h1>Share a secret</h1>",
    "<p>An assistant asked you for a secret. Type it here: it goes to the gateway and into a ",
    "one-time link, and the assistant only receives the link, never what you type.</p>",
    "<form method=\"post\" autocomplete=\"off\">",
    "<p><label for=\"secret\">Secret</label><br>",
    "<textarea id=\"secret\" name=\"secret\" required maxlength=\"10000\"></textarea></p>",
    "<p><label for=\"passphrase\">Passphrase (optional, at least 4 characters)</label><br>",
    "<input id=\"passphrase\" name=\"passphrase\" type=\"password\" minlength=\"4\"></p>",
    "<p><button id=\"share\" type=\"submit\">Share as a one-time link</button></p>",
    "</form></body></html>"
);
