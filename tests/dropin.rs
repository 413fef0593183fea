// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Drop-in compatibility with the C elements of gst-plugins-good: a pipeline that swaps
//! `rtpg722pay` for `rtpg722pay2` must keep working, so every property of the C element exists
//! on ours with the same type, and the pad templates accept the same caps.
//! Also: our plugin and the crates.io `gst-plugin-rtp` (rsrtp) plugin load and run together.

use gst::prelude::*;

mod common;

/// C properties we deliberately do not offer, with the reason.
const NOT_OFFERED: &[(&str, &str)] = &[(
    "onvif-no-rate-control",
    "ONVIF replay timestamping is not implemented yet",
)];

/// C properties that video payloaders inherit from GstRTPBasePayload and ignore; ours only
/// have them where they mean something (audio).
const AUDIO_ONLY: &[&str] = &["min-ptime", "max-ptime", "ptime-multiple"];

const PAIRS: &[(&str, &str)] = &[
    ("rtpg722pay", "rtpg722pay2"),
    ("rtpg722depay", "rtpg722depay2"),
    ("rtpg729pay", "rtpg729pay2"),
    ("rtpg729depay", "rtpg729depay2"),
    ("rtph264pay", "rtph264pay2"),
    ("rtph264depay", "rtph264depay2"),
    ("rtph265pay", "rtph265pay2"),
    ("rtph265depay", "rtph265depay2"),
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

fn property_types(element: &gst::Element) -> Vec<(String, glib::Type)> {
    element
        .list_properties()
        .iter()
        .map(|p| (p.name().to_string(), p.value_type()))
        .collect()
}

#[test]
fn every_c_property_exists_with_the_same_type() {
    common::init();
    for &(c_name, ours_name) in PAIRS {
        let c = gst::ElementFactory::make(c_name).build().unwrap();
        let ours = gst::ElementFactory::make(ours_name).build().unwrap();
        let ours_props = property_types(&ours);
        for (name, ty) in property_types(&c) {
            let video = c_name.contains("h26");
            let audio_only = video && AUDIO_ONLY.contains(&name.as_str());
            if NOT_OFFERED.iter().any(|(n, _)| *n == name) || audio_only {
                continue;
            }
            let found = ours_props.iter().find(|(n, _)| *n == name);
            assert!(
                found.is_some(),
                "{ours_name} lacks property {name} of {c_name}"
            );
            let ours_ty = found.unwrap().1;
            if ty.is_a(glib::Type::ENUM) {
                assert!(
                    ours_ty.is_a(glib::Type::ENUM),
                    "{ours_name}.{name} is not an enum"
                );
                assert_ne!(
                    ours_ty, ty,
                    "our enum types must not collide with the C ones"
                );
                assert_eq!(
                    enum_nicks(ours_ty),
                    enum_nicks(ty),
                    "{ours_name}.{name} values"
                );
            } else {
                assert_eq!(
                    ours_ty, ty,
                    "{ours_name}.{name} has another type than in {c_name}"
                );
            }
        }
        for name in ["pt", "mtu", "ssrc", "seqnum-offset", "timestamp-offset"] {
            if c.has_property(name) {
                let c_value = c.property_value(name);
                let ours_value = ours.property_value(name);
                if name == "pt" || name == "mtu" {
                    assert_eq!(
                        c_value.get::<u32>().unwrap(),
                        ours_value.get::<u32>().unwrap(),
                        "default {name} of {ours_name} differs from {c_name}"
                    );
                }
            }
        }
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
