// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The receiver's window for XOR FEC (ULPFEC, RFC 5109 §9; FlexFEC, RFC 8627 §6.3): the
//! media packets and FEC packets of one SSRC, bounded in count and in age, and recovery that
//! runs until nothing more can be done, so that a packet recovered from one FEC packet can
//! complete the set of another. FEC packets enter as the sequence numbers they protect and
//! their [`ParityFields`], whatever header format carried them.

use std::collections::VecDeque;

use store::MediaStore;

use super::extend_seqnum;
use super::parity::ParityFields;
use super::ulpfec::{FecPacket, UlpfecError};

/// Bounds of a [`RecoveryWindow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLimits {
    /// Most media packets kept.
    pub max_media: usize,
    /// Most FEC packets kept.
    pub max_fec: usize,
    /// Oldest entry kept, in the caller's time unit, behind the newest insertion.
    pub max_age: u64,
}

impl Default for WindowLimits {
    fn default() -> Self {
        WindowLimits {
            max_media: 512,
            max_fec: 128,
            max_age: u64::MAX,
        }
    }
}

#[derive(Debug)]
struct StoredFec {
    /// Extended sequence numbers protected, ascending.
    seqs: Vec<u64>,
    parity: ParityFields,
    data: Vec<u8>,
    time: u64,
}

/// A media packet the window rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Its extended sequence number.
    pub ext_seqnum: u64,
    /// The whole RTP packet.
    pub packet: Vec<u8>,
    /// Rebuilt from FEC (false: a received packet the receiver held and now releases).
    pub rebuilt: bool,
}

/// Media and FEC packets of one SSRC, and recovery from them.
#[derive(Debug, Default)]
pub struct RecoveryWindow {
    limits: WindowLimits,
    ssrc: u32,
    media: MediaStore,
    fec: VecDeque<StoredFec>,
    newest: u64,
    /// Highest media sequence number evicted: below it, absent is not lost.
    evicted_up_to: Option<u64>,
    /// FEC packets dropped unused (window full or too old).
    pub fec_expired: u64,
    /// Packet buffers of evicted media packets, reused for the next ones (bounded).
    spare: Vec<Vec<u8>>,
}

/// Most evicted packet buffers kept for reuse.
const MAX_SPARE: usize = 8;

impl RecoveryWindow {
    /// An empty window for `ssrc`.
    pub fn new(ssrc: u32, limits: WindowLimits) -> Self {
        RecoveryWindow {
            limits,
            ssrc,
            ..Default::default()
        }
    }

    /// Number of media and FEC packets held.
    pub fn len(&self) -> (usize, usize) {
        (self.media.len(), self.fec.len())
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.media.is_empty() && self.fec.is_empty()
    }

    /// True when the media packet `ext_seqnum` is held (received or recovered).
    pub fn has_media(&self, ext_seqnum: u64) -> bool {
        self.media.contains(ext_seqnum)
    }

    /// The held media packet `ext_seqnum` (received or recovered).
    pub fn media_packet(&self, ext_seqnum: u64) -> Option<&[u8]> {
        self.media.get(ext_seqnum)
    }

    /// True when a held FEC packet protects `ext_seqnum` (so it was a media packet).
    pub fn is_protected(&self, ext_seqnum: u64) -> bool {
        self.fec
            .iter()
            .any(|f| f.seqs.binary_search(&ext_seqnum).is_ok())
    }

    /// True when `ext_seqnum` lies inside a held FEC packet's span, from the first to the
    /// last number it protects (RFC 5109 §7.4: the span holds only media when FEC packets
    /// follow the media they protect, as RFC 5109 §10 senders do): so it was media.
    pub fn in_span(&self, ext_seqnum: u64) -> bool {
        self.fec.iter().any(|f| {
            f.seqs.first().is_some_and(|&first| ext_seqnum >= first)
                && f.seqs.last().is_some_and(|&last| ext_seqnum <= last)
        })
    }

    /// Adds a received media packet (whole RTP packet) at `time`; returns what it lets
    /// recover.
    pub fn insert_media(&mut self, ext_seqnum: u64, packet: &[u8], time: u64) -> Vec<Recovered> {
        let mut bytes = self.spare.pop().unwrap_or_default();
        bytes.clear();
        bytes.extend_from_slice(packet);
        if let Some(old) = self.media.insert(ext_seqnum, bytes, time) {
            self.recycle(old);
        }
        self.newest = self.newest.max(time);
        self.evict();
        self.recover_all()
    }

    /// Adds a received FEC packet's payload at `time`; `reference` is an extended sequence
    /// number near its SN base (the FEC packet's own, or the last media packet's).
    pub fn insert_fec(
        &mut self,
        reference: u64,
        payload: &[u8],
        time: u64,
    ) -> Result<Vec<Recovered>, UlpfecError> {
        let fec = FecPacket::parse(payload)?;
        let base = extend_seqnum(reference, fec.sn_base);
        let seqs = fec.offsets().map(|o| base + u64::from(o)).collect();
        Ok(self.insert_parity(seqs, fec.parity(), fec.data, time))
    }

    /// Adds a received FEC packet of any format: the extended sequence numbers it protects
    /// (`seqs`, any order, duplicates ignored), its parity fields and data, at `time`; returns
    /// what it lets recover.
    pub fn insert_parity(
        &mut self,
        mut seqs: Vec<u64>,
        parity: ParityFields,
        data: &[u8],
        time: u64,
    ) -> Vec<Recovered> {
        seqs.sort_unstable();
        seqs.dedup();
        if seqs.is_empty() {
            return Vec::new();
        }
        self.fec.push_back(StoredFec {
            seqs,
            parity,
            data: data.to_vec(),
            time,
        });
        self.newest = self.newest.max(time);
        self.evict();
        self.recover_all()
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.evicted_up_to = None;
        self.media.clear();
        self.fec.clear();
    }

    fn recycle(&mut self, bytes: Vec<u8>) {
        if self.spare.len() < MAX_SPARE {
            self.spare.push(bytes);
        }
    }

    fn evict(&mut self) {
        let oldest = self.newest.saturating_sub(self.limits.max_age);
        while self.media.len() > self.limits.max_media
            || self.media.first_time().is_some_and(|t| t < oldest)
        {
            if let Some((seq, bytes)) = self.media.pop_first() {
                self.evicted_up_to = self.evicted_up_to.max(Some(seq));
                self.recycle(bytes);
            }
        }
        while self.fec.len() > self.limits.max_fec
            || self.fec.front().is_some_and(|f| f.time < oldest)
        {
            self.fec.pop_front();
            self.fec_expired += 1;
        }
    }

    /// Recovers until no FEC packet misses exactly one packet; FEC packets with nothing
    /// missing are dropped. Bounded: each round removes an FEC packet or ends.
    fn recover_all(&mut self) -> Vec<Recovered> {
        if self.fec.is_empty() {
            // Nothing to recover from (the usual case: a repair packet whose packets all
            // arrived is dropped at once), and the caller has just evicted.
            return Vec::new();
        }
        let mut out = Vec::new();
        loop {
            let mut progress = false;
            let mut i = 0;
            while i < self.fec.len() {
                let f = &self.fec[i];
                // Counted without allocating: most FEC packets miss nothing or several.
                let (mut missing, mut missing_seq) = (0usize, 0u64);
                for &s in &f.seqs {
                    if !self.media.contains(s) {
                        missing += 1;
                        missing_seq = s;
                    }
                }
                // A packet older than the store cannot be told from a lost one: unusable.
                let too_old = missing == 1 && self.evicted_up_to.is_some_and(|e| missing_seq <= e);
                match missing {
                    0 => {
                        self.fec.remove(i);
                        continue;
                    }
                    1 if !too_old => {
                        let seq = missing_seq;
                        let others: Vec<&[u8]> = f
                            .seqs
                            .iter()
                            .copied()
                            .filter(|&s| s != seq)
                            .filter_map(|s| self.media.get(s))
                            .collect();
                        let time = f.time;
                        // Recovery fields from a broken or hostile sender can announce
                        // CSRCs, an extension or padding the bytes do not hold: such a
                        // packet is not passed on (GStreamer issue 7049's capture).
                        let rec = f
                            .parity
                            .recover(&f.data, seq as u16, self.ssrc, &others)
                            .ok()
                            .filter(|p| crate::rtp::RtpPacket::parse(p).is_ok());
                        self.fec.remove(i);
                        if let Some(packet) = rec {
                            self.media.insert(seq, packet.clone(), time);
                            out.push(Recovered {
                                ext_seqnum: seq,
                                packet,
                                rebuilt: true,
                            });
                            progress = true;
                        }
                        continue;
                    }
                    _ => i += 1,
                }
            }
            if !progress {
                break;
            }
        }
        out.sort_by_key(|r| r.ext_seqnum);
        self.evict();
        out
    }
}

#[path = "recovery_store.rs"]
mod store;

#[cfg(test)]
#[path = "recovery_tests.rs"]
mod tests;
