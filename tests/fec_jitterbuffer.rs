// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtpulpfecdec2` behind a standalone `rtpjitterbuffer` (`do-lost=true`), side by side with
//! C's documented pipeline (`rtpstorage ! rtpjitterbuffer ! rtpulpfecdec`), same stream, same
//! losses. The jitterbuffer takes its clock rate per payload type from its caps when their
//! `payload` matches the packet's (or they carry none), else from `request-pt-map`; with
//! `payload=96` caps and no handler it drops every FEC packet (PT 122) as having no clock rate.
//! C's decoder does not mind (it reads FEC packets from `rtpstorage`, upstream); ours needs
//! them to pass: caps without `payload`, or a `request-pt-map` answer for the FEC type.

mod common;
mod fec_support;

use fec_support::*;
use gst::prelude::*;

/// Caps without `payload`: the jitterbuffer's clock rate then holds for every payload type.
const CAPS_ANY_PT: &str = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264";

struct Out {
    packets: Vec<Vec<u8>>,
    recovered: u32,
}

/// `stream` minus `lost` through `appsrc caps=caps ! chain ! appsink`, the jitterbuffer named
/// `jb` answering `request-pt-map` for the FEC type when `pt_map`.
fn through(stream: &[Vec<u8>], lost: &[u16], caps: &str, chain: &str, pt_map: bool) -> Out {
    let pipeline = gst::parse::launch(&format!(
        "appsrc name=src format=time caps=\"{caps}\" ! {chain} ! appsink name=sink sync=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let src = pipeline
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    if pt_map {
        pipeline
            .by_name("jb")
            .unwrap()
            .connect("request-pt-map", false, |_| {
                Some(CAPS_ANY_PT.parse::<gst::Caps>().unwrap().to_value())
            });
    }
    pipeline.set_state(gst::State::Playing).unwrap();
    for (i, p) in stream.iter().enumerate() {
        if lost.contains(&seq(p)) {
            continue;
        }
        let mut b = gst::Buffer::from_mut_slice(p.clone());
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(5 * i as u64));
        src.push_buffer(b).unwrap();
    }
    src.end_of_stream().unwrap();
    let mut packets = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(5)) {
        packets.push(sample.buffer().unwrap().map_readable().unwrap().to_vec());
        assert!(std::time::Instant::now() < deadline, "no EOS within 20 s");
    }
    assert!(sink.is_eos(), "EOS reached");
    let recovered = ["rtpulpfecdec2", "rtpulpfecdec"]
        .iter()
        .find_map(|f| {
            pipeline
                .iterate_elements()
                .into_iter()
                .flatten()
                .find(|e| e.factory().is_some_and(|x| x.name() == *f))
        })
        .map(|d| d.property::<u32>("recovered"))
        .unwrap_or(0);
    pipeline.set_state(gst::State::Null).unwrap();
    Out { packets, recovered }
}

const OURS: &str = "rtpjitterbuffer name=jb latency=100 do-lost=true ! rtpulpfecdec2 pt=122";
const C: &str = "rtpstorage size-time=1000000000 ! rtpjitterbuffer name=jb latency=100 \
                 do-lost=true ! rtpulpfecdec pt=122";

#[test]
fn behind_a_jitterbuffer_ours_recovers_what_c_recovers_in_order() {
    common::init();
    let media = media(10, 6, 40_000);
    let stream = run(&format!("rtpulpfecenc pt={FEC_PT} percentage=50"), &media);
    let media_seqs: Vec<u16> = stream
        .iter()
        .filter(|p| pt(p) == MEDIA_PT)
        .map(|p| seq(p))
        .collect();
    for pattern in [&[13usize, 32, 50][..], &[2, 9, 17, 40]] {
        let lost: Vec<u16> = pattern.iter().map(|&i| media_seqs[i]).collect();
        let c = through(&stream, &lost, CAPS, C, false);
        // C passes the FEC packets it gets on; the jitterbuffer dropped them (no clock rate
        // for PT 122 with `payload=96` caps): only media comes out, the lost ones rebuilt.
        let c_media: Vec<&Vec<u8>> = c.packets.iter().filter(|p| pt(p) == MEDIA_PT).collect();
        assert_eq!(
            c.recovered as usize,
            pattern.len(),
            "C recovers {pattern:?}"
        );
        assert_eq!(c_media.len(), media.len());
        for (caps, pt_map) in [(CAPS_ANY_PT, false), (CAPS, true)] {
            let ours = through(&stream, &lost, caps, OURS, pt_map);
            assert_eq!(ours.recovered, c.recovered, "{pattern:?} {caps}");
            // In order (a frame with a loss waits for its FEC packets), byte-exact, the
            // encoder's numbering restored.
            assert_packets(&ours.packets, &media, &format!("{pattern:?} {caps}"));
            for p in &c_media {
                assert!(
                    ours.packets
                        .iter()
                        .any(|o| without_seq(o) == without_seq(p))
                );
            }
        }
    }
}

#[test]
fn with_payload_caps_and_no_pt_map_the_jitterbuffer_drops_the_fec() {
    common::init();
    let media = media(6, 6, 100);
    let stream = run(&format!("rtpulpfecenc pt={FEC_PT} percentage=50"), &media);
    let lost: Vec<u16> = stream
        .iter()
        .filter(|p| pt(p) == MEDIA_PT)
        .map(|p| seq(p))
        .skip(8)
        .take(1)
        .collect();
    // What the FEC packets did not reach: the decoder rebuilds nothing, the loss stays.
    let ours = through(&stream, &lost, CAPS, OURS, false);
    assert_eq!(ours.recovered, 0);
    assert_eq!(ours.packets.len(), media.len() - 1);
    assert!(ours.packets.iter().all(|p| pt(p) == MEDIA_PT));
}
