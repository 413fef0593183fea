// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! H.264 over RTP (RFC 6184): `rtph264pay2` and `rtph264depay2`, the shared NAL video glue
//! ([`crate::nalvideo`]) with H.264's parameter sets, `avcC` and SDP fields.

pub mod depay;
pub mod pay;

use rtp2_core::h264::depacketizer::{DepacketizerConfig, H264Depacketizer};
use rtp2_core::h264::packetizer::H264Format;
use rtp2_core::h264::params::{
    AvcDecoderConfig, parse_sprop_parameter_sets, pps_id, profile_level_id, sprop_parameter_sets,
    sps_id, sps_level_name, sps_profile_name,
};
use rtp2_core::h264::{NAL_IDR, NAL_PPS, NAL_SPS, nal_type};

use crate::nalvideo::{LevelFields, NalCodec, ParamSets, caps_number};

/// H.264 for the shared NAL video glue.
#[derive(Debug)]
pub struct H264Codec;

const SPS_KIND: usize = 0;
const PPS_KIND: usize = 1;

impl NalCodec for H264Codec {
    type Format = H264Format;
    type Depacketizer = H264Depacketizer;
    const ENCODING_NAME: &'static str = "H264";
    const MEDIA_TYPE: &'static str = "video/x-h264";
    const LENGTH_PREFIXED: &'static [&'static str] = &["avc", "avc3"];
    const LENGTH_PREFIXED_OUTPUT: &'static [&'static str] = &["avc"];
    const PARAM_SET_KINDS: usize = 2;
    const KEY_FLAG_ON_FIRST_PACKET_ONLY: bool = true;

    fn nal_type(header: [u8; 2]) -> u8 {
        nal_type(header[0])
    }

    fn param_set_kind(nal_type: u8) -> Option<usize> {
        match nal_type {
            NAL_SPS => Some(SPS_KIND),
            NAL_PPS => Some(PPS_KIND),
            _ => None,
        }
    }

    fn param_set_id(kind: usize, nal: &[u8]) -> Option<u32> {
        if kind == SPS_KIND {
            sps_id(nal)
        } else {
            pps_id(nal)
        }
    }

    fn is_keyframe(nal_type: u8) -> bool {
        nal_type == NAL_IDR
    }

    fn parse_codec_data(data: &[u8]) -> Result<(usize, Vec<Vec<u8>>), String> {
        let config = AvcDecoderConfig::parse(data).map_err(|e| e.to_string())?;
        let sets = config.sps.into_iter().chain(config.pps);
        Ok((config.length_size, sets.filter(|s| !s.is_empty()).collect()))
    }

    fn build_codec_data(sets: &ParamSets) -> Vec<u8> {
        let sps: Vec<Vec<u8>> = sets.of_kind(SPS_KIND).cloned().collect();
        let pps: Vec<Vec<u8>> = sets.of_kind(PPS_KIND).cloned().collect();
        AvcDecoderConfig::build(&sps, &pps)
    }

    fn set_sdp_fields(sets: &ParamSets, s: &mut gst::StructureRef) {
        if let Some(plid) = sets
            .of_kind(SPS_KIND)
            .next()
            .and_then(|s| profile_level_id(s))
        {
            s.set("profile-level-id", plid);
        }
        if sets.complete() {
            s.set(
                "sprop-parameter-sets",
                sprop_parameter_sets(sets.all().map(Vec::as_slice)),
            );
        }
    }

    fn sets_from_caps(s: &gst::StructureRef) -> Result<Vec<Vec<u8>>, String> {
        match s.get::<&str>("sprop-parameter-sets") {
            Ok(sprop) => parse_sprop_parameter_sets(sprop).map_err(|e| e.to_string()),
            Err(_) => Ok(Vec::new()),
        }
    }

    fn sps_caps_fields(nal: &[u8]) -> Option<LevelFields> {
        if nal_type(*nal.first()?) != NAL_SPS {
            return None;
        }
        let fields: Vec<_> = [
            ("level", sps_level_name(nal)),
            ("profile", sps_profile_name(nal)),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect();
        Some(LevelFields {
            level_idc: *nal.get(3)?,
            fields,
        })
    }

    fn depacketizer_for_caps(s: &gst::StructureRef) -> H264Depacketizer {
        let interleaved = s
            .get::<&str>("packetization-mode")
            .is_ok_and(|m| m.trim() == "2");
        let defaults = DepacketizerConfig::default();
        H264Depacketizer::new(DepacketizerConfig {
            interleaved,
            interleaving_depth: caps_number(s, "sprop-interleaving-depth").unwrap_or(0),
            deint_buf_bytes: caps_number(s, "sprop-deint-buf-req")
                .unwrap_or(defaults.deint_buf_bytes)
                .min(defaults.deint_buf_bytes),
            ..defaults
        })
    }
}
