//! The Sync Health cards of an org: all eight categories, a card per type.

use super::*;

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
