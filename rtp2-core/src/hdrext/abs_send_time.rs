// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Absolute send time (webrtc.org experiment `abs-send-time`): three bytes, the sender's
//! clock at sending in seconds as unsigned 6.18 fixed point, i.e. NTP time (RFC 5905 §6)
//! bits 14 to 37, wrapping every 64 s. Receivers only use differences between packets
//! (bandwidth estimation), so the epoch does not matter, the moment of stamping does.

use super::format::output;
use super::{FormatError, HeaderExtensionFormat};

/// A 24-bit 6.18 fixed-point send time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AbsSendTime(u32);

impl AbsSendTime {
    /// The value from its 24 bits (higher bits dropped).
    pub fn from_raw(raw: u32) -> Self {
        Self(raw & 0x00ff_ffff)
    }

    /// The 24 bits.
    pub fn raw(self) -> u32 {
        self.0
    }

    /// From a 64-bit NTP timestamp (32.32 fixed point seconds).
    pub fn from_ntp64(ntp: u64) -> Self {
        Self::from_raw((ntp >> 14) as u32)
    }

    /// From nanoseconds of any clock (modulo 64 s), rounded down.
    pub fn from_nanos(ns: u64) -> Self {
        let secs = ns / 1_000_000_000;
        let frac = ((ns % 1_000_000_000) << 18) / 1_000_000_000;
        Self::from_raw(((secs << 18) | frac) as u32)
    }

    /// Nanoseconds since the last 64 s wrap, rounded down.
    pub fn nanos(self) -> u64 {
        (u64::from(self.0) * 1_000_000_000) >> 18
    }
}

impl HeaderExtensionFormat for AbsSendTime {
    const URI: &'static str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
    const MAX_LEN: usize = 3;

    fn decode(data: &[u8]) -> Result<Self, FormatError> {
        let [a, b, c] = data else {
            return Err(FormatError::BadLength { len: data.len() });
        };
        Ok(Self(u32::from_be_bytes([0, *a, *b, *c])))
    }

    fn encoded_len(&self) -> usize {
        3
    }

    fn encode(&self, out: &mut [u8]) -> Result<usize, FormatError> {
        output(out, 3)?.copy_from_slice(&self.0.to_be_bytes()[1..]);
        Ok(3)
    }
}

/// Overwrites the data of the abs-send-time element `id` in an RTP packet (RFC 3550 §5.1,
/// RFC 8285 block): the way to stamp the send time where the packet really leaves (a pad probe
/// on the network sink) when the payloader is far from it. `false` when the packet is not RTP
/// or has no 3-byte element `id`; nothing is changed then.
pub fn restamp(packet: &mut [u8], id: u8, value: AbsSendTime) -> bool {
    let base = packet.as_ptr() as usize;
    let start = {
        let Ok(p) = crate::rtp::RtpPacket::parse(packet) else {
            return false;
        };
        let Some((profile, block)) = p.extension() else {
            return false;
        };
        let Ok(elements) = super::parse_elements(profile, block) else {
            return false;
        };
        let found = elements
            .map_while(Result::ok)
            .find(|e| e.id == id && e.data.len() == 3);
        match found {
            Some(e) => e.data.as_ptr() as usize - base,
            None => return false,
        }
    };
    value.encode(&mut packet[start..]).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_6_18() {
        // 1.5 s = 1 << 18 | 1 << 17 = 0x060000.
        let t = AbsSendTime::from_nanos(1_500_000_000);
        assert_eq!(t.to_vec(), [0x06, 0x00, 0x00]);
        assert_eq!(t.nanos(), 1_500_000_000);
        // 123456 = 0x01e240, big-endian.
        assert_eq!(
            AbsSendTime::decode(&[0x01, 0xe2, 0x40]).unwrap().raw(),
            123_456
        );
        // NTP 1.5 s: 0x1_8000_0000 >> 14.
        assert_eq!(AbsSendTime::from_ntp64(0x1_8000_0000).raw(), 0x06_0000);
        // Wraps at 64 s.
        assert_eq!(
            AbsSendTime::from_nanos(65_000_000_000).nanos(),
            1_000_000_000
        );
        assert!(AbsSendTime::decode(&[1, 2]).is_err());
    }

    #[test]
    fn restamp_in_place() {
        // RFC 3550 header, 0xBEDE block of 2 words: id 1 (1 byte), id 3 (3 bytes), payload.
        let mut p = vec![0x90, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        p.extend([0xbe, 0xde, 0, 2, 0x10, 0xaa, 0x32, 1, 2, 3, 0, 0, 0x55]);
        assert!(restamp(&mut p, 3, AbsSendTime::from_raw(0xabcdef)));
        assert_eq!(&p[19..22], &[0xab, 0xcd, 0xef]);
        assert_eq!(p[17], 0xaa, "other element untouched");
        assert!(!restamp(&mut p, 1, AbsSendTime::from_raw(0)), "wrong size");
        assert!(!restamp(&mut p, 4, AbsSendTime::from_raw(0)), "absent");
        assert!(
            !restamp(&mut p[..10], 3, AbsSendTime::from_raw(0)),
            "not RTP"
        );
    }
}
