// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The loss models of the FEC measurements (examples/fec_residual.rs,
//! examples/flexfec_residual.rs): independent losses and Gilbert–Elliott bursts, drawn from a
//! small deterministic generator so that every scheme sees the same losses.

/// The loss models both measurements run, with their table labels.
pub const LOSSES: [(&str, Loss); 5] = [
    ("random 1%", Loss::Random(0.01)),
    ("random 5%", Loss::Random(0.05)),
    ("random 10%", Loss::Random(0.10)),
    ("bursty 5% (burst 3)", Loss::Bursty(0.05, 3.0)),
    ("bursty 10% (burst 3)", Loss::Bursty(0.10, 3.0)),
];

/// xorshift64: deterministic, no dependency.
pub struct Rng(pub u64);

impl Rng {
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Clone, Copy)]
pub enum Loss {
    /// Each packet lost with this probability.
    Random(f64),
    /// Gilbert–Elliott: average loss, mean burst length (all lost in the bad state).
    Bursty(f64, f64),
}

/// One loss decision per packet sent, drawn from `rng`.
pub fn draw_from(mut rng: Rng, loss: Loss, n: usize) -> Vec<bool> {
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
