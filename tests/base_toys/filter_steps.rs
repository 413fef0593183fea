// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The filter base's contracts, through the toy XOR FEC encoder.

use gst::prelude::*;

use super::*;

use toy_filter::{DROP_PT, FEC_PT, FEC_SSRC, RECOVERED, REMARK_PT};

const MEDIA_SSRC: u32 = 0x22;
/// Payload type of a step whose packet is made not RTP (version 1).
const NOT_RTP: u8 = 255;
const OTHER_SSRC: u32 = 0x33;

/// One input packet (SSRC, payload type, seqnum, timestamp, payload) and the packets right
/// after it.
struct FilterStep {
    ssrc: u32,
    pt: u8,
    seq: u16,
    ts: u32,
    payload: &'static [u8],
    out: &'static [Pkt],
}

const fn media(seq: u16, ts: u32, payload: &'static [u8]) -> Pkt {
    Pkt {
        ssrc: MEDIA_SSRC,
        pt: 96,
        seq,
        ts,
        marker: false,
        discont: false,
        payload,
    }
}

const fn fec(ssrc: u32, seq: u16, ts: u32, payload: &'static [u8]) -> Pkt {
    Pkt {
        ssrc,
        pt: FEC_PT,
        seq,
        ts,
        marker: false,
        discont: false,
        payload,
    }
}

const fn step(
    ssrc: u32,
    pt: u8,
    seq: u16,
    ts: u32,
    payload: &'static [u8],
    out: &'static [Pkt],
) -> FilterStep {
    FilterStep {
        ssrc,
        pt,
        seq,
        ts,
        payload,
        out,
    }
}

/// FEC on its own SSRC and sequence numbers (from 65534, wrapping); media unchanged.
#[rustfmt::skip]
const SEPARATE_STEPS: &[FilterStep] = &[
    step(MEDIA_SSRC, 96, 100, 1000, &[1, 2, 3], &[media(100, 1000, &[1, 2, 3])]),
    // The FEC payload names the first protected packet's seqnum (100) as the base class
    // reported it to the subclass.
    step(MEDIA_SSRC, 96, 101, 1001, &[4, 5], &[
        media(101, 1001, &[4, 5]),
        fec(FEC_SSRC, 65534, 1001, &[0, 100, 2, 1 ^ 4, 2 ^ 5, 3]),
    ]),
    // Consumed by the subclass.
    step(MEDIA_SSRC, DROP_PT, 102, 1002, &[9], &[]),
    // Another SSRC, interleaved: tracked on its own (no loss, no resync of the media).
    step(OTHER_SSRC, DROP_PT, 5000, 7, &[1], &[]),
    // Bad input for the subclass: counted, no output.
    step(MEDIA_SSRC, 96, 103, 1003, &[], &[]),
    // Not RTP: dropped by the base class (no seqnum taken from it).
    step(MEDIA_SSRC, NOT_RTP, 104, 1004, &[9], &[]),
    step(OTHER_SSRC, DROP_PT, 5001, 8, &[1], &[]),
    step(MEDIA_SSRC, 96, 104, 1004, &[9], &[media(104, 1004, &[9])]),
    // A duplicate: dropped by the base class before the subclass sees it.
    step(MEDIA_SSRC, 96, 104, 1004, &[9], &[]),
    // 105 lost: counted; the media passes with its own seqnum, the gap stays.
    step(MEDIA_SSRC, 96, 106, 1006, &[7, 7], &[
        media(106, 1006, &[7, 7]),
        fec(FEC_SSRC, 65535, 1006, &[0, 104, 2, 9 ^ 7, 7]),
    ]),
    step(MEDIA_SSRC, 96, 107, 1007, &[1], &[media(107, 1007, &[1])]),
    // Header rewritten (marker, timestamp + 1), same seqnum, payload shared.
    step(MEDIA_SSRC, REMARK_PT, 108, 1008, &[5], &[
        Pkt { pt: REMARK_PT, marker: true, ..media(108, 1009, &[5]) },
        fec(FEC_SSRC, 0, 1008, &[0, 107, 2, 1 ^ 5]),
    ]),
];

/// FEC inside the media stream: the media is renumbered around the FEC packets.
#[rustfmt::skip]
const INBAND_STEPS: &[FilterStep] = &[
    step(MEDIA_SSRC, 96, 100, 1000, &[1, 2, 3], &[media(100, 1000, &[1, 2, 3])]),
    step(MEDIA_SSRC, 96, 101, 1001, &[4, 5], &[
        media(101, 1001, &[4, 5]),
        fec(MEDIA_SSRC, 102, 1001, &[0, 100, 2, 1 ^ 4, 2 ^ 5, 3]),
    ]),
    step(MEDIA_SSRC, 96, 102, 1002, &[6], &[media(103, 1002, &[6])]),
    // 103 lost: the gap stays a gap after renumbering (104 → 105, not 104).
    step(MEDIA_SSRC, 96, 104, 1004, &[7], &[
        media(105, 1004, &[7]),
        fec(MEDIA_SSRC, 106, 1004, &[0, 103, 2, 6 ^ 7]),
    ]),
    step(MEDIA_SSRC, 96, 105, 1005, &[8], &[media(107, 1005, &[8])]),
];

/// Runs `steps` through the toy FEC encoder; returns its stats after EOS, whose output
/// must be `eos`, and the number of warning messages it posted. Checks that every media packet whose header is unchanged is the input
/// buffer itself and that a renumbered one shares the input's payload memory.
fn run_filter(
    props: &[(&str, bool)],
    steps: &[FilterStep],
    eos: &[Pkt],
) -> (gst::Structure, usize) {
    init();
    let filter = gst::ElementFactory::make("rtp2toyfec").build().unwrap();
    for (name, value) in props {
        filter.set_property(name, value);
    }
    let bus = gst::Bus::new();
    filter.set_bus(Some(&bus));
    let mut h = gst_check::Harness::with_element(&filter, Some("sink"), Some("src"));
    h.play();
    h.set_src_caps_str(TOY_RTP_CAPS);
    for (i, step) in steps.iter().enumerate() {
        let mut bytes = rtp_packet(step.pt, step.seq, step.ts, step.ssrc, false, step.payload);
        if step.pt == NOT_RTP {
            bytes[0] = 0x40;
        }
        let input = gst::Buffer::from_mut_slice(bytes);
        let input_payload = input.map_readable().unwrap().as_ptr() as usize + 12;
        h.push(input.clone()).unwrap();
        let got = pull_all(&mut h);
        check_packets(i, &got, step.out);
        // The media packets (not recovered ones): the input buffer itself when the header is
        // unchanged, else a new header before the input's payload memory.
        for out in got
            .iter()
            .filter(|b| rtp_fields(b).pt != FEC_PT && rtp_fields(b).payload != [RECOVERED])
        {
            // Copied out, not mapped: mapping a buffer of several memories merges them.
            let mut header = [0u8; 12];
            out.copy_to_slice(0, &mut header).unwrap();
            if header[..] == input.map_readable().unwrap()[..12] {
                assert_eq!(
                    out.as_ptr(),
                    input.as_ptr(),
                    "step {i}: forwarded zero-copy"
                );
            } else {
                let payload = out.peek_memory(out.n_memory() - 1);
                let at = payload.map_readable().unwrap().as_ptr() as usize;
                assert_eq!(
                    at, input_payload,
                    "step {i}: rewritten packet shares the payload"
                );
            }
        }
    }
    h.push_event(gst::event::Eos::new());
    check_packets(steps.len(), &pull_all(&mut h), eos);
    let warnings = std::iter::from_fn(|| bus.pop_filtered(&[gst::MessageType::Warning])).count();
    (filter.property::<gst::Structure>("stats"), warnings)
}

#[test]
fn toy_filter_passes_drops_and_emits_fec_on_its_own_ssrc() {
    // The FEC seqnum wrapped to 0 at the last step; EOS has nothing left to protect.
    let (stats, warnings) = run_filter(&[("inband", false)], SEPARATE_STEPS, &[]);
    assert_eq!(stat(&stats, "packets-received"), 11, "{stats}");
    assert_eq!(stat(&stats, "packets-lost"), 1, "{stats}");
    assert_eq!(stat(&stats, "dropped-late"), 1, "{stats}");
    assert_eq!(stat(&stats, "dropped-invalid"), 1, "{stats}");
    assert_eq!(stat(&stats, "dropped-payload"), 1, "{stats}");
    assert_eq!(stat(&stats, "resyncs"), 0, "{stats}");
    assert_eq!(stat(&stats, "packets-forwarded"), 5, "{stats}");
    assert_eq!(stat(&stats, "packets-rewritten"), 1, "{stats}");
    assert_eq!(stat(&stats, "packets-emitted"), 3, "{stats}");
    assert_eq!(stat(&stats, "packets-consumed"), 3, "{stats}");
    assert_eq!(stat(&stats, "packets-pushed"), 9, "{stats}");
    // Two bad inputs within a second: one element warning (rate-limited), none for loss.
    assert_eq!(warnings, 1);
}

#[test]
fn toy_filter_inserts_fec_into_the_media_seqnum_space() {
    let (stats, warnings) = run_filter(
        &[("inband", true)],
        INBAND_STEPS,
        &[fec(MEDIA_SSRC, 108, 1005, &[0, 107, 1, 8])],
    );
    assert_eq!(stat(&stats, "packets-lost"), 1, "{stats}");
    assert_eq!(stat(&stats, "packets-forwarded"), 2, "{stats}");
    assert_eq!(stat(&stats, "packets-rewritten"), 3, "{stats}");
    assert_eq!(stat(&stats, "packets-emitted"), 3, "{stats}");
    assert_eq!(stat(&stats, "packets-consumed"), 0, "{stats}");
    assert_eq!(warnings, 0, "loss is not bad input");
}

/// A buffer list goes through the same steps as single buffers and leaves as one push.
#[test]
fn toy_filter_handles_a_buffer_list() {
    init();
    let mut h = gst_check::Harness::new("rtp2toyfec");
    h.play();
    h.set_src_caps_str(TOY_RTP_CAPS);
    let mut list = gst::BufferList::new();
    for s in &SEPARATE_STEPS[..2] {
        let p = rtp_packet(s.pt, s.seq, s.ts, s.ssrc, false, s.payload);
        list.get_mut().unwrap().add(gst::Buffer::from_mut_slice(p));
    }
    let src = h.srcpad().unwrap().clone();
    assert_eq!(src.push_list(list), Ok(gst::FlowSuccess::Ok));
    let want: Vec<&Pkt> = SEPARATE_STEPS[..2].iter().flat_map(|s| s.out).collect();
    let got = pull_all(&mut h);
    assert_eq!(got.len(), want.len());
    for (i, (b, w)) in got.iter().zip(want).enumerate() {
        check_packets(i, std::slice::from_ref(b), std::slice::from_ref(w));
    }
}

/// Caps pass through by default; a flush drops what the subclass held and the input
/// history (a jump after it is neither loss nor a restart).
#[test]
fn toy_filter_forwards_caps_and_forgets_on_flush() {
    init();
    let mut h = gst_check::Harness::new("rtp2toyfec");
    let filter = h.element().unwrap();
    h.play();
    h.set_src_caps_str(TOY_RTP_CAPS);
    let push = |h: &mut gst_check::Harness, seq: u16, payload: &[u8]| {
        let p = rtp_packet(96, seq, 1000, MEDIA_SSRC, false, payload);
        h.push(gst::Buffer::from_mut_slice(p)).unwrap();
        pull_all(h)
    };
    assert_eq!(push(&mut h, 100, &[1]).len(), 1);
    assert_eq!(
        h.sinkpad().unwrap().current_caps().unwrap(),
        TOY_RTP_CAPS.parse::<gst::Caps>().unwrap()
    );
    assert!(h.push_event(gst::event::FlushStart::new()));
    assert!(h.push_event(gst::event::FlushStop::new(true)));
    // A flush that resets time is followed by a new segment, as upstream sends it.
    let segment = gst::FormattedSegment::<gst::ClockTime>::new();
    assert!(h.push_event(gst::event::Segment::new(&segment)));
    assert_eq!(push(&mut h, 30000, &[2]).len(), 1);
    let out = push(&mut h, 30001, &[4]);
    check_packets(
        0,
        &out,
        &[
            media(30001, 1000, &[4]),
            fec(FEC_SSRC, 65534, 1000, &[0x75, 0x30, 2, 2 ^ 4]),
        ],
    );
    let stats = filter.property::<gst::Structure>("stats");
    assert_eq!(stat(&stats, "packets-lost"), 0, "{stats}");
    assert_eq!(stat(&stats, "resyncs"), 0, "{stats}");
}

/// The shape rtpbin expects of an FEC encoder: the toy, handed out by `request-fec-encoder`,
/// is linked by its `sink` and `src` pads (after the session's send path); its FEC stream
/// (own SSRC, same pad) leaves `send_rtp_src_0` beside the media, and EOS goes through.
#[test]
fn toy_filter_works_as_rtpbin_fec_encoder() {
    init();
    let pipeline = gst::Pipeline::new();
    let src = gst_app::AppSrc::builder()
        .caps(&TOY_RTP_CAPS.parse::<gst::Caps>().unwrap())
        .format(gst::Format::Time)
        .build();
    let rtpbin = gst::ElementFactory::make("rtpbin")
        .build()
        .expect("rtpbin (gst-plugins-good rtpmanager) is not installed");
    let sink = gst_app::AppSink::builder().sync(false).build();
    rtpbin.connect("request-fec-encoder", false, |_| {
        Some(
            gst::ElementFactory::make("rtp2toyfec")
                .build()
                .unwrap()
                .to_value(),
        )
    });
    pipeline
        .add_many([src.upcast_ref(), &rtpbin, sink.upcast_ref()])
        .unwrap();
    src.link_pads(Some("src"), &rtpbin, Some("send_rtp_sink_0"))
        .unwrap();
    rtpbin
        .link_pads(Some("send_rtp_src_0"), &sink, Some("sink"))
        .unwrap();
    for i in 0..6u16 {
        let p = rtp_packet(96, 100 + i, 8 * u32::from(i), MEDIA_SSRC, false, &[i as u8]);
        let mut b = gst::Buffer::from_mut_slice(p);
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(u64::from(i)));
        src.push_buffer(b).unwrap();
    }
    src.end_of_stream().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut ssrcs = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(1)) {
        ssrcs.push(rtp_fields(&sample.buffer_owned().unwrap()).ssrc);
        assert!(std::time::Instant::now() < deadline, "no EOS within 10 s");
    }
    assert!(sink.is_eos(), "the stream reached EOS");
    pipeline.set_state(gst::State::Null).unwrap();
    let media = ssrcs.iter().filter(|s| **s == MEDIA_SSRC).count();
    let fec = ssrcs.iter().filter(|s| **s == FEC_SSRC).count();
    assert_eq!((media, fec), (6, 3), "{ssrcs:x?}");
}

/// A packet the subclass recovers goes out with the header it gives (its own sequence number,
/// here across the 16-bit wrap), before the packet being handled, on no output stream.
#[rustfmt::skip]
const RECOVER_STEPS: &[FilterStep] = &[
    step(MEDIA_SSRC, 96, 65534, 1000, &[1], &[media(65534, 1000, &[1])]),
    step(MEDIA_SSRC, 96, 65535, 1001, &[2], &[
        media(65535, 1001, &[2]),
        fec(FEC_SSRC, 65534, 1001, &[0xff, 0xfe, 2, 1 ^ 2]),
    ]),
    // 0 lost: recovered before 1.
    step(MEDIA_SSRC, 96, 1, 1003, &[3], &[
        media(0, 1002, &[RECOVERED]),
        media(1, 1003, &[3]),
    ]),
];

#[test]
fn toy_filter_sends_a_recovered_packet_with_its_own_seqnum() {
    let (stats, _) = run_filter(
        &[("recover", true)],
        RECOVER_STEPS,
        &[fec(FEC_SSRC, 65535, 1003, &[0, 1, 1, 3])],
    );
    assert_eq!(stat(&stats, "packets-recovered"), 1, "{stats}");
    assert_eq!(stat(&stats, "packets-emitted"), 2, "{stats}");
    assert_eq!(stat(&stats, "packets-lost"), 1, "{stats}");
}

/// A writable input (nothing else holds it, as from a socket) that goes out renumbered is
/// rewritten in place: the same memory, its header patched, no copy; the packets are the
/// ones the step table expects either way.
#[test]
fn toy_filter_rewrites_a_writable_input_in_place() {
    init();
    let filter = gst::ElementFactory::make("rtp2toyfec")
        .property("inband", true)
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&filter, Some("sink"), Some("src"));
    h.play();
    h.set_src_caps_str(TOY_RTP_CAPS);
    let mut in_place = 0;
    for (i, step) in INBAND_STEPS.iter().enumerate() {
        let bytes = rtp_packet(step.pt, step.seq, step.ts, step.ssrc, false, step.payload);
        let input = gst::Buffer::from_mut_slice(bytes);
        let at = input.map_readable().unwrap().as_ptr() as usize;
        h.push(input).unwrap();
        let got = pull_all(&mut h);
        check_packets(i, &got, step.out);
        let media = got.iter().find(|b| rtp_fields(b).pt != FEC_PT).unwrap();
        if rtp_fields(media).seq != step.seq {
            assert_eq!(media.n_memory(), 1, "step {i}");
            assert_eq!(
                media.map_readable().unwrap().as_ptr() as usize,
                at,
                "step {i}: rewritten in place"
            );
            in_place += 1;
        }
    }
    assert_eq!(in_place, 3, "three packets renumbered");
}
