// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Per-stream receive statistics of one RTP stream (one SSRC and payload type on one pad):
//! sequence gaps, duplicates, reordering (RFC 3550 section 6.4.1 and appendix A.1, A.3) and
//! interarrival jitter (RFC 3550 section 6.4.1 and appendix A.8).
//!
//! Pure arithmetic on the header fields and an arrival time in nanoseconds: no GStreamer
//! type, no allocation, so the tracer can run it for every packet.

/// A forward jump larger than this restarts the sequence (RFC 3550 A.1 `MAX_DROPOUT`).
const MAX_DROPOUT: u16 = 3000;
/// A backward jump larger than this restarts the sequence (RFC 3550 A.1 `MAX_MISORDER`).
const MAX_MISORDER: u16 = 100;
/// How many sequence numbers behind the highest one are remembered to tell a duplicate from
/// a late (reordered) packet.
const WINDOW: u16 = 128;

/// What one packet did to the counters: the tracer adds these to the stream's metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PacketOutcome {
    /// Sequence numbers skipped by this packet (a forward gap), RFC 3550 A.3.
    pub lost: u64,
    /// Increase of the extended highest sequence number: the packets now expected.
    pub expected: u64,
    /// The packet repeats one already seen.
    pub duplicate: bool,
    /// The packet is older than the highest seen and was not seen before.
    pub reordered: bool,
    /// The sequence restarted (a jump beyond RFC 3550 A.1's limits).
    pub restarted: bool,
}

/// Sequence and jitter state of one stream.
#[derive(Debug, Clone)]
pub(crate) struct StreamState {
    /// Highest sequence number seen (RFC 3550 A.1 `max_seq`).
    max_seq: u16,
    /// Bit i set: sequence number `max_seq - i` was received (i < WINDOW).
    seen: u128,
    /// Arrival time (ns) and RTP timestamp of the previous packet, for A.8.
    last_transit: Option<i64>,
    /// RFC 3550 A.8 jitter estimate in RTP timestamp units, scaled by 16 (as in A.8's
    /// integer variant) to keep precision.
    jitter_q4: u64,
    /// The clock rate `ticks_per_ns_q64` is for (0: none yet).
    rate: u32,
    /// `rate` / 10⁹ in 0.64 fixed point, rounded up: timestamp units per nanosecond.
    ticks_per_ns_q64: u64,
}

impl StreamState {
    /// The state after the first packet of a stream, `seq`.
    pub(crate) fn new(seq: u16) -> Self {
        StreamState {
            max_seq: seq,
            seen: 1,
            last_transit: None,
            jitter_q4: 0,
            rate: 0,
            ticks_per_ns_q64: 0,
        }
    }

    /// Accounts the sequence number `seq` of a packet after the first one (the tests' way
    /// in; the tracer calls the two halves itself).
    #[cfg(test)]
    pub(crate) fn on_sequence(&mut self, seq: u16) -> PacketOutcome {
        if self.next_in_order(seq) {
            return PacketOutcome {
                expected: 1,
                ..PacketOutcome::default()
            };
        }
        self.out_of_order(seq)
    }

    /// Accounts the sequence number `seq` of a packet after the first one if it is the next
    /// in order (the usual case: one more expected, nothing else), and says whether it was;
    /// [`Self::out_of_order`] accounts the others. Kept small, in line in the caller.
    #[inline(always)]
    pub(crate) fn next_in_order(&mut self, seq: u16) -> bool {
        if seq.wrapping_sub(self.max_seq) != 1 {
            return false;
        }
        // The general forward shift below, short.
        self.seen = (self.seen << 1) | 1;
        self.max_seq = seq;
        true
    }

    /// Accounts the sequence number `seq` of a packet after the first one that is not
    /// [`Self::next_in_order`] (a gap, a duplicate, a late packet, a restart).
    #[cold]
    #[inline(never)]
    pub(crate) fn out_of_order(&mut self, seq: u16) -> PacketOutcome {
        let forward = seq.wrapping_sub(self.max_seq);
        let backward = self.max_seq.wrapping_sub(seq);
        let mut out = PacketOutcome::default();
        if forward == 0 {
            out.duplicate = true;
        } else if forward < MAX_DROPOUT {
            out.lost = u64::from(forward - 1);
            out.expected = u64::from(forward);
            self.seen = if u32::from(forward) >= 128 {
                1
            } else {
                (self.seen << forward) | 1
            };
            self.max_seq = seq;
        } else if backward <= MAX_MISORDER {
            if backward < WINDOW && self.seen & (1u128 << backward) != 0 {
                out.duplicate = true;
            } else {
                out.reordered = true;
                if backward < WINDOW {
                    self.seen |= 1u128 << backward;
                }
            }
        } else {
            // A jump beyond A.1's limits: the sender restarted; begin anew without
            // counting the jump as loss.
            *self = StreamState::new(seq);
            out.restarted = true;
            out.expected = 1;
        }
        out
    }

    /// Updates the interarrival jitter with a packet that arrived at `arrival_ns` carrying
    /// RTP timestamp `rtp_ts` of a clock of `clock_rate` Hz (RFC 3550 A.8):
    /// `D = (Rj - Ri) - (Sj - Si)`, `J += (|D| - J) / 16`, all in timestamp units.
    /// Duplicates and reordered packets are left out by the caller.
    #[inline(always)]
    pub(crate) fn on_arrival(&mut self, arrival_ns: u64, rtp_ts: u32, clock_rate: u32) {
        if clock_rate == 0 {
            return;
        }
        let arrival = self.arrival_ticks(arrival_ns, clock_rate);
        let transit = i64::from(arrival.wrapping_sub(rtp_ts) as i32);
        if let Some(last) = self.last_transit {
            let d = transit.wrapping_sub(last).unsigned_abs();
            // J_q4 += |D| - J_q4/16 (A.8's integer form, J scaled by 16).
            self.jitter_q4 = self.jitter_q4 + d - ((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// `arrival_ns` in timestamp units of a `clock_rate` Hz clock, wrapped like the RTP
    /// timestamp. One multiplication by the rate per nanosecond in fixed point, rounded up:
    /// exact whenever the product is a whole number of units, otherwise below the exact
    /// value's next whole unit unless its fraction is within `arrival_ns` / 2⁶⁴ of it (a
    /// tick at most, on a few packets in a million after hours).
    #[inline(always)]
    fn arrival_ticks(&mut self, arrival_ns: u64, clock_rate: u32) -> u32 {
        if clock_rate != self.rate {
            self.set_rate(clock_rate);
        }
        if self.ticks_per_ns_q64 == 0 {
            return ticks_at_giga_rate(arrival_ns, clock_rate);
        }
        ((u128::from(arrival_ns) * u128::from(self.ticks_per_ns_q64)) >> 64) as u32
    }

    /// A (new) clock rate: its units per nanosecond.
    #[cold]
    #[inline(never)]
    fn set_rate(&mut self, clock_rate: u32) {
        self.rate = clock_rate;
        self.ticks_per_ns_q64 =
            u64::try_from((u128::from(clock_rate) << 64).div_ceil(1_000_000_000)).unwrap_or(0);
    }

    /// The current A.8 jitter in timestamp units, scaled by 16 (see [`jitter_seconds`]).
    pub(crate) fn jitter_q4(&self) -> u64 {
        self.jitter_q4
    }

    /// The current A.8 jitter in seconds for a clock of `clock_rate` Hz.
    #[cfg(test)]
    fn jitter_seconds(&self, clock_rate: u32) -> f64 {
        jitter_seconds(self.jitter_q4, clock_rate)
    }
}

/// An A.8 jitter `q4` (timestamp units × 16) in seconds for a clock of `clock_rate` Hz
/// (0 when the rate is unknown). Done when scraped, not per packet.
pub(crate) fn jitter_seconds(q4: u64, clock_rate: u32) -> f64 {
    if clock_rate == 0 {
        return 0.0;
    }
    q4 as f64 / 16.0 / f64::from(clock_rate)
}

/// [`StreamState::arrival_ticks`] for a rate of 10⁹ Hz or more (none in practice): whole
/// seconds and the rest apart.
#[cold]
#[inline(never)]
fn ticks_at_giga_rate(arrival_ns: u64, clock_rate: u32) -> u32 {
    let clock = u64::from(clock_rate);
    let secs = arrival_ns / 1_000_000_000;
    let rest = arrival_ns % 1_000_000_000;
    secs.wrapping_mul(clock)
        .wrapping_add(rest * clock / 1_000_000_000) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seqs: &[u16]) -> (StreamState, PacketOutcome) {
        let mut s = StreamState::new(seqs[0]);
        let mut total = PacketOutcome::default();
        for &q in &seqs[1..] {
            let o = s.on_sequence(q);
            total.lost += o.lost;
            total.expected += o.expected;
            total.duplicate |= o.duplicate;
            total.reordered |= o.reordered;
            total.restarted |= o.restarted;
        }
        (s, total)
    }

    #[test]
    fn in_order_no_loss() {
        let (_, t) = run(&[10, 11, 12, 13]);
        assert_eq!(
            t,
            PacketOutcome {
                expected: 3,
                ..Default::default()
            }
        );
    }

    #[test]
    fn gap_counts_lost() {
        let (_, t) = run(&[65534, 65535, 2, 3]);
        assert_eq!(t.lost, 2);
        assert_eq!(t.expected, 5);
    }

    #[test]
    fn duplicate_and_reordered() {
        let mut s = StreamState::new(100);
        assert_eq!(s.on_sequence(102).lost, 1);
        assert!(s.on_sequence(101).reordered);
        assert!(s.on_sequence(101).duplicate);
        assert!(s.on_sequence(102).duplicate);
        assert!(s.on_sequence(100).duplicate);
    }

    #[test]
    fn in_order_packets_fill_the_window() {
        // In-order packets (the short path) across the wrap and past 64 and 128 packets:
        // each is remembered, so a repeat of any of the last 128 is a duplicate, and the
        // one skipped comes late as reordered, then as a duplicate.
        let mut s = StreamState::new(65400);
        let mut seq = 65400u16;
        for _ in 0..300 {
            seq = seq.wrapping_add(1);
            if seq == 74 {
                continue;
            }
            let o = s.on_sequence(seq);
            assert_eq!(
                (o.expected, o.lost),
                (if seq == 75 { (2, 1) } else { (1, 0) })
            );
        }
        assert_eq!(seq, 164);
        for back in [1u16, 63, 64, 65, 100] {
            assert!(s.on_sequence(seq - back).duplicate, "{back} behind");
        }
        let late = s.on_sequence(74);
        assert!(late.reordered && !late.duplicate);
        assert!(s.on_sequence(74).duplicate);
    }

    #[test]
    fn big_jump_restarts() {
        let mut s = StreamState::new(100);
        let o = s.on_sequence(40000);
        assert!(o.restarted);
        assert_eq!(o.lost, 0);
        assert_eq!(s.on_sequence(40001).expected, 1);
    }

    #[test]
    fn arrival_in_timestamp_units_matches_exact_arithmetic() {
        let mut s = StreamState::new(0);
        for rate in [8000u32, 16000, 48000, 90000, 44100] {
            for ns in [
                0u64,
                1,
                999_999_999,
                20_000_000,
                1_234_567_890_123,
                86_400_000_000_000,
            ] {
                let exact = (u128::from(ns) * u128::from(rate) / 1_000_000_000) as u32;
                assert_eq!(s.arrival_ticks(ns, rate), exact, "{ns} ns at {rate} Hz");
            }
        }
        assert_eq!(s.arrival_ticks(3_000_000_000, 2_000_000_000), 1_705_032_704);
    }

    #[test]
    fn jitter_zero_for_perfect_timing() {
        let mut s = StreamState::new(0);
        for i in 0..100u64 {
            s.on_arrival(i * 20_000_000, (i * 160) as u32, 8000);
        }
        assert!(s.jitter_seconds(8000) < 1e-4);
    }

    #[test]
    fn jitter_converges_to_constant_deviation() {
        // Every other packet 10 ms late: |D| = 10 ms each time, so J tends to 10 ms.
        let mut s = StreamState::new(0);
        for i in 0..400u64 {
            let late = if i % 2 == 1 { 10_000_000 } else { 0 };
            s.on_arrival(i * 20_000_000 + late, (i * 160) as u32, 8000);
        }
        let j = s.jitter_seconds(8000);
        assert!((j - 0.010).abs() < 0.001, "jitter {j}");
    }
}
