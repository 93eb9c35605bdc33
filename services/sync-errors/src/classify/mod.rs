//! The built-in classifier: turns what Salesforce returned for a failed
//! call (status code, message, fields, object type) into one record-level
//! [`ErrorType`] or one integration-level [`SuspensionReason`], and says
//! why ([`Explanation`]: what decided, what matched, how sure).
//!
//! The status code alone is not enough: Salesforce reuses codes across causes
//! (a `CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY` is a trigger, a flow or a
//! validation rule), clients often drop the code, and errors nest: a
//! trigger's own DML failure carries the inner code in its text. So the
//! message is read too, once, by one Aho-Corasick automaton that knows every
//! decisive status code and phrase below, ASCII case-insensitively (the
//! first Apex stack frame, which a trace repeats on every line, is looked
//! for apart). The rules, first match wins:
//!
//! | step | when | result | basis |
//! |---|---|---|---|
//! | 1 | full storage (`storage limit exceeded`, tools' `data` / `file storage limit`, `storage is full`), a concurrent-request limit, the org's read-only maintenance (`INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE`, an HTTP 420 page: `ERROR_HTTP_420`, or `read-only mode`) is named anywhere, or fields that code run in user mode could not see (`fields being inaccessible`, `secure query included inaccessible field`) with no trigger, flow or Apex frame around the exception | suspension `SALESFORCE_STORAGE_LIMIT_EXCEEDED` / `SALESFORCE_CONCURRENT_LIMIT_EXCEEDED` / `SALESFORCE_ORG_UNAVAILABLE` / `MISSING_FIELD_PERMISSIONS`, the first three even inside a trigger: the org, not the record, must wait | status code or phrase |
//! | 2 | the status code is a row lock | suspension `SALESFORCE_ORG_LOCKED` (transient) | status code |
//! | 3 | status `CANNOT_EXECUTE_FLOW_TRIGGER` / `APEX_ERROR` (…), else the earliest flow or Apex marker in the text (a managed package's too, such as NPSP's `Failed to create Account for Contact`) | `SALESFORCE_FLOW` / `SALESFORCE_AUTOMATION`: the outermost custom code owns whatever failed inside it, a row lock included. Except a bare Apex exception (no trigger, flow or frame around it) naming an object type its query cannot see (`System.QueryException: sObject type '…' is not supported`): suspension `MISSING_OBJECT_PERMISSIONS`, the connected user's object access, as is a whole object refused to it (`System.NoAccessException: No access to entity '…'`); or a row lock (`System.QueryException: Record Currently Unavailable`): suspension `SALESFORCE_ORG_LOCKED`, transient, as a bare lock is. And except a record write's bare `System.DmlException` (`Insert failed. First exception on row 0; first error: CODE, …`, or a lead's `ConvertLead failed`, with no trigger or frame named, no `caused by` before it and no second `first error:` inside), with no status or `APEX_ERROR` (an org's Apex REST service whose write was refused): the record it wrote failed, and a flow named inside (`CANNOT_EXECUTE_FLOW_TRIGGER`) is `SALESFORCE_FLOW`; a row lock inside is the lock on that record (suspension `SALESFORCE_ORG_LOCKED`, transient); otherwise the cause inside decides (steps 5 and 6) when it is a record's own; anything else stays the code's | wrapper, or the inner cause's basis |
//! | 4 | a row lock named in a text with no custom code around it (`unable to obtain exclusive access`, `Record Currently Unavailable`, `currently being modified by another user`, setup `already been locked by another change`, `admin operation already in progress`, `Group membership operation already in progress`, a sharing recalculation that `interferes with another operation` (in French `interfère avec une autre opération`), Marketing Cloud's `deadlocked on lock resources` and `Another user recently modified` a journey, `too many lock failure`) | suspension `SALESFORCE_ORG_LOCKED` (transient) | status code or phrase |
//! | 5 | the status code; if it is empty, unknown or generic (`CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY`, `UNKNOWN_EXCEPTION`, `NOT_FOUND`, `FORBIDDEN`, `InvalidBatch`, HTTP statuses, …), the first decisive code named in the text (a whole word: not inside a file path or a dotted name; a code cut short where the text ends, 12 characters or more with a `_`, as the code it begins when all that begin so name one cause; the Bulk API's codes in their camel-case spelling too; a code read `OTHER`/`UNKNOWN` on its own, such as `FUNCTIONALITY_NOT_ENABLED` or `MALFORMED_QUERY`, only when no phrase of the table is named, as when it is given) | the cause table below; the code decides over the text (a validation rule's text is free prose) | status code |
//! | 6 | the earliest phrase of the cause table | the cause table | phrase |
//! | 7 | nothing decisive | a `Bad Request` (or `code: 400`) from the OAuth token endpoint (`/services/oauth2/token`) is suspension `SALESFORCE_AUTH_FAILED`; else what the generic code means on its own (`CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY` a custom Apex REST service's own refusal, `{"Status": "Error", …}`, and a package's household rule, `can have only one primary group`, and Health Cloud's `has an Individual record type`, → `SALESFORCE_AUTOMATION`, `UNKNOWN_EXCEPTION` → suspension `SALESFORCE_SERVER_ERROR`, `NOT_FOUND` → `INSUFFICIENT_ACCESS_OR_MISSING_RECORD`, …), or, when the client dropped the status code, what the earliest generic code the text names means; otherwise `OTHER`/`UNKNOWN` | fallback |
//!
//! Level safety: a suspension that waits for an operator (API disabled,
//! credentials, object or field permissions, storage) comes only from a
//! code or phrase that names an org-wide cause ([`Cue::names_org_wide`]);
//! one record's failure that suggests the org is in trouble without naming
//! an org-wide cause (a row lock, a server error) raises only a transient
//! suspension, which the governor probes and lifts by itself. The last step
//! of [`explain`] enforces it, whatever the tables say.
//!
//! The cause table (codes compare ignoring case and `_`, so `InvalidSessionId`
//! and `invalid_grant` count; a SOAP `sf:` prefix is dropped). Every value
//! of Salesforce's `StatusCode` list is in `codes.rs` with its cue or,
//! deliberately, `OTHER`/`UNKNOWN` with why; docs/SYNC_ERRORS.md lists them.
//!
//! | codes / phrases | result |
//! |---|---|
//! | `REQUEST_LIMIT_EXCEEDED`, `EXCEEDED_QUOTA`; `TotalRequests`, a loader's `daily rate limit exceeded`, `ApiBatchItems`, `API call` limit, `per 24 h…`, `ContentPublication Limit`, `AsyncApexExecutions Limit`, `total events daily limit`, `daily API rate limit`, a Dev Hub's `scratch org signup limit` and `active scratch org limit`, tools' `daily API limit`, `API limit exceeded` / `reached`, platform events' `hourly publishing limit` | suspension `SALESFORCE_API_LIMIT_EXCEEDED`, unless a `Concurrent…` limit is named (concurrent requests, a tool's `concurrent limit`, a streaming client's `concurrent user limit`, the `number of concurrent queries`, the Pub/Sub API's `received too many connections`, Marketing Cloud's `requests are temporarily blocked`): `SALESFORCE_CONCURRENT_LIMIT_EXCEEDED` |
//! | a data tool's own share of the org's calls used up: `configured daily API quota`, `API calls minimal threshold`, a loader's `allotted quota` per run, `quota usage` above a loader's limit (and the German `tägliche API-Kontingent`) | suspension `INTEGRATION_API_LIMIT_EXCEEDED` |
//! | `API_DISABLED_FOR_ORG`, `API_CURRENTLY_DISABLED`, `FeatureNotEnabled`; `API is not enabled…`, the REST API's `This feature is not currently enabled for this user` (with `FUNCTIONALITY_NOT_ENABLED` too), `API calls have been disabled`, the Streaming API's `not enabled for streaming`, tools' `API access is not enabled` / `is disabled` / `has been disabled`, `does not have API access`, `API Enabled permission`, `API not enabled`, OAuth 1.0's `OAuth Api Access Disabled` | suspension `SALESFORCE_API_DISABLED` |
//! | `INVALID_SESSION_ID`, `INVALID_LOGIN`, `invalid_grant` and the other login and OAuth errors (`OAUTH_APP_BLOCKED`, `OAUTH_APP_ACCESS_DENIED`, `access_denied`, `OAUTH_EC_APP_NOT_FOUND`, `app_not_found`, `LOGIN_DURING_RESTRICTED_TIME`, `LOGIN_DURING_RESTRICTED_DOMAIN`, the SOAP API's login faults (`SSO_SERVICE_DOWN`, `INVALID_SSO_GATEWAY_URL`, `LOGIN_CHALLENGE_ISSUED`, `TRIAL_EXPIRED`, `ORG_LOCKED`, …), `redirect_uri_mismatch`, `unsupported_grant_type`, …), HTTP 401; `Session expired or invalid`, `not admin approved`, `ip restricted`, `invalid login hours`, `OAuth login invalid or expired`, `invalid client credentials`, and in the words of the tools that report them: `could not` / `unable to authenticate`, `authentication failed`, `re-authenticate`, `authorization failed`, OAuth's `authorization grant … is invalid`, OAuth's `code verifier` refused, a connector's `Login error code` and `token expired`, client libraries' `token has expired`, `unable to refresh session`, `User authentication required` and `Error reaching Login URL`, `invalid username or password`, `invalid clientId` / `clientSecret`, `missing clientId`, `with Salesforce - read failed`, `credentials used to connect`, `generating access token`, `refresh the access token`, `login() is disabled`, `SOAP Login not available in API version` (`The SOAP Login operation is not available`), OAuth's `must use HTTP POST`, the Pub/Sub API's `eventbus.grpc.service.auth`, `error initializing the connection to Salesforce`, `Bad_OAuth_Token`, `error authenticating`, `IP address is unauthorized`, `permission to access the connected app`, `failed: 401`, `UNSUPPORTED_CLIENT`, `UNSUPPORTED_API_VERSION` (`Invalid Api version specified`), a Canvas app's `session has ended or is invalid`, `OAuth App Blocked`, `TLS 1.0 has been disabled`, `Single Sign-On Gateway Url is invalid`, OAuth's `requested scope is invalid` / `not allowed` (`OAUTH_DISALLOWED_SCOPES`), `Login Rate Exceeded`, a tool's `Failed to login`, `No refresh token`, OAuth's `missing required code challenge` (PKCE), Salesforce's OAuth error page (`We can't authorize you because of an OAuth error`), the Pub/Sub API's `An authentication exception occurred`, a session short of the org's high assurance (`Requires Extra Verification`), OAuth's `approval process before it expired`, the Streaming API's `401::…`, a data move tool's `has expired or the user has no access` and `refresh your local SFDX CLI connection`, an app builder's `can't be refreshed` and `reconnect your account`, tools' `reauthenticate`, `reauthorize`, the Mobile SDK's `RefreshTokenRevokedException` (`Could not refresh token`), client libraries' exception classes (`SalesforceAuthenticationFailed`, `SalesforceExpiredSession`, Restforce's `AuthenticationError` and `UnauthorizedError`, the Java WSC's `LoginFault` and `InvalidSessionIdFault`), `invalid access token`, `refresh token is invalid`, Account Engagement's `access_token is invalid`, its business unit refused (`Pardot-Business-Unit-Id header`, `Pardot Business Unit ID`) and its connector unverified (`Unable to verify Salesforce connector`), its `Invalid API key` and its `Access Denied` (error 49, in its JSON and XML answers), a client's `Login failed`, an answer whose message is HTTP 401's reason alone (`'message': 'Unauthorized'`, `"error": "Unauthorized"`), `Invalid JWT`, `Session ID is invalid`, single sign-on refused (`We can't log you in`, `Unable to map the subject`), `token has been revoked`, `session has expired`, `invalid credentials`, `not authenticated`, … | suspension `SALESFORCE_AUTH_FAILED`; inside an Apex callout's answer (`System.HttpResponse[…]`) it is the org's code failing, `SALESFORCE_AUTOMATION`; with a retry asked for (`token request is already being processed`) suspension `UNKNOWN` |
//! | `unknown_error` (OAuth), `token request is already being processed`, Marketing Cloud's `temporarily prevented` | suspension `UNKNOWN` (probed) |
//! | `is not supported by the Bulk API`, `not supported in Bulk Query` (or `Bulk V2 Query`), `does not support query` (a whole word), `compound data not supported`, `query is not supported on the`, `Cannot serialize value for`, `is not replicable` | suspension `UNKNOWN` (probed): the object or field cannot be served that way; with `InvalidEntity` or `FeatureNotEnabled` too |
//! | `SERVER_UNAVAILABLE`, `FUNCTIONALITY_TEMPORARILY_UNAVAILABLE`, HTTP 502/503, `INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE`, `ORG_IN_MAINTENANCE`; `down for maintenance`, `undergoing maintenance`, `Service Unavailable`, `temporarily interrupted` / `unavailable`, `could not connect to host`, `resolve host`, `the org cannot be found`, the SOAP client's `Failed to send request`, a deploy's `System may be currently unavailable`, the Streaming API's `503::…` and its CometD client's `httpCode=502` / `503` / `504`, the Pub/Sub API's `The service is unavailable`, Salesforce Edge's `We've hit a snag.` page (not Lightning's `We hit a snag.` above a record's own errors) | suspension `SALESFORCE_ORG_UNAVAILABLE` |
//! | `internal server error`, `Internal Salesforce Error`, Salesforce Edge's `<title>Error Page</title>`, `no healthy upstream`, `Failed while fetching query cursor data`, `An unexpected error occurred. Please include this ErrorId`, `contact support with the following id` / `with error ID`, `Customer Support for help with error -…`, `An unexpected error has occurred`, `An unknown error has occurred`, the Metadata API's `internal servlet state`, Salesforce's error page (`support team has been notified`), Data Loader's `Server error returned in unknown format`, a bare `Salesforce System Error: …`, a proxy's `upstream connect error`, the Bulk API's `InternalServerError`, `PLATFORM_EVENT_PUBLISH_FAILED` | suspension `SALESFORCE_SERVER_ERROR`; a metadata component refused (`Error occured processing component …`) is that component's, `OTHER`/`UNKNOWN`, even under `UNKNOWN_EXCEPTION` |
//! | `transaction security polic…`, an HTML `The URL has moved` page, a SOAP client's `Destination URL not reset`, a parser's `while parsing value: <`, `Unexpected character ('<'`, `JSONDecodeError: Expecting value`, `ExpatError: syntax error`, `Unexpected end of JSON input` or `Failed to parse detail` and a client's `unexpected response was received from Salesforce` (a page where a reply should be), a Bulk API `job aborted`, `Not a valid enumeration` or `UnexpectedErrorFault: null`, an Apex SOAP service's `No operation available for request`, the Streaming API's `403::Unknown client` (or `402::`), a channel it does not have (`The channel you requested to subscribe to does not exist`, `404::Unknown channel`, `The channel specified is not valid`) and a replay id no longer kept (`-2 to replay all events`) or not in the client's replay map (`provided replay ID map`), a Pub/Sub API topic the org does not publish (`and topic /…`) or the client could not read (`Failed to retrieve topic`, `UNAVAILABLE: io exception`), a replay id it cannot fetch (`subscription.fetch.replayid…`) or validate (`Replay ID validation failed`) and a managed subscription another client holds (`managed subscription with the same ID`), `OPERATION_TOO_LARGE` and its words (`exceeded 100000 distinct`), `INVALID_REPLICATION_DATE`, a SOAP client's fault where the call's answer was expected (`soap/envelope/:Fault`), a reply Google Apps Script cut short (`Truncated server response`), an API version Salesforce has retired (`410:GONE`, HTTP 410, the Bulk API's `InvalidVersion`, Account Engagement's `unable to use version`), a permission set's `Unknown user permission` (a feature or licence the org lacks), an API that needs the org's `active duplicate matching rules` | suspension `UNKNOWN` |
//! | `INVALID_TYPE` with `sObject type '…' is not supported` or `… is not supported. If you are attempting to use a custom object`, `InvalidEntity`; `security evaluation for non-admin users`, `entity type cannot be inserted/updated`, `insufficient access rights on entity`, `no access to entity`, `Entity is not api accessible`, a loader's `No creatable fields`, a connector's objects that `produced` no `queryable SObjects` or a platform event it is `not allowed to publish to`, `use of the Metadata API requires`, `not allowed to get Organization`, `is missing in the Source` / `Target`, the Bulk API's `No create` / `update` / `delete access for object` (with `INSUFFICIENT_ACCESS`, a generic code, or none), an event subscription `denied_by_security_policy`, a deploy refused for a feature the org lacks (`Not available for deploy for this organization`, `must be enabled before deploying`), Marketing Cloud's `API Permission Failed` and a bare `Insufficient privileges` | suspension `MISSING_OBJECT_PERMISSIONS`; with the record's owner named (`contact the owner of the record`) `INSUFFICIENT_ACCESS`; on a custom metadata type (`…__mdt`, which only deploys write) `INSUFFICIENT_ACCESS`; `INVALID_TYPE` otherwise (a client's serialisation bug, `Must send a concrete entity type`, even with the code named in the text, no type sent: `sObject type ''`) is `OTHER`/`UNKNOWN` |
//! | `No such column` (a query), `Didn't understand relationship`, `InvalidBatch` with `Field name not found`, a tool's or a security library's field-level check (`permission to read field`, `permission to insert field`, `permission to update field`, `does not exist or is not visible to the current user`), Account Engagement's `Invalid property in request` | suspension `MISSING_FIELD_PERMISSIONS`; `No such column` on a write (`on sobject of type`) is `FIELD_PERMISSION`; a subquery's child relationship (`in FROM part of query call`) is the child object: `MISSING_OBJECT_PERMISSIONS` |
//! | `InvalidBatch`, `InvalidJob`, `ClientInputError`, `UnsupportedContentType` otherwise | the text decides (`Records not found`, a batch with no rows, names no cause; a batch `Unable to find` or `not completed` is the client's own request: `OTHER`/`UNKNOWN`); nothing recognised: suspension `UNKNOWN` (the whole batch failed) |
//! | `INVALID_FIELD` | as `No such column` if the text says so; `Foreign key external ID` → `MISSING_SALESFORCE_ID`; a body that does not parse (`Json Deserialization failed`) → `OTHER`/`UNKNOWN`; a value of the wrong type (`for the type xsd:`, a query's `must be of type`, a relationship that `is not a nested SObject`) → `TYPE_MISMATCH`; else `FIELD_PERMISSION` |
//! | `MALFORMED_QUERY`, `MALFORMED_SEARCH`, `METHOD_NOT_ALLOWED`, `INVALID_QUERY_LOCATOR`; a query function the API version does not serve (`function is not supported in this version`, even under `UNSUPPORTED_API_VERSION`), an offset past what Salesforce serves (`Maximum SOQL offset`, even under `NUMBER_OUTSIDE_VALID_RANGE`), a parameter refused (`invalid parameter value`, even under `UNKNOWN_EXCEPTION`), a type the API does not know (`INVALID_TYPE: Unknown type:`), a PushTopic query's `sub-selects are not supported` or `'LIMIT' is not allowed` and a filter on a field that takes none (`can not be filtered in a query call`), under `INVALID_FIELD`, a Big Object call without `AllOrNoneHeader` (under `FIELD_INTEGRITY_EXCEPTION`) or in a shape it does not serve (`BIG_OBJECT_UNSUPPORTED_OPERATION`, even under `InvalidBatch`), a deploy cancelled after it ended (`Deployment already completed`, under `INVALID_ID_FIELD`), a SOAP body the server could not read (`Premature end of file`, even under `UNKNOWN_EXCEPTION`), a POST sent without its length (`POST requires content-length`, even under `UNKNOWN_EXCEPTION`), a column left unnamed (`No such column ''`) | `OTHER`/`UNKNOWN`: a request the integration built that Salesforce refuses for its shape, whatever the record, is that request's failure, escalated, never the org stopped; a record's value that breaks the query's string literal (`Illegal character sequence`) is `INVALID_VALUE` |
//! | `FIELD_CUSTOM_VALIDATION_EXCEPTION`; `Validation Formula Invalid`, a tool's `validation rule is preventing` and `VALIDATION MESSAGE:` | `CUSTOM_VALIDATION_RULE` |
//! | `FIELD_FILTER_VALIDATION_EXCEPTION` | its default text (`does not match filter criteria`, in Italian `non corrisponde ai criteri di filtro`) → `INVALID_SALESFORCE_ID`; an admin-written message → `CUSTOM_VALIDATION_RULE` |
//! | `DUPLICATES_DETECTED`; `Use one of these records?`, `duplicate rule`, a bare `Duplicate Alert`, an `email address already exists` (Account Engagement's prospects), a subscriber `already on the list` (Marketing Cloud) | `SALESFORCE_DUPLICATE_RULE` |
//! | `DUPLICATE_VALUE`, `DUPLICATE_EXTERNAL_ID`; `duplicate value found`, a contact that `already has a relationship with` the account, `matches more than one record`, `Multiple records found`, `enter a unique` one, `duplicate updates in one batch`, a campaign member added `more than once`, a price that `already exists in this price book`, a name that `is already taken` or `already exists with name` (Marketing Cloud) | `RESTRICTED_UNIQUE_VALUE` |
//! | `INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY`, `ENTITY_IS_DELETED`, `ENTITY_IS_LOCKED`, `CANNOT_UPDATE_CONVERTED_LEAD`, `NOT_FOUND`; `requested resource does not exist`, `converted lead`, `insufficient access on cross reference entity`, `edit access for this record`, the Tooling API's `Unable to load specified entity`, a retrieve's `Entity of type '…' named '…' cannot be found`, `no recycle bin entry` (even under `INVALID_ID_FIELD`), Account Engagement's `requested record was not found`, `Invalid prospect ID`, `Invalid user ID` and `Invalid user email address`, Marketing Cloud's `Keys Not Found` | `INSUFFICIENT_ACCESS_OR_MISSING_RECORD`; Apex written through the API into production (`Can not create Apex Class on an active organization`) → `OTHER`/`UNKNOWN` |
//! | `INSUFFICIENT_ACCESS_OR_READONLY`, `FORBIDDEN` and `INSUFFICIENT_ACCESS` when the text names nothing else, `NO_MASS_MAIL_PERMISSION`; `…on object id`, `have the necessary permissions`, `no sharing access`, `Insufficient Privileges` with `the owner of the record`, `Send Email is disabled`, `do not have access to the Apex class`, `Cannot modify managed object`, `without the Manage Price Books permission` (even under a code that reads an invalid value), a `feature license` the user lacks (even under `INVALID_ID_FIELD`) | `INSUFFICIENT_ACCESS` |
//! | `INVALID_FIELD_FOR_INSERT_UPDATE`, `FIELD_NOT_UPDATABLE`; `Unable to create/update fields`, `bad field names on insert/update`, `…have access to fields on`, `Field X is not editable` / `not writeable`, `deploy to a required field` | `FIELD_PERMISSION`; a master-detail parent an upsert may not change (`(as part of an upsert) parent field`) → `INVALID_VALUE` |
//! | `INACTIVE_OWNER_OR_USER`; `owner is inactive`, `user is inactive` | `INACTIVE_OWNER` |
//! | `TRANSFER_REQUIRES_READ`, `INVALID_OWNER`; `owner cannot be blank`, `new owner must have read` (`Transfer Requires Read`), `Field OwnerId is not editable`, a portal account's `owner must have a role`, a user who `cannot be record owners` (even under `FIELD_INTEGRITY_EXCEPTION`), a converted lead's owner that is not a user (`can only be owned by users`), a queue `not associated with this SObject type` | `OWNER_ASSIGNMENT` |
//! | `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`; `bad value for restricted picklist field` | `RESTRICTED_PICKLIST_VALUE`, or `INVALID_OPPORTUNITY_STAGE` on an opportunity's `StageName` |
//! | `INVALID_CURRENCY_ISO`; `Picklist value: … in picklist: … not found`, `invalid convertedStatus` | `MISSING_PICKLIST_OPTION` |
//! | `TOO_MANY_ENUM_VALUE` | `OPTION_LIMIT_EXCEEDED` |
//! | `REQUIRED_FIELD_MISSING`; `Required fields are missing`, `value is missing`, a converted lead's `Converted Account empty`, Marketing Cloud's `does not allow null value`, `missing a required attribute`, `existing field is required` and `are required fields`, a missing label's `val missing_…`, in French `Champs obligatoires manquants` | an empty collection request (`At least 1 record is required`) → `OTHER`/`UNKNOWN`; `MISSING_REQUIRED_VALUE`, or `INVALID_OPPORTUNITY_STAGE` on an opportunity's `StageName` (the field given, or alone in the message's list when none is) |
//! | `FIELD_INTEGRITY_EXCEPTION`, `field integrity exception` | a deploy component's failure (`…: unknown (…)`), a field definition the Metadata API refuses (`Invalid length, minimum is`), field permissions a profile cannot take (`Can't enable field permission(s)`) or an invalid reference in code → `OTHER`/`UNKNOWN`; state without country → `MISSING_REQUIRED_COUNTRY`; state/country text or field → `MISMATCHED_STATE_OR_COUNTRY`; wrong id type → as `MALFORMED_ID`; field permissions on a required field → `FIELD_PERMISSION`; a username not in e-mail form → `INVALID_EMAIL`; a value left out (`Latitude value is missing`, a portal user's contact that `must include an account`, order products that `must have a Unit Price`) → `MISSING_REQUIRED_VALUE`; a reference from another org, even in a component's `unknown (…)` (`CreatedByID(…) is not in org.`) → `INVALID_SALESFORCE_ID`; `too long` → `STRING_TOO_LONG`; `already in use` or `already an item in this list` → `RESTRICTED_UNIQUE_VALUE`; `must specify`, `Price Book Not Set`, an asset that `needs an account, a contact` → `MISSING_SALESFORCE_ID`; an owner refused (`cannot be record owners`) → `OWNER_ASSIGNMENT`; a record that cannot be loaded → `INSUFFICIENT_ACCESS_OR_MISSING_RECORD`; lookup filter or a `…Id` field (the fields named after the colon count when the client kept none) → `INVALID_SALESFORCE_ID`; else `INVALID_VALUE` |
//! | `MALFORMED_ID`, `INVALID_ID_FIELD`; `id value of incorrect type`, a query's `invalid ID field:`, a price book entry `in a different pricebook` (or `price book`) or not one `that belongs to the Price Book` of its order, an action's `Check the IDs and try again` (even under `UNKNOWN_EXCEPTION`), a relationship given a record of the wrong kind (`choose a person as the account`, `associate a private contact with an account`), Marketing Cloud's `Campaign ID is invalid` (` ID is invalid`) and `ID could not be parsed` | `INVALID_SALESFORCE_ID`, or `OWNER_ASSIGNMENT` for a queue's or a user's id (`00G…`, `005…`) or the `OwnerId` field; `MISSING_SALESFORCE_ID` for no id at all (`id: null`) |
//! | `INVALID_CROSS_REFERENCE_KEY`; `invalid cross reference id` | `INVALID_SALESFORCE_ID`; `DEFAULT_SALES_PROCESS_UNAVAILABLE` on `RecordTypeId`; `OWNER_ASSIGNMENT` for a blank owner; a field definition that is not there (`custom field does not exist`, `no CustomField named`) → `OTHER`/`UNKNOWN` |
//! | `MISSING_ARGUMENT`; `Foreign key external ID`, `Id not specified in an update call`, an external ID field missing or not given (`does not match an External ID`), `No location exists with ID`, a Marketing Cloud triggered send without `the Triggered Send ID or the Customer Key` | `MISSING_SALESFORCE_ID` |
//! | `UNAVAILABLE_RECORDTYPE_EXCEPTION`; `record type missing`, `Record Type ID: this ID value…` | `DEFAULT_SALES_PROCESS_UNAVAILABLE` |
//! | `INVALID_TYPE_ON_FIELD_IN_RECORD`; `value not of required type`, `Cannot deserialize instance of` | `TYPE_MISMATCH` |
//! | `JSON_PARSER_ERROR` | `TYPE_MISMATCH` when the text names a value of the wrong type; else a body the client built wrong (`'referenceId' is a required field`, a request too large) → `OTHER`/`UNKNOWN` |
//! | `STRING_TOO_LONG`; `data value too large`, `STRING TOO LONG`, `Value too long for field` | `STRING_TOO_LONG` |
//! | `INVALID_EMAIL_ADDRESS`; `invalid email address`, `must be in the form of an email address`, Account Engagement's `Invalid prospect email`, Journey Builder's sender `email or mobile address` refused | `INVALID_EMAIL` |
//! | `NUMBER_OUTSIDE_VALID_RANGE`; `value outside of valid range`, `create a standard price`, `is not a valid value for the enum`, a recurring event's `the end date cannot be after`, `attempt to violate hierarchy constraints`, `INVALID_ACCESS_LEVEL` (a share row below the org's defaults), a file's body larger than Salesforce accepts (`MAXIMUM_SIZE_OF_ATTACHMENT`, `MAXIMUM_SIZE_OF_DOCUMENT`), Marketing Cloud's `ResubscribeFailed` and `contains prohibited characters`, a profile `derived from a license` that cannot take the user's permissions, Account Engagement's `valid type for this field` | `INVALID_VALUE` |
//! | `DELETE_OPERATION_TOO_LARGE`; `Cascade deleting too many records` | `ASSOCIATION_LIMIT_REACHED`: the record has too many children to go with it |
//!
//! HTTP statuses count in the words the common clients write them in when
//! Salesforce's body is lost (`Request failed with status code 503`,
//! `ERROR_HTTP_401`, `503 Server Error: …`, `The remote server returned an
//! error: (401) …`, `Bad Gateway`, `Gateway Timeout`, and the connection
//! itself lost: `ECONNRESET`, `ETIMEDOUT`, `socket hang up`, `Remote end
//! closed connection`, `Connection refused`, `Connection reset`,
//! `Connection timed out`, `Read timed out`; jsforce's `Check that the org exists`), read as the
//! status code given alone is; the generic ones (403, 404, 500) decide only
//! when nothing else in the text does; so does a CometD client's
//! `{httpCode=504}` and Google Apps Script's `returned code 503`. So do
//! the Pub/Sub API's gRPC
//! statuses (`14 UNAVAILABLE:`, `StatusRuntimeException: UNAUTHENTICATED`,
//! `StatusCode.DEADLINE_EXCEEDED`, `8 RESOURCE_EXHAUSTED:`, and `13
//! INTERNAL:`, generic as HTTP 500 is).
//!
//! Standard messages count in the languages the corpus has them in too
//! (`LOCALIZED`: Japanese ones such as the restricted picklist, the custom
//! validation exception, the duplicate rule's `Use one of these records?`,
//! a process that failed the save, a flow's unhandled fault, an owner left
//! blank and an id value of incorrect type; Korean ones: the restricted
//! picklist, a lookup filter's own text and a flow's fault e-mail;
//! Portuguese ones: a row lock and required fields missing; French: an
//! order with no price book).
//!
//! Custom code is also named by what only it does: `Web service callout
//! failed`, `Too many callouts`, an object that `does not allow
//! locking rows`, `Apex heap size too large`, `Invalid conversion from
//! runtime type`, a test method's `do not support Web service callouts` and
//! a `Dependent class is invalid`, a `Non-selective query against large
//! object type`, `Callout from triggers are currently not supported` and a
//! field read through another type's row (`does not belong to SObject
//! type`), `Batchable instance is too big`, a callout's `IO Exception:
//! Exceeded max size` and a workflow's `workflow or
//! approval field update` are Apex's, `An error occurred at
//! element`, `Invalid target field for field update`, `the number of
//! interviews` and `Number of iterations exceeded` a flow's.
//!
//! Types the CRM side raises itself (association limit, waiting for account
//! sync, e-mail already in use, missing picklist option, mismatched
//! options, owners not synced, option limit, inactive opportunity stage,
//! missing contact ID) and the integration's own suspensions (missing field
//! mappings) rarely or never come from Salesforce's text: the sync worker
//! states them with the failure, and what it states wins (see `rules.rs`).
//!
//! Cost: one pass of a DFA over the message (a long message is walked as
//! four interleaved stretches, see `dfa.rs`), a look-up of the status code
//! and a scan of the few field names; no allocation once the automaton is
//! built, on first use (`cargo bench -p sync-errors --bench classify`).

use std::borrow::Cow;
use std::sync::OnceLock;

use aho_corasick::PatternID;
use memchr::memmem;

use crate::taxonomy::{Basis, ErrorType, SuspensionReason};

mod codes;
mod dfa;

use dfa::Dfa;

/// What a sync worker saw when one call to Salesforce failed, borrowed from
/// the report so classification copies nothing.
#[derive(Clone, Copy, Debug)]
pub struct FailureText<'a> {
    /// Salesforce's status or error code (`STRING_TOO_LONG`, `invalid_grant`,
    /// `InvalidSessionId`), in whatever case the API used; empty when the
    /// client dropped it.
    pub status_code: &'a str,
    /// The message text, possibly wrapped in JSON or exception text.
    pub message: &'a str,
    /// The API names of the fields Salesforce blamed, if any.
    pub fields: &'a [String],
    /// The API name of the object written (`Opportunity`), or empty.
    pub object_type: &'a str,
}

/// The outcome of classifying one failure: either one record failed, or the
/// whole integration of the org must stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Classification {
    /// Only this record failed; the sync-error service keeps it.
    Record(ErrorType),
    /// The integration must stop calling Salesforce; the governor owns it.
    Suspension(SuspensionReason),
}

impl Classification {
    /// What the operator should do, whichever level the failure is at.
    pub fn guidance(self) -> &'static str {
        match self {
            Classification::Record(t) => t.guidance(),
            Classification::Suspension(r) => r.guidance(),
        }
    }

    /// Its type or reason code (`STRING_TOO_LONG`).
    pub fn code(self) -> &'static str {
        match self {
            Classification::Record(t) => t.code(),
            Classification::Suspension(r) => r.code(),
        }
    }
}

/// Why a failure was classified as it was.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// What decided.
    pub basis: Basis,
    /// How sure, 0 (nothing recognised) to 1 (stated by the worker).
    pub confidence: f32,
    /// What matched: the status code, the phrase, the operator rule's name
    /// or the stated code; empty when nothing did.
    pub matched: Cow<'static, str>,
}

impl Explanation {
    /// An explanation with a fixed `matched` text.
    pub fn new(basis: Basis, confidence: f32, matched: &'static str) -> Self {
        Self {
            basis,
            confidence,
            matched: Cow::Borrowed(matched),
        }
    }
}

/// A classification with its explanation.
#[derive(Clone, Debug, PartialEq)]
pub struct Classified {
    /// The classification.
    pub class: Classification,
    /// Why.
    pub why: Explanation,
}

/// Confidence of each kind of evidence: a code given in the status field is
/// the surest thing Salesforce says; the same code found in a text, an Apex
/// or flow marker, a phrase, a generic code alone and nothing at all, less
/// and less.
mod confidence {
    pub const GIVEN_CODE: f32 = 0.95;
    pub const CODE_IN_TEXT: f32 = 0.85;
    pub const WRAPPER: f32 = 0.85;
    pub const PHRASE: f32 = 0.8;
    pub const GENERIC_CODE: f32 = 0.5;
    pub const UNMAPPED_CODE: f32 = 0.4;
    pub const NOTHING: f32 = 0.0;
}

/// Classifies one failure; never fails: what is not recognised is
/// `Record(ErrorType::Unknown)`. See the module documentation for the rules.
pub fn classify(failure: &FailureText<'_>) -> Classification {
    explain(failure).class
}

/// Classifies one failure and says why.
pub fn explain(failure: &FailureText<'_>) -> Classified {
    let (classified, cue) = decide(failure);
    level_safe(classified, cue)
}

/// Where a cue was found, for the explanation.
#[derive(Clone, Copy)]
enum Found {
    /// In the status code field: the matched text is the table's code.
    Given(&'static str),
    /// In the message: the matched text is the pattern.
    Text(PatternID),
}

/// The rules of the module documentation, in order; with the classification,
/// the cue of the code or phrase that decided it, if one did.
fn decide(failure: &FailureText<'_>) -> (Classified, Option<Cue>) {
    let status = status_cue(failure.status_code);
    let scan = Scan::of(failure.message);
    let m = matcher();
    let pattern = |pid: PatternID| m.patterns[pid.as_usize()];
    let by = |cue: Cue, found: Found, basis: Basis, confidence: f32| {
        let matched = match found {
            Found::Given(code) => code,
            Found::Text(pid) => pattern(pid),
        };
        let classified = Classified {
            class: resolve(cue, failure, &scan),
            why: Explanation::new(basis, confidence, matched),
        };
        (classified, Some(cue))
    };
    let from_status = |cue: Cue, code| {
        by(
            cue,
            Found::Given(code),
            Basis::StatusCode,
            confidence::GIVEN_CODE,
        )
    };
    // Steps 5 and 6: the code, or the first decisive code the text names,
    // else the earliest phrase; also what decides inside a bare DML failure.
    let named_cause = || match status {
        // A custom-code status reaches here only over a bare DML failure,
        // whose cause inside decides (step 3).
        Some((cue, code))
            if !cue.is_generic() && !matches!(cue, Cue::Unsupported | Cue::Apex | Cue::Flow) =>
        {
            Some(from_status(cue, code))
        }
        _ => scan
            .code
            // A code that names no record's cause (`FUNCTIONALITY_NOT_ENABLED`,
            // `MALFORMED_QUERY`, …) named in the text leaves a phrase to
            // decide first, as it does when it is given.
            .filter(|slot| slot.cue != Cue::Unsupported || scan.phrase.is_none())
            .map(|slot| (slot, Basis::StatusCode, confidence::CODE_IN_TEXT))
            .or(scan
                .phrase
                .map(|slot| (slot, Basis::Phrase, confidence::PHRASE)))
            .map(|(slot, basis, confidence)| {
                by(slot.cue, Found::Text(slot.pattern), basis, confidence)
            }),
    };

    // One of the `ANYWHERE` cues, where the text names it first.
    let named_anywhere = |cue: Cue| {
        scan.first_of(cue).map(|(pid, _)| {
            let basis = if m.is_code(pid) {
                Basis::StatusCode
            } else {
                Basis::Phrase
            };
            by(cue, Found::Text(pid), basis, confidence::CODE_IN_TEXT)
        })
    };

    // Custom code around the failure: a trigger, a flow or an Apex frame
    // named, or given as the status code.
    let in_code = scan.has(Cue::Apex)
        || scan.has(Cue::Flow)
        || matches!(status, Some((Cue::Flow | Cue::Apex, _)));
    // 1. Org-wide conditions, wherever they are named. Fields that code run
    // in user mode could not see are the connected user's field access only
    // when that code is the exception itself: inside a trigger or a flow
    // they are that automation's, which runs on every save of its object.
    for cue in [
        Cue::Storage,
        Cue::ConcurrentLimit,
        Cue::Maintenance,
        Cue::UserModeField,
    ] {
        if cue == Cue::UserModeField && in_code {
            continue;
        }
        if let Some((c, code)) = status.filter(|(c, _)| *c == cue) {
            return from_status(c, code);
        }
        if let Some(decided) = named_anywhere(cue) {
            return decided;
        }
    }
    // 2. The failure's own row lock.
    if let Some((Cue::Lock, code)) = status {
        return from_status(Cue::Lock, code);
    }
    // 3. The outermost custom code. `APEX_ERROR` given over a bare DML
    // failure (an org's Apex REST service whose insert was refused) is read
    // as that failure is without it, by the cause inside.
    let bare_dml = || {
        scan.custom
            .is_some_and(|slot| is_bare_dml(slot, &scan, failure.message))
    };
    if let Some((cue @ (Cue::Flow | Cue::Apex), code)) = status
        && !(cue == Cue::Apex && bare_dml())
    {
        return by(
            cue,
            Found::Given(code),
            Basis::Wrapper,
            confidence::GIVEN_CODE,
        );
    }
    if let Some(slot) = scan.custom {
        let wrapper = || {
            by(
                slot.cue,
                Found::Text(slot.pattern),
                Basis::Wrapper,
                confidence::WRAPPER,
            )
        };
        // An Apex exception other than a DML statement's, with no trigger,
        // flow or frame around it.
        let bare_thrown = slot.cue == Cue::Thrown && !in_code && !scan.has(Cue::Dml);
        // An object type the query cannot see (`System.QueryException:
        // sObject type 'X' is not supported`), or a whole object refused to
        // the user (`System.NoAccessException: No access to entity 'X'`):
        // the connected user's object access.
        if bare_thrown {
            for cue in [Cue::SObjectNotSupported, Cue::HiddenObject] {
                if let Some((pid, _)) = scan.first_of(cue) {
                    return by(cue, Found::Text(pid), Basis::Phrase, confidence::PHRASE);
                }
            }
        }
        // A row lock that a bare query met (`System.QueryException: Record
        // Currently Unavailable`, a `FOR UPDATE` waiting on another save):
        // the org locked for a moment, as a lock a bare DML statement meets.
        if bare_thrown && let Some(decided) = named_anywhere(Cue::Lock) {
            return decided;
        }
        if !is_bare_dml(slot, &scan, failure.message) {
            return wrapper();
        }
        // A flow named inside (`first error: CANNOT_EXECUTE_FLOW_TRIGGER`)
        // is the code that failed the record.
        if let Some((pid, _)) = scan.first_of(Cue::Flow) {
            return by(
                Cue::Flow,
                Found::Text(pid),
                Basis::Wrapper,
                confidence::WRAPPER,
            );
        }
        // A row lock on the record it wrote: the org locked, for a moment
        // (the transient suspension, probed), as a bare lock is.
        if let Some(decided) = named_anywhere(Cue::Lock) {
            return decided;
        }
        // A DML statement failed with no trigger or flow around it: the
        // record it wrote is the one that failed, so what failed inside
        // decides when it names a record's own cause. Anything else met
        // there (a server error, a field the code named wrong) stays the
        // code's: step 1 has already read what stops the org.
        return named_cause()
            .filter(
                |(c, _)| matches!(c.class, Classification::Record(t) if t != ErrorType::Unknown),
            )
            .unwrap_or_else(wrapper);
    }
    // 4. A row lock with no custom code around it.
    if let Some(decided) = named_anywhere(Cue::Lock) {
        return decided;
    }
    // 5. The code, or the first decisive code the text names; 6. the text.
    if let Some(decided) = named_cause() {
        return decided;
    }
    // 7. What a generic or unmapped code means on its own; when the client
    // dropped the code, a generic one the text names.
    match status {
        None if scan.has(Cue::TokenEndpoint)
            && BAD_REQUEST
                .iter()
                .any(|words| contains_ignore_case(failure.message, words)) =>
        {
            let classified = Classified {
                class: resolve(Cue::TokenEndpoint, failure, &scan),
                why: Explanation::new(Basis::Phrase, confidence::PHRASE, TOKEN_ENDPOINT),
            };
            (classified, Some(Cue::TokenEndpoint))
        }
        None if scan.generic.is_some() => {
            let slot = scan.generic.expect("checked just above");
            by(
                slot.cue,
                Found::Text(slot.pattern),
                Basis::Fallback,
                confidence::GENERIC_CODE,
            )
        }
        Some((Cue::Unsupported, code)) => {
            let classified = Classified {
                class: Classification::Record(ErrorType::Unknown),
                why: Explanation::new(Basis::StatusCode, confidence::UNMAPPED_CODE, code),
            };
            (classified, Some(Cue::Unsupported))
        }
        Some((cue, code)) => by(
            cue,
            Found::Given(code),
            Basis::Fallback,
            confidence::GENERIC_CODE,
        ),
        None => {
            let classified = Classified {
                class: Classification::Record(ErrorType::Unknown),
                why: Explanation::new(Basis::Fallback, confidence::NOTHING, ""),
            };
            (classified, None)
        }
    }
}

/// Whether the outermost custom code is a record write's `DmlException`
/// with nothing around it: an insert, update, upsert, delete or undelete
/// that failed once (`… failed. First exception on row 0; first error:
/// CODE, …`), with no trigger or Apex frame named anywhere in the text
/// and no `caused by` before it (a trigger's text cut short). A second
/// `first error:` inside is another DML failure that code caught and passed
/// on (a trigger's `addError`): that code's, not the record's.
fn is_bare_dml(slot: First, scan: &Scan, message: &str) -> bool {
    if slot.cue != Cue::Dml || scan.has(Cue::Apex) || scan.has(Cue::Thrown) {
        return false;
    }
    let (before, rest) = message.as_bytes().split_at(slot.at);
    let rest = &rest[APEX_EXCEPTION.len() + DML_EXCEPTION.len()..];
    // `System.DmlException: Insert failed`, or ` - Insert failed` in a
    // tool's log.
    let operation = rest.trim_ascii_start();
    let operation = operation
        .strip_prefix(b":")
        .or_else(|| operation.strip_prefix(b"-"))
        .unwrap_or(operation)
        .trim_ascii_start();
    let writes = RECORD_WRITES
        .iter()
        .any(|verb| starts_with_ignore_case(operation, verb));
    writes && ends_count(rest, FIRST_ERROR) == 1 && ends_count(before, CAUSED_BY) == 0
}

/// How many times `words` (lower case) occur in `hay`, ignoring ASCII case:
/// found by their last byte, which `memchr` looks for fast.
fn ends_count(hay: &[u8], words: &[u8]) -> usize {
    let (&last, head) = words.split_last().expect("words are not empty");
    memchr::memchr2_iter(last, last.to_ascii_uppercase(), hay)
        .filter(|&end| {
            end.checked_sub(head.len())
                .is_some_and(|start| hay[start..end].eq_ignore_ascii_case(head))
        })
        .count()
}

/// How a record write's `DmlException` opens: the writes a sync makes.
const RECORD_WRITES: [&[u8]; 6] = [
    b"insert failed",
    b"update failed",
    b"upsert failed",
    b"delete failed",
    b"undelete failed",
    // A lead converted (`Database.convertLead`, or the API's
    // `convertLead` call): it writes the account, contact and opportunity.
    b"convertlead failed",
];

/// What introduces a DML failure's cause.
const FIRST_ERROR: &[u8] = b"first error:";

/// What a trigger's text says before the exception that stopped it.
const CAUSED_BY: &[u8] = b"caused by";

/// The level-safety net: a suspension that only an operator can lift must
/// come from evidence that names an org-wide cause; anything else that
/// reached such a suspension is turned into the transient `UNKNOWN` one,
/// which the governor probes and lifts by itself. `decided_by` is the cue of
/// the code or phrase that decided (what `c.why.matched` names), so that the
/// net reads the tables' own entry and not the cause table's result.
fn level_safe(mut c: Classified, decided_by: Option<Cue>) -> Classified {
    if let Classification::Suspension(reason) = c.class
        && !reason.clears_by_itself()
        && !decided_by.is_some_and(Cue::names_org_wide)
    {
        c.class = Classification::Suspension(SuspensionReason::Unknown);
        c.why.confidence = c.why.confidence.min(confidence::GENERIC_CODE);
    }
    c
}

/// Whether the code or phrase that decided names a cause that holds for the
/// whole org (its limits, its login, what the integration user may see),
/// read back from the text an explanation names: the level-safety tests'
/// oracle, independent of [`decide`]'s bookkeeping.
#[cfg(test)]
fn names_org_wide_cause(matched: &str) -> bool {
    if let Some(cue) = status_cue(matched).map(|(cue, _)| cue) {
        return cue.names_org_wide();
    }
    let split = split_phrases().map(|(text, _, cue, _)| (text, cue));
    let phrase = [(SOBJECT_TYPE, Cue::SObjectNotSupported)]
        .into_iter()
        .chain(PHRASES.iter().copied())
        .chain(LOCALIZED.iter().copied())
        .chain(split)
        .find(|&(text, _)| text == matched);
    phrase.is_some_and(|(_, cue)| cue.names_org_wide())
}

/// A cause or a hint that a status code or a phrase can name. The scan keeps
/// them in a `u128` bit set, so there must be at most 128.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cue {
    // Custom code: the outermost one wins.
    Flow,
    Apex,
    // An Apex DML statement's own failure (`System.DmlException: Insert
    // failed. … first error: …`): Apex code, unless nothing is around it,
    // when the record it wrote failed for the cause named inside.
    Dml,
    // Any other Apex exception (`System.QueryException: …`): the code's
    // own failure.
    Thrown,
    // Generic codes: they say where it failed, not why; the text decides,
    // and they mean something on their own only when it does not.
    EntityWrapper,
    UnknownException,
    Generic,
    NotFound,
    Forbidden,
    BatchFailure,
    // Integration level.
    Lock,
    Storage,
    DailyLimit,
    /// A pipeline's own daily share of the org's API calls is used up.
    IntegrationQuota,
    ConcurrentLimit,
    ApiDisabled,
    Auth,
    Unavailable,
    ServerError,
    UnclearRefusal,
    HiddenObject,
    UnknownObject,
    HiddenField,
    BatchField,
    InvalidField,
    // An object, field or query the API in use cannot serve at all (the Bulk
    // API's unsupported objects, compound fields, objects that cannot be
    // queried): the integration's job is wrong for this org, no record is.
    BulkUnsupported,
    // A refusal that asks for a retry (`unknown_error`, a token refresh
    // racing another): probed, never a credential failure.
    Transient,
    // The org is read-only for maintenance: no write can succeed anywhere,
    // so it is the org's wherever it is named, inside custom code too.
    Maintenance,
    // Code run in user mode (`insert as user`, `WITH SECURITY_ENFORCED`)
    // refused fields the running user, the integration's, cannot see: the
    // user's field access, wherever it is met, inside custom code too.
    UserModeField,
    // Record level.
    ValidationRule,
    DuplicateRule,
    UniqueValue,
    TooLong,
    InvalidEmail,
    RestrictedPicklist,
    MissingPicklistOption,
    OptionLimit,
    InactiveOwner,
    OwnerAssignment,
    MissingRecord,
    RecordAccess,
    FieldNotWritable,
    FieldIntegrity,
    IncorrectId,
    LookupFilter,
    FilterCriteria,
    CrossReference,
    MissingId,
    RecordType,
    TypeMismatch,
    OutOfRange,
    InvalidValue,
    RequiredMissing,
    CountryMissing,
    // A delete that would cascade to too many of the record's children.
    CascadeLimit,
    StateOrCountry,
    // `JSON_PARSER_ERROR`: a value of the wrong type when the text names
    // one, else a request body the client built wrong.
    JsonParser,
    Unsupported,
    // Hints: they only refine another cause.
    OwnerKindId,
    MustSpecify,
    WriteTime,
    SObjectNotSupported,
    TooLongHint,
    InUseHint,
    NotAValue,
    // `System.HttpResponse[...]`: Apex in the org made a callout and reports
    // its answer; a login refused there is that code's own credential.
    Callout,
    // The OAuth token endpoint: with a bare `Bad Request` and nothing else
    // recognised, the login was refused.
    TokenEndpoint,
    // The label of an address picklist's field (`Billing Country Code:`):
    // its restricted picklist refusing a value is a country or state that
    // does not match.
    AddressCode,
}

impl Cue {
    /// The bit of this cue in [`Scan::seen`].
    fn bit(self) -> u128 {
        1 << (self as u32)
    }

    /// Codes that say where it failed or that it was refused, not why: the
    /// text decides before them.
    fn is_generic(self) -> bool {
        matches!(
            self,
            Cue::EntityWrapper
                | Cue::UnknownException
                | Cue::Generic
                | Cue::NotFound
                | Cue::Forbidden
                | Cue::BatchFailure
        )
    }

    /// Cues that never decide on their own.
    fn is_hint(self) -> bool {
        matches!(
            self,
            Cue::OwnerKindId
                | Cue::MustSpecify
                | Cue::WriteTime
                | Cue::TooLongHint
                | Cue::InUseHint
                | Cue::NotAValue
                | Cue::Callout
                | Cue::TokenEndpoint
                | Cue::AddressCode
        )
    }

    /// Whether naming this cause names a condition of the whole org, which
    /// may stop the integration until an operator acts: its limits, its
    /// login and API access, its storage, the objects and fields the
    /// integration user may see. A row lock or a server error is met on one
    /// record and says nothing of the org as a whole.
    fn names_org_wide(self) -> bool {
        matches!(
            self,
            Cue::Storage
                | Cue::Maintenance
                | Cue::UserModeField
                | Cue::DailyLimit
                | Cue::ConcurrentLimit
                | Cue::ApiDisabled
                | Cue::Auth
                | Cue::Unavailable
                | Cue::HiddenObject
                | Cue::UnknownObject
                | Cue::HiddenField
                | Cue::BatchField
                | Cue::InvalidField
                | Cue::SObjectNotSupported
                | Cue::TokenEndpoint
        )
    }
}

/// Phrases of Salesforce's messages, lower case, matched anywhere. They avoid
/// apostrophes, which come both straight and curly.
const PHRASES: &[(&str, Cue)] = &[
    // Flows and processes (Process Builder runs as a flow).
    ("(flow", Cue::Flow),
    ("flow interview", Cue::Flow),
    ("the flow tried to", Cue::Flow),
    ("the flow failed", Cue::Flow),
    ("failed to trigger a flow", Cue::Flow),
    ("flow trigger failed", Cue::Flow),
    ("fault has occurred in this flow", Cue::Flow),
    ("process failed. give your", Cue::Flow),
    // A flow's fault message: `An error occurred at element Submit_Record.`
    ("error occurred at element", Cue::Flow),
    // A flow's or workflow's field update aimed at a field the save cannot
    // write: the org's automation is wrong, not the values sent.
    ("target field for field update", Cue::Flow),
    // A flow run in bulk that did not answer for every record it was given.
    ("number of interviews", Cue::Flow),
    // A flow's own limit on the elements one run executes (`Number of
    // iterations exceeded`): only a flow counts them.
    ("number of iterations exceeded", Cue::Flow),
    // Apex's limit on the state a batch or queueable job carries
    // (`Batchable instance is too big`).
    ("batchable instance is too big", Cue::Apex),
    // An Apex callout's response past the heap's allowance (`IO Exception:
    // Exceeded max size limit of 3000000`); the Bulk API's own
    // `Exceeded max size limit` is a request refused whole.
    ("io exception: exceeded max size", Cue::Apex),
    // NPSP's account trigger passing on why it could not create a contact's
    // household or one-to-one account (`Failed to create Account for
    // Contact … Duplicate Alert`), under `FIELD_CUSTOM_VALIDATION_EXCEPTION`
    // or inside a `DmlException`: the package's automation failed the
    // record, whatever stopped the account inside it.
    ("failed to create account for contact", Cue::Apex),
    // A workflow rule's or an approval's field update that failed the save
    // (`A workflow or approval field update caused an error when saving
    // this record`): the org's automation, not the values sent.
    ("workflow or approval field update", Cue::Apex),
    // Apex triggers and classes.
    ("execution of before", Cue::Apex),
    ("execution of after", Cue::Apex),
    ("apex trigger ", Cue::Apex),
    ("an apex error occurred", Cue::Apex),
    // Governor limits are met only by code running in the org, whether or
    // not the client kept `System.LimitException` in front of them.
    ("too many soql queries", Cue::Apex),
    ("too many query rows", Cue::Apex),
    ("too many dml ", Cue::Apex),
    ("apex cpu time limit", Cue::Apex),
    // A Visualforce page of a package failed on an unhandled exception.
    ("your solution provider has been notified", Cue::Apex),
    // A trigger set the value that failed (`data value too large` after it).
    ("data changed by trigger", Cue::Apex),
    // Only Apex makes web service callouts, and only code in the org
    // counts its callouts against a limit.
    ("web service callout failed", Cue::Apex),
    ("too many callouts", Cue::Apex),
    // The transaction's CPU limit, whether or not `Apex` was kept in front.
    ("cpu time limit exceeded", Cue::Apex),
    // Only Apex locks rows (`FOR UPDATE`), and some objects refuse it.
    ("does not allow locking rows", Cue::Apex),
    // Apex's heap limit and its runtime casts, whether or not
    // `System.LimitException` / `System.TypeException` was kept in front.
    ("apex heap size too large", Cue::Apex),
    // Apex that cannot run as written: a callout from a test method, a
    // class whose dependency no longer compiles.
    ("do not support web service callouts", Cue::Apex),
    ("dependent class is invalid", Cue::Apex),
    ("invalid conversion from runtime type", Cue::Apex),
    // Limits only code in the org meets: a query in a trigger that is not
    // selective on a large object, a callout from a trigger.
    ("non-selective query against large object", Cue::Apex),
    // Apex reading a field through the wrong type's row (`… does not
    // belong to SObject type AggregateResult`): only code does that.
    ("does not belong to sobject type", Cue::Apex),
    (
        "callout from triggers are currently not supported",
        Cue::Apex,
    ),
    // Integration level.
    ("unable to obtain exclusive access", Cue::Lock),
    // Setup locked by another change in progress (a deploy, a sharing
    // recalculation): it clears when that change ends.
    ("administration setup has already been locked", Cue::Lock),
    // `ALREADY_IN_PROCESS`'s words for a setup change still running.
    ("admin operation already in progress", Cue::Lock),
    // The sharing lock a role or group change holds while membership is
    // recalculated (`Group membership operation already in progress`): it
    // clears when that change ends, and the docs tell clients to retry.
    ("group membership operation already", Cue::Lock),
    // A sharing recalculation that must wait for another one (`The
    // requested sharing calculation can't be processed now because it
    // interferes with another operation`; French among [`LOCALIZED`]).
    ("interferes with another operation", Cue::Lock),
    // Marketing Cloud's store chose the write as a deadlock's victim
    // (`Transaction (Process ID 6840) was deadlocked on lock resources
    // with another process … Rerun the transaction.`): a lock, transient.
    ("deadlocked on lock resources", Cue::Lock),
    // Marketing Cloud's journey saved by someone else meanwhile (`Another
    // user recently modified this journey. Refresh to edit the latest
    // version.`), as `currently being modified by another user`.
    ("another user recently modified", Cue::Lock),
    // The Bulk API's `TooManyLockFailure` in a tool's words (`Too many
    // lock failure 200 Trying again later.`).
    ("too many lock failure", Cue::Lock),
    ("storage limit exceeded", Cue::Storage),
    // Tools' words for the org's data or file storage used up.
    ("data storage limit", Cue::Storage),
    ("file storage limit", Cue::Storage),
    ("storage is full", Cue::Storage),
    ("totalrequests limit", Cue::DailyLimit),
    ("total requests limit", Cue::DailyLimit),
    ("apibatchitems limit", Cue::DailyLimit),
    ("api call limit", Cue::DailyLimit),
    ("api request limit", Cue::DailyLimit),
    // A marketing tool's banner for the org's calls used up.
    ("daily api rate limit", Cue::DailyLimit),
    ("per 24 hrs", Cue::DailyLimit),
    ("per 24 hours", Cue::DailyLimit),
    // The org's rolling 24-hour allowance of published files.
    ("contentpublication limit", Cue::DailyLimit),
    // The org's rolling 24-hour allowance of asynchronous Apex runs: every
    // write whose automation queues one fails until the window moves.
    ("asyncapexexecutions limit", Cue::DailyLimit),
    // The org's daily allowance of platform event deliveries.
    ("total events daily limit", Cue::DailyLimit),
    // Platform events published past the org's hourly allowance
    // (`LIMIT_EXCEEDED: ... exceeded the hourly publishing limit`): no
    // event goes out until the hour moves, whatever the record.
    ("hourly publishing limit", Cue::DailyLimit),
    // A Dev Hub's allowances of scratch orgs, per day and at once (`has
    // reached its daily scratch org signup limit`): every signup fails
    // until the window moves or an org is deleted.
    ("scratch org signup limit", Cue::DailyLimit),
    // A loader's words for the org's daily allowance spent (`Salesforce API
    // daily rate limit exceeded for stream 'X'`).
    ("daily rate limit exceeded", Cue::DailyLimit),
    // Tools' other words for the same: an API limit a tool names without
    // more is the org's rolling 24-hour allowance of calls.
    ("daily api limit", Cue::DailyLimit),
    ("api limit exceeded", Cue::DailyLimit),
    ("api limit reached", Cue::DailyLimit),
    ("active scratch org limit", Cue::DailyLimit),
    // A data platform's own daily share of the org's calls for one pipeline
    // (`exceeded configured daily API quota`), not the org's limit.
    ("configured daily api quota", Cue::IntegrationQuota),
    // A sync tool's threshold of the org's calls kept for others.
    ("api calls minimal threshold", Cue::IntegrationQuota),
    // A loader's share of the org's calls per run (`Terminating replication
    // due to allotted quota of 50% per replication`).
    ("allotted quota", Cue::IntegrationQuota),
    // Loaders' own checks of the calls a run or a day may take (`Per-run
    // API quota usage (…) exceeds limit`, `Daily Quota Usage: 91% is above
    // the configured limit`).
    ("quota usage", Cue::IntegrationQuota),
    // `ConcurrentRequests`, and `ConcurrentRequest` as some clients cut it.
    ("concurrentrequest", Cue::ConcurrentLimit),
    ("concurrentperorg", Cue::ConcurrentLimit),
    ("concurrent requests limit", Cue::ConcurrentLimit),
    ("concurrent request limit", Cue::ConcurrentLimit),
    ("concurrent api requests", Cue::ConcurrentLimit),
    // Streaming API's subscribers and the open query cursors of one user.
    ("concurrent user limit", Cue::ConcurrentLimit),
    ("number of concurrent queries", Cue::ConcurrentLimit),
    // Tools' words for the org's long-running requests at their limit (a
    // bare `too many concurrent` is also Apex's limit of batch jobs).
    ("concurrent limit", Cue::ConcurrentLimit),
    // Marketing Cloud's throttle on the account's calls (`Your requests
    // are temporarily blocked.`, error 50200): wait, then resume.
    ("requests are temporarily blocked", Cue::ConcurrentLimit),
    ("api is disabled for this user", Cue::ApiDisabled),
    ("api is not enabled for this", Cue::ApiDisabled),
    // The REST API's 403 to a user without API access (`This feature is not
    // currently enabled for this user`, with `FUNCTIONALITY_NOT_ENABLED`,
    // a code it also gives for setup features: the words decide).
    (
        "feature is not currently enabled for this user",
        Cue::ApiDisabled,
    ),
    ("api calls have been disabled", Cue::ApiDisabled),
    // Tools' words for the user's or the org's API access switched off
    // (the `API Enabled` permission missing, the edition without it).
    ("api access is not enabled", Cue::ApiDisabled),
    ("api access is disabled", Cue::ApiDisabled),
    ("api access has been disabled", Cue::ApiDisabled),
    ("does not have api access", Cue::ApiDisabled),
    ("api enabled permission", Cue::ApiDisabled),
    ("api not enabled", Cue::ApiDisabled),
    // OAuth 1.0's fault `1716`, `Failed: OAuth Api Access Disabled`: the
    // org's web services API, or OAuth's access to it, is switched off.
    ("oauth api access disabled", Cue::ApiDisabled),
    ("session expired or invalid", Cue::Auth),
    ("invalid session id", Cue::Auth),
    ("session is not valid for use with", Cue::Auth),
    ("invalid username, password", Cue::Auth),
    // The login history's wording of `LOGIN_MUST_USE_SECURITY_TOKEN`.
    ("security token required", Cue::Auth),
    ("invalid nonce", Cue::Auth),
    // A bare HTTP 401 that a client quoted without Salesforce's body.
    ("failed (401)", Cue::Auth),
    ("failed: 401", Cue::Auth),
    ("401 unauthorized", Cue::Auth),
    // An HTTP status as the common clients write it when Salesforce's body
    // is lost (`Request failed with status code 503`, jsforce's
    // `ERROR_HTTP_503`, Python's `503 Server Error: …`, .NET's `The remote
    // server returned an error: (503) …`), read as the status code is when
    // it is given alone. The generic ones (403, 404, 500) decide only when
    // nothing else in the text does.
    ("status code 401", Cue::Auth),
    ("error_http_401", Cue::Auth),
    ("401 client error", Cue::Auth),
    ("returned an error: (401)", Cue::Auth),
    ("status code 403", Cue::Forbidden),
    ("error_http_403", Cue::Forbidden),
    ("403 client error", Cue::Forbidden),
    ("returned an error: (403)", Cue::Forbidden),
    ("status code 404", Cue::NotFound),
    ("error_http_404", Cue::NotFound),
    ("404 client error", Cue::NotFound),
    ("returned an error: (404)", Cue::NotFound),
    // An API version Salesforce has retired: the REST and UI APIs answer
    // `410:GONE` (the Bulk API `InvalidVersion`, a code: see
    // [`BULK_SPELLINGS`]). Every call on that version fails until the
    // integration is set to a newer one, which no reason names.
    ("410:gone", Cue::UnclearRefusal),
    ("status code 410", Cue::UnclearRefusal),
    ("error_http_410", Cue::UnclearRefusal),
    ("410 client error", Cue::UnclearRefusal),
    ("returned an error: (410)", Cue::UnclearRefusal),
    // Account Engagement's answer to a retired API version (`Your account
    // is unable to use version 4 of the API`).
    ("unable to use version", Cue::UnclearRefusal),
    // A permission set granting a user permission the org does not have
    // (`Unknown user permission: EinsteinGPTSalesEmailsUser`): a feature
    // or licence missing, for every deploy of it, which no reason names.
    ("unknown user permission", Cue::UnclearRefusal),
    // An API that needs the org's duplicate management set up first (the
    // Fundraising API's `Provide active duplicate matching rules on Account
    // and Person Account`, under `UNKNOWN_EXCEPTION`): every call fails
    // until an admin activates them, not a fault of Salesforce's servers.
    ("active duplicate matching rule", Cue::UnclearRefusal),
    // A custom Apex REST service's own refusal, in the shape its authors
    // write (`{"Status": "Error", "Message": "…"}`), never Salesforce's
    // (`[{"errorCode": …, "message": …}]`): the org's code refused the
    // record. Like `CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY` it says only
    // where it failed, so a cause named inside decides first.
    ("\"status\": \"error\"", Cue::EntityWrapper),
    ("\"status\":\"error\"", Cue::EntityWrapper),
    // A package's own rule on households and groups (Financial Services
    // Cloud's `A contact can have only one primary group.`, `Can't include
    // a business in more than one group.`): its code refused the record,
    // as `CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY` says, so a cause named
    // with it decides first.
    ("can have only one primary group", Cue::EntityWrapper),
    ("a business in more than one group", Cue::EntityWrapper),
    // Health Cloud's own rule on person accounts (`The selected account
    // has an Individual record type and can't have additional contacts`).
    ("has an individual record type", Cue::EntityWrapper),
    ("status code 500", Cue::UnknownException),
    ("error_http_500", Cue::UnknownException),
    ("500 server error", Cue::UnknownException),
    ("returned an error: (500)", Cue::UnknownException),
    ("status code 502", Cue::Unavailable),
    ("error_http_502", Cue::Unavailable),
    ("502 server error", Cue::Unavailable),
    ("returned an error: (502)", Cue::Unavailable),
    ("status code 503", Cue::Unavailable),
    ("error_http_503", Cue::Unavailable),
    ("503 server error", Cue::Unavailable),
    ("returned an error: (503)", Cue::Unavailable),
    ("status code 504", Cue::Unavailable),
    ("error_http_504", Cue::Unavailable),
    ("504 server error", Cue::Unavailable),
    ("returned an error: (504)", Cue::Unavailable),
    ("bad gateway", Cue::Unavailable),
    ("gateway timeout", Cue::Unavailable),
    ("gateway time-out", Cue::Unavailable),
    // Google Apps Script's `UrlFetchApp` (`Request failed for https://…
    // returned code 503`).
    ("returned code 401", Cue::Auth),
    ("returned code 403", Cue::Forbidden),
    ("returned code 404", Cue::NotFound),
    ("returned code 500", Cue::UnknownException),
    ("returned code 502", Cue::Unavailable),
    ("returned code 503", Cue::Unavailable),
    ("returned code 504", Cue::Unavailable),
    // The CometD client's transport failure (`{httpCode=504}`), as the
    // Streaming API's Java clients write it.
    ("httpcode=500", Cue::UnknownException),
    ("httpcode=502", Cue::Unavailable),
    ("httpcode=503", Cue::Unavailable),
    ("httpcode=504", Cue::Unavailable),
    // The connection itself lost or refused on the way to the org (Node's
    // `ETIMEDOUT`, `ECONNRESET`, `ECONNREFUSED`, `socket hang up`): no
    // answer from Salesforce at all, as `could not connect to host` is.
    ("etimedout", Cue::Unavailable),
    ("econnreset", Cue::Unavailable),
    ("econnrefused", Cue::Unavailable),
    // The same in other runtimes' words (Java's `Connection refused`,
    // `Connection reset`, `Read timed out`; Python's `Connection reset by
    // peer`, `Connection timed out`).
    ("connection refused", Cue::Unavailable),
    ("connection reset", Cue::Unavailable),
    ("connection timed out", Cue::Unavailable),
    ("read timed out", Cue::Unavailable),
    ("socket hang up", Cue::Unavailable),
    // Python's words for the same (`RemoteDisconnected('Remote end closed
    // connection without response')`).
    ("remote end closed connection", Cue::Unavailable),
    // jsforce's words for a page where a reply should be (`HTTP response
    // contains html content. Check that the org exists and can be
    // reached.`).
    ("check that the org exists", Cue::Unavailable),
    // The gRPC status of the Pub/Sub API as its clients write it (Node's
    // `14 UNAVAILABLE: …`, Java's `StatusRuntimeException: UNAVAILABLE: …`,
    // Python's `StatusCode.UNAVAILABLE`): the service down or the call
    // timed out, the session refused, a fault inside (generic, as HTTP 500
    // is), the org's event limits met (backed off, as the concurrent limit).
    ("14 unavailable:", Cue::Unavailable),
    ("statusruntimeexception: unavailable", Cue::Unavailable),
    ("statuscode.unavailable", Cue::Unavailable),
    ("4 deadline_exceeded:", Cue::Unavailable),
    (
        "statusruntimeexception: deadline_exceeded",
        Cue::Unavailable,
    ),
    ("statuscode.deadline_exceeded", Cue::Unavailable),
    ("16 unauthenticated:", Cue::Auth),
    ("statusruntimeexception: unauthenticated", Cue::Auth),
    ("statuscode.unauthenticated", Cue::Auth),
    ("13 internal:", Cue::UnknownException),
    ("statusruntimeexception: internal", Cue::UnknownException),
    ("statuscode.internal", Cue::UnknownException),
    ("8 resource_exhausted:", Cue::ConcurrentLimit),
    (
        "statusruntimeexception: resource_exhausted",
        Cue::ConcurrentLimit,
    ),
    ("statuscode.resource_exhausted", Cue::ConcurrentLimit),
    ("password has expired", Cue::Auth),
    // `user hasn't approved this consumer`, also cut short by a title.
    ("approved this consume", Cue::Auth),
    ("not admin approved", Cue::Auth),
    // A session without the high assurance the org asks for
    // (`INSUFFICIENT_ACCESS: Requires Extra Verification`): a login's
    // strength, not a record's access.
    ("requires extra verification", Cue::Auth),
    // OAuth's approval page left open too long (`You didn't complete the
    // approval process before it expired`).
    ("approval process before it expired", Cue::Auth),
    // A data move tool's words for an org connection it could not use
    // (`Access token to the X has expired or the user has no access`,
    // `try to refresh your local SFDX CLI connection`).
    ("has expired or the user has no access", Cue::Auth),
    ("refresh your local sfdx cli connection", Cue::Auth),
    ("admin approved users are pre-authorized", Cue::Auth),
    ("expired access/refresh token", Cue::Auth),
    ("authentication failure", Cue::Auth),
    // `invalid_grant: ip restricted`, `IP restricted or invalid login hours`
    // and the connectors' rewordings of them.
    ("ip restricted", Cue::Auth),
    ("invalid login hours", Cue::Auth),
    ("oauth login invalid or expired", Cue::Auth),
    // The login refused in the words of the tools that report it.
    ("invalid username or password", Cue::Auth),
    ("credentials used to connect", Cue::Auth),
    ("generating access token", Cue::Auth),
    ("missing clientid", Cue::Auth),
    ("with salesforce - read failed", Cue::Auth),
    // `INVALID_LOGIN`'s long form, when the security token was left off.
    ("append a security token", Cue::Auth),
    // The token endpoint's refusals in their own words: the client
    // credentials flow with no run-as user, the approval page's error.
    ("no client credentials user enabled", Cue::Auth),
    ("oauth approval error", Cue::Auth),
    // Connectors telling the user that their connection was refused (in
    // English and in Spanish).
    ("check your credentials", Cue::Auth),
    ("verificar tus credenciales", Cue::Auth),
    ("invalid org id", Cue::Auth),
    // Tools saying the same of their stored connection: the token is no
    // longer good, the login was refused, the link to the org is gone (in
    // English and in Spanish).
    ("invalid oauth token", Cue::Auth),
    ("token expired or revoked", Cue::Auth),
    ("valid username and password", Cue::Auth),
    ("account is disconnected", Cue::Auth),
    ("salesforce desconectado", Cue::Auth),
    // A connector whose refresh token no longer gets it an access token.
    ("refresh the access token", Cue::Auth),
    ("refresh access token", Cue::Auth),
    // An org that no longer lets the SOAP API's `login()` in (`SOAP API
    // login() is disabled by default in this org`): the integration's way
    // of logging in is refused until it moves to OAuth.
    ("login() is disabled", Cue::Auth),
    // The SOAP API's `login()` retired from the API version the connection
    // names (`SOAP Login not available in API version`): no session at
    // all until the connection changes its version or its way of logging in.
    ("login not available in api version", Cue::Auth),
    ("login operation is not available", Cue::Auth),
    // OAuth's `invalid_request: must use HTTP POST`: the token endpoint
    // refuses how the connection asks for its token, every time.
    ("must use http post", Cue::Auth),
    // OAuth's PKCE check of the login's code (`unexpected code verifier`,
    // `invalid code verifier`): no token is given.
    ("code verifier", Cue::Auth),
    // Connectors' words for a login refused (`Login error code:[…]
    // description:[…]`: the token endpoint's error; a bare `login error`
    // may be a request sent wrong, a 405) and a token gone stale (`OAuth
    // token expired during poll`).
    ("login error code", Cue::Auth),
    ("token expired", Cue::Auth),
    // Client libraries' own words for the same (`Salesforce token has
    // expired`, `invalid session, unable to refresh session`, `User
    // authentication required`, `Error reaching Login URL`).
    ("token has expired", Cue::Auth),
    ("unable to refresh session", Cue::Auth),
    // An app builder's stored connection whose refresh token no longer
    // works (`Credential is invalid and can't be refreshed. Please
    // reconnect your account.`): nothing goes through until it is linked
    // again.
    ("can't be refreshed", Cue::Auth),
    ("cannot be refreshed", Cue::Auth),
    ("reconnect your account", Cue::Auth),
    // The other words tools use for a connection whose credentials the
    // org no longer takes: a token refused or revoked, a session expired,
    // the user asked to authorise or connect again.
    ("reconnect your salesforce", Cue::Auth),
    ("reauthenticate", Cue::Auth),
    ("reauthorize", Cue::Auth),
    ("re-authorize", Cue::Auth),
    ("invalid access token", Cue::Auth),
    ("access token is invalid", Cue::Auth),
    ("invalid refresh token", Cue::Auth),
    ("refresh token is invalid", Cue::Auth),
    // Account Engagement (Pardot) refusing the connection: its token
    // (`access_token is invalid, unknown, or malformed`), or the business
    // unit every call must name (`Pardot-Business-Unit-Id header not
    // found`, a user `not valid for the Pardot Business Unit ID`).
    ("access_token is invalid", Cue::Auth),
    ("business-unit-id header", Cue::Auth),
    ("pardot business unit id", Cue::Auth),
    ("token has been revoked", Cue::Auth),
    ("session has expired", Cue::Auth),
    ("invalid credentials", Cue::Auth),
    ("not authenticated", Cue::Auth),
    ("user authentication required", Cue::Auth),
    ("error reaching login url", Cue::Auth),
    // The Pub/Sub API refusing the subscriber's credentials
    // (`sfdc.platform.eventbus.grpc.service.auth.error`).
    ("eventbus.grpc.service.auth", Cue::Auth),
    // A data tool that could not open its connection to the org at all.
    ("initializing the connection to salesforce", Cue::Auth),
    // A token the org does not take (`Bad_OAuth_Token`), a JWT or refresh
    // token grant refused, a client address outside the allowed ranges, a
    // connected app the user may not use: in the words of the tools.
    ("bad_oauth_token", Cue::Auth),
    ("error authenticating", Cue::Auth),
    ("ip address is unauthorized", Cue::Auth),
    ("permission to access the connected app", Cue::Auth),
    // The connection's address names an API version the org does not
    // serve (`Invalid Api version specified on URL`), or a Canvas app's
    // session that Salesforce has ended: nothing works until the
    // connection is set up again.
    ("invalid api version specified", Cue::Auth),
    ("session has ended or is invalid", Cue::Auth),
    // The connected app blocked, in a tool's words; an org that refuses
    // the client's TLS version, whatever code comes with it; a single
    // sign-on gateway the org's login no longer takes.
    ("oauth app blocked", Cue::Auth),
    ("tls 1.0 has been disabled", Cue::Auth),
    ("single sign-on gateway url is invalid", Cue::Auth),
    // OAuth's `invalid_scope` in its own words (`the requested scope is
    // invalid` / `not allowed`, form-encoded too): the connected app may
    // not grant what the integration asks for.
    ("requested scope is", Cue::Auth),
    ("requested+scope+is", Cue::Auth),
    // A tool's login that failed, whatever it met (an HTML page where the
    // SOAP login's answer was expected), and a connection that lost its
    // refresh token: no call can be made until someone signs in again.
    ("failed to login", Cue::Auth),
    // A client's words for a login refused (Ruby's Pardot client:
    // `Pardot::ResponseError: Login failed`), and Account Engagement's
    // connector to Salesforce that it can no longer verify (`Unable to
    // verify Salesforce connector`), which an operator re-verifies.
    ("login failed", Cue::Auth),
    // Single sign-on refused: Salesforce's page after a SAML assertion it
    // would not take (`We can't log you in. Check for an invalid assertion
    // in the SAML Assertion Validator`, `We can't log you in because of an
    // issue with single sign-on`), and the validator's own words for a
    // subject no user has (`Unable to map the subject to a Salesforce.com
    // user`): no session until the sign-on is set up again.
    ("log you in", Cue::Auth),
    ("unable to map the subject", Cue::Auth),
    ("verify salesforce connector", Cue::Auth),
    // Account Engagement's other refusals of the connection: its API key
    // (`Invalid API key or user key`, error 1), and `Access Denied`
    // (error 49) in its JSON and XML answers, an OAuth request it would
    // not take. Elsewhere `Access denied` says what is refused and that
    // decides.
    ("invalid api key", Cue::Auth),
    ("\"err\": \"access denied\"", Cue::Auth),
    ("\">access denied</err>", Cue::Auth),
    // An answer whose message is HTTP 401's reason alone, as JSON or as a
    // client's Python rendering of it (Marketing Cloud's token endpoint:
    // `'message': 'Unauthorized'`; Data Cloud's query service: `"error":
    // "Unauthorized"`), and a bearer token the service refused (`Invalid
    // JWT`): the connection's credentials. A session id refused is a
    // login's too, not a record's wrong id (` id is invalid`).
    (": 'unauthorized'", Cue::Auth),
    (":'unauthorized'", Cue::Auth),
    (": \"unauthorized\"", Cue::Auth),
    (":\"unauthorized\"", Cue::Auth),
    ("invalid jwt", Cue::Auth),
    ("session id is invalid", Cue::Auth),
    // The Pub/Sub API's gRPC `UNAUTHENTICATED: An authentication exception
    // occurred`.
    ("authentication exception occurred", Cue::Auth),
    ("no refresh token", Cue::Auth),
    // The Mobile SDK's `RefreshTokenRevokedException: Could not refresh
    // token`: the refresh token was revoked, so no new session comes.
    ("refreshtokenrevoked", Cue::Auth),
    ("could not refresh token", Cue::Auth),
    // Client libraries' exception classes for a login or session refused
    // (simple-salesforce's `SalesforceAuthenticationFailed` and
    // `SalesforceExpiredSession`, Restforce's `AuthenticationError` and
    // `UnauthorizedError`, the Java WSC's `LoginFault` and
    // `InvalidSessionIdFault`): they name the refusal when the text they
    // carry is cut or says nothing more. A code in the text still decides.
    ("salesforceauthenticationfailed", Cue::Auth),
    ("salesforceexpiredsession", Cue::Auth),
    ("restforce::authenticationerror", Cue::Auth),
    ("restforce::unauthorizederror", Cue::Auth),
    ("loginfault", Cue::Auth),
    ("invalidsessionidfault", Cue::Auth),
    // The integration user's logins per hour used up: no session until
    // the hour turns.
    ("login rate exceeded", Cue::Auth),
    // A token refresh racing another one: retry, the credentials are fine.
    ("token request is already being processed", Cue::Transient),
    // A refusal Marketing Cloud says is for a while (`Email-specific assets
    // are temporarily prevented from being created through the API`):
    // probed, as a retry asked for is.
    ("temporarily prevented", Cue::Transient),
    ("down for maintenance", Cue::Unavailable),
    // Tools' words for an org in its maintenance window (not a bare
    // `under` or `scheduled maintenance`: records' own values, such as a
    // work order's type, say those too).
    ("undergoing maintenance", Cue::Unavailable),
    ("service not available", Cue::Unavailable),
    ("service unavailable", Cue::Unavailable),
    // Salesforce Edge's page for a My Domain host it cannot reach (`We've
    // hit a snag.`, with a link to the status page), where the API's answer
    // was expected. Lightning's record form says `We hit a snag.` above one
    // record's own errors, which then decide.
    ("ve hit a snag", Cue::Unavailable),
    // The org's host cannot be reached or resolved at all: a client that
    // could not connect or resolve the host (`Couldn't resolve host`), a
    // My Domain the CLI cannot find.
    ("could not connect to host", Cue::Unavailable),
    ("the org cannot be found", Cue::Unavailable),
    ("resolve host", Cue::Unavailable),
    // The SOAP client's `Failed to send request to https://…`: the request
    // never reached the org.
    ("failed to send request", Cue::Unavailable),
    // A metadata deploy's `System may be currently unavailable`.
    ("system may be currently unavailable", Cue::Unavailable),
    // The SOAP API's own words for an org that does not answer for a while
    // (`Service was temporarily interrupted or is unavailable`).
    ("temporarily interrupted", Cue::Unavailable),
    ("temporarily unavailable", Cue::Unavailable),
    ("internal server error", Cue::ServerError),
    // The platform's own words for an unexplained failure (`Internal
    // Salesforce Error: 347583757-15370 (2023275027)`).
    ("internal salesforce error", Cue::ServerError),
    // Salesforce Edge's page for a failure behind it (`<title>Error
    // Page</title>`, a 502), served in place of a reply.
    ("<title>error page</title>", Cue::ServerError),
    ("please include this errorid", Cue::ServerError),
    ("contact support with the following id", Cue::ServerError),
    ("contact support with id", Cue::ServerError),
    ("contact support with error id", Cue::ServerError),
    // The same server error in a deploy tool's words, with its error id
    // (`An unexpected error has occurred. 174145417-80495 (-873769799)`).
    ("unexpected error has occurred", Cue::ServerError),
    // A data tool's word for an error the org gave no reason for.
    ("unknown error has occurred", Cue::ServerError),
    // The Metadata API's own failure inside the server.
    ("internal servlet state", Cue::ServerError),
    // Data Loader's words for a fault the SOAP client could not read.
    ("server error returned in unknown format", Cue::ServerError),
    // Salesforce's own error page (`The salesforce.com support team has
    // been notified of the problem`), not a package's `solution provider`.
    ("support team has been notified", Cue::ServerError),
    // Salesforce's words for a fault inside the server, with its error
    // numbers (`Salesforce System Error: 211775977-20872 (…)`); inside a
    // trigger the wrapper decides first.
    ("salesforce system error", Cue::ServerError),
    // The proxy in front of the org answering 503 for a server that reset
    // the connection (`upstream connect error or disconnect/reset before
    // headers`): no reason from the org, as a server error gives none.
    ("upstream connect error", Cue::ServerError),
    // The same proxy with no server behind it to send the call to (`no
    // healthy upstream`), and a query cursor the server could not read
    // back (`Failed while fetching query cursor data for this
    // QueryLocator`): the server's fault, whatever the call.
    ("no healthy upstream", Cue::ServerError),
    ("fetching query cursor data", Cue::ServerError),
    // A failure the platform numbers for its support team (`contact
    // Salesforce Customer Support for help with error -90097018`), as a
    // server error's id is.
    ("support for help with error", Cue::ServerError),
    ("transaction security polic", Cue::UnclearRefusal),
    // The Streaming API's refusals, in its own `code::text` form: `401::`
    // is the session refused (`Authentication invalid`, `Request requires
    // authentication`); a replay id the org no longer keeps, or a client
    // the server forgot (`403::Unknown client`, which a new handshake
    // cures), names no cause an operator must clear.
    ("401::", Cue::Auth),
    // `503::Server is too busy`: the org's server, for a while.
    ("503::", Cue::Unavailable),
    // `403::User not enabled for streaming`: the API is off for the user.
    ("not enabled for streaming", Cue::ApiDisabled),
    ("-2 to replay all events", Cue::UnclearRefusal),
    // `403::Unknown client`, `402::Unknown client`: the server no longer
    // knows the client's CometD session; a new handshake is the cure.
    ("::unknown client", Cue::UnclearRefusal),
    // The same refusal when the replay map names no channel the client
    // subscribes to (`wasn't found using the provided replay ID map`).
    ("provided replay id map", Cue::UnclearRefusal),
    // A subscription the org's security refuses to the connected user
    // (`403:denied_by_security_policy:create_denied`): the user may not
    // read the event's object, so no subscription of it will work.
    ("denied_by_security_policy", Cue::HiddenObject),
    // The Pub/Sub API out of connections for the org (`RESOURCE_EXHAUSTED:
    // The service received too many connections`): the concurrent limit,
    // cleared by backing off.
    ("received too many connections", Cue::ConcurrentLimit),
    // Its gRPC status 13 with `The service is unavailable. Try again
    // later`: the event bus down, as `Service Unavailable` is.
    ("service is unavailable", Cue::Unavailable),
    // A SOAP client that met a fault where the call's answer was expected
    // (`Parser was expecting element '…upsertResponse' but found
    // '…/soap/envelope/:Fault'`): the whole call refused, its code lost.
    ("soap/envelope/:fault", Cue::UnclearRefusal),
    // The OAuth flow refused for want of PKCE (`missing required code
    // challenge`): no token until the connection is set up again.
    ("code challenge", Cue::Auth),
    // Salesforce's OAuth error page (`We can't authorize you because of an
    // OAuth error.`, with `1800 : There was a problem in setting up your
    // remote access` and the like under it): the app's authorization.
    ("because of an oauth error", Cue::Auth),
    // An HTTP 420 page where a token was expected (`ERROR_HTTP_420::`):
    // Salesforce's edge answering for an org that is down for maintenance
    // or not yet ready, whatever the call.
    ("error_http_420", Cue::Maintenance),
    // An org that takes no writes during a release or an instance move
    // (`The org is in read-only mode`), whoever writes.
    ("read-only mode", Cue::Maintenance),
    ("read only mode", Cue::Maintenance),
    // The Pub/Sub API's topic the org does not publish (`… for org CORE/…
    // and topic /data/AccountChangeEvent not found`): change data capture
    // not set up for that object, whatever the record.
    ("and topic /", Cue::UnclearRefusal),
    // The Streaming API's channel the org does not have (`The channel you
    // requested to subscribe to does not exist`), and a Pub/Sub replay id
    // the server cannot read back (`…subscription.fetch.replayid.corrupted`):
    // the subscription, whatever the event.
    (
        "you requested to subscribe to does not exist",
        Cue::UnclearRefusal,
    ),
    ("subscription.fetch.replayid", Cue::UnclearRefusal),
    // The Pub/Sub API refusing a subscription's replay id (`The Replay ID
    // validation failed`) or a managed subscription another client still
    // holds (`An active managed subscription with the same ID already
    // exists`): no event arrives until it clears.
    ("replay id validation failed", Cue::UnclearRefusal),
    ("managed subscription with the same id", Cue::UnclearRefusal),
    // `OPERATION_TOO_LARGE`'s words without the code (`exceeded 100000
    // distinct ids`, `… who/what's`): a query too large for what the
    // integration user may see.
    ("exceeded 100000 distinct", Cue::UnclearRefusal),
    // A SOAP client logged in but never moved to the org's server URL:
    // every call fails alike, and the text names no cause in the org.
    ("destination url not reset", Cue::UnclearRefusal),
    // An Apex SOAP service the org does not offer the operation of (`No
    // operation available for request {…}executeQuery`): every call to it
    // fails alike until the org's code is deployed.
    ("no operation available for request", Cue::UnclearRefusal),
    // A SOAP client that cannot read the fault it got (`RESOURCE_NOT_FOUND`
    // glued to `Not a valid enumeration`): no reply reaches the integration,
    // and the text names no cause in the org.
    ("not a valid enumeration", Cue::UnclearRefusal),
    // A SOAP fault the client got with neither code nor message
    // (`UnexpectedErrorFault: null`): a refusal of the call, cause unstated.
    ("unexpectederrorfault: null", Cue::UnclearRefusal),
    // An HTML redirect page where the API's answer was expected: the org's
    // endpoint moved (a new instance, My Domain), for every call alike.
    ("the url has moved", Cue::UnclearRefusal),
    // A connector that could not list the org's objects, or whose bulk
    // query job did not finish: the job is stuck, no record is named.
    ("failed to describe objects", Cue::UnclearRefusal),
    (
        "either it takes too long or it has failed",
        Cue::UnclearRefusal,
    ),
    ("security evaluation for non-admin", Cue::HiddenObject),
    ("unable to find object", Cue::UnknownObject),
    ("no such column", Cue::HiddenField),
    // The same for a relationship a query names (`Didn't understand
    // relationship 'Contact' in field path`).
    ("didn't understand relationship", Cue::HiddenField),
    // Account Engagement's word for a field it does not know on the
    // object (`Invalid property in request: UniqueId__c`, error 154): the
    // field the connected user cannot see, as `No such column` is.
    ("invalid property in request", Cue::HiddenField),
    // Unless the relationship is a child one, a subquery's (`Didn't
    // understand relationship 'Orders' in FROM part of query call`): then
    // it is the child object the user cannot see.
    ("in from part of query call", Cue::UnknownObject),
    // Apex in user mode: `Operation failed due to fields being inaccessible
    // on Sobject X`, and a `WITH SECURITY_ENFORCED` query's `secure query
    // included inaccessible field`.
    ("fields being inaccessible", Cue::UserModeField),
    ("included inaccessible field", Cue::UserModeField),
    // `DELETE_OPERATION_TOO_LARGE`'s words: the record has too many
    // children to delete with it.
    ("cascade deleting too many records", Cue::CascadeLimit),
    ("field name not found", Cue::BatchField),
    // The Bulk API cannot serve this object or field at all: the job, not a
    // record, is wrong for the org.
    ("cannot serialize value for", Cue::BulkUnsupported),
    // `getDeleted`/`getUpdated` on an object that keeps no replication
    // history: the call can never serve it.
    ("is not replicable", Cue::BulkUnsupported),
    // `FeatureNotEnabled : Aggregate Relationships not supported in Bulk
    // Query`: the query, not the org's API access.
    ("not supported in bulk query", Cue::BulkUnsupported),
    ("not supported in bulk v2 query", Cue::BulkUnsupported),
    // The user may not create or edit the object at all, whatever the
    // record (`entity type cannot be inserted: Campaign`).
    ("entity type cannot be inserted", Cue::HiddenObject),
    ("entity type cannot be updated", Cue::HiddenObject),
    // A whole API or object refused to the user, no record named:
    // `INSUFFICIENT_ACCESS: insufficient access rights on entity`, the
    // Metadata API without Modify All Data, the Organization object.
    // (`rights on entity`: its common head, `insufficient access`, would be
    // checked in every record's access refusal.)
    ("rights on entity", Cue::HiddenObject),
    ("use of the metadata api requires", Cue::HiddenObject),
    ("not allowed to get organization", Cue::HiddenObject),
    // A loader finding no field of the object the user may create (`No
    // creatable fields for stream X, check your permissions`).
    ("no creatable fields", Cue::HiddenObject),
    // Connectors finding objects the user cannot query (`none of the
    // requested rest_objects produced queryable SObjects`), or a platform
    // event it may not publish (`not allowed to publish to`).
    ("produced queryable sobjects", Cue::HiddenObject),
    ("not allowed to publish to", Cue::HiddenObject),
    // Apex refused a whole object as the running user
    // (`System.NoAccessException: No access to entity 'X__dlm'`).
    ("no access to entity", Cue::HiddenObject),
    // Marketing Cloud refusing the API user a whole object or operation
    // (`Error: API Permission Failed.`).
    ("api permission failed", Cue::HiddenObject),
    // A deploy refused for a feature the org does not have: a metadata
    // type it does not offer (`Not available for deploy for this
    // organization`, as `This type of metadata is not available for this
    // organization`), a feature off (`Communities must be enabled before
    // deploying a Chatter Network Site`).
    ("for deploy for this organization", Cue::HiddenObject),
    ("must be enabled before deploying", Cue::HiddenObject),
    // `Insufficient privileges` alone (Marketing Cloud's error 20002 on a
    // data extension): the API user may not use the object at all. With
    // the record's owner named it is one record's access (see below).
    ("insufficient privileges", Cue::HiddenObject),
    // An object the running user's API cannot reach at all (`Access to
    // entity 'Knowledge__kav' denied: Entity is not api accessible`).
    ("entity is not api accessible", Cue::HiddenObject),
    // A migration tool's check of the org's metadata: the object is not
    // there for the connected user (`The object X is missing in the
    // Source`).
    ("is missing in the source", Cue::HiddenObject),
    ("is missing in the target", Cue::HiddenObject),
    // A connector's mapping names a field the connected user cannot see
    // (`Object field used in this mapping does not exist`), or a client's
    // describe does not list it (`FieldNotFound: You specified ...`).
    ("used in this mapping does not exist", Cue::HiddenField),
    ("fieldnotfound", Cue::HiddenField),
    // Field-level security refusing the connected user a field, in the
    // words of tools that check it before they load (`User does not have
    // permission to Read fields`, `Field X does not exist or is not
    // visible to the current user`, `Field X does not have the correct
    // permissions for this operation`).
    ("permission to read field", Cue::HiddenField),
    // A security library's check before code writes as the connected user
    // (`You do not have permission to insert field X on Y`).
    ("permission to insert field", Cue::HiddenField),
    ("permission to update field", Cue::HiddenField),
    (
        "does not exist or is not visible to the current user",
        Cue::HiddenField,
    ),
    (
        "have the correct permissions for this operation",
        Cue::HiddenField,
    ),
    // A bulk query of a whole object that needs the `View All Data`
    // permission the connected user lacks.
    ("view all data' permission", Cue::HiddenObject),
    // The Bulk API refusing a job on an object the user may not change
    // at all (`InvalidJob: No delete access for object:Report`).
    ("no create access for object", Cue::HiddenObject),
    ("no update access for object", Cue::HiddenObject),
    ("no delete access for object", Cue::HiddenObject),
    // The Bulk API refused a whole batch as sent (`ClientInputError`), in
    // the words clients keep when they drop the code.
    ("failed to read request", Cue::BatchFailure),
    // Record level.
    // A validation rule whose formula cannot be evaluated for the record:
    // the rule, the admin's, refuses the save.
    ("validation formula invalid", Cue::ValidationRule),
    // A tool quoting a validation rule's message with its own words
    // around it (`A validation rule is preventing the record from being
    // processed. ... VALIDATION MESSAGE: ...`).
    ("validation rule is preventing", Cue::ValidationRule),
    ("validation message:", Cue::ValidationRule),
    ("data value too large", Cue::TooLong),
    ("string too long", Cue::TooLong),
    // The Metadata and Tooling APIs' words: `Value too long for field:
    // Name maximum length is: 40`.
    ("value too long for field", Cue::TooLong),
    ("invalid email address", Cue::InvalidEmail),
    // `Username must be in the form of an email address`.
    ("must be in the form of an email", Cue::InvalidEmail),
    // Account Engagement refusing a role-based address.
    ("email address is not allowed", Cue::InvalidEmail),
    ("invalid prospect email", Cue::InvalidEmail),
    // Journey Builder refusing a journey's sender address (`The default
    // email or mobile address in Journey Settings is invalid`).
    ("email or mobile address", Cue::InvalidEmail),
    // Marketing Cloud: a subscriber who unsubscribed cannot be made
    // active again through the API (`ResubscribeFailed`).
    ("resubscribefailed", Cue::InvalidValue),
    ("bad value for restricted picklist", Cue::RestrictedPicklist),
    (" in picklist: ", Cue::MissingPicklistOption),
    // A lead converted with a status its org's Lead Status picklist does
    // not have as a converted one.
    ("invalid convertedstatus", Cue::MissingPicklistOption),
    // A sync tool's own words for a value with no option on the other
    // side (`custom field option X not found`, `lead stage not found`).
    ("custom field option", Cue::MissingPicklistOption),
    ("stage not found", Cue::MissingPicklistOption),
    ("use one of these records?", Cue::DuplicateRule),
    ("duplicate rule", Cue::DuplicateRule),
    ("creating a duplicate", Cue::DuplicateRule),
    ("create a duplicate", Cue::DuplicateRule),
    // A duplicate rule's alert shown as the error (`Duplicate Alert`), and
    // a record refused for an e-mail another one already has (Account
    // Engagement's `A prospect with the specified email address already
    // exists`), as the seen part's `Email already exists!` is.
    ("duplicate alert", Cue::DuplicateRule),
    ("email address already exists", Cue::DuplicateRule),
    // Marketing Cloud's subscriber added to a list it is already on (`The
    // subscriber is already on the list`, error 12014), as an e-mail that
    // already exists is.
    ("already on the list", Cue::DuplicateRule),
    ("duplicate value found", Cue::UniqueValue),
    // One id sent more often than a call may carry it (`Maximum number of
    // duplicate updates in one batch (12 allowed)`), as `Duplicate Id
    // specified` is.
    ("duplicate updates in one batch", Cue::UniqueValue),
    ("duplicate external id specified", Cue::UniqueValue),
    // A price book entry for a product the price book already prices
    // (`This price definition already exists in this price book`).
    ("already exists in this price book", Cue::UniqueValue),
    ("record found for external id", Cue::UniqueValue),
    // An upsert whose external ID value is on two records already.
    ("matches more than one record", Cue::UniqueValue),
    // Two rows of one request name the same record.
    ("duplicate id specified", Cue::UniqueValue),
    ("multiple records found", Cue::UniqueValue),
    ("rights on cross-reference id", Cue::MissingRecord),
    ("rights on cross reference id", Cue::MissingRecord),
    // An undelete of a record no longer in the recycle bin: it is gone.
    ("not in the recycle bin", Cue::MissingRecord),
    // INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY in words.
    ("access on cross reference entity", Cue::MissingRecord),
    ("entity is deleted", Cue::MissingRecord),
    ("converted lead", Cue::MissingRecord),
    ("requested resource does not exist", Cue::MissingRecord),
    // Account Engagement's words for a record it does not have: `The
    // requested record was not found`, `Invalid prospect ID`, `Invalid user
    // ID` (a status code, as for `INVALID_CROSS_REFERENCE_KEY`, decides
    // first).
    ("requested record was not found", Cue::MissingRecord),
    ("invalid prospect id", Cue::MissingRecord),
    ("invalid user id", Cue::MissingRecord),
    // Its user read by an address no user of it has (`Invalid user email
    // address`, error 11): a record it does not have, not a malformed one.
    ("invalid user email address", Cue::MissingRecord),
    // Marketing Cloud's data extension has no row with the keys given
    // (`Keys Not Found`).
    ("keys not found", Cue::MissingRecord),
    // The user may not edit the record the integration writes to.
    ("edit access for this record", Cue::MissingRecord),
    // The Tooling API's words for a record id that points at nothing
    // (`Unable to load specified entity 301…`), under
    // `FIELD_INTEGRITY_EXCEPTION`.
    ("unable to load specified entity", Cue::MissingRecord),
    // A retrieve's component that is not in the org (`Entity of type
    // 'ApexClass' named 'X' cannot be found`): that one item is missing.
    ("' cannot be found", Cue::MissingRecord),
    // An Apex REST endpoint the integration calls is not in the org: its
    // own configuration, not a record.
    ("could not find a match for url", Cue::Unsupported),
    // A query function the connection's API version does not serve
    // (`UNSUPPORTED_API_VERSION: The SOQL FIELDS function is not supported
    // in this version of the API`): that query's shape, not the version
    // refused, since every other call of the connection works.
    (
        "function is not supported in this version",
        Cue::Unsupported,
    ),
    // A query paging past what Salesforce serves (`NUMBER_OUTSIDE_VALID_RANGE:
    // Maximum SOQL offset allowed for apiName ApexClass is 2000`): the
    // query's shape, not a record's number.
    ("maximum soql offset", Cue::Unsupported),
    // A value put into a query that breaks its string literal (`Invalid
    // string literal 'Anne\-Marie'. Illegal character sequence '\-'`): that
    // record's value, which the query cannot carry.
    ("illegal character sequence", Cue::InvalidValue),
    // A lookup that would make a record its own ancestor (`attempt to
    // violate hierarchy constraints`): that record's value.
    ("violate hierarchy constraints", Cue::InvalidValue),
    // A profile whose licence cannot take the permissions the user has
    // (`User's Profile can't be set to 'Identity User' because it's
    // derived from a license that doesn't require …`), a key with
    // characters Marketing Cloud refuses (`Asset CustomerKey contains
    // prohibited characters.`), Account Engagement's field type refused
    // (`Please provide a valid type for this field`): the value sent.
    ("derived from a license", Cue::InvalidValue),
    ("contains prohibited characters", Cue::InvalidValue),
    ("valid type for this field", Cue::InvalidValue),
    // An action given ids that are not of the kind it takes (`Something's
    // not right with one or more the specified LeadIds. Check the IDs and
    // try again.`, under `UNKNOWN_EXCEPTION`).
    ("check the ids and try again", Cue::IncorrectId),
    // An id of no record of its kind, in Marketing Cloud's words
    // (`Campaign ID is invalid`, error 10000).
    (" id is invalid", Cue::IncorrectId),
    // An id of the wrong form in Marketing Cloud's words (`Definition_ID
    // could not be parsed, please encode correctly`).
    ("id could not be parsed", Cue::IncorrectId),
    // A campaign member added twice (`Attempted to add an entity '…' to a
    // campaign '…' more than once.`), read as `Already a campaign member`.
    ("' more than once", Cue::UniqueValue),
    // A master-detail parent an upsert would change where reparenting is
    // off (`Attempting to update (as part of an upsert) parent field …
    // with new value …`, under `INVALID_FIELD_FOR_INSERT_UPDATE`): the
    // value sent, not the field's permission.
    ("as part of an upsert) parent field", Cue::InvalidValue),
    // A metadata component the Metadata API refused (`Error occured
    // processing component X. unexpected metadata (UNKNOWN_EXCEPTION).`):
    // a deploy's component, not a record, as `…: unknown (…)` is.
    ("occured processing component", Cue::Unsupported),
    ("occurred processing component", Cue::Unsupported),
    // A reply Google Apps Script cut short (`Truncated server response:
    // …`): whatever it said is lost.
    ("truncated server response", Cue::UnclearRefusal),
    // A client's JSON parser meeting a page where a reply should be
    // (`Unexpected character encountered while parsing value: <`): what
    // the page said is lost.
    ("while parsing value: <", Cue::UnclearRefusal),
    // The same in other clients' parsers (Jackson's `Unexpected character
    // ('<'`, Python's `JSONDecodeError: Expecting value` and `ExpatError:
    // syntax error`, JavaScript's `Unexpected end of JSON input`, the SOAP
    // library's `Failed to parse detail`) and in a client's own words (`An
    // unexpected response was received from Salesforce`).
    ("unexpected character ('<'", Cue::UnclearRefusal),
    ("jsondecodeerror: expecting value", Cue::UnclearRefusal),
    ("expaterror: syntax error", Cue::UnclearRefusal),
    ("unexpected end of json input", Cue::UnclearRefusal),
    ("failed to parse detail", Cue::UnclearRefusal),
    (
        "unexpected response was received from salesforce",
        Cue::UnclearRefusal,
    ),
    // A Bulk API job that ended `aborted`: nothing of it was loaded, and
    // the text does not say why.
    ("job aborted", Cue::UnclearRefusal),
    // A CometD subscription to a channel the org does not have
    // (`404::Unknown channel`), as `The channel you requested to subscribe
    // to does not exist`: nothing arrives, and the text says no more.
    ("::unknown channel", Cue::UnclearRefusal),
    // The same channel refused by name (`400::The channel specified is not
    // valid`): a subscription the integration set up wrong, whatever event.
    ("channel specified is not valid", Cue::UnclearRefusal),
    // A Pub/Sub client that could not read a topic's schema or reach the
    // event bus at all (`Failed to retrieve topic …: UNAVAILABLE: io
    // exception`): no event arrives, and the text does not say why.
    ("failed to retrieve topic", Cue::UnclearRefusal),
    ("unavailable: io exception", Cue::UnclearRefusal),
    // A Bulk API batch sent, or its results asked for, with no rows in it
    // (`Records not found for this batch`, `InvalidBatch : Records not
    // found`): the text names no cause, and no org-wide one.
    ("records not found", Cue::Unsupported),
    // A client asking for a batch that is not there, or for its results
    // before it is done (`Unable to find batch for id`, `Batch not
    // completed`): its own request, whatever the org.
    ("unable to find batch", Cue::Unsupported),
    ("batch not completed", Cue::Unsupported),
    // A Big Object query or write in a shape the platform does not serve
    // (`BIG_OBJECT_UNSUPPORTED_OPERATION: Filters may not have any gaps
    // within the composite key`), a code newer than the `StatusCode` list
    // of `codes.rs`: the request's own shape, whatever the org.
    ("big_object_unsupported_operation", Cue::Unsupported),
    // A queue given as the owner of an object it does not serve (`Queue
    // not associated with this SObject type`, under `INVALID_OPERATION`).
    (
        "queue not associated with this sobject",
        Cue::OwnerAssignment,
    ),
    // A request refused for a parameter the client sent
    // (`UNKNOWN_EXCEPTION: invalid parameter value`): the request's.
    ("invalid parameter value", Cue::Unsupported),
    // A SOAP call whose body the server could not read at all
    // (`UNKNOWN_EXCEPTION: Premature end of file.`, an empty envelope):
    // the client's request, not the server's fault.
    ("premature end of file", Cue::Unsupported),
    // A POST sent without its length (`UNKNOWN_EXCEPTION: POST requires
    // content-length`): the client built the request wrong, whatever the
    // org, not the server's fault.
    ("requires content-length", Cue::Unsupported),
    // An undelete of a record the recycle bin no longer holds (`invalid
    // record id; no recycle bin entry found`, under `INVALID_ID_FIELD`).
    ("no recycle bin entry", Cue::MissingRecord),
    ("access rights on object id", Cue::RecordAccess),
    ("has no sharing access", Cue::RecordAccess),
    // Salesforce's `Insufficient Privileges` page for one record (`Please
    // contact the owner of the record or your administrator`).
    ("owner of the record", Cue::RecordAccess),
    // A write the org is not licensed for, of this record (`You can't
    // create a contact for this user because the org doesn't have the
    // necessary permissions`).
    ("have the necessary permissions", Cue::RecordAccess),
    // An e-mail the org will not send for this record (`Send Email is
    // disabled or activities are not allowed`), as `NO_MASS_MAIL_PERMISSION`.
    ("send email is disabled", Cue::RecordAccess),
    ("do not have access to the apex class", Cue::RecordAccess),
    // A component a managed package owns, which the org may not change.
    ("cannot modify managed object", Cue::RecordAccess),
    // A user permission the change needs (`Cannot update associated
    // pricebook entries without the Manage Price Books permission`, under
    // `CANNOT_CASCADE_PRODUCT_ACTIVE`).
    (
        "without the manage price books permission",
        Cue::RecordAccess,
    ),
    // Moving a contact to an account its user may not reparent onto.
    ("must be the owner of the target", Cue::RecordAccess),
    // A write that needs a feature license the user lacks (`You must have
    // a valid content feature license to publish into a private library`,
    // under `INVALID_ID_FIELD`): the user's access, not the id.
    ("feature license", Cue::RecordAccess),
    ("unable to create/update fields", Cue::FieldNotWritable),
    ("bad field names on insert/update", Cue::FieldNotWritable),
    ("have access to fields on", Cue::FieldNotWritable),
    ("missing field permission", Cue::FieldNotWritable),
    // Apex's and a flow's `Field X is not editable`; a metadata deploy of
    // field permissions on a required field (which always has them).
    ("is not editable", Cue::FieldNotWritable),
    // Apex's compile-time refusal: `Field is not writeable: Contact.Name`.
    ("is not writeable", Cue::FieldNotWritable),
    ("is not writable", Cue::FieldNotWritable),
    ("deploy to a required field", Cue::FieldNotWritable),
    ("owner is inactive", Cue::InactiveOwner),
    ("performed with inactive user", Cue::InactiveOwner),
    ("user is inactive", Cue::InactiveOwner),
    ("owner cannot be blank", Cue::OwnerAssignment),
    ("new owner must have read", Cue::OwnerAssignment),
    // The same refusal as the record page shows it, with the permission
    // quoted (`Transfer Requires Read - The new owner must have "Read"
    // permissions`).
    ("transfer requires read", Cue::OwnerAssignment),
    // The same refusal in a tool's words: `The recipient User should have
    // reading permission for this record`.
    ("recipient user should have read", Cue::OwnerAssignment),
    // The owner field itself refused to the writer: the record cannot be
    // given to another owner this way.
    ("field ownerid is not editable", Cue::OwnerAssignment),
    // A portal or community account's owner must hold a role: the owner
    // chosen for this record cannot own it.
    ("owner must have a role", Cue::OwnerAssignment),
    // A user who may not own records at all (`Guest users cannot be record
    // owners`), named by a `FIELD_INTEGRITY_EXCEPTION`.
    ("cannot be record owner", Cue::OwnerAssignment),
    // A converted lead (or what it became) left with a queue for its owner:
    // `Converted objects can only be owned by users`.
    ("can only be owned by users", Cue::OwnerAssignment),
    // The nonprofit success pack's own rule on recurring donations.
    (
        "on a recurring donation that has closed",
        Cue::ValidationRule,
    ),
    ("required fields are missing", Cue::RequiredMissing),
    // A required field as the describe calls it (`not nillable fields`).
    ("not nillable", Cue::RequiredMissing),
    // A geolocation field given half (`Latitude value is missing :
    // Latitude`, under `FIELD_INTEGRITY_EXCEPTION`).
    ("value is missing", Cue::RequiredMissing),
    // A converted lead written without the account it became (`Converted
    // Account empty for a Converted Lead`): a value left out, which
    // decides before `converted lead` does.
    ("converted account empty", Cue::RequiredMissing),
    // Marketing Cloud's data extension column that must be filled
    // (`Column [contactkey] does not allow null value.`).
    ("does not allow null value", Cue::RequiredMissing),
    // Marketing Cloud's other words for a value left out: a contact its
    // profile center requires an attribute of (`This contact is missing a
    // required attribute`), a data extension row with no known column
    // (`At least one existing field is required in the values property`).
    ("missing a required attribute", Cue::RequiredMissing),
    ("existing field is required", Cue::RequiredMissing),
    // Marketing Cloud's user created without what it must have (`Name,
    // Email, UserID, and Password are required fields when creating a new
    // user.`).
    ("are required fields", Cue::RequiredMissing),
    // In French (`Champs obligatoires manquants : [LastName]`), in ASCII.
    ("champs obligatoires manquants", Cue::RequiredMissing),
    // A portal user's contact saved without its account (`must include an
    // account`, under `FIELD_INTEGRITY_EXCEPTION`).
    ("must include an account", Cue::RequiredMissing),
    // A message whose label the org lacks, naming the missing value by its
    // key (`__MISSING LABEL__ PropertyFile - val missing_territory not
    // found in section api_ForecastingQuota`).
    ("val missing_", Cue::RequiredMissing),
    // An order product saved without its price, under
    // `FIELD_INTEGRITY_EXCEPTION` (`Order Products must have a Unit Price`).
    ("must have a unit price", Cue::RequiredMissing),
    ("before specifying a state", Cue::CountryMissing),
    ("problem with this country", Cue::StateOrCountry),
    ("problem with this state", Cue::StateOrCountry),
    ("an available state", Cue::StateOrCountry),
    ("an available country", Cue::StateOrCountry),
    ("recognize the state", Cue::StateOrCountry),
    ("id value of incorrect type", Cue::IncorrectId),
    // A query's filter given something that is not an id (`WHERE Id =
    // 'x'` … `invalid ID field: x`): the stored id of one record is wrong.
    ("invalid id field:", Cue::IncorrectId),
    // An order line's price book entry from another price book than its
    // order's: the id given is of the wrong record.
    ("in a different pricebook", Cue::IncorrectId),
    // The same, in the newer wording for a service contract's line (`The
    // price book entry is in a different price book than the one assigned
    // to the Service Contract`), even under `FIELD_INTEGRITY_EXCEPTION`.
    ("in a different price book", Cue::IncorrectId),
    // The same in the standard words: `Order Products must have a Price
    // Book Entry that belongs to the Price Book related to the parent
    // Order`.
    ("entry that belongs to the price book", Cue::IncorrectId),
    // FIELD_INTEGRITY_EXCEPTION as some clients and tools spell it.
    ("field integrity exception", Cue::FieldIntegrity),
    ("does not match filter criteria", Cue::FilterCriteria),
    // The Italian default (`Il valore non esiste o non corrisponde ai
    // criteri di filtro`), in ASCII, so not among [`LOCALIZED`].
    ("non corrisponde ai criteri di filtro", Cue::FilterCriteria),
    // A relationship given a record of the wrong kind: a person account
    // where a business one belongs (`Can't choose a person as the account
    // in this relationship`), a private contact (`You can't associate a
    // private contact with an account`).
    ("choose a person as the account", Cue::IncorrectId),
    (
        "associate a private contact with an account",
        Cue::IncorrectId,
    ),
    ("invalid cross reference id", Cue::CrossReference),
    ("invalid id: ", Cue::CrossReference),
    ("invalid content id", Cue::CrossReference),
    // A migration's reference copied from another org (`CreatedByID(005…)
    // is not in org`).
    ("is not in org", Cue::CrossReference),
    ("foreign key external id", Cue::MissingId),
    ("id not specified in an update call", Cue::MissingId),
    // MISSING_ARGUMENT's own text: `External_ID__c not specified`.
    (" not specified", Cue::MissingId),
    ("provided external id field does not exist", Cue::MissingId),
    ("external id field not specified", Cue::MissingId),
    ("external id was blank", Cue::MissingId),
    // A connector's record whose parent has no Salesforce ID yet.
    ("missing crm id", Cue::MissingId),
    // A lead converted onto an existing contact without its account.
    ("accountid must be specified", Cue::MissingId),
    // Order management's check of a location id it cannot find
    // (`LocationDoesNotExist - No location exists with ID '…'`).
    ("no location exists with id", Cue::MissingId),
    // A Marketing Cloud triggered send with neither key of its definition
    // (`must contain the Triggered Send ID or the Customer Key`).
    ("triggered send id or the customer key", Cue::MissingId),
    ("is not an external id", Cue::MissingId),
    ("not match an external id", Cue::MissingId),
    ("record type missing", Cue::RecordType),
    ("record type id: this id value", Cue::RecordType),
    ("cannot deserialize instance of", Cue::TypeMismatch),
    ("value not of required type", Cue::TypeMismatch),
    // A relationship sent as a plain value where a nested record with its
    // external id was needed (`The value provided for foreign key
    // reference X__r is not a nested SObject`, under `INVALID_FIELD`).
    ("is not a nested sobject", Cue::TypeMismatch),
    // A connector's check of a mapping's two types.
    ("type mismatch", Cue::TypeMismatch),
    ("types mismatch", Cue::TypeMismatch),
    // A pipeline's check of its columns against the object's fields
    // (`incompatible`, and the misspelling `incompatable`).
    ("schema is incompat", Cue::TypeMismatch),
    // `is not a valid value for the type xsd:date`, `is not valid for type
    // xsd:boolean`, `is not valid for the type xsd:double`.
    ("for the type xsd:", Cue::TypeMismatch),
    ("for type xsd:", Cue::TypeMismatch),
    // A query's value of the wrong type (`value of filter criterion for
    // field 'X' must be of type date`), under `INVALID_FIELD`.
    ("must be of type", Cue::TypeMismatch),
    ("value outside of valid range", Cue::OutOfRange),
    // A recurring event's series ending later than its frequency allows
    // (`Based on the frequency you selected, the end date cannot be after
    // …`): that record's value.
    ("the end date cannot be after", Cue::InvalidValue),
    // `STANDARD_PRICE_NOT_DEFINED`'s own text: a price book entry whose
    // product has no standard price yet.
    ("create a standard price", Cue::InvalidValue),
    // A value outside an enumeration the API defines (`'X' is not a valid
    // value for the enum 'ExternalPrincipalType'`).
    ("valid value for the enum", Cue::InvalidValue),
    // `INVALID_TYPE: sObject type '' is not supported`: no type was sent
    // (the API's own straight quotes, around nothing).
    ("type '' is not supported", Cue::NotAValue),
    // A client that serialised no concrete type (`INVALID_TYPE: Must send a
    // concrete entity type.`): its own bug, also when the code is named in
    // the text, where the code alone would read a hidden object.
    ("must send a concrete entity type", Cue::NotAValue),
    // Hints.
    // An id of the kind an owner is, refused where it was written: a queue
    // (`00G…`) or a user (`Assigned To ID: id value of incorrect type:
    // 005…`), the owner Salesforce will not take there. Another object's id
    // in the owner field is a wrong id, like any lookup's.
    ("incorrect type: 00g", Cue::OwnerKindId),
    ("incorrect type: 005", Cue::OwnerKindId),
    ("must specify", Cue::MustSpecify),
    // A record saved without the parent it must have, in the platform's
    // words (`Price Book Not Set on Order`, `Every asset needs an account,
    // a contact, or both`).
    ("price book not set", Cue::MustSpecify),
    ("needs an account, a contact", Cue::MustSpecify),
    ("on sobject of type", Cue::WriteTime),
    ("too long", Cue::TooLongHint),
    ("already in use", Cue::InUseHint),
    // A value that must be unique (`That URL is already in use. Please
    // enter a unique one.`), under the generic `INVALID_INPUT`.
    ("enter a unique", Cue::UniqueValue),
    // A contact related to the same account twice (`This contact already
    // has a relationship with this account.`), as `DUPLICATE_VALUE` says it.
    ("already has a relationship with", Cue::UniqueValue),
    // A name another item already holds, in Marketing Cloud's words
    // (`Asset names within a category and asset type must be unique. X is
    // already taken.`, `Category already exists with name: X`).
    ("is already taken", Cue::UniqueValue),
    ("already exists with name", Cue::UniqueValue),
    // A name that must be unique in its list (`There is already an item
    // in this list with the name ...`).
    ("already an item in this list", Cue::InUseHint),
    // The labels of the address picklists' fields (`Mailing Country Code:
    // bad value for restricted picklist field`).
    ("country code:", Cue::AddressCode),
    ("province code:", Cue::AddressCode),
    ("state code:", Cue::AddressCode),
    // A metadata deploy's component failure (`field integrity exception:
    // unknown (...)`) or a reference in code, not a record's value.
    ("integrity exception: unknown", Cue::NotAValue),
    ("invalid reference ", Cue::NotAValue),
    // A request that sets a lookup both by id and by external id: the
    // integration built it wrong, whatever the record holds.
    ("cannot specify both", Cue::NotAValue),
    // A lead conversion the code asked for wrong (`One or more leads
    // couldn't be converted. If doNotCreateOpportunity is true, ...`): its
    // parameters, not a record's field.
    ("leads couldn't be converted", Cue::NotAValue),
    // Apex and other setup written through the API into a production org
    // (`ENTITY_IS_LOCKED: Can not create Apex Class on an active
    // organization`): refused for the request's kind, whatever the record.
    ("on an active organization", Cue::NotAValue),
    // A Metadata API deploy cancelled after it ended (`INVALID_ID_FIELD:
    // Deployment already completed`): the request's timing, not an id.
    ("deployment already completed", Cue::NotAValue),
    // A metadata call naming a type the org's API does not know at all
    // (`INVALID_TYPE: Unknown type:X`), unlike a type it knows and hides:
    // the request's own name.
    ("unknown type:", Cue::NotAValue),
    // A PushTopic's query refused for what streaming queries may not hold
    // (`INVALID_FIELD, semi/anti join sub-selects are not supported`,
    // `'LIMIT' is not allowed`): the query's shape, not a column.
    ("sub-selects are not supported", Cue::NotAValue),
    ("'limit' is not allowed", Cue::NotAValue),
    // A query filtering on a field Salesforce never filters on (`field
    // 'SystemModstamp' can not be filtered in a query call`, under
    // `INVALID_FIELD`): the query's shape, not a field hidden from the user.
    ("be filtered in a query call", Cue::NotAValue),
    // A Big Object written without the header its calls need
    // (`AllOrNoneHeader should be set to true`): the request's shape.
    ("allornoneheader should be set", Cue::NotAValue),
    // A request body that could not be read at all.
    ("json deserialization failed", Cue::NotAValue),
    // The Metadata API refusing a field's definition (its length, a field
    // that is not there to delete): setup, not a record's value or id.
    ("invalid length, minimum is", Cue::NotAValue),
    ("custom field does not exist", Cue::NotAValue),
    ("no customfield named", Cue::NotAValue),
    // A profile's or permission set's field permissions refused (`Can't
    // enable field permission(s) because this object has the View All
    // Fields permission enabled`, under `FIELD_INTEGRITY_EXCEPTION`):
    // setup, not a record's value.
    ("t enable field permission", Cue::NotAValue),
    // `No such column '' on entity 'Lead'`: the client named no column at
    // all, its own bug, not a field hidden from the user.
    ("no such column ''", Cue::NotAValue),
    // The Metadata API's naming rule for an object or a field.
    (
        "can only contain underscores and alphanumeric",
        Cue::NotAValue,
    ),
    (TOKEN_ENDPOINT, Cue::TokenEndpoint),
];

/// One phrase of [`SPLIT`]: its text, where its head starts in it, its
/// cue, and whether it must end a word.
type SplitPhrase = (&'static str, usize, Cue, bool);

/// Phrases that share a head: the automaton holds the head once and
/// [`Scan::note_split`] checks the words around it, which keeps the
/// automaton (and the cache lines a walk touches) small. Each phrase counts
/// as its own; a `true` flag makes it count only as a whole word at its end
/// (`does not support query` refuses an object, `does not support
/// queryMore()` a client's call).
/// The number is where the head starts in the phrase (a test checks it).
const SPLIT: &[(&str, &[SplitPhrase])] = &[
    (
        "not support",
        &[
            // The Bulk API, or the query, cannot serve this object at all:
            // the job, not a record, is wrong for the org.
            (
                "is not supported by the bulk",
                3,
                Cue::BulkUnsupported,
                false,
            ),
            (
                "query is not supported on the",
                9,
                Cue::BulkUnsupported,
                false,
            ),
            (
                "compound data not supported",
                14,
                Cue::BulkUnsupported,
                false,
            ),
            ("does not support query", 5, Cue::BulkUnsupported, true),
            // INVALID_TYPE's own tail, whatever names the object before it
            // (`Object type contact is not supported. If you are ...`).
            (
                "is not supported. if you are attempting to use a custom",
                3,
                Cue::SObjectNotSupported,
                false,
            ),
        ],
    ),
    (
        "authenticat",
        &[
            // A login refused in the words of the tool that reports it.
            ("could not authenticate", 10, Cue::Auth, false),
            ("unable to authenticate", 10, Cue::Auth, false),
            ("authentication failed", 0, Cue::Auth, false),
            ("re-authenticate", 3, Cue::Auth, false),
        ],
    ),
    (
        "invalid client",
        &[
            // `authentication failure - invalid client credentials`, and a
            // connected app's key or secret refused in a tool's words.
            ("invalid client credentials", 0, Cue::Auth, false),
            ("invalid clientid", 0, Cue::Auth, false),
            ("invalid clientsecret", 0, Cue::Auth, false),
        ],
    ),
    (
        "authorization ",
        &[
            // OAuth's own description of `invalid_grant`, which tools show
            // alone, and a tool's word for a refused connection.
            ("authorization grant", 0, Cue::Auth, false),
            ("authorization failed", 0, Cue::Auth, false),
            ("authorization required", 0, Cue::Auth, false),
        ],
    ),
    (
        "at least 1 ",
        &[
            // An empty collection request: the client's, no record's.
            ("at least 1 record is required", 0, Cue::NotAValue, false),
            ("at least 1 id is required", 0, Cue::NotAValue, false),
        ],
    ),
    (
        "currently ",
        &[
            // A row lock in the words Apex and the UI give it.
            ("record currently unavailable", 7, Cue::Lock, false),
            (
                "currently being modified by another user",
                0,
                Cue::Lock,
                false,
            ),
        ],
    ),
];

/// The phrases of [`SPLIT`], in order.
fn split_phrases() -> impl Iterator<Item = SplitPhrase> {
    SPLIT
        .iter()
        .flat_map(|&(_, phrases)| phrases.iter().copied())
}

/// The OAuth token endpoint's path: a bare `Bad Request` from it, with
/// nothing else recognised, is a refused login. The rare texts that name
/// the endpoint are searched for [`BAD_REQUEST`] apart, which keeps a
/// common phrase out of the automaton.
const TOKEN_ENDPOINT: &str = "/services/oauth2/token";

/// See [`TOKEN_ENDPOINT`]: an HTTP 400 in its name or, as some clients
/// print it, in its number (`Bad response code: 400`).
const BAD_REQUEST: &[&[u8]] = &[b"bad request", b"code: 400"];

/// `System.HttpResponse[Status=Unauthorized, StatusCode=401]`: an Apex
/// callout's own answer, which [`Scan::note`] recognises after the
/// automaton's `system.` (one pattern fewer to walk): a login refused
/// inside it is the org's code failing.
const CALLOUT_RESPONSE: &[u8] = b"httpresponse[";

/// Standard messages as Salesforce words them for an integration user who
/// reads another language. They are looked for only in a message that is not
/// plain ASCII, by a plain search after the automaton's pass (with searchers
/// built once, see [`localized_finders`]): bytes above 127 in the automaton
/// would widen every row of its table and slow down every message.
const LOCALIZED: &[(&str, Cue)] = &[
    // Japanese.
    (
        "制限付き選択リスト項目の値が不適切",
        Cue::RestrictedPicklist,
    ),
    ("カスタム入力規則の例外", Cue::ValidationRule),
    ("いずれか 1 つのレコードを使用しますか", Cue::DuplicateRule),
    // A process (`「X」処理失敗により、レコードを保存できません`: the record
    // cannot be saved because process X failed), and fields the user has no
    // permission on (`X,Y の権限がありません`).
    ("処理失敗により", Cue::Flow),
    // A flow's unhandled fault (`このフローで未対応の障害が発生しました`).
    ("フローで未対応の障害", Cue::Flow),
    ("の権限がありません", Cue::HiddenField),
    // No edit access to a field the write targets (record level); an
    // object permission not set for the user; the refresh token (or any
    // token) could not be obtained; a value that is not valid.
    ("編集アクセス権限が不足", Cue::FieldNotWritable),
    ("オブジェクト権限", Cue::HiddenObject),
    ("トークンの取得に失敗", Cue::Auth),
    ("不正な値です", Cue::InvalidValue),
    // Sign-in refused for too many logins within the hour.
    ("ログイン数超過", Cue::ConcurrentLimit),
    // The owner cannot be left blank; an id value of incorrect type.
    ("所有者を空白に", Cue::OwnerAssignment),
    ("不正な種別の id 値", Cue::IncorrectId),
    // Spanish: reconnecting failed.
    ("reconexión fallida", Cue::Auth),
    // German: a data platform's daily share of the org's calls used up.
    ("tägliche api-kontingent", Cue::IntegrationQuota),
    // Portuguese: a row lock (`Registro atualmente indisponível`: record
    // currently unavailable), required fields missing.
    ("registro atualmente indisponível", Cue::Lock),
    ("campos obrigatórios ausentes", Cue::RequiredMissing),
    // Korean: the restricted picklist, and a lookup filter's own text.
    ("제한된 선택 목록 필드의 잘못된 값", Cue::RestrictedPicklist),
    ("값이 필터 기준과 일치하지 않습니다", Cue::FilterCriteria),
    // A flow's fault e-mail (`이 오류는 플로에서 레코드를 조회하려고 시도할 때
    // 발생했습니다`: the error occurred when the flow tried to look up
    // records): the flow owns what failed in it.
    ("오류는 플로에서", Cue::Flow),
    // French: an order with no price book (`Catalogue de prix non défini sur
    // Commande`), as `Price Book Not Set` is.
    ("catalogue de prix non défini", Cue::MustSpecify),
    // French: a sharing recalculation that must wait for another operation
    // (`il interfère avec une autre opération en cours`).
    ("interfère avec une autre opération", Cue::Lock),
];

/// Apex exceptions read `System.<Name>Exception`; the automaton finds
/// `system.` and [`Scan::note`] checks the name, which no fixed pattern can.
const APEX_EXCEPTION: &str = "system.";

/// The exception a failed DML statement throws, after [`APEX_EXCEPTION`]:
/// `System.DmlException:` (`InvalidReadOnlyUserDmlException` is the org's
/// maintenance, which step 1 reads wherever it is).
const DML_EXCEPTION: &[u8] = b"dmlexception";

/// Apex stack frames read `Class.<Name>.<method>: line 12, column 1` (or
/// `Trigger.<Name>: line 7`). A trace names a frame per line, and only the
/// first counts, so they are kept out of the automaton (where each line
/// would cost a report) and [`Scan::of`] looks for the first one itself.
const APEX_FRAMES: [&str; 2] = ["class.", "trigger."];

/// `sObject type '<Name>' is not supported`: the automaton finds the start
/// and [`Scan::note`] checks the rest.
const SOBJECT_TYPE: &str = "sobject type '";

/// The automaton holds at most this many first bytes of a pattern, and
/// [`Scan::of`] checks the rest of a longer one where its head was found.
/// Every lane of [`Matcher::walk`] but the first starts this many bytes early
/// (the longest pattern the automaton holds): with the longest codes (51
/// bytes) whole, that was 15 % of the bytes of a 1 KB message walked twice.
/// Heads this long are rare enough in a message that the check costs less.
const HEAD: usize = 16;

/// How a pattern of the automaton is read.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    /// A status code: a whole word only.
    Code(Cue),
    /// A phrase: anywhere.
    Phrase(Cue),
    /// A phrase not followed by a letter, digit or `_`.
    WordPhrase(Cue),
    /// The head of the phrases of `SPLIT[i]`.
    Split(usize),
    /// `system.` followed by a name ending in `Exception`.
    ApexException,
    /// `Class.` or `Trigger.` opening an Apex stack frame.
    ApexFrame,
    /// `sObject type '` opening `<Name>' is not supported`.
    SObjectType,
}

/// Every code the classifier knows, from `codes.rs`: Salesforce's whole
/// `StatusCode` list, then the codes that are not in it.
fn all_codes() -> impl Iterator<Item = &'static (&'static str, Cue, &'static str)> {
    codes::STATUS_CODES.iter().chain(codes::OTHER_CODES)
}

/// The fewest bytes of a code cut short at the end of a text that
/// [`Scan::cut_code`] reads as the code they begin.
const CUT_CODE: usize = 12;

/// The codes the automaton looks for in a message: the decisive ones, as
/// words of letters and `_` (a bare HTTP status in a text is just a number).
fn codes_in_text() -> impl Iterator<Item = (&'static str, Cue)> {
    all_codes()
        .filter(|(code, cue, _)| {
            *cue != Cue::Unsupported && code.bytes().any(|b| b.is_ascii_alphabetic())
        })
        .map(|&(code, cue, _)| (code, cue))
        .chain(BULK_SPELLINGS.iter().copied())
}

/// The Bulk API writes its exception codes in camel case (`InvalidBatch`,
/// `ClientInputError`, `InvalidSessionId`), and clients quote them so in
/// their messages: the same codes, in the spelling the text has them.
const BULK_SPELLINGS: &[(&str, Cue)] = &[
    ("InvalidBatch", Cue::BatchFailure),
    ("InvalidJob", Cue::BatchFailure),
    ("ClientInputError", Cue::BatchFailure),
    ("InvalidSessionId", Cue::Auth),
    ("ExceededQuota", Cue::DailyLimit),
    ("InvalidEntity", Cue::UnknownObject),
    ("TooManyLockFailure", Cue::Lock),
    ("FeatureNotEnabled", Cue::ApiDisabled),
    // A job created with a content type its API does not take (`ZIP_CSV is
    // not a valid Content-Type` under Bulk API 2.0): every record of it is
    // refused at once, like an invalid job.
    ("UnsupportedContentType", Cue::BatchFailure),
    // A batch Salesforce failed to process on its side, after retrying it
    // (`InternalServerError : Retried more than 15 times`).
    ("InternalServerError", Cue::ServerError),
    // A job on an API version the Bulk API no longer serves (`400:
    // InvalidVersion`): every job fails until the integration is upgraded.
    ("InvalidVersion", Cue::UnclearRefusal),
];

/// The automaton over every code and phrase, and the tables that read it.
struct Matcher {
    /// Unanchored, `Standard` semantics: every occurrence of every pattern
    /// is reported, overlapping ones too (`INVALID_FIELD` inside
    /// `INVALID_FIELD_FOR_INSERT_UPDATE` is then rejected as not a word).
    dfa: Dfa,
    /// How to read each pattern, by pattern id.
    forms: Vec<Form>,
    /// Each pattern's text, by pattern id: what an explanation says matched.
    patterns: Vec<&'static str>,
    /// The id of the first of [`APEX_FRAMES`], which the automaton lacks.
    frames: usize,
    /// The id of the first of [`LOCALIZED`], which the automaton lacks.
    localized: usize,
    /// The id of the first phrase of each entry of [`SPLIT`], whose heads
    /// alone the automaton holds.
    split_first: Vec<usize>,
    /// Every code by key, with its canonical spelling.
    codes: Vec<(CodeKey, Cue, &'static str)>,
    /// An open-addressing table over [`Matcher::codes`]: slot
    /// `hash >> code_shift` onwards holds `1 + index`, `0` ends a probe. A
    /// status code is then found with one or two cache lines read, where a
    /// binary search over the codes took a dozen, most of them cold.
    code_slots: Box<[u16]>,
    /// `64 - log2(code_slots.len())`.
    code_shift: u32,
}

/// A searcher for each of [`LOCALIZED`], built once.
fn localized_finders() -> &'static [memmem::Finder<'static>] {
    static FINDERS: OnceLock<Vec<memmem::Finder<'static>>> = OnceLock::new();
    FINDERS.get_or_init(|| {
        LOCALIZED
            .iter()
            .map(|&(phrase, _)| memmem::Finder::new(phrase.as_bytes()))
            .collect()
    })
}

/// Built once per process, on first use.
fn matcher() -> &'static Matcher {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(|| {
        let forms: Vec<Form> = codes_in_text()
            .map(|(_, cue)| Form::Code(cue))
            .chain(PHRASES.iter().map(|&(_, cue)| Form::Phrase(cue)))
            .chain((0..SPLIT.len()).map(Form::Split))
            .chain([Form::ApexException, Form::SObjectType])
            .chain(APEX_FRAMES.map(|_| Form::ApexFrame))
            .chain(LOCALIZED.iter().map(|&(_, cue)| Form::Phrase(cue)))
            .chain(split_phrases().map(|(_, _, cue, word)| {
                if word {
                    Form::WordPhrase(cue)
                } else {
                    Form::Phrase(cue)
                }
            }))
            .collect();
        let mut patterns: Vec<&'static str> = codes_in_text()
            .map(|(p, _)| p)
            .chain(PHRASES.iter().map(|&(p, _)| p))
            .chain(SPLIT.iter().map(|&(head, _)| head))
            .chain([APEX_EXCEPTION, SOBJECT_TYPE])
            .collect();
        let dfa = Dfa::new(patterns.iter().map(|p| &p.as_bytes()[..p.len().min(HEAD)]));
        // The stack frames and the localized phrases follow, with the ids
        // after the automaton's: [`Scan::of`] finds them, explanations name
        // them like the others.
        let frames = patterns.len();
        patterns.extend(APEX_FRAMES);
        let localized = patterns.len();
        patterns.extend(LOCALIZED.iter().map(|&(p, _)| p));
        let split = patterns.len();
        patterns.extend(split_phrases().map(|(p, _, _, _)| p));
        let split_first = SPLIT
            .iter()
            .scan(split, |next, (_, phrases)| {
                let first = *next;
                *next += phrases.len();
                Some(first)
            })
            .collect();
        let codes: Vec<(CodeKey, Cue, &'static str)> = all_codes()
            .map(|&(code, cue, _)| {
                let key = CodeKey::of(code.as_bytes()).expect("codes are short");
                (key, cue, code)
            })
            .collect();
        let (code_slots, code_shift) = code_table(&codes);
        Matcher {
            dfa,
            forms,
            patterns,
            frames,
            localized,
            split_first,
            codes,
            code_slots,
            code_shift,
        }
    })
}

impl Matcher {
    /// Whether pattern `pid` is a status code (rather than a phrase).
    fn is_code(&self, pid: PatternID) -> bool {
        matches!(self.forms[pid.as_usize()], Form::Code(_))
    }
}

impl Matcher {
    /// Calls `found(pattern, start, end)` for every occurrence of every
    /// pattern of the automaton in `hay` (any ASCII case), in no particular
    /// order: [`Matcher::walk`] finds their heads, and the rest of a longer
    /// pattern is checked here.
    fn occurrences(&self, hay: &[u8], mut found: impl FnMut(PatternID, usize, usize)) {
        self.walk(hay, |pattern, end| {
            let whole = self.patterns[pattern.as_usize()].as_bytes();
            let start = end - whole.len().min(HEAD);
            let end = start + whole.len();
            let all_there = whole.len() <= HEAD
                || hay
                    .get(start..end)
                    .is_some_and(|text| text.eq_ignore_ascii_case(whole));
            if all_there {
                found(pattern, start, end);
            }
        });
    }

    /// Calls `found(pattern, end)` for every occurrence of every pattern in
    /// `hay`, in no particular order (see [`Dfa::walk`]).
    fn walk(&self, hay: &[u8], found: impl FnMut(PatternID, usize)) {
        self.dfa.walk(hay, found);
    }
}

/// Which of [`Scan`]'s earliest-match slots a pattern competes for.
#[derive(Clone, Copy)]
enum Slot {
    Custom,
    Code,
    Generic,
    Phrase,
}

/// The earliest occurrence of something in a message.
#[derive(Clone, Copy)]
struct First {
    /// Where it starts.
    at: usize,
    /// What it names.
    cue: Cue,
    /// The pattern that matched, for the explanation.
    pattern: PatternID,
}

/// The cues that decide wherever they are ([`decide`]'s steps 1, 2 and 4),
/// and those that decide inside a bare Apex exception (a flow inside a DML
/// failure, an object type a query cannot see or the user may not use):
/// their earliest occurrences are kept apart.
const ANYWHERE: [Cue; 8] = [
    Cue::Storage,
    Cue::ConcurrentLimit,
    Cue::Maintenance,
    Cue::UserModeField,
    Cue::SObjectNotSupported,
    Cue::HiddenObject,
    Cue::Lock,
    Cue::Flow,
];

/// The bits of [`ANYWHERE`]'s cues, so that most matches, which are none
/// of them, are told apart with one test.
const ANYWHERE_BITS: u128 = {
    let mut bits = 0;
    let mut i = 0;
    while i < ANYWHERE.len() {
        bits |= 1 << (ANYWHERE[i] as u32);
        i += 1;
    }
    bits
};

/// Where `cue`'s earliest occurrence is kept, if it is one of [`ANYWHERE`].
#[inline]
fn anywhere_slot(cue: Cue) -> Option<usize> {
    if ANYWHERE_BITS & cue.bit() == 0 {
        return None;
    }
    ANYWHERE.iter().position(|&c| c == cue)
}

/// What one pass over a message found.
#[derive(Default)]
struct Scan {
    /// Every cue named anywhere, as bits.
    seen: u128,
    /// The earliest flow or Apex marker: the outermost custom code.
    custom: Option<First>,
    /// The earliest status code other than a generic or a custom-code one.
    code: Option<First>,
    /// The earliest generic code (`UNKNOWN_EXCEPTION`, `InvalidBatch`, …):
    /// what it means on its own is the last resort of a failure whose
    /// status code was dropped.
    generic: Option<First>,
    /// The earliest phrase that decides on its own.
    phrase: Option<First>,
    /// The earliest occurrence of each of [`ANYWHERE`].
    anywhere: [Option<First>; ANYWHERE.len()],
}

impl Scan {
    /// One pass of the automaton over `message`.
    fn of(message: &str) -> Scan {
        let m = matcher();
        let hay = message.as_bytes();
        let mut scan = Scan::default();
        m.occurrences(hay, |pattern, start, end| {
            scan.note(m.forms[pattern.as_usize()], pattern, hay, start, end);
        });
        if !hay.is_ascii() {
            // Localized phrases may hold ASCII words too (`API-Kontingent`):
            // they are written in lower case and matched like every other
            // phrase, whatever the case of those letters.
            let lower = hay.to_ascii_lowercase();
            for (i, (&(phrase, _), finder)) in LOCALIZED.iter().zip(localized_finders()).enumerate()
            {
                if let Some(start) = finder.find(&lower) {
                    let id = PatternID::new(m.localized + i).expect("few patterns");
                    let form = m.forms[id.as_usize()];
                    scan.note(form, id, hay, start, start + phrase.len());
                }
            }
        }
        scan.first_frame(m, hay);
        scan.cut_code(m, hay);
        scan
    }

    /// Notes a status code cut short where the text ends (a log that keeps
    /// a message's first characters: `first error:
    /// FIELD_CUSTOM_VALIDATION_E`) as the code it begins, when every code
    /// that begins so names the same cause. A cut word shorter than
    /// [`CUT_CODE`] bytes, or without `_`, is left alone: too many codes
    /// and words begin like it.
    fn cut_code(&mut self, m: &Matcher, hay: &[u8]) {
        let text = hay.trim_ascii_end();
        let word = text
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || **b == b'_')
            .count();
        let start = text.len() - word;
        if word < CUT_CODE || !text[start..].contains(&b'_') || !is_word(hay, start, text.len()) {
            return;
        }
        let cut = &text[start..];
        let begun: Vec<PatternID> = (0..m.patterns.len())
            .map(|i| PatternID::new(i).expect("few patterns"))
            .filter(|&id| {
                m.is_code(id) && starts_with_ignore_case(m.patterns[id.as_usize()].as_bytes(), cut)
            })
            .collect();
        // A whole code (`INVALID_FIELD`, which longer codes begin) was read
        // as itself.
        if begun
            .iter()
            .any(|&id| m.patterns[id.as_usize()].len() == cut.len())
        {
            return;
        }
        let mut begun = begun.into_iter();
        let Some(first) = begun.next() else { return };
        let form = m.forms[first.as_usize()];
        if begun.all(|id| m.forms[id.as_usize()] == form) {
            self.note(form, first, hay, start, text.len());
        }
    }

    /// Notes the first Apex stack frame that starts before every flow or
    /// Apex marker found so far, if there is one: at a `.` that ends
    /// `Class` or `Trigger` (any ASCII case).
    fn first_frame(&mut self, m: &Matcher, hay: &[u8]) {
        let before = self.custom.map_or(hay.len(), |f| f.at);
        let longest = APEX_FRAMES.iter().map(|f| f.len()).max().unwrap_or(0);
        for dot in memchr::memchr_iter(b'.', hay) {
            if (dot + 1).saturating_sub(longest) >= before {
                return;
            }
            // Most dots end a sentence or a name: one byte tells.
            let last = dot.checked_sub(1).map(|i| hay[i].to_ascii_lowercase());
            for (i, frame) in APEX_FRAMES.iter().enumerate() {
                let Some(start) = (dot + 1).checked_sub(frame.len()) else {
                    continue;
                };
                if start < before
                    && last == frame.as_bytes().get(frame.len() - 2).copied()
                    && hay[start..dot].eq_ignore_ascii_case(&frame.as_bytes()[..frame.len() - 1])
                {
                    let id = PatternID::new(m.frames + i).expect("few patterns");
                    self.note(Form::ApexFrame, id, hay, start, dot + 1);
                    if self.custom.is_some_and(|f| f.at == start) {
                        return;
                    }
                }
            }
        }
    }

    /// Records one occurrence; matches arrive in no particular order, hence
    /// the explicit earliest-start bookkeeping.
    fn note(&mut self, form: Form, pattern: PatternID, hay: &[u8], start: usize, end: usize) {
        if matches!(form, Form::ApexException)
            && starts_with_ignore_case(&hay[end..], CALLOUT_RESPONSE)
        {
            self.seen |= Cue::Callout.bit();
            return;
        }
        if let Form::Split(i) = form {
            self.note_split(i, hay, start, end);
            return;
        }
        let (cue, slot) = match form {
            Form::Code(cue @ (Cue::Flow | Cue::Apex)) => (cue, Some(Slot::Custom)),
            Form::Code(cue) if cue.is_generic() => (cue, Some(Slot::Generic)),
            Form::Code(cue) => (cue, Some(Slot::Code)),
            Form::Phrase(cue @ (Cue::Flow | Cue::Apex)) => (cue, Some(Slot::Custom)),
            Form::Phrase(cue) | Form::WordPhrase(cue) if cue.is_hint() => (cue, None),
            // A generic status in a client's words (`status code 403`) is
            // read as the same code given alone: only when nothing decides.
            Form::Phrase(cue) | Form::WordPhrase(cue) if cue.is_generic() => {
                (cue, Some(Slot::Generic))
            }
            Form::Phrase(cue) | Form::WordPhrase(cue) => (cue, Some(Slot::Phrase)),
            Form::ApexException if starts_with_ignore_case(&hay[end..], DML_EXCEPTION) => {
                (Cue::Dml, Some(Slot::Custom))
            }
            Form::ApexException => (Cue::Thrown, Some(Slot::Custom)),
            Form::ApexFrame => (Cue::Apex, Some(Slot::Custom)),
            Form::Split(_) => return,
            Form::SObjectType => (Cue::SObjectNotSupported, Some(Slot::Phrase)),
        };
        // A stack trace names a frame per line: once an earlier occurrence
        // holds every place this one could take, reading what follows it
        // would change nothing.
        let anywhere = anywhere_slot(cue);
        let earlier = |earliest: Option<First>| earliest.is_some_and(|f| f.at <= start);
        let slot_taken = match slot {
            Some(Slot::Custom) => earlier(self.custom),
            Some(Slot::Code) => earlier(self.code),
            Some(Slot::Generic) => earlier(self.generic),
            Some(Slot::Phrase) => earlier(self.phrase),
            None => true,
        };
        if self.has(cue) && slot_taken && anywhere.is_none_or(|i| earlier(self.anywhere[i])) {
            return;
        }
        let genuine = match form {
            Form::Code(_) => is_word(hay, start, end),
            Form::Phrase(_) => true,
            Form::WordPhrase(_) => !hay
                .get(end)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_'),
            Form::ApexException => names_exception(&hay[end..]),
            Form::ApexFrame => is_word_start(hay, start) && opens_frame(&hay[end..]),
            Form::SObjectType => names_unsupported_type(&hay[end..]),
            Form::Split(_) => false,
        };
        if !genuine {
            return;
        }
        self.seen |= cue.bit();
        let first = First {
            at: start,
            cue,
            pattern,
        };
        let keep = |earliest: &mut Option<First>| {
            if earliest.is_none_or(|f| start < f.at) {
                *earliest = Some(first);
            }
        };
        if let Some(i) = anywhere {
            keep(&mut self.anywhere[i]);
        }
        match slot {
            Some(Slot::Custom) => keep(&mut self.custom),
            Some(Slot::Code) => keep(&mut self.code),
            Some(Slot::Generic) => keep(&mut self.generic),
            Some(Slot::Phrase) => keep(&mut self.phrase),
            None => {}
        }
    }

    /// Notes each phrase of `SPLIT[i]` whose words surround its head, found
    /// at `hay[start..end]`.
    fn note_split(&mut self, i: usize, hay: &[u8], start: usize, end: usize) {
        let m = matcher();
        let (head, phrases) = SPLIT[i];
        for (k, &(phrase, at, _, _)) in phrases.iter().enumerate() {
            let (before, after) = (
                &phrase.as_bytes()[..at],
                &phrase.as_bytes()[at + head.len()..],
            );
            let around = start
                .checked_sub(at)
                .is_some_and(|from| hay[from..start].eq_ignore_ascii_case(before))
                && starts_with_ignore_case(&hay[end..], after);
            if around {
                let id = PatternID::new(m.split_first[i] + k).expect("few patterns");
                let form = m.forms[id.as_usize()];
                self.note(form, id, hay, start - at, end + after.len());
            }
        }
    }

    /// Whether the message names `cue` anywhere.
    fn has(&self, cue: Cue) -> bool {
        self.seen & cue.bit() != 0
    }

    /// The pattern of the earliest occurrence of `cue`, one of [`ANYWHERE`].
    fn first_of(&self, cue: Cue) -> Option<(PatternID, usize)> {
        let i = anywhere_slot(cue)?;
        self.anywhere[i].map(|f| (f.pattern, f.at))
    }
}

/// Whether `hay[start..end]` is not part of a longer identifier, nor of a
/// path or a dotted name (`roles\Inactive_User.role-meta.xml` names a file,
/// not the `INACTIVE_USER` login error).
fn is_word(hay: &[u8], start: usize, end: usize) -> bool {
    let ident = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let before = start.checked_sub(1).and_then(|i| hay.get(i));
    let path = |b: &u8| matches!(b, b'/' | b'\\' | b'.');
    let dotted = hay.get(end) == Some(&b'.') && hay.get(end + 1).is_some_and(ident);
    !before.is_some_and(|b| ident(b) || path(b)) && !hay.get(end).is_some_and(ident) && !dotted
}

/// Whether `rest` opens with an identifier ending in `Exception`, as in
/// `DmlException: Insert failed`.
fn names_exception(rest: &[u8]) -> bool {
    let len = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .unwrap_or(rest.len());
    ends_with_ignore_case(&rest[..len], b"exception")
}

/// Whether `hay[start..]` does not continue an identifier.
fn is_word_start(hay: &[u8], start: usize) -> bool {
    let ident = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    !start
        .checked_sub(1)
        .and_then(|i| hay.get(i))
        .is_some_and(ident)
}

/// Whether `rest` reads `<Name>.<method>: line <digit>` or `<Name>: line
/// <digit>`: the rest of an Apex stack frame after `Class.`/`Trigger.`.
fn opens_frame(rest: &[u8]) -> bool {
    let name = rest
        .iter()
        .take(255)
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.'))
        .unwrap_or(rest.len().min(255));
    name > 0
        && rest
            .get(name..name + 7)
            .is_some_and(|s| s.eq_ignore_ascii_case(b": line "))
        && rest.get(name + 7).is_some_and(u8::is_ascii_digit)
}

/// Whether `rest` reads `<Name>' is not supported` (any ASCII case).
fn names_unsupported_type(rest: &[u8]) -> bool {
    let Some(close) = rest.iter().take(120).position(|&b| b == b'\'') else {
        return false;
    };
    close > 0
        && rest
            .get(close..close + 18)
            .is_some_and(|s| s.eq_ignore_ascii_case(b"' is not supported"))
}

/// ASCII case-insensitive prefix test, without a lower-case copy.
fn starts_with_ignore_case(hay: &[u8], prefix: &[u8]) -> bool {
    hay.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Whether `hay` contains `needle` in any ASCII case; for the rare texts
/// that need a look beyond the automaton.
fn contains_ignore_case(hay: &str, needle: &[u8]) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// ASCII case-insensitive suffix test, without a lower-case copy.
fn ends_with_ignore_case(hay: &[u8], suffix: &[u8]) -> bool {
    hay.len() >= suffix.len() && hay[hay.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// The cue of a status code and its canonical spelling, compared ignoring
/// ASCII case and `_` so the SOAP/REST (`INVALID_SESSION_ID`), Bulk
/// (`InvalidSessionId`) and OAuth (`invalid_grant`) spellings all count; a
/// SOAP fault's `sf:` prefix is dropped. `None` when empty or unknown.
fn status_cue(status: &str) -> Option<(Cue, &'static str)> {
    let status = status.trim();
    let status = status.strip_prefix("sf:").unwrap_or(status);
    let key = CodeKey::of(status.as_bytes())?;
    let m = matcher();
    let mask = m.code_slots.len() - 1;
    let mut slot = (key.hash >> m.code_shift) as usize;
    loop {
        let index = usize::from(m.code_slots[slot]).checked_sub(1)?;
        let (k, cue, code) = &m.codes[index];
        // Hashes first (no string comparison on the way), then the bytes.
        if k.hash == key.hash && k.bytes() == key.bytes() {
            return Some((*cue, code));
        }
        slot = (slot + 1) & mask;
    }
}

/// The open-addressing table of [`Matcher::code_slots`] over `codes`, at
/// most a quarter full so that probes stay short, and its shift.
fn code_table(codes: &[(CodeKey, Cue, &'static str)]) -> (Box<[u16]>, u32) {
    let size = (4 * codes.len()).next_power_of_two();
    assert!(
        size <= usize::from(u16::MAX),
        "too many codes for u16 slots"
    );
    let shift = 64 - size.trailing_zeros();
    let mut slots = vec![0u16; size].into_boxed_slice();
    for (i, (key, _, _)) in codes.iter().enumerate() {
        let mut slot = (key.hash >> shift) as usize;
        while slots[slot] != 0 {
            slot = (slot + 1) & (size - 1);
        }
        slots[slot] = u16::try_from(i + 1).expect("checked above");
    }
    (slots, shift)
}

/// A status code upper-cased without `_`, the form codes compare in, kept
/// on the stack, with its hash.
#[derive(Clone, Copy)]
struct CodeKey {
    hash: u64,
    len: usize,
    buf: [u8; CodeKey::MAX],
}

impl CodeKey {
    /// Longer than the longest code (45): not a code.
    const MAX: usize = 64;

    /// The key of `code`, or `None` if it is too long to be a code.
    fn of(code: &[u8]) -> Option<CodeKey> {
        let mut key = CodeKey {
            hash: 0,
            len: 0,
            buf: [0; CodeKey::MAX],
        };
        for byte in code.iter().filter(|&&b| b != b'_') {
            *key.buf.get_mut(key.len)? = byte.to_ascii_uppercase();
            key.len += 1;
        }
        // Eight bytes per multiplication (the buffer is zero-padded): a
        // byte at a time made the hash a chain of dependent multiplications
        // as long as the code.
        for word in key.buf[..key.len.next_multiple_of(8)].chunks_exact(8) {
            let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
            key.hash = (key.hash.rotate_left(26) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        Some(key)
    }

    /// The normalised code.
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The classification a cue stands for, refined by the hints, the fields and
/// the object (the "result" column of the module's cause table). A generic
/// cue resolves to what it means on its own, which only the fallback uses.
fn resolve(cue: Cue, failure: &FailureText<'_>, scan: &Scan) -> Classification {
    use Classification::{Record, Suspension};
    use ErrorType as T;
    use SuspensionReason as S;

    let record = match cue {
        Cue::Flow => T::SalesforceFlow,
        Cue::Apex | Cue::Dml | Cue::Thrown | Cue::EntityWrapper => T::SalesforceAutomation,
        Cue::UnknownException | Cue::ServerError => {
            return Suspension(S::SalesforceServerError);
        }
        Cue::Generic | Cue::Unsupported => T::Unknown,
        Cue::MissingRecord if scan.has(Cue::NotAValue) => T::Unknown,
        Cue::NotFound | Cue::MissingRecord => T::InsufficientAccessOrMissingRecord,
        Cue::Forbidden | Cue::RecordAccess => T::InsufficientAccess,
        // A whole batch failed for a reason the text does not tell.
        Cue::BatchFailure => return Suspension(S::Unknown),
        Cue::Lock => return Suspension(S::SalesforceOrgLocked),
        Cue::Storage => return Suspension(S::SalesforceStorageLimitExceeded),
        Cue::DailyLimit if !scan.has(Cue::ConcurrentLimit) => {
            return Suspension(S::SalesforceApiLimitExceeded);
        }
        Cue::DailyLimit | Cue::ConcurrentLimit => {
            return Suspension(S::SalesforceConcurrentLimitExceeded);
        }
        Cue::IntegrationQuota => return Suspension(S::IntegrationApiLimitExceeded),
        // `FeatureNotEnabled : Cannot serialize value for ...`: one field the
        // Bulk API cannot export, not the API switched off.
        Cue::ApiDisabled if scan.has(Cue::BulkUnsupported) => return Suspension(S::Unknown),
        Cue::ApiDisabled => return Suspension(S::SalesforceApiDisabled),
        // A login refused to Apex's own callout is that code's failure; the
        // integration's credentials are not in question.
        Cue::Auth if scan.has(Cue::Callout) => T::SalesforceAutomation,
        Cue::Auth if scan.has(Cue::Transient) => return Suspension(S::Unknown),
        // A query function the API version does not serve: one request's.
        Cue::Auth if scan.has(Cue::Unsupported) => T::Unknown,
        Cue::Auth | Cue::TokenEndpoint => return Suspension(S::SalesforceAuthFailed),
        Cue::BulkUnsupported | Cue::Transient => return Suspension(S::Unknown),
        Cue::Unavailable | Cue::Maintenance => return Suspension(S::SalesforceOrgUnavailable),
        Cue::UnclearRefusal => return Suspension(S::Unknown),
        // `sObject type '' is not supported`: the client sent no type at all,
        // its own bug, like `Must send a concrete entity type`.
        Cue::HiddenObject if scan.has(Cue::NotAValue) => T::Unknown,
        // Custom metadata records (`…__mdt`) are written by deploys, never
        // by the data APIs, whatever the user's access: this write is
        // refused, not the object to the integration.
        Cue::HiddenObject if is_custom_metadata(failure.object_type) => T::InsufficientAccess,
        // `Insufficient Privileges … contact the owner of the record`: one
        // record's sharing, not the object.
        Cue::HiddenObject if scan.has(Cue::RecordAccess) => T::InsufficientAccess,
        // `INVALID_TYPE` names a hidden object only with its sObject text;
        // otherwise it is a client's bug (`Must send a concrete entity type`).
        Cue::HiddenObject if scan.has(Cue::SObjectNotSupported) || scan.has(Cue::HiddenObject) => {
            return Suspension(S::MissingObjectPermissions);
        }
        Cue::HiddenObject => T::Unknown,
        // `InvalidEntity`: the Bulk API does not serve the object, which the
        // user may still see.
        Cue::UnknownObject if scan.has(Cue::BulkUnsupported) => return Suspension(S::Unknown),
        Cue::UnknownObject | Cue::SObjectNotSupported => {
            return Suspension(S::MissingObjectPermissions);
        }
        Cue::HiddenField if scan.has(Cue::NotAValue) => T::Unknown,
        // A child relationship a subquery names (`in FROM part of query
        // call`): the child object is what the user cannot see.
        Cue::HiddenField if scan.has(Cue::UnknownObject) => {
            return Suspension(S::MissingObjectPermissions);
        }
        // The same words on a write are about one record's field.
        Cue::HiddenField if scan.has(Cue::WriteTime) => T::FieldPermission,
        Cue::HiddenField | Cue::BatchField | Cue::UserModeField => {
            return Suspension(S::MissingFieldPermissions);
        }
        Cue::InvalidField if scan.has(Cue::HiddenField) => {
            return resolve(Cue::HiddenField, failure, scan);
        }
        Cue::InvalidField if scan.has(Cue::MissingId) => T::MissingSalesforceId,
        Cue::InvalidField if scan.has(Cue::NotAValue) => T::Unknown,
        // `INVALID_FIELD: ... is not a valid value for the type xsd:date`:
        // the value, not the column.
        Cue::InvalidField if scan.has(Cue::TypeMismatch) => T::TypeMismatch,
        // `CANNOT_REPARENT_RECORD, owner is inactive`: the text names the cause.
        Cue::FieldNotWritable if scan.has(Cue::InactiveOwner) => T::InactiveOwner,
        // A master-detail parent an upsert may not change: the value sent.
        Cue::FieldNotWritable if scan.has(Cue::InvalidValue) => T::InvalidValue,
        Cue::InvalidField | Cue::FieldNotWritable => T::FieldPermission,
        Cue::ValidationRule => T::CustomValidationRule,
        Cue::DuplicateRule => T::SalesforceDuplicateRule,
        Cue::UniqueValue | Cue::InUseHint => T::RestrictedUniqueValue,
        Cue::TooLong | Cue::TooLongHint => T::StringTooLong,
        Cue::InvalidEmail => T::InvalidEmail,
        Cue::RestrictedPicklist if names_stage(failure) => T::InvalidOpportunityStage,
        Cue::RestrictedPicklist
            if scan.has(Cue::AddressCode) || failure.fields.iter().any(|f| is_address_field(f)) =>
        {
            T::MismatchedStateOrCountry
        }
        Cue::RestrictedPicklist => T::RestrictedPicklistValue,
        Cue::MissingPicklistOption => T::MissingPicklistOption,
        Cue::OptionLimit => T::OptionLimitExceeded,
        Cue::InactiveOwner => T::InactiveOwner,
        Cue::OwnerAssignment => T::OwnerAssignment,
        Cue::FieldIntegrity => field_integrity(failure, scan),
        // `INVALID_ID_FIELD: invalid record id; no recycle bin entry found`:
        // the id is well formed; its record is gone.
        Cue::IncorrectId if scan.has(Cue::MissingRecord) => T::InsufficientAccessOrMissingRecord,
        Cue::IncorrectId if scan.has(Cue::NotAValue) => T::Unknown,
        Cue::IncorrectId if scan.has(Cue::RecordAccess) => T::InsufficientAccess,
        Cue::IncorrectId => incorrect_id(failure, scan),
        // A lookup filter's own text means a wrong id; a message its admin
        // wrote is a rule of the org, like a validation rule's.
        Cue::LookupFilter if !scan.has(Cue::FilterCriteria) => T::CustomValidationRule,
        Cue::LookupFilter | Cue::FilterCriteria => T::InvalidSalesforceId,
        Cue::CrossReference if scan.has(Cue::OwnerAssignment) || has_field(failure, "OwnerId") => {
            T::OwnerAssignment
        }
        Cue::CrossReference if scan.has(Cue::RecordType) || has_field(failure, "RecordTypeId") => {
            T::DefaultSalesProcessUnavailable
        }
        Cue::CrossReference if scan.has(Cue::NotAValue) => T::Unknown,
        Cue::CrossReference => T::InvalidSalesforceId,
        Cue::MissingId => T::MissingSalesforceId,
        Cue::RecordType => T::DefaultSalesProcessUnavailable,
        Cue::TypeMismatch => T::TypeMismatch,
        Cue::JsonParser if scan.has(Cue::TypeMismatch) => T::TypeMismatch,
        // A body that does not parse at all (`'referenceId' is a required
        // field`, a request too large): the client's request, no record.
        Cue::JsonParser => T::Unknown,
        // A query's offset past what Salesforce serves: the request's shape.
        Cue::OutOfRange if scan.has(Cue::Unsupported) => T::Unknown,
        // A change refused for want of a permission the text names
        // (`CANNOT_CASCADE_PRODUCT_ACTIVE: … without the Manage Price Books
        // permission`): the user's access, not the value.
        Cue::InvalidValue if scan.has(Cue::RecordAccess) => T::InsufficientAccess,
        Cue::OutOfRange | Cue::InvalidValue => T::InvalidValue,
        // `At least 1 record is required`: an empty collection request.
        Cue::RequiredMissing if scan.has(Cue::NotAValue) => T::Unknown,
        Cue::RequiredMissing if names_stage(failure) => T::InvalidOpportunityStage,
        Cue::RequiredMissing => T::MissingRequiredValue,
        Cue::CountryMissing => T::MissingRequiredCountry,
        Cue::StateOrCountry => T::MismatchedStateOrCountry,
        Cue::CascadeLimit => T::AssociationLimitReached,
        Cue::OwnerKindId
        | Cue::MustSpecify
        | Cue::WriteTime
        | Cue::NotAValue
        | Cue::Callout
        | Cue::AddressCode => T::Unknown,
    };
    Record(record)
}

/// `FIELD_INTEGRITY_EXCEPTION` is Salesforce's catch-all for a value that
/// breaks a platform constraint: mostly addresses and references, some
/// lengths and unique values.
fn field_integrity(failure: &FailureText<'_>, scan: &Scan) -> ErrorType {
    if scan.has(Cue::CrossReference) && scan.has(Cue::NotAValue) {
        // `unknown (CreatedByID(…) is not in org.)`: an id from elsewhere.
        ErrorType::InvalidSalesforceId
    } else if scan.has(Cue::NotAValue) {
        ErrorType::Unknown
    } else if scan.has(Cue::CountryMissing) {
        ErrorType::MissingRequiredCountry
    } else if scan.has(Cue::StateOrCountry) || failure.fields.iter().any(|f| is_address_field(f)) {
        ErrorType::MismatchedStateOrCountry
    } else if scan.has(Cue::IncorrectId) {
        incorrect_id(failure, scan)
    } else if scan.has(Cue::OwnerAssignment) {
        ErrorType::OwnerAssignment
    } else if scan.has(Cue::MissingRecord) {
        // The Tooling API's `Unable to load specified entity`: the id
        // points at no record.
        ErrorType::InsufficientAccessOrMissingRecord
    } else if scan.has(Cue::FieldNotWritable) {
        // `You cannot deploy to a required field`: a field permission.
        ErrorType::FieldPermission
    } else if scan.has(Cue::InvalidEmail) {
        // `Username must be in the form of an email address`.
        ErrorType::InvalidEmail
    } else if scan.has(Cue::RequiredMissing) {
        // A geolocation's half left out: `Latitude value is missing`.
        ErrorType::MissingRequiredValue
    } else if scan.has(Cue::TooLongHint) {
        ErrorType::StringTooLong
    } else if scan.has(Cue::InUseHint) {
        ErrorType::RestrictedUniqueValue
    } else if scan.has(Cue::MustSpecify) {
        ErrorType::MissingSalesforceId
    } else if scan.has(Cue::FilterCriteria)
        || failure.fields.iter().any(|f| is_lookup_field(f))
        || named_fields(failure.message).any(is_lookup_field)
    {
        ErrorType::InvalidSalesforceId
    } else {
        ErrorType::InvalidValue
    }
}

/// One row of the status code table, as the docs list it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeMapping {
    /// The code as Salesforce spells it.
    pub code: &'static str,
    /// Whether it is a value of Salesforce's `StatusCode` list (else a
    /// fault, Bulk, OAuth or HTTP code).
    pub status_code: bool,
    /// What it means on its own: `record CATEGORY/TYPE`,
    /// `suspension REASON`, or `text decides` for the generic codes,
    /// followed by what they mean when the text says nothing.
    pub result: String,
    /// Why.
    pub why: &'static str,
}

/// Every code the classifier knows and what it means when it is the status
/// code of a failure whose text says nothing more.
pub fn status_code_mappings() -> Vec<CodeMapping> {
    let scan = Scan::default();
    let failure = FailureText {
        status_code: "",
        message: "",
        fields: &[],
        object_type: "",
    };
    let name = |c: Classification| match c {
        Classification::Record(t) => format!("record {}/{}", t.category().code(), t.code()),
        Classification::Suspension(r) => format!("suspension {}", r.code()),
    };
    let row = |&(code, cue, why): &(&'static str, Cue, &'static str), status_code: bool| {
        let own = level_safe(
            Classified {
                class: resolve(cue, &failure, &scan),
                why: Explanation::new(Basis::StatusCode, 1.0, code),
            },
            Some(cue),
        )
        .class;
        let result = if cue.is_generic() {
            format!("text decides, else {}", name(own))
        } else {
            name(own)
        };
        CodeMapping {
            code,
            status_code,
            result,
            why,
        }
    };
    codes::STATUS_CODES
        .iter()
        .map(|c| row(c, true))
        .chain(codes::OTHER_CODES.iter().map(|c| row(c, false)))
        .collect()
}

/// An id of the wrong object in a lookup: a queue (`00G…`) or a user
/// (`005…`) refused, or anything in `OwnerId` when the client kept the
/// field, is an owner Salesforce will not take (typically a task assigned to
/// a queue); `null` is no id at all; anything else is a wrong id.
fn incorrect_id(failure: &FailureText<'_>, scan: &Scan) -> ErrorType {
    if scan.has(Cue::OwnerKindId) || has_field(failure, "OwnerId") {
        ErrorType::OwnerAssignment
    } else if contains_ignore_case(failure.message, b"id: null") {
        // `Invalid campaign id: null`: no id was given at all.
        ErrorType::MissingSalesforceId
    } else {
        ErrorType::InvalidSalesforceId
    }
}

/// Whether Salesforce blamed this field (API names are case-insensitive).
fn has_field(failure: &FailureText<'_>, name: &str) -> bool {
    failure.fields.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// Whether the failure is about an opportunity's stage, which has its own
/// type rather than the generic picklist or required-value one.
/// When the client kept no fields, the stage alone in the message's field
/// list (`Required fields are missing: [StageName]`) tells it; a stage
/// among other fields is a required value left out like the rest.
fn names_stage(failure: &FailureText<'_>) -> bool {
    let object = failure.object_type;
    let named = if failure.fields.is_empty() {
        let m = failure.message.as_bytes();
        // Found by its `[`, which `memchr` looks for fast.
        memchr::memchr_iter(b'[', m).any(|at| {
            let list = &m[at + 1..];
            [&b"stagename]"[..], b"stage]"]
                .iter()
                .any(|alone| starts_with_ignore_case(list, alone))
        })
    } else {
        has_field(failure, "StageName") || has_field(failure, "Stage")
    };
    (object.is_empty() || object.eq_ignore_ascii_case("Opportunity")) && named
}

/// A custom metadata type's API name: `Setting__mdt`.
fn is_custom_metadata(object: &str) -> bool {
    ends_with_ignore_case(object.as_bytes(), b"__mdt")
}

/// Standard address fields: `BillingCountryCode`, `MailingState`, `Country`.
fn is_address_field(field: &str) -> bool {
    let f = field.as_bytes();
    ["country", "countrycode", "state", "statecode"]
        .iter()
        .any(|s| ends_with_ignore_case(f, s.as_bytes()))
}

/// Standard lookups end in `Id` (`WhoId`, `PricebookEntryId`); custom ones
/// cannot be told from other custom fields by name.
/// The fields a `field integrity exception: WhoId, WhatId (...)` text
/// names when the client kept no field list: the words between the colon
/// and the detail in parentheses.
fn named_fields(message: &str) -> impl Iterator<Item = &str> {
    const LEAD: &[u8] = b"integrity exception: ";
    let m = message.as_bytes();
    let after = m
        .windows(LEAD.len())
        .position(|w| w.eq_ignore_ascii_case(LEAD))
        .map_or(message.len(), |at| at + LEAD.len());
    let rest = &message[after..];
    let end = rest.find(['(', '\n', ';']).unwrap_or(rest.len());
    rest[..end]
        .split([',', ' '])
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_'))
        .filter(|w| !w.is_empty())
}

fn is_lookup_field(field: &str) -> bool {
    field.len() >= 2 && ends_with_ignore_case(field.as_bytes(), b"id")
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod level_safety;
