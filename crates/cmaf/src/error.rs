//! The single error type of this crate.
//!
//! Every message is one line of plain text, because the origin sends it to the
//! ingesting encoder as the reason of a 4xx response.

/// Everything that can go wrong while reading or validating CMAF input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmafError {
    /// The body does not start with a plausible ISO-BMFF box (for example an
    /// HTML or XML error page was uploaded instead of media).
    #[error("not an MP4 stream: first box type is \"{found}\"")]
    NotMp4 {
        /// The first four type bytes, non-printable bytes escaped.
        found: String,
    },
    /// A box declares a size larger than the configured limit.
    #[error("box '{kind}' declares {size} bytes, limit is {max}")]
    BoxTooLarge {
        /// The box type, non-printable bytes escaped.
        kind: String,
        /// The declared total size, header included.
        size: u64,
        /// The limit in force.
        max: u64,
    },
    /// A structurally invalid box or field.
    #[error("malformed {context}: {reason}")]
    Malformed {
        /// What was being decoded (usually a box type such as "trun").
        context: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// A `moof` declares more samples (over all its `traf` and `trun`
    /// boxes) than the configured limit; see [`crate::fragment::DEFAULT_MAX_SAMPLES`].
    #[error("moof declares {count} samples, limit is {max}")]
    TooManySamples {
        /// The sample_count fields of all `trun` boxes of the `moof`, added up.
        count: u64,
        /// The limit in force.
        max: u32,
    },
    /// The input ended in the middle of a box.
    #[error("truncated '{kind}' box: have {have} of {need} bytes")]
    Truncated {
        /// The type of the unfinished box ("????" if even its header is incomplete).
        kind: String,
        /// Bytes of the box that were received.
        have: u64,
        /// Bytes the box declares (8 while the header itself is incomplete).
        need: u64,
    },
    /// A media segment (`moof`) arrived before any init segment (`moov`).
    #[error("media segment received before an init segment (no moov yet)")]
    MissingInit,
    /// A track fragment has no `tfdt` box, so its samples cannot be placed on the timeline.
    #[error("track fragment has no tfdt (baseMediaDecodeTime is required)")]
    MissingTfdt,
    /// A track fragment names a track that the init segment does not declare.
    #[error("track fragment references unknown track_id {0}")]
    UnknownTrack(u32),
    /// Valid ISO-BMFF that this packager does not handle.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl CmafError {
    /// Shorthand for [`CmafError::Malformed`].
    pub(crate) fn malformed(context: &'static str, reason: impl Into<String>) -> Self {
        CmafError::Malformed {
            context,
            reason: reason.into(),
        }
    }
}

/// Renders a four-character code for messages: printable ASCII as is,
/// everything else escaped (`\x00`, `\n`, `\"`...), so it is always one line.
pub(crate) fn fourcc_str(kind: &[u8]) -> String {
    kind.iter()
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_single_line() {
        let e = CmafError::NotMp4 {
            found: fourcc_str(b"<?xm"),
        };
        assert_eq!(
            e.to_string(),
            "not an MP4 stream: first box type is \"<?xm\""
        );
        let e = CmafError::BoxTooLarge {
            kind: fourcc_str(b"mdat"),
            size: 4_294_967_295,
            max: 16_777_216,
        };
        assert_eq!(
            e.to_string(),
            "box 'mdat' declares 4294967295 bytes, limit is 16777216"
        );
        assert_eq!(fourcc_str(b"a\nb\x00"), "a\\nb\\x00");
        assert!(!fourcc_str(&[b'"', 10, 13, 0xff]).contains('\n'));
    }
}
