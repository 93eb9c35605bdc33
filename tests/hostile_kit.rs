//! The shared plumbing against careless and hostile callers, from outside:
//! bytes that are not protobuf are the caller's fault (`INVALID_ARGUMENT`,
//! never `INTERNAL`) on unary calls and mid-stream, on both services; and a
//! binary asked to stop ends its open streams with `UNAVAILABLE` at once
//! instead of waiting out its grace period for them.

use std::time::{Duration, Instant};

use bytes::{Buf, BufMut};
use prost::Message;
use quota_governor::config::Settings as GovernorSettings;
use sync_errors::config::Settings as SyncErrorsSettings;
use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_tests::{Process, Service};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// Sends bytes as they are and hands back the bytes received: a client
/// that can say anything, protobuf or not.
#[derive(Clone, Copy, Debug, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;

    fn encoder(&mut self) -> Raw {
        Raw
    }

    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let bytes = buf.copy_to_bytes(buf.remaining());
        Ok(Some(bytes.to_vec()))
    }
}

/// Messages no protobuf decoder takes, whatever the message type, each
/// with what is wrong with it.
fn malformed() -> Vec<(&'static str, Vec<u8>)> {
    // 10 000 groups of field 15, each inside the previous one.
    let mut nested = vec![(15 << 3) | 3; 10_000];
    nested.extend(std::iter::repeat_n((15 << 3) | 4, 10_000));
    vec![
        ("garbage", vec![0xff; 32]),
        // Field 1 is a string in every request tried here but Classify's
        // (a message, to which these bytes are no better).
        ("invalid UTF-8 in a string", vec![0x0a, 0x02, 0xc3, 0x28]),
        ("a truncated varint", vec![0x80]),
        ("a truncated length", vec![0x0a, 0x7f, b'a']),
        ("a wrong wire type", vec![(1 << 3) | 5, 0, 0, 0, 0]),
        ("10 000 nested groups", nested),
    ]
}

/// Asserts that `result` is the refusal of a malformed message.
fn assert_refused<T: std::fmt::Debug>(case: &str, what: &str, result: Result<T, Status>) {
    let status = result.expect_err("a malformed message must be refused");
    assert_eq!(
        status.code(),
        Code::InvalidArgument,
        "{what}, {case}: {status:?}"
    );
    assert!(
        status.message().contains("not valid protobuf"),
        "{what}, {case}: {status:?}"
    );
}

/// Sends each malformed message to each unary or server-streaming method
/// of `paths` on `channel`.
async fn refuses_malformed_requests(channel: &Channel, paths: &[(&'static str, bool)]) {
    for (path, server_streaming) in paths {
        for (case, bytes) in malformed() {
            let mut grpc = tonic::client::Grpc::new(channel.clone());
            grpc.ready().await.expect("the channel is ready");
            let path_and_query = PathAndQuery::from_static(path);
            let request = tonic::Request::new(bytes);
            if *server_streaming {
                let result = grpc.server_streaming(request, path_and_query, Raw).await;
                // Refused before the stream starts, or as its first message.
                let result = match result {
                    Ok(response) => response.into_inner().message().await.map(|_| ()),
                    Err(status) => Err(status),
                };
                assert_refused(case, path, result);
            } else {
                assert_refused(case, path, grpc.unary(request, path_and_query, Raw).await);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_protobuf_is_invalid_argument_on_every_kind_of_call() {
    let governor = Service::governor(GovernorSettings::default()).await;
    let sync_errors = Service::sync_errors(SyncErrorsSettings::default()).await;

    refuses_malformed_requests(
        &governor.channel().await,
        &[
            ("/syncgov.quota.v1.QuotaGovernor/AcquireTokens", false),
            ("/syncgov.quota.v1.QuotaGovernor/SetBudget", false),
            ("/syncgov.quota.v1.QuotaGovernor/GetUsage", false),
            ("/syncgov.quota.v1.QuotaGovernor/WatchSuspensions", true),
            (
                "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit",
                false,
            ),
        ],
    )
    .await;
    refuses_malformed_requests(
        &sync_errors.channel().await,
        &[
            ("/syncgov.syncerrors.v1.SyncErrors/IngestErrors", false),
            ("/syncgov.syncerrors.v1.SyncErrors/Classify", false),
            ("/syncgov.syncerrors.v1.SyncErrors/ListErrors", false),
            ("/syncgov.syncerrors.v1.SyncErrors/ExportErrorsCsv", true),
        ],
    )
    .await;

    // Mid-stream: a good message is answered, the malformed one after it
    // ends the stream with INVALID_ARGUMENT.
    let channel = governor.channel().await;
    for (case, bytes) in malformed() {
        let good = quota::AcquireTokensStreamRequest {
            request: Some(quota::AcquireTokensRequest {
                org_id: "acme".into(),
                count: 1,
                ..Default::default()
            }),
        }
        .encode_to_vec();
        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        grpc.ready().await.unwrap();
        let mut replies = grpc
            .streaming(
                tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx)),
                PathAndQuery::from_static("/syncgov.quota.v1.QuotaGovernor/AcquireTokensStream"),
                Raw,
            )
            .await
            .expect("the stream opens")
            .into_inner();
        tx.send(good).await.unwrap();
        let first = replies
            .message()
            .await
            .expect("the first message is answered")
            .expect("a reply");
        let reply = quota::AcquireTokensStreamResponse::decode(first.as_slice()).unwrap();
        assert!(reply.response.is_some(), "{case}: {reply:?}");
        tx.send(bytes).await.unwrap();
        assert_refused(case, "AcquireTokensStream", replies.message().await);
    }

    // The services still answer properly formed calls.
    let mut client = QuotaGovernorClient::new(governor.channel().await);
    client
        .get_usage(quota::GetUsageRequest {
            org_id: "acme".into(),
            resource: 0,
            top_consumers: 0,
        })
        .await
        .expect_err("no budget for acme");
    // The store's check runs in the background: wait for its report.
    assert!(
        syncgov_tests::health_becomes(
            governor.addr(),
            "",
            tonic_health::pb::health_check_response::ServingStatus::Serving,
            syncgov_tests::PATIENCE,
        )
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_open_streams_at_once_and_the_binary_exits() {
    // A grace far longer than the deadlines below: a binary that waits for
    // its streams is told apart from one that ends them.
    let governor = Process::start(
        "quota-governor",
        &[
            "--listen",
            "127.0.0.1:0",
            "--shutdown-grace",
            "60s",
            "--default-budget",
            "100/1000",
        ],
    );
    let channel = syncgov_tests::channel(governor.addr()).await;
    let mut client = QuotaGovernorClient::new(channel);

    // A watch of every org's suspensions, with nothing to tell.
    let mut watch = client
        .watch_suspensions(quota::WatchSuspensionsRequest::default())
        .await
        .expect("a watch opens")
        .into_inner();
    // A stream of decisions whose caller keeps it open.
    let (asks, asked) = tokio::sync::mpsc::channel(4);
    let mut decisions = client
        .acquire_tokens_stream(tokio_stream::wrappers::ReceiverStream::new(asked))
        .await
        .expect("a stream of decisions opens")
        .into_inner();
    asks.send(quota::AcquireTokensStreamRequest {
        request: Some(quota::AcquireTokensRequest {
            org_id: "acme".into(),
            count: 1,
            ..Default::default()
        }),
    })
    .await
    .unwrap();
    let first = decisions.message().await.unwrap().unwrap();
    assert!(first.response.is_some_and(|r| r.granted));

    let asked_to_stop = Instant::now();
    let exited = tokio::task::spawn_blocking(move || governor.terminate());
    let deadline = Duration::from_secs(40);
    let watch_end = tokio::time::timeout(deadline, watch.message())
        .await
        .expect("the watch was not ended")
        .map(|_| ());
    let decisions_end = tokio::time::timeout(deadline, decisions.message())
        .await
        .expect("the stream of decisions was not ended")
        .map(|_| ());
    for (what, end) in [("watch", watch_end), ("decisions", decisions_end)] {
        let status = end.expect_err("a stream ended by the shutdown ends with a status");
        assert_eq!(status.code(), Code::Unavailable, "{what}: {status:?}");
        assert_eq!(
            status.message(),
            "the server is shutting down; reconnect",
            "{what}"
        );
    }
    let status = tokio::time::timeout(deadline, exited)
        .await
        .expect("the binary did not exit within the deadline")
        .unwrap();
    assert!(status.success(), "{status:?}");
    println!(
        "exited {:.2} s after SIGTERM with two streams open (grace 60 s)",
        asked_to_stop.elapsed().as_secs_f64()
    );
    drop(asks);
}
