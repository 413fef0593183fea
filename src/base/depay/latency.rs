// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Capture → depayloader output latency in `stats`: each output carrying a capture time
//! (see [`crate::capture_time`]) is measured when it leaves.

use rtp2_core::latency::CaptureLatency;

/// The `capture-latency-*` fields of `stats` (nanoseconds; all 0 before any output carried
/// a capture time).
pub(super) fn add_fields(
    builder: gst::structure::Builder,
    latency: Option<&CaptureLatency>,
) -> gst::structure::Builder {
    let (count, negative) = latency.map_or((0, 0), |l| (l.count(), l.negative()));
    let [last, min, median, p95, max] = latency.map_or([0; 5], |l| {
        [
            l.last(),
            l.min(),
            l.quantile(0.5),
            l.quantile(0.95),
            l.max(),
        ]
    });
    builder
        .field("capture-latency-count", count)
        .field("capture-latency-negative", negative)
        .field("capture-latency-last", last)
        .field("capture-latency-min", min)
        .field("capture-latency-median", median)
        .field("capture-latency-p95", p95)
        .field("capture-latency-max", max)
}
