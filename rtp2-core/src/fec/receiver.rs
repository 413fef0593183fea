// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The ULPFEC receiver of one SSRC when FEC packets travel inside the media stream (RFC 5109
//! carried with RFC 2198, as WebRTC and GStreamer's `rtpulpfecenc` send it): FEC and media
//! share one sequence-number space. The receiver takes the FEC packets out and renumbers the
//! media densely, so that a depayloader downstream sees no gap for an FEC packet, received
//! or lost, and still sees one for each lost media packet it could not rebuild.
//!
//! Whether a lost packet was media or FEC: senders put a group's FEC packets right after its
//! media (a group: a frame, marker set on its last packet, or several), and an FEC packet's
//! span (SN base to its last protected number) holds only media. So a lost number is media
//! when it lies inside a received FEC packet's span or inside a frame (same timestamp on
//! both sides); it is FEC when it lies after a complete frame and before an FEC packet
//! (outside that packet's span), or before the first packet of a group whose first FEC
//! packet (the one right after the group's last media packet) arrived: that packet's SN base
//! is the group's start. A gap between two frames is decided when the second frame's FEC
//! packets have come: that frame is held meanwhile (one frame of latency, only after a
//! loss). A frame with a loss inside waits for its FEC packets too, so that a rebuilt packet
//! leaves in its place. A lost number that nothing decides (the FEC packets that would tell
//! are lost too) leaves no gap, and the next packet out carries a DISCONT: a depayloader
//! learns that media may be missing, and a lost FEC packet never makes a gap.

use std::collections::BTreeSet;

use super::extend_seqnum;
use super::recovery::{Recovered, RecoveryWindow, WindowLimits};
use super::ulpfec::{FecPacket, UlpfecError};

/// Most removed sequence numbers remembered to renumber late recovered packets.
const REMOVED_HISTORY: usize = 1024;
/// Most lost media sequence numbers remembered, waiting for recovery.
const LOST_HISTORY: usize = 1024;

/// Most media packets held while a gap is undecided.
const MAX_HELD: usize = 96;
/// Most group starts remembered.
const GROUP_STARTS: usize = 64;

/// What the element does after a packet, in this order: take `skip` input numbers out of the
/// stream, send `output` (whole packets, output numbers written in), then forward the packet
/// handled when `forward_current`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Actions {
    /// Input sequence numbers taken out of the media numbering (FEC packets, received or
    /// lost).
    pub skip: u64,
    /// Packets to send before the current one: recovered packets and released held ones,
    /// each with its output sequence number written in.
    pub output: Vec<Recovered>,
    /// Forward the packet handled (a media packet not held).
    pub forward_current: bool,
    /// Why the FEC packet handled could not be used (it is still taken out).
    pub invalid: Option<UlpfecError>,
    /// The first packet of `output` follows a lost number that could have been media: mark
    /// it DISCONT.
    pub discont: bool,
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
    /// Lost packets neither shown media nor FEC: no gap, a DISCONT on the next packet.
    pub uncertain: u64,
}

#[derive(Debug, Clone, Copy)]
struct LastSeen {
    ext_seqnum: u64,
    /// A media packet with the marker bit, or an FEC packet (both end what came before).
    ends_frame: bool,
    /// An FEC packet.
    fec: bool,
}

/// The receiver of one SSRC.
#[derive(Debug)]
pub struct UlpfecReceiver {
    window: RecoveryWindow,
    first_seen: Option<u64>,
    last: Option<LastSeen>,
    last_media_ts: Option<u64>,
    /// Lost numbers not yet known as media or FEC.
    undecided: BTreeSet<u64>,
    /// Media held while `undecided` waits, and the timestamp of the frame held.
    held: Vec<Recovered>,
    hold_ts: Option<u64>,
    /// First media packet held (the first received after an undecided gap).
    hold_first: u64,
    /// Group starts: SN bases of FEC packets that came right after a frame's last packet.
    group_starts: BTreeSet<u64>,
    /// A lost number was left undecided: the next packet out is a DISCONT.
    discont_next: bool,
    removed: BTreeSet<u64>,
    removed_before: u64,
    lost: BTreeSet<u64>,
    stats: ReceiverStats,
}

impl UlpfecReceiver {
    /// A receiver for `ssrc` with a window of `limits` (its time in RTP ticks).
    pub fn new(ssrc: u32, limits: WindowLimits) -> Self {
        UlpfecReceiver {
            window: RecoveryWindow::new(ssrc, limits),
            first_seen: None,
            last: None,
            last_media_ts: None,
            undecided: BTreeSet::new(),
            held: Vec::new(),
            hold_ts: None,
            hold_first: 0,
            group_starts: BTreeSet::new(),
            discont_next: false,
            removed: BTreeSet::new(),
            removed_before: 0,
            lost: BTreeSet::new(),
            stats: ReceiverStats::default(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> ReceiverStats {
        self.stats
    }

    /// Packets held by the window (media, FEC) and media held for a decision.
    pub fn held(&self) -> (usize, usize, usize) {
        let (m, f) = self.window.len();
        (m, f, self.held.len())
    }

    /// A media packet (whole RTP packet) with its extended sequence number and timestamp.
    /// Something shorter than an RTP header is only passed on (`forward_current`).
    pub fn on_media(&mut self, ext_seqnum: u64, ext_timestamp: u64, packet: &[u8]) -> Actions {
        if packet.len() < 12 {
            return Actions {
                forward_current: true,
                ..Actions::default()
            };
        }
        let marker = packet.get(1).is_some_and(|b| b & 0x80 != 0);
        let mut actions = Actions::default();
        if self.hold_ts.is_some_and(|t| t != ext_timestamp) || self.held.len() >= MAX_HELD {
            self.decide(&mut actions);
        }
        let gap = self.gap_before(ext_seqnum);
        if self.hold_ts.is_some() {
            // Inside the held frame: a gap is media.
            self.media_lost(gap);
        } else {
            // What FEC gaps left open is known now: the frame's FEC packets have all come.
            self.decide(&mut actions);
            if !gap.is_empty() {
                if self.last_media_ts == Some(ext_timestamp) {
                    self.media_lost(gap);
                } else {
                    self.undecided.extend(gap);
                }
                // The frame waits for its FEC packets (to decide, to rebuild in order).
                self.hold_ts = Some(ext_timestamp);
                self.hold_first = ext_seqnum;
            }
        }
        self.seen(ext_seqnum, marker, false);
        self.last_media_ts = Some(ext_timestamp);
        let recovered = self.window.insert_media(ext_seqnum, packet, ext_timestamp);
        let discont_here = self.discont_next && actions.output.is_empty();
        if self.hold_ts.is_some() || discont_here {
            // Held, or sent as output to carry the DISCONT.
            let r = Recovered {
                ext_seqnum,
                packet: packet.to_vec(),
                rebuilt: false,
            };
            if self.hold_ts.is_some() {
                self.held.push(r);
            } else {
                let r = self.numbered(r);
                actions.output.push(r);
                actions.discont = true;
                self.discont_next = false;
            }
        } else {
            actions.forward_current = true;
        }
        self.take_recovered(recovered, &mut actions);
        actions
    }

    /// An FEC packet's payload (after its RTP header) with its extended sequence number and
    /// timestamp. The FEC packet itself is taken out of the numbering (`skip` counts it),
    /// even when it is broken (`invalid`).
    pub fn on_fec(&mut self, ext_seqnum: u64, ext_timestamp: u64, payload: &[u8]) -> Actions {
        let mut actions = Actions::default();
        let gap = self.gap_before(ext_seqnum);
        // The numbers this packet protects lie in [base, end]: media.
        let span = FecPacket::parse(payload).ok().map(|f| {
            let base = extend_seqnum(ext_seqnum, f.sn_base);
            (base, base + u64::from(47 - f.mask.trailing_zeros().min(47)))
        });
        let after_frame = self.last.is_some_and(|l| l.ends_frame);
        if gap.is_empty()
            && self.last.is_some_and(|l| l.ends_frame && !l.fec)
            && let Some((base, _)) = span
        {
            // Right after a frame's last packet: the group's first FEC packet.
            self.group_starts.insert(base);
            while self.group_starts.len() > GROUP_STARTS {
                self.group_starts.pop_first();
            }
        }
        for s in gap {
            if span.is_some_and(|(base, end)| (base..=end).contains(&s)) {
                self.media_lost(s..s + 1);
            } else if after_frame {
                // After a complete frame or an FEC packet, outside this packet's group.
                self.stats.fec_lost += 1;
                actions.skip += self.remove(s..s + 1);
            } else {
                self.undecided.insert(s);
            }
        }
        self.seen(ext_seqnum, true, true);
        actions.skip += self.remove(ext_seqnum..ext_seqnum + 1);
        match self.window.insert_fec(ext_seqnum, payload, ext_timestamp) {
            Ok(recovered) => {
                self.stats.fec_received += 1;
                self.take_recovered(recovered, &mut actions);
            }
            Err(err) => actions.invalid = Some(err),
        }
        actions
    }

    /// Decides what is open and releases what is held (EOS).
    pub fn finish(&mut self) -> Actions {
        let mut actions = Actions::default();
        self.decide(&mut actions);
        actions
    }

    /// Output sequence number of input `ext_seqnum` (removed numbers before it subtracted).
    pub fn output_seqnum(&self, ext_seqnum: u64) -> u64 {
        // Counted from the newest end: the numbers asked for are recent, so few removed
        // numbers lie above them (a count from the oldest end walks the whole history).
        let above = self.removed.range(ext_seqnum..).count() as u64;
        let below = self.removed_before + self.removed.len() as u64 - above;
        ext_seqnum.wrapping_sub(below)
    }

    /// Forgets packets and history (a flush).
    pub fn clear(&mut self) {
        self.window.clear();
        self.last = None;
        self.last_media_ts = None;
        self.undecided.clear();
        self.held.clear();
        self.hold_ts = None;
        self.lost.clear();
    }

    fn seen(&mut self, ext_seqnum: u64, ends_frame: bool, fec: bool) {
        self.first_seen = Some(self.first_seen.map_or(ext_seqnum, |f| f.min(ext_seqnum)));
        if self.last.is_none_or(|l| ext_seqnum > l.ext_seqnum) {
            self.last = Some(LastSeen {
                ext_seqnum,
                ends_frame,
                fec,
            });
        }
    }

    fn gap_before(&self, ext_seqnum: u64) -> std::ops::Range<u64> {
        match self.last {
            Some(last) if ext_seqnum > last.ext_seqnum + 1 => last.ext_seqnum + 1..ext_seqnum,
            _ => 0..0,
        }
    }

    /// Settles every undecided number (media when it was rebuilt or lies in a received FEC
    /// packet's span; FEC when it lies before the start of the held frame's group; else
    /// uncertain), then releases the held media, numbered, the first a DISCONT after an
    /// uncertain number.
    fn decide(&mut self, actions: &mut Actions) {
        let undecided = std::mem::take(&mut self.undecided);
        for s in undecided {
            // `s` may lie after the held frame's first packet (a late or reordered number):
            // then no group starts between them (and the range would be inverted).
            let before_group = self.hold_ts.is_some()
                && s < self.hold_first
                && self
                    .group_starts
                    .range(s + 1..=self.hold_first)
                    .next()
                    .is_some();
            if self.window.has_media(s) || self.window.in_span(s) {
                self.media_lost(s..s + 1);
                if let Some(p) = self.window.media_packet(s) {
                    let r = Recovered {
                        ext_seqnum: s,
                        packet: p.to_vec(),
                        rebuilt: true,
                    };
                    self.held.push(r);
                    self.lost.remove(&s);
                    self.stats.recovered += 1;
                    self.stats.unrecovered = self.stats.unrecovered.saturating_sub(1);
                }
            } else {
                if before_group {
                    self.stats.fec_lost += 1;
                } else {
                    self.stats.uncertain += 1;
                    self.discont_next = true;
                }
                actions.skip += self.remove(s..s + 1);
            }
        }
        self.hold_ts = None;
        let mut held = std::mem::take(&mut self.held);
        held.sort_by_key(|r| r.ext_seqnum);
        for r in held {
            let r = self.numbered(r);
            actions.output.push(r);
        }
        if self.discont_next && !actions.output.is_empty() {
            // On the first packet out (with nothing held: the next media packet, on_media).
            actions.discont = true;
            self.discont_next = false;
        }
    }

    /// Recovered packets go out when they were missed (or precede the first packet seen);
    /// held with the frame while a decision is open.
    fn take_recovered(&mut self, recovered: Vec<Recovered>, actions: &mut Actions) {
        for r in recovered {
            let missed = self.lost.remove(&r.ext_seqnum)
                || self.first_seen.is_some_and(|f| r.ext_seqnum < f);
            if !missed {
                // Rebuilt before it was missed (or undecided): kept in the window.
                continue;
            }
            self.stats.recovered += 1;
            self.stats.unrecovered = self.stats.unrecovered.saturating_sub(1);
            if self.hold_ts.is_some() {
                self.held.push(r);
            } else {
                let r = self.numbered(r);
                actions.output.push(r);
            }
        }
    }

    fn numbered(&self, mut r: Recovered) -> Recovered {
        let out = self.output_seqnum(r.ext_seqnum);
        if let Some(seq) = r.packet.get_mut(2..4) {
            seq.copy_from_slice(&(out as u16).to_be_bytes());
        }
        r.ext_seqnum = out;
        r
    }

    fn media_lost(&mut self, gap: std::ops::Range<u64>) {
        for s in gap {
            if self.lost.insert(s) {
                self.stats.unrecovered += 1;
            }
        }
        while self.lost.len() > LOST_HISTORY {
            self.lost.pop_first();
        }
    }

    fn remove(&mut self, seqs: std::ops::Range<u64>) -> u64 {
        let n = seqs.end - seqs.start;
        self.removed.extend(seqs);
        while self.removed.len() > REMOVED_HISTORY {
            self.removed.pop_first();
            self.removed_before += 1;
        }
        n
    }
}

#[cfg(test)]
#[path = "receiver_tests.rs"]
mod tests;
