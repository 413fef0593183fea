// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Video content type (webrtc.org experiment `video-content-type`): one byte, 0 for
//! unspecified content and 1 for a screenshare (libwebrtc `VideoContentType`). Other values
//! are reserved; older libwebrtc put simulcast and experiment ids in the high bits, which we
//! ignore on receipt.

use super::format::output;
use super::{FormatError, HeaderExtensionFormat};

/// The content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VideoContentType {
    /// The video is a screen capture (encoders tune for text and static content).
    pub screenshare: bool,
}

impl HeaderExtensionFormat for VideoContentType {
    const URI: &'static str = "http://www.webrtc.org/experiments/rtp-hdrext/video-content-type";
    const MAX_LEN: usize = 1;

    fn decode(data: &[u8]) -> Result<Self, FormatError> {
        let [b] = data else {
            return Err(FormatError::BadLength { len: data.len() });
        };
        match b & 0x03 {
            0 => Ok(Self { screenshare: false }),
            1 => Ok(Self { screenshare: true }),
            _ => Err(FormatError::BadValue),
        }
    }

    fn encoded_len(&self) -> usize {
        1
    }

    fn encode(&self, out: &mut [u8]) -> Result<usize, FormatError> {
        output(out, 1)?[0] = u8::from(self.screenshare);
        Ok(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screenshare_bit() {
        assert_eq!(VideoContentType { screenshare: true }.to_vec(), [1]);
        assert!(!VideoContentType::decode(&[0]).unwrap().screenshare);
        assert!(VideoContentType::decode(&[1]).unwrap().screenshare);
        assert_eq!(VideoContentType::decode(&[2]), Err(FormatError::BadValue));
        assert!(VideoContentType::decode(&[]).is_err());
    }
}
