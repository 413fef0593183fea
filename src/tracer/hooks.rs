// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The per-packet hooks (`pad-push-pre`, `pad-push-list-pre`), registered with GStreamer
//! directly rather than through the bindings' generic trampolines: most pushes are on idle
//! pads (ghost and proxy pads, pads not carrying RTP and timing nothing), and for those the
//! hook is the pad look-up, one load, and back; a single buffer on a latency-only pad (our
//! element's output) or a hand-off pad (into our depayloader or filter, `super::handoff`)
//! is done here too; the tracer object is only reached on pads with more work.

use glib::translate::*;
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::pad::PadProbe;

/// Registers the push hooks of `tracer`.
pub(super) fn register(tracer: &super::RtpMetricsTracer) {
    type PushPre = unsafe extern "C" fn(
        *mut glib::gobject_ffi::GObject,
        u64,
        *mut gst::ffi::GstPad,
        *mut gst::ffi::GstBuffer,
    );
    type PushListPre = unsafe extern "C" fn(
        *mut glib::gobject_ffi::GObject,
        u64,
        *mut gst::ffi::GstPad,
        *mut gst::ffi::GstBufferList,
    );
    super::handoff::activate();
    let raw: *mut gst::ffi::GstTracer = tracer.upcast_ref::<gst::Tracer>().to_glib_none().0;
    // SAFETY: the hook signatures are GStreamer's `GstTracerHookPadPushPre` and
    // `GstTracerHookPadPushListPre` (gsttracerutils.h), which GStreamer calls through the
    // `GCallback` it stores; the tracer outlives its hooks (tracers are never freed while
    // registered).
    unsafe {
        gst::ffi::gst_tracing_register_hook(
            raw,
            c"pad-push-pre".as_ptr(),
            Some(std::mem::transmute::<PushPre, unsafe extern "C" fn()>(
                push_pre,
            )),
        );
        gst::ffi::gst_tracing_register_hook(
            raw,
            c"pad-push-list-pre".as_ptr(),
            Some(std::mem::transmute::<PushListPre, unsafe extern "C" fn()>(
                push_list_pre,
            )),
        );
    }
}

/// `pad-push-pre`: `buffer` is about to be pushed on `pad` at `ts`.
unsafe extern "C" fn push_pre(
    tracer: *mut glib::gobject_ffi::GObject,
    ts: u64,
    pad: *mut gst::ffi::GstPad,
    buffer: *mut gst::ffi::GstBuffer,
) {
    let probe = PadProbe::cached(pad as usize);
    // SAFETY: GStreamer's arguments: this tracer, a live buffer.
    let done = probe.is_some_and(|p| unsafe { p.on_single_push(tracer, ts, pad, buffer) });
    if !done {
        // SAFETY: GStreamer's arguments, passed on.
        unsafe { push_pre_work(tracer, ts, pad, buffer, probe) }
    }
}

/// [`push_pre`] on a pad with work, or not known yet (`probe`: its cached probe).
///
/// # Safety
/// GStreamer's arguments to the hook: this tracer, a live pad and buffer.
#[inline(never)]
unsafe fn push_pre_work(
    tracer: *mut glib::gobject_ffi::GObject,
    ts: u64,
    pad: *mut gst::ffi::GstPad,
    buffer: *mut gst::ffi::GstBuffer,
    probe: Option<&PadProbe>,
) {
    let probe = match probe {
        Some(p) => p,
        None => {
            // Not in this thread's table (yet, or any more): a hand-off pad's push must
            // still only be noted, as in `push_pre`.
            // SAFETY: per the contract: a live pad, borrowed for the call.
            let p = PadProbe::get(unsafe { gst::Pad::from_glib_ptr_borrow(&pad) });
            // SAFETY: per the contract.
            if unsafe { p.on_single_push(tracer, ts, pad, buffer) } {
                return;
            }
            p
        }
    };
    // SAFETY: per the contract: a live buffer, borrowed for the call.
    let buffer = unsafe { gst::BufferRef::from_ptr(buffer) };
    // SAFETY: per the contract.
    unsafe { push_work(tracer, ts, pad, Some(probe), 1, || std::iter::once(buffer)) }
}

/// `pad-push-list-pre`: `list` is about to be pushed on `pad` at `ts`.
unsafe extern "C" fn push_list_pre(
    tracer: *mut glib::gobject_ffi::GObject,
    ts: u64,
    pad: *mut gst::ffi::GstPad,
    list: *mut gst::ffi::GstBufferList,
) {
    let probe = PadProbe::cached(pad as usize);
    if !probe.is_some_and(PadProbe::is_idle) {
        // SAFETY: GStreamer's arguments, passed on.
        unsafe { push_list_pre_work(tracer, ts, pad, list, probe) }
    }
}

/// [`push_list_pre`] on a pad with work, or not known yet.
///
/// # Safety
/// As [`push_pre_work`]'s, with a live list.
#[inline(never)]
unsafe fn push_list_pre_work(
    tracer: *mut glib::gobject_ffi::GObject,
    ts: u64,
    pad: *mut gst::ffi::GstPad,
    list: *mut gst::ffi::GstBufferList,
    probe: Option<&PadProbe>,
) {
    // SAFETY: per the contract: a live list, borrowed for the call.
    let list = unsafe { gst::BufferListRef::from_ptr(list) };
    // SAFETY: per the contract.
    unsafe { push_work(tracer, ts, pad, probe, list.len() as u64, || list.iter()) }
}

/// What both push hooks do on a pad with work: the pad's probe (looked up when not cached),
/// then the tracer's accounting of `count` buffers.
///
/// # Safety
/// GStreamer's arguments to the hook: this tracer and a live pad.
unsafe fn push_work<'a, I: Iterator<Item = &'a gst::BufferRef>>(
    tracer: *mut glib::gobject_ffi::GObject,
    ts: u64,
    pad: *mut gst::ffi::GstPad,
    probe: Option<&PadProbe>,
    count: u64,
    buffers: impl FnOnce() -> I,
) {
    // SAFETY: per the contract: a live pad, borrowed for the call, and this tracer (it
    // registered the hooks on itself).
    unsafe {
        let pad = gst::Pad::from_glib_ptr_borrow(&pad);
        let probe = match probe {
            Some(p) => p,
            None => PadProbe::get(pad),
        };
        if probe.is_idle() {
            return;
        }
        glib::Object::from_glib_ptr_borrow(&tracer)
            .unsafe_cast_ref::<super::RtpMetricsTracer>()
            .imp()
            .push(probe, ts, pad, count, buffers);
    }
}
