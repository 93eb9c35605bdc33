//! Tests of what the classifier decides: level safety as properties, and
//! the wordings of each corpus part, one test a part, with the cases that
//! must not change.

use proptest::prelude::*;

use super::*;

/// Checks each `(status code, message, fields, expected)` case.
fn assert_classified(cases: &[(&str, &str, &[&str], Classification)]) {
    for (status, message, fields, expected) in cases {
        assert_eq!(
            explained(status, message, fields).class,
            *expected,
            "{status} {message}"
        );
    }
}

fn explained(status: &str, message: &str, fields: &[&str]) -> Classified {
    let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    explain(&FailureText {
        status_code: status,
        message,
        fields: &fields,
        object_type: "",
    })
}

/// Texts of one record's failure (the record-level cues of the tables).
fn record_text() -> impl Strategy<Value = String> {
    let record: Vec<&'static str> = PHRASES
        .iter()
        .filter(|(_, cue)| !cue.names_org_wide() && !cue.is_hint())
        .map(|&(p, _)| p)
        .collect();
    prop::sample::select(record).prop_map(str::to_owned)
}

proptest! {
    /// Whatever a text says, a suspension that waits for an operator is
    /// raised only on a code or phrase that names an org-wide cause.
    #[test]
    fn operator_suspensions_need_an_org_wide_cause(
        status in prop::sample::select(all_codes().map(|&(c, _, _)| c).chain([""]).collect::<Vec<_>>()),
        parts in prop::collection::vec(prop_oneof![
            prop::sample::select(PHRASES.iter().map(|&(p, _)| p).collect::<Vec<_>>()).prop_map(str::to_owned),
            "[a-zA-Z_ .:']{0,20}",
        ], 0..6),
    ) {
        let message = parts.join(" ");
        let c = explained(status, &message, &[]);
        if let Classification::Suspension(r) = c.class {
            prop_assert!(
                r.clears_by_itself() || names_org_wide_cause(&c.why.matched),
                "{status:?} {message:?} -> {r:?} on {:?}", c.why.matched
            );
        }
    }

    /// One record's failure inside custom code stays one record's
    /// failure: a trigger or flow owns what failed inside it, a row
    /// lock included.
    #[test]
    fn custom_code_keeps_record_failures_at_record_level(text in record_text()) {
        let message = format!(
            "MyTrigger: execution of AfterUpdate caused by: System.DmlException: Update failed. \
             First exception on row 0; first error: UNABLE_TO_LOCK_ROW, {text}"
        );
        let c = explained("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", &message, &[]);
        prop_assert_eq!(c.class, Classification::Record(ErrorType::SalesforceAutomation));
        prop_assert_eq!(c.why.basis, Basis::Wrapper);
    }
}

#[test]
fn a_row_lock_is_the_orgs_only_when_it_is_the_failures_own() {
    let own = explained(
        "UNABLE_TO_LOCK_ROW",
        "unable to obtain exclusive access to this record",
        &[],
    );
    assert_eq!(
        own.class,
        Classification::Suspension(SuspensionReason::SalesforceOrgLocked)
    );
    assert!(SuspensionReason::SalesforceOrgLocked.clears_by_itself());
    let in_trigger = explained(
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        "X: execution of AfterUpdate caused by: System.DmlException: Update failed. First \
         exception on row 0; first error: UNABLE_TO_LOCK_ROW, unable to obtain exclusive access",
        &[],
    );
    assert_eq!(
        in_trigger.class,
        Classification::Record(ErrorType::SalesforceAutomation)
    );
    // Storage is the org's wherever it is named.
    let storage = explained(
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        "X: execution of AfterInsert caused by: System.DmlException: Insert failed. First \
         exception on row 0; first error: STORAGE_LIMIT_EXCEEDED, storage limit exceeded",
        &[],
    );
    assert_eq!(
        storage.class,
        Classification::Suspension(SuspensionReason::SalesforceStorageLimitExceeded)
    );
}

#[test]
fn explanations_say_what_decided() {
    let given = explained("STRING_TOO_LONG", "Name: data value too large", &[]);
    assert_eq!(
        (given.why.basis, given.why.matched.as_ref()),
        (Basis::StatusCode, "STRING_TOO_LONG")
    );
    let in_text = explained("", "first error: INVALID_EMAIL_ADDRESS, bad", &[]);
    assert_eq!(
        (in_text.why.basis, in_text.why.matched.as_ref()),
        (Basis::StatusCode, "INVALID_EMAIL_ADDRESS")
    );
    assert!(in_text.why.confidence < given.why.confidence);
    let phrase = explained("", "Name: data value too large: x", &[]);
    assert_eq!(
        (phrase.why.basis, phrase.why.matched.as_ref()),
        (Basis::Phrase, "data value too large")
    );
    let wrapper = explained("", "Trg: execution of BeforeInsert caused by x", &[]);
    assert_eq!(wrapper.why.basis, Basis::Wrapper);
    let alone = explained("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "", &[]);
    assert_eq!(
        (alone.why.basis, alone.class),
        (
            Basis::Fallback,
            Classification::Record(ErrorType::SalesforceAutomation)
        )
    );
    let nothing = explained("", "lorem ipsum", &[]);
    assert_eq!(
        (nothing.why.basis, nothing.why.confidence),
        (Basis::Fallback, 0.0)
    );
    let unmapped = explained("EMAIL_OPTED_OUT", "", &[]);
    assert_eq!(
        (unmapped.why.basis, unmapped.class),
        (
            Basis::StatusCode,
            Classification::Record(ErrorType::Unknown)
        )
    );
}

#[test]
fn the_misses_of_real_texts_name_their_cause() {
    use ErrorType as T;
    use SuspensionReason as S;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "INVALID_CROSS_REFERENCE_KEY",
            "Owner ID: owner cannot be blank: [OwnerId]",
            &["OwnerId"],
            Classification::Record(T::OwnerAssignment),
        ),
        (
            "TRANSFER_REQUIRES_READ",
            "The new owner must have read permission",
            &[],
            Classification::Record(T::OwnerAssignment),
        ),
        (
            "NOT_FOUND",
            "Provided external ID field does not exist or is not accessible: Ext__c",
            &[],
            Classification::Record(T::MissingSalesforceId),
        ),
        (
            "NOT_FOUND",
            "The requested resource does not exist",
            &[],
            Classification::Record(T::InsufficientAccessOrMissingRecord),
        ),
        (
            "FORBIDDEN",
            "You do not have access to the Apex class named 'Foo'",
            &[],
            Classification::Record(T::InsufficientAccess),
        ),
        (
            "CANNOT_UPDATE_CONVERTED_LEAD",
            "cannot reference converted lead",
            &[],
            Classification::Record(T::InsufficientAccessOrMissingRecord),
        ),
        (
            "",
            "Picklist value: Closed Won in picklist: StageName not found",
            &[],
            Classification::Record(T::MissingPicklistOption),
        ),
        (
            "INVALID_TYPE",
            "Must send a concrete entity type.",
            &[],
            Classification::Record(T::Unknown),
        ),
        (
            "InvalidBatch",
            "InvalidBatch : Field name not found : Foo__c",
            &[],
            Classification::Suspension(S::MissingFieldPermissions),
        ),
        (
            "invalid_app_access",
            "user is not admin approved to access this app",
            &[],
            Classification::Suspension(S::SalesforceAuthFailed),
        ),
        (
            "INVALID_CROSS_REFERENCE_KEY",
            "invalid cross reference id",
            &[],
            Classification::Record(T::InvalidSalesforceId),
        ),
        (
            "FIELD_INTEGRITY_EXCEPTION",
            "Name too long",
            &[],
            Classification::Record(T::StringTooLong),
        ),
        (
            "FIELD_INTEGRITY_EXCEPTION",
            "This nickname is already in use",
            &[],
            Classification::Record(T::RestrictedUniqueValue),
        ),
        (
            "FIELD_FILTER_VALIDATION_EXCEPTION",
            "Please choose an active partner account.",
            &[],
            Classification::Record(T::CustomValidationRule),
        ),
        (
            "FIELD_FILTER_VALIDATION_EXCEPTION",
            "Value does not exist or does not match filter criteria.",
            &[],
            Classification::Record(T::InvalidSalesforceId),
        ),
        (
            "401",
            "",
            &[],
            Classification::Suspension(S::SalesforceAuthFailed),
        ),
        (
            "403",
            "",
            &[],
            Classification::Record(T::InsufficientAccess),
        ),
        (
            "404",
            "",
            &[],
            Classification::Record(T::InsufficientAccessOrMissingRecord),
        ),
        (
            "503",
            "",
            &[],
            Classification::Suspension(S::SalesforceOrgUnavailable),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn tools_words_and_whole_object_refusals_name_their_cause() {
    use ErrorType as T;
    use SuspensionReason as S;
    let auth = Classification::Suspension(S::SalesforceAuthFailed);
    let object = Classification::Suspension(S::MissingObjectPermissions);
    let automation = Classification::Record(T::SalesforceAutomation);
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // A login refused, in the words of the tool that reports it.
        (
            "",
            "Could not authenticate to Salesforce, please check the provided credentials.",
            &[],
            auth,
        ),
        ("", "Unable to authenticate against the instance", &[], auth),
        (
            "",
            "IdentityProvisioningException: Authentication failed",
            &[],
            auth,
        ),
        (
            "",
            "Refresh token value is null. Please re-authenticate.",
            &[],
            auth,
        ),
        ("", "Salesforce authorization failed", &[], auth),
        (
            "",
            "The provided authorization grant or refresh token is invalid",
            &[],
            auth,
        ),
        ("", "Invalid userName or password.", &[], auth),
        ("", "Invalid clientSecret.", &[], auth),
        ("", "Error while generating Access Token.", &[], auth),
        // ... but inside Apex's own callout it is that code's failure.
        (
            "",
            "System.CalloutException: Web service callout failed: authentication failed",
            &[],
            automation,
        ),
        // A whole API or object refused: the object permission.
        (
            "INSUFFICIENT_ACCESS",
            "insufficient access rights on entity",
            &[],
            object,
        ),
        (
            "",
            "INSUFFICIENT_ACCESS: use of the Metadata API requires a user with the ModifyAllData permission",
            &[],
            object,
        ),
        (
            "",
            "Object type contact is not supported. If you are attempting to use a custom object, be sure to append the '__c'",
            &[],
            object,
        ),
        (
            "",
            "Access denied: User is not allowed to get Organization information",
            &[],
            object,
        ),
        // A record's access keeps its record-level type.
        (
            "INSUFFICIENT_ACCESS",
            "You cannot edit this record",
            &[],
            Classification::Record(T::InsufficientAccess),
        ),
        (
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "insufficient access rights on entity",
            &[],
            Classification::Record(T::InsufficientAccess),
        ),
        (
            "",
            "Error: Insufficient access on cross reference entity.",
            &[],
            Classification::Record(T::InsufficientAccessOrMissingRecord),
        ),
        (
            "",
            "Error occurred during Crm Import : API_DISABLED : API calls have been disabled for this user",
            &[],
            Classification::Suspension(S::SalesforceApiDisabled),
        ),
        // Read-only maintenance is the org's, inside custom code too.
        (
            "",
            "System.InvalidReadOnlyUserDmlException: Insert failed. First exception on row 0; first error: INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE, Updates can't be made",
            &[],
            Classification::Suspension(S::SalesforceOrgUnavailable),
        ),
        // What only custom code does names it.
        (
            "",
            "Web service callout failed: Unable to parse callout response. Apex type not found for element x",
            &[],
            automation,
        ),
        ("", "First error: Too many callouts: 101", &[], automation),
        (
            "",
            "An error occurred at element Submit_Record.",
            &[],
            Classification::Record(T::SalesforceFlow),
        ),
        // Record failures of the right type.
        (
            "FIELD_INTEGRITY_EXCEPTION",
            "Username must be in the form of an email address (for example, john@acme.com): Username",
            &[],
            Classification::Record(T::InvalidEmail),
        ),
        (
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of double from VALUE_STRING value N01",
            &[],
            Classification::Record(T::TypeMismatch),
        ),
        (
            "JSON_PARSER_ERROR",
            "'referenceId' is a required field.",
            &[],
            Classification::Record(T::Unknown),
        ),
        (
            "REQUIRED_FIELD_MISSING",
            "At least 1 Id is required.",
            &[],
            Classification::Record(T::Unknown),
        ),
        (
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [LastName]",
            &[],
            Classification::Record(T::MissingRequiredValue),
        ),
        (
            "INVALID_FIELD",
            "Json Deserialization failed on token 'null'",
            &[],
            Classification::Record(T::Unknown),
        ),
        (
            "",
            "INVALID_FIELD:Failed to deserialize field at col 3. Due to, 'x' is not a valid value for the type xsd:date:CloseDate",
            &["CloseDate"],
            Classification::Record(T::TypeMismatch),
        ),
        (
            "",
            "MULTIPLE_CHOICES: Multiple records found",
            &[],
            Classification::Record(T::RestrictedUniqueValue),
        ),
        (
            "",
            "STRING TOO LONG",
            &[],
            Classification::Record(T::StringTooLong),
        ),
        (
            "INVALIDJOB",
            "InvalidJob : Field name provided, website does not match an External ID, Salesforce Id, or indexed field for Account",
            &[],
            Classification::Record(T::MissingSalesforceId),
        ),
        (
            "",
            "‘제한된 선택 목록 필드의 잘못된 값: PicklistValue’",
            &[],
            Classification::Record(T::RestrictedPicklistValue),
        ),
        (
            "FIELD_FILTER_VALIDATION_EXCEPTION",
            "값이 존재하지 않거나 값이 필터 기준과 일치하지 않습니다",
            &[],
            Classification::Record(T::InvalidSalesforceId),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_fourth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "Message: sObject type Knowledge__ka is not replicable\n Code: 400",
            &[],
            Classification::Suspension(S::Unknown),
        ),
        (
            "",
            "Authorization with Salesforce - read failed.",
            &[],
            Classification::Suspension(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Error: invalid or missing clientId",
            &[],
            Classification::Suspension(S::SalesforceAuthFailed),
        ),
        (
            "",
            "[ERROR] The object Invoice__c is missing in the Target..",
            &[],
            Classification::Suspension(S::MissingObjectPermissions),
        ),
        (
            "FIELD_INTEGRITY_EXCEPTION",
            "Invalid length, minimum is: 256",
            &[],
            Classification::Record(T::Unknown),
        ),
        (
            "INVALID_CROSS_REFERENCE_KEY",
            "This custom field does not exist or is not accessible",
            &[],
            Classification::Record(T::Unknown),
        ),
        // Still a wrong id when nothing says it is a field definition.
        (
            "INVALID_CROSS_REFERENCE_KEY",
            "invalid cross reference id",
            &[],
            Classification::Record(T::InvalidSalesforceId),
        ),
        (
            "",
            "「請求更新」処理失敗により、レコードを保存できません。FIELD_CUSTOM_VALIDATION_EXCEPTION:終了後は変更できません。",
            &[],
            Classification::Record(T::SalesforceFlow),
        ),
        (
            "",
            "Billing__c,Region__cの権限がありません。管理者をご連絡ください。",
            &[],
            Classification::Suspension(S::MissingFieldPermissions),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_fifth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "UNDELETE_FAILED Entity is not in the recycle bin",
            &[],
            rec(T::InsufficientAccessOrMissingRecord),
        ),
        (
            "",
            "Error: Duplicate id specified: 001000000000001AAA",
            &[],
            rec(T::RestrictedUniqueValue),
        ),
        (
            "",
            "Insufficient access rights on cross reference id",
            &[],
            rec(T::InsufficientAccessOrMissingRecord),
        ),
        (
            "",
            "Invalid login. From outside trusted networks you must append a security token to your password",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Wrong mapping Phone(number) to Phone__c(date). Types mismatch",
            &[],
            rec(T::TypeMismatch),
        ),
        (
            "",
            "not nillable fields missed: [LastName]",
            &[],
            rec(T::MissingRequiredValue),
        ),
        (
            "",
            "Object field used in this mapping does not exist",
            &[],
            sus(S::MissingFieldPermissions),
        ),
        (
            "",
            "Rating custom field option Warm not found",
            &[],
            rec(T::MissingPicklistOption),
        ),
        (
            "",
            "lead stage not found",
            &[],
            rec(T::MissingPicklistOption),
        ),
        (
            "",
            "This email address is not allowed (role-based email address)",
            &[],
            rec(T::InvalidEmail),
        ),
        (
            "",
            "CPU time limit exceeded",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "",
            "You cannot create a duplicate Lead, the phone already exists",
            &[],
            rec(T::SalesforceDuplicateRule),
        ),
        (
            "",
            "Authorization Required",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        ("", "Missing Field Permission", &[], rec(T::FieldPermission)),
        ("", "Missing CRM ID", &[], rec(T::MissingSalesforceId)),
        (
            "FIELD_INTEGRITY_EXCEPTION",
            "The Object Name field can only contain underscores and alphanumeric characters.",
            &[],
            rec(T::Unknown),
        ),
        (
            "",
            "Errors::FieldNotFound: You specified foo as a field, but neither foo or Foo__c exist.",
            &[],
            sus(S::MissingFieldPermissions),
        ),
        (
            "",
            "転記先項目の編集アクセス権限が不足しています",
            &[],
            rec(T::FieldPermission),
        ),
        (
            "",
            "請求のカスタムオブジェクト権限(作成)が正しく設定されていません。",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        (
            "",
            "アクセストークンの取得に失敗しました",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "担当者情報:メールが不正な値です",
            &[],
            rec(T::InvalidValue),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_sixth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "User does not have permission to Read fields {Lead={Rating}}",
            &[],
            sus(S::MissingFieldPermissions),
        ),
        (
            "",
            "Field Contact.Region__c does not exist or is not visible to the current user.",
            &[],
            sus(S::MissingFieldPermissions),
        ),
        (
            "",
            "Field Account.Tier__c does not have the correct permissions for this operation: ('createable',).",
            &[],
            sus(S::MissingFieldPermissions),
        ),
        (
            "",
            "Job failed. Please ensure that the authenticated user has the 'View All Data' permission.",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        // `View All Data` named for one upsert's index, not the user.
        (
            "INSUFFICIENT_ACCESS",
            "Upsert requires view all data on a non-unique custom index",
            &[],
            rec(T::InsufficientAccess),
        ),
        (
            "",
            "no client credentials user enabled",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "OAuth Error: OAuth Approval Error Generic",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Authorization with Salesforce failed. You can check your credentials and permissions.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "La autorización falló. Puedes verificar tus credenciales y permisos.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Invalid Org ID. Please confirm your setting.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "You have exceeded configured daily API quota (BULK). Current usage: 5000.",
            &[],
            sus(S::IntegrationApiLimitExceeded),
        ),
        (
            "",
            "Sie haben das konfigurierte tägliche API-Kontingent (REST) überschritten.",
            &[],
            sus(S::IntegrationApiLimitExceeded),
        ),
        // The same German words in other ASCII cases.
        (
            "",
            "TÄGLICHE api-KONTINGENT: tägliche Api-Kontingent",
            &[],
            sus(S::IntegrationApiLimitExceeded),
        ),
        (
            "",
            "サインインエラー: 「ログイン数超過」",
            &[],
            sus(S::SalesforceConcurrentLimitExceeded),
        ),
        (
            "",
            "accountId must be specified if contactId is not null",
            &[],
            rec(T::MissingSalesforceId),
        ),
        // A deactivated owner stays a record's failure.
        (
            "",
            "operation performed with inactive user",
            &[],
            rec(T::InactiveOwner),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn a_bare_dml_failure_is_read_by_the_cause_inside() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let dml = |inner: &str| {
        format!(
            "System.DmlException: Insert failed. First exception on row 0; first error: {inner}"
        )
    };
    let validation = dml("FIELD_CUSTOM_VALIDATION_EXCEPTION, Enter a phone number: []");
    let picklist = dml(
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, bad value for restricted picklist field: X: [Type__c]",
    );
    let traced = format!("{validation}\nClass.Loader.run: line 5, column 1");
    let test_result = format!("LoaderTest.run {validation}");
    let in_trigger = format!("MyTrigger: execution of AfterInsert caused by: {validation}");
    let cut_short = format!("caused by: {validation}");
    let inner_trigger = dml(
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY, Other: execution of AfterInsert caused by: \
         System.DmlException: Update failed. First exception on row 0; first error: \
         DUPLICATE_VALUE, duplicate value found: []",
    );
    let passed_on = dml(
        "FIELD_CUSTOM_VALIDATION_EXCEPTION, Insert failed. First exception on row 0; first \
         error: LIMIT_EXCEEDED, Maximum per user subscription limit reached.: []: []",
    );
    let convert = "System.DmlException: ConvertLead failed. First exception on row 0; first \
                   error: INVALID_FIELD, One or more leads couldn't be converted.: [Id]";
    let lock = dml("UNABLE_TO_LOCK_ROW, unable to obtain exclusive access to this record: []");
    let server = dml("UNKNOWN_EXCEPTION, There was an error converting the lead: []");
    let no_column = dml("INVALID_FIELD, No such column 'StateCode' on entity 'Lead'.: [Query]");
    let storage = dml("STORAGE_LIMIT_EXCEEDED, storage limit exceeded: []");
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // Nothing around it: the record it wrote failed for the cause
        // inside, with or without a stack trace after it.
        ("", &validation, &[], rec(T::CustomValidationRule)),
        ("", &picklist, &[], rec(T::RestrictedPicklistValue)),
        ("", &traced, &[], rec(T::CustomValidationRule)),
        ("", &test_result, &[], rec(T::CustomValidationRule)),
        (
            "",
            "System.DmlException - Update failed. First exception on row 0 with id \
             001000000000001AAA; first error: INSUFFICIENT_ACCESS_OR_READONLY, insufficient \
             access rights on object id: []",
            &[],
            rec(T::InsufficientAccess),
        ),
        // A trigger around it, or inside it, or a text cut after one:
        // the code's.
        ("", &in_trigger, &[], rec(T::SalesforceAutomation)),
        ("", &cut_short, &[], rec(T::SalesforceAutomation)),
        ("", &inner_trigger, &[], rec(T::SalesforceAutomation)),
        // Another DML failure the code caught and passed on, and a
        // write no sync makes.
        ("", &passed_on, &[], rec(T::SalesforceAutomation)),
        ("", convert, &[], rec(T::SalesforceAutomation)),
        // A row lock on the record it wrote is the org locked for a
        // moment; what names no cause of the record stays the code's;
        // what stops the org is read by step 1 wherever it is.
        ("", &lock, &[], sus(S::SalesforceOrgLocked)),
        ("", &server, &[], rec(T::SalesforceAutomation)),
        ("", &no_column, &[], rec(T::SalesforceAutomation)),
        ("", &storage, &[], sus(S::SalesforceStorageLimitExceeded)),
        // Other exceptions are the code's own failures.
        (
            "",
            "System.SObjectException: Relationship Opportunity is not editable",
            &[],
            rec(T::SalesforceAutomation),
        ),
    ];
    assert_classified(cases);
    let why = explained("", &validation, &[]).why;
    assert_eq!(why.basis, Basis::StatusCode);
    assert!(
        why.matched
            .eq_ignore_ascii_case("FIELD_CUSTOM_VALIDATION_EXCEPTION")
    );
    assert_eq!(explained("", &in_trigger, &[]).why.basis, Basis::Wrapper);
}

#[test]
fn readings_the_seen_part_agrees_on() {
    use SuspensionReason as S;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // An object type the code's query cannot see is the
        // integration's object access, even inside a bare Apex
        // exception.
        (
            "",
            "System.QueryException: sObject type 'Survey__c' is not supported. If you are \
             attempting to use a custom object, be sure to append the '__c' after the entity \
             name.",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        // A trigger around it owns it: its query of its own settings.
        (
            "",
            "Trg: execution of AfterInsert caused by: System.QueryException: sObject type \
             'Survey__c' is not supported.",
            &[],
            Classification::Record(ErrorType::SalesforceAutomation),
        ),
        // A Dev Hub's scratch org allowances.
        (
            "LIMIT_EXCEEDED",
            "The signup request failed because this organization has reached its active \
             scratch org limit",
            &[],
            sus(S::SalesforceApiLimitExceeded),
        ),
        (
            "",
            "The signup request failed because this organization has reached its daily \
             scratch org signup limit.",
            &[],
            sus(S::SalesforceApiLimitExceeded),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn grpc_statuses_in_the_clients_words() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "Error: 14 UNAVAILABLE: No connection established",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "io.grpc.StatusRuntimeException: UNAUTHENTICATED: The provided access token is \
             invalid",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "status = StatusCode.DEADLINE_EXCEEDED details = \"Deadline Exceeded\"",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "Error: 8 RESOURCE_EXHAUSTED: Publish limit exceeded",
            &[],
            sus(S::SalesforceConcurrentLimitExceeded),
        ),
        // A fault inside, as HTTP 500: the text decides first.
        (
            "",
            "Error: 13 INTERNAL: Received RST_STREAM with code 2",
            &[],
            sus(S::SalesforceServerError),
        ),
        (
            "",
            "Error: 13 INTERNAL: The Pub/Sub API is not enabled for this org: \
             API_DISABLED_FOR_ORG",
            &[],
            sus(S::SalesforceApiDisabled),
        ),
        // A request the client built wrong names no cause.
        (
            "",
            "Error: 3 INVALID_ARGUMENT: The replay ID must be 8 bytes",
            &[],
            rec(T::Unknown),
        ),
        // The word alone is no gRPC status: a record locked stays a lock.
        (
            "",
            "Record Currently Unavailable: The record you are attempting to edit is being \
             modified by another user.",
            &[],
            sus(S::SalesforceOrgLocked),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn http_statuses_in_the_clients_words() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // Read as the status code given alone is.
        (
            "",
            "Request failed with status code 503",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "ERROR_HTTP_502: ",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "504 Server Error: Gateway Time-out for url: https://x.my.salesforce.com/services/data",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "401 Client Error: Unauthorized for url: https://x.my.salesforce.com/services/data",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "The remote server returned an error: (401) Unauthorized.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        ("", "ERROR_HTTP_500: ", &[], sus(S::SalesforceServerError)),
        (
            "",
            "Request failed with status code 404",
            &[],
            rec(T::InsufficientAccessOrMissingRecord),
        ),
        (
            "",
            "Request failed with status code 403",
            &[],
            rec(T::InsufficientAccess),
        ),
        // A generic status decides only when nothing else does.
        (
            "",
            "Request failed with status code 403: The REST API is not enabled for this \
             Organization.",
            &[],
            sus(S::SalesforceApiDisabled),
        ),
        (
            "",
            "Request failed with status code 404: entity is deleted",
            &[],
            rec(T::InsufficientAccessOrMissingRecord),
        ),
        // The connection lost on the way: no answer from the org.
        ("", "read ECONNRESET", &[], sus(S::SalesforceOrgUnavailable)),
        // Apex's own callout answered 401: that code's failure.
        (
            "",
            "System.HttpResponse[Status=Unauthorized, StatusCode=401] status code 401",
            &[],
            rec(T::SalesforceAutomation),
        ),
        // A 400 names nothing.
        (
            "",
            "Request failed with status code 400",
            &[],
            rec(T::Unknown),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_fifty_sixth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // A code cut short where a log ends is the one code it begins; a
        // cut that several codes begin, a short one, or one inside a longer
        // word is not read.
        (
            "",
            "System.DmlException: Insert failed. First exception on row 0; first error: \
             FIELD_CUSTOM_VALIDATION_E",
            &[],
            rec(T::CustomValidationRule),
        ),
        (
            "",
            "Sync stopped: REQUEST_LIMIT_EXCEE",
            &[],
            sus(S::SalesforceApiLimitExceeded),
        ),
        (
            "",
            "Sync stopped: INVALID_CROSS_REFERE",
            &[],
            rec(T::Unknown),
        ),
        // A whole code that longer codes begin is read as itself.
        (
            "",
            "Sync stopped: INVALID_FIELD",
            &[],
            rec(T::FieldPermission),
        ),
        ("", "Sync stopped: FIELD_CUS", &[], rec(T::Unknown)),
        (
            "",
            "Sync stopped: ORDER_FIELD_CUSTOM_VALIDATION_E",
            &[],
            rec(T::Unknown),
        ),
        // Field permissions refused to a profile are setup, not a value.
        (
            "FIELD_INTEGRITY_EXCEPTION",
            "Can't enable field permission(s) because this object has the View All Fields \
             permission enabled.: []",
            &[],
            rec(T::Unknown),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_fifty_fifth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // The stage alone in the message's field list, when the client kept
        // no fields; among others it is a value left out like the rest.
        (
            "",
            "System.DmlException: Insert failed. First exception on row 0; first error: \
             REQUIRED_FIELD_MISSING, Required fields are missing: [StageName]: [StageName]",
            &[],
            rec(T::InvalidOpportunityStage),
        ),
        (
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [Name, StageName, CloseDate]",
            &[],
            rec(T::MissingRequiredValue),
        ),
        // NPSP's account trigger failing the contact, whatever is inside;
        // an admin's message under the same code stays the rule's.
        (
            "",
            "FIELD_CUSTOM_VALIDATION_EXCEPTION:Failed to create Account for Contact Jane Roe. \
             Duplicate Alert:-",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "",
            "FIELD_CUSTOM_VALIDATION_EXCEPTION:Please enter a phone number.",
            &[],
            rec(T::CustomValidationRule),
        ),
        // `APEX_ERROR` over a bare DML failure is read by the cause inside;
        // over the code's own exception or a trigger it stays the code's.
        (
            "APEX_ERROR",
            "System.DmlException: Upsert failed. First exception on row 0; first error: \
             FIELD_CUSTOM_VALIDATION_EXCEPTION, Close date must be in the future: [CloseDate]\n\n\
             Class.OrderService.save: line 10, column 1",
            &[],
            rec(T::CustomValidationRule),
        ),
        (
            "APEX_ERROR",
            "System.NullPointerException: Attempt to de-reference a null object\n\n\
             Class.OrderService.save: line 10, column 1",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "APEX_ERROR",
            "System.DmlException: Insert failed. First exception on row 0; first error: \
             CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY, OrderTrigger: execution of BeforeInsert\n\n\
             caused by: System.NullPointerException: Attempt to de-reference a null object",
            &[],
            rec(T::SalesforceAutomation),
        ),
        // An API that needs duplicate management set up first: the unclear
        // suspension, not the server's error.
        (
            "UNKNOWN_EXCEPTION",
            "Provide active duplicate matching rules on Account and Person Account for donor \
             matching.",
            &[],
            sus(S::Unknown),
        ),
        (
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact \
             support: 1234567890-12345 (-987654321)",
            &[],
            sus(S::SalesforceServerError),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_fifty_fourth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // Lightning's record form above one record's own error; Salesforce
        // Edge's page, with either apostrophe, is still the org unreachable.
        (
            "",
            "We hit a snag. Review the errors on this page. duplicate value found: \
             Code__c duplicates value on record with id: 001000000000001",
            &[],
            rec(T::RestrictedUniqueValue),
        ),
        (
            "",
            "<h3>We've hit a snag.</h3> Check status.salesforce.com",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "We\u{2019}ve hit a snag.",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        // A value only one record may hold: a contact's portal user, a
        // custom metadata record's developer name.
        (
            "PORTAL_USER_ALREADY_EXISTS_FOR_CONTACT",
            "portal user already exists for contact",
            &[],
            rec(T::RestrictedUniqueValue),
        ),
        (
            "DUPLICATE_DEVELOPER_NAME",
            "Developer name already exists for custom metadata of this type.",
            &[],
            rec(T::RestrictedUniqueValue),
        ),
        // The owner refusal as the record page words it.
        (
            "",
            "Transfer Requires Read - The new owner must have \"Read\" permissions on \
             this type of record.",
            &[],
            rec(T::OwnerAssignment),
        ),
        // A query filtering on a field that cannot be filtered is the
        // query's shape; a column the user cannot see stays the field.
        (
            "INVALID_FIELD",
            "field 'SystemModstamp' can not be filtered in a query call",
            &[],
            rec(T::Unknown),
        ),
        (
            "INVALID_FIELD",
            "No such column 'Region__c' on entity 'Account'.",
            &[],
            sus(S::MissingFieldPermissions),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_fifty_third_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // A client's serialisation bug stays its own with the code named in
        // the text; the code named with an object type still reads one the
        // user may not use.
        (
            "",
            "SoapFault: INVALID_TYPE: Must send a concrete entity type.",
            &[],
            rec(T::Unknown),
        ),
        (
            "",
            "INVALID_TYPE: Cannot use: AiAuthoringBundle",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        // A user without API access, whose code Salesforce also gives for
        // setup features; a Bulk query's compound field stays the job's.
        (
            "",
            "Error: This feature is not currently enabled for this user. Code: \
             FUNCTIONALITY_NOT_ENABLED HttpCode: 403",
            &[],
            sus(S::SalesforceApiDisabled),
        ),
        (
            "InvalidBatch",
            "InvalidBatch : Failed to process query: FUNCTIONALITY_NOT_ENABLED: Selecting \
             compound data not supported in Bulk Query",
            &[],
            sus(S::Unknown),
        ),
        // Single sign-on refused, with either apostrophe.
        (
            "",
            "We can't log you in. Check for an invalid assertion in the SAML Assertion \
             Validator (available in Single Sign-On Settings).",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "We can\u{2019}t log you in because of an issue with single sign-on.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Subject: jane@example.com Unable to map the subject to a Salesforce.com user",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        // Records refused for their values, a package's rule, an e-mail the
        // org will not send.
        (
            "",
            "This contact already has a relationship with this account.",
            &[],
            rec(T::RestrictedUniqueValue),
        ),
        (
            "",
            "The selected account has an Individual record type and can't have additional \
             contacts associated with it.",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "",
            "User's Profile can't be set to 'Identity User' because it's derived from a license \
             that doesn't require the following permission(s): ChatterinternalUser.",
            &[],
            rec(T::InvalidValue),
        ),
        (
            "10005",
            "Asset CustomerKey contains prohibited characters.",
            &[],
            rec(T::InvalidValue),
        ),
        (
            "10000",
            "Please provide a valid type for this field",
            &[],
            rec(T::InvalidValue),
        ),
        (
            "",
            "REST Parameter is invalid. Definition_ID could not be parsed, please encode correctly",
            &[],
            rec(T::InvalidSalesforceId),
        ),
        (
            "",
            "Send Email is disabled or activities are not allowed",
            &[],
            rec(T::InsufficientAccess),
        ),
        (
            "",
            "Name, Email, UserID, and Password are required fields when creating a new user.",
            &[],
            rec(T::MissingRequiredValue),
        ),
        // Marketing Cloud: a journey saved meanwhile, a refusal for a while.
        (
            "",
            "Another user recently modified this journey. Refresh to edit the latest version.",
            &[],
            sus(S::SalesforceOrgLocked),
        ),
        (
            "30001",
            "Email-specific assets are temporarily prevented from being created through the API",
            &[],
            sus(S::Unknown),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_fifty_second_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // Account Engagement refusing the connection; `Access denied` that
        // names what is refused keeps that reading.
        (
            "",
            "InvalidRequestException: Invalid API key or user key",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "<rsp stat=\"fail\" version=\"1.0\"><err code=\"49\">Access Denied</err></rsp>",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "{\"@attributes\": {\"stat\": \"fail\", \"err_code\": 49}, \"err\": \"Access Denied\"}",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Access denied: User is not allowed to get Organization information",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        // Its user read by an address no user has.
        (
            "",
            "PardotAPIError: Error #11: Invalid user email address",
            &[],
            rec(T::InsufficientAccessOrMissingRecord),
        ),
        // Marketing Cloud: a sender address refused, a key of a triggered
        // send left out, values left out; a request that may lack a field
        // in a JSON parser's words stays the value of the wrong type.
        (
            "121226",
            "The default email or mobile address in Journey Settings is invalid.",
            &[],
            rec(T::InvalidEmail),
        ),
        (
            "18002",
            "The Triggered Send Object must contain the Triggered Send ID or the Customer Key",
            &[],
            rec(T::MissingSalesforceId),
        ),
        (
            "",
            "Journey Builder error: This contact is missing a required attribute",
            &[],
            rec(T::MissingRequiredValue),
        ),
        (
            "",
            "At least one existing field is required in the values property",
            &[],
            rec(T::MissingRequiredValue),
        ),
        (
            "",
            "Cannot deserialize instance of date from VALUE_STRING value 2020-04-30 or request \
             may be missing a required field at [line:1, column:35]",
            &[],
            rec(T::TypeMismatch),
        ),
        // Deploys refused for what the org lacks; a type the API version
        // does not deploy stays one component's.
        (
            "",
            "Not available for deploy for this organization",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        (
            "",
            "Communities must be enabled before deploying a Chatter Network Site",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        (
            "",
            "Unknown user permission: EinsteinGPTSalesEmailsUser",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "Not available for deploy for this API version",
            &[],
            rec(T::Unknown),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_fifty_first_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // Marketing Cloud: names already taken, a subscriber already on the
        // list, an id of no campaign.
        (
            "118039",
            "Asset names within a category and asset type must be unique. \
             welcome.html is already taken. Suggested name: welcome.html (1)",
            &[],
            rec(T::RestrictedUniqueValue),
        ),
        (
            "118090",
            "Category already exists with name: Newsletters under parentId: 1200",
            &[],
            rec(T::RestrictedUniqueValue),
        ),
        (
            "12014",
            "The subscriber is already on the list",
            &[],
            rec(T::SalesforceDuplicateRule),
        ),
        (
            "10000",
            "Campaign ID is invalid",
            &[],
            rec(T::InvalidSalesforceId),
        ),
        // Its throttle, its token endpoint's bare 401, and the API user
        // refused a whole object; a record's own owner named is still one
        // record's sharing.
        (
            "50200",
            "Your requests are temporarily blocked.",
            &[],
            sus(S::SalesforceConcurrentLimitExceeded),
        ),
        (
            "",
            "Exception: Unable to validate App Keys(ClientID/ClientSecret) provided: \
             {'errorcode': 1, 'message': 'Unauthorized', 'documentation': ''}",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Unable to validate App Keys(ClientID/ClientSecret) provided, requestToken \
             response:{\"message\":\"Internal Server Error\",\"errorcode\":0}",
            &[],
            sus(S::SalesforceServerError),
        ),
        (
            "20002",
            "Insufficient privileges",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        (
            "",
            "Insufficient Privileges: You do not have the level of access necessary to \
             perform the operation you requested. Please contact the owner of the record \
             or your administrator if access is necessary.",
            &[],
            rec(T::InsufficientAccess),
        ),
        // Account Engagement's field it does not know; the same words as a
        // write's column keep the write's reading.
        (
            "154",
            "Invalid property in request: Region__c",
            &[],
            sus(S::MissingFieldPermissions),
        ),
        (
            "",
            "No such column 'HasSampleData' on sobject of type ScratchOrgInfo.",
            &[],
            rec(T::FieldPermission),
        ),
        // Data Cloud refusing a bearer token; a session id refused is a
        // login's, not a record's wrong id.
        (
            "",
            "{\"error\": \"Unauthorized\", \"message\": \"Authorization header verification \
             failed\", \"details\": {\"status\": \"UNAUTHENTICATED: Invalid JWT\"}}",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Session ID is invalid",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        // A failure numbered for Salesforce's support team.
        (
            "",
            "Something went wrong. Please try again, and if the issue persists, contact \
             Salesforce Customer Support for help with error -1234567.",
            &[],
            sus(S::SalesforceServerError),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_fiftieth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // A login refused in a client's words, and a connector Account
        // Engagement can no longer verify, are the connection's
        // credentials; a login refused to Apex's own callout is its code.
        (
            "",
            "Pardot::ResponseError: Login failed",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "120",
            "Unable to verify Salesforce connector",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "System.CalloutException: System.HttpResponse[Status=Unauthorized, \
             StatusCode=401]: Login failed",
            &[],
            rec(T::SalesforceAutomation),
        ),
        // Marketing Cloud: the API user refused, a deadlock (transient), a
        // column that must be filled, a subscriber that cannot be made
        // active again, a row that is not there.
        (
            "",
            "Request failed with 'Error: API Permission Failed.'",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        (
            "2",
            "Transaction (Process ID 71) was deadlocked on lock resources with another process \
             and has been chosen as the deadlock victim. Rerun the transaction.",
            &[],
            sus(S::SalesforceOrgLocked),
        ),
        (
            "70001",
            "Column [EmailAddress] does not allow null value.",
            &[],
            rec(T::MissingRequiredValue),
        ),
        ("12018", "ResubscribeFailed", &[], rec(T::InvalidValue)),
        (
            "",
            "Keys Not Found",
            &[],
            rec(T::InsufficientAccessOrMissingRecord),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_forty_ninth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // Account Engagement refusing the connection: its token, its
        // business unit, a retired API version.
        (
            "184",
            "{\"code\": 184, \"message\": \"access_token is invalid, unknown, or malformed\"}",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Pardot-Business-Unit-Id header not found on request.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Access Denied: the user is not valid for the Pardot Business Unit ID given",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Error 89: Your account is unable to use version 3 of the API.",
            &[],
            sus(S::Unknown),
        ),
        // Its words for one record: gone, an e-mail refused, an e-mail
        // another prospect has.
        ("109", "The requested record was not found.", &[], {
            rec(T::InsufficientAccessOrMissingRecord)
        }),
        (
            "",
            "Invalid prospect ID",
            &[],
            rec(T::InsufficientAccessOrMissingRecord),
        ),
        (
            "10",
            "Invalid user ID",
            &[],
            rec(T::InsufficientAccessOrMissingRecord),
        ),
        (
            "",
            "Invalid prospect email address",
            &[],
            rec(T::InvalidEmail),
        ),
        (
            "",
            "A prospect with this email address already exists",
            &[],
            rec(T::SalesforceDuplicateRule),
        ),
        ("", "Duplicate Alert", &[], rec(T::SalesforceDuplicateRule)),
        // A converted lead without its account is a value left out; one
        // refused as converted is still the record gone.
        (
            "",
            "Converted Account empty for a Converted Lead.: Converted Account ID",
            &[],
            rec(T::MissingRequiredValue),
        ),
        (
            "",
            "CANNOT_UPDATE_CONVERTED_LEAD: cannot reference converted lead",
            &[],
            rec(T::InsufficientAccessOrMissingRecord),
        ),
        // A relationship given a record of the wrong kind is a wrong id.
        (
            "",
            "Can't choose a person as the account in this relationship.",
            &[],
            rec(T::InvalidSalesforceId),
        ),
        (
            "",
            "You can't associate a private contact with an account.",
            &[],
            rec(T::InvalidSalesforceId),
        ),
        // A package's household rule is its code, unless a validation
        // rule's code says it is one.
        (
            "",
            "Can't include a business in more than one group.",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "",
            "Insert failed. First exception on row 0; first error: \
             FIELD_CUSTOM_VALIDATION_EXCEPTION, A contact can have only one primary group.: []",
            &[],
            rec(T::CustomValidationRule),
        ),
        // A sharing recalculation waiting for another, in French and in
        // English: the org's sharing lock, transient.
        (
            "",
            "Le calcul de partage demandé ne peut être traité maintenant car il interfère avec \
             une autre opération en cours",
            &[],
            sus(S::SalesforceOrgLocked),
        ),
        (
            "",
            "The requested sharing recalculation can't be processed now because it interferes \
             with another operation already in progress.",
            &[],
            sus(S::SalesforceOrgLocked),
        ),
        // The Italian default lookup filter text is a wrong id; an admin's
        // own filter message stays the admin's rule.
        (
            "FIELD_FILTER_VALIDATION_EXCEPTION",
            "Il valore non esiste o non corrisponde ai criteri di filtro.",
            &[],
            rec(T::InvalidSalesforceId),
        ),
        (
            "FIELD_FILTER_VALIDATION_EXCEPTION",
            "Necessario inserire un Account Distributore",
            &[],
            rec(T::CustomValidationRule),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_forty_eighth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // A POST sent without its length is the request's shape, under the
        // generic code or with it written in the text; the generic code
        // naming nothing else stays the server's error.
        (
            "UNKNOWN_EXCEPTION",
            "POST requires content-length",
            &[],
            rec(T::Unknown),
        ),
        (
            "",
            "UNKNOWN_EXCEPTION: POST requires content-length",
            &[],
            rec(T::Unknown),
        ),
        (
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred.",
            &[],
            sus(S::SalesforceServerError),
        ),
        // A custom Apex REST service's own refusal is the org's code, with
        // or without spaces; a cause it passes on decides first.
        (
            "",
            "{\"Status\":\"Error\",\"Message\":\"Conta não encontrada para o CNPJ informado.\"}",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "",
            "HTTP 400: {\n  \"status\": \"error\",\n  \"message\": \"Pedido sem cliente\"\n}",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "",
            "{ \"Status\": \"Error\", \"Message\": \"System.DmlException: Insert failed. First \
             exception on row 0; first error: STRING_TOO_LONG, Nome: data value too large: \
             [Name]\" }",
            &[],
            rec(T::StringTooLong),
        ),
        // A file's body over the size Salesforce accepts is the record's
        // value, as a code or inside a bare DML failure; a trigger that
        // met it owns it.
        (
            "",
            "Insert failed. First exception on row 0; first error: MAXIMUM_SIZE_OF_ATTACHMENT, \
             attachment data exceeded maximum size: [Body]",
            &[],
            rec(T::InvalidValue),
        ),
        (
            "MAXIMUM_SIZE_OF_DOCUMENT",
            "document data exceeded maximum size",
            &[],
            rec(T::InvalidValue),
        ),
        (
            "",
            "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY, CopyFiles: execution of AfterInsert caused \
             by: System.DmlException: Insert failed. First exception on row 0; first error: \
             MAXIMUM_SIZE_OF_ATTACHMENT, attachment data exceeded maximum size: []: \
             Trigger.CopyFiles: line 12, column 1",
            &[],
            rec(T::SalesforceAutomation),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_forty_seventh_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // A price book entry from another price book is a wrong id, in the
        // older and the newer wording alike.
        (
            "",
            "System.DmlException: Insert failed. First exception on row 0; first error: \
             FIELD_INTEGRITY_EXCEPTION, The price book entry is in a different price book than \
             the one assigned to the Service Contract, or Service Contract has no price book \
             assigned.: [PricebookEntryId]",
            &[],
            rec(T::InvalidSalesforceId),
        ),
        // A queue the object does not serve, in a bare DML failure: the
        // record's owner; the same code with nothing said stays the code's.
        (
            "",
            "System.DmlException: Insert failed. First exception on row 0; first error: \
             INVALID_OPERATION, Queue not associated with this SObject type: []",
            &[],
            rec(T::OwnerAssignment),
        ),
        (
            "",
            "System.DmlException: Insert failed. First exception on row 0; first error: \
             INVALID_OPERATION, Operation not allowed: []",
            &[],
            rec(T::SalesforceAutomation),
        ),
        // A user or a queue refused as the owner is the owner assignment;
        // a contact's id there is a wrong id.
        (
            "",
            "MALFORMED_ID:Assigned To ID: id value of incorrect type: 005Vo00000DqpnpAAB:OwnerId --",
            &[],
            rec(T::OwnerAssignment),
        ),
        (
            "",
            "FIELD_INTEGRITY_EXCEPTION, Owner ID: id value of incorrect type: \
             0034L00000cZdiHQAS: [OwnerId]",
            &[],
            rec(T::InvalidSalesforceId),
        ),
        // A Big Object query in a shape the platform does not serve: the
        // request's, not the batch's unclear refusal.
        (
            "",
            "InvalidBatch: Failed to process query:\nBIG_OBJECT_UNSUPPORTED_OPERATION: Filters \
             may not have any gaps within the\ncomposite key",
            &[],
            rec(T::Unknown),
        ),
        // A child relationship a subquery names is the child object hidden;
        // a parent one in a field path is still a field.
        (
            "",
            "Didn't understand relationship 'Orders' in FROM part of query call.",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        (
            "",
            "Didn't understand relationship 'Contact' in field path. If you are attempting to \
             use a custom relationship, be sure to append the '__r' after the custom \
             relationship name.",
            &[],
            sus(S::MissingFieldPermissions),
        ),
        // OAuth 1.0's API access switched off; the sharing lock of a group
        // change; a retired API version, as code or words.
        (
            "1716",
            "Failed: OAuth Api Access Disabled",
            &[],
            sus(S::SalesforceApiDisabled),
        ),
        (
            "",
            "Group membership operation already in progress",
            &[],
            sus(S::SalesforceOrgLocked),
        ),
        ("", "410:GONE", &[], sus(S::Unknown)),
        ("410", "", &[], sus(S::Unknown)),
        (
            "",
            "Request failed with status code 410",
            &[],
            sus(S::Unknown),
        ),
        ("", "400: InvalidVersion", &[], sus(S::Unknown)),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_forty_sixth_seen_part() {
    use SuspensionReason as S;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // A Streaming API channel refused by name: the subscription, not
        // any event or record.
        (
            "",
            "400::The channel specified is not valid",
            &[],
            sus(S::Unknown),
        ),
        // A Pub/Sub client that could not read a topic: nothing arrives,
        // for a cause the text does not name.
        (
            "",
            "org.salesforce.demo.PubSubApiClient$PubSubException: Failed to retrieve topic \
             Data/gRPC_Test_Event: UNAVAILABLE: io exception",
            &[],
            sus(S::Unknown),
        ),
        // The event bus saying it is down is still the org unavailable.
        (
            "",
            "io.grpc.StatusRuntimeException: UNAVAILABLE: The service is unavailable. Try again \
             later.",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_forty_fifth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // A feature license the user lacks, whatever code it comes under;
        // an id of the wrong kind is still an invalid id.
        (
            "INVALID_ID_FIELD",
            "You must have a valid content feature license to publish into a private library.",
            &["FirstPublishLocationId"],
            rec(T::InsufficientAccess),
        ),
        (
            "INVALID_ID_FIELD",
            "invalid id: 005000000000000",
            &[],
            rec(T::InvalidSalesforceId),
        ),
        // The Mobile SDK's revoked refresh token: no session until someone
        // signs in again.
        (
            "",
            "com.salesforce.androidsdk.rest.RestClient$RefreshTokenRevokedException: \
             Could not refresh token",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        // An empty SOAP body is the client's; an internal error with no
        // more said is still the server's.
        (
            "",
            "<faultstring>UNKNOWN_EXCEPTION: Premature end of file.</faultstring>",
            &[],
            rec(T::Unknown),
        ),
        (
            "",
            "UNKNOWN_EXCEPTION: An unexpected error occurred.",
            &[],
            sus(S::SalesforceServerError),
        ),
        // No column named at all is the client's bug; a named one hidden
        // from the user is the integration's field access.
        (
            "",
            "INVALID_FIELD: No such column '' on entity 'Lead'. If you are attempting to use a \
             custom field, be sure to append the '__c' after the custom field name.",
            &[],
            rec(T::Unknown),
        ),
        (
            "",
            "INVALID_FIELD: No such column 'Region__c' on entity 'Lead'.",
            &[],
            sus(S::MissingFieldPermissions),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_forty_fourth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // A deploy cancelled after it ended is the request's timing; an
        // id of the wrong kind is still an invalid id.
        (
            "",
            "INVALID_ID_FIELD: Deployment already completed",
            &[],
            rec(T::Unknown),
        ),
        (
            "",
            "INVALID_ID_FIELD: id value of incorrect type: 001000000000000",
            &[],
            rec(T::InvalidSalesforceId),
        ),
        // The Pub/Sub API's subscription refused until it clears.
        (
            "",
            "io.grpc.StatusRuntimeException: INVALID_ARGUMENT: The Replay ID validation \
             failed. Ensure that the Replay ID is valid.",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "An active managed subscription with the same ID already exists.",
            &[],
            sus(S::Unknown),
        ),
        // A relationship sent as a plain value.
        (
            "INVALID_FIELD",
            "The value provided for foreign key reference Season__r is not a nested SObject",
            &[],
            rec(T::TypeMismatch),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_forty_third_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // A type the org's API does not know is the request's name; a type
        // it knows and hides is still the object refused to the user.
        (
            "",
            "INVALID_TYPE: Unknown type:ProductSpecificationTypeDefinition",
            &[],
            rec(T::Unknown),
        ),
        (
            "",
            "INVALID_TYPE: sObject type 'Foo__c' is not supported.",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        (
            "",
            "Access to entity 'Knowledge__kav' denied: Entity is not api accessible",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        // Codes whose cause is now named.
        (
            "",
            "MANAGER_NOT_DEFINED, Manager undefined.:",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "",
            "OP_WITH_INVALID_USER_TYPE_EXCEPTION : Operation not valid for this user type",
            &[],
            rec(T::OwnerAssignment),
        ),
        (
            "PLATFORM_EVENT_ENCRYPTION_ERROR",
            "The platform event messages could not be published due to a problem with encryption.",
            &[],
            sus(S::Unknown),
        ),
        (
            "LIMIT_EXCEEDED",
            "The number of published platform event messages exceeded the hourly publishing limit.",
            &[],
            sus(S::SalesforceApiLimitExceeded),
        ),
        ("", "404::Unknown channel", &[], sus(S::Unknown)),
        // Requests refused for their shape.
        (
            "",
            "INVALID_FIELD, semi/anti join sub-selects are not supported",
            &[],
            rec(T::Unknown),
        ),
        (
            "",
            "INVALID_FIELD, 'LIMIT' is not allowed",
            &[],
            rec(T::Unknown),
        ),
        (
            "",
            "FIELD_INTEGRITY_EXCEPTION, AllOrNoneHeader should be set to true to use \
             CRUD-based calls with Big Objects",
            &[],
            rec(T::Unknown),
        ),
        // A tool's words around a validation rule's message.
        (
            "",
            "A validation rule is preventing the record from being processed. \
             VALIDATION MESSAGE: Close date must be in the future.",
            &[],
            rec(T::CustomValidationRule),
        ),
    ];
    assert_classified(cases);
}

/// Words of tools' own messages that no corpus text had when they were
/// written: org-wide causes in the words connectors and runtimes commonly
/// use.
#[test]
fn tools_words_for_org_wide_causes() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let auth = sus(S::SalesforceAuthFailed);
    let away = sus(S::SalesforceOrgUnavailable);
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        ("", "Please reconnect your Salesforce account", &[], auth),
        ("", "Salesforce needs you to reauthenticate", &[], auth),
        ("", "Reauthorize the integration to continue", &[], auth),
        ("", "Please re-authorize Salesforce", &[], auth),
        ("", "Invalid access token", &[], auth),
        ("", "The access token is invalid", &[], auth),
        ("", "invalid refresh token", &[], auth),
        ("", "Refresh token is invalid or expired", &[], auth),
        ("", "Token has been revoked", &[], auth),
        ("", "Your session has expired, log in again", &[], auth),
        ("", "Salesforce: invalid credentials", &[], auth),
        ("", "Not authenticated with Salesforce", &[], auth),
        // Client libraries' exception classes, when the text they carry
        // says nothing more; a code in it still decides.
        (
            "",
            "simple_salesforce.exceptions.SalesforceAuthenticationFailed: None",
            &[],
            auth,
        ),
        (
            "",
            "SalesforceExpiredSession: Expired session for https://example.my.salesforce.com/services/data/v59.0/",
            &[],
            auth,
        ),
        ("", "Restforce::AuthenticationError", &[], auth),
        ("", "Restforce::UnauthorizedError: ", &[], auth),
        ("", "[LoginFault [ApiFault ]]", &[], auth),
        (
            "",
            "com.sforce.soap.partner.fault.InvalidSessionIdFault",
            &[],
            auth,
        ),
        (
            "",
            "Restforce::UnauthorizedError: INVALID_SESSION_ID: Session expired or invalid",
            &[],
            auth,
        ),
        (
            "",
            "SalesforceExpiredSession: REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.",
            &[],
            sus(S::SalesforceApiLimitExceeded),
        ),
        (
            "",
            "java.net.ConnectException: Connection refused",
            &[],
            away,
        ),
        ("", "Connection reset by peer", &[], away),
        ("", "connect: Connection timed out", &[], away),
        (
            "",
            "java.net.SocketTimeoutException: Read timed out",
            &[],
            away,
        ),
        (
            "",
            "Organization's data storage limit reached",
            &[],
            sus(S::SalesforceStorageLimitExceeded),
        ),
        (
            "",
            "File storage limit exceeded",
            &[],
            sus(S::SalesforceStorageLimitExceeded),
        ),
        (
            "",
            "Salesforce storage is full",
            &[],
            sus(S::SalesforceStorageLimitExceeded),
        ),
        (
            "",
            "Salesforce daily API limit exceeded",
            &[],
            sus(S::SalesforceApiLimitExceeded),
        ),
        (
            "",
            "Salesforce API limit reached",
            &[],
            sus(S::SalesforceApiLimitExceeded),
        ),
        (
            "",
            "API limit exceeded, retry tomorrow",
            &[],
            sus(S::SalesforceApiLimitExceeded),
        ),
        (
            "",
            "Concurrent limit hit: back off",
            &[],
            sus(S::SalesforceConcurrentLimitExceeded),
        ),
        (
            "",
            "API access is not enabled for this user",
            &[],
            sus(S::SalesforceApiDisabled),
        ),
        (
            "",
            "Salesforce API access is disabled",
            &[],
            sus(S::SalesforceApiDisabled),
        ),
        (
            "",
            "The user does not have API access",
            &[],
            sus(S::SalesforceApiDisabled),
        ),
        (
            "",
            "Grant the API Enabled permission to the user",
            &[],
            sus(S::SalesforceApiDisabled),
        ),
        (
            "",
            "REST API not enabled",
            &[],
            sus(S::SalesforceApiDisabled),
        ),
        ("", "Salesforce is undergoing maintenance", &[], away),
        ("", "The org is in read-only mode", &[], away),
        // A record's own value that names maintenance stays the record's.
        (
            "",
            "Work Type: Scheduled Maintenance is under maintenance review",
            &[],
            rec(T::Unknown),
        ),
        // Apex's own limit of batch jobs is the code's, not the org's
        // long-running requests.
        (
            "",
            "System.LimitException: Attempted to schedule too many concurrent batch jobs",
            &[],
            rec(T::SalesforceAutomation),
        ),
        // A code in the text still decides before these words.
        (
            "",
            "Your Salesforce session has expired or the API is offline. \
             REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.",
            &[],
            sus(S::SalesforceApiLimitExceeded),
        ),
        // Inside custom code, the code's own failure.
        (
            "",
            "System.CalloutException: Read timed out\nClass.Sync.run: line 4, column 1",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "",
            "execution of AfterInsert caused by: System.CalloutException: \
             Connection reset",
            &[],
            rec(T::SalesforceAutomation),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_forty_second_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // An app builder's stored connection that can no longer refresh.
        (
            "",
            "Credential is invalid and can't be refreshed. Please reconnect your account.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        // Apex written through the API into production: the request's kind.
        (
            "ENTITY_IS_LOCKED",
            "Can not create Apex Class on an active organization.",
            &[],
            rec(T::Unknown),
        ),
        // The code alone, or with a record's approval lock, stays the
        // record out of reach.
        (
            "ENTITY_IS_LOCKED",
            "the entity is locked for editing",
            &[],
            rec(T::InsufficientAccessOrMissingRecord),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_forty_first_seen_part() {
    use SuspensionReason as S;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // Clients' parsers meeting a page where a reply should be: what it
        // said is lost, so the org is probed, not stopped for an operator.
        (
            "",
            "Caused by: com.fasterxml.jackson.core.JsonParseException: Unexpected character \
             ('<' (code 60)): expected a valid value",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "JSONDecodeError: Expecting value: line 3 column 1 (char 2)",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "xml.parsers.expat.ExpatError: syntax error: line 1, column 0",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "Here's the error: Unexpected end of JSON input",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "An unexpected response was received from Salesforce. Please try again.",
            &[],
            sus(S::Unknown),
        ),
        ("", "bulk job aborted", &[], sus(S::Unknown)),
        (
            "",
            "HTTP response contains html content.\nCheck that the org exists and can be reached.",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        // Logins in client libraries' own words.
        (
            "",
            "Salesforce token has expired",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "invalid session, unable to refresh session",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "User authentication required",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Error reaching Login URL",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_fortieth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // Connectors' own words for what stops every call.
        (
            "",
            "none of the requested rest_objects produced queryable SObjects: [Lead]",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        (
            "",
            "not allowed to publish to \"/event/Order_Event__e\"",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        (
            "",
            "Salesforce API daily rate limit exceeded for stream 'Account'.",
            &[],
            sus(S::SalesforceApiLimitExceeded),
        ),
        (
            "",
            "Login error code:[invalid_grant] description:[authentication failure]",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "OAuth token expired during poll",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        // Pages where a reply should be: Salesforce Edge's error page, and
        // a page a client's parser could not read.
        (
            "",
            "Error: <!doctypehtml><html lang=en-US><meta charset=UTF-8><title>Error Page</title>",
            &[],
            sus(S::SalesforceServerError),
        ),
        (
            "",
            "Newtonsoft.Json.JsonReaderException: Unexpected character encountered while \
             parsing value: <. Path '', line 0, position 0.",
            &[],
            sus(S::Unknown),
        ),
        // A bare `login error` beside a 405 is a request sent wrong, not the
        // login refused.
        (
            "",
            "error channel received client login error [simpleforce] Error. http code: 405 \
             Error Message:   Error Code:",
            &[],
            rec(T::Unknown),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_thirty_ninth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // A flow's fault e-mail in Korean: the flow owns the column its
        // query named, as in English.
        (
            "",
            "오류 발생: 이 오류는 플로에서 레코드를 조회하려고 시도할 때 발생했습니다: \
             ERROR at Row:1:Column:1730 No such column 'Pref__c' on entity 'User'.",
            &[],
            rec(T::SalesforceFlow),
        ),
        // Requests a client got wrong: no suspension of the org.
        (
            "",
            "ERROR running jayree:packagexml:  UNKNOWN_EXCEPTION: invalid parameter value",
            &[],
            rec(T::Unknown),
        ),
        (
            "InvalidBatch",
            "Unable to find batch for id: 751000000000001",
            &[],
            rec(T::Unknown),
        ),
        ("InvalidBatch", "Batch not completed", &[], rec(T::Unknown)),
        // Logins, the server, the connection, a loader's own budget, an
        // object the user may not create anything on.
        (
            "",
            "unexpected code verifier",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Internal Salesforce Error: 347583757-15370 (2023275027) (2023275027)",
            &[],
            sus(S::SalesforceServerError),
        ),
        (
            "",
            "requests.exceptions.ConnectionError: ('Connection aborted.', \
             RemoteDisconnected('Remote end closed connection without response'))",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "Salesforce Daily Quota Usage: 91% is above the configured limit of 80% of total quota.",
            &[],
            sus(S::IntegrationApiLimitExceeded),
        ),
        (
            "",
            "No creatable fields for stream Contact stream, check your permissions",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        // Record failures: a note's markup, a price book entry priced
        // twice, an order without its price book in French, an Apex
        // callout's response too large, e-mail sent on save past the day's.
        (
            "UNSAFE_HTML_CONTENT",
            "Note can't be saved because it contains HTML tags or unescaped characters",
            &[],
            rec(T::InvalidValue),
        ),
        (
            "",
            "This price definition already exists in this price book",
            &[],
            rec(T::RestrictedUniqueValue),
        ),
        (
            "",
            "System.DmlException: Insert failed. First exception on row 0; first error: \
             FIELD_INTEGRITY_EXCEPTION, Catalogue de prix non défini sur Commande: []",
            &[],
            rec(T::MissingSalesforceId),
        ),
        (
            "",
            "IO Exception: Exceeded max size limit of 3000000",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "SINGLE_EMAIL_LIMIT_EXCEEDED",
            "This request exceeds your organization's daily limit.",
            &[],
            rec(T::SalesforceAutomation),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_thirty_eighth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // A bare Apex exception refusing a whole object to the running
        // user: its object access, as a query's unsupported sObject type is.
        (
            "",
            "System.NoAccessException: No access to entity 'Account_Data__dlm'",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        // Inside a trigger the same words are the trigger's.
        (
            "",
            "AccountTrigger: execution of AfterInsert caused by: \
             System.NoAccessException: No access to entity 'Account_Data__dlm'",
            &[],
            rec(T::SalesforceAutomation),
        ),
        // A lead conversion's bare DML failure is read by its cause, as a
        // record write's is; its own parameters asked for wrong stay the
        // code's.
        (
            "",
            "System.DmlException: ConvertLead failed. First exception on row 0; first \
             error: DUPLICATE_VALUE, The lead conversion failed because a duplicate value \
             was found for the following fields. Fields: : []",
            &[],
            rec(T::RestrictedUniqueValue),
        ),
        (
            "",
            "System.DmlException: ConvertLead failed. First exception on row 0; first \
             error: INVALID_FIELD, One or more leads couldn't be converted. If \
             doNotCreateOpportunity is true, opportunityName and opportunityId must be \
             null.: [Id]",
            &[],
            rec(T::SalesforceAutomation),
        ),
        // An order product without its price: the value missing, not an
        // invalid one.
        (
            "",
            "System.DmlException: Insert failed. First exception on row 0; first error: \
             FIELD_INTEGRITY_EXCEPTION, Order Products must have a Unit Price.: [UnitPrice]",
            &[],
            rec(T::MissingRequiredValue),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_thirty_seventh_seen_part() {
    use SuspensionReason as S;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // The server's side: a proxy with nothing behind it, a cursor it
        // could not read back, the edge's page for a host it cannot reach.
        (
            "",
            "no healthy upstream",
            &[],
            sus(S::SalesforceServerError),
        ),
        (
            "",
            "Failed while fetching query cursor data for this QueryLocator",
            &[],
            sus(S::SalesforceServerError),
        ),
        (
            "",
            "<div class=\"interstitial-failure\"><h3>We've hit a snag.</h3></div>",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        // A fault with nothing in it; a Bulk API request refused for its
        // content type, the code given apart.
        (
            "",
            "com.sforce.soap.partner.fault.UnexpectedErrorFault: null",
            &[],
            sus(S::Unknown),
        ),
        (
            "UnsupportedContentType",
            "Unsupported content type: text/xml",
            &[],
            sus(S::Unknown),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_thirty_sixth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // Logins refused: SOAP login in Salesforce's own full words, OAuth's
        // token endpoint asked with GET, the single sign-on faults, the
        // Pub/Sub API's credentials.
        (
            "",
            "ApiFault exceptionCode='INVALID_OPERATION' exceptionMessage='The SOAP Login \
             operation is not available in the API version specified (66.0).'",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "{\"error\":\"invalid_request\",\"error_description\":\"must use HTTP POST\"}",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "LoginFault: SSO_SERVICE_DOWN: the single sign on service for the org is down",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "sf:INVALID_SSO_GATEWAY_URL",
            "the single sign on gateway url for the org is invalid",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "sfdc.platform.eventbus.grpc.service.auth.error",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "LOGIN_CHALLENGE_ISSUED: computer activation required",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "ORG_IN_MAINTENANCE",
            "The organization is in maintenance",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        // Every call refused alike, for no cause named in the org.
        (
            "",
            "No operation available for request \
             {http://soap.sforce.com/schemas/class/SyncService}upsertAccounts",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "com.sforce.ws.ConnectionException: RESOURCE_NOT_FOUNDNot a valid enumeration",
            &[],
            sus(S::Unknown),
        ),
        // One record: a workflow's field update, a value missing behind a
        // missing label, a write the org is not licensed for.
        (
            "",
            "A workflow or approval field update caused an error when saving this record. \
             Contact your administrator to resolve it.",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "INVALID_OPERATION",
            "__MISSING LABEL__ PropertyFile - val missing_territory not found in section \
             api_ForecastingQuota",
            &[],
            rec(T::MissingRequiredValue),
        ),
        (
            "",
            "System.DmlException: Insert failed. First exception on row 0; first error: \
             UNKNOWN_EXCEPTION, You can't create a contact for this user because the org \
             doesn't have the necessary permissions.: []",
            &[],
            rec(T::InsufficientAccess),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_thirty_fifth_seen_part() {
    use SuspensionReason as S;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // OAuth's redirect when the user declines the connected app, in
        // its query-string and JSON spellings.
        (
            "",
            "error=access_denied&error_description=end-user+denied+authorization",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "{\"error\":\"access_denied\",\"error_description\":\"end-user denied authorization\"}",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        // The SOAP API's login() retired from the version the call names.
        (
            "",
            "INVALID_OPERATION: SOAP Login not available in API version 65.0",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        // A Bulk API job refused for its content type: every record at once.
        (
            "",
            "UnsupportedContentType : ZIP_CSV is not a valid Content-Type",
            &[],
            sus(S::Unknown),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_thirty_fourth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // Whole requests: a Bulk API 2.0 query job refused for what it asks,
        // a loader's own share of the calls, a reply cut short, an OAuth
        // error page.
        (
            "",
            "Error : API_ERROR: Aggregate Relationships not supported in Bulk V2 Query with CSV \
             content type",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "This replication job has made 900 REST requests (90.00% of total quota). \
             Terminating replication due to allotted quota of 90% per replication.",
            &[],
            sus(S::IntegrationApiLimitExceeded),
        ),
        (
            "",
            "Exception: Request failed for https://login.salesforce.com/services/Soap/u/22.0 \
             returned code 500. Truncated server response: <?xml version=\"1.0\"?>",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "Exception: Request failed for https://login.salesforce.com/services/Soap/u/22.0 \
             returned code 503.",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "We can't authorize you because of an OAuth error. For more information, contact \
             your Salesforce administrator.\n\n1800 : There was a problem in setting up your \
             remote access",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        // A metadata component refused: that component's, not the server's.
        (
            "",
            "Error occured processing component Lead_Rules. unexpected metadata \
             (UNKNOWN_EXCEPTION).",
            &[],
            rec(T::Unknown),
        ),
        // One record's values, and Apex's own limit.
        (
            "",
            "System.DmlException: Insert failed. First exception on row 0; first error: \
             INVALID_ACCESS_LEVEL, (ACC_SHARE.ACC_ACCESS_LEVEL) are below organization levels",
            &[],
            rec(T::InvalidValue),
        ),
        (
            "",
            "Attempted to add an entity '00Q000000000001' to a campaign '701000000000001' more \
             than once.",
            &[],
            rec(T::RestrictedUniqueValue),
        ),
        (
            "",
            "INVALID_FIELD_FOR_INSERT_UPDATE:Attempting to update (as part of an upsert) parent \
             field Account__c with new value",
            &[],
            rec(T::InvalidValue),
        ),
        (
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            "Unable to create/update fields: Name. Please check the security settings of this \
             field",
            &[],
            rec(T::FieldPermission),
        ),
        (
            "",
            "Batchable instance is too big: RollupAsyncProcessor.QueueableProcessor",
            &[],
            rec(T::SalesforceAutomation),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_thirty_third_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // The event APIs: a client the server no longer knows, a channel the
        // org does not have, a replay id it cannot fetch: the subscription,
        // the unclear suspension; a CometD transport's gateway timeout.
        ("", "402::Unknown client", &[], sus(S::Unknown)),
        (
            "",
            "The channel you requested to subscribe to does not exist {channel_name}",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupte",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "Connect failure: {failure={exception=org.cometd.common.TransportException: \
             {httpCode=504}, message={channel=/meta/connect}, httpCode=504}, successful=false}",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        // A login from a domain the org's policy refuses.
        (
            "",
            "Server raised fault: 'LOGIN_DURING_RESTRICTED_DOMAIN: cannot log in from current \
             domain'",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        // Permissions the save needs.
        (
            "",
            "SendEmail failed. First exception on row 0; first error: NO_MASS_MAIL_PERMISSION, \
             Single email is not enabled for your organization or profile.",
            &[],
            rec(T::InsufficientAccess),
        ),
        (
            "CANNOT_CASCADE_PRODUCT_ACTIVE",
            "Cannot update associated pricebook entries without the Manage Price Books \
             permission",
            &[],
            rec(T::InsufficientAccess),
        ),
        // One record's values and ids; a flow's own limit.
        (
            "",
            "attempt to violate hierarchy constraints",
            &[],
            rec(T::InvalidValue),
        ),
        (
            "UNKNOWN_EXCEPTION",
            "Something's not right with one or more the specified LeadIds. Check the IDs and \
             try again.",
            &[],
            rec(T::InvalidSalesforceId),
        ),
        (
            "",
            "Champs obligatoires manquants : [LastName]",
            &[],
            rec(T::MissingRequiredValue),
        ),
        (
            "",
            "Number of iterations exceeded",
            &[],
            rec(T::SalesforceFlow),
        ),
        // `UNKNOWN_EXCEPTION` naming nothing else stays the server's fault.
        (
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support",
            &[],
            sus(S::SalesforceServerError),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_thirty_second_seen_part() {
    use ErrorType as T;
    let rec = Classification::Record;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // A portal user's contact left without its account: the account is
        // the value missing, though the message also names the owner's role.
        (
            "",
            "Error: Update failed. First exception on row 0 with id 003d0000038BKQKAA4; first \
             error: FIELD_INTEGRITY_EXCEPTION, A portal user's contact record must include an \
             account. Furthermore, the owner of the account must be associated with a role.: \
             [AccountId].",
            &[],
            rec(T::MissingRequiredValue),
        ),
        // A converted lead whose owner is a queue.
        (
            "",
            "Converted objects can only be owned by users.  You must specify a user for the \
             Owner field.",
            &[],
            rec(T::OwnerAssignment),
        ),
        // Apex reading a field through an aggregate query's row.
        (
            "",
            "Opportunity.CurrencyIsoCode does not belong to SObject type AggregateResult",
            &[],
            rec(T::SalesforceAutomation),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_thirty_first_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // The event APIs and the Bulk API in their own words.
        (
            "",
            "{ext={sfdc={failureReason=503::Server is too busy. Please try your request again \
             later.}}}",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "Error encountered during test update: 403::User not enabled for streaming",
            &[],
            sus(S::SalesforceApiDisabled),
        ),
        (
            "",
            r#"{"code":13,"details":"The service is unavailable. Try again later"#,
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "PLATFORM_EVENT_PUBLISH_FAILED",
            "The platform event message could not be published. Try again later.",
            &[],
            sus(S::SalesforceServerError),
        ),
        (
            "",
            "InternalServerError : Retried more than 15 times",
            &[],
            sus(S::SalesforceServerError),
        ),
        // A Bulk API job refused as the client built it: the whole job,
        // the transient suspension.
        (
            "",
            "InvalidJob: CreatedById cannot be specified",
            &[],
            sus(S::Unknown),
        ),
        // Logins: PKCE missing; an HTTP 420 page for an org in maintenance.
        (
            "",
            "error=invalid_request&error_description=missing required code challenge",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Error (AuthCodeExchangeError): Error authenticating with auth code due to: \
             ERROR_HTTP_420::<!DOCTYPE HTML>",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "com.sforce.ws.ConnectionException: Unexpected element. Parser was expecting \
             element 'urn:enterprise.soap.sforce.com:upsertResponse' but found \
             'http://schemas.xmlsoap.org/soap/envelope/:Fault'",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "ERROR at Row:1:Column:1315\nDidn't understand relationship 'Contact' in field path.",
            &[],
            sus(S::MissingFieldPermissions),
        ),
        // A row lock a bare query met is the lock; inside a trigger it
        // stays the trigger's.
        (
            "",
            "System.QueryException: Record Currently Unavailable: The record you are \
             attempting to edit, or one of its related records, is currently being modified \
             by another user. Please try again.",
            &[],
            sus(S::SalesforceOrgLocked),
        ),
        (
            "",
            "System.QueryException: Registro atualmente indisponível: O registro que você está \
             tentando editar está sendo modificado por outro usuário.",
            &[],
            sus(S::SalesforceOrgLocked),
        ),
        (
            "",
            "Trg: execution of AfterUpdate caused by: System.QueryException: Record Currently \
             Unavailable",
            &[],
            rec(T::SalesforceAutomation),
        ),
        // Limits only code in the org meets.
        (
            "",
            "Non-selective query against large object type (more than 100000 rows)",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "",
            "CalloutException: Callout from triggers are currently not supported",
            &[],
            rec(T::SalesforceAutomation),
        ),
        // One record's values.
        (
            "",
            "Based on the frequency you selected, the end date cannot be after 12/31/2027.: \
             End Date",
            &[],
            rec(T::InvalidValue),
        ),
        (
            "",
            "Maximum number of duplicate updates in one batch (12 allowed). Attempt to update \
             Id more than once in this Api call",
            &[],
            rec(T::RestrictedUniqueValue),
        ),
        (
            "",
            "Campos obrigatórios ausentes: [LastName]",
            &[],
            rec(T::MissingRequiredValue),
        ),
        // A query's offset past what Salesforce serves: the request's
        // shape; a number out of range otherwise stays the record's.
        (
            "",
            "NUMBER_OUTSIDE_VALID_RANGE: Maximum SOQL offset allowed for apiName ApexClass is \
             2000",
            &[],
            rec(T::Unknown),
        ),
        (
            "NUMBER_OUTSIDE_VALID_RANGE",
            "Amount: value outside of valid range on numeric field: 1.0E20",
            &[],
            rec(T::InvalidValue),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_thirtieth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // The event APIs' other words: a replay map naming no channel the
        // client subscribes to, a subscription the org's security refuses,
        // the Pub/Sub API out of connections.
        (
            "",
            "{clientId=abc, channel=/meta/subscribe, id=3, subscription=/topic/T, \
             error=400::The replayId for channel {/topic/T} wasn't found using the provided \
             replay ID map {{}}., successful=false}",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "Subscribe failed for channel /topic/T : 403:denied_by_security_policy:create_denied",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        (
            "",
            "Error: 8 RESOURCE_EXHAUSTED: The service received too many connections and \
             doesn't have the resources to accept new connections.",
            &[],
            sus(S::SalesforceConcurrentLimitExceeded),
        ),
        // A query function the connection's API version does not serve is
        // that query's, not the version refused: one request's failure.
        (
            "UNSUPPORTED_API_VERSION",
            "SELECT FIELDS(ALL) FROM Account LIMIT 1\n       ^\nERROR at Row:1:Column:8\nThe \
             SOQL FIELDS function is not supported in this version of the API",
            &[],
            rec(T::Unknown),
        ),
        // The version itself refused stays the connection's.
        (
            "UNSUPPORTED_API_VERSION",
            "Invalid Api version specified on URL",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        // A record's value that breaks the query it was put in.
        (
            "",
            "MALFORMED_QUERY: \nfrom Contact where FirstName = 'Anne\\-Marie'\n ^\nERROR at \
             Row:1:Column:64\nInvalid string literal 'Anne\\-Marie'. Illegal character \
             sequence '\\-' in string literal.",
            &[],
            rec(T::InvalidValue),
        ),
        // A request refused for its shape whatever the record: one
        // request's failure, never the org stopped.
        (
            "",
            "MALFORMED_QUERY: The SOQL FIELDS function must have a LIMIT of at most 200",
            &[],
            rec(T::Unknown),
        ),
        (
            "MALFORMED_SEARCH",
            "\nFIND {name} IN ALL TYPE RETURNING Account(name)\n ^\nERROR at \
             Row:1:Column:19\nMalformed search token: TYPE",
            &[],
            rec(T::Unknown),
        ),
        (
            "",
            "Error: Request Entity Too Large: head",
            &[],
            rec(T::Unknown),
        ),
        (
            "",
            "Cannot specify query parameters on this resource",
            &[],
            rec(T::Unknown),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_twenty_ninth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // The Streaming API's refusals in its `code::text` form.
        (
            "",
            "{ext={replay=true}, advice={reconnect=none}, channel=/meta/handshake, id=7, \
             error=401::Authentication invalid, successful=false}",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            r#"[{"error":"401::Request requires authentication","successful":false}]"#,
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        // A client the server forgot: a new handshake cures it, so it is
        // the transient suspension, not one an operator must clear.
        (
            "",
            r#"[{"channel":"/meta/connect","error":"403::Unknown client","successful":false}]"#,
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "400::The replayId {42} you provided was invalid.  Please provide a valid ID, -2 \
             to replay all events, or -1 to replay only new events.",
            &[],
            sus(S::Unknown),
        ),
        // A Pub/Sub API topic the org does not publish.
        (
            "",
            "NOT_FOUND: The topic information for org CORE/prod/00D000000000001AAA and topic \
             /data/AccountChangeEvent not found. Ensure the topic name is correct and that the \
             topic exists.",
            &[],
            sus(S::Unknown),
        ),
        // A plain missing record under `NOT_FOUND` is still one record's.
        (
            "NOT_FOUND",
            "The requested resource does not exist",
            &[],
            rec(T::InsufficientAccessOrMissingRecord),
        ),
        ("", "exceeded 100000 distinct ids", &[], sus(S::Unknown)),
        (
            "INVALID_REPLICATION_DATE",
            "startDate before org replication enabled date",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "upstream connect error or disconnect/reset before headers. reset reason: remote \
             reset",
            &[],
            sus(S::SalesforceServerError),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_twenty_eighth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // A row lock on the record a bare DML statement wrote: the org
        // locked for a moment, as a bare lock is.
        (
            "",
            "System.DmlException: Insert failed. First exception on row 0; first error: \
             UNABLE_TO_LOCK_ROW, unable to obtain exclusive access to this record or 1 \
             records: 701000000000001AAA: []",
            &[],
            sus(S::SalesforceOrgLocked),
        ),
        // Inside a trigger the lock is still the trigger's.
        (
            "",
            "Trg: execution of AfterInsert caused by: System.DmlException: Insert failed. \
             First exception on row 0; first error: UNABLE_TO_LOCK_ROW, unable to obtain \
             exclusive access to this record or 1 records: 701000000000001AAA: []",
            &[],
            rec(T::SalesforceAutomation),
        ),
        // Fields a flow's Apex action could not see in user mode: the
        // flow's, which runs on every save of its object.
        (
            "",
            "We can't save this record because the \"Confirm\" process failed. Give your \
             Salesforce admin these details. CANNOT_EXECUTE_FLOW_TRIGGER: An Apex error \
             occurred: System.DmlException: Operation failed due to fields being \
             inaccessible on Sobject Opportunity, check errors on Exception or Result!",
            &[],
            rec(T::SalesforceFlow),
        ),
        (
            "CANNOT_EXECUTE_FLOW_TRIGGER",
            "An Apex error occurred: System.DmlException: Operation failed due to fields \
             being inaccessible on Sobject Opportunity, check errors on Exception or Result!",
            &[],
            rec(T::SalesforceFlow),
        ),
        // And a trigger's query in user mode is the trigger's.
        (
            "",
            "Contact: execution of AfterUpdate caused by: System.QueryException: Insufficient \
             permissions: secure query included inaccessible field",
            &[],
            rec(T::SalesforceAutomation),
        ),
        // The same words thrown by the code the integration called are
        // the connected user's field access.
        (
            "",
            "System.DmlException: Operation failed due to fields being inaccessible on \
             Sobject Opportunity, check errors on Exception or Result!",
            &[],
            sus(S::MissingFieldPermissions),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_twenty_seventh_seen_part() {
    use ErrorType as T;
    let rec = Classification::Record;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "Methods defined as TestMethod do not support Web service callouts",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "",
            "line 2, column 32: Dependent class is invalid and needs recompilation:\n Class \
             AccountMock : Non-virtual and non-abstract type cannot be extended: BaseMock",
            &[],
            rec(T::SalesforceAutomation),
        ),
        // A trigger's query of a settings type the org lacks, inside a
        // DML failure: the trigger's, not the integration's access.
        (
            "",
            "System.DmlException: Insert failed. First exception on row 0; first error: \
             CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY, OpportunityTrigger: execution of \
             BeforeInsert\n\ncaused by: System.QueryException: sObject type \
             'Trigger_Setting__mdt' is not supported.",
            &[],
            rec(T::SalesforceAutomation),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_twenty_sixth_seen_part() {
    use ErrorType as T;
    let rec = Classification::Record;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // A flow inside a bare DML failure is the code that failed the
        // record.
        (
            "",
            "System.DmlException: Insert failed. First exception on row 0; first error: \
             CANNOT_EXECUTE_FLOW_TRIGGER, We can't save this record because the \u{201c}Score \
             Lead\u{201d} process failed. Give your Salesforce admin these details.: []",
            &[],
            rec(T::SalesforceFlow),
        ),
        (
            "",
            "System.DmlException: Update failed. First exception on row 0 with id \
             001000000000001AAA; first error: CANNOT_EXECUTE_FLOW_TRIGGER, The record \
             couldn't be saved because it failed to trigger a flow.: []",
            &[],
            rec(T::SalesforceFlow),
        ),
        // A trigger around it still owns it.
        (
            "",
            "Trg: execution of AfterInsert caused by: System.DmlException: Insert failed. \
             First exception on row 0; first error: CANNOT_EXECUTE_FLOW_TRIGGER, The record \
             couldn't be saved because it failed to trigger a flow.: []",
            &[],
            rec(T::SalesforceAutomation),
        ),
    ];
    assert_classified(cases);
    let why = explained("", cases[0].1, &[]).why;
    assert_eq!(why.basis, Basis::Wrapper);
    assert!(
        why.matched
            .eq_ignore_ascii_case("CANNOT_EXECUTE_FLOW_TRIGGER")
    );
}

#[test]
fn wordings_of_the_twenty_fifth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "System.DmlException: Insert failed. First exception on row 0; first error: \
             FIELD_INTEGRITY_EXCEPTION, Price Book Not Set on Order: []",
            &[],
            rec(T::MissingSalesforceId),
        ),
        (
            "FIELD_INTEGRITY_EXCEPTION",
            "Every asset needs an account, a contact, or both.",
            &["AccountId", "ContactId"],
            rec(T::MissingSalesforceId),
        ),
        (
            "FIELD_INTEGRITY_EXCEPTION",
            "field integrity exception (Guest users cannot be record owners.)",
            &[],
            rec(T::OwnerAssignment),
        ),
        (
            "FAILED_ACTIVATION",
            "An order must have at least one product.",
            &[],
            rec(T::InvalidValue),
        ),
        (
            "MALFORMED_ID",
            "Invalid campaign id: null",
            &["CampaignId"],
            rec(T::MissingSalesforceId),
        ),
        (
            "",
            "forms.fflib_SecurityUtils.FlsException: You do not have permission to insert \
             field forms__UUID__c on forms__Answer__c",
            &[],
            sus(S::MissingFieldPermissions),
        ),
        (
            "",
            "fflib_SecurityUtils.FlsException: You do not have permission to update field \
             Status__c on Task__c",
            &[],
            sus(S::MissingFieldPermissions),
        ),
        // An id that is there but malformed stays a wrong id.
        (
            "MALFORMED_ID",
            "Invalid campaign id: 701xyz",
            &["CampaignId"],
            rec(T::InvalidSalesforceId),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_twenty_fourth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "Batch '7512i000004KPxyAAG' failed with error 'InvalidBatch : Records not found'",
            &[],
            rec(T::Unknown),
        ),
        (
            "",
            "Bad response code: 400 on request: POST https://login.salesforce.com/services/oauth2/token",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "You didn't complete the approval process before it expired. Please try again.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "[ERROR] Command initialization error: Access token to the PROD has expired or the user has no access..",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Command initialization error: Attempt to connect to user@example.com failed. Please, try to refresh your local SFDX CLI connection..",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "FeatureNotEnabled : Aggregate Relationships not supported in Bulk Query with CSV content type",
            &[],
            sus(S::Unknown),
        ),
        (
            "INVALID_INPUT",
            "That URL is already in use. Please enter a unique one.",
            &[],
            rec(T::RestrictedUniqueValue),
        ),
        (
            "INVALID_ID_FIELD",
            "invalid record id; no recycle bin entry found",
            &[],
            rec(T::InsufficientAccessOrMissingRecord),
        ),
        // A 400 that names no login stays what its words say.
        (
            "",
            "Bad response code: 400 on request: POST https://example.my.salesforce.com/services/data/v59.0/sobjects/Contact",
            &[],
            rec(T::Unknown),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_twenty_third_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "Salesforce System Error: 211775977-20872 (-1527031483) (-1527031483)",
            &[],
            sus(S::SalesforceServerError),
        ),
        (
            "",
            "INSUFFICIENT_ACCESS: Requires Extra Verification",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "INVALID_FIELD",
            "CreatedDate >= '2017-01-01' ^ ERROR at Row:8:Column:5 value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes",
            &[],
            rec(T::TypeMismatch),
        ),
        // Inside a trigger the wrapper still decides.
        (
            "",
            "AcctTrigger: execution of AfterInsert caused by: System.UnexpectedException: Salesforce System Error: 1301043935-22543 (1350809315) (1350809315): Trigger.AcctTrigger: line 8, column 1",
            &[],
            rec(T::SalesforceAutomation),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_twenty_second_seen_part() {
    let cases: &[(&str, &str, &[&str], Classification)] = &[(
        "",
        "Entity of type 'ApexClass' named 'NonExistant' cannot be found",
        &[],
        Classification::Record(ErrorType::InsufficientAccessOrMissingRecord),
    )];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_twenty_first_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "FUNCTIONALITY_TEMPORARILY_UNAVAILABLE: Unable to complete the creation of the query cursor at this time, please retry your query later",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "UNAUTHENTICATED: An authentication exception occurred. Provide valid authentication via metadata headers.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Apex heap size too large: 1242642",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "",
            "Error Processing: Invalid conversion from runtime type List<ANY> to Map<String,ANY>",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "FIELD_INTEGRITY_EXCEPTION",
            "Latitude value is missing : Latitude",
            &[],
            rec(T::MissingRequiredValue),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_twentieth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "Error while calling web service operation: upsert, error was: Failed to send request to https://example.my.salesforce.com/services/Soap/u/53.0",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "System may be currently unavailable",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "LoadException: Server error returned in unknown format",
            &[],
            sus(S::SalesforceServerError),
        ),
        (
            "",
            "INVALID_TYPE: sObject type '' is not supported",
            &[],
            rec(T::Unknown),
        ),
        (
            "INVALID_TYPE",
            "sObject type 'Lead' is not supported",
            &[],
            sus(S::MissingObjectPermissions),
        ),
        (
            "",
            "'NamedPrincipal' is not a valid value for the enum 'ExternalPrincipalType'",
            &[],
            rec(T::InvalidValue),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_nineteenth_seen_part() {
    use SuspensionReason as S;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "OAUTH_DISALLOWED_SCOPES: the requested scope is not allowed",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "OAUTH_DISALLOWED_SCOPES",
            "",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "oauthCoordinator:didFailWithError: Error Domain=com.salesforce.OAuth.ErrorDomain Code=666 {error_description=the+requested+scope+is+not+allowed, error=1804}",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Failed to login: Encountered HTML Content when looking for http://schemas.xmlsoap.org/soap/envelope/:Envelope",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "No refresh token found in the connection",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "An error has occurred while processing your request. The salesforce.com support team has been notified of the problem. Error ID: 450056738-1100372 (-517054108)",
            &[],
            sus(S::SalesforceServerError),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_eighteenth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "DELETE_OPERATION_TOO_LARGE: Cascade deleting too many records:\noccurring when cascading to ToDo records",
            &[],
            rec(T::AssociationLimitReached),
        ),
        (
            "DELETE_OPERATION_TOO_LARGE",
            "",
            &[],
            rec(T::AssociationLimitReached),
        ),
        (
            "",
            "FIELD_INTEGRITY_EXCEPTION: field integrity exception: unknown (CreatedByID(005C0000003FpMN) is not in org.)",
            &[],
            rec(T::InvalidSalesforceId),
        ),
        (
            "",
            "UNEXPECTED:System.DmlException:Operation failed due to fields being inaccessible on Sobject Session__c, check errors on Exception or Result!",
            &[],
            sus(S::MissingFieldPermissions),
        ),
        (
            "",
            "System.QueryException: Insufficient permissions: secure query included inaccessible field",
            &[],
            sus(S::MissingFieldPermissions),
        ),
        (
            "",
            "SObject type does not allow locking rows",
            &[],
            rec(T::SalesforceAutomation),
        ),
        ("", "Destination URL not reset", &[], sus(S::Unknown)),
    ];
    assert_classified(cases);
    let setting = FailureText {
        status_code: "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        message: "entity type cannot be updated: VS Setting",
        fields: &[],
        object_type: "VS_Setting__mdt",
    };
    assert_eq!(classify(&setting), rec(T::InsufficientAccess));
    let campaign = FailureText {
        object_type: "Campaign",
        ..setting
    };
    assert_eq!(classify(&campaign), sus(S::MissingObjectPermissions));
}

#[test]
fn wordings_of_the_seventeenth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "Too many lock failure 200 Trying again later.",
            &[],
            sus(S::SalesforceOrgLocked),
        ),
        ("", "Login Rate Exceeded", &[], sus(S::SalesforceAuthFailed)),
        (
            "",
            "Value too long for field: Name maximum length is: 40",
            &[],
            rec(T::StringTooLong),
        ),
        (
            "",
            "Cannot modify managed object: entity=CustomFieldDefinition, component=00N000000000001, field=PicklistControllerEnumOrId, state=installed",
            &[],
            rec(T::InsufficientAccess),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_sixteenth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "com.salesforce.cdp.queryservice.util.TokenException: the requested scope is invalid, unknown, or malformed",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "processSalesforceResponse: cURL Error # 6: Couldn't resolve host 'na1.salesforce.com'",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "Daily API rate limit met",
            &[],
            sus(S::SalesforceApiLimitExceeded),
        ),
        (
            "",
            "このフローで未対応の障害が発生しました フローを処理中に未対応の障害が発生しました。",
            &[],
            rec(T::SalesforceFlow),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_fifteenth_seen_part() {
    use SuspensionReason as S;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        // The code glued to the word before it is no whole word; the
        // refusal's own words still name it.
        (
            "",
            "Exception at ConstructorUNSUPPORTED_CLIENT: TLS 1.0 has been disabled in this organization. Please use TLS 1.1 or higher when connecting to Salesforce using https.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        ("", "OAuth App Blocked", &[], sus(S::SalesforceAuthFailed)),
        (
            "",
            "The Single Sign-On Gateway Url is invalid",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "ERROR running force:source:deploy: Metadata API request failed: Unexpected internal servlet state",
            &[],
            sus(S::SalesforceServerError),
        ),
        (
            "",
            "Salesforce API calls minimal threshold exceeded (4500 with limit of 5000), synchronization will be retried later",
            &[],
            sus(S::IntegrationApiLimitExceeded),
        ),
        (
            "",
            "InvalidJob: No delete access for object:Report",
            &[],
            sus(S::MissingObjectPermissions),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_fourteenth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "Error 1 of 1: LocationDoesNotExist - No location exists with ID 'DaytonaBeachWarehouse'",
            &[],
            rec(T::MissingSalesforceId),
        ),
        (
            "",
            "Invalid Api version specified on URL",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "UNKNOWN ERROR: UNSUPPORTED_API_VERSION: Invalid Api version specified on URL",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "UNSUPPORTED_API_VERSION",
            "",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        // `UNKNOWN_EXCEPTION` names no cause of its own; the owner's
        // missing role is one record's.
        (
            "",
            "UNKNOWN_EXCEPTION, portal account owner must have a role",
            &[],
            rec(T::OwnerAssignment),
        ),
        (
            "FIELD_INTEGRITY_EXCEPTION",
            "Unable to load specified entity 301S70000009RJfIAM",
            &[],
            rec(T::InsufficientAccessOrMissingRecord),
        ),
        (
            "",
            "Oops, there was an error rendering Canvas application [App].\nYour browsing session has ended or is invalid. Please re-login to Salesforce.com again.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        // A whole batch's results missing is not an org-wide cause.
        (
            "InvalidBatch",
            "Records not found for this batch",
            &[],
            rec(T::Unknown),
        ),
        (
            "",
            "pricebook entry is in a different pricebook",
            &[],
            rec(T::InvalidSalesforceId),
        ),
        (
            "",
            "Error: Order Products must have a Price Book Entry that belongs to the Price Book related to the parent Order.: Price Book Entry ID",
            &[],
            rec(T::InvalidSalesforceId),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_thirteenth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "WARN 403::Organization total events daily limit exceeded",
            &[],
            sus(S::SalesforceApiLimitExceeded),
        ),
        (
            "",
            "admin operation already in progress",
            &[],
            sus(S::SalesforceOrgLocked),
        ),
        (
            "",
            r#""status": 1, "name": "Domain Not Found", "message": "The org cannot be found""#,
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "Fatal error: Uncaught SoapFault exception: [HTTP] Could not connect to host in SforceBaseClient.php:168",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "UNSUPPORTED_CLIENT: TLS 1.0 has been disabled in this organization.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Validation Formula Invalid (Could not access the following field: BillingAddress. Contact your administrator.)",
            &[],
            rec(T::CustomValidationRule),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_twelfth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "First error: [null] AsyncApexExecutions Limit exceeded.",
            &[],
            sus(S::SalesforceApiLimitExceeded),
        ),
        (
            "",
            "The number of results does not match the number of interviews that were executed in a single bulk execution request.",
            &[],
            rec(T::SalesforceFlow),
        ),
        (
            "",
            r#"{"error":"There was an error processing the request","message":"Bad_OAuth_Token"}"#,
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "JwtAuthError::Error authenticating with JWT. Errors encountered: External client app is not installed in this org",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "The client's IP address is unauthorized for this account.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "User doesn't have admin permission to access the connected app.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Salesforce Request Failed: 401 due to INVALID_HEADER_TYPE, (Aborted).",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "To update Salesforce, ask for edit access for this record.",
            &[],
            rec(T::InsufficientAccessOrMissingRecord),
        ),
        // A whole Bulk API job refused as built; what its text names
        // still decides.
        ("", "InvalidJob: Unable to parse Job", &[], sus(S::Unknown)),
        (
            "INVALIDJOB",
            "InvalidJob : Field name provided, website does not match an External ID, Salesforce Id, or indexed field for Account",
            &[],
            rec(T::MissingSalesforceId),
        ),
        // A callout's login refused inside the org's code stays that
        // code's failure.
        (
            "",
            "Web service callout failed: WebService returned a SOAP Fault: INVALID_SESSION_ID: Invalid Session ID found in SessionHeader",
            &[],
            rec(T::SalesforceAutomation),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_eleventh_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "INVALID_QUERY_FILTER_OPERATOR",
            "FROM Contact WHERE (Id = 'notAnId') LIMIT 1 ^ ERROR at Row:1:Column:90 invalid ID field: notAnId",
            &[],
            rec(T::InvalidSalesforceId),
        ),
        // The same words from a query inside the org's own code stay
        // that code's failure.
        (
            "",
            "Exception occurred: invalid ID field: Id Class.LookupController.getValue: line 141, column 1",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "",
            "INVALID_FIELD_FOR_INSERT_UPDATE: Invalid target field for field update",
            &[],
            rec(T::SalesforceFlow),
        ),
        (
            "",
            "Got an unexpected error while processing BULK-API. Contact support with error ID: 1114621756-24822 (1270194348)",
            &[],
            sus(S::SalesforceServerError),
        ),
        (
            "",
            "However, the administration setup has already been locked by another change. Please wait for the previous action to finish, then try again later.",
            &[],
            sus(S::SalesforceOrgLocked),
        ),
        (
            "",
            "Error: There was an error initializing the connection to Salesforce",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Error: An unknown error has occurred",
            &[],
            sus(S::SalesforceServerError),
        ),
        (
            "",
            "Malformed XML: Content at the start of the document (got 'The URL has moved ')",
            &[],
            sus(S::Unknown),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_tenth_seen_part() {
    use SuspensionReason as S;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            r#"{"error":"unsupported_grant_type","error_description":"grant type not supported"}"#,
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "unsupported_grant_type",
            "grant type not supported",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "INVALID_OPERATION: SOAP API login() is disabled by default in this org.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_ninth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "Could not refresh the access token. The access token response returned an unsuccessful status [400]",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Error:(1, 1) An unexpected error has occurred. 174145417-80495 (-873769799)",
            &[],
            sus(S::SalesforceServerError),
        ),
        // A package's own page failing stays the package's code.
        (
            "",
            "An unexpected error has occurred. Your solution provider has been notified. (pkg)",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "",
            "Line: 2, Column: 20 Field is not writeable: Contact.Name",
            &[],
            rec(T::FieldPermission),
        ),
        (
            "",
            "Upsert failed. First exception on row 0; first error: FIELD_INTEGRITY_EXCEPTION, There is already an item in this list with the name May list: [Name]",
            &[],
            rec(T::RestrictedUniqueValue),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_eighth_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "",
            "Before creating a custom price, create a standard price.",
            &[],
            rec(T::InvalidValue),
        ),
        (
            "",
            "Lead conversion failed: Statusinvalid convertedStatus: Qualified",
            &[],
            rec(T::MissingPicklistOption),
        ),
        (
            "",
            "Field OwnerId is not editable",
            &[],
            rec(T::OwnerAssignment),
        ),
        (
            "",
            "Field Industry is not editable",
            &[],
            rec(T::FieldPermission),
        ),
        // Inside custom code the code owns it.
        (
            "",
            "An Apex error occurred: System.SObjectException: Field OwnerId is not editable",
            &[],
            rec(T::SalesforceAutomation),
        ),
        (
            "",
            "取引先責任者 ID: 不正な種別の ID 値: 12d49575-e4d1-40f4",
            &[],
            rec(T::InvalidSalesforceId),
        ),
        (
            "FIELD_INTEGRITY_EXCEPTION",
            "You cannot deploy to a required field: Thing__c.Colour__c",
            &[],
            rec(T::FieldPermission),
        ),
        (
            "INVALID_CROSS_REFERENCE_KEY",
            "In field: field - no CustomField named Thing__c.Size__c found",
            &[],
            rec(T::Unknown),
        ),
        (
            "",
            "Service was temporarily interrupted or is unavailable. Please try again in a moment.",
            &[],
            sus(S::SalesforceOrgUnavailable),
        ),
        (
            "",
            "ContentPublication Limit exceeded.",
            &[],
            sus(S::SalesforceApiLimitExceeded),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn wordings_of_the_seventh_seen_part() {
    use ErrorType as T;
    use SuspensionReason as S;
    let rec = Classification::Record;
    let sus = Classification::Suspension;
    let cases: &[(&str, &str, &[&str], Classification)] = &[
        (
            "EMAIL_ADDRESS_BOUNCED",
            "The target object email address is currently marked as bounced.",
            &[],
            rec(T::InvalidEmail),
        ),
        ("", "Invalid OAuth token", &[], sus(S::SalesforceAuthFailed)),
        (
            "",
            "Salesforce OAuth token expired or revoked. Manual reconnection required.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "OAuth Salesforce desconectado. Auto-reconexión fallida.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Please be sure that you have a valid username and password.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Salesforce account linked to your sync account is disconnected.",
            &[],
            sus(S::SalesforceAuthFailed),
        ),
        (
            "",
            "Mailing Country Code: bad value for restricted picklist field: Narnia",
            &[],
            rec(T::MismatchedStateOrCountry),
        ),
        (
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "bad value for restricted picklist field: XX",
            &["BillingStateCode"],
            rec(T::MismatchedStateOrCountry),
        ),
        // Any other restricted picklist stays what it was.
        (
            "",
            "Lead Source: bad value for restricted picklist field: Fair",
            &[],
            rec(T::RestrictedPicklistValue),
        ),
        (
            "",
            "割り当て先 ID: 所有者を空白にしておくことはできません",
            &[],
            rec(T::OwnerAssignment),
        ),
        (
            "",
            "The recipient User should have reading permission for this record",
            &[],
            rec(T::OwnerAssignment),
        ),
        (
            "",
            "Failed to describe objects through salesforce sobjects api.",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "Salesforce bulk query job for object Account is incomplete, either it takes too long or it has failed or been aborted.",
            &[],
            sus(S::Unknown),
        ),
        (
            "",
            "Error: The user reparenting the contact must be the owner of the target account, the boss of the owner, or an administrator.",
            &[],
            rec(T::InsufficientAccess),
        ),
        (
            "",
            "You can't change the Household Account or Contact on a Recurring Donation that has Closed Opportunities",
            &[],
            rec(T::CustomValidationRule),
        ),
        (
            "",
            "The incomming schema is incompatable with your Account object",
            &[],
            rec(T::TypeMismatch),
        ),
    ];
    assert_classified(cases);
}

#[test]
fn every_code_has_a_mapping_row() {
    let rows = status_code_mappings();
    assert_eq!(rows.len(), all_codes().count());
    assert!(
        rows.iter()
            .all(|r| !r.why.is_empty() && !r.result.is_empty())
    );
}

#[test]
fn a_classification_names_its_type_or_reason_and_its_guidance() {
    for t in ErrorType::ALL {
        let c = Classification::Record(t);
        assert_eq!((c.code(), c.guidance()), (t.code(), t.guidance()));
    }
    for r in SuspensionReason::ALL {
        let c = Classification::Suspension(r);
        assert_eq!((c.code(), c.guidance()), (r.code(), r.guidance()));
    }
}

#[test]
fn org_wide_and_lock_conditions_say_whether_a_code_or_a_phrase_named_them() {
    for (code, phrase) in [
        ("STORAGE_LIMIT_EXCEEDED", "storage limit exceeded"),
        ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access"),
    ] {
        let by_code = explained("", &format!("first error: {code}, x"), &[]);
        assert_eq!(
            (by_code.why.basis, by_code.why.matched.as_ref()),
            (Basis::StatusCode, code)
        );
        let by_phrase = explained("", &format!("x: {phrase} to this record"), &[]);
        assert_eq!(
            (by_phrase.why.basis, by_phrase.why.matched.as_ref()),
            (Basis::Phrase, phrase)
        );
    }
}

#[test]
fn a_number_or_an_unsupported_code_in_a_text_decides_nothing() {
    for message in [
        "failed at line 401 of the batch",
        "first error: ALREADY_IN_PROCESS, see the approval",
    ] {
        assert_ne!(
            explained("", message, &[]).why.basis,
            Basis::StatusCode,
            "{message}"
        );
    }
    // Given as the status code, the number decides.
    assert_eq!(explained("401", "", &[]).why.basis, Basis::StatusCode);
}

#[test]
fn class_and_sobject_type_are_read_only_where_they_open_what_they_should() {
    // `Class.` not opening a stack frame wraps nothing: the code decides.
    for text in [
        "see Class.Handler docs",
        // Inside a longer name.
        "MyClass.Handler.run: line 12, column 1",
        // No name.
        "Class.: line 12, column 1",
        // A digit where the line number would be, but no `: line `.
        "see Class.Handler page 12",
    ] {
        let not_a_frame = explained(
            "",
            &format!("{text}; first error: INVALID_EMAIL_ADDRESS, bad"),
            &[],
        );
        assert_eq!(
            (not_a_frame.why.basis, not_a_frame.why.matched.as_ref()),
            (Basis::StatusCode, "INVALID_EMAIL_ADDRESS"),
            "{text}"
        );
    }
    let frame = explained(
        "",
        "Class.Handler.run: line 12, column 1; first error: INVALID_EMAIL_ADDRESS, bad",
        &[],
    );
    assert_eq!(frame.why.basis, Basis::Wrapper);
    // `sObject type '…'` says the type is unsupported only when it says so.
    let unsupported = explained("", "sObject type 'Foo__c' is not supported", &[]);
    let renamed = explained("", "sObject type 'Foo__c' was renamed", &[]);
    assert_eq!(unsupported.why.basis, Basis::Phrase);
    assert_ne!(renamed.class, unsupported.class);
}

#[test]
fn invalid_field_with_nothing_else_said_is_the_fields_permission() {
    assert_eq!(
        explained("INVALID_FIELD", "Foo__c: bad value for this field", &[]).class,
        Classification::Record(ErrorType::FieldPermission)
    );
    // Said to be about a missing id, it is that.
    assert_eq!(
        explained(
            "INVALID_FIELD",
            "Foreign key external ID: 42 not found",
            &[]
        )
        .class,
        Classification::Record(ErrorType::MissingSalesforceId)
    );
}

#[test]
fn the_field_blamed_decides_when_the_text_does_not() {
    assert_eq!(
        explained(
            "INVALID_CROSS_REFERENCE_KEY",
            "invalid cross reference id",
            &["RecordTypeId"]
        )
        .class,
        Classification::Record(ErrorType::DefaultSalesProcessUnavailable)
    );
    assert_eq!(
        explained(
            "FIELD_INTEGRITY_EXCEPTION",
            "bad value",
            &["BillingCountryCode"]
        )
        .class,
        Classification::Record(ErrorType::MismatchedStateOrCountry)
    );
}

#[test]
fn a_login_refused_to_an_apex_callout_is_that_codes_failure() {
    let body = r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
    assert_eq!(
        explained("", body, &[]).class,
        Classification::Suspension(SuspensionReason::SalesforceAuthFailed)
    );
    let callout =
        format!("Error: System.HttpResponse[Status=Unauthorized, StatusCode=401]\n{body}");
    assert_eq!(
        explained("", &callout, &[]).class,
        Classification::Record(ErrorType::SalesforceAutomation)
    );
    // Whatever else failed inside the callout still decides.
    let inner = "Error: System.HttpResponse[Status=Bad Request, StatusCode=400]\n\
                 [{\"errorCode\":\"STRING_TOO_LONG\",\"message\":\"Name: data value too large\"}]";
    assert_eq!(
        explained("", inner, &[]).class,
        Classification::Record(ErrorType::StringTooLong)
    );
}

#[test]
fn a_row_lock_in_other_words_is_still_a_row_lock() {
    for message in [
        "Record Currently Unavailable",
        "The record you are attempting to edit, or one of its related records, \
         is currently being modified by another user. Please try again.",
    ] {
        assert_eq!(
            explained("", message, &[]).class,
            Classification::Suspension(SuspensionReason::SalesforceOrgLocked),
            "{message}"
        );
    }
    let in_trigger = "AcmeTrigger: execution of AfterUpdate caused by: \
                      System.QueryException: Record Currently Unavailable";
    assert_eq!(
        explained("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", in_trigger, &[]).class,
        Classification::Record(ErrorType::SalesforceAutomation)
    );
}

#[test]
fn an_object_the_bulk_api_cannot_serve_suspends_for_a_probe() {
    let unsupported = r#"[{"errorCode":"INVALIDENTITY","message":"Entity 'Foo__Share' is not supported by the Bulk API."}]"#;
    assert_eq!(
        explained("", unsupported, &[]).class,
        Classification::Suspension(SuspensionReason::Unknown)
    );
    assert_eq!(
        explained("InvalidEntity", "Entity 'Foo__c' does not exist", &[]).class,
        Classification::Suspension(SuspensionReason::MissingObjectPermissions)
    );
    assert_eq!(
        explained("", "entity type Foo__x does not support query", &[]).class,
        Classification::Suspension(SuspensionReason::Unknown)
    );
    // The same words about one call of the client are not the object's.
    assert_eq!(
        explained("", "Aggregate query does not support queryMore()", &[]).class,
        Classification::Record(ErrorType::Unknown)
    );
    assert_eq!(
        explained(
            "FeatureNotEnabled",
            "Cannot serialize value for 'Address__c' in CSV format",
            &[]
        )
        .class,
        Classification::Suspension(SuspensionReason::Unknown)
    );
}

#[test]
fn an_object_the_user_may_not_create_names_the_missing_permission() {
    assert_eq!(
        explained(
            "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
            "entity type cannot be inserted: Campaign",
            &[]
        )
        .class,
        Classification::Suspension(SuspensionReason::MissingObjectPermissions)
    );
}

#[test]
fn login_refusals_in_their_many_wordings_suspend_for_the_credentials() {
    for (code, message) in [
        ("", "invalid_grant: ip restricted"),
        (
            "",
            "This authorization request has expired, or the IP is restricted or invalid login hours.",
        ),
        (
            "",
            "Authentication Failed: OAuth login invalid or expired access token",
        ),
        ("", "invalid client credentials"),
        ("", "user hasn't approved this consume"),
        (
            "LOGIN_DURING_RESTRICTED_TIME",
            "cannot log in during restricted time",
        ),
        ("", "{error: 'app_not_found'}"),
        ("", "OAuth2 login failed. Reason: invalid_credentials"),
    ] {
        assert_eq!(
            explained(code, message, &[]).class,
            Classification::Suspension(SuspensionReason::SalesforceAuthFailed),
            "{message}"
        );
    }
}

#[test]
fn a_refusal_that_asks_for_a_retry_is_probed_not_a_credential_failure() {
    for message in [
        r#"{"error":"invalid_grant","error_description":"token request is already being processed"}"#,
        r#"{"error": "unknown_error", "error_description": "retry your request"}"#,
    ] {
        assert_eq!(
            explained("", message, &[]).class,
            Classification::Suspension(SuspensionReason::Unknown),
            "{message}"
        );
    }
}

#[test]
fn a_bad_request_from_the_token_endpoint_is_a_refused_login() {
    let refused = explained(
        "",
        "400 Client Error: Bad Request for url: https://login.salesforce.com/services/oauth2/token",
        &[],
    );
    assert_eq!(
        refused.class,
        Classification::Suspension(SuspensionReason::SalesforceAuthFailed)
    );
    assert_eq!(refused.why.basis, Basis::Phrase);
    assert_eq!(refused.why.matched, TOKEN_ENDPOINT);
    // The endpoint alone says nothing of why the call failed.
    assert_eq!(
        explained(
            "",
            "connect timed out: https://login.salesforce.com/services/oauth2/token",
            &[]
        )
        .class,
        Classification::Record(ErrorType::Unknown)
    );
}

#[test]
fn each_split_phrase_holds_its_head_where_it_says() {
    for &(head, phrases) in SPLIT {
        for &(phrase, at, _, _) in phrases {
            assert_eq!(phrase.get(at..at + head.len()), Some(head), "{phrase}");
        }
    }
}
