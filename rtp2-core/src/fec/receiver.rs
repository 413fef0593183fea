// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The ULPFEC receiver of one SSRC when FEC packets travel inside the media stream (RFC 5109
//! carried with RFC 2198, as WebRTC and GStreamer's `rtpulpfecenc` send it): FEC and media
//! share one sequence-number space. The receiver takes the FEC packets out and renumbers the
//! media densely, so that a depayloader downstream sees no gap for an FEC packet, received
//! or lost, and still sees one for each lost media packet it could not rebuild.
//!
//! Whether a lost packet was media or FEC: it was media when a held FEC packet protects it
//! (its mask names it), and it is taken for an FEC packet when it sits between the last
//! packet of a frame (marker set) and the first packet of the next frame, one frame interval
//! later (senders put a frame's FEC packets right after it). Anything else counts as media
//! loss: a lost FEC packet can be counted as media loss, never the other way round, except
//! for a whole frame lost together with its FEC packets whose timestamps cannot show it.

use std::collections::{BTreeSet, VecDeque};

use super::recovery::{Recovered, RecoveryWindow, WindowLimits};
use super::ulpfec::UlpfecError;

/// Most removed sequence numbers remembered to renumber late recovered packets.
const REMOVED_HISTORY: usize = 1024;
/// Most lost media sequence numbers remembered, waiting for recovery.
const LOST_HISTORY: usize = 1024;

/// What the element does after a packet.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Actions {
    /// Input sequence numbers taken out of the media numbering (FEC packets, received or
    /// taken as lost), before the packet being handled is forwarded.
    pub skip: u64,
    /// Rebuilt packets, each with the output sequence number already written in.
    pub recovered: Vec<Recovered>,
    /// Why the FEC packet handled could not be used (it is still taken out).
    pub invalid: Option<UlpfecError>,
}

/// Counters of a receiver.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Media packets rebuilt.
    pub recovered: u64,
    /// Lost packets counted as media and not (yet) rebuilt.
    pub unrecovered: u64,
    /// Lost packets taken for FEC packets (no gap downstream).
    pub fec_lost: u64,
    /// FEC packets received.
    pub fec_received: u64,
}

#[derive(Debug, Clone, Copy)]
struct LastMedia {
    ext_timestamp: u64,
    marker: bool,
}

/// The receiver of one SSRC.
#[derive(Debug)]
pub struct UlpfecReceiver {
    window: RecoveryWindow,
    last_seen: Option<u64>,
    last_media: Option<LastMedia>,
    frame_interval: Option<u64>,
    removed: VecDeque<u64>,
    removed_before: u64,
    lost: BTreeSet<u64>,
    stats: ReceiverStats,
}

impl UlpfecReceiver {
    /// A receiver for `ssrc` with a window of `limits` (its time in RTP ticks).
    pub fn new(ssrc: u32, limits: WindowLimits) -> Self {
        UlpfecReceiver {
            window: RecoveryWindow::new(ssrc, limits),
            last_seen: None,
            last_media: None,
            frame_interval: None,
            removed: VecDeque::new(),
            removed_before: 0,
            lost: BTreeSet::new(),
            stats: ReceiverStats::default(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> ReceiverStats {
        self.stats
    }

    /// Packets held by the window (media, FEC).
    pub fn held(&self) -> (usize, usize) {
        self.window.len()
    }

    /// A media packet (whole RTP packet) with its extended sequence number and timestamp.
    pub fn on_media(&mut self, ext_seqnum: u64, ext_timestamp: u64, packet: &[u8]) -> Actions {
        let marker = packet.get(1).is_some_and(|b| b & 0x80 != 0);
        let mut actions = Actions::default();
        let gap = self.gap_before(ext_seqnum);
        let gap_seqs = gap.clone();
        let mut media_gap = false;
        if !gap.is_empty() {
            let fec_only = gap
                .clone()
                .all(|s| !self.window.is_protected(s) && !self.window.has_media(s))
                && self.last_media.is_some_and(|last| {
                    last.marker
                        && self.frame_interval == ext_timestamp.checked_sub(last.ext_timestamp)
                });
            if fec_only {
                self.stats.fec_lost += gap.end - gap.start;
                actions.skip += self.remove(gap);
            } else {
                media_gap = true;
                self.media_lost(gap);
            }
        }
        if let Some(last) = self.last_media
            && ext_timestamp > last.ext_timestamp
            && !media_gap
        {
            self.frame_interval = Some(ext_timestamp - last.ext_timestamp);
        }
        self.last_media = Some(LastMedia {
            ext_timestamp,
            marker,
        });
        self.last_seen = self.last_seen.max(Some(ext_seqnum));
        let mut recovered = self.rebuilt_early(gap_seqs);
        recovered.extend(self.window.insert_media(ext_seqnum, packet, ext_timestamp));
        actions.recovered = self.renumber(recovered);
        actions
    }

    /// An FEC packet's payload (after its RTP header) with its extended sequence number and
    /// timestamp. The FEC packet itself is taken out of the numbering (`skip` counts it),
    /// even when it is broken (`invalid`).
    pub fn on_fec(&mut self, ext_seqnum: u64, ext_timestamp: u64, payload: &[u8]) -> Actions {
        let gap = self.gap_before(ext_seqnum);
        let gap_seqs = gap.clone();
        let inserted = self.window.insert_fec(ext_seqnum, payload, ext_timestamp);
        let mut actions = Actions::default();
        // Lost right before an FEC packet: media if an FEC packet names it, else an FEC
        // packet of the same frame.
        for s in gap {
            if self.window.is_protected(s) || self.window.has_media(s) {
                self.media_lost(s..s + 1);
            } else {
                self.stats.fec_lost += 1;
                actions.skip += self.remove(s..s + 1);
            }
        }
        self.last_seen = self.last_seen.max(Some(ext_seqnum));
        if inserted.is_ok() {
            self.stats.fec_received += 1;
        }
        actions.skip += self.remove(ext_seqnum..ext_seqnum + 1);
        let mut recovered = self.rebuilt_early(gap_seqs);
        match inserted {
            Ok(rec) => recovered.extend(rec),
            Err(err) => actions.invalid = Some(err),
        }
        actions.recovered = self.renumber(recovered);
        actions
    }

    /// Output sequence number of input `ext_seqnum` (removed numbers before it subtracted).
    pub fn output_seqnum(&self, ext_seqnum: u64) -> u64 {
        let later = self
            .removed
            .iter()
            .rev()
            .take_while(|&&r| r > ext_seqnum)
            .count() as u64;
        let total = self.removed_before + self.removed.len() as u64;
        ext_seqnum.wrapping_sub(total - later)
    }

    /// Forgets packets and history (a flush).
    pub fn clear(&mut self) {
        self.window.clear();
        self.last_seen = None;
        self.last_media = None;
        self.lost.clear();
    }

    fn gap_before(&self, ext_seqnum: u64) -> std::ops::Range<u64> {
        match self.last_seen {
            Some(last) if ext_seqnum > last + 1 => last + 1..ext_seqnum,
            _ => 0..0,
        }
    }

    /// Lost packets the window rebuilt before they were missed (their FEC packet came
    /// first).
    fn rebuilt_early(&self, gap: std::ops::Range<u64>) -> Vec<Recovered> {
        gap.filter(|s| self.lost.contains(s))
            .filter_map(|s| {
                self.window.media_packet(s).map(|p| Recovered {
                    ext_seqnum: s,
                    packet: p.to_vec(),
                })
            })
            .collect()
    }

    fn media_lost(&mut self, gap: std::ops::Range<u64>) {
        for s in gap {
            self.stats.unrecovered += 1;
            self.lost.insert(s);
        }
        while self.lost.len() > LOST_HISTORY {
            self.lost.pop_first();
        }
    }

    fn remove(&mut self, seqs: std::ops::Range<u64>) -> u64 {
        let n = seqs.end - seqs.start;
        self.removed.extend(seqs);
        while self.removed.len() > REMOVED_HISTORY {
            self.removed.pop_front();
            self.removed_before += 1;
        }
        n
    }

    fn renumber(&mut self, recovered: Vec<Recovered>) -> Vec<Recovered> {
        recovered
            .into_iter()
            .filter_map(|mut r| {
                // Rebuilt before it was missed, or after it arrived: nothing to send.
                if self.last_seen.is_none_or(|l| r.ext_seqnum > l)
                    || !self.lost.remove(&r.ext_seqnum)
                {
                    return None;
                }
                self.stats.recovered += 1;
                self.stats.unrecovered = self.stats.unrecovered.saturating_sub(1);
                let out = self.output_seqnum(r.ext_seqnum);
                if let Some(seq) = r.packet.get_mut(2..4) {
                    seq.copy_from_slice(&(out as u16).to_be_bytes());
                }
                r.ext_seqnum = out;
                Some(r)
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "receiver_tests.rs"]
mod tests;
