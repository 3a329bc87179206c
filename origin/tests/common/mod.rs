//! Shared support for the origin's integration tests: an in-process origin on port-0
//! listeners, a small raw HTTP/1.1 client over `tokio::net::TcpStream` (so tests can
//! send odd chunk sizes, pipelined requests and deliberately broken bodies), the real
//! ffmpeg fixtures of the `cmaf` crate, and helpers to split them at box boundaries.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use origin::{Config, Origin};
use timeline::{ChannelSnapshot, TrackSnapshot};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Video, 30 chunks of one frame each, only the first frame is a key frame
/// (timescale 15360, frame duration 512).
pub const VIDEO_EVERY_FRAME: &[u8] =
    include_bytes!("../../../crates/cmaf/tests/fixtures/video_every_frame.mp4");
/// Video, 5 chunks of 6 frames.
pub const VIDEO_FRAG_DUR: &[u8] =
    include_bytes!("../../../crates/cmaf/tests/fixtures/video_frag_dur.mp4");
/// Audio (AAC), 5 chunks.
pub const AUDIO_AAC: &[u8] = include_bytes!("../../../crates/cmaf/tests/fixtures/audio_aac.mp4");
/// Video + audio in one file: an init segment with two tracks.
pub const AV_MUXED: &[u8] = include_bytes!("../../../crates/cmaf/tests/fixtures/av_muxed.mp4");
/// ffmpeg DASH muxer `init-stream0.m4s` (ftyp + moov).
pub const DASH_INIT: &[u8] = include_bytes!("../../../crates/cmaf/tests/fixtures/dash_init.m4s");
/// ffmpeg DASH muxer `chunk-stream0-00001.m4s` (styp, 30 × (prft, moof, mdat)).
pub const DASH_CHUNK: &[u8] = include_bytes!("../../../crates/cmaf/tests/fixtures/dash_chunk.m4s");

/// Ticks per frame of the video fixtures (timescale 15360, 30 fps).
pub const FRAME_TICKS: u64 = 512;

// ---------------------------------------------------------------------------------
// The origin under test.

/// A running origin on 127.0.0.1 port-0 listeners.
pub struct TestOrigin {
    /// The origin's state, for snapshots and readiness waits.
    pub origin: Arc<Origin>,
    /// Ingest listener address.
    pub ingest: SocketAddr,
    /// Playback listener address.
    pub playback: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestOrigin {
    /// Starts an origin with the default configuration (2 s segments, 200 ms parts).
    pub async fn start() -> TestOrigin {
        TestOrigin::with_config(Config::default()).await
    }

    /// Starts an origin with `config` (its addresses are replaced by the bound ones).
    pub async fn with_config(config: Config) -> TestOrigin {
        let ingest = TcpListener::bind("127.0.0.1:0").await.expect("bind ingest");
        let playback = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind playback");
        let ia = ingest.local_addr().expect("ingest addr");
        let pa = playback.local_addr().expect("playback addr");
        let mut config = config;
        if config.limits == origin::Limits::default() {
            // These tests pause time and let it jump across idle stretches (a 3 × TD
            // hold is 6 s of virtual time, taken in one step): the idle limits of
            // connections and uploads would cut the tests' own kept-alive clients
            // there. They are tested (in real time) in weir-tests' `operations`.
            config.limits.header_timeout_s = 3600;
            config.limits.ingest_idle_timeout_s = 3600;
        }
        let origin = Arc::new(Origin::new(Config {
            ingest: ia,
            playback: pa,
            ..config
        }));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(origin::run(ingest, playback, origin.clone(), async {
            let _ = rx.await;
        }));
        TestOrigin {
            origin,
            ingest: ia,
            playback: pa,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// The channel `name`, created now if ingest has not created it yet, so a test can
    /// subscribe to it before the first upload.
    pub fn channel(&self, name: &str) -> Arc<origin::store::Channel> {
        self.origin
            .channel_or_create(name)
            .expect("within the channel limit")
    }

    /// The latest snapshot of track `track` of channel `channel` (panics if absent).
    pub fn track(&self, channel: &str, track: &str) -> TrackSnapshot {
        let ch = self
            .origin
            .channel(channel)
            .unwrap_or_else(|| panic!("channel {channel} exists"));
        ch.snapshot()
            .track(track)
            .unwrap_or_else(|| panic!("track {track} exists"))
            .clone()
    }

    /// Waits until `ready` holds for channel `channel` (created if needed).
    pub async fn wait_for(
        &self,
        channel: &str,
        ready: impl Fn(&ChannelSnapshot) -> bool,
    ) -> Arc<ChannelSnapshot> {
        let mut rx = self.channel(channel).subscribe();
        let snap = rx
            .wait_for(|s| ready(s))
            .await
            .expect("channel publisher alive");
        snap.clone()
    }

    /// Stops the origin's listeners and waits for `run` to return.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("run task").expect("run result");
        }
    }
}

// ---------------------------------------------------------------------------------
// A raw HTTP/1.1 client.

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes (chunked framing removed).
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status and that the body is exactly one non-empty line of plain-text
    /// reason (terminated by `\n`) that contains `needle` (case-insensitive). Returns
    /// the reason without its newline.
    pub fn assert_reason(&self, status: u16, needle: &str) -> String {
        let text = self.text();
        assert_eq!(self.status, status, "status; body: {text:?}");
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("text/plain")),
            "reason is plain text: {:?}",
            self.headers
        );
        let line = text
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("reason ends with a newline: {text:?}"));
        assert!(!line.contains('\n'), "reason is one line: {text:?}");
        assert!(!line.contains('\r'), "reason has no CR: {text:?}");
        assert!(!line.trim().is_empty(), "reason is not empty: {text:?}");
        assert!(
            line.to_ascii_lowercase()
                .contains(&needle.to_ascii_lowercase()),
            "reason {line:?} mentions {needle:?}"
        );
        line.to_string()
    }
}

/// How a request body is framed.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// No body and no framing headers.
    None,
    /// `Content-Length` framing.
    Fixed(&'a [u8]),
    /// `Transfer-Encoding: chunked`, the data split into chunks of this many bytes
    /// (the last one shorter), then the terminating zero-length chunk.
    Chunked(&'a [u8], usize),
}

/// One client connection; requests on it are sent one after another.
pub struct Conn {
    stream: TcpStream,
    addr: SocketAddr,
    buf: Vec<u8>,
}

impl Conn {
    /// Connects to `addr`.
    pub async fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Conn {
            stream,
            addr,
            buf: Vec::new(),
        }
    }

    /// Writes raw bytes. Errors are returned, not raised: a server that refuses a
    /// request early may close the connection while the client is still writing.
    pub async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Writes a request head (`Host` added) and its body framing headers.
    pub async fn send_head(&mut self, method: &str, path: &str, extra: &[(&str, &str)]) {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let _ = self.send(head.as_bytes()).await;
    }

    /// Sends `data` as chunked-encoding chunks of `size` bytes (no terminator).
    pub async fn send_chunks(&mut self, data: &[u8], size: usize) {
        let _ = self.send(&chunked(data, size)).await;
    }

    /// Sends the terminating zero-length chunk.
    pub async fn finish_chunks(&mut self) {
        let _ = self.send(b"0\r\n\r\n").await;
    }

    /// Sends a whole request and reads its response.
    pub async fn request(&mut self, method: &str, path: &str, body: Body<'_>) -> Response {
        match body {
            Body::None => self.send_head(method, path, &[]).await,
            Body::Fixed(data) => {
                let len = data.len().to_string();
                let mut req = head_bytes(self.addr, method, path, &[("Content-Length", &len)]);
                req.extend_from_slice(data);
                let _ = self.send(&req).await;
            }
            Body::Chunked(data, size) => {
                let mut req =
                    head_bytes(self.addr, method, path, &[("Transfer-Encoding", "chunked")]);
                req.extend_from_slice(&chunked(data, size));
                req.extend_from_slice(b"0\r\n\r\n");
                let _ = self.send(&req).await;
            }
        }
        self.response(method == "HEAD").await
    }

    /// Reads a response head only: its status and headers (lower-case names). The body,
    /// if any, is left to [`Conn::next_chunk`].
    pub async fn response_head(&mut self) -> (u16, Vec<(String, String)>) {
        let end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            let n = self.fill().await;
            assert!(n > 0, "connection closed before a response head");
        };
        let head = String::from_utf8(self.buf[..end].to_vec()).expect("ASCII response head");
        self.buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status code");
        let headers = lines
            .map(|l| l.split_once(':').expect("header line"))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        (status, headers)
    }

    /// Reads the next chunk of a chunked body as it arrives: `Some(Ok(data))`, `None`
    /// at the terminating chunk (a clean end), `Some(Err(()))` when the connection
    /// closes inside the framing (a body that ended with an error).
    pub async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, ()>> {
        let Some(line) = self.try_line().await else {
            return Some(Err(()));
        };
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
            .expect("chunk size");
        if size == 0 {
            while self.try_line().await.is_some_and(|l| !l.is_empty()) {}
            return None;
        }
        while self.buf.len() < size + 2 {
            if self.fill().await == 0 {
                return Some(Err(()));
            }
        }
        let data: Vec<u8> = self.buf.drain(..size).collect();
        self.buf.drain(..2);
        Some(Ok(data))
    }

    /// A CRLF-terminated line, or `None` if the connection closes first.
    async fn try_line(&mut self) -> Option<String> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                return Some(line);
            }
            if self.fill().await == 0 {
                return None;
            }
        }
    }

    /// Reads one response. `head_request` says the request was HEAD (no body follows).
    pub async fn response(&mut self, head_request: bool) -> Response {
        let end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            let n = self.fill().await;
            assert!(
                n > 0,
                "connection closed before a response head; got {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        };
        let head = String::from_utf8(self.buf[..end].to_vec()).expect("ASCII response head");
        self.buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("status line");
        assert!(
            status_line.starts_with("HTTP/1.1 "),
            "HTTP/1.1 status line: {status_line:?}"
        );
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        let headers: Vec<(String, String)> = lines
            .map(|l| l.split_once(':').expect("header line"))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let body = if head_request || status < 200 || status == 204 || status == 304 {
            Vec::new()
        } else if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            self.read_chunked().await
        } else if let Some(len) = get("content-length") {
            let len: usize = len.parse().expect("content-length");
            self.read_exact(len).await
        } else {
            while self.fill().await > 0 {}
            std::mem::take(&mut self.buf)
        };
        Response {
            status,
            headers,
            body,
        }
    }

    /// Reads more bytes into the buffer; 0 at end of stream (a reset counts as the end:
    /// a server that refused a body early may reset after its response).
    async fn fill(&mut self) -> usize {
        let mut tmp = [0u8; 16 * 1024];
        match self.stream.read(&mut tmp).await {
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                n
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
            Err(e) => panic!("read: {e}"),
        }
    }

    async fn read_exact(&mut self, len: usize) -> Vec<u8> {
        while self.buf.len() < len {
            let n = self.fill().await;
            assert!(n > 0, "body ended after {} of {len} bytes", self.buf.len());
        }
        self.buf.drain(..len).collect()
    }

    async fn read_line(&mut self) -> String {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                return line;
            }
            let n = self.fill().await;
            assert!(n > 0, "connection closed inside chunked framing");
        }
    }

    async fn read_chunked(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let line = self.read_line().await;
            let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                .expect("chunk size");
            if size == 0 {
                // Trailers (none expected) up to the empty line.
                while !self.read_line().await.is_empty() {}
                return out;
            }
            out.extend(self.read_exact(size).await);
            assert_eq!(self.read_line().await, "", "CRLF after chunk data");
        }
    }

    /// True when the server has closed the connection (reads end of stream).
    pub async fn closed_by_peer(&mut self) -> bool {
        self.buf.is_empty() && self.fill().await == 0
    }
}

fn head_bytes(addr: SocketAddr, method: &str, path: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// `data` in chunked transfer coding, `size` bytes per chunk, without the terminator.
pub fn chunked(data: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / size.max(1) * 8 + 8);
    for c in data.chunks(size.max(1)) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// GET `path` on a fresh connection.
pub async fn get(addr: SocketAddr, path: &str) -> Response {
    Conn::open(addr)
        .await
        .request("GET", path, Body::None)
        .await
}

/// Sends `method path` with `body` on a fresh connection.
pub async fn send(addr: SocketAddr, method: &str, path: &str, body: Body<'_>) -> Response {
    Conn::open(addr).await.request(method, path, body).await
}

/// PUTs `data` to `path` on a fresh connection, chunked in 777-byte chunks.
pub async fn put(addr: SocketAddr, path: &str, data: &[u8]) -> Response {
    send(addr, "PUT", path, Body::Chunked(data, 777)).await
}

// ---------------------------------------------------------------------------------
// Fixture surgery.

/// The top-level boxes of `data` as (type, bytes) slices.
pub fn boxes(data: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() >= 8 {
        let size = u32::from_be_bytes(rest[0..4].try_into().expect("4 bytes")) as usize;
        assert!(size >= 8 && size <= rest.len(), "fixture box size {size}");
        let kind: [u8; 4] = rest[4..8].try_into().expect("4 bytes");
        out.push((kind, &rest[..size]));
        rest = &rest[size..];
    }
    assert!(rest.is_empty(), "fixture ends on a box boundary");
    out
}

/// A fragmented MP4 file split into its init segment (everything before the first
/// `moof`) and its chunks (each `moof` with its `mdat`, and any box before it that is
/// not a `moof`/`mdat`, e.g. `prft`); trailing boxes (`mfra`) are dropped.
pub struct Split {
    /// ftyp + moov (+ anything else before the first moof).
    pub init: Vec<u8>,
    /// One entry per moof+mdat pair.
    pub chunks: Vec<Vec<u8>>,
}

/// Splits `data` at box boundaries; see [`Split`].
pub fn split(data: &[u8]) -> Split {
    let mut init = Vec::new();
    let mut chunks = Vec::new();
    let mut pending = Vec::new();
    let mut seen_moof = false;
    for (kind, bytes) in boxes(data) {
        match &kind {
            b"moof" => {
                seen_moof = true;
                pending.extend_from_slice(bytes);
            }
            b"mdat" => {
                pending.extend_from_slice(bytes);
                chunks.push(std::mem::take(&mut pending));
            }
            _ if !seen_moof => init.extend_from_slice(bytes),
            b"mfra" => {}
            _ => pending.extend_from_slice(bytes),
        }
    }
    Split { init, chunks }
}

/// What a served file decodes to, with the init segment in front.
pub struct Decoded {
    /// Every sample's (decode time, duration, sync) in order.
    pub samples: Vec<(u64, u32, bool)>,
    /// The concatenated sample payloads.
    pub payload: Vec<u8>,
}

/// Decodes `init` + `media` (a served part or segment) with the `cmaf` demuxer.
pub fn decode(init: &[u8], media: &[u8]) -> Decoded {
    let mut d = cmaf::Demuxer::new();
    d.push(init);
    d.push(media);
    let mut out = Decoded {
        samples: Vec::new(),
        payload: Vec::new(),
    };
    while let Some(ev) = d.next_event().expect("served media decodes") {
        if let cmaf::Event::Chunk {
            fragment,
            mdat,
            mdat_offset,
            ..
        } = ev
        {
            for t in &fragment.tracks {
                for s in &t.samples {
                    out.samples.push((s.dts, s.duration, s.is_sync));
                    let start = (s.offset - mdat_offset) as usize;
                    out.payload
                        .extend_from_slice(&mdat[start..start + s.size as usize]);
                }
            }
        }
    }
    d.finish().expect("served media is whole boxes");
    out
}

/// The sample payloads of chunks `range` of an ingest file (one sample per chunk for
/// `VIDEO_EVERY_FRAME`), for comparison with [`Decoded::payload`].
pub fn ingest_payload(data: &[u8], range: std::ops::Range<usize>) -> Vec<u8> {
    let s = split(data);
    let mut media = Vec::new();
    for c in &s.chunks[range] {
        media.extend_from_slice(c);
    }
    decode(&s.init, &media).payload
}

/// Rewrites the `tfdt` baseMediaDecodeTime of a single-traf `moof`+`mdat` chunk.
pub fn with_decode_time(chunk: &[u8], dts: u64) -> Vec<u8> {
    let mut c = chunk.to_vec();
    let at = find(&c, b"tfdt").expect("chunk has a tfdt");
    let version = c[at + 4];
    let field = at + 8;
    if version == 1 {
        c[field..field + 8].copy_from_slice(&dts.to_be_bytes());
    } else {
        let v = u32::try_from(dts).expect("32-bit tfdt");
        c[field..field + 4].copy_from_slice(&v.to_be_bytes());
    }
    c
}

// Helpers shared by the paused-time tests (llhls, byterange, hold).

/// Upper bound on `yield_now` rounds of a spin (each also polls the I/O driver).
pub const SPIN_LIMIT: u32 = 2_000_000;

/// Yields until `done()`; panics with `what` if it never becomes true.
pub async fn spin_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..SPIN_LIMIT {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("gave up waiting until {what}");
}

/// Yields `n` times (lets the server run without advancing the paused clock).
pub async fn settle(n: u32) {
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
}

/// GETs `path` in a task of its own (a request that is expected to be held).
pub fn spawn_get(addr: SocketAddr, path: &str) -> tokio::task::JoinHandle<Response> {
    let path = path.to_string();
    tokio::spawn(async move { get(addr, &path).await })
}

/// A media-only upload body: frames `range` of the shifted-fixture stream.
pub fn video_frames(range: std::ops::Range<u64>) -> Vec<u8> {
    let fx = split(VIDEO_EVERY_FRAME);
    let mut body = Vec::new();
    for n in range {
        let chunk = &fx.chunks[usize::try_from(n % 30).expect("small")];
        body.extend(with_decode_time(chunk, n * FRAME_TICKS));
    }
    body
}

/// An open chunked media-only upload to `live/v1`.
pub async fn open_upload(o: &TestOrigin) -> Conn {
    let mut c = Conn::open(o.ingest).await;
    c.send_head(
        "PUT",
        "/ingest/live/v1",
        &[("Transfer-Encoding", "chunked")],
    )
    .await;
    c
}

/// Spins until track `live/v1` ends at frame `frames`.
pub async fn until_frames(o: &TestOrigin, frames: u64) {
    let ch = o.channel("live");
    spin_until(&format!("v1 has {frames} frames"), || {
        ch.snapshot()
            .track("v1")
            .and_then(|t| t.end())
            .is_some_and(|e| e == frames * FRAME_TICKS)
    })
    .await;
}

/// The value after `prefix` of the first line starting with it.
pub fn tag<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines().find_map(|l| l.strip_prefix(prefix))
}

/// Attribute list of a tag (`K=V,K="V,..."`), quotes removed.
pub fn attrs(list: &str) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    let mut rest = list;
    while !rest.is_empty() {
        let (k, after) = rest.split_once('=').expect("attribute has a value");
        let (v, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').expect("closing quote");
            (&q[..end], q[end + 1..].strip_prefix(',').unwrap_or(""))
        } else {
            after.split_once(',').unwrap_or((after, ""))
        };
        out.insert(k.to_string(), v.to_string());
        rest = next;
    }
    out
}

/// Track id of the video fixtures' track.
pub fn video_track_id() -> u32 {
    let mut d = cmaf::Demuxer::new();
    d.push(&split(VIDEO_EVERY_FRAME).init);
    match d.next_event().expect("init decodes") {
        Some(cmaf::Event::Init { info, .. }) => info.tracks[0].track_id,
        e => panic!("expected an init, got {e:?}"),
    }
}

/// A synthetic chunk (for the video fixtures' init) of `n` frames of 512 ticks from
/// `dts`, `size` bytes of `fill` each; frame `i` of the chunk is a key frame when
/// `key(i)`. The origin never decodes video, so the payload is arbitrary.
pub fn synthetic_chunk(
    seq: u32,
    dts: u64,
    n: usize,
    key: impl Fn(usize) -> bool,
    size: u32,
    fill: u8,
) -> Vec<u8> {
    let samples: Vec<cmaf::SampleOut> = (0..n)
        .map(|i| cmaf::SampleOut {
            duration: 512,
            size,
            flags: if key(i) {
                cmaf::sample_flags::SYNC
            } else {
                cmaf::sample_flags::NON_SYNC
            },
            cts_offset: 0,
        })
        .collect();
    let mut c = cmaf::write_fragment_header(seq, video_track_id(), dts, &samples).to_vec();
    c.extend(std::iter::repeat_n(fill, size as usize * n));
    c
}
