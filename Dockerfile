# The segmentation service as a container image (README "Deploy").
#
#   docker build -t segmentation:0.1.0 .
#
# Stage 1 builds the release binary with the Rust toolchain the crate asks for (rust-version
# 1.95 in Cargo.toml), with exactly the command README's Deploy section shows. Everything the
# build needs is in the repository: protoc comes from the protoc-bin-vendored crate and SQLite is
# compiled in, so no system packages are installed.
FROM rust:1.95-slim-trixie AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked

# Stage 2 is the runtime: a slim Debian with CA certificates (TLS to PostgreSQL), the binary and
# an unprivileged user. Nothing else.
FROM debian:trixie-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 segmentation \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/segmentation --create-home \
       --shell /usr/sbin/nologin segmentation
COPY --from=build /src/target/release/segmentation /usr/local/bin/segmentation
USER 10001:10001
WORKDIR /var/lib/segmentation
# gRPC (with grpc.health.v1 for probes) and the REST gateway. The service still binds loopback
# unless told otherwise: set SEGMENTATION_GRPC_ADDR=0.0.0.0:50051 and
# SEGMENTATION_REST_ADDR=0.0.0.0:8080 to publish them, together with an auth setting (the
# service refuses a non-loopback address without auth) and SEGMENTATION_DATABASE_URL.
EXPOSE 50051 8080
ENTRYPOINT ["/usr/local/bin/segmentation"]
CMD ["serve"]
