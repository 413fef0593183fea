// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Chromium (libwebrtc) as the WebRTC peer of our elements behind `webrtcbin`, in headless
//! Chromium inside a loopback-only network namespace (harness: tests/common/browser).
//! Figures are taken from the page's `getStats()` and from our own pad probes; each test
//! prints them (docs/interop.md collects them).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gst::prelude::*;

mod common;
#[path = "common/browser/mod.rs"]
mod browser;
#[path = "common/browser/media.rs"]
mod media;

use browser::{BrowserPeer, Options, Report, artifacts_dir, netns::enter_private_network};
use media::*;

const CONNECT: Duration = Duration::from_secs(40);
const REPORT: Duration = Duration::from_secs(5);

/// Our H.264 sender: a 320×240 30 fps test pattern, x264 constrained baseline,
/// `rtph264pay2`, a `netsim` dropping `loss` of the packets, into webrtcbin.
fn h264_sender(loss: f64) -> String {
    format!(
        "webrtcbin name=webrtc bundle-policy=max-bundle \
         videotestsrc is-live=true pattern=ball \
         ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 \
         ! x264enc name=venc tune=zerolatency speed-preset=ultrafast key-int-max=300 \
         ! video/x-h264,profile=constrained-baseline \
         ! rtph264pay2 name=vpay config-interval=-1 aggregate-mode=zero-latency \
         ! netsim drop-probability={loss} ! {} ! webrtc.",
        h264_caps()
    )
}

/// A pipeline set to NULL when dropped, also when a test panics (netsim aborts when
/// disposed in PLAYING).
struct Running(gst::Pipeline);

impl std::ops::Deref for Running {
    type Target = gst::Pipeline;
    fn deref(&self) -> &gst::Pipeline {
        &self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}

fn launch(description: &str) -> (Running, gst::Element) {
    common::init();
    let element = gst::parse::launch(description).expect("pipeline");
    // A description of one element parses to that element, not to a pipeline.
    let pipeline = element.clone().downcast::<gst::Pipeline>().unwrap_or_else(|_| {
        let pipeline = gst::Pipeline::new();
        pipeline.add(&element).unwrap();
        pipeline
    });
    let webrtc = pipeline.by_name("webrtc").unwrap();
    (Running(pipeline), webrtc)
}

fn src(pipeline: &gst::Pipeline, name: &str) -> gst::Pad {
    pipeline.by_name(name).unwrap().static_pad("src").unwrap()
}

fn play(pipeline: &gst::Pipeline) {
    pipeline.set_state(gst::State::Playing).expect("playing");
}

/// Runs for `seconds`, printing the page's video figures once a second.
fn run_for(peer: &BrowserPeer, seconds: u64, mut each: impl FnMut(u64, &Report)) {
    for second in 1..=seconds {
        std::thread::sleep(Duration::from_secs(1));
        if let Some(r) = peer.latest() {
            each(second, &r);
        }
    }
}

/// Stops `peer`'s browser, then `pipeline`.
fn stop(pipeline: Running, peer: BrowserPeer) {
    drop(peer);
    drop(pipeline);
}

fn h264_to_chromium(test: &str, loss: f64) -> (Report, u64, Arc<Requests>, BrowserPeer, Running) {
    let (pipeline, webrtc) = launch(&h264_sender(loss));
    send_only(&webrtc);
    let gate = VideoGate::new(&src(&pipeline, "venc"));
    let requests = count_requests(&src(&pipeline, "vpay"));
    let messages = bus_messages(&pipeline);
    play(&pipeline);
    let peer = BrowserPeer::connect(&webrtc, Options::new(test), CONNECT).expect("connected");
    assert!(peer.answer.contains("H264/90000"), "{}", peer.answer);
    gate.open(true);
    run_for(&peer, 10, |s, r| {
        println!(
            "{s:>2} s: frames sent {}, decoded {}, keyframes {}, NACK {}, PLI {}; requests at \
             rtph264pay2: key units {}, retransmissions {}",
            gate.frames.load(Ordering::Relaxed),
            r.number("inbound-rtp", "video", "framesDecoded"),
            r.number("inbound-rtp", "video", "keyFramesDecoded"),
            r.number("inbound-rtp", "video", "nackCount"),
            r.number("inbound-rtp", "video", "pliCount"),
            requests.key_units.load(Ordering::Relaxed),
            requests.retransmissions.load(Ordering::Relaxed),
        )
    });
    gate.open(false);
    std::thread::sleep(Duration::from_millis(1500));
    let report = peer.next_report(REPORT).expect("a report");
    assert!(report.page_errors().is_empty(), "{:?}", report.page_errors());
    let errors: Vec<String> = messages
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.starts_with("error"))
        .cloned()
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    (report, gate.frames.load(Ordering::Relaxed), requests, peer, pipeline)
}

/// Issue item 1 and 5: our H.264 plays in Chromium; a screenshot of the page is kept.
#[test]
fn h264_to_chromium_every_frame_decoded() {
    let test = "h264_to_chromium_every_frame_decoded";
    if !enter_private_network(test) {
        return;
    }
    let (report, sent, _requests, peer, pipeline) = h264_to_chromium(test, 0.0);
    let png = artifacts_dir().join("h264_to_chromium.png");
    peer.screenshot(&png).expect("screenshot");
    let n = |f: &str| report.number("inbound-rtp", "video", f);
    let decoded = n("framesDecoded");
    println!(
        "FIGURES h264 us->chromium: sent {sent}, decoded {decoded}, keyframes {}, dropped {}, \
         freezes {}, {}x{}; screenshot {}",
        n("keyFramesDecoded"),
        n("framesDropped"),
        n("freezeCount"),
        n("frameWidth"),
        n("frameHeight"),
        png.display()
    );
    assert!(sent >= 200, "only {sent} frames sent in 10 s");
    assert!(decoded >= 0.9 * sent as f64, "{decoded} of {sent} frames decoded");
    assert!(n("keyFramesDecoded") >= 1.0);
    assert!(n("framesDropped") <= 0.05 * sent as f64, "dropped {}", n("framesDropped"));
    assert!(n("freezeCount") <= 2.0, "freezes {}", n("freezeCount"));
    assert_eq!((n("frameWidth"), n("frameHeight")), (320.0, 240.0));
    let shot = std::fs::read(&png).unwrap();
    assert!(shot.starts_with(b"\x89PNG\r\n\x1a\n") && shot.len() > 10_000, "{} bytes", shot.len());
    stop(pipeline, peer);
}

/// What the receive chains counted.
#[derive(Default)]
struct Received {
    /// Pictures out of `rtph264depay2 ! avdec_h264`.
    ours: AtomicU64,
    /// Pictures out of `rtph264depay ! avdec_h264` (the C depayloader) on the same packets.
    c: AtomicU64,
    /// Samples out of `rtpg722depay2 ! avdec_g722`.
    samples: AtomicU64,
}

/// Decodes what the browser sends: H.264 through our and the C depayloader side by side
/// (behind one valve, so both see the same packets), G.722 through ours.
fn receive_from_browser(pipeline: &gst::Pipeline, webrtc: &gst::Element) -> Arc<Received> {
    let received = Arc::new(Received::default());
    let (weak, r) = (pipeline.downgrade(), received.clone());
    webrtc.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else { return };
        if pad.direction() != gst::PadDirection::Src {
            return;
        }
        let r = r.clone();
        match media_of(pad).as_str() {
            "video" => {
                let bin = link_bin(
                    &pipeline,
                    pad,
                    "valve name=vvalve ! tee name=t \
                     t. ! queue ! rtph264depay2 name=vdepay ! avdec_h264 ! fakesink name=ours sync=false \
                     t. ! queue ! rtph264depay ! avdec_h264 ! fakesink name=c sync=false",
                );
                bin.set_property("name", "video");
                let sink = |n: &str| bin.by_name(n).unwrap().static_pad("sink").unwrap();
                let r2 = r.clone();
                on_buffers(&sink("ours"), move |_| {
                    r2.ours.fetch_add(1, Ordering::Relaxed);
                });
                on_buffers(&sink("c"), move |_| {
                    r.c.fetch_add(1, Ordering::Relaxed);
                });
            }
            "audio" => {
                let bin = link_bin(
                    &pipeline,
                    pad,
                    "rtpg722depay2 name=adepay ! avdec_g722 ! fakesink name=asink sync=false",
                );
                let sink = bin.by_name("asink").unwrap().static_pad("sink").unwrap();
                on_buffers(&sink, move |b| {
                    r.samples.fetch_add(b.size() as u64 / 2, Ordering::Relaxed);
                });
            }
            _ => {}
        }
    });
    received
}

fn errors_and_warnings(messages: &std::sync::Mutex<Vec<String>>) -> Vec<String> {
    messages.lock().unwrap().clone()
}

/// Issue item 2: Chromium's H.264 (its fake camera, encoded by OpenH264) decoded through
/// `rtph264depay2`, and through the C `rtph264depay` on the same packets.
#[test]
fn h264_from_chromium_side_by_side_with_c() {
    let test = "h264_from_chromium_side_by_side_with_c";
    if !enter_private_network(test) {
        return;
    }
    let (pipeline, webrtc) = launch("webrtcbin name=webrtc bundle-policy=max-bundle");
    receive_only(
        &webrtc,
        &format!(
            "{},packetization-mode=(string)1,profile-level-id=(string)42e01f",
            h264_caps()
        ),
    );
    let received = receive_from_browser(&pipeline, &webrtc);
    let messages = bus_messages(&pipeline);
    play(&pipeline);
    let peer = BrowserPeer::connect(&webrtc, Options::new(test), CONNECT).expect("connected");
    assert!(peer.answer.contains("H264/90000"), "{}", peer.answer);
    run_for(&peer, 10, |s, r| {
        println!(
            "{s:>2} s: Chromium encoded {}, decoded here: ours {}, C {}",
            r.number("outbound-rtp", "video", "framesEncoded"),
            received.ours.load(Ordering::Relaxed),
            received.c.load(Ordering::Relaxed),
        )
    });
    // The newest report, then the valve: what Chromium had encoded by then has arrived.
    let report = peer.next_report(REPORT).expect("a report");
    let valve = pipeline.by_name("vvalve").expect("video arrived");
    valve.set_property("drop", true);
    std::thread::sleep(Duration::from_millis(1500));
    let encoded = report.number("outbound-rtp", "video", "framesEncoded");
    let (ours, c) = (
        received.ours.load(Ordering::Relaxed),
        received.c.load(Ordering::Relaxed),
    );
    let out = report.rtp("outbound-rtp", "video").cloned().unwrap_or_default();
    println!(
        "FIGURES h264 chromium->us: encoded {encoded} ({}, {}x{}), decoded by rtph264depay2 \
         {ours}, by rtph264depay {c}",
        out["encoderImplementation"], out["frameWidth"], out["frameHeight"]
    );
    let depay = pipeline.by_name("vdepay").unwrap();
    println!("rtph264depay2 stats: {}", depay.property::<gst::Structure>("stats"));
    assert!(encoded >= 100.0, "Chromium encoded only {encoded} frames");
    assert!(ours as f64 >= 0.9 * encoded, "{ours} of {encoded} frames decoded");
    assert_eq!(ours, c, "our depayloader and C's decoded different frame counts");
    // Known difference, left to the depayloader base class: libwebrtc sends padding-only
    // packets (bandwidth probes, RFC 3550 §5.1 padding) on the video SSRC; rtph264depay
    // skips them silently, rtph264depay2 counts them in `dropped-payload` and posts a
    // (rate-limited) "payload empty" warning. Any other message fails the test.
    let messages = errors_and_warnings(&messages);
    let unexpected: Vec<&String> = messages
        .iter()
        .filter(|m| !(m.starts_with("warning") && m.contains("vdepay") && m.contains("payload empty")))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    if !messages.is_empty() {
        println!("KNOWN rtph264depay2 warns on padding-only packets: {}", messages.len());
    }
    stop(pipeline, peer);
}

/// Issue item 3: G.722 both ways on one send-receive m-section: `rtpg722pay2` into
/// Chromium (its samples received grow at 16 kHz, almost none concealed), Chromium's
/// microphone (fake device) through `rtpg722depay2 ! avdec_g722` (decoded duration matches
/// the wall clock).
#[test]
fn g722_to_and_from_chromium() {
    let test = "g722_to_and_from_chromium";
    if !enter_private_network(test) {
        return;
    }
    let (pipeline, webrtc) = launch(&format!(
        "webrtcbin name=webrtc bundle-policy=max-bundle \
         audiotestsrc is-live=true wave=sine freq=440 volume=0.3 \
         ! audio/x-raw,rate=16000,channels=1 ! avenc_g722 ! rtpg722pay2 name=apay \
         ! {} ! webrtc.",
        g722_caps(false)
    ));
    let received = receive_from_browser(&pipeline, &webrtc);
    let messages = bus_messages(&pipeline);
    play(&pipeline);
    let peer = BrowserPeer::connect(&webrtc, Options::new(test), CONNECT).expect("connected");
    assert!(peer.answer.contains("G722/8000"), "{}", peer.answer);
    assert!(peer.answer.contains("a=sendrecv"), "{}", peer.answer);
    // Two seconds to settle, then ten measured.
    std::thread::sleep(Duration::from_secs(2));
    let first = peer.next_report(REPORT).expect("a report");
    let (start, start_samples) = (std::time::Instant::now(), received.samples.load(Ordering::Relaxed));
    run_for(&peer, 10, |s, r| {
        println!(
            "{s:>2} s: Chromium received {} samples ({} concealed); decoded here {}",
            r.number("inbound-rtp", "audio", "totalSamplesReceived"),
            r.number("inbound-rtp", "audio", "concealedSamples"),
            received.samples.load(Ordering::Relaxed),
        )
    });
    let last = peer.next_report(REPORT).expect("a report");
    let (wall, samples) = (
        start.elapsed().as_secs_f64(),
        received.samples.load(Ordering::Relaxed) - start_samples,
    );
    let delta = |f: &str| last.number("inbound-rtp", "audio", f) - first.number("inbound-rtp", "audio", f);
    let page_seconds = (last.now() - first.now()) / 1000.0;
    let rate = delta("totalSamplesReceived") / page_seconds;
    let concealed = delta("concealedSamples") / delta("totalSamplesReceived").max(1.0);
    let decoded_seconds = samples as f64 / 16000.0;
    let out = last.rtp("outbound-rtp", "audio").cloned().unwrap_or_default();
    println!(
        "FIGURES g722 us->chromium: {rate:.0} samples/s received, {:.3}% concealed \
         (total {} received, {} concealed); chromium->us: {decoded_seconds:.3} s decoded \
         in {wall:.3} s, Chromium sent {} packets",
        100.0 * concealed,
        last.number("inbound-rtp", "audio", "totalSamplesReceived"),
        last.number("inbound-rtp", "audio", "concealedSamples"),
        out["packetsSent"],
    );
    assert!((rate / 16000.0 - 1.0).abs() <= 0.05, "{rate} samples/s");
    assert!(concealed < 0.02, "{:.2}% concealed", 100.0 * concealed);
    assert!(
        (decoded_seconds / wall - 1.0).abs() <= 0.05,
        "{decoded_seconds} s decoded in {wall} s"
    );
    let messages = errors_and_warnings(&messages);
    assert!(messages.is_empty(), "{messages:?}");
    stop(pipeline, peer);
}
