//! One replica's view of every org's suspensions, kept in step with the
//! store's event feed by one follower task. Token requests are checked
//! against it without a store round trip, and every watcher of the replica
//! is fed from it: one reading of the store per replica, fanned out in
//! memory.
//!
//! The view converges to the store: besides following the events, the
//! follower reads a fresh snapshot of the active suspensions every
//! [`RESNAPSHOT`], so a store that lost its data without a connection error
//! (`FLUSHALL`, a failover to an empty replica) is seen within
//! [`CONVERGENCE`], and no suspension outlives its record.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use crate::domain::OrgId;
use crate::store::QuotaStore;
use crate::suspension::{Active, Cursor, Event, Suspension};

/// How long one wait for new events lasts before it is asked again.
const WAIT: Duration = Duration::from_secs(5);
/// Pause after a store failure before following again.
const RETRY: Duration = Duration::from_millis(500);
/// How often the follower reads the whole set of active suspensions again.
pub const RESNAPSHOT: Duration = Duration::from_secs(5);
/// How long an event this replica made itself is kept ahead of the feed: the
/// follower reads it back well within this, unless the store lost it.
const OWN_KEPT_FOR: Duration = Duration::from_secs(5);
/// Longest a replica's view may differ from the store's after the store
/// lost its data: a snapshot's period plus the life of an own event.
pub const CONVERGENCE: Duration = Duration::from_secs(10);
/// Events a watcher may fall behind before it is dropped.
pub const WATCH_BACKLOG: usize = 1_024;

/// What the follower tells the watchers of this replica.
#[derive(Clone, Debug)]
pub enum News {
    /// The next event of the feed, in order.
    Event(Event),
    /// The follower moved on without reading the events between (its first
    /// snapshot, or the store's feed started over after losing its data): a
    /// watcher reads the store again from its own cursor.
    Gap,
}

/// The active suspensions and a fan-out of new events.
pub struct Feed {
    active: RwLock<Active>,
    news: broadcast::Sender<News>,
    /// Events this replica made and applied itself, newest last, with when:
    /// a snapshot read before one of them must not undo it.
    own: std::sync::Mutex<Vec<(Instant, Event)>>,
}

/// Own events kept for snapshots that cross them, at most.
const OWN_KEPT: usize = 256;

impl Default for Feed {
    fn default() -> Self {
        Self {
            active: RwLock::default(),
            news: broadcast::channel(WATCH_BACKLOG).0,
            own: Default::default(),
        }
    }
}

impl Feed {
    /// The org's oldest active suspension, if any.
    pub fn suspended(&self, org: &OrgId) -> Option<Suspension> {
        self.read().of(org).first().cloned()
    }

    /// The org's active suspensions, oldest first.
    pub fn suspensions_of(&self, org: &OrgId) -> Vec<Suspension> {
        self.read().of(org).to_vec()
    }

    /// Every active suspension this replica knows of.
    pub fn all(&self) -> Vec<Suspension> {
        self.read().all()
    }

    /// The newest event applied.
    pub fn last(&self) -> Cursor {
        self.read().last()
    }

    /// News from now on: every event the follower reads, in feed order.
    pub fn subscribe(&self) -> broadcast::Receiver<News> {
        self.news.subscribe()
    }

    /// Applies an event this replica made itself, so that its own callers see
    /// the change at once; the follower fans it out when the feed brings it.
    pub fn apply(&self, event: &Event) {
        let mut own = self.own.lock().unwrap_or_else(|p| p.into_inner());
        if own.len() == OWN_KEPT {
            own.remove(0);
        }
        own.push((Instant::now(), event.clone()));
        self.active
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .apply_ahead(event);
    }

    /// Installs a snapshot read at `last`, keeping this replica's own events
    /// made after it (the snapshot may have been read before them, and the
    /// follower brings them only once it reads on), unless they are older
    /// than [`OWN_KEPT_FOR`]: by then the store has them, or lost them.
    fn install(&self, suspensions: Vec<Suspension>, last: Cursor) {
        let mut own = self.own.lock().unwrap_or_else(|p| p.into_inner());
        own.retain(|(made, e)| e.cursor > last && made.elapsed() < OWN_KEPT_FOR);
        let mut active = Active::from_snapshot(suspensions, last);
        for (_, event) in own.iter() {
            active.apply_ahead(event);
        }
        *self.active.write().unwrap_or_else(|p| p.into_inner()) = active;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Active> {
        self.active.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Follows the store's feed until dropped: a snapshot, then every event
    /// after it, and a fresh snapshot every [`RESNAPSHOT`]. Events are read
    /// from where the follower stands, so none is skipped by a snapshot;
    /// when the store's feed stands before that (it lost its data), the
    /// follower starts over from it and tells the watchers. After a store
    /// failure it starts again from a fresh snapshot.
    pub async fn follow<S: QuotaStore>(self: Arc<Self>, store: Arc<S>) {
        let mut at: Option<Cursor> = None;
        loop {
            let (suspensions, snapshot_at) = match store.snapshot().await {
                Ok(snapshot) => snapshot,
                Err(e) => {
                    tracing::debug!(error = %e, "cannot read suspensions yet");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            self.install(suspensions, snapshot_at);
            let mut last = match at {
                Some(at) if at <= snapshot_at => at,
                Some(at) => {
                    tracing::warn!(
                        %at,
                        now = %snapshot_at,
                        "the store's suspension feed started over; following it afresh"
                    );
                    let _ = self.news.send(News::Gap);
                    snapshot_at
                }
                None => {
                    // Watchers that came before the first snapshot read the
                    // events up to it from the store.
                    let _ = self.news.send(News::Gap);
                    snapshot_at
                }
            };
            let taken = Instant::now();
            while taken.elapsed() < RESNAPSHOT {
                match store.wait_events(last, WAIT.min(RESNAPSHOT)).await {
                    Ok(events) => {
                        for event in events {
                            last = event.cursor;
                            self.active
                                .write()
                                .unwrap_or_else(|p| p.into_inner())
                                .apply(&event);
                            // No watcher is not an error.
                            let _ = self.news.send(News::Event(event));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "suspension feed interrupted");
                        tokio::time::sleep(RETRY).await;
                        break;
                    }
                }
            }
            at = Some(last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suspension::{EventKind, SuspensionReason};

    fn event(org: &str, ms: u64, kind: EventKind) -> Event {
        Event {
            cursor: Cursor { ms, seq: 0 },
            org: OrgId::parse(org).unwrap(),
            reason: SuspensionReason::SalesforceOrgLocked,
            kind,
            detail: String::new(),
            at_ms: ms as i64,
            automatic: false,
        }
    }

    #[test]
    fn a_snapshot_read_before_an_own_event_does_not_undo_it() {
        let feed = Feed::default();
        // This replica suspends globex (event 20); a snapshot read at 10,
        // before it, arrives afterwards.
        feed.apply(&event("globex", 20, EventKind::Suspended));
        feed.install(Vec::new(), Cursor { ms: 10, seq: 0 });
        assert_eq!(
            feed.suspensions_of(&OrgId::parse("globex").unwrap()).len(),
            1
        );
        // A snapshot read after it needs nothing kept.
        feed.install(Vec::new(), Cursor { ms: 30, seq: 0 });
        assert!(
            feed.suspensions_of(&OrgId::parse("globex").unwrap())
                .is_empty()
        );
    }

    #[test]
    fn an_own_event_the_store_lost_is_not_kept_for_ever() {
        let feed = Feed::default();
        feed.apply(&event("globex", 20, EventKind::Suspended));
        // The store lost its data: its snapshots stand at 0 from now on.
        let lost = Cursor::default();
        // Made long enough ago: the store would have it by now.
        feed.own.lock().unwrap()[0].0 -= OWN_KEPT_FOR;
        feed.install(Vec::new(), lost);
        assert!(feed.all().is_empty());
    }
}
