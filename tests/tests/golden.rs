//! Golden-file tests of the HLS and DASH renderers.
//!
//! Each scenario of `weir_tests` builds a channel snapshot by feeding synthetic samples
//! through the real cutter; its manifests are compared byte for byte with
//! `tests/golden/<scenario>/{master.m3u8,<track>.m3u8,manifest.mpd,hesp.json}`. Run with
//! `UPDATE_GOLDEN=1` to (re)write the files instead.
//!
//! Independent checks: the rendered output is checked against the HLS and DASH rules
//! the renderers promise, golden MPDs are validated with `xmllint` against the vendored
//! MPEG schema, and golden playlists are parsed with python `m3u8`. Both tools are
//! required (`make test` installs them); a missing one fails the test with that advice.

use manifest::hls::Skip;
use std::collections::BTreeMap;
use std::error::Error;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

use manifest::ManifestError;
use timeline::time::{format_iso8601_micros, to_micros};
use timeline::{ChannelSnapshot, MediaKind, Segment, TrackSnapshot};
use weir_tests::{Scenario, first_difference, render_all};

type TestResult = Result<(), Box<dyn Error>>;

/// Root of the golden files.
fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")
}

fn update_mode() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1")
}

/// Writes `text` to `path` through a temporary file and a rename, so concurrent readers
/// (the external-tool tests) never see a half-written file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Compares (or, with `UPDATE_GOLDEN=1`, writes) every manifest of `scenario`.
fn check_golden(scenario: &Scenario) -> TestResult {
    let dir = golden_root().join(scenario.name);
    let rendered = render_all(&scenario.snapshot)?;
    if update_mode() {
        std::fs::create_dir_all(&dir)?;
        for (file, text) in &rendered {
            write_atomically(&dir.join(file), text)?;
        }
        eprintln!("updated {}", dir.display());
        return Ok(());
    }
    let mut problems = Vec::new();
    for (file, actual) in &rendered {
        let path = dir.join(file);
        match std::fs::read_to_string(&path) {
            Ok(expected) => {
                if let Some(diff) = first_difference(&expected, actual) {
                    problems.push(format!("{}: {diff}", path.display()));
                }
            }
            Err(e) => problems.push(format!("{}: cannot read golden file: {e}", path.display())),
        }
    }
    // A panic (not an `Err`) so the message prints with real line breaks.
    assert!(
        problems.is_empty(),
        "{} golden mismatch(es) in scenario '{}' (run with UPDATE_GOLDEN=1 to accept):\n{}",
        problems.len(),
        scenario.name,
        problems.join("\n")
    );
    Ok(())
}

#[test]
fn golden_steady() -> TestResult {
    check_golden(&weir_tests::steady()?)
}

#[test]
fn golden_byterange() -> TestResult {
    check_golden(&weir_tests::byterange()?)
}

#[test]
fn golden_audio_only() -> TestResult {
    check_golden(&weir_tests::audio_only()?)
}

#[test]
fn golden_discontinuity() -> TestResult {
    check_golden(&weir_tests::discontinuity()?)
}

#[test]
fn golden_discontinuity_evicted() -> TestResult {
    check_golden(&weir_tests::discontinuity_evicted()?)
}

#[test]
fn golden_prefetch_discontinuity() -> TestResult {
    check_golden(&weir_tests::prefetch_discontinuity()?)
}

#[test]
fn golden_start_over() -> TestResult {
    check_golden(&weir_tests::start_over()?)
}

#[test]
fn golden_catch_up() -> TestResult {
    check_golden(&weir_tests::catch_up()?)
}

#[test]
fn no_media_is_not_ready() -> TestResult {
    let snap = weir_tests::no_media()?;
    let track = &snap.tracks[0];
    assert!(
        !track.segments.is_empty(),
        "the track has media in progress"
    );
    assert_eq!(track.last_complete_msn(), None);
    assert_eq!(
        manifest::hls::multivariant_playlist(&snap),
        Err(ManifestError::NotReady)
    );
    assert_eq!(
        manifest::hls::media_playlist(&snap, &track.meta.id, Skip::No),
        Err(ManifestError::NotReady)
    );
    assert_eq!(
        manifest::dash::mpd(&snap, &weir_tests::mpd_options()),
        Err(ManifestError::NotReady)
    );
    assert_eq!(
        manifest::hls::media_playlist(&snap, "nope", Skip::No),
        Err(ManifestError::UnknownTrack("nope".into()))
    );
    // Before the first media the wall clock is unknown: still not ready, never a panic.
    let unanchored = ChannelSnapshot {
        epoch_us: None,
        epoch_source: None,
        tracks: Vec::new(),
        ..snap
    };
    assert_eq!(
        manifest::dash::mpd(&unanchored, &weir_tests::mpd_options()),
        Err(ManifestError::NotReady)
    );
    assert_eq!(
        manifest::hls::multivariant_playlist(&unanchored),
        Err(ManifestError::NotReady)
    );
    Ok(())
}

#[test]
fn discontinuity_sequence_counts_held_but_unlisted_segments() -> TestResult {
    // At 40 s the discontinuous segment (msn 6) is still held (13 kept) but no longer
    // listed (window of 10), so it already counts.
    let snap = weir_tests::restarted(40_000)?.snapshot();
    for t in &snap.tracks {
        assert!(
            t.segment(6).is_some_and(|s| s.discontinuity),
            "{}",
            t.meta.id
        );
        let listed = manifest::listed_segments(t, &snap.config);
        assert_eq!(listed.first().map(|s| s.msn), Some(7), "{}", t.meta.id);
        let text = manifest::hls::media_playlist(&snap, &t.meta.id, Skip::No)?;
        assert!(
            text.contains("\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n"),
            "{}:\n{text}",
            t.meta.id
        );
        assert!(!text.contains("#EXT-X-DISCONTINUITY\n"), "{text}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Rules the rendered output must follow.
// ---------------------------------------------------------------------------------

/// The discontinuity sequence number expected for the first listed segment of `t`.
fn expected_discontinuity_sequence(t: &TrackSnapshot, first: &Segment) -> u64 {
    t.discontinuity_sequence
        + t.segments
            .iter()
            .filter(|s| s.msn < first.msn && s.discontinuity)
            .count() as u64
}

/// One parsed segment entry of a media playlist.
#[derive(Debug)]
struct PlaylistSegment {
    msn: u64,
    extinf: String,
    pdt: Option<String>,
    discontinuity: bool,
}

/// A media playlist read line by line (no parser of the renderer is reused).
#[derive(Debug, Default)]
struct MediaPlaylist {
    tags: Vec<String>,
    segments: Vec<PlaylistSegment>,
}

impl MediaPlaylist {
    fn parse(text: &str) -> Result<Self, String> {
        let mut p = MediaPlaylist::default();
        let mut extinf = None;
        let mut pdt = None;
        let mut disc = false;
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("#EXTINF:") {
                extinf = Some(v.trim_end_matches(',').to_string());
            } else if let Some(v) = line.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
                pdt = Some(v.to_string());
            } else if line == "#EXT-X-DISCONTINUITY" {
                disc = true;
            } else if line.starts_with('#') {
                p.tags.push(line.to_string());
            } else {
                let msn = line
                    .strip_prefix("seg-")
                    .and_then(|s| s.strip_suffix(".m4s"))
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| format!("unexpected URI line {line:?}"))?;
                let extinf = extinf
                    .take()
                    .ok_or_else(|| format!("segment {line} has no EXTINF"))?;
                p.segments.push(PlaylistSegment {
                    msn,
                    extinf,
                    pdt: pdt.take(),
                    discontinuity: std::mem::take(&mut disc),
                });
            }
        }
        Ok(p)
    }

    fn tag(&self, name: &str) -> Option<&str> {
        self.tags
            .iter()
            .find_map(|t| t.strip_prefix(name).and_then(|v| v.strip_prefix(':')))
    }
}

/// EXTINF value rounded to the nearest integer, parsed from its decimal text.
fn rounded_secs(extinf: &str) -> Result<u64, String> {
    let (whole, frac) = extinf.split_once('.').unwrap_or((extinf, ""));
    let whole: u64 = whole
        .parse()
        .map_err(|_| format!("bad EXTINF {extinf:?}"))?;
    let half_or_more = frac.chars().next().is_some_and(|c| c >= '5');
    Ok(whole + u64::from(half_or_more))
}

/// EXTINF value in microseconds (exact for up to 6 decimals).
fn extinf_micros(extinf: &str) -> Result<u64, String> {
    let (whole, frac) = extinf.split_once('.').unwrap_or((extinf, ""));
    if frac.len() > 6 {
        return Err(format!("EXTINF {extinf:?} has more than 6 decimals"));
    }
    let whole: u64 = whole
        .parse()
        .map_err(|_| format!("bad EXTINF {extinf:?}"))?;
    let frac_us: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}")
            .parse()
            .map_err(|_| format!("bad EXTINF {extinf:?}"))?
    };
    Ok(whole * 1_000_000 + frac_us)
}

fn scenarios() -> Result<Vec<Scenario>, Box<dyn Error>> {
    Ok(weir_tests::golden_scenarios()?)
}

/// A rendition's PDT for one MSN: (track id, kind, PDT text, wall clock µs).
type RenditionPdt = (String, MediaKind, Option<String>, i64);

#[test]
fn media_playlists_follow_hls_rules() -> TestResult {
    let mut problems = Vec::new();
    for sc in scenarios()? {
        let snap = &sc.snapshot;
        let window = usize::try_from(snap.config.window_segments)?;
        // msn -> (track, PDT text, wall clock µs), to compare renditions.
        let mut by_msn: BTreeMap<u64, Vec<RenditionPdt>> = BTreeMap::new();
        for t in &snap.tracks {
            let id = &t.meta.id;
            let at = format!("{}/{id}.m3u8", sc.name);
            let text = manifest::hls::media_playlist(snap, id, Skip::No)?;
            let mut fail = |m: String| problems.push(format!("{at}: {m}"));
            if !text.starts_with("#EXTM3U\n") {
                fail("does not start with #EXTM3U".into());
            }
            let p = MediaPlaylist::parse(&text)?;
            if p.tag("#EXT-X-VERSION") != Some("6") {
                fail(format!("EXT-X-VERSION is {:?}", p.tag("#EXT-X-VERSION")));
            }
            if p.tag("#EXT-X-TARGETDURATION") != Some("2") {
                fail(format!(
                    "EXT-X-TARGETDURATION is {:?}",
                    p.tag("#EXT-X-TARGETDURATION")
                ));
            }
            // The newest `window` complete segments (a start-over window is the widest
            // rendition's span: another may have one less).
            let expected = window.min(t.complete_count());
            if p.segments.len() != expected {
                fail(format!("{} segments, window is {window}", p.segments.len()));
            }
            let Some(first) = p.segments.first() else {
                continue;
            };
            let ms = p.tag("#EXT-X-MEDIA-SEQUENCE").map(str::to_string);
            if ms != Some(first.msn.to_string()) || first.msn == 0 {
                fail(format!(
                    "EXT-X-MEDIA-SEQUENCE {ms:?}, first segment {}",
                    first.msn
                ));
            }
            if p.segments.windows(2).any(|w| w[1].msn != w[0].msn + 1) {
                fail("segment numbers are not consecutive".into());
            }
            let listed = manifest::listed_segments(t, &snap.config);
            let Some(first_seg) = listed.first() else {
                fail("nothing listed".into());
                continue;
            };
            let ds = expected_discontinuity_sequence(t, first_seg).to_string();
            if p.tag("#EXT-X-DISCONTINUITY-SEQUENCE") != Some(ds.as_str()) {
                fail(format!(
                    "EXT-X-DISCONTINUITY-SEQUENCE {:?}, expected {ds}",
                    p.tag("#EXT-X-DISCONTINUITY-SEQUENCE")
                ));
            }
            for (ps, seg) in p.segments.iter().zip(&listed) {
                if ps.msn != seg.msn || ps.discontinuity != seg.discontinuity {
                    fail(format!("segment {} does not match the snapshot", ps.msn));
                }
                match rounded_secs(&ps.extinf) {
                    Ok(r) if r <= 2 => {}
                    Ok(r) => fail(format!(
                        "EXTINF {} of {} rounds to {r} > 2",
                        ps.extinf, ps.msn
                    )),
                    Err(e) => fail(e),
                }
                let wall = snap
                    .wallclock_us(seg.start, t.meta.timescale)
                    .ok_or("no wall clock")?;
                let expected_pdt = format_iso8601_micros(wall);
                if ps.pdt.as_deref() != Some(expected_pdt.as_str()) {
                    fail(format!(
                        "segment {} PDT {:?}, expected {expected_pdt}",
                        ps.msn, ps.pdt
                    ));
                }
                by_msn.entry(ps.msn).or_default().push((
                    id.clone(),
                    t.meta.kind,
                    ps.pdt.clone(),
                    wall,
                ));
            }
        }
        // Same MSN, same PDT across video renditions (same media clock, same cuts);
        // audio segments start at the first AAC frame at or after the same grid point,
        // so within one AAC frame (21.3 ms) after the video.
        for (msn, entries) in &by_msn {
            let videos: Vec<_> = entries.iter().filter(|e| e.1 == MediaKind::Video).collect();
            if let Some(v0) = videos.first() {
                for v in &videos[1..] {
                    if v.2 != v0.2 {
                        problems.push(format!(
                            "{}: msn {msn}: PDT {:?} of {} differs from {:?} of {}",
                            sc.name, v.2, v.0, v0.2, v0.0
                        ));
                    }
                }
                for a in entries.iter().filter(|e| e.1 == MediaKind::Audio) {
                    let lead = a.3 - v0.3;
                    if !(0..=21_334).contains(&lead) {
                        problems.push(format!(
                            "{}: msn {msn}: audio PDT {:?} is {lead} µs from video {:?}",
                            sc.name, a.2, v0.2
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// Parses `KEY=VALUE,KEY="VALUE",…` (quoted values may contain commas).
fn attribute_list(list: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = list;
    while let Some((key, after)) = rest.split_once('=') {
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (&q[..end], q.get(end + 1..).unwrap_or(""))
        } else {
            after.split_once(',').map_or((after, ""), |(v, n)| (v, n))
        };
        out.insert(key.to_string(), value.to_string());
        rest = next.strip_prefix(',').unwrap_or(next);
    }
    out
}

#[test]
fn multivariant_playlists_follow_hls_rules() -> TestResult {
    let mut problems = Vec::new();
    for sc in scenarios()? {
        let snap = &sc.snapshot;
        let text = manifest::hls::multivariant_playlist(snap)?;
        let mut fail = |m: String| problems.push(format!("{}/master.m3u8: {m}", sc.name));
        if !text.starts_with("#EXTM3U\n#EXT-X-VERSION:6\n") {
            fail("does not start with #EXTM3U, #EXT-X-VERSION:6".into());
        }
        let videos: Vec<_> = snap.tracks_of(MediaKind::Video).collect();
        let audios: Vec<_> = snap.tracks_of(MediaKind::Audio).collect();
        let audio_peak = audios.iter().map(|a| a.meta.bandwidth).max().unwrap_or(0);
        let lines: Vec<&str> = text.lines().collect();
        let mut variants = 0;
        for (i, line) in lines.iter().enumerate() {
            let Some(list) = line.strip_prefix("#EXT-X-STREAM-INF:") else {
                continue;
            };
            variants += 1;
            let attrs = attribute_list(list);
            let uri = lines.get(i + 1).copied().unwrap_or("");
            // A start-over playlist's variants carry its span, and only then a query.
            let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
            let carried = snap.start_over.as_ref().map_or("", |s| s.query.as_str());
            if query != carried {
                fail(format!(
                    "variant URI {uri:?} carries {query:?}, not {carried:?}"
                ));
            }
            let id = path.strip_suffix("/index.m3u8").unwrap_or(path);
            let Some(t) = snap.track(id) else {
                fail(format!("variant URI {uri:?} names no track"));
                continue;
            };
            let codecs: Vec<&str> = attrs
                .get("CODECS")
                .map(|c| c.split(',').collect())
                .unwrap_or_default();
            let bandwidth: u64 = attrs
                .get("BANDWIDTH")
                .and_then(|b| b.parse().ok())
                .unwrap_or(0);
            if t.meta.kind == MediaKind::Video {
                if !codecs.contains(&t.meta.codec.as_str()) {
                    fail(format!("{id}: CODECS {codecs:?} lacks the video codec"));
                }
                for a in &audios {
                    if !codecs.contains(&a.meta.codec.as_str()) {
                        fail(format!("{id}: CODECS {codecs:?} lacks {}", a.meta.codec));
                    }
                }
                if bandwidth != t.meta.bandwidth + audio_peak {
                    fail(format!(
                        "{id}: BANDWIDTH {bandwidth} != {} + {audio_peak}",
                        t.meta.bandwidth
                    ));
                }
                if !audios.is_empty() && attrs.get("AUDIO").map(String::as_str) != Some("audio") {
                    fail(format!("{id}: no AUDIO group"));
                }
            } else if bandwidth != t.meta.bandwidth || codecs != [t.meta.codec.as_str()] {
                fail(format!("{id}: audio-only variant {attrs:?}"));
            }
        }
        let expected = if videos.is_empty() {
            audios.len()
        } else {
            videos.len()
        };
        if variants != expected {
            fail(format!("{variants} variants, expected {expected}"));
        }
        if !videos.is_empty() {
            let media = lines
                .iter()
                .filter(|l| l.starts_with("#EXT-X-MEDIA:TYPE=AUDIO"))
                .count();
            if media != audios.len() {
                fail(format!("{media} EXT-X-MEDIA, expected {}", audios.len()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// One element of the rendered MPD: the writer puts every element on its own line.
#[derive(Debug)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
}

impl Element {
    fn get(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Start tags of the MPD, in document order (attribute values are not unescaped).
fn elements(mpd: &str) -> Vec<Element> {
    let mut out = Vec::new();
    for line in mpd.lines() {
        let line = line.trim();
        let Some(body) = line.strip_prefix('<') else {
            continue;
        };
        if body.starts_with('/') || body.starts_with('?') {
            continue;
        }
        let body = body.trim_end_matches('>').trim_end_matches('/');
        let (name, mut rest) = body.split_once(' ').unwrap_or((body, ""));
        let mut attrs = Vec::new();
        while let Some((k, after)) = rest.split_once("=\"") {
            let Some((v, next)) = after.split_once('"') else {
                break;
            };
            attrs.push((k.trim().to_string(), v.to_string()));
            rest = next;
        }
        out.push(Element {
            name: name.to_string(),
            attrs,
        });
    }
    out
}

#[test]
fn mpds_follow_dash_rules() -> TestResult {
    let mut problems = Vec::new();
    for sc in scenarios()? {
        let snap = &sc.snapshot;
        let text = manifest::dash::mpd(snap, &weir_tests::mpd_options())?;
        let mut fail = |m: String| problems.push(format!("{}/manifest.mpd: {m}", sc.name));
        let els = elements(&text);
        let Some(root) = els.first().filter(|e| e.name == "MPD") else {
            fail("root element is not MPD".into());
            continue;
        };
        if root.attrs.first().map(|(k, _)| k.as_str()) != Some("xmlns")
            || root.get("xmlns") != Some("urn:mpeg:dash:schema:mpd:2011")
        {
            fail("xmlns is not the first attribute of MPD".into());
        }
        if root.get("type") != Some("dynamic") {
            fail(format!("type {:?}", root.get("type")));
        }
        let epoch = format_iso8601_micros(weir_tests::EPOCH_US);
        if root.get("availabilityStartTime") != Some(epoch.as_str()) {
            fail(format!(
                "availabilityStartTime {:?}, expected {epoch}",
                root.get("availabilityStartTime")
            ));
        }
        // The low-latency service: a ServiceDescription with a target in ms, and a
        // ProducerReferenceTime in every Adaptation Set.
        match els.iter().find(|e| e.name == "Latency") {
            Some(l)
                if l.get("target")
                    .and_then(|v| v.parse::<u64>().ok())
                    .is_some() => {}
            other => fail(format!(
                "no Latency@target in ms: {:?}",
                other.map(|e| &e.attrs)
            )),
        }
        let sets = els.iter().filter(|e| e.name == "AdaptationSet").count();
        let prfts = els
            .iter()
            .filter(|e| e.name == "ProducerReferenceTime")
            .count();
        if prfts != sets {
            fail(format!(
                "{prfts} ProducerReferenceTime for {sets} AdaptationSets"
            ));
        }
        // Walk Period -> Representation -> SegmentTemplate; a Representation appears
        // once per Period. With `$Number$` and `@duration`, segment n of a Period is
        // addressed at Period@start + (n - startNumber) × duration: every segment the
        // track holds must start there (IOP: within 50 % of the duration; weir's cut
        // points are within one frame, audio's one frame of 1024 samples).
        let mut period_start_s = 0.0f64;
        let mut period_id = 0u64;
        let mut seen: Vec<String> = Vec::new();
        let mut checked = 0usize;
        let mut track: Option<&TrackSnapshot> = None;
        for e in &els {
            match e.name.as_str() {
                "Period" => {
                    period_start_s = e.get("start").and_then(xs_duration_secs).unwrap_or(-1.0);
                    period_id = e.get("id").and_then(|v| v.parse().ok()).unwrap_or(u64::MAX);
                }
                "S" | "SegmentTimeline" => fail("SegmentTimeline with number+duration".into()),
                "Representation" => {
                    let id = e.get("id").unwrap_or("");
                    track = snap.track(id);
                    if track.is_none() {
                        fail(format!("Representation {id} names no track"));
                    }
                    if !seen.iter().any(|s| s == id) {
                        seen.push(id.to_string());
                    }
                }
                "SegmentTemplate" => {
                    let Some(t) = track else { continue };
                    let id = &t.meta.id;
                    let num = |k: &str| e.get(k).and_then(|v| v.parse::<u64>().ok());
                    let (Some(ts), Some(d), Some(first)) =
                        (num("timescale"), num("duration"), num("startNumber"))
                    else {
                        fail(format!("{id}: SegmentTemplate {:?}", e.attrs));
                        continue;
                    };
                    let pto = num("presentationTimeOffset").unwrap_or(0);
                    let d_s = d as f64 / ts as f64;
                    if ((pto as f64 / ts as f64) - period_start_s).abs() > 1e-5 {
                        fail(format!(
                            "{id}: PTO {pto}/{ts} != Period@start {period_start_s}"
                        ));
                    }
                    let ato = e
                        .get("availabilityTimeOffset")
                        .and_then(|v| v.parse::<f64>().ok());
                    if !ato.is_some_and(|a| a > 0.0 && a < d_s)
                        || e.get("availabilityTimeComplete") != Some("false")
                    {
                        fail(format!("{id}: availability {:?}", e.attrs));
                    }
                    let frame_s = if t.meta.kind == MediaKind::Audio {
                        1024.0 / t.meta.sample_rate.max(1) as f64
                    } else {
                        t.meta.frame_duration as f64 / t.meta.timescale as f64
                    };
                    for s in t.segments.iter().filter(|s| t.period_of(s) == period_id) {
                        if s.msn < first {
                            fail(format!(
                                "{id}: segment {} before startNumber {first}",
                                s.msn
                            ));
                            continue;
                        }
                        let nominal = period_start_s + (s.msn - first) as f64 * d_s;
                        let actual = s.start as f64 / t.meta.timescale as f64;
                        checked += 1;
                        if (actual - nominal).abs() > frame_s + 1e-6 {
                            fail(format!(
                                "{id}: segment {} starts at {actual} s, addressed at {nominal} s",
                                s.msn
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        if checked == 0 {
            fail("no segment was checked".into());
        }
        if seen.len() != snap.tracks.len() {
            fail(format!(
                "{} Representations, {} tracks",
                seen.len(),
                snap.tracks.len()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// Seconds of an `xs:duration` of the form `PT{secs}S`.
fn xs_duration_secs(v: &str) -> Option<f64> {
    v.strip_prefix("PT")?.strip_suffix('S')?.parse().ok()
}

/// One row of the EXTINF-sum table: scenario, track, listed segment count.
struct SumCase {
    scenario: &'static str,
    track: &'static str,
    segments: usize,
}

#[test]
fn extinf_sums_match_segment_durations() -> TestResult {
    let cases = [
        SumCase {
            scenario: "steady",
            track: "v360",
            segments: 10,
        },
        SumCase {
            scenario: "steady",
            track: "v180",
            segments: 10,
        },
        SumCase {
            scenario: "steady",
            track: "aac",
            segments: 10,
        },
        SumCase {
            scenario: "audio_only",
            track: "aac",
            segments: 10,
        },
        SumCase {
            scenario: "discontinuity",
            track: "v360",
            segments: 10,
        },
        SumCase {
            scenario: "discontinuity",
            track: "aac",
            segments: 10,
        },
        SumCase {
            scenario: "discontinuity_evicted",
            track: "v180",
            segments: 10,
        },
        SumCase {
            scenario: "discontinuity_evicted",
            track: "aac",
            segments: 10,
        },
    ];
    let all = scenarios()?;
    for case in &cases {
        let sc = all
            .iter()
            .find(|s| s.name == case.scenario)
            .ok_or_else(|| format!("no scenario {}", case.scenario))?;
        let t = sc
            .snapshot
            .track(case.track)
            .ok_or_else(|| format!("no track {} in {}", case.track, case.scenario))?;
        let listed = manifest::listed_segments(t, &sc.snapshot.config);
        let text = manifest::hls::media_playlist(&sc.snapshot, case.track, Skip::No)?;
        let p = MediaPlaylist::parse(&text)?;
        assert_eq!(
            p.segments.len(),
            case.segments,
            "{}/{}",
            case.scenario,
            case.track
        );
        assert_eq!(
            listed.len(),
            case.segments,
            "{}/{}",
            case.scenario,
            case.track
        );
        let mut extinf_sum = 0u64;
        for s in &p.segments {
            extinf_sum += extinf_micros(&s.extinf)?;
        }
        // Exact sum of the listed durations in µs, rounded to nearest once.
        let ticks: u64 = listed.iter().map(|s| s.duration).sum();
        let ts = u128::from(t.meta.timescale);
        let exact_us = u64::try_from((u128::from(ticks) * 2_000_000 + ts) / (2 * ts))?;
        let tolerance = 10 * case.segments as u64;
        assert!(
            extinf_sum.abs_diff(exact_us) <= tolerance,
            "{}/{}: EXTINF sum {extinf_sum} µs vs segments {exact_us} µs (tolerance {tolerance})",
            case.scenario,
            case.track
        );
        // Cross-check the µs conversion helper the renderers share.
        assert!(to_micros(ticks, t.meta.timescale).abs_diff(exact_us) <= 1);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Independent tools over the golden files.
// ---------------------------------------------------------------------------------

/// Golden files of every scenario with extension `ext`, failing when a scenario has
/// none (so a missing directory never makes a check pass vacuously).
fn golden_files(ext: &str) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    let mut files = Vec::new();
    for sc in scenarios()? {
        let dir = golden_root().join(sc.name);
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e} (run with UPDATE_GOLDEN=1)", dir.display()))?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .collect();
        if found.is_empty() {
            return Err(format!("no .{ext} golden file in {}", dir.display()).into());
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// The Python with the test packages: the project venv made by `make test`, else `python3`.
fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python3");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Runs `cmd`; `Ok(None)` when its program is not installed.
fn run_tool(cmd: &mut Command) -> Result<Option<std::process::Output>, Box<dyn Error>> {
    match cmd.output() {
        Ok(out) => Ok(Some(out)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot run {cmd:?}: {e}").into()),
    }
}

/// Golden HESP manifests validate against the JSON Schema written from the draft
/// (`tests/hesp/manifest.schema.json`) and pass the semantic checks of
/// `tests/scripts/check_hesp.py` (python `jsonschema`, which `make test` installs).
#[test]
fn golden_hesp_manifests_validate_against_the_draft_schema() -> TestResult {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = golden_files("json")?;
    let out = run_tool(
        Command::new(python())
            .arg(root.join("scripts/check_hesp.py"))
            .arg(root.join("hesp/manifest.schema.json"))
            .args(&files),
    )?
    .ok_or("python3 is not installed (run `make test`)")?;
    assert!(
        out.status.success(),
        "HESP manifests fail the schema:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[test]
fn golden_mpds_validate_against_dash_schema() -> TestResult {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/xsd/DASH-MPD.local.xsd");
    if run_tool(Command::new("xmllint").arg("--version"))?.is_none() {
        return Err(
            "xmllint is not installed (run `make test`, which installs libxml2-utils)".into(),
        );
    }
    if !schema.is_file() {
        return Err(format!("vendored schema missing: {}", schema.display()).into());
    }
    for file in golden_files("mpd")? {
        let out = run_tool(
            Command::new("xmllint")
                .arg("--noout")
                .arg("--schema")
                .arg(&schema)
                .arg(&file),
        )?
        .ok_or("xmllint disappeared")?;
        assert!(
            out.status.success(),
            "{} is not valid against DASH-MPD.xsd:\n{}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// What the golden playlists of a scenario should report when parsed independently:
/// file name -> (segments, media sequence, variant count).
fn expected_m3u8(sc: &Scenario) -> BTreeMap<String, (u64, Option<u64>, u64)> {
    let snap = &sc.snapshot;
    let mut out = BTreeMap::new();
    let videos = snap.tracks_of(MediaKind::Video).count() as u64;
    let variants = if videos > 0 {
        videos
    } else {
        snap.tracks_of(MediaKind::Audio).count() as u64
    };
    out.insert("master.m3u8".to_string(), (0, None, variants));
    out.insert("lhls-master.m3u8".to_string(), (0, None, variants));
    for t in &snap.tracks {
        let listed = manifest::listed_segments(t, &snap.config);
        out.insert(
            format!("{}.lhls.m3u8", t.meta.id),
            (listed.len() as u64, listed.first().map(|s| s.msn), 0),
        );
    }
    for t in &snap.tracks {
        let listed = manifest::listed_segments(t, &snap.config);
        out.insert(
            format!("{}.m3u8", t.meta.id),
            (listed.len() as u64, listed.first().map(|s| s.msn), 0),
        );
        // A delta skips the segments that end at least CAN-SKIP-UNTIL (6 x TD = 12 s)
        // before the end of the last complete segment.
        // A complete playlist has no server control: asked for a delta, it is whole.
        let last_end = listed.last().map_or(0, |s| s.end());
        let boundary = last_end.saturating_sub(12 * u64::from(t.meta.timescale));
        let ended = snap.start_over.as_ref().is_some_and(|s| s.ended);
        let skipped = if ended {
            0
        } else {
            listed.iter().filter(|s| s.end() <= boundary).count()
        };
        out.insert(
            format!("{}.delta.m3u8", t.meta.id),
            (
                (listed.len() - skipped) as u64,
                listed.first().map(|s| s.msn),
                0,
            ),
        );
    }
    out
}

/// [LHLS] (protocols.md §4.2): prefetch entries come after every complete segment,
/// carry no EXTINF and no EXT-X-MAP directly before them (only
/// EXT-X-PREFETCH-DISCONTINUITY may), number on from the last complete segment, and
/// the playlist announces the segment in progress and the next one.
#[test]
fn lhls_playlists_follow_lhls_rules() -> TestResult {
    let mut problems = Vec::new();
    for sc in scenarios()? {
        for t in &sc.snapshot.tracks {
            let text = manifest::hls::lhls_media_playlist(&sc.snapshot, &t.meta.id)?;
            let mut fail = |m: String| problems.push(format!("{}/{}: {m}", sc.name, t.meta.id));
            let lines: Vec<&str> = text.lines().collect();
            // A complete (catch-up) playlist announces nothing more.
            if lines.last() == Some(&"#EXT-X-ENDLIST") {
                if lines.iter().any(|l| l.starts_with("#EXT-X-PREFETCH")) {
                    fail("EXT-X-PREFETCH in a playlist with EXT-X-ENDLIST".into());
                }
                continue;
            }
            let Some(first) = lines.iter().position(|l| l.starts_with("#EXT-X-PREFETCH:")) else {
                fail("no EXT-X-PREFETCH".into());
                continue;
            };
            let tail = &lines[first..];
            for (i, l) in tail.iter().enumerate() {
                let ok = l.starts_with("#EXT-X-PREFETCH:")
                    || (*l == "#EXT-X-PREFETCH-DISCONTINUITY"
                        && tail
                            .get(i + 1)
                            .is_some_and(|n| n.starts_with("#EXT-X-PREFETCH:")));
                if !ok {
                    fail(format!("after the first prefetch: {l:?}"));
                }
            }
            if lines[..first]
                .last()
                .is_some_and(|l| l.starts_with("#EXT-X-MAP"))
            {
                fail("EXT-X-MAP directly before a prefetch".into());
            }
            let last_complete = lines[..first]
                .iter()
                .rev()
                .find_map(|l| l.strip_prefix("seg-").and_then(|l| l.strip_suffix(".m4s")))
                .and_then(|n| n.parse::<u64>().ok());
            let prefetched: Vec<u64> = tail
                .iter()
                .filter_map(|l| l.strip_prefix("#EXT-X-PREFETCH:seg-"))
                .filter_map(|l| l.strip_suffix(".m4s").and_then(|n| n.parse().ok()))
                .collect();
            let want: Vec<u64> = last_complete.map_or(Vec::new(), |m| vec![m + 1, m + 2]);
            if prefetched != want {
                fail(format!("prefetches {prefetched:?}, expected {want:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

#[test]
fn golden_playlists_parse_with_python_m3u8() -> TestResult {
    match run_tool(Command::new(python()).args(["-c", "import m3u8"]))? {
        Some(out) if out.status.success() => {}
        _ => {
            return Err(
                "python m3u8 is not available (run `make test`, which installs it in .venv)".into(),
            );
        }
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_m3u8.py");
    let files = golden_files("m3u8")?;
    let out =
        run_tool(Command::new(python()).arg(&script).args(&files))?.ok_or("python3 disappeared")?;
    assert!(
        out.status.success(),
        "check_m3u8.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let mut checked = 0;
    for sc in scenarios()? {
        let dir = golden_root().join(sc.name);
        for (file, (segments, media_sequence, playlists)) in expected_m3u8(&sc) {
            let key = dir.join(&file);
            let key = key.to_str().ok_or("non-UTF-8 path")?;
            let got = report
                .get(key)
                .ok_or_else(|| format!("check_m3u8.py did not report {key}"))?;
            let num = |k: &str| got.get(k).and_then(serde_json::Value::as_u64);
            assert_eq!(num("segments"), Some(segments), "{key}: segments");
            assert_eq!(num("playlists"), Some(playlists), "{key}: playlists");
            if let Some(ms) = media_sequence {
                assert_eq!(num("media_sequence"), Some(ms), "{key}: media_sequence");
                assert_eq!(num("target_duration"), Some(2), "{key}: target_duration");
                let ended = sc.snapshot.start_over.as_ref().is_some_and(|s| s.ended);
                if file.ends_with(".lhls.m3u8") || ended {
                    // Plain HLS to a parser that knows no L-HLS, and a complete catch-up
                    // playlist: no low-latency tags.
                    assert_eq!(got["can_block_reload"], false, "{key}");
                    assert_eq!(num("parts"), Some(0), "{key}: parts");
                    assert_eq!(num("preload_hints"), Some(0), "{key}: hints");
                    checked += 1;
                    continue;
                }
                // The low-latency tags, as an independent parser reads them.
                let float = |k: &str| got.get(k).and_then(serde_json::Value::as_f64);
                assert_eq!(got["can_block_reload"], true, "{key}: CAN-BLOCK-RELOAD");
                assert_eq!(float("part_target"), Some(0.2), "{key}: PART-TARGET");
                assert_eq!(float("part_hold_back"), Some(0.6), "{key}: PART-HOLD-BACK");
                assert_eq!(float("can_skip_until"), Some(12.0), "{key}: CAN-SKIP-UNTIL");
                assert_eq!(num("preload_hints"), Some(1), "{key}: PRELOAD-HINT");
                let others = sc.snapshot.tracks.len() as u64 - 1;
                assert_eq!(num("rendition_reports"), Some(others), "{key}: reports");
                assert!(num("parts").unwrap_or(0) > 0, "{key}: parts");
                if file.ends_with(".delta.m3u8") {
                    let full = report[dir.join(file.replace(".delta", "")).to_str().unwrap_or("")]
                        ["segments"]
                        .as_u64();
                    let skipped = full.unwrap_or(0) - segments;
                    let want = (skipped > 0).then_some(skipped);
                    assert_eq!(num("skipped_segments"), want, "{key}: EXT-X-SKIP");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, files.len(), "every golden playlist is checked");
    Ok(())
}

#[test]
fn mismatch_message_names_the_first_differing_line() {
    assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
    let msg = first_difference("a\nb\nc\n", "a\nB\nc\n").unwrap_or_default();
    assert!(msg.contains("line 2"), "{msg}");
    assert!(
        msg.contains("\"b\\n\"") && msg.contains("\"B\\n\""),
        "{msg}"
    );
    let msg = first_difference("a\n", "a\nextra\n").unwrap_or_default();
    assert!(
        msg.contains("line 2") && msg.contains("<end of file>"),
        "{msg}"
    );
}
