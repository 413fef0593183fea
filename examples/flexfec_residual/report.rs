// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The tables and the plot of examples/flexfec_residual.rs.

use super::{LOSSES, Measured, OVERHEADS, mean_ci, plot};

/// Our FlexFEC schemes paired with C's same scheme (indexes into `schemes()`), then ULPFEC.
const PAIRS: [(usize, usize); 4] = [(0, 1), (2, 3), (4, 5), (7, 8)];

/// The three tables: means, ours − C per scheme, best FlexFEC vs best of the others.
pub fn print(all: &Measured, none: &[f64], packets: usize, seeds: u64) {
    let mean = |v: &[f64]| mean_ci(v).0;
    println!(
        "Residual media loss (% of {packets} packets, mean of {seeds} loss draws); repair packets sent per 100 media:\n"
    );
    for (oi, (list, sent, _)) in all.iter().enumerate() {
        let shares: Vec<String> = list
            .iter()
            .zip(sent)
            .map(|(s, p)| format!("{} {p:.1}", s.name))
            .collect();
        println!("{}%: {}", OVERHEADS[oi], shares.join(", "));
    }
    println!(
        "\n| loss | overhead | none | row: ours / C | column: ours / C | 2-D: ours / C | flexible | ULPFEC: ours / C | column-diagonal |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (li, (lname, _)) in LOSSES.iter().enumerate() {
        for (oi, (_, _, res)) in all.iter().enumerate() {
            let m = |s: usize| mean(&res[li][s]);
            let diagonal = if m(9).is_nan() {
                "—".to_string()
            } else {
                format!("{:.2}%", m(9))
            };
            println!(
                "| {lname} | {}% | {:.2}% | {:.2}% / {:.2}% | {:.2}% / {:.2}% | {:.2}% / {:.2}% | {:.2}% | {:.2}% / {:.2}% | {diagonal} |",
                OVERHEADS[oi],
                none[li],
                m(0),
                m(1),
                m(2),
                m(3),
                m(4),
                m(5),
                m(6),
                m(7),
                m(8)
            );
        }
    }
    let diff = |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(x, y)| x - y).collect() };
    println!(
        "\nOurs − C, points of residual loss, mean ± 95 % interval over the draws (same seeds):\n"
    );
    println!("| loss | overhead | row | column | 2-D | ULPFEC |");
    println!("|---|---|---|---|---|---|");
    for (li, (lname, _)) in LOSSES.iter().enumerate() {
        for (oi, (_, _, res)) in all.iter().enumerate() {
            let cells: Vec<String> = PAIRS
                .iter()
                .map(|&(o, c)| {
                    let (m, h) = mean_ci(&diff(&res[li][o], &res[li][c]));
                    let mark = if m - h > 0.0 { " **higher**" } else { "" };
                    format!("{m:+.3} ± {h:.3}{mark}")
                })
                .collect();
            println!("| {lname} | {}% | {} |", OVERHEADS[oi], cells.join(" | "));
        }
    }
    println!(
        "\nBest FlexFEC scheme vs best of everything else (C SMPTE 2022-1 row/column/2-D, C and our ULPFEC), by mean:\n"
    );
    println!("| loss | overhead | best FlexFEC | best other | FlexFEC − other (95 %) | |");
    println!("|---|---|---|---|---|---|");
    for (li, (lname, _)) in LOSSES.iter().enumerate() {
        for (oi, (list, _, res)) in all.iter().enumerate() {
            let best = |flex: bool| {
                (0..list.len())
                    .filter(|&s| list[s].flexfec == flex && !mean(&res[li][s]).is_nan())
                    .min_by(|&a, &b| mean(&res[li][a]).total_cmp(&mean(&res[li][b])))
                    .unwrap()
            };
            let (f, o) = (best(true), best(false));
            let (m, h) = mean_ci(&diff(&res[li][f], &res[li][o]));
            let verdict = if m - h > 0.0 {
                "higher"
            } else if m + h < 0.0 || (m < 0.0 && h == 0.0) {
                "lower"
            } else if m <= 0.0 {
                "equal or lower (within noise)"
            } else {
                "equal within noise"
            };
            println!(
                "| {lname} | {}% | {} {:.3}% | {} {:.3}% | {m:+.3} ± {h:.3} | {verdict} |",
                OVERHEADS[oi],
                list[f].name,
                mean(&res[li][f]),
                list[o].name,
                mean(&res[li][o]),
            );
        }
    }
}

/// Every scheme in one plot (examples/common/svg.rs): x = repair packets per 100 media
/// packets as sent, y = mean residual loss; ours solid, C dashed, no FEC dotted.
pub fn svg(all: &Measured, none: &[f64]) -> String {
    const COLORS: [&str; 10] = [
        "#1f77b4", "#1f77b4", "#2ca02c", "#2ca02c", "#d62728", "#d62728", "#ff7f0e", "#9467bd",
        "#9467bd", "#000000",
    ];
    let (list, _, _) = &all[0];
    let mut series: Vec<plot::Series> = list
        .iter()
        .enumerate()
        .map(|(s, scheme)| {
            let c = scheme.name.starts_with("C ");
            plot::Series {
                name: if scheme.flexfec {
                    format!("FlexFEC {}", scheme.name)
                } else if c {
                    scheme
                        .name
                        .replace("C ", "C st2022-1 ")
                        .replace("st2022-1 ULPFEC", "ULPFEC")
                } else {
                    format!("rtp2 {}", scheme.name)
                },
                color: COLORS[s],
                width: if c { 1.5 } else { 2.2 },
                dash: if c { "6 3" } else { "" },
                points: (0..LOSSES.len())
                    .map(|li| {
                        all.iter()
                            .map(|(_, sent, res)| (sent[s], mean_ci(&res[li][s]).0))
                            // A scheme not run at an overhead (column-diagonal at 10 %).
                            .filter(|(x, y)| !x.is_nan() && !y.is_nan())
                            .collect()
                    })
                    .collect(),
            }
        })
        .collect();
    series.push(plot::Series {
        name: "no FEC".into(),
        color: "#888888",
        width: 1.5,
        dash: "2 3",
        points: none.iter().map(|&v| vec![(5.0, v), (55.0, v)]).collect(),
    });
    let panels: Vec<&str> = LOSSES.iter().map(|(n, _)| *n).collect();
    let ticks: Vec<f64> = OVERHEADS.iter().map(|&o| o as f64).collect();
    plot::plot(
        "Residual loss after recovery (% of media packets, log scale) vs repair packets sent; every element on the same packets and losses; examples/flexfec_residual.rs",
        &panels,
        (5.0, 55.0),
        &ticks,
        &series,
        5,
    )
}
