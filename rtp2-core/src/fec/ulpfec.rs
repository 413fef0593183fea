// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! ULPFEC (RFC 5109): the payload of an FEC packet is the 10-byte FEC header (§7.3: E, L,
//! P/X/CC recovery, M/PT recovery, SN base, timestamp recovery, length recovery) and one
//! level-0 header (§7.4: protection length and a mask of 16 bits, or 48 when L is set)
//! followed by the XOR of the protected packets' bytes after their 12-byte fixed header
//! (CSRCs, extension, payload, padding), each zero-padded to the protection length.
//!
//! Only level 0 is written and read, covering whole packets (what libwebrtc, Chrome and
//! GStreamer's `rtpulpfecenc` send); further levels are ignored on input.

use super::parity::{FIXED, ParityError, ParityFields};

/// Length of the FEC header (RFC 5109 §7.3).
pub const FEC_HEADER_LEN: usize = 10;
/// Most media packets one FEC packet can protect (the long mask, L = 1).
pub const MAX_PROTECTED: u16 = 48;

/// Why an FEC packet cannot be read, written or used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UlpfecError {
    /// Shorter than its FEC and level headers.
    Truncated,
    /// The E bit is set (reserved for an extension, RFC 5109 §7.3).
    ExtensionBit,
    /// The protection length exceeds the level's data.
    ProtectionLength,
    /// The mask protects no packet.
    EmptyMask,
    /// Nothing to protect, a media packet shorter than an RTP header, or an offset beyond 47.
    BadInput,
    /// The recovered packet would be longer than the FEC packet protects.
    TooLong,
    /// The recovered bytes are no valid RTP packet (their CSRC count, header extension or
    /// padding run past their end: GStreamer issue 7049's capture).
    NotRtp,
}

impl std::fmt::Display for UlpfecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UlpfecError::Truncated => "ULPFEC packet shorter than its headers",
            UlpfecError::ExtensionBit => "ULPFEC header with the reserved E bit set",
            UlpfecError::ProtectionLength => "ULPFEC protection length beyond the packet",
            UlpfecError::EmptyMask => "ULPFEC mask protects no packet",
            UlpfecError::BadInput => "no or invalid media packets to protect",
            UlpfecError::TooLong => "recovered packet longer than the protection length",
            UlpfecError::NotRtp => "recovered bytes are not a valid RTP packet",
        })
    }
}

impl std::error::Error for UlpfecError {}

impl From<ParityError> for UlpfecError {
    fn from(e: ParityError) -> Self {
        match e {
            ParityError::TooLong => UlpfecError::TooLong,
            _ => UlpfecError::BadInput,
        }
    }
}

/// A parsed ULPFEC payload (FEC header and level 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FecPacket<'a> {
    /// The L bit: a 48-bit mask.
    pub long_mask: bool,
    /// P, X and CC recovery (the low 6 bits of the first header byte).
    pub pxcc_recovery: u8,
    /// M and PT recovery (the second header byte).
    pub mpt_recovery: u8,
    /// Sequence number of the mask's first bit.
    pub sn_base: u16,
    /// Timestamp recovery.
    pub ts_recovery: u32,
    /// Length recovery (XOR of the lengths after the fixed header).
    pub length_recovery: u16,
    /// The mask: bit 47 is `sn_base`, bit 47 − i is `sn_base + i`.
    pub mask: u64,
    /// The level-0 data (the protection length's bytes).
    pub data: &'a [u8],
}

impl<'a> FecPacket<'a> {
    /// Reads an FEC packet's payload (after its RTP header).
    pub fn parse(payload: &'a [u8]) -> Result<Self, UlpfecError> {
        let h = payload
            .get(..FEC_HEADER_LEN)
            .ok_or(UlpfecError::Truncated)?;
        if h[0] & 0x80 != 0 {
            return Err(UlpfecError::ExtensionBit);
        }
        let long_mask = h[0] & 0x40 != 0;
        let level_len = if long_mask { 8 } else { 4 };
        let l = payload
            .get(FEC_HEADER_LEN..FEC_HEADER_LEN + level_len)
            .ok_or(UlpfecError::Truncated)?;
        let protection_len = usize::from(u16::from_be_bytes([l[0], l[1]]));
        let mut mask = u64::from(u16::from_be_bytes([l[2], l[3]])) << 32;
        if long_mask {
            mask |= u64::from(u32::from_be_bytes([l[4], l[5], l[6], l[7]]));
        }
        if mask == 0 {
            return Err(UlpfecError::EmptyMask);
        }
        let start = FEC_HEADER_LEN + level_len;
        let data = payload
            .get(start..start + protection_len)
            .ok_or(UlpfecError::ProtectionLength)?;
        Ok(FecPacket {
            long_mask,
            pxcc_recovery: h[0] & 0x3f,
            mpt_recovery: h[1],
            sn_base: u16::from_be_bytes([h[2], h[3]]),
            ts_recovery: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
            length_recovery: u16::from_be_bytes([h[8], h[9]]),
            mask,
            data,
        })
    }

    /// Offsets from `sn_base` of the packets this FEC packet protects, ascending.
    pub fn offsets(&self) -> impl Iterator<Item = u16> + '_ {
        mask_offsets(self.mask)
    }

    /// Rebuilds the one protected packet missing from `others` (every other protected
    /// packet, whole RTP packets): sequence number `seqnum`, SSRC `ssrc` (RFC 5109 §9.2).
    pub fn recover(
        &self,
        seqnum: u16,
        ssrc: u32,
        others: &[&[u8]],
    ) -> Result<Vec<u8>, UlpfecError> {
        Ok(self.parity().recover(self.data, seqnum, ssrc, others)?)
    }

    /// The recovery fields of the FEC header, for the shared XOR engine.
    pub fn parity(&self) -> ParityFields {
        ParityFields {
            pxcc: self.pxcc_recovery,
            mpt: self.mpt_recovery,
            ts: self.ts_recovery,
            length: self.length_recovery,
        }
    }
}

/// Offsets (0..48) of the bits set in a 48-bit mask (bit 47 is offset 0).
pub fn mask_offsets(mask: u64) -> impl Iterator<Item = u16> {
    (0..MAX_PROTECTED).filter(move |i| mask & (1 << (47 - i)) != 0)
}

/// The 48-bit mask of `offsets` (each below 48).
pub fn mask_of(offsets: impl IntoIterator<Item = u16>) -> u64 {
    offsets
        .into_iter()
        .filter(|&o| o < MAX_PROTECTED)
        .fold(0, |m, o| m | (1 << (47 - o)))
}

/// Writes the payload of an FEC packet protecting `packets` (whole RTP packets, each with
/// its offset from `sn_base`, below 48): FEC header, level-0 header (short mask when every
/// offset is below 16), XOR data (RFC 5109 §8).
pub fn encode(sn_base: u16, packets: &[(u16, &[u8])]) -> Result<Vec<u8>, UlpfecError> {
    let layout = FecLayout::of(packets.iter().copied())?;
    let mut out = vec![0; layout.len()];
    layout.write(sn_base, packets.iter().map(|(_, p)| *p), &mut out);
    Ok(out)
}

/// What an FEC packet protecting a set of media packets needs before it is written: the
/// checked input's mask, parity fields and protection length. [`Self::len`] says what to
/// allocate, [`Self::write`] writes the packet in place there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FecLayout {
    mask: u64,
    parity: ParityFields,
    protection_len: u16,
}

impl FecLayout {
    /// The layout for `packets` (whole RTP packets, each with its offset from the SN base,
    /// below 48).
    pub fn of<'a>(
        packets: impl IntoIterator<Item = (u16, &'a [u8])> + Clone,
    ) -> Result<Self, UlpfecError> {
        let mut mask = 0u64;
        for (o, p) in packets.clone() {
            if o >= MAX_PROTECTED || p.len() < FIXED {
                return Err(UlpfecError::BadInput);
            }
            mask |= 1 << (47 - o);
        }
        if mask == 0 {
            return Err(UlpfecError::BadInput);
        }
        let (parity, longest) = ParityFields::fields_of(packets.into_iter().map(|(_, p)| p))?;
        let protection_len = u16::try_from(longest).map_err(|_| UlpfecError::TooLong)?;
        Ok(FecLayout {
            mask,
            parity,
            protection_len,
        })
    }

    fn long_mask(&self) -> bool {
        self.mask & 0xffff_ffff != 0
    }

    fn headers_len(&self) -> usize {
        FEC_HEADER_LEN + if self.long_mask() { 8 } else { 4 }
    }

    /// Length of the FEC payload (headers and protection length).
    pub fn len(&self) -> usize {
        self.headers_len() + usize::from(self.protection_len)
    }

    /// Never true: an FEC payload has its headers at least.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the FEC payload over `out` ([`Self::len`] bytes, any content: an output
    /// buffer's memory allocated once), the parity XORed straight after the headers
    /// ([`ParityFields::write_xor`]), no intermediate buffer. `packets` are the bytes of the
    /// packets the layout was made of, in the same order.
    pub fn write<'a>(
        &self,
        sn_base: u16,
        packets: impl IntoIterator<Item = &'a [u8]>,
        out: &mut [u8],
    ) {
        let (headers, data) = out.split_at_mut(self.headers_len().min(out.len()));
        if headers.len() < self.headers_len() {
            return;
        }
        let p = &self.parity;
        headers[0] = (u8::from(self.long_mask()) << 6) | p.pxcc;
        headers[1] = p.mpt;
        headers[2..4].copy_from_slice(&sn_base.to_be_bytes());
        headers[4..8].copy_from_slice(&p.ts.to_be_bytes());
        headers[8..10].copy_from_slice(&p.length.to_be_bytes());
        headers[10..12].copy_from_slice(&self.protection_len.to_be_bytes());
        headers[12..14].copy_from_slice(&((self.mask >> 32) as u16).to_be_bytes());
        if self.long_mask() {
            headers[14..18].copy_from_slice(&(self.mask as u32).to_be_bytes());
        }
        let n = data.len().min(usize::from(self.protection_len));
        ParityFields::write_xor(packets, &mut data[..n]);
    }
}

#[cfg(test)]
#[path = "ulpfec_tests.rs"]
mod tests;
