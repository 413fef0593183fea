// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Residual packet loss after ULPFEC recovery (a measurement, not a test): frames of 12
//! media packets, FEC overhead 10/20/33/50 % (accumulated per frame as `rtpulpfecenc2`
//! does), random loss 1/5/10 % and bursty loss (Gilbert–Elliott: mean burst 3 packets, 5 %
//! and 10 % average), the same loss draw for every mask type. `contiguous` is the layout of
//! GStreamer's C `rtpulpfecenc` (tests/fec_ulpfec.rs shows the C decoder recovers from ours
//! exactly what it recovers from C's). Run: `cargo run --release --example fec_residual`.

use rtp2_core::fec::masks::{MaskKind, group_masks};
use rtp2_core::fec::recovery::{RecoveryWindow, WindowLimits};
use rtp2_core::fec::ulpfec::encode;

const PER_FRAME: usize = 12;
const FRAMES: usize = 4000;
/// Extended sequence number of each frame's first packet in its own window.
const WINDOW_BASE: u64 = 1 << 20;

struct Rng(u64);
impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Clone, Copy)]
enum Loss {
    Random(f64),
    /// Gilbert–Elliott: average loss, mean burst length (all lost in the bad state).
    Bursty(f64, f64),
}

/// One loss decision per packet sent, from a fixed seed.
fn draw(loss: Loss, n: usize) -> Vec<bool> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut bad = false;
    (0..n)
        .map(|_| match loss {
            Loss::Random(p) => rng.unit() < p,
            Loss::Bursty(p, burst) => {
                let leave_bad = 1.0 / burst;
                let enter_bad = p * leave_bad / (1.0 - p);
                bad = if bad {
                    rng.unit() >= leave_bad
                } else {
                    rng.unit() < enter_bad
                };
                bad
            }
        })
        .collect()
}

fn packet(seq: u16, i: usize) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
    p.extend((0..100 + i % 50).map(|k| (k ^ i) as u8));
    p
}

/// Residual loss in % of media packets.
fn residual(kind: MaskKind, overhead: u64, loss: Loss) -> f64 {
    let mut budget = 0u64;
    let mut lost_draw = draw(loss, FRAMES * PER_FRAME * 2).into_iter();
    let (mut lost_total, mut seq) = (0usize, 0u16);
    for _ in 0..FRAMES {
        let media: Vec<Vec<u8>> = (0..PER_FRAME)
            .map(|i| packet(seq.wrapping_add(i as u16), i))
            .collect();
        budget += PER_FRAME as u64 * overhead;
        let k = (budget / 100) as usize;
        budget -= k as u64 * 100;
        let fecs: Vec<Vec<u8>> = if k == 0 {
            Vec::new()
        } else {
            group_masks(PER_FRAME, k, kind)
                .iter()
                .map(|m| {
                    let prot: Vec<(u16, &[u8])> =
                        m.iter().map(|&o| (o, &media[usize::from(o)][..])).collect();
                    encode(WINDOW_BASE as u16, &prot).unwrap()
                })
                .collect()
        };
        let mut w = RecoveryWindow::new(0, WindowLimits::default());
        let base = WINDOW_BASE;
        let mut missing: Vec<u64> = Vec::new();
        for (i, p) in media.iter().enumerate() {
            if lost_draw.next().unwrap_or(false) {
                missing.push(base + i as u64);
            } else {
                w.insert_media(base + i as u64, p, 0);
            }
        }
        for f in &fecs {
            if !lost_draw.next().unwrap_or(false) {
                let _ = w.insert_fec(base, f, 0);
            }
        }
        lost_total += missing.iter().filter(|s| !w.has_media(**s)).count();
        seq = seq.wrapping_add((PER_FRAME + k) as u16);
    }
    100.0 * lost_total as f64 / (FRAMES * PER_FRAME) as f64
}

fn main() {
    let losses = [
        ("random 1%", Loss::Random(0.01)),
        ("random 5%", Loss::Random(0.05)),
        ("random 10%", Loss::Random(0.10)),
        ("bursty 5% (burst 3)", Loss::Bursty(0.05, 3.0)),
        ("bursty 10% (burst 3)", Loss::Bursty(0.10, 3.0)),
    ];
    println!("| loss | overhead | none | contiguous (C) | interleaved (ours) |");
    println!("|---|---|---|---|---|");
    for (name, loss) in losses {
        for overhead in [10, 20, 33, 50] {
            println!(
                "| {name} | {overhead}% | {:.2}% | {:.2}% | {:.2}% |",
                residual(MaskKind::Contiguous, 0, loss),
                residual(MaskKind::Contiguous, overhead, loss),
                residual(MaskKind::Interleaved, overhead, loss),
            );
        }
    }
}
