// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The FlexFEC sender of one media stream: media packets go in (the caller sends them on
//! unchanged), whole repair packets on the FEC stream's own SSRC, payload type and sequence
//! numbers come out (RFC 8627 §1.1 and §4.1):
//!
//! - **flexible**: per group of whole frames (at most 48 packets), FEC packets in the share
//!   the overhead percentage gives, their masks from [`group_masks`]. The group rule is
//!   libwebrtc's (`UlpfecGenerator`, which its FlexFEC sender shares): at a frame's end the
//!   group is protected once it spans `max_frames` frames, or as soon as the FEC count
//!   (the percentage of its packets, rounded, at least one) overshoots the percentage by
//!   less than 50/256 and it holds enough packets (one, or four above 80/256 overhead; one
//!   more when frames average two packets or more). With `max_frames` 1 every frame is
//!   protected on its own, however small;
//! - **row** (1-D non-interleaved, RFC 8627 §1.1.1): one repair packet per `l` consecutive
//!   packets;
//! - **column** (1-D interleaved, §1.1.2): per block of `l`×`d` packets, one repair packet
//!   per column (packets j, j + l, …, j + l·(d − 1));
//! - **row and column** (2-D, §1.1.3): both, so that a row repair rebuilds what a column
//!   repair then completes, iteratively;
//! - **column and diagonal** (flexible masks, [`diagonal`]): per `l`×`d` block, one repair
//!   per column and one per diagonal of each of `k − 1` slopes, so each packet is protected
//!   `k` times and a burst breaks none of its groups.
//!
//! Column repairs are paced as SMPTE 2022-1 senders do: the first right after its block, the
//! others one per `d` media packets of the next block, so that a burst of loss does not take
//! a block's column repairs together.
//!
//! RFC 8627 writes row and column repairs with the fixed L/D header (§4.2.2.2); flexfec-03
//! has only the flexible mask, so there a column's span `l`·(`d` − 1) must stay under 109.
//! A gap in the media numbering (loss upstream) restarts the block.

use super::flexfec::{
    FlexfecError, ProtectedStream, RepairRtp, StreamMask, WireFormat, mask_of_offsets,
    repair_packet,
};
use super::masks::{MaskKind, group_masks};
use running::RunningParity;
use std::collections::VecDeque;

#[path = "flexfec_running.rs"]
mod running;

#[path = "flexfec_diagonal.rs"]
pub mod diagonal;

/// Most packets in a flexible group.
pub const MAX_GROUP: usize = 48;

/// How media packets are protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protection {
    /// Masks of `kind` over each group; `percentage` FEC packets per 100 media packets.
    Flexible {
        /// The mask layout.
        kind: MaskKind,
        /// Overhead in percent of media packets.
        percentage: u32,
        /// Most frames one group spans (libwebrtc's `max_fec_frames`; 0 counts as 1).
        max_frames: u8,
    },
    /// One repair packet per `l` consecutive packets.
    Row {
        /// L, packets per row.
        l: u8,
    },
    /// One repair packet per column of an `l`×`d` block.
    Column {
        /// L, columns.
        l: u8,
        /// D, rows.
        d: u8,
    },
    /// Row and column repairs of an `l`×`d` block.
    RowColumn {
        /// L, columns.
        l: u8,
        /// D, rows.
        d: u8,
    },
    /// Column and diagonal repairs of an `l`×`d` block, flexible masks ([`diagonal`]).
    ColumnDiagonal {
        /// L, columns (and lines of each slope), at least `d`.
        l: u8,
        /// D, rows: overhead `k`/D.
        d: u8,
        /// Slopes, the column's included (2–4): the times each packet is protected.
        k: u8,
    },
}

/// The sender of one media stream.
#[derive(Debug)]
pub struct FlexfecSender {
    format: WireFormat,
    protection: Protection,
    fec_ssrc: u32,
    payload_type: u8,
    seqnum: u16,
    /// The current flexible group: whole media packets, consecutive sequence numbers.
    packets: Vec<Vec<u8>>,
    /// Row and column protection: the current row's parity, each column's of the current
    /// block, the block's packets so far and the last one's sequence number.
    row: RunningParity,
    columns: Vec<RunningParity>,
    /// Column and diagonal protection: each group's parity of the current block, by slope.
    diagonals: Vec<RunningParity>,
    in_block: usize,
    last_seq: u16,
    /// The storage of finished blocks' packets, reused (no allocation per media packet).
    spare: Vec<Vec<u8>>,
    media_ssrc: u32,
    /// Frames (marker bits) in the current flexible group.
    frames: usize,
    /// Column repairs waiting for their turn, and media packets since the last one left.
    paced: VecDeque<Vec<u8>>,
    since_paced: usize,
    /// Media packets protected so far.
    pub protected: u64,
}

/// `percentage` as libwebrtc's FEC rate: Q8, 255 at most.
fn rate_q8(percentage: u32) -> u32 {
    ((percentage.min(100) * 256 + 50) / 100).min(255)
}

/// FEC packets for a group of `n` media packets at `rate` (Q8): `n` × `rate` rounded, at
/// least one when the rate is not zero, at most `n` (libwebrtc's
/// `ForwardErrorCorrection::NumFecPackets`).
fn fec_count(n: usize, rate: u32) -> usize {
    let k = (n * rate as usize + 128) >> 8;
    if rate > 0 { k.max(1).min(n) } else { 0 }
}

/// Whether a flexible group of `n` packets in `frames` whole frames gets its FEC packets now
/// (the rule in the module documentation).
fn group_complete(n: usize, frames: usize, percentage: u32, max_frames: u8) -> bool {
    /// Largest overshoot of the actual over the asked overhead, Q8.
    const MAX_EXCESS: usize = 50;
    /// Above this rate (Q8), a group holds at least `MIN_PACKETS_HIGH` packets.
    const HIGH_RATE: u32 = 80;
    const MIN_PACKETS_HIGH: usize = 4;
    if frames >= usize::from(max_frames.max(1)) {
        return true;
    }
    let rate = rate_q8(percentage);
    let overhead = (fec_count(n, rate) << 8) / n.max(1);
    let min_packets = if rate > HIGH_RATE {
        MIN_PACKETS_HIGH
    } else {
        1
    };
    // Frames of two packets or more on average: one packet more.
    let min_packets = min_packets + usize::from(n >= 2 * frames);
    overhead.saturating_sub(rate as usize) < MAX_EXCESS && n >= min_packets
}

fn seq_of(p: &[u8]) -> u16 {
    u16::from_be_bytes([p[2], p[3]])
}

impl FlexfecSender {
    /// A sender writing `format` repair packets on `fec_ssrc` / `payload_type`, numbered from
    /// `first_seqnum`. `protection` is clamped to what the format can express.
    pub fn new(
        format: WireFormat,
        protection: Protection,
        fec_ssrc: u32,
        payload_type: u8,
        first_seqnum: u16,
    ) -> Self {
        let max_span = usize::from(format.max_mask_bits());
        let protection = match protection {
            Protection::Row { l } => Protection::Row {
                l: l.max(1).min(max_span.min(255) as u8),
            },
            Protection::Column { l, d } | Protection::RowColumn { l, d } => {
                let l = l.max(1);
                let mut d = d.max(2);
                if format == WireFormat::Flexfec03 {
                    // A column's span must fit the flexible mask.
                    while usize::from(l) * (usize::from(d) - 1) >= max_span && d > 2 {
                        d -= 1;
                    }
                }
                let l = if format == WireFormat::Flexfec03 && usize::from(l) >= max_span {
                    (max_span - 1) as u8
                } else {
                    l
                };
                match protection {
                    Protection::Column { .. } => Protection::Column { l, d },
                    _ => Protection::RowColumn { l, d },
                }
            }
            Protection::ColumnDiagonal { l, d, k } => {
                let (l, d, k) = diagonal::fit(l, d, k, max_span);
                Protection::ColumnDiagonal { l, d, k }
            }
            p => p,
        };
        FlexfecSender {
            format,
            protection,
            fec_ssrc,
            payload_type: payload_type & 0x7f,
            seqnum: first_seqnum,
            packets: Vec::new(),
            row: RunningParity::default(),
            columns: Vec::new(),
            diagonals: Vec::new(),
            in_block: 0,
            last_seq: 0,
            spare: Vec::new(),
            media_ssrc: 0,
            frames: 0,
            paced: VecDeque::new(),
            since_paced: 0,
            protected: 0,
        }
    }

    /// The protection in use (after clamping).
    pub fn protection(&self) -> Protection {
        self.protection
    }

    /// A media packet (whole RTP packet) sent; returns the repair packets to send after it.
    /// Packets shorter than an RTP header are not protected.
    pub fn push(&mut self, packet: &[u8]) -> Vec<Vec<u8>> {
        let out = self.push_unnumbered(packet);
        self.numbered(out)
    }

    /// Gives repair packets their sequence numbers in the order they leave (paced column
    /// repairs leave after row repairs made later).
    fn numbered(&mut self, mut out: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        for p in &mut out {
            if let Some(seq) = p.get_mut(2..4) {
                seq.copy_from_slice(&self.seqnum.to_be_bytes());
                self.seqnum = self.seqnum.wrapping_add(1);
            }
        }
        out
    }

    fn push_unnumbered(&mut self, packet: &[u8]) -> Vec<Vec<u8>> {
        if packet.len() < 12 {
            return Vec::new();
        }
        let ssrc = u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]);
        let seq = seq_of(packet);
        let mut out = Vec::new();
        if self.block_len() > 0 && (ssrc != self.media_ssrc || seq != self.last_seq.wrapping_add(1))
        {
            // Another stream or a gap: the block cannot be completed.
            out = self.flush_unnumbered();
        }
        self.media_ssrc = ssrc;
        self.last_seq = seq;
        match self.protection {
            Protection::Flexible {
                percentage,
                max_frames,
                ..
            } => {
                let mut stored = self.spare.pop().unwrap_or_default();
                stored.clear();
                stored.extend_from_slice(packet);
                self.packets.push(stored);
                let n = self.packets.len();
                self.frames += usize::from(packet[1] & 0x80 != 0);
                if n >= MAX_GROUP
                    || (packet[1] & 0x80 != 0
                        && group_complete(n, self.frames, percentage, max_frames))
                {
                    out.extend(self.flush_unnumbered());
                }
            }
            Protection::Row { l } => {
                self.row.add(packet);
                self.in_block += 1;
                if self.in_block >= usize::from(l) {
                    out.extend(self.row_repair(l, 0));
                    self.finish_block();
                }
            }
            Protection::Column { l, d } | Protection::RowColumn { l, d } => {
                let (lu, du) = (usize::from(l), usize::from(d));
                let both = matches!(self.protection, Protection::RowColumn { .. });
                if self.columns.len() < lu {
                    self.columns.resize_with(lu, RunningParity::default);
                }
                if both {
                    self.row.add(packet);
                }
                self.columns[self.in_block % lu].add(packet);
                self.in_block += 1;
                let n = self.in_block;
                if both && n.is_multiple_of(lu) {
                    out.extend(self.row_repair(l, 1));
                }
                self.since_paced += 1;
                if self.since_paced >= du {
                    out.extend(self.paced.pop_front());
                    self.since_paced = 0;
                }
                if n >= lu * du {
                    // Anything still waiting goes first (a block shorter than a pacing round).
                    out.extend(self.paced.drain(..));
                    for j in 0..lu {
                        let repair = self.column_repair(j, l, d);
                        self.paced.extend(repair);
                    }
                    out.extend(self.paced.pop_front());
                    self.since_paced = 0;
                    self.finish_block();
                }
            }
            Protection::ColumnDiagonal { .. } => self.push_column_diagonal(packet, &mut out),
        }
        out
    }

    /// Media packets in the current group, row or block.
    fn block_len(&self) -> usize {
        self.packets.len().max(self.in_block)
    }

    /// Ends the current group (EOS, a gap): a flexible group gets its FEC packets, column
    /// repairs still paced leave; a partial row or block gets none (column-diagonal: its own).
    pub fn flush(&mut self) -> Vec<Vec<u8>> {
        let out = self.flush_unnumbered();
        self.numbered(out)
    }

    fn flush_unnumbered(&mut self) -> Vec<Vec<u8>> {
        let n = self.block_len();
        if n == 0 {
            return self.paced.drain(..).collect();
        }
        let out = match self.protection {
            Protection::Flexible {
                kind, percentage, ..
            } => {
                let k = fec_count(n, rate_q8(percentage));
                if k == 0 {
                    Vec::new()
                } else {
                    group_masks(n, k, kind)
                        .into_iter()
                        .filter_map(|offsets| self.flexible_repair(&offsets).ok())
                        .collect()
                }
            }
            Protection::ColumnDiagonal { .. } => self.flush_column_diagonal(),
            _ => self.paced.drain(..).collect(),
        };
        self.finish_block();
        out
    }

    fn finish_block(&mut self) {
        self.protected += self.block_len() as u64;
        self.frames = 0;
        self.in_block = 0;
        self.row.clear();
        self.columns.iter_mut().for_each(RunningParity::clear);
        self.diagonals.iter_mut().for_each(RunningParity::clear);
        self.spare.append(&mut self.packets);
    }

    /// The repair packet of the flexible group's packets at `offsets` (its timestamp: the
    /// last one's; its sequence number written when it leaves, `numbered`).
    fn flexible_repair(&mut self, offsets: &[u16]) -> Result<Vec<u8>, FlexfecError> {
        let packets: Vec<&[u8]> = (offsets.iter())
            .filter_map(|&o| self.packets.get(usize::from(o)).map(|p| &p[..]))
            .collect();
        let timestamp = packets
            .last()
            .map_or(0, |p| u32::from_be_bytes([p[4], p[5], p[6], p[7]]));
        let rtp = RepairRtp {
            ssrc: self.fec_ssrc,
            payload_type: self.payload_type,
            seqnum: 0,
            timestamp,
        };
        let stream = ProtectedStream {
            ssrc: self.media_ssrc,
            sn_base: self.packets.first().map_or(0, |p| seq_of(p)),
            mask: StreamMask::Flexible(mask_of_offsets(offsets.iter().copied())),
        };
        repair_packet(self.format, rtp, stream, &packets)
    }

    /// The repair packet of the row just completed (`l` packets); `d` is the D of its fixed
    /// header (1: columns follow).
    fn row_repair(&mut self, l: u8, d: u8) -> Option<Vec<u8>> {
        let mask = match self.format {
            WireFormat::Rfc8627 => StreamMask::Fixed { l, d },
            _ => StreamMask::Flexible(mask_of_offsets(0..u16::from(l))),
        };
        let (f, pt, ssrc) = (self.format, self.payload_type, self.fec_ssrc);
        self.row.take(f, ssrc, pt, self.media_ssrc, mask)
    }

    /// The repair packet of column `j` of the block just completed.
    fn column_repair(&mut self, j: usize, l: u8, d: u8) -> Option<Vec<u8>> {
        let mask = match self.format {
            WireFormat::Rfc8627 => StreamMask::Fixed { l, d },
            _ => StreamMask::Flexible(mask_of_offsets((0..u16::from(d)).map(|r| r * u16::from(l)))),
        };
        let (f, pt, ssrc) = (self.format, self.payload_type, self.fec_ssrc);
        self.columns[j].take(f, ssrc, pt, self.media_ssrc, mask)
    }
}

#[cfg(test)]
#[path = "flexfec_sender_tests.rs"]
mod tests;
