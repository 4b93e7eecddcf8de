//! The simulator's v2 answers, compared key by key and JSON type by JSON type with the example
//! shapes recorded in `docs/ots-api-v2-notes.md` (read from the file, so the doc and the test
//! cannot drift apart).

use std::collections::BTreeSet;

use ots_gateway_rest::SimulatedApis;
use serde_json::{Value, json};

use crate::support::{self, TEAM_KEY, TEAM_USER};

const NOTES: &str = include_str!("../../docs/ots-api-v2-notes.md");

/// The JSON block that follows `<!-- example: NAME -->` in the notes.
fn example(name: &str) -> Value {
    let marker = format!("<!-- example: {name} -->");
    let after = NOTES
        .split_once(&marker)
        .unwrap_or_else(|| panic!("no example {name} in the notes"))
        .1;
    let block = after
        .split_once("```json")
        .and_then(|(_, rest)| rest.split_once("```"))
        .unwrap_or_else(|| panic!("example {name} has no json block"))
        .0;
    serde_json::from_str(block).unwrap_or_else(|e| panic!("example {name} is not JSON: {e}"))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Same keys; same JSON type wherever both sides have a value (`null` stands for a field that
/// is simply unset in one of the two).
fn assert_same_shape(what: &str, actual: &Value, expected: &Value) {
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object()
            .unwrap_or_else(|| panic!("{what}: not an object: {v}"))
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(keys(actual), keys(expected), "{what}: keys differ");
    for (key, want) in expected.as_object().into_iter().flatten() {
        let got = &actual[key];
        if got.is_null() || want.is_null() {
            continue;
        }
        assert_eq!(
            json_type(got),
            json_type(want),
            "{what}.{key}: {got} vs {want}"
        );
    }
}

fn without(mut object: Value, key: &str) -> Value {
    if let Some(map) = object.as_object_mut() {
        map.remove(key);
    }
    object
}

fn merged(mut base: Value, extra: &Value) -> Value {
    if let (Some(map), Some(more)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            map.insert(k.clone(), v.clone());
        }
    }
    base
}

#[tokio::test]
async fn simulator_v2_answers_match_the_recorded_shapes() {
    let (_sim, server) = support::simulator_speaking(SimulatedApis::V2, |_| {}).await;
    let api = format!("{}/api/v2", server.url.as_str().trim_end_matches('/'));
    let http = reqwest::Client::new();
    let team = |request: reqwest::RequestBuilder| request.basic_auth(TEAM_USER, Some(TEAM_KEY));

    let status: Value = http
        .get(format!("{api}/status"))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(status, example("status"));

    let concealed: Value = team(http.post(format!("{api}/secret/conceal")))
        .json(&json!({"secret": {"secret": "shape-value", "ttl": 3600, "passphrase": "pass-1234"}}))
        .send()
        .await
        .expect("conceal")
        .json()
        .await
        .expect("json");
    let receipt_shape = example("receipt-object");
    assert_same_shape(
        "conceal.record.receipt",
        &concealed["record"]["receipt"],
        &receipt_shape,
    );
    assert_eq!(
        concealed["record"]["receipt"],
        concealed["record"]["metadata"]
    );
    assert_same_shape(
        "conceal.record.secret",
        &concealed["record"]["secret"],
        &example("secret-object"),
    );
    assert!(
        concealed["record"].get("share_url").is_none(),
        "the simulator adds no gateway fields"
    );
    let receipt_id = concealed["record"]["receipt"]["identifier"]
        .as_str()
        .expect("id")
        .to_owned();
    let secret_id = concealed["record"]["secret"]["identifier"]
        .as_str()
        .expect("id")
        .to_owned();

    let view: Value = http
        .get(format!("{api}/receipt/{receipt_id}"))
        .send()
        .await
        .expect("view")
        .json()
        .await
        .expect("json");
    let view_shape = merged(
        without(receipt_shape.clone(), "secret_identifier"),
        &example("receipt-view-extra"),
    );
    assert_same_shape("receipt view record", &view["record"], &view_shape);

    let revealed: Value = http
        .post(format!("{api}/secret/{secret_id}/reveal"))
        .json(&json!({"continue": true, "passphrase": "pass-1234"}))
        .send()
        .await
        .expect("reveal")
        .json()
        .await
        .expect("json");
    assert_same_shape(
        "reveal.details",
        &revealed["details"],
        &example("reveal-details"),
    );
    assert_eq!(revealed["record"]["secret_value"], json!("shape-value"));
    assert_same_shape(
        "reveal.record",
        &without(revealed["record"].clone(), "secret_value"),
        &example("secret-object"),
    );

    let missing = http
        .get(format!("{api}/no/such/route"))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<Value>().await.expect("json"),
        example("not-found")
    );
}
