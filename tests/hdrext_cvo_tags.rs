// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Issue 18, CVO ↔ `image-orientation`: our payloader gives the tag it sees to the CVO
//! extension, our depayloader turns what the extension reads back into the tag, and
//! `videoflip video-direction=auto` rotates with it; a change mid-stream (on a delta frame)
//! goes through too. Real x264enc / avdec_h264, every wait bounded.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;
use gst_rtp::prelude::*;

mod common;

/// What came out: the `image-orientation` tags after the depayloader, in order, the
/// (width, height) of the frames after videoflip, in order of change, and the RTP packets
/// carrying the CVO element.
#[derive(Debug, Default)]
struct Seen {
    tags: Vec<String>,
    sizes: Vec<(i32, i32)>,
    cvo_packets: usize,
}

/// Runs 40 frames of 320×240 through x264enc ! rtph264pay2 (with `rtphdrextcvo`, id 3) !
/// rtph264depay2 (extension created from the caps) ! avdec_h264 ! videoflip auto; the
/// stream starts with the tag `first` (taginject) and, when `change` is set, the tag
/// becomes `change` before the 20th encoded frame (key frames only every 1000).
fn run(first: &str, change: Option<&'static str>, cvo_on_pay: bool) -> Seen {
    common::init();
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers=40 ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! taginject tags=\"image-orientation={first}\" \
         ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=1000 name=enc \
         ! rtph264pay2 name=pay ! rtph264depay2 name=depay ! avdec_h264 \
         ! videoflip video-direction=auto ! appsink name=sink sync=false"
    ))
    .expect("x264enc, avdec_h264, videoflip, taginject: install gstreamer1.0-plugins-{ugly,good} and gstreamer1.0-libav")
    .downcast::<gst::Pipeline>()
    .unwrap();
    let pay = pipeline.by_name("pay").unwrap();
    if cvo_on_pay {
        let ext = gst::ElementFactory::make("rtphdrextcvo")
            .build()
            .unwrap()
            .downcast::<gst_rtp::RTPHeaderExtension>()
            .unwrap();
        ext.set_id(3);
        pay.emit_by_name::<()>("add-extension", &[&ext]);
    }
    let seen = Arc::new(Mutex::new(Seen::default()));

    // The tag change goes to the payloader's sink pad just before the 20th frame reaches it.
    if let Some(change) = change {
        let pay_sink = pay.static_pad("sink").unwrap();
        let enc_src = pipeline.by_name("enc").unwrap().static_pad("src").unwrap();
        let n = std::sync::atomic::AtomicU32::new(0);
        enc_src.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            if n.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 19 {
                let mut tags = gst::TagList::new();
                tags.make_mut()
                    .add::<gst::tags::ImageOrientation>(&change, gst::TagMergeMode::Replace);
                pay_sink.send_event(gst::event::Tag::new(tags));
            }
            gst::PadProbeReturn::Ok
        });
    }
    // The network: only the packets' bytes cross (no tag event, no meta), as over UDP.
    let s = seen.clone();
    let pay_src = pay.static_pad("src").unwrap();
    pay_src.add_probe(
        gst::PadProbeType::BUFFER
            | gst::PadProbeType::BUFFER_LIST
            | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |_, info| {
            if info
                .event()
                .is_some_and(|e| e.type_() == gst::EventType::Tag)
            {
                // Emptied rather than dropped (a dropped event trips an unref of NULL in 1.22).
                info.data = Some(gst::PadProbeData::Event(gst::event::Tag::new(
                    gst::TagList::new(),
                )));
                return gst::PadProbeReturn::Ok;
            }
            let mut seen = s.lock().unwrap();
            let mut wire = |buf: &gst::BufferRef| {
                if gst_rtp::RTPBuffer::from_buffer_readable(buf)
                    .is_ok_and(|rtp| rtp.extension_onebyte_header(3, 0).is_some())
                {
                    seen.cvo_packets += 1;
                }
                let mut copy = gst::Buffer::from_slice(buf.map_readable().unwrap().to_vec());
                copy.get_mut().unwrap().set_pts(buf.pts());
                copy
            };
            match &mut info.data {
                Some(gst::PadProbeData::Buffer(b)) => *b = wire(b),
                Some(gst::PadProbeData::BufferList(l)) => {
                    let mut out = gst::BufferList::new_sized(l.len());
                    for b in l.iter() {
                        out.get_mut().unwrap().add(wire(b));
                    }
                    *l = out;
                }
                _ => {}
            }
            gst::PadProbeReturn::Ok
        },
    );
    let s = seen.clone();
    let depay_src = pipeline
        .by_name("depay")
        .unwrap()
        .static_pad("src")
        .unwrap();
    depay_src.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        if let Some(ev) = info.event()
            && let gst::EventView::Tag(t) = ev.view()
            && let Some(o) = t.tag().get::<gst::tags::ImageOrientation>()
        {
            s.lock().unwrap().tags.push(o.get().to_owned());
        }
        gst::PadProbeReturn::Ok
    });
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let s = seen.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let st = sample
                    .caps()
                    .and_then(|c| c.structure(0).map(|s| s.to_owned()));
                if let Some(st) = st {
                    let size = (
                        st.get::<i32>("width").unwrap(),
                        st.get::<i32>("height").unwrap(),
                    );
                    let mut seen = s.lock().unwrap();
                    if seen.sizes.last() != Some(&size) {
                        seen.sizes.push(size);
                    }
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    pipeline.set_state(gst::State::Playing).unwrap();
    let msg = pipeline.bus().unwrap().timed_pop_filtered(
        gst::ClockTime::from_seconds(30),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    pipeline.set_state(gst::State::Null).unwrap();
    match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => {}
        other => panic!("pipeline did not finish: {other:?}"),
    }
    std::thread::sleep(Duration::from_millis(10));
    std::mem::take(&mut *seen.lock().unwrap())
}

/// The tag reaches the depayloader's output and videoflip turns 320×240 into 240×320; the
/// element rides the last packet of every frame (not upright: libwebrtc's rule).
#[test]
fn tag_through_cvo_rotates_with_videoflip() {
    let seen = run("rotate-90", None, true);
    assert_eq!(seen.tags, ["rotate-90"], "{seen:?}");
    assert_eq!(seen.sizes, [(240, 320)], "{seen:?}");
    assert_eq!(seen.cvo_packets, 40, "{seen:?}");
}

/// Without the CVO extension nothing carries the orientation over RTP: no tag after the
/// depayloader, the frames stay 320×240 (the test above fails for want of the extension).
#[test]
fn no_cvo_extension_no_rotation() {
    let seen = run("rotate-90", None, false);
    assert!(seen.tags.is_empty(), "{seen:?}");
    assert_eq!(seen.sizes, [(320, 240)], "{seen:?}");
}

/// A new tag mid-stream (on a delta frame) is written on that frame and announced once
/// downstream: videoflip turns back from 240×320 to 320×240 for rotate-0. 19 turned frames
/// and the change carry the element, the upright delta frames after it do not.
#[test]
fn orientation_change_mid_stream() {
    let seen = run("rotate-90", Some("rotate-0"), true);
    assert_eq!(seen.tags, ["rotate-90", "rotate-0"], "{seen:?}");
    assert_eq!(seen.sizes, [(240, 320), (320, 240)], "{seen:?}");
    assert_eq!(seen.cvo_packets, 20, "{seen:?}");
}

/// Upright from the start: the key frame alone carries the element (rotate-0), and the tag
/// downstream says so.
#[test]
fn upright_only_on_the_key_frame() {
    let seen = run("rotate-0", None, true);
    assert_eq!(seen.tags, ["rotate-0"], "{seen:?}");
    assert_eq!(seen.sizes, [(320, 240)], "{seen:?}");
    assert_eq!(seen.cvo_packets, 1, "{seen:?}");
}

/// A flip and a quarter turn: `flip-rotate-270` arrives as such (videoflip: 240×320).
#[test]
fn flip_and_rotation_arrive() {
    let seen = run("flip-rotate-270", None, true);
    assert_eq!(seen.tags, ["flip-rotate-270"], "{seen:?}");
    assert_eq!(seen.sizes, [(240, 320)], "{seen:?}");
}
