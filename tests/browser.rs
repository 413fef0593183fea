// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Chromium (libwebrtc) as the WebRTC peer of our elements behind `webrtcbin`, in headless
//! Chromium inside a loopback-only network namespace (harness: tests/common/browser).
//! Figures are taken from the page's `getStats()` and from our own pad probes; each test
//! prints them (docs/interop.md collects them).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gst::prelude::*;

mod common;
// Shared harness (other tests and examples use parts this file does not).
#[allow(dead_code)]
#[path = "common/browser/mod.rs"]
mod browser;
#[allow(dead_code)]
#[path = "common/browser/media.rs"]
mod media;

/// G.722 both ways, the audio level extension, transport-wide cc, the harness's hooks.
#[path = "browser/audio.rs"]
mod audio;
/// Our RED + ULPFEC into Chromium.
#[path = "browser/fec.rs"]
mod fec;
/// Our H.264 with our FlexFEC (flexfec-03) into Chromium, with and without the FEC.
#[path = "browser/flexfec.rs"]
mod flexfec;
/// Chromium's H.264 into our and the C depayloader, with either side offering.
#[path = "browser/from_chromium.rs"]
mod from_chromium;
/// Our video orientation and playout delay header extensions read by Chromium.
#[path = "browser/hdrext.rs"]
mod hdrext;
/// Chromium's header extensions read by ours.
#[path = "browser/hdrext_from_chromium.rs"]
mod hdrext_from_chromium;
/// Our H.264 into Chromium.
#[path = "browser/video.rs"]
mod video;

use browser::{BrowserPeer, Options, Report, artifacts_dir, enter_browser_test};
use media::*;

const CONNECT: Duration = Duration::from_secs(40);
const REPORT: Duration = Duration::from_secs(5);

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
    let pipeline = element
        .clone()
        .downcast::<gst::Pipeline>()
        .unwrap_or_else(|_| {
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

/// Calls `each` once a second with the page's latest report, for `seconds`.
fn run_for(peer: &BrowserPeer, seconds: u64, mut each: impl FnMut(u64, &Report)) {
    run_until(peer, seconds, |second, report| {
        each(second, report);
        false
    });
}

/// Calls `each` once a second with the page's latest report until it returns `true`, for
/// at most `seconds`.
fn run_until(peer: &BrowserPeer, seconds: u64, mut each: impl FnMut(u64, &Report) -> bool) {
    for second in 1..=seconds {
        std::thread::sleep(Duration::from_secs(1));
        if let Some(r) = peer.latest()
            && each(second, &r)
        {
            return;
        }
    }
}

/// Stops `peer`'s browser, then `pipeline`.
fn stop(pipeline: Running, peer: BrowserPeer) {
    drop(peer);
    drop(pipeline);
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

/// Fails with the errors the bus carried, if any (warnings are allowed).
fn assert_no_errors(messages: &std::sync::Mutex<Vec<String>>) {
    let errors: Vec<String> = errors_and_warnings(messages)
        .into_iter()
        .filter(|m| m.starts_with("error"))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}
