// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The table from caps (`extmap-N`, `request-extension`, `auto-header-extension`), its
//! refresh after renegotiation, and the properties and signals both base classes install.

use std::sync::{Arc, Mutex};

use gst::glib;
use gst::prelude::*;
use gst_rtp::prelude::*;

use super::{CachedExtension, HeaderExtensions, lock};

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
                let Some(entry) = CachedExtension::new(ext.clone()) else {
                    continue;
                };
                gst::debug!(
                    crate::CAT,
                    obj = element,
                    "Using {uri} for extension id {id}"
                );
                lock(extensions).add(entry);
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
    // The attributes may change an extension's size.
    refresh(extensions);
    added
}

/// Asks every extension of the table again for its forms and size (after its caps or
/// attributes changed: renegotiation), without lock; the table is replaced only if nobody
/// changed it meanwhile (a concurrent `add-extension` caches its own extension anyway).
pub fn refresh(extensions: &Mutex<HeaderExtensions>) {
    let snapshot = lock(extensions).clone();
    if snapshot.is_empty() {
        return;
    }
    let fresh: Vec<CachedExtension> = snapshot
        .iter()
        .filter_map(|ext| CachedExtension::new(ext.clone()))
        .collect();
    let mut table = lock(extensions);
    if Arc::ptr_eq(&table.list, &snapshot.list) {
        table.list = Arc::new(fresh);
    }
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
                let entry = CachedExtension::new(ext)?;
                {
                    let mut extensions = lock(extensions_of(&obj));
                    extensions.add(entry);
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
