// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Issue 18: the header extension elements WebRTC uses that GStreamer lacks, through our
//! payloader/depayloader and the C ones (rtph264pay/rtph264depay), one-byte (id 5) and
//! two-byte (id 16) forms, negotiated from caps and added with `add-extension`. Packets are
//! checked with the C `GstRTPBuffer` element accessors and the RFC/spec byte layout, not with
//! the code under test.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;
use gst_rtp::prelude::*;

mod common;

use common::hdrext::{packet_with_element, within};

const BOUND: Duration = Duration::from_secs(60);

/// (factory, URI) of every element of issue 18.
const OURS: [(&str, &str); 8] = [
    ("rtphdrextcvo", "urn:3gpp:video-orientation"),
    (
        "rtphdrextabssendtime",
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    ),
    (
        "rtphdrextplayoutdelay",
        "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
    ),
    ("rtphdrexttoffset", "urn:ietf:params:rtp-hdrext:toffset"),
    (
        "rtphdrextabscapturetime",
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time",
    ),
    (
        "rtphdrextvideocontenttype",
        "http://www.webrtc.org/experiments/rtp-hdrext/video-content-type",
    ),
    (
        "rtphdrextvideotiming",
        "http://www.webrtc.org/experiments/rtp-hdrext/video-timing",
    ),
    (
        "rtphdrextcsrcaudiolevel",
        "urn:ietf:params:rtp-hdrext:csrc-audio-level",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    FromCaps,
    Added,
}

/// What went through: the RTP packets and the depayloaded buffers.
struct Run {
    packets: Vec<gst::Buffer>,
    outputs: Vec<gst::Buffer>,
}

fn make(factory: &str, id: u8, configure: fn(&gst::Element)) -> gst_rtp::RTPHeaderExtension {
    let ext = gst::ElementFactory::make(factory)
        .build()
        .unwrap_or_else(|_| panic!("{factory} is not registered"))
        .downcast::<gst_rtp::RTPHeaderExtension>()
        .unwrap();
    ext.set_id(id.into());
    configure(ext.upcast_ref());
    ext
}

/// 10 frames of x264enc (key frames every 5) through `pay` with extension `factory` id `id`,
/// then through `depay`. `on_input` may add metas to each payloader input (index given).
#[allow(clippy::too_many_arguments)]
fn run(
    pay: &'static str,
    depay: &'static str,
    factory: &'static str,
    uri: &'static str,
    id: u8,
    setup: Setup,
    configure: fn(&gst::Element),
    on_input: fn(usize, &mut gst::BufferRef),
) -> Run {
    within(BOUND, move || {
        common::init();
        let caps_filter = match setup {
            Setup::FromCaps => format!("! application/x-rtp,extmap-{id}=(string){uri} "),
            Setup::Added => String::new(),
        };
        let pipeline = gst::parse::launch(&format!(
            "videotestsrc num-buffers=10 ! video/x-raw,width=160,height=120 \
             ! x264enc key-int-max=5 tune=zerolatency ! {pay} name=pay mtu=400 {caps_filter}\
             ! appsink name=sink sync=false"
        ))
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let payloader = pipeline.by_name("pay").unwrap();
        match setup {
            Setup::Added => {
                payloader.emit_by_name::<()>("add-extension", &[&make(factory, id, configure)])
            }
            Setup::FromCaps => {
                payloader.connect("request-extension", false, move |args| {
                    let ext_id = args[1].get::<u32>().unwrap();
                    let ext = make(factory, ext_id as u8, configure);
                    Some(ext.to_value())
                });
            }
        }
        let n = AtomicUsize::new(0);
        payloader.static_pad("sink").unwrap().add_probe(
            gst::PadProbeType::BUFFER,
            move |_, info| {
                if let Some(buf) = info.buffer_mut() {
                    on_input(n.fetch_add(1, Ordering::Relaxed), buf.make_mut());
                }
                gst::PadProbeReturn::Ok
            },
        );
        let got = Arc::new(Mutex::new((Vec::new(), None)));
        let sink = pipeline
            .by_name("sink")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        let got2 = got.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |s| {
                    let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let mut g = got2.lock().unwrap();
                    g.0.push(sample.buffer_owned().unwrap());
                    g.1 = sample.caps_owned();
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        let warnings = common::run_to_eos(&pipeline, BOUND);
        assert!(warnings.is_empty(), "{warnings:?}");
        let (packets, caps) = std::mem::take(&mut *got.lock().unwrap());
        let caps: gst::Caps = caps.expect("payloader caps");
        let s = caps.structure(0).unwrap();
        assert_eq!(
            s.get::<&str>(format!("extmap-{id}").as_str()).ok(),
            Some(uri),
            "{pay} announces the extension in {caps}"
        );

        let depayloader = gst::ElementFactory::make(depay).build().unwrap();
        depayloader.connect("request-extension", false, move |args| {
            let ext_id = args[1].get::<u32>().unwrap();
            Some(make(factory, ext_id as u8, |_| {}).to_value())
        });
        let mut h = gst_check::Harness::with_element(&depayloader, Some("sink"), Some("src"));
        h.set_src_caps(caps);
        for p in &packets {
            h.push(p.clone()).unwrap();
        }
        h.push_event(gst::event::Eos::new());
        let mut outputs = Vec::new();
        while let Some(b) = h.try_pull() {
            outputs.push(b);
        }
        Run { packets, outputs }
    })
    .unwrap_or_else(|e| panic!("{pay} -> {depay} with {factory}: {e}"))
}

/// The element `id` of a packet, read with the C `GstRTPBuffer` accessors.
fn element(packet: &gst::Buffer, id: u8) -> Option<Vec<u8>> {
    let rtp = gst_rtp::RTPBuffer::from_buffer_readable(packet).unwrap();
    if id <= 14 {
        rtp.extension_onebyte_header(id, 0).map(<[u8]>::to_vec)
    } else {
        rtp.extension_twobytes_header(id, 0)
            .map(|(_, d)| d.to_vec())
    }
}

fn meta_field<T: for<'a> glib::value::FromValue<'a> + 'static>(
    buf: &gst::Buffer,
    meta: &str,
    field: &str,
) -> Option<T> {
    let m = gst::meta::CustomMeta::from_buffer(buf, meta).ok()?;
    m.structure().get::<T>(field).ok()
}

use gst::glib;

/// The frame (0, 1, …) of each packet, from RTP timestamp changes.
fn frame_index(packets: &[gst::Buffer]) -> Vec<usize> {
    let mut last = None;
    let mut frame = 0;
    packets
        .iter()
        .map(|p| {
            let ts = gst_rtp::RTPBuffer::from_buffer_readable(p)
                .unwrap()
                .timestamp();
            if last.is_some_and(|l| l != ts) {
                frame += 1;
            }
            last = Some(ts);
            frame
        })
        .collect()
}

const PAIRS: [(&str, &str); 4] = [
    ("rtph264pay", "rtph264depay"),
    ("rtph264pay2", "rtph264depay2"),
    ("rtph264pay", "rtph264depay2"),
    ("rtph264pay2", "rtph264depay"),
];

#[test]
fn factories_found_by_uri_with_metadata() {
    common::init();
    for (factory, uri) in OURS {
        let ext = gst_rtp::RTPHeaderExtension::create_from_uri(uri)
            .unwrap_or_else(|| panic!("no extension for {uri}"));
        let f = ext.factory().unwrap();
        assert_eq!(f.name(), factory);
        assert_eq!(f.klass(), "Network/Extension/RTPHeader");
        assert_eq!(f.metadata("RTP-Header-Extension-URI"), Some(uri));
        assert_eq!(f.rank(), gst::Rank::MARGINAL);
        assert_eq!(ext.uri().as_deref(), Some(uri));
    }
}

fn orientation(e: &gst::Element) {
    e.set_property("orientation", "rotate-90");
}

#[test]
fn cvo_through_c_and_ours_both_forms() {
    for (pay, depay) in PAIRS {
        for (id, setup) in [(5, Setup::FromCaps), (16, Setup::Added)] {
            let (factory, uri) = OURS[0];
            let r = run(pay, depay, factory, uri, id, setup, orientation, |_, _| {});
            let frames = frame_index(&r.packets);
            for (p, frame) in r.packets.iter().zip(&frames) {
                // x264enc key-int-max=5: frames 0 and 5 are key frames.
                let key = *frame % 5 == 0;
                // TS 26.114: R1 R0 = 01 is 90°.
                let want = key.then(|| vec![0x01]);
                assert_eq!(element(p, id), want, "{pay} id {id} frame {frame}");
            }
            assert_eq!(frames.last(), Some(&9), "{pay}: ten frames");
            let first = r.outputs.first().expect("depayloaded output");
            assert_eq!(
                meta_field::<String>(first, factory, "orientation").as_deref(),
                Some("rotate-90"),
                "{pay} -> {depay} id {id}"
            );
        }
    }
}

fn delay(e: &gst::Element) {
    e.set_property("min-delay", 100u32);
    e.set_property("max-delay", 500u32);
}

#[test]
fn playout_delay_sent_until_a_key_frame() {
    for (pay, depay) in PAIRS {
        for (id, setup) in [(5, Setup::Added), (16, Setup::FromCaps)] {
            let (factory, uri) = OURS[2];
            let r = run(pay, depay, factory, uri, id, setup, delay, |_, _| {});
            // 10 and 50 units of 10 ms: 12 + 12 bits.
            let carried: Vec<bool> = r.packets.iter().map(|p| element(p, id).is_some()).collect();
            for p in &r.packets {
                if let Some(data) = element(p, id) {
                    assert_eq!(data, [0x00, 0xa0, 0x32]);
                }
            }
            // The first frame (a key frame) carries it on all its packets, no later packet does.
            let first_ts = gst_rtp::RTPBuffer::from_buffer_readable(&r.packets[0])
                .unwrap()
                .timestamp();
            for (p, c) in r.packets.iter().zip(&carried) {
                let ts = gst_rtp::RTPBuffer::from_buffer_readable(p)
                    .unwrap()
                    .timestamp();
                assert_eq!(*c, ts == first_ts, "{pay} id {id}");
            }
            let out = r.outputs.first().unwrap();
            assert_eq!(meta_field::<u32>(out, factory, "min-delay"), Some(100));
            assert_eq!(meta_field::<u32>(out, factory, "max-delay"), Some(500));
        }
    }
}

/// 2024-01-01 in ns since 1900, plus 33 ms per frame.
fn capture_ns(i: usize) -> u64 {
    3_913_056_000 * 1_000_000_000 + i as u64 * 33_000_000
}

fn add_ntp(i: usize, buf: &mut gst::BufferRef) {
    gst::ReferenceTimestampMeta::add(
        buf,
        &gst::Caps::new_empty_simple("timestamp/x-ntp"),
        gst::ClockTime::from_nseconds(capture_ns(i)),
        gst::ClockTime::NONE,
    );
}

#[test]
fn abs_capture_time_from_and_to_reference_timestamp_meta() {
    for (pay, depay) in PAIRS {
        for (id, setup) in [(5, Setup::FromCaps), (16, Setup::Added)] {
            let (factory, uri) = OURS[4];
            let r = run(pay, depay, factory, uri, id, setup, |_| {}, add_ntp);
            let first = element(&r.packets[0], id).expect("element on the first packet");
            // NTP 32.32: seconds in the high word.
            assert_eq!(first.len(), 8);
            assert_eq!(
                u32::from_be_bytes(first[..4].try_into().unwrap()),
                3_913_056_000
            );
            let caps = gst::Caps::new_empty_simple("timestamp/x-ntp");
            for (i, out) in r.outputs.iter().enumerate() {
                let m = out
                    .iter_meta::<gst::ReferenceTimestampMeta>()
                    .find(|m| m.reference().can_intersect(&caps))
                    .unwrap_or_else(|| panic!("{pay} -> {depay}: output {i} has x-ntp meta"));
                let got = m.timestamp().nseconds();
                assert!(
                    got.abs_diff(capture_ns(i)) <= 1,
                    "{got} vs {}",
                    capture_ns(i)
                );
            }
        }
    }
}

#[test]
fn abs_send_time_stamped_at_write() {
    let (factory, uri) = OURS[1];
    for (pay, depay) in PAIRS {
        let r = run(pay, depay, factory, uri, 5, Setup::Added, |_| {}, |_, _| {});
        let times: Vec<u32> = r
            .packets
            .iter()
            .map(|p| {
                let d = element(p, 5).expect("every packet carries abs-send-time");
                assert_eq!(d.len(), 3);
                u32::from_be_bytes([0, d[0], d[1], d[2]])
            })
            .collect();
        // 6.18 fixed point, 64 s wrap: consecutive stamps within 2 s (unless wrapping).
        for w in times.windows(2) {
            let step = (w[1].wrapping_sub(w[0])) & 0xff_ffff;
            assert!(step < 2 << 18, "{pay}: {times:?}");
        }
        assert!(
            r.outputs
                .iter()
                .all(|o| meta_field::<u64>(o, factory, "ntp").is_some())
        );
    }
}

#[test]
fn malformed_element_is_counted_and_skipped() {
    common::init();
    let (factory, _) = OURS[0];
    for depay in ["rtpg722depay", "rtpg722depay2"] {
        let r = within(BOUND, move || {
            let ext = make(factory, 5, |_| {});
            let d = gst::ElementFactory::make(depay).build().unwrap();
            d.emit_by_name::<()>("add-extension", &[&ext]);
            let mut h = gst_check::Harness::with_element(&d, Some("sink"), Some("src"));
            h.set_src_caps_str(
                "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9",
            );
            // 20 ms of G.722 with a 2-byte CVO element (CVO is exactly one byte), then one
            // with a good element.
            let audio = [0x55; 160];
            h.push(packet_with_element(
                9,
                1,
                0,
                false,
                5,
                &[0x01, 0x02],
                &audio,
            ))
            .unwrap();
            h.push(packet_with_element(9, 2, 160, false, 5, &[0x03], &audio))
                .unwrap();
            h.push_event(gst::event::Eos::new());
            let mut outs = Vec::new();
            while let Some(b) = h.try_pull() {
                outs.push(b);
            }
            let stats = ext.property::<gst::Structure>("stats");
            (
                outs,
                stats.get::<u64>("malformed").unwrap(),
                stats.get::<u64>("read").unwrap(),
            )
        })
        .unwrap();
        let (outs, malformed, read) = r;
        assert_eq!((malformed, read), (1, 1), "{depay}");
        assert_eq!(outs.len(), 2, "{depay}: both packets went on");
        assert!(meta_field::<String>(&outs[0], factory, "orientation").is_none());
        assert_eq!(
            meta_field::<String>(&outs[1], factory, "orientation").as_deref(),
            Some("rotate-270")
        );
    }
}

fn add_meta(buf: &mut gst::BufferRef, name: &str, fill: impl FnOnce(&mut gst::StructureRef)) {
    let mut m = gst::meta::CustomMeta::add(buf, name).unwrap();
    fill(m.mut_structure());
}

fn toffset_meta(i: usize, buf: &mut gst::BufferRef) {
    add_meta(buf, "rtphdrexttoffset", |s| {
        s.set("offset", -(i as i32) - 1)
    });
}

fn timing_meta(_: usize, buf: &mut gst::BufferRef) {
    add_meta(buf, "rtphdrextvideotiming", |s| {
        s.set("flags", 1u32);
        for (j, f) in [
            "encode-start",
            "encode-finish",
            "packetization-finish",
            "pacer-exit",
            "network",
            "network2",
        ]
        .into_iter()
        .enumerate()
        {
            s.set(f, j as u32 * 0x101);
        }
    });
}

fn levels_meta(_: usize, buf: &mut gst::BufferRef) {
    gst_rtp::RTPSourceMeta::add(buf, None, &[0x1111_1111, 0x2222_2222]);
    add_meta(buf, "rtphdrextcsrcaudiolevel", |s| {
        s.set("levels", gst::Array::new([10u32, 127u32]));
    });
}

fn screenshare(e: &gst::Element) {
    e.set_property("screenshare", true);
}

/// The extensions whose value an application gives in the custom meta (or, for
/// video-content-type, a property): on the wire as the spec lays it out, and back in the
/// meta after the depayloader, through every pair and both forms.
#[test]
fn meta_driven_extensions_through_c_and_ours() {
    type Case = (
        usize,
        fn(&gst::Element),
        fn(usize, &mut gst::BufferRef),
        &'static str,
    );
    let cases: [Case; 4] = [
        (3, |_| {}, toffset_meta, "offset"),
        (5, screenshare, |_, _| {}, "screenshare"),
        (6, |_| {}, timing_meta, "pacer-exit"),
        (7, |_| {}, levels_meta, "levels"),
    ];
    for (pay, depay) in PAIRS {
        for (id, setup) in [(5, Setup::Added), (16, Setup::FromCaps)] {
            for (which, configure, on_input, field) in cases {
                let (factory, uri) = OURS[which];
                let r = run(pay, depay, factory, uri, id, setup, configure, on_input);
                let frames = frame_index(&r.packets);
                for (p, frame) in r.packets.iter().zip(&frames) {
                    let data = element(p, id)
                        .unwrap_or_else(|| panic!("{pay} {factory} id {id}: every packet"));
                    let want: Vec<u8> = match which {
                        // RFC 5450: 24-bit two's complement of -(frame + 1).
                        3 => (-(*frame as i32) - 1).to_be_bytes()[1..].to_vec(),
                        5 => vec![1],
                        6 => vec![1, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5],
                        _ => vec![10, 127],
                    };
                    assert_eq!(data, want, "{pay} {factory} id {id} frame {frame}");
                }
                let out = r.outputs.last().unwrap();
                let m = gst::meta::CustomMeta::from_buffer(out, factory)
                    .unwrap_or_else(|_| panic!("{pay} -> {depay}: {factory} meta"));
                assert!(m.structure().has_field(field), "{}", m.structure());
            }
        }
    }
}
