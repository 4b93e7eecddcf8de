//! What goes over the wire: methods, paths, auth and bodies.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::fake::{Answer, FakeOts, TEAM_KEY, TEAM_USER, current_receipt, key_of_len};
use crate::model::{
    CharacterSets, CreateOptions, GenerateRequest, Passphrase, ReceiptKey, SecretKey, SecretText,
    ShareRequest,
};
use crate::ots::{ApiChoice, OtsClient, OtsClientConfig};

fn status_answer() -> Answer {
    Answer::ok(json!({"status": "nominal", "locale": "en"}))
}

fn receipt_answer() -> Answer {
    Answer::ok(current_receipt(&key_of_len('m', 62), &key_of_len('s', 62)))
}

fn share_request() -> ShareRequest {
    ShareRequest {
        secret: SecretText::new("the launch codes"),
        options: CreateOptions {
            ttl: Some(3600),
            passphrase: None,
            recipient: None,
            share_domain: None,
        },
    }
}

fn is_form(seen: &super::fake::Seen) -> bool {
    seen.header("content-type") == Some("application/x-www-form-urlencoded")
}

#[tokio::test]
async fn team_requests_carry_basic_auth_and_the_gateway_user_agent() {
    let fake = FakeOts::answering(status_answer()).await;
    fake.team_client().status().await.expect("status");
    let seen = fake.only_request();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("GET", "/api/v1/status")
    );
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{TEAM_USER}:{TEAM_KEY}"))
    );
    assert_eq!(seen.header("authorization"), Some(expected.as_str()));
    let agent = seen.header("user-agent").unwrap_or_default();
    assert!(agent.starts_with("ots-gateway/"), "{agent}");
}

#[tokio::test]
async fn anonymous_requests_carry_no_authorization() {
    let fake = FakeOts::answering(receipt_answer()).await;
    let client = fake.anonymous_client();
    assert!(!client.has_credentials());
    client.share(&share_request()).await.expect("share");
    assert_eq!(fake.only_request().header("authorization"), None);
}

#[tokio::test]
async fn authcheck_is_a_get_with_credentials() {
    let fake = FakeOts::answering(status_answer()).await;
    let client = fake.team_client();
    assert!(client.has_credentials());
    client.authcheck().await.expect("authcheck");
    let seen = fake.only_request();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("GET", "/api/v1/authcheck")
    );
    assert!(seen.header("authorization").is_some());
}

#[tokio::test]
async fn share_sends_a_form_without_the_empty_fields() {
    let fake = FakeOts::answering(receipt_answer()).await;
    let request = ShareRequest {
        options: CreateOptions {
            ttl: Some(3600),
            passphrase: Some(Passphrase::new("")),
            recipient: Some(String::new()),
            share_domain: None,
        },
        ..share_request()
    };
    fake.anonymous_client()
        .share(&request)
        .await
        .expect("share");
    let seen = fake.only_request();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/api/v1/share")
    );
    assert!(is_form(&seen));
    assert_eq!(
        seen.form(),
        vec![
            ("secret".to_owned(), "the launch codes".to_owned()),
            ("ttl".to_owned(), "3600".to_owned()),
        ]
    );
}

#[tokio::test]
async fn share_sends_every_field_that_is_set() {
    let fake = FakeOts::answering(receipt_answer()).await;
    let request = ShareRequest {
        options: CreateOptions {
            ttl: Some(3600),
            passphrase: Some(Passphrase::new("open sesame")),
            recipient: Some("alice@example.com".into()),
            share_domain: Some("secrets.acme.test".into()),
        },
        ..share_request()
    };
    fake.team_client().share(&request).await.expect("share");
    let seen = fake.only_request();
    assert_eq!(
        seen.form_value("secret").as_deref(),
        Some("the launch codes")
    );
    assert_eq!(
        seen.form_value("passphrase").as_deref(),
        Some("open sesame")
    );
    assert_eq!(
        seen.form_value("recipient").as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(
        seen.form_value("share_domain").as_deref(),
        Some("secrets.acme.test")
    );
    assert_eq!(seen.form_value("ttl").as_deref(), Some("3600"));
}

#[tokio::test]
async fn a_sub_path_base_url_is_kept() {
    let fake = FakeOts::scripted_under(|_| receipt_answer(), "/team/ots").await;
    fake.anonymous_client()
        .share(&share_request())
        .await
        .expect("share");
    assert_eq!(fake.only_request().path, "/team/ots/api/v1/share");
}

#[tokio::test]
async fn retrieve_posts_the_passphrase_to_the_secret_path() {
    let key = key_of_len('s', 62);
    let fake = FakeOts::answering(Answer::ok(json!({
        "value": "v", "secret_key": key, "share_domain": "https://onetimesecret.com"
    })))
    .await;
    let secret_key = SecretKey::parse(&key).expect("key");
    let passphrase = Passphrase::new("open sesame");
    fake.anonymous_client()
        .retrieve(&secret_key, Some(&passphrase))
        .await
        .expect("retrieve");
    let seen = fake.only_request();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, format!("/api/v1/secret/{key}"));
    assert_eq!(
        seen.form(),
        vec![("passphrase".to_owned(), "open sesame".to_owned())]
    );
}

#[tokio::test]
async fn retrieve_without_a_passphrase_sends_no_fields() {
    let key = key_of_len('s', 31);
    let fake = FakeOts::answering(Answer::ok(json!({"value": "v", "secret_key": key}))).await;
    let secret_key = SecretKey::parse(&key).expect("key");
    fake.anonymous_client()
        .retrieve(&secret_key, Some(&Passphrase::new("")))
        .await
        .expect("retrieve");
    assert!(fake.only_request().form().is_empty());
}

#[tokio::test]
async fn receipt_burn_and_recent_use_the_private_routes() {
    let metadata_key = key_of_len('m', 62);
    let receipt = current_receipt(&metadata_key, &key_of_len('s', 62));
    let burn_body = json!({"state": receipt.clone(), "secret_shortkey": "s0123456"});
    let recent_body = json!([receipt.clone()]);
    let fake = FakeOts::scripted(move |seen| {
        if seen.path.ends_with("/burn") {
            Answer::ok(burn_body.clone())
        } else if seen.path.ends_with("/recent") {
            Answer::ok(recent_body.clone())
        } else {
            Answer::ok(receipt.clone())
        }
    })
    .await;
    let client = fake.team_client();
    let key = ReceiptKey::parse(&metadata_key).expect("key");
    client.receipt(&key).await.expect("receipt");
    client
        .burn(&key, Some(&Passphrase::new("open sesame")))
        .await
        .expect("burn");
    client.recent().await.expect("recent");

    let seen = fake.requests();
    let shape: Vec<(&str, String)> = seen
        .iter()
        .map(|s| (s.method.as_str(), s.path.clone()))
        .collect();
    assert_eq!(
        shape,
        vec![
            ("GET", format!("/api/v1/private/{metadata_key}")),
            ("POST", format!("/api/v1/private/{metadata_key}/burn")),
            ("GET", "/api/v1/private/recent".to_owned()),
        ]
    );
    assert_eq!(
        seen[1].form(),
        vec![("passphrase".to_owned(), "open sesame".to_owned())]
    );
    assert!(seen[0].body.is_empty() && seen[2].body.is_empty());
}

#[tokio::test]
async fn generate_with_server_defaults_sends_a_plain_form() {
    let fake = FakeOts::answering(receipt_answer()).await;
    let request = GenerateRequest {
        length: Some(20),
        options: CreateOptions {
            ttl: Some(600),
            ..CreateOptions::default()
        },
        ..GenerateRequest::default()
    };
    fake.anonymous_client()
        .generate(&request)
        .await
        .expect("generate");
    let seen = fake.only_request();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/api/v1/generate")
    );
    assert!(is_form(&seen));
    assert_eq!(
        seen.form(),
        vec![
            ("length".to_owned(), "20".to_owned()),
            ("ttl".to_owned(), "600".to_owned()),
        ]
    );
}

#[tokio::test]
async fn generate_with_sets_only_turned_on_sends_all_of_them_as_a_form() {
    let fake = FakeOts::answering(receipt_answer()).await;
    let request = GenerateRequest {
        character_sets: CharacterSets {
            symbols: Some(true),
            ..CharacterSets::default()
        },
        ..GenerateRequest::default()
    };
    fake.anonymous_client()
        .generate(&request)
        .await
        .expect("generate");
    let seen = fake.only_request();
    assert!(is_form(&seen));
    for set in [
        "uppercase",
        "lowercase",
        "numbers",
        "symbols",
        "exclude_ambiguous",
    ] {
        let field = format!("character_sets[{set}]");
        assert_eq!(seen.form_value(&field).as_deref(), Some("true"), "{field}");
    }
}

#[tokio::test]
async fn generate_with_a_set_turned_off_sends_json() {
    let mut protected = current_receipt(&key_of_len('m', 62), &key_of_len('s', 62));
    protected["passphrase_required"] = json!(true);
    let fake = FakeOts::answering(Answer::ok(protected)).await;
    let request = GenerateRequest {
        length: Some(16),
        character_sets: CharacterSets {
            symbols: Some(false),
            ..CharacterSets::default()
        },
        options: CreateOptions {
            ttl: Some(600),
            passphrase: Some(Passphrase::new("open sesame")),
            recipient: Some(String::new()),
            ..CreateOptions::default()
        },
    };
    fake.anonymous_client()
        .generate(&request)
        .await
        .expect("generate");
    let seen = fake.only_request();
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(
        seen.json(),
        json!({
            "length": 16,
            "ttl": 600,
            "passphrase": "open sesame",
            "character_sets": {
                "uppercase": true,
                "lowercase": true,
                "numbers": true,
                "symbols": false,
                "exclude_ambiguous": true,
            },
        })
    );
}

/// What a v0.23 server does with a JSON body: ignores it and generates with its defaults.
#[tokio::test]
async fn a_json_generate_the_server_ignored_is_refused() {
    let mut ignored = current_receipt(&key_of_len('m', 31), &key_of_len('s', 31));
    ignored["passphrase_required"] = json!(false);
    ignored["value"] = json!("aB3$eF6&hJ9@");
    let fake = FakeOts::answering(Answer::ok(ignored)).await;
    let client = fake.anonymous_client();
    let without_symbols = GenerateRequest {
        character_sets: CharacterSets {
            symbols: Some(false),
            ..CharacterSets::default()
        },
        ..GenerateRequest::default()
    };
    let with_passphrase = GenerateRequest {
        character_sets: CharacterSets {
            numbers: Some(false),
            ..CharacterSets::default()
        },
        options: CreateOptions {
            passphrase: Some(Passphrase::new("open sesame")),
            ..CreateOptions::default()
        },
        ..GenerateRequest::default()
    };
    for request in [without_symbols, with_passphrase] {
        let err = client.generate(&request).await.expect_err("ignored");
        assert!(
            matches!(
                err,
                crate::error::Error::InvalidInput {
                    field: "character_sets",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn a_json_generate_the_server_honoured_is_returned() {
    let mut honoured = current_receipt(&key_of_len('m', 62), &key_of_len('s', 62));
    honoured["passphrase_required"] = json!(true);
    honoured["value"] = json!("aBcDeFgHjKmN");
    let fake = FakeOts::answering(Answer::ok(honoured)).await;
    let request = GenerateRequest {
        character_sets: CharacterSets {
            numbers: Some(false),
            symbols: Some(false),
            ..CharacterSets::default()
        },
        options: CreateOptions {
            passphrase: Some(Passphrase::new("open sesame")),
            ..CreateOptions::default()
        },
        ..GenerateRequest::default()
    };
    let receipt = fake
        .anonymous_client()
        .generate(&request)
        .await
        .expect("generate");
    assert_eq!(receipt.passphrase_required, Some(true));
}

/// Share and generate take the same options, and one rule renders them into every body OTS
/// reads them from: v1 forms, v1's JSON generate, v2's nested JSON. Given the same options, each
/// body carries the same option fields, with the empty ones left out.
#[tokio::test]
async fn share_and_generate_send_the_same_options_in_every_body() {
    let options = CreateOptions {
        ttl: Some(900),
        passphrase: Some(Passphrase::new("open sesame")),
        recipient: Some(String::new()),
        share_domain: Some("secrets.acme.test".into()),
    };
    let share = ShareRequest {
        secret: SecretText::new("the launch codes"),
        options: options.clone(),
    };
    let generate_as_form = GenerateRequest {
        options: options.clone(),
        ..GenerateRequest::default()
    };
    let generate_as_json = GenerateRequest {
        character_sets: CharacterSets {
            symbols: Some(false),
            ..CharacterSets::default()
        },
        options,
        ..GenerateRequest::default()
    };
    // Writes are never retried, so each call leaves exactly one request behind.
    let fake = FakeOts::answering(Answer::text(503, "busy")).await;
    let v1 = fake.team_client();
    assert!(v1.share(&share).await.is_err());
    assert!(v1.generate(&generate_as_form).await.is_err());
    assert!(v1.generate(&generate_as_json).await.is_err());
    let v2 = OtsClient::new(OtsClientConfig {
        api: ApiChoice::V2,
        ..fake.config()
    })
    .expect("client builds");
    assert!(v2.share(&share).await.is_err());
    assert!(v2.generate(&generate_as_form).await.is_err());

    let seen = fake.requests();
    assert_eq!(seen.len(), 5);
    let option_names = ["ttl", "passphrase", "recipient", "share_domain"];
    let expected_form = vec![
        ("ttl".to_owned(), "900".to_owned()),
        ("passphrase".to_owned(), "open sesame".to_owned()),
        ("share_domain".to_owned(), "secrets.acme.test".to_owned()),
    ];
    for form_request in &seen[..2] {
        assert!(is_form(form_request), "{}", form_request.path);
        let sent: Vec<(String, String)> = form_request
            .form()
            .into_iter()
            .filter(|(name, _)| option_names.contains(&name.as_str()))
            .collect();
        assert_eq!(sent, expected_form, "{}", form_request.path);
    }
    let expected_json =
        json!({"ttl": 900, "passphrase": "open sesame", "share_domain": "secrets.acme.test"});
    let json_fields = [
        ("v1 generate", seen[2].json()),
        ("v2 conceal", seen[3].json()["secret"].clone()),
        ("v2 generate", seen[4].json()["secret"].clone()),
    ];
    for (body, fields) in json_fields {
        let sent: serde_json::Map<String, serde_json::Value> = fields
            .as_object()
            .map(|fields| {
                fields
                    .iter()
                    .filter(|(name, _)| option_names.contains(&name.as_str()))
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(serde_json::Value::Object(sent), expected_json, "{body}");
    }
}
