//! The chunked-proxy cache of the edge node (issue 11, in progress): objects shared by
//! every reader while they are written, an index with request collapsing, a byte budget
//! and a per-object cap. Not yet wired into the node's request path.

pub mod fill;
mod index;
mod object;

pub use index::{Index, Limits, Lookup};
pub use object::{Failure, Fill, Head, Object, Progress, Reader};

#[cfg(test)]
mod tests;
