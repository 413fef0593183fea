// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The few bytes of an RTP packet the tracer reads: the fixed header (RFC 3550 §5.1) and,
//! for H.264/H.265 streams whose access unit is not yet decided, the start of the payload,
//! read in place while the memory is mapped: one map per packet (two for a payloader's
//! header-then-payload memories), no copy of the payload, no allocation.

use super::keyframe::{Codec, first_slice_is_key};

/// The fixed RTP header fields (RFC 3550 section 5.1) the tracer needs, and what the
/// payload's start says of the access unit.
pub(crate) struct Packet {
    pub marker: bool,
    pub pt: u8,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
    /// The packet's size in bytes.
    pub size: usize,
    /// [`first_slice_is_key`] of the payload's start; `None` when `codec` was
    /// [`Codec::Other`] (nothing asked) or the payload starts no slice.
    pub first_slice_key: Option<bool>,
}

/// Reads the header of the RTP packet in `buffer` (which has `n_memory` memories) and,
/// unless `codec` is [`Codec::Other`] or `look(ssrc, pt)` says no, whether its payload starts
/// a keyframe slice. `None` when it is no RTP packet.
pub(crate) fn read(
    buffer: &gst::BufferRef,
    n_memory: usize,
    codec: Codec,
    look: impl FnOnce(u32, u8) -> bool,
) -> Option<Packet> {
    let first = buffer.peek_memory(0);
    if first.size() < 12 {
        // A header split over memories: rare, copy it.
        let mut head = [0u8; 12];
        buffer.copy_to_slice(0, &mut head).ok()?;
        return parse(&head, buffer.size());
    }
    let map = first.map_readable().ok()?;
    // One memory: its size is the packet's (no call for the buffer's size).
    let size = if n_memory == 1 {
        map.len()
    } else {
        buffer.size()
    };
    let mut packet = parse(&map, size)?;
    if codec != Codec::Other && look(packet.ssrc, packet.pt) {
        let offset = payload_offset(&map);
        if offset < map.len() {
            packet.first_slice_key = first_slice_is_key(codec, &map[offset..]);
        } else if offset == map.len() && n_memory > 1 {
            // A payloader's header memory followed by its payload memory.
            drop(map);
            if let Ok(payload) = buffer.peek_memory(1).map_readable() {
                packet.first_slice_key = first_slice_is_key(codec, &payload);
            }
        }
    }
    Some(packet)
}

fn parse(b: &[u8], size: usize) -> Option<Packet> {
    if b.len() < 12 || b[0] >> 6 != 2 {
        return None;
    }
    Some(Packet {
        marker: b[1] & 0x80 != 0,
        pt: b[1] & 0x7f,
        seq: u16::from_be_bytes([b[2], b[3]]),
        ts: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        size,
        first_slice_key: None,
    })
}

/// Where the payload starts in a packet whose first bytes are `b`: after the CSRCs and the
/// header extension (RFC 3550 §5.1, §5.3.1). Beyond `b.len()` when `b` does not hold the
/// whole header (the payload is then not looked at unless it starts the next memory).
fn payload_offset(b: &[u8]) -> usize {
    let mut offset = 12 + 4 * usize::from(b[0] & 0x0f);
    if b[0] & 0x10 != 0 {
        match b.get(offset + 2..offset + 4) {
            Some(len) => offset += 4 + 4 * usize::from(u16::from_be_bytes([len[0], len[1]])),
            None => return usize::MAX,
        }
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_and_payload_start() {
        // V=2, X=1, CC=1, M=1 PT=96, seq 0x0102, ts 0x03040506, ssrc 0x0708090a, one CSRC,
        // a one-word extension, then an H.264 IDR NAL unit header.
        let mut p = vec![0x91, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 0, 1];
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0, 0, 0, 0x65, 0x88]);
        gst::init().unwrap();
        let buffer = gst::Buffer::from_slice(p);
        let h = read(&buffer, buffer.n_memory(), Codec::H264, |_, _| true).unwrap();
        assert!(h.marker);
        assert_eq!(
            (h.pt, h.seq, h.ts, h.ssrc),
            (96, 0x0102, 0x03040506, 0x0708090a)
        );
        assert_eq!(h.first_slice_key, Some(true));
        assert_eq!(h.size, 26);
        assert_eq!(
            read(&buffer, 1, Codec::Other, |_, _| true)
                .unwrap()
                .first_slice_key,
            None
        );
    }

    #[test]
    fn payload_in_second_memory_and_not_rtp() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::from_slice([0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
        buffer
            .get_mut()
            .unwrap()
            .append_memory(gst::Memory::from_slice([0x41, 0x9a]));
        let h = read(&buffer, 2, Codec::H264, |_, _| true).unwrap();
        assert_eq!(h.first_slice_key, Some(false));
        assert_eq!(h.size, 14);
        let not_rtp = gst::Buffer::from_slice([0u8; 12]);
        assert!(read(&not_rtp, 1, Codec::H264, |_, _| true).is_none());
    }
}
