//! The shared accept loop on a real socket: a trickled request head is cut at the
//! header timeout, the connection cap holds new connections back until one closes,
//! and a graceful stop lets a response in flight finish.

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::{Request, Response};
use listener::ConnLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

type Chunks =
    StreamBody<tokio_stream::wrappers::ReceiverStream<Result<Frame<bytes::Bytes>, Infallible>>>;

/// Serves, on a port-0 listener, a handler that answers `/slow` with a body whose
/// chunks come from the returned sender, and anything else with "ok".
async fn start(
    limits: ConnLimits,
) -> (
    std::net::SocketAddr,
    oneshot::Sender<()>,
    mpsc::Receiver<mpsc::Sender<Result<Frame<bytes::Bytes>, Infallible>>>,
) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (slow_tx, slow_rx) = mpsc::channel(4);
    let handle = move |req: Request<hyper::body::Incoming>| {
        let slow_tx = slow_tx.clone();
        async move {
            let (tx, rx) = mpsc::channel(4);
            if req.uri().path() == "/slow" {
                let _ = slow_tx.send(tx).await;
            } else {
                let _ = tx
                    .send(Ok(Frame::data(bytes::Bytes::from_static(b"ok"))))
                    .await;
            }
            let body: Chunks = StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(rx));
            Response::new(body.boxed())
        }
    };
    tokio::spawn(listener::serve(
        l,
        handle,
        async {
            let _ = stop_rx.await;
        },
        limits,
    ));
    (addr, stop_tx, slow_rx)
}

#[tokio::test]
async fn a_trickled_head_is_cut_and_a_stop_lets_a_response_finish() {
    let limits = ConnLimits {
        header_read_timeout: Duration::from_millis(300),
        ..ConnLimits::default()
    };
    let (addr, stop, mut slow) = start(limits).await;
    // A head that never completes: the server closes the connection.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut buf = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf))
        .await
        .expect("closed by the header timeout")
        .unwrap_or(0);
    assert!(
        n == 0 || String::from_utf8_lossy(&buf).contains("408"),
        "{}",
        String::from_utf8_lossy(&buf)
    );

    // A response in flight when the stop comes finishes.
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let tx = slow.recv().await.expect("the slow request arrived");
    tx.send(Ok(Frame::data(bytes::Bytes::from_static(b"first "))))
        .await
        .unwrap();
    let _ = stop.send(());
    tx.send(Ok(Frame::data(bytes::Bytes::from_static(b"last"))))
        .await
        .unwrap();
    drop(tx);
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut out))
        .await
        .expect("the response ends")
        .unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.ends_with("0\r\n\r\n") && text.contains("first ") && text.contains("last"),
        "{text}"
    );
    // No new connection is accepted after the stop.
    assert!(
        TcpStream::connect(addr).await.is_err() || {
            let mut d = TcpStream::connect(addr).await.unwrap();
            let _ = d.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
            let mut b = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(1), d.read_to_end(&mut b)).await;
            b.is_empty()
        }
    );
}

#[tokio::test]
async fn at_the_cap_a_new_connection_waits_for_one_to_close() {
    let limits = ConnLimits {
        max_connections: 1,
        ..ConnLimits::default()
    };
    let (addr, _stop, _slow) = start(limits).await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    first
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut b = [0u8; 256];
    let n = first.read(&mut b).await.unwrap();
    assert!(String::from_utf8_lossy(&b[..n]).starts_with("HTTP/1.1 200"));
    // The second connects (the kernel queues it) but is not served while the first is open.
    let mut second = TcpStream::connect(addr).await.unwrap();
    second
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(300), second.read(&mut b)).await;
    assert!(waited.is_err(), "served beyond the cap");
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), second.read(&mut b))
        .await
        .expect("served once the first closed")
        .unwrap();
    assert!(String::from_utf8_lossy(&b[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn a_request_head_over_the_limit_gets_431_and_a_normal_one_is_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (addr, _stop, _slow) = start(ConnLimits::default()).await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let big = "x".repeat(listener::MAX_HEAD_BYTES + 1024);
    let req = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    // The server may close before the whole head is written: the answer is what counts.
    let _ = s.write_all(req.as_bytes()).await;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");

    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"));
}
