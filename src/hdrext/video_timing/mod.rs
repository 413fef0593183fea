// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtphdrextvideotiming`: frame timing deltas as Chrome sends them on sampled frames. Read
//! into the `rtphdrextvideotiming` custom meta (fields `flags` and the six deltas in ms as
//! guint); written from the same meta when an application provides one.

use rtp2_core::hdrext::video_timing::VideoTiming;

use super::ExtensionBehaviour;

const FIELDS: [&str; 6] = [
    "encode-start",
    "encode-finish",
    "packetization-finish",
    "pacer-exit",
    "network",
    "network2",
];

/// No state: the value comes from the meta.
#[derive(Default)]
pub struct Timing;

impl ExtensionBehaviour for Timing {
    type Format = VideoTiming;
    const FACTORY: &'static str = "rtphdrextvideotiming";
    const LONG_NAME: &'static str = "RTP video timing header extension";
    const DESCRIPTION: &'static str =
        "Frame timing deltas (webrtc.org video-timing) from/to a custom meta";
    // Read on every packet: no lock per read.
    const USES_ON_READ: bool = false;

    fn from_fields(s: &gst::StructureRef) -> Option<VideoTiming> {
        let mut v = [0u16; 6];
        for (slot, name) in v.iter_mut().zip(FIELDS) {
            *slot = u16::try_from(s.get::<u32>(name).ok()?).ok()?;
        }
        Some(VideoTiming {
            flags: s
                .get::<u32>("flags")
                .ok()
                .and_then(|f| u8::try_from(f).ok()),
            encode_start_ms: v[0],
            encode_finish_ms: v[1],
            packetization_finish_ms: v[2],
            pacer_exit_ms: v[3],
            network_ms: v[4],
            network2_ms: v[5],
        })
    }

    fn to_fields(t: &VideoTiming, s: &mut gst::StructureRef) {
        if let Some(flags) = t.flags {
            s.set("flags", u32::from(flags));
        }
        let v = [
            t.encode_start_ms,
            t.encode_finish_ms,
            t.packetization_finish_ms,
            t.pacer_exit_ms,
            t.network_ms,
            t.network2_ms,
        ];
        for (value, name) in v.into_iter().zip(FIELDS) {
            s.set(name, u32::from(value));
        }
    }
}

crate::rtp_header_extension!(
    element,
    RtpHdrExtVideoTiming,
    "GstRtp2HdrExtVideoTiming",
    crate::hdrext::video_timing::Timing
);
