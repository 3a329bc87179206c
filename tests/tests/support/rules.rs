//! Spec rules every HLS media playlist weir serves must follow (draft-pantos-hls-
//! rfc8216bis with the Low-Latency extensions and Apple's stricter profile), checked on
//! real playlists captured during end-to-end runs.

use std::collections::HashMap;

/// A parsed media playlist: what the cross-reload checks compare.
#[derive(Debug, Default)]
pub struct Playlist {
    /// EXT-X-MEDIA-SEQUENCE.
    pub media_sequence: u64,
    /// EXT-X-TARGETDURATION in seconds.
    pub target_duration: u64,
    /// Number of EXT-X-MAP tags (init segments in effect).
    pub maps: usize,
    /// Complete segments: (msn, EXTINF µs, URI, PDT).
    pub segments: Vec<(u64, u64, String, String)>,
    /// Parts: (msn of parent, index, duration µs, URI, independent).
    pub parts: Vec<(u64, usize, u64, String, bool)>,
    /// EXT-X-SKIP:SKIPPED-SEGMENTS, if present.
    pub skipped: Option<u64>,
    /// Number of EXT-X-RENDITION-REPORT tags.
    pub reports: usize,
}

/// Decimal seconds → microseconds (exact for up to 6 decimals).
fn micros(v: &str) -> u64 {
    let (s, f) = v.split_once('.').unwrap_or((v, "0"));
    s.parse::<u64>().expect("seconds") * 1_000_000
        + format!("{f:0<6}")[..6].parse::<u64>().expect("fraction")
}

fn attr<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let body = line.split_once(':')?.1;
    let mut rest = body;
    while !rest.is_empty() {
        let (k, after) = rest.split_once('=')?;
        let (v, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (&q[..end], q[end + 1..].strip_prefix(',').unwrap_or(""))
        } else {
            after.split_once(',').unwrap_or((after, ""))
        };
        if k == name {
            return Some(v);
        }
        rest = next;
    }
    None
}

/// Checks one media playlist against the per-playlist rules and parses it.
pub fn check_media_playlist(text: &str) -> Playlist {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"#EXTM3U"),
        "EXTM3U must be the first line"
    );
    let tag = |name: &str| {
        lines
            .iter()
            .filter(|l| l.starts_with(name))
            .copied()
            .collect::<Vec<_>>()
    };
    for once in [
        "#EXT-X-VERSION:",
        "#EXT-X-TARGETDURATION:",
        "#EXT-X-MEDIA-SEQUENCE:",
        "#EXT-X-SERVER-CONTROL:",
        "#EXT-X-PART-INF:",
    ] {
        assert_eq!(
            tag(once).len(),
            1,
            "{once} must appear exactly once:\n{text}"
        );
    }
    // [HLS §4.4.4.5] an EXT-X-MAP before the first segment; another one (a new init)
    // only where EXT-X-DISCONTINUITY announces the change of encoding.
    let maps: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("#EXT-X-MAP:"))
        .collect();
    assert!(!maps.is_empty(), "EXT-X-MAP is required:\n{text}");
    let first_media = lines
        .iter()
        .position(|l| l.starts_with("#EXTINF:") || l.starts_with("#EXT-X-PART:"));
    assert!(
        first_media.is_none_or(|m| maps[0] < m),
        "EXT-X-MAP before the first segment"
    );
    for &m in &maps[1..] {
        assert_eq!(
            lines[m - 1],
            "#EXT-X-DISCONTINUITY",
            "a new EXT-X-MAP only after EXT-X-DISCONTINUITY:\n{text}"
        );
    }
    let value = |name: &str| tag(name)[0][name.len()..].to_string();
    let version: u32 = value("#EXT-X-VERSION:").parse().expect("version");
    let td: u64 = value("#EXT-X-TARGETDURATION:")
        .parse()
        .expect("target duration");
    let td_us = td * 1_000_000;
    let sc = tag("#EXT-X-SERVER-CONTROL:")[0];
    let pt_us = micros(attr(tag("#EXT-X-PART-INF:")[0], "PART-TARGET").expect("PART-TARGET"));
    // SERVER-CONTROL: blocking reload, and the minimum hold-backs and skip boundary.
    assert_eq!(attr(sc, "CAN-BLOCK-RELOAD"), Some("YES"), "{sc}");
    let phb = micros(attr(sc, "PART-HOLD-BACK").expect("PART-HOLD-BACK is required with parts"));
    assert!(
        phb >= 3 * pt_us,
        "PART-HOLD-BACK {phb} µs < 3 x PART-TARGET (Apple)"
    );
    assert!(
        micros(attr(sc, "HOLD-BACK").unwrap_or("0")) >= 3 * td_us,
        "HOLD-BACK >= 3 x TD: {sc}"
    );
    let skip_until = micros(attr(sc, "CAN-SKIP-UNTIL").expect("CAN-SKIP-UNTIL"));
    assert!(skip_until >= 6 * td_us, "CAN-SKIP-UNTIL >= 6 x TD: {sc}");

    let mut p = Playlist {
        target_duration: td,
        maps: maps.len(),
        media_sequence: value("#EXT-X-MEDIA-SEQUENCE:")
            .parse()
            .expect("media sequence"),
        skipped: tag("#EXT-X-SKIP:").first().map(|l| {
            attr(l, "SKIPPED-SEGMENTS")
                .expect("count")
                .parse()
                .expect("n")
        }),
        reports: tag("#EXT-X-RENDITION-REPORT:").len(),
        ..Playlist::default()
    };
    // Version: 6 for fMP4 (EXT-X-MAP), 9 when EXT-X-SKIP is used, and no higher.
    let want = if p.skipped.is_some() { 9 } else { 6 };
    assert_eq!(version, want, "EXT-X-VERSION must be {want}");
    assert!(
        p.media_sequence > 0,
        "media sequence numbers are never 0 (hls.js does not block on 0)"
    );

    let mut msn = p.media_sequence + p.skipped.unwrap_or(0);
    let (mut pdt, mut parts_here): (Option<String>, Vec<(u64, bool)>) = (None, Vec::new());
    for (i, l) in lines.iter().enumerate() {
        if let Some(v) = l.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
            assert!(
                parts_here.is_empty(),
                "PDT must precede the parent's first EXT-X-PART"
            );
            assert!(
                v.ends_with('Z') && v.contains('.'),
                "PDT with milliseconds and zone: {v}"
            );
            pdt = Some(v.to_string());
        } else if l.starts_with("#EXT-X-PART:") {
            assert!(
                pdt.is_some(),
                "every segment carries PDT before its first part"
            );
            let d = micros(attr(l, "DURATION").expect("DURATION"));
            let independent = attr(l, "INDEPENDENT") == Some("YES");
            let uri = attr(l, "URI").expect("URI").to_string();
            // Parts never exceed PART-TARGET; all but independent and last parts of a
            // parent are at least 85 % of it.
            assert!(
                d <= pt_us,
                "part {uri} of {d} µs exceeds PART-TARGET {pt_us}"
            );
            let last_of_parent = lines
                .get(i + 1)
                .is_some_and(|n| n.starts_with("#EXTINF:") || !n.starts_with("#EXT-X-PART:"));
            assert!(
                independent || last_of_parent || d * 100 >= pt_us * 85,
                "part {uri} shorter than 85 % of PART-TARGET"
            );
            p.parts.push((msn, parts_here.len(), d, uri, independent));
            parts_here.push((d, independent));
        } else if let Some(d) = l.strip_prefix("#EXTINF:") {
            let d = d.strip_suffix(',').expect("EXTINF ends with a comma");
            let us = micros(d);
            assert!(
                (us + 500_000) / 1_000_000 <= td,
                "EXTINF {d} rounds above TARGETDURATION {td}"
            );
            if !parts_here.is_empty() {
                // The parts of a parent carry exactly its samples: durations add up (10 µs
                // rounding per rendered value).
                let sum: u64 = parts_here.iter().map(|x| x.0).sum();
                let slack = 10 * (parts_here.len() as u64 + 1);
                assert!(
                    sum.abs_diff(us) <= slack,
                    "parts of {msn} sum to {sum} µs, EXTINF {us} µs"
                );
                assert!(
                    parts_here[0].1,
                    "the first part of a segment starts with a key frame"
                );
            }
            let uri = lines.get(i + 1).expect("URI after EXTINF").to_string();
            assert_eq!(
                uri,
                format!("seg-{msn}.m4s"),
                "segment URIs follow their MSN"
            );
            p.segments
                .push((msn, us, uri, pdt.take().expect("PDT on every segment")));
            parts_here.clear();
            msn += 1;
        }
    }
    assert!(!p.segments.is_empty(), "a live playlist lists segments");
    let kept: u64 = p.segments.iter().map(|s| s.1).sum();
    match p.skipped {
        None => assert!(
            kept >= 3 * td_us,
            "a live playlist is at least 3 target durations long"
        ),
        // Only segments beyond the Skip Boundary may be skipped.
        Some(_) => assert!(
            kept >= skip_until,
            "delta keeps {kept} µs < CAN-SKIP-UNTIL {skip_until} µs"
        ),
    }
    let hints = tag("#EXT-X-PRELOAD-HINT:");
    assert_eq!(hints.len(), 1, "one preload hint for the next part");
    assert_eq!(attr(hints[0], "TYPE"), Some("PART"));
    // Parts are dropped once more than 3 target durations from the end (plus the
    // segment they start in).
    if let Some(first) = p.parts.first() {
        let newer: u64 = p
            .segments
            .iter()
            .filter(|s| s.0 >= first.0)
            .map(|s| s.1)
            .sum();
        // The segment the parts start in may be as long as EXTINF allows (< TD + 0.5 s).
        assert!(
            newer < 3 * td_us + td_us + 500_000,
            "parts listed further back than 3 x TD ({newer} µs, TD {td_us} µs):\n{text}"
        );
    }
    p
}

/// Checks a sequence of playlists of one rendition, in the order they were received:
/// MEDIA-SEQUENCE never decreases, and a segment or part, once announced, never changes
/// (same URI, same duration, same date).
pub fn check_reloads(name: &str, playlists: &[Playlist]) {
    let mut seen: HashMap<u64, (u64, String, String)> = HashMap::new();
    let mut seen_parts: HashMap<(u64, usize), (u64, String, bool)> = HashMap::new();
    let mut last_ms = 0;
    for p in playlists {
        assert!(
            p.media_sequence >= last_ms,
            "{name}: MEDIA-SEQUENCE went back"
        );
        last_ms = p.media_sequence;
        for (msn, d, uri, pdt) in &p.segments {
            let v = (*d, uri.clone(), pdt.clone());
            let old = seen.entry(*msn).or_insert_with(|| v.clone());
            assert_eq!(*old, v, "{name}: segment {msn} changed between reloads");
        }
        for (msn, i, d, uri, ind) in &p.parts {
            let v = (*d, uri.clone(), *ind);
            let old = seen_parts.entry((*msn, *i)).or_insert_with(|| v.clone());
            assert_eq!(*old, v, "{name}: part {msn}.{i} changed between reloads");
        }
    }
}
