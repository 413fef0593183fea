// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Which inputs a payloader packet comes from: header extensions are written from the first
//! input of the packet (also for packets drained at EOS or at a configuration change), the
//! input's DISCONT reaches the first packet made from it, and metas allowed for the media
//! type are copied. The extension is the real C `rtphdrextclientaudiolevel` (RFC 6464).

use gst::prelude::*;
use gst_rtp::prelude::*;

mod common;

const LEVEL_ID: u8 = 1;

fn audio_level_ext() -> gst_rtp::RTPHeaderExtension {
    let ext = gst::ElementFactory::make("rtphdrextclientaudiolevel")
        .build()
        .expect("rtphdrextclientaudiolevel (gst-plugins-good rtpmanager) is not installed")
        .downcast::<gst_rtp::RTPHeaderExtension>()
        .unwrap();
    ext.set_id(u32::from(LEVEL_ID));
    ext
}

/// A harness around `factory` with the audio level extension.
fn harness(factory: &str, props: &[(&str, &str)]) -> gst_check::Harness {
    common::init();
    let pay = gst::ElementFactory::make(factory).build().unwrap();
    for (name, value) in props {
        pay.set_property_from_str(name, value);
    }
    pay.emit_by_name::<()>("add-extension", &[&audio_level_ext()]);
    gst_check::Harness::with_element(&pay, Some("sink"), Some("src"))
}

fn input(data: Vec<u8>, pts_ms: u64, level: u8) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_mut_slice(data);
    {
        let b = buffer.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_mseconds(pts_ms));
        gst_audio::AudioLevelMeta::add(b, level, false);
    }
    buffer
}

/// The audio level byte of an RTP packet (parsed from the RFC 8285 block by rtp2-core's
/// reader, independent of the writer), or `None` without an extension block (X bit 0).
fn level_of(packet: &gst::Buffer) -> Option<u8> {
    let map = packet.map_readable().unwrap();
    let rtp = rtp2_core::rtp::RtpPacket::parse(map.as_slice()).unwrap();
    let (profile, data) = rtp.extension()?;
    rtp2_core::hdrext::parse_elements(profile, data)
        .ok()?
        .filter_map(Result::ok)
        .find(|e| e.id == LEVEL_ID)
        .map(|e| e.data[0] & 0x7f)
}

fn pull_all(h: &mut gst_check::Harness) -> Vec<gst::Buffer> {
    std::iter::from_fn(|| h.try_pull()).collect()
}

/// H.264 byte stream of one non-IDR slice NAL unit (type 1) of `len` bytes.
fn slice_nal(len: usize, fill: u8) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 1, 0x41];
    v.extend(std::iter::repeat_n(fill, len - 1));
    v
}

const H264_NAL_CAPS: &str = "video/x-h264,stream-format=byte-stream,alignment=nal";

/// G.722 (20 ms packets by default): two 10 ms inputs with levels 10 and 11 make one packet,
/// which carries the first input's level; the half packet drained at EOS carries its own
/// input's level.
#[test]
fn audio_packet_carries_first_input_level_and_eos_drain_has_extension() {
    let mut h = harness("rtpg722pay2", &[("min-ptime", "20000000")]);
    h.set_src_caps_str("audio/G722,rate=16000,channels=1");
    h.push(input(vec![1; 80], 0, 10)).unwrap();
    h.push(input(vec![2; 80], 10, 11)).unwrap();
    let out = pull_all(&mut h);
    assert_eq!(out.len(), 1, "two 10 ms inputs make one 20 ms packet");
    assert_eq!(level_of(&out[0]), Some(10), "level of the first input");
    h.push(input(vec![3; 80], 20, 12)).unwrap();
    assert!(h.try_pull().is_none(), "half a packet is held");
    h.push_event(gst::event::Eos::new());
    let out = pull_all(&mut h);
    assert_eq!(out.len(), 1, "EOS drains the held half packet");
    assert_eq!(
        level_of(&out[0]),
        Some(12),
        "EOS-drained packet has the extension"
    );
}

/// H.264, NAL alignment, aggregate-mode=max: two small slices of one access unit (levels 10
/// and 11) wait for aggregation; EOS drains them as one STAP-A carrying level 10.
#[test]
fn h264_eos_drained_stap_carries_first_input_level() {
    let mut h = harness("rtph264pay2", &[("aggregate-mode", "max-stap")]);
    h.set_src_caps_str(H264_NAL_CAPS);
    h.push(input(slice_nal(20, 1), 0, 10)).unwrap();
    h.push(input(slice_nal(20, 2), 0, 11)).unwrap();
    assert!(h.try_pull().is_none(), "held for aggregation");
    h.push_event(gst::event::Eos::new());
    let out = pull_all(&mut h);
    assert_eq!(out.len(), 1);
    let map = out[0].map_readable().unwrap();
    let rtp = rtp2_core::rtp::RtpPacket::parse(map.as_slice()).unwrap();
    assert_eq!(rtp.payload()[0] & 0x1f, 24, "STAP-A");
    drop(map);
    assert_eq!(level_of(&out[0]), Some(10));
}

/// Units held for aggregation leave when the MTU changes (a configuration change): written
/// against their own input (level 10), not an empty buffer; the next input's packet has its
/// own level.
#[test]
fn h264_config_change_drain_uses_own_input() {
    let mut h = harness("rtph264pay2", &[("aggregate-mode", "max-stap")]);
    h.set_src_caps_str(H264_NAL_CAPS);
    h.push(input(slice_nal(20, 1), 0, 10)).unwrap();
    h.push(input(slice_nal(20, 2), 0, 11)).unwrap();
    assert!(h.try_pull().is_none(), "held for aggregation");
    h.element().unwrap().set_property("mtu", 600u32);
    let mut last = input(slice_nal(20, 3), 40, 12);
    last.get_mut().unwrap().set_flags(gst::BufferFlags::MARKER);
    h.push(last).unwrap();
    let out = pull_all(&mut h);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(level_of(&out[0]), Some(10), "drained at the config change");
    assert_eq!(level_of(&out[1]), Some(12));
}

/// A DISCONT input: its first packet has DISCONT, the later ones do not.
#[test]
fn input_discont_reaches_first_packet() {
    let mut h = harness("rtph264pay2", &[("mtu", "200")]);
    h.set_src_caps_str("video/x-h264,stream-format=byte-stream,alignment=au");
    for (i, discont) in [(0u64, false), (1, true)] {
        let mut b = input(slice_nal(500, 1), 40 * i, 10);
        if discont {
            b.get_mut().unwrap().set_flags(gst::BufferFlags::DISCONT);
        }
        h.push(b).unwrap();
        let out = pull_all(&mut h);
        assert!(out.len() > 2);
        let flags: Vec<bool> = out
            .iter()
            .map(|b| b.flags().contains(gst::BufferFlags::DISCONT))
            .collect();
        let mut expected = vec![false; out.len()];
        expected[0] = discont;
        assert_eq!(flags, expected);
    }
}

/// Which of (AudioLevelMeta: no tag, ReferenceTimestampMeta: no tag,
/// VideoRegionOfInterestMeta: tags "video", "orientation", "size") every packet of `factory` carries for an input carrying all three.
fn metas_copied(factory: &str, caps: &str, data: Vec<u8>) -> Vec<(bool, bool, bool)> {
    let mut h = gst_check::Harness::new(factory);
    h.element().unwrap().set_property("mtu", 200u32);
    h.set_src_caps_str(caps);
    let mut b = input(data, 0, 33);
    {
        let b = b.get_mut().unwrap();
        gst::meta::ReferenceTimestampMeta::add(
            b,
            &gst::Caps::new_empty_simple("timestamp/x-test"),
            gst::ClockTime::from_seconds(1),
            None,
        );
        gst_video::VideoRegionOfInterestMeta::add(b, "face", (0, 0, 8, 8));
    }
    h.push(b).unwrap();
    h.push_event(gst::event::Eos::new());
    pull_all(&mut h)
        .iter()
        .map(|out| {
            (
                out.meta::<gst_audio::AudioLevelMeta>().is_some(),
                out.meta::<gst::meta::ReferenceTimestampMeta>().is_some(),
                out.meta::<gst_video::VideoRegionOfInterestMeta>().is_some(),
            )
        })
        .collect()
}

const G722_CAPS: &str = "audio/G722,rate=16000,channels=1";
const H264_AU_CAPS: &str = "video/x-h264,stream-format=byte-stream,alignment=au";

/// Metas with no tag or only the media's tag are copied to every packet made from the input
/// (the rule of `gst_rtp_copy_audio_meta` / `gst_rtp_copy_video_meta` in the C payloaders);
/// a meta with other tags (a region of interest depends on the picture size) is not.
#[test]
fn allowed_tag_metas_are_copied() {
    common::init();
    assert_eq!(
        metas_copied("rtpg722pay2", G722_CAPS, vec![1u8; 160]),
        vec![(true, true, false)]
    );
    // (The "video" tag alone is allowed, but the ROI meta has more tags.)
    let h264 = metas_copied("rtph264pay2", H264_AU_CAPS, slice_nal(500, 1));
    assert!(h264.len() > 2, "fragmented: {h264:?}");
    assert!(h264.iter().all(|m| *m == (true, true, false)), "{h264:?}");
}

/// Side by side with the C payloaders: the same input metas reach the same packets.
#[test]
fn meta_copy_matches_c() {
    common::init();
    for (ours, c, caps, data) in [
        ("rtpg722pay2", "rtpg722pay", G722_CAPS, vec![1u8; 160]),
        ("rtph264pay2", "rtph264pay", H264_AU_CAPS, slice_nal(500, 1)),
    ] {
        assert_eq!(
            metas_copied(ours, caps, data.clone()),
            metas_copied(c, caps, data),
            "{ours} vs {c}"
        );
    }
}
