// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Issue 18 with Chromium as the sender: the header extensions libwebrtc writes on its
//! camera's H.264, read by our extension elements behind `rtph264depay2`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gst::prelude::*;

use super::*;

const CVO: &str = "urn:3gpp:video-orientation";
const ABS_SEND_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
const TOFFSET: &str = "urn:ietf:params:rtp-hdrext:toffset";
const ABS_CAPTURE_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";
const PLAYOUT_DELAY: &str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";

/// What our depayloader's outputs carried: (wall clock in s since 1900, value) per meta, and
/// the `image-orientation` tags after it.
#[derive(Default, Debug)]
struct Read {
    /// abs-send-time, 6.18 fixed point seconds (as 1/2^32 s, modulo 64 s).
    send_times: Vec<(f64, u64)>,
    /// toffset, RTP ticks.
    offsets: Vec<i32>,
    /// abs-capture-time, NTP 32.32.
    capture_times: Vec<(f64, u64)>,
    /// playout-delay (min, max) ms.
    delays: Vec<(u32, u32)>,
    tags: Vec<String>,
    outputs: u64,
}

/// Seconds since 1900 now (NTP era 0).
fn ntp_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 2_208_988_800.0
}

/// The abs-send-time read of an output: its `timestamp/x-abs-send-time` reference timestamp
/// meta (ns modulo 64 s) as NTP 32.32 seconds modulo 64 s.
fn abs_send_time_ntp(b: &gst::BufferRef) -> Option<u64> {
    let m = b.iter_meta::<gst::ReferenceTimestampMeta>().find(|m| {
        m.reference()
            .structure(0)
            .is_some_and(|s| s.name() == "timestamp/x-abs-send-time")
    })?;
    Some(((u128::from(m.timestamp().nseconds()) << 32) / 1_000_000_000) as u64)
}

fn meta_u64(b: &gst::BufferRef, meta: &str, field: &str) -> Option<u64> {
    let m = gst::meta::CustomMeta::from_buffer(b, meta).ok()?;
    m.structure().get::<u64>(field).ok()
}

/// What a call with Chromium's camera (H.264) gave: our depayloader's outputs, the
/// extensions Chromium answered, our extension elements with their stats.
struct FromChromium {
    read: Read,
    answered: Vec<&'static str>,
    factories: Vec<String>,
}

/// A webrtcbin receiving H.264 from the page, its offer listing `uris` (ids 3, 4, … after
/// transport-wide cc at 1 when `twcc`).
fn receive_h264(uris: &[&str], twcc: bool) -> (Running, gst::Element) {
    let (pipeline, webrtc) = launch("webrtcbin name=webrtc bundle-policy=max-bundle");
    let mut caps = h264_caps(true);
    if !twcc {
        caps = caps
            .split(",rtcp-fb-transport-cc")
            .next()
            .unwrap()
            .to_owned();
    }
    caps.push_str(",packetization-mode=(string)1,profile-level-id=(string)42e01f");
    for (i, uri) in uris.iter().enumerate() {
        caps.push_str(&format!(",extmap-{}=(string){uri}", i + 3));
    }
    receive_only(&webrtc, &caps);
    (pipeline, webrtc)
}

/// Links `description` (whose depayloader is named `vdepay`) to webrtcbin's video pad when
/// it comes, and calls `probe` with every buffer and downstream event the depayloader
/// outputs.
fn probe_depayloader_output(
    pipeline: &gst::Pipeline,
    webrtc: &gst::Element,
    description: &'static str,
    probe: impl Fn(&gst::PadProbeInfo) + Send + Sync + Clone + 'static,
) {
    let weak = pipeline.downgrade();
    webrtc.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else {
            return;
        };
        if pad.direction() != gst::PadDirection::Src || media_of(pad) != "video" {
            return;
        }
        let bin = link_bin(&pipeline, pad, description);
        // abs-send-time reads reach the outputs only when asked (a reference timestamp meta
        // per output); the other extensions are made from their URIs. This callback runs in
        // the pad's streaming thread: no packet reaches the depayloader before it returns.
        bin.by_name("vdepay")
            .unwrap()
            .connect("request-extension", false, |args| {
                let ext = (args[2].get::<String>().ok().as_deref() == Some(ABS_SEND_TIME))
                    .then(|| {
                        gst::ElementFactory::make("rtphdrextabssendtime")
                            .property("add-reference-timestamp-meta", true)
                            .build()
                            .ok()?
                            .downcast::<gst_rtp::RTPHeaderExtension>()
                            .ok()
                    })
                    .flatten();
                if let (Some(ext), Ok(id)) = (&ext, args[1].get::<u32>()) {
                    gst_rtp::prelude::RTPHeaderExtensionExt::set_id(ext, id);
                }
                // None: the depayloader makes the others from their URIs.
                Some(ext.to_value())
            });
        let out = bin.by_name("vdepay").unwrap().static_pad("src").unwrap();
        let probe = probe.clone();
        out.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |_, info| {
                probe(info);
                gst::PadProbeReturn::Ok
            },
        );
    });
}

/// The `image-orientation` of a tag event.
fn orientation_tag(info: &gst::PadProbeInfo) -> Option<String> {
    let ev = info.event()?;
    let gst::EventView::Tag(tag) = ev.view() else {
        return None;
    };
    Some(
        tag.tag()
            .get::<gst::tags::ImageOrientation>()?
            .get()
            .to_owned(),
    )
}

/// Chromium's camera (H.264) into webrtcbin for `seconds`, its offer listing `uris` (ids 3,
/// 4, … after transport-wide cc at 1 when `twcc`); `rtph264depay2` creates our elements from
/// the `extmap-N` caps. `flags` go to Chromium (field trials). No error on the bus.
fn read_from_chromium(
    test: &str,
    uris: &[&'static str],
    twcc: bool,
    flags: &[&str],
    seconds: u64,
) -> FromChromium {
    let (pipeline, webrtc) = receive_h264(uris, twcc);
    let read = Arc::new(Mutex::new(Read::default()));
    let r = read.clone();
    probe_depayloader_output(
        &pipeline,
        &webrtc,
        "rtph264depay2 name=vdepay ! fakesink name=ours sync=false",
        move |info| {
            let mut read = r.lock().unwrap();
            if let Some(tag) = orientation_tag(info) {
                read.tags.push(tag);
            }
            if let Some(b) = info.buffer() {
                read.outputs += 1;
                let now = ntp_now();
                if let Some(t) = abs_send_time_ntp(b) {
                    read.send_times.push((now, t));
                }
                if let Some(t) = meta_u64(b, "rtphdrextabscapturetime", "ntp") {
                    read.capture_times.push((now, t));
                }
                if let Ok(m) = gst::meta::CustomMeta::from_buffer(b, "rtphdrexttoffset")
                    && let Ok(o) = m.structure().get::<i32>("offset")
                {
                    read.offsets.push(o);
                }
                if let Ok(m) = gst::meta::CustomMeta::from_buffer(b, "rtphdrextplayoutdelay")
                    && let (Ok(min), Ok(max)) = (
                        m.structure().get::<u32>("min-delay"),
                        m.structure().get::<u32>("max-delay"),
                    )
                {
                    read.delays.push((min, max));
                }
            }
        },
    );
    let messages = bus_messages(&pipeline);
    play(&pipeline);
    let mut options = Options::new(test);
    options.flags = flags.iter().map(|f| f.to_string()).collect();
    let peer = BrowserPeer::connect(&webrtc, options, CONNECT).expect("connected");
    std::thread::sleep(Duration::from_secs(seconds));
    let _ = pipeline.set_state(gst::State::Paused);
    let read = std::mem::take(&mut *read.lock().unwrap());
    let answered: Vec<&'static str> = uris
        .iter()
        .copied()
        .filter(|u| peer.answer.contains(u))
        .collect();
    let depay = pipeline.by_name("vdepay").expect("video arrived");
    let factories: Vec<String> = depay
        .property::<gst::Array>("extensions")
        .iter()
        .filter_map(|e| e.get::<gst::Element>().ok())
        .map(|e| {
            let stats = e
                .find_property("stats")
                .map(|_| e.property::<gst::Structure>("stats").to_string());
            format!("{} {stats:?}", e.factory().unwrap().name())
        })
        .collect();
    assert_no_errors(&messages);
    stop(pipeline, peer);
    FromChromium {
        read,
        answered,
        factories,
    }
}

/// Chromium's camera (H.264) into webrtcbin, whose offer lists CVO, abs-send-time, toffset,
/// abs-capture-time and playout-delay; Chromium runs with the field trial
/// `WebRTC-ForceSendPlayoutDelay/min_ms:100,max_ms:200/` (libwebrtc's way to give its
/// outgoing video a playout delay). Chromium 156 answers all five and writes four of them,
/// with sane values: abs-send-time on every frame, advancing with the wall clock; abs-capture-time
/// about once a second, within 1 s of our clock (same machine); CVO on the key frames,
/// arriving as the `image-orientation` tag `rotate-0` (the fake camera is upright; a rotated
/// track is [`chromium_rotated_track_arrives_as_orientation_tag`]); the playout delay the
/// field trial asked for on every frame. toffset, though answered, is on no packet: libwebrtc
/// writes one bandwidth-estimation extension only ([`chromium_toffset_read_by_ours`]); it is
/// checked when present.
#[test]
fn chromium_extensions_read_by_ours() {
    let test = "hdrext_from_chromium::chromium_extensions_read_by_ours";
    if !enter_browser_test(test) {
        return;
    }
    let uris = [CVO, ABS_SEND_TIME, TOFFSET, ABS_CAPTURE_TIME, PLAYOUT_DELAY];
    let trial = "--force-fieldtrials=WebRTC-ForceSendPlayoutDelay/min_ms:100,max_ms:200/";
    let FromChromium {
        read,
        answered,
        factories,
    } = read_from_chromium(test, &uris, true, &[trial], 8);
    // abs-send-time: its advance between the first and last output against the wall clock's
    // (both modulo 64 s; 8 s apart).
    let send_advance = match (read.send_times.first(), read.send_times.last()) {
        (Some(&(w0, t0)), Some(&(w1, t1))) => {
            let span = 64u64 << 32;
            let d = (t1 + span - t0) % span;
            Some((d as f64 / 2f64.powi(32), w1 - w0))
        }
        _ => None,
    };
    let capture_skew = read
        .capture_times
        .last()
        .map(|&(w, t)| t as f64 / 2f64.powi(32) - w);
    println!(
        "FIGURES chromium->us extensions: answered {answered:?}; {} outputs; abs-send-time on \
         {} (advance {send_advance:?} s, wall clock); toffset on {} (range {:?}..{:?} ticks); \
         abs-capture-time on {} (last minus wall clock {capture_skew:?} s); playout-delay on {} \
         {:?}; tags {:?}; elements {factories:?}",
        read.outputs,
        read.send_times.len(),
        read.offsets.len(),
        read.offsets.iter().min(),
        read.offsets.iter().max(),
        read.capture_times.len(),
        read.delays.len(),
        read.delays.first(),
        read.tags,
    );
    assert!(read.outputs >= 60, "{} outputs", read.outputs);
    for uri in [CVO, ABS_SEND_TIME, ABS_CAPTURE_TIME] {
        assert!(answered.contains(&uri), "Chromium did not answer {uri}");
    }
    assert_eq!(read.tags.first().map(String::as_str), Some("rotate-0"));
    assert!(read.send_times.len() as u64 >= read.outputs * 9 / 10);
    let (advance, wall) = send_advance.unwrap();
    assert!(
        (advance - wall).abs() < 0.5,
        "abs-send-time advanced {advance} s in {wall} s"
    );
    assert!(read.capture_times.len() >= 4, "{:?}", read.capture_times);
    let skew = capture_skew.unwrap();
    assert!(skew.abs() < 1.0, "abs-capture-time {skew} s from the clock");
    assert!(
        read.offsets.iter().all(|o| (0..9000).contains(o)),
        "toffset outside 0..100 ms: {:?}",
        read.offsets
    );
    assert!(!read.delays.is_empty(), "no playout delay read");
    assert!(
        read.delays.iter().all(|&d| d == (100, 200)),
        "playout delays {:?}, the field trial asked for 100..200 ms",
        read.delays
    );
}

/// toffset (RFC 5450) from Chromium: libwebrtc writes one bandwidth-estimation extension
/// only (transport-wide cc before abs-send-time before toffset), so the offer lists toffset
/// alone, without transport-wide cc. Every output carries it, 0 to 100 ms of RTP ticks
/// (capture to send on the same machine).
#[test]
fn chromium_toffset_read_by_ours() {
    let test = "hdrext_from_chromium::chromium_toffset_read_by_ours";
    if !enter_browser_test(test) {
        return;
    }
    let FromChromium { read, answered, .. } = read_from_chromium(test, &[TOFFSET], false, &[], 5);
    println!(
        "FIGURES chromium->us toffset alone: answered {answered:?}; {} outputs; toffset on {} \
         (range {:?}..{:?} ticks)",
        read.outputs,
        read.offsets.len(),
        read.offsets.iter().min(),
        read.offsets.iter().max(),
    );
    assert_eq!(answered, [TOFFSET]);
    assert!(read.outputs >= 30, "{} outputs", read.outputs);
    assert!(
        read.offsets.len() as u64 >= read.outputs * 9 / 10,
        "toffset on {} of {} outputs",
        read.offsets.len(),
        read.outputs
    );
    assert!(
        read.offsets.iter().all(|o| (0..9000).contains(o)),
        "toffset outside 0..100 ms: {:?}",
        read.offsets
    );
}

/// The width and height of `pad`'s current caps.
fn size_of(pad: &gst::Pad) -> Option<(i32, i32)> {
    let caps = pad.current_caps()?;
    let s = caps.structure(0)?;
    Some((s.get("width").ok()?, s.get("height").ok()?))
}

/// A rotated track from Chromium: the page marks its 320×240 camera frames as rotated 90°
/// clockwise (a WebCodecs `VideoFrame` rotation through a track generator, what a phone
/// camera reports). With CVO negotiated, libwebrtc sends the frames unrotated and the
/// rotation in CVO; our extension element turns it into the `image-orientation` tag
/// `rotate-90` after `rtph264depay2`, and `videoflip video-direction=auto` after the decoder
/// turns the 320×240 pictures into 240×320.
#[test]
fn chromium_rotated_track_arrives_as_orientation_tag() {
    let test = "hdrext_from_chromium::chromium_rotated_track_arrives_as_orientation_tag";
    if !enter_browser_test(test) {
        return;
    }
    let (pipeline, webrtc) = receive_h264(&[CVO], true);
    let tags = Arc::new(Mutex::new(Vec::<String>::new()));
    let t = tags.clone();
    probe_depayloader_output(
        &pipeline,
        &webrtc,
        "rtph264depay2 name=vdepay ! avdec_h264 name=dec ! \
         videoflip name=flip video-direction=auto ! fakesink sync=false",
        move |info| {
            if let Some(tag) = orientation_tag(info) {
                t.lock().unwrap().push(tag);
            }
        },
    );
    let messages = bus_messages(&pipeline);
    play(&pipeline);
    let mut options = Options::new(test);
    options.rotate_video = Some(90);
    let peer = BrowserPeer::connect(&webrtc, options, CONNECT).expect("connected");
    std::thread::sleep(Duration::from_secs(6));
    let pad = |element: &str, name: &str| {
        pipeline
            .by_name(element)
            .unwrap_or_else(|| panic!("{element}: no video arrived"))
            .static_pad(name)
            .unwrap()
    };
    let decoded = size_of(&pad("dec", "src"));
    let shown = size_of(&pad("flip", "src"));
    let _ = pipeline.set_state(gst::State::Paused);
    let tags = std::mem::take(&mut *tags.lock().unwrap());
    println!(
        "FIGURES chromium rotated track: answered CVO {}; tags {tags:?}; decoded {decoded:?}, \
         after videoflip {shown:?}",
        peer.answer.contains(CVO)
    );
    assert!(peer.answer.contains(CVO), "Chromium did not answer CVO");
    assert!(tags.iter().any(|t| t == "rotate-90"), "tags {tags:?}");
    assert_eq!(decoded, Some((320, 240)), "sent unrotated");
    assert_eq!(shown, Some((240, 320)), "rotated for display");
    assert_no_errors(&messages);
    stop(pipeline, peer);
}
