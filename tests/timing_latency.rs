// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! End-to-end latency measured per frame (docs/timing.md): a G.722 sender stamps the capture
//! time of every frame (a `GstReferenceTimestampMeta` `timestamp/x-ntp`, written by
//! `rtphdrextabscapturetime` or the C `rtphdrextntp64`), a network pipeline delays the UDP
//! packets with `netsim` (50 ms ± 10 ms, uniform) and sends each to two receivers on
//! 127.0.0.1, whose `rtpg722depay2` report capture → output latency in `stats`:
//! - without a jitterbuffer, the depayloader sees every packet's own delay: the median is the
//!   injected delay plus the sender's configured latency (the time its `udpsink` holds a frame
//!   after capture);
//! - behind `rtpjitterbuffer`, which replaces the per-packet delay by a constant playout
//!   delay (its latency after the delay of the packets it anchors its clock on), the latency
//!   is that of a packet that came 40 to 60 ms after capture plus the jitterbuffer's latency.
//!
//! Capture → render at each receiver's sink (`sync=true`) adds the receiver's configured
//! latency to the delay of the packet its clock is anchored on. The `rtp-metrics` tracer's
//! `rtp2_capture_latency_seconds` histogram of each depayloader counts the same frames and
//! has the same median.

mod common;
mod telemetry_support;
mod timing_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;
use gst_rtp::prelude::*;
use telemetry_support::{scrape, tracer_port};
use timing_support::*;

const MIN_DELAY_MS: i64 = 40;
const MAX_DELAY_MS: i64 = 60;
const MS: i64 = 1_000_000;
/// The second receiver's jitterbuffer latency.
const JITTERBUFFER_MS: i64 = 100;
const ABS_CAPTURE_TIME_URI: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";
const NTP64_URI: &str = "urn:ietf:params:rtp-hdrext:ntp-64";

/// A receiver of one link: its pipeline and the capture → render latencies at its sink.
struct Receiver {
    pipeline: gst::Pipeline,
    rendered: Arc<Mutex<Vec<i64>>>,
}

/// One sender → network → two receivers, the capture time in `factory`'s extension.
struct Link {
    name: &'static str,
    sender: gst::Pipeline,
    /// UDP in, `netsim`, UDP out to both receivers (the same delay for each packet).
    network: gst::Pipeline,
    direct: Receiver,
    jitterbuffered: Receiver,
}

fn receiver(name: &str, port: u16, uri: &str, jitterbuffer: &str) -> Receiver {
    let pipeline = pipeline(&format!(
        "udpsrc address=127.0.0.1 port={port} \
           caps=\"application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9,\
                  extmap-1=(string){uri}\" \
         {jitterbuffer} ! rtpg722depay2 name=depay ! avdec_g722 \
         ! fakesink name=sink sync=true signal-handoffs=true"
    ));
    pipeline.set_property("name", name);
    let rendered = Arc::new(Mutex::new(Vec::new()));
    let r = rendered.clone();
    pipeline
        .by_name("sink")
        .unwrap()
        .connect("handoff", false, move |args| {
            let buffer = args[1].get::<gst::Buffer>().unwrap();
            if let Some(capture) = capture_time_ns(&buffer) {
                r.lock().unwrap().push(now_ntp_ns() as i64 - capture as i64);
            }
            None
        });
    Receiver { pipeline, rendered }
}

fn link(name: &'static str, factory: &'static str, uri: &str) -> Link {
    let [network_port, direct_port, jb_port] = [(); 3].map(|_| common::free_udp_port());
    let network = pipeline(&format!(
        "udpsrc address=127.0.0.1 port={network_port} \
         ! netsim delay-probability=1.0 delay-distribution=uniform \
             min-delay={MIN_DELAY_MS} max-delay={MAX_DELAY_MS} \
         ! multiudpsink clients=127.0.0.1:{direct_port},127.0.0.1:{jb_port} \
             sync=false async=false"
    ));
    let sender = pipeline(&format!(
        "audiotestsrc is-live=true samplesperbuffer=320 ! audio/x-raw,rate=16000,channels=1 \
         ! avenc_g722 ! rtpg722pay2 name=pay ! udpsink host=127.0.0.1 port={network_port}"
    ));
    let ext = gst::ElementFactory::make(factory)
        .build()
        .unwrap_or_else(|_| panic!("{factory} is missing (gst-plugins-good 1.22 or ours)"))
        .downcast::<gst_rtp::RTPHeaderExtension>()
        .unwrap();
    ext.set_id(1);
    let pay = sender.by_name("pay").unwrap();
    pay.emit_by_name::<()>("add-extension", &[&ext]);
    stamp_capture_time(&pay.static_pad("sink").unwrap());
    Link {
        name,
        sender,
        network,
        direct: receiver(&format!("{factory}-direct"), direct_port, uri, ""),
        jitterbuffered: receiver(
            &format!("{factory}-jitterbuffer"),
            jb_port,
            uri,
            &format!("! rtpjitterbuffer latency={JITTERBUFFER_MS}"),
        ),
    }
}

/// The depayloader's latency statistics: (frames, median, p95, min, max) in ns.
fn depay_latency(receiver: &Receiver) -> (u64, i64, i64, i64, i64) {
    let stats = receiver
        .pipeline
        .by_name("depay")
        .unwrap()
        .property::<gst::Structure>("stats");
    let field = |f: &str| stats.get::<i64>(f).unwrap();
    (
        stats.get::<u64>("capture-latency-count").unwrap(),
        field("capture-latency-median"),
        field("capture-latency-p95"),
        field("capture-latency-min"),
        field("capture-latency-max"),
    )
}

/// The cumulative buckets (upper bound in ns, count) of the tracer's capture-latency
/// histogram of the element `depay` in `pipeline`, read from the Prometheus text `body`.
fn tracer_buckets(body: &str, pipeline: &str) -> Vec<(f64, u64)> {
    let series = format!("pipeline=\"{pipeline}\"");
    body.lines()
        .filter(|l| l.starts_with("rtp2_capture_latency_seconds_bucket{"))
        .filter(|l| l.contains(&series) && l.contains("element=\"depay\""))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse::<f64>().ok()? * 1e9
            };
            let count = l.rsplit_once(' ')?.1.parse::<u64>().ok()?;
            Some((bound, count))
        })
        .collect()
}

/// The tracer counted `count` frames and its bucket holding the median holds `median` (ns).
fn check_tracer(failures: &mut Vec<String>, body: &str, pipeline: &str, count: u64, median: i64) {
    let buckets = tracer_buckets(body, pipeline);
    let total = buckets.last().map_or(0, |b| b.1);
    let half = total.div_ceil(2);
    let upper = buckets.iter().position(|&(_, n)| n >= half);
    let ok = total == count
        && upper.is_some_and(|i| {
            let lower = if i == 0 { 0.0 } else { buckets[i - 1].0 };
            (lower..=buckets[i].0).contains(&(median as f64))
        });
    if !ok {
        failures.push(format!(
            "{pipeline}: tracer histogram {buckets:?} ({total} frames) against stats: {count} \
             frames, median {:.1} ms",
            ms(median)
        ));
    }
}

/// Checks `value` is in `range` (ns), or says why not in `failures`.
fn check(failures: &mut Vec<String>, what: String, value: Option<i64>, low: i64, high: i64) {
    match value {
        Some(v) if (low..=high).contains(&v) => {}
        v => failures.push(format!(
            "{what}: {:?} ms, expected {:.1} to {:.1} ms",
            v.map(ms),
            ms(low),
            ms(high)
        )),
    }
}

#[test]
fn capture_to_depayloader_latency_is_network_delay_plus_configured_latency() {
    let port = tracer_port();
    let links = [
        link(
            "abs-capture-time (rtphdrextabscapturetime)",
            "rtphdrextabscapturetime",
            ABS_CAPTURE_TIME_URI,
        ),
        link("NTP-64 (C rtphdrextntp64)", "rtphdrextntp64", NTP64_URI),
    ];
    let pipelines: Vec<&gst::Pipeline> = links
        .iter()
        .flat_map(|l| {
            [
                &l.direct.pipeline,
                &l.jitterbuffered.pipeline,
                &l.network,
                &l.sender,
            ]
        })
        .collect();
    play_for(&pipelines, Duration::from_secs(6));
    let sender_latencies: Vec<i64> = links
        .iter()
        .map(|l| configured_latency(&l.sender).as_nanos() as i64)
        .collect();
    // The senders stop and the last packets arrive: stats and tracer see the same frames.
    for l in &links {
        l.sender.set_state(gst::State::Null).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let body = scrape(port);
    let mut failures = Vec::new();
    let median_delay = (MIN_DELAY_MS + MAX_DELAY_MS) / 2 * MS;
    for (l, &sender_latency) in links.iter().zip(&sender_latencies) {
        for (receiver, hold, what) in [
            (&l.direct, None, "no jitterbuffer"),
            (
                &l.jitterbuffered,
                Some(JITTERBUFFER_MS * MS),
                "rtpjitterbuffer",
            ),
        ] {
            let receiver_latency = configured_latency(&receiver.pipeline).as_nanos() as i64;
            let (count, median, p95, min, max) = depay_latency(receiver);
            check_tracer(
                &mut failures,
                &body,
                &receiver.pipeline.name(),
                count,
                median,
            );
            let rendered = receiver.rendered.lock().unwrap().clone();
            let render_median = quantile(&rendered, 0.5);
            eprintln!(
                "{} ({what}): {count} frames; capture → depayloader median {:.1} ms, p95 {:.1} \
                 ms, min {:.1} ms, max {:.1} ms; capture → render ({} frames) median {:.1} ms, \
                 p95 {:.1} ms; netsim median {:.1} ms, sender latency {:.1} ms, receiver \
                 latency {:.1} ms",
                l.name,
                ms(median),
                ms(p95),
                ms(min),
                ms(max),
                rendered.len(),
                ms(render_median.unwrap_or(0)),
                ms(quantile(&rendered, 0.95).unwrap_or(0)),
                ms(median_delay),
                ms(sender_latency),
                ms(receiver_latency),
            );
            if count < 200 {
                failures.push(format!("{} ({what}): only {count} frames", l.name));
            }
            let name = format!("{} ({what})", l.name);
            match hold {
                // Every frame's own delay: the median is the injected delay's.
                None => {
                    let expected = median_delay + sender_latency;
                    check(
                        &mut failures,
                        format!("{name}: capture → depayloader median"),
                        Some(median),
                        expected - 5 * MS,
                        expected + 5 * MS,
                    );
                }
                // A constant playout delay: one packet's delay plus the jitterbuffer's.
                Some(hold) => check(
                    &mut failures,
                    format!("{name}: capture → depayloader median"),
                    Some(median),
                    MIN_DELAY_MS * MS + sender_latency + hold - 5 * MS,
                    MAX_DELAY_MS * MS + sender_latency + hold + 5 * MS,
                ),
            }
            // The sink renders at the running time (anchored on one packet's arrival) plus
            // the receiver's latency.
            check(
                &mut failures,
                format!("{name}: capture → render median"),
                render_median,
                MIN_DELAY_MS * MS + sender_latency + receiver_latency - 5 * MS,
                MAX_DELAY_MS * MS + sender_latency + receiver_latency + 5 * MS,
            );
        }
    }
    stop(&pipelines);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// NTP 32.32 fixed point (RFC 5905 §6) of `ns` nanoseconds since 1900.
fn ntp64(ns: u64) -> u64 {
    let secs = ns / 1_000_000_000;
    let frac = ((ns % 1_000_000_000) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// Without a network: packets whose abs-capture-time elements (built by hand, RFC 8285
/// one-byte form) say 10, 20, … 100 ms ago, one 5 s ahead (the clocks disagree) and one
/// without the element: the depayloader's `stats` count the eleven stamped outputs, the
/// future one as negative, and the order statistics follow.
#[test]
fn depayloader_stats_count_every_output_with_a_capture_time() {
    common::init();
    let mut h = gst_check::Harness::new("rtpg722depay2");
    h.set_src_caps_str(&format!(
        "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9,\
         extmap-1=(string){ABS_CAPTURE_TIME_URI}"
    ));
    let now = now_ntp_ns();
    let mut captures: Vec<u64> = (1..=10).map(|k| now - k * 10 * MS as u64).collect();
    captures.push(now + 5_000 * MS as u64);
    for (i, capture) in captures.iter().enumerate() {
        let seq = i as u16;
        let element = ntp64(*capture).to_be_bytes();
        h.push(common::hdrext::packet_with_element(
            9,
            seq,
            160 * u32::from(seq),
            false,
            1,
            &element,
            &[0x55; 160],
        ))
        .unwrap();
    }
    let plain = common::rtp_packet(9, 11, 160 * 11, 0x1122_3344, false, &[0x55; 160]);
    h.push(gst::Buffer::from_mut_slice(plain)).unwrap();
    let mut outputs = 0;
    while h.try_pull().is_some() {
        outputs += 1;
    }
    let elapsed = (now_ntp_ns() - now) as i64;
    assert_eq!(outputs, 12);
    let stats = h.element().unwrap().property::<gst::Structure>("stats");
    let field = |f: &str| stats.get::<i64>(f).unwrap();
    assert_eq!(
        stats.get::<u64>("capture-latency-count").unwrap(),
        11,
        "{stats}"
    );
    assert_eq!(
        stats.get::<u64>("capture-latency-negative").unwrap(),
        1,
        "{stats}"
    );
    let within = |f: &str, ideal: i64| {
        let v = field(f);
        assert!(
            (ideal..=ideal + elapsed + MS).contains(&v),
            "{f} {:.1} ms, expected {:.1} ms (+{:.1} ms elapsed): {stats}",
            ms(v),
            ms(ideal),
            ms(elapsed)
        );
    };
    within("capture-latency-min", -5_000 * MS);
    within("capture-latency-last", -5_000 * MS);
    within("capture-latency-max", 100 * MS);
    // Sorted: −5 s, 10, 20, … 100 ms: the sixth of eleven is 50 ms, read from its 1 ms
    // bucket.
    within("capture-latency-median", 50 * MS);
}
