//! Per-client tokens: each agent or script proves who it is, and REST and MCP attribute its
//! requests (quotas, ownership, audit) to the token's label rather than a self-declared name.

use serde_json::Value;

use crate::support;

const ALICE: &str = "alice-token-0123456789";
const BOB: &str = "bob-token-9876543210xx";

#[tokio::test]
async fn client_tokens_give_each_caller_its_own_identity_on_rest_and_mcp() {
    let dir = support::scratch_root().join(format!("ots-gateway-tokens-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let tokens = dir.join("tokens");
    std::fs::write(
        &tokens,
        format!("# one per agent\nalice:{ALICE}\nbob:{BOB}\n"),
    )
    .expect("write tokens");
    let tokens_path = tokens.to_string_lossy().into_owned();
    let gateway = support::start(
        &["serve", "--dev", "--listen", "127.0.0.1:0"],
        &[
            (
                "OTS_GATEWAY__SERVER__CLIENT_TOKENS_FILE",
                tokens_path.as_str(),
            ),
            (
                "OTS_GATEWAY__REST__QUOTA_CREATE",
                "{ per_minute = 1, burst = 1 }",
            ),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let share = |token: Option<&'static str>, label: &'static str| {
        let mut request = http
            .post(format!("{}/api/v1/share", gateway.base_url))
            .header("X-OTS-Gateway-Client", label)
            .form(&[("secret", "s")]);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };

    assert_eq!(
        share(None, "alice").await.expect("share").status(),
        401,
        "a token is required"
    );
    assert_eq!(share(Some(ALICE), "x").await.expect("share").status(), 200);
    // The self-declared label cannot escape the token's quota...
    assert_eq!(
        share(Some(ALICE), "someone-else")
            .await
            .expect("share")
            .status(),
        429
    );
    // ...and another token is another caller.
    assert_eq!(
        share(Some(BOB), "alice").await.expect("share").status(),
        200
    );

    let status: Value = support::mcp_tool_call(
        &http,
        &gateway.base_url,
        1,
        "gateway_status",
        serde_json::json!({}),
    )
    .bearer_auth(ALICE)
    .header("X-OTS-Gateway-Client", "pretending")
    .send()
    .await
    .expect("mcp")
    .json()
    .await
    .expect("json");
    assert_eq!(
        status["result"]["structuredContent"]["caller_id"], "alice",
        "{status}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
