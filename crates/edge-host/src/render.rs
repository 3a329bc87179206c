//! Direct calls of the component's `weir:edge/render` export (wit/weir.wit): a host
//! that already holds the timeline renders without a wasi:http round trip. Two ways:
//! a fresh instance per call (full isolation; the pooling allocator makes it cheap),
//! or a warm instance reused across calls.

use std::sync::Arc;

use wasmtime::Store;

use crate::host::State;
use crate::outbound::Outbound;

/// Host bindings generated from wit/weir.wit (documented there).
#[allow(missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        world: "renderer",
        path: "../../wit",
        exports: { default: async },
    });
}

pub use bindings::exports::weir::edge::manifest_handler::{Answer, OriginRequest, RequestHead};
pub use bindings::exports::weir::edge::render::{
    Directives, RenderError, Rendered, Resource, Skip,
};
pub use bindings::{Renderer, RendererPre};

/// The render export of one component, pre-instantiated.
#[derive(Clone)]
pub struct RenderHost {
    pub(crate) pre: RendererPre<State>,
    pub(crate) env: Arc<Vec<(String, String)>>,
    pub(crate) outbound: Outbound,
}

impl RenderHost {
    pub(crate) fn store(&self) -> Store<State> {
        Store::new(
            self.pre.engine(),
            State::new(&self.env, self.outbound.clone()),
        )
    }

    /// Renders with a fresh instance (dropped afterwards).
    pub async fn render_fresh(
        &self,
        snapshot: &[u8],
        what: &Resource,
        directives: Directives,
    ) -> wasmtime::Result<Result<Rendered, RenderError>> {
        let mut store = self.store();
        let inst = self.pre.instantiate_async(&mut store).await?;
        inst.weir_edge_render()
            .call_render(&mut store, snapshot, what, directives)
            .await
    }

    /// An instance kept for many calls.
    pub async fn warm(&self) -> wasmtime::Result<WarmRenderer> {
        let mut store = self.store();
        let inst = self.pre.instantiate_async(&mut store).await?;
        Ok(WarmRenderer { store, inst })
    }
}

/// A live instance of the render export.
pub struct WarmRenderer {
    store: Store<State>,
    inst: Renderer,
}

impl WarmRenderer {
    /// Renders with this instance.
    pub async fn render(
        &mut self,
        snapshot: &[u8],
        what: &Resource,
        directives: Directives,
    ) -> wasmtime::Result<Result<Rendered, RenderError>> {
        self.inst
            .weir_edge_render()
            .call_render(&mut self.store, snapshot, what, directives)
            .await
    }
}
