//! The cache's index: which objects exist, which are being filled, and the byte budget.
//!
//! [edge-cache.md §6] In-flight objects are looked up first (a request for an object
//! being filled joins that fill: one origin request per object however many viewers
//! ask); complete ones are kept in least-recently-used order under a byte budget that
//! counts the bytes of fills still in flight too; an object over the per-object cap
//! fails and its key is remembered as uncacheable for a while, so that later requests
//! stream through instead of queueing behind a fill that cannot succeed. Only complete
//! objects are evicted; a reader of an evicted object keeps reading it (it holds the
//! object, not the index).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::object::{Fill, Object, Progress};

/// Budget and caps of one cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of complete objects plus bytes of fills in flight.
    pub budget: u64,
    /// Largest object kept; a bigger one fails its fill and streams through.
    pub max_object: u64,
    /// How long a key stays uncacheable after its object was too large.
    pub uncacheable_for: Duration,
}

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup {
    /// A fresh object, complete or being filled: read it.
    Hit(Arc<Object>),
    /// No usable object: this caller starts the fill with this writer (its object is
    /// already in the index, so others join it).
    Miss(Fill),
    /// The key is uncacheable for now: fetch from the origin for this request alone.
    Bypass,
}

#[derive(Debug)]
struct Entry {
    object: Arc<Object>,
    /// When the object stops being fresh (set from the head's lifetime).
    expires: Option<Instant>,
    /// Last use, for least-recently-used eviction.
    used: u64,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    uncacheable: HashMap<String, Instant>,
    clock: u64,
    evictions: u64,
}

/// The index of one cache.
#[derive(Debug)]
pub struct Index {
    limits: Limits,
    inner: Mutex<Inner>,
}

impl Index {
    /// An empty cache.
    pub fn new(limits: Limits) -> Index {
        Index {
            limits,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every mutation leaves the maps consistent before it could panic.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The object for `key` as of `now`: a fresh one to read, or the writer of a new one
    /// (inserted before this returns, so concurrent lookups join it), or a bypass.
    pub fn lookup(&self, key: &str, now: Instant) -> Lookup {
        let mut inner = self.lock();
        let inner = &mut *inner;
        if let Some(until) = inner.uncacheable.get(key) {
            if *until > now {
                return Lookup::Bypass;
            }
            inner.uncacheable.remove(key);
        }
        inner.clock += 1;
        let clock = inner.clock;
        if let Some(e) = inner.entries.get_mut(key) {
            let usable = match e.object.progress() {
                Progress::Pending | Progress::Streaming => true,
                Progress::Complete => e.expires.is_none_or(|t| t > now),
                Progress::Failed(_) => false,
            };
            if usable {
                e.used = clock;
                return Lookup::Hit(e.object.clone());
            }
        }
        let object = Object::new();
        inner.entries.insert(
            key.to_string(),
            Entry {
                object: object.clone(),
                expires: None,
                used: clock,
            },
        );
        Lookup::Miss(Fill::new(object, self.limits.max_object))
    }

    /// Sets how long `key`'s object stays fresh (from its head's lifetime).
    pub fn set_expiry(&self, key: &str, object: &Arc<Object>, expires: Instant) {
        if let Some(e) = self.lock().entries.get_mut(key)
            && Arc::ptr_eq(&e.object, object)
        {
            e.expires = Some(expires);
        }
    }

    /// Drops `key`'s entry if it is still `object` (an answer not to be kept).
    pub fn forget(&self, key: &str, object: &Arc<Object>) {
        let mut inner = self.lock();
        if inner
            .entries
            .get(key)
            .is_some_and(|e| Arc::ptr_eq(&e.object, object))
        {
            inner.entries.remove(key);
        }
    }

    /// Called when `object`'s fill ended: a failed object leaves the index (the next
    /// request starts a new fill; one too large makes the key uncacheable for a while);
    /// a complete one stays, and least-recently-used complete objects are evicted until
    /// the budget holds.
    pub fn settled(&self, key: &str, object: &Arc<Object>, now: Instant) {
        let mut inner = self.lock();
        let same = inner
            .entries
            .get(key)
            .is_some_and(|e| Arc::ptr_eq(&e.object, object));
        if let Progress::Failed(f) = object.progress() {
            if same {
                inner.entries.remove(key);
            }
            if f == super::object::Failure::TooLarge {
                inner
                    .uncacheable
                    .insert(key.to_string(), now + self.limits.uncacheable_for);
            }
            return;
        }
        self.evict(&mut inner);
    }

    /// Evicts least-recently-used complete objects until complete + in-flight bytes fit
    /// the budget (in-flight objects are never evicted).
    fn evict(&self, inner: &mut Inner) {
        let mut total: u64 = inner.entries.values().map(|e| e.object.len()).sum();
        while total > self.limits.budget {
            let Some(victim) = inner
                .entries
                .iter()
                .filter(|(_, e)| e.object.progress() == Progress::Complete)
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                return;
            };
            if let Some(e) = inner.entries.remove(&victim) {
                total = total.saturating_sub(e.object.len());
                inner.evictions += 1;
            }
        }
    }

    /// Objects in the index and the bytes they hold.
    pub fn usage(&self) -> (usize, u64) {
        let inner = self.lock();
        (
            inner.entries.len(),
            inner.entries.values().map(|e| e.object.len()).sum(),
        )
    }

    /// Objects evicted so far.
    pub fn evictions(&self) -> u64 {
        self.lock().evictions
    }
}
