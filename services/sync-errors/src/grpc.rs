//! The gRPC face of the sync-error service: protobuf in, domain types through
//! the classifier and the store, protobuf out. Errors are mapped in
//! `error.rs`; this module never names Redis.

use std::pin::Pin;
use std::sync::Arc;

use syncgov_api::syncerrors::v1 as pb;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::classify::{Classification, FailureText, classify};
use crate::domain::{
    self, Cursor, Direction, ErrorFilter, ErrorId, ErrorState, Failure, InvalidInput, MAX_BATCH,
    MAX_RESYNC, OrgId, StoredError, SyncHealth,
};
use crate::export;
use crate::notify;
use crate::resync::{self, JobId, JobOutcome};
use crate::store::{Completed, ErrorStore, Queued};
use crate::taxonomy::{Category, ErrorType};
use syncgov_kit::auth::{authorize_every_org, authorize_org};
use syncgov_kit::clock::{timestamp, timestamp_ms};
use syncgov_kit::error::ApiError;

/// The `syncgov.syncerrors.v1.SyncErrors` service over a store.
pub struct SyncErrorsService<S> {
    store: Arc<S>,
}

impl<S: ErrorStore> SyncErrorsService<S> {
    /// A service over `store`.
    pub fn new(store: Arc<S>) -> Self {
        Self { store }
    }
}

fn parse_direction(field: &str, n: i32) -> Result<Direction, InvalidInput> {
    match pb::Direction::try_from(n) {
        Ok(pb::Direction::Unspecified) => Ok(Direction::Unknown),
        Ok(pb::Direction::ToSalesforce) => Ok(Direction::ToSalesforce),
        Ok(pb::Direction::FromSalesforce) => Ok(Direction::FromSalesforce),
        Err(_) => Err(InvalidInput::new(
            field,
            "must be DIRECTION_TO_SALESFORCE or DIRECTION_FROM_SALESFORCE",
        )),
    }
}

fn parse_failure(at: &str, f: pb::Failure) -> Result<Failure, InvalidInput> {
    let failure = Failure {
        direction: parse_direction(&format!("{at}.direction"), f.direction)?,
        idempotency_key: f.idempotency_key,
        object_type: f.object_type,
        crm_record_id: f.crm_record_id,
        salesforce_id: f.salesforce_id,
        status_code: f.status_code,
        message: f.message,
        fields: f.fields,
        occurred_at_ms: f.occurred_at.as_ref().map(timestamp_ms),
    };
    failure.validate(at)?;
    Ok(failure)
}

fn classify_failure(failure: &Failure) -> Classification {
    classify(&FailureText {
        status_code: &failure.status_code,
        message: &failure.message,
        fields: &failure.fields,
        object_type: &failure.object_type,
    })
}

fn classification_pb(c: Classification) -> pb::Classification {
    let level = match c {
        Classification::Record(t) => pb::classification::Level::Record(record_level_pb(t)),
        Classification::Suspension(r) => pb::classification::Level::Suspension(r.number()),
    };
    pb::Classification {
        level: Some(level),
        guidance: c.guidance().to_owned(),
    }
}

fn record_level_pb(t: ErrorType) -> pb::RecordLevel {
    pb::RecordLevel {
        category: t.category().number(),
        r#type: t.number(),
    }
}

fn parse_category(field: &str, n: i32) -> Result<Option<Category>, InvalidInput> {
    if n == 0 {
        return Ok(None);
    }
    Category::from_number(n)
        .map(Some)
        .ok_or_else(|| InvalidInput::new(field, "must be an ErrorCategory"))
}

fn parse_type(field: &str, n: i32) -> Result<Option<ErrorType>, InvalidInput> {
    if n == 0 {
        return Ok(None);
    }
    ErrorType::from_number(n)
        .map(Some)
        .ok_or_else(|| InvalidInput::new(field, "must be an ErrorType"))
}

fn parse_filter(filter: Option<pb::ErrorFilter>) -> Result<ErrorFilter, InvalidInput> {
    let f = filter.unwrap_or_default();
    let state = match f.state {
        0 => None,
        n => Some(
            ErrorState::from_number(n)
                .ok_or_else(|| InvalidInput::new("filter.state", "must be an ErrorState"))?,
        ),
    };
    let object_type = if f.object_type.is_empty() {
        None
    } else {
        domain::check_object_type("filter.object_type", &f.object_type)?;
        Some(f.object_type)
    };
    Ok(ErrorFilter {
        category: parse_category("filter.category", f.category)?,
        error_type: parse_type("filter.type", f.r#type)?,
        object_type,
        state,
    })
}

fn state_pb(state: ErrorState) -> pb::ErrorState {
    match state {
        ErrorState::Open => pb::ErrorState::Open,
        ErrorState::Resyncing => pb::ErrorState::Resyncing,
        ErrorState::Dead => pb::ErrorState::Dead,
        ErrorState::Resolved => pb::ErrorState::Resolved,
    }
}

fn direction_pb(d: Direction) -> pb::Direction {
    match d {
        Direction::Unknown => pb::Direction::Unspecified,
        Direction::ToSalesforce => pb::Direction::ToSalesforce,
        Direction::FromSalesforce => pb::Direction::FromSalesforce,
    }
}

fn error_pb(org: &OrgId, e: StoredError) -> pb::SyncError {
    pb::SyncError {
        error_id: e.id.to_string(),
        org_id: org.to_string(),
        guidance: e.error_type.guidance().to_owned(),
        classification: Some(record_level_pb(e.error_type)),
        direction: direction_pb(e.direction).into(),
        state: state_pb(e.state).into(),
        first_seen: Some(timestamp(e.first_seen_ms)),
        last_seen: Some(timestamp(e.last_seen_ms)),
        object_type: e.object_type,
        crm_record_id: e.crm_record_id,
        salesforce_id: e.salesforce_id,
        status_code: e.status_code,
        message: e.message,
        fields: e.fields,
        occurrences: e.occurrences,
        resync_attempts: e.resync_attempts,
    }
}

/// The health cards as the contract shows them, each with its guidance.
fn health_pb(health: SyncHealth) -> pb::GetSyncHealthResponse {
    pb::GetSyncHealthResponse {
        current_errors: health.errors,
        impacted_records: health.records,
        categories: health
            .categories
            .into_iter()
            .map(|c| pb::CategoryHealth {
                category: c.category.number(),
                current_errors: c.errors,
                impacted_records: c.records,
                types: c
                    .types
                    .into_iter()
                    .map(|t| pb::TypeHealth {
                        r#type: t.error_type.number(),
                        current_errors: t.counts.errors,
                        // One current error per record and type.
                        impacted_records: t.counts.errors,
                        dead_errors: t.counts.dead,
                        guidance: t.error_type.guidance().to_owned(),
                    })
                    .collect(),
            })
            .collect(),
        recent_suspensions: health
            .suspensions
            .into_iter()
            .map(|s| pb::SuspensionEvent {
                reason: s.reason.number(),
                guidance: s.reason.guidance().to_owned(),
                status_code: s.status_code,
                message: s.message,
                occurred_at: Some(timestamp(s.occurred_at_ms)),
            })
            .collect(),
    }
}

/// A number in [0, 1) for back-off jitter; it need not be unpredictable,
/// only different from one failure to the next.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    let bits = RandomState::new().hash_one(std::time::SystemTime::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// Settings as replies show them: never the secret.
fn notification_settings_pb(settings: &notify::Settings) -> pb::NotificationSettings {
    pb::NotificationSettings {
        enabled: settings.enabled,
        frequency: settings.frequency.number(),
        webhook_url: settings.webhook_url.clone(),
        webhook_secret: String::new(),
    }
}

fn org(org_id: &str) -> Result<OrgId, ApiError> {
    Ok(OrgId::parse(org_id)?)
}

type ExportStream = Pin<Box<dyn Stream<Item = Result<pb::ExportErrorsCsvResponse, Status>> + Send>>;

#[tonic::async_trait]
impl<S: ErrorStore> pb::sync_errors_server::SyncErrors for SyncErrorsService<S> {
    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id, failures = request.get_ref().failures.len(), suspensions, classifications))]
    async fn ingest_errors(
        &self,
        request: Request<pb::IngestErrorsRequest>,
    ) -> Result<Response<pb::IngestErrorsResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        if request.failures.is_empty() || request.failures.len() > MAX_BATCH {
            return Err(ApiError::from(InvalidInput::new(
                "failures",
                format!("must hold 1 to {MAX_BATCH} failures"),
            ))
            .into());
        }
        let batch = tracing::debug_span!("classify", failures = request.failures.len())
            .in_scope(|| {
                request
                    .failures
                    .into_iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let failure = parse_failure(&format!("failures[{i}]"), f)?;
                        let classification = classify_failure(&failure);
                        Ok((failure, classification))
                    })
                    .collect::<Result<Vec<_>, InvalidInput>>()
            })
            .map_err(ApiError::from)?;
        let suspensions = batch
            .iter()
            .filter(|(_, c)| matches!(c, Classification::Suspension(_)))
            .count();
        let span = tracing::Span::current();
        span.record("suspensions", suspensions);
        if !span.is_disabled() {
            // What the batch holds, for traces: its distinct types and
            // suspension reasons.
            let mut kinds: Vec<&str> = batch
                .iter()
                .map(|(_, c)| match c {
                    Classification::Record(t) => t.code(),
                    Classification::Suspension(r) => r.code(),
                })
                .collect();
            kinds.sort_unstable();
            kinds.dedup();
            span.record("classifications", kinds.join(",").as_str());
        }
        let ingested = self
            .store
            .ingest(&org, &batch, &syncgov_kit::telemetry::current_traceparent())
            .await
            .map_err(ApiError::from)?;
        for (_, i) in batch.iter().zip(&ingested).filter(|(_, i)| !i.duplicate) {
            crate::metrics::ingested(i.classification);
        }
        let results = batch
            .iter()
            .zip(ingested)
            .map(|((failure, _), i)| pb::IngestResult {
                idempotency_key: failure.idempotency_key.clone(),
                classification: Some(classification_pb(i.classification)),
                error_id: i.error_id.map(|id| id.to_string()).unwrap_or_default(),
                duplicate: i.duplicate,
            })
            .collect();
        Ok(Response::new(pb::IngestErrorsResponse { results }))
    }

    async fn classify(
        &self,
        request: Request<pb::ClassifyRequest>,
    ) -> Result<Response<pb::ClassifyResponse>, Status> {
        let inputs = request.into_inner().inputs;
        if inputs.is_empty() || inputs.len() > MAX_BATCH {
            return Err(ApiError::from(InvalidInput::new(
                "inputs",
                format!("must hold 1 to {MAX_BATCH} inputs"),
            ))
            .into());
        }
        let classifications = inputs
            .iter()
            .map(|i| {
                classification_pb(classify(&FailureText {
                    status_code: &i.status_code,
                    message: &i.message,
                    fields: &i.fields,
                    object_type: &i.object_type,
                }))
            })
            .collect();
        Ok(Response::new(pb::ClassifyResponse { classifications }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn get_sync_health(
        &self,
        request: Request<pb::GetSyncHealthRequest>,
    ) -> Result<Response<pb::GetSyncHealthResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let org = org(&request.get_ref().org_id)?;
        let counts = self.store.health(&org).await.map_err(ApiError::from)?;
        Ok(Response::new(health_pb(counts.cards())))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn list_errors(
        &self,
        request: Request<pb::ListErrorsRequest>,
    ) -> Result<Response<pb::ListErrorsResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        let filter = parse_filter(request.filter).map_err(ApiError::from)?;
        let limit = domain::page_size("page_size", request.page_size).map_err(ApiError::from)?;
        let cursor = Cursor::parse("page_token", &request.page_token).map_err(ApiError::from)?;
        let page = self
            .store
            .list(&org, &filter, cursor, limit)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListErrorsResponse {
            errors: page.errors.into_iter().map(|e| error_pb(&org, e)).collect(),
            next_page_token: page.next.map(Cursor::token).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn get_error(
        &self,
        request: Request<pb::GetErrorRequest>,
    ) -> Result<Response<pb::GetErrorResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        let id = ErrorId::parse("error_id", &request.error_id).map_err(ApiError::from)?;
        let error = self
            .store
            .get(&org, &id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::NotFound(format!("error_id: no error {id} in org {org}")))?;
        Ok(Response::new(pb::GetErrorResponse {
            error: Some(error_pb(&org, error)),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn list_affected_records(
        &self,
        request: Request<pb::ListAffectedRecordsRequest>,
    ) -> Result<Response<pb::ListAffectedRecordsResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        let error_type = parse_type("type", request.r#type)
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::from(InvalidInput::new("type", "is required")))?;
        let limit = domain::page_size("page_size", request.page_size).map_err(ApiError::from)?;
        let cursor = Cursor::parse("page_token", &request.page_token).map_err(ApiError::from)?;
        // One current error per record and type: the errors of a type are
        // its affected records.
        let filter = ErrorFilter {
            error_type: Some(error_type),
            ..ErrorFilter::default()
        };
        let page = self
            .store
            .list(&org, &filter, cursor, limit)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListAffectedRecordsResponse {
            records: page
                .errors
                .into_iter()
                .map(|e| pb::AffectedRecord {
                    error_id: e.id.to_string(),
                    last_seen: Some(timestamp(e.last_seen_ms)),
                    object_type: e.object_type,
                    crm_record_id: e.crm_record_id,
                    salesforce_id: e.salesforce_id,
                })
                .collect(),
            next_page_token: page.next.map(Cursor::token).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id, errors = request.get_ref().error_ids.len()))]
    async fn resync_errors(
        &self,
        request: Request<pb::ResyncErrorsRequest>,
    ) -> Result<Response<pb::ResyncErrorsResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        if request.error_ids.is_empty() || request.error_ids.len() > MAX_RESYNC {
            return Err(ApiError::from(InvalidInput::new(
                "error_ids",
                format!(
                    "must hold 1 to {MAX_RESYNC} errors; for more, re-import the records or update a mapped \
                     property so that they sync again"
                ),
            ))
            .into());
        }
        let ids = request
            .error_ids
            .iter()
            .enumerate()
            .map(|(i, id)| ErrorId::parse(&format!("error_ids[{i}]"), id))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ApiError::from)?;
        let queued = self
            .store
            .resync(&org, &ids)
            .await
            .map_err(ApiError::from)?;
        let results = ids
            .iter()
            .zip(queued)
            .map(|(id, q)| {
                let (job_id, skipped) = match q {
                    Queued::Queued(job) => (job.to_string(), ""),
                    Queued::NotFound => (String::new(), "not found"),
                    Queued::Resolved => (String::new(), "resolved"),
                    Queued::AlreadyQueued => (String::new(), "already queued"),
                };
                pb::QueuedResync {
                    error_id: id.to_string(),
                    job_id,
                    skipped: skipped.to_owned(),
                }
            })
            .collect();
        Ok(Response::new(pb::ResyncErrorsResponse { results }))
    }

    #[tracing::instrument(skip_all, fields(worker_id = %request.get_ref().worker_id, claimed))]
    async fn claim_resync_jobs(
        &self,
        request: Request<pb::ClaimResyncJobsRequest>,
    ) -> Result<Response<pb::ClaimResyncJobsResponse>, Status> {
        authorize_every_org(&request, "the resync job queue")?;
        let request = request.into_inner();
        domain::check_text("worker_id", &request.worker_id, 128, true).map_err(ApiError::from)?;
        let max = request.max_jobs as usize;
        if max == 0 || max > resync::MAX_CLAIM {
            return Err(ApiError::from(InvalidInput::new(
                "max_jobs",
                format!("must be 1 to {}", resync::MAX_CLAIM),
            ))
            .into());
        }
        let requested = match request.visibility_timeout {
            None => None,
            Some(d) => Some(std::time::Duration::try_from(d).map_err(|_| {
                ApiError::from(InvalidInput::new("visibility_timeout", "must be 1s to 1h"))
            })?),
        };
        let visibility =
            resync::visibility("visibility_timeout", requested).map_err(ApiError::from)?;
        let claimed = self
            .store
            .claim(max, visibility)
            .await
            .map_err(ApiError::from)?;
        tracing::Span::current().record("claimed", claimed.len());
        let jobs = claimed
            .into_iter()
            .map(|c| pb::ResyncJob {
                job_id: c.job.to_string(),
                lease_id: c.lease,
                org_id: c.job.org.to_string(),
                error_id: c.job.error.to_string(),
                direction: direction_pb(c.error.direction).into(),
                object_type: c.error.object_type,
                crm_record_id: c.error.crm_record_id,
                salesforce_id: c.error.salesforce_id,
                attempt: c.attempt,
                visible_again_at: Some(timestamp(c.visible_again_ms)),
            })
            .collect();
        Ok(Response::new(pb::ClaimResyncJobsResponse { jobs }))
    }

    #[tracing::instrument(skip_all, fields(job_id = %request.get_ref().job_id))]
    async fn complete_resync_job(
        &self,
        request: Request<pb::CompleteResyncJobRequest>,
    ) -> Result<Response<pb::CompleteResyncJobResponse>, Status> {
        authorize_every_org(&request, "the resync job queue")?;
        let request = request.into_inner();
        let job = JobId::parse("job_id", &request.job_id).map_err(ApiError::from)?;
        domain::check_text("lease_id", &request.lease_id, 64, true).map_err(ApiError::from)?;
        let outcome = match request.outcome {
            Some(pb::complete_resync_job_request::Outcome::Success(true)) => JobOutcome::Success,
            Some(pb::complete_resync_job_request::Outcome::Failure(failure)) => {
                // The new failure is recorded like any reported one.
                let failure = parse_failure("failure", failure).map_err(ApiError::from)?;
                let classification = classify_failure(&failure);
                self.store
                    .ingest(
                        &job.org,
                        &[(failure, classification)],
                        &syncgov_kit::telemetry::current_traceparent(),
                    )
                    .await
                    .map_err(ApiError::from)?;
                JobOutcome::Failure
            }
            _ => {
                return Err(ApiError::from(InvalidInput::new(
                    "outcome",
                    "must be success = true or a failure",
                ))
                .into());
            }
        };
        let jitter = jitter();
        let reported = match outcome {
            JobOutcome::Success => "success",
            JobOutcome::Failure => "failure",
        };
        match self
            .store
            .complete(&job, &request.lease_id, outcome, jitter)
            .await
            .map_err(ApiError::from)?
        {
            Completed::LeaseLost => Err(Status::failed_precondition(
                "lease_id: the claim lapsed or is not this one; another worker may hold the job, so this outcome was not recorded",
            )),
            Completed::Done { state, retry_at_ms } => {
                crate::metrics::resync_completed(reported, state_pb(state).as_str_name());
                Ok(Response::new(pb::CompleteResyncJobResponse {
                    state: state_pb(state).into(),
                    retry_at: retry_at_ms.map(timestamp),
                }))
            }
        }
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn resolve_record(
        &self,
        request: Request<pb::ResolveRecordRequest>,
    ) -> Result<Response<pb::ResolveRecordResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        domain::check_object_type("object_type", &request.object_type).map_err(ApiError::from)?;
        domain::check_record_id("crm_record_id", &request.crm_record_id).map_err(ApiError::from)?;
        let resolved = self
            .store
            .resolve_record(&org, &request.object_type, &request.crm_record_id)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ResolveRecordResponse { resolved }))
    }

    type ExportErrorsCsvStream = ExportStream;

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn export_errors_csv(
        &self,
        request: Request<pb::ExportErrorsCsvRequest>,
    ) -> Result<Response<Self::ExportErrorsCsvStream>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        let filter = parse_filter(request.filter).map_err(ApiError::from)?;
        let stream = export::csv_stream(self.store.clone(), org, filter);
        Ok(Response::new(Box::pin(stream)))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn get_notification_settings(
        &self,
        request: Request<pb::GetNotificationSettingsRequest>,
    ) -> Result<Response<pb::GetNotificationSettingsResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let org = org(&request.get_ref().org_id)?;
        let settings = self
            .store
            .notification_settings(&org)
            .await
            .map_err(ApiError::from)?
            .unwrap_or_default();
        Ok(Response::new(pb::GetNotificationSettingsResponse {
            webhook_secret_set: settings.webhook_secret.is_some(),
            settings: Some(notification_settings_pb(&settings)),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn update_notification_settings(
        &self,
        request: Request<pb::UpdateNotificationSettingsRequest>,
    ) -> Result<Response<pb::UpdateNotificationSettingsResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        let given = request
            .settings
            .ok_or_else(|| ApiError::from(InvalidInput::new("settings", "is required")))?;
        let frequency = notify::Frequency::from_number(given.frequency).ok_or_else(|| {
            ApiError::from(InvalidInput::new(
                "settings.frequency",
                "must be a NotificationFrequency",
            ))
        })?;
        let mut settings = notify::Settings {
            enabled: given.enabled,
            frequency,
            webhook_url: given.webhook_url,
            webhook_secret: (!given.webhook_secret.is_empty()).then_some(given.webhook_secret),
        };
        // Check with the secret that will be kept, not only the one given.
        let mut merged = settings.clone();
        if merged.webhook_secret.is_none() {
            merged.webhook_secret = self
                .store
                .notification_settings(&org)
                .await
                .map_err(ApiError::from)?
                .and_then(|s| s.webhook_secret);
        }
        if let Some(given) = &settings.webhook_secret {
            notify::Settings {
                webhook_secret: Some(given.clone()),
                ..notify::Settings::default()
            }
            .validate()
            .map_err(ApiError::from)?;
        }
        merged.validate().map_err(ApiError::from)?;
        settings = self
            .store
            .set_notification_settings(&org, settings)
            .await
            .map_err(ApiError::from)?;
        tracing::info!(enabled = settings.enabled, "notification settings updated");
        Ok(Response::new(pb::UpdateNotificationSettingsResponse {
            webhook_secret_set: settings.webhook_secret.is_some(),
            settings: Some(notification_settings_pb(&settings)),
        }))
    }
}

/// Property tests of the request validators, kept beside them.
#[cfg(test)]
#[path = "grpc_properties.rs"]
mod properties;
