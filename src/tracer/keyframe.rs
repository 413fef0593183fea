// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Keyframe detection in H.264 and H.265 RTP payloads, for the tracer's keyframe count: a
//! packet "carries a keyframe" when it holds an H.264 IDR slice (nal_unit_type 5) or an
//! H.265 IRAP picture (nal_unit_type 16..=21), alone, aggregated or as a fragment start.
//! Pure byte inspection of the first bytes of the payload; nothing is allocated.

/// The video codec of a stream, from the caps' `encoding-name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    /// Neither H.264 nor H.265: no keyframe detection.
    Other,
    /// RFC 6184.
    H264,
    /// RFC 7798.
    H265,
}

impl Codec {
    /// The codec of `encoding-name` (case-insensitive, as SDP's).
    pub(crate) fn from_encoding_name(name: &str) -> Codec {
        if name.eq_ignore_ascii_case("H264") {
            Codec::H264
        } else if name.eq_ignore_ascii_case("H265") {
            Codec::H265
        } else {
            Codec::Other
        }
    }
}

fn h264_key(nal_type: u8) -> bool {
    nal_type == 5
}

fn h265_key(nal_type: u8) -> bool {
    (16..=21).contains(&nal_type)
}

/// Whether `payload` (possibly truncated) carries a keyframe NAL unit of `codec`.
pub(crate) fn carries_keyframe(codec: Codec, payload: &[u8]) -> bool {
    match codec {
        Codec::Other => false,
        Codec::H264 => {
            let Some(&first) = payload.first() else {
                return false;
            };
            match first & 0x1f {
                // STAP-A (RFC 6184 §5.7.1): 16-bit sizes, each NAL unit's header after it.
                24 => aggregated(&payload[1..], |b| h264_key(b & 0x1f)),
                // FU-A (RFC 6184 §5.8): the start fragment carries the type in the FU header.
                28 => payload
                    .get(1)
                    .is_some_and(|h| h & 0x80 != 0 && h264_key(h & 0x1f)),
                t => h264_key(t),
            }
        }
        Codec::H265 => {
            let Some(&first) = payload.first() else {
                return false;
            };
            match (first >> 1) & 0x3f {
                // AP (RFC 7798 §4.4.2), without DONL: 16-bit sizes after the 2-byte header.
                48 => aggregated(payload.get(2..).unwrap_or(&[]), |b| {
                    h265_key((b >> 1) & 0x3f)
                }),
                // FU (RFC 7798 §4.4.3): the FU header after the 2-byte payload header.
                49 => payload
                    .get(2)
                    .is_some_and(|h| h & 0x80 != 0 && h265_key(h & 0x3f)),
                t => h265_key(t),
            }
        }
    }
}

/// Walks size-prefixed NAL units of an aggregation packet (as far as `data` goes).
fn aggregated(mut data: &[u8], key: impl Fn(u8) -> bool) -> bool {
    while data.len() >= 3 {
        let size = usize::from(u16::from_be_bytes([data[0], data[1]]));
        if size == 0 {
            return false;
        }
        if key(data[2]) {
            return true;
        }
        data = data.get(2 + size..).unwrap_or(&[]);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_single_stap_and_fu() {
        assert!(carries_keyframe(Codec::H264, &[0x65, 0x88]));
        assert!(!carries_keyframe(Codec::H264, &[0x41, 0x9a]));
        // STAP-A: SPS (size 2), IDR (size 2).
        assert!(carries_keyframe(
            Codec::H264,
            &[0x78, 0, 2, 0x67, 0x42, 0, 2, 0x65, 0x88]
        ));
        assert!(!carries_keyframe(
            Codec::H264,
            &[0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce]
        ));
        // FU-A start of an IDR, and a middle fragment.
        assert!(carries_keyframe(Codec::H264, &[0x7c, 0x85, 0]));
        assert!(!carries_keyframe(Codec::H264, &[0x7c, 0x05, 0]));
    }

    #[test]
    fn h265_single_ap_and_fu() {
        // IDR_W_RADL = 19: header byte 0 = 19 << 1.
        assert!(carries_keyframe(Codec::H265, &[19 << 1, 1, 0xaf]));
        assert!(!carries_keyframe(Codec::H265, &[1 << 1, 1, 0xaf]));
        // AP (48): VPS (32) then CRA (21).
        assert!(carries_keyframe(
            Codec::H265,
            &[48 << 1, 1, 0, 2, 32 << 1, 1, 0, 2, 21 << 1, 1]
        ));
        // FU (49) start of an IDR_N_LP (20), and an end fragment.
        assert!(carries_keyframe(Codec::H265, &[49 << 1, 1, 0x80 | 20, 0]));
        assert!(!carries_keyframe(Codec::H265, &[49 << 1, 1, 0x40 | 20, 0]));
    }

    #[test]
    fn other_codecs_and_truncated_input() {
        assert!(!carries_keyframe(Codec::Other, &[0x65]));
        assert!(!carries_keyframe(Codec::H264, &[]));
        assert!(!carries_keyframe(Codec::H264, &[0x78, 0, 9]));
        assert!(!carries_keyframe(Codec::H265, &[49 << 1]));
    }
}
