// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! FlexFEC against GStreamer's C SMPTE 2022-1 FEC (`rtpst2022-1-fecenc` / `-fecdec`), a
//! measurement, not a test. The same 4,800 media packets (frames of 12, marker on the last)
//! go through each encoder element; each encoder's output, in the order it left, loses the
//! packets a fixed-seed draw picks (random 1/5/10 %, Gilbert–Elliott bursty 5 and 10 % with
//! mean burst 3; the same 8 seeds for every scheme, the mean shown) and the rest goes to the
//! matching decoder element. Residual loss = media packets not delivered byte-identical to
//! the ones sent. Overheads 10/20/33/50 %:
//! row L = 10/5/3/2; column L = 10, D = 10/5/3/2; 2-D L = D = 20/10/6/4; flexible
//! `percentage` (interleaved masks, per frame; flexfec-03). Ours: row, column and 2-D in
//! RFC 8627 (its L/D header). Then the cost per media packet
//! of both element pairs at 2-D L = D = 10, 30,000 packets of 1,000 bytes, one loss in 30,
//! total and minus the same harness path through `identity`.
//! Media SSRC 0 (SMPTE 2022-1 requires it). Run:
//! `cargo run --release --example flexfec_residual`. `FLEXFEC_COST_ONLY=1`: the cost table
//! only; `FLEXFEC_COST_ENC="<element launch line>"`: one encoder run over the cost input and
//! nothing else, for instruction counts under `valgrind --tool=callgrind` (docs/fec.md).

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `struct timespec` of Linux x86-64 / aarch64.
#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

unsafe extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`): the elements run in it (the
/// harness pushes synchronously), and time the thread spends descheduled on a loaded
/// machine is not counted, unlike wall time.
fn cpu_now() -> Duration {
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `ts` is a valid, writable `struct timespec`; the clock id is Linux's.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.sec as u64, ts.nsec as u32)
}

use gst::prelude::*;

const PER_FRAME: usize = 12;
const FRAMES: usize = 400;
const CAPS: &str =
    "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96,ssrc=(uint)0";
const FLEX_PT: u8 = 118;
#[path = "common/loss.rs"]
mod loss;
use loss::{Loss, Rng, draw_from};

/// Alternating rounds of the cost runs (the best of each kept).
const ROUNDS: usize = 9;
/// Loss draws per configuration (the table shows the mean).
const SEEDS: u64 = 8;

/// One loss decision per packet sent, from fixed seed `seed`.
fn draw(loss: Loss, n: usize, seed: u64) -> Vec<bool> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
    for _ in 0..8 {
        rng.unit();
    }
    draw_from(rng, loss, n)
}

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

/// A scheme's name, what our encoder sent and what C's sent (if C has the scheme).
type Encoded = (&'static str, Vec<Sent>, Option<Vec<Sent>>);

/// Runs `enc` (one element) over `input`; returns what left every source pad, in order.
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

/// The media packets sent, by sequence number (what a delivered packet must equal).
static ORIGINALS: std::sync::OnceLock<std::collections::HashMap<u16, Vec<u8>>> =
    std::sync::OnceLock::new();

/// Sequence number of a media packet delivered byte-identical to the one sent.
fn delivered_ok(b: &gst::Buffer) -> Option<u16> {
    let s = is_media(b)?;
    let m = b.map_readable().ok()?;
    match ORIGINALS.get() {
        Some(o) if o.get(&s).is_some_and(|p| p[..] == m[..]) => Some(s),
        Some(_) => None,
        None => Some(s),
    }
}

fn is_media(b: &gst::Buffer) -> Option<u16> {
    let m = b.map_readable().ok()?;
    (m.len() >= 12 && m[1] & 0x7f == 96).then(|| u16::from_be_bytes([m[2], m[3]]))
}

/// Feeds `sent` minus the `lost` ones to `dec` (one element; FEC pads by the name they
/// left the encoder on); returns (ns per media packet, media packets delivered).
fn decode(dec: &str, sent: &[Sent], lost: &[bool]) -> (f64, usize) {
    let element = gst::parse::launch(dec)
        .unwrap()
        .downcast::<gst::Element>()
        .unwrap();
    let mut main = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    main.set_src_caps_str(CAPS);
    let mut fec_pads: Vec<(String, gst_check::Harness)> = Vec::new();
    let mut delivered = std::collections::BTreeSet::new();
    let mut media_count = 0usize;
    let start = cpu_now();
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
            if let Some(s) = delivered_ok(&o) {
                delivered.insert(s);
            }
        }
    }
    main.push_event(gst::event::Eos::new());
    while let Some(o) = main.try_pull() {
        if let Some(s) = delivered_ok(&o) {
            delivered.insert(s);
        }
    }
    let ns = (cpu_now() - start).as_nanos() as f64 / media_count.max(1) as f64;
    if std::env::var("DEBUG").is_ok() && dec.starts_with("rtpflexfecdec2") {
        eprintln!("{dec}: {:?}", element.property::<gst::Structure>("stats"));
    }
    (ns, delivered.len())
}

/// (scheme, overhead %) → (our encoder, C encoder, if C has the scheme).
fn schemes(overhead: u32) -> Vec<(&'static str, String, Option<String>)> {
    let row = 100 / overhead; // 10, 5, 3, 2
    let two_d = 200 / overhead; // 20, 10, 6, 4
    // Row, column and 2-D in RFC 8627 (its L/D header names any L and D; flexfec-03's
    // 109-bit mask cannot span a 20×20 column), flexible masks in flexfec-03.
    let ours = |p: &str| format!("rtpflexfecenc2 pt={FLEX_PT} ssrc=7 wire-format=rfc8627 {p}");
    vec![
        (
            "row",
            ours(&format!("protection=row columns={row}")),
            Some(format!(
                "rtpst2022-1-fecenc pt=100 columns={row} rows=0 enable-column-fec=false"
            )),
        ),
        (
            "column",
            ours(&format!("protection=column columns=10 rows={row}")),
            Some(format!(
                "rtpst2022-1-fecenc pt=100 columns=10 rows={row} enable-row-fec=false"
            )),
        ),
        (
            "2-D",
            ours(&format!(
                "protection=row-column columns={two_d} rows={two_d}"
            )),
            Some(format!(
                "rtpst2022-1-fecenc pt=100 columns={two_d} rows={two_d}"
            )),
        ),
        (
            "flexible",
            format!(
                "rtpflexfecenc2 pt={FLEX_PT} ssrc=7 wire-format=flexfec-03 protection=flexible \
                 percentage={overhead}"
            ),
            None,
        ),
    ]
}

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
    let packets = media(FRAMES, 300);
    let _ = ORIGINALS.set(
        packets
            .iter()
            .filter_map(|b| Some((is_media(b)?, b.map_readable().ok()?.to_vec())))
            .collect(),
    );
    let losses = [
        ("random 1%", Loss::Random(0.01)),
        ("random 5%", Loss::Random(0.05)),
        ("random 10%", Loss::Random(0.10)),
        ("bursty 5% (burst 3)", Loss::Bursty(0.05, 3.0)),
        ("bursty 10% (burst 3)", Loss::Bursty(0.10, 3.0)),
    ];
    let ours_dec = format!("rtpflexfecdec2 pt={FLEX_PT} repair-window-packets=2048");
    let ours_dec_rfc = format!("{ours_dec} wire-format=rfc8627");
    let c_dec = "rtpst2022-1-fecdec size-time=100000000000";
    println!(
        "Residual media loss (% of {} packets, mean of {SEEDS} loss draws), FlexFEC vs C SMPTE 2022-1:\n",
        packets.len()
    );
    println!(
        "| loss | overhead | none | row: ours / C | column: ours / C | 2-D: ours / C | flexible (ours) |"
    );
    println!("|---|---|---|---|---|---|---|");
    let pct = |delivered: usize| 100.0 * (packets.len() - delivered) as f64 / packets.len() as f64;
    // FLEXFEC_COST_ONLY=1: only the cost figures (for profiling).
    let overheads: &[u32] = if std::env::var_os("FLEXFEC_COST_ONLY").is_some() {
        &[]
    } else {
        &[10, 20, 33, 50]
    };
    for &overhead in overheads {
        let encoded: Vec<Encoded> = schemes(overhead)
            .into_iter()
            .map(|(name, ours, c)| {
                (
                    name,
                    encode(&ours, &packets),
                    c.map(|c| encode(&c, &packets)),
                )
            })
            .collect();
        for (name, ours, c) in &encoded {
            let fec = |s: &[Sent]| s.len() - packets.len();
            eprintln!(
                "{name} {overhead}%: repair packets sent: ours {}, C {}",
                fec(ours),
                c.as_ref().map_or("-".into(), |c| fec(c).to_string())
            );
        }
        for (lname, loss) in losses {
            let mut row = format!("| {lname} | {overhead}% |");
            let plain: Vec<Sent> = packets.iter().map(|b| ("src".into(), b.clone())).collect();
            // Mean over SEEDS loss draws.
            let mean = |dec: &str, sent: &[Sent]| {
                (0..SEEDS)
                    .map(|seed| pct(decode(dec, sent, &draw(loss, sent.len(), seed)).1))
                    .sum::<f64>()
                    / SEEDS as f64
            };
            row += &format!(" {:.2}% |", mean(&ours_dec, &plain));
            for (name, ours, c) in &encoded {
                let dec = if *name == "flexible" {
                    &ours_dec
                } else {
                    &ours_dec_rfc
                };
                row += &format!(" {:.2}%", mean(dec, ours));
                if let Some(c) = c {
                    row += &format!(" / {:.2}%", mean(c_dec, c));
                }
                row += " |";
            }
            println!("{row}");
        }
    }
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
