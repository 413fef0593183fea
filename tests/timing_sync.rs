// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! A/V synchronisation measured from the content (docs/timing.md): one sender sends H.264
//! and G.722 from sources that flash a white frame and start a beep at the same running time
//! every second, through a session manager sending RTCP sender reports; a network pipeline
//! delays video by 90–110 ms and audio by 10–30 ms (`netsim`, uniform: +80 ms for video,
//! ±10 ms jitter on both); the receiver's session manager synchronises the streams from the
//! sender reports (same CNAME), and the offset between the flash and the beep at its sinks
//! must be within one audio packet (20 ms). Run with our payloaders and depayloaders and with
//! the C ones side by side, through `rtpbin` and through rtpbin2 (`rtpsend`/`rtprecv`).

mod common;
mod timing_support;

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use gst::prelude::*;
use timing_support::av::*;
use timing_support::*;

const PERIOD: Duration = Duration::from_secs(1);
const WIDTH: usize = 320;
const HEIGHT: usize = 240;
/// Events before this receiver running time are left out: the receiver synchronises once
/// both streams' first sender reports came.
const SETTLE: Duration = Duration::from_secs(3);
const RUN: Duration = Duration::from_secs(9);
/// One audio packet.
const TOLERANCE_NS: i64 = 20_000_000;
/// Network delays (ms): video 80 ms later than audio, both ±10 ms.
const VIDEO_DELAY: (u32, u32) = (90, 110);
const AUDIO_DELAY: (u32, u32) = (10, 30);
/// RTCP interval of the senders (ms): the first reports come within a second.
const RTCP_INTERVAL_MS: u32 = 500;

/// The payloaders and depayloaders of one run.
#[derive(Clone, Copy)]
struct Elements {
    name: &'static str,
    video_pay: &'static str,
    audio_pay: &'static str,
    video_depay: &'static str,
    audio_depay: &'static str,
}

const OURS: Elements = Elements {
    name: "ours (rtph264pay2/rtpg722pay2 → rtph264depay2/rtpg722depay2)",
    video_pay: "rtph264pay2",
    audio_pay: "rtpg722pay2",
    video_depay: "rtph264depay2",
    audio_depay: "rtpg722depay2",
};

const C: Elements = Elements {
    name: "C (rtph264pay/rtpg722pay → rtph264depay/rtpg722depay)",
    video_pay: "rtph264pay",
    audio_pay: "rtpg722pay",
    video_depay: "rtph264depay",
    audio_depay: "rtpg722depay",
};

/// The session manager on each side.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Bin {
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
struct Ports {
    to_network: [u16; 2],
    to_receiver: [u16; 2],
    rtcp: [u16; 2],
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

const VIDEO_CAPS: &str =
    "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96";
const AUDIO_CAPS: &str =
    "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9";

fn sources(e: Elements) -> [String; 2] {
    [
        format!(
            "videotestsrc name=vsrc is-live=true pattern=black \
             ! video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate=30/1 \
             ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 \
             ! {} pt=96 config-interval=-1",
            e.video_pay
        ),
        format!(
            "audiotestsrc name=asrc is-live=true wave=silence samplesperbuffer=320 \
             ! audio/x-raw,format=S16LE,rate=16000,channels=1 ! avenc_g722 ! {} pt=9",
            e.audio_pay
        ),
    ]
}

fn sender(bin: Bin, e: Elements, ports: &Ports) -> gst::Pipeline {
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
fn network(ports: &Ports) -> gst::Pipeline {
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

fn receiver(
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
    let pipeline = pipeline(&format!(
        "{session} \
         udpsrc address=127.0.0.1 port={p0} caps=\"{VIDEO_CAPS}\" ! recv.{rtp_sink}_0 \
         udpsrc address=127.0.0.1 port={r0} ! recv.{rtcp_sink}_0 \
         udpsrc address=127.0.0.1 port={p1} caps=\"{AUDIO_CAPS}\" ! recv.{rtp_sink}_1 \
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
struct Measured {
    name: String,
    /// Flash minus beep (ns), from the buffers' running times at the sinks, less the
    /// sender's own offset (the flash frame's phase).
    offsets: Vec<i64>,
    /// The same from the clock at rendering.
    rendered: Vec<i64>,
    /// Distance of the flashed frames from the period (the sender's own A/V offset).
    phases: Vec<u64>,
    /// The CNAME the sender sent in each session's RTCP (video, audio).
    cnames: Vec<Option<String>>,
    flashes: usize,
    beeps: usize,
}

fn run(bin: Bin, e: Elements) -> Measured {
    let ports = Ports::new();
    let detections = Arc::new(Mutex::new(Detections::default()));
    let receiver = receiver(bin, e, &ports, &detections);
    let network = network(&ports);
    let sender = sender(bin, e, &ports);
    let vsrc = sender.by_name("vsrc").unwrap().static_pad("src").unwrap();
    let phases = flash_every(&vsrc, PERIOD, WIDTH, HEIGHT);
    let rtcp_pads = if bin == Bin::Rtpbin2 {
        ["rtcp_src_0", "rtcp_src_1"]
    } else {
        ["send_rtcp_src_0", "send_rtcp_src_1"]
    };
    let session = sender.by_name("send").unwrap();
    let cnames = first_cnames(&rtcp_pads.map(|p| session.static_pad(p).unwrap()));
    beep_every(
        &sender.by_name("asrc").unwrap().static_pad("src").unwrap(),
        PERIOD,
    );
    let pipelines = [&receiver, &network, &sender];
    play_for(&pipelines, RUN);
    stop(&pipelines);
    let d = detections.lock().unwrap().clone();
    let phases = phases.lock().unwrap().clone();
    // The flash frame starts `phase` after the beep at the sender: that much is content.
    let phase = phases.first().copied().unwrap_or(0) as i64;
    let (offsets, rendered) = offsets(&d, SETTLE.as_nanos() as u64, PERIOD);
    let [offsets, rendered] = [offsets, rendered].map(|v| v.iter().map(|o| o - phase).collect());
    Measured {
        name: format!("{bin:?}, {}", e.name),
        offsets,
        rendered,
        phases,
        cnames: cnames.lock().unwrap().clone(),
        flashes: d.flashes.len(),
        beeps: d.beeps.len(),
    }
}

fn report(m: &Measured) {
    let list = |v: &[i64]| {
        v.iter()
            .map(|o| format!("{:+.1}", ms(*o)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    eprintln!(
        "{}: {} flashes, {} beeps; A/V offset (video − audio) at the sinks, ms: [{}] \
         (rendered: [{}]), less the sender's offset (flash frame {:?} ns after the beep); \
         sender CNAMEs {:?}",
        m.name,
        m.flashes,
        m.beeps,
        list(&m.offsets),
        list(&m.rendered),
        m.phases.first(),
        m.cnames,
    );
}

/// Runs ours and C side by side (each on its own ports, at the same time).
fn ours_and_c(bin: Bin) -> [Measured; 2] {
    common::init_with_rsrtp();
    let ours = thread::spawn(move || run(bin, OURS));
    let c = run(bin, C);
    let ours = ours.join().unwrap();
    report(&ours);
    report(&c);
    [ours, c]
}

/// The measurement worked: flashes and beeps were found and paired, the sender's content
/// offset is constant.
fn assert_measured(m: &Measured) {
    assert!(
        m.offsets.len() >= 3,
        "{}: only {} flash/beep pairs after {SETTLE:?}: {m:?}",
        m.name,
        m.offsets.len()
    );
    assert!(
        m.phases.windows(2).all(|w| w[0] == w[1]),
        "{}: the flash frames are not all as far from the beeps: {:?}",
        m.name,
        m.phases
    );
}

/// Every offset within `±tolerance` of `around` (ns).
fn assert_offsets(m: &Measured, around: i64, tolerance: i64) {
    assert_measured(m);
    for o in &m.offsets {
        assert!(
            (o - around).abs() <= tolerance,
            "{}: A/V offset {:.1} ms, expected {:.1} ± {:.1} ms: {m:?}",
            m.name,
            ms(*o),
            ms(around),
            ms(tolerance)
        );
    }
}

/// Both streams of a sender carry the same CNAME, which is what tells a receiver to
/// synchronise them (RFC 3550 §6.5.1).
fn assert_one_cname(m: &Measured) {
    assert!(
        m.cnames.iter().all(|c| c.is_some() && *c == m.cnames[0]),
        "{}: CNAMEs {:?}",
        m.name,
        m.cnames
    );
}

/// rtpbin sending and receiving: our elements' streams are within one audio packet (the C
/// elements' are measured alongside and reported).
#[test]
fn rtpbin_lip_sync_within_one_audio_packet() {
    let [ours, c] = ours_and_c(Bin::Rtpbin);
    assert_one_cname(&ours);
    assert_offsets(&ours, 0, TOLERANCE_NS);
    assert_measured(&c);
}

/// rtpbin2 (gst-plugin-rtp 0.15) sending and receiving: `rtpsend` makes each session its
/// own random CNAME, so `rtprecv` has no reason to synchronise the two streams and does not:
/// the offset is the network's (video 80 ms later). Checked here so that a release that
/// shares the CNAME shows up (then assert lip sync as for rtpbin).
#[test]
fn rtpbin2_rtpsend_sessions_get_different_cnames_and_are_not_synchronised() {
    let [ours, c] = ours_and_c(Bin::Rtpbin2);
    for m in [&ours, &c] {
        assert!(
            m.cnames.iter().all(Option::is_some) && m.cnames[0] != m.cnames[1],
            "{}: rtpsend sent CNAMEs {:?}: if one CNAME is shared now, rtpbin2 can \
             synchronise: assert lip sync here",
            m.name,
            m.cnames
        );
    }
    let network_offset = i64::from(VIDEO_DELAY.0 - AUDIO_DELAY.0) * 1_000_000;
    assert_offsets(&ours, network_offset, 2 * TOLERANCE_NS);
    assert_measured(&c);
}

/// rtpbin sending (one CNAME), `rtprecv` receiving: rtpbin2's receiver synchronises the
/// streams, but from the arrival time of each stream's first packet (gst-plugin-rtp 0.15
/// `sync.rs`: `current_delay` = first arrival − its NTP time), so the offset is off by the
/// difference of those two packets' jitter: up to ±20 ms with ±10 ms on each stream, plus
/// the skew estimator's few milliseconds. Asserted within that bound (30 ms) for our
/// elements; the C elements are measured alongside and reported.
#[test]
fn rtpbin_sender_rtprecv_receiver_lip_sync_within_the_jitter() {
    let [ours, c] = ours_and_c(Bin::RtpbinToRtprecv);
    assert_one_cname(&ours);
    let jitter = i64::from(VIDEO_DELAY.1 - VIDEO_DELAY.0 + AUDIO_DELAY.1 - AUDIO_DELAY.0) / 2;
    assert_offsets(&ours, 0, (jitter + 10) * 1_000_000);
    assert_measured(&c);
}

/// What rtpbin's lip sync does to a stream: its jitterbuffer's `ts-offset` moves the PTS of
/// the packets by tens of milliseconds at once. The depayloader's output PTS must follow
/// (as the C depayloader's do), or the correction never reaches the sink.
#[test]
fn depayloader_output_follows_a_shift_of_the_input_pts() {
    common::init();
    let packets = || -> Vec<gst::Buffer> {
        (0..40u16)
            .map(|i| {
                let ts = 1000 + 160 * u32::from(i);
                let bytes = common::rtp_packet(9, 100 + i, ts, 0x1234, false, &[0x55; 160]);
                let mut b = gst::Buffer::from_mut_slice(bytes);
                // From packet 20 on, 80 ms later.
                let shift = if i >= 20 { 80 } else { 0 };
                b.get_mut()
                    .unwrap()
                    .set_pts(gst::ClockTime::from_mseconds(20 * u64::from(i) + shift));
                b
            })
            .collect()
    };
    let pts_through = |depay: &str| -> Vec<Option<gst::ClockTime>> {
        common::push_collect(
            &format!("appsrc name=src ! {depay} ! appsink name=sink sync=false"),
            AUDIO_CAPS,
            packets(),
            "sink",
            None,
            Duration::from_secs(10),
        )
        .buffers
        .iter()
        .map(|b| b.pts())
        .collect()
    };
    let ours = pts_through("rtpg722depay2");
    let c = pts_through("rtpg722depay");
    assert_eq!(ours.len(), 40);
    assert_eq!(ours, c, "output PTS of ours and of the C depayloader");
    assert_eq!(ours[19], Some(gst::ClockTime::from_mseconds(380)));
    assert_eq!(ours[20], Some(gst::ClockTime::from_mseconds(480)));
}
