//! `loadgen floor`, the do-nothing server that `scripts/bench-governor
//! ratios` measures beside the governor: it answers both decision APIs with
//! a grant under the load generator, and nothing else.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_tests::{binary, channel, free_addr};

/// A floor server on a free loopback port, stopped when dropped.
struct Floor {
    child: Child,
    addr: std::net::SocketAddr,
}

impl Floor {
    fn start() -> Self {
        let addr = free_addr();
        let mut child = Command::new(binary("loadgen"))
            .args(["floor", "--listen", &addr.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("loadgen floor starts");
        // It says so once it listens.
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("its stdout"))
            .read_line(&mut line)
            .expect("a line from the floor server");
        assert!(line.starts_with("floor listening on"), "{line}");
        Self { child, addr }
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `loadgen acquire` against the floor over `api`, 200 calls.
fn acquire(floor: &Floor, api: &str) -> String {
    let out = Command::new(binary("loadgen"))
        .args(["acquire", "--api", api, "--addr"])
        .arg(format!("http://{}", floor.addr))
        .args(["--orgs", "3", "--concurrency", "4", "--requests", "200"])
        .args(["--duration", "10m", "--warmup", "0s"])
        .env_remove("SYNCGOV_TOKEN")
        .env_remove("SYNCGOV_TOKEN_FILE")
        .output()
        .expect("loadgen runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_floor_grants_every_call_of_both_apis() {
    let floor = Floor::start();
    for api in ["governor", "envoy"] {
        let out = acquire(&floor, api);
        assert!(out.contains("ok 200  denied 0  failed 0"), "{api}: {out}");
    }
}

#[tokio::test]
async fn the_floor_answers_other_methods_unimplemented() {
    let floor = Floor::start();
    let mut client = QuotaGovernorClient::new(channel(floor.addr).await);
    let status = client
        .get_budget(pb::GetBudgetRequest {
            org_id: "acme".into(),
            ..Default::default()
        })
        .await
        .expect_err("the floor decides, and does nothing else");
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
}
