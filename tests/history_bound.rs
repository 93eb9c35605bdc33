//! ListSuspensionHistory among many other orgs' events, over real gRPC on
//! a real `redis-server`. Each org's events are also kept in a stream of
//! its own, so a page of its history is one read however many other events
//! lie between. Events written before those streams existed are only in the
//! feed every org shares: there a call reads at most `HISTORY_SCAN`
//! (10 000) events of it, and an org whose events lie further apart gets a
//! short (even empty) page with a token that reads on. Here more than
//! 10 000 other events lie between one org's: paging yields every one of
//! the org's events once, in order, whichever way they were written. (The
//! bound on the memory store, which reads its feed in memory, is a unit
//! test in `governor`.)

use quota_governor::config::Settings;
use quota_governor::governor::HISTORY_SCAN;
use syncgov_api::quota::v1 as pb;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_tests::Backend;
use syncgov_tests::governor::{Env, clear, suspend};

/// Puts `count` events of `org` in the feed at once: straight into the
/// stream, in one pipeline, in the fields `suspend.lua` and `clear.lua`
/// write, as a version before the orgs' own streams wrote them (the API
/// would take 20 000 calls, and would index them).
async fn unindexed(env: &Env, org: &str, count: usize) {
    let url = env.store.redis().expect("a single redis").url();
    let client = redis::Client::open(url).expect("a redis url");
    // Ten thousand writes in one pipeline outlast the client's default
    // half-second wait for an answer on a busy two-core machine.
    let config = redis::AsyncConnectionConfig::new()
        .set_response_timeout(Some(std::time::Duration::from_secs(60)));
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .expect("connect to redis");
    let reason = tx::SuspensionReason::SalesforceOrgLocked as i32;
    let mut pipe = redis::pipe();
    for i in 0..count {
        pipe.cmd("XADD")
            .arg("syncgov:quota:{susp}:events")
            .arg("*")
            .arg(&[("o", org), ("d", "")])
            .arg("r")
            .arg(reason)
            // Suspended, cleared, suspended...
            .arg("k")
            .arg(1 + i % 2)
            .arg("at")
            .arg(1_700_000_000_000_i64 + i as i64)
            .arg("a")
            .arg(0)
            .ignore();
    }
    let () = pipe.query_async(&mut conn).await.expect("XADD the events");
}

/// Other orgs' events, `count` of them.
async fn others(env: &Env, count: usize) {
    unindexed(env, "other", count).await;
}

/// The cursors of every page, as `(ms, seq)`, in the order read.
fn in_order(every: &[(Vec<String>, bool)]) -> Vec<(u64, u64)> {
    every
        .iter()
        .flat_map(|(page, _)| page)
        .map(|c| {
            let (ms, seq) = c.split_once('-').expect("a stream id");
            (ms.parse().unwrap(), seq.parse().unwrap())
        })
        .collect()
}

/// Pages through acme's history `page_size` events at a time: each page's
/// events (cursors) and whether it came with a token.
async fn pages(env: &mut Env, page_size: u32) -> Vec<(Vec<String>, bool)> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let reply = env
            .client
            .list_suspension_history(pb::ListSuspensionHistoryRequest {
                org_id: "acme".into(),
                page_size,
                page_token: token,
            })
            .await
            .expect("ListSuspensionHistory")
            .into_inner();
        assert!(reply.events.iter().all(|e| e.org_id == "acme"));
        let cursors = reply.events.iter().map(|e| e.cursor.clone()).collect();
        token = reply.next_page_token;
        all.push((cursors, !token.is_empty()));
        if token.is_empty() {
            return all;
        }
        assert!(all.len() < 10, "paging ends");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orgs_own_stream_answers_in_one_call_among_many_other_events() {
    let mut env = Env::start(Backend::Redis, Settings::default()).await;
    let c = &mut env.client;
    let locked = tx::SuspensionReason::SalesforceOrgLocked;
    // Oldest to newest: acme's first event; more than a scan reads of
    // other orgs'; acme's second and third; again more than a scan reads.
    assert!(suspend(c, "acme", locked).await.created);
    others(&env, HISTORY_SCAN + 300).await;
    let c = &mut env.client;
    assert!(clear(c, "acme", locked).await);
    suspend(c, "acme", locked).await;
    others(&env, HISTORY_SCAN + 60).await;

    let every = pages(&mut env, 100).await;
    let shape: Vec<(usize, bool)> = every.iter().map(|(p, more)| (p.len(), *more)).collect();
    assert_eq!(shape, [(3, false)], "one call, every event: {every:?}");
    let order = in_order(&every);
    assert!(order.windows(2).all(|w| w[0] > w[1]), "{order:?}");
    // A page of one at a time reads the same three, each once.
    let one_by_one = pages(&mut env, 1).await;
    assert_eq!(in_order(&one_by_one), order, "{one_by_one:?}");
    env.governor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_from_before_the_orgs_own_streams_are_read_from_the_feed_once() {
    let mut env = Env::start(Backend::Redis, Settings::default()).await;
    // acme's oldest event was written by an earlier version; the others
    // through the API, after more than a scan reads of other events.
    unindexed(&env, "acme", 1).await;
    others(&env, 500).await;
    let c = &mut env.client;
    let locked = tx::SuspensionReason::SalesforceOrgLocked;
    assert!(suspend(c, "acme", locked).await.created);
    others(&env, HISTORY_SCAN + 300).await;
    let c = &mut env.client;
    assert!(clear(c, "acme", locked).await);

    for page_size in [100, 2, 1] {
        let every = pages(&mut env, page_size).await;
        let order = in_order(&every);
        assert_eq!(order.len(), 3, "page size {page_size}: {every:?}");
        assert!(order.windows(2).all(|w| w[0] > w[1]), "{order:?}");
        assert!(!every.last().expect("a page").1, "the last page ends it");
    }
    env.governor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_call_over_the_feed_stops_at_its_bound_and_its_token_reads_on() {
    let mut env = Env::start(Backend::Redis, Settings::default()).await;
    // Every event as an earlier version wrote it: the feed alone. Oldest
    // to newest: acme's first event; more than a call reads of other
    // orgs'; acme's second and third; again more than a call reads.
    unindexed(&env, "acme", 1).await;
    others(&env, HISTORY_SCAN + 300).await;
    unindexed(&env, "acme", 2).await;
    others(&env, HISTORY_SCAN + 60).await;

    let every = pages(&mut env, 100).await;
    let order = in_order(&every);
    assert_eq!(order.len(), 3, "each of acme's events once: {every:?}");
    // Newest first, never repeated: the cursors strictly decrease.
    assert!(order.windows(2).all(|w| w[0] > w[1]), "{order:?}");
    // The first call read its 10 000 events, all other orgs', and stopped
    // there with nothing found and a token; the second found acme's newer
    // two before its bound; the third read on to the oldest and the end.
    let shape: Vec<(usize, bool)> = every.iter().map(|(p, more)| (p.len(), *more)).collect();
    assert_eq!(shape, [(0, true), (2, true), (1, false)], "{every:?}");
    env.governor.shutdown().await;
}
