// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The GStreamer side of the browser calls: RTP caps for webrtcbin (with the rtcp-fb and
//! header extensions Chromium reads), a gate that lets encoded video through from a
//! keyframe once the call is up, counters kept by pad probes, the upstream requests that
//! reach a payloader, and the receive chains added when the browser's media arrives.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;

/// The URI of the transport-wide congestion control extension
/// (draft-holmer-rmcat-transport-wide-cc-extensions-01).
pub const TWCC_URI: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
/// The URI of the client-to-mixer audio level extension (RFC 6464).
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// H.264 with PLI and FIR feedback (and NACK with `nack`) and transport-wide cc (extension
/// id 1); the payloader adds `profile-level-id` (from the SPS) and `packetization-mode`.
///
/// Without NACK, libwebrtc asks for a keyframe (PLI) as soon as a frame is incomplete; with
/// NACK it first asks for the missing packets, which webrtcbin 1.22 answers itself (its
/// `rtprtxsend` takes the requests; they never reach the payloader).
pub fn h264_caps(nack: bool) -> String {
    format!(
        "application/x-rtp,media=video,encoding-name=H264,payload=96,clock-rate=90000,\
         rtcp-fb-nack=(boolean){nack},rtcp-fb-nack-pli=(boolean)true,\
         rtcp-fb-ccm-fir=(boolean)true,rtcp-fb-transport-cc=(boolean)true,\
         extmap-1=(string)\"{TWCC_URI}\""
    )
}

/// G.722 (static payload type 9, RTP clock 8000 by RFC 3551 §4.5.2) with transport-wide cc
/// (id 1) and, with `audio_level`, the audio level extension (id 2, with voice activity).
pub fn g722_caps(audio_level: bool) -> String {
    let level = if audio_level {
        format!(",extmap-2=<(string)\"\",(string)\"{AUDIO_LEVEL_URI}\",(string)\"vad=on\">")
    } else {
        String::new()
    };
    format!(
        "application/x-rtp,media=audio,encoding-name=G722,payload=9,clock-rate=8000,\
         rtcp-fb-transport-cc=(boolean)true,extmap-1=(string)\"{TWCC_URI}\"{level}"
    )
}

/// Adds a receive-only transceiver with `caps` to `webrtcbin`.
pub fn receive_only(webrtcbin: &gst::Element, caps: &str) {
    let caps = caps.parse::<gst::Caps>().expect("caps");
    webrtcbin.emit_by_name::<gst_webrtc::WebRTCRTPTransceiver>(
        "add-transceiver",
        &[&gst_webrtc::WebRTCRTPTransceiverDirection::Recvonly, &caps],
    );
}

/// Makes the transceivers of `webrtcbin`'s request sink pads send-only (webrtcbin makes
/// them send-receive, and the browser would then send its camera and microphone back).
pub fn send_only(webrtcbin: &gst::Element) {
    for pad in webrtcbin.sink_pads() {
        let transceiver = pad.property::<gst_webrtc::WebRTCRTPTransceiver>("transceiver");
        transceiver.set_property(
            "direction",
            gst_webrtc::WebRTCRTPTransceiverDirection::Sendonly,
        );
    }
}

/// Calls `f` on every buffer (and every buffer of a list) through `pad`.
pub fn on_buffers(pad: &gst::Pad, f: impl Fn(&gst::BufferRef) + Send + Sync + 'static) {
    pad.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
        move |_, info| {
            match &info.data {
                Some(gst::PadProbeData::Buffer(b)) => f(b),
                Some(gst::PadProbeData::BufferList(l)) => l.iter().for_each(&f),
                _ => {}
            }
            gst::PadProbeReturn::Ok
        },
    );
}

/// Counts the buffers through `pad`.
pub fn count_buffers(pad: &gst::Pad) -> Arc<AtomicU64> {
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    on_buffers(pad, move |_| {
        c.fetch_add(1, Ordering::Relaxed);
    });
    count
}

/// Encoded video held back until [`VideoGate::open`], then let through from the next
/// keyframe (asked of the encoder), so the browser can decode every frame that passes.
pub struct VideoGate {
    open: Arc<AtomicBool>,
    encoder_src: gst::Pad,
    /// Frames that passed the gate.
    pub frames: Arc<AtomicU64>,
}

impl VideoGate {
    /// Gates the buffers out of `encoder_src`.
    pub fn new(encoder_src: &gst::Pad) -> VideoGate {
        let open = Arc::new(AtomicBool::new(false));
        let frames = Arc::new(AtomicU64::new(0));
        let (o, f) = (open.clone(), frames.clone());
        let passing = AtomicBool::new(false);
        encoder_src.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let Some(gst::PadProbeData::Buffer(b)) = &info.data else {
                return gst::PadProbeReturn::Ok;
            };
            let delta = b.flags().contains(gst::BufferFlags::DELTA_UNIT);
            let now = o.load(Ordering::SeqCst) && (passing.load(Ordering::SeqCst) || !delta);
            passing.store(now, Ordering::SeqCst);
            if now {
                f.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            } else {
                gst::PadProbeReturn::Drop
            }
        });
        VideoGate {
            open,
            encoder_src: encoder_src.clone(),
            frames,
        }
    }

    /// Opens (from the next keyframe) or closes the gate.
    pub fn open(&self, open: bool) {
        self.open.store(open, Ordering::SeqCst);
        if open {
            let event = gst_video::UpstreamForceKeyUnitEvent::builder()
                .all_headers(true)
                .build();
            self.encoder_src.send_event(event);
        }
    }
}

/// Upstream requests that reached a payloader's source pad from webrtcbin.
#[derive(Default)]
pub struct Requests {
    /// Force-key-unit events (from the peer's PLI or FIR).
    pub key_units: AtomicU64,
    /// `GstRTPRetransmissionRequest` events (one per sequence number the peer NACKed).
    pub retransmissions: AtomicU64,
}

/// Counts the upstream requests arriving at `pad` (a payloader's source pad).
pub fn count_requests(pad: &gst::Pad) -> Arc<Requests> {
    let requests = Arc::new(Requests::default());
    let r = requests.clone();
    pad.add_probe(gst::PadProbeType::EVENT_UPSTREAM, move |_, info| {
        if let Some(gst::PadProbeData::Event(e)) = &info.data {
            if gst_video::UpstreamForceKeyUnitEvent::parse(e).is_ok() {
                r.key_units.fetch_add(1, Ordering::Relaxed);
            } else if e
                .structure()
                .is_some_and(|s| s.name() == "GstRTPRetransmissionRequest")
            {
                r.retransmissions.fetch_add(1, Ordering::Relaxed);
            }
        }
        gst::PadProbeReturn::Ok
    });
    requests
}

/// Collects the error and warning messages of `pipeline`'s bus.
pub fn bus_messages(pipeline: &gst::Pipeline) -> Arc<Mutex<Vec<String>>> {
    let messages = Arc::new(Mutex::new(Vec::new()));
    let m = messages.clone();
    pipeline.bus().unwrap().set_sync_handler(move |_, msg| {
        let src = msg.src().map(|s| s.path_string()).unwrap_or_default();
        match msg.view() {
            gst::MessageView::Error(e) => {
                m.lock()
                    .unwrap()
                    .push(format!("error {src}: {} ({:?})", e.error(), e.debug()))
            }
            gst::MessageView::Warning(w) => {
                m.lock()
                    .unwrap()
                    .push(format!("warning {src}: {} ({:?})", w.error(), w.debug()))
            }
            _ => {}
        }
        gst::BusSyncReply::Drop
    });
    messages
}

/// Adds `description` as a bin after `pad` (a webrtcbin source pad) and links it.
pub fn link_bin(pipeline: &gst::Pipeline, pad: &gst::Pad, description: &str) -> gst::Bin {
    let bin = gst::parse::bin_from_description(description, true).expect("receive chain");
    pipeline.add(&bin).unwrap();
    bin.sync_state_with_parent().unwrap();
    pad.link(&bin.static_pad("sink").unwrap()).unwrap();
    bin
}

/// The `media` field of a pad's caps (`audio` or `video`).
pub fn media_of(pad: &gst::Pad) -> String {
    pad.current_caps()
        .and_then(|c| c.structure(0)?.get::<String>("media").ok())
        .unwrap_or_default()
}
