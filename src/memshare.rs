// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Byte ranges of a buffer as memories shared with it, and buffers reused for another
//! purpose: how payloaders and depayloaders move NAL units and payloads between buffers
//! without copying a byte and without making a buffer per range or per packet (a `GstBuffer`
//! costs far more than the `GstMemory` it would wrap).

use smallvec::SmallVec;

/// Memories of one payload or NAL unit: usually one, several when the source buffer is
/// made of several memories.
pub type SharedMemories = SmallVec<[gst::Memory; 1]>;

/// Appends `range` of `buffer` to `out` as memories shared with `buffer`'s memories (a
/// memory flagged `NO_SHARE` is copied instead). False, with nothing appended, when `range`
/// is not inside the buffer or a memory cannot be read.
pub fn share_range(
    buffer: &gst::BufferRef,
    range: std::ops::Range<usize>,
    out: &mut impl Extend<gst::Memory>,
) -> bool {
    if range.start > range.end || range.end > buffer.size() {
        return false;
    }
    if buffer.n_memory() == 1 {
        let memory = buffer.peek_memory(0);
        if !memory.flags().contains(gst::MemoryFlags::NO_SHARE) {
            out.extend([memory.share(range)]);
            return true;
        }
    }
    let mut parts: SharedMemories = SmallVec::new();
    let mut at = 0;
    for memory in buffer.iter_memories() {
        let (mem_start, mem_end) = (at, at + memory.size());
        at = mem_end;
        let (from, to) = (range.start.max(mem_start), range.end.min(mem_end));
        if from >= to {
            continue;
        }
        let part = (from - mem_start)..(to - mem_start);
        if memory.flags().contains(gst::MemoryFlags::NO_SHARE) {
            let Ok(map) = memory.map_readable() else {
                return false;
            };
            let Some(bytes) = map.get(part) else {
                return false;
            };
            parts.push(gst::Memory::from_mut_slice(bytes.to_vec()));
        } else {
            parts.push(memory.share(part));
        }
    }
    out.extend(parts);
    true
}

/// Clears what a buffer says about its old contents (metas, flags, timestamps, duration,
/// offsets), keeping its memories: for an input buffer that becomes an output (the packet
/// of an audio payloader, the payload of an audio depayloader) and a pooled buffer that is
/// reused.
pub fn clear_metadata(buffer: &mut gst::BufferRef) {
    buffer.foreach_meta_mut(|_| {
        std::ops::ControlFlow::Continue(gst::buffer::BufferMetaForeachAction::Remove)
    });
    buffer.unset_flags(gst::BufferFlags::all());
    buffer.set_pts(None);
    buffer.set_dts(None);
    buffer.set_duration(None);
    buffer.set_offset(u64::MAX);
    buffer.set_offset_end(u64::MAX);
}
