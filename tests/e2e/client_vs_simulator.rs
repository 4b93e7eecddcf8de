//! The real OTS client against the simulator served over HTTP: every operation and every error
//! kind an OTS server produces, parsed back into the same types the simulator returns in-process.

use ots_gateway_core::error::{Error, RateLimitScope};
use ots_gateway_core::model::{
    Credentials, GenerateRequest, Passphrase, ReceiptKey, ReceiptState, SecretKey, SecretText,
    ShareRequest,
};

use crate::support::{self, TEAM_USER};

fn share(secret: &str, passphrase: Option<&str>) -> ShareRequest {
    ShareRequest {
        secret: SecretText::new(secret),
        ttl: Some(600),
        passphrase: passphrase.map(Passphrase::new),
        recipient: None,
        share_domain: None,
    }
}

#[tokio::test]
async fn every_operation_round_trips_over_http() {
    let (_sim, server) = support::simulator_over_http(|_| {}).await;
    let ots = support::client(&server.url, support::team());

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
}

#[tokio::test]
async fn every_error_kind_is_classified_over_http() {
    let (_sim, server) =
        support::simulator_over_http(|config| config.anonymous_create_limit = 2).await;
    let ots = support::client(&server.url, support::team());
    let anonymous = support::client(&server.url, None);

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
    assert!(
        matches!(
            ots.retrieve(&protected_key, Some(&wrong)).await,
            Err(Error::UnknownSecret)
        ),
        "a wrong passphrase looks like a missing secret on v1"
    );

    let bad_credentials = support::client(&server.url, Some(Credentials::new(TEAM_USER, "wrong")));
    assert!(matches!(
        bad_credentials.status().await,
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
            assert_eq!(intended_status, Some(400));
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
    assert!(matches!(
        anonymous.share(&share("three", None)).await,
        Err(Error::RateLimited {
            scope: RateLimitScope::Upstream,
            ..
        })
    ));
}
