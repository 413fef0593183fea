// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Batch writing and parsing of RTP fixed headers (RFC 3550 §5.1) with SIMD chosen at run
//! time: SSE2, AVX2 or AVX-512 on x86-64, NEON on aarch64, and a scalar fallback that is the
//! reference (property tests check every level against it).
//!
//! A payloader writes the headers of all packets made from one input at once: they differ
//! only in sequence number (consecutive), timestamp and marker bit. A depayloader reads the
//! fixed headers of a buffer list at once. Both are done in structure-of-arrays form: the
//! three 32-bit words of each header are computed lane-parallel (byte swaps, field masks),
//! then interleaved into 12-byte headers (vector permutes on AVX-512/AVX2, an interleaving
//! store on NEON).
//!
//! The level is detected once; the environment variable `RTP2_SIMD` (`scalar`, `sse2`,
//! `avx2`, `avx512`, `neon`) forces one for tests and benchmarks (never above what the CPU
//! supports). Parsing defaults to scalar, which measures faster (docs/performance.md).

use std::sync::OnceLock;

#[cfg(target_arch = "aarch64")]
#[allow(unsafe_code)]
mod neon;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86;

/// An implementation of the batch functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Level {
    /// Portable Rust, the reference.
    Scalar,
    /// x86-64 SSE2, 4 headers per step.
    Sse2,
    /// x86-64 AVX2, 8 headers per step.
    Avx2,
    /// x86-64 AVX-512 (F and BW), 16 headers per step.
    Avx512,
    /// aarch64 NEON, 4 headers per step.
    Neon,
}

impl Level {
    /// The name `RTP2_SIMD` uses.
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Sse2 => "sse2",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
            Level::Neon => "neon",
        }
    }

    fn from_name(name: &str) -> Option<Level> {
        [
            Level::Scalar,
            Level::Sse2,
            Level::Avx2,
            Level::Avx512,
            Level::Neon,
        ]
        .into_iter()
        .find(|l| l.name() == name.trim().to_ascii_lowercase())
    }
}

/// Every level this CPU can run, scalar first, best last (detected once).
pub fn available() -> &'static [Level] {
    static LEVELS: OnceLock<Vec<Level>> = OnceLock::new();
    LEVELS.get_or_init(detect_levels)
}

fn detect_levels() -> Vec<Level> {
    let mut levels = vec![Level::Scalar];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("sse2") {
            levels.push(Level::Sse2);
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            levels.push(Level::Avx2);
        }
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
        {
            levels.push(Level::Avx512);
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("neon") {
            levels.push(Level::Neon);
        }
    }
    levels
}

/// The level to use given the value of `RTP2_SIMD`: the forced one if the CPU has it, else
/// the best available one not above it; the best available one when nothing is forced.
pub fn choose(forced: Option<&str>, available: &[Level]) -> Level {
    let best = available.last().copied().unwrap_or(Level::Scalar);
    match forced.and_then(Level::from_name) {
        None => best,
        Some(wanted) => available
            .iter()
            .copied()
            .filter(|l| *l <= wanted)
            .max()
            .unwrap_or(Level::Scalar),
    }
}

/// The value of `RTP2_SIMD`, read once.
fn forced() -> Option<&'static str> {
    static FORCED: OnceLock<Option<String>> = OnceLock::new();
    FORCED
        .get_or_init(|| std::env::var("RTP2_SIMD").ok())
        .as_deref()
}

/// The level of batch writes: detected once, `RTP2_SIMD` honoured.
pub fn detected() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| choose(forced(), available()))
}

/// The level of batch parsing: scalar unless `RTP2_SIMD` asks for another, because the
/// SIMD versions measure slower than the scalar one (the per-header result structs are
/// filled one by one either way; see docs/performance.md).
pub fn detected_for_parse() -> Level {
    match forced() {
        Some(_) => detected(),
        None => Level::Scalar,
    }
}

/// The constant part of a stream's headers: version 2, no padding, extension or CSRCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderTemplate {
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Synchronization source.
    pub ssrc: u32,
}

/// The fields of a fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FixedHeader {
    /// Marker bit.
    pub marker: bool,
    /// Payload type.
    pub payload_type: u8,
    /// Sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: u32,
    /// Padding bit.
    pub padding: bool,
    /// Extension bit.
    pub extension: bool,
    /// Number of CSRCs.
    pub csrc_count: u8,
}

/// The first word of a header as stored (bytes 0–3 read little-endian): V=2, M, PT and the
/// big-endian sequence number.
fn word0(payload_type: u8, marker: bool, seq: u16) -> u32 {
    0x80 | (u32::from(payload_type & 0x7f) << 8)
        | (u32::from(marker) << 15)
        | (u32::from(seq >> 8) << 16)
        | (u32::from(seq & 0xff) << 24)
}

/// Writes headers: header `i` gets sequence number `first_seq + i` (wrapping), timestamp
/// `timestamps[i]` and marker `markers[i]`. Returns how many were written (the shortest of
/// the three slices).
pub fn write_headers(
    level: Level,
    template: &HeaderTemplate,
    first_seq: u16,
    timestamps: &[u32],
    markers: &[bool],
    out: &mut [[u8; 12]],
) -> usize {
    let n = out.len().min(timestamps.len()).min(markers.len());
    let (timestamps, markers, out) = (&timestamps[..n], &markers[..n], &mut out[..n]);
    let done = match level {
        #[cfg(target_arch = "x86_64")]
        Level::Sse2 | Level::Avx2 | Level::Avx512 if available().contains(&level) => {
            x86::write_headers(level, template, first_seq, timestamps, markers, out)
        }
        #[cfg(target_arch = "aarch64")]
        Level::Neon if available().contains(&level) => {
            neon::write_headers(template, first_seq, timestamps, markers, out)
        }
        _ => 0,
    };
    write_scalar(template, first_seq, timestamps, markers, out, done);
    n
}

/// The fewest headers a SIMD level writes in one step (SSE2 and NEON: 4); fewer are written
/// by the scalar code at every level.
const NARROWEST_STEP: usize = 4;

/// [`write_headers`] at the [`detected`] level. Fewer headers than one SIMD step (an audio
/// input that makes one packet) go straight to the scalar writer, which every level would
/// run for them anyway, without the level look-up.
pub fn write_headers_auto(
    template: &HeaderTemplate,
    first_seq: u16,
    timestamps: &[u32],
    markers: &[bool],
    out: &mut [[u8; 12]],
) -> usize {
    if out.len() < NARROWEST_STEP {
        let mut n = 0;
        for ((header, timestamp), marker) in out.iter_mut().zip(timestamps).zip(markers) {
            *header = scalar_header(
                template,
                first_seq.wrapping_add(n as u16),
                *timestamp,
                *marker,
            );
            n += 1;
        }
        return n;
    }
    write_headers(detected(), template, first_seq, timestamps, markers, out)
}

/// One header, as the scalar writer makes it.
fn scalar_header(template: &HeaderTemplate, seq: u16, timestamp: u32, marker: bool) -> [u8; 12] {
    let mut header = [0u8; 12];
    header[..4].copy_from_slice(&word0(template.payload_type, marker, seq).to_le_bytes());
    header[4..8].copy_from_slice(&timestamp.to_be_bytes());
    header[8..].copy_from_slice(&template.ssrc.to_be_bytes());
    header
}

/// The scalar writer, from header `from` on (the SIMD paths leave the tail to it).
fn write_scalar(
    template: &HeaderTemplate,
    first_seq: u16,
    timestamps: &[u32],
    markers: &[bool],
    out: &mut [[u8; 12]],
    from: usize,
) {
    for i in from..out.len() {
        let seq = first_seq.wrapping_add(i as u16);
        out[i] = scalar_header(template, seq, timestamps[i], markers[i]);
    }
}

/// Parses the fixed headers of `packets`: `out[i]` is the header of `packets[i]` when it has
/// at least 12 bytes and version 2, `None` otherwise. The CSRC list, extension and padding
/// lengths are left to the full parser ([`crate::rtp::RtpPacket`]).
pub fn parse_headers(level: Level, packets: &[&[u8]], out: &mut Vec<Option<FixedHeader>>) {
    out.clear();
    // Structure of arrays: the three words of each header, read little-endian.
    let mut words = [[0u32; 3]; 16];
    for chunk in packets.chunks(16) {
        let mut valid = [false; 16];
        for (i, p) in chunk.iter().enumerate() {
            if let Some(h) = p.get(..12) {
                valid[i] = true;
                for (w, bytes) in words[i].iter_mut().zip(h.chunks_exact(4)) {
                    *w = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                }
            } else {
                words[i] = [0; 3];
            }
        }
        let mut fields = [FixedHeader::default(); 16];
        let mut version_ok = [false; 16];
        let n = chunk.len();
        let done = match level {
            #[cfg(target_arch = "x86_64")]
            Level::Sse2 | Level::Avx2 | Level::Avx512 if available().contains(&level) => {
                x86::decode(level, &words[..n], &mut fields[..n], &mut version_ok[..n])
            }
            #[cfg(target_arch = "aarch64")]
            Level::Neon if available().contains(&level) => {
                neon::decode(&words[..n], &mut fields[..n], &mut version_ok[..n])
            }
            _ => 0,
        };
        for i in done..n {
            let [w0, w1, w2] = words[i];
            fields[i] = fields_of(w0, w1.swap_bytes(), w2.swap_bytes());
            version_ok[i] = w0 & 0xc0 == 0x80;
        }
        out.extend((0..n).map(|i| (valid[i] && version_ok[i]).then_some(fields[i])));
    }
}

/// [`parse_headers`] at the [`detected_for_parse`] level.
pub fn parse_headers_auto(packets: &[&[u8]], out: &mut Vec<Option<FixedHeader>>) {
    parse_headers(detected_for_parse(), packets, out)
}

/// The fields of one header from its first word (little-endian) and its timestamp and SSRC
/// (already in host order).
fn fields_of(w0: u32, timestamp: u32, ssrc: u32) -> FixedHeader {
    FixedHeader {
        marker: w0 & 0x8000 != 0,
        payload_type: ((w0 >> 8) & 0x7f) as u8,
        seq: (((w0 >> 8) & 0xff00) | (w0 >> 24)) as u16,
        timestamp,
        ssrc,
        padding: w0 & 0x20 != 0,
        extension: w0 & 0x10 != 0,
        csrc_count: (w0 & 0x0f) as u8,
    }
}

/// Fills `fields` and `version_ok` from lane arrays the SIMD paths computed.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn assemble(w0: &[u32], ts: &[u32], ssrc: &[u32], fields: &mut [FixedHeader], ok: &mut [bool]) {
    for i in 0..fields.len() {
        fields[i] = fields_of(w0[i], ts[i], ssrc[i]);
        ok[i] = w0[i] & 0xc0 == 0x80;
    }
}

#[cfg(test)]
mod tests;
