// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! GObject implementation of `RtpBaseFilter2`.

use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::rtp::RtpPacket;

use super::emit::rewritten_in_place;
use super::output::{HeaderFields, StreamState};
use super::{FilterPacket, OutputStream, StreamId};
use crate::base::extensions::lock;
use crate::base::plumbing::{
    GuardedPadFunctions, add_pads, element_class_deref, pad_template, vfuncs_of,
};

use super::input::InputStreams;
use crate::base::input_map::InputMap;
use crate::base::rtp_in::{DEFAULT_MAX_REORDER, Verdict, max_reorder_pspec, report_bad_input};

pub(super) type FlowResult = Result<gst::FlowSuccess, gst::FlowError>;

/// Class structure with the virtual methods (filled through `IsSubclassable`, see `mod.rs`).
#[repr(C)]
pub struct Class {
    parent: gst::ffi::GstElementClass,
    pub(super) start: fn(&super::RtpBaseFilter2) -> Result<(), gst::ErrorMessage>,
    pub(super) stop: fn(&super::RtpBaseFilter2) -> Result<(), gst::ErrorMessage>,
    pub(super) set_sink_caps: fn(&super::RtpBaseFilter2, &gst::Caps) -> bool,
    pub(super) handle_packet: fn(&super::RtpBaseFilter2, &FilterPacket) -> FlowResult,
    pub(super) drain: fn(&super::RtpBaseFilter2) -> FlowResult,
    pub(super) flush: fn(&super::RtpBaseFilter2),
    pub(super) sink_event: fn(&super::RtpBaseFilter2, gst::Event) -> bool,
    pub(super) src_event: fn(&super::RtpBaseFilter2, gst::Event) -> bool,
}

// SAFETY: `#[repr(C)]` with the parent class structure first, as GObject requires.
unsafe impl ClassStruct for Class {
    type Type = RtpBaseFilter2;
}

element_class_deref!(Class);

/// Counters of the output side (the input side's are `InputStreams::stats`).
#[derive(Debug, Default)]
pub(super) struct Stats {
    /// Packets the subclass rejected ([`super::RtpBaseFilter2Ext::drop_invalid`]).
    pub(super) dropped_payload: u64,
    pub(super) packets_forwarded: u64,
    pub(super) packets_rewritten: u64,
    pub(super) packets_emitted: u64,
    pub(super) packets_recovered: u64,
    pub(super) packets_consumed: u64,
    pub(super) packets_pushed: u64,
}

/// The input packet being handled (or the last one), for packets emitted from it.
#[derive(Debug, Clone, Copy)]
pub(super) struct InputContext {
    pub(super) ssrc: u32,
    pub(super) payload_type: u8,
    pub(super) ext_seqnum: u64,
    pub(super) pts: Option<gst::ClockTime>,
}

#[derive(Debug)]
pub(super) struct State {
    pub(super) input: InputStreams,
    pub(super) streams: Vec<StreamState>,
    pub(super) current: Option<InputContext>,
    /// The subclass forwarded (or rewrote) the packet being handled.
    pub(super) current_used: bool,
    pub(super) src_caps: Option<gst::Caps>,
    pub(super) pending: Vec<gst::Buffer>,
    /// The input packet being handled goes out rewritten in place (it is writable): its
    /// index in `pending` (where it is inserted) and its header fields, applied once the
    /// subclass has returned and the input is no longer mapped.
    pub(super) rewrite_input: Option<(usize, HeaderFields)>,
    pub(super) last_seqnum: u16,
    pub(super) stats: Stats,
}

impl State {
    fn new(max_reorder: u32) -> Self {
        State {
            input: InputStreams::new(max_reorder),
            streams: Vec::new(),
            current: None,
            current_used: false,
            src_caps: None,
            pending: Vec::new(),
            rewrite_input: None,
            last_seqnum: 0,
            stats: Stats::default(),
        }
    }
}

/// Lock rule: no signal is emitted, no pad pushes, no message is posted and no vfunc of
/// another object runs while `state` or `max_reorder` is locked: compute under the lock, act
/// after it. The subclass's vfuncs run with no lock of the base class held.
pub struct RtpBaseFilter2 {
    sink_pad: gst::Pad,
    pub(super) src_pad: gst::Pad,
    max_reorder: Mutex<u32>,
    pub(super) state: Mutex<State>,
}

impl RtpBaseFilter2 {
    pub(super) fn src_pad(&self) -> &gst::Pad {
        &self.src_pad
    }

    /// Whether `pad` is this element's input (see `crate::base::hands_input_to_tracer`).
    pub(in crate::base) fn is_sink_pad(&self, pad: &gst::Pad) -> bool {
        self.sink_pad == *pad
    }

    fn vfuncs(&self) -> &'static Class {
        vfuncs_of(self)
    }

    pub(super) fn add_output_stream(&self, stream: OutputStream) -> StreamId {
        let mut state = lock(&self.state);
        state.streams.push(StreamState::new(stream));
        StreamId(state.streams.len() - 1)
    }

    pub(super) fn drop_invalid(&self, reason: &dyn std::fmt::Display) {
        report_bad_input(self.obj().upcast_ref(), &self.state, reason, |state| {
            // Counted as a rejected payload, not as consumed.
            state.current_used = true;
            state.stats.dropped_payload += 1;
            state.input.general()
        });
    }

    /// Input that is not RTP: counted, warned about (rate-limited), dropped.
    fn bad_input(&self, reason: &dyn std::fmt::Display) {
        report_bad_input(self.obj().upcast_ref(), &self.state, reason, |state| {
            state.input.general().count_invalid()
        });
    }

    pub(super) fn set_src_caps(&self, caps: &gst::Caps) -> bool {
        {
            let mut state = lock(&self.state);
            if state.src_caps.as_ref() == Some(caps) {
                return true;
            }
            state.src_caps = Some(caps.clone());
        }
        gst::debug!(crate::CAT, imp = self, "Output caps {caps}");
        self.src_pad.push_event(gst::event::Caps::new(caps))
    }

    /// Validates one packet, tracks its SSRC's sequence numbers and hands it to the subclass.
    fn handle_buffer(&self, buffer: gst::Buffer) -> FlowResult {
        let (res, rewrite) = self.handle_mapped(&buffer);
        if let Some((index, fields)) = rewrite {
            let out = rewritten_in_place(buffer, &fields);
            let failed = {
                let mut state = lock(&self.state);
                match out {
                    Some(out) => {
                        let index = index.min(state.pending.len());
                        state.pending.insert(index, out);
                        false
                    }
                    None => {
                        state.stats.packets_rewritten =
                            state.stats.packets_rewritten.saturating_sub(1);
                        true
                    }
                }
            };
            if failed {
                self.bad_input(&"unwritable buffer");
            }
        }
        res
    }

    /// Handles one input packet; returns the subclass's result and the in-place rewrite of
    /// the input it asked for (taken under the same lock as the consumed count).
    fn handle_mapped(&self, buffer: &gst::Buffer) -> (FlowResult, Option<(usize, HeaderFields)>) {
        let Some(map) = InputMap::new(buffer) else {
            self.bad_input(&"unreadable buffer");
            return (Ok(gst::FlowSuccess::Ok), None);
        };
        // As in the depayloader: the `rtp-metrics` tracer accounts the packet from this map
        // when it noted the push.
        crate::tracer::handoff::mapped_input(buffer, &self.sink_pad, map.as_slice());
        let rtp = match RtpPacket::parse(map.as_slice()) {
            Ok(rtp) => rtp,
            Err(err) => {
                self.bad_input(&format_args!("invalid RTP packet: {err}"));
                return (Ok(gst::FlowSuccess::Ok), None);
            }
        };
        let verdict = {
            let mut state = lock(&self.state);
            let verdict = state.input.check(self.obj().upcast_ref(), &rtp);
            if let Verdict::Accept(accepted) = verdict {
                state.last_seqnum = rtp.sequence_number();
                state.current = Some(InputContext {
                    ssrc: rtp.ssrc(),
                    payload_type: rtp.payload_type(),
                    ext_seqnum: accepted.ext_seqnum,
                    pts: buffer.pts(),
                });
                state.current_used = false;
            }
            verdict
        };
        // Late and duplicate packets were counted and logged by the input side.
        let Verdict::Accept(accepted) = verdict else {
            return (Ok(gst::FlowSuccess::Ok), None);
        };
        let packet = FilterPacket {
            rtp,
            buffer,
            ext_seqnum: accepted.ext_seqnum,
            ext_timestamp: accepted.ext_timestamp,
            discont: accepted.discont,
        };
        let res = (self.vfuncs().handle_packet)(&self.obj(), &packet);
        let mut state = lock(&self.state);
        if !state.current_used {
            state.stats.packets_consumed += 1;
        }
        (res, state.rewrite_input.take())
    }

    fn sink_chain(&self, buffer: gst::Buffer) -> FlowResult {
        let res = self.handle_buffer(buffer);
        let pushed = self.push_pending();
        res.and(pushed)
    }

    fn sink_chain_list(&self, mut list: gst::BufferList) -> FlowResult {
        let mut res = Ok(gst::FlowSuccess::Ok);
        // The packets are taken out of the list (not shared with it), so that a forwarded
        // packet the filter alone holds stays writable downstream.
        for buffer in list.make_mut().drain(..) {
            res = self.handle_buffer(buffer);
            if res.is_err() {
                break;
            }
        }
        let pushed = self.push_pending();
        res.and(pushed)
    }

    fn default_sink_event(&self, event: gst::Event) -> bool {
        use gst::EventView;
        match event.view() {
            EventView::Caps(c) => {
                let caps = c.caps_owned();
                (self.vfuncs().set_sink_caps)(&self.obj(), &caps)
            }
            EventView::FlushStop(_) => {
                (self.vfuncs().flush)(&self.obj());
                {
                    let mut state = lock(&self.state);
                    state.pending.clear();
                    state.input.reset();
                }
                self.src_pad.push_event(event)
            }
            EventView::Eos(_) => {
                let res = (self.vfuncs().drain)(&self.obj());
                let pushed = self.push_pending();
                if let Err(err) = res.and(pushed) {
                    gst::debug!(crate::CAT, imp = self, "Drain at EOS: {err:?}");
                }
                self.src_pad.push_event(event)
            }
            _ => gst::Pad::event_default(&self.sink_pad, Some(&*self.obj()), event),
        }
    }

    pub(super) fn stats(&self) -> gst::Structure {
        let state = lock(&self.state);
        let s = &state.stats;
        let builder = gst::Structure::builder("application/x-rtp-filter-stats")
            .field("ssrc", state.current.map_or(0, |c| c.ssrc))
            .field("seqnum", u32::from(state.last_seqnum));
        state
            .input
            .stats()
            .add_fields(builder)
            .field("dropped-payload", s.dropped_payload)
            .field("packets-forwarded", s.packets_forwarded)
            .field("packets-rewritten", s.packets_rewritten)
            .field("packets-emitted", s.packets_emitted)
            .field("packets-recovered", s.packets_recovered)
            .field("packets-consumed", s.packets_consumed)
            .field("packets-pushed", s.packets_pushed)
            .build()
    }

    fn reset_state(&self) {
        let max_reorder = *lock(&self.max_reorder);
        *lock(&self.state) = State::new(max_reorder);
    }
}

#[glib::object_subclass]
impl ObjectSubclass for RtpBaseFilter2 {
    const NAME: &'static str = "GstRtp2BaseFilter";
    const ABSTRACT: bool = true;
    type Type = super::RtpBaseFilter2;
    type ParentType = gst::Element;
    type Class = Class;

    fn class_init(klass: &mut Self::Class) {
        klass.start = |_| Ok(());
        klass.stop = |_| Ok(());
        klass.set_sink_caps = |obj, caps| obj.imp().set_src_caps(caps);
        klass.handle_packet = |obj, packet| {
            obj.imp().forward(packet);
            Ok(gst::FlowSuccess::Ok)
        };
        klass.drain = |_| Ok(gst::FlowSuccess::Ok);
        klass.flush = |_| {};
        klass.sink_event = |obj, event| obj.imp().default_sink_event(event);
        klass.src_event =
            |obj, event| gst::Pad::event_default(&obj.imp().src_pad, Some(obj), event);
    }

    fn with_class(klass: &Self::Class) -> Self {
        let sink_templ = pad_template(klass, "sink", "filter");
        let sink_pad = gst::Pad::builder_from_template(&sink_templ)
            .guarded_chain(Self::sink_chain)
            .guarded_chain_list(Self::sink_chain_list)
            .guarded_event(|imp: &Self, event| (imp.vfuncs().sink_event)(&imp.obj(), event))
            .flags(gst::PadFlags::PROXY_CAPS | gst::PadFlags::PROXY_ALLOCATION)
            .build();
        let src_templ = pad_template(klass, "src", "filter");
        let src_pad = gst::Pad::builder_from_template(&src_templ)
            .guarded_event(|imp: &Self, event| (imp.vfuncs().src_event)(&imp.obj(), event))
            .flags(gst::PadFlags::PROXY_CAPS)
            .build();
        RtpBaseFilter2 {
            sink_pad,
            src_pad,
            max_reorder: Mutex::new(DEFAULT_MAX_REORDER),
            state: Mutex::new(State::new(DEFAULT_MAX_REORDER)),
        }
    }
}

impl ObjectImpl for RtpBaseFilter2 {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                max_reorder_pspec(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb("Various statistics")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        if pspec.name() == "max-reorder" {
            let max_reorder = u32::try_from(value.get::<i32>().unwrap_or(0)).unwrap_or(0);
            *lock(&self.max_reorder) = max_reorder;
            lock(&self.state).input.set_max_reorder(max_reorder);
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "max-reorder" => (*lock(&self.max_reorder) as i32).to_value(),
            "stats" => self.stats().to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        add_pads(&*self.obj(), &self.sink_pad, &self.src_pad);
    }
}

impl GstObjectImpl for RtpBaseFilter2 {}

impl ElementImpl for RtpBaseFilter2 {
    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::ReadyToPaused {
            self.reset_state();
            if let Err(err) = (self.vfuncs().start)(&self.obj()) {
                self.post_error_message(err);
                return Err(gst::StateChangeError);
            }
        }
        let res = self.parent_change_state(transition)?;
        if transition == gst::StateChange::PausedToReady {
            if let Err(err) = (self.vfuncs().stop)(&self.obj()) {
                self.post_error_message(err);
            }
            self.reset_state();
        }
        Ok(res)
    }
}
