//! Compiles the contracts in `proto/` with protox (no system `protoc`), writes
//! the descriptor set for server reflection, and generates the Rust bindings.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read when the script runs, not when it was compiled: a build script
    // reused from another checkout must still read this checkout's protos.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        root.join("syncgov/quota/v1/quota.proto"),
        root.join("syncgov/taxonomy/v1/taxonomy.proto"),
        root.join("syncgov/syncerrors/v1/syncerrors.proto"),
        root.join("envoy/extensions/common/ratelimit/v3/ratelimit.proto"),
        root.join("envoy/service/ratelimit/v3/rls.proto"),
    ];

    // compile_fds emits no rerun-if-changed of its own.
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let descriptors = protox::compile(&files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("syncgov_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Bytes that do not decode are the caller's fault: INVALID_ARGUMENT,
        // not prost's INTERNAL (src/codec.rs).
        .codec_path("crate::codec::ProtoCodec")
        .compile_fds(descriptors)?;
    Ok(())
}
