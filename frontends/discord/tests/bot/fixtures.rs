//! JSON in the shape Discord sends, deserialized into serenity's own types, so tests exercise
//! the same parsing the bot does.

use serde_json::{Value, json};
use serenity::all::Interaction;

pub const APP_ID: u64 = 900_000_000_000_000_001;
pub const GUILD: u64 = 400_000_000_000_000_001;
pub const OTHER_GUILD: u64 = 400_000_000_000_000_002;
pub const CHANNEL: u64 = 300_000_000_000_000_001;
pub const ALICE: u64 = 700_000_000_000_000_001;
pub const BOB: u64 = 700_000_000_000_000_002;
pub const CAROL: u64 = 700_000_000_000_000_003;
pub const BOT_USER: u64 = 800_000_000_000_000_001;
pub const ROLE_TEAM: u64 = 500_000_000_000_000_001;
pub const ROLE_OTHER: u64 = 500_000_000_000_000_002;

pub fn user(id: u64) -> Value {
    json!({
        "id": id.to_string(),
        "username": format!("user{id}"),
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
    })
}

/// Where an interaction comes from: a guild with the member's roles, or a DM.
#[derive(Clone)]
pub enum Place {
    Guild { guild: u64, roles: Vec<u64> },
    Dm,
}

impl Place {
    pub fn team() -> Place {
        Place::Guild {
            guild: GUILD,
            roles: vec![ROLE_TEAM],
        }
    }
}

/// Fields every interaction carries; `id` and `token` are made unique from `seq`.
fn base(seq: u64, kind: u8, who: u64, place: &Place, data: Value) -> Value {
    let mut value = json!({
        "id": (100_000_000_000_000_000 + seq).to_string(),
        "application_id": APP_ID.to_string(),
        "type": kind,
        "data": data,
        "channel_id": CHANNEL.to_string(),
        "token": format!("interaction-token-{seq}"),
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": 8_388_608,
        "authorizing_integration_owners": {},
    });
    match place {
        Place::Guild { guild, roles } => {
            value["guild_id"] = json!(guild.to_string());
            value["member"] = json!({
                "user": user(who),
                "roles": roles.iter().map(u64::to_string).collect::<Vec<_>>(),
                "joined_at": "2024-01-01T00:00:00.000000+00:00",
                "deaf": false,
                "mute": false,
                "flags": 0,
                "permissions": "2048",
            });
        }
        Place::Dm => value["user"] = user(who),
    }
    value
}

/// An option value as Discord sends it.
pub enum Opt {
    Int(&'static str, i64),
    User(&'static str, u64),
    Str(&'static str, &'static str),
}

pub fn command_json(seq: u64, who: u64, place: &Place, sub: &str, options: &[Opt]) -> Value {
    let mut resolved_users = serde_json::Map::new();
    let options: Vec<Value> = options
        .iter()
        .map(|option| match option {
            Opt::Int(name, value) => json!({"name": name, "type": 4, "value": value}),
            Opt::Str(name, value) => json!({"name": name, "type": 3, "value": value}),
            Opt::User(name, id) => {
                resolved_users.insert(id.to_string(), user(*id));
                json!({"name": name, "type": 6, "value": id.to_string()})
            }
        })
        .collect();
    let data = json!({
        "id": "600000000000000001",
        "name": "ots",
        "type": 1,
        "options": [{"name": sub, "type": 1, "options": options}],
        "resolved": {"users": resolved_users},
    });
    base(seq, 2, who, place, data)
}

/// A message as Discord describes the one a component sits on (serenity insists on it).
pub fn message_json(id: u64, author: u64, content: &str) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": CHANNEL.to_string(),
        "author": user(author),
        "content": content,
        "timestamp": "2026-11-22T05:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 0,
        "flags": 64,
        "components": [],
    })
}

pub fn button_json(seq: u64, who: u64, place: &Place, custom_id: &str) -> Value {
    let mut value = base(
        seq,
        3,
        who,
        place,
        json!({"custom_id": custom_id, "component_type": 2}),
    );
    value["message"] = message_json(200_000_000_000_000_000 + seq, BOT_USER, "Your secrets");
    value
}

pub fn select_json(seq: u64, who: u64, place: &Place, custom_id: &str, chosen: &str) -> Value {
    let mut value = base(
        seq,
        3,
        who,
        place,
        json!({"custom_id": custom_id, "component_type": 3, "values": [chosen]}),
    );
    value["message"] = message_json(200_000_000_000_000_000 + seq, BOT_USER, "Pick one");
    value
}

pub fn modal_json(
    seq: u64,
    who: u64,
    place: &Place,
    custom_id: &str,
    fields: &[(&str, &str)],
) -> Value {
    let rows: Vec<Value> = fields
        .iter()
        .map(|(id, value)| {
            json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]})
        })
        .collect();
    base(
        seq,
        5,
        who,
        place,
        json!({"custom_id": custom_id, "components": rows}),
    )
}

pub fn interaction(value: &Value) -> Interaction {
    serde_json::from_value(value.clone()).unwrap_or_else(|error| {
        panic!("fixture does not deserialize as serenity's Interaction: {error}\n{value:#}")
    })
}
