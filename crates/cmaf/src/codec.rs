//! Sample-entry decoding: RFC 6381 codec strings, picture size, audio
//! parameters and bitrates from the first entry of `stsd`.

use crate::error::fourcc_str;
use crate::init::TrackKind;
use crate::reader::Reader;
use crate::scan::Children;
use crate::{CmafError, FourCC};

/// What a sample entry tells about its track.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SampleEntryInfo {
    pub(crate) codec: String,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) sample_rate: u32,
    pub(crate) channels: u16,
    pub(crate) avg_bitrate: Option<u32>,
    pub(crate) max_bitrate: Option<u32>,
}

/// Decodes the sample entry `kind` with body `payload` (header stripped),
/// using the layout of the track's handler.
pub(crate) fn parse_sample_entry(
    kind: FourCC,
    payload: &[u8],
    track: TrackKind,
) -> Result<SampleEntryInfo, CmafError> {
    let mut info = SampleEntryInfo {
        codec: fourcc_str(&kind),
        ..Default::default()
    };
    let mut r = Reader::new(payload, "sample entry");
    // SampleEntry: const unsigned int(8)[6] reserved; unsigned int(16) data_reference_index;
    r.skip(8)?;
    let children = match track {
        TrackKind::Video => {
            // VisualSampleEntry: pre_defined(16), reserved(16), pre_defined(32)[3],
            // width(16), height(16), horizresolution(32), vertresolution(32),
            // reserved(32), frame_count(16), compressorname[32], depth(16), pre_defined(16).
            r.skip(16)?;
            info.width = u32::from(r.u16()?);
            info.height = u32::from(r.u16()?);
            r.skip(50)?;
            r.rest()
        }
        TrackKind::Audio => {
            // AudioSampleEntry: reserved(32)[2] (QuickTime: version(16), ...),
            // channelcount(16), samplesize(16), pre_defined(16), reserved(16),
            // samplerate(32) as 16.16 fixed point.
            let qt_version = r.u16()?;
            r.skip(6)?;
            info.channels = r.u16()?;
            r.skip(6)?;
            info.sample_rate = r.u32()? >> 16;
            // QuickTime sound description v1/v2 append 16/36 bytes before the boxes.
            match qt_version {
                1 => r.skip(16)?,
                2 => r.skip(36)?,
                _ => {}
            }
            r.rest()
        }
        TrackKind::Other => return Ok(info),
    };
    for child in Children::new(children, "sample entry") {
        let (k, p) = child?;
        match &k {
            b"avcC" if matches!(&kind, b"avc1" | b"avc3") => {
                info.codec = avc_codec(&kind, p)?;
            }
            b"hvcC" if matches!(&kind, b"hvc1" | b"hev1") => {
                info.codec = hevc_codec(&kind, p)?;
            }
            b"av1C" if &kind == b"av01" => info.codec = av1_codec(p)?,
            b"esds" if &kind == b"mp4a" => parse_esds(p, &mut info)?,
            b"btrt" => {
                // BitRateBox: bufferSizeDB(32), maxBitrate(32), avgBitrate(32).
                let mut b = Reader::new(p, "btrt");
                b.skip(4)?;
                info.max_bitrate = Some(b.u32()?);
                info.avg_bitrate = Some(b.u32()?);
            }
            _ => {}
        }
    }
    if &kind == b"Opus" {
        info.codec = "opus".into();
    }
    Ok(info)
}

/// ISO/IEC 14496-15 / RFC 6381: `avc1.PPCCLL`, profile_idc, constraint flags
/// (profile_compatibility) and level_idc as two lowercase hex digits each.
fn avc_codec(kind: &FourCC, avcc: &[u8]) -> Result<String, CmafError> {
    let mut r = Reader::new(avcc, "avcC");
    let _configuration_version = r.u8()?;
    let (p, c, l) = (r.u8()?, r.u8()?, r.u8()?);
    Ok(format!("{}.{p:02x}{c:02x}{l:02x}", fourcc_str(kind)))
}

/// ISO/IEC 14496-15 Annex E: `hvc1.[A-C]?profile.compat.(L|H)level(.constraint)*`,
/// compatibility flags bit-reversed in hex, trailing zero constraint bytes omitted.
fn hevc_codec(kind: &FourCC, hvcc: &[u8]) -> Result<String, CmafError> {
    let mut r = Reader::new(hvcc, "hvcC");
    let _configuration_version = r.u8()?;
    let b = r.u8()?;
    let profile_space = b >> 6;
    let tier = if b & 0x20 != 0 { 'H' } else { 'L' };
    let profile_idc = b & 0x1f;
    let compat = r.u32()?.reverse_bits();
    let constraints = r.take(6)?;
    let level = r.u8()?;
    let space = match profile_space {
        1 => "A",
        2 => "B",
        3 => "C",
        _ => "",
    };
    let mut s = format!(
        "{}.{space}{profile_idc}.{compat:x}.{tier}{level}",
        fourcc_str(kind)
    );
    let keep = constraints
        .iter()
        .rposition(|&c| c != 0)
        .map_or(0, |i| i + 1);
    for c in constraints.iter().take(keep) {
        s.push_str(&format!(".{c:X}"));
    }
    Ok(s)
}

/// AV1 codec ISO-BMFF binding §5: `av01.P.LLT.DD`.
fn av1_codec(av1c: &[u8]) -> Result<String, CmafError> {
    let mut r = Reader::new(av1c, "av1C");
    let _marker_version = r.u8()?;
    let b1 = r.u8()?;
    let b2 = r.u8()?;
    let profile = b1 >> 5;
    let level = b1 & 0x1f;
    let tier = if b2 & 0x80 != 0 { 'H' } else { 'M' };
    let high_bitdepth = b2 & 0x40 != 0;
    let twelve_bit = b2 & 0x20 != 0;
    let depth = match (high_bitdepth, twelve_bit) {
        (true, true) => 12,
        (true, false) => 10,
        _ => 8,
    };
    Ok(format!("av01.{profile}.{level:02}{tier}.{depth:02}"))
}

/// ISO/IEC 14496-1 expandable descriptor length: up to four 7-bit groups.
fn descriptor(r: &mut Reader<'_>) -> Result<(u8, usize), CmafError> {
    let tag = r.u8()?;
    let mut len = 0usize;
    for _ in 0..4 {
        let b = r.u8()?;
        len = (len << 7) | usize::from(b & 0x7f);
        if b & 0x80 == 0 {
            break;
        }
    }
    Ok((tag, len))
}

/// ES_Descriptor (tag 3) → DecoderConfigDescriptor (tag 4) →
/// DecoderSpecificInfo (tag 5, the AudioSpecificConfig).
fn parse_esds(esds: &[u8], info: &mut SampleEntryInfo) -> Result<(), CmafError> {
    let mut r = Reader::new(esds, "esds");
    r.full_header()?;
    let (tag, len) = descriptor(&mut r)?;
    if tag != 3 {
        return Err(CmafError::malformed(
            "esds",
            format!("expected ES_Descriptor (tag 3), found tag {tag}"),
        ));
    }
    let mut es = Reader::new(r.take(len.min(r.remaining()))?, "esds");
    es.skip(2)?; // ES_ID
    let flags = es.u8()?;
    if flags & 0x80 != 0 {
        es.skip(2)?; // dependsOn_ES_ID
    }
    if flags & 0x40 != 0 {
        let url_len = es.u8()?;
        es.skip(usize::from(url_len))?;
    }
    if flags & 0x20 != 0 {
        es.skip(2)?; // OCR_ES_Id
    }
    while es.remaining() > 0 {
        let (tag, len) = descriptor(&mut es)?;
        let body = es.take(len.min(es.remaining()))?;
        if tag != 4 {
            continue;
        }
        let mut dc = Reader::new(body, "esds");
        let oti = dc.u8()?;
        dc.skip(4)?; // streamType, upStream, reserved, bufferSizeDB
        let max = dc.u32()?;
        let avg = dc.u32()?;
        if info.max_bitrate.is_none() && max != 0 {
            info.max_bitrate = Some(max);
        }
        if info.avg_bitrate.is_none() && avg != 0 {
            info.avg_bitrate = Some(avg);
        }
        info.codec = format!("mp4a.{oti:02x}");
        while dc.remaining() > 0 {
            let (tag, len) = descriptor(&mut dc)?;
            let dsi = dc.take(len.min(dc.remaining()))?;
            if tag == 5 && oti == 0x40 {
                audio_specific_config(dsi, info)?;
            }
        }
        break;
    }
    Ok(())
}

/// ISO/IEC 14496-3 §1.6.2.1 AudioSpecificConfig: audioObjectType (5 bits,
/// 31 escapes to 32 + 6 bits), samplingFrequencyIndex (4 bits, 15 escapes
/// to a 24-bit frequency), channelConfiguration (4 bits).
fn audio_specific_config(asc: &[u8], info: &mut SampleEntryInfo) -> Result<(), CmafError> {
    const RATES: [u32; 13] = [
        96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
    ];
    let mut bits = Bits { buf: asc, pos: 0 };
    let mut aot = bits.read(5)?;
    if aot == 31 {
        aot = 32 + bits.read(6)?;
    }
    info.codec = format!("mp4a.40.{aot}");
    let idx = bits.read(4)?;
    let rate = if idx == 15 {
        bits.read(24)?
    } else {
        RATES.get(idx as usize).copied().unwrap_or(0)
    };
    if rate != 0 {
        info.sample_rate = rate;
    }
    let channels = bits.read(4)?;
    // channelConfiguration 1..=6 map to that many channels, 7 to 8 (7.1).
    match channels {
        1..=6 => info.channels = channels as u16,
        7 => info.channels = 8,
        _ => {}
    }
    Ok(())
}

/// MSB-first bit reader for AudioSpecificConfig.
struct Bits<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn read(&mut self, n: u32) -> Result<u32, CmafError> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = self.buf.get(self.pos / 8).ok_or_else(|| {
                CmafError::malformed("AudioSpecificConfig", "ends before its required fields")
            })?;
            let bit = (byte >> (7 - (self.pos % 8))) & 1;
            v = (v << 1) | u32::from(bit);
            self.pos += 1;
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{bx, full};

    fn visual(kind: &[u8; 4], w: u16, h: u16, kids: &[u8]) -> (FourCC, Vec<u8>) {
        let mut p = vec![0u8; 8];
        p.extend_from_slice(&[0; 16]);
        p.extend_from_slice(&w.to_be_bytes());
        p.extend_from_slice(&h.to_be_bytes());
        p.extend_from_slice(&[0; 50]);
        p.extend_from_slice(kids);
        (*kind, p)
    }

    #[test]
    fn avc_codec_string_and_size() {
        let avcc = bx(b"avcC", &[1, 0x64, 0x00, 0x1f, 0xff]);
        let btrt = bx(b"btrt", &[0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x08, 0]);
        let (k, p) = visual(b"avc1", 1280, 720, &[avcc.clone(), btrt].concat());
        let i = parse_sample_entry(k, &p, TrackKind::Video).unwrap();
        assert_eq!(i.codec, "avc1.64001f");
        assert_eq!((i.width, i.height), (1280, 720));
        assert_eq!((i.max_bitrate, i.avg_bitrate), (Some(4096), Some(2048)));
        let (k, p) = visual(b"avc3", 1, 2, &avcc);
        assert_eq!(
            parse_sample_entry(k, &p, TrackKind::Video).unwrap().codec,
            "avc3.64001f"
        );
    }

    #[test]
    fn hevc_codec_string() {
        // Main profile, compat 0x60000000, level 93, constraint 0xB0 then zeros.
        let hvcc = bx(b"hvcC", &[1, 0x01, 0x60, 0, 0, 0, 0xB0, 0, 0, 0, 0, 0, 93]);
        let (k, p) = visual(b"hvc1", 1920, 1080, &hvcc);
        let i = parse_sample_entry(k, &p, TrackKind::Video).unwrap();
        assert_eq!(i.codec, "hvc1.1.6.L93.B0");
    }

    #[test]
    fn unknown_entry_is_its_fourcc() {
        let (k, p) = visual(b"vp09", 2, 2, &[]);
        assert_eq!(
            parse_sample_entry(k, &p, TrackKind::Video).unwrap().codec,
            "vp09"
        );
        assert_eq!(
            parse_sample_entry(*b"wvtt", &[0; 8], TrackKind::Other)
                .unwrap()
                .codec,
            "wvtt"
        );
    }

    #[test]
    fn aac_from_esds() {
        // ES_Descriptor(ES_ID 1, no flags) { DecoderConfig(0x40, max 96000, avg 64000) { DSI 0x11 0x90 } }
        let dsi = [5u8, 2, 0x11, 0x90];
        let mut dc = vec![4u8, (13 + dsi.len()) as u8, 0x40, 0x15, 0, 0, 0];
        dc.extend_from_slice(&96000u32.to_be_bytes());
        dc.extend_from_slice(&64000u32.to_be_bytes());
        dc.extend_from_slice(&dsi);
        let mut es = vec![3u8, 0x80, 0x80, 0x80, (3 + dc.len()) as u8, 0, 1, 0];
        es.extend_from_slice(&dc);
        let esds = full(b"esds", 0, 0, &es);
        let mut p = vec![0u8; 8];
        p.extend_from_slice(&[0; 8]);
        p.extend_from_slice(&2u16.to_be_bytes());
        p.extend_from_slice(&[0, 16, 0, 0, 0, 0]);
        p.extend_from_slice(&(44100u32 << 16).to_be_bytes());
        p.extend_from_slice(&esds);
        let i = parse_sample_entry(*b"mp4a", &p, TrackKind::Audio).unwrap();
        assert_eq!(i.codec, "mp4a.40.2");
        // 0x1190: AOT 2, frequency index 3 (48000), channel config 2.
        assert_eq!((i.sample_rate, i.channels), (48000, 2));
        assert_eq!((i.max_bitrate, i.avg_bitrate), (Some(96000), Some(64000)));
    }

    #[test]
    fn short_entries_are_malformed_not_panics() {
        for n in 0..90 {
            let (k, p) = visual(b"avc1", 1, 1, &bx(b"avcC", &[1, 2]));
            let _ = parse_sample_entry(k, p.get(..n).unwrap_or(&p), TrackKind::Video);
            let _ = parse_sample_entry(*b"mp4a", &p[..n.min(p.len())], TrackKind::Audio);
        }
        let (k, p) = visual(b"avc1", 1, 1, &bx(b"avcC", &[1, 2]));
        assert!(parse_sample_entry(k, &p, TrackKind::Video).is_err());
    }
}
