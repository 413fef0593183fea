// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RFC 6184 depacketizer: single NAL unit packets (§5.6), STAP-A, STAP-B, MTAP16, MTAP24
//! (§5.7), FU-A and FU-B (§5.8), and the interleaved mode (§5.5, §6.4) in which NAL units are
//! released in decoding order (DON).
//!
//! The caller (the depayloader element) passes packets in sequence order with a
//! `discont` flag when packets were lost before one. NAL units come out as [`OutputNal`]s:
//! ranges of the payload just passed in when they can be shared, owned bytes when they were
//! reassembled or held for reordering. Every packet or part of one that cannot be used is
//! reported as a [`DropReason`]; a fragmented NAL unit that lost a fragment is dropped whole,
//! so no corrupted NAL unit ever comes out. All buffering is bounded.

use super::{
    NAL_FU_A, NAL_FU_B, NAL_MTAP16, NAL_MTAP24, NAL_STAP_A, NAL_STAP_B, forbidden_bit, nal_type,
};
use crate::fragments::{Fragment, FragmentAssembler};
use crate::naldepack::{DonReorder, DonReorderLimits};

/// Limits and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepacketizerConfig {
    /// Largest NAL unit reassembled from fragments; a longer one is dropped.
    pub max_nal_size: usize,
    /// Packetization mode 2: reorder NAL units by DON.
    pub interleaved: bool,
    /// `sprop-interleaving-depth` (§8.1): NAL units held before the smallest DON is released.
    pub interleaving_depth: usize,
    /// `sprop-deint-buf-req` (§8.1): bytes the de-interleaving buffer may hold.
    pub deint_buf_bytes: usize,
}

impl Default for DepacketizerConfig {
    fn default() -> Self {
        DepacketizerConfig {
            max_nal_size: 8 * 1024 * 1024,
            interleaved: false,
            interleaving_depth: 0,
            deint_buf_bytes: 32 * 1024 * 1024,
        }
    }
}

pub use crate::naldepack::{DropReason, MAX_DEINTERLEAVE_NALS, NalData, OutputNal};

/// The RFC 6184 depacketizer.
#[derive(Debug, Clone)]
pub struct H264Depacketizer {
    config: DepacketizerConfig,
    /// FU-A / FU-B reassembly.
    fragments: FragmentAssembler,
    /// Interleaved mode: NAL units waiting for their turn in decoding order.
    deinterleave: DonReorder,
}

impl Default for H264Depacketizer {
    fn default() -> Self {
        H264Depacketizer::new(DepacketizerConfig::default())
    }
}

impl H264Depacketizer {
    /// A depacketizer with these settings.
    pub fn new(config: DepacketizerConfig) -> Self {
        H264Depacketizer {
            config,
            fragments: FragmentAssembler::new(config.max_nal_size),
            deinterleave: DonReorder::default(),
        }
    }

    /// Forgets everything in progress (flush, new sender).
    pub fn reset(&mut self) {
        *self = H264Depacketizer::new(self.config);
    }

    /// Handles one packet. NAL units completed by it go to `out` (payload ranges refer to
    /// `payload`); the reasons for anything dropped go to `drops`.
    pub fn push(
        &mut self,
        payload: &[u8],
        timestamp: u64,
        marker: bool,
        discont: bool,
        out: &mut Vec<OutputNal>,
        drops: &mut Vec<DropReason>,
    ) {
        let first_out = out.len();
        if discont {
            self.fragments.abandon(drops);
        }
        let Some(&header) = payload.first() else {
            drops.push(DropReason::EmptyPayload);
            return;
        };
        if forbidden_bit(header) {
            drops.push(DropReason::ForbiddenBit);
            return;
        }
        let kind = nal_type(header);
        if kind != NAL_FU_A && kind != NAL_FU_B {
            self.fragments.abandon(drops);
        }
        match kind {
            1..=23 => self.emit(
                NalData::Payload(0..payload.len()),
                payload,
                timestamp,
                None,
                out,
            ),
            NAL_STAP_A | NAL_STAP_B => self.stap(payload, kind, timestamp, out, drops),
            NAL_MTAP16 | NAL_MTAP24 => self.mtap(payload, kind, timestamp, out, drops),
            NAL_FU_A | NAL_FU_B => self.fragment(payload, kind, timestamp, out, drops),
            _ => drops.push(DropReason::UnsupportedType(kind)),
        }
        let limits = self.don_limits();
        let staged = self
            .deinterleave
            .end_packet(marker, &limits, out, &mut Vec::new());
        if marker
            && !staged
            && let Some(last) = out[first_out..].last_mut()
        {
            last.marker = true;
        }
    }

    fn don_limits(&self) -> DonReorderLimits {
        DonReorderLimits {
            max_nals: self.config.interleaving_depth,
            max_bytes: self.config.deint_buf_bytes,
            max_don_diff: None,
        }
    }

    /// End of stream: releases what the de-interleaving buffer holds, in DON order; an
    /// unfinished fragmented NAL unit is dropped.
    pub fn drain(&mut self, out: &mut Vec<OutputNal>, drops: &mut Vec<DropReason>) {
        self.fragments.abandon(drops);
        self.deinterleave.drain(out);
    }

    /// NAL units held for de-interleaving.
    pub fn held_nals(&self) -> usize {
        self.deinterleave.len()
    }

    fn emit(
        &mut self,
        data: NalData,
        payload: &[u8],
        timestamp: u64,
        don: Option<u16>,
        out: &mut Vec<OutputNal>,
    ) {
        match don.filter(|_| self.config.interleaved) {
            None => out.push(OutputNal {
                data,
                timestamp,
                marker: false,
            }),
            Some(don) => {
                let bytes = match data {
                    NalData::Payload(r) => payload[r].to_vec(),
                    NalData::Owned(v) => v,
                };
                self.deinterleave.stage(don, bytes, timestamp);
            }
        }
    }

    /// STAP-A / STAP-B (§5.7.1): [header][DON if B] then (16-bit size, NAL unit)*.
    fn stap(
        &mut self,
        payload: &[u8],
        kind: u8,
        timestamp: u64,
        out: &mut Vec<OutputNal>,
        drops: &mut Vec<DropReason>,
    ) {
        let mut pos = 1;
        let mut don = None;
        if kind == NAL_STAP_B {
            let Some(d) = payload.get(1..3) else {
                drops.push(DropReason::BadAggregation(kind));
                return;
            };
            don = Some(u16::from_be_bytes([d[0], d[1]]));
            pos = 3;
        }
        let mut units = 0;
        while pos < payload.len() {
            let Some(size) = payload.get(pos..pos + 2) else {
                drops.push(DropReason::BadAggregation(kind));
                return;
            };
            let size = usize::from(u16::from_be_bytes([size[0], size[1]]));
            let start = pos + 2;
            if size == 0 || payload.len() - start < size {
                drops.push(DropReason::BadAggregation(kind));
                return;
            }
            if self.check_unit(payload[start], drops) {
                self.emit(
                    NalData::Payload(start..start + size),
                    payload,
                    timestamp,
                    don,
                    out,
                );
            }
            don = don.map(|d| d.wrapping_add(1));
            pos = start + size;
            units += 1;
        }
        if units == 0 {
            drops.push(DropReason::BadAggregation(kind));
        }
    }

    /// MTAP16 / MTAP24 (§5.7.2): [header][DONB] then (NALU size, DOND, TS offset, NAL
    /// unit)*. The 16-bit size is that of the NAL unit that follows DOND and TS offset
    /// ("size information of the following NAL unit"), as live555 and Wireshark read it.
    fn mtap(
        &mut self,
        payload: &[u8],
        kind: u8,
        timestamp: u64,
        out: &mut Vec<OutputNal>,
        drops: &mut Vec<DropReason>,
    ) {
        let ts_len = if kind == NAL_MTAP16 { 2 } else { 3 };
        let Some(donb) = payload.get(1..3) else {
            drops.push(DropReason::BadAggregation(kind));
            return;
        };
        let donb = u16::from_be_bytes([donb[0], donb[1]]);
        let mut pos = 3;
        let mut units = 0;
        while pos < payload.len() {
            let Some(head) = payload.get(pos..pos + 3 + ts_len) else {
                drops.push(DropReason::BadAggregation(kind));
                return;
            };
            let size = usize::from(u16::from_be_bytes([head[0], head[1]]));
            let dond = head[2];
            let ts_offset = head[3..]
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            let start = pos + 3 + ts_len;
            if size == 0 || payload.len() - start < size {
                drops.push(DropReason::BadAggregation(kind));
                return;
            }
            let end = start + size;
            if self.check_unit(payload[start], drops) {
                let don = donb.wrapping_add(u16::from(dond));
                self.emit(
                    NalData::Payload(start..end),
                    payload,
                    timestamp + ts_offset,
                    Some(don),
                    out,
                );
            }
            pos = end;
            units += 1;
        }
        if units == 0 {
            drops.push(DropReason::BadAggregation(kind));
        }
    }

    /// A NAL unit inside an aggregation packet must be a plain NAL unit (types 1–23).
    fn check_unit(&self, header: u8, drops: &mut Vec<DropReason>) -> bool {
        if forbidden_bit(header) {
            drops.push(DropReason::ForbiddenBit);
            return false;
        }
        match nal_type(header) {
            1..=23 => true,
            t => {
                drops.push(DropReason::UnsupportedType(t));
                false
            }
        }
    }

    /// FU-A / FU-B (§5.8): [FU indicator][FU header][DON if FU-B start] fragment. The NAL
    /// header is F and NRI of the FU indicator with the type of the FU header.
    fn fragment(
        &mut self,
        payload: &[u8],
        kind: u8,
        timestamp: u64,
        out: &mut Vec<OutputNal>,
        drops: &mut Vec<DropReason>,
    ) {
        let Some(&fu_header) = payload.get(1) else {
            drops.push(DropReason::EmptyPayload);
            return;
        };
        let nal_header = [(payload[0] & 0xe0) | (fu_header & 0x1f)];
        let fragment = Fragment {
            start: fu_header & 0x80 != 0,
            end: fu_header & 0x40 != 0,
            nal_header: &nal_header,
            nal_type: nal_type(nal_header[0]),
            type_allowed: matches!(nal_type(nal_header[0]), 1..=23),
            rest: &payload[2..],
            start_has_don: kind == NAL_FU_B,
            // FU-B is only the first fragment; the rest of a FU-B NAL unit travels as FU-A.
            may_continue: kind == NAL_FU_A,
            timestamp,
        };
        if let Some(nal) = self.fragments.push(&fragment, drops) {
            self.emit(
                NalData::Owned(nal.data),
                payload,
                nal.timestamp,
                nal.don,
                out,
            );
        }
    }
}

impl crate::naldepack::Depacketize for H264Depacketizer {
    fn push(
        &mut self,
        payload: &[u8],
        timestamp: u64,
        marker: bool,
        discont: bool,
        out: &mut Vec<OutputNal>,
        drops: &mut Vec<DropReason>,
    ) {
        H264Depacketizer::push(self, payload, timestamp, marker, discont, out, drops);
    }

    fn drain(&mut self, out: &mut Vec<OutputNal>, drops: &mut Vec<DropReason>) {
        H264Depacketizer::drain(self, out, drops);
    }

    fn reset(&mut self) {
        H264Depacketizer::reset(self);
    }

    fn reorders(&self) -> bool {
        self.config.interleaved
    }
}

#[cfg(test)]
#[path = "depacketizer_tests.rs"]
mod tests;
