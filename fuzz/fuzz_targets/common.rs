// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Splits fuzz input into a sequence of packets: each is `[length: u16 BE][flags][payload]`,
//! flags bit 0 = marker, bit 1 = loss before it (discont), bits 2–3 = timestamp step
//! (same, +3000, −3000, +1). The seed corpus (scripts/fuzz-seeds.sh) uses the same form.

/// One packet of the sequence.
pub struct Packet<'a> {
    pub payload: &'a [u8],
    pub marker: bool,
    pub discont: bool,
    pub timestamp: u64,
}

/// The packets of `data`, at most 2048 bytes each.
pub fn packets(data: &[u8]) -> Vec<Packet<'_>> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut timestamp: u64 = 1 << 40;
    while let Some(head) = data.get(pos..pos + 3) {
        let len = usize::from(u16::from_be_bytes([head[0], head[1]])) % 2049;
        let flags = head[2];
        pos += 3;
        let end = (pos + len).min(data.len());
        timestamp = match (flags >> 2) & 3 {
            0 => timestamp,
            1 => timestamp + 3000,
            2 => timestamp - 3000,
            _ => timestamp + 1,
        };
        out.push(Packet {
            payload: &data[pos..end],
            marker: flags & 1 != 0,
            discont: flags & 2 != 0,
            timestamp,
        });
        pos = end;
    }
    out
}
