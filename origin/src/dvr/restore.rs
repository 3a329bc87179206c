//! Rebuilding the index from the disk when the origin starts: after a crash or
//! `kill -9` the DVR window is there again, under the same numbers and URLs.
//!
//! Only what a complete write leaves is read: temporary files of writes cut short
//! are deleted, files whose names do not parse are left alone (and logged), and
//! segments already older than the window are deleted.

use std::collections::HashMap;
use std::path::Path;

use bytes::Bytes;
use timeline::TrackMeta;

use super::DvrError;
use super::index::{ChannelIndex, ChannelMeta, Stored, TrackIndex};
use super::layout::{self, SegmentName};

/// What a channel had on disk: enough to continue it (see `store::Channel::restored`).
#[derive(Debug, Clone)]
pub struct RestoredChannel {
    /// Channel name.
    pub name: String,
    /// Its anchor and cadence.
    pub meta: ChannelMeta,
    /// Its tracks.
    pub tracks: Vec<RestoredTrack>,
}

/// What a track had on disk.
#[derive(Debug, Clone)]
pub struct RestoredTrack {
    /// What the rendition is.
    pub meta: TrackMeta,
    /// Its init versions (id, bytes), the one of its newest segment last.
    pub inits: Vec<(u32, Bytes)>,
    /// Its newest stored segment and that segment's bytes.
    pub last: Option<(Stored, Bytes)>,
}

/// Reads the index of every channel under `dir` (created if missing), deleting what
/// ended before `expire_before_us(channel)`. Returns the index and what each channel
/// needs to continue.
pub fn scan(
    dir: &Path,
    expire_before_us: &dyn Fn(&str) -> i64,
) -> Result<(HashMap<String, ChannelIndex>, Vec<RestoredChannel>), DvrError> {
    let io = |e| DvrError::Io(dir.to_path_buf(), e);
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut index = HashMap::new();
    let mut restored = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)?.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !entry.path().is_dir() || !manifest::policy::valid_name(&name) {
            continue;
        }
        let meta: ChannelMeta = match read_json(&entry.path().join(layout::CHANNEL_FILE)) {
            Some(m) => m,
            None => {
                tracing::warn!(
                    "dvr: {} has no readable {}; skipped",
                    entry.path().display(),
                    layout::CHANNEL_FILE
                );
                continue;
            }
        };
        let mut ch = ChannelIndex {
            meta,
            tracks: Default::default(),
        };
        let mut tracks = Vec::new();
        for t in std::fs::read_dir(entry.path()).map_err(io)?.flatten() {
            let path = t.path();
            let Some(track_meta) = path
                .is_dir()
                .then(|| read_json::<TrackMeta>(&path.join(layout::TRACK_FILE)))
                .flatten()
            else {
                continue;
            };
            let (idx, rt) = scan_track(&path, track_meta, &meta, expire_before_us(&name));
            ch.tracks.insert(idx.meta.id.clone(), idx);
            tracks.push(rt);
        }
        tracing::info!(
            "dvr: channel {name}: {} segments restored",
            ch.tracks.values().map(TrackIndex::len).sum::<usize>()
        );
        restored.push(RestoredChannel {
            name: name.clone(),
            meta,
            tracks,
        });
        index.insert(name, ch);
    }
    Ok((index, restored))
}

/// What channel `name` of the index needs to continue (its files read again: the
/// inits and the newest segment of each track), for a channel created again by ingest
/// while the DVR still holds it.
pub fn continuation(dir: &Path, name: &str, ch: &ChannelIndex) -> RestoredChannel {
    let tracks = ch
        .tracks
        .values()
        .map(|t| {
            let track_dir = layout::track_dir(dir, name, &t.meta.id);
            let mut inits = Vec::new();
            for e in std::fs::read_dir(track_dir).into_iter().flatten().flatten() {
                let n = e.file_name();
                if let Some(id) = n.to_str().and_then(layout::parse_init_name)
                    && let Ok(b) = std::fs::read(e.path())
                {
                    inits.push((id, Bytes::from(b)));
                }
            }
            continued(t, inits)
        })
        .collect();
    RestoredChannel {
        name: name.to_string(),
        meta: ch.meta,
        tracks,
    }
}

/// What track `idx` needs to continue: its newest stored segment read back, and its
/// `inits` ordered so that the newest segment's comes last (the one new media is read
/// with).
fn continued(idx: &TrackIndex, mut inits: Vec<(u32, Bytes)>) -> RestoredTrack {
    let last = idx
        .last()
        .and_then(|s| Some((s.clone(), Bytes::from(std::fs::read(&s.path).ok()?))));
    if let Some((s, _)) = &last {
        let id = s.past.segment.init;
        inits.sort_by_key(|(i, _)| *i == id);
    }
    RestoredTrack {
        meta: idx.meta.clone(),
        inits,
        last,
    }
}

/// One track directory.
fn scan_track(
    dir: &Path,
    meta: TrackMeta,
    ch: &ChannelMeta,
    expire_before_us: i64,
) -> (TrackIndex, RestoredTrack) {
    let mut idx = TrackIndex::new(meta.clone());
    let mut inits = Vec::new();
    let mut files = Vec::new();
    walk(dir, 0, &mut |path, name| {
        if layout::is_temporary(name) {
            let _ = std::fs::remove_file(path);
        } else if let Some(id) = layout::parse_init_name(name) {
            if let Ok(b) = std::fs::read(path) {
                inits.push((id, Bytes::from(b)));
            }
        } else if let Some(n) = SegmentName::parse(name) {
            files.push((n, path.to_path_buf()));
        } else if name != layout::TRACK_FILE {
            tracing::warn!("dvr: {} is not a DVR file; left alone", path.display());
        }
    });
    files.sort_by_key(|(n, _)| n.msn);
    for (n, path) in files {
        let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
        let s = Stored::from_name(n, path, bytes, meta.timescale, ch);
        if s.wall_end_us < expire_before_us {
            let _ = std::fs::remove_file(&s.path);
            continue;
        }
        idx.insert(s);
    }
    let rt = continued(&idx, inits);
    (idx, rt)
}

/// Calls `f` on every file under `dir` (the track directory, its day and hour
/// directories: three levels at most).
fn walk(dir: &Path, depth: u32, f: &mut impl FnMut(&Path, &str)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            if depth < 2 {
                walk(&path, depth + 1, f);
            }
        } else if let Some(name) = e.file_name().to_str() {
            f(&path, name);
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}
