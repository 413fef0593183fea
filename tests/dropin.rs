// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Drop-in compatibility with the C elements of gst-plugins-good: a pipeline that swaps
//! `rtpg722pay` for `rtpg722pay2` must keep working, so every property of the C element exists
//! on ours with the same type, and the pad templates accept the same caps.
//! Also: our plugin and the crates.io `gst-plugin-rtp` (rsrtp) plugin load and run together.

use gst::prelude::*;

mod common;

/// Where one of our properties deliberately differs from the C element's: element,
/// property, aspect ("default" of the property, "value" of a fresh element, "range",
/// "flags") and why. Each is explained in
/// docs/migration.md.
const DIFFERENCES: &[(&str, &str, &str, &str)] = &[
    (
        "rtpg722pay2",
        "buffer-list",
        "default",
        "true: one buffer list per input is measurably faster downstream (docs/migration.md)",
    ),
    ("rtpg722pay2", "buffer-list", "value", "the default above"),
];

const PAIRS: &[(&str, &str)] = &[
    ("rtpg722pay", "rtpg722pay2"),
    ("rtpg722depay", "rtpg722depay2"),
    ("rtpg729pay", "rtpg729pay2"),
    ("rtpg729depay", "rtpg729depay2"),
    ("rtph264pay", "rtph264pay2"),
    ("rtph264depay", "rtph264depay2"),
    ("rtph265pay", "rtph265pay2"),
    ("rtph265depay", "rtph265depay2"),
    ("rtpulpfecenc", "rtpulpfecenc2"),
    ("rtpulpfecdec", "rtpulpfecdec2"),
    ("rtpredenc", "rtpredenc2"),
    ("rtpreddec", "rtpreddec2"),
];

/// Output formats our depayloaders add to the C element's (chosen only on request).
const SRC_ADDITIONS: &[(&str, &str)] = &[(
    "rtph265depay2",
    "video/x-h265,stream-format=hev1,alignment=au",
)];

/// The nicks of an enum type, to compare enum properties whose GTypes must differ.
fn enum_nicks(ty: glib::Type) -> Vec<String> {
    glib::EnumClass::with_type(ty)
        .map(|c| c.values().iter().map(|v| v.nick().to_string()).collect())
        .unwrap_or_default()
}

/// A property's default as text comparable across elements.
fn default_text(pspec: &glib::ParamSpec) -> String {
    value_as_text(pspec.default_value())
}

/// A value as text comparable across elements: an enum by its nick (our enum GTypes differ
/// from C's), anything else serialized.
fn value_as_text(value: &glib::Value) -> String {
    if let Some((_, v)) = glib::EnumValue::from_value(value) {
        return v.nick().to_string();
    }
    // An unset structure (the `stats` defaults): GStreamer would be asked to serialize a
    // null structure (a CRITICAL per property).
    if value.type_() == gst::Structure::static_type()
        && value
            .get::<Option<gst::Structure>>()
            .ok()
            .flatten()
            .is_none()
    {
        return "(null)".to_string();
    }
    value
        .serialize()
        .map_or_else(|_| "(none)".to_string(), |s| s.to_string())
}

/// The allowed values of a numeric property, as text.
fn range_text(pspec: &glib::ParamSpec) -> Option<String> {
    if let Some(p) = pspec.downcast_ref::<glib::ParamSpecInt>() {
        return Some(format!("{}..{}", p.minimum(), p.maximum()));
    }
    if let Some(p) = pspec.downcast_ref::<glib::ParamSpecUInt>() {
        return Some(format!("{}..{}", p.minimum(), p.maximum()));
    }
    if let Some(p) = pspec.downcast_ref::<glib::ParamSpecInt64>() {
        return Some(format!("{}..{}", p.minimum(), p.maximum()));
    }
    if let Some(p) = pspec.downcast_ref::<glib::ParamSpecUInt64>() {
        return Some(format!("{}..{}", p.minimum(), p.maximum()));
    }
    pspec
        .downcast_ref::<glib::ParamSpecDouble>()
        .map(|p| format!("{}..{}", p.minimum(), p.maximum()))
}

/// Whether a property can be read, written, or only at construction.
fn access_text(pspec: &glib::ParamSpec) -> String {
    let f = pspec.flags();
    format!(
        "readable={} writable={} construct-only={}",
        f.contains(glib::ParamFlags::READABLE),
        f.contains(glib::ParamFlags::WRITABLE),
        f.contains(glib::ParamFlags::CONSTRUCT_ONLY)
    )
}

/// Walks every property of each C element: ours has it, with the same type (enums: their
/// own GType with the same nicks), default, range and access, unless [`DIFFERENCES`] names
/// the difference.
#[test]
fn every_c_property_exists_with_the_same_type_default_and_range() {
    common::init();
    let mut used = Vec::new();
    let mut problems = Vec::new();
    for &(c_name, ours_name) in PAIRS {
        let c = gst::ElementFactory::make(c_name).build().unwrap();
        let ours = gst::ElementFactory::make(ours_name).build().unwrap();
        for c_spec in c.list_properties().iter() {
            let name = c_spec.name();
            if name == "name" || name == "parent" {
                continue;
            }
            let Some(ours_spec) = ours.find_property(name) else {
                problems.push(format!("{ours_name} lacks property {name} of {c_name}"));
                continue;
            };
            let (c_ty, ours_ty) = (c_spec.value_type(), ours_spec.value_type());
            if c_ty.is_a(glib::Type::ENUM) {
                assert!(
                    ours_ty.is_a(glib::Type::ENUM),
                    "{ours_name}.{name}: not an enum"
                );
                assert_ne!(ours_ty, c_ty, "{ours_name}.{name}: enum GType of C");
                assert_eq!(enum_nicks(ours_ty), enum_nicks(c_ty), "{ours_name}.{name}");
            } else if ours_ty != c_ty {
                problems.push(format!("{ours_name}.{name}: type {ours_ty} (C: {c_ty})"));
                continue;
            }
            // What a fresh element holds (gst-inspect's "Default"), for readable values
            // (not the statistics structure).
            let value_text = |e: &gst::Element, spec: &glib::ParamSpec| {
                let readable = spec.flags().contains(glib::ParamFlags::READABLE);
                (readable && !spec.value_type().is_a(glib::Type::BOXED))
                    .then(|| value_as_text(&e.property_value(name)))
            };
            for (aspect, c_text, ours_text) in [
                (
                    "default",
                    Some(default_text(c_spec)),
                    Some(default_text(&ours_spec)),
                ),
                (
                    "value",
                    value_text(&c, c_spec),
                    value_text(&ours, &ours_spec),
                ),
                ("range", range_text(c_spec), range_text(&ours_spec)),
                (
                    "flags",
                    Some(access_text(c_spec)),
                    Some(access_text(&ours_spec)),
                ),
            ] {
                if c_text == ours_text {
                    continue;
                }
                let allowed = DIFFERENCES
                    .iter()
                    .any(|(e, p, a, _)| *e == ours_name && *p == name && *a == aspect);
                if allowed {
                    used.push((ours_name, name.to_string(), aspect));
                } else {
                    problems.push(format!(
                        "{ours_name}.{name}: {aspect} {ours_text:?} (C {c_name}: {c_text:?})"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // Every allowed difference is one that exists (the list stays short and true).
    for (element, property, aspect, _) in DIFFERENCES {
        assert!(
            used.iter()
                .any(|(e, p, a)| e == element && p == property && a == aspect),
            "{element}.{property} {aspect} no longer differs: remove it from DIFFERENCES"
        );
    }
}

#[test]
fn pad_templates_are_compatible_with_the_c_elements() {
    common::init();
    for &(c_name, ours_name) in PAIRS {
        let c = gst::ElementFactory::find(c_name).unwrap().load().unwrap();
        let ours = gst::ElementFactory::find(ours_name)
            .unwrap()
            .load()
            .unwrap();
        for pad in ["sink", "src"] {
            let c_caps = c
                .static_pad_templates()
                .into_iter()
                .find(|t| t.name_template() == pad)
                .unwrap()
                .caps();
            let ours_caps = ours
                .static_pad_templates()
                .into_iter()
                .find(|t| t.name_template() == pad)
                .unwrap()
                .caps();
            if pad == "sink" {
                // We accept at least what the C element accepts.
                assert!(
                    c_caps.is_subset(&ours_caps),
                    "{ours_name} sink template {ours_caps} does not accept all of {c_name}'s {c_caps}"
                );
            } else {
                // We produce nothing that a peer of the C element could not take, except
                // output formats the C element lacks, which negotiation only picks when
                // downstream asks for them.
                let extra = ours_caps.subtract(&c_caps);
                let allowed = SRC_ADDITIONS
                    .iter()
                    .filter(|(name, _)| *name == ours_name)
                    .fold(gst::Caps::new_empty(), |mut acc, (_, caps)| {
                        acc.merge(caps.parse().unwrap());
                        acc
                    });
                assert!(
                    extra.is_subset(&allowed),
                    "{ours_name} src template {ours_caps} is not within {c_name}'s {c_caps}"
                );
            }
        }
    }
}

#[test]
fn our_type_names_do_not_collide_with_rsrtp() {
    common::init_with_rsrtp();
    for name in ["GstRtp2BasePay", "GstRtp2BaseDepay", "GstRtp2BaseAudioPay"] {
        assert!(
            glib::Type::from_name(name).is_some(),
            "{name} not registered"
        );
    }
    // rsrtp's own base classes are registered in the same process.
    for name in ["GstRtpBasePay2", "GstRtpBaseDepay2"] {
        assert!(
            glib::Type::from_name(name).is_some(),
            "rsrtp type {name} missing"
        );
    }
    let ours = glib::Type::from_name("GstRtp2BasePay").unwrap();
    let theirs = glib::Type::from_name("GstRtpBasePay2").unwrap();
    assert_ne!(ours, theirs);
}

/// Runs an element of each plugin in one pipeline at the same time: rsrtp's PCMA payloader
/// and depayloader next to our G.722 ones.
#[test]
fn both_plugins_run_side_by_side() {
    common::init_with_rsrtp();
    let pipeline = gst::parse::launch(
        "audiotestsrc num-buffers=25 samplesperbuffer=320 ! audio/x-raw,rate=16000,channels=1 \
           ! avenc_g722 ! rtpg722pay2 ! rtpg722depay2 ! appsink name=ours sync=false \
         audiotestsrc num-buffers=25 samplesperbuffer=160 ! audio/x-raw,rate=8000,channels=1 \
           ! alawenc ! rtppcmapay2 ! rtppcmadepay2 ! appsink name=theirs sync=false",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let count = |name: &str| {
        let sink = pipeline.by_name(name).unwrap();
        let bytes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let b = bytes.clone();
        sink.downcast_ref::<gst_app::AppSink>()
            .unwrap()
            .set_callbacks(
                gst_app::AppSinkCallbacks::builder()
                    .new_sample(move |s| {
                        let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                        let size = sample.buffer().map_or(0, |b| b.size());
                        b.fetch_add(size, std::sync::atomic::Ordering::SeqCst);
                        Ok(gst::FlowSuccess::Ok)
                    })
                    .build(),
            );
        bytes
    };
    let ours = count("ours");
    let theirs = count("theirs");
    common::run_to_eos(&pipeline, std::time::Duration::from_secs(20));
    // 25 × 20 ms of G.722 is 4000 bytes; 25 × 20 ms of A-law is 4000 bytes.
    assert_eq!(ours.load(std::sync::atomic::Ordering::SeqCst), 4000);
    assert_eq!(theirs.load(std::sync::atomic::Ordering::SeqCst), 4000);
}

/// Applications read `stats` by field name: every field of the C element's statistics is in
/// ours, with the same type (ours add more).
#[test]
fn every_c_stats_field_exists_with_the_same_type() {
    common::init();
    for &(c_name, ours_name) in PAIRS {
        let c = gst::ElementFactory::make(c_name).build().unwrap();
        let ours = gst::ElementFactory::make(ours_name).build().unwrap();
        if c.find_property("stats").is_none() {
            // The C FEC elements have no `stats`; ours have the filter base's.
            assert!(
                ours.find_property("stats").is_some(),
                "{ours_name} has stats"
            );
            continue;
        }
        let c_stats = c.property::<gst::Structure>("stats");
        let ours_stats = ours.property::<gst::Structure>("stats");
        assert!(c_stats.n_fields() > 0, "{c_name}: {c_stats}");
        for (field, value) in c_stats.iter() {
            let ours_value = ours_stats
                .value(field)
                .unwrap_or_else(|_| panic!("{ours_name} stats lack {field}: {ours_stats}"));
            assert_eq!(
                ours_value.type_(),
                value.type_(),
                "{ours_name} stats field {field}"
            );
        }
    }
}

/// RTP timestamps of `pay` (with `onvif`) for `buffers` under a segment that starts its
/// stream time at one hour and plays at twice the speed.
fn rtp_times(pay: &str, onvif: bool, caps: &gst::Caps, buffers: &[gst::Buffer]) -> Vec<u32> {
    // Configured before the harness starts it (the C element fixes its offset then).
    let element = gst::ElementFactory::make(pay)
        .property("onvif-no-rate-control", onvif)
        .property("timestamp-offset", 0u32)
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps(caps.clone());
    let mut segment = gst::FormattedSegment::<gst::ClockTime>::new();
    segment.set_time(gst::ClockTime::from_seconds(3600));
    segment.set_rate(2.0);
    assert!(h.push_event(gst::event::Segment::new(&segment)));
    for b in buffers {
        h.push(b.clone()).unwrap();
    }
    h.push_event(gst::event::Eos::new());
    std::iter::from_fn(|| h.try_pull())
        .map(|p| common::rtp_fields(&p).timestamp)
        .collect()
}

/// `onvif-no-rate-control` (ONVIF replay, Rate-Control=no) makes the RTP time follow the
/// stream time of the segment instead of the running time, as in C: same packets' RTP
/// timestamps as the C payloaders, for an audio and a video payloader, and different ones
/// without it.
#[test]
fn onvif_no_rate_control_timestamps_like_the_c_payloaders() {
    common::init();
    // G.722: 20 ms buffers (160 bytes at 64 kbit/s).
    let audio: Vec<gst::Buffer> = (0..5u64)
        .map(|i| {
            let mut b = gst::Buffer::from_mut_slice(vec![i as u8; 160]);
            b.get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_mseconds(20 * i));
            b
        })
        .collect();
    let audio_caps: gst::Caps = "audio/G722,rate=16000,channels=1".parse().unwrap();
    // H.264 from x264enc.
    let video = common::run_collect(
        "videotestsrc num-buffers=5 ! video/x-raw,width=160,height=120,framerate=30/1 ! \
         x264enc ! h264parse ! video/x-h264,stream-format=byte-stream,alignment=au ! \
         appsink name=sink sync=false",
        "sink",
        std::time::Duration::from_secs(60),
    );
    let video_caps = video.caps.clone().unwrap();
    for (c, ours, caps, buffers) in [
        ("rtpg722pay", "rtpg722pay2", &audio_caps, &audio),
        ("rtph264pay", "rtph264pay2", &video_caps, &video.buffers),
    ] {
        let onvif = rtp_times(ours, true, caps, buffers);
        assert!(!onvif.is_empty());
        assert_eq!(onvif, rtp_times(c, true, caps, buffers), "{ours} onvif");
        let usual = rtp_times(ours, false, caps, buffers);
        assert_eq!(usual, rtp_times(c, false, caps, buffers), "{ours}");
        assert_ne!(onvif, usual, "{ours}: the property changes the RTP time");
    }
}
