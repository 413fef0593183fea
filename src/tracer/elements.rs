// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Element statistics read at scrape time, from the HTTP thread: our elements' `stats`,
//! `rtpjitterbuffer`'s `stats`, `rtpsession`'s per-source statistics and rtpbin2's
//! ([`super::rtpbin2`]). The tracer keeps
//! weak references only, so an element that goes away simply stops appearing; reading a
//! property takes the element's lock, which is fine here and never done on a streaming
//! thread.

use std::collections::BTreeMap;
use std::sync::Mutex;

use gst::prelude::*;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

/// Which statistics an element offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// One of this plugin's payloaders or depayloaders (`stats` structure).
    Ours,
    /// `rtpjitterbuffer` (`stats` structure, gst-plugins-good).
    JitterBuffer,
    /// `rtpsession` (`stats` structure with `source-stats`, gst-plugins-good).
    Session,
    /// rtpbin2's `rtpsend` and `rtprecv` (`stats` structure per session, gst-plugin-rtp).
    Rtpbin2,
}

/// Elements watched for scrape-time statistics.
#[derive(Debug, Default)]
pub(crate) struct WatchedElements {
    elements: Mutex<Vec<(glib::WeakRef<gst::Element>, Source)>>,
}

/// One metric being collected: its description and rows of labels and value.
pub(super) struct Collected {
    help: &'static str,
    unit: Option<Unit>,
    kind: MetricType,
    rows: Vec<(Vec<(&'static str, String)>, f64)>,
}

/// Maps our `stats` fields to metrics: field, metric name, help.
const OURS: &[(&str, &str, &str)] = &[
    (
        "packets-lost",
        "element_lost_packets",
        "Packets the depayloader found missing from sequence gaps (RFC 3550 A.3)",
    ),
    (
        "keyframe-requests",
        "element_keyframe_requests",
        "Keyframe requests (force-key-unit, RFC 4585 PLI / RFC 5104 FIR upstream) the element sent",
    ),
    (
        "resyncs",
        "element_resyncs",
        "Times the depayloader resynchronized after a sequence restart",
    ),
    (
        "fec-recovered",
        "element_fec_recovered_packets",
        "Packets recovered by FEC",
    ),
    (
        "fec-unrecovered",
        "element_fec_unrecovered_packets",
        "Packets FEC could not recover",
    ),
];

/// Maps `rtpjitterbuffer`'s `stats` counters: field, metric name, help.
pub(super) const JITTERBUFFER: &[(&str, &str, &str)] = &[
    (
        "num-pushed",
        "jitterbuffer_pushed_packets",
        "Packets rtpjitterbuffer pushed downstream",
    ),
    (
        "num-lost",
        "jitterbuffer_lost_packets",
        "Packets rtpjitterbuffer declared lost",
    ),
    (
        "num-late",
        "jitterbuffer_late_packets",
        "Packets that arrived after rtpjitterbuffer gave up on them",
    ),
    (
        "num-duplicates",
        "jitterbuffer_duplicate_packets",
        "Duplicate packets rtpjitterbuffer dropped",
    ),
    (
        "rtx-count",
        "jitterbuffer_rtx_requests",
        "Retransmission requests rtpjitterbuffer sent (RFC 4588)",
    ),
    (
        "rtx-success-count",
        "jitterbuffer_rtx_successes",
        "Retransmissions that arrived in time (RFC 4588)",
    ),
];

impl WatchedElements {
    /// Watches `element` if it offers statistics the tracer exports.
    pub(crate) fn consider(&self, element: &gst::Element) {
        let Some(factory) = element.factory() else {
            return;
        };
        let source = if factory.plugin_name().is_some_and(|n| n == "rtp2") {
            Source::Ours
        } else if factory.name() == "rtpjitterbuffer" {
            Source::JitterBuffer
        } else if factory.name() == "rtpsession" {
            Source::Session
        } else if ["rtpsend", "rtprecv"].contains(&factory.name().as_str()) {
            Source::Rtpbin2
        } else {
            return;
        };
        let mut elements = self.elements.lock().unwrap_or_else(|e| e.into_inner());
        // Forget dead elements now and then so the list stays bounded by the live ones.
        if elements.len() >= 64 && elements.len().is_power_of_two() {
            elements.retain(|(w, _)| w.upgrade().is_some());
        }
        elements.push((element.downgrade(), source));
    }

    fn live(&self) -> Vec<(gst::Element, Source)> {
        let mut elements = self.elements.lock().unwrap_or_else(|e| e.into_inner());
        elements.retain(|(w, _)| w.upgrade().is_some());
        elements
            .iter()
            .filter_map(|(w, s)| w.upgrade().map(|e| (e, *s)))
            .collect()
    }
}

/// Adds one row (`labels`, `value`) to metric `name` in `out`.
pub(super) fn add(
    out: &mut BTreeMap<&'static str, Collected>,
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    unit: Option<Unit>,
    labels: Vec<(&'static str, String)>,
    value: f64,
) {
    out.entry(name)
        .or_insert_with(|| Collected {
            help,
            unit,
            kind,
            rows: Vec::new(),
        })
        .rows
        .push((labels, value));
}

/// A numeric field of `s` as f64, whatever its integer type.
pub(super) fn number(s: &gst::StructureRef, field: &str) -> Option<f64> {
    let v = s.value(field).ok()?;
    v.get::<u64>()
        .map(|x| x as f64)
        .or_else(|_| v.get::<u32>().map(f64::from))
        .or_else(|_| v.get::<i64>().map(|x| x as f64))
        .or_else(|_| v.get::<i32>().map(f64::from))
        .or_else(|_| v.get::<u8>().map(f64::from))
        .or_else(|_| v.get::<f64>())
        .ok()
}

fn collect_element(
    out: &mut BTreeMap<&'static str, Collected>,
    element: &gst::Element,
    source: Source,
) {
    if element.find_property("stats").is_none() {
        return;
    }
    let Ok(stats) = element.property_value("stats").get::<gst::Structure>() else {
        return;
    };
    let mut top = element.clone().upcast::<gst::Object>();
    while let Some(p) = top.parent() {
        top = p;
    }
    let base = vec![
        ("pipeline", top.name().to_string()),
        ("element", element.name().to_string()),
    ];
    match source {
        Source::Ours => {
            for &(field, name, help) in OURS {
                if let Some(v) = number(&stats, field) {
                    add(out, name, help, MetricType::Counter, None, base.clone(), v);
                }
            }
            for (field, _) in stats.iter() {
                if let Some(reason) = field.strip_prefix("dropped-")
                    && let Some(v) = number(&stats, field)
                {
                    let mut labels = base.clone();
                    labels.push(("reason", reason.to_string()));
                    add(
                        out,
                        "element_dropped_packets",
                        "Packets or buffers the element dropped, by reason (its `stats` property)",
                        MetricType::Counter,
                        None,
                        labels,
                        v,
                    );
                }
            }
        }
        Source::JitterBuffer => {
            for &(field, name, help) in JITTERBUFFER {
                if let Some(v) = number(&stats, field) {
                    add(out, name, help, MetricType::Counter, None, base.clone(), v);
                }
            }
            if let Some(v) = number(&stats, "avg-jitter") {
                add(
                    out,
                    "jitterbuffer_jitter",
                    "rtpjitterbuffer's average jitter (RFC 3550 A.8 style estimate)",
                    MetricType::Gauge,
                    Some(Unit::Seconds),
                    base.clone(),
                    v / 1e9,
                );
            }
        }
        Source::Session => collect_session(out, &stats, &base),
        Source::Rtpbin2 => super::rtpbin2::collect(out, &stats, &base),
    }
}

/// Help of `rtcp_fraction_lost_ratio` (rtpsession and rtpbin2).
pub(super) const FRACTION_LOST_HELP: &str = "Fraction lost from the last RTCP receiver report (RFC 3550 section 6.4.1, 8-bit fixed point / 256)";

/// `rtpsession`'s session counters and `source-stats`: RTCP round trip, fraction lost and
/// feedback counts per source.
fn collect_session(
    out: &mut BTreeMap<&'static str, Collected>,
    stats: &gst::StructureRef,
    base: &[(&'static str, String)],
) {
    for (field, direction) in [("sent-nack-count", "sent"), ("recv-nack-count", "received")] {
        if let Some(v) = number(stats, field) {
            let mut l = base.to_vec();
            l.push(("direction", direction.to_string()));
            add(
                out,
                "session_nack_messages",
                "Generic NACK messages (RFC 4585 6.2.1) of the whole RTP session",
                MetricType::Counter,
                None,
                l,
                v,
            );
        }
    }
    if let Some(v) = number(stats, "rtx-count") {
        add(
            out,
            "session_rtx_packets",
            "Retransmission packets (RFC 4588) the session sent",
            MetricType::Counter,
            None,
            base.to_vec(),
            v,
        );
    }
    let Ok(sources) = stats.get::<glib::ValueArray>("source-stats") else {
        return;
    };
    for value in sources.iter() {
        let Ok(s) = value.get::<gst::Structure>() else {
            continue;
        };
        let Some(ssrc) = number(&s, "ssrc") else {
            continue;
        };
        let mut labels = base.to_vec();
        labels.push(("ssrc", format!("{}", ssrc as u32)));
        if s.get::<bool>("have-rb").unwrap_or(false) {
            if let Some(rtt) = number(&s, "rb-round-trip") {
                // RFC 3550 6.4.1: the round trip in units of 1/65536 s.
                add(
                    out,
                    "rtcp_round_trip",
                    "Round-trip time from the last RTCP receiver report (RFC 3550 section 6.4.1)",
                    MetricType::Gauge,
                    Some(Unit::Seconds),
                    labels.clone(),
                    rtt / 65536.0,
                );
            }
            if let Some(f) = number(&s, "rb-fractionlost") {
                add(
                    out,
                    "rtcp_fraction_lost_ratio",
                    FRACTION_LOST_HELP,
                    MetricType::Gauge,
                    None,
                    labels.clone(),
                    f / 256.0,
                );
            }
        }
        for (field, kind, direction) in [
            ("recv-pli-count", "pli", "received"),
            ("recv-fir-count", "fir", "received"),
            ("recv-nack-count", "nack", "received"),
            ("sent-pli-count", "pli", "sent"),
            ("sent-fir-count", "fir", "sent"),
            ("sent-nack-count", "nack", "sent"),
        ] {
            if let Some(v) = number(&s, field) {
                let mut l = labels.clone();
                l.push(("type", kind.to_string()));
                l.push(("direction", direction.to_string()));
                add(
                    out,
                    "rtcp_feedback_messages",
                    "RTCP feedback messages: PLI (RFC 4585 6.3.1), FIR (RFC 5104 4.3.1), generic NACK (RFC 4585 6.2.1)",
                    MetricType::Counter,
                    None,
                    l,
                    v,
                );
            }
        }
    }
}

impl Collector for WatchedElements {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut out = BTreeMap::new();
        for (element, source) in self.live() {
            collect_element(&mut out, &element, source);
        }
        for (name, c) in &out {
            let mut metric = encoder.encode_descriptor(name, c.help, c.unit.as_ref(), c.kind)?;
            for (labels, value) in &c.rows {
                let e = metric.encode_family(labels)?;
                if c.kind == MetricType::Counter {
                    ConstCounter::new(*value as u64).encode(e)?;
                } else {
                    ConstGauge::new(*value).encode(e)?;
                }
            }
        }
        Ok(())
    }
}
