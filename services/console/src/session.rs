//! Who is signed in, kept in a sealed cookie: the person's bearer token,
//! the CSRF token of their forms and when the sign-in ends, encrypted and
//! authenticated with ChaCha20-Poly1305 under a key only the console holds.
//! The browser can neither read the token nor change any of it; replicas
//! that share the key (`--session-secret-file`) share sessions.
//!
//! Pure apart from the random source: time is passed in.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const COOKIE: &str = "syncgov_session";
/// The cookie of the sign-in form's CSRF token (before any session exists).
pub const SIGN_IN_COOKIE: &str = "syncgov_sign_in";
/// The cookie of the message shown once after an action ("3 errors queued").
pub const NOTICE_COOKIE: &str = "syncgov_notice";
/// The longest token accepted: a sealed session must fit a cookie (4 KB).
pub const MAX_TOKEN_LEN: usize = 2048;
/// The shortest session secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// A signed-in person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Their bearer token; empty when the services run without
    /// authentication and the person entered without one.
    pub token: String,
    /// The token every form of theirs must carry.
    pub csrf: String,
    /// When the sign-in ends, in seconds since the Unix epoch.
    pub expires_at: u64,
}

impl Session {
    /// A new session for `token`, lasting `lifetime_secs` from `now`.
    pub fn new(token: String, now: u64, lifetime_secs: u64) -> Self {
        Self {
            token,
            csrf: random_token(),
            expires_at: now.saturating_add(lifetime_secs),
        }
    }

    /// Whether the person entered without a token.
    pub fn anonymous(&self) -> bool {
        self.token.is_empty()
    }

    /// A short, safe-to-show name of the credential: its last characters.
    pub fn credential_hint(&self) -> String {
        if self.anonymous() {
            return "no token (authentication off)".into();
        }
        let tail: String = self.token.chars().rev().take(4).collect();
        format!("token …{}", tail.chars().rev().collect::<String>())
    }
}

/// Why a pasted token was refused before any service saw it.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Nothing was pasted.
    #[error("token: paste the bearer token or JWT you were given")]
    Empty,
    /// Too long to keep in a cookie.
    #[error("token: at most {MAX_TOKEN_LEN} characters")]
    TooLong,
    /// Not something an HTTP header can carry.
    #[error("token: printable ASCII without spaces or line breaks")]
    Unprintable,
}

/// Checks a pasted token (surrounding whitespace and a `Bearer ` prefix are
/// dropped) and returns it.
pub fn parse_token(text: &str) -> Result<String, TokenError> {
    let text = text.trim();
    let text = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .unwrap_or(text)
        .trim();
    if text.is_empty() {
        return Err(TokenError::Empty);
    }
    if text.len() > MAX_TOKEN_LEN {
        return Err(TokenError::TooLong);
    }
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(TokenError::Unprintable);
    }
    Ok(text.to_owned())
}

/// Seals and opens cookies under one key.
pub struct Sealer {
    key: LessSafeKey,
}

impl Sealer {
    /// A sealer keyed by `secret` (at least [`MIN_SECRET_LEN`] bytes).
    pub fn from_secret(secret: &[u8]) -> anyhow::Result<Self> {
        anyhow::ensure!(
            secret.len() >= MIN_SECRET_LEN,
            "the session secret must be {MIN_SECRET_LEN} bytes or more"
        );
        let mut hash = Sha256::new();
        hash.update(b"syncgov-console session key v1\0");
        hash.update(secret);
        let key = UnboundKey::new(&CHACHA20_POLY1305, &hash.finalize())
            .map_err(|_| anyhow::anyhow!("cannot make the session key"))?;
        Ok(Self {
            key: LessSafeKey::new(key),
        })
    }

    /// A sealer with a random key: sessions end when the process does.
    pub fn random() -> anyhow::Result<Self> {
        let mut secret = [0u8; 32];
        SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| anyhow::anyhow!("no random source"))?;
        Self::from_secret(&secret)
    }

    /// `text` encrypted and authenticated, as cookie-safe text. `purpose`
    /// is bound in, so a value sealed for one cookie opens in no other.
    pub fn seal(&self, purpose: &str, text: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        // The system's random source does not fail on the platforms served.
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system's random source");
        let mut data = text.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(purpose.as_bytes()),
                &mut data,
            )
            .expect("sealing a short text");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// What [`Sealer::seal`] sealed for `purpose`, or `None` for anything
    /// else (changed, truncated, of another key or purpose).
    pub fn open(&self, purpose: &str, sealed: &str) -> Option<String> {
        if sealed.len() > 8192 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, ring::aead::Aad::from(purpose.as_bytes()), &mut data)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }

    /// The session as a cookie value.
    pub fn seal_session(&self, session: &Session) -> String {
        let text = format!(
            "v1\n{}\n{}\n{}",
            session.expires_at, session.csrf, session.token
        );
        self.seal(COOKIE, &text)
    }

    /// The session of a cookie value, if it is one of ours and has not
    /// ended at `now`.
    pub fn open_session(&self, sealed: &str, now: u64) -> Option<Session> {
        let text = self.open(COOKIE, sealed)?;
        let mut parts = text.splitn(4, '\n');
        if parts.next()? != "v1" {
            return None;
        }
        let expires_at: u64 = parts.next()?.parse().ok()?;
        let csrf = parts.next()?.to_owned();
        let token = parts.next()?.to_owned();
        (now < expires_at).then_some(Session {
            token,
            csrf,
            expires_at,
        })
    }
}

/// Sessions signed out before their end, by CSRF token (unique per
/// session), until they would have ended: a copy of a signed-out cookie
/// opens nothing on this replica. Bounded: past [`Revoked::MAX`] entries
/// the oldest ending are forgotten first.
#[derive(Default)]
pub struct Revoked {
    ends: std::sync::Mutex<std::collections::HashMap<String, u64>>,
}

impl Revoked {
    /// The most sign-outs remembered at once.
    pub const MAX: usize = 100_000;

    /// Remembers that `session` was signed out at `now`.
    pub fn revoke(&self, session: &Session, now: u64) {
        let mut ends = self.ends.lock().unwrap_or_else(|e| e.into_inner());
        ends.retain(|_, end| *end > now);
        if ends.len() >= Self::MAX
            && let Some(first) = ends
                .iter()
                .min_by_key(|(_, end)| **end)
                .map(|(k, _)| k.clone())
        {
            ends.remove(&first);
        }
        ends.insert(session.csrf.clone(), session.expires_at);
    }

    /// Whether `session` was signed out.
    pub fn is_revoked(&self, session: &Session) -> bool {
        self.ends
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&session.csrf)
    }
}

/// 32 random hex digits (128 bits): CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system's random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, path `/`, `Secure`
/// under TLS; `max_age` 0 removes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::from_secret(&[7u8; 32]).unwrap()
    }

    #[test]
    fn a_session_opens_as_sealed_and_not_after_it_ends() {
        let s = Session::new("tok-123".into(), 1_000, 60);
        let sealed = sealer().seal_session(&s);
        assert!(!sealed.contains("tok-123"));
        assert_eq!(sealer().open_session(&sealed, 1_059), Some(s.clone()));
        assert_eq!(sealer().open_session(&sealed, 1_060), None);
    }

    #[test]
    fn a_changed_cookie_or_another_key_or_purpose_opens_nothing() {
        let sealed = sealer().seal_session(&Session::new("t".into(), 0, 60));
        let mut changed = sealed.clone().into_bytes();
        let last = changed.len() - 1;
        changed[last] = if changed[last] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(changed).unwrap();
        assert_eq!(sealer().open_session(&changed, 1), None);
        let other = Sealer::from_secret(&[8u8; 32]).unwrap();
        assert_eq!(other.open_session(&sealed, 1), None);
        assert_eq!(sealer().open(NOTICE_COOKIE, &sealed), None);
        assert_eq!(sealer().open_session("not base64 !", 1), None);
        assert_eq!(sealer().open_session("", 1), None);
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Sealer::from_secret(&[1u8; 31]).is_err());
    }

    #[test]
    fn tokens_are_trimmed_bounded_and_printable() {
        assert_eq!(parse_token("  Bearer abc \n").unwrap(), "abc");
        assert_eq!(parse_token(" "), Err(TokenError::Empty));
        assert_eq!(parse_token("a b"), Err(TokenError::Unprintable));
        assert_eq!(parse_token("é"), Err(TokenError::Unprintable));
        assert_eq!(
            parse_token(&"x".repeat(MAX_TOKEN_LEN + 1)),
            Err(TokenError::TooLong)
        );
        assert!(parse_token(&"x".repeat(MAX_TOKEN_LEN)).is_ok());
    }

    #[test]
    fn secrets_compare_equal_only_when_equal_and_not_empty() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", ""));
    }

    #[test]
    fn cookies_are_read_by_name_and_set_with_their_flags() {
        assert_eq!(cookie("a=1; syncgov_session=xyz", COOKIE), Some("xyz"));
        assert_eq!(cookie("xsyncgov_session=1", COOKIE), None);
        let set = set_cookie(COOKIE, "v", 60, true);
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        assert!(set.ends_with("; Secure"));
        assert!(!set_cookie(COOKIE, "v", 60, false).contains("Secure"));
    }

    #[test]
    fn a_signed_out_session_stays_out_until_it_would_have_ended() {
        let revoked = Revoked::default();
        let (a, b) = (
            Session::new("a".into(), 0, 10),
            Session::new("a".into(), 0, 10),
        );
        revoked.revoke(&a, 5);
        assert!(revoked.is_revoked(&a));
        assert!(!revoked.is_revoked(&b), "another sign-in of the same token");
        // Entries past their end are dropped at the next sign-out.
        revoked.revoke(&b, 11);
        assert!(!revoked.is_revoked(&a));
    }

    #[test]
    fn the_hint_shows_only_the_tokens_end() {
        let s = Session::new("secret-token-wxyz".into(), 0, 1);
        assert_eq!(s.credential_hint(), "token …wxyz");
    }
}
