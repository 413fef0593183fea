// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Issue 18 with Chromium as the receiver: our video orientation (CVO) rotates the video in
//! the page, our playout delay sets Chromium's jitter buffer target delay.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;

use super::*;

const CVO_URI: &str = "urn:3gpp:video-orientation";
const DELAY_URI: &str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";

/// Our H.264 (x264, a key frame every 10 s) with the header extension `uri` (id 3) in the
/// caps webrtcbin offers from; `tags` go in before the encoder.
fn sender(uri: &str, tags: &str) -> String {
    format!(
        "webrtcbin name=webrtc bundle-policy=max-bundle \
         videotestsrc is-live=true pattern=ball \
         ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 \
         ! taginject tags=\"{tags}\" \
         ! x264enc name=venc tune=zerolatency speed-preset=ultrafast key-int-max=300 \
         ! video/x-h264,profile=constrained-baseline \
         ! rtph264pay2 name=vpay config-interval=-1 aggregate-mode=zero-latency \
         ! {},extmap-3=(string)\"{uri}\" ! webrtc.",
        h264_caps(true)
    )
}

/// The size the page shows the received video at (`videoWidth`, `videoHeight`).
fn shown_size(r: &Report) -> (f64, f64) {
    let v = &r.0["page"]["remoteVideo"];
    (
        v["width"].as_f64().unwrap_or(0.0),
        v["height"].as_f64().unwrap_or(0.0),
    )
}

/// The factories of the payloader's extensions.
fn extension_factories(pay: &gst::Element) -> Vec<String> {
    pay.property::<gst::Array>("extensions")
        .iter()
        .filter_map(|e| e.get::<gst::Element>().ok())
        .filter_map(|e| e.factory().map(|f| f.name().to_string()))
        .collect()
}

/// `image-orientation=rotate-90` before the encoder: `rtph264pay2` hands it to
/// `rtphdrextcvo` (created from the negotiated extmap), Chromium applies the rotation: the
/// page's video is 240×320 while the decoded frames stay 320×240. A `rotate-0` tag mid-call
/// turns it back.
#[test]
fn cvo_rotates_the_video_in_chromium() {
    let test = "hdrext::cvo_rotates_the_video_in_chromium";
    if !enter_browser_test(test) {
        return;
    }
    let (pipeline, webrtc) = launch(&sender(CVO_URI, "image-orientation=rotate-90"));
    send_only(&webrtc);
    let messages = bus_messages(&pipeline);
    play(&pipeline);
    let peer = BrowserPeer::connect(&webrtc, Options::new(test), CONNECT).expect("connected");
    assert!(peer.answer.contains(CVO_URI), "{}", peer.answer);
    let vpay = pipeline.by_name("vpay").unwrap();
    assert!(
        extension_factories(&vpay).contains(&"rtphdrextcvo".to_owned()),
        "{:?}",
        extension_factories(&vpay)
    );
    let mut rotated = None;
    run_until(&peer, 15, |s, r| {
        println!("{s:>2} s: shown {:?}", shown_size(r));
        if shown_size(r) == (240.0, 320.0) {
            rotated = Some(r.clone());
        }
        rotated.is_some()
    });
    let cvo = vpay
        .property::<gst::Array>("extensions")
        .iter()
        .filter_map(|e| e.get::<gst::Element>().ok())
        .find(|e| e.factory().is_some_and(|f| f.name() == "rtphdrextcvo"))
        .unwrap();
    let rotated = rotated.unwrap_or_else(|| {
        panic!(
            "the page never showed the video rotated to 240x320; extension {}, answer {}",
            cvo.property::<gst::Structure>("stats"),
            peer.answer
        )
    });
    let n = |r: &Report, f: &str| r.number("inbound-rtp", "video", f);
    // Decoded as sent; the rotation is applied when shown.
    assert_eq!(
        (n(&rotated, "frameWidth"), n(&rotated, "frameHeight")),
        (320.0, 240.0)
    );
    let mut tags = gst::TagList::new();
    tags.make_mut()
        .add::<gst::tags::ImageOrientation>(&"rotate-0", gst::TagMergeMode::Replace);
    vpay.static_pad("sink")
        .unwrap()
        .send_event(gst::event::Tag::new(tags));
    let mut back = None;
    run_until(&peer, 10, |s, r| {
        println!("{s:>2} s after rotate-0: shown {:?}", shown_size(r));
        if shown_size(r) == (320.0, 240.0) {
            back = Some(r.clone());
        }
        back.is_some()
    });
    let stats = cvo.property::<gst::Structure>("stats");
    println!(
        "FIGURES cvo us->chromium: shown {:?} with rotate-90 (decoded {}x{}), {:?} after rotate-0; extension {stats}",
        shown_size(&rotated),
        n(&rotated, "frameWidth"),
        n(&rotated, "frameHeight"),
        back.as_ref().map(shown_size),
    );
    assert!(back.is_some(), "the page kept the rotation after rotate-0");
    // The first key frame and the change; no other key frame was asked for.
    assert!(stats.get::<u64>("written").unwrap() >= 2, "{stats}");
    assert_no_errors(&messages);
    stop(pipeline, peer);
}

/// Chromium's jitter buffer target delay per frame between two reports (s).
fn target_delay(a: &Report, b: &Report) -> f64 {
    let n = |r: &Report, f: &str| r.number("inbound-rtp", "video", f);
    let frames = n(b, "jitterBufferEmittedCount") - n(a, "jitterBufferEmittedCount");
    (n(b, "jitterBufferTargetDelay") - n(a, "jitterBufferTargetDelay")) / frames.max(1.0)
}

/// `rtphdrextplayoutdelay` (given by a `request-extension` handler) with `min-delay` 600 ms:
/// Chromium's jitter buffer target delay per frame rises to it; `min-delay` 0 mid-call
/// (sent again on every packet until the next key frame) brings it back down.
#[test]
fn playout_delay_sets_chromium_target_delay() {
    let test = "hdrext::playout_delay_sets_chromium_target_delay";
    if !enter_browser_test(test) {
        return;
    }
    let (pipeline, webrtc) = launch(&sender(DELAY_URI, "title=delay"));
    send_only(&webrtc);
    let vpay = pipeline.by_name("vpay").unwrap();
    let made: Arc<Mutex<Option<gst::Element>>> = Arc::default();
    let m = made.clone();
    vpay.connect("request-extension", false, move |args| {
        let uri = args[2].get::<String>().unwrap_or_default();
        let ext = (uri == DELAY_URI)
            .then(|| {
                gst::ElementFactory::make("rtphdrextplayoutdelay")
                    .property("min-delay", 600u32)
                    .property("max-delay", 2000u32)
                    .build()
                    .ok()
            })
            .flatten();
        *m.lock().unwrap() = ext.clone();
        let ext = ext.and_then(|e| e.downcast::<gst_rtp::RTPHeaderExtension>().ok());
        Some(ext.to_value())
    });
    let messages = bus_messages(&pipeline);
    play(&pipeline);
    let peer = BrowserPeer::connect(&webrtc, Options::new(test), CONNECT).expect("connected");
    assert!(peer.answer.contains(DELAY_URI), "{}", peer.answer);
    let n = |r: &Report, f: &str| r.number("inbound-rtp", "video", f);
    let mut reports = Vec::new();
    run_for(&peer, 9, |s, r| {
        println!(
            "{s:>2} s: decoded {}, target delay {}, minimum delay {}, delay {}, emitted {}",
            n(r, "framesDecoded"),
            n(r, "jitterBufferTargetDelay"),
            n(r, "jitterBufferMinimumDelay"),
            n(r, "jitterBufferDelay"),
            n(r, "jitterBufferEmittedCount"),
        );
        reports.push(r.clone());
    });
    let ext = made
        .lock()
        .unwrap()
        .clone()
        .expect("the handler made the extension");
    ext.set_property("min-delay", 0u32);
    run_for(&peer, 8, |s, r| {
        println!(
            "{s:>2} s after min-delay 0: target delay {}, emitted {}",
            n(r, "jitterBufferTargetDelay"),
            n(r, "jitterBufferEmittedCount"),
        );
        reports.push(r.clone());
    });
    assert!(reports.len() >= 15, "{} reports", reports.len());
    // The last 4 s of each phase.
    let with_delay = target_delay(&reports[4], &reports[8]);
    let without = target_delay(&reports[reports.len() - 5], &reports[reports.len() - 1]);
    let stats = ext.property::<gst::Structure>("stats");
    println!(
        "FIGURES playout-delay us->chromium: target delay per frame {with_delay:.3} s with \
         min-delay 600 ms, {without:.3} s after min-delay 0; extension {stats}"
    );
    assert!(n(&reports[8], "framesDecoded") > 100.0);
    assert!(
        (0.55..1.0).contains(&with_delay),
        "target delay {with_delay} s with min-delay 600 ms"
    );
    assert!(without < 0.3, "target delay {without} s after min-delay 0");
    assert_no_errors(&messages);
    stop(pipeline, peer);
}

/// The RFC 6464 level (-dBov) Chromium's `RTCRtpReceiver.getSynchronizationSources()`
/// gives in `report` (linear there, 10^(-level/20)).
fn source_level(report: &Report) -> Option<f64> {
    report.0["sources"]
        .as_array()?
        .iter()
        .find_map(|s| s["audioLevel"].as_f64())
        .map(|l| -20.0 * l.max(1e-7).log10())
}

/// The C `rtphdrextclientaudiolevel` on `rtpg722pay2` (created from the negotiated extmap):
/// Chromium's `getSynchronizationSources()` gives the level we sent. Only the first level:
/// headless Chromium 156 keeps the entry of its first frames there (same `rtpTimestamp` and
/// level 4 s apart, with or without encoded insertable streams; measured: 9 -dBov read after
/// the tone fell to 29), while the frames' metadata follows every packet
/// (tests/browser/audio.rs): the later reading is printed, not asserted.
#[test]
fn audio_level_read_by_get_synchronization_sources() {
    let test = "hdrext::audio_level_read_by_get_synchronization_sources";
    if !enter_browser_test(test) {
        return;
    }
    let (pipeline, webrtc) = launch(&format!(
        "webrtcbin name=webrtc bundle-policy=max-bundle \
         audiotestsrc name=tone is-live=true wave=sine freq=440 volume=0.5 \
         ! audio/x-raw,rate=16000,channels=1 ! level audio-level-meta=true \
         ! avenc_g722 ! rtpg722pay2 name=apay ! {} ! webrtc.",
        g722_caps(true)
    ));
    send_only(&webrtc);
    let sent = Arc::new(Mutex::new(Vec::new()));
    let l = sent.clone();
    on_buffers(&src(&pipeline, "apay"), move |b| {
        if let Some(level) = b
            .map_readable()
            .ok()
            .and_then(|m| super::audio::sent_level(&m))
        {
            l.lock().unwrap().push(level);
        }
    });
    let messages = bus_messages(&pipeline);
    play(&pipeline);
    let peer = BrowserPeer::connect(&webrtc, Options::new(test), CONNECT).expect("connected");
    assert!(peer.answer.contains(AUDIO_LEVEL_URI), "{}", peer.answer);
    let apay = pipeline.by_name("apay").unwrap();
    assert!(
        extension_factories(&apay).contains(&"rtphdrextclientaudiolevel".to_owned()),
        "{:?}",
        extension_factories(&apay)
    );
    let last_sent = || sent.lock().unwrap().last().copied().map(f64::from);
    std::thread::sleep(Duration::from_secs(4));
    let r1 = peer.next_report(REPORT).expect("a report");
    let loud = (last_sent(), source_level(&r1));
    pipeline
        .by_name("tone")
        .unwrap()
        .set_property("volume", 0.05f64);
    std::thread::sleep(Duration::from_secs(4));
    let r2 = peer.next_report(REPORT).expect("a report");
    let quiet = (last_sent(), source_level(&r2));
    println!(
        "FIGURES audio level via getSynchronizationSources: (sent, read) -dBov {loud:?} loud, \
         {quiet:?} quiet; entries {} then {}",
        r1.0["sources"], r2.0["sources"]
    );
    let (sent, read) = (loud.0.expect("levels sent"), loud.1.expect("a level read"));
    assert!((sent - read).abs() <= 1.0, "sent {sent}, read {read}");
    assert!(
        quiet.0.expect("levels sent") - sent >= 15.0,
        "{loud:?} {quiet:?}"
    );
    assert_no_errors(&messages);
    stop(pipeline, peer);
}
