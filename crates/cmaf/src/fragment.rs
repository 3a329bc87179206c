//! Movie-fragment (`moof`) decoding with the full sample-default chain.
//!
//! ISO/IEC 14496-12 §8.8: each per-sample value comes from the `trun` entry
//! when present, else from the `tfhd` default, else from the `trex` default
//! of the track ("the defaults in the track fragment header override those
//! in the track extends box").

use crate::CmafError;
use crate::init::{InitSegment, TrackInfo, box_payload};
use crate::reader::Reader;
use crate::sample_flags::is_sync;
use crate::scan::Children;

/// One decoded sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Decode time: tfdt.baseMediaDecodeTime plus the durations of the
    /// earlier samples of the same track fragment, in the track timescale.
    pub dts: u64,
    /// Duration in the track timescale.
    pub duration: u32,
    /// Size in bytes.
    pub size: u32,
    /// Composition time offset (pts - dts); `trun` v0 values above
    /// `i32::MAX` are clamped.
    pub cts_offset: i32,
    /// Resolved sample_flags (see [`crate::sample_flags`]).
    pub flags: u32,
    /// Whether decoding can start at this sample (always true for audio).
    pub is_sync: bool,
    /// Offset of the sample data counted from the first byte of the `moof`.
    pub offset: u64,
}

/// The samples of one track in one fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFragment {
    /// track_ID from `tfhd`.
    pub track_id: u32,
    /// baseMediaDecodeTime from `tfdt`.
    pub base_decode_time: u64,
    /// Samples of all `trun` boxes of the `traf`, in order.
    pub samples: Vec<Sample>,
}

/// A decoded `moof`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// sequence_number from `mfhd`.
    pub sequence: u32,
    /// One entry per `traf`, in order.
    pub tracks: Vec<TrackFragment>,
}

/// Upper bound on samples in a `trun` that stores no per-sample fields
/// (its entries take no bytes, so the box size cannot bound them).
pub const MAX_SAMPLES_WITHOUT_ENTRIES: u32 = 1 << 16;

/// Default upper bound on the samples of one fragment: all `trun` boxes of
/// all `traf` boxes of a `moof`, added up (see [`parse_moof_limited`] and
/// [`Demuxer::with_max_samples`](crate::Demuxer::with_max_samples)).
///
/// A `trun` whose per-sample values all come from defaults takes 16 bytes
/// whatever its sample_count, so without a fragment-wide cap a 1 MB `moof`
/// of such runs could ask for billions of [`Sample`]s (40 bytes each). Live
/// CMAF chunks hold one to a few hundred samples (a 2 s segment is 120
/// samples of 60 fps video or 94 AAC frames at 48 kHz); 16,384 leaves room
/// for a whole-segment fragment of over 4 minutes of 60 fps video or over
/// 5 minutes of 48 kHz AAC, and bounds the decoded samples of one
/// fragment at 640 KiB.
pub const DEFAULT_MAX_SAMPLES: u32 = 16_384;

// tfhd flags (§8.8.7.1).
const TFHD_BASE_DATA_OFFSET: u32 = 0x00_0001;
const TFHD_SAMPLE_DESCRIPTION_INDEX: u32 = 0x00_0002;
const TFHD_DEFAULT_DURATION: u32 = 0x00_0008;
const TFHD_DEFAULT_SIZE: u32 = 0x00_0010;
const TFHD_DEFAULT_FLAGS: u32 = 0x00_0020;
const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;

// trun flags (§8.8.8.1).
const TRUN_DATA_OFFSET: u32 = 0x00_0001;
const TRUN_FIRST_SAMPLE_FLAGS: u32 = 0x00_0004;
const TRUN_DURATION: u32 = 0x00_0100;
const TRUN_SIZE: u32 = 0x00_0200;
const TRUN_FLAGS: u32 = 0x00_0400;
const TRUN_CTS: u32 = 0x00_0800;

/// Decodes a complete `moof` box (header included) against the init segment
/// that declares its tracks, with at most [`DEFAULT_MAX_SAMPLES`] samples.
///
/// Every `traf` needs a `tfdt` ([`CmafError::MissingTfdt`]) and a track_ID
/// declared in `init` ([`CmafError::UnknownTrack`]).
pub fn parse_moof(moof: &[u8], init: &InitSegment) -> Result<Fragment, CmafError> {
    parse_moof_limited(moof, init, DEFAULT_MAX_SAMPLES)
}

/// [`parse_moof`] with at most `max_samples` samples in the whole `moof`
/// ([`CmafError::TooManySamples`] above it, checked before any sample is
/// decoded or allocated).
///
/// Decode times and sample offsets are computed with checked arithmetic:
/// a value that does not fit in 64 bits is [`CmafError::Malformed`].
pub fn parse_moof_limited(
    moof: &[u8],
    init: &InitSegment,
    max_samples: u32,
) -> Result<Fragment, CmafError> {
    let payload = box_payload(moof, b"moof")?;
    let count = declared_samples(payload)?;
    if count > u64::from(max_samples) {
        return Err(CmafError::TooManySamples {
            count,
            max: max_samples,
        });
    }
    let mut sequence = None;
    let mut tracks = Vec::new();
    // §8.8.7.1: without base-data-offset-present or default-base-is-moof,
    // "the base data offset for the first track in the movie fragment is the
    // position of the first byte of the enclosing Movie Fragment Box, and for
    // second and subsequent track fragments, the default is the end of the
    // data defined by the preceding track fragment."
    let mut implicit_base = 0u64;
    for child in Children::new(payload, "moof") {
        let (kind, p) = child?;
        match &kind {
            b"mfhd" => {
                let mut r = Reader::new(p, "mfhd");
                r.full_header()?;
                sequence = Some(r.u32()?);
            }
            b"traf" => {
                let (tf, data_end) = parse_traf(p, init, implicit_base)?;
                implicit_base = data_end;
                tracks.push(tf);
            }
            _ => {}
        }
    }
    let sequence = sequence.ok_or_else(|| CmafError::malformed("moof", "no mfhd box"))?;
    if tracks.is_empty() {
        return Err(CmafError::malformed("moof", "no traf box"));
    }
    Ok(Fragment { sequence, tracks })
}

/// Adds up the sample_count fields of every `trun` of every `traf`, decoding
/// nothing else, so that a hostile count is refused before anything is
/// allocated for it.
fn declared_samples(payload: &[u8]) -> Result<u64, CmafError> {
    let mut total = 0u64;
    for child in Children::new(payload, "moof") {
        let (kind, traf) = child?;
        if &kind != b"traf" {
            continue;
        }
        for c in Children::new(traf, "traf") {
            let (k, p) = c?;
            if &k == b"trun" {
                let mut r = Reader::new(p, "trun");
                r.full_header()?;
                // At most 2^32 runs of 2^32 samples fit in a moof: no overflow,
                // but saturate anyway rather than reason about it.
                total = total.saturating_add(u64::from(r.u32()?));
            }
        }
    }
    Ok(total)
}

/// The decoded `tfhd` of one `traf`.
struct Tfhd {
    track_id: u32,
    base: u64,
    duration: Option<u32>,
    size: Option<u32>,
    flags: Option<u32>,
}

fn parse_tfhd(p: &[u8], implicit_base: u64) -> Result<Tfhd, CmafError> {
    let mut r = Reader::new(p, "tfhd");
    let (_, flags) = r.full_header()?;
    let track_id = r.u32()?;
    let base_data_offset = opt(&mut r, flags, TFHD_BASE_DATA_OFFSET, Reader::u64)?;
    opt(&mut r, flags, TFHD_SAMPLE_DESCRIPTION_INDEX, Reader::u32)?;
    let duration = opt(&mut r, flags, TFHD_DEFAULT_DURATION, Reader::u32)?;
    let size = opt(&mut r, flags, TFHD_DEFAULT_SIZE, Reader::u32)?;
    let default_flags = opt(&mut r, flags, TFHD_DEFAULT_FLAGS, Reader::u32)?;
    // base_data_offset is, per the standard, an absolute file position. An
    // ingest stream has no file, so this crate takes it as relative to the
    // first byte of the moof (ffmpeg never writes it; CMAF forbids it and
    // requires default-base-is-moof instead).
    let base = match base_data_offset {
        Some(b) => b,
        // §8.8.7.1: "default-base-is-moof: ... the base-data-offset for this
        // track fragment is the position of the first byte of the enclosing
        // Movie Fragment Box."
        None if flags & TFHD_DEFAULT_BASE_IS_MOOF != 0 => 0,
        None => implicit_base,
    };
    Ok(Tfhd {
        track_id,
        base,
        duration,
        size,
        flags: default_flags,
    })
}

/// Reads a field only when its flag bit is set.
fn opt<'a, T>(
    r: &mut Reader<'a>,
    flags: u32,
    bit: u32,
    read: fn(&mut Reader<'a>) -> Result<T, CmafError>,
) -> Result<Option<T>, CmafError> {
    if flags & bit != 0 {
        read(r).map(Some)
    } else {
        Ok(None)
    }
}

/// Decodes one `traf`; also returns where its data ends (relative to the
/// moof start), the implicit base of the next `traf`.
fn parse_traf(
    traf: &[u8],
    init: &InitSegment,
    implicit_base: u64,
) -> Result<(TrackFragment, u64), CmafError> {
    let mut tfhd = None;
    let mut tfdt = None;
    let mut truns = Vec::new();
    for child in Children::new(traf, "traf") {
        let (kind, p) = child?;
        match &kind {
            b"tfhd" if tfhd.is_none() => tfhd = Some(parse_tfhd(p, implicit_base)?),
            b"tfdt" => {
                // TrackFragmentBaseMediaDecodeTimeBox: v1 64-bit, v0 32-bit.
                let mut r = Reader::new(p, "tfdt");
                let (version, _) = r.full_header()?;
                tfdt = Some(if version == 1 {
                    r.u64()?
                } else {
                    u64::from(r.u32()?)
                });
            }
            b"trun" => truns.push(p),
            b"tfhd" => return Err(CmafError::malformed("traf", "more than one tfhd box")),
            _ => {}
        }
    }
    let tfhd = tfhd.ok_or_else(|| CmafError::malformed("traf", "no tfhd box"))?;
    let track = init
        .track(tfhd.track_id)
        .ok_or(CmafError::UnknownTrack(tfhd.track_id))?;
    let base_decode_time = tfdt.ok_or(CmafError::MissingTfdt)?;

    let mut run = RunState {
        dts: base_decode_time,
        // §8.8.8.1: "If the data-offset is not present, then the data for this
        // run starts immediately after the data of the previous run, or at the
        // base-data-offset defined by the track fragment header if this is the
        // first run in a track fragment".
        next_offset: tfhd.base,
        samples: Vec::new(),
    };
    for p in truns {
        parse_trun(p, &tfhd, track, &mut run)?;
    }
    let (samples, next_offset) = (run.samples, run.next_offset);
    Ok((
        TrackFragment {
            track_id: tfhd.track_id,
            base_decode_time,
            samples,
        },
        next_offset,
    ))
}

/// What carries over from one `trun` of a `traf` to the next.
struct RunState {
    /// Decode time of the next sample.
    dts: u64,
    /// Where the next run's data starts when it has no data_offset.
    next_offset: u64,
    /// The samples decoded so far.
    samples: Vec<Sample>,
}

/// Decodes one `trun` payload, appending its samples to `run`.
fn parse_trun(
    p: &[u8],
    tfhd: &Tfhd,
    track: &TrackInfo,
    run: &mut RunState,
) -> Result<(), CmafError> {
    let mut r = Reader::new(p, "trun");
    let (version, flags) = r.full_header()?;
    let count = r.u32()?;
    let data_offset = opt(&mut r, flags, TRUN_DATA_OFFSET, Reader::i32)?;
    let first_flags = opt(&mut r, flags, TRUN_FIRST_SAMPLE_FLAGS, Reader::u32)?;
    let entry_len = [TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_CTS]
        .iter()
        .filter(|&&b| flags & b != 0)
        .count()
        * 4;
    // Check the declared entries fit before allocating anything for them
    // (parse_moof_limited has already checked the count against the cap).
    let fits = if entry_len == 0 {
        count <= MAX_SAMPLES_WITHOUT_ENTRIES
    } else {
        (count as usize)
            .checked_mul(entry_len)
            .is_some_and(|need| need <= r.remaining())
    };
    if !fits {
        return Err(CmafError::malformed(
            "trun",
            format!(
                "sample_count {count} with {entry_len}-byte entries does not fit in {} remaining bytes",
                r.remaining()
            ),
        ));
    }
    let mut offset = match data_offset {
        Some(d) => tfhd.base.checked_add_signed(i64::from(d)).ok_or_else(|| {
            CmafError::malformed(
                "trun",
                format!("data_offset {d} from base {} is outside 0..2^64", tfhd.base),
            )
        })?,
        None => run.next_offset,
    };
    run.samples.reserve(count as usize);
    for i in 0..count {
        let duration = opt(&mut r, flags, TRUN_DURATION, Reader::u32)?
            .or(tfhd.duration)
            .unwrap_or(track.defaults.duration);
        let size = opt(&mut r, flags, TRUN_SIZE, Reader::u32)?
            .or(tfhd.size)
            .unwrap_or(track.defaults.size);
        let per_sample_flags = opt(&mut r, flags, TRUN_FLAGS, Reader::u32)?;
        // §8.8.8.1: first_sample_flags "provides a set of flags for the
        // first sample only of this run".
        let sample_flags = first_flags
            .filter(|_| i == 0)
            .or(per_sample_flags)
            .or(tfhd.flags)
            .unwrap_or(track.defaults.flags);
        let cts_offset = match opt(&mut r, flags, TRUN_CTS, Reader::u32)? {
            None => 0,
            // v0: unsigned int(32); v1: signed int(32).
            Some(v) if version == 0 => i32::try_from(v).unwrap_or(i32::MAX),
            Some(v) => v as i32,
        };
        run.samples.push(Sample {
            dts: run.dts,
            duration,
            size,
            cts_offset,
            flags: sample_flags,
            is_sync: is_sync(sample_flags, track.kind),
            offset,
        });
        run.dts = run.dts.checked_add(u64::from(duration)).ok_or_else(|| {
            CmafError::malformed(
                "trun",
                format!(
                    "decode time {} + sample duration {duration} overflows 64 bits",
                    run.dts
                ),
            )
        })?;
        offset = offset.checked_add(u64::from(size)).ok_or_else(|| {
            CmafError::malformed(
                "trun",
                format!("sample offset {offset} + sample size {size} overflows 64 bits"),
            )
        })?;
    }
    run.next_offset = offset;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_init;
    use crate::sample_flags::{NON_SYNC, SYNC};
    use crate::testutil::{audio_entry, full, moof, moov, tfdt, trak, trex, video_entry, words};

    fn init() -> InitSegment {
        parse_init(&moov(
            &[
                trak(1, b"vide", 90000, &video_entry(b"avc1")),
                trak(2, b"soun", 48000, &audio_entry(b"mp4a")),
            ],
            &[trex(1, 3000, 100, NON_SYNC), trex(2, 1024, 7, 0)],
        ))
        .unwrap()
    }

    fn tfhd(flags: u32, track: u32, fields: &[u32]) -> Vec<u8> {
        full(
            b"tfhd",
            0,
            flags,
            &[words(&[track]), words(fields)].concat(),
        )
    }

    fn trun(version: u8, flags: u32, count: u32, fields: &[u32]) -> Vec<u8> {
        full(
            b"trun",
            version,
            flags,
            &[words(&[count]), words(fields)].concat(),
        )
    }

    fn traf(parts: &[Vec<u8>]) -> Vec<u8> {
        crate::testutil::bx(b"traf", &parts.concat())
    }

    #[test]
    fn defaults_from_trex_only() {
        let m = moof(
            7,
            &[traf(&[
                tfhd(0x020000, 1, &[]),
                tfdt(1000),
                trun(0, 0x1, 3, &[200]),
            ])],
        );
        let f = parse_moof(&m, &init()).unwrap();
        assert_eq!(f.sequence, 7);
        let s = &f.tracks[0].samples;
        assert_eq!(s.len(), 3);
        assert_eq!(
            s.iter()
                .map(|s| (s.dts, s.duration, s.size, s.offset))
                .collect::<Vec<_>>(),
            vec![
                (1000, 3000, 100, 200),
                (4000, 3000, 100, 300),
                (7000, 3000, 100, 400)
            ]
        );
        assert!(s.iter().all(|s| s.flags == NON_SYNC && !s.is_sync));
    }

    #[test]
    fn defaults_from_tfhd_override_trex() {
        let m = moof(
            1,
            &[traf(&[
                tfhd(0x02003a, 1, &[1, 1500, 50, SYNC]),
                tfdt(0),
                trun(0, 0x1, 2, &[100]),
            ])],
        );
        let s = &parse_moof(&m, &init()).unwrap().tracks[0].samples;
        assert_eq!(
            s.iter()
                .map(|s| (s.dts, s.duration, s.size, s.flags, s.offset))
                .collect::<Vec<_>>(),
            vec![(0, 1500, 50, SYNC, 100), (1500, 1500, 50, SYNC, 150)]
        );
        assert!(s.iter().all(|s| s.is_sync));
    }

    #[test]
    fn per_sample_values_override_tfhd() {
        let m = moof(
            1,
            &[traf(&[
                tfhd(0x02003a, 1, &[1, 1500, 50, SYNC]),
                tfdt(10),
                // duration, size, flags, cts per sample.
                trun(
                    0,
                    0xF01,
                    2,
                    &[120, 1, 2, NON_SYNC, 5, 3, 4, SYNC, 0xFFFF_FFFF],
                ),
            ])],
        );
        let s = &parse_moof(&m, &init()).unwrap().tracks[0].samples;
        assert_eq!(
            s.iter()
                .map(|s| (
                    s.dts,
                    s.duration,
                    s.size,
                    s.flags,
                    s.cts_offset,
                    s.offset,
                    s.is_sync
                ))
                .collect::<Vec<_>>(),
            // v0 cts 0xFFFFFFFF is unsigned: clamped to i32::MAX.
            vec![
                (10, 1, 2, NON_SYNC, 5, 120, false),
                (11, 3, 4, SYNC, i32::MAX, 122, true)
            ]
        );
    }

    #[test]
    fn first_sample_flags() {
        let m = moof(
            1,
            &[traf(&[
                tfhd(0x020020, 1, &[NON_SYNC]),
                tfdt(0),
                trun(0, 0x205, 3, &[0, SYNC, 10, 11, 12]),
            ])],
        );
        let s = &parse_moof(&m, &init()).unwrap().tracks[0].samples;
        assert_eq!(
            s.iter()
                .map(|s| (s.flags, s.is_sync, s.size))
                .collect::<Vec<_>>(),
            vec![
                (SYNC, true, 10),
                (NON_SYNC, false, 11),
                (NON_SYNC, false, 12)
            ]
        );
    }

    #[test]
    fn two_truns_in_one_traf() {
        // Second trun without data_offset continues after the first run's data.
        let m = moof(
            1,
            &[traf(&[
                tfhd(0x020000, 1, &[]),
                tfdt(0),
                trun(0, 0x201, 2, &[100, 10, 20]),
                trun(0, 0x200, 1, &[5]),
            ])],
        );
        let t = &parse_moof(&m, &init()).unwrap().tracks[0];
        assert_eq!(
            t.samples
                .iter()
                .map(|s| (s.dts, s.offset, s.size))
                .collect::<Vec<_>>(),
            vec![(0, 100, 10), (3000, 110, 20), (6000, 130, 5)]
        );
        // With data_offset the second run is placed relative to the base.
        let m = moof(
            1,
            &[traf(&[
                tfhd(0x020000, 1, &[]),
                tfdt(0),
                trun(0, 0x201, 1, &[100, 10]),
                trun(1, 0x201, 1, &[500, 5]),
            ])],
        );
        let t = &parse_moof(&m, &init()).unwrap().tracks[0];
        assert_eq!(
            t.samples
                .iter()
                .map(|s| (s.dts, s.offset))
                .collect::<Vec<_>>(),
            vec![(0, 100), (3000, 500)]
        );
    }

    #[test]
    fn two_trafs_in_one_moof() {
        let m = moof(
            3,
            &[
                traf(&[
                    tfhd(0x020000, 1, &[]),
                    tfdt(9000),
                    trun(0, 0x201, 1, &[200, 40]),
                ]),
                traf(&[
                    tfhd(0x020000, 2, &[]),
                    tfdt(4800),
                    trun(0, 0x201, 2, &[240, 6, 6]),
                ]),
            ],
        );
        let f = parse_moof(&m, &init()).unwrap();
        assert_eq!(f.tracks.len(), 2);
        assert_eq!(f.tracks[1].track_id, 2);
        assert_eq!(f.tracks[1].base_decode_time, 4800);
        let a = &f.tracks[1].samples;
        assert_eq!(
            a.iter()
                .map(|s| (s.dts, s.offset, s.duration))
                .collect::<Vec<_>>(),
            vec![(4800, 240, 1024), (5824, 246, 1024)]
        );
        // Audio is always sync even with trex flags 0 / non-sync.
        assert!(a.iter().all(|s| s.is_sync));
    }

    #[test]
    fn implicit_base_chains_across_trafs() {
        // Neither base_data_offset nor default-base-is-moof: first traf is
        // based at the moof, the second at the end of the first's data.
        let m = moof(
            1,
            &[
                traf(&[tfhd(0, 1, &[]), tfdt(0), trun(0, 0x201, 1, &[200, 40])]),
                traf(&[tfhd(0, 2, &[]), tfdt(0), trun(0, 0x200, 1, &[6])]),
                traf(&[
                    tfhd(0x1, 2, &[0, 1000]),
                    tfdt(0),
                    trun(0, 0x201, 1, &[8, 6]),
                ]),
            ],
        );
        let f = parse_moof(&m, &init()).unwrap();
        assert_eq!(f.tracks[1].samples[0].offset, 240);
        // base_data_offset is taken relative to the moof start.
        assert_eq!(f.tracks[2].samples[0].offset, 1008);
    }

    #[test]
    fn trun_v1_negative_cts() {
        let m = moof(
            1,
            &[traf(&[
                tfhd(0x020000, 1, &[]),
                tfdt(0),
                trun(1, 0x801, 2, &[0, (-3000i32) as u32, 6000]),
            ])],
        );
        let s = &parse_moof(&m, &init()).unwrap().tracks[0].samples;
        assert_eq!(s[0].cts_offset, -3000);
        assert_eq!(s[1].cts_offset, 6000);
    }

    #[test]
    fn hostile_sample_count() {
        // The per-trun checks, with the fragment cap out of the way.
        let unlimited = |m: &[u8]| parse_moof_limited(m, &init(), u32::MAX);
        // 1e9 entries of 4 bytes declared in a ~100-byte box.
        let m = moof(
            1,
            &[traf(&[
                tfhd(0x020000, 1, &[]),
                tfdt(0),
                trun(0, 0x200, 1_000_000_000, &[1, 2, 3]),
            ])],
        );
        assert!(m.len() < 120);
        assert!(matches!(
            unlimited(&m),
            Err(CmafError::Malformed {
                context: "trun",
                ..
            })
        ));
        // No per-sample fields at all: capped per trun.
        let m = moof(
            1,
            &[traf(&[
                tfhd(0x020000, 1, &[]),
                tfdt(0),
                trun(0, 0, 1_000_000_000, &[]),
            ])],
        );
        assert!(matches!(unlimited(&m), Err(CmafError::Malformed { .. })));
        // Overflow of count * entry size.
        let m = moof(
            1,
            &[traf(&[
                tfhd(0x020000, 1, &[]),
                tfdt(0),
                trun(0, 0xF00, u32::MAX, &[]),
            ])],
        );
        assert!(unlimited(&m).is_err());
    }

    /// A moof with one traf of track 1 holding the given truns.
    fn moof_with_truns(truns: &[Vec<u8>]) -> Vec<u8> {
        let mut parts = vec![tfhd(0x020000, 1, &[]), tfdt(0)];
        parts.extend_from_slice(truns);
        moof(1, &[traf(&parts)])
    }

    #[test]
    fn max_sample_count_trun_is_refused_before_allocating() {
        // 2^32-1 samples with every value from the defaults (16-byte trun),
        // and with all four per-sample fields (which cannot fit either).
        for flags in [0, 0xF00] {
            let m = moof_with_truns(&[trun(0, flags, u32::MAX, &[1, 2, 3, 4])]);
            assert_eq!(
                parse_moof(&m, &init()),
                Err(CmafError::TooManySamples {
                    count: u64::from(u32::MAX),
                    max: DEFAULT_MAX_SAMPLES
                }),
                "{flags:#x}"
            );
        }
        let e = parse_moof(&moof_with_truns(&[trun(0, 0, u32::MAX, &[])]), &init()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "moof declares 4294967295 samples, limit is 16384"
        );
    }

    #[test]
    fn capped_fragment_is_640_kib() {
        // The figure in the DEFAULT_MAX_SAMPLES docs.
        assert_eq!(
            std::mem::size_of::<Sample>() * DEFAULT_MAX_SAMPLES as usize,
            640 << 10
        );
    }

    #[test]
    fn sample_cap_counts_every_trun_of_every_traf() {
        // Each run is under the per-trun limit; together they exceed the cap.
        let runs = vec![trun(0, 0, 6000, &[]); 3];
        let m = moof_with_truns(&runs);
        assert_eq!(
            parse_moof(&m, &init()),
            Err(CmafError::TooManySamples {
                count: 18_000,
                max: DEFAULT_MAX_SAMPLES
            })
        );
        // Exactly at a raised cap: accepted, every sample decoded.
        let f = parse_moof_limited(&m, &init(), 18_000).unwrap();
        assert_eq!(f.tracks[0].samples.len(), 18_000);
        assert_eq!(f.tracks[0].samples[17_999].dts, 17_999 * 3000);
        // Spread over two trafs of two tracks.
        let m = moof(
            1,
            &[
                traf(&[tfhd(0x020000, 1, &[]), tfdt(0), trun(0, 0, 9000, &[])]),
                traf(&[tfhd(0x020000, 2, &[]), tfdt(0), trun(0, 0, 9000, &[])]),
            ],
        );
        assert_eq!(
            parse_moof(&m, &init()),
            Err(CmafError::TooManySamples {
                count: 18_000,
                max: DEFAULT_MAX_SAMPLES
            })
        );
        // Many small runs: 1,000 truns of 17 samples.
        let m = moof_with_truns(&vec![trun(0, 0, 17, &[]); 1000]);
        assert!(m.len() < 20_000);
        assert_eq!(
            parse_moof(&m, &init()),
            Err(CmafError::TooManySamples {
                count: 17_000,
                max: DEFAULT_MAX_SAMPLES
            })
        );
        assert_eq!(
            parse_moof_limited(&m, &init(), 100),
            Err(CmafError::TooManySamples {
                count: 17_000,
                max: 100
            })
        );
    }

    /// The reason of a `Malformed` error, or a panic.
    fn reason(r: Result<Fragment, CmafError>) -> String {
        match r {
            Err(CmafError::Malformed { context, reason }) => format!("{context}: {reason}"),
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn decode_time_overflow_is_malformed() {
        let near_end = |durations: &[u32]| {
            let m = moof(
                1,
                &[traf(&[
                    tfhd(0x020000, 1, &[]),
                    tfdt(u64::MAX - 10),
                    trun(0, 0x100, durations.len() as u32, durations),
                ])],
            );
            parse_moof(&m, &init())
        };
        // Ending exactly at 2^64-1 is representable.
        let f = near_end(&[5, 5]).unwrap();
        assert_eq!(f.tracks[0].samples[1].dts, u64::MAX - 5);
        assert_eq!(
            reason(near_end(&[5, 5, 5])),
            "trun: decode time 18446744073709551615 + sample duration 5 overflows 64 bits"
        );
        assert!(reason(near_end(&[u32::MAX])).contains("overflows 64 bits"));
        // Durations from the trex default (3000), no per-sample fields.
        let m = moof(
            1,
            &[traf(&[
                tfhd(0x020000, 1, &[]),
                tfdt(u64::MAX - 10),
                trun(0, 0, 2, &[]),
            ])],
        );
        assert!(reason(parse_moof(&m, &init())).contains("overflows 64 bits"));
        // The overflow is in the second run of the traf.
        let m = moof_with_truns(&[trun(0, 0, 1, &[]), trun(0, 0x100, 1, &[u32::MAX])]);
        assert!(parse_moof(&m, &init()).is_ok());
        let m = moof(
            1,
            &[traf(&[
                tfhd(0x020000, 1, &[]),
                tfdt(u64::MAX - 3000),
                trun(0, 0, 1, &[]),
                trun(0, 0x100, 1, &[1]),
            ])],
        );
        assert!(reason(parse_moof(&m, &init())).contains("decode time"));
    }

    #[test]
    fn offset_overflow_is_malformed() {
        // base_data_offset 2^64-5, then two 3-byte samples.
        let m = moof(
            1,
            &[traf(&[
                tfhd(0x1, 1, &[u32::MAX, u32::MAX - 4]),
                tfdt(0),
                trun(0, 0x200, 2, &[3, 3]),
            ])],
        );
        assert_eq!(
            reason(parse_moof(&m, &init())),
            "trun: sample offset 18446744073709551614 + sample size 3 overflows 64 bits"
        );
        // A positive data_offset past 2^64.
        let m = moof(
            1,
            &[traf(&[
                tfhd(0x1, 1, &[u32::MAX, u32::MAX - 4]),
                tfdt(0),
                trun(0, 0x1, 1, &[8]),
            ])],
        );
        assert!(reason(parse_moof(&m, &init())).contains("outside 0..2^64"));
    }

    #[test]
    fn errors() {
        let i = init();
        let no_tfdt = moof(1, &[traf(&[tfhd(0x020000, 1, &[]), trun(0, 0, 1, &[])])]);
        assert_eq!(parse_moof(&no_tfdt, &i), Err(CmafError::MissingTfdt));
        let unknown = moof(
            1,
            &[traf(&[tfhd(0x020000, 9, &[]), tfdt(0), trun(0, 0, 1, &[])])],
        );
        assert_eq!(parse_moof(&unknown, &i), Err(CmafError::UnknownTrack(9)));
        let before = moof(
            1,
            &[traf(&[
                tfhd(0x020000, 1, &[]),
                tfdt(0),
                trun(0, 1, 1, &[(-8i32) as u32]),
            ])],
        );
        assert!(matches!(
            parse_moof(&before, &i),
            Err(CmafError::Malformed { .. })
        ));
        let overflow = moof(
            1,
            &[traf(&[
                tfhd(0x020000, 1, &[]),
                tfdt(u64::MAX - 10),
                trun(0, 0, 1, &[]),
            ])],
        );
        assert!(parse_moof(&overflow, &i).is_err());
        // Every truncation is an error, never a panic.
        let good = moof(
            1,
            &[traf(&[
                tfhd(0x02003a, 1, &[1, 2, 3, 4]),
                tfdt(0),
                trun(1, 0xF05, 2, &[1; 10]),
            ])],
        );
        assert!(parse_moof(&good, &i).is_ok());
        for n in 0..good.len() {
            assert!(parse_moof(&good[..n], &i).is_err());
        }
    }
}
