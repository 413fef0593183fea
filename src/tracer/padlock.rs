// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The lock of one pad's tracer state: taken with one compare-and-swap, given back with a
//! plain store (std's `Mutex` gives back with a second locked instruction, as costly as the
//! first, because it must look for sleepers). Only pushes on that one pad and the rare link,
//! caps and removal hooks of that pad take it, and pushes on one pad do not overlap in a
//! working pipeline, so it is practically never contended; a waiter spins a little, then
//! yields its time slice until the holder is done.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

/// Spins before a waiter starts yielding.
const SPINS: u32 = 64;

/// A value behind a flag lock (see the module documentation).
pub(crate) struct PadLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through a `PadGuard`, and the flag lets one guard exist
// at a time; the acquire/release pair orders one holder's accesses before the next's. `T`
// moves between the threads that take turns, hence `T: Send`.
unsafe impl<T: Send> Sync for PadLock<T> {}

impl<T> PadLock<T> {
    /// `value`, unlocked.
    pub(crate) const fn new(value: T) -> Self {
        PadLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Exclusive access until the guard drops.
    #[inline]
    pub(crate) fn lock(&self) -> PadGuard<'_, T> {
        if self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.wait();
        }
        PadGuard { lock: self }
    }

    #[cold]
    #[inline(never)]
    fn wait(&self) {
        let mut spins = 0;
        loop {
            while self.locked.load(Ordering::Relaxed) {
                if spins < SPINS {
                    spins += 1;
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

impl<T> std::fmt::Debug for PadLock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PadLock")
            .field("locked", &self.locked.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Exclusive access to a [`PadLock`]'s value; unlocks on drop.
pub(crate) struct PadGuard<'a, T> {
    lock: &'a PadLock<T>,
}

impl<T> Deref for PadGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the flag: no other reference to the value exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for PadGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference through the guard.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for PadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn threads_take_turns_without_losing_updates() {
        let lock = Arc::new(PadLock::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        // A read and a write apart: a lost update shows if turns overlap.
                        let mut g = lock.lock();
                        let v = *g;
                        std::hint::black_box(&v);
                        *g = v + 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.lock(), 40_000);
    }
}
