//! Every value of Salesforce's `StatusCode` enumeration (`data/status_codes.txt`,
//! with its source) and what it means here: a cue of the classifier, which
//! resolves to a record-level type or a suspension reason, or deliberately
//! `Unsupported` (OTHER/UNKNOWN) with why. The login, OAuth and Bulk API
//! codes that are not status codes, and bare HTTP answers, are in
//! [`OTHER_CODES`]. docs/SYNC_ERRORS.md lists both tables; tests check
//! that every listed code is here and that the docs agree.

use super::Cue;

/// `(code, cue, why)` for every value of `StatusCode`, in the list's order.
pub(super) const STATUS_CODES: &[(&str, Cue, &str)] = &[
    (
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        Cue::Unsupported,
        "rolled back or refused for another record or a concurrent change: that error says why; resync",
    ),
    (
        "ALREADY_IN_PROCESS",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "APEX_DATA_ACCESS_RESTRICTION",
        Cue::RecordAccess,
        "the integration user lacks access to the record or the action",
    ),
    (
        "ASSIGNEE_TYPE_REQUIRED",
        Cue::OwnerAssignment,
        "the owner or assignee cannot be set",
    ),
    (
        "AURA_COMPILE_ERROR",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "AUTH_PROVIDER_NEEDS_AUTH",
        Cue::Unsupported,
        "a third-party auth provider of the org's users, not the integration's login",
    ),
    (
        "AUTH_PROVIDER_NOT_FOUND",
        Cue::Unsupported,
        "a third-party auth provider of the org's users, not the integration's login",
    ),
    (
        "BAD_CUSTOM_ENTITY_PARENT_DOMAIN",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "BCC_NOT_ALLOWED_IF_BCC_COMPLIANCE_ENABLED",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "CANNOT_CASCADE_PRODUCT_ACTIVE",
        Cue::InvalidValue,
        "a value the org does not accept",
    ),
    (
        "CANNOT_CHANGE_FIELD_TYPE_OF_APEX_REFERENCED_FIELD",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_CHANGE_FIELD_TYPE_OF_REFERENCED_FIELD",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_CREATE_ANOTHER_MANAGED_PACKAGE",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_DEACTIVATE_DIVISION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_DELETE_GLOBAL_ACTION_LIST",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_DELETE_LAST_DATED_CONVERSION_RATE",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_DELETE_MANAGED_OBJECT",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_DISABLE_LAST_ADMIN",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_ENABLE_IP_RESTRICT_REQUESTS",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_EXECUTE_FLOW_TRIGGER",
        Cue::Flow,
        "a flow or process failed",
    ),
    (
        "CANNOT_FREEZE_SELF",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        Cue::EntityWrapper,
        "says only that the save failed: the text decides, else an Apex trigger or other automation",
    ),
    (
        "CANNOT_MODIFY_MANAGED_OBJECT",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_PASSWORD_LOCKOUT",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_POST_TO_ARCHIVED_GROUP",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_RENAME_APEX_REFERENCED_FIELD",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_RENAME_APEX_REFERENCED_OBJECT",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_RENAME_REFERENCED_FIELD",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_RENAME_REFERENCED_OBJECT",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANNOT_REPARENT_RECORD",
        Cue::FieldNotWritable,
        "a field the integration user may not write",
    ),
    (
        "CANNOT_UPDATE_CONVERTED_LEAD",
        Cue::MissingRecord,
        "the referenced record is gone or out of reach",
    ),
    (
        "CANT_DISABLE_CORP_CURRENCY",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CANT_UNSET_CORP_CURRENCY",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CHILD_SHARE_FAILS_PARENT",
        Cue::RecordAccess,
        "the integration user lacks access to the record or the action",
    ),
    (
        "CIRCULAR_DEPENDENCY",
        Cue::InvalidValue,
        "a value the org does not accept",
    ),
    (
        "CLEAN_SERVICE_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "CLONE_FIELD_INTEGRITY_EXCEPTION",
        Cue::FieldIntegrity,
        "a value breaks a platform constraint: the text says which",
    ),
    (
        "CLONE_NOT_SUPPORTED",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "COLLISION_DETECTED",
        Cue::Unsupported,
        "rolled back or refused for another record or a concurrent change: that error says why; resync",
    ),
    (
        "COMMERCIAL_CONTROL_ERROR",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "COMMUNITY_NOT_ACCESSIBLE",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "CONFLICTING_ENVIRONMENT_HUB_MEMBER",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CONFLICTING_SSO_USER_MAPPING",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CONTENT_TYPE_NOT_FOUND",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "CUSTOM_APEX_ERROR",
        Cue::Apex,
        "Apex code failed (only Apex can cause it)",
    ),
    (
        "CUSTOM_CLOB_FIELD_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CUSTOM_ENTITY_OR_FIELD_LIMIT",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CUSTOM_FIELD_INDEX_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CUSTOM_INDEX_EXISTS",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CUSTOM_LINK_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CUSTOM_METADATA_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CUSTOM_METADATA_REL_FIELD_MANAGEABILITY",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CUSTOM_SETTINGS_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "CUSTOM_TAB_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "DATAASSESSMENT_CONFIG_ASSESSMENT_IN_PROGRESS_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "DATAASSESSMENT_CONFIG_SERVICE_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "DATACLOUDADDRESS_NO_RECORDS_FOUND",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "DATACLOUDADDRESS_PROCESSING_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "DATACLOUDADDRESS_SERVER_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "DELETE_FAILED",
        Cue::Unsupported,
        "deleting, merging or undeleting records: the message says why",
    ),
    (
        "DELETE_NOT_ALLOWED",
        Cue::Unsupported,
        "deleting, merging or undeleting records: the message says why",
    ),
    (
        "DELETE_OPERATION_TOO_LARGE",
        Cue::CascadeLimit,
        "the record has too many children to delete with it (`Cascade deleting too many records`)",
    ),
    (
        "DELETE_REQUIRED_ON_CASCADE",
        Cue::Unsupported,
        "deleting, merging or undeleting records: the message says why",
    ),
    (
        "DEPENDENCY_EXISTS",
        Cue::Unsupported,
        "deleting, merging or undeleting records: the message says why",
    ),
    (
        "DUPLICATES_DETECTED",
        Cue::DuplicateRule,
        "a duplicate rule blocked the record",
    ),
    (
        "DUPLICATE_CASE_SOLUTION",
        Cue::UniqueValue,
        "a unique value is already used",
    ),
    (
        "DUPLICATE_COMM_NICKNAME",
        Cue::UniqueValue,
        "a unique value is already used",
    ),
    (
        "DUPLICATE_CUSTOM_ENTITY_DEFINITION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "DUPLICATE_CUSTOM_TAB_MOTIF",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "DUPLICATE_DEVELOPER_NAME",
        Cue::UniqueValue,
        "a unique value is already used: another record of the type has the developer name",
    ),
    (
        "DUPLICATE_EXTERNAL_ID",
        Cue::UniqueValue,
        "a unique value is already used",
    ),
    (
        "DUPLICATE_MASTER_LABEL",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "DUPLICATE_SENDER_DISPLAY_NAME",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "DUPLICATE_USERNAME",
        Cue::UniqueValue,
        "a unique value is already used",
    ),
    (
        "DUPLICATE_VALUE",
        Cue::UniqueValue,
        "a unique value is already used",
    ),
    (
        "EMAIL_ADDRESS_BOUNCED",
        Cue::InvalidEmail,
        "the record's e-mail address is marked as bounced",
    ),
    (
        "EMAIL_EXTERNAL_TRANSPORT_CONNECTION_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "EMAIL_EXTERNAL_TRANSPORT_PERMISSION_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "EMAIL_EXTERNAL_TRANSPORT_TOKEN_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "EMAIL_EXTERNAL_TRANSPORT_TOO_MANY_REQUESTS_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "EMAIL_EXTERNAL_TRANSPORT_UNKNOWN_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "EMAIL_NOT_PROCESSED_DUE_TO_PRIOR_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "EMAIL_OPTED_OUT",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "EMAIL_TEMPLATE_FORMULA_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "EMAIL_TEMPLATE_MERGEFIELD_ACCESS_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "EMAIL_TEMPLATE_MERGEFIELD_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "EMAIL_TEMPLATE_MERGEFIELD_VALUE_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "EMAIL_TEMPLATE_PROCESSING_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "EMPTY_SCONTROL_FILE_NAME",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "ENHANCED_EMAIL_TEMPLATE_COMPILATION_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "ENTITY_FAILED_IFLASTMODIFIED_ON_UPDATE",
        Cue::Unsupported,
        "rolled back or refused for another record or a concurrent change: that error says why; resync",
    ),
    (
        "ENTITY_IS_ARCHIVED",
        Cue::MissingRecord,
        "the referenced record is gone or out of reach",
    ),
    (
        "ENTITY_IS_DELETED",
        Cue::MissingRecord,
        "the referenced record is gone or out of reach",
    ),
    (
        "ENTITY_IS_LOCKED",
        Cue::MissingRecord,
        "the record is locked for editing (an approval): out of reach until unlocked",
    ),
    (
        "ENTITY_SAVE_ERROR",
        Cue::Generic,
        "says only that the input or save was refused: the text decides",
    ),
    (
        "ENTITY_SAVE_VALIDATION_ERROR",
        Cue::Generic,
        "says only that the input or save was refused: the text decides",
    ),
    (
        "ENVIRONMENT_HUB_MEMBERSHIP_CONFLICT",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "ENVIRONMENT_HUB_MEMBERSHIP_ERROR_JOINING_HUB",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "ENVIRONMENT_HUB_MEMBERSHIP_USER_ALREADY_IN_HUB",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "ENVIRONMENT_HUB_MEMBERSHIP_USER_NOT_ORG_ADMIN",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "ERROR_IN_MAILER",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "EXCEEDED_MAX_SEMIJOIN_SUBSELECTS_WRITE",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "EXCHANGE_WEB_SERVICES_URL_INVALID",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "EXTERNAL_RESOURCE_FORBIDDEN",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "FAILED_ACTIVATION",
        Cue::InvalidValue,
        "an order or contract that cannot be activated as it stands (`An order must have at least one product`): the status asked for is refused",
    ),
    (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        Cue::ValidationRule,
        "a validation rule rejected the record",
    ),
    (
        "FIELD_FILTER_VALIDATION_EXCEPTION",
        Cue::LookupFilter,
        "a lookup filter: its default text means a wrong id, an admin-written one is a custom rule",
    ),
    (
        "FIELD_INTEGRITY_EXCEPTION",
        Cue::FieldIntegrity,
        "a value breaks a platform constraint: the text says which",
    ),
    (
        "FIELD_KEYWORD_LIST_MATCH_LIMIT",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "FIELD_MAPPING_ERROR",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "FIELD_MODERATION_RULE_BLOCK",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "FIELD_NOT_UPDATABLE",
        Cue::FieldNotWritable,
        "a field the integration user may not write",
    ),
    (
        "FILE_EXTENSION_NOT_ALLOWED",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "FILE_SIZE_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "FILTERED_LOOKUP_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "FIND_DUPLICATES_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    ("FLOW_EXCEPTION", Cue::Flow, "a flow or process failed"),
    (
        "FUNCTIONALITY_NOT_ENABLED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "HAS_PUBLIC_REFERENCES",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "HTML_FILE_UPLOAD_NOT_ALLOWED",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "IMAGE_TOO_LARGE",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "INACTIVE_OWNER_OR_USER",
        Cue::InactiveOwner,
        "the owner or a referenced user is inactive",
    ),
    (
        "INACTIVE_RULE_ERROR",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE",
        Cue::Maintenance,
        "the org is read-only for maintenance, wherever the code is named",
    ),
    (
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
        Cue::MissingRecord,
        "the referenced record is gone or out of reach",
    ),
    (
        "INSUFFICIENT_ACCESS_OR_READONLY",
        Cue::RecordAccess,
        "the integration user lacks access to the record or the action",
    ),
    (
        "INSUFFICIENT_ACCESS_TO_INSIGHTSEXTERNALDATA",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INSUFFICIENT_CREDITS",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INTERNAL_ERROR",
        Cue::UnknownException,
        "Salesforce failed without saying why: the text decides, else a server error",
    ),
    (
        "INVALID_ACCESS_LEVEL",
        Cue::InvalidValue,
        "a share row's access level below the org's defaults: that row's value",
    ),
    (
        "INVALID_ACCESS_TOKEN",
        Cue::Auth,
        "the integration user's session or token no longer works",
    ),
    (
        "INVALID_API_INPUT",
        Cue::Generic,
        "says only that the input or save was refused: the text decides",
    ),
    (
        "INVALID_ARGUMENT_TYPE",
        Cue::TypeMismatch,
        "a value of the wrong type for its field",
    ),
    (
        "INVALID_ASSIGNEE_TYPE",
        Cue::OwnerAssignment,
        "the owner or assignee cannot be set",
    ),
    (
        "INVALID_ASSIGNMENT_RULE",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_AUTH_HEADER",
        Cue::Auth,
        "the integration user's session or token no longer works",
    ),
    (
        "INVALID_BATCH_OPERATION",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "INVALID_CONTENT_TYPE",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "INVALID_CREDIT_CARD_INFO",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_CROSS_REFERENCE_KEY",
        Cue::CrossReference,
        "a lookup to an id that does not exist (a record type on RecordTypeId)",
    ),
    (
        "INVALID_CROSS_REFERENCE_TYPE_FOR_FIELD",
        Cue::IncorrectId,
        "an id of the wrong kind or form",
    ),
    (
        "INVALID_CURRENCY_CONV_RATE",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_CURRENCY_CORP_RATE",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_CURRENCY_ISO",
        Cue::MissingPicklistOption,
        "the value is not an option of the org (a currency not enabled)",
    ),
    (
        "INVALID_DATASET_REFERENCE_INPUT",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_DATA_CATEGORY_GROUP_REFERENCE",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_DATA_URI",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "INVALID_EMAIL_ADDRESS",
        Cue::InvalidEmail,
        "an e-mail address is invalid",
    ),
    (
        "INVALID_EMPTY_KEY_OWNER",
        Cue::OwnerAssignment,
        "the owner or assignee cannot be set",
    ),
    (
        "INVALID_ENTITY_FOR_MATCH_ENGINE_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "INVALID_ENTITY_FOR_MATCH_OPERATION_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "INVALID_ENTITY_FOR_UPSERT",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "INVALID_ENVIRONMENT_HUB_MEMBER",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_EVENT_DELIVERY",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "INVALID_EVENT_INPUT",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "INVALID_EVENT_SUBSCRIPTION",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "INVALID_EXTENSION_ID",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "INVALID_FIELD",
        Cue::InvalidField,
        "a field the integration user cannot see or edit",
    ),
    (
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        Cue::FieldNotWritable,
        "a field the integration user may not write",
    ),
    (
        "INVALID_FIELD_WHEN_USING_TEMPLATE",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "INVALID_FILTER_ACTION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_GOOGLE_DOCS_URL",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "INVALID_ID_FIELD",
        Cue::IncorrectId,
        "an id of the wrong kind or form",
    ),
    (
        "INVALID_INET_ADDRESS",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "INVALID_INPUT",
        Cue::Generic,
        "says only that the input or save was refused: the text decides",
    ),
    (
        "INVALID_INPUT_FORMAT",
        Cue::Generic,
        "says only that the input or save was refused: the text decides",
    ),
    (
        "INVALID_KEY_FIELD_INPUT",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "INVALID_LINEITEM_CLONE_STATE",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "INVALID_MARKUP",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "INVALID_MASTER_OR_TRANSLATED_SOLUTION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_MESSAGE_ID_REFERENCE",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "INVALID_NAMESPACE_PREFIX",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_OAUTH_URL",
        Cue::Unsupported,
        "a third-party auth provider of the org's users, not the integration's login",
    ),
    (
        "INVALID_OPERATION",
        Cue::Generic,
        "says only that the input or save was refused: the text decides",
    ),
    (
        "INVALID_OPERATOR",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        Cue::RestrictedPicklist,
        "a value outside a restricted picklist",
    ),
    (
        "INVALID_OWNER",
        Cue::OwnerAssignment,
        "the owner or assignee cannot be set",
    ),
    (
        "INVALID_PACKAGE_LICENSE",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_PACKAGE_VERSION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_PARTNER_NETWORK_STATUS",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_PAYLOAD_VERSION",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "INVALID_PERSON_ACCOUNT_OPERATION",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "INVALID_PROVIDER_TYPE",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_QUERY_KEY",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "INVALID_QUERY_LOCATOR",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "INVALID_QUERY_VALUE",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "INVALID_READ_ONLY_USER_DML",
        Cue::RecordAccess,
        "the integration user lacks access to the record or the action",
    ),
    (
        "INVALID_REFRESH_TOKEN",
        Cue::Auth,
        "the integration user's session or token no longer works",
    ),
    (
        "INVALID_REQUEST_STATE",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "INVALID_RUNTIME_VALUE",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "INVALID_SAVE_AS_ACTIVITY_FLAG",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "INVALID_SCS_INBOUND_USER",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "INVALID_SESSION_ID",
        Cue::Auth,
        "the integration user's session or token no longer works",
    ),
    (
        "INVALID_SETUP_OWNER",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_SIGNUP_COUNTRY",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_SIGNUP_OPTION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_SITE_DELETE_EXCEPTION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_SITE_FILE_IMPORTED_EXCEPTION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_SITE_FILE_TYPE_EXCEPTION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_STATUS",
        Cue::InvalidValue,
        "a value the org does not accept",
    ),
    (
        "INVALID_SUBDOMAIN",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "INVALID_TEXT_REPRESENTATION",
        Cue::TypeMismatch,
        "a value of the wrong type for its field",
    ),
    (
        "INVALID_TYPE",
        Cue::HiddenObject,
        "an object the integration user cannot see: org-wide only when the text says the sObject type is not supported",
    ),
    (
        "INVALID_TYPE_FOR_OPERATION",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        Cue::TypeMismatch,
        "a value of the wrong type for its field",
    ),
    (
        "INVALID_USERID",
        Cue::IncorrectId,
        "an id of the wrong kind or form",
    ),
    (
        "IP_RANGE_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "ITEM_NOT_FOUND",
        Cue::MissingRecord,
        "the referenced record is gone or out of reach",
    ),
    (
        "JIGSAW_IMPORT_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "LICENSE_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "LIGHT_PORTAL_USER_EXCEPTION",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "LIMIT_EXCEEDED",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "LIST_PRICE_NOT_FOUND",
        Cue::InvalidValue,
        "a value the org does not accept",
    ),
    (
        "MALFORMED_ID",
        Cue::IncorrectId,
        "an id of the wrong kind or form",
    ),
    (
        "MANAGER_NOT_DEFINED",
        Cue::Apex,
        "an approval process routes the save to a manager the user does not have: the org's automation refuses the record",
    ),
    (
        "MASSMAIL_RETRY_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "MASS_MAIL_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "MATCH_DEFINITION_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "MATCH_OPERATION_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "MATCH_OPERATION_INVALID_ENGINE_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "MATCH_OPERATION_INVALID_RULE_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "MATCH_OPERATION_MISSING_ENGINE_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "MATCH_OPERATION_MISSING_OBJECT_TYPE_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "MATCH_OPERATION_MISSING_OPTIONS_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "MATCH_OPERATION_MISSING_RULE_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "MATCH_OPERATION_UNKNOWN_RULE_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "MATCH_OPERATION_UNSUPPORTED_VERSION_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "MATCH_PRECONDITION_FAILED",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "MATCH_RUNTIME_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "MATCH_SERVICE_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "MATCH_SERVICE_TIMED_OUT",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "MATCH_SERVICE_UNAVAILABLE_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "MAXIMUM_CCEMAILS_EXCEEDED",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "MAXIMUM_DASHBOARD_COMPONENTS_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "MAXIMUM_HIERARCHY_CHILDREN_REACHED",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "MAXIMUM_HIERARCHY_LEVELS_REACHED",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "MAXIMUM_HIERARCHY_TREE_SIZE_REACHED",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "MAXIMUM_SIZE_OF_ATTACHMENT",
        Cue::InvalidValue,
        "a file's body larger than Salesforce accepts: the record's value",
    ),
    (
        "MAXIMUM_SIZE_OF_DOCUMENT",
        Cue::InvalidValue,
        "a file's body larger than Salesforce accepts: the record's value",
    ),
    (
        "MAX_ACTIONS_PER_RULE_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "MAX_ACTIVE_RULES_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "MAX_APPROVAL_STEPS_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "MAX_DEPTH_IN_FLOW_EXECUTION",
        Cue::Flow,
        "a flow or process failed",
    ),
    (
        "MAX_FORMULAS_PER_RULE_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "MAX_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "MAX_RULES_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "MAX_RULE_ENTRIES_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "MAX_TASK_DESCRIPTION_EXCEEEDED",
        Cue::TooLong,
        "a value is longer than the field allows",
    ),
    (
        "MAX_TM_RULES_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "MAX_TM_RULE_ITEMS_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "MAX_TRIGGERS_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "MERGE_FAILED",
        Cue::Unsupported,
        "deleting, merging or undeleting records: the message says why",
    ),
    (
        "METADATA_FIELD_UPDATE_ERROR",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "MISSING_ARGUMENT",
        Cue::MissingId,
        "a required id or argument was not given",
    ),
    (
        "MISSING_RECORD",
        Cue::MissingRecord,
        "the referenced record is gone or out of reach",
    ),
    (
        "MIXED_DML_OPERATION",
        Cue::Apex,
        "Apex code failed (only Apex can cause it)",
    ),
    (
        "NONUNIQUE_SHIPPING_ADDRESS",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "NO_ACCESS_TOKEN",
        Cue::Unsupported,
        "a third-party auth provider of the org's users, not the integration's login",
    ),
    (
        "NO_ACCESS_TOKEN_FROM_REFRESH",
        Cue::Unsupported,
        "a third-party auth provider of the org's users, not the integration's login",
    ),
    (
        "NO_APPLICABLE_PROCESS",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "NO_ATTACHMENT_PERMISSION",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "NO_AUTH_PROVIDER",
        Cue::Unsupported,
        "a third-party auth provider of the org's users, not the integration's login",
    ),
    (
        "NO_INACTIVE_DIVISION_MEMBERS",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "NO_MASS_MAIL_PERMISSION",
        Cue::RecordAccess,
        "the user or org may not send the e-mail the save sends: a permission",
    ),
    (
        "NO_PARTNER_PERMISSION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "NO_REFRESH_TOKEN",
        Cue::Unsupported,
        "a third-party auth provider of the org's users, not the integration's login",
    ),
    (
        "NO_SUCH_USER_EXISTS",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "NO_TOKEN_ENDPOINT",
        Cue::Unsupported,
        "a third-party auth provider of the org's users, not the integration's login",
    ),
    (
        "NUMBER_OUTSIDE_VALID_RANGE",
        Cue::OutOfRange,
        "a number outside the field's range",
    ),
    (
        "NUM_HISTORY_FIELDS_BY_SOBJECT_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "OPERATION_ENQUEUED",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "OPTED_OUT_OF_MASS_MAIL",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "OP_WITH_INVALID_USER_TYPE_EXCEPTION",
        Cue::OwnerAssignment,
        "a record given to a user whose licence cannot take it (a Chatter Free or portal user as owner): the owner sent",
    ),
    (
        "ORCHESTRATION_INVALID",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "ORDER_MANAGEMENT_ACTION_NOT_ALLOWED",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "ORDER_MANAGEMENT_RECORD_EXISTS",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "ORDER_MANAGEMENT_RECORD_NOT_FOUND",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "PACKAGE_DISABLED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PACKAGE_LICENSE_REQUIRED",
        Cue::RecordAccess,
        "the integration user lacks access to the record or the action",
    ),
    (
        "PACKAGING_API_INSTALL_FAILED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PACKAGING_API_UNINSTALL_FAILED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PALI_INVALID_ACTION_ID",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PALI_INVALID_ACTION_NAME",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PALI_INVALID_ACTION_TYPE",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PAL_INVALID_ASSISTANT_RECOMMENDATION_TYPE_ID",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PAL_INVALID_ENTITY_ID",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PAL_INVALID_FLEXIPAGE_ID",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PAL_INVALID_LAYOUT_ID",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PAL_INVALID_PARAMETERS",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PAYLOAD_SIZE_EXCEEDED",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "PA_API_EXCEPTION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PA_AXIS_FAULT",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PA_INVALID_ID_EXCEPTION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PA_NO_ACCESS_EXCEPTION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PA_NO_DATA_FOUND_EXCEPTION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PA_URI_SYNTAX_EXCEPTION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PA_VISIBLE_ACTIONS_FILTER_ORDERING_EXCEPTION",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "PLATFORM_EVENT_ENCRYPTION_ERROR",
        Cue::UnclearRefusal,
        "platform events Salesforce could not encrypt (the org's encryption set-up or the service): none publishes until it clears; probed",
    ),
    (
        "PLATFORM_EVENT_PUBLISHING_UNAVAILABLE",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "PLATFORM_EVENT_PUBLISH_FAILED",
        Cue::ServerError,
        "a platform event Salesforce could not publish after its own retries: a fault on its side, try again later",
    ),
    (
        "PORTAL_NO_ACCESS",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "PORTAL_USER_ALREADY_EXISTS_FOR_CONTACT",
        Cue::UniqueValue,
        "a unique value is already used: the contact has its portal user",
    ),
    (
        "PORTAL_USER_CREATION_RESTRICTED_WITH_ENCRYPTION",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "PRICE_NOT_FOUND",
        Cue::InvalidValue,
        "a value the org does not accept",
    ),
    (
        "PRIVATE_CONTACT_ON_ASSET",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "PROCESSING_HALTED",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "QA_INVALID_CREATE_FEED_ITEM",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "QA_INVALID_SUCCESS_MESSAGE",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "QUERY_TIMEOUT",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "QUICK_ACTION_LIST_ITEM_NOT_ALLOWED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "QUICK_ACTION_LIST_NOT_ALLOWED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "RECORD_IN_USE_BY_WORKFLOW",
        Cue::Unsupported,
        "deleting, merging or undeleting records: the message says why",
    ),
    (
        "RELATED_ENTITY_FILTER_VALIDATION_EXCEPTION",
        Cue::LookupFilter,
        "a lookup filter: its default text means a wrong id, an admin-written one is a custom rule",
    ),
    (
        "REL_FIELD_BAD_ACCESSIBILITY",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "REPUTATION_MINIMUM_NUMBER_NOT_REACHED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "REQUEST_RUNNING_TOO_LONG",
        Cue::Unsupported,
        "a query or call of the client, not a record: escalate",
    ),
    (
        "REQUIRED_FEATURE_MISSING",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "REQUIRED_FIELD_MISSING",
        Cue::RequiredMissing,
        "a required field is empty",
    ),
    (
        "REQUIRE_CONNECTED_APP_SCS",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "REQUIRE_CONNECTED_APP_SESSION_SCS",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "REQUIRE_RUNAS_USER",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "RETRIEVE_EXCHANGE_ATTACHMENT_FAILED",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "RETRIEVE_EXCHANGE_EMAIL_FAILED",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "RETRIEVE_EXCHANGE_EVENT_FAILED",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "RETRIEVE_GOOGLE_EMAIL_FAILED",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "RETRIEVE_GOOGLE_EVENT_FAILED",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "RETRIEVE_USER_CONFIG_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "SALESFORCE_INBOX_TRANSPORT_CONNECTION_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "SALESFORCE_INBOX_TRANSPORT_INVALID_INPUT_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "SALESFORCE_INBOX_TRANSPORT_TOKEN_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "SALESFORCE_INBOX_TRANSPORT_UNKNOWN_ERROR",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "SELF_REFERENCE_FROM_FLOW",
        Cue::Flow,
        "a flow or process failed",
    ),
    (
        "SELF_REFERENCE_FROM_TRIGGER",
        Cue::Apex,
        "Apex code failed (only Apex can cause it)",
    ),
    (
        "SHARE_NEEDED_FOR_CHILD_OWNER",
        Cue::RecordAccess,
        "the integration user lacks access to the record or the action",
    ),
    (
        "SINGLE_EMAIL_LIMIT_EXCEEDED",
        Cue::Apex,
        "the org's code sending e-mail on a save ran past the day's e-mails: its automation",
    ),
    (
        "SOCIAL_ACCOUNT_NOT_FOUND",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "SOCIAL_ACTION_INVALID",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "SOCIAL_PERSONA_NOT_FOUND",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "SOCIAL_POST_INVALID",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "SOCIAL_POST_NOT_FOUND",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "STANDARD_PRICE_NOT_DEFINED",
        Cue::InvalidValue,
        "a value the org does not accept",
    ),
    (
        "STORAGE_LIMIT_EXCEEDED",
        Cue::Storage,
        "the org's data storage is full",
    ),
    (
        "STRING_TOO_LONG",
        Cue::TooLong,
        "a value is longer than the field allows",
    ),
    (
        "SUBDOMAIN_IN_USE",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "TABSET_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "TEMPLATE_NOT_ACTIVE",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "TEMPLATE_NOT_FOUND",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "TERMS_OF_SERVICE_UNREAD",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "TERRITORY_REALIGN_IN_PROGRESS",
        Cue::Lock,
        "another operation holds the records; it passes",
    ),
    (
        "TEXT_DATA_OUTSIDE_SUPPORTED_CHARSET",
        Cue::InvalidValue,
        "a value the org does not accept",
    ),
    (
        "TOO_MANY_APEX_REQUESTS",
        Cue::ConcurrentLimit,
        "too many concurrent long-running requests of the org",
    ),
    (
        "TOO_MANY_ENUM_VALUE",
        Cue::OptionLimit,
        "a multi-select picklist got more values than it holds",
    ),
    (
        "TOO_MANY_JOBS",
        Cue::ConcurrentLimit,
        "too many concurrent long-running requests of the org",
    ),
    (
        "TOO_MANY_POSSIBLE_USERS_EXIST",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "TRANSFER_REQUIRES_READ",
        Cue::OwnerAssignment,
        "the owner or assignee cannot be set",
    ),
    (
        "UNABLE_TO_LOCK_ROW",
        Cue::Lock,
        "another operation holds the records; it passes",
    ),
    (
        "UNAVAILABLE_RECORDTYPE_EXCEPTION",
        Cue::RecordType,
        "the record type is not available to the user",
    ),
    (
        "UNAVAILABLE_REF",
        Cue::Unsupported,
        "approvals, divisions, hierarchies and orders: escalate",
    ),
    (
        "UNDELETE_FAILED",
        Cue::Unsupported,
        "deleting, merging or undeleting records: the message says why",
    ),
    (
        "UNKNOWN_EXCEPTION",
        Cue::UnknownException,
        "Salesforce failed without saying why: the text decides, else a server error",
    ),
    (
        "UNKNOWN_TOKEN_ERROR",
        Cue::Unsupported,
        "a third-party auth provider of the org's users, not the integration's login",
    ),
    (
        "UNSAFE_HTML_CONTENT",
        Cue::InvalidValue,
        "a note's or rich text's body with markup Salesforce refuses: the value",
    ),
    (
        "UNSPECIFIED_EMAIL_ADDRESS",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "UNSUPPORTED_APEX_TRIGGER_OPERATON",
        Cue::Apex,
        "Apex code failed (only Apex can cause it)",
    ),
    (
        "UNSUPPORTED_SOCIAL_PROVIDER",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "UNVERIFIED_SENDER_ADDRESS",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "UPDATE_GOOGLE_EMAIL_LABEL_FAILED",
        Cue::Unsupported,
        "e-mail sending, not a record sync",
    ),
    (
        "USER_OWNS_PORTAL_ACCOUNT_EXCEPTION",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "USER_WITH_APEX_SHARES_EXCEPTION",
        Cue::Unsupported,
        "files, feeds, portals and social: not a synced record",
    ),
    (
        "VF_COMPILE_ERROR",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "WEBLINK_SIZE_LIMIT_EXCEEDED",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "WEBLINK_URL_INVALID",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "WRONG_CONTROLLER_TYPE",
        Cue::Unsupported,
        "setup, metadata or packaging: not what a record sync does",
    ),
    (
        "XCLEAN_DJ_MATCH_IGNORABLE_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "XCLEAN_DJ_MATCH_INTERNAL_DJ_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "XCLEAN_DJ_MATCH_NON_RETRIABLE_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "XCLEAN_DJ_MATCH_RETRIABLE_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "XCLEAN_DJ_MATCH_UNKNOWN_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
    (
        "XCLEAN_UNEXPECTED_ERROR",
        Cue::Unsupported,
        "a matching or data service (Data.com, duplicate matching engine): escalate",
    ),
];

/// `(code, cue, why)` for the codes Salesforce answers with that are not
/// values of `StatusCode`: the API's fault codes (`ExceptionCode`), the
/// Bulk API's exception codes (written `InvalidBatch`, compared as
/// `INVALID_BATCH`), the OAuth and login errors, the REST API's generic
/// codes, and bare HTTP answers that carry no code at all.
pub(super) const OTHER_CODES: &[(&str, Cue, &str)] = &[
    (
        "REQUEST_LIMIT_EXCEEDED",
        Cue::DailyLimit,
        "the org's rolling 24-hour API limit (a concurrent-request limit when the text says so)",
    ),
    (
        "EXCEEDED_QUOTA",
        Cue::DailyLimit,
        "the Bulk API's jobs or batches of the last 24 hours",
    ),
    (
        "API_DISABLED_FOR_ORG",
        Cue::ApiDisabled,
        "the API is not enabled for the org or the user",
    ),
    (
        "API_CURRENTLY_DISABLED",
        Cue::ApiDisabled,
        "the API is disabled for the org or the user",
    ),
    (
        "FEATURE_NOT_ENABLED",
        Cue::ApiDisabled,
        "the Bulk or async API is not enabled for the org",
    ),
    ("INVALID_LOGIN", Cue::Auth, "the login was refused"),
    (
        "LOGIN_MUST_USE_SECURITY_TOKEN",
        Cue::Auth,
        "the login needs a security token",
    ),
    (
        "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
        Cue::Auth,
        "the integration user's password expired",
    ),
    (
        "SSO_SERVICE_DOWN",
        Cue::Auth,
        "login: the org's single sign-on service does not answer, so no login succeeds",
    ),
    (
        "INVALID_SSO_GATEWAY_URL",
        Cue::Auth,
        "login: the org's single sign-on gateway address is invalid",
    ),
    (
        "LOGIN_CHALLENGE_ISSUED",
        Cue::Auth,
        "login: the user must verify this client (computer activation) before it may log in",
    ),
    (
        "LOGIN_CHALLENGE_PENDING",
        Cue::Auth,
        "login: the client's verification is still pending",
    ),
    (
        "CLIENT_NOT_ACCESSIBLE_FOR_USER",
        Cue::Auth,
        "login: the user may not use this client",
    ),
    (
        "CLIENT_REQUIRE_UPDATE_FOR_USER",
        Cue::Auth,
        "login: the client must be updated before the user may log in with it",
    ),
    (
        "MUTUAL_AUTHENTICATION_FAILED",
        Cue::Auth,
        "login: the client certificate the org requires was missing or refused",
    ),
    (
        "TRIAL_EXPIRED",
        Cue::Auth,
        "login: the org's trial has ended, and no login succeeds until it is bought",
    ),
    (
        "ORG_LOCKED",
        Cue::Auth,
        "login: Salesforce has locked the org, and no login succeeds until it is unlocked",
    ),
    (
        "ORG_IN_MAINTENANCE",
        Cue::Maintenance,
        "the org is being moved or upgraded, wherever the code is named",
    ),
    (
        "UNSUPPORTED_CLIENT",
        Cue::Auth,
        "the org refuses the client's connection (TLS 1.0, an old API version): no login until the client changes",
    ),
    (
        "UNSUPPORTED_API_VERSION",
        Cue::Auth,
        "the API version in the connection's address is not served by the org: no call succeeds until the connection is set to another",
    ),
    (
        "PASSWORD_LOCKOUT",
        Cue::Auth,
        "the integration user is locked out",
    ),
    (
        "INVALID_GRANT",
        Cue::Auth,
        "OAuth: the refresh token, code or credentials are no longer valid",
    ),
    (
        "INVALID_CLIENT",
        Cue::Auth,
        "OAuth: the connected app's credentials are refused",
    ),
    (
        "INVALID_CLIENT_ID",
        Cue::Auth,
        "OAuth: the connected app is unknown",
    ),
    (
        "INVALID_CLIENT_CREDENTIALS",
        Cue::Auth,
        "OAuth: the connected app's secret is refused",
    ),
    (
        "UNAUTHORIZED_CLIENT",
        Cue::Auth,
        "OAuth: the connected app may not use this flow",
    ),
    (
        "INVALID_APP_ACCESS",
        Cue::Auth,
        "OAuth: the user is not admin approved for the connected app",
    ),
    (
        "OAUTH_APP_BLOCKED",
        Cue::Auth,
        "OAuth: the connected app is blocked in the org",
    ),
    (
        "OAUTH_APPROVAL_ERROR_GENERIC",
        Cue::Auth,
        "OAuth: the org's policy refused the connected app",
    ),
    (
        "OAUTH_DISALLOWED_SCOPES",
        Cue::Auth,
        "OAuth: the connected app does not allow the scopes asked for",
    ),
    (
        "OAUTH_APP_ACCESS_DENIED",
        Cue::Auth,
        "OAuth: the user may not use the connected app (policy or IP range)",
    ),
    (
        "ACCESS_DENIED",
        Cue::Auth,
        "OAuth: the user declined the connected app, or may not approve it (`end-user denied authorization`)",
    ),
    (
        "OAUTH_EC_APP_NOT_FOUND",
        Cue::Auth,
        "OAuth: the external client app is not installed in the org",
    ),
    (
        "REDIRECT_URI_MISMATCH",
        Cue::Auth,
        "OAuth: the connected app's callback URL does not match its configuration",
    ),
    (
        "LOGIN_DURING_RESTRICTED_TIME",
        Cue::Auth,
        "the integration user's login hours refuse the login",
    ),
    (
        "LOGIN_DURING_RESTRICTED_DOMAIN",
        Cue::Auth,
        "the org's My Domain login policy refuses a login from this domain",
    ),
    (
        "APP_NOT_FOUND",
        Cue::Auth,
        "OAuth: the external client app is not installed in the org",
    ),
    (
        "INVALID_CREDENTIALS",
        Cue::Auth,
        "OAuth: the login was refused, as OAuth clients report it",
    ),
    (
        "UNKNOWN_ERROR",
        Cue::Transient,
        "OAuth: the token endpoint failed without a reason and asks for a retry: probed",
    ),
    (
        "INACTIVE_USER",
        Cue::Auth,
        "OAuth: the integration user is inactive",
    ),
    (
        "INACTIVE_ORG",
        Cue::Auth,
        "OAuth: the org is inactive or locked",
    ),
    (
        "INVALID_SCOPE",
        Cue::Auth,
        "OAuth: the connected app lacks a scope it needs",
    ),
    (
        "UNSUPPORTED_GRANT_TYPE",
        Cue::Auth,
        "OAuth: the token endpoint refuses the login flow the integration uses (not enabled for the connected app, or sent wrong): no call can succeed until the login is fixed",
    ),
    (
        "INSUFFICIENT_ACCESS",
        Cue::Forbidden,
        "a refusal: the text decides (a whole API or object refused is the object permission), else a record's access",
    ),
    (
        "FUNCTIONALITY_TEMPORARILY_UNAVAILABLE",
        Cue::Unavailable,
        "the org cannot serve the call for now (`please retry your query later`)",
    ),
    (
        "SERVER_UNAVAILABLE",
        Cue::Unavailable,
        "Salesforce is down or in maintenance",
    ),
    (
        "INVALID_BATCH",
        Cue::BatchFailure,
        "Bulk API: the whole batch failed; the text says why",
    ),
    (
        "INVALID_ENTITY",
        Cue::UnknownObject,
        "Bulk API: the object does not exist for the integration user",
    ),
    (
        "TOO_MANY_LOCK_FAILURE",
        Cue::Lock,
        "Bulk API: too many records were locked by other operations",
    ),
    (
        "UNSUPPORTED_CONTENT_TYPE",
        Cue::BatchFailure,
        "Bulk API: the job or batch was refused for its content type; the text says which",
    ),
    (
        "INVALID_JOB",
        Cue::BatchFailure,
        "Bulk API: the whole job was refused as sent; the text says why",
    ),
    (
        "INVALID_JOB_STATE",
        Cue::Unsupported,
        "Bulk API: a job the client got wrong: escalate",
    ),
    (
        "CLIENT_INPUT_ERROR",
        Cue::BatchFailure,
        "Bulk API: the whole batch or job was refused as sent; the text says why",
    ),
    ("APEX_ERROR", Cue::Apex, "REST: an Apex class failed"),
    (
        "JSON_PARSER_ERROR",
        Cue::JsonParser,
        "REST: the body does not parse: a value of the wrong type when the text names one, else a request the client built wrong",
    ),
    (
        "NOT_FOUND",
        Cue::NotFound,
        "REST: the resource does not exist: the text decides, else a missing record",
    ),
    (
        "FORBIDDEN",
        Cue::Forbidden,
        "REST: the call is forbidden to the user: the text decides, else insufficient access",
    ),
    (
        "METHOD_NOT_ALLOWED",
        Cue::Unsupported,
        "REST: a call the client got wrong: escalate",
    ),
    (
        "MALFORMED_QUERY",
        Cue::Unsupported,
        "a query the client got wrong: escalate",
    ),
    (
        "MALFORMED_SEARCH",
        Cue::Unsupported,
        "a search the client got wrong: escalate",
    ),
    (
        "TXN_SECURITY_NO_ACCESS",
        Cue::UnclearRefusal,
        "a transaction security policy of the org refused the call: probed, escalate if it stays",
    ),
    (
        "OPERATION_TOO_LARGE",
        Cue::UnclearRefusal,
        "a query too large for what the integration user may see: probed, escalate if it stays",
    ),
    (
        "INVALID_REPLICATION_DATE",
        Cue::UnclearRefusal,
        "a replication window (`getUpdated`, `getDeleted`) the org cannot serve: probed, escalate if it stays",
    ),
    (
        "EXCEEDED_ID_LIMIT",
        Cue::Unsupported,
        "too many ids in one call: a limit of the call, not of the org",
    ),
    (
        "401",
        Cue::Auth,
        "HTTP 401 without a code: the session is no longer valid",
    ),
    (
        "403",
        Cue::Forbidden,
        "HTTP 403 without a code: the text decides, else insufficient access",
    ),
    (
        "404",
        Cue::NotFound,
        "HTTP 404 without a code: the text decides, else a missing record",
    ),
    (
        "410",
        Cue::UnclearRefusal,
        "HTTP 410 without a code: the API version the integration calls is retired; no call succeeds until it is set to a newer one",
    ),
    (
        "500",
        Cue::UnknownException,
        "HTTP 500 without a code: the text decides, else a server error",
    ),
    (
        "502",
        Cue::Unavailable,
        "HTTP 502 without a code: Salesforce is not reachable",
    ),
    (
        "503",
        Cue::Unavailable,
        "HTTP 503 without a code: Salesforce is down or in maintenance",
    ),
];
