// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The input side of `RtpBaseFilter2`: sequence-number tracking per SSRC. A filter sees
//! several SSRCs interleaved on one pad (media and a separate FEC stream, RFC 5109 §9), so
//! unlike a depayloader an SSRC change is not a new sender: each SSRC keeps its own tracker.

use rtp2_core::rtp::RtpPacket;
use rtp2_core::seqnum::{SeqnumTracker, SeqnumUnwrapper, SeqnumVerdict, TimestampUnwrapper};

/// SSRCs tracked at once; the least recently seen one is forgotten beyond that, so a stream
/// of random SSRCs cannot grow the state.
const MAX_SSRCS: usize = 16;

/// What the tracker says about a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admission {
    /// Hand it to the subclass.
    Accept {
        ext_seqnum: u64,
        ext_timestamp: u64,
        /// Packets of this SSRC were lost, or it restarted, right before it.
        discont: bool,
        /// Packets counted as lost before it.
        lost: u64,
        /// The sender restarted its sequence (a resync).
        resync: bool,
    },
    /// A duplicate or late packet: drop it.
    Late,
}

#[derive(Debug)]
struct Source {
    ssrc: u32,
    seqnum: SeqnumTracker,
    ext_seqnum: SeqnumUnwrapper,
    ext_timestamp: TimestampUnwrapper,
}

/// The trackers of the SSRCs seen, most recently seen last.
#[derive(Debug)]
pub(super) struct InputStreams {
    max_reorder: u32,
    sources: Vec<Source>,
}

impl InputStreams {
    pub(super) fn new(max_reorder: u32) -> Self {
        InputStreams {
            max_reorder,
            sources: Vec::new(),
        }
    }

    pub(super) fn set_max_reorder(&mut self, max_reorder: u32) {
        self.max_reorder = max_reorder;
        for source in &mut self.sources {
            source.seqnum.set_max_reorder(max_reorder);
        }
    }

    /// Forgets every SSRC (flush).
    pub(super) fn reset(&mut self) {
        self.sources.clear();
    }

    pub(super) fn admit(&mut self, rtp: &RtpPacket) -> Admission {
        let ssrc = rtp.ssrc();
        let index = match self.sources.iter().position(|s| s.ssrc == ssrc) {
            Some(i) => i,
            None => {
                if self.sources.len() == MAX_SSRCS {
                    self.sources.remove(0);
                }
                self.sources.push(Source {
                    ssrc,
                    seqnum: SeqnumTracker::new(self.max_reorder),
                    ext_seqnum: SeqnumUnwrapper::new(),
                    ext_timestamp: TimestampUnwrapper::new(),
                });
                self.sources.len() - 1
            }
        };
        let last = self.sources.len() - 1;
        self.sources[index..].rotate_left(1);
        let source = &mut self.sources[last];
        let seq = rtp.sequence_number();
        let (discont, lost, resync) = match source.seqnum.check(seq) {
            SeqnumVerdict::First => (true, 0, false),
            SeqnumVerdict::Expected => (false, 0, false),
            SeqnumVerdict::Gap { lost } => (true, u64::from(lost), false),
            SeqnumVerdict::Late { .. } => return Admission::Late,
            SeqnumVerdict::Restart => {
                source.ext_seqnum.reset();
                source.ext_timestamp.reset();
                (true, 0, true)
            }
        };
        Admission::Accept {
            ext_seqnum: source.ext_seqnum.unwrap(seq),
            ext_timestamp: source.ext_timestamp.unwrap(rtp.timestamp()),
            discont,
            lost,
            resync,
        }
    }
}
