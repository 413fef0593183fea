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
