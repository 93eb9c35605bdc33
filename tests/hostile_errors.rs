//! The sync-error service against hostile and careless callers, over real
//! gRPC, on every store where the store matters: times far outside any
//! clock, outbox entries that cannot be told, resync outcomes sent with
//! made-up jobs and lapsed leases, idempotency keys reused for other
//! failures, field names that hold the CSV's separator, and one org's bulk
//! resync crowding the others out of the queue.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use quota_governor::config::Settings as GovernorSettings;
use sync_errors::config::Settings;
use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1 as pb;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_kit::auth::{AuthChannel, Bearer};
use syncgov_kit::security::SecuritySettings;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::PATIENCE;
use syncgov_tests::syncerrors::{
    Env, claim, claim_within, complete, failure, health_of, ingest, list, resync,
};
use syncgov_tests::{Backend, RedisServer, Service, TempDir, eventually, on_every_store};
use tonic::Code;
use tonic::transport::Channel;

on_every_store!(
    times_a_caller_sends_are_checked_before_anything_is_stored,
    an_outcome_without_the_lease_records_nothing,
    a_reused_idempotency_key_answers_what_was_stored_first,
    field_names_holding_the_separator_export_unambiguously,
    one_orgs_bulk_resync_does_not_hold_up_the_others,
    an_org_has_at_most_its_cap_of_jobs_queued,
);

/// Seconds since the epoch now, plus `offset`.
fn seconds_from_now(offset: i64) -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + offset
}

/// `f` dated `seconds` (and `nanos`).
fn dated(mut f: pb::Failure, seconds: i64, nanos: i32) -> pb::Failure {
    f.occurred_at = Some(prost_types::Timestamp { seconds, nanos });
    f
}

/// Asserts `result` is INVALID_ARGUMENT naming `field`.
fn refused_naming<T: std::fmt::Debug>(result: Result<T, tonic::Status>, field: &str) {
    let status = result.expect_err("the call must be refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().starts_with(&format!("{field}:")),
        "{field}: {}",
        status.message()
    );
}

/// The whole CSV export of `org`.
async fn export(c: &mut SyncErrorsClient<Channel>, org: &str) -> Result<Vec<u8>, tonic::Status> {
    let mut stream = c
        .export_errors_csv(pb::ExportErrorsCsvRequest {
            org_id: org.into(),
            filter: None,
        })
        .await?
        .into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.message().await? {
        bytes.extend(chunk.chunk);
    }
    Ok(bytes)
}

// ---------------------------------------------------------------------------
// Times: every Timestamp a caller sends is a real one, near the clock.
// ---------------------------------------------------------------------------

async fn times_a_caller_sends_are_checked_before_anything_is_stored(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let ingest_one = |f: pb::Failure| {
        let mut c = c.clone();
        async move {
            c.ingest_errors(pb::IngestErrorsRequest {
                org_id: "acme".into(),
                failures: vec![failure("ok", "Contact", "c0", "email"), f],
            })
            .await
        }
    };
    let record = || failure("k1", "Contact", "c1", "too_long");
    let suspension = || failure("k2", "Contact", "c2", "daily_limit");
    // What the hostile client sent: the largest seconds there are, and the
    // last second of 9999 on a suspension-level failure.
    refused_naming(
        ingest_one(dated(record(), i64::MAX, 0)).await,
        "failures[1].occurred_at",
    );
    refused_naming(
        ingest_one(dated(suspension(), 253_402_300_799, 0)).await,
        "failures[1].occurred_at",
    );
    // Outside the well-known type, and outside what a clock may be off by.
    for (seconds, nanos) in [
        (i64::MIN, 0),
        (seconds_from_now(0), -1),
        (seconds_from_now(0), 1_000_000_000),
        (seconds_from_now(10 * 60), 0),
        (seconds_from_now(-31 * 24 * 3_600), 0),
    ] {
        refused_naming(
            ingest_one(dated(record(), seconds, nanos)).await,
            "failures[1].occurred_at",
        );
    }
    // Nothing of a refused batch was stored: not its good failure either.
    let h = health_of(c, "acme").await;
    assert_eq!((h.current_errors, h.recent_suspensions.len()), (0, 0));

    // A worker a minute ahead, and one sending a report four weeks old.
    let ahead = seconds_from_now(60);
    let old = seconds_from_now(-28 * 24 * 3_600);
    ingest(
        c,
        "acme",
        vec![
            dated(record(), ahead, 0),
            dated(failure("k3", "Contact", "c1", "too_long"), old, 5_000_000),
            dated(suspension(), ahead, 0),
        ],
    )
    .await;
    // The org's errors list and export as before.
    let errors = list(c, "acme", pb::ErrorFilter::default(), 50, String::new()).await;
    assert_eq!(errors.errors.len(), 1);
    let error = &errors.errors[0];
    assert_eq!(error.first_seen.unwrap().seconds, old);
    assert_eq!(error.first_seen.unwrap().nanos, 5_000_000);
    assert_eq!(error.last_seen.unwrap().seconds, ahead);
    let csv = export(c, "acme").await.expect("the export answers");
    assert_eq!(
        csv::Reader::from_reader(csv.as_slice()).records().count(),
        1
    );
    let h = health_of(c, "acme").await;
    assert_eq!(h.recent_suspensions[0].occurred_at.unwrap().seconds, ahead);

    // A resync's failure is a caller's time too.
    resync(c, "acme", vec![error.error_id.clone()]).await;
    let job = claim(c, "w1", 1, 60_000).await.remove(0);
    let outcome = pb::complete_resync_job_request::Outcome::Failure(dated(
        failure("k4", "Contact", "c1", "too_long"),
        i64::MAX,
        0,
    ));
    refused_naming(
        c.complete_resync_job(pb::CompleteResyncJobRequest {
            job_id: job.job_id.clone(),
            lease_id: job.lease_id.clone(),
            outcome: Some(outcome),
        })
        .await,
        "failure.occurred_at",
    );
    assert_eq!(
        complete(c, &job, true).await.unwrap().state,
        pb::ErrorState::Resolved as i32,
        "the refusal left the job to its worker"
    );
}

// ---------------------------------------------------------------------------
// The outbox: an entry leaves it told, or as a dead letter, never unsaid.
// ---------------------------------------------------------------------------

/// Waits up to 20 s for the governor to hold a suspension of `org`.
async fn suspended(governor: &QuotaGovernorClient<Channel>, org: &str) -> bool {
    eventually(Duration::from_secs(20), || {
        let mut g = governor.clone();
        let org = org.to_owned();
        async move {
            !g.list_suspensions(quota::ListSuspensionsRequest {
                org_id: org,
                ..Default::default()
            })
            .await
            .expect("ListSuspensions")
            .into_inner()
            .suspensions
            .is_empty()
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_entries_that_cannot_be_told_are_dead_letters_not_dropped() {
    let redis = RedisServer::start();
    let governor = Service::governor(GovernorSettings::default()).await;
    // What an earlier version left in an org's outbox: an entry that is not
    // JSON, one dated 9999 in the exponent form its script wrote, one with
    // a reason this version does not know.
    let reason = tx::SuspensionReason::SalesforceApiLimitExceeded as i32;
    let entries = [
        "not json".to_owned(),
        format!(
            r#"{{"r":{reason},"st":"REQUEST_LIMIT_EXCEEDED","m":"TotalRequests Limit exceeded.","at":2.53402300799e+14}}"#
        ),
        r#"{"r":9999,"st":"X","m":"from a newer version","at":"1763900000000"}"#.to_owned(),
    ];
    let mut conn = redis.client().get_connection().unwrap();
    for entry in &entries {
        ::redis::cmd("RPUSH")
            .arg("syncgov:errors:{acme}:outbox")
            .arg(entry)
            .exec(&mut conn)
            .unwrap();
    }
    ::redis::cmd("SADD")
        .arg("syncgov:errors:outbox-orgs")
        .arg("acme")
        .exec(&mut conn)
        .unwrap();

    let _service = Service::sync_errors(Settings {
        governor_addr: Some(format!("http://{}", governor.addr())),
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            ..ServerSettings::default()
        },
        ..Settings::default()
    })
    .await;
    let gov = QuotaGovernorClient::new(governor.channel().await);
    assert!(
        suspended(&gov, "acme").await,
        "the readable entry (dated 9999 by an earlier version) was not told"
    );
    let emptied = eventually(PATIENCE, || {
        let client = redis.client();
        async move {
            let mut conn = client.get_connection().unwrap();
            ::redis::cmd("LLEN")
                .arg("syncgov:errors:{acme}:outbox")
                .query::<i64>(&mut conn)
                .unwrap()
                == 0
        }
    })
    .await;
    assert!(emptied, "the outbox was never emptied");
    let dead: Vec<String> = ::redis::cmd("LRANGE")
        .arg("syncgov:errors:{acme}:outbox:dead")
        .arg(0)
        .arg(-1)
        .query(&mut conn)
        .unwrap();
    assert_eq!(dead.len(), 2, "{dead:?}");
    let letters: Vec<serde_json::Value> = dead
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(letters[0]["entry"], "not json");
    assert_eq!(letters[1]["entry"], entries[2].as_str());
    for letter in &letters {
        let reason = letter["reason"].as_str().unwrap();
        assert!(reason.starts_with("unreadable"), "{reason}");
        let at: i64 = letter["at"].as_str().unwrap().parse().unwrap();
        assert!(
            (at - seconds_from_now(0) * 1_000).abs() < 60_000,
            "{letter}"
        );
    }
}

// ---------------------------------------------------------------------------
// Resync outcomes: the lease first; nothing recorded without it.
// ---------------------------------------------------------------------------

/// The report of a failed attempt of `job_id` with `lease_id`: the failure
/// `f`.
fn failed(job_id: &str, lease_id: &str, f: pb::Failure) -> pb::CompleteResyncJobRequest {
    pb::CompleteResyncJobRequest {
        job_id: job_id.into(),
        lease_id: lease_id.into(),
        outcome: Some(pb::complete_resync_job_request::Outcome::Failure(f)),
    }
}

/// Reports a failed attempt of `job_id` with `lease_id`: the failure `f`.
async fn report_failure(
    c: &mut SyncErrorsClient<Channel>,
    job_id: &str,
    lease_id: &str,
    f: pb::Failure,
) -> Result<pb::CompleteResyncJobResponse, tonic::Status> {
    c.complete_resync_job(failed(job_id, lease_id, f))
        .await
        .map(|r| r.into_inner())
}

/// One error of `org`.
async fn error_of(c: &mut SyncErrorsClient<Channel>, org: &str, id: &str) -> pb::SyncError {
    c.get_error(pb::GetErrorRequest {
        org_id: org.into(),
        error_id: id.into(),
    })
    .await
    .expect("GetError")
    .into_inner()
    .error
    .expect("an error")
}

async fn an_outcome_without_the_lease_records_nothing(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let victim = ingest(
        c,
        "victimorg",
        vec![failure("k1", "Contact", "c1", "too_long")],
    )
    .await[0]
        .error_id
        .clone();
    let job_id = format!("victimorg/{victim}");

    // Made-up jobs and leases, with failures that would add an occurrence,
    // a new error, and suspend the org.
    let made_up = [
        (
            job_id.clone(),
            failure("h1", "Contact", "c1", "daily_limit"),
        ),
        (job_id.clone(), failure("h2", "Contact", "c1", "too_long")),
        (job_id.clone(), failure("h3", "Lead", "l9", "email")),
        (
            "victimorg/e000000000000000000000000".to_owned(),
            failure("h4", "Contact", "c1", "daily_limit"),
        ),
    ];
    for (job, f) in made_up {
        let status = report_failure(c, &job, "nope", f).await.unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    }
    let untouched = |h: &pb::GetSyncHealthResponse| (h.current_errors, h.recent_suspensions.len());
    assert_eq!(
        untouched(&health_of(c, "victimorg").await),
        (1, 0),
        "a made-up lease recorded a failure"
    );
    assert_eq!(error_of(c, "victimorg", &victim).await.occurrences, 1);

    // A worker whose lease lapsed while another took the job over.
    resync(c, "victimorg", vec![victim.clone()]).await;
    let lapsed = claim(c, "w1", 1, 1_000).await.remove(0);
    let taken = claim_within(c, "w2", PATIENCE).await;
    assert_eq!(taken.len(), 1, "the job did not come back");
    for f in [
        failure("late1", "Contact", "c1", "daily_limit"),
        failure("late2", "Contact", "c1", "too_long"),
    ] {
        let status = report_failure(c, &lapsed.job_id, &lapsed.lease_id, f)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    }
    assert_eq!(
        untouched(&health_of(c, "victimorg").await),
        (1, 0),
        "a lapsed lease recorded a failure"
    );
    let error = error_of(c, "victimorg", &victim).await;
    assert_eq!(error.occurrences, 1);
    assert_eq!(error.state, pb::ErrorState::Resyncing as i32);

    // The worker that holds the job: its failure is recorded with the
    // outcome.
    let done = report_failure(
        c,
        &taken[0].job_id,
        &taken[0].lease_id,
        failure("held", "Contact", "c1", "too_long"),
    )
    .await
    .expect("the lease holds");
    assert_eq!(done.state, pb::ErrorState::Resyncing as i32);
    assert_eq!(error_of(c, "victimorg", &victim).await.occurrences, 2);
}

/// A service that checks tokens from a file naming these callers: a worker
/// for `acme` only, a worker pool for every org, an operator for every org.
const ACME_WORKER: &str = "worker-acme-only-0123456789abcdef";
const POOL: &str = "worker-every-org-0123456789abcdef";
const OPERATOR: &str = "operator-all-orgs-0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_completes_only_jobs_of_the_orgs_its_token_names() {
    let dir = TempDir::new("auth");
    let tokens = dir.path().join("tokens");
    std::fs::write(
        &tokens,
        format!(
            "{ACME_WORKER} worker acme acme-pool\n{POOL} worker * pool\n{OPERATOR} operator * ops\n"
        ),
    )
    .unwrap();
    let service = Service::sync_errors(Settings {
        server: ServerSettings {
            security: SecuritySettings {
                auth_token_file: Some(tokens),
                ..SecuritySettings::default()
            },
            ..ServerSettings::default()
        },
        ..Settings::default()
    })
    .await;
    let channel = service.channel().await;
    let as_caller = |token: &str| {
        SyncErrorsClient::new(AuthChannel::new(
            channel.clone(),
            Bearer::fixed(token).unwrap(),
        ))
    };
    let (mut pool, mut acme, mut ops) =
        (as_caller(POOL), as_caller(ACME_WORKER), as_caller(OPERATOR));
    let mut ids = Vec::new();
    for org in ["victimorg", "acme"] {
        let id = pool
            .ingest_errors(pb::IngestErrorsRequest {
                org_id: org.into(),
                failures: vec![failure("k1", "Contact", "c1", "too_long")],
            })
            .await
            .expect("IngestErrors")
            .into_inner()
            .results[0]
            .error_id
            .clone();
        ops.resync_errors(pb::ResyncErrorsRequest {
            org_id: org.into(),
            error_ids: vec![id.clone()],
        })
        .await
        .expect("ResyncErrors");
        ids.push(id);
    }
    let jobs = pool
        .claim_resync_jobs(pb::ClaimResyncJobsRequest {
            worker_id: "pool-1".into(),
            max_jobs: 10,
            visibility_timeout: None,
        })
        .await
        .expect("ClaimResyncJobs")
        .into_inner()
        .jobs;
    let job_of = |org: &str| jobs.iter().find(|j| j.org_id == org).unwrap().clone();
    let (victim_job, acme_job) = (job_of("victimorg"), job_of("acme"));

    // Another org's job, even with its real lease: refused, nothing stored.
    let status = acme
        .complete_resync_job(failed(
            &victim_job.job_id,
            &victim_job.lease_id,
            failure("h1", "Contact", "c1", "daily_limit"),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let health = ops
        .get_sync_health(pb::GetSyncHealthRequest {
            org_id: "victimorg".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (health.current_errors, health.recent_suspensions.len()),
        (1, 0)
    );

    // Its own org's job: checked against the org, then the lease.
    let status = acme
        .complete_resync_job(failed(
            &acme_job.job_id,
            "nope",
            failure("h2", "Contact", "c1", "too_long"),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");

    // Ids that are not the service's: bounded and well formed.
    let long = format!("{}/{}", "a".repeat(10_000), ids[1]);
    refused_naming(
        acme.complete_resync_job(failed(
            &long,
            "l1",
            failure("h3", "Contact", "c1", "too_long"),
        ))
        .await,
        "job_id",
    );
    for lease in ["", "a lease", "l\u{7}", &"l".repeat(65)] {
        refused_naming(
            acme.complete_resync_job(failed(
                &acme_job.job_id,
                lease,
                failure("h4", "Contact", "c1", "too_long"),
            ))
            .await,
            "lease_id",
        );
    }
    // The pool finishes both.
    for job in [&victim_job, &acme_job] {
        let done = pool
            .complete_resync_job(pb::CompleteResyncJobRequest {
                job_id: job.job_id.clone(),
                lease_id: job.lease_id.clone(),
                outcome: Some(pb::complete_resync_job_request::Outcome::Success(true)),
            })
            .await
            .expect("the pool's lease holds")
            .into_inner();
        assert_eq!(done.state, pb::ErrorState::Resolved as i32);
    }
}

// ---------------------------------------------------------------------------
// Idempotency keys: a key sent again gets the first answer, whatever body.
// ---------------------------------------------------------------------------

/// A duplicate's classification is the first answer's; what decided it is
/// told only the first time.
fn assert_same_answer(again: &pb::IngestResult, first: &pb::IngestResult) {
    let (a, f) = (
        again.classification.clone().expect("a classification"),
        first.classification.clone().expect("a classification"),
    );
    assert_eq!(
        (&a.level, &a.guidance),
        (&f.level, &f.guidance),
        "{again:?}"
    );
    assert_eq!(a.explanation, None, "{again:?}");
}

async fn a_reused_idempotency_key_answers_what_was_stored_first(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let first = ingest(c, "acme", vec![failure("k1", "Contact", "c1", "too_long")])
        .await
        .remove(0);
    // The same key with other bodies: another record and type, a
    // suspension-level failure.
    let again = ingest(
        c,
        "acme",
        vec![
            failure("k1", "Lead", "l9", "email"),
            failure("k1", "Contact", "c2", "daily_limit"),
        ],
    )
    .await;
    for r in &again {
        assert!(r.duplicate, "{r:?}");
        assert_same_answer(r, &first);
        assert_eq!(r.error_id, first.error_id, "{r:?}");
    }
    let stored = error_of(c, "acme", &again[0].error_id).await;
    assert_eq!(
        (stored.crm_record_id.as_str(), stored.occurrences),
        ("c1", 1),
        "the error answered is the one stored under the key"
    );
    let h = health_of(c, "acme").await;
    assert_eq!((h.current_errors, h.recent_suspensions.len()), (1, 0));

    // A suspension's key sent again with a record-level failure.
    let suspension = ingest(
        c,
        "acme",
        vec![failure("k2", "Contact", "c3", "daily_limit")],
    )
    .await
    .remove(0);
    let again = ingest(c, "acme", vec![failure("k2", "Contact", "c3", "too_long")])
        .await
        .remove(0);
    assert!(again.duplicate);
    assert_same_answer(&again, &suspension);
    assert_eq!(again.error_id, "", "a suspension has no error");
    assert_eq!(health_of(c, "acme").await.current_errors, 1);

    // Twice in one batch: the second answers what the first stored.
    let batch = ingest(
        c,
        "acme",
        vec![
            failure("k3", "Contact", "c4", "email"),
            failure("k3", "Lead", "l1", "too_long"),
        ],
    )
    .await;
    assert!(!batch[0].duplicate && batch[1].duplicate);
    assert_same_answer(&batch[1], &batch[0]);
    assert_eq!(batch[1].error_id, batch[0].error_id);
    assert_eq!(
        error_of(c, "acme", &batch[1].error_id).await.crm_record_id,
        "c4"
    );
}

// ---------------------------------------------------------------------------
// The CSV's fields column: names holding its separator read back exactly.
// ---------------------------------------------------------------------------

async fn field_names_holding_the_separator_export_unambiguously(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let hostile = vec![
        "Name".to_owned(),
        "a;b".to_owned(),
        "c\\".to_owned(),
        "\\;d".to_owned(),
    ];
    let mut f = failure("k1", "Contact", "c1", "too_long");
    f.fields = hostile.clone();
    let plain = failure("k2", "Contact", "c2", "too_long");
    ingest(c, "acme", vec![f, plain]).await;
    let csv = export(c, "acme").await.expect("the export answers");
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    assert_eq!(&reader.headers().unwrap()[10], "fields");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let fields_of = |record: &str| {
        let row = rows.iter().find(|r| &r[5] == record).expect("a row");
        row[10].to_owned()
    };
    // Four names, not the six a plain split at ';' would see.
    assert_eq!(fields_of("c1"), "Name;a\\;b;c\\\\;\\\\\\;d");
    assert_eq!(sync_errors::export::split_fields(&fields_of("c1")), hostile);
    // Plain names show as they are.
    assert_eq!(fields_of("c2"), "Description");
}

// ---------------------------------------------------------------------------
// The resync queue: orgs take turns, and each has a cap of queued jobs.
// ---------------------------------------------------------------------------

/// Ingests `n` errors of `org` (records `r0`, `r1`, ...) and returns their
/// ids.
async fn errors_of(c: &mut SyncErrorsClient<Channel>, org: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for from in (0..n).step_by(1_000) {
        let failures = (from..n.min(from + 1_000))
            .map(|i| failure(&format!("k{i}"), "Contact", &format!("r{i}"), "too_long"))
            .collect();
        ids.extend(
            ingest(c, org, failures)
                .await
                .into_iter()
                .map(|r| r.error_id),
        );
    }
    ids
}

/// Resyncs `ids` of `org`, 100 per call; the replies in order.
async fn resync_all(
    c: &mut SyncErrorsClient<Channel>,
    org: &str,
    ids: &[String],
) -> Vec<pb::QueuedResync> {
    let mut results = Vec::new();
    for chunk in ids.chunks(100) {
        results.extend(resync(c, org, chunk.to_vec()).await);
    }
    results
}

/// The queue shard of `org`.
fn shard(org: &str) -> u32 {
    sync_errors::resync::shard_of(
        &syncgov_kit::input::OrgId::parse(org).unwrap(),
        sync_errors::store::redis::QUEUE_SHARDS,
    )
}

async fn one_orgs_bulk_resync_does_not_hold_up_the_others(backend: Backend) {
    const BULK: usize = 2_000;
    let settings = Settings {
        resync_max_queued_per_org: 5_000,
        ..Settings::default()
    };
    let mut env = Env::start_with(backend, settings).await;
    let c = &mut env.client;
    // An org on the bulk org's shard, and one on another shard. The bulk
    // org's name sorts first, as it would in a queue ordered by job id.
    let bulk = "acme-bulk";
    let neighbour = (0..)
        .map(|i| format!("neighbour-{i}"))
        .find(|o| shard(o) == shard(bulk))
        .unwrap();
    let elsewhere = (0..)
        .map(|i| format!("elsewhere-{i}"))
        .find(|o| shard(o) != shard(bulk))
        .unwrap();

    let ids = errors_of(c, bulk, BULK).await;
    let queued = resync_all(c, bulk, &ids).await;
    assert!(queued.iter().all(|q| !q.job_id.is_empty()), "all queued");
    let mut small = Vec::new();
    for org in [&neighbour, &elsewhere] {
        let id = errors_of(c, org, 1).await;
        small.push(resync(c, org, id).await.remove(0).job_id);
    }

    // Workers claim 100 at a time until the queue is empty.
    let mut order = Vec::new();
    loop {
        let jobs = claim(c, "w1", 100, 60_000).await;
        if jobs.is_empty() {
            break;
        }
        order.extend(jobs.into_iter().map(|j| j.job_id));
    }
    let total = BULK + 2;
    assert_eq!(order.len(), total, "every job once");
    let position = |job: &str| order.iter().position(|j| j == job).unwrap() + 1;
    let (same_shard, other_shard) = (position(&small[0]), position(&small[1]));
    println!(
        "{backend:?}: after {BULK} jobs of {bulk}, {neighbour}'s job (same shard) was claimed at \
         position {same_shard} of {total}, {elsewhere}'s (another shard) at {other_shard}"
    );
    // In the first claim, within the first turns: not after the backlog.
    assert!(
        same_shard <= 10,
        "{neighbour}'s job at {same_shard} of {total}"
    );
    assert!(
        other_shard <= 10,
        "{elsewhere}'s job at {other_shard} of {total}"
    );
}

async fn an_org_has_at_most_its_cap_of_jobs_queued(backend: Backend) {
    let settings = Settings {
        resync_max_queued_per_org: 50,
        ..Settings::default()
    };
    let mut env = Env::start_with(backend, settings).await;
    let c = &mut env.client;
    let ids = errors_of(c, "acme", 130).await;
    let first = resync(c, "acme", ids[..100].to_vec()).await;
    let queued = first.iter().filter(|q| !q.job_id.is_empty()).count();
    assert_eq!(queued, 50);
    assert!(
        first[50..]
            .iter()
            .all(|q| q.job_id.is_empty() && q.skipped == "queue full"),
        "{:?}",
        &first[50..]
    );
    let resyncing = list(
        c,
        "acme",
        pb::ErrorFilter {
            state: pb::ErrorState::Resyncing.into(),
            ..Default::default()
        },
        500,
        String::new(),
    )
    .await;
    assert_eq!(resyncing.errors.len(), 50, "the others stay open");
    let more = resync(c, "acme", ids[100..].to_vec()).await;
    assert!(more.iter().all(|q| q.skipped == "queue full"), "{more:?}");
    // Another org is not held to acme's count.
    let other = errors_of(c, "globex", 1).await;
    assert!(!resync(c, "globex", other).await[0].job_id.is_empty());

    // Claimed jobs still count; finished ones free their place.
    let jobs = claim(c, "w1", 20, 60_000).await;
    assert_eq!(jobs.len(), 20);
    assert_eq!(
        resync(c, "acme", ids[100..110].to_vec()).await[0].skipped,
        "queue full",
        "claimed jobs are queued jobs"
    );
    for job in jobs.iter().filter(|j| j.org_id == "acme").take(10) {
        complete(c, job, true).await.expect("completes");
    }
    let again = resync(c, "acme", ids[100..120].to_vec()).await;
    let queued = again.iter().filter(|q| !q.job_id.is_empty()).count();
    assert_eq!(queued, 10, "{again:?}");
}
