// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Finding NAL units in H.264/H.265 elementary streams, codec-neutral:
//! - Annex B byte-streams (ITU-T H.264 Annex B / H.265 Annex B): NAL units after
//!   `00 00 01` or `00 00 00 01` start codes;
//! - length-prefixed streams (ISO/IEC 14496-15 `avc`/`hvc1`): each NAL unit after a 1, 2, 3
//!   or 4-byte big-endian length (`lengthSizeMinusOne` 0–3 in avcC/hvcC).
//!
//! Both return byte ranges into the input, so that the payloader can share the input's
//! memory instead of copying NAL units.

use std::fmt;
use std::ops::Range;
use std::sync::LazyLock;

/// Ranges of the NAL units of an Annex B byte-stream, start codes removed and the
/// `trailing_zero_8bits` before the next start code trimmed. Bytes before the first start code
/// are ignored; empty NAL units are skipped.
pub fn annexb_nal_ranges(data: &[u8]) -> Vec<Range<usize>> {
    annexb_nal_ranges_with_header(data, 1)
}

/// [`annexb_nal_ranges`] for NAL units with `header_len`-byte headers: the trim of trailing
/// zeros never reaches into the header, whose bytes may be zero (the H.265 end of sequence
/// NAL unit is `48 00`, nothing after its header). A unit of zeros only is skipped.
pub fn annexb_nal_ranges_with_header(data: &[u8], header_len: usize) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start: Option<usize> = None;
    // `memmem` finds the `00 00 01` start codes with SIMD (its prefilter skips most of the
    // compressed data at once). Start codes cannot overlap (a 0x01 cannot be one of the next
    // code's zeros), so this finds exactly the codes a byte-by-byte scan would.
    static START_CODE: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(&[0, 0, 1]));
    for at in START_CODE.find_iter(data) {
        if let Some(s) = start {
            push_trimmed(&mut ranges, data, s, at, header_len);
        }
        start = Some(at + 3);
    }
    if let Some(s) = start {
        push_trimmed(&mut ranges, data, s, data.len(), header_len);
    }
    ranges
}

fn push_trimmed(
    ranges: &mut Vec<Range<usize>>,
    data: &[u8],
    start: usize,
    end: usize,
    header_len: usize,
) {
    let mut trimmed = end;
    while trimmed > start && data[trimmed - 1] == 0 {
        trimmed -= 1;
    }
    if trimmed > start {
        ranges.push(start..trimmed.max(end.min(start + header_len)));
    }
}

/// A length-prefixed stream whose lengths do not add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LengthPrefixError {
    /// The length field size is not 1, 2, 3 or 4.
    BadLengthSize(usize),
    /// A NAL unit (or its length field) runs past the end of the data.
    PastEnd {
        /// Where the length field starts.
        offset: usize,
        /// The NAL unit length it gives (0 when the field itself is cut).
        len: usize,
    },
}

impl fmt::Display for LengthPrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadLengthSize(n) => write!(f, "NAL length field of {n} bytes (1 to 4)"),
            Self::PastEnd { offset, len } => {
                write!(
                    f,
                    "NAL unit of {len} bytes at offset {offset} runs past the end"
                )
            }
        }
    }
}

impl std::error::Error for LengthPrefixError {}

/// Ranges of the NAL units of a length-prefixed buffer with `length_size`-byte lengths; an
/// error when any length does not add up.
pub fn length_prefixed_nal_ranges(
    data: &[u8],
    length_size: usize,
) -> Result<Vec<Range<usize>>, LengthPrefixError> {
    let units = length_prefixed_nal_units(data, length_size);
    match units.error {
        Some(err) => Err(err),
        None => Ok(units.ranges),
    }
}

/// The NAL units of a length-prefixed buffer, as far as the lengths add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LengthPrefixedUnits {
    /// The complete NAL units before the first error (zero lengths skipped).
    pub ranges: Vec<Range<usize>>,
    /// Why the scan stopped before the end of the data, if it did.
    pub error: Option<LengthPrefixError>,
}

/// Ranges of the NAL units of a length-prefixed buffer with `length_size`-byte lengths
/// (1–4, ISO/IEC 14496-15 `lengthSizeMinusOne` + 1). A length that runs past the end stops the
/// scan: the complete units before it are kept, so one broken unit costs only itself.
pub fn length_prefixed_nal_units(data: &[u8], length_size: usize) -> LengthPrefixedUnits {
    let mut units = LengthPrefixedUnits {
        ranges: Vec::new(),
        error: None,
    };
    if !(1..=4).contains(&length_size) {
        units.error = Some(LengthPrefixError::BadLengthSize(length_size));
        return units;
    }
    let mut offset = 0;
    while offset < data.len() {
        let Some(field) = data.get(offset..offset + length_size) else {
            units.error = Some(LengthPrefixError::PastEnd { offset, len: 0 });
            break;
        };
        let len = field
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        let start = offset + length_size;
        if data.len() - start < len {
            units.error = Some(LengthPrefixError::PastEnd { offset, len });
            break;
        }
        if len > 0 {
            units.ranges.push(start..start + len);
        }
        offset = start + len;
    }
    units
}

/// Appends `nal` to `out` as Annex B (4-byte start code).
pub fn push_annexb(out: &mut Vec<u8>, nal: &[u8]) {
    out.extend_from_slice(&[0, 0, 0, 1]);
    out.extend_from_slice(nal);
}

/// Appends `nal` to `out` with a 4-byte big-endian length.
pub fn push_length_prefixed(out: &mut Vec<u8>, nal: &[u8]) {
    out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
    out.extend_from_slice(nal);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nals<'a>(data: &'a [u8], ranges: &[Range<usize>]) -> Vec<&'a [u8]> {
        ranges.iter().map(|r| &data[r.clone()]).collect()
    }

    /// The plain definition: every `00 00 01`, left to right, ends the previous NAL unit.
    fn annexb_reference(data: &[u8]) -> Vec<Range<usize>> {
        let mut ranges = Vec::new();
        let mut start = None;
        let mut i = 0;
        while i + 3 <= data.len() {
            if data[i..i + 3] == [0, 0, 1] {
                if let Some(s) = start {
                    push_trimmed(&mut ranges, data, s, i, 1);
                }
                i += 3;
                start = Some(i);
            } else {
                i += 1;
            }
        }
        if let Some(s) = start {
            push_trimmed(&mut ranges, data, s, data.len(), 1);
        }
        ranges
    }

    #[test]
    fn annexb_with_3_and_4_byte_start_codes_and_trailing_zeros() {
        let data = [
            0xff, 0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 4, 5, 0, 0, 1, 0,
            0, 1, 0x41,
        ];
        let r = annexb_nal_ranges(&data);
        assert_eq!(
            nals(&data, &r),
            vec![&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 4, 5], &[0x41]]
        );
    }

    #[test]
    fn annexb_without_start_code_is_empty() {
        assert!(annexb_nal_ranges(&[1, 2, 3, 0, 0]).is_empty());
        assert!(annexb_nal_ranges(&[]).is_empty());
    }

    #[test]
    fn length_prefixed() {
        let data = [0, 0, 0, 2, 0x67, 1, 0, 0, 0, 1, 0x68];
        let r = length_prefixed_nal_ranges(&data, 4).unwrap();
        assert_eq!(nals(&data, &r), vec![&[0x67, 1][..], &[0x68]]);
        assert_eq!(
            length_prefixed_nal_ranges(&[0, 5, 1], 2),
            Err(LengthPrefixError::PastEnd { offset: 0, len: 5 })
        );
        assert_eq!(
            length_prefixed_nal_ranges(&[0, 0, 0], 4),
            Err(LengthPrefixError::PastEnd { offset: 0, len: 0 })
        );
        assert_eq!(
            length_prefixed_nal_ranges(&[], 5),
            Err(LengthPrefixError::BadLengthSize(5))
        );
        assert_eq!(
            length_prefixed_nal_ranges(&[], 0),
            Err(LengthPrefixError::BadLengthSize(0))
        );
    }

    #[test]
    fn length_prefixed_with_3_byte_lengths() {
        // ISO/IEC 14496-15 lengthSizeMinusOne = 2: 24-bit big-endian lengths.
        let data = [0, 0, 2, 0x67, 1, 0, 0, 1, 0x68, 0, 1, 0, 0x65];
        let r = length_prefixed_nal_ranges(&data[..9], 3).unwrap();
        assert_eq!(nals(&data, &r), vec![&[0x67, 1][..], &[0x68]]);
        // 0x000100 = 256 bytes: runs past the end after the two complete units.
        let units = length_prefixed_nal_units(&data, 3);
        assert_eq!(nals(&data, &units.ranges), vec![&[0x67, 1][..], &[0x68]]);
        assert_eq!(
            units.error,
            Some(LengthPrefixError::PastEnd {
                offset: 9,
                len: 256
            })
        );
    }

    #[test]
    fn complete_units_before_a_broken_length_are_kept() {
        let data = [0, 0, 0, 2, 0x65, 1, 0, 0, 0, 9, 0x41, 2];
        let units = length_prefixed_nal_units(&data, 4);
        assert_eq!(nals(&data, &units.ranges), vec![&[0x65, 1][..]]);
        assert_eq!(
            units.error,
            Some(LengthPrefixError::PastEnd { offset: 6, len: 9 })
        );
        // A cut length field.
        let units = length_prefixed_nal_units(&[0, 1, 0x41, 0], 2);
        assert_eq!(units.ranges, vec![2..3]);
        assert_eq!(
            units.error,
            Some(LengthPrefixError::PastEnd { offset: 3, len: 0 })
        );
    }

    #[test]
    fn trailing_zero_trim_stops_at_the_header() {
        // H.265 end of sequence (type 36): header 48 00, nothing after it.
        let data = [0, 0, 0, 1, 0x48, 0x00];
        assert_eq!(annexb_nal_ranges_with_header(&data, 2), vec![4..6]);
        // Trailing zeros after a longer unit still go; a unit of zeros only is skipped.
        let data = [
            0, 0, 1, 0x48, 0x01, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0x4a, 0x01,
        ];
        assert_eq!(annexb_nal_ranges_with_header(&data, 2), vec![3..5, 15..17]);
        // A unit shorter than its header stays short (the payloader drops it).
        assert_eq!(
            annexb_nal_ranges_with_header(&[0, 0, 1, 0x40], 2),
            vec![3..4]
        );
        assert_eq!(annexb_nal_ranges(&[0, 0, 1, 0x09, 0]), vec![3..4]);
    }

    proptest! {
        #[test]
        fn annexb_round_trip(units in proptest::collection::vec(
            proptest::collection::vec(1u8..=255, 1..40), 0..10)) {
            // NAL units never contain 00 00 0x (emulation prevention); bytes >= 1 guarantee it.
            let mut stream = Vec::new();
            for u in &units {
                push_annexb(&mut stream, u);
            }
            let r = annexb_nal_ranges(&stream);
            let back: Vec<Vec<u8>> = r.iter().map(|r| stream[r.clone()].to_vec()).collect();
            prop_assert_eq!(back, units);
        }

        #[test]
        fn annexb_matches_a_byte_by_byte_scan(
            data in proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), any::<u8>()], 0..200)
        ) {
            prop_assert_eq!(annexb_nal_ranges(&data), annexb_reference(&data));
        }

        #[test]
        fn length_prefixed_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64), size in 0usize..6) {
            if let Ok(r) = length_prefixed_nal_ranges(&data, size) {
                for range in r {
                    prop_assert!(range.end <= data.len());
                }
            }
            let units = length_prefixed_nal_units(&data, size);
            for range in &units.ranges {
                prop_assert!(range.end <= data.len() && range.start < range.end);
            }
        }

        #[test]
        fn length_prefixed_round_trip_for_every_length_size(
            units in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 0..8),
            size in 1usize..=4,
        ) {
            let max = if size == 4 { usize::MAX } else { (1usize << (8 * size)) - 1 };
            let units: Vec<Vec<u8>> = units.into_iter().map(|mut u| { u.truncate(max); u }).collect();
            let mut data = Vec::new();
            for u in &units {
                data.extend_from_slice(&(u.len() as u32).to_be_bytes()[4 - size..]);
                data.extend_from_slice(u);
            }
            let r = length_prefixed_nal_ranges(&data, size).unwrap();
            let back: Vec<Vec<u8>> = r.iter().map(|r| data[r.clone()].to_vec()).collect();
            prop_assert_eq!(back, units);
        }
    }
}
