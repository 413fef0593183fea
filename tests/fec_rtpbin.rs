// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Our ULPFEC encoder inside `rtpbin` (`request-fec-encoder`), its output decoded by
//! `rtpulpfecdec2` after losses. The receiving `rtpbin` with `request-fec-decoder-full` is not
//! covered yet (see docs/fec.md).

mod common;
mod fec_support;

use std::time::{Duration, Instant};

use fec_support::*;
use gst::prelude::*;

/// Runs `packets` through an `rtpbin` with `request` connected to `element`, from
/// `sink_pad` to the first pad matching `src_prefix`; returns what comes out.
fn through_rtpbin(
    packets: &[Vec<u8>],
    request: &'static str,
    element: &'static str,
    sink_pad: &str,
    src_prefix: &'static str,
) -> Vec<Vec<u8>> {
    let pipeline = gst::Pipeline::new();
    let src = gst_app::AppSrc::builder()
        .caps(&CAPS.parse::<gst::Caps>().unwrap())
        .format(gst::Format::Time)
        .build();
    let rtpbin = gst::ElementFactory::make("rtpbin")
        .property("latency", 50u32)
        .build()
        .expect("rtpbin (gst-plugins-good rtpmanager) is not installed");
    let sink = gst_app::AppSink::builder().sync(false).build();
    rtpbin.connect(request, false, move |_| {
        let e = gst::ElementFactory::make(element)
            .property_from_str("pt", &FEC_PT.to_string())
            .build()
            .unwrap();
        if element == "rtpulpfecenc2" {
            e.set_property("percentage", 50u32);
        }
        Some(e.to_value())
    });
    rtpbin.connect("request-pt-map", false, |_| {
        Some(
            "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264"
                .parse::<gst::Caps>()
                .unwrap()
                .to_value(),
        )
    });
    pipeline
        .add_many([src.upcast_ref(), &rtpbin, sink.upcast_ref()])
        .unwrap();
    src.link_pads(Some("src"), &rtpbin, Some(sink_pad)).unwrap();
    let sink_weak = sink.downgrade();
    rtpbin.connect_pad_added(move |_, pad| {
        if pad.name().starts_with(src_prefix)
            && let Some(sink) = sink_weak.upgrade()
        {
            let _ = pad.link(&sink.static_pad("sink").unwrap());
        }
    });
    if src_prefix == "send_rtp_src_0" {
        rtpbin
            .link_pads(Some("send_rtp_src_0"), &sink, Some("sink"))
            .unwrap();
    }
    for (i, p) in packets.iter().enumerate() {
        let mut b = gst::Buffer::from_mut_slice(p.clone());
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(5 * i as u64));
        src.push_buffer(b).unwrap();
    }
    src.end_of_stream().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(2)) {
        out.push(sample.buffer().unwrap().map_readable().unwrap().to_vec());
        assert!(Instant::now() < deadline, "no EOS within 20 s");
    }
    pipeline.set_state(gst::State::Null).unwrap();
    out
}

#[test]
fn rtpbin_hosts_our_encoder_and_our_decoder_recovers() {
    common::init();
    let media = media(10, 6, 7000);
    let sent = through_rtpbin(
        &media,
        "request-fec-encoder",
        "rtpulpfecenc2",
        "send_rtp_sink_0",
        "send_rtp_src_0",
    );
    let fec = sent.iter().filter(|p| pt(p) == FEC_PT).count();
    assert_eq!(fec, 30, "50% of 60 packets as FEC");
    // Lose one media packet in each of frames 2, 5 and 8.
    let media_seqs: Vec<u16> = sent
        .iter()
        .filter(|p| pt(p) == MEDIA_PT)
        .map(|p| seq(p))
        .collect();
    let lost = [media_seqs[13], media_seqs[32], media_seqs[50]];
    // Recovered packets come out when their FEC packets arrive, after the rest of their
    // frame (a jitterbuffer downstream puts them in order).
    let mut received = ours_decodes(&sent, &lost);
    received.sort_by_key(|p| seq(p).wrapping_sub(7000));
    assert_packets(
        &received,
        &media,
        "every media packet back, FEC gone, numbering restored",
    );
}
