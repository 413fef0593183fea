// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Live demo: G.722 audio through `rtpg722pay2`, over UDP on 127.0.0.1, into `rtpg722depay2`
//! and `avdec_g722`. Prints what arrives every second, then a summary.
//!
//! `cargo run --release --example audio_loopback -- [--seconds N] [--loss PERCENT]`
//! (`--loss` drops packets between sender and receiver, to watch loss being counted).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gst::prelude::*;

#[path = "common/cli.rs"]
mod cli;

use cli::{arg_value, stat};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let seconds = arg_value(&args, "--seconds", 5).clamp(1, 3600);
    let loss = arg_value(&args, "--loss", 0).min(100);
    gst::init()?;
    gstrtp2::plugin_register_static()?;

    let port = std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let buffers = seconds * 50; // 20 ms of audio per buffer
    let impairment = if loss > 0 {
        format!("! identity drop-probability={} ", loss as f64 / 100.0)
    } else {
        String::new()
    };
    let sender = gst::parse::launch(&format!(
        "audiotestsrc is-live=true num-buffers={buffers} samplesperbuffer=320 wave=sine \
         ! audio/x-raw,rate=16000,channels=1 ! avenc_g722 ! rtpg722pay2 name=pay {impairment}\
         ! udpsink host=127.0.0.1 port={port}"
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline")?;
    let receiver = gst::parse::launch(&format!(
        "udpsrc address=127.0.0.1 port={port} \
           caps=\"application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9\" \
         ! rtpg722depay2 name=depay ! avdec_g722 ! appsink name=sink sync=false"
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline")?;

    let samples = Arc::new(AtomicU64::new(0));
    let s = samples.clone();
    let sink = receiver
        .by_name("sink")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or("no appsink")?;
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let bytes = sample.buffer().map_or(0, |b| b.size()) as u64;
                s.fetch_add(bytes / 2, Ordering::Relaxed);
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let depay = receiver.by_name("depay").ok_or("no depayloader")?;
    let pay = sender.by_name("pay").ok_or("no payloader")?;

    receiver.set_state(gst::State::Playing)?;
    sender.set_state(gst::State::Playing)?;
    println!("Sending {seconds} s of G.722 over RTP to 127.0.0.1:{port} (loss {loss}%)");

    cli::run_with_reports(&sender, Duration::from_secs(seconds + 5), |elapsed| {
        let stats = depay.property::<gst::Structure>("stats");
        let sent = pay.property::<gst::Structure>("stats");
        println!(
            "{elapsed:>3} s: sent {:>5} packets, received {:>5}, lost {:>4}, decoded {:.2} s",
            stat(&sent, "packets-sent"),
            stat(&stats, "packets-received"),
            stat(&stats, "packets-lost"),
            samples.load(Ordering::Relaxed) as f64 / 16000.0
        );
    })
    .map_err(|e| format!("sender: {e}"))?;
    // Let the last packets arrive.
    std::thread::sleep(Duration::from_millis(300));
    let stats = depay.property::<gst::Structure>("stats");
    let sent = pay.property::<gst::Structure>("stats");
    sender.set_state(gst::State::Null)?;
    receiver.set_state(gst::State::Null)?;

    let received = stat(&stats, "packets-received");
    let decoded = samples.load(Ordering::Relaxed) as f64 / 16000.0;
    println!(
        "Summary: sent {} packets, received {received}, lost {}, invalid {}, decoded {decoded:.2} s of audio",
        stat(&sent, "packets-sent"),
        stat(&stats, "packets-lost"),
        stat(&stats, "dropped-invalid"),
    );
    if received == 0 || decoded == 0.0 {
        return Err("nothing arrived".into());
    }
    Ok(())
}
