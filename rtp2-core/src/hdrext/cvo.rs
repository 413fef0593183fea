// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! 3GPP coordination of video orientation (CVO), TS 26.114 §7.4.5: one byte
//! `0 0 0 0 C F R1 R0`: C camera (0 front, 1 back), F horizontal flip, R the clockwise
//! rotation a receiver applies before display, in quarter turns. The high bits are reserved
//! (sent as 0, ignored on receipt). libwebrtc sends it on the last packet of each key frame
//! and whenever the rotation changes.

use super::format::output;
use super::{FormatError, HeaderExtensionFormat};

/// The CVO byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VideoOrientation {
    /// C: the back-facing camera took the picture.
    pub back_camera: bool,
    /// F: flipped horizontally (applied before the rotation).
    pub flip: bool,
    /// R: clockwise rotation to display, in quarter turns (0–3).
    pub quarter_turns: u8,
}

impl VideoOrientation {
    /// The clockwise rotation in degrees (0, 90, 180, 270).
    pub fn degrees(self) -> u16 {
        u16::from(self.quarter_turns & 3) * 90
    }
}

impl HeaderExtensionFormat for VideoOrientation {
    const URI: &'static str = "urn:3gpp:video-orientation";
    const MAX_LEN: usize = 1;

    fn decode(data: &[u8]) -> Result<Self, FormatError> {
        let [b] = data else {
            return Err(FormatError::BadLength { len: data.len() });
        };
        Ok(Self {
            back_camera: b & 0x08 != 0,
            flip: b & 0x04 != 0,
            quarter_turns: b & 0x03,
        })
    }

    fn encoded_len(&self) -> usize {
        1
    }

    fn encode(&self, out: &mut [u8]) -> Result<usize, FormatError> {
        if self.quarter_turns > 3 {
            return Err(FormatError::BadValue);
        }
        output(out, 1)?[0] =
            (u8::from(self.back_camera) << 3) | (u8::from(self.flip) << 2) | self.quarter_turns;
        Ok(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // TS 26.114 Table 7.2 bit layout, written by hand.
    #[test]
    fn bits_of_ts_26_114() {
        let v = VideoOrientation::decode(&[0b0000_1101]).unwrap();
        assert_eq!(
            v,
            VideoOrientation {
                back_camera: true,
                flip: true,
                quarter_turns: 1
            }
        );
        assert_eq!(v.degrees(), 90);
        assert_eq!(v.to_vec(), [0x0d]);
        // Reserved high bits are ignored.
        assert_eq!(VideoOrientation::decode(&[0xf3]).unwrap().quarter_turns, 3);
        assert!(VideoOrientation::decode(&[]).is_err());
        assert!(VideoOrientation::decode(&[0, 0]).is_err());
        let bad = VideoOrientation {
            quarter_turns: 4,
            ..Default::default()
        };
        assert_eq!(bad.encode(&mut [0]), Err(FormatError::BadValue));
    }
}
