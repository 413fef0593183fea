// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! GObject implementation of `rtph264pay2`: splits input into NAL units, keeps SPS/PPS for
//! SDP and re-insertion, and builds packets from the core packetizer's plans with memory
//! shared with the input.

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::h264::packetizer::{
    AggregateMode as CoreAggregate, Chunk, H264Packetizer, NalRef, PacketPlan, PacketizationMode,
    PacketizerConfig,
};
use rtp2_core::h264::params::{
    AvcDecoderConfig, pps_id, profile_level_id, sprop_parameter_sets, sps_id,
};
use rtp2_core::h264::{NAL_IDR, NAL_PPS, NAL_SPS, nal_type};
use rtp2_core::nal::{annexb_nal_ranges, length_prefixed_nal_ranges};

use super::AggregateMode;
use crate::basepay::{
    OutgoingPacket, PayloadPrefix, RtpBasePay2Ext, RtpBasePay2Impl, RtpBasePay2ImplExt,
};
use crate::hdrext::lock;

const CLOCK_RATE: i32 = 90000;

#[derive(Debug, Clone, Default)]
struct Settings {
    config_interval: i32,
    aggregate_mode: AggregateMode,
    sprop_parameter_sets: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputFormat {
    /// Annex B start codes.
    ByteStream,
    /// avc / avc3: NAL units after lengths of this many bytes.
    LengthPrefixed(usize),
}

/// A NAL unit the packetizer may still refer to.
#[derive(Debug)]
struct PendingNal {
    id: usize,
    buffer: gst::Buffer,
    pts: Option<gst::ClockTime>,
}

#[derive(Debug)]
struct State {
    format: InputFormat,
    au_aligned: bool,
    packetizer: H264Packetizer,
    nals: Vec<PendingNal>,
    next_id: usize,
    sps: BTreeMap<u32, Vec<u8>>,
    pps: BTreeMap<u32, Vec<u8>>,
    params_changed: bool,
    last_config_pts: Option<gst::ClockTime>,
    force_headers: bool,
    au_has_sps: bool,
    au_has_pps: bool,
    last_pts: Option<gst::ClockTime>,
}

impl Default for State {
    fn default() -> Self {
        State {
            format: InputFormat::ByteStream,
            au_aligned: true,
            packetizer: H264Packetizer::new(PacketizerConfig {
                max_payload: 1388,
                mode: PacketizationMode::NonInterleaved,
                aggregate: CoreAggregate::None,
            }),
            nals: Vec::new(),
            next_id: 0,
            sps: BTreeMap::new(),
            pps: BTreeMap::new(),
            params_changed: false,
            last_config_pts: None,
            force_headers: false,
            au_has_sps: false,
            au_has_pps: false,
            last_pts: None,
        }
    }
}

#[derive(Default)]
pub struct RtpH264Pay {
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

fn core_aggregate(mode: AggregateMode) -> CoreAggregate {
    match mode {
        AggregateMode::None => CoreAggregate::None,
        AggregateMode::ZeroLatency => CoreAggregate::ZeroLatency,
        AggregateMode::MaxStap => CoreAggregate::MaxStap,
    }
}

impl RtpH264Pay {
    /// Remembers SPS/PPS by id; returns true when one is new or changed.
    fn cache_parameter_set(state: &mut State, nal: &[u8]) -> bool {
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

    /// The RTP caps: packetization mode, and the SDP parameters once SPS/PPS are known.
    fn src_caps(&self, state: &State, mode: PacketizationMode) -> gst::Caps {
        let mut builder = gst::Caps::builder("application/x-rtp")
            .field("media", "video")
            .field("clock-rate", CLOCK_RATE)
            .field("encoding-name", "H264")
            .field(
                "packetization-mode",
                if mode == PacketizationMode::SingleNal {
                    "0"
                } else {
                    "1"
                },
            );
        if let Some(plid) = state.sps.values().next().and_then(|s| profile_level_id(s)) {
            builder = builder.field("profile-level-id", plid);
        }
        let sprop = lock(&self.settings)
            .sprop_parameter_sets
            .clone()
            .or_else(|| {
                (!state.sps.is_empty() && !state.pps.is_empty()).then(|| {
                    sprop_parameter_sets(
                        state
                            .sps
                            .values()
                            .chain(state.pps.values())
                            .map(Vec::as_slice),
                    )
                })
            });
        if let Some(sprop) = sprop {
            builder = builder.field("sprop-parameter-sets", sprop);
        }
        builder.build()
    }

    /// Whether SPS/PPS must go before the IDR at `pts` (config-interval, forced headers).
    fn wants_config(&self, state: &State, pts: Option<gst::ClockTime>) -> bool {
        if state.force_headers {
            return true;
        }
        match lock(&self.settings).config_interval {
            0 => false,
            -1 => true,
            seconds => match (state.last_config_pts, pts) {
                (Some(last), Some(now)) => {
                    now.saturating_sub(last) >= gst::ClockTime::from_seconds(seconds as u64)
                }
                _ => true,
            },
        }
    }

    /// Hands one NAL unit (shared sub-buffer `nal`) to the packetizer and queues the packets
    /// that are complete.
    fn push_nal(
        &self,
        state: &mut State,
        nal: gst::Buffer,
        header: [u8; 2],
        pts: Option<gst::ClockTime>,
        end_of_au: bool,
        input: &gst::Buffer,
    ) -> Result<(), gst::FlowError> {
        let id = state.next_id;
        state.next_id += 1;
        let nal_ref = NalRef {
            id,
            header,
            len: nal.size(),
        };
        state.nals.push(PendingNal {
            id,
            buffer: nal,
            pts,
        });
        let mut plans = Vec::new();
        if let Err(err) = state.packetizer.push(nal_ref, end_of_au, &mut plans) {
            gst::element_imp_error!(self, gst::StreamError::Encode, ["{err}"]);
            return Err(gst::FlowError::Error);
        }
        self.queue_plans(state, plans, input);
        Ok(())
    }

    /// Builds and queues the packets of `plans`, then forgets NAL units no longer needed.
    fn queue_plans(&self, state: &mut State, plans: Vec<PacketPlan>, input: &gst::Buffer) {
        let obj = self.obj();
        for plan in plans {
            let mut payload = gst::Buffer::new();
            let mut prefix = PayloadPrefix::default();
            let Some(p) = payload.get_mut() else {
                continue;
            };
            for (i, chunk) in plan.chunks.iter().enumerate() {
                match chunk {
                    // Leading header bytes go into the RTP header memory.
                    Chunk::Bytes(bytes) if i == 0 => prefix = PayloadPrefix::new(bytes.as_slice()),
                    Chunk::Bytes(bytes) => {
                        p.append_memory(gst::Memory::from_slice(bytes.as_slice().to_vec()));
                    }
                    Chunk::Nal { id, range } => {
                        let Some(nal) = state.nals.iter().find(|n| n.id == *id) else {
                            continue;
                        };
                        append_shared(p, &nal.buffer, range.clone());
                    }
                }
            }
            let pts = state
                .nals
                .iter()
                .find(|n| n.id == plan.first_nal)
                .and_then(|n| n.pts);
            let mut packet = OutgoingPacket::new(payload, pts);
            packet.prefix = prefix;
            packet.marker = plan.marker;
            packet.meta_source = Some(input.clone());
            obj.queue_packet(packet);
        }
        let keep: Vec<usize> = state.packetizer.pending_ids().collect();
        state.nals.retain(|n| keep.contains(&n.id));
    }

    fn handle_input(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
        let mut state = lock(&self.state);
        let ranges = match state.format {
            InputFormat::ByteStream => annexb_nal_ranges(&map),
            InputFormat::LengthPrefixed(size) => match length_prefixed_nal_ranges(&map, size) {
                Ok(r) => r,
                Err(err) => {
                    gst::element_imp_warning!(
                        self,
                        gst::StreamError::Format,
                        ["Dropping malformed avc buffer: {err}"]
                    );
                    return Ok(gst::FlowSuccess::Ok);
                }
            },
        };
        let pts = buffer.pts();
        let marker_flag = gst::BufferFlags::MARKER;
        let au_ends_here = state.au_aligned || buffer.flags().contains(marker_flag);
        if !state.au_aligned && state.last_pts != pts && state.packetizer.has_pending() {
            // A new timestamp starts a new access unit: what is held ended the previous one.
            let mut plans = Vec::new();
            state.packetizer.flush(true, &mut plans);
            self.queue_plans(&mut state, plans, buffer);
        }
        state.last_pts = pts;

        let count = ranges.len();
        for (i, range) in ranges.into_iter().enumerate() {
            let nal = &map[range.clone()];
            let header = NalRef::new(0, nal).header;
            let kind = nal_type(header[0]);
            let end_of_au = au_ends_here && i + 1 == count;
            match kind {
                NAL_SPS => {
                    state.au_has_sps = true;
                    state.params_changed |= Self::cache_parameter_set(&mut state, nal);
                }
                NAL_PPS => {
                    state.au_has_pps = true;
                    state.params_changed |= Self::cache_parameter_set(&mut state, nal);
                }
                NAL_IDR => {
                    let in_band = state.au_has_sps && state.au_has_pps;
                    if !in_band && self.wants_config(&state, pts) {
                        let sets: Vec<Vec<u8>> = state
                            .sps
                            .values()
                            .chain(state.pps.values())
                            .cloned()
                            .collect();
                        gst::debug!(
                            crate::CAT,
                            imp = self,
                            "Inserting {} parameter sets",
                            sets.len()
                        );
                        for set in sets {
                            let set_header = NalRef::new(0, &set).header;
                            self.push_nal(
                                &mut state,
                                gst::Buffer::from_mut_slice(set),
                                set_header,
                                pts,
                                false,
                                buffer,
                            )?;
                        }
                        state.au_has_sps = true;
                        state.au_has_pps = true;
                    }
                    if state.au_has_sps && state.au_has_pps {
                        state.last_config_pts = pts;
                        state.force_headers = false;
                    }
                }
                _ => {}
            }
            if state.params_changed {
                state.params_changed = false;
                let mode = state.packetizer.config().mode;
                let caps = self.src_caps(&state, mode);
                drop(state);
                self.obj().set_src_caps(&caps);
                state = lock(&self.state);
            }
            let sub = buffer
                .copy_region(gst::BufferCopyFlags::MEMORY, range)
                .map_err(|_| gst::FlowError::Error)?;
            self.push_nal(&mut state, sub, header, pts, end_of_au, buffer)?;
            if end_of_au {
                state.au_has_sps = false;
                state.au_has_pps = false;
            }
        }
        Ok(gst::FlowSuccess::Ok)
    }

    /// Packetization mode 0 when downstream caps ask for it (RFC 6184 §8.1).
    fn negotiated_mode(&self) -> PacketizationMode {
        let peer = self.obj().src_pad().peer_query_caps(None);
        let wants_single = peer
            .structure(0)
            .and_then(|s| s.get::<&str>("packetization-mode").ok())
            .is_some_and(|m| m.trim() == "0");
        if wants_single {
            PacketizationMode::SingleNal
        } else {
            PacketizationMode::NonInterleaved
        }
    }

    fn configure_packetizer(&self, state: &mut State, mode: PacketizationMode) {
        let aggregate = core_aggregate(lock(&self.settings).aggregate_mode);
        let config = PacketizerConfig {
            max_payload: self.obj().max_payload_size(),
            mode,
            aggregate,
        };
        if state.packetizer.config() != config {
            let mut plans = Vec::new();
            state.packetizer.set_config(config, &mut plans);
            if !plans.is_empty() {
                let input = gst::Buffer::new();
                self.queue_plans(state, plans, &input);
            }
        }
    }
}

/// Appends `range` of `nal` to `out` as memories shared with `nal` (no copy, and no
/// intermediate buffer when `nal` is one memory, as it usually is).
fn append_shared(out: &mut gst::BufferRef, nal: &gst::Buffer, range: std::ops::Range<usize>) {
    if nal.n_memory() == 1 {
        out.append_memory(nal.peek_memory(0).share(range));
    } else if let Ok(part) = nal.copy_region(gst::BufferCopyFlags::MEMORY, range) {
        for mem in part.iter_memories_owned() {
            out.append_memory(mem);
        }
    }
}

#[glib::object_subclass]
impl ObjectSubclass for RtpH264Pay {
    const NAME: &'static str = "GstRtp2H264Pay";
    type Type = super::RtpH264Pay;
    type ParentType = crate::basepay::RtpBasePay2;
}

impl ObjectImpl for RtpH264Pay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecInt::builder("config-interval")
                    .nick("SPS PPS Send Interval")
                    .blurb(
                        "Send SPS and PPS Insertion Interval in seconds (sprop parameter sets \
                         will be multiplexed in the data stream when detected.) \
                         (0 = disabled, -1 = send with every IDR frame)",
                    )
                    .minimum(-1)
                    .maximum(3600)
                    .default_value(0)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder::<AggregateMode>("aggregate-mode")
                    .nick("Attempt to use aggregate packets")
                    .blurb("Bundle suitable SPS/PPS NAL units into STAP-A aggregate packets")
                    .default_value(AggregateMode::None)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("sprop-parameter-sets")
                    .nick("sprop-parameter-sets")
                    .blurb(
                        "The base64 sprop-parameter-sets to set in out caps \
                         (set to NULL to extract from stream)",
                    )
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        match pspec.name() {
            "config-interval" => settings.config_interval = value.get().unwrap_or(0),
            "aggregate-mode" => settings.aggregate_mode = value.get().unwrap_or_default(),
            "sprop-parameter-sets" => settings.sprop_parameter_sets = value.get().ok().flatten(),
            other => gst::warning!(crate::CAT, imp = self, "No writable property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = lock(&self.settings);
        match pspec.name() {
            "config-interval" => settings.config_interval.to_value(),
            "aggregate-mode" => settings.aggregate_mode.to_value(),
            "sprop-parameter-sets" => settings.sprop_parameter_sets.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for RtpH264Pay {}

impl ElementImpl for RtpH264Pay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "RTP H264 payloader",
                "Codec/Payloader/Network/RTP",
                "Payload-encode H264 video into RTP packets (RFC 6184)",
                "gst-plugin-rtp2 developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let sink = gst::Caps::builder_full()
                .structure(
                    gst::Structure::builder("video/x-h264")
                        .field("stream-format", gst::List::new(["avc", "avc3"]))
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
            let src = gst::Caps::builder("application/x-rtp")
                .field("media", "video")
                .field("payload", gst::IntRange::new(96i32, 127))
                .field("clock-rate", CLOCK_RATE)
                .field("encoding-name", "H264")
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

impl RtpBasePay2Impl for RtpH264Pay {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = State::default();
        Ok(())
    }

    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        let Some(s) = caps.structure(0) else {
            return false;
        };
        let mut state = lock(&self.state);
        state.au_aligned = !matches!(s.get::<&str>("alignment"), Ok("nal"));
        state.format = match s.get::<&str>("stream-format") {
            Ok("avc") | Ok("avc3") => {
                let mut length_size = 4;
                if let Ok(codec_data) = s.get::<gst::Buffer>("codec_data") {
                    let Ok(map) = codec_data.map_readable() else {
                        return false;
                    };
                    match AvcDecoderConfig::parse(&map) {
                        Ok(config) => {
                            length_size = config.length_size;
                            for set in config.sps.iter().chain(&config.pps) {
                                if !set.is_empty() {
                                    Self::cache_parameter_set(&mut state, set);
                                }
                            }
                        }
                        Err(err) => {
                            gst::warning!(crate::CAT, imp = self, "{err}");
                            return false;
                        }
                    }
                }
                InputFormat::LengthPrefixed(length_size)
            }
            _ => InputFormat::ByteStream,
        };
        let mode = self.negotiated_mode();
        let src_caps = self.src_caps(&state, mode);
        drop(state);
        if !self.obj().set_src_caps(&src_caps) {
            return false;
        }
        let mut state = lock(&self.state);
        self.configure_packetizer(&mut state, mode);
        true
    }

    fn handle_buffer(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        {
            let mut state = lock(&self.state);
            let mode = state.packetizer.config().mode;
            self.configure_packetizer(&mut state, mode);
        }
        self.handle_input(buffer)
    }

    fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        let mut state = lock(&self.state);
        let mut plans = Vec::new();
        state.packetizer.flush(true, &mut plans);
        let input = gst::Buffer::new();
        self.queue_plans(&mut state, plans, &input);
        Ok(gst::FlowSuccess::Ok)
    }

    fn flush(&self) {
        let mut state = lock(&self.state);
        let config = state.packetizer.config();
        state.packetizer = H264Packetizer::new(config);
        state.nals.clear();
        state.last_pts = None;
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let Ok(fku) = gst_video::DownstreamForceKeyUnitEvent::parse(&event)
            && fku.all_headers
        {
            lock(&self.state).force_headers = true;
        }
        self.parent_sink_event(event)
    }

    fn src_event(&self, event: gst::Event) -> bool {
        if let Ok(fku) = gst_video::UpstreamForceKeyUnitEvent::parse(&event)
            && fku.all_headers
        {
            lock(&self.state).force_headers = true;
        }
        self.parent_src_event(event)
    }
}
