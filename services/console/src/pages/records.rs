//! The records with a current error of one type.

use super::*;

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
