//! Init-segment decoding: the tracks of a `moov` box and their `trex`
//! sample defaults.

use crate::codec::parse_sample_entry;
use crate::reader::Reader;
use crate::scan::{Children, Scan, find_child, scan_header};
use crate::{CmafError, FourCC};

/// The kind of media a track carries, from the `hdlr` handler_type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// handler_type `vide`.
    Video,
    /// handler_type `soun`.
    Audio,
    /// Any other handler (subtitles, metadata, hints...).
    Other,
}

/// Per-track sample defaults from `mvex/trex` (all zero if the track has no `trex`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SampleDefaults {
    /// default_sample_duration, in the track timescale.
    pub duration: u32,
    /// default_sample_size, in bytes.
    pub size: u32,
    /// default_sample_flags (see [`crate::sample_flags`]).
    pub flags: u32,
}

/// One track of an init segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackInfo {
    /// track_ID from `tkhd`.
    pub track_id: u32,
    /// Media kind from `hdlr`.
    pub kind: TrackKind,
    /// Media timescale (ticks per second) from `mdhd`.
    pub timescale: u32,
    /// RFC 6381 codec string ("avc1.64001f", "mp4a.40.2"; the sample entry
    /// type when the codec is not understood).
    pub codec: String,
    /// Picture width from the visual sample entry; 0 for non-video tracks.
    pub width: u32,
    /// Picture height from the visual sample entry; 0 for non-video tracks.
    pub height: u32,
    /// Sample rate in Hz (AudioSpecificConfig when present, else the audio
    /// sample entry); 0 for non-audio tracks.
    pub sample_rate: u32,
    /// Channel count (AudioSpecificConfig when present, else the audio
    /// sample entry); 0 for non-audio tracks.
    pub channels: u16,
    /// ISO-639-2/T language from `mdhd`; `None` for "und" or unset.
    pub language: Option<String>,
    /// Average bitrate in bit/s from `btrt` (or the `esds` decoder config).
    pub avg_bitrate: Option<u32>,
    /// Maximum bitrate in bit/s from `btrt` (or the `esds` decoder config).
    pub max_bitrate: Option<u32>,
    /// The track's `trex` defaults.
    pub defaults: SampleDefaults,
}

/// A decoded init segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitSegment {
    /// Tracks in `moov` order.
    pub tracks: Vec<TrackInfo>,
}

impl InitSegment {
    /// The track with this track_ID, if declared.
    pub fn track(&self, track_id: u32) -> Option<&TrackInfo> {
        self.tracks.iter().find(|t| t.track_id == track_id)
    }
}

/// Upper bound on the tracks of an init segment.
///
/// A CMAF header carries one track and a muxed fMP4 init a handful, but a
/// minimal `trak` takes about 140 bytes, so a 16 MiB `moov` could declare
/// over 100,000 of them; every `traf` of every later `moof` looks its track
/// up among them. 256 keeps that lookup and the duplicate check cheap.
pub const MAX_TRACKS: usize = 256;

/// Decodes a complete `moov` box (header included).
///
/// At most [`MAX_TRACKS`] tracks ([`CmafError::Unsupported`] above it);
/// duplicate track_IDs are [`CmafError::Malformed`]. A track takes the
/// first `trex` with its track_ID.
pub fn parse_init(moov: &[u8]) -> Result<InitSegment, CmafError> {
    let payload = box_payload(moov, b"moov")?;
    let mut tracks = Vec::new();
    let mut trexs = Vec::new();
    for child in Children::new(payload, "moov") {
        let (kind, p) = child?;
        match &kind {
            b"trak" if tracks.len() == MAX_TRACKS => {
                return Err(CmafError::Unsupported(format!(
                    "moov declares more than {MAX_TRACKS} tracks"
                )));
            }
            b"trak" => tracks.push(parse_trak(p)?),
            b"mvex" => {
                for c in Children::new(p, "mvex") {
                    let (k, p) = c?;
                    if &k == b"trex" {
                        trexs.push(parse_trex(p)?);
                    }
                }
            }
            _ => {}
        }
    }
    if tracks.is_empty() {
        return Err(CmafError::malformed("moov", "no trak box"));
    }
    for (i, t) in tracks.iter().enumerate() {
        if tracks.iter().skip(i + 1).any(|o| o.track_id == t.track_id) {
            return Err(CmafError::malformed(
                "moov",
                format!("track_id {} is declared twice", t.track_id),
            ));
        }
    }
    // Sorted (stably) by track_ID, so that a lookup is a binary search that
    // finds the first trex of an ID: trex boxes are 32 bytes, a 16 MiB moov
    // can hold half a million.
    trexs.sort_by_key(|(id, _)| *id);
    for t in &mut tracks {
        let first = trexs.partition_point(|(id, _)| *id < t.track_id);
        if let Some((_, d)) = trexs.get(first).filter(|(id, _)| *id == t.track_id) {
            t.defaults = *d;
        }
    }
    Ok(InitSegment { tracks })
}

/// Checks that `bytes` is exactly one complete box of type `kind` and returns its payload.
pub(crate) fn box_payload<'a>(bytes: &'a [u8], kind: &FourCC) -> Result<&'a [u8], CmafError> {
    let ctx = match kind {
        b"moov" => "moov",
        b"moof" => "moof",
        b"prft" => "prft",
        _ => "box",
    };
    match scan_header(bytes, u64::MAX)? {
        Scan::Header(h) if &h.kind == kind && h.size == bytes.len() as u64 => {
            Ok(bytes.get(h.header_len..).unwrap_or(&[]))
        }
        Scan::Header(h) if &h.kind != kind => Err(CmafError::malformed(
            ctx,
            format!(
                "expected a '{ctx}' box, found '{}'",
                crate::error::fourcc_str(&h.kind)
            ),
        )),
        Scan::Header(h) => Err(CmafError::malformed(
            ctx,
            format!(
                "box declares {} bytes but {} were given",
                h.size,
                bytes.len()
            ),
        )),
        Scan::Incomplete => Err(CmafError::malformed(ctx, "incomplete box header")),
    }
}

fn parse_trex(p: &[u8]) -> Result<(u32, SampleDefaults), CmafError> {
    // TrackExtendsBox: track_ID, default_sample_description_index,
    // default_sample_duration, default_sample_size, default_sample_flags.
    let mut r = Reader::new(p, "trex");
    r.full_header()?;
    let id = r.u32()?;
    r.skip(4)?;
    Ok((
        id,
        SampleDefaults {
            duration: r.u32()?,
            size: r.u32()?,
            flags: r.u32()?,
        },
    ))
}

fn parse_trak(trak: &[u8]) -> Result<TrackInfo, CmafError> {
    let tkhd = find_child(trak, "trak", b"tkhd")?
        .ok_or_else(|| CmafError::malformed("trak", "no tkhd box"))?;
    let mut r = Reader::new(tkhd, "tkhd");
    let (version, _) = r.full_header()?;
    // v1: creation_time(64), modification_time(64); v0: both 32-bit.
    r.skip(if version == 1 { 16 } else { 8 })?;
    let track_id = r.u32()?;

    let mdia = find_child(trak, "trak", b"mdia")?
        .ok_or_else(|| CmafError::malformed("trak", "no mdia box"))?;
    let mdhd = find_child(mdia, "mdia", b"mdhd")?
        .ok_or_else(|| CmafError::malformed("mdia", "no mdhd box"))?;
    let mut r = Reader::new(mdhd, "mdhd");
    let (version, _) = r.full_header()?;
    r.skip(if version == 1 { 16 } else { 8 })?;
    let timescale = r.u32()?;
    r.skip(if version == 1 { 8 } else { 4 })?;
    let language = language(r.u16()?);
    if timescale == 0 {
        return Err(CmafError::malformed("mdhd", "timescale is 0"));
    }

    let hdlr = find_child(mdia, "mdia", b"hdlr")?
        .ok_or_else(|| CmafError::malformed("mdia", "no hdlr box"))?;
    let mut r = Reader::new(hdlr, "hdlr");
    r.full_header()?;
    r.skip(4)?; // pre_defined
    let kind = match &r.fourcc()? {
        b"vide" => TrackKind::Video,
        b"soun" => TrackKind::Audio,
        _ => TrackKind::Other,
    };

    let stsd = find_child(mdia, "mdia", b"minf")?
        .map(|minf| find_child(minf, "minf", b"stbl"))
        .transpose()?
        .flatten()
        .map(|stbl| find_child(stbl, "stbl", b"stsd"))
        .transpose()?
        .flatten()
        .ok_or_else(|| CmafError::malformed("trak", "no mdia/minf/stbl/stsd box"))?;
    let mut r = Reader::new(stsd, "stsd");
    r.full_header()?;
    r.skip(4)?; // entry_count
    let (entry_kind, entry) = Children::new(r.rest(), "stsd")
        .next()
        .transpose()?
        .ok_or_else(|| CmafError::malformed("stsd", "no sample entry"))?;
    let e = parse_sample_entry(entry_kind, entry, kind)?;

    Ok(TrackInfo {
        track_id,
        kind,
        timescale,
        codec: e.codec,
        width: e.width,
        height: e.height,
        sample_rate: e.sample_rate,
        channels: e.channels,
        language,
        avg_bitrate: e.avg_bitrate,
        max_bitrate: e.max_bitrate,
        defaults: SampleDefaults::default(),
    })
}

/// mdhd: "bit(1) pad = 0; unsigned int(5)[3] language; // ISO-639-2/T
/// language code", each character stored as its ASCII value minus 0x60.
fn language(packed: u16) -> Option<String> {
    let chars: Vec<u8> = [10u16, 5, 0]
        .iter()
        .map(|shift| (((packed >> shift) & 0x1f) as u8) + 0x60)
        .collect();
    if !chars.iter().all(u8::is_ascii_lowercase) || chars == b"und" {
        return None;
    }
    String::from_utf8(chars).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{audio_entry, bx, moov, trak, trex, video_entry};

    #[test]
    fn tracks_and_trex_defaults() {
        let m = moov(
            &[
                trak(1, b"vide", 90000, &video_entry(b"xxxx")),
                trak(2, b"soun", 48000, &audio_entry(b"Opus")),
                trak(3, b"subt", 1000, &video_entry(b"stpp")),
            ],
            &[trex(2, 1024, 0, 0), trex(1, 3000, 10, 0x0101_0000)],
        );
        let init = parse_init(&m).unwrap();
        assert_eq!(init.tracks.len(), 3);
        let v = init.track(1).unwrap();
        assert_eq!(v.kind, TrackKind::Video);
        assert_eq!(v.timescale, 90000);
        assert_eq!(v.language.as_deref(), Some("eng"));
        assert_eq!(
            v.defaults,
            SampleDefaults {
                duration: 3000,
                size: 10,
                flags: 0x0101_0000
            }
        );
        let a = init.track(2).unwrap();
        assert_eq!(a.kind, TrackKind::Audio);
        assert_eq!(a.codec, "opus");
        assert_eq!((a.sample_rate, a.channels), (48000, 2));
        assert_eq!((v.width, v.height), (64, 48));
        assert_eq!(a.defaults.duration, 1024);
        let s = init.track(3).unwrap();
        assert_eq!(s.kind, TrackKind::Other);
        assert_eq!(s.codec, "stpp");
        assert_eq!(s.defaults, SampleDefaults::default());
    }

    #[test]
    fn language_decoding() {
        assert_eq!(language(0x55c4), None); // "und"
        assert_eq!(language(0x15c7).as_deref(), Some("eng"));
        assert_eq!(language(0), None);
    }

    #[test]
    fn rejects_non_moov_and_empty_moov() {
        assert!(parse_init(&bx(b"moof", &[])).is_err());
        assert!(parse_init(&bx(b"moov", &[])).is_err());
        let mut m = moov(&[trak(1, b"vide", 1, &video_entry(b"avc1"))], &[]);
        m.push(0);
        assert!(parse_init(&m).is_err());
        m.pop();
        // Every truncation of a valid moov is an error, never a panic.
        for n in 0..m.len() {
            assert!(parse_init(&m[..n]).is_err());
        }
    }

    #[test]
    fn track_count_is_capped() {
        let traks = |n: u32| -> Vec<Vec<u8>> {
            (1..=n)
                .map(|id| trak(id, b"subt", 1, &video_entry(b"stpp")))
                .collect()
        };
        let n = MAX_TRACKS as u32;
        assert_eq!(parse_init(&moov(&traks(n), &[])).unwrap().tracks.len(), 256);
        assert_eq!(
            parse_init(&moov(&traks(n + 1), &[]))
                .unwrap_err()
                .to_string(),
            "unsupported: moov declares more than 256 tracks"
        );
    }

    #[test]
    fn first_trex_of_a_track_wins() {
        let m = moov(
            &[
                trak(7, b"vide", 1, &video_entry(b"avc1")),
                trak(2, b"soun", 1, &audio_entry(b"mp4a")),
            ],
            &[
                trex(9, 1, 1, 1),
                trex(7, 100, 0, 0),
                trex(2, 1024, 0, 0),
                trex(7, 200, 0, 0),
            ],
        );
        let init = parse_init(&m).unwrap();
        assert_eq!(init.track(7).unwrap().defaults.duration, 100);
        assert_eq!(init.track(2).unwrap().defaults.duration, 1024);
    }

    #[test]
    fn duplicate_track_ids_are_malformed() {
        let m = moov(
            &[
                trak(1, b"vide", 1, &video_entry(b"aaaa")),
                trak(1, b"soun", 1, &audio_entry(b"bbbb")),
            ],
            &[],
        );
        assert!(matches!(parse_init(&m), Err(CmafError::Malformed { .. })));
    }
}
