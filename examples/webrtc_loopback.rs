// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Live demo: a WebRTC call between two `webrtcbin` peers in this process (offer/answer in
//! memory, ICE on 127.0.0.1, DTLS-SRTP, BUNDLE), H.264 through `rtph264pay2` →
//! `rtph264depay2` and G.722 through `rtpg722pay2` → `rtpg722depay2`, with transport-wide cc
//! and audio level header extensions. Prints packets, bitrate, loss and decoded frames every
//! second, then a summary.
//!
//! `cargo run --release --example webrtc_loopback -- [--seconds N] [--sdp]`
//! (`--sdp` prints the offer and the answer).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[allow(dead_code)]
#[path = "../tests/common/webrtc.rs"]
mod webrtc;

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use cli::arg_value;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let seconds = arg_value(&args, "--seconds", 5).clamp(1, 3600);
    gst::init()?;
    gstrtp2::plugin_register_static()?;

    let started = Instant::now();
    let call = webrtc::Call::connect(Duration::from_secs(30))?;
    println!("Connected in {} ms", started.elapsed().as_millis());
    if args.iter().any(|a| a == "--sdp") {
        let (offer, answer) = call.sdp.lock().unwrap().clone();
        println!("--- offer\n{}", offer.unwrap_or_default());
        println!("--- answer\n{}", answer.unwrap_or_default());
    }
    let c = &call.counters;
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    call.open(true);
    let mut last_bytes = 0;
    for second in 1..=seconds {
        std::thread::sleep(Duration::from_secs(1));
        if let Some(e) = call.errors.lock().unwrap().first() {
            return Err(e.clone().into());
        }
        let bytes = get(&c.bytes_received);
        println!(
            "{second:>3} s: video sent {:>5} received {:>5} lost {:>3}, audio received {:>4}, \
             {:>6.0} kbit/s, frames encoded {:>4} decoded {:>4}",
            get(&c.video_packets_sent),
            get(&c.video_packets_received),
            get(&c.video_packets_sent).saturating_sub(get(&c.video_packets_received)),
            get(&c.audio_packets_received),
            (bytes - last_bytes) as f64 * 8.0 / 1000.0,
            get(&c.frames_encoded),
            get(&c.frames_decoded),
        );
        last_bytes = bytes;
    }
    call.open(false);
    // What is in flight arrives well within a second on loopback.
    std::thread::sleep(Duration::from_millis(500));
    println!(
        "Summary: {} of {} frames decoded, {:.2} s of audio decoded; video packets {} sent, \
         {} received ({} with transport-wide cc); audio packets with both extensions {} of {}",
        get(&c.frames_decoded),
        get(&c.frames_encoded),
        get(&c.audio_samples_decoded) as f64 / 16000.0,
        get(&c.video_packets_sent),
        get(&c.video_packets_received),
        get(&c.video_packets_with_twcc),
        get(&c.audio_packets_with_extensions),
        get(&c.audio_packets_received),
    );
    if get(&c.frames_decoded) == 0 {
        return Err("no frame decoded".into());
    }
    Ok(())
}
