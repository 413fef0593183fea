// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Tests of the fragment reassembly machine on its own; the byte layouts of real FU packets
//! are tested through the H.264 and H.265 depacketizers.

use super::*;
use proptest::prelude::*;

/// Header byte of an IDR slice (H.264 type 5, NRI 3) and of a non-IDR slice (type 1).
const IDR: u8 = 0x65;
const SLICE: u8 = 0x61;

/// A fragment of the NAL unit whose header is `header`, carrying `rest`.
fn frag<'a>(header: &'a [u8], start: bool, end: bool, rest: &'a [u8], ts: u64) -> Fragment<'a> {
    Fragment {
        start,
        end,
        nal_header: header,
        nal_type: header[0] & 0x1f,
        type_allowed: true,
        rest,
        start_has_don: false,
        may_continue: true,
        timestamp: ts,
    }
}

#[test]
fn start_middle_end_reassembles_with_the_start_timestamp() {
    let mut a = FragmentAssembler::new(100);
    let mut drops = Vec::new();
    assert_eq!(
        a.push(&frag(&[IDR], true, false, &[1, 2], 90), &mut drops),
        None
    );
    assert_eq!(
        a.push(&frag(&[IDR], false, false, &[3], 91), &mut drops),
        None
    );
    assert_eq!(a.held_bytes(), 4);
    let done = a.push(&frag(&[IDR], false, true, &[4], 92), &mut drops);
    assert_eq!(
        done,
        Some(Reassembled {
            data: vec![IDR, 1, 2, 3, 4],
            timestamp: 90,
            don: None
        })
    );
    assert!(drops.is_empty());
    assert_eq!(a.held_bytes(), 0);
}

#[test]
fn start_don_is_read_and_kept() {
    let mut a = FragmentAssembler::new(100);
    let mut drops = Vec::new();
    let header = [0x26, 0x01];
    let mut start = frag(&header, true, false, &[0x12, 0x34, 7], 0);
    start.start_has_don = true;
    assert_eq!(a.push(&start, &mut drops), None);
    let done = a.push(&frag(&header, false, true, &[8], 0), &mut drops);
    assert_eq!(
        done,
        Some(Reassembled {
            data: vec![0x26, 0x01, 7, 8],
            timestamp: 0,
            don: Some(0x1234)
        })
    );
    // A start too short for its DON is an empty payload.
    let mut short = frag(&header, true, false, &[0x12], 0);
    short.start_has_don = true;
    assert_eq!(a.push(&short, &mut drops), None);
    assert_eq!(drops, vec![DropReason::EmptyPayload]);
}

#[test]
fn lost_middle_drops_the_nal_unit_once() {
    let mut a = FragmentAssembler::new(100);
    let mut drops = Vec::new();
    a.push(&frag(&[IDR], true, false, &[1], 0), &mut drops);
    // The caller saw a sequence gap.
    a.abandon(&mut drops);
    assert_eq!(
        a.push(&frag(&[IDR], false, false, &[3], 0), &mut drops),
        None
    );
    assert_eq!(
        a.push(&frag(&[IDR], false, true, &[4], 0), &mut drops),
        None
    );
    assert_eq!(
        drops,
        vec![
            DropReason::IncompleteFragmentedNal,
            DropReason::FragmentWithoutStart
        ]
    );
    // The next NAL unit is whole again.
    drops.clear();
    a.push(&frag(&[SLICE], true, false, &[5], 1), &mut drops);
    let done = a.push(&frag(&[SLICE], false, true, &[6], 1), &mut drops);
    assert_eq!(done.map(|r| r.data), Some(vec![SLICE, 5, 6]));
    assert!(drops.is_empty());
}

#[test]
fn lost_start_skips_to_the_end_fragment() {
    let mut a = FragmentAssembler::new(100);
    let mut drops = Vec::new();
    for end in [false, false, true] {
        assert_eq!(a.push(&frag(&[IDR], false, end, &[1], 0), &mut drops), None);
    }
    // A second NAL unit without its start counts again.
    assert_eq!(
        a.push(&frag(&[IDR], false, true, &[1], 0), &mut drops),
        None
    );
    assert_eq!(
        drops,
        vec![
            DropReason::FragmentWithoutStart,
            DropReason::FragmentWithoutStart
        ]
    );
}

#[test]
fn lost_end_followed_by_a_new_start() {
    let mut a = FragmentAssembler::new(100);
    let mut drops = Vec::new();
    a.push(&frag(&[IDR], true, false, &[1], 0), &mut drops);
    a.push(&frag(&[IDR], false, false, &[2], 0), &mut drops);
    a.push(&frag(&[SLICE], true, false, &[3], 3000), &mut drops);
    let done = a.push(&frag(&[SLICE], false, true, &[4], 3000), &mut drops);
    assert_eq!(
        done.map(|r| (r.data, r.timestamp)),
        Some((vec![SLICE, 3, 4], 3000))
    );
    assert_eq!(drops, vec![DropReason::IncompleteFragmentedNal]);
}

#[test]
fn mismatching_type_or_kind_drops_the_nal_unit() {
    let mut a = FragmentAssembler::new(100);
    let mut drops = Vec::new();
    a.push(&frag(&[IDR], true, false, &[1], 0), &mut drops);
    assert_eq!(
        a.push(&frag(&[SLICE], false, false, &[2], 0), &mut drops),
        None
    );
    // The rest of the broken NAL unit goes quietly.
    assert_eq!(
        a.push(&frag(&[IDR], false, false, &[3], 0), &mut drops),
        None
    );
    assert_eq!(
        a.push(&frag(&[IDR], false, true, &[4], 0), &mut drops),
        None
    );
    assert_eq!(drops, vec![DropReason::FragmentMismatch]);

    // A fragment that may only start a NAL unit (H.264 FU-B) in the middle of one.
    drops.clear();
    a.push(&frag(&[IDR], true, false, &[1], 0), &mut drops);
    let mut fu_b = frag(&[IDR], false, true, &[2], 0);
    fu_b.may_continue = false;
    assert_eq!(a.push(&fu_b, &mut drops), None);
    assert_eq!(drops, vec![DropReason::FragmentMismatch]);
    assert_eq!(a.held_bytes(), 0);
}

#[test]
fn forbidden_type_and_start_with_end_are_dropped() {
    let mut a = FragmentAssembler::new(100);
    let mut drops = Vec::new();
    let mut stap = frag(&[0x78], true, false, &[1], 0);
    stap.type_allowed = false;
    a.push(&stap, &mut drops);
    a.push(&frag(&[0x78], false, true, &[2], 0), &mut drops);
    assert_eq!(drops, vec![DropReason::UnsupportedType(24)]);

    drops.clear();
    a.push(&frag(&[IDR], true, false, &[1], 0), &mut drops);
    assert_eq!(a.push(&frag(&[IDR], true, true, &[2], 0), &mut drops), None);
    assert_eq!(drops, vec![DropReason::FragmentStartAndEnd]);
    assert_eq!(a.held_bytes(), 0);
}

#[test]
fn oversize_nal_unit_is_dropped_and_the_next_one_passes() {
    let mut a = FragmentAssembler::new(4);
    let mut drops = Vec::new();
    a.push(&frag(&[IDR], true, false, &[1, 2], 0), &mut drops);
    a.push(&frag(&[IDR], false, false, &[3, 4], 0), &mut drops);
    a.push(&frag(&[IDR], false, false, &[5], 0), &mut drops);
    a.push(&frag(&[IDR], false, true, &[6], 0), &mut drops);
    assert_eq!(drops, vec![DropReason::FragmentedNalTooLarge(4)]);
    // A start fragment alone over the limit.
    drops.clear();
    a.push(&frag(&[IDR], true, false, &[1, 2, 3, 4], 0), &mut drops);
    a.push(&frag(&[IDR], false, true, &[5], 0), &mut drops);
    assert_eq!(drops, vec![DropReason::FragmentedNalTooLarge(4)]);
    // Exactly at the limit is fine.
    drops.clear();
    a.push(&frag(&[IDR], true, false, &[1, 2], 0), &mut drops);
    let done = a.push(&frag(&[IDR], false, true, &[3], 0), &mut drops);
    assert_eq!(done.map(|r| r.data), Some(vec![IDR, 1, 2, 3]));
    assert!(drops.is_empty());
}

/// One step of an arbitrary fragment sequence.
#[derive(Debug, Clone)]
struct Step {
    abandon: bool,
    start: bool,
    end: bool,
    header: u8,
    type_allowed: bool,
    start_has_don: bool,
    may_continue: bool,
    rest: Vec<u8>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        (any::<u8>(), any::<u8>()),
        0u8..4,
        prop::collection::vec(any::<u8>(), 0..24),
    )
        .prop_map(|((flags, more), header, rest)| Step {
            abandon: flags & 0x80 != 0 && more & 3 == 0,
            start: flags & 1 != 0,
            end: flags & 2 != 0,
            header,
            type_allowed: flags & 4 == 0 || more & 4 != 0,
            start_has_don: flags & 8 != 0,
            may_continue: flags & 16 == 0 || more & 8 != 0,
            rest,
        })
}

proptest! {
    /// Whatever the fragments, no panic, the NAL unit in progress and every output stay
    /// within the limit, an output is headed by its start fragment's header, and at most
    /// one NAL unit comes out per end fragment.
    #[test]
    fn arbitrary_fragments_stay_bounded(
        max in 0usize..64,
        steps in prop::collection::vec(step(), 0..64),
    ) {
        let mut a = FragmentAssembler::new(max);
        let mut drops = Vec::new();
        let mut ends = 0;
        let mut outputs = 0;
        for s in &steps {
            if s.abandon {
                a.abandon(&mut drops);
            }
            let header = [s.header];
            let f = Fragment {
                start: s.start,
                end: s.end,
                nal_header: &header,
                nal_type: s.header,
                type_allowed: s.type_allowed,
                rest: &s.rest,
                start_has_don: s.start_has_don,
                may_continue: s.may_continue,
                timestamp: 0,
            };
            ends += usize::from(s.end && !s.start);
            if let Some(r) = a.push(&f, &mut drops) {
                outputs += 1;
                prop_assert!(r.data.len() <= max);
                prop_assert!(!r.data.is_empty());
                prop_assert_eq!(r.data[0], s.header);
            }
            prop_assert!(a.held_bytes() <= max);
        }
        prop_assert!(outputs <= ends);
    }
}
