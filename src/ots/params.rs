//! Request bodies for the operations that take parameters.
//!
//! Form encoding is the default because every OTS release parses it; JSON bodies only arrived in
//! v0.24 (v0.23 silently reads them as "no params"). Empty values are left out: OTS treats a
//! present-but-empty passphrase or recipient inconsistently across releases, and absent is what
//! the caller meant.

use std::borrow::Cow;

use bytes::Bytes;
use http::HeaderValue;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::model::{
    CharacterSets, CreateOptions, GenerateRequest, Passphrase, Receipt, ShareRequest,
};

/// A request body. Form values borrow from the caller's request, so the common path makes no
/// extra copy of a secret; the rare JSON body owns its values.
pub(super) enum Payload<'a> {
    None,
    Form(Vec<(&'static str, Cow<'a, str>)>),
    Json(Value),
}

/// A request body as it goes on the wire, with the content type that says how to read it.
pub(super) struct EncodedBody {
    pub(super) content_type: HeaderValue,
    pub(super) bytes: Bytes,
}

impl Payload<'_> {
    /// The bytes OTS is sent. Forms are `application/x-www-form-urlencoded` as browsers encode
    /// them (space as `+`, everything but `*-._` and alphanumerics escaped); JSON is compact.
    /// A form with no fields is still a form: an empty body with its content type.
    pub(super) fn encode(self) -> Option<EncodedBody> {
        match self {
            Payload::None => None,
            Payload::Form(fields) => {
                let text = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(fields.iter())
                    .finish();
                Some(EncodedBody {
                    content_type: HeaderValue::from_static("application/x-www-form-urlencoded"),
                    bytes: Bytes::from(text),
                })
            }
            Payload::Json(value) => Some(EncodedBody {
                content_type: HeaderValue::from_static("application/json"),
                bytes: Bytes::from(value.to_string()),
            }),
        }
    }
}

pub(super) fn share(request: &ShareRequest) -> Payload<'_> {
    let mut form = FormBuilder::default();
    form.text("secret", request.secret.expose());
    form.options(&request.options);
    Payload::Form(form.fields)
}

pub(super) fn generate(request: &GenerateRequest) -> Payload<'_> {
    if turns_a_character_set_off(&request.character_sets) {
        return generate_as_json(request);
    }
    let mut form = FormBuilder::default();
    if let Some(length) = request.length {
        form.owned("length", length.to_string());
    }
    if explicit_character_sets(&request.character_sets) {
        for (name, _) in character_set_flags(&request.character_sets) {
            form.fields.push((name, Cow::Borrowed("true")));
        }
    }
    form.options(&request.options);
    Payload::Form(form.fields)
}

/// retrieve and burn take nothing but the passphrase.
pub(super) fn passphrase_only(passphrase: Option<&Passphrase>) -> Payload<'_> {
    let mut form = FormBuilder::default();
    if let Some(passphrase) = passphrase {
        form.text("passphrase", passphrase.expose());
    }
    Payload::Form(form.fields)
}

// Why JSON here: OTS reads `character_sets` flags with Ruby truthiness, and in a form every value
// is a non-empty string, so `character_sets[symbols]=false` means "symbols on". Only a JSON
// `false` turns a set off. JSON bodies need v0.24+; a v0.23 server would ignore this body
// entirely and generate with its defaults, so turning sets off is not supported there.
fn generate_as_json(request: &GenerateRequest) -> Payload<'_> {
    Payload::Json(Value::Object(generate_fields_json(request)))
}

/// What generate asks for, as JSON fields: v1's JSON body is these, v2 nests them under
/// `secret`. The character sets go only when set explicitly, as in forms.
fn generate_fields_json(request: &GenerateRequest) -> Map<String, Value> {
    let mut fields = Map::new();
    if let Some(length) = request.length {
        fields.insert("length".into(), json!(length));
    }
    if explicit_character_sets(&request.character_sets) {
        let sets: Map<String, Value> = character_set_flags(&request.character_sets)
            .into_iter()
            .map(|(form_name, on)| (json_set_name(form_name).to_owned(), Value::Bool(on)))
            .collect();
        fields.insert("character_sets".into(), Value::Object(sets));
    }
    insert_options_json(&mut fields, &request.options);
    fields
}

/// A v0.23 server reads a JSON body as "no params": it would generate with its defaults and,
/// worse, without the passphrase. Such a result is refused rather than handed out; its keys are
/// dropped here, so nobody can reach that secret and it expires on its own.
pub(super) fn check_json_generate_was_understood(
    request: &GenerateRequest,
    receipt: &Receipt,
) -> Result<()> {
    let passphrase_sent = request
        .options
        .passphrase
        .as_ref()
        .is_some_and(|passphrase| !passphrase.expose().is_empty());
    let passphrase_dropped = passphrase_sent && receipt.passphrase_required == Some(false);
    let value_has_excluded_characters = receipt.value.as_ref().is_some_and(|value| {
        value
            .expose()
            .chars()
            .any(|c| excluded_by(&request.character_sets, c))
    });
    if passphrase_dropped || value_has_excluded_characters {
        return Err(Error::InvalidInput {
            field: "character_sets",
            reason: "the OTS server ignored the request; turning a character set off needs OTS v0.24 or later"
                .to_owned(),
        });
    }
    Ok(())
}

fn excluded_by(sets: &CharacterSets, c: char) -> bool {
    let off = |flag: Option<bool>| flag == Some(false);
    (off(sets.uppercase) && c.is_ascii_uppercase())
        || (off(sets.lowercase) && c.is_ascii_lowercase())
        || (off(sets.numbers) && c.is_ascii_digit())
        || (off(sets.symbols) && c.is_ascii_punctuation())
}

fn turns_a_character_set_off(sets: &CharacterSets) -> bool {
    all_flags(sets).contains(&Some(false))
}

fn explicit_character_sets(sets: &CharacterSets) -> bool {
    all_flags(sets).iter().any(Option::is_some)
}

fn all_flags(sets: &CharacterSets) -> [Option<bool>; 5] {
    [
        sets.uppercase,
        sets.lowercase,
        sets.numbers,
        sets.symbols,
        sets.exclude_ambiguous,
    ]
}

/// Every flag, with the unset ones at the server default (all on). All five are always sent
/// once any is: a `character_sets` hash replaces the server's configured one wholesale, and a
/// missing key there reads as off.
fn character_set_flags(sets: &CharacterSets) -> [(&'static str, bool); 5] {
    [
        ("character_sets[uppercase]", sets.uppercase.unwrap_or(true)),
        ("character_sets[lowercase]", sets.lowercase.unwrap_or(true)),
        ("character_sets[numbers]", sets.numbers.unwrap_or(true)),
        ("character_sets[symbols]", sets.symbols.unwrap_or(true)),
        (
            "character_sets[exclude_ambiguous]",
            sets.exclude_ambiguous.unwrap_or(true),
        ),
    ]
}

fn json_set_name(form_name: &'static str) -> &'static str {
    form_name
        .strip_prefix("character_sets[")
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(form_name)
}

#[derive(Default)]
struct FormBuilder<'a> {
    fields: Vec<(&'static str, Cow<'a, str>)>,
}

impl<'a> FormBuilder<'a> {
    fn text(&mut self, name: &'static str, value: &'a str) {
        if !value.is_empty() {
            self.fields.push((name, Cow::Borrowed(value)));
        }
    }

    fn owned(&mut self, name: &'static str, value: String) {
        self.fields.push((name, Cow::Owned(value)));
    }

    fn options(&mut self, options: &'a CreateOptions) {
        if let Some(ttl) = options.ttl {
            self.owned("ttl", ttl.to_string());
        }
        for (name, value) in option_texts(options) {
            if let Some(value) = value {
                self.text(name, value);
            }
        }
    }
}

/// v2 conceal: every field nested under `secret` (`docs/ots-api-v2-notes.md`, "Requests"). A
/// flat body is refused by v2, so this is the only shape sent.
pub(super) fn conceal_v2(request: &ShareRequest) -> Payload<'static> {
    let mut fields = Map::new();
    fields.insert("secret".into(), json!(request.secret.expose()));
    insert_options_json(&mut fields, &request.options);
    Payload::Json(json!({ "secret": fields }))
}

/// v2 generate. JSON keeps `false` a real false, so turning a set off needs no special path.
pub(super) fn generate_v2(request: &GenerateRequest) -> Payload<'static> {
    Payload::Json(json!({ "secret": generate_fields_json(request) }))
}

/// v2 reveal and burn act only when told to continue; the passphrase sits beside it.
pub(super) fn confirmed_v2(passphrase: Option<&Passphrase>) -> Payload<'static> {
    let mut body = Map::new();
    body.insert("continue".into(), Value::Bool(true));
    if let Some(passphrase) = passphrase.filter(|p| !p.expose().is_empty()) {
        body.insert("passphrase".into(), json!(passphrase.expose()));
    }
    Payload::Json(Value::Object(body))
}

/// The create options in a JSON body (v1's JSON generate, every v2 create). Empty texts are
/// left out for the same reason as in forms: v2 takes a present-but-empty passphrase as "none",
/// but absent says so on every release.
fn insert_options_json(fields: &mut Map<String, Value>, options: &CreateOptions) {
    if let Some(ttl) = options.ttl {
        fields.insert("ttl".into(), json!(ttl));
    }
    for (name, value) in option_texts(options) {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            fields.insert(name.into(), json!(value));
        }
    }
}

/// The create options that are texts, under the names every OTS API reads them by.
fn option_texts(options: &CreateOptions) -> [(&'static str, Option<&str>); 3] {
    [
        (
            "passphrase",
            options.passphrase.as_ref().map(Passphrase::expose),
        ),
        ("recipient", options.recipient.as_deref()),
        ("share_domain", options.share_domain.as_deref()),
    ]
}
