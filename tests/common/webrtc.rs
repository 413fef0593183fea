// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! A WebRTC call between two `webrtcbin` peers in one process: offer and answer exchanged in
//! memory, ICE restricted to 127.0.0.1 (libnice from gstreamer1.0-nice), DTLS-SRTP. The
//! sender carries H.264 through `rtph264pay2` and G.722 through `rtpg722pay2`, both with the
//! transport-wide congestion control header extension (and the audio level one on audio)
//! announced in their caps, so that webrtcbin puts them in the SDP and our base class writes
//! them; the receiver depayloads with `rtph264depay2` / `rtpg722depay2` and decodes. Used by
//! tests/webrtc.rs and examples/webrtc_loopback.rs.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

/// The URI of the transport-wide congestion control extension (draft-holmer-rmcat-transport-wide-cc-extensions-01).
pub const TWCC_URI: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
/// The URI of the client-to-mixer audio level extension (RFC 6464).
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
/// The extension id both media use for transport-wide cc (one id per BUNDLE group).
pub const TWCC_ID: u8 = 1;
/// The extension id of the audio level extension.
pub const AUDIO_LEVEL_ID: u8 = 2;

/// The level (in -dBov) and voice activity the sender attaches to every audio buffer.
pub const AUDIO_LEVEL_DBOV: u8 = 5;

/// What the call counted, updated from pad probes while it runs.
#[derive(Default)]
pub struct Counters {
    /// Access units out of the H.264 encoder.
    pub frames_encoded: AtomicU64,
    /// Pictures out of the H.264 decoder of the receiver.
    pub frames_decoded: AtomicU64,
    /// RTP packets out of `rtph264pay2`.
    pub video_packets_sent: AtomicU64,
    /// RTP packets that reached the receiver's `rtph264depay2`.
    pub video_packets_received: AtomicU64,
    /// Received video packets carrying a transport-wide cc sequence number.
    pub video_packets_with_twcc: AtomicU64,
    /// G.722 payload bytes out of `rtpg722pay2`.
    pub audio_payload_bytes_sent: AtomicU64,
    /// RTP packets that reached the receiver's `rtpg722depay2`.
    pub audio_packets_received: AtomicU64,
    /// Received audio packets carrying both a transport-wide cc number and the audio level
    /// (with voice activity) that the sender attached.
    pub audio_packets_with_extensions: AtomicU64,
    /// Audio samples out of the G.722 decoder.
    pub audio_samples_decoded: AtomicU64,
    /// Bytes of RTP (header and payload) received, for a bitrate.
    pub bytes_received: AtomicU64,
}

/// A running call. Dropping it stops both peers.
pub struct Call {
    /// The sending pipeline (sources, encoders, our payloaders, webrtcbin `send`).
    pub sender: gst::Pipeline,
    /// The receiving pipeline (webrtcbin `recv`, then our depayloaders added as streams arrive).
    pub receiver: gst::Pipeline,
    /// Counts kept by pad probes.
    pub counters: Arc<Counters>,
    /// The offer and the answer, as SDP text, once negotiated.
    pub sdp: Arc<Mutex<(Option<String>, Option<String>)>>,
    /// Errors posted on either bus.
    pub errors: Arc<Mutex<Vec<String>>>,
    open: Arc<AtomicBool>,
}

/// The caps fields that announce the header extensions: transport-wide cc for both media,
/// and for audio the audio level as well. The audio level extension describes itself with
/// its `vad=on` attribute (the array form direction, URI, attributes), so caps have to say
/// the same to intersect with what it produces.
fn extmap_fields(audio: bool) -> String {
    let twcc = format!("extmap-{TWCC_ID}=(string)\"{TWCC_URI}\"");
    if !audio {
        return twcc;
    }
    format!(
        "{twcc},extmap-{AUDIO_LEVEL_ID}=<(string)\"\",(string)\"{AUDIO_LEVEL_URI}\",(string)\"vad=on\">"
    )
}

/// The RTP caps of the video stream (with `extmap` fields).
fn video_caps() -> String {
    format!(
        "application/x-rtp,media=video,encoding-name=H264,payload=96,clock-rate=90000,{}",
        extmap_fields(false)
    )
}

/// The RTP caps of the audio stream (with `extmap` fields).
fn audio_caps() -> String {
    format!(
        "application/x-rtp,media=audio,encoding-name=G722,payload=9,clock-rate=8000,{}",
        extmap_fields(true)
    )
}

fn sender_description() -> String {
    let (video, audio) = (video_caps(), audio_caps());
    format!(
        "webrtcbin name=send bundle-policy=max-bundle \
         videotestsrc is-live=true pattern=ball \
         ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 \
         ! x264enc name=venc tune=zerolatency speed-preset=ultrafast key-int-max=30 \
         ! rtph264pay2 name=vpay config-interval=-1 aggregate-mode=zero-latency \
         ! {video} \
         ! send. \
         audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=16000,channels=1 \
         ! avenc_g722 name=aenc \
         ! rtpg722pay2 name=apay \
         ! {audio} \
         ! send."
    )
}

fn add_counter(pad: &gst::Pad, f: impl Fn(&gst::BufferRef) + Send + Sync + 'static) {
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

/// Drops the buffers of an encoder's output while `open` is false. Video (with `frames`)
/// restarts at a keyframe, so that the receiver can decode every frame that passes; the
/// frames that pass are counted.
fn gate(pad: &gst::Pad, open: &Arc<AtomicBool>, frames: Option<Arc<Counters>>) {
    let open = open.clone();
    let passing = AtomicBool::new(false);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let Some(gst::PadProbeData::Buffer(b)) = &info.data else {
            return gst::PadProbeReturn::Ok;
        };
        let delta = b.flags().contains(gst::BufferFlags::DELTA_UNIT);
        let pass = match &frames {
            None => {
                let pass = open.load(Ordering::SeqCst);
                if pass && let Some(buffer) = info.buffer_mut() {
                    // What a level meter upstream would attach; the audio level extension
                    // writes it into each packet.
                    gst_audio::AudioLevelMeta::add(buffer.make_mut(), AUDIO_LEVEL_DBOV, true);
                }
                pass
            }
            Some(counters) => {
                let was = passing.load(Ordering::SeqCst);
                let now = open.load(Ordering::SeqCst) && (was || !delta);
                passing.store(now, Ordering::SeqCst);
                if now {
                    counters.frames_encoded.fetch_add(1, Ordering::Relaxed);
                }
                now
            }
        };
        if pass {
            gst::PadProbeReturn::Ok
        } else {
            gst::PadProbeReturn::Drop
        }
    });
}

fn src_pad(pipeline: &gst::Pipeline, name: &str) -> gst::Pad {
    pipeline.by_name(name).unwrap().static_pad("src").unwrap()
}

/// The one-byte header extension elements of an RTP packet (RFC 8285 §4.2), as (id, data).
pub fn extension_elements(packet: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    if packet.len() < 12 || packet[0] & 0x10 == 0 {
        return out;
    }
    let start = 12 + 4 * usize::from(packet[0] & 0x0f);
    let Some(head) = packet.get(start..start + 4) else {
        return out;
    };
    if head[0..2] != [0xbe, 0xde] {
        return out;
    }
    let words = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let Some(body) = packet.get(start + 4..start + 4 + 4 * words) else {
        return out;
    };
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b == 0 {
            i += 1;
            continue;
        }
        let (id, len) = (b >> 4, usize::from(b & 0x0f) + 1);
        if id == 15 {
            break;
        }
        let Some(data) = body.get(i + 1..i + 1 + len) else {
            break;
        };
        out.push((id, data.to_vec()));
        i += 1 + len;
    }
    out
}

fn signal(
    from: &gst::Element,
    to: &gst::Element,
    sdp: Arc<Mutex<(Option<String>, Option<String>)>>,
) {
    let to_weak = to.downgrade();
    let from_weak = from.downgrade();
    from.connect("on-negotiation-needed", false, move |_| {
        let (Some(offerer), Some(answerer)) = (from_weak.upgrade(), to_weak.upgrade()) else {
            return None;
        };
        let sdp = sdp.clone();
        let offerer_for_promise = offerer.clone();
        let promise = gst::Promise::with_change_func(move |reply| {
            let offerer = offerer_for_promise;
            let Ok(Some(reply)) = reply else { return };
            let Ok(offer) = reply.get::<gst_webrtc::WebRTCSessionDescription>("offer") else {
                return;
            };
            sdp.lock().unwrap().0 = offer.sdp().as_text().ok();
            offerer.emit_by_name::<()>("set-local-description", &[&offer, &None::<gst::Promise>]);
            answerer.emit_by_name::<()>("set-remote-description", &[&offer, &None::<gst::Promise>]);
            let offerer2 = offerer.clone();
            let answerer2 = answerer.clone();
            let promise = gst::Promise::with_change_func(move |reply| {
                let Ok(Some(reply)) = reply else { return };
                let Ok(answer) = reply.get::<gst_webrtc::WebRTCSessionDescription>("answer") else {
                    return;
                };
                sdp.lock().unwrap().1 = answer.sdp().as_text().ok();
                answerer2
                    .emit_by_name::<()>("set-local-description", &[&answer, &None::<gst::Promise>]);
                offerer2.emit_by_name::<()>(
                    "set-remote-description",
                    &[&answer, &None::<gst::Promise>],
                );
            });
            answerer.emit_by_name::<()>("create-answer", &[&None::<gst::Structure>, &promise]);
        });
        offerer.emit_by_name::<()>("create-offer", &[&None::<gst::Structure>, &promise]);
        None
    });
    for (a, b) in [(from, to), (to, from)] {
        let peer = b.downgrade();
        a.connect("on-ice-candidate", false, move |values| {
            let mline = values[1].get::<u32>().ok()?;
            let candidate = values[2].get::<String>().ok()?;
            if let Some(peer) = peer.upgrade() {
                peer.emit_by_name::<()>("add-ice-candidate", &[&mline, &candidate]);
            }
            None
        });
    }
}

fn loopback_only(webrtcbin: &gst::Element) {
    let agent = webrtcbin.property::<glib::Object>("ice-agent");
    let added = agent.emit_by_name::<bool>("add-local-ip-address", &[&"127.0.0.1"]);
    assert!(added, "ICE agent accepts 127.0.0.1");
}

fn watch_errors(pipeline: &gst::Pipeline, errors: &Arc<Mutex<Vec<String>>>) {
    let errors = errors.clone();
    let bus = pipeline.bus().unwrap();
    bus.set_sync_handler(move |_, msg| {
        if let gst::MessageView::Error(e) = msg.view() {
            errors.lock().unwrap().push(format!(
                "{}: {} ({:?})",
                msg.src().map(|s| s.path_string()).unwrap_or_default(),
                e.error(),
                e.debug()
            ));
        }
        gst::BusSyncReply::Drop
    });
}

fn receive_chain(pad: &gst::Pad, receiver: &gst::Pipeline, counters: &Arc<Counters>) {
    let caps = pad.current_caps().unwrap();
    let media = caps
        .structure(0)
        .unwrap()
        .get::<String>("media")
        .unwrap_or_default();
    let description = match media.as_str() {
        "video" => {
            "rtph264depay2 name=vdepay ! avdec_h264 ! fakesink name=vsink sync=false async=false"
        }
        "audio" => {
            "rtpg722depay2 name=adepay ! avdec_g722 ! fakesink name=asink sync=false async=false"
        }
        _ => return,
    };
    let bin = gst::parse::bin_from_description(description, true).unwrap();
    receiver.add(&bin).unwrap();
    let is_video = media == "video";
    let c = counters.clone();
    add_counter(pad, move |b| {
        let Ok(map) = b.map_readable() else { return };
        let elements = extension_elements(&map);
        let has = |id: u8, len: usize| elements.iter().any(|(i, d)| *i == id && d.len() == len);
        let twcc = has(TWCC_ID, 2);
        c.bytes_received
            .fetch_add(map.len() as u64, Ordering::Relaxed);
        if is_video {
            c.video_packets_received.fetch_add(1, Ordering::Relaxed);
            if twcc {
                c.video_packets_with_twcc.fetch_add(1, Ordering::Relaxed);
            }
        } else {
            c.audio_packets_received.fetch_add(1, Ordering::Relaxed);
            // RFC 6464 §3: the V bit, then the level in -dBov.
            let level = [0x80 | AUDIO_LEVEL_DBOV];
            if twcc
                && elements
                    .iter()
                    .any(|(i, d)| *i == AUDIO_LEVEL_ID && d[..] == level)
            {
                c.audio_packets_with_extensions
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let sink = bin
        .by_name(if is_video { "vsink" } else { "asink" })
        .unwrap();
    let c = counters.clone();
    add_counter(&sink.static_pad("sink").unwrap(), move |b| {
        if is_video {
            c.frames_decoded.fetch_add(1, Ordering::Relaxed);
        } else {
            c.audio_samples_decoded
                .fetch_add(b.size() as u64 / 2, Ordering::Relaxed);
        }
    });
    bin.sync_state_with_parent().unwrap();
    pad.link(&bin.static_pad("sink").unwrap()).unwrap();
}

impl Call {
    /// Builds both peers, negotiates, and waits (at most `timeout`) until both report the
    /// peer connection connected. Media flows once [`Call::open`] is called.
    pub fn connect(timeout: Duration) -> Result<Call, String> {
        let sender = gst::parse::launch(&sender_description())
            .map_err(|e| e.to_string())?
            .downcast::<gst::Pipeline>()
            .unwrap();
        let receiver = gst::Pipeline::new();
        let recv = gst::ElementFactory::make("webrtcbin")
            .name("recv")
            .property_from_str("bundle-policy", "max-bundle")
            .build()
            .map_err(|e| e.to_string())?;
        receiver.add(&recv).unwrap();
        // The answerer only answers the header extensions its transceivers were told about.
        for caps in [video_caps(), audio_caps()] {
            let caps = gst::Caps::from_str(&caps).map_err(|e| e.to_string())?;
            recv.emit_by_name::<gst_webrtc::WebRTCRTPTransceiver>(
                "add-transceiver",
                &[&gst_webrtc::WebRTCRTPTransceiverDirection::Recvonly, &caps],
            );
        }
        let send = sender.by_name("send").unwrap();
        loopback_only(&send);
        loopback_only(&recv);

        let counters = Arc::new(Counters::default());
        let open = Arc::new(AtomicBool::new(false));
        gate(&src_pad(&sender, "venc"), &open, Some(counters.clone()));
        gate(&src_pad(&sender, "aenc"), &open, None);
        let c = counters.clone();
        add_counter(&src_pad(&sender, "vpay"), move |_| {
            c.video_packets_sent.fetch_add(1, Ordering::Relaxed);
        });
        let c = counters.clone();
        add_counter(&src_pad(&sender, "apay"), move |b| {
            let payload = b.map_readable().ok().and_then(|m| rtp_payload_len(&m));
            c.audio_payload_bytes_sent
                .fetch_add(payload.unwrap_or(0) as u64, Ordering::Relaxed);
        });

        let sdp = Arc::new(Mutex::new((None, None)));
        signal(&send, &recv, sdp.clone());
        let weak_receiver = receiver.downgrade();
        let c = counters.clone();
        recv.connect_pad_added(move |_, pad| {
            if pad.direction() == gst::PadDirection::Src
                && let Some(receiver) = weak_receiver.upgrade()
            {
                receive_chain(pad, &receiver, &c);
            }
        });

        let errors = Arc::new(Mutex::new(Vec::new()));
        watch_errors(&sender, &errors);
        watch_errors(&receiver, &errors);
        receiver
            .set_state(gst::State::Playing)
            .map_err(|e| e.to_string())?;
        sender
            .set_state(gst::State::Playing)
            .map_err(|e| e.to_string())?;
        let call = Call {
            sender,
            receiver,
            counters,
            sdp,
            errors,
            open,
        };

        let start = Instant::now();
        loop {
            let connected = [&send, &recv].iter().all(|w| {
                w.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state")
                    == gst_webrtc::WebRTCPeerConnectionState::Connected
            });
            if connected {
                return Ok(call);
            }
            if let Some(e) = call.errors.lock().unwrap().first() {
                return Err(e.clone());
            }
            if start.elapsed() > timeout {
                return Err(format!(
                    "not connected after {timeout:?}: sender {:?}, receiver {:?}",
                    send.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state"),
                    recv.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state"),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Lets encoded media through to the payloaders (`true`: video from the next keyframe,
    /// which is asked of the encoder) or drops it after the encoders (`false`).
    pub fn open(&self, open: bool) {
        self.open.store(open, Ordering::SeqCst);
        if open {
            let event = gst_video::UpstreamForceKeyUnitEvent::builder()
                .all_headers(true)
                .build();
            src_pad(&self.sender, "venc").send_event(event);
        }
    }

    /// A payloader of the sender (`vpay` or `apay`).
    pub fn payloader(&self, name: &str) -> gst::Element {
        self.sender.by_name(name).unwrap()
    }

    /// A depayloader of the receiver (`vdepay` or `adepay`), once its stream has arrived.
    pub fn depayloader(&self, name: &str) -> Option<gst::Element> {
        self.receiver.by_name(name)
    }
}

/// The payload length of an RTP packet (without header, CSRCs, extension and padding).
pub fn rtp_payload_len(p: &[u8]) -> Option<usize> {
    if p.len() < 12 {
        return None;
    }
    let mut start = 12 + 4 * usize::from(p[0] & 0x0f);
    if p[0] & 0x10 != 0 {
        let head = p.get(start..start + 4)?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([head[2], head[3]]));
    }
    let padding = if p[0] & 0x20 != 0 {
        usize::from(*p.last()?)
    } else {
        0
    };
    p.len().checked_sub(start + padding)
}

impl Drop for Call {
    fn drop(&mut self) {
        let _ = self.sender.set_state(gst::State::Null);
        let _ = self.receiver.set_state(gst::State::Null);
    }
}
