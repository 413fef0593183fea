// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The RED payload format (RFC 2198 §3): block headers, then the blocks' data in the same
//! order. A redundant block's header is 4 bytes (F = 1, block payload type, a 14-bit
//! timestamp offset back from the packet's timestamp, a 10-bit block length); the last
//! header, of the primary block, is 1 byte (F = 0, payload type) and the primary's data
//! takes the rest of the payload.

/// Largest timestamp offset of a redundant block (14 bits).
pub const MAX_TIMESTAMP_OFFSET: u32 = (1 << 14) - 1;
/// Largest length of a redundant block (10 bits).
pub const MAX_BLOCK_LEN: usize = (1 << 10) - 1;

/// Why a RED payload cannot be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedError {
    /// The payload ends inside the block headers, or has no primary header.
    Truncated,
    /// The redundant blocks' lengths add up to more than the payload.
    BlocksTooLong,
    /// A redundant block too long (over 1023 bytes) or too old (offset over 16383) to write.
    BlockTooLarge,
}

impl std::fmt::Display for RedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RedError::Truncated => "RED payload truncated in its block headers",
            RedError::BlocksTooLong => "RED block lengths exceed the payload",
            RedError::BlockTooLarge => "RED block too long or too old for its header",
        })
    }
}

impl std::error::Error for RedError {}

/// One redundant block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedBlock<'a> {
    /// Payload type of the block's data.
    pub payload_type: u8,
    /// How far back its timestamp is from the RED packet's (RTP ticks).
    pub timestamp_offset: u16,
    /// The block's data.
    pub data: &'a [u8],
}

/// A parsed RED payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedPayload<'a> {
    /// Redundant blocks, oldest first as the sender wrote them.
    pub redundant: Vec<RedBlock<'a>>,
    /// Payload type of the primary block.
    pub primary_payload_type: u8,
    /// The primary block's data (the rest of the payload).
    pub primary: &'a [u8],
}

/// Reads a RED payload (RFC 2198 §3). Never reads out of bounds; the number of blocks is
/// bounded by the payload's length (4 bytes a header).
pub fn parse(payload: &[u8]) -> Result<RedPayload<'_>, RedError> {
    let mut headers = Vec::new();
    let mut pos = 0;
    let primary_payload_type = loop {
        let first = *payload.get(pos).ok_or(RedError::Truncated)?;
        if first & 0x80 == 0 {
            pos += 1;
            break first & 0x7f;
        }
        let h = payload.get(pos..pos + 4).ok_or(RedError::Truncated)?;
        let offset = (u16::from(h[1]) << 6) | (u16::from(h[2]) >> 2);
        let len = (usize::from(h[2] & 0x03) << 8) | usize::from(h[3]);
        headers.push((first & 0x7f, offset, len));
        pos += 4;
    };
    let mut redundant = Vec::with_capacity(headers.len());
    for (payload_type, timestamp_offset, len) in headers {
        let data = payload.get(pos..pos + len).ok_or(RedError::BlocksTooLong)?;
        redundant.push(RedBlock {
            payload_type,
            timestamp_offset,
            data,
        });
        pos += len;
    }
    Ok(RedPayload {
        redundant,
        primary_payload_type,
        primary: &payload[pos..],
    })
}

/// Writes a RED payload with `redundant` blocks (in that order) and the primary block.
pub fn write(
    redundant: &[RedBlock<'_>],
    primary_payload_type: u8,
    primary: &[u8],
) -> Result<Vec<u8>, RedError> {
    let data_len: usize = redundant.iter().map(|b| b.data.len()).sum();
    let mut out = Vec::with_capacity(redundant.len() * 4 + 1 + data_len + primary.len());
    for b in redundant {
        if b.data.len() > MAX_BLOCK_LEN || u32::from(b.timestamp_offset) > MAX_TIMESTAMP_OFFSET {
            return Err(RedError::BlockTooLarge);
        }
        let len = b.data.len() as u16;
        out.push(0x80 | (b.payload_type & 0x7f));
        out.push((b.timestamp_offset >> 6) as u8);
        out.push(((b.timestamp_offset as u8 & 0x3f) << 2) | (len >> 8) as u8);
        out.push(len as u8);
    }
    out.push(primary_payload_type & 0x7f);
    for b in redundant {
        out.extend_from_slice(b.data);
    }
    out.extend_from_slice(primary);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 2198 §3's example layout: one redundant block (PT 0, offset 160? here 0x140 =
    /// 320, 3 bytes) and a primary of PT 0, written byte by byte from the RFC's figure.
    #[test]
    fn parses_rfc_layout_by_hand() {
        // F=1 PT=96 | offset 320 (14 bits) | len 3 (10 bits); F=0 PT=111; data.
        let bytes = [
            0x80 | 96,
            (320u16 >> 6) as u8,
            ((320u16 & 0x3f) as u8) << 2,
            3,
            111,
            b'a',
            b'b',
            b'c',
            b'X',
            b'Y',
        ];
        let red = parse(&bytes).unwrap();
        assert_eq!(red.primary_payload_type, 111);
        assert_eq!(red.primary, b"XY");
        assert_eq!(
            red.redundant,
            vec![RedBlock {
                payload_type: 96,
                timestamp_offset: 320,
                data: b"abc"
            }]
        );
        assert_eq!(write(&red.redundant, 111, b"XY").unwrap(), bytes);
    }

    #[test]
    fn primary_only_is_one_header_byte() {
        assert_eq!(write(&[], 100, b"p").unwrap(), [100, b'p']);
        let red = parse(&[100]).unwrap();
        assert!(red.redundant.is_empty() && red.primary.is_empty());
    }

    #[test]
    fn broken_payloads_are_errors() {
        assert_eq!(parse(&[]), Err(RedError::Truncated));
        assert_eq!(parse(&[0x80, 0, 0]), Err(RedError::Truncated));
        assert_eq!(parse(&[0x80, 0, 0, 5, 0, 1]), Err(RedError::BlocksTooLong));
        let big = [0u8; 1024];
        let block = RedBlock {
            payload_type: 1,
            timestamp_offset: 0,
            data: &big,
        };
        assert_eq!(write(&[block], 1, b""), Err(RedError::BlockTooLarge));
    }

    proptest! {
        #[test]
        fn write_then_parse_roundtrips(
            blocks in proptest::collection::vec(
                (0u8..128, 0u16..16384, proptest::collection::vec(any::<u8>(), 0..1024)), 0..4),
            pt in 0u8..128,
            primary in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let red: Vec<RedBlock> = blocks.iter().map(|(p, o, d)| RedBlock {
                payload_type: *p, timestamp_offset: *o, data: d }).collect();
            let bytes = write(&red, pt, &primary).unwrap();
            let back = parse(&bytes).unwrap();
            prop_assert_eq!(back.redundant, red);
            prop_assert_eq!(back.primary_payload_type, pt);
            prop_assert_eq!(back.primary, &primary[..]);
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse(&bytes);
        }
    }
}
