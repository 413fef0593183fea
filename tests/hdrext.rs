// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RFC 8285 header extensions through our base classes, against the C base classes, with the
//! real `rtphdrextclientaudiolevel` (RFC 6464) and `rtphdrexttwcc` extensions.

use gst::prelude::*;
use gst_rtp::prelude::*;

mod common;

const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

fn audio_level_ext(id: u32) -> gst_rtp::RTPHeaderExtension {
    let ext = gst::ElementFactory::make("rtphdrextclientaudiolevel")
        .build()
        .unwrap()
        .downcast::<gst_rtp::RTPHeaderExtension>()
        .unwrap();
    ext.set_id(id);
    ext
}

/// 20 ms G.722 buffers (160 bytes) with an audio level meta each: level `i % 100`, voice
/// activity on odd buffers.
fn g722_buffers_with_levels(n: u64) -> Vec<gst::Buffer> {
    (0..n)
        .map(|i| {
            let mut buffer = gst::Buffer::from_mut_slice(vec![(i & 0xff) as u8; 160]);
            {
                let b = buffer.get_mut().unwrap();
                b.set_pts(gst::ClockTime::from_mseconds(20 * i));
                b.set_duration(gst::ClockTime::from_mseconds(20));
                gst_audio::AudioLevelMeta::add(b, (i % 100) as u8, i % 2 == 1);
            }
            buffer
        })
        .collect()
}

/// Pushes the buffers through `pay ! depay` and returns (level, voice activity) of every
/// output buffer and the RTP caps between the two.
fn levels_through(
    pay: &gst::Element,
    depay: &gst::Element,
    n: u64,
) -> (Vec<(u8, bool)>, gst::Caps) {
    let bin = gst::Bin::new();
    bin.add_many([pay, depay]).unwrap();
    pay.link(depay).unwrap();
    let sink = pay.static_pad("sink").unwrap();
    let src = depay.static_pad("src").unwrap();
    bin.add_pad(&gst::GhostPad::with_target(&sink).unwrap())
        .unwrap();
    bin.add_pad(&gst::GhostPad::with_target(&src).unwrap())
        .unwrap();
    let mut h = gst_check::Harness::with_element(&bin, Some("sink"), Some("src"));
    h.set_src_caps_str("audio/G722,rate=16000,channels=1");
    for buffer in g722_buffers_with_levels(n) {
        h.push(buffer).unwrap();
    }
    h.push_event(gst::event::Eos::new());
    let mut levels = Vec::new();
    while let Some(buffer) = h.try_pull() {
        let meta = buffer
            .meta::<gst_audio::AudioLevelMeta>()
            .expect("depayloaded buffer has an audio level meta");
        levels.push((meta.level(), meta.voice_activity()));
    }
    let rtp_caps = pay.static_pad("src").unwrap().current_caps().unwrap();
    (levels, rtp_caps)
}

fn expected_levels(n: u64) -> Vec<(u8, bool)> {
    (0..n).map(|i| ((i % 100) as u8, i % 2 == 1)).collect()
}

fn check_levels(pay_name: &str, depay_name: &str, id: u32, add_to_pay: bool) {
    common::init();
    let pay = gst::ElementFactory::make(pay_name).build().unwrap();
    let depay = gst::ElementFactory::make(depay_name).build().unwrap();
    pay.emit_by_name::<()>("add-extension", &[&audio_level_ext(id)]);
    if !add_to_pay {
        depay.emit_by_name::<()>("add-extension", &[&audio_level_ext(id)]);
    }
    let (levels, caps) = levels_through(&pay, &depay, 20);
    let field = format!("extmap-{id}");
    let s = caps.structure(0).unwrap();
    assert!(
        s.has_field(field.as_str()),
        "{pay_name} caps {caps} lack {field}"
    );
    assert_eq!(
        levels,
        expected_levels(20),
        "{pay_name} -> {depay_name} with id {id}"
    );
}

#[test]
fn c_payloader_to_our_depayloader_one_byte() {
    check_levels("rtpg722pay", "rtpg722depay2", 1, true);
}

#[test]
fn our_payloader_to_c_depayloader_one_byte() {
    check_levels("rtpg722pay2", "rtpg722depay", 3, true);
}

#[test]
fn c_payloader_to_our_depayloader_two_byte() {
    // An id above 14 needs the two-byte form (RFC 8285 §4.3).
    check_levels("rtpg722pay", "rtpg722depay2", 20, true);
}

#[test]
fn our_payloader_to_c_depayloader_two_byte() {
    check_levels("rtpg722pay2", "rtpg722depay", 20, true);
}

#[test]
fn ours_to_ours_with_explicit_extensions_on_both_sides() {
    check_levels("rtpg722pay2", "rtpg722depay2", 5, false);
}

/// Extension elements as (id, data).
type Elements = Vec<(u8, Vec<u8>)>;

/// Reads the RFC 8285 block of an RTP packet: (profile, elements).
fn extension_elements(packet: &[u8]) -> Option<(u16, Elements)> {
    let rtp = rtp2_core::rtp::RtpPacket::parse(packet).ok()?;
    let (profile, data) = rtp.extension()?;
    let elements = rtp2_core::hdrext::parse_elements(profile, data)
        .ok()?
        .map(|e| e.map(|e| (e.id, e.data.to_vec())))
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    Some((profile, elements))
}

/// Our payloader writes the exact RFC 8285 layout: the audio level (RFC 6464: V bit and
/// -dBov level in one byte) and a transport-wide sequence number, one-byte form for small ids,
/// two-byte form as soon as one id is above 14.
#[test]
fn our_payloader_writes_rfc8285_layout() {
    common::init();
    for (level_id, twcc_id, profile) in [(1u32, 2u32, 0xBEDEu16), (1, 33, 0x1000)] {
        let pay = gst::ElementFactory::make("rtpg722pay2").build().unwrap();
        pay.emit_by_name::<()>("add-extension", &[&audio_level_ext(level_id)]);
        let twcc = gst::ElementFactory::make("rtphdrexttwcc")
            .build()
            .unwrap()
            .downcast::<gst_rtp::RTPHeaderExtension>()
            .unwrap();
        twcc.set_id(twcc_id);
        pay.emit_by_name::<()>("add-extension", &[&twcc]);
        let mut h = gst_check::Harness::with_element(&pay, Some("sink"), Some("src"));
        h.set_src_caps_str("audio/G722,rate=16000,channels=1");
        let mut twcc_seqnums = Vec::new();
        for (i, buffer) in g722_buffers_with_levels(5).into_iter().enumerate() {
            h.push(buffer).unwrap();
            let out = h.pull().unwrap();
            let map = out.map_readable().unwrap();
            let (p, elements) = extension_elements(map.as_slice()).expect("extension block");
            assert_eq!(p, profile);
            let level = elements
                .iter()
                .find(|(id, _)| u32::from(*id) == level_id)
                .unwrap();
            let expected = ((i % 2 == 1) as u8) << 7 | (i % 100) as u8;
            assert_eq!(level.1, vec![expected], "audio level byte of packet {i}");
            let seq = elements
                .iter()
                .find(|(id, _)| u32::from(*id) == twcc_id)
                .unwrap();
            assert_eq!(seq.1.len(), 2, "twcc element is a 16-bit sequence number");
            twcc_seqnums.push(u16::from_be_bytes([seq.1[0], seq.1[1]]));
            // The packet stays within the MTU and the payload is untouched.
            let rtp = rtp2_core::rtp::RtpPacket::parse(map.as_slice()).unwrap();
            assert_eq!(rtp.payload(), &[(i & 0xff) as u8; 160][..]);
        }
        for pair in twcc_seqnums.windows(2) {
            assert_eq!(
                pair[1],
                pair[0].wrapping_add(1),
                "twcc seqnums increase by one"
            );
        }
        let exts = pay.property::<gst::Array>("extensions");
        assert_eq!(exts.len(), 2);
        pay.emit_by_name::<()>("clear-extensions", &[]);
        assert_eq!(pay.property::<gst::Array>("extensions").len(), 0);
    }
}

/// `extmap-N` in the RTP caps makes our depayloader create the extension on its own
/// (`auto-header-extension`), and `request-extension` lets the application provide it.
#[test]
fn depayloader_negotiates_extensions_from_caps() {
    common::init();
    for auto in [true, false] {
        let depay = gst::ElementFactory::make("rtpg722depay2")
            .property("auto-header-extension", auto)
            .build()
            .unwrap();
        let requested = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let r = requested.clone();
        depay.connect("request-extension", false, move |args| {
            let id = args[1].get::<u32>().unwrap();
            let uri = args[2].get::<String>().unwrap();
            r.lock().unwrap().push((id, uri));
            Some(None::<gst_rtp::RTPHeaderExtension>.to_value())
        });
        let mut h = gst_check::Harness::with_element(&depay, Some("sink"), Some("src"));
        h.set_src_caps_str(&format!(
            "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9,extmap-7={AUDIO_LEVEL_URI}"
        ));
        h.push(gst::Buffer::from_slice(common::rtp_packet(
            9,
            1,
            0,
            0x1234,
            false,
            &[0u8; 160],
        )))
        .unwrap();
        assert_eq!(
            *requested.lock().unwrap(),
            vec![(7, AUDIO_LEVEL_URI.to_string())]
        );
        let exts = depay.property::<gst::Array>("extensions");
        assert_eq!(
            exts.len(),
            usize::from(auto),
            "auto-header-extension={auto}"
        );
    }
}
