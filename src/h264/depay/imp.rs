// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! GObject implementation of `rtph264depay2`: feeds packets to the core depacketizer,
//! assembles access units (marker bit or timestamp change), inserts parameter sets before IDR
//! pictures that lack them, and outputs byte-stream or avc, au or nal aligned.

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::h264::depacketizer::{
    DepacketizerConfig, DropReason, H264Depacketizer, NalData, OutputNal,
};
use rtp2_core::h264::params::{AvcDecoderConfig, parse_sprop_parameter_sets, pps_id, sps_id};
use rtp2_core::h264::{NAL_IDR, NAL_PPS, NAL_SPS, nal_type};

use crate::basedepay::{IncomingPacket, KeyframePolicy, RtpBaseDepay2Ext, RtpBaseDepay2Impl};
use crate::hdrext::lock;

const START_CODE: [u8; 4] = [0, 0, 0, 1];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutputFormat {
    ByteStream,
    Avc,
}

/// One NAL unit of the access unit being assembled.
#[derive(Debug)]
struct AuNal {
    kind: u8,
    buffer: gst::Buffer,
}

#[derive(Debug)]
struct State {
    depacketizer: H264Depacketizer,
    format: OutputFormat,
    au_aligned: bool,
    sps: BTreeMap<u32, Vec<u8>>,
    pps: BTreeMap<u32, Vec<u8>>,
    /// The avc codec_data must be (re)sent.
    caps_dirty: bool,
    au: Vec<AuNal>,
    au_timestamp: Option<u64>,
    policy: KeyframePolicy,
}

impl Default for State {
    fn default() -> Self {
        State {
            depacketizer: H264Depacketizer::default(),
            format: OutputFormat::ByteStream,
            au_aligned: true,
            sps: BTreeMap::new(),
            pps: BTreeMap::new(),
            caps_dirty: true,
            au: Vec::new(),
            au_timestamp: None,
            policy: KeyframePolicy::default(),
        }
    }
}

#[derive(Default)]
pub struct RtpH264Depay {
    settings: Mutex<KeyframePolicy>,
    state: Mutex<State>,
}

/// Remembers an SPS/PPS by id; true when new or changed.
fn cache(state: &mut State, nal: &[u8]) -> bool {
    let (map, id) = match nal_type(nal[0]) {
        NAL_SPS => (&mut state.sps, sps_id(nal)),
        NAL_PPS => (&mut state.pps, pps_id(nal)),
        _ => return false,
    };
    let Some(id) = id else {
        return false;
    };
    if map.get(&id).is_some_and(|old| old == nal) {
        return false;
    }
    map.insert(id, nal.to_vec());
    true
}

impl RtpH264Depay {
    fn output_caps(&self, state: &State) -> Option<gst::Caps> {
        let mut builder = gst::Caps::builder("video/x-h264")
            .field(
                "stream-format",
                match state.format {
                    OutputFormat::ByteStream => "byte-stream",
                    OutputFormat::Avc => "avc",
                },
            )
            .field("alignment", if state.au_aligned { "au" } else { "nal" });
        if state.format == OutputFormat::Avc {
            if state.sps.is_empty() || state.pps.is_empty() {
                return None;
            }
            let sps: Vec<Vec<u8>> = state.sps.values().cloned().collect();
            let pps: Vec<Vec<u8>> = state.pps.values().cloned().collect();
            builder = builder.field(
                "codec_data",
                gst::Buffer::from_mut_slice(AvcDecoderConfig::build(&sps, &pps)),
            );
        }
        Some(builder.build())
    }

    /// Takes the NAL units of a packet (or of the drain) into access units.
    fn take_nals(&self, state: &mut State, nals: Vec<OutputNal>, packet: Option<&IncomingPacket>) {
        for nal in nals {
            let buffer = match nal.data {
                NalData::Payload(range) => match packet.and_then(|p| p.payload_subbuffer(range)) {
                    Some(b) => b,
                    None => continue,
                },
                NalData::Owned(bytes) => gst::Buffer::from_mut_slice(bytes),
            };
            let kind = {
                let Ok(map) = buffer.map_readable() else {
                    continue;
                };
                let Some(&header) = map.first() else {
                    continue;
                };
                if matches!(nal_type(header), NAL_SPS | NAL_PPS) && cache(state, &map) {
                    state.caps_dirty = true;
                }
                nal_type(header)
            };
            if state.au_timestamp.is_some_and(|ts| ts != nal.timestamp) {
                self.finish_au(state);
            }
            state.au_timestamp = Some(nal.timestamp);
            state.au.push(AuNal { kind, buffer });
            if nal.marker {
                self.finish_au(state);
            }
        }
    }

    /// Outputs the access unit assembled so far.
    fn finish_au(&self, state: &mut State) {
        let Some(timestamp) = state.au_timestamp.take() else {
            return;
        };
        let mut nals = std::mem::take(&mut state.au);
        if nals.is_empty() {
            return;
        }
        let keyframe = nals.iter().any(|n| n.kind == NAL_IDR);
        if keyframe {
            let has_sps = nals.iter().any(|n| n.kind == NAL_SPS);
            let has_pps = nals.iter().any(|n| n.kind == NAL_PPS);
            let known = !state.sps.is_empty() && !state.pps.is_empty();
            let in_au = has_sps && has_pps;
            if known && !in_au {
                // Parameter sets from sprop-parameter-sets or earlier in the stream go in
                // front of an IDR picture that came without them.
                let sets = state.sps.values().chain(state.pps.values()).map(|s| AuNal {
                    kind: nal_type(s[0]),
                    buffer: gst::Buffer::from_mut_slice(s.clone()),
                });
                nals = sets.chain(nals).collect();
            }
        }
        if !state.policy.admit(keyframe) {
            gst::debug!(
                crate::CAT,
                imp = self,
                "Waiting for a keyframe: dropping a delta unit"
            );
            return;
        }
        if state.caps_dirty {
            match self.output_caps(state) {
                Some(caps) => {
                    state.caps_dirty = false;
                    self.obj().set_src_caps(&caps);
                }
                None => {
                    gst::debug!(
                        crate::CAT,
                        imp = self,
                        "No SPS/PPS yet for avc output: dropping"
                    );
                    return;
                }
            }
        }
        let obj = self.obj();
        if state.au_aligned {
            let mut out = gst::Buffer::new();
            for nal in nals {
                out.append(self.prefixed(state.format, nal.buffer));
            }
            set_delta(&mut out, !keyframe);
            obj.push_output(out, timestamp);
        } else {
            let count = nals.len();
            for (i, nal) in nals.into_iter().enumerate() {
                let mut out = self.prefixed(state.format, nal.buffer);
                set_delta(&mut out, !keyframe);
                if i + 1 == count {
                    let marker = gst::BufferFlags::MARKER;
                    out.make_mut().set_flags(marker);
                }
                obj.push_output(out, timestamp);
            }
        }
    }

    /// A start code or a 4-byte length in front of the NAL unit's (shared) memory.
    fn prefixed(&self, format: OutputFormat, nal: gst::Buffer) -> gst::Buffer {
        let prefix = match format {
            OutputFormat::ByteStream => START_CODE,
            OutputFormat::Avc => (nal.size() as u32).to_be_bytes(),
        };
        let mut out = gst::Buffer::from_slice(prefix);
        out.append(nal);
        out
    }

    fn report_drops(&self, state: &mut State, drops: &[DropReason]) -> bool {
        let mut loss = false;
        for reason in drops {
            self.obj().drop_packet(reason);
            loss |= matches!(
                reason,
                DropReason::IncompleteFragmentedNal | DropReason::FragmentWithoutStart
            );
        }
        if loss {
            state.au.clear();
            state.au_timestamp = None;
        }
        loss
    }

    /// Output format wanted downstream: the first stream-format/alignment it accepts.
    fn negotiate_output(&self, state: &mut State) {
        let templ = self.obj().src_pad().pad_template_caps();
        let peer = self.obj().src_pad().peer_query_caps(None);
        if peer.is_any() {
            // Downstream takes anything: byte-stream access units, as the C element does.
            state.format = OutputFormat::ByteStream;
            state.au_aligned = true;
            return;
        }
        let peer = peer.intersect(&templ);
        let first = |s: &gst::StructureRef, field: &str| -> Option<String> {
            if let Ok(v) = s.get::<String>(field) {
                return Some(v);
            }
            s.get::<gst::List>(field)
                .ok()
                .and_then(|l| l.first().and_then(|v| v.get::<String>().ok()))
        };
        let s = peer.structure(0);
        state.format = match s.and_then(|s| first(s, "stream-format")).as_deref() {
            Some("avc") => OutputFormat::Avc,
            _ => OutputFormat::ByteStream,
        };
        state.au_aligned = state.format == OutputFormat::Avc
            || s.and_then(|s| first(s, "alignment")).as_deref() != Some("nal");
    }
}

fn set_delta(buffer: &mut gst::Buffer, delta: bool) {
    let b = buffer.make_mut();
    if delta {
        b.set_flags(gst::BufferFlags::DELTA_UNIT);
    } else {
        b.unset_flags(gst::BufferFlags::DELTA_UNIT);
    }
}

#[glib::object_subclass]
impl ObjectSubclass for RtpH264Depay {
    const NAME: &'static str = "GstRtp2H264Depay";
    type Type = super::RtpH264Depay;
    type ParentType = crate::basedepay::RtpBaseDepay2;
}

impl ObjectImpl for RtpH264Depay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecBoolean::builder("request-keyframe")
                    .nick("Request Keyframe")
                    .blurb("Request new keyframe when packet loss is detected")
                    .default_value(false)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("wait-for-keyframe")
                    .nick("Wait For Keyframe")
                    .blurb(
                        "Wait for the next keyframe after packet loss, \
                         meaningful only when outputting access units",
                    )
                    .default_value(false)
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        match pspec.name() {
            "request-keyframe" => settings.request_keyframe = value.get().unwrap_or(false),
            "wait-for-keyframe" => settings.wait_for_keyframe = value.get().unwrap_or(false),
            other => gst::warning!(crate::CAT, imp = self, "No writable property {other}"),
        }
        let mut state = lock(&self.state);
        state.policy.request_keyframe = settings.request_keyframe;
        state.policy.wait_for_keyframe = settings.wait_for_keyframe;
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = lock(&self.settings);
        match pspec.name() {
            "request-keyframe" => settings.request_keyframe.to_value(),
            "wait-for-keyframe" => settings.wait_for_keyframe.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for RtpH264Depay {}

impl ElementImpl for RtpH264Depay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "RTP H264 depayloader",
                "Codec/Depayloader/Network/RTP",
                "Extracts H264 video from RTP packets (RFC 6184)",
                "gst-plugin-rtp2 developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let sink = gst::Caps::builder("application/x-rtp")
                .field("media", "video")
                .field("clock-rate", 90000i32)
                .field("encoding-name", "H264")
                .build();
            let src = gst::Caps::builder_full()
                .structure(
                    gst::Structure::builder("video/x-h264")
                        .field("stream-format", "avc")
                        .field("alignment", "au")
                        .build(),
                )
                .structure(
                    gst::Structure::builder("video/x-h264")
                        .field("stream-format", "byte-stream")
                        .field("alignment", gst::List::new(["nal", "au"]))
                        .build(),
                )
                .build();
            vec![
                gst::PadTemplate::new(
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &sink,
                )
                .expect("valid sink template"),
                gst::PadTemplate::new(
                    "src",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &src,
                )
                .expect("valid src template"),
            ]
        });
        TEMPLATES.as_ref()
    }
}

impl RtpBaseDepay2Impl for RtpH264Depay {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let policy = *lock(&self.settings);
        let mut state = lock(&self.state);
        *state = State::default();
        state.policy = policy;
        Ok(())
    }

    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        let Some(s) = caps.structure(0) else {
            return false;
        };
        let mut state = lock(&self.state);
        if let Ok(sprop) = s.get::<&str>("sprop-parameter-sets") {
            match parse_sprop_parameter_sets(sprop) {
                Ok(sets) => {
                    for set in sets {
                        state.caps_dirty |= cache(&mut state, &set);
                    }
                }
                Err(err) => gst::warning!(crate::CAT, imp = self, "Ignoring {err}"),
            }
        }
        let number = |name: &str| {
            s.get::<&str>(name)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .or_else(|| {
                    s.get::<i32>(name)
                        .ok()
                        .and_then(|v| usize::try_from(v).ok())
                })
        };
        let interleaved = s
            .get::<&str>("packetization-mode")
            .is_ok_and(|m| m.trim() == "2");
        let defaults = DepacketizerConfig::default();
        let config = DepacketizerConfig {
            interleaved,
            interleaving_depth: number("sprop-interleaving-depth").unwrap_or(0),
            deint_buf_bytes: number("sprop-deint-buf-req")
                .unwrap_or(defaults.deint_buf_bytes)
                .min(defaults.deint_buf_bytes),
            ..defaults
        };
        state.depacketizer = H264Depacketizer::new(config);
        self.negotiate_output(&mut state);
        state.caps_dirty = true;
        match self.output_caps(&state) {
            Some(caps) => {
                state.caps_dirty = false;
                drop(state);
                self.obj().set_src_caps(&caps)
            }
            // avc output waits for SPS/PPS from the stream before it can send codec_data.
            None => true,
        }
    }

    fn handle_packet(&self, packet: &IncomingPacket) -> Result<gst::FlowSuccess, gst::FlowError> {
        let mut state = lock(&self.state);
        let mut request = false;
        if packet.discont() {
            request |= state.policy.on_loss();
        }
        let mut out = Vec::new();
        let mut drops = Vec::new();
        state.depacketizer.push(
            packet.payload(),
            packet.ext_timestamp(),
            packet.marker(),
            packet.discont(),
            &mut out,
            &mut drops,
        );
        if self.report_drops(&mut state, &drops) {
            request |= state.policy.on_loss();
        }
        self.take_nals(&mut state, out, Some(packet));
        drop(state);
        if request {
            self.obj().request_keyframe();
        }
        Ok(gst::FlowSuccess::Ok)
    }

    fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        let mut state = lock(&self.state);
        let mut out = Vec::new();
        let mut drops = Vec::new();
        state.depacketizer.drain(&mut out, &mut drops);
        self.report_drops(&mut state, &drops);
        self.take_nals(&mut state, out, None);
        self.finish_au(&mut state);
        Ok(gst::FlowSuccess::Ok)
    }

    fn flush(&self) {
        let mut state = lock(&self.state);
        state.depacketizer.reset();
        state.au.clear();
        state.au_timestamp = None;
        state.policy.reset();
    }
}
