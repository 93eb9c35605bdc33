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
//! - `syncgov:quota:{<org>}:<res>:consumers:<bucket ms>x<buckets>`, a hash
//!   of the tokens granted per consumer, a field per consumer in the
//!   bucket grants are counted in and one field per older bucket
//!   (`lua/decide.lua` has the layout): at most 32 consumers and `(other)`
//!   per bucket, buckets dropped as they leave the window; it expires one
//!   window after its last grant.
//!
//! Shared by every org: the active suspensions, their event stream and
//! their sorted indexes (`{susp}`), the fleet views' sorted indexes of
//! budgets and usage (`{fleet}`), and the grant key
//! (`syncgov:quota:grant-key`). A global index lives under one hash tag, so
//! that one script or pipeline keeps it; an org's own keys stay in its slot.
//!
//! The fleet indexes are sorted sets of score 0, read by `ZRANGEBYLEX`: the
//! byte order of a member is the view's order (`crate::fleet`).
//! - `syncgov:quota:{fleet}:budgets`, members `<org>\x1f<res>`, and
//!   `syncgov:quota:{fleet}:budgets:<res>`, members `<org>`: every budget an
//!   org has of its own.
//! - `syncgov:quota:{fleet}:usage:<res>`, members `<7 digits>\x1f<org>`
//!   (a million times the share used, subtracted from 9 999 999), and the
//!   hash `…:usage:<res>:ranked`, org to its member.
//! - `syncgov:quota:{susp}:by-org` and `syncgov:quota:{susp}:by-reason:<n>`,
//!   members `<org>\x1f<reason>`, as the fields of the active hash.
//! - `syncgov:quota:{fleet}:alert-floors`, members `<org>\x1f<res>`, score
//!   the lowest usage alert threshold the budget names of its own: where
//!   the usage alert check stops reading the usage index.
//!
//! Usage alerts share the tag `{alerts}` (`lua/move_alert_level.lua`): the
//! hash of levels, `syncgov:quota:{alerts}:levels`, and the stream of
//! alerts, `syncgov:quota:{alerts}:events`.

use std::io::Write;

use redis::{RedisWrite, ToRedisArgs};

use crate::domain::Resource;
use crate::store::BudgetKey;
use crate::window::WindowShape;

/// The hash of every active suspension (of every org: one hash tag).
pub const SUSPENSIONS: &str = "syncgov:quota:{susp}:active";
/// The stream of suspension events.
pub const EVENTS: &str = "syncgov:quota:{susp}:events";
/// Every active suspension, by org then reason.
pub const SUSPENSIONS_BY_ORG: &str = "syncgov:quota:{susp}:by-org";
/// Where the orgs' own event streams begin: the id of the first event
/// written to [`org_events`]. Older events are in [`EVENTS`] only.
pub const ORG_EVENTS_FROM: &str = "syncgov:quota:{susp}:org-events-from";
/// The most events an org's own stream keeps (about: trimmed with `~`).
pub const ORG_EVENTS_KEPT: usize = 10_000;

/// One org's suspension events: the entries of [`EVENTS`] for `org`, under
/// the same ids, so that its history is read without reading every org's.
pub fn org_events(org: &crate::domain::OrgId) -> String {
    format!("syncgov:quota:{{susp}}:org-events:{org}")
}
/// Every budget an org has of its own, by org then resource.
pub const BUDGETS: &str = "syncgov:quota:{fleet}:budgets";
/// The budgets naming usage alert thresholds of their own, by the lowest.
pub const ALERT_FLOORS: &str = "syncgov:quota:{fleet}:alert-floors";
/// Usage alert levels: `<org>\x1f<res>\x1f<of>` to a threshold.
pub const ALERT_LEVELS: &str = "syncgov:quota:{alerts}:levels";
/// The stream of usage alerts.
pub const ALERT_EVENTS: &str = "syncgov:quota:{alerts}:events";
/// Set once the indexes hold what was stored before they existed.
pub const FLEET_INDEXED: &str = "syncgov:quota:{fleet}:indexed";

/// The active suspensions for `reason` (its number), by org.
pub fn suspensions_by_reason(reason: i32) -> String {
    format!("syncgov:quota:{{susp}}:by-reason:{reason}")
}

/// Every org's budget of `resource`, by org.
pub fn budgets_of(resource: Resource) -> String {
    format!("syncgov:quota:{{fleet}}:budgets:{}", resource.as_str())
}

/// The usage index of `resource`: orgs by share used, the largest first.
pub fn usage_ranks(resource: Resource) -> String {
    format!("syncgov:quota:{{fleet}}:usage:{}", resource.as_str())
}

/// Where each org stands in [`usage_ranks`].
pub fn usage_ranked(resource: Resource) -> String {
    format!("syncgov:quota:{{fleet}}:usage:{}:ranked", resource.as_str())
}

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

/// The org and resource of a budget hash's name, if it is one.
pub fn read_budget(key: &str) -> Option<(crate::domain::OrgId, Resource)> {
    let rest = key.strip_prefix("syncgov:quota:{")?;
    let (org, rest) = rest.split_once('}')?;
    let resource = match rest {
        ":api:budget" => Resource::ApiRequests,
        ":bulk:budget" => Resource::BulkBatches,
        _ => return None,
    };
    Some((crate::domain::OrgId::parse(org).ok()?, resource))
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

/// The hash of tokens granted per consumer of `key`, per bucket of
/// windows of `shape`.
pub fn consumers(key: &BudgetKey, shape: &WindowShape) -> String {
    format!(
        "syncgov:quota:{{{}}}:{}:consumers:{}x{}",
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

/// The ends of the names of a budget's window and consumers hash
/// (`:window:<bucket ms>x<buckets>`, `:consumers:...`), which depend on the
/// window's shape only: formatted once per store, so that a decision
/// writes its keys from pieces it already has.
#[derive(Debug)]
pub struct ShapeNames {
    window: String,
    consumers: String,
}

impl ShapeNames {
    /// The names' ends for windows of `shape`.
    pub fn new(shape: &WindowShape) -> Self {
        let (ms, buckets) = (shape.bucket_ms(), shape.buckets());
        Self {
            window: format!(":window:{ms}x{buckets}"),
            consumers: format!(":consumers:{ms}x{buckets}"),
        }
    }
}

/// The four keys a decision reads and writes ([`budget`], [`window`],
/// [`org`], [`consumers`]), in the order the acquire scripts take them,
/// each written straight into the command that carries them: a decision
/// formats no string of its own for its keys.
pub struct DecisionKeys<'a> {
    key: &'a BudgetKey,
    names: &'a ShapeNames,
}

impl<'a> DecisionKeys<'a> {
    /// The keys of `key`'s decisions, for the window shape of `names`.
    pub fn new(key: &'a BudgetKey, names: &'a ShapeNames) -> Self {
        Self { key, names }
    }

    /// Writes one key, `syncgov:quota:{<org>}:<res><end>`, as one argument.
    fn write<W: ?Sized + RedisWrite>(&self, out: &mut W, end: &str) {
        let mut arg = out.writer_for_next_arg();
        let pieces = [
            "syncgov:quota:{",
            self.key.org.as_str(),
            "}:",
            self.key.resource.as_str(),
            end,
        ];
        for piece in pieces {
            // A command's growing buffer takes every byte: nothing to fail.
            let _ = arg.write_all(piece.as_bytes());
        }
    }
}

impl ToRedisArgs for DecisionKeys<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        self.write(out, ":budget");
        self.write(out, &self.names.window);
        self.write(out, ":org");
        self.write(out, &self.names.consumers);
    }

    fn num_of_args(&self) -> usize {
        4
    }
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
    use crate::domain::OrgId;

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
        assert_eq!(
            consumers(&key, &shape),
            "syncgov:quota:{acme}:api:consumers:60000x1440"
        );
        assert_eq!(released(&key, 255), "syncgov:quota:{acme}:api:released:ff");
        assert_eq!(
            read_budget(&budget(&key)),
            Some((key.org.clone(), key.resource))
        );
        assert_eq!(read_budget("syncgov:quota:{acme}:api:org"), None);
    }

    #[test]
    fn a_decisions_keys_are_the_budgets_own() {
        let key = BudgetKey {
            org: OrgId::parse("acme-7").unwrap(),
            resource: Resource::BulkBatches,
        };
        let shape = WindowShape::new(Duration::from_secs(3_600), Duration::from_secs(10)).unwrap();
        let names = ShapeNames::new(&shape);
        let written = DecisionKeys::new(&key, &names).to_redis_args();
        let named = [
            budget(&key),
            window(&key, &shape),
            org(&key),
            consumers(&key, &shape),
        ];
        assert_eq!(written, named.map(String::into_bytes));
    }
}
