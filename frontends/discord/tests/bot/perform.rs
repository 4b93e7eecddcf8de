//! Deferred tasks against the core with a simulated upstream: the replies, DMs and refusals a
//! user would see, still without any network.

use ots_gateway_core::Gateway;
use ots_gateway_core::model::{Caller, Frontend};
use ots_gateway_discord::access::Access;
use ots_gateway_discord::ids::{CustomId, OnEntry, View};
use ots_gateway_discord::options::BotOptions;
use ots_gateway_discord::perform::{Completion, perform};
use ots_gateway_discord::respond::{Decision, respond};
use serde_json::Value;

use crate::fixtures::*;
use crate::support::*;

/// Decides and, for a deferral, performs: what the user ends up seeing.
async fn complete(gateway: &Gateway, value: &Value) -> Completion {
    match respond(
        &interaction(value),
        &Access::default(),
        &BotOptions::default(),
    ) {
        Decision::Defer(task) | Decision::DeferUpdate(task) => perform(gateway, task).await,
        other => panic!("expected a deferral, got {other:?}"),
    }
}

/// The "Yes, burn it" that the confirmation behind a Burn button offers.
fn confirmed(burn_button: &str) -> String {
    let Some(CustomId::Burn(target)) = CustomId::parse(burn_button) else {
        panic!("not a plain Burn button: {burn_button}")
    };
    CustomId::BurnConfirm(target).encode()
}

fn json_of(completion: &Completion) -> Value {
    serde_json::to_value(&completion.reply).unwrap()
}

fn content(completion: &Completion) -> String {
    json_of(completion)["content"].as_str().unwrap().to_owned()
}

fn share_submit(
    seq: u64,
    who: u64,
    recipient: Option<u64>,
    secret: &str,
    passphrase: &str,
) -> Value {
    let custom_id = CustomId::ShareModal {
        ttl_secs: 3600,
        recipient,
    }
    .encode();
    modal_json(
        seq,
        who,
        &Place::team(),
        &custom_id,
        &[("secret", secret), ("passphrase", passphrase)],
    )
}

fn discord_caller(user: u64) -> Caller {
    Caller::new(Frontend::Discord, user.to_string())
}

async fn metadata_keys(gateway: &Gateway, user: u64) -> Vec<String> {
    gateway
        .owned_recent(&discord_caller(user))
        .await
        .unwrap()
        .into_iter()
        .map(|owned| owned.entry.metadata_key.as_str().to_owned())
        .collect()
}

#[tokio::test]
async fn a_shared_secret_gets_a_link_that_opens_once_and_a_burn_button() {
    let test = gateway();
    let done = complete(
        &test.gateway,
        &share_submit(1, ALICE, None, "s3cret-value", ""),
    )
    .await;
    let json = json_of(&done);
    let text = content(&done);
    let link = link_in(&text).expect("a share link");
    assert!(
        text.contains("expires <t:") && text.contains("(1 hour)"),
        "{text}"
    );
    assert!(
        !json.to_string().contains("s3cret-value"),
        "the value is never echoed"
    );
    let ids = custom_ids(&json);
    assert_eq!(ids.len(), 1);
    assert!(matches!(CustomId::parse(&ids[0]), Some(CustomId::Burn(_))));
    for key in metadata_keys(&test.gateway, ALICE).await {
        assert!(!json.to_string().contains(&key), "metadata key shown");
    }
    assert!(done.direct_message.is_none());
    assert_eq!(
        test.reveal(&link, None).await.as_deref(),
        Some("s3cret-value")
    );
    assert_eq!(test.reveal(&link, None).await, None, "only once");
}

#[tokio::test]
async fn the_recipient_gets_the_link_by_dm_and_never_the_value() {
    let test = gateway();
    let done = complete(
        &test.gateway,
        &share_submit(2, ALICE, Some(BOB), "for-bob-only", "pass-phrase-1"),
    )
    .await;
    let text = content(&done);
    assert!(!text.contains("pass-phrase-1"));
    assert!(text.contains(&format!("<@{BOB}>")));
    let dm = done.direct_message.expect("a DM for the recipient");
    assert_eq!(dm.to.get(), BOB);
    let dm = serde_json::to_value(&dm.message).unwrap().to_string();
    let link = link_in(&text).unwrap();
    assert!(dm.contains(&link));
    assert!(!dm.contains("for-bob-only") && !dm.contains("pass-phrase-1"));
    assert_eq!(
        test.reveal(&link, None).await,
        None,
        "the passphrase is needed"
    );
    assert_eq!(
        test.reveal(&link, Some("pass-phrase-1")).await.as_deref(),
        Some("for-bob-only")
    );
}

#[tokio::test]
async fn a_generated_password_is_shown_only_in_the_owners_reply() {
    let test = gateway();
    let value = command_json(
        3,
        ALICE,
        &Place::team(),
        "generate",
        &[Opt::Int("length", 24), Opt::User("recipient", BOB)],
    );
    let done = complete(&test.gateway, &value).await;
    let text = content(&done);
    let link = link_in(&text).unwrap();
    let dm = serde_json::to_value(&done.direct_message.as_ref().unwrap().message).unwrap();
    let dm = dm["content"].as_str().unwrap().to_owned();
    let revealed = test.reveal(&link, None).await.unwrap();
    assert_eq!(revealed.chars().count(), 24);
    assert!(text.contains(&revealed), "the owner sees the value");
    assert!(
        !format!("{done:?}").contains(&revealed),
        "Debug never prints it"
    );
    assert!(!dm.contains(&revealed), "the recipient gets the link only");
    assert!(dm.contains(&link));
}

#[tokio::test]
async fn recent_lists_own_secrets_with_burn_buttons_that_burn() {
    let test = gateway();
    complete(&test.gateway, &share_submit(4, ALICE, None, "first", "")).await;
    let second = complete(&test.gateway, &share_submit(5, ALICE, None, "second", "")).await;
    complete(&test.gateway, &share_submit(6, BOB, None, "bobs", "")).await;
    let second_link = link_in(&content(&second)).unwrap();

    let recent = complete(
        &test.gateway,
        &command_json(7, ALICE, &Place::team(), "recent", &[]),
    )
    .await;
    let json = json_of(&recent);
    let text = content(&recent);
    assert!(
        text.contains("#1") && text.contains("#2") && !text.contains("#3"),
        "{text}"
    );
    let buttons = custom_ids(&json);
    assert_eq!(buttons.len(), 2);
    for key in metadata_keys(&test.gateway, ALICE).await {
        assert!(!json.to_string().contains(&key));
    }
    // Newest first: #1 is the second secret.
    let burned = complete(
        &test.gateway,
        &button_json(8, ALICE, &Place::team(), &confirmed(&buttons[0])),
    )
    .await;
    assert!(content(&burned).contains("Burned"));
    assert_eq!(test.reveal(&second_link, None).await, None);

    let after = complete(
        &test.gateway,
        &command_json(9, ALICE, &Place::team(), "recent", &[]),
    )
    .await;
    assert!(content(&after).contains("burned"));
    assert_eq!(
        custom_ids(&json_of(&after)).len(),
        1,
        "no button for a burned secret"
    );
}

#[tokio::test]
async fn burning_someone_elses_secret_is_refused_and_leaves_it_alone() {
    let test = gateway();
    let shared = complete(&test.gateway, &share_submit(10, ALICE, None, "alices", "")).await;
    let link = link_in(&content(&shared)).unwrap();
    let button = custom_ids(&json_of(&shared)).remove(0);

    let refused = complete(
        &test.gateway,
        &button_json(11, BOB, &Place::team(), &confirmed(&button)),
    )
    .await;
    assert!(
        content(&refused).contains("not one of your secrets"),
        "{}",
        content(&refused)
    );
    assert!(
        custom_ids(&json_of(&refused)).is_empty(),
        "no buttons for someone else's secret"
    );

    let Some(CustomId::Burn(OnEntry { entry, .. })) = CustomId::parse(&button) else {
        panic!()
    };
    let status = select_json(
        12,
        BOB,
        &Place::team(),
        &CustomId::StatusMenu.encode(),
        entry.as_str(),
    );
    assert!(content(&complete(&test.gateway, &status).await).contains("not one of your secrets"));

    assert_eq!(test.reveal(&link, None).await.as_deref(), Some("alices"));
}

#[tokio::test]
async fn the_burn_menu_offers_live_secrets_and_asks_for_a_passphrase_where_needed() {
    let test = gateway();
    complete(&test.gateway, &share_submit(13, ALICE, None, "open", "")).await;
    let locked = complete(
        &test.gateway,
        &share_submit(14, ALICE, None, "locked", "pw-123"),
    )
    .await;
    let locked_link = link_in(&content(&locked)).unwrap();
    // The locked secret's own Burn button asks for the passphrase.
    let button = custom_ids(&json_of(&locked)).remove(0);
    assert!(matches!(
        CustomId::parse(&button),
        Some(CustomId::BurnAskPassphrase(_))
    ));

    let menu = complete(
        &test.gateway,
        &command_json(15, ALICE, &Place::team(), "burn", &[]),
    )
    .await;
    let values = menu_values(&json_of(&menu));
    assert_eq!(values.len(), 2);
    assert!(
        values[0].starts_with("p:") && values[1].starts_with("n:"),
        "{values:?}"
    );

    let entry = values[0].trim_start_matches("p:");
    let entry = ots_gateway_core::ledger::EntryId::parse(entry).unwrap();
    let modal = CustomId::BurnPassphraseModal(OnEntry {
        entry,
        view: View::Entry,
    })
    .encode();
    let wrong = modal_json(16, ALICE, &Place::team(), &modal, &[("passphrase", "nope")]);
    let wrong = content(&complete(&test.gateway, &wrong).await);
    assert!(wrong.contains("passphrase does not match"), "{wrong}");
    let right = modal_json(
        17,
        ALICE,
        &Place::team(),
        &modal,
        &[("passphrase", "pw-123")],
    );
    assert!(content(&complete(&test.gateway, &right).await).contains("Burned"));
    assert_eq!(test.reveal(&locked_link, Some("pw-123")).await, None);
}

#[tokio::test]
async fn status_reports_ots_health_and_each_secrets_state() {
    let test = gateway();
    let shared = complete(&test.gateway, &share_submit(18, ALICE, None, "to-open", "")).await;
    let link = link_in(&content(&shared)).unwrap();
    test.reveal(&link, None).await.unwrap();

    let status = complete(
        &test.gateway,
        &command_json(19, ALICE, &Place::team(), "status", &[]),
    )
    .await;
    let text = content(&status);
    assert!(text.contains("is up"), "{text}");
    assert!(text.contains("opened"), "{text}");
    let values = menu_values(&json_of(&status));
    assert_eq!(values.len(), 1);

    let one = select_json(
        20,
        ALICE,
        &Place::team(),
        &CustomId::StatusMenu.encode(),
        &values[0],
    );
    let one = complete(&test.gateway, &one).await;
    assert!(content(&one).contains("opened"));
    assert!(
        custom_ids(&json_of(&one)).is_empty(),
        "nothing left to burn"
    );

    let empty = complete(
        &test.gateway,
        &command_json(21, CAROL, &Place::team(), "status", &[]),
    )
    .await;
    assert!(content(&empty).contains("no secrets yet"));
}

#[tokio::test]
async fn a_spent_quota_says_when_to_try_again() {
    let test = gateway_with_create_quota_of_one();
    let first = complete(&test.gateway, &share_submit(22, ALICE, None, "one", "")).await;
    assert!(link_in(&content(&first)).is_some());
    let second = complete(&test.gateway, &share_submit(23, ALICE, None, "two", "")).await;
    let text = content(&second);
    assert!(
        text.contains("Try again in ") && text.contains(" s."),
        "{text}"
    );
    assert!(!text.contains("two"));
    // Another user has their own quota.
    let bob = complete(&test.gateway, &share_submit(24, BOB, None, "three", "")).await;
    assert!(link_in(&content(&bob)).is_some());
}

#[tokio::test]
async fn an_unreachable_ots_gets_a_clear_message_not_a_silent_failure() {
    let gateway = gateway_with_upstream_down();
    let shared = complete(&gateway, &share_submit(25, ALICE, None, "lost?", "")).await;
    let text = content(&shared);
    assert!(text.contains("OTS is not available"), "{text}");
    assert!(!text.contains("127.0.0.1"), "no upstream URL: {text}");
    let status = complete(
        &gateway,
        &command_json(26, ALICE, &Place::team(), "status", &[]),
    )
    .await;
    assert!(
        content(&status).contains("not answering"),
        "{}",
        content(&status)
    );
}

#[tokio::test]
async fn an_operation_turned_off_in_the_config_is_refused_with_a_reason() {
    let test = gateway_without_burn();
    let shared = complete(&test.gateway, &share_submit(27, ALICE, None, "kept", "")).await;
    let link = link_in(&content(&shared)).unwrap();
    let button = custom_ids(&json_of(&shared)).remove(0);
    let refused = complete(
        &test.gateway,
        &button_json(28, ALICE, &Place::team(), &confirmed(&button)),
    )
    .await;
    assert!(
        content(&refused).contains("turned off"),
        "{}",
        content(&refused)
    );
    assert_eq!(test.reveal(&link, None).await.as_deref(), Some("kept"));
}

#[tokio::test]
async fn recent_and_status_show_the_owner_the_link_of_each_unopened_secret() {
    let test = gateway();
    let opened = complete(&test.gateway, &share_submit(40, ALICE, None, "read-me", "")).await;
    let opened_link = link_in(&content(&opened)).unwrap();
    test.reveal(&opened_link, None).await.unwrap();
    let waiting = complete(&test.gateway, &share_submit(41, ALICE, None, "wait", "")).await;
    let waiting_link = link_in(&content(&waiting)).unwrap();

    for (seq, sub) in [(42, "recent"), (43, "status")] {
        let listed = complete(
            &test.gateway,
            &command_json(seq, ALICE, &Place::team(), sub, &[]),
        )
        .await;
        let text = content(&listed);
        assert!(text.contains(&waiting_link), "{sub}: {text}");
        assert!(
            !text.contains(&opened_link),
            "{sub}: a spent link is not shown: {text}"
        );
        assert!(
            !text.contains("read-me") && !text.contains("wait\n"),
            "{text}"
        );
        for key in metadata_keys(&test.gateway, ALICE).await {
            assert!(!text.contains(&key), "metadata key shown");
        }
    }
    // Nobody else's listing shows them.
    let bobs = complete(
        &test.gateway,
        &command_json(44, BOB, &Place::team(), "recent", &[]),
    )
    .await;
    assert!(!content(&bobs).contains(&waiting_link));
}

#[tokio::test]
async fn a_confirmed_burn_redraws_the_listing_it_was_pressed_in() {
    let test = gateway();
    complete(&test.gateway, &share_submit(45, ALICE, None, "keep", "")).await;
    let doomed = complete(&test.gateway, &share_submit(46, ALICE, None, "doomed", "")).await;
    let doomed_link = link_in(&content(&doomed)).unwrap();
    let recent = complete(
        &test.gateway,
        &command_json(47, ALICE, &Place::team(), "recent", &[]),
    )
    .await;
    let buttons = custom_ids(&json_of(&recent));
    assert_eq!(buttons.len(), 2);
    // Newest first: #1 is the doomed one.
    let first = buttons[0].clone();
    assert!(matches!(
        CustomId::parse(&first),
        Some(CustomId::Burn(OnEntry {
            view: View::Recent,
            ..
        }))
    ));

    // "Keep it" redraws the listing unchanged.
    let Some(CustomId::Burn(target)) = CustomId::parse(&first) else {
        panic!()
    };
    let kept = complete(
        &test.gateway,
        &button_json(
            48,
            ALICE,
            &Place::team(),
            &CustomId::BurnCancel(target).encode(),
        ),
    )
    .await;
    assert_eq!(custom_ids(&json_of(&kept)).len(), 2);
    assert!(content(&kept).contains(&doomed_link));

    let burned = complete(
        &test.gateway,
        &button_json(49, ALICE, &Place::team(), &confirmed(&first)),
    )
    .await;
    let text = content(&burned);
    assert!(text.starts_with("Burned."), "{text}");
    assert!(
        text.contains("burned"),
        "the listing shows the new state: {text}"
    );
    assert!(!text.contains(&doomed_link), "{text}");
    let left = custom_ids(&json_of(&burned));
    assert_eq!(left.len(), 1, "no Burn button for what is already burned");
    assert_ne!(left[0], first);
    assert_eq!(test.reveal(&doomed_link, None).await, None);
}

#[tokio::test]
async fn notify_remembers_each_users_choice() {
    let test = gateway();
    let ask = |seq, receipts: Option<&'static str>| {
        let options: Vec<Opt> = receipts
            .map(|v| Opt::Str("receipts", v))
            .into_iter()
            .collect();
        command_json(seq, ALICE, &Place::team(), "notify", &options)
    };
    assert!(content(&complete(&test.gateway, &ask(50, None)).await).contains("**on**"));
    assert!(content(&complete(&test.gateway, &ask(51, Some("off"))).await).contains("**off**"));
    assert!(content(&complete(&test.gateway, &ask(52, None)).await).contains("**off**"));
    let bobs = command_json(53, BOB, &Place::team(), "notify", &[]);
    assert!(content(&complete(&test.gateway, &bobs).await).contains("**on**"));
    assert!(content(&complete(&test.gateway, &ask(54, Some("on"))).await).contains("**on**"));
}
