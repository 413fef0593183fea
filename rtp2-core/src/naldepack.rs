// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! What the H.264 (RFC 6184) and H.265 (RFC 7798) depacketizers share: the shape of their
//! output, the reasons they drop data, and the decoding-order buffer that releases NAL units
//! by DON (RFC 6184 §5.5 interleaved mode, RFC 7798 §6 with `sprop-max-don-diff` > 0).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use crate::seqnum::SeqnumUnwrapper;

/// Most NAL units ever held for decoding-order release, whatever the SDP says.
pub const MAX_DEINTERLEAVE_NALS: usize = 4096;

/// The bytes of an output NAL unit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NalData {
    /// A range of the payload passed to the depacketizer's `push` (share it).
    Payload(Range<usize>),
    /// Reassembled or held bytes.
    Owned(Vec<u8>),
}

/// A NAL unit ready for the decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputNal {
    /// The NAL unit, NAL header included.
    pub data: NalData,
    /// Extended RTP timestamp of the NAL unit.
    pub timestamp: u64,
    /// The NAL unit ends the payload of a packet with the marker bit (end of access unit).
    pub marker: bool,
}

/// Why (part of) a packet was not used. Display gives the warning text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// Empty payload, or one shorter than its payload header.
    EmptyPayload,
    /// A NAL unit or packet type this payload format does not allow (H.264 types 0, 30, 31;
    /// H.265 types 51–63, or an aggregation/fragmentation type where a NAL unit must be).
    UnsupportedType(u8),
    /// F bit set: the sender marks a syntax violation (RFC 6184 §5.3, RFC 7798 §1.1.4).
    ForbiddenBit,
    /// An aggregation packet whose unit sizes are zero or run past the end.
    BadAggregation(u8),
    /// A fragment without a fragmented NAL unit started.
    FragmentWithoutStart,
    /// A fragment with both start and end bits (forbidden by both RFCs).
    FragmentStartAndEnd,
    /// A fragment whose NAL type or FU kind differs from the start fragment (a timestamp
    /// change alone is tolerated, see the depacketizers).
    FragmentMismatch,
    /// A fragmented NAL unit lost fragments (sequence gap or new start).
    IncompleteFragmentedNal,
    /// A fragmented NAL unit grew past the configured limit (bytes).
    FragmentedNalTooLarge(usize),
    /// The decoding-order buffer was full and released a NAL unit early.
    DeinterleaveOverflow,
    /// An H.265 PACI packet (RFC 7798 §4.4.4) cut short or carrying another PACI.
    BadPaci,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyPayload => write!(f, "payload empty or shorter than its header"),
            Self::UnsupportedType(t) => write!(f, "NAL unit type {t} is not allowed here"),
            Self::ForbiddenBit => write!(f, "NAL unit with the forbidden (F) bit set"),
            Self::BadAggregation(t) => write!(
                f,
                "aggregation packet (type {t}) with a unit size of 0 or past the end"
            ),
            Self::FragmentWithoutStart => write!(f, "FU fragment without a start fragment"),
            Self::FragmentStartAndEnd => write!(f, "FU fragment with both start and end bits"),
            Self::FragmentMismatch => {
                write!(f, "FU fragment whose NAL type or FU type changed")
            }
            Self::IncompleteFragmentedNal => write!(
                f,
                "fragmented NAL unit lost a fragment; the whole NAL unit is dropped"
            ),
            Self::FragmentedNalTooLarge(n) => {
                write!(f, "fragmented NAL unit larger than the {n}-byte limit")
            }
            Self::DeinterleaveOverflow => write!(
                f,
                "de-interleaving buffer full: NAL unit released out of DON order"
            ),
            Self::BadPaci => write!(f, "PACI packet cut short or nesting another PACI"),
        }
    }
}

/// The interface of the H.264 and H.265 depacketizers, for code that serves both.
pub trait Depacketize: Send {
    /// Handles one packet (in sequence order; `discont` after lost packets). NAL units
    /// completed by it go to `out`, with payload ranges referring to `payload`; the reasons
    /// for anything dropped go to `drops`.
    fn push(
        &mut self,
        payload: &[u8],
        timestamp: u64,
        marker: bool,
        discont: bool,
        out: &mut Vec<OutputNal>,
        drops: &mut Vec<DropReason>,
    );

    /// End of stream: releases what is held for decoding order; drops unfinished NAL units.
    fn drain(&mut self, out: &mut Vec<OutputNal>, drops: &mut Vec<DropReason>);

    /// Forgets everything in progress (flush, new sender).
    fn reset(&mut self);

    /// True when NAL units are released in decoding order (DON) rather than as they
    /// arrive: H.264 interleaved mode (RFC 6184 §5.5), H.265 with `sprop-max-don-diff` > 0
    /// (RFC 7798 §6). Access units then end where the timestamp changes in decoding order,
    /// as a marked packet's NAL unit need not be the last of its access unit in that order.
    fn reorders(&self) -> bool;
}

/// When NAL units held for decoding order are released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DonReorderLimits {
    /// Release the smallest DON once more than this many NAL units are held
    /// (H.264 `sprop-interleaving-depth`, H.265 `sprop-depack-buf-nalus`).
    pub max_nals: usize,
    /// Release the smallest DON once the held bytes exceed this (`sprop-deint-buf-req`,
    /// `sprop-depack-buf-bytes`); releasing for this reason is reported as an overflow.
    pub max_bytes: usize,
    /// H.265 `sprop-max-don-diff`: a NAL unit whose DON is more than this below the highest
    /// DON received can no longer be preceded by a later arrival, so it is released.
    pub max_don_diff: Option<u64>,
}

/// NAL units ordered by extended DON (then arrival), released in decoding order.
#[derive(Debug, Clone, Default)]
pub struct DonReorder {
    unwrapper: SeqnumUnwrapper,
    /// (extended DON, arrival) -> (NAL unit, timestamp, marker of its packet).
    held: BTreeMap<(u64, u64), (Vec<u8>, u64, bool)>,
    bytes: usize,
    arrivals: u64,
    highest: u64,
    /// NAL units of the packet being handled, until [`Self::end_packet`].
    staged: Vec<(u16, Vec<u8>, u64)>,
}

impl DonReorder {
    /// Takes a NAL unit with its 16-bit DON and releases what `limits` allow into `out`.
    /// `marker` is true for the last NAL unit of a packet with the marker bit: it travels
    /// with that NAL unit, not with whatever is released meanwhile.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        don: u16,
        data: Vec<u8>,
        timestamp: u64,
        marker: bool,
        limits: &DonReorderLimits,
        out: &mut Vec<OutputNal>,
        drops: &mut Vec<DropReason>,
    ) {
        let ext = self.unwrapper.unwrap(don);
        self.highest = self.highest.max(ext);
        self.arrivals += 1;
        self.bytes += data.len();
        self.held
            .insert((ext, self.arrivals), (data, timestamp, marker));
        let max_nals = limits.max_nals.min(MAX_DEINTERLEAVE_NALS);
        while let Some((&(smallest, _), _)) = self.held.first_key_value() {
            let over_bytes = self.bytes > limits.max_bytes;
            let too_old = limits
                .max_don_diff
                .is_some_and(|diff| smallest + diff < self.highest);
            if self.held.len() <= max_nals && !over_bytes && !too_old {
                break;
            }
            if over_bytes {
                drops.push(DropReason::DeinterleaveOverflow);
            }
            self.release_first(out);
        }
    }

    /// Takes a NAL unit of the packet being handled; [`Self::end_packet`] enters it into the
    /// buffer once the packet's last NAL unit (the one a marker bit belongs to) is known.
    pub fn stage(&mut self, don: u16, data: Vec<u8>, timestamp: u64) {
        self.staged.push((don, data, timestamp));
    }

    /// The packet is handled: its staged NAL units enter the buffer, the last one with
    /// `marker` (RFC 6184 §5.1, RFC 7798 §4.1: the marker bit belongs to the last NAL unit
    /// of the packet); releases what `limits` allow. Returns false when nothing was staged.
    pub fn end_packet(
        &mut self,
        marker: bool,
        limits: &DonReorderLimits,
        out: &mut Vec<OutputNal>,
        drops: &mut Vec<DropReason>,
    ) -> bool {
        let staged = std::mem::take(&mut self.staged);
        let count = staged.len();
        for (i, (don, data, timestamp)) in staged.into_iter().enumerate() {
            let last = i + 1 == count;
            self.push(don, data, timestamp, marker && last, limits, out, drops);
        }
        count > 0
    }

    /// Releases everything held, in decoding order (end of stream).
    pub fn drain(&mut self, out: &mut Vec<OutputNal>) {
        while !self.held.is_empty() {
            self.release_first(out);
        }
    }

    /// NAL units held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    fn release_first(&mut self, out: &mut Vec<OutputNal>) {
        if let Some((_, (data, timestamp, marker))) = self.held.pop_first() {
            self.bytes -= data.len();
            out.push(OutputNal {
                data: NalData::Owned(data),
                timestamp,
                marker,
            });
        }
    }
}

/// Test support shared by the H.264 and H.265 depacketizer tests.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{Depacketize, DropReason, NalData};

    /// Pushes `(payload, timestamp, marker, discont)` packets into `d`; returns the bytes of
    /// every NAL unit output and the drops.
    pub(crate) fn run<D: Depacketize>(
        d: &mut D,
        packets: &[(&[u8], u64, bool, bool)],
    ) -> (Vec<Vec<u8>>, Vec<DropReason>) {
        let mut nals = Vec::new();
        let mut drops = Vec::new();
        for (payload, ts, marker, discont) in packets {
            let mut out = Vec::new();
            d.push(payload, *ts, *marker, *discont, &mut out, &mut drops);
            for o in out {
                nals.push(match o.data {
                    NalData::Payload(r) => payload[r].to_vec(),
                    NalData::Owned(v) => v,
                });
            }
        }
        (nals, drops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn released(out: &[OutputNal]) -> Vec<u8> {
        out.iter()
            .map(|o| match &o.data {
                NalData::Owned(v) => v[0],
                NalData::Payload(_) => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn releases_by_depth_bytes_and_don_diff() {
        let mut r = DonReorder::default();
        let mut out = Vec::new();
        let mut drops = Vec::new();
        let depth = DonReorderLimits {
            max_nals: 2,
            max_bytes: 1000,
            max_don_diff: None,
        };
        for don in [3u16, 1, 2, 0] {
            r.push(don, vec![don as u8], 0, false, &depth, &mut out, &mut drops);
        }
        // DON 0 came after DON 1 had to leave: depth 2 was too small for that stream.
        assert_eq!(released(&out), vec![1, 0]);
        r.drain(&mut out);
        assert_eq!(released(&out), vec![1, 0, 2, 3]);
        assert!(drops.is_empty());

        let mut r = DonReorder::default();
        out.clear();
        let diff = DonReorderLimits {
            max_nals: 100,
            max_bytes: 1000,
            max_don_diff: Some(2),
        };
        for don in [1u16, 0, 3, 2, 6] {
            r.push(don, vec![don as u8], 0, false, &diff, &mut out, &mut drops);
        }
        // After DON 6 arrives, DONs below 4 can no longer be preceded.
        assert_eq!(released(&out), vec![0, 1, 2, 3]);
        assert_eq!(r.len(), 1);

        let mut r = DonReorder::default();
        out.clear();
        let bytes = DonReorderLimits {
            max_nals: 100,
            max_bytes: 10,
            max_don_diff: None,
        };
        r.push(5, vec![5; 8], 0, false, &bytes, &mut out, &mut drops);
        r.push(4, vec![4; 8], 0, false, &bytes, &mut out, &mut drops);
        assert_eq!(released(&out), vec![4]);
        assert_eq!(drops, vec![DropReason::DeinterleaveOverflow]);
    }

    #[test]
    fn never_drained_buffer_stays_bounded() {
        // SDP asks for a huge depth and the sender never lets anything go: the buffer holds
        // at most MAX_DEINTERLEAVE_NALS units, and at most max_bytes.
        let limits = DonReorderLimits {
            max_nals: usize::MAX,
            max_bytes: 1 << 20,
            max_don_diff: None,
        };
        let mut r = DonReorder::default();
        let (mut out, mut drops) = (Vec::new(), Vec::new());
        for i in 0..20_000u32 {
            // DONs going backwards in steps, so that nothing is ever "old enough".
            r.push(
                (60_000 - i) as u16,
                vec![0; 100],
                0,
                false,
                &limits,
                &mut out,
                &mut drops,
            );
            assert!(r.len() <= MAX_DEINTERLEAVE_NALS);
            assert!(r.len() * 100 <= 1 << 20);
        }
        assert!(!out.is_empty());
    }

    #[test]
    fn staged_packet_marks_only_its_last_nal_unit() {
        let limits = DonReorderLimits {
            max_nals: 1,
            max_bytes: 1000,
            max_don_diff: None,
        };
        let mut r = DonReorder::default();
        let (mut out, mut drops) = (Vec::new(), Vec::new());
        // A packet of DONs 2 and 3 with the marker bit, then one of DONs 0 and 1 without.
        r.stage(2, vec![2], 0);
        r.stage(3, vec![3], 0);
        assert!(r.end_packet(true, &limits, &mut out, &mut drops));
        r.stage(0, vec![0], 0);
        r.stage(1, vec![1], 0);
        assert!(r.end_packet(false, &limits, &mut out, &mut drops));
        assert!(!r.end_packet(true, &limits, &mut out, &mut drops));
        r.drain(&mut out);
        let marks: Vec<(u8, bool)> = out
            .iter()
            .map(|o| match &o.data {
                NalData::Owned(v) => (v[0], o.marker),
                NalData::Payload(_) => unreachable!(),
            })
            .collect();
        // Depth 1 let DON 2 go before 0 and 1 arrived; the marker stayed with DON 3.
        assert_eq!(marks, vec![(2, false), (0, false), (1, false), (3, true)]);
    }
}
