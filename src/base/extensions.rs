// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RTP header extensions (RFC 8285) for both base classes, through GStreamer's
//! `GstRTPHeaderExtension` objects (`rtphdrext*` elements), so that every extension written
//! for the C base classes works with ours too.
//!
//! The element layout itself (one-byte and two-byte forms) is parsed and written by
//! `rtp2_core::hdrext`; this module keeps the id → extension table, negotiates it from
//! `extmap-N` caps fields (RFC 8285 §5 SDP `a=extmap`), and moves data between packets and
//! buffer metas.
//!
//! # Lock rule
//!
//! An extension is third-party GObject code: its `write`, `read`, `max_size`,
//! `set_non_rtp_sink_caps`, `update_non_rtp_src_caps`, `set_attributes_from_caps` and
//! `set_caps_from_attributes` may read our properties or emit our signals. So no element lock
//! is held while one of them runs, nor while a signal is emitted, a pad pushes or a message is
//! posted: the table is an immutable list behind an `Arc`, and callers take a
//! [`HeaderExtensions`] snapshot (one reference count increment, no allocation) under the
//! lock, drop the lock, then call the extensions. `add-extension` and `clear-extensions`
//! swap the list; a snapshot taken before keeps the old one.

use std::sync::{Arc, Mutex};

use gst::glib;
use gst::prelude::*;
use gst_rtp::prelude::*;
use rtp2_core::hdrext::{ExtensionForm, ExtensionWriter, parse_elements};

/// Largest element payload the two-byte form can carry (RFC 8285 §4.3).
const MAX_ELEMENT_LEN: usize = 255;

/// The header extensions of one element, by id: an immutable list, cheap to clone (a
/// snapshot), replaced as a whole when it changes (see the module's lock rule).
#[derive(Debug, Default, Clone)]
pub struct HeaderExtensions {
    list: Arc<Vec<gst_rtp::RTPHeaderExtension>>,
    /// The application added or removed extensions since [`Self::take_changed`]: a
    /// payloader renegotiates its caps (read with the snapshot, under the same lock).
    changed: bool,
}

impl HeaderExtensions {
    /// True when no extension is configured (the per-packet fast path).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Adds `ext`, replacing one with the same id (what `add-extension` does).
    pub fn add(&mut self, ext: gst_rtp::RTPHeaderExtension) {
        let id = ext.id();
        let list = Arc::make_mut(&mut self.list);
        list.retain(|e| e.id() != id);
        list.push(ext);
        list.sort_by_key(|e| e.id());
    }

    /// A table of these extensions (ids as they are).
    pub fn from_list(list: Vec<gst_rtp::RTPHeaderExtension>) -> Self {
        HeaderExtensions {
            list: Arc::new(list),
            changed: false,
        }
    }

    /// Removes every extension (`clear-extensions`).
    pub fn clear(&mut self) {
        self.list = Arc::default();
    }

    /// Whether `add-extension` or `clear-extensions` changed the table since the last call.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// The extensions, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &gst_rtp::RTPHeaderExtension> {
        self.list.iter()
    }

    /// The `extensions` property value.
    pub fn to_value_array(&self) -> gst::Array {
        gst::Array::new(self.list.iter().map(|e| e.to_send_value()))
    }

    /// The extension with this id, if any.
    pub fn by_id(&self, id: u8) -> Option<&gst_rtp::RTPHeaderExtension> {
        self.list.iter().find(|e| e.id() == u32::from(id))
    }

    /// Upper bound of the bytes the extension block adds to a packet made from `input`
    /// (0 when no extension is configured), used to keep packets within the MTU.
    pub fn max_overhead(&self, input: &gst::Buffer) -> usize {
        if self.list.is_empty() {
            return 0;
        }
        // Two-byte form: 2 header bytes per element; the block has a 4-byte header and is
        // padded to 32 bits (RFC 8285 §4.3, RFC 3550 §5.3.1).
        let elements: usize = self
            .list
            .iter()
            .map(|e| 2 + e.max_size(input).min(MAX_ELEMENT_LEN))
            .sum();
        4 + elements.div_ceil(4) * 4
    }

    /// Lets every extension write its element for the packet `output` made from `input`;
    /// returns the (profile, data) extension block, or `None` when nothing was written.
    pub fn write(
        &self,
        element: &gst::Element,
        input: &gst::Buffer,
        output: &gst::BufferRef,
    ) -> Option<(u16, Vec<u8>)> {
        if self.list.is_empty() {
            return None;
        }
        let mut scratch = [0u8; MAX_ELEMENT_LEN];
        let mut elements: Vec<(u8, usize, [u8; MAX_ELEMENT_LEN])> = Vec::new();
        let mut form = ExtensionForm::OneByte;
        for ext in self.list.iter() {
            let Ok(id) = u8::try_from(ext.id()) else {
                continue;
            };
            let max = ext.max_size(input).min(MAX_ELEMENT_LEN);
            let one_byte_ok = ext
                .supported_flags()
                .contains(gst_rtp::RTPHeaderExtensionFlags::ONE_BYTE);
            // Ask for the form the block will most likely use; a larger element switches the
            // whole block to the two-byte form below.
            let flags = if one_byte_ok && form == ExtensionForm::OneByte {
                gst_rtp::RTPHeaderExtensionFlags::ONE_BYTE
            } else {
                gst_rtp::RTPHeaderExtensionFlags::TWO_BYTE
            };
            match ext.write(input, flags, output, &mut scratch[..max]) {
                Ok(0) => {}
                Ok(len) => {
                    let len = len.min(max);
                    if !one_byte_ok
                        || ExtensionForm::for_element(id, len) != Some(ExtensionForm::OneByte)
                    {
                        form = ExtensionForm::TwoByte;
                    }
                    let mut data = [0u8; MAX_ELEMENT_LEN];
                    data[..len].copy_from_slice(&scratch[..len]);
                    elements.push((id, len, data));
                }
                Err(err) => {
                    gst::warning!(
                        crate::CAT,
                        obj = element,
                        "Header extension {} (id {id}) failed to write: {err}",
                        ext.uri().unwrap_or_default()
                    );
                }
            }
        }
        let mut writer = ExtensionWriter::new(form);
        for (id, len, data) in &elements {
            if let Err(err) = writer.push(*id, &data[..*len]) {
                gst::warning!(
                    crate::CAT,
                    obj = element,
                    "Dropping header extension element: {err}"
                );
            }
        }
        writer.finish()
    }

    /// Reads the extension blocks of the packets an output was made from (in sequence order)
    /// into metas on `output`; an element whose id and bytes an earlier block carried is
    /// read once. Returns true when an extension asked for the non-RTP source caps to be
    /// updated.
    pub fn read(
        &self,
        element: &gst::Element,
        blocks: &[(u16, Vec<u8>)],
        output: &mut gst::BufferRef,
    ) -> bool {
        let mut read: smallvec::SmallVec<[(u8, &[u8]); 4]> = smallvec::SmallVec::new();
        let mut wants_caps_update = false;
        for (profile, data) in blocks {
            let Some(form) = ExtensionForm::from_profile(*profile) else {
                continue;
            };
            let flags = match form {
                ExtensionForm::OneByte => gst_rtp::RTPHeaderExtensionFlags::ONE_BYTE,
                ExtensionForm::TwoByte => gst_rtp::RTPHeaderExtensionFlags::TWO_BYTE,
                // A form the core learns later: skipped, as a block of another profile.
                _ => continue,
            };
            let Ok(elements) = parse_elements(*profile, data) else {
                continue;
            };
            for element_data in elements {
                let item = match element_data {
                    Ok(item) => item,
                    Err(err) => {
                        gst::warning!(
                            crate::CAT,
                            obj = element,
                            "Malformed header extension: {err}"
                        );
                        break;
                    }
                };
                let Some(ext) = self.by_id(item.id) else {
                    continue;
                };
                if read.contains(&(item.id, item.data)) {
                    continue;
                }
                read.push((item.id, item.data));
                if !ext.read(flags, item.data, output) {
                    gst::warning!(
                        crate::CAT,
                        obj = element,
                        "Header extension {} (id {}) could not read {} bytes",
                        ext.uri().unwrap_or_default(),
                        item.id,
                        item.data.len()
                    );
                    continue;
                }
                wants_caps_update |= ext.wants_update_non_rtp_src_caps();
            }
        }
        wants_caps_update
    }

    /// Lets extensions that asked for it update the caps of the non-RTP side.
    pub fn update_non_rtp_caps(&self, caps: &mut gst::CapsRef) {
        for ext in self.list.iter() {
            if ext.wants_update_non_rtp_src_caps() {
                ext.update_non_rtp_src_caps(caps);
                ext.set_wants_update_non_rtp_src_caps(false);
            }
        }
    }

    /// Gives every extension the caps of the payloader's input (`set_non_rtp_sink_caps`, as
    /// the C base class does): the color-space extension, for one, writes nothing without
    /// them. Call on a snapshot, without lock.
    pub fn set_non_rtp_sink_caps(&self, element: &gst::Element, caps: &gst::Caps) {
        for ext in self.list.iter() {
            if !ext.set_non_rtp_sink_caps(caps) {
                gst::warning!(
                    crate::CAT,
                    obj = element,
                    "Header extension {} rejected the input caps {caps}",
                    ext.uri().unwrap_or_default()
                );
            }
        }
    }

    /// Writes an `extmap-N` field for every extension into `caps` (payloader output caps).
    pub fn set_caps_fields(&self, caps: &mut gst::CapsRef) {
        for ext in self.list.iter() {
            ext.set_caps_from_attributes(caps);
        }
    }
}

/// Makes the table `extensions` match the `extmap-N` fields of `caps`: an id without an
/// extension is asked for with the `request-extension` signal, then (with
/// `auto-header-extension`) created from its URI; every extension named in the caps then reads
/// its attributes from them. Returns the extensions added here (a payloader gives them its
/// input caps). No lock is held while the signal runs or an extension reads the caps.
pub fn configure_from_caps(
    element: &gst::Element,
    extensions: &Mutex<HeaderExtensions>,
    caps: &gst::Caps,
    auto: bool,
) -> Vec<gst_rtp::RTPHeaderExtension> {
    let Some(s) = caps.structure(0) else {
        return Vec::new();
    };
    let mut added = Vec::new();
    for (field, value) in s.iter() {
        let Some(id) = field
            .strip_prefix("extmap-")
            .and_then(|n| n.parse::<u8>().ok())
        else {
            continue;
        };
        // Checked again for every id: a signal handler may have added one meanwhile.
        if id == 0 || lock(extensions).by_id(id).is_some() {
            continue;
        }
        let Some(uri) = extmap_uri(value) else {
            gst::warning!(crate::CAT, obj = element, "Cannot read the URI of {field}");
            continue;
        };
        let requested = element.emit_by_name::<Option<gst_rtp::RTPHeaderExtension>>(
            "request-extension",
            &[&u32::from(id), &uri],
        );
        let ext = match requested {
            Some(ext) => Some(ext),
            None if lock(extensions).by_id(id).is_some() => None,
            None if auto => gst_rtp::RTPHeaderExtension::create_from_uri(&uri),
            None => None,
        };
        match ext {
            Some(ext) => {
                ext.set_id(u32::from(id));
                gst::debug!(
                    crate::CAT,
                    obj = element,
                    "Using {uri} for extension id {id}"
                );
                lock(extensions).add(ext.clone());
                added.push(ext);
            }
            None => gst::info!(
                crate::CAT,
                obj = element,
                "No new implementation of header extension {uri} (id {id})"
            ),
        }
    }
    let snapshot = lock(extensions).clone();
    for ext in snapshot.iter() {
        if s.has_field(format!("extmap-{}", ext.id()).as_str())
            && !ext.set_attributes_from_caps(caps)
        {
            gst::warning!(
                crate::CAT,
                obj = element,
                "Header extension {} rejected the attributes in {caps}",
                ext.uri().unwrap_or_default()
            );
        }
    }
    added
}

/// The URI of an `extmap-N` caps field: a plain string, or an array
/// `<direction, uri, attributes>` (RFC 8285 §5).
fn extmap_uri(value: &glib::SendValue) -> Option<String> {
    if let Ok(uri) = value.get::<String>() {
        return Some(uri);
    }
    let array = value.get::<gst::Array>().ok()?;
    array.get(1)?.get::<String>().ok()
}

/// The `auto-header-extension` property of payloaders and depayloaders (as in C).
pub fn auto_header_extension_pspec() -> glib::ParamSpec {
    glib::ParamSpecBoolean::builder("auto-header-extension")
        .nick("Automatic RTP header extension")
        .blurb(
            "Whether RTP header extensions should be automatically enabled, \
             if an implementation is available",
        )
        .default_value(true)
        .mutable_ready()
        .build()
}

/// The read-only `extensions` property of payloaders and depayloaders: the enabled
/// extensions (as in C).
pub fn extensions_pspec() -> glib::ParamSpec {
    gst::ParamSpecArray::builder("extensions")
        .nick("RTP header extensions")
        .blurb("A list of already enabled RTP header extensions")
        .element_spec(
            &glib::ParamSpecObject::builder::<gst_rtp::RTPHeaderExtension>("extension")
                .read_only()
                .build(),
        )
        .read_only()
        .build()
}

/// Installs the `add-extension`, `clear-extensions` and `request-extension` signals
/// (same names and signatures as the C base classes).
///
/// Both action signals flag the table as changed (and mark the source pad for
/// reconfiguration, as C does): a payloader then renegotiates before its next input buffer,
/// so that its caps gain or lose the `extmap-N` field. With `non_rtp_sink` (payloaders), an added extension gets the current input caps
/// (`set_non_rtp_sink_caps`) as the C base class gives them. No lock is held while the
/// extension is called or the pad is marked.
pub fn signals<T, F>(extensions_of: F, non_rtp_sink: bool) -> Vec<glib::subclass::Signal>
where
    T: glib::subclass::types::ObjectSubclass,
    T::Type: IsA<gst::Element>,
    F: Fn(&T::Type) -> &Mutex<HeaderExtensions> + Send + Sync + Copy + 'static,
{
    use glib::subclass::Signal;
    vec![
        Signal::builder("add-extension")
            .param_types([gst_rtp::RTPHeaderExtension::static_type()])
            .action()
            .class_handler(move |args| {
                let obj = args[0].get::<T::Type>().ok()?;
                let ext = args[1].get::<gst_rtp::RTPHeaderExtension>().ok()?;
                if ext.id() == 0 || ext.id() > 255 {
                    gst::warning!(
                        crate::CAT,
                        obj = &obj,
                        "Extension has no valid id (1..=255)"
                    );
                    return None;
                }
                let element = obj.upcast_ref::<gst::Element>();
                if non_rtp_sink
                    && let Some(caps) = element.static_pad("sink").and_then(|p| p.current_caps())
                    && !ext.set_non_rtp_sink_caps(&caps)
                {
                    gst::warning!(
                        crate::CAT,
                        obj = &obj,
                        "Header extension {} rejected the input caps {caps}",
                        ext.uri().unwrap_or_default()
                    );
                }
                {
                    let mut extensions = lock(extensions_of(&obj));
                    extensions.add(ext);
                    extensions.changed = true;
                }
                element.static_pad("src").inspect(|p| p.mark_reconfigure());
                None
            })
            .build(),
        Signal::builder("clear-extensions")
            .action()
            .class_handler(move |args| {
                let obj = args[0].get::<T::Type>().ok()?;
                {
                    let mut extensions = lock(extensions_of(&obj));
                    extensions.clear();
                    extensions.changed = true;
                }
                obj.upcast_ref::<gst::Element>()
                    .static_pad("src")
                    .inspect(|p| p.mark_reconfigure());
                None
            })
            .build(),
        Signal::builder("request-extension")
            .param_types([u32::static_type(), String::static_type()])
            .return_type::<Option<gst_rtp::RTPHeaderExtension>>()
            .accumulator(|_hint, acc, value| {
                // The first handler that returns an extension wins.
                match value.get::<Option<gst_rtp::RTPHeaderExtension>>() {
                    Ok(Some(_)) => std::ops::ControlFlow::Break(value.clone()),
                    _ => std::ops::ControlFlow::Continue(acc),
                }
            })
            .build(),
    ]
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the data here is
/// always left consistent).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
