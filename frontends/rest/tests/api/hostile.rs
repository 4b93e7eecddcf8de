//! Hostile local processes against the real listener: slow heads, idle floods, trickled bodies,
//! token guessing. Counts are small and every wait is bounded, so the tests stay cheap; what is
//! asserted is behaviour (closed, answered, refused), never how fast.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ots_gateway_rest::{ListenerLoad, ListenerSettings, RestConfig, gateway_router};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Server, client, idle_gateway, send, start_with};

/// Long enough for anything this machine does, short of a hang.
const BOUND: Duration = Duration::from_secs(30);

async fn start_bounded(config: RestConfig, settings: ListenerSettings) -> (Server, ListenerLoad) {
    let gateway = idle_gateway();
    let load = ListenerLoad::new(&settings, gateway.listener_metrics());
    let server = start_with(gateway_router(gateway, config), &settings, load.clone()).await;
    (server, load)
}

/// Waits until the server closes `stream` (EOF or reset), reading and discarding anything it
/// sends first. Panics if that takes longer than [`BOUND`].
async fn closed_by_server(mut stream: TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let read_all = async {
        let mut buffer = [0u8; 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    };
    tokio::time::timeout(BOUND, read_all)
        .await
        .expect("the server never closed the connection");
    received
}

#[tokio::test]
async fn slow_heads_are_cut_off_and_cannot_lock_out_a_normal_request() {
    let settings = ListenerSettings {
        max_connections: 8,
        header_read_timeout: Duration::from_millis(500),
        ..ListenerSettings::default()
    };
    let (server, _load) = start_bounded(RestConfig::default(), settings).await;
    // Three times the cap, each stuck in the middle of its request head.
    let mut slow = Vec::new();
    for _ in 0..24 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHo")
            .await
            .unwrap();
        slow.push(stream);
    }
    let reply = send(client().get(server.url("/healthz"))).await;
    assert_eq!(reply.status, 200, "a real request still gets in");
    for stream in slow {
        let answer = closed_by_server(stream).await;
        assert!(
            !String::from_utf8_lossy(&answer).contains("200 OK"),
            "no half-sent head is ever served"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn an_idle_or_trickling_flood_is_displaced_by_real_callers() {
    let settings = ListenerSettings {
        max_connections: 4,
        // Never reached here: the flood must give way without waiting for it.
        header_read_timeout: Duration::from_secs(3600),
        body_read_timeout: Duration::from_secs(3600),
    };
    let gateway = idle_gateway();
    let load = ListenerLoad::new(&settings, gateway.listener_metrics());
    let server = start_with(
        gateway_router(gateway.clone(), RestConfig::default()),
        &settings,
        load.clone(),
    )
    .await;
    let mut idle = Vec::new();
    for n in 0..20 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        if n % 2 == 0 {
            // A body promised and never sent: nothing done yet, so no better than idle.
            stream
                .write_all(
                    b"POST /api/v1/share HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                      Content-Type: application/x-www-form-urlencoded\r\n\
                      Content-Length: 1000\r\n\r\nsecret=",
                )
                .await
                .unwrap();
        }
        idle.push(stream);
    }
    // Each request opens a fresh connection, so each must displace an idle one.
    for _ in 0..3 {
        let c = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let reply = send(c.get(server.url("/api/v1/status"))).await;
        assert_eq!(reply.status, 200);
    }
    assert!(load.open_connections() <= 4, "the cap holds");
    let metrics = gateway.metrics_text();
    assert!(
        metrics.contains("ots_gateway_listener_evicted_connections_total"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("ots_gateway_listener_evicted_connections_total 0"),
        "{metrics}"
    );
    // Shutdown waits for requests, not for the idle sockets still open.
    tokio::time::timeout(BOUND, server.stop())
        .await
        .expect("shutdown waited on idle connections");
    drop(idle);
}

#[tokio::test]
async fn shutdown_does_not_wait_on_half_open_connections() {
    let settings = ListenerSettings {
        header_read_timeout: Duration::from_secs(3600),
        body_read_timeout: Duration::from_secs(3600),
        ..ListenerSettings::default()
    };
    let (server, _load) = start_bounded(RestConfig::default(), settings).await;
    let mut half_open = Vec::new();
    for _ in 0..5 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"POST /api/v1/share HTTP/1.1\r\n")
            .await
            .unwrap();
        half_open.push(stream);
    }
    // Bodies promised and never sent: requests in flight, but with nothing done yet.
    for _ in 0..3 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(
                b"POST /api/v1/share HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                  Content-Type: application/x-www-form-urlencoded\r\n\
                  Content-Length: 1000\r\n\r\nsecret=",
            )
            .await
            .unwrap();
        half_open.push(stream);
    }
    // And one keep-alive connection left idle after a complete request.
    let keep_alive = client();
    assert_eq!(
        send(keep_alive.get(server.url("/healthz"))).await.status,
        200
    );
    tokio::time::timeout(BOUND, server.stop())
        .await
        .expect("shutdown waited on half-open connections");
    drop(half_open);
}

#[tokio::test]
async fn a_trickled_body_holds_no_request_slot() {
    let config = RestConfig {
        max_concurrent_requests: 2,
        ..RestConfig::default()
    };
    let settings = ListenerSettings {
        body_read_timeout: Duration::from_millis(500),
        ..ListenerSettings::default()
    };
    let (server, _load) = start_bounded(config, settings).await;
    // More bodies than slots, each promising 1000 bytes and sending 10.
    let mut trickling = Vec::new();
    for _ in 0..6 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(
                b"POST /api/v1/share HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                  Content-Type: application/x-www-form-urlencoded\r\n\
                  Content-Length: 1000\r\n\r\nsecret=abc",
            )
            .await
            .unwrap();
        trickling.push(stream);
    }
    for _ in 0..3 {
        let reply = send(client().get(server.url("/api/v1/status"))).await;
        assert_eq!(reply.status, 200, "slots are free while bodies trickle");
    }
    for stream in trickling {
        let answer = String::from_utf8_lossy(&closed_by_server(stream).await).into_owned();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("did not arrive in time"), "{answer}");
    }
    server.stop().await;
}

#[tokio::test]
async fn readyz_reports_a_listener_at_its_cap() {
    let settings = ListenerSettings {
        max_connections: 1,
        ..ListenerSettings::default()
    };
    let (server, load) = start_bounded(RestConfig::default(), settings).await;
    // The probe's own connection fills the only place.
    let reply = send(client().get(server.url("/readyz"))).await;
    assert_eq!(reply.status, 503);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("connections are open"),
        "{:?}",
        reply.body
    );
    assert_eq!(load.max_connections(), 1);
    server.stop().await;
}

const TOKEN: &str = "gw-token-0123456789abcdef";

fn with_token() -> RestConfig {
    RestConfig {
        bearer_token: Some(SecretString::from(TOKEN.to_owned())),
        ..RestConfig::default()
    }
}

#[tokio::test]
async fn many_authorization_headers_are_one_refused_request() {
    let (server, _load) = start_bounded(with_token(), ListenerSettings::default()).await;
    let c = client();
    let mut request = c.get(server.url("/api/v1/status"));
    for n in 0..20 {
        request = request.header("authorization", format!("Bearer guess-{n}"));
    }
    let reply = send(request.header("authorization", format!("Bearer {TOKEN}"))).await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("exactly one Authorization header")
    );
    let reply = send(c.get(server.url("/api/v1/status")).bearer_auth(TOKEN)).await;
    assert_eq!(reply.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn failed_token_attempts_are_throttled_counted_and_never_echoed() {
    let gateway = idle_gateway();
    let settings = ListenerSettings::default();
    let load = ListenerLoad::new(&settings, gateway.listener_metrics());
    let server = start_with(
        gateway_router(gateway.clone(), with_token()),
        &settings,
        load,
    )
    .await;
    let c = client();
    let url = server.url("/api/v1/status");
    let mut refused = 0;
    let mut throttled = None;
    for n in 0..40 {
        let guess = format!("canary-guess-{n:04}-xxxxxxxx");
        let reply = send(c.get(&url).bearer_auth(&guess)).await;
        assert!(!reply.body.to_string().contains(&guess));
        match reply.status {
            401 => refused += 1,
            429 => {
                throttled = Some(reply);
                break;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let throttled = throttled.expect("guessing was never throttled");
    assert!(refused >= 1);
    assert!(throttled.header("retry-after").is_some());
    // The right token does not help while the peer is throttled: that would answer the guess.
    let basic = format!("Basic {}", STANDARD.encode(format!("x:{TOKEN}")));
    let reply = send(c.get(&url).header("authorization", basic)).await;
    assert_eq!(reply.status, 429);
    // /healthz never needs a token, so it is never throttled.
    assert_eq!(send(c.get(server.url("/healthz"))).await.status, 200);
    let metrics = gateway.metrics_text();
    assert!(
        metrics.contains(&format!("ots_gateway_auth_failures_total {refused}")),
        "{metrics}"
    );
    assert!(
        metrics.contains("ots_gateway_auth_throttled_total 2"),
        "{metrics}"
    );
    server.stop().await;
}

/// A share with a passphrase through `url`'s gateway; returns the secret key.
async fn share_with_passphrase(c: &reqwest::Client, server: &Server, passphrase: &str) -> String {
    let reply = send(
        c.post(server.url("/api/v1/share"))
            .form(&[("secret", "the-real-secret"), ("passphrase", passphrase)]),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["secret_key"].as_str().unwrap().to_owned()
}

async fn guess(
    c: &reqwest::Client,
    server: &Server,
    key: &str,
    who: &str,
    pass: &str,
) -> crate::support::Reply {
    send(
        c.post(server.url(&format!("/api/v1/secret/{key}")))
            .header("X-OTS-Gateway-Client", who)
            .form(&[("passphrase", pass)]),
    )
    .await
}

#[tokio::test]
async fn passphrase_guessing_cannot_lock_the_secret_for_its_recipient() {
    // The simulator locks a secret after 20 wrong passphrases from the gateway's one address,
    // as OTS does.
    let sim = crate::support::simulator();
    let gateway = crate::support::gateway_over(ots_gateway_core::upstream::Upstream::Simulated(
        sim.as_caller(None, None),
    ));
    let settings = ListenerSettings::default();
    let load = ListenerLoad::new(&settings, gateway.listener_metrics());
    let server = start_with(
        gateway_router(gateway, RestConfig::default()),
        &settings,
        load,
    )
    .await;
    let c = client();
    let key = share_with_passphrase(&c, &server, "correct horse").await;

    // One guesser: five wrong answers, then refused with a reason and a wait.
    for n in 0..5 {
        let reply = guess(&c, &server, &key, "mallory", &format!("wrong-{n}")).await;
        assert_eq!(reply.status, 404, "v1's answer to a wrong passphrase");
        assert_eq!(reply.body["message"], "Unknown secret");
    }
    let refused = guess(&c, &server, &key, "mallory", "wrong-5").await;
    assert_eq!(refused.status, 429);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("too many incorrect passphrase attempts"),
        "{:?}",
        refused.body
    );
    assert!(refused.header("retry-after").is_some());

    // Many guessers (label churn) together stop below the upstream's 20.
    let mut reached_upstream = 5;
    for label in 0..40 {
        let who = format!("mallory-{label}");
        let reply = guess(&c, &server, &key, &who, "still-wrong").await;
        match reply.status {
            404 => reached_upstream += 1,
            429 => {}
            other => panic!("unexpected {other}: {:?}", reply.body),
        }
    }
    assert!(
        reached_upstream < 20,
        "{reached_upstream} wrong passphrases reached OTS"
    );
    server.stop().await;

    // The upstream never locked the secret: the recipient, through a fresh gateway (the lock
    // here is the guard's, which lifts with its window), still gets it.
    let gateway = crate::support::gateway_over(ots_gateway_core::upstream::Upstream::Simulated(
        sim.as_caller(None, None),
    ));
    let server = start_with(
        gateway_router(gateway, RestConfig::default()),
        &settings,
        ListenerLoad::new(&settings, Default::default()),
    )
    .await;
    let reply = guess(&c, &server, &key, "recipient", "correct horse").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["value"], "the-real-secret");
    server.stop().await;
}

#[tokio::test]
async fn an_upstream_lockout_is_named_as_such() {
    let sim = crate::support::simulator();
    // Guess straight at the simulator (another client of the same OTS account and address)
    // until it locks the secret.
    let direct = gateway_router(
        crate::support::gateway_over(ots_gateway_core::upstream::Upstream::Simulated(
            sim.as_caller(None, None),
        )),
        RestConfig::default(),
    );
    let direct = crate::support::start(direct).await;
    let c = client();
    let key = share_with_passphrase(&c, &direct, "right").await;
    direct.stop().await;
    let upstream = sim.as_caller(None, None);
    let secret_key = ots_gateway_core::model::SecretKey::parse(&key).unwrap();
    for n in 0..20 {
        let wrong = ots_gateway_core::model::Passphrase::new(format!("wrong-{n}"));
        let _ = upstream.retrieve(&secret_key, Some(&wrong));
    }
    let gateway = crate::support::gateway_over(ots_gateway_core::upstream::Upstream::Simulated(
        sim.as_caller(None, None),
    ));
    let server = crate::support::start(gateway_router(gateway, RestConfig::default())).await;
    let reply = guess(&c, &server, &key, "recipient", "right").await;
    assert_eq!(reply.status, 429, "{:?}", reply.body);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("too many incorrect passphrase attempts")
    );
    server.stop().await;
}

#[tokio::test]
async fn rotating_client_labels_buys_no_extra_quota() {
    use ots_gateway_core::limits::{
        DECLARED_AGGREGATE_FACTOR, OperationClass, QuotaSettings, Rate,
    };
    use ots_gateway_core::model::Frontend;
    use std::num::NonZeroU32;

    let two = NonZeroU32::new(2).unwrap();
    let mut quotas = QuotaSettings::default();
    quotas.callers.insert(
        (Frontend::Rest, OperationClass::Create),
        Rate {
            per_minute: two,
            burst: two,
        },
    );
    let sim = crate::support::simulator();
    let ledger = ots_gateway_core::ledger::SqliteLedger::open_in_memory().unwrap();
    let gateway = ots_gateway_core::Gateway::builder(
        ots_gateway_core::upstream::Upstream::Simulated(sim.as_caller(None, None)),
        std::sync::Arc::new(ledger),
    )
    .quotas(quotas)
    .build();
    let server = crate::support::start(gateway_router(gateway, RestConfig::default())).await;
    let c = client();
    let mut created = 0;
    for n in 0..30 {
        let reply = send(
            c.post(server.url("/api/v1/share"))
                .header("X-OTS-Gateway-Client", format!("churn-{n}"))
                .form(&[("secret", "s")]),
        )
        .await;
        match reply.status {
            200 => created += 1,
            429 => {}
            other => panic!("unexpected {other}: {:?}", reply.body),
        }
    }
    assert_eq!(created, 2 * DECLARED_AGGREGATE_FACTOR.get());
    server.stop().await;
}

#[tokio::test]
async fn a_trickled_mcp_body_is_refused_in_json_rpc() {
    use axum::routing::post;
    use ots_gateway_rest::{gateway_routes, local_only};

    let config = RestConfig::default();
    let mcp = axum::Router::new().route("/", post(|| async { "handled" }));
    let routes = gateway_routes(idle_gateway(), &config).nest_service("/mcp", mcp);
    let settings = ListenerSettings {
        body_read_timeout: Duration::from_millis(300),
        ..ListenerSettings::default()
    };
    let server = start_with(
        local_only(routes, &config),
        &settings,
        ListenerLoad::new(&settings, Default::default()),
    )
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Accept: application/json, text/event-stream\r\n\
              Content-Length: 500\r\n\r\n{\"jsonrpc\":",
        )
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&closed_by_server(stream).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(body).expect(&answer);
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["error"]["code"], -32600);
    assert!(body["id"].is_null());
    server.stop().await;
}
