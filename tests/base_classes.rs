// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Behaviour of `RtpBasePay2` / `RtpBaseDepay2` that every subclass inherits, exercised
//! through the G.722 elements: negotiation of payload/ssrc/offsets with downstream caps, buffer
//! lists, RTP time from running time with 32-bit wrap and segment rate, force-key-unit events
//! going upstream, source-info, statistics and flushing.

use gst::prelude::*;

mod common;

use common::rtp_packet;

const G722_CAPS: &str = "audio/G722,rate=16000,channels=1";
const G722_RTP_CAPS: &str =
    "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9";

fn g722_buffer(pts_ms: u64, len: usize, fill: u8) -> gst::Buffer {
    let mut b = gst::Buffer::from_mut_slice(vec![fill; len]);
    {
        let b = b.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_mseconds(pts_ms));
        b.set_duration(gst::ClockTime::from_nseconds(len as u64 * 125_000));
    }
    b
}

fn pull_all(h: &mut gst_check::Harness) -> Vec<gst::Buffer> {
    let mut out = Vec::new();
    while let Some(b) = h.try_pull() {
        out.push(b);
    }
    out
}

#[test]
fn downstream_caps_fix_payload_ssrc_and_offsets() {
    common::init();
    let mut h = gst_check::Harness::new_parse(
        "rtpg722pay2 pt=96 ! capsfilter caps=\"application/x-rtp,payload=(int)101,ssrc=(uint)4660,\
         seqnum-offset=(uint)500,timestamp-offset=(uint)77\"",
    );
    h.set_src_caps_str(G722_CAPS);
    h.push(g722_buffer(0, 160, 1)).unwrap();
    h.push(g722_buffer(20, 160, 2)).unwrap();
    let out: Vec<common::RtpFields> = pull_all(&mut h).iter().map(common::rtp_fields).collect();
    assert_eq!(out.len(), 2);
    assert_eq!(
        (out[0].pt, out[0].ssrc, out[0].seq, out[0].timestamp),
        (101, 4660, 500, 77)
    );
    assert_eq!((out[1].seq, out[1].timestamp), (501, 77 + 160));
    let caps = h.sinkpad().unwrap().current_caps().unwrap();
    let s = caps.structure(0).unwrap();
    assert_eq!(s.get::<i32>("payload").unwrap(), 101);
    assert_eq!(s.get::<u32>("ssrc").unwrap(), 4660);
    assert_eq!(s.get::<u32>("timestamp-offset").unwrap(), 77);
    assert_eq!(s.get::<u32>("seqnum-offset").unwrap(), 500);
}

#[test]
fn properties_decide_when_downstream_does_not() {
    common::init();
    let mut h = gst_check::Harness::new("rtpg722pay2");
    let pay = h.element().unwrap();
    assert_eq!(pay.property::<u32>("pt"), 9, "static payload type of G.722");
    pay.set_property("pt", 100u32);
    pay.set_property("ssrc", 0x01020304u32);
    pay.set_property("seqnum-offset", 65535i32);
    pay.set_property("timestamp-offset", u32::MAX - 100);
    h.set_src_caps_str(G722_CAPS);
    for i in 0..3 {
        h.push(g722_buffer(20 * i, 160, i as u8)).unwrap();
    }
    let out: Vec<common::RtpFields> = pull_all(&mut h).iter().map(common::rtp_fields).collect();
    // Sequence numbers and timestamps wrap at 16 and 32 bits.
    let seqs: Vec<u16> = out.iter().map(|f| f.seq).collect();
    let tss: Vec<u32> = out.iter().map(|f| f.timestamp).collect();
    assert_eq!(seqs, vec![65535, 0, 1]);
    assert_eq!(tss, vec![u32::MAX - 100, 59, 219]);
    assert!(out.iter().all(|f| f.pt == 100 && f.ssrc == 0x01020304));
    assert_eq!(pay.property::<u32>("seqnum"), 1);
    assert_eq!(pay.property::<u32>("timestamp"), 219);
    let stats = pay.property::<gst::Structure>("stats");
    assert_eq!(stats.get::<u64>("packets-sent").unwrap(), 3);
    assert_eq!(stats.get::<u64>("bytes-sent").unwrap(), 480);
    assert_eq!(stats.get::<u32>("clock-rate").unwrap(), 8000);
    assert_eq!(stats.get::<u32>("ssrc").unwrap(), 0x01020304);
    assert_eq!(stats.get::<u32>("pt").unwrap(), 100);
}

#[test]
fn random_ssrc_and_offsets_by_default() {
    common::init();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..4 {
        let mut h = gst_check::Harness::new("rtpg722pay2");
        h.set_src_caps_str(G722_CAPS);
        h.push(g722_buffer(0, 160, 0)).unwrap();
        let f = common::rtp_fields(&h.pull().unwrap());
        seen.insert((f.ssrc, f.seq, f.timestamp));
    }
    assert!(
        seen.len() > 1,
        "SSRC, seqnum and timestamp offsets are random"
    );
}

/// Several packets from one input buffer leave as one buffer list, and never exceed the MTU.
#[test]
fn packets_from_one_input_are_one_buffer_list() {
    common::init();
    let mut h = gst_check::Harness::new("rtpg722pay2");
    h.element().unwrap().set_property("mtu", 100u32);
    h.set_src_caps_str(G722_CAPS);
    let lists = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let l = lists.clone();
    h.element().unwrap().static_pad("src").unwrap().add_probe(
        gst::PadProbeType::BUFFER_LIST | gst::PadProbeType::BUFFER,
        move |_, info| {
            match &info.data {
                Some(gst::PadProbeData::BufferList(list)) => l.lock().unwrap().push(list.len()),
                Some(gst::PadProbeData::Buffer(_)) => l.lock().unwrap().push(1),
                _ => {}
            }
            gst::PadProbeReturn::Ok
        },
    );
    // 100 ms of audio at once: 800 bytes, at most 88 bytes of payload per packet.
    h.push(g722_buffer(0, 800, 7)).unwrap();
    let out = pull_all(&mut h);
    assert!(out.iter().all(|b| b.size() <= 100));
    assert_eq!(out.iter().map(|b| b.size() - 12).sum::<usize>(), 800);
    // 20 ms (160 bytes) do not fit in an 88-byte payload: 10 packets of 80 bytes, one list.
    assert_eq!(out.len(), 10);
    assert_eq!(*lists.lock().unwrap(), vec![10]);
    assert!(out.len() > 1);
}

/// The payloader shares the input memory: the payload memory of an output packet points into
/// the input buffer's memory.
#[test]
fn payloader_does_not_copy_payload_bytes() {
    common::init();
    let mut h = gst_check::Harness::new("rtpg722pay2");
    h.set_src_caps_str(G722_CAPS);
    let input = g722_buffer(0, 160, 9);
    let input_ptr = input.map_readable().unwrap().as_ptr() as usize;
    h.push(input).unwrap();
    let out = h.pull().unwrap();
    assert_eq!(out.n_memory(), 2, "header memory + shared payload memory");
    let payload = out.peek_memory(1).map_readable().unwrap();
    assert_eq!(payload.as_ptr() as usize, input_ptr);
}

#[test]
fn rtp_time_follows_running_time_and_segment_rate() {
    common::init();
    for (scale, expected_ts) in [(true, 16000u32), (false, 8000)] {
        let mut h = gst_check::Harness::new("rtpg722pay2");
        let pay = h.element().unwrap();
        pay.set_property("timestamp-offset", 0u32);
        pay.set_property("scale-rtptime", scale);
        h.set_src_caps_str(G722_CAPS);
        let mut segment = gst::FormattedSegment::<gst::ClockTime>::new();
        segment.set_rate(2.0);
        h.push_event(gst::event::Segment::new(&segment));
        h.push(g722_buffer(0, 160, 0)).unwrap();
        // 1 s of media later: at rate 2 the running time is 0.5 s.
        h.push(g722_buffer(1000, 160, 0)).unwrap();
        let out = pull_all(&mut h);
        let second = common::rtp_fields(&out[1]);
        // perfect-rtptime counts samples between packets of one timeline; a 980 ms jump resyncs
        // to the running time: 0.5 s × 8000 with scaling, 1 s × 8000 without.
        let expected = if scale { 4000 } else { expected_ts };
        assert_eq!(second.timestamp, expected, "scale-rtptime={scale}");
    }
}

#[test]
fn force_key_unit_goes_upstream_through_payloader() {
    common::init();
    let mut h = gst_check::Harness::new("rtpg722pay2");
    h.set_src_caps_str(G722_CAPS);
    h.push(g722_buffer(0, 160, 0)).unwrap();
    let event = gst_video::UpstreamForceKeyUnitEvent::builder()
        .all_headers(true)
        .build();
    assert!(h.push_upstream_event(event));
    let mut got = false;
    while let Some(ev) = h.try_pull_upstream_event() {
        got |= gst_video::ForceKeyUnitEvent::is(&ev);
    }
    assert!(
        got,
        "force-key-unit event reached upstream of the payloader"
    );
}

/// `source-info`: the payloader writes the input's RTPSourceMeta as CSRCs, the depayloader
/// adds the received SSRC and CSRCs as RTPSourceMeta.
#[test]
fn source_info_both_ways() {
    common::init();
    let mut h = gst_check::Harness::new_parse(
        "rtpg722pay2 source-info=true ssrc=99 ! rtpg722depay2 source-info=true",
    );
    h.set_src_caps_str(G722_CAPS);
    let mut input = g722_buffer(0, 160, 3);
    gst_rtp::RTPSourceMeta::add(input.get_mut().unwrap(), Some(0xaaaa), &[0xbbbb, 0xcccc]);
    h.push(input).unwrap();
    let out = h.pull().unwrap();
    let meta = out
        .meta::<gst_rtp::RTPSourceMeta>()
        .expect("RTPSourceMeta on the output");
    assert_eq!(meta.ssrc(), Some(99));
    assert_eq!(meta.csrc(), &[0xaaaa, 0xbbbb, 0xcccc]);
}

#[test]
fn depayloader_flush_resets_and_marks_discont() {
    common::init();
    let mut h = gst_check::Harness::new("rtpg722depay2");
    h.set_src_caps_str(G722_RTP_CAPS);
    for seq in 10..13u16 {
        let mut b = gst::Buffer::from_mut_slice(rtp_packet(
            9,
            seq,
            u32::from(seq) * 160,
            5,
            false,
            &[1; 160],
        ));
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(u64::from(seq) * 20));
        h.push(b).unwrap();
    }
    assert_eq!(pull_all(&mut h).len(), 3);
    h.push_event(gst::event::FlushStart::new());
    h.push_event(gst::event::FlushStop::new(true));
    h.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::ClockTime,
    >::new()));
    // After a flush an old sequence number is a fresh start, not a late packet.
    let mut b = gst::Buffer::from_mut_slice(rtp_packet(9, 5, 800, 5, false, &[2; 160]));
    b.get_mut()
        .unwrap()
        .set_pts(gst::ClockTime::from_mseconds(0));
    h.push(b).unwrap();
    let out = pull_all(&mut h);
    assert_eq!(out.len(), 1);
    assert!(out[0].flags().contains(gst::BufferFlags::DISCONT));
    assert_eq!(out[0].pts(), Some(gst::ClockTime::ZERO));
}

/// An SSRC change or a jump beyond max-reorder resynchronises the depayloader.
#[test]
fn depayloader_resyncs_on_new_ssrc_and_restart() {
    common::init();
    let mut h = gst_check::Harness::new("rtpg722depay2");
    h.element().unwrap().set_property("max-reorder", 10i32);
    h.set_src_caps_str(G722_RTP_CAPS);
    let packets = [
        (1000u16, 1u32),
        (1001, 1),
        (1002, 2),
        (900, 2),
        (901, 2),
        (899, 2),
    ];
    for (i, (seq, ssrc)) in packets.iter().enumerate() {
        let mut b = gst::Buffer::from_mut_slice(rtp_packet(
            9,
            *seq,
            160 * i as u32,
            *ssrc,
            false,
            &[i as u8; 160],
        ));
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(20 * i as u64));
        h.push(b).unwrap();
    }
    let out = pull_all(&mut h);
    // 899 is only 2 behind 901: a late packet, dropped.
    assert_eq!(out.len(), 5);
    let stats = h.element().unwrap().property::<gst::Structure>("stats");
    assert_eq!(stats.get::<u64>("resyncs").unwrap(), 2, "{stats}");
    assert_eq!(stats.get::<u64>("dropped-late").unwrap(), 1, "{stats}");
    assert!(
        out[2].flags().contains(gst::BufferFlags::DISCONT),
        "new SSRC"
    );
    assert!(
        out[3].flags().contains(gst::BufferFlags::DISCONT),
        "sender restart"
    );
}

/// A buffer list goes through the batch header check: packets shorter than 12 bytes or not
/// version 2 are dropped and counted, the valid ones of the same list come out.
#[test]
fn depayloader_checks_buffer_lists_in_one_batch() {
    common::init();
    let mut h = gst_check::Harness::new("rtpg722depay2");
    h.set_src_caps_str(G722_RTP_CAPS);
    let mut list = gst::BufferList::new();
    {
        let list = list.get_mut().unwrap();
        for seq in 0..40u16 {
            let mut p = rtp_packet(9, seq, u32::from(seq) * 160, 1, false, &[seq as u8; 160]);
            match seq {
                10 => p.truncate(11),
                20 => p[0] = 0x40,
                _ => {}
            }
            list.add(gst::Buffer::from_mut_slice(p));
        }
    }
    h.element()
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .chain_list(list)
        .unwrap();
    let out = pull_all(&mut h);
    assert_eq!(out.len(), 38);
    let stats = h.element().unwrap().property::<gst::Structure>("stats");
    assert_eq!(stats.get::<u64>("dropped-invalid").unwrap(), 2, "{stats}");
}
