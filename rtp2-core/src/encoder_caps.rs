// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! What a receiver's SDP parameters allow an encoder to produce, in the profile, tier and
//! level names GStreamer's parsers use (`h264parse`, `h265parse`): a payloader answers the
//! caps query of its input with them, so that an encoder upstream (x264enc, x265enc)
//! produces a stream the receiver accepts (what `webrtcbin` relies on).
//!
//! - H.264: `profile-level-id` is `profile_idc`, the constraint flags byte and `level_idc`
//!   of the SPS, in hex (RFC 6184 §8.1; H.264 Annex A.2, A.3).
//! - H.265: `profile-id`, `tier-flag` and `level-id` are `general_profile_idc`,
//!   `general_tier_flag` and `general_level_idc` in decimal (RFC 7798 §7.1; H.265 Annex A).

/// H.264 levels in increasing order (Table A-1).
const H264_LEVELS: [&str; 16] = [
    "1", "1b", "1.1", "1.2", "1.3", "2", "2.1", "2.2", "3", "3.1", "3.2", "4", "4.1", "4.2", "5",
    "5.1",
];

/// H.265 levels in increasing order (Table A-6, up to 6.2).
const H265_LEVELS: [&str; 13] = [
    "1", "2", "2.1", "3", "3.1", "4", "4.1", "5", "5.1", "5.2", "6", "6.1", "6.2",
];

/// What downstream allows of an H.264 stream, from one set of its caps.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum H264Allowed {
    /// No `profile-level-id`: constrained baseline (RFC 6184 §8.1 default), or, as the C
    /// payloader also offers, anything (downstream did not say).
    Unspecified,
    /// Profiles and levels that a decoder of `profile-level-id` decodes: its own profile and
    /// constrained baseline (which every H.264 decoder decodes), its level and every lower
    /// one (highest first).
    Limited {
        /// Profile names.
        profiles: Vec<&'static str>,
        /// Level names, highest first.
        levels: Vec<&'static str>,
    },
    /// A `profile-level-id` that names no known profile or level: constrained baseline.
    Invalid,
}

/// Name of an H.264 profile from `profile_idc` and the constraint flags byte
/// (`constraint_set0_flag` is its top bit), as `h264parse` names it (H.264 Annex A.2).
pub fn h264_profile_name(profile_idc: u8, flags: u8) -> Option<&'static str> {
    let set = |n: u8| flags & (0x80 >> n) != 0;
    Some(match profile_idc {
        66 if set(1) => "constrained-baseline",
        66 => "baseline",
        77 => "main",
        88 => "extended",
        100 if set(4) && set(5) => "constrained-high",
        100 if set(4) => "progressive-high",
        100 => "high",
        110 if set(3) => "high-10-intra",
        110 if set(4) => "progressive-high-10",
        110 => "high-10",
        122 if set(3) => "high-4:2:2-intra",
        122 => "high-4:2:2",
        244 if set(3) => "high-4:4:4-intra",
        244 => "high-4:4:4",
        44 => "cavlc-4:4:4-intra",
        118 => "multiview-high",
        128 => "stereo-high",
        83 if set(5) => "scalable-constrained-baseline",
        83 => "scalable-baseline",
        86 if set(3) => "scalable-high-intra",
        86 if set(5) => "scalable-constrained-high",
        86 => "scalable-high",
        _ => return None,
    })
}

/// Name of an H.264 level from `level_idc` and the constraint flags byte: level 1b is
/// `level_idc` 9, or 11 with `constraint_set3_flag` (H.264 A.3.1, A.3.2).
pub fn h264_level_name(level_idc: u8, flags: u8) -> Option<&'static str> {
    let set3 = flags & 0x10 != 0;
    Some(match level_idc {
        9 => "1b",
        11 if set3 => "1b",
        10 => "1",
        11 => "1.1",
        12 => "1.2",
        13 => "1.3",
        20 => "2",
        21 => "2.1",
        22 => "2.2",
        30 => "3",
        31 => "3.1",
        32 => "3.2",
        40 => "4",
        41 => "4.1",
        42 => "4.2",
        50 => "5",
        51 => "5.1",
        52 => "5.2",
        60 => "6",
        61 => "6.1",
        62 => "6.2",
        _ => return None,
    })
}

/// `level` and every lower level of `all` (highest first); all of them when `level` is not
/// in the list.
fn levels_up_to(all: &[&'static str], level: &str) -> Vec<&'static str> {
    let end = all
        .iter()
        .position(|l| *l == level)
        .map_or(all.len(), |i| i + 1);
    all[..end].iter().rev().copied().collect()
}

/// What downstream's `profile-level-id` (RFC 6184 §8.1; `None` when absent) allows.
pub fn h264_allowed(profile_level_id: Option<&str>) -> H264Allowed {
    let Some(id) = profile_level_id else {
        return H264Allowed::Unspecified;
    };
    if id.len() != 6 {
        return H264Allowed::Unspecified;
    }
    let Ok(value) = u32::from_str_radix(id, 16) else {
        return H264Allowed::Invalid;
    };
    let [_, profile_idc, flags, level_idc] = value.to_be_bytes();
    let (Some(profile), Some(level)) = (
        h264_profile_name(profile_idc, flags),
        h264_level_name(level_idc, flags),
    ) else {
        return H264Allowed::Invalid;
    };
    let mut profiles = vec![profile];
    if profile != "constrained-baseline" {
        profiles.push("constrained-baseline");
    }
    H264Allowed::Limited {
        profiles,
        levels: levels_up_to(&H264_LEVELS, level),
    }
}

/// What downstream allows of an H.265 stream, from one set of its caps: each field is `None`
/// when the caps do not restrict it (absent or not understood).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct H265Allowed {
    /// Profile name.
    pub profile: Option<&'static str>,
    /// Tier name (`main` or `high`).
    pub tier: Option<&'static str>,
    /// Level names, highest first.
    pub levels: Option<Vec<&'static str>>,
}

/// Name of an H.265 profile from `general_profile_idc` when the compatibility and
/// constraint flags are unknown (H.265 A.3.2–A.3.4): the three profiles defined by the idc
/// alone.
pub fn h265_profile_name(profile_idc: u8) -> Option<&'static str> {
    Some(match profile_idc {
        1 => "main",
        2 => "main-10",
        3 => "main-still-picture",
        _ => return None,
    })
}

/// Name of an H.265 level from `general_level_idc`, which is 30 times the level number
/// (H.265 A.4.1).
pub fn h265_level_name(level_idc: u8) -> Option<&'static str> {
    Some(match level_idc {
        30 => "1",
        60 => "2",
        63 => "2.1",
        90 => "3",
        93 => "3.1",
        120 => "4",
        123 => "4.1",
        150 => "5",
        153 => "5.1",
        156 => "5.2",
        180 => "6",
        183 => "6.1",
        186 => "6.2",
        _ => return None,
    })
}

/// A decimal SDP parameter within `max`, as RFC 7798 §7.1 writes them.
fn decimal(value: Option<&str>, max: u8) -> Option<u8> {
    let value = value?;
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<u8>().ok().filter(|v| *v <= max)
}

/// What downstream's `profile-id`, `tier-flag` and `level-id` (RFC 7798 §7.1; `None` when
/// absent) allow.
pub fn h265_allowed(
    profile_id: Option<&str>,
    tier_flag: Option<&str>,
    level_id: Option<&str>,
) -> H265Allowed {
    let profile = decimal(profile_id, 31).and_then(h265_profile_name);
    let tier = decimal(tier_flag, 1).map(|t| if t == 1 { "high" } else { "main" });
    let levels = decimal(level_id, u8::MAX)
        .and_then(h265_level_name)
        .map(|level| levels_up_to(&H265_LEVELS, level));
    H265Allowed {
        profile,
        tier,
        levels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_webrtc_profiles() {
        // 42e01f: constrained baseline level 3.1, the WebRTC default.
        assert_eq!(
            h264_allowed(Some("42e01f")),
            H264Allowed::Limited {
                profiles: vec!["constrained-baseline"],
                levels: vec![
                    "3.1", "3", "2.2", "2.1", "2", "1.3", "1.2", "1.1", "1b", "1"
                ],
            }
        );
        // 640c1f: high (constraint_set4/5 clear) level 3.1.
        let H264Allowed::Limited { profiles, levels } = h264_allowed(Some("64001f")) else {
            panic!("high profile not understood");
        };
        assert_eq!(profiles, vec!["high", "constrained-baseline"]);
        assert_eq!(levels[0], "3.1");
        // 42001f: baseline; 4d0032 main 5; 42f00b level 1b via constraint_set3.
        assert_eq!(h264_profile_name(0x42, 0x00), Some("baseline"));
        assert_eq!(h264_profile_name(0x4d, 0x00), Some("main"));
        assert_eq!(h264_level_name(0x0b, 0xf0), Some("1b"));
        assert_eq!(h264_level_name(0x0b, 0xe0), Some("1.1"));
        assert_eq!(
            h264_allowed(Some("42e00a")),
            H264Allowed::Limited {
                profiles: vec!["constrained-baseline"],
                levels: vec!["1"],
            }
        );
    }

    #[test]
    fn h264_unknown_or_absent() {
        assert_eq!(h264_allowed(None), H264Allowed::Unspecified);
        assert_eq!(h264_allowed(Some("42e01")), H264Allowed::Unspecified);
        assert_eq!(h264_allowed(Some("ffe01f")), H264Allowed::Invalid);
        assert_eq!(h264_allowed(Some("42e0ff")), H264Allowed::Invalid);
        assert_eq!(h264_allowed(Some("zzzzzz")), H264Allowed::Invalid);
        // Level 5.2 is beyond the list: every listed level is allowed.
        let H264Allowed::Limited { levels, .. } = h264_allowed(Some("4d0034")) else {
            panic!("main 5.2 not understood");
        };
        assert_eq!(levels.len(), H264_LEVELS.len());
    }

    #[test]
    fn h265_fields() {
        let allowed = h265_allowed(Some("1"), Some("0"), Some("93"));
        assert_eq!(allowed.profile, Some("main"));
        assert_eq!(allowed.tier, Some("main"));
        assert_eq!(allowed.levels, Some(vec!["3.1", "3", "2.1", "2", "1"]));
        assert_eq!(h265_allowed(Some("2"), Some("1"), None).tier, Some("high"));
        assert_eq!(h265_allowed(None, None, None), H265Allowed::default());
        assert_eq!(
            h265_allowed(Some("32"), Some("2"), Some("91")),
            H265Allowed::default()
        );
        assert_eq!(
            h265_allowed(Some("+1"), Some(""), Some("x")),
            H265Allowed::default()
        );
    }

    proptest::proptest! {
        /// Any downstream string is understood or refused, never a panic; what is allowed
        /// always includes constrained baseline and the named level first.
        #[test]
        fn h264_any_string(id in ".{0,8}", value in 0u32..0x100_0000) {
            let _ = h264_allowed(Some(&id));
            if let H264Allowed::Limited { profiles, levels } = h264_allowed(Some(&format!("{value:06x}"))) {
                proptest::prop_assert!(profiles.contains(&"constrained-baseline"));
                let [_, _, flags, level_idc] = value.to_be_bytes();
                let level = h264_level_name(level_idc, flags).unwrap();
                proptest::prop_assert!(levels[0] == level || !H264_LEVELS.contains(&level));
            }
        }

        #[test]
        fn h265_any_strings(p in ".{0,4}", t in ".{0,3}", l in ".{0,4}", level in 0u8..=255) {
            let _ = h265_allowed(Some(&p), Some(&t), Some(&l));
            let allowed = h265_allowed(None, None, Some(&level.to_string()));
            if let Some(levels) = allowed.levels {
                proptest::prop_assert_eq!(Some(levels[0]), h265_level_name(level));
            }
        }
    }
}
