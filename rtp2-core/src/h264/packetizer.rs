// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RFC 6184 packetizer for packetization modes 0 (single NAL unit, §6.2) and
//! 1 (non-interleaved, §6.3): the shared [`crate::nalpack`] packetizer with H.264 headers.
//! STAP-A (§5.7.1): F is the OR and NRI the maximum of the aggregated NAL units. FU-A (§5.8):
//! the FU indicator carries F and NRI of the fragmented NAL unit, the FU header its type and
//! the start/end bits; the NAL header byte itself is not sent.

pub use crate::nalpack::{
    AggregateMode, Chunk, HeaderBytes, NalRef, PacketPlan, PacketizationMode, PacketizeError,
    PacketizerConfig,
};

use super::{NAL_AUD, NAL_FU_A, NAL_FU_B, NAL_STAP_A, forbidden_bit, nal_type, nri_bits};
use crate::nalpack::{NalFormat, NalPacketizer};

/// H.264 header bytes for the shared packetizer.
#[derive(Debug, Clone, Copy)]
pub struct H264Format;

impl NalFormat for H264Format {
    const NAL_HEADER_LEN: usize = 1;

    fn aggregation_header(headers: &mut dyn Iterator<Item = [u8; 2]>) -> HeaderBytes {
        let (f, nri) = headers.fold((false, 0), |(f, nri), h| {
            (f || forbidden_bit(h[0]), nri.max(nri_bits(h[0])))
        });
        HeaderBytes::from_array([(u8::from(f) << 7) | nri | NAL_STAP_A])
    }

    fn fragment_header(nal_header: [u8; 2], start: bool, end: bool) -> HeaderBytes {
        let indicator = (nal_header[0] & 0xe0) | NAL_FU_A;
        let fu_header = (u8::from(start) << 7) | (u8::from(end) << 6) | nal_type(nal_header[0]);
        HeaderBytes::from_array([indicator, fu_header])
    }

    /// Coded slices and slice extensions: types 1–5, 14 (prefix NAL unit of SVC) and 20–23
    /// (slice extensions and the reserved types around them), as the C `rtph264pay` counts them.
    fn completes_bundle(nal_header: [u8; 2]) -> bool {
        matches!(nal_type(nal_header[0]), 1..=5 | 14 | 20..=23)
    }

    fn is_vcl(nal_header: [u8; 2]) -> bool {
        super::is_vcl(nal_type(nal_header[0]))
    }

    fn is_access_unit_delimiter(nal_header: [u8; 2]) -> bool {
        nal_type(nal_header[0]) == NAL_AUD
    }

    /// STAP-A, STAP-B, MTAP16, MTAP24 (§5.7), FU-A and FU-B (§5.8): types 24–29.
    fn is_reserved_for_packets(nal_header: [u8; 2]) -> bool {
        (NAL_STAP_A..=NAL_FU_B).contains(&nal_type(nal_header[0]))
    }
}

/// The RFC 6184 packetizer.
pub type H264Packetizer = NalPacketizer<H264Format>;

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
            .map(|(id, n)| NalRef::new(id, n))
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
    fn zero_latency_bundles_until_the_end_of_the_input() {
        // Two IDR slices of one nal-aligned buffer: one STAP-A at the end of the buffer,
        // without the marker (the access unit may go on).
        let nals = vec![vec![0x65, 0x88, 1], vec![0x65, 0x88, 2], vec![0x41, 3]];
        let mut p = H264Packetizer::new(config(1200, AggregateMode::ZeroLatency));
        let mut out = Vec::new();
        let r = refs(&nals);
        p.push(r[0], false, &mut out).unwrap();
        p.push(r[1], false, &mut out).unwrap();
        assert!(out.is_empty(), "a slice alone does not send the bundle");
        p.end_input(&mut out);
        assert_eq!(out.len(), 1);
        assert!(!out[0].marker);
        assert_eq!(
            render(&out[0], &nals),
            vec![0x78, 0, 3, 0x65, 0x88, 1, 0, 3, 0x65, 0x88, 2]
        );
        // The end of the access unit sends what is held, with the marker.
        p.push(r[2], true, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        assert!(out[1].marker);
        assert_eq!(render(&out[1], &nals), vec![0x41, 3]);
    }

    #[test]
    fn zero_latency_holds_parameter_sets_across_inputs() {
        // Without a coded slice, the end of the input does not send the bundle.
        let nals = vec![vec![0x67, 1], vec![0x68, 2], vec![0x65, 0x88, 3]];
        let mut p = H264Packetizer::new(config(1200, AggregateMode::ZeroLatency));
        let mut out = Vec::new();
        let r = refs(&nals);
        p.push(r[0], false, &mut out).unwrap();
        p.end_input(&mut out);
        p.push(r[1], false, &mut out).unwrap();
        p.end_input(&mut out);
        assert!(out.is_empty());
        p.push(r[2], true, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(render(&out[0], &nals)[0], 0x78);
        // Max-stap never sends at the end of an input.
        let mut p = H264Packetizer::new(config(1200, AggregateMode::MaxStap));
        p.push(r[2], false, &mut out).unwrap();
        p.end_input(&mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn access_unit_delimiter_sends_the_bundle_first() {
        let nals = vec![
            vec![0x06, 1],
            vec![0x65, 0x88, 2],
            vec![0x09, 0xf0],
            vec![0x41, 3],
        ];
        let mut p = H264Packetizer::new(config(1200, AggregateMode::MaxStap));
        let mut out = Vec::new();
        let r = refs(&nals);
        p.push(r[0], false, &mut out).unwrap();
        p.push(r[1], false, &mut out).unwrap();
        p.push(r[2], false, &mut out).unwrap();
        assert_eq!(out.len(), 1, "the delimiter starts a new access unit");
        assert!(out[0].marker);
        p.push(r[3], true, &mut out).unwrap();
        assert_eq!(
            render(&out[1], &nals),
            vec![0x58, 0, 2, 0x09, 0xf0, 0, 2, 0x41, 3]
        );
    }

    #[test]
    fn reserved_and_short_nal_units_are_refused() {
        for mode in [AggregateMode::None, AggregateMode::MaxStap] {
            let mut p = H264Packetizer::new(config(1200, mode));
            let mut out = Vec::new();
            for t in 24u8..=29 {
                let header = [0x60 | t, 0];
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
            for t in [1u8, 5, 6, 7, 8, 9, 23, 30, 31] {
                p.push(
                    NalRef {
                        id: 0,
                        header: [0x60 | t, 0],
                        len: 5,
                    },
                    true,
                    &mut out,
                )
                .unwrap();
            }
            let empty = p.push(
                NalRef {
                    id: 0,
                    header: [0, 0],
                    len: 0,
                },
                true,
                &mut out,
            );
            assert_eq!(empty, Err(PacketizeError::Empty));
            assert_eq!(out.len(), 9);
        }
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
                    header: [0x65, 0],
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
                header: [0x67, 0],
                len: 4,
            },
            false,
            &mut out,
        )
        .unwrap();
        p.push(
            NalRef {
                id: 2,
                header: [0x68, 0],
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
