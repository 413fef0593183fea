// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Soak under impairment: a live encoder (160x120 at 240 frames/s, so that 10,000 packets
//! take seconds) → our payloader → netsim (5% loss, 1% duplication,
//! delay with reordering, and a burst of 40 lost packets half way) → rtpjitterbuffer → our
//! depayloader → decoder, for at least 10,000 packets, with the sequence number and the RTP
//! timestamp wrapping early and a resolution change (new parameter sets, new caps) in the
//! middle. The decoder keeps producing frames, every NAL unit out of the depayloader is one
//! the encoder made (no corrupted NAL ever reaches the decoder), keyframe requests reach the
//! encoder, and resident memory stays flat. The audio codecs run the same impairment
//! (without jitterbuffer delays) for 10,000 packets, with an SSRC change half way.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

mod common;

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// NAL unit hashes of Annex B data.
fn nal_hashes(data: &[u8]) -> Vec<u64> {
    rtp2_core::nal::annexb_nal_ranges(data)
        .into_iter()
        .map(|r| hash(&data[r]))
        .collect()
}

fn count_buffers(pad: &gst::Pad, counter: Arc<AtomicUsize>) {
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        counter.fetch_add(1, Ordering::Relaxed);
        gst::PadProbeReturn::Ok
    });
}

/// One codec's soak; `encoder` ends in byte-stream/au caps of `parse`.
fn video_soak(encoder: &str, parse: &str, pay: &str, depay: &str, decoder: &str, media: &str) {
    common::init();
    let launch = format!(
        "videotestsrc is-live=true pattern=ball ! capsfilter name=size \
           caps=video/x-raw,width=160,height=120,framerate=240/1,format=I420 \
         ! {encoder} name=enc ! {parse} config-interval=-1 name=parse \
         ! {media},stream-format=byte-stream,alignment=au \
         ! {pay} name=pay mtu=200 seqnum-offset=65000 timestamp-offset=4294800000 \
         ! netsim name=net drop-probability=0.05 duplicate-probability=0.01 \
           delay-probability=0.05 min-delay=5 max-delay=30 allow-reordering=true \
         ! rtpjitterbuffer latency=100 \
         ! {depay} name=depay request-keyframe=true \
         ! {media},stream-format=byte-stream,alignment=au \
         ! {parse} ! {decoder} ! fakesink name=sink sync=false"
    );
    let pipeline = gst::parse::launch(&launch)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let by_name = |n: &str| pipeline.by_name(n).unwrap();

    // Every NAL unit the payloader is given, and every one the depayloader outputs.
    let sent: Arc<Mutex<HashSet<u64>>> = Arc::default();
    let s = sent.clone();
    by_name("pay").static_pad("sink").unwrap().add_probe(
        gst::PadProbeType::BUFFER,
        move |_, info| {
            if let Some(b) = info.buffer() {
                let map = b.map_readable().unwrap();
                s.lock().unwrap().extend(nal_hashes(&map));
            }
            gst::PadProbeReturn::Ok
        },
    );
    let foreign = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(AtomicUsize::new(0));
    let (s, f, r) = (sent.clone(), foreign.clone(), received.clone());
    by_name("depay").static_pad("src").unwrap().add_probe(
        gst::PadProbeType::BUFFER,
        move |_, info| {
            if let Some(b) = info.buffer() {
                let map = b.map_readable().unwrap();
                let sent = s.lock().unwrap();
                for h in nal_hashes(&map) {
                    r.fetch_add(1, Ordering::Relaxed);
                    if !sent.contains(&h) {
                        f.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            gst::PadProbeReturn::Ok
        },
    );
    let keyframe_requests = Arc::new(AtomicUsize::new(0));
    let k = keyframe_requests.clone();
    by_name("enc").static_pad("src").unwrap().add_probe(
        gst::PadProbeType::EVENT_UPSTREAM,
        move |_, info| {
            if let Some(ev) = info.event()
                && gst_video::ForceKeyUnitEvent::is(ev)
            {
                k.fetch_add(1, Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        },
    );
    let packets = Arc::new(AtomicUsize::new(0));
    count_buffers(&by_name("net").static_pad("sink").unwrap(), packets.clone());
    let frames = Arc::new(AtomicUsize::new(0));
    count_buffers(&by_name("sink").static_pad("sink").unwrap(), frames.clone());

    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let start = Instant::now();
    let (mut rss_start, mut burst_done, mut resized) = (0, false, false);
    let frames_at_resize = AtomicU64::new(0);
    while packets.load(Ordering::Relaxed) < 10_000 && start.elapsed() < Duration::from_secs(60) {
        if let Some(msg) = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(100),
            &[gst::MessageType::Error],
        ) {
            panic!("pipeline error: {msg:?}");
        }
        let sent_packets = packets.load(Ordering::Relaxed);
        if rss_start == 0 && sent_packets > 1500 {
            rss_start = rss_bytes();
        }
        if std::env::var_os("SOAK_DEBUG").is_some() {
            eprintln!(
                "{sent_packets} packets, {} frames, {}",
                frames.load(Ordering::Relaxed),
                by_name("depay").property::<gst::Structure>("stats")
            );
        }
        if !burst_done && sent_packets > 4000 {
            by_name("net").set_property("drop-packets", 40u32);
            burst_done = true;
        }
        if !resized && sent_packets > 6000 {
            frames_at_resize.store(frames.load(Ordering::Relaxed) as u64, Ordering::Relaxed);
            by_name("size").set_property(
                "caps",
                gst::Caps::builder("video/x-raw")
                    .field("width", 176i32)
                    .field("height", 144i32)
                    .field("framerate", gst::Fraction::new(240, 1))
                    .field("format", "I420")
                    .build(),
            );
            resized = true;
        }
    }
    let rss_end = rss_bytes();
    let stats = by_name("depay").property::<gst::Structure>("stats");
    pipeline.set_state(gst::State::Null).unwrap();

    let (sent_packets, frames) = (
        packets.load(Ordering::Relaxed),
        frames.load(Ordering::Relaxed),
    );
    eprintln!(
        "{pay}: {sent_packets} packets in {:?}, {frames} frames decoded, {} NAL units out, \
         {} keyframe requests, RSS {} → {} KiB, {stats}",
        start.elapsed(),
        received.load(Ordering::Relaxed),
        keyframe_requests.load(Ordering::Relaxed),
        rss_start / 1024,
        rss_end / 1024
    );
    assert!(
        sent_packets >= 10_000,
        "only {sent_packets} packets in 60 s"
    );
    assert_eq!(
        foreign.load(Ordering::Relaxed),
        0,
        "NAL units that the encoder never made reached the decoder"
    );
    assert!(
        frames as u64 > frames_at_resize.load(Ordering::Relaxed) + 30,
        "decoding went on after the resolution change: {frames} frames"
    );
    assert!(keyframe_requests.load(Ordering::Relaxed) > 0);
    assert!(stats.get::<u64>("packets-lost").unwrap() > 100, "{stats}");
    assert!(
        rss_end < rss_start + 24 * 1024 * 1024,
        "resident memory grew from {rss_start} to {rss_end}"
    );
}

#[test]
fn h264_soak_under_loss_duplication_reordering_and_wraps() {
    video_soak(
        "x264enc speed-preset=ultrafast tune=zerolatency bitrate=1500 key-int-max=240",
        "h264parse",
        "rtph264pay2",
        "rtph264depay2",
        "avdec_h264",
        "video/x-h264",
    );
}

#[test]
fn h265_soak_under_loss_duplication_reordering_and_wraps() {
    video_soak(
        "x265enc speed-preset=ultrafast tune=zerolatency bitrate=1500 key-int-max=240",
        "h265parse",
        "rtph265pay2",
        "rtph265depay2",
        "avdec_h265",
        "video/x-h265",
    );
}

/// One audio codec: 10,100 buffers of 10 ms from `source` (or `feed` pushed into an appsrc
/// named `src`) through 5% loss and 1% duplication with the sequence number wrapping, and a
/// new SSRC half way.
fn audio_soak(source: &str, feed: Vec<gst::Buffer>, pay: &str, depay: &str, decode: &str) {
    let pipeline = gst::parse::launch(&format!(
        "{source} ! {pay} name=pay min-ptime=10000000 max-ptime=10000000 seqnum-offset=60000 \
         ! netsim name=net drop-probability=0.05 duplicate-probability=0.01 \
         ! {depay} name=depay ! {decode} ! fakesink name=sink sync=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let packets = Arc::new(AtomicUsize::new(0));
    count_buffers(
        &pipeline.by_name("net").unwrap().static_pad("sink").unwrap(),
        packets.clone(),
    );
    let decoded = Arc::new(AtomicUsize::new(0));
    count_buffers(
        &pipeline
            .by_name("sink")
            .unwrap()
            .static_pad("sink")
            .unwrap(),
        decoded.clone(),
    );
    // Half way, the sender restarts with a new SSRC (sequence and timestamps go on).
    let forwarded = AtomicUsize::new(0);
    pipeline
        .by_name("net")
        .unwrap()
        .static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if forwarded.fetch_add(1, Ordering::Relaxed) >= 5000
                && let Some(gst::PadProbeData::Buffer(buffer)) = info.data.as_mut()
                && let Ok(mut map) = buffer.make_mut().map_writable()
                && map.len() >= 12
            {
                map[8..12].copy_from_slice(&0xdead_beef_u32.to_be_bytes());
            }
            gst::PadProbeReturn::Ok
        });
    if let Some(src) = pipeline.by_name("src") {
        let src = src.downcast::<gst_app::AppSrc>().unwrap();
        src.set_max_bytes(0);
        for b in feed {
            src.push_buffer(b).unwrap();
        }
        src.end_of_stream().unwrap();
    }
    pipeline.set_state(gst::State::Playing).unwrap();
    let msg = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("EOS within 60 s");
    assert!(
        matches!(msg.view(), gst::MessageView::Eos(_)),
        "{pay}: {msg:?}"
    );
    let stats = pipeline
        .by_name("depay")
        .unwrap()
        .property::<gst::Structure>("stats");
    pipeline.set_state(gst::State::Null).unwrap();
    let (packets, decoded) = (
        packets.load(Ordering::Relaxed),
        decoded.load(Ordering::Relaxed),
    );
    eprintln!("{pay}: {packets} packets, {decoded} decoded buffers, {stats}");
    assert!(packets >= 10_000, "{pay}: {packets} packets");
    let lost = stats.get::<u64>("packets-lost").unwrap();
    assert!((200..1000).contains(&lost), "{pay}: {stats}");
    assert!(
        stats.get::<u64>("dropped-late").unwrap() > 20,
        "{pay}: duplicates dropped: {stats}"
    );
    assert!(decoded > packets * 9 / 10, "{pay}: {decoded} decoded");
    assert_eq!(
        stats.get::<u32>("ssrc").unwrap(),
        0xdead_beef,
        "{pay}: new SSRC followed"
    );
    assert!(stats.get::<u64>("resyncs").unwrap() >= 1, "{pay}: {stats}");
}

#[test]
fn g722_soak_under_loss_and_duplication() {
    common::init();
    audio_soak(
        "audiotestsrc num-buffers=10100 samplesperbuffer=160 \
         ! audio/x-raw,rate=16000,channels=1 ! avenc_g722",
        Vec::new(),
        "rtpg722pay2",
        "rtpg722depay2",
        "avdec_g722",
    );
}

#[test]
fn g729_soak_under_loss_and_duplication() {
    common::init();
    // Real G.729 frames (bcg729 fixture), one 10 ms frame per buffer, cycled.
    let frames: Vec<Vec<u8>> = common::g729_fixture("sine.g729")
        .into_iter()
        .filter(|f| f.len() == 10)
        .collect();
    let feed = (0..10_100u64)
        .map(|i| {
            let mut b = gst::Buffer::from_mut_slice(frames[i as usize % frames.len()].clone());
            let m = b.get_mut().unwrap();
            m.set_pts(gst::ClockTime::from_mseconds(10 * i));
            m.set_duration(gst::ClockTime::from_mseconds(10));
            b
        })
        .collect();
    audio_soak(
        "appsrc name=src format=time caps=audio/G729,rate=8000,channels=1",
        feed,
        "rtpg729pay2",
        "rtpg729depay2",
        "avdec_g729",
    );
}

/// Issue 15 sizes: a short CI run, or with `RTP2_SOAK_LONG=1` the issue's 60 s of 720p30.
fn side_by_side_size() -> (u32, u32, u32, u32) {
    if std::env::var_os("RTP2_SOAK_LONG").is_some() {
        (1280, 720, 1800, 2048)
    } else {
        (640, 360, 300, 800)
    }
}

/// The moving test picture (scrolling colour bars) that the side-by-side runs encode.
fn moving_source(frames: u32, width: u32, height: u32) -> String {
    format!(
        "videotestsrc num-buffers={frames} pattern=smpte horizontal-speed=4 \
         ! video/x-raw,width={width},height={height},framerate=30/1,format=I420"
    )
}

/// Issue 15: the packets of `encoder` (IDR every 2 s, 2 slices per picture) from the C
/// payloader at mtu 1200, recorded once, through one seeded netsim-like impairment and a
/// model of `rtpjitterbuffer latency=200` (see tests/common/impair.rs); the same released
/// packets go to our depayloader and to C's, each followed by the decoder.
fn loss_side_by_side(codec: &str, encoder: &str, pay: &str) {
    common::init();
    let (width, height, frames, bitrate) = side_by_side_size();
    let media = format!("video/x-{codec}");
    let collected = common::run_collect(
        &format!(
            "{} ! {encoder} bitrate={bitrate} key-int-max=60 ! {codec}parse \
             ! {media},stream-format=byte-stream,alignment=au ! {pay} mtu=1200 \
             ! appsink name=sink sync=false",
            moving_source(frames, width, height)
        ),
        "sink",
        Duration::from_secs(600),
    );
    let caps = collected.caps.expect("RTP caps");
    let (packets, net) = common::impair::impaired(
        &collected.buffers,
        common::impair::Impairment::issue_15(0x15),
        200,
    );
    let decoder = format!("avdec_{codec}");
    let ours = common::impair::receive(&format!("rtp{codec}depay2"), &decoder, &caps, &packets);
    let c = common::impair::receive(&format!("rtp{codec}depay"), &decoder, &caps, &packets);
    eprintln!(
        "{codec} {width}x{height}, {frames} pictures sent: {net:?}\n  ours: {ours:?}\n  C:    {c:?}"
    );
    assert!(net.dropped > net.sent / 40, "{net:?}");
    assert!(net.delayed > 0 && net.duplicated > 0, "{net:?}");
    assert!(
        ours.pictures >= c.pictures,
        "{codec}: ours decoded {} pictures, C {}",
        ours.pictures,
        c.pictures
    );
    assert!(
        ours.corrupted <= c.corrupted,
        "{codec}: ours {} corrupted pictures, C {}",
        ours.corrupted,
        c.corrupted
    );
    assert_eq!(ours.warnings, 0, "{codec}: no warning for loss");
    assert!(ours.pictures > frames as usize / 2, "{ours:?}");
}

#[test]
fn h264_loss_side_by_side_with_c() {
    loss_side_by_side(
        "h264",
        "x264enc speed-preset=ultrafast tune=zerolatency option-string=slices=2",
        "rtph264pay",
    );
}

#[test]
fn h265_loss_side_by_side_with_c() {
    loss_side_by_side(
        "h265",
        "x265enc speed-preset=ultrafast tune=zerolatency option-string=slices=2",
        "rtph265pay config-interval=-1",
    );
}

/// What the decoder output in a closed loop, and the keyframe requests the encoder got.
#[derive(Debug)]
struct ClosedLoop {
    pictures: usize,
    corrupted: usize,
    keyframe_requests: usize,
}

/// Issue 15 closed loop: live-like encoder → C payloader (mtu 1200) → 5% seeded loss →
/// `depay` with `request-keyframe=true wait-for-keyframe=true` → decoder; the depayloader's
/// force-key-unit requests reach the encoder, which starts an IDR at the next picture. The
/// pipeline runs as fast as it can (no clock), so a request takes effect one picture later.
fn closed_loop(codec: &str, encoder: &str, pay: &str, depay: &str) -> ClosedLoop {
    common::init();
    let (width, height, frames, bitrate) = side_by_side_size();
    let media = format!("video/x-{codec}");
    let pipeline = gst::parse::launch(&format!(
        "{} ! {encoder} name=enc bitrate={bitrate} key-int-max=300 ! {codec}parse \
         ! {media},stream-format=byte-stream,alignment=au ! {pay} mtu=1200 ! identity name=net \
         ! {depay} ! avdec_{codec} \
         ! fakesink name=sink sync=false",
        moving_source(frames, width, height)
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let by_name = |n: &str| pipeline.by_name(n).unwrap();
    // Each packet is lost with probability 5%, whether it travels alone or in a list.
    let rng = Mutex::new(common::impair::Rng::new(0x15c1));
    by_name("net").static_pad("sink").unwrap().add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
        move |_, info| {
            let mut rng = rng.lock().unwrap();
            match &mut info.data {
                Some(gst::PadProbeData::Buffer(_)) if rng.unit() < 0.05 => {
                    // Taken and released here: the packet never reaches the next element.
                    info.data = None;
                    return gst::PadProbeReturn::Handled;
                }
                Some(gst::PadProbeData::BufferList(list)) => {
                    let mut kept = gst::BufferList::new();
                    for b in list.iter() {
                        if rng.unit() >= 0.05 {
                            kept.make_mut().add(b.to_owned());
                        }
                    }
                    *list = kept;
                }
                _ => {}
            }
            gst::PadProbeReturn::Ok
        },
    );
    let pictures = Arc::new(AtomicUsize::new(0));
    let corrupted = Arc::new(AtomicUsize::new(0));
    let (p, c) = (pictures.clone(), corrupted.clone());
    by_name("sink").static_pad("sink").unwrap().add_probe(
        gst::PadProbeType::BUFFER,
        move |_, info| {
            p.fetch_add(1, Ordering::Relaxed);
            if info
                .buffer()
                .is_some_and(|b| b.flags().contains(gst::BufferFlags::CORRUPTED))
            {
                c.fetch_add(1, Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        },
    );
    let requests = Arc::new(AtomicUsize::new(0));
    let r = requests.clone();
    by_name("enc").static_pad("src").unwrap().add_probe(
        gst::PadProbeType::EVENT_UPSTREAM,
        move |_, info| {
            if info
                .event()
                .is_some_and(|e| gst_video::ForceKeyUnitEvent::is(e))
            {
                r.fetch_add(1, Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        },
    );
    common::run_to_eos(&pipeline, Duration::from_secs(600));
    pipeline.set_state(gst::State::Null).unwrap();
    ClosedLoop {
        pictures: pictures.load(Ordering::Relaxed),
        corrupted: corrupted.load(Ordering::Relaxed),
        keyframe_requests: requests.load(Ordering::Relaxed),
    }
}

/// `properties`: the loss settings of both depayloaders, or of ours only when C has none
/// (`rtph265depay` 1.22 has neither `request-keyframe` nor `wait-for-keyframe`).
fn closed_loop_side_by_side(
    codec: &str,
    encoder: &str,
    pay: &str,
    properties: &str,
    c_properties: &str,
) {
    let ours = closed_loop(
        codec,
        encoder,
        pay,
        &format!("rtp{codec}depay2 {properties}"),
    );
    let c = closed_loop(
        codec,
        encoder,
        pay,
        &format!("rtp{codec}depay {c_properties}"),
    );
    let (_, _, frames, _) = side_by_side_size();
    eprintln!("{codec} closed loop, {frames} pictures: ours {ours:?}, C {c:?}");
    assert!(ours.keyframe_requests > 0);
    assert!(
        ours.pictures >= c.pictures,
        "{codec}: ours recovered {} pictures, C {}",
        ours.pictures,
        c.pictures
    );
    assert!(ours.corrupted <= c.corrupted, "{codec}: ours {ours:?}, C {c:?}");
}

#[test]
fn h264_closed_loop_recovers_at_least_as_fast_as_c() {
    closed_loop_side_by_side(
        "h264",
        "x264enc speed-preset=ultrafast tune=zerolatency option-string=slices=2",
        "rtph264pay",
        "request-keyframe=true wait-for-keyframe=true",
        "request-keyframe=true wait-for-keyframe=true",
    );
}

#[test]
fn h265_closed_loop_recovers_at_least_as_fast_as_c() {
    closed_loop_side_by_side(
        "h265",
        "x265enc speed-preset=ultrafast tune=zerolatency option-string=slices=2",
        "rtph265pay config-interval=-1",
        "request-keyframe=true",
        "",
    );
}
