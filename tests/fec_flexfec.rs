// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! FlexFEC elements (`rtpflexfecenc2` / `rtpflexfecdec2`), both wire formats: encoder →
//! `netsim` loss → UDP on 127.0.0.1 → decoder gives back byte-identical packets and less loss
//! than without FEC; exact recovery of chosen losses through a harness; hostile repair
//! packets (truncated, wrong SSRC count, huge masks) are counted drops; memory stays bounded
//! with only repair packets for many SSRCs. Media packets are written by hand (RFC 3550
//! §5.1), hostile repair packets from the byte layouts of RFC 8627 §4.2 and flexfec-03.

mod common;
mod fec_support;
mod flexfec_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use fec_support::*;
use flexfec_support::*;
use gst::prelude::*;

#[test]
fn chosen_losses_are_recovered_byte_exact_both_formats() {
    common::init();
    for format in FORMATS {
        for protection in ["flexible", "row", "column", "row-column"] {
            let media = media(12, 10, 65500); // across the wrap
            let stream = run(
                &format!(
                    "rtpflexfecenc2 pt={FLEX_PT} wire-format={format} protection={protection} \
                     percentage=50 columns=5 rows=4 ssrc=4242"
                ),
                &media,
            );
            let fec: Vec<&Vec<u8>> = stream.iter().filter(|p| pt(p) == FLEX_PT).collect();
            assert!(
                !fec.is_empty(),
                "{format} {protection}: repair packets sent"
            );
            // Media passes untouched, in order, before and between the repair packets.
            let passed: Vec<Vec<u8>> = stream
                .iter()
                .filter(|p| pt(p) == MEDIA_PT)
                .cloned()
                .collect();
            assert_packets(&passed, &media, "media untouched");
            // Repair packets: own SSRC, consecutive own sequence numbers.
            assert!(fec.iter().all(|p| p[8..12] == 4242u32.to_be_bytes()));
            for w in fec.windows(2) {
                assert_eq!(seq(w[1]), seq(w[0]).wrapping_add(1));
            }
            // One loss in each of several rows of the first blocks (recoverable by each
            // protection at these settings).
            let lost: Vec<u16> = [0usize, 6, 22, 41, 63]
                .iter()
                .map(|&i| seq(&media[i]))
                .collect();
            let kept: Vec<Vec<u8>> = stream
                .iter()
                .filter(|p| !(pt(p) == MEDIA_PT && lost.contains(&seq(p))))
                .cloned()
                .collect();
            decode_expect_all(format, &kept, &media, lost.len(), protection);
        }
    }
}

#[test]
fn encoder_to_decoder_over_udp_with_netsim_loss_both_formats() {
    common::init();
    let media = media(60, 8, 1000);
    for format in FORMATS {
        for (protection, extra) in [
            ("row-column", "columns=4 rows=4"),
            ("flexible", "percentage=50"),
            ("column-diagonal", "columns=5 rows=4"),
        ] {
            let (arrived, out) = over_udp(
                &format!("pt={FLEX_PT} wire-format={format} protection={protection} {extra}"),
                &format!("pt={FLEX_PT} wire-format={format}"),
                &media,
                0.08,
            );
            let sent: BTreeMap<u16, &Vec<u8>> = media.iter().map(|p| (seq(p), p)).collect();
            let mut got = BTreeSet::new();
            for p in &out {
                let s = seq(p);
                assert_eq!(
                    sent.get(&s),
                    Some(&p),
                    "{format} {protection}: packet {s} is byte-identical to the one sent"
                );
                got.insert(s);
            }
            let lost_without_fec = media.len() - arrived.len();
            let residual = media.len() - got.len();
            eprintln!(
                "{format} {protection}: {} media, {lost_without_fec} lost on the way, \
                 {residual} after FlexFEC",
                media.len()
            );
            assert!(lost_without_fec > 0, "netsim dropped nothing");
            assert!(
                residual < lost_without_fec,
                "{format} {protection}: residual {residual} not below {lost_without_fec}"
            );
        }
    }
}

#[test]
fn hostile_repair_packets_are_counted_drops() {
    common::init();
    let ssrc = SSRC.to_be_bytes();
    let recovery = [0u8, 96, 0, 10, 0, 0, 0, 0];
    for format in FORMATS {
        let mut hostile: Vec<Vec<u8>> = Vec::new();
        // Truncated headers.
        for n in 0..8 {
            hostile.push(repair(100 + n as u16, &[], &recovery[..n]));
        }
        if format == "flexfec-03" {
            // SSRC count 0, SSRC count far beyond the packet, mask chunks without an end.
            let mut none = recovery.to_vec();
            none.extend_from_slice(&[0, 0, 0, 0]);
            hostile.push(repair(1, &[], &none));
            let mut many = recovery.to_vec();
            many.extend_from_slice(&[200, 0, 0, 0]);
            many.extend_from_slice(&ssrc);
            many.extend_from_slice(&[0, 1, 0x80, 1]);
            hostile.push(repair(2, &[], &many));
            let mut huge = recovery.to_vec();
            huge.extend_from_slice(&[1, 0, 0, 0]);
            huge.extend_from_slice(&ssrc);
            huge.extend_from_slice(&[0, 1]);
            huge.extend_from_slice(&[0x7f; 14]); // no K bit anywhere
            hostile.push(repair(3, &[], &huge));
        } else {
            // No CSRC (no protected stream), 15 CSRCs and one mask, a mask continued past
            // the packet, a fixed L of 0, the R bit.
            hostile.push(repair(1, &[], &recovery));
            let mut one = recovery.to_vec();
            one.extend_from_slice(&[0, 1, 0x00, 1]);
            hostile.push(repair(2, &[1; 15], &one));
            let mut huge = recovery.to_vec();
            huge.extend_from_slice(&[0, 1, 0xff, 0xff, 0xff, 0xff]);
            hostile.push(repair(3, &[SSRC], &huge));
            let mut fixed = recovery.to_vec();
            fixed[0] |= 0x40;
            fixed.extend_from_slice(&[0, 1, 0, 4]);
            hostile.push(repair(4, &[SSRC], &fixed));
            let mut r = recovery.to_vec();
            r[0] |= 0x80;
            hostile.push(repair(5, &[SSRC], &r));
        }
        let n_hostile = hostile.len() as u64;
        let media = media(4, 5, 10);
        let mut input = Vec::new();
        for (i, m) in media.iter().enumerate() {
            input.push(m.clone());
            if let Some(h) = hostile.get(i) {
                input.push(h.clone());
            }
        }
        let mut h = gst_check::Harness::new_parse(&format!(
            "rtpflexfecdec2 pt={FLEX_PT} wire-format={format}"
        ));
        h.set_src_caps_str(CAPS);
        let out = push_all(&mut h, &input);
        let out_media: Vec<Vec<u8>> = out.into_iter().filter(|p| pt(p) == MEDIA_PT).collect();
        assert_packets(&out_media, &media, "every media packet passes");
        let st = stats(&mut h, "rtpflexfecdec2");
        // Truncated RTP headers are the base class's drops; the rest are the decoder's.
        let fec_dropped = st.get::<u64>("fec-dropped").unwrap();
        let invalid = st.get::<u64>("dropped-invalid").unwrap();
        assert_eq!(fec_dropped + invalid, n_hostile, "{format}: {st}");
        assert_eq!(
            st.get::<u64>("dropped-payload").unwrap(),
            fec_dropped,
            "{st}"
        );
        assert!(fec_dropped >= 4, "{format}: {st}");
        assert_eq!(st.get::<u64>("recovered").unwrap(), 0);
    }
}

#[test]
fn memory_is_bounded_with_only_repair_packets_for_many_ssrcs() {
    common::init();
    for format in FORMATS {
        let mut h = gst_check::Harness::new_parse(&format!(
            "rtpflexfecdec2 pt={FLEX_PT} wire-format={format} repair-window-packets=64"
        ));
        // No `ssrc` in the caps: every SSRC a repair header names is recovered.
        h.set_src_caps_str(CAPS.split(",ssrc=").next().unwrap());
        for i in 0..20_000u32 {
            // Each repair packet protects packets 0 and 1 of SSRC i % 10,000, never sent.
            let media_ssrc = 0x1000 + i % 10_000;
            let mut payload = vec![0u8, 96, 0, 10, 0, 0, 0, 0];
            let csrcs: Vec<u32> = if format == "flexfec-03" {
                payload.extend_from_slice(&[1, 0, 0, 0]);
                payload.extend_from_slice(&media_ssrc.to_be_bytes());
                payload.extend_from_slice(&(i as u16).to_be_bytes());
                payload.extend_from_slice(&[0x80 | 0x60, 0]); // K set, offsets 0 and 1
                vec![]
            } else {
                payload.extend_from_slice(&(i as u16).to_be_bytes());
                payload.extend_from_slice(&[0x60, 0]); // K clear, offsets 0 and 1
                vec![media_ssrc]
            };
            payload.extend_from_slice(&[0xaa; 10]);
            let mut b = gst::Buffer::from_mut_slice(repair(i as u16, &csrcs, &payload));
            b.get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_mseconds(u64::from(i)));
            assert_eq!(h.push(b), Ok(gst::FlowSuccess::Ok));
            assert!(h.try_pull().is_none(), "repair packets are consumed");
        }
        let st = stats(&mut h, "rtpflexfecdec2");
        let ssrcs = st.get::<u64>("held-ssrcs").unwrap();
        let fec = st.get::<u64>("held-fec").unwrap();
        assert!(ssrcs <= 16 && fec <= 16 * 32, "{format}: {st}");
        assert_eq!(st.get::<u64>("fec-received").unwrap(), 20_000, "{st}");
        assert!(st.get::<u64>("ssrcs-evicted").unwrap() >= 19_000, "{st}");
    }
}

#[test]
fn encoder_as_rtpbin_fec_encoder_sends_its_own_ssrc_with_the_media() {
    common::init();
    let pipeline = gst::Pipeline::new();
    let src = gst_app::AppSrc::builder()
        .caps(&CAPS.parse::<gst::Caps>().unwrap())
        .format(gst::Format::Time)
        .build();
    let rtpbin = gst::ElementFactory::make("rtpbin")
        .build()
        .expect("rtpbin (gst-plugins-good rtpmanager) is not installed");
    let sink = gst_app::AppSink::builder().sync(false).build();
    rtpbin.connect("request-fec-encoder", false, |_| {
        let e = gst::ElementFactory::make("rtpflexfecenc2")
            .property("pt", u32::from(FLEX_PT))
            .property("ssrc", 4242u32)
            .property_from_str("wire-format", "rfc8627")
            .property_from_str("protection", "row")
            .property("columns", 4u32)
            .build()
            .unwrap();
        Some(e.to_value())
    });
    pipeline
        .add_many([src.upcast_ref(), &rtpbin, sink.upcast_ref()])
        .unwrap();
    src.link_pads(Some("src"), &rtpbin, Some("send_rtp_sink_0"))
        .unwrap();
    rtpbin
        .link_pads(Some("send_rtp_src_0"), &sink, Some("sink"))
        .unwrap();
    let media = media(10, 4, 300);
    for (i, p) in media.iter().enumerate() {
        let mut b = gst::Buffer::from_mut_slice(p.clone());
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(5 * i as u64));
        src.push_buffer(b).unwrap();
    }
    src.end_of_stream().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut out = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        match sink.try_pull_sample(gst::ClockTime::from_mseconds(200)) {
            Some(s) => out.push(s.buffer().unwrap().map_readable().unwrap().to_vec()),
            None if sink.is_eos() => break,
            None => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    let fec: Vec<&Vec<u8>> = out.iter().filter(|p| pt(p) == FLEX_PT).collect();
    assert_eq!(fec.len(), 10, "one repair per row of 4");
    assert!(
        fec.iter()
            .all(|p| p[8..12] == 4242u32.to_be_bytes() && p[0] & 0x0f == 1)
    );
    let passed: Vec<Vec<u8>> = out.iter().filter(|p| pt(p) == MEDIA_PT).cloned().collect();
    assert_packets(&passed, &media, "media through rtpbin untouched");
    // What left rtpbin recovers a loss in every row.
    let kept: Vec<Vec<u8>> = out
        .iter()
        .filter(|p| !(pt(p) == MEDIA_PT && (seq(p) - 300) % 4 == 1))
        .cloned()
        .collect();
    let mut h =
        gst_check::Harness::new_parse(&format!("rtpflexfecdec2 pt={FLEX_PT} wire-format=rfc8627"));
    h.set_src_caps_str(CAPS);
    let got = push_all(&mut h, &kept);
    let mut got: Vec<Vec<u8>> = got.into_iter().filter(|p| pt(p) == MEDIA_PT).collect();
    got.sort_by_key(|p| seq(p));
    assert_packets(&got, &media, "every row's loss recovered");
}

#[test]
fn media_caps_ssrc_limits_recovery_to_that_stream() {
    common::init();
    const OTHER: u32 = 0xbbbb_0001;
    assert!(CAPS.contains("ssrc=(uint)305419896"));
    for format in FORMATS {
        let enc = |fec_ssrc: u32| {
            format!(
                "rtpflexfecenc2 pt={FLEX_PT} wire-format={format} protection=row columns=5 \
                 ssrc={fec_ssrc}"
            )
        };
        let ours = media(2, 5, 100);
        let mut other = media(2, 5, 2000);
        for p in &mut other {
            p[8..12].copy_from_slice(&OTHER.to_be_bytes());
        }
        // Packet 2 of each stream is lost; each stream's row repairs can rebuild it.
        let lose = |stream: Vec<Vec<u8>>, lost: u16| -> Vec<Vec<u8>> {
            stream
                .into_iter()
                .filter(|p| !(pt(p) == MEDIA_PT && seq(p) == lost))
                .collect()
        };
        let mut input = lose(run(&enc(4242), &ours), 102);
        let other_fec = run(&enc(4343), &other);
        let n_other_fec = other_fec.iter().filter(|p| pt(p) == FLEX_PT).count() as u64;
        input.extend(lose(other_fec, 2002));
        for (caps, recovered, dropped) in [
            (CAPS.to_string(), 1, n_other_fec),
            (CAPS.split(",ssrc=").next().unwrap().to_string(), 2, 0),
            // Caps naming the repair stream's SSRC (its packets show it): no limit.
            (
                CAPS.replace("ssrc=(uint)305419896", "ssrc=(uint)4242"),
                2,
                0,
            ),
        ] {
            let mut h = gst_check::Harness::new_parse(&format!(
                "rtpflexfecdec2 pt={FLEX_PT} wire-format={format}"
            ));
            h.set_src_caps_str(&caps);
            let out = push_all(&mut h, &input);
            let seqs: BTreeSet<u16> = out.iter().map(|p| seq(p)).collect();
            assert!(
                seqs.contains(&102),
                "{format} {caps}: the caps' SSRC recovered"
            );
            assert_eq!(seqs.contains(&2002), recovered == 2, "{format} {caps}");
            let st = stats(&mut h, "rtpflexfecdec2");
            assert_eq!(st.get::<u64>("recovered").unwrap(), recovered, "{st}");
            assert_eq!(st.get::<u64>("fec-dropped").unwrap(), dropped, "{st}");
        }
    }
}

#[test]
fn one_packet_frames_each_get_a_repair_at_50_percent() {
    common::init();
    for format in FORMATS {
        let media = media(10, 1, 300);
        let stream = run(
            &format!("rtpflexfecenc2 pt={FLEX_PT} wire-format={format} percentage=50"),
            &media,
        );
        // libwebrtc's rule with max-frames 1: one repair per frame, leaving just ahead of
        // the packet that completed it (the encoder's order), the frame's own.
        let order: Vec<bool> = stream.iter().map(|p| pt(p) == FLEX_PT).collect();
        assert_eq!(order, [true, false].repeat(10), "{format}");
    }
}
