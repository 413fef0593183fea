// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Conversions between nanoseconds and RTP clock ticks (RFC 3550 §5.1: the timestamp
//! clock's rate is set by the payload format), in 128-bit arithmetic so they never overflow.

/// Nanoseconds in a second.
pub const NSECONDS_PER_SECOND: u64 = 1_000_000_000;

/// `floor(ns × clock_rate / 10⁹)`.
pub fn ns_to_clock(ns: u64, clock_rate: u32) -> u64 {
    (u128::from(ns) * u128::from(clock_rate) / u128::from(NSECONDS_PER_SECOND)) as u64
}

/// `floor(ticks × 10⁹ / clock_rate)`, saturating; 0 for a clock rate of 0.
pub fn clock_to_ns(ticks: u64, clock_rate: u32) -> u64 {
    if clock_rate == 0 {
        return 0;
    }
    let ns = u128::from(ticks) * u128::from(NSECONDS_PER_SECOND) / u128::from(clock_rate);
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// The RTP timestamp of media at `running_time_ns`: the random `offset` plus the running time
/// in clock ticks, wrapping at 32 bits (RFC 3550 §5.1).
pub fn rtp_timestamp_for(running_time_ns: u64, clock_rate: u32, offset: u32) -> u32 {
    offset.wrapping_add(ns_to_clock(running_time_ns, clock_rate) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(ns_to_clock(20_000_000, 8000), 160);
        assert_eq!(ns_to_clock(1, 90000), 0);
        assert_eq!(ns_to_clock(u64::MAX, 90000), 1_660_206_966_633_859);
        assert_eq!(clock_to_ns(160, 8000), 20_000_000);
        assert_eq!(clock_to_ns(1, 90000), 11_111);
        assert_eq!(clock_to_ns(5, 0), 0);
        assert_eq!(clock_to_ns(u64::MAX, 1), u64::MAX);
    }

    #[test]
    fn rtp_timestamps_wrap() {
        assert_eq!(rtp_timestamp_for(1_000_000_000, 8000, u32::MAX - 99), 7900);
        // 2^32 ticks of 90 kHz later, the timestamp is back where it started.
        let wrap_ns = clock_to_ns(1 << 32, 90000);
        assert_eq!(rtp_timestamp_for(wrap_ns + 11_112, 90000, 5), 6);
    }
}
