//! The protobuf codec of every generated client and server: prost's, except
//! that bytes which do not decode are the sender's fault. Prost's own codec
//! answers them with `INTERNAL`, which tells a caller that sent garbage
//! (invalid UTF-8 in a string, a truncated varint, a wrong wire type, groups
//! nested past prost's recursion limit) that the service is broken and
//! invites it to retry the same bytes. Here they are `INVALID_ARGUMENT`, on
//! unary calls and on each message of a stream alike.
//!
//! The generated code names this codec (`codec_path` in `build.rs`), so
//! every method of every service gets it. Clients share it: a reply that
//! does not decode is reported as `INVALID_ARGUMENT` too, with a message
//! that says the bytes were not protobuf.

use std::marker::PhantomData;

use prost::Message;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder};
use tonic_prost::ProstEncoder;

/// Encodes `T` and decodes `U` with prost; see the module's documentation.
#[derive(Debug, Clone)]
pub struct ProtoCodec<T, U> {
    types: PhantomData<fn(T) -> U>,
}

impl<T, U> Default for ProtoCodec<T, U> {
    fn default() -> Self {
        Self { types: PhantomData }
    }
}

impl<T, U> Codec for ProtoCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ProtoDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProtoDecoder { types: PhantomData }
    }
}

/// Decodes `U`, refusing bytes that are not a valid `U` with
/// `INVALID_ARGUMENT`.
#[derive(Debug, Clone)]
pub struct ProtoDecoder<U> {
    types: PhantomData<fn() -> U>,
}

impl<U: Message + Default> Decoder for ProtoDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf).map(Some).map_err(malformed)
    }
}

/// The status of a message that is not valid protobuf: prost's reason
/// (which names the field and the problem), never the bytes themselves.
fn malformed(error: prost::DecodeError) -> Status {
    Status::invalid_argument(format!("the message is not valid protobuf: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decode_error_is_the_sender_s() {
        // Field 1 (seconds, a varint) sent as a length-delimited field.
        let error = prost_types::Duration::decode(&[0x0a, 0x05, b'a'][..]).unwrap_err();
        let status = malformed(error);
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(
            status
                .message()
                .starts_with("the message is not valid protobuf: "),
            "{}",
            status.message()
        );
    }
}
