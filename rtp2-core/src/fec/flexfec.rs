// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! FlexFEC repair headers in their two wire formats. The XOR parity they carry is the one of
//! [`super::parity`]; what differs is where the protected streams are named.
//!
//! - **flexfec-03** (draft-ietf-payload-flexible-fec-scheme-03, what libwebrtc and Chrome send
//!   as `flexfec-03/90000`): R, F, P, X, CC, M, PT recovery, length recovery, TS recovery, an
//!   SSRC count and three reserved bytes, then per protected stream its SSRC, SN base and a
//!   flexible mask of 15, 46 or 109 bits in chunks of 15, 31 and 63 bits, each chunk led by a
//!   K bit that is **set on the last chunk**. Only the flexible mask (F = 0) is read.
//! - **RFC 8627** (§4.2.2): the same first 8 bytes without SSRC count; the protected SSRCs are
//!   the repair packet's CSRC list, in order, and per stream come the SN base and either a
//!   flexible mask of 15, 46 or 110 bits (chunks of 15, 31 and 64 bits, a K bit **set when
//!   another chunk follows**, §4.2.2.1) or, with F = 1, the fixed L (columns) and D (rows) of
//!   §4.2.2.2. Retransmission (R = 1) is not FEC and is refused.

use super::parity::{ParityError, ParityFields};

/// The longest flexible mask of flexfec-03 (15 + 31 + 63 bits).
pub const MAX_MASK_BITS_03: u16 = 109;
/// The longest flexible mask of RFC 8627 (15 + 31 + 64 bits).
pub const MAX_MASK_BITS_RFC8627: u16 = 110;

/// The wire format of FlexFEC repair packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WireFormat {
    /// draft-ietf-payload-flexible-fec-scheme-03, as libwebrtc speaks it (SDP
    /// `flexfec-03/90000`).
    #[default]
    Flexfec03,
    /// RFC 8627 (SDP `flexfec/<rate>`).
    Rfc8627,
}

impl WireFormat {
    /// Bits a flexible mask can have in this format.
    pub fn max_mask_bits(self) -> u16 {
        match self {
            WireFormat::Flexfec03 => MAX_MASK_BITS_03,
            WireFormat::Rfc8627 => MAX_MASK_BITS_RFC8627,
        }
    }
}

/// Which packets of a stream one repair packet protects, from its SN base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamMask {
    /// A flexible mask: bit 127 is the SN base itself, bit 127 − i is SN base + i.
    Flexible(u128),
    /// RFC 8627 §4.2.2.2: `l` columns and `d` rows. `d` of 0 or 1: a row, SN base ..
    /// SN base + L − 1 (with `d` = 1, column repair packets follow); `d` above 1: a column,
    /// SN base, SN base + L, …, SN base + L·(D − 1).
    Fixed {
        /// L, the number of columns (above 0).
        l: u8,
        /// D, the number of rows.
        d: u8,
    },
}

/// The flexible mask of `offsets` (each below 128).
pub fn mask_of_offsets(offsets: impl IntoIterator<Item = u16>) -> u128 {
    offsets
        .into_iter()
        .filter(|&o| o < 128)
        .fold(0, |m, o| m | (1u128 << (127 - o)))
}

/// One protected stream of a repair packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtectedStream {
    /// The media SSRC (flexfec-03: in the FEC header; RFC 8627: the CSRC at this position).
    pub ssrc: u32,
    /// Sequence number of offset 0.
    pub sn_base: u16,
    /// Which packets from `sn_base`.
    pub mask: StreamMask,
}

impl ProtectedStream {
    /// Offsets from `sn_base` of the packets protected, ascending.
    pub fn offsets(&self) -> Vec<u16> {
        match self.mask {
            StreamMask::Flexible(m) => {
                // One step per bit set (not per bit: a 128-bit shift and test 128 times cost
                // a decoder about 2,400 instructions per repair packet).
                let mut rest = m;
                let mut offsets = Vec::with_capacity(rest.count_ones() as usize);
                while rest != 0 {
                    let o = rest.leading_zeros();
                    offsets.push(o as u16);
                    rest &= !(1u128 << (127 - o));
                }
                offsets
            }
            StreamMask::Fixed { l, d } if d <= 1 => (0..u16::from(l)).collect(),
            StreamMask::Fixed { l, d } => (0..u16::from(d)).map(|r| r * u16::from(l)).collect(),
        }
    }
}

/// A FlexFEC repair header: the parity fields and the protected streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlexfecHeader {
    /// P/X/CC, M/PT, timestamp and length recovery.
    pub parity: ParityFields,
    /// The protected streams, in header order.
    pub streams: Vec<ProtectedStream>,
}

/// Why a repair header cannot be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlexfecError {
    /// Shorter than its header says.
    Truncated,
    /// R = 1: a retransmission (RFC 8627 §4.2.2.3), not a repair packet.
    Retransmission,
    /// F = 1 in flexfec-03 (libwebrtc never sends it), or R = 1 with F = 1.
    UnsupportedMode,
    /// No protected stream (SSRC count 0, or no CSRC in RFC 8627).
    NoStreams,
    /// A flexfec-03 mask whose third chunk has no K bit.
    MaskContinuation,
    /// A mask protecting nothing, a fixed L of 0, or a mask beyond the format's bits.
    BadMask,
    /// Parity of no or invalid media packets.
    Parity(ParityError),
    /// More protected streams than the format can name (15 CSRCs, 255 SSRCs).
    TooManyStreams,
}

impl std::fmt::Display for FlexfecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlexfecError::Truncated => f.write_str("FlexFEC packet shorter than its header"),
            FlexfecError::Retransmission => f.write_str("FlexFEC retransmission (R bit) packet"),
            FlexfecError::UnsupportedMode => f.write_str("FlexFEC mode not supported"),
            FlexfecError::NoStreams => f.write_str("FlexFEC packet protects no stream"),
            FlexfecError::MaskContinuation => f.write_str("FlexFEC mask continues too far"),
            FlexfecError::BadMask => f.write_str("FlexFEC mask protects nothing or too much"),
            FlexfecError::Parity(e) => write!(f, "FlexFEC parity: {e}"),
            FlexfecError::TooManyStreams => f.write_str("FlexFEC packet names too many streams"),
        }
    }
}

impl std::error::Error for FlexfecError {}

impl From<ParityError> for FlexfecError {
    fn from(e: ParityError) -> Self {
        FlexfecError::Parity(e)
    }
}

fn bytes<const N: usize>(data: &[u8], at: usize) -> Result<[u8; N], FlexfecError> {
    data.get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or(FlexfecError::Truncated)
}

/// Mask chunk sizes in bits: 15, 31, then 63 (flexfec-03) or 64 (RFC 8627).
fn chunk_bits(format: WireFormat) -> [u32; 3] {
    match format {
        WireFormat::Flexfec03 => [15, 31, 63],
        WireFormat::Rfc8627 => [15, 31, 64],
    }
}

/// Reads a flexible mask at `at`: the mask and its length in bytes.
fn read_mask(format: WireFormat, data: &[u8], at: usize) -> Result<(u128, usize), FlexfecError> {
    let [c0, c1, c2] = chunk_bits(format);
    // flexfec-03: K set = last chunk; RFC 8627: K set = another chunk follows.
    let last = |k: bool| match format {
        WireFormat::Flexfec03 => k,
        WireFormat::Rfc8627 => !k,
    };
    let w0 = u16::from_be_bytes(bytes(data, at)?);
    let mut mask = u128::from(w0 & 0x7fff) << (128 - c0);
    if last(w0 & 0x8000 != 0) {
        return Ok((mask, 2));
    }
    let w1 = u32::from_be_bytes(bytes(data, at + 2)?);
    mask |= u128::from(w1 & 0x7fff_ffff) << (128 - c0 - c1);
    if last(w1 & 0x8000_0000 != 0) {
        return Ok((mask, 6));
    }
    let w2 = u64::from_be_bytes(bytes(data, at + 6)?);
    match format {
        WireFormat::Flexfec03 if w2 >> 63 == 0 => return Err(FlexfecError::MaskContinuation),
        WireFormat::Flexfec03 => mask |= u128::from(w2 & (u64::MAX >> 1)) << (128 - c0 - c1 - c2),
        WireFormat::Rfc8627 => mask |= u128::from(w2) << (128 - c0 - c1 - c2),
    }
    Ok((mask, 14))
}

/// Writes a flexible mask in the fewest chunks that hold it.
fn write_mask(format: WireFormat, mask: u128, out: &mut Vec<u8>) -> Result<(), FlexfecError> {
    let [c0, c1, c2] = chunk_bits(format);
    if mask == 0 || mask << (c0 + c1 + c2) != 0 {
        return Err(FlexfecError::BadMask);
    }
    let chunks = if mask << c0 == 0 {
        1
    } else if mask << (c0 + c1) == 0 {
        2
    } else {
        3
    };
    let k = |i: u32| match format {
        WireFormat::Flexfec03 => i + 1 == chunks,
        WireFormat::Rfc8627 => i + 1 < chunks,
    };
    let w0 = (mask >> (128 - c0)) as u16 | (u16::from(k(0)) << 15);
    out.extend_from_slice(&w0.to_be_bytes());
    if chunks > 1 {
        let w1 = ((mask << c0) >> (128 - c1)) as u32 | (u32::from(k(1)) << 31);
        out.extend_from_slice(&w1.to_be_bytes());
    }
    if chunks > 2 {
        let mut w2 = ((mask << (c0 + c1)) >> (128 - c2)) as u64;
        if format == WireFormat::Flexfec03 {
            w2 |= 1 << 63;
        }
        out.extend_from_slice(&w2.to_be_bytes());
    }
    Ok(())
}

impl FlexfecHeader {
    /// Reads the repair header at the start of `payload` (after the RTP header); `csrcs` is
    /// the repair packet's CSRC list (RFC 8627 names the protected SSRCs there; flexfec-03
    /// ignores it). Returns the header and its length; the repair data follows.
    pub fn parse(
        format: WireFormat,
        payload: &[u8],
        csrcs: &[u32],
    ) -> Result<(FlexfecHeader, usize), FlexfecError> {
        let head: [u8; 8] = bytes(payload, 0)?;
        let (r, f) = (head[0] & 0x80 != 0, head[0] & 0x40 != 0);
        if r && !f {
            return Err(FlexfecError::Retransmission);
        }
        if r || (f && format == WireFormat::Flexfec03) {
            return Err(FlexfecError::UnsupportedMode);
        }
        let parity = ParityFields {
            pxcc: head[0] & 0x3f,
            mpt: head[1],
            length: u16::from_be_bytes([head[2], head[3]]),
            ts: u32::from_be_bytes([head[4], head[5], head[6], head[7]]),
        };
        let mut streams = Vec::new();
        let mut at;
        match format {
            WireFormat::Flexfec03 => {
                let count: [u8; 4] = bytes(payload, 8)?;
                at = 12;
                for _ in 0..count[0] {
                    let ssrc = u32::from_be_bytes(bytes(payload, at)?);
                    let sn_base = u16::from_be_bytes(bytes(payload, at + 4)?);
                    let (mask, len) = read_mask(format, payload, at + 6)?;
                    streams.push(ProtectedStream {
                        ssrc,
                        sn_base,
                        mask: StreamMask::Flexible(mask),
                    });
                    at += 6 + len;
                }
            }
            WireFormat::Rfc8627 => {
                at = 8;
                for &ssrc in csrcs {
                    let sn_base = u16::from_be_bytes(bytes(payload, at)?);
                    let (mask, len) = if f {
                        let [l, d] = bytes(payload, at + 2)?;
                        if l == 0 {
                            return Err(FlexfecError::BadMask);
                        }
                        (StreamMask::Fixed { l, d }, 2)
                    } else {
                        let (m, len) = read_mask(format, payload, at + 2)?;
                        (StreamMask::Flexible(m), len)
                    };
                    streams.push(ProtectedStream {
                        ssrc,
                        sn_base,
                        mask,
                    });
                    at += 2 + len;
                }
            }
        }
        if streams.is_empty() {
            return Err(FlexfecError::NoStreams);
        }
        Ok((FlexfecHeader { parity, streams }, at))
    }

    /// Appends the repair header to `out`. RFC 8627: the streams' SSRCs go in the repair
    /// packet's CSRC list (see [`repair_packet`]); every stream must then be flexible, or
    /// every one fixed.
    pub fn write(&self, format: WireFormat, out: &mut Vec<u8>) -> Result<(), FlexfecError> {
        let fixed = self
            .streams
            .iter()
            .any(|s| matches!(s.mask, StreamMask::Fixed { .. }));
        let max_streams = match format {
            WireFormat::Flexfec03 => 255,
            WireFormat::Rfc8627 => 15,
        };
        if self.streams.is_empty() {
            return Err(FlexfecError::NoStreams);
        }
        if self.streams.len() > max_streams {
            return Err(FlexfecError::TooManyStreams);
        }
        if fixed && format == WireFormat::Flexfec03 {
            return Err(FlexfecError::UnsupportedMode);
        }
        let p = &self.parity;
        out.push((u8::from(fixed) << 6) | (p.pxcc & 0x3f));
        out.push(p.mpt);
        out.extend_from_slice(&p.length.to_be_bytes());
        out.extend_from_slice(&p.ts.to_be_bytes());
        if format == WireFormat::Flexfec03 {
            out.extend_from_slice(&[self.streams.len() as u8, 0, 0, 0]);
        }
        for s in &self.streams {
            if format == WireFormat::Flexfec03 {
                out.extend_from_slice(&s.ssrc.to_be_bytes());
            }
            out.extend_from_slice(&s.sn_base.to_be_bytes());
            match s.mask {
                StreamMask::Flexible(_) if fixed => return Err(FlexfecError::UnsupportedMode),
                StreamMask::Flexible(m) => write_mask(format, m, out)?,
                StreamMask::Fixed { l: 0, .. } => return Err(FlexfecError::BadMask),
                StreamMask::Fixed { l, d } => out.extend_from_slice(&[l, d]),
            }
        }
        Ok(())
    }
}

/// The fixed fields of a repair packet's own RTP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepairRtp {
    /// SSRC of the FEC stream.
    pub ssrc: u32,
    /// Its payload type.
    pub payload_type: u8,
    /// Its own sequence number (RFC 8627 §4.1: the repair stream has its own numbering).
    pub seqnum: u16,
    /// Its timestamp.
    pub timestamp: u32,
}

/// A whole repair packet protecting `packets` (whole RTP packets of the one stream
/// `stream`; its mask must name exactly them, in order): RTP header (RFC 8627: the
/// protected SSRC as its CSRC), repair header, parity data.
pub fn repair_packet(
    format: WireFormat,
    rtp: RepairRtp,
    stream: ProtectedStream,
    packets: &[&[u8]],
) -> Result<Vec<u8>, FlexfecError> {
    let (parity, longest) = ParityFields::fields_of(packets.iter().copied())?;
    let mut out = repair_head(format, rtp, stream, parity, longest)?;
    ParityFields::append_xor(packets.iter().copied(), longest, &mut out);
    Ok(out)
}

/// The RTP header and repair header of a repair packet with parity fields `parity`, its
/// capacity sized for `longest` bytes of parity data to follow (one allocation).
pub(crate) fn repair_head(
    format: WireFormat,
    rtp: RepairRtp,
    stream: ProtectedStream,
    parity: ParityFields,
    longest: usize,
) -> Result<Vec<u8>, FlexfecError> {
    let cc = u8::from(format == WireFormat::Rfc8627);
    // RTP header, CSRC, the longest repair header (20 + 14 bytes) and the data.
    let mut out = Vec::with_capacity(12 + 4 + 36 + longest);
    out.push(0x80 | cc);
    out.push(rtp.payload_type & 0x7f);
    out.extend_from_slice(&rtp.seqnum.to_be_bytes());
    out.extend_from_slice(&rtp.timestamp.to_be_bytes());
    out.extend_from_slice(&rtp.ssrc.to_be_bytes());
    if cc == 1 {
        out.extend_from_slice(&stream.ssrc.to_be_bytes());
    }
    FlexfecHeader {
        parity,
        streams: vec![stream],
    }
    .write(format, &mut out)?;
    Ok(out)
}

#[cfg(test)]
#[path = "flexfec_tests.rs"]
mod tests;
