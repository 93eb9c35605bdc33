//! The sync-error service's test vocabulary: a service on a chosen store
//! ([`Env`]), failures with texts Salesforce really returns, and one
//! function per call the tests make over and over (ingest, health, lists,
//! the resync queue). Each expects the call to answer, unless it returns
//! the status.

use std::time::Duration;

use sync_errors::config::Settings;
use syncgov_api::syncerrors::v1 as pb;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_api::taxonomy::v1 as tx;
use tonic::transport::Channel;

use crate::{Backend, Service, Store};
use syncgov_kit::server::ServerSettings;

/// A sync-error service on `backend`, with the store it uses kept running.
pub struct Env {
    /// Keeps the service running for the test.
    _service: Service,
    /// A client connected to it.
    pub client: SyncErrorsClient<Channel>,
    /// Keeps the store running for the test.
    _store: Store,
}

impl Env {
    /// Starts a store for `backend` and a service with default settings on it.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, Settings::default()).await
    }

    /// Starts a store for `backend` and a service with `settings` on it.
    pub async fn start_with(backend: Backend, settings: Settings) -> Self {
        let store = backend.start();
        let settings = match backend {
            Backend::Memory => settings,
            Backend::Redis | Backend::Cluster => Settings {
                server: ServerSettings {
                    redis_url: store.redis_url(),
                    redis_cluster_nodes: store.cluster_nodes(),
                    // What these tests prove does not depend on speed: a
                    // loaded machine may answer slowly.
                    redis_timeout: Duration::from_secs(10),
                    ..ServerSettings::default()
                },
                ..settings
            },
        };
        let service = Service::sync_errors(settings).await;
        let client = SyncErrorsClient::new(service.channel().await);
        Self {
            _service: service,
            client,
            _store: store,
        }
    }
}

/// A failure of `kind` (`too_long`, `email`, `trigger` or `daily_limit`)
/// on `object` record `record`, with texts Salesforce really returns.
pub fn failure(key: &str, object: &str, record: &str, kind: &str) -> pb::Failure {
    let (status_code, message, fields): (&str, &str, &[&str]) = match kind {
        "too_long" => (
            "STRING_TOO_LONG",
            "Description: data value too large: <<customer data>>  (max length=255): [Description]",
            &["Description"],
        ),
        "email" => ("INVALID_EMAIL_ADDRESS", "invalid email address: XX", &[]),
        "trigger" => (
            "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
            "npsp.TDTM_Opportunity: execution of AfterInsert\n\ncaused by: System.DmlException: Insert failed.",
            &[],
        ),
        "daily_limit" => (
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
            &[],
        ),
        other => panic!("no failure text {other}"),
    };
    pb::Failure {
        idempotency_key: key.into(),
        object_type: object.into(),
        crm_record_id: record.into(),
        salesforce_id: String::new(),
        direction: pb::Direction::ToSalesforce.into(),
        status_code: status_code.into(),
        message: message.into(),
        fields: fields.iter().map(|f| f.to_string()).collect(),
        occurred_at: None,
        ..Default::default()
    }
}

/// Reports `failures` of `org`; one result per failure.
pub async fn ingest(
    c: &mut SyncErrorsClient<Channel>,
    org: &str,
    failures: Vec<pb::Failure>,
) -> Vec<pb::IngestResult> {
    c.ingest_errors(pb::IngestErrorsRequest {
        org_id: org.into(),
        failures,
    })
    .await
    .expect("IngestErrors answers")
    .into_inner()
    .results
}

/// `org`'s sync health cards.
pub async fn health_of(c: &mut SyncErrorsClient<Channel>, org: &str) -> pb::GetSyncHealthResponse {
    c.get_sync_health(pb::GetSyncHealthRequest { org_id: org.into() })
        .await
        .expect("GetSyncHealth")
        .into_inner()
}

/// One page of `org`'s errors that pass `filter`.
pub async fn list(
    c: &mut SyncErrorsClient<Channel>,
    org: &str,
    filter: pb::ErrorFilter,
    page_size: u32,
    page_token: String,
) -> pb::ListErrorsResponse {
    c.list_errors(pb::ListErrorsRequest {
        org_id: org.into(),
        filter: Some(filter),
        page_size,
        page_token,
    })
    .await
    .expect("ListErrors")
    .into_inner()
}

/// The first page (up to 50) of the org's errors in `state`.
pub async fn in_state(
    c: &mut SyncErrorsClient<Channel>,
    org: &str,
    state: pb::ErrorState,
) -> pb::ListErrorsResponse {
    let filter = pb::ErrorFilter {
        state: state.into(),
        ..Default::default()
    };
    list(c, org, filter, 50, String::new()).await
}

/// The health card of `category`, if the org has errors of it.
pub fn card(
    h: &pb::GetSyncHealthResponse,
    category: tx::ErrorCategory,
) -> Option<&pb::CategoryHealth> {
    h.categories.iter().find(|c| c.category == category as i32)
}

/// Claims up to `max` resync jobs for `worker`, each leased for
/// `visibility_ms`.
pub async fn claim(
    c: &mut SyncErrorsClient<Channel>,
    worker: &str,
    max: u32,
    visibility_ms: u64,
) -> Vec<pb::ResyncJob> {
    c.claim_resync_jobs(pb::ClaimResyncJobsRequest {
        worker_id: worker.into(),
        max_jobs: max,
        visibility_timeout: Some(
            prost_types::Duration::try_from(Duration::from_millis(visibility_ms)).unwrap(),
        ),
    })
    .await
    .expect("ClaimResyncJobs")
    .into_inner()
    .jobs
}

/// Claims one job, polling every 50 ms for up to `limit`: for jobs that come
/// due by a timer (back-off, visibility timeout).
pub async fn claim_within(
    c: &mut SyncErrorsClient<Channel>,
    worker: &str,
    limit: Duration,
) -> Vec<pb::ResyncJob> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let jobs = claim(c, worker, 1, 60_000).await;
        if !jobs.is_empty() || std::time::Instant::now() >= deadline {
            return jobs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Completes `job`: a success, or the same failure again.
pub async fn complete(
    c: &mut SyncErrorsClient<Channel>,
    job: &pb::ResyncJob,
    success: bool,
) -> Result<pb::CompleteResyncJobResponse, tonic::Status> {
    use pb::complete_resync_job_request::Outcome;
    let outcome = if success {
        Outcome::Success(true)
    } else {
        Outcome::Failure(failure(
            &format!("retry-{}-{}", job.job_id, job.attempt),
            &job.object_type,
            &job.crm_record_id,
            "too_long",
        ))
    };
    c.complete_resync_job(pb::CompleteResyncJobRequest {
        job_id: job.job_id.clone(),
        lease_id: job.lease_id.clone(),
        outcome: Some(outcome),
    })
    .await
    .map(|r| r.into_inner())
}

/// Queues `ids` of `org` for a resync.
pub async fn resync(
    c: &mut SyncErrorsClient<Channel>,
    org: &str,
    ids: Vec<String>,
) -> Vec<pb::QueuedResync> {
    c.resync_errors(pb::ResyncErrorsRequest {
        org_id: org.into(),
        error_ids: ids,
    })
    .await
    .expect("ResyncErrors")
    .into_inner()
    .results
}
