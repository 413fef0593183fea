// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! FlexFEC against every other FEC GStreamer has, a measurement, not a test: GStreamer's C
//! SMPTE 2022-1 FEC (`rtpst2022-1-fecenc` / `-fecdec`), C ULPFEC (`rtpulpfecenc` /
//! `rtpstorage ! rtpulpfecdec`, told of each loss as a jitterbuffer would) and ours
//! (`rtpulpfecenc2` / `rtpulpfecdec2`). The same media packets (frames of 12, marker on the
//! last; 400 frames, `FLEXFEC_FRAMES` to change) go through each encoder element; each
//! encoder's output, in the order it left, loses the packets a fixed-seed draw picks (random
//! 1/5/10 %, Gilbert–Elliott bursty 5 and 10 % with mean burst 3; the same seeds for every
//! scheme: 8, `FLEXFEC_SEEDS` to change; the mean shown) and the rest goes to the matching
//! decoder element. Residual loss = media packets not delivered byte-identical to the ones
//! sent (ULPFEC renumbers the media: its sequence numbers are not compared). Overheads
//! 10/20/33/50 %: row L = 10/5/3/2; column L = 10, D = 10/5/3/2; 2-D L = D = 20/10/6/4;
//! flexible `percentage` (interleaved masks, per frame; flexfec-03), ULPFEC `percentage`;
//! column-diagonal (flexfec-03) with 1/2/3 diagonal slopes, L×D = 10×10, 11×9, 13×8 at
//! 20/33/50 % (none at 10 %: two groups of 20 per packet need masks wider than 109 bits).
//! Ours: row, column and 2-D in RFC 8627 (its L/D header).
//!
//! Printed: the table (ours / C per SMPTE 2022-1 scheme), the difference ours − C of each
//! scheme per cell with a 95 % interval over the draws (the same seeds: paired), and the best
//! FlexFEC scheme against the best of everything else per cell. With a path argument, also
//! the plot (every scheme, x = repair packets per media packet as sent) there.
//! Then the cost per media packet of both 2-D element pairs (examples/flexfec_residual/cost.rs).
//! Run: `cargo run --release --example flexfec_residual [-- docs/fec-residual-all.svg]`.
//! `FLEXFEC_COUNTED=N`: only the first N media packets count in the residual (all are sent).
//! `FLEXFEC_COST_ONLY=1`: the cost table only; `FLEXFEC_COST_ENC="<element launch line>"`:
//! one encoder run over the cost input and nothing else, for instruction counts under
//! `valgrind --tool=callgrind` (docs/fec.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use gst::prelude::*;

const PER_FRAME: usize = 12;
const CAPS: &str =
    "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96,ssrc=(uint)0";
const FLEX_PT: u8 = 118;
const ULP_PT: u8 = 122;
/// C's SMPTE 2022-1 decoder, keeping everything.
const C_DEC: &str = "rtpst2022-1-fecdec size-time=100000000000";
/// Packets after a loss when the C ULPFEC decoder hears of it (a jitterbuffer's latency: the
/// frame's FEC packets, at most 6 after at most 12 media packets, have arrived by then).
const C_ULP_LOSS_DELAY: usize = 24;
#[path = "common/loss.rs"]
mod loss;
use loss::{LOSSES, Loss, Rng, draw_from};
#[path = "flexfec_residual/c_ulpfec.rs"]
mod c_ulpfec;
#[path = "flexfec_residual/cost.rs"]
mod cost;
#[path = "common/cpu_time.rs"]
mod cpu_time;
#[path = "common/svg.rs"]
mod plot;
#[path = "flexfec_residual/report.rs"]
mod report;

const OVERHEADS: [u32; 4] = [10, 20, 33, 50];

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One loss decision per packet sent, from fixed seed `seed`.
fn draw(loss: Loss, n: usize, seed: u64) -> Vec<bool> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
    for _ in 0..8 {
        rng.unit();
    }
    draw_from(rng, loss, n)
}

/// Media packets; the timestamp and payload together tell each apart (ULPFEC renumbers).
fn media(frames: usize, payload: usize) -> Vec<gst::Buffer> {
    (0..frames * PER_FRAME)
        .map(|i| {
            let marker = if i % PER_FRAME == PER_FRAME - 1 {
                0x80
            } else {
                0
            };
            let mut p = vec![0x80, 96 | marker];
            p.extend_from_slice(&(i as u16).to_be_bytes());
            p.extend_from_slice(&((i / PER_FRAME) as u32 * 3000).to_be_bytes());
            p.extend_from_slice(&0u32.to_be_bytes()); // SMPTE 2022-1 wants SSRC 0
            p.extend((0..payload - i % 50).map(|k| (k ^ i) as u8));
            let mut b = gst::Buffer::from_mut_slice(p);
            b.get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_mseconds(i as u64));
            b
        })
        .collect()
}

/// A packet as it left an encoder: the pad it left on ("src", "fec_0", "fec_1").
type Sent = (String, gst::Buffer);

fn encode(enc: &str, input: &[gst::Buffer]) -> Vec<Sent> {
    let element = gst::parse::launch(enc)
        .unwrap()
        .downcast::<gst::Element>()
        .unwrap();
    let log: Arc<Mutex<Vec<Sent>>> = Arc::default();
    // The C encoder's FEC pads appear when it starts: recorded and dropped.
    let l = log.clone();
    element.connect_pad_added(move |_, pad| {
        if pad.direction() != gst::PadDirection::Src || pad.name() == "src" {
            return;
        }
        let l = l.clone();
        let name = pad.name().to_string();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(b) = info.buffer() {
                l.lock().unwrap().push((name.clone(), b.clone()));
            }
            gst::PadProbeReturn::Drop
        });
    });
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str(CAPS);
    for b in input {
        h.push(b.clone()).unwrap();
        while let Some(o) = h.try_pull() {
            log.lock().unwrap().push(("src".into(), o));
        }
    }
    h.push_event(gst::event::Eos::new());
    while let Some(o) = h.try_pull() {
        log.lock().unwrap().push(("src".into(), o));
    }
    drop(h);
    log.lock().unwrap().clone()
}

/// The media packets sent: by timestamp and payload (bytes 4 on), their index and first 4
/// bytes (what a delivered packet must equal).
static ORIGINALS: OnceLock<Originals> = OnceLock::new();

/// Bytes 4 on of a media packet → its index and its first 4 bytes.
type Originals = HashMap<Vec<u8>, (usize, [u8; 4])>;

/// How many of the first media packets count (`FLEXFEC_COUNTED`; default all).
static COUNTED: OnceLock<usize> = OnceLock::new();

/// Index of a media packet delivered byte-identical to the one sent (but for the sequence
/// number when `renumbered`), if it counts.
fn delivered_ok(b: &gst::Buffer, renumbered: bool) -> Option<usize> {
    is_media(b)?;
    let m = b.map_readable().ok()?;
    let &(index, head) = ORIGINALS.get()?.get(&m[4..])?;
    let counts = index < COUNTED.get().copied().unwrap_or(usize::MAX);
    (counts && m[..2] == head[..2] && (renumbered || m[2..4] == head[2..4])).then_some(index)
}

fn is_media(b: &gst::Buffer) -> Option<u16> {
    let m = b.map_readable().ok()?;
    (m.len() >= 12 && m[1] & 0x7f == 96).then(|| u16::from_be_bytes([m[2], m[3]]))
}

/// Feeds `sent` minus the `lost` ones to `dec` (one element; FEC pads by the name they
/// left the encoder on); returns (ns per media packet, media packets delivered).
fn decode(dec: &str, sent: &[Sent], lost: &[bool]) -> (f64, usize) {
    if dec.starts_with("rtpstorage") {
        return (0.0, c_ulpfec::decode(dec, sent, lost));
    }
    let renumbered = dec.contains("ulpfec");
    let element = gst::parse::launch(dec)
        .unwrap()
        .downcast::<gst::Element>()
        .unwrap();
    let mut main = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    main.set_src_caps_str(CAPS);
    let mut fec_pads: Vec<(String, gst_check::Harness)> = Vec::new();
    let mut delivered = std::collections::BTreeSet::new();
    let mut media_count = 0usize;
    let start = cost::cpu_now();
    for ((pad, b), &lost) in sent.iter().zip(lost) {
        media_count += usize::from(is_media(b).is_some());
        if lost {
            continue;
        }
        if pad == "src" {
            main.push(b.clone()).unwrap();
        } else {
            if !fec_pads.iter().any(|(p, _)| p == pad) {
                let mut h = gst_check::Harness::with_element(&element, Some(pad), None);
                h.set_src_caps_str(CAPS);
                fec_pads.push((pad.clone(), h));
            }
            if let Some((_, h)) = fec_pads.iter_mut().find(|(p, _)| p == pad) {
                let _ = h.push(b.clone());
            }
        }
        while let Some(o) = main.try_pull() {
            delivered.extend(delivered_ok(&o, renumbered));
        }
    }
    main.push_event(gst::event::Eos::new());
    while let Some(o) = main.try_pull() {
        delivered.extend(delivered_ok(&o, renumbered));
    }
    let ns = (cost::cpu_now() - start).as_nanos() as f64 / media_count.max(1) as f64;
    (ns, delivered.len())
}

/// One encoder/decoder pair measured.
struct Scheme {
    name: &'static str,
    /// One of our FlexFEC schemes (else: what they are compared with).
    flexfec: bool,
    enc: String,
    dec: String,
}

/// The schemes at `overhead` %: ours and C's row, column, 2-D (each ours then C), flexible,
/// ULPFEC ours and C, column-diagonal (its encoder empty at 10 %: not run).
fn schemes(overhead: u32) -> Vec<Scheme> {
    let row = 100 / overhead; // 10, 5, 3, 2
    let two_d = 200 / overhead; // 20, 10, 6, 4
    // Row, column and 2-D in RFC 8627 (its L/D header names any L and D; flexfec-03's
    // 109-bit mask cannot span a 20×20 column), flexible masks in flexfec-03.
    let ours = |p: String| format!("rtpflexfecenc2 pt={FLEX_PT} ssrc=7 wire-format=rfc8627 {p}");
    let ours_dec = format!("rtpflexfecdec2 pt={FLEX_PT} repair-window-packets=2048");
    let rfc_dec = format!("{ours_dec} wire-format=rfc8627");
    let c = |p: String| format!("rtpst2022-1-fecenc pt=100 {p}");
    // Column-diagonal: each packet in 1 + diagonals groups of D, overhead (1 + diagonals)/D,
    // every mask within 109 bits (L ≥ D, coprime with the slope differences): the most
    // slopes that fit at each overhead; at 10 % even one diagonal (D = 20) cannot fit.
    let diagonal = match overhead {
        20 => Some((10, 10, 1)),
        33 => Some((11, 9, 2)),
        50 => Some((13, 8, 3)),
        _ => None,
    };
    let s = |name, flexfec, enc, dec: &str| Scheme {
        name,
        flexfec,
        enc,
        dec: dec.into(),
    };
    vec![
        s(
            "row",
            true,
            ours(format!("protection=row columns={row}")),
            &rfc_dec,
        ),
        s(
            "C row",
            false,
            c(format!("columns={row} rows=0 enable-column-fec=false")),
            C_DEC,
        ),
        s(
            "column",
            true,
            ours(format!("protection=column columns=10 rows={row}")),
            &rfc_dec,
        ),
        s(
            "C column",
            false,
            c(format!("columns=10 rows={row} enable-row-fec=false")),
            C_DEC,
        ),
        s(
            "2-D",
            true,
            ours(format!(
                "protection=row-column columns={two_d} rows={two_d}"
            )),
            &rfc_dec,
        ),
        s(
            "C 2-D",
            false,
            c(format!("columns={two_d} rows={two_d}")),
            C_DEC,
        ),
        s(
            "flexible",
            true,
            format!(
                "rtpflexfecenc2 pt={FLEX_PT} ssrc=7 wire-format=flexfec-03 protection=flexible \
                 percentage={overhead}"
            ),
            &ours_dec,
        ),
        s(
            "ULPFEC",
            false,
            format!("rtpulpfecenc2 pt={ULP_PT} percentage={overhead}"),
            &format!("rtpulpfecdec2 pt={ULP_PT}"),
        ),
        s(
            "C ULPFEC",
            false,
            format!("rtpulpfecenc pt={ULP_PT} percentage={overhead}"),
            &format!("rtpstorage size-time=100000000000 ! rtpulpfecdec pt={ULP_PT}"),
        ),
        s(
            "column-diagonal",
            true,
            diagonal.map_or(String::new(), |(l, d, k)| {
                format!(
                    "rtpflexfecenc2 pt={FLEX_PT} ssrc=7 wire-format=flexfec-03 \
                     protection=column-diagonal columns={l} rows={d} diagonals={k}"
                )
            }),
            &ours_dec,
        ),
    ]
}

/// Mean and 95 % half-width (normal approximation) of `v`.
fn mean_ci(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, 1.96 * (var / n).sqrt())
}

/// Per overhead point: the schemes, their repair packets per 100 media packets as sent, and
/// per loss model per scheme the residual loss (%) of each draw.
type Measured = Vec<(Vec<Scheme>, Vec<f64>, Vec<Vec<Vec<f64>>>)>;

fn main() {
    gst::init().unwrap();
    gstrtp2::plugin_register_static().unwrap();
    // FLEXFEC_COST_ENC="<launch>": only one encoder run over the cost input (30,000 packets
    // of 1,000 bytes), for instruction counts under `valgrind --tool=callgrind`.
    if let Ok(launch) = std::env::var("FLEXFEC_COST_ENC") {
        let sent = encode(&launch, &media(2500, 1000));
        println!("{launch}: {} packets out", sent.len());
        return;
    }
    if std::env::var_os("FLEXFEC_COST_ONLY").is_none() {
        residual();
    }
    cost::run();
}

fn residual() {
    let frames = env_or("FLEXFEC_FRAMES", 400);
    let seeds = env_or("FLEXFEC_SEEDS", 8) as u64;
    let packets = media(frames, 300);
    let _ = ORIGINALS.set(
        packets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let m = b.map_readable().unwrap();
                (m[4..].to_vec(), (i, [m[0], m[1], m[2], m[3]]))
            })
            .collect(),
    );
    // FLEXFEC_COUNTED=4752: only packets in whole blocks of every scheme count (4,800 =
    // 48 × 99 + 48: column-diagonal 11×9's last block, cut short, gets repairs other schemes
    // would not give theirs; 2-D 6×6 leaves 12 unprotected, 13×8 16).
    let counted = env_or("FLEXFEC_COUNTED", packets.len()).min(packets.len());
    let _ = COUNTED.set(counted);
    let pct = |delivered: usize| 100.0 * (counted - delivered) as f64 / counted as f64;
    let plain: Vec<Sent> = packets.iter().map(|b| ("src".into(), b.clone())).collect();
    let plain_dec = format!("rtpflexfecdec2 pt={FLEX_PT}");
    let none: Vec<f64> = LOSSES
        .iter()
        .map(|&(_, loss)| {
            let v: Vec<f64> = (0..seeds)
                .map(|seed| pct(decode(&plain_dec, &plain, &draw(loss, plain.len(), seed)).1))
                .collect();
            mean_ci(&v).0
        })
        .collect();
    let mut all: Measured = Vec::new();
    for overhead in OVERHEADS {
        let list = schemes(overhead);
        // A scheme without an encoder at this overhead: nothing sent, NaN results.
        let sent: Vec<Vec<Sent>> = (list.iter())
            .map(|s| {
                if s.enc.is_empty() {
                    Vec::new()
                } else {
                    encode(&s.enc, &packets)
                }
            })
            .collect();
        let share = |s: &Vec<Sent>| {
            if s.is_empty() {
                f64::NAN
            } else {
                100.0 * (s.len() - packets.len()) as f64 / packets.len() as f64
            }
        };
        let sent_pct: Vec<f64> = sent.iter().map(share).collect();
        let res = LOSSES
            .iter()
            .map(|&(_, loss)| {
                list.iter()
                    .zip(&sent)
                    .map(|(s, out)| {
                        if out.is_empty() {
                            return vec![f64::NAN; seeds as usize];
                        }
                        (0..seeds)
                            .map(|seed| pct(decode(&s.dec, out, &draw(loss, out.len(), seed)).1))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        all.push((list, sent_pct, res));
    }
    report::print(&all, &none, counted, seeds);
    if let Some(path) = std::env::args().nth(1) {
        std::fs::write(&path, report::svg(&all, &none)).expect("write the SVG");
        println!("\nwrote {path}");
    }
}
