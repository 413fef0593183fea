// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! An RTSP server (gst-rtsp-server) serving test streams through our payloaders:
//! `rtsp://127.0.0.1:PORT/h264`, `/h265` and `/g722`. Prints, every second, the packets and
//! bitrate each connected payloader has sent.
//!
//! `cargo run --release --example rtsp_server -- [--port 8554] [--seconds N]`
//! then e.g. `ffplay rtsp://127.0.0.1:8554/h264` or
//! `gst-launch-1.0 rtspsrc location=rtsp://127.0.0.1:8554/h265 ! rtph265depay2 ! avdec_h265 ! autovideosink`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

#[allow(dead_code)]
#[path = "../tests/common/rtsp.rs"]
mod rtsp;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let port = value("--port").unwrap_or(8554);
    let seconds = value("--seconds");
    gst::init().expect("gst init");
    gstrtp2::plugin_register_static().expect("register rtp2");

    let main_loop = glib::MainLoop::new(None, false);
    let (_source, payloaders, recorded) = rtsp::server(port as u16, None);
    for (path, _) in rtsp::STREAMS {
        println!("serving rtsp://127.0.0.1:{port}{path}");
    }
    println!(
        "recording H.264 at rtsp://127.0.0.1:{port}{} (RTSP RECORD, e.g. rtspclientsink)",
        rtsp::RECORD_PATH
    );

    let start = Instant::now();
    let last_bytes: Arc<Mutex<Vec<u64>>> = Arc::default();
    let l = main_loop.clone();
    glib::timeout_add(Duration::from_secs(1), move || {
        let pays = payloaders.lock().unwrap();
        let mut last = last_bytes.lock().unwrap();
        last.resize(pays.len(), 0);
        for (i, (path, pay)) in pays.iter().enumerate() {
            let stats = pay.property::<gst::Structure>("stats");
            let bytes = stats.get::<u64>("bytes-sent").unwrap_or(0);
            println!(
                "{path}: {} packets, {:.0} kbit/s",
                stats.get::<u64>("packets-sent").unwrap_or(0),
                (bytes.saturating_sub(last[i])) as f64 * 8.0 / 1000.0
            );
            last[i] = bytes;
        }
        for depay in recorded.depayloaders.lock().unwrap().iter() {
            let stats = depay.property::<gst::Structure>("stats");
            println!(
                "{}: received {} packets, lost {}, {} frames decoded",
                rtsp::RECORD_PATH,
                stats.get::<u64>("packets-received").unwrap_or(0),
                stats.get::<u64>("packets-lost").unwrap_or(0),
                recorded.frames.load(std::sync::atomic::Ordering::Relaxed)
            );
        }
        if seconds.is_some_and(|s| start.elapsed() >= Duration::from_secs(s)) {
            l.quit();
            return glib::ControlFlow::Break;
        }
        glib::ControlFlow::Continue
    });
    main_loop.run();
}
