// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! H.265/HEVC over RTP (RFC 7798).
//!
//! - [`packetizer`]: NAL units → single NAL unit packets (§4.4.1), aggregation packets
//!   (§4.4.2) and fragmentation units (§4.4.3), through the shared [`crate::nalpack`].
//! - [`depacketizer`]: packets → NAL units, including DONL/DOND (decoding order, §6) and
//!   PACI packets (§4.4.4), with loss and hostile-input handling.
//! - [`params`]: VPS/SPS/PPS for SDP (`sprop-vps`, `sprop-sps`, `sprop-pps`, `profile-id`,
//!   `tier-flag`, `level-id`, §7.1) and the `hvcC` codec data of ISO/IEC 14496-15.
//! - profile, tier and level names of the elementary stream caps: methods of
//!   [`params::ProfileTierLevel`] (`profile_name`, `tier_name`, `level_name`).
//!
//! The NAL unit header is two bytes (§1.1.4): F (1 bit), Type (6), LayerId (6), TID (3).

pub mod depacketizer;
pub mod packetizer;
pub mod params;
mod profile;

/// First IRAP (intra random access point) type: BLA_W_LP. IRAP pictures are types 16–23.
pub const NAL_BLA_W_LP: u8 = 16;
/// IDR_W_RADL: an IDR picture.
pub const NAL_IDR_W_RADL: u8 = 19;
/// CRA_NUT: a clean random access picture.
pub const NAL_CRA: u8 = 21;
/// Last type of the IRAP range (RSV_IRAP_VCL23).
pub const NAL_IRAP_LAST: u8 = 23;
/// Video parameter set.
pub const NAL_VPS: u8 = 32;
/// Sequence parameter set.
pub const NAL_SPS: u8 = 33;
/// Picture parameter set.
pub const NAL_PPS: u8 = 34;
/// Access unit delimiter.
pub const NAL_AUD: u8 = 35;
/// Prefix SEI.
pub const NAL_PREFIX_SEI: u8 = 39;
/// Suffix SEI.
pub const NAL_SUFFIX_SEI: u8 = 40;
/// Aggregation packet (§4.4.2).
pub const NAL_AP: u8 = 48;
/// Fragmentation unit (§4.4.3).
pub const NAL_FU: u8 = 49;
/// Payload content information packet (§4.4.4).
pub const NAL_PACI: u8 = 50;

/// `nal_unit_type` of a NAL unit header (H.265 §7.3.1.2).
pub fn nal_type(header: [u8; 2]) -> u8 {
    (header[0] >> 1) & 0x3f
}

/// `nuh_layer_id` of a NAL unit header.
pub fn layer_id(header: [u8; 2]) -> u8 {
    ((header[0] & 1) << 5) | (header[1] >> 3)
}

/// `nuh_temporal_id_plus1` (TID) of a NAL unit header.
pub fn tid(header: [u8; 2]) -> u8 {
    header[1] & 0x07
}

/// The forbidden_zero_bit (F), which must be 0 (RFC 7798 §1.1.4).
pub fn forbidden_bit(header: [u8; 2]) -> bool {
    header[0] & 0x80 != 0
}

/// A NAL unit header from its fields.
pub fn make_header(forbidden: bool, kind: u8, layer_id: u8, tid: u8) -> [u8; 2] {
    [
        (u8::from(forbidden) << 7) | ((kind & 0x3f) << 1) | ((layer_id >> 5) & 1),
        ((layer_id & 0x1f) << 3) | (tid & 0x07),
    ]
}

/// True for coded slices (VCL NAL unit types 0–31).
pub fn is_vcl(kind: u8) -> bool {
    kind < 32
}

/// True for IRAP pictures (types 16–23): where a decoder can start, a keyframe.
pub fn is_irap(kind: u8) -> bool {
    (NAL_BLA_W_LP..=NAL_IRAP_LAST).contains(&kind)
}

/// True for the types a NAL unit (not a packet structure) may have in RTP: 0–47.
pub fn is_nal_unit_type(kind: u8) -> bool {
    kind < NAL_AP
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields() {
        // 0x40 0x01: VPS, layer 0, TID 1.
        assert_eq!(nal_type([0x40, 0x01]), NAL_VPS);
        assert_eq!(layer_id([0x40, 0x01]), 0);
        assert_eq!(tid([0x40, 0x01]), 1);
        let h = make_header(false, NAL_FU, 33, 5);
        assert_eq!((nal_type(h), layer_id(h), tid(h)), (NAL_FU, 33, 5));
        assert!(forbidden_bit(make_header(true, 1, 0, 1)));
        assert!(is_irap(NAL_IDR_W_RADL) && is_irap(NAL_CRA) && !is_irap(1));
    }
}
