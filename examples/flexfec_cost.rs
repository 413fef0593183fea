// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Cost per protected packet of the FlexFEC elements against GStreamer's C SMPTE 2022-1 FEC
//! (`rtpst2022-1-fecenc` / `-fecdec`), a measurement, not a test (docs/fec.md, "Measured:
//! cost per protected packet", says why it is built this way).
//!
//! 30,000 media packets (1,000-byte payloads, frames of 12) through each encoder, 2-D
//! L = D = 10, 1-D row L = 10 and 1-D column L = D = 10; each encoder's output, media packet
//! `i` lost when `i % 31 == 30` (every scheme recovers all of them), through its decoder.
//! The elements sit between pads of our own that push in this thread and drop what leaves
//! ([`rig`]); the baseline is the same pads linked to each other. Two input modes:
//! - `hot` (a pipeline): each packet is written into a new buffer just before it is pushed,
//!   as a payloader hands it over (media packets from their formula, repair packets copied
//!   from the encoder's recorded output);
//! - `cold`: every packet built before the clock starts (30 MB, more than the caches) and
//!   pushed from memory, so each arrives cold: what the first packet-reading element of a
//!   pipeline pays when packets come from a socket's or a jitterbuffer's backlog.
//!
//! All runs alternate, `FLEXFEC_COST_ROUNDS` rounds (11): per run the pushing thread's CPU
//! time per media packet; printed per element best-of-N and median totals, and the element's
//! share = total − baseline (best − best; median of the per-round differences).
//!
//! Run: `cargo run --release --example flexfec_cost`. `FLEXFEC_COST_MODES=hot` (or `cold`):
//! one mode. `FLEXFEC_COST_ONE="<hot|cold> <enc|dec|base-enc|base-dec> <2-D|row|column>
//! <ours|c>"`: that one run only, for `valgrind --tool=callgrind --toggle-collect='*push_all*'`
//! (instructions of the pushes alone; `base-dec` takes the decoder input of `ours` or `c`).
//! `FLEXFEC_COST_REPEAT=N` with `FLEXFEC_COST_ONE`: that run N times (for `perf record`).
//! `FLEXFEC_COST_REPAIR_FIRST=1`: the decoders get the repair packets in the order the
//! encoders sent them (see [`decoder_input`]).

#[path = "common/cpu_time.rs"]
mod cpu_time;
#[path = "flexfec_cost/rig.rs"]
mod rig;

use rig::Rig;

const MEDIA: usize = 30_000;
const PAYLOAD: usize = 1000;
const PER_FRAME: usize = 12;
const MEDIA_PT: u8 = 96;
/// SMPTE 2022-1 wants SSRC 0.
const CAPS: &str =
    "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96,ssrc=(uint)0";

/// Media packet `i` is lost before the decoder: one in 31, never two in one row or column
/// of a 10 × 10 block.
fn lost(i: usize) -> bool {
    i % 31 == 30
}

/// Writes media packet `i` (RFC 3550 §5.1 header, marker on a frame's last packet).
fn write_media(i: usize, out: &mut [u8]) {
    let marker = if i % PER_FRAME == PER_FRAME - 1 {
        0x80
    } else {
        0
    };
    out[0] = 0x80;
    out[1] = MEDIA_PT | marker;
    out[2..4].copy_from_slice(&(i as u16).to_be_bytes());
    out[4..8].copy_from_slice(&((i / PER_FRAME) as u32 * 3000).to_be_bytes());
    out[8..12].fill(0);
    let from = i % 256;
    out[12..].copy_from_slice(&PATTERN[from..from + PAYLOAD]);
}

/// Byte `j` is `j % 256`: payload byte `k` of packet `i` is `(k + i) % 256`, written with
/// one copy (what a payloader does with the encoder's output).
static PATTERN: [u8; PAYLOAD + 256] = {
    let mut p = [0; PAYLOAD + 256];
    let mut j = 0;
    while j < p.len() {
        p[j] = j as u8;
        j += 1;
    }
    p
};

/// A new buffer holding `len` bytes written by `write`, with `pts`.
fn written(len: usize, pts: Option<gst::ClockTime>, write: impl FnOnce(&mut [u8])) -> gst::Buffer {
    let mut b = gst::Buffer::with_size(len).unwrap();
    let bm = b.get_mut().unwrap();
    bm.set_pts(pts);
    write(&mut bm.map_writable().unwrap());
    b
}

/// A packet to push: media packet `i`, or a copy of a recorded repair packet.
#[derive(Clone)]
enum Packet {
    Media(usize),
    Copy(gst::Buffer),
}

impl Packet {
    /// The packet in a new buffer, written now.
    fn build(&self) -> gst::Buffer {
        match self {
            Packet::Media(i) => written(12 + PAYLOAD, Some(ms(*i)), |m| write_media(*i, m)),
            Packet::Copy(b) => {
                let src = b.map_readable().unwrap();
                written(src.len(), b.pts(), |m| m.copy_from_slice(&src))
            }
        }
    }
}

fn ms(i: usize) -> gst::ClockTime {
    gst::ClockTime::from_mseconds(i as u64)
}

/// What one run pushes: per packet the input pad (0: `sink`) and the packet, either to be
/// written at push time (`hot`) or already built (`cold`).
#[derive(Clone)]
enum Input {
    Hot(Vec<(usize, Packet)>),
    Cold(Vec<(usize, gst::Buffer)>),
}

impl Input {
    fn new(hot: bool, packets: Vec<(usize, Packet)>) -> Input {
        if hot {
            Input::Hot(packets)
        } else {
            Input::Cold(packets.iter().map(|(p, k)| (*p, k.build())).collect())
        }
    }
}

/// Pushes every packet of `input` into `rig`.
fn push_input(rig: &Rig, input: &Input) {
    match input {
        Input::Hot(list) => {
            for (pad, p) in list {
                rig.push(*pad, p.build());
            }
        }
        Input::Cold(list) => {
            for (pad, b) in list {
                rig.push(*pad, b.clone());
            }
        }
    }
}

/// The timed part: every packet pushed; returns the thread's CPU time per media packet (ns).
/// Not inlined and called for timed runs only: `valgrind --tool=callgrind
/// --toggle-collect='*push_all*'` counts them alone.
#[inline(never)]
fn push_all(rig: &Rig, input: &Input) -> f64 {
    let start = cpu_time::cpu_now();
    push_input(rig, input);
    (cpu_time::cpu_now() - start).as_nanos() as f64 / MEDIA as f64
}

/// One element pair: its encoder and decoder launch lines.
struct Scheme {
    name: &'static str,
    ours_enc: &'static str,
    c_enc: &'static str,
}

const OURS_DEC: &str = "rtpflexfecdec2 pt=118";
const C_DEC: &str = "rtpst2022-1-fecdec";

const SCHEMES: [Scheme; 3] = [
    Scheme {
        name: "2-D",
        ours_enc: "rtpflexfecenc2 pt=118 protection=row-column columns=10 rows=10",
        c_enc: "rtpst2022-1-fecenc pt=100 columns=10 rows=10",
    },
    Scheme {
        name: "row",
        ours_enc: "rtpflexfecenc2 pt=118 protection=row columns=10",
        c_enc: "rtpst2022-1-fecenc pt=100 columns=10 rows=0 enable-column-fec=false",
    },
    Scheme {
        name: "column",
        ours_enc: "rtpflexfecenc2 pt=118 protection=column columns=10 rows=10",
        c_enc: "rtpst2022-1-fecenc pt=100 columns=10 rows=10 enable-row-fec=false",
    },
];

/// The decoder input from `enc`'s output: the pads to request besides `sink` and the packets
/// (media by index, the lost ones left out; repair packets as recorded).
fn decoder_input(enc: &str, caps: &gst::Caps) -> (Vec<String>, Vec<(usize, Packet)>, usize) {
    let rig = Rig::new(Some(enc), &[], caps, true);
    let media: Vec<(usize, Packet)> = (0..MEDIA).map(|i| (0, Packet::Media(i))).collect();
    for (pad, p) in &media {
        rig.push(*pad, p.build());
    }
    let (_, sent) = rig.finish();
    let mut pads: Vec<String> = Vec::new();
    let mut packets = Vec::new();
    // Both encoders send a row's repair packet just before the row's last media packet; as
    // sent, C's decoder then rebuilds that packet before it arrives and delivers it twice
    // (one extra recovery per row without loss). Each repair packet goes after the media
    // packet that follows it, unless FLEXFEC_COST_REPAIR_FIRST is set.
    let repair_first = std::env::var_os("FLEXFEC_COST_REPAIR_FIRST").is_some();
    let mut held = Vec::new();
    for (pad, b) in sent {
        let m = b.map_readable().unwrap();
        let media_index = (pad == "src" && m[1] & 0x7f == MEDIA_PT)
            .then(|| usize::from(u16::from_be_bytes([m[2], m[3]])));
        drop(m);
        let pad_index = if pad == "src" {
            0
        } else {
            if !pads.contains(&pad) {
                pads.push(pad.clone());
            }
            1 + pads.iter().position(|p| *p == pad).unwrap()
        };
        match media_index {
            Some(i) => {
                if !lost(i) {
                    packets.push((pad_index, Packet::Media(i)));
                }
                packets.append(&mut held);
            }
            None if repair_first => packets.push((pad_index, Packet::Copy(b))),
            None => held.push((pad_index, Packet::Copy(b))),
        }
    }
    packets.append(&mut held);
    let repairs = packets
        .iter()
        .filter(|(_, p)| matches!(p, Packet::Copy(_)))
        .count();
    (pads, packets, repairs)
}

/// One measured configuration: its element (none: the baseline), request pads and input.
struct Run {
    label: String,
    launch: Option<&'static str>,
    pads: Vec<String>,
    input: Input,
    times: Vec<f64>,
    out: usize,
}

impl Run {
    fn once(&mut self, caps: &gst::Caps) {
        let rig = Rig::new(self.launch, &self.pads, caps, false);
        self.times.push(push_all(&rig, &self.input));
        self.out = rig.finish().0;
    }
}

#[path = "flexfec_cost/report.rs"]
mod report;

/// Checks a decoder's output once (not timed): (distinct media packets delivered byte for
/// byte as sent, media packets delivered again, other packets).
fn check_decoder(launch: &str, pads: &[String], input: &Input, caps: &gst::Caps) -> [usize; 3] {
    let rig = Rig::new(Some(launch), pads, caps, true);
    push_input(&rig, input);
    let (_, out) = rig.finish();
    let mut seen = vec![false; MEDIA];
    let mut counts = [0; 3];
    let mut expected = vec![0; 12 + PAYLOAD];
    for (_, b) in out {
        let m = b.map_readable().unwrap();
        let i = usize::from(u16::from_be_bytes([m[2], m[3]]));
        if m[1] & 0x7f != MEDIA_PT || i >= MEDIA {
            counts[2] += 1;
            continue;
        }
        write_media(i, &mut expected);
        if *m != expected[..] {
            counts[2] += 1;
        } else if std::mem::replace(&mut seen[i], true) {
            counts[1] += 1;
        } else {
            counts[0] += 1;
        }
    }
    counts
}

/// The runs of one mode: `[base-enc, (ours enc, C enc, base-dec ours, ours dec, base-dec C,
/// C dec) per scheme]`.
fn runs(hot: bool, caps: &gst::Caps, schemes: &[&Scheme]) -> Vec<Run> {
    let mode = if hot { "hot" } else { "cold" };
    let media_in = Input::new(hot, (0..MEDIA).map(|i| (0, Packet::Media(i))).collect());
    let media = || media_in.clone();
    let run = |label: String, launch, pads: Vec<String>, input| Run {
        label: format!("{mode} {label}"),
        launch,
        pads,
        input,
        times: Vec::new(),
        out: 0,
    };
    let mut v = vec![run("base-enc".into(), None, vec![], media())];
    for s in schemes {
        let (o_pads, o_in, o_rep) = decoder_input(s.ours_enc, caps);
        let (c_pads, c_in, c_rep) = decoder_input(s.c_enc, caps);
        println!(
            "{mode} {}: repair packets ours {o_rep}, C {c_rep}; decoder input ours {}, C {}",
            s.name,
            o_in.len(),
            c_in.len()
        );
        let n = s.name;
        v.push(run(
            format!("enc {n} ours"),
            Some(s.ours_enc),
            vec![],
            media(),
        ));
        v.push(run(format!("enc {n} c"), Some(s.c_enc), vec![], media()));
        let o_input = Input::new(hot, o_in);
        let c_input = Input::new(hot, c_in);
        let o_check = check_decoder(OURS_DEC, &o_pads, &o_input, caps);
        let c_check = check_decoder(C_DEC, &c_pads, &c_input, caps);
        println!(
            "{mode} {n} decoders: [distinct media delivered as sent, again, other]: ours \
             {o_check:?}, C {c_check:?}"
        );
        let (bp, bi) = (o_pads.clone(), o_input.clone());
        v.push(run(format!("base-dec {n} ours"), None, bp, bi));
        v.push(run(
            format!("dec {n} ours"),
            Some(OURS_DEC),
            o_pads,
            o_input,
        ));
        let (bp, bi) = (c_pads.clone(), c_input.clone());
        v.push(run(format!("base-dec {n} c"), None, bp, bi));
        v.push(run(format!("dec {n} c"), Some(C_DEC), c_pads, c_input));
    }
    v
}

fn main() {
    gst::init().unwrap();
    gstrtp2::plugin_register_static().unwrap();
    let caps: gst::Caps = CAPS.parse().unwrap();
    if let Ok(one) = std::env::var("FLEXFEC_COST_ONE") {
        let w: Vec<&str> = one.split_whitespace().collect();
        let [mode, what, scheme, side] = w[..] else {
            panic!("FLEXFEC_COST_ONE=\"<hot|cold> <enc|dec|base-enc|base-dec> <scheme> <ours|c>\"");
        };
        let s = SCHEMES.iter().find(|s| s.name == scheme).expect("scheme");
        let mut all = runs(mode == "hot", &caps, &[s]);
        let label = match what {
            "base-enc" => format!("{mode} base-enc"),
            _ => format!("{mode} {what} {scheme} {side}"),
        };
        let run = all.iter_mut().find(|r| r.label == label).expect("run");
        // FLEXFEC_COST_REPEAT=N: the run N times, for a sampling profiler.
        for _ in 0..std::env::var("FLEXFEC_COST_REPEAT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
        {
            run.once(&caps);
        }
        println!("{label}: {:.0} ns, {} packets out", run.times[0], run.out);
        return;
    }
    let rounds: usize = std::env::var("FLEXFEC_COST_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11);
    let modes = std::env::var("FLEXFEC_COST_MODES").unwrap_or_else(|_| "hot cold".into());
    let schemes: Vec<&Scheme> = SCHEMES.iter().collect();
    for mode in modes.split_whitespace() {
        let mut all = runs(mode == "hot", &caps, &schemes);
        for _ in 0..rounds {
            for r in &mut all {
                r.once(&caps);
            }
        }
        report::print(mode, &all, &schemes, rounds);
    }
}
