#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioFraming {
    Bytes {
        bytes_per_second: u64,
        ticks_per_byte_num: u32,
        ticks_per_byte_den: u32,
    },
    Frames {
        frame_bytes: usize,
        frame_duration_ns: u64,
        ticks_per_frame: u32,
    },
}
impl AudioFraming {
    pub fn duration_ns(&self, bytes: usize) -> u64 {
        match *self {
            Self::Bytes {
                bytes_per_second, ..
            } => (bytes as u128 * 1_000_000_000 / u128::from(bytes_per_second.max(1))) as u64,
            Self::Frames {
                frame_bytes,
                frame_duration_ns,
                ..
            } => (bytes / frame_bytes.max(1)) as u64 * frame_duration_ns,
        }
    }
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
    pub fn align(&self) -> usize {
        match *self {
            Self::Bytes { .. } => 1,
            Self::Frames { frame_bytes, .. } => frame_bytes.max(1),
        }
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtimeSettings {
    pub min_ptime_ns: u64,
    pub max_ptime_ns: Option<u64>,
    pub ptime_multiple_ns: u64,
    pub caps_ptime_ns: Option<u64>,
    pub caps_maxptime_ns: Option<u64>,
    pub default_ptime_ns: u64,
    pub max_payload_bytes: usize,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadLimits {
    pub min_bytes: usize,
    pub max_bytes: usize,
    pub multiple_bytes: usize,
}
pub fn payload_limits(framing: &AudioFraming, s: &PtimeSettings) -> PayloadLimits {
    let align = framing.align();
    let down = |b: usize| (b / align * align).max(align);
    let mtu = down(s.max_payload_bytes);
    let max_ns = s
        .max_ptime_ns
        .or(s.caps_maxptime_ns)
        .unwrap_or(s.default_ptime_ns);
    let mut max = mtu.min(down(framing.bytes_for_duration(max_ns)));
    let mut min = down(framing.bytes_for_duration(s.min_ptime_ns)).min(max);
    if let Some(p) = s.caps_ptime_ns {
        let p = down(framing.bytes_for_duration(p)).min(mtu);
        min = p;
        max = p;
    }
    let multiple = if s.ptime_multiple_ns > 0 {
        down(framing.bytes_for_duration(s.ptime_multiple_ns))
    } else {
        align
    };
    max = max.max(align);
    min = min.max(align).min(max);
    PayloadLimits {
        min_bytes: min,
        max_bytes: max,
        multiple_bytes: multiple,
    }
}
pub fn next_packet_len(
    l: &PayloadLimits,
    framing: &AudioFraming,
    available: usize,
    draining: bool,
) -> Option<usize> {
    let align = framing.align();
    if draining {
        let n = available.min(l.max_bytes) / align * align;
        return (n > 0).then_some(n);
    }
    if available < l.min_bytes {
        return None;
    }
    let n = available.min(l.max_bytes);
    let n = n / l.multiple_bytes.max(1) * l.multiple_bytes.max(1);
    (n > 0 && n >= l.min_bytes).then_some(n)
}
