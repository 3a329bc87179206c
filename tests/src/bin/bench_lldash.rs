//! LL-DASH benchmarks (not tests): weir's LL-DASH beside ffmpeg's own LL-DASH output
//! served by a minimal chunked HTTP server (the reference), both fed by one ffmpeg
//! encode and measured the same way in the same run:
//!
//! `cargo run --release -p weir-tests --bin bench-lldash [latency|fanout|all]`
//!
//! - `latency`: one ffmpeg process encodes `testsrc2` (1 s GOP) once and sends it, through
//!   its `tee` muxer, (a) to weir's ingest as one long chunked POST of fragmented MP4 and
//!   (b) to its own DASH muxer in low-latency mode, which PUTs to the reference server.
//!   dash.js 5.2.1 (weir's player page, Debian's Chromium) plays each origin in turn
//!   (never both at once; who plays first alternates per setting): at each MPD's own
//!   latency target (ServiceDescription), then down a ladder of `liveDelay` settings
//!   until a run stalls. Latency is dash.js's `getCurrentLiveLatency()` over
//!   [`MEASURE_S`] s of playback.
//! - `fanout`: 1,000 concurrent readers attach to the segment in progress (a real encode
//!   paced at 30 fps by this process, one CMAF chunk per frame) on weir and on the
//!   reference server: time to first byte, and per-chunk delay (a reader has the chunk's
//!   last byte − the ingest side wrote the chunk).
//!
//! Both servers run in this process (weir from the `origin` crate, the reference on
//! hyper), on 127.0.0.1 port-0 listeners.
//!
//! Needs: ffmpeg, node with tests/browser's and web/'s npm packages
//! (`scripts/setup.sh --test`), Debian's chromium, and `ulimit -n` of a few thousand.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use origin::Origin;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, watch};
use weir_tests::bench::{InProcessOrigin, chunked_frame, encode_source, split};

/// dash.js `liveDelay` settings (s), tried in this order for each origin; an origin
/// stops descending at its first run that does not hold. No 1.0 s step: both MPDs'
/// own 0.5 s targets are played first, and both origins held 0.15 s in trials, so the
/// time budget (~15 min) goes to 0.1 s instead.
const LADDER_S: [f64; 5] = [0.5, 0.3, 0.2, 0.15, 0.1];
/// Seconds of playback whose latency is measured in each run.
const MEASURE_S: usize = 60;
/// Seconds of playback after the start before measuring (dash.js converging on its
/// target); stalls count from the start.
const SETTLE_S: usize = 5;
/// A run that is not playing after this many seconds has failed.
const START_LIMIT_S: usize = 15;
/// A run holds when, after the start, the playhead advances at least this much (s) in
/// every 1 s sample and no `waiting` event fires.
const MIN_ADVANCE_S: f64 = 0.5;
/// `-target_latency` of ffmpeg's MPD (its ServiceDescription `Latency@target`): weir's
/// own MPD target, so that the "own target" row asks dash.js for the same thing twice.
const FFMPEG_TARGET_LATENCY: &str = "0.5";
/// `-min_playback_rate` / `-max_playback_rate` of ffmpeg's MPD: weir's catch-up range.
const FFMPEG_PLAYBACK_RATES: (&str, &str) = ("0.9", "1.1");
/// Channel name of the live source on weir; its one track is `v`.
const CHANNEL: &str = "lldash";
/// Where ffmpeg's DASH muxer PUTs on the reference server.
const FFMPEG_MPD_PATH: &str = "/ff/manifest.mpd";

/// Concurrent readers of one growing segment.
const READERS: usize = 1_000;
/// Readers connecting at once (half the listen queue of a default tokio listener).
const CONNECT_BATCH: usize = 64;
/// Rounds of the fan-out measurement (weir, then the reference, each round).
const FANOUT_ROUNDS: usize = 3;
/// Seconds of encoded media paced into each server per round.
const FANOUT_SOURCE_S: u32 = 5;
/// Frames per segment of the paced source (2 s at 30 fps: weir's default segment
/// duration for a 1 s GOP; the reference gets one PUT per segment of this many frames).
const FRAMES_PER_SEGMENT: usize = 60;
/// The readers attach when this frame has been written: 10 frames into segment 2.
const ATTACH_FRAME: usize = 70;
/// Frame interval of the paced source (30 fps).
const FRAME_INTERVAL: Duration = Duration::from_nanos(33_333_333);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo")
        .to_path_buf();
    let weir = Weir::start(&repo).await;
    let reference = RefServer::start().await;
    if matches!(mode.as_str(), "latency" | "all") {
        latency(&repo, &weir, &reference).await;
    }
    if matches!(mode.as_str(), "fanout" | "all") {
        fanout(&weir, &reference).await;
    }
}

// ---------------------------------------------------------------------------------
// weir, in process
// ---------------------------------------------------------------------------------

/// weir's origin in this process ([`InProcessOrigin`]).
type Weir = InProcessOrigin;

// ---------------------------------------------------------------------------------
// The reference: a minimal chunked HTTP server
// ---------------------------------------------------------------------------------

/// An upload as its readers see it: the chunks received so far, and whether it ended.
#[derive(Default)]
struct UploadState {
    chunks: Vec<Bytes>,
    done: bool,
}

/// Uploads by path, and a counter bumped whenever one starts (for held GETs).
struct Uploads {
    by_path: Mutex<HashMap<String, Arc<watch::Sender<UploadState>>>>,
    created: watch::Sender<u64>,
}

/// The reference origin: stores PUT/POST uploads by path and serves them, streaming
/// an upload still in progress chunk by chunk (what an LL-DASH origin must do, and no
/// more). `GET /time` answers the wall clock (ISO 8601, ms); a GET for a path not yet
/// uploaded waits up to 1 s for the upload to start; DELETE answers 204. Every answer
/// carries CORS headers, so weir's player page can play from it.
struct RefServer {
    addr: SocketAddr,
}

impl RefServer {
    /// Starts the server on 127.0.0.1 port 0.
    async fn start() -> RefServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind reference server");
        let addr = listener.local_addr().expect("reference address");
        let uploads = Arc::new(Uploads {
            by_path: Mutex::default(),
            created: watch::Sender::new(0),
        });
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let uploads = uploads.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let uploads = uploads.clone();
                        async move { Ok::<_, Infallible>(handle(&uploads, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        RefServer { addr }
    }
}

/// Answers one request of the reference server.
async fn handle(uploads: &Uploads, req: Request<Incoming>) -> Response<RefBody> {
    let path = req.uri().path().to_string();
    match *req.method() {
        Method::PUT | Method::POST => {
            receive(uploads, path.clone(), req.into_body()).await;
            respond(StatusCode::CREATED, &path, RefBody::empty())
        }
        Method::DELETE => {
            // ffmpeg sends an empty chunked body with its DELETEs.
            let _ = req.into_body().collect().await;
            uploads.by_path.lock().expect("uploads").remove(&path);
            respond(StatusCode::NO_CONTENT, &path, RefBody::empty())
        }
        Method::GET | Method::HEAD if path == "/time" => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as i64);
            let text = timeline::time::format_iso8601_micros(now);
            respond(StatusCode::OK, &path, RefBody::whole(text.into()))
        }
        Method::GET | Method::HEAD => serve_upload(uploads, &path).await,
        Method::OPTIONS => respond(StatusCode::NO_CONTENT, &path, RefBody::empty()),
        _ => respond(StatusCode::METHOD_NOT_ALLOWED, &path, RefBody::empty()),
    }
}

/// Stores the body of an upload of `path` as it arrives, one entry per body frame.
async fn receive(uploads: &Uploads, path: String, mut body: Incoming) {
    let upload = Arc::new(watch::Sender::new(UploadState::default()));
    uploads
        .by_path
        .lock()
        .expect("uploads")
        .insert(path, upload.clone());
    uploads.created.send_modify(|n| *n += 1);
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        if let Ok(data) = frame.into_data()
            && !data.is_empty()
        {
            upload.send_modify(|s| s.chunks.push(data));
        }
    }
    upload.send_modify(|s| s.done = true);
}

/// A GET of an upload: whole when it has ended, else streamed as it grows; held up to
/// 1 s when it has not started yet, then 404.
async fn serve_upload(uploads: &Uploads, path: &str) -> Response<RefBody> {
    let mut created = uploads.created.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        let found = uploads.by_path.lock().expect("uploads").get(path).cloned();
        if let Some(upload) = found {
            return respond(StatusCode::OK, path, stream(&upload));
        }
        if !matches!(
            tokio::time::timeout_at(deadline, created.changed()).await,
            Ok(Ok(()))
        ) {
            return respond(StatusCode::NOT_FOUND, path, RefBody::empty());
        }
    }
}

/// The body of an upload: everything at once when it has ended, else what is there
/// and then each new chunk as it arrives, until the upload ends.
fn stream(upload: &watch::Sender<UploadState>) -> RefBody {
    let mut rx = upload.subscribe();
    {
        let s = rx.borrow();
        if s.done {
            return RefBody::whole(s.chunks.concat().into());
        }
    }
    let (tx, body) = mpsc::channel(256);
    tokio::spawn(async move {
        let mut sent = 0;
        loop {
            let (new, done) = {
                let s = rx.borrow_and_update();
                (s.chunks[sent..].to_vec(), s.done)
            };
            sent += new.len();
            for chunk in new {
                if tx.send(chunk).await.is_err() {
                    return;
                }
            }
            if done || rx.changed().await.is_err() {
                return;
            }
        }
    });
    RefBody::Live(body)
}

/// A response of the reference server with its content type and CORS headers.
fn respond(status: StatusCode, path: &str, body: RefBody) -> Response<RefBody> {
    let kind = if path == "/time" {
        "text/plain"
    } else if path.ends_with(".mpd") {
        "application/dash+xml"
    } else if path.ends_with(".m4s") || path.ends_with(".mp4") {
        "video/mp4"
    } else {
        "application/octet-stream"
    };
    Response::builder()
        .status(status)
        .header("content-type", kind)
        .header("cache-control", "no-cache")
        .header("access-control-allow-origin", "*")
        .header("access-control-expose-headers", "Age, Date")
        .body(body)
        .expect("response")
}

/// Response body of the reference server: one buffer, or chunks fed by a task.
enum RefBody {
    /// A whole body (taken when sent).
    Whole(Option<Bytes>),
    /// A growing upload's chunks, as they arrive.
    Live(mpsc::Receiver<Bytes>),
}

impl RefBody {
    fn empty() -> RefBody {
        RefBody::Whole(None)
    }

    fn whole(data: Bytes) -> RefBody {
        RefBody::Whole(Some(data))
    }
}

impl Body for RefBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            RefBody::Whole(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            RefBody::Live(rx) => rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, RefBody::Whole(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RefBody::Whole(Some(b)) => SizeHint::with_exact(b.len() as u64),
            RefBody::Whole(None) => SizeHint::with_exact(0),
            RefBody::Live(_) => SizeHint::default(),
        }
    }
}

// ---------------------------------------------------------------------------------
// The live source
// ---------------------------------------------------------------------------------

/// The one ffmpeg process feeding both origins, killed (by its own handle) when dropped.
struct Source(std::process::Child);

impl Source {
    /// Spawns ffmpeg: one x264 encode of `testsrc2` in real time, for `seconds`, sent by
    /// its tee muxer to weir's ingest (fragmented MP4, one chunk per frame, chunked
    /// POST) and to its own DASH muxer in low-latency mode, which PUTs to `reference`.
    fn spawn(weir_ingest: SocketAddr, reference: SocketAddr, seconds: u64) -> Source {
        let weir = format!(
            "[f=mp4:movflags=+frag_every_frame+empty_moov+default_base_moof+cmaf]\
             http://{weir_ingest}/ingest/{CHANNEL}/v.mp4"
        );
        // Inside the tee's option list ':' separates options, and the tee unescapes its
        // argument twice (slave list, then option list): the time URL's ':' become '\\:'.
        let time_url = format!(
            "http\\\\://{}\\\\:{}/time",
            reference.ip(),
            reference.port()
        );
        let (min_rate, max_rate) = FFMPEG_PLAYBACK_RATES;
        let dash = format!(
            "[f=dash:seg_duration=1:streaming=1:ldash=1:method=PUT:http_persistent=1:\
             use_template=1:use_timeline=0:frag_type=every_frame:\
             target_latency={FFMPEG_TARGET_LATENCY}:min_playback_rate={min_rate}:\
             max_playback_rate={max_rate}:write_prft=1:utc_timing_url={time_url}:\
             window_size=10:extra_window_size=5:format_options=movflags=cmaf]\
             http://{reference}{FFMPEG_MPD_PATH}"
        );
        let child = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-re"])
            .args(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"])
            .args(["-map", "0:v", "-c:v", "libx264", "-preset", "veryfast"])
            .args(["-tune", "zerolatency", "-profile:v", "high", "-pix_fmt"])
            .args(["yuv420p", "-g", "30", "-keyint_min", "30", "-sc_threshold"])
            .args(["0", "-b:v", "800k", "-flags", "+global_header"])
            .args(["-t", &seconds.to_string(), "-f", "tee"])
            .arg(format!("{weir}|{dash}"))
            .stdin(Stdio::null())
            .spawn()
            .expect("ffmpeg (scripts/setup.sh installs it)");
        Source(child)
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---------------------------------------------------------------------------------
// A minimal HTTP/1.1 client
// ---------------------------------------------------------------------------------

/// One GET on its own connection; (status, body) once the server closes.
async fn get(addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return (0, Vec::new());
    };
    let req = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
    let mut raw = Vec::new();
    if s.write_all(req.as_bytes()).await.is_err() || s.read_to_end(&mut raw).await.is_err() {
        return (0, Vec::new());
    }
    let mut reader = ResponseReader::default();
    let (status, body) = (reader.status(&mut raw), reader.body(&mut raw));
    (status.unwrap_or(0), body)
}

/// Incremental reader of an HTTP/1.1 response: the head, then the body, unchunked when
/// it is chunked (otherwise everything up to the end of the connection).
#[derive(Default)]
struct ResponseReader {
    head: Option<(u16, bool)>,
    /// Data bytes left in the current chunk, and whether its CRLF is still to come.
    chunk_left: usize,
    crlf_left: bool,
    ended: bool,
}

impl ResponseReader {
    /// The status once the head is in (the head is removed from `raw`).
    fn status(&mut self, raw: &mut Vec<u8>) -> Option<u16> {
        if self.head.is_none() {
            let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let chunked = head.contains("transfer-encoding: chunked");
            self.head = Some((status, chunked));
            raw.drain(..end + 4);
        }
        self.head.map(|(s, _)| s)
    }

    /// Takes the body bytes decodable from `raw` (after the head).
    fn body(&mut self, raw: &mut Vec<u8>) -> Vec<u8> {
        let Some((_, chunked)) = self.head else {
            return Vec::new();
        };
        if !chunked {
            return std::mem::take(raw);
        }
        let mut out = Vec::new();
        let mut at = 0;
        while !self.ended {
            if self.chunk_left > 0 {
                let n = self.chunk_left.min(raw.len() - at);
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&raw[at..at + n]);
                at += n;
                self.chunk_left -= n;
            } else if self.crlf_left {
                if raw.len() - at < 2 {
                    break;
                }
                at += 2;
                self.crlf_left = false;
            } else {
                let Some(line) = raw[at..].windows(2).position(|w| w == b"\r\n") else {
                    break;
                };
                let size = std::str::from_utf8(&raw[at..at + line])
                    .ok()
                    .and_then(|l| usize::from_str_radix(l.split(';').next()?.trim(), 16).ok())
                    .unwrap_or(0);
                at += line + 2;
                self.ended = size == 0;
                self.chunk_left = size;
                self.crlf_left = size > 0;
            }
        }
        raw.drain(..at);
        out
    }
}

// ---------------------------------------------------------------------------------
// Latency: dash.js on both origins
// ---------------------------------------------------------------------------------

/// The page driver, run by node from tests/browser (where playwright-core is): opens
/// the page in Debian's Chromium, prints `SAMPLE {playerState}` once per second (with
/// the page's events since the previous sample as `newEvents`) until a line arrives on
/// stdin or `LLDASH_MAX_S` seconds pass, then `END [page errors]`. (tests/browser/
/// play.mjs drops the events, and a run must stop early once it stalls.)
const DRIVER: &str = r#"
import { chromium } from 'playwright-core';
const max = +process.env.LLDASH_MAX_S;
let stop = false;
process.stdin.on('data', () => { stop = true; });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/lib/chromium/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
});
const pageErrors = [];
try {
  const page = await browser.newPage();
  page.on('pageerror', e => pageErrors.push(String(e).slice(0, 300)));
  await page.goto(process.env.LLDASH_PAGE);
  await page.waitForFunction(() => typeof window.playerState === 'function');
  let seen = 0;
  for (let i = 1; i <= max && !stop; i++) {
    await page.waitForTimeout(1000);
    const s = await page.evaluate(() => ({ ...window.playerState(), perf: performance.now() / 1000 }));
    s.newEvents = s.events.slice(seen);
    seen = s.events.length;
    s.errorCount = s.errors.length;
    s.lastError = s.errors[s.errors.length - 1] || null;
    delete s.events;
    delete s.errors;
    console.log('SAMPLE ' + JSON.stringify(s));
  }
} catch (e) {
  pageErrors.push('driver: ' + String(e).slice(0, 300));
} finally {
  await browser.close();
}
console.log('END ' + JSON.stringify(pageErrors));
process.exit(0);
"#;

/// Which origin a run plays.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Weir,
    Ffmpeg,
}

/// A dash.js setting: the MPD's own target, or a `liveDelay` override (s).
#[derive(Clone, Copy)]
enum Setting {
    Mpd,
    LiveDelay(f64),
}

impl Setting {
    fn label(self) -> String {
        match self {
            Setting::Mpd => "MPD target".into(),
            Setting::LiveDelay(d) => format!("liveDelay {d}"),
        }
    }
}

/// Judges a run sample by sample: when it started, its stalls, and when it is over.
#[derive(Default)]
struct Judge {
    /// Stop at the first stall (ladder runs: the run has failed by then).
    stop_on_stall: bool,
    samples: Vec<Value>,
    start: Option<usize>,
    /// The first stall (or the failure to start), described.
    first_stall: Option<String>,
    /// 1 s samples after the start in which the playhead advanced < [`MIN_ADVANCE_S`].
    slow_seconds: usize,
    /// `waiting` events after the start.
    waiting: usize,
}

impl Judge {
    fn new(stop_on_stall: bool) -> Judge {
        Judge {
            stop_on_stall,
            ..Judge::default()
        }
    }

    /// Takes the next 1 s sample; true once the run is over (measured long enough,
    /// never started, or stalled when stopping at a stall).
    fn push(&mut self, s: Value) -> bool {
        let i = self.samples.len();
        let t = current_time(&s);
        match self.start {
            None if t > 0.0 && s["readyState"].as_u64().unwrap_or(0) >= 3 => {
                self.start = Some(i);
            }
            None if i + 1 >= START_LIMIT_S => {
                self.first_stall = Some(format!("not playing after {START_LIMIT_S} s"));
                self.samples.push(s);
                return true;
            }
            None => {}
            Some(start) => {
                let advanced = t - current_time(&self.samples[i - 1]);
                if advanced < MIN_ADVANCE_S {
                    self.slow_seconds += 1;
                    self.first_stall.get_or_insert(format!(
                        "playhead +{advanced:.2} s in 1 s, {} s after start",
                        i - start
                    ));
                }
                let waiting = s["newEvents"]
                    .as_array()
                    .map_or(0, |e| e.iter().filter(|e| e["name"] == "waiting").count());
                if waiting > 0 {
                    self.waiting += waiting;
                    self.first_stall
                        .get_or_insert(format!("'waiting' {} s after start", i - start));
                }
            }
        }
        self.samples.push(s);
        (self.stop_on_stall && self.first_stall.is_some())
            || self
                .start
                .is_some_and(|st| self.samples.len() - 1 - st >= SETTLE_S + MEASURE_S)
    }

    /// The measured samples: [`MEASURE_S`] after [`SETTLE_S`] s of playback (fewer when
    /// the run stopped early).
    fn measured(&self) -> &[Value] {
        let Some(start) = self.start else { return &[] };
        let from = (start + 1 + SETTLE_S).min(self.samples.len());
        let to = (from + MEASURE_S).min(self.samples.len());
        &self.samples[from..to]
    }
}

fn current_time(s: &Value) -> f64 {
    s["currentTime"].as_f64().unwrap_or(0.0)
}

/// What one run gave.
struct RunResult {
    /// dash.js live latency (s): median, p95, samples.
    latency: Option<(f64, f64, usize)>,
    /// Latency measured on one clock for both origins (see [`Anchors`]): median, p95.
    common: Option<(f64, f64)>,
    /// dash.js's target live delay (s), as it reported it.
    target: Option<f64>,
    /// Why the run did not hold, if it did not: its first stall.
    stall: Option<String>,
    /// Slow 1 s samples and `waiting` events after the start.
    stalls: (usize, usize),
    /// Player errors and page errors.
    errors: u64,
    /// Worst fall-behind of the encoder vs real time during the run (s).
    source_lag: f64,
}

impl RunResult {
    fn held(&self) -> bool {
        self.stall.is_none() && self.latency.is_some()
    }
}

/// One dash.js run to make.
struct Run<'a> {
    /// The player page's URL.
    page: &'a str,
    /// End the run at its first stall.
    stop_on_stall: bool,
    /// weir's anchor (Unix s of media time 0), for the one-clock latency.
    anchor_s: Option<f64>,
}

/// Plays a page in Chromium until the run is judged; follows weir's channel meanwhile to
/// see whether the encoder kept up.
async fn play(repo: &Path, weir: &Weir, run: &Run<'_>) -> RunResult {
    let lag = SourceLag::follow(&weir.origin);
    let max = START_LIMIT_S + SETTLE_S + MEASURE_S + 5;
    let mut child = tokio::process::Command::new("node")
        .current_dir(repo.join("tests/browser"))
        .args(["--input-type=module", "-e", DRIVER])
        .env("LLDASH_PAGE", run.page)
        .env("LLDASH_MAX_S", max.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node (scripts/setup.sh --test installs tests/browser)");
    let mut stdin = child.stdin.take();
    let mut lines = BufReader::new(child.stdout.take().expect("driver stdout")).lines();
    let mut judge = Judge::new(run.stop_on_stall);
    let mut page_errors: Vec<Value> = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(json) = line.strip_prefix("SAMPLE ") {
            let sample: Value = serde_json::from_str(json).expect("driver sample");
            if judge.push(sample)
                && let Some(mut w) = stdin.take()
            {
                let _ = w.write_all(b"stop\n").await;
            }
        } else if let Some(json) = line.strip_prefix("END ") {
            page_errors = serde_json::from_str(json).unwrap_or_default();
        }
    }
    let _ = child.wait().await;
    let measured = judge.measured();
    let mut latency: Vec<f64> = measured
        .iter()
        .filter_map(|s| s["latency"].as_f64())
        .filter(|l| l.is_finite())
        .collect();
    // The same samples on one clock: wall clock − (anchor + media time shown).
    let mut common: Vec<f64> = run
        .anchor_s
        .map(|a| {
            measured
                .iter()
                .filter_map(|s| Some(s["now"].as_f64()? / 1000.0 - a - current_time(s)))
                .collect()
        })
        .unwrap_or_default();
    let last = judge.samples.last();
    RunResult {
        latency: percentiles(&mut latency).map(|(m, p)| (m, p, latency.len())),
        common: percentiles(&mut common),
        target: last.and_then(|s| s["targetLatency"].as_f64()),
        stall: judge.first_stall.clone(),
        stalls: (judge.slow_seconds, judge.waiting),
        errors: last.and_then(|s| s["errorCount"].as_u64()).unwrap_or(0) + page_errors.len() as u64,
        source_lag: lag.worst(),
    }
}

/// Median and p95 of `v` (sorted in place), or `None` when empty.
fn percentiles(v: &mut [f64]) -> Option<(f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    Some((at(0.5), at(0.95)))
}

/// Follows weir's live channel: how far the encoder falls behind real time.
struct SourceLag {
    worst_us: Arc<Mutex<i64>>,
    task: tokio::task::JoinHandle<()>,
}

impl SourceLag {
    fn follow(origin: &Origin) -> SourceLag {
        let worst_us = Arc::new(Mutex::new(0i64));
        let sink = worst_us.clone();
        let mut rx = origin.channel(CHANNEL).map(|c| c.subscribe());
        let task = tokio::spawn(async move {
            let Some(rx) = rx.as_mut() else { return };
            let mut ahead_max = i64::MIN;
            while rx.changed().await.is_ok() {
                let snap = rx.borrow_and_update().clone();
                let Some(end) = snap
                    .track("v")
                    .and_then(|t| Some((t.end()?, t.meta.timescale)))
                else {
                    continue;
                };
                let media_us = timeline::time::to_micros(end.0, end.1) as i64;
                let ahead = media_us - origin::clock::now_us();
                ahead_max = ahead_max.max(ahead);
                let mut w = sink.lock().expect("lag");
                *w = (*w).max(ahead_max - ahead);
            }
        });
        SourceLag { worst_us, task }
    }

    fn worst(&self) -> f64 {
        *self.worst_us.lock().expect("lag") as f64 / 1e6
    }
}

impl Drop for SourceLag {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The wall-clock time each MPD gives media time zero, in Unix seconds. dash.js's
/// latency is the wall clock minus the time its MPD gives the frame shown, so two MPDs
/// that anchor the same media differently report different latencies for the same
/// playback; the difference is printed, and each run is also measured on weir's anchor
/// for both (the encode is one, so media time t is the same frame on both).
struct Anchors {
    weir_s: Option<f64>,
    ffmpeg_s: Option<f64>,
}

/// Waits for both MPDs, prints what matters in them, and returns their anchors.
async fn wait_for_mpds(weir: &Weir, reference: &RefServer) -> Anchors {
    let weir_mpd = wait_for(weir.playback, &format!("/{CHANNEL}/manifest.mpd")).await;
    let ff_mpd = wait_for(reference.addr, FFMPEG_MPD_PATH).await;
    for (name, mpd) in [("weir", &weir_mpd), ("ffmpeg", &ff_mpd)] {
        println!(
            "  {name:<6} MPD: availabilityStartTime {}, Latency@target {} ms, PlaybackRate {}-{}, \
             SegmentTemplate@duration/timescale {}/{}, availabilityTimeOffset {}",
            attr(mpd, "MPD", "availabilityStartTime").unwrap_or("-"),
            attr(mpd, "Latency", "target").unwrap_or("-"),
            attr(mpd, "PlaybackRate", "min").unwrap_or("-"),
            attr(mpd, "PlaybackRate", "max").unwrap_or("-"),
            attr(mpd, "SegmentTemplate", "duration").unwrap_or("-"),
            attr(mpd, "SegmentTemplate", "timescale").unwrap_or("-"),
            attr(mpd, "SegmentTemplate", "availabilityTimeOffset").unwrap_or("-"),
        );
    }
    let weir_s = weir
        .origin
        .channel(CHANNEL)
        .and_then(|c| c.snapshot().epoch_us)
        .map(|e| e as f64 / 1e6);
    let ffmpeg_s = media_zero_s(&ff_mpd);
    if let (Some(w), Some(f)) = (weir_s, ffmpeg_s) {
        println!(
            "  wall clock of media time 0: weir {w:.3}, ffmpeg {f:.3} (weir − ffmpeg {:+.3} s)",
            w - f
        );
    }
    Anchors { weir_s, ffmpeg_s }
}

/// GETs `path` until it answers 200 (the channel or upload exists); its body as text.
async fn wait_for(addr: SocketAddr, path: &str) -> String {
    for _ in 0..600 {
        let (status, body) = get(addr, path).await;
        if status == 200 {
            return String::from_utf8_lossy(&body).into_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} on {addr} never answered 200 (is ffmpeg running?)");
}

/// The value of attribute `name` of the first `element` of `xml`.
fn attr<'a>(xml: &'a str, element: &str, name: &str) -> Option<&'a str> {
    let open = format!("<{element}");
    let at = xml
        .match_indices(&open)
        .map(|(i, _)| i)
        .find(|&i| xml[i + open.len()..].starts_with(char::is_whitespace))?;
    let tag = &xml[at..at + xml[at..].find('>')?];
    let key = format!("{name}=\"");
    let v = tag
        .match_indices(&key)
        .map(|(i, _)| i)
        .find(|&i| tag[..i].ends_with(char::is_whitespace))?
        + key.len();
    Some(&tag[v..v + tag[v..].find('"')?])
}

/// The wall-clock time (Unix s) an MPD gives media time zero of its first
/// Representation: availabilityStartTime + Period@start − presentationTimeOffset.
fn media_zero_s(mpd: &str) -> Option<f64> {
    let ast = parse_iso8601_s(attr(mpd, "MPD", "availabilityStartTime")?)?;
    let start = attr(mpd, "Period", "start").map_or(Some(0.0), parse_duration_s)?;
    let timescale: f64 = attr(mpd, "SegmentTemplate", "timescale")
        .unwrap_or("1")
        .parse()
        .ok()?;
    let pto: f64 = attr(mpd, "SegmentTemplate", "presentationTimeOffset")
        .unwrap_or("0")
        .parse()
        .ok()?;
    Some(ast + start - pto / timescale)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z` as Unix seconds.
fn parse_iso8601_s(s: &str) -> Option<f64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':');
    let (hh, mm): (i64, i64) = (t.next()?.parse().ok()?, t.next()?.parse().ok()?);
    let ss: f64 = t.next()?.parse().ok()?;
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60) as f64 + ss)
}

/// An `xs:duration` of the form `PT[nH][nM][n.nS]` in seconds.
fn parse_duration_s(s: &str) -> Option<f64> {
    let mut rest = s.strip_prefix("PT")?;
    let mut total = 0.0;
    for (unit, scale) in [('H', 3600.0), ('M', 60.0), ('S', 1.0)] {
        if let Some((n, r)) = rest.split_once(unit) {
            total += n.parse::<f64>().ok()? * scale;
            rest = r;
        }
    }
    Some(total)
}

/// Seconds the live source must run: every run of both origins at its longest, plus
/// start-up (ffmpeg's `-t` bound).
fn source_seconds() -> u64 {
    let runs = 2 * (1 + LADDER_S.len());
    (runs * (START_LIMIT_S + SETTLE_S + MEASURE_S + 10) + 60) as u64
}

/// The latency part: the live source, then dash.js on both origins at each setting.
async fn latency(repo: &Path, weir: &Weir, reference: &RefServer) {
    let started = Instant::now();
    let _source = Source::spawn(weir.ingest, reference.addr, source_seconds());
    println!(
        "LL-DASH latency, dash.js in Chromium; one ffmpeg encode (testsrc2 640x360 30 fps, \
         x264 1 s GOP) to weir and to ffmpeg's DASH muxer (-target_latency \
         {FFMPEG_TARGET_LATENCY}) on the reference server:"
    );
    let anchors = wait_for_mpds(weir, reference).await;
    let weir_page = format!("http://{}/?channel={CHANNEL}&player=dash", weir.playback);
    let ff_page = format!(
        "http://{}/?channel={CHANNEL}&player=dash&src=http://{}{FFMPEG_MPD_PATH}",
        weir.playback, reference.addr
    );
    let mut rows: Vec<(Setting, Option<RunResult>, Option<RunResult>)> = Vec::new();
    let mut open = [true, true];
    let settings =
        std::iter::once(Setting::Mpd).chain(LADDER_S.iter().map(|&d| Setting::LiveDelay(d)));
    for (k, setting) in settings.enumerate() {
        let mut row = (setting, None, None);
        // Who plays first alternates from one setting to the next.
        let order = if k % 2 == 0 {
            [Side::Weir, Side::Ffmpeg]
        } else {
            [Side::Ffmpeg, Side::Weir]
        };
        for side in order {
            let idx = usize::from(side == Side::Ffmpeg);
            if !open[idx] {
                continue;
            }
            let mut page = if side == Side::Weir {
                weir_page.clone()
            } else {
                ff_page.clone()
            };
            if let Setting::LiveDelay(d) = setting {
                page.push_str(&format!("&latency={d}"));
            }
            let run = Run {
                page: &page,
                // The MPD-target runs play their whole time and count their stalls.
                stop_on_stall: matches!(setting, Setting::LiveDelay(_)),
                anchor_s: anchors.weir_s,
            };
            let r = play(repo, weir, &run).await;
            eprintln!(
                "  [{:>4.0} s] {:<6} {:<16} {}",
                started.elapsed().as_secs_f64(),
                side_name(side),
                setting.label(),
                cell(Some(&r))
            );
            // The ladder stops at an origin's first failure; the MPD-target run is
            // outside it.
            if matches!(setting, Setting::LiveDelay(_)) && !r.held() {
                open[idx] = false;
            }
            if side == Side::Weir {
                row.1 = Some(r);
            } else {
                row.2 = Some(r);
            }
        }
        rows.push(row);
        if !open[0] && !open[1] {
            break;
        }
    }
    report_latency(&rows, &anchors);
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Weir => "weir",
        Side::Ffmpeg => "ffmpeg",
    }
}

/// One origin's result as a table cell.
fn cell(r: Option<&RunResult>) -> String {
    let Some(r) = r else {
        return "(not run)".into();
    };
    let lat = r.latency.map_or("no samples".into(), |(m, p, n)| {
        format!("{m:.3} / {p:.3} s (n={n})")
    });
    let common = r.common.map_or(String::new(), |(m, p)| {
        format!(" one-clock {m:.3} / {p:.3}")
    });
    let target = r.target.map_or("-".into(), |t| format!("{t:.2}"));
    let verdict = match &r.stall {
        None => "held".to_string(),
        Some(why) => format!(
            "STALL ({} slow s, {} waiting; first: {why})",
            r.stalls.0, r.stalls.1
        ),
    };
    format!(
        "{lat}{common}  target {target}  errors {}  source lag {:.2} s  {verdict}",
        r.errors, r.source_lag
    )
}

/// Prints every run's figures, the ratios and the lowest `liveDelay` each origin held.
fn report_latency(rows: &[(Setting, Option<RunResult>, Option<RunResult>)], anchors: &Anchors) {
    println!(
        "dash.js getCurrentLiveLatency() median / p95 over {MEASURE_S} s after {SETTLE_S} s \
         of playback (one-clock: wall clock − weir's anchor − currentTime, the same clock \
         for both):"
    );
    for (setting, w, f) in rows {
        println!("  {}", setting.label());
        println!("    weir   {}", cell(w.as_ref()));
        println!("    ffmpeg {}", cell(f.as_ref()));
        let ratio =
            |pick: fn(&RunResult) -> Option<f64>| Some(pick(w.as_ref()?)? / pick(f.as_ref()?)?);
        if let (Some(m), Some(p)) = (
            ratio(|r| r.latency.map(|l| l.0)),
            ratio(|r| r.latency.map(|l| l.1)),
        ) {
            let common = ratio(|r| r.common.map(|c| c.0))
                .map_or(String::new(), |c| format!(", one-clock median {c:.2}x"));
            let both =
                w.as_ref().is_some_and(RunResult::held) && f.as_ref().is_some_and(RunResult::held);
            let note = if both {
                ""
            } else {
                " (a run stalled: partial)"
            };
            println!("    ratio weir/ffmpeg: median {m:.2}x  p95 {p:.2}x{common}{note}");
        }
    }
    for (idx, name) in [(0, "weir"), (1, "ffmpeg")] {
        let lowest = rows
            .iter()
            .filter_map(|(s, w, f)| {
                let r = if idx == 0 { w } else { f };
                match (s, r) {
                    (Setting::LiveDelay(d), Some(r)) if r.held() => Some(*d),
                    _ => None,
                }
            })
            .fold(None, |acc: Option<f64>, d| {
                Some(acc.map_or(d, |a| a.min(d)))
            });
        match lowest {
            Some(d) => println!("  lowest liveDelay {name} held for {MEASURE_S} s: {d} s"),
            None => println!("  lowest liveDelay {name} held for {MEASURE_S} s: none"),
        }
    }
    if let (Some(w), Some(f)) = (anchors.weir_s, anchors.ffmpeg_s) {
        println!(
            "  (the MPDs give media time 0 wall-clock times {:+.3} s apart (weir − ffmpeg): \
             dash.js's latencies of the two compare directly within that)",
            w - f
        );
    }
}

// ---------------------------------------------------------------------------------
// Fan-out: 1,000 readers of a growing segment
// ---------------------------------------------------------------------------------

/// Where the paced source goes.
enum Sink {
    /// weir: one long chunked POST of the init and every frame.
    Weir { conn: TcpStream },
    /// The reference: one chunked PUT per segment of [`FRAMES_PER_SEGMENT`] frames, as
    /// ffmpeg's DASH muxer uploads (the finished uploads' connections are kept open).
    Reference {
        addr: SocketAddr,
        prefix: String,
        conn: Option<TcpStream>,
        finished: Vec<TcpStream>,
    },
}

impl Sink {
    /// Opens weir's ingest of `channel`/v1 and sends the init.
    async fn weir(addr: SocketAddr, channel: &str, init: &[u8]) -> Sink {
        let mut conn = TcpStream::connect(addr).await.expect("connect weir ingest");
        conn.set_nodelay(true).expect("nodelay");
        let head = format!(
            "POST /ingest/{channel}/v1 HTTP/1.1\r\nHost: bench\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        conn.write_all(head.as_bytes()).await.expect("ingest head");
        conn.write_all(&chunked_frame(init))
            .await
            .expect("ingest init");
        Sink::Weir { conn }
    }

    /// Writes frame `i` (its chunk already framed for chunked transfer), opening the
    /// next segment's PUT first on the reference.
    async fn write(&mut self, i: usize, framed: &[u8]) {
        match self {
            Sink::Weir { conn } => conn.write_all(framed).await.expect("ingest write"),
            Sink::Reference {
                addr,
                prefix,
                conn,
                finished,
            } => {
                if i.is_multiple_of(FRAMES_PER_SEGMENT) {
                    if let Some(mut c) = conn.take() {
                        c.write_all(b"0\r\n\r\n").await.expect("end PUT");
                        finished.push(c);
                    }
                    let mut c = TcpStream::connect(*addr).await.expect("connect reference");
                    c.set_nodelay(true).expect("nodelay");
                    let head = format!(
                        "PUT {prefix}/seg-{}.m4s HTTP/1.1\r\nHost: bench\r\nTransfer-Encoding: chunked\r\n\r\n",
                        i / FRAMES_PER_SEGMENT + 1
                    );
                    c.write_all(head.as_bytes()).await.expect("PUT head");
                    *conn = Some(c);
                }
                if let Some(c) = conn {
                    c.write_all(framed).await.expect("PUT write");
                }
            }
        }
    }

    /// Ends the upload in progress.
    async fn finish(&mut self) {
        let conn = match self {
            Sink::Weir { conn } => Some(conn),
            Sink::Reference { conn, .. } => conn.as_mut(),
        };
        if let Some(c) = conn {
            let _ = c.write_all(b"0\r\n\r\n").await;
        }
    }
}

/// The decode time (`tfdt`) of a moof, or of the chunk (moof+mdat) it starts.
fn tfdt(moof: &[u8]) -> Option<u64> {
    let at = moof.windows(4).position(|w| w == b"tfdt")?;
    let field = at + 8;
    if moof.get(at + 4)? == &1 {
        Some(u64::from_be_bytes(
            moof.get(field..field + 8)?.try_into().ok()?,
        ))
    } else {
        Some(u64::from(u32::from_be_bytes(
            moof.get(field..field + 4)?.try_into().ok()?,
        )))
    }
}

/// Finds CMAF chunks in a body as it arrives: the decode time of each chunk whose mdat
/// is complete.
#[derive(Default)]
struct BoxScanner {
    buf: Vec<u8>,
    moof_tfdt: Option<u64>,
}

impl BoxScanner {
    fn push(&mut self, data: &[u8]) -> Vec<u64> {
        self.buf.extend_from_slice(data);
        let mut done = Vec::new();
        let mut at = 0;
        while self.buf.len() - at >= 8 {
            let b = &self.buf[at..];
            let size = match u32::from_be_bytes(b[..4].try_into().expect("4 bytes")) {
                1 if b.len() >= 16 => {
                    u64::from_be_bytes(b[8..16].try_into().expect("8 bytes")) as usize
                }
                1 => break,
                n => n as usize,
            };
            if size < 8 || b.len() < size {
                break;
            }
            match &b[4..8] {
                b"moof" => self.moof_tfdt = tfdt(&b[..size]),
                b"mdat" => done.extend(self.moof_tfdt.take()),
                _ => {}
            }
            at += size;
        }
        self.buf.drain(..at);
        done
    }
}

/// What one reader saw: status, when it sent its request, time to the first byte of
/// the answer, and when each chunk (by decode time) had arrived whole.
struct Reading {
    status: u16,
    sent: Instant,
    ttfb: Duration,
    chunks: Vec<(u64, Instant)>,
}

/// A reader: connects, waits for `go`, GETs the path set in `path`, reads to the end.
async fn reader(
    addr: SocketAddr,
    path: Arc<OnceLock<String>>,
    go: Arc<Notify>,
    ready: mpsc::Sender<()>,
) -> Reading {
    let mut s = TcpStream::connect(addr).await.expect("connect reader");
    s.set_nodelay(true).expect("nodelay");
    let wait = go.notified();
    tokio::pin!(wait);
    wait.as_mut().enable();
    ready.send(()).await.expect("ready");
    wait.await;
    let path = path.get().expect("path set before go");
    let sent = Instant::now();
    let req = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("send GET");
    let mut response = ResponseReader::default();
    let mut scanner = BoxScanner::default();
    let (mut raw, mut buf) = (Vec::new(), vec![0u8; 64 << 10]);
    let (mut ttfb, mut status, mut chunks) = (None, 0, Vec::new());
    loop {
        let n = s.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        let now = Instant::now();
        ttfb.get_or_insert(now - sent);
        raw.extend_from_slice(&buf[..n]);
        if let Some(st) = response.status(&mut raw) {
            status = st;
            let body = response.body(&mut raw);
            chunks.extend(scanner.push(&body).into_iter().map(|t| (t, now)));
        }
        if response.ended {
            break;
        }
    }
    Reading {
        status,
        sent,
        ttfb: ttfb.unwrap_or_default(),
        chunks,
    }
}

/// TTFBs and per-chunk delays of [`READERS`] readers of one growing segment on one
/// server.
#[derive(Default)]
struct Fanout {
    /// Request sent → first byte of the answer.
    ttfb: Vec<Duration>,
    /// Chunks written after the reader's request: chunk written → reader has it.
    delay: Vec<Duration>,
    /// The same, for chunks written once every reader had the first byte of its answer.
    steady: Vec<Duration>,
    /// Fewest and most chunks a reader received.
    chunks_per_reader: Option<(usize, usize)>,
}

impl Fanout {
    /// Adds another round's figures to these.
    fn absorb(&mut self, other: Fanout) {
        self.ttfb.extend(other.ttfb);
        self.delay.extend(other.delay);
        self.steady.extend(other.steady);
        self.chunks_per_reader = match (self.chunks_per_reader, other.chunks_per_reader) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, y) => x.or(y),
        };
    }

    /// Takes the readings of one round, given when each chunk was written.
    fn from_readings(readings: Vec<Reading>, written: &HashMap<u64, Instant>) -> Fanout {
        // Every reader has its answer's first byte: from here on the segment only grows.
        let attached = readings.iter().map(|r| r.sent + r.ttfb).max();
        let mut out = Fanout::default();
        for r in readings {
            assert_eq!(r.status, 200, "a reader of the growing segment gets 200");
            out.ttfb.push(r.ttfb);
            let n = r.chunks.len();
            out.chunks_per_reader = Some(
                out.chunks_per_reader
                    .map_or((n, n), |(lo, hi)| (lo.min(n), hi.max(n))),
            );
            for (decode_time, at) in r.chunks {
                let Some(&w) = written.get(&decode_time) else {
                    panic!("a reader got a chunk (decode time {decode_time}) never written");
                };
                // Only chunks written after the request: earlier ones were waiting for it.
                if w > r.sent {
                    out.delay.push(at.saturating_duration_since(w));
                }
                if attached.is_some_and(|a| w > a) {
                    out.steady.push(at.saturating_duration_since(w));
                }
            }
        }
        out
    }
}

/// Paces `chunks` into `sink` at 30 fps; [`READERS`] readers, connected beforehand,
/// request at once the path `attach` names once frame [`ATTACH_FRAME`] is written.
async fn fanout_round(
    playback: SocketAddr,
    mut sink: Sink,
    chunks: Arc<Vec<(Vec<u8>, u64)>>,
    attach: impl FnOnce() -> String,
) -> Fanout {
    let go = Arc::new(Notify::new());
    let path = Arc::new(OnceLock::new());
    let (ready_tx, mut ready_rx) = mpsc::channel::<()>(READERS);
    // Connected in batches: a burst of 1,000 connects overflows the listen queue (128,
    // tokio's default), and the retransmitted handshakes then delay requests by the
    // 200 ms minimum RTO, which is not what is measured here.
    let mut readers = Vec::with_capacity(READERS);
    while readers.len() < READERS {
        let n = CONNECT_BATCH.min(READERS - readers.len());
        for _ in 0..n {
            let task = reader(playback, path.clone(), go.clone(), ready_tx.clone());
            readers.push(tokio::spawn(task));
        }
        for _ in 0..n {
            ready_rx.recv().await.expect("reader ready");
        }
    }
    let written = Arc::new(Mutex::new(HashMap::<u64, Instant>::new()));
    let (progress_tx, mut progress) = watch::channel(0usize);
    let pacer = {
        let (chunks, written) = (chunks.clone(), written.clone());
        tokio::spawn(async move {
            let t0 = tokio::time::Instant::now();
            for (i, (chunk, decode_time)) in chunks.iter().enumerate() {
                tokio::time::sleep_until(t0 + FRAME_INTERVAL * i as u32).await;
                let framed = chunked_frame(chunk);
                // Taken before the write: a reader cannot have the chunk earlier.
                written
                    .lock()
                    .expect("written")
                    .insert(*decode_time, Instant::now());
                sink.write(i, &framed).await;
                progress_tx.send_replace(i + 1);
            }
            sink.finish().await;
            sink
        })
    };
    progress
        .wait_for(|n| *n > ATTACH_FRAME)
        .await
        .expect("pacer running");
    path.set(attach()).expect("path set once");
    go.notify_waiters();
    let mut readings = Vec::with_capacity(READERS);
    for r in readers {
        readings.push(r.await.expect("reader task"));
    }
    let _sink = pacer.await.expect("pacer");
    let written = written.lock().expect("written");
    Fanout::from_readings(readings, &written)
}

/// p50, p99 and max of `d`.
fn stats(d: &[Duration]) -> (Duration, Duration, Duration) {
    let mut d = d.to_vec();
    d.sort();
    let at = |p: f64| d[((d.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.99), d[d.len() - 1])
}

/// Checks that this process may open the sockets the readers need (client and server
/// side of each, both servers in process).
fn check_open_files() {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft: Option<u64> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok());
    if let Some(n) = soft {
        assert!(
            n as usize >= 2 * READERS + 256,
            "open files limit {n} is too low for {READERS} readers: run `ulimit -n 20000` first"
        );
    }
}

/// The segment weir has in progress on `channel`'s track v1, as a path.
fn weir_open_segment(origin: &Origin, channel: &str) -> String {
    let msn = origin
        .channel(channel)
        .and_then(|c| {
            let snap = c.snapshot();
            let t = snap.track("v1")?;
            t.segments.last().filter(|s| !s.complete).map(|s| s.msn)
        })
        .expect("weir has a segment in progress");
    format!("/{channel}/v1/seg-{msn}.m4s")
}

/// The fan-out part: [`FANOUT_ROUNDS`] rounds of [`READERS`] readers on each server.
async fn fanout(weir: &Weir, reference: &RefServer) {
    check_open_files();
    let (init, raw) = split(&encode_source(FANOUT_SOURCE_S));
    let chunks: Arc<Vec<(Vec<u8>, u64)>> = Arc::new(
        raw.into_iter()
            .map(|(c, _)| {
                let t = tfdt(&c).expect("chunk has a tfdt");
                (c, t)
            })
            .collect(),
    );
    let (mut w, mut r) = (Fanout::default(), Fanout::default());
    for round in 0..FANOUT_ROUNDS {
        // Who goes first alternates from one round to the next.
        for weir_turn in [round % 2 == 0, round % 2 == 1] {
            let channel = format!("fan{round}");
            if weir_turn {
                let sink = Sink::weir(weir.ingest, &channel, &init).await;
                let origin = weir.origin.clone();
                let got = fanout_round(weir.playback, sink, chunks.clone(), move || {
                    weir_open_segment(&origin, &channel)
                })
                .await;
                w.absorb(got);
            } else {
                let sink = Sink::Reference {
                    addr: reference.addr,
                    prefix: format!("/{channel}"),
                    conn: None,
                    finished: Vec::new(),
                };
                let segment = ATTACH_FRAME / FRAMES_PER_SEGMENT + 1;
                let got = fanout_round(reference.addr, sink, chunks.clone(), move || {
                    format!("/{channel}/seg-{segment}.m4s")
                })
                .await;
                r.absorb(got);
            }
        }
    }
    report_fanout(&w, &r);
}

/// Prints the fan-out figures of both servers and their ratios.
fn report_fanout(w: &Fanout, r: &Fanout) {
    println!(
        "{READERS} concurrent readers of the growing segment, all requesting {} frames into \
         it (real H.264, one chunk per frame paced at 30 fps; {FANOUT_ROUNDS} rounds of weir and the \
         reference server, who goes first alternating):",
        ATTACH_FRAME % FRAMES_PER_SEGMENT
    );
    for (name, f) in [("weir", w), ("reference", r)] {
        let (lo, hi) = f.chunks_per_reader.unwrap_or_default();
        println!(
            "  {name:<9} chunks per reader {lo}-{hi}; samples: TTFB {}, chunk delays {}, \
             once attached {}",
            f.ttfb.len(),
            f.delay.len(),
            f.steady.len()
        );
    }
    let rows: [(&str, &Vec<Duration>, &Vec<Duration>); 3] = [
        ("TTFB (request sent -> first byte)", &w.ttfb, &r.ttfb),
        (
            "per-chunk delay, chunks written after the request",
            &w.delay,
            &r.delay,
        ),
        (
            "per-chunk delay, chunks written once every reader had its first byte",
            &w.steady,
            &r.steady,
        ),
    ];
    for (what, wd, rd) in rows {
        let ((w50, w99, wmax), (r50, r99, rmax)) = (stats(wd), stats(rd));
        println!("  {what}:");
        println!("    weir      p50 {w50:>9.1?}  p99 {w99:>9.1?}  max {wmax:>9.1?}");
        println!("    reference p50 {r50:>9.1?}  p99 {r99:>9.1?}  max {rmax:>9.1?}");
        println!(
            "    ratio weir/reference: p50 {:.2}x  p99 {:.2}x",
            w50.as_secs_f64() / r50.as_secs_f64(),
            w99.as_secs_f64() / r99.as_secs_f64()
        );
    }
}
