// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Issue 18 test helpers: our header extension elements through C and our H.264 payloader
//! and depayloader, with the packets read back by the C `GstRTPBuffer` accessors.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;
use gst_rtp::prelude::*;

use crate::common::hdrext::within;

pub const BOUND: Duration = Duration::from_secs(60);

/// (factory, URI) of every element of issue 18.
pub const OURS: [(&str, &str); 8] = [
    ("rtphdrextcvo", "urn:3gpp:video-orientation"),
    (
        "rtphdrextabssendtime",
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    ),
    (
        "rtphdrextplayoutdelay",
        "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
    ),
    ("rtphdrexttoffset", "urn:ietf:params:rtp-hdrext:toffset"),
    (
        "rtphdrextabscapturetime",
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time",
    ),
    (
        "rtphdrextvideocontenttype",
        "http://www.webrtc.org/experiments/rtp-hdrext/video-content-type",
    ),
    (
        "rtphdrextvideotiming",
        "http://www.webrtc.org/experiments/rtp-hdrext/video-timing",
    ),
    (
        "rtphdrextcsrcaudiolevel",
        "urn:ietf:params:rtp-hdrext:csrc-audio-level",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// `extmap-N` in caps, the element made on `request-extension`.
    FromCaps,
    /// `add-extension` before the stream starts.
    Added,
}

/// What went through: the RTP packets and the depayloaded buffers.
pub struct Run {
    /// RTP packets out of the payloader.
    pub packets: Vec<gst::Buffer>,
    /// Buffers out of the depayloader.
    pub outputs: Vec<gst::Buffer>,
}

pub fn make(factory: &str, id: u8, configure: fn(&gst::Element)) -> gst_rtp::RTPHeaderExtension {
    let ext = gst::ElementFactory::make(factory)
        .build()
        .unwrap_or_else(|_| panic!("{factory} is not registered"))
        .downcast::<gst_rtp::RTPHeaderExtension>()
        .unwrap();
    ext.set_id(id.into());
    configure(ext.upcast_ref());
    ext
}

/// 10 frames of x264enc (key frames every 5; G.722 payloaders: 10 × 20 ms of avenc_g722)
/// through `pay` with extension `factory` id `id`,
/// then through `depay`. `on_input` may add metas to each payloader input (index given).
#[allow(clippy::too_many_arguments)]
pub fn run(
    pay: &'static str,
    depay: &'static str,
    factory: &'static str,
    uri: &'static str,
    id: u8,
    setup: Setup,
    configure: fn(&gst::Element),
    on_input: fn(usize, &mut gst::BufferRef),
) -> Run {
    run_configured(
        pay,
        depay,
        factory,
        uri,
        id,
        setup,
        (configure, |_| {}),
        on_input,
    )
}

/// How the payloader's and the depayloader's extensions are configured.
pub type Configure = (fn(&gst::Element), fn(&gst::Element));

/// [`run`] with `configure.1` applied to the depayloader's extension too.
#[allow(clippy::too_many_arguments)]
pub fn run_configured(
    pay: &'static str,
    depay: &'static str,
    factory: &'static str,
    uri: &'static str,
    id: u8,
    setup: Setup,
    (configure, configure_depay): Configure,
    on_input: fn(usize, &mut gst::BufferRef),
) -> Run {
    within(BOUND, move || {
        crate::common::init();
        let caps_filter = match setup {
            Setup::FromCaps => format!("! application/x-rtp,extmap-{id}=(string){uri} "),
            Setup::Added => String::new(),
        };
        // G.722 payloaders get 10 × 20 ms of audio, the others 10 H.264 frames.
        let source = if pay.contains("g722") {
            "audiotestsrc num-buffers=10 samplesperbuffer=320 ! audio/x-raw,rate=16000,channels=1 \
             ! avenc_g722"
        } else {
            "videotestsrc num-buffers=10 ! video/x-raw,width=160,height=120 \
             ! x264enc key-int-max=5 tune=zerolatency"
        };
        let pipeline = gst::parse::launch(&format!(
            "{source} ! {pay} name=pay mtu=400 source-info=true {caps_filter}\
             ! appsink name=sink sync=false"
        ))
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let payloader = pipeline.by_name("pay").unwrap();
        match setup {
            Setup::Added => {
                payloader.emit_by_name::<()>("add-extension", &[&make(factory, id, configure)])
            }
            Setup::FromCaps => {
                payloader.connect("request-extension", false, move |args| {
                    let ext_id = args[1].get::<u32>().unwrap();
                    let ext = make(factory, ext_id as u8, configure);
                    Some(ext.to_value())
                });
            }
        }
        let n = AtomicUsize::new(0);
        payloader.static_pad("sink").unwrap().add_probe(
            gst::PadProbeType::BUFFER,
            move |_, info| {
                if let Some(buf) = info.buffer_mut() {
                    on_input(n.fetch_add(1, Ordering::Relaxed), buf.make_mut());
                }
                gst::PadProbeReturn::Ok
            },
        );
        let got = Arc::new(Mutex::new((Vec::new(), None)));
        let sink = pipeline
            .by_name("sink")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        let got2 = got.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |s| {
                    let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let mut g = got2.lock().unwrap();
                    g.0.push(sample.buffer_owned().unwrap());
                    g.1 = sample.caps_owned();
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        let warnings = crate::common::run_to_eos(&pipeline, BOUND);
        assert!(warnings.is_empty(), "{warnings:?}");
        let (packets, caps) = std::mem::take(&mut *got.lock().unwrap());
        let caps: gst::Caps = caps.expect("payloader caps");
        let s = caps.structure(0).unwrap();
        assert_eq!(
            s.get::<&str>(format!("extmap-{id}").as_str()).ok(),
            Some(uri),
            "{pay} announces the extension in {caps}"
        );

        let depayloader = gst::ElementFactory::make(depay).build().unwrap();
        depayloader.connect("request-extension", false, move |args| {
            let ext_id = args[1].get::<u32>().unwrap();
            Some(make(factory, ext_id as u8, configure_depay).to_value())
        });
        let mut h = gst_check::Harness::with_element(&depayloader, Some("sink"), Some("src"));
        h.set_src_caps(caps);
        for p in &packets {
            // Only the bytes go on: no meta of the sender reaches the depayloader.
            let mut wire = gst::Buffer::from_mut_slice(p.map_readable().unwrap().to_vec());
            wire.get_mut().unwrap().set_pts(p.pts());
            h.push(wire).unwrap();
        }
        h.push_event(gst::event::Eos::new());
        let mut outputs = Vec::new();
        while let Some(b) = h.try_pull() {
            outputs.push(b);
        }
        Run { packets, outputs }
    })
    .unwrap_or_else(|e| panic!("{pay} -> {depay} with {factory}: {e}"))
}

/// The element `id` of a packet, read with the C `GstRTPBuffer` accessors.
pub fn element(packet: &gst::Buffer, id: u8) -> Option<Vec<u8>> {
    let rtp = gst_rtp::RTPBuffer::from_buffer_readable(packet).unwrap();
    if id <= 14 {
        rtp.extension_onebyte_header(id, 0).map(<[u8]>::to_vec)
    } else {
        rtp.extension_twobytes_header(id, 0)
            .map(|(_, d)| d.to_vec())
    }
}

pub fn meta_field<T: for<'a> glib::value::FromValue<'a> + 'static>(
    buf: &gst::Buffer,
    meta: &str,
    field: &str,
) -> Option<T> {
    let m = gst::meta::CustomMeta::from_buffer(buf, meta).ok()?;
    m.structure().get::<T>(field).ok()
}

pub use gst::glib;

/// The frame (0, 1, …) of each packet, from RTP timestamp changes.
pub fn frame_index(packets: &[gst::Buffer]) -> Vec<usize> {
    let mut last = None;
    let mut frame = 0;
    packets
        .iter()
        .map(|p| {
            let ts = gst_rtp::RTPBuffer::from_buffer_readable(p)
                .unwrap()
                .timestamp();
            if last.is_some_and(|l| l != ts) {
                frame += 1;
            }
            last = Some(ts);
            frame
        })
        .collect()
}

pub const PAIRS: [(&str, &str); 4] = [
    ("rtph264pay", "rtph264depay"),
    ("rtph264pay2", "rtph264depay2"),
    ("rtph264pay", "rtph264depay2"),
    ("rtph264pay2", "rtph264depay"),
];
