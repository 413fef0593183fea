// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Payloader: the start of each input (id, kept inputs, header-extension overhead) and the
//! negotiation of the output caps.

use super::header::{csrcs_from_meta, has_copyable_meta};
use super::*;

impl RtpBasePay2 {
    /// Copies the settings and the header-extension overhead for the packets of `input`
    /// (`None`: a drain, which keeps the last input's id and overheads), numbers the input and
    /// keeps it while packets may need its metas. False when no output caps have been
    /// negotiated yet.
    pub(super) fn begin_input(&self, input: Option<&gst::Buffer>) -> bool {
        // The extensions are asked for their size on a snapshot, without lock.
        let snapshot = |e: &HeaderExtensions| (!e.is_empty()).then(|| e.clone());
        let (mut extensions, changed) = {
            let mut extensions = lock(&self.extensions);
            let changed = input.is_some() && extensions.take_changed();
            (snapshot(&extensions), changed)
        };
        let reconfigure = input.is_some()
            && self.reconfigure.load(Ordering::Relaxed)
            && self.reconfigure.swap(false, Ordering::Relaxed);
        if changed || reconfigure {
            self.renegotiate();
            extensions = snapshot(&lock(&self.extensions));
        }
        let ext_overhead = input.map(|_| extensions.as_ref().map_or(0, |e| e.max_overhead()));
        let has_extensions = extensions.is_some();
        let allowed = self.vfuncs().allowed_meta_tags;
        let has_metas = input.is_some_and(|b| has_copyable_meta(b, allowed));
        let mut state = lock(&self.state);
        if state.src_caps.is_none() {
            return false;
        }
        state.has_extensions = has_extensions;
        state.extensions = extensions;
        let source_info = state.input_settings.source_info;
        if let Some(input) = input {
            let id = InputId(state.next_input);
            state.next_input += 1;
            state.current_input = id;
            state.ext_overhead = ext_overhead.unwrap_or(0);
            state.csrc_overhead = if source_info {
                4 * csrcs_from_meta(input).len()
            } else {
                0
            };
            // Kept only for what reads its metas; otherwise the packets may end up the only
            // holders of its memories, which then move instead of being shared.
            if source_info || has_extensions || has_metas {
                if state.kept_inputs.len() >= MAX_KEPT_INPUTS {
                    state.kept_inputs.pop_front();
                }
                state.kept_inputs.push_back((id, input.clone()));
            }
        }
        true
    }

    /// The source pad needs reconfiguring (`add-extension`, `clear-extensions`, a reconfigure
    /// event from downstream): negotiates the subclass's last caps again, as the C base class
    /// does before its next input buffer, so that the `extmap-N` fields follow the table.
    /// (Flags of our own, not the pad's NEED_RECONFIGURE: reading that takes the pad's object
    /// lock for every input buffer.)
    pub(super) fn renegotiate(&self) {
        let Some(caps) = lock(&self.state).subclass_caps.clone() else {
            return;
        };
        gst::debug!(crate::CAT, imp = self, "Renegotiating output caps");
        if !self.set_src_caps(&caps) {
            gst::warning!(
                crate::CAT,
                imp = self,
                "Renegotiation failed; retrying later"
            );
            self.reconfigure.store(true, Ordering::Relaxed);
        }
    }

    /// Negotiates the RTP caps from the subclass's `caps` and what downstream accepts.
    /// Header extensions named downstream (`extmap-N`) are set up with no lock held (a
    /// `request-extension` handler may use the element); the caps go out after the lock.
    pub(in crate::base::pay) fn set_src_caps(&self, caps: &gst::Caps) -> bool {
        let settings = *lock(&self.settings);
        let Some(wanted) = caps.structure(0) else {
            gst::error!(crate::CAT, imp = self, "Subclass gave empty caps");
            return false;
        };
        let wanted = gst::Caps::builder_full()
            .structure(wanted.to_owned())
            .build();
        let peer = self.src_pad.peer_query_caps(Some(&wanted));
        let candidates = if peer.is_any() { wanted } else { peer };
        let Some(first) = candidates.structure(0) else {
            gst::warning!(crate::CAT, imp = self, "Downstream accepts none of {caps}");
            return false;
        };
        let mut s = first.to_owned();
        if s.has_field("payload") {
            s.fixate_field_nearest_int("payload", settings.pt as i32);
        }
        let mut state = lock(&self.state);
        state.subclass_caps = Some(caps.clone());
        if state.packets_sent == 0 {
            // Properties set after READY → PAUSED but before any packet still apply.
            if settings.ssrc != RANDOM_U32 {
                state.ssrc = settings.ssrc;
            }
            if settings.timestamp_offset != RANDOM_U32 {
                state.timestamp_offset = settings.timestamp_offset;
            }
            if let Ok(offset) = u16::try_from(settings.seqnum_offset) {
                state.seqnum_offset = offset;
                state.next_seqnum = offset;
            }
        }
        if let Ok(pt) = s.get::<i32>("payload") {
            if !(0..=127).contains(&pt) {
                gst::warning!(crate::CAT, imp = self, "Payload type {pt} out of range");
                return false;
            }
            state.pt = pt as u8;
        } else {
            s.set("payload", i32::from(state.pt));
        }
        // Downstream may fix the SSRC and the offsets (as with the C base class).
        if let Ok(ssrc) = s.get::<u32>("ssrc") {
            state.ssrc = ssrc;
        }
        if let Ok(offset) = s.get::<u32>("timestamp-offset") {
            state.timestamp_offset = offset;
        }
        if let Ok(offset) = s.get::<u32>("seqnum-offset")
            && let Ok(offset) = u16::try_from(offset)
            && state.packets_sent == 0
        {
            state.seqnum_offset = offset;
            state.next_seqnum = offset;
        }
        s.set("ssrc", state.ssrc);
        s.set("timestamp-offset", state.timestamp_offset);
        s.set("seqnum-offset", u32::from(state.seqnum_offset));
        let Ok(clock_rate) = s.get::<i32>("clock-rate") else {
            gst::error!(crate::CAT, imp = self, "No clock-rate in {s}");
            return false;
        };
        state.clock_rate = u32::try_from(clock_rate).ok().filter(|r| *r > 0);
        // ONVIF replay timestamps follow the recording, not the clock: no clock to signal.
        if let (Some(signal), Some(rate), false) = (
            &state.clock_signal,
            state.clock_rate,
            settings.onvif_no_rate_control,
        ) {
            signal.set_fields(&mut s, state.timestamp_offset, rate);
        }
        let sink_caps = state.sink_caps.clone();
        drop(state);
        let mut out = gst::Caps::builder_full().structure(s).build();
        let element = self.obj();
        let added = configure_from_caps(
            element.upcast_ref(),
            &self.extensions,
            &out,
            settings.auto_header_extension,
        );
        if let Some(sink_caps) = sink_caps {
            let added = HeaderExtensions::from_list(added);
            added.set_non_rtp_sink_caps(element.upcast_ref(), &sink_caps);
            crate::base::extensions::refresh(&self.extensions);
        }
        let extensions = lock(&self.extensions).clone();
        extensions.set_caps_fields(out.make_mut());
        out.fixate();
        let mut state = lock(&self.state);
        if state.src_caps.as_ref() == Some(&out) {
            return true;
        }
        gst::debug!(crate::CAT, imp = self, "Output caps {out}");
        state.src_caps = Some(out.clone());
        state.caps_generation = state.caps_generation.wrapping_add(1);
        drop(state);
        self.src_pad.push_event(gst::event::Caps::new(&out))
    }

    /// Takes the pipeline clock and base time on the way to PLAYING (both are set by then,
    /// and the base time changes at every PLAYING): when they change what the output caps
    /// signal (RFC 7273, see `refclk.rs`), the caps are negotiated again before the next
    /// input.
    pub(in crate::base::pay) fn update_clock_signal(&self) {
        let element = self.obj();
        let signal = element
            .clock()
            .zip(element.base_time())
            .and_then(|(clock, base_time)| ClockSignal::of(&clock, base_time));
        let mut state = lock(&self.state);
        // The RTP timestamps must follow the signalled clock: sample-counted (continuous)
        // timing takes its anchor again from the next timestamp, or a pause would leave the
        // RTP timeline off the clock by the gap the source's timestamps make at resumption.
        if signal.is_some() {
            state.continuous_anchor = None;
        }
        if state.clock_signal != signal {
            gst::debug!(crate::CAT, imp = self, "Clock signalling now {signal:?}");
            state.clock_signal = signal;
            self.reconfigure.store(true, Ordering::Relaxed);
        }
    }
}
