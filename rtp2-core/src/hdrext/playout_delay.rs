// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Playout delay (webrtc.org experiment `playout-delay`): three bytes, a 12-bit minimum
//! and a 12-bit maximum delay in 10 ms units (0–40.95 s) that the sender asks the receiver's
//! jitter buffer to keep between. libwebrtc drops an element whose minimum exceeds its
//! maximum; so do we.

use super::format::output;
use super::{FormatError, HeaderExtensionFormat};

/// The largest value of either field, in 10 ms units (40.95 s).
pub const MAX_UNITS: u16 = 0x0fff;

/// Minimum and maximum playout delay, in 10 ms units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlayoutDelay {
    /// Minimum delay, 10 ms units (≤ [`MAX_UNITS`]).
    pub min: u16,
    /// Maximum delay, 10 ms units (≤ [`MAX_UNITS`], ≥ `min`).
    pub max: u16,
}

impl PlayoutDelay {
    /// From milliseconds, rounded up to 10 ms and clamped to 40.95 s.
    pub fn from_ms(min_ms: u32, max_ms: u32) -> Self {
        let units = |ms: u32| ms.div_ceil(10).min(u32::from(MAX_UNITS)) as u16;
        Self {
            min: units(min_ms),
            max: units(max_ms),
        }
    }

    /// The minimum in milliseconds.
    pub fn min_ms(self) -> u32 {
        u32::from(self.min) * 10
    }

    /// The maximum in milliseconds.
    pub fn max_ms(self) -> u32 {
        u32::from(self.max) * 10
    }
}

impl HeaderExtensionFormat for PlayoutDelay {
    const URI: &'static str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
    const MAX_LEN: usize = 3;

    fn decode(data: &[u8]) -> Result<Self, FormatError> {
        let [a, b, c] = data else {
            return Err(FormatError::BadLength { len: data.len() });
        };
        let min = (u16::from(*a) << 4) | u16::from(b >> 4);
        let max = (u16::from(b & 0x0f) << 8) | u16::from(*c);
        if min > max {
            return Err(FormatError::BadValue);
        }
        Ok(Self { min, max })
    }

    fn encoded_len(&self) -> usize {
        3
    }

    fn encode(&self, out: &mut [u8]) -> Result<usize, FormatError> {
        if self.min > self.max || self.max > MAX_UNITS {
            return Err(FormatError::BadValue);
        }
        let out = output(out, 3)?;
        out[0] = (self.min >> 4) as u8;
        out[1] = ((self.min as u8 & 0x0f) << 4) | (self.max >> 8) as u8;
        out[2] = self.max as u8;
        Ok(3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libwebrtc_vector() {
        // libwebrtc rtp_packet_unittest: PlayoutDelay {30 ms, 340 ms} -> 0x00 0x30 0x22.
        let d = PlayoutDelay::from_ms(30, 340);
        assert_eq!(d.to_vec(), [0x00, 0x30, 0x22]);
        assert_eq!(PlayoutDelay::decode(&[0x00, 0x30, 0x22]).unwrap(), d);
        assert_eq!((d.min_ms(), d.max_ms()), (30, 340));
        // webrtc-rs (pion port) playout_delay_extension_test values: min 1234, max 2345.
        let p = PlayoutDelay {
            min: 1234,
            max: 2345,
        };
        assert_eq!(PlayoutDelay::decode(&p.to_vec()).unwrap(), p);
        assert_eq!(PlayoutDelay::from_ms(0, 100_000).max, MAX_UNITS);
        // min > max is rejected both ways.
        assert_eq!(
            PlayoutDelay::decode(&[0x01, 0x00, 0x01]),
            Err(FormatError::BadValue)
        );
        let bad = PlayoutDelay { min: 2, max: 1 };
        assert_eq!(bad.encode(&mut [0; 3]), Err(FormatError::BadValue));
    }
}
