//! Ingest benchmarks (not tests): `cargo run --release -p weir-tests --bin bench-ingest
//! [delay|memory|all]`.
//!
//! - `delay`: ingest-to-available delay of a CMAF chunk, measured in-process from the
//!   moment the chunk's last byte is written to the ingest socket to the moment a
//!   subscriber of the channel sees it published. Reference in the same run: the same
//!   bytes, framed the same way, through a bare tokio TCP socket (the loopback floor).
//! - `memory`: peak RSS of the process while real ffmpeg pushes 3 renditions for 60 s,
//!   beside the media bytes the store holds (the floor a perfect store would need).
//! - `window`: the same chunk delay as `delay`, once with a 20 s window (10 segments)
//!   and once with a 2 h window (3,600 segments held, filled with 2 h of tiny synthetic
//!   media first): publishing a chunk must not cost more as the window grows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use origin::{Config, Origin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use weir_tests::bench::{chunked_frame, encode_source, split};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    if mode == "delay" || mode == "all" {
        delay().await;
    }
    if mode == "memory" || mode == "all" {
        memory().await;
    }
    if mode == "window" || mode == "all" {
        window().await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(name: &str, mut d: Vec<Duration>) -> (Duration, Duration) {
    d.sort();
    let (p50, p99) = (percentile(&d, 0.5), percentile(&d, 0.99));
    println!(
        "{name:<34} n={:<5} p50={:>8.1?} p99={:>8.1?} max={:>8.1?}",
        d.len(),
        p50,
        p99,
        d[d.len() - 1]
    );
    (p50, p99)
}

async fn delay() {
    let (init, chunks) = split(&encode_source(30));
    println!(
        "source: {} chunks of one frame each (640x360 H.264, 30 s)",
        chunks.len()
    );

    // weir: a chunked POST into an in-process origin; a subscriber notes publications.
    let (origin, addr) = start_origin().await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    s.write_all(
        b"POST /ingest/bench/v1 HTTP/1.1\r\nHost: bench\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .await
    .unwrap();
    s.write_all(&chunked_frame(&init)).await.unwrap();
    let ch = origin.wait_channel("bench").await;
    let mut rx = ch.subscribe();
    let mut weir = Vec::new();
    for (bytes, end) in &chunks {
        let framed = chunked_frame(bytes);
        s.write_all(&framed).await.unwrap();
        let sent = Instant::now();
        rx.wait_for(|snap| {
            snap.track("v1")
                .and_then(|t| t.end())
                .is_some_and(|e| e >= *end)
        })
        .await
        .unwrap();
        weir.push(sent.elapsed());
    }

    // Reference: the same framed bytes through a bare TCP socket, read by a task that
    // reports when each chunk's last byte has arrived.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let raddr = l.local_addr().unwrap();
    let (tx, mut arrived) = tokio::sync::mpsc::unbounded_channel::<usize>();
    tokio::spawn(async move {
        let (mut c, _) = l.accept().await.unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0usize;
        while let Ok(n) = c.read(&mut buf).await {
            if n == 0 {
                break;
            }
            total += n;
            let _ = tx.send(total);
        }
    });
    let mut r = TcpStream::connect(raddr).await.unwrap();
    r.set_nodelay(true).unwrap();
    let mut reference = Vec::new();
    let mut expected = 0usize;
    for (bytes, _) in &chunks {
        let framed = chunked_frame(bytes);
        expected += framed.len();
        r.write_all(&framed).await.unwrap();
        let sent = Instant::now();
        while arrived.recv().await.unwrap() < expected {}
        reference.push(sent.elapsed());
    }
    println!("ingest-to-available delay of one CMAF chunk (in-process, sequential):");
    let (w50, w99) = report("weir (HTTP ingest -> published)", weir);
    let (r50, r99) = report("reference (bare TCP read)", reference);
    println!(
        "ratio weir/reference: p50 {:.1}x  p99 {:.1}x",
        w50.as_secs_f64() / r50.as_secs_f64(),
        w99.as_secs_f64() / r99.as_secs_f64()
    );
}

/// Publication delay of the real source's chunks appended after `prefill_segments`
/// segments of synthetic media, with a window that holds them all.
async fn publication_delay(
    init: &[u8],
    chunks: &[(Vec<u8>, u64)],
    prefill_segments: u32,
) -> Vec<Duration> {
    let mut config = Config::default();
    config.timing.window_segments = prefill_segments.max(10);
    let (origin, addr) = start_origin_with(config).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    s.write_all(b"POST /ingest/w/v1 HTTP/1.1\r\nHost: bench\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    s.write_all(&chunked_frame(init)).await.unwrap();
    let ch = origin.wait_channel("w").await;
    // Prefill: one chunk per 2 s segment (a key frame then 59 frames of 1 byte).
    let track = weir_tests::bench::track_id(init);
    let offset = u64::from(prefill_segments) * 30_720;
    for seg in 0..u64::from(prefill_segments) {
        let c = weir_tests::bench::synthetic_chunk(track, seg as u32 + 1, seg * 30_720, 60, 512);
        s.write_all(&chunked_frame(&c)).await.unwrap();
    }
    let mut rx = ch.subscribe();
    rx.wait_for(|snap| {
        snap.track("v1")
            .and_then(|t| t.end())
            .is_some_and(|e| e >= offset)
    })
    .await
    .unwrap();
    let held = ch.snapshot().track("v1").map_or(0, |t| t.segments.len());
    println!("  window {prefill_segments:>5} segments: {held} held before measuring");
    let mut out = Vec::new();
    for (bytes, end) in chunks {
        let c = weir_tests::bench::with_decode_time_offset(bytes, offset);
        s.write_all(&chunked_frame(&c)).await.unwrap();
        let sent = Instant::now();
        let want = end + offset;
        rx.wait_for(|snap| {
            snap.track("v1")
                .and_then(|t| t.end())
                .is_some_and(|e| e >= want)
        })
        .await
        .unwrap();
        out.push(sent.elapsed());
    }
    out
}

async fn window() {
    let (init, chunks) = split(&encode_source(30));
    println!(
        "chunk ingest -> published with a 20 s and a 2 h window (same process, interleaved x3):"
    );
    let (mut small, mut large) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        small.extend(publication_delay(&init, &chunks, 10).await);
        large.extend(publication_delay(&init, &chunks, 3_600).await);
    }
    let (s50, s99) = report("weir, 20 s window (10 segments)", small);
    let (l50, l99) = report("weir, 2 h window (3,600 segments)", large);
    println!(
        "ratio 2 h / 20 s: p50 {:.2}x  p99 {:.2}x",
        l50.as_secs_f64() / s50.as_secs_f64(),
        l99.as_secs_f64() / s99.as_secs_f64()
    );
}

/// Peak resident memory of this process, from /proc (kB).
fn vm_hwm_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Starts an in-process origin (default timing) on port-0 listeners; returns it and
/// its ingest address.
async fn start_origin() -> (Arc<Origin>, std::net::SocketAddr) {
    start_origin_with(Config::default()).await
}

/// Starts an in-process origin with `config` on port-0 listeners.
async fn start_origin_with(config: Config) -> (Arc<Origin>, std::net::SocketAddr) {
    let ingest = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let playback = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = ingest.local_addr().unwrap();
    let origin = Arc::new(Origin::new(config));
    tokio::spawn(origin::run(
        ingest,
        playback,
        origin.clone(),
        std::future::pending(),
    ));
    (origin, addr)
}

async fn memory() {
    let (origin, addr) = start_origin().await;
    let before = vm_hwm_kb();
    let x264 = "-preset veryfast -tune zerolatency -profile:v high -pix_fmt yuv420p -g 30 -keyint_min 30 -sc_threshold 0";
    let frag = "-f mp4 -movflags +frag_every_frame+empty_moov+default_base_moof+cmaf";
    let cmd = format!(
        "ffmpeg -v error -nostdin -re -f lavfi -i testsrc2=size=640x360:rate=30:duration=60 -re -f lavfi -i sine=frequency=1000:sample_rate=48000:duration=60 \
         -map 0:v -c:v libx264 -b:v 800k {x264} {frag} http://{addr}/ingest/mem/v360.mp4 \
         -map 0:v -c:v libx264 -b:v 300k -s 320x180 {x264} {frag} http://{addr}/ingest/mem/v180.mp4 \
         -map 1:a -c:a aac -b:a 96k -ar 48000 -ac 2 {frag} http://{addr}/ingest/mem/audio.mp4"
    );
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .spawn()
        .expect("ffmpeg");
    let ch = origin.wait_channel("mem").await;
    let mut held_peak = 0u64;
    let mut rx = ch.subscribe();
    loop {
        tokio::select! {
            _ = child.wait() => break,
            r = rx.changed() => { if r.is_err() { break; } held_peak = held_peak.max(ch.held_bytes()); }
        }
    }
    let after = vm_hwm_kb();
    let snap = ch.snapshot();
    println!(
        "memory, one channel of 3 renditions (800k + 300k video, 96k AAC), 60 s pushed by ffmpeg:"
    );
    println!(
        "  peak RSS of the process        {:>8} kB (before ingest: {} kB)",
        after, before
    );
    println!(
        "  peak media bytes held (floor)  {:>8} kB",
        held_peak / 1024
    );
    println!(
        "  growth over idle / held        {:.2}x",
        (after - before) as f64 / (held_peak as f64 / 1024.0)
    );
    for t in &snap.tracks {
        println!(
            "  {:<6} segments held {} (window {} + extra)",
            t.meta.id,
            t.segments.len(),
            snap.config.window_segments
        );
    }
}
