pub const NSECONDS_PER_SECOND: u64 = 1_000_000_000;
pub fn ns_to_clock(ns: u64, clock_rate: u32) -> u64 {
    (u128::from(ns) * u128::from(clock_rate) / u128::from(NSECONDS_PER_SECOND)) as u64
}
pub fn clock_to_ns(ticks: u64, clock_rate: u32) -> u64 {
    if clock_rate == 0 {
        return 0;
    }
    u64::try_from(u128::from(ticks) * u128::from(NSECONDS_PER_SECOND) / u128::from(clock_rate))
        .unwrap_or(u64::MAX)
}
pub fn rtp_timestamp_for(running_time_ns: u64, clock_rate: u32, offset: u32) -> u32 {
    offset.wrapping_add(ns_to_clock(running_time_ns, clock_rate) as u32)
}
