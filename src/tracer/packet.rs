// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The few bytes of an RTP packet the tracer reads: the fixed header (RFC 3550 §5.1) and the
//! first bytes of the payload, with at most two memory maps and no allocation.

/// How many bytes of a packet the tracer looks at: the fixed header and the first bytes of
/// the payload (enough for a NAL unit header, an FU header or a few aggregated headers).
pub(crate) const HEAD: usize = 64;

/// The fixed RTP header fields (RFC 3550 section 5.1) the tracer needs, and the packet's
/// first bytes.
pub(crate) struct Header {
    pub marker: bool,
    pub pt: u8,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
    /// The first bytes of the first memory.
    head: [u8; HEAD],
    /// How many of `head` are valid (the first memory's size, at most `HEAD`).
    head_len: usize,
    /// The size of the first memory.
    first_memory_len: usize,
}

pub(crate) fn header(buffer: &gst::BufferRef) -> Option<Header> {
    let mut head = [0u8; HEAD];
    let first = buffer.peek_memory(0);
    let (head_len, first_memory_len) = if first.size() >= 12 {
        // One map of the first memory: header and, usually, the payload's first bytes.
        let map = first.map_readable().ok()?;
        let n = map.len().min(HEAD);
        head[..n].copy_from_slice(&map[..n]);
        (n, map.len())
    } else {
        // A header split over memories: rare, copy it.
        buffer.copy_to_slice(0, &mut head[..12]).ok()?;
        (12, 12)
    };
    let b = &head;
    if b[0] >> 6 != 2 {
        return None;
    }
    Some(Header {
        marker: b[1] & 0x80 != 0,
        pt: b[1] & 0x7f,
        seq: u16::from_be_bytes([b[2], b[3]]),
        ts: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        head,
        head_len,
        first_memory_len,
    })
}

/// The first bytes of the payload (after CSRCs and header extension, RFC 3550 §5.1,
/// §5.3.1): from `h.head` when the first memory holds them, else from the next memory (a
/// payloader's header memory is followed by its payload memory), copied into `scratch`.
/// Empty when not found.
pub(crate) fn payload_head<'s>(
    buffer: &gst::BufferRef,
    h: &'s Header,
    scratch: &'s mut [u8; HEAD],
) -> &'s [u8] {
    let b = &h.head;
    let mut offset = 12 + 4 * usize::from(b[0] & 0x0f);
    if b[0] & 0x10 != 0 {
        let Some(len) = b
            .get(offset + 2..offset + 4)
            .filter(|_| offset + 4 <= h.head_len)
        else {
            return &[];
        };
        offset += 4 + 4 * usize::from(u16::from_be_bytes([len[0], len[1]]));
    }
    if offset < h.head_len {
        return &b[offset..h.head_len];
    }
    if offset == h.first_memory_len && buffer.n_memory() > 1 {
        let Ok(map) = buffer.peek_memory(1).map_readable() else {
            return &[];
        };
        let n = map.len().min(HEAD);
        scratch[..n].copy_from_slice(&map[..n]);
        return &scratch[..n];
    }
    &[]
}
