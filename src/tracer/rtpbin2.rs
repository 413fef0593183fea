// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! rtpbin2's statistics (gst-plugin-rtp's `rtpsend` and `rtprecv`), read at scrape time into
//! the families rtpsession and rtpjitterbuffer feed: the fraction lost that receivers
//! report about our senders (RFC 3550 §6.4.1) and each receive jitter buffer's counters.
//!
//! What rtpbin2's `stats` (gst-plugin-rtp 0.15) do not carry is not exported for it: the
//! RTCP round trip (a report block's arrival time is not in the stats, and RFC 3550
//! §6.4.1's A − LSR − DLSR needs it) and PLI/FIR/NACK counts (not counted in the stats).
//!
//! Layout read: a structure with one field per session (named by its id), each a structure
//! with one field per SSRC (a source structure: `ssrc`, `sender`, `local` and, for a local
//! sender, `report-blocks`: one `application/x-rtcp-report-block` structure or a list of
//! them, with `rb-fraction-lost`), and, from `rtprecv`, `jitterbuffer-stats`: a list of
//! structures with `ssrc`, `pt`, `num-pushed`, `num-lost`, `num-late`, `num-duplicates`.

use std::collections::BTreeMap;

use prometheus_client::metrics::MetricType;

use super::elements::{Collected, FRACTION_LOST_HELP, JITTERBUFFER, add, number};

/// Adds the rows of one `rtpsend`/`rtprecv` element's `stats` to `out`.
pub(super) fn collect(
    out: &mut BTreeMap<&'static str, Collected>,
    stats: &gst::StructureRef,
    base: &[(&'static str, String)],
) {
    for (_, session) in stats.iter() {
        let Ok(session) = session.get::<gst::Structure>() else {
            continue;
        };
        for (field, value) in session.iter() {
            if field == "jitterbuffer-stats" {
                if let Ok(list) = value.get::<gst::List>() {
                    jitterbuffers(out, &list, base);
                }
            } else if let Ok(source) = value.get::<gst::Structure>() {
                local_sender(out, &source, base);
            }
        }
    }
}

/// A local sender's report blocks: the fraction lost its receivers reported (the largest
/// when several receivers report, so one series per source).
fn local_sender(
    out: &mut BTreeMap<&'static str, Collected>,
    source: &gst::StructureRef,
    base: &[(&'static str, String)],
) {
    let is = |f| source.get::<bool>(f).unwrap_or(false);
    if !is("local") || !is("sender") {
        return;
    }
    let Some(ssrc) = number(source, "ssrc") else {
        return;
    };
    let blocks: Vec<gst::Structure> = match source.value("report-blocks") {
        Ok(v) => match v.get::<gst::Structure>() {
            Ok(one) => vec![one],
            Err(_) => v
                .get::<gst::List>()
                .map(|l| l.iter().filter_map(|b| b.get().ok()).collect())
                .unwrap_or_default(),
        },
        Err(_) => return,
    };
    let worst = blocks
        .iter()
        .filter_map(|b| number(b, "rb-fraction-lost"))
        .reduce(f64::max);
    if let Some(f) = worst {
        let mut labels = base.to_vec();
        labels.push(("ssrc", format!("{}", ssrc as u32)));
        add(
            out,
            "rtcp_fraction_lost_ratio",
            FRACTION_LOST_HELP,
            MetricType::Gauge,
            None,
            labels,
            f / 256.0,
        );
    }
}

/// `rtprecv`'s jitter buffers, one per received (SSRC, PT).
fn jitterbuffers(
    out: &mut BTreeMap<&'static str, Collected>,
    list: &gst::List,
    base: &[(&'static str, String)],
) {
    for jb in list.iter() {
        let Ok(jb) = jb.get::<gst::Structure>() else {
            continue;
        };
        let mut labels = base.to_vec();
        for key in ["ssrc", "pt"] {
            // rtprecv stores both as signed integers; the SSRC is 32 bits.
            let v = number(&jb, key).unwrap_or(0.0) as i64 as u32;
            labels.push((key, v.to_string()));
        }
        for &(field, name, help) in JITTERBUFFER {
            if let Some(v) = number(&jb, field) {
                add(
                    out,
                    name,
                    help,
                    MetricType::Counter,
                    None,
                    labels.clone(),
                    v,
                );
            }
        }
    }
}
