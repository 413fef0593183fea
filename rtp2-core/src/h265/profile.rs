// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Profile, tier and level of an H.265 `profile_tier_level()` (ITU-T H.265 §7.3.3, Annex A)
//! under the names GStreamer gives them in `video/x-h265` caps (`profile`, `tier`, `level`,
//! as h265parse sets them), so that decoders and muxers can negotiate on them.

use super::params::ProfileTierLevel;

/// The format range extensions constraint flags of Table A.2, one bit each, in the order of
/// the syntax (§7.3.3): general_max_12bit_constraint_flag first, general_lower_bit_rate_
/// constraint_flag last.
const MAX_12BIT: u16 = 1 << 8;
const MAX_10BIT: u16 = 1 << 7;
const MAX_8BIT: u16 = 1 << 6;
const MAX_422: u16 = 1 << 5;
const MAX_420: u16 = 1 << 4;
const MONOCHROME: u16 = 1 << 3;
const INTRA: u16 = 1 << 2;
const ONE_PICTURE: u16 = 1 << 1;
const LOWER_BIT_RATE: u16 = 1;

/// The format range extensions profiles (general_profile_idc 4) by the flags Table A.2
/// requires to be 1; `lower_bit_rate` is free in the intra profiles.
const RANGE_EXTENSIONS: &[(u16, &str)] = {
    const BITS_8: u16 = MAX_12BIT | MAX_10BIT | MAX_8BIT;
    const BITS_10: u16 = MAX_12BIT | MAX_10BIT;
    const BITS_12: u16 = MAX_12BIT;
    const C420: u16 = MAX_422 | MAX_420;
    const MONO: u16 = MAX_422 | MAX_420 | MONOCHROME;
    const LBR: u16 = LOWER_BIT_RATE;
    &[
        (BITS_8 | MONO | LBR, "monochrome"),
        (BITS_10 | MONO | LBR, "monochrome-10"),
        (BITS_12 | MONO | LBR, "monochrome-12"),
        (MONO | LBR, "monochrome-16"),
        (BITS_12 | C420 | LBR, "main-12"),
        (BITS_10 | MAX_422 | LBR, "main-422-10"),
        (BITS_12 | MAX_422 | LBR, "main-422-12"),
        (BITS_8 | LBR, "main-444"),
        (BITS_10 | LBR, "main-444-10"),
        (BITS_12 | LBR, "main-444-12"),
        (BITS_8 | C420 | INTRA, "main-intra"),
        (BITS_10 | C420 | INTRA, "main-10-intra"),
        (BITS_12 | C420 | INTRA, "main-12-intra"),
        (BITS_10 | MAX_422 | INTRA, "main-422-10-intra"),
        (BITS_12 | MAX_422 | INTRA, "main-422-12-intra"),
        (BITS_8 | INTRA, "main-444-intra"),
        (BITS_10 | INTRA, "main-444-10-intra"),
        (BITS_12 | INTRA, "main-444-12-intra"),
        (INTRA, "main-444-16-intra"),
        (BITS_8 | INTRA | ONE_PICTURE, "main-444-still-picture"),
        (INTRA | ONE_PICTURE, "main-444-16-still-picture"),
    ]
};

impl ProfileTierLevel {
    /// The nine range extensions constraint flags (bits 43 to 35 of `constraint_flags`).
    fn range_extension_flags(&self) -> u16 {
        ((self.constraint_flags >> 35) & 0x1ff) as u16
    }

    /// Whether general_profile_compatibility_flag\[`j`\] is set.
    fn compatible_with(&self, j: u32) -> bool {
        j < 32 && self.compatibility_flags & (1 << (31 - j)) != 0
    }

    /// The name of a profile_idc (1 to 4) for this stream.
    fn name_of_idc(&self, idc: u32) -> Option<&'static str> {
        match idc {
            1 => Some("main"),
            2 => Some("main-10"),
            3 => Some("main-still-picture"),
            4 => {
                // The profile whose required flags the stream has, with the fewest flags
                // set beyond them (a stream more constrained than a profile conforms to it).
                let flags = self.range_extension_flags();
                RANGE_EXTENSIONS
                    .iter()
                    .filter(|(required, _)| flags & required == *required)
                    .min_by_key(|(required, _)| (flags & !required).count_ones())
                    .map(|(_, name)| *name)
            }
            _ => None,
        }
    }

    /// The caps `profile`: general_profile_idc 1 to 4 (Main, Main 10, Main Still Picture,
    /// format range extensions by their constraint flags, Table A.2), or else the first of
    /// those the compatibility flags name. `None` for the other profiles (high throughput,
    /// multiview, scalable, 3D, screen content).
    pub fn profile_name(&self) -> Option<&'static str> {
        self.name_of_idc(u32::from(self.profile_idc)).or_else(|| {
            (1..=4)
                .filter(|j| self.compatible_with(*j))
                .find_map(|j| self.name_of_idc(j))
        })
    }

    /// The caps `tier`: "main" or "high" (general_tier_flag).
    pub fn tier_name(&self) -> &'static str {
        if self.tier_flag == 1 { "high" } else { "main" }
    }

    /// The caps `level` ("1" … "6.2"): general_level_idc is 30 × the level (Table A.8).
    pub fn level_name(&self) -> Option<&'static str> {
        crate::encoder_caps::h265_level_name(self.level_idc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ptl(
        profile_idc: u8,
        compatibility: u32,
        flags: u16,
        tier: u8,
        level: u8,
    ) -> ProfileTierLevel {
        ProfileTierLevel {
            profile_space: 0,
            tier_flag: tier,
            profile_idc,
            compatibility_flags: compatibility,
            // progressive and frame-only, then the range extensions flags.
            constraint_flags: (0x9 << 44) | (u64::from(flags) << 35),
            level_idc: level,
        }
    }

    #[test]
    fn main_profiles_tiers_and_levels() {
        let main = ptl(1, 0x6000_0000, 0, 0, 63);
        assert_eq!(
            (main.profile_name(), main.tier_name(), main.level_name()),
            (Some("main"), "main", Some("2.1"))
        );
        let main10 = ptl(2, 0x2000_0000, 0, 1, 153);
        assert_eq!(
            (
                main10.profile_name(),
                main10.tier_name(),
                main10.level_name()
            ),
            (Some("main-10"), "high", Some("5.1"))
        );
        assert_eq!(
            ptl(3, 0, 0, 0, 30).profile_name(),
            Some("main-still-picture")
        );
        // Unknown profile_idc: the compatibility flags say Main 10.
        assert_eq!(
            ptl(0, 0x2000_0000, 0, 0, 90).profile_name(),
            Some("main-10")
        );
        assert_eq!(ptl(9, 0, 0, 0, 90).profile_name(), None);
        assert_eq!(ptl(1, 0, 0, 0, 91).level_name(), None);
    }

    #[test]
    fn range_extensions_by_constraint_flags() {
        let rext = |flags| ptl(4, 0x0800_0000, flags, 0, 93).profile_name();
        let bits_8 = MAX_12BIT | MAX_10BIT | MAX_8BIT;
        assert_eq!(rext(bits_8 | LOWER_BIT_RATE), Some("main-444"));
        assert_eq!(
            rext(MAX_12BIT | MAX_10BIT | LOWER_BIT_RATE),
            Some("main-444-10")
        );
        assert_eq!(
            rext(MAX_12BIT | MAX_10BIT | MAX_422 | LOWER_BIT_RATE),
            Some("main-422-10")
        );
        // An 8-bit 4:2:2 stream (x265 signals it so) is within Main 4:2:2 10.
        assert_eq!(rext(bits_8 | MAX_422 | LOWER_BIT_RATE), Some("main-422-10"));
        assert_eq!(
            rext(MAX_12BIT | MAX_422 | MAX_420 | LOWER_BIT_RATE),
            Some("main-12")
        );
        assert_eq!(rext(bits_8 | MAX_422 | MAX_420 | INTRA), Some("main-intra"));
        assert_eq!(
            rext(bits_8 | INTRA | ONE_PICTURE),
            Some("main-444-still-picture")
        );
        assert_eq!(
            rext(bits_8 | MAX_422 | MAX_420 | MONOCHROME | LOWER_BIT_RATE),
            Some("monochrome")
        );
        // Non-intra profiles require lower_bit_rate: without it, only intra ones fit, and
        // an inter stream has none.
        assert_eq!(rext(bits_8), None);
    }

    #[test]
    fn x265_range_extension_sps() {
        // The first bytes of SPSs x265enc writes for 8-bit 4:4:4, 8-bit 4:2:2 and 12-bit
        // 4:2:0 input (h265parse names them main-444, main-422-10, main-12; level 2.1).
        let head = |flags: [u8; 2]| {
            [
                0x42, 0x01, 0x01, 0x04, 0x08, 0x00, 0x00, 0x03, 0x00, flags[0], flags[1], 0x00,
                0x00, 0x03, 0x00, 0x00, 0x3f, 0x90, 0x01, 0x41,
            ]
        };
        for (flags, name) in [
            ([0x9e, 0x08], "main-444"),
            ([0x9d, 0x08], "main-422-10"),
            ([0x99, 0x88], "main-12"),
        ] {
            let ptl = crate::h265::params::sps_profile_tier_level(&head(flags)).unwrap();
            assert_eq!(ptl.profile_idc, 4);
            assert_eq!(
                (ptl.profile_name(), ptl.tier_name(), ptl.level_name()),
                (Some(name), "main", Some("2.1"))
            );
        }
    }
}
