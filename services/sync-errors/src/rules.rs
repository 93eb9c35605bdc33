//! Operator rules: an org's own texts (an admin-written validation message,
//! a lookup filter's custom error, a code an org's automation invents)
//! mapped to a type or a suspension reason, ahead of the built-in
//! classifier. They are read from a YAML file, checked whole when read
//! (a bad file is refused with the line of the rule at fault, and the rules
//! in force stay), and reloaded when the file changes (`app.rs`).
//!
//! ```yaml
//! rules:
//!   - name: acme-close-date          # names the rule in explanations
//!     orgs: [acme]                   # optional: only these orgs
//!     status_code: FIELD_CUSTOM_VALIDATION_EXCEPTION   # optional
//!     message: "(?i)close date cannot be in the past"  # optional regex
//!     object: Opportunity            # optional
//!     field: CloseDate               # optional: one of the fields named
//!     type: CUSTOM_VALIDATION_RULE   # or reason: SALESFORCE_ORG_LOCKED
//! ```
//!
//! A rule matches a failure when every criterion it gives matches (it must
//! give at least one besides `orgs`); the first rule that matches, in file
//! order, decides. Precedence over everything else: what the worker
//! stated, then the first matching operator rule, then the built-in
//! classifier ([`classify_failure`]).
//!
//! Level safety: a rule may raise a suspension only of a reason that clears
//! by itself (the governor probes it), unless it says `org_wide: true`,
//! the operator's word that its text names a cause of the whole org; a
//! single record's text never stops an org until an operator acts by
//! accident.
//!
//! Pure: no I/O here; the caller reads the file.

use std::borrow::Cow;

use regex::{Regex, RegexSet};
use serde::Deserialize;

use crate::classify::{Classification, Classified, Explanation, FailureText, explain};
use crate::taxonomy::{Basis, ErrorType, Stated, SuspensionReason};

/// Most rules one file may hold.
pub const MAX_RULES: usize = 1_000;
/// Longest regular expression, in bytes.
pub const MAX_PATTERN_LEN: usize = 1_000;
/// How sure an operator rule is: the operator wrote it for this text, but
/// a regular expression can match more than was meant.
const RULE_CONFIDENCE: f32 = 0.9;

/// A rules file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rules: Vec<RawRule>,
}

/// One rule as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    #[serde(default)]
    orgs: Vec<String>,
    #[serde(default)]
    status_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default, rename = "type")]
    error_type: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    org_wide: bool,
}

/// A rule, checked.
#[derive(Debug)]
struct Rule {
    name: String,
    orgs: Vec<String>,
    /// Upper case without `_`, as codes compare.
    status_code: Option<String>,
    /// Index of its pattern in [`Rules::patterns`].
    message: Option<usize>,
    object: Option<String>,
    field: Option<String>,
    class: Classification,
}

/// The operator rules in force: none by default.
#[derive(Debug, Default)]
pub struct Rules {
    rules: Vec<Rule>,
    /// Every rule's message pattern, to find in one pass which match.
    patterns: Option<RegexSet>,
}

/// Why a rules file was refused: the line (1-based) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RulesError {
    /// The line at fault (of the rule, or of the YAML error).
    pub line: usize,
    /// What is wrong, naming the rule and its key.
    pub message: String,
}

impl Rules {
    /// Reads and checks a rules file; the first fault refuses it whole.
    pub fn parse(text: &str) -> Result<Self, RulesError> {
        let blank = text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        if blank {
            return Ok(Self::default());
        }
        let file: File = serde_norway::from_str(text).map_err(|e| RulesError {
            line: e.location().map_or(1, |l| l.line()),
            message: e.to_string(),
        })?;
        if file.rules.len() > MAX_RULES {
            return Err(RulesError {
                line: 1,
                message: format!("at most {MAX_RULES} rules"),
            });
        }
        let lines = rule_lines(text);
        let mut rules = Vec::with_capacity(file.rules.len());
        let mut patterns = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (i, raw) in file.rules.into_iter().enumerate() {
            let line = lines.get(i).copied().unwrap_or(1);
            let next = lines.get(i + 1).copied();
            let label = format!("rule {} ({:?})", i + 1, raw.name);
            let fail = |key: &str, why: String| RulesError {
                line: key_line(text, line, next, key),
                message: format!("{label}: {key}: {why}"),
            };
            if raw.name.trim().is_empty() || raw.name.len() > 128 {
                return Err(fail("name", "must be 1 to 128 characters".into()));
            }
            if !names.insert(raw.name.clone()) {
                return Err(fail("name", "another rule has this name".into()));
            }
            let class = match (&raw.error_type, &raw.reason) {
                (Some(code), None) => match Stated::from_code(code) {
                    Some(Stated::Type(t)) => Classification::Record(t),
                    _ => {
                        return Err(fail(
                            "type",
                            format!("{code:?} is not a type of the taxonomy"),
                        ));
                    }
                },
                (None, Some(code)) => {
                    let code = code.trim().to_ascii_uppercase().replace(['-', ' '], "_");
                    match SuspensionReason::from_code(&code) {
                        Some(r) => Classification::Suspension(r),
                        None => {
                            return Err(fail(
                                "reason",
                                format!("{code:?} is not a suspension reason"),
                            ));
                        }
                    }
                }
                _ => return Err(fail("type", "give exactly one of type and reason".into())),
            };
            if let Classification::Suspension(r) = class
                && !r.clears_by_itself()
                && !raw.org_wide
            {
                return Err(fail(
                    "reason",
                    format!(
                        "{} waits for an operator: a rule may raise it only with org_wide: true, \
                         saying that its text names a cause of the whole org",
                        r.code()
                    ),
                ));
            }
            if raw.status_code.is_none()
                && raw.message.is_none()
                && raw.object.is_none()
                && raw.field.is_none()
            {
                return Err(fail(
                    "message",
                    "give at least one of status_code, message, object and field".into(),
                ));
            }
            let message = match &raw.message {
                Some(pattern) if pattern.len() > MAX_PATTERN_LEN => {
                    return Err(fail("message", format!("at most {MAX_PATTERN_LEN} bytes")));
                }
                Some(pattern) => {
                    Regex::new(pattern).map_err(|e| fail("message", e.to_string()))?;
                    patterns.push(pattern.clone());
                    Some(patterns.len() - 1)
                }
                None => None,
            };
            rules.push(Rule {
                name: raw.name,
                orgs: raw.orgs,
                status_code: raw.status_code.as_deref().map(code_key),
                message,
                object: raw.object,
                field: raw.field,
                class,
            });
        }
        let patterns = if patterns.is_empty() {
            None
        } else {
            Some(RegexSet::new(&patterns).map_err(|e| RulesError {
                line: 1,
                message: e.to_string(),
            })?)
        };
        Ok(Self { rules, patterns })
    }

    /// How many rules are in force.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules' names, in the file's order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// The first rule that matches a failure of `org` (`None`: only rules
    /// that name no org apply), with its classification.
    pub fn find(&self, org: Option<&str>, failure: &FailureText<'_>) -> Option<Classified> {
        if self.rules.is_empty() {
            return None;
        }
        let matched = self
            .patterns
            .as_ref()
            .map(|set| set.matches(failure.message));
        let status = code_key(failure.status_code);
        self.rules
            .iter()
            .find(|rule| {
                (rule.orgs.is_empty() || org.is_some_and(|o| rule.orgs.iter().any(|r| r == o)))
                    && rule.status_code.as_ref().is_none_or(|c| *c == status)
                    && rule
                        .message
                        .is_none_or(|i| matched.as_ref().is_some_and(|m| m.matched(i)))
                    && rule
                        .object
                        .as_ref()
                        .is_none_or(|o| o.eq_ignore_ascii_case(failure.object_type))
                    && rule
                        .field
                        .as_ref()
                        .is_none_or(|f| failure.fields.iter().any(|x| x.eq_ignore_ascii_case(f)))
            })
            .map(|rule| Classified {
                class: rule.class,
                why: Explanation {
                    basis: Basis::OperatorRule,
                    confidence: RULE_CONFIDENCE,
                    matched: Cow::Owned(rule.name.clone()),
                },
            })
    }
}

/// A status code as codes compare: upper case, without `_`, blanks and a
/// SOAP `sf:` prefix dropped.
fn code_key(code: &str) -> String {
    let code = code.trim();
    let code = code.strip_prefix("sf:").unwrap_or(code);
    code.chars()
        .filter(|&c| c != '_')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The line (1-based) where each rule starts: the items of the list under
/// `rules:`, at the indentation of its first item.
fn rule_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut in_rules = false;
    let mut indent = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let at = line.len() - trimmed.len();
        if !in_rules {
            in_rules = at == 0 && trimmed.starts_with("rules:");
            continue;
        }
        if at == 0 && !trimmed.starts_with('-') {
            break;
        }
        if trimmed.starts_with("- ") || trimmed == "-" {
            match indent {
                None => {
                    indent = Some(at);
                    lines.push(i + 1);
                }
                Some(n) if n == at => lines.push(i + 1),
                _ => {}
            }
        }
    }
    lines
}

/// The line of `key:` within lines `from..to` (1-based; a rule's own), or
/// `from` when the rule does not write it.
fn key_line(text: &str, from: usize, to: Option<usize>, key: &str) -> usize {
    let needle = format!("{key}:");
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .skip(from.saturating_sub(1))
        .take_while(|(n, _)| to.is_none_or(|t| *n < t))
        .find(|(_, l)| {
            l.trim_start()
                .trim_start_matches("- ")
                .trim_start()
                .starts_with(&needle)
        })
        .map_or(from, |(n, _)| n)
}

/// Classifies a failure with everything the service knows, strongest first:
/// what the worker stated, then the first operator rule that matches (for
/// `org`), then the built-in classifier.
pub fn classify_failure(
    stated: Option<Stated>,
    rules: &Rules,
    org: Option<&str>,
    failure: &FailureText<'_>,
) -> Classified {
    if let Some(stated) = stated {
        return Classified {
            class: match stated {
                Stated::Type(t) => Classification::Record(t),
                Stated::Reason(r) => Classification::Suspension(r),
            },
            why: Explanation::new(Basis::WorkerStated, 1.0, stated.code()),
        };
    }
    rules.find(org, failure).unwrap_or_else(|| explain(failure))
}

/// The types a worker can state that Salesforce's texts never or hardly
/// ever carry: they are detected on the CRM side.
pub const CRM_SIDE_TYPES: [ErrorType; 9] = [
    ErrorType::AssociationLimitReached,
    ErrorType::WaitingForAccountSync,
    ErrorType::MissingContactId,
    ErrorType::EmailAlreadyInUse,
    ErrorType::MissingPicklistOption,
    ErrorType::MismatchedOptions,
    ErrorType::InactiveOpportunityStage,
    ErrorType::OwnersNotSynced,
    ErrorType::OptionLimitExceeded,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn text<'a>(
        status: &'a str,
        message: &'a str,
        fields: &'a [String],
        object: &'a str,
    ) -> FailureText<'a> {
        FailureText {
            status_code: status,
            message,
            fields,
            object_type: object,
        }
    }

    const FILE: &str = r#"
# An org's own texts.
rules:
  - name: acme-close-date
    orgs: [acme]
    status_code: FIELD_CUSTOM_VALIDATION_EXCEPTION
    message: "(?i)close date cannot be in the past"
    type: CUSTOM_VALIDATION_RULE

  - name: partner-filter
    message: "(?i)choose an active partner"
    field: Partner__c
    type: invalid-salesforce-id

  - name: frozen-user
    message: "(?i)integration user is frozen"
    reason: SALESFORCE_AUTH_FAILED
    org_wide: true

  - name: maintenance-window
    object: Lead
    message: "nightly import running"
    reason: SALESFORCE_ORG_LOCKED
"#;

    #[test]
    fn rules_match_on_every_criterion_they_give_and_the_first_wins() {
        let rules = Rules::parse(FILE).unwrap();
        assert_eq!(rules.len(), 4);
        let none: Vec<String> = vec![];
        let close = text(
            "field_custom_validation_exception",
            "Close Date cannot be in the past: [CloseDate]",
            &none,
            "Opportunity",
        );
        let c = rules.find(Some("acme"), &close).unwrap();
        assert_eq!(
            c.class,
            Classification::Record(ErrorType::CustomValidationRule)
        );
        assert_eq!(
            (c.why.basis, c.why.matched.as_ref()),
            (Basis::OperatorRule, "acme-close-date")
        );
        // Another org: the rule names acme only.
        assert!(rules.find(Some("globex"), &close).is_none());
        assert!(rules.find(None, &close).is_none());
        // Another status code.
        let other = text(
            "REQUIRED_FIELD_MISSING",
            "Close Date cannot be in the past",
            &none,
            "",
        );
        assert!(rules.find(Some("acme"), &other).is_none());
        // The field criterion.
        let partner = vec!["Partner__c".to_owned()];
        let filter = text(
            "FIELD_FILTER_VALIDATION_EXCEPTION",
            "Please choose an active partner.",
            &partner,
            "",
        );
        assert_eq!(
            rules.find(None, &filter).unwrap().class,
            Classification::Record(ErrorType::InvalidSalesforceId)
        );
        let no_field = text("", "Please choose an active partner.", &none, "");
        assert!(rules.find(None, &no_field).is_none());
        let lead = text("", "nightly import running", &none, "lead");
        assert_eq!(
            rules.find(None, &lead).unwrap().class,
            Classification::Suspension(SuspensionReason::SalesforceOrgLocked)
        );
    }

    #[test]
    fn what_the_worker_stated_wins_then_rules_then_the_built_in() {
        let rules = Rules::parse(FILE).unwrap();
        let none: Vec<String> = vec![];
        let close = text(
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "Close Date cannot be in the past",
            &none,
            "",
        );
        let stated = classify_failure(
            Some(Stated::Type(ErrorType::EmailAlreadyInUse)),
            &rules,
            Some("acme"),
            &close,
        );
        assert_eq!(
            stated.class,
            Classification::Record(ErrorType::EmailAlreadyInUse)
        );
        assert_eq!(
            (stated.why.basis, stated.why.confidence),
            (Basis::WorkerStated, 1.0)
        );
        let ruled = classify_failure(None, &rules, Some("acme"), &close);
        assert_eq!(ruled.why.basis, Basis::OperatorRule);
        let built_in = classify_failure(None, &rules, Some("globex"), &close);
        assert_eq!(
            (built_in.class, built_in.why.basis),
            (
                Classification::Record(ErrorType::CustomValidationRule),
                Basis::StatusCode
            )
        );
        let mappings = classify_failure(
            Some(Stated::Reason(SuspensionReason::MissingFieldMappings)),
            &Rules::default(),
            None,
            &close,
        );
        assert_eq!(
            mappings.class,
            Classification::Suspension(SuspensionReason::MissingFieldMappings)
        );
    }

    #[test]
    fn a_bad_rule_is_refused_naming_its_line() {
        let cases = [
            (
                "rules:\n  - name: a\n    message: \"(\"\n    type: UNKNOWN\n",
                3,
                "message",
            ),
            (
                "rules:\n  - name: a\n    message: x\n    type: NOPE\n",
                4,
                "type",
            ),
            (
                "rules:\n  - name: a\n    message: x\n    type: UNKNOWN\n  - name: b\n    message: y\n    reason: MISSING_FIELD_PERMISSIONS\n",
                7,
                "org_wide",
            ),
            (
                "rules:\n  - name: a\n    type: UNKNOWN\n",
                2,
                "at least one",
            ),
            ("rules:\n  - name: a\n    message: x\n", 2, "exactly one"),
            (
                "rules:\n  - name: a\n    message: x\n    type: UNKNOWN\n    colour: red\n",
                5,
                "colour",
            ),
            (
                "rules:\n  - name: a\n    message: x\n    type: UNKNOWN\n  - name: a\n    message: y\n    type: UNKNOWN\n",
                5,
                "another rule",
            ),
            ("rules: [\n", 2, ""),
        ];
        for (file, line, says) in cases {
            let err = Rules::parse(file).unwrap_err();
            assert_eq!(err.line, line, "{file:?}: {err}");
            assert!(err.to_string().contains(says), "{file:?}: {err}");
        }
    }

    #[test]
    fn an_empty_file_holds_no_rules() {
        assert!(Rules::parse("").unwrap().is_empty());
        assert!(Rules::parse("rules: []\n").unwrap().is_empty());
    }
}

/// The rules in force, shared by every request and swapped whole when the
/// file changes: a request reads one set from start to end.
#[derive(Debug, Default)]
pub struct RulesHandle {
    current: std::sync::RwLock<std::sync::Arc<Rules>>,
}

impl RulesHandle {
    /// A handle on `rules`.
    pub fn new(rules: Rules) -> Self {
        Self {
            current: std::sync::RwLock::new(std::sync::Arc::new(rules)),
        }
    }

    /// The rules in force now.
    pub fn get(&self) -> std::sync::Arc<Rules> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Puts `rules` in force.
    pub fn set(&self, rules: Rules) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = std::sync::Arc::new(rules);
    }
}
