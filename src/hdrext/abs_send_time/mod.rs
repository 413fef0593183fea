// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtphdrextabssendtime`: absolute send time. "Send time" here is the moment the
//! payloader writes the packet, read from the system monotonic clock (receivers use only
//! differences between packets, for bandwidth estimation, so the epoch is irrelevant; what
//! matters is that queues between the payloader and the socket add no jitter). An
//! application that stamps closer to the network puts its own value in the
//! `rtphdrextabssendtime` custom meta (field `ntp`, guint64 NTP 32.32), which wins.
//! Read into the same meta (field `ntp` holds the 24 bits shifted back: seconds modulo 64).

use rtp2_core::hdrext::abs_send_time::AbsSendTime;

use super::ExtensionBehaviour;

/// No state: the clock is read at each write.
#[derive(Default)]
pub struct SendTime;

impl ExtensionBehaviour for SendTime {
    type Format = AbsSendTime;
    const FACTORY: &'static str = "rtphdrextabssendtime";
    const LONG_NAME: &'static str = "RTP absolute send time header extension";
    const DESCRIPTION: &'static str =
        "Stamps the send time (webrtc.org abs-send-time) when the packet is written";

    fn value_to_write(
        &mut self,
        _input: &gst::BufferRef,
        from_meta: Option<AbsSendTime>,
        _marker: Option<bool>,
    ) -> Option<AbsSendTime> {
        from_meta.or_else(|| Some(now()))
    }

    fn from_fields(s: &gst::StructureRef) -> Option<AbsSendTime> {
        s.get::<u64>("ntp").ok().map(AbsSendTime::from_ntp64)
    }

    fn to_fields(value: &AbsSendTime, s: &mut gst::StructureRef) {
        s.set("ntp", u64::from(value.raw()) << 14);
    }
}

/// Rewrites the abs-send-time element `id` of an RTP packet buffer with the current monotonic
/// system clock (the same clock the element stamps with): call it from a buffer pad probe on
/// the network sink's sink pad when queues or pacing sit between payloader and socket.
/// `false` (and the buffer unchanged) when the packet has no such element.
pub fn restamp_now(buffer: &mut gst::BufferRef, id: u8) -> bool {
    let Ok(mut map) = buffer.map_writable() else {
        return false;
    };
    rtp2_core::hdrext::abs_send_time::restamp(&mut map, id, now())
}

/// The send time now: the monotonic clock GStreamer's system clock uses by default, read
/// without the clock object (no `gst_system_clock_obtain` lock and reference per packet);
/// its microsecond resolution is finer than the format's 2^-18 s.
fn now() -> AbsSendTime {
    AbsSendTime::from_nanos(gst::get_timestamp().nseconds())
}

crate::rtp_header_extension!(
    element,
    RtpHdrExtAbsSendTime,
    "GstRtp2HdrExtAbsSendTime",
    crate::hdrext::abs_send_time::SendTime
);
