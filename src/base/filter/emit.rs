// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! What `RtpBaseFilter2` sends: packets forwarded as they are, forwarded with a rewritten
//! header on an output stream, or made by the subclass; queued in order and pushed together
//! (one buffer list) once the subclass returns, with no lock held.

use gst::glib;
use gst::prelude::*;

use super::imp::{FlowResult, RtpBaseFilter2};
use super::output::{HeaderFields, patch_fixed_header};
use super::{Emitted, FilterPacket, NewPacket, RecoveredPacket, Rewrite, StreamId, WrittenPacket};
use crate::base::extensions::lock;

impl RtpBaseFilter2 {
    pub(super) fn forward(&self, packet: &FilterPacket) -> Emitted {
        {
            let mut state = lock(&self.state);
            state.current_used = true;
            state.stats.packets_forwarded += 1;
            state.pending.push(packet.buffer.clone());
        }
        Emitted {
            seqnum: packet.seqnum(),
            ext_seqnum: packet.ext_seqnum,
            ssrc: packet.ssrc(),
        }
    }

    pub(super) fn forward_on(
        &self,
        packet: &FilterPacket,
        stream: StreamId,
        rewrite: Rewrite,
    ) -> Option<Emitted> {
        let unchanged = HeaderFields {
            marker: packet.marker(),
            payload_type: packet.payload_type(),
            seqnum: packet.seqnum(),
            timestamp: packet.timestamp(),
            ssrc: packet.ssrc(),
        };
        // A writable input (upstream let go of it, one memory) is rewritten in place once
        // the subclass has returned and unmapped it: no copy, no new memory.
        let writable = packet.buffer.is_writable() && packet.buffer.n_memory() == 1;
        let mut state = lock(&self.state);
        let s = state.streams.get_mut(stream.0)?;
        let ext_seqnum = s.forwarded(packet.ext_seqnum, random_seqnum);
        let fields = HeaderFields {
            marker: rewrite.marker.unwrap_or(packet.marker()),
            payload_type: s.config.payload_type.unwrap_or(packet.payload_type()),
            seqnum: ext_seqnum as u16,
            timestamp: rewrite.timestamp.unwrap_or(packet.timestamp()),
            ssrc: s.config.ssrc.unwrap_or(packet.ssrc()),
        };
        state.current_used = true;
        let in_place = fields != unchanged && writable && state.rewrite_input.is_none();
        if fields != unchanged && !in_place {
            // The input is held elsewhere: a new header before its payload, made unlocked.
            drop(state);
            let buffer = rewritten(packet, &fields)?;
            let mut state = lock(&self.state);
            state.stats.packets_rewritten += 1;
            state.pending.push(buffer);
            return Some(Emitted {
                seqnum: fields.seqnum,
                ext_seqnum,
                ssrc: fields.ssrc,
            });
        }
        if fields == unchanged {
            state.stats.packets_forwarded += 1;
            state.pending.push(packet.buffer.clone());
        } else {
            state.stats.packets_rewritten += 1;
        }
        if in_place {
            // Its place in the output order, filled once the input is unmapped.
            state.rewrite_input = Some((state.pending.len(), fields));
        }
        Some(Emitted {
            seqnum: fields.seqnum,
            ext_seqnum,
            ssrc: fields.ssrc,
        })
    }

    /// The header fields, extended sequence number and PTS of a packet the subclass makes
    /// on `stream` (its next sequence number taken).
    fn made_fields(
        &self,
        stream: StreamId,
        marker: bool,
        payload_type: Option<u8>,
        timestamp: u32,
        pts: Option<gst::ClockTime>,
    ) -> Option<(HeaderFields, u64, Option<gst::ClockTime>)> {
        let mut state = lock(&self.state);
        let current = state.current;
        let s = state.streams.get_mut(stream.0)?;
        let ssrc = s.config.ssrc.or(current.map(|c| c.ssrc))?;
        let payload_type = payload_type
            .or(s.config.payload_type)
            .or(current.map(|c| c.payload_type))?;
        let ext_seqnum = s.inserted(current.map_or(0, |c| c.ext_seqnum), random_seqnum);
        let fields = HeaderFields {
            marker,
            payload_type,
            seqnum: ext_seqnum as u16,
            timestamp,
            ssrc,
        };
        Some((fields, ext_seqnum, pts.or(current.and_then(|c| c.pts))))
    }

    /// Counts a made packet and queues it for the push after the subclass returns.
    fn queue_emitted(
        &self,
        buffer: gst::Buffer,
        fields: &HeaderFields,
        ext_seqnum: u64,
    ) -> Emitted {
        let mut state = lock(&self.state);
        state.stats.packets_emitted += 1;
        state.pending.push(buffer);
        Emitted {
            seqnum: fields.seqnum,
            ext_seqnum,
            ssrc: fields.ssrc,
        }
    }

    pub(super) fn emit_packet(&self, stream: StreamId, packet: NewPacket) -> Option<Emitted> {
        let (fields, ext_seqnum, pts) = self.made_fields(
            stream,
            packet.marker,
            packet.payload_type,
            packet.timestamp,
            packet.pts,
        )?;
        let buffer = new_packet(&fields, &packet.payload, pts);
        Some(self.queue_emitted(buffer, &fields, ext_seqnum))
    }

    pub(super) fn emit_written(
        &self,
        stream: StreamId,
        packet: WrittenPacket,
        write: impl FnOnce(&mut [u8]) -> bool,
    ) -> Option<Emitted> {
        const HEADER: usize = rtp2_core::rtp::FIXED_HEADER_LEN;
        // One allocation (the buffer's one memory), mapped alone: the payload is written in
        // place, then the header once the sequence number is known.
        let mut buffer = gst::Buffer::with_size(HEADER + packet.payload_len).ok()?;
        let out = buffer.get_mut()?;
        let (fields, ext_seqnum, pts) = {
            let memory = out.peek_memory_mut(0).ok()?;
            let mut map = memory.map_writable().ok()?;
            if !write(map.get_mut(HEADER..)?) {
                return None;
            }
            let made = self.made_fields(
                stream,
                packet.marker,
                packet.payload_type,
                packet.timestamp,
                packet.pts,
            )?;
            map[0] = 0x80;
            patch_fixed_header(&mut map[..HEADER], &made.0);
            made
        };
        out.set_pts(pts);
        if fields.marker {
            out.set_flags(gst::BufferFlags::MARKER);
        }
        Some(self.queue_emitted(buffer, &fields, ext_seqnum))
    }

    pub(super) fn emit_recovered(&self, packet: RecoveredPacket) -> Emitted {
        let fields = HeaderFields {
            marker: packet.marker,
            payload_type: packet.payload_type,
            seqnum: packet.seqnum,
            timestamp: packet.timestamp,
            ssrc: packet.ssrc,
        };
        let current = lock(&self.state).current;
        // Placed nearest to the input packet of the same SSRC being handled (a recovered
        // packet is within a protection window of it), else in the first epoch.
        let ext_seqnum = match current {
            Some(c) if c.ssrc == packet.ssrc => {
                let delta = packet.seqnum.wrapping_sub(c.ext_seqnum as u16) as i16;
                c.ext_seqnum.wrapping_add_signed(i64::from(delta))
            }
            _ => (1 << 32) + u64::from(packet.seqnum),
        };
        let pts = packet.pts.or(current.and_then(|c| c.pts));
        let buffer = new_packet(&fields, &packet.payload, pts);
        let mut state = lock(&self.state);
        state.stats.packets_recovered += 1;
        state.pending.push(buffer);
        Emitted {
            seqnum: packet.seqnum,
            ext_seqnum,
            ssrc: packet.ssrc,
        }
    }

    pub(super) fn emit_buffer(&self, buffer: gst::Buffer, recovered: bool) {
        let mut state = lock(&self.state);
        if recovered {
            state.stats.packets_recovered += 1;
        } else {
            state.stats.packets_emitted += 1;
        }
        state.pending.push(buffer);
    }

    pub(super) fn skip_in_stream(&self, stream: StreamId, count: u64) {
        let mut state = lock(&self.state);
        if let Some(s) = state.streams.get_mut(stream.0) {
            s.skip(count);
        }
    }

    pub(super) fn push_pending(&self) -> FlowResult {
        // The queue keeps its storage from packet to packet.
        let out = {
            let mut state = lock(&self.state);
            if state.rewrite_input.is_some() {
                // Inside `handle_packet`, with the input's in-place rewrite still to come:
                // everything goes out after it, in order.
                return Ok(gst::FlowSuccess::Ok);
            }
            state.stats.packets_pushed += state.pending.len() as u64;
            match state.pending.len() {
                0 => return Ok(gst::FlowSuccess::Ok),
                1 => Outgoing::One(state.pending.pop().unwrap_or_default()),
                n => {
                    let mut list = gst::BufferList::new_sized(n);
                    if let Some(list) = list.get_mut() {
                        for buffer in state.pending.drain(..) {
                            list.add(buffer);
                        }
                    }
                    Outgoing::List(list)
                }
            }
        };
        match out {
            Outgoing::One(buffer) => self.src_pad.push(buffer),
            Outgoing::List(list) => self.src_pad.push_list(list),
        }
    }
}

/// What one push sends.
enum Outgoing {
    One(gst::Buffer),
    List(gst::BufferList),
}

/// A random first sequence number (RFC 3550 §5.1), as payloaders pick theirs.
fn random_seqnum() -> u16 {
    (glib::random_int() & 0xffff) as u16
}

/// The input `buffer` (unmapped, one memory) with `fields` written over its fixed header:
/// in place when nothing else holds it, else (a subclass kept a reference) on a copy.
/// `None` when its memory cannot be mapped.
pub(super) fn rewritten_in_place(
    mut buffer: gst::Buffer,
    fields: &HeaderFields,
) -> Option<gst::Buffer> {
    let out = buffer.make_mut();
    // Its one memory mapped alone when nothing else holds it (a third cheaper than a buffer
    // map, per forwarded packet), else through the buffer (which replaces read-only memory
    // with a writable copy).
    let direct = out.n_memory() == 1
        && out.peek_memory_mut(0).is_ok_and(|memory| {
            memory.map_writable().is_ok_and(|mut map| {
                map.get_mut(..12)
                    .map(|header| patch_fixed_header(header, fields))
                    .is_some()
            })
        });
    if !direct {
        let mut map = out.map_writable().ok()?;
        patch_fixed_header(map.get_mut(..12)?, fields);
    }
    let mut flags = out.flags();
    flags.set(gst::BufferFlags::MARKER, fields.marker);
    out.set_flags(flags);
    Some(buffer)
}

/// `packet` with `fields` in its fixed header: a new memory for the header (CSRCs and
/// extension block copied as they are) before the input's payload memory, shared.
fn rewritten(packet: &FilterPacket, fields: &HeaderFields) -> Option<gst::Buffer> {
    let header_len = packet.rtp.header_len();
    let mut header = packet.data()[..header_len].to_vec();
    patch_fixed_header(&mut header, fields);
    let total = packet.buffer.size();
    let mut buffer = packet
        .buffer
        .copy_region(
            gst::BufferCopyFlags::FLAGS
                | gst::BufferCopyFlags::TIMESTAMPS
                | gst::BufferCopyFlags::META
                | gst::BufferCopyFlags::MEMORY,
            header_len..total,
        )
        .ok()?;
    let out = buffer.get_mut()?;
    // A region not starting at offset 0 gets no PTS/DTS from `copy_region`.
    out.set_pts(packet.buffer.pts());
    out.set_dts(packet.buffer.dts());
    out.prepend_memory(gst::Memory::from_mut_slice(header));
    // The MARKER flag follows the marker bit, as on every packet of this plugin.
    let mut flags = out.flags();
    flags.set(gst::BufferFlags::MARKER, fields.marker);
    out.set_flags(flags);
    Some(buffer)
}

/// A new packet: the 12-byte header with `fields` (version 2, no padding, extension or
/// CSRC) and `payload`'s bytes in one memory. Packets are small: one copy costs less than
/// a header memory and the shared payload's, and downstream maps one memory without
/// merging. (A payload that cannot be mapped keeps its memories, after a header memory.)
fn new_packet(
    fields: &HeaderFields,
    payload: &gst::Buffer,
    pts: Option<gst::ClockTime>,
) -> gst::Buffer {
    let mut header = [0u8; rtp2_core::rtp::FIXED_HEADER_LEN];
    header[0] = 0x80;
    patch_fixed_header(&mut header, fields);
    let mut buffer = match payload.map_readable() {
        Ok(map) => {
            let mut bytes = Vec::with_capacity(header.len() + map.len());
            bytes.extend_from_slice(&header);
            bytes.extend_from_slice(&map);
            gst::Buffer::from_mut_slice(bytes)
        }
        Err(_) => {
            let mut buffer = gst::Buffer::new();
            if let Some(out) = buffer.get_mut() {
                out.append_memory(gst::Memory::from_slice(header));
                for memory in payload.iter_memories_owned() {
                    out.append_memory(memory);
                }
            }
            buffer
        }
    };
    if let Some(out) = buffer.get_mut() {
        out.set_pts(pts);
        if fields.marker {
            out.set_flags(gst::BufferFlags::MARKER);
        }
    }
    buffer
}
