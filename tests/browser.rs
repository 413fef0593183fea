// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Chromium (libwebrtc) as the WebRTC peer of our elements behind `webrtcbin`, in headless
//! Chromium inside a loopback-only network namespace (harness: tests/common/browser).
//! Figures are taken from the page's `getStats()` and from our own pad probes; each test
//! prints them (docs/interop.md collects them).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gst::prelude::*;

mod common;
// Shared harness (other tests and examples use parts this file does not).
#[allow(dead_code)]
#[path = "common/browser/mod.rs"]
mod browser;
#[allow(dead_code)]
#[path = "common/browser/media.rs"]
mod media;

use browser::{BrowserPeer, Options, Report, artifacts_dir, netns::enter_private_network};
use media::*;

const CONNECT: Duration = Duration::from_secs(40);
const REPORT: Duration = Duration::from_secs(5);

/// Our H.264 sender: a 320×240 30 fps test pattern, x264 constrained baseline,
/// `rtph264pay2`, a `netsim` dropping `loss` of the packets, into webrtcbin (NACK feedback
/// negotiated with `nack`, PLI always).
fn h264_sender(loss: f64, nack: bool) -> String {
    format!(
        "webrtcbin name=webrtc bundle-policy=max-bundle \
         videotestsrc is-live=true pattern=ball background-color=0xff1f4e79 \
         ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 \
         ! x264enc name=venc tune=zerolatency speed-preset=ultrafast key-int-max=300 \
         ! video/x-h264,profile=constrained-baseline \
         ! rtph264pay2 name=vpay config-interval=-1 aggregate-mode=zero-latency \
         ! netsim drop-probability={loss} ! {} ! webrtc.",
        h264_caps(nack)
    )
}

/// A pipeline set to NULL when dropped, also when a test panics (netsim aborts when
/// disposed in PLAYING).
struct Running(gst::Pipeline);

impl std::ops::Deref for Running {
    type Target = gst::Pipeline;
    fn deref(&self) -> &gst::Pipeline {
        &self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}

fn launch(description: &str) -> (Running, gst::Element) {
    common::init();
    let element = gst::parse::launch(description).expect("pipeline");
    // A description of one element parses to that element, not to a pipeline.
    let pipeline = element.clone().downcast::<gst::Pipeline>().unwrap_or_else(|_| {
        let pipeline = gst::Pipeline::new();
        pipeline.add(&element).unwrap();
        pipeline
    });
    let webrtc = pipeline.by_name("webrtc").unwrap();
    (Running(pipeline), webrtc)
}

fn src(pipeline: &gst::Pipeline, name: &str) -> gst::Pad {
    pipeline.by_name(name).unwrap().static_pad("src").unwrap()
}

fn play(pipeline: &gst::Pipeline) {
    pipeline.set_state(gst::State::Playing).expect("playing");
}

/// Runs for `seconds`, printing the page's video figures once a second.
fn run_for(peer: &BrowserPeer, seconds: u64, mut each: impl FnMut(u64, &Report)) {
    for second in 1..=seconds {
        std::thread::sleep(Duration::from_secs(1));
        if let Some(r) = peer.latest() {
            each(second, &r);
        }
    }
}

/// Stops `peer`'s browser, then `pipeline`.
fn stop(pipeline: Running, peer: BrowserPeer) {
    drop(peer);
    drop(pipeline);
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

/// Ten seconds of our H.264 into Chromium (see [`h264_sender`]); with `screenshot`, a PNG of
/// the page at 8 s, while the video plays.
fn h264_to_chromium(
    test: &str,
    loss: f64,
    nack: bool,
    screenshot: Option<&std::path::Path>,
) -> H264Run {
    let (pipeline, webrtc) = launch(&h264_sender(loss, nack));
    send_only(&webrtc);
    let gate = VideoGate::new(&src(&pipeline, "venc"));
    let requests = count_requests(&src(&pipeline, "vpay"));
    let messages = bus_messages(&pipeline);
    play(&pipeline);
    let peer = BrowserPeer::connect(&webrtc, Options::new(test), CONNECT).expect("connected");
    assert!(peer.answer.contains("H264/90000"), "{}", peer.answer);
    gate.open(true);
    let mut decoded_at_first_request = None;
    run_for(&peer, 10, |s, r| {
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
        )
    });
    gate.open(false);
    std::thread::sleep(Duration::from_millis(1500));
    let report = peer.next_report(REPORT).expect("a report");
    assert!(report.page_errors().is_empty(), "{:?}", report.page_errors());
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

/// Issue item 1 with 5 % of our packets dropped before webrtcbin: Chromium's PLIs reach
/// `rtph264pay2` as force-key-unit requests, x264 sends keyframes, and Chromium keeps
/// decoding. PLI only: with NACK negotiated as well, webrtcbin 1.22 keeps the NACKs (its
/// `rtprtxsend` takes them, none reaches the payloader), libwebrtc waits for retransmissions
/// that cannot come and asks for a keyframe only every few seconds (measured: 17 of 300
/// frames decoded, 282 NACKs, 3 PLIs in 10 s).
#[test]
fn h264_to_chromium_recovers_from_loss() {
    let test = "h264_to_chromium_recovers_from_loss";
    if !enter_private_network(test) {
        return;
    }
    let H264Run {
        report,
        sent,
        requests,
        decoded_at_first_request,
        peer,
        pipeline,
    } = h264_to_chromium(test, 0.05, false, None);
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

/// Issue item 1 and 5: our H.264 plays in Chromium; a screenshot of the page is kept.
#[test]
fn h264_to_chromium_every_frame_decoded() {
    let test = "h264_to_chromium_every_frame_decoded";
    if !enter_private_network(test) {
        return;
    }
    let png = artifacts_dir().join("h264_to_chromium.png");
    let _ = std::fs::remove_file(&png);
    let H264Run {
        report,
        sent,
        peer,
        pipeline,
        ..
    } = h264_to_chromium(test, 0.0, true, Some(&png));
    let n = |f: &str| report.number("inbound-rtp", "video", f);
    let decoded = n("framesDecoded");
    println!(
        "FIGURES h264 us->chromium: sent {sent}, decoded {decoded}, keyframes {}, dropped {}, \
         freezes {}, {}x{}; screenshot {}",
        n("keyFramesDecoded"),
        n("framesDropped"),
        n("freezeCount"),
        n("frameWidth"),
        n("frameHeight"),
        png.display()
    );
    assert!(sent >= 200, "only {sent} frames sent in 10 s");
    assert!(decoded >= 0.9 * sent as f64, "{decoded} of {sent} frames decoded");
    assert!(n("keyFramesDecoded") >= 1.0);
    assert!(n("framesDropped") <= 0.05 * sent as f64, "dropped {}", n("framesDropped"));
    assert!(n("freezeCount") <= 2.0, "freezes {}", n("freezeCount"));
    assert_eq!((n("frameWidth"), n("frameHeight")), (320.0, 240.0));
    let shot = std::fs::read(&png).unwrap();
    assert!(shot.starts_with(b"\x89PNG\r\n\x1a\n") && shot.len() > 10_000, "{} bytes", shot.len());
    stop(pipeline, peer);
}

/// What the receive chains counted.
#[derive(Default)]
struct Received {
    /// Pictures out of `rtph264depay2 ! avdec_h264`.
    ours: AtomicU64,
    /// Pictures out of `rtph264depay ! avdec_h264` (the C depayloader) on the same packets.
    c: AtomicU64,
    /// Samples out of `rtpg722depay2 ! avdec_g722`.
    samples: AtomicU64,
}

/// Decodes what the browser sends: H.264 through our and the C depayloader side by side
/// (behind one valve, so both see the same packets), G.722 through ours.
fn receive_from_browser(pipeline: &gst::Pipeline, webrtc: &gst::Element) -> Arc<Received> {
    let received = Arc::new(Received::default());
    let (weak, r) = (pipeline.downgrade(), received.clone());
    webrtc.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else { return };
        if pad.direction() != gst::PadDirection::Src {
            return;
        }
        let r = r.clone();
        match media_of(pad).as_str() {
            "video" => {
                let bin = link_bin(
                    &pipeline,
                    pad,
                    "valve name=vvalve ! tee name=t \
                     t. ! queue ! rtph264depay2 name=vdepay ! avdec_h264 ! fakesink name=ours sync=false \
                     t. ! queue ! rtph264depay ! avdec_h264 ! fakesink name=c sync=false",
                );
                bin.set_property("name", "video");
                let sink = |n: &str| bin.by_name(n).unwrap().static_pad("sink").unwrap();
                let r2 = r.clone();
                on_buffers(&sink("ours"), move |_| {
                    r2.ours.fetch_add(1, Ordering::Relaxed);
                });
                on_buffers(&sink("c"), move |_| {
                    r.c.fetch_add(1, Ordering::Relaxed);
                });
            }
            "audio" => {
                let bin = link_bin(
                    &pipeline,
                    pad,
                    "rtpg722depay2 name=adepay ! avdec_g722 ! fakesink name=asink sync=false",
                );
                let sink = bin.by_name("asink").unwrap().static_pad("sink").unwrap();
                on_buffers(&sink, move |b| {
                    r.samples.fetch_add(b.size() as u64 / 2, Ordering::Relaxed);
                });
            }
            _ => {}
        }
    });
    received
}

fn errors_and_warnings(messages: &std::sync::Mutex<Vec<String>>) -> Vec<String> {
    messages.lock().unwrap().clone()
}

/// Issue item 2: Chromium's H.264 (its fake camera, encoded by OpenH264) decoded through
/// `rtph264depay2`, and through the C `rtph264depay` on the same packets.
#[test]
fn h264_from_chromium_side_by_side_with_c() {
    let test = "h264_from_chromium_side_by_side_with_c";
    if !enter_private_network(test) {
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
    let out = report.rtp("outbound-rtp", "video").cloned().unwrap_or_default();
    println!(
        "FIGURES h264 chromium->us: encoded {encoded} ({}, {}x{}), decoded by rtph264depay2 \
         {ours}, by rtph264depay {c}",
        out["encoderImplementation"], out["frameWidth"], out["frameHeight"]
    );
    let depay = pipeline.by_name("vdepay").unwrap();
    println!("rtph264depay2 stats: {}", depay.property::<gst::Structure>("stats"));
    assert!(encoded >= 100.0, "Chromium encoded only {encoded} frames");
    assert!(ours as f64 >= 0.9 * encoded, "{ours} of {encoded} frames decoded");
    assert_eq!(ours, c, "our depayloader and C's decoded different frame counts");
    // Known difference, left to the depayloader base class: libwebrtc sends padding-only
    // packets (bandwidth probes, RFC 3550 §5.1 padding) on the video SSRC; rtph264depay
    // skips them silently, rtph264depay2 counts them in `dropped-payload` and posts a
    // (rate-limited) "payload empty" warning. Any other message fails the test.
    let messages = errors_and_warnings(&messages);
    let unexpected: Vec<&String> = messages
        .iter()
        .filter(|m| !(m.starts_with("warning") && m.contains("vdepay") && m.contains("payload empty")))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    if !messages.is_empty() {
        println!("KNOWN rtph264depay2 warns on padding-only packets: {}", messages.len());
    }
    stop(pipeline, peer);
}

/// Issue item 3: G.722 both ways on one send-receive m-section: `rtpg722pay2` into
/// Chromium (its samples received grow at 16 kHz, almost none concealed), Chromium's
/// microphone (fake device) through `rtpg722depay2 ! avdec_g722` (decoded duration matches
/// the wall clock).
#[test]
fn g722_to_and_from_chromium() {
    let test = "g722_to_and_from_chromium";
    if !enter_private_network(test) {
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
    let (start, start_samples) = (std::time::Instant::now(), received.samples.load(Ordering::Relaxed));
    run_for(&peer, 10, |s, r| {
        println!(
            "{s:>2} s: Chromium received {} samples ({} concealed); decoded here {}",
            r.number("inbound-rtp", "audio", "totalSamplesReceived"),
            r.number("inbound-rtp", "audio", "concealedSamples"),
            received.samples.load(Ordering::Relaxed),
        )
    });
    let last = peer.next_report(REPORT).expect("a report");
    // Without the field trials of harness_field_trials_and_offer_hook, no FlexFEC.
    let video = last.codecs("receiver", "video");
    assert!(video.iter().any(|c| c.starts_with("video/H264")), "{video:?}");
    assert!(!video.iter().any(|c| c.contains("flexfec")), "{video:?}");
    let (wall, samples) = (
        start.elapsed().as_secs_f64(),
        received.samples.load(Ordering::Relaxed) - start_samples,
    );
    let delta = |f: &str| last.number("inbound-rtp", "audio", f) - first.number("inbound-rtp", "audio", f);
    let page_seconds = (last.now() - first.now()) / 1000.0;
    let rate = delta("totalSamplesReceived") / page_seconds;
    let concealed = delta("concealedSamples") / delta("totalSamplesReceived").max(1.0);
    let decoded_seconds = samples as f64 / 16000.0;
    let out = last.rtp("outbound-rtp", "audio").cloned().unwrap_or_default();
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
fn sent_level(packet: &[u8]) -> Option<u8> {
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
    let test = "audio_level_and_twcc_read_by_chromium";
    if !enter_private_network(test) {
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
        assert!(peer.answer.contains(uri), "answer lacks {uri}:\n{}", peer.answer);
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
    pipeline.by_name("tone").unwrap().set_property("volume", 0.05f64);
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
    let twcc = webrtcbin_twcc_stats(&webrtc);
    println!(
        "FIGURES audio level: sent {sent_loud} then {sent_quiet} -dBov; Chromium read {read_loud:.1} \
         then {read_quiet:.1} ({} levels read; metadata keys {}); synchronization sources {}; \
         twcc {twcc:?}",
        read.len(),
        last.0["page"]["metadataKeys"],
        last.0["sources"],
    );
    assert!(read.len() > 100, "the page read {} levels", read.len());
    assert!(sent_quiet - sent_loud >= 15.0, "{sent_loud} -> {sent_quiet}");
    assert!((read_loud - sent_loud).abs() <= 1.0, "{read_loud} vs {sent_loud}");
    assert!((read_quiet - sent_quiet).abs() <= 1.0, "{read_quiet} vs {sent_quiet}");
    assert!(
        twcc.iter().any(|s| s.get::<u32>("packets-recv").unwrap_or(0) > 0),
        "no transport-wide cc feedback in webrtcbin's stats: {twcc:?}"
    );
    let messages = errors_and_warnings(&messages);
    assert!(messages.is_empty(), "{messages:?}");
    stop(pipeline, peer);
}

/// The harness's hooks for the FEC and header-extension cases: extra Chromium flags (the
/// FlexFEC field trials; the page then declares `flexfec-03`) and an offer rewrite (the
/// transport-wide cc extension removed: Chromium's answer then has none, and audio still
/// plays).
#[test]
fn harness_field_trials_and_offer_hook() {
    let test = "harness_field_trials_and_offer_hook";
    if !enter_private_network(test) {
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
    let video = report.codecs("receiver", "video");
    println!("FIGURES receiver video codecs with the FlexFEC trials: {video:?}");
    assert!(
        video.iter().any(|c| c.starts_with("video/flexfec-03")),
        "{video:?}"
    );
    stop(pipeline, peer);
}
