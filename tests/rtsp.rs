// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! gst-rtsp-server with our payloaders (`pay0`), played by real clients over 127.0.0.1:
//! ffmpeg over RTSP/TCP and RTSP/UDP (H.264, H.265, G.722) and a GStreamer `rtspsrc` client
//! with our depayloader.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gst::prelude::*;

mod common;

use common::rtsp::RunningServer;

/// Frames ffmpeg decoded from `url` (stops at `frames`).
fn ffmpeg_frames(url: &str, transport: &str, frames: u32) -> u32 {
    let out = Command::new("timeout")
        .args([
            "30",
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-stats",
        ])
        .args(["-rtsp_transport", transport, "-i", url])
        .args(["-frames:v", &frames.to_string(), "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let stderr = String::from_utf8_lossy(&out.stderr).replace('\r', "\n");
    stderr
        .lines()
        .rev()
        .filter_map(|l| l.trim().strip_prefix("frame="))
        .find_map(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn ffmpeg_plays_every_stream_over_tcp_and_udp() {
    common::init();
    let server = RunningServer::start();
    for transport in ["tcp", "udp"] {
        assert_eq!(
            ffmpeg_frames(&server.url("/h264"), transport, 30),
            30,
            "H.264 {transport}"
        );
    }
    assert_eq!(
        ffmpeg_frames(&server.url("/h265"), "tcp", 30),
        30,
        "H.265 tcp"
    );
    let out = Command::new("timeout")
        .args([
            "30",
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
        ])
        .args(["-rtsp_transport", "tcp", "-i", &server.url("/g722")])
        .args(["-t", "1", "-f", "s16le", "-"])
        .output()
        .expect("ffmpeg runs");
    // One second of 16 kHz mono 16-bit audio.
    assert!(
        out.stdout.len() >= 30_000,
        "G.722: {} bytes",
        out.stdout.len()
    );
    let sent: Vec<String> = server
        .payloaders
        .lock()
        .unwrap()
        .iter()
        .map(|(path, _)| path.clone())
        .collect();
    assert!(
        sent.iter().any(|p| p == "/h265"),
        "media prepared: {sent:?}"
    );
}

#[test]
fn rtspsrc_with_our_depayloaders() {
    common::init();
    let server = RunningServer::start();
    for (path, chain, want) in [
        ("/h264", "rtph264depay2 ! h264parse ! avdec_h264", 30),
        ("/h265", "rtph265depay2 ! h265parse ! avdec_h265", 30),
        ("/g722", "rtpg722depay2 ! avdec_g722", 25),
    ] {
        let pipeline = gst::parse::launch(&format!(
            "rtspsrc location={} protocols=tcp latency=100 ! {chain} ! fakesink name=sink sync=false",
            server.url(path)
        ))
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        pipeline
            .by_name("sink")
            .unwrap()
            .static_pad("sink")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                c.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            });
        pipeline.set_state(gst::State::Playing).unwrap();
        let bus = pipeline.bus().unwrap();
        let start = Instant::now();
        while count.load(Ordering::Relaxed) < want && start.elapsed() < Duration::from_secs(20) {
            if let Some(msg) = bus.timed_pop_filtered(
                gst::ClockTime::from_mseconds(100),
                &[gst::MessageType::Error],
            ) {
                pipeline.set_state(gst::State::Null).unwrap();
                panic!("{path}: {msg:?}");
            }
        }
        pipeline.set_state(gst::State::Null).unwrap();
        assert!(
            count.load(Ordering::Relaxed) >= want,
            "{path}: {} buffers decoded",
            count.load(Ordering::Relaxed)
        );
    }
}

/// RTSP RECORD: `rtspclientsink` with `rtph264pay2` as its payloader (the pad's `payloader`
/// property) records to gst-rtsp-server, whose RECORD media depayloads with
/// `rtph264depay2`; every frame the client encoded is decoded on the server.
#[test]
fn rtspclientsink_records_through_our_payloader_and_depayloader() {
    common::init();
    let server = RunningServer::start();
    let frames = 90;
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc is-live=true num-buffers={frames} pattern=ball \
         ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 \
         ! x264enc name=enc tune=zerolatency speed-preset=ultrafast key-int-max=30 \
         rtspclientsink name=sink protocols=tcp latency=0 location={}",
        server.url(common::rtsp::RECORD_PATH)
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sink = pipeline.by_name("sink").unwrap();
    let pad = sink
        .request_pad_simple("sink_%u")
        .expect("rtspclientsink pad");
    let payloader = gst::ElementFactory::make("rtph264pay2")
        .property("config-interval", -1i32)
        .build()
        .unwrap();
    pad.set_property("payloader", &payloader);
    let enc_src = pipeline.by_name("enc").unwrap().static_pad("src").unwrap();
    let encoded = Arc::new(AtomicUsize::new(0));
    let e = encoded.clone();
    enc_src.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        e.fetch_add(1, Ordering::Relaxed);
        gst::PadProbeReturn::Ok
    });
    enc_src.link(&pad).unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();

    // rtspclientsink sometimes takes long to finish after EOS (its TEARDOWN), which is not
    // what is tested: wait for the frames instead, and fail on an error of the client.
    let bus = pipeline.bus().unwrap();
    let recorded = &server.recorded;
    let start = Instant::now();
    let mut error = None;
    while (encoded.load(Ordering::Relaxed) < frames
        || recorded.frames.load(Ordering::Relaxed) < encoded.load(Ordering::Relaxed) as u64)
        && start.elapsed() < Duration::from_secs(30)
        && error.is_none()
    {
        error = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(50),
            &[gst::MessageType::Error],
        );
    }
    let sent = payloader.property::<gst::Structure>("stats");
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(error.is_none(), "client: {error:?}");
    assert_eq!(encoded.load(Ordering::Relaxed), frames);
    assert_eq!(
        recorded.frames.load(Ordering::Relaxed),
        frames as u64,
        "frames decoded by the server"
    );
    assert_eq!(recorded.depayloaders.lock().unwrap().len(), 1);
    assert_eq!(
        recorded.packets.load(Ordering::Relaxed),
        sent.get::<u64>("packets-sent").unwrap(),
        "packets into rtph264depay2, and {sent}"
    );
}
