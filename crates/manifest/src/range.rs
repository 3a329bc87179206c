//! Byte ranges of media objects: the `Range` header as weir's origin and edge read it.

/// RFC 8673: the last-byte-pos a client sends for "from here to whatever comes"
/// (2^53 − 1, the largest integer JavaScript represents exactly).
pub const OPEN_END: u64 = (1 << 53) - 1;

/// One byte range `start..=end` (`end` None: open-ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte, inclusive; None when open-ended (absent or 2^53 − 1).
    pub end: Option<u64>,
}

impl ByteRange {
    /// Parses a single `bytes=a-b` / `bytes=a-` range. Multi-range and suffix ranges
    /// are not used by HLS clients and yield None (the header is then ignored, as RFC
    /// 9110 §14.2 permits).
    pub fn parse(header: &str) -> Option<ByteRange> {
        let spec = header.trim().strip_prefix("bytes=")?;
        if spec.contains(',') {
            return None;
        }
        let (a, b) = spec.split_once('-')?;
        let start = a.trim().parse().ok()?;
        let end = match b.trim() {
            "" => None,
            b => {
                let e: u64 = b.parse().ok()?;
                if e < start {
                    return None;
                }
                (e < OPEN_END).then_some(e)
            }
        };
        Some(ByteRange { start, end })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges() {
        assert_eq!(
            ByteRange::parse("bytes=0-99"),
            Some(ByteRange {
                start: 0,
                end: Some(99)
            })
        );
        assert_eq!(
            ByteRange::parse("bytes=100-"),
            Some(ByteRange {
                start: 100,
                end: None
            })
        );
        assert_eq!(
            ByteRange::parse("bytes=100-9007199254740991"),
            Some(ByteRange {
                start: 100,
                end: None
            })
        );
        for bad in [
            "bytes=5-1",
            "bytes=-10",
            "bytes=0-1,4-5",
            "items=0-1",
            "bytes=x-",
        ] {
            assert_eq!(ByteRange::parse(bad), None, "{bad}");
        }
    }
}
