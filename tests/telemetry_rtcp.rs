// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The `rtp-metrics` tracer's RTCP figures from live sender/receiver pairs on 127.0.0.1
//! (docs/telemetry.md): with C `rtpbin` (rtpsession), the round trip of RFC 3550 §6.4.1
//! matches the delay `netsim` adds to the receiver's RTCP, and the fraction lost the
//! receiver reports matches `netsim`'s drop rate; with rtpbin2 (`rtpsend`/`rtprecv`), the
//! fraction lost and the receive jitter buffer's counters appear with the same meaning.

use std::time::{Duration, Instant};

use gst::prelude::*;

mod common;
mod telemetry_support;
use telemetry_support::*;

/// netsim's drop probability on the RTP path.
const DROP: f64 = 0.2;
/// netsim's delay (ms) on the receiver's RTCP path.
const RTCP_DELAY_MS: i32 = 40;

const CAPS: &str = "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9";
/// 200 packets per second: about 100 per RTCP report (0.5 s apart), so each report's
/// fraction lost is `DROP` ± 0.04 (one standard deviation).
const SOURCE: &str = "audiotestsrc is-live=true samplesperbuffer=80 \
    ! audio/x-raw,rate=16000,channels=1 ! avenc_g722 ! rtpg722pay2";

/// Runs `pipelines`, scraping every 100 ms for up to `timeout`; returns the successive values
/// of `name` for `filter` (one per report: a value is taken when it changes; the first, over
/// a partial interval, is left out) and the last body, once `enough` values were seen.
fn watch(
    port: u16,
    pipelines: &[&gst::Pipeline],
    name: &str,
    filter: &[(&str, &str)],
    enough: usize,
    timeout: Duration,
) -> (Vec<f64>, String) {
    for p in pipelines {
        p.set_state(gst::State::Playing).unwrap();
    }
    let start = Instant::now();
    let mut last: Option<f64> = None;
    let mut values = Vec::new();
    let mut body = String::new();
    while start.elapsed() < timeout && values.len() < enough {
        std::thread::sleep(Duration::from_millis(100));
        for p in pipelines {
            if let Some(msg) = p.bus().unwrap().pop_filtered(&[gst::MessageType::Error]) {
                panic!("{}: {msg:?}", p.name());
            }
        }
        body = scrape(port);
        // One series per filter here; a new report (almost always) changes the value.
        if let [v] = samples(&body, name, filter)[..] {
            if last.is_some_and(|l| l != v) {
                values.push(v);
            }
            if last != Some(v) {
                last = Some(v);
            }
        }
    }
    (values, body)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Receiver reports averaged: each covers about 100 packets (± 0.04 around the loss), so
/// their mean is within ± 0.01 of it (one standard deviation).
const REPORTS: usize = 16;

/// The loss `netsim` (named `net`) really made in pipeline `p`: the tracer's own count on
/// its source pad, lost / expected (RFC 3550 A.3).
fn netsim_loss(body: &str, p: &str) -> f64 {
    let f = [("pipeline", p), ("element", "net")];
    sample(body, "rtp2_lost_packets_total", &f) / sample(body, "rtp2_expected_packets_total", &f)
}

#[test]
fn rtpbin_round_trip_and_fraction_lost() {
    let port = tracer_port();
    let (rtp, rtcp_s2r, rtcp_r2s) = (
        common::free_udp_port(),
        common::free_udp_port(),
        common::free_udp_port(),
    );
    let sender = pipeline(
        "rtcp-snd",
        &format!(
            "rtpbin name=rtpbin {SOURCE} ! rtpbin.send_rtp_sink_0 \
             rtpbin.send_rtp_src_0 ! udpsink host=127.0.0.1 port={rtp} \
             rtpbin.send_rtcp_src_0 ! udpsink host=127.0.0.1 port={rtcp_s2r} sync=false async=false \
             udpsrc address=127.0.0.1 port={rtcp_r2s} ! rtpbin.recv_rtcp_sink_0"
        ),
    );
    let receiver = pipeline(
        "rtcp-rcv",
        &format!(
            "rtpbin name=rtpbin \
             udpsrc address=127.0.0.1 port={rtp} caps=\"{CAPS}\" \
               ! netsim name=net drop-probability={DROP} ! rtpbin.recv_rtp_sink_0 \
             rtpbin. ! rtpg722depay2 ! fakesink \
             udpsrc address=127.0.0.1 port={rtcp_s2r} ! rtpbin.recv_rtcp_sink_0 \
             rtpbin.send_rtcp_src_0 ! netsim delay-probability=1.0 min-delay={RTCP_DELAY_MS} \
               max-delay={RTCP_DELAY_MS} ! udpsink host=127.0.0.1 port={rtcp_r2s} sync=false async=false"
        ),
    );
    // Frequent reports, so the test takes seconds.
    for p in [&sender, &receiver] {
        let session = p
            .by_name("rtpbin")
            .unwrap()
            .emit_by_name::<gst::Element>("get-session", &[&0u32]);
        session.set_property("rtcp-min-interval", 500_000_000u64);
    }
    let snd = [("pipeline", "rtcp-snd")];
    let (fractions, body) = watch(
        port,
        &[&receiver, &sender],
        "rtp2_rtcp_fraction_lost_ratio",
        &snd,
        REPORTS,
        Duration::from_secs(40),
    );
    let rtt = samples(&body, "rtp2_rtcp_round_trip_seconds", &snd);
    let loss = netsim_loss(&body, "rtcp-rcv");
    let feedback = samples(&body, "rtp2_rtcp_feedback_messages_total", &snd);
    sender.set_state(gst::State::Null).unwrap();
    receiver.set_state(gst::State::Null).unwrap();

    assert!(
        fractions.len() >= REPORTS,
        "receiver reports seen: {fractions:?}\n{body}"
    );
    let lost = mean(&fractions);
    assert!(
        (lost - loss).abs() < 0.05,
        "mean fraction lost {lost} over {fractions:?}, netsim dropped {loss}"
    );
    // RFC 3550 §6.4.1: A - LSR - DLSR covers the network both ways: here the RTCP delay.
    let delay = f64::from(RTCP_DELAY_MS) / 1000.0;
    assert!(
        rtt.len() == 1 && rtt[0] >= delay * 0.9 && rtt[0] < delay + 0.1,
        "round trip {rtt:?}, RTCP delayed {delay} s\n{body}"
    );
    eprintln!("fraction lost {fractions:?} (mean {lost}, netsim {loss}), round trip {rtt:?} s");
    // PLI, FIR and NACK counters, sent and received, exist for each source the sender's
    // session knows (its own and the receiver's): none was sent here.
    assert!(
        feedback.len() >= 6 && feedback.len().is_multiple_of(6),
        "{body}"
    );
    assert!(feedback.iter().all(|&v| v == 0.0), "{feedback:?}");
}

#[test]
fn rtpbin2_fraction_lost_and_jitterbuffer() {
    common::init_with_rsrtp();
    let port = tracer_port();
    let (rtp, rtcp_s2r, rtcp_r2s) = (
        common::free_udp_port(),
        common::free_udp_port(),
        common::free_udp_port(),
    );
    let receiver = pipeline(
        "rtcp2-rcv",
        &format!(
            "rtprecv name=recv rtp-id=r-{rtp} latency=100 \
             udpsrc address=127.0.0.1 port={rtp} caps=\"{CAPS}\" \
               ! netsim name=net drop-probability={DROP} ! recv.rtp_sink_0 \
             udpsrc address=127.0.0.1 port={rtcp_s2r} ! recv.rtcp_sink_0 \
             recv. ! rtpg722depay2 ! fakesink \
             rtpsend name=rsend rtp-id=r-{rtp} min-rtcp-interval=500 \
             rsend.rtcp_src_0 ! udpsink host=127.0.0.1 port={rtcp_r2s} sync=false async=false"
        ),
    );
    let sender = pipeline(
        "rtcp2-snd",
        &format!(
            "rtpsend name=send rtp-id=s-{rtp} min-rtcp-interval=500 \
             {SOURCE} ! send.rtp_sink_0 \
             send.rtp_src_0 ! udpsink host=127.0.0.1 port={rtp} \
             send.rtcp_src_0 ! udpsink host=127.0.0.1 port={rtcp_s2r} sync=false async=false \
             rtprecv name=srecv rtp-id=s-{rtp} \
             udpsrc address=127.0.0.1 port={rtcp_r2s} ! srecv.rtcp_sink_0"
        ),
    );
    let snd = [("pipeline", "rtcp2-snd"), ("element", "send")];
    let (fractions, body) = watch(
        port,
        &[&receiver, &sender],
        "rtp2_rtcp_fraction_lost_ratio",
        &snd,
        REPORTS,
        Duration::from_secs(40),
    );
    sender.set_state(gst::State::Null).unwrap();
    receiver.set_state(gst::State::Null).unwrap();

    assert!(
        fractions.len() >= REPORTS,
        "receiver reports seen: {fractions:?}\n{body}"
    );
    let loss = netsim_loss(&body, "rtcp2-rcv");
    let lost = mean(&fractions);
    assert!(
        (lost - loss).abs() < 0.05,
        "mean fraction lost {lost} over {fractions:?}, netsim dropped {loss}"
    );
    // rtprecv's jitter buffer for the received stream: packets pushed and lost, in the
    // proportion netsim dropped them.
    let rcv = [("pipeline", "rtcp2-rcv"), ("element", "recv")];
    let pushed = sample(&body, "rtp2_jitterbuffer_pushed_packets_total", &rcv);
    let jb_lost = sample(&body, "rtp2_jitterbuffer_lost_packets_total", &rcv);
    assert!(pushed > 100.0, "{body}");
    let ratio = jb_lost / (jb_lost + pushed);
    eprintln!(
        "fraction lost {fractions:?} (mean {lost}, netsim {loss}), jitter buffer lost {ratio}"
    );
    assert!(
        (ratio - loss).abs() < 0.03,
        "jitter buffer lost {jb_lost} of {} ({ratio}), netsim dropped {loss}",
        jb_lost + pushed
    );
}
