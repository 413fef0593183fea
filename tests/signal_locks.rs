// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Issue 24 item 6 and the base classes' lock rule: a `request-extension` handler may use the
//! element (read `stats`, `seqnum`, `extensions`, other properties; emit `add-extension` or
//! `clear-extensions`) without deadlocking it, with every payloader and depayloader. Each
//! variant runs on its own thread with a time bound; the C element runs the same variant
//! for comparison (where C deadlocks, only ours is required to complete).
//!
//! Issue 16 item 2: a handler on every signal of every element of the plugin (found by
//! walking the signals of each element type and its ancestors) reads every readable property
//! and sets a writable one from inside the handler, and the stream still reaches EOS within
//! a time bound (a deadlock fails by timeout, it does not hang the test).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gst::glib;
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

/// Every signal of `type_` and of its ancestors: (name, return type).
fn all_signals(type_: glib::Type) -> Vec<(String, glib::Type)> {
    use glib::translate::{FromGlib, IntoGlib};
    let mut out = Vec::new();
    let mut t = Some(type_);
    while let Some(current) = t {
        let mut n = 0u32;
        // SAFETY: g_signal_list_ids takes a valid, initialised GType and returns a newly
        // allocated array of `n` signal ids (NULL when there are none), which we copy and
        // then free with g_free (which accepts NULL).
        let ids = unsafe {
            let ptr = glib::gobject_ffi::g_signal_list_ids(current.into_glib(), &mut n);
            let ids = if ptr.is_null() {
                Vec::new()
            } else {
                std::slice::from_raw_parts(ptr, n as usize).to_vec()
            };
            glib::ffi::g_free(ptr as *mut _);
            ids
        };
        for id in ids {
            // SAFETY: `id` was just listed by GObject for a live type, so it names a signal.
            let query = unsafe { glib::subclass::SignalId::from_glib(id) }.query();
            out.push((query.signal_name().to_string(), query.return_type().type_()));
        }
        t = current.parent();
    }
    out
}

/// The writable property every handler sets (to its current value, so the output is not
/// changed, but the setter runs and takes the element's locks).
fn writable_property(element: &gst::Element) -> &'static str {
    ["mtu", "max-reorder"]
        .into_iter()
        .find(|name| element.find_property(name).is_some())
        .unwrap_or_else(|| panic!("{} has neither mtu nor max-reorder", element.name()))
}

/// Connects, to every signal of `element`, a handler that counts its calls per signal in
/// `fired`, reads every readable property of the element and sets a writable one; the
/// `request-extension` handler also emits `add-extension` and `clear-extensions`, so that
/// their handlers run inside it. `notify` handlers only read (setting would notify again).
fn connect_everywhere(
    element: &gst::Element,
    fired: &Arc<std::sync::Mutex<std::collections::BTreeMap<String, usize>>>,
) -> Vec<String> {
    let signals = all_signals(element.type_());
    for (name, return_type) in &signals {
        let fired = fired.clone();
        let signal = name.clone();
        let return_type = *return_type;
        element.connect(name, false, move |args| {
            *fired.lock().unwrap().entry(signal.clone()).or_default() += 1;
            let element = args[0].get::<gst::Element>().unwrap();
            for pspec in element.list_properties() {
                if pspec.flags().contains(glib::ParamFlags::READABLE) {
                    let _ = element.property_value(pspec.name());
                }
            }
            if !signal.ends_with("notify") {
                let name = writable_property(&element);
                element.set_property_from_value(name, &element.property_value(name));
            }
            if signal == "request-extension" {
                let other = make_extension(TWCC, u32::from(ID) + 1);
                element.emit_by_name::<()>("add-extension", &[&other]);
                element.emit_by_name::<()>("clear-extensions", &[]);
            }
            (return_type != glib::Type::UNIT).then(|| glib::Value::from_type(return_type))
        });
    }
    signals.into_iter().map(|(name, _)| name).collect()
}

/// Runs `element` in a harness fed by `feed` (which sets caps naming extension 5 and pushes
/// buffers), then EOS; returns whether EOS came out (within [`BOUND`]) and the packets seen.
fn runs_to_eos(
    element: gst::Element,
    feed: impl FnOnce(&mut gst_check::Harness) + Send + 'static,
) -> Result<(bool, usize), String> {
    within(BOUND, move || {
        let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
        feed(&mut h);
        h.push_event(gst::event::Eos::new());
        let n = std::iter::from_fn(|| h.try_pull()).count();
        let eos =
            std::iter::from_fn(|| h.try_pull_event()).any(|e| e.type_() == gst::EventType::Eos);
        (eos, n)
    })
}

#[test]
fn handlers_on_every_signal_of_every_element_never_deadlock() {
    common::init();
    let uri = gst_rtp::prelude::RTPHeaderExtensionExt::uri(&make_extension(TWCC, 1)).unwrap();
    let mut pay_inputs = std::collections::HashMap::from([
        (
            "rtph264pay2",
            video_input("x264enc speed-preset=ultrafast ! video/x-h264,stream-format=byte-stream"),
        ),
        (
            "rtph265pay2",
            video_input("x265enc speed-preset=ultrafast ! video/x-h265,stream-format=byte-stream"),
        ),
        (
            "rtpg722pay2",
            audio_input("audio/G722,rate=16000,channels=1", 160),
        ),
        (
            "rtpg729pay2",
            audio_input("audio/G729,rate=8000,channels=1", 20),
        ),
    ]);
    let mut depay_inputs: std::collections::HashMap<&str, _> = depay_cases()
        .into_iter()
        .map(|case| {
            let packets = depay_packets(&case, ID, &[0, 1]);
            (case.ours, (case.caps, packets))
        })
        .collect();
    // The RTP-to-RTP elements (FEC, RED) get G.722 RTP packets: they pass them on.
    let g722 = depay_cases()
        .into_iter()
        .find(|case| case.ours == "rtpg722depay2")
        .expect("a G.722 case");
    let filter_input = (g722.caps, depay_packets(&g722, ID, &[0, 1]));
    let factories = gst::Registry::get().features_by_plugin("rtp2");
    let mut elements = Vec::new();
    for feature in factories {
        let Ok(factory) = feature.downcast::<gst::ElementFactory>() else {
            continue;
        };
        // Header-extension elements have no pads and no signals of their own: their code
        // runs inside the payloaders and depayloaders tested here (and in tests/hdrext_*).
        if factory
            .metadata("klass")
            .is_some_and(|k| k.contains("Network/Extension/RTPHeader"))
        {
            continue;
        }
        let name = factory.name().to_string();
        let is_filter = !name.contains("pay");
        let element = factory.create().build().unwrap();
        let fired = Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
        let signals = connect_everywhere(&element, &fired);
        let result = if let Some(input) = pay_inputs.remove(name.as_str()) {
            runs_to_eos(element, move |h| {
                h.set_sink_caps(extmap_caps(TWCC, ID.into()));
                h.set_src_caps(input.caps.clone());
                for b in input.buffers {
                    let _ = h.push(b);
                }
            })
        } else if let Some((caps, packets)) = depay_inputs.remove(name.as_str()) {
            let caps = format!("{caps},extmap-{ID}=(string){uri}");
            runs_to_eos(element, move |h| {
                h.set_src_caps_str(&caps);
                for p in packets {
                    let _ = h.push(p);
                }
            })
        } else if is_filter {
            let (caps, packets) = filter_input.clone();
            runs_to_eos(element, move |h| {
                h.set_src_caps_str(&format!("{caps},ssrc=(uint)7"));
                for p in packets {
                    let _ = h.push(p);
                }
            })
        } else {
            panic!("{name}: no input for this element: add one to this test");
        };
        let (eos, packets) = result.unwrap_or_else(|e| panic!("{name}: deadlocked: {e}"));
        assert!(eos, "{name}: no EOS came out");
        assert!(packets > 0, "{name}: no output");
        let fired = fired.lock().unwrap();
        // (The filters have no extension signals, and no property the handlers set.)
        let required: &[&str] = if is_filter {
            &[]
        } else {
            &[
                "request-extension",
                "add-extension",
                "clear-extensions",
                "notify",
            ]
        };
        for signal in required {
            assert!(
                signals.iter().any(|s| s == *signal),
                "{name}: has no {signal} signal: {signals:?}"
            );
            assert!(
                fired.get(*signal).is_some_and(|n| *n > 0),
                "{name}: {signal} never fired: {fired:?}"
            );
        }
        elements.push(format!(
            "{name}: {} signals, fired {fired:?}",
            signals.len()
        ));
    }
    assert_eq!(
        elements.len(),
        14,
        "every element of the plugin (8 payloaders and depayloaders, 6 FEC/RED/FlexFEC): {elements:?}"
    );
    println!("{elements:#?}");
}
