//! Generates the gRPC, prost and proto3-JSON (pbjson) code for every `.proto` under this crate,
//! with protox (pure Rust), so no system `protoc` is needed and nothing generated is committed.
use heck::{ToSnakeCase, ToUpperCamelCase};
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
        // Except Timestamp, whose JSON form pbjson-types writes with "+00:00" (see `wkt`).
        .extern_path(".google.protobuf.Timestamp", "crate::wkt::Timestamp")
        .extern_path(".google.protobuf", "::pbjson_types")
        // `prost::Name` impls give every message its type URL, for events packed in `Any`.
        .compile_fds_with_config(prost_types::FileDescriptorSet::decode(bytes.as_slice())?, {
            let mut config = tonic_prost_build::Config::new();
            config.enable_type_names();
            // Standard `Any` type URLs: "type.googleapis.com/crm.customers.v1.CustomerChanged".
            config.type_name_domain(["."], "type.googleapis.com");
            config
        })?;

    fs::write(
        out_dir.join("json_outputs.rs"),
        json_outputs(&prost_types::FileDescriptorSet::decode(bytes.as_slice())?),
    )?;

    pbjson_build::Builder::new()
        .register_descriptors(&bytes)?
        // Clients of a REST API send fields we may not know yet (older or newer versions).
        .ignore_unknown_fields()
        .build(&[".crm"])?;
    Ok(())
}

/// The Rust path prost gives a top-level message of a `crm.*` package
/// (`crm.type.v1.Money` -> `crate::crm::r#type::v1::Money`).
fn rust_path(package: &str, message: &str) -> String {
    let modules: Vec<String> = package
        .split('.')
        .map(|m| match m {
            "type" => "r#type".to_owned(),
            m => m.to_snake_case(),
        })
        .collect();
    format!(
        "crate::{}::{}",
        modules.join("::"),
        message.to_upper_camel_case()
    )
}

/// A `match` from the full name of every unary RPC's output message to the pbjson encoder of
/// its generated type. The gateway answers REST calls through it: decoding and serialising with
/// generated code is about twice as fast as through reflection on a page of customers.
fn json_outputs(set: &prost_types::FileDescriptorSet) -> String {
    let crm = |f: &&prost_types::FileDescriptorProto| f.package().starts_with("crm.");
    // Top-level messages only: a nested output type falls back to reflection.
    let mut messages = std::collections::BTreeMap::new();
    for file in set.file.iter().filter(crm) {
        for message in &file.message_type {
            messages.insert(
                format!(".{}.{}", file.package(), message.name()),
                rust_path(file.package(), message.name()),
            );
        }
    }
    let mut outputs = std::collections::BTreeSet::new();
    for file in set.file.iter().filter(crm) {
        for method in file.service.iter().flat_map(|s| &s.method) {
            if !method.server_streaming()
                && let Some(path) = messages.get(method.output_type())
            {
                outputs.insert((method.output_type()[1..].to_owned(), path.clone()));
            }
        }
    }
    let mut code = String::from(
        "/// The JSON encoder of a unary RPC's output type, by its full name.\n\
         pub fn output_json(full_name: &str) -> Option<JsonEncoder> {\n    match full_name {\n",
    );
    for (name, path) in outputs {
        code.push_str(&format!(
            "        {name:?} => Some(encode_json::<{path}>),\n"
        ));
    }
    code.push_str("        _ => None,\n    }\n}\n");
    code
}
