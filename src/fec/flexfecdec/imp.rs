// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The decoder: repair packets (by payload type: the `pt` property, or the caps when they
//! describe the FlexFEC stream) are consumed and fed to an `rtp2_core` `FlexfecReceiver`;
//! media packets are forwarded unchanged at once and kept in its bounded windows; a packet
//! it rebuilds goes out whole (CSRCs, extension and padding as sent) right after the packet
//! that completed it. Time in the windows is the buffers' PTS in µs (`repair-window`, as
//! the SDP `repair-window` parameter of RFC 8627 §5.1.1). Media caps with an `ssrc` limit
//! recovery to that SSRC (repair packets for another are counted drops). `GstRTPPacketLost` events from a
//! jitterbuffer upstream are not passed on: a packet they announce may still be rebuilt,
//! and what is not shows as a sequence gap downstream.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::fec::flexfec_receiver::{FlexfecReceiver, FlexfecStats};
use rtp2_core::fec::recovery::{Recovered, WindowLimits};

use crate::base::extensions::lock;
use crate::base::filter::{
    FilterPacket, RtpBaseFilter2, RtpBaseFilter2Ext, RtpBaseFilter2Impl, RtpBaseFilter2ImplExt,
};
use crate::fec::flexfecenc::WireFormat;

/// Most media SSRCs recovered at once.
const MAX_SSRCS: usize = 16;
const DEFAULT_WINDOW_US: u64 = 1_000_000;
const DEFAULT_WINDOW_PACKETS: u32 = 512;

#[derive(Debug, Clone, Copy)]
struct Settings {
    pt: i32,
    wire_format: WireFormat,
    window_us: u64,
    window_packets: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            pt: -1,
            wire_format: WireFormat::default(),
            window_us: DEFAULT_WINDOW_US,
            window_packets: DEFAULT_WINDOW_PACKETS,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    receiver: Option<FlexfecReceiver>,
    /// FEC payload type from the caps (when `pt` is −1).
    caps_pt: Option<u8>,
    /// The media SSRC of media caps (their `ssrc` field): the one stream recovered.
    caps_ssrc: Option<u32>,
    /// Window time (µs of PTS) of the last packet, for packets without a PTS.
    last_time: u64,
}

pub struct RtpFlexFecDec {
    settings: Mutex<Settings>,
    /// The `pt` property as set (also in `settings`): read per packet without a lock.
    pt: AtomicI32,
    state: Mutex<State>,
}

impl Default for RtpFlexFecDec {
    fn default() -> Self {
        let settings = Settings::default();
        RtpFlexFecDec {
            pt: AtomicI32::new(settings.pt),
            settings: Mutex::new(settings),
            state: Mutex::default(),
        }
    }
}

impl RtpFlexFecDec {
    fn new_receiver(s: &Settings) -> FlexfecReceiver {
        let limits = WindowLimits {
            max_media: s.window_packets as usize,
            max_fec: (s.window_packets as usize / 2).max(1),
            max_age: s.window_us,
        };
        FlexfecReceiver::new(s.wire_format.into(), limits, MAX_SSRCS)
    }

    fn stats_now(&self) -> FlexfecStats {
        lock(&self.state)
            .receiver
            .as_ref()
            .map(|r| r.stats())
            .unwrap_or_default()
    }

    fn send(&self, recovered: Vec<Recovered>, pts: Option<gst::ClockTime>) {
        for r in recovered {
            let mut buffer = gst::Buffer::from_mut_slice(r.packet);
            if let Some(b) = buffer.get_mut() {
                b.set_pts(pts);
            }
            self.obj().emit_buffer(buffer, true);
        }
    }
}

#[glib::object_subclass]
impl ObjectSubclass for RtpFlexFecDec {
    const NAME: &'static str = "GstRtp2FlexFecDec";
    type Type = super::RtpFlexFecDec;
    type ParentType = RtpBaseFilter2;
}

impl ObjectImpl for RtpFlexFecDec {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecInt::builder("pt")
                    .nick("payload type")
                    .blurb("Payload type of the FEC packets (-1: from caps with encoding-name FLEXFEC-03 or FLEXFEC)")
                    .minimum(-1)
                    .maximum(127)
                    .default_value(-1)
                    .build(),
                glib::ParamSpecEnum::builder::<WireFormat>("wire-format")
                    .nick("Wire format")
                    .blurb("flexfec-03 (libwebrtc, Chrome) or RFC 8627 (caps with an encoding-name set it)")
                    .build(),
                glib::ParamSpecUInt64::builder("repair-window")
                    .nick("Repair window")
                    .blurb("How long packets are kept for recovery, in µs (caps field repair-window sets it)")
                    .minimum(1000)
                    .default_value(DEFAULT_WINDOW_US)
                    .build(),
                glib::ParamSpecUInt::builder("repair-window-packets")
                    .nick("Repair window packets")
                    .blurb("Most media packets kept per SSRC for recovery (FEC packets: half)")
                    .minimum(1)
                    .maximum(65536)
                    .default_value(DEFAULT_WINDOW_PACKETS)
                    .build(),
                glib::ParamSpecUInt::builder("recovered")
                    .nick("recovered")
                    .blurb("The number of recovered packets")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt::builder("unrecovered")
                    .nick("unrecovered")
                    .blurb("The number of lost packets not recovered")
                    .read_only()
                    .build(),
                glib::ParamSpecOverride::for_class::<RtpBaseFilter2>("stats"),
            ]
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        match pspec.name() {
            "pt" => {
                s.pt = value.get().unwrap_or(-1);
                self.pt.store(s.pt, Ordering::Relaxed);
            }
            "wire-format" => s.wire_format = value.get().unwrap_or_default(),
            "repair-window" => s.window_us = value.get().unwrap_or(DEFAULT_WINDOW_US),
            "repair-window-packets" => {
                s.window_packets = value.get().unwrap_or(DEFAULT_WINDOW_PACKETS)
            }
            _ => {}
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = *lock(&self.settings);
        let clamp = |v: u64| (v.min(u64::from(u32::MAX)) as u32).to_value();
        match pspec.name() {
            "pt" => s.pt.to_value(),
            "wire-format" => s.wire_format.to_value(),
            "repair-window" => s.window_us.to_value(),
            "repair-window-packets" => s.window_packets.to_value(),
            "recovered" => clamp(self.stats_now().recovered),
            "unrecovered" => clamp(self.stats_now().unrecovered),
            "stats" => {
                let st = self.stats_now();
                let held = lock(&self.state)
                    .receiver
                    .as_ref()
                    .map_or((0, 0, 0), |r| r.held());
                let mut base = self.obj().filter_stats();
                base.set("recovered", st.recovered);
                base.set("unrecovered", st.unrecovered);
                base.set("fec-received", st.fec_received);
                base.set("fec-dropped", st.fec_dropped);
                base.set("ssrcs-evicted", st.streams_evicted);
                base.set("held-ssrcs", held.0 as u64);
                base.set("held-media", held.1 as u64);
                base.set("held-fec", held.2 as u64);
                base.to_value()
            }
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for RtpFlexFecDec {}

crate::fec::fec_element_impl!(
    RtpFlexFecDec,
    "RTP FlexFEC Decoder",
    "Codec/Depayloader/Network/RTP",
    "Recovers RTP packets from FlexFEC repair packets (flexfec-03 or RFC 8627)"
);

impl RtpBaseFilter2Impl for RtpFlexFecDec {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let s = *lock(&self.settings);
        *lock(&self.state) = State {
            receiver: Some(Self::new_receiver(&s)),
            ..State::default()
        };
        Ok(())
    }

    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        if let Some(st) = caps.structure(0) {
            let name = st
                .get::<&str>("encoding-name")
                .ok()
                .map(str::to_ascii_uppercase);
            let fec_format = match name.as_deref() {
                Some("FLEXFEC-03") => Some(WireFormat::Flexfec03),
                Some("FLEXFEC") => Some(WireFormat::Rfc8627),
                _ => None,
            };
            // SDP repair-window (µs): a string in fmtp-derived caps, or a number.
            let window = st
                .get::<&str>("repair-window")
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .or_else(|| st.get::<u32>("repair-window").ok().map(u64::from))
                .or_else(|| st.get::<i32>("repair-window").ok().map(|v| v.max(0) as u64));
            let mut s = lock(&self.settings);
            if let Some(f) = fec_format {
                s.wire_format = f;
            }
            if let Some(w) = window.filter(|w| *w >= 1000) {
                s.window_us = w;
            }
            let s = *s;
            let caps_pt = fec_format
                .and(st.get::<i32>("payload").ok())
                .and_then(|p| u8::try_from(p).ok());
            let mut state = lock(&self.state);
            if fec_format.is_some() {
                state.caps_pt = caps_pt;
            } else {
                // Media caps name the media SSRC (or none: every SSRC is recovered).
                state.caps_ssrc = st
                    .get::<u32>("ssrc")
                    .ok()
                    .or_else(|| st.get::<i32>("ssrc").ok().map(|v| v as u32));
            }
            // A new format or window: the receiver starts again (its counters carried over).
            let stats = state.receiver.as_ref().map(|r| r.stats());
            let mut receiver = Self::new_receiver(&s);
            if let Some(stats) = stats {
                receiver.carry_stats(stats);
            }
            receiver.set_protected_ssrc(state.caps_ssrc);
            state.receiver = Some(receiver);
        }
        self.parent_set_sink_caps(caps)
    }

    fn handle_packet(&self, packet: &FilterPacket) -> Result<gst::FlowSuccess, gst::FlowError> {
        let pt = self.pt.load(Ordering::Relaxed);
        let pts = packet.buffer().pts();
        let (is_fec, result) = {
            let mut state = lock(&self.state);
            let fec_pt = u8::try_from(pt).ok().or(state.caps_pt);
            let is_fec = fec_pt == Some(packet.payload_type());
            let time = match pts {
                Some(t) => t.useconds(),
                None => state.last_time,
            };
            state.last_time = time;
            let fec_ssrc_in_caps = is_fec && state.caps_ssrc == Some(packet.ssrc());
            if fec_ssrc_in_caps {
                // The caps named the repair stream's SSRC, not the media's: no limit.
                state.caps_ssrc = None;
            }
            let Some(receiver) = state.receiver.as_mut() else {
                drop(state);
                self.obj().forward(packet);
                return Ok(gst::FlowSuccess::Ok);
            };
            if fec_ssrc_in_caps {
                receiver.set_protected_ssrc(None);
            }
            let result = if is_fec {
                receiver.on_fec(packet.data(), time)
            } else {
                Ok(receiver.on_media(packet.data(), time))
            };
            (is_fec, result)
        };
        if !is_fec {
            self.obj().forward(packet);
        }
        match result {
            Ok(recovered) => self.send(recovered, pts),
            Err(err) => self.obj().drop_invalid(&err),
        }
        Ok(gst::FlowSuccess::Ok)
    }

    fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        let recovered = lock(&self.state)
            .receiver
            .as_mut()
            .map(|r| r.finish())
            .unwrap_or_default();
        self.send(recovered, None);
        Ok(gst::FlowSuccess::Ok)
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::CustomDownstream(c) = event.view()
            && c.structure()
                .is_some_and(|s| s.name() == "GstRTPPacketLost")
        {
            return true;
        }
        self.parent_sink_event(event)
    }

    fn flush(&self) {
        if let Some(r) = lock(&self.state).receiver.as_mut() {
            r.clear();
        }
    }
}
