//! Behaviour tests for the simulator, one group per row of the OTS v1 behaviour table.
//! Time only moves through a `ManualClock`; nothing here sleeps.

use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use url::Url;

use super::*;
use crate::error::RateLimitScope;

const BASE: &str = "http://127.0.0.1:7143";
const START: u64 = 1_780_000_000;
const TEAM: &str = "team@example.com";
const TOKEN: &str = "token-team-1";
const OTHER: &str = "other@example.com";
const OTHER_TOKEN: &str = "token-other-1";
const DAY: u64 = 24 * 3600;

struct Fixture {
    sim: Simulator,
    clock: ManualClock,
}

fn fixture() -> Fixture {
    fixture_with(|_| {})
}

fn fixture_with(adjust: impl FnOnce(&mut SimulatorConfig)) -> Fixture {
    let clock = ManualClock::starting_at(START);
    let base = Url::parse(BASE).expect("test base URL parses");
    let mut config = SimulatorConfig::new(base);
    config.clock = SimClock::Manual(clock.clone());
    adjust(&mut config);
    let sim = Simulator::new(config);
    sim.add_account(&Credentials::new(TEAM, TOKEN));
    sim.add_account(&Credentials::new(OTHER, OTHER_TOKEN));
    Fixture { sim, clock }
}

impl Fixture {
    fn anon(&self) -> SimulatedUpstream {
        self.sim.as_caller(None, None)
    }
    fn anon_from(&self, last_octet: u8) -> SimulatedUpstream {
        let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, last_octet));
        self.sim.as_caller(None, Some(ip))
    }
    fn team(&self) -> SimulatedUpstream {
        self.sim
            .as_caller(Some(Credentials::new(TEAM, TOKEN)), None)
    }
    fn other(&self) -> SimulatedUpstream {
        self.sim
            .as_caller(Some(Credentials::new(OTHER, OTHER_TOKEN)), None)
    }
    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }
}

fn share_req(secret: &str) -> ShareRequest {
    ShareRequest {
        secret: SecretText::new(secret),
        options: CreateOptions::default(),
    }
}

fn with_ttl(ttl: i64) -> ShareRequest {
    ShareRequest {
        options: CreateOptions {
            ttl: Some(ttl),
            ..CreateOptions::default()
        },
        ..share_req("s3cret")
    }
}

fn with_pass(pass: &str) -> ShareRequest {
    ShareRequest {
        options: CreateOptions {
            passphrase: Some(Passphrase::new(pass)),
            ..CreateOptions::default()
        },
        ..share_req("s3cret")
    }
}

fn pass(p: &str) -> Passphrase {
    Passphrase::new(p)
}

fn secret_key(receipt: &Receipt) -> SecretKey {
    receipt
        .secret_key
        .clone()
        .expect("a new receipt names its secret")
}

/// The message of a v1 validation refusal (intended status 400); anything else fails the test.
fn refusal<T: Debug>(result: Result<T>) -> String {
    match result {
        Err(Error::Refused {
            message,
            intended_status: Some(400),
        }) => message,
        other => panic!("expected a 400 refusal, got {other:?}"),
    }
}

const UNEXPECTED: &str = "An unexpected error occurred :[";

fn is_unknown<T>(result: &Result<T>) -> bool {
    matches!(result, Err(Error::UnknownSecret))
}

fn is_rate_limited<T>(result: &Result<T>) -> bool {
    matches!(
        result,
        Err(Error::RateLimited {
            scope: RateLimitScope::Upstream,
            retry_after: None
        })
    )
}

fn is_base36_key(key: &str) -> bool {
    key.len() == 62
        && key
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
}

// --- status, authentication --------------------------------------------------------------

#[test]
fn status_is_nominal_for_anyone_and_authcheck_needs_an_account() {
    let f = fixture();
    let nominal = UpstreamStatus {
        status: "nominal".into(),
        locale: "en".into(),
    };
    assert_eq!(f.anon().status().ok(), Some(nominal.clone()));
    assert_eq!(f.team().authcheck().ok(), Some(nominal));
    assert!(matches!(f.anon().authcheck(), Err(Error::NotAuthorized)));
    assert!(matches!(f.anon().recent(), Err(Error::NotAuthorized)));
}

#[test]
fn bad_credentials_are_refused_on_every_route() {
    let f = fixture();
    let receipt = f.anon().share(&share_req("hello")).expect("share");
    let skey = secret_key(&receipt);
    let mkey = receipt.metadata_key.clone();
    let bad = [
        Credentials::new("nobody@example.com", TOKEN),
        Credentials::new(TEAM, "wrong-token"),
        Credentials::new(TEAM, OTHER_TOKEN),
        Credentials::new("", TOKEN),
        Credentials::new(TEAM, ""),
    ];
    for credentials in bad {
        let up = f.sim.as_caller(Some(credentials.clone()), None);
        let label = format!("{credentials:?}");
        assert!(matches!(up.status(), Err(Error::NotAuthorized)), "{label}");
        assert!(
            matches!(up.authcheck(), Err(Error::NotAuthorized)),
            "{label}"
        );
        let shared = up.share(&share_req("x"));
        assert!(matches!(shared, Err(Error::NotAuthorized)), "{label}");
        let generated = up.generate(&GenerateRequest::default());
        assert!(matches!(generated, Err(Error::NotAuthorized)), "{label}");
        let revealed = up.retrieve(&skey, None);
        assert!(matches!(revealed, Err(Error::NotAuthorized)), "{label}");
        assert!(
            matches!(up.receipt(&mkey), Err(Error::NotAuthorized)),
            "{label}"
        );
        assert!(
            matches!(up.burn(&mkey, None), Err(Error::NotAuthorized)),
            "{label}"
        );
        assert!(matches!(up.recent(), Err(Error::NotAuthorized)), "{label}");
    }
    // None of those attempts touched the secret.
    let revealed = f.anon().retrieve(&skey, None).expect("still there");
    assert_eq!(revealed.value.expose(), "hello");
}

#[test]
fn custid_is_the_callers_email_or_anon() {
    let f = fixture();
    let mine = f.team().share(&share_req("x")).expect("share");
    assert_eq!(mine.custid, TEAM);
    let anon = f.anon().share(&share_req("x")).expect("share");
    assert_eq!(anon.custid, "anon");
    // Current servers report the caller, not the owner.
    let seen = f.anon().receipt(&mine.metadata_key).expect("view");
    assert_eq!(seen.custid, "anon");
}

#[test]
fn has_credentials_and_origin_reflect_the_handle() {
    let f = fixture();
    assert!(f.team().has_credentials());
    assert!(!f.anon().has_credentials());
    assert_eq!(f.anon().origin(), BASE);
}

// --- keys and the share receipt -----------------------------------------------------------

#[test]
fn keys_are_62_lowercase_base36_characters_and_distinct() {
    let f = fixture();
    let a = f.anon().share(&share_req("a")).expect("share");
    let b = f.anon().share(&share_req("b")).expect("share");
    for key in [
        a.metadata_key.as_str(),
        secret_key(&a).as_str(),
        b.metadata_key.as_str(),
        secret_key(&b).as_str(),
    ] {
        assert!(is_base36_key(key), "{key}");
    }
    assert_ne!(a.metadata_key, b.metadata_key);
    assert_ne!(secret_key(&a), secret_key(&b));
    assert_ne!(a.metadata_key.as_str(), secret_key(&a).as_str());
}

#[test]
fn share_returns_a_complete_new_receipt() {
    let f = fixture();
    let receipt = f.anon().share(&with_ttl(3600)).expect("share");
    let skey = secret_key(&receipt);
    assert_eq!(receipt.custid, "anon");
    assert_eq!(receipt.ttl, 3600);
    assert_eq!(receipt.metadata_ttl, 7200);
    assert_eq!(receipt.secret_ttl, Some(3600));
    assert_eq!(receipt.state, ReceiptState::New);
    assert_eq!(receipt.created, START as i64);
    assert_eq!(receipt.updated, START as i64);
    assert_eq!(receipt.received, None);
    assert!(receipt.recipients.is_empty());
    assert_eq!(receipt.share_domain, "");
    assert_eq!(receipt.passphrase_required, Some(false));
    assert!(receipt.value.is_none());
    let metadata_url = format!("{BASE}/receipt/{}", receipt.metadata_key.as_str());
    assert_eq!(receipt.metadata_url.as_deref(), Some(metadata_url.as_str()));
    let share_url = format!("{BASE}/secret/{}", skey.as_str());
    assert_eq!(receipt.share_url.as_deref(), Some(share_url.as_str()));
}

#[test]
fn links_use_the_base_url_without_a_trailing_slash() {
    let f = fixture_with(|c| {
        c.base_url = Url::parse("http://localhost:3000/ots/").expect("url");
    });
    let receipt = f.anon().share(&share_req("x")).expect("share");
    let skey = secret_key(&receipt);
    let expected = format!("http://localhost:3000/ots/secret/{}", skey.as_str());
    assert_eq!(receipt.share_url.as_deref(), Some(expected.as_str()));
    let revealed = f.anon().retrieve(&skey, None).expect("reveal");
    assert_eq!(revealed.share_domain, "http://localhost:3000");
}

#[test]
fn recipients_are_stored_obscured_and_only_for_accounts() {
    let f = fixture();
    let request = ShareRequest {
        options: CreateOptions {
            recipient: Some("alice@example.com".into()),
            ..CreateOptions::default()
        },
        ..share_req("x")
    };
    let receipt = f.team().share(&request).expect("share");
    assert_eq!(receipt.recipients, vec!["al***@e***.com".to_owned()]);
    let anon = f.anon().share(&request);
    assert_eq!(refusal(anon), "An account is required to send emails.");
}

// --- validation ---------------------------------------------------------------------------

#[test]
fn every_share_validation_message() {
    let f = fixture();
    let cases: Vec<(SimulatedUpstream, ShareRequest, &str)> = vec![
        (
            f.anon(),
            ShareRequest {
                options: CreateOptions {
                    recipient: Some("bob@example.com".into()),
                    ..CreateOptions::default()
                },
                ..share_req("x")
            },
            "An account is required to send emails.",
        ),
        (
            f.team(),
            ShareRequest {
                options: CreateOptions {
                    recipient: Some("not-an-email".into()),
                    ..CreateOptions::default()
                },
                ..share_req("x")
            },
            "Undeliverable email address: not-an-email",
        ),
        (
            f.anon(),
            ShareRequest {
                options: CreateOptions {
                    share_domain: Some("secrets.example.com".into()),
                    ..CreateOptions::default()
                },
                ..share_req("x")
            },
            "You do not have permission to use domain: secrets.example.com",
        ),
        (
            f.team(),
            ShareRequest {
                options: CreateOptions {
                    share_domain: Some("secrets.example.com".into()),
                    ..CreateOptions::default()
                },
                ..share_req("x")
            },
            "Unknown domain: secrets.example.com",
        ),
        (
            f.anon(),
            with_pass("abc"),
            "Passphrase must be at least 4 characters long",
        ),
        (
            f.anon(),
            with_pass(&"p".repeat(129)),
            "Passphrase must be no more than 128 characters long",
        ),
        (
            f.anon(),
            share_req(""),
            "You did not provide anything to share",
        ),
    ];
    for (caller, request, expected) in cases {
        assert_eq!(refusal(caller.share(&request)), expected);
    }
}

#[test]
fn validation_reports_the_first_failure_in_ots_order() {
    let f = fixture();
    // Every check fails; peel them off one at a time and watch the next one surface.
    let mut request = ShareRequest {
        secret: SecretText::new("x".repeat(10_001)),
        options: CreateOptions {
            ttl: None,
            passphrase: Some(pass("ab")),
            recipient: Some("broken".into()),
            share_domain: Some("d.example".into()),
        },
    };
    let team = f.team();
    assert!(matches!(
        team.share(&request),
        Err(Error::SecretTooLarge { max_bytes: 10_000 })
    ));
    request.secret = SecretText::new("");
    assert_eq!(
        refusal(team.share(&request)),
        "Undeliverable email address: broken"
    );
    request.options.recipient = None;
    assert_eq!(refusal(team.share(&request)), "Unknown domain: d.example");
    request.options.share_domain = None;
    assert_eq!(
        refusal(team.share(&request)),
        "Passphrase must be at least 4 characters long"
    );
    request.options.passphrase = None;
    assert_eq!(
        refusal(team.share(&request)),
        "You did not provide anything to share"
    );
}

#[test]
fn empty_optional_fields_count_as_absent() {
    let f = fixture();
    let request = ShareRequest {
        options: CreateOptions {
            passphrase: Some(pass("")),
            recipient: Some(String::new()),
            share_domain: Some(String::new()),
            ..CreateOptions::default()
        },
        ..share_req("x")
    };
    let receipt = f.anon().share(&request).expect("share");
    assert_eq!(receipt.passphrase_required, Some(false));
    assert!(receipt.recipients.is_empty());
    let revealed = f.anon().retrieve(&secret_key(&receipt), None);
    assert_eq!(revealed.expect("no gate").value.expose(), "x");
}

#[test]
fn passphrase_bounds_count_characters() {
    let f = fixture();
    for ok in ["abcd", "ääää", &"p".repeat(128), &"ü".repeat(128)] {
        let receipt = f.anon().share(&with_pass(ok)).expect("within bounds");
        assert_eq!(receipt.passphrase_required, Some(true));
    }
    let too_long = f.anon().share(&with_pass(&"ü".repeat(129)));
    assert_eq!(
        refusal(too_long),
        "Passphrase must be no more than 128 characters long"
    );
}

#[test]
fn size_limit_counts_utf8_bytes() {
    let f = fixture();
    let up = f.anon();
    assert!(up.share(&share_req(&"a".repeat(10_000))).is_ok());
    assert!(up.share(&share_req(&"é".repeat(5_000))).is_ok());
    let over = [
        "a".repeat(10_001),
        format!("{}a", "é".repeat(5_000)),
        // 3 334 characters but 10 002 bytes.
        "€".repeat(3_334),
    ];
    for secret in over {
        assert!(matches!(
            up.share(&share_req(&secret)),
            Err(Error::SecretTooLarge { max_bytes: 10_000 })
        ));
    }
}

// --- TTL ----------------------------------------------------------------------------------

#[test]
fn ttl_defaults_and_clamps_by_caller() {
    let f = fixture();
    let cases: [(Option<i64>, bool, u64); 10] = [
        (None, false, 604_800),
        (None, true, 604_800),
        (Some(3_600), false, 3_600),
        (Some(60), false, 60),
        (Some(59), false, 60),
        (Some(0), false, 60),
        (Some(-5), true, 60),
        (Some(30 * DAY as i64), false, 604_800),
        (Some(30 * DAY as i64), true, 2_592_000),
        (Some(i64::MAX), true, 2_592_000),
    ];
    for (ttl, authenticated, expected) in cases {
        let caller = if authenticated { f.team() } else { f.anon() };
        let request = ShareRequest {
            options: CreateOptions {
                ttl,
                ..CreateOptions::default()
            },
            ..share_req("x")
        };
        let receipt = caller.share(&request).expect("share");
        assert_eq!(
            receipt.ttl, expected,
            "{ttl:?} authenticated={authenticated}"
        );
        assert_eq!(receipt.secret_ttl, Some(expected));
        assert_eq!(receipt.metadata_ttl, 2 * expected);
    }
}

// --- generate -----------------------------------------------------------------------------

#[test]
fn generate_returns_a_receipt_with_the_value() {
    let f = fixture();
    let receipt = f
        .anon()
        .generate(&GenerateRequest::default())
        .expect("generate");
    let value = receipt.value.clone().expect("generate shows the value");
    assert_eq!(value.expose().chars().count(), 12);
    assert_eq!(receipt.state, ReceiptState::New);
    assert_eq!(receipt.ttl, 604_800);
    assert_eq!(receipt.passphrase_required, Some(false));
    assert!(is_base36_key(secret_key(&receipt).as_str()));
    let revealed = f.anon().retrieve(&secret_key(&receipt), None);
    assert_eq!(revealed.expect("reveal").value.expose(), value.expose());
}

#[test]
fn generate_length_rules() {
    let f = fixture();
    let up = f.team();
    let at = |length| GenerateRequest {
        length: Some(length),
        ..GenerateRequest::default()
    };
    let long = up.generate(&at(128)).expect("128 is allowed");
    assert_eq!(long.value.expect("value").expose().chars().count(), 128);
    assert_eq!(
        refusal(up.generate(&at(129))),
        "Generated password length must be no more than 128 characters"
    );
    assert_eq!(refusal(up.generate(&at(0))), UNEXPECTED);
    assert_eq!(refusal(up.generate(&at(-3))), UNEXPECTED);
}

#[test]
fn generate_applies_the_share_rules_before_the_length() {
    let f = fixture();
    let request = GenerateRequest {
        length: Some(500),
        options: CreateOptions {
            passphrase: Some(pass("ab")),
            ..CreateOptions::default()
        },
        ..GenerateRequest::default()
    };
    assert_eq!(
        refusal(f.anon().generate(&request)),
        "Passphrase must be at least 4 characters long"
    );
    let request = GenerateRequest {
        options: CreateOptions {
            recipient: Some("bob@example.com".into()),
            ..CreateOptions::default()
        },
        ..GenerateRequest::default()
    };
    assert_eq!(
        refusal(f.anon().generate(&request)),
        "An account is required to send emails."
    );
    let request = GenerateRequest {
        options: CreateOptions {
            share_domain: Some("d.example".into()),
            ..CreateOptions::default()
        },
        ..GenerateRequest::default()
    };
    assert_eq!(
        refusal(f.team().generate(&request)),
        "Unknown domain: d.example"
    );
    let request = GenerateRequest {
        options: CreateOptions {
            ttl: Some(10 * DAY as i64),
            ..CreateOptions::default()
        },
        ..GenerateRequest::default()
    };
    let receipt = f.anon().generate(&request).expect("generate");
    assert_eq!(receipt.ttl, 604_800);
}

#[test]
fn generate_honours_character_sets() {
    let f = fixture();
    let request = GenerateRequest {
        length: Some(64),
        character_sets: CharacterSets {
            uppercase: Some(false),
            symbols: Some(false),
            lowercase: Some(false),
            ..CharacterSets::default()
        },
        ..GenerateRequest::default()
    };
    let receipt = f.anon().generate(&request).expect("generate");
    let value = receipt.value.expect("value");
    assert!(value.expose().chars().all(|c| c.is_ascii_digit()));
    assert!(!value.expose().contains(['0', '1']));
}

// --- retrieve -----------------------------------------------------------------------------

#[test]
fn a_secret_is_revealed_exactly_once() {
    let f = fixture();
    let receipt = f.anon().share(&share_req("only once")).expect("share");
    let skey = secret_key(&receipt);
    f.advance(30);
    let revealed = f.anon().retrieve(&skey, None).expect("first");
    assert_eq!(revealed.value.expose(), "only once");
    assert_eq!(revealed.secret_key, skey);
    assert_eq!(revealed.share_domain, BASE);
    assert!(is_unknown(&f.anon().retrieve(&skey, None)));

    let after = f.anon().receipt(&receipt.metadata_key).expect("view");
    assert_eq!(after.state, ReceiptState::Received);
    assert_eq!(after.received, Some(START as i64 + 30));
    assert_eq!(after.updated, START as i64 + 30);
    assert_eq!(after.created, START as i64);
    assert!(after.secret_key.is_none());
    assert!(after.secret_ttl.is_none());
    assert!(after.share_url.is_none());
    assert_eq!(after.passphrase_required, Some(false));
}

#[test]
fn unknown_secret_key_is_unknown() {
    let f = fixture();
    let key = SecretKey::parse(&"z".repeat(62)).expect("key");
    assert!(is_unknown(&f.anon().retrieve(&key, None)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_retrieves_yield_exactly_one_value() {
    let f = fixture();
    let receipt = f.anon().share(&share_req("race")).expect("share");
    let skey = secret_key(&receipt);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let up = f.anon_from(i);
        let key = skey.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            up.retrieve(&key, None)
        }));
    }
    let mut values = Vec::new();
    let mut unknown = 0;
    for task in tasks {
        match task.await.expect("task ran") {
            Ok(revealed) => values.push(revealed.value.expose().to_owned()),
            Err(Error::UnknownSecret) => unknown += 1,
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(values, vec!["race".to_owned()]);
    assert_eq!(unknown, 19);
}

#[test]
fn passphrase_gates_the_reveal() {
    let f = fixture();
    let receipt = f.anon().share(&with_pass("open sesame")).expect("share");
    let skey = secret_key(&receipt);
    let up = f.anon();
    assert!(is_unknown(&up.retrieve(&skey, None)));
    assert!(is_unknown(&up.retrieve(&skey, Some(&pass("")))));
    assert!(is_unknown(&up.retrieve(&skey, Some(&pass("open sesamE")))));
    assert!(is_unknown(&up.retrieve(&skey, Some(&pass("open sesame!")))));
    let revealed = up.retrieve(&skey, Some(&pass("open sesame")));
    assert_eq!(revealed.expect("right passphrase").value.expose(), "s3cret");
}

#[test]
fn a_passphrase_on_an_open_secret_is_ignored() {
    let f = fixture();
    let receipt = f.anon().share(&share_req("open")).expect("share");
    let revealed = f
        .anon()
        .retrieve(&secret_key(&receipt), Some(&pass("whatever")));
    assert_eq!(revealed.expect("no gate").value.expose(), "open");
}

// --- passphrase lockout -------------------------------------------------------------------

#[test]
fn twenty_wrong_passphrases_lock_the_secret_for_1800_seconds() {
    let f = fixture();
    let receipt = f.anon().share(&with_pass("right one")).expect("share");
    let skey = secret_key(&receipt);
    let up = f.anon();
    for _ in 0..20 {
        assert!(is_unknown(&up.retrieve(&skey, Some(&pass("wrong one")))));
    }
    let right_one = pass("right one");
    let right = Some(&right_one);
    assert_eq!(refusal(up.retrieve(&skey, right)), UNEXPECTED);
    assert_eq!(refusal(up.burn(&receipt.metadata_key, right)), UNEXPECTED);
    f.advance(1_799);
    assert_eq!(refusal(up.retrieve(&skey, right)), UNEXPECTED);
    f.advance(1);
    let revealed = up.retrieve(&skey, right).expect("unlocked");
    assert_eq!(revealed.value.expose(), "s3cret");
}

#[test]
fn nineteen_wrong_passphrases_do_not_lock() {
    let f = fixture();
    let receipt = f.anon().share(&with_pass("right one")).expect("share");
    let skey = secret_key(&receipt);
    for _ in 0..19 {
        let wrong = f.anon().retrieve(&skey, Some(&pass("wrong one")));
        assert!(is_unknown(&wrong));
    }
    assert!(f.anon().retrieve(&skey, Some(&pass("right one"))).is_ok());
}

#[test]
fn missing_passphrases_on_retrieve_do_not_count_toward_the_lockout() {
    let f = fixture();
    let receipt = f.anon().share(&with_pass("right one")).expect("share");
    let skey = secret_key(&receipt);
    for _ in 0..25 {
        assert!(is_unknown(&f.anon().retrieve(&skey, None)));
    }
    assert!(f.anon().retrieve(&skey, Some(&pass("right one"))).is_ok());
}

#[test]
fn wrong_passphrases_on_burn_count_toward_the_lockout() {
    let f = fixture();
    let receipt = f.anon().share(&with_pass("right one")).expect("share");
    let up = f.anon();
    for _ in 0..20 {
        let burned = up.burn(&receipt.metadata_key, Some(&pass("nope nope")));
        assert!(matches!(burned, Err(Error::IncorrectPassphrase)));
    }
    let right = up.retrieve(&secret_key(&receipt), Some(&pass("right one")));
    assert_eq!(refusal(right), UNEXPECTED);
}

// --- burn ---------------------------------------------------------------------------------

#[test]
fn burn_returns_the_pre_burn_snapshot_and_destroys_the_secret() {
    let f = fixture();
    let receipt = f.team().share(&with_ttl(3_600)).expect("share");
    let skey = secret_key(&receipt);
    f.advance(10);
    let burned = f.team().burn(&receipt.metadata_key, None).expect("burn");
    assert_eq!(burned.secret_shortkey, &skey.as_str()[..8]);
    let snapshot = &burned.receipt;
    assert_eq!(snapshot.state, ReceiptState::New);
    assert_eq!(snapshot.secret_key.as_ref(), Some(&skey));
    assert_eq!(snapshot.secret_ttl, None);
    assert_eq!(snapshot.passphrase_required, None);
    assert_eq!(snapshot.updated, START as i64);
    assert_eq!(snapshot.custid, TEAM);
    assert_eq!(snapshot.metadata_ttl, 7_190);

    assert!(is_unknown(&f.anon().retrieve(&skey, None)));
    let after = f.team().receipt(&receipt.metadata_key).expect("view");
    assert_eq!(after.state, ReceiptState::Burned);
    assert_eq!(after.updated, START as i64 + 10);
    assert!(after.secret_key.is_none());
    assert!(after.secret_ttl.is_none());
    assert_eq!(after.passphrase_required, Some(false));
    assert!(is_unknown(&f.team().burn(&receipt.metadata_key, None)));
}

#[test]
fn burn_needs_the_passphrase_of_a_protected_secret() {
    let f = fixture();
    let receipt = f.anon().share(&with_pass("burn key")).expect("share");
    let mkey = &receipt.metadata_key;
    let up = f.anon();
    assert!(matches!(
        up.burn(mkey, None),
        Err(Error::IncorrectPassphrase)
    ));
    assert!(matches!(
        up.burn(mkey, Some(&pass(""))),
        Err(Error::IncorrectPassphrase)
    ));
    assert!(matches!(
        up.burn(mkey, Some(&pass("burn kez"))),
        Err(Error::IncorrectPassphrase)
    ));
    let burned = up.burn(mkey, Some(&pass("burn key"))).expect("burn");
    assert_eq!(burned.receipt.state, ReceiptState::New);
    assert!(is_unknown(
        &up.retrieve(&secret_key(&receipt), Some(&pass("burn key")))
    ));
}

#[test]
fn burn_of_a_revealed_or_expired_secret_is_unknown() {
    let f = fixture();
    let revealed = f.anon().share(&share_req("x")).expect("share");
    f.anon()
        .retrieve(&secret_key(&revealed), None)
        .expect("reveal");
    assert!(is_unknown(&f.anon().burn(&revealed.metadata_key, None)));

    let expiring = f.anon().share(&with_ttl(60)).expect("share");
    f.advance(60);
    assert!(is_unknown(&f.anon().burn(&expiring.metadata_key, None)));
    let unknown = ReceiptKey::parse(&"q".repeat(62)).expect("key");
    assert!(is_unknown(&f.anon().burn(&unknown, None)));
}

// --- receipt view -------------------------------------------------------------------------

#[test]
fn viewing_a_receipt_counts_down_without_changing_it() {
    let f = fixture();
    let receipt = f.anon().share(&with_ttl(3_600)).expect("share");
    f.advance(100);
    for _ in 0..2 {
        let seen = f.anon().receipt(&receipt.metadata_key).expect("view");
        assert_eq!(seen.state, ReceiptState::New);
        assert_eq!(seen.updated, START as i64);
        assert_eq!(seen.secret_ttl, Some(3_500));
        assert_eq!(seen.metadata_ttl, 7_100);
        assert_eq!(seen.secret_key, receipt.secret_key);
        assert_eq!(seen.passphrase_required, Some(false));
        assert!(seen.value.is_none(), "shared values are never echoed");
    }
    assert!(f.anon().retrieve(&secret_key(&receipt), None).is_ok());
}

#[test]
fn receipt_view_marks_an_expired_secret_and_the_receipt_outlives_it_by_ttl() {
    let f = fixture();
    let receipt = f.anon().share(&with_ttl(600)).expect("share");
    let mkey = &receipt.metadata_key;
    f.advance(599);
    assert_eq!(
        f.anon().receipt(mkey).expect("view").state,
        ReceiptState::New
    );
    f.advance(1);
    let expired = f.anon().receipt(mkey).expect("view");
    assert_eq!(expired.state, ReceiptState::Expired);
    assert_eq!(expired.updated, START as i64 + 600);
    assert!(expired.secret_key.is_none());
    assert!(expired.secret_ttl.is_none());
    assert!(expired.share_url.is_none());
    assert_eq!(expired.passphrase_required, Some(false));
    assert_eq!(expired.metadata_ttl, 600);
    assert!(is_unknown(&f.anon().retrieve(&secret_key(&receipt), None)));

    f.advance(599);
    assert!(f.anon().receipt(mkey).is_ok());
    f.advance(1);
    assert!(is_unknown(&f.anon().receipt(mkey)));
}

#[test]
fn a_secret_lost_before_its_ttl_leaves_an_orphaned_receipt() {
    let f = fixture();
    let receipt = f.anon().share(&share_req("x")).expect("share");
    f.sim.lose_secret(&secret_key(&receipt));
    let seen = f.anon().receipt(&receipt.metadata_key).expect("view");
    assert_eq!(seen.state, ReceiptState::Orphaned);
    assert!(seen.secret_key.is_none());
}

#[test]
fn a_generated_value_is_shown_once_within_60_seconds() {
    let f = fixture();
    let generated = f
        .anon()
        .generate(&GenerateRequest::default())
        .expect("generate");
    let value = generated.value.as_ref().expect("value").expose().to_owned();
    f.advance(59);
    let first = f.anon().receipt(&generated.metadata_key).expect("view");
    assert_eq!(
        first.value.as_ref().map(SecretText::expose),
        Some(value.as_str())
    );
    let second = f.anon().receipt(&generated.metadata_key).expect("view");
    assert!(second.value.is_none());
    // The display is only a view: the secret itself is still there.
    assert!(f.anon().retrieve(&secret_key(&generated), None).is_ok());
}

#[test]
fn a_generated_value_is_not_shown_after_60_seconds_or_with_a_passphrase() {
    let f = fixture();
    let late = f
        .anon()
        .generate(&GenerateRequest::default())
        .expect("generate");
    let gated = f
        .anon()
        .generate(&GenerateRequest {
            options: CreateOptions {
                passphrase: Some(pass("gate keeper")),
                ..CreateOptions::default()
            },
            ..GenerateRequest::default()
        })
        .expect("generate");
    assert!(
        f.anon()
            .receipt(&gated.metadata_key)
            .expect("view")
            .value
            .is_none()
    );
    f.advance(60);
    assert!(
        f.anon()
            .receipt(&late.metadata_key)
            .expect("view")
            .value
            .is_none()
    );
}

#[test]
fn unknown_receipt_is_unknown() {
    let f = fixture();
    let key = ReceiptKey::parse(&"a".repeat(62)).expect("key");
    assert!(is_unknown(&f.team().receipt(&key)));
}

// --- recent -------------------------------------------------------------------------------

#[test]
fn recent_lists_the_callers_receipts_oldest_first() {
    let f = fixture();
    let mut mine = Vec::new();
    for i in 0..3 {
        let receipt = f.team().share(&share_req(&format!("s{i}"))).expect("share");
        mine.push(receipt.metadata_key);
        f.advance(5);
    }
    // Same timestamp as the next one: creation order must still win.
    let same_second = f.team().share(&share_req("s3")).expect("share");
    mine.push(same_second.metadata_key);
    let last = f.team().share(&share_req("s4")).expect("share");
    mine.push(last.metadata_key);
    f.other().share(&share_req("theirs")).expect("share");
    f.anon().share(&share_req("nobody's")).expect("share");

    let listed = f.team().recent().expect("recent");
    let keys: Vec<ReceiptKey> = listed.iter().map(|r| r.metadata_key.clone()).collect();
    assert_eq!(keys, mine);
    for receipt in &listed {
        assert!(receipt.secret_key.is_none());
        assert!(receipt.secret_ttl.is_none());
        assert!(receipt.passphrase_required.is_none());
        assert!(receipt.share_url.is_none());
        assert_eq!(receipt.custid, TEAM);
    }
    let theirs = f.other().recent().expect("recent");
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].custid, OTHER);
}

#[test]
fn recent_covers_only_the_last_30_days() {
    let f = fixture();
    let old = f.team().share(&with_ttl(30 * DAY as i64)).expect("share");
    f.advance(DAY);
    f.team().share(&with_ttl(30 * DAY as i64)).expect("share");
    f.advance(29 * DAY);
    let listed = f.team().recent().expect("recent");
    assert_eq!(listed.len(), 1);
    assert_ne!(listed[0].metadata_key, old.metadata_key);
    // Still viewable directly: a receipt lives 2×ttl.
    assert!(f.team().receipt(&old.metadata_key).is_ok());
}

// --- rate limits --------------------------------------------------------------------------

#[test]
fn anonymous_creates_are_limited_per_ip_and_accounts_are_exempt() {
    let f = fixture_with(|c| c.anonymous_create_limit = 3);
    let ip1 = f.anon_from(1);
    assert!(ip1.share(&share_req("a")).is_ok());
    assert!(ip1.generate(&GenerateRequest::default()).is_ok());
    // Failed validation still counts: the limiter runs first, as on OTS.
    assert!(ip1.share(&share_req("")).is_err());
    assert!(is_rate_limited(&ip1.share(&share_req("b"))));
    assert!(is_rate_limited(&ip1.generate(&GenerateRequest::default())));

    assert!(f.anon_from(2).share(&share_req("c")).is_ok());
    assert!(f.anon().share(&share_req("d")).is_ok());
    for _ in 0..5 {
        assert!(f.team().share(&share_req("e")).is_ok());
    }
    f.advance(20 * 60);
    assert!(ip1.share(&share_req("f")).is_ok());
}

#[test]
fn anonymous_reveals_are_limited_separately() {
    let f = fixture_with(|c| {
        c.anonymous_create_limit = 1;
        c.anonymous_reveal_limit = 2;
    });
    let receipt = f.anon().share(&share_req("x")).expect("share");
    let skey = secret_key(&receipt);
    let missing = SecretKey::parse(&"m".repeat(62)).expect("key");
    let up = f.anon();
    assert!(is_unknown(&up.retrieve(&missing, None)));
    assert!(is_unknown(&up.retrieve(&missing, None)));
    assert!(is_rate_limited(&up.retrieve(&skey, None)));
    let revealed = f.team().retrieve(&skey, None).expect("exempt");
    assert_eq!(revealed.value.expose(), "x");
}

// --- capacity and sweeping ----------------------------------------------------------------

#[test]
fn a_full_store_refuses_new_secrets_until_entries_expire() {
    let f = fixture_with(|c| c.max_entries = 2);
    for _ in 0..2 {
        f.team().share(&with_ttl(60)).expect("share");
    }
    assert_eq!(refusal(f.team().share(&with_ttl(60))), UNEXPECTED);
    assert_eq!(
        refusal(f.team().generate(&GenerateRequest::default())),
        UNEXPECTED
    );
    f.advance(120);
    assert!(f.team().share(&with_ttl(60)).is_ok());
}

#[test]
fn room_reserved_ahead_does_not_raise_the_cap() {
    let f = fixture_with(|c| {
        c.max_entries = 2;
        c.reserved_entries = 1_000;
    });
    for _ in 0..2 {
        f.team().share(&with_ttl(60)).expect("share");
    }
    assert_eq!(refusal(f.team().share(&with_ttl(60))), UNEXPECTED);
}

#[test]
fn untouched_expired_entries_are_swept() {
    let f = fixture();
    for _ in 0..5 {
        f.anon().share(&with_ttl(60)).expect("share");
    }
    let keep = f.anon().share(&with_ttl(3_600)).expect("share");
    assert_eq!(f.sim.counts(), (6, 6));
    f.advance(60);
    f.anon().status().expect("status");
    assert_eq!(f.sim.counts(), (1, 6));
    f.advance(60);
    f.anon().status().expect("status");
    assert_eq!(f.sim.counts(), (1, 1));
    assert!(f.anon().receipt(&keep.metadata_key).is_ok());
}

// --- hygiene ------------------------------------------------------------------------------

#[test]
fn debug_output_never_shows_values_or_passphrases() {
    let f = fixture();
    let request = ShareRequest {
        options: CreateOptions {
            passphrase: Some(pass("canary-pass")),
            ..CreateOptions::default()
        },
        ..share_req("canary-value")
    };
    let shared = f.anon().share(&request).expect("share");
    let generated = f
        .anon()
        .generate(&GenerateRequest::default())
        .expect("generate");
    let generated_value = generated.value.clone().expect("value");
    let revealed = f
        .anon()
        .retrieve(&secret_key(&shared), Some(&pass("canary-pass")))
        .expect("reveal");
    let printed = format!("{shared:?} {generated:?} {revealed:?} {:?}", f.sim.config());
    assert!(!printed.contains("canary-value"));
    assert!(!printed.contains("canary-pass"));
    assert!(!printed.contains(generated_value.expose()));
}

#[test]
fn fixed_time_eq_compares_whole_strings() {
    assert!(keys::fixed_time_eq(b"abc", b"abc"));
    assert!(!keys::fixed_time_eq(b"abc", b"abd"));
    assert!(!keys::fixed_time_eq(b"abc", b"abc\0"));
    assert!(!keys::fixed_time_eq(b"", b"a"));
    assert!(keys::fixed_time_eq(b"", b""));
}

#[test]
fn email_checks_and_obscuring() {
    for ok in ["alice@example.com", "a.b+c@mail.example.co.uk"] {
        assert!(keys::is_deliverable(ok), "{ok}");
    }
    for bad in [
        "",
        "alice",
        "@example.com",
        "alice@",
        "alice@example",
        "a b@example.com",
        "alice@exa_mple.com",
        "alice@example.c0m",
    ] {
        assert!(!keys::is_deliverable(bad), "{bad}");
    }
    assert_eq!(keys::obscure_email("alice@example.com"), "al***@e***.com");
    assert_eq!(keys::obscure_email("a@mail.example.org"), "a***@m***.org");
}
