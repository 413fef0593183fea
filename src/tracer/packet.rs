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

/// Runs `f` on the bytes of `memory` mapped readable (GStreamer's `gst_memory_map`, the map
/// info left in place rather than copied into a wrapper), then unmaps. `R::default()` when
/// the map fails.
#[inline(always)]
fn with_mapped<R>(memory: *mut gst::ffi::GstMemory, f: impl FnOnce(&[u8]) -> R) -> R
where
    R: Default,
{
    let mut info = std::mem::MaybeUninit::<gst::ffi::GstMapInfo>::uninit();
    // SAFETY: `memory` is a valid memory of a buffer the caller borrows; GStreamer fills
    // the map info when the map succeeds, and only then is it read; a successful read map
    // gives `size` readable bytes at `data` until the unmap, which gets the same info.
    unsafe {
        if gst::ffi::gst_memory_map(memory, info.as_mut_ptr(), gst::ffi::GST_MAP_READ)
            == glib::ffi::GFALSE
        {
            return R::default();
        }
        let info = info.assume_init_mut();
        let bytes = if info.size == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(info.data, info.size)
        };
        let r = f(bytes);
        gst::ffi::gst_memory_unmap(memory, info);
        r
    }
}

/// Reads the header of the RTP packet in `buffer` and, unless `codec` is [`Codec::Other`]
/// or `look(ssrc, pt)` says no, whether its payload starts a keyframe slice. `None` when it
/// is no RTP packet. Always in line (with [`with_mapped`]): since [`from_bytes`] shares
/// its helpers, the compiler otherwise keeps it out of line in the payloader's path
/// (callgrind: about 30 instructions more per packet).
#[inline(always)]
pub(crate) fn read(
    buffer: &gst::BufferRef,
    codec: Codec,
    look: impl FnOnce(u32, u8) -> bool,
) -> Option<Packet> {
    let raw = buffer.as_mut_ptr();
    // SAFETY: `raw` is the borrowed, valid buffer; these calls only read it, and the
    // memory pointer is used while the buffer is borrowed (it holds the memory).
    let (n_memory, first) = unsafe {
        let n = gst::ffi::gst_buffer_n_memory(raw);
        if n == 0 {
            return None;
        }
        (n, gst::ffi::gst_buffer_peek_memory(raw, 0))
    };
    // SAFETY: `first` is a valid memory (see above); `size` is a public field.
    if unsafe { (*first).size } < 12 {
        // A header split over memories: rare, copy it.
        let mut head = [0u8; 12];
        buffer.copy_to_slice(0, &mut head).ok()?;
        return parse(&head, buffer.size());
    }
    let mut payload_next = false;
    let mut first_slice_key = None;
    // The header's bytes are copied out and parsed after the unmap: nothing parsed has to
    // be kept across GStreamer's unmap call.
    let (head, size) = with_mapped(first, |bytes| {
        let head: [u8; 12] = bytes.get(..12)?.try_into().ok()?;
        // One memory: its size is the packet's (no call for the buffer's size).
        let size = if n_memory == 1 {
            bytes.len()
        } else {
            buffer.size()
        };
        if codec != Codec::Other
            && let Some(p) = parse(&head, size)
            && look(p.ssrc, p.pt)
        {
            let offset = payload_offset(bytes);
            if offset < bytes.len() {
                first_slice_key = first_slice_is_key(codec, &bytes[offset..]);
            } else {
                // A payloader's header memory followed by its payload memory.
                payload_next = offset == bytes.len() && n_memory > 1;
            }
        }
        Some((head, size))
    })?;
    let mut packet = parse(&head, size)?;
    packet.first_slice_key = first_slice_key;
    if payload_next && let Ok(payload) = buffer.peek_memory(1).map_readable() {
        packet.first_slice_key = first_slice_is_key(codec, &payload);
    }
    Some(packet)
}

/// [`read`] of a whole packet already mapped by someone else (`bytes`: all of it, as our
/// depayloader and filter bases map it; see `super::handoff`).
#[inline]
pub(crate) fn from_bytes(
    bytes: &[u8],
    codec: Codec,
    look: impl FnOnce(u32, u8) -> bool,
) -> Option<Packet> {
    let mut packet = parse(bytes, bytes.len())?;
    if codec != Codec::Other && look(packet.ssrc, packet.pt) {
        let offset = payload_offset(bytes);
        if offset < bytes.len() {
            packet.first_slice_key = first_slice_is_key(codec, &bytes[offset..]);
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
        let buffer = gst::Buffer::from_slice(p.clone());
        let h = read(&buffer, Codec::H264, |_, _| true).unwrap();
        assert!(h.marker);
        assert_eq!(
            (h.pt, h.seq, h.ts, h.ssrc),
            (96, 0x0102, 0x03040506, 0x0708090a)
        );
        assert_eq!(h.first_slice_key, Some(true));
        assert_eq!(h.size, 26);
        let b = from_bytes(&p, Codec::H264, |_, _| true).unwrap();
        assert_eq!(
            (
                b.marker,
                b.pt,
                b.seq,
                b.ts,
                b.ssrc,
                b.size,
                b.first_slice_key
            ),
            (true, 96, 0x0102, 0x03040506, 0x0708090a, 26, Some(true))
        );
        assert_eq!(
            from_bytes(&p, Codec::H264, |_, _| false)
                .unwrap()
                .first_slice_key,
            None
        );
        assert_eq!(
            read(&buffer, Codec::Other, |_, _| true)
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
        let h = read(&buffer, Codec::H264, |_, _| true).unwrap();
        assert_eq!(h.first_slice_key, Some(false));
        assert_eq!(h.size, 14);
        // A header split over two memories.
        let mut split = gst::Buffer::from_slice([0x80, 0x60, 0, 7]);
        split
            .get_mut()
            .unwrap()
            .append_memory(gst::Memory::from_slice([0, 0, 0, 9, 0, 0, 0, 5, 0x41]));
        let h = read(&split, Codec::Other, |_, _| true).unwrap();
        assert_eq!((h.seq, h.ts, h.ssrc, h.size), (7, 9, 5, 13));
        let not_rtp = gst::Buffer::from_slice([0u8; 12]);
        assert!(from_bytes(&[0u8; 12], Codec::H264, |_, _| true).is_none());
        assert!(read(&not_rtp, Codec::H264, |_, _| true).is_none());
    }
}
