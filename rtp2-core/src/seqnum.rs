// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Sequence numbers and timestamps of received packets: 16-bit and 32-bit counters that wrap
//! (RFC 3550 §5.1), classified and extended to 64 bits so that a wrap never looks like a jump
//! (the idea of RFC 3550 Appendix A.1).

/// What a packet's sequence number says about the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SeqnumVerdict {
    /// First packet since creation or [`SeqnumTracker::reset`].
    First,
    /// The next expected packet.
    Expected,
    /// Ahead of the expected one by `lost` (1..=32767): those packets are missing.
    Gap {
        /// How many packets are missing before this one.
        lost: u16,
    },
    /// Behind the expected one by `behind` (1..=max_reorder): a duplicate or a packet that
    /// arrived too late; drop it.
    Late {
        /// How far behind the expected sequence number.
        behind: u16,
    },
    /// Further behind than max_reorder: the sender restarted its sequence; resynchronise.
    Restart,
}

/// Classifies sequence numbers with the wrapping signed 16-bit distance to the expected one.
/// `First`, `Expected`, `Gap` and `Restart` move the expectation to `seq + 1`; `Late` leaves
/// it.
#[derive(Debug, Clone)]
pub struct SeqnumTracker {
    max_reorder: u32,
    expected: Option<u16>,
}

impl SeqnumTracker {
    /// A tracker that takes packets up to `max_reorder` behind as late, not as a restart.
    pub fn new(max_reorder: u32) -> Self {
        SeqnumTracker {
            max_reorder,
            expected: None,
        }
    }

    /// Changes the reorder limit.
    pub fn set_max_reorder(&mut self, max_reorder: u32) {
        self.max_reorder = max_reorder;
    }

    /// The sequence number expected next.
    pub fn expected(&self) -> Option<u16> {
        self.expected
    }

    /// Forgets the history: the next packet is `First`.
    pub fn reset(&mut self) {
        self.expected = None;
    }

    /// Classifies `seq` and updates the expectation.
    pub fn check(&mut self, seq: u16) -> SeqnumVerdict {
        let Some(expected) = self.expected else {
            self.expected = Some(seq.wrapping_add(1));
            return SeqnumVerdict::First;
        };
        let distance = seq.wrapping_sub(expected) as i16;
        if distance >= 0 {
            self.expected = Some(seq.wrapping_add(1));
            return match distance {
                0 => SeqnumVerdict::Expected,
                lost => SeqnumVerdict::Gap { lost: lost as u16 },
            };
        }
        let behind = distance.unsigned_abs();
        if u32::from(behind) <= self.max_reorder {
            SeqnumVerdict::Late { behind }
        } else {
            self.expected = Some(seq.wrapping_add(1));
            SeqnumVerdict::Restart
        }
    }
}

/// Extends a wrapping counter to 64 bits: each value is placed nearest to the previous one.
#[derive(Debug, Clone, Default)]
struct Unwrapper {
    last: Option<u64>,
}

impl Unwrapper {
    fn unwrap(&mut self, value: u64, bits: u32, first_epoch: u64) -> u64 {
        let modulus = 1u64 << bits;
        let extended = match self.last {
            None => first_epoch + value,
            Some(last) => {
                let delta = value.wrapping_sub(last) & (modulus - 1);
                if delta < modulus / 2 {
                    last.wrapping_add(delta)
                } else {
                    last.wrapping_sub(modulus - delta)
                }
            }
        };
        self.last = Some(extended);
        extended
    }
}

/// 16-bit sequence numbers to 64 bits. The first value is `(1 << 32) + seq`, so that
/// packets reordered before the first one never underflow.
#[derive(Debug, Clone, Default)]
pub struct SeqnumUnwrapper(Unwrapper);

impl SeqnumUnwrapper {
    /// A fresh unwrapper.
    pub fn new() -> Self {
        Self::default()
    }

    /// The extended value of `seq`.
    pub fn unwrap(&mut self, seq: u16) -> u64 {
        self.0.unwrap(u64::from(seq), 16, 1 << 32)
    }

    /// Forgets the history.
    pub fn reset(&mut self) {
        self.0.last = None;
    }
}

/// 32-bit RTP timestamps to 64 bits. The first value is `(1 << 40) + ts`, so that earlier
/// timestamps (B-frames, reordering) never underflow; only differences are meaningful.
#[derive(Debug, Clone, Default)]
pub struct TimestampUnwrapper(Unwrapper);

impl TimestampUnwrapper {
    /// A fresh unwrapper.
    pub fn new() -> Self {
        Self::default()
    }

    /// The extended value of `ts`.
    pub fn unwrap(&mut self, ts: u32) -> u64 {
        self.0.unwrap(u64::from(ts), 32, 1 << 40)
    }

    /// Forgets the history.
    pub fn reset(&mut self) {
        self.0.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn verdicts_across_the_wrap() {
        let mut t = SeqnumTracker::new(100);
        assert_eq!(t.check(65534), SeqnumVerdict::First);
        assert_eq!(t.check(65535), SeqnumVerdict::Expected);
        assert_eq!(t.check(0), SeqnumVerdict::Expected);
        assert_eq!(t.check(3), SeqnumVerdict::Gap { lost: 2 });
        assert_eq!(t.check(3), SeqnumVerdict::Late { behind: 1 });
        assert_eq!(t.check(65535), SeqnumVerdict::Late { behind: 5 });
        assert_eq!(t.expected(), Some(4));
    }

    #[test]
    fn late_versus_restart_at_the_limit() {
        let mut t = SeqnumTracker::new(10);
        t.check(1000);
        assert_eq!(t.check(991), SeqnumVerdict::Late { behind: 10 });
        assert_eq!(t.check(990), SeqnumVerdict::Restart);
        assert_eq!(t.check(991), SeqnumVerdict::Expected);
        t.set_max_reorder(0);
        assert_eq!(t.check(991), SeqnumVerdict::Restart);
        t.reset();
        assert_eq!(t.check(5), SeqnumVerdict::First);
    }

    #[test]
    fn largest_forward_jump_is_a_gap() {
        let mut t = SeqnumTracker::new(100);
        t.check(0);
        assert_eq!(t.check(32768), SeqnumVerdict::Gap { lost: 32767 });
    }

    #[test]
    fn unwrapping_sequence_numbers() {
        let mut u = SeqnumUnwrapper::new();
        let base = 1u64 << 32;
        assert_eq!(u.unwrap(65535), base + 65535);
        assert_eq!(u.unwrap(0), base + 65536);
        assert_eq!(u.unwrap(65534), base + 65534);
        assert_eq!(u.unwrap(1), base + 65537);
        u.reset();
        assert_eq!(u.unwrap(7), base + 7);
    }

    #[test]
    fn unwrapping_timestamps_both_ways() {
        let mut u = TimestampUnwrapper::new();
        let base = 1u64 << 40;
        let a = u.unwrap(u32::MAX - 10);
        assert_eq!(a, base + u64::from(u32::MAX - 10));
        assert_eq!(u.unwrap(5), a + 16);
        assert_eq!(u.unwrap(u32::MAX - 20), a - 10);
    }

    proptest! {
        #[test]
        fn unwrap_follows_any_walk_of_small_steps(start: u32, steps in proptest::collection::vec(-30000i32..30000, 1..200)) {
            let mut u = TimestampUnwrapper::new();
            let mut truth = (1i128 << 40) + i128::from(start);
            prop_assert_eq!(i128::from(u.unwrap(start)), truth);
            for step in steps {
                truth += i128::from(step);
                prop_assert_eq!(i128::from(u.unwrap(truth as u32)), truth);
            }
        }
    }
}
