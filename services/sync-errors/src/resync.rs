//! Resync jobs, pure: their ids, leases and the back-off between attempts.
//! The queue itself lives in the store; these are the rules it follows.
//!
//! A job resyncs one current error. An org has at most so many jobs queued
//! at once ([`QueuePolicy`]), and claims take the orgs in turns, one job
//! each, so one org's bulk resync never holds up another's jobs. Workers
//! claim jobs for a visibility timeout; a job not completed by then comes back and may go to another
//! worker (whose lease replaces the first one's, so the first can no longer
//! complete it). A failed attempt waits an exponential back-off with jitter,
//! capped, before the job is due again; after the last allowed attempt the
//! error is dead until an operator resyncs it again.

use std::fmt;
use std::time::Duration;

use crate::domain::{ErrorId, InvalidInput, OrgId};

/// Most jobs one claim may take.
pub const MAX_CLAIM: usize = 100;
/// Visibility timeout when the request leaves it unset, and its bounds.
pub const DEFAULT_VISIBILITY: Duration = Duration::from_secs(60);
/// Shortest visibility timeout.
pub const MIN_VISIBILITY: Duration = Duration::from_secs(1);
/// Longest visibility timeout.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(3_600);
/// Longest lease id a caller may send back (the service's are far shorter).
pub const MAX_LEASE_LEN: usize = 64;
/// Longest job id: an org id, `/`, an error id.
pub const MAX_JOB_ID_LEN: usize = syncgov_kit::input::MAX_ORG_ID_LEN + 1 + 25;

/// How failed attempts are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; then the error is dead.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; doubles after each.
    pub base: Duration,
    /// Longest wait.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base: Duration::from_secs(30),
            cap: Duration::from_secs(3_600),
        }
    }
}

/// Most jobs one org may have queued at once when the settings say nothing.
pub const DEFAULT_MAX_QUEUED_PER_ORG: u32 = 1_000;

/// How the resync queue treats jobs: how failed attempts are retried, and
/// how many jobs one org may have queued (waiting, backing off or claimed)
/// at once, so that no org fills the queue the others share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueuePolicy {
    /// How failed attempts are retried.
    pub retry: RetryPolicy,
    /// Most jobs of one org queued at once; a resync beyond it queues none
    /// of the rest and says so.
    pub max_queued_per_org: u32,
}

impl Default for QueuePolicy {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            max_queued_per_org: DEFAULT_MAX_QUEUED_PER_ORG,
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (from 1), given a
    /// `jitter` in [0, 1): "equal jitter", half fixed and half random, so
    /// retries of many jobs spread out but never come back at once.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let full = self.base.saturating_mul(1u32 << exponent).min(self.cap);
        let half = full / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// True when attempt number `attempt` was the last allowed.
    pub fn exhausted(&self, attempt: u32) -> bool {
        attempt >= self.max_attempts
    }
}

/// Names a resync job: the org and the error it resyncs. One job per error
/// at a time, so the pair is enough; '/' never appears in either part.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId {
    /// The org.
    pub org: OrgId,
    /// The error.
    pub error: ErrorId,
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.org, self.error)
    }
}

impl JobId {
    /// Reads a job id a caller gives back: `<org id>/<error id>`, at most
    /// [`MAX_JOB_ID_LEN`] characters.
    pub fn parse(field: &str, text: &str) -> Result<Self, InvalidInput> {
        let bad = || InvalidInput::new(field, "must be a job_id the service returned");
        if text.len() > MAX_JOB_ID_LEN {
            return Err(bad());
        }
        let (org, error) = text.split_once('/').ok_or_else(bad)?;
        Ok(Self {
            org: OrgId::parse(org).map_err(|_| bad())?,
            error: ErrorId::parse(field, error).map_err(|_| bad())?,
        })
    }
}

/// Checks a lease id a caller gives back: 1 to [`MAX_LEASE_LEN`] characters
/// of `A-Z a-z 0-9 _ -` (a lease the service made is `l` and hex digits).
/// One well formed but not the job's is no error here: the store answers
/// that it does not hold the job.
pub fn check_lease(field: &str, text: &str) -> Result<(), InvalidInput> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-');
    if text.is_empty() || text.len() > MAX_LEASE_LEN || !text.chars().all(ok_char) {
        return Err(InvalidInput::new(
            field,
            format!("must be 1 to {MAX_LEASE_LEN} characters of A-Z a-z 0-9 _ -"),
        ));
    }
    Ok(())
}

/// Checks a requested visibility timeout; `None` means the default.
pub fn visibility(field: &str, requested: Option<Duration>) -> Result<Duration, InvalidInput> {
    match requested {
        None => Ok(DEFAULT_VISIBILITY),
        Some(d) if (MIN_VISIBILITY..=MAX_VISIBILITY).contains(&d) => Ok(d),
        Some(_) => Err(InvalidInput::new(field, "must be 1s to 1h")),
    }
}

/// Which queue shard an org's jobs live in: orgs spread over shards, so the
/// shared queue spreads over Redis Cluster slots, while one org's jobs stay
/// together.
pub fn shard_of(org: &OrgId, shards: u32) -> u32 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for &byte in org.as_str().as_bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(shards.max(1))) as u32
}

/// How a claimed job ended, as the worker says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    /// The record synced: the error is resolved.
    Success,
    /// The record failed again.
    Failure,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::ErrorType;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, 0.0), Duration::from_secs(15));
        assert_eq!(
            p.backoff(1, 0.999_999),
            Duration::from_secs(30) - Duration::from_nanos(15_000)
        );
        assert_eq!(p.backoff(2, 0.0), Duration::from_secs(30));
        assert_eq!(p.backoff(3, 0.5), Duration::from_secs(90));
        assert_eq!(p.backoff(40, 1.0), Duration::from_secs(3_600));
        assert!(!p.exhausted(4));
        assert!(p.exhausted(5));
    }

    #[test]
    fn job_ids_round_trip() {
        let job = JobId {
            org: OrgId::parse("acme").unwrap(),
            error: ErrorId::of("Contact", "c1", ErrorType::Unknown),
        };
        assert_eq!(JobId::parse("job_id", &job.to_string()), Ok(job.clone()));
        assert!(JobId::parse("job_id", "acme").is_err());
        assert!(JobId::parse("job_id", "ac{me/e00").is_err());
        let long = format!("{}/{}", "a".repeat(10_000), job.error);
        assert!(JobId::parse("job_id", &long).is_err());
    }

    #[test]
    fn leases_are_bounded_and_plain() {
        assert!(check_lease("lease_id", "l1f3a").is_ok());
        assert!(check_lease("lease_id", "not-the-lease").is_ok());
        for bad in ["", "with space", "l\n", "é", &"l".repeat(65)] {
            assert_eq!(check_lease("lease_id", bad).unwrap_err().field, "lease_id");
        }
    }

    #[test]
    fn visibility_is_bounded() {
        assert_eq!(visibility("v", None), Ok(DEFAULT_VISIBILITY));
        assert!(visibility("v", Some(Duration::from_millis(10))).is_err());
        assert!(visibility("v", Some(Duration::from_secs(7_200))).is_err());
    }

    #[test]
    fn shards_spread_orgs() {
        let shards: std::collections::HashSet<u32> = (0..100)
            .map(|i| shard_of(&OrgId::parse(&format!("org-{i}")).unwrap(), 16))
            .collect();
        assert!(shards.len() > 8, "{shards:?}");
    }
}
