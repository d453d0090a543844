//! Generates the gRPC contract's Rust code (messages, servers, clients) from `proto/` and the
//! encoded file descriptor set that server reflection serves.
//!
//! `protoc` comes from the `protoc-bin-vendored` crate, not from the machine, so a fresh checkout
//! builds with nothing installed but Rust.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "proto/segmentation/v1/common.proto",
    "proto/segmentation/v1/jobs_types.proto",
    "proto/segmentation/v1/segment_definitions.proto",
    "proto/segmentation/v1/profiles.proto",
    "proto/segmentation/v1/segment_jobs.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let well_known = protoc_bin_vendored::include_path()?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .file_descriptor_set_path(out_dir.join("segmentation_descriptor.bin"))
        .compile_with_config(
            config,
            PROTOS,
            &[
                "proto",
                well_known.to_str().ok_or("non-UTF-8 include path")?,
            ],
        )?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
