//! The real `weir` binary as a separate process (`target/debug/weir`, built by
//! `make unit`), with the addresses it logs once its listeners are bound.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::tools;

/// How long a `weir` process may take to bind its listeners.
const LIMIT: Duration = Duration::from_secs(60);

/// A `weir` process, killed when dropped.
pub struct Weir(pub Child);

impl Drop for Weir {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// Starts `target/debug/weir args` and returns it with the addresses its start-up line
/// names (the readiness signal: it is logged once every listener is bound).
pub async fn weir(args: &[&str]) -> (Weir, Vec<SocketAddr>) {
    let bin = tools::repo().join("target/debug/weir");
    let mut child = Command::new(&bin)
        .args(args)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (`make test` builds it)", bin.display()));
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let ready = async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("weir origin:") || line.contains("weir edge:") {
                return line;
            }
        }
        panic!("weir exited before it was ready");
    };
    let line = tokio::time::timeout(LIMIT, ready)
        .await
        .expect("weir ready");
    // Keep reading its log so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let addrs = line
        .split("http://")
        .skip(1)
        .filter_map(|s| s.split('/').next()?.parse().ok())
        .collect();
    (Weir(child), addrs)
}
