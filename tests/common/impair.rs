// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! A reproducible lossy network for side-by-side depayloader comparisons: the `netsim`
//! impairment (drop, duplicate, delay with reordering) drawn from a seeded generator, a model
//! of what `rtpjitterbuffer` releases, and a runner that counts what a depayloader gives its
//! decoder and what the decoder makes of it.

use std::collections::BTreeMap;

use gst::prelude::*;

/// xorshift64*: the same packets are lost on every run and for every receiver.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The `netsim` settings of the issue-15 setup.
#[derive(Debug, Clone, Copy)]
pub struct Impairment {
    pub drop: f64,
    pub duplicate: f64,
    pub delay: f64,
    pub min_delay_ms: u64,
    pub max_delay_ms: u64,
    pub seed: u64,
}

impl Impairment {
    /// `netsim drop-probability=0.05 duplicate-probability=0.01`, 5% of packets delayed by
    /// 5–40 ms (so reordered).
    pub fn issue_15(seed: u64) -> Impairment {
        Impairment {
            drop: 0.05,
            duplicate: 0.01,
            delay: 0.05,
            min_delay_ms: 5,
            max_delay_ms: 40,
            seed,
        }
    }
}

/// Figures of one impaired run.
#[derive(Debug, Default, Clone, Copy)]
pub struct NetworkStats {
    pub sent: usize,
    pub dropped: usize,
    pub duplicated: usize,
    pub delayed: usize,
    /// Packets the jitterbuffer model threw away (late or duplicate).
    pub discarded: usize,
    /// Packets the jitterbuffer model released.
    pub released: usize,
}

/// `packets` (sent at their PTS, those of one frame 50 µs apart) through `imp`, then what a
/// `rtpjitterbuffer latency=latency_ms` releases: packets in sequence order, duplicates and
/// late packets removed, a missing packet given up once the next one present has waited the
/// latency.
pub fn impaired(
    packets: &[gst::Buffer],
    imp: Impairment,
    latency_ms: u64,
) -> (Vec<gst::Buffer>, NetworkStats) {
    let mut rng = Rng::new(imp.seed);
    let mut stats = NetworkStats {
        sent: packets.len(),
        ..Default::default()
    };
    let mut arrivals: Vec<(u64, usize, gst::Buffer)> = Vec::new();
    let (mut last_pts, mut in_frame) = (None, 0u64);
    for (i, p) in packets.iter().enumerate() {
        let pts = p.pts().map_or(0, |t| t.nseconds());
        in_frame = if last_pts == Some(pts) {
            in_frame + 1
        } else {
            0
        };
        last_pts = Some(pts);
        let sent = pts + in_frame * 50_000;
        if rng.unit() < imp.drop {
            stats.dropped += 1;
            continue;
        }
        let copies = if rng.unit() < imp.duplicate {
            stats.duplicated += 1;
            2
        } else {
            1
        };
        let mut arrival = sent;
        if rng.unit() < imp.delay {
            stats.delayed += 1;
            let span = (imp.max_delay_ms - imp.min_delay_ms) as f64;
            arrival += (imp.min_delay_ms as f64 + rng.unit() * span) as u64 * 1_000_000;
        }
        for _ in 0..copies {
            arrivals.push((arrival, i, p.clone()));
        }
    }
    arrivals.sort_by_key(|(t, i, _)| (*t, *i));

    let latency = latency_ms * 1_000_000;
    let mut out = Vec::new();
    let mut pending: BTreeMap<u64, (u64, gst::Buffer)> = BTreeMap::new();
    let mut next: Option<u64> = None;
    let mut unwrap = Unwrapper::default();
    for (now, _, buffer) in arrivals {
        let seq = unwrap.ext(seqnum(&buffer));
        // Release what is due: in order, or past a gap once the latency is spent.
        release(&mut pending, &mut next, &mut out, Some(now), latency);
        if next.is_some_and(|n| seq < n) || pending.contains_key(&seq) {
            stats.discarded += 1;
            continue;
        }
        next.get_or_insert(seq);
        pending.insert(seq, (now, buffer));
        release(&mut pending, &mut next, &mut out, Some(now), latency);
    }
    release(&mut pending, &mut next, &mut out, None, latency);
    stats.released = out.len();
    (out, stats)
}

fn release(
    pending: &mut BTreeMap<u64, (u64, gst::Buffer)>,
    next: &mut Option<u64>,
    out: &mut Vec<gst::Buffer>,
    now: Option<u64>,
    latency: u64,
) {
    while let Some((&seq, (arrived, _))) = pending.first_key_value() {
        let due = now.is_none_or(|now| arrived + latency <= now);
        if Some(seq) != *next && !due {
            break;
        }
        if let Some((_, buffer)) = pending.remove(&seq) {
            out.push(buffer);
        }
        *next = Some(seq + 1);
    }
}

#[derive(Default)]
struct Unwrapper {
    last: Option<u64>,
}

impl Unwrapper {
    fn ext(&mut self, seq: u16) -> u64 {
        let ext = match self.last {
            None => (1 << 20) + u64::from(seq),
            Some(last) => {
                let delta = i64::from(seq.wrapping_sub(last as u16) as i16);
                (last as i64 + delta) as u64
            }
        };
        if self.last.is_none_or(|l| ext > l) {
            self.last = Some(ext);
        }
        ext
    }
}

fn seqnum(buffer: &gst::Buffer) -> u16 {
    let map = buffer.map_readable().unwrap();
    u16::from_be_bytes([map[2], map[3]])
}

/// What one receiver made of the packets.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Buffers (access units) the depayloader gave the decoder.
    pub access_units: usize,
    /// Pictures out of the decoder.
    pub pictures: usize,
    /// Of those, pictures the decoder flagged CORRUPTED (it concealed missing data).
    pub corrupted: usize,
    /// Warning messages posted.
    pub warnings: usize,
}

/// Pushes `packets` with `caps` through `depay` (an element description, named `d` here)
/// into `decoder`; counts without keeping the pictures.
pub fn receive(depay: &str, decoder: &str, caps: &gst::Caps, packets: &[gst::Buffer]) -> Received {
    let mut h = gst_check::Harness::new_parse(&format!("{depay} name=d ! {decoder}"));
    let bus = gst::Bus::new();
    let bin = h.element().unwrap();
    bin.set_bus(Some(&bus));
    let counted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = counted.clone();
    bin.downcast_ref::<gst::Bin>()
        .unwrap()
        .by_name("d")
        .unwrap()
        .static_pad("src")
        .unwrap()
        .add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
            move |_, info| {
                let n = match &info.data {
                    Some(gst::PadProbeData::Buffer(_)) => 1,
                    Some(gst::PadProbeData::BufferList(l)) => l.len(),
                    _ => 0,
                };
                c.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            },
        );
    h.set_src_caps(caps.clone());
    let mut received = Received::default();
    let pull = |h: &mut gst_check::Harness, r: &mut Received| {
        while let Some(picture) = h.try_pull() {
            r.pictures += 1;
            if picture.flags().contains(gst::BufferFlags::CORRUPTED) {
                r.corrupted += 1;
            }
        }
    };
    for p in packets {
        let _ = h.push(p.clone());
        pull(&mut h, &mut received);
    }
    h.push_event(gst::event::Eos::new());
    pull(&mut h, &mut received);
    received.access_units = counted.load(std::sync::atomic::Ordering::Relaxed);
    while let Some(msg) = bus.pop() {
        if let gst::MessageView::Warning(w) = msg.view() {
            eprintln!("{depay}: warning {}", w.error());
            received.warnings += 1;
        }
    }
    received
}
