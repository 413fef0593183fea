// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

use std::sync::atomic::Ordering;
use std::time::Duration;

use gst::prelude::*;

use super::*;

/// The error and warning messages of the call. libwebrtc sends padding-only packets
/// (bandwidth probes, RFC 3550 §5.1 padding) on the video SSRC: `rtph264depay` skips them
/// silently, and so does `rtph264depay2` (counted in `stats` `packets-without-payload`), so
/// none is expected.
fn call_warnings_and_errors(messages: &std::sync::Mutex<Vec<String>>) -> Vec<String> {
    errors_and_warnings(messages)
}

/// Issue item 2: Chromium's H.264 (its fake camera, encoded by OpenH264) decoded through
/// `rtph264depay2`, and through the C `rtph264depay` on the same packets.
#[test]
fn h264_side_by_side_with_c() {
    let test = "from_chromium::h264_side_by_side_with_c";
    if !enter_browser_test(test) {
        return;
    }
    let (pipeline, webrtc) = launch("webrtcbin name=webrtc bundle-policy=max-bundle");
    receive_only(
        &webrtc,
        &format!(
            "{},packetization-mode=(string)1,profile-level-id=(string)42e01f",
            h264_caps(true)
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
    let out = report
        .rtp("outbound-rtp", "video")
        .cloned()
        .unwrap_or_default();
    println!(
        "FIGURES h264 chromium->us: encoded {encoded} ({}, {}x{}), decoded by rtph264depay2 \
         {ours}, by rtph264depay {c}",
        out["encoderImplementation"], out["frameWidth"], out["frameHeight"]
    );
    let depay = pipeline.by_name("vdepay").unwrap();
    println!(
        "rtph264depay2 stats: {}",
        depay.property::<gst::Structure>("stats")
    );
    assert!(encoded >= 100.0, "Chromium encoded only {encoded} frames");
    assert!(
        ours as f64 >= 0.9 * encoded,
        "{ours} of {encoded} frames decoded"
    );
    assert_eq!(
        ours, c,
        "our depayloader and C's decoded different frame counts"
    );
    assert_eq!(call_warnings_and_errors(&messages), Vec::<String>::new());
    stop(pipeline, peer);
}

/// The other offer direction: Chromium offers (its camera and microphone, send-only, every
/// codec it has) and webrtcbin answers H.264 and G.722 only (its receive-only transceivers,
/// added before the offer arrives, carry those codecs); our and the C depayloader decode.
#[test]
fn chromium_offers_h264_and_g722() {
    let test = "from_chromium::chromium_offers_h264_and_g722";
    if !enter_browser_test(test) {
        return;
    }
    let (pipeline, webrtc) = launch("webrtcbin name=webrtc bundle-policy=max-bundle");
    receive_only(
        &webrtc,
        "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000",
    );
    receive_only(
        &webrtc,
        "application/x-rtp,media=audio,encoding-name=G722,clock-rate=8000",
    );
    let received = receive_from_browser(&pipeline, &webrtc);
    let messages = bus_messages(&pipeline);
    play(&pipeline);
    let mut options = Options::new(test);
    options.browser_offers = true;
    options.offer_direction = "sendonly".into();
    let peer = BrowserPeer::connect(&webrtc, options, CONNECT).expect("connected");
    assert!(peer.offer.contains("VP8/90000"), "{}", peer.offer);
    for codec in ["H264/90000", "G722/8000"] {
        assert!(peer.answer.contains(codec), "{}", peer.answer);
    }
    assert!(!peer.answer.contains("VP8"), "{}", peer.answer);
    std::thread::sleep(Duration::from_secs(8));
    let report = peer.next_report(REPORT).expect("a report");
    pipeline
        .by_name("vvalve")
        .expect("video arrived")
        .set_property("drop", true);
    std::thread::sleep(Duration::from_millis(1500));
    let encoded = report.number("outbound-rtp", "video", "framesEncoded");
    let (ours, c, samples) = (
        received.ours.load(Ordering::Relaxed),
        received.c.load(Ordering::Relaxed),
        received.samples.load(Ordering::Relaxed),
    );
    println!(
        "FIGURES chromium offers: encoded {encoded}, decoded by rtph264depay2 {ours}, by \
         rtph264depay {c}; {:.2} s of G.722 decoded",
        samples as f64 / 16000.0
    );
    assert!(encoded >= 60.0, "Chromium encoded only {encoded} frames");
    assert!(ours as f64 >= 0.9 * encoded, "{ours} of {encoded}");
    assert_eq!(ours, c);
    assert!(samples >= 5 * 16000, "{samples} samples");
    assert_eq!(call_warnings_and_errors(&messages), Vec::<String>::new());
    stop(pipeline, peer);
}
