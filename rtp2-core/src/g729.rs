use crate::audio::AudioFraming;
pub const PAYLOAD_TYPE: u8 = 18;
pub const CLOCK_RATE: u32 = 8000;
pub const FRAME_BYTES: usize = 10;
pub const SID_BYTES: usize = 2;
pub const FRAME_DURATION_NS: u64 = 10_000_000;
pub const TICKS_PER_FRAME: u32 = 80;
pub const FRAMING: AudioFraming = AudioFraming::Frames {
    frame_bytes: 10,
    frame_duration_ns: FRAME_DURATION_NS,
    ticks_per_frame: 80,
};
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct G729Layout {
    pub speech_frames: usize,
    pub has_sid: bool,
}
impl G729Layout {
    pub fn duration_ns(&self) -> u64 {
        (self.speech_frames + usize::from(self.has_sid)) as u64 * FRAME_DURATION_NS
    }
    pub fn ticks(&self) -> u32 {
        (self.speech_frames + usize::from(self.has_sid)) as u32 * 80
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum G729Error {
    Empty,
    BadLength(usize),
}
impl std::fmt::Display for G729Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => write!(f, "empty"),
            Self::BadLength(l) => write!(
                f,
                "{l} bytes is not whole 10-byte frames with an optional 2-byte SID"
            ),
        }
    }
}
pub fn parse_payload(p: &[u8]) -> Result<G729Layout, G729Error> {
    if p.is_empty() {
        return Err(G729Error::Empty);
    }
    match p.len() % 10 {
        0 => Ok(G729Layout {
            speech_frames: p.len() / 10,
            has_sid: false,
        }),
        2 => Ok(G729Layout {
            speech_frames: p.len() / 10,
            has_sid: true,
        }),
        _ => Err(G729Error::BadLength(p.len())),
    }
}
