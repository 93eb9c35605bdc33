//! The key layout of the Redis store: every key it uses is spelled here and
//! nowhere else in Rust (the scripts build an org's keys from its prefix, as
//! `../lua/errors.lua` lays out).
//!
//! Invariants: every key of an org starts with [`prefix`], which carries the
//! org as its hash tag (`syncgov:errors:{<org>}`), so one org's keys share
//! one Redis Cluster slot and one script may touch all of them. What all
//! orgs share lives under tags of its own: each of the [`QUEUE_SHARDS`]
//! resync queue shards has one (`{q<n>}`), and each single shared key is a
//! slot to itself. Org ids never hold `{` or `}`, so no org's tag can be
//! mistaken for another's.

use crate::domain::{ErrorFilter, ErrorState, OrgId};
use crate::resync;
use crate::top::TopOrder;

/// The orgs whose outbox may hold entries: a hint for the relay, written
/// after the ingest script (another slot); a scan for outboxes backs it up.
pub const OUTBOX_ORGS: &str = "syncgov:errors:outbox-orgs";

/// Where the replicas' reading of the governor's suspension events stands.
pub const SUSPENSION_CURSOR: &str = "syncgov:errors:suspension-cursor";

/// Where the replicas' reading of the governor's usage alerts stands.
pub const USAGE_ALERT_CURSOR: &str = "syncgov:errors:usage-alert-cursor";

/// The orgs with notifications on.
pub const NOTIFIED_ORGS: &str = "syncgov:errors:notify-orgs";

/// Set once the top-orgs view holds the orgs counted before it existed.
pub const TOP_INDEXED: &str = "syncgov:errors:{fleet}:top:indexed";

/// Matches every org's counters, for filling the top-orgs view once.
pub const COUNTS_PATTERN: &str = "syncgov:errors:{*}:counts";

/// The top-orgs view of `order`: a sorted set whose members' byte order is
/// the view's (`crate::top`). Every order shares the tag `{fleet}`.
pub fn top(order: TopOrder) -> String {
    format!("syncgov:errors:{{fleet}}:top:{}", order.as_str())
}

/// Where each org stands in [`top`]: org -> its member.
pub fn top_ranked(order: TopOrder) -> String {
    format!("syncgov:errors:{{fleet}}:top:{}:ranked", order.as_str())
}

/// The org whose counters `key` names, if it does.
pub fn counts_org(key: &str) -> Option<OrgId> {
    let org = key
        .strip_prefix("syncgov:errors:{")?
        .strip_suffix("}:counts")?;
    OrgId::parse(org).ok()
}

/// Shards of the shared resync queue. Each shard's keys carry their own hash
/// tag, so on Redis Cluster the queue spreads over several slots.
pub const QUEUE_SHARDS: u32 = 16;

/// Matches every org's outbox, for the scan that backs up [`OUTBOX_ORGS`].
pub const OUTBOX_PATTERN: &str = "syncgov:errors:{*}:outbox";

/// The prefix of every key of `org`.
pub fn prefix(org: &OrgId) -> String {
    format!("syncgov:errors:{{{org}}}")
}

/// The keys of the queue shard that holds `org`'s jobs.
pub fn queue_keys(org: &OrgId) -> ShardKeys {
    ShardKeys::of(resync::shard_of(org, QUEUE_SHARDS))
}

/// The keys of one shard of the resync queue, all under the shard's hash
/// tag `{q<n>}` (layout in `../lua/queue.lua`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardKeys {
    /// Claimed job pointers -> when the claim lapses, ms.
    pub inflight: String,
    /// The orgs with a job due, in the order they take turns.
    pub turns: String,
    /// The orgs whose jobs all back off -> when the earliest is due, ms.
    pub parked: String,
    /// An earlier version's ready set of every org of the shard, drained.
    pub legacy_ready: String,
    /// The prefix of the per-org ready sets.
    ready_prefix: String,
}

impl ShardKeys {
    /// The keys of shard `shard`.
    pub fn of(shard: u32) -> Self {
        let tag = format!("syncgov:resync:{{q{shard}}}");
        Self {
            inflight: format!("{tag}:inflight"),
            turns: format!("{tag}:turns"),
            parked: format!("{tag}:parked"),
            legacy_ready: format!("{tag}:ready"),
            ready_prefix: format!("{tag}:ready:"),
        }
    }

    /// The ready set (job pointer -> when due, ms) of `org`'s jobs.
    pub fn ready(&self, org: &OrgId) -> String {
        format!("{}{org}", self.ready_prefix)
    }

    /// The prefix the scripts build an org's ready set from.
    pub fn ready_prefix(&self) -> &str {
        &self.ready_prefix
    }
}

/// The org whose outbox `key` is, for a key [`OUTBOX_PATTERN`] matched.
pub fn outbox_org(key: &str) -> Option<&str> {
    key.strip_prefix("syncgov:errors:{")
        .and_then(|k| k.strip_suffix("}:outbox"))
}

/// The keys of one org, built from its prefix once.
pub struct OrgKeys {
    prefix: String,
}

impl OrgKeys {
    /// The keys of `org`.
    pub fn of(org: &OrgId) -> Self {
        Self {
            prefix: prefix(org),
        }
    }

    /// The prefix, which the scripts take as KEYS[1] and build the rest from.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The hash of one error.
    pub fn error(&self, id: &str) -> String {
        format!("{}:e:{id}", self.prefix)
    }

    /// The hash of the org's counters.
    pub fn counts(&self) -> String {
        format!("{}:counts", self.prefix)
    }

    /// The list of the latest suspension-level failures.
    pub fn suspensions(&self) -> String {
        format!("{}:susp", self.prefix)
    }

    /// The list of suspension-level failures not yet told to the governor.
    pub fn outbox(&self) -> String {
        format!("{}:outbox", self.prefix)
    }

    /// The list of outbox entries that could not be told to the governor
    /// (unreadable, or refused for good), with why: where an operator reads
    /// them.
    pub fn outbox_dead(&self) -> String {
        format!("{}:outbox:dead", self.prefix)
    }

    /// The hash of notification settings.
    pub fn notify(&self) -> String {
        format!("{}:notify", self.prefix)
    }

    /// The hash of notifications being delivered.
    pub fn notify_inflight(&self) -> String {
        format!("{}:notify:inflight", self.prefix)
    }

    /// The set of channels that took notification `id` (it expires: a
    /// notification dropped with the queue leaves nothing behind for long).
    pub fn notify_sent(&self, id: &str) -> String {
        format!("{}:notify:sent:{id}", self.prefix)
    }

    /// The index that narrows `filter` the most; the rest is checked per
    /// error.
    pub fn index_for(&self, filter: &ErrorFilter) -> String {
        let p = &self.prefix;
        match (
            filter.state,
            filter.error_type,
            filter.category,
            &filter.object_type,
        ) {
            (Some(ErrorState::Resolved), ..) => format!("{p}:ix:resolved"),
            (_, Some(t), ..) => format!("{p}:ix:t:{}", t.number()),
            (_, None, Some(c), _) => format!("{p}:ix:c:{}", c.number()),
            (_, None, None, Some(o)) => format!("{p}:ix:o:{o}"),
            _ => format!("{p}:ix:all"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The part of a key Redis Cluster hashes: between the first `{` and
    /// the next `}`.
    fn hash_tag(key: &str) -> &str {
        let open = key.find('{').expect("a hash tag");
        let close = key[open..].find('}').expect("a closed hash tag") + open;
        &key[open + 1..close]
    }

    #[test]
    fn an_orgs_keys_share_its_hash_tag() {
        let org = OrgId::parse("acme:eu-1").unwrap();
        let keys = OrgKeys::of(&org);
        let filter = ErrorFilter {
            object_type: Some("Contact".into()),
            ..ErrorFilter::default()
        };
        for key in [
            keys.prefix().to_owned(),
            keys.error("e1"),
            keys.counts(),
            keys.suspensions(),
            keys.outbox(),
            keys.outbox_dead(),
            keys.notify(),
            keys.notify_inflight(),
            keys.index_for(&filter),
        ] {
            assert_eq!(hash_tag(&key), "acme:eu-1", "{key}");
        }
        assert_eq!(outbox_org(&keys.outbox()), Some("acme:eu-1"));
        assert_eq!(outbox_org(&keys.notify()), None);
        assert_eq!(outbox_org(&keys.outbox_dead()), None);
    }

    #[test]
    fn queue_shards_have_tags_of_their_own() {
        let org = OrgId::parse("acme").unwrap();
        let keys = queue_keys(&org);
        let shard = resync::shard_of(&org, QUEUE_SHARDS);
        for key in [
            keys.ready(&org),
            keys.inflight.clone(),
            keys.turns.clone(),
            keys.parked.clone(),
            keys.legacy_ready.clone(),
        ] {
            assert_eq!(hash_tag(&key), format!("q{shard}"), "{key}");
        }
        assert_eq!(keys.ready(&org), format!("{}acme", keys.ready_prefix()));
        assert_ne!(
            hash_tag(&ShardKeys::of(0).inflight),
            hash_tag(&ShardKeys::of(1).inflight)
        );
    }
}
