// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The receiving side of RTP, shared by every base class whose input is RTP (the
//! depayloader base and the RTP → RTP filter base): it follows one sender (SSRC) through its
//! sequence numbers and timestamps and says what each valid packet is.
//!
//! - [`RtpIn::check`] takes a parsed packet ([`rtp2_core::rtp::RtpPacket`], validated by
//!   RFC 3550 §5.1 / §5.3.1 rules) and returns a [`Verdict`]: accepted with its extended
//!   (64-bit, wrap-free) sequence number and timestamp, and whether packets were lost or the
//!   stream restarted (new SSRC, or a jump back beyond `max-reorder`) before it; or late (a
//!   duplicate or a packet behind the expected one), to be dropped.
//! - [`parse_batch`] validates the packets of a buffer list, each once: the fixed headers
//!   of all in one batch (`rtp2_core::hdrsimd`, SIMD where the CPU has it), then the CSRC,
//!   extension and padding lengths of each.
//! - [`InputStats`] counts what came in and what was dropped on this side; loss is counted,
//!   never warned about.
//! - [`report_bad_input`] is the one way bad input is reported: counted under the element's
//!   lock, logged, and posted as an element warning at most once per [`WARNING_INTERVAL`],
//!   after the lock is released (no message is posted while an element lock is held).
//!
//! It holds no lock itself: it lives inside the owning element's state, behind that
//! element's lock.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rtp2_core::hdrsimd::{FixedHeader, parse_headers_auto};
use rtp2_core::rtp::{FIXED_HEADER_LEN, RtpPacket, RtpParseError};
use rtp2_core::seqnum::{SeqnumTracker, SeqnumUnwrapper, SeqnumVerdict, TimestampUnwrapper};

use gst::prelude::*;

use crate::base::extensions::lock;

/// Default of `max-reorder` (as the C depayloaders): how far behind the expected sequence
/// number a packet is taken as late rather than as a sender restart.
pub const DEFAULT_MAX_REORDER: u32 = 100;

/// The `max-reorder` property of the elements with an RTP input (depayloaders, filters).
pub fn max_reorder_pspec() -> gst::glib::ParamSpec {
    gst::glib::ParamSpecInt::builder("max-reorder")
        .nick("Max Reorder")
        .blurb("Max seqnum reorder before assuming sender has restarted")
        .minimum(0)
        .default_value(DEFAULT_MAX_REORDER as i32)
        .mutable_playing()
        .build()
}

/// Element warning messages about bad input are posted at most this often.
pub const WARNING_INTERVAL: Duration = Duration::from_secs(1);

/// Counters of the input side, reported in the element's `stats` property.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct InputStats {
    /// Packets that passed validation (late ones included).
    pub packets_received: u64,
    /// Payload bytes of those packets.
    pub bytes_received: u64,
    /// Packets missing from sequence number gaps (loss, not bad input).
    pub packets_lost: u64,
    /// Buffers that are not valid RTP.
    pub dropped_invalid: u64,
    /// Duplicates and packets that arrived after later ones.
    pub dropped_late: u64,
    /// SSRC changes and sender restarts.
    pub resyncs: u64,
}

impl InputStats {
    /// Adds the counters to a `stats` structure under their property names.
    pub fn add_fields(&self, builder: gst::structure::Builder) -> gst::structure::Builder {
        builder
            .field("packets-received", self.packets_received)
            .field("bytes-received", self.bytes_received)
            .field("packets-lost", self.packets_lost)
            .field("dropped-invalid", self.dropped_invalid)
            .field("dropped-late", self.dropped_late)
            .field("resyncs", self.resyncs)
    }
}

/// What [`RtpIn::check`] says about a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Take the packet.
    Accept(Accepted),
    /// A duplicate, or a packet behind the expected one by at most `max-reorder`: drop it
    /// (counted in `dropped-late`).
    Late,
}

/// An accepted packet's place in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The sequence number extended to 64 bits (the first packet after a reset gets
    /// `2^32 + seq`; only differences are meaningful).
    pub ext_seqnum: u64,
    /// The RTP timestamp extended to 64 bits (first packet after a reset: `2^40 + ts`).
    pub ext_timestamp: u64,
    /// Packets missing right before this one (0: none).
    pub lost: u32,
    /// The SSRC changed or the sender restarted its sequence: the history was forgotten and
    /// anything held from before belongs to another stream.
    pub resync: bool,
    /// Loss, a resync or a reset ([`RtpIn::reset`], start) happened since the previous
    /// accepted packet: whatever was being assembled across packets is incomplete.
    pub discont: bool,
}

/// The sequence and timing history of the sender being received.
#[derive(Debug)]
pub struct RtpIn {
    ssrc: Option<u32>,
    seqnum: SeqnumTracker,
    ext_seqnum: SeqnumUnwrapper,
    ext_timestamp: TimestampUnwrapper,
    /// Loss or a reset since the last accepted packet.
    loss_before_next: bool,
    last_seqnum: u16,
    last_timestamp: u32,
    last_warning: Option<Instant>,
    /// The counters of the input side.
    pub stats: InputStats,
}

impl RtpIn {
    /// Nothing received yet; packets up to `max_reorder` behind the expected one are late,
    /// further behind mean the sender restarted.
    pub fn new(max_reorder: u32) -> Self {
        RtpIn {
            ssrc: None,
            seqnum: SeqnumTracker::new(max_reorder),
            ext_seqnum: SeqnumUnwrapper::new(),
            ext_timestamp: TimestampUnwrapper::new(),
            loss_before_next: true,
            last_seqnum: 0,
            last_timestamp: 0,
            last_warning: None,
            stats: InputStats::default(),
        }
    }

    /// Changes the `max-reorder` limit.
    pub fn set_max_reorder(&mut self, max_reorder: u32) {
        self.seqnum.set_max_reorder(max_reorder);
    }

    /// Forgets the sequence and timing history (flush); the next packet is discont. The
    /// SSRC and counters stay.
    pub fn reset(&mut self) {
        self.seqnum.reset();
        self.ext_seqnum.reset();
        self.ext_timestamp.reset();
        self.loss_before_next = true;
    }

    /// Keeps a loss reported for a packet the element then skips (one without payload) for
    /// the next packet, so that the loss still reaches what the element outputs.
    pub fn carry_discont(&mut self, discont: bool) {
        self.loss_before_next |= discont;
    }

    /// SSRC of the last accepted packet.
    pub fn ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    /// Sequence number of the last accepted packet.
    pub fn last_seqnum(&self) -> u16 {
        self.last_seqnum
    }

    /// RTP timestamp of the last accepted packet.
    pub fn last_timestamp(&self) -> u32 {
        self.last_timestamp
    }

    /// Counts `rtp`, follows its SSRC and sequence number, and says whether to take it.
    /// `element` is only used for debug logs.
    #[inline]
    pub fn check(&mut self, element: &gst::Element, rtp: &RtpPacket) -> Verdict {
        self.stats.packets_received += 1;
        self.stats.bytes_received += rtp.payload().len() as u64;
        let seq = rtp.sequence_number();
        let mut resync = false;
        if self.ssrc.is_some_and(|s| s != rtp.ssrc()) {
            gst::info!(
                crate::CAT,
                obj = element,
                "SSRC changed from {:08x} to {:08x}: resynchronising",
                self.ssrc.unwrap_or_default(),
                rtp.ssrc()
            );
            self.resync();
            resync = true;
        }
        self.ssrc = Some(rtp.ssrc());

        let mut lost = 0;
        match self.seqnum.check(seq) {
            SeqnumVerdict::First | SeqnumVerdict::Expected => {}
            SeqnumVerdict::Gap { lost: gap } => {
                gst::debug!(
                    crate::CAT,
                    obj = element,
                    "{gap} packets lost before seqnum {seq}"
                );
                self.stats.packets_lost += u64::from(gap);
                self.loss_before_next = true;
                lost = u32::from(gap);
            }
            SeqnumVerdict::Late { behind } => {
                self.stats.dropped_late += 1;
                gst::debug!(
                    crate::CAT,
                    obj = element,
                    "Dropping late or duplicate packet {seq} ({behind} behind)"
                );
                return Verdict::Late;
            }
            SeqnumVerdict::Restart => {
                gst::info!(
                    crate::CAT,
                    obj = element,
                    "Sender restarted at seqnum {seq}"
                );
                self.resync();
                self.seqnum.check(seq);
                resync = true;
            }
            // A verdict the core adds later: the packet is taken as in order.
            _ => {}
        }
        let ext_seqnum = self.ext_seqnum.unwrap(seq);
        let ext_timestamp = self.ext_timestamp.unwrap(rtp.timestamp());
        self.last_seqnum = seq;
        self.last_timestamp = rtp.timestamp();
        Verdict::Accept(Accepted {
            ext_seqnum,
            ext_timestamp,
            lost,
            resync,
            discont: std::mem::take(&mut self.loss_before_next),
        })
    }

    fn resync(&mut self) {
        self.reset();
        self.stats.resyncs += 1;
    }

    /// Counts a buffer that is not valid RTP; returns `self` for [`report_bad_input`].
    pub fn count_invalid(&mut self) -> &mut Self {
        self.stats.dropped_invalid += 1;
        self
    }

    /// Whether an element warning about bad input is due now (at most one per
    /// [`WARNING_INTERVAL`]); if so, the interval restarts.
    pub fn warning_due(&mut self, now: Instant) -> bool {
        let due = self
            .last_warning
            .is_none_or(|t| now.duration_since(t) >= WARNING_INTERVAL);
        if due {
            self.last_warning = Some(now);
        }
        due
    }
}

/// Validates `packets` (the mapped buffers of a buffer list), each once: `out[i]` is the
/// parsed `packets[i]`, or why it is not valid RTP. Equivalent to [`RtpPacket::parse`] on
/// each, in one pass over the bytes.
pub fn parse_batch<'a>(packets: &[&'a [u8]], out: &mut Vec<Result<RtpPacket<'a>, RtpParseError>>) {
    parse_batch_with(packets, RtpPacket::parse_after_fixed_header, out)
}

/// [`parse_batch`] with the per-packet step `rest` (so that a test can count its calls).
fn parse_batch_with<'a>(
    packets: &[&'a [u8]],
    mut rest: impl FnMut(&'a [u8]) -> Result<RtpPacket<'a>, RtpParseError>,
    out: &mut Vec<Result<RtpPacket<'a>, RtpParseError>>,
) {
    let mut fixed: Vec<Option<FixedHeader>> = Vec::with_capacity(packets.len());
    parse_headers_auto(packets, &mut fixed);
    out.clear();
    out.extend(packets.iter().zip(fixed).map(|(data, header)| {
        if header.is_some() {
            rest(data)
        } else if data.len() < FIXED_HEADER_LEN {
            Err(RtpParseError::TooShort { len: data.len() })
        } else {
            Err(RtpParseError::BadVersion {
                version: data[0] >> 6,
            })
        }
    }));
}

/// Reports bad input: logs `reason` as a GST_WARNING every time; under `state`'s lock,
/// `count` updates the counters and returns the [`RtpIn`] that rate-limits; an element
/// warning message (`StreamError::Decode`) is posted, after the lock is released, at most
/// once per [`WARNING_INTERVAL`]. The stream goes on.
pub fn report_bad_input<S>(
    element: &gst::Element,
    state: &Mutex<S>,
    reason: &dyn std::fmt::Display,
    count: impl FnOnce(&mut S) -> &mut RtpIn,
) {
    gst::warning!(crate::CAT, obj = element, "Dropping bad input: {reason}");
    let now = Instant::now();
    let post = count(&mut lock(state)).warning_due(now);
    if post {
        gst::element_warning!(
            element,
            gst::StreamError::Decode,
            ["Dropping bad RTP input: {reason}"]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 12-byte RTP header with `seq`, `ts`, `ssrc` (RFC 3550 §5.1 layout) and 2 payload
    /// bytes.
    fn packet(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
        let mut p = vec![0x80, 96];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&[1, 2]);
        p
    }

    fn check(rtp_in: &mut RtpIn, seq: u16, ts: u32, ssrc: u32) -> Verdict {
        gst::init().expect("GStreamer initialises");
        let element = gst::Bin::new().upcast::<gst::Element>();
        let data = packet(seq, ts, ssrc);
        let rtp = RtpPacket::parse(&data).expect("valid packet");
        rtp_in.check(&element, &rtp)
    }

    fn accepted(v: Verdict) -> Accepted {
        match v {
            Verdict::Accept(a) => a,
            other => panic!("expected Accept, got {other:?}"),
        }
    }

    #[test]
    fn verdicts_across_gap_late_wrap_and_restart() {
        let mut rtp_in = RtpIn::new(100);
        let first = accepted(check(&mut rtp_in, 65534, 4_294_967_000, 7));
        assert!(first.discont && !first.resync && first.lost == 0);
        // Wraps of both counters extend, not jump back.
        let next = accepted(check(&mut rtp_in, 65535, 100, 7));
        assert_eq!(next.ext_seqnum, first.ext_seqnum + 1);
        assert_eq!(next.ext_timestamp, first.ext_timestamp + 396);
        assert!(!next.discont);
        let gap = accepted(check(&mut rtp_in, 2, 200, 7));
        assert_eq!((gap.lost, gap.discont), (2, true));
        assert_eq!(gap.ext_seqnum, first.ext_seqnum + 4);
        assert_eq!(check(&mut rtp_in, 1, 200, 7), Verdict::Late);
        let restart = accepted(check(&mut rtp_in, 40000, 300, 7));
        assert!(restart.resync && restart.discont);
        let new_ssrc = accepted(check(&mut rtp_in, 40001, 400, 8));
        assert!(new_ssrc.resync && new_ssrc.discont);
        assert_eq!(rtp_in.ssrc(), Some(8));
        assert_eq!(
            rtp_in.stats,
            InputStats {
                packets_received: 6,
                bytes_received: 12,
                packets_lost: 2,
                dropped_invalid: 0,
                dropped_late: 1,
                resyncs: 2,
            }
        );
    }

    /// Valid packets (CSRCs, extension, padding) and broken ones (short, version 1, CSRCs,
    /// extension or padding past the end), as bytes built from RFC 3550 §5.1/§5.3.1.
    fn mixed_packets() -> Vec<Vec<u8>> {
        let mut v = vec![
            packet(1, 2, 3),
            vec![0x80, 96, 0, 1],
            {
                let mut p = packet(1, 2, 3);
                p[0] = 0x40;
                p
            },
            {
                // Two CSRCs, an extension of one word, two bytes of payload, padding 2.
                let mut p = vec![0xb2, 96, 0, 9, 0, 0, 0, 1, 0, 0, 0, 2];
                p.extend([0, 0, 0, 0xa, 0, 0, 0, 0xb]);
                p.extend([0xbe, 0xde, 0, 1, 0x10, 5, 0, 0]);
                p.extend([7, 7, 0, 2]);
                p
            },
            vec![0x83, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4],
            vec![0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 9],
            vec![0xa0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 9],
        ];
        // And pseudo-random bytes with the version bits mostly right.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for n in 0..400 {
            let len = n % 40;
            let p: Vec<u8> = (0..len)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if i == 0 {
                        0x80 | (x as u8 & 0x3f)
                    } else {
                        x as u8
                    }
                })
                .collect();
            v.push(p);
        }
        v
    }

    #[test]
    fn batch_parses_each_packet_once_and_as_the_full_parser_does() {
        let packets = mixed_packets();
        let slices: Vec<&[u8]> = packets.iter().map(|p| p.as_slice()).collect();
        let mut calls = 0;
        let mut out = Vec::new();
        parse_batch_with(
            &slices,
            |data| {
                calls += 1;
                RtpPacket::parse_after_fixed_header(data)
            },
            &mut out,
        );
        let fixed_ok = slices
            .iter()
            .filter(|p| p.len() >= 12 && p[0] >> 6 == 2)
            .count();
        // One per-packet step per packet whose fixed header the batch accepted, none for
        // the others: no packet is parsed twice.
        assert_eq!(calls, fixed_ok);
        assert!(fixed_ok > 100 && fixed_ok < slices.len());
        for (p, got) in slices.iter().zip(&out) {
            let full = RtpPacket::parse(p);
            match (got, &full) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.payload(), b.payload());
                    assert_eq!(a.header_len(), b.header_len());
                }
                (a, b) => assert_eq!(a.as_ref().err(), b.as_ref().err(), "{p:02x?}"),
            }
        }
        let mut out2 = Vec::new();
        parse_batch(&slices, &mut out2);
        assert_eq!(out2.len(), out.len());
    }

    #[test]
    fn warnings_are_rate_limited() {
        let mut rtp_in = RtpIn::new(100);
        let now = Instant::now();
        assert!(rtp_in.warning_due(now));
        assert!(!rtp_in.warning_due(now + WARNING_INTERVAL / 2));
        assert!(rtp_in.warning_due(now + WARNING_INTERVAL));
    }
}
