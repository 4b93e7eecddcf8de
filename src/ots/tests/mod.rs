//! Tests against small fake OTS servers on real sockets (127.0.0.1, port 0).

mod api_choice;
mod canary;
mod error_mapping;
mod fake;
mod parsing;
mod pooling;
mod request_shape;
mod retries;
mod stalls_and_breaks;
mod unreachable;
mod wire_bytes;
