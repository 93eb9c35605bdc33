//! Decisions over one long-lived `AcquireTokensStream`, shared by any number
//! of callers: each sends its request and waits for its reply, as with
//! `AcquireTokens`, without the cost of a call per decision.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use tokio::sync::{mpsc, oneshot};
use tonic::Status;

use crate::StdError;

/// One caller waiting for its reply.
type Waiter = oneshot::Sender<Result<pb::AcquireTokensResponse, Status>>;

/// An open `AcquireTokensStream`. Requests go out in the order they are
/// sent and replies come back in that order, so each reply goes to the
/// caller that has waited longest.
///
/// When the governor ends the stream (a refused request, its store
/// unavailable, a restart), the caller whose request ended it gets the
/// status, every other waiting caller gets `UNAVAILABLE`, and so does every
/// later [`DecisionStream::decide`]: open a new stream and go on.
pub struct DecisionStream {
    /// Requests out, and who waits for each reply, queued together so that
    /// both stay in one order.
    out: Mutex<(
        mpsc::UnboundedSender<pb::AcquireTokensStreamRequest>,
        VecDeque<Waiter>,
    )>,
}

impl DecisionStream {
    /// Opens the stream on `client` and starts reading its replies (on a
    /// task of the current Tokio runtime).
    pub async fn open<T>(mut client: QuotaGovernorClient<T>) -> Result<Arc<Self>, Status>
    where
        T: tonic::client::GrpcService<tonic::body::Body>,
        T::Error: Into<StdError>,
        T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        <T::ResponseBody as http_body::Body>::Error: Into<StdError> + Send,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut replies = client
            .acquire_tokens_stream(tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
            .await?
            .into_inner();
        let stream = Arc::new(Self {
            out: Mutex::new((tx, VecDeque::new())),
        });
        let reader = Arc::downgrade(&stream);
        tokio::spawn(async move {
            loop {
                let reply = replies.message().await;
                let Some(stream) = reader.upgrade() else {
                    return;
                };
                let mut out = stream.out.lock().unwrap_or_else(|e| e.into_inner());
                let waiter = out.1.pop_front();
                let (answer, ended) = match reply {
                    Ok(Some(reply)) => (
                        reply
                            .response
                            .ok_or_else(|| Status::internal("a reply without its response")),
                        false,
                    ),
                    Ok(None) => (
                        Err(Status::unavailable("the governor ended the stream")),
                        true,
                    ),
                    Err(status) => (Err(status), true),
                };
                if let Some(waiter) = waiter {
                    let _ = waiter.send(answer);
                }
                if ended {
                    // The rest hear of it by their senders' drop; later
                    // requests by the closed sender.
                    out.1.clear();
                    let (closed, _) = mpsc::unbounded_channel();
                    out.0 = closed;
                    return;
                }
            }
        });
        Ok(stream)
    }

    /// Sends `request` and waits for its reply.
    pub async fn decide(
        &self,
        request: pb::AcquireTokensRequest,
    ) -> Result<pb::AcquireTokensResponse, Status> {
        let (waiter, reply) = oneshot::channel();
        {
            let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
            let message = pb::AcquireTokensStreamRequest {
                request: Some(request),
            };
            out.0
                .send(message)
                .map_err(|_| Status::unavailable("the stream has ended"))?;
            out.1.push_back(waiter);
        }
        reply
            .await
            .map_err(|_| Status::unavailable("the stream has ended"))?
    }
}
