// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Bit reading of NAL unit payloads (RBSP), shared by the H.264 and H.265 parameter set
//! parsers.

/// Reads bits of an RBSP, dropping emulation prevention bytes (`00 00 03`; H.264 §7.4.1,
/// H.265 §7.4.2).
pub(crate) struct RbspReader<'a> {
    data: &'a [u8],
    byte: usize,
    bit: u8,
    zeros: u8,
}

impl<'a> RbspReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        RbspReader {
            data,
            byte: 0,
            bit: 0,
            zeros: 0,
        }
    }

    pub(crate) fn bit(&mut self) -> Option<u32> {
        if self.bit == 0 {
            if self.zeros >= 2 && self.data.get(self.byte) == Some(&3) {
                self.byte += 1;
                self.zeros = 0;
            }
            let b = *self.data.get(self.byte)?;
            self.zeros = if b == 0 { self.zeros + 1 } else { 0 };
        }
        let b = *self.data.get(self.byte)?;
        let v = (b >> (7 - self.bit)) & 1;
        self.bit += 1;
        if self.bit == 8 {
            self.bit = 0;
            self.byte += 1;
        }
        Some(u32::from(v))
    }

    /// Up to 32 bits, most significant first.
    pub(crate) fn bits(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0u32, |acc, _| Some((acc << 1) | self.bit()?))
    }

    pub(crate) fn skip(&mut self, n: u32) -> Option<()> {
        (0..n).try_for_each(|_| self.bit().map(|_| ()))
    }

    /// Exp-Golomb ue(v) (H.264 §9.1, H.265 §9.2).
    pub(crate) fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let rest = self.bits(zeros)?;
        Some(((1u64 << zeros) - 1 + u64::from(rest)).min(u64::from(u32::MAX)) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_and_emulation_prevention() {
        // ue(v) "1" is 0; "010" is 1; "00110" is 5.
        assert_eq!(RbspReader::new(&[0b1010_0011, 0b0000_0000]).ue(), Some(0));
        let mut r = RbspReader::new(&[0b0100_0110]);
        assert_eq!((r.ue(), r.ue()), (Some(1), Some(5)));
        // 00 00 03 80 00 00: the 03 is an emulation prevention byte, so the RBSP is
        // 00 00 80 00 00: 16 zero bits, a one, 16 zero bits -> 2^16 - 1.
        assert_eq!(RbspReader::new(&[0, 0, 3, 0x80, 0, 0]).ue(), Some(65535));
        assert_eq!(RbspReader::new(&[0; 8]).ue(), None);
        assert_eq!(RbspReader::new(&[0xf0]).bits(4), Some(0xf));
        assert_eq!(RbspReader::new(&[0xf0]).bits(9), None);
    }
}
