//! Arbitrary bytes through `cmaf::Demuxer`, as an HTTP body split into pieces.
//!
//! Input: the first byte picks the piece length (its low 7 bits: 1 to 128 bytes)
//! and, with its high bit set, puts a valid init segment (the `av_muxed` fixture's
//! `ftyp` + `moov`: video track 1, audio track 2) before the rest, so that
//! mutations go to the fragments; the rest is the body. Checked for every input:
//! - nothing panics (this includes arithmetic overflow: fuzz builds have overflow
//!   checks on);
//! - the demuxer gives the same events and the same end result whether the body
//!   arrives in pieces or all at once ("however the body is split", demux.rs);
//! - after an error it stays poisoned with that error;
//! - it allocates at most [`FIXED_BYTES`] + [`BYTES_PER_INPUT_BYTE`] × input length
//!   (peak of live heap bytes while the input is processed, counted by a global
//!   allocator), so no declared count or size can make it allocate on credit.

#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use cmaf::{CmafError, Demuxer, Scan};
use libfuzzer_sys::fuzz_target;

/// Allowance independent of the input size. The largest input-independent
/// allocation is one fragment's samples: `cmaf::fragment::DEFAULT_MAX_SAMPLES` ×
/// 40 bytes = 640 KiB (two demuxers, each holding one event at a time).
const FIXED_BYTES: usize = 32 << 20;
/// Allowance per input byte: two demuxers each buffer the body (a growing buffer
/// may hold up to twice what it contains while it moves) and emit events that
/// share or copy it.
const BYTES_PER_INPUT_BYTE: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let body = if first & 0x80 != 0 {
        [fixture_init(), rest].concat()
    } else {
        rest.to_vec()
    };
    let base = counter::reset_peak();
    split_equals_whole(&body, usize::from(first & 0x7f) + 1);
    let peak = counter::peak_since(base);
    let limit = FIXED_BYTES + BYTES_PER_INPUT_BYTE * body.len();
    assert!(
        peak <= limit,
        "{peak} bytes allocated for a {}-byte body (limit {limit})",
        body.len()
    );
});

/// `ftyp` + `moov` of the `av_muxed` fixture.
fn fixture_init() -> &'static [u8] {
    static FIXTURE: &[u8] = include_bytes!("../../crates/cmaf/tests/fixtures/av_muxed.mp4");
    static INIT: OnceLock<&[u8]> = OnceLock::new();
    INIT.get_or_init(|| {
        let mut end = 0;
        for _ in 0..2 {
            match cmaf::scan_header(&FIXTURE[end..], u64::MAX) {
                Ok(Scan::Header(h)) => end += h.size as usize,
                other => panic!("fixture: {other:?}"),
            }
        }
        &FIXTURE[..end]
    })
}

/// Feeds `body` to one demuxer in `piece`-byte pushes and to another all at once,
/// in lockstep (no event is kept, so the allocation bound holds for a consumer that
/// handles each event as it comes, as the origin does).
fn split_equals_whole(body: &[u8], piece: usize) {
    let mut whole = Demuxer::new();
    whole.push(body);
    let mut split = Demuxer::new();
    for p in body.chunks(piece) {
        split.push(p);
        loop {
            let got = match split.next_event() {
                // Needs more bytes; the whole body has them.
                Ok(None) => break,
                got => got,
            };
            assert_eq!(
                got,
                whole.next_event(),
                "split into {piece}-byte pieces vs whole"
            );
            if let Err(e) = got {
                return poisoned(&split, &whole, e);
            }
        }
    }
    // All pushed: both are out of events at the same point.
    assert_eq!(whole.next_event(), Ok(None), "whole has more than split");
    let end = split.finish();
    assert_eq!(end, whole.finish());
    if let Err(e) = end {
        assert!(matches!(e, CmafError::Truncated { .. }), "{e}");
    }
}

/// Both demuxers failed with `e`: every later call repeats it.
fn poisoned(split: &Demuxer, whole: &Demuxer, e: CmafError) {
    assert!(!e.to_string().contains('\n'), "one-line message: {e}");
    assert_eq!(split.finish(), Err(e.clone()));
    assert_eq!(whole.finish(), Err(e));
}

/// Counts live heap bytes and their peak (the fuzz target is single-threaded).
mod counter {
    use super::*;

    static LIVE: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    /// Starts a measurement; returns the live bytes now.
    pub fn reset_peak() -> usize {
        let now = LIVE.load(Relaxed);
        PEAK.store(now, Relaxed);
        now
    }

    /// Peak live bytes since [`reset_peak`] returned `base`, above `base`.
    pub fn peak_since(base: usize) -> usize {
        PEAK.load(Relaxed).saturating_sub(base)
    }

    fn grow(n: usize) {
        let now = LIVE.fetch_add(n, Relaxed) + n;
        PEAK.fetch_max(now, Relaxed);
    }

    fn shrink(n: usize) {
        LIVE.fetch_sub(n, Relaxed);
    }

    struct Counting;

    #[global_allocator]
    static ALLOCATOR: Counting = Counting;

    // SAFETY: every method forwards to `System` unchanged; the counters only
    // observe the sizes.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: same contract as the caller's.
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                grow(layout.size());
            }
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: same contract as the caller's.
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                grow(layout.size());
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: same contract as the caller's.
            unsafe { System.dealloc(ptr, layout) };
            shrink(layout.size());
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: same contract as the caller's.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                // Counted as a move: old and new block both live for a moment.
                grow(new_size);
                shrink(layout.size());
            }
            p
        }
    }
}
