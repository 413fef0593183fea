// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The XOR parity both FEC formats carry: ULPFEC (RFC 5109 §8) and FlexFEC (RFC 8627 §6.2
//! and draft-ietf-payload-flexible-fec-scheme-03) protect the same fields of each media
//! packet: the P, X and CC bits, the M bit and payload type, the timestamp, the length after
//! the 12-byte fixed header, and those bytes themselves (CSRCs, extension, payload, padding),
//! zero-padded to the longest. Only the header layout around this parity differs, so the
//! encoders and the recovery window share this one engine.

use super::xor_into;

/// Length of the RTP fixed header (RFC 3550 §5.1), which the parity skips.
pub const FIXED: usize = 12;

/// Why parity cannot be computed or a packet rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParityError {
    /// No packet, or a packet shorter than an RTP fixed header.
    BadInput,
    /// The rebuilt packet would be longer than the parity data.
    TooLong,
}

impl std::fmt::Display for ParityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ParityError::BadInput => "no or invalid media packets to protect",
            ParityError::TooLong => "recovered packet longer than the protection length",
        })
    }
}

impl std::error::Error for ParityError {}

/// The XOR of the protected header fields (the "recovery" fields of both FEC headers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParityFields {
    /// P, X and CC (the low 6 bits of the first header byte).
    pub pxcc: u8,
    /// M and payload type (the second header byte).
    pub mpt: u8,
    /// Timestamp.
    pub ts: u32,
    /// Length after the fixed header.
    pub length: u16,
}

impl ParityFields {
    fn add(&mut self, p: &[u8]) {
        self.pxcc ^= p[0] & 0x3f;
        self.mpt ^= p[1];
        self.ts ^= u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
        self.length ^= (p.len() - FIXED) as u16;
    }

    /// The parity of `packets` (whole RTP packets): the fields and the XOR of the bytes after
    /// each fixed header, as long as the longest.
    pub fn compute<'a>(
        packets: impl IntoIterator<Item = &'a [u8]> + Clone,
    ) -> Result<(ParityFields, Vec<u8>), ParityError> {
        let (fields, longest) = Self::fields_of(packets.clone())?;
        let mut data = Vec::with_capacity(longest);
        Self::append_xor(packets, longest, &mut data);
        Ok((fields, data))
    }

    /// The parity fields of `packets` (whole RTP packets) and the length of the longest after
    /// its fixed header: what a repair header needs before its data is computed.
    pub fn fields_of<'a>(
        packets: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(ParityFields, usize), ParityError> {
        let mut longest = None;
        let mut fields = ParityFields::default();
        for p in packets {
            if p.len() < FIXED || p.len() - FIXED > usize::from(u16::MAX) {
                return Err(ParityError::BadInput);
            }
            longest = Some(longest.unwrap_or(0).max(p.len() - FIXED));
            fields.add(p);
        }
        Ok((fields, longest.ok_or(ParityError::BadInput)?))
    }

    /// Appends to `out` the XOR of the bytes after each fixed header of `packets` (checked
    /// by [`Self::fields_of`]), zero-padded to `longest`: a repair packet is built in place,
    /// in one allocation.
    pub fn append_xor<'a>(
        packets: impl IntoIterator<Item = &'a [u8]>,
        longest: usize,
        out: &mut Vec<u8>,
    ) {
        let start = out.len();
        out.resize(start + longest, 0);
        Self::write_xor(packets, &mut out[start..]);
    }

    /// Writes over `out` (as long as the longest after its fixed header, from
    /// [`Self::fields_of`]) the XOR of the bytes after each fixed header of `packets`,
    /// zero-padded: a repair packet built in memory the caller allocated (an output
    /// buffer's), whatever that memory held.
    pub fn write_xor<'a>(packets: impl IntoIterator<Item = &'a [u8]>, out: &mut [u8]) {
        let mut payloads = packets.into_iter().filter_map(|p| p.get(FIXED..));
        // The first packet copied rather than XORed into zeros: one pass less.
        let first = payloads.next().unwrap_or_default();
        let n = first.len().min(out.len());
        out[..n].copy_from_slice(&first[..n]);
        out[n..].fill(0);
        for payload in payloads {
            xor_into(out, payload);
        }
    }

    /// Rebuilds the one protected packet missing from `others` (every other protected
    /// packet, whole RTP packets), with sequence number `seqnum` and SSRC `ssrc`, which the
    /// parity does not carry (RFC 5109 §9.2, RFC 8627 §6.3.2).
    pub fn recover(
        &self,
        data: &[u8],
        seqnum: u16,
        ssrc: u32,
        others: &[&[u8]],
    ) -> Result<Vec<u8>, ParityError> {
        let mut fields = *self;
        for p in others {
            if p.len() < FIXED {
                return Err(ParityError::BadInput);
            }
            fields.add(p);
        }
        let len = usize::from(fields.length);
        if len > data.len() {
            return Err(ParityError::TooLong);
        }
        let mut out = vec![0u8; FIXED + len];
        out[0] = 0x80 | fields.pxcc;
        out[1] = fields.mpt;
        out[2..4].copy_from_slice(&seqnum.to_be_bytes());
        out[4..8].copy_from_slice(&fields.ts.to_be_bytes());
        out[8..12].copy_from_slice(&ssrc.to_be_bytes());
        out[FIXED..].copy_from_slice(&data[..len]);
        for p in others {
            xor_into(&mut out[FIXED..], &p[FIXED..]);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilds_any_one_of_three() {
        let pkts: Vec<Vec<u8>> = (0..3u8)
            .map(|i| {
                let mut p = vec![0x80 | i, 96 | (i << 7), 0, i, 0, 0, 1, i, 9, 9, 9, 9];
                p.extend((0..5 + usize::from(i) * 7).map(|k| k as u8 ^ i));
                p
            })
            .collect();
        let (fields, data) = ParityFields::compute(pkts.iter().map(|p| &p[..])).unwrap();
        for lost in 0..3 {
            let others: Vec<&[u8]> = (0..3)
                .filter(|&j| j != lost)
                .map(|j| &pkts[j][..])
                .collect();
            let seq = u16::from_be_bytes([pkts[lost][2], pkts[lost][3]]);
            let got = fields.recover(&data, seq, 0x0909_0909, &others).unwrap();
            assert_eq!(got, pkts[lost]);
        }
        assert_eq!(
            ParityFields::compute(std::iter::empty::<&[u8]>()),
            Err(ParityError::BadInput)
        );
        assert_eq!(
            fields.recover(&data[..3], 0, 0, &[&pkts[0]]),
            Err(ParityError::TooLong)
        );
    }
}
