//! The failure taxonomy as Rust types: record-level sync error categories and
//! types, and the integration-level suspension reasons.
//!
//! The canonical codes are those of the product's taxonomy; the variants
//! are listed in the order of `proto/syncgov/taxonomy/v1/taxonomy.proto`, so
//! `number()` is the proto value and a new variant must be appended in both
//! places at once (the unit tests read the proto file and fail otherwise).
//! The operator guidance restates the two source documents (the seeds), which
//! win where the taxonomy page words things differently.
//!
//! Pure and std only: both services (the governor for suspension reasons,
//! sync-errors for everything) depend on this crate, and with its default
//! features it depends on nothing. The `serde` feature adds `lines`, the
//! JSON Lines format the classify filters of `sync-errors` and `syncctl`
//! share, so that the command line reads it without linking the service.

#[cfg(feature = "serde")]
pub mod lines;

/// A group of record-level sync error types, as shown to the operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// The record is tied to a record that is not synced or hit a limit.
    Associations = 1,
    /// Salesforce automation, flows or validation rules rejected the write.
    CustomCode = 2,
    /// A duplicate e-mail or a Salesforce duplicate rule blocked the record.
    Duplicates = 3,
    /// The integration user cannot read or edit the field or object.
    Permissions = 4,
    /// A picklist value in one system matches no value in the other.
    Picklist = 5,
    /// A property and its mapped field do not fit together.
    PropertyMappings = 6,
    /// The record carries a value the other side rejects.
    PropertyValues = 7,
    /// Anything not recognised.
    Other = 8,
}

impl Category {
    /// Every category, in proto order (so `ALL[n - 1].number() == n`).
    pub const ALL: [Category; 8] = [
        Category::Associations,
        Category::CustomCode,
        Category::Duplicates,
        Category::Permissions,
        Category::Picklist,
        Category::PropertyMappings,
        Category::PropertyValues,
        Category::Other,
    ];

    /// The canonical code used by the contracts, the CLI and the exports.
    pub fn code(self) -> &'static str {
        match self {
            Category::Associations => "ASSOCIATIONS",
            Category::CustomCode => "CUSTOM_CODE",
            Category::Duplicates => "DUPLICATES",
            Category::Permissions => "PERMISSIONS",
            Category::Picklist => "PICKLIST",
            Category::PropertyMappings => "PROPERTY_MAPPINGS",
            Category::PropertyValues => "PROPERTY_VALUES",
            Category::Other => "OTHER",
        }
    }

    /// The category with this canonical code (exact, upper case), if any.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The value of `ERROR_CATEGORY_<CODE>` in the proto enum, `1..=8`.
    pub fn number(self) -> i32 {
        self as i32
    }

    /// The category with this proto value; `None` for `UNSPECIFIED` (0) and
    /// for values a newer peer may send that this build does not know.
    pub fn from_number(n: i32) -> Option<Self> {
        usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// The types of this category, in proto order: the cards the operator
    /// sees under it.
    pub fn types(self) -> &'static [ErrorType] {
        use ErrorType::*;
        match self {
            Category::Associations => &[AssociationLimitReached, WaitingForAccountSync],
            Category::CustomCode => &[
                SalesforceAutomation,
                MissingContactId,
                CustomValidationRule,
                SalesforceFlow,
            ],
            Category::Duplicates => &[EmailAlreadyInUse, SalesforceDuplicateRule],
            Category::Permissions => &[
                InsufficientAccessOrMissingRecord,
                FieldPermission,
                InsufficientAccess,
            ],
            Category::Picklist => &[
                MissingPicklistOption,
                MismatchedStateOrCountry,
                MismatchedOptions,
                InactiveOwner,
                RestrictedPicklistValue,
                InactiveOpportunityStage,
                OwnersNotSynced,
                OptionLimitExceeded,
                DefaultSalesProcessUnavailable,
                InvalidOpportunityStage,
            ],
            Category::PropertyMappings => &[TypeMismatch, MissingSalesforceId, InvalidSalesforceId],
            Category::PropertyValues => &[
                StringTooLong,
                InvalidEmail,
                MissingRequiredCountry,
                InvalidValue,
                OwnerAssignment,
                RestrictedUniqueValue,
                MissingRequiredValue,
            ],
            Category::Other => &[Unknown],
        }
    }
}

/// A record-level sync error type: one record failed, everything else keeps
/// syncing. Each type belongs to exactly one [`Category`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorType {
    /// The associated record hit the CRM's association limit.
    AssociationLimitReached = 1,
    /// The Salesforce account is not synced as a CRM company yet.
    WaitingForAccountSync = 2,
    /// An Apex trigger or other Salesforce automation failed.
    SalesforceAutomation = 3,
    /// Custom code needs a contact ID that is missing.
    MissingContactId = 4,
    /// A custom validation rule rejected the record.
    CustomValidationRule = 5,
    /// A Salesforce flow or process failed.
    SalesforceFlow = 6,
    /// The e-mail is already used by another CRM contact.
    EmailAlreadyInUse = 7,
    /// A Salesforce duplicate rule blocked the record.
    SalesforceDuplicateRule = 8,
    /// No access to the referenced record, or it does not exist.
    InsufficientAccessOrMissingRecord = 9,
    /// No read or edit access on a field.
    FieldPermission = 10,
    /// The integration user lacks access in Salesforce.
    InsufficientAccess = 11,
    /// The value is not an option of the picklist.
    MissingPicklistOption = 12,
    /// A state or country value does not match.
    MismatchedStateOrCountry = 13,
    /// The picklist options of the two sides differ.
    MismatchedOptions = 14,
    /// The Salesforce owner is inactive.
    InactiveOwner = 15,
    /// The value is not allowed in a restricted picklist.
    RestrictedPicklistValue = 16,
    /// The opportunity stage is inactive.
    InactiveOpportunityStage = 17,
    /// Salesforce owners are not synced as CRM users.
    OwnersNotSynced = 18,
    /// The picklist holds too many options.
    OptionLimitExceeded = 19,
    /// The record type's default sales process is unavailable.
    DefaultSalesProcessUnavailable = 20,
    /// The opportunity stage is missing or invalid.
    InvalidOpportunityStage = 21,
    /// The property and field types are incompatible.
    TypeMismatch = 22,
    /// A lookup got no existing Salesforce ID.
    MissingSalesforceId = 23,
    /// A lookup got an invalid Salesforce ID.
    InvalidSalesforceId = 24,
    /// A value is longer than the field allows.
    StringTooLong = 25,
    /// An e-mail address is invalid.
    InvalidEmail = 26,
    /// A state was given without its country.
    MissingRequiredCountry = 27,
    /// A value is invalid for its field.
    InvalidValue = 28,
    /// The owner cannot be assigned.
    OwnerAssignment = 29,
    /// A unique value is already used by another record.
    RestrictedUniqueValue = 30,
    /// A required value is missing.
    MissingRequiredValue = 31,
    /// Not recognised.
    Unknown = 32,
}

impl ErrorType {
    /// Every type, in proto order (so `ALL[n - 1].number() == n`); the types
    /// of one category are contiguous.
    pub const ALL: [ErrorType; 32] = [
        ErrorType::AssociationLimitReached,
        ErrorType::WaitingForAccountSync,
        ErrorType::SalesforceAutomation,
        ErrorType::MissingContactId,
        ErrorType::CustomValidationRule,
        ErrorType::SalesforceFlow,
        ErrorType::EmailAlreadyInUse,
        ErrorType::SalesforceDuplicateRule,
        ErrorType::InsufficientAccessOrMissingRecord,
        ErrorType::FieldPermission,
        ErrorType::InsufficientAccess,
        ErrorType::MissingPicklistOption,
        ErrorType::MismatchedStateOrCountry,
        ErrorType::MismatchedOptions,
        ErrorType::InactiveOwner,
        ErrorType::RestrictedPicklistValue,
        ErrorType::InactiveOpportunityStage,
        ErrorType::OwnersNotSynced,
        ErrorType::OptionLimitExceeded,
        ErrorType::DefaultSalesProcessUnavailable,
        ErrorType::InvalidOpportunityStage,
        ErrorType::TypeMismatch,
        ErrorType::MissingSalesforceId,
        ErrorType::InvalidSalesforceId,
        ErrorType::StringTooLong,
        ErrorType::InvalidEmail,
        ErrorType::MissingRequiredCountry,
        ErrorType::InvalidValue,
        ErrorType::OwnerAssignment,
        ErrorType::RestrictedUniqueValue,
        ErrorType::MissingRequiredValue,
        ErrorType::Unknown,
    ];

    /// The canonical code used by the contracts, the CLI and the exports.
    pub fn code(self) -> &'static str {
        match self {
            ErrorType::AssociationLimitReached => "ASSOCIATION_LIMIT_REACHED",
            ErrorType::WaitingForAccountSync => "WAITING_FOR_ACCOUNT_SYNC",
            ErrorType::SalesforceAutomation => "SALESFORCE_AUTOMATION",
            ErrorType::MissingContactId => "MISSING_CONTACT_ID",
            ErrorType::CustomValidationRule => "CUSTOM_VALIDATION_RULE",
            ErrorType::SalesforceFlow => "SALESFORCE_FLOW",
            ErrorType::EmailAlreadyInUse => "EMAIL_ALREADY_IN_USE",
            ErrorType::SalesforceDuplicateRule => "SALESFORCE_DUPLICATE_RULE",
            ErrorType::InsufficientAccessOrMissingRecord => "INSUFFICIENT_ACCESS_OR_MISSING_RECORD",
            ErrorType::FieldPermission => "FIELD_PERMISSION",
            ErrorType::InsufficientAccess => "INSUFFICIENT_ACCESS",
            ErrorType::MissingPicklistOption => "MISSING_PICKLIST_OPTION",
            ErrorType::MismatchedStateOrCountry => "MISMATCHED_STATE_OR_COUNTRY",
            ErrorType::MismatchedOptions => "MISMATCHED_OPTIONS",
            ErrorType::InactiveOwner => "INACTIVE_OWNER",
            ErrorType::RestrictedPicklistValue => "RESTRICTED_PICKLIST_VALUE",
            ErrorType::InactiveOpportunityStage => "INACTIVE_OPPORTUNITY_STAGE",
            ErrorType::OwnersNotSynced => "OWNERS_NOT_SYNCED",
            ErrorType::OptionLimitExceeded => "OPTION_LIMIT_EXCEEDED",
            ErrorType::DefaultSalesProcessUnavailable => "DEFAULT_SALES_PROCESS_UNAVAILABLE",
            ErrorType::InvalidOpportunityStage => "INVALID_OPPORTUNITY_STAGE",
            ErrorType::TypeMismatch => "TYPE_MISMATCH",
            ErrorType::MissingSalesforceId => "MISSING_SALESFORCE_ID",
            ErrorType::InvalidSalesforceId => "INVALID_SALESFORCE_ID",
            ErrorType::StringTooLong => "STRING_TOO_LONG",
            ErrorType::InvalidEmail => "INVALID_EMAIL",
            ErrorType::MissingRequiredCountry => "MISSING_REQUIRED_COUNTRY",
            ErrorType::InvalidValue => "INVALID_VALUE",
            ErrorType::OwnerAssignment => "OWNER_ASSIGNMENT",
            ErrorType::RestrictedUniqueValue => "RESTRICTED_UNIQUE_VALUE",
            ErrorType::MissingRequiredValue => "MISSING_REQUIRED_VALUE",
            ErrorType::Unknown => "UNKNOWN",
        }
    }

    /// The type with this canonical code (exact, upper case), if any.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The value of `ERROR_TYPE_<CODE>` in the proto enum, `1..=32`.
    pub fn number(self) -> i32 {
        self as i32
    }

    /// The type with this proto value; `None` for `UNSPECIFIED` (0) and for
    /// values a newer peer may send that this build does not know.
    pub fn from_number(n: i32) -> Option<Self> {
        usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// The category whose card groups this type.
    pub fn category(self) -> Category {
        // The proto numbers the types category by category, so ranges suffice.
        match self.number() {
            1..=2 => Category::Associations,
            3..=6 => Category::CustomCode,
            7..=8 => Category::Duplicates,
            9..=11 => Category::Permissions,
            12..=21 => Category::Picklist,
            22..=24 => Category::PropertyMappings,
            25..=31 => Category::PropertyValues,
            _ => Category::Other,
        }
    }

    /// What the operator should do about an error of this type, shown on its
    /// card and in notifications.
    pub fn guidance(self) -> &'static str {
        match self {
            ErrorType::AssociationLimitReached => {
                "The record is associated with a record that has reached the CRM's association \
                 limit. Remove some of the associated records or associate them with a different \
                 Salesforce record, then resync."
            }
            ErrorType::WaitingForAccountSync => {
                "The record is associated with a Salesforce account that is not yet synced as a \
                 CRM company. Import the Salesforce accounts, then resync."
            }
            ErrorType::SalesforceAutomation => {
                "An Apex trigger or other automation in the Salesforce org rejected the write. \
                 Work with the Salesforce admin to fix that custom code, then resync."
            }
            ErrorType::MissingContactId => {
                "Custom code in the Salesforce org needs a contact ID that the record does not \
                 have. Work with the Salesforce admin to fix that custom code, then resync."
            }
            ErrorType::CustomValidationRule => {
                "A custom field validation rule in the Salesforce org rejected the record. Work \
                 with the Salesforce admin on the rule, or fix the record's value, then resync."
            }
            ErrorType::SalesforceFlow => {
                "A flow or process in the Salesforce org failed while saving the record. Work \
                 with the Salesforce admin to fix the flow, then resync."
            }
            ErrorType::EmailAlreadyInUse => {
                "The lead's or contact's e-mail address already exists on another CRM contact. \
                 Remove the e-mail address from the existing CRM contact, then resync."
            }
            ErrorType::SalesforceDuplicateRule => {
                "A duplicate rule in Salesforce blocked the record. Review the duplicate rules \
                 set up in Salesforce."
            }
            ErrorType::InsufficientAccessOrMissingRecord => {
                "Most often the integration tried to write a wrong value to a Salesforce field or \
                 to create a wrong association, so the referenced record is missing or not \
                 visible to the integration user. Fix the value or the association, then resync."
            }
            ErrorType::FieldPermission => {
                "The integration user cannot read or edit this field. Give the Salesforce \
                 integration user read and edit permission on the field, then resync."
            }
            ErrorType::InsufficientAccess => {
                "The integration user's permissions in Salesforce do not allow this action. \
                 Check the integration user's permissions in Salesforce, then resync."
            }
            ErrorType::MissingPicklistOption => {
                "The value matches no current option of the picklist on the other side. Add the \
                 option, or align the options' internal values in the CRM and Salesforce, then \
                 resync."
            }
            ErrorType::MismatchedStateOrCountry => {
                "The CRM country's internal value must match a country in Salesforce's State and \
                 Country/Territory picklists, and the state must be an available state of that \
                 country with a matching internal value. Align the values, then resync."
            }
            ErrorType::MismatchedOptions => {
                "The options of the mapped property and field differ. Update the internal (API) \
                 names of the Salesforce field's options to match the internal values of the CRM \
                 property's options."
            }
            ErrorType::InactiveOwner => {
                "The record's owner is not an active Salesforce user. Reassign the record to a \
                 user who is active in Salesforce, then resync."
            }
            ErrorType::RestrictedPicklistValue => {
                "The Salesforce picklist is restricted to the values defined in its value set \
                 and this value is not one of them. Add the option in Salesforce, or turn off \
                 that restriction so any value can sync."
            }
            ErrorType::InactiveOpportunityStage => {
                "The Salesforce opportunity is in an inactive stage. Make the stage active in \
                 Salesforce or move the opportunity to an active stage."
            }
            ErrorType::OwnersNotSynced => {
                "Salesforce owners are not synced as CRM users. Make sure the Salesforce users' \
                 User Type is Standard, Power Partner or Guest."
            }
            ErrorType::OptionLimitExceeded => {
                "The picklist holds more options than allowed. Delete the options your team does \
                 not use in the CRM and Salesforce, and make sure mapped properties have matching \
                 field types."
            }
            ErrorType::DefaultSalesProcessUnavailable => {
                "The record has no usable record type, so no default sales process applies. If \
                 record types are on in Salesforce but unused, or records lack one, work with the \
                 Salesforce admin to turn record types off or create a record type."
            }
            ErrorType::InvalidOpportunityStage => {
                "The opportunity's stage is missing or invalid. Make sure the Salesforce \
                 opportunity stage value exists in the CRM pipeline, then resync."
            }
            ErrorType::TypeMismatch => {
                "The CRM property type and the Salesforce field type are not compatible. Fix the \
                 mapping so both types are compatible, then resync."
            }
            ErrorType::MissingSalesforceId => {
                "A Salesforce lookup field got a value that is not the ID of an existing \
                 Salesforce record. Sync an existing Salesforce ID into it, or fix the mapping."
            }
            ErrorType::InvalidSalesforceId => {
                "Salesforce rejected the ID written into a lookup field. Check the custom \
                 validation rules and lookup filters set up in Salesforce."
            }
            ErrorType::StringTooLong => {
                "The value is longer than the Salesforce field allows. Shorten the value in \
                 Salesforce or the CRM, or raise the field's character limit in Salesforce."
            }
            ErrorType::InvalidEmail => {
                "The e-mail address is not valid. Fix its format on the record, then resync."
            }
            ErrorType::MissingRequiredCountry => {
                "A state was sent without a country it belongs to. The CRM country's internal \
                 value must match a country in Salesforce's State and Country/Territory \
                 picklists and the state must be available for it; fix the record, then resync."
            }
            ErrorType::InvalidValue => {
                "The value does not meet the requirements of the field it syncs to. Update the \
                 value on the record, then resync."
            }
            ErrorType::OwnerAssignment => {
                "The owner cannot be assigned, most often because a CRM task syncing as a \
                 Salesforce task is assigned to a Salesforce queue. Assign it to a user instead, \
                 then resync."
            }
            ErrorType::RestrictedUniqueValue => {
                "The field must be unique and another Salesforce record already has this value. \
                 Review the deduplication rules and unique fields set up in Salesforce."
            }
            ErrorType::MissingRequiredValue => {
                "A required value is missing. Add a value to the record for every property \
                 marked as required, then resync."
            }
            ErrorType::Unknown => {
                "The error was not recognised. Escalate it to support with the error details."
            }
        }
    }
}

/// Why the whole integration of an org must stop calling Salesforce until the
/// cause goes away; owned by the quota governor, which denies every token
/// request of a suspended org with this reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SuspensionReason {
    /// The org used up its Salesforce daily (rolling 24 h) API limit.
    SalesforceApiLimitExceeded = 1,
    /// The integration used up the share of the org's limit allocated to it.
    IntegrationApiLimitExceeded = 2,
    /// The integration user lacks the "API Enabled" permission.
    SalesforceApiDisabled = 3,
    /// The integration user cannot read or edit a synced or referenced object.
    MissingObjectPermissions = 4,
    /// The integration user cannot read or edit a field.
    MissingFieldPermissions = 5,
    /// Another operation holds a lock that must be released first.
    SalesforceOrgLocked = 6,
    /// The org's data storage is full.
    SalesforceStorageLimitExceeded = 7,
    /// Salesforce is down or in maintenance.
    SalesforceOrgUnavailable = 8,
    /// Salesforce returned an unexplained server error.
    SalesforceServerError = 9,
    /// No mappings exist between CRM properties and Salesforce fields.
    MissingFieldMappings = 10,
    /// The error from Salesforce is unclear.
    Unknown = 11,
    /// The integration user's credentials no longer work.
    SalesforceAuthFailed = 12,
    /// Too many long-running calls at once for the org.
    SalesforceConcurrentLimitExceeded = 13,
}

impl SuspensionReason {
    /// Every reason, in proto order (so `ALL[n - 1].number() == n`).
    pub const ALL: [SuspensionReason; 13] = [
        SuspensionReason::SalesforceApiLimitExceeded,
        SuspensionReason::IntegrationApiLimitExceeded,
        SuspensionReason::SalesforceApiDisabled,
        SuspensionReason::MissingObjectPermissions,
        SuspensionReason::MissingFieldPermissions,
        SuspensionReason::SalesforceOrgLocked,
        SuspensionReason::SalesforceStorageLimitExceeded,
        SuspensionReason::SalesforceOrgUnavailable,
        SuspensionReason::SalesforceServerError,
        SuspensionReason::MissingFieldMappings,
        SuspensionReason::Unknown,
        SuspensionReason::SalesforceAuthFailed,
        SuspensionReason::SalesforceConcurrentLimitExceeded,
    ];

    /// The canonical code used by the contracts, the CLI and notifications.
    pub fn code(self) -> &'static str {
        match self {
            SuspensionReason::SalesforceApiLimitExceeded => "SALESFORCE_API_LIMIT_EXCEEDED",
            SuspensionReason::IntegrationApiLimitExceeded => "INTEGRATION_API_LIMIT_EXCEEDED",
            SuspensionReason::SalesforceApiDisabled => "SALESFORCE_API_DISABLED",
            SuspensionReason::MissingObjectPermissions => "MISSING_OBJECT_PERMISSIONS",
            SuspensionReason::MissingFieldPermissions => "MISSING_FIELD_PERMISSIONS",
            SuspensionReason::SalesforceOrgLocked => "SALESFORCE_ORG_LOCKED",
            SuspensionReason::SalesforceStorageLimitExceeded => "SALESFORCE_STORAGE_LIMIT_EXCEEDED",
            SuspensionReason::SalesforceOrgUnavailable => "SALESFORCE_ORG_UNAVAILABLE",
            SuspensionReason::SalesforceServerError => "SALESFORCE_SERVER_ERROR",
            SuspensionReason::MissingFieldMappings => "MISSING_FIELD_MAPPINGS",
            SuspensionReason::Unknown => "UNKNOWN",
            SuspensionReason::SalesforceAuthFailed => "SALESFORCE_AUTH_FAILED",
            SuspensionReason::SalesforceConcurrentLimitExceeded => {
                "SALESFORCE_CONCURRENT_LIMIT_EXCEEDED"
            }
        }
    }

    /// The reason with this canonical code (exact, upper case), if any.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The value of `SUSPENSION_REASON_<CODE>` in the proto enum, `1..=13`.
    pub fn number(self) -> i32 {
        self as i32
    }

    /// The reason with this proto value; `None` for `UNSPECIFIED` (0) and
    /// for values a newer peer may send that this build does not know.
    pub fn from_number(n: i32) -> Option<Self> {
        usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// What the operator should do about a suspension for this reason, shown
    /// on the suspension banner and in its notification.
    pub fn guidance(self) -> &'static str {
        match self {
            SuspensionReason::SalesforceApiLimitExceeded => {
                "The Salesforce org used up its API call limit for the last 24 hours; the \
                 suspension clears by itself once calls free up. Set an allocation for the \
                 integration to prevent this, and during a migration ask Salesforce support for \
                 a temporary increase."
            }
            SuspensionReason::IntegrationApiLimitExceeded => {
                "The integration used up the API calls allocated to it for the last 24 hours; \
                 the suspension clears by itself as soon as calls leave the window. Check the \
                 org's API call use in Salesforce and raise the allocation if needed."
            }
            SuspensionReason::SalesforceApiDisabled => {
                "The integration user lacks the \"API Enabled\" administrative permission. Grant \
                 it in the user's profile, then re-enter the Salesforce user's credentials to \
                 clear the suspension."
            }
            SuspensionReason::MissingObjectPermissions => {
                "The integration user lacks the integration permission set, or read and edit on \
                 a synced object or an object it references (Leads, Contacts, Accounts, \
                 Opportunities, Campaigns, Tasks, Users). Fix the permissions in Salesforce, then \
                 clear the suspension."
            }
            SuspensionReason::MissingFieldPermissions => {
                "The integration user cannot read or edit a field of a synced object or of an \
                 object reached through a lookup. Fix the field permissions in Salesforce, then \
                 clear the suspension."
            }
            SuspensionReason::SalesforceOrgLocked => {
                "Another operation, often another integration updating the same records, must \
                 finish first; this usually clears by itself. If it persists after clearing the \
                 suspension, ask the Salesforce system administrator to unlock the org."
            }
            SuspensionReason::SalesforceStorageLimitExceeded => {
                "The Salesforce org's data storage is full. Free storage, for example by \
                 bulk-deleting records the integration created, then clear the suspension."
            }
            SuspensionReason::SalesforceOrgUnavailable => {
                "Salesforce is down or in maintenance; the suspension clears by itself when it is \
                 back. Check Salesforce's status page for availability and performance."
            }
            SuspensionReason::SalesforceServerError => {
                "Salesforce returned an unexplained server error; the integration retries later. \
                 If it persists after clearing the suspension, check Salesforce's status or \
                 contact Salesforce support."
            }
            SuspensionReason::MissingFieldMappings => {
                "No mappings exist between the CRM's properties and Salesforce fields. Restore \
                 the default field mappings and clear the suspension; if it persists, or no \
                 default mappings exist, contact support."
            }
            SuspensionReason::Unknown => {
                "The error from Salesforce is unclear; such suspensions are rare and often pass \
                 by themselves. Clear the suspension, and contact support if it comes back."
            }
            SuspensionReason::SalesforceAuthFailed => {
                "The integration user's Salesforce credentials no longer work (session invalid, \
                 login refused, password expired or connected app not approved). Reconnect the \
                 integration user, then clear the suspension."
            }
            SuspensionReason::SalesforceConcurrentLimitExceeded => {
                "Too many long-running calls ran at once for the org; the suspension clears by \
                 itself after a short back-off and the daily budget is untouched. If it recurs, \
                 look for slow calls or other integrations running at the same time."
            }
        }
    }

    /// Whether the suspension must also end without anyone acting (after a
    /// back-off or once calls free up), as opposed to only when an operator
    /// fixes the cause and clears it.
    pub fn clears_by_itself(self) -> bool {
        match self {
            SuspensionReason::SalesforceApiLimitExceeded
            | SuspensionReason::IntegrationApiLimitExceeded
            | SuspensionReason::SalesforceOrgLocked
            | SuspensionReason::SalesforceOrgUnavailable
            // "Retry later" in the taxonomy, "clears by itself" in the proto:
            // a retry that fails again simply suspends again.
            | SuspensionReason::SalesforceServerError
            | SuspensionReason::Unknown
            | SuspensionReason::SalesforceConcurrentLimitExceeded => true,
            SuspensionReason::SalesforceApiDisabled
            | SuspensionReason::MissingObjectPermissions
            | SuspensionReason::MissingFieldPermissions
            | SuspensionReason::SalesforceStorageLimitExceeded
            | SuspensionReason::MissingFieldMappings
            | SuspensionReason::SalesforceAuthFailed => false,
        }
    }
}

/// What decided a classification, strongest first: what the worker stated
/// wins over an operator rule, which wins over the built-in classifier's
/// evidence (a status code, a phrase, a wrapper, or nothing: the fallback).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Basis {
    /// The sync worker stated the type or reason it detected.
    WorkerStated = 1,
    /// An operator rule matched.
    OperatorRule = 2,
    /// A Salesforce status code, given or named in the message.
    StatusCode = 3,
    /// A phrase of the message.
    Phrase = 4,
    /// Custom code (an Apex trigger, a flow) wrapped the failure and owns it.
    Wrapper = 5,
    /// Nothing decisive: a wrapper code on its own, or nothing recognised.
    Fallback = 6,
}

impl Basis {
    /// Every basis, in proto order (so `ALL[n - 1].number() == n`).
    pub const ALL: [Basis; 6] = [
        Basis::WorkerStated,
        Basis::OperatorRule,
        Basis::StatusCode,
        Basis::Phrase,
        Basis::Wrapper,
        Basis::Fallback,
    ];

    /// The canonical code (`STATUS_CODE`), as the CLI prints it.
    pub fn code(self) -> &'static str {
        match self {
            Basis::WorkerStated => "WORKER_STATED",
            Basis::OperatorRule => "OPERATOR_RULE",
            Basis::StatusCode => "STATUS_CODE",
            Basis::Phrase => "PHRASE",
            Basis::Wrapper => "WRAPPER",
            Basis::Fallback => "FALLBACK",
        }
    }

    /// The basis with this canonical code, if any.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.code() == code)
    }

    /// The value of `CLASSIFICATION_BASIS_<CODE>` in the proto enum.
    pub fn number(self) -> i32 {
        self as i32
    }

    /// The basis with this proto value; `None` for `UNSPECIFIED` (0) and
    /// for values this build does not know.
    pub fn from_number(n: i32) -> Option<Self> {
        usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| Self::ALL.get(i).copied())
    }
}

/// What a sync worker may state it detected with a failure: a record-level
/// type or an integration-level reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stated {
    /// A record-level type.
    Type(ErrorType),
    /// An integration-level suspension reason.
    Reason(SuspensionReason),
}

impl Stated {
    /// Reads a stated code: a type code or a reason code of the taxonomy,
    /// in any ASCII case, with `-` or a space for `_`, blanks around
    /// ignored. `UNKNOWN` is the record-level type (the reason is stated
    /// with its enum). `None` when it is neither.
    pub fn from_code(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() || text.len() > 64 {
            return None;
        }
        let code: String = text
            .chars()
            .map(|c| match c {
                '-' | ' ' => '_',
                c => c.to_ascii_uppercase(),
            })
            .collect();
        ErrorType::from_code(&code)
            .map(Stated::Type)
            .or_else(|| SuspensionReason::from_code(&code).map(Stated::Reason))
    }

    /// Its canonical code.
    pub fn code(self) -> &'static str {
        match self {
            Stated::Type(t) => t.code(),
            Stated::Reason(r) => r.code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROTO: &str = include_str!("../../../proto/syncgov/taxonomy/v1/taxonomy.proto");

    /// `(code, number)` of every `<PREFIX><CODE> = n;` line of the proto,
    /// without the `UNSPECIFIED` zero value.
    fn proto_values(prefix: &str) -> Vec<(String, i32)> {
        PROTO
            .lines()
            .filter_map(|line| {
                let rest = line.trim().strip_prefix(prefix)?;
                let (code, value) = rest.split_once('=')?;
                let value = value.trim().strip_suffix(';')?.trim().parse().ok()?;
                Some((code.trim().to_owned(), value))
            })
            .filter(|(code, _)| code != "UNSPECIFIED")
            .collect()
    }

    #[test]
    fn categories_match_the_proto() {
        let values = proto_values("ERROR_CATEGORY_");
        assert_eq!(values.len(), Category::ALL.len());
        for (code, number) in values {
            let category = Category::from_code(&code).unwrap_or_else(|| panic!("{code}"));
            assert_eq!(category.number(), number, "{code}");
            assert_eq!(category.code(), code);
        }
    }

    #[test]
    fn error_types_match_the_proto() {
        let values = proto_values("ERROR_TYPE_");
        assert_eq!(values.len(), ErrorType::ALL.len());
        for (code, number) in values {
            let error_type = ErrorType::from_code(&code).unwrap_or_else(|| panic!("{code}"));
            assert_eq!(error_type.number(), number, "{code}");
            assert_eq!(error_type.code(), code);
        }
    }

    #[test]
    fn suspension_reasons_match_the_proto() {
        let values = proto_values("SUSPENSION_REASON_");
        assert_eq!(values.len(), SuspensionReason::ALL.len());
        for (code, number) in values {
            let reason = SuspensionReason::from_code(&code).unwrap_or_else(|| panic!("{code}"));
            assert_eq!(reason.number(), number, "{code}");
            assert_eq!(reason.code(), code);
        }
    }

    #[test]
    fn the_proto_brackets_name_each_types_category() {
        // `// [PICKLIST] ...` above `ERROR_TYPE_INACTIVE_OWNER = 15;`
        let mut bracket = None;
        let mut checked = 0;
        for line in PROTO.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("// [") {
                bracket = rest.split_once(']').map(|(code, _)| code.to_owned());
            } else if let Some(rest) = line.strip_prefix("ERROR_TYPE_") {
                let code = rest.split_once('=').map_or(rest, |(c, _)| c).trim();
                if let (Some(t), Some(c)) = (ErrorType::from_code(code), bracket.take()) {
                    assert_eq!(t.category().code(), c, "{code}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, ErrorType::ALL.len());
    }

    #[test]
    fn bases_match_the_proto() {
        let values = proto_values("CLASSIFICATION_BASIS_");
        assert_eq!(values.len(), Basis::ALL.len());
        for (code, number) in values {
            let basis = Basis::from_code(&code).unwrap_or_else(|| panic!("{code}"));
            assert_eq!(basis.number(), number, "{code}");
            assert_eq!(Basis::from_number(number), Some(basis));
        }
        assert_eq!(Basis::from_number(0), None);
        assert_eq!(Basis::from_number(7), None);
    }

    #[test]
    fn stated_codes_read_types_then_reasons_in_any_spelling() {
        assert_eq!(
            Stated::from_code(" email-already-in-use "),
            Some(Stated::Type(ErrorType::EmailAlreadyInUse))
        );
        assert_eq!(
            Stated::from_code("Missing Field Mappings"),
            Some(Stated::Reason(SuspensionReason::MissingFieldMappings))
        );
        assert_eq!(
            Stated::from_code("UNKNOWN"),
            Some(Stated::Type(ErrorType::Unknown))
        );
        for t in ErrorType::ALL {
            assert_eq!(Stated::from_code(t.code()), Some(Stated::Type(t)));
        }
        for r in SuspensionReason::ALL
            .into_iter()
            .filter(|r| *r != SuspensionReason::Unknown)
        {
            assert_eq!(Stated::from_code(r.code()), Some(Stated::Reason(r)));
        }
        for bad in ["", "  ", "NOPE", "STRING__TOO_LONG", &"A".repeat(65)] {
            assert_eq!(Stated::from_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn codes_and_numbers_round_trip() {
        for (i, c) in Category::ALL.into_iter().enumerate() {
            assert_eq!(Category::from_code(c.code()), Some(c));
            assert_eq!(Category::from_number(c.number()), Some(c));
            assert_eq!(c.number(), i as i32 + 1);
        }
        for (i, t) in ErrorType::ALL.into_iter().enumerate() {
            assert_eq!(ErrorType::from_code(t.code()), Some(t));
            assert_eq!(ErrorType::from_number(t.number()), Some(t));
            assert_eq!(t.number(), i as i32 + 1);
        }
        for (i, r) in SuspensionReason::ALL.into_iter().enumerate() {
            assert_eq!(SuspensionReason::from_code(r.code()), Some(r));
            assert_eq!(SuspensionReason::from_number(r.number()), Some(r));
            assert_eq!(r.number(), i as i32 + 1);
        }
    }

    #[test]
    fn unknown_codes_and_numbers_are_none() {
        for n in [i32::MIN, -1, 0, 9, i32::MAX] {
            assert_eq!(Category::from_number(n), None, "{n}");
        }
        for n in [i32::MIN, -1, 0, 33, i32::MAX] {
            assert_eq!(ErrorType::from_number(n), None, "{n}");
        }
        for n in [i32::MIN, -1, 0, 14, i32::MAX] {
            assert_eq!(SuspensionReason::from_number(n), None, "{n}");
        }
        for code in [
            "",
            "string_too_long",
            "ERROR_TYPE_STRING_TOO_LONG",
            "UNSPECIFIED",
        ] {
            assert_eq!(ErrorType::from_code(code), None, "{code}");
            assert_eq!(Category::from_code(code), None, "{code}");
            assert_eq!(SuspensionReason::from_code(code), None, "{code}");
        }
    }

    #[test]
    fn every_type_is_listed_by_its_category_in_proto_order() {
        let listed: Vec<ErrorType> = Category::ALL
            .into_iter()
            .flat_map(|c| c.types().iter().copied())
            .collect();
        assert_eq!(listed, ErrorType::ALL);
        for t in ErrorType::ALL {
            assert!(t.category().types().contains(&t), "{t:?}");
        }
    }

    #[test]
    fn every_guidance_is_a_few_sentences() {
        let guidances = ErrorType::ALL.into_iter().map(ErrorType::guidance).chain(
            SuspensionReason::ALL
                .into_iter()
                .map(SuspensionReason::guidance),
        );
        for g in guidances {
            assert!(!g.trim().is_empty());
            assert!(g.ends_with('.'), "{g}");
            assert!(!g.contains("  "), "{g}");
            let sentences = g.matches(". ").count() + 1;
            assert!((1..=3).contains(&sentences), "{g}");
        }
    }

    #[test]
    fn the_proto_comments_agree_on_who_clears() {
        // The proto says "Clears by itself." or "Operator clears." per reason.
        let mut checked = 0;
        let mut comment = String::new();
        for line in PROTO.lines().map(str::trim) {
            if let Some(c) = line.strip_prefix("//") {
                comment = c.to_owned();
            } else if let Some(rest) = line.strip_prefix("SUSPENSION_REASON_") {
                let code = rest.split_once('=').map_or(rest, |(c, _)| c).trim();
                if let Some(r) = SuspensionReason::from_code(code) {
                    let by_itself = comment.contains("Clears by itself");
                    assert!(by_itself || comment.contains("Operator clears"), "{code}");
                    assert_eq!(r.clears_by_itself(), by_itself, "{code}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, SuspensionReason::ALL.len());
    }
}
