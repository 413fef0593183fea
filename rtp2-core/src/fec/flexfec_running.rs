// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Row and column parity built as the media passes (RFC 8627 §1.1.1–§1.1.3): each media
//! packet is XORed into its row's and its column's running parity when it arrives, while it
//! is still in cache, so the sender keeps no copy of the packets and reads each once (a
//! copy per packet and a second pass over the stored block cost more CPU time than the XOR
//! itself). The repair packets are byte for byte those of [`repair_packet`] over the same
//! packets: XOR does not depend on the order.
//!
//! [`repair_packet`]: crate::fec::flexfec::repair_packet

use crate::fec::flexfec::{ProtectedStream, RepairRtp, StreamMask, WireFormat, repair_head};
use crate::fec::parity::{FIXED, ParityFields};
use crate::fec::xor_into;

/// The parity of the packets added since the last [`RunningParity::take`].
#[derive(Debug, Default)]
pub(super) struct RunningParity {
    fields: ParityFields,
    /// XOR of the bytes after each fixed header, as long as the longest so far.
    data: Vec<u8>,
    count: usize,
    /// Sequence number of the first packet, timestamp of the last.
    sn_base: u16,
    timestamp: u32,
    /// A packet the parity cannot carry (longer than 65,535 bytes after its header).
    broken: bool,
}

impl RunningParity {
    /// Adds a whole RTP packet (at least a fixed header long).
    pub(super) fn add(&mut self, p: &[u8]) {
        if self.count == 0 {
            self.fields = ParityFields::default();
            self.data.clear();
            self.broken = false;
            self.sn_base = u16::from_be_bytes([p[2], p[3]]);
        }
        self.count += 1;
        let Ok((f, len)) = ParityFields::fields_of(std::iter::once(p)) else {
            self.broken = true;
            return;
        };
        self.fields.pxcc ^= f.pxcc;
        self.fields.mpt ^= f.mpt;
        self.fields.ts ^= f.ts;
        self.fields.length ^= f.length;
        self.timestamp = f.ts;
        if self.data.len() < len {
            self.data.resize(len, 0);
        }
        xor_into(&mut self.data[..len], &p[FIXED..]);
    }

    /// Forgets what was added.
    pub(super) fn clear(&mut self) {
        self.count = 0;
    }

    /// The repair packet of what was added (none when nothing or a broken packet was), on
    /// `fec_ssrc` / `payload_type` (its sequence number written when it leaves), protecting
    /// `mask` of `media_ssrc` from the first packet added; starts over.
    pub(super) fn take(
        &mut self,
        format: WireFormat,
        fec_ssrc: u32,
        payload_type: u8,
        media_ssrc: u32,
        mask: StreamMask,
    ) -> Option<Vec<u8>> {
        if std::mem::take(&mut self.count) == 0 || self.broken {
            return None;
        }
        let rtp = RepairRtp {
            ssrc: fec_ssrc,
            payload_type,
            seqnum: 0,
            timestamp: self.timestamp,
        };
        let stream = ProtectedStream {
            ssrc: media_ssrc,
            sn_base: self.sn_base,
            mask,
        };
        let mut out = repair_head(format, rtp, stream, self.fields, self.data.len()).ok()?;
        out.extend_from_slice(&self.data);
        Some(out)
    }
}
