// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Transmission time offset (RFC 5450 §2): three bytes, a 24-bit signed offset in RTP
//! clock ticks from the packet's RTP timestamp (the capture instant) to its actual send time.

use super::format::output;
use super::{FormatError, HeaderExtensionFormat};

/// Largest offset the 24-bit field holds.
pub const MAX_OFFSET: i32 = (1 << 23) - 1;
/// Smallest offset the 24-bit field holds.
pub const MIN_OFFSET: i32 = -(1 << 23);

/// The offset in RTP clock ticks (−2^23 … 2^23 − 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransmissionOffset(pub i32);

impl TransmissionOffset {
    /// From any tick count, clamped to the 24-bit range.
    pub fn clamped(ticks: i64) -> Self {
        Self(ticks.clamp(i64::from(MIN_OFFSET), i64::from(MAX_OFFSET)) as i32)
    }
}

impl HeaderExtensionFormat for TransmissionOffset {
    const URI: &'static str = "urn:ietf:params:rtp-hdrext:toffset";
    const MAX_LEN: usize = 3;

    fn decode(data: &[u8]) -> Result<Self, FormatError> {
        let [a, b, c] = data else {
            return Err(FormatError::BadLength { len: data.len() });
        };
        // Sign-extend from bit 23.
        Ok(Self(i32::from_be_bytes([*a, *b, *c, 0]) >> 8))
    }

    fn encoded_len(&self) -> usize {
        3
    }

    fn encode(&self, out: &mut [u8]) -> Result<usize, FormatError> {
        if !(MIN_OFFSET..=MAX_OFFSET).contains(&self.0) {
            return Err(FormatError::BadValue);
        }
        output(out, 3)?.copy_from_slice(&self.0.to_be_bytes()[1..]);
        Ok(3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libwebrtc_vector_and_sign() {
        // libwebrtc rtp_packet_unittest kPacketWithTO: offset 0x56ce -> 0x00 0x56 0xce.
        assert_eq!(TransmissionOffset(0x56ce).to_vec(), [0x00, 0x56, 0xce]);
        assert_eq!(
            TransmissionOffset::decode(&[0x00, 0x56, 0xce]).unwrap().0,
            0x56ce
        );
        assert_eq!(
            TransmissionOffset::decode(&[0xff, 0xff, 0xff]).unwrap().0,
            -1
        );
        assert_eq!(
            TransmissionOffset::decode(&[0x80, 0, 0]).unwrap().0,
            MIN_OFFSET
        );
        assert_eq!(TransmissionOffset(-2).to_vec(), [0xff, 0xff, 0xfe]);
        assert_eq!(TransmissionOffset::clamped(1 << 30).0, MAX_OFFSET);
        assert!(TransmissionOffset(1 << 23).encode(&mut [0; 3]).is_err());
    }
}
