//! The edge node's chunked-proxy cache against a scripted origin, driven step by step
//! (edge-cache.md §5, the must-pass scenarios), with raw HTTP/1.1 clients that tell a
//! clean end from a broken one. The node is the real `weir edge` (the repository's
//! spin.toml and component); media never reaches the component.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::TestEdge;
use support::scripted::{ScriptedOrigin, Step};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Upper bound on any wait; scenarios are driven by readiness, not by time.
const LIMIT: Duration = Duration::from_secs(20);

const SEG: &str = "/c/v/seg-1.m4s";
const CHUNKED_MEDIA: [(&str, &str); 2] = [
    ("content-type", "video/iso.segment"),
    ("cache-control", "public, max-age=60"),
];

/// A player reading one response as it arrives.
struct Viewer {
    raw: watch::Receiver<Vec<u8>>,
    done: tokio::task::JoinHandle<support::http::Resp>,
}

impl Viewer {
    /// Sends `method path` with `headers` to the edge and reads on its own task.
    fn start(edge: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Viewer {
        let extra: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        let req =
            format!("{method} {path} HTTP/1.1\r\nHost: {edge}\r\n{extra}Connection: close\r\n\r\n");
        let (tx, raw) = watch::channel(Vec::new());
        let done = tokio::spawn(async move {
            let mut s = TcpStream::connect(edge).await.expect("connect");
            s.write_all(req.as_bytes()).await.expect("write");
            let mut buf = vec![0u8; 64 * 1024];
            // A reset after some bytes is a cut answer: keep what came.
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                tx.send_modify(|r| r.extend_from_slice(&buf[..n]));
            }
            support::http::parse_raw(&tx.borrow())
        });
        Viewer { raw, done }
    }

    fn get(edge: SocketAddr, path: &str) -> Viewer {
        Viewer::start(edge, "GET", path, &[])
    }

    /// Waits until the raw response so far contains `needle`.
    async fn saw(&mut self, needle: &[u8]) {
        let found = self
            .raw
            .wait_for(|r| r.windows(needle.len()).any(|w| w == needle));
        tokio::time::timeout(LIMIT, found)
            .await
            .unwrap_or_else(|_| panic!("{:?} within {LIMIT:?}", String::from_utf8_lossy(needle)))
            .expect("viewer alive");
    }

    /// Whether the raw response so far contains `needle` (without waiting).
    fn has(&self, needle: &[u8]) -> bool {
        self.raw.borrow().windows(needle.len()).any(|w| w == needle)
    }

    async fn end(self) -> support::http::Resp {
        tokio::time::timeout(LIMIT, self.done)
            .await
            .expect("the response ends")
            .expect("viewer task")
    }
}

async fn setup() -> (ScriptedOrigin, TestEdge) {
    let origin = ScriptedOrigin::start().await;
    let edge = TestEdge::start(origin.addr).await;
    (origin, edge)
}

fn cache(edge: &TestEdge) -> std::sync::Arc<edge_host::cache::Cache> {
    edge.node.cache().expect("the node caches").clone()
}

/// Waits until `n` player requests have been looked up in the cache.
async fn attached(edge: &TestEdge, n: u64) {
    let c = cache(edge);
    let all = async {
        loop {
            let k = c.counts();
            if k.hits + k.misses + k.bypassed >= n {
                return;
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(LIMIT, all)
        .await
        .expect("viewers attached");
}

/// §5 #1–#3: 100 viewers of an uncached object still arriving make one origin request;
/// each chunk reaches every viewer before the next is sent; a late joiner gets the
/// bytes so far at once from byte 0; all bodies are whole and identical; afterwards the
/// object is a hit with `Age`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_origin_request_serves_every_viewer_while_the_object_arrives() {
    let (origin, edge) = setup().await;
    let script = origin.script(SEG);
    let mut viewers: Vec<Viewer> = (0..100).map(|_| Viewer::get(edge.addr, SEG)).collect();
    origin.wait_requests(SEG, 1).await;
    attached(&edge, 100).await;
    script.ok(&CHUNKED_MEDIA);
    script.chunk(b"<chunk one>");
    for v in &mut viewers {
        v.saw(b"<chunk one>").await;
    }
    // A late joiner: the bytes so far at once, before any more arrive.
    let mut late = Viewer::get(edge.addr, SEG);
    late.saw(b"<chunk one>").await;
    script.chunk(b"<chunk two>");
    for v in viewers.iter_mut().chain(std::iter::once(&mut late)) {
        v.saw(b"<chunk two>").await;
    }
    assert!(!late.has(b"<chunk three>"));
    script.chunk(b"<chunk three>");
    script.send(Step::End);
    viewers.push(late);
    for v in viewers {
        let r = v.end().await;
        assert_eq!(r.status, 200);
        assert!(r.complete, "a whole body ends with its terminal chunk");
        assert_eq!(r.body, b"<chunk one><chunk two><chunk three>");
    }
    assert_eq!(
        origin.requests(SEG),
        1,
        "one origin request for 101 viewers"
    );
    let c = cache(&edge).counts();
    assert_eq!((c.misses, c.fetches), (1, 1));
    assert_eq!(
        c.collapsed, 100,
        "every other viewer joined the fill in flight"
    );
    // Complete and fresh: a hit, whole, with its length and Age.
    let again = Viewer::get(edge.addr, SEG).end().await;
    assert_eq!(again.body, b"<chunk one><chunk two><chunk three>");
    assert_eq!(again.header("content-length"), Some("35"));
    assert!(
        again.header("age").is_some(),
        "[HLS B.1] caches MUST set Age"
    );
    assert_eq!(origin.requests(SEG), 1);
}

/// §5 #4, #28: the origin breaks mid-body: every attached viewer gets the bytes that
/// came, then a break (no terminal chunk), never a clean short end; nothing is cached,
/// and the next request is a new origin request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_break_mid_body_reaches_every_viewer_as_a_break_and_is_not_kept() {
    let (origin, edge) = setup().await;
    let script = origin.script(SEG);
    let mut viewers: Vec<Viewer> = (0..3).map(|_| Viewer::get(edge.addr, SEG)).collect();
    origin.wait_requests(SEG, 1).await;
    attached(&edge, 3).await;
    script.ok(&CHUNKED_MEDIA);
    script.chunk(b"<half>");
    for v in &mut viewers {
        v.saw(b"<half>").await;
    }
    script.send(Step::Abort);
    for v in viewers {
        let r = v.end().await;
        assert_eq!(r.body, b"<half>");
        assert!(!r.complete, "a cut body must not end cleanly");
    }
    let again = origin.script(SEG);
    again.ok(&CHUNKED_MEDIA);
    again.chunk(b"<whole>");
    again.send(Step::End);
    let r = Viewer::get(edge.addr, SEG).end().await;
    assert_eq!((r.body.as_slice(), r.complete), (&b"<whole>"[..], true));
    assert_eq!(origin.requests(SEG), 2, "the broken object was not kept");
    // Counted by the fill's task once it has ended (after the viewers saw the break).
    let c = cache(&edge);
    let counted = async {
        while c.counts().fetch_failures < 1 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(LIMIT, counted)
        .await
        .expect("the failure counted");
    assert_eq!(c.counts().fetch_failures, 1);
}

/// §5 #5: a break short of the origin's Content-Length: the viewer sees that length and
/// fewer bytes, never a valid shorter response.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_break_short_of_the_content_length_keeps_the_length() {
    let (origin, edge) = setup().await;
    let script = origin.script(SEG);
    let mut v = Viewer::get(edge.addr, SEG);
    origin.wait_requests(SEG, 1).await;
    script.ok(&[
        ("content-length", "10"),
        ("cache-control", "public, max-age=60"),
    ]);
    script.chunk(b"12345");
    v.saw(b"12345").await;
    script.send(Step::Abort);
    let r = v.end().await;
    assert_eq!(r.header("content-length"), Some("10"));
    assert_eq!(r.body, b"12345");
    assert!(!r.complete);
}

/// §5 #7: the origin breaks before any head: one new origin request for all the
/// viewers that waited, and they all get its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_before_the_head_is_fetched_once_more_for_all_waiters() {
    let (origin, edge) = setup().await;
    let first = origin.script(SEG);
    let second = origin.script(SEG);
    let viewers: Vec<Viewer> = (0..20).map(|_| Viewer::get(edge.addr, SEG)).collect();
    origin.wait_requests(SEG, 1).await;
    attached(&edge, 20).await;
    first.send(Step::Abort);
    origin.wait_requests(SEG, 2).await;
    second.ok(&CHUNKED_MEDIA);
    second.chunk(b"<retried>");
    second.send(Step::End);
    for v in viewers {
        let r = v.end().await;
        assert_eq!((r.status, r.body.as_slice()), (200, &b"<retried>"[..]));
    }
    assert_eq!(origin.requests(SEG), 2);
    let c = cache(&edge).counts();
    assert_eq!(
        c.hits + c.misses,
        20,
        "a retry is the same player request, counted once"
    );
}

/// §5 #11: the viewer whose request started the fill goes away: the fill goes on, the
/// others are served whole, and the object is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_viewer_leaving_does_not_stop_the_fill() {
    let (origin, edge) = setup().await;
    let script = origin.script(SEG);
    let mut first = Viewer::get(edge.addr, SEG);
    origin.wait_requests(SEG, 1).await;
    let mut second = Viewer::get(edge.addr, SEG);
    attached(&edge, 2).await;
    script.ok(&CHUNKED_MEDIA);
    script.chunk(b"<a>");
    first.saw(b"<a>").await;
    second.saw(b"<a>").await;
    first.done.abort();
    script.chunk(b"<b>");
    script.send(Step::End);
    assert_eq!(second.end().await.body, b"<a><b>");
    let r = Viewer::get(edge.addr, SEG).end().await;
    assert_eq!((r.body.as_slice(), r.complete), (&b"<a><b>"[..], true));
    assert_eq!(origin.requests(SEG), 1);
}

/// §5 #14, #15: ranges of an object still arriving and of a complete one: within the
/// bytes so far (206 at once), beyond them (206 once they arrive), open (RFC 8673's
/// "very large" last position, streamed to the end), past a known end (416).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_are_served_from_the_object_while_it_arrives() {
    let (origin, edge) = setup().await;
    let script = origin.script(SEG);
    let mut whole = Viewer::get(edge.addr, SEG);
    origin.wait_requests(SEG, 1).await;
    script.ok(&CHUNKED_MEDIA);
    script.chunk(b"0123456789");
    whole.saw(b"0123456789").await;
    let range = |r: &'static str| Viewer::start(edge.addr, "GET", SEG, &[("range", r)]);
    let within = range("bytes=2-5").end().await;
    assert_eq!(within.status, 206);
    assert_eq!(within.header("content-range"), Some("bytes 2-5/*"));
    assert_eq!(within.body, b"2345");
    let mut beyond = range("bytes=12-13");
    let mut open = range("bytes=8-9007199254740991");
    let past_end = range("bytes=14-30");
    open.saw(b"89").await;
    // whole, within, beyond, open and past_end looked up: beyond is waiting.
    attached(&edge, 5).await;
    assert!(
        !beyond.has(b"HTTP/1.1"),
        "a range beyond the bytes so far waits"
    );
    script.chunk(b"abcdef");
    beyond.saw(b"cd").await;
    script.send(Step::End);
    // Asked while the length was unknown, answered once it is: cut to the object.
    let past_end = past_end.end().await;
    assert_eq!(past_end.status, 206);
    assert_eq!(past_end.header("content-range"), Some("bytes 14-15/16"));
    assert_eq!(
        (past_end.body.as_slice(), past_end.complete),
        (&b"ef"[..], true)
    );
    let beyond = beyond.end().await;
    assert_eq!((beyond.status, beyond.body.as_slice()), (206, &b"cd"[..]));
    let open = open.end().await;
    assert_eq!(open.status, 206);
    assert_eq!(
        open.header("content-range"),
        Some("bytes 8-9007199254740991/*")
    );
    assert_eq!(
        (open.body.as_slice(), open.complete),
        (&b"89abcdef"[..], true)
    );
    whole.end().await;
    // Complete: the length is known.
    let done = range("bytes=4-").end().await;
    assert_eq!(done.header("content-range"), Some("bytes 4-15/16"));
    assert_eq!(done.body, b"456789abcdef");
    let past = range("bytes=16-").end().await;
    assert_eq!(past.status, 416);
    assert_eq!(past.header("content-range"), Some("bytes */16"));
    assert_eq!(origin.requests(SEG), 1, "every range from the one fill");
}

/// §5 #16, #20: a HEAD on a miss fills the object with one GET and answers the head
/// alone; a GET then is a hit; a viewer's own query on a media URL is neither keyed
/// nor passed on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_fills_the_object_and_viewer_queries_share_it() {
    let (origin, edge) = setup().await;
    let script = origin.script(SEG);
    let head = Viewer::start(edge.addr, "HEAD", &format!("{SEG}?token=1"), &[]);
    origin.wait_requests(SEG, 1).await;
    script.ok(&CHUNKED_MEDIA);
    script.chunk(b"<media>");
    script.send(Step::End);
    let r = head.end().await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    let r = Viewer::get(edge.addr, &format!("{SEG}?token=2"))
        .end()
        .await;
    assert_eq!(r.body, b"<media>");
    assert_eq!(origin.requests(SEG), 1);
}

/// §5 #24, #8: an answer the origin forbids keeping (`no-store`, as weir's origin sends
/// with a 404 for a part that does not exist yet) is shared by the viewers that waited
/// for it, then forgotten: the next request goes to the origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_not_to_be_kept_serves_its_waiters_and_is_forgotten() {
    let (origin, edge) = setup().await;
    let script = origin.script(SEG);
    let viewers: Vec<Viewer> = (0..5).map(|_| Viewer::get(edge.addr, SEG)).collect();
    origin.wait_requests(SEG, 1).await;
    attached(&edge, 5).await;
    script.send(Step::Head(404, vec![("cache-control", "no-store".into())]));
    script.chunk(b"no such part\n");
    script.send(Step::End);
    for v in viewers {
        assert_eq!(v.end().await.status, 404);
    }
    let again = origin.script(SEG);
    again.ok(&CHUNKED_MEDIA);
    again.chunk(b"<now>");
    again.send(Step::End);
    assert_eq!(Viewer::get(edge.addr, SEG).end().await.body, b"<now>");
    assert_eq!(origin.requests(SEG), 2);
}

/// §5 #17: an object growing past the per-object cap fails its fill (its viewers get a
/// break), and its key streams through uncached for a while.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_over_the_cap_breaks_then_streams_through_uncached() {
    let origin = ScriptedOrigin::start().await;
    let limits = edge_host::cache::Limits {
        budget: 1 << 20,
        max_object: 8,
        uncacheable_for: Duration::from_secs(60),
        entry_cost: 0,
    };
    let edge = TestEdge::start_options(origin.addr, true, Some(limits)).await;
    let script = origin.script(SEG);
    let v = Viewer::get(edge.addr, SEG);
    origin.wait_requests(SEG, 1).await;
    script.ok(&CHUNKED_MEDIA);
    script.chunk(b"12345");
    script.chunk(b"6789");
    let r = v.end().await;
    // A break: the bytes before the cap, or (when the failure comes before hyper has
    // flushed the head) nothing at all; never a whole short object.
    assert!(!r.complete, "the cap is a break, not a short object");
    for n in 2..=3 {
        let s = origin.script(SEG);
        s.ok(&CHUNKED_MEDIA);
        s.chunk(b"123456789abc");
        s.send(Step::End);
        let r = Viewer::get(edge.addr, SEG).end().await;
        assert_eq!(
            (r.body.as_slice(), r.complete),
            (&b"123456789abc"[..], true)
        );
        assert_eq!(
            origin.requests(SEG),
            n,
            "uncacheable: each request streams through"
        );
    }
    assert_eq!(cache(&edge).counts().bypassed, 2);
}

/// §5 #12: a viewer that goes away while parked on an object without a head leaves
/// nothing attached; the fill goes on for the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_viewer_going_away_leaves_nothing_attached() {
    let (origin, edge) = setup().await;
    let script = origin.script(SEG);
    let parked = Viewer::get(edge.addr, SEG);
    origin.wait_requests(SEG, 1).await;
    attached(&edge, 1).await;
    let c = cache(&edge);
    let parked_on = async {
        while c.attached(SEG) == 0 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(LIMIT, parked_on)
        .await
        .expect("the viewer waits on the object");
    parked.done.abort();
    let gone = async {
        while c.attached(SEG) > 0 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(LIMIT, gone)
        .await
        .expect("the parked request's task ended with its connection");
    let v = Viewer::get(edge.addr, SEG);
    script.ok(&CHUNKED_MEDIA);
    script.chunk(b"<after>");
    script.send(Step::End);
    assert_eq!(v.end().await.body, b"<after>");
    assert_eq!(origin.requests(SEG), 1);
}

/// §5 #13: one viewer that stops reading does not hold back the fill or the others:
/// 16 MiB (more than loopback's socket buffers take) stream past it to a reading viewer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_viewer_does_not_hold_back_the_others() {
    let (origin, edge) = setup().await;
    let script = origin.script(SEG);
    // Sends the request and never reads the answer.
    let mut stalled = TcpStream::connect(edge.addr).await.expect("connect");
    let req = format!("GET {SEG} HTTP/1.1\r\nHost: {}\r\n\r\n", edge.addr);
    stalled.write_all(req.as_bytes()).await.expect("write");
    origin.wait_requests(SEG, 1).await;
    let reading = Viewer::get(edge.addr, SEG);
    attached(&edge, 2).await;
    script.ok(&CHUNKED_MEDIA);
    const CHUNK: &[u8] = &[7u8; 64 << 10];
    for _ in 0..256 {
        script.chunk(CHUNK);
    }
    script.send(Step::End);
    let r = reading.end().await;
    assert!(r.complete);
    assert_eq!(r.body.len(), 256 * CHUNK.len());
    assert_eq!(origin.requests(SEG), 1);
    drop(stalled);
}
