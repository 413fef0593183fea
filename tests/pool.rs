// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The payloaders' lock-free packet buffer pool: buffers come back through GStreamer's release
//! path and are reused (counted in `stats`), packets are the same bytes with and without the
//! pool, buffers held downstream are never touched, and buffers released from many threads at
//! once all come back. Also the depayloader's zero-copy output.

use std::time::Duration;

use gst::prelude::*;

mod common;

const G722_CAPS: &str = "audio/G722,rate=16000,channels=1";

fn g722_buffer(i: u64) -> gst::Buffer {
    let mut b = gst::Buffer::from_mut_slice(vec![(i % 251) as u8; 160]);
    {
        let b = b.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_mseconds(20 * i));
        b.set_duration(gst::ClockTime::from_mseconds(20));
    }
    b
}

/// Pushes `input` while holding a reference to it, as a `tee` upstream would: a payload
/// the payloader does not hold alone is appended to a pooled packet buffer. (An input the
/// payloader alone holds becomes the packet itself and needs no pooled buffer.)
fn push_shared(h: &mut gst_check::Harness, input: gst::Buffer) {
    let held = input.clone();
    h.push(input).unwrap();
    drop(held);
}

/// A flag and a meta that belong to an input buffer, not to what is made from it.
fn add_input_metadata(buffer: &mut gst::Buffer) {
    let b = buffer.get_mut().unwrap();
    b.set_flags(gst::BufferFlags::DELTA_UNIT);
    gst::meta::ReferenceTimestampMeta::add(
        b,
        &gst::Caps::new_empty_simple("timestamp/x-test"),
        gst::ClockTime::from_seconds(1),
        None,
    );
}

/// Addresses of a buffer and of its first memory, to tell whether an output is that buffer.
fn addresses(buffer: &gst::Buffer) -> (usize, usize) {
    (
        buffer.as_ptr() as usize,
        buffer.peek_memory(0).as_ptr() as usize,
    )
}

fn stat(element: &gst::Element, field: &str) -> u64 {
    element
        .property::<gst::Structure>("stats")
        .get::<u64>(field)
        .unwrap()
}

fn bytes(b: &gst::Buffer) -> Vec<u8> {
    b.map_readable().unwrap().to_vec()
}

/// Each packet dropped before the next is made: after the first, every packet reuses the
/// returned buffer; the bytes equal those made without the pool.
#[test]
fn returned_buffers_are_reused_and_packets_are_unchanged() {
    common::init();
    let mut packets = [Vec::new(), Vec::new()];
    for (i, use_pool) in [true, false].into_iter().enumerate() {
        let mut h = gst_check::Harness::new("rtpg722pay2");
        let pay = h.element().unwrap();
        pay.set_property("use-buffer-pool", use_pool);
        pay.set_property("ssrc", 5u32);
        pay.set_property("seqnum-offset", 100i32);
        pay.set_property("timestamp-offset", 7u32);
        h.set_src_caps_str(G722_CAPS);
        for n in 0..50 {
            push_shared(&mut h, g722_buffer(n));
            let out = h.pull().unwrap();
            packets[i].push(bytes(&out));
        }
        let (hits, misses) = (stat(&pay, "pool-hits"), stat(&pay, "pool-misses"));
        if use_pool {
            assert_eq!(hits + misses, 50);
            assert!(hits >= 48, "hits {hits}, misses {misses}");
            assert_eq!(stat(&pay, "pool-allocations-avoided"), hits);
        } else {
            assert_eq!(hits + misses, 0);
        }
    }
    assert_eq!(packets[0], packets[1]);
}

/// Downstream keeps every packet: the pool allocates (misses) and never rewrites a held
/// buffer; once released, the buffers come back and are reused.
#[test]
fn held_buffers_are_never_reused() {
    common::init();
    let mut h = gst_check::Harness::new("rtpg722pay2");
    let pay = h.element().unwrap();
    h.set_src_caps_str(G722_CAPS);
    let mut held = Vec::new();
    for n in 0..40 {
        push_shared(&mut h, g722_buffer(n));
        let out = h.pull().unwrap();
        let copy = bytes(&out);
        held.push((out, copy));
    }
    assert_eq!(stat(&pay, "pool-hits"), 0);
    assert_eq!(stat(&pay, "pool-misses"), 40);
    for (buffer, copy) in &held {
        assert_eq!(&bytes(buffer), copy, "a held packet was modified");
    }
    drop(held);
    assert_eq!(stat(&pay, "pool-returned"), 40);
    for n in 40..60 {
        push_shared(&mut h, g722_buffer(n));
        drop(h.pull().unwrap());
    }
    assert_eq!(stat(&pay, "pool-hits"), 20);
}

/// Downstream keeps a shallow copy (sharing the header memory) and drops the packet itself:
/// the buffer returns to the pool, but its header memory is never rewritten while the copy
/// lives.
#[test]
fn shared_header_memory_is_never_rewritten() {
    common::init();
    let mut h = gst_check::Harness::new("rtpg722pay2");
    h.set_src_caps_str(G722_CAPS);
    let mut copies = Vec::new();
    for n in 0..30 {
        push_shared(&mut h, g722_buffer(n));
        let out = h.pull().unwrap();
        let copy = out.copy();
        let expected = bytes(&copy);
        drop(out);
        copies.push((copy, expected));
    }
    for (copy, expected) in &copies {
        assert_eq!(
            &bytes(copy),
            expected,
            "a shared header memory was rewritten"
        );
    }
    // Distinct packets: each copy has its own sequence number.
    let seqnums: std::collections::BTreeSet<u16> = copies
        .iter()
        .map(|(_, b)| u16::from_be_bytes([b[2], b[3]]))
        .collect();
    assert_eq!(seqnums.len(), 30);
}

/// Packets released by several threads at once (as downstream streaming threads do) all
/// return to the pool; a live pipeline with a queue thread reuses buffers too.
#[test]
fn buffers_released_from_many_threads_come_back() {
    common::init();
    let mut h = gst_check::Harness::new("rtpg722pay2");
    let pay = h.element().unwrap();
    h.set_src_caps_str(G722_CAPS);
    let mut out = Vec::new();
    for n in 0..400 {
        push_shared(&mut h, g722_buffer(n));
        out.push(h.pull().unwrap());
    }
    let chunks: Vec<Vec<gst::Buffer>> = out.chunks(100).map(|c| c.to_vec()).collect();
    drop(out);
    let threads: Vec<_> = chunks
        .into_iter()
        .map(|chunk| std::thread::spawn(move || drop(chunk)))
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(stat(&pay, "pool-returned"), 400);
    for n in 400..450 {
        push_shared(&mut h, g722_buffer(n));
        drop(h.pull().unwrap());
    }
    assert!(stat(&pay, "pool-hits") >= 50);

    let pipeline = gst::parse::launch(
        "videotestsrc num-buffers=60 ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! x264enc speed-preset=ultrafast tune=zerolatency ! rtph264pay2 name=pay mtu=400 \
         ! queue ! fakesink sync=false",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let errors = common::run_to_eos(&pipeline, Duration::from_secs(30));
    assert!(errors.is_empty(), "{errors:?}");
    let pay = pipeline.by_name("pay").unwrap();
    assert!(
        stat(&pay, "pool-hits") > 100,
        "{}",
        pay.property::<gst::Structure>("stats")
    );
}

/// The depayloader does not copy single NAL units: the output memory points into the RTP
/// packet's memory.
#[test]
fn depayloader_output_shares_packet_memory() {
    common::init();
    let mut h = gst_check::Harness::new("rtph264depay2");
    h.set_src_caps_str(
        "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96",
    );
    let nal = [0x65u8, 0x88, 0x84, 0x00, 0x33, 0xff, 0x10, 0x20];
    let packet = gst::Buffer::from_mut_slice(common::rtp_packet(96, 1, 0, 1, true, &nal));
    let packet_range = {
        let map = packet.map_readable().unwrap();
        (map.as_ptr() as usize)..(map.as_ptr() as usize + map.len())
    };
    h.push(packet).unwrap();
    let out = h.pull().unwrap();
    let shared = out.iter_memories().any(|m| {
        let map = m.map_readable().unwrap();
        map.as_slice() == nal && packet_range.contains(&(map.as_ptr() as usize))
    });
    assert!(shared, "the NAL unit memory is shared with the packet");
}

/// A STAP-A packet spread over several memories (and held elsewhere too), one NAL unit
/// crossing the boundary: the access unit has exactly the sent bytes, and the unit inside one
/// memory is still shared.
#[test]
fn depayloader_handles_nal_units_across_packet_memories() {
    common::init();
    let mut h = gst_check::Harness::new("rtph264depay2");
    h.set_src_caps_str(
        "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96",
    );
    let sps = [0x67u8, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47, 0xfe, 0xc8];
    let idr = [0x65u8, 0x88, 0x84, 0x00, 0x33, 0xff, 0x10, 0x20, 0x30];
    let mut payload = vec![24u8]; // STAP-A
    for nal in [&sps[..], &idr[..]] {
        payload.extend((nal.len() as u16).to_be_bytes());
        payload.extend_from_slice(nal);
    }
    let raw = common::rtp_packet(96, 1, 0, 1, true, &payload);
    // Split in the middle of the SPS: memory 1 ends 4 bytes into it.
    let split = 12 + 1 + 2 + 4;
    let second = raw[split..].to_vec();
    let second_range = (second.as_ptr() as usize)..(second.as_ptr() as usize + second.len());
    let mut packet = gst::Buffer::from_mut_slice(raw[..split].to_vec());
    packet
        .get_mut()
        .unwrap()
        .append_memory(gst::Memory::from_mut_slice(second));
    // Held here too, as a jitterbuffer or tee would: mapping it cannot merge its memories in
    // place, so the depayloader must walk them.
    let held = packet.clone();
    h.push(packet).unwrap();
    let out = h.pull().unwrap();
    assert_eq!(held.n_memory(), 2);
    // (Mapping a writable multi-memory buffer merges it in place: map a second reference.)
    let out_ref = out.clone();
    let mut expected = vec![0, 0, 0, 1];
    expected.extend_from_slice(&sps);
    expected.extend_from_slice(&[0, 0, 0, 1]);
    expected.extend_from_slice(&idr);
    assert_eq!(bytes(&out_ref), expected);
    let shared = out.iter_memories().any(|m| {
        let map = m.map_readable().unwrap();
        map.as_slice() == idr && second_range.contains(&(map.as_ptr() as usize))
    });
    assert!(
        shared,
        "the IDR unit memory is shared with the packet's second memory"
    );
}

/// Audio depayloaders output the packet buffer itself with the RTP header cut off: the
/// output's memory is the packet's (same bytes in place), with none of the packet's flags
/// and only its allowed metas; a packet someone else still holds is left whole.
#[test]
fn audio_depayloader_outputs_the_packet_buffer_itself() {
    common::init();
    let mut h = gst_check::Harness::new("rtpg722depay2");
    h.set_src_caps_str(
        "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9",
    );
    let payload: Vec<u8> = (0..160u8).collect();
    let packet_at = |seq: u16| {
        let mut b = gst::Buffer::from_mut_slice(common::rtp_packet(
            9,
            seq,
            u32::from(seq) * 160,
            7,
            false,
            &payload,
        ));
        add_input_metadata(&mut b);
        b
    };

    // Sole holder: the output is the packet's memory, 12 bytes in.
    let packet = packet_at(1);
    let data_at = packet.map_readable().unwrap().as_ptr() as usize;
    let (buffer_at, memory_at) = addresses(&packet);
    h.push(packet).unwrap();
    let out = h.pull().unwrap();
    assert_eq!(out.as_ptr() as usize, buffer_at, "a new buffer was made");
    assert_eq!(out.n_memory(), 1);
    assert_eq!(
        out.peek_memory(0).as_ptr() as usize,
        memory_at,
        "a new memory was made"
    );
    {
        let map = out.map_readable().unwrap();
        assert_eq!(map.as_slice(), &payload[..]);
        assert_eq!(map.as_ptr() as usize, data_at + 12, "payload not in place");
    }
    // The packet's flags do not reach the output; its untagged meta does, once (the C
    // rtpg722depay keeps untagged and audio metas: gst_rtp_drop_non_audio_meta).
    assert!(!out.flags().contains(gst::BufferFlags::DELTA_UNIT));
    assert_eq!(
        out.iter_meta::<gst::meta::ReferenceTimestampMeta>().count(),
        1
    );
    assert_eq!(out.duration(), Some(gst::ClockTime::from_mseconds(20)));

    // Held elsewhere too: the output has the payload, the held packet keeps its header.
    let packet = packet_at(2);
    let held = packet.clone();
    let held_bytes = bytes(&held);
    h.push(packet).unwrap();
    let out = h.pull().unwrap();
    assert_eq!(bytes(&out), payload);
    assert_eq!(bytes(&held), held_bytes);
    assert_eq!(held.size(), 12 + 160);
    assert!(held.meta::<gst::meta::ReferenceTimestampMeta>().is_some());

    // Packets of a buffer list become outputs the same way.
    let (third, fourth) = (packet_at(3), packet_at(4));
    let at = [third.as_ptr() as usize, fourth.as_ptr() as usize];
    let mut list = gst::BufferList::new();
    list.get_mut().unwrap().add(third);
    list.get_mut().unwrap().add(fourth);
    h.srcpad().unwrap().push_list(list).unwrap();
    for expected in at {
        let out = h.pull().unwrap();
        assert_eq!(
            out.as_ptr() as usize,
            expected,
            "a list packet was not reused"
        );
        assert_eq!(bytes(&out), payload);
    }
}

/// An audio input the payloader alone holds becomes the packet: the same buffer, the RTP
/// header memory in front of the input's own memory, none of the input's flags, nor its
/// metas that are not copied to packets (a clipping meta has the tags "audio" and "rate":
/// not copied, as in C; metas that are copied keep the input for them, see
/// tests/pay_relation.rs).
#[test]
fn audio_payloader_input_becomes_the_packet() {
    common::init();
    let mut h = gst_check::Harness::new("rtpg722pay2");
    h.set_src_caps_str(G722_CAPS);
    let mut input = g722_buffer(0);
    {
        let b = input.get_mut().unwrap();
        b.set_flags(gst::BufferFlags::DELTA_UNIT);
        gst_audio::AudioClippingMeta::add(
            b,
            gst::format::Default::from_u64(1),
            gst::format::Default::from_u64(1),
        );
    }
    let (buffer_at, memory_at) = addresses(&input);
    h.push(input).unwrap();
    let out = h.pull().unwrap();
    assert_eq!(out.as_ptr() as usize, buffer_at, "a new buffer was made");
    assert_eq!(out.n_memory(), 2);
    assert_eq!(out.peek_memory(1).as_ptr() as usize, memory_at);
    assert!(!out.flags().contains(gst::BufferFlags::DELTA_UNIT));
    assert!(out.meta::<gst_audio::AudioClippingMeta>().is_none());
    let packet = bytes(&out.clone());
    assert_eq!(packet.len(), 12 + 160);
    assert_eq!(packet[0], 0x80);
    assert_eq!(packet[1] & 0x7f, 9);
    assert_eq!(&packet[12..], &[0u8; 160][..]);
}

/// With the C `rtphdrexttwcc` on `rtph264pay2` (as on every WebRTC stream), the header and
/// its RFC 8285 block are written in place into the pooled header memory: at least 95% of the
/// packets reuse a returned buffer and none is discarded; every packet carries the
/// transport-wide sequence number.
#[test]
fn pool_is_reused_with_a_header_extension() {
    common::init();
    let twcc = gst::ElementFactory::make("rtphdrexttwcc")
        .build()
        .expect("rtphdrexttwcc (gst-plugins-good rtpmanager) is not installed")
        .downcast::<gst_rtp::RTPHeaderExtension>()
        .unwrap();
    gst_rtp::prelude::RTPHeaderExtensionExt::set_id(&twcc, 3);
    let pay = gst::ElementFactory::make("rtph264pay2")
        .property("mtu", 1200u32)
        .build()
        .unwrap();
    pay.emit_by_name::<()>("add-extension", &[&twcc]);
    let mut h = gst_check::Harness::with_element(&pay, Some("sink"), Some("src"));
    h.set_src_caps_str("video/x-h264,stream-format=byte-stream,alignment=au");
    let mut packets = 0u64;
    for i in 0..50u64 {
        // One 3000-byte slice: three FU-A packets.
        let mut data = vec![0, 0, 0, 1, 0x41];
        data.extend(std::iter::repeat_n((i % 250) as u8 + 1, 2999));
        let mut input = gst::Buffer::from_mut_slice(data);
        input
            .get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(40 * i));
        h.push(input).unwrap();
        while let Some(out) = h.try_pull() {
            // (A second reference: mapping a writable buffer would merge its memories.)
            let out = out.clone();
            let map = out.map_readable().unwrap();
            let rtp = rtp2_core::rtp::RtpPacket::parse(map.as_slice()).unwrap();
            let (profile, _) = rtp.extension().expect("twcc extension on every packet");
            assert_eq!(profile, 0xBEDE);
            packets += 1;
        }
    }
    assert_eq!(packets, 150);
    let hits = stat(&pay, "pool-hits");
    let discarded = stat(&pay, "pool-discarded");
    assert!(
        hits * 100 >= packets * 95,
        "{hits} of {packets} packets reused a pooled buffer: {}",
        pay.property::<gst::Structure>("stats")
    );
    assert_eq!(discarded, 0);
}
