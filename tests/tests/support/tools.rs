//! The real tools the end-to-end tests drive: ffmpeg as encoder, ffprobe/ffmpeg as
//! players, xmllint with the DASH MPD schema, Python `m3u8` as an independent parser.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Test source: 640x360 30 fps test pattern with a burnt-in clock, 1 kHz tone (the
/// benchmarks' real-time source).
pub use weir_tests::bench::LIVE_SOURCE as SOURCE;

/// Encoding of the three renditions: 1 s GOP, closed, no scene cut.
fn video(idx: usize, size: &str, bitrate: &str) -> Vec<String> {
    [
        format!("-c:v:{idx}"),
        "libx264".into(),
        format!("-b:v:{idx}"),
        bitrate.into(),
        format!("-s:v:{idx}"),
        size.into(),
    ]
    .into_iter()
    .collect()
}

const X264: &[&str] = &[
    "-preset",
    "veryfast",
    "-tune",
    "zerolatency",
    "-profile:v",
    "high",
    "-pix_fmt",
    "yuv420p",
    "-g",
    "30",
    "-keyint_min",
    "30",
    "-sc_threshold",
    "0",
];
/// Fragmented MP4 output, one CMAF chunk per frame, for a long chunked POST.
pub use weir_tests::bench::FRAG;
const AAC: &[&str] = &["-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-ac", "2"];

/// A child process killed and reaped (by its own handle) when dropped, whatever the
/// test does.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the encoder `cmd` (one of the `ffmpeg_*` commands).
pub fn spawn_encoder(mut cmd: Command) -> Killed {
    Killed(cmd.spawn().unwrap_or_else(|e| {
        panic!("cannot start ffmpeg: {e} (run `make test`, which installs it)")
    }))
}

/// ffmpeg's DASH muxer in low-latency mode: one chunked PUT per segment, keep-alive,
/// every frame its own CMAF chunk. Tracks arrive as stream0 (360p), stream1 (180p),
/// stream2 (audio).
pub fn ffmpeg_dash(ingest: &str, seconds: u32) -> Command {
    let mut c = ffmpeg_base(seconds);
    c.args(["-map", "0:v", "-map", "0:v", "-map", "1:a"]);
    c.args(video(0, "640x360", "800k"))
        .args(video(1, "320x180", "300k"))
        .args(X264)
        .args(AAC);
    c.args([
        "-f",
        "dash",
        "-seg_duration",
        "1",
        "-streaming",
        "1",
        "-ldash",
        "1",
        "-method",
        "PUT",
        "-http_persistent",
        "1",
        "-use_template",
        "1",
        "-use_timeline",
        "0",
        "-frag_type",
        "every_frame",
        "-write_prft",
        "1",
        "-utc_timing_url",
        "http://127.0.0.1:1/time",
        "-format_options",
        "movflags=cmaf",
    ]);
    c.arg(format!("{ingest}/manifest.mpd"));
    c
}

/// One long chunked POST of a fragmented-MP4 track per rendition (v360, v180, audio).
pub fn ffmpeg_long_post(ingest: &str, seconds: u32) -> Command {
    let mut c = ffmpeg_base(seconds);
    for (size, rate, name) in [("640x360", "800k", "v360"), ("320x180", "300k", "v180")] {
        c.args(["-map", "0:v"])
            .args(video(0, size, rate))
            .args(X264)
            .args(FRAG);
        c.arg(format!("{ingest}/{name}.mp4"));
    }
    c.args(["-map", "1:a"])
        .args(AAC)
        .args(FRAG)
        .arg(format!("{ingest}/audio.mp4"));
    c
}

/// HESP: v360 and v180, each rendition named in `companions` with its key-frame-only
/// companion (`{name}.kf`: the same encoder settings, every frame a key frame, 3x the
/// bit rate; the others' packets come from their own key frames), and audio; one long
/// chunked POST each.
pub fn ffmpeg_hesp(ingest: &str, seconds: u32, companions: &[&str]) -> Command {
    let mut c = ffmpeg_base(seconds);
    let intra: Vec<&str> = X264
        .iter()
        .map(|a| if *a == "30" { "1" } else { a })
        .collect();
    let secs = seconds.to_string();
    for (i, (size, rate, kf_rate, name)) in [
        ("640x360", "800k", "2400k", "v360"),
        ("320x180", "300k", "900k", "v180"),
    ]
    .into_iter()
    .enumerate()
    {
        // `-t` is an output option: every output after the first needs its own.
        if i > 0 {
            c.args(["-t", &secs]);
        }
        c.args(["-map", "0:v"])
            .args(video(0, size, rate))
            .args(X264)
            .args(FRAG)
            .arg(format!("{ingest}/{name}.mp4"));
        if companions.contains(&name) {
            c.args(["-t", &secs, "-map", "0:v"])
                .args(video(0, size, kf_rate))
                .args(&intra)
                .args(FRAG)
                .arg(format!("{ingest}/{name}.kf.mp4"));
        }
    }
    c.args(["-t", &seconds.to_string(), "-map", "1:a"])
        .args(AAC)
        .args(FRAG)
        .arg(format!("{ingest}/audio.mp4"));
    c
}

/// One long chunked POST of a single rendition to `{ingest}/{track}.mp4`: `v180`
/// (320x180 video, 1 s GOP) or `audio` (AAC). Several of them, started at different
/// times, give a channel whose renditions get their first segment at different times.
pub fn ffmpeg_long_post_one(ingest: &str, seconds: u32, track: &str) -> Command {
    let mut c = ffmpeg_base(seconds);
    if track == "audio" {
        c.args(["-map", "1:a"]).args(AAC);
    } else {
        c.args(["-map", "0:v"])
            .args(video(0, "320x180", "300k"))
            .args(X264);
    }
    c.args(FRAG).arg(format!("{ingest}/{track}.mp4"));
    c
}

/// One video rendition at `size` (`{ingest}/v.mp4`) and one audio rendition
/// (`{ingest}/a.mp4`), one long chunked POST each, in real time.
pub fn ffmpeg_single(ingest: &str, seconds: u32, size: &str) -> Command {
    let mut c = ffmpeg_base(seconds);
    c.args(["-map", "0:v"])
        .args(video(0, size, "500k"))
        .args(X264)
        .args(FRAG)
        .arg(format!("{ingest}/v.mp4"));
    // `-t` is an output option: the audio output needs its own to end.
    c.args(["-t", &seconds.to_string()])
        .args(["-map", "1:a"])
        .args(AAC)
        .args(FRAG)
        .arg(format!("{ingest}/a.mp4"));
    c
}

/// One encoder at `{ingest}/v.mp4` (320x180) and `{ingest}/a.mp4` whose clock jumps
/// `jump` s ahead after `at` s of real time (a source switched to another time base:
/// `setpts` / `asetpts`), for `seconds` s of real time. Video keeps its frames as they
/// are (`-fps_mode passthrough`; ffmpeg would otherwise fill the jump with copies), and
/// ffmpeg's muxer writes the jump as the duration of the frame before it.
pub fn ffmpeg_clock_jump(ingest: &str, seconds: u32, at: u32, jump: u32) -> Command {
    // `-t` counts output time, which the jump moves on.
    let mut c = ffmpeg_base(seconds + jump);
    let video_jump = format!("setpts='if(gte(T,{at}),PTS+{jump}/TB,PTS)'");
    let audio_jump = format!("asetpts='if(gte(T,{at}),PTS+{jump}/TB,PTS)'");
    c.args([
        "-map",
        "0:v",
        "-fps_mode",
        "passthrough",
        "-vf",
        &video_jump,
    ])
    .args(video(0, "320x180", "500k"))
    .args(X264)
    .args(FRAG)
    .arg(format!("{ingest}/v.mp4"));
    c.args(["-t", &(seconds + jump).to_string()])
        .args(["-map", "1:a", "-af", &audio_jump])
        .args(AAC)
        .args(FRAG)
        .arg(format!("{ingest}/a.mp4"));
    c
}

fn ffmpeg_base(seconds: u32) -> Command {
    let mut c = Command::new("ffmpeg");
    c.args(["-hide_banner", "-loglevel", "error", "-nostdin"])
        .args(SOURCE);
    c.args(["-t", &seconds.to_string()]);
    c.stdin(Stdio::null()).stdout(Stdio::null());
    c
}

/// Runs a command to completion and returns its stdout, failing the test with stderr
/// when it exits non-zero or cannot start.
pub fn output(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (run `make test`, which installs it)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Decodes up to `seconds` of every stream of `url` with ffmpeg and returns the number of
/// decoded frames per stream index.
pub fn decoded_frames(url: &str, seconds: u32) -> Vec<usize> {
    let text = output(Command::new("ffmpeg").args([
        "-v",
        "error",
        "-nostdin",
        "-i",
        url,
        "-map",
        "0",
        "-t",
        &seconds.to_string(),
        "-f",
        "framemd5",
        "-",
    ]));
    let mut counts: Vec<usize> = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(idx) = line
            .split(',')
            .next()
            .and_then(|s| s.trim().parse::<usize>().ok())
        else {
            continue;
        };
        if counts.len() <= idx {
            counts.resize(idx + 1, 0);
        }
        counts[idx] += 1;
    }
    counts
}

/// Decodes up to `seconds` of the video of the live playlist `url` from its first listed
/// segment (not the live edge) and returns the number of frames decoded.
pub fn decoded_frames_from_start(url: &str, seconds: u32) -> usize {
    let text = output(Command::new("ffmpeg").args([
        "-v",
        "error",
        "-nostdin",
        "-live_start_index",
        "0",
        "-i",
        url,
        "-map",
        "0:v",
        "-t",
        &seconds.to_string(),
        "-f",
        "framemd5",
        "-",
    ]));
    text.lines().filter(|l| !l.starts_with('#')).count()
}

/// The `WIDTHxHEIGHT` of the first video stream of `file`, as ffprobe decodes it.
pub fn video_size(file: &Path) -> String {
    let text = output(
        Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=width,height",
                "-of",
                "csv=p=0:s=x",
            ])
            .arg(file),
    );
    text.trim().to_string()
}

/// ffprobe's view of the streams of `url`: (codec_type, codec_name) pairs.
pub fn probe_streams(url: &str) -> Vec<(String, String)> {
    let json = output(Command::new("ffprobe").args([
        "-v",
        "error",
        "-show_entries",
        "stream=codec_type,codec_name",
        "-of",
        "json",
        url,
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).expect("ffprobe json");
    v["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap_or("").into(),
                s["codec_name"].as_str().unwrap_or("").into(),
            )
        })
        .collect()
}

/// Repository root (the workspace).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Validates an MPD file against the vendored DASH MPD schema.
pub fn xmllint_mpd(file: &Path) {
    let xsd = repo().join("tests/fixtures/xsd/DASH-MPD.local.xsd");
    output(
        Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(&xsd)
            .arg(file),
    );
}

/// Validates HESP manifest files against the draft's JSON Schema (`tests/hesp`) and
/// the semantic checks of `tests/scripts/check_hesp.py`.
pub fn check_hesp(files: &[PathBuf]) {
    let tests = repo().join("tests");
    output(
        Command::new(python())
            .arg(tests.join("scripts/check_hesp.py"))
            .arg(tests.join("hesp/manifest.schema.json"))
            .args(files),
    );
}

/// Parses playlists with Python's `m3u8` package; returns its JSON summary.
pub fn python_m3u8(files: &[PathBuf]) -> serde_json::Value {
    let script = repo().join("tests/scripts/check_m3u8.py");
    let json = output(Command::new(python()).arg(script).args(files));
    serde_json::from_str(&json).expect("check_m3u8 json")
}

/// The Python that has the test packages: the project venv when `make test` made it.
fn python() -> PathBuf {
    let venv = repo().join(".venv/bin/python3");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Decodes `init` + `segment` with ffprobe; returns the number of frames read.
pub fn probe_frames(init: &[u8], segment: &[u8], file: &Path) -> u64 {
    std::fs::write(file, [init, segment].concat()).expect("write probe file");
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.trim().is_empty(),
        "ffprobe errors on {}: {err}",
        file.display()
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("frame count of {}", file.display()))
}
