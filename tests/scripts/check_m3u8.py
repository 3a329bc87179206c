#!/usr/bin/env python3
"""Parse HLS playlists with the independent `m3u8` library and print a JSON summary.

Usage: check_m3u8.py FILE...

Prints one JSON object on stdout mapping each FILE (as given) to
{"segments": int (complete segments, i.e. with a URI), "parts": int (all EXT-X-PART),
 "media_sequence": int|null, "target_duration": number|null, "playlists": int,
 "part_target": number|null, "can_block_reload": bool, "part_hold_back": number|null,
 "can_skip_until": number|null, "skipped_segments": int|null, "preload_hints": int,
 "rendition_reports": int}. Exits 2 when `m3u8` cannot be imported, 1 when a file cannot be read.
"""

import json
import sys

try:
    import m3u8
except ImportError as exc:  # pragma: no cover - reported to the caller
    print(f"python m3u8 is not installed: {exc}", file=sys.stderr)
    sys.exit(2)


def summary(path):
    with open(path, encoding="utf-8") as f:
        playlist = m3u8.loads(f.read())
    sc = playlist.server_control
    return {
        # Trailing parts of the segment in progress come as a segment without a URI.
        "segments": sum(1 for s in playlist.segments if s.uri),
        "parts": sum(len(s.parts) for s in playlist.segments),
        "media_sequence": playlist.media_sequence,
        "target_duration": playlist.target_duration,
        "playlists": len(playlist.playlists),
        "part_target": playlist.part_inf.part_target if playlist.part_inf else None,
        "can_block_reload": bool(sc and sc.can_block_reload == "YES"),
        "part_hold_back": sc.part_hold_back if sc else None,
        "can_skip_until": sc.can_skip_until if sc else None,
        "skipped_segments": playlist.skip.skipped_segments if playlist.skip else None,
        "preload_hints": 1 if playlist.preload_hint else 0,
        "rendition_reports": len(playlist.rendition_reports),
    }


def main(paths):
    out = {}
    for path in paths:
        try:
            out[path] = summary(path)
        except OSError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            return 1
    json.dump(out, sys.stdout, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
