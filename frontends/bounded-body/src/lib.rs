//! Reads a streamed HTTP request body without ever holding more than a set number of bytes.
//!
//! Both HTTP frontends need the same bound: the REST routes and `/mcp` on the gateway's
//! listener, and `/mcp` on the MCP frontend's own listener. Frontends never depend on each
//! other, and the core does not speak HTTP to local clients, so the rule lives in this small
//! crate of its own.
//!
//! Past the limit the body is read on, keeping nothing, up to a drain limit: answering a client
//! that is still uploading makes the server close the connection under it, and some clients
//! take that as the end of their session rather than as the answer.

// The binary's allocator is the project's only unsafe code (ARCHITECTURE.md, "Invariants").
#![forbid(unsafe_code)]

use bytes::Bytes;
use http_body::Body;
use http_body_util::BodyExt;

/// How much of an oversized MCP body is read and thrown away so that its sender gets the
/// answer; beyond it, the connection is closed after the answer instead. Both listeners that
/// serve `/mcp` use it, so a client sees the same behaviour on either.
pub const MCP_DRAIN_LIMIT: usize = 4 * 1024 * 1024;

/// How reading a body ended.
#[derive(Debug)]
pub enum BodyRead {
    /// The whole body, within the limit.
    Complete(Bytes),
    /// Over the limit. `drained` says whether the rest was read to its end (so the answer can
    /// go out on a connection that stays usable) or reading stopped at the drain limit.
    TooLarge { drained: bool },
    /// The stream failed before the limit was reached.
    Failed,
}

/// Keeps at most `max_bytes`; past that, reads on (keeping nothing) until the body ends or
/// `drain_limit` bytes have come in. Trailers are ignored. A `drain_limit` at or below
/// `max_bytes` stops at the first byte over the limit.
pub async fn read_bounded<B>(mut body: B, max_bytes: usize, drain_limit: usize) -> BodyRead
where
    B: Body<Data = Bytes> + Unpin,
{
    let mut kept: Vec<u8> = Vec::new();
    let mut total: usize = 0;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return if total > max_bytes {
                BodyRead::TooLarge { drained: false }
            } else {
                BodyRead::Failed
            };
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total <= max_bytes {
            kept.extend_from_slice(&data);
        } else {
            kept = Vec::new();
            if total > drain_limit {
                return BodyRead::TooLarge { drained: false };
            }
        }
    }
    if total > max_bytes {
        BodyRead::TooLarge { drained: true }
    } else {
        BodyRead::Complete(Bytes::from(kept))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use http_body::Frame;

    use super::*;

    /// A body that hands out the given chunks, then optionally fails.
    struct Chunks {
        chunks: VecDeque<Result<Frame<Bytes>, &'static str>>,
    }

    impl Chunks {
        fn of(sizes: &[usize]) -> Self {
            Chunks {
                chunks: sizes
                    .iter()
                    .map(|&size| Ok(Frame::data(Bytes::from(vec![b'x'; size]))))
                    .collect(),
            }
        }

        fn then_fail(mut self) -> Self {
            self.chunks.push_back(Err("connection reset"));
            self
        }

        fn then_trailers(mut self) -> Self {
            self.chunks
                .push_back(Ok(Frame::trailers(http::HeaderMap::new())));
            self
        }
    }

    impl Body for Chunks {
        type Data = Bytes;
        type Error = &'static str;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.chunks.pop_front())
        }
    }

    #[tokio::test]
    async fn a_body_within_the_limit_is_kept_whole_and_trailers_are_ignored() {
        let read = read_bounded(Chunks::of(&[4, 6]).then_trailers(), 10, 100).await;
        assert!(matches!(read, BodyRead::Complete(bytes) if bytes.len() == 10));
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_drained_to_its_end_within_the_drain_limit() {
        let read = read_bounded(Chunks::of(&[8, 8, 8]), 10, 100).await;
        assert!(matches!(read, BodyRead::TooLarge { drained: true }));
    }

    #[tokio::test]
    async fn reading_stops_once_the_drain_limit_is_passed() {
        let read = read_bounded(Chunks::of(&[8, 8, 8, 8]), 10, 20).await;
        assert!(matches!(read, BodyRead::TooLarge { drained: false }));
    }

    #[tokio::test]
    async fn a_drain_limit_at_the_limit_stops_at_the_first_byte_over() {
        let read = read_bounded(Chunks::of(&[10, 1, 1]), 10, 10).await;
        assert!(matches!(read, BodyRead::TooLarge { drained: false }));
    }

    #[tokio::test]
    async fn a_stream_failing_within_the_limit_is_a_failure_and_past_it_too_large() {
        let within = read_bounded(Chunks::of(&[4]).then_fail(), 10, 100).await;
        assert!(matches!(within, BodyRead::Failed));
        let past = read_bounded(Chunks::of(&[16]).then_fail(), 10, 100).await;
        assert!(matches!(past, BodyRead::TooLarge { drained: false }));
    }
}
