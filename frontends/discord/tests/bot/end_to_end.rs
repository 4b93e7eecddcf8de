//! A real serenity `Client`, started through the crate's `run`, against the fake Discord and
//! the simulated OTS: registration, modal, deferred replies, buttons, DMs, refusals, shutdown,
//! and what every byte sent to Discord does and does not contain.

use ots_gateway_core::config::DiscordSettings;
use ots_gateway_core::model::{Caller, Frontend, SecretKey};
use ots_gateway_core::watcher::{ReceiptWatcher, WatcherSettings};
use ots_gateway_discord::ids::{CustomId, OnEntry, View};
use ots_gateway_discord::options::BotOptions;
use ots_gateway_discord::read_receipts;
use ots_gateway_discord::{DiscordError, invite_url, run};
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::oneshot;
use url::Url;

use crate::fake::{DM_CHANNEL, FakeDiscord, REJECTED_TOKEN};
use crate::fixtures::*;
use crate::support::*;

const BOT_TOKEN: &str = "bot-token-for-tests.abc.def";

fn settings(fake: &FakeDiscord, token: &str) -> DiscordSettings {
    DiscordSettings {
        enabled: true,
        api_base: Some(Url::parse(&fake.base).unwrap()),
        token: Some(SecretString::from(token.to_owned())),
        guild_id: Some(GUILD),
        allowed_guilds: vec![GUILD],
        allowed_roles: Vec::new(),
        default_member_permissions: Some(8192),
        ..DiscordSettings::default()
    }
}

/// The raw text plus every string inside it as JSON, unescaped: a generated password may hold
/// characters JSON escapes, and a search of the raw body alone would miss it.
fn decoded(path: &str, body: &str) -> String {
    fn collect(value: &Value, out: &mut String) {
        match value {
            Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
            Value::Object(map) => map.values().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let mut out = format!("{path}\n{body}\n");
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        collect(&value, &mut out);
    }
    out
}

fn token_of(value: &Value) -> String {
    value["token"].as_str().unwrap().to_owned()
}

/// Types 4 and 5 open a new message, which must be ephemeral; a modal (9) has no message, and
/// 6 and 7 act on the (ephemeral) message the component sits on.
fn assert_ephemeral_callback(callback: &Value, kind: u64) {
    assert_eq!(callback["type"], kind, "{callback}");
    if kind == 4 || kind == 5 {
        assert_eq!(callback["data"]["flags"], 64, "not ephemeral: {callback}");
    }
}

#[tokio::test]
async fn a_real_client_serves_share_burn_and_generate_and_leaks_nothing() {
    let fake = FakeDiscord::start().await;
    let test = gateway();
    let (stop, stopped) = oneshot::channel::<()>();
    let bot = tokio::spawn(run(
        test.gateway.clone(),
        settings(&fake, BOT_TOKEN),
        BotOptions::default(),
        async move {
            let _ = stopped.await;
        },
    ));

    // Registration in the configured guild, with the permissions default.
    let registration = fake
        .wait_for(|r| {
            r.method == "POST"
                && r.path == format!("/api/v10/applications/{APP_ID}/guilds/{GUILD}/commands")
        })
        .await
        .json();
    assert_eq!(registration["name"], "ots");
    assert_eq!(registration["default_member_permissions"], "8192");
    assert_eq!(registration["options"].as_array().unwrap().len(), 7);

    // /ots share → the modal is the first answer.
    let share = command_json(
        1,
        ALICE,
        &Place::team(),
        "share",
        &[Opt::User("recipient", BOB)],
    );
    fake.push_interaction(share.clone());
    let modal = fake.callback(&token_of(&share)).await;
    assert_ephemeral_callback(&modal, 9);
    let modal_id = modal["data"]["custom_id"].as_str().unwrap().to_owned();

    // The submit → deferral, then the edited reply with the link and a Burn button.
    let submit = modal_json(
        2,
        ALICE,
        &Place::team(),
        &modal_id,
        &[("secret", "e2e-shared-value"), ("passphrase", "")],
    );
    fake.push_interaction(submit.clone());
    assert_ephemeral_callback(&fake.callback(&token_of(&submit)).await, 5);
    let reply = fake.edit(&token_of(&submit)).await;
    let text = reply["content"].as_str().unwrap().to_owned();
    let link = link_in(&text).expect("a link in the reply");
    let dm = fake
        .wait_for(|r| {
            r.method == "POST" && r.path == format!("/api/v10/channels/{DM_CHANNEL}/messages")
        })
        .await
        .json();
    let opened = fake
        .wait_for(|r| r.method == "POST" && r.path == "/api/v10/users/@me/channels")
        .await
        .json();
    assert_eq!(opened["recipient_id"], BOB.to_string());
    assert!(dm["content"].as_str().unwrap().contains(&link), "{dm}");
    assert_eq!(
        test.reveal(&link, None).await.as_deref(),
        Some("e2e-shared-value")
    );
    assert_eq!(test.reveal(&link, None).await, None, "the link opens once");

    // A second secret, to burn: Bob's click is refused, Alice's burns it.
    let share2 = command_json(3, ALICE, &Place::team(), "share", &[Opt::Int("ttl", 300)]);
    fake.push_interaction(share2.clone());
    let modal2 = fake.callback(&token_of(&share2)).await["data"]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let submit2 = modal_json(
        4,
        ALICE,
        &Place::team(),
        &modal2,
        &[("secret", "e2e-burn-me"), ("passphrase", "e2e-pass-phrase")],
    );
    fake.push_interaction(submit2.clone());
    let reply2 = fake.edit(&token_of(&submit2)).await;
    let link2 = link_in(reply2["content"].as_str().unwrap()).unwrap();
    let burn_button = custom_ids(&reply2).remove(0);
    let CustomId::BurnAskPassphrase(target) = CustomId::parse(&burn_button).unwrap() else {
        panic!("a protected secret's button asks for the passphrase: {burn_button}");
    };

    let bob_click = button_json(
        5,
        BOB,
        &Place::team(),
        &CustomId::BurnConfirm(target.clone()).encode(),
    );
    fake.push_interaction(bob_click.clone());
    assert_ephemeral_callback(&fake.callback(&token_of(&bob_click)).await, 6);
    let refusal = fake.edit(&token_of(&bob_click)).await;
    assert!(
        refusal["content"]
            .as_str()
            .unwrap()
            .contains("not one of your secrets"),
        "{refusal}"
    );

    let alice_click = button_json(6, ALICE, &Place::team(), &burn_button);
    fake.push_interaction(alice_click.clone());
    let ask = fake.callback(&token_of(&alice_click)).await;
    assert_ephemeral_callback(&ask, 9);
    let pass_modal = ask["data"]["custom_id"].as_str().unwrap().to_owned();
    let pass_submit = modal_json(
        7,
        ALICE,
        &Place::team(),
        &pass_modal,
        &[("passphrase", "e2e-pass-phrase")],
    );
    fake.push_interaction(pass_submit.clone());
    assert_ephemeral_callback(&fake.callback(&token_of(&pass_submit)).await, 6);
    let burned = fake.edit(&token_of(&pass_submit)).await;
    assert!(
        burned["content"].as_str().unwrap().contains("Burned"),
        "{burned}"
    );
    assert_eq!(test.reveal(&link2, Some("e2e-pass-phrase")).await, None);

    // Generate: the value goes to its owner's ephemeral reply only.
    let generate = command_json(
        8,
        ALICE,
        &Place::team(),
        "generate",
        &[Opt::Int("length", 32)],
    );
    fake.push_interaction(generate.clone());
    let generated_reply = fake.edit(&token_of(&generate)).await;
    let generated_link = link_in(generated_reply["content"].as_str().unwrap()).unwrap();

    // Outside the allowed guild: an ephemeral refusal, not silence.
    let elsewhere = Place::Guild {
        guild: OTHER_GUILD,
        roles: vec![],
    };
    let stranger = command_json(9, CAROL, &elsewhere, "recent", &[]);
    fake.push_interaction(stranger.clone());
    let refused = fake.callback(&token_of(&stranger)).await;
    assert_ephemeral_callback(&refused, 4);
    assert!(
        refused["data"]["content"]
            .as_str()
            .unwrap()
            .contains("not enabled on this server")
    );

    // The value is read from the owner's reply, so the plain Burn button can still be pressed.
    let generated_value = generated_reply["content"]
        .as_str()
        .unwrap()
        .split("```")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(generated_value.chars().count(), 32);
    let plain_burn = custom_ids(&generated_reply).remove(0);
    assert!(matches!(
        CustomId::parse(&plain_burn),
        Some(CustomId::Burn(OnEntry {
            view: View::Entry,
            ..
        }))
    ));
    // The Burn button asks first, in the same message: the question replaces the reply (and
    // with it the generated value), so no second copy of the buttons is left behind.
    let click = button_json(10, ALICE, &Place::team(), &plain_burn);
    fake.push_interaction(click.clone());
    let question = fake.callback(&token_of(&click)).await;
    assert_ephemeral_callback(&question, 7);
    assert!(!question.to_string().contains(&generated_value));
    let answers = custom_ids(&question["data"]);
    assert_eq!(answers.len(), 2, "{question}");
    let yes = button_json(11, ALICE, &Place::team(), &answers[0]);
    fake.push_interaction(yes.clone());
    assert_ephemeral_callback(&fake.callback(&token_of(&yes)).await, 6);
    let burned = fake.edit(&token_of(&yes)).await;
    let burned_text = burned["content"].as_str().unwrap();
    assert!(burned_text.contains("Burned"), "{burned}");
    assert!(
        burned_text.contains("burned"),
        "the state as it is now: {burned}"
    );
    assert!(
        custom_ids(&burned).is_empty(),
        "no Burn button on a burned secret: {burned}"
    );
    assert_eq!(test.reveal(&generated_link, None).await, None);

    stop.send(()).unwrap();
    bot.await.unwrap().expect("a clean shutdown");

    // Everything Discord received, REST and gateway alike.
    let recorded = fake.recorded();
    for request in &recorded {
        assert!(
            request.status < 400,
            "Discord would have refused: {request:?}"
        );
    }
    let everything: Vec<(String, String)> = recorded
        .iter()
        .map(|r| {
            (
                format!("{} {}", r.method, r.path),
                decoded(&r.path, &r.body),
            )
        })
        .chain(
            fake.gateway_frames()
                .into_iter()
                .map(|f| ("gateway".to_owned(), decoded("", &f))),
        )
        .collect();
    let generate_edit = format!(
        "PATCH /api/v10/webhooks/{APP_ID}/{}/messages/@original",
        token_of(&generate)
    );
    let mut metadata_keys: Vec<String> = test
        .gateway
        .owned_recent(&Caller::new(Frontend::Discord, ALICE.to_string()))
        .await
        .unwrap()
        .into_iter()
        .map(|owned| owned.entry.metadata_key.as_str().to_owned())
        .collect();
    assert_eq!(metadata_keys.len(), 3);
    metadata_keys.retain(|key| !key.is_empty());
    for (what, content) in &everything {
        assert!(
            !content.contains("e2e-shared-value"),
            "shared value sent: {what}"
        );
        assert!(
            !content.contains("e2e-burn-me"),
            "shared value sent: {what}"
        );
        assert!(
            !content.contains("e2e-pass-phrase"),
            "passphrase sent: {what}"
        );
        for key in &metadata_keys {
            assert!(!content.contains(key.as_str()), "metadata key sent: {what}");
        }
        if content.contains(&generated_value) {
            assert_eq!(
                what, &generate_edit,
                "generated value outside its owner's reply"
            );
        }
    }
    assert!(
        everything.iter().any(|(_, c)| c.contains(&generated_value)),
        "the owner did get the generated value"
    );
    // Every message the bot opened in reply to an interaction was ephemeral.
    for request in recorded.iter().filter(|r| r.path.ends_with("/callback")) {
        let kind = request.json()["type"].as_u64().unwrap();
        assert!(
            !matches!(kind, 4 | 5) || request.json()["data"]["flags"] == 64,
            "{request:?}"
        );
    }
}

#[tokio::test]
async fn invite_url_asks_discord_for_the_application_id() {
    let fake = FakeDiscord::start().await;
    let url = invite_url(&settings(&fake, BOT_TOKEN)).await.unwrap();
    assert_eq!(
        url,
        format!(
            "https://discord.com/oauth2/authorize?client_id={APP_ID}&scope=bot+applications.commands&permissions=0"
        )
    );
    assert!(
        fake.recorded()
            .iter()
            .any(|r| r.path == "/api/v10/oauth2/applications/@me")
    );
}

#[tokio::test]
async fn errors_say_what_went_wrong_without_the_token() {
    let fake = FakeDiscord::start().await;
    let rejected = invite_url(&settings(&fake, REJECTED_TOKEN))
        .await
        .unwrap_err();
    assert!(
        matches!(rejected, DiscordError::TokenRejected),
        "{rejected:?}"
    );
    let text = format!("{rejected} {rejected:?}");
    assert!(!text.contains(REJECTED_TOKEN), "{text}");

    let mut no_token = settings(&fake, BOT_TOKEN);
    no_token.token = None;
    let missing = invite_url(&no_token).await.unwrap_err();
    assert!(matches!(missing, DiscordError::MissingToken));

    // The gateway refuses a bad token too; run reports it instead of spinning.
    let test = gateway();
    let outcome = run(
        test.gateway,
        settings(&fake, REJECTED_TOKEN),
        BotOptions::default(),
        std::future::pending(),
    );
    // A generous guard, so a regression (serenity retrying for ever) fails instead of hanging.
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(60), outcome)
        .await
        .expect("run gave up on a rejected token");
    let error = outcome.unwrap_err();
    assert!(!format!("{error} {error:?}").contains(REJECTED_TOKEN));
}

#[tokio::test]
async fn without_a_guild_the_command_is_registered_globally_and_shutdown_is_clean() {
    let fake = FakeDiscord::start().await;
    let test = gateway();
    let mut global = settings(&fake, BOT_TOKEN);
    global.guild_id = None;
    global.default_member_permissions = None;
    let (stop, stopped) = oneshot::channel::<()>();
    let bot = tokio::spawn(run(
        test.gateway,
        global,
        BotOptions::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    let registration = fake
        .wait_for(|r| {
            r.method == "POST" && r.path == format!("/api/v10/applications/{APP_ID}/commands")
        })
        .await
        .json();
    assert_eq!(registration["name"], "ots");
    assert!(registration["default_member_permissions"].is_null());
    // The bot asked for no gateway intents.
    let identify = fake
        .gateway_frames()
        .into_iter()
        .find(|frame| frame.contains("\"op\":2"))
        .unwrap();
    let identify: Value = serde_json::from_str(&identify).unwrap();
    assert_eq!(identify["d"]["intents"], 0);
    assert!(!fake.recorded().iter().any(|r| r.path.contains("/guilds/")));
    stop.send(()).unwrap();
    bot.await.unwrap().expect("a clean shutdown");
}

#[tokio::test]
async fn a_recipient_with_closed_dms_is_reported_to_the_sender_privately() {
    let fake = FakeDiscord::start().await;
    let test = gateway();
    let (stop, stopped) = oneshot::channel::<()>();
    let bot = tokio::spawn(run(
        test.gateway.clone(),
        settings(&fake, BOT_TOKEN),
        BotOptions::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    fake.wait_for(|r| r.method == "POST" && r.path.ends_with("/commands"))
        .await;
    let generate = command_json(
        1,
        ALICE,
        &Place::team(),
        "generate",
        &[Opt::User("recipient", CAROL)],
    );
    fake.push_interaction(generate.clone());
    let reply = fake.edit(&token_of(&generate)).await;
    assert!(link_in(reply["content"].as_str().unwrap()).is_some());
    let follow_up_path = format!("/api/v10/webhooks/{APP_ID}/{}", token_of(&generate));
    let note = fake
        .wait_for(|r| r.method == "POST" && r.path == follow_up_path)
        .await
        .json();
    assert_eq!(note["flags"], 64, "{note}");
    assert!(
        note["content"]
            .as_str()
            .unwrap()
            .contains("could not send the link"),
        "{note}"
    );
    assert!(
        !fake
            .recorded()
            .iter()
            .any(|r| r.path.contains("/channels/") && r.path.ends_with("/messages")),
        "nothing was sent to a channel"
    );
    stop.send(()).unwrap();
    bot.await.unwrap().expect("a clean shutdown");
}

#[tokio::test]
async fn registration_creates_only_ots_and_leaves_other_commands_alone() {
    let fake = FakeDiscord::start().await;
    fake.add_command(&GUILD.to_string(), "deploy");
    fake.add_command(&GUILD.to_string(), "ots");
    fake.add_command("global", "weather");
    let test = gateway();
    let (stop, stopped) = oneshot::channel::<()>();
    let bot = tokio::spawn(run(
        test.gateway,
        settings(&fake, BOT_TOKEN),
        BotOptions::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    fake.wait_for(|r| r.method == "POST" && r.path.ends_with("/commands"))
        .await;
    stop.send(()).unwrap();
    bot.await.unwrap().expect("a clean shutdown");
    assert_eq!(fake.command_names(&GUILD.to_string()), ["deploy", "ots"]);
    assert_eq!(fake.command_names("global"), ["weather"]);
    assert!(
        !fake.recorded().iter().any(|r| r.method == "PUT"),
        "no bulk overwrite"
    );
}

/// A watcher that polls quickly, so the test does not wait; nothing asserts how fast.
fn quick_watcher(test: &TestGateway) -> ReceiptWatcher {
    ReceiptWatcher::new(
        test.gateway.clone(),
        Frontend::Discord,
        WatcherSettings {
            interval: std::time::Duration::from_millis(20),
            batch: 10,
            max_backoff: std::time::Duration::from_millis(200),
        },
    )
}

/// Shares through the modal, as `who`, and returns the link from the reply.
async fn share_through_discord(fake: &FakeDiscord, seq: u64, who: u64, secret: &str) -> String {
    let command = command_json(seq, who, &Place::team(), "share", &[]);
    fake.push_interaction(command.clone());
    let modal = fake.callback(&token_of(&command)).await["data"]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let submit = modal_json(
        seq + 1,
        who,
        &Place::team(),
        &modal,
        &[("secret", secret), ("passphrase", "")],
    );
    fake.push_interaction(submit.clone());
    let reply = fake.edit(&token_of(&submit)).await;
    link_in(reply["content"].as_str().unwrap()).unwrap()
}

/// The recipient opens the link through the gateway's REST frontend, as an OTS client would.
async fn reveal_through_gateway(test: &TestGateway, link: &str) {
    let key = SecretKey::parse(link.rsplit('/').next().unwrap()).unwrap();
    test.gateway
        .retrieve(&Caller::new(Frontend::Rest, "recipient"), &key, None)
        .await
        .unwrap();
}

fn dm_opened_for(request: &crate::fake::Recorded, user: u64) -> bool {
    request.method == "POST"
        && request.path == "/api/v10/users/@me/channels"
        && request.json()["recipient_id"].as_str() == Some(user.to_string().as_str())
}

#[tokio::test]
async fn the_sender_hears_when_the_link_is_opened_unless_they_turned_it_off() {
    let fake = FakeDiscord::start().await;
    let test = gateway();
    let settings = settings(&fake, BOT_TOKEN);
    let (stop, stopped) = oneshot::channel::<()>();
    let bot = tokio::spawn(run(
        test.gateway.clone(),
        settings.clone(),
        BotOptions::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    let (stop_watching, watching) = oneshot::channel::<()>();
    let watcher = tokio::spawn(quick_watcher(&test).run(
        read_receipts(&settings).unwrap(),
        async move {
            let _ = watching.await;
        },
    ));
    fake.wait_for(|r| r.method == "POST" && r.path.ends_with("/commands"))
        .await;

    // Alice shares; the recipient opens it through the gateway; Alice gets a DM saying so.
    let first = share_through_discord(&fake, 1, ALICE, "receipt-canary-1").await;
    reveal_through_gateway(&test, &first).await;
    fake.wait_for(|r| dm_opened_for(r, ALICE)).await;
    let told = fake
        .wait_for(|r| {
            r.method == "POST"
                && r.path == format!("/api/v10/channels/{DM_CHANNEL}/messages")
                && r.body.contains("was opened")
        })
        .await
        .json();
    let told = told["content"].as_str().unwrap();
    assert!(told.contains("/ots notify"), "{told}");

    // Alice turns read receipts off.
    let off = command_json(
        3,
        ALICE,
        &Place::team(),
        "notify",
        &[Opt::Str("receipts", "off")],
    );
    fake.push_interaction(off.clone());
    assert!(
        fake.edit(&token_of(&off)).await["content"]
            .as_str()
            .unwrap()
            .contains("**off**")
    );

    // Her next secret is opened, and then Bob's (who kept them on). Bob hearing about his
    // proves the watcher ran after Alice's was opened; Alice hears nothing more.
    let second = share_through_discord(&fake, 4, ALICE, "receipt-canary-2").await;
    let bobs = share_through_discord(&fake, 6, BOB, "receipt-canary-3").await;
    reveal_through_gateway(&test, &second).await;
    reveal_through_gateway(&test, &bobs).await;
    fake.wait_for_count(|r| dm_opened_for(r, BOB), 1).await;
    // One more of Bob's, so that the round in which Alice would have heard has surely ended.
    let more = share_through_discord(&fake, 8, BOB, "receipt-canary-4").await;
    reveal_through_gateway(&test, &more).await;
    fake.wait_for_count(|r| dm_opened_for(r, BOB), 2).await;
    let alice_dms = fake
        .recorded()
        .iter()
        .filter(|r| dm_opened_for(r, ALICE))
        .count();
    assert_eq!(alice_dms, 1, "nothing after /ots notify receipts:off");

    stop_watching.send(()).unwrap();
    watcher.await.unwrap();
    stop.send(()).unwrap();
    bot.await.unwrap().expect("a clean shutdown");

    // The read receipts carry neither the secrets nor their links.
    for request in fake.recorded() {
        let body = decoded(&request.path, &request.body);
        for secret in [
            "receipt-canary-1",
            "receipt-canary-2",
            "receipt-canary-3",
            "receipt-canary-4",
        ] {
            assert!(!body.contains(secret), "secret sent: {request:?}");
        }
        if request.path.starts_with("/api/v10/channels/") {
            for link in [&first, &second, &bobs, &more] {
                assert!(!body.contains(link.as_str()), "link in a DM: {request:?}");
            }
        }
    }
}

#[tokio::test]
async fn recent_shows_the_owner_their_link_and_its_burn_asks_then_updates_the_listing() {
    use ots_gateway_discord::options::TtlChoices;
    let fake = FakeDiscord::start().await;
    let test = gateway();
    let options = BotOptions {
        ttl_choices: TtlChoices::new(vec![600, 1_800], 1_800).unwrap(),
        ..BotOptions::default()
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let bot = tokio::spawn(run(
        test.gateway.clone(),
        settings(&fake, BOT_TOKEN),
        options,
        async move {
            let _ = stopped.await;
        },
    ));
    // The lifetimes offered are the configured ones.
    let registration = fake
        .wait_for(|r| r.method == "POST" && r.path.ends_with("/commands"))
        .await
        .json();
    let choices: Vec<i64> = registration["options"][0]["options"][0]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|choice| choice["value"].as_i64().unwrap())
        .collect();
    assert_eq!(choices, [600, 1_800]);

    let kept = share_through_discord(&fake, 1, ALICE, "listed-canary-1").await;
    let doomed = share_through_discord(&fake, 3, ALICE, "listed-canary-2").await;

    // `/ots recent` and `/ots status` show Alice both links (Discord drops the first replies
    // when her client reloads), in replies only she sees.
    let recent = command_json(5, ALICE, &Place::team(), "recent", &[]);
    fake.push_interaction(recent.clone());
    assert_ephemeral_callback(&fake.callback(&token_of(&recent)).await, 5);
    let listing = fake.edit(&token_of(&recent)).await;
    let text = listing["content"].as_str().unwrap();
    assert!(text.contains(&kept) && text.contains(&doomed), "{text}");
    assert!(
        text.contains("30 minutes") || text.contains("expires"),
        "{text}"
    );
    let status = command_json(6, ALICE, &Place::team(), "status", &[]);
    fake.push_interaction(status.clone());
    let status_text = fake.edit(&token_of(&status)).await["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(status_text.contains(&kept) && status_text.contains(&doomed));
    // Bob's listing shows neither.
    let bobs = command_json(7, BOB, &Place::team(), "recent", &[]);
    fake.push_interaction(bobs.clone());
    let bobs = fake.edit(&token_of(&bobs)).await;
    assert!(!bobs.to_string().contains(&kept));

    // Burn #1 (the newest, `doomed`): first the question in place, then the listing redrawn.
    let burn = custom_ids(&listing).remove(0);
    let click = button_json(8, ALICE, &Place::team(), &burn);
    fake.push_interaction(click.clone());
    let question = fake.callback(&token_of(&click)).await;
    assert_ephemeral_callback(&question, 7);
    let answers = custom_ids(&question["data"]);
    let yes = button_json(9, ALICE, &Place::team(), &answers[0]);
    fake.push_interaction(yes.clone());
    assert_ephemeral_callback(&fake.callback(&token_of(&yes)).await, 6);
    let redrawn = fake.edit(&token_of(&yes)).await;
    let redrawn_text = redrawn["content"].as_str().unwrap();
    assert!(redrawn_text.starts_with("Burned."), "{redrawn_text}");
    assert!(redrawn_text.contains("burned"), "{redrawn_text}");
    assert!(
        redrawn_text.contains(&kept),
        "the other link is still listed"
    );
    assert!(!redrawn_text.contains(&doomed), "a burned link is not");
    assert_eq!(
        custom_ids(&redrawn).len(),
        1,
        "only the live secret keeps a button"
    );
    assert_eq!(test.reveal(&doomed, None).await, None);
    assert_eq!(
        test.reveal(&kept, None).await.as_deref(),
        Some("listed-canary-1")
    );

    stop.send(()).unwrap();
    bot.await.unwrap().expect("a clean shutdown");
    // The secrets never went to Discord; the links went only into Alice's own replies.
    for request in fake.recorded() {
        let body = decoded(&request.path, &request.body);
        assert!(!body.contains("listed-canary"), "secret sent: {request:?}");
        if body.contains(&kept) {
            assert!(
                request.path.starts_with("/api/v10/webhooks/")
                    && !request.path.contains("interaction-token-7"),
                "link outside Alice's replies: {request:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_discord_section_of_the_config_sets_quotas_and_allowed_operations() {
    use ots_gateway_core::config::{CommandLineOverrides, MapEnvironment, load};
    let fake = FakeDiscord::start().await;
    let toml = format!(
        r#"
[discord]
enabled = true
api_base = "{}"
# Ids as Discord's "Copy ID" gives them: TOML integers.
guild_id = {GUILD}
allowed_guilds = [{GUILD}]
allowed_operations = ["generate", "receipt", "recent", "share", "status"]
quota_create = {{ per_minute = 1, burst = 1 }}
"#,
        fake.base
    );
    let mut env = MapEnvironment::default();
    env.vars
        .insert("OTS_GATEWAY_DISCORD_TOKEN".to_owned(), BOT_TOKEN.to_owned());
    let config = load(
        Some(("ots-gateway.toml", &toml)),
        &env,
        &CommandLineOverrides::default(),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let test = gateway_from_config(&config);
    let (stop, stopped) = oneshot::channel::<()>();
    let bot = tokio::spawn(run(
        test.gateway.clone(),
        config.discord.clone(),
        BotOptions::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    fake.wait_for(|r| r.method == "POST" && r.path.ends_with("/commands"))
        .await;

    // The first share goes through and gets its Burn button; burning is turned off.
    let command = command_json(1, ALICE, &Place::team(), "share", &[]);
    fake.push_interaction(command.clone());
    let modal = fake.callback(&token_of(&command)).await["data"]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let submit = modal_json(
        2,
        ALICE,
        &Place::team(),
        &modal,
        &[("secret", "quota-canary-1")],
    );
    fake.push_interaction(submit.clone());
    let reply = fake.edit(&token_of(&submit)).await;
    let link = link_in(reply["content"].as_str().unwrap()).unwrap();
    let Some(CustomId::Burn(target)) = CustomId::parse(&custom_ids(&reply)[0]) else {
        panic!("{reply}")
    };
    let burn = button_json(
        3,
        ALICE,
        &Place::team(),
        &CustomId::BurnConfirm(target).encode(),
    );
    fake.push_interaction(burn.clone());
    let refused = fake.edit(&token_of(&burn)).await;
    assert!(
        refused["content"]
            .as_str()
            .unwrap()
            .contains("turned off for Discord"),
        "{refused}"
    );
    assert_eq!(
        test.reveal(&link, None).await.as_deref(),
        Some("quota-canary-1")
    );

    // The second create within the minute is refused with when to try again.
    let again = command_json(4, ALICE, &Place::team(), "generate", &[]);
    fake.push_interaction(again.clone());
    let quota = fake.edit(&token_of(&again)).await;
    let quota = quota["content"].as_str().unwrap();
    assert!(
        quota.contains("Try again in ") && quota.contains(" s."),
        "{quota}"
    );

    stop.send(()).unwrap();
    bot.await.unwrap().expect("a clean shutdown");
}
