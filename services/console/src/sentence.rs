//! A service's refusal or failure as a sentence a person can act on
//! ("You may not clear suspensions for this org."), never a raw status code
//! or a stack. The action is named by the page, so the same status reads
//! right wherever it comes from.

use tonic::Code;

/// Which service answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// The quota governor.
    Governor,
    /// The sync-error service.
    SyncErrors,
}

impl Service {
    /// How people call it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Governor => "quota governor",
            Self::SyncErrors => "sync-error service",
        }
    }
}

/// What a page tried, in words that follow "You may not …".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read an org's API call use, budget or suspensions.
    SeeUsage,
    /// Read the fleet views.
    SeeFleet,
    /// Clear a suspension.
    ClearSuspension,
    /// Change the allocation or set an override.
    ChangeBudget,
    /// Read sync errors.
    SeeErrors,
    /// Resync errors.
    Resync,
    /// Export errors.
    Export,
    /// Read or change notification settings.
    Notifications,
}

impl Action {
    fn words(self) -> &'static str {
        match self {
            Self::SeeUsage => "see the API call use of this org",
            Self::SeeFleet => "see these orgs",
            Self::ClearSuspension => "clear suspensions for this org",
            Self::ChangeBudget => "change the allocation of this org",
            Self::SeeErrors => "see the sync errors of this org",
            Self::Resync => "resync errors of this org",
            Self::Export => "export the errors of this org",
            Self::Notifications => "see or change the notifications of this org",
        }
    }
}

/// The sentence for `status`, answered by `service` to `action`.
pub fn of_status(service: Service, action: Action, code: Code, message: &str) -> String {
    let name = service.name();
    match code {
        Code::PermissionDenied => format!(
            "You may not {}: your credential does not allow it.",
            action.words()
        ),
        Code::Unauthenticated => {
            "Your credential was not accepted (it may have expired or been revoked): sign in again."
                .into()
        }
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            format!("The {name} is not answering; try again in a minute.")
        }
        Code::ResourceExhausted => {
            format!("The {name} is busy with too many requests; try again in a moment.")
        }
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            format!("The {name} refused this: {}.", clean(message))
        }
        Code::NotFound => format!("The {name} has nothing of that: {}.", clean(message)),
        _ => format!(
            "Something went wrong at the {name}; try again, and tell the platform team if it goes on."
        ),
    }
}

/// A service's message as part of a sentence: one line, bounded, without
/// a final full stop.
fn clean(message: &str) -> String {
    let line: String = message
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    let line = line.trim().trim_end_matches('.');
    if line.is_empty() {
        "the request was not valid".into()
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_action() {
        assert_eq!(
            of_status(
                Service::Governor,
                Action::ClearSuspension,
                Code::PermissionDenied,
                "role worker may not call ClearSuspension"
            ),
            "You may not clear suspensions for this org: your credential does not allow it."
        );
    }

    #[test]
    fn outages_say_which_service_and_never_the_code() {
        let s = of_status(
            Service::SyncErrors,
            Action::Resync,
            Code::Unavailable,
            "redis",
        );
        assert_eq!(
            s,
            "The sync-error service is not answering; try again in a minute."
        );
        let s = of_status(
            Service::Governor,
            Action::SeeUsage,
            Code::Internal,
            "panic at x.rs",
        );
        assert!(!s.contains("x.rs") && !s.contains("Internal"), "{s}");
    }

    #[test]
    fn bad_input_quotes_one_bounded_line_of_the_rule() {
        let s = of_status(
            Service::Governor,
            Action::ChangeBudget,
            Code::InvalidArgument,
            "budget.allocation: at most org_limit.\nsecond line",
        );
        assert_eq!(
            s,
            "The quota governor refused this: budget.allocation: at most org_limit."
        );
        let long = "x".repeat(1000);
        assert!(
            of_status(
                Service::Governor,
                Action::ChangeBudget,
                Code::InvalidArgument,
                &long
            )
            .len()
                < 400
        );
    }
}
