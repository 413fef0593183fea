// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `RtpBaseAudioPay2`: an abstract [`RtpBasePay2`] subclass for constant-bitrate audio.
//!
//! It collects input in an adapter and cuts packets whose duration follows the packet-time
//! rules of RFC 3551 §4.5 (`min-ptime`, `max-ptime`, `ptime-multiple`, and `ptime` /
//! `maxptime` in downstream caps; 20 ms when nothing says otherwise), always whole frames.
//! RTP timestamps are "perfect": counted in samples from the last resynchronisation (start,
//! DISCONT, or an input timestamp jump), so they never jitter with the input's rounding.
//! The first packet after a resynchronisation carries the marker bit (RFC 3551 §4.1).
//!
//! A subclass implements [`RtpBaseAudioPay2Impl`] and, in `set_sink_caps`, calls
//! [`RtpBaseAudioPay2Ext::set_framing`] and `set_src_caps`.

mod imp;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::audio::AudioFraming;

use crate::base::pay::{RtpBasePay2, RtpBasePay2Impl};

glib::wrapper! {
    /// Abstract audio payloader (GType `GstRtp2BaseAudioPay`).
    pub struct RtpBaseAudioPay2(ObjectSubclass<imp::RtpBaseAudioPay2>)
        @extends RtpBasePay2, gst::Element, gst::Object;
}

/// Methods audio subclasses call.
pub trait RtpBaseAudioPay2Ext: IsA<RtpBaseAudioPay2> + 'static {
    /// How the codec's bytes map to time and RTP ticks; required before the first buffer.
    fn set_framing(&self, framing: AudioFraming) {
        self.upcast_ref::<RtpBaseAudioPay2>()
            .imp()
            .set_framing(framing)
    }

    /// Adds `buffer` to the adapter and makes the packets that are due. With
    /// `end_packet_after`, everything buffered leaves now (e.g. after a G.729 SID frame, which
    /// may only be the last frame of a packet).
    fn push_audio(
        &self,
        buffer: &gst::Buffer,
        end_packet_after: bool,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.upcast_ref::<RtpBaseAudioPay2>()
            .imp()
            .push_audio(buffer, end_packet_after)
    }
}

impl<O: IsA<RtpBaseAudioPay2>> RtpBaseAudioPay2Ext for O {}

/// Audio subclasses implement this (it adds no virtual method of its own).
pub trait RtpBaseAudioPay2Impl: RtpBasePay2Impl
where
    <Self as ObjectSubclass>::Type: IsA<RtpBaseAudioPay2>,
{
}

// SAFETY: this type adds no class structure of its own (it is `RtpBasePay2`'s), and the
// default `class_init` only chains up to the parent classes.
unsafe impl<T> IsSubclassable<T> for RtpBaseAudioPay2
where
    T: RtpBaseAudioPay2Impl,
    <T as ObjectSubclass>::Type: IsA<RtpBaseAudioPay2>,
{
}
