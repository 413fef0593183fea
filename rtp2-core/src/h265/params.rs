// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! H.265 parameter sets for signalling: the SDP parameters of RFC 7798 §7.1 (`sprop-vps`,
//! `sprop-sps`, `sprop-pps`, `profile-id`, `tier-flag`, `level-id`) and the `hvcC` decoder
//! configuration record of ISO/IEC 14496-15 §8.3.3.1 (GStreamer's `codec_data` for
//! `stream-format=hvc1`/`hev1`). The parameter set syntax is that of ITU-T H.265 §7.3.2.

use std::fmt;

use crate::bits::RbspReader;

/// Bad signalling data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamsError {
    /// A `sprop-*` entry that is not base64 (or decodes to nothing).
    BadBase64(String),
    /// An `hvcC` record that is cut short or malformed.
    BadHvcC(&'static str),
}

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadBase64(s) => write!(f, "sprop parameter set entry '{s}' is not base64"),
            Self::BadHvcC(why) => write!(f, "invalid hvcC codec_data: {why}"),
        }
    }
}

impl std::error::Error for ParamsError {}

/// The general part of `profile_tier_level()` (H.265 §7.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProfileTierLevel {
    /// general_profile_space (2 bits).
    pub profile_space: u8,
    /// general_tier_flag: 0 Main tier, 1 High tier.
    pub tier_flag: u8,
    /// general_profile_idc: 1 Main, 2 Main 10, 3 Main Still Picture, 4 range extensions...
    pub profile_idc: u8,
    /// general_profile_compatibility_flag\[32\].
    pub compatibility_flags: u32,
    /// The 48 bits from general_progressive_source_flag to the end of the constraint flags.
    pub constraint_flags: u64,
    /// general_level_idc: 30 × the level number.
    pub level_idc: u8,
}

/// What `hvcC` needs from an SPS (H.265 §7.3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpsInfo {
    /// General profile, tier and level.
    pub ptl: ProfileTierLevel,
    /// sps_max_sub_layers_minus1.
    pub max_sub_layers_minus1: u8,
    /// sps_temporal_id_nesting_flag.
    pub temporal_id_nesting: bool,
    /// sps_seq_parameter_set_id.
    pub sps_id: u32,
    /// chroma_format_idc (1 = 4:2:0).
    pub chroma_format_idc: u32,
    /// bit_depth_luma_minus8.
    pub bit_depth_luma_minus8: u32,
    /// bit_depth_chroma_minus8.
    pub bit_depth_chroma_minus8: u32,
}

/// Reads `profile_tier_level(1, max_sub_layers_minus1)` (H.265 §7.3.3), returning the
/// general part and leaving the reader after the sub-layer part.
fn read_ptl(r: &mut RbspReader, max_sub_layers_minus1: u8) -> Option<ProfileTierLevel> {
    let profile_space = r.bits(2)? as u8;
    let tier_flag = r.bits(1)? as u8;
    let profile_idc = r.bits(5)? as u8;
    let compatibility_flags = r.bits(32)?;
    let constraint_flags = (u64::from(r.bits(16)?) << 32) | u64::from(r.bits(32)?);
    let level_idc = r.bits(8)? as u8;
    let subs = usize::from(max_sub_layers_minus1);
    let mut present = [(false, false); 8];
    for p in present.iter_mut().take(subs) {
        *p = (r.bit()? == 1, r.bit()? == 1);
    }
    if subs > 0 {
        r.skip(2 * (8 - subs as u32))?;
    }
    for (profile, level) in present.iter().take(subs) {
        if *profile {
            r.skip(88)?;
        }
        if *level {
            r.skip(8)?;
        }
    }
    Some(ProfileTierLevel {
        profile_space,
        tier_flag,
        profile_idc,
        compatibility_flags,
        constraint_flags,
        level_idc,
    })
}

/// Parses an SPS NAL unit (2-byte NAL header included) up to the bit depths (H.265
/// §7.3.2.2.1).
pub fn parse_sps(sps: &[u8]) -> Option<SpsInfo> {
    let mut r = RbspReader::new(sps.get(2..)?);
    r.skip(4)?; // sps_video_parameter_set_id
    let max_sub_layers_minus1 = r.bits(3)? as u8;
    if max_sub_layers_minus1 > 6 {
        return None;
    }
    let temporal_id_nesting = r.bit()? == 1;
    let ptl = read_ptl(&mut r, max_sub_layers_minus1)?;
    let sps_id = r.ue()?;
    if sps_id > 15 {
        return None;
    }
    let chroma_format_idc = r.ue()?;
    if chroma_format_idc > 3 {
        return None;
    }
    if chroma_format_idc == 3 {
        r.skip(1)?; // separate_colour_plane_flag
    }
    r.ue()?; // pic_width_in_luma_samples
    r.ue()?; // pic_height_in_luma_samples
    if r.bit()? == 1 {
        // conformance window offsets
        for _ in 0..4 {
            r.ue()?;
        }
    }
    let bit_depth_luma_minus8 = r.ue()?;
    let bit_depth_chroma_minus8 = r.ue()?;
    Some(SpsInfo {
        ptl,
        max_sub_layers_minus1,
        temporal_id_nesting,
        sps_id,
        chroma_format_idc,
        bit_depth_luma_minus8,
        bit_depth_chroma_minus8,
    })
}

/// The general profile, tier and level of an SPS NAL unit.
pub fn sps_profile_tier_level(sps: &[u8]) -> Option<ProfileTierLevel> {
    let mut r = RbspReader::new(sps.get(2..)?);
    r.skip(4)?;
    let max_sub_layers_minus1 = r.bits(3)? as u8;
    r.skip(1)?;
    read_ptl(&mut r, max_sub_layers_minus1.min(6))
}

/// `vps_video_parameter_set_id` of a VPS NAL unit (the first 4 bits of its RBSP).
pub fn vps_id(vps: &[u8]) -> Option<u32> {
    vps.get(2).map(|b| u32::from(b >> 4))
}

/// `sps_seq_parameter_set_id` of an SPS NAL unit (0–15).
pub fn sps_id(sps: &[u8]) -> Option<u32> {
    parse_sps(sps).map(|info| info.sps_id).or_else(|| {
        // An SPS that parses only as far as its id still has one.
        let mut r = RbspReader::new(sps.get(2..)?);
        r.skip(4)?;
        let subs = r.bits(3)? as u8;
        r.skip(1)?;
        read_ptl(&mut r, subs.min(6))?;
        r.ue().filter(|id| *id < 16)
    })
}

/// `pps_pic_parameter_set_id` of a PPS NAL unit (0–63).
pub fn pps_id(pps: &[u8]) -> Option<u32> {
    RbspReader::new(pps.get(2..)?).ue().filter(|id| *id < 64)
}

/// RFC 7798 §7.1 `profile-id`, `tier-flag` and `level-id` of an SPS, as decimal strings.
pub fn sdp_profile_tier_level(sps: &[u8]) -> Option<(String, String, String)> {
    let ptl = sps_profile_tier_level(sps)?;
    Some((
        ptl.profile_idc.to_string(),
        ptl.tier_flag.to_string(),
        ptl.level_idc.to_string(),
    ))
}

/// A `sprop-vps` / `sprop-sps` / `sprop-pps` value (§7.1): base64 NAL units, comma-separated,
/// the same form as H.264's `sprop-parameter-sets`.
pub fn sprop_value<'a>(nals: impl IntoIterator<Item = &'a [u8]>) -> String {
    crate::h264::params::sprop_parameter_sets(nals)
}

/// Parses a `sprop-*` value: comma-separated base64 (spaces tolerated, empty entries skipped).
pub fn parse_sprop_value(value: &str) -> Result<Vec<Vec<u8>>, ParamsError> {
    crate::h264::params::parse_sprop_parameter_sets(value).map_err(|e| match e {
        crate::h264::params::ParamsError::BadBase64(s) => ParamsError::BadBase64(s),
        other => ParamsError::BadBase64(other.to_string()),
    })
}

/// The content of an `hvcC` record (ISO/IEC 14496-15 §8.3.3.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HevcDecoderConfig {
    /// Bytes of each NAL length field in hvc1/hev1 samples (1 to 4: 3 is rare,
    /// but valid, and accepted by the C elements and parsers).
    pub length_size: usize,
    /// Video parameter sets.
    pub vps: Vec<Vec<u8>>,
    /// Sequence parameter sets.
    pub sps: Vec<Vec<u8>>,
    /// Picture parameter sets.
    pub pps: Vec<Vec<u8>>,
    /// Prefix and suffix SEI NAL units.
    pub sei: Vec<Vec<u8>>,
}

/// Bytes of the fixed part of `hvcC`, up to and including numOfArrays.
const HVCC_FIXED: usize = 23;

impl HevcDecoderConfig {
    /// Parses an `hvcC` record, checking every length.
    pub fn parse(data: &[u8]) -> Result<Self, ParamsError> {
        let head = data
            .get(..HVCC_FIXED)
            .ok_or(ParamsError::BadHvcC("shorter than 23 bytes"))?;
        if head[0] != 1 {
            return Err(ParamsError::BadHvcC("configurationVersion is not 1"));
        }
        let length_size = usize::from(head[21] & 0x03) + 1;
        let mut config = HevcDecoderConfig {
            length_size,
            ..Default::default()
        };
        let mut pos = HVCC_FIXED;
        for _ in 0..head[22] {
            let array = data
                .get(pos..pos + 3)
                .ok_or(ParamsError::BadHvcC("NAL unit array cut short"))?;
            let kind = array[0] & 0x3f;
            let count = u16::from_be_bytes([array[1], array[2]]);
            pos += 3;
            for _ in 0..count {
                let len = data
                    .get(pos..pos + 2)
                    .ok_or(ParamsError::BadHvcC("NAL unit length cut short"))?;
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                let nal = data
                    .get(pos + 2..pos + 2 + len)
                    .ok_or(ParamsError::BadHvcC("NAL unit runs past the end"))?;
                pos += 2 + len;
                match kind {
                    32 => config.vps.push(nal.to_vec()),
                    33 => config.sps.push(nal.to_vec()),
                    34 => config.pps.push(nal.to_vec()),
                    39 | 40 => config.sei.push(nal.to_vec()),
                    _ => {}
                }
            }
        }
        Ok(config)
    }

    /// Builds an `hvcC` record with 4-byte NAL lengths; profile, level, chroma format, bit
    /// depths and temporal layers come from the first SPS.
    pub fn build(vps: &[Vec<u8>], sps: &[Vec<u8>], pps: &[Vec<u8>]) -> Vec<u8> {
        let info = sps.first().and_then(|s| parse_sps(s)).unwrap_or_default();
        let ptl = info.ptl;
        let mut out = Vec::with_capacity(64);
        out.push(1);
        out.push((ptl.profile_space << 6) | (ptl.tier_flag << 5) | (ptl.profile_idc & 0x1f));
        out.extend_from_slice(&ptl.compatibility_flags.to_be_bytes());
        out.extend_from_slice(&ptl.constraint_flags.to_be_bytes()[2..]);
        out.push(ptl.level_idc);
        out.extend_from_slice(&[0xf0, 0x00]); // min_spatial_segmentation_idc 0
        out.push(0xfc); // parallelismType 0 (unknown)
        out.push(0xfc | (info.chroma_format_idc & 3) as u8);
        out.push(0xf8 | (info.bit_depth_luma_minus8 & 7) as u8);
        out.push(0xf8 | (info.bit_depth_chroma_minus8 & 7) as u8);
        out.extend_from_slice(&[0, 0]); // avgFrameRate unknown
        out.push(
            (((info.max_sub_layers_minus1 + 1) & 7) << 3)
                | (u8::from(info.temporal_id_nesting) << 2)
                | 3,
        );
        let arrays: Vec<(u8, &[Vec<u8>])> = [(32u8, vps), (33, sps), (34, pps)]
            .into_iter()
            .filter(|(_, sets)| !sets.is_empty())
            .collect();
        out.push(arrays.len() as u8);
        for (kind, sets) in arrays {
            out.push(0x80 | kind);
            let sets = &sets[..sets.len().min(usize::from(u16::MAX))];
            out.extend_from_slice(&(sets.len() as u16).to_be_bytes());
            for set in sets {
                let len = set.len().min(usize::from(u16::MAX));
                out.extend_from_slice(&(len as u16).to_be_bytes());
                out.extend_from_slice(&set[..len]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parameter sets of an x265 (Main, 8-bit, 320×240) stream.
    const VPS: [u8; 24] = [
        0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00,
        0x03, 0x00, 0x00, 0x03, 0x00, 0x3f, 0x95, 0x94, 0x09,
    ];
    /// SPS: vps id 0, one sub-layer, nesting 1; PTL: space 0, tier 0, profile 1 (Main),
    /// compatibility 0x60000000 (Main and Main 10), constraint flags 0x900000000000
    /// (progressive, frame only; with emulation prevention bytes), level 63 (2.1); sps id 0,
    /// chroma 1 (4:2:0), 320×240, 8-bit.
    const SPS: [u8; 49] = [
        0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
        0x03, 0x00, 0x3f, 0xa0, 0x0a, 0x08, 0x0f, 0x16, 0x59, 0x59, 0x52, 0x93, 0x0b, 0xff, 0xc0,
        0x00, 0x40, 0x00, 0x5a, 0x83, 0x03, 0x03, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00,
        0x03, 0x00, 0x3c, 0x10,
    ];
    /// The same stream from 10-bit input: profile 2 (Main 10), bit depths 10.
    const SPS_MAIN10: [u8; 49] = [
        0x42, 0x01, 0x01, 0x02, 0x20, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
        0x03, 0x00, 0x3f, 0xa0, 0x0a, 0x08, 0x0f, 0x13, 0x65, 0x95, 0x95, 0x29, 0x30, 0xbf, 0xfc,
        0x00, 0x04, 0x00, 0x05, 0xa8, 0x30, 0x30, 0x30, 0x20, 0x00, 0x00, 0x03, 0x00, 0x20, 0x00,
        0x00, 0x03, 0x03, 0xc1,
    ];
    const PPS: [u8; 6] = [0x44, 0x01, 0xc0, 0x73, 0xc1, 0x89];

    #[test]
    fn profile_tier_level_and_ids() {
        let ptl = sps_profile_tier_level(&SPS).unwrap();
        assert_eq!(ptl.profile_idc, 1);
        assert_eq!(ptl.tier_flag, 0);
        assert_eq!(ptl.compatibility_flags, 0x6000_0000);
        assert_eq!(ptl.constraint_flags, 0x9000_0000_0000);
        assert_eq!(ptl.level_idc, 63);
        let info = parse_sps(&SPS).unwrap();
        assert_eq!(info.sps_id, 0);
        assert_eq!(info.chroma_format_idc, 1);
        assert_eq!(info.bit_depth_luma_minus8, 0);
        assert_eq!(info.max_sub_layers_minus1, 0);
        assert!(info.temporal_id_nesting);
        assert_eq!(vps_id(&VPS), Some(0));
        assert_eq!(sps_id(&SPS), Some(0));
        assert_eq!(pps_id(&PPS), Some(0));
        // ue "00110" = 5.
        assert_eq!(pps_id(&[0x44, 0x01, 0b0011_0100]), Some(5));
        assert_eq!(pps_id(&[0x44, 0x01]), None);
        assert_eq!(
            sdp_profile_tier_level(&SPS).unwrap(),
            ("1".into(), "0".into(), "63".into())
        );
        let main10 = parse_sps(&SPS_MAIN10).unwrap();
        assert_eq!(main10.ptl.profile_idc, 2);
        assert_eq!(main10.bit_depth_luma_minus8, 2);
        assert_eq!(main10.bit_depth_chroma_minus8, 2);
        for cut in 0..20 {
            assert_eq!(parse_sps(&SPS[..cut]), None, "cut at {cut}");
        }
    }

    #[test]
    fn sub_layers_are_skipped() {
        // max_sub_layers_minus1 = 1 with sub_layer profile and level present: 2 flag bits,
        // 14 reserved bits, 88 + 8 bits, then sps id ue "1" (0) and chroma ue "010" (1).
        let mut bits = String::new();
        bits += "0000"; // vps id
        bits += "001"; // max_sub_layers_minus1
        bits += "1"; // nesting
        bits += "00000010"; // space, tier, profile 2 (Main 10)
        bits += &"0".repeat(32 + 48);
        bits += &format!("{:08b}", 93); // level 3.1
        bits += "11";
        bits += &"0".repeat(14);
        bits += &"1".repeat(88 + 8);
        bits += "1010"; // sps id 0, chroma 1
        bits += "1"; // width ue 0
        bits += "1"; // height ue 0
        bits += "0"; // no conformance window
        bits += "011"; // luma depth minus8 = 2
        bits += "011"; // chroma depth minus8 = 2
        while !bits.len().is_multiple_of(8) {
            bits.push('1');
        }
        let mut sps = vec![0x42, 0x01];
        sps.extend(
            bits.as_bytes()
                .chunks(8)
                .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap()),
        );
        // Emulation prevention in the all-zero constraint flags.
        let mut escaped = Vec::new();
        let mut zeros = 0;
        for b in sps {
            if zeros >= 2 && b <= 3 {
                escaped.push(3);
                zeros = 0;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            escaped.push(b);
        }
        let info = parse_sps(&escaped).unwrap();
        assert_eq!(info.ptl.profile_idc, 2);
        assert_eq!(info.ptl.level_idc, 93);
        assert_eq!(info.max_sub_layers_minus1, 1);
        assert_eq!(info.chroma_format_idc, 1);
        assert_eq!(info.bit_depth_luma_minus8, 2);
        assert_eq!(info.bit_depth_chroma_minus8, 2);
    }

    #[test]
    fn sprop_values() {
        let value = sprop_value([&VPS[..]]);
        assert_eq!(
            parse_sprop_value(&format!(" {value} ,")).unwrap(),
            vec![VPS.to_vec()]
        );
        assert!(matches!(
            parse_sprop_value("QAEM,***"),
            Err(ParamsError::BadBase64(_))
        ));
    }

    #[test]
    fn hvcc_round_trip_and_errors() {
        let record = HevcDecoderConfig::build(&[VPS.to_vec()], &[SPS.to_vec()], &[PPS.to_vec()]);
        // Version, profile byte, compatibility, constraints, level.
        assert_eq!(&record[..2], &[1, 0x01]);
        assert_eq!(&record[2..6], &[0x60, 0, 0, 0]);
        assert_eq!(&record[6..12], &[0x90, 0, 0, 0, 0, 0]);
        assert_eq!(record[12], 63);
        assert_eq!(record[16], 0xfd, "4:2:0");
        assert_eq!(
            record[21], 0x0f,
            "one temporal layer, nested, 4-byte lengths"
        );
        let parsed = HevcDecoderConfig::parse(&record).unwrap();
        assert_eq!(parsed.length_size, 4);
        assert_eq!(parsed.vps, vec![VPS.to_vec()]);
        assert_eq!(parsed.sps, vec![SPS.to_vec()]);
        assert_eq!(parsed.pps, vec![PPS.to_vec()]);
        for cut in 0..record.len() {
            assert!(
                HevcDecoderConfig::parse(&record[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut bad = record.clone();
        bad[0] = 0;
        assert!(HevcDecoderConfig::parse(&bad).is_err());
    }

    #[test]
    fn hvcc_with_3_byte_lengths() {
        // ISO/IEC 14496-15 §8.3.3.1.2, written out: 22 bytes of profile, level, format and
        // frame rate fields, byte 21 = constantFrameRate 0, numTemporalLayers 1,
        // temporalIdNested 1, lengthSizeMinusOne 2; then 1 array: completeness + type 32,
        // one VPS with its 16-bit length.
        let mut record = vec![1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 63];
        record.extend_from_slice(&[0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0]);
        record.push(0x0c | 2);
        record.push(1);
        record.extend_from_slice(&[0x80 | 32, 0, 1, 0, VPS.len() as u8]);
        record.extend_from_slice(&VPS);
        let parsed = HevcDecoderConfig::parse(&record).unwrap();
        assert_eq!(parsed.length_size, 3);
        assert_eq!(parsed.vps, vec![VPS.to_vec()]);
    }
}
