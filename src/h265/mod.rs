// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! H.265/HEVC over RTP (RFC 7798): `rtph265pay2` and `rtph265depay2`, the shared NAL video
//! glue ([`crate::nalvideo`]) with H.265's parameter sets (VPS, SPS, PPS), `hvcC` and SDP
//! fields (§7.1).

pub mod depay;
pub mod pay;

use gst::prelude::*;
use rtp2_core::h265::depacketizer::{DepacketizerConfig, H265Depacketizer};
use rtp2_core::h265::packetizer::H265Format;
use rtp2_core::h265::params::{
    HevcDecoderConfig, parse_sprop_value, pps_id, sdp_profile_tier_level, sprop_value, sps_id,
    sps_profile_tier_level, vps_id,
};
use rtp2_core::h265::{NAL_PPS, NAL_SPS, NAL_VPS, is_irap, nal_type};

use crate::nalvideo::{LevelFields, NalCodec, ParamSets, caps_number};

/// H.265 for the shared NAL video glue.
#[derive(Debug)]
pub struct H265Codec;

const VPS_KIND: usize = 0;
const SPS_KIND: usize = 1;
const PPS_KIND: usize = 2;

/// The SDP fields of the parameter sets, by kind (RFC 7798 §7.1).
const SPROP_FIELDS: [&str; 3] = ["sprop-vps", "sprop-sps", "sprop-pps"];

impl NalCodec for H265Codec {
    type Format = H265Format;
    type Depacketizer = H265Depacketizer;
    const ENCODING_NAME: &'static str = "H265";
    const MEDIA_TYPE: &'static str = "video/x-h265";
    const LENGTH_PREFIXED: &'static [&'static str] = &["hvc1", "hev1"];
    const LENGTH_PREFIXED_OUTPUT: &'static [&'static str] = &["hvc1", "hev1"];
    const PARAM_SET_KINDS: usize = 3;
    const KEY_FLAG_ON_FIRST_PACKET_ONLY: bool = false;

    fn nal_type(header: [u8; 2]) -> u8 {
        nal_type(header)
    }

    fn param_set_kind(nal_type: u8) -> Option<usize> {
        match nal_type {
            NAL_VPS => Some(VPS_KIND),
            NAL_SPS => Some(SPS_KIND),
            NAL_PPS => Some(PPS_KIND),
            _ => None,
        }
    }

    fn param_set_id(kind: usize, nal: &[u8]) -> Option<u32> {
        match kind {
            VPS_KIND => vps_id(nal),
            SPS_KIND => sps_id(nal),
            _ => pps_id(nal),
        }
    }

    fn is_keyframe(nal_type: u8) -> bool {
        is_irap(nal_type)
    }

    fn parse_codec_data(data: &[u8]) -> Result<(usize, Vec<Vec<u8>>), String> {
        let config = HevcDecoderConfig::parse(data).map_err(|e| e.to_string())?;
        let sets = config.vps.into_iter().chain(config.sps).chain(config.pps);
        Ok((config.length_size, sets.filter(|s| s.len() > 2).collect()))
    }

    fn build_codec_data(sets: &ParamSets) -> Vec<u8> {
        let kind = |k| sets.of_kind(k).cloned().collect::<Vec<_>>();
        HevcDecoderConfig::build(&kind(VPS_KIND), &kind(SPS_KIND), &kind(PPS_KIND))
    }

    fn set_sdp_fields(sets: &ParamSets, s: &mut gst::StructureRef) {
        if let Some((profile, tier, level)) = sets
            .of_kind(SPS_KIND)
            .next()
            .and_then(|sps| sdp_profile_tier_level(sps))
        {
            s.set("profile-id", profile);
            s.set("tier-flag", tier);
            s.set("level-id", level);
        }
        if sets.complete() {
            for (kind, field) in SPROP_FIELDS.iter().enumerate() {
                s.set(*field, sprop_value(sets.of_kind(kind).map(Vec::as_slice)));
            }
        }
    }

    fn sets_from_caps(s: &gst::StructureRef) -> Result<Vec<Vec<u8>>, String> {
        let mut sets = Vec::new();
        for field in SPROP_FIELDS {
            if let Ok(value) = s.get::<&str>(field) {
                sets.extend(parse_sprop_value(value).map_err(|e| e.to_string())?);
            }
        }
        Ok(sets)
    }

    fn sps_caps_fields(nal: &[u8]) -> Option<LevelFields> {
        if nal_type([*nal.first()?, *nal.get(1)?]) != NAL_SPS {
            return None;
        }
        let ptl = sps_profile_tier_level(nal)?;
        let fields = [
            ("profile", ptl.profile_name()),
            ("tier", Some(ptl.tier_name())),
            ("level", ptl.level_name()),
        ];
        Some(LevelFields {
            level_idc: ptl.level_idc,
            fields: fields
                .into_iter()
                .filter_map(|(name, value)| Some((name, value?)))
                .collect(),
        })
    }

    fn caps_warnings(s: &gst::StructureRef) -> Vec<String> {
        max_don_diff(s).err().into_iter().collect()
    }

    fn depacketizer_for_caps(s: &gst::StructureRef) -> H265Depacketizer {
        let defaults = DepacketizerConfig::default();
        H265Depacketizer::new(DepacketizerConfig {
            max_don_diff: max_don_diff(s).unwrap_or(0),
            depack_buf_nalus: caps_number(s, "sprop-depack-buf-nalus").unwrap_or(0),
            depack_buf_bytes: caps_number(s, "sprop-depack-buf-bytes")
                .filter(|b| *b > 0)
                .unwrap_or(defaults.depack_buf_bytes)
                .min(defaults.depack_buf_bytes),
            ..defaults
        })
    }
}

/// Largest `sprop-max-don-diff` RFC 7798 §7.1 allows.
const MAX_DON_DIFF: usize = 32767;

/// `sprop-max-don-diff` of the RTP caps (0 when absent: no DONL fields). A value outside
/// 0–32767 is not one RFC 7798 §7.1 allows, so nothing can be known from it, not even
/// whether the packets carry DONL fields: the error says so, and the caller treats it as
/// absent, as the C `rtph265depay` (which never reads DONL) depayloads such a stream.
fn max_don_diff(s: &gst::StructureRef) -> Result<u32, String> {
    if !s.has_field("sprop-max-don-diff") {
        return Ok(0);
    }
    caps_number(s, "sprop-max-don-diff")
        .filter(|v| *v <= MAX_DON_DIFF)
        .map(|v| v as u32)
        .ok_or_else(|| {
            let value = s
                .value("sprop-max-don-diff")
                .ok()
                .and_then(|v| v.serialize().ok())
                .map_or_else(String::new, |v| v.to_string());
            format!(
                "Ignoring sprop-max-don-diff={value}: RFC 7798 allows 0-{MAX_DON_DIFF}; \
                 depayloading as if it were absent (no DONL fields)"
            )
        })
}
