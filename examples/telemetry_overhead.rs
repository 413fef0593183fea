// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Cost of the `rtp-metrics` tracer per packet: the same in-memory input through our H.264
//! payloader and our G.722 depayloader in three phases of one process (a tracer cannot be
//! removed once its hooks are registered): no tracer; a tracer that registers the same hooks
//! and does nothing (what GStreamer's tracing machinery costs as soon as any tracer is
//! active: every hook point, buffer ref and unref then goes through its dispatch); that one
//! plus `rtp-metrics`. Prints ns per packet (least over rounds) of each phase, the tracer's
//! own cost (third minus second) and heap allocations per packet (a counting global
//! allocator). The depayloader runs behind `identity` in a bin (ghost pads: three more pad
//! pushes per packet than a bare element, each passing through the tracer's hook), and, as
//! case `g722chain`, in the plain chain a receiver runs (`appsrc ! rtpg722depay2 ! fakesink`,
//! pushed by the source's own thread: two pushes per packet), timed from PLAYING to EOS;
//! case `fecchain` is the same chain through our FEC decoder (`rtpulpfecdec2`, media
//! packets only), whose filter base hands its packets to the tracer as the depayloader's
//! does.
//!
//! `cargo run --release --example telemetry_overhead -- [--rounds N]`
//!
//! For instruction counts (reliable on a shared machine, unlike times):
//! `--case h264|g722|g722chain|fecchain` runs one case, `--phase null|on` only the null-tracer phase or the null tracer plus
//! `rtp-metrics` (no table), and
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=telemetry_overhead::push_all`
//! counts the pushes of the second run only (the first warms up): (Ir of `--phase on` − Ir
//! of `--phase null`) / packets is what `rtp-metrics` adds per packet (the example prints
//! the packet count; for the chains, whose pushes run on the source's thread, instead
//! `--dump-after=telemetry_overhead::chain_warm_up` and, in the second dump, the inclusive
//! cost of `gstrtp2::tracer::hooks::push_pre`, with `LD_BIND_NOW=1`).
//! `--phase null|on --rounds N` times that phase alone instead (least
//! ns per packet over N rounds): alternating processes of the two phases, each best of N,
//! gives the tracer's cost with less drift than the three phases of one process.
//! `--phase off` (no tracer) and `--phase alone` (`rtp-metrics` without the null tracer)
//! give the whole cost of turning the tracer on, GStreamer's dispatch included.
//! `--plugin-file target/release/libgstrtp2.so` loads the plugin from its shared object,
//! as `GST_PLUGIN_PATH` users do, instead of registering the linked-in copy (allocations
//! made inside the shared object are then not counted).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gst::prelude::*;

/// Counts heap allocations (all threads).
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A tracer registering the hooks `rtp-metrics` registers, doing nothing in them.
mod null_tracer {
    use gst::glib;
    use gst::subclass::prelude::*;

    #[derive(Default)]
    pub struct Imp;

    #[glib::object_subclass]
    impl ObjectSubclass for Imp {
        const NAME: &'static str = "Rtp2ExampleNullTracer";
        type Type = super::NullTracer;
        type ParentType = gst::Tracer;
    }

    impl ObjectImpl for Imp {
        fn constructed(&self) {
            self.parent_constructed();
            use TracerHook::*;
            for hook in [
                PadPushPre,
                PadPushListPre,
                PadPushEventPre,
                PadLinkPost,
                PadUnlinkPost,
                ElementNew,
                ElementRemovePad,
                ElementChangeStatePost,
            ] {
                self.register_hook(hook);
            }
        }
    }

    impl GstObjectImpl for Imp {}

    impl TracerImpl for Imp {}
}

glib::wrapper! {
    /// See [`null_tracer`].
    pub struct NullTracer(ObjectSubclass<null_tracer::Imp>) @extends gst::Tracer, gst::Object;
}

/// Buffers made by `description` (an appsink named `sink`) and their caps.
fn collect(description: &str) -> (Vec<gst::Buffer>, gst::Caps) {
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
        buffers.extend(sample.buffer_owned());
    }
    pipeline.set_state(gst::State::Null).expect("null");
    (buffers, caps.expect("caps"))
}

/// The plain receiving chain (`udpsrc ! rtpg722depay2 ! …`): a source element pushing each
/// packet from its own streaming thread straight into the depayloader, two pushes per
/// packet, both on element pads (no ghost or harness pad). `appsrc` stands in for `udpsrc`.
const CHAIN: &str = "appsrc ! rtpg722depay2 ! fakesink";

/// The same chain through our FEC decoder (media packets only, passed on unchanged): the
/// filter base's input, which hands its packets to the tracer as the depayloader's does.
const FEC_CHAIN: &str = "appsrc ! rtpulpfecdec2 ! fakesink";

/// Whether `element` is one of the chains ([`CHAIN`], [`FEC_CHAIN`]) rather than a harness.
fn is_chain(element: &str) -> bool {
    element.starts_with("appsrc ! ")
}

/// One run of `buffers` through a fresh `chain` ([`CHAIN`] or [`FEC_CHAIN`]): all of them
/// queued in `appsrc` (then EOS), the first one prerolled in PAUSED, the time from PLAYING to EOS (the rest pushed
/// back to back by the source's thread), those packets, allocations in that time.
fn run_chain(chain: &str, caps: &gst::Caps, buffers: &[gst::Buffer]) -> (Duration, u64, u64) {
    let pipeline = gst::Pipeline::new();
    let src = gst_app::AppSrc::builder()
        .caps(caps)
        .format(gst::Format::Time)
        .max_bytes(0)
        .build();
    let factory = chain
        .split(" ! ")
        .nth(1)
        .expect("appsrc ! element ! fakesink");
    let middle = gst::ElementFactory::make(factory).build().expect(factory);
    let sink = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .build()
        .expect("fakesink");
    pipeline
        .add_many([src.upcast_ref(), &middle, &sink])
        .expect("add");
    gst::Element::link_many([src.upcast_ref(), &middle, &sink]).expect("link");
    for b in buffers {
        let b = b.copy_deep().unwrap_or_else(|_| b.clone());
        src.push_buffer(b).expect("queued");
    }
    src.end_of_stream().expect("eos queued");
    pipeline.set_state(gst::State::Paused).expect("paused");
    let (prerolled, ..) = pipeline.state(gst::ClockTime::from_seconds(30));
    prerolled.expect("prerolled");
    let bus = pipeline.bus().expect("bus");
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    let start = Instant::now();
    pipeline.set_state(gst::State::Playing).expect("playing");
    let eos = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(60),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    let spent = start.elapsed();
    let allocated = ALLOCATIONS.load(Ordering::Relaxed) - allocations;
    assert!(
        matches!(
            eos.as_ref().map(|m| m.view()),
            Some(gst::MessageView::Eos(_))
        ),
        "chain did not reach EOS: {eos:?}"
    );
    pipeline.set_state(gst::State::Null).expect("null");
    (spent, buffers.len() as u64 - 1, allocated)
}

/// A first run of a chain, whose end callgrind can mark (`--dump-after`): the chain pushes
/// from the source's thread, outside [`push_all`], so its count is that of the tracer's push
/// hooks in the dump after this one.
#[inline(never)]
fn chain_warm_up(chain: &str, caps: &gst::Caps, buffers: &[gst::Buffer]) {
    run_chain(chain, caps, buffers);
}

/// One run of `buffers` through a fresh `element` in a harness (its pads are linked to the
/// element's, so the tracer sees both pushes): time spent pushing, RTP packets involved,
/// allocations made while pushing.
fn run_once(element: &str, caps: &gst::Caps, buffers: &[gst::Buffer]) -> (Duration, u64, u64) {
    if is_chain(element) {
        return run_chain(element, caps, buffers);
    }
    run_with(element, caps, buffers, push_all)
}

/// [`run_once`] pushing with `push`.
fn run_with(
    element: &str,
    caps: &gst::Caps,
    buffers: &[gst::Buffer],
    push: fn(&mut gst_check::Harness, Vec<gst::Buffer>),
) -> (Duration, u64, u64) {
    let mut h = if element.contains('!') {
        gst_check::Harness::new_parse(element)
    } else {
        gst_check::Harness::new(element)
    };
    h.set_src_caps(caps.clone());
    h.set_drop_buffers(true);
    h.play();
    let owned: Vec<gst::Buffer> = buffers
        .iter()
        .map(|b| b.copy_deep().unwrap_or_else(|_| b.clone()))
        .collect();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    let start = Instant::now();
    push(&mut h, owned);
    let spent = start.elapsed();
    let allocated = ALLOCATIONS.load(Ordering::Relaxed) - allocations;
    let out = h.buffers_received();
    // Packets: the payloader's output, the depayloader's input.
    let packets = if element.contains("depay") {
        buffers.len() as u64
    } else {
        u64::from(out)
    };
    (spent, packets, allocated)
}

/// The timed part: every buffer pushed through the harness (callgrind's toggle point).
#[inline(never)]
fn push_all(h: &mut gst_check::Harness, buffers: Vec<gst::Buffer>) {
    for b in buffers {
        h.push(b).expect("push");
    }
}

/// [`push_all`] under another name: a warm-up run callgrind does not count (first-run
/// costs such as lazy initialisation would otherwise blur the difference of two phases).
#[inline(never)]
fn push_warm_up(h: &mut gst_check::Harness, buffers: Vec<gst::Buffer>) {
    for b in buffers {
        h.push(b).expect("push");
    }
}

/// Least ns per packet (the run least disturbed by other jobs on the machine) and median
/// allocations per packet over `rounds` runs.
fn measure(element: &str, caps: &gst::Caps, buffers: &[gst::Buffer], rounds: usize) -> (f64, f64) {
    let mut ns = Vec::new();
    let mut allocs = Vec::new();
    for _ in 0..rounds {
        let (t, packets, a) = run_once(element, caps, buffers);
        ns.push(t.as_nanos() as f64 / packets.max(1) as f64);
        allocs.push(a as f64 / packets.max(1) as f64);
    }
    ns.sort_by(f64::total_cmp);
    allocs.sort_by(f64::total_cmp);
    (ns[0], allocs[allocs.len() / 2])
}

/// An `rtp-metrics` tracer (on a free port) from the registered plugin, whichever copy that
/// is (see `--plugin-file`).
fn rtp_metrics() -> glib::Object {
    let tracer = gst::Registry::get()
        .lookup_feature("rtp-metrics")
        .and_then(|f| f.load().ok())
        .and_then(|f| f.downcast::<gst::TracerFactory>().ok())
        .expect("the rtp-metrics tracer is registered");
    glib::Object::builder_with_type(tracer.tracer_type())
        .property("port", 0i32)
        .build()
}

/// The value after `name` on the command line.
fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds = arg(&args, "--rounds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(15usize);
    gst::init().expect("gst init");
    match arg(&args, "--plugin-file") {
        // The plugin as users load it (a shared object: its thread-locals are reached
        // through `__tls_get_addr`); its own allocations are not counted here.
        Some(path) => {
            gst::Plugin::load_file(&path).expect("load the plugin file");
        }
        None => gstrtp2::plugin_register_static().expect("register rtp2"),
    }

    let (h264, h264_caps) = collect(
        "videotestsrc num-buffers=60 pattern=smpte ! video/x-raw,width=1280,height=720,format=I420,framerate=30/1 \
         ! x264enc speed-preset=ultrafast bitrate=8000 key-int-max=30 threads=1 ! h264parse \
         ! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false",
    );
    let (packets, rtp_caps) = collect(
        "audiotestsrc num-buffers=3000 samplesperbuffer=320 ! audio/x-raw,rate=16000,channels=1 \
         ! avenc_g722 ! rtpg722pay2 ! appsink name=sink sync=false",
    );
    // As from the network: one memory per packet.
    let g722: Vec<gst::Buffer> = packets
        .iter()
        .map(|p| {
            let map = p.map_readable().expect("readable");
            gst::Buffer::from_mut_slice(map.to_vec())
        })
        .collect();

    let case = arg(&args, "--case");
    let phase = arg(&args, "--phase");
    let cases: Vec<(&str, &gst::Caps, &Vec<gst::Buffer>)> = [
        ("h264", "rtph264pay2", &h264_caps, &h264),
        // `identity` pushes the packets from an element's pad, as `udpsrc` would (the
        // tracer counts RTP on element pads, not on the harness's own).
        ("g722", "identity ! rtpg722depay2", &rtp_caps, &g722),
        ("g722chain", CHAIN, &rtp_caps, &g722),
        ("fecchain", FEC_CHAIN, &rtp_caps, &g722),
    ]
    .into_iter()
    .filter(|(name, ..)| case.as_deref().is_none_or(|c| c == *name))
    .map(|(_, e, c, b)| (e, c, b))
    .collect();
    if let Some(phase) = phase {
        // One phase only, for instruction counts under callgrind.
        // `off`: no tracer; `alone`: `rtp-metrics` without the null tracer.
        let null = (phase != "off" && phase != "alone").then(glib::Object::new::<NullTracer>);
        let tracer = (phase == "on" || phase == "alone").then(rtp_metrics);
        let timed = arg(&args, "--rounds").is_some();
        for (e, c, b) in &cases {
            if timed {
                // Times of one phase per process, for runs alternating the phases.
                let (ns, allocations) = measure(e, c, b, rounds);
                println!(
                    "{e}: phase {phase}: {ns:.0} ns/packet (least of {rounds} rounds), {allocations:.2} allocations/packet"
                );
                continue;
            }
            if is_chain(e) {
                chain_warm_up(e, c, b);
            } else {
                run_with(e, c, b, push_warm_up);
            }
            let (_, packets, allocated) = run_once(e, c, b);
            println!("{e}: phase {phase}: {packets} packets, {allocated} allocations");
        }
        drop((null, tracer));
        return;
    }
    let off: Vec<(f64, f64)> = cases
        .iter()
        .map(|(e, c, b)| measure(e, c, b, rounds))
        .collect();
    let null = glib::Object::new::<NullTracer>();
    let idle: Vec<(f64, f64)> = cases
        .iter()
        .map(|(e, c, b)| measure(e, c, b, rounds))
        .collect();
    let tracer = rtp_metrics();
    let on: Vec<(f64, f64)> = cases
        .iter()
        .map(|(e, c, b)| measure(e, c, b, rounds))
        .collect();
    println!(
        "element                 ns/packet: no tracer  null tracer  +rtp-metrics  rtp-metrics alone   allocations/packet: no tracer  null  +rtp-metrics"
    );
    for (i, (name, _, _)) in cases.iter().enumerate() {
        let ((off_ns, off_a), (idle_ns, idle_a), (on_ns, on_a)) = (off[i], idle[i], on[i]);
        println!(
            "{name:<24} {off_ns:>19.0} {idle_ns:>12.0} {on_ns:>13.0} {:>+18.0}   {off_a:>29.2} {idle_a:>5.2} {on_a:>13.2}",
            on_ns - idle_ns
        );
    }
    drop((null, tracer));
}
