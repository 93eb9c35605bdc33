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
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

use crate::backend::Backend;
use crate::chart::{self, Slice};
use crate::format;
use crate::forms::{self, BadInput, Fields};
use crate::names;
use crate::sentence::{self, Action, Service};
use crate::session::{self, NOTICE_COOKIE, SIGN_IN_COOKIE, Sealer, Session};

/// What every request handler shares.
pub struct State {
    /// The two services.
    pub backend: Backend,
    /// Seals the cookies.
    pub sealer: Sealer,
    /// Whether the console serves HTTPS (cookies are then `Secure`).
    pub secure: bool,
    /// How long a sign-in lasts.
    pub lifetime: Duration,
    /// Sessions signed out on this replica.
    pub revoked: crate::session::Revoked,
}

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

mod error_list;
mod fleet;
mod health;
mod notifications;
mod org;
mod records;
mod sign_in;

pub use error_list::{errors, export, resync};
pub use fleet::fleet;
pub use health::health;
pub use notifications::{notifications, save_notifications};
pub use org::{budget, clear, org};
pub use records::records;
pub use sign_in::{home, sign_in, sign_in_page, sign_out};

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
    let session = state.sealer.open_session(sealed, now())?;
    (!state.revoked.is_revoked(&session)).then_some(session)
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

/// Reads the form of a post and checks its CSRF token.
fn posted(state: &State, headers: &HeaderMap, body: &Bytes) -> Result<(Session, Fields), Response> {
    let session = require(state, headers)?;
    let fields = Fields::parse(body);
    if !csrf_ok(&session, &fields) {
        return Err(csrf_refused(state, headers, Some(session)));
    }
    Ok((session, fields))
}

/// The stylesheet, compiled in: nothing is fetched from elsewhere.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/console.css"),
    )
        .into_response()
}

/// The probes' address: 200 while the console serves. It calls neither
/// service, so a service that is down does not take the console out of
/// its Service (the pages then say the service is not answering).
pub async fn healthz() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
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
