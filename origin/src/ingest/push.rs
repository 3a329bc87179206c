//! Streaming an upload body through the demuxer into a channel, chunk by chunk: each
//! chunk is stored and published the moment its last byte is in.

use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::error::IngestError;
use crate::store::{Channel, ChunkIn};

/// Ingests one upload body for `track` of `channel`.
pub async fn ingest_body(
    channel: &Channel,
    track: &str,
    mut body: Incoming,
    max_box: u64,
) -> Result<(), IngestError> {
    let mut demux = cmaf::Demuxer::new().with_max_box(max_box);
    if let Some(init) = channel.init_info(track) {
        demux = demux.with_init(init);
    }
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| IngestError::Body(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        demux.push(&data);
        drain_events(channel, track, &mut demux)?;
    }
    demux.finish()?;
    Ok(())
}

/// Applies every complete event buffered in `demux`.
fn drain_events(
    channel: &Channel,
    track: &str,
    demux: &mut cmaf::Demuxer,
) -> Result<(), IngestError> {
    while let Some(ev) = demux.next_event()? {
        match ev {
            cmaf::Event::Init { info, bytes } => channel.set_init(track, info, bytes)?,
            cmaf::Event::Chunk {
                fragment,
                prft,
                mdat,
                mdat_offset,
                ..
            } => {
                let chunk = ChunkIn {
                    fragment,
                    prft,
                    mdat,
                    mdat_offset,
                };
                channel.add_chunk(track, &chunk, crate::clock::now_us())?;
            }
            cmaf::Event::Skipped(_) => {}
        }
    }
    Ok(())
}
