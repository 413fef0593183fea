// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The table of examples/flexfec_cost.rs.

use super::{MEDIA, Run, Scheme};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn best(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// A run's share over its baseline: (best − best, median of the per-round differences,
/// the per-round differences).
fn share(run: &Run, base: &Run) -> (f64, f64, Vec<f64>) {
    let d: Vec<f64> = run
        .times
        .iter()
        .zip(&base.times)
        .map(|(r, b)| r - b)
        .collect();
    (best(&run.times) - best(&base.times), median(d.clone()), d)
}

/// Prints one mode's table.
pub fn print(mode: &str, all: &[Run], schemes: &[&Scheme], rounds: usize) {
    let get = |label: String| {
        all.iter()
            .find(|r| r.label == format!("{mode} {label}"))
            .unwrap_or_else(|| panic!("run {label}"))
    };
    let base_enc = get("base-enc".into());
    println!(
        "\n{mode} input: ns of the pushing thread's CPU time per media packet ({MEDIA} media \
         packets, 1,000-byte payloads), {rounds} alternating rounds.\nbaseline (our pads \
         linked to each other): encoder input best {:.0}, median {:.0}.\n",
        best(&base_enc.times),
        median(base_enc.times.clone())
    );
    println!(
        "| {mode} | C total: best / median | rtp2 total: best / median | C element: best / median | rtp2 element: best / median | rtp2 / C elements: best / median |"
    );
    println!("|---|---|---|---|---|---|");
    let cell = |v: &[f64]| format!("{:.0} / {:.0}", best(v), median(v.to_vec()));
    for s in schemes {
        let n = s.name;
        let (oe, ce) = (get(format!("enc {n} ours")), get(format!("enc {n} c")));
        let (od, cd) = (get(format!("dec {n} ours")), get(format!("dec {n} c")));
        let (bo, bc) = (
            get(format!("base-dec {n} ours")),
            get(format!("base-dec {n} c")),
        );
        let (oe_s, ce_s) = (share(oe, base_enc), share(ce, base_enc));
        let (od_s, cd_s) = (share(od, bo), share(cd, bc));
        let line = |what: &str,
                    c: &[f64],
                    o: &[f64],
                    cs: &(f64, f64, Vec<f64>),
                    os: &(f64, f64, Vec<f64>)| {
            println!(
                "| {n} {what} | {} | {} | {:.0} / {:.0} | {:.0} / {:.0} | {:.2} / {:.2} |",
                cell(c),
                cell(o),
                cs.0,
                cs.1,
                os.0,
                os.1,
                os.0 / cs.0,
                os.1 / cs.1
            );
        };
        line("encoder", &ce.times, &oe.times, &ce_s, &oe_s);
        line("decoder", &cd.times, &od.times, &cd_s, &od_s);
        let sum =
            |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(x, y)| x + y).collect() };
        let pair_share = |e: &(f64, f64, Vec<f64>), d: &(f64, f64, Vec<f64>)| {
            let per_round = sum(&e.2, &d.2);
            (e.0 + d.0, median(per_round.clone()), per_round)
        };
        line(
            "pair",
            &sum(&ce.times, &cd.times),
            &sum(&oe.times, &od.times),
            &pair_share(&ce_s, &cd_s),
            &pair_share(&oe_s, &od_s),
        );
    }
    println!();
    for s in schemes {
        let n = s.name;
        println!(
            "{mode} {n}: packets out of the encoders ours {} / C {}, of the decoders ours {} / C {} (media sent {MEDIA})",
            get(format!("enc {n} ours")).out,
            get(format!("enc {n} c")).out,
            get(format!("dec {n} ours")).out,
            get(format!("dec {n} c")).out,
        );
    }
}
