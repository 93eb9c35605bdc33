//! Classification over real gRPC, on every store: types and reasons a
//! worker states (every type and reason of the Sync Health page can
//! appear), the explanation replies and stored errors carry, the health
//! cards' count of unrecognised errors, operator rules read from a file and
//! reloaded when it changes, and `ReclassifyErrors`, which moves stored
//! errors between types with every counter kept exact and never suspends
//! an org after the fact.

use std::time::Duration;

use sync_errors::config::Settings;
use syncgov_api::syncerrors::v1 as pb;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_tests::syncerrors::{Env, failure, health_of, ingest};
use syncgov_tests::{Backend, TempDir, eventually, on_every_store};
use tonic::Code;
use tonic::transport::Channel;

on_every_store!(
    every_type_a_worker_states_reaches_the_cards,
    replies_and_stored_errors_say_what_decided,
    operator_rules_decide_and_reload_when_their_file_changes,
    reclassify_moves_errors_and_keeps_every_count_exact,
);

/// A failure whose type the worker stated, with a text nothing recognises.
fn stated(key: &str, object: &str, record: &str, code: &str) -> pb::Failure {
    pb::Failure {
        idempotency_key: key.into(),
        object_type: object.into(),
        crm_record_id: record.into(),
        message: "detected on the CRM side".into(),
        stated_code: code.into(),
        ..Default::default()
    }
}

/// A failure of `object`/`record` with Salesforce's `status` and `message`.
fn text(key: &str, object: &str, record: &str, status: &str, message: &str) -> pb::Failure {
    pb::Failure {
        idempotency_key: key.into(),
        object_type: object.into(),
        crm_record_id: record.into(),
        status_code: status.into(),
        message: message.into(),
        ..Default::default()
    }
}

/// `(type number, current errors, impacted records)` of every card.
fn type_counts(h: &pb::GetSyncHealthResponse) -> Vec<(i32, u64, u64)> {
    let mut out: Vec<(i32, u64, u64)> = h
        .categories
        .iter()
        .flat_map(|c| c.types.iter())
        .map(|t| (t.r#type, t.current_errors, t.impacted_records))
        .collect();
    out.sort_unstable();
    out
}

/// `(category number, current errors, impacted records)` of every card.
fn category_counts(h: &pb::GetSyncHealthResponse) -> Vec<(i32, u64, u64)> {
    let mut out: Vec<(i32, u64, u64)> = h
        .categories
        .iter()
        .map(|c| (c.category, c.current_errors, c.impacted_records))
        .collect();
    out.sort_unstable();
    out
}

fn basis(c: Option<&pb::Classification>) -> i32 {
    c.and_then(|c| c.explanation.as_ref())
        .map_or(0, |x| x.basis)
}

async fn every_type_a_worker_states_reaches_the_cards(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let crm_side = [
        (
            "ASSOCIATION_LIMIT_REACHED",
            tx::ErrorType::AssociationLimitReached,
        ),
        (
            "WAITING_FOR_ACCOUNT_SYNC",
            tx::ErrorType::WaitingForAccountSync,
        ),
        ("MISSING_CONTACT_ID", tx::ErrorType::MissingContactId),
        ("EMAIL_ALREADY_IN_USE", tx::ErrorType::EmailAlreadyInUse),
        (
            "MISSING_PICKLIST_OPTION",
            tx::ErrorType::MissingPicklistOption,
        ),
        ("MISMATCHED_OPTIONS", tx::ErrorType::MismatchedOptions),
        (
            "INACTIVE_OPPORTUNITY_STAGE",
            tx::ErrorType::InactiveOpportunityStage,
        ),
        ("OWNERS_NOT_SYNCED", tx::ErrorType::OwnersNotSynced),
        ("OPTION_LIMIT_EXCEEDED", tx::ErrorType::OptionLimitExceeded),
    ];
    let mut failures: Vec<pb::Failure> = crm_side
        .iter()
        .enumerate()
        .map(|(i, (code, _))| stated(&format!("k{i}"), "Contact", &format!("c{i}"), code))
        .collect();
    // The enums say the same as the codes.
    failures.push(pb::Failure {
        stated_type: tx::ErrorType::EmailAlreadyInUse.into(),
        ..stated("k-enum", "Lead", "l1", "")
    });
    // What the worker states wins over a text that says something else.
    failures.push(pb::Failure {
        stated_code: "association-limit-reached".into(),
        ..failure("k-text", "Account", "a1", "too_long")
    });
    failures.push(pb::Failure {
        stated_reason: tx::SuspensionReason::MissingFieldMappings.into(),
        ..stated("k-mappings", "Contact", "c99", "")
    });
    let results = ingest(c, "acme", failures).await;
    for r in &results {
        assert_eq!(
            basis(r.classification.as_ref()),
            tx::ClassificationBasis::WorkerStated as i32,
            "{r:?}"
        );
    }
    let mappings = results.last().unwrap().classification.as_ref().unwrap();
    assert_eq!(
        mappings.level,
        Some(pb::classification::Level::Suspension(
            tx::SuspensionReason::MissingFieldMappings.into()
        ))
    );
    let h = health_of(c, "acme").await;
    let counts = type_counts(&h);
    for (code, t) in crm_side {
        assert!(
            counts.iter().any(|(n, e, _)| *n == t as i32 && *e >= 1),
            "{code} missing from {counts:?}"
        );
    }
    let associations = h
        .categories
        .iter()
        .find(|c| c.category == tx::ErrorCategory::Associations as i32)
        .expect("the ASSOCIATIONS card");
    assert_eq!(
        (associations.current_errors, associations.impacted_records),
        (3, 3)
    );
    assert_eq!(h.current_errors, 11);
    assert_eq!(h.unknown_errors, 0);
    assert_eq!(
        h.recent_suspensions[0].reason,
        tx::SuspensionReason::MissingFieldMappings as i32
    );

    // What the taxonomy does not have is refused, naming the field; nothing
    // of the batch is stored.
    let refused = [
        (
            stated("x1", "Contact", "x", "NOT_A_TYPE"),
            "failures[0].stated_code",
        ),
        (
            pb::Failure {
                stated_type: 999,
                ..stated("x2", "Contact", "x", "")
            },
            "failures[0].stated_type",
        ),
        (
            pb::Failure {
                stated_reason: 999,
                ..stated("x3", "Contact", "x", "")
            },
            "failures[0].stated_reason",
        ),
        (
            pb::Failure {
                stated_type: tx::ErrorType::Unknown.into(),
                ..stated("x4", "Contact", "x", "EMAIL_ALREADY_IN_USE")
            },
            "failures[0].stated_code",
        ),
    ];
    for (f, field) in refused {
        let err = c
            .ingest_errors(pb::IngestErrorsRequest {
                org_id: "acme".into(),
                failures: vec![f],
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(err.message().starts_with(field), "{err:?}");
    }
    assert_eq!(health_of(c, "acme").await.current_errors, 11);
}

async fn replies_and_stored_errors_say_what_decided(backend: Backend) {
    let mut env = Env::start(backend).await;
    let c = &mut env.client;
    let results = ingest(
        c,
        "acme",
        vec![
            failure("k1", "Contact", "c1", "too_long"),
            failure("k2", "Opportunity", "o1", "trigger"),
            text("k3", "Contact", "c2", "", "Lorem ipsum dolor sit amet"),
            text(
                "k4",
                "Contact",
                "c3",
                "",
                "Something nobody wrote a rule for",
            ),
        ],
    )
    .await;
    let why = |i: usize| {
        results[i]
            .classification
            .as_ref()
            .unwrap()
            .explanation
            .clone()
            .unwrap()
    };
    assert_eq!(why(0).basis, tx::ClassificationBasis::StatusCode as i32);
    assert_eq!(why(0).matched, "STRING_TOO_LONG");
    assert!(why(0).confidence > 0.9);
    assert_eq!(why(1).basis, tx::ClassificationBasis::Wrapper as i32);
    assert_eq!(why(2).basis, tx::ClassificationBasis::Fallback as i32);
    assert_eq!(why(2).confidence, 0.0);
    // A key seen again answers as the first time, without the explanation.
    let again = ingest(c, "acme", vec![failure("k1", "Contact", "c1", "too_long")]).await;
    assert!(again[0].duplicate);
    // Stored errors carry it.
    let stored = c
        .get_error(pb::GetErrorRequest {
            org_id: "acme".into(),
            error_id: results[0].error_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .error
        .unwrap();
    let x = stored.explanation.expect("an explanation");
    assert_eq!(
        (x.basis, x.matched.as_str()),
        (
            tx::ClassificationBasis::StatusCode as i32,
            "STRING_TOO_LONG"
        )
    );
    // The cards count what nothing recognised.
    let h = health_of(c, "acme").await;
    assert_eq!((h.current_errors, h.unknown_errors), (4, 2));
    // Classify says why too, with stated types and nulls alike.
    let reply = c
        .classify(pb::ClassifyRequest {
            inputs: vec![
                pb::ClassifyInput {
                    status_code: "INVALID_CROSS_REFERENCE_KEY".into(),
                    message: "Owner ID: owner cannot be blank: [OwnerId]".into(),
                    fields: vec!["OwnerId".into()],
                    ..Default::default()
                },
                pb::ClassifyInput {
                    message: "x".into(),
                    stated_code: "OWNERS_NOT_SYNCED".into(),
                    ..Default::default()
                },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    let levels: Vec<_> = reply.classifications.iter().map(|c| c.level).collect();
    let record = |t: tx::ErrorType| {
        Some(pb::classification::Level::Record(pb::RecordLevel {
            category: sync_errors::taxonomy::ErrorType::from_number(t as i32)
                .unwrap()
                .category()
                .number(),
            r#type: t as i32,
        }))
    };
    assert_eq!(
        levels,
        vec![
            record(tx::ErrorType::OwnerAssignment),
            record(tx::ErrorType::OwnersNotSynced)
        ]
    );
    assert_eq!(
        basis(reply.classifications.get(1)),
        tx::ClassificationBasis::WorkerStated as i32
    );
}

/// A rules file in its own directory, rewritten by the test.
struct RulesFile {
    dir: TempDir,
}

impl RulesFile {
    fn new(text: &str) -> Self {
        let file = Self {
            dir: TempDir::new("rules"),
        };
        file.write(text);
        file
    }

    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("rules.yaml")
    }

    /// Replaces the file whole (a rename, as editors and config maps do).
    fn write(&self, text: &str) {
        let tmp = self.dir.path().join("rules.yaml.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, self.path()).unwrap();
    }

    fn settings(&self) -> Settings {
        Settings {
            rules: Some(self.path()),
            rules_reload: Duration::from_millis(100),
            ..Settings::default()
        }
    }
}

/// The type `org`'s rules give a validation message only acme's admin wrote.
async fn classify_as(
    c: &mut SyncErrorsClient<Channel>,
    org: &str,
    message: &str,
) -> pb::Classification {
    c.classify(pb::ClassifyRequest {
        inputs: vec![pb::ClassifyInput {
            status_code: "FIELD_FILTER_VALIDATION_EXCEPTION".into(),
            message: message.into(),
            org_id: org.into(),
            ..Default::default()
        }],
    })
    .await
    .unwrap()
    .into_inner()
    .classifications
    .remove(0)
}

const ACME_RULES: &str = r#"
rules:
  - name: acme-partner-filter
    orgs: [acme]
    status_code: FIELD_FILTER_VALIDATION_EXCEPTION
    message: "(?i)active partner"
    type: INVALID_SALESFORCE_ID
"#;

async fn operator_rules_decide_and_reload_when_their_file_changes(backend: Backend) {
    let rules = RulesFile::new(ACME_RULES);
    let mut env = Env::start_with(backend, rules.settings()).await;
    let c = &mut env.client;
    let message = "Please choose an active partner account.";
    let ruled = classify_as(c, "acme", message).await;
    assert_eq!(
        basis(Some(&ruled)),
        tx::ClassificationBasis::OperatorRule as i32
    );
    assert_eq!(
        ruled.explanation.as_ref().unwrap().matched,
        "acme-partner-filter"
    );
    // Another org's texts are not acme's: the built-in rule decides.
    let other = classify_as(c, "globex", message).await;
    assert_eq!(
        basis(Some(&other)),
        tx::ClassificationBasis::StatusCode as i32
    );

    // A bad change is refused: the rules in force stay.
    rules.write("rules:\n  - name: broken\n    message: \"(\"\n    type: UNKNOWN\n");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let still = classify_as(c, "acme", message).await;
    assert_eq!(
        basis(Some(&still)),
        tx::ClassificationBasis::OperatorRule as i32
    );

    // A good change is taken.
    rules.write(&ACME_RULES.replace("acme-partner-filter", "acme-partner-filter-v2"));
    let reloaded = eventually(Duration::from_secs(5), || {
        let mut c = c.clone();
        async move {
            classify_as(&mut c, "acme", message)
                .await
                .explanation
                .is_some_and(|x| x.matched == "acme-partner-filter-v2")
        }
    })
    .await;
    assert!(reloaded, "the rules file was not reloaded");

    // The change is in the audit trail: the file, and the rules' names
    // before and after; the refused change is not. The rules are put in
    // force first and recorded just after: wait for the record.
    let recorded = eventually(Duration::from_secs(5), || {
        let mut c = c.clone();
        async move {
            c.list_audit_events(pb::ListAuditEventsRequest::default())
                .await
                .is_ok_and(|r| {
                    r.into_inner()
                        .events
                        .iter()
                        .any(|e| e.action == "RulesFile")
                })
        }
    })
    .await;
    assert!(recorded, "the rules file's change was not recorded");
    let events = c
        .list_audit_events(pb::ListAuditEventsRequest::default())
        .await
        .expect("the trail reads")
        .into_inner()
        .events;
    let changes: Vec<_> = events.iter().filter(|e| e.action == "RulesFile").collect();
    assert_eq!(changes.len(), 1, "{events:?}");
    let names = |json: &str| -> Vec<String> {
        let value: serde_json::Value = serde_json::from_str(json).expect("JSON");
        serde_json::from_value(value["names"].clone()).expect("names")
    };
    assert!(
        changes[0].actor.starts_with("rules file "),
        "{:?}",
        changes[0]
    );
    assert!(names(&changes[0].before).contains(&"acme-partner-filter".to_owned()));
    assert!(names(&changes[0].after).contains(&"acme-partner-filter-v2".to_owned()));
}

async fn reclassify_moves_errors_and_keeps_every_count_exact(backend: Backend) {
    let rules = RulesFile::new("");
    let mut env = Env::start_with(backend, rules.settings()).await;
    let c = &mut env.client;
    const PARTNER: &str = "Please choose an active partner account.";
    const FROZEN: &str = "The integration user is frozen by the nightly job.";
    ingest(
        c,
        "acme",
        vec![
            // c1: two types, one to move onto the other (a merge).
            text(
                "k1",
                "Contact",
                "c1",
                "FIELD_FILTER_VALIDATION_EXCEPTION",
                PARTNER,
            ),
            text(
                "k2",
                "Contact",
                "c1",
                "INVALID_CROSS_REFERENCE_KEY",
                "invalid cross reference id",
            ),
            // c2: moves to a type the record does not have yet.
            text(
                "k3",
                "Contact",
                "c2",
                "FIELD_FILTER_VALIDATION_EXCEPTION",
                PARTNER,
            ),
            // c3: a text that will read as a suspension: stays.
            text("k4", "Contact", "c3", "", FROZEN),
            // c4: stays as it is.
            failure("k5", "Contact", "c4", "too_long"),
            // c5: stated by its worker: no rule moves it.
            pb::Failure {
                stated_code: "CUSTOM_VALIDATION_RULE".into(),
                ..text(
                    "k6",
                    "Contact",
                    "c5",
                    "FIELD_FILTER_VALIDATION_EXCEPTION",
                    PARTNER,
                )
            },
        ],
    )
    .await;
    let before = health_of(c, "acme").await;
    assert_eq!((before.current_errors, before.impacted_records), (6, 5));
    let suspensions_before = before.recent_suspensions.len();

    rules.write(
        r#"
rules:
  - name: partner-filter
    message: "(?i)active partner"
    type: INVALID_SALESFORCE_ID
  - name: frozen-user
    message: "(?i)integration user is frozen"
    reason: SALESFORCE_ORG_LOCKED
"#,
    );
    let reloaded = eventually(Duration::from_secs(5), || {
        let mut c = c.clone();
        async move {
            basis(Some(&classify_as(&mut c, "acme", PARTNER).await))
                == tx::ClassificationBasis::OperatorRule as i32
        }
    })
    .await;
    assert!(reloaded, "the rules file was not reloaded");

    // A dry run says what would move and moves nothing.
    let dry = c
        .reclassify_errors(pb::ReclassifyErrorsRequest {
            org_id: "acme".into(),
            dry_run: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((dry.examined, dry.moved, dry.now_suspension), (6, 2, 1));
    assert_eq!(
        type_counts(&health_of(c, "acme").await),
        type_counts(&before)
    );

    let done = c
        .reclassify_errors(pb::ReclassifyErrorsRequest {
            org_id: "acme".into(),
            dry_run: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            done.examined,
            done.moved,
            done.now_suspension,
            done.skipped_resyncing
        ),
        (6, 2, 1, 0)
    );
    assert_eq!(done.moves.len(), 1);
    assert_eq!(
        (done.moves[0].from, done.moves[0].to, done.moves[0].errors),
        (
            tx::ErrorType::CustomValidationRule as i32,
            tx::ErrorType::InvalidSalesforceId as i32,
            2
        )
    );

    let after = health_of(c, "acme").await;
    // c1's two errors merged into one; every other record keeps one each.
    assert_eq!((after.current_errors, after.impacted_records), (5, 5));
    assert_eq!(type_counts(&after), {
        let mut v = vec![
            (tx::ErrorType::CustomValidationRule as i32, 1, 1),
            (tx::ErrorType::InvalidSalesforceId as i32, 2, 2),
            (tx::ErrorType::StringTooLong as i32, 1, 1),
            (tx::ErrorType::Unknown as i32, 1, 1),
        ];
        v.sort_unstable();
        v
    });
    assert_eq!(category_counts(&after), {
        let mut v = vec![
            (tx::ErrorCategory::CustomCode as i32, 1, 1),
            (tx::ErrorCategory::PropertyMappings as i32, 2, 2),
            (tx::ErrorCategory::PropertyValues as i32, 1, 1),
            (tx::ErrorCategory::Other as i32, 1, 1),
        ];
        v.sort_unstable();
        v
    });
    // Never a suspension after the fact.
    assert_eq!(after.recent_suspensions.len(), suspensions_before);
    // The lists agree with the cards, and the merged error has both reports.
    let listed = c
        .list_errors(pb::ListErrorsRequest {
            org_id: "acme".into(),
            filter: Some(pb::ErrorFilter {
                r#type: tx::ErrorType::InvalidSalesforceId.into(),
                ..Default::default()
            }),
            page_size: 50,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .errors;
    assert_eq!(listed.len(), 2);
    let c1 = listed.iter().find(|e| e.crm_record_id == "c1").unwrap();
    assert_eq!(c1.occurrences, 2);
    let c2 = listed.iter().find(|e| e.crm_record_id == "c2").unwrap();
    let x = c2.explanation.as_ref().unwrap();
    assert_eq!(
        (x.basis, x.matched.as_str()),
        (
            tx::ClassificationBasis::OperatorRule as i32,
            "partner-filter"
        )
    );
    // Resolving the records brings every counter back to zero.
    for record in ["c1", "c2", "c3", "c4", "c5"] {
        c.resolve_record(pb::ResolveRecordRequest {
            org_id: "acme".into(),
            object_type: "Contact".into(),
            crm_record_id: record.into(),
        })
        .await
        .unwrap();
    }
    let empty = health_of(c, "acme").await;
    assert_eq!(
        (
            empty.current_errors,
            empty.impacted_records,
            empty.categories.len()
        ),
        (0, 0, 0)
    );
    // A second pass finds nothing left to move.
    let again = c
        .reclassify_errors(pb::ReclassifyErrorsRequest {
            org_id: "acme".into(),
            dry_run: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.examined, again.moved), (0, 0));
}

/// Runs a binary of the workspace with `args` and `stdin`, and returns its
/// exit code and stdout.
async fn run(name: &str, args: &[&str], stdin: &str) -> (i32, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(syncgov_tests::binary(name))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start {name}: {e}"));
    let mut input = child.stdin.take().expect("piped stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("write stdin");
    drop(input);
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("it finishes")
        .expect("it runs");
    (
        output.status.code().expect("an exit code"),
        String::from_utf8(output.stdout).expect("UTF-8"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncctl_explains_and_reclassifies() {
    let rules = RulesFile::new(ACME_RULES);
    let service = syncgov_tests::Service::sync_errors(rules.settings()).await;
    let addr = format!("http://{}", service.addr());
    let input = concat!(
        r#"{"id": 1, "status_code": "FIELD_FILTER_VALIDATION_EXCEPTION", "message": "Please choose an active partner account."}"#,
        "\n",
        r#"{"id": 2, "status_code": null, "message": "x", "stated": "waiting-for-account-sync"}"#,
        "\n"
    );
    let (code, out) = run(
        "syncctl",
        &[
            "--sync-errors",
            &addr,
            "classify",
            "--org",
            "acme",
            "--explain",
        ],
        input,
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "INVALID_SALESFORCE_ID");
    assert_eq!(lines[0]["basis"], "OPERATOR_RULE");
    assert_eq!(lines[0]["matched"], "acme-partner-filter");
    assert_eq!(lines[1]["category"], "ASSOCIATIONS");
    assert_eq!(lines[1]["basis"], "WORKER_STATED");
    assert_eq!(lines[1]["confidence"], 1.0);

    // The same lines offline, with the same rules.
    let rules_path = rules.path();
    let (code, offline) = run(
        "sync-errors",
        &[
            "classify",
            "--explain",
            "--org",
            "acme",
            "--rules",
            rules_path.to_str().unwrap(),
        ],
        input,
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(offline, out);

    // errors reclassify, in JSON.
    let mut c = SyncErrorsClient::new(service.channel().await);
    ingest(
        &mut c,
        "acme",
        vec![text(
            "k1",
            "Contact",
            "c1",
            "FIELD_FILTER_VALIDATION_EXCEPTION",
            "Please choose an active partner account.",
        )],
    )
    .await;
    let (code, out) = run(
        "syncctl",
        &[
            "--sync-errors",
            &addr,
            "--output",
            "json",
            "errors",
            "reclassify",
            "--org",
            "acme",
            "--dry-run",
        ],
        "",
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let reply: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Ingest already applied the rule: nothing to move.
    assert_eq!(
        (reply["examined"].as_u64(), reply["moved"].as_u64()),
        (Some(1), Some(0)),
        "{reply}"
    );
    assert_eq!(reply["dry_run"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_every_category() {
    let (code, out) = run(
        "syncgov-demo",
        &["--duration", "10s", "--output", "json"],
        "",
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let summary: serde_json::Value = serde_json::from_str(&out).expect("the summary is JSON");
    let mut seen: Vec<String> = summary["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["categories"].as_array().unwrap().iter())
        .map(|c| c["category"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen,
        [
            "ASSOCIATIONS",
            "CUSTOM_CODE",
            "DUPLICATES",
            "OTHER",
            "PERMISSIONS",
            "PICKLIST",
            "PROPERTY_MAPPINGS",
            "PROPERTY_VALUES"
        ],
        "{summary:#}"
    );
}
