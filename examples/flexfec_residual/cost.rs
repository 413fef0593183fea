// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The cost part of examples/flexfec_residual.rs: CPU time per media packet of both element
//! pairs at 2-D L = D = 10, 30,000 packets of 1,000 bytes, one loss in 30, total and minus
//! the same harness path through `identity`.

use super::{FLEX_PT, Sent, decode, encode, is_media, media};

/// Alternating rounds of the cost runs (the best of each kept).
const ROUNDS: usize = 9;

pub use super::cpu_time::cpu_now;

/// Measures and prints the cost table.
pub fn run() {
    let ours_dec = format!("rtpflexfecdec2 pt={FLEX_PT} repair-window-packets=2048");
    let c_dec = super::C_DEC;
    // Cost: 2-D 10×10 (20 %), 1,000-byte payloads, one media packet in 30 lost (delivery
    // counted, not compared: the table's packets are the reference).
    let big = media(2500, 1000);
    let time_enc = |launch: &str| {
        let start = cpu_now();
        let _ = encode(launch, &big);
        (cpu_now() - start).as_nanos() as f64 / big.len() as f64
    };
    let ours_enc = format!("rtpflexfecenc2 pt={FLEX_PT} protection=row-column columns=10 rows=10");
    let c_enc = "rtpst2022-1-fecenc pt=100 columns=10 rows=10";
    let lost_of = |sent: &[Sent]| -> Vec<bool> {
        let mut n = 0;
        sent.iter()
            .map(|(_, b)| {
                is_media(b).is_some() && {
                    n += 1;
                    n % 30 == 0
                }
            })
            .collect()
    };
    let ours_sent = encode(&ours_enc, &big);
    let c_sent = encode(c_enc, &big);
    let (ours_lost, c_lost) = (lost_of(&ours_sent), lost_of(&c_sent));
    // The harness and buffer handling alone (`identity`) is subtracted below. The six runs
    // alternate, ROUNDS times, and the best of each is kept: load on the machine changes
    // slowly, so every element sees the same conditions.
    let runs: [&dyn Fn() -> f64; 6] = [
        &|| time_enc("identity"),
        &|| time_enc(&ours_enc),
        &|| time_enc(c_enc),
        &|| decode("identity", &ours_sent, &ours_lost).0,
        &|| decode(&ours_dec, &ours_sent, &ours_lost).0,
        &|| decode(c_dec, &c_sent, &c_lost).0,
    ];
    let mut best = [f64::MAX; 6];
    for _ in 0..ROUNDS {
        for (b, run) in best.iter_mut().zip(&runs) {
            *b = b.min(run());
        }
    }
    let [base_e, o_e, c_e, base_d, o_d, c_d] = best;
    println!(
        "\nCost per media packet (ns of thread CPU time), 2-D 10×10 (20 %), 1,000-byte payloads, best of {ROUNDS};"
    );
    println!(
        "the element's own share = total minus `identity` through the same harness ({base_e:.0} / {base_d:.0} ns):\n"
    );
    println!(
        "| | C rtpst2022-1: total (element) | rtp2 FlexFEC: total (element) | rtp2 / C, elements |"
    );
    println!("|---|---|---|---|");
    let row = |what: &str, c: f64, o: f64, base: f64| {
        let (ce, oe) = ((c - base).max(1.0), (o - base).max(1.0));
        println!(
            "| {what} | {c:.0} ({ce:.0}) | {o:.0} ({oe:.0}) | {:.2} |",
            oe / ce
        );
    };
    row("encoder", c_e, o_e, base_e);
    row("decoder (1 loss in 30)", c_d, o_d, base_d);
    row("encoder + decoder", c_e + c_d, o_e + o_d, base_e + base_d);
}
