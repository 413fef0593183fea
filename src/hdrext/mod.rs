// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RTP header extension elements (`GstRTPHeaderExtension` subclasses) for the extensions
//! WebRTC negotiates that GStreamer 1.22 has no element for, and the framework that makes
//! each of them one small file: implement [`ExtensionBehaviour`] for a state type and invoke
//! [`rtp_header_extension!`](crate::rtp_header_extension). docs/header-extensions.md walks
//! through it.
//!
//! Every element reads into, and can write from, a custom meta (`GstCustomMeta`) named after
//! its factory whose structure holds the decoded fields: the one interface between the
//! extension and the application, whatever payloader or depayloader (ours or C) runs it.
//! An element read on every packet may expose its reads otherwise
//! ([`ExtensionBehaviour::READS_INTO_CUSTOM_META`]): `rtphdrextabssendtime` reads into a
//! `GstReferenceTimestampMeta`, when asked.
//! Malformed elements on the wire are counted in the `stats` property and skipped, the
//! packet goes on.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use gst::glib;
use gst::prelude::*;
use rtp2_core::hdrext::{ExtensionForm, HeaderExtensionFormat};

pub mod abs_capture_time;
pub mod abs_send_time;
pub mod csrc_audio_level;
pub mod cvo;
pub mod playout_delay;
pub mod toffset;
pub mod video_content_type;
pub mod video_timing;

mod direct;
mod element_macro;

pub use direct::{DirectCalls, direct_calls};

/// Debug category of the extension elements.
pub static CAT: std::sync::LazyLock<gst::DebugCategory> = std::sync::LazyLock::new(|| {
    gst::DebugCategory::new(
        "rtp2hdrext",
        gst::DebugColorFlags::empty(),
        Some("RTP header extension elements of gst-plugin-rtp2"),
    )
});

/// What one extension element does besides the wire format: where the value it writes
/// comes from, and how a read value is exposed. The framework handles the rest (element
/// registration, sizes, forms, the custom meta, malformed-element counting).
pub trait ExtensionBehaviour: Default + Send + 'static {
    /// The wire format (rtp2-core).
    type Format: HeaderExtensionFormat;
    /// Factory name, `rtphdrext…`.
    const FACTORY: &'static str;
    /// Human readable name.
    const LONG_NAME: &'static str;
    /// One sentence on what the element does.
    const DESCRIPTION: &'static str;

    /// Element-specific properties.
    fn properties() -> Vec<glib::ParamSpec> {
        Vec::new()
    }
    /// Sets one of [`Self::properties`].
    fn set_property(&mut self, _name: &str, _value: &glib::Value) {}
    /// Reads one of [`Self::properties`].
    fn property(&self, name: &str) -> glib::Value {
        unreachable!("no property {name}")
    }

    /// Whether [`Self::value_to_write`] looks at the marker bit: the packet is mapped for it
    /// only then (a memory map per packet otherwise saved).
    const USES_MARKER: bool = false;

    /// The value to write into the packet made from `input`; `from_meta` is the value an
    /// application put on `input` in this element's custom meta, if any; `marker` is the
    /// packet's RTP marker bit (the last packet of a video frame), `None` if the payloader
    /// did not let us read the packet. `None` writes nothing.
    fn value_to_write(
        &mut self,
        input: &gst::BufferRef,
        from_meta: Option<Self::Format>,
        marker: Option<bool>,
    ) -> Option<Self::Format> {
        let _ = (input, marker);
        from_meta
    }

    /// The value from the fields of this element's custom meta (`None` if incomplete).
    fn from_fields(s: &gst::StructureRef) -> Option<Self::Format>;
    /// Stores a value in the fields of this element's custom meta.
    fn to_fields(value: &Self::Format, s: &mut gst::StructureRef);

    /// Called with every value read, after the meta is attached to `output`.
    fn on_read(&mut self, value: &Self::Format, output: &mut gst::BufferRef) {
        let _ = (value, output);
    }

    /// Whether [`Self::on_read`] does something: it runs (under the behaviour's lock) only
    /// then, so that a read costs no lock when it does not.
    const USES_ON_READ: bool = true;

    /// Whether a read value goes into this element's custom meta (the default). A custom
    /// meta is a `GstStructure` built and freed per buffer (about 1800 instructions): an
    /// element read on every packet of a stream can instead expose its reads in
    /// [`Self::on_read`] (a cheaper typed meta, or only when asked); its write side still
    /// takes the custom meta.
    const READS_INTO_CUSTOM_META: bool = true;
}

/// The state behind one element instance: the behaviour under a lock, and counters.
#[derive(Default)]
pub struct ExtensionState<B: ExtensionBehaviour> {
    /// The behaviour's own state.
    pub behaviour: Mutex<B>,
    written: AtomicU64,
    read: AtomicU64,
    malformed: AtomicU64,
    /// The API type of this element's custom meta, learnt once: a buffer is searched for the
    /// meta by name (a global registry lookup under a lock) only when it has a meta of this
    /// type, so buffers without one cost an iteration over their metas.
    meta_api: std::sync::OnceLock<Option<glib::Type>>,
    /// The registration of this element's custom meta (a `GstMetaInfo` pointer, valid for
    /// the process), learnt once: adding the meta by name looks it up per packet.
    meta_info: std::sync::OnceLock<Option<usize>>,
}

impl<B: ExtensionBehaviour> ExtensionState<B> {
    /// Whether `buffer` carries this element's custom meta (cheap when it has no meta).
    fn has_meta(&self, buffer: &gst::BufferRef) -> bool {
        let mut metas = buffer.iter_meta::<gst::Meta>().peekable();
        if metas.peek().is_none() {
            return false;
        }
        let api = self.meta_api.get_or_init(|| {
            let mut probe = gst::Buffer::new();
            gst::meta::CustomMeta::add(probe.get_mut()?, B::FACTORY)
                .ok()
                .map(|m| m.api())
        });
        match api {
            Some(api) => metas.any(|m| m.api() == *api),
            // Not registered: never on a buffer.
            None => false,
        }
    }

    /// Adds this element's custom meta holding `value` to `buffer`, through the registration
    /// learnt once (`gst_buffer_add_custom_meta` looks the name up in the global registry,
    /// under a lock, every time).
    fn add_meta(&self, value: &B::Format, buffer: &mut gst::BufferRef) {
        let info = *self.meta_info.get_or_init(|| {
            let name = std::ffi::CString::new(B::FACTORY).ok()?;
            // SAFETY: a NUL-terminated name; the returned info lives as long as the process.
            let info = unsafe { gst::ffi::gst_meta_get_info(name.as_ptr()) };
            // SAFETY: `info` is non-null and points to a registered meta info.
            let custom = !info.is_null() && unsafe { gst::ffi::gst_meta_info_is_custom(info) } != 0;
            custom.then_some(info as usize)
        });
        let Some(info) = info else {
            if let Ok(mut meta) = gst::meta::CustomMeta::add(buffer, B::FACTORY) {
                B::to_fields(value, meta.mut_structure());
            }
            return;
        };
        // SAFETY: `info` is the registered info of a custom meta (checked above), so the meta
        // added is a `GstCustomMeta` whose structure it owns, alive as long as `buffer` is
        // borrowed mutably here.
        unsafe {
            let meta = gst::ffi::gst_buffer_add_meta(
                buffer.as_mut_ptr(),
                info as *const gst::ffi::GstMetaInfo,
                std::ptr::null_mut(),
            );
            if meta.is_null() {
                return;
            }
            let s = gst::ffi::gst_custom_meta_get_structure(meta as *mut gst::ffi::GstCustomMeta);
            B::to_fields(value, gst::StructureRef::from_glib_borrow_mut(s));
        }
    }

    /// Stores `value` in this element's custom meta on `output` (the last read of an output
    /// made from several packets wins).
    fn set_meta(&self, value: &B::Format, output: &mut gst::BufferRef) {
        let existing = self
            .has_meta(output)
            .then(|| gst::meta::CustomMeta::from_mut_buffer(output, B::FACTORY).ok())
            .flatten();
        match existing {
            Some(mut meta) => B::to_fields(value, meta.mut_structure()),
            None => self.add_meta(value, output),
        }
    }

    /// The RFC 8285 forms the format can use.
    pub fn supported_flags(&self) -> gst_rtp::RTPHeaderExtensionFlags {
        let mut flags = gst_rtp::RTPHeaderExtensionFlags::TWO_BYTE;
        if B::Format::MAX_LEN <= 16 {
            flags |= gst_rtp::RTPHeaderExtensionFlags::ONE_BYTE;
        }
        flags
    }

    /// Writes the element for the packet made from `input`; 0 bytes when there is nothing
    /// to write or the value does not fit the form.
    pub fn write(
        &self,
        obj: &gst::Element,
        input: &gst::BufferRef,
        flags: gst_rtp::RTPHeaderExtensionFlags,
        packet: &gst::BufferRef,
        out: &mut [u8],
    ) -> usize {
        // RFC 3550 §5.1: M is the top bit of the second byte. Only the first memory is
        // mapped: mapping a buffer of several memories merges them, and the payloader's
        // pointer into the header would then write into memory the packet no longer has.
        let marker = (B::USES_MARKER && packet.n_memory() > 0)
            .then(|| packet.peek_memory(0).map_readable().ok())
            .flatten()
            .and_then(|m| m.get(1).map(|b| b & 0x80 != 0));
        let from_meta = self
            .has_meta(input)
            .then(|| gst::meta::CustomMeta::from_buffer(input, B::FACTORY).ok())
            .flatten()
            .and_then(|m| B::from_fields(m.structure()));
        let value = self
            .behaviour
            .lock()
            .unwrap()
            .value_to_write(input, from_meta, marker);
        let Some(value) = value else { return 0 };
        let form = if flags.contains(gst_rtp::RTPHeaderExtensionFlags::ONE_BYTE) {
            ExtensionForm::OneByte
        } else {
            ExtensionForm::TwoByte
        };
        if !value.fits(form) {
            gst::debug!(CAT, obj = obj, "value does not fit the {form:?} form");
            return 0;
        }
        match value.encode(out) {
            Ok(n) => {
                self.written.fetch_add(1, Ordering::Relaxed);
                n
            }
            Err(err) => {
                gst::debug!(CAT, obj = obj, "not written: {err}");
                0
            }
        }
    }

    /// Reads an element into the custom meta of `output`; malformed data is counted, warned
    /// about (the first time and then every 100th) and skipped.
    pub fn read(&self, obj: &gst::Element, data: &[u8], output: &mut gst::BufferRef) {
        match B::Format::decode(data) {
            Ok(value) => {
                self.read.fetch_add(1, Ordering::Relaxed);
                if B::READS_INTO_CUSTOM_META {
                    self.set_meta(&value, output);
                }
                if B::USES_ON_READ {
                    self.behaviour.lock().unwrap().on_read(&value, output);
                }
            }
            Err(err) => {
                let n = self.malformed.fetch_add(1, Ordering::Relaxed);
                if n.is_multiple_of(100) {
                    gst::warning!(
                        CAT,
                        obj = obj,
                        "malformed element skipped ({} so far): {err}",
                        n + 1
                    );
                }
            }
        }
    }

    /// The `stats` structure: elements written, read, and malformed ones skipped.
    pub fn stats(&self) -> gst::Structure {
        gst::Structure::builder("application/x-rtp2-hdrext-stats")
            .field("written", self.written.load(Ordering::Relaxed))
            .field("read", self.read.load(Ordering::Relaxed))
            .field("malformed", self.malformed.load(Ordering::Relaxed))
            .build()
    }
}

/// The `stats` property every element has.
pub fn stats_pspec() -> glib::ParamSpec {
    glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
        .nick("Statistics")
        .blurb("Elements written, read, and malformed ones skipped")
        .read_only()
        .build()
}

/// Registers the custom meta named after the factory (once per process).
pub fn register_meta(factory: &str) {
    if !gst::meta::CustomMeta::is_registered(factory) {
        gst::meta::CustomMeta::register(factory, &[]);
    }
}

/// Registers every extension element of the plugin.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    cvo::element::register(plugin)?;
    abs_send_time::element::register(plugin)?;
    playout_delay::element::register(plugin)?;
    toffset::element::register(plugin)?;
    abs_capture_time::element::register(plugin)?;
    video_content_type::element::register(plugin)?;
    video_timing::element::register(plugin)?;
    csrc_audio_level::element::register(plugin)?;
    Ok(())
}
