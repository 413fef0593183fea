// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Finding NAL units in H.264/H.265 elementary streams, codec-neutral:
//! - Annex B byte-streams (ITU-T H.264 Annex B / H.265 Annex B): NAL units after
//!   `00 00 01` or `00 00 00 01` start codes;
//! - length-prefixed streams (ISO/IEC 14496-15 `avc`/`hvc1`): each NAL unit after a 1, 2 or
//!   4-byte big-endian length.
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
    let mut ranges = Vec::new();
    let mut start: Option<usize> = None;
    // `memmem` finds the `00 00 01` start codes with SIMD (its prefilter skips most of the
    // compressed data at once). Start codes cannot overlap (a 0x01 cannot be one of the next
    // code's zeros), so this finds exactly the codes a byte-by-byte scan would.
    static START_CODE: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(&[0, 0, 1]));
    for at in START_CODE.find_iter(data) {
        if let Some(s) = start {
            push_trimmed(&mut ranges, data, s, at);
        }
        start = Some(at + 3);
    }
    if let Some(s) = start {
        push_trimmed(&mut ranges, data, s, data.len());
    }
    ranges
}

fn push_trimmed(ranges: &mut Vec<Range<usize>>, data: &[u8], start: usize, mut end: usize) {
    while end > start && data[end - 1] == 0 {
        end -= 1;
    }
    if end > start {
        ranges.push(start..end);
    }
}

/// A length-prefixed stream whose lengths do not add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthPrefixError {
    /// The length field size is not 1, 2 or 4.
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
            Self::BadLengthSize(n) => write!(f, "NAL length field of {n} bytes (1, 2 or 4)"),
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

/// Ranges of the NAL units of a length-prefixed buffer with `length_size`-byte lengths.
pub fn length_prefixed_nal_ranges(
    data: &[u8],
    length_size: usize,
) -> Result<Vec<Range<usize>>, LengthPrefixError> {
    if !matches!(length_size, 1 | 2 | 4) {
        return Err(LengthPrefixError::BadLengthSize(length_size));
    }
    let mut ranges = Vec::new();
    let mut offset = 0;
    while offset < data.len() {
        let Some(field) = data.get(offset..offset + length_size) else {
            return Err(LengthPrefixError::PastEnd { offset, len: 0 });
        };
        let len = field
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        let start = offset + length_size;
        if data.len() - start < len {
            return Err(LengthPrefixError::PastEnd { offset, len });
        }
        if len > 0 {
            ranges.push(start..start + len);
        }
        offset = start + len;
    }
    Ok(ranges)
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
                    push_trimmed(&mut ranges, data, s, i);
                }
                i += 3;
                start = Some(i);
            } else {
                i += 1;
            }
        }
        if let Some(s) = start {
            push_trimmed(&mut ranges, data, s, data.len());
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
            length_prefixed_nal_ranges(&[], 3),
            Err(LengthPrefixError::BadLengthSize(3))
        );
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
        fn length_prefixed_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64), size in 0usize..5) {
            if let Ok(r) = length_prefixed_nal_ranges(&data, size) {
                for range in r {
                    prop_assert!(range.end <= data.len());
                }
            }
        }
    }
}
