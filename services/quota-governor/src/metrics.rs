//! The governor's metrics: decisions by outcome and reason, how long they
//! take, tokens granted, how full budgets are, active suspensions by
//! reason, usage alerts and the orgs at or above each usage threshold. Read through the admin port (`/metrics`) or OTLP; see
//! `syncgov_kit::metrics`. The counters start at 0 for every outcome,
//! reason and org label; the histograms appear with their first decision.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{
    BoundHistogram, Counter, Histogram, ObservableCounter, ObservableGauge,
};
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
/// Every `(outcome, reason)` a decision is counted under, in the order of
/// [`label_index`].
const DECISION_LABELS: [(&str, &str); 7] = [
    ("granted", ""),
    ("granted", "emergency"),
    ("denied", "allocation_exhausted"),
    ("denied", "priority_share_exhausted"),
    ("denied", "org_limit_exhausted"),
    ("denied", "suspended"),
    ("denied", "unknown_org"),
];

/// Where a denial for `reason` is counted in [`DECISION_LABELS`].
fn denied_index(reason: DenyReason) -> usize {
    match reason {
        DenyReason::AllocationExhausted => 2,
        DenyReason::PriorityShareExhausted => 3,
        DenyReason::OrgLimitExhausted => 4,
        DenyReason::Suspended => 5,
        DenyReason::UnknownOrg => 6,
    }
}

/// Where a ruling is counted in [`DECISION_LABELS`], with the tokens it
/// granted.
fn label_index(ruling: &Ruling) -> (usize, u64) {
    match ruling {
        Ruling::Suspended { .. } => (denied_index(DenyReason::Suspended), 0),
        Ruling::Emergency(count) => (1, *count),
        Ruling::Decided { decision, .. } => match decision.outcome {
            Outcome::Granted(grant) => (0, grant.count),
            Outcome::Denied { reason, .. } => (denied_index(reason), 0),
        },
    }
}

/// The decisions and tokens of one org label, counted in place: a decision
/// adds to two atomics, and the exporter reads them through the counters'
/// callbacks, instead of each decision looking its attributes up in the
/// metrics SDK. Its usage histogram is bound to its labels once, at its
/// first decision, for the same reason.
struct OrgTally {
    label: opentelemetry::StringValue,
    decisions: [AtomicU64; DECISION_LABELS.len()],
    tokens: AtomicU64,
    usage: OnceLock<BoundHistogram<f64>>,
}

/// The tallies of every org label: the orgs listed, then `other` (last).
struct Tallies {
    rows: Vec<OrgTally>,
    index: HashMap<String, usize>,
}

impl Tallies {
    fn new(orgs: &OrgLabels) -> Self {
        let values = orgs.values();
        let index = values
            .iter()
            .enumerate()
            .filter(|(_, org)| *org != "other")
            .map(|(i, org)| (org.clone(), i))
            .collect();
        let rows = values
            .iter()
            .map(|org| OrgTally {
                label: orgs.of(org),
                decisions: Default::default(),
                tokens: AtomicU64::new(0),
                usage: OnceLock::new(),
            })
            .collect();
        Self { rows, index }
    }

    fn of(&self, org: &str) -> &OrgTally {
        let other = self.rows.len() - 1;
        &self.rows[self.index.get(org).copied().unwrap_or(other)]
    }
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
    tallies: Arc<Tallies>,
    shadow_denials: Counter<u64>,
    duration: Histogram<f64>,
    /// `duration` bound to each of [`DECISION_LABELS`], in its order, at
    /// the first decision counted there: a histogram appears with its
    /// first value, not as an empty one with no minimum.
    bound_duration: [OnceLock<BoundHistogram<f64>>; DECISION_LABELS.len()],
    usage: Histogram<f64>,
    usage_alerts: Counter<u64>,
    /// Orgs at or above each (threshold, of), as this replica's last usage
    /// alert check counted them.
    above: Arc<Mutex<BTreeMap<(u8, Of), u64>>>,
    // Kept so that their callbacks stay registered.
    _suspensions: ObservableGauge<u64>,
    _above: ObservableGauge<u64>,
    _decisions: ObservableCounter<u64>,
    _tokens: ObservableCounter<u64>,
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
        let usage = meter
            .f64_histogram("syncgov.quota.usage.ratio")
            .with_unit("1")
            .with_description(
                "Calls counted in the window over the allocation, seen at each decision",
            )
            .with_boundaries(USAGE_BOUNDS.to_vec())
            .build();
        let tallies = Arc::new(Tallies::new(&orgs));
        let duration = meter
            .f64_histogram("syncgov.quota.decision.duration")
            .with_unit("s")
            .with_description("Time to decide a request for tokens, suspensions and store included")
            .with_boundaries(LATENCY_BOUNDS.to_vec())
            .build();
        let read = tallies.clone();
        let decisions = meter
            .u64_observable_counter("syncgov.quota.decisions")
            .with_unit("{decision}")
            .with_description("Requests for tokens decided, by outcome and deny reason")
            .with_callback(move |observer| {
                for row in &read.rows {
                    for ((outcome, reason), n) in DECISION_LABELS.iter().zip(&row.decisions) {
                        observer.observe(
                            n.load(Ordering::Relaxed),
                            &[
                                KeyValue::new("outcome", *outcome),
                                KeyValue::new("reason", *reason),
                                KeyValue::new("org_id", row.label.clone()),
                                syncgov_kit::metrics::service(),
                            ],
                        );
                    }
                }
            })
            .build();
        let read = tallies.clone();
        let tokens = meter
            .u64_observable_counter("syncgov.quota.tokens.granted")
            .with_unit("{token}")
            .with_description("Tokens granted")
            .with_callback(move |observer| {
                for row in &read.rows {
                    observer.observe(
                        row.tokens.load(Ordering::Relaxed),
                        &[
                            KeyValue::new("org_id", row.label.clone()),
                            syncgov_kit::metrics::service(),
                        ],
                    );
                }
            })
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
            _decisions: decisions,
            _tokens: tokens,
            tallies,
            shadow_denials,
            duration,
            bound_duration: Default::default(),
            usage,
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
        let tally = self.tallies.of(org.as_str());
        let (index, tokens) = label_index(ruling);
        tally.decisions[index].fetch_add(1, Ordering::Relaxed);
        if tokens > 0 {
            tally.tokens.fetch_add(tokens, Ordering::Relaxed);
        }
        if let Ruling::Decided { decision, .. } = ruling {
            if let Some(reason) = decision.shadow_denied {
                self.shadow_denials.add(
                    1,
                    &[
                        KeyValue::new("reason", reason.as_str()),
                        KeyValue::new("org_id", tally.label.clone()),
                        syncgov_kit::metrics::service(),
                    ],
                );
            }
            if decision.allocation > 0 {
                let ratio = decision.used as f64 / decision.allocation as f64;
                let usage = tally.usage.get_or_init(|| {
                    self.usage.bind(&[
                        KeyValue::new("org_id", tally.label.clone()),
                        syncgov_kit::metrics::service(),
                    ])
                });
                usage.record(ratio);
            }
        }
        let duration = self.bound_duration[index].get_or_init(|| {
            let (outcome, reason) = DECISION_LABELS[index];
            self.duration.bind(&[
                KeyValue::new("outcome", outcome),
                KeyValue::new("reason", reason),
                syncgov_kit::metrics::service(),
            ])
        });
        duration.record(started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every deny reason has its own place among the labels, named as the
    /// reason names itself.
    #[test]
    fn every_deny_reason_is_counted_under_its_own_name() {
        for reason in [
            DenyReason::AllocationExhausted,
            DenyReason::PriorityShareExhausted,
            DenyReason::OrgLimitExhausted,
            DenyReason::Suspended,
            DenyReason::UnknownOrg,
        ] {
            assert_eq!(
                DECISION_LABELS[denied_index(reason)],
                ("denied", reason.as_str())
            );
        }
        assert_eq!(label_index(&Ruling::Emergency(3)), (1, 3));
        assert_eq!(DECISION_LABELS[1], ("granted", "emergency"));
    }
}
