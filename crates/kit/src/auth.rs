//! Who may call what. Callers present a bearer token: a JWT signed with a
//! configured key (HS256, RS256 or EdDSA; expiry, not-before, issue time and
//! audience checked), or a token listed in a static token file. Either names
//! a [`Role`], the orgs the caller may touch (whatever its role: an admin
//! token for `acme` is an admin of `acme` only), and the highest
//! [`Priority`] its calls may ask for. [`AuthLayer`] checks the token and the
//! role for the method before a call reaches the service, and leaves the
//! [`Principal`] in the request's extensions; handlers check the org with
//! [`authorize_org`] and the priority with [`authorize_priority`]. Health
//! and reflection stay open, so probes need no credential.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll};

use anyhow::Context as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tonic::Status;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};

use crate::error::ApiError;
use crate::gate::Gated;
use crate::reload::Reloading;

/// Shortest static token accepted: guessing one must be hopeless.
pub const MIN_STATIC_TOKEN_LEN: usize = 24;

/// What a caller is allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A sync worker: takes and hands back tokens, reports usage and
    /// failures, works resync jobs, for its orgs.
    Worker,
    /// A person or tool running the integration: reads everything of its
    /// orgs, resyncs, clears suspensions, sets notifications.
    Operator,
    /// Everything, for every org: budgets included.
    Admin,
    /// Another syncgov service (sync-errors telling the governor about
    /// suspensions).
    Service,
}

impl Role {
    /// The role's name in tokens and messages.
    pub fn name(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Service => "service",
        }
    }

    /// The highest priority a token of this role may use when it names
    /// none: `normal` for workers, so that the critical reserve is spent
    /// only by workers given it explicitly; `critical` for the others.
    pub fn default_max_priority(self) -> Priority {
        match self {
            Role::Worker => Priority::Normal,
            Role::Operator | Role::Admin | Role::Service => Priority::Critical,
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "worker" => Some(Role::Worker),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            "service" => Some(Role::Service),
            _ => None,
        }
    }
}

/// The orgs a caller may touch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Orgs {
    /// Every org (`*`).
    All,
    /// Only these.
    Only(BTreeSet<String>),
}

pub use crate::input::Priority;

/// A caller whose token was verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Who it is, for logs: the JWT's `sub` or the token file's name.
    pub subject: String,
    /// What it may do.
    pub role: Role,
    /// Which orgs it may touch, whatever its role.
    pub orgs: Orgs,
    /// The highest priority its calls may ask for: the token's own
    /// (`worker:critical` in a token file, `max_priority` in a JWT), else
    /// its role's default ([`Role::default_max_priority`]).
    pub max_priority: Priority,
}

impl Principal {
    /// True when the caller may touch `org`. The role does not widen the
    /// orgs: an admin token for `acme` touches `acme` only.
    pub fn may_touch(&self, org: &str) -> bool {
        match &self.orgs {
            Orgs::All => true,
            Orgs::Only(orgs) => orgs.contains(org),
        }
    }

    /// True when the caller may touch every org (its token names `*`):
    /// what calls that span orgs need, an admin's included.
    pub fn has_every_org(&self) -> bool {
        self.orgs == Orgs::All
    }

    /// True when the caller may ask for tokens at `priority`: at or below
    /// its [`Principal::max_priority`].
    pub fn may_use_priority(&self, priority: Priority) -> bool {
        priority <= self.max_priority
    }
}

/// Checks that the caller of `request` may touch `org`. Without
/// authentication configured there is no principal and every org is open.
pub fn authorize_org<T>(request: &tonic::Request<T>, org: &str) -> Result<(), Status> {
    authorize(request.extensions().get::<Principal>(), org)
}

/// As [`authorize_org`], for a caller already taken from its request (each
/// message of a stream names its org).
pub fn authorize(principal: Option<&Principal>, org: &str) -> Result<(), Status> {
    match principal {
        Some(p) if !p.may_touch(org) => {
            refused("org");
            Err(Status::from(ApiError::PermissionDenied(format!(
                "{} may not touch org {org:?}",
                p.subject
            ))))
        }
        _ => Ok(()),
    }
}

/// Checks that the caller of `request` may touch every org: what calls that
/// span orgs (a shared job queue, an unfiltered list) need.
pub fn authorize_every_org<T>(request: &tonic::Request<T>, what: &str) -> Result<(), Status> {
    match request.extensions().get::<Principal>() {
        Some(p) if !p.has_every_org() => {
            refused("org");
            Err(Status::from(ApiError::PermissionDenied(format!(
                "{what} spans every org; {} holds a token for some orgs only",
                p.subject
            ))))
        }
        _ => Ok(()),
    }
}

/// Checks that `principal` may ask for tokens at `priority`: the check a
/// handler makes for each request for tokens (each message of a stream),
/// after reading the request's priority. Refused with PERMISSION_DENIED,
/// naming the caller's ceiling. Without authentication configured there is
/// no principal and every priority is open.
pub fn authorize_priority(principal: Option<&Principal>, priority: Priority) -> Result<(), Status> {
    match principal {
        Some(p) if !p.may_use_priority(priority) => {
            refused("priority");
            Err(Status::from(ApiError::PermissionDenied(format!(
                "{} may ask for priorities up to {}, not {}",
                p.subject,
                p.max_priority.name(),
                priority.name()
            ))))
        }
        _ => Ok(()),
    }
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// No `authorization` header.
    #[error("a bearer token is required (metadata `authorization: Bearer <token>`)")]
    Missing,
    /// The header is not `Bearer <token>`.
    #[error("authorization must be `Bearer <token>`")]
    NotBearer,
    /// Not a token this service knows, or not valid now.
    #[error("token refused: {0}")]
    Refused(String),
}

/// The token in an `authorization` header value.
pub fn bearer_token(header: Option<&str>) -> Result<&str, TokenError> {
    let header = header.ok_or(TokenError::Missing)?;
    let (scheme, token) = header.trim().split_once(' ').ok_or(TokenError::NotBearer)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(TokenError::NotBearer);
    }
    Ok(token)
}

/// A line of a static token file that could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct TokenFileError {
    /// Its number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// Parses a static token file: one token per line, as
/// `<token> <role>[:<max priority>] <orgs> [<name>]`, where `orgs` is `*` or
/// a comma-separated list (for every role: `admin acme` is an admin of
/// `acme` only) and the optional max priority is `retry`, `normal` or
/// `critical` (default: the role's, [`Role::default_max_priority`]); blank
/// lines and lines starting with `#` are skipped. Tokens are kept only as
/// SHA-256 digests, so lookups take the same time whatever the token.
pub fn parse_token_file(text: &str) -> Result<HashMap<[u8; 32], Principal>, TokenFileError> {
    let mut tokens = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let fail = |reason: String| TokenFileError {
            line: line_no,
            reason,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [token, role, orgs, rest @ ..] = parts.as_slice() else {
            return Err(fail(
                "expected `<token> <role>[:<max priority>] <orgs> [<name>]`".into(),
            ));
        };
        if token.len() < MIN_STATIC_TOKEN_LEN {
            return Err(fail(format!(
                "token shorter than {MIN_STATIC_TOKEN_LEN} characters"
            )));
        }
        let (role, ceiling) = match role.split_once(':') {
            Some((role, ceiling)) => (role, Some(ceiling)),
            None => (*role, None),
        };
        let role = Role::parse(role).ok_or_else(|| {
            fail(format!(
                "role {role:?} is not one of worker, operator, admin, service"
            ))
        })?;
        let max_priority = match ceiling {
            None => role.default_max_priority(),
            Some(text) => Priority::parse(text).ok_or_else(|| {
                fail(format!(
                    "max priority {text:?} (after `{}:`) is not one of retry, normal, critical",
                    role.name()
                ))
            })?,
        };
        let orgs = parse_orgs(orgs).map_err(fail)?;
        let subject = match rest {
            [] => format!("token on line {line_no}"),
            [name] => (*name).to_owned(),
            _ => return Err(fail("a name is one word".into())),
        };
        let principal = Principal {
            subject,
            role,
            orgs,
            max_priority,
        };
        if tokens.insert(digest(token), principal).is_some() {
            return Err(fail("the same token is listed twice".into()));
        }
    }
    Ok(tokens)
}

/// `*` or `org1,org2`.
fn parse_orgs(text: &str) -> Result<Orgs, String> {
    if text == "*" {
        return Ok(Orgs::All);
    }
    let orgs: BTreeSet<String> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if orgs.is_empty() {
        return Err("orgs must be `*` or a comma-separated list of org ids".into());
    }
    Ok(Orgs::Only(orgs))
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The claims syncgov reads from a JWT; `exp`, `nbf` and `aud` are checked
/// by the validation itself, `nbf` and `iat` here as well: the validation
/// skips an `nbf` that is not a number, as if it were absent, where a token
/// with such times must be refused.
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    exp: u64,
    #[serde(default)]
    nbf: Option<serde_json::Value>,
    #[serde(default)]
    iat: Option<serde_json::Value>,
    role: String,
    orgs: OrgsClaim,
    #[serde(default)]
    max_priority: Option<String>,
}

/// `"orgs": "*"` or `"orgs": ["acme", "globex"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum OrgsClaim {
    Every(String),
    List(Vec<String>),
}

/// Where tokens are checked against: the settings of [`Verifier::load`].
#[derive(Clone, Debug, Default)]
pub struct AuthFiles {
    /// A static token file.
    pub token_file: Option<PathBuf>,
    /// Files holding HS256 secrets; several during a rotation.
    pub jwt_secret_files: Vec<PathBuf>,
    /// PEM public keys, RS256 (RSA) or EdDSA (Ed25519); several during a
    /// rotation.
    pub jwt_public_keys: Vec<PathBuf>,
    /// The `aud` every JWT must carry.
    pub audience: String,
    /// The `iss` every JWT must carry, when set.
    pub issuer: Option<String>,
}

impl AuthFiles {
    /// True when any way of checking tokens is configured.
    pub fn enabled(&self) -> bool {
        self.token_file.is_some()
            || !self.jwt_secret_files.is_empty()
            || !self.jwt_public_keys.is_empty()
    }

    /// Every file the verifier is built from, to watch for rotation.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = self.token_file.iter().cloned().collect();
        files.extend(self.jwt_secret_files.iter().cloned());
        files.extend(self.jwt_public_keys.iter().cloned());
        files
    }
}

/// Checks bearer tokens.
pub struct Verifier {
    static_tokens: HashMap<[u8; 32], Principal>,
    keys: Vec<(Algorithm, DecodingKey)>,
    audience: String,
    issuer: Option<String>,
    /// JWTs already verified, by digest, with their expiry: a worker sends
    /// the same token with every call, and checking an RS256 or EdDSA
    /// signature each time would cost more than the call. Built anew with
    /// the verifier, so a key taken out stops its tokens at the next reload.
    verified: std::sync::Mutex<HashMap<[u8; 32], (Principal, u64)>>,
}

/// JWTs remembered as verified before the memory is cleared.
const VERIFIED_KEPT: usize = 10_000;
/// Seconds the clocks of issuer and service may differ by: a JWT is still
/// taken this long after its `exp`, and this long before its `nbf` and
/// `iat`.
const LEEWAY_S: u64 = 60;

impl Verifier {
    /// Reads the files named in `files`.
    pub fn load(files: &AuthFiles) -> anyhow::Result<Self> {
        let static_tokens = match &files.token_file {
            Some(path) => {
                let text = read(path)?;
                parse_token_file(&text).with_context(|| path.display().to_string())?
            }
            None => HashMap::new(),
        };
        let mut keys = Vec::new();
        for path in &files.jwt_secret_files {
            let secret = read(path)?;
            let secret = secret.trim();
            anyhow::ensure!(
                secret.len() >= 32,
                "{}: an HS256 secret must be at least 32 bytes",
                path.display()
            );
            keys.push((
                Algorithm::HS256,
                DecodingKey::from_secret(secret.as_bytes()),
            ));
        }
        for path in &files.jwt_public_keys {
            let pem = read(path)?;
            let key = if let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
                (Algorithm::RS256, key)
            } else if let Ok(key) = DecodingKey::from_ed_pem(pem.as_bytes()) {
                (Algorithm::EdDSA, key)
            } else {
                anyhow::bail!("{}: not a PEM RSA or Ed25519 public key", path.display());
            };
            keys.push(key);
        }
        Ok(Self {
            static_tokens,
            keys,
            verified: std::sync::Mutex::default(),
            audience: files.audience.clone(),
            issuer: files.issuer.clone(),
        })
    }

    /// The caller a token stands for.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let digest = digest(token);
        if let Some(principal) = self.static_tokens.get(&digest) {
            return Ok(principal.clone());
        }
        if self.keys.is_empty() || token.split('.').count() != 3 {
            return Err(TokenError::Refused("unknown token".into()));
        }
        let now = unix_now();
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((principal, exp)) = verified.get(&digest) {
            if now <= exp.saturating_add(LEEWAY_S) {
                return Ok(principal.clone());
            }
            verified.remove(&digest);
        }
        drop(verified);
        let (principal, exp) = self.verify_jwt(token)?;
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= VERIFIED_KEPT {
            verified.clear();
        }
        verified.insert(digest, (principal.clone(), exp));
        Ok(principal)
    }

    /// Checks a JWT's signature and claims: the principal and its expiry.
    fn verify_jwt(&self, token: &str) -> Result<(Principal, u64), TokenError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| TokenError::Refused(format!("not a JWT: {e}")))?;
        let mut last = None;
        for (algorithm, key) in self.keys.iter().filter(|(a, _)| *a == header.alg) {
            let mut validation = Validation::new(*algorithm);
            validation.set_audience(&[&self.audience]);
            validation.set_required_spec_claims(&["exp", "aud"]);
            validation.leeway = LEEWAY_S;
            // A token not valid yet is refused as an expired one is.
            validation.validate_nbf = true;
            if let Some(issuer) = &self.issuer {
                validation.set_issuer(&[issuer]);
            }
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => {
                    let exp = data.claims.exp;
                    check_times(&data.claims, unix_now())?;
                    return Ok((principal(data.claims)?, exp));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(TokenError::Refused(match last {
            Some(e) => e.to_string(),
            None => format!("JWTs signed with {:?} are not accepted", header.alg),
        }))
    }
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Refuses a token not valid yet (`nbf`) or issued in the future (`iat`),
/// beyond the clocks' leeway, or whose times are not numbers of seconds.
fn check_times(claims: &Claims, now: u64) -> Result<(), TokenError> {
    let latest = (now + LEEWAY_S) as f64;
    if let Some(nbf) = numeric_date("nbf", claims.nbf.as_ref())?.filter(|nbf| *nbf > latest) {
        return Err(TokenError::Refused(format!(
            "ImmatureSignature: not valid before {nbf} (nbf), {now} now"
        )));
    }
    if let Some(iat) = numeric_date("iat", claims.iat.as_ref())?.filter(|iat| *iat > latest) {
        return Err(TokenError::Refused(format!(
            "issued in the future: iat {iat}, {now} now"
        )));
    }
    Ok(())
}

/// A JWT time claim: seconds since the Unix epoch (a fraction allowed).
fn numeric_date(claim: &str, value: Option<&serde_json::Value>) -> Result<Option<f64>, TokenError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => value.as_f64().map(Some).ok_or_else(|| {
            TokenError::Refused(format!("{claim} must be a number of seconds, not {value}"))
        }),
    }
}

fn principal(claims: Claims) -> Result<Principal, TokenError> {
    let role = Role::parse(&claims.role)
        .ok_or_else(|| TokenError::Refused(format!("unknown role {:?}", claims.role)))?;
    let max_priority = match &claims.max_priority {
        None => role.default_max_priority(),
        Some(text) => Priority::parse(text).ok_or_else(|| {
            TokenError::Refused(format!(
                "max_priority {text:?} is not one of retry, normal, critical"
            ))
        })?,
    };
    let orgs = match claims.orgs {
        OrgsClaim::Every(star) if star == "*" => Orgs::All,
        OrgsClaim::Every(org) => Orgs::Only(BTreeSet::from([org])),
        OrgsClaim::List(list) if list.is_empty() => {
            return Err(TokenError::Refused("the token names no org".into()));
        }
        OrgsClaim::List(list) => Orgs::Only(list.into_iter().collect()),
    };
    Ok(Principal {
        subject: claims.sub.unwrap_or_else(|| "jwt".into()),
        role,
        orgs,
        max_priority,
    })
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Which roles may call each method; an admin may call every one (for its
/// orgs), and a method not listed is for admins only.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    rules: HashMap<String, &'static [Role]>,
}

impl Policy {
    /// Adds the methods of `service` (`package.Service`) and who may call
    /// them.
    pub fn allow(mut self, service: &str, methods: &[(&str, &'static [Role])]) -> Self {
        for (method, roles) in methods {
            self.rules.insert(format!("/{service}/{method}"), roles);
        }
        self
    }

    /// Whether `role` may call the method at `path`.
    pub fn permits(&self, path: &str, role: Role) -> bool {
        role == Role::Admin
            || self
                .rules
                .get(path)
                .is_some_and(|roles| roles.contains(&role))
    }
}

/// The reasons every service refuses a call for: see [`refused`].
pub const REFUSAL_REASONS: &[&str] =
    &["unauthenticated", "role", "org", "priority", "caller_limit"];

/// The counter of calls refused for their caller.
fn refusal_counter() -> &'static opentelemetry::metrics::Counter<u64> {
    static COUNTER: std::sync::OnceLock<opentelemetry::metrics::Counter<u64>> =
        std::sync::OnceLock::new();
    COUNTER.get_or_init(|| {
        opentelemetry::global::meter("syncgov")
            .u64_counter("syncgov.calls.refused")
            .with_unit("{call}")
            .with_description("Calls refused for their caller, by reason")
            .build()
    })
}

/// Counts a call refused for its caller, by `reason` (`unauthenticated`,
/// `role`, `org`, `priority`, `caller_limit`, or one a service adds with
/// [`count_refusals_from_zero`]): a metric rather than a log line each, so
/// that a flood of bad calls cannot flood the logs.
pub fn refused(reason: &'static str) {
    refusal_counter().add(
        1,
        &[
            opentelemetry::KeyValue::new("reason", reason),
            crate::service_label::service(),
        ],
    );
}

/// Records the refusal counter at 0 for each of `reasons`, so that each
/// exists before the first refusal; [`crate::metrics::init`] does it for
/// [`REFUSAL_REASONS`], a service for the reasons of its own.
pub fn count_refusals_from_zero(reasons: &[&'static str]) {
    for reason in reasons {
        refusal_counter().add(
            0,
            &[
                opentelemetry::KeyValue::new("reason", *reason),
                crate::service_label::service(),
            ],
        );
    }
}

/// Paths every caller may use: probes and schema discovery.
fn is_open(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/") || path.starts_with("/grpc.reflection.")
}

/// Checks each call's token and role; see the module's documentation.
/// Without a verifier every call passes (authentication off).
#[derive(Clone)]
pub struct AuthLayer {
    verifier: Option<Arc<Reloading<Verifier>>>,
    policy: Arc<Policy>,
}

impl AuthLayer {
    /// Checks tokens with `verifier` (none: off) against `policy`.
    pub fn new(verifier: Option<Arc<Reloading<Verifier>>>, policy: Policy) -> Self {
        Self {
            verifier,
            policy: Arc::new(policy),
        }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`AuthLayer`] makes.
#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S, B, R> tower::Service<http::Request<B>> for Auth<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    R: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Gated<S::Future, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let Some(verifier) = &self.layer.verifier else {
            return Gated::pass(self.inner.call(request), None);
        };
        let path = request.uri().path();
        if is_open(path) {
            return Gated::pass(self.inner.call(request), None);
        }
        let header = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let principal = match bearer_token(header).and_then(|token| verifier.get().verify(token)) {
            Ok(principal) => principal,
            Err(e) => {
                refused("unauthenticated");
                tracing::debug!(path, error = %e, "call refused: unauthenticated");
                return Gated::refuse(Status::from(ApiError::Unauthenticated(e.to_string())));
            }
        };
        if !self.layer.policy.permits(path, principal.role) {
            let method = path.rsplit('/').next().unwrap_or(path);
            refused("role");
            tracing::debug!(path, subject = %principal.subject, role = principal.role.name(), "call refused: role");
            return Gated::refuse(Status::from(ApiError::PermissionDenied(format!(
                "role {} may not call {method}",
                principal.role.name()
            ))));
        }
        request.extensions_mut().insert(principal);
        Gated::pass(self.inner.call(request), None)
    }
}

/// A client channel that sends a bearer token with every call.
pub type AuthChannel =
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>;

/// Adds `authorization: Bearer <token>` to every call of a client, from a
/// fixed token or one re-read from a file as it is rotated.
#[derive(Clone, Default)]
pub struct Bearer {
    token: Option<Arc<Reloading<AsciiMetadataValue>>>,
}

impl Bearer {
    /// No token: calls go out without one.
    pub fn none() -> Self {
        Self::default()
    }

    /// Always `token`.
    pub fn fixed(token: &str) -> anyhow::Result<Self> {
        Ok(Self {
            token: Some(Reloading::new(header_value(token)?)),
        })
    }

    /// The token in `path` (surrounding whitespace ignored), and the watcher
    /// that re-reads it every `every` once it changes.
    pub fn from_file(
        path: &Path,
        every: std::time::Duration,
    ) -> anyhow::Result<(Self, crate::task::BoxFuture)> {
        let load = {
            let path = path.to_owned();
            move || header_value(read(&path)?.trim())
        };
        let token = Reloading::new(load()?);
        let watch = token.watch("bearer token", vec![path.to_owned()], every, load);
        Ok((Self { token: Some(token) }, watch))
    }
}

fn header_value(token: &str) -> anyhow::Result<AsciiMetadataValue> {
    anyhow::ensure!(!token.is_empty(), "the token is empty");
    MetadataValue::try_from(format!("Bearer {token}"))
        .map_err(|_| anyhow::anyhow!("a token is printable ASCII without line breaks"))
}

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(token) = &self.token {
            let value = token.get();
            request
                .metadata_mut()
                .insert("authorization", (*value).clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKER: &str = "worker-token-0123456789abcdef";

    #[test]
    fn a_token_file_names_role_and_orgs() {
        let tokens = parse_token_file(&format!(
            "# token role orgs name\n\n{WORKER} worker acme,globex pool-a\nadmin-token-0123456789abcdef admin *\n"
        ))
        .unwrap();
        let worker = &tokens[&digest(WORKER)];
        assert_eq!(worker.role, Role::Worker);
        assert_eq!(worker.subject, "pool-a");
        assert!(worker.may_touch("acme") && worker.may_touch("globex"));
        assert!(!worker.may_touch("initech"));
        let admin = &tokens[&digest("admin-token-0123456789abcdef")];
        assert!(admin.has_every_org());
        assert_eq!(admin.subject, "token on line 4");
    }

    #[test]
    fn an_admin_or_service_token_reaches_the_orgs_it_names_only() {
        let tokens = parse_token_file(&format!(
            "{WORKER} admin acme acme-admin\nservice-token-0123456789abcdef service acme,globex\n"
        ))
        .unwrap();
        let admin = &tokens[&digest(WORKER)];
        assert!(admin.may_touch("acme"));
        assert!(
            !admin.may_touch("globex"),
            "admin acme is acme's admin only"
        );
        assert!(!admin.has_every_org(), "calls spanning every org need `*`");
        let service = &tokens[&digest("service-token-0123456789abcdef")];
        assert!(service.may_touch("globex") && !service.may_touch("initech"));
        assert!(!service.has_every_org());

        let request = |principal: &Principal| {
            let mut request = tonic::Request::new(());
            request.extensions_mut().insert(principal.clone());
            request
        };
        let status = authorize_org(&request(admin), "globex").unwrap_err();
        assert_eq!(status.code(), tonic::Code::PermissionDenied);
        assert_eq!(status.message(), "acme-admin may not touch org \"globex\"");
        let status = authorize_every_org(&request(admin), "the queue").unwrap_err();
        assert_eq!(status.code(), tonic::Code::PermissionDenied);
        assert!(authorize_org(&request(admin), "acme").is_ok());
    }

    #[test]
    fn a_token_says_the_highest_priority_it_may_use() {
        let tokens = parse_token_file(&format!(
            "{WORKER} worker acme plain\n\
             worker-critical-0123456789abcdef worker:critical acme reserve\n\
             worker-retry-0123456789abcdefgh worker:retry acme retries\n\
             operator-token-0123456789abcdef operator acme\n\
             admin-token-0123456789abcdefghi admin *\n\
             admin-normal-0123456789abcdefgh admin:normal *\n\
             service-token-0123456789abcdefg service *\n"
        ))
        .unwrap();
        let ceiling = |token: &str| tokens[&digest(token)].max_priority;
        assert_eq!(ceiling(WORKER), Priority::Normal, "a worker's default");
        assert_eq!(
            ceiling("worker-critical-0123456789abcdef"),
            Priority::Critical
        );
        assert_eq!(ceiling("worker-retry-0123456789abcdefgh"), Priority::Retry);
        assert_eq!(
            ceiling("operator-token-0123456789abcdef"),
            Priority::Critical
        );
        assert_eq!(
            ceiling("admin-token-0123456789abcdefghi"),
            Priority::Critical
        );
        assert_eq!(ceiling("admin-normal-0123456789abcdefgh"), Priority::Normal);
        assert_eq!(
            ceiling("service-token-0123456789abcdefg"),
            Priority::Critical
        );

        let worker = &tokens[&digest(WORKER)];
        assert!(worker.may_use_priority(Priority::Retry));
        assert!(worker.may_use_priority(Priority::Normal));
        assert!(!worker.may_use_priority(Priority::Critical));
        let retries = &tokens[&digest("worker-retry-0123456789abcdefgh")];
        assert!(retries.may_use_priority(Priority::Retry));
        assert!(!retries.may_use_priority(Priority::Normal));

        let status = authorize_priority(Some(worker), Priority::Critical).unwrap_err();
        assert_eq!(status.code(), tonic::Code::PermissionDenied);
        assert_eq!(
            status.message(),
            "plain may ask for priorities up to normal, not critical"
        );
        assert!(authorize_priority(Some(worker), Priority::Normal).is_ok());
        assert!(
            authorize_priority(None, Priority::Critical).is_ok(),
            "authentication off"
        );

        for (line, rule) in [
            (
                format!("{WORKER} worker:urgent acme"),
                "max priority \"urgent\"",
            ),
            (format!("{WORKER} worker: acme"), "max priority \"\""),
            (format!("{WORKER} king:critical acme"), "role \"king\""),
        ] {
            let e = parse_token_file(&line).unwrap_err();
            assert!(e.to_string().contains(rule), "{line}: {e}");
        }
        assert_eq!(Priority::parse("critical"), Some(Priority::Critical));
        assert_eq!(Priority::Retry.name(), "retry");
        assert!(Priority::Retry < Priority::Normal && Priority::Normal < Priority::Critical);
    }

    #[test]
    fn bad_token_file_lines_name_the_line_and_the_rule() {
        let cases = [
            ("short worker acme", "shorter than 24"),
            (&format!("{WORKER} king acme") as &str, "role \"king\""),
            (&format!("{WORKER} worker ,"), "comma-separated"),
            (&format!("{WORKER} worker"), "expected"),
            (&format!("{WORKER} worker acme\n{WORKER} admin *"), "twice"),
        ];
        for (text, rule) in cases {
            let e = parse_token_file(text).unwrap_err();
            assert!(e.to_string().contains(rule), "{text}: {e}");
        }
        let e = parse_token_file(&format!("# x\n{WORKER} worker acme a b")).unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn the_bearer_scheme_is_required() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer_token(None), Err(TokenError::Missing));
        assert_eq!(bearer_token(Some("Basic abc")), Err(TokenError::NotBearer));
        assert_eq!(bearer_token(Some("Bearer ")), Err(TokenError::NotBearer));
        assert_eq!(bearer_token(Some("abc")), Err(TokenError::NotBearer));
    }

    #[test]
    fn admins_call_everything_others_what_the_policy_lists() {
        const WORKERS: &[Role] = &[Role::Worker];
        let policy = Policy::default().allow("p.S", &[("Acquire", WORKERS)]);
        assert!(policy.permits("/p.S/Acquire", Role::Worker));
        assert!(!policy.permits("/p.S/Acquire", Role::Operator));
        assert!(policy.permits("/p.S/SetBudget", Role::Admin));
        assert!(
            !policy.permits("/p.S/SetBudget", Role::Worker),
            "unlisted: admins only"
        );
        assert!(is_open("/grpc.health.v1.Health/Check"));
        assert!(!is_open("/p.S/Acquire"));
    }

    fn hs256_verifier(secret: &str) -> (Verifier, TempSecret) {
        let file = TempSecret::new(secret);
        let verifier = Verifier::load(&AuthFiles {
            jwt_secret_files: vec![file.0.clone()],
            audience: "syncgov".into(),
            ..AuthFiles::default()
        })
        .unwrap();
        (verifier, file)
    }

    /// A secret in a file of its own, removed on drop.
    struct TempSecret(PathBuf);

    impl TempSecret {
        fn new(secret: &str) -> Self {
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path =
                std::env::temp_dir().join(format!("syncgov-secret-{}-{n}", std::process::id()));
            std::fs::write(&path, secret).unwrap();
            Self(path)
        }
    }

    impl Drop for TempSecret {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn hs256(secret: &str, claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn a_jwt_is_taken_from_its_nbf_and_iat_with_the_leeway_of_exp() {
        let secret = "a-secret-of-at-least-thirty-two-bytes-long";
        let (verifier, _file) = hs256_verifier(secret);
        let now = unix_now();
        let claims = |extra: serde_json::Value| {
            let mut claims = serde_json::json!({
                "sub": "w", "role": "worker", "orgs": ["acme"], "aud": "syncgov",
                "exp": now + 365 * 86_400 + 600,
            });
            claims
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            claims
        };
        let next_year = now + 365 * 86_400;
        for (case, extra, reason) in [
            (
                "nbf next year",
                serde_json::json!({ "nbf": next_year }),
                "ImmatureSignature",
            ),
            (
                "iat next year",
                serde_json::json!({ "iat": next_year }),
                "issued in the future",
            ),
            (
                "nbf past the leeway",
                serde_json::json!({ "nbf": now + LEEWAY_S + 30 }),
                "ImmatureSignature",
            ),
            (
                "iat past the leeway",
                serde_json::json!({ "iat": now + LEEWAY_S + 30 }),
                "issued in the future",
            ),
            (
                "nbf not a number",
                serde_json::json!({ "nbf": "tomorrow" }),
                "nbf",
            ),
            (
                "iat not a number",
                serde_json::json!({ "iat": "today" }),
                "iat",
            ),
        ] {
            let e = verifier.verify(&hs256(secret, &claims(extra))).unwrap_err();
            assert!(e.to_string().contains(reason), "{case}: {e}");
        }
        for (case, extra) in [
            (
                "nbf and iat now",
                serde_json::json!({ "nbf": now, "iat": now }),
            ),
            (
                "within the leeway",
                serde_json::json!({ "nbf": now + 30, "iat": now + 30 }),
            ),
            (
                "in the past",
                serde_json::json!({ "nbf": now - 3_600, "iat": now - 3_600 }),
            ),
            (
                "a fraction",
                serde_json::json!({ "nbf": now as f64 - 0.5, "iat": now as f64 - 0.5 }),
            ),
        ] {
            let token = hs256(secret, &claims(extra));
            assert!(verifier.verify(&token).is_ok(), "{case}");
        }
    }

    #[test]
    fn a_jwt_may_name_its_highest_priority() {
        let secret = "a-secret-of-at-least-thirty-two-bytes-long";
        let (verifier, _file) = hs256_verifier(secret);
        let now = unix_now();
        let claims = |role: &str, max: Option<&str>| {
            let mut claims = serde_json::json!({
                "sub": "w", "role": role, "orgs": "*", "aud": "syncgov", "exp": now + 600,
            });
            if let Some(max) = max {
                claims["max_priority"] = max.into();
            }
            claims
        };
        let ceiling = |role, max| {
            verifier
                .verify(&hs256(secret, &claims(role, max)))
                .map(|p| p.max_priority)
        };
        assert_eq!(ceiling("worker", None), Ok(Priority::Normal));
        assert_eq!(ceiling("worker", Some("critical")), Ok(Priority::Critical));
        assert_eq!(ceiling("worker", Some("retry")), Ok(Priority::Retry));
        assert_eq!(ceiling("service", None), Ok(Priority::Critical));
        assert_eq!(ceiling("admin", Some("normal")), Ok(Priority::Normal));
        let e = ceiling("worker", Some("urgent")).unwrap_err();
        assert!(e.to_string().contains("max_priority \"urgent\""), "{e}");
    }

    #[test]
    fn a_verified_jwt_is_remembered_until_it_expires() {
        let secret = "a-secret-of-at-least-thirty-two-bytes-long";
        let (verifier, _file) = hs256_verifier(secret);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = serde_json::json!({
            "sub": "w", "role": "worker", "orgs": ["acme"], "aud": "syncgov", "exp": now + 600,
        });
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        let first = verifier.verify(&token).unwrap();
        assert_eq!(verifier.verify(&token).unwrap(), first, "from memory");
        assert_eq!(verifier.verified.lock().unwrap().len(), 1);

        // A remembered token past its expiry (and the leeway) is checked
        // again, and refused.
        let stale = "e30.e30.not-a-signature";
        verifier
            .verified
            .lock()
            .unwrap()
            .insert(digest(stale), (first, now - LEEWAY_S - 1));
        assert!(verifier.verify(stale).is_err());
        assert!(
            !verifier
                .verified
                .lock()
                .unwrap()
                .contains_key(&digest(stale))
        );
    }

    mod properties {
        use super::super::*;
        use super::TempSecret;
        use proptest::prelude::*;

        /// One line of a token file, and what the documented format says
        /// of it: `None` for a line that adds nothing (blank, comment),
        /// `Some(Ok((token, principal)))` for a line that grants, and
        /// `Some(Err(()))` for a line that must be refused.
        type Judged = Option<Result<(String, Principal), ()>>;

        /// Token file lines built from the format's parts, each with the
        /// verdict the format gives it, written out here rather than asked
        /// of the parser.
        fn token_line() -> impl Strategy<Value = (String, Judged)> {
            let role = prop::sample::select(vec![
                ("worker", Role::Worker),
                ("operator", Role::Operator),
                ("admin", Role::Admin),
                ("service", Role::Service),
            ]);
            let ceiling = prop::option::of(prop::sample::select(vec![
                ("retry", Priority::Retry),
                ("normal", Priority::Normal),
                ("critical", Priority::Critical),
            ]));
            let orgs = prop_oneof![
                Just(("*".to_owned(), Orgs::All)),
                proptest::collection::btree_set("[a-z]{1,6}", 1..3).prop_map(|set| {
                    (
                        set.iter().cloned().collect::<Vec<_>>().join(","),
                        Orgs::Only(set),
                    )
                }),
            ];
            let good = (
                "[A-Za-z0-9+/=_-]{24,40}",
                role,
                ceiling,
                orgs,
                prop::option::of("[a-z][a-z0-9-]{0,10}"),
                "[ \t]{0,2}",
            )
                .prop_map(
                    |(token, (role_name, role), ceiling, (orgs_text, orgs), name, pad)| {
                        let role_text = match ceiling {
                            Some((text, _)) => format!("{role_name}:{text}"),
                            None => role_name.to_owned(),
                        };
                        let line = format!(
                            "{pad}{token} {role_text}  {orgs_text}{}{pad}",
                            name.as_ref().map(|n| format!(" {n}")).unwrap_or_default()
                        );
                        let principal = Principal {
                            subject: name.unwrap_or_default(),
                            role,
                            orgs,
                            max_priority: ceiling.map_or(
                                match role {
                                    Role::Worker => Priority::Normal,
                                    _ => Priority::Critical,
                                },
                                |(_, p)| p,
                            ),
                        };
                        (line, Some(Ok((token, principal))))
                    },
                );
            let bad = prop_oneof![
                // Too short a token.
                "[A-Za-z0-9]{1,23} worker \\*".prop_map(String::from),
                // An unknown role or priority.
                "[A-Za-z0-9]{24,30} (workr|root|Worker) \\*".prop_map(String::from),
                "[A-Za-z0-9]{24,30} worker:(urgent|high|) \\*".prop_map(String::from),
                // Too few words, or a name of two.
                "[A-Za-z0-9]{24,30}( worker)?".prop_map(String::from),
                "[A-Za-z0-9]{24,30} worker \\* pool eu".prop_map(String::from),
            ]
            .prop_map(|line| (line, Some(Err(()))));
            let nothing =
                prop_oneof!["[ \t]{0,3}", "[ \t]{0,2}#[^\n]{0,20}"].prop_map(|line| (line, None));
            prop_oneof![4 => good, 1 => bad, 1 => nothing]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            /// Any file text is parsed or refused with a line number, never a panic.
            #[test]
            fn any_token_file_parses_or_names_a_line(text in "(?s).{0,400}") {
                if let Err(e) = parse_token_file(&text) {
                    prop_assert!(e.line >= 1 && e.line <= text.lines().count());
                }
            }

            /// A file of lines in the documented format is taken exactly
            /// when every line is, each token then standing for the
            /// principal its line describes; otherwise it is refused naming
            /// the first line that is not (a token listed twice included).
            #[test]
            fn token_files_read_as_their_format_says(lines in proptest::collection::vec(token_line(), 0..8)) {
                let text = lines.iter().map(|(line, _)| line.as_str()).collect::<Vec<_>>().join("\n");
                let mut expected: Vec<(String, Principal)> = Vec::new();
                let mut first_bad = None;
                for (i, (_, judged)) in lines.iter().enumerate() {
                    match judged {
                        None => {}
                        Some(Err(())) => { first_bad = Some(i + 1); break; }
                        Some(Ok((token, principal))) => {
                            if expected.iter().any(|(seen, _)| seen == token) {
                                first_bad = Some(i + 1);
                                break;
                            }
                            let mut principal = principal.clone();
                            if principal.subject.is_empty() {
                                principal.subject = format!("token on line {}", i + 1);
                            }
                            expected.push((token.clone(), principal));
                        }
                    }
                }
                match (parse_token_file(&text), first_bad) {
                    (Ok(tokens), None) => {
                        prop_assert_eq!(tokens.len(), expected.len());
                        for (token, principal) in &expected {
                            prop_assert_eq!(tokens.get(&digest(token)), Some(principal));
                        }
                    }
                    (Err(e), Some(line)) => prop_assert_eq!(e.line, line, "{}", e.reason),
                    (got, want) => prop_assert!(false, "{text:?}: got {got:?}, the format says line {want:?}"),
                }
            }

            /// A header is taken exactly when it is the word `Bearer` (any
            /// case) and a token, and then gives that token, trimmed.
            #[test]
            fn bearer_headers_give_their_token(
                scheme in prop_oneof![
                    4 => proptest::collection::vec(any::<bool>(), 6).prop_map(|upper| {
                        "bearer".chars().zip(upper).map(|(c, u)| if u { c.to_ascii_uppercase() } else { c }).collect::<String>()
                    }),
                    1 => "(Basic|Token|Bearerx|Beare|)",
                ],
                token in "[A-Za-z0-9._~+/=-]{0,40}",
                pads in proptest::collection::vec("[ \t]{0,2}", 3),
            ) {
                let header = format!("{}{scheme} {}{token}{}", pads[0], pads[1], pads[2]);
                let expected_ok = scheme.eq_ignore_ascii_case("bearer") && !token.is_empty();
                match bearer_token(Some(&header)) {
                    Ok(taken) => {
                        prop_assert!(expected_ok, "{header:?} taken");
                        prop_assert_eq!(taken, token.as_str());
                    }
                    Err(_) => prop_assert!(!expected_ok, "{header:?} refused"),
                }
            }

            /// Any header is taken or refused, and a taken token is never
            /// blank and is part of the header.
            #[test]
            fn any_authorization_header_is_judged(header in "(?s).{0,80}") {
                if let Ok(token) = bearer_token(Some(&header)) {
                    prop_assert!(!token.trim().is_empty());
                    prop_assert!(header.contains(token));
                    prop_assert_eq!(token, token.trim());
                }
            }

            /// A verifier knowing one static token takes that token, as the
            /// caller its file names, and refuses any other string: a
            /// verifier refusing everything fails the first half.
            #[test]
            fn only_known_tokens_are_taken(
                known in "[A-Za-z0-9]{24,40}",
                token in prop_oneof!["(?s).{0,200}", "[A-Za-z0-9]{24,40}", Just(String::new())],
            ) {
                let file = TempSecret::new(&format!("{known} worker acme pool-eu\n"));
                let verifier = Verifier::load(&AuthFiles {
                    token_file: Some(file.0.clone()),
                    audience: "syncgov".into(),
                    ..AuthFiles::default()
                })
                .unwrap();
                let principal = verifier.verify(&known).expect("the known token is taken");
                prop_assert_eq!(principal.subject.as_str(), "pool-eu");
                prop_assert_eq!(principal.role, Role::Worker);
                prop_assert_eq!(verifier.verify(&token).is_ok(), token == known);
                // A token it was given with something around it is another
                // string: refused.
                let padded = format!("{known}x");
                prop_assert!(verifier.verify(&padded).is_err());
            }
        }
    }

    /// Claims as a JWT carries them: a worker's for every org, with `extra`
    /// claims added or replaced.
    fn claims(extra: &[(&str, serde_json::Value)]) -> Claims {
        let mut v = serde_json::json!({"exp": 4_000_000_000u64, "role": "worker", "orgs": "*"});
        let object = v.as_object_mut().expect("an object");
        for (name, value) in extra {
            object.insert((*name).to_owned(), value.clone());
        }
        serde_json::from_value(v).expect("claims")
    }

    #[test]
    fn the_orgs_claim_is_every_org_one_org_or_a_list_never_none() {
        let orgs = |value: serde_json::Value| principal(claims(&[("orgs", value)])).map(|p| p.orgs);
        let only = |names: &[&str]| Ok(Orgs::Only(names.iter().map(|n| (*n).to_owned()).collect()));
        assert_eq!(orgs(serde_json::json!("*")), Ok(Orgs::All));
        assert_eq!(orgs(serde_json::json!("acme")), only(&["acme"]));
        assert_eq!(
            orgs(serde_json::json!(["acme", "globex"])),
            only(&["acme", "globex"])
        );
        assert!(orgs(serde_json::json!([])).is_err());
    }

    #[test]
    fn nbf_and_iat_up_to_the_leeway_ahead_are_taken_and_no_further() {
        let now = 1_800_000_000;
        for claim in ["nbf", "iat"] {
            let at = |t: u64| check_times(&claims(&[(claim, serde_json::json!(t))]), now);
            assert_eq!(at(now - 3_600), Ok(()), "{claim} an hour ago");
            assert_eq!(at(now + LEEWAY_S), Ok(()), "{claim} at the leeway");
            assert!(at(now + LEEWAY_S + 1).is_err(), "{claim} past the leeway");
            assert!(at(now + 3_600).is_err(), "{claim} an hour ahead");
        }
    }

    #[test]
    fn every_role_is_read_back_from_its_name() {
        for role in [Role::Worker, Role::Operator, Role::Admin, Role::Service] {
            assert_eq!(Role::parse(role.name()), Some(role));
        }
    }

    #[test]
    fn only_a_caller_of_every_org_may_span_orgs() {
        let call = |orgs: Orgs| {
            let mut request = tonic::Request::new(());
            request.extensions_mut().insert(Principal {
                subject: "t".into(),
                role: Role::Operator,
                orgs,
                max_priority: Priority::Normal,
            });
            authorize_every_org(&request, "a list").is_ok()
        };
        assert!(call(Orgs::All));
        assert!(!call(Orgs::Only(BTreeSet::from(["acme".to_owned()]))));
        // No principal: the service checks no tokens.
        assert!(authorize_every_org(&tonic::Request::new(()), "a list").is_ok());
    }

    #[test]
    fn any_one_source_of_tokens_turns_checking_on_and_is_watched() {
        assert!(!AuthFiles::default().enabled());
        assert!(AuthFiles::default().files().is_empty());
        let token_file = AuthFiles {
            token_file: Some("t".into()),
            ..AuthFiles::default()
        };
        let secrets = AuthFiles {
            jwt_secret_files: vec!["s".into()],
            ..AuthFiles::default()
        };
        let keys = AuthFiles {
            jwt_public_keys: vec!["k".into()],
            ..AuthFiles::default()
        };
        for (files, path) in [(&token_file, "t"), (&secrets, "s"), (&keys, "k")] {
            assert!(files.enabled(), "{path}");
            assert_eq!(files.files(), vec![PathBuf::from(path)]);
        }
        let all = AuthFiles {
            token_file: token_file.token_file.clone(),
            jwt_secret_files: secrets.jwt_secret_files.clone(),
            jwt_public_keys: keys.jwt_public_keys.clone(),
            ..AuthFiles::default()
        };
        let expected: Vec<PathBuf> = ["t", "s", "k"].iter().map(PathBuf::from).collect();
        assert_eq!(all.files(), expected);
    }
}
