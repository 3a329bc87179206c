//! Test-only builders for hand-made boxes.

/// A plain box: 32-bit size, type, payload.
pub(crate) fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(payload);
    v
}

/// A FullBox: version, 24-bit flags, then payload.
pub(crate) fn full(kind: &[u8; 4], version: u8, flags: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = ((u32::from(version) << 24) | (flags & 0xFF_FFFF))
        .to_be_bytes()
        .to_vec();
    p.extend_from_slice(payload);
    bx(kind, &p)
}

/// Concatenates big-endian u32 words.
pub(crate) fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_be_bytes()).collect()
}

/// A minimal trak: tkhd v0, mdia(mdhd v0, hdlr, minf(stbl(stsd(entry)))).
pub(crate) fn trak(track_id: u32, handler: &[u8; 4], timescale: u32, entry: &[u8]) -> Vec<u8> {
    let mut tkhd = words(&[0, 0, track_id, 0, 0]);
    tkhd.extend_from_slice(&[0; 60]);
    let mdhd = full(
        b"mdhd",
        0,
        0,
        &[words(&[0, 0, timescale, 0]), vec![0x15, 0xc7, 0, 0]].concat(),
    ); // "eng"
    let mut hdlr = words(&[0]);
    hdlr.extend_from_slice(handler);
    hdlr.extend_from_slice(&[0; 13]);
    let stsd = full(b"stsd", 0, 0, &[words(&[1]), entry.to_vec()].concat());
    let stbl = bx(b"stbl", &stsd);
    let minf = bx(b"minf", &stbl);
    let mdia = bx(b"mdia", &[mdhd, full(b"hdlr", 0, 0, &hdlr), minf].concat());
    bx(b"trak", &[full(b"tkhd", 0, 3, &tkhd), mdia].concat())
}

/// A trex box.
pub(crate) fn trex(track_id: u32, duration: u32, size: u32, flags: u32) -> Vec<u8> {
    full(b"trex", 0, 0, &words(&[track_id, 1, duration, size, flags]))
}

/// A visual sample entry of the given type, 64x48, no codec configuration.
pub(crate) fn video_entry(kind: &[u8; 4]) -> Vec<u8> {
    let mut p = vec![0u8; 78];
    p[24..28].copy_from_slice(&[0, 64, 0, 48]);
    bx(kind, &p)
}

/// An audio sample entry of the given type, 2 channels at 48 kHz, no codec configuration.
pub(crate) fn audio_entry(kind: &[u8; 4]) -> Vec<u8> {
    let mut p = vec![0u8; 28];
    p[16..18].copy_from_slice(&[0, 2]);
    p[24..28].copy_from_slice(&(48000u32 << 16).to_be_bytes());
    bx(kind, &p)
}

/// moov with the given traks and trexs.
pub(crate) fn moov(traks: &[Vec<u8>], trexs: &[Vec<u8>]) -> Vec<u8> {
    let mvhd = full(b"mvhd", 0, 0, &[0; 96]);
    bx(
        b"moov",
        &[mvhd, traks.concat(), bx(b"mvex", &trexs.concat())].concat(),
    )
}

/// moof from mfhd(sequence) and the given trafs.
pub(crate) fn moof(sequence: u32, trafs: &[Vec<u8>]) -> Vec<u8> {
    bx(
        b"moof",
        &[full(b"mfhd", 0, 0, &words(&[sequence])), trafs.concat()].concat(),
    )
}

/// tfdt v1.
pub(crate) fn tfdt(base: u64) -> Vec<u8> {
    full(b"tfdt", 1, 0, &base.to_be_bytes())
}
