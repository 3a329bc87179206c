//! An encoder whose timestamps jump within one upload (no new init): backwards (its
//! clock was reset, a looping source restarted) or forward (frames lost, a source
//! switched). weir keeps every segment within the target duration and the renditions'
//! timelines continuous, with a discontinuity where the jump was.

mod common;

use std::sync::Arc;

use common::{TestOrigin, VIDEO_EVERY_FRAME, put, split, synthetic_chunk};

/// `frames` frames from frame `from` (512 ticks each at 15,360 Hz: 30 fps), a key frame
/// every 30.
fn frames(seq: u32, from: u64, count: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..count {
        let n = from + i;
        out.extend(synthetic_chunk(
            seq + i as u32,
            n * 512,
            1,
            |_| n.is_multiple_of(30),
            200,
            0x42,
        ));
    }
    out
}

/// Frames before the jump: 40 s, more than the track holds (10 + 3 segments of 2 s).
const BEFORE: u64 = 1200;

/// An upload of [`BEFORE`] frames, then `count` frames from frame `jump_to`, in one
/// request; the track's segments afterwards.
async fn upload_with_jump(jump_to: u64, count: u64) -> (TestOrigin, timeline::TrackTimeline) {
    let o = TestOrigin::start().await;
    let mut body = split(VIDEO_EVERY_FRAME).init;
    body.extend(frames(1, 0, BEFORE));
    body.extend(frames(BEFORE as u32 + 1, jump_to, count));
    let r = put(o.ingest, "/ingest/live/v1", &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let t = o
        .channel("live")
        .snapshot()
        .track("v1")
        .expect("track")
        .clone();
    (o, t)
}

/// Numbers consecutive, each segment within the target, each starting where the one
/// before ended or after a discontinuity; returns the numbers of those with one.
fn check_continuous(t: &timeline::TrackTimeline) -> Vec<u64> {
    let mut disc = Vec::new();
    for w in t.segments.iter().collect::<Vec<_>>().windows(2) {
        assert_eq!(w[1].msn, w[0].msn + 1);
        if w[1].discontinuity {
            disc.push(w[1].msn);
        } else {
            assert_eq!(w[1].start, w[0].end(), "segment {} starts apart", w[1].msn);
        }
    }
    // 2 s target at 15,360 Hz.
    assert!(t.segments.iter().all(|s| s.duration <= 2 * 15_360));
    disc
}

#[tokio::test]
async fn a_clock_that_goes_back_without_a_new_init_continues_after_a_discontinuity() {
    // 40 s of media, then the clock restarts at 0 in the same upload (10 s more).
    let (o, t) = upload_with_jump(0, 300).await;
    let last_before = BEFORE * 512;
    let disc = check_continuous(&t);
    assert_eq!(disc.len(), 1, "{disc:?}");
    let after: Vec<_> = t.segments.iter().filter(|s| s.msn >= disc[0]).collect();
    // Nothing of the 10 s was dropped: it continues after the old media.
    assert!(after[0].start >= last_before);
    assert_eq!(t.end(), Some(after[0].start + 300 * 512));
    assert!(after.iter().filter(|s| s.complete).count() >= 4);
    let playlist = common::get(o.playback, "/live/v1/index.m3u8").await.text();
    assert!(playlist.contains("#EXT-X-DISCONTINUITY"), "{playlist}");
    o.shutdown().await;
}

#[tokio::test]
async fn a_small_overlap_is_dropped_as_media_sent_again() {
    // The last third of a second sent again: dropped, no discontinuity.
    let (o, t) = upload_with_jump(BEFORE - 10, 110).await;
    assert!(check_continuous(&t).is_empty());
    assert_eq!(t.end(), Some((BEFORE + 100) * 512));
    o.shutdown().await;
}

#[tokio::test]
async fn an_older_segment_sent_again_is_dropped_not_taken_as_a_restart() {
    // A retried upload of media 4 s back, still held: dropped, no discontinuity, and
    // the timeline goes on where it was.
    let (o, t) = upload_with_jump(BEFORE - 120, 150).await;
    assert!(check_continuous(&t).is_empty());
    assert_eq!(t.end(), Some((BEFORE + 30) * 512));
    o.shutdown().await;
}

#[tokio::test]
async fn a_clock_that_jumps_ahead_of_real_time_continues_after_a_discontinuity() {
    // 30 s of media skipped in an upload that already runs ahead of real time (it all
    // arrives at once): published as it came, the media after the jump would be ahead
    // of the channel's clock, and DASH players would wait the jump out. It continues
    // right after the old media (the later of that and the clock) after a
    // discontinuity, every segment within the target.
    let (o, t) = upload_with_jump(BEFORE + 900, 300).await;
    let disc = check_continuous(&t);
    assert_eq!(disc.len(), 1, "{disc:?}");
    assert_eq!(t.end(), Some((BEFORE + 300) * 512));
    let playlist = common::get(o.playback, "/live/v1/index.m3u8").await.text();
    assert!(playlist.contains("#EXT-X-DISCONTINUITY"), "{playlist}");
    o.shutdown().await;
}

/// Feeds `bytes` (an init, chunks) to track `v1` of channel `live` through the ingest
/// path an upload takes (`origin::ingest::drain_events`), every chunk in it arriving at
/// wall-clock `arrival_us`.
fn feed(
    origin: &origin::store::Origin,
    (channel, demux): (&mut Option<Arc<origin::store::Channel>>, &mut cmaf::Demuxer),
    bytes: &[u8],
    arrival_us: i64,
) {
    demux.push(bytes);
    let track = ("v1", origin::ingest::Role::Rendition);
    origin::ingest::drain_events(origin, "live", channel, track, demux, arrival_us)
        .expect("ingest");
}

/// One frame at `dts` lasting `duration` ticks: how ffmpeg's fragmented MP4 muxer
/// writes a jump of its clock, as the duration of the frame before it.
fn long_frame(seq: u32, dts: u64, duration: u32) -> Vec<u8> {
    let s = cmaf::SampleOut {
        duration,
        size: 200,
        flags: cmaf::sample_flags::NON_SYNC,
        cts_offset: 0,
    };
    let mut c = cmaf::write_fragment_header(seq, common::video_track_id(), dts, &[s]).to_vec();
    c.extend(std::iter::repeat_n(0x42, 200));
    c
}

/// [`BEFORE`] frames in real time from `t0`, then `count` frames from frame `jump_to`,
/// the first of them arriving `gap_us` after the old media ended (real time); the
/// frame before the jump lasts until it when `long` (as ffmpeg writes a jump) instead
/// of one frame. Returns the running origin and `t0`.
async fn real_time_upload(jump_to: u64, count: u64, gap_us: i64, long: bool) -> (TestOrigin, i64) {
    let o = TestOrigin::start().await;
    let mut state = (None, cmaf::Demuxer::new());
    let mut feed_at =
        |bytes: &[u8], arrival: i64| feed(&o.origin, (&mut state.0, &mut state.1), bytes, arrival);
    let frame_us = 1_000_000 * 512 / 15_360;
    let t0 = origin::clock::now_us() - 200_000_000;
    feed_at(&split(VIDEO_EVERY_FRAME).init, t0);
    for i in 0..BEFORE {
        let arrival = t0 + (i as i64 + 1) * frame_us;
        let bytes = if long && i == BEFORE - 1 {
            long_frame(i as u32 + 1, i * 512, ((jump_to - i) * 512) as u32)
        } else {
            frames(i as u32 + 1, i, 1)
        };
        feed_at(&bytes, arrival);
    }
    let back = t0 + BEFORE as i64 * frame_us + gap_us;
    for i in 0..count {
        let arrival = back + (i as i64 + 1) * frame_us;
        let seq = (BEFORE + 1 + i) as u32;
        feed_at(&frames(seq, jump_to + i, 1), arrival);
    }
    (o, t0)
}

/// [`real_time_upload`]'s track afterwards.
async fn real_time_jump_as(
    jump_to: u64,
    count: u64,
    gap_us: i64,
    long: bool,
) -> timeline::TrackTimeline {
    let (o, _) = real_time_upload(jump_to, count, gap_us, long).await;
    let t = o
        .channel("live")
        .snapshot()
        .track("v1")
        .expect("track")
        .clone();
    o.shutdown().await;
    t
}

/// [`real_time_jump_as`] with the frame before the jump lasting one frame.
async fn real_time_jump(jump_to: u64, count: u64, gap_us: i64) -> timeline::TrackTimeline {
    real_time_jump_as(jump_to, count, gap_us, false).await
}

#[tokio::test]
async fn an_encoder_back_after_an_outage_continues_at_the_clock_not_after_its_old_media() {
    // 40 s of media in real time from t0, then nothing for 60 s, then the encoder's
    // clock restarts at 0. The restarted media belongs at 100 s of the channel's clock
    // (anchored at t0): right after the old media (40 s) it would run 60 s behind the
    // wall clock, and DASH players, who find segments from the clock, would wait 60 s
    // for each ([IOP-T]: no drift between the sample timeline and the MPD's).
    let (o, t0) = real_time_upload(0, 300, 60_000_000, false).await;
    let snap = o.channel("live").snapshot();
    assert_eq!(snap.epoch_us, Some(t0), "anchored at the first chunk");
    let t = snap.track("v1").expect("track").clone();
    let disc = check_continuous(&t);
    assert_eq!(disc.len(), 1, "{disc:?}");
    let after = t.segment(disc[0]).expect("segment after the outage");
    // The grid cell the clock was in when the encoder came back: 100 s (cells of 2 s).
    assert_eq!(
        after.start,
        100 * 15_360,
        "starts at the clock, not at 40 s"
    );
    assert_eq!(t.end(), Some(100 * 15_360 + 300 * 512));
    // The MPD's new Period starts there too.
    let mpd = common::get(o.playback, "/live/manifest.mpd").await.text();
    assert!(mpd.contains("<Period id=\"1\" start=\"PT100S\">"), "{mpd}");
    o.shutdown().await;
}

#[tokio::test]
async fn a_forward_jump_that_real_time_made_too_keeps_its_gap() {
    // Frames lost for 30 s while the clock ran (the encoder's and the wall clock's
    // alike): the media after the gap is where the clock is, and stays there.
    let t = real_time_jump(BEFORE + 900, 300, 30_000_000).await;
    assert_eq!(t.end(), Some((BEFORE + 900 + 300) * 512));
    let disc = check_continuous(&t);
    assert_eq!(disc.len(), 1, "{disc:?}");
}

#[tokio::test]
async fn a_forward_jump_ahead_of_real_time_continues_at_the_clock() {
    // The encoder's clock jumps 30 s while real time goes on by one frame (a source
    // with another time base): the media continues at the channel's clock (40 s), not
    // 30 s ahead of it.
    let t = real_time_jump(BEFORE + 900, 300, 0).await;
    let disc = check_continuous(&t);
    assert_eq!(disc.len(), 1, "{disc:?}");
    let after = t.segment(disc[0]).expect("segment after the jump");
    assert_eq!(after.start, BEFORE * 512, "continues at the clock");
    assert_eq!(t.end(), Some((BEFORE + 300) * 512));
}

#[tokio::test]
async fn a_jump_written_as_one_long_frame_is_a_jump() {
    // As ffmpeg writes a jump of its clock: the frame before it lasts 30 s. No segment
    // may hold that ([HLS §4.4.3.1]); the frame keeps a frame's duration, and the jump
    // is handled as one: ahead of real time it continues at the clock ...
    let t = real_time_jump_as(BEFORE + 900, 300, 0, true).await;
    assert_eq!(check_continuous(&t).len(), 1);
    assert_eq!(t.end(), Some((BEFORE + 300) * 512));
    // ... and made by real time too it keeps its gap.
    let t = real_time_jump_as(BEFORE + 900, 300, 30_000_000, true).await;
    assert_eq!(check_continuous(&t).len(), 1);
    assert_eq!(t.end(), Some((BEFORE + 900 + 300) * 512));
}
