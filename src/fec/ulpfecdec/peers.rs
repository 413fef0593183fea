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

/// Forgets `decoder`'s entry for `ssrc` in `group` (it forgot that SSRC): the table holds at
/// most the SSRCs each live decoder follows.
pub(super) fn forget(group: usize, ssrc: u32, decoder: &RtpUlpFecDec) {
    let removed = {
        let mut table = lock(&MEDIA_DECODERS);
        match table.get(&(group, ssrc)).map(|d| d.upgrade()) {
            Some(Some(d)) if d == *decoder => table.remove(&(group, ssrc)).map(|_| d),
            _ => None,
        }
    };
    drop(removed);
}

/// Entries of `decoder` in the table.
#[cfg(test)]
pub(super) fn entries_of(decoder: &RtpUlpFecDec) -> usize {
    let alive: Vec<RtpUlpFecDec> = lock(&MEDIA_DECODERS)
        .values()
        .filter_map(|d| d.upgrade())
        .collect();
    alive.iter().filter(|d| *d == decoder).count()
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

#[cfg(test)]
mod tests {
    use gst::prelude::*;

    use super::*;

    /// A decoder in a bin (so it has a group) fed media of 100 SSRCs keeps at most the 16 it
    /// follows among the peers.
    #[test]
    fn the_table_holds_only_the_ssrcs_a_decoder_follows() {
        gst::init().unwrap();
        crate::plugin_register_static().ok();
        let pipeline = gst::parse::launch(
            "appsrc name=src format=time caps=application/x-rtp,clock-rate=90000 \
             ! rtpulpfecdec2 name=dec pt=122 ! fakesink sync=false",
        )
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let dec = pipeline
            .by_name("dec")
            .unwrap()
            .downcast::<RtpUlpFecDec>()
            .unwrap();
        let src = pipeline.by_name("src").unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        for ssrc in 0..100u32 {
            let mut p = vec![0x80, 96, 0, 1, 0, 0, 0, 0];
            p.extend_from_slice(&ssrc.to_be_bytes());
            p.extend_from_slice(&[1, 2, 3]);
            let flow: gst::FlowReturn =
                src.emit_by_name("push-buffer", &[&gst::Buffer::from_mut_slice(p)]);
            assert_eq!(flow, gst::FlowReturn::Ok);
        }
        let _: gst::FlowReturn = src.emit_by_name("end-of-stream", &[]);
        let bus = pipeline.bus().unwrap();
        bus.timed_pop_filtered(gst::ClockTime::from_seconds(10), &[gst::MessageType::Eos])
            .expect("EOS");
        let entries = entries_of(&dec);
        pipeline.set_state(gst::State::Null).unwrap();
        assert!((1..=16).contains(&entries), "{entries} entries");
        assert_eq!(entries_of(&dec), 0, "forgotten when stopped");
    }
}
