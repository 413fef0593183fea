// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Absolute capture time (webrtc.org experiment `abs-capture-time`): 8 bytes, the NTP
//! timestamp (RFC 5905 §6, 32.32 fixed point) of the capture on the original capturing
//! system, optionally followed by 8 bytes: the estimated offset, signed 32.32 fixed point,
//! from the sender's clock to the capturer's. Only the two lengths 8 and 16 are valid.

use super::format::output;
use super::{FormatError, HeaderExtensionFormat};

/// Capture time and optional clock offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AbsCaptureTime {
    /// NTP capture timestamp, 32.32 unsigned fixed point seconds.
    pub ntp_timestamp: u64,
    /// Estimated capturer clock offset, 32.32 signed fixed point seconds.
    pub clock_offset: Option<i64>,
}

impl HeaderExtensionFormat for AbsCaptureTime {
    const URI: &'static str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";
    const MAX_LEN: usize = 16;

    fn decode(data: &[u8]) -> Result<Self, FormatError> {
        let word = |i: usize| {
            let mut b = [0; 8];
            b.copy_from_slice(&data[i..i + 8]);
            u64::from_be_bytes(b)
        };
        match data.len() {
            8 => Ok(Self {
                ntp_timestamp: word(0),
                clock_offset: None,
            }),
            16 => Ok(Self {
                ntp_timestamp: word(0),
                clock_offset: Some(word(8) as i64),
            }),
            len => Err(FormatError::BadLength { len }),
        }
    }

    fn encoded_len(&self) -> usize {
        if self.clock_offset.is_some() { 16 } else { 8 }
    }

    fn encode(&self, out: &mut [u8]) -> Result<usize, FormatError> {
        let len = self.encoded_len();
        let out = output(out, len)?;
        out[..8].copy_from_slice(&self.ntp_timestamp.to_be_bytes());
        if let Some(offset) = self.clock_offset {
            out[8..].copy_from_slice(&offset.to_be_bytes());
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_and_sixteen_bytes() {
        // Big-endian 64-bit words.
        let t = AbsCaptureTime {
            ntp_timestamp: 0x0102_0304_0506_0708,
            clock_offset: None,
        };
        assert_eq!(t.to_vec(), [1, 2, 3, 4, 5, 6, 7, 8]);
        let o = AbsCaptureTime {
            clock_offset: Some(-1),
            ..t
        };
        let bytes = o.to_vec();
        assert_eq!(bytes.len(), 16);
        assert_eq!(&bytes[8..], &[0xff; 8]);
        assert_eq!(AbsCaptureTime::decode(&bytes).unwrap(), o);
        assert!(AbsCaptureTime::decode(&[0; 12]).is_err());
        assert!(o.fits(crate::hdrext::ExtensionForm::OneByte));
    }
}
