//! Outbound HTTP of hosted components: the allow-list check, the in-process short-cut
//! to a co-hosted origin, and a pooled plain-HTTP client for everything else.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::allow::AllowList;

/// Boxed error of a local response body.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Body of a response produced in-process.
pub type LocalBody = UnsyncBoxBody<Bytes, BoxError>;

/// A future of a local response.
pub type LocalFuture = Pin<Box<dyn Future<Output = http::Response<LocalBody>> + Send>>;

/// An in-process HTTP service (the co-hosted origin). Request bodies are not passed on:
/// the short-cut only serves `GET`/`HEAD` reads.
pub type LocalService = Arc<dyn Fn(http::Request<()>) -> LocalFuture + Send + Sync>;

/// Wraps an async function returning any body into a [`LocalService`].
pub fn local_service<F, Fut, B>(f: F) -> LocalService
where
    F: Fn(http::Request<()>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = http::Response<B>> + Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    Arc::new(move |req| {
        let fut = f(req);
        Box::pin(async move { fut.await.map(|b| b.map_err(Into::into).boxed_unsync()) })
    })
}

/// Where outbound requests of one component may go, and how they get there.
#[derive(Clone)]
pub struct Outbound {
    allowed: Arc<AllowList>,
    /// `host:port` served in-process, and by what.
    local: Option<(String, LocalService)>,
    client: Client<HttpConnector, WasiBody>,
    /// The node's cache, in front of the timeline fetches of manifest renders.
    cache: Option<Arc<crate::cache::Cache>>,
}

impl Outbound {
    /// Outbound access limited to `allowed`; requests to `local`'s authority (when
    /// allowed) are answered in-process.
    pub fn new(allowed: AllowList, local: Option<(String, LocalService)>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(crate::retry::CONNECT_TIMEOUT));
        Outbound {
            allowed: Arc::new(allowed),
            local,
            client: Client::builder(TokioExecutor::new()).build(connector),
            cache: None,
        }
    }

    /// The same rules, with [`Outbound::get`] answered through `cache`.
    pub(crate) fn with_cache(mut self, cache: Option<Arc<crate::cache::Cache>>) -> Self {
        self.cache = cache;
        self
    }
}

type SendResult = Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), Error>> + Send>,
    ),
    Error,
>;

fn done() -> Box<dyn Future<Output = Result<(), Error>> + Send> {
    Box::new(async { Ok(()) })
}

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let this = self.clone();
        Box::new(async move { this.send(request).await })
    }
}

impl Outbound {
    /// `GET url` with `Accept: accept`, under the same rules as the component's own
    /// requests; the whole answer (status, headers, body), or why it failed.
    ///
    /// Through the node's cache when it has one: renders of different manifests that
    /// need the same timeline (the master, the MPD and the HESP manifest all ask for
    /// the start-up-held one) share one origin request for as long as the origin's
    /// lifetime allows.
    pub(crate) async fn get(
        &self,
        url: &str,
        accept: &str,
    ) -> Result<(u16, Vec<(String, Vec<u8>)>, Bytes), String> {
        // A refused host is refused before the cache, with its reason.
        if let Some(cache) = self.cache.as_ref().filter(|_| self.permits(url)) {
            let (this, url_owned, accept_owned) =
                (self.without_cache(), url.to_string(), accept.to_string());
            let resp = cache
                .serve(
                    (
                        &format!("{url} accept={accept}"),
                        crate::cache::Source::Timeline,
                    ),
                    crate::cache::Want::default(),
                    move || {
                        let (this, u, a) = (this.clone(), url_owned.clone(), accept_owned.clone());
                        Box::pin(async move { this.fetch_with(u, &a).await })
                    },
                )
                .await;
            return whole(resp).await;
        }
        self.get_direct(url, accept).await
    }

    /// True when `url`'s scheme and authority are allowed.
    fn permits(&self, url: &str) -> bool {
        let Ok(uri) = url.parse::<http::Uri>() else {
            return false;
        };
        uri.authority().is_some_and(|a| {
            self.allowed
                .permits(uri.scheme_str().unwrap_or("http"), a.host(), a.port_u16())
        })
    }

    fn without_cache(&self) -> Outbound {
        let mut o = self.clone();
        o.cache = None;
        o
    }

    async fn get_direct(
        &self,
        url: &str,
        accept: &str,
    ) -> Result<(u16, Vec<(String, Vec<u8>)>, Bytes), String> {
        let req = http::Request::get(url)
            .header(http::header::ACCEPT, accept)
            .body(
                http_body_util::Empty::<Bytes>::new()
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .map_err(|e| format!("origin request: {e}"))?;
        let (resp, _io) = self
            .clone()
            .send(req)
            .await
            .map_err(|e| format!("origin unreachable: ErrorCode::{e:?}"))?;
        whole(resp).await
    }

    /// `GET url` for the cache's fill, under the same rules as the component's own
    /// requests: the origin's response with its body still streaming, or
    /// [`Failure::NoResponse`] when there is none (refused, unreachable, no head).
    pub(crate) async fn fetch(self, url: String) -> crate::cache::Fetched {
        self.fetch_with(url, "").await
    }

    /// [`Outbound::fetch`] with an `Accept` field (none when empty).
    async fn fetch_with(self, url: String, accept: &str) -> crate::cache::Fetched {
        use crate::cache::Failure;
        let mut req = http::Request::get(&url);
        if !accept.is_empty() {
            req = req.header(http::header::ACCEPT, accept);
        }
        let req = req
            .body(
                http_body_util::Empty::<Bytes>::new()
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .map_err(|_| Failure::NoResponse)?;
        match self.send(req).await {
            Ok((resp, _io)) => Ok(resp),
            Err(e) => {
                tracing::warn!("edge cache: {url}: origin unreachable ({e:?})");
                Err(Failure::NoResponse)
            }
        }
    }

    async fn send(self, request: http::Request<WasiBody>) -> SendResult {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("http").to_string();
        let Some(authority) = uri.authority().cloned() else {
            return Err(Error::HttpRequestUriInvalid);
        };
        // Spin: "allowed_outbound_hosts … any request to a host not in the list is
        // refused" (deny by default).
        if !self
            .allowed
            .permits(&scheme, authority.host(), authority.port_u16())
        {
            tracing::warn!(
                "outbound request to {scheme}://{authority} denied (allowed_outbound_hosts)"
            );
            return Err(Error::HttpRequestDenied);
        }
        if let Some((local_authority, service)) = &self.local
            && scheme == "http"
            && authority.as_str() == local_authority
            && matches!(*request.method(), http::Method::GET | http::Method::HEAD)
        {
            let (parts, _) = request.into_parts();
            let resp = service(http::Request::from_parts(parts, ())).await;
            let resp = resp.map(|b| {
                b.map_err(|e| Error::InternalError(Some(e.to_string())))
                    .boxed_unsync()
            });
            return Ok((resp, done()));
        }
        if scheme != "http" {
            tracing::warn!("outbound {scheme}:// is not supported by the edge node");
            return Err(Error::TlsProtocolError);
        }
        let resp = self.request_with_retries(request).await?;
        Ok((resp.map(|b| b.map_err(Error::from).boxed_unsync()), done()))
    }
}

impl Outbound {
    /// Sends `request` over the pooled client under the outbound policy
    /// ([`crate::retry`]): a connect that fails or times out is tried again after a
    /// pause, for `GET`/`HEAD` only; the head must arrive within the head timeout.
    async fn request_with_retries(
        &self,
        request: http::Request<WasiBody>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, Error> {
        let idempotent = matches!(*request.method(), http::Method::GET | http::Method::HEAD);
        let (parts, body) = request.into_parts();
        let mut body = Some(body);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Some(pause) = crate::retry::pause_before(attempt) else {
                return Err(Error::ConnectionRefused);
            };
            // The first attempt goes at once (even a zero sleep would wait for the
            // timer's next tick).
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            // A retried GET/HEAD has nothing to send: an empty body stands for the one
            // the first attempt consumed.
            let body = body.take().unwrap_or_else(|| {
                http_body_util::Empty::<Bytes>::new()
                    .map_err(|never| match never {})
                    .boxed_unsync()
            });
            let req = http::Request::from_parts(parts.clone(), body);
            let sent = tokio::time::timeout(crate::retry::HEAD_TIMEOUT, self.client.request(req));
            match sent.await {
                Ok(Ok(resp)) => return Ok(resp),
                Ok(Err(e)) if e.is_connect() && idempotent => {
                    tracing::debug!(
                        "outbound {}: connect failed (attempt {attempt}): {e}",
                        parts.uri
                    );
                }
                Ok(Err(e)) if e.is_connect() => return Err(Error::ConnectionRefused),
                Ok(Err(_)) => return Err(Error::HttpProtocolError),
                Err(_) => return Err(Error::ConnectionReadTimeout),
            }
        }
    }
}

/// The whole of an answer (the origin's, or the cache's), as [`Outbound::get`]
/// returns it.
async fn whole(
    resp: http::Response<crate::HyperOutgoingBody>,
) -> Result<(u16, Vec<(String, Vec<u8>)>, Bytes), String> {
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("origin body: {e:?}"))?
        .to_bytes();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.as_bytes().to_vec()))
        .collect();
    Ok((parts.status.as_u16(), headers, body))
}
