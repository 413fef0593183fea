// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The RTP fixed header (RFC 3550 §5.1): a zero-copy, validating reader for packets that
//! arrive from the network, and a writer for the packets payloaders send.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//! |                           timestamp                           |
//! |           synchronization source (SSRC) identifier            |
//! |            contributing source (CSRC) identifiers             |  CC × 32 bits
//! |      defined by profile       |            length             |  if X (§5.3.1)
//! |                      header extension                         |  length × 32 bits
//! ```

use std::fmt;

/// The only RTP version there is (RFC 3550 §5.1).
pub const RTP_VERSION: u8 = 2;
/// Bytes of the fixed header, before CSRCs and extension.
pub const FIXED_HEADER_LEN: usize = 12;
/// The CC field has 4 bits: at most 15 CSRCs (RFC 3550 §5.1).
pub const MAX_CSRC_COUNT: usize = 15;

/// Why a packet is not valid RTP. Every variant is something a hostile or broken sender can
/// produce; the depayloader drops the packet, counts it and warns with this text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtpParseError {
    /// Shorter than the 12-byte fixed header.
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// Version field other than 2.
    BadVersion {
        /// The version field.
        version: u8,
    },
    /// The CSRC list announced by CC runs past the end of the packet.
    CsrcPastEnd {
        /// The CC field.
        csrc_count: u8,
        /// Bytes received.
        len: usize,
    },
    /// The header extension (RFC 3550 §5.3.1) runs past the end of the packet.
    ExtensionPastEnd {
        /// Bytes the extension header announces (at least its own 4).
        declared: usize,
        /// Bytes after the CSRCs.
        available: usize,
    },
    /// The P bit is set but the last byte's padding count is 0 or larger than what follows
    /// the header (RFC 3550 §5.1, P).
    BadPadding {
        /// The padding count (last byte).
        padding: u8,
        /// Bytes after the header.
        available: usize,
    },
}

impl fmt::Display for RtpParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len } => {
                write!(f, "{len} bytes is shorter than the 12-byte RTP header")
            }
            Self::BadVersion { version } => write!(f, "RTP version {version}, expected 2"),
            Self::CsrcPastEnd { csrc_count, len } => {
                write!(
                    f,
                    "{csrc_count} CSRCs announced but the packet has only {len} bytes"
                )
            }
            Self::ExtensionPastEnd {
                declared,
                available,
            } => write!(
                f,
                "header extension of {declared} bytes but only {available} bytes follow the CSRCs"
            ),
            Self::BadPadding { padding, available } => write!(
                f,
                "padding count {padding} but only {available} bytes follow the header"
            ),
        }
    }
}

impl std::error::Error for RtpParseError {}

/// A validated RTP packet borrowed from the input: every accessor is infallible because
/// [`RtpPacket::parse`] checked all lengths once.
#[derive(Debug, Clone, Copy)]
pub struct RtpPacket<'a> {
    data: &'a [u8],
    header_len: usize,
    payload_end: usize,
}

impl<'a> RtpPacket<'a> {
    /// Validates `data` as an RTP packet (RFC 3550 §5.1, §5.3.1) without copying it.
    pub fn parse(data: &'a [u8]) -> Result<Self, RtpParseError> {
        let Some(&b0) = data.first() else {
            return Err(RtpParseError::TooShort { len: 0 });
        };
        if data.len() < FIXED_HEADER_LEN {
            return Err(RtpParseError::TooShort { len: data.len() });
        }
        let version = b0 >> 6;
        if version != RTP_VERSION {
            return Err(RtpParseError::BadVersion { version });
        }
        Self::parse_variable_part(data, b0)
    }

    /// The rest of [`Self::parse`] for a packet whose fixed header was already checked in a
    /// batch ([`crate::hdrsimd::parse_headers`] returned `Some` for it: 12 bytes or more,
    /// version 2): only the CSRC list, header extension and padding lengths are checked, so
    /// that each packet of a buffer list is parsed once. The same result as [`Self::parse`]
    /// for such a packet; never panics on any other (one shorter than the fixed header is
    /// refused, the version is not looked at).
    pub fn parse_after_fixed_header(data: &'a [u8]) -> Result<Self, RtpParseError> {
        match data.first() {
            Some(&b0) if data.len() >= FIXED_HEADER_LEN => Self::parse_variable_part(data, b0),
            _ => Err(RtpParseError::TooShort { len: data.len() }),
        }
    }

    /// CSRC list, extension and padding of a packet of at least [`FIXED_HEADER_LEN`] bytes
    /// whose first byte is `b0`.
    fn parse_variable_part(data: &'a [u8], b0: u8) -> Result<Self, RtpParseError> {
        let csrc_count = b0 & 0x0f;
        let mut header_len = FIXED_HEADER_LEN + 4 * usize::from(csrc_count);
        if data.len() < header_len {
            return Err(RtpParseError::CsrcPastEnd {
                csrc_count,
                len: data.len(),
            });
        }
        if b0 & 0x10 != 0 {
            let available = data.len() - header_len;
            let Some(words) = data.get(header_len + 2..header_len + 4) else {
                return Err(RtpParseError::ExtensionPastEnd {
                    declared: 4,
                    available,
                });
            };
            let declared = 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
            if declared > available {
                return Err(RtpParseError::ExtensionPastEnd {
                    declared,
                    available,
                });
            }
            header_len += declared;
        }
        let mut payload_end = data.len();
        if b0 & 0x20 != 0 {
            let padding = data[data.len() - 1];
            let available = data.len() - header_len;
            if padding == 0 || usize::from(padding) > available {
                return Err(RtpParseError::BadPadding { padding, available });
            }
            payload_end -= usize::from(padding);
        }
        Ok(RtpPacket {
            data,
            header_len,
            payload_end,
        })
    }

    fn u32_at(&self, offset: usize) -> u32 {
        let b = &self.data[offset..offset + 4];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The whole packet.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The marker bit; its meaning is defined by the payload format.
    pub fn marker(&self) -> bool {
        self.data[1] & 0x80 != 0
    }

    /// The 7-bit payload type.
    pub fn payload_type(&self) -> u8 {
        self.data[1] & 0x7f
    }

    /// The 16-bit sequence number.
    pub fn sequence_number(&self) -> u16 {
        u16::from_be_bytes([self.data[2], self.data[3]])
    }

    /// The 32-bit RTP timestamp (sampling instant of the first payload octet).
    pub fn timestamp(&self) -> u32 {
        self.u32_at(4)
    }

    /// The synchronization source.
    pub fn ssrc(&self) -> u32 {
        self.u32_at(8)
    }

    /// Number of CSRCs (0..=15).
    pub fn csrc_count(&self) -> u8 {
        self.data[0] & 0x0f
    }

    /// The contributing sources, in order.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + 'a {
        let end = FIXED_HEADER_LEN + 4 * usize::from(self.csrc_count());
        self.data[FIXED_HEADER_LEN..end]
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }

    /// True when the P bit is set.
    pub fn has_padding(&self) -> bool {
        self.data[0] & 0x20 != 0
    }

    /// Bytes of padding at the end (0 without the P bit).
    pub fn padding_len(&self) -> usize {
        self.data.len() - self.payload_end
    }

    /// True when the X bit is set.
    pub fn has_extension(&self) -> bool {
        self.data[0] & 0x10 != 0
    }

    /// The header extension (RFC 3550 §5.3.1): the 16 profile-defined bits and the data
    /// (length × 4 bytes), when the X bit is set.
    pub fn extension(&self) -> Option<(u16, &'a [u8])> {
        if !self.has_extension() {
            return None;
        }
        let offset = FIXED_HEADER_LEN + 4 * usize::from(self.csrc_count());
        let profile = u16::from_be_bytes([self.data[offset], self.data[offset + 1]]);
        Some((profile, &self.data[offset + 4..self.header_len]))
    }

    /// Header bytes including CSRCs and extension: the payload starts here.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// The payload, without padding; may be empty.
    pub fn payload(&self) -> &'a [u8] {
        &self.data[self.header_len..self.payload_end]
    }
}

/// The fields of the fixed header a payloader chooses per packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RtpHeader {
    /// Marker bit.
    pub marker: bool,
    /// Payload type, 0..=127.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence_number: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// SSRC.
    pub ssrc: u32,
}

/// Why a header cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtpWriteError {
    /// The output slice is shorter than [`header_len`].
    BufferTooSmall {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes given.
        available: usize,
    },
    /// More than 15 CSRCs.
    TooManyCsrcs(usize),
    /// Extension data must be whole 32-bit words (RFC 3550 §5.3.1).
    ExtensionNotWordAligned(usize),
    /// Extension data longer than 65535 words.
    ExtensionTooLong(usize),
    /// Payload type above 127.
    PayloadTypeOutOfRange(u8),
}

impl fmt::Display for RtpWriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall { needed, available } => {
                write!(f, "RTP header needs {needed} bytes, {available} given")
            }
            Self::TooManyCsrcs(n) => write!(f, "{n} CSRCs, at most 15 fit"),
            Self::ExtensionNotWordAligned(n) => {
                write!(f, "header extension of {n} bytes is not whole 32-bit words")
            }
            Self::ExtensionTooLong(n) => write!(f, "header extension of {n} bytes is too long"),
            Self::PayloadTypeOutOfRange(pt) => write!(f, "payload type {pt} is above 127"),
        }
    }
}

impl std::error::Error for RtpWriteError {}

/// Bytes a header takes: 12, plus 4 per CSRC, plus 4 + the extension data if any.
pub fn header_len(csrc_count: usize, extension_data_len: Option<usize>) -> usize {
    FIXED_HEADER_LEN + 4 * csrc_count + extension_data_len.map_or(0, |len| 4 + len)
}

/// Writes the fixed header with CC = 0 and no extension: the common per-packet case.
pub fn write_fixed_header(out: &mut [u8; FIXED_HEADER_LEN], header: &RtpHeader) {
    out[0] = RTP_VERSION << 6;
    out[1] = (u8::from(header.marker) << 7) | (header.payload_type & 0x7f);
    out[2..4].copy_from_slice(&header.sequence_number.to_be_bytes());
    out[4..8].copy_from_slice(&header.timestamp.to_be_bytes());
    out[8..12].copy_from_slice(&header.ssrc.to_be_bytes());
}

/// Writes a complete header (version 2, no padding) with `csrcs` and an optional
/// `(profile, data)` extension into `out`; returns the bytes written.
pub fn write_header(
    out: &mut [u8],
    header: &RtpHeader,
    csrcs: &[u32],
    extension: Option<(u16, &[u8])>,
) -> Result<usize, RtpWriteError> {
    if header.payload_type > 127 {
        return Err(RtpWriteError::PayloadTypeOutOfRange(header.payload_type));
    }
    let mut fixed = [0u8; FIXED_HEADER_LEN];
    write_fixed_header(&mut fixed, header);
    write_packet_header(out, &fixed, csrcs, extension, &[])
}

/// The one header writer of the payloaders: writes, in place into `out` (the packet's header
/// memory), the 12 fixed bytes `fixed` (written before, e.g. in a batch for a whole buffer
/// list by [`crate::hdrsimd`], with CC = 0 and X = 0), then the CSRC count and list
/// (RFC 3550 §5.1), the header extension block with its X bit (RFC 3550 §5.3.1, RFC 8285
/// §4) and the payload-format header `prefix`. Returns the bytes written; `out` may be
/// longer.
pub fn write_packet_header(
    out: &mut [u8],
    fixed: &[u8; FIXED_HEADER_LEN],
    csrcs: &[u32],
    extension: Option<(u16, &[u8])>,
    prefix: &[u8],
) -> Result<usize, RtpWriteError> {
    if csrcs.len() > MAX_CSRC_COUNT {
        return Err(RtpWriteError::TooManyCsrcs(csrcs.len()));
    }
    if let Some((_, data)) = extension {
        if !data.len().is_multiple_of(4) {
            return Err(RtpWriteError::ExtensionNotWordAligned(data.len()));
        }
        if data.len() / 4 > usize::from(u16::MAX) {
            return Err(RtpWriteError::ExtensionTooLong(data.len()));
        }
    }
    if csrcs.is_empty() && extension.is_none() {
        // The common packet: fixed bytes and prefix only.
        let needed = FIXED_HEADER_LEN + prefix.len();
        let Some(out) = out.get_mut(..needed) else {
            return Err(RtpWriteError::BufferTooSmall {
                needed,
                available: out.len(),
            });
        };
        let (head, tail) = out.split_at_mut(FIXED_HEADER_LEN);
        head.copy_from_slice(fixed);
        head[0] &= 0xe0;
        tail.copy_from_slice(prefix);
        return Ok(needed);
    }
    let header = header_len(csrcs.len(), extension.map(|(_, d)| d.len()));
    let needed = header + prefix.len();
    if out.len() < needed {
        return Err(RtpWriteError::BufferTooSmall {
            needed,
            available: out.len(),
        });
    }
    out[..FIXED_HEADER_LEN].copy_from_slice(fixed);
    out[0] = (out[0] & 0xe0) | csrcs.len() as u8;
    let mut offset = FIXED_HEADER_LEN;
    for csrc in csrcs {
        out[offset..offset + 4].copy_from_slice(&csrc.to_be_bytes());
        offset += 4;
    }
    if let Some((profile, data)) = extension {
        out[0] |= 0x10;
        out[offset..offset + 2].copy_from_slice(&profile.to_be_bytes());
        out[offset + 2..offset + 4].copy_from_slice(&((data.len() / 4) as u16).to_be_bytes());
        out[offset + 4..offset + 4 + data.len()].copy_from_slice(data);
        offset += 4 + data.len();
    }
    out[offset..needed].copy_from_slice(prefix);
    Ok(needed)
}

#[cfg(test)]
mod tests;
