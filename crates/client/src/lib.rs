//! Client helpers for sync workers.
//!
//! A worker that asks the quota governor before every Salesforce call pays a
//! round trip per call. A [`Lease`] takes a block of tokens at once (the
//! governor's lease mode: as many as there is room for, up to the block),
//! spends them locally, and hands back what it did not use, so the governor
//! sees one call per block while the budget stays exact: tokens a worker
//! holds are counted as used until they are handed back.
//!
//! A worker that wants every decision made by the governor, one per call,
//! but not the cost of a gRPC call each, shares a [`DecisionStream`] among
//! its tasks: one `AcquireTokensStream` carrying all their requests.

use std::time::{Duration, Instant};

use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use tonic::Status;
use tonic::transport::Channel;

mod stream;

pub use stream::DecisionStream;

/// The error type tonic's clients carry.
type StdError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What [`Lease::take`] came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Take {
    /// One token: make the call.
    Granted,
    /// None: the governor's reply says why and when to retry.
    Denied(pb::AcquireTokensResponse),
}

/// The block a lease holds now.
#[derive(Debug)]
struct Held {
    grant_id: String,
    left: u64,
    taken_at: Instant,
}

/// Tokens of one (org, resource, priority) taken a block at a time.
///
/// Hand back what is left with [`Lease::hand_back`] when the work stops: a
/// dropped lease cannot call the governor, and its unused tokens then stay
/// counted until they leave the window.
///
/// The client may be a plain [`Channel`] or any channel tonic's clients
/// take, such as one that adds a bearer token to every call.
#[derive(Debug)]
pub struct Lease<T = Channel> {
    client: QuotaGovernorClient<T>,
    ask: pb::AcquireTokensRequest,
    max_hold: Duration,
    held: Option<Held>,
}

impl<T> Lease<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<StdError> + Send,
{
    /// A lease of blocks of up to `block` tokens (1 to 1 000 000).
    pub fn new(
        client: QuotaGovernorClient<T>,
        org_id: impl Into<String>,
        resource: pb::Resource,
        priority: pb::Priority,
        block: u64,
    ) -> Self {
        Self {
            client,
            ask: pb::AcquireTokensRequest {
                org_id: org_id.into(),
                resource: resource.into(),
                count: block,
                min_count: 1,
                priority: priority.into(),
                client_id: String::new(),
                object: String::new(),
                operation: String::new(),
            },
            max_hold: Duration::from_secs(10),
            held: None,
        }
    }

    /// Names the worker in the governor's logs and traces, and in its
    /// usage broken down by consumer.
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.ask.client_id = client_id.into();
        self
    }

    /// Says what the calls are for: the Salesforce object (such as
    /// `Contact`) and the operation (such as `query`), counted with the
    /// client id in the governor's usage broken down by consumer.
    pub fn with_purpose(mut self, object: impl Into<String>, operation: impl Into<String>) -> Self {
        self.ask.object = object.into();
        self.ask.operation = operation.into();
        self
    }

    /// How long a block may be held before what is left of it goes back
    /// (default 10 s): tokens a slow worker sits on are calls others cannot
    /// make.
    pub fn with_max_hold(mut self, max_hold: Duration) -> Self {
        self.max_hold = max_hold;
        self
    }

    /// Tokens held and not yet spent.
    pub fn held(&self) -> u64 {
        self.held.as_ref().map_or(0, |h| h.left)
    }

    /// Takes one token: from the block held, else from a new block.
    pub async fn take(&mut self) -> Result<Take, Status> {
        if self
            .held
            .as_ref()
            .is_some_and(|h| h.taken_at.elapsed() > self.max_hold)
        {
            self.hand_back().await?;
        }
        if let Some(held) = self.held.as_mut().filter(|h| h.left > 0) {
            held.left -= 1;
            return Ok(Take::Granted);
        }
        let reply = self
            .client
            .acquire_tokens(self.ask.clone())
            .await?
            .into_inner();
        if !reply.granted || reply.granted_count == 0 {
            self.held = None;
            return Ok(Take::Denied(reply));
        }
        self.held = Some(Held {
            grant_id: reply.grant_id,
            left: reply.granted_count - 1,
            taken_at: Instant::now(),
        });
        Ok(Take::Granted)
    }

    /// Hands the unspent tokens back; returns how many the governor took
    /// back. On an error the tokens stay held, to be handed back later.
    pub async fn hand_back(&mut self) -> Result<u64, Status> {
        let Some(held) = self.held.as_ref().filter(|h| h.left > 0) else {
            self.held = None;
            return Ok(0);
        };
        let reply = self
            .client
            .release_tokens(pb::ReleaseTokensRequest {
                org_id: self.ask.org_id.clone(),
                resource: self.ask.resource,
                count: held.left,
                grant_id: held.grant_id.clone(),
            })
            .await?
            .into_inner();
        self.held = None;
        Ok(reply.released)
    }
}
