// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `RtpBasePay2`: the abstract base class of every payloader in this plugin.
//!
//! It owns everything that is the same for all codecs, so that a codec element only turns
//! input buffers into payloads:
//! - caps negotiation of the RTP side (`payload`, `ssrc`, `seqnum-offset` and
//!   `timestamp-offset` may be fixed by downstream caps, as with the C `GstRTPBasePayload`);
//! - the RTP fixed header (RFC 3550 §5.1): sequence numbers, SSRC, payload type, the RTP
//!   timestamp from the running time × clock-rate with 32-bit wrap, and the marker bit;
//! - RFC 8285 header extensions through GStreamer's `GstRTPHeaderExtension` objects;
//! - CSRCs from `RTPSourceMeta` (`source-info`), statistics, buffer lists, and the
//!   segment / flush / EOS / caps events.
//!
//! A subclass implements [`RtpBasePay2Impl`]: it calls [`RtpBasePay2Ext::set_src_caps`] once it
//! knows its output caps, and [`RtpBasePay2Ext::queue_packet`] for each packet it makes from an
//! input buffer. The packets queued while one input buffer is handled leave as one buffer list.
//! See `docs/base-classes.md` for a walk-through.

mod imp;
pub(crate) mod pool;
mod refclk;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use smallvec::SmallVec;

pub use imp::Class;

glib::wrapper! {
    /// Abstract RTP payloader base class (GType `GstRtp2BasePay`).
    pub struct RtpBasePay2(ObjectSubclass<imp::RtpBasePay2>)
        @extends gst::Element, gst::Object;
}

/// How the RTP timestamp of an outgoing packet is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketTiming {
    /// From the running time of this presentation timestamp (RFC 3550 §5.1: the sampling
    /// instant of the first octet). `None` reuses the previous packet's RTP timestamp.
    Pts(Option<gst::ClockTime>),
    /// Sample-accurate ("perfect") timing for constant-rate audio: `ticks` RTP clock ticks after
    /// the RTP timestamp that `anchor_pts` maps to. The anchor is taken from the first packet
    /// with `ticks == 0` (or when none is known yet) and then kept, so rounding of the input's
    /// timestamps never makes the RTP timestamps jitter.
    Continuous {
        /// Presentation timestamp of this packet (also used for the output buffer).
        pts: Option<gst::ClockTime>,
        /// RTP ticks since the last resynchronisation point.
        ticks: u64,
    },
}

/// Payload-format header bytes (an FU indicator and header, an aggregation packet header, a
/// FEC header) that the base class writes into the pooled RTP header memory, saving an
/// allocation per packet. At most [`PayloadPrefix::CAPACITY`] bytes: a longer prefix is
/// refused ([`PayloadPrefix::new`] returns an error, [`PayloadPrefix::from_array`] does not
/// compile), never cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadPrefix {
    bytes: [u8; PayloadPrefix::CAPACITY],
    len: u8,
}

impl Default for PayloadPrefix {
    fn default() -> Self {
        PayloadPrefix {
            bytes: [0; PayloadPrefix::CAPACITY],
            len: 0,
        }
    }
}

/// A payload prefix longer than [`PayloadPrefix::CAPACITY`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixTooLong(pub usize);

impl std::fmt::Display for PrefixTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "payload prefix of {} bytes, at most {} fit",
            self.0,
            PayloadPrefix::CAPACITY
        )
    }
}

impl std::error::Error for PrefixTooLong {}

impl PayloadPrefix {
    /// Most bytes a prefix holds: room for the largest FEC headers (ULPFEC, RFC 5109 §7: 10
    /// bytes + an 8-byte level header; FlexFEC, RFC 8627 §4.2: up to 20 bytes).
    pub const CAPACITY: usize = 24;

    /// A prefix of `bytes`, or an error when they are more than [`Self::CAPACITY`].
    pub fn new(bytes: &[u8]) -> Result<Self, PrefixTooLong> {
        let len = bytes.len();
        if len > Self::CAPACITY {
            return Err(PrefixTooLong(len));
        }
        let mut prefix = PayloadPrefix::default();
        prefix.bytes[..len].copy_from_slice(bytes);
        prefix.len = len as u8;
        Ok(prefix)
    }

    /// A prefix of a fixed-size array: an array longer than [`Self::CAPACITY`] is a
    /// compile-time error.
    ///
    /// ```compile_fail
    /// let _ = gstrtp2::base::pay::PayloadPrefix::from_array([0u8; 25]);
    /// ```
    pub const fn from_array<const N: usize>(bytes: [u8; N]) -> Self {
        const { assert!(N <= PayloadPrefix::CAPACITY, "payload prefix too long") };
        let mut b = [0u8; PayloadPrefix::CAPACITY];
        let mut i = 0;
        while i < N {
            b[i] = bytes[i];
            i += 1;
        }
        PayloadPrefix {
            bytes: b,
            len: N as u8,
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl From<rtp2_core::nalpack::HeaderBytes> for PayloadPrefix {
    /// Packetizer header bytes always fit ([`rtp2_core::nalpack::HeaderBytes::CAPACITY`] is
    /// below [`PayloadPrefix::CAPACITY`]).
    fn from(bytes: rtp2_core::nalpack::HeaderBytes) -> Self {
        const { assert!(rtp2_core::nalpack::HeaderBytes::CAPACITY <= PayloadPrefix::CAPACITY) };
        let mut prefix = PayloadPrefix::default();
        let bytes = bytes.as_slice();
        prefix.bytes[..bytes.len()].copy_from_slice(bytes);
        prefix.len = bytes.len() as u8;
        prefix
    }
}

/// Identifies one input buffer of a payloader: the base class numbers its input buffers
/// 0, 1, 2, … in arrival order (see [`RtpBasePay2Ext::current_input_id`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InputId(pub(crate) u64);

impl InputId {
    /// The number of the input.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// The input buffers a packet was made from, `first..=last` (the relation between inputs and
/// packets, as gst-plugins-rs' `PacketToBufferRelation`). Header extensions and CSRCs are
/// written from the first input of the range; the metas of every input of the range whose
/// tags the payloader allows are copied to the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputRange {
    /// The input holding the first byte of the packet.
    pub first: InputId,
    /// The input holding the last byte of the packet.
    pub last: InputId,
}

impl InputRange {
    /// A packet made from one input.
    pub fn single(id: InputId) -> Self {
        InputRange {
            first: id,
            last: id,
        }
    }

    /// A packet made from the inputs `first..=last`.
    pub fn new(first: InputId, last: InputId) -> Self {
        InputRange {
            first,
            last: last.max(first),
        }
    }
}

/// The payload of a packet after its prefix: memory shared with the input, never copied.
#[derive(Debug)]
#[non_exhaustive]
pub enum PacketPayload {
    /// A buffer's memories (the whole input buffer, or a region of it).
    Buffer(gst::Buffer),
    /// Memories appended in order: no buffer needed around them, which saves a buffer per
    /// packet when a packet is put together from parts (NAL units, fragments).
    Memories(SmallVec<[gst::Memory; 4]>),
}

impl PacketPayload {
    /// Payload bytes.
    pub fn size(&self) -> usize {
        match self {
            PacketPayload::Buffer(buffer) => buffer.size(),
            PacketPayload::Memories(memories) => memories.iter().map(|m| m.size()).sum(),
        }
    }
}

/// One packet a subclass hands to the base class.
#[derive(Debug)]
pub struct OutgoingPacket {
    /// First bytes of the payload, written into the header memory.
    pub prefix: PayloadPrefix,
    /// The rest of the payload. It may be made of several memories that share the input
    /// buffer's memory: the base class puts a header memory in front and copies no payload
    /// byte.
    pub payload: PacketPayload,
    /// RTP marker bit (its meaning is defined by the payload format).
    pub marker: bool,
    /// How to compute the RTP timestamp.
    pub timing: PacketTiming,
    /// Duration of the media in this packet, set on the output buffer when known.
    pub duration: Option<gst::ClockTime>,
    /// The input buffers this packet was made from. `None`: the input buffer being handled
    /// (during a drain, the last input buffer).
    pub inputs: Option<InputRange>,
    /// DISCONT: the first packet of data that followed a discontinuity of the input (the
    /// subclass knows which packet carries the first data of a DISCONT input buffer).
    pub discont: bool,
    /// DELTA_UNIT: media a decoder cannot start from (the C video payloaders set it on the
    /// packets of non-key access units; consumers that start on keyframes read it).
    pub delta_unit: bool,
}

impl OutgoingPacket {
    /// A packet timed by `pts`, without marker, whose metas come from the current input.
    pub fn new(payload: gst::Buffer, pts: Option<gst::ClockTime>) -> Self {
        Self::with_payload(PacketPayload::Buffer(payload), pts)
    }

    /// As [`OutgoingPacket::new`], with the payload given as memories or a buffer.
    pub fn with_payload(payload: PacketPayload, pts: Option<gst::ClockTime>) -> Self {
        OutgoingPacket {
            prefix: PayloadPrefix::default(),
            payload,
            marker: false,
            timing: PacketTiming::Pts(pts),
            duration: None,
            inputs: None,
            discont: false,
            delta_unit: false,
        }
    }

    /// The buffer flags of the packet: DISCONT and DELTA_UNIT as the subclass says, MARKER
    /// exactly when the RTP marker bit is set.
    pub fn buffer_flags(&self) -> gst::BufferFlags {
        let mut flags = gst::BufferFlags::empty();
        flags.set(gst::BufferFlags::DISCONT, self.discont);
        flags.set(gst::BufferFlags::DELTA_UNIT, self.delta_unit);
        flags.set(gst::BufferFlags::MARKER, self.marker);
        flags
    }
}

/// Per-input values a subclass reads from the base class in one call (one lock), instead of
/// one property read each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputParams {
    /// Largest payload that keeps a packet within `mtu` with the current input's CSRCs and
    /// header extensions.
    pub max_payload_size: usize,
    /// The `perfect-rtptime` property.
    pub perfect_rtptime: bool,
    /// Changes whenever the output caps change: a key for values derived from the caps.
    pub caps_generation: u64,
    /// The `min-ptime` property (ns).
    pub min_ptime: i64,
    /// The `max-ptime` property (ns; -1: the payloader's default).
    pub max_ptime: i64,
    /// The `ptime-multiple` property (ns; 0: none).
    pub ptime_multiple: i64,
}

/// Methods subclasses call on the base class.
pub trait RtpBasePay2Ext: IsA<RtpBasePay2> + 'static {
    /// Negotiates and sets the RTP output caps. `caps` carries the codec's fields
    /// (`media`, `clock-rate`, `encoding-name`, SDP parameters); the base class adds
    /// `payload`, `ssrc`, `seqnum-offset`, `timestamp-offset` and the header extensions'
    /// `extmap-N` fields, adopting values that downstream fixes.
    fn set_src_caps(&self, caps: &gst::Caps) -> bool {
        self.upcast_ref::<RtpBasePay2>().imp().set_src_caps(caps)
    }

    /// Queues one packet. Packets queued while one input buffer is handled are pushed
    /// together, as one buffer list, once the subclass returns.
    fn queue_packet(&self, packet: OutgoingPacket) {
        self.upcast_ref::<RtpBasePay2>().imp().queue_packet(packet)
    }

    /// Reports input that cannot be payloaded (bad input, e.g. a NAL unit shorter than its
    /// header): counted in `stats` (`dropped-invalid`), logged, and posted as an element
    /// warning at most once a second. The stream goes on. Call it without holding a lock of
    /// the subclass (it may post a message).
    fn drop_invalid_input(&self, reason: &dyn std::fmt::Display) {
        self.upcast_ref::<RtpBasePay2>()
            .imp()
            .drop_invalid_input(reason)
    }

    /// Pushes what has been queued now (for subclasses that emit outside `handle_buffer`).
    fn finish_pending(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.upcast_ref::<RtpBasePay2>().imp().push_pending()
    }

    /// The id of the input buffer being handled (during a drain or a new caps event: the last
    /// input buffer's). A subclass that keeps data across input buffers keeps the ids with it
    /// and names them in [`OutgoingPacket::inputs`].
    fn current_input_id(&self) -> InputId {
        self.upcast_ref::<RtpBasePay2>().imp().current_input_id()
    }

    /// The `perfect-rtptime` property.
    fn perfect_rtptime(&self) -> bool {
        self.upcast_ref::<RtpBasePay2>().imp().perfect_rtptime()
    }

    /// The `mtu` property.
    fn mtu(&self) -> u32 {
        self.upcast_ref::<RtpBasePay2>().imp().mtu()
    }

    /// Largest payload that keeps a packet within `mtu`, given the CSRCs and the header
    /// extensions that the current input buffer will produce.
    fn max_payload_size(&self) -> usize {
        self.upcast_ref::<RtpBasePay2>().imp().max_payload_size()
    }

    /// Maximum payload size, `perfect-rtptime` and the caps generation, read together.
    fn input_params(&self) -> InputParams {
        self.upcast_ref::<RtpBasePay2>().imp().input_params()
    }

    /// The clock rate negotiated by [`set_src_caps`](Self::set_src_caps).
    fn clock_rate(&self) -> Option<u32> {
        self.upcast_ref::<RtpBasePay2>().imp().clock_rate()
    }

    /// The negotiated downstream caps' first structure, e.g. to read `ptime`.
    fn src_caps(&self) -> Option<gst::Caps> {
        self.upcast_ref::<RtpBasePay2>()
            .imp()
            .src_pad()
            .current_caps()
    }

    /// The sink pad, for subclasses that query upstream.
    fn sink_pad(&self) -> gst::Pad {
        self.upcast_ref::<RtpBasePay2>().imp().sink_pad().clone()
    }

    /// The source pad.
    fn src_pad(&self) -> gst::Pad {
        self.upcast_ref::<RtpBasePay2>().imp().src_pad().clone()
    }
}

impl<O: IsA<RtpBasePay2>> RtpBasePay2Ext for O {}

/// Virtual methods of [`RtpBasePay2`]. Every method has a default, but `handle_buffer` must be
/// implemented by a concrete payloader.
pub trait RtpBasePay2Impl: ElementImpl + ObjectSubclass<Type: IsA<RtpBasePay2>> {
    /// Tags of the input metas copied to the packets: a meta is copied when it has no tag or
    /// only tags of this list (as `gst_rtp_copy_meta` in the C payloaders, which pass the
    /// media's tag: "audio" or "video"). Default: only metas without tags.
    const ALLOWED_META_TAGS: &'static [&'static str] = &[];

    /// Called when streaming starts (READY → PAUSED).
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        self.parent_start()
    }

    /// Called when streaming stops (PAUSED → READY); drop all state.
    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        self.parent_stop()
    }

    /// New input caps. The subclass configures itself and calls `set_src_caps`.
    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        self.parent_set_sink_caps(caps)
    }

    /// One input buffer: queue packets with `queue_packet`.
    fn handle_buffer(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.parent_handle_buffer(buffer)
    }

    /// Queue packets for everything still held back (EOS, new caps).
    fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.parent_drain()
    }

    /// Discard everything held back (flush).
    fn flush(&self) {
        self.parent_flush()
    }

    /// A serialized or non-serialized event on the sink pad. The default handles caps,
    /// segment, flush and EOS and forwards the rest.
    fn sink_event(&self, event: gst::Event) -> bool {
        self.parent_sink_event(event)
    }

    /// An event on the source pad; the default forwards it upstream (force-key-unit
    /// included).
    fn src_event(&self, event: gst::Event) -> bool {
        self.parent_src_event(event)
    }

    /// A query on the sink pad; the default answers caps queries from the templates and
    /// downstream.
    fn sink_query(&self, query: &mut gst::QueryRef) -> bool {
        self.parent_sink_query(query)
    }
}

/// Calls into the parent class's implementation, for subclasses that override a method
/// and still want the inherited behaviour.
pub trait RtpBasePay2ImplExt: RtpBasePay2Impl {
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
    /// Runs the parent class's `handle_buffer` (the base class default).
    fn parent_handle_buffer(
        &self,
        buffer: &gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        (self.parent_vfuncs().handle_buffer)(self.obj().upcast_ref(), buffer)
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
    /// Runs the parent class's `sink_query` (the base class default).
    fn parent_sink_query(&self, query: &mut gst::QueryRef) -> bool {
        (self.parent_vfuncs().sink_query)(self.obj().upcast_ref(), query)
    }

    /// The parent class structure's virtual method table.
    fn parent_vfuncs(&self) -> &'static Class {
        let data = Self::type_data();
        // SAFETY: the parent class of any subclass of RtpBasePay2 is RtpBasePay2 or one of its
        // subclasses, whose class structures all start with `Class` (`#[repr(C)]`); class
        // structures live as long as the type system, i.e. for the rest of the process.
        unsafe { &*(data.as_ref().parent_class() as *const Class) }
    }
}

impl<T: RtpBasePay2Impl> RtpBasePay2ImplExt for T {}

fn imp_of<T: RtpBasePay2Impl>(obj: &RtpBasePay2) -> &T {
    // The class_init below only installs these trampolines on classes of type T (or its
    // subclasses), so every instance that reaches them is a T::Type.
    match obj.dynamic_cast_ref::<T::Type>() {
        Some(o) => o.imp(),
        None => unreachable!("vfunc of {} called on another type", T::NAME),
    }
}

// SAFETY: the class structure of this type is its `imp::Class` (`#[repr(C)]`, parent class
// first), which every subclass's class structure starts with; `class_init` only chains
// up and sets function pointers of this class.
unsafe impl<T: RtpBasePay2Impl> IsSubclassable<T> for RtpBasePay2 {
    fn class_init(class: &mut glib::Class<Self>) {
        Self::parent_class_init::<T>(class);
        let klass = class.as_mut();
        klass.allowed_meta_tags = T::ALLOWED_META_TAGS;
        klass.start = |obj| imp_of::<T>(obj).start();
        klass.stop = |obj| imp_of::<T>(obj).stop();
        klass.set_sink_caps = |obj, caps| imp_of::<T>(obj).set_sink_caps(caps);
        klass.handle_buffer = |obj, buffer| imp_of::<T>(obj).handle_buffer(buffer);
        klass.drain = |obj| imp_of::<T>(obj).drain();
        klass.flush = |obj| imp_of::<T>(obj).flush();
        klass.sink_event = |obj, event| imp_of::<T>(obj).sink_event(event);
        klass.src_event = |obj, event| imp_of::<T>(obj).src_event(event);
        klass.sink_query = |obj, query| imp_of::<T>(obj).sink_query(query);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A prefix longer than the capacity is an error, never cut (a FEC header cut short
    /// would corrupt the packet); up to the capacity the bytes are kept whole.
    #[test]
    fn oversize_prefix_is_an_error() {
        let ulpfec = [0xaau8; 18];
        assert_eq!(PayloadPrefix::new(&ulpfec).unwrap().as_slice(), &ulpfec[..]);
        let full = [1u8; PayloadPrefix::CAPACITY];
        assert_eq!(PayloadPrefix::new(&full).unwrap().as_slice(), &full[..]);
        assert_eq!(
            PayloadPrefix::new(&[0u8; PayloadPrefix::CAPACITY + 1]),
            Err(PrefixTooLong(PayloadPrefix::CAPACITY + 1))
        );
        let from_core = rtp2_core::nalpack::HeaderBytes::from_array([0x7c, 0x85, 0x01]);
        assert_eq!(
            PayloadPrefix::from(from_core).as_slice(),
            &[0x7c, 0x85, 0x01]
        );
    }
}
