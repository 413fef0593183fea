// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The light push path of examples/flexfec_cost.rs: the element between pads of our own, as
//! in a pipeline. A source pad per input pad of the element, linked to it, pushes in the
//! calling thread; every output pad of the element (the C encoder's `fec_%u` ones too, added
//! when it starts) is linked to a sink pad whose chain function counts the buffer (and keeps
//! it when recording) and drops it. No queue, no lock but the recorder's, no thread between:
//! the push returns when the element and the drop have run, so the baseline (the same pads
//! linked to each other, no element) is a few hundred ns and steady.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;

/// Buffers that left the element, with the name of the pad they left on.
pub type Recorded = Arc<Mutex<Vec<(String, gst::Buffer)>>>;

/// An element (or none: the baseline) with its pads linked to ours.
pub struct Rig {
    element: Option<gst::Element>,
    /// Our source pads: index 0 feeds `sink`, the others the request pads named in
    /// [`Rig::new`].
    srcs: Vec<gst::Pad>,
    /// Our sink pads, kept alive.
    sinks: Arc<Mutex<Vec<gst::Pad>>>,
    out: Arc<AtomicUsize>,
    recorded: Option<Recorded>,
}

/// A sink pad that counts what reaches it (and keeps it when `record` is given), then drops it.
fn dropping_sink(name: &str, out: &Arc<AtomicUsize>, record: Option<&Recorded>) -> gst::Pad {
    let (out, record, left_on) = (out.clone(), record.cloned(), name.to_string());
    let pad = gst::Pad::builder(gst::PadDirection::Sink)
        .name(format!("drop_{name}"))
        .chain_function(move |_, _, buffer| {
            out.fetch_add(1, Ordering::Relaxed);
            if let Some(r) = &record {
                r.lock().unwrap().push((left_on.clone(), buffer));
            }
            Ok(gst::FlowSuccess::Ok)
        })
        .event_function(|_, _, _| true)
        .build();
    pad.set_active(true).unwrap();
    pad
}

impl Rig {
    /// `launch`: one element (none: our pads linked to each other, the baseline); `fec_pads`:
    /// its request sink pads fed besides `sink` (C's decoder's `fec_0`, `fec_1`).
    pub fn new(launch: Option<&str>, fec_pads: &[String], caps: &gst::Caps, record: bool) -> Rig {
        let out = Arc::new(AtomicUsize::new(0));
        let recorded: Option<Recorded> = record.then(Recorded::default);
        let sinks: Arc<Mutex<Vec<gst::Pad>>> = Arc::default();
        let element = launch.map(|l| {
            gst::parse::launch(l)
                .unwrap()
                .downcast::<gst::Element>()
                .unwrap()
        });
        let input_names = std::iter::once("sink".to_string()).chain(fec_pads.iter().cloned());
        let mut srcs = Vec::new();
        for name in input_names {
            let src = gst::Pad::builder(gst::PadDirection::Src)
                .name(format!("push_{name}"))
                .build();
            src.set_active(true).unwrap();
            let target = match &element {
                Some(e) => e
                    .static_pad(&name)
                    .or_else(|| e.request_pad_simple(&name))
                    .unwrap_or_else(|| panic!("no pad {name}")),
                None => {
                    let sink = dropping_sink(&name, &out, recorded.as_ref());
                    sinks.lock().unwrap().push(sink.clone());
                    sink
                }
            };
            src.link(&target).unwrap();
            srcs.push(src);
        }
        if let Some(e) = &element {
            let link = {
                let (out, recorded, sinks) = (out.clone(), recorded.clone(), sinks.clone());
                move |pad: &gst::Pad| {
                    if pad.direction() != gst::PadDirection::Src || pad.is_linked() {
                        return;
                    }
                    let sink = dropping_sink(&pad.name(), &out, recorded.as_ref());
                    pad.link(&sink).unwrap();
                    sinks.lock().unwrap().push(sink);
                }
            };
            for pad in e.src_pads() {
                link(&pad);
            }
            e.connect_pad_added(move |_, pad| link(pad));
            e.set_state(gst::State::Playing).unwrap();
        }
        for src in &srcs {
            src.push_event(gst::event::StreamStart::new("flexfec-cost"));
            src.push_event(gst::event::Caps::new(caps));
            src.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
                gst::ClockTime,
            >::new()));
        }
        Rig {
            element,
            srcs,
            sinks,
            out,
            recorded,
        }
    }

    /// Pushes `buffer` into input pad `pad` (0: `sink`), in this thread.
    #[inline]
    pub fn push(&self, pad: usize, buffer: gst::Buffer) {
        let _ = self.srcs[pad].push(buffer);
    }

    /// Ends the stream (the element sends what it holds) and stops the element; returns the
    /// buffers that left and, when recording, them.
    pub fn finish(self) -> (usize, Vec<(String, gst::Buffer)>) {
        for src in &self.srcs {
            src.push_event(gst::event::Eos::new());
        }
        if let Some(e) = &self.element {
            e.set_state(gst::State::Null).unwrap();
        }
        drop(self.sinks);
        let recorded = self
            .recorded
            .map(|r| std::mem::take(&mut *r.lock().unwrap()))
            .unwrap_or_default();
        (self.out.load(Ordering::Relaxed), recorded)
    }
}
