// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RFC 7798 depacketizer: single NAL unit packets (§4.4.1), aggregation packets (§4.4.2),
//! fragmentation units (§4.4.3) and PACI packets (§4.4.4), with the DONL/DOND fields that are
//! present when `sprop-max-don-diff` is greater than 0; NAL units are then released in
//! decoding order (§6).
//!
//! The caller passes packets in sequence order with a `discont` flag when packets were lost
//! before one. Output and drop reasons are those shared with H.264 ([`crate::naldepack`]):
//! a fragmented NAL unit that lost a fragment is dropped whole, every buffer is bounded.

pub use crate::naldepack::{DropReason, NalData, OutputNal};

use super::{NAL_AP, NAL_FU, NAL_PACI, forbidden_bit, is_nal_unit_type, make_header, nal_type};
use crate::fragments::{Fragment, FragmentAssembler};
use crate::naldepack::{DonReorder, DonReorderLimits};

/// Limits and the decoding-order settings from SDP (§7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepacketizerConfig {
    /// Largest NAL unit reassembled from fragments; a longer one is dropped.
    pub max_nal_size: usize,
    /// `sprop-max-don-diff`: when greater than 0, packets carry DONL/DOND fields and NAL
    /// units are reordered into decoding order.
    pub max_don_diff: u32,
    /// `sprop-depack-buf-nalus`: NAL units the de-packetization buffer may hold (0: no
    /// limit of its own, [`crate::naldepack::MAX_DEINTERLEAVE_NALS`] still applies).
    pub depack_buf_nalus: usize,
    /// `sprop-depack-buf-bytes`: bytes the de-packetization buffer may hold.
    pub depack_buf_bytes: usize,
}

impl Default for DepacketizerConfig {
    fn default() -> Self {
        DepacketizerConfig {
            max_nal_size: 8 * 1024 * 1024,
            max_don_diff: 0,
            depack_buf_nalus: 0,
            depack_buf_bytes: 32 * 1024 * 1024,
        }
    }
}

/// The RFC 7798 depacketizer.
#[derive(Debug, Clone)]
pub struct H265Depacketizer {
    config: DepacketizerConfig,
    /// FU reassembly.
    fragments: FragmentAssembler,
    reorder: DonReorder,
}

impl Default for H265Depacketizer {
    fn default() -> Self {
        H265Depacketizer::new(DepacketizerConfig::default())
    }
}

impl H265Depacketizer {
    /// A depacketizer with these settings.
    pub fn new(config: DepacketizerConfig) -> Self {
        H265Depacketizer {
            config,
            fragments: FragmentAssembler::new(config.max_nal_size),
            reorder: DonReorder::default(),
        }
    }

    /// Forgets everything in progress (flush, new sender).
    pub fn reset(&mut self) {
        *self = H265Depacketizer::new(self.config);
    }

    /// NAL units held for decoding order.
    pub fn held_nals(&self) -> usize {
        self.reorder.len()
    }

    fn has_don(&self) -> bool {
        self.config.max_don_diff > 0
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
        self.packet(payload, timestamp, true, out, drops);
        let limits = self.don_limits();
        let staged = self.reorder.end_packet(marker, &limits, out, drops);
        if marker
            && !staged
            && let Some(last) = out[first_out..].last_mut()
        {
            last.marker = true;
        }
    }

    fn don_limits(&self) -> DonReorderLimits {
        DonReorderLimits {
            max_nals: match self.config.depack_buf_nalus {
                0 => usize::MAX,
                n => n,
            },
            max_bytes: self.config.depack_buf_bytes,
            max_don_diff: Some(u64::from(self.config.max_don_diff)),
        }
    }

    /// End of stream: releases the NAL units held for decoding order; an unfinished
    /// fragmented NAL unit is dropped.
    pub fn drain(&mut self, out: &mut Vec<OutputNal>, drops: &mut Vec<DropReason>) {
        self.fragments.abandon(drops);
        self.reorder.drain(out);
    }

    /// One payload; `paci_allowed` is false inside a PACI (no nesting, §4.4.4).
    fn packet(
        &mut self,
        payload: &[u8],
        timestamp: u64,
        paci_allowed: bool,
        out: &mut Vec<OutputNal>,
        drops: &mut Vec<DropReason>,
    ) {
        let Some(&[h0, h1]) = payload.first_chunk::<2>() else {
            drops.push(DropReason::EmptyPayload);
            return;
        };
        let header = [h0, h1];
        if forbidden_bit(header) {
            drops.push(DropReason::ForbiddenBit);
            return;
        }
        let kind = nal_type(header);
        if kind != NAL_FU && kind != NAL_PACI {
            self.fragments.abandon(drops);
        }
        match kind {
            k if is_nal_unit_type(k) => self.single(payload, timestamp, out, drops),
            NAL_AP => self.aggregation(payload, timestamp, out, drops),
            NAL_FU => self.fragment(payload, timestamp, out, drops),
            NAL_PACI if paci_allowed => self.paci(payload, timestamp, out, drops),
            NAL_PACI => drops.push(DropReason::BadPaci),
            _ => drops.push(DropReason::UnsupportedType(kind)),
        }
    }

    fn emit(
        &mut self,
        data: NalData,
        payload: &[u8],
        timestamp: u64,
        don: Option<u16>,
        out: &mut Vec<OutputNal>,
    ) {
        let Some(don) = don else {
            out.push(OutputNal {
                data,
                timestamp,
                marker: false,
            });
            return;
        };
        let bytes = match data {
            NalData::Payload(r) => payload[r].to_vec(),
            NalData::Owned(v) => v,
        };
        self.reorder.stage(don, bytes, timestamp);
    }

    /// Single NAL unit packet (§4.4.1): [payload header][DONL?] NAL unit payload.
    fn single(
        &mut self,
        payload: &[u8],
        timestamp: u64,
        out: &mut Vec<OutputNal>,
        drops: &mut Vec<DropReason>,
    ) {
        if !self.has_don() {
            self.emit(
                NalData::Payload(0..payload.len()),
                payload,
                timestamp,
                None,
                out,
            );
            return;
        }
        let Some(donl) = payload.get(2..4) else {
            drops.push(DropReason::EmptyPayload);
            return;
        };
        let don = u16::from_be_bytes([donl[0], donl[1]]);
        let mut nal = Vec::with_capacity(payload.len() - 2);
        nal.extend_from_slice(&payload[..2]);
        nal.extend_from_slice(&payload[4..]);
        self.emit(NalData::Owned(nal), payload, timestamp, Some(don), out);
    }

    /// Aggregation packet (§4.4.2): [payload header] then, per unit, [DONL (first) or DOND
    /// (others) when present][16-bit size][NAL unit].
    fn aggregation(
        &mut self,
        payload: &[u8],
        timestamp: u64,
        out: &mut Vec<OutputNal>,
        drops: &mut Vec<DropReason>,
    ) {
        let mut pos = 2;
        let mut don: Option<u16> = None;
        let mut units = 0;
        while pos < payload.len() {
            if self.has_don() {
                don = match don {
                    None => payload
                        .get(pos..pos + 2)
                        .map(|d| u16::from_be_bytes([d[0], d[1]])),
                    Some(prev) => payload
                        .get(pos)
                        .map(|d| prev.wrapping_add(u16::from(*d)).wrapping_add(1)),
                };
                if don.is_none() {
                    drops.push(DropReason::BadAggregation(NAL_AP));
                    return;
                }
                pos += if units == 0 { 2 } else { 1 };
            }
            let Some(size) = payload.get(pos..pos + 2) else {
                drops.push(DropReason::BadAggregation(NAL_AP));
                return;
            };
            let size = usize::from(u16::from_be_bytes([size[0], size[1]]));
            let start = pos + 2;
            if size < 2 || payload.len() - start < size {
                drops.push(DropReason::BadAggregation(NAL_AP));
                return;
            }
            let unit = [payload[start], payload[start + 1]];
            if forbidden_bit(unit) {
                drops.push(DropReason::ForbiddenBit);
            } else if !is_nal_unit_type(nal_type(unit)) {
                drops.push(DropReason::UnsupportedType(nal_type(unit)));
            } else {
                self.emit(
                    NalData::Payload(start..start + size),
                    payload,
                    timestamp,
                    don,
                    out,
                );
            }
            pos = start + size;
            units += 1;
        }
        if units == 0 {
            drops.push(DropReason::BadAggregation(NAL_AP));
        }
    }

    /// Fragmentation unit (§4.4.3): [payload header][FU header][DONL if start and present]
    /// fragment. The NAL header is rebuilt from the payload header and FuType.
    fn fragment(
        &mut self,
        payload: &[u8],
        timestamp: u64,
        out: &mut Vec<OutputNal>,
        drops: &mut Vec<DropReason>,
    ) {
        let Some(&fu_header) = payload.get(2) else {
            drops.push(DropReason::EmptyPayload);
            return;
        };
        let fu_type = fu_header & 0x3f;
        let payload_header = [payload[0], payload[1]];
        let nal_header = make_header(
            false,
            fu_type,
            super::layer_id(payload_header),
            super::tid(payload_header),
        );
        let fragment = Fragment {
            start: fu_header & 0x80 != 0,
            end: fu_header & 0x40 != 0,
            nal_header: &nal_header,
            nal_type: fu_type,
            type_allowed: is_nal_unit_type(fu_type),
            rest: &payload[3..],
            start_has_don: self.has_don(),
            may_continue: true,
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

    /// PACI packet (§4.4.4): [payload header, type 50][A|cType|PHSsize|F0..F2|Y][PHES]
    /// then a payload whose header is the PACI header with F := A and Type := cType. The
    /// payload header extension is skipped; the inner payload is handled as any packet.
    fn paci(
        &mut self,
        payload: &[u8],
        timestamp: u64,
        out: &mut Vec<OutputNal>,
        drops: &mut Vec<DropReason>,
    ) {
        let Some(&[_, h1, b2, b3]) = payload.first_chunk::<4>() else {
            drops.push(DropReason::BadPaci);
            return;
        };
        let a = b2 & 0x80 != 0;
        let c_type = (b2 >> 1) & 0x3f;
        let phs_size = usize::from(((b2 & 1) << 4) | (b3 >> 4));
        let Some(rest) = payload.get(4 + phs_size..) else {
            drops.push(DropReason::BadPaci);
            return;
        };
        let header = make_header(
            a,
            c_type,
            super::layer_id([payload[0], h1]),
            super::tid([payload[0], h1]),
        );
        let mut inner = Vec::with_capacity(2 + rest.len());
        inner.extend_from_slice(&header);
        inner.extend_from_slice(rest);
        let first = out.len();
        self.packet(&inner, timestamp, false, out, drops);
        // Ranges of the rebuilt payload do not exist in the caller's payload: copy them.
        for nal in &mut out[first..] {
            if let NalData::Payload(r) = &nal.data {
                nal.data = NalData::Owned(inner[r.clone()].to_vec());
            }
        }
    }
}

impl crate::naldepack::Depacketize for H265Depacketizer {
    fn push(
        &mut self,
        payload: &[u8],
        timestamp: u64,
        marker: bool,
        discont: bool,
        out: &mut Vec<OutputNal>,
        drops: &mut Vec<DropReason>,
    ) {
        H265Depacketizer::push(self, payload, timestamp, marker, discont, out, drops);
    }

    fn drain(&mut self, out: &mut Vec<OutputNal>, drops: &mut Vec<DropReason>) {
        H265Depacketizer::drain(self, out, drops);
    }

    fn reset(&mut self) {
        H265Depacketizer::reset(self);
    }

    fn reorders(&self) -> bool {
        self.has_don()
    }
}

#[cfg(test)]
#[path = "depacketizer_tests.rs"]
mod tests;
