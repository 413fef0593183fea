// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Packet time of constant-bitrate audio (RFC 3551 §4.5): how many bytes go into one RTP
//! packet, from the codec's framing, the MTU, and the `ptime` / `maxptime` wishes of the
//! receiver (SDP, RFC 4566 §6) or the element's properties. Packets always hold whole frames.

/// How a codec's bytes map to time and RTP clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AudioFraming {
    /// Byte-divisible codecs, such as G.722 (8000 bytes per second, one RTP tick per byte
    /// at its 8000 Hz RTP clock).
    Bytes {
        /// Encoded bytes per second.
        bytes_per_second: u64,
        /// RTP ticks per byte, as a fraction.
        ticks_per_byte_num: u32,
        /// Denominator of the fraction above.
        ticks_per_byte_den: u32,
    },
    /// Frame codecs, such as G.729 (10-byte frames of 10 ms, 80 ticks each).
    Frames {
        /// Bytes of one frame.
        frame_bytes: usize,
        /// Duration of one frame.
        frame_duration_ns: u64,
        /// RTP ticks of one frame.
        ticks_per_frame: u32,
    },
}

impl AudioFraming {
    /// Duration of `bytes` of encoded audio (a partial frame counts as a whole one, since
    /// comfort-noise frames are shorter than speech frames but last as long).
    pub fn duration_ns(&self, bytes: usize) -> u64 {
        match *self {
            Self::Bytes {
                bytes_per_second, ..
            } => (bytes as u128 * 1_000_000_000 / u128::from(bytes_per_second.max(1))) as u64,
            Self::Frames {
                frame_bytes,
                frame_duration_ns,
                ..
            } => bytes.div_ceil(frame_bytes.max(1)) as u64 * frame_duration_ns,
        }
    }

    /// RTP clock ticks of `bytes` of encoded audio (partial frames count as whole ones).
    pub fn ticks(&self, bytes: usize) -> u64 {
        match *self {
            Self::Bytes {
                ticks_per_byte_num,
                ticks_per_byte_den,
                ..
            } => {
                bytes as u64 * u64::from(ticks_per_byte_num) / u64::from(ticks_per_byte_den.max(1))
            }
            Self::Frames {
                frame_bytes,
                ticks_per_frame,
                ..
            } => bytes.div_ceil(frame_bytes.max(1)) as u64 * u64::from(ticks_per_frame),
        }
    }

    /// Whole bytes (or whole frames) that last at most `ns`.
    pub fn bytes_for_duration(&self, ns: u64) -> usize {
        match *self {
            Self::Bytes {
                bytes_per_second, ..
            } => (u128::from(ns) * u128::from(bytes_per_second) / 1_000_000_000) as usize,
            Self::Frames {
                frame_bytes,
                frame_duration_ns,
                ..
            } => (ns / frame_duration_ns.max(1)) as usize * frame_bytes,
        }
    }

    /// The unit packets are cut in: 1 byte, or one frame.
    pub fn align(&self) -> usize {
        match *self {
            Self::Bytes { .. } => 1,
            Self::Frames { frame_bytes, .. } => frame_bytes.max(1),
        }
    }
}

/// What decides the packet size; durations in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtimeSettings {
    /// `min-ptime` (0: none).
    pub min_ptime_ns: u64,
    /// `max-ptime` (`None`: unset).
    pub max_ptime_ns: Option<u64>,
    /// `ptime-multiple` (0: off): packets are multiples of this duration.
    pub ptime_multiple_ns: u64,
    /// `ptime` of the downstream caps (SDP `a=ptime`): the exact packet time wanted.
    pub caps_ptime_ns: Option<u64>,
    /// `maxptime` of the downstream caps (SDP `a=maxptime`).
    pub caps_maxptime_ns: Option<u64>,
    /// Packet time when no maximum is given at all: 20 ms per RFC 3551 §4.5.
    pub default_ptime_ns: u64,
    /// Payload bytes that fit in the MTU.
    pub max_payload_bytes: usize,
}

/// The payload sizes a packet may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadLimits {
    /// Wait until at least this much is buffered.
    pub min_bytes: usize,
    /// Never put more in one packet.
    pub max_bytes: usize,
    /// Packet sizes are multiples of this.
    pub multiple_bytes: usize,
}

/// Computes the limits: max = MTU capped by max-ptime, else caps maxptime, else the default
/// ptime; a caps ptime fixes both min and max; min is at least min-ptime; all in whole
/// frames, never below one frame.
pub fn payload_limits(framing: &AudioFraming, settings: &PtimeSettings) -> PayloadLimits {
    let align = framing.align();
    let whole = |bytes: usize| (bytes / align * align).max(align);
    let mtu_bytes = whole(settings.max_payload_bytes);
    let max_ns = settings
        .max_ptime_ns
        .or(settings.caps_maxptime_ns)
        .unwrap_or(settings.default_ptime_ns);
    let mut max_bytes = mtu_bytes.min(whole(framing.bytes_for_duration(max_ns)));
    let mut min_bytes = whole(framing.bytes_for_duration(settings.min_ptime_ns));
    if let Some(ptime) = settings.caps_ptime_ns {
        let exact = whole(framing.bytes_for_duration(ptime)).min(mtu_bytes);
        min_bytes = exact;
        max_bytes = exact;
    }
    let multiple_bytes = if settings.ptime_multiple_ns > 0 {
        whole(framing.bytes_for_duration(settings.ptime_multiple_ns)).min(max_bytes)
    } else {
        align
    };
    PayloadLimits {
        min_bytes: min_bytes.min(max_bytes),
        max_bytes,
        multiple_bytes,
    }
}

/// Bytes for the next packet when `available` bytes are buffered, or `None` to wait: the
/// largest multiple of `multiple_bytes` within `max_bytes`, once `min_bytes` are there. When
/// `draining`, whatever whole frames are left within `max_bytes` go.
pub fn next_packet_len(
    limits: &PayloadLimits,
    framing: &AudioFraming,
    available: usize,
    draining: bool,
) -> Option<usize> {
    let align = framing.align();
    if draining {
        let len = available.min(limits.max_bytes) / align * align;
        return (len > 0).then_some(len);
    }
    if available < limits.min_bytes {
        return None;
    }
    let multiple = limits.multiple_bytes.max(1);
    let len = available.min(limits.max_bytes) / multiple * multiple;
    (len > 0 && len >= limits.min_bytes).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{g722, g729};

    fn settings() -> PtimeSettings {
        PtimeSettings {
            min_ptime_ns: 0,
            max_ptime_ns: None,
            ptime_multiple_ns: 0,
            caps_ptime_ns: None,
            caps_maxptime_ns: None,
            default_ptime_ns: 20_000_000,
            max_payload_bytes: 1388,
        }
    }

    fn limits(framing: AudioFraming, s: PtimeSettings) -> (usize, usize, usize) {
        let l = payload_limits(&framing, &s);
        (l.min_bytes, l.max_bytes, l.multiple_bytes)
    }

    #[test]
    fn g722_defaults_to_20_ms() {
        assert_eq!(limits(g722::FRAMING, settings()), (1, 160, 1));
        assert_eq!(g722::FRAMING.ticks(160), 160);
        assert_eq!(g722::FRAMING.duration_ns(160), 20_000_000);
    }

    #[test]
    fn mtu_caps_the_packet() {
        let s = PtimeSettings {
            max_payload_bytes: 88,
            ..settings()
        };
        assert_eq!(limits(g722::FRAMING, s), (1, 88, 1));
        // 20 ms of G.729 (20 bytes) fit; 15 bytes of room leave one whole frame.
        assert_eq!(limits(g729::FRAMING, s), (10, 20, 10));
        let tiny = PtimeSettings {
            max_payload_bytes: 15,
            ..settings()
        };
        assert_eq!(limits(g729::FRAMING, tiny), (10, 10, 10));
    }

    #[test]
    fn caps_ptime_is_exact_and_beats_properties() {
        let s = PtimeSettings {
            caps_ptime_ns: Some(30_000_000),
            max_ptime_ns: Some(10_000_000),
            ..settings()
        };
        assert_eq!(limits(g729::FRAMING, s), (30, 30, 10));
    }

    #[test]
    fn min_ptime_and_multiple() {
        let s = PtimeSettings {
            min_ptime_ns: 40_000_000,
            max_ptime_ns: Some(60_000_000),
            ptime_multiple_ns: 20_000_000,
            ..settings()
        };
        let l = payload_limits(&g722::FRAMING, &s);
        assert_eq!(
            (l.min_bytes, l.max_bytes, l.multiple_bytes),
            (320, 480, 160)
        );
        assert_eq!(next_packet_len(&l, &g722::FRAMING, 319, false), None);
        assert_eq!(next_packet_len(&l, &g722::FRAMING, 400, false), Some(320));
        assert_eq!(next_packet_len(&l, &g722::FRAMING, 1000, false), Some(480));
        assert_eq!(next_packet_len(&l, &g722::FRAMING, 100, true), Some(100));
    }

    #[test]
    fn frames_stay_whole() {
        let s = PtimeSettings {
            max_ptime_ns: Some(25_000_000),
            ..settings()
        };
        let l = payload_limits(&g729::FRAMING, &s);
        assert_eq!((l.min_bytes, l.max_bytes), (10, 20));
        assert_eq!(next_packet_len(&l, &g729::FRAMING, 35, false), Some(20));
        assert_eq!(next_packet_len(&l, &g729::FRAMING, 5, true), None);
        assert_eq!(g729::FRAMING.ticks(22), 240);
        assert_eq!(g729::FRAMING.duration_ns(12), 20_000_000);
    }
}
