// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Video timing (webrtc.org experiment `video-timing`), as Chrome sends it on frames it
//! samples for timing: 13 bytes, a flags byte then six big-endian 16-bit millisecond deltas
//! from the capture time: encode start, encode finish, packetization finish, pacer exit, and
//! two reserved for network elements. An older 12-byte form has no flags byte.

use super::format::output;
use super::{FormatError, HeaderExtensionFormat};

/// Flag: the frame was sampled because a timer fired.
pub const FLAG_TRIGGERED_BY_TIMER: u8 = 0x01;
/// Flag: the frame was sampled because it was unusually large.
pub const FLAG_TRIGGERED_BY_SIZE: u8 = 0x02;

/// Frame timing deltas, milliseconds after capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VideoTiming {
    /// Flags byte; `None` when read from the legacy 12-byte form.
    pub flags: Option<u8>,
    /// Encode start.
    pub encode_start_ms: u16,
    /// Encode finish.
    pub encode_finish_ms: u16,
    /// Packetization finish.
    pub packetization_finish_ms: u16,
    /// Pacer exit.
    pub pacer_exit_ms: u16,
    /// First network element's stamp (0 from senders).
    pub network_ms: u16,
    /// Second network element's stamp (0 from senders).
    pub network2_ms: u16,
}

impl HeaderExtensionFormat for VideoTiming {
    const URI: &'static str = "http://www.webrtc.org/experiments/rtp-hdrext/video-timing";
    const MAX_LEN: usize = 13;

    fn decode(data: &[u8]) -> Result<Self, FormatError> {
        let (flags, rest) = match data.len() {
            13 => (Some(data[0]), &data[1..]),
            12 => (None, data),
            len => return Err(FormatError::BadLength { len }),
        };
        let f = |i: usize| u16::from_be_bytes([rest[2 * i], rest[2 * i + 1]]);
        Ok(Self {
            flags,
            encode_start_ms: f(0),
            encode_finish_ms: f(1),
            packetization_finish_ms: f(2),
            pacer_exit_ms: f(3),
            network_ms: f(4),
            network2_ms: f(5),
        })
    }

    fn encoded_len(&self) -> usize {
        13
    }

    fn encode(&self, out: &mut [u8]) -> Result<usize, FormatError> {
        let out = output(out, 13)?;
        out[0] = self.flags.unwrap_or(0);
        let fields = [
            self.encode_start_ms,
            self.encode_finish_ms,
            self.packetization_finish_ms,
            self.pacer_exit_ms,
            self.network_ms,
            self.network2_ms,
        ];
        for (i, v) in fields.iter().enumerate() {
            out[1 + 2 * i..3 + 2 * i].copy_from_slice(&v.to_be_bytes());
        }
        Ok(13)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libwebrtc_legacy_and_current() {
        // libwebrtc rtp_packet_unittest kPacketWithLegacyTimingExtension (12 bytes).
        let legacy = [0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x04, 0, 0, 0, 0];
        let t = VideoTiming::decode(&legacy).unwrap();
        assert_eq!(t.flags, None);
        assert_eq!(
            (
                t.encode_start_ms,
                t.encode_finish_ms,
                t.packetization_finish_ms,
                t.pacer_exit_ms
            ),
            (1, 2, 3, 4)
        );
        let t = VideoTiming {
            flags: Some(FLAG_TRIGGERED_BY_SIZE),
            ..t
        };
        let bytes = t.to_vec();
        assert_eq!(bytes[0], 0x02);
        assert_eq!(&bytes[1..], &legacy);
        assert_eq!(VideoTiming::decode(&bytes).unwrap(), t);
        assert!(VideoTiming::decode(&[0; 11]).is_err());
    }
}
