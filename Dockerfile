# syntax=docker/dockerfile:1
#
# One image per binary of the workspace, chosen with the SERVICE build argument:
#
#   docker build --build-arg SERVICE=quota-governor -t syncgov/quota-governor:0.1.0 .
#   docker build --build-arg SERVICE=sync-errors    -t syncgov/sync-errors:0.1.0 .
#   docker build --build-arg SERVICE=syncctl        -t syncgov/syncctl:0.1.0 .
#   docker build --build-arg SERVICE=syncgov-console -t syncgov/console:0.1.0 .
#
# The build stage compiles the one package with the committed Cargo.lock; the
# image holds only that binary on distroless/cc (glibc, libgcc, CA roots, no
# shell), runs as the numeric non-root user 65532 and writes nothing at run
# time, so it runs with a read-only root filesystem.
#
# The services listen on 127.0.0.1 by default: a container must set
# QUOTA_GOVERNOR_LISTEN=0.0.0.0:50051 or SYNC_ERRORS_LISTEN=0.0.0.0:50052
# (deploy/ does it in each service's ConfigMap), the console
# SYNCGOV_CONSOLE_LISTEN=0.0.0.0:8080.

ARG SERVICE=quota-governor
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
ARG SERVICE
WORKDIR /src
COPY . .
# The cache mounts keep the crate registry and the target directory between
# builds; the binary is copied out of the cached target directory.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    case "$SERVICE" in \
      quota-governor|sync-errors|syncctl|syncgov-console) ;; \
      *) echo "SERVICE must be quota-governor, sync-errors, syncctl or syncgov-console, not '$SERVICE'" >&2; exit 1 ;; \
    esac \
    && cargo build --release --locked -p "$SERVICE" --bin "$SERVICE" \
    && mkdir -p /out/usr/local/bin \
    && cp "target/release/$SERVICE" /out/usr/local/bin/ \
    && ln -s "$SERVICE" /out/usr/local/bin/syncgov-entrypoint

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=build /out/ /
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/syncgov-entrypoint"]

# One final stage per binary, for what differs: the port.
FROM runtime AS image-quota-governor
EXPOSE 50051

FROM runtime AS image-sync-errors
EXPOSE 50052

FROM runtime AS image-syncctl

FROM runtime AS image-syncgov-console
EXPOSE 8080

FROM image-${SERVICE}
