//! Slicing stored chunks by byte range (the `Range` header itself is read by
//! [`manifest::range`], the rule the origin and the edge share).

use bytes::Bytes;

pub use manifest::range::{ByteRange, OPEN_END};

/// Zero-copy slice `[from, to)` of the concatenation of `chunks`.
pub fn slice(chunks: &[Bytes], from: u64, to: u64) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut at = 0u64;
    for c in chunks {
        let (s, e) = (at, at + c.len() as u64);
        at = e;
        if e <= from || s >= to {
            continue;
        }
        let a = (from.max(s) - s) as usize;
        let b = (to.min(e) - s) as usize;
        out.push(c.slice(a..b));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_across_chunks() {
        let chunks = [
            Bytes::from_static(b"abc"),
            Bytes::from_static(b"defg"),
            Bytes::from_static(b"h"),
        ];
        let cat = |v: Vec<Bytes>| v.concat();
        assert_eq!(cat(slice(&chunks, 0, 8)), b"abcdefgh");
        assert_eq!(cat(slice(&chunks, 2, 5)), b"cde");
        assert_eq!(cat(slice(&chunks, 3, 7)), b"defg");
        assert_eq!(cat(slice(&chunks, 7, 8)), b"h");
        assert!(slice(&chunks, 8, 9).is_empty());
    }
}
