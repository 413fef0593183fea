// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! H.264 parameter sets for signalling: the SDP parameters of RFC 6184 §8.1
//! (`profile-level-id`, `sprop-parameter-sets`) and the `avcC` decoder configuration record
//! of ISO/IEC 14496-15 §5.3.3 (GStreamer's `codec_data` for `stream-format=avc`).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::bits::RbspReader;

/// `profile-level-id` (§8.1): hex of profile_idc, the constraint flags and level_idc, which
/// are the three bytes after the SPS NAL header.
pub fn profile_level_id(sps: &[u8]) -> Option<String> {
    let b = sps.get(1..4)?;
    Some(format!("{:02x}{:02x}{:02x}", b[0], b[1], b[2]))
}

/// `sprop-parameter-sets` (§8.1): base64 of each parameter set NAL unit, comma-separated.
pub fn sprop_parameter_sets<'a>(nals: impl IntoIterator<Item = &'a [u8]>) -> String {
    nals.into_iter()
        .map(|n| STANDARD.encode(n))
        .collect::<Vec<_>>()
        .join(",")
}

/// Bad signalling data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamsError {
    /// A `sprop-parameter-sets` entry that is not base64.
    BadBase64(String),
    /// An `avcC` record that is cut short or malformed.
    BadAvcC(&'static str),
}

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadBase64(s) => write!(f, "sprop-parameter-sets entry '{s}' is not base64"),
            Self::BadAvcC(why) => write!(f, "invalid avcC codec_data: {why}"),
        }
    }
}

impl std::error::Error for ParamsError {}

/// Parses `sprop-parameter-sets`: comma-separated base64 NAL units (spaces tolerated,
/// empty entries skipped).
pub fn parse_sprop_parameter_sets(value: &str) -> Result<Vec<Vec<u8>>, ParamsError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            STANDARD
                .decode(s)
                .ok()
                .filter(|n| !n.is_empty())
                .ok_or_else(|| ParamsError::BadBase64(s.to_string()))
        })
        .collect()
}

/// The content of an `avcC` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcDecoderConfig {
    /// Bytes of each NAL length field in `avc` samples (1 to 4: 3 is rare, but
    /// valid, and accepted by the C elements and parsers).
    pub length_size: usize,
    /// Sequence parameter sets.
    pub sps: Vec<Vec<u8>>,
    /// Picture parameter sets.
    pub pps: Vec<Vec<u8>>,
}

impl AvcDecoderConfig {
    /// Parses an `avcC` record, checking every length.
    pub fn parse(data: &[u8]) -> Result<Self, ParamsError> {
        let head = data
            .get(..6)
            .ok_or(ParamsError::BadAvcC("shorter than 6 bytes"))?;
        if head[0] != 1 {
            return Err(ParamsError::BadAvcC("configurationVersion is not 1"));
        }
        let length_size = usize::from(head[4] & 0x03) + 1;
        let mut pos = 6;
        let sps = read_sets(data, &mut pos, usize::from(head[5] & 0x1f))?;
        let count = *data.get(pos).ok_or(ParamsError::BadAvcC("no PPS count"))?;
        pos += 1;
        let pps = read_sets(data, &mut pos, usize::from(count))?;
        Ok(AvcDecoderConfig {
            length_size,
            sps,
            pps,
        })
    }

    /// Builds an `avcC` record with 4-byte NAL lengths; profile, compatibility and level
    /// come from the first SPS.
    pub fn build(sps: &[Vec<u8>], pps: &[Vec<u8>]) -> Vec<u8> {
        let first = sps.first().map(Vec::as_slice).unwrap_or(&[]);
        let byte = |i: usize| first.get(i).copied().unwrap_or(0);
        let mut out = vec![
            1,
            byte(1),
            byte(2),
            byte(3),
            0xfc | 3,
            0xe0 | sps.len().min(31) as u8,
        ];
        for s in sps.iter().take(31) {
            out.extend_from_slice(&(s.len() as u16).to_be_bytes());
            out.extend_from_slice(s);
        }
        out.push(pps.len().min(255) as u8);
        for p in pps.iter().take(255) {
            out.extend_from_slice(&(p.len() as u16).to_be_bytes());
            out.extend_from_slice(p);
        }
        out
    }
}

fn read_sets(data: &[u8], pos: &mut usize, count: usize) -> Result<Vec<Vec<u8>>, ParamsError> {
    let mut sets = Vec::with_capacity(count);
    for _ in 0..count {
        let len = data
            .get(*pos..*pos + 2)
            .ok_or(ParamsError::BadAvcC("parameter set length cut short"))?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let set = data
            .get(*pos + 2..*pos + 2 + len)
            .ok_or(ParamsError::BadAvcC("parameter set runs past the end"))?;
        sets.push(set.to_vec());
        *pos += 2 + len;
    }
    Ok(sets)
}

/// `seq_parameter_set_id` of an SPS NAL unit (H.264 §7.3.2.1.1).
pub fn sps_id(sps: &[u8]) -> Option<u32> {
    RbspReader::new(sps.get(4..)?).ue().filter(|id| *id < 32)
}

/// `pic_parameter_set_id` of a PPS NAL unit (H.264 §7.3.2.2).
pub fn pps_id(pps: &[u8]) -> Option<u32> {
    RbspReader::new(pps.get(1..)?).ue().filter(|id| *id < 256)
}

/// The profile of an SPS NAL unit as GStreamer names it in `video/x-h264` caps (`profile`):
/// profile_idc and the constraint flags that narrow it (H.264 §7.4.2.1.1, Annex A.2 and
/// G/H for the scalable and multiview profiles). `None` for a profile without a caps name.
pub fn sps_profile_name(sps: &[u8]) -> Option<&'static str> {
    let (&profile_idc, &flags) = (sps.get(1)?, sps.get(2)?);
    crate::encoder_caps::h264_profile_name(profile_idc, flags)
}

/// The level of an SPS NAL unit as GStreamer names it in caps (`level`: "1b", "1.1" … "6.2";
/// H.264 Table A-1). Level 1b is level_idc 9, or 11 with constraint_set3_flag in the
/// Baseline, Main and Extended profiles (§A.3.1, §A.3.2); in the other profiles that flag
/// means intra-only and 11 is level 1.1.
pub fn sps_level_name(sps: &[u8]) -> Option<&'static str> {
    let (&profile_idc, &flags, &level_idc) = (sps.get(1)?, sps.get(2)?, sps.get(3)?);
    // constraint_set3_flag says level 1b only in these profiles.
    let flags = if matches!(profile_idc, 66 | 77 | 88) {
        flags
    } else {
        flags & !0x10
    };
    crate::encoder_caps::h264_level_name(level_idc, flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPS: [u8; 8] = [0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16];
    const PPS: [u8; 4] = [0x68, 0xce, 0x3c, 0x80];

    #[test]
    fn sdp_parameters() {
        assert_eq!(profile_level_id(&SPS).unwrap(), "42c01f");
        assert_eq!(profile_level_id(&[0x67, 1]), None);
        let sprop = sprop_parameter_sets([&SPS[..], &PPS[..]]);
        assert_eq!(sprop, "Z0LAH9oBQBY=,aM48gA==");
        assert_eq!(
            parse_sprop_parameter_sets(&format!(" {sprop} ,")).unwrap(),
            vec![SPS.to_vec(), PPS.to_vec()]
        );
        assert!(matches!(
            parse_sprop_parameter_sets("Z0LA,***"),
            Err(ParamsError::BadBase64(_))
        ));
    }

    #[test]
    fn parameter_set_ids() {
        // ue(v) "1" is 0; "010" is 1; "00110" is 5.
        assert_eq!(sps_id(&SPS), Some(0));
        assert_eq!(sps_id(&[0x67, 0x42, 0, 0x1f, 0b0100_0000]), Some(1));
        assert_eq!(pps_id(&PPS), Some(0));
        assert_eq!(pps_id(&[0x68, 0b0011_0100]), Some(5));
        assert_eq!(pps_id(&[0x68]), None);
        assert_eq!(pps_id(&[0x68, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn avcc_round_trip_and_errors() {
        let record = AvcDecoderConfig::build(&[SPS.to_vec()], &[PPS.to_vec()]);
        assert_eq!(&record[..6], &[1, 0x42, 0xc0, 0x1f, 0xff, 0xe1]);
        let parsed = AvcDecoderConfig::parse(&record).unwrap();
        assert_eq!(parsed.length_size, 4);
        assert_eq!(parsed.sps, vec![SPS.to_vec()]);
        assert_eq!(parsed.pps, vec![PPS.to_vec()]);
        for cut in 0..record.len() {
            assert!(
                AvcDecoderConfig::parse(&record[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn avcc_with_3_byte_lengths() {
        // ISO/IEC 14496-15 §5.3.3.1.2, written out: version 1, profile 66, compatibility 0xc0,
        // level 31, 6 reserved bits + lengthSizeMinusOne 2, 3 reserved bits + 1 SPS, its
        // 16-bit length and bytes, 1 PPS, its length and bytes.
        let mut record = vec![1, 0x42, 0xc0, 0x1f, 0xfc | 2, 0xe1, 0, 8];
        record.extend_from_slice(&SPS);
        record.extend_from_slice(&[1, 0, 4]);
        record.extend_from_slice(&PPS);
        let parsed = AvcDecoderConfig::parse(&record).unwrap();
        assert_eq!(parsed.length_size, 3);
        assert_eq!(parsed.sps, vec![SPS.to_vec()]);
        assert_eq!(parsed.pps, vec![PPS.to_vec()]);
    }

    #[test]
    fn profile_and_level_names() {
        // SPS heads as x264 writes them (NAL header, profile_idc, constraint flags, level).
        let name = |head: [u8; 4]| (sps_profile_name(&head), sps_level_name(&head));
        assert_eq!(
            name([0x67, 66, 0xc0, 21]),
            (Some("constrained-baseline"), Some("2.1"))
        );
        assert_eq!(name([0x67, 66, 0x80, 30]), (Some("baseline"), Some("3")));
        assert_eq!(name([0x67, 77, 0x40, 31]), (Some("main"), Some("3.1")));
        assert_eq!(name([0x67, 100, 0, 13]), (Some("high"), Some("1.3")));
        assert_eq!(
            name([0x67, 100, 0x0c, 40]),
            (Some("constrained-high"), Some("4"))
        );
        assert_eq!(
            name([0x67, 100, 0x08, 40]),
            (Some("progressive-high"), Some("4"))
        );
        assert_eq!(name([0x67, 110, 0, 52]), (Some("high-10"), Some("5.2")));
        assert_eq!(
            name([0x67, 110, 0x10, 52]),
            (Some("high-10-intra"), Some("5.2"))
        );
        assert_eq!(name([0x67, 122, 0, 62]), (Some("high-4:2:2"), Some("6.2")));
        assert_eq!(name([0x67, 244, 0, 12]), (Some("high-4:4:4"), Some("1.2")));
        assert_eq!(
            name([0x67, 244, 0x10, 9]),
            (Some("high-4:4:4-intra"), Some("1b"))
        );
        // Level 1b: constraint_set3_flag with level_idc 11, only below High (§A.3.1).
        assert_eq!(name([0x67, 66, 0x50, 11]).1, Some("1b"));
        assert_eq!(name([0x67, 77, 0x10, 11]).1, Some("1b"));
        assert_eq!(name([0x67, 110, 0x10, 11]).1, Some("1.1"));
        assert_eq!(name([0x67, 1, 0, 0]), (None, None));
        assert_eq!(sps_profile_name(&[0x67]), None);
        assert_eq!(sps_level_name(&[0x67, 66, 0]), None);
    }
}
