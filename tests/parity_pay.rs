// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Payloader parity with the C elements (issue 14): the same hand-made input (NAL units,
//! avcC/hvcC records laid out from RFC 6184/7798 and ISO/IEC 14496-15) goes to our payloader
//! and to the C one, and the packets (payload bytes, count) must agree, or, where ours differs
//! on purpose (docs/migration.md), ours is checked. Buffer flags and `filesrc` input:
//! `parity_pay_flags.rs`.

mod common;
mod parity_support;

use parity_support::*;

/// Issue 14 item 4: NAL units of types 24–27 on the input are dropped by both (C with a
/// warning, ours counted as invalid input); the packets are the same.
#[test]
fn reserved_h264_types_24_to_27_are_dropped_as_c_does() {
    let reserved: Vec<Vec<u8>> = (24u8..=27).map(|t| vec![0x60 | t, 0, 4, 0x65, 1]).collect();
    let mut nals: Vec<&[u8]> = vec![&SPS, &PPS];
    nals.extend(reserved.iter().map(Vec::as_slice));
    let idr = idr(40, 7);
    nals.push(&idr);
    let input = [buffer(&annexb(&nals), 0, KEY)];
    let caps = caps("video/x-h264,stream-format=byte-stream,alignment=au");
    let (c, ours) = both("rtph264pay", &caps, &input);
    assert_eq!(ours.packets, c.packets);
    assert_eq!(ours.packets.len(), 3, "SPS, PPS, IDR");
    assert!(all_ok(&ours));
    assert_eq!(dropped_invalid(&ours), 4);
}

/// Item 4, where ours is deliberately different: C sends input NAL units of types 28–29
/// (H.264) and 48–50 (H.265) as single NAL unit packets, which receivers parse as FU-A/FU-B,
/// AP/FU/PACI headers. Ours drops them (docs/migration.md).
#[test]
fn packet_structure_types_are_dropped_where_c_sends_malformed_packets() {
    let cases: [(&str, &str, Vec<Vec<u8>>); 2] = [
        (
            "rtph264pay",
            "video/x-h264,stream-format=byte-stream,alignment=au",
            vec![vec![0x7c, 0x85, 1], vec![0x7d, 0x85, 1], idr(20, 3)],
        ),
        (
            "rtph265pay",
            "video/x-h265,stream-format=byte-stream,alignment=au",
            vec![
                vec![0x60, 0x01, 0, 3],
                vec![0x62, 0x01, 0x93, 1],
                vec![0x64, 0x01, 0x10, 2],
                idr265(20, 3),
            ],
        ),
    ];
    for (element, caps_str, nals) in cases {
        let reserved = nals.len() - 1;
        let refs: Vec<&[u8]> = nals.iter().map(Vec::as_slice).collect();
        let (c, ours) = both(element, &caps(caps_str), &[buffer(&annexb(&refs), 0, KEY)]);
        let c_payloads: Vec<&[u8]> = c.packets.iter().map(|p| p.payload.as_slice()).collect();
        assert_eq!(c_payloads, refs, "{element}: C sends each unit as it is");
        assert_eq!(ours.packets.len(), 1, "{element}");
        let (last, first) = (c.packets.last().unwrap(), &ours.packets[0]);
        assert_eq!((&first.payload, first.marker), (&last.payload, last.marker));
        // The first packet of the key buffer is ours, not a dropped unit's.
        assert!(
            !first.flags.contains(gst::BufferFlags::DELTA_UNIT),
            "{element}"
        );
        assert_eq!(dropped_invalid(&ours), reserved as u64, "{element}");
    }
}

/// Item 5: `aggregate-mode=zero-latency` bundles the NAL units of each input buffer; the
/// bundle leaves at the end of a buffer once it holds a slice (C: one STAP-A/AP per buffer).
#[test]
fn zero_latency_bundles_each_input_buffer_as_c_does() {
    // Two nal-aligned byte-stream buffers of two IDR slices each, same PTS.
    let (a, b) = (idr(48, 1), idr(49, 2));
    let two_slices = buffer(&annexb(&[&a, &b]), 0, KEY);
    let nal_aligned = caps("video/x-h264,stream-format=byte-stream,alignment=nal");
    let input = [two_slices.clone(), two_slices];
    let (c, ours) = both(
        "rtph264pay aggregate-mode=zero-latency",
        &nal_aligned,
        &input,
    );
    assert_eq!(ours.packets, c.packets);
    assert_eq!(ours.packets.len(), 2);
    assert_eq!(ours.packets[0].payload.len() + 12, 114);
    assert_eq!(ours.packets[0].payload[0] & 0x1f, 24, "STAP-A");

    // Parameter sets in buffers of their own wait for the slice.
    let input = [
        buffer(&annexb(&[&SPS]), 0, KEY),
        buffer(&annexb(&[&PPS]), 0, KEY),
        buffer(&annexb(&[&a]), 0, KEY),
    ];
    let (c, ours) = both(
        "rtph264pay aggregate-mode=zero-latency",
        &nal_aligned,
        &input,
    );
    assert_eq!(ours.packets, c.packets);
    assert_eq!(ours.packets.len(), 1);

    // H.265: one AP per buffer (103-byte packets).
    let (a, b) = (idr265(42, 1), idr265(43, 2));
    let two_slices = buffer(&annexb(&[&a, &b]), 0, KEY);
    let input = [two_slices.clone(), two_slices];
    let nal_aligned = caps("video/x-h265,stream-format=byte-stream,alignment=nal");
    let (c, ours) = both(
        "rtph265pay aggregate-mode=zero-latency",
        &nal_aligned,
        &input,
    );
    assert_eq!(payloads(&ours), payloads(&c));
    assert_eq!(ours.packets.len(), 2);
    assert_eq!(ours.packets[0].payload.len() + 12, 103);
    assert_eq!(ours.packets[0].payload[0] >> 1, 48, "AP");

    // What sends a bundle first, in both aggregating modes: an access unit delimiter, a new
    // timestamp, a DISCONT buffer.
    let aud = [0x09u8, 0xf0];
    let nal_aligned = caps("video/x-h264,stream-format=byte-stream,alignment=nal");
    let input = [
        buffer(&annexb(&[&SPS, &PPS]), 0, KEY),
        buffer(&annexb(&[&aud]), 0, KEY),
        buffer(&annexb(&[&idr(30, 1)]), 0, KEY),
        buffer(&annexb(&[&aud, &slice(30, 2)]), 33, DELTA),
        buffer(&annexb(&[&slice(30, 3)]), 66, DELTA),
        buffer(
            &annexb(&[&slice(30, 4)]),
            66,
            DELTA | gst::BufferFlags::DISCONT,
        ),
    ];
    for mode in ["zero-latency", "max-stap"] {
        let (c, ours) = both(
            &format!("rtph264pay aggregate-mode={mode}"),
            &nal_aligned,
            &input,
        );
        assert_eq!(ours.packets, c.packets, "{mode}");
        assert!(ours.packets.len() >= 4, "{mode}");
    }

    // An avc access unit of two slices: one STAP-A with the marker.
    let avc = caps_with_codec_data("video/x-h264,stream-format=avc,alignment=au", avcc(4));
    let input = [buffer(
        &length_prefixed(&[&slice(30, 1), &slice(31, 2)], 4),
        0,
        DELTA,
    )];
    let (c, ours) = both("rtph264pay aggregate-mode=zero-latency", &avc, &input);
    assert_eq!(ours.packets, c.packets);
    assert_eq!(ours.packets.len(), 1);
    assert!(ours.packets[0].marker);
}

/// Item 6: a NAL unit that is only its header is sent, never trimmed into an error: the
/// H.265 end of sequence `48 00` is one 2-byte packet, from both.
#[test]
fn header_only_nal_unit_is_sent_as_c_does() {
    let caps265 = caps("video/x-h265,stream-format=byte-stream,alignment=au");
    let input = [
        buffer(&annexb(&[&VPS, &SPS265, &PPS265, &idr265(30, 1)]), 0, KEY),
        buffer(&[0, 0, 0, 1, 0x48, 0x00], 40, DELTA),
    ];
    let (c, ours) = both("rtph265pay", &caps265, &input);
    assert!(all_ok(&ours), "{:?}", ours.flows);
    let last = |o: &Outcome| o.packets.last().map(|p| (p.payload.clone(), p.marker));
    assert_eq!(last(&ours), Some((vec![0x48, 0x00], true)));
    assert_eq!(last(&ours), last(&c));
    assert_eq!(ours.packets.len(), c.packets.len());
    assert_eq!(dropped_invalid(&ours), 0);

    // H.264 avc: a 1-byte NAL unit (end of sequence, type 10) is a whole NAL unit.
    let avc = caps_with_codec_data("video/x-h264,stream-format=avc,alignment=au", avcc(4));
    let input = [buffer(
        &length_prefixed(&[&slice(20, 1), &[0x0a]], 4),
        0,
        DELTA,
    )];
    let (c, ours) = both("rtph264pay", &avc, &input);
    assert_eq!(ours.packets, c.packets);
    assert_eq!(ours.packets.len(), 2);
}

/// Item 6, bad input: an hvc1 NAL unit of 1 byte is shorter than the 2-byte H.265 header.
/// Ours drops and counts it and sends the rest (the push returns OK); the C element reads a
/// header byte past the unit. The slice after it goes out the same from both.
#[test]
fn nal_unit_shorter_than_its_header_is_a_counted_drop() {
    let hvc1 = caps_with_codec_data("video/x-h265,stream-format=hvc1,alignment=au", hvcc(4));
    let slice = trail265(25, 4);
    let input = [buffer(&length_prefixed(&[&[0x40], &slice], 4), 0, DELTA)];
    let (c, ours) = both("rtph265pay", &hvc1, &input);
    assert!(all_ok(&ours));
    assert_eq!(dropped_invalid(&ours), 1);
    assert_eq!(ours.packets.len(), 1);
    assert_eq!(ours.packets[0].payload, slice);
    let c_last = c.packets.last().expect("C sends the slice");
    assert_eq!((&c_last.payload, c_last.marker), (&slice, true));
}

/// Item 9: avcC/hvcC with lengthSizeMinusOne = 2 (3-byte NAL lengths) are accepted, as by C,
/// and the samples are split with 3-byte lengths.
#[test]
fn three_byte_nal_lengths_are_accepted_as_c_does() {
    let avc = caps_with_codec_data("video/x-h264,stream-format=avc,alignment=au", avcc(3));
    let input = [
        buffer(&length_prefixed(&[&idr(2000, 1)], 3), 0, KEY),
        buffer(
            &length_prefixed(&[&slice(30, 2), &slice(31, 3)], 3),
            33,
            DELTA,
        ),
    ];
    let (c, ours) = both("rtph264pay", &avc, &input);
    assert!(all_ok(&ours), "{:?}", ours.flows);
    assert_eq!(ours.packets, c.packets);
    assert_eq!(ours.packets.len(), 4);

    let hvc1 = caps_with_codec_data("video/x-h265,stream-format=hvc1,alignment=au", hvcc(3));
    let input = [
        buffer(&length_prefixed(&[&idr265(2000, 1)], 3), 0, KEY),
        buffer(&length_prefixed(&[&trail265(30, 2)], 3), 33, DELTA),
    ];
    let (c, ours) = both("rtph265pay", &hvc1, &input);
    assert!(all_ok(&ours), "{:?}", ours.flows);
    assert_eq!(payloads(&ours), payloads(&c));
    assert_eq!(ours.packets.len(), 3);
}

/// Closing note of issue 14, deliberately different: a length-prefixed buffer whose last
/// NAL length runs past its end. C sends the truncated unit; ours sends the complete units
/// before it and drops the broken one (counted), docs/migration.md.
#[test]
fn broken_nal_length_keeps_the_complete_units_before_it() {
    let avc = caps_with_codec_data("video/x-h264,stream-format=avc,alignment=au", avcc(4));
    let (a, b) = (slice(30, 1), slice(40, 2));
    let mut data = length_prefixed(&[&a, &b], 4);
    data.truncate(data.len() - 10);
    let (c, ours) = both("rtph264pay", &avc, &[buffer(&data, 0, DELTA)]);
    assert!(all_ok(&ours));
    assert_eq!(c.packets.len(), 2);
    assert_eq!(c.packets[1].payload, b[..30], "C: the truncated unit");
    assert_eq!(ours.packets.len(), 1);
    assert_eq!(ours.packets[0].payload, a);
    assert_eq!(dropped_invalid(&ours), 1);
}
