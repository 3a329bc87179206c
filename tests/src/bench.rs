//! Helpers shared by the benchmark binaries: a real ffmpeg encode, split into the CMAF
//! chunks an encoder would push, and chunked transfer framing.

use std::process::Command;

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
        .args([
            "-f",
            "mp4",
            "-movflags",
            "+frag_every_frame+empty_moov+default_base_moof+cmaf",
        ])
        .arg(&out)
        .status()
        .expect("ffmpeg")
        .success();
    assert!(ok, "ffmpeg failed");
    let data = std::fs::read(&out).expect("read source");
    let _ = std::fs::remove_file(out);
    data
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
