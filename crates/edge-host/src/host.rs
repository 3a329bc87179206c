//! One hosted component: compiled once, linked once against WASI 0.2 and wasi:http
//! (pre-instantiated), then instantiated per request from the pooling allocator.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::EdgeError;
use crate::outbound::{BoxError, Outbound};
use crate::render::{RenderHost, RendererPre};
use crate::spin::HostedComponent;

/// Per-request state of an instance: its WASI context, resources and outbound hooks.
pub struct State {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound: Outbound,
}

impl State {
    /// Fresh per-instance state: `env` as the environment, stderr inherited.
    pub(crate) fn new(env: &[(String, String)], outbound: Outbound) -> State {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stderr().envs(env);
        State {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            outbound,
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

/// A compiled, linked component ready to serve requests.
#[derive(Clone)]
pub struct Hosted {
    pre: ProxyPre<State>,
    env: Arc<Vec<(String, String)>>,
    outbound: Outbound,
    /// One permit per instance the pooling allocator has room for.
    slots: Arc<Semaphore>,
    renderer: Option<RenderHost>,
    /// The origin's base URL (the component's `WEIR_ORIGIN`), where the node's cache
    /// fetches media.
    origin: String,
    /// Serve manifests through the component's `manifest-handler` export when it has
    /// one (else, and for everything else, through wasi:http).
    fast_manifests: bool,
}

impl Hosted {
    /// Compiles `spec.source` with `engine` and pre-instantiates it against WASI 0.2
    /// (cli, io, clocks, random; no filesystem preopens, no sockets) and wasi:http.
    pub fn new(
        engine: &Engine,
        spec: &HostedComponent,
        outbound: Outbound,
        slots: Arc<Semaphore>,
        fast_manifests: bool,
    ) -> Result<Self, EdgeError> {
        let err = |e: wasmtime::Error| component_error(&spec.source, e);
        if !spec.source.is_file() {
            return Err(EdgeError::Component {
                path: spec.source.clone(),
                message: "no such file (weir's component is built by `make edge`)".into(),
            });
        }
        let component = Component::from_file(engine, &spec.source).map_err(err)?;
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(err)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(err)?;
        let instance_pre = linker.instantiate_pre(&component).map_err(err)?;
        let env = Arc::new(spec.environment.clone().into_iter().collect::<Vec<_>>());
        let origin = manifest::policy::edge::origin(
            spec.environment
                .get(manifest::policy::edge::ORIGIN_VAR)
                .map(String::as_str),
        );
        // The component's own render export, if it has one (weir's does).
        let renderer = RendererPre::new(instance_pre.clone())
            .ok()
            .map(|pre| RenderHost {
                pre,
                env: env.clone(),
                outbound: outbound.clone(),
            });
        let pre = ProxyPre::new(instance_pre).map_err(err)?;
        Ok(Hosted {
            pre,
            env,
            outbound,
            slots,
            renderer,
            origin,
            fast_manifests,
        })
    }

    /// Instances that can still be started now.
    pub fn free_instances(&self) -> usize {
        self.slots.available_permits()
    }

    /// The URL of `path_and_query` at the origin the component is configured with.
    pub fn origin_url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.origin)
    }

    /// The component's outbound rules (allow-list, in-process origin).
    pub(crate) fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    /// The component's `weir:edge/render` export, when it has one.
    pub fn renderer(&self) -> Option<&RenderHost> {
        self.renderer.as_ref()
    }

    /// Answers `req` with a fresh instance of the component. The instance lives until the
    /// component has finished writing the response body.
    pub async fn handle<B>(&self, req: http::Request<B>) -> http::Response<HyperOutgoingBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        // Taken before instantiation and released when the instance is dropped, so the
        // pool is never asked for more than it holds.
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            return plain(
                503,
                "the edge node is at its instance limit; retry shortly\n",
            );
        };
        if self.fast_manifests
            && let Some(r) = &self.renderer
            && let Some(head) = crate::fast::head_of(&req)
        {
            match crate::fast::manifest(r, &self.outbound, head).await {
                Ok(Some(resp)) => return resp,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!("edge component failed: {e:#}");
                    return plain(502, "the edge component failed to answer\n");
                }
            }
        }
        match self.call(req, slot).await {
            Ok(resp) => resp,
            Err(e) => {
                tracing::warn!("edge component failed: {e:#}");
                plain(502, "the edge component failed to answer\n")
            }
        }
    }

    async fn call<B>(
        &self,
        req: http::Request<B>,
        slot: OwnedSemaphorePermit,
    ) -> wasmtime::Result<http::Response<HyperOutgoingBody>>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let mut store = Store::new(
            self.pre.engine(),
            State::new(&self.env, self.outbound.clone()),
        );
        let (tx, rx) = tokio::sync::oneshot::channel();
        let req = req.map(|b| {
            b.map_err(|e| wasmtime_wasi_http::Error::InternalError(Some(e.into().to_string())))
        });
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(tx)?;
        let pre = self.pre.clone();
        // The component keeps running after it has sent the head (it streams the body),
        // so it runs on its own task.
        let task = tokio::spawn(async move {
            let _slot = slot;
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await
        });
        match rx.await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(code)) => Err(wasmtime::Error::msg(format!(
                "component error code {code:?}"
            ))),
            Err(_) => match task.await {
                Ok(Ok(())) => wasmtime::bail!("the component never set a response"),
                Ok(Err(e)) => Err(e),
                Err(e) => Err(wasmtime::Error::msg(format!("component task: {e}"))),
            },
        }
    }
}

fn component_error(path: &Path, e: wasmtime::Error) -> EdgeError {
    EdgeError::Component {
        path: path.to_path_buf(),
        message: format!("{e:#}"),
    }
}

/// A short plain-text response of the edge node itself.
pub fn plain(status: u16, text: &'static str) -> http::Response<HyperOutgoingBody> {
    let mut r = http::Response::new(
        Full::new(Bytes::from_static(text.as_bytes()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// A text response of the edge node itself (not to be cached).
pub fn text(
    status: u16,
    content_type: &'static str,
    body: String,
) -> http::Response<HyperOutgoingBody> {
    let mut r = http::Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    r
}
