//! A minimal HTTP/1.1 GET client (one request per connection), enough for tests.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response: status, lower-cased headers, body.
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body bytes (chunked encoding already removed).
    pub body: Vec<u8>,
    /// The body ended as its framing says a whole body ends: the terminal chunk, or
    /// all of its Content-Length (a close-delimited body counts as whole). False for a
    /// body cut short, which a cache must never pass off as whole.
    pub complete: bool,
}

impl Resp {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// GETs `path` from `addr`.
pub async fn get(addr: SocketAddr, path: &str) -> Resp {
    get_with(addr, path, &[]).await
}

/// GETs `path` from `addr` with extra headers (a `Host` among them replaces the default).
pub async fn get_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let host = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map_or(addr.to_string(), |h| h.1.to_string());
    let extra: String = headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("host"))
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    // A reset after some bytes is an answer too (a cut one): keep what came.
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    parse(&raw)
}

/// GETs `path` from `addr`, recording when each read returned and how many bytes of
/// the response (framing included) had arrived by then.
pub async fn get_timed(addr: SocketAddr, path: &str) -> (Resp, Vec<(std::time::Instant, usize)>) {
    get_timed_with(addr, path, &[]).await
}

/// [`get_timed`] with extra request headers.
pub async fn get_timed_with(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (Resp, Vec<(std::time::Instant, usize)>) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    let mut reads = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = s.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        reads.push((std::time::Instant::now(), raw.len()));
    }
    (parse(&raw), reads)
}

/// POSTs `body` (with a Content-Length) to `path` on `addr`.
pub async fn post(addr: SocketAddr, path: &str, body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("write head");
    s.write_all(body).await.expect("write body");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    parse(&raw)
}

/// A raw HTTP/1.1 response (as read off the wire, possibly cut short) parsed; a
/// connection closed before a whole head is status 0, empty and not complete.
pub fn parse_raw(raw: &[u8]) -> Resp {
    if !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        return Resp {
            status: 0,
            headers: Vec::new(),
            body: Vec::new(),
            complete: false,
        };
    }
    parse(raw)
}

fn parse(raw: &[u8]) -> Resp {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let mut complete = true;
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        (body, complete) = dechunk(&body);
    } else if let Some(len) = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        complete = body.len() >= len;
    }
    Resp {
        status,
        headers,
        body,
        complete,
    }
}

/// The chunked body's data, and whether its terminal chunk arrived.
fn dechunk(mut b: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&b[..i])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            return (out, true);
        }
        let Some(data) = b.get(i + 2..i + 2 + size) else {
            out.extend_from_slice(&b[i + 2..]);
            return (out, false);
        };
        out.extend_from_slice(data);
        b = b.get(i + 2 + size + 2..).unwrap_or(&[]);
    }
    (out, false)
}
