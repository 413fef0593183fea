// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Payloader: the output buffers of the queued packets, through the one header writer
//! (fixed headers in batches, then CSRCs, extension block and payload-format prefix in
//! place into the header memory), with the payload memories and the metas of their inputs.

use super::*;

impl RtpBasePay2 {
    /// Appends to `out` the output buffers of the queued packets, each header written by one writer in place into
    /// the packet's header memory (pooled when possible): first the fixed 12 bytes of all
    /// packets, in batches of consecutive sequence numbers (SIMD where the CPU has it), then
    /// per packet the CSRCs, the header extension block and the payload-format prefix
    /// ([`write_packet_header`]). Runs without any lock held: header extensions write here
    /// (from the first input of the packet), and allowed metas are copied from its inputs.
    pub(super) fn build_packets(
        &self,
        pending: &mut Vec<PendingPacket>,
        pending_inputs: &[gst::Buffer],
        params: &BuildParams,
        out: &mut SmallVec<[gst::Buffer; 16]>,
    ) {
        let mut stack = [[0u8; FIXED_HEADER_LEN]; STACK_PACKETS];
        let mut heap = Vec::new();
        let headers: &mut [[u8; FIXED_HEADER_LEN]] = if pending.len() <= STACK_PACKETS {
            &mut stack[..pending.len()]
        } else {
            heap.resize(pending.len(), [0u8; FIXED_HEADER_LEN]);
            &mut heap
        };
        write_fixed_headers(&params.template, pending, headers);
        let element = self.obj();
        let allowed_tags = self.vfuncs().allowed_meta_tags;
        for (p, fixed) in pending.drain(..).zip(headers.iter()) {
            let range = p.inputs.at as usize..(p.inputs.at + p.inputs.count) as usize;
            let inputs = pending_inputs.get(range).unwrap_or_default();
            let first_input = inputs.first().filter(|_| p.inputs.first);
            let csrcs = match first_input {
                Some(input) if params.source_info => csrcs_from_meta(input),
                _ => Vec::new(),
            };
            let prefix = p.prefix.as_slice();
            // Header bytes without an extension block, and the memory size to ask for.
            let len = FIXED_HEADER_LEN + 4 * csrcs.len() + prefix.len();
            let capacity = if params.extensions.is_some() {
                params.header_capacity
            } else {
                len
            };
            let write_plain =
                |mem: &mut [u8]| write_packet_header(mem, fixed, &csrcs, None, prefix);
            let output = match p.payload {
                // A payload that is a buffer the payloader alone holds (typically the whole
                // input) becomes the packet: the header memory goes in front of its memory.
                PacketPayload::Buffer(mut buffer) if buffer.is_writable() => {
                    let mut header = gst::Memory::with_size(capacity);
                    let written = match header.get_mut() {
                        Some(mem) => write_memory(mem, len, write_plain),
                        None => Err("new memory not writable".into()),
                    };
                    written.map(|()| {
                        let b = buffer.make_mut();
                        crate::memshare::clear_metadata(b);
                        b.insert_memory(0, header);
                        buffer
                    })
                }
                payload => {
                    let mut output = if params.use_pool {
                        self.pool.packet_buffer(capacity)
                    } else {
                        buffer_with_header_memory(capacity)
                    };
                    write_header_memory(output.make_mut(), capacity, len, write_plain).map(|()| {
                        append_payload(&mut output, payload);
                        output
                    })
                }
            };
            let mut output = match output {
                Ok(output) => output,
                Err(err) => {
                    gst::error!(crate::CAT, imp = self, "Cannot write RTP header: {err}");
                    continue;
                }
            };
            if let Some(extensions) = &params.extensions {
                let input = first_input.cloned().unwrap_or_default();
                // The extension sees the packet as it will be, minus its own block.
                if let Some((profile, block)) =
                    extensions.write(element.upcast_ref(), &input, &output)
                {
                    let len = len + 4 + block.len();
                    let written = write_header_memory(output.make_mut(), len, len, |mem| {
                        write_packet_header(mem, fixed, &csrcs, Some((profile, &block[..])), prefix)
                    });
                    if let Err(err) = written {
                        gst::warning!(crate::CAT, imp = self, "Header extension dropped: {err}");
                    }
                }
            }
            {
                let b = output.make_mut();
                for input in inputs {
                    copy_allowed_metas(input, b, allowed_tags);
                }
                b.set_pts(p.pts);
                b.set_duration(p.duration);
                set_packet_flags(b, p.flags);
            }
            out.push(output);
        }
    }
}

/// Sets the packet flags of [`OutgoingPacket::buffer_flags`] (a reused buffer may carry old
/// ones).
pub(super) fn set_packet_flags(buffer: &mut gst::BufferRef, flags: gst::BufferFlags) {
    buffer.unset_flags(
        gst::BufferFlags::DISCONT | gst::BufferFlags::DELTA_UNIT | gst::BufferFlags::MARKER,
    );
    buffer.set_flags(flags);
}

/// Packets per push whose fixed headers are written on the stack (more spill to the heap).
pub(super) const STACK_PACKETS: usize = 16;

/// Writes the fixed headers of `pending` into `out` (one per packet), in batches of
/// consecutive sequence numbers ([`write_headers_auto`]: SIMD where the CPU has it).
pub(super) fn write_fixed_headers(
    template: &HeaderTemplate,
    pending: &[PendingPacket],
    out: &mut [[u8; FIXED_HEADER_LEN]],
) {
    let n = pending.len();
    let (mut timestamps, mut markers) = ([0u32; STACK_PACKETS], [false; STACK_PACKETS]);
    let (mut timestamps_heap, mut markers_heap) = (Vec::new(), Vec::new());
    let (timestamps, markers): (&mut [u32], &mut [bool]) = if n <= STACK_PACKETS {
        (&mut timestamps[..n], &mut markers[..n])
    } else {
        timestamps_heap.resize(n, 0);
        markers_heap.resize(n, false);
        (&mut timestamps_heap, &mut markers_heap)
    };
    for (p, (timestamp, marker)) in pending
        .iter()
        .zip(timestamps.iter_mut().zip(markers.iter_mut()))
    {
        *timestamp = p.timestamp;
        *marker = p.marker;
    }
    let mut start = 0;
    while start < n {
        let first_seq = pending[start].seq;
        let mut end = start + 1;
        while end < n && pending[end].seq == first_seq.wrapping_add((end - start) as u16) {
            end += 1;
        }
        write_headers_auto(
            template,
            first_seq,
            &timestamps[start..end],
            &markers[start..end],
            &mut out[start..end],
        );
        start = end;
    }
}

/// Appends the payload's memories to a packet without copying a byte: a payload buffer
/// nobody else holds gives its memories away; a shared one (e.g. a region of the input) is
/// read memory by memory, since appending it whole would first copy the buffer.
pub(super) fn append_payload(output: &mut gst::Buffer, payload: PacketPayload) {
    match payload {
        PacketPayload::Buffer(payload) if payload.is_writable() => output.append(payload),
        PacketPayload::Buffer(payload) => {
            let out = output.make_mut();
            for mem in payload.iter_memories_owned() {
                out.append_memory(mem);
            }
        }
        PacketPayload::Memories(memories) => {
            let out = output.make_mut();
            for mem in memories {
                out.append_memory(mem);
            }
        }
    }
}

/// A packet buffer without pool, with a header memory of `capacity` bytes: one allocation
/// for the memory (data included) and one for the buffer, as `gst_buffer_new_allocate` does.
pub(super) fn buffer_with_header_memory(capacity: usize) -> gst::Buffer {
    let mut buffer = gst::Buffer::new();
    if let Some(b) = buffer.get_mut() {
        b.append_memory(gst::Memory::with_size(capacity));
    }
    buffer
}

/// Runs the header writer `write` on the first memory of `buffer` (the header memory) for a
/// header of `len` bytes. A header memory that is shared (a copy downstream still holds it)
/// or smaller than `len` is first replaced by a new one of `capacity` bytes.
pub(super) fn write_header_memory(
    buffer: &mut gst::BufferRef,
    capacity: usize,
    len: usize,
    write: impl FnOnce(&mut [u8]) -> Result<usize, rtp2_core::rtp::RtpWriteError>,
) -> Result<(), String> {
    let fits = buffer.n_memory() > 0 && {
        let mem = buffer.peek_memory(0);
        mem.offset() == 0 && mem.maxsize() >= len
    };
    if !fits {
        let memory = gst::Memory::with_size(capacity.max(len));
        if buffer.n_memory() > 0 {
            buffer.replace_memory(0, memory);
        } else {
            buffer.prepend_memory(memory);
        }
    }
    match buffer.peek_memory_mut(0) {
        Ok(mem) => write_memory(mem, len, write),
        Err(_) => {
            buffer.replace_memory(0, gst::Memory::with_size(capacity.max(len)));
            let mem = buffer.peek_memory_mut(0).map_err(|e| e.to_string())?;
            write_memory(mem, len, write)
        }
    }
}

/// Sets `mem` (offset 0, at least `len` bytes allocated) to `len` bytes and runs the header
/// writer on them.
pub(super) fn write_memory(
    mem: &mut gst::MemoryRef,
    len: usize,
    write: impl FnOnce(&mut [u8]) -> Result<usize, rtp2_core::rtp::RtpWriteError>,
) -> Result<(), String> {
    if mem.size() != len {
        mem.resize_maxsize(0..len);
    }
    let mut map = mem.map_writable().map_err(|e| e.to_string())?;
    write(&mut map).map(|_| ()).map_err(|e| e.to_string())
}

/// Whether `buffer` has a meta that [`copy_allowed_metas`] would copy.
pub(super) fn has_copyable_meta(buffer: &gst::BufferRef, allowed_tags: &[&str]) -> bool {
    buffer
        .iter_meta::<gst::Meta>()
        .any(|meta| meta_allowed(&meta, allowed_tags))
}

/// A meta with no tag, or only tags of `allowed_tags` (`gst_rtp_copy_meta` in C copies a meta
/// with no tag or with the one tag of the media).
///
/// `RTPSourceMeta` is never copied: it describes the sources of one RTP hop, and the base
/// classes make their own from the RTP header (`source-info`), so a copy would give a packet
/// or an output two of them.
pub(super) fn meta_allowed(meta: &gst::MetaRef<'_, gst::Meta>, allowed_tags: &[&str]) -> bool {
    meta.api() != <gst_rtp::RTPSourceMeta as gst::prelude::MetaAPI>::meta_api()
        && meta
            .tags()
            .iter()
            .all(|tag| allowed_tags.contains(&tag.as_str()))
}

/// Copies the allowed metas of the input `from` to the packet `to`.
pub(super) fn copy_allowed_metas(
    from: &gst::BufferRef,
    to: &mut gst::BufferRef,
    allowed_tags: &[&str],
) {
    for meta in from.iter_meta::<gst::Meta>() {
        if meta_allowed(&meta, allowed_tags)
            && meta
                .transform(to, &gst::meta::MetaTransformCopy::new(..))
                .is_err()
        {
            gst::debug!(crate::CAT, "Cannot copy a {} meta", meta.api());
        }
    }
}

/// The CSRCs that `source-info` writes: the SSRC and CSRCs of the input's `RTPSourceMeta`
/// (RFC 3550 §5.1: the contributing sources of a mixed packet), at most 15.
pub(super) fn csrcs_from_meta(buffer: &gst::Buffer) -> Vec<u32> {
    let Some(meta) = buffer.meta::<gst_rtp::RTPSourceMeta>() else {
        return Vec::new();
    };
    meta.ssrc()
        .into_iter()
        .chain(meta.csrc().iter().copied())
        .take(rtp2_core::rtp::MAX_CSRC_COUNT)
        .collect()
}
