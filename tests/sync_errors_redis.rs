//! What only a real Redis shows of the sync-error service: replicas and
//! workers sharing one Redis never hand a resync job to two workers and
//! lose none; jobs an earlier version queued are still claimed; Redis going
//! away is `UNAVAILABLE`, acknowledges nothing, and the service recovers
//! with what was acknowledged before.

use std::collections::HashSet;

use sync_errors::config::Settings;
use syncgov_api::syncerrors::v1 as pb;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::PATIENCE;
use syncgov_tests::outage::{self, RedisOutage};
use syncgov_tests::syncerrors::{claim, complete, failure, health_of, ingest, resync};
use syncgov_tests::{RedisServer, Service, eventually};
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_and_workers_never_share_a_job_and_lose_none() {
    let redis = RedisServer::start();
    let settings = || Settings {
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            ..ServerSettings::default()
        },
        ..Settings::default()
    };
    let replicas = [
        Service::sync_errors(settings()).await,
        Service::sync_errors(settings()).await,
    ];
    let mut admin = SyncErrorsClient::new(replicas[0].channel().await);
    let mut ids = Vec::new();
    for org in ["acme", "globex", "initech", "umbrella"] {
        let failures = (0..25)
            .map(|i| failure(&format!("k{i}"), "Contact", &format!("c{i}"), "too_long"))
            .collect();
        let batch: Vec<String> = ingest(&mut admin, org, failures)
            .await
            .into_iter()
            .map(|r| r.error_id)
            .collect();
        assert!(
            resync(&mut admin, org, batch.clone())
                .await
                .iter()
                .all(|q| !q.job_id.is_empty())
        );
        ids.extend(batch.into_iter().map(|id| format!("{org}/{id}")));
    }

    let mut workers = Vec::new();
    for w in 0..4 {
        let channel = replicas[w % 2].channel().await;
        workers.push(tokio::spawn(async move {
            let mut c = SyncErrorsClient::new(channel);
            let mut done = Vec::new();
            loop {
                let jobs = claim(&mut c, &format!("w{w}"), 7, 30_000).await;
                if jobs.is_empty() {
                    return done;
                }
                for job in jobs {
                    assert_eq!(
                        complete(&mut c, &job, true).await.unwrap().state,
                        pb::ErrorState::Resolved as i32
                    );
                    done.push(job.job_id);
                }
            }
        }));
    }
    let mut done = Vec::new();
    for worker in workers {
        done.extend(worker.await.unwrap());
    }
    let distinct: HashSet<&String> = done.iter().collect();
    assert_eq!(
        distinct.len(),
        done.len(),
        "a job was handed to two workers"
    );
    assert_eq!(
        distinct,
        ids.iter().collect::<HashSet<_>>(),
        "every job was done"
    );
    for org in ["acme", "globex", "initech", "umbrella"] {
        assert_eq!(health_of(&mut admin, org).await.current_errors, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_is_unavailable_and_nothing_is_acknowledged() {
    let mut redis = RedisServer::start_with(true);
    let settings = Settings {
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            health_interval: outage::HEALTH_INTERVAL,
            redis_timeout: outage::REDIS_TIMEOUT,
            ..ServerSettings::default()
        },
        ..Settings::default()
    };
    let service = Service::sync_errors(settings).await;
    let mut c = SyncErrorsClient::new(service.channel().await);
    ingest(
        &mut c,
        "acme",
        vec![failure("k1", "Contact", "c1", "email")],
    )
    .await;

    let mut outage = RedisOutage::new(&mut redis, service.addr(), sync_errors::app::SERVICE_NAME);
    outage.kill();
    let err = c
        .ingest_errors(pb::IngestErrorsRequest {
            org_id: "acme".into(),
            failures: vec![failure("k2", "Contact", "c2", "email")],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    outage.until_not_serving().await;

    outage.restart();
    outage.until_serving().await;
    // The refused batch is sent again, as a client would: stored once.
    let retried = eventually(PATIENCE, || {
        let mut c = c.clone();
        async move {
            c.ingest_errors(pb::IngestErrorsRequest {
                org_id: "acme".into(),
                failures: vec![failure("k2", "Contact", "c2", "email")],
            })
            .await
            .is_ok()
        }
    })
    .await;
    assert!(retried);
    assert_eq!(
        health_of(&mut c, "acme").await.current_errors,
        2,
        "the first batch survived in the AOF"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_an_earlier_version_queued_are_still_claimed() {
    let redis = RedisServer::start();
    let service = Service::sync_errors(Settings {
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            ..ServerSettings::default()
        },
        ..Settings::default()
    })
    .await;
    let mut c = SyncErrorsClient::new(service.channel().await);
    let ids: Vec<String> = ingest(
        &mut c,
        "acme",
        (0..3)
            .map(|i| failure(&format!("k{i}"), "Contact", &format!("c{i}"), "too_long"))
            .collect(),
    )
    .await
    .into_iter()
    .map(|r| r.error_id)
    .collect();
    resync(&mut c, "acme", ids.clone()).await;
    // Where an earlier version kept them: one ready set per shard, for
    // every org of the shard, and no line of orgs.
    let org = syncgov_kit::input::OrgId::parse("acme").unwrap();
    let shard = sync_errors::store::redis::RedisStore::queue_keys(&org);
    let mut conn = redis.client().get_connection().unwrap();
    let pointers: Vec<String> = redis::cmd("ZRANGE")
        .arg(shard.ready(&org))
        .arg(0)
        .arg(-1)
        .query(&mut conn)
        .unwrap();
    assert_eq!(pointers.len(), 3);
    redis::pipe()
        .del(shard.ready(&org))
        .del(&shard.turns)
        .del(&shard.parked)
        .zadd_multiple(
            &shard.legacy_ready,
            &pointers.iter().map(|p| (0, p.as_str())).collect::<Vec<_>>(),
        )
        .exec(&mut conn)
        .unwrap();

    let mut done = HashSet::new();
    loop {
        let jobs = claim(&mut c, "w1", 2, 30_000).await;
        if jobs.is_empty() {
            break;
        }
        for job in jobs {
            assert!(done.insert(job.error_id.clone()), "{} twice", job.error_id);
            complete(&mut c, &job, true).await.expect("completes");
        }
    }
    assert_eq!(done, ids.into_iter().collect::<HashSet<_>>());
    let left: Vec<String> = redis::cmd("KEYS")
        .arg("syncgov:resync:*")
        .query(&mut conn)
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}
