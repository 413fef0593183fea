// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Where the packets of the A/V synchronisation set-up ([`super::sync`]) were in time: the
//! running time and RTP timestamp of each packet a payloader sent, of each packet the
//! session manager gave a depayloader, and of each packet `udpsrc` received. From them, the
//! A/V offset the receiver's session manager gave the flash and the beep, which our
//! depayloaders must carry to the sinks unchanged.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;

use super::av::running_time;

/// (running time in ns, RTP timestamp) of each packet seen, in order.
pub type PacketTimes = Arc<Mutex<Vec<(u64, u32)>>>;

fn rtp_timestamp(buffer: &gst::BufferRef) -> Option<u32> {
    let map = buffer.map_readable().ok()?;
    (map.len() >= 12).then(|| u32::from_be_bytes([map[4], map[5], map[6], map[7]]))
}

/// Records every RTP packet (alone or in a list) leaving `pad`: its running time in the
/// pad's segment (at a `udpsrc`, its arrival: the PTS it stamped).
pub fn record_packet_times(pad: &gst::Pad) -> PacketTimes {
    let times = PacketTimes::default();
    let into = times.clone();
    pad.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
        move |pad, info| {
            let record = |b: &gst::BufferRef| {
                if let (Some(time), Some(ts)) = (running_time(pad, b.pts()), rtp_timestamp(b)) {
                    into.lock().unwrap().push((time, ts));
                }
            };
            match &info.data {
                Some(gst::PadProbeData::Buffer(b)) => record(b),
                Some(gst::PadProbeData::BufferList(list)) => list.iter().for_each(record),
                _ => {}
            }
            gst::PadProbeReturn::Ok
        },
    );
    times
}

/// How much later than the stream's least-delayed packet its first packet came (ns), from
/// arrival times: the delay of a packet is its arrival less its RTP time, both counted from
/// the first packet's. `rtprecv` times a stream from its first packet, so the difference
/// of the two streams' figures is about the A/V offset it leaves (docs/timing.md).
pub fn first_packet_lateness(arrivals: &[(u64, u32)], clock_rate: u32) -> Option<i64> {
    let &(arrival0, ts0) = arrivals.first()?;
    let delays = arrivals.iter().map(|&(arrival, ts)| {
        let rtp_ns = i64::from(ts.wrapping_sub(ts0) as i32) * 1_000_000_000 / i64::from(clock_rate);
        arrival as i64 - arrival0 as i64 - rtp_ns
    });
    delays.min().map(|least| -least)
}

/// RTP timestamp of the media at running time `at`, from the packet at or before it
/// (`times` from a payloader's source pad): the packet's timestamp plus the time since it.
fn timestamp_at(times: &[(u64, u32)], at: u64, clock_rate: u32) -> Option<u32> {
    let &(t, ts) = times
        .iter()
        .filter(|(t, _)| *t <= at)
        .max_by_key(|(t, _)| *t)?;
    let ticks = (at - t) * u64::from(clock_rate) / 1_000_000_000;
    Some(ts.wrapping_add(ticks as u32))
}

/// Running time the receiver gave the media of RTP timestamp `ts` (`times` from a
/// depayloader's sink pad): that of the packet at or before it, plus the RTP time since it;
/// `None` if no packet came within 100 ms of RTP time before it (they were lost).
fn running_time_of(times: &[(u64, u32)], ts: u32, clock_rate: u32) -> Option<u64> {
    let within = clock_rate as i32 / 10;
    let (t, before) = times
        .iter()
        .map(|&(t, packet_ts)| (t, ts.wrapping_sub(packet_ts) as i32))
        .filter(|(_, before)| (0..within).contains(before))
        .min_by_key(|(_, before)| *before)?;
    Some(t + before as u64 * 1_000_000_000 / u64::from(clock_rate))
}

/// For each period `k` the sender flashed and beeped in: the running time the receiver's
/// session manager gave the flash (the frame at `k × period + phase` at the sender) and the
/// flash's offset from the beep (at `k × period`), less `phase`, as the packets leaving it
/// carry them. `sent` and `delivered` are (video, audio) packet times at the payloaders'
/// source pads and the depayloaders' sink pads, `clock_rates` the streams' RTP clock rates.
pub fn delivered_offsets(
    sent: [&[(u64, u32)]; 2],
    delivered: [&[(u64, u32)]; 2],
    clock_rates: [u32; 2],
    phase: u64,
    period: Duration,
) -> Vec<(u64, i64)> {
    let [video_rate, audio_rate] = clock_rates;
    let period = period.as_nanos() as u64;
    let last = sent[0].iter().map(|(t, _)| *t).max().unwrap_or(0);
    (1..=last / period)
        .filter_map(|k| {
            let flash_ts = timestamp_at(sent[0], k * period + phase, video_rate)?;
            let beep_ts = timestamp_at(sent[1], k * period, audio_rate)?;
            // The flash frame's own packets, not a later one's time less the RTP time.
            let flash = delivered[0]
                .iter()
                .find(|(_, ts)| *ts == flash_ts)
                .map(|(t, _)| *t)?;
            let beep = running_time_of(delivered[1], beep_ts, audio_rate)?;
            Some((flash, flash as i64 - beep as i64 - phase as i64))
        })
        .collect()
}
