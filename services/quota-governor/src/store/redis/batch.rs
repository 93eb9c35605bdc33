//! Coalesced decisions: the decisions that reach this replica at the same
//! time go to Redis in one script call (`acquire_many.lua`), decided there
//! one after the other in arrival order: as exact as deciding them one by
//! one, for a fraction of the round trips.
//!
//! Whatever is waiting when a batch starts goes in it, up to [`MAX_BATCH`].
//! On a Redis Cluster one script call may only touch keys of one slot, so a
//! batch is split by the slot of its orgs (an org's keys share one), and
//! the parts go to their masters at the same time: decisions of one org
//! stay in arrival order, in one part.

use std::sync::{Arc, OnceLock};

use redis::Script;
use redis::cluster_routing::Slot;
use syncgov_kit::store::{from_redis, redis_span};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::call::ScriptCall;
use super::decode;
use super::keys;
use crate::consumers::{CONSUMER_CAP, Consumer};
use crate::domain::{Ask, Budget, Decision, Priority};
use crate::store::conn::{Durability, Redis};
use crate::store::{BudgetKey, Clock, StoreError};
use crate::window::WindowShape;

/// Most decisions in one batch.
const MAX_BATCH: usize = 256;
/// Batches in flight at once: enough to keep Redis busy while a reply
/// travels, few enough that a slow Redis is not buried.
const BATCHES_IN_FLIGHT: usize = 4;

/// A decision waiting for the next batch.
struct Asked {
    key: BudgetKey,
    ask: Ask,
    priority: Priority,
    /// The consumer's stored name.
    consumer: String,
    fallback: Option<Budget>,
    reply: oneshot::Sender<Result<Decision, StoreError>>,
}

/// The batcher of one store: a queue into a task started on first use.
pub struct Batches {
    sender: OnceLock<mpsc::UnboundedSender<Asked>>,
    conn: Redis,
    script: Arc<Script>,
    shape: WindowShape,
    margin: u8,
    durability: Option<Durability>,
    clock: Clock,
}

impl Batches {
    /// A batcher sending `script` (acquire_many.lua) over `conn`; with
    /// `durability`, a batch's grants are answered once that many replicas
    /// have them; `clock` is the store's.
    pub fn new(
        conn: Redis,
        script: Script,
        shape: WindowShape,
        margin: u8,
        durability: Option<Durability>,
        clock: Clock,
    ) -> Self {
        Self {
            sender: OnceLock::new(),
            conn,
            script: Arc::new(script),
            shape,
            margin,
            durability,
            clock,
        }
    }

    /// Decides one request in the next batch.
    pub async fn decide(
        &self,
        key: &BudgetKey,
        ask: Ask,
        priority: Priority,
        consumer: &Consumer,
        fallback: Option<&Budget>,
    ) -> Result<Decision, StoreError> {
        let (reply, answer) = oneshot::channel();
        let asked = Asked {
            key: key.clone(),
            ask,
            priority,
            consumer: consumer.stored(),
            fallback: fallback.copied(),
            reply,
        };
        self.sender()
            .send(asked)
            .map_err(|_| StoreError::Unavailable("the batcher stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the batch was dropped".into()))?
    }

    /// The queue into the batcher, started on first use (inside the runtime).
    fn sender(&self) -> &mpsc::UnboundedSender<Asked> {
        self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(batch_loop(
                rx,
                self.conn.clone(),
                self.script.clone(),
                Params {
                    shape: self.shape,
                    names: Arc::new(keys::ShapeNames::new(&self.shape)),
                    margin: self.margin,
                    durability: self.durability,
                    clock: self.clock.clone(),
                },
            ));
            tx
        })
    }
}

/// What every batch of a store is decided with.
#[derive(Clone)]
struct Params {
    shape: WindowShape,
    /// The ends of the keys that name the shape, formatted once.
    names: Arc<keys::ShapeNames>,
    margin: u8,
    durability: Option<Durability>,
    clock: Clock,
}

async fn batch_loop(
    mut asked: mpsc::UnboundedReceiver<Asked>,
    conn: Redis,
    script: Arc<Script>,
    params: Params,
) {
    let in_flight = Arc::new(tokio::sync::Semaphore::new(BATCHES_IN_FLIGHT));
    let cluster = conn.is_cluster();
    while let Some(first) = asked.recv().await {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        // Whatever else is waiting now joins, up to the bound.
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match asked.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (conn, script, params) = (conn.clone(), script.clone(), params.clone());
        tokio::spawn(async move {
            // One script call per default budget (an argument of the call)
            // and, on a cluster, per slot.
            let mut groups: Vec<(Option<Slot>, Vec<Asked>)> = Vec::new();
            for asked in batch {
                let slot = cluster.then(|| Slot::for_key(keys::budget(&asked.key)));
                match groups
                    .iter_mut()
                    .find(|(s, g)| *s == slot && g[0].fallback == asked.fallback)
                {
                    Some((_, group)) => group.push(asked),
                    None => groups.push((slot, vec![asked])),
                }
            }
            if cluster && groups.len() > 1 {
                let mut parts = tokio::task::JoinSet::new();
                for (_, group) in groups {
                    let (conn, script, params) = (conn.clone(), script.clone(), params.clone());
                    parts.spawn(async move {
                        run_batch(&conn, &script, params, group).await;
                    });
                }
                while parts.join_next().await.is_some() {}
            } else {
                for (_, group) in groups {
                    run_batch(&conn, &script, params.clone(), group).await;
                }
            }
            drop(permit);
        });
    }
}

async fn run_batch(conn: &Redis, script: &Script, params: Params, batch: Vec<Asked>) {
    let Params {
        ref shape,
        ref names,
        margin,
        durability,
        ref clock,
    } = params;
    let mut call = ScriptCall::new(script, 4 * batch.len());
    for asked in &batch {
        call.arg(keys::DecisionKeys::new(&asked.key, names));
    }
    call.arg(shape.bucket_ms())
        .arg(shape.ring_len())
        .arg(margin);
    let fallback = decode::fallback_args(batch[0].fallback.as_ref());
    if fallback.is_empty() {
        call.arg(&["", "", "", "", ""]);
    } else {
        call.arg(fallback);
    }
    call.arg(CONSUMER_CAP);
    for asked in &batch {
        call.arg(asked.ask.count)
            .arg(asked.ask.min)
            .arg(super::priority_arg(asked.priority))
            .arg(&asked.consumer);
    }
    // A clock a test set goes last (nothing, with the store's own).
    call.arg(clock.set_ms());
    let reply: Result<Vec<i64>, _> = call
        .invoke(&mut conn.clone())
        .instrument(redis_span("EVALSHA", "acquire_many"))
        .await;
    match reply.map(|numbers| decode::decisions(&numbers, batch.len())) {
        Ok(Ok(decisions)) => {
            // One wait covers the batch: its writes went in one call.
            let granted = decisions.iter().any(Decision::granted);
            let unacknowledged = match durability {
                Some(durability) if granted => conn
                    .wait_for_replicas(
                        &keys::budget(&batch[0].key),
                        durability.replicas,
                        durability.timeout,
                    )
                    .await
                    .err(),
                _ => None,
            };
            for (asked, decision) in batch.into_iter().zip(decisions) {
                let answer = match &unacknowledged {
                    Some(StoreError::Unavailable(why)) if decision.granted() => {
                        Err(StoreError::Unavailable(why.clone()))
                    }
                    Some(e) if decision.granted() => Err(StoreError::Corrupt(e.to_string())),
                    _ => Ok(decision),
                };
                let _ = asked.reply.send(answer);
            }
        }
        Ok(Err(unreadable)) => {
            let what = match unreadable {
                StoreError::Corrupt(what) => what,
                other => other.to_string(),
            };
            for asked in batch {
                let _ = asked.reply.send(Err(StoreError::Corrupt(what.clone())));
            }
        }
        Err(e) => {
            let message = e.to_string();
            let unavailable = matches!(from_redis(e), StoreError::Unavailable(_));
            for asked in batch {
                let error = if unavailable {
                    StoreError::Unavailable(message.clone())
                } else {
                    StoreError::Corrupt(message.clone())
                };
                let _ = asked.reply.send(Err(error));
            }
        }
    }
}
