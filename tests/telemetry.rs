// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The `rtp-metrics` tracer (docs/telemetry.md): its `/metrics` output passes `promtool
//! check metrics`, its counts match what the pipeline itself saw through `netsim` loss and
//! duplication (also on pads feeding our depayloader and our FEC decoder, whose bases
//! hand their packets to the tracer), keyframes are counted as the encoder made them, the
//! series cap holds against 10,000 SSRCs, and series go away with their pipelines while
//! being scraped. (tests/telemetry_launch.rs: the `GST_TRACERS` path.)

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

mod common;
mod telemetry_support;
use telemetry_support::*;

/// A pipeline with our payloader and depayloader, `netsim` loss, `rtpbin` (rtpsession) and
/// `rtpjitterbuffer`, so every metric family has series.
const FULL: &str = "audiotestsrc is-live=true num-buffers=150 samplesperbuffer=320 ! audio/x-raw,rate=16000 \
    ! avenc_g722 ! rtpg722pay2 name=pay ! rtpbin.send_rtp_sink_0 \
    rtpbin.send_rtp_src_0 ! netsim name=net drop-probability=0.1 ! rtpjitterbuffer name=jb \
    ! rtpg722depay2 name=depay ! fakesink rtpbin name=rtpbin";

/// The sequence numbers a stream spans from the first of `seen` to the highest, and how
/// many distinct ones were seen. No wrap in 600 packets unless the random start is near
/// 65535: unwrapped relative to the first.
fn sequence_span(seen: &[u16]) -> (usize, usize) {
    let unique: BTreeSet<u16> = seen.iter().copied().collect();
    let first = seen[0];
    let span = seen.iter().map(|&q| q.wrapping_sub(first)).max().unwrap() as usize + 1;
    (span, unique.len())
}

#[test]
fn promtool_accepts_metrics() {
    let port = tracer_port();
    let promtool = prometheus_tool("promtool");
    let p = pipeline("lint", FULL);
    p.set_state(gst::State::Playing).unwrap();
    // Scrape while the (live, 3 s) stream flows: rtpsession lists its sources until BYE.
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        std::thread::sleep(Duration::from_millis(200));
        let body = scrape(port);
        let sources = samples(
            &body,
            "rtp2_rtcp_feedback_messages_total",
            &[("pipeline", "lint")],
        );
        if !sources.is_empty() || Instant::now() > deadline {
            break body;
        }
    };
    common::run_to_eos(&p, Duration::from_secs(30));
    p.set_state(gst::State::Null).unwrap();

    for family in [
        "rtp2_packets_total",
        "rtp2_lost_packets_total",
        "rtp2_interarrival_jitter_seconds",
        "rtp2_processing_latency_seconds_bucket",
        "rtp2_element_dropped_packets_total",
        "rtp2_jitterbuffer_lost_packets_total",
        "rtp2_rtcp_feedback_messages_total",
        "rtp2_session_nack_messages_total",
    ] {
        assert!(
            !samples(&body, family, &[("pipeline", "lint")]).is_empty(),
            "{family} missing:\n{body}"
        );
    }

    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool failed: {report}\n{body}");
    assert!(report.trim().is_empty(), "promtool lint problems: {report}");

    // OpenMetrics on request.
    let (status, om) = http_get(port, "/metrics", Some("application/openmetrics-text"));
    assert_eq!(status, 200);
    assert!(om.trim_end().ends_with("# EOF"), "{om}");
}

#[test]
fn counts_match_what_the_pipeline_saw() {
    let port = tracer_port();
    let p = pipeline(
        "counts",
        "audiotestsrc num-buffers=600 samplesperbuffer=320 ! audio/x-raw,rate=16000 \
         ! avenc_g722 ! rtpg722pay2 name=pay ! netsim name=net drop-probability=0.2 \
         duplicate-probability=0.05 ! fakesink name=sink",
    );
    // The pipeline's own view: every sequence number reaching the sink, from GStreamer's
    // RTP parser.
    let seen = Arc::new(Mutex::new(Vec::<u16>::new()));
    let sinkpad = p.by_name("sink").unwrap().static_pad("sink").unwrap();
    let s = seen.clone();
    sinkpad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(b) = info.buffer() {
            s.lock().unwrap().push(common::rtp_fields(b).seq);
        }
        gst::PadProbeReturn::Ok
    });
    // And every packet the payloader pushed (buffers or buffer lists).
    let pushed = Arc::new(AtomicUsize::new(0));
    let paysrc = p.by_name("pay").unwrap().static_pad("src").unwrap();
    let n = pushed.clone();
    paysrc.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
        move |_, info| {
            let count = match &info.data {
                Some(gst::PadProbeData::Buffer(_)) => 1,
                Some(gst::PadProbeData::BufferList(l)) => l.len(),
                _ => 0,
            };
            n.fetch_add(count, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        },
    );
    common::run_to_eos(&p, Duration::from_secs(30));
    let sent = pushed.load(Ordering::Relaxed) as f64;
    let body = scrape(port);
    p.set_state(gst::State::Null).unwrap();

    let seen = seen.lock().unwrap().clone();
    let (span, unique) = sequence_span(&seen);
    let received = seen.len() as f64;
    let lost = (span - unique) as f64;
    let duplicates = (seen.len() - unique) as f64;
    assert!(lost > 0.0 && duplicates > 0.0, "netsim did nothing");

    let pay = [("pipeline", "counts"), ("element", "pay"), ("pad", "src")];
    let net = [("pipeline", "counts"), ("element", "net"), ("pad", "src")];
    assert_eq!(sample(&body, "rtp2_packets_total", &pay), sent);
    assert_eq!(sample(&body, "rtp2_lost_packets_total", &pay), 0.0);
    assert_eq!(sample(&body, "rtp2_packets_total", &net), received);
    assert_eq!(sample(&body, "rtp2_lost_packets_total", &net), lost);
    assert_eq!(
        sample(&body, "rtp2_duplicate_packets_total", &net),
        duplicates
    );
    assert_eq!(
        sample(&body, "rtp2_expected_packets_total", &net),
        span as f64
    );
    assert_eq!(sample(&body, "rtp2_reordered_packets_total", &net), 0.0);
    let bytes = sample(&body, "rtp2_bytes_total", &net);
    assert!(bytes > received * 12.0, "bytes {bytes}");
    let jitter = sample(&body, "rtp2_interarrival_jitter_seconds", &net);
    assert!(jitter.is_finite() && jitter >= 0.0);
    // One latency observation per packet the payloader pushed.
    let latency = sample(
        &body,
        "rtp2_processing_latency_seconds_count",
        &[("pipeline", "counts"), ("element", "pay")],
    );
    assert_eq!(latency, sent);
}

#[test]
fn series_cap_bounds_ten_thousand_ssrcs() {
    let port = tracer_port();
    let before = scrape(port);
    let refused_before = sample(&before, "rtp2_refused_streams_total", &[]);
    let untracked_before = sample(&before, "rtp2_untracked_packets_total", &[]);
    let p = pipeline(
        "ssrcs",
        "appsrc name=src format=time caps=application/x-rtp,media=audio,clock-rate=8000,\
         encoding-name=PCMU,payload=0 ! fakesink name=sink",
    );
    let src = p
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    p.set_state(gst::State::Playing).unwrap();
    const N: u32 = 10_000;
    for i in 0..N {
        let packet = common::rtp_packet(0, i as u16, i * 160, 0x1000_0000 + i, false, &[0; 160]);
        src.push_buffer(gst::Buffer::from_mut_slice(packet))
            .unwrap();
    }
    src.end_of_stream().unwrap();
    common::run_to_eos(&p, Duration::from_secs(30));
    let body = scrape(port);
    p.set_state(gst::State::Null).unwrap();

    let series = samples(&body, "rtp2_packets_total", &[("pipeline", "ssrcs")]);
    assert_eq!(series.len(), 16, "per-pad stream cap");
    assert!(
        body.len() < 2_000_000,
        "exposition grew to {} bytes",
        body.len()
    );
    let refused = sample(&body, "rtp2_refused_streams_total", &[]) - refused_before;
    let untracked = sample(&body, "rtp2_untracked_packets_total", &[]) - untracked_before;
    assert!(refused >= f64::from(N - 16), "refused {refused}");
    assert!(untracked >= f64::from(N - 16), "untracked {untracked}");
}

#[test]
fn hundred_pipelines_torn_down_while_scraped() {
    let port = tracer_port();
    let stop = Arc::new(AtomicBool::new(false));
    let scrapes = Arc::new(AtomicUsize::new(0));
    let scraper = {
        let (stop, scrapes) = (stop.clone(), scrapes.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(300);
            for _ in 0..100_000 {
                if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
                    break;
                }
                scrape(port);
                scrapes.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    for i in 0..100 {
        let p = pipeline(
            &format!("churn-{i}"),
            "audiotestsrc num-buffers=10 samplesperbuffer=320 ! audio/x-raw,rate=16000 \
             ! avenc_g722 ! rtpg722pay2 ! rtpjitterbuffer ! rtpg722depay2 ! fakesink",
        );
        run(&p, Duration::from_secs(30));
    }
    stop.store(true, Ordering::Relaxed);
    scraper.join().expect("the scraper never failed");
    assert!(scrapes.load(Ordering::Relaxed) > 0);

    // Every churn series is gone once the pipelines are (an element the HTTP thread was
    // reading may finish going away just after).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = scrape(port);
        let left = body
            .lines()
            .filter(|l| l.contains("pipeline=\"churn-"))
            .count();
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} series of torn-down pipelines remain:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn keyframes_counted_as_the_encoder_made_them() {
    let port = tracer_port();
    let p = pipeline(
        "keyframes",
        "videotestsrc num-buffers=90 ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! x264enc name=enc speed-preset=ultrafast key-int-max=30 tune=zerolatency \
         ! rtph264pay2 name=pay ! queue name=q ! rtph264depay2 ! fakesink",
    );
    // The encoder's own view: frames not flagged delta units are keyframes.
    let keyframes = Arc::new(AtomicUsize::new(0));
    let k = keyframes.clone();
    p.by_name("enc")
        .unwrap()
        .static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if info
                .buffer()
                .is_some_and(|b| !b.flags().contains(gst::BufferFlags::DELTA_UNIT))
            {
                k.fetch_add(1, Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        });
    common::run_to_eos(&p, Duration::from_secs(60));
    let body = scrape(port);
    p.set_state(gst::State::Null).unwrap();
    let expected = keyframes.load(Ordering::Relaxed) as f64;
    assert!(expected >= 3.0, "x264enc made {expected} keyframes");
    let pay = [
        ("pipeline", "keyframes"),
        ("element", "pay"),
        ("pad", "src"),
    ];
    assert_eq!(sample(&body, "rtp2_keyframes_total", &pay), expected);
    assert_eq!(sample(&body, "rtp2_marker_packets_total", &pay), 90.0);
    // The queue pushes single packets into our depayloader, which hands them to the tracer.
    let q = [("pipeline", "keyframes"), ("element", "q"), ("pad", "src")];
    assert_eq!(sample(&body, "rtp2_keyframes_total", &q), expected);
    assert_eq!(sample(&body, "rtp2_marker_packets_total", &q), 90.0);
}

#[test]
fn counts_into_our_depayloader_match_what_it_got() {
    counts_from_the_elements_own_map("handoff", "rtpg722depay2");
}

/// The same through our FEC decoder (the filter base hands its packets over as the
/// depayloader base does): media packets pass it unchanged.
#[test]
fn counts_into_our_fec_decoder_match_what_it_got() {
    counts_from_the_elements_own_map("filterhandoff", "rtpulpfecdec2");
}

/// Runs G.722 packets through `netsim` loss and duplication into `factory` (one of ours
/// whose base hands its input to the tracer), one packet in seven dropped by a probe on
/// its sink pad, and checks the tracer counted on `netsim`'s pad exactly what the element
/// got: packets dropped before it read them are untracked, not counted (a tracer reading
/// the packets in its push hook would count them).
fn counts_from_the_elements_own_map(name: &str, factory: &str) {
    let port = tracer_port();
    let untracked_before = sample(&scrape(port), "rtp2_untracked_packets_total", &[]);
    let p = pipeline(
        name,
        &format!(
            "audiotestsrc num-buffers=600 samplesperbuffer=320 ! audio/x-raw,rate=16000 \
             ! avenc_g722 ! rtpg722pay2 ! netsim name=net drop-probability=0.2 \
             duplicate-probability=0.05 ! {factory} name=element ! fakesink"
        ),
    );
    // What the element got: every sequence number reaching its chain function, but every
    // seventh packet is dropped on its sink pad (a probe), so it never reads them.
    let seen = Arc::new(Mutex::new(Vec::<u16>::new()));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (s, d) = (seen.clone(), dropped.clone());
    let arrived = AtomicUsize::new(0);
    p.by_name("element")
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let Some(b) = info.buffer() else {
                return gst::PadProbeReturn::Ok;
            };
            if arrived.fetch_add(1, Ordering::Relaxed) % 7 == 6 {
                d.fetch_add(1, Ordering::Relaxed);
                // Consumed here (`Handled`): with `Drop`, gstreamer-rs releases the buffer
                // and empties the probe data, which GStreamer 1.22 then unrefs (a CRITICAL
                // per dropped buffer, harmless).
                return gst::PadProbeReturn::Handled;
            }
            s.lock().unwrap().push(common::rtp_fields(b).seq);
            gst::PadProbeReturn::Ok
        });
    common::run_to_eos(&p, Duration::from_secs(30));
    let body = scrape(port);
    p.set_state(gst::State::Null).unwrap();

    let seen = seen.lock().unwrap().clone();
    let (span, unique) = sequence_span(&seen);
    let duplicates = (seen.len() - unique) as f64;
    let dropped = dropped.load(Ordering::Relaxed) as f64;
    assert!(
        duplicates > 0.0 && span > unique && dropped > 50.0,
        "netsim or the probe did nothing"
    );
    // Counted from the element's own map: what it got, exactly.
    let net = [("pipeline", name), ("element", "net"), ("pad", "src")];
    assert_eq!(sample(&body, "rtp2_packets_total", &net), seen.len() as f64);
    assert_eq!(
        sample(&body, "rtp2_lost_packets_total", &net),
        (span - unique) as f64
    );
    assert_eq!(
        sample(&body, "rtp2_duplicate_packets_total", &net),
        duplicates
    );
    assert_eq!(
        sample(&body, "rtp2_expected_packets_total", &net),
        span as f64
    );
    // The packets it never read are untracked (the last one may wait for the thread's next
    // push into such an element; other tests may add their own).
    let untracked = sample(&body, "rtp2_untracked_packets_total", &[]) - untracked_before;
    assert!(
        untracked >= dropped - 1.0,
        "untracked {untracked} of {dropped} dropped"
    );
    // One latency observation per output of the element.
    let latency = sample(
        &body,
        "rtp2_processing_latency_seconds_count",
        &[("pipeline", name), ("element", "element")],
    );
    assert!(
        latency > 0.0 && latency <= seen.len() as f64,
        "latency count {latency}"
    );
}
