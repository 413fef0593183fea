// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! One PTP node of tests/timing_ptp.rs, run as a child process inside a network namespace
//! (`ip netns exec NS <test binary> --exact ptp_node --ignored`): GStreamer's PTP client on
//! the namespace's interface, a pipeline on the `GstPtpClock`, and lines on stdout that the
//! test reads:
//! - `SYNCED <grandmaster id> <ms>` once the clock is synchronised;
//! - `CAPS <caps>` (sender: the payloader's RTP caps once they carry `a-ts-refclk`);
//! - `RENDER <sink> <rtp timestamp> <PTP clock ns> <system real time ns> <scheduled PTP ns>`
//!   (receiver: each packet as a synchronised `fakesink` named `out` or `control` renders
//!   it: the clock times when
//!   its `handoff` runs, and the PTP time the sink waited for, running time of the buffer's
//!   timestamp + base time + latency);
//! - `ERROR <text>` and `WARNING <text>`.
//!
//! A receiver reads its RTP caps as one `CAPS <caps>` line on stdin before it starts.

use gst::prelude::*;
use gst_base::prelude::*;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Environment variables the test sets for the node.
pub const IFACE: &str = "RTP2_PTP_IFACE";
/// Launch description of the node's pipeline (`pay`: the payloader, `src`: the receiver's
/// udpsrc and `control_src` its second one, for the stream without RFC 7273 fields, `out`
/// and `control`: the receiver's synchronised fakesinks).
pub const PIPELINE: &str = "RTP2_PTP_PIPELINE";
/// How long the pipeline plays, in seconds.
pub const SECONDS: &str = "RTP2_PTP_SECONDS";

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"))
}

/// Runs the node; returns when its pipeline has played for its time or failed.
pub fn run() {
    let Ok(iface) = std::env::var(IFACE) else {
        panic!("ptp_node is a child process of ptp_receivers_render_together, not a test");
    };
    super::common::init();
    if let Err(err) = gst_net::PtpClock::init(None, &[iface.as_str()]) {
        say(&format!(
            "ERROR gst_ptp_init on {iface} failed ({err}): is gst-ptp-helper installed?"
        ));
        return;
    }
    // The PTP client's per-sync statistics (offsets, path delay) go to stderr, the test's log.
    let _stats = gst_net::PtpClock::add_statistics_callback(|domain, stats| {
        eprintln!("ptp domain {domain}: {stats}");
        gst::glib::ControlFlow::Continue
    });
    let clock = gst_net::PtpClock::new(None, 0).expect("a PTP clock for domain 0");
    let started = Instant::now();
    if clock
        .wait_for_sync(gst::ClockTime::from_seconds(30))
        .is_err()
    {
        say("ERROR GstPtpClock not synchronised after 30 s (no grandmaster heard?)");
        return;
    }
    let grandmaster: u64 = clock.property("grandmaster-clock-id");
    say(&format!(
        "SYNCED {grandmaster:016x} {}",
        started.elapsed().as_millis()
    ));

    let pipeline = gst::parse::launch(&env(PIPELINE))
        .expect("node pipeline")
        .downcast::<gst::Pipeline>()
        .unwrap();
    pipeline.use_clock(Some(&clock));
    if let Some(src) = pipeline.by_name("src") {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).unwrap();
        let caps = line
            .trim()
            .strip_prefix("CAPS ")
            .expect("CAPS line on stdin");
        let caps = caps.parse::<gst::Caps>().expect("RTP caps");
        src.set_property("caps", &caps);
        // The control stream: the same caps without RFC 7273 signalling.
        if let Some(control) = pipeline.by_name("control_src") {
            let mut plain = caps.clone();
            let s = plain.make_mut().structure_mut(0).unwrap();
            s.remove_fields(["a-ts-refclk", "a-mediaclk"]);
            control.set_property("caps", &plain);
        }
    }
    if let Some(pay) = pipeline.by_name("pay") {
        let said = std::sync::atomic::AtomicBool::new(false);
        pay.static_pad("src").unwrap().add_probe(
            gst::PadProbeType::EVENT_DOWNSTREAM,
            move |_, info| {
                if let Some(gst::PadProbeData::Event(event)) = &info.data
                    && let gst::EventView::Caps(caps) = event.view()
                    && caps.caps().structure(0).unwrap().has_field("a-ts-refclk")
                    && !said.swap(true, std::sync::atomic::Ordering::Relaxed)
                {
                    say(&format!("CAPS {}", caps.caps()));
                }
                gst::PadProbeReturn::Ok
            },
        );
    }
    for out in ["out", "control"]
        .into_iter()
        .filter_map(|n| pipeline.by_name(n))
    {
        out.connect("handoff", false, |values| {
            let sink = values[0].get::<gst::Element>().unwrap();
            let buffer = values[1].get::<gst::Buffer>().unwrap();
            let clock_now = sink.clock().map_or(0, |c| c.time().nseconds());
            let real_now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let scheduled = scheduled_render_time(&sink, &buffer).map_or(0, |t| t.nseconds());
            let map = buffer.map_readable().unwrap();
            if map.len() >= 12 {
                let rtp_ts = u32::from_be_bytes(map[4..8].try_into().unwrap());
                let name = sink.name();
                say(&format!(
                    "RENDER {name} {rtp_ts} {clock_now} {real_now} {scheduled}"
                ));
            }
            None
        });
    }

    pipeline.set_state(gst::State::Playing).unwrap();
    let seconds: u64 = env(SECONDS).parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let bus = pipeline.bus().unwrap();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_nseconds(left.as_nanos() as u64)) else {
            break;
        };
        match msg.view() {
            gst::MessageView::Error(e) => {
                say(&format!("ERROR {} ({:?})", e.error(), e.debug()));
                break;
            }
            gst::MessageView::Warning(w) => say(&format!("WARNING {}", w.error())),
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
}

/// The clock time `sink` waits for before rendering `buffer`: the running time of its
/// timestamp in the sink's segment, plus the base time and the configured latency.
fn scheduled_render_time(sink: &gst::Element, buffer: &gst::Buffer) -> Option<gst::ClockTime> {
    let segment = sink
        .static_pad("sink")?
        .sticky_event::<gst::event::Segment>(0)?
        .segment()
        .clone()
        .downcast::<gst::ClockTime>()
        .ok()?;
    let running_time = segment.to_running_time(buffer.pts()?)?;
    let latency = sink.downcast_ref::<gst_base::BaseSink>()?.latency();
    Some(running_time + sink.base_time()? + latency)
}
