//! Grant ids: what a caller holds to hand a grant's unused tokens back.
//!
//! A grant id is text the caller sends back, so nothing in it is trusted. It
//! names the grant (`g3.<bucket start ms>.<count>.<nonce>`) and carries a
//! tag: an HMAC-SHA256 under a secret of the governor (kept in the store, so
//! every replica shares it) over the grant and the org and resource it was
//! granted to. A release whose tag does not verify under this org and
//! resource hands nothing back, so an id cannot be forged, widened to more
//! tokens, or moved to another org; the store's one-time record of each
//! released nonce keeps a real id from being released twice.

use ring::hmac;

use crate::domain::{Grant, OrgId, Resource};

/// Bytes of a grant key.
pub const KEY_LEN: usize = 32;
/// Bytes of the tag kept in an id: 128 bits, beyond any guessing.
const TAG_LEN: usize = 16;
/// The version of the id format, first in every id.
const PREFIX: &str = "g3.";
/// Lowercase hexadecimal digits, by value.
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `n` in lowercase hexadecimal without leading zeros (`0` for zero), as
/// `{:x}` writes it, in `buf`.
fn lower_hex(mut n: u64, buf: &mut [u8; 16]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = HEX_DIGITS[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            return &buf[start..];
        }
    }
}

/// A secret grant ids are signed with.
#[derive(Clone)]
pub struct GrantKey {
    bytes: [u8; KEY_LEN],
    key: hmac::Key,
}

impl PartialEq for GrantKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl std::fmt::Debug for GrantKey {
    /// Never the secret itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GrantKey(…)")
    }
}

impl GrantKey {
    /// A key from its bytes.
    pub fn new(bytes: [u8; KEY_LEN]) -> Self {
        Self {
            bytes,
            key: hmac::Key::new(hmac::HMAC_SHA256, &bytes),
        }
    }

    /// A fresh key from the system's secure random source.
    pub fn random() -> Self {
        use ring::rand::SecureRandom;
        let mut bytes = [0u8; KEY_LEN];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system's random source answers");
        Self::new(bytes)
    }

    /// The key as it is kept in the store.
    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    fn tag(&self, org: &OrgId, resource: Resource, grant: &Grant) -> hmac::Tag {
        // Every part is delimited, so no two grants sign the same text:
        // `g3.<org>␟<resource>␟<bucket start>␟<count>␟<nonce in hex>`, fed
        // to the MAC piece by piece (one of these per grant: no text built).
        const DELIMITER: &[u8] = "\u{1f}".as_bytes();
        let mut numbers = itoa::Buffer::new();
        let mut hex = [0u8; 16];
        let mut mac = hmac::Context::with_key(&self.key);
        mac.update(PREFIX.as_bytes());
        mac.update(org.as_str().as_bytes());
        mac.update(DELIMITER);
        mac.update(resource.as_str().as_bytes());
        mac.update(DELIMITER);
        mac.update(numbers.format(grant.bucket_start_ms).as_bytes());
        mac.update(DELIMITER);
        mac.update(numbers.format(grant.count).as_bytes());
        mac.update(DELIMITER);
        mac.update(lower_hex(grant.nonce, &mut hex));
        mac.sign()
    }

    /// The id of `grant`, granted to `org` for `resource`.
    pub fn seal(&self, org: &OrgId, resource: Resource, grant: &Grant) -> String {
        let tag = self.tag(org, resource, grant);
        let mut numbers = itoa::Buffer::new();
        let mut hex = [0u8; 16];
        let mut id = String::with_capacity(PREFIX.len() + 20 + 20 + 16 + 3 + 2 * TAG_LEN);
        id.push_str(PREFIX);
        id.push_str(numbers.format(grant.bucket_start_ms));
        id.push('.');
        id.push_str(numbers.format(grant.count));
        id.push('.');
        id.extend(
            lower_hex(grant.nonce, &mut hex)
                .iter()
                .map(|&b| char::from(b)),
        );
        id.push('.');
        for byte in &tag.as_ref()[..TAG_LEN] {
            id.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            id.push(char::from(HEX_DIGITS[usize::from(byte & 0xf)]));
        }
        id
    }

    /// True when `tag` is this key's for `grant` of `org` and `resource`,
    /// compared in constant time.
    fn verifies(&self, org: &OrgId, resource: Resource, grant: &Grant, tag: &[u8]) -> bool {
        let expected = self.tag(org, resource, grant);
        // Every byte is compared whatever the first difference, so the time
        // taken says nothing of how much of a forged tag was right.
        let difference = expected.as_ref()[..TAG_LEN]
            .iter()
            .zip(tag)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        tag.len() == TAG_LEN && difference == 0
    }
}

/// An id as a caller sent it, read but not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantId {
    /// The grant it names.
    pub grant: Grant,
    tag: [u8; TAG_LEN],
}

/// What a caller's id turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opened {
    /// A grant the governor made to this org and resource.
    Genuine(Grant),
    /// An id of the governor's form that it did not make for this org and
    /// resource (forged, another org's, signed with a key since replaced),
    /// or an id of an earlier form that carries no tag.
    Unknown,
}

impl GrantId {
    /// Reads `text`: an id of the current form, or `None` for one of an
    /// earlier form (`g1.`, `g2.`, which carry no tag and are never
    /// honoured). Anything else is refused naming `grant_id`.
    pub fn parse(text: &str) -> Result<Option<Self>, crate::domain::InvalidInput> {
        let bad = || {
            crate::domain::InvalidInput::new(
                "grant_id",
                "must be the grant_id of an AcquireTokens reply",
            )
        };
        if text.len() > 128 {
            return Err(bad());
        }
        let Some(rest) = text.strip_prefix(PREFIX) else {
            let earlier = ["g1.", "g2."].iter().any(|p| text.starts_with(p));
            return if earlier { Ok(None) } else { Err(bad()) };
        };
        let parts: Vec<&str> = rest.split('.').collect();
        let [bucket, count, nonce, tag] = parts.as_slice() else {
            return Err(bad());
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
        let bucket_ok = digits(bucket.strip_prefix('-').unwrap_or(bucket));
        if !bucket_ok || !digits(count) || !hex(nonce) || tag.len() != 2 * TAG_LEN || !hex(tag) {
            return Err(bad());
        }
        let grant = Grant {
            bucket_start_ms: bucket.parse().map_err(|_| bad())?,
            count: count.parse().map_err(|_| bad())?,
            nonce: u64::from_str_radix(nonce, 16).map_err(|_| bad())?,
        };
        let mut bytes = [0u8; TAG_LEN];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&tag[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Some(Self { grant, tag: bytes }))
    }

    /// The grant, when one of `keys` made this id for `org` and `resource`.
    pub fn open<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k GrantKey>,
        org: &OrgId,
        resource: Resource,
    ) -> Opened {
        let genuine = keys
            .into_iter()
            .any(|key| key.verifies(org, resource, &self.grant, &self.tag));
        if genuine {
            Opened::Genuine(self.grant)
        } else {
            Opened::Unknown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme() -> OrgId {
        OrgId::parse("acme").unwrap()
    }

    fn grant() -> Grant {
        Grant {
            bucket_start_ms: 1_700_000_040_000,
            count: 950,
            nonce: 0xbeef,
        }
    }

    fn open(key: &GrantKey, text: &str, org: &OrgId, resource: Resource) -> Opened {
        GrantId::parse(text)
            .unwrap()
            .unwrap()
            .open([key], org, resource)
    }

    #[test]
    fn an_id_opens_for_its_org_and_resource_only() {
        let key = GrantKey::random();
        let id = key.seal(&acme(), Resource::ApiRequests, &grant());
        assert!(id.starts_with("g3.1700000040000.950.beef."), "{id}");
        assert_eq!(
            open(&key, &id, &acme(), Resource::ApiRequests),
            Opened::Genuine(grant())
        );
        let globex = OrgId::parse("globex").unwrap();
        assert_eq!(
            open(&key, &id, &globex, Resource::ApiRequests),
            Opened::Unknown
        );
        assert_eq!(
            open(&key, &id, &acme(), Resource::BulkBatches),
            Opened::Unknown
        );
        assert_eq!(
            open(&GrantKey::random(), &id, &acme(), Resource::ApiRequests),
            Opened::Unknown,
            "another key"
        );
    }

    /// The id as first defined: the MAC over the whole text, the id written
    /// with `format!`. Ids made before the MAC was fed piece by piece must
    /// still open, and those made now by replicas of either kind.
    fn sealed_as_text(key: &GrantKey, org: &OrgId, resource: Resource, grant: &Grant) -> String {
        let text = format!(
            "{PREFIX}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{:x}",
            org,
            resource.as_str(),
            grant.bucket_start_ms,
            grant.count,
            grant.nonce
        );
        let tag = hmac::sign(&key.key, text.as_bytes());
        let mut id = format!(
            "{PREFIX}{}.{}.{:x}.",
            grant.bucket_start_ms, grant.count, grant.nonce
        );
        for byte in &tag.as_ref()[..TAG_LEN] {
            id.push_str(&format!("{byte:02x}"));
        }
        id
    }

    #[test]
    fn ids_are_those_of_the_textual_form() {
        let key = GrantKey::random();
        for (bucket_start_ms, count, nonce) in [
            (1_700_000_040_000, 950, 0xbeef),
            (0, 1, 0),
            (-60_000, u64::MAX, u64::MAX),
            (i64::MAX, 0, 0x10),
            (i64::MIN, 7, 0xf),
        ] {
            let grant = Grant {
                bucket_start_ms,
                count,
                nonce,
            };
            for resource in [Resource::ApiRequests, Resource::BulkBatches] {
                assert_eq!(
                    key.seal(&acme(), resource, &grant),
                    sealed_as_text(&key, &acme(), resource, &grant),
                    "{grant:?}"
                );
            }
        }
    }

    #[test]
    fn a_changed_count_bucket_or_nonce_breaks_the_tag() {
        let key = GrantKey::random();
        let id = key.seal(&acme(), Resource::ApiRequests, &grant());
        for forged in [
            id.replacen(".950.", ".951.", 1),
            id.replacen(".1700000040000.", ".1700000100000.", 1),
            id.replacen(".beef.", ".bef0.", 1),
        ] {
            assert_eq!(
                open(&key, &forged, &acme(), Resource::ApiRequests),
                Opened::Unknown,
                "{forged}"
            );
        }
    }

    #[test]
    fn earlier_forms_are_read_but_never_honoured_and_junk_is_refused() {
        assert_eq!(GrantId::parse("g1.1700000000000.7"), Ok(None));
        assert_eq!(GrantId::parse("g2.1700000000000.7.beef"), Ok(None));
        let tag = "0".repeat(32);
        assert!(
            GrantId::parse(&format!("g3.5.5.a.{tag}"))
                .unwrap()
                .is_some()
        );
        for bad in [
            String::new(),
            "g3.".into(),
            "g3.5.5.a".into(),
            format!("g3.5.5.a.{}", "0".repeat(31)),
            format!("g3.5.5.a.{}", "z".repeat(32)),
            format!("g3.x.5.a.{tag}"),
            format!("g3.5.-5.a.{tag}"),
            format!("g3.5.5.+a.{tag}"),
            format!("g3.5.5.a.{tag}.x"),
            format!("g3.{}.5.a.{tag}", "9".repeat(40)),
            "g4.5.5".into(),
            "x".repeat(200),
        ] {
            assert_eq!(
                GrantId::parse(&bad).unwrap_err().field,
                "grant_id",
                "{bad:?}"
            );
        }
    }
}
