// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The packetizer H.264 (RFC 6184) and H.265 (RFC 7798) share: single NAL unit packets,
//! aggregation packets (STAP-A / AP) and fragmentation units (FU-A / FU), with the same rules.
//! A [`NalFormat`] supplies what differs: the header bytes.
//!
//! The caller hands NAL units one by one as [`NalRef`]s (an id of its choosing, the first two
//! bytes and the length) and says where access units end. The packetizer answers with
//! [`PacketPlan`]s: payloads described as a few header bytes it made plus byte ranges of the
//! caller's NAL units, so that the caller can build packets from shared memory without copying
//! NAL data. A plan never exceeds `max_payload` bytes, aggregation never crosses an access
//! unit, and the marker bit is set on the last packet of an access unit (RFC 6184 §5.1,
//! RFC 7798 §4.1).

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

/// What differs between H.264 and H.265 packetization.
pub trait NalFormat {
    /// Bytes of the NAL unit header (1 for H.264, 2 for H.265).
    const NAL_HEADER_LEN: usize;
    /// Header of an aggregation packet holding NAL units with these headers.
    fn aggregation_header(headers: &mut dyn Iterator<Item = [u8; 2]>) -> HeaderBytes;
    /// Header bytes of a fragment of a NAL unit with this header.
    fn fragment_header(nal_header: [u8; 2], start: bool, end: bool) -> HeaderBytes;
    /// True for the NAL units whose presence makes a zero-latency aggregation packet leave
    /// at the end of the input buffer: coded slices and what belongs after them (the
    /// C payloaders' rule, kept for identical packets).
    fn completes_bundle(nal_header: [u8; 2]) -> bool;
    /// True for coded slices (video coding layer NAL units): an access unit without one is
    /// not a picture.
    fn is_vcl(nal_header: [u8; 2]) -> bool;
    /// True for an access unit delimiter, which starts an access unit: what is held for
    /// aggregation leaves first.
    fn is_access_unit_delimiter(nal_header: [u8; 2]) -> bool;
    /// True for the NAL unit types the RTP payload format uses for its own packet structures
    /// (H.264: STAP/MTAP/FU, types 24–29, RFC 6184 §5.2; H.265: AP/FU/PACI, types 48–50,
    /// RFC 7798 §4.4). Sent as a single NAL unit packet, such a unit would be parsed by every
    /// receiver as that structure: it cannot be sent.
    fn is_reserved_for_packets(nal_header: [u8; 2]) -> bool;
}

/// Single NAL unit only, or aggregation and fragmentation too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketizationMode {
    /// One NAL unit per packet, no aggregation or fragmentation (H.264 mode 0).
    SingleNal,
    /// Single NAL units, aggregation packets and fragmentation units.
    NonInterleaved,
}

/// When NAL units are aggregated; the meanings of the C payloaders' `aggregate-mode` values.
///
/// In both aggregating modes, the aggregation packet being built leaves before an access unit
/// delimiter, before a unit the caller says starts an access unit ([`NalPacketizer::flush`]
/// for a discontinuity or a new timestamp), when the next unit would not fit, and at the end
/// of the access unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AggregateMode {
    /// Never aggregate.
    None,
    /// Aggregate without adding latency: the aggregation packet also leaves at the end of each
    /// input buffer ([`NalPacketizer::end_input`]) once it holds a coded slice (see
    /// [`NalFormat::completes_bundle`]), so nothing of a buffer that completes a picture
    /// waits for the next one.
    ZeroLatency,
    /// Put as many NAL units of an access unit as fit into one aggregation packet; it leaves
    /// when full or at the end of the access unit.
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
    /// The first two bytes of the NAL unit (its header; the second byte is unused by H.264).
    pub header: [u8; 2],
    /// Length of the NAL unit, header included.
    pub len: usize,
}

impl NalRef {
    /// The reference of `nal` under the handle `id`.
    pub fn new(id: usize, nal: &[u8]) -> Self {
        NalRef {
            id,
            header: [
                nal.first().copied().unwrap_or(0),
                nal.get(1).copied().unwrap_or(0),
            ],
            len: nal.len(),
        }
    }
}

/// A piece of a packet payload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Chunk {
    /// Bytes made by the packetizer (aggregation and fragmentation headers, sizes).
    Bytes(HeaderBytes),
    /// `range` of the NAL unit with this id.
    Nal {
        /// Caller's handle.
        id: usize,
        /// Byte range within that NAL unit.
        range: Range<usize>,
    },
}

/// Up to 3 bytes (an FU indicator and header, an aggregation header, a size field), stored
/// inline. More cannot be stored: [`HeaderBytes::from_array`] refuses a longer array at
/// compile time and [`HeaderBytes::try_new`] returns an error; nothing is ever cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderBytes {
    bytes: [u8; HeaderBytes::CAPACITY],
    len: u8,
}

/// More than [`HeaderBytes::CAPACITY`] header bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderBytesTooLong(pub usize);

impl std::fmt::Display for HeaderBytesTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} header bytes, at most {} fit",
            self.0,
            HeaderBytes::CAPACITY
        )
    }
}

impl std::error::Error for HeaderBytesTooLong {}

impl HeaderBytes {
    /// Most bytes held: the H.265 FU payload header and FU header (RFC 7798 §4.4.3).
    pub const CAPACITY: usize = 3;

    /// The bytes of an array of at most [`Self::CAPACITY`] bytes (checked at compile time).
    ///
    /// ```compile_fail
    /// let _ = rtp2_core::nalpack::HeaderBytes::from_array([0u8; 4]);
    /// ```
    /// ```
    /// let h = rtp2_core::nalpack::HeaderBytes::from_array([0x7cu8, 0x85]);
    /// assert_eq!(h.as_slice(), &[0x7c, 0x85]);
    /// ```
    pub const fn from_array<const N: usize>(bytes: [u8; N]) -> Self {
        const { assert!(N <= HeaderBytes::CAPACITY, "too many header bytes") };
        let mut b = [0u8; HeaderBytes::CAPACITY];
        let mut i = 0;
        while i < N {
            b[i] = bytes[i];
            i += 1;
        }
        HeaderBytes {
            bytes: b,
            len: N as u8,
        }
    }

    /// The bytes of a slice, or an error when it is longer than [`Self::CAPACITY`].
    pub fn try_new(bytes: &[u8]) -> Result<Self, HeaderBytesTooLong> {
        if bytes.len() > Self::CAPACITY {
            return Err(HeaderBytesTooLong(bytes.len()));
        }
        let mut b = [0u8; Self::CAPACITY];
        b[..bytes.len()].copy_from_slice(bytes);
        Ok(HeaderBytes {
            bytes: b,
            len: bytes.len() as u8,
        })
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
#[non_exhaustive]
pub enum PacketizeError {
    /// In single NAL unit mode, a NAL unit larger than the payload size.
    TooLargeForSingleNalMode {
        /// NAL unit length.
        len: usize,
        /// Largest payload.
        max_payload: usize,
    },
    /// A NAL unit shorter than its header.
    Empty,
    /// A NAL unit whose type is one of the payload format's packet structures
    /// ([`NalFormat::is_reserved_for_packets`]).
    ReservedType {
        /// The first header byte.
        header: u8,
    },
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
            Self::Empty => write!(f, "NAL unit shorter than its header"),
            Self::ReservedType { header } => write!(
                f,
                "NAL unit with header byte {header:#04x} has a type reserved for RTP packet \
                 structures (aggregation/fragmentation)"
            ),
        }
    }
}

impl std::error::Error for PacketizeError {}

/// The 16-bit size before each NAL unit of an aggregation packet.
const SIZE_FIELD: usize = 2;

/// The shared packetizer.
#[derive(Debug, Clone)]
pub struct NalPacketizer<F: NalFormat> {
    config: PacketizerConfig,
    /// NAL units waiting in the aggregation packet being built.
    pending: Vec<NalRef>,
    /// Whether one of them completes a bundle ([`NalFormat::completes_bundle`]).
    pending_completes: bool,
    format: PhantomData<F>,
}

impl<F: NalFormat> NalPacketizer<F> {
    /// A packetizer with these settings.
    pub fn new(config: PacketizerConfig) -> Self {
        NalPacketizer {
            config,
            pending: Vec::new(),
            pending_completes: false,
            format: PhantomData,
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
        !self.pending.is_empty()
    }

    /// The ids of the NAL units held for aggregation.
    pub fn pending_ids(&self) -> impl Iterator<Item = usize> + '_ {
        self.pending.iter().map(|n| n.id)
    }

    /// Whether `nal` can be sent at all: long enough for its header, and not of a type
    /// reserved for packet structures. [`NalPacketizer::push`] refuses what this refuses.
    pub fn check(nal: &NalRef) -> Result<(), PacketizeError> {
        if nal.len < F::NAL_HEADER_LEN {
            return Err(PacketizeError::Empty);
        }
        if F::is_reserved_for_packets(nal.header) {
            return Err(PacketizeError::ReservedType {
                header: nal.header[0],
            });
        }
        Ok(())
    }

    /// Packetizes one NAL unit; `end_of_au` marks the last NAL unit of an access unit.
    pub fn push(
        &mut self,
        nal: NalRef,
        end_of_au: bool,
        out: &mut Vec<PacketPlan>,
    ) -> Result<(), PacketizeError> {
        Self::check(&nal)?;
        if F::is_access_unit_delimiter(nal.header) {
            // A delimiter starts an access unit: what is held ended the previous one.
            self.flush(true, out);
        }
        let fu_overhead = F::fragment_header(nal.header, true, false).as_slice().len();
        let max = self.config.max_payload.max(fu_overhead + 1);
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
            self.fragment(nal, end_of_au, max, fu_overhead, out);
            return Ok(());
        }
        if !aggregate {
            self.flush(false, out);
            out.push(single(nal, end_of_au));
            return Ok(());
        }
        if self.aggregated_len() + SIZE_FIELD + nal.len > max {
            self.flush(false, out);
        }
        if F::NAL_HEADER_LEN + SIZE_FIELD + nal.len > max {
            // Fits alone, not with the aggregation overhead.
            out.push(single(nal, end_of_au));
            return Ok(());
        }
        self.pending.push(nal);
        self.pending_completes |= F::completes_bundle(nal.header);
        if end_of_au {
            self.flush(true, out);
        }
        Ok(())
    }

    /// The end of an input buffer: in zero-latency mode, an aggregation packet holding a
    /// unit that completes a bundle leaves now, without the marker bit (the access unit may
    /// go on in the next buffer).
    pub fn end_input(&mut self, out: &mut Vec<PacketPlan>) {
        if self.config.aggregate == AggregateMode::ZeroLatency && self.pending_completes {
            self.flush(false, out);
        }
    }

    /// Emits the aggregation packet being built (end of an access unit, EOS, new settings);
    /// `marker` says whether its last NAL unit ended an access unit.
    pub fn flush(&mut self, marker: bool, out: &mut Vec<PacketPlan>) {
        match self.pending.len() {
            0 => {}
            1 => out.push(single(self.pending[0], marker)),
            _ => {
                let header = F::aggregation_header(&mut self.pending.iter().map(|n| n.header));
                let mut chunks = Vec::with_capacity(1 + 2 * self.pending.len());
                chunks.push(Chunk::Bytes(header));
                for nal in &self.pending {
                    chunks.push(Chunk::Bytes(HeaderBytes::from_array(
                        (nal.len as u16).to_be_bytes(),
                    )));
                    chunks.push(Chunk::Nal {
                        id: nal.id,
                        range: 0..nal.len,
                    });
                }
                out.push(PacketPlan {
                    chunks,
                    marker,
                    first_nal: self.pending[0].id,
                });
            }
        }
        self.pending.clear();
        self.pending_completes = false;
    }

    /// Payload length of the aggregation packet being built (its header when empty).
    fn aggregated_len(&self) -> usize {
        F::NAL_HEADER_LEN
            + self
                .pending
                .iter()
                .map(|n| SIZE_FIELD + n.len)
                .sum::<usize>()
    }

    /// Fragments of one NAL unit: its header is not sent, the fragmentation header carries
    /// what the receiver needs to rebuild it.
    fn fragment(
        &self,
        nal: NalRef,
        end_of_au: bool,
        max: usize,
        overhead: usize,
        out: &mut Vec<PacketPlan>,
    ) {
        let per_fragment = max - overhead;
        let mut offset = F::NAL_HEADER_LEN;
        while offset < nal.len {
            let end = (offset + per_fragment).min(nal.len);
            let header =
                F::fragment_header(nal.header, offset == F::NAL_HEADER_LEN, end == nal.len);
            out.push(PacketPlan {
                chunks: vec![
                    Chunk::Bytes(header),
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

#[cfg(test)]
mod header_bytes_tests {
    use super::*;

    #[test]
    fn more_than_capacity_is_an_error_never_cut() {
        assert_eq!(
            HeaderBytes::try_new(&[1, 2, 3]).unwrap().as_slice(),
            &[1, 2, 3]
        );
        assert_eq!(
            HeaderBytes::try_new(&[1, 2, 3, 4]),
            Err(HeaderBytesTooLong(4))
        );
        assert_eq!(HeaderBytes::from_array([9u8]).as_slice(), &[9]);
    }
}
