#!/usr/bin/env python3
"""Parse HLS playlists with the independent `m3u8` library and print a JSON summary.

Usage: check_m3u8.py FILE...

Prints one JSON object on stdout mapping each FILE (as given) to
{"segments": int, "media_sequence": int|null, "target_duration": number|null,
 "playlists": int}. Exits 2 when `m3u8` cannot be imported, 1 when a file cannot be read.
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
    return {
        "segments": len(playlist.segments),
        "media_sequence": playlist.media_sequence,
        "target_duration": playlist.target_duration,
        "playlists": len(playlist.playlists),
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
