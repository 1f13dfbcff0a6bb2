//! Generates the gRPC code for every helper service. `protoc` comes from the
//! protoc-bin-vendored crate so that a fresh checkout builds without a
//! system protobuf compiler.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    std::env::set_var("PROTOC", protoc);
    let files = [
        "proto/common.proto",
        "proto/fetcher.proto",
        "proto/storage.proto",
        "proto/netsetup.proto",
        "proto/monitor.proto",
    ];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_protos(&files, &["proto"])?;
    Ok(())
}
