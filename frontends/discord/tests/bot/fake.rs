//! An in-process fake of Discord: the REST routes the bot uses and a gateway websocket, enough
//! for a real serenity `Client` to connect, register, receive interactions and answer them.
//!
//! It records every request it receives, so tests can assert on everything the bot sent, and it
//! keeps Discord's ordering rules that matter here: one callback per interaction (a second gets
//! 400 / 40060) and no edit of `@original` before the callback (404).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};

use crate::fixtures::{APP_ID, BOT_USER, GUILD, message_json, user};

pub const DM_CHANNEL: u64 = 310_000_000_000_000_001;
/// The token the fake answers 401 to, standing for a reset token.
pub const REJECTED_TOKEN: &str = "rejected.token.value";

const HANG_GUARD: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub body: String,
    pub status: u16,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Clone)]
struct Shared {
    ws_url: String,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    /// Bumped on every recorded request, so a test can wait for one without polling.
    changes: watch::Sender<usize>,
    events: broadcast::Sender<Value>,
    /// Interaction tokens that already got their callback.
    answered: Arc<Mutex<HashSet<String>>>,
    /// Every frame the bot sent over the gateway websocket, as text.
    frames: Arc<Mutex<Vec<String>>>,
    /// The application's commands per scope ("global" or a guild id), as Discord keeps them:
    /// a bulk PUT replaces a scope's list, a POST creates or (same name) replaces one command.
    commands: Arc<Mutex<BTreeMap<String, Vec<Value>>>>,
}

pub struct FakeDiscord {
    pub base: String,
    shared: Shared,
    _server: tokio::task::JoinHandle<()>,
}

impl FakeDiscord {
    pub async fn start() -> FakeDiscord {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (events, _) = broadcast::channel(64);
        let shared = Shared {
            ws_url: format!("ws://{addr}/gw"),
            recorded: Arc::default(),
            changes: watch::channel(0).0,
            events,
            answered: Arc::default(),
            frames: Arc::default(),
            commands: Arc::default(),
        };
        let app = Router::new()
            .route("/gw", get(gateway))
            .fallback(rest)
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeDiscord {
            base: format!("http://{addr}"),
            shared,
            _server: server,
        }
    }

    /// Sends an `INTERACTION_CREATE` dispatch to every connected shard.
    pub fn push_interaction(&self, interaction: Value) {
        self.shared.events.send(interaction).unwrap();
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.shared.recorded.lock().unwrap().clone()
    }

    /// Registers a command as if another tool sharing the application had made it.
    pub fn add_command(&self, scope: &str, name: &str) {
        self.shared
            .commands
            .lock()
            .unwrap()
            .entry(scope.to_owned())
            .or_default()
            .push(json!({"name": name, "description": "someone else's command"}));
    }

    /// The names of the commands registered in `scope` ("global" or a guild id).
    pub fn command_names(&self, scope: &str) -> Vec<String> {
        let commands = self.shared.commands.lock().unwrap();
        let mut names: Vec<String> = commands
            .get(scope)
            .into_iter()
            .flatten()
            .filter_map(|command| command["name"].as_str().map(str::to_owned))
            .collect();
        names.sort();
        names
    }

    pub fn gateway_frames(&self) -> Vec<String> {
        self.shared.frames.lock().unwrap().clone()
    }

    /// Waits until a request matching `wanted` has been received, and returns it. The wait is
    /// driven by the fake's own notifications; the generous limit only turns a bot that never
    /// answers into a failure instead of a hung test run.
    pub async fn wait_for(&self, wanted: impl Fn(&Recorded) -> bool) -> Recorded {
        let mut changes = self.shared.changes.subscribe();
        let arrival = async {
            loop {
                changes.borrow_and_update();
                if let Some(found) = self.recorded().into_iter().find(|r| wanted(r)) {
                    return found;
                }
                changes.changed().await.unwrap();
            }
        };
        match tokio::time::timeout(HANG_GUARD, arrival).await {
            Ok(found) => found,
            Err(_) => panic!(
                "the bot never sent the expected request; it sent: {:#?}",
                self.recorded()
            ),
        }
    }

    /// Waits until `count` requests matching `wanted` have been received.
    pub async fn wait_for_count(&self, wanted: impl Fn(&Recorded) -> bool, count: usize) {
        let mut changes = self.shared.changes.subscribe();
        let arrival = async {
            loop {
                changes.borrow_and_update();
                if self.recorded().iter().filter(|r| wanted(r)).count() >= count {
                    return;
                }
                changes.changed().await.unwrap();
            }
        };
        if tokio::time::timeout(HANG_GUARD, arrival).await.is_err() {
            panic!(
                "the bot never sent the {count} expected requests; it sent: {:#?}",
                self.recorded()
            );
        }
    }

    /// The callback (first answer) to the interaction with this token.
    pub async fn callback(&self, token: &str) -> Value {
        let suffix = format!("/{token}/callback");
        self.wait_for(|r| r.method == "POST" && r.path.ends_with(&suffix))
            .await
            .json()
    }

    /// The edit of the deferred reply to the interaction with this token.
    pub async fn edit(&self, token: &str) -> Value {
        let path = format!("/api/v10/webhooks/{APP_ID}/{token}/messages/@original");
        self.wait_for(|r| r.method == "PATCH" && r.path == path)
            .await
            .json()
    }
}

async fn gateway(ws: WebSocketUpgrade, State(shared): State<Shared>) -> Response {
    ws.on_upgrade(move |socket| session(socket, shared))
}

fn text(value: Value) -> Message {
    Message::Text(value.to_string().into())
}

async fn session(mut socket: WebSocket, shared: Shared) {
    let mut events = shared.events.subscribe();
    let hello = json!({"op": 10, "d": {"heartbeat_interval": 41_250}});
    if socket.send(text(hello)).await.is_err() {
        return;
    }
    let mut seq = 1u64;
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(Message::Text(frame))) = incoming else {
                    match incoming {
                        Some(Ok(_)) => continue,
                        _ => return,
                    }
                };
                shared.frames.lock().unwrap().push(frame.to_string());
                let frame: Value = serde_json::from_str(&frame).unwrap_or(Value::Null);
                let reply = match frame["op"].as_u64() {
                    Some(2) => ready(&shared),
                    Some(1) => json!({"op": 11}),
                    _ => continue,
                };
                if socket.send(text(reply)).await.is_err() {
                    return;
                }
            }
            event = events.recv() => {
                let Ok(event) = event else { return };
                seq += 1;
                let dispatch = json!({"op": 0, "t": "INTERACTION_CREATE", "s": seq, "d": event});
                if socket.send(text(dispatch)).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn bot_user() -> Value {
    let mut bot = user(BOT_USER);
    bot["bot"] = json!(true);
    bot
}

fn ready(shared: &Shared) -> Value {
    json!({
        "op": 0,
        "t": "READY",
        "s": 1,
        "d": {
            "v": 10,
            "user": bot_user(),
            "guilds": [{"id": GUILD.to_string(), "unavailable": true}],
            "session_id": "fake-session",
            "resume_gateway_url": shared.ws_url,
            "shard": [0, 1],
            "application": {"id": APP_ID.to_string(), "flags": 0},
        }
    })
}

fn json_response(status: StatusCode, body: Value) -> (StatusCode, String) {
    (status, body.to_string())
}

/// Every REST call lands here, is recorded, and gets what Discord would answer.
async fn rest(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (status, reply) = answer(&shared, &method, &path, auth, &body);
    let recorded = Recorded {
        method: method.to_string(),
        path,
        body: String::from_utf8_lossy(&body).into_owned(),
        status: status.as_u16(),
    };
    shared.recorded.lock().unwrap().push(recorded);
    shared.changes.send_modify(|count| *count += 1);
    let mut response = (status, reply).into_response();
    response.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}

fn answer(
    shared: &Shared,
    method: &Method,
    path: &str,
    auth: &str,
    body: &[u8],
) -> (StatusCode, String) {
    if auth == format!("Bot {REJECTED_TOKEN}") {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"message": "401: Unauthorized", "code": 0}),
        );
    }
    let Some(route) = path.strip_prefix("/api/v10/") else {
        return not_found();
    };
    let parts: Vec<&str> = route.split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["gateway"]) => json_response(StatusCode::OK, json!({"url": shared.ws_url})),
        ("GET", ["gateway", "bot"]) => json_response(
            StatusCode::OK,
            json!({
                "url": shared.ws_url,
                "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1},
            }),
        ),
        ("GET", ["users", "@me"]) => json_response(StatusCode::OK, bot_user()),
        ("GET", ["oauth2", "applications", "@me"]) => json_response(
            StatusCode::OK,
            json!({
                "id": APP_ID.to_string(),
                "name": "ots-test",
                "icon": null,
                "description": "",
                "bot_public": false,
                "bot_require_code_grant": false,
                "verify_key": "00",
                "flags": 0,
                "owner": user(1),
                "team": null,
            }),
        ),
        ("PUT", ["applications", _, "guilds", guild, "commands"]) => {
            replace_commands(shared, guild, body)
        }
        ("PUT", ["applications", _, "commands"]) => replace_commands(shared, "global", body),
        ("POST", ["applications", _, "guilds", guild, "commands"]) => {
            upsert_command(shared, guild, body)
        }
        ("POST", ["applications", _, "commands"]) => upsert_command(shared, "global", body),
        ("POST", ["interactions", _, token, "callback"]) => {
            if shared.answered.lock().unwrap().insert((*token).to_owned()) {
                (StatusCode::NO_CONTENT, String::new())
            } else {
                json_response(
                    StatusCode::BAD_REQUEST,
                    json!({"message": "Interaction has already been acknowledged.", "code": 40060}),
                )
            }
        }
        ("PATCH", ["webhooks", _, token, "messages", "@original"])
        | ("POST", ["webhooks", _, token]) => {
            if shared.answered.lock().unwrap().contains(*token) {
                json_response(
                    StatusCode::OK,
                    message_json(210_000_000_000_000_001, crate::fixtures::BOT_USER, ""),
                )
            } else {
                json_response(
                    StatusCode::NOT_FOUND,
                    json!({"message": "Unknown Webhook", "code": 10015}),
                )
            }
        }
        ("POST", ["users", "@me", "channels"]) if closed_dms(body) => json_response(
            StatusCode::FORBIDDEN,
            json!({"message": "Cannot send messages to this user", "code": 50007}),
        ),
        ("POST", ["users", "@me", "channels"]) => json_response(
            StatusCode::OK,
            json!({
                "id": DM_CHANNEL.to_string(),
                "type": 1,
                "last_message_id": null,
                "recipients": [user(crate::fixtures::BOB)],
            }),
        ),
        ("POST", ["channels", _, "messages"]) => json_response(
            StatusCode::OK,
            message_json(220_000_000_000_000_001, BOT_USER, ""),
        ),
        _ => not_found(),
    }
}

fn replace_commands(shared: &Shared, scope: &str, body: &[u8]) -> (StatusCode, String) {
    let Ok(Value::Array(list)) = serde_json::from_slice::<Value>(body) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"message": "bad body", "code": 50035}),
        );
    };
    let stored: Vec<Value> = list.iter().map(stored_command).collect();
    shared
        .commands
        .lock()
        .unwrap()
        .insert(scope.to_owned(), stored.clone());
    json_response(StatusCode::OK, Value::Array(stored))
}

fn upsert_command(shared: &Shared, scope: &str, body: &[u8]) -> (StatusCode, String) {
    let Ok(command) = serde_json::from_slice::<Value>(body) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"message": "bad body", "code": 50035}),
        );
    };
    if !command["name"].is_string() {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"message": "no name", "code": 50035}),
        );
    }
    let stored = stored_command(&command);
    let mut commands = shared.commands.lock().unwrap();
    let list = commands.entry(scope.to_owned()).or_default();
    list.retain(|existing| existing["name"] != stored["name"]);
    list.push(stored.clone());
    json_response(StatusCode::CREATED, stored)
}

/// A command as Discord returns it: what was sent plus the ids serenity's `Command` requires.
fn stored_command(sent: &Value) -> Value {
    let mut command = sent.clone();
    command["id"] = json!("600000000000000001");
    command["application_id"] = json!(APP_ID.to_string());
    command["version"] = json!("1");
    command["type"] = json!(1);
    if command["description"].is_null() {
        command["description"] = json!("");
    }
    if command["default_member_permissions"].is_null() {
        command["default_member_permissions"] = Value::Null;
    }
    command
}

/// Carol keeps her DMs closed, as many people do.
fn closed_dms(body: &[u8]) -> bool {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    request["recipient_id"] == json!(crate::fixtures::CAROL.to_string())
}

fn not_found() -> (StatusCode, String) {
    json_response(
        StatusCode::NOT_FOUND,
        json!({"message": "404: Not Found", "code": 0}),
    )
}
