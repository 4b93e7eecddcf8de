# Multi-stage build: compile with the full Rust toolchain, ship only the binary on a slim base.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p ots-gateway

FROM debian:bookworm-slim
# No CA bundle needed: the OTS client verifies TLS against the webpki roots compiled into the
# binary (so a self-hosted OTS behind a private CA is not supported yet).
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin ots-gateway
COPY --from=build /src/target/release/ots-gateway /usr/local/bin/ots-gateway
COPY config/ots-gateway.toml /etc/ots-gateway/ots-gateway.toml
USER ots-gateway

# Inside a container the listener must accept connections from the host, so it binds all
# interfaces. The gateway refuses that without a bearer token (OTS_GATEWAY_BEARER_TOKEN or
# server.bearer_token_file); publish the port on the host's loopback only:
#   docker run -p 127.0.0.1:7143:7143 -e OTS_GATEWAY_BEARER_TOKEN=... ots-gateway
ENV OTS_GATEWAY_CONFIG=/etc/ots-gateway/ots-gateway.toml \
    OTS_GATEWAY__SERVER__LISTEN=0.0.0.0:7143
EXPOSE 7143
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["ots-gateway", "health", "--url", "http://127.0.0.1:7143"]
ENTRYPOINT ["ots-gateway"]
CMD ["serve"]
