// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Payloader: packets queued by the subclass (sequence number, RTP timestamp, inputs) and
//! pushed as one buffer list per input.

use super::*;

impl RtpBasePay2 {
    /// Takes the sequence number and RTP timestamp of a subclass packet and queues it with its
    /// inputs; the header is written when the packets are pushed (`build_packets`).
    pub(in crate::base::pay) fn queue_packet(&self, packet: OutgoingPacket) {
        let mut state = lock(&self.state);
        let scale_rtptime = state.input_settings.scale_rtptime;
        let (pts, rtp_timestamp) = match packet.timing {
            PacketTiming::Pts(pts) => {
                let ts = pts
                    .and_then(|pts| self.rtp_time_for(&mut state, pts, scale_rtptime))
                    .unwrap_or(state.last_timestamp);
                (pts, ts)
            }
            PacketTiming::Continuous { pts, ticks } => {
                if ticks == 0 || state.continuous_anchor.is_none() {
                    let at_pts = pts
                        .and_then(|pts| self.rtp_time_for(&mut state, pts, scale_rtptime))
                        .unwrap_or(state.last_timestamp);
                    state.continuous_anchor = Some(at_pts.wrapping_sub(ticks as u32));
                }
                let anchor = state.continuous_anchor.unwrap_or(state.last_timestamp);
                (pts, anchor.wrapping_add(ticks as u32))
            }
        };
        let flags = packet.buffer_flags();
        let range = packet
            .inputs
            .unwrap_or_else(|| InputRange::single(state.current_input));
        // The first inputs of successive packets never go back: older inputs are done.
        while state
            .kept_inputs
            .front()
            .is_some_and(|(id, _)| *id < range.first)
        {
            state.kept_inputs.pop_front();
        }
        let mut inputs = PacketInputs::default();
        if !state.kept_inputs.is_empty() {
            let state = &mut *state;
            inputs.at = state.pending_inputs.len() as u32;
            inputs.first = state
                .kept_inputs
                .front()
                .is_some_and(|(id, _)| *id == range.first);
            for (id, buffer) in state.kept_inputs.iter() {
                if *id > range.last {
                    break;
                }
                state.pending_inputs.push(buffer.clone());
                inputs.count += 1;
            }
        }
        let payload_len = packet.prefix.as_slice().len() + packet.payload.size();
        let seq = state.next_seqnum;
        Self::count_packet(&mut state, rtp_timestamp, payload_len);
        state.pending.push(PendingPacket {
            seq,
            timestamp: rtp_timestamp,
            marker: packet.marker,
            prefix: packet.prefix,
            payload: packet.payload,
            pts,
            duration: packet.duration,
            flags,
            inputs,
        });
    }

    /// Sequence number, timestamp and statistics after one packet.
    pub(super) fn count_packet(state: &mut State, rtp_timestamp: u32, payload_len: usize) {
        state.last_seqnum = state.next_seqnum;
        state.next_seqnum = state.next_seqnum.wrapping_add(1);
        state.last_timestamp = rtp_timestamp;
        state.packets_sent += 1;
        state.bytes_sent += payload_len as u64;
    }

    /// RTP timestamp of `pts` (RFC 3550 §5.1): running time scaled to the clock rate, plus
    /// the random offset, wrapping at 32 bits.
    pub(super) fn rtp_time_for(
        &self,
        state: &mut State,
        pts: gst::ClockTime,
        scale: bool,
    ) -> Option<u32> {
        let clock_rate = state.clock_rate?;
        let running_time = if state.input_settings.onvif_no_rate_control {
            // ONVIF replay with Rate-Control=no: the RTP clock tells the recording's own
            // time (the stream time), whatever the rate and position of playback (as C).
            state.segment.to_stream_time(pts)?
        } else if scale {
            state.segment.to_running_time(pts)?
        } else {
            // Without scaling, rate changes of the segment do not speed up the RTP clock.
            let start = state.segment.start().unwrap_or(gst::ClockTime::ZERO);
            let base = state.segment.base().unwrap_or(gst::ClockTime::ZERO);
            pts.checked_sub(start)? + base
        };
        state.last_running_time = Some(running_time);
        let ticks = ns_to_clock(running_time.nseconds(), clock_rate);
        Some(state.timestamp_offset.wrapping_add(ticks as u32))
    }

    /// Pushes what was queued, as one buffer list when there are several packets. The
    /// packets are built after the state lock is released (header extensions write then).
    pub(in crate::base::pay) fn push_pending(&self) -> FlowResult {
        let mut packets = SmallVec::new();
        let buffer_list = {
            let mut state = lock(&self.state);
            if state.pending.is_empty() {
                return Ok(gst::FlowSuccess::Ok);
            }
            let settings = state.input_settings;
            let header_capacity = crate::base::pay::pool::HEADER_CAPACITY.max(
                FIXED_HEADER_LEN
                    + state.csrc_overhead
                    + state.ext_overhead
                    + PayloadPrefix::CAPACITY,
            );
            let params = BuildParams {
                template: HeaderTemplate {
                    payload_type: state.pt,
                    ssrc: state.ssrc,
                },
                use_pool: settings.use_buffer_pool,
                source_info: settings.source_info,
                extensions: state.extensions.clone(),
                header_capacity,
            };
            if params.extensions.is_none() && state.pending_inputs.is_empty() {
                // Nothing foreign runs (no header extension, no meta to copy): built under
                // the lock, straight from the state's vector, which keeps its capacity.
                let state = &mut *state;
                self.build_packets(&mut state.pending, &[], &params, &mut packets);
                settings.buffer_list
            } else {
                // Header extensions write and meta transforms run: without the lock.
                let spare = std::mem::take(&mut state.spare_pending);
                let mut pending = std::mem::replace(&mut state.pending, spare);
                let spare = std::mem::take(&mut state.spare_inputs);
                let mut inputs = std::mem::replace(&mut state.pending_inputs, spare);
                drop(state);
                self.build_packets(&mut pending, &inputs, &params, &mut packets);
                // The emptied vectors keep their capacity for the next input.
                inputs.clear();
                let mut state = lock(&self.state);
                state.spare_pending = pending;
                state.spare_inputs = inputs;
                settings.buffer_list
            }
        };
        match packets.len() {
            0 => Ok(gst::FlowSuccess::Ok),
            1 => self.src_pad.push(packets.pop().unwrap_or_default()),
            _ if buffer_list => {
                let mut list = gst::BufferList::new_sized(packets.len());
                {
                    let list = list.get_mut().ok_or(gst::FlowError::Error)?;
                    for buffer in packets {
                        list.add(buffer);
                    }
                }
                self.src_pad.push_list(list)
            }
            _ => {
                for buffer in packets {
                    self.src_pad.push(buffer)?;
                }
                Ok(gst::FlowSuccess::Ok)
            }
        }
    }
}
