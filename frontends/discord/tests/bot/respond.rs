//! The pure decisions: serenity's `Interaction` in, serenity's response builders out.

use ots_gateway_core::ledger::EntryId;
use ots_gateway_core::model::Frontend;
use ots_gateway_discord::access::Access;
use ots_gateway_discord::command;
use ots_gateway_discord::ids::CustomId;
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
    respond(&interaction(value), access)
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
            ttl_secs: command::DEFAULT_TTL_SECS,
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
        &CustomId::BurnPassphraseModal(EntryId::generate()).encode(),
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
fn buttons_and_menus_name_entries_and_ask_for_a_passphrase_when_one_is_needed() {
    let id = EntryId::generate();
    let plain = button_json(
        15,
        ALICE,
        &Place::team(),
        &CustomId::Burn(id.clone()).encode(),
    );
    match deferred_action(decide(&open(), &plain)) {
        Action::Burn {
            entry,
            passphrase: None,
        } => assert_eq!(entry, id),
        other => panic!("{other:?}"),
    }

    let protected = button_json(
        16,
        ALICE,
        &Place::team(),
        &CustomId::BurnAskPassphrase(id.clone()).encode(),
    );
    let modal = reply(decide(&open(), &protected));
    assert_eq!(modal["type"], 9);
    assert_eq!(
        CustomId::parse(modal["data"]["custom_id"].as_str().unwrap()),
        Some(CustomId::BurnPassphraseModal(id.clone()))
    );

    let menu = CustomId::BurnMenu.encode();
    let chose_protected = select_json(17, ALICE, &Place::team(), &menu, &format!("p:{id}"));
    assert_eq!(reply(decide(&open(), &chose_protected))["type"], 9);
    let chose_plain = select_json(18, ALICE, &Place::team(), &menu, &format!("n:{id}"));
    assert!(matches!(
        deferred_action(decide(&open(), &chose_plain)),
        Action::Burn { .. }
    ));

    let status = select_json(
        19,
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
        20,
        ALICE,
        &Place::team(),
        &CustomId::BurnPassphraseModal(id.clone()).encode(),
        &[("passphrase", "pw")],
    );
    match deferred_action(decide(&open(), &submit)) {
        Action::Burn {
            entry,
            passphrase: Some(passphrase),
        } => {
            assert_eq!(entry, id);
            assert_eq!(passphrase.expose(), "pw");
        }
        other => panic!("{other:?}"),
    }
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
            button_json(24, ALICE, &no_role, &CustomId::Burn(id.clone()).encode()),
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
    let json = serde_json::to_value(command::register(Some(8192))).unwrap();
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
        ["share", "generate", "status", "recent", "burn", "help"]
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
    let open = serde_json::to_value(command::register(None)).unwrap();
    assert!(open["default_member_permissions"].is_null());
}
