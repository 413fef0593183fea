// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Depayloader: the chain path: buffers and buffer lists of RTP packets parsed once,
//! checked (`rtp_in`), handed to the subclass in sequence order, then the outputs pushed.

use super::*;
use crate::base::input_map::InputMap;

impl RtpBaseDepay2 {
    /// Counts bad input (`count` updates the state under its lock); see
    /// [`report_bad_input`].
    pub(super) fn bad_input(
        &self,
        reason: &dyn std::fmt::Display,
        count: impl FnOnce(&mut State) -> &mut RtpIn,
    ) {
        report_bad_input(self.obj().upcast_ref(), &self.state, reason, count);
    }

    /// Validates one RTP packet and hands it to the subclass; the buffer may become an
    /// output (see [`Self::queue_payload_output`]).
    pub(super) fn handle_buffer(&self, buffer: gst::Buffer) -> FlowResult {
        let payload_output = RefCell::new(None);
        let res = match InputMap::new(&buffer) {
            Some(map) => {
                // The `rtp-metrics` tracer accounts the packet from this map when it noted
                // the push (saving a second map of every packet).
                crate::tracer::handoff::mapped_input(&buffer, &self.sink_pad, map.as_slice());
                let parsed = RtpPacket::parse(map.as_slice());
                self.handle_parsed(&buffer, parsed, &payload_output)
            }
            None => {
                self.unreadable();
                Ok(gst::FlowSuccess::Ok)
            }
        };
        if let Some(output) = payload_output.into_inner() {
            self.finish_payload_output(buffer, output);
        }
        res
    }

    pub(super) fn unreadable(&self) {
        self.bad_input(&"unreadable buffer", |state| state.rtp_in.count_invalid());
    }

    /// Hands the packet `buffer` holds, parsed once (`parsed`), to the subclass after the
    /// input-side checks; an invalid one is counted and warned about.
    pub(super) fn handle_parsed(
        &self,
        buffer: &gst::Buffer,
        parsed: Result<RtpPacket<'_>, rtp2_core::rtp::RtpParseError>,
        payload_output: &RefCell<Option<PayloadOutput>>,
    ) -> FlowResult {
        let rtp = match parsed {
            Ok(rtp) => rtp,
            Err(err) => {
                self.bad_input(&format_args!("invalid RTP packet: {err}"), |state| {
                    state.rtp_in.count_invalid()
                });
                return Ok(gst::FlowSuccess::Ok);
            }
        };

        let has_metas = buffer.iter_meta::<gst::Meta>().next().is_some();
        let metas = if has_metas {
            allowed_metas(buffer, self.vfuncs().allowed_meta_tags)
        } else {
            None
        };
        let mut flush_subclass = false;
        let (ext_seqnum, ext_timestamp, discont) = {
            let mut state = lock(&self.state);
            if state.clock_rate.is_none() {
                drop(state);
                gst::element_imp_error!(
                    self,
                    gst::CoreError::Negotiation,
                    ["No RTP caps with a clock-rate before the first packet"]
                );
                return Err(gst::FlowError::NotNegotiated);
            }
            state.input_times = (buffer.pts(), buffer.dts());
            let accepted = match state.rtp_in.check(self.obj().upcast_ref(), &rtp) {
                Verdict::Accept(accepted) => accepted,
                Verdict::Late => return Ok(gst::FlowSuccess::Ok),
            };
            if accepted.resync {
                state.forget_timing();
                flush_subclass = true;
            }
            if accepted.lost > 0 {
                state.discont_pending = true;
            }
            let ext_timestamp = accepted.ext_timestamp;
            if let Some(pts) = buffer.pts() {
                // Every packet's PTS re-anchors the RTP time: upstream (a jitterbuffer) is the
                // timing authority, and rtpbin's lip sync moves its PTS (`ts-offset`) by up
                // to hundreds of milliseconds at once; outputs follow, as the C
                // depayloaders' do (tests/timing_sync.rs).
                let jumped = state
                    .pts_for(ext_timestamp)
                    .is_some_and(|derived| derived.absdiff(pts) > PTS_JUMP);
                if jumped {
                    gst::debug!(crate::CAT, imp = self, "Input PTS jumped to {pts}");
                }
                state.anchor = Some((ext_timestamp, pts));
            }
            state.window.record(accepted.ext_seqnum, &rtp, metas);
            (accepted.ext_seqnum, ext_timestamp, accepted.discont)
        };
        if flush_subclass {
            (self.vfuncs().flush)(&self.obj());
        }
        if rtp.payload().is_empty() {
            // A valid packet without payload (RFC 3550 §5.1: padding only, as WebRTC senders
            // send to probe bandwidth) carries no media: counted, skipped without a warning
            // (as the C depayloaders do), and a loss before it is kept for the next packet.
            let mut state = lock(&self.state);
            state.stats.packets_without_payload += 1;
            state.rtp_in.carry_discont(discont);
            return Ok(gst::FlowSuccess::Ok);
        }

        let packet = IncomingPacket {
            rtp,
            buffer,
            ext_seqnum,
            ext_timestamp,
            discont,
            has_metas,
            payload_output,
        };
        (self.vfuncs().handle_packet)(&self.obj(), &packet)
    }

    /// Asks downstream for an allocator for the current output caps (no lock held).
    pub(super) fn query_allocation(&self) {
        let allocator = self
            .src_pad
            .current_caps()
            .and_then(|caps| ProposedAllocator::query(&self.src_pad, &caps));
        lock(&self.state).allocator = allocator;
    }

    pub(super) fn sink_chain(&self, buffer: gst::Buffer) -> FlowResult {
        let res = self.handle_buffer(buffer);
        let pushed = self.push_pending();
        res.and(pushed)
    }

    /// A buffer list: every packet is mapped and parsed once ([`parse_batch`]: the fixed
    /// headers of all in one batch, SIMD where the CPU has it, then the rest of each), and
    /// handed to the subclass with its map. A packet that becomes an output itself (see
    /// [`Self::queue_payload_output`]) is finished once all maps are released, in its place
    /// among the outputs.
    pub(super) fn sink_chain_list(&self, mut list: gst::BufferList) -> FlowResult {
        // The packets are taken out of the list (not shared with it), so that one the
        // depayloader alone holds can become its own output.
        let mut buffers: SmallVec<[Option<gst::Buffer>; 32]> =
            list.make_mut().drain(..).map(Some).collect();
        let mut res = Ok(gst::FlowSuccess::Ok);
        let mut payload_outputs: SmallVec<[(usize, PayloadOutput); 32]> = SmallVec::new();
        {
            let maps: SmallVec<[Option<gst::buffer::BufferMap<'_, gst::buffer::Readable>>; 32]> =
                buffers
                    .iter()
                    .map(|b| b.as_ref().and_then(|b| b.map_readable().ok()))
                    .collect();
            let slices: SmallVec<[&[u8]; 32]> = maps
                .iter()
                .map(|m| m.as_ref().map_or(&[][..], |m| m.as_slice()))
                .collect();
            let mut parsed = Vec::with_capacity(slices.len());
            parse_batch(&slices, &mut parsed);
            for (i, (packet, map)) in parsed.into_iter().zip(&maps).enumerate() {
                let Some(buffer) = buffers[i].as_ref().filter(|_| map.is_some()) else {
                    self.unreadable();
                    continue;
                };
                let payload_output = RefCell::new(None);
                res = self.handle_parsed(buffer, packet, &payload_output);
                if let Some(output) = payload_output.into_inner() {
                    payload_outputs.push((i, output));
                }
                if res.is_err() {
                    break;
                }
            }
        }
        // Each recorded its place among the outputs queued without the earlier ones.
        for (inserted, (i, mut output)) in payload_outputs.into_iter().enumerate() {
            if let Some(buffer) = buffers[i].take() {
                output.index += inserted;
                self.finish_payload_output(buffer, output);
            }
        }
        let pushed = self.push_pending();
        res.and(pushed)
    }

    pub(super) fn drain_and_push(&self) -> FlowResult {
        let res = (self.vfuncs().drain)(&self.obj());
        let pushed = self.push_pending();
        res.and(pushed)
    }
}
