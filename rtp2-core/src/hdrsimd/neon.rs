// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! aarch64 NEON path, 4 headers per step: the three words of each header are computed
//! lane-parallel and written with one interleaving store (`vst3q_u32`), read with one
//! de-interleaving load (`vld3q_u32`); byte swaps are `vrev32q_u8`. Called only after
//! [`super::available`] reported NEON.

use std::arch::aarch64::*;

use super::{FixedHeader, HeaderTemplate, assemble};

#[target_feature(enable = "neon")]
fn bswap(x: uint32x4_t) -> uint32x4_t {
    vreinterpretq_u32_u8(vrev32q_u8(vreinterpretq_u8_u32(x)))
}

/// Writes whole groups of 4 headers; returns how many were written.
pub(super) fn write_headers(
    t: &HeaderTemplate,
    first_seq: u16,
    timestamps: &[u32],
    markers: &[bool],
    out: &mut [[u8; 12]],
) -> usize {
    // SAFETY: the caller checked that the CPU has NEON and cut the three slices to one
    // length (`super::write_headers`).
    unsafe { write_neon(t, first_seq, timestamps, markers, out) }
}

/// Writes the fixed headers of `out` 4 at a time; returns how many were written (a
/// multiple of 4; the caller writes the tail).
///
/// # Safety
///
/// The CPU must have NEON ([`super::available`] lists the level), and `timestamps` and
/// `markers` must hold at least `out.len()` elements: they are read 4 lanes at a time
/// with unchecked vector loads.
#[target_feature(enable = "neon")]
unsafe fn write_neon(
    t: &HeaderTemplate,
    first_seq: u16,
    timestamps: &[u32],
    markers: &[bool],
    out: &mut [[u8; 12]],
) -> usize {
    let groups = out.len() / 4;
    let fixed = vdupq_n_u32(0x80 | (u32::from(t.payload_type & 0x7f) << 8));
    let w2 = vdupq_n_u32(t.ssrc.to_be());
    let steps_arr = [0u32, 1, 2, 3];
    // SAFETY: reading a 16-byte local array.
    let steps = unsafe { vld1q_u32(steps_arr.as_ptr()) };
    for g in 0..groups {
        let base = g * 4;
        let seq = vandq_u32(
            vaddq_u32(vdupq_n_u32(u32::from(first_seq) + base as u32), steps),
            vdupq_n_u32(0xffff),
        );
        let m = &markers[base..base + 4];
        let m_arr = [
            u32::from(m[0]),
            u32::from(m[1]),
            u32::from(m[2]),
            u32::from(m[3]),
        ];
        // SAFETY: 4 timestamps from `base` are in bounds; `m_arr` is a local array.
        let (ts, marker) = unsafe {
            (
                vld1q_u32(timestamps[base..].as_ptr()),
                vld1q_u32(m_arr.as_ptr()),
            )
        };
        let hi = vshlq_n_u32::<16>(vshrq_n_u32::<8>(seq));
        let lo = vshlq_n_u32::<24>(vandq_u32(seq, vdupq_n_u32(0xff)));
        let w0 = vorrq_u32(
            vorrq_u32(fixed, vshlq_n_u32::<15>(marker)),
            vorrq_u32(hi, lo),
        );
        let words = uint32x4x3_t(w0, bswap(ts), w2);
        // SAFETY: 4 headers of 12 bytes from `base` are 48 bytes in bounds; vst3q_u32 writes
        // exactly 12 u32 with byte alignment allowed.
        unsafe { vst3q_u32(out[base..].as_mut_ptr().cast(), words) };
    }
    groups * 4
}

/// Decodes whole groups of 4 headers; returns how many were decoded.
pub(super) fn decode(words: &[[u32; 3]], fields: &mut [FixedHeader], ok: &mut [bool]) -> usize {
    // SAFETY: the caller checked that the CPU has NEON.
    unsafe { decode_neon(words, fields, ok) }
}

/// Decodes the headers of `words` 4 at a time into `fields` and `ok` (as long as
/// `words`, else this panics); returns how many were decoded (a multiple of 4).
///
/// # Safety
///
/// The CPU must have NEON ([`super::available`] lists the level).
#[target_feature(enable = "neon")]
unsafe fn decode_neon(words: &[[u32; 3]], fields: &mut [FixedHeader], ok: &mut [bool]) -> usize {
    let groups = words.len() / 4;
    for g in 0..groups {
        // SAFETY: 4 headers of 3 words from `g * 4` are 12 u32 in bounds.
        let v = unsafe { vld3q_u32(words[g * 4..].as_ptr().cast()) };
        let (mut w0, mut ts, mut ssrc) = ([0u32; 4], [0u32; 4], [0u32; 4]);
        // SAFETY: each local array holds 4 u32.
        unsafe {
            vst1q_u32(w0.as_mut_ptr(), v.0);
            vst1q_u32(ts.as_mut_ptr(), bswap(v.1));
            vst1q_u32(ssrc.as_mut_ptr(), bswap(v.2));
        }
        let range = g * 4..g * 4 + 4;
        assemble(&w0, &ts, &ssrc, &mut fields[range.clone()], &mut ok[range]);
    }
    groups * 4
}
