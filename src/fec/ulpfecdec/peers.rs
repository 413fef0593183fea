// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Decoders that share one stream. `rtpbin`'s `request-fec-decoder-full` places a decoder
//! after its payload-type demuxer, one per (SSRC, payload type): the decoder of the media
//! payload type never receives the FEC packets, which leave the demuxer on the FEC payload
//! type's pad, into a decoder of their own (C's `rtpulpfecdec` reads them from `rtpstorage`
//! instead, through functions private to its plugin). Decoders of one group (the `storage`
//! object they were given, else their parent bin: one `rtpbin` session) find each other
//! here by SSRC: the one that receives media registers; one whose caps say it receives only
//! the FEC payload type hands its FEC packets to it. The demuxer pushes both pads from the
//! jitterbuffer's one thread, in sequence order, so the media decoder sees the stream whole.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;

use crate::base::extensions::lock;

use super::RtpUlpFecDec;

/// A group (address of the object naming it) and an SSRC.
type Key = (usize, u32);

static MEDIA_DECODERS: LazyLock<Mutex<HashMap<Key, glib::WeakRef<RtpUlpFecDec>>>> =
    LazyLock::new(Default::default);

/// Makes `decoder` the media decoder of `ssrc` in `group` (when none alive is); entries of
/// decoders gone are dropped on the way, so the table holds only live decoders' SSRCs.
pub(super) fn register(group: usize, ssrc: u32, decoder: &RtpUlpFecDec) {
    let mut alive = Vec::new();
    {
        let mut table = lock(&MEDIA_DECODERS);
        table.retain(|_, d| d.upgrade().map(|d| alive.push(d)).is_some());
        table
            .entry((group, ssrc))
            .or_insert_with(|| decoder.downgrade());
    }
    // The references taken are let go with the table unlocked (a last one finalizes).
    drop(alive);
}

/// The media decoder of `ssrc` in `group`, when it is another element than `asking`.
pub(super) fn media_decoder(
    group: usize,
    ssrc: u32,
    asking: &RtpUlpFecDec,
) -> Option<RtpUlpFecDec> {
    let found = lock(&MEDIA_DECODERS).get(&(group, ssrc))?.upgrade()?;
    (found != *asking).then_some(found)
}

/// Forgets every entry of `decoder` (it stops).
pub(super) fn unregister(decoder: &RtpUlpFecDec) {
    let mut alive = Vec::new();
    lock(&MEDIA_DECODERS).retain(|_, d| {
        d.upgrade()
            .filter(|d| d != decoder)
            .map(|d| alive.push(d))
            .is_some()
    });
    drop(alive);
}
