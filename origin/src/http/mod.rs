//! Generic HTTP server plumbing, shared by the ingest and playback listeners and
//! knowing nothing of either: the accept loop, the [`Handler`] a listener answers
//! with, and the response [`Body`] type with its constructors.
//!
//! (Not to be confused with the `http` crate of request and response types; inside
//! this crate this module is always named `crate::http`.)

mod body;
mod server;

pub use body::{Body, BodyError, chunks, counted, full, streamed};
pub use server::{ConnLimits, Handler, accept_loop};
