//! Signed playback URLs: one rule for the edge component and the native edge node.
//!
//! A signed URL puts a token in front of the path, `/s/{expires}-{signature}/{channel}/…`.
//! The token covers one channel until `expires` (Unix seconds); the signature is
//! HMAC-SHA256 over `"{expires}:{channel}"` with the operator's key, base64url without
//! padding. Every URI weir's manifests carry is relative, so a player resolves variant
//! playlists, segments, parts, the MPD's segments and HESP's packets under the same
//! prefix: one token per viewer for the whole session, without rewriting manifests.
//!
//! The edge checks the token and strips it: what is cached and what the origin sees is
//! the plain path, so every viewer's token names the same cached object
//! ([edge-cache.md §1.7]: per-viewer parameters never enter the key).
//!
//! Paths that carry no content stay open: the time source (`/time`, which the MPD's
//! UTCTiming resolves to) and the player page's static scripts.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The first path segment of a signed URL.
pub const PREFIX: &str = "s";

/// The environment variable (component and node) holding the signing key; unset or
/// empty means playback is open.
pub const KEY_VAR: &str = "WEIR_PLAYBACK_KEY";

/// Why a playback request is refused (all 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignedError {
    /// The path has no token and is not one of the open ones.
    #[error("a signed URL is required: /s/{{expires}}-{{signature}}/{{channel}}/...")]
    Missing,
    /// The token is not `{expires}-{signature}`.
    #[error("malformed playback token")]
    Malformed,
    /// The token's time is past.
    #[error("playback token expired at {0}")]
    Expired(u64),
    /// The signature does not match the channel and time (wrong key, another
    /// channel's token, or an edited URL).
    #[error("playback token does not match this channel")]
    BadSignature,
}

/// The token for `channel` until `expires` (Unix seconds): `{expires}-{signature}`.
pub fn token(key: &[u8], channel: &str, expires: u64) -> String {
    let sig = mac(key, channel, expires).finalize().into_bytes();
    format!("{expires}-{}", URL_SAFE_NO_PAD.encode(sig))
}

/// The signed form of `path` (which starts with `/{channel}/`, a valid channel name)
/// until `expires`; `None` for a path that names no channel.
pub fn sign_path(key: &[u8], path: &str, expires: u64) -> Option<String> {
    let tail = path.strip_prefix('/')?;
    let channel = channel_of(tail)?;
    Some(format!("/{PREFIX}/{}/{tail}", token(key, channel, expires)))
}

/// The channel a signed path's tail (`{channel}/...`, after the token) names: a valid
/// channel name followed by at least one more segment, in canonical form (no empty,
/// `.` or `..` segment, no percent-encoding). Anything else names no channel, so that
/// no spelling of a path can reach another channel's content than the one signed,
/// whatever normalizes it further on.
fn channel_of(tail: &str) -> Option<&str> {
    let mut segments = tail.split('/');
    let channel = segments.next()?;
    let mut rest = segments.peekable();
    rest.peek()?;
    let canonical = tail
        .split('/')
        .all(|s| !s.is_empty() && s != "." && s != "..")
        && !tail.contains('%');
    (crate::policy::valid_name(channel) && canonical).then_some(channel)
}

/// Checks `path` at `now` (Unix seconds) and returns the path without its token: what
/// is routed, cached and fetched from the origin.
pub fn check<'a>(key: &[u8], path: &'a str, now: u64) -> Result<&'a str, SignedError> {
    let Some(rest) = path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(PREFIX))
        .and_then(|p| p.strip_prefix('/'))
    else {
        return if is_open(path) {
            Ok(path)
        } else {
            Err(SignedError::Missing)
        };
    };
    let (tok, tail) = rest.split_once('/').ok_or(SignedError::Malformed)?;
    let unsigned = &rest[tok.len()..];
    // The time source resolves under the prefix too (`../time` from the MPD).
    if is_open(unsigned) {
        return Ok(unsigned);
    }
    let (expires, sig) = tok.split_once('-').ok_or(SignedError::Malformed)?;
    let expires: u64 = expires.parse().map_err(|_| SignedError::Malformed)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| SignedError::Malformed)?;
    let channel = channel_of(tail).ok_or(SignedError::Malformed)?;
    // Constant time: `verify_slice` compares without an early exit.
    mac(key, channel, expires)
        .verify_slice(&sig)
        .map_err(|_| SignedError::BadSignature)?;
    if now >= expires {
        return Err(SignedError::Expired(expires));
    }
    Ok(unsigned)
}

/// `path` as logs may show it: a signed path's token replaced by `-`, so a log line
/// never hands out a working URL.
pub fn redacted(path: &str) -> std::borrow::Cow<'_, str> {
    let prefix = format!("/{PREFIX}/");
    match path.strip_prefix(&prefix).and_then(|r| r.split_once('/')) {
        Some((_, rest)) => format!("{prefix}-/{rest}").into(),
        None => path.into(),
    }
}

/// Paths served without a token: the time source and the player page's scripts,
/// exactly as the origin routes them (`/vendor/{package}/...` for its three player
/// packages only: `/vendor/master.m3u8` is channel `vendor`'s and needs a token).
fn is_open(path: &str) -> bool {
    if path == "/time" || path == "/hesp.js" {
        return true;
    }
    let Some(rest) = path.strip_prefix("/vendor/") else {
        return false;
    };
    let mut parts = rest.split('/');
    let package = parts.next().unwrap_or("");
    let file: Vec<&str> = parts.collect();
    matches!(package, "hls.js" | "dashjs" | "shaka-player")
        && !file.is_empty()
        && file.iter().all(|p| !p.is_empty() && !p.starts_with('.'))
}

fn mac(key: &[u8], channel: &str, expires: u64) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    m.update(format!("{expires}:{channel}").as_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"operator key";

    #[test]
    fn a_signed_path_checks_until_it_expires() {
        let p = sign_path(KEY, "/live/master.m3u8", 2_000).unwrap();
        assert!(p.starts_with("/s/2000-"), "{p}");
        assert_eq!(check(KEY, &p, 1_999), Ok("/live/master.m3u8"));
        assert_eq!(check(KEY, &p, 2_000), Err(SignedError::Expired(2_000)));
        // Relative URIs resolve under the token: one token covers the channel.
        let seg = p.replace("master.m3u8", "v1/p0/seg-12.m4s");
        assert_eq!(check(KEY, &seg, 10), Ok("/live/v1/p0/seg-12.m4s"));
    }

    #[test]
    fn edits_other_channels_other_keys_and_missing_tokens_are_refused() {
        let p = sign_path(KEY, "/live/master.m3u8", 2_000).unwrap();
        let other = p.replace("/live/", "/other/");
        assert_eq!(check(KEY, &other, 10), Err(SignedError::BadSignature));
        let later = p.replace("/s/2000-", "/s/9000-");
        // No token for "no channel", and no spelling of a path that leaves the signed
        // channel (an empty channel, dot segments, percent-encoding, empty segments).
        assert_eq!(sign_path(KEY, "/", 2_000), None);
        assert_eq!(sign_path(KEY, "/live", 2_000), None);
        let root = format!(
            "/s/2000-{}",
            token(KEY, "", 2_000).split_once('-').unwrap().1
        );
        let tok_live = p.split('/').nth(2).unwrap().to_string();
        for sneaky in [
            format!("{root}//other/master.m3u8"),
            format!("/s/{tok_live}/live/../other/master.m3u8"),
            format!("/s/{tok_live}/live/./master.m3u8"),
            format!("/s/{tok_live}/live//master.m3u8"),
            format!("/s/{tok_live}/live/%2e%2e/other/master.m3u8"),
        ] {
            assert_eq!(
                check(KEY, &sneaky, 10),
                Err(SignedError::Malformed),
                "{sneaky}"
            );
        }
        assert_eq!(check(KEY, &later, 10), Err(SignedError::BadSignature));
        assert_eq!(check(b"other key", &p, 10), Err(SignedError::BadSignature));
        assert_eq!(
            check(KEY, "/live/master.m3u8", 10),
            Err(SignedError::Missing)
        );
        for bad in [
            "/s/x/live/a",
            "/s/12-@@/live/a",
            "/s/12",
            "/s/12-abc/live/a",
        ] {
            assert!(
                matches!(
                    check(KEY, bad, 10),
                    Err(SignedError::Malformed | SignedError::BadSignature)
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn logs_see_no_token() {
        let p = sign_path(KEY, "/live/master.m3u8", 2_000).unwrap();
        assert_eq!(redacted(&p), "/s/-/live/master.m3u8");
        assert_eq!(redacted("/live/master.m3u8"), "/live/master.m3u8");
    }

    #[test]
    fn the_clock_and_scripts_stay_open() {
        assert_eq!(check(KEY, "/time", 10), Ok("/time"));
        assert_eq!(check(KEY, "/s/anything/time", 10), Ok("/time"));
        assert_eq!(
            check(KEY, "/vendor/hls.js/hls.min.js", 10),
            Ok("/vendor/hls.js/hls.min.js")
        );
        // A channel named `vendor` is a channel like any other.
        for closed in [
            "/vendor/master.m3u8",
            "/vendor/v1/seg-1.m4s",
            "/vendor/dashjs/",
        ] {
            assert_eq!(
                check(KEY, closed, 10),
                Err(SignedError::Missing),
                "{closed}"
            );
        }
    }
}
