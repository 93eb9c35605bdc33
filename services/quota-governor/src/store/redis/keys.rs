//! The names of the governor's Redis keys. Every key of a budget carries its
//! org as a hash tag (`{<org>}`), so that an org's keys share one Redis
//! Cluster slot and one script may touch them all; suspensions of every org
//! share the tag `{susp}`, so that one stream orders all their events.
//!
//! Keys of a budget, `<org>` and `<res>` (`api` or `bulk`) filled in:
//! - `syncgov:quota:{<org>}:<res>:budget`, a hash: `l` org limit, `a`
//!   allocation, `sr`/`sn`/`sc` shares, `oa`/`oe` override allocation and
//!   expiry; kept until deleted.
//! - `syncgov:quota:{<org>}:<res>:window:<bucket ms>x<buckets>`, a string
//!   (layout in `lua/window.lua`): 16 bytes + 4 per bucket, so 5 780 bytes
//!   for the default 24 h of 60 s buckets. It expires one window after its
//!   last grant. The shape is part of the name: a governor started with
//!   another window shape counts afresh rather than misreading the old
//!   layout.
//! - `syncgov:quota:{<org>}:<res>:org`, a hash: the org-wide view (`ru`
//!   reported used, `rm` reported max, `rt` when observed, `rg` grants since).
//! - `syncgov:quota:{<org>}:<res>:released:<nonce>`: a grant handed back,
//!   kept while its bucket can be in the window.
//!
//! Shared by every org: the active suspensions and their event stream
//! (`{susp}`), and the grant key (`syncgov:quota:grant-key`).

use crate::store::BudgetKey;
use crate::window::WindowShape;

/// The hash of every active suspension (of every org: one hash tag).
pub const SUSPENSIONS: &str = "syncgov:quota:{susp}:active";
/// The stream of suspension events.
pub const EVENTS: &str = "syncgov:quota:{susp}:events";
/// The secret grant ids are signed with (hex), shared by every replica.
pub const GRANT_KEY: &str = "syncgov:quota:grant-key";

/// The budget hash of `key`.
pub fn budget(key: &BudgetKey) -> String {
    format!(
        "syncgov:quota:{{{}}}:{}:budget",
        key.org,
        key.resource.as_str()
    )
}

/// The window string of `key` for windows of `shape`.
pub fn window(key: &BudgetKey, shape: &WindowShape) -> String {
    format!(
        "syncgov:quota:{{{}}}:{}:window:{}x{}",
        key.org,
        key.resource.as_str(),
        shape.bucket_ms(),
        shape.buckets()
    )
}

/// The org-wide view hash of `key`.
pub fn org(key: &BudgetKey) -> String {
    format!(
        "syncgov:quota:{{{}}}:{}:org",
        key.org,
        key.resource.as_str()
    )
}

/// The marker of a grant of `key` that was handed back: a grant is
/// released at most once.
pub fn released(key: &BudgetKey, nonce: u64) -> String {
    format!(
        "syncgov:quota:{{{}}}:{}:released:{nonce:x}",
        key.org,
        key.resource.as_str()
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::{OrgId, Resource};

    #[test]
    fn every_key_of_an_org_shares_its_hash_tag() {
        let key = BudgetKey {
            org: OrgId::parse("acme").unwrap(),
            resource: Resource::ApiRequests,
        };
        let shape = WindowShape::new(Duration::from_secs(86_400), Duration::from_secs(60)).unwrap();
        assert_eq!(budget(&key), "syncgov:quota:{acme}:api:budget");
        assert_eq!(
            window(&key, &shape),
            "syncgov:quota:{acme}:api:window:60000x1440"
        );
        assert_eq!(org(&key), "syncgov:quota:{acme}:api:org");
        assert_eq!(released(&key, 255), "syncgov:quota:{acme}:api:released:ff");
    }
}
