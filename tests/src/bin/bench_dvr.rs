//! DVR benchmarks (BENCHMARKS.md, "DVR"), each beside a reference measured in the same
//! run:
//!
//! 1. segment writing: the DVR writer storing real 2 s segments (atomic write: temporary
//!    file, flush, rename) against plain `write` + flush of the same bytes;
//! 2. restart: `Origin::open` on a full 2-hour window of three renditions (its index
//!    rebuilt from the directory) against walking the same tree with `read_dir` and
//!    `stat` (the floor of any rebuild from a listing), and the memory the index takes;
//! 3. a 2-hour start-over playlist (`?start=0`, 3,600 segments) against the live
//!    playlist, over HTTP;
//! 4. serving segments from disk against nginx serving the same files, 32 keep-alive
//!    connections each: requests/s and latency.
//!
//! Usage: `cargo run --release -p weir-tests --bin bench-dvr [SECONDS_PER_LOAD_RUN]`
//! (nginx from `scripts/setup.sh --bench`; without it the comparison is skipped).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use origin::dvr::{ChannelMeta, Dvr, DvrConfig, Job};
use origin::{Config, Origin};
use timeline::history::PastSegment;
use timeline::{MediaKind, Segment, TrackMeta};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use weir_tests::bench::{encode_source, scratch, split};

const TRACKS: [&str; 3] = ["v1", "v2", "v3"];
const WINDOW_S: u64 = 7200;
const SEGMENT_S: u64 = 2;
/// Segments per track written with real media (the rest of the window: 1 KiB each,
/// which costs the index the same).
const REAL: u64 = 300;
const NGINX: u16 = 19690;
const CONNECTIONS: usize = 32;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let (init, chunks) = split(&encode_source(2));
    let body: Vec<u8> = chunks.iter().flat_map(|(c, _)| c.clone()).collect();
    let timescale = init_timescale(&init);
    let dir = scratch("dvr");
    println!(
        "## DVR ({} renditions, {SEGMENT_S} s segments, a {WINDOW_S} s window)\n",
        TRACKS.len()
    );

    // 1. Writing.
    let cfg = DvrConfig {
        dir: dir.join("dvr"),
        window_s: WINDOW_S + 600,
    };
    let (dvr, _) = Dvr::open(cfg.clone(), Default::default()).expect("dvr dir");
    let epoch = origin::clock::now_us() - i64::try_from(WINDOW_S * 1_000_000).unwrap_or(0);
    let n = WINDOW_S / SEGMENT_S;
    let small = Bytes::from(vec![0u8; 1024]);
    let real = Bytes::from(body.clone());
    let t = Instant::now();
    let mut submitted = 0u64;
    for i in 0..REAL {
        for track in TRACKS {
            submit(
                &dvr,
                &mut submitted,
                job(track, i, (epoch, timescale), &init, real.clone()),
            )
            .await;
        }
    }
    drained(&dvr, submitted).await;
    let write = t.elapsed();
    let bytes = (REAL * TRACKS.len() as u64) * real.len() as u64;
    let reference = plain_writes(&dir.join("plain"), &real, REAL * TRACKS.len() as u64);
    let mbs = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e6;
    println!(
        "| segment writing ({} × {} KiB) | weir DVR | plain write + flush | ratio |",
        REAL * 3,
        real.len() / 1024
    );
    println!("|---|---|---|---|");
    println!(
        "| MB/s | {:.0} | {:.0} | {:.2} |",
        mbs(write),
        mbs(reference),
        mbs(write) / mbs(reference)
    );
    println!(
        "| segments/s | {:.0} | {:.0} | |\n",
        (REAL * 3) as f64 / write.as_secs_f64(),
        (REAL * 3) as f64 / reference.as_secs_f64()
    );
    for i in REAL..n {
        for track in TRACKS {
            submit(
                &dvr,
                &mut submitted,
                job(track, i, (epoch, timescale), &init, small.clone()),
            )
            .await;
        }
    }
    drained(&dvr, submitted).await;
    drop(dvr);

    // 2. Restart.
    let walk = {
        let t = Instant::now();
        let files = walk_tree(&cfg.dir);
        (t.elapsed(), files)
    };
    let rss_before = rss_kib();
    let t = Instant::now();
    let config = Config {
        dvr: Some(cfg.clone()),
        ..Config::default()
    };
    let origin = Arc::new(Origin::open(config.clone()).expect("reopen"));
    let open = t.elapsed();
    let rss_after = rss_kib();
    let stored: usize = origin.dvr().expect("dvr").usage().iter().map(|u| u.2).sum();
    println!(
        "| restart with a full window ({} files) | weir (`Origin::open`) | walk + stat of the tree | ratio |",
        walk.1
    );
    println!("|---|---|---|---|");
    println!(
        "| time | {:.0} ms | {:.0} ms | {:.1} |",
        open.as_secs_f64() * 1e3,
        walk.0.as_secs_f64() * 1e3,
        open.as_secs_f64() / walk.0.as_secs_f64()
    );
    println!(
        "| index memory | {} KiB ({:.0} B per segment) | | |\n",
        rss_after.saturating_sub(rss_before),
        (rss_after.saturating_sub(rss_before) * 1024) as f64 / stored.max(1) as f64
    );
    assert_eq!(stored as u64, n * 3, "every segment indexed");

    // 3. A 2-hour start-over playlist.
    let addr = serve(origin.clone(), config).await;
    let mut c = Conn::open(addr).await;
    let live = timed(&mut c, "/ch/v1/index.m3u8", 50).await;
    let so = timed(&mut c, "/ch/v1/index.m3u8?start=0", 50).await;
    let (_, so_body, _) = c.get("/ch/v1/index.m3u8?start=0").await;
    let listed = so_body.windows(4).filter(|w| w == b"seg-").count();
    println!(
        "| playlist request | start-over, 2 h ({listed} segments, {} KiB) | live ({} segments) | ratio |",
        so_body.len() / 1024,
        weir_window()
    );
    println!("|---|---|---|---|");
    println!(
        "| p50 / p99 | {:.2} / {:.2} ms | {:.3} / {:.3} ms | {:.0} |\n",
        so.0,
        so.1,
        live.0,
        live.1,
        so.0 / live.0
    );

    // 4. Serving from disk beside nginx.
    let paths: Vec<(String, String)> = (0..REAL)
        .map(|i| {
            let s = origin
                .dvr()
                .expect("dvr")
                .lookup("ch", "v1", i + 1)
                .expect("stored");
            let rel = s
                .path
                .strip_prefix(&cfg.dir)
                .expect("under the dir")
                .display()
                .to_string();
            (format!("/ch/v1/seg-{}.m4s", i + 1), format!("/{rel}"))
        })
        .collect();
    let weir_paths: Vec<String> = paths.iter().map(|p| p.0.clone()).collect();
    let nginx_paths: Vec<String> = paths.iter().map(|p| p.1.clone()).collect();
    let w = load(addr, &weir_paths, secs).await;
    println!(
        "| segments from disk ({CONNECTIONS} connections, {secs} s) | weir | nginx (static files) | ratio |"
    );
    println!("|---|---|---|---|");
    match Nginx::start(NGINX, &cfg.dir) {
        Some(_nginx) => {
            let ng = load(
                SocketAddr::from(([127, 0, 0, 1], NGINX)),
                &nginx_paths,
                secs,
            )
            .await;
            println!(
                "| requests/s | {:.0} | {:.0} | {:.2} |",
                w.0,
                ng.0,
                w.0 / ng.0
            );
            println!(
                "| p50 / p99 | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.2} (p99) |",
                w.1,
                w.2,
                ng.1,
                ng.2,
                w.2 / ng.2
            );
        }
        None => println!("| requests/s | {:.0} | (nginx not installed) | |", w.0),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn weir_window() -> u32 {
    timeline::TimingConfig::default().window_segments
}

fn init_timescale(init: &[u8]) -> u32 {
    let mut d = cmaf::Demuxer::new();
    d.push(init);
    match d.next_event() {
        Ok(Some(cmaf::Event::Init { info, .. })) => info.tracks[0].timescale,
        other => panic!("not an init segment: {other:?}"),
    }
}

fn job(track: &str, i: u64, (epoch_us, ts): (i64, u32), init: &[u8], body: Bytes) -> Job {
    let d = SEGMENT_S * u64::from(ts);
    Job {
        channel: "ch".into(),
        channel_meta: ChannelMeta {
            epoch_us,
            epoch_source: None,
            cadence: Some(timeline::Cadence::from_millis((SEGMENT_S * 1000) as u32)),
        },
        track: TrackMeta {
            id: track.into(),
            kind: MediaKind::Video,
            codec: "avc1.64001e".into(),
            timescale: ts,
            width: 640,
            height: 360,
            frame_duration: ts / 30,
            sample_rate: 0,
            channels: 0,
            language: None,
            bandwidth: 0,
            average_bandwidth: 0,
        },
        past: PastSegment {
            segment: Arc::new(Segment {
                msn: i + 1,
                start: i * d,
                duration: d,
                parts: Vec::new(),
                complete: true,
                discontinuity: false,
                bytes: body.len() as u64,
                init: crc32fast::hash(init),
            }),
            period: 0,
            period_start: 0,
        },
        init: (crc32fast::hash(init), Bytes::copy_from_slice(init)),
        body: vec![body],
    }
}

/// Submits `job`, keeping the writer's queue from overflowing (a benchmark feeds it as
/// fast as it takes them; ingest never waits).
async fn submit(dvr: &Dvr, submitted: &mut u64, job: Job) {
    let mut rx = dvr.handled();
    let behind = submitted.saturating_sub(origin::dvr::QUEUE as u64 / 2);
    let _ = rx.wait_for(|h| *h >= behind).await;
    dvr.submit(job);
    *submitted += 1;
}

async fn drained(dvr: &Dvr, submitted: u64) {
    let mut rx = dvr.handled();
    let _ = rx.wait_for(|h| *h >= submitted).await;
    let s = dvr.stats();
    assert_eq!(s.write_errors.load(std::sync::atomic::Ordering::Relaxed), 0);
    assert_eq!(s.dropped.load(std::sync::atomic::Ordering::Relaxed), 0);
}

/// `n` files of `body` written and flushed one by one: the reference for segment writing.
fn plain_writes(dir: &Path, body: &[u8], n: u64) -> Duration {
    use std::io::Write as _;
    std::fs::create_dir_all(dir).expect("plain dir");
    let t = Instant::now();
    for i in 0..n {
        let mut f = std::fs::File::create(dir.join(format!("{i}.m4s"))).expect("create");
        f.write_all(body).expect("write");
        f.sync_data().expect("flush");
    }
    t.elapsed()
}

/// Files under `dir`, each `stat`ed.
fn walk_tree(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        let m = std::fs::metadata(&p).expect("stat");
        if m.is_dir() {
            n += walk_tree(&p);
        } else {
            n += 1;
        }
    }
    n
}

fn rss_kib() -> u64 {
    weir_tests::bench::rss_kib("self").unwrap_or(0)
}

async fn serve(origin: Arc<Origin>, _config: Config) -> SocketAddr {
    let ingest = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let playback = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = playback.local_addr().expect("addr");
    tokio::spawn(origin::run(
        ingest,
        playback,
        origin,
        std::future::pending(),
    ));
    addr
}

/// p50 and p99 (ms) of `n` sequential GETs of `path`.
async fn timed(c: &mut Conn, path: &str, n: usize) -> (f64, f64) {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let (status, _, d) = c.get(path).await;
        assert_eq!(status, 200, "{path}");
        v.push(d.as_secs_f64() * 1e3);
    }
    v.sort_by(f64::total_cmp);
    (v[n / 2], v[(n * 99 / 100).min(n - 1)])
}

/// (requests/s, p50 ms, p99 ms) of `CONNECTIONS` keep-alive connections GETting `paths`
/// in turn for `secs` seconds.
async fn load(addr: SocketAddr, paths: &[String], secs: u64) -> (f64, f64, f64) {
    let paths = Arc::new(paths.to_vec());
    let end = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for k in 0..CONNECTIONS {
        let paths = paths.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(addr).await;
            let mut lat = Vec::new();
            let mut i = k * 7;
            let mut reconnects = 0usize;
            while Instant::now() < end {
                let Some((status, _, d)) = c.try_get(&paths[i % paths.len()]).await else {
                    reconnects += 1;
                    c = Conn::open(addr).await;
                    continue;
                };
                assert_eq!(status, 200, "{}", paths[i % paths.len()]);
                lat.push(d.as_secs_f64() * 1e3);
                i += 1;
            }
            (lat, reconnects)
        }));
    }
    let (mut all, mut reconnects) = (Vec::new(), 0);
    for t in tasks {
        let (lat, r) = t.await.expect("load task");
        all.extend(lat);
        reconnects += r;
    }
    if reconnects > 0 {
        eprintln!("{addr}: the server closed {reconnects} keep-alive connections");
    }
    all.sort_by(f64::total_cmp);
    let n = all.len();
    (
        n as f64 / secs as f64,
        all[n / 2],
        all[(n * 99 / 100).min(n - 1)],
    )
}

/// One HTTP/1.1 keep-alive connection reading `Content-Length` bodies.
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        Conn {
            s: TcpStream::connect(addr).await.expect("connect"),
            buf: Vec::new(),
        }
    }

    async fn get(&mut self, path: &str) -> (u16, Vec<u8>, Duration) {
        self.try_get(path)
            .await
            .expect("the server closed the connection")
    }

    /// `None` when the server closed the connection.
    async fn try_get(&mut self, path: &str) -> Option<(u16, Vec<u8>, Duration)> {
        let t = Instant::now();
        let req = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n");
        self.s.write_all(req.as_bytes()).await.ok()?;
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_string();
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .expect("Content-Length");
        while self.buf.len() < head_end + len {
            self.fill().await?;
        }
        let body = self.buf[head_end..head_end + len].to_vec();
        self.buf.drain(..head_end + len);
        Some((status, body, t.elapsed()))
    }

    async fn fill(&mut self) -> Option<()> {
        let mut chunk = [0u8; 65536];
        let n = self.s.read(&mut chunk).await.ok()?;
        (n > 0).then(|| self.buf.extend_from_slice(&chunk[..n]))
    }
}

/// nginx serving `root` as static files.
struct Nginx(Child);

impl Nginx {
    fn start(port: u16, root: &Path) -> Option<Nginx> {
        let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.exists())?;
        let dir = scratch("nginx-static");
        let d = dir.display();
        let conf = dir.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "worker_processes 2; daemon off; pid {d}/nginx.pid; error_log {d}/error.log;\n\
                 events {{ worker_connections 4096; }}\n\
                 http {{ access_log off; sendfile on; tcp_nopush on;\n\
                   client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
                   fastcgi_temp_path {d}/fcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
                   server {{ listen 127.0.0.1:{port}; root {}; }} }}\n",
                root.display()
            ),
        )
        .ok()?;
        let child = Command::new(bin)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Nginx(child));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        None
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}
