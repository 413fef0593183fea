// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The packet → output relation of the depayloader: every output names the packets it was
//! made from (a range of extended sequence numbers), and is decorated from those packets,
//! never from "the packet being handled" (which, for an access unit ended by the next one's
//! first packet, belongs to the next output).
//!
//! The base class keeps, per accepted packet still in a bounded window, what decorating
//! needs: its RFC 8285 extension block (RFC 3550 §5.3.1), its CSRCs (RFC 3550 §5.1, for
//! `RTPSourceMeta` with `source-info`), and a carrier buffer with the input's metas whose
//! tags the subclass allows. A packet with none of these is not recorded (the G.722 path
//! without extensions keeps nothing). The SSRC is the same for the whole window: a new SSRC
//! or a restart clears it.

use std::collections::VecDeque;
use std::ops::RangeInclusive;

use rtp2_core::rtp::{MAX_CSRC_COUNT, RtpPacket};
use smallvec::SmallVec;

/// Most packets kept: an output made from more (an access unit of over a thousand packets)
/// is decorated from its last `MAX_RECORDS` packets only.
pub(super) const MAX_RECORDS: usize = 1024;

/// The data of an extension block, inline up to 32 bytes (WebRTC's audio and video sets
/// take 8 to 24): recording and gathering a packet's block allocate nothing.
pub(super) type ExtensionBlockData = SmallVec<[u8; 32]>;

/// An extension block: RFC 8285 profile (0xBEDE or 0x100x) and its data.
pub(super) type ExtensionBlock = (u16, ExtensionBlockData);

#[derive(Debug)]
struct PacketRecord {
    ext_seqnum: u64,
    csrcs: SmallVec<[u32; 2]>,
    extension: Option<ExtensionBlock>,
    /// A buffer without memory holding copies of the input's allowed metas.
    metas: Option<gst::Buffer>,
}

/// What an output gets from its packets (gathered under the state lock, applied after it).
#[derive(Debug, Default)]
pub(super) struct FromPackets {
    /// SSRC and the CSRCs of all packets (each once, in order of first appearance, at most
    /// 15), when `source-info` is on.
    pub sources: Option<(u32, SmallVec<[u32; 4]>)>,
    /// The extension blocks of the packets, in sequence order (inline for an output made
    /// from one packet, the usual case: one allocation per output otherwise, none per packet).
    pub extensions: SmallVec<[ExtensionBlock; 1]>,
    /// The meta carriers of the packets, in sequence order.
    pub metas: Vec<gst::Buffer>,
}

impl FromPackets {
    /// Nothing to add: the output can be queued as is.
    pub fn is_empty(&self) -> bool {
        self.sources.is_none() && self.extensions.is_empty() && self.metas.is_empty()
    }
}

/// The recorded packets, in sequence order.
#[derive(Debug, Default)]
pub(super) struct PacketWindow {
    ssrc: u32,
    /// `source-info`: packets are recorded for their SSRC/CSRCs too.
    source_info: bool,
    records: VecDeque<PacketRecord>,
}

impl PacketWindow {
    /// Turns recording of sources for `RTPSourceMeta` on or off.
    pub fn set_source_info(&mut self, on: bool) {
        self.source_info = on;
    }

    /// Forgets every packet (new SSRC, restart, flush: extended sequence numbers start over).
    pub fn clear(&mut self) {
        self.records.clear();
    }

    /// Records what the accepted packet `rtp` (extended sequence number `ext_seqnum`) gives
    /// the outputs made from it; `metas` carries its allowed metas, if any.
    #[inline]
    pub fn record(&mut self, ext_seqnum: u64, rtp: &RtpPacket, metas: Option<gst::Buffer>) {
        if self.source_info || rtp.has_extension() || metas.is_some() {
            self.push(ext_seqnum, rtp, metas);
        }
    }

    fn push(&mut self, ext_seqnum: u64, rtp: &RtpPacket, metas: Option<gst::Buffer>) {
        let extension = rtp.extension();
        self.ssrc = rtp.ssrc();
        if self.records.len() >= MAX_RECORDS {
            self.records.pop_front();
        }
        self.records.push_back(PacketRecord {
            ext_seqnum,
            csrcs: if self.source_info {
                rtp.csrcs().collect()
            } else {
                SmallVec::new()
            },
            extension: extension.map(|(profile, data)| (profile, SmallVec::from_slice(data))),
            metas,
        });
    }

    /// What an output made from `packets` gets.
    #[inline]
    pub fn gather(&self, packets: &RangeInclusive<u64>) -> FromPackets {
        if self.records.is_empty() {
            return FromPackets::default();
        }
        self.gather_records(packets)
    }

    fn gather_records(&self, packets: &RangeInclusive<u64>) -> FromPackets {
        let mut out = FromPackets::default();
        let start = self
            .records
            .partition_point(|r| r.ext_seqnum < *packets.start());
        let mut csrcs = SmallVec::<[u32; 4]>::new();
        let mut any = false;
        for r in self.records.range(start..) {
            if r.ext_seqnum > *packets.end() {
                break;
            }
            any = true;
            for c in &r.csrcs {
                if !csrcs.contains(c) && csrcs.len() < MAX_CSRC_COUNT {
                    csrcs.push(*c);
                }
            }
            if let Some(ext) = &r.extension {
                out.extensions.push(ext.clone());
            }
            if let Some(metas) = &r.metas {
                out.metas.push(metas.clone());
            }
        }
        if any && self.source_info {
            out.sources = Some((self.ssrc, csrcs));
        }
        out
    }
}

/// Copies the metas of `input` whose tags are all in `allowed` (untagged metas included, as
/// the C `gst_rtp_copy_meta` does) onto a buffer without memory; `None` when there are none.
pub(super) fn allowed_metas(input: &gst::BufferRef, allowed: &[&str]) -> Option<gst::Buffer> {
    let mut carrier: Option<gst::Buffer> = None;
    for meta in input.iter_meta::<gst::Meta>() {
        // RTPSourceMeta describes one RTP hop: the base makes its own (`source-info`).
        if !meta.tags_contain_only(allowed)
            || meta.api() == <gst_rtp::RTPSourceMeta as gst::prelude::MetaAPI>::meta_api()
        {
            continue;
        }
        let target = carrier.get_or_insert_with(gst::Buffer::new);
        let copy = gst::meta::MetaTransformCopy::new(..);
        if let Some(target) = target.get_mut() {
            // A meta without a copy transform is not carried, as in C.
            let _ = meta.transform(target, &copy);
        }
    }
    carrier.filter(|c| c.iter_meta::<gst::Meta>().next().is_some())
}

/// Copies every meta of the carriers onto `output`.
pub(super) fn copy_metas(carriers: &[gst::Buffer], output: &mut gst::BufferRef) {
    for carrier in carriers {
        for meta in carrier.iter_meta::<gst::Meta>() {
            let copy = gst::meta::MetaTransformCopy::new(..);
            let _ = meta.transform(output, &copy);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3550 §5.1 header with `csrcs` and, when `level` is set, an RFC 8285 one-byte
    /// block with element id 1 = `level`.
    fn packet(seq: u16, csrcs: &[u32], level: Option<u8>) -> Vec<u8> {
        let x = if level.is_some() { 0x10 } else { 0 };
        let mut p = vec![0x80 | x | csrcs.len() as u8, 96];
        p.extend(seq.to_be_bytes());
        p.extend([0, 0, 0, 0, 0, 0, 0, 9]);
        for c in csrcs {
            p.extend(c.to_be_bytes());
        }
        if let Some(level) = level {
            p.extend([0xbe, 0xde, 0, 1, 0x10, level, 0, 0]);
        }
        p.push(0xaa);
        p
    }

    fn record(window: &mut PacketWindow, seq: u16, csrcs: &[u32], level: Option<u8>) {
        let data = packet(seq, csrcs, level);
        let rtp = RtpPacket::parse(&data).expect("valid packet");
        window.record(1000 + u64::from(seq), &rtp, None);
    }

    #[test]
    fn gathers_from_the_range_only() {
        let mut w = PacketWindow::default();
        w.set_source_info(true);
        record(&mut w, 1, &[5], Some(10));
        record(&mut w, 2, &[6, 5], Some(11));
        record(&mut w, 3, &[7], Some(20));
        let got = w.gather(&(1001..=1002));
        assert_eq!(got.sources, Some((9, SmallVec::from_slice(&[5, 6]))));
        let levels: Vec<u8> = got.extensions.iter().map(|(_, d)| d[1]).collect();
        assert_eq!(levels, [10, 11]);
        // An output of one packet gets its block without a heap allocation.
        let one = w.gather(&(1003..=1003));
        assert_eq!(one.extensions.len(), 1);
        assert!(!one.extensions.spilled() && !one.extensions[0].1.spilled());
        assert_eq!(one.extensions[0].1[1], 20);
        assert!(w.gather(&(1004..=1010)).is_empty());
        w.clear();
        assert!(w.gather(&(1001..=1003)).is_empty());
    }

    #[test]
    fn bounded_in_packets_and_csrcs() {
        let mut w = PacketWindow::default();
        w.set_source_info(true);
        let csrcs: Vec<u32> = (0..15).collect();
        for seq in 0..(MAX_RECORDS as u16 + 100) {
            let shifted: Vec<u32> = csrcs.iter().map(|c| c + u32::from(seq)).collect();
            record(&mut w, seq, &shifted, None);
        }
        assert_eq!(w.records.len(), MAX_RECORDS);
        // The oldest were forgotten; CSRCs stop at 15 (RFC 3550 §5.1).
        assert!(w.gather(&(1000..=1099)).is_empty());
        let (_, got) = w.gather(&(1000..=u64::MAX)).sources.unwrap();
        assert_eq!(got.len(), MAX_CSRC_COUNT);
    }

    #[test]
    fn nothing_recorded_without_extension_source_info_or_metas() {
        let mut w = PacketWindow::default();
        record(&mut w, 1, &[5], None);
        assert!(w.records.is_empty());
        record(&mut w, 2, &[], Some(3));
        assert_eq!(w.records.len(), 1);
        assert!(w.gather(&(1002..=1002)).sources.is_none());
    }
}
