// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtphdrextabssendtime`: absolute send time. "Send time" here is the moment the
//! payloader writes the packet, read from the system monotonic clock (receivers use only
//! differences between packets, for bandwidth estimation, so the epoch is irrelevant; what
//! matters is that queues between the payloader and the socket add no jitter). An
//! application that stamps closer to the network puts its own value in the
//! `rtphdrextabssendtime` custom meta (field `ntp`, guint64 NTP 32.32), which wins.
//!
//! Read: the element counts and checks every read (`stats`), and with
//! `add-reference-timestamp-meta=true` (as rtpjitterbuffer's property of that name) adds a
//! `GstReferenceTimestampMeta` with reference caps `timestamp/x-abs-send-time`
//! ([`REFERENCE`]) whose timestamp is the sender's clock modulo 64 s in nanoseconds (the
//! 24-bit 6.18 value × 10^9 / 2^18, rounded down); an output made from several packets
//! carries the last packet's. Not the custom meta the other elements read into, and not by
//! default: this element is read on every packet of a WebRTC stream, nothing in GStreamer
//! consumes the value (bandwidth estimation uses transport-wide cc), and a custom meta (a
//! `GstStructure` built and freed per buffer) cost about 1800 instructions per packet, this
//! meta about 650 (its add and free), nothing 0. The write side does not take this meta
//! back (a relay would otherwise send the remote sender's times as its own).

use gst::glib::prelude::*;
use rtp2_core::hdrext::abs_send_time::AbsSendTime;

use super::ExtensionBehaviour;

/// The read side's choice; the clock is read at each write.
#[derive(Default)]
pub struct SendTime {
    add_reference_timestamp_meta: bool,
}

/// The property that asks for a meta per read.
const ADD_META: &str = "add-reference-timestamp-meta";

impl ExtensionBehaviour for SendTime {
    type Format = AbsSendTime;
    const FACTORY: &'static str = "rtphdrextabssendtime";
    const LONG_NAME: &'static str = "RTP absolute send time header extension";
    const DESCRIPTION: &'static str =
        "Stamps the send time (webrtc.org abs-send-time) when the packet is written";

    fn properties() -> Vec<gst::glib::ParamSpec> {
        vec![
            gst::glib::ParamSpecBoolean::builder(ADD_META)
                .nick("Add reference timestamp meta")
                .blurb(
                    "Add a GstReferenceTimestampMeta (timestamp/x-abs-send-time, ns modulo \
                     64 s) with the send time read to every output",
                )
                .build(),
        ]
    }

    fn set_property(&mut self, _name: &str, value: &gst::glib::Value) {
        self.add_reference_timestamp_meta = value.get().unwrap_or(false);
    }

    fn property(&self, _name: &str) -> gst::glib::Value {
        self.add_reference_timestamp_meta.to_value()
    }

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

    const READS_INTO_CUSTOM_META: bool = false;

    fn on_read(&mut self, value: &AbsSendTime, output: &mut gst::BufferRef) {
        if !self.add_reference_timestamp_meta {
            return;
        }
        let caps = reference_caps();
        let ts = gst::ClockTime::from_nseconds(value.nanos());
        let existing = output
            .iter_meta_mut::<gst::ReferenceTimestampMeta>()
            .find(|m| is_reference(m.reference(), caps));
        match existing {
            // SAFETY: `meta` is a valid GstReferenceTimestampMeta of `output`, borrowed
            // mutably; the timestamp is a plain field (gstreamer-rs has no setter).
            Some(mut meta) => unsafe { (*meta.as_mut_ptr()).timestamp = ts.nseconds() },
            None => {
                gst::ReferenceTimestampMeta::add(output, caps, ts, None);
            }
        }
    }
}

/// The reference caps name of the `GstReferenceTimestampMeta` a read attaches.
pub const REFERENCE: &str = "timestamp/x-abs-send-time";

/// The reference caps, made once (the meta takes a reference, no copy, per packet).
fn reference_caps() -> &'static gst::Caps {
    static CAPS: std::sync::LazyLock<gst::Caps> =
        std::sync::LazyLock::new(|| gst::Caps::new_empty_simple(REFERENCE));
    &CAPS
}

/// Whether `reference` is [`REFERENCE`]: the same caps object (a meta this element made,
/// or a copy of one) or equal caps.
fn is_reference(reference: &gst::CapsRef, ours: &gst::Caps) -> bool {
    std::ptr::eq(reference.as_ptr(), ours.as_ptr())
        || reference
            .structure(0)
            .is_some_and(|s| s.name() == REFERENCE)
}

/// The send time of an output buffer read by `rtphdrextabssendtime` (the sender's clock
/// modulo 64 s), if it has one.
pub fn read_time(buffer: &gst::BufferRef) -> Option<gst::ClockTime> {
    buffer
        .iter_meta::<gst::ReferenceTimestampMeta>()
        .find(|m| is_reference(m.reference(), reference_caps()))
        .map(|m| m.timestamp())
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
