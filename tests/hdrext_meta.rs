// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Issue 18: the extensions whose values an application gives in the custom meta (toffset,
//! video-timing, csrc-audio-level) or a property (video-content-type), through C and our
//! H.264 payloader/depayloader, both forms; abs-send-time stamped again at the sink.

use std::sync::{Arc, Mutex};

use gst::prelude::*;

mod common;
mod hdrext_support;

use hdrext_support::*;

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

/// Levels without a CSRC list of the same length describe nobody: not written.
fn levels_without_csrcs(_: usize, buf: &mut gst::BufferRef) {
    gst_rtp::RTPSourceMeta::add(buf, None, &[0x1111_1111]);
    add_meta(buf, "rtphdrextcsrcaudiolevel", |s| {
        s.set("levels", gst::Array::new([10u32, 127u32]));
    });
}

#[test]
fn csrc_levels_need_matching_csrcs() {
    let (factory, uri) = OURS[7];
    for (pay, depay) in PAIRS {
        let r = run(
            pay,
            depay,
            factory,
            uri,
            5,
            Setup::Added,
            |_| {},
            levels_without_csrcs,
        );
        assert!(r.packets.iter().all(|p| element(p, 5).is_none()), "{pay}");
    }
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
                    if which == 7 {
                        let rtp = gst_rtp::RTPBuffer::from_buffer_readable(p).unwrap();
                        assert_eq!(rtp.csrc_count(), 2, "levels go with as many CSRCs");
                    }
                }
                let out = r.outputs.last().unwrap();
                let m = gst::meta::CustomMeta::from_buffer(out, factory)
                    .unwrap_or_else(|_| panic!("{pay} -> {depay}: {factory} meta"));
                assert!(m.structure().has_field(field), "{}", m.structure());
            }
        }
    }
}

/// Stamping at the sink: a pad probe on the sink rewrites the element with the clock
/// of that moment; the bytes change to a later (or wrapped) time and the rest of the packet
/// stays as it was.
#[test]
fn abs_send_time_restamped_at_the_sink() {
    common::init();
    let (factory, _) = OURS[1];
    let pipeline = gst::parse::launch(
        "videotestsrc num-buffers=3 ! video/x-raw,width=160,height=120 ! x264enc \
         ! rtph264pay2 name=pay ! identity name=late sleep-time=20000 ! fakesink name=sink sync=false",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let pay = pipeline.by_name("pay").unwrap();
    pay.emit_by_name::<()>("add-extension", &[&make(factory, 5, |_| {})]);
    let pairs = Arc::new(Mutex::new(Vec::new()));
    let p = pairs.clone();
    pipeline
        .by_name("sink")
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buf) = info.buffer_mut() {
                let before = buf.map_readable().unwrap().to_vec();
                let done = gstrtp2::hdrext::abs_send_time::restamp_now(buf.make_mut(), 5);
                let after = buf.map_readable().unwrap().to_vec();
                p.lock().unwrap().push((done, before, after));
            }
            gst::PadProbeReturn::Ok
        });
    let warnings = common::run_to_eos(&pipeline, BOUND);
    assert!(warnings.is_empty(), "{warnings:?}");
    let pairs = pairs.lock().unwrap();
    assert!(!pairs.is_empty());
    for (done, before, after) in pairs.iter() {
        assert!(done, "restamped {before:x?}");
        let b = gst::Buffer::from_slice(before.clone());
        let a = gst::Buffer::from_slice(after.clone());
        let (tb, ta) = (element(&b, 5).unwrap(), element(&a, 5).unwrap());
        let t = |d: &[u8]| u32::from_be_bytes([0, d[0], d[1], d[2]]);
        // identity sleeps 20 ms per buffer after the payloader: at least 5000 units of 2^-18 s.
        let step = t(&ta).wrapping_sub(t(&tb)) & 0xff_ffff;
        assert!((5000..1 << 18).contains(&step), "{step}");
        let differing = before.iter().zip(after).filter(|(x, y)| x != y).count();
        assert!(differing <= 3);
    }
}

/// RFC 6465 levels are audio: through the C and our G.722 payloader and depayloader, each
/// packet with as many CSRCs as levels, both forms, and the levels back in the meta.
#[test]
fn csrc_levels_through_g722_c_and_ours() {
    let (factory, uri) = OURS[7];
    let pairs = [
        ("rtpg722pay", "rtpg722depay"),
        ("rtpg722pay2", "rtpg722depay2"),
        ("rtpg722pay", "rtpg722depay2"),
        ("rtpg722pay2", "rtpg722depay"),
    ];
    for (pay, depay) in pairs {
        for (id, setup) in [(5, Setup::FromCaps), (16, Setup::Added)] {
            let r = run(pay, depay, factory, uri, id, setup, |_| {}, levels_meta);
            assert!(!r.packets.is_empty(), "{pay}");
            for p in &r.packets {
                assert_eq!(element(p, id), Some(vec![10, 127]), "{pay} id {id}");
                let rtp = gst_rtp::RTPBuffer::from_buffer_readable(p).unwrap();
                assert_eq!(rtp.csrc_count(), 2);
            }
            assert!(!r.outputs.is_empty(), "{depay}");
            for out in &r.outputs {
                let levels = meta_field::<gst::Array>(out, factory, "levels")
                    .unwrap_or_else(|| panic!("{pay} -> {depay}: levels meta"));
                let levels: Vec<u32> = levels.iter().map(|v| v.get().unwrap()).collect();
                assert_eq!(levels, [10, 127]);
            }
        }
    }
}
