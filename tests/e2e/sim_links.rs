//! Every link `ots-gateway simulate` hands out opens a page it serves itself, on each API it
//! can speak, and the pages refuse to be framed by another site.

use ots_gateway_rest::SimulatedApis;
use serde_json::{Value, json};

use crate::support::{self, TEAM_KEY, TEAM_USER};

async fn assert_opens_a_page(http: &reqwest::Client, link: &str) {
    let response = http.get(link).send().await.expect("open link");
    assert_eq!(response.status(), 200, "{link}");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/html"), "{link}");
    assert!(
        header("content-security-policy").contains("frame-ancestors 'none'"),
        "{link}"
    );
    assert_eq!(header("referrer-policy"), "no-referrer");
    let page = response.text().await.expect("page");
    assert!(page.contains("<script>"), "{link}");
}

fn links_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.starts_with("http://") => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| links_in(v, out)),
        Value::Object(map) => map
            .iter()
            // burn_url names an action, not a page a recipient opens.
            .filter(|(k, _)| k.as_str() != "burn_url")
            .for_each(|(_, v)| links_in(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_link_the_simulator_hands_out_opens_its_page() {
    for apis in [SimulatedApis::V1, SimulatedApis::V2, SimulatedApis::Both] {
        let (_sim, server) = support::simulator_speaking(apis, |_| {}).await;
        let base = server.url.as_str().trim_end_matches('/').to_owned();
        let http = reqwest::Client::new();
        let mut answers: Vec<Value> = Vec::new();
        if apis != SimulatedApis::V2 {
            let shared: Value = http
                .post(format!("{base}/api/v1/share"))
                .basic_auth(TEAM_USER, Some(TEAM_KEY))
                .form(&[("secret", "link-value")])
                .send()
                .await
                .expect("share")
                .json()
                .await
                .expect("json");
            let key = shared["metadata_key"].as_str().expect("key").to_owned();
            // v1 hands out the secret key, and every client builds the link OTS documents.
            let secret = shared["secret_key"].as_str().expect("secret key");
            answers.push(json!({"built_by_client": format!("{base}/secret/{secret}")}));
            answers.push(
                http.get(format!("{base}/api/v1/receipt/{key}"))
                    .send()
                    .await
                    .expect("receipt")
                    .json()
                    .await
                    .expect("json"),
            );
            answers.push(shared);
        }
        if apis != SimulatedApis::V1 {
            let concealed: Value = http
                .post(format!("{base}/api/v2/secret/conceal"))
                .json(&json!({"secret": {"secret": "link-value"}}))
                .send()
                .await
                .expect("conceal")
                .json()
                .await
                .expect("json");
            let id = concealed["record"]["receipt"]["identifier"]
                .as_str()
                .expect("id")
                .to_owned();
            answers.push(
                http.get(format!("{base}/api/v2/receipt/{id}"))
                    .send()
                    .await
                    .expect("receipt")
                    .json()
                    .await
                    .expect("json"),
            );
        }
        let mut links: Vec<String> = Vec::new();
        for answer in &answers {
            links_in(answer, &mut links);
        }
        assert!(
            links.iter().any(|l| l.contains("/secret/")),
            "{apis:?}: {links:?}"
        );
        assert!(
            links.iter().any(|l| l.contains("/receipt/")),
            "{apis:?}: {links:?}"
        );
        for link in &links {
            assert!(link.starts_with(&base), "{link} names another server");
            assert_opens_a_page(&http, link).await;
        }
    }
}
