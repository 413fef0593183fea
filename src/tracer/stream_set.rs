// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The RTP streams seen on one pad (one per SSRC and payload type) and the accounting of
//! each packet into its stream's series: counts, sequence (RFC 3550 A.1, A.3), jitter
//! (A.8), markers and keyframes. Run under the pad's lock by the pushing thread.

use std::sync::Arc;

use super::metrics::{Families, StreamLabels, StreamSeries};
use super::packet;
use super::sequence::StreamState;
use super::streams::idx;

/// Streams tracked per pad; further streams are counted as untracked packets unless one of
/// the tracked streams has been idle for [`IDLE_EVICT_NS`].
pub(crate) const MAX_STREAMS_PER_PAD: usize = 16;
/// A stream idle this long gives its place (and series) to a new stream on a full pad.
const IDLE_EVICT_NS: u64 = 5_000_000_000;
/// Refused (SSRC, PT) pairs remembered per pad so a refused stream is counted once.
const MAX_REFUSED_MEMO: usize = 64;

#[derive(Debug)]
struct Tracked {
    ssrc: u32,
    pt: u8,
    state: StreamState,
    /// Whether the current access unit's first slice is a keyframe one; `None` until a
    /// packet of the access unit starts a slice.
    au_key: Option<bool>,
    /// False until the stream's first packet (which starts the sequence) is accounted.
    started: bool,
    last_arrival_ns: u64,
    series: StreamSeries,
}

/// Where the pad's streams are labelled: pipeline, element and pad names.
#[derive(Debug)]
pub(crate) struct PadLabels<'a> {
    pub pipeline: &'a str,
    pub element: &'a str,
    pub pad: &'a str,
}

/// The streams of one pad.
#[derive(Debug, Default)]
pub(crate) struct StreamSet {
    streams: Vec<Tracked>,
    refused: Vec<(u32, u8)>,
}

impl StreamSet {
    /// Forgets every stream (their series go).
    pub(crate) fn clear(&mut self) {
        self.streams.clear();
    }

    /// Accounts one packet pushed at `ts` (ns) on a pad labelled `labels()` (asked only for
    /// a new stream, so the pushes of known streams copy no labels). `read` reads the
    /// packet's header, and its payload's start when asked whether to (given (SSRC, PT)):
    /// [`packet::read`] of the pushed buffer, or [`packet::from_bytes`] of our
    /// depayloader's or filter's map of it (`super::handoff`). Generic, so that each caller
    /// gets its own copy with the read in line. `families` is asked only when a packet is not
    /// counted in a known stream (a new or refused one).
    #[inline(always)]
    pub(crate) fn on_packet<'l, 'f, R>(
        &mut self,
        ts: u64,
        read: R,
        clock_rate: u32,
        labels: impl Fn() -> PadLabels<'l>,
        families: impl Fn() -> Option<&'f Arc<Families>>,
    ) where
        R: FnOnce(&dyn Fn(u32, u8) -> bool) -> Option<packet::Packet>,
    {
        // The payload is looked at while the stream's access unit is undecided.
        let streams = &self.streams;
        let look = |ssrc, pt| {
            streams
                .iter()
                .find(|s: &&Tracked| s.ssrc == ssrc && s.pt == pt)
                .is_none_or(|s| s.au_key.is_none())
        };
        let Some(h) = read(&look) else {
            return;
        };
        let i = match self
            .streams
            .iter()
            .position(|s| s.ssrc == h.ssrc && s.pt == h.pt)
        {
            Some(i) => i,
            None => {
                let Some(families) = families() else {
                    return;
                };
                match self.add_stream(ts, (h.ssrc, h.pt, h.seq), &labels(), families) {
                    Some(i) => i,
                    None => {
                        families.untracked_packets.inc();
                        return;
                    }
                }
            }
        };
        let s = &mut self.streams[i];
        let cells = &*s.series.cells;
        cells.add(idx::PACKETS, 1);
        cells.add(idx::BYTES, h.size as u64);
        // The access unit's first slice decides; later packets of it need no look.
        if s.au_key.is_none() {
            s.au_key = h.first_slice_key;
        }
        if h.marker {
            cells.add(idx::MARKERS, 1);
            if s.au_key.take() == Some(true) {
                cells.add(idx::KEYFRAMES, 1);
            }
        }
        if s.started {
            if s.state.next_in_order(h.seq) {
                cells.add(idx::EXPECTED, 1);
            } else {
                let o = s.state.out_of_order(h.seq);
                cells.add(idx::LOST, o.lost);
                cells.add(idx::EXPECTED, o.expected);
                cells.add(idx::DUPLICATES, u64::from(o.duplicate));
                cells.add(idx::REORDERED, u64::from(o.reordered));
                cells.add(idx::RESTARTS, u64::from(o.restarted));
                if o.duplicate {
                    s.last_arrival_ns = ts;
                    return;
                }
            }
        }
        s.started = true;
        s.state.on_arrival(ts, h.ts, clock_rate);
        cells.set_jitter(s.state.jitter_q4(), clock_rate);
        s.last_arrival_ns = ts;
    }

    /// A new stream on this pad (`ssrc`, `pt`, its first sequence number `seq`): its index,
    /// or `None` when a cap refuses it.
    #[cold]
    #[inline(never)]
    fn add_stream(
        &mut self,
        ts: u64,
        (ssrc, pt, seq): (u32, u8, u16),
        labels: &PadLabels<'_>,
        families: &Arc<Families>,
    ) -> Option<usize> {
        if self.refused.contains(&(ssrc, pt)) {
            return None;
        }
        if self.streams.len() >= MAX_STREAMS_PER_PAD {
            let (oldest, last) = self
                .streams
                .iter()
                .enumerate()
                .map(|(i, s)| (i, s.last_arrival_ns))
                .min_by_key(|&(_, t)| t)?;
            if ts.saturating_sub(last) < IDLE_EVICT_NS {
                self.refuse(ssrc, pt, families);
                return None;
            }
            self.streams.swap_remove(oldest);
            self.refused.clear();
        }
        let labels = StreamLabels {
            pipeline: labels.pipeline.to_owned(),
            element: labels.element.to_owned(),
            pad: labels.pad.to_owned(),
            ssrc,
            pt,
        };
        let Some(series) = families.stream(labels) else {
            self.refuse(ssrc, pt, families);
            return None;
        };
        // The first packet starts the sequence; it is expected (A.3: base_seq counts).
        series.cells.add(idx::EXPECTED, 1);
        self.streams.push(Tracked {
            ssrc,
            pt,
            state: StreamState::new(seq),
            au_key: None,
            started: false,
            last_arrival_ns: ts,
            series,
        });
        Some(self.streams.len() - 1)
    }

    fn refuse(&mut self, ssrc: u32, pt: u8, families: &Arc<Families>) {
        families.refused_streams.inc();
        if self.refused.len() < MAX_REFUSED_MEMO {
            self.refused.push((ssrc, pt));
        }
    }
}
