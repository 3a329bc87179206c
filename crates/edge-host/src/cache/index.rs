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
    /// Bytes each object costs beyond its body (its key, head and bookkeeping), so that
    /// many small or empty answers (404s of distinct URLs) are bounded by the budget too.
    pub entry_cost: u64,
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
    /// Past its lifetime but within its stale-while-revalidate window: serve this
    /// object now, and refresh it with this writer (the one refresh in flight; other
    /// requests meanwhile get the stale object as a plain hit).
    Stale(Arc<Object>, Fill),
}

#[derive(Debug)]
struct Entry {
    object: Arc<Object>,
    /// When the object stops being fresh (set from the head's lifetime).
    expires: Option<Instant>,
    /// Until when it may still be served stale while a refresh is in flight.
    stale_until: Option<Instant>,
    /// The refresh in flight, which replaces `object` once complete.
    refresh: Option<Arc<Object>>,
    /// Last use, for least-recently-used eviction.
    used: u64,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    uncacheable: HashMap<String, Instant>,
    clock: u64,
    evictions: u64,
    /// When expired objects are next swept out.
    next_sweep: Option<Instant>,
    expired: u64,
}

/// How often objects past their stale window are removed (Varnish's expiry thread
/// does the same on its own timer): a live stream makes a new key per part and per
/// blocking reload, which would otherwise sit in memory until the budget evicted them,
/// and make every eviction scan walk them all.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

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
        // A fill that just went over the cap marks its key here too, before its own
        // task settles it: a request in between must not start another capped fill.
        if let Some(e) = inner.entries.get(key)
            && e.object.progress() == Progress::Failed(super::object::Failure::TooLarge)
        {
            inner.entries.remove(key);
            inner.uncacheable.retain(|_, until| *until > now);
            inner
                .uncacheable
                .insert(key.to_string(), now + self.limits.uncacheable_for);
            return Lookup::Bypass;
        }
        if let Some(e) = inner.entries.get_mut(key) {
            let in_flight =
                |o: &Arc<Object>| matches!(o.progress(), Progress::Pending | Progress::Streaming);
            // A refresh is in flight until it failed or was swapped in (a complete one
            // waits for its expiry to be set).
            let refreshing = |o: &Arc<Object>| !matches!(o.progress(), Progress::Failed(_));
            let complete = e.object.progress() == Progress::Complete;
            if in_flight(&e.object) || complete && e.expires.is_none_or(|t| t > now) {
                e.used = clock;
                return Lookup::Hit(e.object.clone());
            }
            if complete && e.stale_until.is_some_and(|t| t > now) {
                e.used = clock;
                if e.refresh.as_ref().is_some_and(refreshing) {
                    return Lookup::Hit(e.object.clone());
                }
                let fresh = Object::new();
                e.refresh = Some(fresh.clone());
                return Lookup::Stale(e.object.clone(), Fill::new(fresh, self.limits.max_object));
            }
        }
        let object = Object::new();
        inner.entries.insert(
            key.to_string(),
            Entry {
                object: object.clone(),
                expires: None,
                stale_until: None,
                refresh: None,
                used: clock,
            },
        );
        Lookup::Miss(Fill::new(object, self.limits.max_object))
    }

    /// Sets how long `key`'s object stays fresh, and until when it may be served stale
    /// while refreshed (from its head's lifetime). A completed refresh takes the stale
    /// object's place here.
    pub fn set_expiry(
        &self,
        key: &str,
        object: &Arc<Object>,
        (expires, stale_until): (Instant, Instant),
    ) {
        if let Some(e) = self.lock().entries.get_mut(key) {
            if e.refresh.as_ref().is_some_and(|r| Arc::ptr_eq(r, object)) {
                e.object = object.clone();
                e.refresh = None;
            }
            if Arc::ptr_eq(&e.object, object) {
                e.expires = Some(expires);
                e.stale_until = Some(stale_until);
            }
        }
    }

    /// Drops `key`'s entry if it is still `object` (an answer not to be kept); a
    /// refresh not to be kept leaves the stale object to its window.
    pub fn forget(&self, key: &str, object: &Arc<Object>) {
        let mut inner = self.lock();
        let Some(e) = inner.entries.get_mut(key) else {
            return;
        };
        if e.refresh.as_ref().is_some_and(|r| Arc::ptr_eq(r, object)) {
            e.refresh = None;
        } else if Arc::ptr_eq(&e.object, object) {
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
            } else if let Some(e) = inner.entries.get_mut(key)
                && e.refresh.as_ref().is_some_and(|r| Arc::ptr_eq(r, object))
            {
                // A failed refresh: the stale object serves on; the next request after
                // it tries again.
                e.refresh = None;
            }
            if f == super::object::Failure::TooLarge {
                // Expired marks go first: the map stays as small as the keys marked now.
                inner.uncacheable.retain(|_, until| *until > now);
                inner
                    .uncacheable
                    .insert(key.to_string(), now + self.limits.uncacheable_for);
            }
            return;
        }
        Self::sweep(&mut inner, now);
        self.evict(&mut inner);
    }

    /// At most every [`SWEEP_EVERY`]: removes complete objects past their stale window
    /// (with no refresh in flight). Readers still holding one keep reading it.
    fn sweep(inner: &mut Inner, now: Instant) {
        if inner.next_sweep.is_some_and(|t| t > now) {
            return;
        }
        inner.next_sweep = Some(now + SWEEP_EVERY);
        let before = inner.entries.len();
        inner.entries.retain(|_, e| {
            let done = e.object.progress() == Progress::Complete
                && e.refresh.is_none()
                && e.stale_until.is_some_and(|t| t <= now);
            !done
        });
        inner.expired += (before - inner.entries.len()) as u64;
        inner.uncacheable.retain(|_, until| *until > now);
    }

    /// Evicts least-recently-used complete objects until complete + in-flight bytes
    /// (with each object's entry cost) fit the budget; in-flight objects are never
    /// evicted.
    fn evict(&self, inner: &mut Inner) {
        let cost = |e: &Entry| e.object.len() + self.limits.entry_cost;
        let mut total: u64 = inner.entries.values().map(cost).sum();
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
                total = total.saturating_sub(cost(&e));
                inner.evictions += 1;
            }
        }
    }

    /// The object `key` names now, if any.
    pub fn get(&self, key: &str) -> Option<Arc<Object>> {
        self.lock().entries.get(key).map(|e| e.object.clone())
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

    /// Objects removed as expired so far.
    pub fn expired(&self) -> u64 {
        self.lock().expired
    }
}
