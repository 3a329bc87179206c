//! The incremental demuxer fed with HTTP body bytes.
//!
//! [`Demuxer`] buffers bytes until a whole unit is present (an init segment,
//! a `moof` together with its `mdat`, or any other top-level box), then
//! decodes and emits it. A unit is consumed only once it is complete, so
//! `next_event` can be called after every `push`, however the body is split.
//!
//! Memory is bounded by the input and two limits: the buffer holds only bytes
//! that were pushed and not yet emitted (a unit is refused once its header
//! declares more than the box limit), and a decoded fragment holds at most
//! the sample limit's worth of [`crate::Sample`]s, whatever its `trun` boxes
//! declare. No declared size or count is allocated for before it is checked
//! against these limits and against the bytes that carry it.

use bytes::{Bytes, BytesMut};

use crate::error::fourcc_str;
use crate::fragment::{DEFAULT_MAX_SAMPLES, parse_moof_limited};
use crate::{
    CmafError, FourCC, Fragment, InitSegment, ProducerTime, Scan, parse_init, parse_prft,
    scan_header,
};

/// Default limit on the declared size of any top-level box: 16 MiB.
pub const DEFAULT_MAX_BOX: u64 = 16 << 20;

/// Box types accepted as the first box of a body.
const FIRST_BOXES: [&FourCC; 10] = [
    b"ftyp", b"styp", b"moov", b"moof", b"prft", b"sidx", b"free", b"skip", b"emsg", b"uuid",
];

/// Something complete that the demuxer decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `ftyp` (optional) + `moov` complete.
    Init {
        /// The decoded tracks.
        info: InitSegment,
        /// `ftyp` + `moov` exactly as received: the init segment to serve.
        bytes: Bytes,
    },
    /// One CMAF chunk complete: a `moof` and its following `mdat`.
    Chunk {
        /// The decoded `moof`.
        fragment: Fragment,
        /// The most recent `prft` seen since the previous chunk, if any.
        prft: Option<ProducerTime>,
        /// The `moof` box bytes, header included.
        moof: Bytes,
        /// The `mdat` payload without its header.
        mdat: Bytes,
        /// Offset of the `mdat` payload from the first byte of the `moof`:
        /// sample data is `mdat[offset - mdat_offset..][..size]` (checked to
        /// lie inside `mdat` for every sample).
        mdat_offset: u64,
    },
    /// A top-level box that is understood and skipped (`styp`, `sidx`,
    /// `free`, `skip`, `emsg`, `mfra`, `uuid`, a stray `mdat`, ...).
    Skipped(FourCC),
}

/// Incremental CMAF reader; see the [module docs](self).
#[derive(Debug)]
pub struct Demuxer {
    buf: BytesMut,
    max_box: u64,
    max_samples: u32,
    init: Option<InitSegment>,
    ftyp: Option<Bytes>,
    prft: Option<ProducerTime>,
    started: bool,
    error: Option<CmafError>,
}

impl Default for Demuxer {
    fn default() -> Self {
        Self::new()
    }
}

impl Demuxer {
    /// A demuxer expecting an init segment, with a 16 MiB box limit and a
    /// limit of [`DEFAULT_MAX_SAMPLES`] samples per fragment.
    pub fn new() -> Self {
        Demuxer {
            buf: BytesMut::new(),
            max_box: DEFAULT_MAX_BOX,
            max_samples: DEFAULT_MAX_SAMPLES,
            init: None,
            ftyp: None,
            prft: None,
            started: false,
            error: None,
        }
    }

    /// Sets the limit on the declared size of any top-level box.
    pub fn with_max_box(mut self, max: u64) -> Self {
        self.max_box = max;
        self
    }

    /// Sets the limit on the samples of one fragment (all `trun` boxes of a
    /// `moof` together); a `moof` declaring more is refused with
    /// [`CmafError::TooManySamples`] before its samples are decoded.
    pub fn with_max_samples(mut self, max: u32) -> Self {
        self.max_samples = max;
        self
    }

    /// Starts from a known init segment, for a body that carries only media
    /// segments (ffmpeg's DASH muxer sends `init-stream0.m4s` and each
    /// `chunk-stream0-NNNNN.m4s` as separate requests).
    pub fn with_init(mut self, init: InitSegment) -> Self {
        self.init = Some(init);
        self
    }

    /// The current init segment (from [`Demuxer::with_init`] or the last `moov`).
    pub fn init(&self) -> Option<&InitSegment> {
        self.init.as_ref()
    }

    /// Appends body bytes (ignored once the demuxer has failed).
    pub fn push(&mut self, data: &[u8]) {
        if self.error.is_none() {
            self.buf.extend_from_slice(data);
        }
    }

    /// Returns the next complete event, or `Ok(None)` if more bytes are
    /// needed. Bytes are consumed only for a unit that is complete.
    ///
    /// Errors: [`CmafError::NotMp4`] if the body does not start with a
    /// plausible box, [`CmafError::MissingInit`] for a `moof` before any
    /// init, [`CmafError::BoxTooLarge`] above the size limit,
    /// [`CmafError::TooManySamples`] above the sample limit,
    /// [`CmafError::Malformed`] for a `moof` not followed by `mdat`, a sample
    /// outside its `mdat`, or any invalid box. After an error the demuxer is
    /// poisoned: every later call returns the same error.
    pub fn next_event(&mut self) -> Result<Option<Event>, CmafError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let r = self.step();
        if let Err(e) = &r {
            self.error = Some(e.clone());
            self.buf = BytesMut::new();
        }
        r
    }

    /// Call at the end of the body, after `next_event` returned `Ok(None)`:
    /// [`CmafError::Truncated`] if a partial box (or a `moof` without its
    /// `mdat`) remains buffered, the poisoning error if any, else `Ok(())`.
    pub fn finish(&self) -> Result<(), CmafError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let mut rest: &[u8] = &self.buf;
        let mut last_was_moof = false;
        while !rest.is_empty() {
            match scan_header(rest, u64::MAX)? {
                Scan::Incomplete => {
                    return Err(CmafError::Truncated {
                        kind: rest.get(4..8).map_or("????".into(), fourcc_str),
                        have: rest.len() as u64,
                        need: if rest.len() < 8 { 8 } else { 16 },
                    });
                }
                Scan::Header(h) => {
                    let next = usize::try_from(h.size).ok().and_then(|s| rest.get(s..));
                    match next {
                        Some(n) => rest = n,
                        None => {
                            return Err(CmafError::Truncated {
                                kind: fourcc_str(&h.kind),
                                have: rest.len() as u64,
                                need: h.size,
                            });
                        }
                    }
                    last_was_moof = &h.kind == b"moof";
                }
            }
        }
        if last_was_moof {
            return Err(CmafError::Truncated {
                kind: "mdat".into(),
                have: 0,
                need: 8,
            });
        }
        Ok(())
    }

    fn step(&mut self) -> Result<Option<Event>, CmafError> {
        loop {
            if !self.started {
                let Some(kind) = self.buf.get(4..8) else {
                    return Ok(None);
                };
                if !FIRST_BOXES.iter().any(|k| k.as_slice() == kind) {
                    // A text body ("<?xml", "HTTP", "{\"er") has no meaningful
                    // size field: show its first bytes, which a person recognises.
                    let head = self.buf.get(0..4).unwrap_or(kind);
                    let shown = if head.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
                        head
                    } else {
                        kind
                    };
                    return Err(CmafError::NotMp4 {
                        found: fourcc_str(shown),
                    });
                }
                self.started = true;
            }
            let h = match scan_header(&self.buf, self.max_box)? {
                Scan::Incomplete => return Ok(None),
                Scan::Header(h) => h,
            };
            if !h.kind.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
                return Err(CmafError::malformed(
                    "stream",
                    format!(
                        "top-level box type \"{}\" is not printable ASCII",
                        fourcc_str(&h.kind)
                    ),
                ));
            }
            let size = box_len(h.size, &h.kind, self.max_box)?;
            if &h.kind == b"moof" {
                return self.chunk(size);
            }
            if self.buf.len() < size {
                return Ok(None);
            }
            let bytes = self.buf.split_to(size).freeze();
            match &h.kind {
                b"ftyp" => self.ftyp = Some(bytes),
                b"prft" => self.prft = Some(parse_prft(&bytes)?),
                b"moov" => {
                    let info = parse_init(&bytes)?;
                    let bytes = match self.ftyp.take() {
                        Some(ftyp) => {
                            let mut b = BytesMut::with_capacity(ftyp.len() + bytes.len());
                            b.extend_from_slice(&ftyp);
                            b.extend_from_slice(&bytes);
                            b.freeze()
                        }
                        None => bytes,
                    };
                    self.init = Some(info.clone());
                    return Ok(Some(Event::Init { info, bytes }));
                }
                _ => return Ok(Some(Event::Skipped(h.kind))),
            }
        }
    }

    /// A `moof` of `moof_size` bytes starts the buffer: emit it with its
    /// `mdat` once both are complete.
    fn chunk(&mut self, moof_size: usize) -> Result<Option<Event>, CmafError> {
        let Some(init) = &self.init else {
            return Err(CmafError::MissingInit);
        };
        let Some(after) = self.buf.get(moof_size..) else {
            return Ok(None);
        };
        let m = match scan_header(after, self.max_box)? {
            Scan::Incomplete => return Ok(None),
            Scan::Header(m) => m,
        };
        if &m.kind != b"mdat" {
            return Err(CmafError::malformed(
                "moof",
                format!("followed by '{}' instead of its mdat", fourcc_str(&m.kind)),
            ));
        }
        let mdat_size = box_len(m.size, &m.kind, self.max_box)?;
        if after.len() < mdat_size {
            return Ok(None);
        }
        let moof = self.buf.get(..moof_size).unwrap_or(&[]);
        let fragment = parse_moof_limited(moof, init, self.max_samples)?;
        let mdat_offset = (moof_size + m.header_len) as u64;
        let mdat_end = (moof_size + mdat_size) as u64;
        for t in &fragment.tracks {
            for (i, s) in t.samples.iter().enumerate() {
                let end = s.offset.saturating_add(u64::from(s.size));
                if s.offset < mdat_offset || end > mdat_end {
                    return Err(CmafError::malformed(
                        "mdat",
                        format!(
                            "sample {i} of track {} spans bytes {}..{end} of the chunk, outside the mdat payload {mdat_offset}..{mdat_end}",
                            t.track_id, s.offset
                        ),
                    ));
                }
            }
        }
        let moof = self.buf.split_to(moof_size).freeze();
        let mdat = self.buf.split_to(mdat_size).freeze().slice(m.header_len..);
        Ok(Some(Event::Chunk {
            fragment,
            prft: self.prft.take(),
            moof,
            mdat,
            mdat_offset,
        }))
    }
}

/// A checked declared size as `usize` (already bounded by `max_box`).
fn box_len(size: u64, kind: &FourCC, max: u64) -> Result<usize, CmafError> {
    usize::try_from(size).map_err(|_| CmafError::BoxTooLarge {
        kind: fourcc_str(kind),
        size,
        max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_flags::{NON_SYNC, SYNC};
    use crate::testutil::{bx, full, moof, moov, tfdt, trak, trex, video_entry, words};

    fn init_bytes() -> Vec<u8> {
        let ftyp = bx(b"ftyp", b"iso6\0\0\0\0cmfc");
        let m = moov(
            &[trak(1, b"vide", 90000, &video_entry(b"avc1"))],
            &[trex(1, 3000, 0, NON_SYNC)],
        );
        [ftyp, m].concat()
    }

    /// moof with one traf whose samples have the given sizes, plus its mdat.
    fn chunk(seq: u32, dts: u64, sizes: &[u32], data_offset_delta: i32) -> Vec<u8> {
        let n = sizes.len() as u32;
        let trun_len = 8 + 4 + 4 + 4 + 4 + 4 * sizes.len();
        let moof_len = 8 + 16 + 8 + 16 + 20 + trun_len;
        let mut fields = vec![(moof_len as i32 + 8 + data_offset_delta) as u32, SYNC];
        fields.extend_from_slice(sizes);
        let traf = bx(
            b"traf",
            &[
                full(b"tfhd", 0, 0x020000, &words(&[1])),
                tfdt(dts),
                full(b"trun", 0, 0x205, &[words(&[n]), words(&fields)].concat()),
            ]
            .concat(),
        );
        let m = moof(seq, &[traf]);
        assert_eq!(m.len(), moof_len);
        let payload: Vec<u8> = (0..sizes.iter().sum::<u32>()).map(|i| i as u8).collect();
        [m, bx(b"mdat", &payload)].concat()
    }

    fn prft() -> Vec<u8> {
        full(
            b"prft",
            1,
            0,
            &[words(&[1, 0xEEAD_DCBF, 0]), 0u64.to_be_bytes().to_vec()].concat(),
        )
    }

    fn stream() -> Vec<u8> {
        [
            init_bytes(),
            bx(b"styp", b"msdh\0\0\0\0"),
            prft(),
            chunk(1, 0, &[5, 3], 0),
            bx(b"free", &[]),
            chunk(2, 6000, &[4], 0),
        ]
        .concat()
    }

    fn drain(d: &mut Demuxer) -> Result<Vec<Event>, CmafError> {
        let mut out = Vec::new();
        while let Some(e) = d.next_event()? {
            out.push(e);
        }
        Ok(out)
    }

    #[test]
    fn whole_stream_events() {
        let mut d = Demuxer::new();
        d.push(&stream());
        let ev = drain(&mut d).unwrap();
        d.finish().unwrap();
        assert_eq!(ev.len(), 5);
        let Event::Init { info, bytes } = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(bytes.as_ref(), init_bytes().as_slice());
        assert_eq!(info.tracks[0].track_id, 1);
        assert_eq!(ev[1], Event::Skipped(*b"styp"));
        let Event::Chunk {
            fragment,
            prft,
            moof,
            mdat,
            mdat_offset,
        } = &ev[2]
        else {
            panic!()
        };
        assert!(prft.is_some());
        assert_eq!(mdat.as_ref(), &[0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(*mdat_offset, moof.len() as u64 + 8);
        let s = &fragment.tracks[0].samples;
        assert_eq!(s[1].offset - mdat_offset, 5);
        assert!(s[0].is_sync && !s[1].is_sync);
        assert_eq!(ev[3], Event::Skipped(*b"free"));
        let Event::Chunk { fragment, prft, .. } = &ev[4] else {
            panic!()
        };
        assert_eq!(*prft, None, "prft is attached to one chunk only");
        assert_eq!(fragment.tracks[0].samples[0].dts, 6000);
        assert!(d.init().is_some());
    }

    #[test]
    fn byte_at_a_time_equals_all_at_once() {
        let s = stream();
        let mut whole = Demuxer::new();
        whole.push(&s);
        let expected = drain(&mut whole).unwrap();
        let mut d = Demuxer::new();
        let mut got = Vec::new();
        for b in &s {
            d.push(std::slice::from_ref(b));
            got.extend(drain(&mut d).unwrap());
        }
        d.finish().unwrap();
        assert_eq!(got, expected);
    }

    #[test]
    fn with_init_accepts_segments_only() {
        let mut first = Demuxer::new();
        first.push(&init_bytes());
        drain(&mut first).unwrap();
        let init = first.init().unwrap().clone();
        let mut d = Demuxer::new().with_init(init);
        d.push(&[bx(b"styp", b"msdh\0\0\0\0"), chunk(9, 0, &[1], 0)].concat());
        let ev = drain(&mut d).unwrap();
        assert_eq!(ev.len(), 2);
        assert!(matches!(&ev[1], Event::Chunk { fragment, .. } if fragment.sequence == 9));
    }

    #[test]
    fn text_body_is_not_mp4() {
        let mut d = Demuxer::new();
        d.push(b"<?xml version=\"1.0\"?><Error/>");
        let e = d.next_event().unwrap_err();
        assert_eq!(
            e,
            CmafError::NotMp4 {
                found: "<?xm".into()
            }
        );
        // Poisoned.
        assert_eq!(d.next_event().unwrap_err(), e);
        assert_eq!(d.finish().unwrap_err(), e);
        // Printable but not a plausible first box.
        let mut d = Demuxer::new();
        d.push(b"HTTP/1.1 500 oops");
        assert_eq!(
            d.next_event().unwrap_err().to_string(),
            "not an MP4 stream: first box type is \"HTTP\""
        );
        // Binary garbage: the type field is shown, escaped.
        let mut d = Demuxer::new();
        d.push(&[0, 0, 0, 8, 0, 1, b'a', b'\n']);
        assert_eq!(
            d.next_event().unwrap_err(),
            CmafError::NotMp4 {
                found: "\\x00\\x01a\\n".into()
            }
        );
    }

    #[test]
    fn moof_before_moov_is_missing_init() {
        let mut d = Demuxer::new();
        d.push(&chunk(1, 0, &[1], 0));
        assert_eq!(d.next_event(), Err(CmafError::MissingInit));
    }

    #[test]
    fn truncated_at_end() {
        let s = stream();
        let mut d = Demuxer::new();
        d.push(&s[..s.len() - 2]);
        let ev = drain(&mut d).unwrap();
        assert_eq!(ev.len(), 4);
        assert!(matches!(d.finish(), Err(CmafError::Truncated { .. })));
        // A moof whose mdat never arrives.
        let mut d = Demuxer::new();
        let c = chunk(1, 0, &[1], 0);
        d.push(&[init_bytes(), c[..c.len() - 9].to_vec()].concat());
        drain(&mut d).unwrap();
        assert_eq!(
            d.finish(),
            Err(CmafError::Truncated {
                kind: "mdat".into(),
                have: 0,
                need: 8
            })
        );
        // Partial header.
        let mut d = Demuxer::new();
        d.push(&init_bytes()[..5]);
        assert_eq!(d.next_event(), Ok(None));
        assert!(matches!(
            d.finish(),
            Err(CmafError::Truncated { need: 8, .. })
        ));
    }

    #[test]
    fn huge_declared_mdat_is_too_large() {
        let mut d = Demuxer::new().with_max_box(1 << 20);
        let c = chunk(1, 0, &[1], 0);
        let moof_len = c.len() - 9;
        let mut s = [init_bytes(), c[..moof_len].to_vec()].concat();
        s.extend_from_slice(&u32::MAX.to_be_bytes());
        s.extend_from_slice(b"mdat");
        d.push(&s);
        let ev = d.next_event().unwrap();
        assert!(matches!(ev, Some(Event::Init { .. })));
        assert_eq!(
            d.next_event(),
            Err(CmafError::BoxTooLarge {
                kind: "mdat".into(),
                size: u64::from(u32::MAX),
                max: 1 << 20
            })
        );
    }

    #[test]
    fn sample_limit_is_configurable() {
        let s = [init_bytes(), chunk(1, 0, &[1, 1, 1], 0)].concat();
        let mut d = Demuxer::new().with_max_samples(3);
        d.push(&s);
        assert_eq!(drain(&mut d).unwrap().len(), 2);
        let mut d = Demuxer::new().with_max_samples(2);
        d.push(&s);
        d.next_event().unwrap();
        let e = d.next_event().unwrap_err();
        assert_eq!(e, CmafError::TooManySamples { count: 3, max: 2 });
        assert_eq!(e.to_string(), "moof declares 3 samples, limit is 2");
        assert_eq!(d.finish(), Err(e), "poisoned");
    }

    #[test]
    fn sample_outside_mdat_is_malformed() {
        for delta in [-1, 1] {
            let mut d = Demuxer::new();
            d.push(&[init_bytes(), chunk(1, 0, &[2, 2], delta)].concat());
            d.next_event().unwrap();
            assert!(
                matches!(
                    d.next_event(),
                    Err(CmafError::Malformed {
                        context: "mdat",
                        ..
                    })
                ),
                "{delta}"
            );
        }
    }

    #[test]
    fn moof_not_followed_by_mdat() {
        let c = chunk(1, 0, &[1], 0);
        let moof_len = c.len() - 9;
        let mut d = Demuxer::new();
        d.push(&[init_bytes(), c[..moof_len].to_vec(), bx(b"free", &[])].concat());
        d.next_event().unwrap();
        assert!(matches!(
            d.next_event(),
            Err(CmafError::Malformed {
                context: "moof",
                ..
            })
        ));
    }

    #[test]
    fn garbage_mid_stream_is_malformed() {
        let mut d = Demuxer::new();
        d.push(&[init_bytes(), vec![0, 0, 0, 9, 0xff, 0, 1, 2, 3]].concat());
        d.next_event().unwrap();
        assert!(matches!(d.next_event(), Err(CmafError::Malformed { .. })));
    }
}
