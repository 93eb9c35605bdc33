//! The subcommands at work: each builds its request from the parsed
//! arguments, calls one service, and prints the reply as a table or as JSON.
//! Every gRPC status goes through
//! [`Target::failed`](crate::target::Target::failed), so exit codes are the
//! same everywhere.

use std::io::Write;
use std::time::SystemTime;

use clap::CommandFactory;
use serde_json::json;
use syncgov_api::quota::v1 as quota;
use syncgov_api::syncerrors::v1 as errors;

use crate::cli::{
    BudgetCommand, BudgetKey, BudgetSetArgs, Cli, Command, ErrorsCommand, FilterArgs,
    NotificationsCommand, Resource, Shell, SuspensionsCommand, TopBy,
};
use crate::context::Context;
use crate::error::{Exit, Failure};
use crate::output::{Output, emit, write_stdout, yaml};
use crate::resync::{MAX_PAGE, MAX_RESYNC};
use crate::{json, names, render};

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let ctx = Context::from_cli(&cli);
    match cli.command {
        Command::Budget(c) => budget(&ctx, c).await,
        Command::Usage(a) => match (a.org.or_else(|| default_org(&a.top)), a.top) {
            (Some(org), None) => {
                let key = BudgetKey {
                    org,
                    resource: a.resource,
                };
                usage(&ctx, key, a.consumers).await
            }
            (None, None) => Err(Failure::usage(
                "usage needs --org ORG (or SYNCCTL_ORG) for one org, or --top N for the fleet",
            )),
            (_, top) => usage_top(&ctx, a.resource, top, a.page_token).await,
        },
        Command::Suspensions(c) => suspensions(&ctx, c).await,
        Command::Errors(c) => sync_errors(&ctx, c).await,
        Command::Notifications(c) => notifications(&ctx, c).await,
        Command::Classify(a) => crate::classify::run(&ctx, a.org, a.explain).await,
        Command::Audit(a) => crate::audit::run(&ctx, a).await,
        Command::Completions(a) => completions(a.shell),
    }
}

/// A protobuf timestamp of a system time.
fn timestamp_of(t: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(t)
}

async fn budget(ctx: &Context, command: BudgetCommand) -> Result<(), Failure> {
    match command {
        // A bad file is refused before anything is connected to.
        BudgetCommand::Apply(args) => return crate::apply::apply(ctx, args).await,
        BudgetCommand::Export { resource } => return crate::apply::export(ctx, resource).await,
        _ => {}
    }
    let target = &ctx.governor;
    let mut client = target.governor_client(Some(ctx.timeout)).await?;
    match command {
        BudgetCommand::Get(key) => {
            let reply = client
                .get_budget(quota::GetBudgetRequest {
                    org_id: key.org.clone(),
                    resource: key.resource.number(),
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            let b = reply.budget.unwrap_or_default();
            emit(
                ctx.output,
                format!(
                    "budget of {} ({})\n{}",
                    key.org,
                    key.resource.as_str(),
                    render::budget(&b, reply.is_default, syncgov_kit::clock::now_ms())
                ),
                json!({
                    "org_id": key.org,
                    "resource": key.resource.as_str(),
                    "budget": json::budget(&b),
                    "is_default": reply.is_default,
                }),
            )
        }
        BudgetCommand::Set(args) => {
            let key_org = args.key.org.clone();
            let resource = args.key.resource;
            let request = budget_request(args, SystemTime::now());
            let reply = client
                .set_budget(request)
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            let b = reply.budget.unwrap_or_default();
            emit(
                ctx.output,
                format!(
                    "budget of {key_org} ({}) set\n{}",
                    resource.as_str(),
                    render::budget(&b, false, syncgov_kit::clock::now_ms())
                ),
                json!({
                    "org_id": key_org,
                    "resource": resource.as_str(),
                    "budget": json::budget(&b),
                }),
            )
        }
        BudgetCommand::Delete(BudgetKey { org, resource }) => {
            let reply = client
                .delete_budget(quota::DeleteBudgetRequest {
                    org_id: org.clone(),
                    resource: resource.number(),
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            let text = if reply.deleted {
                format!("deleted the {} budget of {org}\n", resource.as_str())
            } else {
                format!("{org} had no {} budget to delete\n", resource.as_str())
            };
            emit(
                ctx.output,
                text,
                json!({"org_id": org, "resource": resource.as_str(), "deleted": reply.deleted}),
            )
        }
        BudgetCommand::List { resource, page } => {
            let reply = client
                .list_budgets(quota::ListBudgetsRequest {
                    resource: resource.map_or(0, Resource::number),
                    page_size: page.page_size.unwrap_or(0),
                    page_token: page.page_token.unwrap_or_default(),
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            emit(
                ctx.output,
                render::budget_list(&reply, ctx.width),
                json::budget_list(&reply),
            )
        }
        // Answered above, before connecting.
        BudgetCommand::Apply(_) | BudgetCommand::Export { .. } => Ok(()),
    }
}

/// `usage --top N`: the orgs nearest their allocation or org limit.
async fn usage_top(
    ctx: &Context,
    resource: Resource,
    top: Option<u32>,
    page_token: Option<String>,
) -> Result<(), Failure> {
    let target = &ctx.governor;
    let mut client = target.governor_client(Some(ctx.timeout)).await?;
    let reply = client
        .list_usage(quota::ListUsageRequest {
            resource: resource.number(),
            page_size: top.unwrap_or(0),
            page_token: page_token.unwrap_or_default(),
        })
        .await
        .map_err(|s| target.failed(s))?
        .into_inner();
    let mut value = json::usage_list(&reply);
    value["resource"] = json!(resource.as_str());
    emit(
        ctx.output,
        format!(
            "orgs nearest their limits ({})\n{}",
            resource.as_str(),
            render::usage_list(&reply, ctx.width)
        ),
        value,
    )
}

/// The `SetBudget` request `budget set` sends, with `now` for expiries given
/// as a time from now.
pub fn budget_request(args: BudgetSetArgs, now: SystemTime) -> quota::SetBudgetRequest {
    quota::SetBudgetRequest {
        org_id: args.key.org,
        resource: args.key.resource.number(),
        budget: Some(quota::Budget {
            org_limit: args.org_limit,
            allocation: args.allocation,
            shares: args.shares.map(|s| quota::PriorityShares {
                retry_percent: s.retry,
                normal_percent: s.normal,
                critical_percent: s.critical,
            }),
            allocation_override: match (args.override_allocation, args.override_until) {
                (Some(allocation), Some(until)) => Some(quota::AllocationOverride {
                    allocation,
                    expires_at: Some(timestamp_of(until.resolve(now))),
                }),
                _ => None,
            },
            shadow: args.shadow,
            alert_thresholds_percent: args.alert_thresholds,
        }),
        // `budget set` states the whole budget: unconditional.
        expected_revision: String::new(),
    }
}

async fn usage(ctx: &Context, key: BudgetKey, consumers: u32) -> Result<(), Failure> {
    let target = &ctx.governor;
    let mut client = target.governor_client(Some(ctx.timeout)).await?;
    let reply = client
        .get_usage(quota::GetUsageRequest {
            org_id: key.org.clone(),
            resource: key.resource.number(),
            top_consumers: consumers,
        })
        .await
        .map_err(|s| target.failed(s))?
        .into_inner();
    // The org's own budget, for an override beside the allocation it
    // replaces (usage shows only the allocation in force).
    let budget = if reply.is_default_budget {
        None
    } else {
        client
            .get_budget(quota::GetBudgetRequest {
                org_id: key.org.clone(),
                resource: key.resource.number(),
            })
            .await
            .map_err(|s| target.failed(s))?
            .into_inner()
            .budget
    };
    let mut value = json::usage(&reply);
    value["org_id"] = json!(key.org);
    value["resource"] = json!(key.resource.as_str());
    value["budget_allocation"] = json!(budget.as_ref().map(|b| b.allocation));
    value["allocation_override"] =
        render::running_override(&reply, budget.as_ref()).map_or(serde_json::Value::Null, |o| {
            json!({
                "allocation": o.allocation,
                "expires_at": json::timestamp(o.expires_at.as_ref()),
            })
        });
    emit(
        ctx.output,
        format!(
            "usage of {} ({})\n{}",
            key.org,
            key.resource.as_str(),
            render::usage(&reply, budget.as_ref(), ctx.width)
        ),
        value,
    )
}

async fn suspensions(ctx: &Context, command: SuspensionsCommand) -> Result<(), Failure> {
    let target = &ctx.governor;
    match command {
        SuspensionsCommand::List {
            org: Some(org),
            reason,
            ..
        } => {
            let mut client = target.governor_client(Some(ctx.timeout)).await?;
            let reply = client
                .list_suspensions(quota::ListSuspensionsRequest {
                    org_id: org.clone(),
                    reason: reason.unwrap_or(0),
                    ..Default::default()
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            emit(
                ctx.output,
                render::suspensions(&reply.suspensions, ctx.width),
                json!({
                    "org_id": org,
                    "suspensions": reply.suspensions.iter().map(json::suspension).collect::<Vec<_>>(),
                }),
            )
        }
        SuspensionsCommand::List {
            org: None,
            reason,
            page,
            ..
        } => {
            let mut client = target.governor_client(Some(ctx.timeout)).await?;
            let reply = client
                .list_suspensions(quota::ListSuspensionsRequest {
                    org_id: String::new(),
                    reason: reason.unwrap_or(0),
                    page_size: page.page_size.unwrap_or(0),
                    page_token: page.page_token.unwrap_or_default(),
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            emit(
                ctx.output,
                render::suspension_list(&reply, ctx.width),
                json!({
                    "suspensions": reply.suspensions.iter().map(json::suspension).collect::<Vec<_>>(),
                    "next_page_token": reply.next_page_token,
                }),
            )
        }
        SuspensionsCommand::Clear { org, reason } => {
            let mut client = target.governor_client(Some(ctx.timeout)).await?;
            let reply = client
                .clear_suspension(quota::ClearSuspensionRequest {
                    org_id: org.clone(),
                    reason,
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            let text = if reply.cleared {
                format!(
                    "cleared the {} suspension of {org}\n",
                    names::reason(reason)
                )
            } else {
                format!(
                    "{org} was not suspended for {}: nothing to clear\n",
                    names::reason(reason)
                )
            };
            emit(
                ctx.output,
                text,
                json!({"org_id": org, "reason": names::reason(reason), "cleared": reply.cleared}),
            )
        }
        SuspensionsCommand::History {
            org,
            page_size,
            page_token,
        } => {
            let mut client = target.governor_client(Some(ctx.timeout)).await?;
            let newest = page_token.as_deref().is_none_or(str::is_empty);
            let reply = client
                .list_suspension_history(quota::ListSuspensionHistoryRequest {
                    org_id: org.clone(),
                    page_size: page_size.unwrap_or(0),
                    page_token: page_token.unwrap_or_default(),
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            let rows = crate::history::rows(&reply.events, newest);
            emit(
                ctx.output,
                render::history(&rows, &reply.next_page_token, ctx.width),
                json!({
                    "org_id": org,
                    "suspensions": rows.iter().map(json::history_row).collect::<Vec<_>>(),
                    "events": reply.events.iter().map(json::suspension_event).collect::<Vec<_>>(),
                    "next_page_token": reply.next_page_token,
                }),
            )
        }
        SuspensionsCommand::Watch { org, from_cursor } => {
            watch(
                ctx,
                org.unwrap_or_default(),
                from_cursor.unwrap_or_default(),
            )
            .await
        }
    }
}

/// Streams suspension events until Ctrl-C, the reader closing the pipe, or
/// the governor going away (exit 3, with the cursor to resume from).
async fn watch(ctx: &Context, org: String, cursor: String) -> Result<(), Failure> {
    let target = &ctx.governor;
    let mut client = target.governor_client(None).await?;
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let mut stream = tokio::select! {
        reply = client.watch_suspensions(quota::WatchSuspensionsRequest { org_id: org, cursor }) => {
            reply.map_err(|s| target.failed(s))?.into_inner()
        }
        _ = &mut interrupted => return Ok(()),
    };
    let mut last_cursor = None;
    loop {
        let event = tokio::select! {
            event = stream.message() => event,
            _ = &mut interrupted => return Ok(()),
        };
        let event = match event {
            Ok(Some(event)) => event,
            Ok(None) => {
                return Err(Failure::new(
                    Exit::Unreachable,
                    format!(
                        "{} at {} ended the stream{}",
                        target.name,
                        target.url,
                        resume_hint(last_cursor.as_deref())
                    ),
                ));
            }
            Err(status) => {
                let mut failure = target.failed(status);
                failure
                    .message
                    .push_str(&resume_hint(last_cursor.as_deref()));
                return Err(failure);
            }
        };
        let mut line = match ctx.output {
            Output::Table => render::suspension_event(&event),
            Output::Json => json::suspension_event(&event).to_string(),
            Output::Yaml => format!("---\n{}", yaml(&json::suspension_event(&event))?)
                .trim_end()
                .to_owned(),
        };
        line.push('\n');
        let mut stdout = std::io::stdout().lock();
        match stdout
            .write_all(line.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        last_cursor = Some(event.cursor);
    }
}

fn resume_hint(cursor: Option<&str>) -> String {
    match cursor {
        Some(c) => format!("\n(resume with --from-cursor {c})"),
        None => String::new(),
    }
}

async fn sync_errors(ctx: &Context, command: ErrorsCommand) -> Result<(), Failure> {
    let target = &ctx.sync_errors;
    if let ErrorsCommand::Export { org, filter, out } = command {
        return crate::export::run(ctx, org, filter.to_filter(), out).await;
    }
    let mut client = target.sync_errors_client(Some(ctx.timeout)).await?;
    match command {
        ErrorsCommand::Health { org } => {
            let reply = client
                .get_sync_health(errors::GetSyncHealthRequest {
                    org_id: org.clone(),
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            let mut value = json::health(&reply);
            value["org_id"] = json!(org);
            emit(
                ctx.output,
                format!(
                    "sync health of {org}: {}",
                    render::health_cards(&reply, ctx.width)
                ),
                value,
            )
        }
        ErrorsCommand::Top { by, page } => {
            let reply = client
                .list_top_orgs(errors::ListTopOrgsRequest {
                    order_by: by.number(),
                    page_size: page.page_size.unwrap_or(0),
                    page_token: page.page_token.unwrap_or_default(),
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            let mut value = json::top_orgs(&reply);
            value["by"] = json!(by.as_str());
            emit(
                ctx.output,
                format!(
                    "orgs with the most {}\n{}",
                    match by {
                        TopBy::Current => "current errors",
                        TopBy::Unknown => "UNKNOWN errors",
                        TopBy::Dead => "dead resync jobs",
                    },
                    render::top_orgs(&reply, ctx.width)
                ),
                value,
            )
        }
        ErrorsCommand::List { org, filter, page } => {
            let reply = client
                .list_errors(errors::ListErrorsRequest {
                    org_id: org,
                    filter: Some(filter.to_filter()),
                    page_size: page.page_size.unwrap_or_default(),
                    page_token: page.page_token.unwrap_or_default(),
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            emit(
                ctx.output,
                render::error_list(&reply.errors, &reply.next_page_token, ctx.width),
                json::error_list(&reply),
            )
        }
        ErrorsCommand::Show { org, id } => {
            let reply = client
                .get_error(errors::GetErrorRequest {
                    org_id: org,
                    error_id: id,
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            let e = reply.error.unwrap_or_default();
            emit(
                ctx.output,
                render::error_detail(&e, ctx.width),
                json::sync_error(&e),
            )
        }
        ErrorsCommand::Records {
            org,
            error_type,
            page,
        } => {
            let reply = client
                .list_affected_records(errors::ListAffectedRecordsRequest {
                    org_id: org,
                    r#type: error_type,
                    page_size: page.page_size.unwrap_or_default(),
                    page_token: page.page_token.unwrap_or_default(),
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            emit(
                ctx.output,
                render::affected_records(&reply, ctx.width),
                json::affected_records(&reply),
            )
        }
        ErrorsCommand::Resync {
            org,
            ids,
            filter,
            all,
            limit,
        } => {
            if all || limit.is_some() {
                let limit = limit.map_or(usize::MAX, |n| n as usize);
                crate::resync::batched(ctx, &mut client, &org, &filter, limit).await
            } else {
                resync(ctx, &mut client, org, ids, filter).await
            }
        }
        ErrorsCommand::Reclassify { org, dry_run } => {
            let reply = client
                .reclassify_errors(errors::ReclassifyErrorsRequest {
                    org_id: org.clone(),
                    dry_run,
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            let mut value = json::reclassified(&reply);
            value["org_id"] = json!(org);
            value["dry_run"] = json!(dry_run);
            emit(
                ctx.output,
                render::reclassified(&org, &reply, dry_run, ctx.width),
                value,
            )
        }
        ErrorsCommand::Export { .. } => unreachable!("handled above"),
    }
}

async fn resync(
    ctx: &Context,
    client: &mut errors::sync_errors_client::SyncErrorsClient<syncgov_kit::auth::AuthChannel>,
    org: String,
    ids: Vec<String>,
    filter: FilterArgs,
) -> Result<(), Failure> {
    let target = &ctx.sync_errors;
    let by_filter = !filter.is_empty();
    let ids = match (ids.is_empty(), by_filter) {
        (false, false) => ids,
        (true, true) => {
            let ids = select_ids(ctx, client, &org, &filter).await?;
            if ids.is_empty() {
                return emit(
                    ctx.output,
                    "no errors match the filter: nothing to resync\n".to_owned(),
                    json::resync(&[]),
                );
            }
            ids
        }
        (false, true) => {
            return Err(Failure::usage(
                "give error ids or a filter (--category, --type, --object, --state), not both",
            ));
        }
        (true, false) => {
            return Err(Failure::usage(
                "give error ids, a filter (--category, --type, --object, --state), --all or \
                 --limit N",
            ));
        }
    };
    let selected = ids.len();
    let reply = client
        .resync_errors(errors::ResyncErrorsRequest {
            org_id: org,
            error_ids: ids,
        })
        .await
        .map_err(|s| {
            let mut failure = target.failed(s);
            if by_filter && selected > MAX_RESYNC {
                failure.message = format!(
                    "the filter selects more than {MAX_RESYNC} errors\n{}",
                    failure.message
                );
            }
            failure
        })?
        .into_inner();
    emit(
        ctx.output,
        render::resync(&reply.results, ctx.width),
        json::resync(&reply.results),
    )
}

/// The ids a filter selects, up to one more than a resync takes: enough to
/// let the service refuse with its advice without listing a huge org.
async fn select_ids(
    ctx: &Context,
    client: &mut errors::sync_errors_client::SyncErrorsClient<syncgov_kit::auth::AuthChannel>,
    org: &str,
    filter: &FilterArgs,
) -> Result<Vec<String>, Failure> {
    let mut ids = Vec::new();
    let mut page_token = String::new();
    loop {
        let reply = client
            .list_errors(errors::ListErrorsRequest {
                org_id: org.to_owned(),
                filter: Some(filter.to_filter()),
                page_size: MAX_PAGE,
                page_token,
            })
            .await
            .map_err(|s| ctx.sync_errors.failed(s))?
            .into_inner();
        ids.extend(reply.errors.into_iter().map(|e| e.error_id));
        if ids.len() > MAX_RESYNC || reply.next_page_token.is_empty() {
            ids.truncate(MAX_RESYNC + 1);
            return Ok(ids);
        }
        page_token = reply.next_page_token;
    }
}

async fn notifications(ctx: &Context, command: NotificationsCommand) -> Result<(), Failure> {
    let target = &ctx.sync_errors;
    let mut client = target.sync_errors_client(Some(ctx.timeout)).await?;
    let (org, settings, secret_set, deliveries) = match command {
        NotificationsCommand::Get { org } => {
            let reply = client
                .get_notification_settings(errors::GetNotificationSettingsRequest {
                    org_id: org.clone(),
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            (
                org,
                reply.settings,
                reply.webhook_secret_set,
                [reply.delivery, reply.email_delivery],
            )
        }
        NotificationsCommand::Set(args) => {
            let org = args.org.clone();
            let (settings, paths) = args.update();
            if paths.is_empty() {
                return Err(Failure::usage(
                    "notifications set: give at least one setting to change (see --help)",
                ));
            }
            let reply = client
                .update_notification_settings(errors::UpdateNotificationSettingsRequest {
                    org_id: org.clone(),
                    settings: Some(settings),
                    update_mask: Some(prost_types::FieldMask { paths }),
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            (org, reply.settings, reply.webhook_secret_set, [None, None])
        }
    };
    let [delivery, email_delivery] = deliveries;
    let deliveries = [delivery.as_ref(), email_delivery.as_ref()];
    let mut value = json::notifications(settings.as_ref(), secret_set, deliveries);
    value["org_id"] = json!(org);
    emit(
        ctx.output,
        format!(
            "notifications of {org}\n{}",
            render::notifications(settings.as_ref(), secret_set, deliveries)
        ),
        value,
    )
}

fn completions(shell: Shell) -> Result<(), Failure> {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "syncctl", &mut script);
    write_stdout(&String::from_utf8_lossy(&script))
}

/// The org of `SYNCCTL_ORG`, for `usage` when neither `--org` nor `--top`
/// is given.
fn default_org(top: &Option<u32>) -> Option<String> {
    if top.is_some() {
        return None;
    }
    std::env::var("SYNCCTL_ORG")
        .ok()
        .filter(|org| !org.is_empty())
}
