//! One cached object: its response head, its body as it arrives, and where its fill
//! stands, shared by every reader while it is written (read-while-write).
//!
//! [edge-cache.md §0] "Make the end states explicit": Pending (no head yet) → Streaming
//! → Complete | Failed. A fill that stops without reaching Complete (its task dropped,
//! the origin broke mid-body) is Failed, never a clean end: every reader then ends with
//! an error. Completion is never inferred from a closed channel.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::watch;

/// Why a fill failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The origin could not be reached, or answered no head.
    #[error("the origin gave no response")]
    NoResponse,
    /// The origin's body broke before its end.
    #[error("the origin's response broke mid-body")]
    Truncated,
    /// The object grew past the per-object cap.
    #[error("the object is larger than the cache's per-object cap")]
    TooLarge,
    /// The fill was abandoned (its task ended without finishing).
    #[error("the fill was abandoned")]
    Abandoned,
}

/// Where a fill stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Requested from the origin; no head yet.
    Pending,
    /// Head known; body bytes arriving.
    Streaming,
    /// Every byte is in.
    Complete,
    /// The fill stopped early; readers end with an error.
    Failed(Failure),
}

/// The origin's response head, as stored.
#[derive(Debug)]
pub struct Head {
    /// Status code.
    pub status: http::StatusCode,
    /// Header fields (hop-by-hop ones already removed).
    pub headers: http::HeaderMap,
    /// When the head arrived (for `Age`).
    pub received: Instant,
    /// The `Age` the origin (or a cache before it) gave it.
    pub upstream_age: std::time::Duration,
}

/// A cached object.
#[derive(Debug)]
pub struct Object {
    head: OnceLock<Arc<Head>>,
    /// Body chunks, each with the moment it arrived (for the delivery lag).
    body: Mutex<Vec<(Bytes, Instant)>>,
    /// Bytes in `body` (read without the lock).
    len: AtomicU64,
    progress: watch::Sender<Progress>,
}

impl Object {
    /// A new object, Pending.
    pub fn new() -> Arc<Object> {
        Arc::new(Object {
            head: OnceLock::new(),
            body: Mutex::new(Vec::new()),
            len: AtomicU64::new(0),
            progress: watch::Sender::new(Progress::Pending),
        })
    }

    fn chunks(&self) -> MutexGuard<'_, Vec<(Bytes, Instant)>> {
        // Pushes leave the vector consistent before they could panic.
        self.body.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where the fill stands.
    pub fn progress(&self) -> Progress {
        *self.progress.borrow()
    }

    /// The head, once known.
    pub fn head(&self) -> Option<Arc<Head>> {
        self.head.get().cloned()
    }

    /// Body bytes received so far.
    pub fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }

    /// True when no body byte has arrived.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Readers and waiters attached.
    pub fn readers(&self) -> usize {
        self.progress.receiver_count()
    }

    /// A reader from the first byte (late joiners too).
    pub fn reader(self: &Arc<Self>) -> Reader {
        Reader {
            object: self.clone(),
            rx: self.progress.subscribe(),
            next: 0,
        }
    }

    /// Waits for the head (or the failure that came instead).
    pub async fn wait_head(&self) -> Result<Arc<Head>, Failure> {
        let mut rx = self.progress.subscribe();
        loop {
            if let Some(h) = self.head() {
                return Ok(h);
            }
            if let Progress::Failed(f) = *rx.borrow_and_update() {
                return Err(f);
            }
            if rx.changed().await.is_err() {
                return Err(Failure::Abandoned);
            }
        }
    }

    /// Waits until `done(progress, bytes so far)` holds, and returns the progress then.
    /// Ends at the latest when the fill settles (Complete or Failed), whatever `done`
    /// says.
    pub async fn wait_for(&self, done: impl Fn(Progress, u64) -> bool) -> Progress {
        let mut rx = self.progress.subscribe();
        loop {
            let p = *rx.borrow_and_update();
            let settled = matches!(p, Progress::Complete | Progress::Failed(_));
            if settled || done(p, self.len()) {
                return p;
            }
            if rx.changed().await.is_err() {
                return Progress::Failed(Failure::Abandoned);
            }
        }
    }

    fn set(&self, p: Progress) {
        self.progress.send_if_modified(|cur| {
            // Complete and Failed are final.
            let open = matches!(*cur, Progress::Pending | Progress::Streaming);
            if open && *cur != p {
                *cur = p;
                true
            } else {
                false
            }
        });
    }

    /// Bumps the progress watch so that readers look again (new bytes).
    fn wake(&self) {
        self.progress.send_modify(|_| {});
    }
}

/// The fill's handle on its object: the only writer. Dropped before
/// [`Fill::complete`], it fails the object ([`Failure::Abandoned`]).
#[derive(Debug)]
pub struct Fill {
    object: Arc<Object>,
    max_bytes: u64,
    done: bool,
}

impl Fill {
    /// The writer of `object`, which may hold at most `max_bytes` of body.
    pub fn new(object: Arc<Object>, max_bytes: u64) -> Fill {
        Fill {
            object,
            max_bytes,
            done: false,
        }
    }

    /// The object written.
    pub fn object(&self) -> &Arc<Object> {
        &self.object
    }

    /// Stores the head: the object is Streaming.
    pub fn head(&mut self, head: Head) {
        let _ = self.object.head.set(Arc::new(head));
        self.object.set(Progress::Streaming);
    }

    /// Appends body bytes; past the cap the object fails ([`Failure::TooLarge`]).
    pub fn push(&mut self, data: Bytes) -> Result<(), Failure> {
        if data.is_empty() {
            return Ok(());
        }
        let len = self.object.len() + data.len() as u64;
        if len > self.max_bytes {
            self.fail(Failure::TooLarge);
            return Err(Failure::TooLarge);
        }
        self.object.chunks().push((data, Instant::now()));
        self.object.len.store(len, Ordering::Release);
        self.object.wake();
        Ok(())
    }

    /// Every byte is in.
    pub fn complete(mut self) {
        self.done = true;
        self.object.set(Progress::Complete);
    }

    /// The fill stopped early.
    pub fn fail(&mut self, why: Failure) {
        self.done = true;
        self.object.set(Progress::Failed(why));
    }
}

impl Drop for Fill {
    fn drop(&mut self) {
        if !self.done {
            self.object.set(Progress::Failed(Failure::Abandoned));
        }
    }
}

/// One reader's position in an object.
#[derive(Debug)]
pub struct Reader {
    object: Arc<Object>,
    rx: watch::Receiver<Progress>,
    next: usize,
}

impl Reader {
    /// The next bytes, `None` at the end of a complete object, `Some(Err)` when the fill
    /// failed (after every byte that did arrive).
    pub async fn next(&mut self) -> Option<Result<Bytes, Failure>> {
        self.next_timed().await.map(|r| r.map(|(b, _)| b))
    }

    /// [`Reader::next`] with the moment the bytes arrived from the origin.
    pub async fn next_timed(&mut self) -> Option<Result<(Bytes, Instant), Failure>> {
        loop {
            let progress = *self.rx.borrow_and_update();
            if let Some(c) = self.object.chunks().get(self.next).cloned() {
                self.next += 1;
                return Some(Ok(c));
            }
            match progress {
                Progress::Complete => return None,
                Progress::Failed(f) => return Some(Err(f)),
                Progress::Pending | Progress::Streaming => {}
            }
            if self.rx.changed().await.is_err() {
                return Some(Err(Failure::Abandoned));
            }
        }
    }
}
