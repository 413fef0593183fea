// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Side-by-side speed of our elements and the C elements of gst-plugins-good, on the same
//! in-memory input, alternating ours and C round by round in one process.
//!
//! `cargo run --release --example side_by_side -- [--rounds N] [--quick] [--only TEXT]`
//!
//! For each element it prints packets per second, ns per packet, the P50/P99 time to handle
//! one input buffer, and the ratio ours / C (ns per packet; below 1 is faster). Timing
//! includes the GStreamer harness around the element, the same for both.

use std::time::{Duration, Instant};

use gst::prelude::*;
use gst_rtp::prelude::*;

/// Issue 18: the cost of a WebRTC header-extension set, ours and C.
#[path = "side_by_side/hdrext_cost.rs"]
mod hdrext_cost;

/// Input buffers and their caps.
#[derive(Clone)]
struct Input {
    buffers: Vec<gst::Buffer>,
    caps: gst::Caps,
}

fn collect(description: &str) -> Input {
    let pipeline = gst::parse::launch(description)
        .expect("pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    let sink = pipeline
        .by_name("sink")
        .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
        .expect("appsink named sink");
    pipeline.set_state(gst::State::Playing).expect("playing");
    let mut buffers = Vec::new();
    let mut caps = None;
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
        caps = sample.caps_owned();
        if let Some(b) = sample.buffer_owned() {
            buffers.push(b);
        }
    }
    pipeline.set_state(gst::State::Null).expect("null");
    Input {
        buffers,
        caps: caps.expect("caps"),
    }
}

/// `packet` in one system memory, as `udpsrc` delivers packets from the network (a
/// payloader's output is a header memory plus payload memories).
fn contiguous(packet: &gst::Buffer) -> gst::Buffer {
    let map = packet.map_readable().expect("readable packet");
    let mut flat = gst::Buffer::with_size(map.size()).expect("buffer");
    {
        let flat = flat.get_mut().expect("new buffer is writable");
        flat.copy_from_slice(0, map.as_slice()).expect("same size");
        flat.set_pts(packet.pts());
        flat.set_dts(packet.dts());
        flat.set_flags(packet.flags());
    }
    flat
}

/// An input made only when a row that needs it runs (encoding the video inputs takes
/// seconds, which `--only` and profiling should not pay for).
type Lazy<'a> = std::cell::LazyCell<Input, Box<dyn FnOnce() -> Input + 'a>>;

fn lazy<'a>(make: impl FnOnce() -> Input + 'a) -> Lazy<'a> {
    std::cell::LazyCell::new(Box::new(make))
}

/// `--only TEXT`: compare only the rows whose name contains TEXT.
static ONLY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// A harness linked straight to the element's pads. (`Harness::new_parse` would put the
/// element in a bin behind ghost pads: two more pad pushes per buffer, the same for every
/// element, which only hides the difference between them.)
///
/// A description ending in ` +twcc` gets the C `rtphdrexttwcc` header extension (id 1) through
/// `add-extension`, as a WebRTC sender has it (ours and C alike); one ending in ` +ext:a,b,c`
/// gets those extensions, ids 1, 2, 3 (see `hdrext_cost`).
fn harness_for(description: &str) -> gst_check::Harness {
    if let Some(element) = hdrext_cost::with_extensions(description) {
        return gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    }
    if let Some(element) = description.strip_suffix(" +twcc") {
        let element = gst::parse::launch(element).expect("element description");
        let twcc = gst::ElementFactory::make("rtphdrexttwcc")
            .build()
            .expect("rtphdrexttwcc (gst-plugins-good rtpmanager)")
            .downcast::<gst_rtp::RTPHeaderExtension>()
            .expect("a header extension");
        twcc.set_id(1);
        element.emit_by_name::<()>("add-extension", &[&twcc]);
        return gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    }
    if description.contains('!') {
        // An element and a sink (udpsink): a bin with a ghost sink pad, no output to count.
        let bin = gst::parse::bin_from_description(description, true).expect("bin description");
        return gst_check::Harness::with_element(&bin, Some("sink"), None);
    }
    let element = gst::parse::launch(description).expect("element description");
    gst_check::Harness::with_element(&element, Some("sink"), Some("src"))
}

/// The measured part: one push per buffer, timed. Not inlined, so that
/// `valgrind --tool=callgrind --toggle-collect='*push_all*'` counts the instructions of this
/// part alone (see `hdrext_cost`).
#[inline(never)]
fn push_all(
    h: &mut gst_check::Harness,
    owned: Vec<gst::Buffer>,
    per_buffer: &mut Vec<Duration>,
    total: &mut Duration,
) {
    for b in owned {
        let start = Instant::now();
        h.push(b).expect("push");
        let spent = start.elapsed();
        per_buffer.push(spent);
        *total += spent;
    }
}

/// Runs `input` through a fresh `element`; returns (total time, packets out, per-buffer times).
fn run_once(element: &str, input: &Input) -> (Duration, usize, Vec<Duration>) {
    let mut h = harness_for(element);
    h.set_src_caps(input.caps.clone());
    // Output is counted and freed at once, as a network sink would; queueing it for
    // `pull` would cost a condition-variable signal (a futex syscall) per output buffer,
    // the same for both elements, which only hides the difference between them.
    h.set_drop_buffers(true);
    let mut per_buffer = Vec::with_capacity(input.buffers.len());
    let mut total = Duration::ZERO;
    // Each run gets its own deep copies, so that the element is the only holder of its input
    // (as behind an encoder or udpsrc); copying happens before the timed part.
    let owned: Vec<gst::Buffer> = input
        .buffers
        .iter()
        .map(|b| b.copy_deep().unwrap_or_else(|_| b.clone()))
        .collect();
    push_all(&mut h, owned, &mut per_buffer, &mut total);
    let outputs = h.buffers_received() as usize;
    (total, outputs, per_buffer)
}

struct Figures {
    packets: usize,
    total: Duration,
    per_buffer: Vec<Duration>,
}

impl Figures {
    fn ns_per_packet(&self) -> f64 {
        self.total.as_nanos() as f64 / self.packets.max(1) as f64
    }
    fn percentile(&mut self, p: f64) -> Duration {
        self.per_buffer.sort();
        let i = ((self.per_buffer.len() as f64 - 1.0) * p).round() as usize;
        self.per_buffer.get(i).copied().unwrap_or_default()
    }
}

fn compare(
    name: &str,
    ours: &str,
    theirs: &str,
    input: &dyn std::ops::Deref<Target = Input>,
    packets_are_inputs: bool,
    rounds: usize,
) {
    compare_labeled(
        name,
        [("ours", ours), ("C", theirs)],
        input,
        packets_are_inputs,
        rounds,
    );
}

/// Two launch lines on the same input, alternating; the ratio is first / second.
fn compare_labeled(
    name: &str,
    [(first_label, ours), (second_label, theirs)]: [(&str, &str); 2],
    input: &dyn std::ops::Deref<Target = Input>,
    packets_are_inputs: bool,
    rounds: usize,
) {
    if let Some(only) = ONLY.get().and_then(|o| o.as_deref())
        && !name.contains(only)
    {
        return;
    }
    let input: &Input = input;
    let mut figures = [
        Figures {
            packets: 0,
            total: Duration::ZERO,
            per_buffer: Vec::new(),
        },
        Figures {
            packets: 0,
            total: Duration::ZERO,
            per_buffer: Vec::new(),
        },
    ];
    // Warm up both, then alternate so that both see the same machine state.
    run_once(ours, input);
    run_once(theirs, input);
    for _ in 0..rounds {
        for (i, element) in [ours, theirs].iter().enumerate() {
            let (total, outputs, per_buffer) = run_once(element, input);
            let f = &mut figures[i];
            // For depayloaders the packets are the input buffers.
            f.packets += if packets_are_inputs {
                input.buffers.len()
            } else {
                outputs
            };
            f.total += total;
            f.per_buffer.extend(per_buffer);
        }
    }
    let ratio = figures[0].ns_per_packet() / figures[1].ns_per_packet();
    for (i, f) in figures.iter_mut().enumerate() {
        let label = [first_label, second_label][i];
        let pps = f.packets as f64 / f.total.as_secs_f64();
        let (p50, p99) = (f.percentile(0.5), f.percentile(0.99));
        println!(
            "| {name} | {label} | {:.0} | {:.0} | {:.1} | {:.1} |{}",
            pps,
            f.ns_per_packet(),
            p50.as_nanos() as f64 / 1000.0,
            p99.as_nanos() as f64 / 1000.0,
            if i == 0 {
                format!(" {ratio:.2} |")
            } else {
                " |".to_string()
            }
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1 } else { 10 });
    let frames = if quick { 10 } else { 60 };
    let _ = ONLY.set(
        args.iter()
            .position(|a| a == "--only")
            .and_then(|i| args.get(i + 1))
            .cloned(),
    );
    gst::init().expect("gst init");
    gstrtp2::plugin_register_static().expect("register rtp2");
    if hdrext_cost::one_variant(&args, frames) {
        return;
    }

    let hd = lazy(|| {
        collect(&format!(
            "videotestsrc num-buffers={frames} pattern=smpte ! video/x-raw,width=1920,height=1080,format=I420,framerate=30/1 \
         ! x264enc speed-preset=ultrafast bitrate=20000 key-int-max=30 ! h264parse \
         ! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false"
        ))
    });
    let small = lazy(|| {
        collect(&format!(
            "videotestsrc num-buffers={} pattern=ball ! video/x-raw,width=176,height=144,format=I420,framerate=30/1 \
         ! x264enc speed-preset=ultrafast bitrate=64 key-int-max=30 aud=true ! h264parse \
         ! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false",
            frames * 5
        ))
    });
    let hd265 = lazy(|| {
        collect(&format!(
            "videotestsrc num-buffers={frames} pattern=smpte ! video/x-raw,width=1920,height=1080,format=I420,framerate=30/1 \
         ! x265enc speed-preset=ultrafast bitrate=20000 key-int-max=30 ! h265parse \
         ! video/x-h265,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false"
        ))
    });
    let small265 = lazy(|| {
        collect(&format!(
            "videotestsrc num-buffers={} pattern=ball ! video/x-raw,width=176,height=144,format=I420,framerate=30/1 \
         ! x265enc speed-preset=ultrafast bitrate=64 key-int-max=30 option-string=aud=1 ! h265parse \
         ! video/x-h265,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false",
            frames * 5
        ))
    });
    let g722 = lazy(|| {
        collect(&format!(
            "audiotestsrc num-buffers={} samplesperbuffer=320 ! audio/x-raw,rate=16000,channels=1 ! avenc_g722 \
         ! appsink name=sink sync=false",
            frames * 25
        ))
    });
    let g729 = lazy(|| Input {
        buffers: (0..frames * 25)
            .map(|i| {
                let mut b = gst::Buffer::from_mut_slice(vec![(i % 251) as u8; 20]);
                b.get_mut()
                    .unwrap()
                    .set_pts(gst::ClockTime::from_mseconds(20 * i as u64));
                b
            })
            .collect(),
        caps: "audio/G729,rate=8000,channels=1".parse().unwrap(),
    });
    let packets_of = |pay: &str, input: &Input| -> Input {
        let mut h = gst_check::Harness::new_parse(pay);
        h.set_src_caps(input.caps.clone());
        let mut buffers = Vec::new();
        for b in &input.buffers {
            h.push(b.clone()).unwrap();
            while let Some(p) = h.try_pull() {
                buffers.push(contiguous(&p));
            }
        }
        let caps = h
            .sinkpad()
            .and_then(|p| p.current_caps())
            .expect("rtp caps");
        Input { buffers, caps }
    };

    println!("| element | impl | packets/s | ns/packet | P50 µs/buffer | P99 µs/buffer | ours/C |");
    println!("|---|---|---|---|---|---|---|");
    compare(
        "H.264 pay, 1080p 20 Mbit/s (FU-A)",
        "rtph264pay2",
        "rtph264pay",
        &hd,
        false,
        rounds,
    );
    compare(
        "H.264 pay + rtphdrexttwcc, 1080p (FU-A)",
        "rtph264pay2 +twcc",
        "rtph264pay +twcc",
        &hd,
        false,
        rounds,
    );
    compare(
        "H.264 pay, 176x144 small NALs (STAP-A)",
        "rtph264pay2 aggregate-mode=max-stap",
        "rtph264pay aggregate-mode=max-stap",
        &small,
        false,
        rounds,
    );
    let hd_packets = lazy(|| packets_of("rtph264pay", &hd));
    compare(
        "H.264 depay, 1080p (FU-A)",
        "rtph264depay2",
        "rtph264depay",
        &hd_packets,
        true,
        rounds,
    );
    let small_packets = lazy(|| packets_of("rtph264pay aggregate-mode=max-stap", &small));
    compare(
        "H.264 depay, small NALs (STAP-A)",
        "rtph264depay2",
        "rtph264depay",
        &small_packets,
        true,
        rounds,
    );
    compare(
        "H.265 pay, 1080p 20 Mbit/s (FU)",
        "rtph265pay2",
        "rtph265pay",
        &hd265,
        false,
        rounds,
    );
    compare(
        "H.265 pay, 176x144 small NALs (AP)",
        "rtph265pay2 aggregate-mode=max",
        "rtph265pay aggregate-mode=max",
        &small265,
        false,
        rounds,
    );
    let hd265_packets = lazy(|| packets_of("rtph265pay", &hd265));
    compare(
        "H.265 depay, 1080p (FU)",
        "rtph265depay2",
        "rtph265depay",
        &hd265_packets,
        true,
        rounds,
    );
    let small265_packets = lazy(|| packets_of("rtph265pay aggregate-mode=max", &small265));
    compare(
        "H.265 depay, small NALs (AP)",
        "rtph265depay2",
        "rtph265depay",
        &small265_packets,
        true,
        rounds,
    );
    compare(
        "G.722 pay, 20 ms",
        "rtpg722pay2",
        "rtpg722pay",
        &g722,
        false,
        rounds,
    );
    let g722_packets = lazy(|| packets_of("rtpg722pay", &g722));
    compare(
        "G.722 depay, 20 ms",
        "rtpg722depay2",
        "rtpg722depay",
        &g722_packets,
        true,
        rounds,
    );
    compare(
        "G.729 pay, 20 ms",
        "rtpg729pay2 min-ptime=20000000 max-ptime=20000000",
        "rtpg729pay min-ptime=20000000 max-ptime=20000000",
        &g729,
        false,
        rounds,
    );
    let g729_packets =
        lazy(|| packets_of("rtpg729pay min-ptime=20000000 max-ptime=20000000", &g729));
    compare(
        "G.729 depay, 20 ms",
        "rtpg729depay2",
        "rtpg729depay",
        &g729_packets,
        true,
        rounds,
    );
    hdrext_cost::rows(frames, rounds);
    // The floor of this runner: the harness around `identity` (an element that does nothing
    // with the buffer) against the C element on the same input. Time below this ratio cannot
    // be shown by a harness measurement whatever the element does.
    let floor_rows: [(&str, &str, &dyn std::ops::Deref<Target = Input>); 3] = [
        (
            "floor: valve vs C, G.722 20 ms pay input",
            "rtpg722pay",
            &g722,
        ),
        (
            "floor: valve vs C, G.722 packets",
            "rtpg722depay",
            &g722_packets,
        ),
        (
            "floor: valve vs C, small H.264 packets",
            "rtph264depay",
            &small_packets,
        ),
    ];
    for (name, theirs, input) in floor_rows {
        compare_labeled(
            name,
            [("valve", "valve"), ("C", theirs)],
            input,
            true,
            rounds,
        );
    }
    // `buffer-list` of rtpg722pay2: true (ours) against false (C's default), the ratio true
    // / false, per input buffer. It only matters when one input makes several packets (100
    // ms inputs: five 20 ms packets); downstream is udpsink to 127.0.0.1, which sends a
    // buffer list with one sendmmsg call, as an RTP sender would.
    // avenc_g722 outputs 20 ms buffers whatever its input: five of them are joined.
    let g722_100ms = lazy(|| {
        let input: &Input = &g722;
        let buffers = input
            .buffers
            .chunks(5)
            .map(|five| {
                let mut joined = five[0].copy();
                for b in &five[1..] {
                    joined.append(b.copy());
                }
                joined
            })
            .collect();
        Input {
            buffers,
            caps: input.caps.clone(),
        }
    });
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or(5004);
    let udpsink = format!("udpsink host=127.0.0.1 port={port} sync=false async=false");
    let list_rows: [(&str, &dyn std::ops::Deref<Target = Input>); 2] = [
        (
            "G.722 pay 100 ms inputs → udpsink, buffer-list",
            &g722_100ms,
        ),
        ("G.722 pay 20 ms inputs → udpsink, buffer-list", &g722),
    ];
    for (name, input) in list_rows {
        let with = format!("rtpg722pay2 buffer-list=true ! {udpsink}");
        let without = format!("rtpg722pay2 buffer-list=false ! {udpsink}");
        compare_labeled(
            name,
            [("true", &with), ("false", &without)],
            input,
            true,
            rounds,
        );
    }
    let with = "rtpg722pay2 buffer-list=true";
    let without = "rtpg722pay2 buffer-list=false";
    compare_labeled(
        "G.722 pay 100 ms inputs → harness, buffer-list",
        [("true", with), ("false", without)],
        &g722_100ms,
        true,
        rounds,
    );
    // Our buffer pool on and off (the ratio is pool / no pool).
    // (Audio inputs the payloader alone holds become the packets themselves: no pooled
    // buffer is used there, so the pool rows are video.)
    let pool_rows: [(&str, &str, &dyn std::ops::Deref<Target = Input>); 2] = [
        ("H.264 pay, 1080p (FU-A)", "rtph264pay2", &hd),
        (
            "H.264 pay, small NALs (STAP-A)",
            "rtph264pay2 aggregate-mode=max-stap",
            &small,
        ),
    ];
    for (name, pay, input) in pool_rows {
        let without = format!("{pay} use-buffer-pool=false");
        compare_labeled(
            name,
            [("pool", pay), ("no pool", &without)],
            input,
            false,
            rounds,
        );
    }
}
