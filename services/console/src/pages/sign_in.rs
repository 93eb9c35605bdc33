//! Signing in and out: the sign-in form (with a token of its own, as no
//! session exists yet), the check that the services take the pasted token,
//! and the sealed session cookie.

use super::*;

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
    state.revoked.revoke(&session, now());
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
