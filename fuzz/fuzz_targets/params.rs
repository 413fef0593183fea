// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Signalling parsers fed from caps and SDP: avcC and hvcC records, parameter sets
//! (H.264 SPS/PPS ids, H.265 SPS profile/tier/level and ids), `sprop-*` base64 lists, and
//! NAL unit scanning of Annex B and length-prefixed data (1- to 4-byte lengths), RFC 7273
//! `ts-refclk` / `mediaclk` values: no panic, ranges within the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rtp2_core::clock_signalling::{MediaClock, ReferenceClock};
use rtp2_core::h264::params as h264;
use rtp2_core::h265::params as h265;
use rtp2_core::nal::{
    annexb_nal_ranges, annexb_nal_ranges_with_header, length_prefixed_nal_ranges,
    length_prefixed_nal_units,
};

fuzz_target!(|data: &[u8]| {
    let _ = h264::AvcDecoderConfig::parse(data);
    if let Ok(record) = h265::HevcDecoderConfig::parse(data) {
        // What we build from parsed sets parses again.
        let rebuilt = h265::HevcDecoderConfig::build(&record.vps, &record.sps, &record.pps);
        if record.vps.len() < 256 && record.sps.len() < 256 && record.pps.len() < 256 {
            let again = h265::HevcDecoderConfig::parse(&rebuilt).unwrap();
            assert_eq!(again.sps, record.sps);
        }
    }
    let _ = (
        h264::sps_id(data),
        h264::pps_id(data),
        h264::profile_level_id(data),
    );
    let _ = (
        h265::parse_sps(data),
        h265::vps_id(data),
        h265::pps_id(data),
    );
    let _ = h265::sdp_profile_tier_level(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = h264::parse_sprop_parameter_sets(text);
        let _ = h265::parse_sprop_value(text);
        // RFC 7273 values: what parses writes back to a value that parses the same.
        if let Some(clock) = ReferenceClock::parse(text) {
            assert_eq!(ReferenceClock::parse(&clock.to_string()), Some(clock));
        }
        if let Some(clock) = MediaClock::parse(text) {
            assert_eq!(MediaClock::parse(&clock.to_string()), Some(clock));
        }
    }
    for r in annexb_nal_ranges(data) {
        assert!(r.start <= r.end && r.end <= data.len());
    }
    for r in annexb_nal_ranges_with_header(data, 2) {
        assert!(r.start < r.end && r.end <= data.len());
    }
    for size in [1, 2, 3, 4] {
        let units = length_prefixed_nal_units(data, size);
        for r in &units.ranges {
            assert!(r.start < r.end && r.end <= data.len());
        }
        if let Ok(ranges) = length_prefixed_nal_ranges(data, size) {
            assert!(units.error.is_none());
            assert_eq!(ranges, units.ranges);
        }
    }
});
