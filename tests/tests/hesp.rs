//! HESP with real ffmpeg (v360 with a key-frame companion, v180 without one, AAC): a
//! client written from the draft's rules (draft-theo-hesp-06 §3–§5, protocols.md §8),
//! not from weir's code, reads the manifest (validated against the draft's JSON Schema),
//! resolves URLs through the base-URL chain, starts at `now`, reads the `emsg`, continues
//! with a Range request from its offset and then whole segments; the packet followed by
//! the continuation decodes with ffprobe into one continuous stream, and the
//! continuation arrives chunk by chunk while it is produced.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{TestOrigin, http, tools};

/// The draft's "end of range unknown" last-byte-pos, 2^53 − 1.
const OPEN_END: u64 = 9_007_199_254_740_991;

/// One top-level ISO BMFF box of a packet: its type and bytes.
fn boxes(data: &[u8]) -> Vec<(String, &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 8 <= data.len() {
        let size = u32::from_be_bytes(data[i..i + 4].try_into().expect("4 bytes")) as usize;
        assert!(
            size >= 8 && i + size <= data.len(),
            "box at {i}: size {size}"
        );
        out.push((
            String::from_utf8_lossy(&data[i + 4..i + 8]).into_owned(),
            &data[i..i + size],
        ));
        i += size;
    }
    assert_eq!(i, data.len(), "trailing bytes after the last box");
    out
}

/// The fields of a version-0 `emsg` (ISO/IEC 23009-1 §5.10.3.3).
struct Emsg {
    scheme: String,
    value: String,
    timescale: u32,
    delta: u32,
    duration: u32,
    data: Value,
}

fn emsg(b: &[u8]) -> Emsg {
    assert_eq!(b[8], 0, "emsg version 0");
    let body = &b[12..];
    let s1 = body.iter().position(|&c| c == 0).expect("scheme");
    let s2 = s1 + 1 + body[s1 + 1..].iter().position(|&c| c == 0).expect("value");
    let n = |at: usize| u32::from_be_bytes(body[at..at + 4].try_into().expect("u32"));
    let rest = s2 + 1;
    Emsg {
        scheme: String::from_utf8_lossy(&body[..s1]).into_owned(),
        value: String::from_utf8_lossy(&body[s1 + 1..s2]).into_owned(),
        timescale: n(rest),
        delta: n(rest + 4),
        duration: n(rest + 8),
        data: serde_json::from_slice(&body[rest + 16..]).expect("message_data is JSON"),
    }
}

/// [HESP §3.4] URL construction: manifest URL → contentBaseUrl → Presentation.baseUrl →
/// SwitchingSet.baseUrl → Track.baseUrl → pattern, each resolved relative to the last
/// (only relative paths occur here), the Track's pattern overriding the set's.
fn resolve(manifest_path: &str, p: &Value, set: &Value, track: &Value, which: &str) -> String {
    let mut base = manifest_path[..=manifest_path.rfind('/').expect("a directory")].to_string();
    for v in [p, set, track] {
        if let Some(b) = v.get("baseUrl").and_then(Value::as_str) {
            assert!(!b.starts_with('/') && !b.contains("://"), "relative {b}");
            base.push_str(b);
        }
    }
    let pattern = track
        .get(which)
        .or_else(|| set.get(which))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{which} on the track or its set"));
    format!("{base}{pattern}")
}

/// Fills `{initId}` / `{segmentId}` (with an optional `:0Nd` zero padding).
fn fill(pattern: &str, key: &str, value: &str) -> String {
    let open = format!("{{{key}");
    let Some(at) = pattern.find(&open) else {
        panic!("{pattern} has no {{{key}}}");
    };
    let close = at + pattern[at..].find('}').expect("closing brace");
    let spec = &pattern[at + open.len()..close];
    let text = match spec.strip_prefix(':').and_then(|s| s.strip_suffix('d')) {
        Some(w) => format!(
            "{value:0>width$}",
            width = w.trim_start_matches('0').parse().unwrap_or(0)
        ),
        None => value.to_string(),
    };
    format!("{}{}{}", &pattern[..at], text, &pattern[close + 1..])
}

/// Everything a client needs about one track of the active presentation.
struct Track {
    init: String,
    continuation: String,
    frame_rate: Option<(u64, u64)>,
    start_seq: u64,
    start_us: i64,
    /// `mediaTimeOffset` in µs: media time = Manifest time + it.
    offset_us: i64,
}

fn track(doc: &Value, manifest_path: &str, kind: &str, id: &str) -> Track {
    let active = doc["activePresentation"]
        .as_str()
        .expect("live: activePresentation");
    let p = doc["presentations"]
        .as_array()
        .expect("presentations")
        .iter()
        .find(|p| p["id"] == active)
        .expect("the active presentation is listed");
    for set in p[kind].as_array().expect("switching sets") {
        for t in set["tracks"].as_array().expect("tracks") {
            if t["id"] == id {
                let fr = t
                    .get("frameRate")
                    .or_else(|| set.get("frameRate"))
                    .map(|f| {
                        (
                            f["value"].as_u64().expect("value"),
                            f["scale"].as_u64().unwrap_or(1),
                        )
                    });
                let tb = &p["timeBounds"];
                let mto = t
                    .get("mediaTimeOffset")
                    .or_else(|| set.get("mediaTimeOffset"));
                let offset_us = mto.map_or(0, |m| {
                    (i128::from(m["value"].as_i64().expect("value")) * 1_000_000
                        / i128::from(m["scale"].as_i64().unwrap_or(1))) as i64
                });
                let scale = i128::from(tb["scale"].as_i64().unwrap_or(1));
                return Track {
                    init: resolve(manifest_path, p, set, t, "initializationPattern"),
                    continuation: resolve(manifest_path, p, set, t, "continuationPattern"),
                    frame_rate: fr,
                    start_seq: t["startSequenceNumber"].as_u64().unwrap_or(0),
                    start_us: (i128::from(tb["startTime"].as_i64().expect("startTime")) * 1_000_000
                        / scale) as i64,
                    offset_us,
                };
            }
        }
    }
    panic!("no {kind} track {id} in {active}");
}

/// What one start at an initialization packet gave.
struct Start {
    packet: Vec<u8>,
    emsg: Emsg,
    /// The Range response (206) from the packet's offset, and the next segment (200).
    continuation: Vec<u8>,
    next_reads: usize,
    next_span: Duration,
}

/// Starts `t` at packet `init_id`: the packet, its emsg, the Range request into the
/// continuation segment it names, then the next segment without Range.
async fn start(o: &TestOrigin, t: &Track, init_id: &str) -> Start {
    let r = http::get(o.playback, &fill(&t.init, "initId", init_id)).await;
    assert_eq!(r.status, 200, "packet {init_id}: {}", r.text());
    let packet = r.body.clone();
    let bs = boxes(&packet);
    let names: Vec<&str> = bs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        &names[..3],
        ["ftyp", "moov", "emsg"],
        "CMAF header, then the emsg"
    );
    let e = emsg(bs[2].1);
    assert_eq!(e.scheme, "urn:theo:hesp:2020");
    assert_eq!(e.value, "initdata");
    assert_eq!(e.delta, 0);
    let index = e.data["index"].as_u64().expect("index");
    let offset = e.data.get("offset").and_then(Value::as_u64).unwrap_or(0);
    let seg = fill(&t.continuation, "segmentId", &index.to_string());
    // [HESP §5.3.3.1] the first request after a packet is a Range with start and end.
    let range = format!("bytes={offset}-{OPEN_END}");
    let (first, _) = http::get_timed_with(o.playback, &seg, &[("Range", &range)]).await;
    let mut continuation = Vec::new();
    match first.status {
        206 => {
            let cr = first
                .header("content-range")
                .expect("Content-Range")
                .to_string();
            assert!(cr.starts_with(&format!("bytes {offset}-")), "{cr}");
            // A segment still growing: an unknown length, streamed (§5.3.3.1).
            if cr.ends_with("/*") {
                assert_eq!(cr, format!("bytes {offset}-{OPEN_END}/*"));
                assert_eq!(first.header("transfer-encoding"), Some("chunked"), "{seg}");
            }
            continuation.extend_from_slice(&first.body);
        }
        s => panic!("{seg} with {range}: {s} {}", first.text()),
    }
    let next = fill(&t.continuation, "segmentId", &(index + 1).to_string());
    let (second, reads) = http::get_timed(o.playback, &next).await;
    assert_eq!(second.status, 200, "{next}");
    assert_eq!(
        second.header("transfer-encoding"),
        Some("chunked"),
        "{next}"
    );
    continuation.extend_from_slice(&second.body);
    Start {
        packet,
        emsg: e,
        continuation,
        next_reads: reads.len(),
        next_span: reads.last().expect("reads").0 - reads.first().expect("reads").0,
    }
}

/// ffprobe's (pts, key_frame) of every frame of `stream` in `file`, decoding it all;
/// fails on any decoder error message.
fn frames(file: &PathBuf, stream: &str) -> Vec<(i64, bool)> {
    let errors = tools::output(
        Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(file)
            .args(["-map", &format!("0:{stream}:0"), "-f", "null", "-"]),
    );
    assert!(errors.trim().is_empty(), "decoder errors: {errors}");
    let csv = tools::output(
        Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", &format!("{stream}:0")])
            .args(["-show_entries", "frame=pts,key_frame", "-of", "csv=p=0"])
            .arg(file),
    );
    csv.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut it = l.split(',');
            let key = it.next().expect("key_frame") == "1";
            let pts = it.next().expect("pts").parse().expect("pts number");
            (pts, key)
        })
        .collect()
}

fn write(name: &str, parts: &[&[u8]]) -> PathBuf {
    let file = std::env::temp_dir().join(format!("weir-hesp-{}-{name}.mp4", std::process::id()));
    std::fs::write(&file, parts.concat()).expect("write");
    file
}

/// The video frames of packet + continuation: the packet's key frame first, then every
/// frame one frame duration after the last (no gap, no repeat).
fn assert_continuous(name: &str, video: &[(i64, bool)], min: usize) {
    assert!(video.len() >= min, "{name}: {} frames", video.len());
    assert!(video[0].1, "{name}: starts with a key frame");
    let step = video[1].0 - video[0].0;
    assert!(step > 0, "{name}: {video:?}");
    for w in video.windows(2) {
        assert_eq!(w[1].0 - w[0].0, step, "{name}: continuous at {w:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hesp_client_starts_at_now_and_continues_from_the_packets_offset() {
    let o = TestOrigin::start().await;
    let _enc = tools::spawn_encoder(tools::ffmpeg_hesp(
        &format!("http://{}/ingest/hs", o.ingest),
        40,
        &["v360"],
    ));
    o.wait_segments("hs", &["v360", "v180", "audio"], 2, Duration::from_secs(60))
        .await;

    let r = http::get(o.playback, "/hs/hesp.json").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.theo.hesp+json")
    );
    let doc: Value = serde_json::from_slice(&r.body).expect("JSON");
    tools::check_hesp(&[write("manifest", &[&r.body])]);
    assert_eq!(doc["manifestVersion"], "2.0.0");
    let channels = http::get(o.playback, "/channels.json").await;
    let list: Value = serde_json::from_slice(&channels.body).expect("JSON");
    assert_eq!(list["channels"][0]["hesp"], "/hs/hesp.json");

    // v360: packets from its key-frame companion, at the newest frame.
    let v360 = track(&doc, "/hs/hesp.json", "video", "v360");
    let (fps_n, fps_d) = v360.frame_rate.expect("video frameRate");
    let s = start(&o, &v360, "now").await;
    let ticks_per_frame = s.emsg.timescale as u64 * fps_d / fps_n;
    assert_eq!(
        u64::from(s.emsg.duration),
        ticks_per_frame,
        "a one-frame packet"
    );
    assert!(
        s.next_reads >= 10 && s.next_span >= Duration::from_millis(1000),
        "the next segment streamed while it grew: {} reads over {:?}",
        s.next_reads,
        s.next_span
    );
    let file = write("v360", &[&s.packet, &s.continuation]);
    let video = frames(&file, "v");
    // A packet for any frame: the start is not a segment boundary (those are 30 frames
    // apart); over several starts at least one lands mid-GOP, which only a companion can.
    assert_continuous("v360", &video, 31);
    // The next key frame of the continuation comes before a whole GOP (30 frames) has
    // passed unless the packet sat on a key frame itself.
    let next_key = |v: &[(i64, bool)]| v.iter().skip(1).position(|f| f.1).map(|i| i + 1);
    let mut mid_gop = next_key(&video).is_some_and(|i| i < 30);
    for _ in 0..3 {
        if mid_gop {
            break;
        }
        let s = start(&o, &v360, "now").await;
        let v = frames(&write("v360b", &[&s.packet, &s.continuation]), "v");
        assert_continuous("v360 again", &v, 31);
        mid_gop = next_key(&v).is_some_and(|i| i < 30);
    }
    assert!(
        mid_gop,
        "v360 started between its key frames (the companion's packets)"
    );

    // A numbered packet a little ahead of the newest (the formula of §3.1 from the
    // manifest): held until its frame exists, then starts at that frame.
    let r = http::get(o.playback, "/hs/hesp.json").await;
    let doc: Value = serde_json::from_slice(&r.body).expect("JSON");
    let now_us = (i128::from(doc["currentTime"]["value"].as_i64().expect("currentTime"))
        * 1_000_000
        / i128::from(doc["currentTime"]["scale"].as_i64().unwrap_or(1))) as i64;
    let ahead_us = now_us + 300_000;
    let seq = ((ahead_us - v360.start_us) as u128 * u128::from(fps_n)
        / (1_000_000 * u128::from(fps_d))) as u64
        + v360.start_seq;
    let s = start(&o, &v360, &seq.to_string()).await;
    let v = frames(&write("v360n", &[&s.packet, &s.continuation]), "v");
    assert_continuous("v360 numbered", &v, 31);
    // [HESP §3.1] packet `seq` is the frame at Presentation start + (seq − start) frames
    // (media time = Manifest time + mediaTimeOffset, in the track's timescale).
    let ts = i128::from(s.emsg.timescale);
    let start_ticks = i128::from(v360.start_us + v360.offset_us) * ts / 1_000_000;
    let expected = start_ticks + i128::from(seq - v360.start_seq) * i128::from(ticks_per_frame);
    assert!(
        (i128::from(v[0].0) - expected).abs() < i128::from(ticks_per_frame),
        "packet {seq} holds media time {} ticks, the formula says {expected}",
        v[0].0
    );

    // v180 has no companion: its packets are its own key frames (segment starts).
    let v180 = track(&doc, "/hs/hesp.json", "video", "v180");
    let s = start(&o, &v180, "now").await;
    let v = frames(&write("v180", &[&s.packet, &s.continuation]), "v");
    assert_continuous("v180", &v, 31);
    assert_eq!(
        next_key(&v),
        Some(30),
        "v180 starts on a key frame of its own"
    );

    // Audio: header + emsg only (timescale 1, duration 0), pointing at a chunk.
    let audio = track(&doc, "/hs/hesp.json", "audio", "audio");
    let s = start(&o, &audio, "now").await;
    let names: Vec<String> = boxes(&s.packet).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["ftyp", "moov", "emsg"]);
    assert_eq!((s.emsg.timescale, s.emsg.duration), (1, 0));
    let a = frames(&write("audio", &[&s.packet, &s.continuation]), "a");
    assert!(a.len() > 50, "{} audio frames", a.len());

    // A presentation that does not exist: 404 at once.
    let stale = v360.init.replace("/p0/", "/p7/");
    let r = http::get(o.playback, &fill(&stale, "initId", "now")).await;
    assert_eq!(r.status, 404, "{}", r.text());
    // Far ahead of the live edge: 404 at once.
    let r = http::get(
        o.playback,
        &fill(&v360.init, "initId", &(seq + 100_000).to_string()),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text());
}
