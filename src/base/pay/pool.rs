// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! A lock-free pool of RTP packet buffers, owned by each payloader.
//!
//! Every packet the payloader sends is a buffer holding one header memory (RTP header and
//! payload-format header bytes) followed by memories shared with the input. Allocating that
//! buffer and its header memory for each packet is most of a payloader's allocator traffic.
//! This pool is a real `GstBufferPool` subclass: GStreamer returns a buffer to it when the last
//! reference is dropped, wherever that happens (a sink, a jitterbuffer, another thread). The
//! pool then strips the payload memories and metas and keeps the buffer with its header
//! memory in a bounded lock-free queue (`crossbeam_queue::ArrayQueue`); the next packet
//! reuses it. When downstream holds buffers for long the queue is simply empty and new
//! buffers are allocated (counted as misses); a full queue frees what comes back.

use std::sync::atomic::{AtomicU64, Ordering};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

/// Bytes of a pooled header memory at least: the 12-byte RTP header, up to 15 CSRCs (60
/// bytes), a payload-format header of up to [`super::PayloadPrefix::CAPACITY`] bytes, and room
/// for a few header extension elements (e.g. a transport-wide sequence number and an audio
/// level). The payloader asks for more when its extensions may need it.
pub const HEADER_CAPACITY: usize = 128;

/// Buffers kept for reuse at most.
pub const POOL_CAPACITY: usize = 64;

glib::wrapper! {
    /// The payloader's packet buffer pool.
    pub struct RtpPacketPool(ObjectSubclass<imp::RtpPacketPool>)
        @extends gst::BufferPool, gst::Object;
}

impl Default for RtpPacketPool {
    fn default() -> Self {
        glib::Object::new()
    }
}

/// Counters of a pool, for the payloader's `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Packets that reused a returned buffer (each an allocation avoided).
    pub hits: u64,
    /// Packets that needed a new buffer.
    pub misses: u64,
    /// Buffers returned to the pool by GStreamer.
    pub returned: u64,
    /// Returned buffers freed because the queue was full or the buffer unusable.
    pub discarded: u64,
}

impl RtpPacketPool {
    /// A writable packet buffer with one header memory of at least `capacity` bytes (a
    /// returned one when there is one) and no payload yet; the payloader writes the header
    /// into that memory in place. A returned buffer whose header memory is smaller or shared
    /// gets a new header memory when the header is written.
    pub fn packet_buffer(&self, capacity: usize) -> gst::Buffer {
        let mut buffer = self
            .acquire_buffer(None)
            .unwrap_or_else(|_| imp::new_packet_buffer(capacity));
        if buffer.get_mut().is_none() {
            buffer = imp::new_packet_buffer(capacity);
        }
        buffer
    }

    /// Hit, miss and return counts.
    pub fn stats(&self) -> PoolStats {
        self.imp().stats()
    }
}

mod imp {
    use super::*;
    use crossbeam_queue::ArrayQueue;

    /// A new pool buffer: one header memory of `capacity` bytes, at least
    /// [`HEADER_CAPACITY`].
    pub(super) fn new_packet_buffer(capacity: usize) -> gst::Buffer {
        let mut buffer = gst::Buffer::new();
        if let Some(b) = buffer.get_mut() {
            b.append_memory(gst::Memory::with_size(capacity.max(HEADER_CAPACITY)));
        }
        buffer
    }

    pub struct RtpPacketPool {
        /// Boxed: the queue is cache-line aligned, more than GObject instance data allows.
        /// Made when the first buffer comes back (about 1.4 KiB that a payloader whose
        /// packets are its inputs, as audio ones usually are, never needs).
        free: std::sync::OnceLock<Box<ArrayQueue<gst::Buffer>>>,
        hits: AtomicU64,
        misses: AtomicU64,
        returned: AtomicU64,
        discarded: AtomicU64,
    }

    impl Default for RtpPacketPool {
        fn default() -> Self {
            RtpPacketPool {
                free: std::sync::OnceLock::new(),
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                returned: AtomicU64::new(0),
                discarded: AtomicU64::new(0),
            }
        }
    }

    impl RtpPacketPool {
        pub(super) fn stats(&self) -> PoolStats {
            PoolStats {
                hits: self.hits.load(Ordering::Relaxed),
                misses: self.misses.load(Ordering::Relaxed),
                returned: self.returned.load(Ordering::Relaxed),
                discarded: self.discarded.load(Ordering::Relaxed),
            }
        }
    }

    #[glib::object_subclass]
    impl ObjectSubclass for RtpPacketPool {
        const NAME: &'static str = "GstRtp2PacketPool";
        type Type = super::RtpPacketPool;
        type ParentType = gst::BufferPool;
    }

    impl ObjectImpl for RtpPacketPool {}
    impl GstObjectImpl for RtpPacketPool {}

    impl BufferPoolImpl for RtpPacketPool {
        /// Never blocks and never fails: a returned buffer if there is one, else a new one.
        fn acquire_buffer(
            &self,
            _params: Option<&gst::BufferPoolAcquireParams>,
        ) -> Result<gst::Buffer, gst::FlowError> {
            match self.free.get().and_then(|free| free.pop()) {
                Some(buffer) => {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    Ok(buffer)
                }
                None => {
                    self.misses.fetch_add(1, Ordering::Relaxed);
                    Ok(new_packet_buffer(HEADER_CAPACITY))
                }
            }
        }

        fn alloc_buffer(
            &self,
            _params: Option<&gst::BufferPoolAcquireParams>,
        ) -> Result<gst::Buffer, gst::FlowError> {
            Ok(new_packet_buffer(HEADER_CAPACITY))
        }

        /// Back to a bare header buffer: payload memories, metas, flags and times removed.
        fn reset_buffer(&self, buffer: &mut gst::BufferRef) {
            if buffer.n_memory() > 1 {
                buffer.remove_memory_range(1..);
            }
            crate::memshare::clear_metadata(buffer);
        }

        /// Keeps the buffer for reuse if its header memory is intact and the queue has room;
        /// otherwise lets it go (it is freed: GStreamer detached it from the pool already).
        fn release_buffer(&self, buffer: gst::Buffer) {
            self.returned.fetch_add(1, Ordering::Relaxed);
            // A header memory shared by someone else is caught when the buffer is reused
            // (the header writer needs it writable), so it is not checked here.
            let reusable =
                buffer.n_memory() == 1 && buffer.peek_memory(0).maxsize() >= HEADER_CAPACITY;
            let free = self
                .free
                .get_or_init(|| Box::new(ArrayQueue::new(POOL_CAPACITY)));
            if !reusable || free.push(buffer).is_err() {
                self.discarded.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
