//! The growing object: one segment's bytes, shared by every reader while it is produced.
//!
//! Ingest appends each chunk (a moof+mdat written by weir) the moment its last byte is
//! in; any number of readers attach at any time, get the bytes so far at once and each
//! new chunk as it lands (late joiners from byte 0). There is one stored copy: readers
//! hold a position, the chunks are reference-counted [`Bytes`]. Wake-ups go through a
//! `watch` of this object alone, so a reader of one segment never wakes for another, and
//! a stalled reader costs ingest nothing (a `watch` keeps no queue).
//!
//! The object also knows which of its chunks form each LL-HLS part and whether that part
//! is complete: [HLS §6.2.6] "the server MUST NOT transmit any bytes of a Partial Segment
//! until the entire Partial Segment is available", so part readers see a part only once
//! it is complete, while chunk readers (chunked CMAF) see every chunk at once.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use timeline::Segment;
use tokio::sync::watch;

/// How a segment's production ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Still being produced.
    Open,
    /// Every byte is in.
    Complete,
    /// Production stopped before the segment was complete (its track was removed):
    /// readers must end with an error, never a clean short end.
    Aborted,
    /// Production stopped early because the encoder's upload broke: the bytes stored
    /// are a shorter but valid segment (the timeline closed it there). Readers that were
    /// attached while it grew end with an error (they were streaming a segment that
    /// never reached its length); requests made afterwards get the stored bytes.
    Truncated,
}

/// One segment being produced (or produced).
#[derive(Debug)]
pub struct Growing {
    body: Mutex<Body>,
    changed: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct Body {
    chunks: Vec<Bytes>,
    /// Byte offset of the end of each chunk.
    ends: Vec<u64>,
    parts: Vec<PartSpan>,
    /// Where each output chunk (one `append`) lies, in bytes and in media time.
    marks: Vec<ChunkMark>,
    end: Option<End>,
    /// The segment is the last of its period (DASH Period, HESP Presentation): the
    /// encoder restarted or its upload broke after it.
    ends_period: bool,
}

/// Media time of one output chunk, in track ticks: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChunkTimes {
    /// Decode time of the chunk's first sample.
    pub start: u64,
    /// Decode time just after its last sample.
    pub end: u64,
}

/// One output chunk of an object: its bytes `[from, to)` and its media time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMark {
    /// First byte of the chunk (its `moof`).
    pub from: u64,
    /// Byte after its last one.
    pub to: u64,
    /// Its media time.
    pub times: ChunkTimes,
}

/// The chunks of one part.
#[derive(Debug, Clone, Copy, Default)]
struct PartSpan {
    first_chunk: usize,
    end_chunk: usize,
    complete: bool,
}

impl Body {
    fn len(&self) -> u64 {
        self.ends.last().copied().unwrap_or(0)
    }

    fn end(&self) -> End {
        self.end.unwrap_or(End::Open)
    }

    /// Number of leading chunks that belong to complete parts.
    fn complete_chunks(&self) -> usize {
        if matches!(self.end(), End::Complete | End::Truncated) {
            return self.chunks.len();
        }
        self.parts
            .iter()
            .take_while(|p| p.complete)
            .last()
            .map_or(0, |p| p.end_chunk)
    }
}

impl Default for Growing {
    fn default() -> Self {
        Growing {
            body: Mutex::new(Body::default()),
            changed: watch::Sender::new(0),
        }
    }
}

/// What a reader is allowed to see of an object still being produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// Every chunk the moment it lands (chunked CMAF, L-HLS, the edge cache).
    Chunk,
    /// Only the chunks of complete parts (LL-HLS byte ranges).
    CompletePart,
}

/// What a reader got from [`Reader::next`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// More bytes, in order.
    Bytes(Vec<Bytes>),
    /// The object is complete and every byte was delivered.
    Done,
    /// Production stopped early; the reader must signal an error.
    Aborted,
}

impl Growing {
    /// An empty object, open.
    pub fn new() -> Arc<Self> {
        Arc::new(Growing::default())
    }

    fn lock(&self) -> MutexGuard<'_, Body> {
        // Every mutation leaves the body consistent before it can panic.
        self.body.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Appends the bytes of one output chunk (`moof` + `mdat`) covering `times` to part
    /// `part` (writer side).
    pub fn append(&self, part: u32, chunk: Vec<Bytes>, times: ChunkTimes) {
        let mut b = self.lock();
        if b.end.is_some() {
            return;
        }
        let from = b.len();
        let part = part as usize;
        let at = b.chunks.len();
        while b.parts.len() <= part {
            b.parts.push(PartSpan {
                first_chunk: at,
                end_chunk: at,
                complete: false,
            });
        }
        for c in chunk.into_iter().filter(|c| !c.is_empty()) {
            let end = b.len() + c.len() as u64;
            b.chunks.push(c);
            b.ends.push(end);
        }
        let n = b.chunks.len();
        b.parts[part].end_chunk = n;
        let to = b.len();
        if to > from {
            b.marks.push(ChunkMark { from, to, times });
        }
        drop(b);
        self.bump();
    }

    /// The output chunks stored so far, in order (HESP addresses them).
    pub fn marks(&self) -> Vec<ChunkMark> {
        self.lock().marks.clone()
    }

    /// The bytes `[from, to)` of the object, if stored.
    pub fn bytes(&self, from: u64, to: u64) -> Option<Vec<Bytes>> {
        let b = self.lock();
        (to <= b.len() && from <= to).then(|| slice(&b.chunks, &b.ends, from, to))
    }

    /// Brings part completion (and the object's) in line with the timeline's view of
    /// the segment (writer side). Wakes readers only if something changed.
    pub fn sync(&self, seg: &Segment) {
        let mut b = self.lock();
        let mut changed = false;
        for (span, p) in b.parts.iter_mut().zip(&seg.parts) {
            if p.complete && !span.complete {
                span.complete = true;
                changed = true;
            }
        }
        if seg.complete && b.end.is_none() {
            b.parts.iter_mut().for_each(|p| p.complete = true);
            b.end = Some(End::Complete);
            changed = true;
        }
        drop(b);
        if changed {
            self.bump();
        }
    }

    /// Marks the object as the last of its period (writer side, before it ends).
    pub fn end_period(&self) {
        self.lock().ends_period = true;
    }

    /// True when the object is the last of its period.
    pub fn ends_period(&self) -> bool {
        self.lock().ends_period
    }

    /// Ends production early: readers still attached end with an error.
    pub fn abort(&self) {
        let mut b = self.lock();
        if b.end.is_none() {
            b.end = Some(End::Aborted);
            drop(b);
            self.bump();
        }
    }

    /// Ends production early at what is stored (the encoder's upload broke): readers
    /// still attached end with an error, later requests get the stored bytes.
    pub fn truncate(&self) {
        let mut b = self.lock();
        if b.end.is_none() {
            b.parts.iter_mut().for_each(|p| p.complete = true);
            b.end = Some(End::Truncated);
            drop(b);
            self.bump();
        }
    }

    /// How production stands.
    pub fn end(&self) -> End {
        self.lock().end()
    }

    /// Total bytes stored so far.
    pub fn len(&self) -> u64 {
        self.lock().len()
    }

    /// True when no byte is stored yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes that belong to complete parts (a prefix of the object).
    pub fn complete_len(&self) -> u64 {
        let b = self.lock();
        match b.complete_chunks() {
            0 => 0,
            n => b.ends[n - 1],
        }
    }

    /// All chunks stored so far (the whole segment once complete).
    pub fn chunks(&self) -> Vec<Bytes> {
        self.lock().chunks.clone()
    }

    /// The chunks of part `part`, if that part is complete.
    pub fn part(&self, part: u32) -> Option<Vec<Bytes>> {
        let b = self.lock();
        let span = b.parts.get(part as usize).filter(|p| p.complete)?;
        Some(b.chunks[span.first_chunk..span.end_chunk].to_vec())
    }

    /// True when part `part` is complete, or can never exist (the object ended with
    /// fewer parts).
    pub fn part_settled(&self, part: u32) -> bool {
        let b = self.lock();
        b.parts.get(part as usize).is_some_and(|p| p.complete) || b.end.is_some()
    }

    /// A watch that changes whenever this object does.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Waits until `done` holds for this object, waking on its changes only (returns at
    /// once if it already holds).
    pub async fn wait_until(&self, done: impl Fn(&Growing) -> bool) {
        let mut rx = self.subscribe();
        loop {
            rx.borrow_and_update();
            if done(self) || rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Number of readers (and waiters) attached.
    pub fn readers(&self) -> usize {
        self.changed.receiver_count()
    }

    /// A reader from byte `from`, seeing the object at `granularity`.
    pub fn reader(self: &Arc<Self>, from: u64, granularity: Granularity) -> Reader {
        Reader {
            object: self.clone(),
            rx: self.subscribe(),
            pos: from,
            granularity,
        }
    }
}

/// One reader's position in a [`Growing`] object.
#[derive(Debug)]
pub struct Reader {
    object: Arc<Growing>,
    rx: watch::Receiver<u64>,
    pos: u64,
    granularity: Granularity,
}

impl Reader {
    /// The bytes available from the reader's position, without waiting: `None` when
    /// there is nothing new and the object is still open.
    pub fn poll_now(&mut self) -> Option<Step> {
        let b = self.object.lock();
        let visible = match self.granularity {
            Granularity::Chunk => b.chunks.len(),
            Granularity::CompletePart => b.complete_chunks(),
        };
        let upto = if visible == 0 { 0 } else { b.ends[visible - 1] };
        if upto > self.pos {
            let out = slice(&b.chunks, &b.ends[..visible], self.pos, upto);
            self.pos = upto;
            return Some(Step::Bytes(out));
        }
        match b.end() {
            End::Open => None,
            End::Complete => Some(Step::Done),
            End::Aborted | End::Truncated => Some(Step::Aborted),
        }
    }

    /// Waits for the next bytes (or the end) from the reader's position.
    pub async fn next(&mut self) -> Step {
        loop {
            self.rx.borrow_and_update();
            if let Some(step) = self.poll_now() {
                return step;
            }
            if self.rx.changed().await.is_err() {
                // The object is gone with its sender; nothing more will come.
                return Step::Aborted;
            }
        }
    }

    /// The reader's byte position.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The object read.
    pub fn object(&self) -> &Arc<Growing> {
        &self.object
    }
}

/// The bytes `[from, to)` of chunks whose end offsets are `ends`, sliced without copying.
fn slice(chunks: &[Bytes], ends: &[u64], from: u64, to: u64) -> Vec<Bytes> {
    let first = ends.partition_point(|&e| e <= from);
    let mut out = Vec::new();
    for (i, c) in chunks.iter().enumerate().take(ends.len()).skip(first) {
        let start = ends[i] - c.len() as u64;
        if start >= to {
            break;
        }
        let a = usize::try_from(from.saturating_sub(start)).unwrap_or(usize::MAX);
        let b = usize::try_from(to.min(ends[i]) - start).unwrap_or(usize::MAX);
        out.push(c.slice(a..b));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: ChunkTimes = ChunkTimes { start: 0, end: 1 };

    fn seg(parts: &[bool], complete: bool) -> Segment {
        Segment {
            msn: 1,
            start: 0,
            duration: 0,
            parts: parts
                .iter()
                .map(|&c| timeline::Part {
                    duration: 1,
                    independent: true,
                    complete: c,
                    bytes: 0,
                })
                .collect(),
            complete,
            discontinuity: false,
            bytes: 0,
            init: 0,
        }
    }

    fn concat(v: &[Bytes]) -> Vec<u8> {
        v.iter().flat_map(|b| b.iter().copied()).collect()
    }

    #[tokio::test]
    async fn chunk_readers_see_every_chunk_and_late_joiners_start_at_zero() {
        let g = Growing::new();
        let mut early = g.reader(0, Granularity::Chunk);
        g.append(0, vec![Bytes::from_static(b"ab")], T);
        assert_eq!(
            early.next().await,
            Step::Bytes(vec![Bytes::from_static(b"ab")])
        );
        g.append(
            0,
            vec![Bytes::from_static(b"cd"), Bytes::from_static(b"e")],
            T,
        );
        let mut late = g.reader(0, Granularity::Chunk);
        assert_eq!(
            concat(&match late.next().await {
                Step::Bytes(b) => b,
                s => panic!("{s:?}"),
            }),
            b"abcde"
        );
        g.sync(&seg(&[true], true));
        match early.next().await {
            Step::Bytes(b) => assert_eq!(concat(&b), b"cde"),
            s => panic!("{s:?}"),
        }
        assert_eq!(early.next().await, Step::Done);
        assert_eq!(late.next().await, Step::Done);
    }

    #[tokio::test]
    async fn part_readers_see_complete_parts_only() {
        let g = Growing::new();
        let mut r = g.reader(0, Granularity::CompletePart);
        g.append(0, vec![Bytes::from_static(b"p0")], T);
        assert_eq!(r.poll_now(), None);
        assert!(g.part(0).is_none());
        g.sync(&seg(&[true], false));
        assert_eq!(
            r.poll_now(),
            Some(Step::Bytes(vec![Bytes::from_static(b"p0")]))
        );
        g.append(1, vec![Bytes::from_static(b"p1a")], T);
        g.append(1, vec![Bytes::from_static(b"p1b")], T);
        assert_eq!(r.poll_now(), None);
        assert_eq!(g.complete_len(), 2);
        g.sync(&seg(&[true, true], false));
        assert_eq!(g.part(1).map(|p| concat(&p)), Some(b"p1ap1b".to_vec()));
        match r.poll_now() {
            Some(Step::Bytes(b)) => assert_eq!(concat(&b), b"p1ap1b"),
            s => panic!("{s:?}"),
        }
    }

    #[tokio::test]
    async fn readers_from_an_offset_and_aborts() {
        let g = Growing::new();
        g.append(
            0,
            vec![Bytes::from_static(b"0123"), Bytes::from_static(b"4567")],
            T,
        );
        let mut r = g.reader(3, Granularity::Chunk);
        match r.next().await {
            Step::Bytes(b) => assert_eq!(concat(&b), b"34567"),
            s => panic!("{s:?}"),
        }
        g.abort();
        assert_eq!(r.next().await, Step::Aborted);
        // Nothing is appended after the end.
        g.append(0, vec![Bytes::from_static(b"x")], T);
        assert_eq!(g.len(), 8);
    }

    #[tokio::test]
    async fn a_thousand_readers_share_one_copy() {
        let g = Growing::new();
        let chunk = Bytes::from(vec![7u8; 1 << 16]);
        g.append(0, vec![chunk.clone()], T);
        let mut readers: Vec<_> = (0..1000).map(|_| g.reader(0, Granularity::Chunk)).collect();
        let mut got = Vec::new();
        for r in &mut readers {
            match r.next().await {
                Step::Bytes(b) => got.extend(b),
                s => panic!("{s:?}"),
            }
        }
        // Every reader's bytes point into the one stored chunk.
        assert!(
            got.iter()
                .all(|b| b.as_ptr() == chunk.as_ptr() && b.len() == chunk.len())
        );
        assert_eq!(g.readers(), 1000);
    }

    #[test]
    fn marks_place_each_chunk_in_bytes_and_time() {
        let g = Growing::new();
        let t = |start, end| ChunkTimes { start, end };
        g.append(
            0,
            vec![Bytes::from_static(b"ab"), Bytes::from_static(b"c")],
            t(0, 10),
        );
        g.append(1, vec![Bytes::from_static(b"de")], t(10, 20));
        let m = g.marks();
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].from, m[0].to, m[0].times), (0, 3, t(0, 10)));
        assert_eq!((m[1].from, m[1].to, m[1].times), (3, 5, t(10, 20)));
        assert_eq!(g.bytes(1, 4).map(|b| concat(&b)), Some(b"bcd".to_vec()));
        assert_eq!(g.bytes(0, 6), None);
    }
}
