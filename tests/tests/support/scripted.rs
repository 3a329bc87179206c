//! A scripted origin for the edge cache's tests, in the manner of varnishtest's
//! `server s1 { rxreq; txresp ...; barrier ...}`: each response is driven step by step
//! by the test (head, each chunk, a clean end or an abort), and every request is
//! recorded, so a test pins the exact interleaving and counts what reached the origin.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::BodyExt;
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};

/// One step of a scripted response.
#[derive(Debug)]
pub enum Step {
    /// The head: status and header fields (no Content-Length: chunked; with one: that
    /// length is promised).
    Head(u16, Vec<(&'static str, String)>),
    /// Body bytes, sent as one chunk.
    Chunk(Bytes),
    /// A clean end of the body.
    End,
    /// Breaks the connection: before the head, no response at all; after it, the body
    /// ends without its terminal chunk (or short of its Content-Length).
    Abort,
}

type Queue = Arc<Mutex<HashMap<String, VecDeque<mpsc::UnboundedReceiver<Step>>>>>;

/// The origin: its address, the scripts waiting for requests, and the requests seen.
pub struct ScriptedOrigin {
    /// Where it listens.
    pub addr: SocketAddr,
    scripts: Queue,
    seen: Arc<Mutex<Vec<String>>>,
    arrived: Arc<Notify>,
}

/// The test's end of one scripted response.
pub struct Script(mpsc::UnboundedSender<Step>);

impl Script {
    /// Sends the next step.
    pub fn send(&self, step: Step) {
        let _ = self.0.send(step);
    }

    /// A 200 head with these extra fields.
    pub fn ok(&self, fields: &[(&'static str, &str)]) {
        let fields = fields.iter().map(|(k, v)| (*k, v.to_string())).collect();
        self.send(Step::Head(200, fields));
    }

    /// One body chunk.
    pub fn chunk(&self, data: &'static [u8]) {
        self.send(Step::Chunk(Bytes::from_static(data)));
    }
}

impl ScriptedOrigin {
    /// Starts on a port-0 listener.
    pub async fn start() -> ScriptedOrigin {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind origin");
        let addr = listener.local_addr().expect("origin address");
        let scripts: Queue = Arc::default();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let arrived = Arc::new(Notify::new());
        let (s, r, a) = (scripts.clone(), seen.clone(), arrived.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (s, r, a) = (s.clone(), r.clone(), a.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (s, r, a) = (s.clone(), r.clone(), a.clone());
                        async move { respond(req, s, r, a).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        ScriptedOrigin {
            addr,
            scripts,
            seen,
            arrived,
        }
    }

    /// The script of the next request for `path` (path and query as the edge asks).
    pub fn script(&self, path: &str) -> Script {
        let (tx, rx) = mpsc::unbounded_channel();
        self.scripts
            .lock()
            .expect("scripts")
            .entry(path.to_string())
            .or_default()
            .push_back(rx);
        Script(tx)
    }

    /// Requests for `path` seen so far.
    pub fn requests(&self, path: &str) -> usize {
        self.seen
            .lock()
            .expect("seen")
            .iter()
            .filter(|p| *p == path)
            .count()
    }

    /// Waits until `n` requests for `path` have arrived.
    pub async fn wait_requests(&self, path: &str, n: usize) {
        loop {
            let notified = self.arrived.notified();
            if self.requests(path) >= n {
                return;
            }
            notified.await;
        }
    }
}

type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

async fn respond(
    req: hyper::Request<hyper::body::Incoming>,
    scripts: Queue,
    seen: Arc<Mutex<Vec<String>>>,
    arrived: Arc<Notify>,
) -> Result<hyper::Response<Body>, std::io::Error> {
    let path = req
        .uri()
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string());
    seen.lock().expect("seen").push(path.clone());
    arrived.notify_waiters();
    let script = scripts
        .lock()
        .expect("scripts")
        .get_mut(&path)
        .and_then(VecDeque::pop_front);
    let Some(mut rx) = script else {
        let mut r = hyper::Response::new(full("not scripted\n"));
        *r.status_mut() = http::StatusCode::NOT_FOUND;
        r.headers_mut()
            .insert("cache-control", http::HeaderValue::from_static("no-store"));
        return Ok(r);
    };
    let Some(Step::Head(status, fields)) = rx.recv().await else {
        // No head: the connection breaks (hyper closes it on a service error).
        return Err(std::io::Error::other("scripted: no response"));
    };
    let body = futures_stream(rx);
    let mut r = hyper::Response::new(body);
    *r.status_mut() = http::StatusCode::from_u16(status).expect("status");
    for (k, v) in fields {
        r.headers_mut()
            .append(k, http::HeaderValue::from_str(&v).expect("value"));
    }
    Ok(r)
}

fn full(text: &'static str) -> Body {
    http_body_util::Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// The body of the remaining steps.
fn futures_stream(rx: mpsc::UnboundedReceiver<Step>) -> Body {
    Steps { rx, done: false }.boxed()
}

/// A body read from the step channel: each chunk as it is sent, a clean end at
/// [`Step::End`], an error at [`Step::Abort`] (or a dropped script).
struct Steps {
    rx: mpsc::UnboundedReceiver<Step>,
    done: bool,
}

impl hyper::body::Body for Steps {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Step::Chunk(b))) => Poll::Ready(Some(Ok(Frame::data(b)))),
            Poll::Ready(Some(Step::End | Step::Head(..))) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Step::Abort) | None) => {
                self.done = true;
                Poll::Ready(Some(Err(std::io::Error::other("scripted abort"))))
            }
        }
    }
}
