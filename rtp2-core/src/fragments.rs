// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Reassembly of fragmented NAL units, shared by the H.264 FU-A/FU-B (RFC 6184 §5.8) and the
//! H.265 FU (RFC 7798 §4.4.3) depacketizers.
//!
//! Both formats send a NAL unit as a start fragment, middle fragments and an end fragment;
//! what differs is only the syntax, which each depacketizer reads into a [`Fragment`]: the
//! size of the payload and FU headers, how the NAL header is rebuilt from them, whether a
//! start fragment carries a 16-bit decoding order number (H.264 FU-B, H.265 DONL) and
//! whether a fragment may continue a NAL unit (an H.264 FU-B is only ever a start).
//!
//! A NAL unit that lost a fragment, changed its type mid-way or grew past the limit is
//! dropped whole (a counted [`DropReason`]); the fragments that follow it are skipped quietly
//! until the next start, so one broken NAL unit counts once.

use crate::naldepack::DropReason;

/// One fragmentation unit, as the codec's depacketizer read it from the packet.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fragment<'a> {
    /// S bit: the first fragment of a NAL unit.
    pub start: bool,
    /// E bit: the last fragment of a NAL unit.
    pub end: bool,
    /// The fragmented NAL unit's header, rebuilt from the payload header and the FU header
    /// (one byte for H.264, two for H.265). Every fragment of a NAL unit rebuilds the same.
    pub nal_header: &'a [u8],
    /// The NAL unit type in `nal_header`, for the drop reason of a forbidden type.
    pub nal_type: u8,
    /// The type may be fragmented (a plain NAL unit, not an aggregation or another FU).
    pub type_allowed: bool,
    /// The bytes after the FU header: the fragment data, preceded on a start fragment by a
    /// 16-bit decoding order number when `start_has_don`.
    pub rest: &'a [u8],
    /// A start fragment carries a DON before its data (H.264 FU-B, H.265 DONL).
    pub start_has_don: bool,
    /// The fragment may follow a start (false for an H.264 FU-B that is not a start: the
    /// rest of a FU-B NAL unit travels as FU-A, RFC 6184 §5.8).
    pub may_continue: bool,
    /// Extended RTP timestamp of the packet.
    pub timestamp: u64,
}

/// A NAL unit put back together from its fragments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reassembled {
    /// The NAL unit, header included.
    pub data: Vec<u8>,
    /// The start fragment's timestamp.
    pub timestamp: u64,
    /// The start fragment's DON, when it carried one.
    pub don: Option<u16>,
}

#[derive(Debug, Clone)]
struct InProgress {
    data: Vec<u8>,
    timestamp: u64,
    don: Option<u16>,
}

/// The fragment reassembly state machine: at most one NAL unit in progress, never longer
/// than `max_nal_size` bytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct FragmentAssembler {
    max_nal_size: usize,
    in_progress: Option<InProgress>,
    /// Skip fragments until the next start (after an oversize or broken NAL unit).
    skipping_fragments: bool,
}

impl FragmentAssembler {
    /// An assembler that drops NAL units longer than `max_nal_size` bytes.
    pub fn new(max_nal_size: usize) -> Self {
        FragmentAssembler {
            max_nal_size,
            ..Default::default()
        }
    }

    /// Drops the NAL unit in progress, if any, as incomplete: packets were lost, a packet
    /// that is not a fragment came, or the stream ended.
    pub fn abandon(&mut self, drops: &mut Vec<DropReason>) {
        if self.in_progress.take().is_some() {
            drops.push(DropReason::IncompleteFragmentedNal);
        }
    }

    /// Bytes of the NAL unit in progress (0 when none).
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.in_progress.as_ref().map_or(0, |p| p.data.len())
    }

    /// Takes one fragment; returns the NAL unit it completes.
    pub fn push(
        &mut self,
        fragment: &Fragment<'_>,
        drops: &mut Vec<DropReason>,
    ) -> Option<Reassembled> {
        match (fragment.start, fragment.end) {
            (true, true) => {
                // Both RFCs forbid it; whatever was in progress cannot go on either.
                self.in_progress = None;
                drops.push(DropReason::FragmentStartAndEnd);
                None
            }
            (true, false) => {
                self.start(fragment, drops);
                None
            }
            (false, end) => self.continue_with(fragment, end, drops),
        }
    }

    fn start(&mut self, fragment: &Fragment<'_>, drops: &mut Vec<DropReason>) {
        self.abandon(drops);
        self.skipping_fragments = false;
        let (don, data) = if fragment.start_has_don {
            let Some((don, data)) = fragment.rest.split_first_chunk::<2>() else {
                drops.push(DropReason::EmptyPayload);
                return;
            };
            (Some(u16::from_be_bytes(*don)), data)
        } else {
            (None, fragment.rest)
        };
        if !fragment.type_allowed {
            drops.push(DropReason::UnsupportedType(fragment.nal_type));
            self.skipping_fragments = true;
            return;
        }
        let len = fragment.nal_header.len() + data.len();
        if len > self.max_nal_size {
            drops.push(DropReason::FragmentedNalTooLarge(self.max_nal_size));
            self.skipping_fragments = true;
            return;
        }
        // Room for a few more fragments of this size without reallocating.
        let mut bytes = Vec::with_capacity((len * 4).min(self.max_nal_size));
        bytes.extend_from_slice(fragment.nal_header);
        bytes.extend_from_slice(data);
        self.in_progress = Some(InProgress {
            data: bytes,
            timestamp: fragment.timestamp,
            don,
        });
    }

    fn continue_with(
        &mut self,
        fragment: &Fragment<'_>,
        end: bool,
        drops: &mut Vec<DropReason>,
    ) -> Option<Reassembled> {
        let Some(mut unit) = self.in_progress.take() else {
            // The start was lost or dropped: count the NAL unit once, skip to its end.
            if !self.skipping_fragments {
                drops.push(DropReason::FragmentWithoutStart);
                self.skipping_fragments = true;
            }
            if end {
                self.skipping_fragments = false;
            }
            return None;
        };
        // A later fragment with another timestamp breaks RFC 6184 §5.8 / RFC 7798 §4.4.3 but
        // is still the same NAL unit (some senders step it): the start fragment's timestamp
        // is kept, as the C depayloaders do. Only a changed NAL header or FU kind breaks it.
        if !fragment.may_continue || !unit.data.starts_with(fragment.nal_header) {
            drops.push(DropReason::FragmentMismatch);
            self.skipping_fragments = !end;
            return None;
        }
        if unit.data.len() + fragment.rest.len() > self.max_nal_size {
            drops.push(DropReason::FragmentedNalTooLarge(self.max_nal_size));
            self.skipping_fragments = !end;
            return None;
        }
        unit.data.extend_from_slice(fragment.rest);
        if !end {
            self.in_progress = Some(unit);
            return None;
        }
        Some(Reassembled {
            data: unit.data,
            timestamp: unit.timestamp,
            don: unit.don,
        })
    }
}

#[cfg(test)]
#[path = "fragments_tests.rs"]
mod tests;
