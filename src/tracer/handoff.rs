// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Packets pushed into one of our depayloaders or RTP-to-RTP filters (FEC and RED
//! elements), accounted from that element's own map.
//!
//! Those two base classes map every packet they get to parse it. When the tracer would map
//! the same packet a moment earlier (in `pad-push-pre`, on the pad feeding the element),
//! the packet is mapped twice: GStreamer's map and unmap, with the memory's lock, are about
//! a third of the tracer's work per packet. So on such a pad the push hook only notes the
//! push in a per-thread slot (which pad, which buffer, when); the base, once it has mapped
//! the packet, hands the bytes to [`mapped_input`], which accounts the packet into the
//! pad's streams there, before the element does anything with it (so its processing
//! latency starts at the same push as before). Which pads these are is the bases' to say
//! (`crate::base::hands_input_to_tracer`).
//!
//! A noted packet the element never reads (a flushing pad, a probe dropping it, an
//! unreadable buffer) is counted in `rtp2_untracked_packets_total` when the next note or
//! mapped input on the thread finds it still there: its header was never read.
//!
//! The slot keeps the pad's state by address. It is used as is while no pad state has been
//! freed since the note (the epoch of the per-thread pad table, `super::recent`); when one
//! has (anywhere in the process), the element's sink pad's peer is asked, and the packet
//! is accounted if the noted pad is still that peer (a pad is unlinked before it is
//! freed).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

use gst::prelude::*;

use super::pad::PadProbe;

/// Set once an `rtp-metrics` tracer registered its hooks: until then a mapped input costs
/// one load here.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// One noted push (0 / null: none).
struct Slot {
    /// Address of the buffer pushed.
    buffer: Cell<usize>,
    /// The pushing pad (compared only, never dereferenced).
    pad: Cell<usize>,
    /// The pushing pad's probe: valid while [`PadProbe::epoch`] is `epoch`.
    probe: Cell<*const PadProbe>,
    epoch: Cell<u64>,
    /// The `rtp-metrics` tracer that noted the push (it lives as long as its hooks, which
    /// GStreamer keeps until `gst_deinit`).
    tracer: Cell<*mut glib::gobject_ffi::GObject>,
    /// The push hook's time (ns).
    ts: Cell<u64>,
}

thread_local! {
    static SLOT: Slot = const {
        Slot {
            buffer: Cell::new(0),
            pad: Cell::new(0),
            probe: Cell::new(std::ptr::null()),
            epoch: Cell::new(0),
            tracer: Cell::new(std::ptr::null_mut()),
            ts: Cell::new(0),
        }
    };
}

/// Turns the bases' side on (a tracer registered its push hooks).
pub(super) fn activate() {
    ACTIVE.store(true, Ordering::Relaxed);
}

/// Notes that `buffer` is pushed at `ts` on the pad of `probe`, to be accounted by the
/// element it goes to, for `tracer` (an `rtp-metrics` tracer, from its push hook).
/// False when another `rtp-metrics` tracer noted this push first (the slot holds one push):
/// the caller then accounts it itself.
#[inline]
pub(super) fn note(
    buffer: *mut gst::ffi::GstBuffer,
    pad: *mut gst::ffi::GstPad,
    probe: &PadProbe,
    tracer: *mut glib::gobject_ffi::GObject,
    ts: u64,
) -> bool {
    let buffer = buffer as usize;
    SLOT.with(|slot| {
        let previous = slot.buffer.get();
        if previous == buffer && slot.tracer.get() != tracer {
            return false;
        }
        // (The same buffer noted by this tracer before: pushed again, e.g. by `netsim`'s
        // duplication, after its first push went unread.)
        if previous != 0 {
            unread(slot);
        }
        slot.buffer.set(buffer);
        slot.pad.set(pad as usize);
        slot.probe.set(probe);
        slot.epoch.set(PadProbe::epoch());
        slot.tracer.set(tracer);
        slot.ts.set(ts);
        true
    })
}

/// Our depayloader or filter base has mapped `buffer` (`bytes`: the whole packet),
/// received on its `sink_pad`: accounts it when its push was noted (see the module's
/// documentation).
#[inline]
pub(crate) fn mapped_input(buffer: &gst::BufferRef, sink_pad: &gst::Pad, bytes: &[u8]) {
    if ACTIVE.load(Ordering::Relaxed) {
        take(buffer.as_ptr() as usize, sink_pad, bytes);
    }
}

#[inline(never)]
fn take(buffer: usize, sink_pad: &gst::Pad, bytes: &[u8]) {
    SLOT.with(|slot| {
        let noted = slot.buffer.get();
        if noted == 0 {
            return;
        }
        if noted != buffer {
            // A noted packet that never got here, and this one was not noted.
            unread(slot);
            return;
        }
        slot.buffer.set(0);
        let tracer = slot.tracer.get();
        // The families are needed for a new stream or an uncounted packet only.
        // SAFETY: the tracer that noted the push is alive (see `Slot::tracer`).
        let families = || unsafe { super::imp::families_of(tracer) };
        if slot.epoch.get() != PadProbe::epoch() {
            after_free(slot, sink_pad, bytes);
            return;
        }
        // SAFETY: the probe was its pad's when noted and no probe has been freed since (a
        // probe's drop bumps the epoch first), so it is alive.
        unsafe { (*slot.probe.get()).on_handed_off(slot.ts.get(), bytes, families) };
    });
}

/// [`take`] when some pad's state was freed since the note (anywhere in the process): the
/// noted pad is alive if it still feeds `sink_pad` (a pad is unlinked before it goes).
/// Out of line: the usual path stays contiguous.
#[cold]
#[inline(never)]
fn after_free(slot: &Slot, sink_pad: &gst::Pad, bytes: &[u8]) {
    // SAFETY: as in `take`: the tracer that noted the push is alive.
    let families = || unsafe { super::imp::families_of(slot.tracer.get()) };
    match sink_pad.peer() {
        Some(peer) if peer.as_ptr() as usize == slot.pad.get() => {
            PadProbe::get(&peer).on_handed_off(slot.ts.get(), bytes, families);
        }
        _ => {
            if let Some(families) = families() {
                families.untracked_packets.inc();
            }
        }
    }
}

/// The noted packet was never read: counted as untracked, the slot emptied.
#[cold]
fn unread(slot: &Slot) {
    slot.buffer.set(0);
    // SAFETY: as in `take`: the tracer that noted it is alive.
    if let Some(families) = unsafe { super::imp::families_of(slot.tracer.get()) } {
        families.untracked_packets.inc();
    }
}
