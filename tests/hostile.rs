//! The governor against callers that are hostile or buggy, over real gRPC,
//! on every store (memory, a real `redis-server` with two replicas sharing
//! it, and a local Redis Cluster with two replicas): forged and replayed
//! grant ids, times far in the future, and the other ways a caller might
//! make the governor grant more than the allocation. Each test is one way
//! to break a promise, and shows it holds.

use quota_governor::config::Settings;
use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::governor::{acquire, budget, lease, release, set_budget, stream_of, usage};
use syncgov_tests::{Backend, Service, Store, on_every_store};
use tonic::transport::Channel;

on_every_store!(
    forged_and_replayed_grant_ids_hand_back_nothing,
    lease_and_stream_grants_are_released_once_by_their_org_only,
);

/// The governors a test calls in turn: one on memory, two replicas
/// sharing the Redis or the cluster otherwise, so that a release may land
/// on a replica that did not make the grant.
struct Replicas {
    clients: Vec<QuotaGovernorClient<Channel>>,
    _governors: Vec<Service>,
    _store: Store,
}

impl Replicas {
    async fn start(backend: Backend) -> Self {
        let store = backend.start();
        let count = match backend {
            Backend::Memory => 1,
            Backend::Redis | Backend::Cluster => 2,
        };
        let mut governors = Vec::new();
        let mut clients = Vec::new();
        for _ in 0..count {
            let governor = Service::governor(Settings {
                server: ServerSettings {
                    redis_url: store.redis_url(),
                    redis_cluster_nodes: store.cluster_nodes(),
                    ..ServerSettings::default()
                },
                ..Settings::default()
            })
            .await;
            clients.push(QuotaGovernorClient::new(governor.channel().await));
            governors.push(governor);
        }
        Self {
            clients,
            _governors: governors,
            _store: store,
        }
    }

    /// The client of call `i`: the replicas in turn.
    fn at(&self, i: usize) -> QuotaGovernorClient<Channel> {
        self.clients[i % self.clients.len()].clone()
    }
}

/// With an allocation of 1 000, a worker holds 950 and sends back ids it
/// made up, altered or took from another org, then replays its real one:
/// nothing is handed back but the real grant's unused tokens, once, and
/// `used` always equals what is held. (Before grant ids were signed, this
/// loop granted 5 700 of an allocation of 1 000 with `used` at 0.)
async fn forged_and_replayed_grant_ids_hand_back_nothing(backend: Backend) {
    let governors = Replicas::start(backend).await;
    set_budget(&mut governors.at(0), "acme", budget(2_000, 1_000)).await;
    set_budget(&mut governors.at(0), "globex", budget(2_000, 1_000)).await;
    let held = acquire(&mut governors.at(0), "acme", 950, pb::Priority::Critical).await;
    assert!(held.granted, "{held:?}");
    let theirs = acquire(&mut governors.at(1), "globex", 10, pb::Priority::Critical).await;
    assert!(theirs.granted, "{theirs:?}");

    let parts: Vec<&str> = held.grant_id.split('.').collect();
    let [version, bucket, count, nonce, tag] = parts.as_slice() else {
        panic!("a grant id of five parts: {}", held.grant_id);
    };
    assert_eq!((*version, *count), ("g3", "950"));
    let flip = |text: &str| {
        let last = if text.ends_with('0') { "1" } else { "0" };
        format!("{}{last}", &text[..text.len() - 1])
    };
    let forged = [
        // The forms of earlier versions, which carried no signature.
        format!("g1.{bucket}.950"),
        format!("g2.{bucket}.950.abcdef"),
        // The real id with its tag, its count, its nonce or its bucket
        // changed.
        flip(&held.grant_id),
        format!("g3.{bucket}.999.{nonce}.{tag}"),
        format!("g3.{bucket}.950.{}.{tag}", flip(nonce)),
        format!(
            "g3.{}.950.{nonce}.{tag}",
            bucket.parse::<i64>().unwrap() - 60_000
        ),
        // Another org's real id.
        theirs.grant_id.clone(),
    ];
    for (i, id) in forged.iter().enumerate() {
        let r = release(&mut governors.at(i), "acme", id, 950).await;
        assert_eq!(r.outcome(), pb::ReleaseOutcome::UnknownGrant, "{id}");
        assert_eq!((r.released, r.used), (0, 950), "{id}");
        let again = acquire(
            &mut governors.at(i + 1),
            "acme",
            950,
            pb::Priority::Critical,
        )
        .await;
        assert!(!again.granted, "granted again after releasing {id}");
        assert_eq!(usage(&mut governors.at(i), "acme").await.used, 950, "{id}");
    }
    assert_eq!(usage(&mut governors.at(0), "globex").await.used, 10);

    // The real id hands back its unused tokens once, on whichever replica.
    let r = release(&mut governors.at(1), "acme", &held.grant_id, 900).await;
    assert_eq!(r.outcome(), pb::ReleaseOutcome::Released);
    assert_eq!((r.released, r.used), (900, 50));
    for i in 0..3 {
        let r = release(&mut governors.at(i), "acme", &held.grant_id, 900).await;
        assert_eq!(
            r.outcome(),
            pb::ReleaseOutcome::AlreadyReleased,
            "replay {i}"
        );
        assert_eq!((r.released, r.used), (0, 50), "replay {i}");
    }
    // What is held is what counts: 950 fit again, and not one more.
    assert!(
        acquire(&mut governors.at(0), "acme", 950, pb::Priority::Critical)
            .await
            .granted
    );
    assert!(
        !acquire(&mut governors.at(1), "acme", 1, pb::Priority::Critical)
            .await
            .granted
    );
    assert_eq!(usage(&mut governors.at(0), "acme").await.used, 1_000);
}

/// Leases and streamed grants carry the same signed ids: each is released
/// once, by its own org only.
async fn lease_and_stream_grants_are_released_once_by_their_org_only(backend: Backend) {
    let governors = Replicas::start(backend).await;
    set_budget(&mut governors.at(0), "acme", budget(2_000, 100)).await;
    set_budget(&mut governors.at(0), "globex", budget(2_000, 100)).await;

    let leased = lease(&mut governors.at(0), "acme", 10, 80).await;
    assert_eq!(leased.granted_count, 80, "{leased:?}");
    let streamed = {
        let ask = pb::AcquireTokensRequest {
            org_id: "acme".into(),
            count: 20,
            priority: pb::Priority::Critical.into(),
            ..Default::default()
        };
        let (replies, end) = stream_of(&mut governors.at(1), vec![ask]).await;
        assert!(end.is_none(), "{end:?}");
        replies.into_iter().next().expect("one reply")
    };
    assert!(streamed.granted, "{streamed:?}");

    for id in [&leased.grant_id, &streamed.grant_id] {
        // Another org cannot spend them.
        let r = release(&mut governors.at(0), "globex", id, 20).await;
        assert_eq!(r.outcome(), pb::ReleaseOutcome::UnknownGrant);
        assert_eq!(r.released, 0);
    }
    let r = release(&mut governors.at(1), "acme", &leased.grant_id, 70).await;
    assert_eq!((r.released, r.used), (70, 30));
    let r = release(&mut governors.at(0), "acme", &streamed.grant_id, 20).await;
    assert_eq!((r.released, r.used), (20, 10));
    for id in [&leased.grant_id, &streamed.grant_id] {
        let r = release(&mut governors.at(1), "acme", id, 20).await;
        assert_eq!(r.outcome(), pb::ReleaseOutcome::AlreadyReleased);
        assert_eq!((r.released, r.used), (0, 10));
    }
    assert!(
        acquire(&mut governors.at(0), "acme", 90, pb::Priority::Critical)
            .await
            .granted
    );
    assert!(
        !acquire(&mut governors.at(1), "acme", 1, pb::Priority::Critical)
            .await
            .granted
    );
}
