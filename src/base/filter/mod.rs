// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `RtpBaseFilter2`: the abstract base class of RTP-in → RTP-out elements (FEC encoders and
//! decoders such as ULPFEC (RFC 5109) and FlexFEC (RFC 8627), RED (RFC 2198), RTX
//! (RFC 4588)).
//!
//! Such an element keeps or rewrites headers, passes media packets on, and adds packets of
//! its own. The base class does the rest: a `sink` and a `src` pad (`application/x-rtp`),
//! buffers and buffer lists, validation of each packet (RFC 3550 §5.1) with a counted drop
//! and a rate-limited warning for bad input, per-SSRC sequence-number tracking (losses
//! counted, late and duplicate packets dropped, restarts resynchronised) with sequence numbers
//! and timestamps extended to 64 bits, caps and events forwarded, and `stats`.
//!
//! A subclass implements [`RtpBaseFilter2Impl::handle_packet`] and for each input packet
//! calls one or more of:
//! - [`RtpBaseFilter2Ext::forward`]: the packet goes out unchanged, as the same buffer (zero
//!   copy);
//! - [`RtpBaseFilter2Ext::forward_on`]: the packet goes out with a rewritten fixed header on
//!   an output stream (its sequence number, SSRC and payload type from the stream): in place
//!   when the input is writable, else the payload memory is shared and only the header copied;
//! - [`RtpBaseFilter2Ext::emit_packet`]: a packet the subclass made (an FEC packet) goes out on an
//!   output stream, with the next sequence number of that stream;
//! - [`RtpBaseFilter2Ext::emit_recovered`]: a packet whose whole header the subclass gives (a
//!   media packet an FEC decoder rebuilt, with its original sequence number).
//!
//! Each call returns the sequence number the packet got ([`Emitted`]); an input packet the
//! subclass neither forwards nor rewrites is consumed (counted in `stats`). Output streams
//! ([`RtpBaseFilter2Ext::add_output_stream`]) have a sequence-number space of their own
//! ([`Seqnums::Own`], random start like a payloader: a separate FEC SSRC) or continue the
//! media stream's numbering with the emitted packets inserted ([`Seqnums::FollowInput`]:
//! ULPFEC or RED inside the media stream). There is one source pad: every output stream
//! travels with the media (rtpbin links an FEC encoder's `src` to `send_rtp_src_%u`, and
//! rtpbin2 takes one RTP stream per session); repair flows on a transport of their own
//! (rtpbin's `send_fec_src_%u_%u`, fed from `fec_%u` pads) are not supported. See
//! docs/base-classes.md.

mod emit;
mod imp;
mod input;
mod output;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use crate::base::plumbing::subclass_plumbing;

pub use imp::Class;

glib::wrapper! {
    /// Abstract RTP → RTP filter base class (GType `GstRtp2BaseFilter`).
    pub struct RtpBaseFilter2(ObjectSubclass<imp::RtpBaseFilter2>)
        @extends gst::Element, gst::Object;
}

/// A validated input packet, as a subclass sees it.
#[derive(Debug)]
pub struct FilterPacket<'a> {
    rtp: rtp2_core::rtp::RtpPacket<'a>,
    buffer: &'a gst::Buffer,
    ext_seqnum: u64,
    ext_timestamp: u64,
    discont: bool,
}

impl<'a> FilterPacket<'a> {
    /// The payload bytes (without padding).
    pub fn payload(&self) -> &'a [u8] {
        self.rtp.payload()
    }

    /// The whole packet (header, payload, padding).
    pub fn data(&self) -> &'a [u8] {
        self.rtp.data()
    }

    /// The marker bit.
    pub fn marker(&self) -> bool {
        self.rtp.marker()
    }

    /// The payload type.
    pub fn payload_type(&self) -> u8 {
        self.rtp.payload_type()
    }

    /// The 16-bit sequence number.
    pub fn seqnum(&self) -> u16 {
        self.rtp.sequence_number()
    }

    /// The sequence number extended to 64 bits, per SSRC (wraps resolved): what an FEC
    /// element indexes its protection windows with.
    pub fn ext_seqnum(&self) -> u64 {
        self.ext_seqnum
    }

    /// The 32-bit RTP timestamp.
    pub fn timestamp(&self) -> u32 {
        self.rtp.timestamp()
    }

    /// The RTP timestamp extended to 64 bits, per SSRC.
    pub fn ext_timestamp(&self) -> u64 {
        self.ext_timestamp
    }

    /// The SSRC.
    pub fn ssrc(&self) -> u32 {
        self.rtp.ssrc()
    }

    /// True when packets of this SSRC were lost (or its sender restarted) right before this
    /// one: what an FEC decoder tries to recover.
    pub fn discont(&self) -> bool {
        self.discont
    }

    /// The input buffer.
    pub fn buffer(&self) -> &'a gst::Buffer {
        self.buffer
    }

    /// `range` of the payload as a buffer sharing the input's memory (no copy); `None` when
    /// `range` is outside the payload.
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
}

/// Names an output stream of the filter (from [`RtpBaseFilter2Ext::add_output_stream`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamId(usize);

/// Where the sequence numbers of an output stream come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Seqnums {
    /// A space of its own, as a payloader's: counting from `start`, or from a random value
    /// (RFC 3550 §5.1) when `None`. For a separate FEC stream with its own SSRC (RFC 5109,
    /// RFC 8627) or a retransmission stream (RFC 4588).
    Own {
        /// First sequence number; `None`: random.
        start: Option<u16>,
    },
    /// The media stream's numbering: a forwarded packet keeps its input sequence number
    /// shifted by the number of packets inserted on this stream so far, an emitted packet
    /// takes the number after the last one given. Losses in the input stay visible. For
    /// packets carried inside the media stream (ULPFEC carried with RED, RFC 5109 and RFC 2198). One such
    /// stream follows one input SSRC, in order.
    FollowInput,
}

/// An output stream: the SSRC, payload type and sequence numbers its packets get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputStream {
    /// SSRC of its packets; `None`: the SSRC of the input packet (the media's).
    pub ssrc: Option<u32>,
    /// Payload type of its packets; `None`: the input packet's.
    pub payload_type: Option<u8>,
    /// The sequence-number space.
    pub seqnums: Seqnums,
}

/// Changes of [`RtpBaseFilter2Ext::forward_on`] beyond the stream's SSRC, payload type and
/// sequence number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rewrite {
    /// New marker bit; `None` keeps the input's.
    pub marker: Option<bool>,
    /// New RTP timestamp; `None` keeps the input's.
    pub timestamp: Option<u32>,
}

/// A packet made by the subclass, for [`RtpBaseFilter2Ext::emit_packet`].
#[derive(Debug, Clone)]
pub struct NewPacket {
    /// The payload (copied after the header into the packet's one memory).
    pub payload: gst::Buffer,
    /// Marker bit.
    pub marker: bool,
    /// Payload type; `None`: the stream's (FEC packets inside the media stream have a
    /// payload type of their own, RFC 5109).
    pub payload_type: Option<u8>,
    /// RTP timestamp (an FEC packet takes the one of the media packets it protects).
    pub timestamp: u32,
    /// PTS of the output buffer; `None`: the PTS of the input packet being handled.
    pub pts: Option<gst::ClockTime>,
}

/// A packet whose payload the subclass writes in place, for
/// [`RtpBaseFilter2Ext::emit_written`]: the base allocates the output buffer once and writes
/// its fixed header (version 2, no padding, extension or CSRC); the subclass writes the
/// payload straight into that buffer's memory (an FEC packet's headers and parity), so that
/// nothing is copied on the way out.
#[derive(Debug, Clone)]
pub struct WrittenPacket {
    /// Length of the payload the subclass writes.
    pub payload_len: usize,
    /// Marker bit.
    pub marker: bool,
    /// Payload type; `None`: the stream's.
    pub payload_type: Option<u8>,
    /// RTP timestamp.
    pub timestamp: u32,
    /// PTS of the output buffer; `None`: the PTS of the input packet being handled.
    pub pts: Option<gst::ClockTime>,
}

/// A packet whose whole fixed header the subclass gives, for
/// [`RtpBaseFilter2Ext::emit_recovered`]: a media packet an FEC decoder rebuilt (RFC 5109,
/// RFC 8627) or an RTX decoder unwrapped (RFC 4588), which must go out as its sender made it,
/// with its own sequence number, not one of an output stream.
#[derive(Debug, Clone)]
pub struct RecoveredPacket {
    /// The SSRC.
    pub ssrc: u32,
    /// The payload type.
    pub payload_type: u8,
    /// The sequence number.
    pub seqnum: u16,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The marker bit.
    pub marker: bool,
    /// The payload (copied after the header into the packet's one memory).
    pub payload: gst::Buffer,
    /// PTS of the output buffer; `None`: the PTS of the input packet being handled.
    pub pts: Option<gst::ClockTime>,
}

/// What a packet handed to the base class got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emitted {
    /// Its sequence number.
    pub seqnum: u16,
    /// Its sequence number in 64 bits within its output stream's space (for a forwarded
    /// unchanged packet: the input's extended sequence number).
    pub ext_seqnum: u64,
    /// Its SSRC.
    pub ssrc: u32,
}

/// Methods subclasses call on the base class.
pub trait RtpBaseFilter2Ext: IsA<RtpBaseFilter2> + 'static {
    /// Declares an output stream; streams are forgotten at PAUSED → READY, so declare them
    /// in `start`.
    fn add_output_stream(&self, stream: OutputStream) -> StreamId {
        self.upcast_ref::<RtpBaseFilter2>()
            .imp()
            .add_output_stream(stream)
    }

    /// Sends `packet` on unchanged: the same buffer, no copy.
    fn forward(&self, packet: &FilterPacket) -> Emitted {
        self.upcast_ref::<RtpBaseFilter2>().imp().forward(packet)
    }

    /// Sends `packet` on `stream` with its fixed header rewritten (the stream's SSRC,
    /// payload type and sequence number, and `rewrite`): in place when nothing else holds the
    /// input, else with the payload memory shared.
    /// Without any change this is [`Self::forward`]. `None` for an unknown stream.
    fn forward_on(
        &self,
        packet: &FilterPacket,
        stream: StreamId,
        rewrite: Rewrite,
    ) -> Option<Emitted> {
        self.upcast_ref::<RtpBaseFilter2>()
            .imp()
            .forward_on(packet, stream, rewrite)
    }

    /// Sends a packet made by the subclass on `stream`, with the stream's next sequence
    /// number. `None` for an unknown stream, or when the stream takes the input's SSRC or
    /// payload type and no packet came in yet.
    fn emit_packet(&self, stream: StreamId, packet: NewPacket) -> Option<Emitted> {
        self.upcast_ref::<RtpBaseFilter2>()
            .imp()
            .emit_packet(stream, packet)
    }

    /// Sends a packet on `stream` whose payload `write` writes into the output buffer's
    /// memory (`packet.payload_len` bytes, any content before), with the stream's next
    /// sequence number. `write` runs first, with no lock of the base held; when it returns
    /// false nothing is sent and no sequence number is taken. `None` then, or as for
    /// [`Self::emit_packet`].
    fn emit_written(
        &self,
        stream: StreamId,
        packet: WrittenPacket,
        write: impl FnOnce(&mut [u8]) -> bool,
    ) -> Option<Emitted> {
        self.upcast_ref::<RtpBaseFilter2>()
            .imp()
            .emit_written(stream, packet, write)
    }

    /// Sends a packet whose header the subclass gives whole (a recovered media packet); it
    /// takes no sequence number from an output stream. Its `ext_seqnum` is placed nearest to
    /// the input packet of the same SSRC being handled. Counted as `packets-recovered`.
    fn emit_recovered(&self, packet: RecoveredPacket) -> Emitted {
        self.upcast_ref::<RtpBaseFilter2>()
            .imp()
            .emit_recovered(packet)
    }

    /// Sends a whole RTP packet the subclass built, as it is: a RED block unwrapped into a
    /// packet of its own (RFC 2198), or a recovered media packet that keeps its CSRCs, header
    /// extension and padding (RFC 5109 §9.2). Counted as `packets-recovered` when `recovered`,
    /// else as `packets-emitted`. It takes no sequence number from an output stream.
    fn emit_buffer(&self, buffer: gst::Buffer, recovered: bool) {
        self.upcast_ref::<RtpBaseFilter2>()
            .imp()
            .emit_buffer(buffer, recovered)
    }

    /// Removes `count` input sequence numbers from a [`Seqnums::FollowInput`] stream's
    /// numbering: packets forwarded on it afterwards are numbered `count` lower. For a decoder
    /// that takes packets out of the media stream (FEC packets carried inside it, RFC 5109
    /// with RFC 2198), so that what it removed leaves no gap downstream.
    fn skip_in_stream(&self, stream: StreamId, count: u64) {
        self.upcast_ref::<RtpBaseFilter2>()
            .imp()
            .skip_in_stream(stream, count)
    }

    /// Reports input the subclass cannot use (an FEC packet with a broken FEC header):
    /// counted in `stats` (`dropped-invalid`), logged, posted as an element warning at most
    /// once a second. Call it with no lock of the subclass held.
    fn drop_invalid(&self, reason: &dyn std::fmt::Display) {
        self.upcast_ref::<RtpBaseFilter2>()
            .imp()
            .drop_invalid(reason)
    }

    /// Sets the output caps (pushed downstream when they change).
    fn set_src_caps(&self, caps: &gst::Caps) -> bool {
        self.upcast_ref::<RtpBaseFilter2>().imp().set_src_caps(caps)
    }

    /// Pushes what has been queued now (for output outside `handle_packet` and `drain`).
    fn finish_pending(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.upcast_ref::<RtpBaseFilter2>().imp().push_pending()
    }

    /// The base class's `stats` structure, for a subclass that overrides the property to
    /// add its own counters (an FEC decoder's `recovered` / `unrecovered`).
    fn filter_stats(&self) -> gst::Structure {
        self.upcast_ref::<RtpBaseFilter2>().imp().stats()
    }

    /// The source pad.
    fn src_pad(&self) -> gst::Pad {
        self.upcast_ref::<RtpBaseFilter2>().imp().src_pad().clone()
    }
}

impl<O: IsA<RtpBaseFilter2>> RtpBaseFilter2Ext for O {}

/// Virtual methods of [`RtpBaseFilter2`]; all have defaults (the default `handle_packet`
/// forwards every packet).
pub trait RtpBaseFilter2Impl: ElementImpl + ObjectSubclass<Type: IsA<RtpBaseFilter2>> {
    /// Called when streaming starts (READY → PAUSED): declare output streams here.
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        self.parent_start()
    }

    /// Called when streaming stops (PAUSED → READY).
    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        self.parent_stop()
    }

    /// New input caps; the default sets them as output caps.
    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        self.parent_set_sink_caps(caps)
    }

    /// One validated packet, in sequence order per SSRC.
    fn handle_packet(&self, packet: &FilterPacket) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.parent_handle_packet(packet)
    }

    /// Emit what is still held (EOS).
    fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.parent_drain()
    }

    /// Drop what is held (flush).
    fn flush(&self) {
        self.parent_flush()
    }

    /// An event on the sink pad; the default handles caps, flush and EOS and forwards all.
    fn sink_event(&self, event: gst::Event) -> bool {
        self.parent_sink_event(event)
    }

    /// An event on the source pad; the default forwards it upstream.
    fn src_event(&self, event: gst::Event) -> bool {
        self.parent_src_event(event)
    }
}

subclass_plumbing! {
    base: RtpBaseFilter2, class: Class, imp: RtpBaseFilter2Impl, ext: RtpBaseFilter2ImplExt,
    consts: [],
    vfuncs: [
        fn start / parent_start() -> Result<(), gst::ErrorMessage>;
        fn stop / parent_stop() -> Result<(), gst::ErrorMessage>;
        fn set_sink_caps / parent_set_sink_caps(caps: &gst::Caps) -> bool;
        fn handle_packet / parent_handle_packet(packet: &FilterPacket)
            -> Result<gst::FlowSuccess, gst::FlowError>;
        fn drain / parent_drain() -> Result<gst::FlowSuccess, gst::FlowError>;
        fn flush / parent_flush();
        fn sink_event / parent_sink_event(event: gst::Event) -> bool;
        fn src_event / parent_src_event(event: gst::Event) -> bool;
    ]
}
