// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! G.729 over RTP (RFC 3551 §4.5.6): 10-byte frames of 10 ms, several per packet; with
//! G.729 Annex B, a 2-byte comfort-noise (SID) frame may follow them, only as the last frame
//! of a packet.

use std::fmt;

use crate::audio::AudioFraming;

/// Static payload type (RFC 3551 §6, table 4).
pub const PAYLOAD_TYPE: u8 = 18;
/// RTP clock rate.
pub const CLOCK_RATE: u32 = 8000;
/// Bytes of a speech frame.
pub const FRAME_BYTES: usize = 10;
/// Bytes of an Annex B SID frame.
pub const SID_BYTES: usize = 2;
/// Duration of a frame (speech or SID).
pub const FRAME_DURATION_NS: u64 = 10_000_000;
/// RTP ticks of a frame.
pub const TICKS_PER_FRAME: u32 = 80;

/// Frame framing of G.729.
pub const FRAMING: AudioFraming = AudioFraming::Frames {
    frame_bytes: FRAME_BYTES,
    frame_duration_ns: FRAME_DURATION_NS,
    ticks_per_frame: TICKS_PER_FRAME,
};

/// The frames of a valid payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct G729Layout {
    /// 10-byte speech frames.
    pub speech_frames: usize,
    /// A trailing 2-byte SID frame.
    pub has_sid: bool,
}

impl G729Layout {
    fn frames(&self) -> usize {
        self.speech_frames + usize::from(self.has_sid)
    }

    /// Media duration (a SID frame stands for 10 ms too).
    pub fn duration_ns(&self) -> u64 {
        self.frames() as u64 * FRAME_DURATION_NS
    }

    /// RTP ticks of the payload.
    pub fn ticks(&self) -> u32 {
        self.frames() as u32 * TICKS_PER_FRAME
    }
}

/// Why a payload is not G.729.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum G729Error {
    /// No byte at all.
    Empty,
    /// A length that is neither n × 10 nor n × 10 + 2.
    BadLength(usize),
}

impl fmt::Display for G729Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "empty G.729 payload"),
            Self::BadLength(len) => write!(
                f,
                "{len} bytes is not whole 10-byte frames with an optional trailing 2-byte SID frame"
            ),
        }
    }
}

impl std::error::Error for G729Error {}

/// Checks a payload (or a payloader's input buffer): n × 10 bytes, or n × 10 + 2 with the
/// SID frame last.
pub fn parse_payload(payload: &[u8]) -> Result<G729Layout, G729Error> {
    layout_of_len(payload.len())
}

/// The layout of a G.729 payload of `len` bytes: the frame sizes alone decide it (RFC 3551
/// §4.5.6), so callers holding a GStreamer buffer need not map it.
pub fn layout_of_len(len: usize) -> Result<G729Layout, G729Error> {
    if len == 0 {
        return Err(G729Error::Empty);
    }
    let speech_frames = len / FRAME_BYTES;
    match len % FRAME_BYTES {
        0 => Ok(G729Layout {
            speech_frames,
            has_sid: false,
        }),
        SID_BYTES => Ok(G729Layout {
            speech_frames,
            has_sid: true,
        }),
        _ => Err(G729Error::BadLength(len)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let l = parse_payload(&[0; 20]).unwrap();
        assert_eq!((l.speech_frames, l.has_sid, l.ticks()), (2, false, 160));
        let l = parse_payload(&[0; 22]).unwrap();
        assert_eq!(
            (l.speech_frames, l.has_sid, l.duration_ns()),
            (2, true, 30_000_000)
        );
        let l = parse_payload(&[0; 2]).unwrap();
        assert_eq!((l.speech_frames, l.has_sid, l.ticks()), (0, true, 80));
    }

    #[test]
    fn bad_lengths() {
        assert_eq!(parse_payload(&[]), Err(G729Error::Empty));
        for len in [1, 3, 9, 11, 13, 19, 21, 23] {
            assert_eq!(parse_payload(&vec![0; len]), Err(G729Error::BadLength(len)));
        }
        assert!(G729Error::BadLength(11).to_string().contains("11 bytes"));
    }
}
