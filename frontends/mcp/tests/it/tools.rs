//! Each tool's success and error paths, over every transport.

use anyhow::{Context, Result, ensure};
use rmcp::model::CallToolRequestParams;
use serde_json::json;

use crate::support::{BASE_URL, Served, Setup, Via, call, err, ok, rendered, str_field};

#[tokio::test]
async fn share_then_status_then_burn() -> Result<()> {
    for via in Via::ALL {
        let served = Served::start(via, &Setup::default()).await?;
        let client = served.client("agent-a").await?;
        let secret = "correct horse battery staple";
        let result = call(
            &client,
            "share_secret",
            json!({"secret": secret, "ttl": 3600}),
        )
        .await?;
        ensure!(
            !rendered(&result).contains(secret),
            "{via:?}: share echoed the secret"
        );
        let created = result.structured_content.context("no structured content")?;
        let link = str_field(&created, "share_url")?;
        ensure!(link.starts_with(&format!("{BASE_URL}/secret/")), "{link}");
        ensure!(created["expires_in_seconds"] == 3600, "{created}");
        ensure!(created["passphrase_required"] == false);
        ensure!(created.get("generated_value").is_none());
        let key = str_field(&created, "metadata_key")?.to_owned();

        let status = ok(&client, "secret_status", json!({"metadata_key": key})).await?;
        ensure!(status["state"] == "new", "{via:?}: {status}");
        ensure!(status["secret_available"] == true);
        ensure!(
            status["secret_expires_in_seconds"]
                .as_u64()
                .is_some_and(|s| s <= 3600)
        );
        ensure!(str_field(&status, "created_at")?.ends_with('Z'));

        let burned = ok(&client, "burn_secret", json!({"metadata_key": key})).await?;
        ensure!(burned["state"] == "burned", "{burned}");

        let status = ok(&client, "secret_status", json!({"metadata_key": key})).await?;
        ensure!(status["state"] == "burned", "{via:?}: {status}");
        ensure!(status["secret_available"] == false);
        ensure!(status["share_url"].is_null());

        // Burning is idempotent in effect; the second call reports there is nothing left.
        let again = err(&client, "burn_secret", json!({"metadata_key": key})).await?;
        ensure!(again["code"] == "unknown_secret", "{via:?}: {again}");
        client.cancel().await?;
    }
    Ok(())
}

#[tokio::test]
async fn links_are_accepted_wherever_a_key_is() -> Result<()> {
    for via in [Via::Stdio, Via::HttpModern] {
        let served = Served::start(via, &Setup::default().with_retrieve()).await?;
        let client = served.client("agent-a").await?;
        let created = ok(&client, "share_secret", json!({"secret": "s1"})).await?;
        let key = str_field(&created, "metadata_key")?;
        for link in [
            format!("{BASE_URL}/receipt/{key}"),
            format!("{BASE_URL}/private/{key}"),
        ] {
            let status = ok(&client, "secret_status", json!({"metadata_key": link})).await?;
            ensure!(status["metadata_key"] == key, "{status}");
        }
        let share_url = str_field(&created, "share_url")?;
        let refused = err(&client, "secret_status", json!({"metadata_key": share_url})).await?;
        ensure!(refused["code"] == "invalid_input", "{refused}");
        let burned = ok(
            &client,
            "burn_secret",
            json!({"metadata_key": format!("{BASE_URL}/receipt/{key}")}),
        )
        .await?;
        ensure!(burned["metadata_key"] == key);

        let created = ok(&client, "share_secret", json!({"secret": "s2"})).await?;
        let share_url = str_field(&created, "share_url")?;
        let revealed = ok(&client, "retrieve_secret", json!({"secret_key": share_url})).await?;
        ensure!(revealed["secret"] == "s2", "{revealed}");
        client.cancel().await?;
    }
    Ok(())
}

#[tokio::test]
async fn invalid_keys_are_invalid_input() -> Result<()> {
    for via in Via::ALL {
        let served = Served::start(via, &Setup::default().with_retrieve()).await?;
        let client = served.client("agent-a").await?;
        for (tool, args) in [
            ("secret_status", json!({"metadata_key": "not a key!"})),
            ("burn_secret", json!({"metadata_key": "../../etc"})),
            (
                "secret_status",
                json!({"metadata_key": "https://example.com/nothing/here"}),
            ),
            ("retrieve_secret", json!({"secret_key": ""})),
        ] {
            let body = err(&client, tool, args).await?;
            ensure!(body["code"] == "invalid_input", "{via:?} {tool}: {body}");
            ensure!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        client.cancel().await?;
    }
    Ok(())
}

#[tokio::test]
async fn bad_arguments_are_tool_errors_not_protocol_errors() -> Result<()> {
    for via in [Via::Stdio, Via::Http] {
        let served = Served::start(via, &Setup::default()).await?;
        let client = served.client("agent-a").await?;
        for args in [
            json!({}),
            json!({"secret": "x", "ttl": -5}),
            json!({"secret": "x", "pasphrase": "typo"}),
        ] {
            let body = err(&client, "share_secret", args.clone()).await?;
            ensure!(body["code"] == "invalid_input", "{via:?} {args}: {body}");
        }
        let body = err(&client, "share_secret", json!({})).await?;
        ensure!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("invalid secret: this argument is required")),
            "{body}"
        );
        // A value in the wrong field is not quoted back: it may be a secret.
        let body = err(
            &client,
            "share_secret",
            json!({"secret": "x", "ttl": "hunter2"}),
        )
        .await?;
        ensure!(!body.to_string().contains("hunter2"), "{body}");
        // An unknown tool is a protocol fault, which stays a protocol error.
        let unknown = client
            .call_tool(CallToolRequestParams::new("no_such_tool"))
            .await;
        ensure!(unknown.is_err(), "unknown tool answered as a tool result");
        client.cancel().await?;
    }
    Ok(())
}

#[tokio::test]
async fn burning_a_protected_secret_needs_its_passphrase() -> Result<()> {
    for via in Via::ALL {
        let served = Served::start(via, &Setup::default()).await?;
        let client = served.client("agent-a").await?;
        let created = ok(
            &client,
            "share_secret",
            json!({"secret": "s", "passphrase": "open sesame"}),
        )
        .await?;
        ensure!(created["passphrase_required"] == true, "{created}");
        let key = str_field(&created, "metadata_key")?;
        for wrong in [
            json!({"metadata_key": key}),
            json!({"metadata_key": key, "passphrase": "nope"}),
        ] {
            let body = err(&client, "burn_secret", wrong).await?;
            ensure!(body["code"] == "incorrect_passphrase", "{via:?}: {body}");
        }
        ok(
            &client,
            "burn_secret",
            json!({"metadata_key": key, "passphrase": "open sesame"}),
        )
        .await?;
        client.cancel().await?;
    }
    Ok(())
}

#[tokio::test]
async fn another_clients_receipts_are_not_owned() -> Result<()> {
    for via in Via::ALL {
        let served = Served::start(via, &Setup::default().with_retrieve()).await?;
        let alice = served.named_client("agent-alice").await?;
        let bob = served.named_client("agent-bob").await?;
        let created = ok(&alice, "share_secret", json!({"secret": "alice's"})).await?;
        let key = str_field(&created, "metadata_key")?;
        for tool in ["secret_status", "burn_secret"] {
            let body = err(&bob, tool, json!({"metadata_key": key})).await?;
            ensure!(body["code"] == "not_owned", "{via:?} {tool}: {body}");
        }
        // A key nobody created through the gateway gets the same answer: no probing for keys.
        let body = err(
            &bob,
            "secret_status",
            json!({"metadata_key": "abcdefghijklmnop"}),
        )
        .await?;
        ensure!(body["code"] == "not_owned", "{body}");

        let bobs = ok(&bob, "list_recent_secrets", json!({})).await?;
        ensure!(bobs["secrets"] == json!([]), "{via:?}: {bobs}");
        let alices = ok(&alice, "list_recent_secrets", json!({})).await?;
        let listed = alices["secrets"].as_array().context("secrets")?;
        ensure!(
            listed.len() == 1 && listed[0]["metadata_key"] == key,
            "{alices}"
        );
        ensure!(listed[0]["state"] == "new" && listed[0]["state_is_fresh"] == true);
        ensure!(listed[0]["share_url"].is_string());
        ok(&alice, "burn_secret", json!({"metadata_key": key})).await?;
        alice.cancel().await?;
        bob.cancel().await?;
    }
    Ok(())
}

#[tokio::test]
async fn recent_list_follows_states() -> Result<()> {
    let served = Served::start(Via::Stdio, &Setup::default().with_retrieve()).await?;
    let client = served.client("agent-a").await?;
    let first = ok(&client, "share_secret", json!({"secret": "one"})).await?;
    let second = ok(&client, "generate_secret", json!({"passphrase": "pp12"})).await?;
    ok(
        &client,
        "retrieve_secret",
        json!({"secret_key": first["share_url"]}),
    )
    .await?;
    let listed = ok(&client, "list_recent_secrets", json!({})).await?;
    let items = listed["secrets"].as_array().context("secrets")?;
    ensure!(items.len() == 2, "{listed}");
    ensure!(
        items[0]["metadata_key"] == second["metadata_key"],
        "newest first: {listed}"
    );
    ensure!(items[0]["passphrase_required"] == true);
    ensure!(items[1]["state"] == "received", "{listed}");
    ensure!(items[1]["share_url"].is_null());
    client.cancel().await?;
    Ok(())
}

#[tokio::test]
async fn retrieve_is_refused_by_default_and_works_when_enabled() -> Result<()> {
    for via in Via::ALL {
        let served = Served::start(via, &Setup::default()).await?;
        let client = served.client("agent-a").await?;
        let created = ok(&client, "share_secret", json!({"secret": "x"})).await?;
        let unlisted = client
            .call_tool(
                CallToolRequestParams::new("retrieve_secret").with_arguments(
                    json!({"secret_key": created["share_url"]})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                ),
            )
            .await;
        ensure!(
            unlisted.is_err(),
            "{via:?}: retrieve_secret callable by default"
        );
        client.cancel().await?;

        let served = Served::start(via, &Setup::default().with_retrieve()).await?;
        let client = served.client("agent-a").await?;
        let created = ok(
            &client,
            "share_secret",
            json!({"secret": "the plaintext", "passphrase": "pp12"}),
        )
        .await?;
        let wrong = err(
            &client,
            "retrieve_secret",
            json!({"secret_key": created["share_url"], "passphrase": "bad"}),
        )
        .await?;
        ensure!(wrong["code"] == "unknown_secret", "{via:?}: {wrong}");
        let revealed = ok(
            &client,
            "retrieve_secret",
            json!({"secret_key": created["share_url"], "passphrase": "pp12"}),
        )
        .await?;
        ensure!(revealed["secret"] == "the plaintext", "{revealed}");
        let gone = err(
            &client,
            "retrieve_secret",
            json!({"secret_key": created["share_url"], "passphrase": "pp12"}),
        )
        .await?;
        ensure!(gone["code"] == "unknown_secret", "{gone}");
        client.cancel().await?;
    }
    Ok(())
}

#[tokio::test]
async fn generated_values_are_returned_only_when_configured() -> Result<()> {
    for via in [Via::StdioModern, Via::Http] {
        let served = Served::start(via, &Setup::default()).await?;
        let client = served.client("agent-a").await?;
        let created = ok(
            &client,
            "generate_secret",
            json!({"length": 20, "ttl": 600}),
        )
        .await?;
        ensure!(
            created.get("generated_value").is_none(),
            "{via:?}: {created}"
        );
        ensure!(str_field(&created, "share_url")?.contains("/secret/"));
        ensure!(created["expires_in_seconds"] == 600);
        client.cancel().await?;

        let served = Served::start(
            via,
            &Setup::default()
                .with_retrieve()
                .returning_generated_values(),
        )
        .await?;
        let client = served.client("agent-a").await?;
        let created = ok(&client, "generate_secret", json!({"length": 20})).await?;
        let value = str_field(&created, "generated_value")?;
        ensure!(value.chars().count() == 20, "{value}");
        let revealed = ok(
            &client,
            "retrieve_secret",
            json!({"secret_key": created["share_url"]}),
        )
        .await?;
        ensure!(revealed["secret"] == value);
        client.cancel().await?;
    }
    Ok(())
}

#[tokio::test]
async fn quota_refusals_say_how_long_to_wait() -> Result<()> {
    for via in Via::ALL {
        let served = Served::start(via, &Setup::default().create_quota(1)).await?;
        let client = served.named_client("agent-a").await?;
        ok(&client, "share_secret", json!({"secret": "first"})).await?;
        let body = err(&client, "generate_secret", json!({})).await?;
        ensure!(body["code"] == "rate_limited", "{via:?}: {body}");
        let wait = body["retry_after_seconds"]
            .as_u64()
            .context("no retry_after_seconds")?;
        ensure!((1..=60).contains(&wait), "{wait}");
        // The quota is per caller: another client still has its own.
        let other = served.named_client("agent-b").await?;
        ok(&other, "share_secret", json!({"secret": "second"})).await?;
        // And managing existing secrets is a different class, still allowed.
        ok(&client, "list_recent_secrets", json!({})).await?;
        client.cancel().await?;
        other.cancel().await?;
    }
    Ok(())
}

#[tokio::test]
async fn gateway_status_reports_account_caller_and_quotas() -> Result<()> {
    for via in Via::ALL {
        let served = Served::start(via, &Setup::default().create_quota(5)).await?;
        let client = served.client("status-agent").await?;
        let status = ok(&client, "gateway_status", json!({})).await?;
        ensure!(status["upstream_reachable"] == true, "{status}");
        ensure!(status["account"] == "team");
        ensure!(status["upstream"] == BASE_URL);
        ensure!(status["retrieve_enabled"] == false);
        ensure!(status["quotas"]["create"]["burst"] == 5, "{status}");
        ensure!(status["quotas"]["manage"].is_null());
        let caller_id = status["caller_id"].as_str().unwrap_or_default();
        match via {
            // A legacy HTTP client has a session: its declared name, tagged per session.
            Via::Http => ensure!(caller_id.starts_with("status-agent."), "{status}"),
            _ => ensure!(caller_id == "status-agent", "{via:?}: {status}"),
        }
        client.cancel().await?;
    }
    Ok(())
}

/// The states `secret_status` and `list_recent_secrets` report are one list, stated as an enum in
/// both output schemas; whether a passphrase was set stays what it was at creation after a burn.
#[tokio::test]
async fn states_are_one_enumerated_list_and_a_burn_keeps_passphrase_required() -> Result<()> {
    const STATES: [&str; 7] = [
        "new", "viewed", "received", "burned", "expired", "orphaned", "other",
    ];
    for via in [Via::Stdio, Via::HttpModern] {
        let served = Served::start(via, &Setup::default()).await?;
        let client = served.named_client("agent-a").await?;
        let tools = client.list_all_tools().await?;
        let state_enum = |tool: &str| -> Result<Vec<String>> {
            let tool = tools
                .iter()
                .find(|t| t.name == tool)
                .with_context(|| format!("no {tool}"))?;
            let schema = serde_json::to_value(tool.output_schema.as_deref())?;
            let text = schema.to_string();
            // Wherever the generator put the definition, the list must be exactly these.
            let start = text
                .find("\"enum\":[\"new\"")
                .with_context(|| format!("{}: no state enum in {text}", tool.name))?;
            let list = &text[start + "\"enum\":".len()..];
            let end = list.find(']').context("unterminated enum")?;
            Ok(serde_json::from_str(&list[..=end])?)
        };
        ensure!(state_enum("secret_status")? == STATES, "{via:?}");
        ensure!(state_enum("list_recent_secrets")? == STATES, "{via:?}");

        let created = ok(
            &client,
            "share_secret",
            json!({"secret": "guarded", "passphrase": "open-sesame"}),
        )
        .await?;
        let key = str_field(&created, "metadata_key")?.to_owned();
        let before = ok(&client, "secret_status", json!({"metadata_key": key})).await?;
        ensure!(before["passphrase_required"] == true, "{via:?}: {before}");
        ok(
            &client,
            "burn_secret",
            json!({"metadata_key": key, "passphrase": "open-sesame"}),
        )
        .await?;
        let after = ok(&client, "secret_status", json!({"metadata_key": key})).await?;
        ensure!(after["state"] == "burned", "{via:?}: {after}");
        ensure!(
            after["passphrase_required"] == true,
            "{via:?}: the burn changed passphrase_required: {after}"
        );
        let listed = ok(&client, "list_recent_secrets", json!({})).await?;
        for item in listed["secrets"].as_array().context("secrets")? {
            let state = item["state"].as_str().unwrap_or_default();
            ensure!(STATES.contains(&state), "{state} is not in the list");
        }
        client.cancel().await?;
    }
    Ok(())
}
