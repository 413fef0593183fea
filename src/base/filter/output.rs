// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The output side of `RtpBaseFilter2`: the sequence-number spaces of the output streams a
//! subclass declares, and the header memory of rewritten and new packets.
//!
//! Sequence numbers are counted in 64 bits (like the input's extended sequence numbers) and
//! written as their low 16 bits, so that a subclass can relate emitted packets across wraps.

use super::{OutputStream, Seqnums};

/// Where a stream's next sequence number comes from.
#[derive(Debug)]
pub(super) struct StreamState {
    pub(super) config: OutputStream,
    /// `Seqnums::Own`: the next sequence number, chosen at the first packet.
    next_own: Option<u64>,
    /// `Seqnums::FollowInput`: packets inserted minus packets skipped so far (wrapping); a
    /// forwarded packet's output sequence number is its input extended sequence number plus
    /// this shift.
    shift: u64,
    /// The last sequence number given on this stream.
    last: Option<u64>,
}

impl StreamState {
    pub(super) fn new(config: OutputStream) -> Self {
        StreamState {
            config,
            next_own: None,
            shift: 0,
            last: None,
        }
    }

    /// The extended output sequence number of an input packet (`input_ext`) forwarded on
    /// this stream.
    pub(super) fn forwarded(&mut self, input_ext: u64, random: impl FnOnce() -> u16) -> u64 {
        let out = match self.config.seqnums {
            Seqnums::Own { .. } => self.next_own(random),
            Seqnums::FollowInput => input_ext.wrapping_add(self.shift),
        };
        self.last = Some(out);
        out
    }

    /// The extended sequence number of a packet the subclass makes (not a forwarded one).
    /// `current_input_ext` is the extended sequence number of the input packet being handled
    /// (or of the last one, at drain): on a `FollowInput` stream a packet emitted before any
    /// packet was forwarded goes in front of that input packet.
    pub(super) fn inserted(&mut self, current_input_ext: u64, random: impl FnOnce() -> u16) -> u64 {
        let out = match self.config.seqnums {
            Seqnums::Own { .. } => self.next_own(random),
            Seqnums::FollowInput => {
                let out = self
                    .last
                    .map_or(current_input_ext.wrapping_add(self.shift), |last| last + 1);
                self.shift = self.shift.wrapping_add(1);
                out
            }
        };
        self.last = Some(out);
        out
    }

    /// `Seqnums::FollowInput`: `count` input sequence numbers leave the numbering (packets a
    /// decoder removes from the stream), so the packets forwarded after them are numbered
    /// `count` lower. No effect on an `Own` stream.
    pub(super) fn skip(&mut self, count: u64) {
        if self.config.seqnums == Seqnums::FollowInput {
            self.shift = self.shift.wrapping_sub(count);
        }
    }

    fn next_own(&mut self, random: impl FnOnce() -> u16) -> u64 {
        let next = *self
            .next_own
            .get_or_insert_with(|| match self.config.seqnums {
                Seqnums::Own { start: Some(start) } => (1 << 32) + u64::from(start),
                _ => (1 << 32) + u64::from(random()),
            });
        self.next_own = Some(next + 1);
        next
    }
}

/// The fixed-header fields that differ between an input packet and its rewritten output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct HeaderFields {
    pub(super) marker: bool,
    pub(super) payload_type: u8,
    pub(super) seqnum: u16,
    pub(super) timestamp: u32,
    pub(super) ssrc: u32,
}

/// Writes `fields` over the fixed header in `header` (which holds at least 12 bytes: the
/// input's whole header, CSRCs and extension block included, which stay as they are).
pub(super) fn patch_fixed_header(header: &mut [u8], fields: &HeaderFields) {
    header[1] = (u8::from(fields.marker) << 7) | (fields.payload_type & 0x7f);
    header[2..4].copy_from_slice(&fields.seqnum.to_be_bytes());
    header[4..8].copy_from_slice(&fields.timestamp.to_be_bytes());
    header[8..12].copy_from_slice(&fields.ssrc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(seqnums: Seqnums) -> StreamState {
        StreamState::new(OutputStream {
            ssrc: None,
            payload_type: None,
            seqnums,
        })
    }

    #[test]
    fn own_space_counts_from_its_start_whatever_the_input() {
        let mut s = stream(Seqnums::Own { start: Some(65535) });
        assert_eq!(s.inserted(500, || 7), (1 << 32) + 65535);
        assert_eq!(s.forwarded(900, || 7), (1 << 32) + 65536);
        assert_eq!(s.inserted(901, || 7) as u16, 1);
    }

    #[test]
    fn own_space_without_start_takes_the_random_value_once() {
        let mut s = stream(Seqnums::Own { start: None });
        assert_eq!(s.inserted(0, || 1234) as u16, 1234);
        assert_eq!(s.inserted(0, || 9) as u16, 1235);
    }

    #[test]
    fn follow_input_shifts_the_media_by_the_packets_inserted() {
        let mut s = stream(Seqnums::FollowInput);
        assert_eq!(s.forwarded(100, || 0), 100);
        assert_eq!(s.forwarded(101, || 0), 101);
        assert_eq!(s.inserted(101, || 0), 102);
        assert_eq!(s.forwarded(102, || 0), 103);
        // A gap in the input stays a gap in the output.
        assert_eq!(s.forwarded(105, || 0), 106);
    }

    #[test]
    fn follow_input_skip_closes_the_gap_of_removed_packets() {
        let mut s = stream(Seqnums::FollowInput);
        assert_eq!(s.forwarded(100, || 0), 100);
        s.skip(1);
        assert_eq!(s.forwarded(102, || 0), 101);
        s.skip(2);
        assert_eq!(s.forwarded(105, || 0), 102);
    }

    #[test]
    fn follow_input_insertion_before_any_forward_precedes_the_packet() {
        let mut s = stream(Seqnums::FollowInput);
        assert_eq!(s.inserted(40, || 0), 40);
        assert_eq!(s.forwarded(40, || 0), 41);
    }

    #[test]
    fn patch_writes_rfc3550_fields_and_keeps_version_and_cc() {
        let mut h = [
            0x81u8, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xaa, 0xbb, 0xcc, 0xdd,
        ];
        patch_fixed_header(
            &mut h,
            &HeaderFields {
                marker: true,
                payload_type: 100,
                seqnum: 0x1234,
                timestamp: 0x0506_0708,
                ssrc: 0x0a0b_0c0d,
            },
        );
        assert_eq!(
            h,
            [
                0x81, 0xe4, 0x12, 0x34, 5, 6, 7, 8, 0x0a, 0x0b, 0x0c, 0x0d, 0xaa, 0xbb, 0xcc, 0xdd
            ]
        );
    }
}
