// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! x86-64 paths: SSE2 (4 lanes), AVX2 (8), AVX-512 F+BW (16). Each computes the three
//! little-endian words of a header lane-parallel; AVX2 and AVX-512 also (de)interleave them
//! with permutes, SSE2 through a small stack array. Every function here is called only after
//! [`super::available`] reported its features.

use std::arch::x86_64::*;

use super::{FixedHeader, HeaderTemplate, Level, assemble};

/// Writes as many whole lane groups as fit; returns how many headers were written.
pub(super) fn write_headers(
    level: Level,
    template: &HeaderTemplate,
    first_seq: u16,
    timestamps: &[u32],
    markers: &[bool],
    out: &mut [[u8; 12]],
) -> usize {
    // SAFETY: the caller checked that the CPU has the features of `level` and cut the three
    // slices to one length (`super::write_headers`).
    unsafe {
        match level {
            Level::Avx512 => write_avx512(template, first_seq, timestamps, markers, out),
            Level::Avx2 => write_avx2(template, first_seq, timestamps, markers, out),
            _ => write_sse2(template, first_seq, timestamps, markers, out),
        }
    }
}

/// Decodes as many whole lane groups of `words` as fit; returns how many were decoded.
pub(super) fn decode(
    level: Level,
    words: &[[u32; 3]],
    fields: &mut [FixedHeader],
    version_ok: &mut [bool],
) -> usize {
    // SAFETY: the caller checked that the CPU has the features of `level`.
    unsafe {
        match level {
            Level::Avx512 => decode_avx512(words, fields, version_ok),
            Level::Avx2 => decode_avx2(words, fields, version_ok),
            _ => decode_sse2(words, fields, version_ok),
        }
    }
}

// ---- SSE2 ----

#[target_feature(enable = "sse2")]
fn bswap_sse2(x: __m128i) -> __m128i {
    let lo = _mm_set1_epi32(0xff);
    let a = _mm_slli_epi32::<24>(x);
    let b = _mm_slli_epi32::<8>(_mm_and_si128(x, _mm_set1_epi32(0xff00)));
    let c = _mm_and_si128(_mm_srli_epi32::<8>(x), _mm_set1_epi32(0xff00));
    let d = _mm_and_si128(_mm_srli_epi32::<24>(x), lo);
    _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))
}

/// Word 0 of 4 headers from sequence numbers and 0/1 markers (32-bit lanes).
#[target_feature(enable = "sse2")]
fn word0_sse2(pt: u8, seq: __m128i, marker: __m128i) -> __m128i {
    let seq = _mm_and_si128(seq, _mm_set1_epi32(0xffff));
    let hi = _mm_slli_epi32::<16>(_mm_srli_epi32::<8>(seq));
    let lo = _mm_slli_epi32::<24>(_mm_and_si128(seq, _mm_set1_epi32(0xff)));
    let fixed = _mm_set1_epi32(0x80 | (i32::from(pt & 0x7f) << 8));
    _mm_or_si128(
        _mm_or_si128(fixed, _mm_slli_epi32::<15>(marker)),
        _mm_or_si128(hi, lo),
    )
}

/// Writes the fixed headers of `out` 4 at a time; returns how many were written (a
/// multiple of 4; the caller writes the tail).
///
/// # Safety
///
/// The CPU must have SSE2 ([`super::available`] lists the level), and `timestamps` and
/// `markers` must hold at least `out.len()` elements: they are read 4 lanes at a time
/// with unchecked vector loads.
#[target_feature(enable = "sse2")]
unsafe fn write_sse2(
    t: &HeaderTemplate,
    first_seq: u16,
    timestamps: &[u32],
    markers: &[bool],
    out: &mut [[u8; 12]],
) -> usize {
    let groups = out.len() / 4;
    let ssrc = t.ssrc.to_be();
    for g in 0..groups {
        let base = g * 4;
        let seq = _mm_add_epi32(
            _mm_set1_epi32(i32::from(first_seq) + base as i32),
            _mm_setr_epi32(0, 1, 2, 3),
        );
        let m = &markers[base..base + 4];
        let marker = _mm_setr_epi32(
            i32::from(m[0]),
            i32::from(m[1]),
            i32::from(m[2]),
            i32::from(m[3]),
        );
        // SAFETY: `timestamps[base..base + 4]` is in bounds (base + 4 <= out.len() <=
        // timestamps.len()); loadu has no alignment requirement.
        let ts = unsafe { _mm_loadu_si128(timestamps[base..].as_ptr().cast()) };
        let mut w0 = [0u32; 4];
        let mut w1 = [0u32; 4];
        // SAFETY: both arrays are 16 bytes; storeu has no alignment requirement.
        unsafe {
            _mm_storeu_si128(
                w0.as_mut_ptr().cast(),
                word0_sse2(t.payload_type, seq, marker),
            );
            _mm_storeu_si128(w1.as_mut_ptr().cast(), bswap_sse2(ts));
        }
        for i in 0..4 {
            let h = &mut out[base + i];
            h[..4].copy_from_slice(&w0[i].to_le_bytes());
            h[4..8].copy_from_slice(&w1[i].to_le_bytes());
            h[8..].copy_from_slice(&ssrc.to_le_bytes());
        }
    }
    groups * 4
}

/// Decodes the headers of `words` 4 at a time into `fields` and `ok` (as long as
/// `words`, else this panics); returns how many were decoded (a multiple of 4).
///
/// # Safety
///
/// The CPU must have SSE2 ([`super::available`] lists the level).
#[target_feature(enable = "sse2")]
unsafe fn decode_sse2(words: &[[u32; 3]], fields: &mut [FixedHeader], ok: &mut [bool]) -> usize {
    let groups = words.len() / 4;
    for g in 0..groups {
        let w = &words[g * 4..g * 4 + 4];
        let lane = |f: usize| {
            _mm_setr_epi32(
                w[0][f] as i32,
                w[1][f] as i32,
                w[2][f] as i32,
                w[3][f] as i32,
            )
        };
        let (mut w0, mut ts, mut ssrc) = ([0u32; 4], [0u32; 4], [0u32; 4]);
        // SAFETY: each array is 16 bytes; storeu has no alignment requirement.
        unsafe {
            _mm_storeu_si128(w0.as_mut_ptr().cast(), lane(0));
            _mm_storeu_si128(ts.as_mut_ptr().cast(), bswap_sse2(lane(1)));
            _mm_storeu_si128(ssrc.as_mut_ptr().cast(), bswap_sse2(lane(2)));
        }
        let range = g * 4..g * 4 + 4;
        assemble(&w0, &ts, &ssrc, &mut fields[range.clone()], &mut ok[range]);
    }
    groups * 4
}

// ---- AVX2 ----

/// Header index of output dword k of interleaved vector j (8 dwords each).
const AVX2_HEADER_OF: [[i32; 8]; 3] = [
    [0, 0, 0, 1, 1, 1, 2, 2],
    [2, 3, 3, 3, 4, 4, 4, 5],
    [5, 5, 6, 6, 6, 7, 7, 7],
];
/// Dword within its input vector of header h's field f (de-interleaving).
const AVX2_POS_OF: [[i32; 8]; 3] = [
    [0, 3, 6, 1, 4, 7, 2, 5],
    [1, 4, 7, 2, 5, 0, 3, 6],
    [2, 5, 0, 3, 6, 1, 4, 7],
];

#[target_feature(enable = "avx2")]
fn bswap_avx2(x: __m256i) -> __m256i {
    let mask = _mm256_setr_epi8(
        3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8,
        15, 14, 13, 12,
    );
    _mm256_shuffle_epi8(x, mask)
}

/// Writes the fixed headers of `out` 8 at a time; returns how many were written (a
/// multiple of 8; the caller writes the tail).
///
/// # Safety
///
/// The CPU must have AVX2 ([`super::available`] lists the level), and `timestamps` and
/// `markers` must hold at least `out.len()` elements: they are read 8 lanes at a time
/// with unchecked vector loads.
#[target_feature(enable = "avx2")]
unsafe fn write_avx2(
    t: &HeaderTemplate,
    first_seq: u16,
    timestamps: &[u32],
    markers: &[bool],
    out: &mut [[u8; 12]],
) -> usize {
    let groups = out.len() / 8;
    let fixed = _mm256_set1_epi32(0x80 | (i32::from(t.payload_type & 0x7f) << 8));
    let w2 = _mm256_set1_epi32(t.ssrc.to_be() as i32);
    for g in 0..groups {
        let base = g * 8;
        let seq = _mm256_and_si256(
            _mm256_add_epi32(
                _mm256_set1_epi32(i32::from(first_seq) + base as i32),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            ),
            _mm256_set1_epi32(0xffff),
        );
        // SAFETY: 8 bools (bytes of value 0 or 1) and 8 timestamps from `base` are in
        // bounds; unaligned loads.
        let (marker, ts) = unsafe {
            (
                _mm256_cvtepu8_epi32(_mm_loadl_epi64(markers[base..].as_ptr().cast())),
                _mm256_loadu_si256(timestamps[base..].as_ptr().cast()),
            )
        };
        let hi = _mm256_slli_epi32::<16>(_mm256_srli_epi32::<8>(seq));
        let lo = _mm256_slli_epi32::<24>(_mm256_and_si256(seq, _mm256_set1_epi32(0xff)));
        let w0 = _mm256_or_si256(
            _mm256_or_si256(fixed, _mm256_slli_epi32::<15>(marker)),
            _mm256_or_si256(hi, lo),
        );
        let w1 = bswap_avx2(ts);
        let dst: *mut __m256i = out[base..].as_mut_ptr().cast();
        for (j, idx) in AVX2_HEADER_OF.iter().enumerate() {
            // SAFETY: reading a 32-byte constant table.
            let idx = unsafe { _mm256_loadu_si256(idx.as_ptr().cast()) };
            let r = _mm256_permutevar8x32_epi32(w0, idx);
            let (a, b) = (
                _mm256_permutevar8x32_epi32(w1, idx),
                _mm256_permutevar8x32_epi32(w2, idx),
            );
            let r = match j {
                0 => _mm256_blend_epi32::<0x24>(_mm256_blend_epi32::<0x92>(r, a), b),
                1 => _mm256_blend_epi32::<0x49>(_mm256_blend_epi32::<0x24>(r, a), b),
                _ => _mm256_blend_epi32::<0x92>(_mm256_blend_epi32::<0x49>(r, a), b),
            };
            // SAFETY: 8 headers of 12 bytes from `base` are 96 bytes = 3 × 32 in bounds.
            unsafe { _mm256_storeu_si256(dst.add(j), r) };
        }
    }
    groups * 8
}

/// Decodes the headers of `words` 8 at a time into `fields` and `ok` (as long as
/// `words`, else this panics); returns how many were decoded (a multiple of 8).
///
/// # Safety
///
/// The CPU must have AVX2 ([`super::available`] lists the level).
#[target_feature(enable = "avx2")]
unsafe fn decode_avx2(words: &[[u32; 3]], fields: &mut [FixedHeader], ok: &mut [bool]) -> usize {
    let groups = words.len() / 8;
    for g in 0..groups {
        let src: *const __m256i = words[g * 8..].as_ptr().cast();
        // SAFETY: 8 headers of 3 words from `g * 8` are 96 bytes = 3 × 32 in bounds.
        let (a, b, c) = unsafe {
            (
                _mm256_loadu_si256(src),
                _mm256_loadu_si256(src.add(1)),
                _mm256_loadu_si256(src.add(2)),
            )
        };
        let mut lanes = [[0u32; 8]; 3];
        for (f, pos) in AVX2_POS_OF.iter().enumerate() {
            // SAFETY: reading a 32-byte constant table.
            let idx = unsafe { _mm256_loadu_si256(pos.as_ptr().cast()) };
            let (pa, pb, pc) = (
                _mm256_permutevar8x32_epi32(a, idx),
                _mm256_permutevar8x32_epi32(b, idx),
                _mm256_permutevar8x32_epi32(c, idx),
            );
            let w = match f {
                0 => _mm256_blend_epi32::<0xc0>(_mm256_blend_epi32::<0x38>(pa, pb), pc),
                1 => _mm256_blend_epi32::<0xe0>(_mm256_blend_epi32::<0x18>(pa, pb), pc),
                _ => _mm256_blend_epi32::<0xe0>(_mm256_blend_epi32::<0x1c>(pa, pb), pc),
            };
            let w = if f == 0 { w } else { bswap_avx2(w) };
            // SAFETY: each lane array is 32 bytes.
            unsafe { _mm256_storeu_si256(lanes[f].as_mut_ptr().cast(), w) };
        }
        let range = g * 8..g * 8 + 8;
        assemble(
            &lanes[0],
            &lanes[1],
            &lanes[2],
            &mut fields[range.clone()],
            &mut ok[range],
        );
    }
    groups * 8
}

// ---- AVX-512 ----

/// Index tables of the two-step interleave of 16 headers (3 × 16 dwords).
const fn interleave_tables() -> [[[i32; 16]; 2]; 3] {
    let mut t = [[[0i32; 16]; 2]; 3];
    let mut j = 0;
    while j < 3 {
        let mut k = 0;
        while k < 16 {
            let g = 16 * j + k;
            let (h, f) = ((g / 3) as i32, g % 3);
            // Step 1: word 0 (from a) or word 1 (from b); step 2: word 2 or keep lane k.
            t[j][0][k] = if f == 1 { 16 + h } else { h };
            t[j][1][k] = if f == 2 { 16 + h } else { k as i32 };
            k += 1;
        }
        j += 1;
    }
    t
}

/// Index tables of the two-step de-interleave: field f of header h sits at dword 3h + f.
const fn deinterleave_tables() -> [[[i32; 16]; 2]; 3] {
    let mut t = [[[0i32; 16]; 2]; 3];
    let mut f = 0;
    while f < 3 {
        let mut h = 0;
        while h < 16 {
            let p = 3 * h + f;
            let (j, k) = (p / 16, (p % 16) as i32);
            t[f][0][h] = if j == 1 { 16 + k } else { k };
            t[f][1][h] = if j == 2 { 16 + k } else { h as i32 };
            h += 1;
        }
        f += 1;
    }
    t
}

const AVX512_INTERLEAVE: [[[i32; 16]; 2]; 3] = interleave_tables();
const AVX512_DEINTERLEAVE: [[[i32; 16]; 2]; 3] = deinterleave_tables();

#[target_feature(enable = "avx512f,avx512bw")]
fn bswap_avx512(x: __m512i) -> __m512i {
    let mask = _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203);
    _mm512_shuffle_epi8(x, mask)
}

/// Writes the fixed headers of `out` 16 at a time; returns how many were written (a
/// multiple of 16; the caller writes the tail).
///
/// # Safety
///
/// The CPU must have AVX-512 F and BW ([`super::available`] lists the level), and `timestamps` and
/// `markers` must hold at least `out.len()` elements: they are read 16 lanes at a time
/// with unchecked vector loads.
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn write_avx512(
    t: &HeaderTemplate,
    first_seq: u16,
    timestamps: &[u32],
    markers: &[bool],
    out: &mut [[u8; 12]],
) -> usize {
    let groups = out.len() / 16;
    let fixed = _mm512_set1_epi32(0x80 | (i32::from(t.payload_type & 0x7f) << 8));
    let w2 = _mm512_set1_epi32(t.ssrc.to_be() as i32);
    let steps = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for g in 0..groups {
        let base = g * 16;
        let seq = _mm512_and_si512(
            _mm512_add_epi32(_mm512_set1_epi32(i32::from(first_seq) + base as i32), steps),
            _mm512_set1_epi32(0xffff),
        );
        // SAFETY: 16 bools (bytes 0/1) and 16 timestamps from `base` are in bounds;
        // unaligned loads.
        let (marker, ts) = unsafe {
            (
                _mm512_cvtepu8_epi32(_mm_loadu_si128(markers[base..].as_ptr().cast())),
                _mm512_loadu_si512(timestamps[base..].as_ptr().cast()),
            )
        };
        let hi = _mm512_slli_epi32::<16>(_mm512_srli_epi32::<8>(seq));
        let lo = _mm512_slli_epi32::<24>(_mm512_and_si512(seq, _mm512_set1_epi32(0xff)));
        let w0 = _mm512_or_si512(
            _mm512_or_si512(fixed, _mm512_slli_epi32::<15>(marker)),
            _mm512_or_si512(hi, lo),
        );
        let w1 = bswap_avx512(ts);
        let dst: *mut __m512i = out[base..].as_mut_ptr().cast();
        for (j, [first, second]) in AVX512_INTERLEAVE.iter().enumerate() {
            // SAFETY: reading 64-byte constant tables.
            let (i1, i2) = unsafe {
                (
                    _mm512_loadu_si512(first.as_ptr().cast()),
                    _mm512_loadu_si512(second.as_ptr().cast()),
                )
            };
            let r = _mm512_permutex2var_epi32(_mm512_permutex2var_epi32(w0, i1, w1), i2, w2);
            // SAFETY: 16 headers of 12 bytes from `base` are 192 bytes = 3 × 64 in bounds.
            unsafe { _mm512_storeu_si512(dst.add(j).cast(), r) };
        }
    }
    groups * 16
}

/// Decodes the headers of `words` 16 at a time into `fields` and `ok` (as long as
/// `words`, else this panics); returns how many were decoded (a multiple of 16).
///
/// # Safety
///
/// The CPU must have AVX-512 F and BW ([`super::available`] lists the level).
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn decode_avx512(words: &[[u32; 3]], fields: &mut [FixedHeader], ok: &mut [bool]) -> usize {
    let groups = words.len() / 16;
    for g in 0..groups {
        let src: *const __m512i = words[g * 16..].as_ptr().cast();
        // SAFETY: 16 headers of 3 words from `g * 16` are 192 bytes = 3 × 64 in bounds.
        let (a, b, c) = unsafe {
            (
                _mm512_loadu_si512(src.cast()),
                _mm512_loadu_si512(src.add(1).cast()),
                _mm512_loadu_si512(src.add(2).cast()),
            )
        };
        let mut lanes = [[0u32; 16]; 3];
        for (f, [first, second]) in AVX512_DEINTERLEAVE.iter().enumerate() {
            // SAFETY: reading 64-byte constant tables.
            let (i1, i2) = unsafe {
                (
                    _mm512_loadu_si512(first.as_ptr().cast()),
                    _mm512_loadu_si512(second.as_ptr().cast()),
                )
            };
            let w = _mm512_permutex2var_epi32(_mm512_permutex2var_epi32(a, i1, b), i2, c);
            let w = if f == 0 { w } else { bswap_avx512(w) };
            // SAFETY: each lane array is 64 bytes.
            unsafe { _mm512_storeu_si512(lanes[f].as_mut_ptr().cast(), w) };
        }
        let range = g * 16..g * 16 + 16;
        assemble(
            &lanes[0],
            &lanes[1],
            &lanes[2],
            &mut fields[range.clone()],
            &mut ok[range],
        );
    }
    groups * 16
}
