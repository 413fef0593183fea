// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Helpers of tests/fec_flexfec.rs: harness runs, hand-made repair packets (RFC 8627 §4.2 and
//! flexfec-03 byte layouts), and an encoder → netsim → UDP → decoder run on 127.0.0.1.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

use super::fec_support::{CAPS, MEDIA_PT, pt, seq};

pub const FLEX_PT: u8 = 118;
pub const FORMATS: [&str; 2] = ["flexfec-03", "rfc8627"];

/// The `stats` of the element `name` of `h`.
pub fn stats(h: &mut gst_check::Harness, name: &str) -> gst::Structure {
    h.find_element(name).unwrap().property("stats")
}

/// Pushes `packets` (PTS 1 ms apart) and EOS; returns every buffer out.
pub fn push_all(h: &mut gst_check::Harness, packets: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        let mut b = gst::Buffer::from_mut_slice(p.clone());
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(i as u64));
        assert_eq!(h.push(b), Ok(gst::FlowSuccess::Ok));
        while let Some(b) = h.try_pull() {
            out.push(b.map_readable().unwrap().to_vec());
        }
    }
    h.push_event(gst::event::Eos::new());
    while let Some(b) = h.try_pull() {
        out.push(b.map_readable().unwrap().to_vec());
    }
    out
}

/// Decodes `kept` (the encoder's output less the chosen losses) with `rtpflexfecdec2` in
/// `format`, and checks that every packet of `media` leaves byte-identical, no repair packet
/// leaves, and `stats` counts `lost` recovered and none unrecovered (`what` names the case).
pub fn decode_expect_all(
    format: &str,
    kept: &[Vec<u8>],
    media: &[Vec<u8>],
    lost: usize,
    what: &str,
) {
    let mut h =
        gst_check::Harness::new_parse(&format!("rtpflexfecdec2 pt={FLEX_PT} wire-format={format}"));
    h.set_src_caps_str(CAPS);
    let mut by_seq: BTreeMap<u16, Vec<u8>> = BTreeMap::new();
    for p in push_all(&mut h, kept) {
        assert_ne!(pt(&p), FLEX_PT, "repair packets are consumed");
        by_seq.insert(seq(&p), p);
    }
    for m in media {
        assert_eq!(
            by_seq.get(&seq(m)),
            Some(m),
            "{format} {what}: packet {} byte-identical",
            seq(m)
        );
    }
    let st = stats(&mut h, "rtpflexfecdec2");
    assert_eq!(st.get::<u64>("recovered").unwrap(), lost as u64, "{st}");
    assert_eq!(st.get::<u64>("unrecovered").unwrap(), 0, "{st}");
}

/// A repair packet: RTP header (`csrcs` in its CSRC list) then `payload` as given.
pub fn repair(seq: u16, csrcs: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80 | csrcs.len() as u8, FLEX_PT];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0, 0xfe, 0xc0, 0xfe, 0xc0]);
    for c in csrcs {
        p.extend_from_slice(&c.to_be_bytes());
    }
    p.extend_from_slice(payload);
    p
}

/// Sends `media` through `rtpflexfecenc2 {enc}` → netsim → UDP → `rtpflexfecdec2 {dec}`;
/// returns (media packets reaching the decoder, packets leaving it).
pub fn over_udp(
    enc: &str,
    dec: &str,
    media: &[Vec<u8>],
    drop: f64,
) -> (BTreeSet<u16>, Vec<Vec<u8>>) {
    let port = super::common::free_udp_port();
    let receiver = gst::parse::launch(&format!(
        "udpsrc address=127.0.0.1 port={port} caps=\"{CAPS}\" buffer-size=4000000 \
         ! rtpflexfecdec2 name=dec {dec} ! appsink name=sink sync=false emit-signals=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sender = gst::parse::launch(&format!(
        "appsrc name=src format=time caps=\"{CAPS}\" \
         ! rtpflexfecenc2 {enc} ! netsim drop-probability={drop} \
         ! udpsink host=127.0.0.1 port={port} sync=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let arrived = Arc::new(Mutex::new(BTreeSet::new()));
    let a = arrived.clone();
    receiver
        .by_name("dec")
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(b) = info.buffer()
                && let Ok(m) = b.map_readable()
                && m.len() >= 12
                && pt(&m) == MEDIA_PT
            {
                a.lock().unwrap().insert(seq(&m));
            }
            gst::PadProbeReturn::Ok
        });
    let out = Arc::new(Mutex::new(Vec::new()));
    let o = out.clone();
    let sink = receiver
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                if let Ok(sample) = s.pull_sample()
                    && let Some(b) = sample.buffer()
                {
                    o.lock().unwrap().push(b.map_readable().unwrap().to_vec());
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    receiver.set_state(gst::State::Playing).unwrap();
    sender.set_state(gst::State::Playing).unwrap();
    let src = sender
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    for (i, p) in media.iter().enumerate() {
        let mut b = gst::Buffer::from_mut_slice(p.clone());
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(i as u64));
        src.push_buffer(b).unwrap();
        if i % 20 == 19 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    src.end_of_stream().unwrap();
    // Until nothing more arrives for 300 ms (at most 10 s).
    let start = Instant::now();
    let mut last = (0, Instant::now());
    while start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
        let n = out.lock().unwrap().len();
        if n != last.0 {
            last = (n, Instant::now());
        } else if n > 0 && last.1.elapsed() > Duration::from_millis(300) {
            break;
        }
    }
    sender.set_state(gst::State::Null).unwrap();
    receiver.set_state(gst::State::Null).unwrap();
    let arrived = arrived.lock().unwrap().clone();
    let out = out.lock().unwrap().clone();
    (arrived, out)
}
