//! Generated code for every CRM API: prost messages, tonic clients and servers, and
//! proto3-JSON serde impls (pbjson). Nothing here is written by hand but the module tree.

pub mod wkt;
pub use wkt::Timestamp;

/// Packages under `crm.*`.
pub mod crm {
    /// Shared types: money, audit stamps.
    pub mod r#type {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/crm.r#type.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/crm.r#type.v1.serde.rs"));
        }
    }
    /// The identity service: organisation, users, roles, API clients, tokens, security audit.
    pub mod identity {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/crm.identity.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/crm.identity.v1.serde.rs"));
        }
    }
    /// Domain events, the change stream and webhooks.
    pub mod events {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/crm.events.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/crm.events.v1.serde.rs"));
        }
    }
    /// The customers service.
    pub mod customers {
        /// Version 1.
        // Generated: an upload's `oneof` holds the options or a chunk of bytes, and prost boxes
        // neither; the size difference is harmless for a message read once per stream.
        #[allow(clippy::large_enum_variant)]
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/crm.customers.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/crm.customers.v1.serde.rs"));
        }
    }
}

/// Encoded `FileDescriptorSet` of every CRM proto (with imports and comments), for reflection
/// and the gateway's OpenAPI document.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/crm_descriptor.bin"));

/// Decodes an RPC's protobuf output and writes it as proto3 JSON.
pub type JsonEncoder = fn(&[u8]) -> Result<Vec<u8>, JsonError>;

/// Why an output could not be written as JSON.
#[derive(Debug)]
pub enum JsonError {
    /// The bytes are not the message.
    Decode(prost::DecodeError),
    /// The message has a value JSON cannot hold (an enum number with no name).
    Serialize(serde_json::Error),
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JsonError::Decode(e) => write!(f, "undecodable: {e}"),
            JsonError::Serialize(e) => write!(f, "unserialisable: {e}"),
        }
    }
}

impl std::error::Error for JsonError {}

fn encode_json<M: prost::Message + Default + serde::Serialize>(
    bytes: &[u8],
) -> Result<Vec<u8>, JsonError> {
    let message = M::decode(bytes).map_err(JsonError::Decode)?;
    serde_json::to_vec(&message).map_err(JsonError::Serialize)
}

include!(concat!(env!("OUT_DIR"), "/json_outputs.rs"));
