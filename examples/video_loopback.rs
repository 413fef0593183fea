// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Live demo: H.264 (or H.265) video through `rtph264pay2` (`rtph265pay2`), over UDP on
//! 127.0.0.1, into `rtpjitterbuffer`, `rtph264depay2` (`rtph265depay2`) and the decoder.
//! Prints packets, bitrate, loss, keyframe requests and decoded frames every second, then a
//! summary.
//!
//! `cargo run --release --example video_loopback -- [--h265] [--seconds N] [--loss PERCENT]`
//! (`--loss` drops packets between sender and receiver; the depayloader then asks the encoder
//! for keyframes through `request-keyframe`, which this demo carries back over a channel).

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
    let (codec, encoder, decoder) = if args.iter().any(|a| a == "--h265") {
        (
            "h265",
            "x265enc tune=zerolatency speed-preset=ultrafast key-int-max=60",
            "avdec_h265",
        )
    } else {
        (
            "h264",
            "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=60",
            "avdec_h264",
        )
    };
    let encoding = codec.to_uppercase();
    gst::init()?;
    gstrtp2::plugin_register_static()?;

    let port = std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let impairment = if loss > 0 {
        format!("! identity drop-probability={} ", loss as f64 / 100.0)
    } else {
        String::new()
    };
    let sender = gst::parse::launch(&format!(
        "videotestsrc is-live=true pattern=ball num-buffers={} \
         ! video/x-raw,format=I420,width=640,height=360,framerate=30/1 \
         ! {encoder} name=enc ! rtp{codec}pay2 name=pay config-interval=-1 {impairment}\
         ! udpsink host=127.0.0.1 port={port}",
        seconds * 30
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline")?;
    let receiver = gst::parse::launch(&format!(
        "udpsrc address=127.0.0.1 port={port} \
           caps=\"application/x-rtp,media=video,clock-rate=90000,encoding-name={encoding},payload=96\" \
         ! rtpjitterbuffer latency=50 \
         ! rtp{codec}depay2 name=depay request-keyframe=true wait-for-keyframe=true \
         ! {decoder} ! fakesink name=sink sync=false"
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline")?;

    let frames = Arc::new(AtomicU64::new(0));
    let f = frames.clone();
    let sink = receiver.by_name("sink").ok_or("no sink")?;
    sink.static_pad("sink").ok_or("no sink pad")?.add_probe(
        gst::PadProbeType::BUFFER,
        move |_, _| {
            f.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        },
    );
    // Over plain UDP there is no RTCP here, so carry the depayloader's keyframe requests (an
    // upstream force-key-unit event) to the encoder by hand, as rtpbin would with a PLI.
    let depay = receiver.by_name("depay").ok_or("no depayloader")?;
    let encoder_src = sender
        .by_name("enc")
        .and_then(|e| e.static_pad("src"))
        .ok_or("no encoder")?;
    depay
        .static_pad("sink")
        .ok_or("no depayloader sink pad")?
        .add_probe(gst::PadProbeType::EVENT_UPSTREAM, move |_, info| {
            if let Some(event) = info.event()
                && gst_video::ForceKeyUnitEvent::is(event)
            {
                encoder_src.send_event(event.clone());
            }
            gst::PadProbeReturn::Ok
        });
    let pay = sender.by_name("pay").ok_or("no payloader")?;

    receiver.set_state(gst::State::Playing)?;
    sender.set_state(gst::State::Playing)?;
    println!("Sending {seconds} s of {encoding} over RTP to 127.0.0.1:{port} (loss {loss}%)");

    let mut last_bytes = 0;
    cli::run_with_reports(&sender, Duration::from_secs(seconds + 10), |elapsed| {
        let received = depay.property::<gst::Structure>("stats");
        let sent = pay.property::<gst::Structure>("stats");
        let bytes = stat(&received, "bytes-received");
        println!(
            "{elapsed:>3} s: sent {:>5} packets, received {:>5}, lost {:>4}, {:>5.0} kbit/s, \
             keyframe requests {:>3}, frames decoded {:>4}",
            stat(&sent, "packets-sent"),
            stat(&received, "packets-received"),
            stat(&received, "packets-lost"),
            bytes.saturating_sub(last_bytes) as f64 * 8.0 / 1000.0,
            stat(&received, "keyframe-requests"),
            frames.load(Ordering::Relaxed),
        );
        last_bytes = bytes;
    })
    .map_err(|e| format!("sender: {e}"))?;
    // Let the last packets through the jitterbuffer.
    std::thread::sleep(Duration::from_millis(300));
    let received = depay.property::<gst::Structure>("stats");
    let sent = pay.property::<gst::Structure>("stats");
    sender.set_state(gst::State::Null)?;
    receiver.set_state(gst::State::Null)?;

    let decoded = frames.load(Ordering::Relaxed);
    println!(
        "Summary: sent {} packets, received {}, lost {}, invalid {}, keyframe requests {}, \
         {decoded} of {} frames decoded",
        stat(&sent, "packets-sent"),
        stat(&received, "packets-received"),
        stat(&received, "packets-lost"),
        stat(&received, "dropped-invalid"),
        stat(&received, "keyframe-requests"),
        seconds * 30,
    );
    if decoded == 0 {
        return Err("no frame decoded".into());
    }
    Ok(())
}
