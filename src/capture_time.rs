// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Capture time of a buffer: a `GstReferenceTimestampMeta` with reference `timestamp/x-ntp`
//! (the sender's capture time on its wall clock, as the abs-capture-time and RFC 6051 NTP-64
//! header extensions carry it, or the NTP time rtpjitterbuffer
//! `add-reference-timestamp-meta` derives from RTCP sender reports), and how long ago that
//! was on this host's wall clock. Both wall clocks are assumed synchronised (NTP, PTP), as
//! for any one-way delay measurement. Used by the depayloaders' `stats` and the
//! `rtp-metrics` tracer.

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970), RFC 5905 §6.
const NTP_UNIX_OFFSET_NS: u64 = 2_208_988_800 * 1_000_000_000;

/// The capture time of `buffer` (nanoseconds since 1900): its first reference timestamp
/// meta of reference `timestamp/x-ntp`. No allocation: the reference caps' name is compared.
pub(crate) fn capture_time_ns(buffer: &gst::BufferRef) -> Option<u64> {
    if !has_meta(buffer) {
        return None;
    }
    buffer
        .iter_meta::<gst::ReferenceTimestampMeta>()
        .find(|m| {
            m.reference()
                .structure(0)
                .is_some_and(|s| s.name() == "timestamp/x-ntp")
        })
        .map(|m| m.timestamp().nseconds())
}

/// Whether `buffer` has any meta: most buffers have none, and one call tells (the typed
/// walk first asks GStreamer for the meta API's type, then walks).
#[inline]
fn has_meta(buffer: &gst::BufferRef) -> bool {
    let mut state = std::ptr::null_mut();
    // SAFETY: `buffer` is a valid buffer borrowed for the call; iterating only reads it,
    // and `state` starts the walk as GStreamer documents.
    unsafe { !gst::ffi::gst_buffer_iterate_meta(buffer.as_mut_ptr(), &mut state).is_null() }
}

/// This host's wall clock now, in nanoseconds since 1900.
pub(crate) fn now_ntp_ns() -> u64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    unix.saturating_add(NTP_UNIX_OFFSET_NS)
}

/// How long ago (ns, negative if in the future) `buffer` was captured, if it says.
#[inline]
pub(crate) fn latency_of(buffer: &gst::BufferRef) -> Option<i64> {
    if !has_meta(buffer) {
        return None;
    }
    latency_of_captured(buffer)
}

/// [`latency_of`] of a buffer carrying metas.
#[inline(never)]
fn latency_of_captured(buffer: &gst::BufferRef) -> Option<i64> {
    let capture = capture_time_ns(buffer)?;
    let now = now_ntp_ns();
    Some(if now >= capture {
        i64::try_from(now - capture).unwrap_or(i64::MAX)
    } else {
        i64::try_from(capture - now).map_or(i64::MIN, |d| -d)
    })
}
