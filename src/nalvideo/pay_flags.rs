// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The buffer flags of the NAL payloaders' packets, as the C `rtph264pay`/`rtph265pay` derive
//! them from the input buffer's flags: DISCONT on the first packet made from a DISCONT input,
//! DELTA_UNIT per codec ([`NalCodec::KEY_FLAG_ON_FIRST_PACKET_ONLY`]).

use super::NalCodec;

/// Buffer flags a NAL unit passes to the packet that starts with it (as the C payloaders:
/// from the input buffer's DELTA_UNIT and DISCONT flags).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct NalFlags {
    /// First data of a DISCONT input buffer.
    pub(super) discont: bool,
    /// Of a non-key input buffer, or (H.264) not the first unit of a key one.
    pub(super) delta_unit: bool,
}

/// Where the current input buffer is: its timing and flags, and whether its first NAL unit
/// has been handed on.
#[derive(Debug, Clone, Copy)]
pub(super) struct InputInfo {
    pub(super) pts: Option<gst::ClockTime>,
    discont: bool,
    delta_unit: bool,
    first_taken: bool,
}

impl InputInfo {
    pub(super) fn of(buffer: &gst::Buffer) -> Self {
        InputInfo {
            pts: buffer.pts(),
            discont: buffer.flags().contains(gst::BufferFlags::DISCONT),
            delta_unit: buffer.flags().contains(gst::BufferFlags::DELTA_UNIT),
            first_taken: false,
        }
    }

    /// Flags of the next NAL unit: DISCONT only on the first; DELTA_UNIT per codec.
    pub(super) fn next_flags<C: NalCodec>(&mut self) -> NalFlags {
        let first = !std::mem::replace(&mut self.first_taken, true);
        NalFlags {
            discont: self.discont && first,
            delta_unit: self.delta_unit || (C::KEY_FLAG_ON_FIRST_PACKET_ONLY && !first),
        }
    }
}
