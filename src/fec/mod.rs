// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! FEC elements on `RtpBaseFilter2`: `rtpulpfecenc2` / `rtpulpfecdec2` (ULPFEC, RFC 5109)
//! and `rtpredenc2` / `rtpreddec2` (RED, RFC 2198), drop-ins for GStreamer's C elements,
//! and `rtpflexfecenc2` / `rtpflexfecdec2` (FlexFEC: flexfec-03 and RFC 8627).
//! The formats and the recovery logic are in `rtp2_core::fec`; this is the glue. See
//! docs/fec.md.

use gst::glib;

pub(crate) mod flexfecdec;
pub(crate) mod flexfecenc;
pub(crate) mod reddec;
pub(crate) mod redenc;
pub(crate) mod ulpfecdec;
pub(crate) mod ulpfecenc;

/// Registers the FEC elements.
pub(crate) fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    ulpfecenc::register(plugin)?;
    ulpfecdec::register(plugin)?;
    redenc::register(plugin)?;
    reddec::register(plugin)?;
    flexfecenc::register(plugin)?;
    flexfecdec::register(plugin)
}

/// The `sink` and `src` templates (`application/x-rtp`) the filter base class needs.
pub(crate) fn rtp_pad_templates() -> Vec<gst::PadTemplate> {
    let caps = gst::Caps::new_empty_simple("application/x-rtp");
    [
        ("sink", gst::PadDirection::Sink),
        ("src", gst::PadDirection::Src),
    ]
    .into_iter()
    .filter_map(|(name, dir)| {
        gst::PadTemplate::new(name, dir, gst::PadPresence::Always, &caps).ok()
    })
    .collect()
}

/// `ElementImpl` of an FEC element: its metadata and the RTP sink/src templates
/// ([`rtp_pad_templates`]), the same for every element of this family.
macro_rules! fec_element_impl {
    ($ty:ty, $long_name:expr, $klass:expr, $description:expr) => {
        impl ElementImpl for $ty {
            fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
                static META: std::sync::LazyLock<gst::subclass::ElementMetadata> =
                    std::sync::LazyLock::new(|| {
                        gst::subclass::ElementMetadata::new(
                            $long_name,
                            $klass,
                            $description,
                            "gst-plugin-rtp2",
                        )
                    });
                Some(&META)
            }

            fn pad_templates() -> &'static [gst::PadTemplate] {
                static T: std::sync::LazyLock<Vec<gst::PadTemplate>> =
                    std::sync::LazyLock::new(crate::fec::rtp_pad_templates);
                T.as_ref()
            }
        }
    };
}
pub(crate) use fec_element_impl;

/// `header` (an input packet's header bytes: fixed header, CSRCs, extension) with payload
/// type `payload_type` and sequence number `seqnum`, followed by `payload`; flags,
/// timestamps and metas from `input`, padding bit cleared. For packets whose payload the
/// element changes (RED).
pub(crate) fn packet_with_payload(
    input: &gst::Buffer,
    header: &[u8],
    payload_type: u8,
    seqnum: Option<u16>,
    payload: gst::Buffer,
) -> gst::Buffer {
    let mut header = header.to_vec();
    // The new payload has no padding.
    if let Some(b0) = header.get_mut(0) {
        *b0 &= !0x20;
    }
    if let Some(b1) = header.get_mut(1) {
        *b1 = (*b1 & 0x80) | (payload_type & 0x7f);
    }
    if let (Some(seqnum), Some(bytes)) = (seqnum, header.get_mut(2..4)) {
        bytes.copy_from_slice(&seqnum.to_be_bytes());
    }
    let mut out = gst::Buffer::new();
    if let Some(b) = out.get_mut() {
        let _ = input.copy_into(
            b,
            gst::BufferCopyFlags::FLAGS
                | gst::BufferCopyFlags::TIMESTAMPS
                | gst::BufferCopyFlags::META,
            ..,
        );
        b.append_memory(gst::Memory::from_mut_slice(header));
        for memory in payload.iter_memories_owned() {
            b.append_memory(memory);
        }
    }
    out
}
