// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Finding a pad's [`PadProbe`] on every push without the pad's qdata lookup: a small
//! per-thread table by pad address, trusted while no probe has been freed since it was
//! filled.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use gst::prelude::*;

use super::pad::PadProbe;

/// Bumped whenever a [`PadProbe`] is freed (its pad was finalized): a streaming thread's
/// [`RECENT`] cache is only trusted while this has not changed.
static PROBE_EPOCH: AtomicU64 = AtomicU64::new(0);

/// The probes of the pads a thread pushed on, by pad address (a small open-addressing table,
/// kept at most half full): a hit costs a hash and a compare or two instead of the pad's
/// qdata lookup (which takes the qdata's bit lock and scans its list). Cells rather than a
/// `RefCell`: the thread's own table needs no borrow flag checked on every push (addresses
/// and probes in two arrays: indexed with one scaled address each, fewer instructions than
/// pairs of both).
struct Recent {
    epoch: Cell<u64>,
    len: Cell<usize>,
    /// Pad addresses; 0: an empty slot.
    pads: [Cell<usize>; RECENT_SLOTS],
    /// The probe of the pad in the same slot of `pads`.
    probes: [Cell<*const PadProbe>; RECENT_SLOTS],
}

/// Slots per thread (a streaming thread usually pushes through a few pads in a row: source,
/// queue-less chains of elements, ghost pads); a power of two.
const RECENT_SLOTS: usize = 32;

impl Recent {
    fn home(key: usize) -> usize {
        // Fibonacci hashing: the top bits of the product spread nearby addresses.
        ((key as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (u64::BITS - RECENT_SLOTS.ilog2()))
            as usize
    }

    #[inline]
    fn find(&self, key: usize) -> Option<*const PadProbe> {
        let mut i = Self::home(key);
        loop {
            match self.pads[i].get() {
                k if k == key => return Some(self.probes[i].get()),
                0 => return None,
                _ => i = (i + 1) % RECENT_SLOTS,
            }
        }
    }

    fn insert(&self, epoch: u64, key: usize, probe: *const PadProbe) {
        if self.epoch.get() != epoch || self.len.get() >= RECENT_SLOTS / 2 {
            for pad in &self.pads {
                pad.set(0);
            }
            self.len.set(0);
            self.epoch.set(epoch);
        }
        let mut i = Self::home(key);
        while !matches!(self.pads[i].get(), k if k == 0 || k == key) {
            i = (i + 1) % RECENT_SLOTS;
        }
        if self.pads[i].get() == 0 {
            self.len.set(self.len.get() + 1);
        }
        self.pads[i].set(key);
        self.probes[i].set(probe);
    }
}

thread_local! {
    static RECENT: Recent = const {
        Recent {
            epoch: Cell::new(u64::MAX),
            len: Cell::new(0),
            pads: [const { Cell::new(0) }; RECENT_SLOTS],
            probes: [const { Cell::new(std::ptr::null()) }; RECENT_SLOTS],
        }
    };
}

impl Drop for PadProbe {
    fn drop(&mut self) {
        // Before the pad's memory can be reused by another pad (see `PadProbe::get`).
        PROBE_EPOCH.fetch_add(1, Ordering::Release);
    }
}

impl PadProbe {
    /// How many probes have been freed so far: a probe pointer kept while this is unchanged
    /// is still valid.
    #[inline]
    pub(crate) fn epoch() -> u64 {
        PROBE_EPOCH.load(Ordering::Acquire)
    }

    /// The probe of the pad at address `pad` if this thread's cache knows it (else ask
    /// [`Self::get`]). The cheapest look-up: the caller need not even make a `gst::Pad`
    /// reference.
    #[inline]
    pub(crate) fn cached<'a>(pad: usize) -> Option<&'a PadProbe> {
        let epoch = PROBE_EPOCH.load(Ordering::Acquire);
        let probe = RECENT.with(|r| {
            if r.epoch.get() == epoch {
                r.find(pad)
            } else {
                None
            }
        })?;
        // SAFETY: as in `get`: the probe of the pad at this address, which the caller
        // borrows (GStreamer passed it to the hook) for no longer than the hook.
        Some(unsafe { &*probe })
    }

    /// The probe of `pad`, created on first use.
    #[inline]
    pub(crate) fn get(pad: &gst::Pad) -> &PadProbe {
        let key = pad.as_ptr() as usize;
        let epoch = PROBE_EPOCH.load(Ordering::Acquire);
        let hit = RECENT.with(|r| {
            if r.epoch.get() == epoch {
                r.find(key)
            } else {
                None
            }
        });
        if let Some(probe) = hit {
            // SAFETY: the pointer was read from the qdata of the pad at this address while
            // `PROBE_EPOCH` had this value. A probe is freed only with its pad, and its drop
            // bumps the epoch first; so no probe was freed since, the pad at this address
            // (alive: the caller borrows it) is still the one the probe belongs to, and the
            // probe lives as long as it.
            return unsafe { &*probe };
        }
        Self::get_uncached(pad, epoch)
    }

    /// [`Self::get`] when this thread's cache does not know `pad`.
    #[cold]
    #[inline(never)]
    fn get_uncached(pad: &gst::Pad, epoch: u64) -> &PadProbe {
        let probe = Self::get_or_create(pad);
        RECENT.with(|r| r.insert(epoch, pad.as_ptr() as usize, probe));
        probe
    }
}
