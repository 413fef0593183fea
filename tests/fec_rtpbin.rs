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
    let pads: PadPackets = Default::default();
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

/// Packets collected per pad name.
type PadPackets = Arc<Mutex<BTreeMap<String, Vec<Vec<u8>>>>>;

/// Pushes `packets` through `launch` (an `appsrc name=src` first; `rtprecv name=recv` or an
/// `appsink name=sink`), collecting per source pad of `recv` (or from `sink`). With
/// `pt_map`, session 0 of the element named `send` or `recv` gets a clock rate for the FEC
/// payload type as well (its `pt-map`).
fn through_rtpbin2(
    launch: &str,
    packets: &[Vec<u8>],
    pt_map: bool,
) -> BTreeMap<String, Vec<Vec<u8>>> {
    common::init_with_rsrtp();
    let pipeline = gst::parse::launch(launch)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    if pt_map {
        let bin = pipeline
            .by_name("send")
            .or_else(|| pipeline.by_name("recv"))
            .unwrap();
        let session = bin
            .emit_by_name::<Option<gst::Object>>("get-session", &[&0u32])
            .expect("session 0");
        let caps = |pt: u8| {
            format!("application/x-rtp,media=video,clock-rate=(int)90000,payload=(int){pt}")
                .parse::<gst::Caps>()
                .unwrap()
        };
        session.set_property(
            "pt-map",
            gst::Structure::builder("application/x-rtp2-pt-map")
                .field(MEDIA_PT.to_string(), caps(MEDIA_PT))
                .field(FEC_PT.to_string(), caps(FEC_PT))
                .build(),
        );
    }
    let out: PadPackets = Default::default();
    let collect = |out: &PadPackets, name: String| {
        let out = out.clone();
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let b = sample.buffer().unwrap().map_readable().unwrap().to_vec();
                out.lock().unwrap().entry(name.clone()).or_default().push(b);
                Ok(gst::FlowSuccess::Ok)
            })
            .build()
    };
    if let Some(sink) = pipeline.by_name("sink") {
        let sink = sink.downcast::<gst_app::AppSink>().unwrap();
        sink.set_callbacks(collect(&out, "sink".into()));
    }
    if let Some(recv) = pipeline.by_name("recv") {
        let (weak, o) = (pipeline.downgrade(), out.clone());
        recv.connect_pad_added(move |_, pad| {
            let Some(pipeline) = weak.upgrade() else {
                return;
            };
            if pad.direction() != gst::PadDirection::Src {
                return;
            }
            let sink = gst_app::AppSink::builder()
                .sync(false)
                .callbacks(collect(&o, pad.name().to_string()))
                .build();
            pipeline.add(&sink).unwrap();
            sink.sync_state_with_parent().unwrap();
            pad.link(&sink.static_pad("sink").unwrap()).unwrap();
        });
    }
    let src = pipeline
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    for (i, p) in packets.iter().enumerate() {
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
        "no EOS within 20 s: {msg:?}"
    );
    pipeline.set_state(gst::State::Null).unwrap();
    out.lock().unwrap().clone()
}

/// rtpbin2 (`rtpsend` / `rtprecv`, crates.io gst-plugin-rtp 0.15) has no FEC hook; our
/// elements go around it: the encoder before `rtpsend`'s `rtp_sink_%u` (the session's
/// `pt-map` naming the FEC payload type: `rtpsend` drops packets of a payload type it has no
/// clock rate for), the decoder before `rtprecv`'s `rtp_sink_%u` (it needs no jitterbuffer;
/// `rtprecv`'s orders what it rebuilt). After `rtprecv` it could not work: `rtprecv` gives
/// each payload type a source pad (and a jitterbuffer) of its own.
#[test]
fn rtpbin2_hosts_our_encoder_and_decoder_around_it() {
    let media = media(10, 6, 20_000);
    let caps = format!("{CAPS},clock-rate=(int)90000");
    let sent = through_rtpbin2(
        &format!(
            "appsrc name=src format=time caps=\"{caps}\" \
             ! rtpulpfecenc2 pt={FEC_PT} percentage=50 ! send.rtp_sink_0 \
             rtpsend name=send rtp-id=fec-send send.rtp_src_0 ! appsink name=sink sync=false"
        ),
        &media,
        true,
    );
    let sent = &sent["sink"];
    assert_eq!(sent.iter().filter(|p| pt(p) == FEC_PT).count(), 30);
    // The same without the FEC payload type in the pt-map: rtpsend drops every FEC packet.
    let dropped = through_rtpbin2(
        &format!(
            "appsrc name=src format=time caps=\"{caps}\" \
             ! rtpulpfecenc2 pt={FEC_PT} percentage=50 ! send.rtp_sink_0 \
             rtpsend name=send rtp-id=fec-send0 send.rtp_src_0 ! appsink name=sink sync=false"
        ),
        &media,
        false,
    );
    assert_eq!(
        dropped["sink"].iter().filter(|p| pt(p) == FEC_PT).count(),
        0
    );
    let media_seqs: Vec<u16> = sent
        .iter()
        .filter(|p| pt(p) == MEDIA_PT)
        .map(|p| seq(p))
        .collect();
    let lost = [media_seqs[3], media_seqs[20], media_seqs[44]];
    let kept: Vec<Vec<u8>> = sent
        .iter()
        .filter(|p| !lost.contains(&seq(p)))
        .cloned()
        .collect();
    // Decoder before rtprecv: every media packet back, in order, on the one media pad.
    let before = through_rtpbin2(
        &format!(
            "appsrc name=src format=time caps=\"{caps}\" ! rtpulpfecdec2 pt={FEC_PT} \
             ! recv.rtp_sink_0 rtprecv name=recv rtp-id=fec-recv latency=100"
        ),
        &kept,
        false,
    );
    assert_eq!(before.len(), 1, "{:?}", before.keys());
    let (pad, got) = before.iter().next().unwrap();
    assert_eq!(pad, &format!("rtp_src_0_{MEDIA_PT}_{SSRC}"));
    assert_packets(got, &media, "through rtpulpfecdec2 ! rtprecv");
    // After rtprecv: the FEC packets leave on a pad of their own (rtprecv takes a clock rate
    // per SSRC from its first packet, so the FEC payload type of the media's SSRC passes),
    // with a jitterbuffer of its own, away from the media.
    let after = through_rtpbin2(
        &format!(
            "appsrc name=src format=time caps=\"{caps}\" \
             ! recv.rtp_sink_0 rtprecv name=recv rtp-id=fec-recv-after latency=100"
        ),
        &kept,
        false,
    );
    let pads: Vec<String> = [FEC_PT, MEDIA_PT]
        .iter()
        .map(|pt| format!("rtp_src_0_{pt}_{SSRC}"))
        .collect();
    assert_eq!(after.keys().cloned().collect::<Vec<_>>(), pads);
    assert_eq!(after[&pads[0]].len(), 30);
    assert_eq!(after[&pads[1]].len(), media.len() - lost.len());
}
