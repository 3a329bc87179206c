//! Spec rules every HLS media playlist weir serves must follow (draft-pantos-hls-rfc8216bis).

/// Checks one media playlist text; returns the (msn, duration µs, pdt) of listed segments.
pub fn check_media_playlist(text: &str) -> Vec<(u64, u64, String)> {
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
            .collect::<Vec<_>>()
    };
    for once in [
        "#EXT-X-VERSION:",
        "#EXT-X-TARGETDURATION:",
        "#EXT-X-MEDIA-SEQUENCE:",
    ] {
        assert_eq!(tag(once).len(), 1, "{once} must appear exactly once");
    }
    let version: u32 = tag("#EXT-X-VERSION:")[0][15..].parse().expect("version");
    assert!(
        version >= 6,
        "fMP4 playlists need EXT-X-VERSION >= 6 (EXT-X-MAP)"
    );
    assert_eq!(
        tag("#EXT-X-MAP:").len(),
        1,
        "EXT-X-MAP must apply to every segment"
    );
    let td: u64 = tag("#EXT-X-TARGETDURATION:")[0][22..]
        .parse()
        .expect("target duration");
    let mut msn: u64 = tag("#EXT-X-MEDIA-SEQUENCE:")[0][22..]
        .parse()
        .expect("media sequence");
    assert!(
        msn > 0,
        "media sequence numbers are never 0 (hls.js does not block on 0)"
    );
    let mut out = Vec::new();
    let mut pdt = None;
    for l in &lines {
        if let Some(p) = l.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
            assert!(
                p.ends_with('Z') && p.contains('.'),
                "PDT with milliseconds and zone: {p}"
            );
            pdt = Some(p.to_string());
        }
        if let Some(d) = l.strip_prefix("#EXTINF:") {
            let d = d.strip_suffix(',').expect("EXTINF ends with a comma");
            let (s, f) = d.split_once('.').unwrap_or((d, "0"));
            let us = s.parse::<u64>().unwrap() * 1_000_000
                + format!("{f:0<6}")[..6].parse::<u64>().unwrap();
            // EXTINF rounded to the nearest integer MUST be <= target duration.
            assert!(
                (us + 500_000) / 1_000_000 <= td,
                "EXTINF {d} exceeds target duration {td}"
            );
            let p = pdt.take().expect("PDT on every segment");
            out.push((msn, us, p));
            msn += 1;
        }
    }
    assert!(!out.is_empty(), "a live playlist lists segments");
    let total: u64 = out.iter().map(|s| s.1).sum();
    assert!(
        total >= 3 * td * 1_000_000,
        "playlist must be at least 3 target durations long"
    );
    out
}
