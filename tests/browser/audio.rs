// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use gst::prelude::*;

use super::*;

/// Issue item 3: G.722 both ways on one send-receive m-section: `rtpg722pay2` into
/// Chromium (its samples received grow at 16 kHz, almost none concealed), Chromium's
/// microphone (fake device) through `rtpg722depay2 ! avdec_g722` (decoded duration matches
/// the wall clock).
#[test]
fn g722_to_and_from_chromium() {
    let test = "audio::g722_to_and_from_chromium";
    if !enter_browser_test(test) {
        return;
    }
    let (pipeline, webrtc) = launch(&format!(
        "webrtcbin name=webrtc bundle-policy=max-bundle \
         audiotestsrc is-live=true wave=sine freq=440 volume=0.3 \
         ! audio/x-raw,rate=16000,channels=1 ! avenc_g722 ! rtpg722pay2 name=apay \
         ! {} ! webrtc.",
        g722_caps(false)
    ));
    let received = receive_from_browser(&pipeline, &webrtc);
    let messages = bus_messages(&pipeline);
    play(&pipeline);
    let peer = BrowserPeer::connect(&webrtc, Options::new(test), CONNECT).expect("connected");
    assert!(peer.answer.contains("G722/8000"), "{}", peer.answer);
    assert!(peer.answer.contains("a=sendrecv"), "{}", peer.answer);
    // Two seconds to settle, then ten measured.
    std::thread::sleep(Duration::from_secs(2));
    let first = peer.next_report(REPORT).expect("a report");
    let (start, start_samples) = (
        std::time::Instant::now(),
        received.samples.load(Ordering::Relaxed),
    );
    run_for(&peer, 10, |s, r| {
        println!(
            "{s:>2} s: Chromium received {} samples ({} concealed); decoded here {}",
            r.number("inbound-rtp", "audio", "totalSamplesReceived"),
            r.number("inbound-rtp", "audio", "concealedSamples"),
            received.samples.load(Ordering::Relaxed),
        )
    });
    let last = peer.next_report(REPORT).expect("a report");
    // Without the field trials of harness_field_trials_and_offer_hook, Chromium does not
    // offer FlexFEC (it lists it among the codecs it receives either way).
    let video = last.codecs("sender", "video");
    assert!(
        video.iter().any(|c| c.starts_with("video/H264")),
        "{video:?}"
    );
    assert!(!video.iter().any(|c| c.contains("flexfec")), "{video:?}");
    let (wall, samples) = (
        start.elapsed().as_secs_f64(),
        received.samples.load(Ordering::Relaxed) - start_samples,
    );
    let delta =
        |f: &str| last.number("inbound-rtp", "audio", f) - first.number("inbound-rtp", "audio", f);
    let page_seconds = (last.now() - first.now()) / 1000.0;
    let rate = delta("totalSamplesReceived") / page_seconds;
    let concealed = delta("concealedSamples") / delta("totalSamplesReceived").max(1.0);
    let decoded_seconds = samples as f64 / 16000.0;
    let out = last
        .rtp("outbound-rtp", "audio")
        .cloned()
        .unwrap_or_default();
    println!(
        "FIGURES g722 us->chromium: {rate:.0} samples/s received, {:.3}% concealed \
         (total {} received, {} concealed); chromium->us: {decoded_seconds:.3} s decoded \
         in {wall:.3} s, Chromium sent {} packets",
        100.0 * concealed,
        last.number("inbound-rtp", "audio", "totalSamplesReceived"),
        last.number("inbound-rtp", "audio", "concealedSamples"),
        out["packetsSent"],
    );
    assert!((rate / 16000.0 - 1.0).abs() <= 0.05, "{rate} samples/s");
    assert!(concealed < 0.02, "{:.2}% concealed", 100.0 * concealed);
    assert!(
        (decoded_seconds / wall - 1.0).abs() <= 0.05,
        "{decoded_seconds} s decoded in {wall} s"
    );
    let messages = errors_and_warnings(&messages);
    assert!(messages.is_empty(), "{messages:?}");
    stop(pipeline, peer);
}

/// The `gst-twcc-stats` structures of webrtcbin's `get-stats` (the transport-wide cc
/// feedback its RTP session parsed).
fn webrtcbin_twcc_stats(webrtc: &gst::Element) -> Vec<gst::Structure> {
    let (tx, rx) = std::sync::mpsc::channel();
    let promise = gst::Promise::with_change_func(move |reply| {
        let _ = tx.send(reply.ok().flatten().map(|s| s.to_owned()));
    });
    webrtc.emit_by_name::<()>("get-stats", &[&None::<gst::Pad>, &promise]);
    let stats = rx
        .recv_timeout(REPORT)
        .ok()
        .flatten()
        .expect("webrtcbin stats");
    stats
        .iter()
        .filter_map(|(_, v)| v.get::<gst::Structure>().ok())
        .filter_map(|s| s.get::<gst::Structure>("gst-twcc-stats").ok())
        .collect()
}

/// The RFC 6464 level (-dBov, 0..=127) of an RTP packet's extension element 2.
pub(crate) fn sent_level(packet: &[u8]) -> Option<u8> {
    common::webrtc::extension_elements(packet)
        .into_iter()
        .find(|(id, data)| *id == 2 && data.len() == 1)
        .map(|(_, data)| data[0] & 0x7f)
}

/// Issue item 4: the C `rtphdrextclientaudiolevel` on `rtpg722pay2` writes the level that
/// `level audio-level-meta=true` measured; the page reads it back per packet (encoded-frame
/// metadata) and follows a level change; transport-wide cc is negotiated and Chromium's
/// feedback reaches webrtcbin.
#[test]
fn audio_level_and_twcc_read_by_chromium() {
    let test = "audio::audio_level_and_twcc_read_by_chromium";
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
    let levels_sent = Arc::new(std::sync::Mutex::new(Vec::new()));
    let l = levels_sent.clone();
    on_buffers(&src(&pipeline, "apay"), move |b| {
        if let Some(level) = b.map_readable().ok().and_then(|m| sent_level(&m)) {
            l.lock().unwrap().push(level);
        }
    });
    let messages = bus_messages(&pipeline);
    play(&pipeline);
    let mut options = Options::new(test);
    options.insertable_streams = true;
    let peer = BrowserPeer::connect(&webrtc, options, CONNECT).expect("connected");
    for uri in [AUDIO_LEVEL_URI, TWCC_URI] {
        assert!(
            peer.answer.contains(uri),
            "answer lacks {uri}:\n{}",
            peer.answer
        );
    }
    let extensions = pipeline
        .by_name("apay")
        .unwrap()
        .property::<gst::Array>("extensions");
    let factories: Vec<String> = extensions
        .iter()
        .filter_map(|e| e.get::<gst::Element>().ok())
        .filter_map(|e| e.factory().map(|f| f.name().to_string()))
        .collect();
    assert!(
        factories.iter().any(|f| f == "rtphdrextclientaudiolevel"),
        "{factories:?}"
    );
    std::thread::sleep(Duration::from_secs(4));
    let loud_sent = levels_sent.lock().unwrap().split_off(0);
    let change = peer.next_report(REPORT).expect("a report").now();
    pipeline
        .by_name("tone")
        .unwrap()
        .set_property("volume", 0.05f64);
    std::thread::sleep(Duration::from_secs(4));
    let last = peer.next_report(REPORT).expect("a report");
    let quiet_sent = levels_sent.lock().unwrap().split_off(0);
    let read = peer.audio_levels();
    // The page reads a linear level, 10^(-dBov/20) as in RTCRtpSynchronizationSource.
    let as_dbov = |level: f64| -20.0 * level.max(1e-7).log10();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let read_loud = median(
        read.iter()
            .filter(|(t, _)| *t < change - 500.0)
            .map(|(_, l)| as_dbov(*l))
            .collect(),
    );
    let read_quiet = median(
        read.iter()
            .filter(|(t, _)| *t > change + 1500.0)
            .map(|(_, l)| as_dbov(*l))
            .collect(),
    );
    let sent = |v: &[u8]| median(v.iter().skip(v.len() / 4).map(|&l| f64::from(l)).collect());
    let (sent_loud, sent_quiet) = (sent(&loud_sent), sent(&quiet_sent));
    // The stats describe the latest feedback interval: ask a few times if it was empty.
    let feedback = |twcc: &[gst::Structure]| {
        twcc.iter()
            .any(|s| s.get::<u32>("packets-recv").unwrap_or(0) > 0)
    };
    let mut twcc = webrtcbin_twcc_stats(&webrtc);
    for _ in 0..15 {
        if feedback(&twcc) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        twcc = webrtcbin_twcc_stats(&webrtc);
    }
    println!(
        "FIGURES audio level: sent {sent_loud} then {sent_quiet} -dBov; Chromium read {read_loud:.1} \
         then {read_quiet:.1} ({} levels read; metadata keys {}); synchronization sources {}; \
         twcc {twcc:?}",
        read.len(),
        last.0["page"]["metadataKeys"],
        last.0["sources"],
    );
    assert!(read.len() > 100, "the page read {} levels", read.len());
    assert!(
        sent_quiet - sent_loud >= 15.0,
        "{sent_loud} -> {sent_quiet}"
    );
    assert!(
        (read_loud - sent_loud).abs() <= 1.0,
        "{read_loud} vs {sent_loud}"
    );
    assert!(
        (read_quiet - sent_quiet).abs() <= 1.0,
        "{read_quiet} vs {sent_quiet}"
    );
    assert!(
        twcc.iter()
            .any(|s| s.get::<u32>("packets-recv").unwrap_or(0) > 0),
        "no transport-wide cc feedback in webrtcbin's stats: {twcc:?}"
    );
    let messages = errors_and_warnings(&messages);
    assert!(messages.is_empty(), "{messages:?}");
    stop(pipeline, peer);
}

/// The harness's hooks for the FEC and header-extension cases: extra Chromium flags (the
/// FlexFEC field trials; the page then lists `flexfec-03` among the codecs it sends) and an offer rewrite (the
/// transport-wide cc extension removed: Chromium's answer then has none, and audio still
/// plays).
#[test]
fn harness_field_trials_and_offer_hook() {
    let test = "audio::harness_field_trials_and_offer_hook";
    if !enter_browser_test(test) {
        return;
    }
    let (pipeline, webrtc) = launch(&format!(
        "webrtcbin name=webrtc bundle-policy=max-bundle \
         audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=16000,channels=1 \
         ! avenc_g722 ! rtpg722pay2 ! {} ! webrtc.",
        g722_caps(false)
    ));
    send_only(&webrtc);
    play(&pipeline);
    let mut options = Options::new(test);
    options.flags.push(
        "--force-fieldtrials=WebRTC-FlexFEC-03-Advertised/Enabled/WebRTC-FlexFEC-03/Enabled/"
            .into(),
    );
    options.edit_offer = Some(Box::new(|sdp: &str| {
        sdp.split_inclusive('\n')
            .filter(|line| !line.contains(TWCC_URI))
            .collect()
    }));
    let peer = BrowserPeer::connect(&webrtc, options, CONNECT).expect("connected");
    assert!(!peer.offer.contains(TWCC_URI), "{}", peer.offer);
    assert!(!peer.answer.contains(TWCC_URI), "{}", peer.answer);
    let report = peer
        .wait_report(Duration::from_secs(10), |r| {
            r.number("inbound-rtp", "audio", "totalSamplesReceived") > 16000.0
        })
        .expect("audio plays");
    let video = report.codecs("sender", "video");
    println!(
        "FIGURES sender video codecs with the FlexFEC trials: {video:?}; receiver video \
         codecs {:?}; audio codecs {:?}",
        report.codecs("receiver", "video"),
        report.codecs("receiver", "audio")
    );
    assert!(
        video.iter().any(|c| c.starts_with("video/flexfec-03")),
        "{video:?}"
    );
    stop(pipeline, peer);
}
