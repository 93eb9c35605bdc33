//! An org's API call use, allocation and suspensions, and the actions on
//! them: clear a suspension, change the allocation, set or end an override.

use super::*;

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
    /// What the page shows, carried back by its forms so that a change made
    /// meanwhile by someone else is refused, not overwritten.
    pub seen: crate::stale::Seen,
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    layout: Layout,
    org: String,
    usage: Option<UsageView>,
    budget: Option<BudgetView>,
    suspensions: Option<Vec<SuspensionView>>,
    history: Option<HistoryView>,
    history_page: u32,
    problems: Vec<String>,
    max_hours: u64,
}

/// Suspension events shown per page of the history.
const HISTORY_PAGE: u32 = 20;

/// The org's suspension history as the page shows it.
pub struct HistoryView {
    /// One row per suspension, newest first.
    pub rows: Vec<crate::history::Row>,
    /// The address of the older events; empty when there are none.
    pub older: String,
    /// Whether this is a page of older events (a link back to the newest).
    pub paged: bool,
}

/// The org's history page `before` (a page token; empty: the newest), with
/// who cleared what where the person may read the audit trail.
async fn history(
    mut governor: quota::quota_governor_client::QuotaGovernorClient<syncgov_kit::auth::AuthChannel>,
    org: &str,
    before: String,
) -> Result<HistoryView, Status> {
    let paged = !before.is_empty();
    let page = governor
        .list_suspension_history(quota::ListSuspensionHistoryRequest {
            org_id: org.to_owned(),
            page_size: HISTORY_PAGE,
            page_token: before,
        })
        .await?
        .into_inner();
    // The audit records of the page's clears by a person, over their span
    // (they are written just after the clear); refused to workers, who then
    // read "by a person". A page without such a clear asks for none.
    let span = page
        .events
        .iter()
        .filter(|e| e.kind == quota::SuspensionEventKind::Cleared as i32 && !e.automatic)
        .filter_map(|e| e.at.as_ref().map(|t| t.seconds))
        .fold(None, |span: Option<(i64, i64)>, at| {
            Some(span.map_or((at, at), |(from, to)| (from.min(at), to.max(at))))
        });
    let clears = match span {
        Some((from, to)) => governor
            .list_audit_events(quota::ListAuditEventsRequest {
                org_id: org.to_owned(),
                action: "ClearSuspension".into(),
                from: Some(prost_types::Timestamp {
                    seconds: from - 1,
                    nanos: 0,
                }),
                to: Some(prost_types::Timestamp {
                    seconds: to + 60,
                    nanos: 0,
                }),
                page_size: 1_000,
                ..Default::default()
            })
            .await
            .ok()
            .map(|r| r.into_inner().events),
        None => Some(Vec::new()),
    };
    Ok(HistoryView {
        rows: crate::history::rows(&page.events, clears.as_deref(), !paged),
        older: if page.next_page_token.is_empty() {
            String::new()
        } else {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("history_page", &page.next_page_token)
                .finish();
            format!("/orgs/{org}?{query}#history-h")
        },
        paged,
    })
}

/// An org's API call use, budget and suspensions.
pub async fn org(
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
    let before = match forms::page_token("history_page", q.get("history_page")) {
        Ok(t) => t,
        Err(e) => {
            let page = layout(&state, &headers, Some(session), "Bad request");
            return problem(&state, page, StatusCode::BAD_REQUEST, format!("{e}."));
        }
    };
    let governor = state.backend.governor(&session);
    let (mut g1, mut g2, mut g3, g4) = (
        governor.clone(),
        governor.clone(),
        governor.clone(),
        governor,
    );
    let (usage, budget, suspensions, past) = tokio::join!(
        g1.get_usage(quota::GetUsageRequest {
            org_id: org.clone(),
            resource: quota::Resource::ApiRequests as i32,
            ..Default::default()
        }),
        g2.get_budget(quota::GetBudgetRequest {
            org_id: org.clone(),
            resource: quota::Resource::ApiRequests as i32,
        }),
        g3.list_suspensions(quota::ListSuspensionsRequest {
            org_id: org.clone(),
            ..Default::default()
        }),
        history(g4, &org, before),
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
        Ok(r) => {
            let r = r.into_inner();
            let revision = r.revision;
            r.budget.map(|b| BudgetView {
                seen: crate::stale::Seen::of(&b, &revision),
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
            })
        }
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
    let history = match past {
        Ok(h) => Some(h),
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
            history,
            history_page: HISTORY_PAGE,
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
    let (current, revision) = match governor
        .get_budget(quota::GetBudgetRequest {
            org_id: org.clone(),
            resource: quota::Resource::ApiRequests as i32,
        })
        .await
    {
        Ok(r) => {
            let r = r.into_inner();
            (r.budget.unwrap_or_default(), r.revision)
        }
        Err(s) => {
            return after_action(
                &state,
                &back,
                refuse(say(Service::Governor, Action::ChangeBudget, &s)),
            );
        }
    };
    // The budget is written back whole: refuse when it is not the one the
    // person saw, rather than overwrite someone else's change. This check
    // gives the refusal its words; the write below is conditional on the
    // revision seen, which refuses a change landing after it.
    let [allocation, override_, seen_revision] = crate::stale::FIELDS.map(|f| fields.get(f));
    let Some(seen) = crate::stale::Seen::parse(allocation, override_, seen_revision) else {
        return after_action(
            &state,
            &back,
            refuse("seen_budget: the form does not say which budget you saw; reload the page and try again.".into()),
        );
    };
    if let Some(changed) = seen.changed(&current, &revision) {
        return after_action(&state, &back, refuse(changed));
    }
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
            expected_revision: seen.revision.clone(),
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
        Err(s) => {
            // Changed between the check above and the write: read it again
            // to name the change as the check would have.
            let again = if s.code() == tonic::Code::FailedPrecondition {
                governor
                    .get_budget(quota::GetBudgetRequest {
                        org_id: org.clone(),
                        resource: quota::Resource::ApiRequests as i32,
                    })
                    .await
                    .ok()
                    .and_then(|r| {
                        let r = r.into_inner();
                        seen.changed(&r.budget.unwrap_or_default(), &r.revision)
                    })
            } else {
                None
            };
            let text = again.unwrap_or_else(|| say(Service::Governor, Action::ChangeBudget, &s));
            after_action(&state, &back, refuse(text))
        }
    }
}
