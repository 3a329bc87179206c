//! LL-HLS parts addressed as byte ranges of their segment file (`byterange_parts`):
//! the playlist's `BYTERANGE` / `BYTERANGE-START` attributes, closed ranges on complete
//! and growing segments, RFC 8673 open-ended ranges as a preload hint is fetched, 416
//! past the end, and ranges on segments that never arrive.
//!
//! Rules: protocols.md §3.4 (the server MUST NOT send any byte of a part until the
//! whole part is available; a range covering several parts applies this to each part
//! in turn) and §3.10 (byte-range addressing, hints with `BYTERANGE-START` and no
//! `BYTERANGE-LENGTH`).
//!
//! All tests run on tokio's paused clock with real loopback sockets (see `hold.rs`): a
//! request expected to time out is simply awaited; a request expected to be satisfied
//! must never leave the runtime idle while a hold timer is pending, so those waits spin
//! on `yield_now` and observe the server through its state (`Channel::waiting`) or
//! through non-blocking socket reads.
//!
//! Media: `VIDEO_EVERY_FRAME` is 30 one-frame chunks (1 s, one key frame). Longer
//! streams re-send its chunks with shifted decode times: frame `n` is chunk `n % 30`
//! stamped `n × 512`, so there is a key frame every second and segments are cut every
//! 2 s (10 parts of 6 frames each). Channel `live` is listed in `byterange_parts`,
//! channel `plain` is not.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::time::Duration;

use common::{
    Conn, FRAME_TICKS, Response, TestOrigin, VIDEO_EVERY_FRAME, VIDEO_FRAG_DUR, attrs, get,
    open_upload, put, split, tag, until_frames, with_decode_time,
};
use common::{SPIN_LIMIT, settle, spin_until, video_frames};
use origin::Config;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Three target durations at the default 2 s target.
const HOLD_LIMIT: Duration = Duration::from_secs(6);

/// RFC 8673 last-byte-pos of an open-ended range: 2^53 − 1.
const OPEN_END: u64 = 9_007_199_254_740_991;

const LIVE: &str = "/live/v1/index.m3u8";
const PLAIN: &str = "/plain/v1/index.m3u8";

// ---------------------------------------------------------------------------------
// Helpers.

/// An origin whose channel `live` has byte-range parts and `plain` has not.
async fn byterange_origin() -> TestOrigin {
    TestOrigin::with_config(Config {
        byterange_parts: vec!["live".to_string()],
        ..Config::default()
    })
    .await
}

/// Feeds frames `0..frames` (at least 30) to `{channel}/v1`: the fixture as is, then
/// the rest as one media-only upload.
async fn feed(o: &TestOrigin, channel: &str, frames: u64) {
    assert!(frames >= 30);
    let path = format!("/ingest/{channel}/v1");
    let r = put(o.ingest, &path, VIDEO_EVERY_FRAME).await;
    assert_eq!(r.status, 201, "{}", r.text());
    if frames > 30 {
        let r = put(o.ingest, &path, &video_frames(30..frames)).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let t = o.track(channel, "v1");
    assert_eq!(t.end(), Some(frames * FRAME_TICKS), "all frames placed");
}

/// 72 frames on both channels: segment 1 complete (parts 1.0–1.9), segment 2 in
/// progress with parts 2.0 and 2.1 complete; the next part is 2.2.
async fn live_72() -> TestOrigin {
    let o = byterange_origin().await;
    for channel in ["live", "plain"] {
        feed(&o, channel, 72).await;
        let t = o.track(channel, "v1");
        assert_eq!(t.segments.len(), 2);
        assert!(t.segments[0].complete && t.segments[0].parts.len() == 10);
        let s2 = &t.segments[1];
        assert!(!s2.complete && s2.parts.len() == 2 && s2.parts.iter().all(|p| p.complete));
    }
    o
}

/// Ends an open upload and checks it was accepted.
async fn close_upload(mut c: Conn) {
    c.finish_chunks().await;
    let r = c.response(false).await;
    assert_eq!(r.status, 201, "{}", r.text());
}

/// GET with a `Range` header, on a fresh connection.
async fn get_range(addr: SocketAddr, path: &str, range: &str) -> Response {
    let mut c = Conn::open(addr).await;
    c.send_head("GET", path, &[("Range", range)]).await;
    c.response(false).await
}

/// One byte-range part of a playlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RangePart {
    /// Parent segment (from `URI="seg-N.m4s"`).
    msn: u64,
    /// Index of the part within its parent (counted in the playlist).
    index: u32,
    /// `BYTERANGE` length.
    len: u64,
    /// `BYTERANGE` offset.
    off: u64,
}

/// The msn of `seg-N.m4s`.
fn seg_msn(uri: &str) -> u64 {
    uri.strip_prefix("seg-")
        .and_then(|s| s.strip_suffix(".m4s"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("segment URI: {uri:?}"))
}

/// The EXT-X-PART lines of a byte-range playlist, each checked to carry a segment URI
/// and a `len@off` byte range.
fn range_parts(text: &str) -> Vec<RangePart> {
    let mut out: Vec<RangePart> = Vec::new();
    for a in text
        .lines()
        .filter_map(|l| l.strip_prefix("#EXT-X-PART:"))
        .map(attrs)
    {
        let msn = seg_msn(a.get("URI").expect("part has a URI"));
        let br = a
            .get("BYTERANGE")
            .unwrap_or_else(|| panic!("part has a BYTERANGE: {a:?}"));
        let (len, off) = br
            .split_once('@')
            .unwrap_or_else(|| panic!("BYTERANGE has an explicit offset: {br}"));
        let index = match out.last() {
            Some(p) if p.msn == msn => p.index + 1,
            _ => 0,
        };
        out.push(RangePart {
            msn,
            index,
            len: len.parse().expect("BYTERANGE length"),
            off: off.parse().expect("BYTERANGE offset"),
        });
    }
    out
}

/// The only TYPE=PART preload hint of a playlist.
fn hint(text: &str) -> HashMap<String, String> {
    let hints: Vec<_> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#EXT-X-PRELOAD-HINT:"))
        .collect();
    assert_eq!(hints.len(), 1, "one preload hint: {text}");
    let h = attrs(hints[0]);
    assert_eq!(h["TYPE"], "PART", "{text}");
    h
}

/// The playlist of `path` (200).
async fn playlist(addr: SocketAddr, path: &str) -> String {
    let r = get(addr, path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.text()
}

/// A raw HTTP/1.1 response read so far.
#[derive(Debug, Default)]
struct Raw {
    /// The response head, once complete.
    head: Option<String>,
    /// Bytes received after the head (framing included).
    after_head: usize,
    /// The body data of the complete chunks received so far.
    body: Vec<u8>,
    /// The terminal zero-length chunk has been received.
    done: bool,
}

impl Raw {
    /// Parses `raw` (a chunked response, possibly cut anywhere).
    fn parse(raw: &[u8]) -> Raw {
        let Some(end) = find(raw, b"\r\n\r\n") else {
            return Raw::default();
        };
        let mut out = Raw {
            head: Some(String::from_utf8_lossy(&raw[..end]).into_owned()),
            after_head: raw.len() - end - 4,
            ..Raw::default()
        };
        let mut rest = &raw[end + 4..];
        while let Some(i) = find(rest, b"\r\n") {
            let line = std::str::from_utf8(&rest[..i]).expect("ASCII chunk size");
            let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                .unwrap_or_else(|_| panic!("chunk size line {line:?}"));
            if size == 0 {
                out.done = true;
                break;
            }
            let data = &rest[i + 2..];
            if data.len() < size + 2 {
                break;
            }
            assert_eq!(&data[size..size + 2], b"\r\n", "CRLF after chunk data");
            out.body.extend_from_slice(&data[..size]);
            rest = &data[size + 2..];
        }
        out
    }

    fn head(&self) -> &str {
        self.head.as_deref().expect("response head received")
    }

    /// The value of header `name` (lower-case) in the head.
    fn header(&self, name: &str) -> Option<String> {
        self.head().split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Appends what `s` has available to `buf` without waiting; true once the peer closed.
fn drain(s: &TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut tmp = [0u8; 16 * 1024];
    loop {
        match s.try_read(&mut tmp) {
            Ok(0) => return true,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Reads from `s` into `buf`, spinning, until `done` holds for what has arrived.
async fn read_until(s: &TcpStream, buf: &mut Vec<u8>, what: &str, done: impl Fn(&Raw) -> bool) {
    for _ in 0..SPIN_LIMIT {
        let closed = drain(s, buf);
        let raw = Raw::parse(buf);
        if done(&raw) {
            return;
        }
        assert!(!closed, "connection closed before {what}; got {raw:?}");
        tokio::task::yield_now().await;
    }
    panic!("gave up reading until {what}");
}

/// Reads what `s` has until the peer closes, spinning (never idling the runtime).
async fn read_to_end(s: &TcpStream, buf: &mut Vec<u8>) {
    for _ in 0..SPIN_LIMIT {
        if drain(s, buf) {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("response never ended; got {} bytes", buf.len());
}

/// A raw response split into its head and the bytes after it.
fn head_and_body(raw: &[u8]) -> (String, &[u8]) {
    let end = find(raw, b"\r\n\r\n").expect("response head");
    (
        String::from_utf8_lossy(&raw[..end]).into_owned(),
        &raw[end + 4..],
    )
}

/// Sends `GET path` with `Range: range` on a raw socket (Connection: close).
async fn raw_range_request(addr: SocketAddr, path: &str, range: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nRange: {range}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("write");
    s
}

/// Asserts that nothing but (possibly) the response head has arrived on `s`.
fn assert_no_body_byte(s: &TcpStream, buf: &mut Vec<u8>, what: &str) {
    assert!(!drain(s, buf), "{what}: connection still open");
    let raw = Raw::parse(buf);
    if raw.head.is_some() {
        assert_eq!(
            raw.after_head, 0,
            "{what}: no body byte may be sent; got {raw:?}"
        );
    }
}

// ---------------------------------------------------------------------------------
// 1. The playlist.

/// Every part of `live` is a `len@off` range of its segment's file, consecutive from 0
/// within its parent; the hint names the next offset of the open segment (or 0 of the
/// next segment) and no length. `plain` keeps part files.
#[tokio::test(start_paused = true)]
async fn playlist_addresses_parts_as_ranges_of_their_segment() {
    let o = live_72().await;
    let text = playlist(o.playback, LIVE).await;
    let parts = range_parts(&text);
    let t = o.track("live", "v1");

    // Parents 1 (10 parts) and 2 (2 parts), ranges consecutive from 0 within each, and
    // the lengths are the timeline's part sizes.
    let count = |msn| parts.iter().filter(|p| p.msn == msn).count();
    assert_eq!((count(1), count(2), parts.len()), (10, 2, 12), "{text}");
    for w in parts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a.msn == b.msn {
            assert_eq!(b.off, a.off + a.len, "consecutive ranges: {a:?} {b:?}");
        } else {
            assert_eq!(b.off, 0, "a new parent starts at 0: {b:?}");
        }
    }
    assert_eq!(parts[0].off, 0);
    for p in &parts {
        assert!(p.len > 0, "{p:?}");
        let seg = t.segment(p.msn).expect("listed segment exists");
        assert_eq!(p.len, seg.parts[p.index as usize].bytes, "{p:?}");
    }
    // The parts of segment 1 come before its EXTINF + URI line, which names the same
    // file.
    let lines: Vec<&str> = text.lines().collect();
    let uri_at = lines
        .iter()
        .position(|l| *l == "seg-1.m4s")
        .expect("segment 1 listed");
    assert!(lines[uri_at - 1].starts_with("#EXTINF:"), "{text}");
    assert!(
        lines[uri_at - 2].starts_with("#EXT-X-PART:")
            && lines[uri_at - 2].contains(r#""seg-1.m4s""#),
        "{text}"
    );
    assert!(!text.contains("part-"), "no part files named: {text}");

    // The hint: the next part of segment 2, starting after its two complete parts.
    let h = hint(&text);
    assert_eq!(h["URI"], "seg-2.m4s", "{text}");
    let next: u64 = parts.iter().filter(|p| p.msn == 2).map(|p| p.len).sum();
    assert_eq!(h["BYTERANGE-START"], next.to_string(), "{text}");
    assert!(!h.contains_key("BYTERANGE-LENGTH"), "{text}");
    assert_eq!(h.len(), 3, "TYPE, URI, BYTERANGE-START only: {h:?}");

    // Channel `plain` is not switched: part files, a hint without byte ranges.
    let plain = playlist(o.playback, PLAIN).await;
    assert!(!plain.contains("BYTERANGE"), "{plain}");
    let uris: Vec<String> = plain
        .lines()
        .filter_map(|l| l.strip_prefix("#EXT-X-PART:"))
        .map(|l| attrs(l)["URI"].clone())
        .collect();
    let want: Vec<String> = (0..10)
        .map(|i| format!("part-1.{i}.m4s"))
        .chain((0..2).map(|i| format!("part-2.{i}.m4s")))
        .collect();
    assert_eq!(uris, want, "{plain}");
    assert_eq!(
        tag(&plain, "#EXT-X-PRELOAD-HINT:"),
        Some(r#"TYPE=PART,URI="part-2.2.m4s""#),
        "{plain}"
    );

    // Part 2.2 half done: the hint still starts after the two complete parts, and the
    // incomplete part is not listed.
    let r = put(o.ingest, "/ingest/live/v1", &video_frames(72..75)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let text = playlist(o.playback, LIVE).await;
    assert_eq!(range_parts(&text), parts, "{text}");
    assert_eq!(hint(&text)["BYTERANGE-START"], next.to_string(), "{text}");

    // Segment 2 reaches its grid point with all ten parts complete: the next part opens
    // segment 3, at offset 0.
    let r = put(o.ingest, "/ingest/live/v1", &video_frames(75..120)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let text = playlist(o.playback, LIVE).await;
    let parts = range_parts(&text);
    assert_eq!(parts.iter().filter(|p| p.msn == 2).count(), 10, "{text}");
    let h = hint(&text);
    assert_eq!(
        (h["URI"].as_str(), h["BYTERANGE-START"].as_str()),
        ("seg-3.m4s", "0"),
        "{text}"
    );

    // Segment 3 begins (its first part incomplete): segment 2 gets its EXTINF, the hint
    // is still offset 0 of segment 3.
    let r = put(o.ingest, "/ingest/live/v1", &video_frames(120..123)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let text = playlist(o.playback, LIVE).await;
    assert!(text.contains("\nseg-2.m4s\n"), "{text}");
    let parts2 = range_parts(&text);
    assert_eq!(
        parts2
            .iter()
            .filter(|p| p.msn == 2)
            .copied()
            .collect::<Vec<_>>(),
        parts
            .iter()
            .filter(|p| p.msn == 2)
            .copied()
            .collect::<Vec<_>>(),
        "completing the segment does not change its ranges"
    );
    let h = hint(&text);
    assert_eq!(
        (h["URI"].as_str(), h["BYTERANGE-START"].as_str()),
        ("seg-3.m4s", "0"),
        "{text}"
    );
    o.shutdown().await;
}

// ---------------------------------------------------------------------------------
// 2. Closed ranges.

/// Every listed part, of the complete segment and of the open one, is served as a 206
/// range of its segment file equal to its part file; the ranges of a complete segment
/// concatenate to the whole segment.
#[tokio::test(start_paused = true)]
async fn part_ranges_equal_part_files_and_tile_the_segment() {
    let o = live_72().await;
    // Half of part 2.2 exists: bytes beyond the complete parts are stored but unlisted.
    let mut ingest = open_upload(&o).await;
    ingest.send_chunks(&video_frames(72..75), 777).await;
    until_frames(&o, 75).await;
    let t = o.track("live", "v1");
    assert!(!t.segments[1].parts[2].complete, "part 2.2 is open");

    let text = playlist(o.playback, LIVE).await;
    let parts = range_parts(&text);
    assert_eq!(parts.len(), 12, "{text}");

    let full = get(o.playback, "/live/v1/seg-1.m4s").await;
    assert_eq!(full.status, 200);
    let total = full.body.len() as u64;
    let mut tiled = Vec::new();
    let t0 = Instant::now();
    for p in &parts {
        let what = format!("part {}.{}", p.msn, p.index);
        let last = p.off + p.len - 1;
        let r = get_range(
            o.playback,
            &format!("/live/v1/seg-{}.m4s", p.msn),
            &format!("bytes={}-{last}", p.off),
        )
        .await;
        assert_eq!(r.status, 206, "{what}: {}", r.text());
        let size = if p.msn == 1 {
            total.to_string()
        } else {
            "*".to_string()
        };
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes {}-{last}/{size}", p.off).as_str()),
            "{what}"
        );
        assert_eq!(r.body.len() as u64, p.len, "{what}");
        let file = get(
            o.playback,
            &format!("/live/v1/part-{}.{}.m4s", p.msn, p.index),
        )
        .await;
        assert_eq!(file.status, 200, "{what}: part files are still served");
        assert_eq!(r.body, file.body, "{what}: range equals the part file");
        if p.msn == 1 {
            tiled.extend_from_slice(&r.body);
        }
    }
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "complete parts are answered at once"
    );
    assert_eq!(tiled, full.body, "the parts of segment 1 tile its file");

    // One range across both complete parts of the open segment.
    let two: u64 = parts.iter().filter(|p| p.msn == 2).map(|p| p.len).sum();
    let r = get_range(
        o.playback,
        "/live/v1/seg-2.m4s",
        &format!("bytes=0-{}", two - 1),
    )
    .await;
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 0-{}/*", two - 1).as_str())
    );
    let mut want = get(o.playback, "/live/v1/part-2.0.m4s").await.body;
    want.extend(get(o.playback, "/live/v1/part-2.1.m4s").await.body);
    assert_eq!(r.body, want);

    close_upload(ingest).await;
    o.shutdown().await;
}

/// A closed range that ends inside the open part is held (no byte of the incomplete
/// part is sent, nor of the complete part before it in the same response) until the
/// part completes.
#[tokio::test(start_paused = true)]
async fn closed_range_into_an_open_part_is_held_until_the_part_completes() {
    let o = live_72().await;
    let ch = o.channel("live");
    let mut ingest = open_upload(&o).await;
    ingest.send_chunks(&video_frames(72..75), 777).await;
    until_frames(&o, 75).await;
    let parts = range_parts(&playlist(o.playback, LIVE).await);
    let p1 = parts[11];
    assert_eq!((p1.msn, p1.index), (2, 1));
    let open_at = p1.off + p1.len;

    // From the start of part 2.1 to 10 bytes into part 2.2.
    let last = open_at + 9;
    let base = ch.waiting();
    let t0 = Instant::now();
    let s = raw_range_request(
        o.playback,
        "/live/v1/seg-2.m4s",
        &format!("bytes={}-{last}", p1.off),
    )
    .await;
    spin_until("the range request is held", || ch.waiting() > base).await;
    settle(10_000).await;
    let mut buf = Vec::new();
    assert_no_body_byte(&s, &mut buf, "range into open part 2.2");

    // Part 2.2 completes: the whole range is answered.
    ingest.send_chunks(&video_frames(75..78), 777).await;
    read_to_end(&s, &mut buf).await;
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "answered by media, not by timeout"
    );
    let (head, body) = head_and_body(&buf);
    assert!(head.starts_with("HTTP/1.1 206 "), "{head}");
    let lower = head.to_ascii_lowercase();
    let want_range = format!("content-range: bytes {}-{last}/*", p1.off);
    assert!(lower.contains(&want_range), "{head}");
    assert!(
        lower.contains(&format!("content-length: {}", body.len())),
        "{head}"
    );
    let mut want = get(o.playback, "/live/v1/part-2.1.m4s").await.body;
    want.extend_from_slice(&get(o.playback, "/live/v1/part-2.2.m4s").await.body[..10]);
    assert_eq!(body, want);

    close_upload(ingest).await;
    o.shutdown().await;
}

/// Ingest chunks of six frames that straddle a part boundary (a part closes at the
/// grid point in the middle of one): the part sizes still count exactly the served
/// bytes, so the ranges tile the segment and equal the part files.
#[tokio::test(start_paused = true)]
async fn parts_cut_inside_an_ingest_chunk_keep_exact_ranges() {
    let o = byterange_origin().await;
    // `VIDEO_FRAG_DUR` (5 chunks of 6 frames) three times, shifted by 3 frames: frames
    // 3 to 92; segment 1 is frames 3 to 62 (the chunk of frames 57-62 is cut at the
    // 2 s grid point), segment 2 begins at the key frame of frame 63.
    let fx = split(VIDEO_FRAG_DUR);
    let mut body = fx.init.clone();
    for rep in 0..3u64 {
        for (k, chunk) in fx.chunks.iter().enumerate() {
            let frame = 3 + 30 * rep + 6 * k as u64;
            body.extend(with_decode_time(chunk, frame * FRAME_TICKS));
        }
    }
    let r = put(o.ingest, "/ingest/live/v2", &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let t = o.track("live", "v2");
    let s1 = t.segment(1).expect("segment 1");
    assert!(s1.complete, "{s1:?}");
    assert_eq!((s1.start, s1.duration), (3 * FRAME_TICKS, 60 * FRAME_TICKS));
    assert!(
        s1.parts.iter().any(|p| p.duration == 3 * FRAME_TICKS),
        "a part of 3 frames ends at the grid point: {s1:?}"
    );

    let text = playlist(o.playback, "/live/v2/index.m3u8").await;
    let parts = range_parts(&text);
    let full = get(o.playback, "/live/v2/seg-1.m4s").await;
    assert_eq!(full.status, 200);
    let mut tiled = Vec::new();
    for p in parts.iter().filter(|p| p.msn == 1) {
        let file = get(o.playback, &format!("/live/v2/part-1.{}.m4s", p.index)).await;
        assert_eq!(file.status, 200);
        assert_eq!(file.body.len() as u64, p.len, "{p:?}");
        assert_eq!(p.off, tiled.len() as u64, "{p:?}");
        let r = get_range(
            o.playback,
            "/live/v2/seg-1.m4s",
            &format!("bytes={}-{}", p.off, p.off + p.len - 1),
        )
        .await;
        assert_eq!(r.status, 206, "{p:?}");
        assert_eq!(r.body, file.body, "{p:?}");
        tiled.extend(r.body);
    }
    assert_eq!(parts.iter().filter(|p| p.msn == 1).count(), s1.parts.len());
    assert_eq!(tiled, full.body, "the parts tile segment 1");
    o.shutdown().await;
}

// ---------------------------------------------------------------------------------
// 3. Open-ended ranges: the preload hint fetched.

/// Bytes of the complete parts of segment `msn` of `live/v1` so far, per part.
fn part_sizes(o: &TestOrigin, msn: u64) -> Vec<(bool, u64)> {
    let t = o.track("live", "v1");
    let seg = t.segment(msn).expect("segment exists");
    seg.parts.iter().map(|p| (p.complete, p.bytes)).collect()
}

/// Sends frames `range` on `ingest` and spins until they are placed.
async fn push(o: &TestOrigin, ingest: &mut Conn, range: Range<u64>) {
    let end = range.end;
    ingest.send_chunks(&video_frames(range), 777).await;
    until_frames(o, end).await;
}

/// The hint of `live` names offset X of segment 2 with part 2.2 half done; GET of that
/// range (`range(X)`) is answered `bytes X-(2^53−1)/*`, chunked, and carries each part
/// of segment 2 from 2.2 on only once the part is whole, then ends when the segment is
/// complete, with exactly the segment's bytes from X.
async fn hinted_open_range_streams_part_by_part(range: impl Fn(u64) -> String) {
    let o = live_72().await;
    let ch = o.channel("live");
    let mut ingest = open_upload(&o).await;
    push(&o, &mut ingest, 72..75).await;
    let text = playlist(o.playback, LIVE).await;
    let h = hint(&text);
    assert_eq!(h["URI"], "seg-2.m4s", "{text}");
    let x: u64 = h["BYTERANGE-START"].parse().expect("offset");

    let base = ch.waiting();
    let t0 = Instant::now();
    let s = raw_range_request(o.playback, "/live/v1/seg-2.m4s", &range(x)).await;
    spin_until("the hint request waits for part 2.2", || {
        ch.waiting() > base
    })
    .await;
    settle(10_000).await;
    let mut buf = Vec::new();
    assert_no_body_byte(&s, &mut buf, "part 2.2 half done");
    push(&o, &mut ingest, 75..77).await;
    settle(10_000).await;
    assert_no_body_byte(&s, &mut buf, "part 2.2 one frame short");

    // Parts 2.2 to 2.9 (frames 72 + 6k .. 78 + 6k): each arrives whole when its last
    // frame lands, and no byte of the next one before.
    let mut sent = 0u64;
    for k in 2..10u64 {
        let first = 60 + 6 * k;
        let from = if k == 2 { 77 } else { first };
        if from < first + 3 {
            push(&o, &mut ingest, from..first + 3).await;
            settle(10_000).await;
            drain(&s, &mut buf);
            let raw = Raw::parse(&buf);
            assert_eq!(
                raw.body.len() as u64,
                sent,
                "part 2.{k} half done: nothing of it sent"
            );
            assert!(!raw.done, "the stream goes on");
        }
        push(&o, &mut ingest, (first + 3).max(from)..first + 6).await;
        let sizes = part_sizes(&o, 2);
        assert!(sizes[k as usize].0, "part 2.{k} complete");
        sent += sizes[k as usize].1;
        read_until(&s, &mut buf, &format!("part 2.{k} is sent"), |r| {
            r.body.len() as u64 >= sent
        })
        .await;
        settle(10_000).await;
        drain(&s, &mut buf);
        let raw = Raw::parse(&buf);
        assert_eq!(
            raw.body.len() as u64,
            sent,
            "exactly up to the end of part 2.{k}"
        );
        assert!(!raw.done, "segment 2 is not complete yet");
    }

    // The key frame at 4 s completes segment 2: the body ends.
    push(&o, &mut ingest, 120..121).await;
    read_until(&s, &mut buf, "the terminal chunk", |r| r.done).await;
    read_to_end(&s, &mut buf).await;
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "answered by media, never by a timeout"
    );
    let raw = Raw::parse(&buf);
    let head = raw.head().to_string();
    assert!(head.starts_with("HTTP/1.1 206 "), "{head}");
    assert_eq!(
        raw.header("content-range"),
        Some(format!("bytes {x}-{OPEN_END}/*")),
        "{head}"
    );
    assert!(
        raw.header("transfer-encoding")
            .is_some_and(|v| v.contains("chunked")),
        "{head}"
    );
    assert_eq!(raw.header("content-length"), None, "{head}");

    close_upload(ingest).await;
    let full = get(o.playback, "/live/v1/seg-2.m4s").await;
    assert_eq!(full.status, 200);
    assert_eq!(
        raw.body,
        full.body[x as usize..],
        "the segment's bytes from X"
    );
    let p22 = get(o.playback, "/live/v1/part-2.2.m4s").await.body;
    assert_eq!(raw.body[..p22.len()], p22, "the first bytes are part 2.2");
    o.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn hinted_range_without_last_byte_streams_part_by_part() {
    hinted_open_range_streams_part_by_part(|x| format!("bytes={x}-")).await;
}

#[tokio::test(start_paused = true)]
async fn hinted_range_to_2_pow_53_minus_1_streams_part_by_part() {
    hinted_open_range_streams_part_by_part(|x| format!("bytes={x}-{OPEN_END}")).await;
}

/// At the grid point the hint is offset 0 of the next segment, which does not exist
/// yet: its open-ended range is held, and the first part arrives whole once complete.
#[tokio::test(start_paused = true)]
async fn hint_of_the_next_segment_is_held_until_its_first_part() {
    let o = live_72().await;
    let ch = o.channel("live");
    let mut ingest = open_upload(&o).await;
    push(&o, &mut ingest, 72..120).await;
    let text = playlist(o.playback, LIVE).await;
    let h = hint(&text);
    assert_eq!(
        (h["URI"].as_str(), h["BYTERANGE-START"].as_str()),
        ("seg-3.m4s", "0"),
        "{text}"
    );

    let base = ch.waiting();
    let t0 = Instant::now();
    let s = raw_range_request(o.playback, "/live/v1/seg-3.m4s", "bytes=0-").await;
    spin_until("the hint request waits for segment 3", || {
        ch.waiting() > base
    })
    .await;
    settle(10_000).await;
    let mut buf = Vec::new();
    assert_no_body_byte(&s, &mut buf, "segment 3 not begun");
    // Segment 3 begins: part 3.0 half done.
    push(&o, &mut ingest, 120..123).await;
    settle(10_000).await;
    assert_no_body_byte(&s, &mut buf, "part 3.0 half done");
    push(&o, &mut ingest, 123..126).await;
    let sizes = part_sizes(&o, 3);
    assert!(sizes[0].0, "part 3.0 complete");
    read_until(&s, &mut buf, "part 3.0 is sent", |r| {
        r.body.len() as u64 >= sizes[0].1
    })
    .await;
    settle(10_000).await;
    drain(&s, &mut buf);
    let raw = Raw::parse(&buf);
    assert_eq!(raw.body.len() as u64, sizes[0].1, "exactly part 3.0");
    assert!(!raw.done);
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "answered by media, not by timeout"
    );
    assert_eq!(
        raw.header("content-range"),
        Some(format!("bytes 0-{OPEN_END}/*")),
        "{:?}",
        raw.head
    );
    drop(s);

    close_upload(ingest).await;
    let p30 = get(o.playback, "/live/v1/part-3.0.m4s").await;
    assert_eq!(p30.status, 200);
    assert_eq!(raw.body, p30.body);
    o.shutdown().await;
}

// ---------------------------------------------------------------------------------
// 4. Past the end.

/// A range starting at or beyond the end of a complete segment is 416 with the
/// segment's length; a range running past the end is cut at the last byte.
#[tokio::test(start_paused = true)]
async fn range_past_the_end_of_a_complete_segment_is_416() {
    let o = live_72().await;
    let full = get(o.playback, "/live/v1/seg-1.m4s").await;
    assert_eq!(full.status, 200);
    let total = full.body.len() as u64;
    let star = format!("bytes */{total}");
    for range in [
        format!("bytes={total}-"),
        format!("bytes={total}-{OPEN_END}"),
        format!("bytes={}-{}", total + 100, total + 200),
    ] {
        let t0 = Instant::now();
        let r = get_range(o.playback, "/live/v1/seg-1.m4s", &range).await;
        assert_eq!(t0.elapsed(), Duration::ZERO, "{range}");
        assert_eq!(r.status, 416, "{range}: {}", r.text());
        assert_eq!(r.header("content-range"), Some(star.as_str()), "{range}");
    }
    // Cut at the end.
    let r = get_range(
        o.playback,
        "/live/v1/seg-1.m4s",
        &format!("bytes={}-{}", total - 10, total + 100),
    )
    .await;
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes {}-{}/{total}", total - 10, total - 1).as_str())
    );
    assert_eq!(r.body, full.body[full.body.len() - 10..]);
    // Open-ended on a complete segment: the rest of the file, length known.
    let r = get_range(o.playback, "/live/v1/seg-1.m4s", "bytes=100-").await;
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 100-{}/{total}", total - 1).as_str())
    );
    assert_eq!(r.body, full.body[100..]);
    o.shutdown().await;
}

// ---------------------------------------------------------------------------------
// 5. Segments that never arrive.

/// A range on a segment too far ahead (or expired) is 404 at once; on the next
/// segments, or on the open segment's next part, with no media coming, 503 after the
/// hold limit.
#[tokio::test(start_paused = true)]
async fn range_on_a_segment_that_never_arrives() {
    let o = live_72().await;
    for (seg, reason) in [(5, "too far ahead"), (9, "too far ahead"), (0, "expired")] {
        let path = format!("/live/v1/seg-{seg}.m4s");
        let t0 = Instant::now();
        let r = get_range(o.playback, &path, "bytes=0-").await;
        assert_eq!(t0.elapsed(), Duration::ZERO, "{path}");
        r.assert_reason(404, reason);
    }
    let r = get_range(o.playback, "/nochannel/v1/seg-1.m4s", "bytes=0-").await;
    r.assert_reason(404, "channel 'nochannel'");

    let x = hint(&playlist(o.playback, LIVE).await)["BYTERANGE-START"].clone();
    for (seg, range) in [
        (3, "bytes=0-".to_string()),
        (3, format!("bytes=0-{OPEN_END}")),
        (4, "bytes=0-99".to_string()),
        (2, format!("bytes={x}-")),
    ] {
        let path = format!("/live/v1/seg-{seg}.m4s");
        let t0 = Instant::now();
        let r = get_range(o.playback, &path, &range).await;
        assert_eq!(
            t0.elapsed(),
            HOLD_LIMIT,
            "{path} {range}: held for exactly 3 × TD"
        );
        r.assert_reason(503, "did not become available in time");
    }
    // The pending requests changed nothing: segment 2's range of complete parts is
    // still answered at once.
    let t0 = Instant::now();
    let r = get_range(o.playback, "/live/v1/seg-2.m4s", "bytes=0-0").await;
    assert_eq!((r.status, t0.elapsed()), (206, Duration::ZERO));
    o.shutdown().await;
}

/// A live range whose segment stops growing is cut short visibly: after the hold limit
/// the response ends without the terminal chunk (connection closed), so a client or a
/// cache can tell it from a complete segment. Before that, the complete parts arrived.
#[tokio::test(start_paused = true)]
async fn stalled_live_range_is_truncated_not_ended() {
    let o = live_72().await;
    let part0 = get(o.playback, "/live/v1/part-2.0.m4s").await.body;
    let part1 = get(o.playback, "/live/v1/part-2.1.m4s").await.body;
    let t0 = Instant::now();
    let mut s = raw_range_request(o.playback, "/live/v1/seg-2.m4s", "bytes=0-").await;
    let mut buf = Vec::new();
    // Awaiting the socket lets the paused clock run to the hold limit once idle.
    tokio::io::AsyncReadExt::read_to_end(&mut s, &mut buf)
        .await
        .expect("read");
    let raw = Raw::parse(&buf);
    assert!(raw.head().starts_with("HTTP/1.1 206"), "{}", raw.head());
    assert_eq!(
        raw.body,
        [part0, part1].concat(),
        "the complete parts were sent"
    );
    assert!(
        !raw.done,
        "no terminal chunk after a stall: the truncation is visible"
    );
    assert!(t0.elapsed() >= HOLD_LIMIT, "cut only after the hold limit");
    o.shutdown().await;
}
