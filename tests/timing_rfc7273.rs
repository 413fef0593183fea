// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RFC 7273 clock signalling of our payloaders on a network clock, without a network: a
//! `GstNtpClock` synchronised to a small NTPv4 server on 127.0.0.1 that this test runs
//! (RFC 5905 §7.3 server replies with the system time). The payloader's caps must carry
//! `a-ts-refclk=ntp=127.0.0.1:<port>` and an `a-mediaclk=direct=<offset>` that matches every
//! RTP timestamp, and `rtpjitterbuffer rfc7273-sync=true` must use them: its output times
//! are the sender's capture times on the shared clock, where the same jitterbuffer without
//! `rfc7273-sync` gives the arrival times (150 ms later: the sender holds its packets back).

mod common;
#[path = "timing_ptp_support/ntp.rs"]
mod ntp;

use gst::prelude::*;
use ntp::{NtpServer, synced_ntp_clock};
use rtp2_core::clock_signalling::{MediaClock, ReferenceClock, rtp_timestamp_at};
use std::collections::HashMap;
use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Collects the buffers (with lists flattened) and the last caps of appsink `name`.
type Sink = Arc<Mutex<(Vec<gst::Buffer>, Option<gst::Caps>)>>;

fn collect(pipeline: &gst::Pipeline, name: &str) -> Sink {
    let sink = pipeline
        .by_name(name)
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let collected: Sink = Arc::default();
    let c = collected.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let mut c = c.lock().unwrap();
                if let Some(list) = sample.buffer_list() {
                    c.0.extend(list.iter_owned());
                } else if let Some(buffer) = sample.buffer_owned() {
                    c.0.push(buffer);
                }
                c.1 = sample.caps_owned();
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    collected
}

fn rtp_timestamp(buffer: &gst::Buffer) -> u32 {
    let map = buffer.map_readable().unwrap();
    u32::from_be_bytes(map[4..8].try_into().unwrap())
}

/// Warning and error messages posted so far on `pipeline`'s bus.
fn bus_problems(pipeline: &gst::Pipeline) -> Vec<String> {
    let bus = pipeline.bus().unwrap();
    let mut problems = Vec::new();
    while let Some(msg) = bus.pop() {
        match msg.view() {
            gst::MessageView::Warning(w) => problems.push(format!("warning: {}", w.error())),
            gst::MessageView::Error(e) => problems.push(format!("error: {}", e.error())),
            _ => {}
        }
    }
    problems
}

fn median(values: &mut [i64]) -> i64 {
    values.sort_unstable();
    values[values.len() / 2]
}

#[test]
fn ntp_clock_is_signalled_and_rtpjitterbuffer_syncs_to_it() {
    common::init();
    let server = NtpServer::start();
    let clock = synced_ntp_clock(&server);
    let rtp_port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    // The sender holds its packets back 150 ms (a queue that releases nothing below that).
    let sender = gst::parse::launch(&format!(
        "audiotestsrc is-live=true samplesperbuffer=320 num-buffers=150 ! avenc_g722 \
         ! rtpg722pay2 ! tee name=t \
         t. ! queue ! appsink name=sent sync=false \
         t. ! queue max-size-time=0 max-size-buffers=0 max-size-bytes=0 \
              min-threshold-time=150000000 ! udpsink host=127.0.0.1 port={rtp_port} sync=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    sender.use_clock(Some(&clock));
    let sent = collect(&sender, "sent");
    sender.set_state(gst::State::Playing).unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let caps = loop {
        if let Some(caps) = sent.lock().unwrap().1.clone() {
            break caps;
        }
        assert!(
            Instant::now() < deadline,
            "no RTP caps from the sender in 10 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let s = caps.structure(0).unwrap();
    let refclk = s
        .get::<&str>("a-ts-refclk")
        .expect("a-ts-refclk in the RTP caps");
    assert_eq!(
        ReferenceClock::parse(refclk),
        Some(ReferenceClock::parse(&format!("ntp=127.0.0.1:{}", server.port)).unwrap()),
        "{caps}"
    );
    let mediaclk = s
        .get::<&str>("a-mediaclk")
        .expect("a-mediaclk in the RTP caps");
    let Some(MediaClock::Direct { offset }) = MediaClock::parse(mediaclk) else {
        panic!("a-mediaclk is not direct=<offset>: {caps}");
    };

    let receiver = gst::parse::launch(
        "udpsrc name=src ! tee name=t \
         t. ! queue ! rtpjitterbuffer name=synced rfc7273-sync=true latency=400 \
              ! appsink name=synced_out sync=false \
         t. ! queue ! rtpjitterbuffer name=plain latency=400 ! appsink name=plain_out sync=false",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let src = receiver.by_name("src").unwrap();
    src.set_property("port", i32::from(rtp_port));
    src.set_property("caps", &caps);
    receiver.use_clock(Some(&clock));
    let synced = collect(&receiver, "synced_out");
    let plain = collect(&receiver, "plain_out");
    receiver.set_state(gst::State::Playing).unwrap();

    let bus = sender.bus().unwrap();
    let eos = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(20),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    assert!(
        matches!(
            eos.as_ref().map(|m| m.view()),
            Some(gst::MessageView::Eos(_))
        ),
        "sender did not finish: {eos:?}"
    );
    // The last packets leave the sender's queue at EOS; give them time to arrive.
    std::thread::sleep(Duration::from_millis(300));
    let tx_base = sender.base_time().unwrap();
    let rx_base = receiver.base_time().unwrap();
    let sender_problems = bus_problems(&sender);
    let receiver_problems = bus_problems(&receiver);
    sender.set_state(gst::State::Null).unwrap();
    receiver.set_state(gst::State::Null).unwrap();
    assert!(sender_problems.is_empty(), "sender: {sender_problems:?}");
    assert!(
        receiver_problems.is_empty(),
        "receiver: {receiver_problems:?}"
    );

    // Every RTP timestamp is what the signalled offset gives for its capture time on the
    // clock (running time + base time), within the tick that two roundings make.
    let sent = sent.lock().unwrap().0.clone();
    assert!(sent.len() >= 100, "only {} packets sent", sent.len());
    let mut capture_time = HashMap::new();
    for buffer in &sent {
        let clock_time = buffer.pts().unwrap() + tx_base;
        let predicted = rtp_timestamp_at(clock_time.nseconds(), 8000, offset);
        let actual = rtp_timestamp(buffer);
        assert!(
            predicted.wrapping_sub(actual) <= 1 || actual.wrapping_sub(predicted) <= 1,
            "RTP timestamp {actual}, direct={offset} predicts {predicted} at {clock_time}"
        );
        capture_time.insert(actual, clock_time.nseconds() as i64);
    }

    // Output time on the shared clock minus capture time, per packet.
    let offsets = |out: &Sink| -> Vec<i64> {
        out.lock()
            .unwrap()
            .0
            .iter()
            .filter_map(|b| {
                let captured = capture_time.get(&rtp_timestamp(b))?;
                Some((b.pts()? + rx_base).nseconds() as i64 - captured)
            })
            .collect()
    };
    // The first packets may come out at their arrival time: rtpjitterbuffer makes its own
    // clock for the signalled one when it reads the caps, and slaves to it only once that
    // clock says it is synchronised; later packets cannot go back in time (it keeps output
    // times monotonic), so the first 200 ms of packets (10) are left out.
    let mut synced_offsets = offsets(&synced);
    let mut plain_offsets = offsets(&plain);
    assert!(
        synced_offsets.len() >= 60 && plain_offsets.len() >= 60,
        "too few packets received: {} and {}",
        synced_offsets.len(),
        plain_offsets.len()
    );
    let mut synced_offsets = synced_offsets.split_off(10);
    let synced_median = median(&mut synced_offsets);
    let synced_worst = synced_offsets.iter().map(|o| o.abs()).max().unwrap();
    let plain_median = median(&mut plain_offsets);
    println!(
        "rfc7273-sync output − capture: median {synced_median} ns, worst {synced_worst} ns; \
         without: median {plain_median} ns"
    );
    assert!(
        synced_median.abs() < 1_000_000 && synced_worst < 2_000_000,
        "rfc7273-sync=true output times are not the capture times: median {synced_median} ns, \
         worst {synced_worst} ns"
    );
    assert!(
        plain_median > 100_000_000,
        "the control (no rfc7273-sync) should see the 150 ms hold-back: {plain_median} ns"
    );
}

#[test]
fn system_clock_is_not_signalled() {
    common::init();
    let pipeline = gst::parse::launch(
        "audiotestsrc is-live=true samplesperbuffer=320 num-buffers=5 ! avenc_g722 \
         ! rtpg722pay2 ! appsink name=sent sync=false",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    pipeline.use_clock(Some(&gst::SystemClock::obtain()));
    let sent = collect(&pipeline, "sent");
    let warnings = common::run_to_eos(&pipeline, Duration::from_secs(10));
    assert!(warnings.is_empty(), "{warnings:?}");
    let caps = sent.lock().unwrap().1.clone().expect("RTP caps");
    let s = caps.structure(0).unwrap();
    assert!(
        !s.has_field("a-ts-refclk") && !s.has_field("a-mediaclk"),
        "the system clock is nothing a receiver can share: {caps}"
    );
}

/// Each buffer an appsink got, with the caps it came with.
type CapsSink = Arc<Mutex<Vec<(gst::Buffer, gst::Caps)>>>;

fn collect_with_caps(pipeline: &gst::Pipeline, name: &str) -> CapsSink {
    let sink = pipeline
        .by_name(name)
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let collected: CapsSink = Arc::default();
    let c = collected.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let caps = sample.caps_owned().unwrap();
                let mut c = c.lock().unwrap();
                if let Some(list) = sample.buffer_list() {
                    c.extend(list.iter_owned().map(|b| (b, caps.clone())));
                } else if let Some(buffer) = sample.buffer_owned() {
                    c.push((buffer, caps));
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    collected
}

/// PAUSED → PLAYING moves the base time (running time stands still while paused, the clock
/// does not), so the RTP timeline moves against the clock: the payloader must signal a new
/// `direct=` offset for the packets after the pause.
#[test]
fn a_new_base_time_renegotiates_the_media_clock() {
    common::init();
    let server = NtpServer::start();
    let clock = synced_ntp_clock(&server);
    let pipeline = gst::parse::launch(
        "audiotestsrc is-live=true samplesperbuffer=320 ! avenc_g722 ! rtpg722pay2 \
         ! appsink name=sent sync=false",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    pipeline.use_clock(Some(&clock));
    let sent = collect_with_caps(&pipeline, "sent");
    pipeline.set_state(gst::State::Playing).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let first_base = pipeline.base_time().unwrap();
    pipeline.set_state(gst::State::Paused).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    pipeline.set_state(gst::State::Playing).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let second_base = pipeline.base_time().unwrap();
    let problems = bus_problems(&pipeline);
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert!(
        second_base >= first_base + gst::ClockTime::from_mseconds(250),
        "the pause did not move the base time: {first_base} then {second_base}"
    );

    let sent = sent.lock().unwrap();
    let mut offsets: Vec<u32> = Vec::new();
    let (mut before, mut after) = (0, 0);
    for (buffer, caps) in sent.iter() {
        let s = caps.structure(0).unwrap();
        let Some(MediaClock::Direct { offset }) =
            s.get::<&str>("a-mediaclk").ok().and_then(MediaClock::parse)
        else {
            panic!("no direct media clock in {caps}");
        };
        if offsets.last() != Some(&offset) {
            offsets.push(offset);
        }
        // Which base time the packet's caps stand for: the offset predicts its timestamp
        // from its capture time on the clock with exactly one of them.
        let rtp = rtp_timestamp(buffer);
        let matches = |base: gst::ClockTime| {
            let predicted =
                rtp_timestamp_at((buffer.pts().unwrap() + base).nseconds(), 8000, offset);
            predicted.wrapping_sub(rtp) <= 1 || rtp.wrapping_sub(predicted) <= 1
        };
        match (matches(first_base), matches(second_base)) {
            (true, false) if after == 0 => before += 1,
            (false, true) => after += 1,
            other => {
                let d = |base: gst::ClockTime| {
                    rtp_timestamp_at((buffer.pts().unwrap() + base).nseconds(), 8000, offset)
                        .wrapping_sub(rtp) as i32
                };
                panic!(
                    "packet {rtp} pts {} (direct={offset}, #{before}/{after}) fits the base times \
                     {other:?}: off by {} and {} ticks",
                    buffer.pts().unwrap(),
                    d(first_base),
                    d(second_base)
                )
            }
        }
    }
    assert_eq!(offsets.len(), 2, "one offset per PLAYING: {offsets:?}");
    assert!(
        before >= 10 && after >= 10,
        "{before} packets before, {after} after the pause"
    );
}
