// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The media packets of a [`super::RecoveryWindow`], ordered by extended sequence number.
//!
//! Media packets arrive nearly in order and leave oldest first, so a double-ended queue kept
//! sorted does what an ordered map would with less work per packet: an in-order packet is
//! appended, the oldest is popped from the front, and a lookup is one index computation
//! while no number is missing in between (a binary search otherwise). A late packet is
//! inserted in place: a move of at most the window's bound of entries.

use std::collections::VecDeque;

/// One held media packet: its extended sequence number, bytes and arrival time.
#[derive(Debug)]
struct Entry {
    seq: u64,
    bytes: Vec<u8>,
    time: u64,
}

/// Media packets sorted by extended sequence number, each number at most once.
#[derive(Debug, Default)]
pub(super) struct MediaStore {
    entries: VecDeque<Entry>,
}

impl MediaStore {
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(super) fn clear(&mut self) {
        self.entries.clear();
    }

    /// Index of `seq`, or where it would go.
    ///
    /// The numbers held are distinct and ascending, so the entry `seq - first` places after
    /// the first is at or above `seq`, and the one `last - seq` places before the last is at
    /// or below it: the search runs between the two, a span as wide as the numbers missing
    /// in the window (none when nothing was lost: a direct hit).
    fn position(&self, seq: u64) -> Result<usize, usize> {
        let (Some(first), Some(last)) = (self.entries.front(), self.entries.back()) else {
            return Err(0);
        };
        if seq < first.seq {
            return Err(0);
        }
        if seq > last.seq {
            return Err(self.entries.len());
        }
        let len = self.entries.len() as u64;
        // Both bounds lie in 0..len: `seq - first.seq` is at most `last.seq - first.seq`,
        // and the numbers held are distinct, so `len - 1 <= last.seq - first.seq`.
        let mut hi = (seq - first.seq).min(len - 1) as usize + 1;
        let mut lo = (len - 1).saturating_sub(last.seq - seq) as usize;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.entries[mid].seq.cmp(&seq) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    pub(super) fn contains(&self, seq: u64) -> bool {
        self.position(seq).is_ok()
    }

    /// The bytes held for `seq`.
    pub(super) fn get(&self, seq: u64) -> Option<&[u8]> {
        let i = self.position(seq).ok()?;
        Some(&self.entries[i].bytes)
    }

    /// Holds `bytes` as `seq`; returns the bytes it replaces.
    pub(super) fn insert(&mut self, seq: u64, bytes: Vec<u8>, time: u64) -> Option<Vec<u8>> {
        let entry = Entry { seq, bytes, time };
        if self.entries.back().is_none_or(|last| last.seq < seq) {
            self.entries.push_back(entry);
            return None;
        }
        match self.position(seq) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i], entry).bytes),
            Err(i) => {
                self.entries.insert(i, entry);
                None
            }
        }
    }

    /// Arrival time of the oldest-numbered packet.
    pub(super) fn first_time(&self) -> Option<u64> {
        self.entries.front().map(|e| e.time)
    }

    /// Removes the oldest-numbered packet: its number and bytes.
    pub(super) fn pop_first(&mut self) -> Option<(u64, Vec<u8>)> {
        self.entries.pop_front().map(|e| (e.seq, e.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_replaces_and_finds_across_gaps() {
        let mut s = MediaStore::default();
        for seq in [10u64, 11, 13, 12, 20, 5] {
            assert!(s.insert(seq, vec![seq as u8], seq * 2).is_none());
        }
        assert_eq!(s.len(), 6);
        for seq in [5u64, 10, 11, 12, 13, 20] {
            assert_eq!(s.get(seq), Some(&[seq as u8][..]));
        }
        for seq in [0u64, 6, 14, 19, 21, u64::MAX] {
            assert!(!s.contains(seq));
        }
        assert!(s.insert(u64::MAX, vec![1], 0).is_none() && s.contains(u64::MAX));
        assert!(s.insert(0, vec![0], 0).is_none() && s.contains(0));
        for seq in [1u64, 6, 14, 19, 21, u64::MAX - 1] {
            assert!(!s.contains(seq));
        }
        assert_eq!(s.pop_first(), Some((0, vec![0])));
        s.entries.pop_back();
        assert_eq!(s.insert(12, vec![99], 1), Some(vec![12]));
        assert_eq!(s.get(12), Some(&[99][..]));
        assert_eq!(s.first_time(), Some(10));
        let order: Vec<u64> = std::iter::from_fn(|| s.pop_first().map(|(q, _)| q)).collect();
        assert_eq!(order, [5, 10, 11, 12, 13, 20]);
        assert!(s.is_empty() && s.first_time().is_none());
    }

    proptest::proptest! {
        /// Any mix of insertions (in order, late, repeated) and removals of the oldest
        /// behaves as an ordered map.
        #[test]
        fn behaves_as_an_ordered_map(ops in proptest::collection::vec((0u8..4, 0u64..80), 0..300)) {
            let mut store = MediaStore::default();
            let mut model = std::collections::BTreeMap::new();
            for (n, (op, seq)) in ops.into_iter().enumerate() {
                if op == 0 {
                    proptest::prop_assert_eq!(
                        store.pop_first(),
                        model.pop_first().map(|(q, (b, _))| (q, b))
                    );
                } else {
                    let bytes = vec![n as u8];
                    proptest::prop_assert_eq!(
                        store.insert(seq, bytes.clone(), n as u64),
                        model.insert(seq, (bytes, n as u64)).map(|(b, _)| b)
                    );
                }
                proptest::prop_assert_eq!(store.len(), model.len());
                proptest::prop_assert_eq!(
                    store.first_time(),
                    model.first_key_value().map(|(_, (_, t))| *t)
                );
                for q in 0..82 {
                    proptest::prop_assert_eq!(store.get(q), model.get(&q).map(|(b, _)| &b[..]));
                }
            }
        }
    }
}
