// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Issue 24 item 4: the H.264/H.265 payloaders answer the caps query of their input with
//! downstream's profile and level, as the C payloaders do, so that a real encoder upstream
//! (x264enc, x265enc) negotiates what the receiver decodes. Every check runs our element and
//! the C element side by side.

use std::time::{Duration, Instant};

use gst::prelude::*;

mod common;

/// The caps a payloader's sink pad answers when downstream's RTP caps are `rtp_caps`.
fn sink_caps_answer(pay: &str, rtp_caps: &str) -> gst::Caps {
    common::init();
    let launch = format!("{pay} name=pay ! capsfilter caps=\"{rtp_caps}\" ! fakesink");
    common::hdrext::within(Duration::from_secs(10), move || {
        let pipeline = gst::parse::launch(&launch)
            .unwrap_or_else(|e| panic!("{launch}: {e}"))
            .downcast::<gst::Pipeline>()
            .unwrap();
        let pay = pipeline.by_name("pay").unwrap();
        pay.static_pad("sink").unwrap().query_caps(None)
    })
    .unwrap_or_else(|e| panic!("{pay} caps query with {rtp_caps}: {e}"))
}

/// The profile/tier/level constraints of a sink caps answer, structure by structure, in
/// order (our templates also accept `avc3`/`hev1`, see docs/migration.md, so the
/// stream-format and alignment fields are left out of the comparison).
fn constraints(caps: &gst::Caps) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in caps.iter() {
        let mut s = s.to_owned();
        s.remove_fields(["stream-format", "alignment"]);
        let s = s.to_string();
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn assert_same_answer(ours: &str, c: &str, rtp_caps: &str) {
    let (o, theirs) = (
        sink_caps_answer(ours, rtp_caps),
        sink_caps_answer(c, rtp_caps),
    );
    assert_eq!(
        constraints(&o),
        constraints(&theirs),
        "downstream {rtp_caps}:\n  {ours}: {o}\n  {c}: {theirs}"
    );
}

#[test]
fn h264_sink_caps_match_c_for_every_profile_level_id() {
    let ids = [
        "42e01f", "42c01e", "42001f", "42f00b", "42e00b", "42e00a", "4d001f", "4d0028", "58001e",
        "640028", "64001f", "640c34", "64081f", "6e001f", "6e101f", "7a001f", "7a101f", "f4001f",
        "f4101f", "2c001f", "76001f", "80001f", "53001f", "53041f", "56001f", "56101f", "56041f",
        "4d0034", "640033", "ff001f", "42e0ff", "zzzzzz", "42e01", "42e01f00",
    ];
    for id in ids {
        assert_same_answer(
            "rtph264pay2",
            "rtph264pay",
            &format!("application/x-rtp,profile-level-id=(string){id}"),
        );
    }
    for rtp_caps in [
        "application/x-rtp",
        "application/x-rtp,packetization-mode=(string)0",
        "application/x-rtp,profile-level-id=(string)42e01f;application/x-rtp,profile-level-id=(string)640028",
        "application/x-rtp,profile-level-id=(string)4d001f;application/x-rtp",
    ] {
        assert_same_answer("rtph264pay2", "rtph264pay", rtp_caps);
    }
}

#[test]
fn h265_sink_caps_match_c_for_profile_tier_level() {
    let mut cases = Vec::new();
    for profile in ["0", "1", "2", "3", "4", "5", "9", "31", "32", "x", "01"] {
        cases.push(format!("profile-id=(string){profile}"));
    }
    for tier in ["0", "1", "2"] {
        cases.push(format!("tier-flag=(string){tier}"));
    }
    for level in [
        "30", "60", "63", "90", "93", "120", "123", "150", "153", "156", "180", "186", "91", "255",
        "0",
    ] {
        cases.push(format!("level-id=(string){level}"));
    }
    cases.push("profile-id=(string)1,tier-flag=(string)0,level-id=(string)93".into());
    cases.push("profile-id=(string)2,tier-flag=(string)1,level-id=(string)153".into());
    for fields in cases {
        assert_same_answer(
            "rtph265pay2",
            "rtph265pay",
            &format!("application/x-rtp,{fields}"),
        );
    }
    assert_same_answer("rtph265pay2", "rtph265pay", "application/x-rtp");
}

/// Runs `launch` (an encoder named `enc`) to EOS within a time bound and returns the caps the
/// encoder negotiated on its source pad.
fn encoder_caps(launch: &str) -> gst::Caps {
    common::init();
    let pipeline = gst::parse::launch(launch)
        .unwrap_or_else(|e| panic!("cannot parse {launch}: {e} (is the encoder installed?)"))
        .downcast::<gst::Pipeline>()
        .unwrap();
    let enc = pipeline.by_name("enc").expect("encoder named enc");
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut caps = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "{launch}: no EOS within 60 s");
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(left.as_millis() as u64))
        else {
            continue;
        };
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => {
                pipeline.set_state(gst::State::Null).unwrap();
                panic!("{launch}: {} ({:?})", e.error(), e.debug());
            }
            _ => {}
        }
        if caps.is_none() {
            caps = enc.static_pad("src").unwrap().current_caps();
        }
    }
    let caps = caps.or_else(|| enc.static_pad("src").unwrap().current_caps());
    pipeline.set_state(gst::State::Null).unwrap();
    caps.expect("the encoder negotiated caps")
}

fn profile_of(caps: &gst::Caps) -> String {
    caps.structure(0)
        .and_then(|s| s.get::<String>("profile").ok())
        .unwrap_or_else(|| panic!("no profile in {caps}"))
}

/// The pipeline of the issue: x264enc negotiates the profile downstream asks for, with our
/// payloader as with C's.
#[test]
fn x264enc_hears_downstream_profile_like_with_c_payloader() {
    for (id, expected) in [
        // The pipeline; without the caps query x264enc picks high-4:4:4.
        ("42e01f", Some("constrained-baseline")),
        ("4d001f", None),
        ("640028", None),
    ] {
        let launch = |pay: &str| {
            format!(
                "videotestsrc num-buffers=3 ! video/x-raw,width=320,height=240 ! \
                 x264enc name=enc speed-preset=ultrafast ! {pay} ! \
                 application/x-rtp,profile-level-id=(string){id} ! fakesink"
            )
        };
        let c = profile_of(&encoder_caps(&launch("rtph264pay")));
        let ours = profile_of(&encoder_caps(&launch("rtph264pay2")));
        assert_eq!(ours, c, "profile-level-id={id}: rtph264pay2 vs rtph264pay");
        if let Some(expected) = expected {
            assert_eq!(c, expected, "C's result for {id}");
        }
    }
}

/// The same with x265enc: `profile-id=1` (Main) makes it produce Main rather than what the
/// raw input would otherwise negotiate.
#[test]
fn x265enc_hears_downstream_profile_like_with_c_payloader() {
    for (fields, expected) in [
        ("profile-id=(string)1", "main"),
        (
            "profile-id=(string)2,tier-flag=(string)0,level-id=(string)120",
            "main-10",
        ),
    ] {
        let launch = |pay: &str| {
            format!(
                "videotestsrc num-buffers=2 ! video/x-raw,width=320,height=240 ! \
                 x265enc name=enc speed-preset=ultrafast ! {pay} ! \
                 application/x-rtp,{fields} ! fakesink"
            )
        };
        let c = encoder_caps(&launch("rtph265pay"));
        let ours = encoder_caps(&launch("rtph265pay2"));
        assert_eq!(profile_of(&ours), profile_of(&c), "{fields}: {ours} vs {c}");
        assert_eq!(profile_of(&c), expected, "C's result for {fields}");
    }
}
