//! Envoy's rate limit service (v3) over the governor's budgets, so that an
//! Envoy or Istio proxy in front of Salesforce enforces the same budgets as
//! the workers' own AcquireTokens: the same decision path, suspensions
//! included.
//!
//! A descriptor maps onto a budget by its entries: `org_id` (required),
//! `resource` (`api` or `bulk`, default `api`) and `priority` (`retry`,
//! `normal` or `critical`, default `normal`); other entries are ignored. A
//! descriptor without `org_id`, or a request for another domain, has no
//! mapping: it passes or is denied as `--rls-unmapped` says.

use std::sync::Arc;

use syncgov_api::envoy::service::ratelimit::v3 as rls;
use syncgov_api::envoy::service::ratelimit::v3::rate_limit_response::{
    Code, DescriptorStatus, RateLimit, rate_limit::Unit,
};
use syncgov_kit::auth::Principal;
use syncgov_kit::error::ApiError;
use tonic::{Request, Response, Status};

use crate::consumers::Consumer;
use crate::convert::duration;
use crate::domain::{self, Ask, Grant, InvalidInput, OrgId, Outcome, Priority, Resource, Ruling};
use crate::governor::Governor;
use crate::store::{BudgetKey, QuotaStore};

/// Header Envoy adds to its response when an org is suspended (or, with
/// [`PROBE_HEADER`], when the request is the probe of a suspension).
pub const SUSPENDED_HEADER: &str = "x-syncgov-suspended";
/// Header Envoy adds to its response when the request is the probe of a
/// suspension: the grant id to report the probe's result with.
pub const PROBE_HEADER: &str = "x-syncgov-probe";
/// Header Envoy adds to its response when the caller may not ask what it
/// asked (a priority above its token's ceiling): why.
pub const REFUSED_HEADER: &str = "x-syncgov-refused";
/// Header Envoy adds to its response when the budget is in shadow mode and
/// the request went through although its allocation or priority share
/// would have refused it: the reason it escaped (`allocation_exhausted`,
/// `priority_share_exhausted`). The answer itself is OK, as
/// envoyproxy/ratelimit answers in its shadow mode.
pub const SHADOW_HEADER: &str = "x-syncgov-shadow-denied";
/// Most descriptors one request may carry: Envoy's routes carry a handful;
/// more is a caller trying to make the governor work for nothing.
pub const MAX_DESCRIPTORS: usize = 64;
/// Most entries one descriptor may carry.
pub const MAX_ENTRIES: usize = 32;

/// What to do with a descriptor that maps onto no budget.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Unmapped {
    /// Let it pass: the governor limits only what it knows.
    #[default]
    Ignore,
    /// Deny it: nothing goes to Salesforce that no budget covers.
    Deny,
}

/// How requests map onto budgets.
#[derive(Clone, Debug)]
pub struct RlsSettings {
    /// The domain the governor answers for.
    pub domain: String,
    /// What happens to descriptors without a mapping.
    pub unmapped: Unmapped,
    /// The window's length, for `duration_until_reset` of a grant.
    pub window_ms: u64,
}

/// The `envoy.service.ratelimit.v3.RateLimitService` over the governor.
pub struct RlsService<S> {
    governor: Arc<Governor<S>>,
    settings: RlsSettings,
}

impl<S: QuotaStore> RlsService<S> {
    /// The service, deciding through `governor`.
    pub fn new(governor: Arc<Governor<S>>, settings: RlsSettings) -> Self {
        Self { governor, settings }
    }
}

/// The budget and priority a descriptor names; `None` when it names none.
pub fn read_descriptor(
    entries: &[(String, String)],
) -> Result<Option<(BudgetKey, Priority)>, InvalidInput> {
    let value = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let Some(org) = value("org_id") else {
        return Ok(None);
    };
    let org = OrgId::parse(org)?;
    let resource = match value("resource") {
        None | Some("api") | Some("api_requests") => Resource::ApiRequests,
        Some("bulk") | Some("bulk_batches") => Resource::BulkBatches,
        Some(_) => {
            return Err(InvalidInput::new(
                "descriptors.resource",
                "must be api or bulk",
            ));
        }
    };
    let priority = match value("priority") {
        None | Some("normal") => Priority::Normal,
        Some("retry") => Priority::Retry,
        Some("critical") => Priority::Critical,
        Some(_) => {
            return Err(InvalidInput::new(
                "descriptors.priority",
                "must be retry, normal or critical",
            ));
        }
    };
    Ok(Some((BudgetKey { org, resource }, priority)))
}

/// The consumer a descriptor's grants are counted for: its optional
/// `client_id`, `object` and `operation` entries, held to the rules of
/// `AcquireTokens`' fields of the same names (empty: not said).
pub fn read_consumer(entries: &[(String, String)]) -> Result<Consumer, InvalidInput> {
    let value = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    };
    let named = |e: InvalidInput| InvalidInput::new(format!("descriptors.{}", e.field), e.rule);
    domain::check_client_id(value("client_id")).map_err(named)?;
    Consumer::parse(value("client_id"), value("object"), value("operation")).map_err(named)
}

fn saturate(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A descriptor's entries as (key, value) pairs.
fn entries(
    descriptor: &syncgov_api::envoy::extensions::common::ratelimit::v3::RateLimitDescriptor,
) -> Vec<(String, String)> {
    descriptor
        .entries
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect()
}

/// A request read: each descriptor's budget and priority (`None`: it maps
/// onto no budget), and the hits each costs.
struct Mapped {
    descriptors: Vec<Option<(BudgetKey, Priority)>>,
    /// Who each descriptor's grant is counted for.
    consumers: Vec<Consumer>,
    hits: u32,
}

/// Reads a request, refusing it whole before anything is decided: its
/// size, every descriptor, every org the caller may not touch.
fn read_request(
    request: &rls::RateLimitRequest,
    ours: bool,
    principal: Option<&Principal>,
) -> Result<Mapped, Status> {
    if request.descriptors.len() > MAX_DESCRIPTORS {
        return Err(InvalidInput::new(
            "descriptors",
            format!("at most {MAX_DESCRIPTORS} per request"),
        )
        .into());
    }
    if request
        .descriptors
        .iter()
        .any(|d| d.entries.len() > MAX_ENTRIES)
    {
        return Err(InvalidInput::new(
            "descriptors.entries",
            format!("at most {MAX_ENTRIES} per descriptor"),
        )
        .into());
    }
    let mut descriptors = Vec::with_capacity(request.descriptors.len());
    let mut consumers = Vec::with_capacity(request.descriptors.len());
    for descriptor in &request.descriptors {
        let (mapped, consumer) = if ours {
            let entries = entries(descriptor);
            (read_descriptor(&entries)?, read_consumer(&entries)?)
        } else {
            (None, Consumer::default())
        };
        consumers.push(consumer);
        if let (Some((key, _)), Some(principal)) = (&mapped, principal)
            && !principal.may_touch(key.org.as_str())
        {
            syncgov_kit::auth::refused("org");
            return Err(ApiError::PermissionDenied(format!(
                "{} may not touch org {:?}",
                principal.subject,
                key.org.as_str()
            ))
            .into());
        }
        descriptors.push(mapped);
    }
    // Envoy sends 0 for "one hit".
    let hits = domain::parse_count("hits_addend", u64::from(request.hits_addend.max(1)))?;
    Ok(Mapped {
        descriptors,
        consumers,
        hits,
    })
}

/// The answer to a request that asks above the caller's priority ceiling:
/// over limit, every descriptor, with a header saying why. Nothing is
/// decided.
fn above_ceiling(
    principal: &Principal,
    asked: Priority,
    descriptors: usize,
) -> rls::RateLimitResponse {
    syncgov_kit::auth::refused("priority");
    rls::RateLimitResponse {
        overall_code: Code::OverLimit.into(),
        statuses: (0..descriptors)
            .map(|_| DescriptorStatus {
                code: Code::OverLimit.into(),
                ..Default::default()
            })
            .collect(),
        response_headers_to_add: vec![rls::HeaderValue {
            key: REFUSED_HEADER.into(),
            value: format!(
                "priority {} is above what {} may ask for ({})",
                asked.name(),
                principal.subject,
                principal.max_priority.name()
            ),
        }],
        request_headers_to_add: Vec::new(),
    }
}

impl<S: QuotaStore> RlsService<S> {
    /// Decides every descriptor of a read request, then keeps all its
    /// tokens or hands all of them back: when one descriptor is over its
    /// limit, or the store fails half-way, none of the others' tokens stay
    /// counted.
    async fn decide(
        governor: Arc<Governor<S>>,
        settings: RlsSettings,
        mapped: Mapped,
    ) -> Result<rls::RateLimitResponse, Status> {
        let unmapped = match settings.unmapped {
            Unmapped::Ignore => Code::Ok,
            Unmapped::Deny => Code::OverLimit,
        };
        let mut statuses = Vec::with_capacity(mapped.descriptors.len());
        let mut headers = Vec::new();
        let mut granted: Vec<(BudgetKey, Grant)> = Vec::new();
        for (descriptor, consumer) in mapped.descriptors.into_iter().zip(&mapped.consumers) {
            let Some((key, priority)) = descriptor else {
                statuses.push(DescriptorStatus {
                    code: unmapped.into(),
                    ..Default::default()
                });
                continue;
            };
            let ruling = match governor
                .acquire(&key, Ask::exactly(mapped.hits), priority, consumer)
                .await
            {
                Ok(ruling) => ruling,
                Err(e) => {
                    hand_back(&governor, granted).await;
                    return Err(e.into());
                }
            };
            let name = format!("{}/{}", key.org, key.resource.as_str());
            let status = match ruling {
                Ruling::Suspended {
                    reason, allocation, ..
                } => {
                    headers.push(rls::HeaderValue {
                        key: SUSPENDED_HEADER.into(),
                        value: reason.code().into(),
                    });
                    DescriptorStatus {
                        code: Code::OverLimit.into(),
                        current_limit: Some(RateLimit {
                            name,
                            requests_per_unit: saturate(allocation),
                            unit: Unit::Day.into(),
                        }),
                        ..Default::default()
                    }
                }
                // Fail-open while the store is away: let it through; the
                // numbers are not known.
                Ruling::Emergency(_) => DescriptorStatus {
                    code: Code::Ok.into(),
                    ..Default::default()
                },
                Ruling::Decided { decision, probe } => {
                    let limit = Some(RateLimit {
                        name,
                        requests_per_unit: saturate(decision.allocation),
                        unit: Unit::Day.into(),
                    });
                    let (code, reset_ms) = match decision.outcome {
                        Outcome::Granted(grant) => {
                            if let Some(reason) = probe {
                                // The worker behind the proxy reports how
                                // the probe went, naming this grant.
                                headers.push(rls::HeaderValue {
                                    key: PROBE_HEADER.into(),
                                    value: governor.grant_id(&key, &grant).unwrap_or_default(),
                                });
                                headers.push(rls::HeaderValue {
                                    key: SUSPENDED_HEADER.into(),
                                    value: reason.code().into(),
                                });
                            }
                            if let Some(reason) = decision.shadow_denied {
                                headers.push(rls::HeaderValue {
                                    key: SHADOW_HEADER.into(),
                                    value: reason.as_str().into(),
                                });
                            }
                            granted.push((key.clone(), grant));
                            (Code::Ok, settings.window_ms)
                        }
                        Outcome::Denied { retry_after_ms, .. } => (
                            Code::OverLimit,
                            retry_after_ms.unwrap_or(settings.window_ms),
                        ),
                    };
                    DescriptorStatus {
                        code: code.into(),
                        current_limit: limit,
                        limit_remaining: saturate(decision.remaining),
                        duration_until_reset: Some(duration(reset_ms)),
                    }
                }
            };
            statuses.push(status);
        }
        let over = statuses.iter().any(|s| s.code == Code::OverLimit as i32);
        if over {
            // The request does not go out: the tokens granted to its other
            // descriptors are handed back.
            hand_back(&governor, granted).await;
        }
        let overall = if over { Code::OverLimit } else { Code::Ok };
        Ok(rls::RateLimitResponse {
            overall_code: overall.into(),
            statuses,
            response_headers_to_add: headers,
            request_headers_to_add: Vec::new(),
        })
    }
}

/// Hands back every grant of a request that does not go out. A failure is
/// logged: those tokens stay counted until they leave the window, the safe
/// direction.
async fn hand_back<S: QuotaStore>(governor: &Governor<S>, granted: Vec<(BudgetKey, Grant)>) {
    for (key, grant) in granted {
        if let Err(e) = governor.hand_back(&key, grant).await {
            tracing::warn!(org_id = %key.org, error = %e, "cannot hand back a grant of a request that did not go out");
        }
    }
}

#[tonic::async_trait]
impl<S: QuotaStore> rls::rate_limit_service_server::RateLimitService for RlsService<S> {
    #[tracing::instrument(level = "debug", skip_all, fields(domain = %request.get_ref().domain))]
    async fn should_rate_limit(
        &self,
        request: Request<rls::RateLimitRequest>,
    ) -> Result<Response<rls::RateLimitResponse>, Status> {
        let principal = request.extensions().get::<Principal>().cloned();
        let request = request.into_inner();
        let ours = request.domain == self.settings.domain;
        let mapped = read_request(&request, ours, principal.as_ref())?;
        if let Some(principal) = &principal {
            let highest = mapped.descriptors.iter().flatten().map(|(_, p)| *p).max();
            if let Some(asked) = highest.filter(|p| !principal.may_use_priority(*p)) {
                return Ok(Response::new(above_ceiling(
                    principal,
                    asked,
                    mapped.descriptors.len(),
                )));
            }
        }
        let budgets = mapped.descriptors.iter().flatten().count();
        let decide = Self::decide(self.governor.clone(), self.settings.clone(), mapped);
        if budgets <= 1 {
            // One budget: nothing to hand back if the caller goes away, as
            // with AcquireTokens; decided here, without a task.
            return Ok(Response::new(decide.await?));
        }
        // Several budgets: decided in a task of its own, so that a caller
        // that goes away (Envoy's timeout, a cancelled call) cannot stop it
        // half-way: a request's tokens are all kept or all handed back.
        let response = tokio::spawn(decide)
            .await
            .map_err(|e| ApiError::Internal(format!("deciding the request failed: {e}")))??;
        Ok(Response::new(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn descriptors_map_onto_budgets() {
        let (key, priority) = read_descriptor(&entries(&[("org_id", "acme")]))
            .unwrap()
            .unwrap();
        assert_eq!(
            (key.org.as_str(), key.resource, priority),
            ("acme", Resource::ApiRequests, Priority::Normal)
        );
        let (key, priority) = read_descriptor(&entries(&[
            ("resource", "bulk"),
            ("org_id", "acme"),
            ("priority", "critical"),
            ("x", "y"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            (key.resource, priority),
            (Resource::BulkBatches, Priority::Critical)
        );
        assert_eq!(
            read_descriptor(&entries(&[("generic_key", "x")])).unwrap(),
            None
        );
        assert_eq!(
            read_descriptor(&entries(&[("org_id", "a{b}")]))
                .unwrap_err()
                .field,
            "org_id"
        );
        assert_eq!(
            read_descriptor(&entries(&[("org_id", "acme"), ("priority", "urgent")]))
                .unwrap_err()
                .field,
            "descriptors.priority"
        );
    }

    #[test]
    fn a_descriptor_may_name_its_consumer() {
        let consumer = read_consumer(&entries(&[
            ("org_id", "acme"),
            ("client_id", "egress-7"),
            ("object", "Contact"),
            ("operation", "query"),
        ]))
        .unwrap();
        assert_eq!(
            consumer,
            Consumer::parse("egress-7", "Contact", "query").unwrap()
        );
        assert_eq!(
            read_consumer(&entries(&[("org_id", "acme")])).unwrap(),
            Consumer::default()
        );
        for (key, value, field) in [
            ("object", "Contact.Name", "descriptors.object"),
            ("operation", "QUERY", "descriptors.operation"),
            ("client_id", "bad\u{7}", "descriptors.client_id"),
        ] {
            let e = read_consumer(&entries(&[("org_id", "acme"), (key, value)])).unwrap_err();
            assert_eq!(e.field, field);
        }
    }
}
