// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The downstream allocator of a depayloader's output.
//!
//! Our depayloaders output memories shared with the RTP packets (no copy). When downstream
//! answers the ALLOCATION query with an allocator of its own memory type (a hardware
//! decoder's, a custom memory), it needs the data in that memory, as the C `rtph264depay`
//! gives it: each output is then copied into one memory from that allocator. An answer that
//! names the system memory allocator, or none, keeps the zero-copy output.

use gst::prelude::*;

/// `GST_ALLOCATOR_SYSMEM`: the memory type of the default allocator.
const SYSTEM_MEMORY: &str = "SystemMemory";

/// An allocator that downstream proposed, with its allocation parameters.
#[derive(Debug, Clone)]
pub(super) struct ProposedAllocator {
    allocator: gst::Allocator,
    params: gst::AllocationParams,
}

impl ProposedAllocator {
    /// Runs the ALLOCATION query for `caps` on the peer of `src_pad` (without a pool, as the
    /// outputs are not of a fixed size). `None` when downstream proposes no allocator or one
    /// of system memory.
    pub(super) fn query(src_pad: &gst::Pad, caps: &gst::Caps) -> Option<Self> {
        let mut query = gst::query::Allocation::new(Some(caps), false);
        if !src_pad.peer_query(&mut query) {
            gst::debug!(
                crate::CAT,
                obj = src_pad,
                "Downstream ALLOCATION query failed"
            );
            return None;
        }
        let (allocator, params) = query.allocation_params().next()?;
        let allocator = allocator?;
        if allocator.memory_type() == SYSTEM_MEMORY {
            return None;
        }
        gst::debug!(
            crate::CAT,
            obj = src_pad,
            "Downstream proposes allocator {} of memory type {}",
            allocator.name(),
            allocator.memory_type()
        );
        Some(ProposedAllocator { allocator, params })
    }

    /// `buffer`'s bytes in one memory from the allocator, with `buffer`'s flags, times and
    /// metas. When the allocator fails, `buffer` itself (logged).
    pub(super) fn copy_into(&self, buffer: gst::Buffer) -> gst::Buffer {
        let size = buffer.size();
        if size == 0 {
            return buffer;
        }
        let Ok(mut memory) = self.allocator.alloc(size, Some(&self.params)) else {
            gst::warning!(
                crate::CAT,
                "Allocator {} failed for {size} bytes: output left in shared memory",
                self.allocator.name()
            );
            return buffer;
        };
        {
            let Ok(mut map) = memory.make_mut().map_writable() else {
                return buffer;
            };
            if buffer.copy_to_slice(0, &mut map).is_err() {
                return buffer;
            }
        }
        let Ok(mut out) = buffer.copy_region(
            gst::BufferCopyFlags::FLAGS
                | gst::BufferCopyFlags::TIMESTAMPS
                | gst::BufferCopyFlags::META,
            ..,
        ) else {
            return buffer;
        };
        out.make_mut().append_memory(memory);
        out
    }

    /// [`Self::copy_into`] for every buffer of `list`.
    pub(super) fn copy_list(&self, list: &mut gst::BufferList) {
        let list = list.make_mut();
        let buffers: Vec<gst::Buffer> = list.drain(..).collect();
        for buffer in buffers {
            list.add(self.copy_into(buffer));
        }
    }
}
