// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Forward error correction for RTP: redundant audio data (RED, RFC 2198) and the generic
//! XOR FEC of RFC 5109 (ULPFEC), without GStreamer types.
//!
//! - [`red`]: the RED payload (block headers, several redundant blocks and the primary).
//! - [`ulpfec`]: the FEC header and level-0 header of RFC 5109 §7.3 and §7.4, encoding an FEC
//!   packet from media packets and recovering one missing media packet.
//! - [`masks`]: which media packets each FEC packet of a group protects.
//! - [`recovery`]: the receiver's bounded window of media and FEC packets, with iterative
//!   recovery (a recovered packet can complete another FEC packet's set).
//! - [`parity`]: the XOR parity both formats carry (the one engine of encoding and recovery).
//! - [`flexfec`]: FlexFEC repair headers, flexfec-03 (libwebrtc) and RFC 8627.
//! - [`flexfec_sender`] / [`flexfec_receiver`]: FlexFEC on a stream of its own: flexible,
//!   row, column and row+column protection; recovery over every protected SSRC.
//! - [`receiver`]: one SSRC's ULPFEC receiver when FEC shares the media's sequence numbers:
//!   takes FEC packets out, renumbers the media, tells lost FEC from lost media.

pub mod flexfec;
pub mod flexfec_receiver;
pub mod flexfec_sender;
pub mod masks;
pub mod parity;
pub mod receiver;
pub mod recovery;
pub mod red;
pub mod ulpfec;

/// A hasher for maps keyed by SSRC: one multiplication. SSRCs are random (RFC 3550 §8.1)
/// and the FEC receivers keep a bounded number of them, so a multiply spreads them well
/// enough and colliding ones cost a few comparisons, never more memory; SipHash cost about
/// 60 instructions per look-up, several per packet.
#[derive(Debug, Default)]
pub struct SsrcHasher(u64);

impl std::hash::Hasher for SsrcHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// XORs `data` into the start of `acc` (`acc` at least as long as `data`): the one operation
/// of RFC 5109 §8 and §9. AVX2 when the CPU has it (the SIMD exception to `deny(unsafe_code)`).
#[allow(unsafe_code)]
pub(crate) fn xor_into(acc: &mut [u8], data: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= 64 && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above), the one requirement of `xor_avx2`.
        unsafe { xor_avx2(acc, data) };
        return;
    }
    xor_blocks(acc, data);
}

/// [`xor_blocks`] compiled for AVX2: 32-byte vectors instead of SSE2's 16 (half the
/// instructions on the FEC encoders' and decoders' one hot loop).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn xor_avx2(acc: &mut [u8], data: &[u8]) {
    xor_blocks(acc, data);
}

#[inline(always)]
fn xor_blocks(acc: &mut [u8], data: &[u8]) {
    let n = data.len().min(acc.len());
    let (acc, data) = (&mut acc[..n], &data[..n]);
    // Blocks of 64 bytes as fixed-size arrays, which the compiler turns into vector XORs.
    let mut acc_words = acc.chunks_exact_mut(64);
    let mut data_words = data.chunks_exact(64);
    for (a, d) in (&mut acc_words).zip(&mut data_words) {
        if let (Ok(a), Ok(d)) = (<&mut [u8; 64]>::try_from(a), <&[u8; 64]>::try_from(d)) {
            for i in 0..64 {
                a[i] ^= d[i];
            }
        }
    }
    for (a, d) in acc_words
        .into_remainder()
        .iter_mut()
        .zip(data_words.remainder())
    {
        *a ^= d;
    }
}

/// The 64-bit sequence number nearest to `reference` whose low 16 bits are `seq`.
pub fn extend_seqnum(reference: u64, seq: u16) -> u64 {
    let delta = seq.wrapping_sub(reference as u16) as i16;
    reference.wrapping_add_signed(i64::from(delta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xor_handles_words_and_tail() {
        let mut acc = vec![0xffu8; 11];
        xor_into(&mut acc, &[0x0f; 10]);
        assert_eq!(acc[..10], [0xf0; 10]);
        assert_eq!(acc[10], 0xff);
        // Long enough for the vector path, with a tail; `acc` longer than `data`.
        let data: Vec<u8> = (0..201u32).map(|i| (i * 7) as u8).collect();
        let mut acc: Vec<u8> = (0..230u32).map(|i| (i * 13) as u8).collect();
        let expected: Vec<u8> = (0..230usize)
            .map(|i| acc[i] ^ data.get(i).copied().unwrap_or(0))
            .collect();
        xor_into(&mut acc, &data);
        assert_eq!(acc, expected);
    }

    #[test]
    fn extend_crosses_wraps_both_ways() {
        assert_eq!(extend_seqnum(0x1_0000 + 65535, 2), 0x2_0002);
        assert_eq!(extend_seqnum(0x2_0002, 65535), 0x1_ffff);
        assert_eq!(extend_seqnum(100, 90), 90);
    }
}
