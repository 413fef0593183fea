// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The FlexFEC receiver (RFC 8627 §6.3): the repair stream has an SSRC and numbering of its
//! own, so the media stream needs no renumbering; media packets pass as they come and are
//! also kept, per protected SSRC, in a bounded [`RecoveryWindow`] with the repair packets
//! that name that SSRC. The media SSRC is learnt from each repair header (flexfec-03: the
//! header's SSRC field; RFC 8627: the CSRC list), optionally limited to one SSRC given by
//! the caller (from caps or SDP). A packet recovered goes out when it was missed (a gap
//! seen behind it) or when it precedes the first packet seen; one rebuilt ahead of the
//! newest packet waits in the window until the gap shows it was lost.
//!
//! Bounded: at most `max_streams` media SSRCs (the least recently used forgotten), each
//! window within its [`WindowLimits`], the lost-number history within [`LOST_HISTORY`].

use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasherDefault;

use super::flexfec::{FlexfecError, FlexfecHeader, WireFormat};
use super::recovery::{Recovered, RecoveryWindow, WindowLimits};
use super::{SsrcHasher, extend_seqnum};
use crate::rtp::RtpPacket;

/// Most lost sequence numbers remembered per SSRC, waiting for recovery.
pub const LOST_HISTORY: usize = 1024;

/// Counters of a [`FlexfecReceiver`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FlexfecStats {
    /// Media packets rebuilt and sent.
    pub recovered: u64,
    /// Media packets missed and not (yet) rebuilt.
    pub unrecovered: u64,
    /// Repair packets accepted.
    pub fec_received: u64,
    /// Repair packets refused (broken header, several streams, an SSRC not followed).
    pub fec_dropped: u64,
    /// Media SSRCs forgotten to stay within the stream limit.
    pub streams_evicted: u64,
}

#[derive(Debug)]
struct MediaStream {
    window: RecoveryWindow,
    first: u64,
    newest: u64,
    lost: BTreeSet<u64>,
    last_use: u64,
    /// A media packet came (before: made by a repair packet, numbering not started).
    media_seen: bool,
    /// Packets rebuilt before any media packet came (sent if they precede the first one).
    early: Vec<u64>,
    /// Packets rebuilt ahead of the newest media packet, not sent yet (sent when a gap shows
    /// them missing, or at the end).
    ahead: BTreeSet<u64>,
}

/// The receiver of one FlexFEC repair flow and the media streams it protects.
#[derive(Debug)]
pub struct FlexfecReceiver {
    format: WireFormat,
    limits: WindowLimits,
    max_streams: usize,
    only_ssrc: Option<u32>,
    streams: HashMap<u32, MediaStream, BuildHasherDefault<SsrcHasher>>,
    uses: u64,
    stats: FlexfecStats,
}

impl FlexfecReceiver {
    /// A receiver of `format` repair packets, keeping for each of at most `max_streams`
    /// media SSRCs a window within `limits` (time in the caller's unit).
    pub fn new(format: WireFormat, limits: WindowLimits, max_streams: usize) -> Self {
        FlexfecReceiver {
            format,
            limits,
            max_streams: max_streams.max(1),
            only_ssrc: None,
            streams: HashMap::default(),
            uses: 0,
            stats: FlexfecStats::default(),
        }
    }

    /// Recovers only `ssrc` (from caps or SDP); `None`: every SSRC the repair headers name.
    pub fn set_protected_ssrc(&mut self, ssrc: Option<u32>) {
        self.only_ssrc = ssrc;
    }

    /// Continues the counters of a receiver this one replaces (a configuration change).
    pub fn carry_stats(&mut self, stats: FlexfecStats) {
        self.stats = stats;
    }

    /// The counters.
    pub fn stats(&self) -> FlexfecStats {
        self.stats
    }

    /// SSRCs followed, media and repair packets held in all windows.
    pub fn held(&self) -> (usize, usize, usize) {
        self.streams
            .values()
            .fold((self.streams.len(), 0, 0), |acc, s| {
                let (m, f) = s.window.len();
                (acc.0, acc.1 + m, acc.2 + f)
            })
    }

    fn stream(&mut self, ssrc: u32, seq: u16) -> &mut MediaStream {
        self.uses += 1;
        let uses = self.uses;
        if !self.streams.contains_key(&ssrc)
            && self.streams.len() >= self.max_streams
            && let Some(oldest) = self
                .streams
                .iter()
                .min_by_key(|(_, s)| s.last_use)
                .map(|(k, _)| *k)
        {
            self.streams.remove(&oldest);
            self.stats.streams_evicted += 1;
        }
        let limits = self.limits;
        let s = self.streams.entry(ssrc).or_insert_with(|| {
            let start = (1 << 32) + u64::from(seq);
            MediaStream {
                window: RecoveryWindow::new(ssrc, limits),
                first: start,
                newest: start,
                lost: BTreeSet::new(),
                last_use: uses,
                media_seen: false,
                early: Vec::new(),
                ahead: BTreeSet::new(),
            }
        });
        s.last_use = uses;
        s
    }

    /// A media packet (whole RTP packet) received at `time`; returns the packets it lets
    /// recover that were missed, in sequence order. Not RTP: ignored.
    pub fn on_media(&mut self, packet: &[u8], time: u64) -> Vec<Recovered> {
        let Ok(rtp) = RtpPacket::parse(packet) else {
            return Vec::new();
        };
        let (ssrc, seq) = (rtp.ssrc(), rtp.sequence_number());
        let max_media = self.limits.max_media as u64;
        let s = self.stream(ssrc, seq);
        let ext = extend_seqnum(s.newest, seq);
        let mut missed = Vec::new();
        if !s.media_seen {
            s.media_seen = true;
            s.first = ext;
            s.newest = ext;
            missed = std::mem::take(&mut s.early);
            missed.retain(|&e| e < ext);
        }
        let mut lost_now = 0u64;
        let ahead_of_newest = ext > s.newest;
        if ahead_of_newest {
            // The gap: numbers older than the window cannot be rebuilt, only counted.
            let gap_start = (s.newest + 1).max(ext.saturating_sub(max_media));
            lost_now += gap_start - (s.newest + 1);
            if !s.ahead.is_empty() {
                s.ahead = s.ahead.split_off(&(ext + 1));
            }
            for g in gap_start..ext {
                if s.window.has_media(g) {
                    missed.push(g);
                } else {
                    s.lost.insert(g);
                    lost_now += 1;
                }
            }
            s.newest = ext;
        }
        // Reordered, not lost.
        let reordered = !ahead_of_newest && s.lost.remove(&ext);
        while s.lost.len() > LOST_HISTORY {
            s.lost.pop_first();
        }
        let rebuilt = s.window.insert_media(ext, packet, time);
        let mut out: Vec<Recovered> = missed
            .into_iter()
            .filter_map(|g| {
                s.window.media_packet(g).map(|p| Recovered {
                    ext_seqnum: g,
                    packet: p.to_vec(),
                    rebuilt: true,
                })
            })
            .collect();
        let recovered_before = out.len() as u64;
        if reordered {
            self.stats.unrecovered = self.stats.unrecovered.saturating_sub(1);
        }
        self.stats.unrecovered += lost_now;
        self.stats.recovered += recovered_before;
        out.extend(self.take(ssrc, rebuilt));
        out.sort_by_key(|r| r.ext_seqnum);
        out
    }

    /// A repair packet (whole RTP packet, its own SSRC) received at `time`; returns the media
    /// packets it lets recover that were missed. A broken or unusable one is counted in
    /// `fec_dropped` and its error returned.
    pub fn on_fec(&mut self, packet: &[u8], time: u64) -> Result<Vec<Recovered>, FlexfecError> {
        let result = self.fec(packet, time);
        match &result {
            Ok(_) => self.stats.fec_received += 1,
            Err(_) => self.stats.fec_dropped += 1,
        }
        result
    }

    fn fec(&mut self, packet: &[u8], time: u64) -> Result<Vec<Recovered>, FlexfecError> {
        let rtp = RtpPacket::parse(packet).map_err(|_| FlexfecError::Truncated)?;
        let csrcs: Vec<u32> = rtp.csrcs().collect();
        let payload = rtp.payload();
        let (header, len) = FlexfecHeader::parse(self.format, payload, &csrcs)?;
        // Recovery across several streams would need their windows joined: not supported
        // (libwebrtc sends one stream per repair packet).
        let [stream] = header.streams[..] else {
            return Err(FlexfecError::TooManyStreams);
        };
        if self.only_ssrc.is_some_and(|s| s != stream.ssrc) {
            return Err(FlexfecError::NoStreams);
        }
        let offsets = stream.offsets();
        if offsets.is_empty() {
            return Err(FlexfecError::BadMask);
        }
        let s = self.stream(stream.ssrc, stream.sn_base);
        let base = extend_seqnum(s.newest, stream.sn_base);
        let seqs = offsets.iter().map(|&o| base + u64::from(o)).collect();
        let rebuilt = s
            .window
            .insert_parity(seqs, header.parity, &payload[len..], time);
        let mut out = self.take(stream.ssrc, rebuilt);
        out.sort_by_key(|r| r.ext_seqnum);
        Ok(out)
    }

    /// Of what the window rebuilt, what was missed goes out (counted); the rest stays in the
    /// window until a gap shows it missing.
    fn take(&mut self, ssrc: u32, rebuilt: Vec<Recovered>) -> Vec<Recovered> {
        if rebuilt.is_empty() {
            return rebuilt;
        }
        let Some(s) = self.streams.get_mut(&ssrc) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for r in rebuilt {
            if !s.media_seen {
                if s.early.len() < LOST_HISTORY {
                    s.early.push(r.ext_seqnum);
                }
                continue;
            }
            if r.ext_seqnum > s.newest {
                s.ahead.insert(r.ext_seqnum);
                while s.ahead.len() > LOST_HISTORY {
                    s.ahead.pop_first();
                }
                continue;
            }
            if s.lost.remove(&r.ext_seqnum) || r.ext_seqnum < s.first {
                self.stats.recovered += 1;
                if r.ext_seqnum >= s.first {
                    self.stats.unrecovered = self.stats.unrecovered.saturating_sub(1);
                }
                out.push(r);
            }
        }
        out
    }

    /// The end of the stream: packets rebuilt ahead of the newest media packet (the last ones
    /// of the stream were lost) are sent now.
    pub fn finish(&mut self) -> Vec<Recovered> {
        let mut out = Vec::new();
        for s in self.streams.values_mut() {
            let newest = s.newest;
            for ext in std::mem::take(&mut s.ahead) {
                if ext > newest
                    && let Some(p) = s.window.media_packet(ext)
                {
                    self.stats.recovered += 1;
                    out.push(Recovered {
                        ext_seqnum: ext,
                        packet: p.to_vec(),
                        rebuilt: true,
                    });
                }
            }
        }
        out
    }

    /// Forgets every packet and stream (a flush); counters are kept.
    pub fn clear(&mut self) {
        self.streams.clear();
    }
}

#[cfg(test)]
#[path = "flexfec_receiver_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "flexfec_peeling_tests.rs"]
pub(crate) mod peeling_tests;
