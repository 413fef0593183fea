// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtphdrextabscapturetime`: absolute capture time. Written from the input's
//! `GstReferenceTimestampMeta` with reference `timestamp/x-ntp` (nanoseconds since 1900,
//! as `ntpclock`-based sources and rtpjitterbuffer `add-reference-timestamp-meta` attach
//! it), 8 bytes; a `rtphdrextabscapturetime` custom meta (fields `ntp` guint64 32.32 and
//! optional `clock-offset` gint64 32.32) overrides it and can carry the clock offset (16
//! bytes). On receipt both metas are attached.

use rtp2_core::hdrext::abs_capture_time::AbsCaptureTime;

use super::ExtensionBehaviour;

fn ntp_caps() -> gst::Caps {
    gst::Caps::new_empty_simple("timestamp/x-ntp")
}

/// Nanoseconds since 1900 to NTP 32.32.
pub fn ns_to_ntp64(ns: u64) -> u64 {
    let secs = ns / 1_000_000_000;
    let frac = ((ns % 1_000_000_000) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// NTP 32.32 to nanoseconds since 1900, rounded down.
pub fn ntp64_to_ns(ntp: u64) -> u64 {
    (ntp >> 32) * 1_000_000_000 + (((ntp & 0xffff_ffff) * 1_000_000_000) >> 32)
}

/// No state: the value comes from the metas.
#[derive(Default)]
pub struct CaptureTime;

impl ExtensionBehaviour for CaptureTime {
    type Format = AbsCaptureTime;
    const FACTORY: &'static str = "rtphdrextabscapturetime";
    const LONG_NAME: &'static str = "RTP absolute capture time header extension";
    const DESCRIPTION: &'static str =
        "NTP capture time (webrtc.org abs-capture-time) from/to GstReferenceTimestampMeta";

    fn value_to_write(
        &mut self,
        input: &gst::BufferRef,
        from_meta: Option<AbsCaptureTime>,
        _marker: Option<bool>,
    ) -> Option<AbsCaptureTime> {
        from_meta.or_else(|| {
            let caps = ntp_caps();
            input
                .iter_meta::<gst::ReferenceTimestampMeta>()
                .find(|m| m.reference().can_intersect(&caps))
                .map(|m| AbsCaptureTime {
                    ntp_timestamp: ns_to_ntp64(m.timestamp().nseconds()),
                    clock_offset: None,
                })
        })
    }

    fn from_fields(s: &gst::StructureRef) -> Option<AbsCaptureTime> {
        Some(AbsCaptureTime {
            ntp_timestamp: s.get::<u64>("ntp").ok()?,
            clock_offset: s.get::<i64>("clock-offset").ok(),
        })
    }

    fn to_fields(value: &AbsCaptureTime, s: &mut gst::StructureRef) {
        s.set("ntp", value.ntp_timestamp);
        if let Some(offset) = value.clock_offset {
            s.set("clock-offset", offset);
        }
    }

    fn on_read(&mut self, value: &AbsCaptureTime, output: &mut gst::BufferRef) {
        let ts = gst::ClockTime::from_nseconds(ntp64_to_ns(value.ntp_timestamp));
        let caps = ntp_caps();
        // A depayloader reads every packet of a frame: one meta per output, not per packet.
        let present = output
            .iter_meta::<gst::ReferenceTimestampMeta>()
            .any(|m| m.reference().can_intersect(&caps) && m.timestamp() == ts);
        if !present {
            gst::ReferenceTimestampMeta::add(output, &caps, ts, gst::ClockTime::NONE);
        }
    }
}

crate::rtp_header_extension!(
    element,
    RtpHdrExtAbsCaptureTime,
    "GstRtp2HdrExtAbsCaptureTime",
    crate::hdrext::abs_capture_time::CaptureTime
);
