//! Where the DVR keeps what, on disk. An operator can read it with `ls`:
//!
//! ```text
//! {dvr-dir}/{channel}/channel.json                 wall-clock anchor and cadence
//! {dvr-dir}/{channel}/{track}/track.json           what the rendition is (codec, size …)
//! {dvr-dir}/{channel}/{track}/init-{id}.mp4        each init version still referenced
//! {dvr-dir}/{channel}/{track}/{YYYY-MM-DD}/{HH}/   one directory per UTC hour
//!     {msn}-p{period}@{period start}-t{start}+{duration}-i{init id}.m4s
//! ```
//!
//! A segment's file name carries everything its playlist entry needs (numbers in
//! decimal, media times in the track's ticks, the init id in 8 hex digits), so the
//! index is rebuilt from a directory listing alone and a file is never half of an
//! entry: it is written under a temporary dot-name and renamed into place.

use std::path::{Path, PathBuf};

use timeline::time::format_iso8601_micros;

/// The name of the channel's metadata file.
pub const CHANNEL_FILE: &str = "channel.json";
/// The name of a track's metadata file.
pub const TRACK_FILE: &str = "track.json";
/// Extension of a stored segment.
const SEGMENT_EXT: &str = ".m4s";

/// What a stored segment's file name says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentName {
    /// Media sequence number.
    pub msn: u64,
    /// Discontinuity sequence number of its period.
    pub period: u64,
    /// Start of its period, in ticks.
    pub period_start: u64,
    /// Decode time of its first sample, in ticks.
    pub start: u64,
    /// Duration in ticks.
    pub duration: u64,
    /// Id of the init it was made with.
    pub init: u32,
}

impl SegmentName {
    /// The file name.
    pub fn file_name(&self) -> String {
        format!(
            "{:010}-p{}@{}-t{}+{}-i{:08x}{SEGMENT_EXT}",
            self.msn, self.period, self.period_start, self.start, self.duration, self.init
        )
    }

    /// Parses a file name written by [`SegmentName::file_name`].
    pub fn parse(name: &str) -> Option<SegmentName> {
        let rest = name.strip_suffix(SEGMENT_EXT)?;
        let (msn, rest) = rest.split_once("-p")?;
        let (period, rest) = rest.split_once('@')?;
        let (period_start, rest) = rest.split_once("-t")?;
        let (start, rest) = rest.split_once('+')?;
        let (duration, init) = rest.split_once("-i")?;
        if init.len() != 8 {
            return None;
        }
        Some(SegmentName {
            msn: msn.parse().ok()?,
            period: period.parse().ok()?,
            period_start: period_start.parse().ok()?,
            start: start.parse().ok()?,
            duration: duration.parse().ok()?,
            init: u32::from_str_radix(init, 16).ok()?,
        })
    }
}

/// `{dir}/{channel}`.
pub fn channel_dir(dir: &Path, channel: &str) -> PathBuf {
    dir.join(channel)
}

/// `{dir}/{channel}/{track}`.
pub fn track_dir(dir: &Path, channel: &str, track: &str) -> PathBuf {
    dir.join(channel).join(track)
}

/// `init-{id}.mp4` in the track's directory.
pub fn init_path(track_dir: &Path, id: u32) -> PathBuf {
    track_dir.join(manifest::init_uri(id))
}

/// The init id of a file name `init-{id}.mp4`.
pub fn parse_init_name(name: &str) -> Option<u32> {
    let hex = name.strip_prefix("init-")?.strip_suffix(".mp4")?;
    (hex.len() == 8).then(|| u32::from_str_radix(hex, 16).ok())?
}

/// The hour directory of a segment starting at wall-clock `wall_us`:
/// `{track dir}/YYYY-MM-DD/HH`.
pub fn hour_dir(track_dir: &Path, wall_us: i64) -> PathBuf {
    let iso = format_iso8601_micros(wall_us);
    track_dir.join(&iso[..10]).join(&iso[11..13])
}

/// The temporary name a file is written under before it is renamed to `path`: a dot
/// file in the same directory (same file system, so the rename is atomic), which the
/// index never reads.
pub fn temporary(path: &Path) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    path.with_file_name(format!(".{name}.tmp"))
}

/// True for a temporary file left by a write that did not finish.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let n = SegmentName {
            msn: 897_691_501,
            period: 2,
            period_start: 123_456,
            start: 27_578_086_400,
            duration: 30_720,
            init: 0x0a1b_2c3d,
        };
        let f = n.file_name();
        assert_eq!(f, "0897691501-p2@123456-t27578086400+30720-i0a1b2c3d.m4s");
        assert_eq!(SegmentName::parse(&f), Some(n));
        assert_eq!(SegmentName::parse("x.m4s"), None);
        assert_eq!(SegmentName::parse(&f.replace("-i0a", "-i0")), None);
        assert_eq!(parse_init_name("init-0a1b2c3d.mp4"), Some(0x0a1b_2c3d));
        assert_eq!(parse_init_name("init-zz.mp4"), None);
        assert_eq!(
            hour_dir(Path::new("/d/c/v"), 1_795_383_000_123_456),
            Path::new("/d/c/v/2026-11-22/21")
        );
        let t = temporary(Path::new("/d/c/v/x.m4s"));
        assert_eq!(t, Path::new("/d/c/v/.x.m4s.tmp"));
        assert!(is_temporary(".x.m4s.tmp"));
    }
}
