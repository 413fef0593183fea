// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! H.264 over RTP (RFC 6184).
//!
//! - [`packetizer`]: NAL units → packets (single NAL unit §5.6, STAP-A §5.7.1,
//!   FU-A §5.8) for packetization modes 0 and 1.
//! - [`depacketizer`]: packets → NAL units, for every packet type of §5.6–5.8 and the
//!   interleaved mode (§5.5, §6.4), with loss and hostile-input handling.
//! - [`params`]: SPS/PPS for SDP (`profile-level-id`, `sprop-parameter-sets`, §8.1) and the
//!   `avcC` codec data of ISO/IEC 14496-15.

pub mod depacketizer;
pub mod packetizer;
pub mod params;

/// Coded slice of a non-IDR picture.
pub const NAL_SLICE: u8 = 1;
/// Coded slice of an IDR picture: a keyframe.
pub const NAL_IDR: u8 = 5;
/// Supplemental enhancement information.
pub const NAL_SEI: u8 = 6;
/// Sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// Picture parameter set.
pub const NAL_PPS: u8 = 8;
/// Access unit delimiter.
pub const NAL_AUD: u8 = 9;
/// Single-time aggregation packet A (§5.7.1).
pub const NAL_STAP_A: u8 = 24;
/// Single-time aggregation packet B, with DON (§5.7.1).
pub const NAL_STAP_B: u8 = 25;
/// Multi-time aggregation packet with 16-bit timestamp offsets (§5.7.2).
pub const NAL_MTAP16: u8 = 26;
/// Multi-time aggregation packet with 24-bit timestamp offsets (§5.7.2).
pub const NAL_MTAP24: u8 = 27;
/// Fragmentation unit A (§5.8).
pub const NAL_FU_A: u8 = 28;
/// Fragmentation unit B, with DON (§5.8).
pub const NAL_FU_B: u8 = 29;

/// `nal_unit_type` of a NAL header byte (§1.3).
pub fn nal_type(header: u8) -> u8 {
    header & 0x1f
}

/// `nal_ref_idc` (NRI) bits of a NAL header byte, in place (0x00–0x60).
pub fn nri_bits(header: u8) -> u8 {
    header & 0x60
}

/// The forbidden_zero_bit (F), set only on NAL units with syntax violations (§5.3).
pub fn forbidden_bit(header: u8) -> bool {
    header & 0x80 != 0
}

/// True for the NAL unit types of coded slices (VCL, types 1–5).
pub fn is_vcl(nal_type: u8) -> bool {
    (1..=5).contains(&nal_type)
}
