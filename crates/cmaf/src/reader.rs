//! A tiny bounds-checked big-endian cursor.
//!
//! Every read returns [`CmafError::Malformed`] naming the box being decoded
//! instead of panicking when the input is short.

use crate::{CmafError, FourCC};

/// Big-endian cursor over a borrowed byte slice.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    ctx: &'static str,
}

impl<'a> Reader<'a> {
    /// A cursor at the start of `buf`; `ctx` names the box for error messages.
    pub(crate) fn new(buf: &'a [u8], ctx: &'static str) -> Self {
        Reader { buf, pos: 0, ctx }
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Takes the next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], CmafError> {
        let out = self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end));
        match out {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(CmafError::malformed(
                self.ctx,
                format!(
                    "needs {n} more bytes at offset {}, only {} left",
                    self.pos,
                    self.remaining()
                ),
            )),
        }
    }

    /// Everything not yet read.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        s
    }

    /// Skips `n` bytes.
    pub(crate) fn skip(&mut self, n: usize) -> Result<(), CmafError> {
        self.take(n).map(|_| ())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CmafError> {
        let s = self.take(N)?;
        s.try_into()
            .map_err(|_| CmafError::malformed(self.ctx, "internal length mismatch"))
    }

    pub(crate) fn u8(&mut self) -> Result<u8, CmafError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, CmafError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, CmafError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn i32(&mut self) -> Result<i32, CmafError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, CmafError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn fourcc(&mut self) -> Result<FourCC, CmafError> {
        self.array()
    }

    /// Reads a FullBox header: `unsigned int(8) version; bit(24) flags;`.
    pub(crate) fn full_header(&mut self) -> Result<(u8, u32), CmafError> {
        let v = self.u32()?;
        Ok(((v >> 24) as u8, v & 0x00FF_FFFF))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_and_reports_short_input() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5, 6, 7, 8, 9], "test");
        assert_eq!(r.u16().unwrap(), 0x0102);
        assert_eq!(r.u32().unwrap(), 0x0304_0506);
        assert_eq!(r.remaining(), 3);
        let e = r.u32().unwrap_err();
        assert!(matches!(
            e,
            CmafError::Malformed {
                context: "test",
                ..
            }
        ));
        assert_eq!(r.u8().unwrap(), 7);
        assert_eq!(r.rest(), &[8, 9]);
        assert_eq!(r.rest(), &[] as &[u8]);
        assert!(r.take(usize::MAX).is_err());
    }

    #[test]
    fn full_header_splits_version_and_flags() {
        let mut r = Reader::new(&[1, 0x02, 0x00, 0x3a], "t");
        assert_eq!(r.full_header().unwrap(), (1, 0x02003a));
    }
}
