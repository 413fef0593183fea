// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Mixer-to-client audio level (RFC 6465 §3): one byte per CSRC of the packet, in CSRC list
//! order, each `0` then a 7-bit level in −dBov (0 loudest, 127 silence). At most 15 (the
//! CSRC count's limit); the first bit of each byte is reserved, sent as 0 and ignored.

use super::format::output;
use super::{FormatError, HeaderExtensionFormat};

/// Most levels one element carries (RFC 3550 CC field is 4 bits).
pub const MAX_LEVELS: usize = 15;

/// The levels, in the order of the packet's CSRC list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsrcAudioLevels(pub Vec<u8>);

impl HeaderExtensionFormat for CsrcAudioLevels {
    const URI: &'static str = "urn:ietf:params:rtp-hdrext:csrc-audio-level";
    const MAX_LEN: usize = MAX_LEVELS;

    fn decode(data: &[u8]) -> Result<Self, FormatError> {
        if data.is_empty() || data.len() > MAX_LEVELS {
            return Err(FormatError::BadLength { len: data.len() });
        }
        Ok(Self(data.iter().map(|b| b & 0x7f).collect()))
    }

    fn encoded_len(&self) -> usize {
        self.0.len()
    }

    fn encode(&self, out: &mut [u8]) -> Result<usize, FormatError> {
        let n = self.0.len();
        if n == 0 || n > MAX_LEVELS || self.0.iter().any(|l| *l > 127) {
            return Err(FormatError::BadValue);
        }
        output(out, n)?.copy_from_slice(&self.0);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6465_layout() {
        // RFC 6465 §3 figure: three levels, reserved bit 0.
        let l = CsrcAudioLevels(vec![0, 30, 127]);
        assert_eq!(l.to_vec(), [0x00, 0x1e, 0x7f]);
        assert_eq!(CsrcAudioLevels::decode(&[0x80 | 30]).unwrap().0, [30]);
        assert!(CsrcAudioLevels::decode(&[]).is_err());
        assert!(CsrcAudioLevels::decode(&[0; 16]).is_err());
        assert!(CsrcAudioLevels(vec![128]).encode(&mut [0]).is_err());
    }
}
