//! Secret hygiene: a unique secret, passphrase and API key go through every operation (REST v1
//! and v2, and MCP), over the real OTS client and the simulator served over HTTP, with both processes logging
//! at TRACE. None of them may appear in either process's output, the ledger file, the audit log
//! or the metrics; full keys may appear only in the ledger.

use serde_json::Value;

use crate::support;

const SECRET: &str = "canary-secret-6b1f0e";
const PASSPHRASE: &str = "canary-passphrase-93d2";
const API_KEY: &str = "canary-api-key-c47a18";
const BEARER: &str = "canary-bearer-2e9b55";

#[tokio::test]
async fn secrets_never_reach_the_logs_at_trace_level() {
    let trace = [("RUST_LOG", "trace")];
    let account = format!("team@example.com:{API_KEY}");
    let simulator = support::start(
        &["simulate", "--listen", "127.0.0.1:0", "--account", &account],
        &trace,
    )
    .await;
    let dir = support::scratch_root().join(format!("ots-gateway-canary-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ledger_path = dir.join("ledger.sqlite3");
    let audit_path = dir.join("audit.jsonl");
    let gateway = support::serve_in_front_of(
        &simulator.base_url,
        &[
            ("OTS_GATEWAY__LEDGER__PATH", &ledger_path.to_string_lossy()),
            ("OTS_GATEWAY__AUDIT__FILE", &audit_path.to_string_lossy()),
            ("RUST_LOG", "trace"),
            ("OTS_GATEWAY_USERNAME", "team@example.com"),
            ("OTS_GATEWAY_API_KEY", API_KEY),
            ("OTS_GATEWAY_BEARER_TOKEN", BEARER),
        ],
    )
    .await;
    let api = format!("{}/api/v1", gateway.base_url);
    let http = reqwest::Client::new();
    let post = |path: String, form: Vec<(&'static str, &'static str)>| {
        http.post(format!("{api}/{path}"))
            .bearer_auth(BEARER)
            .form(&form)
            .send()
    };

    let shared: Value = post(
        "share".into(),
        vec![
            ("secret", SECRET),
            ("passphrase", PASSPHRASE),
            ("ttl", "600"),
        ],
    )
    .await
    .expect("share")
    .json()
    .await
    .expect("share json");
    let metadata_key = shared["metadata_key"]
        .as_str()
        .expect("metadata_key")
        .to_owned();
    let secret_key = shared["secret_key"]
        .as_str()
        .expect("secret_key")
        .to_owned();

    let receipt = http
        .get(format!("{api}/private/{metadata_key}"))
        .bearer_auth(BEARER)
        .send()
        .await
        .expect("receipt");
    assert_eq!(receipt.status(), 200);

    // A wrong passphrase, then the right one: both paths must stay quiet.
    let wrong = post(
        format!("secret/{secret_key}"),
        vec![("passphrase", "canary-wrong-pass-x1")],
    )
    .await
    .expect("wrong passphrase");
    assert_eq!(wrong.status(), 404);
    let revealed: Value = post(
        format!("secret/{secret_key}"),
        vec![("passphrase", PASSPHRASE)],
    )
    .await
    .expect("retrieve")
    .json()
    .await
    .expect("retrieve json");
    assert_eq!(revealed["value"], SECRET, "the secret went through");

    let generated: Value = post("generate".into(), vec![("passphrase", PASSPHRASE)])
        .await
        .expect("generate")
        .json()
        .await
        .expect("generate json");
    let generated_value = generated["value"].as_str().expect("value").to_owned();
    let generated_receipt = generated["metadata_key"]
        .as_str()
        .expect("metadata_key")
        .to_owned();
    let burn_without = post(format!("private/{generated_receipt}/burn"), vec![])
        .await
        .expect("burn");
    assert_eq!(burn_without.status(), 404, "burn needs the passphrase");
    let burn = post(
        format!("private/{generated_receipt}/burn"),
        vec![("passphrase", PASSPHRASE)],
    )
    .await
    .expect("burn");
    assert_eq!(burn.status(), 200);
    let recent = http
        .get(format!("{api}/private/recent"))
        .bearer_auth(BEARER)
        .send()
        .await
        .expect("recent");
    assert_eq!(recent.status(), 200);
    let status = http
        .get(format!("{api}/status"))
        .bearer_auth(BEARER)
        .send()
        .await
        .expect("status");
    assert_eq!(status.status(), 200);

    // The same values through the local /api/v2 surface (the upstream speaks v2 as well, since
    // `simulate` serves both): conceal, a wrong and a right reveal, generate, burn, views.
    let v2 = format!("{}/api/v2", gateway.base_url);
    let v2_post = |path: String, body: Value| {
        http.post(format!("{v2}/{path}"))
            .bearer_auth(BEARER)
            .json(&body)
            .send()
    };
    let concealed: Value = v2_post(
        "secret/conceal".into(),
        serde_json::json!({"secret": {"secret": SECRET, "passphrase": PASSPHRASE, "ttl": 600}}),
    )
    .await
    .expect("v2 conceal")
    .json()
    .await
    .expect("v2 conceal json");
    let v2_secret = concealed["record"]["secret"]["identifier"]
        .as_str()
        .expect("v2 secret id")
        .to_owned();
    let v2_receipt = concealed["record"]["receipt"]["identifier"]
        .as_str()
        .expect("v2 receipt id")
        .to_owned();
    let v2_wrong = v2_post(
        format!("secret/{v2_secret}/reveal"),
        serde_json::json!({"continue": true, "passphrase": "canary-wrong-pass-x2"}),
    )
    .await
    .expect("v2 wrong passphrase");
    assert_eq!(v2_wrong.status(), 422);
    let v2_revealed: Value = v2_post(
        format!("secret/{v2_secret}/reveal"),
        serde_json::json!({"continue": true, "passphrase": PASSPHRASE}),
    )
    .await
    .expect("v2 reveal")
    .json()
    .await
    .expect("v2 reveal json");
    assert_eq!(v2_revealed["record"]["secret_value"], SECRET);
    let v2_generated: Value = v2_post(
        "secret/generate".into(),
        serde_json::json!({"secret": {"passphrase": PASSPHRASE}}),
    )
    .await
    .expect("v2 generate")
    .json()
    .await
    .expect("v2 generate json");
    let v2_generated_value = v2_generated["details"]["secret_value"]
        .as_str()
        .expect("v2 generated value")
        .to_owned();
    let v2_generated_receipt = v2_generated["record"]["receipt"]["identifier"]
        .as_str()
        .expect("v2 generated receipt")
        .to_owned();
    let v2_burn = v2_post(
        format!("receipt/{v2_generated_receipt}/burn"),
        serde_json::json!({"continue": true, "passphrase": PASSPHRASE}),
    )
    .await
    .expect("v2 burn");
    assert_eq!(v2_burn.status(), 200);
    for path in [format!("receipt/{v2_receipt}"), "receipt/recent".to_owned()] {
        let viewed = http
            .get(format!("{v2}/{path}"))
            .bearer_auth(BEARER)
            .send()
            .await
            .expect("v2 view");
        assert_eq!(viewed.status(), 200);
    }

    // The same secret and passphrase through the MCP tools at /mcp: rmcp logs whole requests
    // at debug and trace, which the binary must keep out of its output.
    let mcp = |id: u32, tool: &str, arguments: Value| {
        support::mcp_tool_call(&http, &gateway.base_url, id, tool, arguments)
            .bearer_auth(BEARER)
            .send()
    };
    let shared_by_mcp: Value = mcp(
        1,
        "share_secret",
        serde_json::json!({"secret": SECRET, "passphrase": PASSPHRASE, "ttl": 300}),
    )
    .await
    .expect("mcp share")
    .json()
    .await
    .expect("mcp json");
    let result = &shared_by_mcp["result"];
    assert_eq!(result["isError"], false, "{shared_by_mcp}");
    let mcp_receipt = result["structuredContent"]["metadata_key"]
        .as_str()
        .expect("metadata_key")
        .to_owned();
    assert!(
        !shared_by_mcp.to_string().contains(SECRET),
        "share_secret echoed the secret"
    );
    let burned_by_mcp: Value = mcp(
        2,
        "burn_secret",
        serde_json::json!({"metadata_key": mcp_receipt, "passphrase": PASSPHRASE}),
    )
    .await
    .expect("mcp burn")
    .json()
    .await
    .expect("mcp json");
    assert_eq!(burned_by_mcp["result"]["isError"], false, "{burned_by_mcp}");

    let metrics = support::metrics_text(
        http.get(format!("{}/metrics", gateway.base_url))
            .bearer_auth(BEARER),
    )
    .await;
    assert!(
        metrics.contains("ots_gateway_operations_total"),
        "{metrics}"
    );
    let audit = std::fs::read_to_string(&audit_path).expect("audit file");
    assert!(
        audit.lines().count() >= 10,
        "one audit event per operation:\n{audit}"
    );
    assert!(audit.contains(r#""operation":"share""#), "{audit}");
    // SQLite may still hold recent writes in its WAL file; read both.
    let mut ledger_bytes = std::fs::read(&ledger_path).expect("ledger file");
    ledger_bytes.extend(std::fs::read(dir.join("ledger.sqlite3-wal")).unwrap_or_default());
    let ledger = String::from_utf8_lossy(&ledger_bytes).into_owned();
    assert!(
        ledger.contains(&metadata_key),
        "the ledger does record receipts"
    );

    // Keys are the ledger's purpose, but never in the audit log or metrics: short ids only.
    for (name, text) in [("audit log", &audit), ("metrics", &metrics)] {
        assert!(
            !text.contains(&secret_key) && !text.contains(&metadata_key),
            "{name} holds a full key"
        );
        assert!(!text.contains(&mcp_receipt), "{name} holds a full key");
        assert!(
            !text.contains(&v2_secret) && !text.contains(&v2_receipt),
            "{name} holds a full v2 key"
        );
    }
    for (name, text) in [
        ("audit log", &audit),
        ("metrics", &metrics),
        ("ledger", &ledger),
    ] {
        for canary in [
            SECRET,
            PASSPHRASE,
            "canary-wrong-pass-x1",
            "canary-wrong-pass-x2",
            BEARER,
            API_KEY,
            generated_value.as_str(),
            v2_generated_value.as_str(),
        ] {
            assert!(
                !text.contains(canary),
                "{name} holds secret material ({canary})"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    let gateway_logs = gateway.output();
    let simulator_logs = simulator.output();
    assert!(
        gateway_logs.contains("TRACE") || gateway_logs.contains("DEBUG"),
        "trace logging was on"
    );
    for (name, logs) in [("gateway", &gateway_logs), ("simulator", &simulator_logs)] {
        for canary in [
            SECRET,
            PASSPHRASE,
            "canary-wrong-pass-x1",
            "canary-wrong-pass-x2",
            BEARER,
            generated_value.as_str(),
            v2_generated_value.as_str(),
        ] {
            assert!(!logs.contains(canary), "{name} logged a secret ({canary})");
        }
        for key in [&v2_secret, &v2_receipt, &v2_generated_receipt] {
            assert!(!logs.contains(key.as_str()), "{name} logged a full v2 key");
        }
        assert!(!logs.contains(API_KEY), "{name} logged the API key");
        assert!(
            !logs.contains(&secret_key),
            "{name} logged a full secret key"
        );
        assert!(
            !logs.contains(&metadata_key),
            "{name} logged a full metadata key"
        );
    }
}
