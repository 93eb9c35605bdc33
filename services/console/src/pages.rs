//! The pages: each handler reads and bounds what the browser sent
//! (`forms`), calls the services as the signed-in person (`backend`), and
//! renders a template. Every action is a form post that carries the
//! session's CSRF token and is answered by a redirect with a one-time
//! notice saying what happened; a service's refusal becomes a sentence
//! (`sentence`), never a status code.

// The helpers' error is the response a handler returns at once (a redirect
// to sign in, a refusal page), once per request: boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use syncgov_api::quota::v1 as quota;
use syncgov_api::syncerrors::v1 as errors;
use syncgov_taxonomy::{Category, ErrorType, SuspensionReason};
use tokio_stream::StreamExt;
use tonic::Status;

use crate::app::State;
use crate::chart::{self, Slice};
use crate::format;
use crate::forms::{self, BadInput, Fields};
use crate::names;
use crate::sentence::{self, Action, Service};
use crate::session::{self, NOTICE_COOKIE, SIGN_IN_COOKIE, Session};

/// The handlers' view of the shared state.
type Shared = axum::extract::State<Arc<State>>;

/// Rows per page of the fleet's tables.
const FLEET_PAGE: u32 = 20;
/// Orgs read to fill the suspension and error columns of the fleet.
const FLEET_JOIN: u32 = 1_000;
/// Errors per page of the error list.
const ERRORS_PAGE: u32 = 50;
/// Errors searched for a record id (the newest first).
const SEARCH_LIMIT: usize = 2_000;
/// How long the sign-in form stays good.
const SIGN_IN_FORM_SECS: u64 = 3_600;

/// Seconds since the Unix epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

// ---------------------------------------------------------------- layout

/// What every page shows around its content.
pub struct Layout {
    /// The page's title.
    pub title: String,
    /// The signed-in person, when someone is.
    pub session: Option<Session>,
    /// A one-time message from the last action.
    pub notice: Option<Notice>,
    /// The org the page is about, for the org's tabs.
    pub org: Option<String>,
    /// Which tab is open: `usage`, `health` or `errors`.
    pub tab: &'static str,
}

impl Layout {
    /// The session's CSRF token, for forms.
    pub fn csrf(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.csrf.as_str())
    }

    /// How the signed-in credential is named in the header.
    pub fn who(&self) -> String {
        self.session
            .as_ref()
            .map_or_else(String::new, Session::credential_hint)
    }
}

/// A message shown once after an action.
#[derive(Clone, Debug)]
pub struct Notice {
    /// True when the action was refused or failed.
    pub error: bool,
    /// The sentence.
    pub text: String,
}

/// The signed-in person, or the redirect to the sign-in page.
fn require(state: &State, headers: &HeaderMap) -> Result<Session, Response> {
    session_of(state, headers).ok_or_else(|| see_other("/sign-in", Vec::new()))
}

fn session_of(state: &State, headers: &HeaderMap) -> Option<Session> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let sealed = session::cookie(cookies, session::COOKIE)?;
    state.sealer.open_session(sealed, now())
}

/// The notice left by the last action, if any.
fn notice_of(state: &State, headers: &HeaderMap) -> Option<Notice> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let sealed = session::cookie(cookies, NOTICE_COOKIE)?;
    let text = state.sealer.open(NOTICE_COOKIE, sealed)?;
    let (kind, text) = text.split_once('\n')?;
    Some(Notice {
        error: kind == "error",
        text: text.to_owned(),
    })
}

/// A layout for `session`'s page, taking the pending notice.
fn layout(
    state: &State,
    headers: &HeaderMap,
    session: Option<Session>,
    title: impl Into<String>,
) -> Layout {
    Layout {
        title: title.into(),
        session,
        notice: notice_of(state, headers),
        org: None,
        tab: "",
    }
}

/// A 303 to `to`, with extra `Set-Cookie` values.
fn see_other(to: &str, cookies: Vec<String>) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response();
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A 303 to `to` that leaves a notice for the next page.
fn after_action(state: &State, to: &str, notice: Notice) -> Response {
    let kind = if notice.error { "error" } else { "ok" };
    let text: String = notice.text.chars().take(600).collect();
    let sealed = state.sealer.seal(NOTICE_COOKIE, &format!("{kind}\n{text}"));
    see_other(
        to,
        vec![session::set_cookie(
            NOTICE_COOKIE,
            &sealed,
            60,
            state.secure,
        )],
    )
}

/// Renders `page` with `status`; the notice it showed is removed.
fn render(state: &State, status: StatusCode, page: &impl Template, shown_notice: bool) -> Response {
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>This page could not be shown; try again.</p>".to_owned()),
            )
                .into_response()
        }
    };
    if shown_notice
        && let Ok(value) =
            HeaderValue::from_str(&session::set_cookie(NOTICE_COOKIE, "", 0, state.secure))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A page that only says something went wrong, and what to do.
#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage {
    layout: Layout,
    message: String,
}

fn problem(state: &State, layout: Layout, status: StatusCode, message: String) -> Response {
    let shown = layout.notice.is_some();
    render(state, status, &ProblemPage { layout, message }, shown)
}

/// A bad value in the URL or a form, as a 400 page naming the field.
fn bad_input(state: &State, layout: Layout, e: &BadInput) -> Response {
    problem(state, layout, StatusCode::BAD_REQUEST, format!("{e}."))
}

/// The form's CSRF token matches the session's.
fn csrf_ok(session: &Session, fields: &Fields) -> bool {
    session::same_secret(&session.csrf, fields.get("csrf"))
}

/// The refusal of a form that did not come from the console's own page.
fn csrf_refused(state: &State, headers: &HeaderMap, session: Option<Session>) -> Response {
    let layout = layout(state, headers, session, "Form refused");
    problem(
        state,
        layout,
        StatusCode::FORBIDDEN,
        "This form has expired or did not come from this console; go back, reload the page and try again.".into(),
    )
}

fn say(service: Service, action: Action, status: &Status) -> String {
    sentence::of_status(service, action, status.code(), status.message())
}

// ---------------------------------------------------------------- sign-in

/// `/`: the fleet, or the sign-in page.
pub async fn home(state: Shared, headers: HeaderMap) -> Response {
    match session_of(&state, &headers) {
        Some(_) => see_other("/fleet", Vec::new()),
        None => see_other("/sign-in", Vec::new()),
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    layout: Layout,
    form_token: String,
    error: Option<String>,
}

/// The sign-in form, with a fresh token in a cookie of its own that the
/// form must echo (no session exists yet to hold one).
pub async fn sign_in_page(state: Shared, headers: HeaderMap) -> Response {
    if session_of(&state, &headers).is_some() {
        return see_other("/fleet", Vec::new());
    }
    sign_in_form(&state, &headers, None, StatusCode::OK)
}

fn sign_in_form(
    state: &State,
    headers: &HeaderMap,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let form_token = session::random_token();
    let layout = layout(state, headers, None, "Sign in");
    let shown = layout.notice.is_some();
    let mut response = render(
        state,
        status,
        &SignInPage {
            layout,
            form_token: form_token.clone(),
            error,
        },
        shown,
    );
    let cookie = session::set_cookie(SIGN_IN_COOKIE, &form_token, SIGN_IN_FORM_SECS, state.secure);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Signs in with a pasted token (or none, when the services run without
/// authentication), after asking the governor whether it accepts it.
pub async fn sign_in(state: Shared, headers: HeaderMap, body: Bytes) -> Response {
    let fields = Fields::parse(&body);
    let expected = headers
        .get(header::COOKIE)
        .and_then(|c| c.to_str().ok())
        .and_then(|c| session::cookie(c, SIGN_IN_COOKIE))
        .unwrap_or_default();
    if !session::same_secret(expected, fields.get("csrf")) {
        return csrf_refused(&state, &headers, None);
    }
    let token = if fields.get("without_token") == "1" {
        String::new()
    } else {
        match session::parse_token(fields.get("token")) {
            Ok(token) => token,
            Err(e) => {
                return sign_in_form(
                    &state,
                    &headers,
                    Some(format!("{e}.")),
                    StatusCode::BAD_REQUEST,
                );
            }
        }
    };
    let session = Session::new(token, now(), state.lifetime.as_secs());
    // Any call every role may make tells whether the services take the token.
    let check = state
        .backend
        .governor(&session)
        .list_usage(quota::ListUsageRequest {
            page_size: 1,
            ..Default::default()
        })
        .await;
    if let Err(status) = check {
        let message = match (status.code(), session.anonymous()) {
            (tonic::Code::Unauthenticated, true) => {
                "The services require a token: paste the one you were given.".to_owned()
            }
            (tonic::Code::Unauthenticated, false) => {
                "The services did not accept this token (it may have expired or been revoked)."
                    .to_owned()
            }
            // Any role may list usage; a refusal still means the token is known.
            (tonic::Code::PermissionDenied, _) => String::new(),
            _ => say(Service::Governor, Action::SeeFleet, &status),
        };
        if !message.is_empty() {
            return sign_in_form(&state, &headers, Some(message), StatusCode::UNAUTHORIZED);
        }
    }
    let sealed = state.sealer.seal_session(&session);
    see_other(
        "/fleet",
        vec![
            session::set_cookie(
                session::COOKIE,
                &sealed,
                state.lifetime.as_secs(),
                state.secure,
            ),
            session::set_cookie(SIGN_IN_COOKIE, "", 0, state.secure),
        ],
    )
}

/// Signs out: the session cookie is removed.
pub async fn sign_out(state: Shared, headers: HeaderMap, body: Bytes) -> Response {
    let fields = Fields::parse(&body);
    let session = match require(&state, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !csrf_ok(&session, &fields) {
        return csrf_refused(&state, &headers, Some(session));
    }
    let notice = Notice {
        error: false,
        text: "You are signed out.".into(),
    };
    let mut response = after_action(&state, "/sign-in", notice);
    if let Ok(value) =
        HeaderValue::from_str(&session::set_cookie(session::COOKIE, "", 0, state.secure))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

// ---------------------------------------------------------------- fleet

/// One suspended org of the fleet.
pub struct SuspendedRow {
    /// The org.
    pub org: String,
    /// The reason in words.
    pub reason: String,
    /// The reason's code.
    pub code: String,
    /// Since when.
    pub since: String,
    /// How it ends.
    pub clearing: String,
    /// Current errors, when known.
    pub errors: String,
    /// Dead resync jobs, when known.
    pub dead: String,
}

/// One org of the fleet's usage table.
pub struct UsageRow {
    /// The org.
    pub org: String,
    /// Calls used.
    pub used: String,
    /// The allocation in force.
    pub allocation: String,
    /// The larger share used, as text.
    pub share: String,
    /// The same, 0 to 100, for the bar.
    pub bar: u64,
    /// Suspension reasons in words, when suspended.
    pub suspended: String,
    /// Current errors, when known.
    pub errors: String,
    /// Dead resync jobs, when known.
    pub dead: String,
}

/// One org of the fleet's error table.
pub struct ErrorsRow {
    /// The org.
    pub org: String,
    /// Current errors.
    pub errors: String,
    /// Impacted records.
    pub records: String,
    /// Dead resync jobs.
    pub dead: String,
    /// Errors nothing recognised.
    pub unknown: String,
}

#[derive(Template)]
#[template(path = "fleet.html")]
struct FleetPage {
    layout: Layout,
    reasons: Vec<(String, String)>,
    reason: String,
    suspended: Vec<SuspendedRow>,
    suspended_next: String,
    usage: Vec<UsageRow>,
    usage_next: String,
    top: Vec<ErrorsRow>,
    top_next: String,
    problems: Vec<String>,
}

/// A link to the next page of one fleet table.
fn fleet_link(reason: &str, param: &str, token: &str) -> String {
    if token.is_empty() {
        return String::new();
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    if !reason.is_empty() {
        query.append_pair("reason", reason);
    }
    query.append_pair(param, token);
    format!("/fleet?{}", query.finish())
}

/// Every org the person may see, in three views: the suspended, the
/// nearest their allocation, and those with the most sync errors.
pub async fn fleet(state: Shared, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let session = match require(&state, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q = Fields::parse(query.unwrap_or_default().as_bytes());
    let page = layout(&state, &headers, Some(session.clone()), "Fleet");
    let parsed = (|| {
        Ok::<_, BadInput>((
            forms::reason("reason", q.get("reason"))?,
            forms::page_token("suspended_page", q.get("suspended_page"))?,
            forms::page_token("usage_page", q.get("usage_page"))?,
            forms::page_token("errors_page", q.get("errors_page"))?,
        ))
    })();
    let (reason, suspended_page, usage_page, errors_page) = match parsed {
        Ok(p) => p,
        Err(e) => return bad_input(&state, page, &e),
    };
    let mut governor = state.backend.governor(&session);
    let mut sync_errors = state.backend.sync_errors(&session);
    let mut problems = Vec::new();

    // The columns joined onto the tables: every suspension and the orgs with
    // the most errors, up to FLEET_JOIN of each.
    let (mut g1, mut g2, mut e1) = (governor.clone(), governor.clone(), sync_errors.clone());
    let (all_suspended, top_all) = tokio::join!(
        g1.list_suspensions(quota::ListSuspensionsRequest {
            page_size: FLEET_JOIN,
            ..Default::default()
        }),
        e1.list_top_orgs(errors::ListTopOrgsRequest {
            page_size: FLEET_JOIN,
            ..Default::default()
        }),
    );
    let mut reasons_of: HashMap<String, Vec<String>> = HashMap::new();
    match all_suspended {
        Ok(r) => {
            for s in r.into_inner().suspensions {
                reasons_of
                    .entry(s.org_id)
                    .or_default()
                    .push(names::reason(s.reason));
            }
        }
        Err(s) => problems.push(say(Service::Governor, Action::SeeFleet, &s)),
    }
    let mut counts_of: HashMap<String, errors::OrgErrorCounts> = HashMap::new();
    let mut errors_known = false;
    match top_all {
        Ok(r) => {
            errors_known = true;
            for o in r.into_inner().orgs {
                counts_of.insert(o.org_id.clone(), o);
            }
        }
        Err(s) => problems.push(say(Service::SyncErrors, Action::SeeFleet, &s)),
    }
    let errors_cell = |org: &str| match counts_of.get(org) {
        Some(c) => (format::count(c.current_errors), format::count(c.dead_jobs)),
        None if errors_known => ("0".into(), "0".into()),
        None => ("—".into(), "—".into()),
    };

    let (suspended, usage, top) = tokio::join!(
        governor.list_suspensions(quota::ListSuspensionsRequest {
            reason: reason.map_or(0, SuspensionReason::number),
            page_size: FLEET_PAGE,
            page_token: suspended_page,
            ..Default::default()
        }),
        async {
            if reason.is_some() {
                // Filtered by a reason: the suspended table is the answer.
                return Ok(None);
            }
            g2.list_usage(quota::ListUsageRequest {
                page_size: FLEET_PAGE,
                page_token: usage_page,
                ..Default::default()
            })
            .await
            .map(|r| Some(r.into_inner()))
        },
        async {
            if reason.is_some() {
                return Ok(None);
            }
            sync_errors
                .list_top_orgs(errors::ListTopOrgsRequest {
                    page_size: FLEET_PAGE,
                    page_token: errors_page,
                    ..Default::default()
                })
                .await
                .map(|r| Some(r.into_inner()))
        },
    );
    let reason_code = reason.map_or("", SuspensionReason::code);
    let (suspended, suspended_next) = match suspended {
        Ok(r) => {
            let r = r.into_inner();
            let rows = r
                .suspensions
                .into_iter()
                .map(|s| {
                    let (errors, dead) = errors_cell(&s.org_id);
                    SuspendedRow {
                        reason: names::reason(s.reason),
                        code: names::reason_code(s.reason),
                        since: format::time(s.since.as_ref()),
                        clearing: names::clearing(s.clearing).0.to_owned(),
                        org: s.org_id,
                        errors,
                        dead,
                    }
                })
                .collect();
            (
                rows,
                fleet_link(reason_code, "suspended_page", &r.next_page_token),
            )
        }
        Err(s) => {
            problems.push(say(Service::Governor, Action::SeeFleet, &s));
            (Vec::new(), String::new())
        }
    };
    let (usage, usage_next) = match usage {
        Ok(Some(r)) => {
            let rows = r
                .orgs
                .into_iter()
                .map(|o| {
                    let (errors, dead) = errors_cell(&o.org_id);
                    UsageRow {
                        used: format::count(o.used),
                        allocation: format::count(o.allocation),
                        share: format::percent(o.share_used),
                        bar: format::bar_percent(o.share_used),
                        suspended: reasons_of
                            .get(&o.org_id)
                            .map(|r| r.join(", "))
                            .unwrap_or_default(),
                        org: o.org_id,
                        errors,
                        dead,
                    }
                })
                .collect();
            (rows, fleet_link("", "usage_page", &r.next_page_token))
        }
        Ok(None) => (Vec::new(), String::new()),
        Err(s) => {
            problems.push(say(Service::Governor, Action::SeeFleet, &s));
            (Vec::new(), String::new())
        }
    };
    let (top, top_next) = match top {
        Ok(Some(r)) => {
            let rows = r
                .orgs
                .into_iter()
                .map(|o| ErrorsRow {
                    errors: format::count(o.current_errors),
                    records: format::count(o.impacted_records),
                    dead: format::count(o.dead_jobs),
                    unknown: format::count(o.unknown_errors),
                    org: o.org_id,
                })
                .collect();
            (rows, fleet_link("", "errors_page", &r.next_page_token))
        }
        Ok(None) => (Vec::new(), String::new()),
        Err(s) => {
            problems.push(say(Service::SyncErrors, Action::SeeFleet, &s));
            (Vec::new(), String::new())
        }
    };
    problems.dedup();
    let shown = page.notice.is_some();
    render(
        &state,
        StatusCode::OK,
        &FleetPage {
            layout: page,
            reasons: SuspensionReason::ALL
                .iter()
                .map(|r| (r.code().to_owned(), names::words(r.code())))
                .collect(),
            reason: reason_code.to_owned(),
            suspended,
            suspended_next,
            usage,
            usage_next,
            top,
            top_next,
            problems,
        },
        shown,
    )
}

// ---------------------------------------------------------------- org

/// An org's API call use as the page shows it.
pub struct UsageView {
    /// Calls used in the window.
    pub used: String,
    /// The allocation in force.
    pub allocation: String,
    /// The org's Salesforce limit.
    pub org_limit: String,
    /// Used over allocation.
    pub share: String,
    /// The same for the bar, 0 to 100.
    pub bar: u64,
    /// Remaining per priority: (priority, remaining, its share's limit).
    pub remaining: Vec<(String, String, String)>,
    /// When calls free up and how many.
    pub next_free: String,
    /// The org-wide estimate, all apps, and when it was reported.
    pub org_estimate: String,
    /// The chart.
    pub chart: String,
    /// The window's slices, for the table under the chart.
    pub slices: Vec<(String, String)>,
    /// True when the default budget applies.
    pub is_default: bool,
    /// When the usage was read.
    pub as_of: String,
}

/// A suspension as the org page shows it.
pub struct SuspensionView {
    /// The reason's code (the form's value).
    pub code: String,
    /// The reason in words.
    pub reason: String,
    /// What was seen.
    pub detail: String,
    /// Since when.
    pub since: String,
    /// How it ends.
    pub clearing: String,
    /// Whether a person's Clear makes sense.
    pub clearable: bool,
    /// What to do.
    pub guidance: String,
    /// For a probe: when the next trial call goes.
    pub next_probe: String,
}

/// The budget form's values.
pub struct BudgetView {
    /// The allocation (without an override).
    pub allocation: u64,
    /// The org limit.
    pub org_limit: String,
    /// An active override: its allocation and its end.
    pub override_: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    layout: Layout,
    org: String,
    usage: Option<UsageView>,
    budget: Option<BudgetView>,
    suspensions: Option<Vec<SuspensionView>>,
    problems: Vec<String>,
    max_hours: u64,
}

/// The org from the URL, checked.
fn org_of(
    state: &State,
    headers: &HeaderMap,
    session: &Session,
    raw: &str,
) -> Result<String, Response> {
    forms::org("org", raw)
        .map(|o| o.as_str().to_owned())
        .map_err(|e| {
            let page = layout(state, headers, Some(session.clone()), "Not an org");
            bad_input(state, page, &e)
        })
}

/// An org's API call use, budget and suspensions.
pub async fn org(state: Shared, headers: HeaderMap, Path(raw): Path<String>) -> Response {
    let session = match require(&state, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let org = match org_of(&state, &headers, &session, &raw) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let governor = state.backend.governor(&session);
    let (mut g1, mut g2, mut g3) = (governor.clone(), governor.clone(), governor);
    let (usage, budget, suspensions) = tokio::join!(
        g1.get_usage(quota::GetUsageRequest {
            org_id: org.clone(),
            resource: quota::Resource::ApiRequests as i32,
        }),
        g2.get_budget(quota::GetBudgetRequest {
            org_id: org.clone(),
            resource: quota::Resource::ApiRequests as i32,
        }),
        g3.list_suspensions(quota::ListSuspensionsRequest {
            org_id: org.clone(),
            ..Default::default()
        }),
    );
    let mut problems = Vec::new();
    let now = now() as i64;
    let usage = match usage {
        Ok(r) => Some(usage_view(r.into_inner(), now)),
        Err(s) if s.code() == tonic::Code::NotFound => {
            problems.push("This org has no budget, and no default budget is set: an admin sets one (syncctl budget set).".into());
            None
        }
        Err(s) => {
            problems.push(say(Service::Governor, Action::SeeUsage, &s));
            None
        }
    };
    let budget = match budget {
        Ok(r) => r.into_inner().budget.map(|b| BudgetView {
            allocation: b.allocation,
            org_limit: format::count(b.org_limit),
            override_: b.allocation_override.as_ref().and_then(|o| {
                let active = o.expires_at.as_ref().is_some_and(|t| t.seconds > now);
                active.then(|| {
                    (
                        format::count(o.allocation),
                        format::time(o.expires_at.as_ref()),
                    )
                })
            }),
        }),
        Err(s) if s.code() == tonic::Code::NotFound => None,
        Err(s) => {
            problems.push(say(Service::Governor, Action::SeeUsage, &s));
            None
        }
    };
    let suspensions = match suspensions {
        Ok(r) => Some(
            r.into_inner()
                .suspensions
                .into_iter()
                .map(|s| {
                    let (clearing, clearable) = names::clearing(s.clearing);
                    let guidance = if s.guidance.is_empty() {
                        names::reason_guidance(s.reason).to_owned()
                    } else {
                        s.guidance
                    };
                    SuspensionView {
                        code: names::reason_code(s.reason),
                        reason: names::reason(s.reason),
                        detail: s.detail,
                        since: format::time(s.since.as_ref()),
                        clearing: clearing.to_owned(),
                        clearable,
                        guidance,
                        next_probe: s
                            .next_probe_at
                            .as_ref()
                            .map(|t| format::time(Some(t)))
                            .unwrap_or_default(),
                    }
                })
                .collect(),
        ),
        Err(s) => {
            problems.push(say(Service::Governor, Action::SeeUsage, &s));
            None
        }
    };
    problems.dedup();
    let mut page = layout(
        &state,
        &headers,
        Some(session),
        format!("{org}: API call use"),
    );
    page.org = Some(org.clone());
    page.tab = "usage";
    let shown = page.notice.is_some();
    render(
        &state,
        StatusCode::OK,
        &OrgPage {
            layout: page,
            org,
            usage,
            budget,
            suspensions,
            problems,
            max_hours: forms::MAX_OVERRIDE_HOURS,
        },
        shown,
    )
}

/// GetUsage as the page shows it.
fn usage_view(u: quota::GetUsageResponse, now: i64) -> UsageView {
    let slices: Vec<Slice> = u
        .series
        .iter()
        .map(|p| Slice {
            label: format::time(p.start.as_ref())
                .get(11..16)
                .unwrap_or("")
                .to_owned(),
            calls: p.calls,
        })
        .collect();
    let share = format::share(u.used, u.allocation);
    UsageView {
        used: format::count(u.used),
        allocation: format::count(u.allocation),
        org_limit: format::count(u.org_limit),
        share: format::percent(share),
        bar: format::bar_percent(share),
        remaining: u
            .remaining
            .iter()
            .map(|r| {
                (
                    names::priority(r.priority),
                    format::count(r.remaining),
                    format::count(r.limit),
                )
            })
            .collect(),
        next_free: match &u.next_free_at {
            Some(t) => format!(
                "{} calls {} ({})",
                format::count(u.next_free_calls),
                format::until(Some(t), now),
                format::time(Some(t))
            ),
            None => "No calls are counted in the window.".into(),
        },
        org_estimate: match &u.org_usage_reported_at {
            Some(t) => format!(
                "{} of {} (all apps; last reported {})",
                format::count(u.org_used_estimate),
                format::count(u.org_limit),
                format::time(Some(t))
            ),
            None => "No worker has reported the org's own count yet.".into(),
        },
        chart: chart::usage_svg(&slices, u.allocation),
        slices: slices
            .iter()
            .map(|s| (s.label.clone(), format::count(s.calls)))
            .collect(),
        is_default: u.is_default_budget,
        as_of: format::time(u.as_of.as_ref()),
    }
}

/// Reads the form of a post and checks its CSRF token.
fn posted(state: &State, headers: &HeaderMap, body: &Bytes) -> Result<(Session, Fields), Response> {
    let session = require(state, headers)?;
    let fields = Fields::parse(body);
    if !csrf_ok(&session, &fields) {
        return Err(csrf_refused(state, headers, Some(session)));
    }
    Ok((session, fields))
}

/// Clears one suspension of an org.
pub async fn clear(
    state: Shared,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let (session, fields) = match posted(&state, &headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let org = match org_of(&state, &headers, &session, &raw) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let back = format!("/orgs/{org}");
    let reason = match forms::reason("reason", fields.get("reason")) {
        Ok(Some(r)) => r,
        Ok(None) => {
            return after_action(
                &state,
                &back,
                Notice {
                    error: true,
                    text: "reason: say which suspension to clear.".into(),
                },
            );
        }
        Err(e) => {
            return after_action(
                &state,
                &back,
                Notice {
                    error: true,
                    text: format!("{e}."),
                },
            );
        }
    };
    let words = names::words(reason.code());
    let reply = state
        .backend
        .governor(&session)
        .clear_suspension(quota::ClearSuspensionRequest {
            org_id: org.clone(),
            reason: reason.number(),
        })
        .await;
    let notice = match reply {
        Ok(r) if r.get_ref().cleared => Notice {
            error: false,
            text: format!("The suspension \u{201c}{words}\u{201d} of {org} is cleared."),
        },
        Ok(_) => Notice {
            error: false,
            text: format!("{org} was not suspended for \u{201c}{words}\u{201d}: nothing to clear."),
        },
        Err(s) => Notice {
            error: true,
            text: say(Service::Governor, Action::ClearSuspension, &s),
        },
    };
    after_action(&state, &back, notice)
}

/// Changes an org's allocation, or sets or ends an override.
pub async fn budget(
    state: Shared,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let (session, fields) = match posted(&state, &headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let org = match org_of(&state, &headers, &session, &raw) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let back = format!("/orgs/{org}");
    let refuse = |text: String| Notice { error: true, text };
    let mut governor = state.backend.governor(&session);
    let current = match governor
        .get_budget(quota::GetBudgetRequest {
            org_id: org.clone(),
            resource: quota::Resource::ApiRequests as i32,
        })
        .await
    {
        Ok(r) => r.into_inner().budget.unwrap_or_default(),
        Err(s) => {
            return after_action(
                &state,
                &back,
                refuse(say(Service::Governor, Action::ChangeBudget, &s)),
            );
        }
    };
    let mut next = current;
    let done = match fields.get("change") {
        "allocation" => match forms::calls("allocation", fields.get("allocation")) {
            Ok(n) => {
                next.allocation = n;
                format!(
                    "The allocation of {org} is now {} calls per 24 hours.",
                    format::count(n)
                )
            }
            Err(e) => return after_action(&state, &back, refuse(format!("{e}."))),
        },
        "override" => {
            let parsed = forms::calls("override_allocation", fields.get("override_allocation"))
                .and_then(|a| {
                    Ok((
                        a,
                        forms::hours("override_hours", fields.get("override_hours"))?,
                    ))
                });
            match parsed {
                Ok((allocation, hours)) => {
                    let expires = now().saturating_add(hours * 3_600);
                    next.allocation_override = Some(quota::AllocationOverride {
                        allocation,
                        expires_at: Some(prost_types::Timestamp {
                            seconds: expires as i64,
                            nanos: 0,
                        }),
                    });
                    format!(
                        "{org} may use {} calls per 24 hours for the next {hours} hours.",
                        format::count(allocation)
                    )
                }
                Err(e) => return after_action(&state, &back, refuse(format!("{e}."))),
            }
        }
        "end_override" => {
            next.allocation_override = None;
            format!("The override of {org} has ended; its allocation applies again.")
        }
        _ => return after_action(&state, &back, refuse("change: say what to change.".into())),
    };
    match governor
        .set_budget(quota::SetBudgetRequest {
            org_id: org.clone(),
            resource: quota::Resource::ApiRequests as i32,
            budget: Some(next),
        })
        .await
    {
        Ok(_) => after_action(
            &state,
            &back,
            Notice {
                error: false,
                text: done,
            },
        ),
        Err(s) => after_action(
            &state,
            &back,
            refuse(say(Service::Governor, Action::ChangeBudget, &s)),
        ),
    }
}

// ---------------------------------------------------------------- health

/// One card: an error type.
pub struct TypeCard {
    /// The type's code.
    pub code: String,
    /// The type in words.
    pub name: String,
    /// Current errors.
    pub errors: String,
    /// Impacted records.
    pub records: String,
    /// Dead resync jobs.
    pub dead: u64,
    /// What to do.
    pub guidance: String,
}

/// One category and its cards.
pub struct CategoryView {
    /// The category in words.
    pub name: String,
    /// Current errors.
    pub errors: String,
    /// Impacted records.
    pub records: String,
    /// Its types with errors.
    pub types: Vec<TypeCard>,
}

/// A suspension-level failure as the health page lists it.
pub struct EventView {
    /// The reason in words.
    pub reason: String,
    /// Salesforce's status code and message.
    pub what: String,
    /// When.
    pub at: String,
}

#[derive(Template)]
#[template(path = "health.html")]
struct HealthPage {
    layout: Layout,
    org: String,
    errors: String,
    records: String,
    unknown: u64,
    categories: Vec<CategoryView>,
    events: Vec<EventView>,
    delivery_failing: bool,
    problem: Option<String>,
}

/// The Sync Health cards of an org: all eight categories, even when empty.
pub async fn health(state: Shared, headers: HeaderMap, Path(raw): Path<String>) -> Response {
    let session = match require(&state, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let org = match org_of(&state, &headers, &session, &raw) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let reply = state
        .backend
        .sync_errors(&session)
        .get_sync_health(errors::GetSyncHealthRequest {
            org_id: org.clone(),
        })
        .await;
    let mut page = layout(
        &state,
        &headers,
        Some(session),
        format!("{org}: sync health"),
    );
    page.org = Some(org.clone());
    page.tab = "health";
    let shown = page.notice.is_some();
    let view = match reply {
        Ok(r) => {
            let h = r.into_inner();
            let categories = Category::ALL
                .iter()
                .map(|c| {
                    let found = h.categories.iter().find(|x| x.category == c.number());
                    CategoryView {
                        name: names::words(c.code()),
                        errors: format::count(found.map_or(0, |f| f.current_errors)),
                        records: format::count(found.map_or(0, |f| f.impacted_records)),
                        types: found
                            .map(|f| {
                                f.types
                                    .iter()
                                    .map(|t| TypeCard {
                                        code: names::type_code(t.r#type),
                                        name: names::error_type(t.r#type),
                                        errors: format::count(t.current_errors),
                                        records: format::count(t.impacted_records),
                                        dead: t.dead_errors,
                                        guidance: if t.guidance.is_empty() {
                                            ErrorType::from_number(t.r#type)
                                                .map_or("", ErrorType::guidance)
                                                .to_owned()
                                        } else {
                                            t.guidance.clone()
                                        },
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    }
                })
                .collect();
            HealthPage {
                layout: page,
                org,
                errors: format::count(h.current_errors),
                records: format::count(h.impacted_records),
                unknown: h.unknown_errors,
                categories,
                events: h
                    .recent_suspensions
                    .iter()
                    .map(|e| EventView {
                        reason: names::reason(e.reason),
                        what: format!("{} {}", e.status_code, e.message)
                            .chars()
                            .take(300)
                            .collect(),
                        at: format::time(e.occurred_at.as_ref()),
                    })
                    .collect(),
                delivery_failing: h.notification_delivery.is_some_and(|d| d.failing),
                problem: None,
            }
        }
        Err(s) => HealthPage {
            layout: page,
            org,
            errors: String::new(),
            records: String::new(),
            unknown: 0,
            categories: Vec::new(),
            events: Vec::new(),
            delivery_failing: false,
            problem: Some(say(Service::SyncErrors, Action::SeeErrors, &s)),
        },
    };
    render(&state, StatusCode::OK, &view, shown)
}

// ---------------------------------------------------------------- errors

/// The error list's filters, checked.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    /// Type code, or empty.
    pub kind: String,
    /// Object type, or empty.
    pub object: String,
    /// State name, or empty.
    pub state: String,
    /// Record id searched for, or empty.
    pub record: String,
}

impl Filters {
    fn read(q: &Fields) -> Result<(Self, errors::ErrorFilter), BadInput> {
        let t = forms::error_type("type", q.get("type"))?;
        let object = forms::name("object", q.get("object"))?;
        let state = forms::state("state", q.get("state"))?;
        let record = forms::name("record", q.get("record"))?;
        Ok((
            Self {
                kind: t.map_or("", ErrorType::code).to_owned(),
                object: object.clone(),
                state: q.get("state").to_owned(),
                record,
            },
            errors::ErrorFilter {
                r#type: t.map_or(0, ErrorType::number),
                object_type: object,
                state,
                ..Default::default()
            },
        ))
    }

    /// The filters as a query string (without the record search).
    pub fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("type", &self.kind),
            ("object", &self.object),
            ("state", &self.state),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }
}

/// One error of the list.
pub struct ErrorRow {
    /// Its id (the checkbox's value).
    pub id: String,
    /// The Salesforce object.
    pub object: String,
    /// The CRM record id.
    pub record: String,
    /// The Salesforce id.
    pub salesforce_id: String,
    /// The type in words.
    pub kind: String,
    /// The state in words.
    pub state: String,
    /// Salesforce's message, bounded.
    pub message: String,
    /// Latest report.
    pub last_seen: String,
    /// Times reported.
    pub occurrences: String,
}

#[derive(Template)]
#[template(path = "errors.html")]
struct ErrorsPage {
    layout: Layout,
    org: String,
    filters: Filters,
    types: Vec<(String, String)>,
    rows: Vec<ErrorRow>,
    next: String,
    export: String,
    searched: Option<usize>,
    problem: Option<String>,
    max_resync: usize,
}

/// The errors of an org, filtered; with a record id, the newest
/// [`SEARCH_LIMIT`] are searched for it.
pub async fn errors(
    state: Shared,
    headers: HeaderMap,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let session = match require(&state, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let org = match org_of(&state, &headers, &session, &raw) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let q = Fields::parse(query.unwrap_or_default().as_bytes());
    let mut page = layout(
        &state,
        &headers,
        Some(session.clone()),
        format!("{org}: sync errors"),
    );
    page.org = Some(org.clone());
    page.tab = "errors";
    let (filters, filter) = match Filters::read(&q) {
        Ok(f) => f,
        Err(e) => return bad_input(&state, page, &e),
    };
    let mut token = match forms::page_token("page", q.get("page")) {
        Ok(t) => t,
        Err(e) => return bad_input(&state, page, &e),
    };
    let mut client = state.backend.sync_errors(&session);
    let mut rows = Vec::new();
    let mut problem = None;
    let mut scanned = 0usize;
    let mut next = String::new();
    loop {
        let searching = !filters.record.is_empty();
        let reply = client
            .list_errors(errors::ListErrorsRequest {
                org_id: org.clone(),
                filter: Some(filter.clone()),
                page_size: if searching { 500 } else { ERRORS_PAGE },
                page_token: token.clone(),
            })
            .await;
        let reply = match reply {
            Ok(r) => r.into_inner(),
            Err(s) => {
                problem = Some(say(Service::SyncErrors, Action::SeeErrors, &s));
                break;
            }
        };
        scanned += reply.errors.len();
        rows.extend(
            reply
                .errors
                .into_iter()
                .filter(|e| {
                    !searching
                        || e.crm_record_id == filters.record
                        || e.salesforce_id == filters.record
                })
                .map(|e| ErrorRow {
                    kind: e
                        .classification
                        .as_ref()
                        .map_or_else(String::new, |c| names::error_type(c.r#type)),
                    state: names::state(e.state),
                    message: e.message.chars().take(200).collect(),
                    last_seen: format::time(e.last_seen.as_ref()),
                    occurrences: format::count(e.occurrences),
                    id: e.error_id,
                    object: e.object_type,
                    record: e.crm_record_id,
                    salesforce_id: e.salesforce_id,
                }),
        );
        if !searching {
            if !reply.next_page_token.is_empty() {
                let mut link = filters.query();
                if !link.is_empty() {
                    link.push('&');
                }
                link.push_str(
                    &form_urlencoded::Serializer::new(String::new())
                        .append_pair("page", &reply.next_page_token)
                        .finish(),
                );
                next = format!("/orgs/{org}/errors?{link}");
            }
            break;
        }
        if reply.next_page_token.is_empty() || scanned >= SEARCH_LIMIT {
            break;
        }
        token = reply.next_page_token;
    }
    let query = filters.query();
    let export = if query.is_empty() {
        format!("/orgs/{org}/errors.csv")
    } else {
        format!("/orgs/{org}/errors.csv?{query}")
    };
    let searched = (!filters.record.is_empty()).then_some(scanned);
    let shown = page.notice.is_some();
    render(
        &state,
        StatusCode::OK,
        &ErrorsPage {
            layout: page,
            org,
            filters,
            types: ErrorType::ALL
                .iter()
                .map(|t| (t.code().to_owned(), names::words(t.code())))
                .collect(),
            rows,
            next,
            export,
            searched,
            problem,
            max_resync: forms::MAX_RESYNC,
        },
        shown,
    )
}

/// Queues the ticked errors for resync (at most 100).
pub async fn resync(
    state: Shared,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let (session, fields) = match posted(&state, &headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let org = match org_of(&state, &headers, &session, &raw) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let back = match Filters::read(&fields) {
        Ok((f, _)) if !f.query().is_empty() => format!("/orgs/{org}/errors?{}", f.query()),
        _ => format!("/orgs/{org}/errors"),
    };
    let ids = match forms::error_ids("error_id", &fields.all("error_id")) {
        Ok(ids) => ids,
        Err(e) => {
            return after_action(
                &state,
                &back,
                Notice {
                    error: true,
                    text: format!("{e}."),
                },
            );
        }
    };
    let reply = state
        .backend
        .sync_errors(&session)
        .resync_errors(errors::ResyncErrorsRequest {
            org_id: org.clone(),
            error_ids: ids,
        })
        .await;
    let notice = match reply {
        Ok(r) => {
            let results = r.into_inner().results;
            let queued = results.iter().filter(|r| r.skipped.is_empty()).count();
            let mut skipped: Vec<(String, usize)> = Vec::new();
            for r in results.iter().filter(|r| !r.skipped.is_empty()) {
                let why: String = r.skipped.chars().take(60).collect();
                match skipped.iter_mut().find(|(w, _)| *w == why) {
                    Some((_, n)) => *n += 1,
                    None => skipped.push((why, 1)),
                }
            }
            let mut text = format!(
                "{queued} error{} queued for resync.",
                if queued == 1 { "" } else { "s" }
            );
            if !skipped.is_empty() {
                let parts: Vec<String> = skipped
                    .iter()
                    .map(|(why, n)| format!("{n} {why}"))
                    .collect();
                text.push_str(&format!(" Not queued: {}.", parts.join(", ")));
            }
            Notice {
                error: queued == 0,
                text,
            }
        }
        Err(s) => Notice {
            error: true,
            text: say(Service::SyncErrors, Action::Resync, &s),
        },
    };
    after_action(&state, &back, notice)
}

/// The filtered errors as a CSV download, streamed from the service as it
/// writes it. A refusal before the first piece is a page, not a file.
pub async fn export(
    state: Shared,
    headers: HeaderMap,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let session = match require(&state, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let org = match org_of(&state, &headers, &session, &raw) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let q = Fields::parse(query.unwrap_or_default().as_bytes());
    let page = layout(&state, &headers, Some(session.clone()), "Export refused");
    let filter = match Filters::read(&q) {
        Ok((_, f)) => f,
        Err(e) => return bad_input(&state, page, &e),
    };
    let reply = state
        .backend
        .sync_errors(&session)
        .export_errors_csv(errors::ExportErrorsCsvRequest {
            org_id: org.clone(),
            filter: Some(filter),
        })
        .await;
    let mut stream = match reply {
        Ok(r) => r.into_inner(),
        Err(s) => {
            return problem(
                &state,
                page,
                StatusCode::OK,
                say(Service::SyncErrors, Action::Export, &s),
            );
        }
    };
    // The first piece decides between a file and a page.
    let first = match stream.message().await {
        Ok(first) => first.map(|m| m.chunk).unwrap_or_default(),
        Err(s) => {
            return problem(
                &state,
                page,
                StatusCode::OK,
                say(Service::SyncErrors, Action::Export, &s),
            );
        }
    };
    let rest = stream.map(|piece| {
        piece
            .map(|m| Bytes::from(m.chunk))
            .map_err(|s| std::io::Error::other(s.message().to_owned()))
    });
    let body = Body::from_stream(
        tokio_stream::once(Ok::<_, std::io::Error>(Bytes::from(first))).chain(rest),
    );
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"sync-errors-{org}.csv\""))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

// ---------------------------------------------------------------- records

/// A record with a current error of a type.
pub struct RecordRow {
    /// The Salesforce object.
    pub object: String,
    /// The CRM record id.
    pub record: String,
    /// The Salesforce id, if known.
    pub salesforce_id: String,
    /// Latest report.
    pub last_seen: String,
}

#[derive(Template)]
#[template(path = "records.html")]
struct RecordsPage {
    layout: Layout,
    org: String,
    code: String,
    name: String,
    guidance: String,
    rows: Vec<RecordRow>,
    next: String,
    problem: Option<String>,
}

/// The records with a current error of one type ("[#] records" on a card).
pub async fn records(
    state: Shared,
    headers: HeaderMap,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let session = match require(&state, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let org = match org_of(&state, &headers, &session, &raw) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let q = Fields::parse(query.unwrap_or_default().as_bytes());
    let mut page = layout(
        &state,
        &headers,
        Some(session.clone()),
        format!("{org}: affected records"),
    );
    page.org = Some(org.clone());
    page.tab = "health";
    let parsed = (|| {
        let t = forms::error_type("type", q.get("type"))?.ok_or_else(|| BadInput {
            field: "type".into(),
            rule: "say which error type's records to list".into(),
        })?;
        Ok::<_, BadInput>((t, forms::page_token("page", q.get("page"))?))
    })();
    let (kind, token) = match parsed {
        Ok(p) => p,
        Err(e) => return bad_input(&state, page, &e),
    };
    let reply = state
        .backend
        .sync_errors(&session)
        .list_affected_records(errors::ListAffectedRecordsRequest {
            org_id: org.clone(),
            r#type: kind.number(),
            page_size: ERRORS_PAGE,
            page_token: token,
        })
        .await;
    let (rows, next, problem) = match reply {
        Ok(r) => {
            let r = r.into_inner();
            let next = if r.next_page_token.is_empty() {
                String::new()
            } else {
                let query = form_urlencoded::Serializer::new(String::new())
                    .append_pair("type", kind.code())
                    .append_pair("page", &r.next_page_token)
                    .finish();
                format!("/orgs/{org}/records?{query}")
            };
            let rows = r
                .records
                .into_iter()
                .map(|a| RecordRow {
                    last_seen: format::time(a.last_seen.as_ref()),
                    object: a.object_type,
                    record: a.crm_record_id,
                    salesforce_id: a.salesforce_id,
                })
                .collect();
            (rows, next, None)
        }
        Err(s) => (
            Vec::new(),
            String::new(),
            Some(say(Service::SyncErrors, Action::SeeErrors, &s)),
        ),
    };
    let shown = page.notice.is_some();
    render(
        &state,
        StatusCode::OK,
        &RecordsPage {
            layout: page,
            code: kind.code().to_owned(),
            name: names::words(kind.code()),
            guidance: kind.guidance().to_owned(),
            org,
            rows,
            next,
            problem,
        },
        shown,
    )
}

// ---------------------------------------------------------------- notifications

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    layout: Layout,
    org: String,
    enabled: bool,
    frequency: String,
    webhook_url: String,
    secret_set: bool,
    delivery: Option<String>,
    problem: Option<String>,
}

/// An org's error notifications: on or off, how often, where.
pub async fn notifications(state: Shared, headers: HeaderMap, Path(raw): Path<String>) -> Response {
    let session = match require(&state, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let org = match org_of(&state, &headers, &session, &raw) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let reply = state
        .backend
        .sync_errors(&session)
        .get_notification_settings(errors::GetNotificationSettingsRequest {
            org_id: org.clone(),
        })
        .await;
    let mut page = layout(
        &state,
        &headers,
        Some(session),
        format!("{org}: notifications"),
    );
    page.org = Some(org.clone());
    page.tab = "notifications";
    let shown = page.notice.is_some();
    let view = match reply {
        Ok(r) => {
            let r = r.into_inner();
            let settings = r.settings.unwrap_or_default();
            NotificationsPage {
                layout: page,
                org,
                enabled: settings.enabled,
                frequency: forms::frequency_name(settings.frequency).to_owned(),
                webhook_url: settings.webhook_url,
                secret_set: r.webhook_secret_set,
                delivery: r.delivery.map(|d| {
                    if d.failing {
                        format!(
                            "Failing: {} attempts in a row, the last at {} ({}).",
                            d.consecutive_failures,
                            format::time(d.last_failure_at.as_ref()),
                            d.last_failure.chars().take(200).collect::<String>()
                        )
                    } else {
                        format!(
                            "Getting through; the last delivery taken {}.",
                            format::time(d.last_success_at.as_ref())
                        )
                    }
                }),
                problem: None,
            }
        }
        Err(s) => NotificationsPage {
            layout: page,
            org,
            enabled: false,
            frequency: String::new(),
            webhook_url: String::new(),
            secret_set: false,
            delivery: None,
            problem: Some(say(Service::SyncErrors, Action::Notifications, &s)),
        },
    };
    render(&state, StatusCode::OK, &view, shown)
}

/// Saves an org's error notification settings. An empty secret keeps the
/// one set before (the service never reads it back).
pub async fn save_notifications(
    state: Shared,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let (session, fields) = match posted(&state, &headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let org = match org_of(&state, &headers, &session, &raw) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let back = format!("/orgs/{org}/notifications");
    let parsed = (|| {
        Ok::<_, BadInput>(errors::NotificationSettings {
            enabled: fields.get("enabled") == "1",
            frequency: forms::frequency("frequency", fields.get("frequency"))?,
            webhook_url: forms::webhook_url("webhook_url", fields.get("webhook_url"))?,
            webhook_secret: forms::webhook_secret("webhook_secret", fields.get("webhook_secret"))?,
        })
    })();
    let settings = match parsed {
        Ok(s) => s,
        Err(e) => {
            return after_action(
                &state,
                &back,
                Notice {
                    error: true,
                    text: format!("{e}."),
                },
            );
        }
    };
    let enabled = settings.enabled;
    let reply = state
        .backend
        .sync_errors(&session)
        .update_notification_settings(errors::UpdateNotificationSettingsRequest {
            org_id: org.clone(),
            settings: Some(settings),
        })
        .await;
    let notice = match reply {
        Ok(_) if enabled => Notice {
            error: false,
            text: format!("Error notifications of {org} are on."),
        },
        Ok(_) => Notice {
            error: false,
            text: format!("Error notifications of {org} are off."),
        },
        Err(s) => Notice {
            error: true,
            text: say(Service::SyncErrors, Action::Notifications, &s),
        },
    };
    after_action(&state, &back, notice)
}

// ---------------------------------------------------------------- assets

/// The stylesheet, compiled in: nothing is fetched from elsewhere.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/console.css"),
    )
        .into_response()
}

/// Any other path.
pub async fn not_found(state: Shared, headers: HeaderMap) -> Response {
    let session = session_of(&state, &headers);
    let page = layout(&state, &headers, session, "Not found");
    problem(
        &state,
        page,
        StatusCode::NOT_FOUND,
        "There is no page at this address.".into(),
    )
}
