//! The bound of one ListSuspensionHistory call, over real gRPC on a real
//! `redis-server`. The feed holds every org's events and has no index by
//! org, so a call reads at most `HISTORY_SCAN` (10 000) events of it; an
//! org whose events lie further apart gets a short (even empty) page with a
//! token that reads on. Here more than 10 000 other events lie between one
//! org's: a call stops at the bound, and paging on yields every one of the
//! org's events once, in order. (The same on the memory store, whose feed
//! only its API fills, is a unit test in `governor`.)

use quota_governor::config::Settings;
use quota_governor::governor::HISTORY_SCAN;
use syncgov_api::quota::v1 as pb;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_tests::Backend;
use syncgov_tests::governor::{Env, clear, suspend};

/// Puts `count` events of another org in the feed at once: straight into
/// the stream, in one pipeline, in the fields `suspend.lua` and
/// `clear.lua` write (the API would take 20 000 calls).
async fn others(env: &Env, count: usize) {
    let url = env.store.redis().expect("a single redis").url();
    let client = redis::Client::open(url).expect("a redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis");
    let reason = tx::SuspensionReason::SalesforceOrgLocked as i32;
    let mut pipe = redis::pipe();
    for i in 0..count {
        pipe.cmd("XADD")
            .arg("syncgov:quota:{susp}:events")
            .arg("*")
            .arg(&[("o", "other"), ("d", "")])
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
async fn a_history_call_stops_at_its_bound_and_its_token_reads_on() {
    let mut env = Env::start(Backend::Redis, Settings::default()).await;
    let c = &mut env.client;
    let locked = tx::SuspensionReason::SalesforceOrgLocked;
    // Oldest to newest: acme's first event; more than a call reads of
    // other orgs'; acme's second and third; again more than a call reads.
    let first = suspend(c, "acme", locked).await;
    assert!(first.created);
    others(&env, HISTORY_SCAN + 300).await;
    let c = &mut env.client;
    assert!(clear(c, "acme", locked).await);
    suspend(c, "acme", locked).await;
    others(&env, HISTORY_SCAN + 60).await;

    let every = pages(&mut env, 100).await;
    let events: Vec<&String> = every.iter().flat_map(|(page, _)| page).collect();
    assert_eq!(events.len(), 3, "each of acme's events once: {every:?}");
    // Newest first, never repeated: the cursors strictly decrease.
    let order: Vec<(u64, u64)> = events
        .iter()
        .map(|c| {
            let (ms, seq) = c.split_once('-').expect("a stream id");
            (ms.parse().unwrap(), seq.parse().unwrap())
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] > w[1]), "{order:?}");
    // The first call read its 10 000 events, all other orgs', and stopped
    // there with nothing found and a token; the second found acme's newer
    // two before its bound; the third read on to the oldest and the end.
    let shape: Vec<(usize, bool)> = every.iter().map(|(p, more)| (p.len(), *more)).collect();
    assert_eq!(shape, [(0, true), (2, true), (1, false)], "{every:?}");
    env.governor.shutdown().await;
}
