// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Issue 18: the header extension elements WebRTC uses that GStreamer lacks, through our
//! payloader/depayloader and the C ones (rtph264pay/rtph264depay), one-byte (id 5) and
//! two-byte (id 16) forms, negotiated from caps and added with `add-extension`. Packets are
//! checked with the C `GstRTPBuffer` element accessors and the RFC/spec byte layout, not with
//! the code under test.

use gst::prelude::*;
use gst_rtp::prelude::*;

mod common;
mod hdrext_support;

use common::hdrext::{packet_with_element, within};
use hdrext_support::*;

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
                // libwebrtc's rule: the last packet (marker) of key frames, of a change, and of
                // every frame not upright (90° here: every frame).
                let marker = gst_rtp::RTPBuffer::from_buffer_readable(p)
                    .unwrap()
                    .is_marker();
                // TS 26.114: R1 R0 = 01 is 90°.
                let want = marker.then(|| vec![0x01]);
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
                let metas: Vec<_> = out
                    .iter_meta::<gst::ReferenceTimestampMeta>()
                    .filter(|m| m.reference().can_intersect(&caps))
                    .collect();
                assert_eq!(
                    metas.len(),
                    1,
                    "{pay} -> {depay}: output {i} has one x-ntp meta"
                );
                let m = &metas[0];
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

/// The abs-send-time reference caps (docs/header-extensions.md).
const ABS_SEND_TIME_REFERENCE: &str = "timestamp/x-abs-send-time";

/// The send times (ns modulo 64 s) of the `timestamp/x-abs-send-time` reference timestamp
/// metas of `buf`.
fn send_time_metas(buf: &gst::Buffer) -> Vec<u64> {
    buf.iter_meta::<gst::ReferenceTimestampMeta>()
        .filter(|m| {
            m.reference()
                .structure(0)
                .is_some_and(|s| s.name() == ABS_SEND_TIME_REFERENCE)
        })
        .map(|m| m.timestamp().nseconds())
        .collect()
}

#[test]
fn abs_send_time_stamped_at_write() {
    let (factory, uri) = OURS[1];
    for (pay, depay) in PAIRS {
        for add_meta in [false, true] {
            let configure_depay: fn(&gst::Element) = if add_meta {
                |e| e.set_property("add-reference-timestamp-meta", true)
            } else {
                |_| {}
            };
            let r = run_configured(
                pay,
                depay,
                factory,
                uri,
                5,
                Setup::Added,
                (|_| {}, configure_depay),
                |_, _| {},
            );
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
            // Read: the 24 bits as nanoseconds (× 10^9 / 2^18, rounded down), one meta per
            // output holding one of the packets' times; none unless asked, and never the
            // custom meta.
            let sent: Vec<u64> = times
                .iter()
                .map(|&t| (u64::from(t) * 1_000_000_000) >> 18)
                .collect();
            // Ours decorates every output from its packets (the C depayloader from the
            // packet it was handling when the output went out).
            let ours = depay.ends_with('2');
            assert!(!r.outputs.is_empty());
            let mut with_meta = 0;
            for o in &r.outputs {
                let got = send_time_metas(o);
                assert!(meta_field::<u64>(o, factory, "ntp").is_none());
                if add_meta {
                    assert!(got.len() <= 1, "{pay} -> {depay}: {got:?}");
                    assert!(
                        got.iter().all(|t| sent.contains(t)),
                        "{pay} -> {depay}: {got:?} not sent"
                    );
                    with_meta += got.len();
                } else {
                    assert!(got.is_empty(), "{pay} -> {depay}: meta not asked for");
                }
            }
            if add_meta {
                assert!(with_meta > 0, "{pay} -> {depay}: no send time read");
            }
            if add_meta && ours {
                assert_eq!(with_meta, r.outputs.len(), "{pay} -> {depay}: every output");
                // The last output is made from the last packets: it holds the last time.
                assert_eq!(
                    send_time_metas(r.outputs.last().unwrap()),
                    [*sent.last().unwrap()],
                    "{pay} -> {depay}"
                );
            }
        }
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
