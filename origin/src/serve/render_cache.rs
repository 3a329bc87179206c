//! Render once, serve many: rendered manifests cached by snapshot version.
//!
//! When a part lands, every request blocked on it wakes with the same snapshot; the
//! first one renders (and gzips) the playlist, the others take the cached bytes. The
//! lock is held while rendering, which also makes concurrent misses render once.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::error::ServeError;

/// Entries beyond this are dropped wholesale (keys include the client's Host header for
/// MPDs, so the key space is not fully under the server's control).
const MAX_ENTRIES: usize = 4096;

/// A rendered manifest, plain and gzip-compressed.
#[derive(Debug)]
pub struct Rendered {
    /// Snapshot version it was rendered from.
    pub version: u64,
    /// The manifest text.
    pub plain: Bytes,
    /// The same, gzip-compressed.
    pub gzip: Bytes,
}

/// Cache of rendered manifests.
#[derive(Debug, Default)]
pub struct RenderCache {
    entries: Mutex<HashMap<String, Arc<Rendered>>>,
}

impl RenderCache {
    /// The rendering of `key` at snapshot `version`, produced by `render` on a miss.
    pub fn get_or_render(
        &self,
        key: &str,
        version: u64,
        render: impl FnOnce() -> Result<String, ServeError>,
    ) -> Result<Arc<Rendered>, ServeError> {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = map.get(key).filter(|r| r.version == version) {
            return Ok(hit.clone());
        }
        let text = render()?;
        let mut gz = GzEncoder::new(Vec::with_capacity(text.len() / 3), Compression::fast());
        let gzip = match gz.write_all(text.as_bytes()).and_then(|_| gz.finish()) {
            Ok(v) => Bytes::from(v),
            Err(_) => Bytes::new(),
        };
        let r = Arc::new(Rendered {
            version,
            plain: Bytes::from(text),
            gzip,
        });
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key.to_string(), r.clone());
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_once_per_version() {
        let c = RenderCache::default();
        let mut calls = 0;
        for _ in 0..3 {
            c.get_or_render("k", 7, || {
                calls += 1;
                Ok("#EXTM3U\n".into())
            })
            .unwrap();
        }
        assert_eq!(calls, 1);
        let r = c
            .get_or_render("k", 8, || Ok("#EXTM3U\n#x\n".into()))
            .unwrap();
        assert_eq!(&r.plain[..], b"#EXTM3U\n#x\n");
        let mut d = flate2::read::GzDecoder::new(&r.gzip[..]);
        let mut s = String::new();
        std::io::Read::read_to_string(&mut d, &mut s).unwrap();
        assert_eq!(s, "#EXTM3U\n#x\n");
    }
}
