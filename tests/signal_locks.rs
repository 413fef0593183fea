// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Issue 24 item 6 and the base classes' lock rule: a `request-extension` handler may use the
//! element (read `stats`, `seqnum`, `extensions`, other properties; emit `add-extension` or
//! `clear-extensions`) without deadlocking it, with every payloader and depayloader. Each
//! variant runs on its own thread with a time bound; the C element runs the same variant
//! for comparison (where C deadlocks, only ours is required to complete).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gst::prelude::*;

mod common;

use common::hdrext::{depay_cases, depay_packets, extmap_caps, make_extension, within};

const ID: u8 = 5;
const TWCC: &str = "rtphdrexttwcc";
const BOUND: Duration = Duration::from_secs(10);

/// What the handler does with the element before returning no extension.
#[derive(Debug, Clone, Copy)]
enum Variant {
    Read(&'static str),
    AddSameId,
    AddOtherId,
    Clear,
}

const PAY_VARIANTS: [Variant; 9] = [
    Variant::Read("stats"),
    Variant::Read("seqnum"),
    Variant::Read("timestamp"),
    Variant::Read("extensions"),
    Variant::Read("mtu"),
    Variant::Read("auto-header-extension"),
    Variant::AddSameId,
    Variant::AddOtherId,
    Variant::Clear,
];

const DEPAY_VARIANTS: [Variant; 8] = [
    Variant::Read("stats"),
    Variant::Read("extensions"),
    Variant::Read("max-reorder"),
    Variant::Read("source-info"),
    Variant::Read("auto-header-extension"),
    Variant::AddSameId,
    Variant::AddOtherId,
    Variant::Clear,
];

/// Connects a `request-extension` handler doing `variant`, which counts its calls in
/// `calls`; returns false when the element has no such property (C 1.22 has no
/// `extensions`), so the variant does not apply.
fn connect(element: &gst::Element, variant: Variant, calls: Arc<AtomicUsize>) -> bool {
    if let Variant::Read(name) = variant
        && element.find_property(name).is_none()
    {
        return false;
    }
    element.connect("request-extension", false, move |args| {
        calls.fetch_add(1, Ordering::SeqCst);
        let element = args[0].get::<gst::Element>().unwrap();
        match variant {
            Variant::Read(name) => {
                let _ = element.property_value(name);
            }
            Variant::AddSameId => {
                element.emit_by_name::<()>("add-extension", &[&make_extension(TWCC, ID.into())])
            }
            Variant::AddOtherId => element
                .emit_by_name::<()>("add-extension", &[&make_extension(TWCC, u32::from(ID) + 1)]),
            Variant::Clear => element.emit_by_name::<()>("clear-extensions", &[]),
        }
        Some(None::<gst_rtp::RTPHeaderExtension>.to_value())
    });
    true
}

/// A payloader whose downstream names extension 5 (so it emits `request-extension` while
/// negotiating), fed `input`; returns the number of packets.
fn run_pay(name: &'static str, variant: Variant, input: common::video::Stream) -> Option<usize> {
    let pay = gst::ElementFactory::make(name).build().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    if !connect(&pay, variant, calls.clone()) {
        return None;
    }
    let res = within(BOUND, move || {
        let mut h = gst_check::Harness::with_element(&pay, Some("sink"), Some("src"));
        h.set_sink_caps(extmap_caps(TWCC, ID.into()));
        h.set_src_caps(input.caps.clone());
        let _ = pay.property::<gst::Structure>("stats");
        for b in input.buffers {
            let _ = h.push(b);
        }
        let mut n = 0;
        while h.try_pull().is_some() {
            n += 1;
        }
        n
    });
    assert!(
        calls.load(Ordering::SeqCst) > 0,
        "{name}: request-extension was not emitted"
    );
    Some(res.unwrap_or(usize::MAX))
}

fn audio_input(caps: &str, size: usize) -> common::video::Stream {
    common::video::Stream {
        buffers: (0..5u64)
            .map(|i| {
                let mut b = gst::Buffer::from_mut_slice(vec![0x33; size]);
                let m = b.get_mut().unwrap();
                m.set_pts(gst::ClockTime::from_mseconds(20 * i));
                m.set_duration(gst::ClockTime::from_mseconds(20));
                b
            })
            .collect(),
        caps: caps.parse().unwrap(),
    }
}

fn video_input(encoder: &str) -> common::video::Stream {
    let got = common::run_collect(
        &format!(
            "videotestsrc num-buffers=3 ! video/x-raw,width=160,height=120 ! {encoder} \
             ! appsink name=sink sync=false"
        ),
        "sink",
        Duration::from_secs(60),
    );
    common::video::Stream {
        buffers: got.buffers,
        caps: got.caps.unwrap(),
    }
}

#[test]
fn request_extension_handlers_never_deadlock_a_payloader() {
    common::init();
    let inputs = [
        (
            "rtph264pay2",
            "rtph264pay",
            video_input("x264enc speed-preset=ultrafast ! video/x-h264,stream-format=byte-stream"),
        ),
        (
            "rtph265pay2",
            "rtph265pay",
            video_input("x265enc speed-preset=ultrafast ! video/x-h265,stream-format=byte-stream"),
        ),
        (
            "rtpg722pay2",
            "rtpg722pay",
            audio_input("audio/G722,rate=16000,channels=1", 160),
        ),
        (
            "rtpg729pay2",
            "rtpg729pay",
            audio_input("audio/G729,rate=8000,channels=1", 20),
        ),
    ];
    let mut c_hangs = Vec::new();
    for (ours, c, input) in inputs {
        for variant in PAY_VARIANTS {
            let o = run_pay(ours, variant, input.clone()).expect("our payloaders have them all");
            assert_ne!(o, usize::MAX, "{ours}: handler {variant:?} deadlocked");
            assert!(o > 0, "{ours}: handler {variant:?}: no packets");
            match run_pay(c, variant, input.clone()) {
                Some(usize::MAX) => c_hangs.push(format!("{c} {variant:?}")),
                Some(theirs) => assert_eq!(o, theirs, "{ours} vs {c} with {variant:?}"),
                None => {}
            }
        }
    }
    println!("C payloaders that hang: {c_hangs:?}");
}

/// A depayloader whose caps name extension 5, fed packets carrying it; returns the number of
/// outputs.
fn run_depay(
    name: &'static str,
    caps: &'static str,
    variant: Variant,
    packets: Vec<gst::Buffer>,
) -> Option<usize> {
    let depay = gst::ElementFactory::make(name).build().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    if !connect(&depay, variant, calls.clone()) {
        return None;
    }
    let uri = gst_rtp::prelude::RTPHeaderExtensionExt::uri(&make_extension(TWCC, 1)).unwrap();
    let res = within(BOUND, move || {
        let mut h = gst_check::Harness::with_element(&depay, Some("sink"), Some("src"));
        h.set_src_caps_str(&format!("{caps},extmap-{ID}=(string){uri}"));
        for p in packets {
            let _ = h.push(p);
        }
        let _ = depay.property::<gst::Structure>("stats");
        h.push_event(gst::event::Eos::new());
        let mut n = 0;
        while h.try_pull().is_some() {
            n += 1;
        }
        n
    });
    assert!(
        calls.load(Ordering::SeqCst) > 0,
        "{name}: request-extension was not emitted"
    );
    Some(res.unwrap_or(usize::MAX))
}

#[test]
fn request_extension_handlers_never_deadlock_a_depayloader() {
    common::init();
    let mut c_hangs = Vec::new();
    for case in depay_cases() {
        let packets = depay_packets(&case, ID, &[0, 1]);
        for variant in DEPAY_VARIANTS {
            let o = run_depay(case.ours, case.caps, variant, packets.clone())
                .expect("our depayloaders have them all");
            assert_ne!(
                o,
                usize::MAX,
                "{}: handler {variant:?} deadlocked",
                case.ours
            );
            assert!(o > 0, "{}: handler {variant:?}: no output", case.ours);
            match run_depay(case.c, case.caps, variant, packets.clone()) {
                Some(usize::MAX) => c_hangs.push(format!("{} {variant:?}", case.c)),
                Some(theirs) => {
                    assert_eq!(o, theirs, "{} vs {} with {variant:?}", case.ours, case.c)
                }
                None => {}
            }
        }
    }
    println!("C depayloaders that hang: {c_hangs:?}");
}
