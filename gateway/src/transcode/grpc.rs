//! Calls of any RPC with already-encoded protobuf bytes: the transcoder encodes and decodes with
//! descriptors, so the gRPC layer only moves bytes (no generated client per service).
use bytes::{Buf, BufMut, Bytes};
use tonic::{
    Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    transport::Channel,
};

/// A codec that passes message bytes through unchanged.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

async fn ready(channel: Channel) -> Result<tonic::client::Grpc<Channel>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|error| {
        tracing::warn!(%error, "upstream unavailable");
        Status::unavailable("service unavailable, retry later")
    })?;
    Ok(grpc)
}

/// A unary call.
pub async fn unary(
    channel: Channel,
    path: http::uri::PathAndQuery,
    request: tonic::Request<Bytes>,
) -> Result<tonic::Response<Bytes>, Status> {
    ready(channel).await?.unary(request, path, RawCodec).await
}

/// A server-streaming call.
pub async fn server_streaming(
    channel: Channel,
    path: http::uri::PathAndQuery,
    request: tonic::Request<Bytes>,
) -> Result<tonic::Response<tonic::Streaming<Bytes>>, Status> {
    ready(channel)
        .await?
        .server_streaming(request, path, RawCodec)
        .await
}
