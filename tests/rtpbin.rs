// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Our elements behind the session managers users run: the C `rtpbin` (RTP and RTCP over UDP
//! on 127.0.0.1, rtpjitterbuffer inside, AVPF feedback) and rtpbin2 (`rtpsend`/`rtprecv` of
//! the gst-plugins-rs `rtp` plugin, registered in this process). With rtpbin, packet loss
//! makes our depayloader ask for a keyframe, rtpbin sends RTCP PLI, the sender's rtpbin turns
//! it into a force-key-unit event that our payloader passes up to the encoder.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gst::prelude::*;

mod common;

fn count_on(pad: &gst::Pad, types: gst::PadProbeType, keyframes_only: bool) -> Arc<AtomicUsize> {
    let counter = Arc::new(AtomicUsize::new(0));
    let c = counter.clone();
    pad.add_probe(types, move |_, info| {
        let hit = match info.event() {
            Some(ev) => !keyframes_only || gst_video::ForceKeyUnitEvent::is(ev),
            None => true,
        };
        if hit {
            c.fetch_add(1, Ordering::Relaxed);
        }
        gst::PadProbeReturn::Ok
    });
    counter
}

fn pipeline(description: &str) -> gst::Pipeline {
    gst::parse::launch(description)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap()
}

/// Runs the receiver and the sender (separate pipelines, as separate hosts would be) until
/// `done` says so or `timeout`; panics on an error message.
fn run_until(pipelines: &[&gst::Pipeline], timeout: Duration, done: impl Fn() -> bool) {
    for p in pipelines {
        p.set_state(gst::State::Playing).unwrap();
    }
    let start = Instant::now();
    while !done() && start.elapsed() < timeout {
        for p in pipelines {
            let bus = p.bus().unwrap();
            let msg = bus.timed_pop_filtered(
                gst::ClockTime::from_mseconds(50),
                &[gst::MessageType::Error],
            );
            if let Some(msg) = msg {
                for p in pipelines {
                    p.set_state(gst::State::Null).unwrap();
                }
                panic!("{msg:?}");
            }
        }
    }
}

/// Runs `receiver` (with an `rtph264depay2` named `depay` that requests keyframes, before a
/// fakesink named `sink`) and `sender` (with an encoder named `enc`) until the encoder got two
/// keyframe requests and 150 frames were decoded, then checks both: the depayloader's
/// requests travelled as RTCP PLI through `via` and reached the encoder.
fn assert_pli_reaches_the_encoder(receiver: &gst::Pipeline, sender: &gst::Pipeline, via: &str) {
    let enc_src = sender.by_name("enc").unwrap().static_pad("src").unwrap();
    let requests = count_on(&enc_src, gst::PadProbeType::EVENT_UPSTREAM, true);
    let frames = count_on(
        &receiver
            .by_name("sink")
            .unwrap()
            .static_pad("sink")
            .unwrap(),
        gst::PadProbeType::BUFFER,
        false,
    );
    let depay = receiver.by_name("depay").unwrap();
    let (r, f) = (requests.clone(), frames.clone());
    run_until(&[receiver, sender], Duration::from_secs(20), move || {
        r.load(Ordering::Relaxed) >= 2 && f.load(Ordering::Relaxed) >= 150
    });
    let stats = depay.property::<gst::Structure>("stats");
    eprintln!(
        "{via}: {} frames, {} keyframe requests at the encoder, {stats}",
        frames.load(Ordering::Relaxed),
        requests.load(Ordering::Relaxed)
    );
    sender.set_state(gst::State::Null).unwrap();
    receiver.set_state(gst::State::Null).unwrap();
    assert!(
        frames.load(Ordering::Relaxed) >= 150,
        "{via}: frames decoded"
    );
    assert!(
        stats.get::<u64>("keyframe-requests").unwrap() >= 1,
        "{via}: the depayloader asked for keyframes: {stats}"
    );
    assert!(
        requests.load(Ordering::Relaxed) >= 2,
        "{via}: PLI from the receiver reached the encoder as force-key-unit events"
    );
}

#[test]
fn rtpbin_with_rtcp_and_pli_reaching_the_encoder() {
    common::init();
    let (rtp, rtcp_s2r, rtcp_r2s) = (
        common::free_udp_port(),
        common::free_udp_port(),
        common::free_udp_port(),
    );
    let caps = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96,\
                rtcp-fb-nack-pli=(boolean)true";
    let receiver = pipeline(&format!(
        "rtpbin name=recv rtp-profile=avpf latency=100 \
         udpsrc address=127.0.0.1 port={rtp} caps=\"{caps}\" \
           ! netsim drop-probability=0.03 ! recv.recv_rtp_sink_0 \
         recv. ! rtph264depay2 name=depay request-keyframe=true ! h264parse ! avdec_h264 \
           ! fakesink name=sink sync=false \
         udpsrc address=127.0.0.1 port={rtcp_s2r} ! recv.recv_rtcp_sink_0 \
         recv.send_rtcp_src_0 ! udpsink host=127.0.0.1 port={rtcp_r2s} sync=false async=false"
    ));
    let sender = pipeline(&format!(
        "rtpbin name=send rtp-profile=avpf \
         videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 \
           ! x264enc name=enc tune=zerolatency speed-preset=ultrafast key-int-max=100000 \
           ! rtph264pay2 name=pay config-interval=-1 ! send.send_rtp_sink_0 \
         send.send_rtp_src_0 ! udpsink host=127.0.0.1 port={rtp} \
         send.send_rtcp_src_0 ! udpsink host=127.0.0.1 port={rtcp_s2r} sync=false async=false \
         udpsrc address=127.0.0.1 port={rtcp_r2s} ! send.recv_rtcp_sink_0"
    ));
    assert_pli_reaches_the_encoder(&receiver, &sender, "rtpbin");
}

#[test]
fn rtpbin2_rtpsend_and_rtprecv() {
    common::init_with_rsrtp();
    for (name, source, pay, depay, decode, caps, want) in [
        (
            "H.264",
            "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 \
             ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30",
            "rtph264pay2 config-interval=-1",
            "rtph264depay2",
            "h264parse ! avdec_h264",
            "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96",
            60,
        ),
        (
            "G.722",
            "audiotestsrc is-live=true samplesperbuffer=320 ! audio/x-raw,rate=16000,channels=1 \
             ! avenc_g722",
            "rtpg722pay2",
            "rtpg722depay2",
            "avdec_g722",
            "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9",
            100,
        ),
    ] {
        let (rtp, rtcp) = (common::free_udp_port(), common::free_udp_port());
        let receiver = pipeline(&format!(
            "rtprecv name=recv rtp-id=r-{rtp} latency=100 \
             udpsrc address=127.0.0.1 port={rtp} caps=\"{caps}\" ! recv.rtp_sink_0 \
             udpsrc address=127.0.0.1 port={rtcp} ! recv.rtcp_sink_0 \
             recv. ! {depay} ! {decode} ! fakesink name=sink sync=false"
        ));
        let sender = pipeline(&format!(
            "rtpsend name=send rtp-id=s-{rtp} \
             {source} ! {pay} ! send.rtp_sink_0 \
             send.rtp_src_0 ! udpsink host=127.0.0.1 port={rtp} \
             send.rtcp_src_0 ! udpsink host=127.0.0.1 port={rtcp} sync=false async=false"
        ));
        let frames = count_on(
            &receiver
                .by_name("sink")
                .unwrap()
                .static_pad("sink")
                .unwrap(),
            gst::PadProbeType::BUFFER,
            false,
        );
        let f = frames.clone();
        run_until(&[&receiver, &sender], Duration::from_secs(20), move || {
            f.load(Ordering::Relaxed) >= want
        });
        sender.set_state(gst::State::Null).unwrap();
        receiver.set_state(gst::State::Null).unwrap();
        assert!(
            frames.load(Ordering::Relaxed) >= want,
            "{name}: {} decoded through rtpbin2",
            frames.load(Ordering::Relaxed)
        );
    }
}

/// rtpbin2 with RTCP both ways: the receiver's `rtprecv` turns `rtph264depay2`'s keyframe
/// requests (after netsim losses) into RTCP PLI, sent by its `rtpsend`; the sender's
/// `rtprecv` turns the PLI into a force-key-unit event that reaches the encoder through
/// `rtph264pay2`.
#[test]
fn rtpbin2_pli_reaches_the_encoder() {
    common::init_with_rsrtp();
    let (rtp, rtcp_s2r, rtcp_r2s) = (
        common::free_udp_port(),
        common::free_udp_port(),
        common::free_udp_port(),
    );
    let caps = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96,\
                rtcp-fb-nack-pli=(boolean)true";
    let receiver = pipeline(&format!(
        "rtprecv name=recv rtp-id=r-{rtp} latency=100 \
         udpsrc address=127.0.0.1 port={rtp} caps=\"{caps}\" \
           ! netsim drop-probability=0.03 ! recv.rtp_sink_0 \
         udpsrc address=127.0.0.1 port={rtcp_s2r} ! recv.rtcp_sink_0 \
         recv. ! rtph264depay2 name=depay request-keyframe=true ! h264parse ! avdec_h264 \
           ! fakesink name=sink sync=false \
         rtpsend name=rsend rtp-id=r-{rtp} rtp-profile=avpf \
         rsend.rtcp_src_0 ! udpsink host=127.0.0.1 port={rtcp_r2s} sync=false async=false"
    ));
    let sender = pipeline(&format!(
        "rtpsend name=send rtp-id=s-{rtp} rtp-profile=avpf \
         videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 \
           ! x264enc name=enc tune=zerolatency speed-preset=ultrafast key-int-max=100000 \
           ! rtph264pay2 name=pay config-interval=-1 ! send.rtp_sink_0 \
         send.rtp_src_0 ! udpsink host=127.0.0.1 port={rtp} \
         send.rtcp_src_0 ! udpsink host=127.0.0.1 port={rtcp_s2r} sync=false async=false \
         rtprecv name=srecv rtp-id=s-{rtp} \
         udpsrc address=127.0.0.1 port={rtcp_r2s} ! srecv.rtcp_sink_0"
    ));
    assert_pli_reaches_the_encoder(&receiver, &sender, "rtpbin2");
}
