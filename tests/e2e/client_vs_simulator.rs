//! The real OTS client against the simulator served over HTTP: every operation and every error
//! kind an OTS server produces, parsed back into the same types the simulator returns in-process.
//! Each test runs once per pairing of what the simulator serves (`simulate --api`) and what the
//! client is told to speak (`upstream.api`), including `auto` on every kind of server.

use ots_gateway_core::error::{Error, RateLimitScope};
use ots_gateway_core::model::{
    CreateOptions, Credentials, GenerateRequest, Passphrase, ReceiptKey, ReceiptState, SecretKey,
    SecretText, ShareRequest,
};
use ots_gateway_core::ots::{ApiChoice, ApiVersion};
use ots_gateway_rest::SimulatedApis;

use crate::support::{self, TEAM_USER};

/// (server, client setting, the API the client ends up speaking)
const PAIRINGS: [(SimulatedApis, ApiChoice, ApiVersion); 6] = [
    (SimulatedApis::V1, ApiChoice::V1, ApiVersion::V1),
    (SimulatedApis::V1, ApiChoice::Auto, ApiVersion::V1),
    (SimulatedApis::V2, ApiChoice::V2, ApiVersion::V2),
    (SimulatedApis::V2, ApiChoice::Auto, ApiVersion::V2),
    (SimulatedApis::Both, ApiChoice::Auto, ApiVersion::V2),
    (SimulatedApis::Both, ApiChoice::V1, ApiVersion::V1),
];

fn share(secret: &str, passphrase: Option<&str>) -> ShareRequest {
    ShareRequest {
        secret: SecretText::new(secret),
        options: CreateOptions {
            ttl: Some(600),
            passphrase: passphrase.map(Passphrase::new),
            recipient: None,
            share_domain: None,
        },
    }
}

#[tokio::test]
async fn every_operation_round_trips_over_http() {
    for (apis, choice, speaks) in PAIRINGS {
        every_operation_round_trips(apis, choice, speaks).await;
    }
}

async fn every_operation_round_trips(apis: SimulatedApis, choice: ApiChoice, speaks: ApiVersion) {
    let (_sim, server) = support::simulator_speaking(apis, |_| {}).await;
    let ots = support::client_speaking(&server.url, support::team(), choice);

    assert_eq!(ots.status().await.expect("status").status, "nominal");
    assert_eq!(ots.authcheck().await.expect("authcheck").status, "nominal");

    let receipt = ots
        .share(&share("e2e-value-1", Some("pass-1234")))
        .await
        .expect("share");
    assert_eq!(receipt.custid, TEAM_USER);
    assert_eq!(receipt.ttl, 600);
    assert_eq!(receipt.passphrase_required, Some(true));
    let secret_key = receipt.secret_key.clone().expect("live secret key");
    assert_eq!(receipt.metadata_key.as_str().len(), 62);
    assert_eq!(
        receipt.share_url.as_deref(),
        Some(format!("{}secret/{}", server.url, secret_key.as_str()).as_str())
    );

    let viewed = ots.receipt(&receipt.metadata_key).await.expect("receipt");
    assert_eq!(viewed.state, ReceiptState::New);

    let revealed = ots
        .retrieve(&secret_key, Some(&Passphrase::new("pass-1234")))
        .await
        .expect("retrieve");
    assert_eq!(revealed.value.expose(), "e2e-value-1");
    let after = ots
        .receipt(&receipt.metadata_key)
        .await
        .expect("receipt after reveal");
    assert_eq!(after.state, ReceiptState::Received);
    assert!(after.received.is_some());

    let generated = ots
        .generate(&GenerateRequest {
            length: Some(20),
            ..GenerateRequest::default()
        })
        .await
        .expect("generate");
    assert_eq!(
        generated.value.as_ref().map(|v| v.expose().chars().count()),
        Some(20)
    );
    let burned = ots.burn(&generated.metadata_key, None).await.expect("burn");
    let generated_secret = generated.secret_key.clone().expect("secret key");
    assert_eq!(burned.secret_shortkey, generated_secret.short_id());
    assert_eq!(
        ots.receipt(&generated.metadata_key)
            .await
            .expect("receipt")
            .state,
        ReceiptState::Burned
    );

    let recent = ots.recent().await.expect("recent");
    let keys: Vec<&str> = recent.iter().map(|r| r.metadata_key.as_str()).collect();
    assert!(keys.contains(&receipt.metadata_key.as_str()));
    assert!(keys.contains(&generated.metadata_key.as_str()));
    assert_eq!(ots.api_in_use().api, Some(speaks), "{apis:?} {choice:?}");
    assert!(!ots.api_in_use().fell_back);
}

#[tokio::test]
async fn every_error_kind_is_classified_over_http() {
    for (apis, choice, speaks) in PAIRINGS {
        every_error_kind_is_classified(apis, choice, speaks).await;
    }
}

async fn every_error_kind_is_classified(
    apis: SimulatedApis,
    choice: ApiChoice,
    speaks: ApiVersion,
) {
    let (_sim, server) =
        support::simulator_speaking(apis, |config| config.anonymous_create_limit = 2).await;
    let ots = support::client_speaking(&server.url, support::team(), choice);
    let anonymous = support::client_speaking(&server.url, None, choice);

    let unknown = SecretKey::parse(&"a".repeat(62)).expect("key");
    assert!(matches!(
        ots.retrieve(&unknown, None).await,
        Err(Error::UnknownSecret)
    ));
    let unknown_receipt = ReceiptKey::parse(&"b".repeat(62)).expect("key");
    assert!(matches!(
        ots.receipt(&unknown_receipt).await,
        Err(Error::UnknownSecret)
    ));

    let protected = ots
        .share(&share("v", Some("right-pass")))
        .await
        .expect("share");
    let wrong = Passphrase::new("wrong-pass");
    assert!(matches!(
        ots.burn(&protected.metadata_key, Some(&wrong)).await,
        Err(Error::IncorrectPassphrase)
    ));
    let protected_key = protected.secret_key.clone().expect("key");
    let wrong_passphrase = ots.retrieve(&protected_key, Some(&wrong)).await;
    match speaks {
        ApiVersion::V1 => assert!(
            matches!(wrong_passphrase, Err(Error::UnknownSecret)),
            "a wrong passphrase looks like a missing secret on v1: {wrong_passphrase:?}"
        ),
        ApiVersion::V2 => assert!(
            matches!(wrong_passphrase, Err(Error::IncorrectPassphrase)),
            "v2 says the passphrase is wrong: {wrong_passphrase:?}"
        ),
    }

    let bad_credentials = support::client_speaking(
        &server.url,
        Some(Credentials::new(TEAM_USER, "wrong")),
        choice,
    );
    assert!(matches!(
        bad_credentials.authcheck().await,
        Err(Error::NotAuthorized)
    ));
    assert!(matches!(
        anonymous.recent().await,
        Err(Error::NotAuthorized)
    ));

    let too_large = share(&"x".repeat(10_001), None);
    assert!(matches!(
        ots.share(&too_large).await,
        Err(Error::SecretTooLarge { max_bytes: 10_000 })
    ));

    match ots.share(&share("v", Some("abc"))).await {
        Err(Error::Refused {
            message,
            intended_status,
        }) => {
            assert_eq!(message, "Passphrase must be at least 4 characters long");
            let status = match speaks {
                ApiVersion::V1 => 400,
                ApiVersion::V2 => 422,
            };
            assert_eq!(intended_status, Some(status));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    match ots.share(&share("", None)).await {
        Err(Error::Refused { message, .. }) => {
            assert_eq!(message, "You did not provide anything to share")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    assert!(anonymous.share(&share("one", None)).await.is_ok());
    assert!(anonymous.share(&share("two", None)).await.is_ok());
    let third = anonymous.share(&share("three", None)).await;
    match speaks {
        ApiVersion::V1 => assert!(matches!(
            third,
            Err(Error::RateLimited {
                scope: RateLimitScope::Upstream,
                ..
            })
        )),
        // v2 has no per-IP create limit.
        ApiVersion::V2 => assert!(third.is_ok(), "{third:?}"),
    }
}
