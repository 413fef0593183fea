// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Depayloader: outputs queued by the subclass, decorated from the packets they were made
//! from (timestamps, flags, header extensions, metas), and pushed; payload outputs made from
//! the packet itself; dropped payloads and keyframe requests.

use super::*;

impl RtpBaseDepay2 {
    pub(in crate::base::depay) fn queue_output(
        &self,
        mut buffer: gst::Buffer,
        ext_timestamp: u64,
        packets: RangeInclusive<u64>,
    ) {
        let mut state = lock(&self.state);
        let decoration = Self::decoration(&mut state, ext_timestamp, &packets);
        if decoration.from_packets.is_empty() {
            // No meta to add: the buffer is queued under the same lock.
            Self::set_times_and_flags(buffer.make_mut(), &decoration);
            state.pending.push(buffer);
            return;
        }
        drop(state);
        let orientation = self.decorate(&mut buffer, decoration);
        let mut state = lock(&self.state);
        if let Some(o) = orientation {
            let index = state.pending.len();
            state.orientation.note(o, index);
        }
        state.pending.push(buffer);
    }

    /// PTS, DISCONT and what the packets `packets` carried, for the next output.
    pub(super) fn decoration(
        state: &mut State,
        ext_timestamp: u64,
        packets: &RangeInclusive<u64>,
    ) -> OutputDecoration {
        let pts = state.pts_for(ext_timestamp);
        let discont = std::mem::take(&mut state.discont_pending);
        state.stats.buffers_pushed += 1;
        OutputDecoration {
            pts,
            discont,
            from_packets: state.window.gather(packets),
        }
    }

    pub(super) fn set_times_and_flags(out: &mut gst::BufferRef, decoration: &OutputDecoration) {
        out.set_pts(decoration.pts);
        if decoration.discont {
            out.set_flags(gst::BufferFlags::DISCONT);
        }
    }

    /// Applies `decoration` (metas included; called without the state lock). Returns the
    /// orientation a CVO extension read, if any.
    pub(super) fn decorate(
        &self,
        buffer: &mut gst::Buffer,
        decoration: OutputDecoration,
    ) -> Option<String> {
        let mut caps_update = false;
        let mut orientation = None;
        {
            let out = buffer.make_mut();
            Self::set_times_and_flags(out, &decoration);
            let from = decoration.from_packets;
            copy_metas(&from.metas, out);
            if let Some((ssrc, csrcs)) = from.sources {
                gst_rtp::RTPSourceMeta::add(out, Some(ssrc), &csrcs);
            }
            if !from.extensions.is_empty() {
                // The extensions read from a snapshot, without lock.
                let extensions = lock(&self.extensions).clone();
                caps_update = extensions.read(self.obj().upcast_ref(), &from.extensions, out);
                if extensions.reads_orientation() {
                    orientation = orientation_of_output(out);
                }
            }
            if let Some(latency) = crate::capture_time::latency_of(out) {
                lock(&self.state)
                    .stats
                    .capture_latency
                    .get_or_insert_with(Default::default)
                    .observe(latency);
            }
        }
        if caps_update {
            // Taken in a statement of its own: the guard is gone before set_src_caps locks
            // the state again (an `if let` on the lock would keep it for the whole block).
            let caps = lock(&self.state).src_caps.take();
            if let Some(caps) = caps {
                self.set_src_caps(&caps);
            }
        }
        orientation
    }

    /// Outputs the packet's whole payload as the input buffer itself with the RTP header cut
    /// off: when the depayloader is the buffer's only holder (as behind `udpsrc` or a
    /// jitterbuffer) no buffer or memory is made. The buffer is queued once the subclass
    /// returns and the packet is unmapped, in the place of this call among the outputs.
    pub(in crate::base::depay) fn queue_payload_output(
        &self,
        packet: &crate::base::depay::IncomingPacket,
        duration: Option<gst::ClockTime>,
        flags: gst::BufferFlags,
    ) {
        if packet.payload_output.borrow().is_some() {
            // Only one per packet can take the input buffer; another gets a sub-buffer.
            if let Some(mut buffer) = packet.payload_buffer() {
                {
                    let out = buffer.make_mut();
                    out.set_duration(duration);
                    out.set_flags(flags);
                }
                let seq = packet.ext_seqnum();
                self.queue_output(buffer, packet.ext_timestamp(), seq..=seq);
            }
            return;
        }
        let seq = packet.ext_seqnum();
        let mut state = lock(&self.state);
        let decoration = Self::decoration(&mut state, packet.ext_timestamp(), &(seq..=seq));
        *packet.payload_output.borrow_mut() = Some(PayloadOutput {
            index: state.pending.len(),
            range: packet.payload_range(),
            duration,
            flags,
            decoration,
            has_metas: packet.has_metas,
        });
    }

    /// Turns the unmapped input buffer into the payload output recorded for it.
    pub(super) fn finish_payload_output(&self, mut buffer: gst::Buffer, output: PayloadOutput) {
        {
            let out = buffer.make_mut();
            if out.resize(output.range).is_err() {
                // Cannot happen for a range the parser found; counted and warned if it does.
                self.drop_payload(&"payload range outside the packet buffer");
                return;
            }
            // The input's metas, flags and times are the packet's, not the payload's (its
            // allowed metas come back from the packet's record).
            if output.has_metas {
                crate::memshare::clear_metadata(out);
            } else {
                // No meta to remove: the same without the walk over the (empty) meta list.
                out.unset_flags(gst::BufferFlags::all());
                out.set_pts(None);
                out.set_dts(None);
                out.set_offset(u64::MAX);
                out.set_offset_end(u64::MAX);
            }
            out.set_flags(output.flags);
            out.set_duration(output.duration);
        }
        let orientation = self.decorate(&mut buffer, output.decoration);
        let mut state = lock(&self.state);
        let index = output.index.min(state.pending.len());
        state.pending.insert(index, buffer);
        if let Some(o) = orientation {
            state.orientation.note(o, index);
        }
    }

    pub(in crate::base::depay) fn mark_discont(&self) {
        lock(&self.state).discont_pending = true;
    }

    pub(in crate::base::depay) fn drop_payload(&self, reason: &dyn std::fmt::Display) {
        self.bad_input(reason, |state| {
            state.stats.dropped_payload += 1;
            state.discont_pending = true;
            &mut state.rtp_in
        });
    }

    pub(in crate::base::depay) fn request_keyframe(&self) {
        lock(&self.state).stats.keyframe_requests += 1;
        let event = gst_video::UpstreamForceKeyUnitEvent::builder()
            .all_headers(true)
            .build();
        gst::debug!(crate::CAT, imp = self, "Requesting a keyframe upstream");
        if !self.sink_pad.push_event(event) {
            gst::debug!(
                crate::CAT,
                imp = self,
                "Nobody upstream handled the keyframe request"
            );
        }
    }

    pub(super) fn push_pending(&self) -> FlowResult {
        let mut state = lock(&self.state);
        if state.pending.is_empty() {
            return Ok(gst::FlowSuccess::Ok);
        }
        if let Some((at, o)) = state.orientation.take_due() {
            // The outputs before the change, the tag, then the rest.
            let at = at.min(state.pending.len());
            let later: Vec<gst::Buffer> = state.pending.drain(at..).collect();
            drop(state);
            let before = self.push_pending();
            self.src_pad.push_event(tag_event(&self.src_pad, &o));
            lock(&self.state).pending.extend(later);
            return before.and_then(|_| self.push_pending());
        }
        if std::mem::take(&mut state.allocation_stale) {
            drop(state);
            self.query_allocation();
            state = lock(&self.state);
        }
        let allocator = state.allocator.clone();
        match state.pending.len() {
            1 => {
                let mut buffer = state.pending.pop().unwrap_or_default();
                drop(state);
                if let Some(allocator) = allocator {
                    buffer = allocator.copy_into(buffer);
                }
                self.src_pad.push(buffer)
            }
            n => {
                // The state keeps its vector (and capacity); the buffers move to the list.
                let mut list = gst::BufferList::new_sized(n);
                if let Some(list) = list.get_mut() {
                    for buffer in state.pending.drain(..) {
                        list.add(buffer);
                    }
                }
                drop(state);
                if let Some(allocator) = allocator {
                    allocator.copy_list(&mut list);
                }
                self.src_pad.push_list(list)
            }
        }
    }
}
