// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Two `webrtcbin` peers in one process (ICE on 127.0.0.1, DTLS-SRTP, BUNDLE): H.264 through
//! `rtph264pay2` → `rtph264depay2` and G.722 through `rtpg722pay2` → `rtpg722depay2`, with
//! the transport-wide cc and audio level header extensions negotiated by webrtcbin and
//! written by our payloader base class. Every frame encoded is decoded.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use gst::prelude::*;

mod common;

use common::webrtc::{AUDIO_LEVEL_URI, Call, TWCC_URI};

/// Polls `done` every 50 ms until it holds or `timeout` passes; returns whether it held.
fn wait_for(timeout: Duration, done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

#[test]
fn webrtcbin_pair_every_frame_decoded_with_header_extensions() {
    common::init();
    let call = Call::connect(Duration::from_secs(30)).expect("peers connect");
    let (offer, answer) = call.sdp.lock().unwrap().clone();
    let (offer, answer) = (offer.expect("offer"), answer.expect("answer"));
    for sdp in [&offer, &answer] {
        assert!(sdp.contains("H264/90000"), "{sdp}");
        assert!(sdp.contains("G722/8000"), "{sdp}");
        assert!(sdp.contains("profile-level-id="), "{sdp}");
    }
    for uri in [TWCC_URI, AUDIO_LEVEL_URI] {
        assert!(offer.contains(uri), "offer lacks {uri}:\n{offer}");
    }
    assert!(answer.contains(TWCC_URI), "answer lacks twcc:\n{answer}");

    let c = &call.counters;
    call.open(true);
    let flowing = wait_for(Duration::from_secs(30), || {
        c.frames_decoded.load(Ordering::Relaxed) >= 60
            && c.audio_samples_decoded.load(Ordering::Relaxed) >= 16_000
    });
    call.open(false);
    assert!(
        flowing,
        "media did not flow: {} frames decoded, {} samples, errors {:?}",
        c.frames_decoded.load(Ordering::Relaxed),
        c.audio_samples_decoded.load(Ordering::Relaxed),
        call.errors.lock().unwrap()
    );
    // Whatever was in flight when the valves closed arrives within a second on loopback.
    let all_in = wait_for(Duration::from_secs(10), || {
        c.frames_decoded.load(Ordering::Relaxed) == c.frames_encoded.load(Ordering::Relaxed)
            && c.audio_samples_decoded.load(Ordering::Relaxed)
                == 2 * c.audio_payload_bytes_sent.load(Ordering::Relaxed)
    });
    std::thread::sleep(Duration::from_millis(300));
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    assert!(call.errors.lock().unwrap().is_empty(), "{:?}", call.errors);
    assert!(all_in, "in flight never arrived");
    assert_eq!(get(&c.frames_decoded), get(&c.frames_encoded), "frames");
    // G.722 decodes two 16 kHz samples per payload byte.
    assert_eq!(
        get(&c.audio_samples_decoded),
        2 * get(&c.audio_payload_bytes_sent),
        "audio samples"
    );
    assert_eq!(
        get(&c.video_packets_received),
        get(&c.video_packets_sent),
        "video packets"
    );
    // Every packet carried the extensions webrtcbin negotiated, written by our base class.
    assert_eq!(
        get(&c.video_packets_with_twcc),
        get(&c.video_packets_received)
    );
    assert!(get(&c.audio_packets_received) > 0);
    assert_eq!(
        get(&c.audio_packets_with_extensions),
        get(&c.audio_packets_received)
    );
    let vpay = call.payloader("vpay");
    assert!(
        !vpay.property::<gst::Array>("extensions").is_empty(),
        "rtph264pay2 created the extension from the caps"
    );
    let depay = call.depayloader("vdepay").expect("video depayloader");
    let stats = depay.property::<gst::Structure>("stats");
    assert_eq!(
        stats.get::<u64>("packets-dropped").unwrap_or(0),
        0,
        "{stats}"
    );
}
