use crate::audio::AudioFraming;
pub const PAYLOAD_TYPE: u8 = 9;
pub const CLOCK_RATE: u32 = 8000;
pub const SAMPLE_RATE: u32 = 16000;
pub const BYTES_PER_MS: usize = 8;
pub const FRAMING: AudioFraming = AudioFraming::Bytes {
    bytes_per_second: 8000,
    ticks_per_byte_num: 1,
    ticks_per_byte_den: 1,
};
