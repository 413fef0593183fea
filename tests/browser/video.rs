// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::*;

/// x264, fast and without B-frames, a keyframe only when asked (or every 10 s).
const X264: &str = "x264enc name=venc tune=zerolatency speed-preset=ultrafast key-int-max=300";
/// OpenH264 (Chromium's own H.264 encoder), a keyframe only when asked (or every 10 s).
const OPENH264: &str = "openh264enc name=venc gop-size=300";

/// Our H.264 sender: a 320×240 30 fps test pattern, `encoder` (named `venc`) in constrained
/// baseline, `rtph264pay2`, a `netsim` dropping `loss` of the packets, into webrtcbin (NACK
/// feedback negotiated with `nack`, PLI always).
fn h264_sender(encoder: &str, loss: f64, nack: bool) -> String {
    format!(
        "webrtcbin name=webrtc bundle-policy=max-bundle \
         videotestsrc is-live=true pattern=ball background-color=0xff1f4e79 \
         ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 \
         ! {encoder} ! video/x-h264,profile=constrained-baseline \
         ! rtph264pay2 name=vpay config-interval=-1 aggregate-mode=zero-latency \
         ! netsim drop-probability={loss} ! {} ! webrtc.",
        h264_caps(nack)
    )
}

/// What a run of our H.264 into Chromium gave.
struct H264Run {
    /// The page's report after the gate closed.
    report: Report,
    /// Frames that passed the gate.
    sent: u64,
    /// Upstream requests counted at `rtph264pay2`'s source pad.
    requests: Arc<Requests>,
    /// Chromium's `framesDecoded` in the first report after the first force-key-unit
    /// reached the payloader.
    decoded_at_first_request: Option<f64>,
    peer: BrowserPeer,
    pipeline: Running,
}

/// How our H.264 goes into Chromium.
struct H264Case<'a> {
    /// The encoder, named `venc`.
    encoder: &'a str,
    /// The share of packets `netsim` drops between the payloader and webrtcbin.
    loss: f64,
    /// NACK negotiated (PLI always is).
    nack: bool,
    /// Where to write a PNG of the page at 8 s, while the video plays.
    screenshot: Option<&'a std::path::Path>,
    /// After 10 s, keep sending (up to 20 s) until this holds of the page's report and
    /// Chromium's `framesDecoded` at the first force-key-unit request.
    until: fn(&Report, Option<f64>) -> bool,
}

/// Ten seconds (or more, see [`H264Case::until`]) of our H.264 into Chromium (see
/// [`h264_sender`]).
fn h264_to_chromium(test: &str, case: &H264Case) -> H264Run {
    let H264Case {
        encoder,
        loss,
        nack,
        screenshot,
        until,
    } = *case;
    let (pipeline, webrtc) = launch(&h264_sender(encoder, loss, nack));
    send_only(&webrtc);
    let gate = VideoGate::new(&src(&pipeline, "venc"));
    let requests = count_requests(&src(&pipeline, "vpay"));
    let messages = bus_messages(&pipeline);
    play(&pipeline);
    let peer = BrowserPeer::connect(&webrtc, Options::new(test), CONNECT).expect("connected");
    assert!(peer.answer.contains("H264/90000"), "{}", peer.answer);
    gate.open(true);
    let mut decoded_at_first_request = None;
    run_until(&peer, 20, |s, r| {
        if s == 8
            && let Some(png) = screenshot
        {
            peer.screenshot(png).expect("screenshot");
        }
        if requests.key_units.load(Ordering::Relaxed) > 0 && decoded_at_first_request.is_none() {
            decoded_at_first_request = Some(r.number("inbound-rtp", "video", "framesDecoded"));
        }
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
        );
        s >= 10 && until(r, decoded_at_first_request)
    });
    gate.open(false);
    std::thread::sleep(Duration::from_millis(1500));
    let report = peer.next_report(REPORT).expect("a report");
    assert!(
        report.page_errors().is_empty(),
        "{:?}",
        report.page_errors()
    );
    let errors: Vec<String> = messages
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.starts_with("error"))
        .cloned()
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    H264Run {
        report,
        sent: gate.frames.load(Ordering::Relaxed),
        requests,
        decoded_at_first_request,
        peer,
        pipeline,
    }
}

/// Recovered from loss: a keyframe after the first decoded, and frames decoded after the
/// first keyframe request reached the payloader.
fn recovered(report: &Report, decoded_at_first_request: Option<f64>) -> bool {
    let n = |f: &str| report.number("inbound-rtp", "video", f);
    n("keyFramesDecoded") >= 2.0
        && decoded_at_first_request.is_some_and(|before| n("framesDecoded") >= before + 5.0)
}

/// Issue item 1 with 5 % of our packets dropped before webrtcbin: Chromium's PLIs reach
/// `rtph264pay2` as force-key-unit requests, x264 sends keyframes, and Chromium keeps
/// decoding. PLI only: with NACK negotiated as well, webrtcbin 1.22 keeps the NACKs (its
/// `rtprtxsend` takes them, none reaches the payloader), libwebrtc waits for retransmissions
/// that cannot come and asks for a keyframe only every few seconds (measured: 17 of 300
/// frames decoded, 282 NACKs, 3 PLIs in 10 s).
#[test]
fn h264_to_chromium_recovers_from_loss() {
    let test = "video::h264_to_chromium_recovers_from_loss";
    if !enter_browser_test(test) {
        return;
    }
    let H264Run {
        report,
        sent,
        requests,
        decoded_at_first_request,
        peer,
        pipeline,
    } = h264_to_chromium(
        test,
        &H264Case {
            encoder: X264,
            loss: 0.05,
            nack: false,
            screenshot: None,
            until: recovered,
        },
    );
    let n = |f: &str| report.number("inbound-rtp", "video", f);
    let (key_units, retransmissions) = (
        requests.key_units.load(Ordering::Relaxed),
        requests.retransmissions.load(Ordering::Relaxed),
    );
    println!(
        "FIGURES h264 us->chromium 5% loss: sent {sent}, decoded {}, keyframes decoded {}, \
         packets lost {}, NACKs {} PLIs {} sent by Chromium; at rtph264pay2: {key_units} \
         force-key-unit, {retransmissions} retransmission requests; dropped {}, freezes {}; decoded at the first request {decoded_at_first_request:?}",
        n("framesDecoded"),
        n("keyFramesDecoded"),
        n("packetsLost"),
        n("nackCount"),
        n("pliCount"),
        n("framesDropped"),
        n("freezeCount"),
    );
    assert!(peer.answer.contains("nack pli"), "{}", peer.answer);
    assert!(!peer.answer.contains("nack\r\n"), "{}", peer.answer);
    assert!(n("packetsLost") > 0.0, "netsim dropped nothing");
    assert!(key_units > 0, "no PLI reached the payloader");
    // The payloader counts the requests it saw in its own stats.
    let vpay = pipeline.by_name("vpay").expect("vpay");
    let stats = vpay.property::<gst::Structure>("stats");
    assert_eq!(
        stats.get::<u64>("keyframe-requests").unwrap(),
        key_units,
        "{stats}"
    );
    // Recovered: a keyframe after the first was decoded, and frames after the first
    // request. (libwebrtc without NACK asks for a keyframe about 3 s into a freeze, so the
    // share of frames decoded depends on where the losses fall: not asserted.)
    assert!(n("keyFramesDecoded") >= 2.0, "no keyframe after the first");
    let before = decoded_at_first_request.expect("a force-key-unit reached the payloader");
    assert!(
        n("framesDecoded") >= before + 5.0,
        "{} frames decoded at the end, {before} at the first request",
        n("framesDecoded")
    );
    stop(pipeline, peer);
}

/// Issue item 1 and 5: our H.264 (from x264) plays in Chromium; a screenshot of the page is
/// kept.
#[test]
fn h264_to_chromium_every_frame_decoded() {
    let test = "video::h264_to_chromium_every_frame_decoded";
    if !enter_browser_test(test) {
        return;
    }
    let png = artifacts_dir().join("h264_to_chromium.png");
    let _ = std::fs::remove_file(&png);
    every_frame_decoded(test, X264, Some(&png));
    let shot = std::fs::read(&png).unwrap();
    assert!(
        shot.starts_with(b"\x89PNG\r\n\x1a\n") && shot.len() > 10_000,
        "{} bytes",
        shot.len()
    );
}

/// Issue item 1 with OpenH264, the encoder Chromium itself uses, behind `rtph264pay2`.
#[test]
fn h264_from_openh264enc_to_chromium_every_frame_decoded() {
    let test = "video::h264_from_openh264enc_to_chromium_every_frame_decoded";
    if !enter_browser_test(test) {
        return;
    }
    every_frame_decoded(test, OPENH264, None);
}

/// Ten seconds of `encoder`'s H.264 into Chromium: frames decoded ≥ 90 % of frames sent,
/// at least one keyframe, few frames dropped, few freezes, the right size.
fn every_frame_decoded(test: &str, encoder: &str, screenshot: Option<&std::path::Path>) {
    let H264Run {
        report,
        sent,
        peer,
        pipeline,
        ..
    } = h264_to_chromium(
        test,
        &H264Case {
            encoder,
            loss: 0.0,
            nack: true,
            screenshot,
            until: |_, _| true,
        },
    );
    let n = |f: &str| report.number("inbound-rtp", "video", f);
    let decoded = n("framesDecoded");
    println!(
        "FIGURES h264 us->chromium ({encoder}): sent {sent}, decoded {decoded}, keyframes {}, \
         dropped {}, freezes {}, {}x{}; screenshot {screenshot:?}",
        n("keyFramesDecoded"),
        n("framesDropped"),
        n("freezeCount"),
        n("frameWidth"),
        n("frameHeight"),
    );
    assert!(sent >= 200, "only {sent} frames sent in 10 s");
    assert!(
        decoded >= 0.9 * sent as f64,
        "{decoded} of {sent} frames decoded"
    );
    assert!(n("keyFramesDecoded") >= 1.0);
    assert!(
        n("framesDropped") <= 0.05 * sent as f64,
        "dropped {}",
        n("framesDropped")
    );
    assert!(n("freezeCount") <= 2.0, "freezes {}", n("freezeCount"));
    assert_eq!((n("frameWidth"), n("frameHeight")), (320.0, 240.0));
    stop(pipeline, peer);
}
