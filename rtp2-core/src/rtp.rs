//! RTP fixed header (RFC 3550 §5.1).
pub const RTP_VERSION: u8 = 2;
pub const FIXED_HEADER_LEN: usize = 12;
pub const MAX_CSRC_COUNT: usize = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpParseError {
    TooShort { len: usize },
    BadVersion { version: u8 },
    CsrcPastEnd { csrc_count: u8, len: usize },
    ExtensionPastEnd { declared: usize, available: usize },
    BadPadding { padding: u8, available: usize },
}
impl std::fmt::Display for RtpParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooShort { len } => {
                write!(f, "{len} bytes is shorter than the 12-byte RTP header")
            }
            Self::BadVersion { version } => write!(f, "RTP version {version}, expected 2"),
            Self::CsrcPastEnd { csrc_count, len } => {
                write!(f, "{csrc_count} CSRCs do not fit in {len} bytes")
            }
            Self::ExtensionPastEnd {
                declared,
                available,
            } => write!(
                f,
                "header extension of {declared} bytes, only {available} available"
            ),
            Self::BadPadding { padding, available } => write!(
                f,
                "padding of {padding} bytes, only {available} after the header"
            ),
        }
    }
}
impl std::error::Error for RtpParseError {}

#[derive(Debug, Clone, Copy)]
pub struct RtpPacket<'a> {
    data: &'a [u8],
    header_len: usize,
    payload_end: usize,
}
impl<'a> RtpPacket<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Self, RtpParseError> {
        if data.len() < FIXED_HEADER_LEN {
            return Err(RtpParseError::TooShort { len: data.len() });
        }
        let version = data[0] >> 6;
        if version != RTP_VERSION {
            return Err(RtpParseError::BadVersion { version });
        }
        let cc = data[0] & 0x0f;
        let mut header_len = FIXED_HEADER_LEN + 4 * usize::from(cc);
        if data.len() < header_len {
            return Err(RtpParseError::CsrcPastEnd {
                csrc_count: cc,
                len: data.len(),
            });
        }
        if data[0] & 0x10 != 0 {
            if data.len() < header_len + 4 {
                return Err(RtpParseError::ExtensionPastEnd {
                    declared: 4,
                    available: data.len() - header_len,
                });
            }
            let words = usize::from(u16::from_be_bytes([
                data[header_len + 2],
                data[header_len + 3],
            ]));
            let declared = 4 + 4 * words;
            if data.len() < header_len + declared {
                return Err(RtpParseError::ExtensionPastEnd {
                    declared,
                    available: data.len() - header_len,
                });
            }
            header_len += declared;
        }
        let mut payload_end = data.len();
        if data[0] & 0x20 != 0 {
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
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
    pub fn marker(&self) -> bool {
        self.data[1] & 0x80 != 0
    }
    pub fn payload_type(&self) -> u8 {
        self.data[1] & 0x7f
    }
    pub fn sequence_number(&self) -> u16 {
        u16::from_be_bytes([self.data[2], self.data[3]])
    }
    pub fn timestamp(&self) -> u32 {
        u32::from_be_bytes([self.data[4], self.data[5], self.data[6], self.data[7]])
    }
    pub fn ssrc(&self) -> u32 {
        u32::from_be_bytes([self.data[8], self.data[9], self.data[10], self.data[11]])
    }
    pub fn csrc_count(&self) -> u8 {
        self.data[0] & 0x0f
    }
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + 'a {
        let n = usize::from(self.csrc_count());
        self.data[FIXED_HEADER_LEN..FIXED_HEADER_LEN + 4 * n]
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
    pub fn has_padding(&self) -> bool {
        self.data[0] & 0x20 != 0
    }
    pub fn padding_len(&self) -> usize {
        self.data.len() - self.payload_end
    }
    pub fn extension(&self) -> Option<(u16, &'a [u8])> {
        if self.data[0] & 0x10 == 0 {
            return None;
        }
        let off = FIXED_HEADER_LEN + 4 * usize::from(self.csrc_count());
        let profile = u16::from_be_bytes([self.data[off], self.data[off + 1]]);
        Some((profile, &self.data[off + 4..self.header_len]))
    }
    pub fn header_len(&self) -> usize {
        self.header_len
    }
    pub fn payload(&self) -> &'a [u8] {
        &self.data[self.header_len..self.payload_end]
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence_number: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpWriteError {
    BufferTooSmall { needed: usize, available: usize },
    TooManyCsrcs(usize),
    ExtensionNotWordAligned(usize),
    ExtensionTooLong(usize),
    PayloadTypeOutOfRange(u8),
}
impl std::fmt::Display for RtpWriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}
pub fn header_len(csrc_count: usize, extension_data_len: Option<usize>) -> usize {
    FIXED_HEADER_LEN + 4 * csrc_count + extension_data_len.map_or(0, |l| 4 + l)
}
pub fn write_header(
    out: &mut [u8],
    header: &RtpHeader,
    csrcs: &[u32],
    extension: Option<(u16, &[u8])>,
) -> Result<usize, RtpWriteError> {
    if csrcs.len() > MAX_CSRC_COUNT {
        return Err(RtpWriteError::TooManyCsrcs(csrcs.len()));
    }
    if header.payload_type > 127 {
        return Err(RtpWriteError::PayloadTypeOutOfRange(header.payload_type));
    }
    if let Some((_, d)) = extension {
        if !d.len().is_multiple_of(4) {
            return Err(RtpWriteError::ExtensionNotWordAligned(d.len()));
        }
        if d.len() / 4 > 0xffff {
            return Err(RtpWriteError::ExtensionTooLong(d.len()));
        }
    }
    let needed = header_len(csrcs.len(), extension.map(|(_, d)| d.len()));
    if out.len() < needed {
        return Err(RtpWriteError::BufferTooSmall {
            needed,
            available: out.len(),
        });
    }
    out[0] = 0x80 | if extension.is_some() { 0x10 } else { 0 } | csrcs.len() as u8;
    out[1] = (u8::from(header.marker) << 7) | header.payload_type;
    out[2..4].copy_from_slice(&header.sequence_number.to_be_bytes());
    out[4..8].copy_from_slice(&header.timestamp.to_be_bytes());
    out[8..12].copy_from_slice(&header.ssrc.to_be_bytes());
    let mut off = FIXED_HEADER_LEN;
    for c in csrcs {
        out[off..off + 4].copy_from_slice(&c.to_be_bytes());
        off += 4;
    }
    if let Some((profile, d)) = extension {
        out[off..off + 2].copy_from_slice(&profile.to_be_bytes());
        out[off + 2..off + 4].copy_from_slice(&((d.len() / 4) as u16).to_be_bytes());
        out[off + 4..off + 4 + d.len()].copy_from_slice(d);
        off += 4 + d.len();
    }
    Ok(off)
}
