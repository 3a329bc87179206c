//! Streaming an upload body through the demuxer into a channel, chunk by chunk: each
//! chunk is stored and published the moment its last byte is in.

use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::error::IngestError;
use crate::store::{Channel, ChunkIn, Origin};

/// What an upload feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A rendition of the channel.
    Rendition,
    /// The key-frame-only companion of a video rendition (HESP initialization packets).
    Companion,
}

/// Ingests one upload body for `track` (in `role`) of channel `name`. The channel is
/// created by the first valid init segment, so a refused upload creates nothing.
pub async fn ingest_body(
    origin: &Origin,
    name: &str,
    (track, role): (&str, Role),
    mut body: Incoming,
) -> Result<(), IngestError> {
    let cfg = origin.config();
    let mut demux = cmaf::Demuxer::new()
        .with_max_box(cfg.max_box)
        .with_max_samples(cfg.limits.max_samples);
    let mut channel = origin.channel(name);
    let known = channel.as_ref().and_then(|c| match role {
        Role::Rendition => c.init_info(track),
        Role::Companion => c.companion_info(track),
    });
    if let Some(init) = known {
        demux = demux.with_init(init);
    }
    // True once this upload has stored media: only then is a segment in progress its own.
    let mut fed = false;
    let result = async {
        let idle = std::time::Duration::from_secs(cfg.limits.ingest_idle_timeout_s);
        loop {
            // An encoder that stops sending mid-upload is cut like one whose connection
            // broke: its segment in progress is closed where it is.
            let Some(frame) = tokio::time::timeout(idle, body.frame())
                .await
                .map_err(|_| {
                    IngestError::Body(format!("nothing received for {} s", idle.as_secs()))
                })?
            else {
                break;
            };
            let frame = frame.map_err(|e| IngestError::Body(e.to_string()))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            demux.push(&data);
            let arrival_us = crate::clock::now_us();
            fed |= drain_events(
                origin,
                name,
                &mut channel,
                (track, role),
                &mut demux,
                arrival_us,
            )?;
        }
        demux.finish()?;
        Ok(())
    }
    .await;
    match &result {
        // The connection broke mid-upload: the encoder died or lost its network.
        Err(IngestError::Body(_)) => {
            if let Some(ch) = channel.as_ref().filter(|_| fed && role == Role::Rendition) {
                ch.interrupt(track);
            }
            origin.remove_if_empty(name);
        }
        Err(_) => origin.remove_if_empty(name),
        Ok(()) => {}
    }
    result
}

/// Applies every complete event buffered in `demux` to `track` (in `role`) of channel
/// `name` (created by its first init, then kept in `channel`), its chunks arriving at
/// wall-clock `arrival_us`; true when media was stored. What an upload does with each
/// body frame; tests call it with the arrival times they script.
pub fn drain_events(
    origin: &Origin,
    name: &str,
    channel: &mut Option<std::sync::Arc<Channel>>,
    (track, role): (&str, Role),
    demux: &mut cmaf::Demuxer,
    arrival_us: i64,
) -> Result<bool, IngestError> {
    let mut stored = false;
    while let Some(ev) = demux.next_event()? {
        match ev {
            cmaf::Event::Init { info, bytes } => {
                let ch = match channel {
                    Some(ch) => ch,
                    None => channel.insert(origin.channel_or_create(name)?),
                };
                match role {
                    Role::Rendition => ch.set_init(track, info, bytes)?,
                    Role::Companion => ch.set_companion_init(track, info)?,
                }
            }
            cmaf::Event::Chunk {
                fragment,
                prft,
                mdat,
                mdat_offset,
                ..
            } => {
                let ch = channel
                    .as_ref()
                    .ok_or_else(|| IngestError::NoInit(track.to_string()))?;
                let chunk = ChunkIn {
                    fragment,
                    prft,
                    mdat,
                    mdat_offset,
                };
                match role {
                    Role::Rendition => ch.add_chunk(track, &chunk, arrival_us)?,
                    Role::Companion => ch.add_companion_chunk(track, &chunk, arrival_us)?,
                }
                stored = true;
            }
            cmaf::Event::Skipped(_) => {}
        }
    }
    Ok(stored)
}
