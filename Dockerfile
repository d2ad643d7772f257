# syntax=docker/dockerfile:1
#
# votebox container image: a drop-in for ghcr.io/elekto-io/elekto.
#
#   docker build -t votebox .
#   docker run --rm -p 8080:8080 -v votebox-data:/data \
#     -e DB_CONNECTION=postgresql -e DB_HOST=… -e DB_DATABASE=… -e DB_USERNAME=… -e DB_PASSWORD=… \
#     -e META_REPO=https://github.com/<org>/<meta>.git -e ELECTION_DIR=elections \
#     -e APP_KEY=… -e META_SECRET=… -e GITHUB_CLIENT_ID=… -e GITHUB_CLIENT_SECRET=… votebox
#
# Like Elekto's entrypoint.sh, the default command migrates the database, syncs the meta
# repository, then serves HTTP on 0.0.0.0:$APP_PORT (8080 here, as in Elekto's sample
# Deployment). Same environment variables as Elekto; see docs/configuration.md and the README's
# "Running in production". Checked without a container engine by
# crates/votebox/tests/it/dockerfile.rs.
#
# Base images are pinned by version tag. For reproducible production builds also pin the digest:
#   docker buildx imagetools inspect rust:1.95-slim-bookworm   (and debian:bookworm-slim)
# then write FROM rust:1.95-slim-bookworm@sha256:<digest>.

ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ----- build -----------------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS builder
# gcc/libc6-dev come with the image; make builds libsodium (the ballot KDF, from the source
# bundled in libsodium-sys-stable); cmake is a fallback for aws-lc-sys (TLS for the GitHub
# client); SQLite is compiled in (bundled), so no database client libraries are needed.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Templates and static files are compiled into the binary: only it is copied out.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p votebox \
 && install -m 0755 target/release/votebox /usr/local/bin/votebox

# ----- runtime ---------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
# git fetches the meta repository (https or ssh), tini is PID 1 (forwards SIGTERM, reaps git).
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
# Elekto's image runs as UID 10017; keep it so volume ownership carries over.
RUN groupadd --system --gid 10017 votebox \
 && useradd --system --uid 10017 --gid 10017 --home-dir /data --shell /usr/sbin/nologin votebox \
 && install -d -o 10017 -g 10017 -m 0750 /data
COPY --from=builder /usr/local/bin/votebox /usr/local/bin/votebox

# Everything votebox writes lives under /data: generated APP_KEY, SQLite file, meta mirror.
ENV VOTEBOX_DATA_DIR=/data \
    DB_PATH=/data/elekto.db \
    META_PATH=/data/meta \
    APP_PORT=8080 \
    LOG_FORMAT=json
VOLUME ["/data"]
WORKDIR /data
USER 10017:10017
EXPOSE 8080
# Kubernetes: readiness GET /healthz/ready (or Elekto's GET /health), liveness GET /healthz/live.
# Metrics: set VOTEBOX_METRICS_ADDR=0.0.0.0:9090 and scrape that port (not exposed by default).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "votebox"]
CMD ["entrypoint"]
