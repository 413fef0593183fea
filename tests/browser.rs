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
    let pipeline = gst::parse::launch(description)
        .expect("pipeline")
        .downcast::<gst::Pipeline>()
        .unwrap();
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
