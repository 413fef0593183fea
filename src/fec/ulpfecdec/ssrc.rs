// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The decoder's state of one SSRC: its receiver, output stream, and the PTS of its recent
//! frames (a held or rebuilt packet goes out with its frame's PTS).

use std::collections::VecDeque;

use rtp2_core::fec::receiver::{Actions, UlpfecReceiver};

use crate::base::filter::StreamId;

pub(super) struct Ssrc {
    pub(super) receiver: UlpfecReceiver,
    pub(super) stream: StreamId,
    pub(super) last_use: u64,
    /// Extended sequence number and timestamp of the last packet handled here: where an FEC
    /// packet handed over by a peer decoder is placed.
    pub(super) last_ext: (u64, u64),
    /// A media packet of this SSRC came in (this decoder is the one its peers hand FEC to).
    pub(super) media_seen: bool,
    /// PTS of the first packet of each recent frame (RTP timestamp): what a held or rebuilt
    /// packet of that frame goes out with.
    pub(super) frame_pts: VecDeque<(u32, gst::ClockTime)>,
}

/// Most frames whose PTS is remembered.
const FRAME_PTS: usize = 64;

impl Ssrc {
    pub(super) fn note_pts(&mut self, timestamp: u32, pts: Option<gst::ClockTime>) {
        if let Some(pts) = pts
            && self.frame_pts.back().is_none_or(|(ts, _)| *ts != timestamp)
        {
            self.frame_pts.push_back((timestamp, pts));
            if self.frame_pts.len() > FRAME_PTS {
                self.frame_pts.pop_front();
            }
        }
    }

    /// The PTS of each packet of `actions.output`, from its frame's (`None`: unknown).
    pub(super) fn output_pts(&self, actions: &Actions) -> Vec<Option<gst::ClockTime>> {
        actions
            .output
            .iter()
            .map(|r| {
                let ts = u32::from_be_bytes(r.packet.get(4..8)?.try_into().ok()?);
                self.frame_pts
                    .iter()
                    .rev()
                    .find(|(t, _)| *t == ts)
                    .map(|(_, pts)| *pts)
            })
            .collect()
    }
}
