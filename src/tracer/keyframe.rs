// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Keyframe detection in H.264 and H.265 RTP payloads, for the tracer's keyframe count: an
//! access unit is a keyframe when its first slice is an H.264 IDR slice (nal_unit_type 5)
//! or an H.265 IRAP picture (nal_unit_type 16..=21), found alone, aggregated or as a
//! fragment start. Pure byte inspection of the first bytes of the payload; nothing is
//! allocated.

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

/// H.264 slice NAL unit types (VCL, ITU-T H.264 table 7-1): 1 to 5; 5 is an IDR slice.
fn h264_vcl(nal_type: u8) -> Option<bool> {
    (1..=5).contains(&nal_type).then_some(nal_type == 5)
}

/// H.265 VCL NAL unit types (ITU-T H.265 table 7-1): 0 to 31; 16 to 23 are IRAP (22 and 23
/// reserved).
fn h265_vcl(nal_type: u8) -> Option<bool> {
    (nal_type < 32).then_some((16..=21).contains(&nal_type))
}

/// Whether the first slice NAL unit that `payload` (possibly truncated) starts is a keyframe
/// one (H.264 IDR, H.265 IRAP): `Some(true)` or `Some(false)`, or `None` when the payload
/// starts no slice (parameter sets, SEI, a fragment other than a start, too short, or not
/// H.264/H.265). All slices of a picture share its IDR/IRAP nature (H.264 7.4.1.2.4,
/// H.265 7.4.2.4.4), so the first one decides the access unit and later packets of the
/// access unit need not be looked at.
pub(crate) fn first_slice_is_key(codec: Codec, payload: &[u8]) -> Option<bool> {
    let &first = payload.first()?;
    match codec {
        Codec::Other => None,
        Codec::H264 => match first & 0x1f {
            // STAP-A (RFC 6184 §5.7.1): 16-bit sizes, each NAL unit's header after it.
            24 => aggregated(&payload[1..], |b| h264_vcl(b & 0x1f)),
            // FU-A (RFC 6184 §5.8): the start fragment carries the type in the FU header.
            28 => payload
                .get(1)
                .filter(|h| *h & 0x80 != 0)
                .and_then(|h| h264_vcl(h & 0x1f)),
            t => h264_vcl(t),
        },
        Codec::H265 => match (first >> 1) & 0x3f {
            // AP (RFC 7798 §4.4.2), without DONL: 16-bit sizes after the 2-byte header.
            48 => aggregated(payload.get(2..).unwrap_or(&[]), |b| {
                h265_vcl((b >> 1) & 0x3f)
            }),
            // FU (RFC 7798 §4.4.3): the FU header after the 2-byte payload header.
            49 => payload
                .get(2)
                .filter(|h| *h & 0x80 != 0)
                .and_then(|h| h265_vcl(h & 0x3f)),
            t => h265_vcl(t),
        },
    }
}

/// Walks size-prefixed NAL units of an aggregation packet (as far as `data` goes) to the
/// first one `vcl` decides.
fn aggregated(mut data: &[u8], vcl: impl Fn(u8) -> Option<bool>) -> Option<bool> {
    while data.len() >= 3 {
        let size = usize::from(u16::from_be_bytes([data[0], data[1]]));
        if size == 0 {
            return None;
        }
        if let Some(key) = vcl(data[2]) {
            return Some(key);
        }
        data = data.get(2 + size..).unwrap_or(&[]);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: Option<bool> = Some(true);
    const P: Option<bool> = Some(false);

    #[test]
    fn h264_single_stap_and_fu() {
        assert_eq!(first_slice_is_key(Codec::H264, &[0x65, 0x88]), K);
        assert_eq!(first_slice_is_key(Codec::H264, &[0x41, 0x9a]), P);
        // SPS alone decides nothing.
        assert_eq!(first_slice_is_key(Codec::H264, &[0x67, 0x42]), None);
        // STAP-A: SPS (size 2), IDR (size 2); SPS, PPS.
        assert_eq!(
            first_slice_is_key(Codec::H264, &[0x78, 0, 2, 0x67, 0x42, 0, 2, 0x65, 0x88]),
            K
        );
        assert_eq!(
            first_slice_is_key(Codec::H264, &[0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce]),
            None
        );
        // FU-A start of an IDR and of a non-IDR slice; a middle fragment.
        assert_eq!(first_slice_is_key(Codec::H264, &[0x7c, 0x85, 0]), K);
        assert_eq!(first_slice_is_key(Codec::H264, &[0x7c, 0x81, 0]), P);
        assert_eq!(first_slice_is_key(Codec::H264, &[0x7c, 0x05, 0]), None);
    }

    #[test]
    fn h265_single_ap_and_fu() {
        // IDR_W_RADL = 19: header byte 0 = 19 << 1; TRAIL_R = 1.
        assert_eq!(first_slice_is_key(Codec::H265, &[19 << 1, 1, 0xaf]), K);
        assert_eq!(first_slice_is_key(Codec::H265, &[1 << 1, 1, 0xaf]), P);
        // AP (48): VPS (32) then CRA (21).
        assert_eq!(
            first_slice_is_key(
                Codec::H265,
                &[48 << 1, 1, 0, 2, 32 << 1, 1, 0, 2, 21 << 1, 1]
            ),
            K
        );
        // FU (49) start of an IDR_N_LP (20), and an end fragment.
        assert_eq!(
            first_slice_is_key(Codec::H265, &[49 << 1, 1, 0x80 | 20, 0]),
            K
        );
        assert_eq!(
            first_slice_is_key(Codec::H265, &[49 << 1, 1, 0x40 | 20, 0]),
            None
        );
    }

    #[test]
    fn other_codecs_and_truncated_input() {
        assert_eq!(first_slice_is_key(Codec::Other, &[0x65]), None);
        assert_eq!(first_slice_is_key(Codec::H264, &[]), None);
        assert_eq!(first_slice_is_key(Codec::H264, &[0x78, 0, 9]), None);
        assert_eq!(first_slice_is_key(Codec::H265, &[49 << 1]), None);
    }
}
