//! Helpers shared by the benchmark binaries: a real ffmpeg encode, split into the CMAF
//! chunks an encoder would push, and chunked transfer framing.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use origin::{Config, Origin};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// ffmpeg's fragmented-MP4 output as an encoder pushes CMAF: one chunk (moof+mdat) per
/// frame, an empty moov, CMAF brands.
pub const FRAG: &[&str] = &[
    "-f",
    "mp4",
    "-movflags",
    "+frag_every_frame+empty_moov+default_base_moof+cmaf",
];

/// x264 as a live encoder runs it (no look-ahead, no scene cut; the GOP is the
/// caller's).
pub const X264_LIVE: &[&str] = &[
    "-preset",
    "veryfast",
    "-tune",
    "zerolatency",
    "-profile:v",
    "high",
    "-pix_fmt",
    "yuv420p",
    "-sc_threshold",
    "0",
];

/// The test source in real time: `testsrc2` 640x360 at 30 fps (input 0) and a 1 kHz
/// sine at 48 kHz (input 1).
pub const LIVE_SOURCE: &[&str] = &[
    "-re",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=640x360:rate=30",
    "-re",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=1000:sample_rate=48000",
];

/// ffmpeg pushing a 3-rendition ladder in real time for `seconds`: `{base}/v360.mp4`
/// (800 kb/s) and `{base}/v180.mp4` (300 kb/s) with a 1 s GOP, and `{base}/audio.mp4`
/// (AAC), one CMAF chunk per frame, one long chunked POST each; stdin and stdout
/// closed.
pub fn live_ladder(base: &str, seconds: u64) -> Command {
    let t = seconds.to_string();
    let mut c = Command::new("ffmpeg");
    c.args(["-hide_banner", "-loglevel", "error", "-nostdin"])
        .args(LIVE_SOURCE);
    for (size, rate, name) in [("640x360", "800k", "v360"), ("320x180", "300k", "v180")] {
        c.args([
            "-t", &t, "-map", "0:v", "-c:v", "libx264", "-b:v", rate, "-s", size,
        ])
        .args(X264_LIVE)
        .args(["-g", "30"])
        .args(FRAG)
        .arg(format!("{base}/{name}.mp4"));
    }
    c.args(["-t", &t, "-map", "1:a", "-c:a", "aac", "-b:a", "96k"])
        .args(FRAG)
        .arg(format!("{base}/audio.mp4"));
    c.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    c
}

/// The resident set size of process `pid` (`"self"` for this one), in KiB, from
/// `/proc/{pid}/status`; `None` when it cannot be read.
pub fn rss_kib(pid: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The CPU time (user + system, all threads) process `pid` (`"self"` for this one) has
/// used so far, in seconds, from `/proc/{pid}/stat`; `None` when it cannot be read.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): utime and stime are the
    // 12th and 13th, in USER_HZ (100 per second on Linux).
    let (_, rest) = stat.rsplit_once(')')?;
    let mut f = rest.split_whitespace().skip(11);
    let user: f64 = f.next()?.parse().ok()?;
    let system: f64 = f.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// Encodes `seconds` of 640x360 H.264 (1 s GOP), one CMAF chunk per frame, as fast as
/// possible, with real ffmpeg.
pub fn encode_source(seconds: u32) -> Vec<u8> {
    let out = std::env::temp_dir().join(format!("weir-bench-{}.mp4", std::process::id()));
    let ok = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=30",
            "-t",
            &seconds.to_string(),
        ])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-tune",
            "zerolatency",
            "-g",
            "30",
            "-b:v",
            "800k",
        ])
        .args(FRAG)
        .arg(&out)
        .status()
        .expect("ffmpeg")
        .success();
    assert!(ok, "ffmpeg failed");
    let data = std::fs::read(&out).expect("read source");
    let _ = std::fs::remove_file(out);
    data
}

/// A fresh throw-away directory `weir-bench-{name}-{pid}` in the temporary directory
/// (for a reference server's configuration and state, or a benchmark's files).
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Splits a fragmented MP4 file into its init (ftyp+moov) and its chunks (moof+mdat),
/// each with the media time at which its last sample ends.
pub fn split(file: &[u8]) -> (Vec<u8>, Vec<(Vec<u8>, u64)>) {
    let mut init = Vec::new();
    let mut raw: Vec<Vec<u8>> = Vec::new();
    let mut at = 0;
    while let Ok(cmaf::Scan::Header(h)) = cmaf::scan_header(&file[at..], u64::MAX) {
        let b = &file[at..at + h.size as usize];
        at += h.size as usize;
        match &h.kind {
            b"ftyp" | b"moov" => init.extend_from_slice(b),
            b"moof" => raw.push(b.to_vec()),
            b"mdat" => raw
                .last_mut()
                .expect("mdat after moof")
                .extend_from_slice(b),
            _ => {}
        }
    }
    let mut demux = cmaf::Demuxer::new();
    demux.push(file);
    let mut ends = Vec::new();
    while let Some(ev) = demux.next_event().expect("valid source") {
        if let cmaf::Event::Chunk { fragment, .. } = ev {
            let last = fragment.tracks[0].samples.last().expect("samples");
            ends.push(last.dts + u64::from(last.duration));
        }
    }
    assert_eq!(raw.len(), ends.len());
    (init, raw.into_iter().zip(ends).collect())
}

/// One chunk of HTTP/1.1 chunked transfer coding carrying `data`.
pub fn chunked_frame(data: &[u8]) -> Vec<u8> {
    let mut v = format!("{:x}\r\n", data.len()).into_bytes();
    v.extend_from_slice(data);
    v.extend_from_slice(b"\r\n");
    v
}

/// The track id of the init segment `init`.
pub fn track_id(init: &[u8]) -> u32 {
    let mut d = cmaf::Demuxer::new();
    d.push(init);
    match d.next_event() {
        Ok(Some(cmaf::Event::Init { info, .. })) => info.tracks[0].track_id,
        other => panic!("not an init segment: {other:?}"),
    }
}

/// A synthetic chunk of `n` frames of `duration` ticks from `dts` (first one a key
/// frame), one byte of payload each: media that costs timeline metadata, not memory.
pub fn synthetic_chunk(track: u32, seq: u32, dts: u64, n: usize, duration: u32) -> Vec<u8> {
    let samples: Vec<cmaf::SampleOut> = (0..n)
        .map(|i| cmaf::SampleOut {
            duration,
            size: 1,
            flags: if i == 0 {
                cmaf::sample_flags::SYNC
            } else {
                cmaf::sample_flags::NON_SYNC
            },
            cts_offset: 0,
        })
        .collect();
    let mut c = cmaf::write_fragment_header(seq, track, dts, &samples).to_vec();
    c.extend(std::iter::repeat_n(0u8, n));
    c
}

/// `chunk` (moof + mdat) with its `tfdt` moved `offset` ticks later (written as a
/// 64-bit tfdt when it was a 32-bit one, keeping the box sizes).
pub fn with_decode_time_offset(chunk: &[u8], offset: u64) -> Vec<u8> {
    let at = chunk
        .windows(4)
        .position(|w| w == b"tfdt")
        .expect("chunk has a tfdt");
    let version = chunk[at + 4];
    let field = at + 8;
    if version == 1 {
        let mut c = chunk.to_vec();
        let v = u64::from_be_bytes(c[field..field + 8].try_into().unwrap()) + offset;
        c[field..field + 8].copy_from_slice(&v.to_be_bytes());
        return c;
    }
    let v = u64::from(u32::from_be_bytes(
        chunk[field..field + 4].try_into().unwrap(),
    )) + offset;
    let mut c = Vec::with_capacity(chunk.len() + 4);
    c.extend_from_slice(&chunk[..field]);
    c.extend_from_slice(&v.to_be_bytes());
    c.extend_from_slice(&chunk[field + 4..]);
    c[at + 4] = 1;
    // tfdt, traf and moof each grow by 4 bytes; trun data offsets too.
    let grow = |c: &mut Vec<u8>, box_at: usize| {
        let n = u32::from_be_bytes(c[box_at..box_at + 4].try_into().unwrap()) + 4;
        c[box_at..box_at + 4].copy_from_slice(&n.to_be_bytes());
    };
    grow(&mut c, at - 4);
    let traf = c.windows(4).position(|w| w == b"traf").expect("traf") - 4;
    grow(&mut c, traf);
    grow(&mut c, 0);
    if let Some(t) = c.windows(4).position(|w| w == b"trun") {
        let flags = u32::from_be_bytes(c[t + 4..t + 8].try_into().unwrap()) & 0xFF_FFFF;
        if flags & 1 != 0 {
            let off = t + 12;
            let d = i32::from_be_bytes(c[off..off + 4].try_into().unwrap()) + 4;
            c[off..off + 4].copy_from_slice(&d.to_be_bytes());
        }
    }
    c
}

/// weir's origin in the bench process, on port-0 listeners, also serving the player page;
/// it stops when dropped.
pub struct InProcessOrigin {
    /// The origin's state.
    pub origin: Arc<Origin>,
    /// Its ingest listener.
    pub ingest: SocketAddr,
    /// Its playback listener.
    pub playback: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl InProcessOrigin {
    /// Starts the origin with the default configuration and `{repo}/web` as its page.
    pub async fn start(repo: &Path) -> InProcessOrigin {
        let ingest = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind weir ingest");
        let playback = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind weir playback");
        let ia = ingest.local_addr().expect("ingest address");
        let pa = playback.local_addr().expect("playback address");
        let origin = Arc::new(Origin::new(Config {
            ingest: ia,
            playback: pa,
            web: Some(repo.join("web")),
            ..Config::default()
        }));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(origin::run(ingest, playback, origin.clone(), async {
            let _ = stopped.await;
        }));
        InProcessOrigin {
            origin,
            ingest: ia,
            playback: pa,
            _stop: stop,
        }
    }
}
