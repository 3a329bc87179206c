//! The must-pass object and index behaviours of edge-cache.md §5 that need no network:
//! read-while-write with late joiners (#2, #3), failure visible to every reader and not
//! cached (#4, #6, #28), collapsing (#1), per-object cap (#17), byte budget (#18),
//! freshness.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;

const LIMITS: Limits = Limits {
    budget: 100,
    max_object: 40,
    uncacheable_for: Duration::from_secs(5),
    entry_cost: 0,
};

fn head() -> Head {
    Head {
        status: http::StatusCode::OK,
        headers: http::HeaderMap::new(),
        received: Instant::now(),
        upstream_age: Duration::ZERO,
    }
}

fn miss(index: &Index, key: &str) -> Fill {
    match index.lookup(key, Instant::now()) {
        Lookup::Miss(f) => f,
        other => panic!("{key}: expected a miss, got {other:?}"),
    }
}

fn hit(index: &Index, key: &str) -> std::sync::Arc<Object> {
    match index.lookup(key, Instant::now()) {
        Lookup::Hit(o) => o,
        other => panic!("{key}: expected a hit, got {other:?}"),
    }
}

#[tokio::test]
async fn readers_get_bytes_so_far_then_each_chunk_and_late_joiners_start_at_zero() {
    let index = Index::new(LIMITS);
    let mut fill = miss(&index, "/a");
    // Every other request for the key joins the fill (one origin request).
    let object = hit(&index, "/a");
    let mut early = object.reader();
    fill.head(head());
    fill.push(Bytes::from_static(b"ab")).expect("push");
    assert_eq!(early.next().await, Some(Ok(Bytes::from_static(b"ab"))));
    fill.push(Bytes::from_static(b"cd")).expect("push");
    let mut late = hit(&index, "/a").reader();
    assert_eq!(late.next().await, Some(Ok(Bytes::from_static(b"ab"))));
    assert_eq!(late.next().await, Some(Ok(Bytes::from_static(b"cd"))));
    assert_eq!(early.next().await, Some(Ok(Bytes::from_static(b"cd"))));
    fill.complete();
    index.settled("/a", &object, Instant::now());
    assert_eq!(early.next().await, None, "a clean end once complete");
    assert_eq!(late.next().await, None);
    assert!(std::sync::Arc::ptr_eq(&hit(&index, "/a"), &object), "kept");
}

#[tokio::test]
async fn a_broken_fill_ends_every_reader_with_an_error_and_is_not_kept() {
    let index = Index::new(LIMITS);
    let mut fill = miss(&index, "/b");
    let object = fill.object().clone();
    let mut r = object.reader();
    fill.head(head());
    fill.push(Bytes::from_static(b"xy")).expect("push");
    fill.fail(Failure::Truncated);
    index.settled("/b", &object, Instant::now());
    assert_eq!(r.next().await, Some(Ok(Bytes::from_static(b"xy"))));
    assert_eq!(
        r.next().await,
        Some(Err(Failure::Truncated)),
        "never a clean short end"
    );
    let mut late = object.reader();
    assert_eq!(late.next().await, Some(Ok(Bytes::from_static(b"xy"))));
    assert_eq!(late.next().await, Some(Err(Failure::Truncated)));
    // The next request is a new miss, never the short object.
    drop(miss(&index, "/b"));
}

#[tokio::test]
async fn an_abandoned_fill_fails_its_object() {
    let index = Index::new(LIMITS);
    let fill = miss(&index, "/c");
    let object = fill.object().clone();
    let mut r = object.reader();
    drop(fill);
    assert_eq!(r.next().await, Some(Err(Failure::Abandoned)));
    assert_eq!(object.wait_head().await.err(), Some(Failure::Abandoned));
}

#[tokio::test]
async fn waiters_for_the_head_wake_when_it_arrives() {
    let index = Index::new(LIMITS);
    let mut fill = miss(&index, "/h");
    let object = hit(&index, "/h");
    let waiter = tokio::spawn(async move { object.wait_head().await.map(|h| h.status) });
    tokio::task::yield_now().await;
    fill.head(head());
    assert_eq!(waiter.await.expect("task"), Ok(http::StatusCode::OK));
}

#[test]
fn an_object_over_the_cap_fails_and_its_key_streams_through_for_a_while() {
    let index = Index::new(LIMITS);
    let mut fill = miss(&index, "/big");
    let object = fill.object().clone();
    fill.head(head());
    assert_eq!(
        fill.push(Bytes::from(vec![0u8; 41])),
        Err(Failure::TooLarge)
    );
    let now = Instant::now();
    index.settled("/big", &object, now);
    assert!(matches!(index.lookup("/big", now), Lookup::Bypass));
    assert!(matches!(
        index.lookup("/big", now + Duration::from_secs(6)),
        Lookup::Miss(_)
    ));
}

#[test]
fn complete_objects_are_evicted_least_recently_used_first_never_fills_in_flight() {
    let index = Index::new(LIMITS);
    let now = Instant::now();
    let done = |key: &str| {
        let mut f = miss(&index, key);
        let o = f.object().clone();
        f.head(head());
        f.push(Bytes::from(vec![1u8; 30])).expect("push");
        f.complete();
        index.settled(key, &o, now);
        o
    };
    let a = done("/1");
    done("/2");
    // A fill in flight holds 30 bytes of the budget.
    let mut live = miss(&index, "/live");
    live.head(head());
    live.push(Bytes::from(vec![2u8; 30])).expect("push");
    // "/1" is used again, so "/2" is the least recently used.
    hit(&index, "/1");
    done("/3");
    assert_eq!(index.usage(), (3, 90), "within the budget of 100");
    assert_eq!(index.evictions(), 1);
    assert!(
        matches!(index.lookup("/2", now), Lookup::Miss(_)),
        "evicted"
    );
    assert!(std::sync::Arc::ptr_eq(&hit(&index, "/1"), &a));
    assert!(
        matches!(index.lookup("/live", now), Lookup::Hit(_)),
        "in flight"
    );
}

#[test]
fn a_complete_object_past_its_lifetime_is_filled_again() {
    let index = Index::new(LIMITS);
    let now = Instant::now();
    let mut f = miss(&index, "/p");
    let o = f.object().clone();
    f.head(head());
    f.complete();
    index.settled("/p", &o, now);
    let t = now + Duration::from_secs(1);
    index.set_expiry("/p", &o, (t, t));
    assert!(matches!(index.lookup("/p", now), Lookup::Hit(_)));
    assert!(matches!(
        index.lookup("/p", now + Duration::from_secs(2)),
        Lookup::Miss(_)
    ));
}

#[test]
fn many_distinct_empty_answers_stay_within_the_budget() {
    // 404s of ever-new URLs have no body: their entry cost bounds them.
    let index = Index::new(Limits {
        entry_cost: 10,
        ..LIMITS
    });
    let now = Instant::now();
    for n in 0..1000 {
        let key = format!("/missing-{n}");
        let mut f = miss(&index, &key);
        let o = f.object().clone();
        f.head(head());
        f.complete();
        index.settled(&key, &o, now);
    }
    assert_eq!(index.usage().0, 10, "budget 100 at 10 per object");
    assert_eq!(index.evictions(), 990);
}

#[test]
fn a_stale_object_is_served_while_one_refresh_replaces_it() {
    let index = Index::new(LIMITS);
    let now = Instant::now();
    let (fresh_for, stale_for) = (Duration::from_secs(1), Duration::from_secs(2));
    let mut f = miss(&index, "/live.m3u8");
    let old = f.object().clone();
    f.head(head());
    f.complete();
    index.settled("/live.m3u8", &old, now);
    index.set_expiry("/live.m3u8", &old, (now + fresh_for, now + stale_for));
    let later = now + Duration::from_millis(1500);
    let Lookup::Stale(served, refresh) = index.lookup("/live.m3u8", later) else {
        panic!("stale within the window")
    };
    assert!(std::sync::Arc::ptr_eq(&served, &old));
    // While the refresh is in flight, the others get the stale object, no new fill.
    match index.lookup("/live.m3u8", later) {
        Lookup::Hit(o) => assert!(std::sync::Arc::ptr_eq(&o, &old)),
        other => panic!("a hit on the stale object, got {other:?}"),
    }
    let new = refresh.object().clone();
    let mut refresh = refresh;
    refresh.head(head());
    refresh.complete();
    index.set_expiry("/live.m3u8", &new, (later + fresh_for, later + stale_for));
    index.settled("/live.m3u8", &new, later);
    match index.lookup("/live.m3u8", later) {
        Lookup::Hit(o) => assert!(std::sync::Arc::ptr_eq(&o, &new), "the refresh took over"),
        other => panic!("a hit, got {other:?}"),
    }
    // Past the stale window, a miss.
    assert!(matches!(
        index.lookup("/live.m3u8", later + Duration::from_secs(3)),
        Lookup::Miss(_)
    ));
}

/// A body of `n` chunks that yields between them, then an error if `broken`.
struct Yielding {
    left: u32,
    sent: u32,
    pause: bool,
    broken: bool,
}

impl http_body::Body for Yielding {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        use std::task::Poll;
        // Every other poll yields, so fills and readers interleave.
        self.pause = !self.pause;
        if self.pause {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.left == 0 {
            if std::mem::take(&mut self.broken) {
                return Poll::Ready(Some(Err(wasmtime_wasi_http::Error::HttpProtocolError)));
            }
            return Poll::Ready(None);
        }
        self.left -= 1;
        self.sent += 1;
        let chunk = Bytes::from(format!("<{}>", self.sent));
        Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
    }
}

/// §5 #27: many requests racing for a few keys, fills interleaving with readers: every
/// request ends, with the whole body or (for the key whose origin breaks) an error;
/// the kept keys are fetched once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_requests_get_the_whole_body_or_an_error_and_never_hang() {
    use http_body_util::BodyExt;
    let cache = Cache::new(Limits {
        budget: 1 << 20,
        max_object: 1 << 20,
        uncacheable_for: Duration::from_secs(5),
        entry_cost: 0,
    });
    let whole: String = (1..=20).map(|n| format!("<{n}>")).collect();
    let mut tasks = Vec::new();
    for i in 0..90 {
        let cache = cache.clone();
        tasks.push(tokio::spawn(async move {
            let k = i % 3;
            let key = format!("/k{k}");
            let resp = cache
                .serve((&key, Source::Origin), Want::default(), move || {
                    Box::pin(async move {
                        let body = Yielding {
                            left: 20,
                            sent: 0,
                            pause: false,
                            broken: k == 2,
                        };
                        let mut r = http::Response::new(body.boxed_unsync());
                        r.headers_mut().insert(
                            http::header::CACHE_CONTROL,
                            http::HeaderValue::from_static("max-age=60"),
                        );
                        Ok(r)
                    })
                })
                .await;
            let body = resp.into_body().collect().await.map(|b| b.to_bytes());
            (k, body)
        }));
    }
    for t in tasks {
        let (k, body) = tokio::time::timeout(Duration::from_secs(20), t)
            .await
            .expect("every request ends")
            .expect("task");
        match k {
            2 => assert!(body.is_err(), "a broken origin body is a broken answer"),
            _ => assert_eq!(body.expect("whole"), whole.as_bytes()),
        }
    }
    // Failures are counted by each fill's task once it has ended, which may be just
    // after its readers saw the break.
    let settled = async {
        loop {
            let c = cache.counts();
            if c.fetches - c.fetch_failures == 2 {
                return c;
            }
            tokio::task::yield_now().await;
        }
    };
    let c = tokio::time::timeout(Duration::from_secs(20), settled)
        .await
        .expect("k0 and k1 fetched once each, every k2 fill failed");
    assert_eq!(c.hits + c.misses, 90);
    assert!(c.fetches >= 3, "k2 is fetched again after each break");
}

#[tokio::test]
async fn objects_past_their_stale_window_are_swept_out_without_budget_pressure() {
    let index = Index::new(Limits {
        budget: 1 << 20,
        ..LIMITS
    });
    let t0 = Instant::now();
    for key in ["/old-part", "/kept"] {
        let mut fill = miss(&index, key);
        let object = fill.object().clone();
        fill.head(head());
        fill.push(Bytes::from_static(b"x")).expect("push");
        fill.complete();
        let life = if key == "/kept" { 60 } else { 1 };
        index.set_expiry(
            key,
            &object,
            (
                t0 + Duration::from_secs(life),
                t0 + Duration::from_secs(life + 1),
            ),
        );
        index.settled(key, &object, t0);
    }
    assert_eq!(index.usage().0, 2);
    // Any later fill that settles after the stale window (and a sweep interval) ends
    // sweeps the expired one out; the fresh one stays.
    let later = t0 + Duration::from_secs(3);
    let mut fill = miss(&index, "/new");
    let object = fill.object().clone();
    fill.head(head());
    fill.complete();
    index.settled("/new", &object, later);
    assert!(index.get("/old-part").is_none(), "expired object kept");
    assert!(index.get("/kept").is_some());
    assert_eq!(index.expired(), 1);
}
