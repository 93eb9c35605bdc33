//! `loadgen floor`: a server that answers the governor's two unary decision
//! calls (AcquireTokens and Envoy's ShouldRateLimit) with a grant at once,
//! with nothing behind it: no store, no layers, no metrics. It is what a
//! gRPC call costs on this machine with this gRPC stack, the floor under
//! any governor, so that a benchmark can tell the governor's own cost from
//! the cost of being a gRPC server at all.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use anyhow::Context as _;
use syncgov_api::codec::ProtoCodec;
use syncgov_api::envoy::service::ratelimit::v3 as rls;
use syncgov_api::envoy::service::ratelimit::v3::rate_limit_service_server::{
    RateLimitService, RateLimitServiceServer,
};
use syncgov_api::quota::v1 as quota;
use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service, http};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};

/// Where the floor server listens.
#[derive(clap::Args)]
pub struct FloorArgs {
    /// Where to listen (loopback).
    #[arg(long, default_value = "127.0.0.1:50051")]
    listen: std::net::SocketAddr,
}

/// Serves both APIs until the process is stopped; one thread, as the
/// governor runs with `--worker-threads 1`.
pub async fn serve(args: FloorArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    println!("floor listening on {}", listener.local_addr()?);
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(Governor)
        .add_service(RateLimitServiceServer::new(Envoy))
        .serve_with_incoming(incoming)
        .await?;
    Ok(())
}

/// A grant as the governor writes one: the same fields, an id as long.
fn grant() -> quota::AcquireTokensResponse {
    quota::AcquireTokensResponse {
        granted: true,
        used: 1,
        allocation: 1_000_000_000,
        remaining: 999_999_999,
        grant_id: "g1.api.29412345.1.0000000000000001.AAAAAAAAAAAAAAAAAAAAAA".into(),
        granted_count: 1,
        ..Default::default()
    }
}

/// The quota governor's routes: AcquireTokens granted, SetBudget (which the
/// load generator calls first, for each org) accepted, every other method
/// UNIMPLEMENTED.
#[derive(Clone)]
struct Governor;

impl NamedService for Governor {
    const NAME: &'static str = "syncgov.quota.v1.QuotaGovernor";
}

impl Service<http::Request<Body>> for Governor {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match request.uri().path() {
            "/syncgov.quota.v1.QuotaGovernor/AcquireTokens" => Box::pin(async move {
                let mut grpc = Grpc::new(ProtoCodec::<
                    quota::AcquireTokensResponse,
                    quota::AcquireTokensRequest,
                >::default());
                Ok(grpc.unary(Grant, request).await)
            }),
            "/syncgov.quota.v1.QuotaGovernor/SetBudget" => Box::pin(async move {
                let mut grpc = Grpc::new(ProtoCodec::<
                    quota::SetBudgetResponse,
                    quota::SetBudgetRequest,
                >::default());
                Ok(grpc.unary(Accept, request).await)
            }),
            _ => Box::pin(ready(Ok(Status::unimplemented(
                "the floor server answers AcquireTokens and SetBudget only",
            )
            .into_http()))),
        }
    }
}

/// AcquireTokens: a grant, whatever was asked.
struct Grant;

impl UnaryService<quota::AcquireTokensRequest> for Grant {
    type Response = quota::AcquireTokensResponse;
    type Future = Ready<Result<Response<Self::Response>, Status>>;

    fn call(&mut self, _: Request<quota::AcquireTokensRequest>) -> Self::Future {
        ready(Ok(Response::new(grant())))
    }
}

/// SetBudget: accepted, and forgotten.
struct Accept;

impl UnaryService<quota::SetBudgetRequest> for Accept {
    type Response = quota::SetBudgetResponse;
    type Future = Ready<Result<Response<Self::Response>, Status>>;

    fn call(&mut self, _: Request<quota::SetBudgetRequest>) -> Self::Future {
        ready(Ok(Response::new(quota::SetBudgetResponse::default())))
    }
}

/// ShouldRateLimit: under the limit, for every descriptor.
struct Envoy;

#[tonic::async_trait]
impl RateLimitService for Envoy {
    async fn should_rate_limit(
        &self,
        request: Request<rls::RateLimitRequest>,
    ) -> Result<Response<rls::RateLimitResponse>, Status> {
        let ok = rls::rate_limit_response::Code::Ok as i32;
        let statuses = request
            .get_ref()
            .descriptors
            .iter()
            .map(|_| rls::rate_limit_response::DescriptorStatus {
                code: ok,
                limit_remaining: 999_999_999,
                ..Default::default()
            })
            .collect();
        Ok(Response::new(rls::RateLimitResponse {
            overall_code: ok,
            statuses,
            ..Default::default()
        }))
    }
}
