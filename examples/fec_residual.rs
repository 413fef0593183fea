// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Residual packet loss after ULPFEC recovery (a measurement, not a test): frames of 12
//! media packets, FEC overhead 10/20/33/50 % (accumulated per frame as `rtpulpfecenc2`
//! does), random loss 1/5/10 % and bursty loss (Gilbert–Elliott: mean burst 3 packets, 5 %
//! and 10 % average), the same loss draw for every mask type. `contiguous` is the layout of
//! GStreamer's C `rtpulpfecenc` (tests/fec_ulpfec.rs shows the C decoder recovers from ours
//! exactly what it recovers from C's). A second table measures unequal protection (UEP):
//! the first 3 packets of each frame important. A third, frames of 4 and 24 packets.
//! Run: `cargo run --release --example fec_residual [-- docs/fec-residual.svg]` (with a
//! path, also draws the first table as an SVG plot there).
//! Long mode (not in CI): `FEC_RESIDUAL_TIE_FRAMES=200000 cargo run --release --example
//! fec_residual` prints only the 10 % overhead comparison with C, with 95 % confidence
//! intervals of the paired differences (docs/fec.md).

use rtp2_core::fec::masks::{MaskKind, unequal_masks};
use rtp2_core::fec::recovery::{RecoveryWindow, WindowLimits};
use rtp2_core::fec::ulpfec::encode;

const FRAMES: usize = 20_000;
/// Extended sequence number of each frame's first packet in its own window.
const WINDOW_BASE: u64 = 1 << 20;
const OVERHEADS: [u64; 4] = [10, 20, 33, 50];
#[path = "common/loss.rs"]
mod loss;
#[path = "common/svg.rs"]
mod plot;
use loss::{LOSSES, Loss, Rng, draw_from};

const KINDS: [(&str, MaskKind); 4] = [
    ("contiguous (C)", MaskKind::Contiguous),
    ("interleaved", MaskKind::Interleaved),
    ("random", MaskKind::Random),
    ("bursty", MaskKind::Bursty),
];

/// One loss decision per packet sent, from a fixed seed.
fn draw(loss: Loss, n: usize) -> Vec<bool> {
    draw_from(Rng(0x9e37_79b9_7f4a_7c15), loss, n)
}

fn packet(seq: u16, i: usize) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
    p.extend((0..100 + i % 50).map(|k| (k ^ i) as u8));
    p
}

/// One scenario: frame size, FEC overhead, loss model, mask kind, how many of each frame's
/// first packets are important (their loss counted apart), and whether the masks protect
/// them more (UEP).
#[derive(Clone, Copy)]
struct Scenario {
    per_frame: usize,
    overhead: u64,
    loss: Loss,
    kind: MaskKind,
    important: usize,
    uep: bool,
}

/// Residual loss in % of media packets: (all packets, important packets).
fn residual(s: Scenario) -> (f64, f64) {
    let (per_frame, lost_important) = lost_per_frame(s, FRAMES);
    let lost_total: usize = per_frame.iter().map(|&n| usize::from(n)).sum();
    let pct = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
    (
        pct(lost_total, FRAMES * s.per_frame),
        pct(lost_important, FRAMES * s.important),
    )
}

/// Media packets of each of `frames` frames not delivered after recovery, and of the
/// important ones in all.
fn lost_per_frame(s: Scenario, frames: usize) -> (Vec<u8>, usize) {
    let mut budget = 0u64;
    let mut lost_draw = draw(s.loss, frames * s.per_frame * 2).into_iter();
    let (mut lost_frames, mut lost_important, mut seq) = (Vec::new(), 0usize, 0u16);
    let important: Vec<u16> = (0..s.important as u16).filter(|_| s.uep).collect();
    for _ in 0..frames {
        let media: Vec<Vec<u8>> = (0..s.per_frame)
            .map(|i| packet(seq.wrapping_add(i as u16), i))
            .collect();
        budget += s.per_frame as u64 * s.overhead;
        let k = (budget / 100).min(s.per_frame as u64) as usize;
        budget -= k as u64 * 100;
        let fecs: Vec<Vec<u8>> = if k == 0 {
            Vec::new()
        } else {
            unequal_masks(s.per_frame, k, &important, s.kind)
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
        let mut lost = 0u8;
        for s_missing in missing.iter().filter(|s| !w.has_media(**s)) {
            lost += 1;
            if s_missing - base < s.important as u64 {
                lost_important += 1;
            }
        }
        lost_frames.push(lost);
        seq = seq.wrapping_add((s.per_frame + k) as u16);
    }
    (lost_frames, lost_important)
}

fn equal(per_frame: usize, overhead: u64, loss: Loss, kind: MaskKind) -> f64 {
    residual(Scenario {
        per_frame,
        overhead,
        loss,
        kind,
        important: 0,
        uep: false,
    })
    .0
}

/// Residual loss of the main table: [loss][overhead][none, kinds…].
fn main_table() -> Vec<Vec<Vec<f64>>> {
    LOSSES
        .iter()
        .map(|&(_, loss)| {
            OVERHEADS
                .iter()
                .map(|&overhead| {
                    let mut row = vec![equal(12, 0, loss, MaskKind::Contiguous)];
                    row.extend(KINDS.iter().map(|&(_, k)| equal(12, overhead, loss, k)));
                    row
                })
                .collect()
        })
        .collect()
}

fn main() {
    if let Some(frames) = std::env::var("FEC_RESIDUAL_TIE_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        tie_at_10_percent(frames);
        return;
    }
    let table = main_table();
    println!("Frames of 12 packets, residual loss (% of media packets):\n");
    let names: Vec<&str> = KINDS.iter().map(|(n, _)| *n).collect();
    println!("| loss | overhead | no FEC | {} |", names.join(" | "));
    println!("|---|---|---|{}", "---|".repeat(KINDS.len()));
    for (li, (name, _)) in LOSSES.iter().enumerate() {
        for (oi, overhead) in OVERHEADS.iter().enumerate() {
            let cells: Vec<String> = table[li][oi].iter().map(|v| format!("{v:.3}%")).collect();
            println!("| {name} | {overhead}% | {} |", cells.join(" | "));
        }
    }

    println!("\nUnequal protection, frames of 12, the first 3 important (all / important):\n");
    println!("| loss | overhead | random | random + UEP | bursty | bursty + UEP |");
    println!("|---|---|---|---|---|---|");
    for (name, loss) in [LOSSES[1], LOSSES[2], LOSSES[4]] {
        for overhead in [20, 33, 50] {
            let mut cells = Vec::new();
            for kind in [MaskKind::Random, MaskKind::Bursty] {
                for uep in [false, true] {
                    let (all, imp) = residual(Scenario {
                        per_frame: 12,
                        overhead,
                        loss,
                        kind,
                        important: 3,
                        uep,
                    });
                    cells.push(format!("{all:.3}% / {imp:.3}%"));
                }
            }
            println!("| {name} | {overhead}% | {} |", cells.join(" | "));
        }
    }

    println!("\nOther frame sizes, 33% overhead:\n");
    println!(
        "| loss | packets per frame | no FEC | {} |",
        names.join(" | ")
    );
    println!("|---|---|---|{}", "---|".repeat(KINDS.len()));
    for (name, loss) in LOSSES {
        for per_frame in [4, 24] {
            let mut cells = vec![format!(
                "{:.3}%",
                equal(per_frame, 0, loss, MaskKind::Contiguous)
            )];
            cells.extend(
                KINDS
                    .iter()
                    .map(|&(_, k)| format!("{:.3}%", equal(per_frame, 33, loss, k))),
            );
            println!("| {name} | {per_frame} | {} |", cells.join(" | "));
        }
    }

    if let Some(path) = std::env::args().nth(1) {
        std::fs::write(&path, svg(&table)).expect("write the SVG");
        println!("\nwrote {path}");
    }
}

/// The long mode (`FEC_RESIDUAL_TIE_FRAMES=200000`, not in CI): frames of 12 at 10 %
/// overhead (one FEC packet per frame, two every fifth), each mask type against C's contiguous layout on the same
/// loss draw. The difference of their residual loss is a paired one, so its 95 % confidence
/// interval comes from the per-frame differences (mean ± 1.96 standard errors).
fn tie_at_10_percent(frames: usize) {
    println!("Frames of 12, 10% overhead, {frames} frames: residual loss, and each type");
    println!("minus contiguous (C) with its 95% confidence interval (% of media packets):\n");
    println!("| loss | contiguous (C) | type | residual | minus C (95% CI) |");
    println!("|---|---|---|---|---|");
    let run = |loss, kind| {
        let s = Scenario {
            per_frame: 12,
            overhead: 10,
            loss,
            kind,
            important: 0,
            uep: false,
        };
        lost_per_frame(s, frames).0
    };
    let pct = |lost: f64| 100.0 * lost / 12.0;
    for (name, loss) in &LOSSES {
        let c = run(*loss, MaskKind::Contiguous);
        let c_mean = c.iter().map(|&n| f64::from(n)).sum::<f64>() / frames as f64;
        for (kind_name, kind) in &KINDS[1..] {
            let ours = run(*loss, *kind);
            let diffs: Vec<f64> = ours
                .iter()
                .zip(&c)
                .map(|(&o, &c)| f64::from(o) - f64::from(c))
                .collect();
            let n = diffs.len() as f64;
            let mean = diffs.iter().sum::<f64>() / n;
            let var = diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let half = 1.96 * (var / n).sqrt();
            let o_mean = ours.iter().map(|&n| f64::from(n)).sum::<f64>() / n;
            println!(
                "| {name} | {:.4}% | {kind_name} | {:.4}% | {:+.4}% ({:+.4}% .. {:+.4}%) |",
                pct(c_mean),
                pct(o_mean),
                pct(mean),
                pct(mean - half),
                pct(mean + half)
            );
        }
    }
}

/// The first table as a plot (examples/common/svg.rs): one panel per loss model, one line
/// per mask kind and a dashed line for no FEC.
fn svg(table: &[Vec<Vec<f64>>]) -> String {
    const COLORS: [&str; 5] = ["#888888", "#d62728", "#1f77b4", "#2ca02c", "#9467bd"];
    const WIDTHS: [f64; 5] = [1.5, 4.0, 1.8, 1.8, 1.8];
    let names = std::iter::once("no FEC").chain(KINDS.iter().map(|(n, _)| *n));
    let series: Vec<plot::Series> = names
        .enumerate()
        .map(|(ki, name)| plot::Series {
            name: name.into(),
            color: COLORS[ki],
            width: WIDTHS[ki],
            dash: if ki == 0 { "4 3" } else { "" },
            points: (0..LOSSES.len())
                .map(|li| {
                    OVERHEADS
                        .iter()
                        .enumerate()
                        .map(|(oi, &o)| (o as f64, table[li][oi][ki]))
                        .collect()
                })
                .collect(),
        })
        .collect();
    let panels: Vec<&str> = LOSSES.iter().map(|(n, _)| *n).collect();
    let ticks: Vec<f64> = OVERHEADS.iter().map(|&o| o as f64).collect();
    plot::plot(
        "Residual packet loss after ULPFEC recovery (% of media packets, log scale) vs FEC overhead; frames of 12 packets; examples/fec_residual.rs",
        &panels,
        (10.0, 50.0),
        &ticks,
        &series,
        8,
    )
}
