//! The web console over plain HTTP, in front of both services with
//! authentication on: its security headers and cookie flags, CSRF refusal
//! of forged posts, sign-in with good and bad tokens, and that what a
//! person sees and may do is what the services allow their own token
//! (a worker of one org sees no other org, an operator may not change an
//! allocation), each refusal shown as a sentence. Then the actions an
//! operator takes: clear a suspension, resync errors (at most 100 at once),
//! export CSV; every effect checked through gRPC. The tests of pages and
//! actions run twice, with both services on their memory stores and on a
//! real `redis-server`.

use std::path::Path;

use quota_governor::config::Settings as GovernorSettings;
use syncgov_api::syncerrors::v1 as errors;
use syncgov_console::config::Settings as ConsoleSettings;
use syncgov_tests::console::{ADMIN, Bench, Console, GLOBEX, OPERATOR, WORKER};
use syncgov_tests::pki::Pki;
use syncgov_tests::{Backend, Service, free_addr};

/// Runs each test twice: both services on their memory stores, and both on
/// one real `redis-server` of the test's own, so that every page and action
/// of these is exercised against the Redis stores too.
macro_rules! on_memory_and_redis {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(syncgov_tests::Backend::Memory).await })*
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(syncgov_tests::Backend::Redis).await })*
        }
    };
}

on_memory_and_redis!(
    a_workers_session_sees_its_own_org_and_no_other,
    an_operator_clears_a_suspension_and_may_not_change_an_allocation,
    the_org_page_shows_the_suspension_history_newest_first_and_bounded,
    a_budget_changed_since_the_page_was_opened_is_not_overwritten,
    sync_health_cards_lead_to_errors_that_are_resynced_and_exported,
    the_fleet_pages_through_every_org_and_refuses_a_forged_page_token_in_words,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_carries_the_security_headers_and_the_cookies_their_flags() {
    let bench = Bench::start().await;
    let mut client = bench.client();
    let form = client.get("/sign-in").await;
    assert_eq!(form.status, 200);
    let csp = form.header("content-security-policy");
    assert_eq!(csp, syncgov_console::app::CONTENT_SECURITY_POLICY);
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(form.header("x-frame-options"), "DENY");
    assert_eq!(form.header("x-content-type-options"), "nosniff");
    assert_eq!(form.header("cache-control"), "no-store");
    assert!(!form.body.contains("<script"), "no script on the page");
    let pre = form
        .set_cookie("syncgov_sign_in")
        .expect("the sign-in form's cookie");
    assert!(
        pre.contains("HttpOnly") && pre.contains("SameSite=Strict"),
        "{pre}"
    );

    let signed_in = client.sign_in(Some(OPERATOR)).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(signed_in.header("location"), "/fleet");
    let session = signed_in
        .set_cookie("syncgov_session")
        .expect("a session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Path=/"), "{session}");
    // Plain HTTP here: Secure would keep the browser from sending it back.
    assert!(!session.contains("Secure"), "{session}");
    // The token itself never reaches the browser.
    assert!(!session.contains(OPERATOR), "{session}");

    // Error pages carry the headers too.
    let missing = client.get("/no/such/page").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("content-security-policy"), csp);
    assert!(missing.body.contains("There is no page at this address."));
    // So does the stylesheet, the only asset.
    let css = client.get("/static/console.css").await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").starts_with("text/css"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_the_sessions_csrf_token_are_refused_and_change_nothing() {
    let bench = Bench::start().await;
    let mut client = bench.client();
    client.sign_in(Some(OPERATOR)).await;
    assert_eq!(bench.suspensions_of("acme").await.len(), 1);

    // The session cookie alone (what a forged cross-site form would carry).
    let forged = client
        .post(
            "/orgs/acme/clear",
            &[("reason", "MISSING_FIELD_PERMISSIONS")],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(
        forged.body.contains("did not come from this console"),
        "{}",
        forged.body
    );
    let wrong = client
        .post(
            "/orgs/acme/clear",
            &[
                ("csrf", "0123456789abcdef0123456789abcdef"),
                ("reason", "MISSING_FIELD_PERMISSIONS"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 403);
    assert_eq!(
        bench.suspensions_of("acme").await.len(),
        1,
        "nothing was cleared"
    );

    // Nor does another session's token do.
    let mut other = bench.client();
    other.sign_in(Some(OPERATOR)).await;
    let others_csrf = other.get("/orgs/acme").await.csrf();
    let crossed = client
        .post(
            "/orgs/acme/clear",
            &[
                ("csrf", &others_csrf),
                ("reason", "MISSING_FIELD_PERMISSIONS"),
            ],
        )
        .await;
    assert_eq!(crossed.status, 403);
    assert_eq!(bench.suspensions_of("acme").await.len(), 1);

    // The sign-in form has its own token: a post without it signs no one in.
    let mut fresh = bench.client();
    let blind = fresh.post("/sign-in", &[("token", OPERATOR)]).await;
    assert_eq!(blind.status, 403);
    assert!(blind.set_cookie("syncgov_session").is_none());

    // Signing out needs the token too; with it the session ends, and a
    // copy of the cookie taken before opens nothing.
    let copy = client.cookies.clone();
    let csrf = client.get("/fleet").await.csrf();
    assert_eq!(client.post("/sign-out", &[]).await.status, 403);
    let out = client.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    let page = client.follow(&out).await;
    assert!(page.body.contains("You are signed out."), "{}", page.body);
    let after = client.get("/fleet").await;
    assert_eq!(after.status, 303);
    assert_eq!(after.header("location"), "/sign-in");
    let mut thief = bench.client();
    thief.cookies = copy;
    let stolen = thief.get("/fleet").await;
    assert_eq!(stolen.status, 303, "a signed-out session's copy is refused");
    assert_eq!(stolen.header("location"), "/sign-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_services_refuse_signs_no_one_in() {
    let bench = Bench::start().await;
    let mut client = bench.client();
    let refused = client
        .sign_in(Some("not-a-token-anyone-issued-0123456789"))
        .await;
    assert_eq!(refused.status, 401);
    assert!(
        refused
            .body
            .contains("The services did not accept this token"),
        "{}",
        refused.body
    );
    assert!(refused.set_cookie("syncgov_session").is_none());
    // Without a token, while the services require one.
    let anonymous = bench.client().sign_in(None).await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.body.contains("The services require a token"));
    // Something that is not a token at all is refused before any call.
    let junk = bench.client().sign_in(Some("two words")).await;
    assert_eq!(junk.status, 400);
    assert!(
        junk.body.contains("token: printable ASCII"),
        "{}",
        junk.body
    );
    // Pages need a session.
    let page = bench.client().get("/orgs/acme").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), "/sign-in");
}

async fn a_workers_session_sees_its_own_org_and_no_other(backend: Backend) {
    let bench = Bench::on(backend).await;
    let mut worker = bench.client();
    assert_eq!(worker.sign_in(Some(WORKER)).await.status, 303);

    let own = worker.get("/orgs/acme").await;
    assert_eq!(own.status, 200);
    assert!(
        own.body.contains(r#"<dd id="used">1,200</dd>"#),
        "{}",
        own.body
    );
    assert!(own.body.contains(r#"<dd id="allocation">10,000</dd>"#));

    let other = worker.get("/orgs/globex").await;
    assert_eq!(other.status, 200);
    assert!(
        other.body.contains(
            "You may not see the API call use of this org: your credential does not allow it."
        ),
        "{}",
        other.body
    );
    assert!(
        !other.body.contains("5,000"),
        "globex's allocation is not shown"
    );
    assert!(
        !other.body.contains("Salesforce org locked"),
        "nor its suspension"
    );
    assert!(!other.body.contains("PermissionDenied") && !other.body.contains("status"));

    let health = worker.get("/orgs/globex/health").await;
    assert!(
        health
            .body
            .contains("You may not see the sync errors of this org")
    );
    let errors = worker.get("/orgs/globex/errors").await;
    assert!(!errors.body.contains("crm-globex-0"));

    // The fleet lists what the token's orgs hold: acme's suspension, not globex's.
    let fleet = worker.get("/fleet").await;
    assert!(
        fleet.body.contains(r#"<a href="/orgs/acme">acme</a>"#),
        "{}",
        fleet.body
    );
    assert!(!fleet.body.contains("globex"), "{}", fleet.body);

    // And an action outside its role is refused as a sentence.
    let csrf = own.csrf();
    let clear = worker
        .post(
            "/orgs/acme/clear",
            &[("csrf", &csrf), ("reason", "MISSING_FIELD_PERMISSIONS")],
        )
        .await;
    let page = worker.follow(&clear).await;
    assert!(
        page.body.contains(
            "You may not clear suspensions for this org: your credential does not allow it."
        ),
        "{}",
        page.body
    );
    assert_eq!(bench.suspensions_of("acme").await.len(), 1);

    // An operator of globex sees globex and not acme.
    let mut globex = bench.client();
    globex.sign_in(Some(GLOBEX)).await;
    let fleet = globex.get("/fleet").await;
    assert!(fleet.body.contains(r#"<a href="/orgs/globex">globex</a>"#));
    assert!(!fleet.body.contains("acme"), "{}", fleet.body);
}

async fn an_operator_clears_a_suspension_and_may_not_change_an_allocation(backend: Backend) {
    let bench = Bench::on(backend).await;
    let mut ops = bench.client();
    ops.sign_in(Some(OPERATOR)).await;
    let fleet = ops.get("/fleet?reason=MISSING_FIELD_PERMISSIONS").await;
    assert!(
        fleet.body.contains(r#"<a href="/orgs/acme">acme</a>"#),
        "{}",
        fleet.body
    );
    let page = ops.get("/orgs/acme").await;
    assert!(
        page.body.contains("Missing field permissions"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Clear suspension"));
    let csrf = page.csrf();

    let cleared = ops
        .post(
            "/orgs/acme/clear",
            &[("csrf", &csrf), ("reason", "MISSING_FIELD_PERMISSIONS")],
        )
        .await;
    assert_eq!(cleared.header("location"), "/orgs/acme");
    let after = ops.follow(&cleared).await;
    assert!(
        after
            .body
            .contains("The suspension “Missing field permissions” of acme is cleared."),
        "{}",
        after.body
    );
    assert!(after.body.contains(r#"id="not-suspended""#));
    assert!(bench.suspensions_of("acme").await.is_empty());
    // The governor's audit trail names the person, not the console.
    let events = bench
        .governor_as(ADMIN)
        .await
        .list_audit_events(syncgov_api::quota::v1::ListAuditEventsRequest {
            org_id: "acme".into(),
            action: "ClearSuspension".into(),
            ..Default::default()
        })
        .await
        .expect("ListAuditEvents")
        .into_inner()
        .events;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].actor, "ops", "the operator token's name");
    // The notice shows once.
    assert!(!ops.get("/orgs/acme").await.body.contains("is cleared"));

    let refused = ops
        .post_seen(
            "/orgs/acme/budget",
            &page,
            &[
                ("csrf", &csrf),
                ("change", "allocation"),
                ("allocation", "50000"),
            ],
        )
        .await;
    let shown = ops.follow(&refused).await;
    assert!(
        shown
            .body
            .contains("You may not change the allocation of this org"),
        "{}",
        shown.body
    );

    // An admin may; a bad number is refused naming the field.
    let mut admin = bench.client();
    admin.sign_in(Some(ADMIN)).await;
    let opened = admin.get("/orgs/acme").await;
    let csrf = opened.csrf();
    let bad = admin
        .post_seen(
            "/orgs/acme/budget",
            &opened,
            &[
                ("csrf", &csrf),
                ("change", "allocation"),
                ("allocation", "-5"),
            ],
        )
        .await;
    assert!(
        admin
            .follow(&bad)
            .await
            .body
            .contains("allocation: a whole number of calls from 0 to 1000000000."),
    );
    let set = admin
        .post_seen(
            "/orgs/acme/budget",
            &opened,
            &[
                ("csrf", &csrf),
                ("change", "allocation"),
                ("allocation", "12,500"),
            ],
        )
        .await;
    let page = admin.follow(&set).await;
    assert!(
        page.body
            .contains("The allocation of acme is now 12,500 calls per 24 hours.")
    );
    assert!(
        page.body.contains(r#"<dd id="allocation">12,500</dd>"#),
        "{}",
        page.body
    );
    let overridden = admin
        .post_seen(
            "/orgs/acme/budget",
            &page,
            &[
                ("csrf", &csrf),
                ("change", "override"),
                ("override_allocation", "20000"),
                ("override_hours", "24"),
            ],
        )
        .await;
    let page = admin.follow(&overridden).await;
    assert!(page.body.contains(r#"id="override""#), "{}", page.body);
    assert!(page.body.contains(r#"<dd id="allocation">20,000</dd>"#));
    // Bad ids in the address are refused naming the field.
    let bad_org = admin.get("/orgs/a%7Bb%7D").await;
    assert_eq!(bad_org.status, 400);
    assert!(
        bad_org.body.contains("org: must be 1 to 64 characters"),
        "{}",
        bad_org.body
    );
}

async fn the_org_page_shows_the_suspension_history_newest_first_and_bounded(backend: Backend) {
    use syncgov_api::quota::v1 as quota;
    use syncgov_api::taxonomy::v1 as tx;
    let bench = Bench::on(backend).await;
    let mut ops = bench.client();
    ops.sign_in(Some(OPERATOR)).await;
    let page = ops.get("/orgs/acme").await;
    let history = section(&page.body, r#"<table id="history">"#);
    assert!(history.contains("Missing field permissions"), "{history}");
    assert!(history.contains("Suspended now"), "{history}");
    // What to do for the reason, as the suspension's card says it.
    let guidance = syncgov_console::names::reason_guidance(
        tx::SuspensionReason::MissingFieldPermissions as i32,
    );
    assert!(history.contains(&escaped(guidance)), "{history}");

    // Cleared through the console: the row says when and by whom.
    let cleared = ops
        .post(
            "/orgs/acme/clear",
            &[
                ("csrf", &page.csrf()),
                ("reason", "MISSING_FIELD_PERMISSIONS"),
            ],
        )
        .await;
    let after = ops.follow(&cleared).await;
    let history = section(&after.body, r#"<table id="history">"#);
    assert!(history.contains("Cleared by ops"), "{history}");
    assert!(!history.contains("Suspended now"), "{history}");
    // A worker of acme sees the history, not who cleared (the audit trail
    // is for operators and admins).
    let mut worker = bench.client();
    worker.sign_in(Some(WORKER)).await;
    let seen = worker.get("/orgs/acme").await;
    let history = section(&seen.body, r#"<table id="history">"#);
    assert!(
        history.contains("Cleared by a person (who: in the audit trail"),
        "{history}"
    );

    // Many suspensions: the page shows the newest 20 events, newest first,
    // with a link to the older ones.
    let mut admin = bench.governor_as(ADMIN).await;
    let reasons = [
        tx::SuspensionReason::SalesforceOrgLocked,
        tx::SuspensionReason::MissingFieldMappings,
    ];
    for round in 0..13 {
        let reason = reasons[round % 2];
        admin
            .suspend(quota::SuspendRequest {
                org_id: "acme".into(),
                reason: reason as i32,
                detail: format!("round {round}"),
            })
            .await
            .expect("Suspend");
        admin
            .clear_suspension(quota::ClearSuspensionRequest {
                org_id: "acme".into(),
                reason: reason as i32,
            })
            .await
            .expect("ClearSuspension");
    }
    let page = ops.get("/orgs/acme").await;
    let history = section(&page.body, r#"<table id="history">"#);
    let rows = history.matches("<tr>").count() - 1;
    assert_eq!(
        rows, 10,
        "20 events, a suspension and its clear each: {history}"
    );
    let newest = history.find("round 12").expect("the newest round");
    let older = history.find("round 11").expect("the round before");
    assert!(newest < older, "newest first: {history}");
    assert!(!history.contains("round 2<"), "beyond the 20: {history}");
    assert!(history.contains("Cleared by root"), "{history}");
    let link = page
        .body
        .split(r#"<a href=""#)
        .find(|s| s.starts_with("/orgs/acme?history_page="))
        .and_then(|s| s.split('"').next())
        .expect("a link to the older events")
        .replace("&amp;", "&");
    let older_page = ops.get(&link).await;
    assert_eq!(older_page.status, 200, "{}", older_page.body);
    let history = section(&older_page.body, r#"<table id="history">"#);
    assert!(history.contains("round 2<"), "{history}");
    assert!(!history.contains("round 12"), "{history}");
    assert!(older_page.body.contains("The newest events"));
    // The first suspension, cleared by ops, is on the last page.
    let mut next = older_page;
    let mut pages = 2;
    while let Some(link) = next
        .body
        .split(r#"<a href=""#)
        .find(|s| s.starts_with("/orgs/acme?history_page="))
        .and_then(|s| s.split('"').next())
    {
        let link = link.replace("&amp;", "&");
        next = ops.get(&link).await;
        pages += 1;
        assert!(pages < 10, "the history ends");
    }
    assert!(next.body.contains("Cleared by ops"), "{}", next.body);

    // A forged page token is refused in words.
    let forged = ops.get("/orgs/acme?history_page=zz").await;
    assert!(
        forged.body.contains("not a page token") || forged.body.contains("page_token"),
        "{}",
        forged.body
    );
}

/// The part of `page` from `start` to the end of its table.
fn section<'a>(page: &'a str, start: &str) -> &'a str {
    let from = page
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {page}"));
    let rest = &page[from..];
    &rest[..rest.find("</table>").unwrap_or(rest.len())]
}

/// `text` as askama escapes it in a page.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// The allocation of `org` as the governor has it.
async fn allocation_of(bench: &Bench, org: &str) -> syncgov_api::quota::v1::Budget {
    bench
        .governor_as(ADMIN)
        .await
        .get_budget(syncgov_api::quota::v1::GetBudgetRequest {
            org_id: org.into(),
            resource: syncgov_api::quota::v1::Resource::ApiRequests as i32,
        })
        .await
        .expect("GetBudget")
        .into_inner()
        .budget
        .expect("a budget")
}

async fn a_budget_changed_since_the_page_was_opened_is_not_overwritten(backend: Backend) {
    let bench = Bench::on(backend).await;
    let (mut first, mut second) = (bench.client(), bench.client());
    first.sign_in(Some(ADMIN)).await;
    second.sign_in(Some(ADMIN)).await;
    // Both open initech's page (allocation 2 000) before either saves.
    let first_page = first.get("/orgs/initech").await;
    let second_page = second.get("/orgs/initech").await;
    assert_eq!(
        second_page.field("seen_allocation").as_deref(),
        Some("2000")
    );

    let saved = first
        .post_seen(
            "/orgs/initech/budget",
            &first_page,
            &[
                ("csrf", &first_page.csrf()),
                ("change", "allocation"),
                ("allocation", "3000"),
            ],
        )
        .await;
    assert!(
        first
            .follow(&saved)
            .await
            .body
            .contains("The allocation of initech is now 3,000 calls per 24 hours.")
    );

    // The second person's allocation and override are both refused, in
    // words, and the first person's change stands.
    let sentence = "The allocation was changed to 3,000 by someone else since you opened this page; review and try again.";
    for change in [
        &[("change", "allocation"), ("allocation", "4000")][..],
        &[
            ("change", "override"),
            ("override_allocation", "9000"),
            ("override_hours", "24"),
        ][..],
        &[("change", "end_override")][..],
    ] {
        let csrf = second_page.csrf();
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(change);
        let refused = second
            .post_seen("/orgs/initech/budget", &second_page, &fields)
            .await;
        let shown = second.follow(&refused).await;
        assert!(shown.body.contains(sentence), "{change:?}: {}", shown.body);
        let budget = allocation_of(&bench, "initech").await;
        assert_eq!(budget.allocation, 3_000, "{change:?}");
        assert!(budget.allocation_override.is_none(), "{change:?}");
    }

    // A form that does not say what it showed changes nothing either.
    let bare = second
        .post(
            "/orgs/initech/budget",
            &[
                ("csrf", &second_page.csrf()),
                ("change", "allocation"),
                ("allocation", "4000"),
            ],
        )
        .await;
    assert!(second.follow(&bare).await.body.contains(
        "seen_budget: the form does not say which budget you saw; reload the page and try again."
    ));
    assert_eq!(allocation_of(&bench, "initech").await.allocation, 3_000);

    // A change made elsewhere (the org limit, through gRPC) is caught too.
    let reloaded = second.get("/orgs/initech").await;
    let mut limited = allocation_of(&bench, "initech").await;
    limited.org_limit = 90_000;
    bench
        .governor_as(ADMIN)
        .await
        .set_budget(syncgov_api::quota::v1::SetBudgetRequest {
            expected_revision: String::new(),
            org_id: "initech".into(),
            resource: syncgov_api::quota::v1::Resource::ApiRequests as i32,
            budget: Some(limited),
        })
        .await
        .expect("SetBudget");
    let refused = second
        .post_seen(
            "/orgs/initech/budget",
            &reloaded,
            &[
                ("csrf", &reloaded.csrf()),
                ("change", "allocation"),
                ("allocation", "4000"),
            ],
        )
        .await;
    assert!(
        second
            .follow(&refused)
            .await
            .body
            .contains("The budget (its org limit, priority shares or alert thresholds) was changed by someone else")
    );
    assert_eq!(allocation_of(&bench, "initech").await.org_limit, 90_000);

    // Having reviewed the page again, the second person's change goes in,
    // and keeps the first person's and the org limit.
    let reviewed = second.get("/orgs/initech").await;
    assert_eq!(reviewed.field("seen_allocation").as_deref(), Some("3000"));
    let saved = second
        .post_seen(
            "/orgs/initech/budget",
            &reviewed,
            &[
                ("csrf", &reviewed.csrf()),
                ("change", "override"),
                ("override_allocation", "9000"),
                ("override_hours", "24"),
            ],
        )
        .await;
    assert!(
        second
            .follow(&saved)
            .await
            .body
            .contains("initech may use 9,000 calls per 24 hours for the next 24 hours.")
    );
    let budget = allocation_of(&bench, "initech").await;
    assert_eq!(
        (budget.allocation, budget.org_limit),
        (3_000, 90_000),
        "nothing lost"
    );
    assert_eq!(
        budget.allocation_override.map(|o| o.allocation),
        Some(9_000)
    );

    // The page carries the governor's revision of the budget, and the
    // console writes on condition of it: two saves sent at the same moment
    // from pages showing one budget never both land, however their reads
    // and writes interleave (a save whose write comes after the other's,
    // though its check came before, is refused by the governor).
    for round in 0..6u64 {
        let (one, two) = (
            first.get("/orgs/initech").await,
            second.get("/orgs/initech").await,
        );
        let revision = bench
            .governor_as(ADMIN)
            .await
            .get_budget(syncgov_api::quota::v1::GetBudgetRequest {
                org_id: "initech".into(),
                resource: syncgov_api::quota::v1::Resource::ApiRequests as i32,
            })
            .await
            .expect("GetBudget")
            .into_inner()
            .revision;
        assert_eq!(one.field("seen_budget"), Some(revision.clone()));
        assert_eq!(two.field("seen_budget"), Some(revision));
        let (a, b) = (4_000 + 2 * round, 4_001 + 2 * round);
        let (a_text, b_text) = (a.to_string(), b.to_string());
        let (one_csrf, two_csrf) = (one.csrf(), two.csrf());
        let one_fields = [
            ("csrf", one_csrf.as_str()),
            ("change", "allocation"),
            ("allocation", a_text.as_str()),
        ];
        let two_fields = [
            ("csrf", two_csrf.as_str()),
            ("change", "allocation"),
            ("allocation", b_text.as_str()),
        ];
        let (one_reply, two_reply) = tokio::join!(
            first.post_seen("/orgs/initech/budget", &one, &one_fields),
            second.post_seen("/orgs/initech/budget", &two, &two_fields),
        );
        let one_shown = first.follow(&one_reply).await.body;
        let two_shown = second.follow(&two_reply).await.body;
        let landed = |shown: &str| shown.contains("The allocation of initech is now");
        let stands = allocation_of(&bench, "initech").await.allocation;
        match (landed(&one_shown), landed(&two_shown)) {
            (true, false) => {
                assert_eq!(stands, a, "round {round}");
                assert!(two_shown.contains("by someone else"), "{two_shown}");
            }
            (false, true) => {
                assert_eq!(stands, b, "round {round}");
                assert!(one_shown.contains("by someone else"), "{one_shown}");
            }
            both => panic!("round {round}: exactly one save lands, not {both:?}"),
        }
    }
}

async fn sync_health_cards_lead_to_errors_that_are_resynced_and_exported(backend: Backend) {
    let bench = Bench::on(backend).await;
    let mut ops = bench.client();
    ops.sign_in(Some(OPERATOR)).await;
    let health = ops.get("/orgs/acme/health").await;
    assert!(
        health
            .body
            .contains(r#"<strong id="current-errors">5</strong>"#),
        "{}",
        health.body
    );
    // All eight categories, even the empty ones.
    for category in [
        "Associations",
        "Custom code",
        "Duplicates",
        "Permissions",
        "Picklist",
        "Property mappings",
        "Property values",
        "Other",
    ] {
        assert!(health.body.contains(category), "{category} missing");
    }
    assert!(health.body.contains(r#"id="card-STRING_TOO_LONG""#));
    let list = ops.get("/orgs/acme/errors?type=STRING_TOO_LONG").await;
    assert_eq!(list.status, 200);
    let ids: Vec<String> = list
        .body
        .split(r#"name="error_id" value=""#)
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "{}", list.body);
    let csrf = list.csrf();

    let mut fields: Vec<(&str, &str)> = vec![("csrf", &csrf), ("type", "STRING_TOO_LONG")];
    fields.extend(ids[..2].iter().map(|id| ("error_id", id.as_str())));
    let resync = ops.post("/orgs/acme/resync", &fields).await;
    assert_eq!(
        resync.header("location"),
        "/orgs/acme/errors?type=STRING_TOO_LONG"
    );
    let page = ops.follow(&resync).await;
    assert!(
        page.body.contains("2 errors queued for resync."),
        "{}",
        page.body
    );
    let resyncing = bench.errors_of("acme", errors::ErrorState::Resyncing).await;
    let mut queued: Vec<String> = resyncing.iter().map(|e| e.error_id.clone()).collect();
    queued.sort();
    let mut asked = ids[..2].to_vec();
    asked.sort();
    assert_eq!(queued, asked);

    // Over a hundred at once is refused before the service is asked.
    let many: Vec<String> = (0..101).map(|i| format!("e{i}")).collect();
    let mut fields: Vec<(&str, &str)> = vec![("csrf", &csrf)];
    fields.extend(many.iter().map(|id| ("error_id", id.as_str())));
    let posted = ops.post("/orgs/acme/resync", &fields).await;
    let refused = ops.follow(&posted).await;
    assert!(
        refused
            .body
            .contains("at most 100 errors at once (101 ticked)"),
        "{}",
        refused.body
    );

    // Another org's error ids resync nothing of it.
    let globex_ids: Vec<String> = bench
        .errors_of("globex", errors::ErrorState::Unspecified)
        .await
        .into_iter()
        .map(|e| e.error_id)
        .collect();
    let crossed = ops
        .post(
            "/orgs/globex/resync",
            &[("csrf", &csrf), ("error_id", &globex_ids[0])],
        )
        .await;
    assert!(
        ops.follow(&crossed)
            .await
            .body
            .contains("You may not resync errors of this org")
    );
    assert!(
        bench
            .errors_of("globex", errors::ErrorState::Resyncing)
            .await
            .is_empty()
    );

    // A card's "records" link lists the records of its type.
    assert!(
        health
            .body
            .contains(r#"href="/orgs/acme/records?type=STRING_TOO_LONG">3 records</a>"#)
    );
    let records = ops.get("/orgs/acme/records?type=STRING_TOO_LONG").await;
    assert_eq!(records.status, 200);
    for i in 0..3 {
        assert!(
            records.body.contains(&format!("<td>crm-long-{i}</td>")),
            "{}",
            records.body
        );
    }
    assert!(!records.body.contains("crm-mail-0"));
    let untyped = ops.get("/orgs/acme/records").await;
    assert_eq!(untyped.status, 400);
    assert!(untyped.body.contains("type: say which error type"));

    // Search by record id.
    let found = ops.get("/orgs/acme/errors?record=crm-mail-1").await;
    assert!(
        found.body.contains("crm-mail-1") && !found.body.contains("crm-mail-0"),
        "{}",
        found.body
    );

    // The export is a CSV file of the filtered errors.
    let csv = ops.get("/orgs/acme/errors.csv?type=INVALID_EMAIL").await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert!(
        csv.header("content-disposition")
            .contains("sync-errors-acme.csv")
    );
    let rows: Vec<&str> = csv.body.lines().collect();
    assert_eq!(rows.len(), 3, "a header and two rows: {}", csv.body);
    assert!(csv.body.contains("crm-mail-0") && !csv.body.contains("crm-long-0"));
    // A worker may not export: a page says so, not a broken file.
    let mut worker = bench.client();
    worker.sign_in(Some(WORKER)).await;
    let refused = worker.get("/orgs/acme/errors.csv").await;
    assert!(refused.header("content-type").starts_with("text/html"));
    assert!(
        refused
            .body
            .contains("You may not export the errors of this org"),
        "{}",
        refused.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_authentication_one_enters_without_a_token_and_a_silent_service_is_a_sentence() {
    // A governor without authentication; nothing listens where the
    // sync-error service should be.
    let governor = Service::governor(GovernorSettings::default()).await;
    let console = Console::start(ConsoleSettings::local(
        "127.0.0.1:0".parse().unwrap(),
        &governor.addr().to_string(),
        &free_addr().to_string(),
    ))
    .await;
    let mut client = console.client();
    // The probes' address answers without a session, whatever the
    // services do: a service down does not take the console out of its
    // Service.
    let probe = client.get("/healthz").await;
    assert_eq!(probe.status, 200, "{}", probe.body);
    assert_eq!(probe.body, "ok\n");
    assert!(probe.set_cookie("syncgov_session").is_none());
    let entered = client.sign_in(None).await;
    assert_eq!(entered.status, 303, "{}", entered.body);
    let fleet = client.follow(&entered).await;
    assert!(
        fleet
            .body
            .contains("the services run without authentication"),
        "{}",
        fleet.body
    );
    // The governor's tables are there; the error table says why it is not.
    assert!(fleet.body.contains("No org has a budget yet."));
    assert!(
        fleet
            .body
            .contains("The sync-error service is not answering; try again in a minute.")
    );

    let health = client.get("/orgs/acme/health").await;
    assert_eq!(health.status, 200);
    assert!(
        health
            .body
            .contains("The sync-error service is not answering; try again in a minute."),
        "{}",
        health.body
    );
    for raw in ["Unavailable", "transport error", "tcp connect", "status:"] {
        assert!(!health.body.contains(raw), "{raw} shown: {}", health.body);
    }
    // An org without a budget (and no default) says what to do.
    let org = client.get("/orgs/acme").await;
    assert!(org.body.contains("This org has no budget"), "{}", org.body);
}

/// The answer to `request` (raw HTTP/1.1) from the console at `addr` over
/// TLS, trusting `ca`.
async fn https(addr: std::net::SocketAddr, ca: &Path, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};

    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.expect("a TLS handshake");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    // The server may close without a TLS close_notify: what came is enough.
    let _ = tls.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_console_speaks_https_and_its_session_cookie_is_secure() {
    let pki = Pki::new("console");
    let server = pki.issue("console", &["localhost", "127.0.0.1"]);
    let governor = Service::governor(GovernorSettings::default()).await;
    let console = Console::start(ConsoleSettings {
        tls_cert: Some(server.cert.clone()),
        tls_key: Some(server.key.clone()),
        ..ConsoleSettings::local(
            "127.0.0.1:0".parse().unwrap(),
            &governor.addr().to_string(),
            &free_addr().to_string(),
        )
    })
    .await;
    let form = https(
        console.addr,
        &pki.ca(),
        "GET /sign-in HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(form.starts_with("HTTP/1.1 200"), "{form}");
    let lower = form.to_ascii_lowercase();
    assert!(
        lower.contains("strict-transport-security: max-age=31536000"),
        "{form}"
    );
    let cookie_line = form
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: syncgov_sign_in=")
        })
        .expect("the sign-in form's cookie");
    assert!(cookie_line.ends_with("; Secure"), "{cookie_line}");
    let pair = cookie_line["set-cookie: ".len()..]
        .split(';')
        .next()
        .unwrap();
    let marker = r#"name="csrf" value=""#;
    let csrf = form[form.find(marker).unwrap() + marker.len()..]
        .split('"')
        .next()
        .unwrap();
    let body = format!("csrf={csrf}&without_token=1");
    let signed_in = https(
        console.addr,
        &pki.ca(),
        &format!(
            "POST /sign-in HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie: {pair}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(signed_in.starts_with("HTTP/1.1 303"), "{signed_in}");
    let session = signed_in
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: syncgov_session=")
        })
        .expect("a session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"));
    assert!(session.ends_with("; Secure"), "{session}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_turns_notifications_on_and_the_secret_is_never_shown() {
    let bench = Bench::start().await;
    let mut ops = bench.client();
    ops.sign_in(Some(OPERATOR)).await;
    let page = ops.get("/orgs/acme/notifications").await;
    assert_eq!(page.status, 200);
    assert!(
        !page
            .body
            .contains(r#"id="enabled" name="enabled" value="1" checked"#)
    );
    let csrf = page.csrf();
    let secret = "whsec-console-0123456789abcdef";
    let saved = ops
        .post(
            "/orgs/acme/notifications",
            &[
                ("csrf", &csrf),
                ("enabled", "1"),
                ("frequency", "daily"),
                ("webhook_frequency", "default"),
                ("email_frequency", "weekly"),
                ("webhook_url", "https://hooks.example.com/syncgov"),
                ("webhook_secret", secret),
            ],
        )
        .await;
    let shown = ops.follow(&saved).await;
    assert!(
        shown.body.contains("Error notifications of acme are on."),
        "{}",
        shown.body
    );
    assert!(shown.body.contains(r#"value="daily" checked"#));
    assert!(
        shown.body.contains(r#"<option value="weekly" selected>"#)
            && shown.body.contains(r#"<option value="default" selected>"#),
        "each channel's frequency shows: {}",
        shown.body
    );
    assert!(shown.body.contains("one is set; leave empty to keep it"));
    assert!(!shown.body.contains(secret), "the secret is never shown");
    let stored = bench
        .sync_errors_as(ADMIN)
        .await
        .get_notification_settings(errors::GetNotificationSettingsRequest {
            org_id: "acme".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let settings = stored.settings.unwrap();
    assert!(settings.enabled && stored.webhook_secret_set);
    assert_eq!(
        settings.frequency,
        errors::NotificationFrequency::Daily as i32
    );
    assert_eq!(
        (settings.webhook_frequency, settings.email_frequency),
        (
            errors::NotificationFrequency::Unspecified as i32,
            errors::NotificationFrequency::Weekly as i32
        )
    );
    assert_eq!(settings.webhook_url, "https://hooks.example.com/syncgov");

    // A bad address is refused by the service, said in words, and changes nothing.
    let refused = ops
        .post(
            "/orgs/acme/notifications",
            &[
                ("csrf", &csrf),
                ("enabled", "1"),
                ("webhook_url", "ftp://x"),
            ],
        )
        .await;
    let shown = ops.follow(&refused).await;
    assert!(
        shown
            .body
            .contains("The sync-error service refused this: settings.webhook_url"),
        "{}",
        shown.body
    );
    // A worker may not read them.
    let mut worker = bench.client();
    worker.sign_in(Some(WORKER)).await;
    let page = worker.get("/orgs/acme/notifications").await;
    assert!(
        page.body
            .contains("You may not see or change the notifications of this org")
    );
    assert!(!page.body.contains("hooks.example.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consoles_sharing_a_session_secret_share_sessions_and_a_bad_secret_stops_the_binary() {
    let dir = syncgov_tests::TempDir::new("console-secret");
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "0123456789abcdef0123456789abcdef-shared\n").unwrap();
    let governor = Service::governor(GovernorSettings::default()).await;
    let settings = || ConsoleSettings {
        session_secret_file: Some(secret.clone()),
        ..ConsoleSettings::local(
            "127.0.0.1:0".parse().unwrap(),
            &governor.addr().to_string(),
            &free_addr().to_string(),
        )
    };
    let (one, two) = (
        Console::start(settings()).await,
        Console::start(settings()).await,
    );
    let mut client = one.client();
    assert_eq!(client.sign_in(None).await.status, 303);
    let mut other = two.client();
    other.cookies = client.cookies.clone();
    let page = other.get("/fleet").await;
    assert_eq!(page.status, 200, "the second replica knows the session");
    // A console with its own random key does not.
    let three = Console::start(ConsoleSettings::local(
        "127.0.0.1:0".parse().unwrap(),
        &governor.addr().to_string(),
        &free_addr().to_string(),
    ))
    .await;
    let mut stranger = three.client();
    stranger.cookies = client.cookies.clone();
    assert_eq!(stranger.get("/fleet").await.status, 303);

    // A short secret, or a missing file, stops the binary before it listens.
    let short = dir.path().join("short");
    std::fs::write(&short, "too short").unwrap();
    for (file, says) in [
        (short.to_str().unwrap(), "32 bytes or more"),
        ("/nonexistent/secret", "No such file"),
    ] {
        let out = std::process::Command::new(syncgov_tests::binary("syncgov-console"))
            .args(["--listen", "127.0.0.1:0", "--session-secret-file", file])
            .output()
            .expect("run syncgov-console");
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty(), "nothing listened");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--session-secret-file") && stderr.contains(says),
            "{stderr}"
        );
    }
}

async fn the_fleet_pages_through_every_org_and_refuses_a_forged_page_token_in_words(
    backend: Backend,
) {
    let bench = Bench::on(backend).await;
    let mut admin_grpc = bench.governor_as(ADMIN).await;
    for i in 0..25 {
        admin_grpc
            .set_budget(syncgov_api::quota::v1::SetBudgetRequest {
                expected_revision: String::new(),
                org_id: format!("fleet-{i:02}"),
                resource: syncgov_api::quota::v1::Resource::ApiRequests as i32,
                budget: Some(syncgov_api::quota::v1::Budget {
                    org_limit: 1_000,
                    allocation: 100,
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
    }
    let mut admin = bench.client();
    admin.sign_in(Some(ADMIN)).await;
    let mut seen = std::collections::BTreeSet::new();
    let mut page = admin.get("/fleet").await;
    let mut pages = 0;
    loop {
        pages += 1;
        let table = page
            .body
            .split(r#"<table id="usage">"#)
            .nth(1)
            .and_then(|t| t.split("</table>").next())
            .expect("the usage table");
        for row in table.split(r#"<tr><td><a href="/orgs/"#).skip(1) {
            let org = row.split('"').next().unwrap().to_owned();
            assert!(seen.insert(org.clone()), "{org} listed twice");
        }
        let Some(next) = page
            .body
            .split(r#"<p><a href=""#)
            .filter_map(|s| s.split('"').next())
            .find(|href| href.contains("usage_page="))
            .map(|href| href.replace("&amp;", "&"))
        else {
            break;
        };
        page = admin.get(&next).await;
        assert!(pages < 10, "the pages end");
    }
    assert_eq!(pages, 2, "28 orgs at 20 a page");
    assert_eq!(seen.len(), 28, "every org once: {seen:?}");

    // The error table's order: what nothing recognised lists no org here.
    let current = admin.get("/fleet?errors_order=current").await;
    assert!(
        current
            .body
            .contains(r#"<a href="/orgs/acme/health">acme</a>"#)
    );
    let unknown = admin.get("/fleet?errors_order=unknown").await;
    assert!(
        unknown.body.contains("No org has unrecognised errors."),
        "{}",
        unknown.body
    );
    assert!(
        unknown
            .body
            .contains(r#"<option value="unknown" selected>"#)
    );
    let bad = admin.get("/fleet?errors_order=loudest").await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body
            .contains("errors_order: one of current, dead, unknown")
    );

    let forged = admin.get("/fleet?usage_page=forged-token").await;
    assert_eq!(forged.status, 200);
    assert!(
        forged
            .body
            .contains("The quota governor refused this: page_token"),
        "{}",
        forged.body
    );
    let junk = admin.get("/fleet?usage_page=a%20b").await;
    assert_eq!(junk.status, 400);
    assert!(
        junk.body
            .contains("usage_page: not a page token this console gave")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_kept_serves_the_console_until_sigterm() {
    use std::io::BufRead;
    let mut demo = std::process::Command::new(syncgov_tests::binary("syncgov-demo"))
        .args([
            "--duration",
            "6s",
            "--keep",
            "--console-listen",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the demo");
    let stderr = demo.stderr.take().unwrap();
    // The line naming the console comes once the run's summary is printed.
    let line = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.starts_with("the web console: "))
    })
    .await
    .unwrap()
    .expect("the demo names its console");
    let addr: std::net::SocketAddr = line
        .trim_start_matches("the web console: http://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .expect("an address");
    let console = syncgov_tests::console::Client::at(addr);
    let mut client = console;
    assert_eq!(client.sign_in(None).await.status, 303);
    let fleet = client.get("/fleet").await;
    assert!(
        fleet
            .body
            .contains(r#"<a href="/orgs/acme-corp">acme-corp</a>"#),
        "{}",
        fleet.body
    );
    let status = std::process::Command::new("kill")
        .args(["-TERM", &demo.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = demo.wait().unwrap();
    assert!(
        exit.success(),
        "the demo stops cleanly on SIGTERM: {exit:?}"
    );
}
