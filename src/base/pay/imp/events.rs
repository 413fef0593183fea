// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Payloader: the streaming entry points (chain, drain, sink events and queries), bad
//! input and the `stats` structure.

use super::*;

impl RtpBasePay2 {
    /// Counts bad input; GST_WARNING every time, an element warning at most once a second,
    /// posted after the state lock is released.
    pub(in crate::base::pay) fn drop_invalid_input(&self, reason: &dyn std::fmt::Display) {
        gst::warning!(crate::CAT, imp = self, "Dropping invalid input: {reason}");
        let post = {
            let mut state = lock(&self.state);
            state.dropped_invalid += 1;
            let now = std::time::Instant::now();
            let due = state
                .last_invalid_warning
                .is_none_or(|t| now.duration_since(t) >= std::time::Duration::from_secs(1));
            if due {
                state.last_invalid_warning = Some(now);
            }
            due
        };
        if post {
            gst::element_imp_warning!(
                self,
                gst::StreamError::Format,
                ["Dropping invalid input: {reason}"]
            );
        }
    }

    /// `buffer` with the orientation meta when a tag gave one and a CVO extension is set.
    fn with_orientation(&self, buffer: gst::Buffer) -> gst::Buffer {
        if !self.has_orientation.load(Ordering::Relaxed) {
            return buffer;
        }
        let Some(o) = lock(&self.orientation).clone() else {
            return buffer;
        };
        let extensions = lock(&self.extensions).clone();
        if orientation::has_cvo(extensions.iter()) {
            orientation::with_orientation_meta(buffer, &o)
        } else {
            buffer
        }
    }

    pub(super) fn sink_chain(&self, buffer: gst::Buffer) -> FlowResult {
        let buffer = self.with_orientation(buffer);
        if !self.begin_input(Some(&buffer)) {
            gst::element_imp_error!(
                self,
                gst::CoreError::Negotiation,
                ["No input caps before the first buffer"]
            );
            return Err(gst::FlowError::NotNegotiated);
        };
        let res = (self.vfuncs().handle_buffer)(&self.obj(), &buffer);
        // Our reference goes before the packets are built: a payload that was the whole input
        // is then writable and gives its memories to the packet (no second parent, which
        // GStreamer would allocate for).
        drop(buffer);
        let pushed = self.push_pending();
        res.and(pushed)
    }

    pub(super) fn drain_and_push(&self) -> FlowResult {
        // Nothing to drain before caps.
        let _ = self.begin_input(None);
        let res = (self.vfuncs().drain)(&self.obj());
        let pushed = self.push_pending();
        res.and(pushed)
    }

    /// Default sink event handling (the base class's `sink_event`).
    pub(super) fn default_sink_event(&self, event: gst::Event) -> bool {
        use gst::EventView;
        match event.view() {
            EventView::Caps(c) => {
                let caps = c.caps_owned();
                if self.drain_and_push().is_err() {
                    gst::debug!(crate::CAT, imp = self, "Drain before new caps failed");
                }
                // Every extension sees the input caps, as with the C base class (extensions
                // added later get them when added).
                lock(&self.state).sink_caps = Some(caps.clone());
                let extensions = lock(&self.extensions).clone();
                extensions.set_non_rtp_sink_caps(self.obj().upcast_ref(), &caps);
                crate::base::extensions::refresh(&self.extensions);
                let ok = (self.vfuncs().set_sink_caps)(&self.obj(), &caps);
                if !ok {
                    gst::warning!(crate::CAT, imp = self, "Cannot handle input caps {caps}");
                }
                ok
            }
            EventView::Segment(s) => {
                lock(&self.state).segment = time_segment_of(s.segment());
                self.src_pad.push_event(event)
            }
            EventView::FlushStop(_) => {
                (self.vfuncs().flush)(&self.obj());
                {
                    let mut state = lock(&self.state);
                    state.pending.clear();
                    state.pending_inputs.clear();
                    state.kept_inputs.clear();
                    state.segment = gst::FormattedSegment::new();
                    state.continuous_anchor = None;
                }
                self.src_pad.push_event(event)
            }
            EventView::Eos(_) => {
                if let Err(err) = self.drain_and_push() {
                    gst::debug!(crate::CAT, imp = self, "Drain at EOS: {err:?}");
                }
                self.src_pad.push_event(event)
            }
            _ => gst::Pad::event_default(&self.sink_pad, Some(&*self.obj()), event),
        }
    }

    pub(super) fn default_sink_query(&self, query: &mut gst::QueryRef) -> bool {
        gst::Pad::query_default(&self.sink_pad, Some(&*self.obj()), query)
    }

    pub(super) fn stats(&self) -> gst::Structure {
        let pool = self.pool.stats();
        let state = lock(&self.state);
        gst::Structure::builder("application/x-rtp-payload-stats")
            .field("clock-rate", state.clock_rate.unwrap_or(0))
            .field(
                "running-time",
                state.last_running_time.map_or(u64::MAX, |t| t.nseconds()),
            )
            .field("seqnum", u32::from(state.last_seqnum))
            .field("timestamp", state.last_timestamp)
            .field("ssrc", state.ssrc)
            .field("pt", u32::from(state.pt))
            .field("seqnum-offset", u32::from(state.seqnum_offset))
            .field("timestamp-offset", state.timestamp_offset)
            .field("packets-sent", state.packets_sent)
            .field("bytes-sent", state.bytes_sent)
            .field("dropped-invalid", state.dropped_invalid)
            .field(
                "keyframe-requests",
                self.keyframe_requests.load(Ordering::Relaxed),
            )
            .field("pool-hits", pool.hits)
            .field("pool-misses", pool.misses)
            .field("pool-allocations-avoided", pool.hits)
            .field("pool-returned", pool.returned)
            .field("pool-discarded", pool.discarded)
            .build()
    }
}

/// The TIME segment that maps input timestamps to running time. Other formats (BYTES from
/// `filesrc`, as with the C payloaders, which accept any segment) have no time mapping:
/// buffer timestamps, when there are any, are taken as running times (an open TIME segment
/// from 0).
pub(super) fn time_segment_of(segment: &gst::Segment) -> gst::FormattedSegment<gst::ClockTime> {
    match segment.downcast_ref::<gst::ClockTime>() {
        Some(segment) => segment.clone(),
        None => {
            gst::debug!(
                crate::CAT,
                "{:?} segment: timestamps taken as running times",
                segment.format()
            );
            gst::FormattedSegment::new()
        }
    }
}
