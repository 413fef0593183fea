// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Depayloader: sink events (caps, segment, flush, EOS) and the `stats` structure.

use super::*;

impl RtpBaseDepay2 {
    pub(super) fn default_sink_event(&self, event: gst::Event) -> bool {
        use gst::EventView;
        match event.view() {
            EventView::Caps(c) => {
                let caps = c.caps_owned();
                let Some(s) = caps.structure(0) else {
                    return false;
                };
                let clock_rate = s
                    .get::<i32>("clock-rate")
                    .ok()
                    .and_then(|r| u32::try_from(r).ok())
                    .filter(|r| *r > 0);
                let Some(clock_rate) = clock_rate else {
                    gst::warning!(crate::CAT, imp = self, "No valid clock-rate in {caps}");
                    return false;
                };
                {
                    let mut state = lock(&self.state);
                    if state.clock_rate.is_some_and(|r| r != clock_rate) {
                        state.anchor = None;
                    }
                    state.clock_rate = Some(clock_rate);
                    state.play_range = PlayRange::from_caps(s);
                }
                let auto = lock(&self.settings).auto_header_extension;
                configure_from_caps(self.obj().upcast_ref(), &self.extensions, &caps, auto);
                (self.vfuncs().set_sink_caps)(&self.obj(), &caps)
            }
            EventView::Segment(s) => {
                let mut state = lock(&self.state);
                if let Some(segment) = s.segment().downcast_ref::<gst::ClockTime>() {
                    state.segment = segment.clone();
                }
                if self.src_pad.current_caps().is_none() {
                    // Caps must precede the segment downstream; wait for them.
                    state.pending_segment = Some(event);
                    return true;
                }
                drop(state);
                self.src_pad.push_event(event)
            }
            EventView::FlushStop(_) => {
                (self.vfuncs().flush)(&self.obj());
                {
                    let mut state = lock(&self.state);
                    state.pending.clear();
                    state.resync();
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

    pub(super) fn stats(&self) -> gst::Structure {
        let state = lock(&self.state);
        let s = &state.stats;
        let input = &state.rtp_in;
        let builder = gst::Structure::builder("application/x-rtp-depayload-stats")
            .field("clock-rate", state.clock_rate.unwrap_or(0))
            .field("ssrc", input.ssrc().unwrap_or(0))
            .field("seqnum", u32::from(input.last_seqnum()))
            .field("timestamp", input.last_timestamp());
        let builder = input
            .stats
            .add_fields(builder)
            .field("packets-without-payload", s.packets_without_payload)
            .field("dropped-payload", s.dropped_payload)
            .field("buffers-pushed", s.buffers_pushed)
            .field("keyframe-requests", s.keyframe_requests);
        crate::base::depay::latency::add_fields(builder, s.capture_latency.as_deref())
            // The fields of the C base class's stats, under its names, for applications
            // that read them.
            .field("clock_rate", state.clock_rate.unwrap_or(0))
            .field("npt-start", state.play_range.npt_start)
            .field("npt-stop", state.play_range.npt_stop)
            .field("play-speed", state.play_range.play_speed)
            .field("play-scale", state.play_range.play_scale)
            .field(
                "running-time-pts",
                state
                    .segment
                    .to_running_time(state.input_times.0)
                    .map_or(u64::MAX, |t| t.nseconds()),
            )
            .field(
                "running-time-dts",
                state
                    .segment
                    .to_running_time(state.input_times.1)
                    .map_or(u64::MAX, |t| t.nseconds()),
            )
            .build()
    }
}
