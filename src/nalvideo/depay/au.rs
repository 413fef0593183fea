// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Access-unit assembly of the NAL depayloader: the NAL units gathered for one access unit,
//! how an access unit ends (leading non-VCL units, the marker bit) and how it is output
//! (RFC 6184 §5.1, RFC 7798 §4.1).

use std::ops::RangeInclusive;

use super::{Action, Actions, MAX_AU_BYTES, MAX_AU_NALS, NalDepayState, OutputFormat};
use crate::memshare::SharedMemories;
use crate::nalvideo::{NalCodec, ParamSets};
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// The smallest range holding both (a `None` is no packet: a parameter set from the caps).
fn union(
    a: Option<RangeInclusive<u64>>,
    b: &Option<RangeInclusive<u64>>,
) -> Option<RangeInclusive<u64>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(*a.start().min(b.start())..=*a.end().max(b.end())),
        (a, b) => a.or_else(|| b.clone()),
    }
}

/// The packets of `nals`, or an empty range when none came from a packet.
pub(super) fn packets_of<'a>(nals: impl IntoIterator<Item = &'a AuNal>) -> RangeInclusive<u64> {
    #[allow(clippy::reversed_empty_ranges)]
    let none = 1..=0;
    nals.into_iter()
        .fold(None, |acc, n| union(acc, &n.packets))
        .unwrap_or(none)
}

/// One NAL unit of the access unit being assembled: its memories (shared with the packet,
/// or owning reassembled bytes), their total size, and the packets it came from.
#[derive(Debug)]
pub(super) struct AuNal {
    pub(super) kind: u8,
    /// A coded slice (VCL NAL unit): an access unit without one is no picture.
    pub(super) vcl: bool,
    pub(super) size: usize,
    pub(super) memories: SharedMemories,
    /// Extended sequence numbers of the packets it was made from (`None`: a parameter set
    /// from the caps or the cache).
    pub(super) packets: Option<RangeInclusive<u64>>,
}

impl AuNal {
    pub(super) fn owned(
        kind: u8,
        vcl: bool,
        bytes: Vec<u8>,
        packets: Option<RangeInclusive<u64>>,
    ) -> AuNal {
        AuNal {
            kind,
            vcl,
            size: bytes.len(),
            memories: smallvec::smallvec![gst::Memory::from_mut_slice(bytes)],
            packets,
        }
    }

    /// Appends the NAL unit's prefix (start code or length) and its memories to `out`.
    fn append_to(self, out: &mut gst::BufferRef, format: OutputFormat) {
        out.append_memory(prefix_memory(format, self.size));
        for memory in self.memories {
            out.append_memory(memory);
        }
    }
}

/// The start code or 4-byte length that goes in front of a NAL unit of `len` bytes.
fn prefix_memory(format: OutputFormat, len: usize) -> gst::Memory {
    match format {
        OutputFormat::ByteStream => gst::Memory::from_slice(START_CODE),
        OutputFormat::LengthPrefixed(_) => gst::Memory::from_slice((len as u32).to_be_bytes()),
    }
}

/// DELTA_UNIT for a unit that is not a keyframe; MARKER for the end of an access unit that
/// the marker bit ended (RFC 6184 §5.1, RFC 7798 §4.1).
fn set_flags(buffer: &mut gst::Buffer, delta: bool, marker: bool) {
    let b = buffer.make_mut();
    b.set_flags(gst::BufferFlags::DELTA_UNIT);
    if !delta {
        b.unset_flags(gst::BufferFlags::DELTA_UNIT);
    }
    if marker {
        b.set_flags(gst::BufferFlags::MARKER);
    }
}

impl<C: NalCodec> NalDepayState<C> {
    /// Ends the access unit assembled so far: one without a coded slice waits to lead the
    /// next one; the others are output, MARKER when their last NAL unit ends a packet with
    /// the marker bit (not when a timestamp change, the end of stream or the size bound
    /// ended them).
    pub(super) fn finish_au(&mut self, actions: &mut Actions) {
        let marker = std::mem::take(&mut self.au_marker);
        let Some(timestamp) = self.au_timestamp.take() else {
            return;
        };
        let mut nals = std::mem::take(&mut self.au);
        self.au_bytes = 0;
        if nals.is_empty() {
            return;
        }
        // Held non-VCL units stay within the access unit bounds; past them they go out.
        let held_bytes: usize = self.leading.iter().chain(&nals).map(|n| n.size).sum();
        let leading_fits =
            self.leading.len() + nals.len() < MAX_AU_NALS && held_bytes < MAX_AU_BYTES;
        if !nals.iter().any(|n| n.vcl) && leading_fits {
            self.leading.append(&mut nals);
            self.leading_timestamp = Some(timestamp);
            return;
        }
        if !self.leading.is_empty() {
            self.leading_timestamp = None;
            nals = std::mem::take(&mut self.leading)
                .into_iter()
                .chain(nals)
                .collect();
        }
        self.output_au(nals, timestamp, marker, actions);
    }

    /// Outputs the NAL units of one access unit (parameter sets inserted in front of a
    /// keyframe that lacks them), unless `wait-for-keyframe` holds it back.
    pub(super) fn output_au(
        &mut self,
        mut nals: Vec<AuNal>,
        timestamp: u64,
        marker: bool,
        actions: &mut Actions,
    ) {
        let keyframe = nals.iter().any(|n| C::is_keyframe(n.kind));
        if keyframe && self.sets.complete() {
            let mut seen = 0u8;
            for n in &nals {
                if let Some(kind) = C::param_set_kind(n.kind) {
                    seen |= ParamSets::kind_bit(kind);
                }
            }
            if seen != self.sets.all_kinds_mask() {
                // Parameter sets from SDP or earlier in the stream go in front of a
                // keyframe that came without them.
                let sets = self.sets.all().map(|s| {
                    AuNal::owned(
                        C::nal_type([s[0], s.get(1).copied().unwrap_or(0)]),
                        false,
                        s.clone(),
                        None,
                    )
                });
                nals = sets.chain(nals).collect();
            }
        }
        if !self.policy.admit(keyframe) {
            gst::debug!(crate::CAT, "Waiting for a keyframe: dropping a delta unit");
            return;
        }
        if self.caps_dirty {
            match self.output_caps() {
                Some(caps) => {
                    self.caps_dirty = false;
                    actions.push(Action::SetCaps(caps));
                }
                None => {
                    gst::debug!(
                        crate::CAT,
                        "No parameter sets yet for length-prefixed output: dropping"
                    );
                    return;
                }
            }
        }
        if self.au_aligned {
            // Each unit's prefix memory, then its own memories (no buffer in between).
            let packets = packets_of(&nals);
            let mut out = gst::Buffer::new();
            {
                let b = out.make_mut();
                for nal in nals {
                    nal.append_to(b, self.format);
                }
            }
            set_flags(&mut out, !keyframe, marker);
            actions.push(Action::Push {
                buffer: out,
                timestamp,
                packets,
            });
        } else {
            let count = nals.len();
            for (i, nal) in nals.into_iter().enumerate() {
                let packets = packets_of([&nal]);
                let mut out = gst::Buffer::new();
                nal.append_to(out.make_mut(), self.format);
                set_flags(&mut out, !keyframe, marker && i + 1 == count);
                actions.push(Action::Push {
                    buffer: out,
                    timestamp,
                    packets,
                });
            }
        }
    }
}
