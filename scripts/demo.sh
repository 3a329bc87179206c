#!/usr/bin/env bash
# Starts `weir up` (the origin, and the edge node serving players through the Wasm
# component of spin.toml) and an ffmpeg live test source pushing three renditions
# (360p, 180p, AAC) as long chunked POSTs, and beside each video rendition its
# key-frame-only companion (`{rendition}.kf`: HESP initialization packets, same encoder
# settings but every frame a key frame); prints the URLs to play.
# Ports: WEIR_PLAYBACK (players, edge; default 127.0.0.1:8080), WEIR_INGEST (default
# 127.0.0.1:8081), WEIR_ORIGIN_LISTEN (the origin's own playback; default 127.0.0.1:8082).
set -euo pipefail
cd "$(dirname "$0")/.."
PLAY="${WEIR_PLAYBACK:-127.0.0.1:8080}"
INGEST="${WEIR_INGEST:-127.0.0.1:8081}"
ORIGIN="${WEIR_ORIGIN_LISTEN:-127.0.0.1:8082}"
CH=demo

# The DVR keeps 2 hours of every rendition on disk (start-over, catch-up, restarts).
# Settings from weir.example.toml; the ports from the command line.
./target/release/weir up --config weir.example.toml --listen "$PLAY" --ingest "$INGEST" --origin-listen "$ORIGIN" &
WEIR=$!
FFMPEG=
cleanup() { [ -n "$FFMPEG" ] && kill "$FFMPEG" 2>/dev/null; kill "$WEIR" 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT INT TERM

# Wait for the ingest listener (weir prints nothing on stdout; poll the port briefly).
for _ in $(seq 50); do (exec 3<>"/dev/tcp/${INGEST%:*}/${INGEST#*:}") 2>/dev/null && break; sleep 0.1; done

FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
CLOCK="drawtext=fontfile=$FONT:text='%{localtime\:%H\\\\\:%M\\\\\:%S}':x=20:y=20:fontsize=40:fontcolor=white:box=1:boxcolor=black@0.6"
X264="-preset veryfast -tune zerolatency -profile:v high -pix_fmt yuv420p -g 30 -keyint_min 30 -sc_threshold 0"
# The companions: the same settings (so that their key frames decode with the
# renditions' parameter sets), every frame a key frame, at about 3x the bit rate.
KF="${X264/-g 30 -keyint_min 30/-g 1 -keyint_min 1}"
FRAG="-f mp4 -movflags +frag_every_frame+empty_moov+default_base_moof+cmaf"
ffmpeg -hide_banner -loglevel warning -nostdin \
  -re -f lavfi -i "testsrc2=size=640x360:rate=30,$CLOCK" \
  -re -f lavfi -i "sine=frequency=1000:sample_rate=48000" \
  -map 0:v -c:v libx264 -b:v 800k $X264 $FRAG "http://$INGEST/ingest/$CH/v360.mp4" \
  -map 0:v -c:v libx264 -b:v 300k -s 320x180 $X264 $FRAG "http://$INGEST/ingest/$CH/v180.mp4" \
  -map 0:v -c:v libx264 -b:v 2400k $KF $FRAG "http://$INGEST/ingest/$CH/v360.kf.mp4" \
  -map 0:v -c:v libx264 -b:v 900k -s 320x180 $KF $FRAG "http://$INGEST/ingest/$CH/v180.kf.mp4" \
  -map 1:a -c:a aac -b:a 96k -ar 48000 -ac 2 $FRAG "http://$INGEST/ingest/$CH/audio.mp4" &
FFMPEG=$!

cat <<MSG

weir is live (Ctrl-C stops weir and the test source):
  player page (hls.js, LL-HLS): http://$PLAY/
  player page (dash.js, LL-DASH): http://$PLAY/?channel=$CH&player=dash
  player page (Shaka): http://$PLAY/?channel=$CH&player=shaka  (DASH: &format=dash)
  player page (HESP, weir's reference client): http://$PLAY/?channel=$CH&player=hesp
  HLS : http://$PLAY/$CH/master.m3u8
  DASH / LL-DASH: http://$PLAY/$CH/manifest.mpd
  L-HLS: http://$PLAY/$CH/lhls.m3u8
  HESP: http://$PLAY/$CH/hesp.json
  start-over (DVR, 2 h on disk in target/demo-dvr): http://$PLAY/?channel=$CH&player=hls&start=0
    http://$PLAY/$CH/master.m3u8?start=0   http://$PLAY/$CH/manifest.mpd?start=0
    (start= also takes Unix seconds or an ISO 8601 time; &end= bounds an HLS catch-up)
  time: http://$PLAY/time
Manifests above are rendered by the Wasm component (response header x-weir-render);
the origin's native rendering of the same channel: http://$ORIGIN/$CH/master.m3u8
Play with e.g.  ffplay http://$PLAY/$CH/master.m3u8   or   mpv http://$PLAY/$CH/manifest.mpd
The first playlist is answered once every rendition has a complete 2 s segment.

MSG
wait "$FFMPEG"
