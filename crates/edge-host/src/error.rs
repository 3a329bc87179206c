//! Errors of the edge node.

use std::path::PathBuf;

/// Why the edge node could not start or answer.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    /// spin.toml could not be read.
    #[error("cannot read {path}: {source}")]
    ReadManifest {
        /// The manifest path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// spin.toml is not valid TOML or misses a required field.
    #[error("{path}: {message}")]
    BadManifest {
        /// The manifest path.
        path: PathBuf,
        /// What is wrong, in one line.
        message: String,
    },
    /// An `allowed_outbound_hosts` entry is not a `scheme://host[:port]` pattern.
    #[error("allowed_outbound_hosts: {0:?} is not scheme://host[:port] (`*` allowed)")]
    BadAllowedHost(String),
    /// The component could not be loaded, compiled or linked.
    #[error("component {path}: {message}")]
    Component {
        /// The component path.
        path: PathBuf,
        /// wasmtime's error, rendered.
        message: String,
    },
    /// The engine could not be configured.
    #[error("wasmtime engine: {0}")]
    Engine(String),
}
