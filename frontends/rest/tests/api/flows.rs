//! Scenarios that must behave the same through the gateway and through the simulator router:
//! both claim to be OTS v1, so a client cannot tell them apart on these paths.

use reqwest::RequestBuilder;
use reqwest::multipart::Form;
use serde_json::{Value, json};

use crate::support::{Reply, Server, client, send};

/// A server plus how to reach it as a client would.
pub struct Api {
    pub server: Server,
    client: reqwest::Client,
    /// Basic credentials the client sends (OTS's email + API token), if any.
    basic: Option<(String, String)>,
    /// Whether account-only routes (`recent`, `authcheck`) work for this client.
    pub has_account: bool,
    /// The simulator answers as OTS does, without the gateway's extension fields.
    pub is_simulator: bool,
}

impl Api {
    pub fn new(server: Server, basic: Option<(&str, &str)>, has_account: bool) -> Api {
        Api {
            server,
            client: client(),
            basic: basic.map(|(u, p)| (u.to_owned(), p.to_owned())),
            has_account,
            is_simulator: false,
        }
    }

    pub fn simulator(mut self) -> Api {
        self.is_simulator = true;
        self
    }

    fn with_auth(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.basic {
            Some((user, token)) => request.basic_auth(user, Some(token)),
            None => request,
        }
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.with_auth(self.client.post(self.server.url(path)))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.with_auth(self.client.get(self.server.url(path)))
    }
}

pub fn str_of<'a>(body: &'a Value, field: &str) -> &'a str {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {body}"))
}

/// A share that must succeed; returns the receipt body.
pub async fn share(request: RequestBuilder) -> Value {
    let reply = send(request).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

pub async fn reveal(api: &Api, key: &str, passphrase: Option<&str>) -> Reply {
    let path = format!("/api/v1/secret/{key}");
    match passphrase {
        Some(p) => send(api.post(&path).form(&[("passphrase", p)])).await,
        // bash's `curl -X POST`: no body at all.
        None => send(api.post(&path)).await,
    }
}

pub async fn reveals_to(api: &Api, key: &str, passphrase: Option<&str>, expected: &str) {
    let reply = reveal(api, key, passphrase).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["value"], expected);
}

pub fn assert_ots_refusal(reply: &Reply, intended: Option<&str>, message: &str) {
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert_eq!(
        reply.header("x-ots-intended-status"),
        intended,
        "{}",
        reply.body
    );
    assert_eq!(reply.body, json!({ "message": message }));
}

pub fn assert_unknown_secret(reply: &Reply, key: &str) {
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert_eq!(reply.header("x-ots-intended-status"), None);
    assert_eq!(
        reply.body,
        json!({"secret_key": key, "message": "Unknown secret"})
    );
}

/// share → receipt → retrieve → second retrieve → received receipt; share → burn → burn again.
pub async fn lifecycle(api: &Api, custid: &str) {
    let created = share(
        api.post("/api/v1/share")
            .form(&[("secret", "lifecycle-value"), ("ttl", "3600")]),
    )
    .await;
    let mkey = str_of(&created, "metadata_key").to_owned();
    let skey = str_of(&created, "secret_key").to_owned();
    assert!(mkey.len() >= 20 && skey.len() >= 20);
    assert_eq!(created["custid"], custid);
    assert_eq!(created["state"], "new");
    assert_eq!(created["ttl"], 3600);
    assert_eq!(created["secret_ttl"], 3600);
    assert_eq!(created["metadata_ttl"], 7200);
    assert!(created["created"].is_i64() && created["updated"].is_i64());
    assert_eq!(created["passphrase_required"], false);
    assert_eq!(created["recipient"], json!([]));
    assert_eq!(created["share_domain"], "");
    assert!(str_of(&created, "metadata_url").ends_with(&format!("/receipt/{mkey}")));
    assert_eq!(created["identifier"], mkey.as_str());
    assert_eq!(created["secret_identifier"], skey.as_str());
    assert_eq!(created["has_passphrase"], false);
    assert_eq!(created["recipients"], json!([]));
    assert_eq!(created["receipt_ttl"], created["metadata_ttl"]);
    assert_eq!(created["receipt_url"], created["metadata_url"]);
    if api.is_simulator {
        assert!(
            created.get("share_url").is_none(),
            "share_url is the gateway's field, not OTS's"
        );
    } else {
        assert_eq!(
            created["share_url"],
            format!("https://sim.ots.test/secret/{skey}").as_str()
        );
    }
    assert!(created.get("value").is_none() && created.get("received").is_none());

    let viewed = send(api.get(&format!("/api/v1/private/{mkey}"))).await;
    assert_eq!(viewed.status, 200);
    assert_eq!(viewed.body["state"], "new");
    assert_eq!(viewed.body["secret_key"], skey.as_str());
    assert_eq!(viewed.body["passphrase_required"], false);
    assert!(viewed.body.get("value").is_none() && viewed.body.get("share_url").is_none());

    let revealed = reveal(api, &skey, None).await;
    assert_eq!(revealed.status, 200);
    assert_eq!(
        revealed.body,
        json!({"value": "lifecycle-value", "secret_key": skey, "share_domain": "https://sim.ots.test"})
    );
    assert_unknown_secret(&reveal(api, &skey, None).await, &skey);

    let after = send(api.post(&format!("/api/v1/private/{mkey}"))).await;
    assert_eq!(after.status, 200);
    assert_eq!(after.body["state"], "received");
    assert!(after.body.get("secret_key").is_none());
    assert!(after.body.get("secret_ttl").is_none());
    assert!(after.body["received"].is_i64());

    let created = share(api.post("/api/v1/share").form(&[("secret", "burn-me")])).await;
    let mkey = str_of(&created, "metadata_key").to_owned();
    let skey = str_of(&created, "secret_key").to_owned();
    let burned = send(api.post(&format!("/api/v1/private/{mkey}/burn"))).await;
    assert_eq!(burned.status, 200, "{}", burned.body);
    assert_eq!(burned.body["secret_shortkey"], &skey[..8]);
    assert_eq!(burned.body["state"]["metadata_key"], mkey.as_str());
    assert!(burned.body["state"].get("passphrase_required").is_none());
    assert_unknown_secret(
        &send(api.post(&format!("/api/v1/private/{mkey}/burn"))).await,
        &mkey,
    );
    assert_unknown_secret(&reveal(api, &skey, None).await, &skey);
    let gone = send(api.get(&format!("/api/v1/receipt/{mkey}"))).await;
    assert_eq!(gone.body["state"], "burned");
    assert_eq!(gone.body["secret_key"], "");
    assert_eq!(gone.body["secret_ttl"], Value::Null);
}

/// Every client quirk of docs/ots-api-notes.md §5.
pub async fn client_quirks(api: &Api) {
    let status = send(api.get("/api/v1/status")).await;
    assert_eq!(status.status, 200);
    assert_eq!(status.body, json!({"status": "nominal", "locale": "en"}));
    // npm: a form Content-Type on GET; Otto: one trailing slash.
    let status = send(
        api.get("/api/v1/status/")
            .header("content-type", "application/x-www-form-urlencoded"),
    )
    .await;
    assert_eq!(status.body["status"], "nominal");

    // corbalt, chelnak, java: params in the query string of a POST with an empty body.
    let created = share(api.post("/api/v1/share?secret=from-query&ttl=7200")).await;
    assert_eq!(created["ttl"], 7200);
    reveals_to(api, str_of(&created, "secret_key"), None, "from-query").await;

    // chelnak: `Content-Type: application/json` with an empty body.
    let created = share(
        api.post("/api/v1/share?secret=json-empty-body")
            .header("content-type", "application/json"),
    )
    .await;
    reveals_to(api, str_of(&created, "secret_key"), None, "json-empty-body").await;

    // otsgo, corbalt, csharp: a form body without Content-Type.
    let created = share(api.post("/api/v1/share").body("secret=no-type&ttl=600")).await;
    assert_eq!(created["ttl"], 600);
    reveals_to(api, str_of(&created, "secret_key"), None, "no-type").await;

    // csharp: HTML-encoded values and a trailing `&` (Rack splits at the entity's `&` too).
    let created = share(api.post("/api/v1/share").body("secret=it&#39;s&ttl=3600&")).await;
    reveals_to(api, str_of(&created, "secret_key"), None, "it").await;

    // A JSON body, with a passphrase.
    let created = share(
        api.post("/api/v1/share")
            .json(&json!({"secret": "from-json", "ttl": "3600", "passphrase": "json-pass"})),
    )
    .await;
    assert_eq!(created["passphrase_required"], true);
    assert_eq!(created["has_passphrase"], true);
    let skey = str_of(&created, "secret_key").to_owned();
    assert_unknown_secret(&reveal(api, &skey, None).await, &skey);
    let reply = send(
        api.post(&format!("/api/v1/secret/{skey}"))
            .json(&json!({"passphrase": "json-pass"})),
    )
    .await;
    assert_eq!(reply.body["value"], "from-json");

    // bash: multipart for share and for a retrieve with a passphrase.
    let created = share(
        api.post("/api/v1/share").multipart(
            Form::new()
                .text("secret", "from-multipart")
                .text("passphrase", "mp-pass"),
        ),
    )
    .await;
    assert_eq!(created["passphrase_required"], true);
    let reply = send(
        api.post(&format!(
            "/api/v1/secret/{}",
            str_of(&created, "secret_key")
        ))
        .multipart(Form::new().text("passphrase", "mp-pass")),
    )
    .await;
    assert_eq!(reply.body["value"], "from-multipart");

    // corbalt, otsgo: empty `passphrase=` and `recipient=` are absent, not a gate or an
    // "account required"; java and otsgo send unknown params.
    let created = share(api.post("/api/v1/share/").form(&[
        ("secret", "empties"),
        ("passphrase", ""),
        ("recipient", ""),
        ("SECRET_KEY", "x"),
        ("metadata_key", "y"),
        ("metadata_ttl", "5"),
        ("secret_ttl", "5"),
    ]))
    .await;
    assert_eq!(created["passphrase_required"], false);
    assert_eq!(created["recipient"], json!([]));
    let skey = str_of(&created, "secret_key").to_owned();
    let mkey = str_of(&created, "metadata_key").to_owned();

    // onetime-ruby: the `metadata` alias, by POST; and the `receipt` alias.
    for path in [
        format!("/api/v1/metadata/{mkey}"),
        format!("/api/v1/receipt/{mkey}/"),
    ] {
        let viewed = send(api.post(&path)).await;
        assert_eq!(viewed.status, 200, "{path}");
        assert_eq!(viewed.body["metadata_key"], mkey.as_str());
    }
    // OTS reduces keys to [a-zA-Z0-9_-] after the length check.
    let revealed = send(api.post(&format!("/api/v1/secret/{skey}.")).body("")).await;
    assert_eq!(revealed.body["value"], "empties");
    assert_eq!(revealed.body["secret_key"], skey.as_str());

    // otsgo's generate: empty secret, passphrase and recipient.
    let generated = share(api.post("/api/v1/generate").form(&[
        ("secret", ""),
        ("passphrase", ""),
        ("recipient", ""),
    ]))
    .await;
    let value = str_of(&generated, "value").to_owned();
    assert_eq!(value.chars().count(), 12);
    assert_eq!(generated["secret_value"], value.as_str());
    assert_eq!(generated["passphrase_required"], false);
    assert_eq!(generated["share_url"].is_string(), !api.is_simulator);

    // Generate with a JSON `character_sets` hash, and Rack's nested form syntax.
    let generated = share(api.post("/api/v1/generate").json(&json!({
        "length": 40,
        "character_sets": {"uppercase": false, "symbols": null, "numbers": false}
    })))
    .await;
    let value = str_of(&generated, "value");
    assert_eq!(value.chars().count(), 40);
    assert!(value.chars().all(|c| c.is_ascii_lowercase()), "{value}");
    let generated = share(
        api.post("/api/v1/generate")
            .body("length=16&character_sets[uppercase]=false&character_sets[lowercase]=false&"),
    )
    .await;
    // The form string "false" is truthy in Ruby, so these sets stay on; only the length shows.
    assert_eq!(str_of(&generated, "value").chars().count(), 16);

    if api.has_account {
        // chelnak asks for recent with POST.
        for request in [
            api.get("/api/v1/private/recent"),
            api.post("/api/v1/private/recent"),
            api.get("/api/v1/metadata/recent/"),
            api.get("/api/v1/receipt/recent"),
        ] {
            let recent = send(request).await;
            assert_eq!(recent.status, 200, "{}", recent.body);
            let items = recent.body.as_array().expect("recent is an array");
            assert!(
                items
                    .iter()
                    .any(|item| item["metadata_key"] == mkey.as_str())
            );
            assert!(items.iter().all(|item| item.get("secret_key").is_none()));
        }
        let check = send(api.get("/api/v1/authcheck")).await;
        assert_eq!(check.body, json!({"status": "nominal", "locale": "en"}));
    }
}

/// The upstream-originated refusals, which both routers must relay exactly as OTS sends them.
pub async fn ots_error_shapes(api: &Api) {
    let reply = send(
        api.post("/api/v1/share")
            .form(&[("secret", ""), ("ttl", "60")]),
    )
    .await;
    assert_ots_refusal(&reply, Some("400"), "You did not provide anything to share");

    let reply = send(
        api.post("/api/v1/share")
            .form(&[("secret", "x".repeat(10_001))]),
    )
    .await;
    assert_ots_refusal(
        &reply,
        Some("400"),
        "Secret value exceeds the maximum size of 10000 bytes",
    );

    let reply = send(
        api.post("/api/v1/share")
            .json(&json!({"secret": "s", "ttl": true})),
    )
    .await;
    assert_ots_refusal(&reply, Some("400"), "An unexpected error occurred :[");

    let reply = send(
        api.post("/api/v1/share")
            .form(&[("secret", "s"), ("passphrase", "abc")]),
    )
    .await;
    assert_ots_refusal(
        &reply,
        Some("400"),
        "Passphrase must be at least 4 characters long",
    );

    let created = share(
        api.post("/api/v1/share")
            .form(&[("secret", "gated"), ("passphrase", "right-pass")]),
    )
    .await;
    let skey = str_of(&created, "secret_key").to_owned();
    let mkey = str_of(&created, "metadata_key").to_owned();
    // A wrong passphrase on retrieve looks exactly like a missing secret.
    assert_unknown_secret(&reveal(api, &skey, Some("wrong-pass")).await, &skey);
    for passphrase in [None, Some("wrong-pass")] {
        let request = api.post(&format!("/api/v1/private/{mkey}/burn"));
        let request = match passphrase {
            Some(p) => request.form(&[("passphrase", p)]),
            None => request,
        };
        assert_ots_refusal(&send(request).await, Some("400"), "Incorrect passphrase");
    }
    let burned = send(
        api.post(&format!("/api/v1/private/{mkey}/burn"))
            .form(&[("passphrase", "right-pass")]),
    )
    .await;
    assert_eq!(burned.status, 200);

    let unknown = "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz";
    assert_unknown_secret(
        &send(api.get(&format!("/api/v1/private/{unknown}"))).await,
        unknown,
    );
    assert_unknown_secret(&reveal(api, unknown, None).await, unknown);
}
