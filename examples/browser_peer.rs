// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Live demo: a browser as the WebRTC peer of our elements. `webrtcbin` sends H.264
//! (`x264enc ! rtph264pay2`) and G.722 (`avenc_g722 ! rtpg722pay2`) on send-receive
//! m-sections; the page (served on 127.0.0.1) plays them and sends its camera and
//! microphone back, which `rtph264depay2 ! avdec_h264` and `rtpg722depay2 ! avdec_g722`
//! decode here. Every second the terminal shows both sides: what we sent, what the browser
//! decoded (its `getStats()`), what came back.
//!
//! `cargo run --release --example browser_peer -- [--headless] [--seconds N]`
//!
//! Without `--headless` it prints the page's address: open it in a browser on this machine
//! (allow the camera and microphone to get media back). With `--headless` it starts
//! Chromium itself (fake camera and microphone). The tests run the same thing inside a
//! loopback-only network namespace; to do that here: `unshare -n sh -c 'ip link set lo up;
//! target/release/examples/browser_peer --headless'` (as root).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gst::prelude::*;

#[allow(dead_code)]
#[path = "../tests/common/browser/mod.rs"]
mod browser;
#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "../tests/common/browser/media.rs"]
mod media;

use browser::{BrowserPeer, Options};

fn description() -> String {
    format!(
        "webrtcbin name=webrtc bundle-policy=max-bundle \
         videotestsrc is-live=true pattern=ball background-color=0xff1f4e79 \
         ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 \
         ! x264enc name=venc tune=zerolatency speed-preset=ultrafast key-int-max=300 \
         ! video/x-h264,profile=constrained-baseline \
         ! rtph264pay2 name=vpay config-interval=-1 aggregate-mode=zero-latency ! {} ! webrtc. \
         audiotestsrc is-live=true wave=ticks ! audio/x-raw,rate=16000,channels=1 \
         ! avenc_g722 ! rtpg722pay2 name=apay ! {} ! webrtc.",
        media::h264_caps(true),
        media::g722_caps(false)
    )
}

/// Pictures and samples decoded from what the browser sends back.
#[derive(Default)]
struct Back {
    frames: AtomicU64,
    samples: AtomicU64,
}

fn decode_back(pipeline: &gst::Pipeline, webrtc: &gst::Element) -> Arc<Back> {
    let back = Arc::new(Back::default());
    let (weak, b) = (pipeline.downgrade(), back.clone());
    webrtc.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else {
            return;
        };
        let b = b.clone();
        let video = match media::media_of(pad).as_str() {
            "video" => true,
            "audio" => false,
            _ => return,
        };
        let chain = if video {
            "rtph264depay2 ! avdec_h264 ! fakesink name=sink sync=false"
        } else {
            "rtpg722depay2 ! avdec_g722 ! fakesink name=sink sync=false"
        };
        let bin = media::link_bin(&pipeline, pad, chain);
        let sink = bin.by_name("sink").unwrap().static_pad("sink").unwrap();
        media::on_buffers(&sink, move |buffer| {
            if video {
                b.frames.fetch_add(1, Ordering::Relaxed);
            } else {
                b.samples
                    .fetch_add(buffer.size() as u64 / 2, Ordering::Relaxed);
            }
        });
    });
    back
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let headless = args.iter().any(|a| a == "--headless");
    let seconds = cli::arg_value(&args, "--seconds", if headless { 15 } else { 120 }).max(1);
    gst::init()?;
    gstrtp2::plugin_register_static()?;

    let pipeline = gst::parse::launch(&description())?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline")?;
    let webrtc = pipeline.by_name("webrtc").ok_or("no webrtcbin")?;
    let src = |name: &str| pipeline.by_name(name).unwrap().static_pad("src").unwrap();
    let gate = media::VideoGate::new(&src("venc"));
    let requests = media::count_requests(&src("vpay"));
    let audio_packets = media::count_buffers(&src("apay"));
    let back = decode_back(&pipeline, &webrtc);
    let messages = media::bus_messages(&pipeline);
    pipeline.set_state(gst::State::Playing)?;

    let mut options = Options::new("browser_peer");
    options.launch = headless;
    let wait = Duration::from_secs(if headless { 40 } else { 600 });
    let peer = match BrowserPeer::connect(&webrtc, options, wait) {
        Ok(peer) => peer,
        Err(e) => {
            pipeline.set_state(gst::State::Null)?;
            return Err(e.into());
        }
    };
    println!("Connected. Sending H.264 320x240 30 fps and G.722; {seconds} s.");
    gate.open(true);
    let mut last_bytes = 0.0;
    for second in 1..=seconds {
        std::thread::sleep(Duration::from_secs(1));
        let Some(r) = peer.latest() else { continue };
        let bytes = r.number("inbound-rtp", "video", "bytesReceived");
        println!(
            "{second:>3} s | sent {:>5} frames, {:>5} audio packets | browser decoded {:>5} \
             frames ({:>4.0} kbit/s, {} keyframes, {} PLI), {:>7} samples ({} concealed) | \
             came back {:>4} frames, {:>5.1} s audio | key-unit requests {}",
            gate.frames.load(Ordering::Relaxed),
            audio_packets.load(Ordering::Relaxed),
            r.number("inbound-rtp", "video", "framesDecoded"),
            (bytes - last_bytes) * 8.0 / 1000.0,
            r.number("inbound-rtp", "video", "keyFramesDecoded"),
            r.number("inbound-rtp", "video", "pliCount"),
            r.number("inbound-rtp", "audio", "totalSamplesReceived"),
            r.number("inbound-rtp", "audio", "concealedSamples"),
            back.frames.load(Ordering::Relaxed),
            back.samples.load(Ordering::Relaxed) as f64 / 16000.0,
            requests.key_units.load(Ordering::Relaxed),
        );
        last_bytes = bytes;
        if let Some(e) = messages
            .lock()
            .unwrap()
            .iter()
            .find(|m| m.starts_with("error"))
        {
            println!("{e}");
            break;
        }
    }
    let last = peer.latest();
    drop(peer);
    pipeline.set_state(gst::State::Null)?;
    let decoded = last.map_or(0.0, |r| r.number("inbound-rtp", "video", "framesDecoded"));
    println!(
        "Summary: {} frames sent, {decoded} decoded by the browser; {} frames and {:.1} s of \
         audio came back",
        gate.frames.load(Ordering::Relaxed),
        back.frames.load(Ordering::Relaxed),
        back.samples.load(Ordering::Relaxed) as f64 / 16000.0
    );
    if decoded == 0.0 {
        return Err("the browser decoded no frame".into());
    }
    Ok(())
}
