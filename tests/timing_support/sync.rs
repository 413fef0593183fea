// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The A/V synchronisation set-up of tests/timing_sync.rs: a sender of H.264 and G.722
//! through a session manager, a network pipeline delaying each stream, a receiver whose
//! sinks detect the flashes and beeps (see [`super::av`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;

use super::av::*;
use super::packets::*;
use super::{pipeline, play_for, stop};
use crate::common;

pub const PERIOD: Duration = Duration::from_secs(1);
pub const WIDTH: usize = 320;
pub const HEIGHT: usize = 240;
/// Events before this receiver running time are left out: the receiver synchronises once
/// both streams' first sender reports came.
pub const SETTLE: Duration = Duration::from_secs(3);
pub const RUN: Duration = Duration::from_secs(9);
/// One audio packet.
pub const TOLERANCE_NS: i64 = 20_000_000;
/// Network delays (ms): video 80 ms later than audio, both ±10 ms.
pub const VIDEO_DELAY: (u32, u32) = (90, 110);
pub const AUDIO_DELAY: (u32, u32) = (10, 30);
/// RTCP interval of the senders (ms): the first reports come within a second.
pub const RTCP_INTERVAL_MS: u32 = 500;

/// How close the running time of the flash at the video sink and that of the flash
/// frame's packets leaving the session manager are when they are the same frame (the
/// depayloader and the decoder keep the PTS: 0 ns measured); frames are 33 ms apart.
pub const SAME_FRAME_NS: u64 = 2_000_000;

/// The payloaders and depayloaders of one run.
#[derive(Clone, Copy)]
pub struct Elements {
    pub name: &'static str,
    pub video_pay: &'static str,
    pub audio_pay: &'static str,
    pub video_depay: &'static str,
    pub audio_depay: &'static str,
}

pub const OURS: Elements = Elements {
    name: "ours (rtph264pay2/rtpg722pay2 → rtph264depay2/rtpg722depay2)",
    video_pay: "rtph264pay2",
    audio_pay: "rtpg722pay2",
    video_depay: "rtph264depay2",
    audio_depay: "rtpg722depay2",
};

pub const C: Elements = Elements {
    name: "C (rtph264pay/rtpg722pay → rtph264depay/rtpg722depay)",
    video_pay: "rtph264pay",
    audio_pay: "rtpg722pay",
    video_depay: "rtph264depay",
    audio_depay: "rtpg722depay",
};

/// The session manager on each side.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bin {
    /// C `rtpbin`, both sides.
    Rtpbin,
    /// rtpbin2: `rtpsend` on the sender, `rtprecv` on the receiver.
    Rtpbin2,
    /// C `rtpbin` sending, `rtprecv` receiving.
    RtpbinToRtprecv,
}

/// UDP ports of one run: RTP from the sender to the network and from the network to the
/// receiver, and RTCP from the sender to the receiver (not delayed), per stream (video,
/// audio).
pub struct Ports {
    pub to_network: [u16; 2],
    pub to_receiver: [u16; 2],
    pub rtcp: [u16; 2],
}

impl Ports {
    fn new() -> Self {
        let p = || [common::free_udp_port(), common::free_udp_port()];
        Ports {
            to_network: p(),
            to_receiver: p(),
            rtcp: p(),
        }
    }
}

/// RTP clock rates of the streams (video, audio), as in their caps.
pub const CLOCK_RATES: [u32; 2] = [90_000, 8_000];

pub const VIDEO_CAPS: &str =
    "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96";
pub const AUDIO_CAPS: &str =
    "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9";

pub fn sources(e: Elements) -> [String; 2] {
    [
        format!(
            "videotestsrc name=vsrc is-live=true pattern=black \
             ! video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate=30/1 \
             ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 \
             ! {} name=vpay pt=96 config-interval=-1",
            e.video_pay
        ),
        format!(
            "audiotestsrc name=asrc is-live=true wave=silence samplesperbuffer=320 \
             ! audio/x-raw,format=S16LE,rate=16000,channels=1 ! avenc_g722 ! {} name=apay pt=9",
            e.audio_pay
        ),
    ]
}

pub fn sender(bin: Bin, e: Elements, ports: &Ports) -> gst::Pipeline {
    let [video, audio] = sources(e);
    let (n, r) = (ports.to_network, ports.rtcp);
    let description = if bin == Bin::Rtpbin2 {
        format!(
            "rtpsend name=send rtp-id=s-{n0} min-rtcp-interval={RTCP_INTERVAL_MS} \
             {video} ! send.rtp_sink_0 \
             send.rtp_src_0 ! udpsink host=127.0.0.1 port={n0} \
             send.rtcp_src_0 ! udpsink host=127.0.0.1 port={r0} sync=false async=false \
             {audio} ! send.rtp_sink_1 \
             send.rtp_src_1 ! udpsink host=127.0.0.1 port={n1} \
             send.rtcp_src_1 ! udpsink host=127.0.0.1 port={r1} sync=false async=false",
            n0 = n[0],
            n1 = n[1],
            r0 = r[0],
            r1 = r[1],
        )
    } else {
        format!(
            "rtpbin name=send \
             {video} ! send.send_rtp_sink_0 \
             send.send_rtp_src_0 ! udpsink host=127.0.0.1 port={n0} \
             send.send_rtcp_src_0 ! udpsink host=127.0.0.1 port={r0} sync=false async=false \
             {audio} ! send.send_rtp_sink_1 \
             send.send_rtp_src_1 ! udpsink host=127.0.0.1 port={n1} \
             send.send_rtcp_src_1 ! udpsink host=127.0.0.1 port={r1} sync=false async=false",
            n0 = n[0],
            n1 = n[1],
            r0 = r[0],
            r1 = r[1],
        )
    };
    let pipeline = pipeline(&description);
    if bin != Bin::Rtpbin2 {
        let rtpbin = pipeline.by_name("send").unwrap();
        for session in 0..2u32 {
            let s = rtpbin.emit_by_name::<glib::Object>("get-internal-session", &[&session]);
            s.set_property("rtcp-min-interval", u64::from(RTCP_INTERVAL_MS) * 1_000_000);
        }
    }
    pipeline
}

/// UDP in, `netsim`, UDP out, for each stream with its delay.
pub fn network(ports: &Ports) -> gst::Pipeline {
    let branch = |from: u16, to: u16, (min, max): (u32, u32)| {
        format!(
            "udpsrc address=127.0.0.1 port={from} \
             ! netsim delay-probability=1.0 delay-distribution=uniform min-delay={min} \
                 max-delay={max} \
             ! udpsink host=127.0.0.1 port={to} sync=false async=false "
        )
    };
    pipeline(&format!(
        "{}{}",
        branch(ports.to_network[0], ports.to_receiver[0], VIDEO_DELAY),
        branch(ports.to_network[1], ports.to_receiver[1], AUDIO_DELAY)
    ))
}

pub fn receiver(
    bin: Bin,
    e: Elements,
    ports: &Ports,
    detections: &Arc<Mutex<Detections>>,
) -> gst::Pipeline {
    let (p, r) = (ports.to_receiver, ports.rtcp);
    let (session, rtp_sink, rtcp_sink, src_prefix) = if bin == Bin::Rtpbin {
        (
            "rtpbin name=recv latency=200",
            "recv_rtp_sink",
            "recv_rtcp_sink",
            "recv_rtp_src",
        )
    } else {
        (
            "rtprecv name=recv latency=200",
            "rtp_sink",
            "rtcp_sink",
            "rtp_src",
        )
    };
    let session = if bin == Bin::Rtpbin {
        session.to_string()
    } else {
        format!("{session} rtp-id=r-{}", p[0])
    };
    // `rtprecv` takes a packet's arrival time from its DTS, which `udpsrc` stamps when it
    // reads the packet; the queue keeps `udpsrc` reading while `rtprecv` pushes downstream
    // (as in `rtprecv`'s documentation). Without it, on a loaded machine, the audio once
    // came one packet per 300 ms (docs/timing.md).
    let rtp_queue = if bin == Bin::Rtpbin {
        ""
    } else {
        "! queue max-size-bytes=0 max-size-buffers=0 max-size-time=200000000"
    };
    let pipeline = pipeline(&format!(
        "{session} \
         udpsrc name=vin address=127.0.0.1 port={p0} caps=\"{VIDEO_CAPS}\" {rtp_queue} \
             ! recv.{rtp_sink}_0 \
         udpsrc address=127.0.0.1 port={r0} ! recv.{rtcp_sink}_0 \
         udpsrc name=ain address=127.0.0.1 port={p1} caps=\"{AUDIO_CAPS}\" {rtp_queue} \
             ! recv.{rtp_sink}_1 \
         udpsrc address=127.0.0.1 port={r1} ! recv.{rtcp_sink}_1 \
         {vd} name=vdepay ! h264parse ! avdec_h264 ! fakesink name=vsink sync=true \
             signal-handoffs=true \
         {ad} name=adepay ! avdec_g722 ! fakesink name=asink sync=true signal-handoffs=true",
        p0 = p[0],
        p1 = p[1],
        r0 = r[0],
        r1 = r[1],
        vd = e.video_depay,
        ad = e.audio_depay,
    ));
    let depays = [
        pipeline.by_name("vdepay").unwrap(),
        pipeline.by_name("adepay").unwrap(),
    ];
    pipeline
        .by_name("recv")
        .unwrap()
        .connect_pad_added(move |_, pad| {
            let name = pad.name();
            for (session, depay) in depays.iter().enumerate() {
                if name.starts_with(&format!("{src_prefix}_{session}_")) {
                    let _ = pad.link(&depay.static_pad("sink").unwrap());
                }
            }
        });
    detect_flashes(
        &pipeline.by_name("vsink").unwrap(),
        PERIOD,
        WIDTH,
        HEIGHT,
        detections.clone(),
    );
    detect_beeps(
        &pipeline.by_name("asink").unwrap(),
        PERIOD,
        detections.clone(),
    );
    pipeline
}

/// What one run measured.
#[derive(Debug)]
pub struct Measured {
    pub name: String,
    /// Flash minus beep (ns), from the buffers' running times at the sinks, less the
    /// sender's own offset (the flash frame's phase).
    pub offsets: Vec<i64>,
    /// The same from the clock at rendering.
    pub rendered: Vec<i64>,
    /// Distance of the flashed frames from the period (the sender's own A/V offset).
    pub phases: Vec<u64>,
    /// The CNAME the sender sent in each session's RTCP (video, audio).
    pub cnames: Vec<Option<String>>,
    pub flashes: usize,
    pub beeps: usize,
    /// [`first_packet_lateness`] of the streams (video, audio), ns.
    pub first_packet_lateness: [Option<i64>; 2],
    /// For each of `offsets`, the offset the receiver's session manager gave the flash and
    /// the beep ([`delivered_offsets`], less the phase); `None` when the flash at the sink
    /// is not at the running time the session manager gave the flash frame (not within
    /// [`SAME_FRAME_NS`]): that frame was lost and a later one showed the flash, or the
    /// depayloader did not keep the PTS (the C ones through `rtprecv`).
    pub delivered: Vec<Option<i64>>,
}

pub fn run(bin: Bin, e: Elements) -> Measured {
    let ports = Ports::new();
    let detections = Arc::new(Mutex::new(Detections::default()));
    let receiver = receiver(bin, e, &ports, &detections);
    let pad = |p: &gst::Pipeline, element: &str, pad: &str| {
        p.by_name(element).unwrap().static_pad(pad).unwrap()
    };
    let arrivals = ["vin", "ain"].map(|name| record_packet_times(&pad(&receiver, name, "src")));
    let delivered =
        ["vdepay", "adepay"].map(|name| record_packet_times(&pad(&receiver, name, "sink")));
    let network = network(&ports);
    let sender = sender(bin, e, &ports);
    let sent = ["vpay", "apay"].map(|name| record_packet_times(&pad(&sender, name, "src")));
    let phases = flash_every(&pad(&sender, "vsrc", "src"), PERIOD, WIDTH, HEIGHT);
    let rtcp_pads = if bin == Bin::Rtpbin2 {
        ["rtcp_src_0", "rtcp_src_1"]
    } else {
        ["send_rtcp_src_0", "send_rtcp_src_1"]
    };
    let cnames = first_cnames(&rtcp_pads.map(|p| pad(&sender, "send", p)));
    beep_every(&pad(&sender, "asrc", "src"), PERIOD);
    let pipelines = [&receiver, &network, &sender];
    play_for(&pipelines, RUN);
    stop(&pipelines);
    let d = detections.lock().unwrap().clone();
    let phases = phases.lock().unwrap().clone();
    // The flash frame starts `phase` after the beep at the sender: that much is content.
    let phase = phases.first().copied().unwrap_or(0);
    let o = offsets(&d, SETTLE.as_nanos() as u64, PERIOD);
    let [offsets, rendered] =
        [o.running, o.rendered].map(|v| v.iter().map(|x| x - phase as i64).collect());
    let [sent, delivered] = [sent, delivered].map(|v| v.map(|t| t.lock().unwrap().clone()));
    let by_session = delivered_offsets(
        [&sent[0], &sent[1]],
        [&delivered[0], &delivered[1]],
        CLOCK_RATES,
        phase,
        PERIOD,
    );
    let delivered = o
        .flashes
        .iter()
        .map(|&tv| {
            by_session
                .iter()
                .find(|(flash, _)| flash.abs_diff(tv) <= SAME_FRAME_NS)
                .map(|(_, offset)| *offset)
        })
        .collect();
    Measured {
        name: format!("{bin:?}, {}", e.name),
        offsets,
        rendered,
        phases,
        cnames: cnames.lock().unwrap().clone(),
        flashes: d.flashes.len(),
        beeps: d.beeps.len(),
        first_packet_lateness: [0, 1]
            .map(|i| first_packet_lateness(&arrivals[i].lock().unwrap(), CLOCK_RATES[i])),
        delivered,
    }
}
