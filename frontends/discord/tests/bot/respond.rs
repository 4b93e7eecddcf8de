//! The pure decisions: serenity's `Interaction` in, serenity's response builders out.

use ots_gateway_core::ledger::EntryId;
use ots_gateway_core::model::Frontend;
use ots_gateway_discord::access::Access;
use ots_gateway_discord::command;
use ots_gateway_discord::ids::{CustomId, OnEntry, View};
use ots_gateway_discord::options::{BotOptions, TtlChoices};
use ots_gateway_discord::respond::{Action, Decision, deferral, respond};
use serde_json::Value;

use crate::fixtures::*;

fn open() -> Access {
    Access::default()
}

fn team_only() -> Access {
    Access {
        allowed_guilds: vec![GUILD],
        allowed_roles: vec![ROLE_TEAM],
    }
}

fn decide(access: &Access, value: &Value) -> Decision {
    respond(&interaction(value), access, &BotOptions::default())
}

fn on(entry: &EntryId, view: View) -> OnEntry {
    OnEntry {
        entry: entry.clone(),
        view,
    }
}

/// A deferral that updates the message the component sits on (type 6, then an edit).
fn update_action(decision: Decision) -> Action {
    match decision {
        Decision::DeferUpdate(task) => {
            assert_eq!(task.caller.frontend, Frontend::Discord);
            task.action
        }
        other => panic!("expected a deferred update, got {other:?}"),
    }
}

/// The confirmation that replaces the message a Burn button sits on: its two custom ids.
fn confirmation_ids(decision: Decision) -> Vec<CustomId> {
    let json = reply(decision);
    assert_eq!(json["type"], 7, "updates the message in place: {json}");
    assert!(
        json["data"]["content"]
            .as_str()
            .unwrap()
            .contains("cannot be undone")
    );
    json["data"]["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|button| CustomId::parse(button["custom_id"].as_str().unwrap()).unwrap())
        .collect()
}

fn reply(decision: Decision) -> Value {
    match decision {
        Decision::Reply(response) => serde_json::to_value(&response).unwrap(),
        other => panic!("expected an immediate reply, got {other:?}"),
    }
}

/// An immediate ephemeral message (type 4, flags 64), returning its text.
fn ephemeral_text(decision: Decision) -> String {
    let json = reply(decision);
    assert_eq!(json["type"], 4, "{json}");
    assert_eq!(json["data"]["flags"], 64, "not ephemeral: {json}");
    json["data"]["content"].as_str().unwrap().to_owned()
}

fn deferred_action(decision: Decision) -> Action {
    match decision {
        Decision::Defer(task) => {
            assert_eq!(task.caller.frontend, Frontend::Discord);
            task.action
        }
        other => panic!("expected a deferral, got {other:?}"),
    }
}

#[test]
fn share_answers_with_the_modal_first_carrying_ttl_and_recipient() {
    let value = command_json(
        1,
        ALICE,
        &Place::team(),
        "share",
        &[Opt::Int("ttl", 3600), Opt::User("recipient", BOB)],
    );
    let json = reply(decide(&open(), &value));
    assert_eq!(json["type"], 9, "a modal: {json}");
    let custom_id = json["data"]["custom_id"].as_str().unwrap();
    assert_eq!(
        CustomId::parse(custom_id),
        Some(CustomId::ShareModal {
            ttl_secs: 3600,
            recipient: Some(BOB)
        })
    );
    let inputs: Vec<&Value> = json["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row["components"][0])
        .collect();
    assert_eq!(inputs[0]["custom_id"], "secret");
    assert_eq!(inputs[0]["style"], 2, "paragraph");
    assert_eq!(inputs[0]["max_length"], 4000);
    assert_eq!(inputs[0]["required"], true);
    assert_eq!(inputs[1]["custom_id"], "passphrase");
    assert_eq!(inputs[1]["required"], false);
}

#[test]
fn share_without_options_uses_the_default_lifetime() {
    let value = command_json(2, ALICE, &Place::Dm, "share", &[]);
    let json = reply(decide(&open(), &value));
    let custom_id = json["data"]["custom_id"].as_str().unwrap();
    assert_eq!(
        CustomId::parse(custom_id),
        Some(CustomId::ShareModal {
            ttl_secs: BotOptions::default().ttl_choices.default_secs(),
            recipient: None
        })
    );
}

#[test]
fn commands_that_call_ots_are_deferred_ephemerally_for_the_user_who_asked() {
    let deferral = serde_json::to_value(deferral()).unwrap();
    assert_eq!(deferral["type"], 5);
    assert_eq!(deferral["data"]["flags"], 64);

    let generate = command_json(
        3,
        ALICE,
        &Place::team(),
        "generate",
        &[
            Opt::Int("ttl", 300),
            Opt::Int("length", 20),
            Opt::User("recipient", BOB),
        ],
    );
    match decide(&open(), &generate) {
        Decision::Defer(task) => {
            assert_eq!(task.caller.id, ALICE.to_string());
            match task.action {
                Action::Generate {
                    ttl_secs: 300,
                    length: Some(20),
                    recipient: Some(recipient),
                } => assert_eq!(recipient.get(), BOB),
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    for (seq, sub) in [(4, "status"), (5, "recent"), (6, "burn")] {
        let action = deferred_action(decide(
            &open(),
            &command_json(seq, BOB, &Place::team(), sub, &[]),
        ));
        let expected = matches!(
            (sub, &action),
            ("status", Action::Status) | ("recent", Action::Recent) | ("burn", Action::BurnMenu)
        );
        assert!(expected, "{sub}: {action:?}");
    }
}

#[test]
fn help_is_an_immediate_ephemeral_message() {
    let text = ephemeral_text(decide(
        &open(),
        &command_json(7, ALICE, &Place::Dm, "help", &[]),
    ));
    assert!(text.contains("/ots share"));
    assert!(text.contains("/ots burn"));
}

#[test]
fn invalid_input_is_refused_ephemerally_before_anything_is_sent() {
    let odd_ttl = command_json(8, ALICE, &Place::team(), "share", &[Opt::Int("ttl", 123)]);
    assert!(ephemeral_text(decide(&open(), &odd_ttl)).contains("Invalid ttl"));

    let too_long = command_json(
        9,
        ALICE,
        &Place::team(),
        "generate",
        &[Opt::Int("length", 4096)],
    );
    assert!(ephemeral_text(decide(&open(), &too_long)).contains("Invalid length"));

    let share_modal = CustomId::ShareModal {
        ttl_secs: 300,
        recipient: None,
    }
    .encode();
    let blank = modal_json(
        10,
        ALICE,
        &Place::team(),
        &share_modal,
        &[("secret", "   "), ("passphrase", "")],
    );
    assert!(ephemeral_text(decide(&open(), &blank)).contains("Invalid secret"));

    let forged_ttl = modal_json(
        11,
        ALICE,
        &Place::team(),
        "ots:share:999:0",
        &[("secret", "x")],
    );
    assert!(ephemeral_text(decide(&open(), &forged_ttl)).contains("Invalid ttl"));

    let stale = button_json(12, ALICE, &Place::team(), "ots:burn:not-an-id");
    assert!(ephemeral_text(decide(&open(), &stale)).contains("no longer understood"));

    let empty_pass = modal_json(
        13,
        ALICE,
        &Place::team(),
        &CustomId::BurnPassphraseModal(on(&EntryId::generate(), View::Entry)).encode(),
        &[("passphrase", "")],
    );
    assert!(ephemeral_text(decide(&open(), &empty_pass)).contains("Invalid passphrase"));
}

#[test]
fn the_modal_submit_becomes_a_share_task_with_the_typed_values() {
    let custom_id = CustomId::ShareModal {
        ttl_secs: 86_400,
        recipient: Some(CAROL),
    }
    .encode();
    let value = modal_json(
        14,
        ALICE,
        &Place::team(),
        &custom_id,
        &[("secret", "db-password-1"), ("passphrase", "open sesame")],
    );
    match deferred_action(decide(&open(), &value)) {
        Action::Share {
            secret,
            passphrase,
            ttl_secs,
            recipient,
        } => {
            assert_eq!(secret.expose(), "db-password-1");
            assert_eq!(passphrase.unwrap().expose(), "open sesame");
            assert_eq!(ttl_secs, 86_400);
            assert_eq!(recipient.unwrap().get(), CAROL);
        }
        other => panic!("{other:?}"),
    }
    // The task's Debug (which a log line could print) shows no secret material.
    let printed = format!("{:?}", decide(&open(), &value));
    assert!(!printed.contains("db-password-1") && !printed.contains("open sesame"));
}

#[test]
fn burn_asks_first_and_answers_by_updating_the_message_it_sits_on() {
    let id = EntryId::generate();
    let plain = button_json(
        15,
        ALICE,
        &Place::team(),
        &CustomId::Burn(on(&id, View::Recent)).encode(),
    );
    // The first click only asks; the view rides along so the answer can redraw it.
    assert_eq!(
        confirmation_ids(decide(&open(), &plain)),
        [
            CustomId::BurnConfirm(on(&id, View::Recent)),
            CustomId::BurnCancel(on(&id, View::Recent))
        ]
    );
    let confirm = button_json(
        16,
        ALICE,
        &Place::team(),
        &CustomId::BurnConfirm(on(&id, View::Recent)).encode(),
    );
    match update_action(decide(&open(), &confirm)) {
        Action::Burn {
            target,
            passphrase: None,
        } => assert_eq!(target, on(&id, View::Recent)),
        other => panic!("{other:?}"),
    }
    let cancel = button_json(
        17,
        ALICE,
        &Place::team(),
        &CustomId::BurnCancel(on(&id, View::Entry)).encode(),
    );
    match update_action(decide(&open(), &cancel)) {
        Action::Redraw(target) => assert_eq!(target, on(&id, View::Entry)),
        other => panic!("{other:?}"),
    }

    let protected = button_json(
        18,
        ALICE,
        &Place::team(),
        &CustomId::BurnAskPassphrase(on(&id, View::Status)).encode(),
    );
    let modal = reply(decide(&open(), &protected));
    assert_eq!(modal["type"], 9);
    assert_eq!(
        CustomId::parse(modal["data"]["custom_id"].as_str().unwrap()),
        Some(CustomId::BurnPassphraseModal(on(&id, View::Status)))
    );

    let menu = CustomId::BurnMenu.encode();
    let chose_protected = select_json(19, ALICE, &Place::team(), &menu, &format!("p:{id}"));
    assert_eq!(reply(decide(&open(), &chose_protected))["type"], 9);
    let chose_plain = select_json(20, ALICE, &Place::team(), &menu, &format!("n:{id}"));
    assert_eq!(
        confirmation_ids(decide(&open(), &chose_plain))[0],
        CustomId::BurnConfirm(on(&id, View::Entry))
    );

    let status = select_json(
        21,
        ALICE,
        &Place::team(),
        &CustomId::StatusMenu.encode(),
        id.as_str(),
    );
    match deferred_action(decide(&open(), &status)) {
        Action::StatusOf(entry) => assert_eq!(entry, id),
        other => panic!("{other:?}"),
    }

    let submit = modal_json(
        22,
        ALICE,
        &Place::team(),
        &CustomId::BurnPassphraseModal(on(&id, View::Status)).encode(),
        &[("passphrase", "pw")],
    );
    match update_action(decide(&open(), &submit)) {
        Action::Burn {
            target,
            passphrase: Some(passphrase),
        } => {
            assert_eq!(target, on(&id, View::Status));
            assert_eq!(passphrase.expose(), "pw");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn notify_turns_read_receipts_on_or_off_or_reports_them() {
    let cases = [
        (None, None),
        (Some("off"), Some(false)),
        (Some("on"), Some(true)),
    ];
    for (seq, (given, expected)) in (30..).zip(cases) {
        let options: Vec<Opt> = given.map(|v| Opt::Str("receipts", v)).into_iter().collect();
        let value = command_json(seq, ALICE, &Place::team(), "notify", &options);
        match deferred_action(decide(&open(), &value)) {
            Action::Notify(setting) => assert_eq!(setting, expected),
            other => panic!("{other:?}"),
        }
    }
    let odd = command_json(
        33,
        ALICE,
        &Place::team(),
        "notify",
        &[Opt::Str("receipts", "maybe")],
    );
    assert!(ephemeral_text(decide(&open(), &odd)).contains("Invalid receipts"));
    // Off in config: nothing to switch, said at once.
    let off = BotOptions {
        read_receipts: false,
        ..BotOptions::default()
    };
    let value = command_json(34, ALICE, &Place::team(), "notify", &[]);
    let json = reply(respond(&interaction(&value), &open(), &off));
    assert!(
        json["data"]["content"]
            .as_str()
            .unwrap()
            .contains("turned off on this gateway")
    );
}

#[test]
fn lifetimes_come_from_the_settings() {
    let options = BotOptions {
        ttl_choices: TtlChoices::new(vec![600, 1_800], 1_800).unwrap(),
        ..BotOptions::default()
    };
    let json = serde_json::to_value(command::register(None, &options.ttl_choices)).unwrap();
    let choices = &json["options"][0]["options"][0]["choices"];
    assert_eq!(choices[0]["name"], "10 minutes");
    assert_eq!(choices[1]["value"], 1_800);
    assert_eq!(choices.as_array().unwrap().len(), 2);
    // The default applies when ttl is left out, and a lifetime not offered is refused.
    let share = command_json(35, ALICE, &Place::team(), "share", &[]);
    let modal = reply(respond(&interaction(&share), &open(), &options));
    assert_eq!(
        CustomId::parse(modal["data"]["custom_id"].as_str().unwrap()),
        Some(CustomId::ShareModal {
            ttl_secs: 1_800,
            recipient: None
        })
    );
    let day = command_json(
        36,
        ALICE,
        &Place::team(),
        "share",
        &[Opt::Int("ttl", 86_400)],
    );
    let refused = reply(respond(&interaction(&day), &open(), &options));
    assert!(
        refused["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Invalid ttl")
    );
}

#[test]
fn guild_and_role_allowlists_refuse_every_kind_of_interaction_ephemerally() {
    let elsewhere = Place::Guild {
        guild: OTHER_GUILD,
        roles: vec![ROLE_TEAM],
    };
    let no_role = Place::Guild {
        guild: GUILD,
        roles: vec![ROLE_OTHER],
    };
    let id = EntryId::generate();
    let share_modal = CustomId::ShareModal {
        ttl_secs: 300,
        recipient: None,
    }
    .encode();
    let cases = [
        (
            command_json(21, ALICE, &elsewhere, "share", &[]),
            "not enabled on this server",
        ),
        (
            command_json(22, ALICE, &no_role, "recent", &[]),
            "roles allowed",
        ),
        (
            command_json(23, ALICE, &Place::Dm, "help", &[]),
            "not in direct messages",
        ),
        (
            button_json(
                24,
                ALICE,
                &no_role,
                &CustomId::Burn(on(&id, View::Entry)).encode(),
            ),
            "roles allowed",
        ),
        (
            modal_json(25, ALICE, &elsewhere, &share_modal, &[("secret", "s3cret")]),
            "not enabled on this server",
        ),
    ];
    for (value, expected) in cases {
        let text = ephemeral_text(decide(&team_only(), &value));
        assert!(text.contains(expected), "{text}");
    }
    // The allowed place and role pass.
    assert!(matches!(
        decide(
            &team_only(),
            &command_json(26, ALICE, &Place::team(), "recent", &[])
        ),
        Decision::Defer(_)
    ));
}

#[test]
fn the_registered_command_has_every_subcommand_and_the_configured_permissions() {
    let ttl = TtlChoices::default();
    let json = serde_json::to_value(command::register(Some(8192), &ttl)).unwrap();
    assert_eq!(json["name"], "ots");
    assert_eq!(json["default_member_permissions"], "8192");
    let subs: Vec<&str> = json["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        subs,
        [
            "share", "generate", "status", "recent", "burn", "notify", "help"
        ]
    );
    let share = &json["options"][0];
    let ttl_choices: Vec<i64> = share["options"][0]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_i64().unwrap())
        .collect();
    assert_eq!(ttl_choices, [300, 3600, 86_400, 604_800]);
    assert_eq!(share["options"][1]["type"], 6, "recipient is a user");
    let open = serde_json::to_value(command::register(None, &ttl)).unwrap();
    assert!(open["default_member_permissions"].is_null());
}
