//! Transactional box-header scanning.
//!
//! [`scan_header`] only peeks: it tells whether a complete header is present
//! and how large the box is, without consuming anything, so the caller can
//! wait for more bytes and try again.

use crate::error::fourcc_str;
use crate::{CmafError, FourCC};

/// A decoded box header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoxHeader {
    /// The box type.
    pub kind: FourCC,
    /// Header length in bytes: 8, 16 with a 64-bit largesize, plus 16 for
    /// the extended type of a `uuid` box.
    pub header_len: usize,
    /// Total box size in bytes, header included.
    pub size: u64,
}

/// Outcome of [`scan_header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Not enough bytes for a complete header yet.
    Incomplete,
    /// A complete header (the box body may still be incomplete).
    Header(BoxHeader),
}

/// Peeks at the box header at the start of `buf` without consuming anything.
///
/// ISO/IEC 14496-12 §4.2: "if size is 1 then the actual size is in the field
/// largesize; if size is 0, then this box shall be the last one in the file,
/// and its contents extend to the end of the file". A live ingest stream has
/// no known end, so size 0 is rejected as [`CmafError::Malformed`]. A size
/// smaller than the header is [`CmafError::Malformed`]; a size above
/// `max_box` is [`CmafError::BoxTooLarge`].
pub fn scan_header(buf: &[u8], max_box: u64) -> Result<Scan, CmafError> {
    let (Some(size_bytes), Some(kind_bytes)) = (buf.get(0..4), buf.get(4..8)) else {
        return Ok(Scan::Incomplete);
    };
    let (Ok(size_bytes), Ok(kind)) = (
        <[u8; 4]>::try_from(size_bytes),
        <FourCC>::try_from(kind_bytes),
    ) else {
        return Ok(Scan::Incomplete);
    };
    let size32 = u32::from_be_bytes(size_bytes);
    let (size, mut header_len) = match size32 {
        0 => {
            return Err(CmafError::malformed(
                "box header",
                format!(
                    "box '{}' has size 0 (extends to end of file), not allowed in live ingest",
                    fourcc_str(&kind)
                ),
            ));
        }
        1 => match buf.get(8..16) {
            None => return Ok(Scan::Incomplete),
            Some(large) => match <[u8; 8]>::try_from(large) {
                Ok(b) => (u64::from_be_bytes(b), 16usize),
                Err(_) => return Ok(Scan::Incomplete),
            },
        },
        n => (u64::from(n), 8usize),
    };
    // §4.2: "if (type=='uuid') { unsigned int(8)[16] usertype = extended_type; }"
    if &kind == b"uuid" {
        header_len += 16;
    }
    if size < header_len as u64 {
        return Err(CmafError::malformed(
            "box header",
            format!(
                "box '{}' declares {size} bytes, less than its {header_len}-byte header",
                fourcc_str(&kind)
            ),
        ));
    }
    if size > max_box {
        return Err(CmafError::BoxTooLarge {
            kind: fourcc_str(&kind),
            size,
            max: max_box,
        });
    }
    if buf.len() < header_len {
        return Ok(Scan::Incomplete);
    }
    Ok(Scan::Header(BoxHeader {
        kind,
        header_len,
        size,
    }))
}

/// Iterates over the child boxes of a complete container payload, yielding
/// each child's type and payload (header stripped). A child that claims to
/// extend past its parent is [`CmafError::Malformed`]; fewer than 8 trailing
/// bytes (some muxers pad containers with a zero word) are ignored.
pub(crate) struct Children<'a> {
    buf: &'a [u8],
    ctx: &'static str,
}

impl<'a> Children<'a> {
    /// Children of `payload`; `ctx` names the parent for error messages.
    pub(crate) fn new(payload: &'a [u8], ctx: &'static str) -> Self {
        Children { buf: payload, ctx }
    }
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<(FourCC, &'a [u8]), CmafError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.len() < 8 {
            return None;
        }
        let item = match scan_header(self.buf, u64::MAX) {
            Err(e) => Err(e),
            Ok(Scan::Incomplete) => Err(CmafError::malformed(
                self.ctx,
                "child box header extends past its parent",
            )),
            Ok(Scan::Header(h)) => {
                let payload = usize::try_from(h.size)
                    .ok()
                    .and_then(|end| self.buf.get(h.header_len..end));
                match payload {
                    Some(p) => {
                        // `get` succeeded, so `size` fits in `buf`.
                        self.buf = self.buf.get(h.size as usize..).unwrap_or(&[]);
                        return Some(Ok((h.kind, p)));
                    }
                    None => Err(CmafError::malformed(
                        self.ctx,
                        format!(
                            "child box '{}' declares {} bytes but only {} remain in its parent",
                            fourcc_str(&h.kind),
                            h.size,
                            self.buf.len()
                        ),
                    )),
                }
            }
        };
        // Stop after the first error.
        self.buf = &[];
        Some(item)
    }
}

/// Finds the first child of type `kind`.
pub(crate) fn find_child<'a>(
    payload: &'a [u8],
    ctx: &'static str,
    kind: &FourCC,
) -> Result<Option<&'a [u8]>, CmafError> {
    for child in Children::new(payload, ctx) {
        let (k, p) = child?;
        if &k == kind {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::bx;

    #[test]
    fn incomplete_below_eight_bytes() {
        let b = bx(b"free", &[0; 4]);
        for n in 0..8 {
            assert_eq!(scan_header(&b[..n], 100).unwrap(), Scan::Incomplete, "{n}");
        }
        assert_eq!(
            scan_header(&b, 100).unwrap(),
            Scan::Header(BoxHeader {
                kind: *b"free",
                header_len: 8,
                size: 12
            })
        );
        // Peeking a header does not need the body.
        assert!(matches!(scan_header(&b[..8], 100), Ok(Scan::Header(_))));
    }

    #[test]
    fn largesize() {
        let mut b = vec![0, 0, 0, 1];
        b.extend_from_slice(b"mdat");
        b.extend_from_slice(&20u64.to_be_bytes());
        b.extend_from_slice(&[0; 4]);
        for n in 8..16 {
            assert_eq!(scan_header(&b[..n], 100).unwrap(), Scan::Incomplete);
        }
        assert_eq!(
            scan_header(&b, 100).unwrap(),
            Scan::Header(BoxHeader {
                kind: *b"mdat",
                header_len: 16,
                size: 20
            })
        );
        // A largesize smaller than the 16-byte header.
        let mut bad = b.clone();
        bad[8..16].copy_from_slice(&15u64.to_be_bytes());
        assert!(matches!(
            scan_header(&bad, 100),
            Err(CmafError::Malformed { .. })
        ));
    }

    #[test]
    fn size_zero_is_rejected() {
        let b = [0, 0, 0, 0, b'm', b'd', b'a', b't'];
        let e = scan_header(&b, 100).unwrap_err();
        assert!(matches!(e, CmafError::Malformed { .. }));
        assert!(e.to_string().contains("size 0"));
    }

    #[test]
    fn size_below_header_is_rejected() {
        for s in 2..8u32 {
            let mut b = s.to_be_bytes().to_vec();
            b.extend_from_slice(b"free");
            assert!(matches!(
                scan_header(&b, 100),
                Err(CmafError::Malformed { .. })
            ));
        }
    }

    #[test]
    fn too_large() {
        let mut b = u32::MAX.to_be_bytes().to_vec();
        b.extend_from_slice(b"mdat");
        let e = scan_header(&b, 16 << 20).unwrap_err();
        assert_eq!(
            e,
            CmafError::BoxTooLarge {
                kind: "mdat".into(),
                size: u64::from(u32::MAX),
                max: 16 << 20
            }
        );
    }

    #[test]
    fn uuid_header_includes_usertype() {
        let mut b = 30u32.to_be_bytes().to_vec();
        b.extend_from_slice(b"uuid");
        b.extend_from_slice(&[7; 10]);
        assert_eq!(scan_header(&b, 100).unwrap(), Scan::Incomplete);
        b.extend_from_slice(&[7; 12]);
        assert!(matches!(
            scan_header(&b, 100).unwrap(),
            Scan::Header(BoxHeader { header_len: 24, .. })
        ));
    }

    #[test]
    fn children_walks_and_bounds() {
        let mut p = bx(b"aaaa", &[1]);
        p.extend(bx(b"bbbb", &[2, 3]));
        p.extend([0, 0, 0, 0]); // trailing padding word is ignored
        let kids: Vec<_> = Children::new(&p, "t").map(Result::unwrap).collect();
        assert_eq!(
            kids,
            vec![(*b"aaaa", &[1u8][..]), (*b"bbbb", &[2u8, 3][..])]
        );
        assert_eq!(find_child(&p, "t", b"bbbb").unwrap(), Some(&[2u8, 3][..]));
        assert_eq!(find_child(&p, "t", b"cccc").unwrap(), None);

        let mut over = bx(b"aaaa", &[1]);
        over[3] = 40;
        let r: Vec<_> = Children::new(&over, "t").collect();
        assert_eq!(r.len(), 1);
        assert!(r[0].is_err());
    }
}
