//! The fleet: every org the person may see, in three views (suspended,
//! nearest their allocation, most sync errors), each paged on the
//! services' own page tokens.

use super::*;

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
    errors_order: String,
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
            forms::errors_order("errors_order", q.get("errors_order"))?,
        ))
    })();
    let (reason, suspended_page, usage_page, errors_page, errors_order) = match parsed {
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
            let r = r.into_inner();
            // Every org with errors was read: one missing has none. Else an
            // org missing may lie beyond what was read: unknown here.
            errors_known = r.next_page_token.is_empty();
            for o in r.orgs {
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
                    order_by: errors_order,
                    page_size: FLEET_PAGE,
                    page_token: errors_page,
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
            let next = fleet_link("", "errors_page", &r.next_page_token);
            let next = match forms::errors_order_name(errors_order) {
                // A page token is only good with the order it was given for.
                name if !next.is_empty() && !name.is_empty() => {
                    format!("{next}&errors_order={name}")
                }
                _ => next,
            };
            (rows, next)
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
            errors_order: forms::errors_order_name(errors_order).to_owned(),
            problems,
        },
        shown,
    )
}
