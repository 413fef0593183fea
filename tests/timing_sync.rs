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
//! the C ones side by side, through `rtpbin` and through rtpbin2 (`rtpsend`/`rtprecv`). In
//! every set-up the offset at the sinks must also be the one the receiver's session manager
//! gave the packets of the flash and of the beep (from their RTP timestamps at the sender):
//! what the depayloaders answer for.

mod common;
mod timing_support;

use std::thread;
use std::time::Duration;

use timing_support::sync::*;
use timing_support::*;

/// Milliseconds with a sign, or "-" for none.
fn ms_or_dash(ns: Option<i64>) -> String {
    ns.map_or("-".into(), |ns| format!("{:+.1}", ms(ns)))
}

fn report(m: &Measured) {
    let list =
        |v: &mut dyn Iterator<Item = Option<i64>>| v.map(ms_or_dash).collect::<Vec<_>>().join(" ");
    eprintln!(
        "{}: {} flashes, {} beeps; A/V offset (video − audio) at the sinks, ms: [{}] \
         (rendered: [{}]; given by the session manager: [{}]), less the sender's offset \
         (flash frame {:?} ns after the beep); sender CNAMEs {:?}; first packet later than \
         the stream's least delay, ms: video {}, audio {}",
        m.name,
        m.flashes,
        m.beeps,
        list(&mut m.offsets.iter().map(|o| Some(*o))),
        list(&mut m.rendered.iter().map(|o| Some(*o))),
        list(&mut m.delivered.iter().copied()),
        m.phases.first(),
        m.cnames,
        ms_or_dash(m.first_packet_lateness[0]),
        ms_or_dash(m.first_packet_lateness[1]),
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

/// How far the offset at the sinks may be from the one the receiver's session manager gave
/// the flash's and the beep's packets: the G.722 decoder's filter delays the beep by about
/// 1.5 ms (23 samples at 16 kHz; measured −1.5 ms through every session manager), the
/// depayloaders and the video decoder keep the PTS they are given.
const DELIVERY_TOLERANCE_NS: i64 = 3_000_000;

/// Our depayloaders carry the A/V offset the session manager decided to the sinks: each
/// offset at the sinks is the one of the packets leaving the session manager, within
/// [`DELIVERY_TOLERANCE_NS`]. The sinks pair each flash with the nearest beep, so their
/// offset is known modulo the period (`rtprecv` once put the audio 1.27 s ahead: the sinks
/// saw +0.27 s), and is compared so.
fn assert_delivered(m: &Measured) {
    assert_measured(m);
    let pairs: Vec<(i64, i64)> = m
        .offsets
        .iter()
        .zip(&m.delivered)
        .filter_map(|(o, d)| Some((*o, (*d)?)))
        .collect();
    assert!(
        pairs.len() >= 3,
        "{}: only {} of the flashes at the sinks are flash frames as the session manager gave \
         them: {m:?}",
        m.name,
        pairs.len()
    );
    let period = PERIOD.as_nanos() as i64;
    for (at_sinks, given) in pairs {
        let mut apart = (at_sinks - given).rem_euclid(period);
        if apart > period / 2 {
            apart -= period;
        }
        assert!(
            apart.abs() <= DELIVERY_TOLERANCE_NS,
            "{}: A/V offset {:.1} ms at the sinks, {:.1} ms as the session manager gave it: \
             {m:?}",
            m.name,
            ms(at_sinks),
            ms(given)
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
    assert_delivered(&ours);
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
    assert_delivered(&ours);
    assert_measured(&c);
}

/// rtpbin sending (one CNAME), `rtprecv` receiving: `rtprecv` (gst-plugin-rtp 0.15.4)
/// synchronises the streams, but the offset it leaves varies from run to run and within a
/// run, for the C elements as for ours (from −2 to +288 ms here; docs/timing.md), so what
/// is asserted is ours' part: the depayloaders carry the offset `rtprecv` gave the packets
/// to the sinks. The C elements are measured alongside and reported.
#[test]
fn rtpbin_sender_rtprecv_receiver_offset_reaches_the_sinks() {
    let [ours, c] = ours_and_c(Bin::RtpbinToRtprecv);
    assert_one_cname(&ours);
    assert_delivered(&ours);
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
