// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `RtpBaseDepay2`: the abstract base class of every depayloader in this plugin.
//!
//! Packets come from the network, so the base class checks each one before a subclass sees
//! it: RTP validity (RFC 3550 §5.1: version, padding, CSRC count, extension length; an invalid
//! packet is dropped with a warning and counted, never a panic), the SSRC, and the sequence
//! number (gaps are counted as lost and make the next output DISCONT; packets more than
//! `max-reorder` behind mean the sender restarted). It also maps the RTP timestamp to the
//! output PTS across 32-bit wraps, reads RFC 8285 header extensions into buffer metas, adds
//! `RTPSourceMeta` (`source-info`), keeps `stats`, and sends force-key-unit events upstream
//! for video subclasses (which rtpsession turns into RTCP PLI/FIR).
//!
//! A subclass implements [`RtpBaseDepay2Impl`]: `set_sink_caps` (calling
//! [`RtpBaseDepay2Ext::set_src_caps`]) and `handle_packet`, in which it calls
//! [`RtpBaseDepay2Ext::push_output`] for each buffer it completes and
//! [`RtpBaseDepay2Ext::drop_packet`] for payloads it rejects.
//!
//! # Relation model
//!
//! Every output names the packets it was made from: the range of their extended sequence
//! numbers ([`IncomingPacket::ext_seqnum`]). The base class keeps, for a bounded window of
//! recent packets, what outputs get from them, and decorates each output from its own
//! packets, whenever it goes out (an access unit ended by the next one's first packet does
//! not get that packet's extensions):
//! - header extensions: the element of every packet of the range is read, in sequence
//!   order; an element whose id and bytes a previous packet of the same output carried is
//!   read once (an access unit of two FU-A packets with audio levels 30 and 40 gets two
//!   `GstAudioLevelMeta`, 30 then 40; fifty packets with level 10 get one);
//! - `RTPSourceMeta` (`source-info`): the SSRC and the CSRCs of all the packets, each once,
//!   in order of first appearance (at most 15, RFC 3550 §5.1);
//! - the input metas whose tags are all in [`RtpBaseDepay2Impl::ALLOWED_META_TAGS`] (untagged
//!   metas included), of every packet of the range.
//!
//! # Lock rule
//!
//! The subclass must not call any method of [`RtpBaseDepay2Ext`] with a lock of its own
//! held: they push events, post messages and call header extensions. Compute under the lock,
//! act after it.

mod allocation;
mod imp;
mod latency;
mod relation;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

pub use imp::Class;

glib::wrapper! {
    /// Abstract RTP depayloader base class (GType `GstRtp2BaseDepay`).
    pub struct RtpBaseDepay2(ObjectSubclass<imp::RtpBaseDepay2>)
        @extends gst::Element, gst::Object;
}

/// A validated RTP packet, as a subclass sees it.
#[derive(Debug)]
pub struct IncomingPacket<'a> {
    rtp: rtp2_core::rtp::RtpPacket<'a>,
    buffer: &'a gst::Buffer,
    ext_seqnum: u64,
    ext_timestamp: u64,
    discont: bool,
    /// The input buffer carries metas.
    has_metas: bool,
    /// Set when the subclass asks for the whole payload as output
    /// ([`RtpBaseDepay2Ext::push_payload_output`]); the base class acts on it once the
    /// packet is unmapped.
    payload_output: &'a std::cell::RefCell<Option<imp::PayloadOutput>>,
}

impl<'a> IncomingPacket<'a> {
    /// The payload bytes (without padding).
    pub fn payload(&self) -> &'a [u8] {
        self.rtp.payload()
    }

    /// The marker bit.
    pub fn marker(&self) -> bool {
        self.rtp.marker()
    }

    /// The 32-bit RTP timestamp.
    pub fn timestamp(&self) -> u32 {
        self.rtp.timestamp()
    }

    /// The RTP timestamp extended to 64 bits (wraps resolved); pass it to `push_output`.
    pub fn ext_timestamp(&self) -> u64 {
        self.ext_timestamp
    }

    /// The 16-bit sequence number.
    pub fn seqnum(&self) -> u16 {
        self.rtp.sequence_number()
    }

    /// The sequence number extended to 64 bits: outputs name the packets they were made from
    /// with it ([`RtpBaseDepay2Ext::push_output`]).
    pub fn ext_seqnum(&self) -> u64 {
        self.ext_seqnum
    }

    /// True when packets were lost (or the stream restarted) right before this one:
    /// anything a subclass was assembling across packets must be dropped.
    pub fn discont(&self) -> bool {
        self.discont
    }

    /// The payload type.
    pub fn payload_type(&self) -> u8 {
        self.rtp.payload_type()
    }

    /// The SSRC.
    pub fn ssrc(&self) -> u32 {
        self.rtp.ssrc()
    }

    /// The whole input buffer.
    pub fn buffer(&self) -> &'a gst::Buffer {
        self.buffer
    }

    /// `range` of the payload as a buffer that shares the input's memory (no copy).
    pub fn payload_subbuffer(&self, range: std::ops::Range<usize>) -> Option<gst::Buffer> {
        let offset = self.rtp.header_len();
        if range.start > range.end || range.end > self.rtp.payload().len() {
            return None;
        }
        self.buffer
            .copy_region(
                gst::BufferCopyFlags::MEMORY,
                (offset + range.start)..(offset + range.end),
            )
            .ok()
    }

    /// `range` of the payload as memories shared with the input (no copy, and no buffer in
    /// between: cheaper than [`Self::payload_subbuffer`] for the many small NAL units of an
    /// aggregation packet). `None` when `range` is outside the payload.
    pub fn payload_memories(
        &self,
        range: std::ops::Range<usize>,
    ) -> Option<crate::memshare::SharedMemories> {
        if range.start > range.end || range.end > self.rtp.payload().len() {
            return None;
        }
        let offset = self.payload_range().start;
        let mut out = crate::memshare::SharedMemories::new();
        crate::memshare::share_range(
            self.buffer,
            (offset + range.start)..(offset + range.end),
            &mut out,
        )
        .then_some(out)
    }

    /// Where the payload lies in the packet buffer.
    pub fn payload_range(&self) -> std::ops::Range<usize> {
        let offset = self.rtp.header_len();
        offset..offset + self.rtp.payload().len()
    }

    /// The whole payload as a buffer that shares the input's memory.
    pub fn payload_buffer(&self) -> Option<gst::Buffer> {
        self.payload_subbuffer(0..self.rtp.payload().len())
    }
}

/// Methods subclasses call on the base class.
pub trait RtpBaseDepay2Ext: IsA<RtpBaseDepay2> + 'static {
    /// Sets the output caps (only pushed downstream when they change).
    fn set_src_caps(&self, caps: &gst::Caps) -> bool {
        self.upcast_ref::<RtpBaseDepay2>().imp().set_src_caps(caps)
    }

    /// Queues one output buffer whose media was sampled at `ext_timestamp` (from
    /// [`IncomingPacket::ext_timestamp`]), made from the packets with the extended sequence
    /// numbers `packets` ([`IncomingPacket::ext_seqnum`], first..=last). The base class sets
    /// its PTS, DISCONT after losses, and the header-extension metas, `RTPSourceMeta` and
    /// allowed metas of those packets (see the module's relation model); the buffers made
    /// from one input go out together.
    fn push_output(
        &self,
        buffer: gst::Buffer,
        ext_timestamp: u64,
        packets: std::ops::RangeInclusive<u64>,
    ) {
        self.upcast_ref::<RtpBaseDepay2>()
            .imp()
            .queue_output(buffer, ext_timestamp, packets)
    }

    /// Outputs `packet`'s whole payload with `duration` and `flags`, as
    /// [`RtpBaseDepay2Ext::push_output`] would, but made from the input buffer itself (its
    /// RTP header cut off) once the subclass returns: no new buffer or memory when the
    /// depayloader is the packet's only holder. For payload formats whose payload is the
    /// media as is (G.722, G.729).
    fn push_payload_output(
        &self,
        packet: &IncomingPacket,
        duration: Option<gst::ClockTime>,
        flags: gst::BufferFlags,
    ) {
        self.upcast_ref::<RtpBaseDepay2>()
            .imp()
            .queue_payload_output(packet, duration, flags)
    }

    /// [`RtpBaseDepay2Ext::push_payload_output`] for an audio payload lasting `duration`;
    /// the marker bit, which starts a talkspurt (RFC 3551 §4.1), flags it RESYNC so that the
    /// decoder resynchronises.
    fn push_audio_payload(&self, packet: &IncomingPacket, duration: gst::ClockTime) {
        let flags = if packet.marker() {
            gst::BufferFlags::RESYNC
        } else {
            gst::BufferFlags::empty()
        };
        self.push_payload_output(packet, Some(duration), flags)
    }

    /// Reports a packet (or the part of one) that the subclass cannot use: counted in
    /// `stats`, logged as a warning (and posted as an element warning at most once a second),
    /// and the next output is marked DISCONT.
    fn drop_packet(&self, reason: &dyn std::fmt::Display) {
        self.upcast_ref::<RtpBaseDepay2>()
            .imp()
            .drop_payload(reason)
    }

    /// Marks the next output DISCONT (data was lost inside the subclass).
    fn mark_discont(&self) {
        self.upcast_ref::<RtpBaseDepay2>().imp().mark_discont()
    }

    /// Sends an upstream force-key-unit event with all-headers (for video subclasses; an
    /// rtpsession upstream turns it into an RTCP PLI/FIR).
    fn request_keyframe(&self) {
        self.upcast_ref::<RtpBaseDepay2>().imp().request_keyframe()
    }

    /// The clock rate from the input caps.
    fn clock_rate(&self) -> Option<u32> {
        self.upcast_ref::<RtpBaseDepay2>().imp().clock_rate()
    }

    /// The source pad (e.g. to query downstream caps).
    fn src_pad(&self) -> gst::Pad {
        self.upcast_ref::<RtpBaseDepay2>().imp().src_pad().clone()
    }
}

impl<O: IsA<RtpBaseDepay2>> RtpBaseDepay2Ext for O {}

/// Virtual methods of [`RtpBaseDepay2`]; `set_sink_caps` and `handle_packet` must be
/// implemented by a concrete depayloader.
pub trait RtpBaseDepay2Impl: ElementImpl + ObjectSubclass<Type: IsA<RtpBaseDepay2>> {
    /// Input metas whose API tags are all in this list (untagged metas always qualify) are
    /// copied to the outputs made from their packet, as the C depayloaders do with
    /// `gst_rtp_copy_video_meta` / `gst_rtp_copy_audio_meta` (video elements: `["video"]`,
    /// audio elements: `["audio"]`). Default: untagged metas only.
    const ALLOWED_META_TAGS: &'static [&'static str] = &[];

    /// Called when streaming starts (READY → PAUSED).
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        self.parent_start()
    }

    /// Called when streaming stops (PAUSED → READY).
    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        self.parent_stop()
    }

    /// New RTP caps (clock rate and header extensions are already taken care of).
    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        self.parent_set_sink_caps(caps)
    }

    /// One validated packet, in sequence order.
    fn handle_packet(&self, packet: &IncomingPacket) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.parent_handle_packet(packet)
    }

    /// Output everything complete that is still held (EOS).
    fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.parent_drain()
    }

    /// Drop everything held (flush, SSRC change, sender restart).
    fn flush(&self) {
        self.parent_flush()
    }

    /// An event on the sink pad; the default handles caps, segment, flush and EOS.
    fn sink_event(&self, event: gst::Event) -> bool {
        self.parent_sink_event(event)
    }

    /// An event on the source pad; the default forwards it upstream.
    fn src_event(&self, event: gst::Event) -> bool {
        self.parent_src_event(event)
    }
}

/// Calls into the parent class's implementation.
pub trait RtpBaseDepay2ImplExt: RtpBaseDepay2Impl {
    /// Runs the parent class's `start` (the base class default).
    fn parent_start(&self) -> Result<(), gst::ErrorMessage> {
        (self.parent_vfuncs().start)(self.obj().upcast_ref())
    }
    /// Runs the parent class's `stop` (the base class default).
    fn parent_stop(&self) -> Result<(), gst::ErrorMessage> {
        (self.parent_vfuncs().stop)(self.obj().upcast_ref())
    }
    /// Runs the parent class's `set_sink_caps` (the base class default).
    fn parent_set_sink_caps(&self, caps: &gst::Caps) -> bool {
        (self.parent_vfuncs().set_sink_caps)(self.obj().upcast_ref(), caps)
    }
    /// Runs the parent class's `handle_packet` (the base class default).
    fn parent_handle_packet(
        &self,
        packet: &IncomingPacket,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        (self.parent_vfuncs().handle_packet)(self.obj().upcast_ref(), packet)
    }
    /// Runs the parent class's `drain` (the base class default).
    fn parent_drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        (self.parent_vfuncs().drain)(self.obj().upcast_ref())
    }
    /// Runs the parent class's `flush` (the base class default).
    fn parent_flush(&self) {
        (self.parent_vfuncs().flush)(self.obj().upcast_ref())
    }
    /// Runs the parent class's `sink_event` (the base class default).
    fn parent_sink_event(&self, event: gst::Event) -> bool {
        (self.parent_vfuncs().sink_event)(self.obj().upcast_ref(), event)
    }
    /// Runs the parent class's `src_event` (the base class default).
    fn parent_src_event(&self, event: gst::Event) -> bool {
        (self.parent_vfuncs().src_event)(self.obj().upcast_ref(), event)
    }

    /// The parent class structure's virtual method table.
    fn parent_vfuncs(&self) -> &'static Class {
        let data = Self::type_data();
        // SAFETY: the parent class of any subclass of RtpBaseDepay2 is RtpBaseDepay2 or one of
        // its subclasses, whose class structures all start with `Class` (`#[repr(C)]`); class
        // structures live for the rest of the process.
        unsafe { &*(data.as_ref().parent_class() as *const Class) }
    }
}

impl<T: RtpBaseDepay2Impl> RtpBaseDepay2ImplExt for T {}

fn imp_of<T: RtpBaseDepay2Impl>(obj: &RtpBaseDepay2) -> &T {
    // The trampolines are only installed on classes of T (or subclasses of T).
    match obj.dynamic_cast_ref::<T::Type>() {
        Some(o) => o.imp(),
        None => unreachable!("vfunc of {} called on another type", T::NAME),
    }
}

// SAFETY: the class structure of this type is its `imp::Class` (`#[repr(C)]`, parent class
// first), which every subclass's class structure starts with; `class_init` only chains
// up and sets function pointers of this class.
unsafe impl<T: RtpBaseDepay2Impl> IsSubclassable<T> for RtpBaseDepay2 {
    fn class_init(class: &mut glib::Class<Self>) {
        Self::parent_class_init::<T>(class);
        let klass = class.as_mut();
        klass.start = |obj| imp_of::<T>(obj).start();
        klass.stop = |obj| imp_of::<T>(obj).stop();
        klass.set_sink_caps = |obj, caps| imp_of::<T>(obj).set_sink_caps(caps);
        klass.handle_packet = |obj, packet| imp_of::<T>(obj).handle_packet(packet);
        klass.drain = |obj| imp_of::<T>(obj).drain();
        klass.flush = |obj| imp_of::<T>(obj).flush();
        klass.sink_event = |obj, event| imp_of::<T>(obj).sink_event(event);
        klass.src_event = |obj, event| imp_of::<T>(obj).src_event(event);
        klass.allowed_meta_tags = T::ALLOWED_META_TAGS;
    }
}

/// The loss policy of video depayloaders: the `request-keyframe` and `wait-for-keyframe`
/// properties (same meaning as in the C `rtph264depay`). H.264 and H.265 share it.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyframePolicy {
    /// Ask upstream for a keyframe (force-key-unit, i.e. RTCP PLI/FIR) when data is lost.
    pub request_keyframe: bool,
    /// After a loss, drop everything until the next keyframe.
    pub wait_for_keyframe: bool,
    waiting: bool,
}

impl KeyframePolicy {
    /// Data was lost; returns true when a keyframe should be requested.
    pub fn on_loss(&mut self) -> bool {
        if self.wait_for_keyframe {
            self.waiting = true;
        }
        self.request_keyframe
    }

    /// Whether a complete access unit may be output; a keyframe ends the waiting.
    pub fn admit(&mut self, keyframe: bool) -> bool {
        if keyframe {
            self.waiting = false;
        }
        !self.waiting
    }

    /// True while delta units are dropped.
    pub fn waiting(&self) -> bool {
        self.waiting
    }

    /// Forgets a pending wait (flush, new stream).
    pub fn reset(&mut self) {
        self.waiting = false;
    }
}
