//! Generates the gRPC, prost and proto3-JSON (pbjson) code for every `.proto` under this crate,
//! with protox (pure Rust), so no system `protoc` is needed and nothing generated is committed.
use prost::Message;
use std::{env, error::Error, fs, path::Path, path::PathBuf};

fn protos(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            protos(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=crm");
    println!("cargo:rerun-if-changed=google");
    let mut files = Vec::new();
    protos(Path::new("crm"), &mut files)?;
    files.sort();

    let mut compiler = protox::Compiler::new(["."])?;
    compiler
        .include_imports(true)
        .include_source_info(true)
        .open_files(&files)?;
    // `encode_file_descriptor_set()` keeps custom options and comments, which
    // reflection and the OpenAPI generator read; `protox::compile` would drop them.
    let bytes = compiler.encode_file_descriptor_set();
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out_dir.join("crm_descriptor.bin"), &bytes)?;

    tonic_prost_build::configure()
        // Well-known types come from pbjson-types so that they have proto3-JSON serde impls.
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        // `prost::Name` impls give every message its type URL, for events packed in `Any`.
        .compile_fds_with_config(prost_types::FileDescriptorSet::decode(bytes.as_slice())?, {
            let mut config = tonic_prost_build::Config::new();
            config.enable_type_names();
            // Standard `Any` type URLs: "type.googleapis.com/crm.customers.v1.CustomerChanged".
            config.type_name_domain(["."], "type.googleapis.com");
            config
        })?;

    pbjson_build::Builder::new()
        .register_descriptors(&bytes)?
        // Clients of a REST API send fields we may not know yet (older or newer versions).
        .ignore_unknown_fields()
        .build(&[".crm"])?;
    Ok(())
}
