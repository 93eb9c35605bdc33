//! The governor's metrics: decisions by outcome and reason, how long they
//! take, tokens granted, how full budgets are, active suspensions by
//! reason, usage alerts and the orgs at or above each usage threshold. Read through the admin port (`/metrics`) or OTLP; see
//! `syncgov_kit::metrics`. The counters start at 0 for every outcome,
//! reason and org label; the histograms appear with their first decision.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, ObservableGauge};
use syncgov_kit::metrics::OrgLabels;

use crate::alerts::Of;
use crate::domain::{DenyReason, OrgId, Outcome, Ruling};
use crate::feed::Feed;
use crate::suspension::SuspensionReason;

/// Bucket bounds of the decision latency histogram, seconds: from a
/// tenth of a millisecond (memory store) to a second (a store timing out).
const LATENCY_BOUNDS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.25, 1.0,
];
/// Every `(outcome, reason)` a decision is counted under.
fn decision_labels() -> impl Iterator<Item = (&'static str, &'static str)> {
    let denials = [
        DenyReason::AllocationExhausted,
        DenyReason::PriorityShareExhausted,
        DenyReason::OrgLimitExhausted,
        DenyReason::Suspended,
        DenyReason::UnknownOrg,
    ]
    .map(|reason| ("denied", reason.as_str()));
    [("granted", ""), ("granted", "emergency")]
        .into_iter()
        .chain(denials)
}
/// The denials shadow mode turns into grants, by the reason they escaped.
const SHADOW_REASONS: [DenyReason; 2] = [
    DenyReason::AllocationExhausted,
    DenyReason::PriorityShareExhausted,
];
/// The governor's own reasons to refuse a call, beside the shared ones: a
/// grant id it never issued, a probe result from another caller.
const REFUSALS: &[&str] = &["unknown_grant", "not_the_probe"];

/// Bucket bounds of budget usage, as a share of the allocation.
const USAGE_BOUNDS: [f64; 8] = [0.25, 0.5, 0.75, 0.9, 0.95, 0.98, 1.0, 1.5];

/// The instruments, made once per service.
pub struct GovernorMetrics {
    decisions: Counter<u64>,
    shadow_denials: Counter<u64>,
    duration: Histogram<f64>,
    tokens: Counter<u64>,
    usage: Histogram<f64>,
    orgs: OrgLabels,
    usage_alerts: Counter<u64>,
    /// Orgs at or above each (threshold, of), as this replica's last usage
    /// alert check counted them.
    above: Arc<Mutex<BTreeMap<(u8, Of), u64>>>,
    // Kept so that their callbacks stay registered.
    _suspensions: ObservableGauge<u64>,
    _above: ObservableGauge<u64>,
}

/// The label values of a usage threshold and what it is a share of.
fn threshold_labels(threshold: u8, of: Of) -> [KeyValue; 3] {
    [
        KeyValue::new("threshold", i64::from(threshold).to_string()),
        KeyValue::new("of", of.as_str()),
        syncgov_kit::metrics::service(),
    ]
}

impl GovernorMetrics {
    /// Instruments from the global meter; `orgs` get their own label.
    pub fn new(orgs: OrgLabels, feed: Arc<Feed>) -> Self {
        let meter = opentelemetry::global::meter("quota-governor");
        let suspensions = meter
            .u64_observable_gauge("syncgov.quota.suspensions.active")
            .with_description("Orgs suspended now, by reason")
            .with_callback(move |observer| {
                let mut by_reason = std::collections::BTreeMap::<&str, u64>::new();
                for s in feed.all() {
                    *by_reason.entry(s.reason.code()).or_default() += 1;
                }
                for reason in SuspensionReason::ALL {
                    let n = by_reason.get(reason.code()).copied().unwrap_or(0);
                    observer.observe(
                        n,
                        &[
                            KeyValue::new("reason", reason.code()),
                            syncgov_kit::metrics::service(),
                        ],
                    );
                }
            })
            .build();
        let decisions = meter
            .u64_counter("syncgov.quota.decisions")
            .with_unit("{decision}")
            .with_description("Requests for tokens decided, by outcome and deny reason")
            .build();
        let tokens = meter
            .u64_counter("syncgov.quota.tokens.granted")
            .with_unit("{token}")
            .with_description("Tokens granted")
            .build();
        // Counted apart from the decisions, which count these as the grants
        // they are: a dashboard of grants stays true in shadow mode.
        let shadow_denials = meter
            .u64_counter("syncgov.quota.shadow_denials")
            .with_unit("{decision}")
            .with_description(
                "Grants of budgets in shadow mode that their allocation or priority share \
                 would have denied, by the reason",
            )
            .build();
        for org in orgs.values() {
            let org_label = KeyValue::new("org_id", org);
            for reason in SHADOW_REASONS {
                shadow_denials.add(
                    0,
                    &[
                        KeyValue::new("reason", reason.as_str()),
                        org_label.clone(),
                        syncgov_kit::metrics::service(),
                    ],
                );
            }
            for (outcome, reason) in decision_labels() {
                decisions.add(
                    0,
                    &[
                        KeyValue::new("outcome", outcome),
                        KeyValue::new("reason", reason),
                        org_label.clone(),
                        syncgov_kit::metrics::service(),
                    ],
                );
            }
            tokens.add(0, &[org_label, syncgov_kit::metrics::service()]);
        }
        syncgov_kit::auth::count_refusals_from_zero(REFUSALS);
        let usage_alerts = meter
            .u64_counter("syncgov.quota.usage_alerts")
            .with_unit("{alert}")
            .with_description(
                "Usage alerts this replica appended: a budget's usage crossed a threshold \
                 (percent) of its allocation or of its org limit",
            )
            .build();
        // The default thresholds are always there, at 0 until one is seen.
        let mut seen = BTreeMap::new();
        for t in syncgov_kit::budget::DEFAULT_ALERT_THRESHOLDS {
            for of in Of::ALL {
                usage_alerts.add(0, &threshold_labels(t, of));
                seen.insert((t, of), 0);
            }
        }
        let above = Arc::new(Mutex::new(seen));
        let observed = above.clone();
        let above_gauge = meter
            .u64_observable_gauge("syncgov.quota.orgs_above_threshold")
            .with_unit("{org}")
            .with_description(
                "Budgets (an org and a resource) whose usage is at or above a usage alert \
                 threshold (percent) of their allocation or org limit, as of this replica's \
                 last check",
            )
            .with_callback(move |observer| {
                let counts = observed.lock().unwrap_or_else(|p| p.into_inner()).clone();
                for ((t, of), n) in counts {
                    observer.observe(n, &threshold_labels(t, of));
                }
            })
            .build();
        Self {
            usage_alerts,
            above,
            _above: above_gauge,
            decisions,
            shadow_denials,
            duration: meter
                .f64_histogram("syncgov.quota.decision.duration")
                .with_unit("s")
                .with_description(
                    "Time to decide a request for tokens, suspensions and store included",
                )
                .with_boundaries(LATENCY_BOUNDS.to_vec())
                .build(),
            tokens,
            usage: meter
                .f64_histogram("syncgov.quota.usage.ratio")
                .with_unit("1")
                .with_description(
                    "Calls counted in the window over the allocation, seen at each decision",
                )
                .with_boundaries(USAGE_BOUNDS.to_vec())
                .build(),
            orgs,
            _suspensions: suspensions,
        }
    }

    /// Counts a usage alert this replica appended.
    pub fn alerted(&self, threshold: u8, of: Of) {
        self.usage_alerts.add(1, &threshold_labels(threshold, of));
    }

    /// Replaces the counts of orgs at or above each threshold with those of
    /// the latest check; the default thresholds stay, at 0 when none is.
    pub fn set_above(&self, counts: BTreeMap<(u8, Of), u64>) {
        let mut kept = self.above.lock().unwrap_or_else(|p| p.into_inner());
        let mut next: BTreeMap<(u8, Of), u64> = syncgov_kit::budget::DEFAULT_ALERT_THRESHOLDS
            .iter()
            .flat_map(|&t| Of::ALL.map(|of| ((t, of), 0)))
            .collect();
        next.extend(counts);
        *kept = next;
    }

    /// Counts one ruling on a request of `org`, begun at `started`.
    pub fn decided(&self, org: &OrgId, ruling: &Ruling, started: Instant) {
        let org_label = [
            KeyValue::new("org_id", self.orgs.of(org.as_str())),
            syncgov_kit::metrics::service(),
        ];
        let (outcome, reason) = match ruling {
            Ruling::Suspended { .. } => ("denied", DenyReason::Suspended.as_str()),
            Ruling::Emergency(count) => {
                self.tokens.add(*count, &org_label);
                ("granted", "emergency")
            }
            Ruling::Decided { decision, .. } => match decision.outcome {
                Outcome::Granted(grant) => {
                    self.tokens.add(grant.count, &org_label);
                    if let Some(reason) = decision.shadow_denied {
                        let [org_label, service] = org_label.clone();
                        self.shadow_denials.add(
                            1,
                            &[KeyValue::new("reason", reason.as_str()), org_label, service],
                        );
                    }
                    ("granted", "")
                }
                Outcome::Denied { reason, .. } => ("denied", reason.as_str()),
            },
        };
        if let Ruling::Decided { decision, .. } = ruling
            && decision.allocation > 0
        {
            let ratio = decision.used as f64 / decision.allocation as f64;
            self.usage.record(ratio, &org_label);
        }
        let [org_label, service] = org_label;
        let attributes = [
            KeyValue::new("outcome", outcome),
            KeyValue::new("reason", reason),
            service,
            org_label,
        ];
        self.decisions.add(1, &attributes);
        self.duration
            .record(started.elapsed().as_secs_f64(), &attributes[..3]);
    }
}
