//! Chunked delivery of growing segments through the edge node (a benchmark, not a
//! test): the delay `weir up`'s edge node (the Wasm component's streaming pass-through)
//! adds to each CMAF chunk of the segment in progress, measured against a reader of
//! the same segment at the origin's own listener, in the same run:
//!
//! `cargo run --release -p weir-tests --bin bench-chunks`
//!
//! A real ffmpeg encode (640x360, 30 fps, 1 s GOP, one CMAF chunk per frame) is pushed
//! to `target/release/weir up` in real time as one long chunked POST. One second before
//! each segment begins, [`PAIRS`] pairs of readers ask for it, one at the origin
//! (`--origin-listen`) and one through the edge (`--listen`); both are held until its
//! first chunk and then stream it. For every read of the origin reader (one read per
//! chunk as it lands), the edge reader's time to reach the same body offset is
//! compared: the difference is the delay the edge node adds to that chunk.
//!
//! Needs: target/release/weir (`make build`) and the component (`make edge`).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_tests::bench::{chunked_frame, encode_source, split};

/// Segments measured.
const SEGMENTS: u64 = 12;
/// Reader pairs per segment.
const PAIRS: usize = 10;
/// Ports of `weir up`: players (edge), ingest, origin playback.
const PORTS: (u16, u16, u16) = (19380, 19381, 19382);
/// Segment duration of the channel (the default target, a multiple of the 1 s GOP).
const SEGMENT: Duration = Duration::from_secs(2);

/// One body read: when it returned and the body length by then.
type Read = (Instant, usize);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo")
        .to_path_buf();
    let (init, chunks) = split(&encode_source(
        u32::try_from(SEGMENTS).expect("small") * 2 + 8,
    ));
    let timescale = timescale(&init);
    let weir = Weir::up(&repo);
    let (edge, ingest, origin) = (addr(PORTS.0), addr(PORTS.1), addr(PORTS.2));

    // The encoder: every chunk at its media time, in real time.
    let t0 = Instant::now();
    let feeder = tokio::spawn(async move {
        let mut s = TcpStream::connect(ingest).await.expect("ingest");
        s.set_nodelay(true).expect("nodelay");
        s.write_all(
            b"POST /ingest/bench/v1 HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .await
        .expect("ingest head");
        s.write_all(&chunked_frame(&init)).await.expect("init");
        for (chunk, end) in chunks {
            let at = Duration::from_micros(end * 1_000_000 / u64::from(timescale));
            tokio::time::sleep_until((t0 + at).into()).await;
            s.write_all(&chunked_frame(&chunk)).await.expect("chunk");
        }
        s
    });

    let mut added = Vec::new();
    let mut reads = 0usize;
    for msn in 3..3 + SEGMENTS {
        // One second before segment `msn` begins at (msn - 1) × 2 s of media.
        let begins = SEGMENT * u32::try_from(msn - 1).expect("small");
        tokio::time::sleep_until((t0 + begins - Duration::from_secs(1)).into()).await;
        let path = format!("/bench/v1/seg-{msn}.m4s");
        let pairs: Vec<_> = (0..PAIRS)
            .map(|_| {
                let (p1, p2) = (path.clone(), path.clone());
                tokio::spawn(async move { tokio::join!(stream(origin, &p1), stream(edge, &p2)) })
            })
            .collect();
        for p in pairs {
            let (direct, via_edge) = p.await.expect("reader pair");
            assert_eq!(
                direct.last().map(|r| r.1),
                via_edge.last().map(|r| r.1),
                "segment {msn}: same body length both ways"
            );
            reads += direct.len();
            for (t, len) in &direct {
                let e = via_edge
                    .iter()
                    .find(|(_, l)| l >= len)
                    .expect("the edge reader got every byte");
                added.push(signed_ms(e.0, *t));
            }
        }
    }
    drop(feeder.await.expect("feeder"));
    drop(weir);

    added.sort_by(f64::total_cmp);
    let q = |p: f64| added[((added.len() - 1) as f64 * p).round() as usize];
    let mean = added.iter().sum::<f64>() / added.len() as f64;
    let earlier = added.iter().filter(|d| **d < 0.0).count() as f64 / added.len() as f64;
    println!(
        "edge-added delay per chunk of a growing segment ({} chunks, {SEGMENTS} segments x \
         {PAIRS} reader pairs, {reads} origin reads): p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, \
         max {:.3} ms, mean {mean:.3} ms ({:.0} % of chunks reached the edge reader first)",
        added.len(),
        q(0.5),
        q(0.9),
        q(0.99),
        q(1.0),
        earlier * 100.0
    );
}

/// `a - b` in milliseconds, negative when `a` came first.
fn signed_ms(a: Instant, b: Instant) -> f64 {
    match a.checked_duration_since(b) {
        Some(d) => d.as_secs_f64() * 1000.0,
        None => -(b - a).as_secs_f64() * 1000.0,
    }
}

/// `127.0.0.1:port`.
fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The timescale of the init segment's track.
fn timescale(init: &[u8]) -> u32 {
    let mut d = cmaf::Demuxer::new();
    d.push(init);
    match d.next_event() {
        Ok(Some(cmaf::Event::Init { info, .. })) => info.tracks[0].timescale,
        other => panic!("not an init segment: {other:?}"),
    }
}

/// GETs `path` and returns every read of its (chunked) body: when, and the decoded
/// body length by then.
async fn stream(to: SocketAddr, path: &str) -> Vec<Read> {
    let mut s = TcpStream::connect(to).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("request");
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut body_at = None;
    let mut decoder = Chunked::default();
    let mut reads = Vec::new();
    loop {
        let n = s.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if body_at.is_none() {
            body_at = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
            if let Some(at) = body_at {
                assert!(
                    raw.starts_with(b"HTTP/1.1 200"),
                    "{path}: {:?}",
                    String::from_utf8_lossy(&raw[..at])
                );
            }
        }
        if let Some(at) = body_at {
            let before = decoder.body;
            decoder.feed(&raw[at..]);
            if decoder.body > before {
                reads.push((Instant::now(), decoder.body));
            }
        }
    }
    assert!(decoder.done, "{path}: the body ended cleanly");
    reads
}

/// An incremental decoder of chunked transfer coding that counts body bytes.
#[derive(Default)]
struct Chunked {
    /// Bytes of the coded body consumed so far.
    pos: usize,
    /// Body bytes decoded so far.
    body: usize,
    /// The terminating chunk was read.
    done: bool,
}

impl Chunked {
    /// Consumes what `coded` (the whole coded body so far) holds beyond `pos`.
    fn feed(&mut self, coded: &[u8]) {
        while !self.done {
            let rest = &coded[self.pos..];
            let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let size = usize::from_str_radix(
                std::str::from_utf8(&rest[..eol])
                    .expect("chunk size")
                    .trim(),
                16,
            )
            .expect("hex chunk size");
            if size == 0 {
                self.done = true;
                return;
            }
            if rest.len() < eol + 2 + size + 2 {
                return;
            }
            self.pos += eol + 2 + size + 2;
            self.body += size;
        }
    }
}

/// `target/release/weir up` on [`PORTS`], killed when dropped.
struct Weir(Child);

impl Weir {
    fn up(repo: &Path) -> Weir {
        let child = Command::new(repo.join("target/release/weir"))
            .args(["up", "--listen"])
            .arg(addr(PORTS.0).to_string())
            .arg("--ingest")
            .arg(addr(PORTS.1).to_string())
            .arg("--origin-listen")
            .arg(addr(PORTS.2).to_string())
            .arg("--spin")
            .arg(repo.join("spin.toml"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("target/release/weir (run `make build edge`)");
        for port in [PORTS.0, PORTS.1, PORTS.2] {
            let up = (0..400).any(|_| {
                std::net::TcpStream::connect(addr(port)).is_ok() || {
                    std::thread::sleep(Duration::from_millis(25));
                    false
                }
            });
            assert!(up, "weir up listens on {port}");
        }
        Weir(child)
    }
}

impl Drop for Weir {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
