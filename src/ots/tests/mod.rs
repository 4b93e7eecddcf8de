//! Tests against small fake OTS servers on real sockets (127.0.0.1, port 0).

mod canary;
mod error_mapping;
mod fake;
mod parsing;
mod request_shape;
mod retries;
mod unreachable;
