//! The gRPC face of the sync-error service, an adapter: each handler checks
//! who calls, converts the protobuf request into domain values, asks the
//! core ([`SyncErrors`]) and converts its answer back. The rules live in the
//! core; here are only the contract's shapes.
//!
//! A field's own rules (an org id, an error id, a failure's fields, an enum's
//! numbers) are checked while converting, with the domain's checkers, so the
//! refusal names the field as the caller wrote it. Every failure becomes a
//! `Status` in one place, `From<Error> for Status` below, through the kit's
//! mapping (`syncgov_kit::error::ApiError`) for every code that mapping has.
//! This module never names Redis.

use std::pin::Pin;
use std::sync::Arc;

use syncgov_api::syncerrors::v1 as pb;
use syncgov_kit::audit::{self as trail, AuditLog, Change};
use syncgov_kit::auth::{Principal, Role, authorize_every_org, authorize_org};
use syncgov_kit::clock::{now_ms, timestamp};
use syncgov_kit::error::ApiError;
use syncgov_kit::page::{self, Scope};
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::audit;
use crate::classify::{Classification, Classified, FailureText};
use crate::core::{ClassifyInput, Reclassified, Report, SyncErrors};
use crate::destination::{Policy, redact_credentials};
use crate::domain::{
    self, Cursor, Direction, ErrorExplanation, ErrorFilter, ErrorId, ErrorState, Failure,
    InvalidInput, OrgId, StoredError, SyncHealth,
};
use crate::error::Error;
use crate::notify;
use crate::resync::JobId;
use crate::rules::RulesHandle;
use crate::store::{ErrorStore, Queued};
use crate::taxonomy::{Category, ErrorType, Stated, SuspensionReason};
use crate::top::{TOP_PAGE, TopOrder, TopRank};

/// The `syncgov.syncerrors.v1.SyncErrors` service over a store.
pub struct SyncErrorsService<S> {
    core: SyncErrors<S>,
    /// Where the changes operators and admins make through this API are
    /// recorded.
    audit: AuditLog,
}

impl<S: ErrorStore> SyncErrorsService<S> {
    /// A service over `store`, with webhook URLs held to `webhooks`,
    /// recording changes in `audit`.
    pub fn new(store: Arc<S>, webhooks: Policy, audit: AuditLog) -> Self {
        Self::with_rules(store, webhooks, Arc::default(), audit)
    }

    /// A service that classifies with the operator rules of `rules` too.
    pub fn with_rules(
        store: Arc<S>,
        webhooks: Policy,
        rules: Arc<RulesHandle>,
        audit: AuditLog,
    ) -> Self {
        Self {
            core: SyncErrors::with_rules(store, webhooks, rules),
            audit,
        }
    }

    /// The same, taking e-mail recipients when `email` (the service has an
    /// SMTP server).
    pub fn with_email(self, email: bool) -> Self {
        Self {
            core: self.core.with_email(email),
            ..self
        }
    }

    /// Records a change made through the API. It is written after the
    /// change: when it cannot be, the change is not acknowledged
    /// (`UNAVAILABLE`; every audited change is safe to repeat), so that
    /// nothing a caller was told of goes unrecorded.
    async fn record(&self, change: Change) -> Result<(), Status> {
        self.audit
            .record(change)
            .await
            .map(drop)
            .map_err(|e| ApiError::Store(e).into())
    }
}

/// A failure as the kit's one mapping to statuses knows it.
impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        match err {
            Error::Invalid(e) => ApiError::Invalid(e),
            Error::ErrorNotFound { .. } => ApiError::NotFound(err.to_string()),
            Error::Store(e) => ApiError::Store(e),
            // FAILED_PRECONDITION: the job is no longer this caller's, so
            // sending the same outcome again cannot succeed.
            Error::LeaseLost => ApiError::FailedPrecondition(err.to_string()),
            // Nothing the caller can fix by retrying: the service's settings.
            Error::EmailOff => ApiError::FailedPrecondition(err.to_string()),
            // INTERNAL: a fault of this service, not of the store (whose
            // INTERNAL the kit counts as a store error).
            Error::Csv(_) => ApiError::Internal(err.to_string()),
        }
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        ApiError::from(err).into()
    }
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
        // Converted as the core reads them, after it checked their number;
        // their times against one reading of the clock.
        let now = now_ms();
        let failures = request
            .failures
            .into_iter()
            .enumerate()
            .map(|(i, f)| parse_failure(&format!("failures[{i}]"), f, now));
        let ingested = self.core.ingest(&org, failures).await?;
        let results = ingested
            .into_iter()
            .map(|(failure, i)| pb::IngestResult {
                idempotency_key: failure.idempotency_key,
                classification: Some(classification_pb(i.classification, i.explanation.as_ref())),
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
        // An org's rules are the org's: the caller must be one that may
        // touch it; without an org only the rules naming none apply.
        let mut orgs = Vec::new();
        for (n, input) in request.get_ref().inputs.iter().enumerate() {
            if input.org_id.is_empty() {
                orgs.push(None);
                continue;
            }
            authorize_org(&request, &input.org_id)?;
            let org = OrgId::parse(&input.org_id)
                .map_err(|e| InvalidInput::new(format!("inputs[{n}].org_id"), e.rule.clone()))?;
            orgs.push(Some(org));
        }
        let inputs = request.into_inner().inputs;
        let texts = inputs.iter().zip(&orgs).enumerate().map(|(n, (i, org))| {
            let at = format!("inputs[{n}]");
            Ok(ClassifyInput {
                org: org.as_ref(),
                text: FailureText {
                    status_code: &i.status_code,
                    message: &i.message,
                    fields: &i.fields,
                    object_type: &i.object_type,
                },
                stated: parse_stated(&at, i.stated_type, i.stated_reason, &i.stated_code)?,
            })
        });
        let classifications = self
            .core
            .classify(texts)?
            .into_iter()
            .map(|c: Classified| classification_pb(c.class, Some(&ErrorExplanation::of(&c.why))))
            .collect();
        Ok(Response::new(pb::ClassifyResponse { classifications }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id, dry_run = request.get_ref().dry_run))]
    async fn reclassify_errors(
        &self,
        request: Request<pb::ReclassifyErrorsRequest>,
    ) -> Result<Response<pb::ReclassifyErrorsResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let actor = trail::actor_of(&request);
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        let done: Reclassified = self.core.reclassify(&org, request.dry_run).await?;
        // A dry run changes nothing.
        if !request.dry_run {
            self.record(Change {
                actor,
                action: "ReclassifyErrors",
                org: org.to_string(),
                target: String::new(),
                before: None,
                after: Some(audit::reclassified(&done)),
            })
            .await?;
        }
        Ok(Response::new(pb::ReclassifyErrorsResponse {
            examined: done.examined,
            moved: done.moved,
            now_suspension: done.now_suspension,
            skipped_resyncing: done.skipped_resyncing,
            moves: done
                .moves
                .into_iter()
                .map(|(from, to, errors)| pb::TypeMove {
                    from: from.number(),
                    to: to.number(),
                    errors,
                })
                .collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn get_sync_health(
        &self,
        request: Request<pb::GetSyncHealthRequest>,
    ) -> Result<Response<pb::GetSyncHealthResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let org = org(&request.get_ref().org_id)?;
        let health = self.core.health(&org).await?;
        let mut reply = health_pb(health);
        reply.notification_delivery = self
            .core
            .delivery_status(&org)
            .await?
            .as_ref()
            .map(delivery_pb);
        Ok(Response::new(reply))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn list_errors(
        &self,
        request: Request<pb::ListErrorsRequest>,
    ) -> Result<Response<pb::ListErrorsResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        let filter = parse_filter(request.filter)?;
        let limit = domain::page_size("page_size", request.page_size)?;
        let cursor = Cursor::parse("page_token", &request.page_token)?;
        let page = self.core.list(&org, &filter, cursor, limit).await?;
        Ok(Response::new(pb::ListErrorsResponse {
            errors: page.errors.into_iter().map(|e| error_pb(&org, e)).collect(),
            next_page_token: page.next.map(Cursor::token).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all, fields(order_by = request.get_ref().order_by))]
    async fn list_top_orgs(
        &self,
        request: Request<pb::ListTopOrgsRequest>,
    ) -> Result<Response<pb::ListTopOrgsResponse>, Status> {
        let scope = Scope::of(request.extensions().get::<Principal>());
        let request = request.into_inner();
        let order = match pb::TopOrgsOrder::try_from(request.order_by) {
            Ok(pb::TopOrgsOrder::Unspecified | pb::TopOrgsOrder::CurrentErrors) => {
                TopOrder::Current
            }
            Ok(pb::TopOrgsOrder::UnknownErrors) => TopOrder::Unknown,
            Ok(pb::TopOrgsOrder::DeadJobs) => TopOrder::Dead,
            Err(_) => return Err(InvalidInput::new("order_by", "must be a TopOrgsOrder").into()),
        };
        let limit = page::page_size("page_size", request.page_size, TOP_PAGE)?;
        let filter = format!("top:{}", order.as_str());
        let after = page::read_token("page_token", &request.page_token, &filter, TopRank::read)?;
        let (orgs, next) = self.core.top_orgs(&scope, order, after, limit).await?;
        Ok(Response::new(pb::ListTopOrgsResponse {
            orgs: orgs
                .into_iter()
                .map(|(org, counts)| pb::OrgErrorCounts {
                    org_id: org.to_string(),
                    current_errors: counts.current,
                    unknown_errors: counts.unknown,
                    dead_jobs: counts.dead,
                    impacted_records: counts.records,
                })
                .collect(),
            next_page_token: next
                .map(|rank| page::token(&filter, &rank.entry()))
                .unwrap_or_default(),
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
        let id = ErrorId::parse("error_id", &request.error_id)?;
        let error = self.core.get(&org, id).await?;
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
        let error_type = parse_type("type", request.r#type)?
            .ok_or_else(|| InvalidInput::new("type", "is required"))?;
        let limit = domain::page_size("page_size", request.page_size)?;
        let cursor = Cursor::parse("page_token", &request.page_token)?;
        let page = self
            .core
            .affected_records(&org, error_type, cursor, limit)
            .await?;
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
        let actor = trail::actor_of(&request);
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        // Converted as the core reads them, after it checked their number.
        let ids = request
            .error_ids
            .iter()
            .enumerate()
            .map(|(i, id)| ErrorId::parse(&format!("error_ids[{i}]"), id));
        let done = self.core.resync(&org, ids).await?;
        let jobs: Vec<&JobId> = done
            .iter()
            .filter_map(|(_, queued)| match queued {
                Queued::Queued(job) => Some(job),
                _ => None,
            })
            .collect();
        let already = done
            .iter()
            .filter(|(_, queued)| matches!(queued, Queued::AlreadyQueued))
            .count();
        // Recorded even when nothing was queued: a retry after a failed
        // write finds its errors already queued, and must still leave its
        // event.
        self.record(Change {
            actor,
            action: "ResyncErrors",
            org: org.to_string(),
            target: format!("{} errors", done.len()),
            before: None,
            after: Some(audit::resync(done.len(), &jobs, already)),
        })
        .await?;
        let results = done
            .into_iter()
            .map(|(id, queued)| queued_pb(&id, queued))
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
        domain::check_text("worker_id", &request.worker_id, 128, true)?;
        // A negative timeout has no `Duration`; as zero it is below the
        // bounds, which the core refuses naming the field, as it refuses any
        // other timeout out of them.
        let visibility = request
            .visibility_timeout
            .map(|d| std::time::Duration::try_from(d).unwrap_or_default());
        let claimed = self.core.claim(request.max_jobs, visibility).await?;
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
        use pb::complete_resync_job_request::Outcome;
        // The job names its org: the caller must be one that may touch it,
        // as for every call that names an org.
        let job = JobId::parse("job_id", &request.get_ref().job_id)?;
        authorize_org(&request, job.org.as_str())?;
        let request = request.into_inner();
        crate::resync::check_lease("lease_id", &request.lease_id)?;
        let (report, reported) = match request.outcome {
            Some(Outcome::Success(true)) => (Report::Success, "success"),
            Some(Outcome::Failure(failure)) => (
                Report::Failure(parse_failure("failure", failure, now_ms())?),
                "failure",
            ),
            _ => {
                return Err(
                    InvalidInput::new("outcome", "must be success = true or a failure").into(),
                );
            }
        };
        let done = self.core.complete(&job, &request.lease_id, report).await?;
        // Labelled with the contract's state names, which only this module
        // knows.
        crate::metrics::resync_completed(reported, state_pb(done.state).as_str_name());
        Ok(Response::new(pb::CompleteResyncJobResponse {
            state: state_pb(done.state).into(),
            retry_at: done.retry_at_ms.map(timestamp),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn resolve_record(
        &self,
        request: Request<pb::ResolveRecordRequest>,
    ) -> Result<Response<pb::ResolveRecordResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        // Workers resolve records as syncs succeed, all day long: routine,
        // not recorded. An operator or admin resolving by hand is a change.
        let by_hand = request
            .extensions()
            .get::<Principal>()
            .is_some_and(|p| matches!(p.role, Role::Operator | Role::Admin));
        let actor = trail::actor_of(&request);
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        domain::check_object_type("object_type", &request.object_type)?;
        domain::check_record_id("crm_record_id", &request.crm_record_id)?;
        let resolved = self
            .core
            .resolve_record(&org, &request.object_type, &request.crm_record_id)
            .await?;
        // By hand, recorded even when nothing was left to resolve (a retry
        // after a failed write).
        if by_hand {
            self.record(Change {
                actor,
                action: "ResolveRecord",
                org: org.to_string(),
                target: format!("{} {}", request.object_type, request.crm_record_id),
                before: None,
                after: Some(serde_json::json!({ "resolved": resolved })),
            })
            .await?;
        }
        Ok(Response::new(pb::ResolveRecordResponse { resolved }))
    }

    type ExportErrorsCsvStream = ExportStream;

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn export_errors_csv(
        &self,
        request: Request<pb::ExportErrorsCsvRequest>,
    ) -> Result<Response<Self::ExportErrorsCsvStream>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let drain = syncgov_kit::drain::Drain::of(&request);
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        let filter = parse_filter(request.filter)?;
        // A failure mid-way ends the stream with the status a unary call
        // would get.
        let stream = self.core.export_csv(org, filter).map(|chunk| {
            chunk
                .map(|c| pb::ExportErrorsCsvResponse {
                    chunk: c.csv,
                    rows: c.rows,
                })
                .map_err(Status::from)
        });
        // Ended with UNAVAILABLE when the server shuts down.
        Ok(Response::new(Box::pin(drain.end_stream(stream))))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn get_notification_settings(
        &self,
        request: Request<pb::GetNotificationSettingsRequest>,
    ) -> Result<Response<pb::GetNotificationSettingsResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let org = org(&request.get_ref().org_id)?;
        let settings = self.core.notification_settings(&org).await?;
        let delivery = self.core.delivery_status(&org).await?;
        let email_delivery = self.core.email_delivery_status(&org).await?;
        Ok(Response::new(pb::GetNotificationSettingsResponse {
            webhook_secret_set: settings.webhook_secret.is_some(),
            settings: Some(notification_settings_pb(&settings)),
            delivery: delivery.as_ref().map(delivery_pb),
            email_delivery: email_delivery.as_ref().map(delivery_pb),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn update_notification_settings(
        &self,
        request: Request<pb::UpdateNotificationSettingsRequest>,
    ) -> Result<Response<pb::UpdateNotificationSettingsResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let actor = trail::actor_of(&request);
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        let given = request
            .settings
            .ok_or_else(|| InvalidInput::new("settings", "is required"))?;
        let update = notification_update(given, request.update_mask.as_ref())?;
        let before = self.core.notification_settings(&org).await?;
        let secret_given = update.webhook_secret.is_some();
        let settings = self.core.update_notification_settings(&org, update).await?;
        let set_before = before.webhook_secret.is_some();
        let set_after = settings.webhook_secret.is_some();
        self.record(Change {
            actor,
            action: "UpdateNotificationSettings",
            org: org.to_string(),
            target: String::new(),
            before: Some(audit::notification(
                &before,
                if set_before { "set" } else { "unset" },
            )),
            after: Some(audit::notification(
                &settings,
                audit::secret_change(set_before, secret_given, set_after),
            )),
        })
        .await?;
        Ok(Response::new(pb::UpdateNotificationSettingsResponse {
            webhook_secret_set: settings.webhook_secret.is_some(),
            settings: Some(notification_settings_pb(&settings)),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let r = request.get_ref();
        let query = trail::read_request(
            request.extensions().get::<Principal>(),
            trail::Request {
                org_id: &r.org_id,
                actor: &r.actor,
                action: &r.action,
                from: r.from.as_ref(),
                to: r.to.as_ref(),
                page_size: r.page_size,
                page_token: &r.page_token,
            },
        )?;
        let page = self.audit.list(&query).await.map_err(ApiError::Store)?;
        Ok(Response::new(pb::ListAuditEventsResponse {
            next_page_token: trail::next_token(&query, &page),
            events: page
                .events
                .into_iter()
                .map(|e| pb::AuditEvent {
                    id: e.id.to_string(),
                    at: Some(timestamp(e.id.at_ms())),
                    actor: e.actor,
                    action: e.action,
                    org_id: e.org,
                    target: e.target,
                    before: e.before,
                    after: e.after,
                })
                .collect(),
        }))
    }
}

/// The org a request names.
fn org(org_id: &str) -> Result<OrgId, ApiError> {
    Ok(OrgId::parse(org_id)?)
}

/// A failure as reported, checked; `at` names it in refusals
/// (`failures[3]`). Its time, when given, must be a valid protobuf timestamp
/// near `now` (ms; see [`domain::check_occurred_at`]); it is checked after
/// every other field.
fn parse_failure(at: &str, f: pb::Failure, now: i64) -> Result<Failure, InvalidInput> {
    let mut failure = Failure {
        direction: parse_direction(&format!("{at}.direction"), f.direction)?,
        idempotency_key: f.idempotency_key,
        object_type: f.object_type,
        crm_record_id: f.crm_record_id,
        salesforce_id: f.salesforce_id,
        status_code: f.status_code,
        message: f.message,
        fields: f.fields,
        occurred_at_ms: None,
        stated: parse_stated(at, f.stated_type, f.stated_reason, &f.stated_code)?,
    };
    failure.validate(at)?;
    if let Some(t) = &f.occurred_at {
        let field = format!("{at}.occurred_at");
        let at_ms = syncgov_kit::input::timestamp_ms(&field, t)?;
        domain::check_occurred_at(&field, at_ms, now)?;
        failure.occurred_at_ms = Some(at_ms);
    }
    Ok(failure)
}

/// What a worker stated it detected: at most one of a type, a reason and a
/// code, each checked against the taxonomy; `at` names the failure
/// (`failures[3]`). Unset, 0 and empty all mean nothing stated.
fn parse_stated(
    at: &str,
    stated_type: i32,
    stated_reason: i32,
    stated_code: &str,
) -> Result<Option<Stated>, InvalidInput> {
    let field = |name: &str| format!("{at}.{name}");
    let code = stated_code.trim();
    let given = [stated_type != 0, stated_reason != 0, !code.is_empty()];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(InvalidInput::new(
            field("stated_code"),
            "at most one of stated_type, stated_reason and stated_code may be set",
        ));
    }
    if stated_type != 0 {
        return ErrorType::from_number(stated_type)
            .map(|t| Some(Stated::Type(t)))
            .ok_or_else(|| InvalidInput::new(field("stated_type"), "must be an ErrorType"));
    }
    if stated_reason != 0 {
        return SuspensionReason::from_number(stated_reason)
            .map(|r| Some(Stated::Reason(r)))
            .ok_or_else(|| {
                InvalidInput::new(field("stated_reason"), "must be a SuspensionReason")
            });
    }
    if code.is_empty() {
        return Ok(None);
    }
    Stated::from_code(code).map(Some).ok_or_else(|| {
        InvalidInput::new(
            field("stated_code"),
            "must be a type or suspension reason code of the taxonomy (EMAIL_ALREADY_IN_USE, \
             MISSING_FIELD_MAPPINGS, ...)",
        )
    })
}

/// A direction; unset is unknown, a number the contract lacks is refused.
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

/// A category to filter by; 0 (unset) is none.
fn parse_category(field: &str, n: i32) -> Result<Option<Category>, InvalidInput> {
    if n == 0 {
        return Ok(None);
    }
    Category::from_number(n)
        .map(Some)
        .ok_or_else(|| InvalidInput::new(field, "must be an ErrorCategory"))
}

/// A type to filter by; 0 (unset) is none.
fn parse_type(field: &str, n: i32) -> Result<Option<ErrorType>, InvalidInput> {
    if n == 0 {
        return Ok(None);
    }
    ErrorType::from_number(n)
        .map(Some)
        .ok_or_else(|| InvalidInput::new(field, "must be an ErrorType"))
}

/// A filter; unset fields do not filter, an unset state means every
/// current error.
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

fn classification_pb(c: Classification, why: Option<&ErrorExplanation>) -> pb::Classification {
    let level = match c {
        Classification::Record(t) => pb::classification::Level::Record(record_level_pb(t)),
        Classification::Suspension(r) => pb::classification::Level::Suspension(r.number()),
    };
    pb::Classification {
        level: Some(level),
        guidance: c.guidance().to_owned(),
        explanation: why.map(explanation_pb),
    }
}

fn explanation_pb(why: &ErrorExplanation) -> pb::Explanation {
    pb::Explanation {
        basis: why.basis.number(),
        confidence: why.confidence(),
        matched: why.matched.clone(),
    }
}

fn record_level_pb(t: ErrorType) -> pb::RecordLevel {
    pb::RecordLevel {
        category: t.category().number(),
        r#type: t.number(),
    }
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
        explanation: e.explanation.as_ref().map(explanation_pb),
    }
}

/// What a resync did to one error: its job, or why none was queued.
fn queued_pb(id: &ErrorId, queued: Queued) -> pb::QueuedResync {
    let (job_id, skipped) = match queued {
        Queued::Queued(job) => (job.to_string(), ""),
        Queued::NotFound => (String::new(), "not found"),
        Queued::Resolved => (String::new(), "resolved"),
        Queued::AlreadyQueued => (String::new(), "already queued"),
        // The org has --resync-max-queued-per-org jobs queued.
        Queued::QueueFull => (String::new(), "queue full"),
    };
    pb::QueuedResync {
        error_id: id.to_string(),
        job_id,
        skipped: skipped.to_owned(),
    }
}

/// The health cards as the contract shows them, each with its guidance.
fn health_pb(health: SyncHealth) -> pb::GetSyncHealthResponse {
    pb::GetSyncHealthResponse {
        unknown_errors: health.unknown,
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
        notification_delivery: None,
    }
}

/// Settings as replies show them: never the secret, nor credentials a URL
/// stored before they were refused may hold.
fn notification_settings_pb(settings: &notify::Settings) -> pb::NotificationSettings {
    let choices = |c: notify::Choices| pb::NotificationChoices {
        errors: c.errors,
        suspensions: c.suspensions,
        usage_alerts: c.usage_alerts,
    };
    pb::NotificationSettings {
        enabled: settings.enabled,
        frequency: settings.frequency.number(),
        webhook_frequency: settings
            .webhook_frequency
            .map_or(0, notify::Frequency::number),
        email_frequency: settings
            .email_frequency
            .map_or(0, notify::Frequency::number),
        webhook_url: redact_credentials(&settings.webhook_url),
        webhook_secret: String::new(),
        webhook: Some(choices(settings.webhook)),
        email: Some(choices(settings.email)),
        email_recipients: settings.email_recipients.clone(),
        webhook_format: settings.webhook_format.number(),
    }
}

/// Most paths an update mask may name (there are 15; repeats are refused
/// by the bound, not counted).
const MAX_MASK_PATHS: usize = 32;

/// The change an UpdateNotificationSettings asks for: the fields `mask`
/// names, or, without one (older clients), enabled, frequency and
/// webhook_url, and the newer fields only where given (set, non-empty).
/// Values are checked by the core once merged with what is stored; here
/// only what is malformed on its own (an unknown enum, an unknown path).
pub fn notification_update(
    given: pb::NotificationSettings,
    mask: Option<&prost_types::FieldMask>,
) -> Result<notify::Update, InvalidInput> {
    let frequency = notify::Frequency::from_number(given.frequency).ok_or_else(|| {
        InvalidInput::new("settings.frequency", "must be a NotificationFrequency")
    })?;
    let format = notify::WebhookFormat::from_number(given.webhook_format)
        .ok_or_else(|| InvalidInput::new("settings.webhook_format", "must be a WebhookFormat"))?;
    let channel_frequency = |field: &str, n: i32| {
        notify::Frequency::of_channel(n)
            .ok_or_else(|| InvalidInput::new(field, "must be a NotificationFrequency"))
    };
    let webhook_frequency =
        channel_frequency("settings.webhook_frequency", given.webhook_frequency)?;
    let email_frequency = channel_frequency("settings.email_frequency", given.email_frequency)?;
    let choices = |c: Option<pb::NotificationChoices>| {
        let c = c.unwrap_or_default();
        notify::Choices {
            errors: c.errors,
            suspensions: c.suspensions,
            usage_alerts: c.usage_alerts,
        }
    };
    // The contract's empty secret is "keep the one set before".
    let secret = (!given.webhook_secret.is_empty()).then_some(given.webhook_secret);
    let Some(mask) = mask.filter(|m| !m.paths.is_empty()) else {
        return Ok(notify::Update {
            enabled: Some(given.enabled),
            frequency: Some(frequency),
            webhook_url: Some(given.webhook_url),
            webhook_secret: secret,
            webhook_format: (given.webhook_format != 0).then_some(format),
            webhook_frequency: webhook_frequency.map(Some),
            email_frequency: email_frequency.map(Some),
            webhook: given
                .webhook
                .map(|c| notify::ChoicesUpdate::all(choices(Some(c))))
                .unwrap_or_default(),
            email: given
                .email
                .map(|c| notify::ChoicesUpdate::all(choices(Some(c))))
                .unwrap_or_default(),
            email_recipients: (!given.email_recipients.is_empty())
                .then_some(given.email_recipients),
        });
    };
    if mask.paths.len() > MAX_MASK_PATHS {
        return Err(InvalidInput::new(
            "update_mask",
            format!("must name at most {MAX_MASK_PATHS} paths"),
        ));
    }
    let webhook = choices(given.webhook);
    let email = choices(given.email);
    let mut update = notify::Update::default();
    for path in &mask.paths {
        match path.as_str() {
            "enabled" => update.enabled = Some(given.enabled),
            "frequency" => update.frequency = Some(frequency),
            "webhook_frequency" => update.webhook_frequency = Some(webhook_frequency),
            "email_frequency" => update.email_frequency = Some(email_frequency),
            "webhook_url" => update.webhook_url = Some(given.webhook_url.clone()),
            // An empty secret cannot be stored: every delivery is signed.
            "webhook_secret" => update.webhook_secret = secret.clone(),
            "webhook_format" => update.webhook_format = Some(format),
            "email_recipients" => {
                update.email_recipients = Some(given.email_recipients.clone());
            }
            "webhook" => update.webhook = notify::ChoicesUpdate::all(webhook),
            "webhook.errors" => update.webhook.errors = Some(webhook.errors),
            "webhook.suspensions" => update.webhook.suspensions = Some(webhook.suspensions),
            "webhook.usage_alerts" => update.webhook.usage_alerts = Some(webhook.usage_alerts),
            "email" => update.email = notify::ChoicesUpdate::all(email),
            "email.errors" => update.email.errors = Some(email.errors),
            "email.suspensions" => update.email.suspensions = Some(email.suspensions),
            "email.usage_alerts" => update.email.usage_alerts = Some(email.usage_alerts),
            other => {
                let shown: String = other.chars().take(64).filter(|c| !c.is_control()).collect();
                return Err(InvalidInput::new(
                    "update_mask",
                    format!(
                        "names {shown:?}, which is not a field of NotificationSettings that can be changed"
                    ),
                ));
            }
        }
    }
    Ok(update)
}

/// How deliveries are going, as replies show it.
fn delivery_pb(status: &notify::DeliveryStatus) -> pb::NotificationDeliveryStatus {
    pb::NotificationDeliveryStatus {
        consecutive_failures: status.consecutive_failures,
        last_failure: status.last_failure.clone(),
        last_failure_at: status.last_failure_ms.map(timestamp),
        last_success_at: status.last_success_ms.map(timestamp),
        failing: status.failing(),
    }
}

/// Property tests of the request validators, kept beside them.
#[cfg(test)]
#[path = "grpc_properties.rs"]
mod properties;
