//! Decodes real ffmpeg 5.1 output (see `tests/fixtures/README.md`).

use std::collections::HashMap;

use cmaf::{CmafError, Demuxer, Event, Fragment, InitSegment, TrackKind, parse_init};

const VIDEO_EVERY_FRAME: &[u8] = include_bytes!("fixtures/video_every_frame.mp4");
const VIDEO_FRAG_DUR: &[u8] = include_bytes!("fixtures/video_frag_dur.mp4");
const AUDIO_AAC: &[u8] = include_bytes!("fixtures/audio_aac.mp4");
const AV_MUXED: &[u8] = include_bytes!("fixtures/av_muxed.mp4");
const DASH_INIT: &[u8] = include_bytes!("fixtures/dash_init.m4s");
const DASH_CHUNK: &[u8] = include_bytes!("fixtures/dash_chunk.m4s");

fn events(mut d: Demuxer, body: &[u8]) -> Vec<Event> {
    d.push(body);
    let mut out = Vec::new();
    while let Some(e) = d.next_event().expect("fixture decodes") {
        out.push(e);
    }
    d.finish().expect("nothing left over");
    out
}

/// The same events, feeding one byte at a time.
fn events_bytewise(mut d: Demuxer, body: &[u8]) -> Vec<Event> {
    let mut out = Vec::new();
    for b in body {
        d.push(std::slice::from_ref(b));
        while let Some(e) = d.next_event().expect("fixture decodes") {
            out.push(e);
        }
    }
    d.finish().expect("nothing left over");
    out
}

fn init_of(events: &[Event]) -> InitSegment {
    match events.first() {
        Some(Event::Init { info, .. }) => info.clone(),
        other => panic!("expected Init first, got {other:?}"),
    }
}

fn fragments(events: &[Event]) -> Vec<&Fragment> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Chunk { fragment, .. } => Some(fragment),
            _ => None,
        })
        .collect()
}

/// Checks every chunk: sample data lies in the mdat, sizes add up to the
/// mdat payload, sequence numbers increase, and each track's decode times
/// are continuous across chunks. Returns samples per track.
fn check_chunks(events: &[Event]) -> HashMap<u32, usize> {
    let mut next_dts: HashMap<u32, u64> = HashMap::new();
    let mut counts = HashMap::new();
    let mut last_seq = 0;
    for e in events {
        let Event::Chunk {
            fragment,
            moof,
            mdat,
            mdat_offset,
            ..
        } = e
        else {
            continue;
        };
        assert!(fragment.sequence > last_seq);
        last_seq = fragment.sequence;
        assert_eq!(*mdat_offset, moof.len() as u64 + 8);
        let mut total = 0u64;
        for t in &fragment.tracks {
            if let Some(expected) = next_dts.get(&t.track_id) {
                assert_eq!(
                    t.base_decode_time, *expected,
                    "dts continuity, track {}",
                    t.track_id
                );
            }
            let mut dts = t.base_decode_time;
            for s in &t.samples {
                assert_eq!(s.dts, dts);
                dts += u64::from(s.duration);
                let start = (s.offset - mdat_offset) as usize;
                assert!(start + s.size as usize <= mdat.len());
                total += u64::from(s.size);
            }
            next_dts.insert(t.track_id, dts);
            *counts.entry(t.track_id).or_insert(0) += t.samples.len();
        }
        assert_eq!(total, mdat.len() as u64, "sizes add up to the mdat payload");
    }
    counts
}

#[test]
fn video_every_frame() {
    let ev = events(Demuxer::new(), VIDEO_EVERY_FRAME);
    let init = init_of(&ev);
    assert_eq!(init.tracks.len(), 1);
    let v = &init.tracks[0];
    assert_eq!(v.track_id, 1);
    assert_eq!(v.kind, TrackKind::Video);
    // ffprobe: h264 High, level 11 (1.1), 160x90, time_base 1/15360.
    assert_eq!(v.codec, "avc1.64000b");
    assert_eq!(v.timescale, 15360);
    assert_eq!((v.width, v.height), (160, 90));
    assert_eq!((v.sample_rate, v.channels), (0, 0));
    assert_eq!(v.language, None); // "und"

    let frags = fragments(&ev);
    assert_eq!(frags.len(), 30);
    for (i, f) in frags.iter().enumerate() {
        assert_eq!(f.sequence, i as u32 + 1);
        assert_eq!(f.tracks.len(), 1);
        assert_eq!(f.tracks[0].samples.len(), 1);
        let s = &f.tracks[0].samples[0];
        assert_eq!(s.duration, 512);
        assert_eq!(s.is_sync, i == 0, "GOP 30: only the first frame is sync");
    }
    assert_eq!(check_chunks(&ev)[&1], 30);
    // ffmpeg appends an mfra index, skipped.
    assert_eq!(ev.last(), Some(&Event::Skipped(*b"mfra")));
    // Init bytes are ftyp + moov exactly as received.
    let Event::Init { bytes, .. } = &ev[0] else {
        unreachable!()
    };
    assert_eq!(bytes.as_ref(), &VIDEO_EVERY_FRAME[..bytes.len()]);
    assert_eq!(&bytes[4..8], b"ftyp");
    assert_eq!(parse_init(&bytes[28..]).unwrap(), init);
}

#[test]
fn video_every_frame_byte_at_a_time() {
    assert_eq!(
        events_bytewise(Demuxer::new(), VIDEO_EVERY_FRAME),
        events(Demuxer::new(), VIDEO_EVERY_FRAME)
    );
}

#[test]
fn video_frag_dur_uses_tfhd_defaults() {
    let ev = events(Demuxer::new(), VIDEO_FRAG_DUR);
    let init = init_of(&ev);
    // ffmpeg's trex carries no defaults; durations come from tfhd.
    assert_eq!(init.tracks[0].defaults, cmaf::SampleDefaults::default());
    let frags = fragments(&ev);
    assert_eq!(frags.len(), 5);
    assert!(frags.iter().all(|f| f.tracks[0].samples.len() == 6));
    let all: Vec<_> = frags.iter().flat_map(|f| &f.tracks[0].samples).collect();
    assert!(all.iter().all(|s| s.duration == 512));
    assert!(all[0].is_sync);
    assert!(all[1..].iter().all(|s| !s.is_sync));
    assert_eq!(check_chunks(&ev)[&1], 30);
    // Same samples as the one-frame-per-chunk encode of the same input.
    let single = events(Demuxer::new(), VIDEO_EVERY_FRAME);
    let single: Vec<_> = fragments(&single)
        .iter()
        .map(|f| (f.tracks[0].samples[0].dts, f.tracks[0].samples[0].size))
        .collect();
    let multi: Vec<_> = all.iter().map(|s| (s.dts, s.size)).collect();
    assert_eq!(single, multi);
}

#[test]
fn audio_aac() {
    let ev = events(Demuxer::new(), AUDIO_AAC);
    let init = init_of(&ev);
    let a = &init.tracks[0];
    // ffprobe: aac LC, 48000 Hz, 1 channel, time_base 1/48000.
    assert_eq!(a.kind, TrackKind::Audio);
    assert_eq!(a.codec, "mp4a.40.2");
    assert_eq!(a.timescale, 48000);
    assert_eq!((a.sample_rate, a.channels), (48000, 1));
    assert_eq!((a.width, a.height), (0, 0));
    assert_eq!(a.avg_bitrate, Some(64000));
    let frags = fragments(&ev);
    assert_eq!(frags.len(), 5);
    let all: Vec<_> = frags.iter().flat_map(|f| &f.tracks[0].samples).collect();
    assert!(all.iter().all(|s| s.is_sync));
    // AAC frames are 1024 samples; ffmpeg shortens the last one to the input end.
    let (last, rest) = all.split_last().unwrap();
    assert!(rest.iter().all(|s| s.duration == 1024));
    assert_eq!(last.duration, 896);
    // 1 s of audio plus the encoder's 1024-sample priming.
    let total: u64 = all.iter().map(|s| u64::from(s.duration)).sum();
    assert_eq!(total, 48000 + 1024);
    assert_eq!(check_chunks(&ev)[&1], 48);
}

#[test]
fn av_muxed_two_tracks_two_trafs() {
    let ev = events(Demuxer::new(), AV_MUXED);
    let init = init_of(&ev);
    assert_eq!(init.tracks.len(), 2);
    let (v, a) = (&init.tracks[0], &init.tracks[1]);
    assert_eq!(
        (v.track_id, v.kind, v.codec.as_str()),
        (1, TrackKind::Video, "avc1.64000b")
    );
    assert_eq!(
        (a.track_id, a.kind, a.codec.as_str()),
        (2, TrackKind::Audio, "mp4a.40.2")
    );
    assert_eq!((v.timescale, a.timescale), (15360, 48000));

    let frags = fragments(&ev);
    assert!(frags.iter().filter(|f| f.tracks.len() == 2).count() >= 4);
    let counts = check_chunks(&ev);
    assert_eq!((counts[&1], counts[&2]), (30, 48));

    // The audio run follows the video run inside the shared mdat, and the
    // first video sample is a length-prefixed NAL unit that fits the sample.
    let Some(Event::Chunk {
        fragment,
        mdat,
        mdat_offset,
        ..
    }) = ev.iter().find(|e| matches!(e, Event::Chunk { .. }))
    else {
        unreachable!()
    };
    let vs = &fragment.tracks[0].samples;
    let as_ = &fragment.tracks[1].samples;
    let video_end = vs.last().map(|s| s.offset + u64::from(s.size)).unwrap();
    assert_eq!(as_[0].offset, video_end);
    assert!(vs[0].is_sync);
    let start = (vs[0].offset - mdat_offset) as usize;
    let nal_len = u32::from_be_bytes(mdat[start..start + 4].try_into().unwrap());
    assert!(nal_len + 4 <= vs[0].size);
}

#[test]
fn dash_init_then_chunk() {
    let init_ev = events(Demuxer::new(), DASH_INIT);
    assert_eq!(init_ev.len(), 1);
    let Event::Init { info, bytes } = &init_ev[0] else {
        panic!()
    };
    assert_eq!(bytes.as_ref(), DASH_INIT);
    assert_eq!(info.tracks[0].codec, "avc1.64000b");

    // A separate request carrying only the media segment.
    let ev = events(Demuxer::new().with_init(info.clone()), DASH_CHUNK);
    assert_eq!(ev[0], Event::Skipped(*b"styp"));
    let chunks: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Chunk { prft, .. } => Some(prft),
            _ => None,
        })
        .collect();
    assert_eq!(chunks.len(), 30);
    for p in &chunks {
        let p = p.expect("ffmpeg -write_prft 1 puts a prft before every moof");
        assert_eq!(p.track_id, 1);
        // Written when the fixture was made: after 2020-01-01.
        assert!(p.unix_micros() > 1_577_836_800_000_000);
    }
    assert_eq!(check_chunks(&ev)[&1], 30);
    assert!(fragments(&ev)[0].tracks[0].samples[0].is_sync);

    // The same bytes in one body give the same chunks.
    let joined = events(Demuxer::new(), &[DASH_INIT, DASH_CHUNK].concat());
    assert_eq!(&joined[1..], &ev[..]);
    assert_eq!(
        events_bytewise(Demuxer::new().with_init(info.clone()), DASH_CHUNK),
        ev
    );
}

#[test]
fn fixture_errors() {
    // A media segment alone, without its init.
    let mut d = Demuxer::new();
    d.push(DASH_CHUNK);
    assert_eq!(d.next_event(), Ok(Some(Event::Skipped(*b"styp"))));
    assert_eq!(d.next_event(), Err(CmafError::MissingInit));

    // Cut anywhere inside a box: finish() reports it.
    for cut in [100, 1000, VIDEO_FRAG_DUR.len() - 1] {
        let mut d = Demuxer::new();
        d.push(&VIDEO_FRAG_DUR[..cut]);
        while let Some(_e) = d.next_event().unwrap() {}
        assert!(
            matches!(d.finish(), Err(CmafError::Truncated { .. })),
            "{cut}"
        );
    }

    // A small box limit rejects the keyframe's mdat.
    let mut d = Demuxer::new().with_max_box(1000);
    d.push(VIDEO_EVERY_FRAME);
    assert!(matches!(d.next_event(), Ok(Some(Event::Init { .. }))));
    assert!(matches!(d.next_event(), Err(CmafError::BoxTooLarge { .. })));
}

#[test]
fn corrupted_bytes_never_panic() {
    // Overwrite each byte of the init and first chunk of the muxed file (and
    // the whole DASH init) with a few values; decoding must return, not panic.
    for (body, upto) in [(AV_MUXED, 9000), (DASH_INIT, DASH_INIT.len())] {
        for i in 0..upto {
            for v in [0x00, 0x01, 0x7f, 0xff] {
                let mut b = body[..upto].to_vec();
                b[i] = v;
                let mut d = Demuxer::new();
                d.push(&b);
                while let Ok(Some(_)) = d.next_event() {}
                let _ = d.finish();
            }
        }
    }
}
