// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Helpers of the timing tests (tests/timing_latency.rs, tests/timing_sync.rs): stamping the
//! capture time on a sender, running sender and receiver pipelines side by side, reading
//! their configured latency, and order statistics.
#![allow(dead_code)]

pub mod av;
pub mod packets;
pub mod sync;

use std::time::{Duration, Instant};

use gst::prelude::*;

/// Nanoseconds from the NTP epoch (1900) to the Unix epoch (1970), RFC 5905 §6.
pub const NTP_UNIX_OFFSET_NS: u64 = 2_208_988_800 * 1_000_000_000;

/// This host's wall clock, nanoseconds since 1900.
pub fn now_ntp_ns() -> u64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    unix.as_nanos() as u64 + NTP_UNIX_OFFSET_NS
}

/// Parses a pipeline description.
pub fn pipeline(description: &str) -> gst::Pipeline {
    gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("{e}: {description}"))
        .downcast::<gst::Pipeline>()
        .unwrap()
}

/// What a sender does when no capture source stamps wall-clock capture times itself (none
/// of GStreamer 1.22's sources has an option for it): a probe on `pad` adds to every buffer
/// a `GstReferenceTimestampMeta` `timestamp/x-ntp` with the wall-clock time at which its
/// PTS was captured (the pipeline clock time of the PTS, `base-time + running time`, moved
/// to the wall clock by how long ago that was). The header extension elements
/// (`rtphdrextabscapturetime`, C `rtphdrextntp64`) write that meta into the packets.
pub fn stamp_capture_time(pad: &gst::Pad) {
    let caps = gst::Caps::new_empty_simple("timestamp/x-ntp");
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let Some(element) = pad.parent_element() else {
            return gst::PadProbeReturn::Ok;
        };
        let (Some(clock), Some(base_time)) = (element.clock(), element.base_time()) else {
            return gst::PadProbeReturn::Ok;
        };
        let segment = pad
            .sticky_event::<gst::event::Segment>(0)
            .and_then(|s| s.segment().downcast_ref::<gst::ClockTime>().cloned());
        let Some(gst::PadProbeData::Buffer(buffer)) = info.data.as_mut() else {
            return gst::PadProbeReturn::Ok;
        };
        let running = segment.and_then(|s| s.to_running_time(buffer.pts()));
        let Some(running) = running else {
            return gst::PadProbeReturn::Ok;
        };
        let now = clock.time();
        let age = now.nseconds() as i64 - (base_time + running).nseconds() as i64;
        let ntp = (now_ntp_ns() as i64 - age) as u64;
        gst::ReferenceTimestampMeta::add(
            buffer.make_mut(),
            &caps,
            gst::ClockTime::from_nseconds(ntp),
            gst::ClockTime::NONE,
        );
        gst::PadProbeReturn::Ok
    });
}

/// The capture time (ns since 1900) a buffer carries, if any.
pub fn capture_time_ns(buffer: &gst::BufferRef) -> Option<u64> {
    buffer
        .iter_meta::<gst::ReferenceTimestampMeta>()
        .find(|m| {
            m.reference()
                .structure(0)
                .is_some_and(|s| s.name() == "timestamp/x-ntp")
        })
        .map(|m| m.timestamp().nseconds())
}

/// The minimum latency `pipeline` configured (its LATENCY query: what its sinks add to
/// every running time before rendering).
pub fn configured_latency(pipeline: &gst::Pipeline) -> Duration {
    let mut q = gst::query::Latency::new();
    assert!(
        pipeline.query(&mut q),
        "latency query of {}",
        pipeline.name()
    );
    let (_live, min, _max) = q.result();
    Duration::from_nanos(min.nseconds())
}

/// Plays `pipelines` for `duration`; panics with the message on an error.
pub fn play_for(pipelines: &[&gst::Pipeline], duration: Duration) {
    for p in pipelines {
        p.set_state(gst::State::Playing).unwrap();
    }
    let start = Instant::now();
    while start.elapsed() < duration {
        for p in pipelines {
            let msg = p.bus().unwrap().timed_pop_filtered(
                gst::ClockTime::from_mseconds(20),
                &[gst::MessageType::Error],
            );
            if let Some(msg) = msg {
                stop(pipelines);
                panic!("{}: {msg:?}", p.name());
            }
        }
    }
}

/// Sets every pipeline to NULL.
pub fn stop(pipelines: &[&gst::Pipeline]) {
    for p in pipelines {
        p.set_state(gst::State::Null).unwrap();
    }
}

/// The `q`-quantile of `values` (nearest rank), `None` if empty.
pub fn quantile(values: &[i64], q: f64) -> Option<i64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1));
    v.get(rank - 1).copied()
}

/// Milliseconds, for messages.
pub fn ms(ns: i64) -> f64 {
    ns as f64 / 1e6
}
