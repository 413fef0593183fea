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
use super::imp;
use gst::subclass::prelude::*;

use crate::base::filter::FilterPacket;
use rtp2_core::fec::extend_seqnum;

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

impl imp::RtpUlpFecDec {
    /// What names this decoder's group of peers: the `storage` given, else the parent bin.
    pub(super) fn group(&self) -> Option<usize> {
        let storage = lock(&self.settings).storage;
        storage.or_else(|| self.obj().parent().map(|p| p.as_ptr() as usize))
    }

    /// The decoder to hand FEC packets of `ssrc` to: only when this pad receives nothing but
    /// the FEC payload type (its caps say so, as after `rtpbin`'s demuxer) and no media of
    /// `ssrc` came here.
    pub(super) fn media_peer(&self, ssrc: u32, fec_pt: u32) -> Option<super::RtpUlpFecDec> {
        {
            let state = lock(&self.state);
            let fec_only = state
                .caps_payload
                .is_some_and(|p| u32::try_from(p).ok() == Some(fec_pt));
            if !fec_only || state.ssrcs.get(&ssrc).is_some_and(|s| s.media_seen) {
                return None;
            }
        }
        media_decoder(self.group()?, ssrc, &self.obj())
    }

    /// An FEC packet a peer decoder received, placed in this decoder's numbering (nearest
    /// to the last packet handled here).
    pub(super) fn take_peer_fec(&self, packet: &FilterPacket) {
        let result = self.with_receiver(packet.ssrc(), |s| {
            let (last_seq, last_ts) = s.last_ext;
            let ext = extend_seqnum(last_seq, packet.seqnum());
            let delta = packet.timestamp().wrapping_sub(last_ts as u32) as i32;
            let ts = last_ts.wrapping_add_signed(i64::from(delta));
            s.last_ext = (ext.max(last_seq), if ext > last_seq { ts } else { last_ts });
            let actions = s.receiver.on_fec(ext, ts, packet.payload());
            (s.stream, s.output_pts(&actions), actions)
        });
        if let Some((stream, output_pts, actions)) = result {
            self.apply(stream, actions, output_pts, packet.buffer().pts(), None);
        }
    }
}
