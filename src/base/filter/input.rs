// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The input side of `RtpBaseFilter2`: one [`RtpIn`] per SSRC. A filter sees several SSRCs
//! interleaved on one pad (media and a separate FEC stream (RFC 5109) or retransmission
//! stream (RFC 4588)), so unlike a depayloader an SSRC change is not a new sender: each SSRC keeps its own
//! sequence history. Validation, verdicts, counters and the rate-limited warning are
//! `RtpIn`'s, written once in `crate::base::rtp_in`.

use rtp2_core::rtp::RtpPacket;

use crate::base::rtp_in::{InputStats, RtpIn, Verdict};

/// SSRCs followed at once; beyond that the least recently seen one is forgotten (its
/// counters are kept), so a stream of random SSRCs cannot grow the state.
const MAX_SSRCS: usize = 16;

/// The receivers of the SSRCs seen, most recently seen last.
#[derive(Debug)]
pub(super) struct InputStreams {
    max_reorder: u32,
    sources: Vec<RtpIn>,
    /// Counts input that is not RTP (no SSRC to file it under) and rate-limits the bad-input
    /// warning; keeps the counters of forgotten SSRCs.
    general: RtpIn,
}

impl InputStreams {
    pub(super) fn new(max_reorder: u32) -> Self {
        InputStreams {
            max_reorder,
            sources: Vec::new(),
            general: RtpIn::new(max_reorder),
        }
    }

    pub(super) fn set_max_reorder(&mut self, max_reorder: u32) {
        self.max_reorder = max_reorder;
        for source in &mut self.sources {
            source.set_max_reorder(max_reorder);
        }
    }

    /// Forgets every SSRC's sequence history (flush); counters stay.
    pub(super) fn reset(&mut self) {
        for source in &mut self.sources {
            source.reset();
        }
    }

    /// The receiver bad input is reported to ([`crate::base::rtp_in::report_bad_input`]).
    pub(super) fn general(&mut self) -> &mut RtpIn {
        &mut self.general
    }

    /// Follows `rtp` in its SSRC's history.
    pub(super) fn check(&mut self, element: &gst::Element, rtp: &RtpPacket) -> Verdict {
        let ssrc = Some(rtp.ssrc());
        let index = match self.sources.iter().position(|s| s.ssrc() == ssrc) {
            Some(i) => i,
            None => {
                if self.sources.len() == MAX_SSRCS {
                    let forgotten = self.sources.remove(0);
                    add(&mut self.general.stats, &forgotten.stats);
                }
                self.sources.push(RtpIn::new(self.max_reorder));
                self.sources.len() - 1
            }
        };
        let last = self.sources.len() - 1;
        // Most recent last; nothing to move when the packet's SSRC already is (one stream,
        // or the same as the packet before).
        if index != last {
            self.sources[index..].rotate_left(1);
        }
        self.sources[last].check(element, rtp)
    }

    /// The counters of all SSRCs, forgotten ones included.
    pub(super) fn stats(&self) -> InputStats {
        let mut total = self.general.stats;
        for source in &self.sources {
            add(&mut total, &source.stats);
        }
        total
    }
}

fn add(total: &mut InputStats, more: &InputStats) {
    total.packets_received += more.packets_received;
    total.bytes_received += more.bytes_received;
    total.packets_lost += more.packets_lost;
    total.dropped_invalid += more.dropped_invalid;
    total.dropped_late += more.dropped_late;
    total.resyncs += more.resyncs;
}

#[cfg(test)]
mod tests {
    use super::*;
    use gst::prelude::*;

    /// A 12-byte RTP header (RFC 3550 §5.1 layout) with one payload byte.
    fn packet(seq: u16, ssrc: u32) -> Vec<u8> {
        let mut p = vec![0x80, 96];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&0u32.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.push(7);
        p
    }

    fn check(streams: &mut InputStreams, seq: u16, ssrc: u32) -> Verdict {
        gst::init().expect("GStreamer initialises");
        let element = gst::Bin::new().upcast::<gst::Element>();
        let data = packet(seq, ssrc);
        streams.check(&element, &RtpPacket::parse(&data).expect("valid packet"))
    }

    fn accepted(v: Verdict) -> crate::base::rtp_in::Accepted {
        match v {
            Verdict::Accept(a) => a,
            other => panic!("expected Accept, got {other:?}"),
        }
    }

    #[test]
    fn interleaved_ssrcs_keep_their_own_history() {
        let mut s = InputStreams::new(100);
        let media = accepted(check(&mut s, 100, 1));
        let fec = accepted(check(&mut s, 9000, 2));
        let media2 = accepted(check(&mut s, 101, 1));
        let fec2 = accepted(check(&mut s, 9001, 2));
        assert_eq!(media2.ext_seqnum, media.ext_seqnum + 1);
        assert_eq!(fec2.ext_seqnum, fec.ext_seqnum + 1);
        assert!(!media2.discont && !media2.resync && !fec2.discont && !fec2.resync);
        assert_eq!(check(&mut s, 100, 1), Verdict::Late);
        let stats = s.stats();
        assert_eq!(
            (stats.resyncs, stats.packets_lost, stats.dropped_late),
            (0, 0, 1)
        );
        assert_eq!(stats.packets_received, 5);
    }

    #[test]
    fn ssrcs_are_bounded_and_counters_survive_forgetting() {
        let mut s = InputStreams::new(100);
        for ssrc in 0..(MAX_SSRCS as u32 * 4) {
            accepted(check(&mut s, 1, ssrc));
        }
        assert_eq!(s.sources.len(), MAX_SSRCS);
        assert_eq!(s.stats().packets_received, MAX_SSRCS as u64 * 4);
        // The first SSRC was forgotten: it starts again (first packet, discont), no resync.
        let again = accepted(check(&mut s, 2, 0));
        assert!(again.discont && !again.resync);
    }
}
