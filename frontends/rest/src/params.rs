//! Request parameters the way Rack hands them to OTS: one flat namespace merged from the query
//! string and the body, whatever encoding the body uses.
//!
//! Real v1 clients disagree on where and how they send params (docs/ots-api-notes.md §5), and OTS accepts
//! all of them, so this module is deliberately lenient: it only refuses a JSON body that does not
//! parse (as `Rack::JSONBodyParser` does) and a body larger than the configured limit. Everything
//! else becomes a `serde_json::Value` tree (strings, `[]` arrays and `[k]` hashes from forms; any
//! JSON from JSON bodies), and the typed accessors apply OTS's coercions on read.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::response::{IntoResponse, Response};
use http::{Method, header};
use ots_gateway_core::Error;
use ots_gateway_core::model::{
    CharacterSets, CreateOptions, GenerateRequest, Passphrase, SecretText, ShareRequest,
};
use serde_json::{Map, Value};

use crate::errors::LocalRefusal;

/// Rack refuses params nested deeper than this; we drop them instead, since no v1 param nests
/// more than one level.
const MAX_NESTING: usize = 8;

/// The merged params of one request. Body params win over query params, as in Rack's
/// `GET.merge(POST)`.
///
/// Values stay inside until a typed accessor takes them out ([`Params::secret`] and
/// [`Params::passphrase`] hand them over as secret types), and `Debug` shows only the names: the
/// map holds secrets, passphrases and recipient addresses.
#[derive(Default)]
pub struct Params(Map<String, Value>);

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Params")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Params {
    /// Builds params from the query string and an already-read body.
    pub fn from_parts(
        method: &Method,
        content_type: Option<&str>,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<Params, LocalRefusal> {
        let mut params = Map::new();
        if let Some(query) = query {
            merge_form(&mut params, query.as_bytes());
        }
        match BodyKind::of(method, content_type) {
            BodyKind::Form => merge_form(&mut params, body),
            BodyKind::Json => merge_json(&mut params, body)?,
            // Multipart is read by `from_request`; here it only matters that it is not ignored.
            BodyKind::Multipart | BodyKind::Ignored => {}
        }
        Ok(Params(params))
    }

    fn insert_multipart_field(&mut self, name: &str, value: String) {
        insert_nested(&mut self.0, name, value);
    }

    /// A scalar text param. Empty values count as absent, because several clients always send
    /// `passphrase=` and `recipient=` (docs/ots-api-notes.md §5).
    pub fn text(&self, name: &str) -> Result<Option<String>, Error> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(non_empty(s.clone())),
            // Ruby's `to_s` on a number or boolean.
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(Value::Array(_) | Value::Object(_)) => Err(unexpected_error()),
        }
    }

    /// The value to share, as a secret type from the moment it leaves the map.
    pub fn secret(&self) -> Result<SecretText, Error> {
        Ok(SecretText::new(self.text("secret")?.unwrap_or_default()))
    }

    pub fn passphrase(&self) -> Result<Option<Passphrase>, Error> {
        Ok(self.text("passphrase")?.map(Passphrase::new))
    }

    /// `recipient` may come as a scalar or as Rack's `recipient[]=`; OTS only mails the first.
    pub fn recipient(&self) -> Result<Option<String>, Error> {
        match self.0.get("recipient") {
            Some(Value::Array(items)) => Ok(items.iter().find_map(|item| match item {
                Value::String(s) => non_empty(s.clone()),
                _ => None,
            })),
            _ => self.text("recipient"),
        }
    }

    /// An integer param with Ruby `to_i` semantics: `"90s"` is 90, `"abc"` is 0. A JSON boolean,
    /// array or object makes OTS raise, which v1 reports as its "unexpected error".
    pub fn integer(&self, name: &str) -> Result<Option<i64>, Error> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(ruby_to_i(s))),
            Some(Value::Number(n)) => Ok(Some(number_to_i(n))),
            Some(Value::Bool(_) | Value::Array(_) | Value::Object(_)) => Err(unexpected_error()),
        }
    }

    /// What share takes, read the same way by v1 (flat) and v2 (the fields under `secret`).
    pub fn share_request(&self) -> Result<ShareRequest, Error> {
        Ok(ShareRequest {
            // A missing secret is passed on empty, so the upstream reports it in its own order
            // of checks (size, recipient, domain, passphrase, then "nothing to share").
            secret: self.secret()?,
            options: self.create_options()?,
        })
    }

    /// What generate takes. `secret` is ignored here, as OTS ignores it (issue #169; otsgo
    /// sends an empty one).
    pub fn generate_request(&self) -> Result<GenerateRequest, Error> {
        Ok(GenerateRequest {
            length: self.integer("length")?,
            character_sets: self.character_sets(),
            options: self.create_options()?,
        })
    }

    fn create_options(&self) -> Result<CreateOptions, Error> {
        Ok(CreateOptions {
            ttl: self.integer("ttl")?,
            passphrase: self.passphrase()?,
            recipient: self.recipient()?,
            share_domain: self.text("share_domain")?,
        })
    }

    /// v2 nests every create field under one key (`{"secret":{...}}` or `secret[ttl]=`). An
    /// absent key is an empty set of params; a scalar there is v2's "Incorrect payload format".
    pub fn nested(&self, name: &str) -> Result<Params, Error> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Params::default()),
            Some(Value::Object(fields)) => Ok(Params(fields.clone())),
            Some(_) => Err(Error::Refused {
                message: "Incorrect payload format".to_owned(),
                intended_status: Some(422),
            }),
        }
    }

    /// v2's confirmation flags (`continue`): only JSON `true` or the text `"true"` count.
    pub fn is_true(&self, name: &str) -> bool {
        match self.0.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        }
    }

    /// The `character_sets` hash of `generate`. Flags follow Ruby truthiness: only `false` and
    /// `null` switch a set off, so the form string `"false"` switches it *on*.
    pub fn character_sets(&self) -> CharacterSets {
        let Some(Value::Object(sets)) = self.0.get("character_sets") else {
            return CharacterSets::default();
        };
        let flag = |name: &str| match sets.get(name) {
            None => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::Null | Value::Bool(false)) => Some(false),
            Some(_) => Some(true),
        };
        CharacterSets {
            uppercase: flag("uppercase"),
            lowercase: flag("lowercase"),
            numbers: flag("numbers"),
            symbols: flag("symbols"),
            exclude_ambiguous: flag("exclude_ambiguous"),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        fn content_type(parts: &http::request::Parts) -> Option<&str> {
            parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
        }
        let (parts, body) = req.into_parts();
        if BodyKind::of(&parts.method, content_type(&parts)) == BodyKind::Multipart {
            let mut params = Params::default();
            if let Some(query) = parts.uri.query() {
                merge_form(&mut params.0, query.as_bytes());
            }
            read_multipart(Request::from_parts(parts, body), state, &mut params).await?;
            return Ok(params);
        }

        let body = read_body(body).await?;
        Params::from_parts(
            &parts.method,
            content_type(&parts),
            parts.uri.query(),
            &body,
        )
        .map_err(IntoResponse::into_response)
    }
}

async fn read_body(body: Body) -> Result<bytes::Bytes, Response> {
    // The size bound comes from the body-limit layer (`front_door`), which also covers
    // services mounted beside these routes; here we only translate its verdict.
    axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|err| body_error(&err).into_response())
}

async fn read_multipart<S: Send + Sync>(
    req: Request,
    state: &S,
    params: &mut Params,
) -> Result<(), Response> {
    let mut multipart = Multipart::from_request(req, state)
        .await
        .map_err(|_| LocalRefusal::MalformedBody.into_response())?;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(()),
            Err(err) => return Err(multipart_error(&err).into_response()),
        };
        let Some(name) = field.name().map(str::to_owned) else {
            continue;
        };
        // A file part (`curl -F secret=@file`) is taken as its text, which is what a user
        // uploading a secret from a file means. Binary content cannot be a v1 secret.
        let bytes = field
            .bytes()
            .await
            .map_err(|err| multipart_error(&err).into_response())?;
        if let Ok(text) = String::from_utf8(bytes.to_vec()) {
            params.insert_multipart_field(&name, text);
        }
    }
}

fn body_error(err: &axum::Error) -> LocalRefusal {
    if is_length_limit(err) {
        LocalRefusal::BodyTooLarge
    } else {
        LocalRefusal::MalformedBody
    }
}

fn multipart_error(err: &axum::extract::multipart::MultipartError) -> LocalRefusal {
    if err.status() == http::StatusCode::PAYLOAD_TOO_LARGE || is_length_limit(err) {
        LocalRefusal::BodyTooLarge
    } else {
        LocalRefusal::MalformedBody
    }
}

/// Whether a body error is the body-limit layer's, wherever in the source chain it sits.
fn is_length_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        current = e.source();
    }
    false
}

/// How Rack would read a body with this method and Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Form,
    Multipart,
    Json,
    Ignored,
}

impl BodyKind {
    fn of(method: &Method, content_type: Option<&str>) -> BodyKind {
        let media_type = content_type
            .map(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|mt| !mt.is_empty());
        match media_type.as_deref() {
            // Rack treats a POST without a Content-Type as a form (otsgo, corbalt, csharp rely on it).
            None if method == Method::POST => BodyKind::Form,
            None => BodyKind::Ignored,
            // Rack parses a form body on any verb (npm sends a form Content-Type on GET).
            Some("application/x-www-form-urlencoded") => BodyKind::Form,
            Some("multipart/form-data" | "multipart/mixed") => BodyKind::Multipart,
            // Rack::JSONBodyParser's default verbs.
            Some("application/json")
                if matches!(*method, Method::POST | Method::PUT | Method::PATCH) =>
            {
                BodyKind::Json
            }
            Some(_) => BodyKind::Ignored,
        }
    }
}

fn merge_form(params: &mut Map<String, Value>, body: &[u8]) {
    // `form_urlencoded::parse` skips empty pieces, so csharp's trailing `&` is harmless, and it
    // leaves malformed percent escapes as they are instead of failing.
    for (name, value) in url::form_urlencoded::parse(body) {
        insert_nested(params, name.trim_start(), value.into_owned());
    }
}

fn merge_json(params: &mut Map<String, Value>, body: &[u8]) -> Result<(), LocalRefusal> {
    // chelnak sends `Content-Type: application/json` with an empty body; Rack skips those.
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => {
            params.extend(object);
            Ok(())
        }
        // Parsable but not a hash: Rack cannot merge it, and v1 has no use for it.
        Ok(_) => Ok(()),
        Err(_) => Err(LocalRefusal::MalformedJson),
    }
}

/// Rack's `normalize_params`: `a=1`, `a[]=1`, `a[b]=1`, `a[b][]=1`...
fn insert_nested(params: &mut Map<String, Value>, name: &str, value: String) {
    let (base, rest) = match name.find('[') {
        Some(0) | None => (name, ""),
        Some(i) => (&name[..i], &name[i..]),
    };
    if base.is_empty() {
        return;
    }
    let mut segments = Vec::new();
    let mut rest = rest;
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(end) = stripped.find(']') else {
            break;
        };
        segments.push(&stripped[..end]);
        rest = &stripped[end + 1..];
    }
    if segments.len() > MAX_NESTING {
        return;
    }
    insert_path(params, base, &segments, value);
}

fn insert_path(map: &mut Map<String, Value>, key: &str, segments: &[&str], value: String) {
    match segments.split_first() {
        None => {
            map.insert(key.to_owned(), Value::String(value));
        }
        Some((&"", _)) => {
            let slot = map
                .entry(key.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if !slot.is_array() {
                *slot = Value::Array(Vec::new());
            }
            if let Value::Array(items) = slot {
                // Deeper structure under `[]` (`a[][b]=`) is beyond anything v1 reads.
                items.push(Value::String(value));
            }
        }
        Some((child, deeper)) => {
            let slot = map
                .entry(key.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(inner) = slot {
                insert_path(inner, child, deeper, value);
            }
        }
    }
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

/// OTS's answer when a param makes its Ruby code raise.
pub fn unexpected_error() -> Error {
    Error::Refused {
        message: "An unexpected error occurred :[".to_owned(),
        intended_status: Some(400),
    }
}

/// Ruby's `String#to_i`: optional leading whitespace and sign, then digits (underscores allowed
/// between them); anything after is ignored, and no digits at all give 0. Saturates instead of
/// growing into a bignum.
pub fn ruby_to_i(s: &str) -> i64 {
    let s = s.trim_start();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut value: i64 = 0;
    let mut previous_was_digit = false;
    for byte in digits.bytes() {
        match byte {
            b'0'..=b'9' => {
                let digit = i64::from(byte - b'0');
                value = value.saturating_mul(10).saturating_add(digit);
                previous_was_digit = true;
            }
            b'_' if previous_was_digit => previous_was_digit = false,
            _ => break,
        }
    }
    if negative { -value } else { value }
}

fn number_to_i(n: &serde_json::Number) -> i64 {
    if let Some(i) = n.as_i64() {
        i
    } else if n.as_u64().is_some() {
        i64::MAX
    } else {
        // Float#to_i truncates toward zero; `as` saturates, which stands in for a bignum.
        n.as_f64().map_or(0, |f| f.trunc() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: Method, ct: Option<&str>, query: Option<&str>, body: &str) -> Params {
        Params::from_parts(&method, ct, query, body.as_bytes()).unwrap()
    }

    #[test]
    fn debug_shows_names_never_values() {
        let params = parse(
            Method::POST,
            FORM,
            None,
            "secret=canary-value&passphrase=canary-pass&recipient=canary%40example.com",
        );
        let debug = format!("{params:?}");
        assert!(
            debug.contains("secret") && debug.contains("recipient"),
            "{debug}"
        );
        assert!(!debug.contains("canary"), "{debug}");
        assert_eq!(params.secret().unwrap().expose(), "canary-value");
    }

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    const JSON: Option<&str> = Some("application/json");

    #[test]
    fn ruby_to_i_matches_ruby() {
        for (input, expected) in [
            ("3600", 3600),
            ("abc", 0),
            ("90s", 90),
            ("-5", -5),
            ("+7", 7),
            ("  12", 12),
            ("1_000", 1000),
            ("1__0", 1),
            ("_1", 0),
            ("", 0),
            ("99999999999999999999999", i64::MAX),
        ] {
            assert_eq!(ruby_to_i(input), expected, "{input:?}");
        }
    }

    #[test]
    fn query_and_body_merge_with_the_body_winning() {
        let p = parse(Method::POST, FORM, Some("secret=q&ttl=60"), "secret=b");
        assert_eq!(p.text("secret").unwrap().as_deref(), Some("b"));
        assert_eq!(p.integer("ttl").unwrap(), Some(60));
    }

    #[test]
    fn a_post_without_content_type_is_a_form() {
        let p = parse(Method::POST, None, None, "secret=x&ttl=90s&");
        assert_eq!(p.text("secret").unwrap().as_deref(), Some("x"));
        assert_eq!(p.integer("ttl").unwrap(), Some(90));
    }

    #[test]
    fn a_get_with_a_form_content_type_reads_its_body() {
        let p = parse(Method::GET, FORM, None, "locale=fr");
        assert_eq!(p.text("locale").unwrap().as_deref(), Some("fr"));
    }

    #[test]
    fn a_get_without_content_type_ignores_its_body() {
        let p = parse(Method::GET, None, None, "secret=x");
        assert_eq!(p.text("secret").unwrap(), None);
    }

    #[test]
    fn empty_values_are_absent() {
        let p = parse(
            Method::POST,
            FORM,
            None,
            "secret=&passphrase=&recipient=&ttl=",
        );
        assert_eq!(p.text("secret").unwrap(), None);
        assert!(p.passphrase().unwrap().is_none());
        assert_eq!(p.recipient().unwrap(), None);
        assert_eq!(p.integer("ttl").unwrap(), None);
    }

    #[test]
    fn trailing_ampersand_and_unknown_params_are_harmless() {
        let p = parse(
            Method::POST,
            None,
            None,
            "secret=a&SECRET_KEY=zz&metadata_ttl=5&",
        );
        assert_eq!(p.text("secret").unwrap().as_deref(), Some("a"));
    }

    #[test]
    fn json_bodies_are_params_and_empty_json_is_fine() {
        let p = parse(Method::POST, JSON, None, r#"{"secret":"s","ttl":"3600"}"#);
        assert_eq!(p.text("secret").unwrap().as_deref(), Some("s"));
        assert_eq!(p.integer("ttl").unwrap(), Some(3600));
        let p = parse(
            Method::POST,
            Some("application/json; charset=utf-8"),
            None,
            "",
        );
        assert_eq!(p.text("secret").unwrap(), None);
    }

    #[test]
    fn malformed_json_is_refused() {
        let err = Params::from_parts(&Method::POST, JSON, None, b"{\"secret\":").unwrap_err();
        assert!(matches!(err, LocalRefusal::MalformedJson));
    }

    #[test]
    fn json_numbers_and_non_scalars_for_ttl() {
        let p = parse(Method::POST, JSON, None, r#"{"ttl":3600.9,"length":-3}"#);
        assert_eq!(p.integer("ttl").unwrap(), Some(3600));
        assert_eq!(p.integer("length").unwrap(), Some(-3));
        for body in [r#"{"ttl":true}"#, r#"{"ttl":[1]}"#, r#"{"ttl":{}}"#] {
            let p = parse(Method::POST, JSON, None, body);
            let err = p.integer("ttl").unwrap_err();
            assert_eq!(err.to_string(), "An unexpected error occurred :[");
        }
        let p = parse(Method::POST, JSON, None, r#"{"ttl":null}"#);
        assert_eq!(p.integer("ttl").unwrap(), None);
    }

    #[test]
    fn rack_nested_syntax() {
        let p = parse(
            Method::POST,
            FORM,
            None,
            "recipient[]=&recipient[]=a%40example.com&character_sets[symbols]=false&character_sets[numbers]=0",
        );
        assert_eq!(p.recipient().unwrap().as_deref(), Some("a@example.com"));
        let sets = p.character_sets();
        // Ruby truthiness: the string "false" is true.
        assert_eq!(sets.symbols, Some(true));
        assert_eq!(sets.numbers, Some(true));
        assert_eq!(sets.uppercase, None);
    }

    #[test]
    fn json_character_sets_switch_off_only_on_false_or_null() {
        let p = parse(
            Method::POST,
            JSON,
            None,
            r#"{"character_sets":{"uppercase":false,"lowercase":null,"numbers":"false","symbols":0}}"#,
        );
        let sets = p.character_sets();
        assert_eq!(sets.uppercase, Some(false));
        assert_eq!(sets.lowercase, Some(false));
        assert_eq!(sets.numbers, Some(true));
        assert_eq!(sets.symbols, Some(true));
        assert_eq!(sets.exclude_ambiguous, None);
    }

    #[test]
    fn json_scalars_become_text_like_ruby_to_s() {
        let p = parse(
            Method::POST,
            JSON,
            None,
            r#"{"secret":123,"passphrase":true}"#,
        );
        assert_eq!(p.text("secret").unwrap().as_deref(), Some("123"));
        assert_eq!(p.text("passphrase").unwrap().as_deref(), Some("true"));
        let p = parse(Method::POST, JSON, None, r#"{"secret":["a"]}"#);
        assert!(p.text("secret").is_err());
    }

    #[test]
    fn json_on_get_is_not_parsed() {
        let p = parse(Method::GET, JSON, None, "{not json");
        assert_eq!(p.text("secret").unwrap(), None);
    }

    #[test]
    fn form_values_decode_plus_and_percent() {
        let p = parse(Method::POST, FORM, None, "secret=a+b%26c%ZZ");
        assert_eq!(p.text("secret").unwrap().as_deref(), Some("a b&c%ZZ"));
    }
}
