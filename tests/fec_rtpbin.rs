// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Our ULPFEC encoder inside `rtpbin` (`request-fec-encoder`), its output decoded by
//! `rtpulpfecdec2` after losses; our decoder inside a receiving `rtpbin`
//! (`request-fec-decoder-full`) side by side with C's, same stream, same losses.

mod common;
mod fec_support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
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

/// What a receiving `rtpbin` (jitterbuffer with `do-lost`) gives out: per source pad the
/// packets, the `recovered` counter of the decoder of the media payload type, and the
/// payload types `request-fec-decoder-full` asked a decoder for.
struct RtpbinReceived {
    pads: BTreeMap<String, Vec<Vec<u8>>>,
    recovered: u32,
    requests: Vec<u32>,
}

fn receive_through_rtpbin(
    stream: &[Vec<u8>],
    lost: &[u16],
    decoder: &'static str,
) -> RtpbinReceived {
    let pipeline = gst::Pipeline::new();
    let src = gst_app::AppSrc::builder()
        .caps(
            &"application/x-rtp,media=video,clock-rate=90000"
                .parse::<gst::Caps>()
                .unwrap(),
        )
        .format(gst::Format::Time)
        .build();
    let rtpbin = gst::ElementFactory::make("rtpbin")
        .property("latency", 100u32)
        .property("do-lost", true)
        .build()
        .expect("rtpbin (gst-plugins-good rtpmanager) is not installed");
    // C's decoder reads the FEC packets from rtpbin's rtpstorage: it must keep some.
    rtpbin.connect("new-storage", false, |v| {
        let storage = v[1].get::<gst::Element>().unwrap();
        storage.set_property("size-time", 1_000_000_000u64);
        None
    });
    let decoders: Arc<Mutex<Vec<(u32, gst::Element)>>> = Default::default();
    let made = decoders.clone();
    let bin_weak = rtpbin.downgrade();
    // The usual handler (webrtcbin's too): a decoder for every (ssrc, pt), given the
    // session's storage.
    rtpbin.connect("request-fec-decoder-full", false, move |v| {
        let session = v[1].get::<u32>().unwrap();
        let pt = v[3].get::<u32>().unwrap();
        let storage: glib::Object = bin_weak
            .upgrade()?
            .emit_by_name("get-internal-storage", &[&session]);
        let e = gst::ElementFactory::make(decoder)
            .property("pt", u32::from(FEC_PT))
            .property("storage", &storage)
            .build()
            .unwrap();
        made.lock().unwrap().push((pt, e.clone()));
        Some(e.to_value())
    });
    rtpbin.connect("request-pt-map", false, |v| {
        let pt = v[2].get::<u32>().unwrap();
        let name = if pt == u32::from(FEC_PT) {
            "ULPFEC"
        } else {
            "H264"
        };
        Some(
            format!("application/x-rtp,media=video,clock-rate=90000,encoding-name={name}")
                .parse::<gst::Caps>()
                .unwrap()
                .to_value(),
        )
    });
    pipeline.add_many([src.upcast_ref(), &rtpbin]).unwrap();
    src.link_pads(Some("src"), &rtpbin, Some("recv_rtp_sink_0"))
        .unwrap();
    let pads: Arc<Mutex<BTreeMap<String, Vec<Vec<u8>>>>> = Default::default();
    let pipe_weak = pipeline.downgrade();
    let out = pads.clone();
    rtpbin.connect_pad_added(move |_, pad| {
        let name = pad.name().to_string();
        let Some(pipeline) = pipe_weak.upgrade() else {
            return;
        };
        if !name.starts_with("recv_rtp_src") {
            return;
        }
        let out = out.clone();
        out.lock().unwrap().entry(name.clone()).or_default();
        let sink = gst_app::AppSink::builder()
            .sync(false)
            .callbacks(
                gst_app::AppSinkCallbacks::builder()
                    .new_sample(move |s| {
                        let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                        let b = sample.buffer().unwrap().map_readable().unwrap().to_vec();
                        out.lock().unwrap().entry(name.clone()).or_default().push(b);
                        Ok(gst::FlowSuccess::Ok)
                    })
                    .build(),
            )
            .build();
        pipeline.add(&sink).unwrap();
        sink.sync_state_with_parent().unwrap();
        pad.link(&sink.static_pad("sink").unwrap()).unwrap();
    });
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
    let msg = pipeline.bus().unwrap().timed_pop_filtered(
        gst::ClockTime::from_seconds(20),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    assert!(
        matches!(msg.as_ref().map(|m| m.type_()), Some(gst::MessageType::Eos)),
        "{decoder}: no EOS within 20 s: {msg:?}"
    );
    pipeline.set_state(gst::State::Null).unwrap();
    let decoders = decoders.lock().unwrap();
    let recovered = decoders
        .iter()
        .filter(|(pt, _)| *pt == u32::from(MEDIA_PT))
        .map(|(_, d)| d.property::<u32>("recovered"))
        .sum();
    let requests = decoders.iter().map(|(pt, _)| *pt).collect();
    let pads = pads.lock().unwrap().clone();
    RtpbinReceived {
        pads,
        recovered,
        requests,
    }
}

#[test]
fn rtpbin_request_fec_decoder_full_recovers_what_c_recovers() {
    common::init();
    let media = media(10, 6, 7000);
    let stream = fec_support::run(&format!("rtpulpfecenc pt={FEC_PT} percentage=50"), &media);
    let media_seqs: Vec<u16> = stream
        .iter()
        .filter(|p| pt(p) == MEDIA_PT)
        .map(|p| seq(p))
        .collect();
    let media_pad = format!("recv_rtp_src_0_{SSRC}_{MEDIA_PT}");
    let fec_pad = format!("recv_rtp_src_0_{SSRC}_{FEC_PT}");
    for pattern in [&[13usize, 32, 50][..], &[1, 9, 17], &[5, 6, 30, 40]] {
        let lost: Vec<u16> = pattern.iter().map(|&i| media_seqs[i]).collect();
        let c = receive_through_rtpbin(&stream, &lost, "rtpulpfecdec");
        let ours = receive_through_rtpbin(&stream, &lost, "rtpulpfecdec2");
        // rtpbin asks for a decoder after its payload-type demuxer, once per payload type.
        assert_eq!(c.requests, [u32::from(MEDIA_PT), u32::from(FEC_PT)]);
        assert_eq!(ours.requests, c.requests);
        let c_media = &c.pads[&media_pad];
        let ours_media = &ours.pads[&media_pad];
        // Where C gets every packet back, ours rebuilt as many (with packet 1 lost, rtpbin's
        // session drops packet 0 too, probation of a new source, and both rebuild it); where
        // C misses some (two consecutive losses: 5 and 6), ours rebuilds more.
        if c_media.len() == media.len() {
            assert_eq!(ours.recovered, c.recovered, "{pattern:?}");
            assert!(c.recovered as usize >= pattern.len());
        } else {
            assert!(ours.recovered > c.recovered, "{pattern:?}");
        }
        // Ours: the encoder's input, FEC numbers taken out, rebuilt packets in place (the
        // media decoder holds a frame with a loss until its FEC packets came).
        assert_packets(ours_media, &media, &format!("{pattern:?}"));
        for p in c_media {
            assert!(
                ours_media.iter().any(|o| without_seq(o) == without_seq(p)),
                "{pattern:?}: C's packet (recovered or not) is ours too"
            );
        }
        // The FEC payload type's pad: C passes the FEC packets out (and, its decoder there
        // seeing the loss events too, sometimes rebuilt media packets); ours handed them to
        // the media decoder.
        assert!(c.pads[&fec_pad].len() >= stream.len() - media.len());
        assert!(ours.pads.get(&fec_pad).is_none_or(|p| p.is_empty()));
    }
}
