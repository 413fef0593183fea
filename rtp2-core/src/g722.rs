// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! G.722 over RTP (RFC 3551 §4.5.2). G.722 samples at 16 kHz and codes each sample in
//! 4 bits (64 kbit/s, 8 bytes per millisecond), but for historical reasons its RTP clock rate
//! is 8000 Hz: one RTP tick per encoded byte.

use crate::audio::AudioFraming;

/// Static payload type (RFC 3551 §6, table 4).
pub const PAYLOAD_TYPE: u8 = 9;
/// The RTP clock rate RFC 3551 keeps for compatibility.
pub const CLOCK_RATE: u32 = 8000;
/// The real sampling rate of the audio.
pub const SAMPLE_RATE: u32 = 16000;
/// Encoded bytes per millisecond.
pub const BYTES_PER_MS: usize = 8;

/// Byte-divisible framing: 8000 bytes per second, one tick per byte.
pub const FRAMING: AudioFraming = AudioFraming::Bytes {
    bytes_per_second: 1000 * BYTES_PER_MS as u64,
    ticks_per_byte_num: 1,
    ticks_per_byte_den: 1,
};
