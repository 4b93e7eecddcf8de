//! What a client sees before calling anything: server identity, instructions and the tool list.

use anyhow::{Context, Result, ensure};
use serde_json::Value;

use crate::support::{Served, Setup, Via};

const ALWAYS: [&str; 6] = [
    "burn_secret",
    "gateway_status",
    "generate_secret",
    "list_recent_secrets",
    "secret_status",
    "share_secret",
];

/// (read_only, destructive, idempotent, open_world) per tool.
fn expected_hints(name: &str) -> (bool, bool, bool, bool) {
    match name {
        "share_secret" | "generate_secret" => (false, false, false, true),
        "secret_status" | "list_recent_secrets" | "gateway_status" => (true, false, true, true),
        "burn_secret" => (false, true, true, true),
        "retrieve_secret" => (false, true, false, true),
        other => panic!("unexpected tool {other}"),
    }
}

fn properties(schema: &serde_json::Map<String, Value>) -> Vec<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| props.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn tools_are_listed_with_schemas_and_truthful_annotations() -> Result<()> {
    for via in Via::ALL {
        let served = Served::start(via, &Setup::default()).await?;
        let client = served.client("lister").await?;
        let tools = client.list_all_tools().await?;
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        ensure!(names == ALWAYS, "{via:?}: {names:?}");

        for tool in &tools {
            let name = tool.name.as_ref();
            let description = tool.description.as_deref().unwrap_or_default();
            ensure!(description.len() > 80, "{name}: description too thin");
            ensure!(
                tool.input_schema.get("type") == Some(&Value::from("object")),
                "{name}: input schema is not an object"
            );
            let output = tool.output_schema.as_ref().context("no output schema")?;
            ensure!(output.get("type") == Some(&Value::from("object")), "{name}");
            let hints = tool.annotations.as_ref().context("no annotations")?;
            let got = (
                hints.read_only_hint == Some(true),
                hints.destructive_hint == Some(true),
                hints.idempotent_hint == Some(true),
                hints.open_world_hint == Some(true),
            );
            ensure!(got == expected_hints(name), "{via:?} {name}: {got:?}");
            ensure!(hints.title.is_some(), "{name}: no title");
        }

        let share = tools
            .iter()
            .find(|t| t.name == "share_secret")
            .context("share")?;
        let mut props = properties(&share.input_schema);
        props.sort();
        ensure!(
            props == ["passphrase", "recipient", "secret", "ttl"],
            "{props:?}"
        );
        // `secret` is optional: without it, a client with URL elicitation opens the entry page.
        ensure!(
            share.input_schema.get("required").is_none(),
            "{:?}",
            share.input_schema
        );
        let ttl = &share.input_schema["properties"]["ttl"];
        // schemars' `uint32`/`uint64` formats make AJV-based clients print warnings.
        for tool in &tools {
            let schemas = format!("{:?} {:?}", tool.input_schema, tool.output_schema);
            ensure!(
                !schemas.contains("uint"),
                "{}: integer format left in {schemas}",
                tool.name
            );
        }
        ensure!(
            ttl["description"]
                .as_str()
                .is_some_and(|d| d.contains("seconds")),
            "field docs missing: {ttl}"
        );
        // The output schema is "the result or an error body"; the result's fields are the first.
        let output = share.output_schema.as_ref().context("schema")?;
        let success = output["anyOf"][0]
            .as_object()
            .context("no success branch")?;
        let out = properties(success);
        ensure!(out.contains(&"share_url".to_owned()) && !out.contains(&"secret".to_owned()));
        let error = output["anyOf"][1].as_object().context("no error branch")?;
        ensure!(properties(error).contains(&"code".to_owned()), "{output:?}");
        // Portable optional fields: no `type: [X, "null"]` anywhere.
        for tool in &tools {
            let schemas = format!("{:?} {:?}", tool.input_schema, tool.output_schema);
            ensure!(!schemas.contains("\"null\""), "{}: {schemas}", tool.name);
            ensure!(
                tool.input_schema["additionalProperties"] == false,
                "{}: unknown arguments accepted",
                tool.name
            );
        }

        let status = tools
            .iter()
            .find(|t| t.name == "secret_status")
            .context("status")?;
        ensure!(properties(&status.input_schema) == ["metadata_key"]);
        let burn = tools
            .iter()
            .find(|t| t.name == "burn_secret")
            .context("burn")?;
        let mut props = properties(&burn.input_schema);
        props.sort();
        ensure!(props == ["metadata_key", "passphrase"]);
        client.cancel().await?;
    }
    Ok(())
}

#[tokio::test]
async fn server_names_itself_and_tells_models_to_send_links() -> Result<()> {
    for via in [Via::Stdio, Via::Http] {
        let served = Served::start(via, &Setup::default()).await?;
        let client = served.client("reader").await?;
        let info = client.peer_info().context("no server info")?;
        let server = info.server_info.as_ref().context("no serverInfo")?;
        ensure!(server.name == "ots-gateway", "{via:?}: {}", server.name);
        ensure!(server.version == env!("CARGO_PKG_VERSION"));
        let instructions = info.instructions.as_deref().unwrap_or_default();
        ensure!(instructions.contains("never the secret"), "{instructions}");
        ensure!(
            instructions.contains("prefer generate_secret"),
            "{instructions}"
        );
        client.cancel().await?;
    }
    Ok(())
}

#[tokio::test]
async fn retrieve_is_listed_only_when_policy_allows_it() -> Result<()> {
    for via in Via::ALL {
        let served = Served::start(via, &Setup::default().with_retrieve()).await?;
        let client = served.client("lister").await?;
        let tools = client.list_all_tools().await?;
        let retrieve = tools
            .iter()
            .find(|t| t.name == "retrieve_secret")
            .with_context(|| format!("{via:?}: retrieve_secret missing"))?;
        let description = retrieve.description.as_deref().unwrap_or_default();
        ensure!(description.contains("consumes the secret"), "{description}");
        ensure!(
            description.contains("enters this conversation"),
            "{description}"
        );
        ensure!(tools.len() == 7);
        client.cancel().await?;
    }
    Ok(())
}
