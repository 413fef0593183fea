// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RFC 7798 packetizer: the shared [`crate::nalpack`] packetizer with H.265 headers, without
//! DONL fields (the sender never reorders, so `sprop-max-don-diff` is 0, §7.1).
//!
//! Aggregation packet (§4.4.2): payload header with type 48, F the OR of the aggregated
//! F bits, LayerId and TID the lowest of the aggregated NAL units. Fragmentation unit
//! (§4.4.3): payload header with type 49 and the F, LayerId and TID of the fragmented NAL unit,
//! then the FU header (S, E, FuType); the NAL unit header itself is not sent.

pub use crate::nalpack::{
    AggregateMode, Chunk, HeaderBytes, NalRef, PacketPlan, PacketizationMode, PacketizeError,
    PacketizerConfig,
};

use super::{
    NAL_AP, NAL_AUD, NAL_FU, NAL_PACI, forbidden_bit, is_vcl, layer_id, make_header, nal_type, tid,
};
use crate::nalpack::{NalFormat, NalPacketizer};

/// H.265 header bytes for the shared packetizer.
#[derive(Debug, Clone, Copy)]
pub struct H265Format;

impl NalFormat for H265Format {
    const NAL_HEADER_LEN: usize = 2;

    fn aggregation_header(headers: &mut dyn Iterator<Item = [u8; 2]>) -> HeaderBytes {
        let (f, layer, t) = headers.fold((false, u8::MAX, u8::MAX), |(f, layer, t), h| {
            (f || forbidden_bit(h), layer.min(layer_id(h)), t.min(tid(h)))
        });
        HeaderBytes::from_array(make_header(f, NAL_AP, layer, t))
    }

    fn fragment_header(nal_header: [u8; 2], start: bool, end: bool) -> HeaderBytes {
        let payload_header = make_header(
            forbidden_bit(nal_header),
            NAL_FU,
            layer_id(nal_header),
            tid(nal_header),
        );
        let fu_header = (u8::from(start) << 7) | (u8::from(end) << 6) | nal_type(nal_header);
        HeaderBytes::from_array([payload_header[0], payload_header[1], fu_header])
    }

    /// Coded slices (types 0–31) and the suffix types that follow the slices they belong to:
    /// end of sequence and end of bitstream (36, 37), suffix SEI (40), the reserved suffix
    /// types 45–47 and the unspecified types 56–62, as the C `rtph265pay` counts them.
    fn completes_bundle(nal_header: [u8; 2]) -> bool {
        let kind = nal_type(nal_header);
        is_vcl(kind) || matches!(kind, 36 | 37 | 40 | 45..=47 | 56..=62)
    }

    fn is_vcl(nal_header: [u8; 2]) -> bool {
        is_vcl(nal_type(nal_header))
    }

    fn is_access_unit_delimiter(nal_header: [u8; 2]) -> bool {
        nal_type(nal_header) == NAL_AUD
    }

    /// AP (§4.4.2), FU (§4.4.3) and PACI (§4.4.4): types 48–50.
    fn is_reserved_for_packets(nal_header: [u8; 2]) -> bool {
        (NAL_AP..=NAL_PACI).contains(&nal_type(nal_header))
    }
}

/// The RFC 7798 packetizer.
pub type H265Packetizer = NalPacketizer<H265Format>;

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

    fn render(plan: &PacketPlan, nals: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in &plan.chunks {
            match c {
                Chunk::Bytes(b) => out.extend_from_slice(b.as_slice()),
                Chunk::Nal { id, range } => out.extend_from_slice(&nals[*id][range.clone()]),
            }
        }
        out
    }

    #[test]
    fn aggregation_packet_layout() {
        // VPS (TID 1), SPS (TID 1), IDR slice (TID 1), all layer 0.
        let nals = vec![
            vec![0x40, 0x01, 7],
            vec![0x42, 0x01, 8, 9],
            vec![0x26, 0x01, 1],
        ];
        let mut p = H265Packetizer::new(config(1200, AggregateMode::MaxStap));
        let mut out = Vec::new();
        for (i, n) in nals.iter().enumerate() {
            p.push(NalRef::new(i, n), i == 2, &mut out).unwrap();
        }
        assert_eq!(out.len(), 1);
        assert!(out[0].marker);
        assert_eq!(
            render(&out[0], &nals),
            vec![
                0x60, 0x01, 0, 3, 0x40, 0x01, 7, 0, 4, 0x42, 0x01, 8, 9, 0, 3, 0x26, 0x01, 1
            ]
        );
    }

    #[test]
    fn aggregation_takes_the_lowest_tid() {
        let nals = vec![vec![0x02, 0x03, 1], vec![0x02, 0x02, 2]];
        let mut p = H265Packetizer::new(config(1200, AggregateMode::MaxStap));
        let mut out = Vec::new();
        p.push(NalRef::new(0, &nals[0]), false, &mut out).unwrap();
        p.push(NalRef::new(1, &nals[1]), true, &mut out).unwrap();
        assert_eq!(&render(&out[0], &nals)[..2], &[0x60, 0x02]);
    }

    #[test]
    fn fragmentation_units() {
        let nal: Vec<u8> = [0x26, 0x01]
            .into_iter()
            .chain((0..250).map(|i| i as u8))
            .collect();
        let nals = vec![nal.clone()];
        let mut p = H265Packetizer::new(config(100, AggregateMode::None));
        let mut out = Vec::new();
        p.push(NalRef::new(0, &nal), true, &mut out).unwrap();
        let payloads: Vec<Vec<u8>> = out.iter().map(|o| render(o, &nals)).collect();
        assert_eq!(payloads.len(), 3);
        assert!(payloads.iter().all(|p| p.len() <= 100));
        // Type 49 with layer 0, TID 1; FuType 19 (IDR_W_RADL).
        assert_eq!(&payloads[0][..3], &[0x62, 0x01, 0x80 | 19]);
        assert_eq!(&payloads[1][..3], &[0x62, 0x01, 19]);
        assert_eq!(&payloads[2][..3], &[0x62, 0x01, 0x40 | 19]);
        let rebuilt: Vec<u8> = [0x26, 0x01]
            .into_iter()
            .chain(payloads.iter().flat_map(|p| p[3..].to_vec()))
            .collect();
        assert_eq!(rebuilt, nal);
        assert_eq!(
            out.iter().map(|o| o.marker).collect::<Vec<_>>(),
            vec![false, false, true]
        );
    }

    #[test]
    fn zero_latency_bundle_leaves_at_the_end_of_the_input() {
        // Two IDR slices in one input: one AP of 2 + 2 × (2 + 50) bytes.
        let slice = |fill: u8| {
            let mut n = vec![0x26, 0x01, 0xaf];
            n.resize(50, fill);
            n
        };
        let nals = vec![slice(1), slice(2)];
        let mut p = H265Packetizer::new(config(1200, AggregateMode::ZeroLatency));
        let mut out = Vec::new();
        p.push(NalRef::new(0, &nals[0]), false, &mut out).unwrap();
        p.push(NalRef::new(1, &nals[1]), false, &mut out).unwrap();
        assert!(out.is_empty());
        p.end_input(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), 2 + 2 * 52);
        assert_eq!(&render(&out[0], &nals)[..4], &[0x60, 0x01, 0, 50]);
        assert!(!out[0].marker);
    }

    #[test]
    fn suffix_units_complete_a_bundle() {
        let mut p = H265Packetizer::new(config(1200, AggregateMode::ZeroLatency));
        let mut out = Vec::new();
        // Prefix SEI (39), VPS (32), AUD (35): no.
        for (i, t) in [39u8, 32].into_iter().enumerate() {
            p.push(
                NalRef {
                    id: i,
                    header: make_header(false, t, 0, 1),
                    len: 4,
                },
                false,
                &mut out,
            )
            .unwrap();
            p.end_input(&mut out);
        }
        assert!(out.is_empty());
        // Each of these makes the bundle leave at the end of the input.
        for t in [1u8, 31, 36, 37, 40, 45, 47, 56, 62] {
            p.push(
                NalRef {
                    id: 9,
                    header: make_header(false, t, 0, 1),
                    len: 4,
                },
                false,
                &mut out,
            )
            .unwrap();
            p.end_input(&mut out);
            assert!(!p.has_pending(), "type {t}");
        }
    }

    #[test]
    fn reserved_and_short_nal_units_are_refused() {
        let mut p = H265Packetizer::new(config(1200, AggregateMode::None));
        let mut out = Vec::new();
        for t in 48u8..=50 {
            let header = make_header(false, t, 0, 1);
            let err = p.push(
                NalRef {
                    id: 0,
                    header,
                    len: 5,
                },
                true,
                &mut out,
            );
            assert_eq!(err, Err(PacketizeError::ReservedType { header: header[0] }));
        }
        let one_byte = p.push(
            NalRef {
                id: 0,
                header: [0x40, 0],
                len: 1,
            },
            true,
            &mut out,
        );
        assert_eq!(one_byte, Err(PacketizeError::Empty));
        // End of sequence: a 2-byte NAL unit, header only, is sent.
        p.push(
            NalRef {
                id: 0,
                header: [0x48, 0x00],
                len: 2,
            },
            true,
            &mut out,
        )
        .unwrap();
        for t in [47u8, 51, 63] {
            p.push(
                NalRef {
                    id: 0,
                    header: make_header(false, t, 0, 1),
                    len: 3,
                },
                true,
                &mut out,
            )
            .unwrap();
        }
        assert_eq!(out.len(), 4);
    }
}
