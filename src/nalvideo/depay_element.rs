// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The element side of `rtph264depay2` and `rtph265depay2`: properties, pad templates and
//! the virtual methods, around [`super::depay::NalDepayState`] behind a lock. Every call
//! computes under the lock and acts after it (see [`super::depay`]'s actions).

use gst::glib;
use gst::prelude::*;

use super::NalCodec;
use super::depay::{Actions, NalDepayState, run};
use crate::base::depay::{IncomingPacket, KeyframePolicy, RtpBaseDepay2, RtpBaseDepay2Ext};
use crate::base::extensions::lock;

/// A NAL video depayloader element's data and GObject plumbing (properties, pad templates,
/// virtual methods), so that `rtph264depay2` and `rtph265depay2` only name their codec.
pub struct NalDepayElement<C: NalCodec> {
    settings: std::sync::Mutex<KeyframePolicy>,
    state: std::sync::Mutex<NalDepayState<C>>,
}

impl<C: NalCodec> Default for NalDepayElement<C> {
    fn default() -> Self {
        NalDepayElement {
            settings: Default::default(),
            state: Default::default(),
        }
    }
}

impl<C: NalCodec> NalDepayElement<C> {
    /// `request-keyframe` and `wait-for-keyframe` (as in the C `rtph264depay`).
    pub fn properties() -> Vec<glib::ParamSpec> {
        vec![
            glib::ParamSpecBoolean::builder("request-keyframe")
                .nick("Request Keyframe")
                .blurb("Request new keyframe when packet loss is detected")
                .default_value(false)
                .mutable_playing()
                .build(),
            glib::ParamSpecBoolean::builder("wait-for-keyframe")
                .nick("Wait For Keyframe")
                .blurb(
                    "Wait for the next keyframe after packet loss, \
                     meaningful only when outputting access units",
                )
                .default_value(false)
                .mutable_playing()
                .build(),
        ]
    }

    /// Sets one of [`Self::properties`].
    pub fn set_property(&self, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        match pspec.name() {
            "request-keyframe" => settings.request_keyframe = value.get().unwrap_or(false),
            "wait-for-keyframe" => settings.wait_for_keyframe = value.get().unwrap_or(false),
            _ => {}
        }
        let mut state = lock(&self.state);
        state.policy.request_keyframe = settings.request_keyframe;
        state.policy.wait_for_keyframe = settings.wait_for_keyframe;
    }

    /// Reads one of [`Self::properties`].
    pub fn property(&self, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = lock(&self.settings);
        match pspec.name() {
            "request-keyframe" => settings.request_keyframe.to_value(),
            "wait-for-keyframe" => settings.wait_for_keyframe.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }

    /// Sink: RTP of the codec; source: length-prefixed (au) or byte-stream (au or nal).
    pub fn pad_templates() -> Vec<gst::PadTemplate> {
        let sink = gst::Caps::builder("application/x-rtp")
            .field("media", "video")
            .field("clock-rate", 90000i32)
            .field("encoding-name", C::ENCODING_NAME)
            .build();
        let length_prefixed = gst::Structure::builder(C::MEDIA_TYPE)
            .field(
                "stream-format",
                if C::LENGTH_PREFIXED_OUTPUT.len() == 1 {
                    C::LENGTH_PREFIXED_OUTPUT[0].to_send_value()
                } else {
                    gst::List::new(C::LENGTH_PREFIXED_OUTPUT.iter().copied()).to_send_value()
                },
            )
            .field("alignment", "au")
            .build();
        let src = gst::Caps::builder_full()
            .structure(length_prefixed)
            .structure(
                gst::Structure::builder(C::MEDIA_TYPE)
                    .field("stream-format", "byte-stream")
                    .field("alignment", gst::List::new(["nal", "au"]))
                    .build(),
            )
            .build();
        templates(&sink, &src)
    }

    /// `start`: fresh state with the current policy.
    pub fn start(&self) {
        let policy = *lock(&self.settings);
        let mut state = lock(&self.state);
        *state = NalDepayState::default();
        state.policy = policy;
    }

    /// `set_sink_caps`; what the codec ignores in the caps is posted as a warning, and
    /// downstream's caps are queried, before the lock is taken; new output caps are set
    /// after it.
    pub fn set_sink_caps(&self, obj: &RtpBaseDepay2, caps: &gst::Caps) -> bool {
        for warning in caps.structure(0).map(C::caps_warnings).unwrap_or_default() {
            gst::element_warning!(obj, gst::StreamError::Format, ["{warning}"]);
        }
        let templ = obj.src_pad().pad_template_caps();
        let peer = obj.src_pad().peer_query_caps(None);
        let mut actions = Actions::new();
        let ok = lock(&self.state).set_sink_caps(caps, &peer, &templ, &mut actions);
        ok && run(obj, actions)
    }

    /// `handle_packet`: depayloads under the lock; outputs, drops, warnings and a keyframe
    /// request happen after it.
    pub fn handle_packet(&self, obj: &RtpBaseDepay2, packet: &IncomingPacket) {
        let mut actions = Actions::new();
        lock(&self.state).handle_packet(packet, &mut actions);
        run(obj, actions);
    }

    /// `drain` (outputs after the lock).
    pub fn drain(&self, obj: &RtpBaseDepay2) {
        let mut actions = Actions::new();
        lock(&self.state).drain(&mut actions);
        run(obj, actions);
    }

    /// `flush`.
    pub fn flush(&self) {
        lock(&self.state).flush();
    }
}

/// Always-present sink and source pad templates.
pub fn templates(sink: &gst::Caps, src: &gst::Caps) -> Vec<gst::PadTemplate> {
    [
        ("sink", gst::PadDirection::Sink, sink),
        ("src", gst::PadDirection::Src, src),
    ]
    .into_iter()
    .filter_map(|(name, direction, caps)| {
        gst::PadTemplate::new(name, direction, gst::PadPresence::Always, caps).ok()
    })
    .collect()
}

/// The GObject implementation (`imp` module content) of a NAL video depayloader: an element
/// struct `$name` around [`NalDepayElement`] for `$codec`, with the metadata of `$encoding`
/// and its RFC. `rtph264depay2` and `rtph265depay2` are this with their codec.
macro_rules! nal_depay_imp {
    ($name:ident, $codec:ty, $type_name:literal, $encoding:literal, $rfc:literal) => {
        use std::sync::LazyLock;

        use gst::glib;
        use gst::prelude::*;
        use gst::subclass::prelude::*;

        use crate::base::depay::{IncomingPacket, RtpBaseDepay2Impl};
        use crate::nalvideo::depay::NalDepayElement;

        type Element = NalDepayElement<$codec>;

        #[derive(Default)]
        pub struct $name {
            inner: Element,
        }

        #[glib::object_subclass]
        impl ObjectSubclass for $name {
            const NAME: &'static str = $type_name;
            type Type = super::$name;
            type ParentType = crate::base::depay::RtpBaseDepay2;
        }

        impl ObjectImpl for $name {
            fn properties() -> &'static [glib::ParamSpec] {
                static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> =
                    LazyLock::new(Element::properties);
                PROPERTIES.as_ref()
            }

            fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
                self.inner.set_property(value, pspec);
            }

            fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
                self.inner.property(pspec)
            }
        }

        impl GstObjectImpl for $name {}

        impl ElementImpl for $name {
            fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
                static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
                    gst::subclass::ElementMetadata::new(
                        concat!("RTP ", $encoding, " depayloader"),
                        "Codec/Depayloader/Network/RTP",
                        concat!(
                            "Extracts ",
                            $encoding,
                            " video from RTP packets (RFC ",
                            $rfc,
                            ")"
                        ),
                        "gst-plugin-rtp2 developers",
                    )
                });
                Some(&*METADATA)
            }

            fn pad_templates() -> &'static [gst::PadTemplate] {
                static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
                    LazyLock::new(Element::pad_templates);
                TEMPLATES.as_ref()
            }
        }

        impl RtpBaseDepay2Impl for $name {
            // As the C depayloaders' gst_rtp_drop_non_video_meta.
            const ALLOWED_META_TAGS: &'static [&'static str] = &["video"];

            fn start(&self) -> Result<(), gst::ErrorMessage> {
                self.inner.start();
                Ok(())
            }

            fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
                self.inner.set_sink_caps(self.obj().upcast_ref(), caps)
            }

            fn handle_packet(
                &self,
                packet: &IncomingPacket,
            ) -> Result<gst::FlowSuccess, gst::FlowError> {
                self.inner.handle_packet(self.obj().upcast_ref(), packet);
                Ok(gst::FlowSuccess::Ok)
            }

            fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
                self.inner.drain(self.obj().upcast_ref());
                Ok(gst::FlowSuccess::Ok)
            }

            fn flush(&self) {
                self.inner.flush();
            }
        }
    };
}

pub(crate) use nal_depay_imp;
