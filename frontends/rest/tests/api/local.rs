//! Routing and refusals the REST frontend answers itself, before any upstream call.

use ots_gateway_rest::{RestConfig, gateway_router, simulator_router};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{client, idle_gateway, send, simulator, start};

const SHORT_KEY: &str = "abcdefghij0123456789"; // exactly 20 characters is long enough
const TOO_SHORT: &str = "abcdefghij012345678";

#[tokio::test]
async fn unknown_routes_and_wrong_verbs_get_otto_not_found() {
    for router in [
        gateway_router(idle_gateway(), RestConfig::default()),
        simulator_router(simulator(), RestConfig::default()),
    ] {
        let server = start(router).await;
        let c = client();
        for request in [
            c.get(server.url("/api/v1/nope")),
            c.get(server.url("/")),
            c.get(server.url("/api/v3/status")),
            c.get(server.url("/api/v1/share")),
            c.delete(server.url("/api/v1/status")),
            c.get(server.url(&format!("/api/v1/secret/{SHORT_KEY}"))),
            c.post(server.url("/api/v1/status//")),
            c.get(server.url(&format!("/api/v1/private/{SHORT_KEY}/burn"))),
        ] {
            let reply = send(request).await;
            assert_eq!(reply.status, 404);
            assert_eq!(reply.body, json!({"error": "Not Found"}));
            assert_eq!(reply.header("x-ots-intended-status"), None);
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn keys_shorter_than_twenty_characters_are_not_found() {
    let server = start(gateway_router(idle_gateway(), RestConfig::default())).await;
    let c = client();
    for path in [
        format!("/api/v1/secret/{TOO_SHORT}"),
        format!("/api/v1/secret/{TOO_SHORT}/"),
        format!("/api/v1/private/{TOO_SHORT}"),
        format!("/api/v1/metadata/{TOO_SHORT}"),
        format!("/api/v1/receipt/{TOO_SHORT}/burn"),
        "/api/v1/private/x/burn/".to_owned(),
    ] {
        let reply = send(c.post(server.url(&path))).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.body, json!({"message": "Not Found"}), "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn malformed_json_is_a_400_before_anything_else() {
    let server = start(gateway_router(idle_gateway(), RestConfig::default())).await;
    let c = client();
    for path in [
        "/api/v1/share".to_owned(),
        "/api/v1/generate/".to_owned(),
        format!("/api/v1/secret/{SHORT_KEY}"),
    ] {
        let reply = send(
            c.post(server.url(&path))
                .header("content-type", "application/json")
                .body("{\"secret\":"),
        )
        .await;
        assert_eq!(reply.status, 400);
        assert_eq!(reply.body, json!({"error": "Failed to parse body as JSON"}));
    }
    server.stop().await;
}

#[tokio::test]
async fn oversized_bodies_get_a_json_413() {
    let config = RestConfig {
        max_body_bytes: 1024,
        ..RestConfig::default()
    };
    let server = start(gateway_router(idle_gateway(), config)).await;
    let reply = send(
        client()
            .post(server.url("/api/v1/share"))
            .form(&[("secret", "x".repeat(2000))]),
    )
    .await;
    assert_eq!(reply.status, 413);
    assert!(reply.body["message"].is_string());
    server.stop().await;
}

#[tokio::test]
async fn oversized_chunked_bodies_get_a_json_413_too() {
    let config = RestConfig {
        max_body_bytes: 1024,
        ..RestConfig::default()
    };
    let server = start(gateway_router(idle_gateway(), config)).await;
    // No Content-Length, so the limit can only bite while the body streams in.
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let chunk = format!("secret={}", "x".repeat(1993));
    let request = format!(
        "POST /api/v1/share HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains("application/json; charset=utf-8"),
        "{response}"
    );
    assert!(response.contains("{\"message\":"), "{response}");
    server.stop().await;
}

#[tokio::test]
async fn client_labels_are_validated() {
    let server = start(gateway_router(idle_gateway(), RestConfig::default())).await;
    let c = client();
    let path = server.url(&format!("/api/v1/secret/{TOO_SHORT}"));
    let too_long = "a".repeat(65);
    for bad in ["has space", "slash/y", too_long.as_str(), ""] {
        let reply = send(c.post(&path).header("x-ots-gateway-client", bad)).await;
        assert_eq!(reply.status, 400, "{bad:?}");
        assert!(
            reply.body["message"]
                .as_str()
                .unwrap()
                .contains("X-OTS-Gateway-Client")
        );
    }
    // A valid label gets past the label check, to the key guard.
    let reply = send(
        c.post(&path)
            .header("x-ots-gateway-client", "deploy-bot.v2_1"),
    )
    .await;
    assert_eq!(reply.body, json!({"message": "Not Found"}));
    server.stop().await;
}

#[tokio::test]
async fn healthz_answers_without_the_upstream() {
    let server = start(gateway_router(idle_gateway(), RestConfig::default())).await;
    let reply = send(client().get(server.url("/healthz"))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, json!({"status": "ok"}));
    server.stop().await;
}
