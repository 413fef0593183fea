// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtphdrextcsrcaudiolevel`: mixer-to-client audio levels (RFC 6465), one per CSRC in the
//! packet's CSRC order. A mixer puts the levels on its input in the
//! `rtphdrextcsrcaudiolevel` custom meta (field `levels`, a `GstValueArray` of guint
//! −dBov, in the order of the CSRCs of the buffer's `GstRTPSourceMeta`); a receiver finds
//! them in the same meta on the depayloaded buffer. Nothing is written unless the input's
//! `GstRTPSourceMeta` has as many CSRCs as there are levels.

use rtp2_core::hdrext::csrc_audio_level::CsrcAudioLevels;

use super::ExtensionBehaviour;

/// No state: the value comes from the meta.
#[derive(Default)]
pub struct Levels;

impl ExtensionBehaviour for Levels {
    type Format = CsrcAudioLevels;
    const FACTORY: &'static str = "rtphdrextcsrcaudiolevel";
    const LONG_NAME: &'static str = "RTP mixer-to-client audio level header extension";
    const DESCRIPTION: &'static str = "Per-CSRC audio levels (RFC 6465) from/to a custom meta";
    // Read on every packet: no lock per read.
    const USES_ON_READ: bool = false;

    fn value_to_write(
        &mut self,
        input: &gst::BufferRef,
        from_meta: Option<CsrcAudioLevels>,
        _marker: Option<bool>,
    ) -> Option<CsrcAudioLevels> {
        // RFC 6465 §3: one level per CSRC, in CSRC order; without a matching CSRC list the
        // levels would describe nobody (the payloader writes the CSRCs of the
        // `GstRTPSourceMeta` with `source-info=true`).
        let levels = from_meta?;
        let csrcs = input.meta::<gst_rtp::RTPSourceMeta>()?.csrc().len();
        (csrcs == levels.0.len()).then_some(levels)
    }

    fn from_fields(s: &gst::StructureRef) -> Option<CsrcAudioLevels> {
        let levels = s.get::<gst::Array>("levels").ok()?;
        let levels = levels
            .iter()
            .map(|v| v.get::<u32>().ok().and_then(|l| u8::try_from(l).ok()))
            .collect::<Option<Vec<u8>>>()?;
        Some(CsrcAudioLevels(levels))
    }

    fn to_fields(value: &CsrcAudioLevels, s: &mut gst::StructureRef) {
        s.set(
            "levels",
            gst::Array::new(value.0.iter().map(|l| u32::from(*l))),
        );
    }
}

crate::rtp_header_extension!(
    element,
    RtpHdrExtCsrcAudioLevel,
    "GstRtp2HdrExtCsrcAudioLevel",
    crate::hdrext::csrc_audio_level::Levels
);
