// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! One extension of the table with what the per-packet paths need of it, asked once: id,
//! forms, maximum size, and how its `read` and `write` are called.

use gst::glib;
use gst::glib::translate::IntoGlib;
use gst::prelude::*;
use gst_rtp::prelude::*;

use super::MAX_ELEMENT_LEN;

/// One configured extension with what the writer needs of it every packet, asked once when
/// the extension is added or its caps change (see [`super::refresh`]), not per packet.
#[derive(Debug, Clone)]
pub struct CachedExtension {
    pub(super) ext: gst_rtp::RTPHeaderExtension,
    pub(super) id: u8,
    pub(super) one_byte: bool,
    pub(super) max_size: usize,
    /// The CVO extension: a depayloader looks for an orientation on its outputs only then.
    pub(super) orientation: bool,
    /// Whether a read can ask for a caps update: only an extension whose class implements
    /// `update_non_rtp_src_caps` (for the others the update is a no-op) and that is not one
    /// of this plugin's framework elements (which never ask). The others are not asked
    /// `wants_update_non_rtp_src_caps` after every read (a call into GObject per element).
    pub(super) may_update_caps: bool,
    /// How a read and a write are made, chosen once.
    pub(super) calls: Calls,
}

/// The `read` vfunc signature of `GstRTPHeaderExtensionClass`.
type ReadVfunc = unsafe extern "C" fn(
    *mut gst_rtp::ffi::GstRTPHeaderExtension,
    gst_rtp::ffi::GstRTPHeaderExtensionFlags,
    *const u8,
    usize,
    *mut gst::ffi::GstBuffer,
) -> glib::ffi::gboolean;

/// The `write` vfunc signature of `GstRTPHeaderExtensionClass`.
type WriteVfunc = unsafe extern "C" fn(
    *mut gst_rtp::ffi::GstRTPHeaderExtension,
    *const gst::ffi::GstBuffer,
    gst_rtp::ffi::GstRTPHeaderExtensionFlags,
    *mut gst::ffi::GstBuffer,
    *mut u8,
    usize,
) -> isize;

/// How an extension's `read` and `write` are called. `gst_rtp_header_extension_read` and
/// `_write` check their arguments (instance and buffer types, a writable buffer) before
/// calling the class's vfunc: about 150 instructions per element, more than a twcc read
/// itself. Here the types are checked once when the extension is cached (and the buffer's
/// writability once per packet), so the vfunc is called directly.
#[derive(Debug, Clone, Copy)]
pub(super) enum Calls {
    /// One of this plugin's elements: its Rust read and write, without any GObject call.
    Direct(crate::hdrext::DirectCalls),
    /// The class's vfuncs (`None`: the class has none, `gst_rtp_header_extension_*` refuses).
    Vfuncs(Option<ReadVfunc>, Option<WriteVfunc>),
}

impl CachedExtension {
    /// Lets the extension write its element for `output` into `data` (see [`Calls`]).
    pub(super) fn write(
        &self,
        input: &gst::Buffer,
        flags: gst_rtp::RTPHeaderExtensionFlags,
        output: &gst::BufferRef,
        writable: bool,
        data: &mut [u8],
    ) -> Result<usize, glib::BoolError> {
        match self.calls {
            Calls::Direct(direct) => match (direct.write)(&self.ext, input, flags, output, data) {
                Some(n) => Ok(n),
                None => Err(glib::bool_error!("not the element it was cached as")),
            },
            Calls::Vfuncs(_, Some(vfunc)) if writable => {
                // SAFETY: `vfunc` is the `write` of the class of `self.ext` (taken from it
                // when cached; an instance's class never changes), `self.ext` is alive,
                // `input` and `output` are buffers (`output` writable, checked by the
                // caller), and `data` is valid for its length during the call: what
                // gst_rtp_header_extension_write checks before making this same call.
                let n = unsafe {
                    vfunc(
                        self.ext.as_ptr(),
                        input.as_ptr(),
                        flags.into_glib(),
                        output.as_mut_ptr(),
                        data.as_mut_ptr(),
                        data.len(),
                    )
                };
                usize::try_from(n).map_err(|_| glib::bool_error!("write failed"))
            }
            Calls::Vfuncs(..) => self.ext.write(input, flags, output, data),
        }
    }

    /// Asks `ext` for its id, forms and maximum size (vfuncs of another object: call without
    /// an element lock). `None` when its id does not fit a byte (it could never be written
    /// or read).
    pub fn new(ext: gst_rtp::RTPHeaderExtension) -> Option<Self> {
        let id = u8::try_from(ext.id()).ok()?;
        let one_byte = ext
            .supported_flags()
            .contains(gst_rtp::RTPHeaderExtensionFlags::ONE_BYTE);
        // The C API passes the input buffer, but extensions size themselves from their
        // attributes and caps (colorspace: HDR or not), which `refresh` follows.
        let max_size = ext.max_size(&gst::Buffer::new()).min(MAX_ELEMENT_LEN);
        let orientation = ext
            .uri()
            .is_some_and(|u| u.as_str() == crate::base::orientation::CVO_URI);
        let class: &gst_rtp::ffi::GstRTPHeaderExtensionClass = ext.class().as_ref();
        let calls = match crate::hdrext::direct_calls(ext.type_()) {
            Some(direct) => Calls::Direct(direct),
            None => Calls::Vfuncs(class.read, class.write),
        };
        let may_update_caps =
            class.update_non_rtp_src_caps.is_some() && !matches!(calls, Calls::Direct(_));
        Some(CachedExtension {
            ext,
            id,
            one_byte,
            max_size,
            orientation,
            may_update_caps,
            calls,
        })
    }
}
