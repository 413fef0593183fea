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
use gst::glib::translate::IntoGlib;
use gst::prelude::*;
use gst_rtp::prelude::*;
use rtp2_core::hdrext::{ExtensionForm, element_header, parse_elements};

mod cached;
mod negotiation;

pub use cached::CachedExtension;
use cached::Calls;
pub use negotiation::{
    auto_header_extension_pspec, configure_from_caps, extensions_pspec, refresh, signals,
};

/// Largest element payload the two-byte form can carry (RFC 8285 §4.3).
const MAX_ELEMENT_LEN: usize = 255;

/// Bytes of element data written on the stack (more go to the heap).
const STACK_BLOCK: usize = 512;

/// The bytes of an extension block, on the stack for the usual few small elements.
pub type ExtensionBlockData = smallvec::SmallVec<[u8; 64]>;

/// An extension block as written for one packet: (profile, data padded to 32 bits). On the
/// stack for the usual few small elements.
pub type ExtensionBlock = (u16, ExtensionBlockData);

/// The header extensions of one element, by id: an immutable list, cheap to clone (a
/// snapshot), replaced as a whole when it changes (see the module's lock rule).
#[derive(Debug, Default, Clone)]
pub struct HeaderExtensions {
    list: Arc<Vec<CachedExtension>>,
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
    pub fn add(&mut self, ext: CachedExtension) {
        let id = ext.id;
        let list = Arc::make_mut(&mut self.list);
        list.retain(|e| e.id != id);
        list.push(ext);
        list.sort_by_key(|e| e.id);
    }

    /// A table of these extensions (ids as they are).
    pub fn from_list(list: Vec<gst_rtp::RTPHeaderExtension>) -> Self {
        HeaderExtensions {
            list: Arc::new(list.into_iter().filter_map(CachedExtension::new).collect()),
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
        self.list.iter().map(|e| &e.ext)
    }

    /// The `extensions` property value.
    pub fn to_value_array(&self) -> gst::Array {
        gst::Array::new(self.iter().map(|e| e.to_send_value()))
    }

    /// Whether a CVO extension is configured (it reads the orientation into outputs).
    pub fn reads_orientation(&self) -> bool {
        self.list.iter().any(|e| e.orientation)
    }

    /// The extension with this id, if any.
    pub fn by_id(&self, id: u8) -> Option<&gst_rtp::RTPHeaderExtension> {
        self.list.iter().find(|e| e.id == id).map(|e| &e.ext)
    }

    /// Upper bound of the bytes the extension block adds to a packet (0 when no extension
    /// is configured), used to keep packets within the MTU.
    pub fn max_overhead(&self) -> usize {
        if self.list.is_empty() {
            return 0;
        }
        // Two-byte form: 2 header bytes per element; the block has a 4-byte header and is
        // padded to 32 bits (RFC 8285 §4.3, RFC 3550 §5.3.1).
        let elements: usize = self.list.iter().map(|e| 2 + e.max_size).sum();
        4 + elements.div_ceil(4) * 4
    }

    /// Lets every extension write its element for the packet `output` made from `input`;
    /// returns the (profile, data) extension block, or `None` when nothing was written. The
    /// elements are written in place into one stack buffer (no copy, no allocation for the
    /// usual few small elements).
    pub fn write(
        &self,
        element: &gst::Element,
        input: &gst::Buffer,
        output: &gst::Buffer,
    ) -> Option<ExtensionBlock> {
        if self.list.is_empty() {
            return None;
        }
        // Element data back to back, on the stack unless the sizes add up to more;
        // (id, start, len) per written element.
        let total: usize = self.list.iter().map(|e| e.max_size).sum();
        let mut stack = [0u8; STACK_BLOCK];
        let mut heap = Vec::new();
        let data: &mut [u8] = if total <= STACK_BLOCK {
            &mut stack[..total]
        } else {
            heap.resize(total, 0);
            &mut heap
        };
        let mut elements: smallvec::SmallVec<[(u8, usize, usize); 8]> = smallvec::SmallVec::new();
        // What gst_rtp_header_extension_write checks per element, once per packet.
        let writable = output.is_writable();
        let mut form = ExtensionForm::OneByte;
        let mut pos = 0;
        for entry in self.list.iter() {
            let (id, max) = (entry.id, entry.max_size);
            // Ask for the form the block will most likely use; a larger element switches the
            // whole block to the two-byte form below.
            let flags = if entry.one_byte && form == ExtensionForm::OneByte {
                gst_rtp::RTPHeaderExtensionFlags::ONE_BYTE
            } else {
                gst_rtp::RTPHeaderExtensionFlags::TWO_BYTE
            };
            match entry.write(input, flags, output, writable, &mut data[pos..pos + max]) {
                Ok(0) => {}
                Ok(len) => {
                    let len = len.min(max);
                    if !entry.one_byte
                        || ExtensionForm::for_element(id, len) != Some(ExtensionForm::OneByte)
                    {
                        form = ExtensionForm::TwoByte;
                    }
                    elements.push((id, pos, len));
                    pos += len;
                }
                Err(err) => {
                    gst::warning!(
                        crate::CAT,
                        obj = element,
                        "Header extension {} (id {id}) failed to write: {err}",
                        entry.ext.uri().unwrap_or_default()
                    );
                }
            }
        }
        // The block: element headers and data, padded with zeros to 32 bits; sized once
        // (room for the largest headers and the padding) and cut to length.
        let mut block: ExtensionBlockData = smallvec::smallvec![0; pos + 2 * elements.len() + 3];
        let mut at = 0;
        for &(id, start, len) in &elements {
            match element_header(form, id, len) {
                Ok((header, n)) => {
                    block[at..at + n].copy_from_slice(&header[..n]);
                    block[at + n..at + n + len].copy_from_slice(&data[start..start + len]);
                    at += n + len;
                }
                Err(err) => gst::warning!(
                    crate::CAT,
                    obj = element,
                    "Dropping header extension element: {err}"
                ),
            }
        }
        if at == 0 {
            return None;
        }
        block.truncate(at.div_ceil(4) * 4);
        Some((form.profile(), block))
    }

    /// Reads the extension blocks of the packets an output was made from (in sequence order)
    /// into metas on `output`; an element whose id and bytes an earlier block carried is
    /// read once. Returns true when an extension asked for the non-RTP source caps to be
    /// updated.
    pub fn read<D: AsRef<[u8]>>(
        &self,
        element: &gst::Element,
        blocks: &[(u16, D)],
        output: &mut gst::BufferRef,
    ) -> bool {
        let mut read: smallvec::SmallVec<[(u8, &[u8]); 4]> = smallvec::SmallVec::new();
        let mut wants_caps_update = false;
        let several = blocks.len() > 1;
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
            let Ok(elements) = parse_elements(*profile, data.as_ref()) else {
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
                let Some(cached) = self.list.iter().find(|e| e.id == item.id) else {
                    continue;
                };
                let ext = &cached.ext;
                // Only an output made from several packets can see an element twice.
                if several {
                    if read.contains(&(item.id, item.data)) {
                        continue;
                    }
                    read.push((item.id, item.data));
                }
                let read_ok = match cached.calls {
                    Calls::Direct(direct) => (direct.read)(ext, item.data, output),
                    // SAFETY: `vfunc` is the `read` of the class of `ext` (taken from it when
                    // cached; an instance's class never changes), `ext` is alive, `item.data`
                    // is valid for its length during the call and `output` is a writable
                    // buffer (borrowed mutably): what gst_rtp_header_extension_read checks
                    // before making this same call.
                    Calls::Vfuncs(Some(vfunc), _) => unsafe {
                        vfunc(
                            ext.as_ptr(),
                            flags.into_glib(),
                            item.data.as_ptr(),
                            item.data.len(),
                            output.as_mut_ptr(),
                        ) != glib::ffi::GFALSE
                    },
                    Calls::Vfuncs(None, _) => ext.read(flags, item.data, output),
                };
                if !read_ok {
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
                wants_caps_update |= cached.may_update_caps && ext.wants_update_non_rtp_src_caps();
            }
        }
        wants_caps_update
    }

    /// Lets extensions that asked for it update the caps of the non-RTP side.
    pub fn update_non_rtp_caps(&self, caps: &mut gst::CapsRef) {
        for ext in self.iter() {
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
        for ext in self.iter() {
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
        for ext in self.iter() {
            ext.set_caps_from_attributes(caps);
        }
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the data here is
/// always left consistent).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
