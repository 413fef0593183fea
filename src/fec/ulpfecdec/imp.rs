// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The decoder: per SSRC (at most [`MAX_SSRCS`], the least recently seen forgotten) an
//! `UlpfecReceiver` decides; media goes out on a `FollowInput` stream of that SSRC with the
//! FEC packets taken out of the numbering, recovered packets go out whole with their output
//! sequence number. `GstRTPPacketLost` events from a jitterbuffer upstream are not passed
//! on: they name input sequence numbers, and the output numbering shows media losses itself.
//! Inside `rtpbin` the FEC packets reach another decoder instance (`peers`), which hands
//! them to this one.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasherDefault;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::fec::SsrcHasher;
use rtp2_core::fec::receiver::{Actions, ReceiverStats, UlpfecReceiver};
use rtp2_core::fec::recovery::WindowLimits;

use super::peers;
use super::ssrc::Ssrc;
use crate::base::extensions::lock;
use crate::base::filter::{
    FilterPacket, OutputStream, Rewrite, RtpBaseFilter2, RtpBaseFilter2Ext, RtpBaseFilter2Impl,
    RtpBaseFilter2ImplExt, Seqnums, StreamId,
};

/// Most SSRCs followed at once.
const MAX_SSRCS: usize = 16;
const DEFAULT_MAX_PACKETS: u32 = 512;
const DEFAULT_MAX_TIME: u64 = 1_000_000_000;

#[derive(Debug, Clone)]
pub(super) struct Settings {
    pt: u32,
    passthrough: bool,
    max_packets: u32,
    max_time: u64,
    /// Address of the `storage` given (C's `rtpstorage`, one per `rtpbin` session): not
    /// read, not kept (a GObject of C's plugin, not `Send`); it names the decoder's group.
    pub(super) storage: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            pt: 0,
            passthrough: false,
            max_packets: DEFAULT_MAX_PACKETS,
            max_time: DEFAULT_MAX_TIME,
            storage: None,
        }
    }
}

#[derive(Default)]
pub(super) struct State {
    pub(super) ssrcs: HashMap<u32, Ssrc, BuildHasherDefault<SsrcHasher>>,
    /// Output streams of forgotten SSRCs, reused (their numbering shift restarts).
    spare_streams: Vec<StreamId>,
    clock_rate: u32,
    uses: u64,
    /// Counters of forgotten SSRCs.
    retired: ReceiverStats,
    /// `payload` of the sink caps (after `rtpbin`'s payload-type demuxer: the one type
    /// this pad receives).
    pub(super) caps_payload: Option<i32>,
    /// SSRCs forgotten whose entry among the peers is still to be removed.
    forgotten: Vec<u32>,
}

impl State {
    fn totals(&self) -> ReceiverStats {
        self.ssrcs.values().fold(self.retired, |mut t, s| {
            let r = s.receiver.stats();
            t.recovered += r.recovered;
            t.unrecovered += r.unrecovered;
            t.fec_lost += r.fec_lost;
            t.fec_received += r.fec_received;
            t.uncertain += r.uncertain;
            t
        })
    }
}

#[derive(Default)]
pub struct RtpUlpFecDec {
    pub(super) settings: Mutex<Settings>,
    pub(super) state: Mutex<State>,
}

impl RtpUlpFecDec {
    /// The receiver of `ssrc`, made (and a stream found) when new. `None`: no stream.
    pub(super) fn with_receiver<R>(&self, ssrc: u32, f: impl FnOnce(&mut Ssrc) -> R) -> Option<R> {
        {
            // The usual case, one lookup.
            let mut state = lock(&self.state);
            state.uses += 1;
            let uses = state.uses;
            if let Some(entry) = state.ssrcs.get_mut(&ssrc) {
                entry.last_use = uses;
                return Some(f(entry));
            }
        }
        // A new SSRC (settings locked before state, as everywhere).
        let settings = lock(&self.settings).clone();
        let mut state = lock(&self.state);
        let uses = state.uses;
        if !state.ssrcs.contains_key(&ssrc) {
            if state.ssrcs.len() >= MAX_SSRCS
                && let Some(oldest) = state
                    .ssrcs
                    .iter()
                    .min_by_key(|(_, s)| s.last_use)
                    .map(|(k, _)| *k)
                && let Some(old) = state.ssrcs.remove(&oldest)
            {
                let r = old.receiver.stats();
                state.retired.recovered += r.recovered;
                state.retired.unrecovered += r.unrecovered;
                state.retired.fec_lost += r.fec_lost;
                state.retired.fec_received += r.fec_received;
                state.retired.uncertain += r.uncertain;
                state.spare_streams.push(old.stream);
                if old.media_seen {
                    state.forgotten.push(oldest);
                }
            }
            let stream = state.spare_streams.pop()?;
            let rate = u64::from(state.clock_rate.max(1));
            let limits = WindowLimits {
                max_media: settings.max_packets as usize,
                max_fec: (settings.max_packets as usize / 2).max(1),
                max_age: settings.max_time.saturating_mul(rate) / 1_000_000_000,
            };
            state.ssrcs.insert(
                ssrc,
                Ssrc {
                    receiver: UlpfecReceiver::new(ssrc, limits),
                    stream,
                    last_use: uses,
                    last_ext: (0, 0),
                    media_seen: false,
                    frame_pts: VecDeque::new(),
                },
            );
        }
        let entry = state.ssrcs.get_mut(&ssrc)?;
        entry.last_use = uses;
        Some(f(entry))
    }
}

impl RtpUlpFecDec {
    /// Carries out a receiver's decisions (no lock held): numbers taken out, packets sent,
    /// the current packet forwarded.
    pub(super) fn apply(
        &self,
        stream: StreamId,
        actions: Actions,
        output_pts: Vec<Option<gst::ClockTime>>,
        pts: Option<gst::ClockTime>,
        current: Option<&FilterPacket>,
    ) {
        let obj = self.obj();
        if actions.skip > 0 {
            obj.skip_in_stream(stream, actions.skip);
        }
        for (i, r) in actions.output.into_iter().enumerate() {
            let rebuilt = r.rebuilt;
            let mut buffer = gst::Buffer::from_mut_slice(r.packet);
            if let Some(b) = buffer.get_mut() {
                // Its frame's PTS (a held or rebuilt packet leaves after later ones came).
                b.set_pts(output_pts.get(i).copied().flatten().or(pts));
                if i == 0 && actions.discont {
                    // Media may be missing before it (receiver.rs: an uncertain number).
                    b.set_flags(gst::BufferFlags::DISCONT);
                }
            }
            obj.emit_buffer(buffer, rebuilt);
        }
        if let Some(err) = actions.invalid {
            obj.drop_invalid(&err);
        }
        if let Some(packet) = current
            && actions.forward_current
        {
            obj.forward_on(packet, stream, Rewrite::default());
        }
    }
}

#[glib::object_subclass]
impl ObjectSubclass for RtpUlpFecDec {
    const NAME: &'static str = "GstRtp2UlpFecDec";
    type Type = super::RtpUlpFecDec;
    type ParentType = RtpBaseFilter2;
}

impl ObjectImpl for RtpUlpFecDec {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecUInt::builder("pt")
                    .nick("pt")
                    .blurb("FEC packets payload type")
                    .maximum(127)
                    .build(),
                glib::ParamSpecObject::builder::<glib::Object>("storage")
                    .nick("RTP storage")
                    .blurb("RTP storage (accepted for compatibility, not needed: the decoder keeps its own store)")
                    .build(),
                glib::ParamSpecBoolean::builder("passthrough")
                    .nick("Passthrough")
                    .blurb("Whether to passthrough all data as-is without modification and never attempt to recover packets")
                    .build(),
                glib::ParamSpecUInt::builder("recovered")
                    .nick("recovered")
                    .blurb("The number of recovered packets")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt::builder("unrecovered")
                    .nick("unrecovered")
                    .blurb("The number of unrecovered packets")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt::builder("max-stored-packets")
                    .nick("Max stored packets")
                    .blurb("Most media packets kept per SSRC for recovery (FEC packets: half)")
                    .minimum(1)
                    .maximum(65536)
                    .default_value(DEFAULT_MAX_PACKETS)
                    .build(),
                glib::ParamSpecUInt64::builder("max-stored-time")
                    .nick("Max stored time")
                    .blurb("Oldest packet kept for recovery, in ns of RTP time behind the newest")
                    .minimum(1_000_000)
                    .default_value(DEFAULT_MAX_TIME)
                    .build(),
            ]
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        match pspec.name() {
            "pt" => s.pt = value.get().unwrap_or(0),
            // Accepted and not kept: the decoder has a store of its own.
            "storage" => {
                s.storage = value
                    .get::<Option<glib::Object>>()
                    .ok()
                    .flatten()
                    .map(|o| o.as_ptr() as usize)
            }
            "passthrough" => s.passthrough = value.get().unwrap_or(false),
            "max-stored-packets" => s.max_packets = value.get().unwrap_or(DEFAULT_MAX_PACKETS),
            "max-stored-time" => s.max_time = value.get().unwrap_or(DEFAULT_MAX_TIME),
            _ => {}
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = lock(&self.settings).clone();
        let totals = lock(&self.state).totals();
        match pspec.name() {
            "pt" => s.pt.to_value(),
            "storage" => None::<glib::Object>.to_value(),
            "passthrough" => s.passthrough.to_value(),
            "recovered" => (totals.recovered.min(u64::from(u32::MAX)) as u32).to_value(),
            "unrecovered" => (totals.unrecovered.min(u64::from(u32::MAX)) as u32).to_value(),
            "max-stored-packets" => s.max_packets.to_value(),
            "max-stored-time" => s.max_time.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for RtpUlpFecDec {}

crate::fec::fec_element_impl!(
    RtpUlpFecDec,
    "RTP FEC Decoder (ULPFEC)",
    "Codec/Depayloader/Network/RTP",
    "Decodes RTP FEC (RFC 5109) carried inside the media stream"
);

impl RtpBaseFilter2Impl for RtpUlpFecDec {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let streams: Vec<StreamId> = (0..MAX_SSRCS)
            .map(|_| {
                self.obj().add_output_stream(OutputStream {
                    ssrc: None,
                    payload_type: None,
                    seqnums: Seqnums::FollowInput,
                })
            })
            .collect();
        *lock(&self.state) = State {
            spare_streams: streams,
            clock_rate: 90_000,
            ..State::default()
        };
        Ok(())
    }

    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        let s = caps.structure(0);
        let payload = s.and_then(|s| s.get::<i32>("payload").ok());
        let rate = s
            .and_then(|s| s.get::<i32>("clock-rate").ok())
            .and_then(|r| u32::try_from(r).ok())
            .filter(|r| *r > 0);
        let mut state = lock(&self.state);
        state.caps_payload = payload;
        if let Some(rate) = rate {
            state.clock_rate = rate;
        }
        drop(state);
        self.obj().set_src_caps(caps)
    }

    fn handle_packet(&self, packet: &FilterPacket) -> Result<gst::FlowSuccess, gst::FlowError> {
        let (pt, passthrough) = {
            let s = lock(&self.settings);
            (s.pt, s.passthrough)
        };
        if passthrough {
            self.obj().forward(packet);
            return Ok(gst::FlowSuccess::Ok);
        }
        let is_fec = u32::from(packet.payload_type()) == pt;
        if is_fec && let Some(peer) = self.media_peer(packet.ssrc(), pt) {
            // rtpbin: the media comes through `peer`; the recovered packets leave there.
            peer.imp().take_peer_fec(packet);
            let _ = peer.finish_pending();
            return Ok(gst::FlowSuccess::Ok);
        }
        let (ext, ts) = (packet.ext_seqnum(), packet.ext_timestamp());
        let result = self.with_receiver(packet.ssrc(), |s| {
            s.last_ext = (ext, ts);
            let first_media = !is_fec && !s.media_seen;
            s.media_seen |= !is_fec;
            let actions = if is_fec {
                s.receiver.on_fec(ext, ts, packet.payload())
            } else {
                s.note_pts(packet.timestamp(), packet.buffer().pts());
                s.receiver.on_media(ext, ts, packet.data())
            };
            (s.stream, s.output_pts(&actions), actions, first_media)
        });
        let Some((stream, output_pts, actions, first_media)) = result else {
            self.obj().forward(packet);
            return Ok(gst::FlowSuccess::Ok);
        };
        if first_media {
            // Bounded: an SSRC is forgotten only when a new one comes, at most 16 of them
            // having seen media.
            let forgotten = std::mem::take(&mut lock(&self.state).forgotten);
            if let Some(group) = self.group() {
                for ssrc in forgotten {
                    peers::forget(group, ssrc, &self.obj());
                }
                peers::register(group, packet.ssrc(), &self.obj());
            }
        }
        self.apply(
            stream,
            actions,
            output_pts,
            packet.buffer().pts(),
            Some(packet),
        );
        Ok(gst::FlowSuccess::Ok)
    }

    fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        let pending: Vec<_> = lock(&self.state)
            .ssrcs
            .values_mut()
            .map(|s| {
                let actions = s.receiver.finish();
                (s.stream, s.output_pts(&actions), actions)
            })
            .collect();
        for (stream, output_pts, actions) in pending {
            self.apply(stream, actions, output_pts, None, None);
        }
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

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        peers::unregister(&self.obj());
        self.parent_stop()
    }

    fn flush(&self) {
        for s in lock(&self.state).ssrcs.values_mut() {
            s.receiver.clear();
        }
    }
}
