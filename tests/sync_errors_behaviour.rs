//! The sync-error service's behaviour, over real gRPC, on every store:
//! each scenario below runs against the embedded store (`memory::`), a real
//! `redis-server` (`redis::`) and a local Redis Cluster (`cluster::`), and
//! must come out the same on each. Ingest and the health cards it counts,
//! idempotency, suspension-level failures, pages that neither skip nor
//! repeat, filters, single errors and affected records, resolving records,
//! the CSV export, the resync queue (claims, leases, back-off, dead jobs),
//! the field named by every refusal of bad input, and a notification sent
//! once to each channel (e-mail and webhook) when one of them is retried. Classification,
//! which stores nothing, runs once.

use std::collections::HashSet;
use std::time::Duration;

use sync_errors::config::Settings;
use syncgov_api::syncerrors::v1 as pb;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_tests::PATIENCE;
use syncgov_tests::syncerrors::{
    Env, card, claim, claim_within, complete, failure, health_of, in_state, ingest, list, resync,
};
use syncgov_tests::{Backend, Service, on_every_store};
use tonic::Code;
use tonic::transport::Channel;

on_every_store!(
    ingest_then_health_counts_errors_and_records,
    a_report_seen_twice_is_counted_once,
    suspension_failures_are_events_not_errors,
    pages_neither_skip_nor_repeat_while_errors_arrive,
    listing_filters_by_category_type_object_and_state,
    errors_are_read_one_by_one_and_by_affected_record,
    a_successful_sync_resolves_the_record,
    the_csv_export_parses_back_and_is_safe_in_spreadsheets,
    bad_input_names_the_field,
    a_resync_job_is_claimed_once_and_resolves_its_error,
    a_worker_that_dies_loses_its_jobs_to_another,
    a_job_that_keeps_failing_ends_dead,
    resync_calls_refuse_bad_input,
    a_notice_goes_once_to_each_channel_across_a_webhook_retry,
);

async fn ingest_then_health_counts_errors_and_records(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let results = ingest(
        c,
        "acme",
        vec![
            failure("k1", "Contact", "c1", "too_long"),
            failure("k2", "Contact", "c2", "too_long"),
            failure("k3", "Contact", "c1", "email"),
            failure("k4", "Opportunity", "o1", "trigger"),
        ],
    )
    .await;
    assert_eq!(results.len(), 4);
    let level = |r: &pb::IngestResult| r.classification.as_ref().unwrap().level.unwrap();
    assert_eq!(
        level(&results[0]),
        pb::classification::Level::Record(pb::RecordLevel {
            category: tx::ErrorCategory::PropertyValues.into(),
            r#type: tx::ErrorType::StringTooLong.into(),
        })
    );
    assert!(
        results
            .iter()
            .all(|r| !r.error_id.is_empty() && !r.duplicate)
    );

    let h = health_of(c, "acme").await;
    assert_eq!((h.current_errors, h.impacted_records), (4, 3));
    let values = card(&h, tx::ErrorCategory::PropertyValues).expect("a PROPERTY_VALUES card");
    assert_eq!(
        (values.current_errors, values.impacted_records),
        (3, 2),
        "c1 has two errors of the category"
    );
    assert_eq!(
        values.types[0].r#type,
        tx::ErrorType::StringTooLong as i32,
        "most errors first"
    );
    assert_eq!(
        (
            values.types[0].current_errors,
            values.types[0].impacted_records
        ),
        (2, 2)
    );
    assert!(!values.types[0].guidance.is_empty());
    let code = card(&h, tx::ErrorCategory::CustomCode).expect("a CUSTOM_CODE card");
    assert_eq!(
        code.types[0].r#type,
        tx::ErrorType::SalesforceAutomation as i32
    );
    assert_eq!(
        h.categories[0].category,
        tx::ErrorCategory::PropertyValues as i32,
        "biggest category first"
    );
    assert_eq!(
        health_of(c, "other-org").await.current_errors,
        0,
        "orgs are apart"
    );
}

async fn a_report_seen_twice_is_counted_once(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let first = ingest(c, "acme", vec![failure("k1", "Contact", "c1", "too_long")]).await;
    let again = ingest(c, "acme", vec![failure("k1", "Contact", "c1", "too_long")]).await;
    assert!(!first[0].duplicate);
    assert!(again[0].duplicate);
    assert_eq!(again[0].error_id, first[0].error_id);
    let id = first[0].error_id.clone();
    let get = |c: &mut SyncErrorsClient<Channel>| {
        let mut c = c.clone();
        let id = id.clone();
        async move {
            c.get_error(pb::GetErrorRequest {
                org_id: "acme".into(),
                error_id: id,
            })
            .await
            .unwrap()
            .into_inner()
            .error
            .unwrap()
        }
    };
    assert_eq!(get(c).await.occurrences, 1);

    // Another report of the same error: one error, two occurrences.
    // A minute ahead: within the skew a worker's clock may have.
    let a_minute_ahead = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 60;
    let mut later = failure("k2", "Contact", "c1", "too_long");
    later.occurred_at = Some(prost_types::Timestamp {
        seconds: a_minute_ahead,
        nanos: 0,
    });
    later.message = "Description: data value too large: newer".into();
    let other = ingest(c, "acme", vec![later]).await;
    assert_eq!(other[0].error_id, id);
    let error = get(c).await;
    assert_eq!(error.occurrences, 2);
    assert_eq!(error.message, "Description: data value too large: newer");
    assert_eq!(error.last_seen.unwrap().seconds, a_minute_ahead);
    assert_eq!(health_of(c, "acme").await.current_errors, 1);
}

async fn suspension_failures_are_events_not_errors(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let results = ingest(
        c,
        "acme",
        vec![failure("k1", "Contact", "c1", "daily_limit")],
    )
    .await;
    assert_eq!(
        results[0].classification.as_ref().unwrap().level,
        Some(pb::classification::Level::Suspension(
            tx::SuspensionReason::SalesforceApiLimitExceeded.into()
        ))
    );
    assert!(results[0].error_id.is_empty());
    let h = health_of(c, "acme").await;
    assert_eq!(h.current_errors, 0);
    assert_eq!(h.recent_suspensions.len(), 1);
    assert_eq!(
        h.recent_suspensions[0].reason,
        tx::SuspensionReason::SalesforceApiLimitExceeded as i32
    );
    assert_eq!(
        h.recent_suspensions[0].message,
        "TotalRequests Limit exceeded."
    );
}

async fn pages_neither_skip_nor_repeat_while_errors_arrive(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let batch = |from: usize, to: usize| {
        (from..to)
            .map(|i| failure(&format!("k{i}"), "Contact", &format!("c{i}"), "too_long"))
            .collect::<Vec<_>>()
    };
    ingest(c, "acme", batch(0, 120)).await;
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = list(c, "acme", pb::ErrorFilter::default(), 25, token).await;
        pages += 1;
        seen.extend(page.errors.iter().map(|e| e.crm_record_id.clone()));
        if pages == 1 {
            // Newest first, and newer errors arrive while paging.
            assert_eq!(page.errors[0].crm_record_id, "c119");
            ingest(c, "acme", batch(120, 150)).await;
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 5);
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), seen.len(), "no error repeated");
    let expected: HashSet<String> = (0..120).map(|i| format!("c{i}")).collect();
    assert_eq!(
        seen.iter().cloned().collect::<HashSet<_>>(),
        expected,
        "none skipped, none of the newer"
    );
    let fresh = list(c, "acme", pb::ErrorFilter::default(), 500, String::new()).await;
    assert_eq!(fresh.errors.len(), 150);
}

async fn listing_filters_by_category_type_object_and_state(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    ingest(
        c,
        "acme",
        vec![
            failure("k1", "Contact", "c1", "too_long"),
            failure("k2", "Lead", "l1", "too_long"),
            failure("k3", "Contact", "c2", "email"),
            failure("k4", "Opportunity", "o1", "trigger"),
        ],
    )
    .await;
    let count = |filter: pb::ErrorFilter| {
        let mut c = c.clone();
        async move {
            list(&mut c, "acme", filter, 50, String::new())
                .await
                .errors
                .len()
        }
    };
    assert_eq!(count(pb::ErrorFilter::default()).await, 4);
    assert_eq!(
        count(pb::ErrorFilter {
            category: tx::ErrorCategory::PropertyValues.into(),
            ..Default::default()
        })
        .await,
        3
    );
    assert_eq!(
        count(pb::ErrorFilter {
            r#type: tx::ErrorType::StringTooLong.into(),
            ..Default::default()
        })
        .await,
        2
    );
    let contacts_too_long = pb::ErrorFilter {
        r#type: tx::ErrorType::StringTooLong.into(),
        object_type: "Contact".into(),
        ..Default::default()
    };
    assert_eq!(count(contacts_too_long).await, 1);
    assert_eq!(
        count(pb::ErrorFilter {
            object_type: "Opportunity".into(),
            ..Default::default()
        })
        .await,
        1
    );
    assert_eq!(
        count(pb::ErrorFilter {
            state: pb::ErrorState::Open.into(),
            ..Default::default()
        })
        .await,
        4
    );
    assert_eq!(
        count(pb::ErrorFilter {
            state: pb::ErrorState::Resolved.into(),
            ..Default::default()
        })
        .await,
        0
    );
}

async fn errors_are_read_one_by_one_and_by_affected_record(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let mut f = failure("k1", "Contact", "c1", "too_long");
    f.salesforce_id = "0035g00000AbCdEAAZ".into();
    let id = ingest(c, "acme", vec![f, failure("k2", "Lead", "l1", "too_long")]).await[0]
        .error_id
        .clone();
    let error = c
        .get_error(pb::GetErrorRequest {
            org_id: "acme".into(),
            error_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .error
        .unwrap();
    assert_eq!(
        (error.object_type.as_str(), error.crm_record_id.as_str()),
        ("Contact", "c1")
    );
    assert_eq!(error.salesforce_id, "0035g00000AbCdEAAZ");
    assert_eq!(error.state, pb::ErrorState::Open as i32);
    assert_eq!(error.fields, vec!["Description".to_string()]);
    assert!(!error.guidance.is_empty());

    let missing = c
        .get_error(pb::GetErrorRequest {
            org_id: "other".into(),
            error_id: id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    let records = c
        .list_affected_records(pb::ListAffectedRecordsRequest {
            org_id: "acme".into(),
            r#type: tx::ErrorType::StringTooLong.into(),
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(records.records.len(), 1);
    assert_eq!(records.records[0].crm_record_id, "l1", "newest first");
    assert!(!records.next_page_token.is_empty());
}

async fn a_successful_sync_resolves_the_record(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    ingest(
        c,
        "acme",
        vec![
            failure("k1", "Contact", "c1", "too_long"),
            failure("k2", "Contact", "c1", "email"),
            failure("k3", "Contact", "c2", "email"),
        ],
    )
    .await;
    let resolve = |record: &str| {
        let mut c = c.clone();
        let record = record.to_owned();
        async move {
            c.resolve_record(pb::ResolveRecordRequest {
                org_id: "acme".into(),
                object_type: "Contact".into(),
                crm_record_id: record,
            })
            .await
            .unwrap()
            .into_inner()
            .resolved
        }
    };
    assert_eq!(resolve("c1").await, 2);
    assert_eq!(resolve("c1").await, 0, "nothing current is left on c1");
    let h = health_of(c, "acme").await;
    assert_eq!((h.current_errors, h.impacted_records), (1, 1));
    let values = card(&h, tx::ErrorCategory::PropertyValues).unwrap();
    assert_eq!((values.current_errors, values.impacted_records), (1, 1));
    let resolved = in_state(c, "acme", pb::ErrorState::Resolved).await;
    assert_eq!(resolved.errors.len(), 2);
    assert!(
        resolved
            .errors
            .iter()
            .all(|e| e.state == pb::ErrorState::Resolved as i32)
    );

    // The same failure again later: a new current error.
    ingest(c, "acme", vec![failure("k4", "Contact", "c1", "email")]).await;
    let h = health_of(c, "acme").await;
    assert_eq!((h.current_errors, h.impacted_records), (2, 2));
}

async fn the_csv_export_parses_back_and_is_safe_in_spreadsheets(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let first: Vec<pb::Failure> = (0..1_000)
        .map(|i| failure(&format!("k{i}"), "Contact", &format!("c{i}"), "too_long"))
        .collect();
    ingest(c, "acme", first).await;
    let mut tricky = failure("t1", "Lead", "l1", "email");
    tricky.message =
        "=HYPERLINK(\"http://x\", \"click\"), with \"quotes\"\nand a line break".into();
    ingest(c, "acme", vec![tricky]).await;
    ingest(
        c,
        "acme",
        (1_000..1_203)
            .map(|i| failure(&format!("k{i}"), "Contact", &format!("c{i}"), "too_long"))
            .collect(),
    )
    .await;

    let mut stream = c
        .export_errors_csv(pb::ExportErrorsCsvRequest {
            org_id: "acme".into(),
            filter: None,
        })
        .await
        .unwrap()
        .into_inner();
    let mut bytes = Vec::new();
    let mut rows_said = 0;
    let mut chunks = 0;
    while let Some(chunk) = stream.message().await.unwrap() {
        bytes.extend(chunk.chunk);
        rows_said += chunk.rows;
        chunks += 1;
    }
    assert!(chunks >= 3, "streamed in chunks, not at once");
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header[0], "error_id");
    assert_eq!(header[9], "message");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1_204);
    assert_eq!(rows_said, 1_204);
    let lead = rows.iter().find(|r| &r[5] == "l1").expect("the tricky row");
    assert_eq!(
        &lead[9],
        "'=HYPERLINK(\"http://x\", \"click\"), with \"quotes\"\nand a line break"
    );
    assert_eq!(&lead[3], "INVALID_EMAIL");
    let ids: HashSet<&str> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(ids.len(), 1_204);

    let filtered = c
        .export_errors_csv(pb::ExportErrorsCsvRequest {
            org_id: "acme".into(),
            filter: Some(pb::ErrorFilter {
                object_type: "Lead".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let mut filtered = filtered;
    let mut bytes = Vec::new();
    while let Some(chunk) = filtered.message().await.unwrap() {
        bytes.extend(chunk.chunk);
    }
    assert_eq!(
        csv::Reader::from_reader(bytes.as_slice()).records().count(),
        1
    );
}

async fn bad_input_names_the_field(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let starts = |err: tonic::Status, field: &str| {
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(
            err.message().starts_with(&format!("{field}:")),
            "{field}: {}",
            err.message()
        );
    };
    let ingest_err = |org: &str, failures: Vec<pb::Failure>| {
        let mut c = c.clone();
        let org = org.to_owned();
        async move {
            c.ingest_errors(pb::IngestErrorsRequest {
                org_id: org,
                failures,
            })
            .await
            .unwrap_err()
        }
    };
    starts(
        ingest_err("", vec![failure("k", "Contact", "c", "email")]).await,
        "org_id",
    );
    starts(ingest_err("acme", vec![]).await, "failures");
    starts(
        ingest_err("acme", vec![failure("k", "Contact", "c", "email"); 1_001]).await,
        "failures",
    );
    starts(
        ingest_err("acme", vec![failure("", "Contact", "c", "email")]).await,
        "failures[0].idempotency_key",
    );
    starts(
        ingest_err(
            "acme",
            vec![
                failure("k", "Contact", "c", "email"),
                failure("k2", "Con tact", "c", "email"),
            ],
        )
        .await,
        "failures[1].object_type",
    );
    let mut bad_direction = failure("k", "Contact", "c", "email");
    bad_direction.direction = 9;
    starts(
        ingest_err("acme", vec![bad_direction]).await,
        "failures[0].direction",
    );
    assert_eq!(
        health_of(c, "acme").await.current_errors,
        0,
        "a bad batch stores nothing"
    );

    let list_err = |filter: pb::ErrorFilter, page_size: u32, token: &str| {
        let mut c = c.clone();
        let token = token.to_owned();
        async move {
            c.list_errors(pb::ListErrorsRequest {
                org_id: "acme".into(),
                filter: Some(filter),
                page_size,
                page_token: token,
            })
            .await
            .unwrap_err()
        }
    };
    starts(
        list_err(pb::ErrorFilter::default(), 501, "").await,
        "page_size",
    );
    starts(
        list_err(pb::ErrorFilter::default(), 10, "garbage").await,
        "page_token",
    );
    starts(
        list_err(
            pb::ErrorFilter {
                r#type: 99,
                ..Default::default()
            },
            10,
            "",
        )
        .await,
        "filter.type",
    );
    starts(
        list_err(
            pb::ErrorFilter {
                category: 99,
                ..Default::default()
            },
            10,
            "",
        )
        .await,
        "filter.category",
    );
    starts(
        list_err(
            pb::ErrorFilter {
                state: 9,
                ..Default::default()
            },
            10,
            "",
        )
        .await,
        "filter.state",
    );
    starts(
        list_err(
            pb::ErrorFilter {
                object_type: "a b".into(),
                ..Default::default()
            },
            10,
            "",
        )
        .await,
        "filter.object_type",
    );

    let err = c
        .get_error(pb::GetErrorRequest {
            org_id: "acme".into(),
            error_id: "x".into(),
        })
        .await
        .unwrap_err();
    starts(err, "error_id");
    let err = c
        .list_affected_records(pb::ListAffectedRecordsRequest {
            org_id: "acme".into(),
            r#type: 0,
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap_err();
    starts(err, "type");
    let err = c
        .resolve_record(pb::ResolveRecordRequest {
            org_id: "acme".into(),
            object_type: "Contact".into(),
            crm_record_id: String::new(),
        })
        .await
        .unwrap_err();
    starts(err, "crm_record_id");
    let err = c
        .classify(pb::ClassifyRequest { inputs: vec![] })
        .await
        .unwrap_err();
    starts(err, "inputs");
    let err = c
        .get_sync_health(pb::GetSyncHealthRequest {
            org_id: "a}b".into(),
        })
        .await
        .unwrap_err();
    starts(err, "org_id");

    let err = c
        .export_errors_csv(pb::ExportErrorsCsvRequest {
            org_id: "acme".into(),
            filter: Some(pb::ErrorFilter {
                r#type: 77,
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    starts(err, "filter.type");

    // More than 100 errors per resync: refused, with the advice.
    let ids = vec!["e000000000000000000000000".to_string(); 101];
    let err = c
        .resync_errors(pb::ResyncErrorsRequest {
            org_id: "acme".into(),
            error_ids: ids,
        })
        .await
        .unwrap_err();
    assert!(err.message().contains("re-import"), "{}", err.message());
    starts(err, "error_ids");
}

async fn a_resync_job_is_claimed_once_and_resolves_its_error(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let ids: Vec<String> = ingest(
        c,
        "acme",
        vec![
            failure("k1", "Contact", "c1", "too_long"),
            failure("k2", "Contact", "c2", "too_long"),
        ],
    )
    .await
    .into_iter()
    .map(|r| r.error_id)
    .collect();
    let unknown = "e000000000000000000000000".to_string();
    let queued = resync(c, "acme", vec![ids[0].clone(), ids[1].clone(), unknown]).await;
    assert!(!queued[0].job_id.is_empty() && !queued[1].job_id.is_empty());
    assert_eq!(queued[2].skipped, "not found");
    assert_eq!(
        resync(c, "acme", vec![ids[0].clone()]).await[0].skipped,
        "already queued"
    );
    let listed = in_state(c, "acme", pb::ErrorState::Resyncing).await;
    assert_eq!(listed.errors.len(), 2);

    let jobs = claim(c, "w1", 10, 60_000).await;
    assert_eq!(jobs.len(), 2);
    assert!(
        jobs.iter()
            .all(|j| j.attempt == 1 && j.org_id == "acme" && j.object_type == "Contact")
    );
    assert!(
        claim(c, "w2", 10, 60_000).await.is_empty(),
        "claimed jobs are not handed out twice"
    );

    let job = jobs.iter().find(|j| j.error_id == ids[0]).unwrap();
    let mut stolen = job.clone();
    stolen.lease_id = "not-the-lease".into();
    assert_eq!(
        complete(c, &stolen, true).await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    assert_eq!(
        complete(c, job, true).await.unwrap().state,
        pb::ErrorState::Resolved as i32
    );
    assert_eq!(
        complete(c, job, true).await.unwrap_err().code(),
        Code::FailedPrecondition,
        "a lease ends with its job"
    );

    let other = jobs.iter().find(|j| j.error_id == ids[1]).unwrap();
    let sent = now_ms();
    let failed = complete(c, other, false).await.unwrap();
    let answered = now_ms();
    assert_eq!(failed.state, pb::ErrorState::Resyncing as i32);
    // The back-off starts when the outcome is recorded, somewhere between
    // sending it and hearing back: 15 to 30 s from then, however long the
    // call took.
    let retry_at = ms_of(failed.retry_at.as_ref());
    assert!(
        retry_at >= sent + 15_000 - 1 && retry_at <= answered + 30_000,
        "first back-off is 15 to 30 s: retry at {retry_at}, outcome sent at {sent}, answered at {answered}"
    );
    let error = c
        .get_error(pb::GetErrorRequest {
            org_id: "acme".into(),
            error_id: ids[1].clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .error
        .unwrap();
    assert_eq!(error.occurrences, 2, "the new failure was recorded");
    assert_eq!(error.resync_attempts, 1);
    let h = health_of(c, "acme").await;
    assert_eq!(h.current_errors, 1);
}

async fn a_worker_that_dies_loses_its_jobs_to_another(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let id = ingest(c, "acme", vec![failure("k1", "Contact", "c1", "too_long")]).await[0]
        .error_id
        .clone();
    resync(c, "acme", vec![id.clone()]).await;
    let lost = claim(c, "w1", 1, 1_000).await;
    assert_eq!(lost.len(), 1);
    // w1 dies; once its visibility timeout passes, w2 gets the job.
    let taken = claim_within(c, "w2", PATIENCE).await;
    assert!(
        !taken.is_empty(),
        "the job did not come back after its visibility timeout"
    );
    assert_eq!(taken[0].error_id, id);
    assert_eq!(taken[0].attempt, 2);
    assert_ne!(taken[0].lease_id, lost[0].lease_id);
    assert_eq!(
        complete(c, &lost[0], true).await.unwrap_err().code(),
        Code::FailedPrecondition,
        "w1's lease lapsed"
    );
    assert_eq!(
        complete(c, &taken[0], true).await.unwrap().state,
        pb::ErrorState::Resolved as i32
    );
}

/// Milliseconds since the epoch on this machine's clock, which both the
/// memory store and the test's Redis read.
fn now_ms() -> i64 {
    syncgov_kit::clock::now_ms()
}

/// A reply's time in ms since the epoch.
fn ms_of(at: Option<&prost_types::Timestamp>) -> i64 {
    syncgov_kit::clock::timestamp_ms(at.expect("a time"))
}

async fn a_job_that_keeps_failing_ends_dead(backend: Backend) {
    let settings = Settings {
        resync_max_attempts: 2,
        resync_backoff: Duration::from_millis(1_000),
        resync_backoff_cap: Duration::from_millis(1_000),
        ..Settings::default()
    };
    let mut env = Env::start_with(backend, settings).await;
    let c = &mut env.client;
    let id = ingest(c, "acme", vec![failure("k1", "Contact", "c1", "too_long")]).await[0]
        .error_id
        .clone();
    resync(c, "acme", vec![id.clone()]).await;
    let first = claim(c, "w1", 1, 60_000).await;
    let failed = complete(c, &first[0], false).await.unwrap();
    assert_eq!(failed.state, pb::ErrorState::Resyncing as i32);
    let retry_at = ms_of(failed.retry_at.as_ref());
    // A claim made before the retry is due finds nothing, and one made
    // after finds the job: which of the two a claim was depends on when
    // the store read its clock, between sending it and hearing back. A
    // slow machine only moves the claim later, never makes it wrong.
    let sent = now_ms();
    let early = claim(c, "w1", 1, 60_000).await;
    let answered = now_ms();
    if early.is_empty() {
        assert!(
            sent < retry_at + 1,
            "the retry was due at {retry_at}, yet a claim sent at {sent} found nothing"
        );
    } else {
        assert!(
            answered >= retry_at,
            "a claim answered at {answered} took the job before its back-off ended at {retry_at}"
        );
    }
    let second = if early.is_empty() {
        claim_within(c, "w1", PATIENCE).await
    } else {
        early
    };
    assert!(!second.is_empty(), "the retry never came due");
    assert_eq!(second[0].attempt, 2);
    assert_eq!(
        complete(c, &second[0], false).await.unwrap().state,
        pb::ErrorState::Dead as i32
    );

    let h = health_of(c, "acme").await;
    let values = card(&h, tx::ErrorCategory::PropertyValues).unwrap();
    assert_eq!(
        (values.types[0].current_errors, values.types[0].dead_errors),
        (1, 1)
    );
    let dead = in_state(c, "acme", pb::ErrorState::Dead).await;
    assert_eq!(dead.errors.len(), 1);
    assert!(
        claim(c, "w1", 1, 60_000).await.is_empty(),
        "a dead job is not handed out"
    );

    // An operator resyncs it again: attempts start over.
    assert!(!resync(c, "acme", vec![id]).await[0].job_id.is_empty());
    assert_eq!(
        card(
            &health_of(c, "acme").await,
            tx::ErrorCategory::PropertyValues
        )
        .unwrap()
        .types[0]
            .dead_errors,
        0
    );
    assert_eq!(claim(c, "w1", 1, 60_000).await[0].attempt, 1);
}

async fn resync_calls_refuse_bad_input(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let starts = |err: tonic::Status, field: &str| {
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(
            err.message().starts_with(&format!("{field}:")),
            "{field}: {}",
            err.message()
        );
    };
    let claim_err = |worker: &str, max: u32, visibility: Option<Duration>| {
        let mut c = c.clone();
        let worker = worker.to_owned();
        async move {
            c.claim_resync_jobs(pb::ClaimResyncJobsRequest {
                worker_id: worker,
                max_jobs: max,
                visibility_timeout: visibility.map(|d| prost_types::Duration::try_from(d).unwrap()),
            })
            .await
            .unwrap_err()
        }
    };
    starts(claim_err("", 1, None).await, "worker_id");
    starts(claim_err("w", 0, None).await, "max_jobs");
    starts(claim_err("w", 101, None).await, "max_jobs");
    starts(
        claim_err("w", 1, Some(Duration::from_millis(500))).await,
        "visibility_timeout",
    );
    starts(
        claim_err("w", 1, Some(Duration::from_secs(7_200))).await,
        "visibility_timeout",
    );
    let err = c
        .resync_errors(pb::ResyncErrorsRequest {
            org_id: "acme".into(),
            error_ids: vec![],
        })
        .await
        .unwrap_err();
    starts(err, "error_ids");
    let err = c
        .resync_errors(pb::ResyncErrorsRequest {
            org_id: "acme".into(),
            error_ids: vec!["bad".into()],
        })
        .await
        .unwrap_err();
    starts(err, "error_ids[0]");
    let err = c
        .complete_resync_job(pb::CompleteResyncJobRequest {
            job_id: "nope".into(),
            lease_id: "l".into(),
            outcome: None,
        })
        .await
        .unwrap_err();
    starts(err, "job_id");
    let err = c
        .complete_resync_job(pb::CompleteResyncJobRequest {
            job_id: "acme/e000000000000000000000000".into(),
            lease_id: "l".into(),
            outcome: None,
        })
        .await
        .unwrap_err();
    starts(err, "outcome");
}

// ---------------------------------------------------------------------------
// Classification: no store involved.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classify_answers_in_order() {
    let service = Service::sync_errors(Settings::default()).await;
    let mut c = SyncErrorsClient::new(service.channel().await);
    let input = |status: &str, message: &str| pb::ClassifyInput {
        status_code: status.into(),
        message: message.into(),
        ..Default::default()
    };
    let reply = c
        .classify(pb::ClassifyRequest {
            inputs: vec![
                input(
                    "STRING_TOO_LONG",
                    "Name: data value too large: x (max length=80)",
                ),
                input("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
                input("", "something nobody has seen"),
            ],
        })
        .await
        .unwrap()
        .into_inner();
    let levels: Vec<_> = reply
        .classifications
        .iter()
        .map(|c| c.level.unwrap())
        .collect();
    assert!(
        matches!(&levels[0], pb::classification::Level::Record(r) if r.r#type == tx::ErrorType::StringTooLong as i32)
    );
    assert_eq!(
        levels[1],
        pb::classification::Level::Suspension(
            tx::SuspensionReason::SalesforceApiLimitExceeded.into()
        )
    );
    assert!(
        matches!(&levels[2], pb::classification::Level::Record(r) if r.r#type == tx::ErrorType::Unknown as i32)
    );
    assert!(reply.classifications.iter().all(|c| !c.guidance.is_empty()));
}

async fn a_notice_goes_once_to_each_channel_across_a_webhook_retry(backend: Backend) {
    use syncgov_tests::WebhookReceiver;
    use syncgov_tests::smtp::SmtpSink;
    let sink = SmtpSink::start();
    // The webhook fails its first delivery: the notice is tried again, and
    // only the webhook gets it again; the e-mail that went out stays one.
    let hook = WebhookReceiver::start(1).await;
    let mut env = Env::start_with(
        backend,
        Settings {
            smtp_url: Some(sink.url()),
            smtp_from: Some("alerts@syncgov.example".into()),
            webhook_allow: vec!["127.0.0.1/32".parse().unwrap()],
            notification_retry: Duration::from_millis(200),
            ..Settings::default()
        },
    )
    .await;
    env.client
        .update_notification_settings(pb::UpdateNotificationSettingsRequest {
            org_id: "acme".into(),
            settings: Some(pb::NotificationSettings {
                enabled: true,
                frequency: pb::NotificationFrequency::Immediately.into(),
                webhook_url: hook.url(),
                webhook_secret: "a-secret-of-sixteen-or-more".into(),
                email_recipients: vec!["ops@acme.example".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("UpdateNotificationSettings");
    ingest(
        &mut env.client,
        "acme",
        vec![failure("k1", "Contact", "c1", "too_long")],
    )
    .await;
    let taken = syncgov_tests::eventually(PATIENCE, || async {
        hook.requests().iter().any(|r| r.status == 200)
    })
    .await;
    assert!(
        taken,
        "the webhook never took the notice: {:?}",
        hook.requests()
    );
    let posts = hook.requests();
    assert_eq!(posts.len(), 2, "one failed POST, one taken: {posts:?}");
    assert_eq!(
        posts[0].headers["webhook-id"],
        posts[1].headers["webhook-id"]
    );
    let mails = sink.messages();
    assert_eq!(
        mails.len(),
        1,
        "mailed once, not again on the webhook's retry: {mails:?}"
    );
    assert_eq!(
        mails[0]["subject"],
        "[syncgov] acme: new sync errors (STRING_TOO_LONG)"
    );
}
