//! bench-edge-cache: 1,000 concurrent viewers of one live channel through a cache in
//! front of a separate `weir origin` fed by real ffmpeg: 500 LL-HLS viewers (a blocking
//! reload and the preload-hinted part at each step) and 500 LL-DASH viewers (each
//! growing segment, streamed while the origin writes it). The same viewers run against
//! `weir edge`, Varnish (Debian's, streaming and collapsing: `do_stream`, its waiting
//! list) and nginx (`proxy_cache_lock`) in front of the same origin, in the same run.
//!
//! Per cache: origin requests (from the origin's own `weir_requests_total`) against
//! viewer requests (the offload), and how late each viewer gets each object compared
//! with the first viewer that got it: first byte (the herd's time to first byte) and
//! last byte (the end of a growing segment), p50 / p99 / max. For `weir edge` also its
//! own account (its `/metrics` delivery-lag histogram): how long after the edge got
//! each chunk it handed it to each viewer. It fails unless every object reached the
//! origin exactly once and that p99 is within 5 ms.
//!
//! Needs: target/release/weir (`make build`), the component (`make edge`), ffmpeg,
//! varnish and nginx (`scripts/setup.sh --bench`). Usage:
//! `bench-edge-cache [SECONDS] [VIEWERS PER PROTOCOL] [weir-only] [hls-only | dash-only]`.
//!
//! For `weir edge` it also prints the CPU time the edge process and the bench's own
//! viewers used during the run (`/proc/PID/stat`), per chunk delivery: what bounds the
//! fan-out on a machine whose cores run the encoder, origin, edge and viewers at once.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use weir_tests::bench::{cpu_seconds, scratch};

const ORIGIN: u16 = 19680;
const INGEST: u16 = 19681;
const EDGE: u16 = 19682;
const VARNISH: u16 = 19683;
const NGINX: u16 = 19684;
/// Viewers of each protocol (the second argument overrides it).
const VIEWERS: usize = 500;
/// weir edge's bound on how much later than the first viewer any viewer gets a byte.
const MAX_P99_LAG_MS: f64 = 5.0;

type Http = Client<HttpConnector, Empty<Bytes>>;

/// When one viewer got one object: request sent, first body byte, last byte.
#[derive(Debug, Clone, Copy)]
struct Got {
    first: Instant,
    last: Instant,
}

/// What all viewers of one run saw: per object URL, each viewer's [`Got`].
#[derive(Default)]
struct Seen {
    objects: Mutex<HashMap<String, Vec<Got>>>,
    requests: std::sync::atomic::AtomicU64,
    errors: Mutex<Vec<String>>,
}

impl Seen {
    fn record(&self, url: &str, got: Got) {
        self.objects
            .lock()
            .expect("seen")
            .entry(url.to_string())
            .or_default()
            .push(got);
    }

    fn request(&self) {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn error(&self, e: String) {
        let mut v = self.errors.lock().expect("errors");
        if v.len() < 10 {
            v.push(e);
        }
    }
}

fn main() -> std::process::ExitCode {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // Every process the bench started is dropped (killed) before it exits.
    if rt.block_on(bench()) {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// The runs; false when weir edge missed its bounds.
async fn bench() -> bool {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let viewers: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(VIEWERS);
    let flags: Vec<String> = std::env::args().skip(3).collect();
    let flag = |f: &str| flags.iter().any(|a| a == f);
    let weir_only = flag("weir-only");
    // Viewers of one protocol only (the other count is zero).
    let counts = (
        if flag("dash-only") { 0 } else { viewers },
        if flag("hls-only") { 0 } else { viewers },
    );
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let _origin = Proc::spawn(
        Command::new(repo.join("target/release/weir")).args([
            "origin",
            "--listen",
            &format!("127.0.0.1:{ORIGIN}"),
            "--ingest",
            &format!("127.0.0.1:{INGEST}"),
        ]),
        ORIGIN,
    );
    let _encoder = encoder(INGEST, seconds as u32 * 3 + 60);
    let origin: SocketAddr = ([127, 0, 0, 1], ORIGIN).into();
    let http: Http = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(4096)
        .build_http();
    wait_live(&http, origin).await;
    let spin = repo.join("spin.toml");
    let edge = Proc::spawn(
        Command::new(repo.join("target/release/weir")).args([
            "edge",
            "--listen",
            &format!("127.0.0.1:{EDGE}"),
            "--spin",
            &spin.display().to_string(),
            "--env",
            &format!("WEIR_ORIGIN=http://{origin}"),
            "--allow",
            &format!("http://{origin}"),
        ]),
        EDGE,
    );
    let (_varnish, varnish) = Varnish::start(VARNISH, ORIGIN);
    let (_nginx, nginx) = Nginx::start(NGINX, ORIGIN);
    println!(
        "bench-edge-cache: {} LL-HLS + {} LL-DASH viewers, {seconds} s each, one live channel (ffmpeg, 2 renditions + audio) at a separate `weir origin`:",
        counts.0, counts.1
    );
    let mut failed = false;
    for (name, port) in [
        ("weir edge", Some(EDGE)),
        ("Varnish (do_stream, waiting list)", varnish),
        ("nginx (proxy_cache_lock)", nginx),
    ] {
        let Some(port) = port else {
            println!("  {name:<36} not installed (scripts/setup.sh --bench)");
            continue;
        };
        if weir_only && port != EDGE {
            continue;
        }
        let edge_before = edge_lag(&http).await;
        let cpu = |pid: u32| cpu_seconds(&pid.to_string()).unwrap_or(0.0);
        let cpu_before = (cpu(edge.0.id()), cpu(std::process::id()));
        let r = run(
            &http,
            origin,
            ([127, 0, 0, 1], port).into(),
            (seconds, counts),
        )
        .await;
        let cpu = (
            cpu(edge.0.id()) - cpu_before.0,
            cpu(std::process::id()) - cpu_before.1,
        );
        r.print(name);
        if port == EDGE {
            // The edge's own account: each chunk handed to each viewer, by how long
            // after the edge got it (its /metrics histogram, this run's share).
            let after = edge_lag(&http).await;
            let delta: Vec<u64> = after.iter().zip(&edge_before).map(|(a, b)| a - b).collect();
            let q = |q: f64| quantile(&delta, q);
            println!(
                "  {:<36} handed to viewers after the edge got them: p50 ≤ {} ms, p99 ≤ {} ms, p99.9 ≤ {} ms ({} chunk deliveries)",
                "",
                q(0.5),
                q(0.99),
                q(0.999),
                delta.iter().sum::<u64>()
            );
            let deliveries = delta.iter().sum::<u64>().max(1) as f64;
            println!(
                "  {:<36} CPU: edge {:.2} s ({:.1} µs per chunk delivery), viewers' client {:.2} s ({:.1} µs per delivery)",
                "",
                cpu.0,
                cpu.0 * 1e6 / deliveries,
                cpu.1,
                cpu.1 * 1e6 / deliveries
            );
            let p99: f64 = q(0.99).parse().unwrap_or(f64::INFINITY);
            failed |= !r.one_fetch_per_object || p99 > MAX_P99_LAG_MS;
        }
    }
    if failed {
        eprintln!(
            "bench-edge-cache: weir edge fetched an object more than once or handed a chunk to a viewer more than {MAX_P99_LAG_MS} ms after it got it (p99)"
        );
    }
    !failed
}

/// The edge's delivery-lag histogram: per-bucket counts (not cumulative).
async fn edge_lag(http: &Http) -> Vec<u64> {
    let m = text(http, ([127, 0, 0, 1], EDGE).into(), "/metrics").await;
    let cumulative: Vec<u64> = m
        .lines()
        .filter_map(|l| l.strip_prefix("weir_edge_cache_delivery_lag_seconds_bucket"))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    let mut prev = 0;
    cumulative
        .iter()
        .map(|c| {
            let n = c - prev;
            prev = *c;
            n
        })
        .collect()
}

/// The upper bound (ms) of the bucket holding quantile `q`.
fn quantile(counts: &[u64], q: f64) -> String {
    let total: u64 = counts.iter().sum();
    let rank = (total as f64 * q).ceil() as u64;
    let mut seen = 0;
    for (i, n) in counts.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return edge_host::cache::LAG_BUCKETS_MS
                .get(i)
                .map_or("∞".to_string(), |b| b.to_string());
        }
    }
    "∞".to_string()
}

/// One run's figures.
struct Result {
    viewer_requests: u64,
    origin_requests: u64,
    objects: usize,
    one_fetch_per_object: bool,
    first_p50: f64,
    first_p99: f64,
    first_max: f64,
    last_p50: f64,
    last_p99: f64,
    errors: Vec<String>,
}

impl Result {
    fn print(&self, name: &str) {
        let offload = 1.0 - self.origin_requests as f64 / self.viewer_requests.max(1) as f64;
        println!(
            "  {name:<36} {:>6} viewer requests, {:>4} at the origin ({} objects), offload {:.4}; \
             first byte after the first viewer p50 {:.2} / p99 {:.2} / max {:.1} ms; \
             last byte p50 {:.2} / p99 {:.2} ms; errors {}",
            self.viewer_requests,
            self.origin_requests,
            self.objects,
            offload,
            self.first_p50,
            self.first_p99,
            self.first_max,
            self.last_p50,
            self.last_p99,
            self.errors.len()
        );
        for e in &self.errors {
            println!("      {e}");
        }
    }
}

/// The viewers for `seconds` against `cache`.
async fn run(
    http: &Http,
    origin: SocketAddr,
    cache: SocketAddr,
    (seconds, (hls, dash)): (u64, (usize, usize)),
) -> Result {
    // Everyone starts from the same live point, as a herd joining at once would.
    let playlist = text(http, cache, "/live/v360/index.m3u8").await;
    let (msn, part) = hint(&playlist).expect("a preload hint");
    let mpd = text(http, cache, "/live/manifest.mpd").await;
    let period = mpd
        .split("/p")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or("0")
        .to_string();
    // Counted from here: what the viewers' requests cost the origin.
    let before = origin_counts(http, origin).await;
    let seen = Arc::new(Seen::default());
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..hls {
        let (http, seen) = (http.clone(), seen.clone());
        tasks.push(tokio::spawn(async move {
            hls_viewer(&http, cache, (msn, part), until, &seen).await;
        }));
    }
    for _ in 0..dash {
        let (http, seen, period) = (http.clone(), seen.clone(), period.clone());
        tasks.push(tokio::spawn(async move {
            dash_viewer(&http, cache, (&period, msn), until, &seen).await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let after = origin_counts(http, origin).await;
    let origin_requests: u64 = after
        .iter()
        .map(|(k, v)| v - before.get(k).unwrap_or(&0))
        .sum();
    let objects = seen.objects.lock().expect("seen");
    let (mut first, mut last) = (Vec::new(), Vec::new());
    for gots in objects.values() {
        let f0 = gots.iter().map(|g| g.first).min().expect("one viewer");
        let l0 = gots.iter().map(|g| g.last).min().expect("one viewer");
        for g in gots {
            first.push((g.first - f0).as_secs_f64() * 1e3);
            last.push((g.last - l0).as_secs_f64() * 1e3);
        }
    }
    let pct = |v: &mut Vec<f64>, p: f64| -> f64 {
        v.sort_by(f64::total_cmp);
        v.get(((v.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    // Each distinct object (parts, segments, reloads by their directives) once.
    let distinct = objects.len() as u64;
    Result {
        viewer_requests: seen.requests.load(std::sync::atomic::Ordering::Relaxed),
        origin_requests,
        objects: objects.len(),
        one_fetch_per_object: origin_requests == distinct,
        first_p50: pct(&mut first, 0.5),
        first_p99: pct(&mut first, 0.99),
        first_max: pct(&mut first, 1.0),
        last_p50: pct(&mut last, 0.5),
        last_p99: pct(&mut last, 0.99),
        errors: seen.errors.lock().expect("errors").clone(),
    }
}

/// An LL-HLS viewer: at each step the blocking reload for the hinted part and the part
/// itself, at once; the reload's hint is the next step.
async fn hls_viewer(
    http: &Http,
    cache: SocketAddr,
    mut at: (u64, u64),
    until: Instant,
    seen: &Seen,
) {
    while Instant::now() < until {
        let (msn, part) = at;
        let reload = format!("/live/v360/index.m3u8?_HLS_msn={msn}&_HLS_part={part}");
        let media = format!("/live/v360/part-{msn}.{part}.m4s");
        let (playlist, _) = tokio::join!(
            fetch(http, cache, &reload, seen),
            fetch(http, cache, &media, seen)
        );
        let Some(next) = playlist.and_then(|p| hint(&String::from_utf8_lossy(&p))) else {
            return;
        };
        at = next;
    }
}

/// An LL-DASH viewer: segment after segment, each read while it grows.
async fn dash_viewer(
    http: &Http,
    cache: SocketAddr,
    (period, mut number): (&str, u64),
    until: Instant,
    seen: &Seen,
) {
    while Instant::now() < until {
        let url = format!("/live/v360/p{period}/seg-{number}.m4s");
        if fetch(http, cache, &url, seen).await.is_none() {
            return;
        }
        number += 1;
    }
}

/// GETs `path`, recording when its first and last bytes came; the body, or `None`.
async fn fetch(http: &Http, cache: SocketAddr, path: &str, seen: &Seen) -> Option<Vec<u8>> {
    seen.request();
    let uri: hyper::Uri = format!("http://{cache}{path}").parse().ok()?;
    let resp = match http.get(uri).await {
        Ok(r) => r,
        Err(e) => {
            seen.error(format!("{path}: {e}"));
            return None;
        }
    };
    let status = resp.status();
    let mut body = resp.into_body();
    let mut data = Vec::new();
    let mut first = None;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Ok(d) = f.into_data() {
                    first.get_or_insert_with(Instant::now);
                    data.extend_from_slice(&d);
                }
            }
            Err(e) => {
                seen.error(format!("{path}: body {e}"));
                return None;
            }
        }
    }
    if status != 200 {
        seen.error(format!("{path}: {status}"));
        return None;
    }
    let last = Instant::now();
    seen.record(
        path,
        Got {
            first: first.unwrap_or(last),
            last,
        },
    );
    Some(data)
}

/// The `(msn, part)` of a playlist's preload hint.
fn hint(playlist: &str) -> Option<(u64, u64)> {
    let uri = playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-PRELOAD-HINT:"))?
        .split("URI=\"")
        .nth(1)?
        .split('"')
        .next()?;
    let (m, p) = uri
        .strip_prefix("part-")?
        .strip_suffix(".m4s")?
        .split_once('.')?;
    Some((m.parse().ok()?, p.parse().ok()?))
}

async fn text(http: &Http, addr: SocketAddr, path: &str) -> String {
    let uri: hyper::Uri = format!("http://{addr}{path}").parse().expect("uri");
    let resp = http.get(uri).await.expect("GET");
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    String::from_utf8_lossy(&body).into_owned()
}

/// The origin's `weir_requests_total` by route.
async fn origin_counts(http: &Http, origin: SocketAddr) -> BTreeMap<String, u64> {
    let m = text(http, origin, "/metrics").await;
    m.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("weir_requests_total{route=\"")?;
            let (kind, n) = rest.split_once("\"} ")?;
            // Requests the bench itself makes (metrics, the start point) are not media.
            (!matches!(kind, "metrics" | "channels" | "index"))
                .then(|| Some((kind.to_string(), n.trim().parse().ok()?)))?
        })
        .collect()
}

/// Waits until the origin's channel has a complete segment (bench start-up).
async fn wait_live(http: &Http, origin: SocketAddr) {
    for _ in 0..400 {
        let uri: hyper::Uri = format!("http://{origin}/live/v360/index.m3u8?_HLS_msn=2")
            .parse()
            .expect("uri");
        if let Ok(r) = http.get(uri).await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the channel never went live");
}

/// ffmpeg pushing channel `live` in real time: v360, v180 (1 s GOP, one CMAF chunk per
/// frame) and AAC audio, one long chunked POST each.
fn encoder(ingest: u16, seconds: u32) -> Proc {
    let mut c = weir_tests::bench::live_ladder(
        &format!("http://127.0.0.1:{ingest}/ingest/live"),
        u64::from(seconds),
    );
    Proc(c.spawn().expect("ffmpeg (scripts/setup.sh installs it)"))
}

/// A child process killed (by its own handle) when dropped.
struct Proc(Child);

impl Proc {
    fn spawn(c: &mut Command, port: u16) -> Proc {
        c.env("RUST_LOG", "warn").stdout(Stdio::null());
        let p = Proc(c.spawn().expect("target/release/weir (run `make build`)"));
        assert!(wait_port(port), "nothing listens on port {port}");
        p
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // SIGTERM first: nginx's and Varnish's masters then stop their workers (a
        // SIGKILL would orphan them).
        let terminated = Command::new("kill")
            .arg(self.0.id().to_string())
            .status()
            .is_ok_and(|s| s.success());
        if !terminated {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Waits until something listens on 127.0.0.1:`port` (start-up, not a test).
fn wait_port(port: u16) -> bool {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    false
}

/// Varnish in front of the origin: the builtin VCL (hash on URL, TTL from
/// Cache-Control, requests for a busy object parked on its waiting list) with
/// streaming on, and timeouts above the origin's longest hold.
struct Varnish {
    _running: Option<Proc>,
}

impl Varnish {
    fn start(port: u16, origin: u16) -> (Varnish, Option<u16>) {
        let Some(bin) = which(&["/usr/sbin/varnishd", "/usr/bin/varnishd"]) else {
            return (Varnish { _running: None }, None);
        };
        let dir = scratch("varnish");
        let vcl = dir.join("bench.vcl");
        std::fs::write(
            &vcl,
            format!(
                "vcl 4.1;\n\
                 backend origin {{ .host = \"127.0.0.1\"; .port = \"{origin}\"; \
                 .first_byte_timeout = 30s; .between_bytes_timeout = 30s; }}\n\
                 sub vcl_backend_response {{ set beresp.do_stream = true; }}\n"
            ),
        )
        .expect("vcl");
        let p = Proc::spawn(
            Command::new(bin)
                .args(["-F", "-a", &format!("127.0.0.1:{port}"), "-f"])
                .arg(&vcl)
                .arg("-n")
                .arg(dir.join("work"))
                .args(["-s", "malloc,512m", "-p", "thread_pool_min=200"])
                .stderr(Stdio::null()),
            port,
        );
        (Varnish { _running: Some(p) }, Some(port))
    }
}

/// nginx as a caching proxy in front of the origin: `proxy_cache` with
/// `proxy_cache_lock` (one request fills, the others wait for it), keyed on the URL
/// with its query, lifetimes from Cache-Control.
struct Nginx {
    _running: Option<Proc>,
}

impl Nginx {
    fn start(port: u16, origin: u16) -> (Nginx, Option<u16>) {
        let Some(bin) = which(&["/usr/sbin/nginx", "/usr/bin/nginx"]) else {
            return (Nginx { _running: None }, None);
        };
        let dir = scratch("nginx-cache");
        let d = dir.display();
        let conf = dir.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "worker_processes 2; daemon off; pid {d}/nginx.pid; error_log {d}/error.log;\n\
                 events {{ worker_connections 16384; }}\n\
                 http {{ access_log off;\n\
                   client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
                   fastcgi_temp_path {d}/fcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
                   proxy_cache_path {d}/cache levels=1:2 keys_zone=live:16m max_size=512m inactive=60s use_temp_path=off;\n\
                   upstream origin {{ server 127.0.0.1:{origin}; keepalive 64; }}\n\
                   server {{ listen 127.0.0.1:{port};\n\
                     location / {{ proxy_pass http://origin; proxy_http_version 1.1;\n\
                       proxy_set_header Connection \"\"; proxy_read_timeout 30s;\n\
                       proxy_cache live; proxy_cache_key $request_uri;\n\
                       proxy_cache_lock on; proxy_cache_lock_timeout 30s; proxy_cache_lock_age 30s; }} }} }}\n"
            ),
        )
        .expect("nginx.conf");
        let p = Proc::spawn(
            Command::new(bin)
                .arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(&conf)
                .stderr(Stdio::null()),
            port,
        );
        (Nginx { _running: Some(p) }, Some(port))
    }
}

fn which(candidates: &[&str]) -> Option<PathBuf> {
    candidates
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .map(Path::to_path_buf)
}
