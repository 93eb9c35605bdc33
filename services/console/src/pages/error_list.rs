//! An org's errors, filtered and searched; resync of the ticked ones (at
//! most 100); the CSV export streamed from the service.

use super::*;

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
