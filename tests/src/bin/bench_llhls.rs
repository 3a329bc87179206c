//! LL-HLS benchmarks (not tests), against the release `weir` binary run as its own
//! process and, as the reference in the same run, nginx serving the same bytes:
//!
//! `cargo run --release -p weir-tests --bin bench-llhls [wakeup|rps|latency|all]`
//!
//! - `wakeup`: 10,000 concurrent blocking playlist requests (`_HLS_msn`/`_HLS_part` for
//!   the next part) held by weir; time from the last byte of that part written to the
//!   ingest socket to each response's arrival. Reference: 10,000 connections to nginx
//!   all sending a request for a static playlist of the same size at one instant.
//! - `rps`: playlist requests per second with `wrk` (non-blocking playlist) vs nginx.
//! - `latency`: hls.js (low-latency mode) in Chromium plays a channel ffmpeg pushes
//!   with its wall clock in `prft`; latency = wall clock − PDT of the frame shown.
//! - `edge`: the same non-blocking playlist rendered by the Wasm edge component (fresh
//!   instance per request) under `wasmtime serve`, under `weir edge` (both fetching the
//!   timeline over HTTP) and under `weir up` (timeline in-process) vs natively by the
//!   origin, with wrk: requests/s and latency, as a ratio.
//!
//! Needs: target/release/weir (`make build`), nginx, wrk, node + tests/browser deps.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_tests::bench::{chunked_frame, encode_source, split};

const CLIENTS: usize = 10_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo")
        .to_path_buf();
    if matches!(mode.as_str(), "wakeup" | "rps" | "edge" | "all") {
        let (weir, nginx) = (Proc::weir(&repo, 19180, 19181, false), Nginx::start(19190));
        let ingest = Ingest::start("127.0.0.1:19181".parse().unwrap()).await;
        let playback: SocketAddr = "127.0.0.1:19180".parse().unwrap();
        let playlist = prime(&ingest, playback).await;
        if mode == "wakeup" || mode == "all" {
            wakeup(&ingest, playback, &nginx, &playlist).await;
        }
        if mode == "rps" || mode == "all" {
            rps(playback, &nginx);
        }
        if mode == "edge" || mode == "all" {
            edge(&repo, playback).await;
        }
        drop((weir, ingest));
    }
    if matches!(mode.as_str(), "latency" | "all") {
        latency(&repo).await;
    }
}

/// A child process killed (by its own handle) when dropped.
struct Proc(Child);

impl Proc {
    fn weir(repo: &Path, play: u16, ingest: u16, web: bool) -> Proc {
        let mut c = Command::new(repo.join("target/release/weir"));
        c.args([
            "origin",
            "--listen",
            &format!("127.0.0.1:{play}"),
            "--ingest",
            &format!("127.0.0.1:{ingest}"),
        ]);
        if web {
            c.arg("--web").arg(repo.join("web"));
        }
        c.env("RUST_LOG", "warn").stdout(Stdio::null());
        let p = Proc(c.spawn().expect("target/release/weir (run `make build`)"));
        wait_port(play);
        p
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until something listens on 127.0.0.1:`port` (benchmark start-up, not a test).
fn wait_port(port: u16) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("nothing listens on port {port}");
}

/// nginx with a throw-away prefix serving one static playlist.
struct Nginx {
    dir: PathBuf,
    proc: Proc,
    port: u16,
}

impl Nginx {
    fn start(port: u16) -> Nginx {
        let dir = std::env::temp_dir().join(format!("weir-bench-nginx-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("www")).unwrap();
        let conf = format!(
            "worker_processes 2; daemon off; pid {d}/nginx.pid; error_log {d}/error.log;\n\
             events {{ worker_connections 16384; }}\n\
             http {{ access_log off; keepalive_requests 1000000;\n\
               server {{ listen 127.0.0.1:{port} backlog=16384; root {d}/www;\n\
                 location / {{ add_header Cache-Control \"public, max-age=1\"; }} }} }}\n",
            d = dir.display()
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new("nginx")
            .args(["-p"])
            .arg(&dir)
            .args(["-c"])
            .arg(dir.join("nginx.conf"))
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx (apt install nginx-light)");
        let proc = Proc(child);
        wait_port(port);
        Nginx { dir, proc, port }
    }

    fn put(&self, name: &str, body: &[u8]) {
        std::fs::write(self.dir.join("www").join(name), body).unwrap();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGKILL on the master would orphan its workers (still listening): ask the
        // master to stop them, then wait for it.
        let pid = self.proc.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.proc.0.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One long chunked POST feeding weir a real ffmpeg encode, chunk by chunk.
struct Ingest {
    conn: tokio::sync::Mutex<TcpStream>,
    chunks: Vec<Vec<u8>>,
    next: std::sync::atomic::AtomicUsize,
}

impl Ingest {
    async fn start(addr: SocketAddr) -> Ingest {
        let (init, chunks) = split(&encode_source(20));
        let chunks: Vec<Vec<u8>> = chunks.into_iter().map(|(c, _)| c).collect();
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        s.write_all(
            b"POST /ingest/bench/v1 HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .await
        .unwrap();
        s.write_all(&chunked_frame(&init)).await.unwrap();
        Ingest {
            conn: tokio::sync::Mutex::new(s),
            chunks,
            next: 0.into(),
        }
    }

    /// Sends the next `n` chunks; returns when the last byte is written.
    async fn send(&self, n: usize) {
        let mut c = self.conn.lock().await;
        for _ in 0..n {
            let i = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            c.write_all(&chunked_frame(&self.chunks[i])).await.unwrap();
        }
        c.flush().await.unwrap();
    }
}

/// One HTTP/1.1 GET on its own connection; returns (status, body length) at the last byte.
async fn get_once(addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    request(&mut s, path).await
}

async fn request(s: &mut TcpStream, path: &str) -> (u16, Vec<u8>) {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let status = std::str::from_utf8(&raw[9..12])
        .ok()
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    let body = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| raw[i + 4..].to_vec())
        .unwrap_or_default();
    (status, body)
}

fn stats(mut d: Vec<Duration>) -> (Duration, Duration, Duration) {
    d.sort();
    let at = |p: f64| d[((d.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.99), d[d.len() - 1])
}

async fn waiting(playback: SocketAddr) -> usize {
    let (_, body) = get_once(playback, "/metrics").await;
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| l.strip_prefix("weir_waiting_requests{channel=\"bench\"} "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Ingests 3 s of media (segment 1 complete, segment 2 in progress) and returns the
/// resulting playlist.
///
/// Waits until all 90 frames are published (the hint names part 2.5): the chunks are
/// written before weir has read them, and a playlist taken earlier hinted at a part that
/// already existed by the time the blocking requests were sent, which then looked like
/// weir answering before the part landed (seen in 2026-11-29's run and again here).
async fn prime(ingest: &Ingest, playback: SocketAddr) -> String {
    ingest.send(90).await;
    for _ in 0..2000 {
        let (st, body) = get_once(playback, "/bench/v1/index.m3u8").await;
        let text = String::from_utf8_lossy(&body).to_string();
        if st == 200 && text.contains("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-2.5.m4s\"") {
            return text;
        }
        tokio::task::yield_now().await;
    }
    panic!("weir never published the 90 primed frames");
}

async fn wakeup(ingest: &Ingest, playback: SocketAddr, nginx: &Nginx, text: &str) {
    let hint = text
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-"))
        .expect("hint");
    let (msn, part) = hint
        .trim_end_matches(".m4s\"")
        .split_once('.')
        .expect("msn.part");
    let path = format!("/bench/v1/index.m3u8?_HLS_msn={msn}&_HLS_part={part}");

    // weir: 10,000 requests held, then the part lands.
    let t0 = Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut tasks = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let (path, t0) = (path.clone(), t0.clone());
        tasks.push(tokio::spawn(async move {
            let (st, body) = get_once(playback, &path).await;
            let at = Instant::now();
            let Some(t0) = t0.get() else {
                panic!(
                    "answered {st} before the part landed: {}",
                    String::from_utf8_lossy(&body)
                );
            };
            (st, body.len(), at.duration_since(*t0))
        }));
    }
    let started = Instant::now();
    loop {
        let n = waiting(playback).await;
        if n >= CLIENTS {
            eprintln!("  {n} requests held after {:.1?}", started.elapsed());
            break;
        }
        if std::env::var_os("WEIR_BENCH_DEBUG").is_some() {
            eprintln!("  held {n} after {:.1?}", started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The part needs 6 more frames (0.2 s at 30 fps); the last byte of the 6th is t0.
    ingest.send(5).await;
    {
        let mut c = ingest.conn.lock().await;
        let i = ingest
            .next
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // t0 is taken before the last chunk is written: the origin (in this process)
        // can publish the part and answer before this task runs again after the
        // write, and an answer seen before t0 was set used to be reported as weir
        // answering too early. No answer can come before the last byte is written, so
        // an answer before t0 is still a real early answer.
        let frame = chunked_frame(&ingest.chunks[i]);
        let _ = t0.set(Instant::now());
        c.write_all(&frame).await.unwrap();
        c.flush().await.unwrap();
    }
    let mut delays = Vec::with_capacity(CLIENTS);
    let mut size = 0;
    for t in tasks {
        let (st, len, d) = t.await.unwrap();
        assert_eq!(st, 200, "blocked request answered 200");
        size = len;
        delays.push(d);
    }
    let (w50, w99, wmax) = stats(delays);

    // nginx: the same number of connections, all sending at one instant.
    nginx.put("index.m3u8", &vec![b'#'; size]);
    let nginx_addr: SocketAddr = format!("127.0.0.1:{}", nginx.port).parse().unwrap();
    let go = Arc::new(tokio::sync::Notify::new());
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(CLIENTS);
    let t1 = Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut tasks = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let (go, ready, t1) = (go.clone(), ready_tx.clone(), t1.clone());
        let notified = go.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(nginx_addr).await.unwrap();
            let wait = notified.notified();
            tokio::pin!(wait);
            wait.as_mut().enable();
            ready.send(()).await.unwrap();
            wait.await;
            let (st, _) = request(&mut s, "/index.m3u8").await;
            let _ = go;
            (st, Instant::now().duration_since(*t1.get().unwrap()))
        }));
    }
    for _ in 0..CLIENTS {
        ready_rx.recv().await.unwrap();
    }
    let _ = t1.set(Instant::now());
    go.notify_waiters();
    let mut ref_delays = Vec::with_capacity(CLIENTS);
    for t in tasks {
        let (st, d) = t.await.unwrap();
        assert_eq!(st, 200);
        ref_delays.push(d);
    }
    let (n50, n99, nmax) = stats(ref_delays);
    println!("wake-up of {CLIENTS} concurrent blocked playlist requests ({size} B playlist):");
    println!(
        "  weir  (part lands -> response)      p50 {w50:>9.1?}  p99 {w99:>9.1?}  max {wmax:>9.1?}"
    );
    println!(
        "  nginx (all request at once, static) p50 {n50:>9.1?}  p99 {n99:>9.1?}  max {nmax:>9.1?}"
    );
    println!(
        "  ratio weir/nginx: p50 {:.2}x  p99 {:.2}x",
        w50.as_secs_f64() / n50.as_secs_f64(),
        w99.as_secs_f64() / n99.as_secs_f64()
    );
}

fn wrk(url: &str) -> f64 {
    let out = Command::new("wrk")
        .args(["-t2", "-c64", "-d10s", url])
        .output()
        .expect("wrk (apt install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// wrk's requests/s and median latency (ms) for `url`.
fn wrk_stats(url: &str) -> (f64, f64) {
    let out = Command::new("wrk")
        .args(["-t2", "-c16", "-d10s", "--latency", url])
        .output()
        .expect("wrk");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    let p50 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("50%"))
        .map(|v| {
            let v = v.trim();
            if let Some(us) = v.strip_suffix("us") {
                us.parse::<f64>().unwrap_or(0.0) / 1000.0
            } else if let Some(ms) = v.strip_suffix("ms") {
                ms.parse().unwrap_or(0.0)
            } else {
                v.trim_end_matches('s').parse::<f64>().unwrap_or(0.0) * 1000.0
            }
        })
        .unwrap_or(0.0);
    (rps, p50)
}

/// Spawns `target/release/weir` with `args` (quiet) and waits for `port`.
fn weir_cmd(repo: &Path, args: &[String], port: u16) -> Proc {
    let p = Proc(
        Command::new(repo.join("target/release/weir"))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("target/release/weir (run `make build`)"),
    );
    wait_port(port);
    p
}

/// Starts `weir up` (players on 19480, ingest 19481, origin 19482) with `flags` and
/// primes its bench channel through the edge.
async fn weir_up(repo: &Path, flags: &[&str]) -> (Proc, Ingest) {
    let mut args: Vec<String> = vec!["up".into()];
    args.extend(flags.iter().map(|f| f.to_string()));
    for a in [
        "--listen",
        "127.0.0.1:19480",
        "--ingest",
        "127.0.0.1:19481",
        "--origin-listen",
        "127.0.0.1:19482",
        "--spin",
    ] {
        args.push(a.into());
    }
    args.push(repo.join("spin.toml").display().to_string());
    let up = weir_cmd(repo, &args, 19480);
    let ingest = Ingest::start("127.0.0.1:19481".parse().unwrap()).await;
    prime(&ingest, "127.0.0.1:19480".parse().unwrap()).await;
    (up, ingest)
}

fn row(name: &str, (rps, p50): (f64, f64)) {
    println!("  {name:<40} {rps:>9.0} req/s   p50 {p50:.3} ms");
}

async fn edge(repo: &Path, playback: SocketAddr) {
    let component = repo.join("target/wasm32-wasip2/edge/edge_wasm.wasm");
    let size = std::fs::metadata(&component).map(|m| m.len()).unwrap_or(0);
    let path = "/bench/v1/index.m3u8";
    println!(
        "playlist through the Wasm edge component ({size} B), fresh instance per request, vs native (wrk -t2 -c16 -d10s, same run):"
    );
    let native = wrk_stats(&format!("http://{playback}{path}"));
    row("native origin", native);

    // `wasmtime serve` (wasmtime-cli 48.0.8), over HTTP to the origin.
    let child = Command::new(repo.join(".tools/bin/wasmtime"))
        .args(["serve", "-Scli", "--addr", "127.0.0.1:19380", "--env"])
        .arg(format!("WEIR_ORIGIN=http://{playback}"))
        .arg(&component)
        .stderr(Stdio::null())
        .spawn()
        .expect(".tools/bin/wasmtime (make test installs it) and `make edge`");
    let serve = Proc(child);
    wait_port(19380);
    let _ = get_once("127.0.0.1:19380".parse().unwrap(), path).await;
    let ws = wrk_stats(&format!("http://127.0.0.1:19380{path}"));
    row("wasmtime serve -> origin (HTTP)", ws);
    drop(serve);

    // `weir edge` as its own process, over HTTP to the origin.
    let node = weir_cmd(
        repo,
        &[
            "edge".into(),
            "--listen".into(),
            "127.0.0.1:19383".into(),
            "--spin".into(),
            repo.join("spin.toml").display().to_string(),
            "--env".into(),
            format!("WEIR_ORIGIN=http://{playback}"),
            "--allow".into(),
            format!("http://{playback}"),
        ],
        19383,
    );
    let _ = get_once("127.0.0.1:19383".parse().unwrap(), path).await;
    let we = wrk_stats(&format!("http://127.0.0.1:19383{path}"));
    row("weir edge -> origin (HTTP)", we);
    drop(node);

    // `weir up`: origin + edge node in one process, the timeline fetched in-process.
    let (up, ingest) = weir_up(repo, &[]).await;
    let up_native = wrk_stats(&format!("http://127.0.0.1:19482{path}"));
    let up_edge = wrk_stats(&format!("http://127.0.0.1:19480{path}"));
    row("weir up: native origin listener", up_native);
    row("weir up: edge node (in-process timeline)", up_edge);
    drop((ingest, up));
    // The same without request collapsing: every request runs its own instance.
    let (up, ingest) = weir_up(repo, &["--no-cache"]).await;
    let up_single = wrk_stats(&format!("http://127.0.0.1:19480{path}"));
    row("weir up: edge node, --no-cache", up_single);
    drop((ingest, up));
    // And every request through the component's wasi:http entry point.
    let (up, ingest) = weir_up(repo, &["--no-cache", "--wasi-http-only"]).await;
    let up_wasi = wrk_stats(&format!("http://127.0.0.1:19480{path}"));
    row("weir up: --no-cache --wasi-http-only", up_wasi);
    drop((ingest, up));
    for (name, (rps, p50), (n_rps, n_p50)) in [
        ("wasmtime serve", ws, native),
        ("weir edge", we, native),
        ("weir up edge", up_edge, up_native),
        ("weir up edge --no-cache", up_single, up_native),
        (
            "weir up edge --no-cache --wasi-http-only",
            up_wasi,
            up_native,
        ),
    ] {
        println!(
            "  {name}: +{:.3} ms per request at p50, throughput {:.2}x native",
            p50 - n_p50,
            rps / n_rps
        );
    }
}

fn rps(playback: SocketAddr, nginx: &Nginx) {
    let body = std::process::Command::new("curl")
        .args(["-s", &format!("http://{playback}/bench/v1/index.m3u8")])
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    nginx.put("same.m3u8", &body);
    let w = wrk(&format!("http://{playback}/bench/v1/index.m3u8"));
    let n = wrk(&format!("http://127.0.0.1:{}/same.m3u8", nginx.port));
    println!(
        "playlist requests/s (wrk -t2 -c64 -d10s, {} B non-blocking playlist):",
        body.len()
    );
    println!(
        "  weir  {w:>10.0}\n  nginx {n:>10.0}\n  ratio weir/nginx {:.2}x",
        w / n
    );
}

async fn latency(repo: &Path) {
    let _weir = Proc::weir(repo, 19280, 19281, true);
    let x264 = "-preset veryfast -tune zerolatency -profile:v high -pix_fmt yuv420p -g 30 -keyint_min 30 -sc_threshold 0";
    let cmd = format!(
        "ffmpeg -v error -nostdin -re -f lavfi -i testsrc2=size=640x360:rate=30:duration=100 \
         -re -f lavfi -i sine=frequency=1000:sample_rate=48000:duration=100 \
         -map 0:v -map 0:v -map 1:a -c:v libx264 {x264} -b:v:0 800k -b:v:1 300k -s:v:1 320x180 \
         -c:a aac -b:a 96k -ar 48000 -ac 2 -f dash -seg_duration 1 -streaming 1 -ldash 1 -method PUT \
         -http_persistent 1 -frag_type every_frame -write_prft 1 -utc_timing_url http://127.0.0.1:19280/time \
         -format_options movflags=cmaf http://127.0.0.1:19281/ingest/lat/manifest.mpd"
    );
    let _enc = Proc(
        Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .spawn()
            .expect("ffmpeg"),
    );
    for _ in 0..100 {
        let (st, _) = get_once(
            "127.0.0.1:19280".parse().unwrap(),
            "/lat/stream0/index.m3u8",
        )
        .await;
        if st == 200 {
            break;
        }
    }
    let announced = Arc::new(std::sync::Mutex::new(Vec::new()));
    let follower = tokio::spawn(follow_edge(
        "127.0.0.1:19280".parse().unwrap(),
        "/lat/stream0/index.m3u8",
        announced.clone(),
    ));
    let script = repo.join("tests/browser/play.mjs");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .args([
                "http://127.0.0.1:19280/?channel=lat&player=hls&catchup=1.2",
                "75",
            ])
            .output()
            .expect("node")
    })
    .await
    .expect("player");
    follower.abort();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .expect("RESULT");
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let samples = v["samples"].as_array().unwrap();
    // Skip the first 10 s (start-up and tune-in), then wall clock - PDT of the frame shown.
    let mut lat: Vec<f64> = samples
        .iter()
        .skip(10)
        .filter_map(|s| Some((s["now"].as_f64()? - s["playingDate"].as_f64()?) / 1000.0))
        .collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize];
    let stalls = samples.windows(2).skip(10).filter(|w| {
        w[1]["currentTime"].as_f64().unwrap_or(0.0) - w[0]["currentTime"].as_f64().unwrap_or(0.0)
            < 0.5
    });
    println!(
        "end-to-end latency at the player (hls.js {} lowLatencyMode, Chromium, {} samples over {} s):",
        samples
            .last()
            .map(|s| s["version"].to_string())
            .unwrap_or_default(),
        lat.len(),
        lat.len()
    );
    println!(
        "  wall clock - PDT of the frame shown: median {:.3} s  p95 {:.3} s  min {:.3} s  max {:.3} s",
        at(0.5),
        at(0.95),
        lat[0],
        lat[lat.len() - 1]
    );
    println!(
        "  1-s samples with the playhead advancing < 0.5 s: {}",
        stalls.count()
    );
    let mut announced = announced.lock().unwrap().clone();
    if announced.is_empty() {
        println!("  (no blocking reload of the playlist edge answered)");
        return;
    }
    announced.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| announced[((announced.len() - 1) as f64 * p).round() as usize];
    println!(
        "  of which before the player: wall clock at a blocking reload's answer - PDT of the \
         playlist's newest part end: median {:.3} s  p95 {:.3} s  ({} reloads of stream0 after 10 s)",
        at(0.5),
        at(0.95),
        announced.len()
    );
}

/// Follows the live edge of `path` the way hls.js does (blocking reload for the part
/// after the newest one, on a fresh connection each) and records, for each answer after
/// the first 10 s, wall clock − program date-time of the newest part's end: how late a
/// part is announced (encoder, ingest and weir; no player), into `sink`. Runs until
/// aborted.
async fn follow_edge(addr: SocketAddr, path: &'static str, sink: Arc<std::sync::Mutex<Vec<f64>>>) {
    use weir_tests::playlist_edge::edge;
    let started = Instant::now();
    let mut query = String::new();
    loop {
        let (status, body) = get_once(addr, &format!("{path}{query}")).await;
        let now_us = origin::clock::now_us();
        let Some(e) = (status == 200)
            .then(|| edge(&String::from_utf8_lossy(&body)))
            .flatten()
        else {
            query.clear();
            continue;
        };
        if started.elapsed() > Duration::from_secs(10) {
            sink.lock().unwrap().push((now_us - e.end_us) as f64 / 1e6);
        }
        query = format!("?_HLS_msn={}&_HLS_part={}", e.next_msn, e.next_part);
    }
}
