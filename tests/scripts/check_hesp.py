#!/usr/bin/env python3
"""Validate HESP manifests (draft-theo-hesp, manifestVersion 2.0.0) with the independent
`jsonschema` package, plus the rules a JSON Schema cannot express.

Usage: check_hesp.py [--base URL] SCHEMA FILE...

SCHEMA is tests/hesp/manifest.schema.json (JSON Schema draft 2020-12). Each FILE is
checked against it (Draft202012Validator), then semantically:
  - presentation ids are unique, and activePresentation names one of them;
  - the active Presentation's timeBounds.startTime <= currentTime;
  - timeBounds.startTime < endTime wherever both are given;
  - each track's segment ids ascend by exactly 1;
  - the URLs built per the draft (manifest URL -> contentBaseUrl -> Presentation.baseUrl
    -> SwitchingSet.baseUrl -> Track.baseUrl -> pattern, each an RFC 3986 resolution;
    the track's pattern overrides the set's) are unique per track: no two tracks, and no
    initialization/continuation pair, share a URL template. The manifest URL is --base
    (default https://manifest.invalid/channel/hesp.json).

Prints "FILE: ok" or one line per problem ("FILE: where: message") and exits 1 if any
FILE has a problem, 2 when `jsonschema` cannot be imported or SCHEMA cannot be read.
"""

import json
import re
import sys
from fractions import Fraction
from urllib.parse import urljoin

try:
    from jsonschema import Draft202012Validator
except ImportError as exc:  # pragma: no cover - reported to the caller
    print(f"python jsonschema is not installed: {exc}", file=sys.stderr)
    sys.exit(2)

DEFAULT_BASE = "https://manifest.invalid/channel/hesp.json"
# {initId}, {segmentId}, with optional zero padding {segmentId:06d} [HESP §3.4].
PLACEHOLDER = re.compile(r"\{(initId|segmentId)(?::0[1-9][0-9]*d)?\}")
KINDS = ("video", "audio", "metadata")


def where(path):
    """A JSON-pointer-like location: presentations/0/video/1/tracks/2."""
    return "/".join(str(p) for p in path) or "(root)"


def seconds(tb_value, scale):
    """tb_value / scale as an exact fraction (scale defaults to 1)."""
    return Fraction(int(tb_value), int(scale or 1))


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def schema_errors(validator, doc):
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        yield f"{where(err.absolute_path)}: {err.message}"


def template(base, pattern):
    """The track's URL with every placeholder normalised to {N} (padding ignored, and
    init and segment ids alike: `x-{initId}` and `x-{segmentId}` give the same URLs)."""
    return urljoin(base, PLACEHOLDER.sub("{N}", pattern))


def semantic_errors(doc, base_url):
    """Problems the schema cannot see; skips what the schema already rejected."""
    errs = []
    if not isinstance(doc, dict):
        return errs
    presentations = doc.get("presentations")
    if not isinstance(presentations, list):
        return errs

    # Presentation ids: unique; activePresentation names one.
    ids = [p.get("id") for p in presentations if isinstance(p, dict)]
    seen = set()
    for i, pid in enumerate(ids):
        if pid in seen:
            errs.append(f"presentations/{i}/id: duplicate presentation id {pid!r}")
        seen.add(pid)
    active = doc.get("activePresentation")
    active_pres = None
    if active is not None:
        matches = [p for p in presentations if isinstance(p, dict) and p.get("id") == active]
        if not matches:
            errs.append(f"activePresentation: {active!r} names no presentation (ids: {ids})")
        else:
            active_pres = matches[0]

    # startTime <= currentTime for the active Presentation.
    ct = doc.get("currentTime")
    if active_pres is not None and isinstance(ct, dict) and is_int(ct.get("value")):
        tb = active_pres.get("timeBounds") or {}
        if is_int(tb.get("startTime")) and int(ct.get("scale") or 1) > 0 and int(tb.get("scale") or 1) > 0:
            start = seconds(tb["startTime"], tb.get("scale"))
            now = seconds(ct["value"], ct.get("scale"))
            if start > now:
                errs.append(
                    f"presentations/{presentations.index(active_pres)}/timeBounds/startTime: "
                    f"active presentation starts at {float(start):.6f} s, after currentTime {float(now):.6f} s"
                )

    def check_bounds(tb, path):
        if isinstance(tb, dict) and is_int(tb.get("startTime")) and is_int(tb.get("endTime")):
            if tb["endTime"] <= tb["startTime"]:
                errs.append(f"{where(path)}: endTime {tb['endTime']} is not after startTime {tb['startTime']}")

    # Per track: segment ids +1 each; URL templates unique per track.
    owners = {}  # URL template -> (track location, "initialization" | "continuation")
    content_base = doc.get("contentBaseUrl")
    root = urljoin(base_url, content_base) if isinstance(content_base, str) else base_url
    for pi, pres in enumerate(presentations):
        if not isinstance(pres, dict):
            continue
        check_bounds(pres.get("timeBounds"), ["presentations", pi, "timeBounds"])
        pbase = urljoin(root, pres["baseUrl"]) if isinstance(pres.get("baseUrl"), str) else root
        for kind in KINDS:
            sets = pres.get(kind)
            if not isinstance(sets, list):
                continue
            for si, sset in enumerate(sets):
                if not isinstance(sset, dict) or not isinstance(sset.get("tracks"), list):
                    continue
                sbase = urljoin(pbase, sset["baseUrl"]) if isinstance(sset.get("baseUrl"), str) else pbase
                for ti, track in enumerate(sset["tracks"]):
                    if not isinstance(track, dict):
                        continue
                    loc = ["presentations", pi, kind, si, "tracks", ti]
                    segs = track.get("segments")
                    if isinstance(segs, list):
                        prev = None
                        for gi, seg in enumerate(segs):
                            sid = seg.get("id") if isinstance(seg, dict) else None
                            if not is_int(sid):
                                prev = None
                                continue
                            if prev is not None and sid != prev + 1:
                                errs.append(
                                    f"{where(loc + ['segments', gi, 'id'])}: segment id {sid} follows {prev} (ids must ascend by 1)"
                                )
                            prev = sid
                            check_bounds(seg.get("timeBounds"), loc + ["segments", gi, "timeBounds"])
                    tbase = urljoin(sbase, track["baseUrl"]) if isinstance(track.get("baseUrl"), str) else sbase
                    patterns = [("continuation", "continuationPattern")]
                    if kind != "metadata":
                        patterns.insert(0, ("initialization", "initializationPattern"))
                    for what, key in patterns:
                        pattern = track.get(key, sset.get(key))
                        if not isinstance(pattern, str):
                            continue  # the schema reports a missing pattern
                        url = template(tbase, pattern)
                        if url in owners:
                            other, other_what = owners[url]
                            errs.append(
                                f"{where(loc)}: {what} URL {url} is also the {other_what} URL of {where(other)}"
                            )
                        else:
                            owners[url] = (loc, what)
    return errs


def main(argv):
    args = argv[1:]
    base = DEFAULT_BASE
    if len(args) >= 2 and args[0] == "--base":
        base, args = args[1], args[2:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    schema_path, files = args[0], args[1:]
    try:
        with open(schema_path, encoding="utf-8") as f:
            schema = json.load(f)
        Draft202012Validator.check_schema(schema)
    except Exception as exc:  # noqa: BLE001 - any failure to load the schema is fatal
        print(f"{schema_path}: cannot use schema: {exc}", file=sys.stderr)
        return 2
    validator = Draft202012Validator(schema)
    failed = False
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as exc:
            print(f"{path}: cannot read JSON: {exc}")
            failed = True
            continue
        problems = list(schema_errors(validator, doc)) + semantic_errors(doc, base)
        for p in problems:
            print(f"{path}: {p}")
        if problems:
            failed = True
        else:
            print(f"{path}: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
