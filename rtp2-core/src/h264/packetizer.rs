// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RFC 6184 packetizer for packetization modes 0 (single NAL unit, §6.2) and
//! 1 (non-interleaved, §6.3).
//!
//! The caller hands NAL units one by one as [`NalRef`]s (an id of its choosing, the NAL header
//! byte and the length) and says where access units end. The packetizer answers with
//! [`PacketPlan`]s: payloads described as a few header bytes it made plus byte ranges of the
//! caller's NAL units, so that the caller can build packets from shared memory without copying
//! NAL data. A plan never exceeds `max_payload` bytes, and aggregation never crosses an access
//! unit. The marker bit is set on the last packet of an access unit (§5.1).

use std::fmt;
use std::ops::Range;

use super::{NAL_FU_A, NAL_STAP_A, forbidden_bit, is_vcl, nal_type, nri_bits};

/// Packetization mode (RFC 6184 §6, SDP `packetization-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketizationMode {
    /// Mode 0: one NAL unit per packet, no aggregation or fragmentation.
    SingleNal,
    /// Mode 1: single NAL units, STAP-A and FU-A.
    NonInterleaved,
}

/// When NAL units are aggregated into STAP-A packets; the meanings of the C `rtph264pay`
/// `aggregate-mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateMode {
    /// Never aggregate.
    None,
    /// Aggregate without adding latency: a STAP-A leaves as soon as it holds a coded slice
    /// (VCL NAL unit), or at the end of the access unit.
    ZeroLatency,
    /// Put as many NAL units of an access unit as fit into one STAP-A; it leaves when full or
    /// at the end of the access unit.
    MaxStap,
}

/// Packetizer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketizerConfig {
    /// Largest payload (MTU minus RTP header).
    pub max_payload: usize,
    /// Packetization mode.
    pub mode: PacketizationMode,
    /// Aggregation.
    pub aggregate: AggregateMode,
}

/// A NAL unit the caller holds: `id` is the caller's handle, used in [`Chunk::Nal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NalRef {
    /// Caller's handle of the NAL unit.
    pub id: usize,
    /// The first byte of the NAL unit (its header).
    pub header: u8,
    /// Length of the NAL unit, header included.
    pub len: usize,
}

/// A piece of a packet payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// Bytes made by the packetizer (STAP-A header and sizes, FU indicator and header).
    Bytes(HeaderBytes),
    /// `range` of the NAL unit with this id.
    Nal {
        /// Caller's handle.
        id: usize,
        /// Byte range within that NAL unit.
        range: Range<usize>,
    },
}

/// Up to 3 bytes, stored inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderBytes {
    bytes: [u8; 3],
    len: u8,
}

impl HeaderBytes {
    fn new(bytes: &[u8]) -> Self {
        let mut b = [0u8; 3];
        let len = bytes.len().min(3);
        b[..len].copy_from_slice(&bytes[..len]);
        HeaderBytes {
            bytes: b,
            len: len as u8,
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// One packet to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketPlan {
    /// The payload, in order.
    pub chunks: Vec<Chunk>,
    /// RTP marker bit: last packet of an access unit.
    pub marker: bool,
    /// The id of the first NAL unit in the packet (for its timestamp).
    pub first_nal: usize,
}

impl PacketPlan {
    /// Payload length.
    pub fn len(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| match c {
                Chunk::Bytes(b) => b.as_slice().len(),
                Chunk::Nal { range, .. } => range.len(),
            })
            .sum()
    }

    /// True for an empty payload (never produced).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A NAL unit that cannot be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketizeError {
    /// In packetization mode 0, a NAL unit larger than the payload size.
    TooLargeForSingleNalMode {
        /// NAL unit length.
        len: usize,
        /// Largest payload.
        max_payload: usize,
    },
    /// An empty NAL unit.
    Empty,
}

impl fmt::Display for PacketizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLargeForSingleNalMode { len, max_payload } => write!(
                f,
                "NAL unit of {len} bytes does not fit in a {max_payload}-byte payload and \
                 packetization-mode 0 forbids fragmentation: raise the MTU or make the encoder \
                 produce smaller slices"
            ),
            Self::Empty => write!(f, "empty NAL unit"),
        }
    }
}

impl std::error::Error for PacketizeError {}

/// STAP-A header byte plus the 2-byte size before each NAL unit (§5.7.1).
const STAP_HEADER: usize = 1;
const STAP_SIZE_FIELD: usize = 2;
/// FU indicator and FU header (§5.8).
const FU_HEADER: usize = 2;

/// The RFC 6184 packetizer.
#[derive(Debug, Clone)]
pub struct H264Packetizer {
    config: PacketizerConfig,
    /// NAL units waiting in the STAP-A being built.
    stap: Vec<NalRef>,
}

impl H264Packetizer {
    /// A packetizer with these settings.
    pub fn new(config: PacketizerConfig) -> Self {
        H264Packetizer {
            config,
            stap: Vec::new(),
        }
    }

    /// Current settings.
    pub fn config(&self) -> PacketizerConfig {
        self.config
    }

    /// Changes the settings (e.g. a new MTU); anything held is emitted first.
    pub fn set_config(&mut self, config: PacketizerConfig, out: &mut Vec<PacketPlan>) {
        self.flush(false, out);
        self.config = config;
    }

    /// True when NAL units are held for aggregation.
    pub fn has_pending(&self) -> bool {
        !self.stap.is_empty()
    }

    /// The ids of the NAL units held for aggregation.
    pub fn pending_ids(&self) -> impl Iterator<Item = usize> + '_ {
        self.stap.iter().map(|n| n.id)
    }

    /// Packetizes one NAL unit; `end_of_au` marks the last NAL unit of an access unit.
    pub fn push(
        &mut self,
        nal: NalRef,
        end_of_au: bool,
        out: &mut Vec<PacketPlan>,
    ) -> Result<(), PacketizeError> {
        if nal.len == 0 {
            return Err(PacketizeError::Empty);
        }
        let max = self.config.max_payload.max(FU_HEADER + 1);
        let aggregate = self.config.mode == PacketizationMode::NonInterleaved
            && self.config.aggregate != AggregateMode::None;

        if nal.len > max {
            if self.config.mode == PacketizationMode::SingleNal {
                return Err(PacketizeError::TooLargeForSingleNalMode {
                    len: nal.len,
                    max_payload: self.config.max_payload,
                });
            }
            self.flush(false, out);
            self.fragment(nal, end_of_au, max, out);
            return Ok(());
        }

        if !aggregate {
            self.flush(false, out);
            out.push(single(nal, end_of_au));
            return Ok(());
        }

        if stap_len(&self.stap) + STAP_SIZE_FIELD + nal.len > max {
            self.flush(false, out);
        }
        if STAP_HEADER + STAP_SIZE_FIELD + nal.len > max {
            // Fits alone, not with STAP-A overhead.
            out.push(single(nal, end_of_au));
            return Ok(());
        }
        self.stap.push(nal);
        let vcl = is_vcl(nal_type(nal.header));
        if end_of_au || (self.config.aggregate == AggregateMode::ZeroLatency && vcl) {
            self.flush(end_of_au, out);
        }
        Ok(())
    }

    /// Emits the STAP-A being built (end of an access unit, EOS, new settings). `marker`
    /// says whether its last NAL unit ended an access unit.
    pub fn flush(&mut self, marker: bool, out: &mut Vec<PacketPlan>) {
        match self.stap.len() {
            0 => {}
            1 => {
                let nal = self.stap[0];
                out.push(single(nal, marker));
            }
            _ => {
                let f = self.stap.iter().any(|n| forbidden_bit(n.header));
                let nri = self
                    .stap
                    .iter()
                    .map(|n| nri_bits(n.header))
                    .max()
                    .unwrap_or(0);
                let mut chunks = Vec::with_capacity(1 + 2 * self.stap.len());
                chunks.push(Chunk::Bytes(HeaderBytes::new(&[(u8::from(f) << 7)
                    | nri
                    | NAL_STAP_A])));
                for nal in &self.stap {
                    chunks.push(Chunk::Bytes(HeaderBytes::new(
                        &(nal.len as u16).to_be_bytes(),
                    )));
                    chunks.push(Chunk::Nal {
                        id: nal.id,
                        range: 0..nal.len,
                    });
                }
                out.push(PacketPlan {
                    chunks,
                    marker,
                    first_nal: self.stap[0].id,
                });
            }
        }
        self.stap.clear();
    }

    /// FU-A fragments of one NAL unit (§5.8): the NAL header byte is not sent; its F and NRI
    /// go into the FU indicator, its type into the FU header.
    fn fragment(&self, nal: NalRef, end_of_au: bool, max: usize, out: &mut Vec<PacketPlan>) {
        let indicator = (nal.header & 0xe0) | NAL_FU_A;
        let per_fragment = max - FU_HEADER;
        let mut offset = 1;
        while offset < nal.len {
            let end = (offset + per_fragment).min(nal.len);
            let start_bit = if offset == 1 { 0x80 } else { 0 };
            let end_bit = if end == nal.len { 0x40 } else { 0 };
            let fu_header = start_bit | end_bit | nal_type(nal.header);
            out.push(PacketPlan {
                chunks: vec![
                    Chunk::Bytes(HeaderBytes::new(&[indicator, fu_header])),
                    Chunk::Nal {
                        id: nal.id,
                        range: offset..end,
                    },
                ],
                marker: end_of_au && end == nal.len,
                first_nal: nal.id,
            });
            offset = end;
        }
    }
}

fn single(nal: NalRef, marker: bool) -> PacketPlan {
    PacketPlan {
        chunks: vec![Chunk::Nal {
            id: nal.id,
            range: 0..nal.len,
        }],
        marker,
        first_nal: nal.id,
    }
}

/// Payload length of a STAP-A holding these NAL units (0 when empty).
fn stap_len(nals: &[NalRef]) -> usize {
    if nals.is_empty() {
        return STAP_HEADER;
    }
    STAP_HEADER + nals.iter().map(|n| STAP_SIZE_FIELD + n.len).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max: usize, aggregate: AggregateMode) -> PacketizerConfig {
        PacketizerConfig {
            max_payload: max,
            mode: PacketizationMode::NonInterleaved,
            aggregate,
        }
    }

    /// Builds the payload bytes of a plan from NAL units given by id.
    pub(crate) fn render(plan: &PacketPlan, nals: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in &plan.chunks {
            match c {
                Chunk::Bytes(b) => out.extend_from_slice(b.as_slice()),
                Chunk::Nal { id, range } => out.extend_from_slice(&nals[*id][range.clone()]),
            }
        }
        out
    }

    fn refs(nals: &[Vec<u8>]) -> Vec<NalRef> {
        nals.iter()
            .enumerate()
            .map(|(id, n)| NalRef {
                id,
                header: n[0],
                len: n.len(),
            })
            .collect()
    }

    #[test]
    fn stap_a_layout_and_nri() {
        let nals = vec![vec![0x67, 1, 2, 3], vec![0x28, 4], vec![0x65, 5, 6]];
        let mut p = H264Packetizer::new(config(1200, AggregateMode::MaxStap));
        let mut out = Vec::new();
        for (i, n) in refs(&nals).into_iter().enumerate() {
            p.push(n, i == 2, &mut out).unwrap();
        }
        assert_eq!(out.len(), 1);
        assert!(out[0].marker);
        // NRI = max(3, 1, 3) → 0x60; type 24.
        assert_eq!(
            render(&out[0], &nals),
            vec![0x78, 0, 4, 0x67, 1, 2, 3, 0, 2, 0x28, 4, 0, 3, 0x65, 5, 6]
        );
    }

    #[test]
    fn zero_latency_sends_after_each_slice() {
        let nals = vec![vec![0x67, 1], vec![0x68, 2], vec![0x65, 3], vec![0x65, 4]];
        let mut p = H264Packetizer::new(config(1200, AggregateMode::ZeroLatency));
        let mut out = Vec::new();
        for (i, n) in refs(&nals).into_iter().enumerate() {
            p.push(n, i == 3, &mut out).unwrap();
        }
        assert_eq!(out.len(), 2);
        assert_eq!(render(&out[0], &nals)[0], 0x78);
        assert!(!out[0].marker);
        // A STAP-A of one NAL unit goes as a single NAL unit packet.
        assert_eq!(render(&out[1], &nals), vec![0x65, 4]);
        assert!(out[1].marker);
    }

    #[test]
    fn fu_a_bits_and_sizes() {
        let nal: Vec<u8> = std::iter::once(0x65)
            .chain((0..250).map(|i| i as u8))
            .collect();
        let nals = vec![nal.clone()];
        let mut p = H264Packetizer::new(config(100, AggregateMode::None));
        let mut out = Vec::new();
        p.push(refs(&nals)[0], true, &mut out).unwrap();
        assert_eq!(out.len(), 3);
        let payloads: Vec<Vec<u8>> = out.iter().map(|o| render(o, &nals)).collect();
        assert!(payloads.iter().all(|p| p.len() <= 100));
        assert_eq!(&payloads[0][..2], &[0x7c, 0x85]);
        assert_eq!(&payloads[1][..2], &[0x7c, 0x05]);
        assert_eq!(&payloads[2][..2], &[0x7c, 0x45]);
        assert_eq!(
            out.iter().map(|o| o.marker).collect::<Vec<_>>(),
            vec![false, false, true]
        );
        let rebuilt: Vec<u8> = std::iter::once(0x65)
            .chain(payloads.iter().flat_map(|p| p[2..].to_vec()))
            .collect();
        assert_eq!(rebuilt, nal);
    }

    #[test]
    fn single_nal_mode_rejects_large_nals() {
        let mut p = H264Packetizer::new(PacketizerConfig {
            max_payload: 10,
            mode: PacketizationMode::SingleNal,
            aggregate: AggregateMode::MaxStap,
        });
        let mut out = Vec::new();
        let err = p
            .push(
                NalRef {
                    id: 0,
                    header: 0x65,
                    len: 11,
                },
                true,
                &mut out,
            )
            .unwrap_err();
        assert!(err.to_string().contains("packetization-mode 0"));
        p.push(
            NalRef {
                id: 1,
                header: 0x67,
                len: 4,
            },
            false,
            &mut out,
        )
        .unwrap();
        p.push(
            NalRef {
                id: 2,
                header: 0x68,
                len: 4,
            },
            true,
            &mut out,
        )
        .unwrap();
        assert_eq!(out.len(), 2, "no aggregation in mode 0");
    }

    #[test]
    fn full_stap_is_sent_before_it_overflows() {
        let nals = vec![vec![0x06; 40], vec![0x06; 40], vec![0x06; 40]];
        let mut p = H264Packetizer::new(config(90, AggregateMode::MaxStap));
        let mut out = Vec::new();
        for (i, n) in refs(&nals).into_iter().enumerate() {
            p.push(n, i == 2, &mut out).unwrap();
        }
        assert_eq!(
            out.iter().map(PacketPlan::len).collect::<Vec<_>>(),
            vec![85, 40]
        );
    }
}
