//! Request collapsing for manifests: identical playlist/MPD requests that arrive while
//! one is being answered share that one answer (one component instance, one origin
//! fetch), the way CDNs collapse cache misses.
//!
//! [HLS B.1] "the CDN … should collapse multiple concurrent requests for the same
//! Playlist (with the same delivery directives) into a single request to the origin":
//! with blocking reloads every viewer of a rendition asks for the same
//! `?_HLS_msn=N&_HLS_part=P` at the same moment, so without collapsing each would hold
//! its own instance (and the pool would run out long before the viewers do).
//!
//! Only in-flight requests are shared; nothing is kept once the answer is out (the
//! component's `Cache-Control` is for caches in front of the node). Manifests are small,
//! so the shared answer is buffered whole; media is never collapsed here (it streams).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::sync::watch;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::request::{header_text, is_manifest_path, path_and_query};

/// Largest answer that is buffered and shared; a larger one ends the collapse with 502
/// for the followers (a manifest is never near this).
const MAX_SHARED: usize = 4 << 20;

/// What identifies identical requests: the component's answer depends on the path and
/// query and `Accept-Encoding` (gzip, `Vary`); never on `Host` (no manifest names it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    path_and_query: String,
    accept_encoding: String,
}

impl Key {
    /// The key of `req` if it is a collapsible manifest request (`GET` of a `.m3u8` or
    /// `.mpd`), else `None`.
    pub fn of<B>(req: &http::Request<B>) -> Option<Key> {
        if req.method() != http::Method::GET || !is_manifest_path(req.uri().path()) {
            return None;
        }
        Some(Key {
            path_and_query: path_and_query(req),
            accept_encoding: header_text(req, http::header::ACCEPT_ENCODING),
        })
    }
}

/// A whole answer, shareable.
#[derive(Debug, Clone)]
pub struct Shared {
    status: http::StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Shared {
    /// Buffers `resp` (at most [`MAX_SHARED`] bytes).
    pub async fn collect(resp: http::Response<HyperOutgoingBody>) -> Shared {
        let (parts, body) = resp.into_parts();
        let limited = http_body_util::Limited::new(body, MAX_SHARED);
        match limited.collect().await {
            Ok(b) => Shared {
                status: parts.status,
                headers: parts.headers,
                body: b.to_bytes(),
            },
            Err(e) => {
                tracing::warn!("collapsed manifest answer not shareable: {e}");
                let mut headers = http::HeaderMap::new();
                headers.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                Shared {
                    status: http::StatusCode::BAD_GATEWAY,
                    headers,
                    body: Bytes::from_static(b"the edge component's answer was cut short\n"),
                }
            }
        }
    }

    /// A response carrying this answer.
    pub fn response(&self) -> http::Response<HyperOutgoingBody> {
        let mut r = http::Response::new(
            Full::new(self.body.clone())
                .map_err(|never| match never {})
                .boxed_unsync(),
        );
        *r.status_mut() = self.status;
        *r.headers_mut() = self.headers.clone();
        // The body is whole now: its length is known.
        r.headers_mut().remove(http::header::TRANSFER_ENCODING);
        r
    }
}

type Slot = watch::Receiver<Option<Arc<Shared>>>;
type Inflight = Arc<Mutex<HashMap<Key, Slot>>>;

/// The requests being answered, by key.
#[derive(Debug, Default)]
pub struct Collapser {
    inflight: Inflight,
}

/// The caller's role for one key.
pub enum Role {
    /// Answer the request, then [`Leader::publish`] the answer.
    Leader(Leader),
    /// Wait for the leader's answer.
    Follower(Slot),
}

/// The request that does the work for everyone with its key. Dropping it without
/// publishing ends the collapse: the followers get `None`, later requests start anew.
pub struct Leader {
    key: Key,
    tx: watch::Sender<Option<Arc<Shared>>>,
    rx: Slot,
    inflight: Inflight,
}

impl Leader {
    /// A receiver of the answer (for the leader's own client).
    pub fn subscribe(&self) -> Slot {
        self.rx.clone()
    }

    /// Hands `answer` to everyone waiting and ends the collapse for its key.
    pub fn publish(self, answer: Arc<Shared>) {
        self.forget();
        let _ = self.tx.send(Some(answer));
    }

    fn forget(&self) {
        let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if map
            .get(&self.key)
            .is_some_and(|rx| rx.same_channel(&self.rx))
        {
            map.remove(&self.key);
        }
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        self.forget();
    }
}

impl Collapser {
    /// Joins the in-flight request with `key`, or becomes its leader.
    pub fn join(&self, key: Key) -> Role {
        let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rx) = map.get(&key) {
            return Role::Follower(rx.clone());
        }
        let (tx, rx) = watch::channel(None);
        map.insert(key.clone(), rx.clone());
        Role::Leader(Leader {
            key,
            tx,
            rx,
            inflight: self.inflight.clone(),
        })
    }

    /// Requests being answered now (distinct keys).
    pub fn in_flight(&self) -> usize {
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

/// Waits for the leader's answer; `None` if it gave up.
pub async fn follow(mut rx: Slot) -> Option<Arc<Shared>> {
    match rx.wait_for(Option::is_some).await {
        Ok(v) => v.clone(),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(q: &str) -> Key {
        Key::of(
            &http::Request::get(format!("/c/v/index.m3u8{q}"))
                .body(())
                .unwrap(),
        )
        .unwrap()
    }

    fn answer(text: &'static str) -> Arc<Shared> {
        Arc::new(Shared {
            status: http::StatusCode::OK,
            headers: http::HeaderMap::new(),
            body: Bytes::from_static(text.as_bytes()),
        })
    }

    #[test]
    fn only_manifest_gets_collapse() {
        let r =
            |m: http::Method, p: &str| http::Request::builder().method(m).uri(p).body(()).unwrap();
        assert!(Key::of(&r(http::Method::GET, "/c/master.m3u8")).is_some());
        assert!(Key::of(&r(http::Method::GET, "/c/manifest.mpd")).is_some());
        assert!(Key::of(&r(http::Method::HEAD, "/c/master.m3u8")).is_none());
        assert!(Key::of(&r(http::Method::GET, "/c/v/seg-1.m4s")).is_none());
        assert_ne!(key("?_HLS_msn=5"), key("?_HLS_msn=6"));
    }

    #[tokio::test]
    async fn followers_share_the_leaders_answer_then_the_key_is_free() {
        let c = Collapser::default();
        let Role::Leader(leader) = c.join(key("?_HLS_msn=5")) else {
            panic!("first is the leader")
        };
        let Role::Follower(f1) = c.join(key("?_HLS_msn=5")) else {
            panic!("second follows")
        };
        let Role::Leader(other) = c.join(key("?_HLS_msn=6")) else {
            panic!("another key leads on its own")
        };
        let mine = leader.subscribe();
        leader.publish(answer("playlist 5"));
        assert_eq!(follow(f1).await.unwrap().body, "playlist 5");
        assert_eq!(follow(mine).await.unwrap().body, "playlist 5");
        assert_eq!(c.in_flight(), 1, "only msn=6 is still in flight");
        drop(other);
        assert_eq!(c.in_flight(), 0);
        assert!(
            matches!(c.join(key("?_HLS_msn=5")), Role::Leader(_)),
            "a new request starts anew"
        );
    }

    #[tokio::test]
    async fn an_abandoned_leader_releases_its_followers() {
        let c = Collapser::default();
        let Role::Leader(leader) = c.join(key("")) else {
            panic!()
        };
        let Role::Follower(f) = c.join(key("")) else {
            panic!()
        };
        drop(leader);
        assert!(follow(f).await.is_none());
        assert_eq!(c.in_flight(), 0);
    }
}
