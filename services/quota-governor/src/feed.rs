//! One replica's view of every org's suspensions, kept in step with the
//! store's event feed by a follower task. Token requests are checked against
//! it without a store round trip, and watchers are fed from it.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::domain::OrgId;
use crate::store::QuotaStore;
use crate::suspension::{Active, Cursor, Event, Suspension};

/// How long one wait for new events lasts before it is asked again.
const WAIT: Duration = Duration::from_secs(5);
/// Pause after a store failure before following again.
const RETRY: Duration = Duration::from_millis(500);

/// The active suspensions and a fan-out of new events.
pub struct Feed {
    active: RwLock<Active>,
    events: broadcast::Sender<Event>,
    /// Events this replica made and applied itself, newest last: a snapshot
    /// read before one of them must not undo it.
    own: std::sync::Mutex<Vec<Event>>,
}

/// Own events kept for snapshots that cross them.
const OWN_KEPT: usize = 256;

impl Default for Feed {
    fn default() -> Self {
        Self {
            active: RwLock::default(),
            events: broadcast::channel(1_024).0,
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

    /// New events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Applies an event this replica made itself, so that its own callers see
    /// the change at once; the follower fans it out when the feed brings it.
    pub fn apply(&self, event: &Event) {
        let mut own = self.own.lock().unwrap_or_else(|p| p.into_inner());
        if own.len() == OWN_KEPT {
            own.remove(0);
        }
        own.push(event.clone());
        self.active
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .apply_ahead(event);
    }

    /// Installs a snapshot read at `last`, keeping this replica's own events
    /// made after it: the snapshot may have been read before them, and the
    /// follower brings them again only once it reads on.
    fn install(&self, suspensions: Vec<Suspension>, last: Cursor) {
        let mut own = self.own.lock().unwrap_or_else(|p| p.into_inner());
        own.retain(|e| e.cursor > last);
        let mut active = Active::from_snapshot(suspensions, last);
        for event in own.iter() {
            active.apply_ahead(event);
        }
        *self.active.write().unwrap_or_else(|p| p.into_inner()) = active;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Active> {
        self.active.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Follows the store's feed until dropped: a snapshot first, then every
    /// event after it. After a store failure it starts again from a fresh
    /// snapshot, so nothing that happened meanwhile is missed.
    pub async fn follow<S: QuotaStore>(self: Arc<Self>, store: Arc<S>) {
        loop {
            let (suspensions, mut last) = match store.snapshot().await {
                Ok(snapshot) => snapshot,
                Err(e) => {
                    tracing::debug!(error = %e, "cannot read suspensions yet");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            self.install(suspensions, last);
            loop {
                match store.wait_events(last, WAIT).await {
                    Ok(events) => {
                        for event in events {
                            last = event.cursor;
                            self.active
                                .write()
                                .unwrap_or_else(|p| p.into_inner())
                                .apply(&event);
                            // No watcher is not an error.
                            let _ = self.events.send(event);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "suspension feed interrupted");
                        tokio::time::sleep(RETRY).await;
                        break;
                    }
                }
            }
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
}
