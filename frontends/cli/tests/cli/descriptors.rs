//! The real binary under a small open-file limit, against a flood of idle connections,
//! half-sent heads and trickled bodies: it keeps answering, and stops promptly. Counts are bounded; nothing is timed.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support;

/// More sockets than the gateway has descriptors for.
const FLOOD: usize = 300;

#[tokio::test]
async fn a_flood_of_idle_sockets_under_a_small_fd_limit_does_not_stop_the_gateway() {
    let gateway = support::start_with_open_file_limit(
        128,
        &["serve", "--dev", "--listen", "127.0.0.1:0"],
        &[],
    )
    .await;
    let addr = gateway.base_url.trim_start_matches("http://").to_owned();
    let mut flood = Vec::with_capacity(FLOOD);
    for n in 0..FLOOD {
        let Ok(mut stream) = TcpStream::connect(&addr).await else {
            continue;
        };
        match n % 3 {
            // Stalled inside a request head (slowloris).
            0 => {
                let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ").await;
            }
            // A body promised and never sent, on REST and on /mcp.
            1 => {
                let path = if n % 2 == 0 { "/api/v1/share" } else { "/mcp" };
                let head = format!(
                    "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                     Content-Length: 4000\r\n\r\n{{\"secret\":"
                );
                let _ = stream.write_all(head.as_bytes()).await;
            }
            // Simply idle.
            _ => {}
        }
        flood.push(stream);
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    for path in ["/healthz", "/api/v1/status"] {
        let response = client
            .get(format!("{}{path}", gateway.base_url))
            .send()
            .await
            .unwrap_or_else(|error| panic!("{path} not answered during the flood: {error}"));
        assert_eq!(response.status(), 200, "{path}");
    }
    let output = gateway.output();
    assert!(
        !output.contains("Too many open files"),
        "the gateway ran out of descriptors:\n{output}"
    );
    // SIGTERM must not wait for the flood (terminate() bounds the wait).
    let status = gateway.terminate().await;
    assert!(status.success(), "exit status {status}");
    drop(flood);
}
